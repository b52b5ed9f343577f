/* store.c - store.h's calls, forwarded to the backend the store was
 * opened with (see store_backend.h), and what every backend shares.
 *
 * The URI picks the backend: "sqlite:PATH" the embedded default,
 * "postgres://..." or "postgresql://..." (a libpq connection URI, several
 * hosts allowed) the shared one.
 */
#include "store/store.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/spool.h"
#include "core/buf.h"

#include "store/store_backend.h"

/* Which backend a URI names: 1 SQLite (*rest its path), 2 PostgreSQL, 0 neither (why set). */
static int
backend_of(const char *uri, const char **rest, struct pr_why *why)
{
	*rest = uri;
	if (!strncmp(uri, "postgres://", 11) || !strncmp(uri, "postgresql://", 13))
		return 2;
	if (!strncmp(uri, "sqlite:", 7) && uri[7] != '\0') {
		*rest = uri + 7;
		return 1;
	}
	pr_why_set(why, PR_E_CONFIG, "store '%s' is not sqlite:PATH or postgres://...", uri);
	return 0;
}

struct store *
store_open(const char *uri, struct pr_why *why)
{
	const char *rest;
	int b = backend_of(uri, &rest, why);
	return b == 2 ? pg_store_open(rest, why) : b == 1 ? sqlite_store_open(rest, why) : NULL;
}

int
store_schema_peek(const char *uri, int *current_r, int *known_r, struct pr_why *why)
{
	const char *rest;
	int b = backend_of(uri, &rest, why);
	if (b == 0)
		return -1;
	return b == 2 ? pg_schema_peek(rest, current_r, known_r, why)
	              : sqlite_schema_peek(rest, current_r, known_r, why);
}

void
store_close(struct store **stp)
{
	struct store *st = *stp;
	*stp = NULL;
	if (st != NULL) {
		store_dircache_free(st);
		store_ops_of(st)->close(st);
	}
}

const char *
store_backend_name(const struct store *st)
{
	return store_ops_of(st)->name;
}

/* Every call with a struct store: the same call of the store's backend
 * (but the directory reads intake repeats: store_dircache.c). */
#define STORE_FORWARD(ret, name, params, args) \
	ret store_##name params { return store_ops_of(st)->name args; }
STORE_CALLS_FORWARDED(STORE_FORWARD)
#undef STORE_FORWARD

static const char *const outbound_states[] = {"queued", "sending", "sent", "failed", "cancelled"};
static const char *const webhook_states[] = {"waiting", "queued", "delivering", "delivered", "failed"};
#define NSTATES(t) (sizeof(t) / sizeof(t[0]))

const char *
store_outbound_state_name(enum store_outbound_state s)
{
	return (unsigned)s < NSTATES(outbound_states) ? outbound_states[s] : "unknown";
}

enum store_outbound_state
store_outbound_state_of(const char *name)
{
	for (size_t i = 0; i < NSTATES(outbound_states); i++)
		if (name && !strcmp(name, outbound_states[i]))
			return (enum store_outbound_state)i;
	return OUTBOUND_FAILED;     /* an unknown word in the store: never send it */
}

const char *
store_webhook_state_name(enum store_webhook_state s)
{
	return (unsigned)s < NSTATES(webhook_states) ? webhook_states[s] : "unknown";
}

enum store_webhook_state
store_webhook_state_of(const char *name)
{
	for (size_t i = 0; i < NSTATES(webhook_states); i++)
		if (name && !strcmp(name, webhook_states[i]))
			return (enum store_webhook_state)i;
	return WEBHOOK_FAILED;      /* an unknown word in the store: never send it */
}

void
store_split(struct arena *a, const char *joined, const char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (joined == NULL || *joined == '\0')
		return;
	size_t count = 1;
	for (const char *p = joined; *p; p++)
		count += *p == '\n';
	const char **v = arena_alloc(a, count * sizeof(*v));
	const char *p = joined;
	for (size_t i = 0; i < count; i++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		v[i] = arena_strndup(a, p, len);
		p += len + 1;
	}
	*out = v;
	*n = count;
}

char *
store_lower(struct arena *a, const char *s)
{
	char *d = arena_strdup(a, s ? s : "");
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

int64_t
store_before(int64_t before)
{
	return before > 0 ? before : INT64_MAX;
}

/* Any backend's store_person_resolve: the directory calls answer it. */
void
store_person_by_address(struct store *st, struct arena *a, struct store_person *p)
{
	struct store_user u;
	struct store_stakeholder k;
	struct pr_why why;
	if (store_user_by_email(st, a, p->address, &u, &why) == 0)
		p->user = u.name;
	else if (store_stakeholder_by_email(st, a, p->address, &k, &why) == 0)
		p->stakeholder = k.name;
}

int
store_table_sql(const struct store_table *t, bool insert, char param, const char *order, char *out,
                size_t cap, struct pr_why *why)
{
	struct buf b;
	buf_init(&b, cap - 1);
	buf_printf(&b, insert ? "INSERT INTO %s(" : "SELECT ", t->name);
	for (size_t i = 0; i < t->ncols; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", t->cols[i]);
	if (insert) {
		buf_addstr(&b, ") VALUES(");
		for (size_t i = 0; i < t->ncols; i++)
			buf_printf(&b, "%s%c%zu", i ? ", " : "", param, i + 1);
		buf_addstr(&b, ")");
	} else {
		buf_printf(&b, " FROM %s", t->name);
		if (order)
			buf_printf(&b, " ORDER BY %s", order);
	}
	int rc = b.err ? -1 : 0;
	if (rc < 0)
		pr_why_set(why, PR_E_INTERNAL, "the statement for table %s is too long", t->name);
	else
		snprintf(out, cap, "%s", buf_cstr(&b));
	buf_free(&b);
	return rc;
}

void
store_lease_outcome(struct arena *a, struct store_lease *out, const char *owner, time_t until,
                    bool took, bool found, const char *old_owner, time_t old_until)
{
	*out = (struct store_lease){.held = took};
	if (took) {
		out->holder = arena_strdup(a, owner);
		out->until = until;
		if (found && strcmp(old_owner, owner) != 0) {
			out->previous = arena_strdup(a, old_owner);
			out->previous_released = old_until == 0;
		}
	} else {
		out->holder = arena_strdup(a, found ? old_owner : "");
		out->until = found ? old_until : 0;
	}
}

const char *
store_msgid(struct arena *a, const char *msgid)
{
	if (msgid == NULL)
		return NULL;
	while (*msgid == ' ' || *msgid == '\t' || *msgid == '<')
		msgid++;
	size_t n = strlen(msgid);
	while (n > 0 && (msgid[n - 1] == ' ' || msgid[n - 1] == '\t' || msgid[n - 1] == '\r' ||
	                 msgid[n - 1] == '\n' || msgid[n - 1] == '>'))
		n--;
	return n ? arena_strndup(a, msgid, n) : NULL;
}

const char *
store_join_rcpts(struct arena *a, const char *const *rcpts, size_t n)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(rcpts[i]) + 1;
	char *out = arena_alloc(a, len), *p = out;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(rcpts[i]);
		if (i)
			*p++ = ',';
		memcpy(p, rcpts[i], l);
		p += l;
	}
	*p = '\0';
	return out;
}

uint64_t
store_msg_size(const struct store_msg *m)
{
	return (m->prepend ? strlen(m->prepend) : 0) + (m->raw ? spool_size(m->raw) : 0);
}
