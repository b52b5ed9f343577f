/* test-dkim-sign.c - the DKIM signer (auth/dkim_sign.c) and dkim_keys.
 *
 * - sign with RSA and Ed25519 keys made here, then verify with our own
 *   verifier: both signatures pass; a From added on top, a changed Subject
 *   or body fail (From is oversigned);
 * - known answers with the RFC 8463 keys (t= fixed): the body hash is the
 *   RFC's, and the whole DKIM-Signature fields are the bytes dkimpy
 *   verified when they were recorded (tests/integration/test_dkim_sign.py
 *   verifies fresh output with dkimpy at every run);
 * - key files: a mode with group/other bits, a symlink, a short RSA key,
 *   a file that is not a key are refused with the fix in the message;
 * - dkim_keys syntax: valid and invalid tables;
 * - the DNS records check domain prints.
 * With DKIM_SIGN_DUMP=DIR the signed known-answer message is written to
 * DIR/kat.eml (the integration test hands it to dkimpy).
 */
#include <openssl/pem.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/dkim.h"
#include "auth/dkim_private.h"
#include "auth/dkim_sign.h"
#include "auth/dns.h"
#include "core/arena.h"
#include "core/keyspec.h"
#include "core/spool.h"
#include "test.h"

static char tmpdir[256];

static const char *kat_msg =
	"From: Joe SixPack <joe@football.example.com>\r\n"
	"To: Suzie Q <suzie@shopping.example.net>\r\n"
	"Subject: Is dinner ready?\r\n"
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
	"\r\n"
	"Hi.\r\n"
	"\r\n"
	"We lost the game.  Are you hungry yet?\r\n"
	"\r\n"
	"Joe.\r\n";

static void
write_key(EVP_PKEY *k, const char *path, mode_t mode)
{
	unlink(path);
	FILE *f = fopen(path, "w");
	if (f == NULL || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1)
		abort();
	fclose(f);
	chmod(path, mode);
}

static char *
path_of(const char *name)
{
	static char p[4][512];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", tmpdir, name);
	return p[i];
}

/* RFC 8463 A.1: the Ed25519 seed; A.2: the RSA key (shared testdata). */
static bool
rfc8463_keys(void)
{
	static const uint8_t seed[32] = {
		0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec,
		0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03,
		0x1c, 0xae, 0x7f, 0x60};
	EVP_PKEY *ed = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	write_key(ed, path_of("kat-ed.pem"), 0600);
	EVP_PKEY_free(ed);
	const char *shared = test_shared_dir();
	char p[4200];
	if (shared == NULL)
		return false;
	snprintf(p, sizeof(p), "%s/dkim/rfc/rfc8463-A.2-rsa-private.pem", shared);
	FILE *f = fopen(p, "r");
	if (f == NULL)
		return false;
	EVP_PKEY *rsa = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	write_key(rsa, path_of("kat-rsa.pem"), 0600);
	EVP_PKEY_free(rsa);
	return true;
}

static struct dkim_signer *
load(const char *spec)
{
	struct pr_why why;
	struct dkim_signer *s = dkim_signer_load(spec, &why);
	if (s == NULL)
		fprintf(stderr, "load %s: %s\n", spec, why.detail);
	return s;
}

/* A memory zone publishing the records of every key of s. */
static struct dns *
zone_of(const struct dkim_signer *s)
{
	struct dns *d = dns_new_memory();
	for (size_t i = 0; i < dkim_signer_count(s); i++) {
		struct dkim_signkey_info in;
		struct buf rec, name;
		dkim_signer_info(s, i, &in);
		buf_init(&rec, 8192);
		buf_init(&name, 512);
		dkim_signer_record(s, i, &rec);
		buf_printf(&name, "%s._domainkey.%s", in.selector, in.domain);
		buf_addch(&name, '\0');
		dns_zone_add(d, (const char *)name.data, DNS_T_TXT, (const char *)rec.data, rec.len);
		buf_free(&rec);
		buf_free(&name);
	}
	return d;
}

/* Verify m; the reasons of the signatures into r (at most 4); how many. */
static size_t
verify(struct dns *d, const char *m, size_t n, enum pr_err *r)
{
	struct arena *a = arena_new();
	struct dkim_result res;
	struct dkim_stream *st = dkim_stream_new(a);
	dkim_stream_feed(st, m, n);
	dkim_stream_finish(st, NULL, d, time(NULL), &res);
	size_t k = res.n < 4 ? res.n : 4;
	for (size_t i = 0; i < k; i++)
		r[i] = res.sig[i].reason;
	arena_free(&a);
	return k;
}

/* sigs + msg, with extra prepended and, when from/to given, one string
 * replaced (a change on the way). */
static char *
signed_msg(const struct dkim_signer *s, const char *domain, const char *msg, size_t *n)
{
	struct buf out;
	buf_init(&out, 1 << 20);
	int made = dkim_sign(s, domain, (const uint8_t *)msg, strlen(msg), 1528637909, &out);
	CHECK(made >= 0);
	buf_addstr(&out, msg);
	buf_addch(&out, '\0');
	*n = out.len - 1;
	return (char *)out.data;
}

static char *
replace(const char *m, const char *from, const char *to)
{
	const char *at = strstr(m, from);
	size_t n = strlen(m) + strlen(to) + 1;
	char *o = malloc(n);
	snprintf(o, n, "%.*s%s%s", (int)(at - m), m, to, at + strlen(from));
	return o;
}

TEST(sign_then_verify_both)
{
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	write_key(rsa, path_of("rsa.pem"), 0600);
	write_key(ed, path_of("ed.pem"), 0400);
	char spec[2048];
	snprintf(spec, sizeof(spec), "firm.example:r2026:%s, firm.example:e2026:%s other.example:x:%s",
	         path_of("rsa.pem"), path_of("ed.pem"), path_of("ed.pem"));
	struct dkim_signer *s = load(spec);
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK_INT(dkim_signer_count(s), 3);
	struct dns *d = zone_of(s);
	const char *msg = "From: Alice <alice@firm.example>\r\nTo: bob@example.org\r\n"
	                  "Subject: Plans\r\nDate: Thu, 3 Dec 2026 10:00:00 +0000\r\n"
	                  "Message-ID: <x1@firm.example>\r\nMIME-Version: 1.0\r\n"
	                  "Content-Type: text/plain; charset=utf-8\r\n\r\nHello  there \r\n\r\n\r\n";
	size_t n;
	enum pr_err r[4];
	char *m = signed_msg(s, "sub.firm.example", msg, &n);   /* the parent's keys sign */
	CHECK_INT(verify(d, m, n, r), 2);
	CHECK_INT(r[0], PR_OK);
	CHECK_INT(r[1], PR_OK);
	CHECK(strstr(m, "h=from:from:") != NULL);
	CHECK(strstr(m, "a=ed25519-sha256") != NULL && strstr(m, "a=rsa-sha256") != NULL);
	char *forged = malloc(n + 64);
	snprintf(forged, n + 64, "From: ceo@firm.example\r\n%s", m);
	CHECK_INT(verify(d, forged, strlen(forged), r), 2);
	CHECK_INT(r[0], PR_E_DKIM_FAIL);
	CHECK_INT(r[1], PR_E_DKIM_FAIL);
	free(forged);
	forged = replace(m, "Subject: Plans", "Subject: Pay this");
	verify(d, forged, strlen(forged), r);
	CHECK_INT(r[0], PR_E_DKIM_FAIL);
	free(forged);
	forged = replace(m, "Hello", "Hullo");
	verify(d, forged, strlen(forged), r);
	CHECK_INT(r[1], PR_E_DKIM_BODY_CHANGED);
	free(forged);
	free(m);
	struct buf out;
	buf_init(&out, 1 << 20);
	CHECK_INT(dkim_sign(s, "elsewhere.example", (const uint8_t *)msg, strlen(msg), 1, &out), 0);
	CHECK_INT(dkim_sign(s, "other.example", (const uint8_t *)msg, strlen(msg), 1, &out), 1);
	buf_free(&out);
	dns_free(&d);
	dkim_signer_free(&s);
	CHECK(s == NULL);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
}

/* The message has no body, or only a header: still signed and verified. */
TEST(sign_edge_shapes)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	write_key(ed, path_of("ed2.pem"), 0600);
	char spec[1024];
	snprintf(spec, sizeof(spec), "firm.example:e:%s", path_of("ed2.pem"));
	struct dkim_signer *s = load(spec);
	struct dns *d = zone_of(s);
	const char *shapes[] = {"From: a@firm.example\r\n\r\n", "From: a@firm.example\r\n",
	                        "From: a@firm.example\r\nSubject: x\r\n y\r\n\r\nbody"};
	for (size_t i = 0; i < 3; i++) {
		size_t n;
		enum pr_err r[4];
		char *m = signed_msg(s, "firm.example", shapes[i], &n);
		CHECK_INT(verify(d, m, n, r), 1);
		CHECK_INT(r[0], PR_OK);
		free(m);
	}
	dns_free(&d);
	dkim_signer_free(&s);
	EVP_PKEY_free(ed);
}

/* Recorded once and verified with dkimpy (python3 -m dkim's verify over
 * the RFC 8463 records); RSA PKCS#1 v1.5 and Ed25519 are deterministic. */
static const char *kat_sigs =
#include "dkim-sign-kat.inc"
	;

TEST(known_answer_rfc8463)
{
	if (!rfc8463_keys())
		SKIP("shared testdata (RFC 8463 RSA key) not found");
	char spec[2048];
	snprintf(spec, sizeof(spec), "football.example.com:brisbane:%s football.example.com:test:%s",
	         path_of("kat-ed.pem"), path_of("kat-rsa.pem"));
	struct dkim_signer *s = load(spec);
	struct buf rec;
	buf_init(&rec, 8192);
	dkim_signer_record(s, 0, &rec);
	buf_addch(&rec, '\0');
	/* RFC 8463 A.2 publishes exactly this record. */
	CHECK_STR((const char *)rec.data, "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	buf_free(&rec);
	size_t n;
	char *m = signed_msg(s, "football.example.com", kat_msg, &n);
	/* RFC 8463 A.3's bh= for the same body. */
	CHECK(strstr(m, "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;") != NULL);
	CHECK_INT(strncmp(m, kat_sigs, strlen(kat_sigs)), 0);
	if (strncmp(m, kat_sigs, strlen(kat_sigs)) != 0)
		fprintf(stderr, "got:\n%.*s\n", (int)(n - strlen(kat_msg)), m);
	const char *dump = getenv("DKIM_SIGN_DUMP");
	if (dump) {
		char p[4200];
		snprintf(p, sizeof(p), "%s/kat.eml", dump);
		FILE *f = fopen(p, "wb");
		fwrite(m, 1, n, f);
		fclose(f);
	}
	free(m);
	dkim_signer_free(&s);
}

static void
refused(const char *spec, const char *want)
{
	struct pr_why why;
	struct dkim_signer *s = dkim_signer_load(spec, &why);
	CHECK(s == NULL);
	if (s == NULL && strstr(why.detail, want) == NULL)
		fprintf(stderr, "%s: got \"%s\", want \"%s\"\n", spec, why.detail, want), test_cur_failed++;
	dkim_signer_free(&s);
}

TEST(key_files_refused)
{
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	write_key(rsa, path_of("short.pem"), 0600);
	write_key(ed, path_of("open.pem"), 0640);
	unlink(path_of("link.pem"));
	CHECK(symlink(path_of("open.pem"), path_of("link.pem")) == 0);
	FILE *f = fopen(path_of("junk.pem"), "w");
	fputs("not a key\n", f);
	fclose(f);
	chmod(path_of("junk.pem"), 0600);
	char spec[1024];
	snprintf(spec, sizeof(spec), "a.example:s:%s", path_of("short.pem"));
	refused(spec, "verifiers refuse RSA keys under 1024");
	snprintf(spec, sizeof(spec), "a.example:s:%s", path_of("open.pem"));
	refused(spec, "chmod 600");
	snprintf(spec, sizeof(spec), "a.example:s:%s", path_of("link.pem"));
	refused(spec, "a symlink is refused");
	snprintf(spec, sizeof(spec), "a.example:s:%s", path_of("junk.pem"));
	refused(spec, "is not a PEM private key");
	snprintf(spec, sizeof(spec), "a.example:s:%s", path_of("missing.pem"));
	refused(spec, "cannot be opened");
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
}

TEST(keyspec_tables)
{
	static const char *valid[] = {"", "  ", "a.example:s:/k", "a.example:s_1.x:/k, b-c.example:t:/k/l.pem",
	                              "A.Example:2026-01:/x"};
	static const char *invalid[] = {"a.example:s", "a.example::/k", ":s:/k", "a.example:s:k.pem",
	                                "-a.example:s:/k", "a..example:s:/k", "a.example.:s:/k",
	                                "a_b.example:s:/k", "a.example:s!:/k"};
	struct keyspec_list l;
	struct pr_why why;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		if (keyspec_parse(valid[i], &l, &why) != 0)
			fprintf(stderr, "valid \"%s\" refused: %s\n", valid[i], why.detail), test_cur_failed++;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		if (keyspec_parse(invalid[i], &l, &why) == 0)
			fprintf(stderr, "invalid \"%s\" accepted\n", invalid[i]), test_cur_failed++;
	CHECK_INT(keyspec_parse("a.example:s:/k, b.example:t:/l", &l, &why), 0);
	CHECK_INT(l.n, 2);
	CHECK_STR(l.k[1].domain, "b.example");
	CHECK_STR(l.k[1].selector, "t");
	CHECK_STR(l.k[1].path, "/l");
	char many[2048] = "";
	for (int i = 0; i <= KEYSPEC_MAX; i++)
		strcat(many, "a.example:s:/k,");
	CHECK_INT(keyspec_parse(many, &l, &why), -1);
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-dkim-sign.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	RUN(sign_then_verify_both);
	RUN(sign_edge_shapes);
	RUN(known_answer_rfc8463);
	RUN(key_files_refused);
	RUN(keyspec_tables);
	test_rmtree(tmpdir);
	return test_summary("dkim-sign");
}
