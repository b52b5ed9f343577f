/* test-mime-cases.c - our own MIME corpus: tests/mime-corpus/NN-what.eml,
 * written to model the failure families of issue 11 (Outlook's padded
 * base64 words, malformed recipients, invalid Content-Type, fractional
 * seconds, missing blank line after part headers, damaged winmail.dat,
 * duplicated fields, truncated base64), each with NN-what.expect.json:
 * the fields of `messages show --json` it must have (a subset: objects
 * compare key by key, arrays element by element and by length).  Every
 * message is also checked to print nothing on stdout (descriptor 1 points
 * at a file while it is parsed: libytnef used to print there) and to give
 * JSON that jansson reads back. */
#include <glib.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/spool.h"
#include "mime/mime.h"
#include "test.h"

static bool
subset(json_t *want, json_t *got, GString *where)
{
	if (json_is_object(want)) {
		const char *k;
		json_t *v;
		json_object_foreach(want, k, v) {
			gsize len = where->len;
			g_string_append_printf(where, ".%s", k);
			if (!subset(v, json_object_get(got, k), where))
				return false;
			g_string_truncate(where, len);
		}
		return json_is_object(got);
	}
	if (json_is_array(want)) {
		if (!json_is_array(got) || json_array_size(got) != json_array_size(want))
			return false;
		for (size_t i = 0; i < json_array_size(want); i++) {
			gsize len = where->len;
			g_string_append_printf(where, "[%zu]", i);
			if (!subset(json_array_get(want, i), json_array_get(got, i), where))
				return false;
			g_string_truncate(where, len);
		}
		return true;
	}
	return json_equal(want, got);
}

/* mime_parse + mime_show_json with descriptor 1 on a temporary file; what
 * reached it is returned in *said (caller frees). */
static char *
parse_quietly(struct arena *a, const char *data, size_t len, int *rc, char **said)
{
	FILE *tmp = tmpfile();
	fflush(stdout);
	int saved = dup(1);
	dup2(fileno(tmp), 1);
	struct mime_info m;
	struct pr_why why;
	*rc = mime_parse(spool_from_bytes(a, NULL, data, len), a, &m, &why);
	const char *js = *rc == 0 ? mime_show_json(a, &m) : NULL;
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	long n = ftell(tmp) > 0 ? ftell(tmp) : lseek(fileno(tmp), 0, SEEK_END);
	*said = g_malloc0((size_t)(n > 0 ? n : 0) + 1);
	if (n > 0 && pread(fileno(tmp), *said, (size_t)n, 0) < 0)
		(*said)[0] = '\0';
	fclose(tmp);
	return js ? g_strdup(js) : NULL;
}

static int cases, fields;

static void
check_case(const char *dir, const char *name)
{
	char *path = g_build_filename(dir, name, NULL);
	char *base = g_strndup(path, strlen(path) - 4);
	char *ep = g_strconcat(base, ".expect.json", NULL);
	gchar *data;
	gsize len;
	json_error_t err;
	json_t *want = json_load_file(ep, 0, &err);
	CHECK(want != NULL);
	if (want != NULL && g_file_get_contents(path, &data, &len, NULL)) {
		struct arena *a = arena_new();
		int rc;
		char *said;
		char *js = parse_quietly(a, data, len, &rc, &said);
		CHECK_INT(rc, 0);
		if (said[0] != '\0')
			fprintf(stderr, "%s: printed on stdout: %s\n", name, said);
		CHECK_STR(said, "");
		json_t *got = js ? json_loads(js, 0, &err) : NULL;
		CHECK(got != NULL);
		GString *where = g_string_new(NULL);
		bool ok = got && subset(want, got, where);
		if (!ok)
			fprintf(stderr, "%s: differs at %s\n  got: %s\n", name, where->str, js ? js : "(none)");
		CHECK(ok);
		cases++;
		fields += (int)json_object_size(want);
		g_string_free(where, TRUE);
		json_decref(got);
		g_free(js);
		g_free(said);
		arena_free(&a);
		g_free(data);
	}
	json_decref(want);
	g_free(ep);
	g_free(base);
	g_free(path);
}

TEST(cases)
{
	const char *src = getenv("POSTROOM_SOURCE");
	if (src == NULL)
		SKIP("POSTROOM_SOURCE is not set (meson test sets it)");
	char *dir = g_build_filename(src, "tests", "mime-corpus", NULL);
	GDir *d = g_dir_open(dir, 0, NULL);
	CHECK(d != NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *n;
	while (d && (n = g_dir_read_name(d)) != NULL)
		if (g_str_has_suffix(n, ".eml"))
			g_ptr_array_add(names, g_strdup(n));
	if (d)
		g_dir_close(d);
	for (guint i = 0; i < names->len; i++)
		check_case(dir, names->pdata[i]);
	printf("MIME cases: %d messages, %d expected fields asserted\n", cases, fields);
	CHECK(cases >= 10);
	g_ptr_array_free(names, TRUE);
	g_free(dir);
}

int
main(void)
{
	RUN(cases);
	return test_summary("mime-cases");
}
