/*
 * The in-memory byte stream between two threads: every byte arrives once
 * and in order whatever the ring's size, the end is seen after the rest,
 * and a reader that stops frees a blocked writer.
 */
#include "common.h"
#include "chan.h"

#include <pthread.h>
#include <setjmp.h>
#include <cmocka.h>

typedef struct {
	xch_chan *c;
	size_t total;
	int result;
} writer_arg;

static unsigned char byte_at(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

static void *writer(void *arg)
{
	writer_arg *w = arg;
	unsigned char chunk[1000];
	size_t at = 0, step = 1;

	while (at < w->total && w->result == 0) {
		size_t n = step % sizeof(chunk) + 1;
		if (n > w->total - at)
			n = w->total - at;
		for (size_t i = 0; i < n; i++)
			chunk[i] = byte_at(at + i);
		w->result = xch_chan_write(w->c, chunk, n);
		at += n;
		step = step * 31 + 7;
	}
	xch_chan_close_write(w->c);
	return NULL;
}

static void test_every_byte_in_order(void **state)
{
	static const size_t sizes[] = { 1, 2, 7, 4096, 1 << 20 };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(*sizes); k++) {
		writer_arg w = { NULL, sizes[k] < 8 ? 5000 : 300000, 0 };
		pthread_t th;
		const void *buf;
		size_t got = 0, n;

		assert_int_equal(xch_chan_new(&w.c, sizes[k]), 0);
		assert_int_equal(pthread_create(&th, NULL, writer, &w), 0);
		while ((n = xch_chan_pull(w.c, &buf)) > 0) {
			for (size_t i = 0; i < n; i++)
				assert_int_equal(((const unsigned char *)buf)[i], byte_at(got + i));
			got += n;
		}
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(w.result, 0);
		assert_true(got == w.total);
		assert_true(xch_chan_pull(w.c, &buf) == 0); /* the end stays the end */
		xch_chan_free(w.c);
	}
}

static void test_reader_stops(void **state)
{
	writer_arg w = { NULL, 1 << 20, 0 };
	pthread_t th;
	const void *buf;

	assert_int_equal(xch_chan_new(&w.c, 64), 0);
	assert_int_equal(pthread_create(&th, NULL, writer, &w), 0);
	assert_true(xch_chan_pull(w.c, &buf) > 0);
	/* the writer fills the ring and waits; the reader goes: the writer is told */
	xch_chan_close_read(w.c);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.result, 1);
	xch_chan_free(w.c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte_in_order),
		cmocka_unit_test(test_reader_stops),
	};
	return cmocka_run_group_tests_name("chan", tests, NULL, NULL);
}
