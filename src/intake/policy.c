/* policy.c - which conversation a message belongs to, whether its sender
 * may put it there, and where it is filed.
 *
 * The rules (issues #3 and #10; settings decide where noted):
 *  - From must name exactly one author: several From fields or addresses
 *    (from_multiple), or a From that does not read strictly as one address
 *    (from_invalid), are refused before anything else (RFC 7489 6.6.1):
 *    everything below trusts From.
 *  - From must align with the envelope sender's domain (or carry an
 *    aligned passing DKIM signature): otherwise anyone with a domain of
 *    their own and a passing SPF record could write as our users.
 *  - A null envelope sender has no domain to align with, so its From is
 *    believed only when an aligned DKIM signature passes, or SPF passed
 *    for the HELO name and that domain aligns with From.  Otherwise the
 *    sender is an outsider, whatever From says.
 *  - A message whose In-Reply-To or References names a stored message joins
 *    that thread and is filed where the thread lives, whatever address it
 *    was sent to -- if its sender took part in the thread (a stakeholder
 *    answering), or is an active user (into a project only as a member).
 *    Automatic mail follows the same rule: Auto-Submitted and In-Reply-To
 *    are the sender's own words, so they open no door.  Taking part means
 *    appearing in From/To/Cc of a message of the thread that was not
 *    automatic: an automatic message makes nobody a participant.
 *  - A bounce (null envelope sender, or a delivery status report) joins a
 *    thread only when it answers a message we sent: when it comes to the
 *    bounce address that message was sent from (bounce.c; the address
 *    carries an HMAC, so naming another message takes a forgery we
 *    detect).  Any other bounce is judged as new mail (which for an
 *    outsider means Unassigned, below).
 *  - Into a project: the From address must belong to an active user who is
 *    a member of the project (not_a_user, user_inactive, not_a_member).
 *  - Into a user's mailbox or Unassigned: any active user may write.
 *  - Anyone else with no thread: refused, or Unassigned when the setting
 *    unknown_sender = unassigned.  Bounces and auto-replies from outsiders
 *    are never refused (refusing a bounce makes a double bounce): they go
 *    to Unassigned and are never answered.
 *  - Unreadable mail (neither From nor a thread can be read) is judged on
 *    its envelope: the envelope sender must be a user allowed to write to
 *    every recipient, by the rules above; it is then kept in Fallback.  A
 *    null sender there is an outsider, refused unless unknown_sender =
 *    unassigned: nothing readable shows that it is a bounce.
 *  - Without a catch-all, a single-address mailbox cannot see a1234@: a
 *    subject tag "[#a1234]" (project_prefix + id) or the product's
 *    "id=1234" routes the message to that project too (same sender rules),
 *    and it then leaves Unassigned.
 *  - A member who writes into a project and Cc's outside people makes them
 *    the project's stakeholders (auto_stakeholders), so their replies are
 *    accepted into the thread.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/settings.h"
#include "intake/intake_private.h"
#include "route/address.h"

struct sender {
	const char *addr;            /* From (envelope sender if unreadable), "" none */
	bool known;                  /* an address of a user, and believed */
	bool active;
	const char *user;            /* user name */
	bool automatic;              /* bounce or auto-reply: never refused */
	bool bounce;                 /* null envelope sender or a DSN */
};

void
intake_add_place(struct intake_eval *ev, enum route_kind kind, const char *target,
                 const char *via)
{
	for (size_t i = 0; i < ev->nplaces; i++)
		if (ev->places[i].kind == kind && strcmp(ev->places[i].target, target) == 0)
			return;
	if (ev->nplaces == ev->capplaces) {
		size_t cap = ev->capplaces ? 2 * ev->capplaces : 8;
		struct store_placement *p = arena_alloc(ev->m->arena, cap * sizeof(*p));
		if (ev->nplaces)
			memcpy(p, ev->places, ev->nplaces * sizeof(*p));
		ev->places = p;
		ev->capplaces = cap;
	}
	struct store_placement *p = &ev->places[ev->nplaces++];
	p->kind = kind;
	p->target = arena_strdup(ev->m->arena, target ? target : "");
	p->via = arena_strdup(ev->m->arena, via ? via : "");
}

/* In-Reply-To first, then References newest first. 0 none, 1 found, -1 error. */
static int
find_thread(struct intake_eval *ev, struct pr_why *why)
{
	const char *ids[64];
	size_t n = 0;
	if (ev->mi.in_reply_to)
		ids[n++] = ev->mi.in_reply_to;
	for (size_t i = ev->mi.nreferences; i > 0 && n < 64; i--)
		ids[n++] = ev->mi.references[i - 1];
	for (size_t i = 0; i < n; i++) {
		int64_t id, thread;
		int rc = store_message_by_msgid(ev->st, ids[i], &id, &thread, why);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			ev->thread_id = thread;
			return 1;
		}
	}
	return 0;
}

static bool
is_bounce(const struct intake_eval *ev)
{
	return *ev->m->mail_from == '\0' || ev->mi.is_bounce;
}

bool
intake_is_automatic(const struct intake_eval *ev)
{
	return is_bounce(ev) || ev->mi.auto_submitted;
}

/* a and b are the same domain, or one is a subdomain of the other (the
 * relaxed alignment of RFC 7489 3.1, without the public suffix list). */
static bool
domains_align(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la == lb)
		return strcasecmp(a, b) == 0;
	const char *longer = la > lb ? a : b, *shorter = la > lb ? b : a;
	size_t ll = la > lb ? la : lb, ls = la > lb ? lb : la;
	return longer[ll - ls - 1] == '.' && strcasecmp(longer + ll - ls, shorter) == 0;
}

static bool
aligned_dkim_pass(const struct intake_eval *ev)
{
	for (size_t i = 0; i < ev->av.ndkim; i++)
		if (ev->av.dkim[i].result == AUTH_PASS && ev->av.dkim[i].aligned)
			return true;
	return false;
}

static const struct auth_dkim_sig *
aligned_dkim_temperror(const struct intake_eval *ev)
{
	for (size_t i = 0; i < ev->av.ndkim; i++)
		if (ev->av.dkim[i].result == AUTH_TEMPERROR && ev->av.dkim[i].aligned)
			return &ev->av.dkim[i];
	return NULL;
}

/* A null sender has no envelope domain for From to align with.  SPF then
 * checked the HELO name (RFC 7208 2.3): a pass for a HELO domain aligned
 * with From vouches for From as the envelope domain would.  1 vouched for,
 * 0 not, -1 (a 451) when a lookup that failed might have vouched. */
static int
null_sender_from_believed(const struct intake_eval *ev, struct pr_why *why)
{
	bool helo_aligned = ev->av.spf_helo && ev->av.spf_domain != NULL &&
	                    domains_align(ev->av.spf_domain, address_domain(ev->sender));
	if (aligned_dkim_pass(ev) || (helo_aligned && ev->av.spf == AUTH_PASS))
		return 1;
	const struct auth_dkim_sig *t = aligned_dkim_temperror(ev);
	if (t != NULL) {
		pr_why_set(why, PR_E_DKIM_TEMPERROR, "From %s of a null-sender message could not be checked: "
		           "the key of its DKIM signature by %s could not be fetched", ev->sender, t->domain);
		return -1;
	}
	if (helo_aligned && ev->av.spf == AUTH_TEMPERROR) {
		pr_why_set(why, PR_E_SPF_TEMPERROR, "From %s of a null-sender message could not be checked: "
		           "the SPF lookup for the HELO name %s did not finish", ev->sender, ev->av.spf_domain);
		return -1;
	}
	return 0;
}

/* Who addr is: unknown unless it is a user's address and, for readable
 * mail with a null sender, From was authenticated. */
static int
identify_sender(struct intake_eval *ev, const char *addr, struct sender *s, struct pr_why *why)
{
	memset(s, 0, sizeof(*s));
	s->addr = addr;
	if (!ev->unreadable) {
		s->automatic = intake_is_automatic(ev);
		s->bounce = is_bounce(ev);
	}
	if (*addr == '\0')
		return 0;
	if (!ev->unreadable && *ev->m->mail_from == '\0') {
		int b = null_sender_from_believed(ev, why);
		if (b <= 0)
			return b;
	}
	struct store_user u;
	int rc = store_user_by_email(ev->st, ev->m->arena, addr, &u, why);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		s->known = true;
		s->active = u.active;
		s->user = u.name;
	}
	return 0;
}

static int
check_from_alignment(struct intake_eval *ev, struct pr_why *why)
{
	const char *env = ev->m->mail_from;
	if (*env == '\0' || *ev->sender == '\0')
		return 0;            /* null sender: identify_sender decides */
	if (domains_align(address_domain(env), address_domain(ev->sender)) || aligned_dkim_pass(ev))
		return 0;
	/* An aligned signature whose key DNS did not deliver might have
	 * passed: not final, so 451 rather than 550. */
	const struct auth_dkim_sig *t = aligned_dkim_temperror(ev);
	if (t != NULL) {
		pr_why_set(why, PR_E_DKIM_TEMPERROR, "From %s does not match the envelope sender %s, "
		           "and the key of its DKIM signature by %s could not be fetched", ev->sender,
		           env, t->domain);
		return -1;
	}
	pr_why_set(why, PR_E_FROM_MISMATCH, "From %s does not match the envelope sender %s",
	           ev->sender, env);
	return -1;
}

int
intake_check_from(const struct intake_eval *ev, struct pr_why *why)
{
	const struct mime_info *mi = &ev->mi;
	if (mi->from_fields > 1) {
		pr_why_set(why, PR_E_FROM_MULTIPLE, "the message has %zu From fields; exactly one is allowed",
		           mi->from_fields);
		return -1;
	}
	bool invalid = mi->from_malformed || (mi->from_fields == 1 && mi->nfrom == 0);
	for (size_t i = 0; i < mi->nfrom; i++)
		invalid |= mi->from[i].invalid;
	if (invalid) {
		pr_why_set(why, PR_E_FROM_INVALID, "the From field is not one valid address%s%s",
		           mi->nfrom ? " (a lenient reading would guess " : "",
		           mi->nfrom ? arena_printf(ev->m->arena, "%s)", mi->from[0].address) : "");
		return -1;
	}
	if (mi->nfrom > 1) {
		pr_why_set(why, PR_E_FROM_MULTIPLE, "the From field names %zu addresses; exactly one is allowed",
		           mi->nfrom);
		return -1;
	}
	return 0;
}

static int
join_thread(struct intake_eval *ev, const struct sender *s, bool *joined, struct pr_why *why)
{
	*joined = false;
	if (ev->bounce)              /* to our bounce address: about what we sent */
		return intake_bounce_thread(ev, joined, why);
	if (s->bounce)
		return 0;            /* it answers mail we sent only through a bounce address */
	int rc = find_thread(ev, why);
	if (rc <= 0)
		return rc;
	int part = *s->addr ? store_thread_has_participant(ev->st, ev->thread_id, s->addr, why) : 0;
	if (part < 0)
		return -1;
	if (!part && !(s->known && s->active))
		return 0;            /* not theirs to answer: judge as a new message */
	struct store_placement *pl;
	size_t n;
	if (store_thread_placements(ev->st, ev->m->arena, ev->thread_id, &pl, &n, why) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (pl[i].kind == ROUTE_PROJECT && !part) {
			int mem = store_project_is_member(ev->st, pl[i].target, s->user, why);
			if (mem < 0)
				return -1;
			if (!mem)
				continue;
		}
		intake_add_place(ev, pl[i].kind, pl[i].target, pl[i].via);
	}
	*joined = ev->nplaces > 0;
	return 0;
}

/* A sender who is not a user, writing outside any thread. */
static int
outsider(struct intake_eval *ev, const struct sender *s, const struct route_target *t,
         struct pr_why *why)
{
	if (s->automatic) {
		pr_why_set(&ev->note, PR_E_AUTO_REPLY, "automatic message from <%s> filed in Unassigned",
		           ev->m->mail_from);
		intake_add_place(ev, ROUTE_UNASSIGNED, "", t->via);
		return 0;
	}
	if (settings_enum(ev->set, SET_UNKNOWN_SENDER) == UNKNOWN_SENDER_UNASSIGNED) {
		intake_add_place(ev, ROUTE_UNASSIGNED, "", t->via);
		return 0;
	}
	const char *who = *s->addr ? s->addr : ev->unreadable ? "(null sender)" : "(no From address)";
	if (t->kind == ROUTE_PROJECT)
		pr_why_set(why, PR_E_NOT_A_USER, "sender %s is not a postroom user", who);
	else
		pr_why_set(why, PR_E_UNKNOWN_SENDER,
		           "sender %s is not a postroom user and the message answers no thread", who);
	return -1;
}

static void
add_stakeholders(struct intake_eval *ev, const char *project)
{
	if (!settings_bool(ev->set, SET_AUTO_STAKEHOLDERS))
		return;
	const struct { struct mime_address *v; size_t n; } lists[] = {
		{ev->mi.to, ev->mi.nto}, {ev->mi.cc, ev->mi.ncc}};
	struct arena *a = ev->m->arena;
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l].n; i++) {
			const char *addr = lists[l].v[i].address;
			struct pr_why why;
			struct store_user u;
			/* A recipient that is not an address (kept, marked invalid, by
			 * mime_addr.c) is listed with the message but never becomes a
			 * stakeholder. */
			if (addr == NULL || *addr == '\0' || lists[l].v[i].invalid ||
			    store_domain_served(ev->st, address_domain(addr), &why) != 0 ||
			    store_user_by_email(ev->st, a, addr, &u, &why) != 1)
				continue;
			const char **grown = arena_alloc(a, (ev->nnew_stakeholders + 1) * sizeof(*grown));
			if (ev->nnew_stakeholders)
				memcpy(grown, ev->new_stakeholders, ev->nnew_stakeholders * sizeof(*grown));
			grown[ev->nnew_stakeholders++] = arena_printf(a, "%s\t%s", project,
			                                               address_normalize(a, addr));
			ev->new_stakeholders = grown;
		}
}

static int
judge_target(struct intake_eval *ev, const struct sender *s, const struct route_target *t,
             struct pr_why *why)
{
	if (t->kind == ROUTE_CHECK)
		return 0;                /* answered by check_address.c, never filed */
	if (!s->known)
		return outsider(ev, s, t, why);
	if (!s->active) {
		pr_why_set(why, PR_E_USER_INACTIVE, "the account of %s (%s) is not active", s->user, s->addr);
		return -1;
	}
	if (t->kind == ROUTE_PROJECT) {
		int mem = store_project_is_member(ev->st, t->target, s->user, why);
		if (mem < 0)
			return -1;
		if (!mem) {
			pr_why_set(why, PR_E_NOT_A_MEMBER, "%s is not a member of project %s", s->user, t->target);
			return -1;
		}
		add_stakeholders(ev, t->target);
	}
	intake_add_place(ev, t->kind, t->target, t->via);
	return 0;
}

static int
judge_recipients(struct intake_eval *ev, const struct sender *s, struct pr_why *why)
{
	for (size_t r = 0; r < ev->m->nrcpts; r++) {
		const struct intake_rcpt *rc = &ev->m->rcpts[r];
		for (size_t t = 0; t < rc->ntargets; t++)
			if (judge_target(ev, s, &rc->targets[t], why) < 0)
				return -1;
	}
	return 0;
}

static bool
id_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

/* The project id after p, up to the terminator term ('\0': any non-id
 * character), or NULL. */
static const char *
tag_id(struct arena *a, const char *p, char term)
{
	size_t n = 0;
	while (id_char(p[n]) && n <= 64)
		n++;
	if (n == 0 || n > 64 || (term != '\0' && p[n] != term))
		return NULL;
	return arena_strndup(a, p, n);
}

/* A subject tag naming an existing project: "[#<prefix><id>]" or "id=<id>". */
static const char *
subject_project(struct intake_eval *ev)
{
	const char *subj = ev->mi.subject, *prefix = settings_str(ev->set, SET_PROJECT_PREFIX);
	struct arena *a = ev->m->arena;
	if (subj == NULL)
		return NULL;
	const char *id = NULL;
	size_t pl = strlen(prefix);
	for (const char *p = subj; id == NULL && (p = strstr(p, "[#")) != NULL; p += 2)
		if (strncasecmp(p + 2, prefix, pl) == 0)
			id = tag_id(a, p + 2 + pl, ']');
	for (const char *p = subj; id == NULL && (p = strstr(p, "id=")) != NULL; p += 3)
		if (p == subj || !id_char(p[-1]))
			id = tag_id(a, p + 3, '\0');
	struct pr_why why;
	if (id == NULL || store_project_exists(ev->st, id, &why) != 0)
		return NULL;
	return id;
}

/* File by subject tag; a tagged message no longer needs Unassigned. */
static int
route_by_tag(struct intake_eval *ev, const struct sender *s, struct pr_why *why)
{
	const char *id = subject_project(ev);
	if (id == NULL)
		return 0;
	struct route_target t = {.kind = ROUTE_PROJECT, .target = id, .via = "subject tag"};
	if (judge_target(ev, s, &t, why) < 0)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < ev->nplaces; i++)
		if (ev->places[i].kind != ROUTE_UNASSIGNED)
			ev->places[k++] = ev->places[i];
	ev->nplaces = k;
	return 0;
}

int
intake_policy(struct intake_eval *ev, struct pr_why *why)
{
	struct sender s;
	if (check_from_alignment(ev, why) < 0)
		return -1;
	if (identify_sender(ev, ev->sender, &s, why) < 0)
		return -1;
	bool joined;
	if (join_thread(ev, &s, &joined, why) < 0)
		return -1;
	if (joined)
		return 0;
	ev->thread_id = 0;
	if (judge_recipients(ev, &s, why) < 0)
		return -1;
	if (route_by_tag(ev, &s, why) < 0)
		return -1;
	if (ev->nplaces == 0)
		intake_add_place(ev, ROUTE_UNASSIGNED, "", ev->m->nrcpts ? ev->m->rcpts[0].address : "");
	return 0;
}

int
intake_policy_envelope(struct intake_eval *ev, struct pr_why *why)
{
	struct sender s;
	const char *env = address_normalize(ev->m->arena, ev->m->mail_from);
	if (identify_sender(ev, env, &s, why) < 0 || judge_recipients(ev, &s, why) < 0)
		return -1;
	ev->nplaces = 0;             /* allowed there, but kept for a person to look at */
	ev->new_stakeholders = NULL;
	ev->nnew_stakeholders = 0;
	intake_add_place(ev, ROUTE_FALLBACK, "", ev->m->nrcpts ? ev->m->rcpts[0].address : "");
	return 0;
}
