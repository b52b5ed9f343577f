/* mime_tnef.c - the files inside Outlook's winmail.dat (TNEF), via libytnef.
 *
 * Outlook wraps attachments in application/ms-tnef, so a PDF sent from
 * Exchange can arrive as one opaque winmail.dat.  We list winmail.dat
 * itself and then each file inside it as a further part (path "<n>/<k>"),
 * so nothing hides in it.  libytnef parses a whole buffer in memory; the
 * caller bounds it to MIME_TNEF_MAX.  Built without libytnef (HAVE_YTNEF
 * unset), winmail.dat is listed but not unpacked.
 *
 * libytnef prints its errors with printf, on our stdout, where they broke
 * `messages show --json`.  It has no quiet mode, so each call runs with
 * descriptor 1 pointed at a memory file (quiet_begin/quiet_end): under one
 * process-wide lock, since descriptor 1 is shared by every thread of
 * `serve`; stdout is flushed on both sides so that nothing buffered
 * changes side.  What the library said is logged at debug level, with
 * control bytes replaced.  If the swap cannot be made we do not call the
 * library: winmail.dat is listed, not unpacked.  (A line another thread
 * wrote to stdout during the call lands in that log line; postroom's own
 * threads write nothing to stdout.)
 *
 * What libytnef parsed before an error is kept: an Outlook rich-text
 * winmail.dat that it cannot read to the end still gives the files before
 * the fault, and the compressed RTF body (PR_RTF_COMPRESSED), which other
 * readers save as a file, is listed as body.rtf.
 *
 * ytnef.h #defines BYTE/WORD/DWORD; it is included here and nowhere else.
 */
#include "mime/mime_private.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/log.h"

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
	if (n == NULL)
		n = prop_string(w, &at->MAPI, PT_UNICODE, PR_DISPLAY_NAME);
	if (n == NULL)
		n = prop_string(w, &at->MAPI, PT_STRING8, PR_DISPLAY_NAME);
	if (n == NULL && at->Title.data != NULL && at->Title.size > 0)
		n = mime_to_utf8(w, NULL, (const char *)at->Title.data,
		                 strnlen((const char *)at->Title.data, (size_t)at->Title.size));
	return n;
}

/* The attachment's bytes: the attAttachData record, else the MAPI
 * PR_ATTACH_DATA_OBJ property (newer Outlook), as binary or, in rich-text
 * mail, as an embedded object whose first 16 bytes are its interface id
 * (what libytnef's own ytnef tool skips too).  False: no bytes. */
static bool
attach_data(Attachment *at, const uint8_t **p, size_t *n)
{
	variableLength *v = &at->FileData;
	size_t skip = 0;
	if (v->data == NULL || v->size <= 0) {
		v = MAPIFindProperty(&at->MAPI, PROP_TAG(PT_BINARY, PR_ATTACH_DATA_OBJ));
		if (v == MAPI_UNDEFINED) {
			v = MAPIFindProperty(&at->MAPI, PROP_TAG(PT_OBJECT, PR_ATTACH_DATA_OBJ));
			skip = 16;
		}
	}
	if (v == MAPI_UNDEFINED || v == NULL || v->data == NULL || v->size < 0 || (size_t)v->size < skip)
		return false;
	*p = v->data + skip;
	*n = (size_t)v->size - skip;
	return true;
}

static pthread_mutex_t quiet_lock = PTHREAD_MUTEX_INITIALIZER;

struct quiet {
	int saved, sink;
};

/* Descriptor 1 to a memory file, under quiet_lock.  False: not done (the
 * lock is released; do not call the library). */
static bool
quiet_begin(struct quiet *q)
{
	pthread_mutex_lock(&quiet_lock);
	fflush(stdout);
	q->sink = memfd_create("postroom-ytnef", MFD_CLOEXEC);
	q->saved = q->sink >= 0 ? fcntl(1, F_DUPFD_CLOEXEC, 3) : -1;
	if (q->saved >= 0 && dup2(q->sink, 1) == 1)
		return true;
	if (q->saved >= 0)
		close(q->saved);
	if (q->sink >= 0)
		close(q->sink);
	pthread_mutex_unlock(&quiet_lock);
	return false;
}

static void
quiet_end(struct quiet *q)
{
	fflush(stdout);
	if (dup2(q->saved, 1) != 1)
		pr_panic("cannot restore stdout after libytnef");
	close(q->saved);
	pthread_mutex_unlock(&quiet_lock);
	char said[512], clean[512];
	ssize_t r = pread(q->sink, said, sizeof(said), 0);
	close(q->sink);
	if (r > 0)
		log_debug("libytnef: %s", log_sanitize(clean, sizeof(clean), said, (size_t)r));
}

static void
add_file(struct mime_walk *w, const char *path, int k, const char *type, const char *name,
         const uint8_t *data, size_t n)
{
	/* Each file is a part like any other: a winmail.dat of thousands of
	 * tiny files must not pass the part limit. */
	if (!mime_walk_count(w))
		return;
	char *p = arena_printf(w->a, "%s/%d", path, k);
	struct mime_part *mp = mime_part_add(w, p, type ? type : "application/octet-stream", name,
	                                     "attachment");
	mime_part_bytes(w, mp, data, n);
}

/* The message's rich-text body, decompressed, as body.rtf. */
static void
add_rtf(struct mime_walk *w, TNEFStruct *t, const char *path, int k)
{
	variableLength *v = MAPIFindProperty(&t->MapiProperties, PROP_TAG(PT_BINARY, PR_RTF_COMPRESSED));
	if (v == MAPI_UNDEFINED || v == NULL || v->data == NULL || v->size < 16)
		return;
	/* Header: compressed size, raw size, "LZFu" or "MELA", CRC.  libytnef
	 * decompresses LZFu only; MELA is the RTF as it is (MS-OXRTFCP 2.1.3.1). */
	if (!memcmp(v->data + 8, "MELA", 4)) {
		uint32_t raw = (uint32_t)v->data[4] | (uint32_t)v->data[5] << 8 |
		               (uint32_t)v->data[6] << 16 | (uint32_t)v->data[7] << 24;
		size_t have = (size_t)v->size - 16;
		add_file(w, path, k, "application/rtf", "body.rtf", v->data + 16, raw < have ? raw : have);
		return;
	}
	int size = 0;
	struct quiet q;
	if (!quiet_begin(&q))
		return;
	BYTE *rtf = DecompressRTF(v, &size);
	quiet_end(&q);
	if (rtf != NULL && size > 0)
		add_file(w, path, k, "application/rtf", "body.rtf", rtf, (size_t)size);
	free(rtf);
}

void
mime_tnef_unpack(struct mime_walk *w, const char *path, const uint8_t *data, size_t n)
{
	TNEFStruct t;
	memset(&t, 0, sizeof(t));
	TNEFInitialize(&t);
	t.Debug = 0;             /* TNEFInitialize leaves it unset: stdout noise */
	struct quiet q;
	if (n == 0 || !quiet_begin(&q)) {
		TNEFFree(&t);
		return;
	}
	/* libytnef takes a non-const buffer but only reads it.  Its result is
	 * not checked: what it read before a fault is listed. */
	TNEFParseMemory((BYTE *)data, (long)n, &t);
	quiet_end(&q);
	int k = 0;
	for (Attachment *at = t.starting_attach.next; at != NULL && !w->failed; at = at->next) {
		const uint8_t *bytes;
		size_t len;
		if (!attach_data(at, &bytes, &len))
			continue;
		add_file(w, path, ++k, prop_string(w, &at->MAPI, PT_STRING8, PR_ATTACH_MIME_TAG),
		         attach_name(w, at), bytes, len);
	}
	if (!w->failed)
		add_rtf(w, &t, path, ++k);
	TNEFFree(&t);
}

#else

void
mime_tnef_unpack(struct mime_walk *w, const char *path, const uint8_t *data, size_t n)
{
	(void)w, (void)path, (void)data, (void)n;
}

#endif
