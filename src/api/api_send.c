/* api_send.c - sending from a project and the outbox, as JSON (the CLI's
 * `send` and `outbox`, and later the HTTP API, call these). */
#include <string.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "core/arena.h"
#include "core/settings.h"
#include "outbound/outbound.h"
#include "store/store.h"

json_t *
api_send(struct pr_api *api, const struct outbound_send_req *req, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct outbound_send_res res;
	json_t *doc = NULL;
	if (outbound_send(api->store, api->settings, a, req, &res, why) == 0)
		doc = json_pack("{s:I, s:I, s:o, s:o, s:I, s:I, s:I, s:o}", "id", (json_int_t)res.message_id,
		                "outbound_id", (json_int_t)res.outbound_id, "message_id", api_text(res.msgid),
		                "sender", api_text(res.sender), "queued", (json_int_t)res.nqueued,
		                "internal", (json_int_t)res.ninternal, "size", (json_int_t)res.size,
		                "warning", api_text(res.warning));
	arena_free(&a);
	return doc;
}

static json_t *
rcpt_json(const struct store_outbound_rcpt *r)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "address", api_text(r->address), "kind", api_text(r->kind),
	                 "state", api_text(r->state), "reply", api_text(r->reply));
}

static json_t *
time_or_null(time_t t)
{
	char buf[32];
	return t ? json_string(api_format_time(t, buf, sizeof(buf))) : json_null();
}

/* row: a struct store_outbound (an api_row_fn). */
static json_t *
outbound_json(const void *row)
{
	const struct store_outbound *o = row;
	bool waiting = o->state == OUTBOUND_QUEUED || o->state == OUTBOUND_SENDING;
	json_t *j = json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:s, s:i, s:o, s:o, s:o, s:o, s:o}",
		"id", (json_int_t)o->id, "message", (json_int_t)o->message_id, "message_id", api_text(o->msgid),
		"sender", api_text(o->mail_from), "project", api_text(o->project), "sent_by", api_text(o->sent_by),
		"subject", api_text(o->subject), "state", store_outbound_state_name(o->state),
		"attempts", o->attempts, "created_at", time_or_null(o->created_at),
		"next_attempt_at", time_or_null(waiting ? o->next_attempt_at : 0),
		"expires_at", time_or_null(o->expires_at), "done_at", time_or_null(o->done_at),
		"last_reply", api_text(o->last_reply));
	if (o->nrcpts > 0) {
		json_t *arr = json_array();
		for (size_t i = 0; i < o->nrcpts; i++)
			json_array_append_new(arr, rcpt_json(&o->rcpts[i]));
		json_object_set_new(j, "recipients", arr);
	}
	return j;
}

json_t *
api_outbox_list(struct pr_api *api, bool failed_only, size_t limit, int64_t before, const char *member,
                struct pr_why *why)
{
	struct store_outbound_filter f = {failed_only, 0, before, member};
	if (api_page_ask(limit, 100, &f.limit, why) < 0)
		return NULL;
	struct arena *a = arena_new();
	struct store_outbound *o;
	size_t n;
	json_t *doc = NULL;
	if (store_outbound_list(api->store, a, &f, &o, &n, why) == 0) {
		size_t shown = api_page_shown(n, f.limit);
		doc = api_rows("outbox", o, shown, sizeof(*o), outbound_json);
		api_page_set_next(doc, shown < n ? o[shown - 1].id : 0);
	}
	arena_free(&a);
	return doc;
}

json_t *
api_outbox_get(struct pr_api *api, int64_t id, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_outbound o;
	json_t *doc = NULL;
	int rc = store_outbound_get(api->store, a, id, &o, why);
	if (rc == 1)
		pr_why_set(why, PR_E_NOT_FOUND, "no outbound message %lld (see `postroom outbox`)", (long long)id);
	if (rc == 0)
		doc = outbound_json(&o);
	arena_free(&a);
	return doc;
}

/* The outbound state of a stored message for `messages show`: its row,
 * or null for mail we received. */
json_t *
api_outbound_of_message(struct pr_api *api, int64_t message_id)
{
	struct arena *a = arena_new();
	struct store_outbound o;
	struct pr_why why;
	json_t *j = store_outbound_by_message(api->store, a, message_id, &o, &why) == 0 ? outbound_json(&o)
	                                                                                : json_null();
	arena_free(&a);
	return j;
}

int
api_outbox_retry(struct pr_api *api, int64_t id, struct pr_why *why)
{
	int rc = store_outbound_retry(api->store, id, time(NULL),
	                              (time_t)settings_int(api->settings, SET_SMTP_RETRY_FOR), why);
	if (rc == 0)
		outbound_queue_poke();
	return rc;
}

int
api_outbox_cancel(struct pr_api *api, int64_t id, struct pr_why *why)
{
	return store_outbound_cancel(api->store, id, time(NULL), why);
}
