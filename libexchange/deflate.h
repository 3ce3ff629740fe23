#ifndef XCH_PRIV_DEFLATE_H
#define XCH_PRIV_DEFLATE_H

#include "common.h"

/*
 * Parallel gzip: a streaming compressor that cuts its input into chunks
 * of XCH_DEFLATE_CHUNK bytes, deflates each chunk independently on a pool
 * of worker threads and writes each as one gzip member, in order (like
 * `pigz --independent`). A concatenation of gzip members is one valid gzip
 * stream for gzip(1), tar -xz, zlib's inflate and libarchive.
 *
 * Memory is bounded: at most threads + 2 chunks are in flight, each an
 * input and an output buffer of about XCH_DEFLATE_CHUNK bytes.
 *
 * Bytes written with store_only go into stored (level 0) blocks: no
 * deflate work, 5 bytes of overhead per 64 KiB. A chunk may mix stored
 * and deflated stretches.
 */

#define XCH_DEFLATE_CHUNK (1024 * 1024)
#define XCH_DEFLATE_DEFAULT_LEVEL 6
#define XCH_DEFLATE_MAX_THREADS 32

typedef struct xch_deflate xch_deflate;

/*
 * Receives the compressed stream, in order. Called only from the thread
 * calling xch_deflate_write() or xch_deflate_finish(). Returns 0, or a
 * negative XCH_E* code (after xch_error_set) to stop the stream: that code
 * is returned by the current and every later call.
 */
typedef int (*xch_deflate_sink)(void *payload, const void *data, size_t len);

/*
 * level: 0 (store everything) to 9, or -1 for XCH_DEFLATE_DEFAULT_LEVEL.
 * threads: worker threads, or <= 0 for one per online core
 * (sysconf(_SC_NPROCESSORS_ONLN)); at most XCH_DEFLATE_MAX_THREADS.
 */
int xch_deflate_new(xch_deflate **out, int level, int threads,
	xch_deflate_sink sink, void *payload);

/* Compress len bytes (stored as they are if store_only). */
int xch_deflate_write(xch_deflate *d, const void *data, size_t len, bool store_only);

/*
 * Flush the last chunk, hand every remaining member to the sink and stop
 * the workers. An empty input gives one empty gzip member (a valid .gz).
 */
int xch_deflate_finish(xch_deflate *d);

/* Bytes given to xch_deflate_write and bytes given to the sink so far. */
uint64_t xch_deflate_bytes_in(const xch_deflate *d);
uint64_t xch_deflate_bytes_out(const xch_deflate *d);

/* The worker threads in use. */
int xch_deflate_threads(const xch_deflate *d);

/* Stop the workers (if xch_deflate_finish was not called) and free. NULL-safe. */
void xch_deflate_free(xch_deflate *d);

/*
 * A cheap guess whether data would not gain from deflate (already
 * compressed or encrypted): deflates up to the first 64 KiB of sample at
 * level 1 and says yes if that saves less than 5%. Samples under 512
 * bytes are never called incompressible.
 */
bool xch_deflate_looks_incompressible(const void *sample, size_t len);

#endif
