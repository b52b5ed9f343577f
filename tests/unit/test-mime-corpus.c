/* test-mime-corpus.c - every sample under ../shared/testdata/mime parses
 * without a crash (this runs under ASan/UBSan), a few samples truncated at
 * every byte still do, and where the suite gives expected results we
 * compare: python-email-view.json (decoded subjects, attachment SHA-256)
 * and Stalwart's expected JSON (subject, text body).  The comparison is a
 * differential report, printed as one line; hard failures are crashes. */
#include <glib.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/spool.h"
#include "mime/mime.h"
#include "test.h"

struct tally {
	int files, parsed, unreadable;
	int subj_ok, subj_n, att_ok, att_n;
	int st_subj_ok, st_subj_n, st_text_ok, st_text_n;
};

static bool
skip_name(const char *name)
{
	return g_str_has_suffix(name, ".json") || g_str_has_prefix(name, "README") ||
	       g_str_has_prefix(name, "LICENSE") || g_str_has_prefix(name, "COPYING") ||
	       g_str_has_suffix(name, ".md");
}

/* Whitespace runs as one space, trimmed: folding differs between parsers. */
static char *
squash(const char *s)
{
	GString *g = g_string_new(NULL);
	bool sp = false;
	for (; s && *s; s++) {
		if (g_ascii_isspace(*s)) {
			sp = g->len > 0;
			continue;
		}
		if (sp)
			g_string_append_c(g, ' ');
		sp = false;
		g_string_append_c(g, *s);
	}
	return g_string_free(g, FALSE);
}

static bool
same_text(const char *a, const char *b)
{
	char *x = squash(a), *y = squash(b);
	bool r = strcmp(x, y) == 0;
	g_free(x);
	g_free(y);
	return r;
}

static bool
has_sha(const struct mime_info *m, const char *sha)
{
	for (size_t i = 0; i < m->nparts; i++)
		if (!strcmp(m->parts[i].sha256, sha))
			return true;
	return false;
}

static void
compare_python(struct tally *t, json_t *view, const struct mime_info *m)
{
	json_t *subj = json_object_get(view, "subject");
	if (json_is_string(subj)) {
		t->subj_n++;
		bool ok = m && same_text(m->subject, json_string_value(subj));
		t->subj_ok += ok;
		if (!ok && getenv("MIME_CORPUS_VERBOSE"))
			fprintf(stderr, "  subject differs: python \"%s\", ours \"%s\"\n",
			        json_string_value(subj), m && m->subject ? m->subject : "(none)");
	}
	size_t i, j;
	json_t *att, *part;
	json_array_foreach(json_object_get(view, "attachments"), i, att) {
		const char *fn = json_string_value(json_object_get(att, "filename"));
		json_array_foreach(json_object_get(view, "parts"), j, part) {
			const char *pfn = json_string_value(json_object_get(part, "filename"));
			const char *sha = json_string_value(json_object_get(part, "decoded_sha256"));
			if (fn && pfn && sha && !strcmp(fn, pfn)) {
				t->att_n++;
				t->att_ok += m && has_sha(m, sha);
				break;
			}
		}
	}
}

/* Stalwart NNN.json: parts[0].headers subject, text_body[0]'s Text. */
static void
compare_stalwart(struct tally *t, const char *path, const struct mime_info *m)
{
	char *jp = g_strconcat(path, "", NULL);
	jp[strlen(jp) - 4] = '\0';
	char *full = g_strconcat(jp, ".json", NULL);
	json_t *e = json_load_file(full, 0, NULL);
	g_free(jp);
	g_free(full);
	if (e == NULL)
		return;
	json_t *parts = json_object_get(e, "parts"), *h;
	size_t i;
	json_array_foreach(json_object_get(json_array_get(parts, 0), "headers"), i, h) {
		const char *v = json_string_value(json_object_get(json_object_get(h, "value"), "Text"));
		if (json_is_string(json_object_get(h, "name")) &&
		    !strcmp(json_string_value(json_object_get(h, "name")), "subject") && v) {
			t->st_subj_n++;
			bool ok = m && same_text(m->subject, v);
			t->st_subj_ok += ok;
			if (!ok && getenv("MIME_CORPUS_VERBOSE"))
				fprintf(stderr, "  subject differs: %s: stalwart \"%s\", ours \"%s\"\n", path, v,
				        m && m->subject ? m->subject : "(none)");
			break;
		}
	}
	json_t *tb = json_array_get(json_object_get(e, "text_body"), 0);
	json_t *body = json_object_get(json_array_get(parts, (size_t)json_integer_value(tb)), "body");
	const char *want = json_string_value(json_object_get(body, "Text"));
	if (tb && want) {
		t->st_text_n++;
		char *got = m && m->text_body ? g_strdup(m->text_body) : g_strdup("");
		char *w = got;                       /* the expected text has no CRs */
		for (char *r = got; *r; r++)
			if (*r != '\r')
				*w++ = *r;
		*w = '\0';
		bool ok = same_text(got, want);
		t->st_text_ok += ok;
		if (!ok && getenv("MIME_CORPUS_VERBOSE"))
			fprintf(stderr, "  text body differs: %s\n", path);
		g_free(got);
	}
	json_decref(e);
}

static void
parse_one(struct tally *t, const char *root, const char *path, json_t *views)
{
	gchar *data;
	gsize len;
	if (!g_file_get_contents(path, &data, &len, NULL))
		return;
	struct arena *a = arena_new();
	struct spool *s = spool_new(a, NULL);
	spool_write(s, data, len);
	spool_finish(s);
	struct mime_info m;
	struct pr_why why;
	int rc = mime_parse(s, a, &m, &why);
	t->files++;
	if (rc == 0)
		t->parsed++;
	else
		t->unreadable++;
	if (rc != 0)
		fprintf(stderr, "  unreadable: %s: %s\n", path + strlen(root) + 1, why.detail);
	json_t *view = json_object_get(views, path + strlen(root) + 1);
	if (view)
		compare_python(t, view, rc == 0 ? &m : NULL);
	if (strstr(path, "stalwart-mail-parser/eml/") && g_str_has_suffix(path, ".eml"))
		compare_stalwart(t, path, rc == 0 ? &m : NULL);
	arena_free(&a);
	g_free(data);
}

static void
walk_dir(struct tally *t, const char *root, const char *dir, json_t *views)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	while (d && (name = g_dir_read_name(d)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	if (d)
		g_dir_close(d);
	for (guint i = 0; i < names->len; i++) {
		char *p = g_build_filename(dir, names->pdata[i], NULL);
		if (g_file_test(p, G_FILE_TEST_IS_DIR))
			walk_dir(t, root, p, views);
		else if (!skip_name(names->pdata[i]))
			parse_one(t, root, p, views);
		g_free(p);
	}
	g_ptr_array_free(names, TRUE);
}

TEST(corpus)
{
	const char *shared = test_shared_dir();
	if (shared == NULL)
		SKIP("../shared/testdata is absent (set POSTROOM_SHARED): MIME corpus not run");
	char *root = g_build_filename(shared, "mime", NULL);
	char *vp = g_build_filename(root, "python-email-view.json", NULL);
	json_t *all = json_load_file(vp, 0, NULL);
	json_t *views = json_object_get(all, "messages");
	struct tally t = {0};
	walk_dir(&t, root, root, views);
	printf("MIME corpus: %d files, %d parsed, %d unreadable; subjects agree %d/%d; "
	       "attachments agree %d/%d\n", t.files, t.parsed, t.unreadable, t.subj_ok, t.subj_n,
	       t.att_ok, t.att_n);
	printf("MIME corpus vs Stalwart expected: subjects agree %d/%d; text bodies agree %d/%d\n",
	       t.st_subj_ok, t.st_subj_n, t.st_text_ok, t.st_text_n);
	CHECK(t.files >= 200);
	CHECK(views != NULL);
	json_decref(all);
	g_free(vp);
	g_free(root);
}

/* Every prefix of a few small samples: parse or refuse, never crash. */
TEST(truncated)
{
	const char *shared = test_shared_dir();
	if (shared == NULL)
		SKIP("../shared/testdata is absent: truncation test not run");
	static const char *const samples[] = {
	    "mime/stalwart-mail-parser/eml/legacy/006.eml",
	    "mime/mimekit/messages/simple-embedded-message.eml",
	    "mime/python-email/msg_02.txt",
	    "mime/stalwart-mail-parser/eml/malformed/001.eml",
	};
	int prefixes = 0;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		char *p = g_build_filename(shared, samples[i], NULL);
		gchar *data;
		gsize len;
		if (g_file_get_contents(p, &data, &len, NULL)) {
			for (gsize n = 0; n <= len && n <= 8192; n++, prefixes++) {
				struct arena *a = arena_new();
				struct mime_info m;
				struct pr_why why;
				int rc = mime_parse(spool_from_bytes(a, NULL, data, n), a, &m, &why);
				CHECK(rc == 0 || why.code == PR_E_UNREADABLE);
				arena_free(&a);
			}
			g_free(data);
		}
		g_free(p);
	}
	printf("MIME truncation: %d prefixes parsed without a crash\n", prefixes);
	CHECK(prefixes > 1000);
}

int
main(void)
{
	RUN(corpus);
	RUN(truncated);
	return test_summary("mime-corpus");
}
