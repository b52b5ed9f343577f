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

int
api_user_add(struct pr_api *api, const char *name, const char *display,
             const char *const *emails, size_t n, struct pr_why *why)
{
	pr_why_clear(why);
	if (api_check_name("user name", name, why) < 0 ||
	    check_text("the display name", display ? display : "", true, why) < 0 ||
	    check_emails(emails, n, why) < 0)
		return -1;
	if (n == 0) {
		pr_why_set(why, PR_E_INVALID, "a user needs at least one --email address");
		return -1;
	}
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

json_t *
api_user_list(struct pr_api *api, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_user *u;
	size_t n;
	json_t *arr = NULL;
	if (store_user_list(api->store, a, &u, &n, why) == 0) {
		arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:o}", "name", u[i].name,
			                      "display", u[i].display, "active", u[i].active,
			                      "emails", api_strings(u[i].emails, u[i].nemails)));
	}
	arena_free(&a);
	return arr ? json_pack("{s:o}", "users", arr) : NULL;
}

int
api_project_add(struct pr_api *api, const char *id, const char *name, struct pr_why *why)
{
	if (api_check_name("project id", id, why) < 0 || check_text("the project name", name, false, why) < 0)
		return -1;
	return store_project_add(api->store, id, name, why);
}

json_t *
api_project_list(struct pr_api *api, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_project *p;
	size_t n;
	json_t *arr = NULL;
	if (store_project_list(api->store, a, &p, &n, why) == 0) {
		arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:o}", "id", p[i].id, "name", p[i].name,
			                      "members", api_strings(p[i].members, p[i].nmembers),
			                      "stakeholders", api_strings(p[i].stakeholders, p[i].nstakeholders)));
	}
	arena_free(&a);
	return arr ? json_pack("{s:o}", "projects", arr) : NULL;
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
	if (check_text("the stakeholder name", name, false, why) < 0 || check_emails(emails, n, why) < 0)
		return -1;
	if (n == 0) {
		pr_why_set(why, PR_E_INVALID, "a stakeholder needs at least one --email address");
		return -1;
	}
	return store_stakeholder_add(api->store, name, emails, n, why);
}

json_t *
api_stakeholder_list(struct pr_api *api, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_stakeholder *k;
	size_t n;
	json_t *arr = NULL;
	if (store_stakeholder_list(api->store, a, &k, &n, why) == 0) {
		arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:o}", "name", k[i].name,
			                      "emails", api_strings(k[i].emails, k[i].nemails)));
	}
	arena_free(&a);
	return arr ? json_pack("{s:o}", "stakeholders", arr) : NULL;
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

json_t *
api_alias_list(struct pr_api *api, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_alias *al;
	size_t n;
	json_t *arr = NULL;
	if (store_alias_list(api->store, a, &al, &n, why) == 0) {
		arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:o}", "address", al[i].address,
			                      "users", api_strings(al[i].users, al[i].nusers)));
	}
	arena_free(&a);
	return arr ? json_pack("{s:o}", "aliases", arr) : NULL;
}

int
api_domain_add(struct pr_api *api, const char *domain, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct address ad;
	struct pr_why w;
	int rc = address_parse(a, arena_printf(a, "postmaster@%s", domain), &ad, &w);
	if (rc < 0 || strchr(domain, '.') == NULL || domain[0] == '[')
		pr_why_set(why, PR_E_INVALID, "'%s' is not a domain name like firm.example", domain), rc = -1;
	arena_free(&a);
	return rc < 0 ? -1 : store_domain_add(api->store, domain, why);
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
