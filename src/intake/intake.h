/* intake.h - the one pipeline every intake feeds (Postfix's cleanup).
 *
 * smtp/ and pop3/ know their protocols, not projects: both build a struct
 * intake_msg (envelope, peer, spooled bytes) and hand it to intake_submit().
 * The pipeline then runs, off the caller's thread:
 *
 *     loop check -> MIME parse -> SPF/DKIM/DMARC -> threading -> sender
 *     policy and placements -> duplicate check -> group commit
 *
 * and calls done() exactly once with the verdict.  A verdict of PR_OK
 * means the message and its placements are durably committed: only then
 * may SMTP answer 250 or POP3 send DELE.
 */
#ifndef PR_INTAKE_H
#define PR_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"
#include "route/route.h"

struct arena;
struct spool;
struct intake;

enum intake_source { INTAKE_SMTP, INTAKE_POP3 };

struct intake_rcpt {
	const char *address;            /* as given in RCPT / catch-all header */
	struct route_target *targets;   /* from intake_judge_rcpt() */
	size_t ntargets;
};

struct intake_msg {
	struct arena *arena;            /* owns this struct and everything below */
	enum intake_source source;
	time_t received_at;
	const char *peer_ip;            /* "" if unknown */
	const char *peer_name;          /* reverse name or "" */
	const char *helo;
	bool tls;
	const char *mail_from;          /* "" for the null sender <> */
	struct intake_rcpt *rcpts;
	size_t nrcpts;
	struct spool *raw;              /* finished spool: the message as received */
	const char *source_ref;         /* POP3: "uidl:..." for the log */
	/* POP3: where it was collected ("server user") and its UIDL; the
	 * commit records it as collected in the same transaction */
	const char *pop3_mailbox, *pop3_uidl;
};

struct intake_result {
	struct pr_why why;              /* PR_OK: stored */
	int64_t message_id;             /* stored message, 0 if none */
	/* The attempt's intake-log row is durable: committed with the
	 * message, or (a refusal) in the same group commit.  false when that
	 * commit failed: the row then waits in the bounded row queue for a
	 * later commit, or was dropped -- POP3 must not DELE on it. */
	bool logged;
};

typedef void (*intake_done_fn)(void *arg, const struct intake_result *res);

struct intake_options {
	const char *store_uri;
	const char *spool_dir;
	int workers;                    /* 0: default */
};

struct intake *intake_new(const struct intake_options *opt, struct pr_why *why);
/* Finishes every submitted message first, then stops the threads. */
void intake_free(struct intake **in);

/* Judge one recipient (store reads).  The lookup runs on an intake
 * lookup thread, so a slow or locked store never stalls an event loop:
 * done(arg, rc, why) runs there exactly once, rc 0 with the targets in r
 * or -1 with why (PR_E_STORE_BUSY when the store stayed locked).  a and r
 * are used by the lookup thread until done() runs; the caller must not
 * touch them meanwhile. */
typedef void (*intake_rcpt_fn)(void *arg, int rc, const struct pr_why *why);
void intake_judge_rcpt_async(struct intake *in, struct arena *a, const char *address,
                             struct intake_rcpt *r, intake_rcpt_fn done, void *arg);
/* The same, waiting for the answer (the POP3 collector's own thread). */
int intake_judge_rcpt(struct intake *in, struct arena *a, const char *address,
                      struct intake_rcpt *r, struct pr_why *why);

/* Record an attempt that ended before a message reached the pipeline
 * (refused recipient, too large, smuggling, timeout).  size 0 if unknown.
 * The row joins the committer's next group commit.  false: the queue of
 * rows is full (PR_INTAKE_MAX_QUEUED_ROWS); the row is dropped, counted
 * and warned about, but the daemon log has its line. */
bool intake_log_refusal(struct intake *in, const struct intake_msg *m, uint64_t size,
                        const struct pr_why *why);

/* Counters of the intake log writer (the committer), for tests and the
 * shutdown line. */
struct intake_stats {
	unsigned long long committed_msgs, commit_txns;
	unsigned long long rows_written;     /* refusal rows made durable */
	unsigned long long rows_dropped;     /* queue full, or store failing */
	size_t rows_queued;                  /* waiting for the committer now */
	/* How long the group commits took (store_commit_group, wall clock):
	 * what a message at the end of the queue waits behind. */
	double commit_ms_total, commit_ms_max;
	/* Where the time of the attempts that went through a worker went
	 * (staged of them, messages and refusals, once committed): waiting
	 * for a worker, in the worker, waiting for the committer, in their
	 * group commit, summed.  Divided by staged: the mean time to 250 (or
	 * to the refusal's answer) inside the pipeline, stage by stage. */
	unsigned long long staged;
	double wait_worker_ms, work_ms, wait_commit_ms, in_commit_ms;
	/* Of work_ms, the CPU time (not wall) the SPF, DKIM and DMARC checks
	 * took, summed over the same attempts: 0 for one refused before them. */
	double checks_cpu_ms;
};
void intake_get_stats(struct intake *in, struct intake_stats *out);

/* Takes ownership of m (frees m->arena).  done() runs on an intake thread. */
void intake_submit(struct intake *in, struct intake_msg *m, intake_done_fn done, void *arg);
/* A protocol session says a message is on its way (more: its first
 * recipient was accepted) or no longer (!more: submitted, or the
 * transaction ended).  While one is, the committer holds a group's search
 * entries for a later group (store_search_hold): a message coming alone
 * is searchable at its 250, a burst's at the last 250. */
void intake_expect(struct intake *in, bool more);
/* Blocking convenience for the POP3 collector and tests. */
void intake_submit_wait(struct intake *in, struct intake_msg *m, struct intake_result *res);

/* Where protocol code should put spool files for this pipeline. */
const char *intake_spool_dir(const struct intake *in);

/* When the oldest message still in flight was submitted (now if none):
 * a body stored apart that is older and that no commit took is an
 * orphan (store_body_sweep). */
time_t intake_oldest_in_flight(struct intake *in);

/* The store's retention (retention.c): a thread with its own store
 * connection deletes intake-log rows older than log_retention_days and
 * sweeps orphan message bodies (store_body_sweep) now and then hourly. */
struct intake_retention;
struct intake_retention *intake_retention_start(struct intake *in, const char *store_uri);
void intake_retention_stop(struct intake_retention **r);

/* Build a fresh message whose arena the caller fills. */
struct intake_msg *intake_msg_new(enum intake_source src);

#endif
