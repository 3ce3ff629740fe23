/*
 * A one-way byte stream between two threads: a ring buffer under a mutex.
 * The writer copies into the free part outside the lock (the reader never
 * looks there until head moves); the reader is lent the bytes in place
 * and gives them back on its next pull.
 */
#include "common.h"
#include "chan.h"

#include <pthread.h>

struct xch_chan {
	pthread_mutex_t mu;
	pthread_cond_t readable, writable;
	unsigned char *buf;
	size_t size;
	uint64_t head, tail;    /* bytes written, bytes given back by the reader */
	size_t lent;            /* at tail, with the reader */
	bool wclosed, rclosed;
};

int xch_chan_new(xch_chan **out, size_t size)
{
	xch_chan *c = calloc(1, sizeof(*c));

	XCH_ARG(out && size > 0);
	if (!c || !(c->buf = malloc(size))) {
		free(c);
		return xch_error_oom();
	}
	c->size = size;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->readable, NULL);
	pthread_cond_init(&c->writable, NULL);
	*out = c;
	return 0;
}

void xch_chan_free(xch_chan *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->readable);
	pthread_cond_destroy(&c->writable);
	free(c->buf);
	free(c);
}

int xch_chan_write(xch_chan *c, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		size_t at, n;
		pthread_mutex_lock(&c->mu);
		while (c->head - c->tail == c->size && !c->rclosed)
			pthread_cond_wait(&c->writable, &c->mu);
		if (c->rclosed) {
			pthread_mutex_unlock(&c->mu);
			return 1;
		}
		at = (size_t)(c->head % c->size);
		n = c->size - (size_t)(c->head - c->tail); /* free */
		if (n > c->size - at)
			n = c->size - at;               /* up to the ring's end */
		if (n > len)
			n = len;
		pthread_mutex_unlock(&c->mu);
		memcpy(c->buf + at, p, n);
		pthread_mutex_lock(&c->mu);
		c->head += n;
		pthread_cond_signal(&c->readable);
		pthread_mutex_unlock(&c->mu);
		p += n;
		len -= n;
	}
	return 0;
}

void xch_chan_close_write(xch_chan *c)
{
	pthread_mutex_lock(&c->mu);
	c->wclosed = true;
	pthread_cond_broadcast(&c->readable);
	pthread_mutex_unlock(&c->mu);
}

size_t xch_chan_pull(xch_chan *c, const void **buf)
{
	size_t at, n;

	pthread_mutex_lock(&c->mu);
	if (c->lent) {
		c->tail += c->lent;
		c->lent = 0;
		pthread_cond_signal(&c->writable);
	}
	while (c->head == c->tail && !c->wclosed)
		pthread_cond_wait(&c->readable, &c->mu);
	at = (size_t)(c->tail % c->size);
	n = (size_t)(c->head - c->tail);
	if (n > c->size - at)
		n = c->size - at;
	/* a quarter at most: the writer has the rest to fill meanwhile */
	if (n > (c->size + 3) / 4)
		n = (c->size + 3) / 4;
	c->lent = n;
	pthread_mutex_unlock(&c->mu);
	*buf = c->buf + at;
	return n;
}

void xch_chan_close_read(xch_chan *c)
{
	pthread_mutex_lock(&c->mu);
	c->rclosed = true;
	pthread_cond_broadcast(&c->writable);
	pthread_mutex_unlock(&c->mu);
}
