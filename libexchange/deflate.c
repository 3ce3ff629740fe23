/*
 * Parallel gzip: independent deflate chunks on worker threads, written
 * as consecutive gzip members in input order.
 *
 * The chunks live in a ring of slots. The caller fills one slot at a time
 * and queues it; a worker takes queued slots in order, compresses, marks
 * them done; the caller hands done slots to the sink in order, and must do
 * so before it can refill that slot. So at most `nslots` chunks exist and
 * the sink always runs on the caller's thread.
 */
#include "common.h"
#include "deflate.h"

#include <libdeflate.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_SEGMENTS 256 /* stored/deflated stretches in one chunk */

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_BUSY, SLOT_DONE };

struct segment {
	size_t len;
	bool store;
};

struct slot {
	enum slot_state state;
	unsigned char *in;
	size_t in_len;
	struct segment seg[MAX_SEGMENTS];
	int nseg;
	unsigned char *out;
	size_t out_len, out_cap;
	/* a worker's failure, carried to the caller's thread */
	int error;
	char message[160];
};

struct xch_deflate {
	int level;
	int nthreads, nstarted, nslots;
	xch_deflate_sink sink;
	void *payload;

	pthread_mutex_t lock;
	pthread_cond_t work_cv; /* a slot was queued, or stop */
	pthread_cond_t done_cv; /* a slot is done */
	pthread_t *threads;
	struct slot *slots;

	/* sequence numbers; slot of s is slots[s % nslots] */
	uint64_t next_job;  /* next queued chunk a worker takes */
	uint64_t submitted; /* chunks queued so far */
	uint64_t emitted;   /* chunks handed to the sink so far */
	bool filling;       /* slots[submitted % nslots] is being filled */
	bool stop;

	int error; /* sticky: once set, every call returns it */
	bool finished;
	uint64_t bytes_in, bytes_out;
};

struct worker {
	z_stream zs;
	bool init;
	int level; /* current level of zs */
	struct libdeflate_compressor *ld; /* a chunk deflated whole, at d->level */
};

static int slot_fail(struct slot *s, const char *what, int zret)
{
	snprintf(s->message, sizeof(s->message), "cannot compress: %s (zlib %d)", what, zret);
	s->error = XCH_ERROR;
	return -1;
}

/* Make room for at least `need` more output bytes. */
static int slot_reserve(struct slot *s, size_t need)
{
	size_t cap;
	unsigned char *p;

	if (s->out_cap - s->out_len >= need)
		return 0;
	/* grow a little at a time: deflateBound is nearly always enough */
	cap = s->out_len + need + 64 * 1024;
	if (!(p = realloc(s->out, cap))) {
		snprintf(s->message, sizeof(s->message), "out of memory");
		s->error = XCH_ERROR;
		return -1;
	}
	s->out = p;
	s->out_cap = cap;
	return 0;
}

static void set_out(struct slot *s, z_stream *zs)
{
	size_t room = s->out_cap - s->out_len;
	zs->next_out = s->out + s->out_len;
	zs->avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
}

static void take_out(struct slot *s, z_stream *zs)
{
	s->out_len = (size_t)(zs->next_out - s->out);
}

/*
 * A chunk deflated whole, one member: libdeflate, about twice zlib's speed
 * at the same level. Its header says operating system 3, as zlib's does.
 */
static int compress_whole(struct worker *wk, struct slot *s, int level)
{
	size_t n;

	if (!wk->ld && !(wk->ld = libdeflate_alloc_compressor(level))) {
		snprintf(s->message, sizeof(s->message), "out of memory");
		s->error = XCH_ERROR;
		return -1;
	}
	if (slot_reserve(s, libdeflate_gzip_compress_bound(wk->ld, s->in_len)) < 0)
		return -1;
	if (!(n = libdeflate_gzip_compress(wk->ld, s->in, s->in_len, s->out, s->out_cap)))
		return slot_fail(s, "libdeflate_gzip_compress", 0);
	s->out[9] = 3; /* OS: Unix */
	s->out_len = n;
	return 0;
}

static int compress_slot(struct worker *wk, struct slot *s, int level)
{
	z_stream *zs = &wk->zs;
	size_t off = 0;
	int ret;

	s->out_len = 0;
	s->error = 0;
	if (level > 0 && s->nseg == 1 && !s->seg[0].store)
		return compress_whole(wk, s, level);
	if (!wk->init) {
		memset(zs, 0, sizeof(*zs));
		/* 15 + 16: a gzip wrapper; deterministic header (mtime 0, no name) */
		if ((ret = deflateInit2(zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)) != Z_OK)
			return slot_fail(s, "deflateInit2", ret);
		wk->init = true;
		wk->level = level;
	} else if ((ret = deflateReset(zs)) != Z_OK) {
		return slot_fail(s, "deflateReset", ret);
	}
	if (slot_reserve(s, deflateBound(zs, s->in_len) + 64) < 0)
		return -1;

	for (int i = 0; i < s->nseg; i++) {
		int want = s->seg[i].store ? 0 : level;

		zs->next_in = s->in + off;
		zs->avail_in = 0;
		if (want != wk->level) {
			/* flushes the pending block with the old level; needs output room */
			for (int tries = 0;; tries++) {
				set_out(s, zs);
				ret = deflateParams(zs, want, Z_DEFAULT_STRATEGY);
				take_out(s, zs);
				if (ret == Z_OK)
					break;
				if (ret != Z_BUF_ERROR || tries > 16)
					return slot_fail(s, "deflateParams", ret);
				if (slot_reserve(s, s->out_cap - s->out_len + 1) < 0)
					return -1;
			}
			wk->level = want;
		}
		zs->avail_in = (uInt)s->seg[i].len;
		while (zs->avail_in > 0) {
			if (slot_reserve(s, 1) < 0)
				return -1;
			set_out(s, zs);
			ret = deflate(zs, Z_NO_FLUSH);
			take_out(s, zs);
			if (ret != Z_OK && ret != Z_BUF_ERROR)
				return slot_fail(s, "deflate", ret);
		}
		off += s->seg[i].len;
	}
	for (;;) {
		if (slot_reserve(s, 1) < 0)
			return -1;
		set_out(s, zs);
		ret = deflate(zs, Z_FINISH);
		take_out(s, zs);
		if (ret == Z_STREAM_END)
			break;
		if (ret != Z_OK && ret != Z_BUF_ERROR)
			return slot_fail(s, "deflate", ret);
	}
	return 0;
}

static void *worker_main(void *arg)
{
	xch_deflate *d = arg;
	struct worker wk = { .init = false };

	pthread_mutex_lock(&d->lock);
	for (;;) {
		struct slot *s;
		while (!d->stop && d->next_job == d->submitted)
			pthread_cond_wait(&d->work_cv, &d->lock);
		if (d->stop)
			break;
		s = &d->slots[d->next_job % (uint64_t)d->nslots];
		d->next_job++;
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&d->lock);

		compress_slot(&wk, s, d->level);

		pthread_mutex_lock(&d->lock);
		s->state = SLOT_DONE;
		pthread_cond_broadcast(&d->done_cv);
	}
	pthread_mutex_unlock(&d->lock);
	if (wk.init)
		deflateEnd(&wk.zs);
	if (wk.ld)
		libdeflate_free_compressor(wk.ld);
	return NULL;
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
#ifdef CPU_COUNT
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0 &&
	    (n < 1 || CPU_COUNT(&set) < n))
		n = CPU_COUNT(&set);
#endif
	return n < 1 ? 1 : n > XCH_DEFLATE_MAX_THREADS ? XCH_DEFLATE_MAX_THREADS : (int)n;
}

static void stop_workers(xch_deflate *d)
{
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_broadcast(&d->work_cv);
	pthread_mutex_unlock(&d->lock);
	for (int i = 0; i < d->nstarted; i++)
		pthread_join(d->threads[i], NULL);
	d->nstarted = 0;
}

int xch_deflate_new(xch_deflate **out, int level, int threads,
	xch_deflate_sink sink, void *payload)
{
	xch_deflate *d;

	XCH_ARG(out);
	XCH_ARG(sink);
	if (level < 0)
		level = XCH_DEFLATE_DEFAULT_LEVEL;
	if (level > 9)
		return xch_error_set(XCH_EINVALID, "invalid compression level %d (0 to 9)", level);
	if (threads <= 0)
		threads = online_cpus();
	if (threads > XCH_DEFLATE_MAX_THREADS)
		threads = XCH_DEFLATE_MAX_THREADS;

	if (!(d = calloc(1, sizeof(*d))))
		return xch_error_oom();
	d->level = level;
	d->nthreads = threads;
	d->nslots = threads + 2;
	d->sink = sink;
	d->payload = payload;
	if (!(d->slots = calloc((size_t)d->nslots, sizeof(*d->slots))) ||
	    !(d->threads = calloc((size_t)threads, sizeof(*d->threads)))) {
		free(d->slots);
		free(d);
		return xch_error_oom();
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->work_cv, NULL);
	pthread_cond_init(&d->done_cv, NULL);
	for (int i = 0; i < threads; i++) {
		int err = pthread_create(&d->threads[i], NULL, worker_main, d);
		if (err) {
			if (d->nstarted > 0)
				break; /* fewer workers is fine */
			xch_deflate_free(d);
			errno = err;
			return xch_error_set_os(XCH_EOS, "cannot start compression threads");
		}
		d->nstarted++;
	}
	d->nthreads = d->nstarted;
	*out = d;
	return 0;
}

/*
 * Hand the oldest queued chunk to the sink. If wait, block until it is
 * done; otherwise return 1 if it is not done yet (or nothing is queued).
 */
static int emit_oldest(xch_deflate *d, bool wait)
{
	struct slot *s;
	int error = 0;

	pthread_mutex_lock(&d->lock);
	if (d->emitted == d->submitted) {
		pthread_mutex_unlock(&d->lock);
		return 1;
	}
	s = &d->slots[d->emitted % (uint64_t)d->nslots];
	while (s->state != SLOT_DONE) {
		if (!wait) {
			pthread_mutex_unlock(&d->lock);
			return 1;
		}
		pthread_cond_wait(&d->done_cv, &d->lock);
	}
	pthread_mutex_unlock(&d->lock);

	if (s->error) {
		error = xch_error_set(s->error, "%s", s->message);
	} else if (s->out_len) {
		error = d->sink(d->payload, s->out, s->out_len);
		if (error > 0)
			error = 0;
		else if (error < 0 && xch_error_last()->code != error)
			xch_error_set(error, "cannot write compressed data");
		d->bytes_out += s->out_len;
	}

	pthread_mutex_lock(&d->lock);
	s->state = SLOT_FREE;
	d->emitted++;
	pthread_mutex_unlock(&d->lock);
	if (error < 0)
		d->error = error;
	return error;
}

static int submit(xch_deflate *d)
{
	pthread_mutex_lock(&d->lock);
	d->slots[d->submitted % (uint64_t)d->nslots].state = SLOT_QUEUED;
	d->submitted++;
	d->filling = false;
	pthread_cond_signal(&d->work_cv);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

/* Start filling the next slot, emitting the oldest chunk first if the ring is full. */
static int acquire(xch_deflate *d)
{
	struct slot *s;
	int error;

	while (d->submitted - d->emitted >= (uint64_t)d->nslots)
		if ((error = emit_oldest(d, true)) < 0)
			return error;
	s = &d->slots[d->submitted % (uint64_t)d->nslots];
	if (!s->in && !(s->in = malloc(XCH_DEFLATE_CHUNK)))
		return d->error = xch_error_oom();
	s->in_len = 0;
	s->nseg = 0;
	d->filling = true;
	return 0;
}

/* Hand every chunk that is already done to the sink, without waiting. */
static int drain_ready(xch_deflate *d)
{
	int error;
	while ((error = emit_oldest(d, false)) == 0)
		;
	return error < 0 ? error : 0;
}

int xch_deflate_write(xch_deflate *d, const void *data, size_t len, bool store_only)
{
	const unsigned char *p = data;
	int error;

	XCH_ARG(d);
	XCH_ARG(data || !len);
	if (d->error)
		return d->error;
	if (d->finished)
		return xch_error_set(XCH_EINVALID, "compressor already finished");
	if (store_only && d->level == 0)
		store_only = false; /* everything is stored anyway */

	while (len > 0) {
		struct slot *s;
		size_t n;

		if (!d->filling && (error = acquire(d)) < 0)
			return error;
		s = &d->slots[d->submitted % (uint64_t)d->nslots];
		if (s->nseg > 0 && s->seg[s->nseg - 1].store == store_only) {
			n = XCH_DEFLATE_CHUNK - s->in_len;
			if (n > len)
				n = len;
			s->seg[s->nseg - 1].len += n;
		} else if (s->nseg == MAX_SEGMENTS) {
			submit(d);
			continue;
		} else {
			n = XCH_DEFLATE_CHUNK - s->in_len;
			if (n > len)
				n = len;
			s->seg[s->nseg].len = n;
			s->seg[s->nseg].store = store_only;
			s->nseg++;
		}
		memcpy(s->in + s->in_len, p, n);
		s->in_len += n;
		p += n;
		len -= n;
		d->bytes_in += n;
		if (s->in_len == XCH_DEFLATE_CHUNK) {
			submit(d);
			if ((error = drain_ready(d)) < 0)
				return error;
		}
	}
	return 0;
}

int xch_deflate_finish(xch_deflate *d)
{
	int error;

	XCH_ARG(d);
	if (d->error)
		return d->error;
	if (d->finished)
		return 0;
	if (d->filling) {
		if (d->slots[d->submitted % (uint64_t)d->nslots].in_len > 0 || d->submitted == 0)
			submit(d);
		else
			d->filling = false;
	} else if (d->submitted == 0) {
		/* no input at all: one empty member keeps the output a valid gzip file */
		if ((error = acquire(d)) < 0)
			return error;
		submit(d);
	}
	while ((error = emit_oldest(d, true)) == 0)
		;
	if (error < 0)
		return error;
	stop_workers(d);
	d->finished = true;
	return 0;
}

uint64_t xch_deflate_bytes_in(const xch_deflate *d)
{
	return d ? d->bytes_in : 0;
}

uint64_t xch_deflate_bytes_out(const xch_deflate *d)
{
	return d ? d->bytes_out : 0;
}

int xch_deflate_threads(const xch_deflate *d)
{
	return d ? d->nthreads : 0;
}

void xch_deflate_free(xch_deflate *d)
{
	if (!d)
		return;
	stop_workers(d);
	for (int i = 0; i < d->nslots; i++) {
		free(d->slots[i].in);
		free(d->slots[i].out);
	}
	pthread_cond_destroy(&d->done_cv);
	pthread_cond_destroy(&d->work_cv);
	pthread_mutex_destroy(&d->lock);
	free(d->slots);
	free(d->threads);
	free(d);
}

bool xch_deflate_looks_incompressible(const void *sample, size_t len)
{
	enum { SAMPLE = 64 * 1024 };
	z_stream zs;
	unsigned char *out;
	size_t bound;
	bool result = false;

	if (!sample || len < 512)
		return false;
	if (len > SAMPLE)
		len = SAMPLE;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	bound = deflateBound(&zs, len);
	if ((out = malloc(bound))) {
		zs.next_in = (unsigned char *)(uintptr_t)sample;
		zs.avail_in = (uInt)len;
		zs.next_out = out;
		zs.avail_out = (uInt)bound;
		if (deflate(&zs, Z_FINISH) == Z_STREAM_END)
			result = zs.total_out * 100 >= (uLong)len * 95;
		free(out);
	}
	deflateEnd(&zs);
	return result;
}
