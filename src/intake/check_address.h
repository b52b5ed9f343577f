/* check_address.h - the domain test, built in: mail to check_address is
 * answered with a report of that very message (check_report.h), and never
 * filed.
 *
 * Why in intake/: the report is the intake's own judgement of the message
 * (auth verdict, policy decision), made on the worker that judged it; the
 * answer is then an outbound message like any other, handed to the queue
 * through store/.  Mail arrives by intake, so the hook lives on its path.
 *
 * No backscatter: no answer to a null envelope sender, to an automatic
 * message (bounce, auto-reply: RFC 3834), to mail whose SPF did not pass
 * for the envelope sender's domain (then the address may be forged, and
 * the answer would go to a stranger), or past check_address_hourly
 * answers to the same envelope sender in the last hour.  The limit is
 * counted from the intake log itself (rows with reason check_answered):
 * durable, shared by every node on the store, and no new state; workers
 * judging messages of one sender at the same moment may each answer
 * once, so the limit can be passed by at most the number of workers.
 */
#ifndef PR_CHECK_ADDRESS_H
#define PR_CHECK_ADDRESS_H

#include <stdbool.h>

#include "intake/intake_private.h"

/* True if a recipient of m is the check address (route ROUTE_CHECK);
 * *only_r: every recipient is. */
bool intake_check_wanted(const struct intake_msg *m, bool *only_r);

/* Judge the message as a check and answer it if allowed.  Returns 0 with
 * why = check_answered or check_unanswered (250: the attempt's verdict),
 * -1 with a temporary why (DNS trouble: the sender retries; the answer
 * could not be queued). */
int intake_check_answer(struct intake_worker *w, struct intake_eval *ev, struct pr_why *why);

#endif
