/* route.c - where one envelope recipient leads (rules in route.h).
 *
 * Order of the checks, and why:
 *   1. the address must parse (RFC 5321 path rules, address.c);
 *   1b. the check address (setting check_address) is accepted as itself,
 *      whatever the domain list says: one address an administrator named,
 *      answered and never filed or forwarded, cannot make us a relay;
 *   2. its domain must be one we serve, else relay denied -- checked before
 *      anything else so we can never become an open relay;
 *   3. an alias, then a user's own address: explicit directory entries win
 *      over the project pattern, so an administrator can always override
 *      what <prefix><id> would mean;
 *   4. <prefix><id> for an existing project;
 *   5. postmaster (RFC 5321 4.5.1 says it must be accepted) goes to
 *      Unassigned whatever unknown_recipient says;
 *   6. anything else, including a project id that does not exist, follows
 *      unknown_recipient: file in Unassigned, or refuse with 550 5.1.1.
 */
#include "route/route.h"

#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/settings.h"
#include "route/address.h"
#include "route/verp.h"
#include "store/store.h"

const char *
route_kind_name(enum route_kind k)
{
	switch (k) {
	case ROUTE_PROJECT: return "project";
	case ROUTE_USER: return "user";
	case ROUTE_UNASSIGNED: return "unassigned";
	case ROUTE_FALLBACK: return "fallback";
	case ROUTE_CHECK: return "check";
	case ROUTE_NONE: break;
	}
	return "none";
}

static struct route_target *
one_target(struct arena *a, enum route_kind kind, const char *target, const char *via)
{
	struct route_target *t = arena_alloc(a, sizeof(*t));
	t->kind = kind;
	t->target = arena_strdup(a, target);
	t->via = via;
	return t;
}

/* 1 if the alias exists and has members (targets set), 0 if not, -1 error. */
static int
by_alias(struct store *st, struct arena *a, const char *full, struct route_target **out, size_t *n,
         struct pr_why *why)
{
	struct store_alias al;
	int rc = store_alias_get(st, a, full, &al, why);
	if (rc != 0 || al.nusers == 0)
		return rc < 0 ? -1 : 0;
	struct route_target *t = arena_alloc(a, al.nusers * sizeof(*t));
	for (size_t i = 0; i < al.nusers; i++) {
		t[i].kind = ROUTE_USER;
		t[i].target = al.users[i];
		t[i].via = full;
		t[i].alias = al.address;
	}
	*out = t;
	*n = al.nusers;
	return 1;
}

static int
by_user(struct store *st, struct arena *a, const char *full, struct route_target **out, size_t *n,
        struct pr_why *why)
{
	struct store_user u;
	int rc = store_user_by_email(st, a, full, &u, why);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	*out = one_target(a, ROUTE_USER, u.name, full);
	*n = 1;
	return 1;
}

/* The project id in a local part, or NULL if it does not carry the prefix. */
static const char *
project_id_of(const struct settings *set, const char *local)
{
	const char *prefix = settings_str(set, SET_PROJECT_PREFIX);
	size_t plen = strlen(prefix);
	if (strncasecmp(local, prefix, plen) != 0 || local[plen] == '\0')
		return NULL;
	return local + plen;
}

static int
by_project(struct store *st, struct arena *a, const char *id, const char *full,
           struct route_target **out, size_t *n, struct pr_why *why)
{
	int rc = store_project_exists(st, id, why);
	if (rc != 0) {
		if (rc > 0)
			pr_why_clear(why);
		return rc < 0 ? -1 : 0;
	}
	*out = one_target(a, ROUTE_PROJECT, arena_strdup(a, id), full);
	*n = 1;
	return 1;
}

static int
unknown(const struct settings *set, struct arena *a, const char *full, const char *project,
        struct route_target **out, size_t *n, struct pr_why *why)
{
	if (settings_enum(set, SET_UNKNOWN_RECIPIENT) != UNKNOWN_RCPT_REJECT ||
	    strncasecmp(full, "postmaster@", 11) == 0) {
		*out = one_target(a, ROUTE_UNASSIGNED, "", full);
		*n = 1;
		return 0;
	}
	if (project != NULL)
		pr_why_set(why, PR_E_NO_PROJECT, "there is no project %s (address %s)", project, full);
	else
		pr_why_set(why, PR_E_UNKNOWN_RECIPIENT, "no project, alias or user has the address %s", full);
	return -1;
}

/* One of our bounce addresses (route/verp.h): accepted whatever
 * unknown_recipient says, since reports about our own mail must come
 * home; intake files it in the thread of the message it names.  One in
 * our bounce form with a wrong mac is an unknown address (refused with
 * its own reason when unknown addresses are).  1 ours, 0 not, -1 refused. */
static int
by_bounce(const struct settings *set, struct arena *a, const char *local, const char *full,
          struct route_target **out, size_t *n, struct pr_why *why)
{
	int64_t id;
	enum verp_match vm = verp_bounce_parse(settings_str(set, SET_ADDRESS_KEY), local, strlen(local), &id);
	if (vm == VERP_OK) {
		*out = one_target(a, ROUTE_UNASSIGNED, "", full);
		*n = 1;
		return 1;
	}
	if (vm == VERP_FORGED && settings_enum(set, SET_UNKNOWN_RECIPIENT) == UNKNOWN_RCPT_REJECT) {
		pr_why_set(why, PR_E_BOUNCE_FORGED, "%s is in our bounce form but its signature is wrong "
		           "(or address_key is not set)", full);
		return -1;
	}
	return 0;
}

/* RFC 5321 4.5.1: "<postmaster>" without a domain must be accepted. */
static bool
is_bare_postmaster(const char *address)
{
	return strcasecmp(address, "<postmaster>") == 0 || strcasecmp(address, "postmaster") == 0;
}

int
route_recipient(struct store *st, const struct settings *set, struct arena *a,
                const char *address, struct route_target **out, size_t *n_out,
                struct pr_why *why)
{
	struct address ad;
	*out = NULL;
	*n_out = 0;
	if (is_bare_postmaster(address)) {
		*out = one_target(a, ROUTE_UNASSIGNED, "", arena_strdup(a, "postmaster"));
		*n_out = 1;
		return 0;
	}
	if (address_parse(a, address, &ad, why) < 0)
		return -1;
	const char *check = settings_str(set, SET_CHECK_ADDRESS);
	if (*check && strcasecmp(check, ad.full) == 0) {
		*out = one_target(a, ROUTE_CHECK, "", address_normalize(a, ad.full));
		*n_out = 1;
		return 0;
	}
	int rc = store_domain_served(st, ad.domain, why);
	if (rc <= 0) {
		if (rc == 0)
			pr_why_set(why, PR_E_RELAY_DENIED, "we do not accept mail for %s (no relaying)", ad.domain);
		return -1;
	}
	const char *full = address_normalize(a, ad.full);
	if ((rc = by_alias(st, a, full, out, n_out, why)) != 0 ||
	    (rc = by_user(st, a, full, out, n_out, why)) != 0)
		return rc < 0 ? -1 : 0;
	const char *id = project_id_of(set, ad.local);
	if (id != NULL && (rc = by_project(st, a, id, full, out, n_out, why)) != 0)
		return rc < 0 ? -1 : 0;
	if ((rc = by_bounce(set, a, ad.local, full, out, n_out, why)) != 0)
		return rc < 0 ? -1 : 0;
	return unknown(set, a, full, id, out, n_out, why);
}

const char *
route_project_address(struct store *st, const struct settings *set, struct arena *a,
                      const char *project, struct pr_why *why)
{
	const char *domain = NULL;
	int rc = store_domain_first(st, a, &domain, why);
	if (rc == 1)
		pr_why_set(why, PR_E_CONFIG, "no domain is served, so project %s has no address "
		           "(add one with `postroom domain add DOMAIN`)", project);
	if (rc != 0)
		return NULL;
	return arena_printf(a, "%s%s@%s", settings_str(set, SET_PROJECT_PREFIX), project, domain);
}
