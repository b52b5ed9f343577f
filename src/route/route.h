/* route.h - where a recipient address leads (issue #2 routing rules).
 *
 *   <prefix><id>@<our domain>  -> project <id>   (prefix: setting project_prefix)
 *   an alias at our domain     -> a copy in each member's mailbox
 *   a user's own address       -> that user's mailbox
 *   anything else at our domain-> Unassigned, or 550 5.1.1 (unknown_recipient)
 *   a domain we do not serve   -> 550 5.7.1 relay denied
 *   the check_address setting  -> answered with a report, not filed
 *
 * Reading the directory goes through the store; the rules live here only.
 */
#ifndef PR_ROUTE_H
#define PR_ROUTE_H

#include <stddef.h>

#include "core/err.h"

struct arena;
struct settings;
struct store;

enum route_kind {
	ROUTE_NONE = 0,
	ROUTE_PROJECT,     /* target: project id */
	ROUTE_USER,        /* target: user name (own address, or alias member) */
	ROUTE_UNASSIGNED,  /* target: "" */
	ROUTE_FALLBACK,    /* target: "" (unreadable mail) */
	ROUTE_CHECK,       /* target: "" -- the check address: answered with a
	                      report, never filed (intake/check_address.h) */
};

const char *route_kind_name(enum route_kind k);   /* "project", "user", ... */

/* One place a message is filed.  An alias yields several (one per member). */
struct route_target {
	enum route_kind kind;
	const char *target;   /* project id or user name; "" otherwise */
	const char *via;      /* the recipient address that led here */
	const char *alias;    /* the alias address, if an alias led here */
};

/* Judge one envelope recipient.  On success returns 0 and fills *out and *n_out
 * (allocated in a); on refusal returns -1 with why (PR_E_RELAY_DENIED,
 * PR_E_UNKNOWN_RECIPIENT, PR_E_NO_PROJECT, PR_E_BAD_ADDRESS) or a
 * temporary store error. */
int route_recipient(struct store *st, const struct settings *set, struct arena *a,
                    const char *address, struct route_target **out, size_t *n_out,
                    struct pr_why *why);

/* The address of project id, as mail sent from it shows it and replies
 * reach it: <project_prefix><id>@<the domain added first>.  NULL with
 * PR_E_CONFIG when no domain is served. */
const char *route_project_address(struct store *st, const struct settings *set, struct arena *a,
                                  const char *project, struct pr_why *why);

#endif
