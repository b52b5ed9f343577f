/* test-store-body.c - large bodies stored apart (store_sqlite_body.c)
 * against a real temporary store: which bodies become files, their
 * modes, byte-exact reads (whole and streamed), removal of a body no
 * commit took, and the orphan sweep (dead writer, live writer, this
 * process's bodies before and after its oldest message in flight). */
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/spool.h"
#include "store/store.h"
#include "store/store_sqlite.h"
#include "test.h"

static char dir[256], uri[300], bodies[320];

static struct store *
fresh(void)
{
	static int n;
	snprintf(uri, sizeof(uri), "sqlite:%s/t%d.db", dir, ++n);
	snprintf(bodies, sizeof(bodies), "%s/t%d.db.bodies", dir, n);
	struct pr_why why;
	struct store *st = store_open(uri, &why);
	if (st == NULL)
		fprintf(stderr, "store_open: %s\n", why.detail);
	return st;
}

/* Bytes that differ at every offset, so a misplaced chunk shows. */
static uint8_t *
pattern(size_t len, unsigned seed)
{
	uint8_t *p = malloc(len ? len : 1);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 9) + seed);
	return p;
}

/* A message of len bytes, spooled as SMTP would (memory, then a file). */
static struct store_msg *
make_msg(struct arena *a, const uint8_t *body, size_t len, const char *msgid)
{
	struct store_msg *m = arena_alloc(a, sizeof(*m));
	static const char *rcpts[] = {"a1234@firm.example"};
	m->source = "smtp";
	m->received_at = 1700000000;
	m->peer_ip = "127.0.0.1";
	m->helo = "client.example";
	m->mail_from = "alice@firm.example";
	m->rcpts = rcpts;
	m->nrcpts = 1;
	m->prepend = "Received: from client.example\r\n";
	m->message_id = msgid;
	m->raw = spool_new(a, dir);
	for (size_t off = 0; off < len; off += 10000)
		spool_write(m->raw, body + off, len - off < 10000 ? len - off : 10000);
	spool_finish(m->raw);
	return m;
}

static int
count_files(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "exit $(ls -A %s 2>/dev/null | wc -l)", bodies);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void
check_reads_back(struct store *st, struct arena *a, const struct store_msg *m, const uint8_t *body,
                 size_t len)
{
	struct pr_why why;
	struct store_message got;
	size_t plen = strlen(m->prepend);
	CHECK_INT(store_message_get(st, a, m->id_r, &got, &why), 0);
	CHECK_INT(got.raw_len, plen + len);
	CHECK_INT(got.s.size, plen + len);
	CHECK(got.raw_len == plen + len && memcmp(got.raw, m->prepend, plen) == 0 &&
	      memcmp(got.raw + plen, body, len) == 0);
	char path[300];
	snprintf(path, sizeof(path), "%s/raw.out", dir);
	FILE *f = fopen(path, "w+b");
	CHECK_INT(store_message_write_raw(st, m->id_r, f, &why), 0);
	CHECK_INT(ftell(f), (long)(plen + len));
	uint8_t *back = malloc(plen + len + 1);
	rewind(f);
	CHECK_INT(fread(back, 1, plen + len + 1, f), plen + len);
	CHECK(memcmp(back, got.raw, plen + len) == 0);
	free(back);
	fclose(f);
	unlink(path);
}

/* Small bodies stay in the commit (prepared, deflated, by store_body_put
 * all the same); a spilled spool and one held in memory above the
 * threshold become private files, read back exactly. */
TEST(which_bodies_become_files)
{
	struct store *st = fresh();
	struct pr_why why;
	struct arena *a = arena_new();
	size_t lens[] = {10 * 1024, 100 * 1024, PR_STORE_BODY_MIN - 1, PR_STORE_BODY_MIN, 1024 * 1024 + 17};
	int files[] = {0, 0, 0, 1, 2};               /* files in the directory after each */
	struct store_msg *m[5];
	uint8_t *body[5];
	for (int i = 0; i < 5; i++) {
		body[i] = pattern(lens[i], (unsigned)i);
		m[i] = make_msg(a, body[i], lens[i], arena_printf(a, "<b%d@test>", i));
		CHECK_INT(store_body_put(st, a, m[i], &why), 0);
		CHECK_INT(count_files(), files[i]);
	}
	CHECK(spool_memory(m[4]->raw) == NULL);        /* the link path */
	CHECK(spool_memory(m[3]->raw) != NULL);        /* the copy path */
	CHECK_INT(count_files(), 2);
	CHECK_INT(store_commit_batch(st, m, 5, &why), 0);
	for (int i = 0; i < 5; i++)
		check_reads_back(st, a, m[i], body[i], lens[i]);
	struct stat sb;
	CHECK(stat(bodies, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	arena_free(&a);
	CHECK_INT(count_files(), 2);                   /* committed: kept */
	for (int i = 0; i < 5; i++)
		free(body[i]);
	store_close(&st);
}

/* A body whose message was never committed (a refusal, a duplicate)
 * goes when its message is freed. */
TEST(uncommitted_body_removed_with_its_message)
{
	struct store *st = fresh();
	struct pr_why why;
	struct arena *a = arena_new();
	uint8_t *body = pattern(300 * 1024, 7);
	struct store_msg *m = make_msg(a, body, 300 * 1024, "<dup@test>");
	CHECK_INT(store_body_put(st, a, m, &why), 0);
	CHECK_INT(store_commit_batch(st, &m, 1, &why), 0);
	struct arena *b = arena_new();
	struct store_msg *again = make_msg(b, body, 300 * 1024, "<dup@test>");
	CHECK_INT(store_body_put(st, b, again, &why), 0);
	CHECK_INT(count_files(), 2);
	CHECK_INT(store_commit_batch(st, &again, 1, &why), 0);
	CHECK(again->duplicate_r);
	arena_free(&b);
	CHECK_INT(count_files(), 1);
	struct arena *c = arena_new();
	struct store_msg *refused = make_msg(c, body, 300 * 1024, "<refused@test>");
	CHECK_INT(store_body_put(st, c, refused, &why), 0);
	CHECK_INT(count_files(), 2);
	arena_free(&c);
	CHECK_INT(count_files(), 1);
	check_reads_back(st, a, m, body, 300 * 1024);
	free(body);
	arena_free(&a);
	store_close(&st);
}

/* Pages of the body files that are in the page cache (mincore). */
static long
cached_pages(void)
{
	DIR *d = opendir(bodies);
	long pages = 0, psz = sysconf(_SC_PAGESIZE);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
		int fd = e->d_name[0] == '.' ? -1 : openat(dirfd(d), e->d_name, O_RDONLY);
		struct stat sb;
		if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size == 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		size_t n = ((size_t)sb.st_size + (size_t)psz - 1) / (size_t)psz;
		void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
		unsigned char *vec = malloc(n);
		if (map != MAP_FAILED && mincore(map, (size_t)sb.st_size, vec) == 0)
			for (size_t i = 0; i < n; i++)
				pages += vec[i] & 1;
		free(vec);
		if (map != MAP_FAILED)
			munmap(map, (size_t)sb.st_size);
		close(fd);
	}
	if (d != NULL)
		closedir(d);
	return pages;
}

/* A stored body is synced, then its pages are dropped from the page cache
 * once its message is freed (both the linked spool and the copied one),
 * and it still reads back byte-exact (from the disk). */
TEST(stored_bodies_leave_the_page_cache)
{
	struct statfs fs;
	if (statfs(dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC)
		SKIP("the test directory is on tmpfs, whose pages cannot be dropped");
	struct store *st = fresh();
	struct pr_why why;
	struct arena *a = arena_new();
	size_t lens[] = {2 * 1024 * 1024 + 5, PR_STORE_BODY_MIN};
	struct store_msg *m[2];
	uint8_t *body[2];
	for (int i = 0; i < 2; i++) {
		body[i] = pattern(lens[i], (unsigned)i + 11);
		m[i] = make_msg(a, body[i], lens[i], arena_printf(a, "<cache%d@test>", i));
		CHECK_INT(store_body_put(st, a, m[i], &why), 0);
	}
	CHECK(spool_memory(m[0]->raw) == NULL && spool_memory(m[1]->raw) != NULL);
	CHECK_INT(store_commit_batch(st, m, 2, &why), 0);
	CHECK(cached_pages() >= 512);      /* the linked spool's, still open */
	int64_t ids[2] = {m[0]->id_r, m[1]->id_r};
	arena_free(&a);
	CHECK_INT(count_files(), 2);
	CHECK_INT(cached_pages(), 0);
	a = arena_new();
	for (int i = 0; i < 2; i++) {
		struct store_msg again = {.id_r = ids[i], .prepend = "Received: from client.example\r\n"};
		check_reads_back(st, a, &again, body[i], lens[i]);
		free(body[i]);
	}
	arena_free(&a);
	store_close(&st);
}

static void
touch(const char *name)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s", bodies, name);
	FILE *f = fopen(path, "w");
	fputs("orphan", f);
	fclose(f);
}

static bool
exists(const char *name)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s", bodies, name);
	return access(path, F_OK) == 0;
}

/* A pid that names no process: a child that has exited and was reaped. */
static pid_t
dead_pid(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

TEST(sweep_removes_only_orphans)
{
	struct store *st = fresh();
	struct pr_why why;
	struct arena *a = arena_new();
	uint8_t *body = pattern(400 * 1024, 3);
	struct store_msg *m = make_msg(a, body, 400 * 1024, "<kept@test>");
	CHECK_INT(store_body_put(st, a, m, &why), 0);
	CHECK_INT(store_commit_batch(st, &m, 1, &why), 0);
	char dead[64], live[64], own[64];
	const char *hex = "0123456789abcdef0123456789abcdef";
	snprintf(dead, sizeof(dead), "%ld-%s", (long)dead_pid(), hex);
	snprintf(live, sizeof(live), "%ld-%s", (long)getppid(), hex);
	snprintf(own, sizeof(own), "%ld-%s", (long)getpid(), hex);
	touch(dead);
	touch(live);
	touch(own);
	touch("not-a-body");
	int64_t removed = -1;
	/* Our own body made after our oldest message in flight may be its. */
	CHECK_INT(store_body_sweep(st, time(NULL) - 60, &removed, &why), 0);
	CHECK_INT(removed, 1);
	CHECK(!exists(dead) && exists(live) && exists(own) && exists("not-a-body"));
	CHECK_INT(store_body_sweep(st, time(NULL) + 60, &removed, &why), 0);
	CHECK_INT(removed, 1);
	CHECK(!exists(own) && exists(live) && exists("not-a-body"));
	CHECK_INT(count_files(), 3);                   /* the committed body stays */
	check_reads_back(st, a, m, body, 400 * 1024);
	free(body);
	arena_free(&a);
	store_close(&st);
}

/* A row naming a file outside the directory, or a missing file, is a
 * store failure with the message's id, never a read elsewhere. */
TEST(damaged_body_rows_fail_cleanly)
{
	struct store *st = fresh();
	struct pr_why why;
	struct arena *a = arena_new();
	uint8_t *body = pattern(400 * 1024, 5);
	struct store_msg *m = make_msg(a, body, 400 * 1024, "<damaged@test>");
	CHECK_INT(store_body_put(st, a, m, &why), 0);
	CHECK_INT(store_commit_batch(st, &m, 1, &why), 0);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(uri + 7, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "UPDATE message_body SET name = '../t1.db'", NULL, NULL, NULL), SQLITE_OK);
	struct store_message got;
	CHECK_INT(store_message_get(st, a, m->id_r, &got, &why), -1);
	CHECK_INT(why.code, PR_E_STORE_FAILED);
	CHECK_INT(sqlite3_exec(db, "UPDATE message_body SET name = '1-0123456789abcdef0123456789abcdef'",
	                       NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(store_message_write_raw(st, m->id_r, stdout, &why), -1);
	CHECK_INT(why.code, PR_E_STORE_FAILED);
	CHECK(strstr(why.detail, "restore it from a backup") != NULL);
	free(body);
	arena_free(&a);
	store_close(&st);
}

/* One value of the row of message id, as SQLite has it: its type, and
 * (for message_raw) its codec. */
static int
column_type(sqlite3 *db, const char *sql, int64_t id)
{
	sqlite3_stmt *s = NULL;
	int t = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, id);
		if (sqlite3_step(s) == SQLITE_ROW)
			t = sqlite3_column_type(s, 0) == SQLITE_INTEGER ? 100 + sqlite3_column_int(s, 0)
			                                                : sqlite3_column_type(s, 0);
	}
	sqlite3_finalize(s);
	return t;
}

/* A short text message: its bytes packed with zstd and the message
 * dictionary (codec 3) and its JSON columns and References as zstd blobs
 * (type byte 2), all read back exactly; JSON or References too short to
 * gain stay text; a damaged blob of either packing fails or reads as no
 * JSON, never as other bytes. */
TEST(short_message_and_json_packed)
{
	struct store *st = fresh();
	struct pr_why why;
	struct arena *a = arena_new();
	const char *text = "From: Alice <alice@firm.example>\r\nTo: a1234@firm.example\r\nSubject: Re: plan\r\n"
	                   "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	                   "The plan works for us; see you on Monday.\r\n> The plan works for us?\r\n"
	                   "> The plan works for us?\r\n> The plan works for us?\r\n";
	const char *parsed = "{\"duplicates\":[],\"from\":[{\"name\":\"Alice\",\"address\":\"alice@firm.example\"}],"
	                     "\"to\":[{\"name\":\"\",\"address\":\"a1234@firm.example\"}],\"cc\":[],\"reply_to\":[],"
	                     "\"auto_submitted\":false,\"is_bounce\":false,\"parts\":[]}";
	struct store_msg *m[2];
	for (int i = 0; i < 2; i++) {
		m[i] = make_msg(a, (const uint8_t *)text, strlen(text), arena_printf(a, "<z%d@test>", i));
		m[i]->parsed_json = parsed;
		m[i]->auth_json = i ? "{}" : "{\"spf\":{\"result\":\"none\",\"domain\":\"firm.example\"},\"dkim\":[]}";
		m[i]->references = i ? "<root@firm.example>"
		                     : "<root@firm.example> <r1.a1@firm.example> <r2.b2@firm.example> <r3.c3@firm.example>";
	}
	CHECK_INT(store_body_put(st, a, m[0], &why), 0);   /* packed by the worker */
	CHECK_INT(store_commit_batch(st, m, 2, &why), 0);  /* m[1]: packed at the bind */
	sqlite3 *db;
	CHECK_INT(sqlite3_open(uri + 7, &db), SQLITE_OK);
	for (int i = 0; i < 2; i++) {
		check_reads_back(st, a, m[i], (const uint8_t *)text, strlen(text));
		CHECK_INT(column_type(db, "SELECT codec FROM message_raw WHERE message_id = ?1", m[i]->id_r), 103);
		CHECK_INT(column_type(db, "SELECT parsed_json FROM messages WHERE id = ?1", m[i]->id_r), SQLITE_BLOB);
		CHECK_INT(column_type(db, "SELECT unicode(parsed_json) FROM messages WHERE id = ?1", m[i]->id_r),
		          102);
		CHECK_INT(column_type(db, "SELECT auth_json FROM messages WHERE id = ?1", m[i]->id_r),
		          i ? SQLITE_TEXT : SQLITE_BLOB);
		CHECK_INT(column_type(db, "SELECT refs FROM messages WHERE id = ?1", m[i]->id_r),
		          i ? SQLITE_TEXT : SQLITE_BLOB);
		struct store_message got;
		CHECK_INT(store_message_meta(st, a, m[i]->id_r, &got, &why), 0);
		CHECK_STR(got.parsed_json, parsed);
		CHECK_STR(got.auth_json, m[i]->auth_json);
		CHECK_STR(got.references, m[i]->references);
	}
	/* A frame cut short, and one whose size is not the row's. */
	CHECK_INT(sqlite3_exec(db, "UPDATE messages SET parsed_json = x'01ff000000ffff' WHERE id = 1;"
	                       "UPDATE messages SET parsed_json = substr(parsed_json, 1, length(parsed_json) - 3)"
	                       " WHERE id = 2;"
	                       "UPDATE messages SET auth_json = CAST(x'02' || x'05000000' || substr(auth_json, 6) AS BLOB)"
	                       " WHERE id = 1;"
	                       "UPDATE message_raw SET raw = x'0102' WHERE message_id = 1", NULL, NULL, NULL),
	          SQLITE_OK);
	sqlite3_close(db);
	struct store_message got;
	CHECK_INT(store_message_meta(st, a, 1, &got, &why), 0);
	CHECK(got.parsed_json == NULL);
	CHECK(got.auth_json == NULL);
	CHECK_INT(store_message_meta(st, a, 2, &got, &why), 0);
	CHECK(got.parsed_json == NULL);
	CHECK_INT(store_message_get(st, a, 1, &got, &why), -1);
	CHECK_INT(why.code, PR_E_STORE_FAILED);
	CHECK_INT(store_message_write_raw(st, 1, stdout, &why), -1);
	CHECK_INT(why.code, PR_E_STORE_FAILED);
	arena_free(&a);
	store_close(&st);
}

/* Raw deflate of len bytes with dictionary id, as versions before zstd
 * wrote rows (codec 2, text type 1); malloc'd. */
static uint8_t *
old_deflate(const char *in, size_t len, enum sq_zdict_id id, size_t header, size_t *zlen)
{
	size_t dlen;
	const void *dict = sq_zdict(id, &dlen);
	z_stream z;
	memset(&z, 0, sizeof(z));
	uint8_t *out = malloc(header + len + 1024);
	if (out == NULL || deflateInit2(&z, 1, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK ||
	    deflateSetDictionary(&z, dict, (uInt)dlen) != Z_OK)
		return out;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out + header;
	z.avail_out = (uInt)(len + 1024);
	deflate(&z, Z_FINISH);
	*zlen = header + z.total_out;
	deflateEnd(&z);
	return out;
}

/* Rows an earlier version deflated (message bytes codec 2, JSON blob type
 * 1) read back exactly beside the zstd ones; and neither dictionary
 * starts with zstd's dictionary magic, so zstd takes both as raw content
 * (what store_sqlite_zstd.c counts on). */
TEST(deflated_rows_still_read)
{
	for (int id = SQ_ZDICT_RAW1; id <= SQ_ZDICT_JSON1; id++) {
		size_t dlen;
		const uint8_t *d = sq_zdict((enum sq_zdict_id)id, &dlen);
		CHECK(dlen > 8 && !(d[0] == 0x37 && d[1] == 0xA4 && d[2] == 0x30 && d[3] == 0xEC));
	}
	struct store *st = fresh();
	struct pr_why why;
	struct arena *a = arena_new();
	const char *text = "From: Bob <bob@firm.example>\r\nTo: a1234@firm.example\r\nSubject: old row\r\n"
	                   "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	                   "Written by a version that deflated. Written by a version that deflated.\r\n";
	const char *parsed = "{\"duplicates\":[],\"from\":[{\"name\":\"Bob\",\"address\":\"bob@firm.example\"}],"
	                     "\"to\":[],\"cc\":[],\"reply_to\":[],\"auto_submitted\":false,\"is_bounce\":false,"
	                     "\"parts\":[]}";
	struct store_msg *m = make_msg(a, (const uint8_t *)text, strlen(text), "<old@test>");
	m->parsed_json = parsed;
	CHECK_INT(store_commit_batch(st, &m, 1, &why), 0);
	size_t rlen = 0, jlen = 0, n = strlen(parsed);
	const char *stored = arena_printf(a, "%s%s", m->prepend, text);   /* what message_raw holds */
	uint8_t *raw = old_deflate(stored, strlen(stored), SQ_ZDICT_RAW1, 0, &rlen);
	uint8_t *json = old_deflate(parsed, n, SQ_ZDICT_JSON1, 5, &jlen);
	json[0] = 1;
	for (int i = 0; i < 4; i++)
		json[1 + i] = (uint8_t)(n >> (8 * i));
	sqlite3 *db;
	CHECK_INT(sqlite3_open(uri + 7, &db), SQLITE_OK);
	sqlite3_stmt *s = NULL;
	CHECK_INT(sqlite3_prepare_v2(db, "UPDATE message_raw SET raw = ?1, codec = 2 WHERE message_id = ?3",
	                             -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_blob(s, 1, raw, (int)rlen, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, m->id_r);
	CHECK_INT(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	CHECK_INT(sqlite3_prepare_v2(db, "UPDATE messages SET parsed_json = ?1 WHERE id = ?2", -1, &s, NULL),
	          SQLITE_OK);
	sqlite3_bind_blob(s, 1, json, (int)jlen, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, m->id_r);
	CHECK_INT(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(db);
	check_reads_back(st, a, m, (const uint8_t *)text, strlen(text));
	struct store_message got;
	CHECK_INT(store_message_meta(st, a, m->id_r, &got, &why), 0);
	CHECK_STR(got.parsed_json, parsed);
	free(raw);
	free(json);
	arena_free(&a);
	store_close(&st);
}

/* messages.sha256 holds the digest's 32 bytes; it reads back as the hex
 * the spool computed, as does a row an older version wrote (64 hex
 * digits), and a duplicate is found in either form. */
TEST(digest_kept_as_bytes)
{
	struct store *st = fresh();
	struct pr_why why;
	struct arena *a = arena_new();
	struct store_msg *m[2];
	const char *body[2] = {"Subject: d\r\n\r\none\r\n", "Subject: d\r\n\r\ntwo\r\n"};
	for (int i = 0; i < 2; i++)
		m[i] = make_msg(a, (const uint8_t *)body[i], strlen(body[i]), arena_printf(a, "<d%d@test>", i));
	CHECK_INT(store_commit_batch(st, m, 2, &why), 0);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(uri + 7, &db), SQLITE_OK);
	CHECK_INT(column_type(db, "SELECT sha256 FROM messages WHERE id = ?1 AND length(sha256) = 32", m[0]->id_r),
	          SQLITE_BLOB);
	CHECK_INT(sqlite3_exec(db, "UPDATE messages SET sha256 = lower(hex(sha256)) WHERE id = 2", NULL, NULL, NULL),
	          SQLITE_OK);
	CHECK_INT(column_type(db, "SELECT sha256 FROM messages WHERE id = ?1", 2), SQLITE_TEXT);
	sqlite3_close(db);
	for (int i = 0; i < 2; i++) {
		struct store_message got;
		CHECK_INT(store_message_meta(st, a, m[i]->id_r, &got, &why), 0);
		CHECK_STR(got.sha256, spool_sha256_hex(m[i]->raw));
		int64_t id = 0;
		CHECK_INT(store_message_find_duplicate(st, m[i]->message_id, spool_sha256_hex(m[i]->raw), &id, &why), 0);
		CHECK_INT(id, m[i]->id_r);
	}
	int64_t id;
	CHECK_INT(store_message_find_duplicate(st, "<d0@test>", spool_sha256_hex(m[1]->raw), &id, &why), 1);
	arena_free(&a);
	store_close(&st);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "%s/store-body-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(which_bodies_become_files);
	RUN(uncommitted_body_removed_with_its_message);
	RUN(stored_bodies_leave_the_page_cache);
	RUN(sweep_removes_only_orphans);
	RUN(damaged_body_rows_fail_cleanly);
	RUN(short_message_and_json_packed);
	RUN(deflated_rows_still_read);
	RUN(digest_kept_as_bytes);
	test_rmtree(dir);
	return test_summary("store-body");
}
