/*
 * Work queue: see workq.h.
 */
#include "common.h"
#include "workq.h"

#include <pthread.h>

struct xch_workq {
	size_t job_size, max_jobs, max_weight;
	xch_workq_fn run;
	xch_workq_drop drop;
	void *ctx;
	pthread_t *threads;
	size_t nthreads;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	/* under mu */
	unsigned char *jobs;    /* a ring of max_jobs */
	size_t *weights;
	uint64_t *seqs;
	size_t head, n, weight, busy, waiting;
	uint64_t next_seq;
	bool stop;
	int err;
	uint64_t err_seq;
	char *errmsg;
};

struct worker_arg {
	xch_workq *q;
	size_t index;
	unsigned char job[];    /* the job being run, job_size bytes */
};

static void *worker(void *arg)
{
	struct worker_arg *wa = arg;
	xch_workq *q = wa->q;
	size_t index = wa->index;
	unsigned char *job = wa->job;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		size_t w;
		uint64_t seq;
		bool after;
		int error;
		while (!q->n && !q->stop) {
			q->waiting++;
			pthread_cond_wait(&q->work, &q->mu);
			q->waiting--;
		}
		if (!q->n)
			break;
		memcpy(job, q->jobs + q->head * q->job_size, q->job_size);
		w = q->weights[q->head];
		seq = q->seqs[q->head];
		q->head = (q->head + 1) % q->max_jobs;
		q->n--;
		q->busy++;
		after = q->err && q->err_seq < seq;
		pthread_mutex_unlock(&q->mu);
		error = q->run(q->ctx, index, job, after);
		pthread_mutex_lock(&q->mu);
		if (error < 0 && (!q->err || seq < q->err_seq)) {
			q->err = error;
			q->err_seq = seq;
			free(q->errmsg);
			q->errmsg = strdup(xch_error_last()->message);
		}
		q->weight -= w;
		q->busy--;
		pthread_cond_broadcast(&q->done);
	}
	pthread_mutex_unlock(&q->mu);
	free(wa);
	return NULL;
}

/* The earliest error, as ours (under mu). */
static int queue_error(xch_workq *q)
{
	return xch_error_set(q->err, "%s", q->errmsg ? q->errmsg : "out of memory");
}

int xch_workq_new(xch_workq **out, size_t job_size, size_t max_jobs, size_t max_weight, size_t nthreads,
                  xch_workq_fn run, xch_workq_drop drop, void *ctx)
{
	xch_workq *q;
	int error = 0;

	XCH_ARG(out && job_size && max_jobs && nthreads && run);
	*out = NULL;
	if (!(q = calloc(1, sizeof(*q))))
		return xch_error_oom();
	q->job_size = job_size;
	q->max_jobs = max_jobs;
	q->max_weight = max_weight;
	q->run = run;
	q->drop = drop;
	q->ctx = ctx;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->done, NULL);
	if (!(q->jobs = calloc(max_jobs, job_size)) || !(q->weights = calloc(max_jobs, sizeof(*q->weights))) ||
	    !(q->seqs = calloc(max_jobs, sizeof(*q->seqs))) || !(q->threads = calloc(nthreads, sizeof(*q->threads)))) {
		xch_workq_free(q);
		return xch_error_oom();
	}
	for (size_t i = 0; i < nthreads; i++) {
		struct worker_arg *wa = malloc(sizeof(*wa) + job_size);
		if (!wa) {
			error = xch_error_oom();
			break;
		}
		wa->q = q;
		wa->index = i;
		if ((errno = pthread_create(&q->threads[i], NULL, worker, wa)) != 0) {
			free(wa);
			error = xch_error_set_os(XCH_EOS, "cannot start a thread");
			break;
		}
		q->nthreads++;
	}
	if (error < 0) {
		xch_workq_free(q);
		return error;
	}
	*out = q;
	return 0;
}

int xch_workq_push(xch_workq *q, const void *job, size_t weight)
{
	int error = 0;

	XCH_ARG(q && job);
	pthread_mutex_lock(&q->mu);
	while (!q->err && (q->n == q->max_jobs || (q->n && q->weight + weight > q->max_weight)))
		pthread_cond_wait(&q->done, &q->mu);
	if (q->err) {
		error = queue_error(q);
		pthread_mutex_unlock(&q->mu);
		if (q->drop)
			q->drop((void *)(uintptr_t)job);
		return error;
	}
	{
		size_t at = (q->head + q->n) % q->max_jobs;
		memcpy(q->jobs + at * q->job_size, job, q->job_size);
		q->weights[at] = weight;
		q->seqs[at] = q->next_seq++;
	}
	q->n++;
	q->weight += weight;
	if (q->waiting) /* a wakeup a job is dear */
		pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

int xch_workq_drain(xch_workq *q)
{
	int error = 0;

	if (!q)
		return 0;
	pthread_mutex_lock(&q->mu);
	while (q->n || q->busy)
		pthread_cond_wait(&q->done, &q->mu);
	if (q->err)
		error = queue_error(q);
	pthread_mutex_unlock(&q->mu);
	return error;
}

void xch_workq_free(xch_workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->mu);
	for (size_t i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	/* with no thread to run them */
	while (q->n) {
		if (q->drop)
			q->drop(q->jobs + q->head * q->job_size);
		q->head = (q->head + 1) % q->max_jobs;
		q->n--;
	}
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->done);
	free(q->jobs);
	free(q->weights);
	free(q->seqs);
	free(q->threads);
	free(q->errmsg);
	free(q);
}
