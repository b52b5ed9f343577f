/* api_dir.c - directory calls: validate, then hand to the store, then
 * shape the answer as JSON.  Validation lives here (not in the CLI) so the
 * HTTP API refuses exactly what the command line refuses.
 */
#include <ctype.h>
#include <string.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "core/arena.h"
#include "route/address.h"
#include "store/store.h"

#define API_NAME_MAX 64
#define API_TEXT_MAX 200

json_t *
api_strings(const char *const *v, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(v[i]));
	return arr;
}

json_t *
api_rows(const char *key, const void *rows, size_t n, size_t elem, api_row_fn row_json)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, row_json((const char *)rows + i * elem));
	return json_pack("{s:o}", key, arr);
}

int
api_check_name(const char *what, const char *name, struct pr_why *why)
{
	size_t len = strlen(name);
	bool ok = len > 0 && len <= API_NAME_MAX && isalnum((unsigned char)name[0]);
	for (const char *p = name; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-';
	if (!ok)
		pr_why_set(why, PR_E_INVALID, "%s '%s' is not valid: use 1-%d letters, digits, '.', '_' or '-',"
		           " starting with a letter or digit", what, name, API_NAME_MAX);
	return ok ? 0 : -1;
}

/* Free text (display names, project names, stakeholder names): printable,
 * no line breaks (lists travel newline-separated), bounded. */
static int
check_text(const char *what, const char *s, bool empty_ok, struct pr_why *why)
{
	size_t len = strlen(s);
	bool ok = (empty_ok || len > 0) && len <= API_TEXT_MAX;
	for (const char *p = s; ok && *p; p++)
		ok = (unsigned char)*p >= 32 && *p != 127;
	if (!ok)
		pr_why_set(why, PR_E_INVALID, "%s is not valid: use 1-%d printable characters, no line breaks",
		           what, API_TEXT_MAX);
	return ok ? 0 : -1;
}

static int
check_emails(const char *const *emails, size_t n, struct pr_why *why)
{
	struct arena *a = arena_new();
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct address ad;
		struct pr_why w;
		if (address_parse(a, emails[i], &ad, &w) < 0 || strchr(ad.domain, '.') == NULL) {
			pr_why_set(why, PR_E_INVALID, "'%s' is not an email address like name@example.org%s%s",
			           emails[i], w.code ? ": " : "", w.code ? w.detail : "");
			rc = -1;
		}
	}
	arena_free(&a);
	return rc;
}

/* A user's or stakeholder's addresses: each valid, and at least one. */
static int
check_owner_emails(const char *kind, const char *const *emails, size_t n, struct pr_why *why)
{
	if (check_emails(emails, n, why) < 0)
		return -1;
	if (n == 0) {
		pr_why_set(why, PR_E_INVALID, "a %s needs at least one email address", kind);
		return -1;
	}
	return 0;
}

int
api_user_add(struct pr_api *api, const char *name, const char *display,
             const char *const *emails, size_t n, struct pr_why *why)
{
	pr_why_clear(why);
	if (api_check_name("user name", name, why) < 0 ||
	    check_text("the display name", display ? display : "", true, why) < 0 ||
	    check_owner_emails("user", emails, n, why) < 0)
		return -1;
	return store_user_add(api->store, name, display, emails, n, why);
}

int
api_user_remove(struct pr_api *api, const char *name, struct pr_why *why)
{
	return store_user_remove(api->store, name, why);
}

int
api_user_set_active(struct pr_api *api, const char *name, bool active, struct pr_why *why)
{
	return store_user_set_active(api->store, name, active, why);
}

static json_t *
user_json(const void *row)
{
	const struct store_user *u = row;
	return json_pack("{s:s, s:s, s:b, s:b, s:b, s:o}", "name", u->name, "display", u->display,
	                 "active", u->active, "admin", u->admin, "password_set", u->has_password,
	                 "emails", api_strings(u->emails, u->nemails));
}

json_t *
api_user_list(struct pr_api *api, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_user *rows;
	size_t n;
	json_t *doc = NULL;
	if (store_user_list(api->store, a, &rows, &n, why) == 0)
		doc = api_rows("users", rows, n, sizeof(*rows), user_json);
	arena_free(&a);
	return doc;
}

int
api_project_add(struct pr_api *api, const char *id, const char *name, struct pr_why *why)
{
	if (api_check_name("project id", id, why) < 0 || check_text("the project name", name, false, why) < 0)
		return -1;
	return store_project_add(api->store, id, name, why);
}

static json_t *
project_json(const void *row)
{
	const struct store_project *p = row;
	return json_pack("{s:s, s:s, s:o, s:o}", "id", p->id, "name", p->name,
	                 "members", api_strings(p->members, p->nmembers),
	                 "stakeholders", api_strings(p->stakeholders, p->nstakeholders));
}

json_t *
api_project_list(struct pr_api *api, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_project *rows;
	size_t n;
	json_t *doc = NULL;
	if (store_project_list(api->store, a, &rows, &n, why) == 0)
		doc = api_rows("projects", rows, n, sizeof(*rows), project_json);
	arena_free(&a);
	return doc;
}

int
api_project_grant(struct pr_api *api, const char *id, const char *user, struct pr_why *why)
{
	return store_project_grant(api->store, id, user, why);
}

int
api_project_revoke(struct pr_api *api, const char *id, const char *user, struct pr_why *why)
{
	return store_project_revoke(api->store, id, user, why);
}

int
api_project_stakeholder(struct pr_api *api, const char *id, const char *name, struct pr_why *why)
{
	return store_project_add_stakeholder(api->store, id, name, why);
}

int
api_stakeholder_add(struct pr_api *api, const char *name, const char *const *emails, size_t n,
                    struct pr_why *why)
{
	pr_why_clear(why);
	if (check_text("the stakeholder name", name, false, why) < 0 ||
	    check_owner_emails("stakeholder", emails, n, why) < 0)
		return -1;
	return store_stakeholder_add(api->store, name, emails, n, why);
}

static json_t *
stakeholder_json(const void *row)
{
	const struct store_stakeholder *k = row;
	return json_pack("{s:s, s:o}", "name", k->name, "emails", api_strings(k->emails, k->nemails));
}

json_t *
api_stakeholder_list(struct pr_api *api, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_stakeholder *rows;
	size_t n;
	json_t *doc = NULL;
	if (store_stakeholder_list(api->store, a, &rows, &n, why) == 0)
		doc = api_rows("stakeholders", rows, n, sizeof(*rows), stakeholder_json);
	arena_free(&a);
	return doc;
}

int
api_alias_add(struct pr_api *api, const char *address, const char *const *users, size_t n,
              struct pr_why *why)
{
	pr_why_clear(why);
	if (check_emails(&address, 1, why) < 0)
		return -1;
	if (n == 0) {
		pr_why_set(why, PR_E_INVALID, "an alias needs at least one user");
		return -1;
	}
	const char *dom = address_domain(address);
	int served = store_domain_served(api->store, dom, why);
	if (served <= 0) {
		if (served == 0)
			pr_why_set(why, PR_E_INVALID, "%s is not one of our domains; add it first with"
			           " `postroom domain add %s`", dom, dom);
		return -1;
	}
	return store_alias_add(api->store, address, users, n, why);
}

int
api_alias_remove(struct pr_api *api, const char *address, struct pr_why *why)
{
	return store_alias_remove(api->store, address, why);
}

static json_t *
alias_json(const void *row)
{
	const struct store_alias *al = row;
	return json_pack("{s:s, s:o}", "address", al->address, "users", api_strings(al->users, al->nusers));
}

json_t *
api_alias_list(struct pr_api *api, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_alias *rows;
	size_t n;
	json_t *doc = NULL;
	if (store_alias_list(api->store, a, &rows, &n, why) == 0)
		doc = api_rows("aliases", rows, n, sizeof(*rows), alias_json);
	arena_free(&a);
	return doc;
}

int
api_check_domain_name(const char *domain, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct address ad;
	struct pr_why w;
	int rc = address_parse(a, arena_printf(a, "postmaster@%s", domain), &ad, &w);
	if (rc < 0 || strchr(domain, '.') == NULL || domain[0] == '[')
		pr_why_set(why, PR_E_INVALID, "'%s' is not a domain name like firm.example", domain), rc = -1;
	arena_free(&a);
	return rc < 0 ? -1 : 0;
}

int
api_domain_add(struct pr_api *api, const char *domain, struct pr_why *why)
{
	return api_check_domain_name(domain, why) < 0 ? -1 : store_domain_add(api->store, domain, why);
}

int
api_domain_remove(struct pr_api *api, const char *domain, struct pr_why *why)
{
	return store_domain_remove(api->store, domain, why);
}

json_t *
api_domain_list(struct pr_api *api, struct pr_why *why)
{
	struct arena *a = arena_new();
	const char **d;
	size_t n;
	json_t *doc = NULL;
	if (store_domain_list(api->store, a, &d, &n, why) == 0)
		doc = json_pack("{s:o}", "domains", api_strings(d, n));
	arena_free(&a);
	return doc;
}

/* One entry by its key, shaped as in its list: get is the store's
 * store_*_get (0 found; 1 none, why PR_E_NOT_FOUND). */
#define API_GET(fn, type, get, row_json)                                        \
json_t *                                                                        \
fn(struct pr_api *api, const char *key, struct pr_why *why)                    \
{                                                                               \
	struct arena *a = arena_new();                                          \
	struct type row;                                                        \
	json_t *doc = get(api->store, a, key, &row, why) == 0 ? row_json(&row) : NULL; \
	arena_free(&a);                                                         \
	return doc;                                                             \
}

API_GET(api_user_get, store_user, store_user_get, user_json)
API_GET(api_project_get, store_project, store_project_get, project_json)
API_GET(api_stakeholder_get, store_stakeholder, store_stakeholder_get, stakeholder_json)
API_GET(api_alias_get, store_alias, store_alias_get, alias_json)
