/*
 * A queue of jobs for worker threads: bounded by count and by weight
 * (about the memory the queued jobs hold), taken in the order pushed. The
 * error of the earliest job that failed is kept, with its message, and
 * given back by the next push and by drain.
 */
#ifndef XCH_WORKQ_H
#define XCH_WORKQ_H

#include "common.h"

typedef struct xch_workq xch_workq;

/*
 * Run one job on worker number worker (0 to nthreads - 1). after_error: a
 * job pushed before it failed; the job may skip its work, but it owns what
 * it holds either way and must free it.
 */
typedef int (*xch_workq_fn)(void *ctx, size_t worker, void *job, bool after_error);

/* Free what a job never run holds. */
typedef void (*xch_workq_drop)(void *job);

/* The threads start at once. */
int xch_workq_new(xch_workq **out, size_t job_size, size_t max_jobs, size_t max_weight, size_t nthreads,
                  xch_workq_fn run, xch_workq_drop drop, void *ctx);

/* Queue a copy of job, waiting for room; the earliest error so far, if any (job dropped then). */
int xch_workq_push(xch_workq *q, const void *job, size_t weight);

/* Wait until every job queued has run; the earliest error, if any. */
int xch_workq_drain(xch_workq *q);

/* Stop the threads (after the jobs queued have run) and free the queue. */
void xch_workq_free(xch_workq *q);

#endif
