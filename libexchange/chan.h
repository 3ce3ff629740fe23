#ifndef XCH_PRIV_CHAN_H
#define XCH_PRIV_CHAN_H

#include "common.h"

/*
 * A byte stream from one thread to another, through a ring in memory: what
 * a pipe would carry, copied once instead of through the kernel twice.
 * The writer blocks while the ring is full, the reader while it is empty.
 */
typedef struct xch_chan xch_chan;

int xch_chan_new(xch_chan **out, size_t size);
void xch_chan_free(xch_chan *c);

/* Write all of data: 0, or 1 when the reader has closed its end (nothing more is taken). */
int xch_chan_write(xch_chan *c, const void *data, size_t len);
/* No more data: the reader sees the end once it has the rest. */
void xch_chan_close_write(xch_chan *c);

/*
 * The next bytes, borrowed until the next call: their count, or 0 at the
 * end (after close_write, all read).
 */
size_t xch_chan_pull(xch_chan *c, const void **buf);
/* The reader stops: a writer waiting or to come gets 1. */
void xch_chan_close_read(xch_chan *c);

#endif
