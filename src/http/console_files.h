/* console_files.h - the web console's files, embedded at build time.
 *
 * scripts/embed-console turns every file in console/ into one entry of
 * console_files[] (generated console_files.c); routes_console.c serves
 * them.  Nothing is read from disk at run time, so the console is the one
 * the binary was built with. */
#ifndef PR_HTTP_CONSOLE_FILES_H
#define PR_HTTP_CONSOLE_FILES_H

#include <stddef.h>

struct console_file {
	const char *name;          /* "app.js": served at /console/app.js */
	const char *content_type;  /* "text/javascript; charset=utf-8" */
	const unsigned char *data;
	size_t len;
	const char *etag;          /* "\"<32 hex of SHA-256>\"", quoted as sent */
};

extern const struct console_file console_files[];
extern const size_t console_nfiles;

#endif
