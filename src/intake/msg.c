/* msg.c - a fresh intake message: its own arena, empty envelope.  Kept
 * apart from intake.c so protocol code and tests can build messages
 * without pulling in the pipeline's threads. */
#include <time.h>

#include "core/arena.h"
#include "intake/intake.h"

struct intake_msg *
intake_msg_new(enum intake_source src)
{
	struct arena *a = arena_new();
	struct intake_msg *m = arena_alloc(a, sizeof(*m));
	m->arena = a;
	m->source = src;
	m->received_at = time(NULL);
	m->peer_ip = m->peer_name = m->helo = m->mail_from = "";
	return m;
}
