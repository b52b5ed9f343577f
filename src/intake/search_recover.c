/* search_recover.c - index again the messages whose search entries a
 * crash lost.
 *
 * The committer holds the search entries of a group for a later group
 * while more messages are coming (store_search_hold): their messages are
 * committed, their entries wait in memory.  A process that dies loses
 * them, so before it takes new work the committer asks the store for the
 * newest messages the index lacks and indexes each from its stored bytes,
 * as an import does (mime_search_text_of, store_import_search).  Nothing
 * is acknowledged on the strength of a search entry, so this is repair,
 * not recovery of mail: a message is stored and listed all along, and is
 * only missing from searches until the next start.
 */
#include "core/arena.h"
#include "core/log.h"
#include "intake/intake_private.h"
#include "mime/mime.h"
#include "store/store.h"

static int
index_one(struct store *st, int64_t id, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_message m;
	const char *text = NULL;
	int rc = store_message_get(st, a, id, &m, why);
	if (rc == 0 && !m.s.unreadable)
		text = mime_search_text_of(a, m.raw, m.raw_len, STORE_SEARCH_TEXT_MAX);
	if (rc == 0)
		rc = store_import_search(st, id, text, why);
	arena_free(&a);
	return rc;           /* 1: the message is gone since (deleted): nothing to do */
}

void
intake_search_recover(struct store *st, size_t newest)
{
	struct arena *a = arena_new();
	struct pr_why why;
	int64_t *ids;
	size_t n, done = 0;
	if (store_search_unindexed(st, a, newest, &ids, &n, &why) < 0) {
		log_warn("intake: could not look for messages the search index lacks: %s", why.detail);
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (index_one(st, ids[i], &why) < 0)
			log_warn("intake: message %lld is not in the search index and could not be indexed: %s",
			         (long long)ids[i], why.detail);
		else
			done++;
	}
	if (n > 0)
		log_info("intake: indexed %zu of %zu messages the search index lacked (their entries were "
		         "held when the process that stored them stopped)", done, n);
	arena_free(&a);
}
