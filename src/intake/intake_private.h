/* intake_private.h - shared between the files of src/intake only. */
#ifndef PR_INTAKE_PRIVATE_H
#define PR_INTAKE_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>

#include "auth/auth.h"
#include "intake/intake.h"
#include "mime/mime.h"
#include "store/store.h"

struct arena;
struct settings;
struct spool;

/* One intake-log row for an attempt that was not accepted, in one
 * malloc'd block (strings included) so that it can outlive the message
 * and wait in the committer's bounded queue. */
struct intake_row {
	struct intake_row *next;
	size_t bytes;                /* the block's size, for the queue's budget */
	struct store_log_entry e;
};

/* rowq.c: rows without a job, bounded by PR_INTAKE_MAX_QUEUED_ROWS and
 * _BYTES.  Not locked itself: every call runs under the intake's lock. */
struct intake_rowq {
	struct intake_row *head, **tail;
	size_t len, bytes;
	unsigned long long dropped, dropped_unwarned;
};
void intake_rowq_init(struct intake_rowq *q);
/* Append r; false when full (r freed, counted, warned about once). */
bool intake_rowq_push(struct intake_rowq *q, struct intake_row *r, const char *why);
/* The first max rows, in order, as a list. */
struct intake_row *intake_rowq_take(struct intake_rowq *q, size_t max);
/* Put a list taken earlier back at the head as far as the bounds allow;
 * keep false drops all of it (counted). */
void intake_rowq_requeue(struct intake_rowq *q, struct intake_row *list, bool keep,
                         const char *why);
/* Say once how many were dropped, when the queue has drained. */
void intake_rowq_note_drained(struct intake_rowq *q);
void intake_rowq_free_list(struct intake_row *list);

/* One submitted message on its way through the pipeline.  Either sm (to
 * store) or row (its refusal) is set when the worker hands it on: the
 * committer writes both kinds in one group commit. */
struct intake_job {
	struct intake_job *next;
	/* Every job in flight, from submit to finish (intake_oldest_in_flight). */
	struct intake_job *live_prev, *live_next;
	time_t submitted;
	struct intake_msg *m;
	intake_done_fn done;
	void *arg;
	struct store_msg *sm;        /* set when the message is to be committed */
	struct intake_row *row;      /* set when it was refused */
	struct intake_result res;
	bool large;                  /* workq.c: waits in the large queue */
	double queued_ms;            /* workq.c: when it joined the work queue */
	/* When a worker took it and when it joined the commit queue (the
	 * stage times of intake_stats). */
	double worker_ms, ready_ms;
	double checks_cpu_ms;        /* process.c: CPU of its SPF/DKIM/DMARC checks */
};

/* CLOCK_MONOTONIC in milliseconds (workq.c). */
double intake_now_ms(void);

/* A first-in first-out list of jobs (workq.c). */
struct intake_jobq {
	struct intake_job *head, *tail;
	size_t len;
};
void intake_jobq_push(struct intake_jobq *q, struct intake_job *j);
struct intake_job *intake_jobq_pop(struct intake_jobq *q);

/* workq.c: the workers' queue, small messages first, one worker kept for
 * them while large ones are held.  Under the intake's lock. */
struct intake_workq {
	struct intake_jobq small, large;
	int large_busy, nworkers;
};
void intake_workq_init(struct intake_workq *q, int nworkers);
void intake_workq_push(struct intake_workq *q, struct intake_job *j);
bool intake_workq_empty(const struct intake_workq *q);
/* The job a free worker takes now, or NULL if none may be taken yet
 * (stopping: any job, the reserve no longer matters). */
struct intake_job *intake_workq_pop(struct intake_workq *q, bool stopping);
/* A worker finished j: true if a large job may now be taken by another. */
bool intake_workq_done(struct intake_workq *q, const struct intake_job *j);

/* What a worker thread owns: its own store connection and DNS channel. */
struct intake_worker {
	struct intake *in;
	struct store *st;
	struct auth *au;
};

/* Everything the pipeline learns about one message, step by step. */
struct intake_eval {
	struct intake_msg *m;
	const struct settings *set;
	struct store *st;
	struct mime_info mi;
	bool unreadable;
	struct pr_why parse_why;
	struct auth_verdict av;
	struct spool *stored;        /* the bytes to store: m->raw without forged A-R */
	const char *sender;          /* From address (lowercase), "" if none */
	int64_t thread_id;
	struct store_placement *places;
	size_t nplaces, capplaces;
	const char **new_stakeholders;
	size_t nnew_stakeholders;
	struct pr_why note;          /* accepted-with-remark (unreadable, auto reply) */
	struct store_outbound *bounce;   /* to our bounce address: the message it is about */
};

/* process.c: run every step; either fills job->sm (to commit) or sets
 * job->res.why to a refusal and job->row to its intake-log row. */
void intake_process(struct intake_worker *w, struct intake_job *job);
/* The committer, before its first group: index again the newest messages
 * (at most `newest` ids back) whose search entries a crash lost
 * (search_recover.c). */
struct store;
void intake_search_recover(struct store *st, size_t newest);

/* policy.c: threading, who may send, and where the message is filed. */
int intake_policy(struct intake_eval *ev, struct pr_why *why);
/* Unreadable mail: the same sender and recipient rules, judged on the
 * envelope sender; on success the one place is Fallback. */
int intake_policy_envelope(struct intake_eval *ev, struct pr_why *why);
/* -1 (from_multiple, from_invalid) unless From names exactly one author. */
int intake_check_from(const struct intake_eval *ev, struct pr_why *why);
/* A bounce (null sender, DSN) or an auto-reply: stored as such, never answered. */
bool intake_is_automatic(const struct intake_eval *ev);
void intake_add_place(struct intake_eval *ev, enum route_kind kind, const char *target,
                      const char *via);

/* bounce.c: mail about what we sent.  find: an envelope recipient that
 * is our bounce address sets ev->bounce; thread: places the message in
 * the thread of that outbound message; record: a failure report marks it
 * failed; sent_copy: 1 (why = PR_E_SENT_COPY) for collected mail that is
 * our own sent message.  All -1 with why on a store error. */
int intake_bounce_find(struct intake_eval *ev, struct pr_why *why);
int intake_bounce_thread(struct intake_eval *ev, bool *joined, struct pr_why *why);
int intake_bounce_record(struct intake_eval *ev, struct pr_why *why);
int intake_sent_copy(struct intake_eval *ev, struct pr_why *why);

/* auto_mail.c: automatic mail intake sends, through the outbound queue
 * with a null envelope sender.  msgid: "<prefix>.<random hex>@<host>".
 * queue: bytes (a whole message from from_addr) to one recipient, in one
 * transaction of st.  fallback_forward: unreadable message sm, committed
 * in Fallback, forwarded as an attachment (raw, byte for byte) to
 * fallback_address.  0, or -1 with why. */
const char *intake_auto_msgid(struct arena *a, const char *prefix, const char *host);
int intake_auto_queue(struct store *st, const struct settings *set, struct arena *a,
                      const char *msgid, const char *from_addr, const char *to, const char *bytes,
                      size_t len, struct pr_why *why);
int intake_fallback_forward(struct store *st, const struct settings *set, struct arena *a,
                            const struct store_msg *sm, struct spool *raw, struct pr_why *why);

/* received.c: our trace header and loop detection. */
const char *intake_received_header(struct arena *a, const struct intake_msg *m,
                                   const char *hostname, const char *queue_id);
int intake_count_own_received(const struct mime_info *mi, const char *hostname);
const char *intake_queue_id(struct arena *a);

/* The intake-log row of an attempt that was not accepted ("rejected", or
 * "deferred" for a temporary why); writes its daemon log line too.  Free
 * with free(). */
struct intake_row *intake_row_new(const struct intake_msg *m, uint64_t size,
                                  const struct pr_why *why, const char *msgid_hdr);

/* intake.c: a one-shot hand-off for the blocking forms (submit_wait,
 * judge_rcpt): the answering thread fills the caller's result, then
 * signals; wait() returns once signalled and releases the waiter. */
struct intake_waiter {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool done;
};
void intake_waiter_init(struct intake_waiter *w);
void intake_waiter_signal(struct intake_waiter *w);
void intake_waiter_wait(struct intake_waiter *w);

/* intake_rcpt.c: the recipient lookup threads. */
struct intake_lookup;
struct intake_lookup *intake_lookup_new(const char *store_uri, struct pr_why *why);
/* Answers every queued lookup first, then stops the threads. */
void intake_lookup_free(struct intake_lookup **lk);
void intake_lookup_submit(struct intake_lookup *lk, struct arena *a, const char *address,
                          struct intake_rcpt *r, intake_rcpt_fn done, void *arg);

#endif
