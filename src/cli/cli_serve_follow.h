/* cli_serve_follow.h - serve follows the stored settings off its loop.
 *
 * Reading the store's settings version can wait as long as the store's
 * busy timeout (another process holding its locks, a stalled disk): on the
 * SMTP loop that wait would stall every session.  So a thread polls the
 * version (and merges the settings when it moved, or on SIGHUP); a new
 * snapshot is handed to the loop, which applies it between events.
 */
#ifndef PR_CLI_SERVE_FOLLOW_H
#define PR_CLI_SERVE_FOLLOW_H

struct event_base;
struct settings;
struct api_settings_watch;

/* Called on the loop with a new snapshot (owned by the callee from then
 * on) and where it came from ("SIGHUP", "stored settings"). */
typedef void settings_apply_fn(void *arg, struct settings *set, const char *origin);

struct settings_follow;
/* Starts polling every poll_ms.  The watch stays the caller's and must
 * outlive the follower. */
struct settings_follow *settings_follow_start(struct event_base *base, struct api_settings_watch *watch,
                                              int poll_ms, settings_apply_fn *apply, void *arg);
/* SIGHUP: merge the settings again (config file too) now, moved or not. */
void settings_follow_reload(struct settings_follow *f);
/* Stops the thread (waits for a poll in progress); a snapshot not yet
 * applied is dropped.  Call on the loop's thread, with the loop stopped. */
void settings_follow_stop(struct settings_follow **f);

#endif
