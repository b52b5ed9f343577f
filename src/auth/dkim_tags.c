/* dkim_tags.c - DKIM tag=value lists (RFC 6376 3.2) and name syntax.
 *
 * Used for DKIM-Signature values and key records.  Refuses: a tag name
 * that is not ALPHA *(ALNUM / "_") or longer than 15 octets, a tag
 * without "=", a duplicate tag (the RFC makes the whole list invalid),
 * more than DKIM_MAX_TAGS tags, control characters other than FWS.
 * Empty specs (";;", a trailing ";") are tolerated, as every peer does.
 * Each tag keeps the offsets of its value region so b= can be blanked
 * byte-exactly for the header hash.
 */
#include "auth/dkim_private.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static bool
fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ASCII only, whatever the locale: tag names are ALPHA *ALNUMPUNC. */
static bool
alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
name_char(char c)
{
	return alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

static int
parse_spec(const char *s, size_t start, size_t end, struct dkim_tags *out, const char **err_r)
{
	size_t i = start;
	while (i < end && fws(s[i]))
		i++;
	if (i == end)
		return 0;                     /* empty spec */
	size_t nstart = i;
	if (!alpha(s[i]))
		return *err_r = "tag name does not start with a letter", -1;
	while (i < end && name_char(s[i]))
		i++;
	size_t nlen = i - nstart;
	while (i < end && fws(s[i]))
		i++;
	if (i == end || s[i] != '=')
		return *err_r = "tag without '='", -1;
	if (nlen >= sizeof(out->t[0].name))
		return *err_r = "tag name too long", -1;
	if (out->n >= DKIM_MAX_TAGS)
		return *err_r = "too many tags", -1;
	struct dkim_tag *t = &out->t[out->n];
	memcpy(t->name, s + nstart, nlen);
	t->name[nlen] = '\0';
	if (dkim_tags_get(out, t->name) != NULL)
		return *err_r = "duplicate tag", -1;
	t->region_start = i + 1;
	t->region_end = end;
	size_t vs = i + 1, ve = end;
	while (vs < ve && fws(s[vs]))
		vs++;
	while (ve > vs && fws(s[ve - 1]))
		ve--;
	for (size_t k = vs; k < ve; k++)
		if ((unsigned char)s[k] < 0x20 && !fws(s[k]))
			return *err_r = "control character in a tag value", -1;
	t->val = s + vs;
	t->len = ve - vs;
	out->n++;
	return 0;
}

int
dkim_tags_parse(const char *s, size_t len, struct dkim_tags *out, const char **err_r)
{
	out->n = 0;
	size_t start = 0;
	for (;;) {
		const char *semi = start < len ? memchr(s + start, ';', len - start) : NULL;
		size_t end = semi ? (size_t)(semi - s) : len;
		if (parse_spec(s, start, end, out, err_r) < 0)
			return -1;
		if (semi == NULL)
			return 0;
		start = end + 1;
	}
}

/* Names are short and mostly differ in their first byte: compare that
 * before calling strcmp (the signature parser asks for a dozen tags). */
const struct dkim_tag *
dkim_tags_get(const struct dkim_tags *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->t[i].name[0] == name[0] && strcmp(t->t[i].name, name) == 0)
			return &t->t[i];
	return NULL;
}

bool
dkim_valid_domain(const char *s, size_t len)
{
	if (len == 0 || len > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool ok = isalnum(c) || c == '_' || (c == '-' && label > 0);
		if (!ok || ++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}
