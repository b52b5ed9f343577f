/* limits.h - every hard limit, with the reason for it (sqliteLimit.h).
 *
 * These bound what a hostile peer can make us allocate or loop over.
 * Settings (max_message_size, max_recipients, ...) may lower the policy
 * values at run time; these are the ceilings no setting can pass.
 */
#ifndef PR_LIMITS_H
#define PR_LIMITS_H

/* RFC 5321 4.5.3.1.4: 512 octets for a command line.  ESMTP parameters
 * (SIZE=, BODY=) legitimately lengthen MAIL lines, so allow some more. */
#define PR_SMTP_MAX_CMD_LINE 2048
/* RFC 5321 4.5.3.1.6 says 1000 octets per text line, but real mail breaks
 * it (long HTML lines); Postfix accepts 2048 and wraps.  We store byte-exact
 * so we accept long lines up to this and refuse past it. */
#define PR_SMTP_MAX_DATA_LINE (64 * 1024)
/* Absolute ceiling on a message, whatever max_message_size says. */
#define PR_MAX_MESSAGE_SIZE (100LL * 1024 * 1024)
/* RFC 5321 4.5.3.1.8 asks for at least 100. */
#define PR_MAX_RECIPIENTS 1000
#define PR_MAX_SESSIONS 1000
/* Address lists (smtp_client_limit_exceptions) are checked on every accepted
 * connection by a linear scan: a handful of relays and networks, not a
 * blocklist. */
#define PR_MAX_IPNET_LIST 64
/* Addresses: RFC 5321 4.5.3.1.1/2: local part 64, domain 255; path 256. */
#define PR_MAX_LOCAL_PART 64
#define PR_MAX_DOMAIN 255
#define PR_MAX_PATH 256
/* Messages below this are held in memory; larger ones spill to a spool
 * file so memory per in-flight message stays small. */
#define PR_SPOOL_MEMORY_MAX (256 * 1024)
/* A message body this large or larger is stored as a file of its own,
 * written before the group commit (store_body_put); smaller ones go into
 * the commit, where one fsync shared by the group is cheaper than a
 * file's own (bench/smtp-intake, 100 KiB: 25% fewer msgs/s as files; from
 * 1 MiB up files are as fast and keep the commit short).  The spool's
 * spill size: a larger body is a file already and is only named. */
#define PR_STORE_BODY_MIN PR_SPOOL_MEMORY_MAX
/* SQLite page cache of the intake's store connections, KiB.  The one
 * committer walks the indexes of every table a message touches (Message-ID,
 * addresses, search); SQLite's default 2 MiB holds ever less of them as the
 * store grows, and each page missed is read again from the kernel: with
 * 64 MiB, intake at 240,000-270,000 messages went from 546 to 590 msgs/s and
 * the run from 639 to 695 msgs/s (bench/growth --messages 300000; peak RSS
 * 38 -> 101 MiB).  Workers read fewer pages (threading and directory), and
 * their cache lasts only until the next commit: in WAL mode SQLite empties
 * a reader's page cache whenever another connection has written since its
 * last read (bench/growth: serve reads 120-220 KiB per message back from
 * the kernel's cache, most of it those re-reads). */
#define PR_STORE_WRITER_CACHE_KIB (64 * 1024)
#define PR_STORE_WORKER_CACHE_KIB (16 * 1024)
/* MIME: nesting and part count bound the parser's recursion and memory. */
#define PR_MIME_MAX_DEPTH 32
#define PR_MIME_MAX_PARTS 1000
#define PR_MIME_MAX_HEADER_BYTES (1024 * 1024)
/* Our own Received headers seen more often than this means a mail loop. */
#define PR_MAX_OWN_RECEIVED 3
/* Intake-log rows waiting for the committer (refused recipients, timeouts,
 * and deferred rows of commits that failed while the store was locked).
 * A flood of refused RCPTs while the store is locked would otherwise grow
 * memory without bound; past this a row is dropped and counted (its daemon
 * log line is still written).  A row is one block, usually a few hundred
 * bytes, but a timed-out transaction lists all its recipients: the bytes
 * are bounded too. */
#define PR_INTAKE_MAX_QUEUED_ROWS 4096
#define PR_INTAKE_MAX_QUEUED_ROW_BYTES (8 * 1024 * 1024)
/* Settings values: long enough for a URL or a token, not for abuse. */
/* GET /metrics: every series is from a fixed set (reasons x verdicts x
 * sources, and 192 route slots with their histograms): under 1 MiB when
 * all are present; a ceiling well above that catches a bug, not a peer. */
#define PR_METRICS_TEXT_MAX (4 * 1024 * 1024)
#define PR_SETTING_MAX 4096
#define PR_CONFIG_MAX_LINE 8192

#endif
