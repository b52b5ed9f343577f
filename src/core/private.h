/* private.h - files and directories other local users may not read.
 *
 * Mail at rest (the store, its WAL, the spool, var/) is private to the
 * user postroom runs as.  Every command starts with umask 077; these calls
 * also make the mode explicit where postroom creates a path, and tighten a
 * path an older version left group- or world-readable (only one we own:
 * a mode an administrator set on someone else's file is theirs to keep).
 */
#ifndef PR_PRIVATE_H
#define PR_PRIVATE_H

#include <stdbool.h>

#include "core/err.h"

/* Create dir with mode 0700 if missing; tighten it to 0700 if we own it.
 * 0, or -1 with why (PR_E_IO). */
int private_dir(const char *path, struct pr_why *why);
/* Tighten an existing file we own to 0600; create it (empty, 0600) first
 * when create is set.  A missing file without create is not an error. */
int private_file(const char *path, bool create, struct pr_why *why);

#endif
