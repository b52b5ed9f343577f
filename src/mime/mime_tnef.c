/* mime_tnef.c - the files inside Outlook's winmail.dat (TNEF), via libytnef.
 *
 * Outlook wraps attachments in application/ms-tnef, so a PDF sent from
 * Exchange can arrive as one opaque winmail.dat.  We list winmail.dat
 * itself and then each file inside it as a further part (path "<n>/<k>"),
 * so nothing hides in it.  libytnef parses a whole buffer in memory; the
 * caller bounds it to MIME_TNEF_MAX.  Built without libytnef (HAVE_YTNEF
 * unset), winmail.dat is listed but not unpacked.
 *
 * ytnef.h #defines BYTE/WORD/DWORD; it is included here and nowhere else.
 */
#include "mime/mime_private.h"

#include <string.h>

#include "core/arena.h"

bool
mime_is_tnef(const char *type, const char *filename)
{
	return !g_ascii_strcasecmp(type, "application/ms-tnef") ||
	       !g_ascii_strcasecmp(type, "application/vnd.ms-tnef") ||
	       (filename != NULL && !g_ascii_strcasecmp(filename, "winmail.dat"));
}

#ifdef HAVE_YTNEF
#include <ytnef.h>

/* A MAPI string property as a C string in the arena, or NULL. */
static const char *
prop_string(struct mime_walk *w, MAPIProps *props, ULONG type, ULONG id)
{
	variableLength *v = MAPIFindProperty(props, PROP_TAG(type, id));
	if (v == MAPI_UNDEFINED || v == NULL || v->data == NULL || v->size <= 0)
		return NULL;
	if (type == PT_UNICODE) {
		char *u = g_utf16_to_utf8((const gunichar2 *)v->data, v->size / 2, NULL, NULL, NULL);
		const char *r = u ? mime_to_utf8(w, "utf-8", u, strlen(u)) : NULL;
		g_free(u);
		return r;
	}
	return mime_to_utf8(w, NULL, (const char *)v->data, strnlen((const char *)v->data, (size_t)v->size));
}

static const char *
attach_name(struct mime_walk *w, Attachment *at)
{
	const char *n = prop_string(w, &at->MAPI, PT_UNICODE, PR_ATTACH_LONG_FILENAME);
	if (n == NULL)
		n = prop_string(w, &at->MAPI, PT_STRING8, PR_ATTACH_LONG_FILENAME);
	if (n == NULL && at->Title.data != NULL && at->Title.size > 0)
		n = mime_to_utf8(w, NULL, (const char *)at->Title.data,
		                 strnlen((const char *)at->Title.data, (size_t)at->Title.size));
	return n;
}

/* The attachment's bytes: the attAttachData record, else the MAPI
 * PR_ATTACH_DATA_OBJ property (newer Outlook). */
static variableLength *
attach_data(Attachment *at)
{
	if (at->FileData.data != NULL && at->FileData.size > 0)
		return &at->FileData;
	variableLength *v = MAPIFindProperty(&at->MAPI, PROP_TAG(PT_BINARY, PR_ATTACH_DATA_OBJ));
	return v == MAPI_UNDEFINED ? NULL : v;
}

void
mime_tnef_unpack(struct mime_walk *w, const char *path, const uint8_t *data, size_t n)
{
	TNEFStruct t;
	memset(&t, 0, sizeof(t));
	TNEFInitialize(&t);
	t.Debug = 0;             /* TNEFInitialize leaves it unset: stdout noise */
	/* libytnef takes a non-const buffer but only reads it. */
	if (n > 0 && TNEFParseMemory((BYTE *)data, (long)n, &t) == 0) {
		int k = 0;
		for (Attachment *at = t.starting_attach.next; at != NULL && !w->failed; at = at->next) {
			variableLength *v = attach_data(at);
			if (v == NULL || v->data == NULL || v->size < 0)
				continue;
			const char *type = prop_string(w, &at->MAPI, PT_STRING8, PR_ATTACH_MIME_TAG);
			char sub[64];
			snprintf(sub, sizeof(sub), "/%d", ++k);
			char *p = arena_printf(w->a, "%s%s", path, sub);
			struct mime_part *mp = mime_part_add(w, p, type ? type : "application/octet-stream",
			                                     attach_name(w, at), "attachment");
			mime_part_bytes(w, mp, v->data, (size_t)v->size);
		}
	}
	TNEFFree(&t);
}

#else

void
mime_tnef_unpack(struct mime_walk *w, const char *path, const uint8_t *data, size_t n)
{
	(void)w, (void)path, (void)data, (void)n;
}

#endif
