/* routes_dir.c - the directory over HTTP: users, projects with their
 * members and stakeholders, stakeholders, aliases and domains.
 *
 * Thin: a handler reads the body's fields, calls the api/ call the CLI
 * uses (so both refuse exactly the same things, with the same reasons) and
 * answers its document.  A POST answers 201 with the object as a later GET
 * would list it; a refused value is 400 with the api's reason, a duplicate
 * 409, an unknown name 404 (http_reply_why).  Changes are ADMIN; the lists
 * are READ, and a member signed in without admin rights sees only their
 * own projects.  (PATCH /users/{name} and its password: routes_session.c.)
 */
#include <ctype.h>
#include <string.h>

#include "api/postroom.h"
#include "http/http_route.h"
#include "http/routes_util.h"

/* The most addresses or users one request may name (the CLI's bound). */
#define DIR_MAX_LIST 64

/* ---- lists ---- */

static void
get_users(struct http_req *r)
{
	struct pr_why why;
	routes_reply_doc(r, 200, api_user_list(http_api(r), &why), &why);
}

/* A member sees the projects they belong to; tokens and admins all. */
static void
get_projects(struct http_req *r)
{
	struct pr_why why;
	json_t *doc = api_project_list(http_api(r), &why);
	json_t *arr = json_object_get(doc, "projects");
	for (size_t i = json_array_size(arr); i-- > 0;) {
		const char *id = json_string_value(json_object_get(json_array_get(arr, i), "id"));
		if (!http_may_see_project(r, id))
			json_array_remove(arr, i);
	}
	routes_reply_doc(r, 200, doc, &why);
}

static void
get_stakeholders(struct http_req *r)
{
	struct pr_why why;
	routes_reply_doc(r, 200, api_stakeholder_list(http_api(r), &why), &why);
}

static void
get_aliases(struct http_req *r)
{
	struct pr_why why;
	routes_reply_doc(r, 200, api_alias_list(http_api(r), &why), &why);
}

static void
get_domains(struct http_req *r)
{
	struct pr_why why;
	routes_reply_doc(r, 200, api_domain_list(http_api(r), &why), &why);
}

/* ---- adding: parse the body, add, answer the new object ---- */

static void
post_user(struct http_req *r)
{
	struct pr_why why;
	const char *name, *display, *emails[DIR_MAX_LIST];
	size_t n = 0;
	json_t *body = http_body_json(r, &why);
	if (body == NULL || routes_str(body, "name", true, &name, &why) < 0 ||
	    routes_str(body, "display", false, &display, &why) < 0 ||
	    routes_strs(body, "emails", emails, DIR_MAX_LIST, &n, &why) < 0 ||
	    api_user_add(http_api(r), name, display, emails, n, &why) < 0)
		http_reply_why(r, &why);
	else
		routes_reply_doc(r, 201, api_user_get(http_api(r), name, &why), &why);
	json_decref(body);
}

static void
post_project(struct http_req *r)
{
	struct pr_why why;
	const char *id, *name;
	json_t *body = http_body_json(r, &why);
	if (body == NULL || routes_str(body, "id", true, &id, &why) < 0 ||
	    routes_str(body, "name", true, &name, &why) < 0 ||
	    api_project_add(http_api(r), id, name, &why) < 0)
		http_reply_why(r, &why);
	else
		routes_reply_doc(r, 201, api_project_get(http_api(r), id, &why), &why);
	json_decref(body);
}

static void
post_stakeholder(struct http_req *r)
{
	struct pr_why why;
	const char *name, *emails[DIR_MAX_LIST];
	size_t n = 0;
	json_t *body = http_body_json(r, &why);
	if (body == NULL || routes_str(body, "name", true, &name, &why) < 0 ||
	    routes_strs(body, "emails", emails, DIR_MAX_LIST, &n, &why) < 0 ||
	    api_stakeholder_add(http_api(r), name, emails, n, &why) < 0)
		http_reply_why(r, &why);
	else
		routes_reply_doc(r, 201, api_stakeholder_get(http_api(r), name, &why), &why);
	json_decref(body);
}

static void
post_alias(struct http_req *r)
{
	struct pr_why why;
	const char *address, *users[DIR_MAX_LIST];
	size_t n = 0;
	json_t *body = http_body_json(r, &why);
	if (body == NULL || routes_str(body, "address", true, &address, &why) < 0 ||
	    routes_strs(body, "users", users, DIR_MAX_LIST, &n, &why) < 0 ||
	    api_alias_add(http_api(r), address, users, n, &why) < 0)
		http_reply_why(r, &why);
	else
		routes_reply_doc(r, 201, api_alias_get(http_api(r), address, &why), &why);
	json_decref(body);
}

/* The domain as stored (and listed): ASCII letters lowercased. */
static const char *
lower(char *buf, size_t size, const char *s)
{
	size_t i = 0;
	for (; s[i] && i + 1 < size; i++)
		buf[i] = (char)tolower((unsigned char)s[i]);
	buf[i] = '\0';
	return buf;
}

static void
post_domain(struct http_req *r)
{
	struct pr_why why;
	const char *domain;
	char name[256];
	json_t *body = http_body_json(r, &why);
	if (body == NULL || routes_str(body, "domain", true, &domain, &why) < 0 ||
	    api_domain_add(http_api(r), domain, &why) < 0)
		http_reply_why(r, &why);
	else
		http_reply_json(r, 201, json_pack("{s:s}", "domain", lower(name, sizeof(name), domain)));
	json_decref(body);
}

/* ---- membership: the project as it is afterwards ---- */

typedef int (*link_fn)(struct pr_api *api, const char *id, const char *who, struct pr_why *why);

static void
project_link(struct http_req *r, link_fn fn, const char *param)
{
	struct pr_why why;
	const char *id = http_param(r, "id");
	if (fn(http_api(r), id, http_param(r, param), &why) < 0)
		http_reply_why(r, &why);
	else
		routes_reply_doc(r, 200, api_project_get(http_api(r), id, &why), &why);
}

static void put_member(struct http_req *r) { project_link(r, api_project_grant, "user"); }
static void delete_member(struct http_req *r) { project_link(r, api_project_revoke, "user"); }
static void put_stakeholder(struct http_req *r) { project_link(r, api_project_stakeholder, "name"); }

/* ---- removing: {"<key>": what, "removed": true} ---- */

typedef int (*remove_fn)(struct pr_api *api, const char *what, struct pr_why *why);

static void
remove_one(struct http_req *r, remove_fn fn, const char *param)
{
	struct pr_why why;
	const char *what = http_param(r, param);
	if (fn(http_api(r), what, &why) < 0)
		http_reply_why(r, &why);
	else
		http_reply_json(r, 200, json_pack("{s:s, s:b}", param, what, "removed", 1));
}

static void delete_user(struct http_req *r) { remove_one(r, api_user_remove, "name"); }
static void delete_alias(struct http_req *r) { remove_one(r, api_alias_remove, "address"); }
static void delete_domain(struct http_req *r) { remove_one(r, api_domain_remove, "domain"); }

const struct http_route http_routes_dir[] = {
	{"GET", "/api/v1/users", HTTP_READ, get_users, "users with their addresses"},
	{"POST", "/api/v1/users", HTTP_ADMIN, post_user, "add a user {name, display, emails}"},
	{"DELETE", "/api/v1/users/{name}", HTTP_ADMIN, delete_user, "remove a user"},
	{"GET", "/api/v1/projects", HTTP_READ, get_projects, "projects with members and stakeholders"},
	{"POST", "/api/v1/projects", HTTP_ADMIN, post_project, "add a project {id, name}"},
	{"PUT", "/api/v1/projects/{id}/members/{user}", HTTP_ADMIN, put_member,
	 "let a user write into a project"},
	{"DELETE", "/api/v1/projects/{id}/members/{user}", HTTP_ADMIN, delete_member,
	 "take a user out of a project"},
	{"PUT", "/api/v1/projects/{id}/stakeholders/{name}", HTTP_ADMIN, put_stakeholder,
	 "make a stakeholder one of the project's"},
	{"GET", "/api/v1/stakeholders", HTTP_READ, get_stakeholders, "people outside the organisation"},
	{"POST", "/api/v1/stakeholders", HTTP_ADMIN, post_stakeholder, "add a stakeholder {name, emails}"},
	{"GET", "/api/v1/aliases", HTTP_READ, get_aliases, "aliases and their users"},
	{"POST", "/api/v1/aliases", HTTP_ADMIN, post_alias, "add an alias {address, users}"},
	{"DELETE", "/api/v1/aliases/{address}", HTTP_ADMIN, delete_alias, "remove an alias"},
	{"GET", "/api/v1/domains", HTTP_READ, get_domains, "the domains we accept mail for"},
	{"POST", "/api/v1/domains", HTTP_ADMIN, post_domain, "add a domain {domain}"},
	{"DELETE", "/api/v1/domains/{domain}", HTTP_ADMIN, delete_domain, "stop accepting mail for a domain"},
	{0},
};
