/*
 * The work queue: every job runs once, in order on one thread; the
 * earliest failure is what push and drain give back; jobs after it are
 * told so; nothing is leaked.
 */
#include "common.h"
#include "workq.h"

#include <pthread.h>
#include <setjmp.h>
#include <unistd.h>
#include <cmocka.h>

typedef struct {
	int n;
	int *payload;           /* owned by the job */
} job;

typedef struct {
	pthread_mutex_t mu;
	int ran, skipped;
	long sum;
	int order[64];
	int fail_at[4];         /* job numbers that fail, with code -100 - n */
	useconds_t slow_at;     /* job 1 sleeps this long */
} state;

static int run(void *ctx, size_t worker, void *jp, bool after_error)
{
	state *st = ctx;
	job *j = jp;
	int error = 0;

	(void)worker;
	if (j->n == 1 && st->slow_at)
		usleep(st->slow_at);
	pthread_mutex_lock(&st->mu);
	if (after_error) {
		st->skipped++;
	} else {
		if (st->ran < 64)
			st->order[st->ran] = j->n;
		st->ran++;
		st->sum += *j->payload;
		for (size_t i = 0; i < 4; i++)
			if (st->fail_at[i] && st->fail_at[i] == j->n)
				error = xch_error_set(-100 - j->n, "job %d failed", j->n);
	}
	pthread_mutex_unlock(&st->mu);
	free(j->payload);
	return error;
}

static void drop(void *jp)
{
	job *j = jp;
	free(j->payload);
}

static job make(int n)
{
	job j = { n, malloc(sizeof(int)) };
	assert_non_null(j.payload);
	*j.payload = n;
	return j;
}

static void test_runs_every_job_in_order(void **unused)
{
	state st = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, { 0 }, { 0 }, 0 };
	xch_workq *q = NULL;
	job j;

	(void)unused;
	/* room for 4 jobs, weight 10: pushes wait for the worker */
	assert_int_equal(xch_workq_new(&q, sizeof(job), 4, 10, 1, run, drop, &st), 0);
	for (int n = 1; n <= 50; n++) {
		j = make(n);
		assert_int_equal(xch_workq_push(q, &j, 3), 0);
	}
	assert_int_equal(xch_workq_drain(q), 0);
	assert_int_equal(st.ran, 50);
	assert_int_equal(st.sum, 50 * 51 / 2);
	for (int n = 1; n <= 50; n++)
		assert_int_equal(st.order[n - 1], n);
	/* drained, the queue takes more */
	j = make(51);
	assert_int_equal(xch_workq_push(q, &j, 1), 0);
	xch_workq_free(q);
	assert_int_equal(st.ran, 51);
}

static void test_first_failure_wins_and_later_jobs_are_told(void **unused)
{
	state st = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, { 0 }, { 3, 5, 0, 0 }, 0 };
	xch_workq *q = NULL;
	job j;
	int pushed = 0;

	(void)unused;
	assert_int_equal(xch_workq_new(&q, sizeof(job), 64, 1 << 20, 1, run, drop, &st), 0);
	for (int n = 1; n <= 10; n++) {
		int error;
		j = make(n);
		if ((error = xch_workq_push(q, &j, 1)) == 0)
			pushed++;
		else
			assert_int_equal(error, -103); /* once job 3 has failed */
	}
	assert_true(pushed >= 3);
	assert_int_equal(xch_workq_drain(q), -103);
	assert_string_equal(xch_error_last()->message, "job 3 failed");
	/* job 5 and the others after 3 were not run, only freed */
	assert_int_equal(st.ran, 3);
	assert_int_equal(st.skipped + st.ran, pushed);
	/* a push after the failure gives it back, and the job is freed */
	j = make(99);
	assert_int_equal(xch_workq_push(q, &j, 1), -103);
	xch_workq_free(q);
}

static void test_two_threads_earliest_failure(void **unused)
{
	/* job 1 is slow and fails; job 2 fails at once on the other thread: job 1's error wins */
	state st = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, { 0 }, { 1, 2, 0, 0 }, 200000 };
	xch_workq *q = NULL;
	job j;

	(void)unused;
	assert_int_equal(xch_workq_new(&q, sizeof(job), 8, 1 << 20, 2, run, drop, &st), 0);
	j = make(1);
	assert_int_equal(xch_workq_push(q, &j, 1), 0);
	j = make(2);
	assert_int_equal(xch_workq_push(q, &j, 1), 0);
	assert_int_equal(xch_workq_drain(q), -101);
	assert_string_equal(xch_error_last()->message, "job 1 failed");
	xch_workq_free(q);
}

static void test_free_runs_or_drops_everything(void **unused)
{
	state st = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, { 0 }, { 0 }, 0 };
	xch_workq *q = NULL;
	job j;

	(void)unused;
	assert_int_equal(xch_workq_new(&q, sizeof(job), 16, 1 << 20, 2, run, drop, &st), 0);
	for (int n = 1; n <= 16; n++) {
		j = make(n);
		assert_int_equal(xch_workq_push(q, &j, 1), 0);
	}
	xch_workq_free(q); /* no drain: the queued jobs still run (free only what never did) */
	assert_int_equal(st.ran, 16);
	assert_int_equal(st.sum, 16 * 17 / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_every_job_in_order),
		cmocka_unit_test(test_first_failure_wins_and_later_jobs_are_told),
		cmocka_unit_test(test_two_threads_earliest_failure),
		cmocka_unit_test(test_free_runs_or_drops_everything),
	};
	return cmocka_run_group_tests_name("workq", tests, NULL, NULL);
}
