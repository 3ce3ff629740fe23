/*
 * Pack writer: see packw.h and gitformat-pack(5).
 *
 * The pack's SHA-1 is computed as bytes go out, with the object count the
 * writer was told to expect in the header; when the count ends up
 * different (an object the store already had, a blob dropped) the header
 * is rewritten and the file read back once to hash it.
 *
 * Blobs added from memory (records) are deflated and written by a worker
 * thread while the caller goes on parsing the next ones; the queue holds
 * at most QUEUE_BYTES (2 MiB). The caller keeps the set of ids (what is written,
 * for duplicates); the worker owns the pack's bytes and the index entries.
 * A streamed blob waits until the worker is idle, and is written by the
 * caller.
 *
 * A blob in memory is deflated whole with libdeflate (level 1: four times
 * zlib's speed on records here, and smaller); a streamed one with zlib.
 */
#include "common.h"
#include "packw.h"
#include "deflate.h"
#include "json.h"
#include "util.h"
#include "workq.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/stat.h>
#include <libdeflate.h>
#include <openssl/evp.h>
#include <zlib.h>

#define OUT_SIZE (256 * 1024)
#define Z_CHUNK (64 * 1024)
#define SHA1_SIZE 20
/* streamed blobs from this size on are written loose, where seal streams them */
#define LOOSE_MIN XCH_PACKW_LOOSE_MIN
#define QUEUE_BYTES (2 * 1024 * 1024)
#define QUEUE_JOBS 4096

typedef struct {
	unsigned char id[SHA1_SIZE];
	uint32_t crc;
	uint64_t offset;
} packw_obj;

typedef struct {
	char *tmp;              /* written and synced, under a temporary name */
	git_oid oid;
} loose_obj;

typedef struct {
	unsigned char *data;
	size_t len;
	git_oid oid;
	json_t *doc;            /* or a document to store in canonical form */
	size_t ticket;          /* a document's or a canonical text's */
	bool ticketed;
	size_t weight;          /* what it counts for in the queue */
	bool check;             /* look for it in the store first */
} packw_job;

struct xch_packw {
	char *objects;          /* gitdir/objects */
	char *dir;              /* gitdir/objects/pack */
	char *tmp;              /* the pack under its temporary name */
	int fd;
	git_odb *odb;
	uint32_t expected;
	bool header, rehash, committed;
	EVP_MD_CTX *pack_md, *obj_md;
	unsigned char *out;     /* bytes not yet written */
	size_t nout;
	uint64_t off;           /* the pack's size, buffered bytes included */
	packw_obj *objs;
	size_t n, alloc;
	unsigned char (*ids)[SHA1_SIZE + 1]; /* every id accepted; [SHA1_SIZE] marks a used slot */
	size_t nids, nslots;
	loose_obj *loose;       /* large blobs, moved into place at commit */
	size_t nloose, aloose;
	bool streaming;         /* the caller's blob is open (begin without end) */
	bool pack_open;         /* an object is going into the pack: its bytes count for its CRC */
	pthread_mutex_t cmu;    /* the ids and the loose objects: adds and a large stream at once */
	/* the object being written; to lfd (ltmp) when it goes loose */
	bool open, zinit, to_loose;
	int lfd;
	char *ltmp;
	char lhdr[32];
	size_t lhdrlen;
	uint64_t size, got, start;
	uint32_t crc;
	z_stream z;
	git_oid oid;
	xch_workq *wq;          /* the worker and its queue, once started */
	struct libdeflate_compressor *ld;   /* the worker's */
	unsigned char *ldbuf;
	size_t ldcap;
	git_odb *wodb;          /* the worker's own view of the store's objects */
	xch_buf canon;          /* the worker's */
	git_oid *tickets;       /* the ids of documents added, by ticket (under cmu) */
	size_t ntickets, atickets;
};

static void abort_object(xch_packw *pw);

static int flush_out(xch_packw *pw)
{
	int error = 0;
	if (pw->nout && (error = xch_write_all(pw->fd, pw->out, pw->nout)) < 0)
		return xch_error_set_os(XCH_EOS, "cannot write '%s'", pw->tmp);
	pw->nout = 0;
	return error;
}

static int emit(xch_packw *pw, const void *data, size_t len)
{
	const unsigned char *p = data;
	int error;

	if (len && EVP_DigestUpdate(pw->pack_md, data, len) != 1)
		return xch_error_set(XCH_ERROR, "cannot hash the pack");
	if (pw->pack_open)
		pw->crc = (uint32_t)crc32(pw->crc, p, (uInt)len);
	pw->off += len;
	while (len) {
		size_t k = OUT_SIZE - pw->nout < len ? OUT_SIZE - pw->nout : len;
		memcpy(pw->out + pw->nout, p, k);
		pw->nout += k;
		p += k;
		len -= k;
		if (pw->nout == OUT_SIZE && (error = flush_out(pw)) < 0)
			return error;
	}
	return 0;
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* An object's header in a pack: type 3 (blob) and the size, 4 bits then 7 a byte. */
static size_t blob_header(unsigned char h[16], uint64_t size)
{
	size_t n = 0;
	h[n] = (unsigned char)((3 << 4) | (size & 0x0f));
	size >>= 4;
	while (size) {
		h[n++] |= 0x80;
		h[n] = (unsigned char)(size & 0x7f);
		size >>= 7;
	}
	return n + 1;
}

static void pack_header(unsigned char h[12], uint32_t count);

/* The pack's header, before its first object. */
static int ensure_header(xch_packw *pw)
{
	unsigned char ph[12];
	int error;
	if (pw->header)
		return 0;
	pack_header(ph, pw->expected);
	if ((error = emit(pw, ph, sizeof(ph))) < 0)
		return error;
	pw->header = true;
	return 0;
}

static void pack_header(unsigned char h[12], uint32_t count)
{
	memcpy(h, "PACK", 4);
	put_be32(h + 4, 2);
	put_be32(h + 8, count);
}

int xch_packw_new(xch_packw **out, const char *gitdir, git_odb *odb, uint32_t expected)
{
	xch_packw *pw;
	xch_buf path = XCH_BUF_INIT;
	int error;

	XCH_ARG(out && gitdir);
	*out = NULL;
	if (!(pw = calloc(1, sizeof(*pw))))
		return xch_error_oom();
	pw->fd = -1;
	pw->lfd = -1;
	pw->odb = odb;
	pthread_mutex_init(&pw->cmu, NULL);
	pw->expected = expected;
	if ((error = xch_buf_printf(&path, "%s/objects", gitdir)) < 0)
		goto fail;
	pw->objects = xch_buf_detach(&path);
	if ((error = xch_buf_printf(&path, "%s/pack", pw->objects)) < 0)
		goto fail;
	pw->dir = xch_buf_detach(&path);
	if ((error = xch_buf_printf(&path, "%s/tmp_pack_XXXXXX", pw->dir)) < 0)
		goto fail;
	pw->tmp = xch_buf_detach(&path);
	if (!(pw->out = malloc(OUT_SIZE)) || !(pw->pack_md = EVP_MD_CTX_new()) ||
	    !(pw->obj_md = EVP_MD_CTX_new())) {
		error = xch_error_oom();
		goto fail;
	}
	if (EVP_DigestInit_ex(pw->pack_md, EVP_sha1(), NULL) != 1) {
		error = xch_error_set(XCH_ERROR, "cannot hash the pack");
		goto fail;
	}
	if ((error = xch_mkdir_private(pw->dir, true)) < 0)
		goto fail;
	if ((pw->fd = mkostemp(pw->tmp, O_CLOEXEC)) < 0) {
		error = xch_error_set_os(XCH_EOS, "cannot create a pack in '%s'", pw->dir);
		goto fail;
	}
	*out = pw;
	return 0;
fail:
	xch_buf_dispose(&path);
	xch_packw_free(pw);
	return error;
}

size_t xch_packw_count(const xch_packw *pw)
{
	return pw ? pw->nids + pw->nloose : 0;
}

static size_t slot_of(const unsigned char *id, size_t nslots)
{
	uint64_t h;
	memcpy(&h, id, sizeof(h));
	return (size_t)(h & (nslots - 1));
}

static bool in_pack(const xch_packw *pw, const unsigned char *id)
{
	if (!pw->nslots)
		return false;
	for (size_t i = slot_of(id, pw->nslots); pw->ids[i][SHA1_SIZE]; i = (i + 1) & (pw->nslots - 1))
		if (!memcmp(pw->ids[i], id, SHA1_SIZE))
			return true;
	return false;
}

static void put_id(unsigned char (*ids)[SHA1_SIZE + 1], size_t nslots, const unsigned char *id)
{
	size_t i = slot_of(id, nslots);
	while (ids[i][SHA1_SIZE])
		i = (i + 1) & (nslots - 1);
	memcpy(ids[i], id, SHA1_SIZE);
	ids[i][SHA1_SIZE] = 1;
}

/* The id is in the pack (the caller's side). */
static int accept_id(xch_packw *pw, const unsigned char *id)
{
	if (pw->nids >= UINT32_MAX - 1)
		return xch_error_set(XCH_ETOOBIG, "too many objects for one pack");
	if ((pw->nids + 1) * 2 > pw->nslots) {
		size_t nslots = pw->nslots ? pw->nslots * 2 : 2048;
		unsigned char (*ids)[SHA1_SIZE + 1] = calloc(nslots, sizeof(*ids));
		if (!ids)
			return xch_error_oom();
		for (size_t k = 0; k < pw->nslots; k++)
			if (pw->ids[k][SHA1_SIZE])
				put_id(ids, nslots, pw->ids[k]);
		free(pw->ids);
		pw->ids = ids;
		pw->nslots = nslots;
	}
	put_id(pw->ids, pw->nslots, id);
	pw->nids++;
	return 0;
}

/* An index entry (the writer's side). */
static int remember(xch_packw *pw, const unsigned char *id, uint32_t crc, uint64_t offset)
{
	if (pw->n == pw->alloc) {
		size_t alloc = pw->alloc ? pw->alloc * 2 : 1024;
		packw_obj *objs = realloc(pw->objs, alloc * sizeof(*objs));
		if (!objs)
			return xch_error_oom();
		pw->objs = objs;
		pw->alloc = alloc;
	}
	memcpy(pw->objs[pw->n].id, id, SHA1_SIZE);
	pw->objs[pw->n].crc = crc;
	pw->objs[pw->n].offset = offset;
	pw->n++;
	return 0;
}

/* Is the object there already, written here or in the store? */
static bool have(const xch_packw *pw, const git_oid *oid)
{
	for (size_t i = 0; i < pw->nloose; i++)
		if (git_oid_equal(&pw->loose[i].oid, oid))
			return true;
	return in_pack(pw, oid->id) ||
	       (pw->odb && git_odb_exists_ext(pw->odb, oid, GIT_ODB_LOOKUP_NO_REFRESH) == 1);
}

static void drop_loose_tmp(xch_packw *pw)
{
	if (pw->lfd >= 0) {
		close(pw->lfd);
		unlink(pw->ltmp);
	}
	pw->lfd = -1;
	free(pw->ltmp);
	pw->ltmp = NULL;
	pw->to_loose = false;
}

/* Drop the bytes from start on: the pack is as it was before them. */
static int back_out(xch_packw *pw, uint64_t start)
{
	uint64_t flushed = pw->off - pw->nout;
	int error;

	pw->rehash = true;
	if (start >= flushed) {
		pw->nout = (size_t)(start - flushed);
	} else {
		pw->nout = 0;
		if (ftruncate(pw->fd, (off_t)start) < 0 || lseek(pw->fd, (off_t)start, SEEK_SET) < 0) {
			error = xch_error_set_os(XCH_EOS, "cannot truncate '%s'", pw->tmp);
			pw->off = flushed;
			return error;
		}
	}
	pw->off = start;
	return 0;
}

/* Begin a streamed blob of size bytes: loose from LOOSE_MIN on, else in the pack. */
static int begin(xch_packw *pw, uint64_t size)
{
	unsigned char h[16];
	int error, k;

	if (pw->open || pw->committed)
		return xch_error_set(XCH_EINVALID, "pack writer: an object is open already");
	/* its id hashes "blob <size>\0" and the content; a loose object deflates that header too */
	k = snprintf(pw->lhdr, sizeof(pw->lhdr), "blob %" PRIu64, size);
	pw->lhdrlen = (size_t)k + 1;
	if (EVP_DigestInit_ex(pw->obj_md, EVP_sha1(), NULL) != 1 ||
	    EVP_DigestUpdate(pw->obj_md, pw->lhdr, pw->lhdrlen) != 1)
		return xch_error_set(XCH_ERROR, "cannot hash an object");
	pw->zinit = false;
	pw->size = size;
	pw->got = 0;
	if (size >= LOOSE_MIN) {
		xch_buf path = XCH_BUF_INIT;
		if ((error = xch_buf_printf(&path, "%s/tmp_obj_XXXXXX", pw->objects)) < 0)
			return error;
		pw->ltmp = xch_buf_detach(&path);
		if ((pw->lfd = mkostemp(pw->ltmp, O_CLOEXEC)) < 0) {
			error = xch_error_set_os(XCH_EOS, "cannot create an object in '%s'", pw->objects);
			free(pw->ltmp);
			pw->ltmp = NULL;
			return error;
		}
		pw->to_loose = true;
		pw->open = true;
		return 0;
	}
	if ((error = ensure_header(pw)) < 0)
		return error;
	pw->start = pw->off;
	pw->crc = (uint32_t)crc32(0L, Z_NULL, 0);
	pw->open = true;
	pw->pack_open = true;
	if ((error = emit(pw, h, blob_header(h, size))) < 0) {
		pw->open = false;
		pw->pack_open = false;
	}
	return error;
}

static int deflate_out(xch_packw *pw, int flush)
{
	unsigned char buf[Z_CHUNK];
	int ret, error;

	do {
		pw->z.next_out = buf;
		pw->z.avail_out = sizeof(buf);
		ret = deflate(&pw->z, flush);
		if (ret == Z_STREAM_ERROR)
			return xch_error_set(XCH_EOS, "cannot deflate an object");
		size_t k = sizeof(buf) - pw->z.avail_out;
		if (pw->to_loose) {
			if (xch_write_all(pw->lfd, buf, k) < 0)
				return xch_error_set_os(XCH_EOS, "cannot write '%s'", pw->ltmp);
		} else if ((error = emit(pw, buf, k)) < 0) {
			return error;
		}
	} while (pw->z.avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
	return 0;
}

static int start_deflate(xch_packw *pw, const void *sample, size_t len)
{
	int level = Z_BEST_SPEED;

	/* a trial on the first chunk of a large blob: records are small and text */
	if (pw->size >= Z_CHUNK && len >= 512 &&
	    xch_deflate_looks_incompressible(sample, len < Z_CHUNK ? len : Z_CHUNK))
		level = Z_NO_COMPRESSION;
	memset(&pw->z, 0, sizeof(pw->z));
	if (deflateInit(&pw->z, level) != Z_OK)
		return xch_error_oom();
	pw->zinit = true;
	if (pw->to_loose) {
		/* a loose object deflates its header with its content */
		pw->z.next_in = (unsigned char *)pw->lhdr;
		pw->z.avail_in = (uInt)pw->lhdrlen;
		return deflate_out(pw, Z_NO_FLUSH);
	}
	return 0;
}

static int write_data(xch_packw *pw, const void *data, size_t len)
{
	const unsigned char *p = data;
	int error;

	if (!pw->open)
		return xch_error_set(XCH_EINVALID, "pack writer: no object is open");
	if (len > pw->size - pw->got)
		return xch_error_set(XCH_EINVALID, "pack writer: more data than the object's %" PRIu64 " bytes",
		                     pw->size);
	if (len && EVP_DigestUpdate(pw->obj_md, data, len) != 1)
		return xch_error_set(XCH_ERROR, "cannot hash an object");
	if (!pw->zinit && (error = start_deflate(pw, data, len)) < 0)
		return error;
	pw->got += len;
	while (len) {
		/* avail_in is an unsigned int */
		size_t k = len > Z_CHUNK ? Z_CHUNK : len;
		pw->z.next_in = (unsigned char *)(uintptr_t)p;
		pw->z.avail_in = (uInt)k;
		if ((error = deflate_out(pw, Z_NO_FLUSH)) < 0)
			return error;
		p += k;
		len -= k;
	}
	return 0;
}

static int end(xch_packw *pw, git_oid *oid)
{
	unsigned char id[EVP_MAX_MD_SIZE];
	unsigned int idlen;
	int error;

	if (!pw->open)
		return xch_error_set(XCH_EINVALID, "pack writer: no object is open");
	if (pw->got != pw->size)
		return xch_error_set(XCH_EINVALID, "pack writer: %" PRIu64 " of the object's %" PRIu64 " bytes",
		                     pw->got, pw->size);
	if (!pw->zinit && (error = start_deflate(pw, NULL, 0)) < 0)
		return error;
	pw->z.next_in = NULL;
	pw->z.avail_in = 0;
	if ((error = deflate_out(pw, Z_FINISH)) < 0)
		return error;
	deflateEnd(&pw->z);
	pw->zinit = false;
	pw->open = false;
	if (EVP_DigestFinal_ex(pw->obj_md, id, &idlen) != 1 || idlen != SHA1_SIZE)
		return xch_error_set(XCH_ERROR, "cannot hash an object");
	memcpy(pw->oid.id, id, SHA1_SIZE);
	git_oid_cpy(oid, &pw->oid);
	pw->pack_open = false;
	if (pw->to_loose) {
		loose_obj *l;
		bool had;
		pthread_mutex_lock(&pw->cmu);
		had = have(pw, &pw->oid);
		pthread_mutex_unlock(&pw->cmu);
		if (had) {
			drop_loose_tmp(pw);
			return 0;
		}
		if (fchmod(pw->lfd, 0444) < 0 || fsync(pw->lfd) < 0) {
			error = xch_error_set_os(XCH_EOS, "cannot write '%s'", pw->ltmp);
			drop_loose_tmp(pw);
			return error;
		}
		if (pw->nloose == pw->aloose) {
			size_t a = pw->aloose ? pw->aloose * 2 : 8;
			pthread_mutex_lock(&pw->cmu);
			l = realloc(pw->loose, a * sizeof(*l));
			if (l) {
				pw->loose = l;
				pw->aloose = a;
			}
			pthread_mutex_unlock(&pw->cmu);
			if (!l) {
				drop_loose_tmp(pw);
				return xch_error_oom();
			}
		}
		close(pw->lfd);
		pw->lfd = -1;
		pthread_mutex_lock(&pw->cmu);
		l = &pw->loose[pw->nloose];
		l->tmp = pw->ltmp;
		git_oid_cpy(&l->oid, &pw->oid);
		pw->nloose++;
		pthread_mutex_unlock(&pw->cmu);
		pw->ltmp = NULL;
		pw->to_loose = false;
		return 0;
	}
	pthread_mutex_lock(&pw->cmu);
	if (have(pw, &pw->oid)) {
		pthread_mutex_unlock(&pw->cmu);
		return back_out(pw, pw->start);
	}
	error = accept_id(pw, pw->oid.id);
	pthread_mutex_unlock(&pw->cmu);
	if (error < 0 || (error = remember(pw, pw->oid.id, pw->crc, pw->start)) < 0)
		back_out(pw, pw->start);
	return error;
}

/* A blob held in memory, deflated in one go (the worker). */
static int write_whole(xch_packw *pw, const packw_job *j)
{
	size_t bound, n;
	int error;

	if (!pw->ld && !(pw->ld = libdeflate_alloc_compressor(1)))
		return xch_error_oom();
	bound = libdeflate_zlib_compress_bound(pw->ld, j->len);
	if (bound > pw->ldcap) {
		unsigned char *b = realloc(pw->ldbuf, bound);
		if (!b)
			return xch_error_oom();
		pw->ldbuf = b;
		pw->ldcap = bound;
	}
	if (!(n = libdeflate_zlib_compress(pw->ld, j->data, j->len, pw->ldbuf, pw->ldcap)))
		return xch_error_set(XCH_ERROR, "cannot deflate an object");
	if ((error = ensure_header(pw)) < 0)
		return error;
	{
		unsigned char h[16];
		uint64_t start = pw->off;
		size_t hn = blob_header(h, j->len);
		uint32_t crc;
		crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), h, (uInt)hn);
		crc = (uint32_t)crc32(crc, pw->ldbuf, (uInt)n);
		if ((error = emit(pw, h, hn)) < 0 || (error = emit(pw, pw->ldbuf, n)) < 0 ||
		    (error = remember(pw, j->oid.id, crc, start)) < 0)
			back_out(pw, start);
	}
	return error;
}

/*
 * A document in canonical form, or a text already so (the worker): its
 * id, and the blob unless the store has it already. Checked with the
 * worker's own odb: libgit2 objects are not shared between threads.
 */
static int write_doc(xch_packw *pw, packw_job *j)
{
	packw_job w = *j;
	int error;

	if (j->doc) {
		if ((error = xch_json_canonical(&pw->canon, j->doc)) < 0)
			return error;
		w.data = (unsigned char *)pw->canon.ptr;
		w.len = pw->canon.size;
	}
	if (git_odb_hash(&w.oid, w.data, w.len, GIT_OBJECT_BLOB) < 0)
		return xch_error_from_git(-1, "cannot hash an object");
	j->oid = w.oid;
	if (j->check && !pw->wodb) {
		xch_buf path = XCH_BUF_INIT;
		if ((error = xch_buf_printf(&path, "%s", pw->objects)) == 0 &&
		    (error = git_odb_open(&pw->wodb, path.ptr)) < 0)
			error = xch_error_from_git(error, "cannot open '%s'", path.ptr);
		xch_buf_dispose(&path);
		if (error < 0)
			return error;
	}
	if (j->check && git_odb_exists_ext(pw->wodb, &j->oid, GIT_ODB_LOOKUP_NO_REFRESH) == 1) {
		pw->rehash = true; /* one object fewer than expected */
		return 0;
	}
	return write_whole(pw, &w);
}

/* A job, on the worker (after_error: an earlier one failed: only free it). */
static int run_job(void *ctx, size_t worker, void *job, bool after_error)
{
	xch_packw *pw = ctx;
	packw_job *j = job;
	int error = 0;

	(void)worker;
	if (!after_error) {
		error = j->ticketed ? write_doc(pw, j) : write_whole(pw, j);
		if (j->ticketed && !error) {
			pthread_mutex_lock(&pw->cmu);
			git_oid_cpy(&pw->tickets[j->ticket], &j->oid);
			pthread_mutex_unlock(&pw->cmu);
		}
	}
	json_decref(j->doc);
	free(j->data);
	return error;
}

static void drop_job(void *job)
{
	packw_job *j = job;
	json_decref(j->doc);
	free(j->data);
}

/* Wait until the worker has written everything queued: the pack is the caller's again. */
static int drain(xch_packw *pw)
{
	return xch_workq_drain(pw->wq);
}

static void stop_worker(xch_packw *pw)
{
	xch_workq_free(pw->wq);
	pw->wq = NULL;
}

int xch_packw_begin(xch_packw *pw, uint64_t size)
{
	int error;
	XCH_ARG(pw);
	if (pw->streaming)
		return xch_error_set(XCH_EINVALID, "pack writer: an object is open already");
	/* a blob for the pack waits for the worker; a loose one goes its own way */
	if ((size < LOOSE_MIN && (error = drain(pw)) < 0) || (error = begin(pw, size)) < 0)
		return error;
	pw->streaming = true;
	return 0;
}

int xch_packw_write(xch_packw *pw, const void *data, size_t len)
{
	XCH_ARG(pw && (data || !len));
	if (!pw->streaming)
		return xch_error_set(XCH_EINVALID, "pack writer: no object is open");
	return write_data(pw, data, len);
}

int xch_packw_end(xch_packw *pw, git_oid *oid)
{
	int error;
	XCH_ARG(pw && oid);
	if (!pw->streaming)
		return xch_error_set(XCH_EINVALID, "pack writer: no object is open");
	if ((error = end(pw, oid)) < 0)
		abort_object(pw);
	pw->streaming = false;
	return error;
}

static void abort_object(xch_packw *pw)
{
	if (!pw->open)
		return;
	if (pw->zinit)
		deflateEnd(&pw->z);
	pw->zinit = false;
	pw->open = false;
	pw->pack_open = false;
	if (pw->to_loose)
		drop_loose_tmp(pw);
	else
		back_out(pw, pw->start);
}

void xch_packw_abort(xch_packw *pw)
{
	if (!pw || !pw->streaming)
		return;
	pw->streaming = false;
	abort_object(pw);
}

/* Start the worker once (adds may come from several threads: under cmu). */
static int start_worker(xch_packw *pw)
{
	int error = 0;
	pthread_mutex_lock(&pw->cmu);
	if (!pw->wq)
		error = xch_workq_new(&pw->wq, sizeof(packw_job), QUEUE_JOBS, QUEUE_BYTES, 1, run_job, drop_job, pw);
	pthread_mutex_unlock(&pw->cmu);
	return error;
}

/* Queue j (weighing len bytes) for the worker; it owns j's data and doc from here. */
static int enqueue(xch_packw *pw, packw_job *j, size_t len)
{
	j->weight = len;
	return xch_workq_push(pw->wq, j, len);
}

int xch_packw_add(xch_packw *pw, git_oid *oid, const void *data, size_t len)
{
	int error;

	XCH_ARG(pw && oid && (data || !len));
	if (git_odb_hash(oid, data, len, GIT_OBJECT_BLOB) < 0)
		return xch_error_from_git(-1, "cannot hash an object");
	if (pw->committed)
		return xch_error_set(XCH_EINVALID, "pack writer: committed already");
	pthread_mutex_lock(&pw->cmu);
	if (have(pw, oid)) {
		pthread_mutex_unlock(&pw->cmu);
		return 0;
	}
	error = accept_id(pw, oid->id);
	pthread_mutex_unlock(&pw->cmu);
	if (error < 0)
		return error;
	if ((error = start_worker(pw)) < 0)
		return error;
	{
		packw_job j = { malloc(len ? len : 1), len, *oid, NULL, 0, false, 0, false };
		if (!j.data)
			return xch_error_oom();
		memcpy(j.data, data, len);
		return enqueue(pw, &j, len);
	}
}

/* Queue j, a document or a text, with a ticket for its id (it is freed on failure). */
static int add_ticketed(xch_packw *pw, packw_job *j, size_t weight, size_t *ticket)
{
	int error;

	if (pw->committed)
		error = xch_error_set(XCH_EINVALID, "pack writer: committed already");
	else
		error = start_worker(pw);
	if (error < 0) {
		drop_job(j);
		return error;
	}
	pthread_mutex_lock(&pw->cmu);
	if (pw->ntickets == pw->atickets) {
		size_t a = pw->atickets ? pw->atickets * 2 : 1024;
		git_oid *t = realloc(pw->tickets, a * sizeof(*t));
		if (!t) {
			pthread_mutex_unlock(&pw->cmu);
			drop_job(j);
			return xch_error_oom();
		}
		pw->tickets = t;
		pw->atickets = a;
	}
	j->ticket = *ticket = pw->ntickets++;
	pthread_mutex_unlock(&pw->cmu);
	return enqueue(pw, j, weight);
}

int xch_packw_add_json(xch_packw *pw, json_t *doc, size_t weight, bool check, size_t *ticket)
{
	packw_job j = { NULL, 0, { { 0 } }, doc, 0, true, 0, check };

	if (!pw || !doc || !ticket) {
		json_decref(doc);
		XCH_ARG(pw && doc && ticket);
	}
	return add_ticketed(pw, &j, weight, ticket);
}

int xch_packw_add_text(xch_packw *pw, char *text, size_t len, bool check, size_t *ticket)
{
	packw_job j = { (unsigned char *)text, len, { { 0 } }, NULL, 0, true, 0, check };

	if (!pw || !(text || !len) || !ticket) {
		free(text);
		XCH_ARG(pw && (text || !len) && ticket);
	}
	return add_ticketed(pw, &j, len, ticket);
}

int xch_packw_ticket_oid(xch_packw *pw, size_t ticket, git_oid *oid)
{
	int error;
	XCH_ARG(pw && oid);
	if ((error = drain(pw)) < 0)
		return error;
	if (ticket >= pw->ntickets)
		return xch_error_set(XCH_EINVALID, "pack writer: no ticket %zu", ticket);
	git_oid_cpy(oid, &pw->tickets[ticket]);
	return 0;
}

/* The pack's SHA-1 from the file itself, after its header changed. */
static int rehash(xch_packw *pw)
{
	unsigned char h[12], *buf = pw->out;
	uint64_t at = sizeof(h);

	pack_header(h, (uint32_t)pw->n);
	if (pwrite(pw->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return xch_error_set_os(XCH_EOS, "cannot write '%s'", pw->tmp);
	if (EVP_DigestInit_ex(pw->pack_md, EVP_sha1(), NULL) != 1 || EVP_DigestUpdate(pw->pack_md, h, sizeof(h)) != 1)
		return xch_error_set(XCH_ERROR, "cannot hash the pack");
	while (at < pw->off) {
		size_t want = pw->off - at > OUT_SIZE ? OUT_SIZE : (size_t)(pw->off - at);
		ssize_t got = pread(pw->fd, buf, want, (off_t)at);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return xch_error_set_os(XCH_EOS, "cannot read '%s'", pw->tmp);
		if (EVP_DigestUpdate(pw->pack_md, buf, (size_t)got) != 1)
			return xch_error_set(XCH_ERROR, "cannot hash the pack");
		at += (uint64_t)got;
	}
	return 0;
}

static int cmp_obj(const void *a, const void *b)
{
	return memcmp(((const packw_obj *)a)->id, ((const packw_obj *)b)->id, SHA1_SIZE);
}

static void put(xch_buf *b, int *error, const void *data, size_t len)
{
	if (*error == 0 && xch_buf_put(b, data, len) < 0)
		*error = xch_error_oom();
}

/* The version 2 index of the pack, into fd; sha is the pack's. */
static int write_index(xch_packw *pw, int fd, const char *path, const unsigned char *sha)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	xch_buf b = XCH_BUF_INIT;
	unsigned char be[8], digest[EVP_MAX_MD_SIZE];
	unsigned int dlen;
	uint32_t fan[256] = { 0 }, large = 0;
	size_t i;
	int error = 0;

	if (!md)
		return xch_error_oom();
	qsort(pw->objs, pw->n, sizeof(*pw->objs), cmp_obj);
	for (i = 0; i < pw->n; i++)
		fan[pw->objs[i].id[0]]++;
	for (i = 1; i < 256; i++)
		fan[i] += fan[i - 1];
	put(&b, &error, "\377tOc", 4);
	put_be32(be, 2);
	put(&b, &error, be, 4);
	for (i = 0; i < 256; i++) {
		put_be32(be, fan[i]);
		put(&b, &error, be, 4);
	}
	for (i = 0; i < pw->n; i++)
		put(&b, &error, pw->objs[i].id, SHA1_SIZE);
	for (i = 0; i < pw->n; i++) {
		put_be32(be, pw->objs[i].crc);
		put(&b, &error, be, 4);
	}
	for (i = 0; i < pw->n; i++) {
		uint64_t o = pw->objs[i].offset;
		put_be32(be, o < 0x80000000u ? (uint32_t)o : 0x80000000u | large++);
		put(&b, &error, be, 4);
	}
	for (i = 0; i < pw->n; i++) {
		uint64_t o = pw->objs[i].offset;
		if (o < 0x80000000u)
			continue;
		put_be32(be, (uint32_t)(o >> 32));
		put_be32(be + 4, (uint32_t)o);
		put(&b, &error, be, 8);
	}
	put(&b, &error, sha, SHA1_SIZE);
	if (error < 0)
		goto done;
	if (EVP_DigestInit_ex(md, EVP_sha1(), NULL) != 1 || EVP_DigestUpdate(md, b.ptr, b.size) != 1 ||
	    EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != SHA1_SIZE) {
		error = xch_error_set(XCH_ERROR, "cannot hash the pack index");
		goto done;
	}
	put(&b, &error, digest, SHA1_SIZE);
	if (error == 0 && (xch_write_all(fd, b.ptr, b.size) < 0 || fsync(fd) < 0))
		error = xch_error_set_os(XCH_EOS, "cannot write '%s'", path);
done:
	EVP_MD_CTX_free(md);
	xch_buf_dispose(&b);
	return error;
}

/* Move the loose objects into place (their directories synced), before the pack. */
static int commit_loose(xch_packw *pw)
{
	xch_buf path = XCH_BUF_INIT;
	int error = 0;

	for (size_t i = 0; i < pw->nloose && !error; i++) {
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), &pw->loose[i].oid);
		xch_buf_clear(&path);
		if ((error = xch_buf_printf(&path, "%s/%.2s", pw->objects, hex)) < 0 ||
		    (error = xch_mkdir_private(path.ptr, true)) < 0 ||
		    (error = xch_buf_printf(&path, "/%s", hex + 2)) < 0)
			break;
		if (rename(pw->loose[i].tmp, path.ptr) < 0) {
			error = xch_error_set_os(XCH_EOS, "cannot rename '%s'", pw->loose[i].tmp);
			break;
		}
		free(pw->loose[i].tmp);
		pw->loose[i].tmp = NULL;
		path.size -= GIT_OID_HEXSZ - 1;
		path.ptr[path.size] = '\0';
		error = xch_fsync_dir(path.ptr);
	}
	xch_buf_dispose(&path);
	return error;
}

int xch_packw_commit(xch_packw *pw)
{
	unsigned char sha[EVP_MAX_MD_SIZE];
	unsigned int shalen;
	char hex[2 * SHA1_SIZE + 1];
	xch_buf idx_tmp = XCH_BUF_INIT, pack = XCH_BUF_INIT, idx = XCH_BUF_INIT;
	int error, ifd = -1;

	XCH_ARG(pw);
	if (pw->streaming)
		return xch_error_set(XCH_EINVALID, "pack writer: an object is still open");
	if (pw->committed)
		return 0;
	error = drain(pw);
	stop_worker(pw);
	if (error < 0 || (error = commit_loose(pw)) < 0)
		return error;
	if (pw->n == 0) {
		/* nothing new: no pack */
		pw->committed = true;
		unlink(pw->tmp);
		return 0;
	}
	if ((error = flush_out(pw)) < 0 ||
	    ((pw->rehash || pw->n != pw->expected) && (error = rehash(pw)) < 0))
		goto done;
	if (EVP_DigestFinal_ex(pw->pack_md, sha, &shalen) != 1 || shalen != SHA1_SIZE) {
		error = xch_error_set(XCH_ERROR, "cannot hash the pack");
		goto done;
	}
	if (xch_write_all(pw->fd, sha, SHA1_SIZE) < 0 || fchmod(pw->fd, 0444) < 0 || fsync(pw->fd) < 0) {
		error = xch_error_set_os(XCH_EOS, "cannot write '%s'", pw->tmp);
		goto done;
	}
	for (int i = 0; i < SHA1_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha[i]);
	if ((error = xch_buf_printf(&idx_tmp, "%s/tmp_idx_XXXXXX", pw->dir)) < 0 ||
	    (error = xch_buf_printf(&pack, "%s/pack-%s.pack", pw->dir, hex)) < 0 ||
	    (error = xch_buf_printf(&idx, "%s/pack-%s.idx", pw->dir, hex)) < 0)
		goto done;
	if ((ifd = mkostemp(idx_tmp.ptr, O_CLOEXEC)) < 0) {
		error = xch_error_set_os(XCH_EOS, "cannot create a pack index in '%s'", pw->dir);
		goto done;
	}
	if ((error = write_index(pw, ifd, idx_tmp.ptr, sha)) < 0)
		goto done;
	if (fchmod(ifd, 0444) < 0) {
		error = xch_error_set_os(XCH_EOS, "cannot write '%s'", idx_tmp.ptr);
		goto done;
	}
	/* the pack first: an index names only a pack that is there */
	if (rename(pw->tmp, pack.ptr) < 0) {
		error = xch_error_set_os(XCH_EOS, "cannot rename '%s'", pw->tmp);
		goto done;
	}
	pw->committed = true;
	if (rename(idx_tmp.ptr, idx.ptr) < 0) {
		error = xch_error_set_os(XCH_EOS, "cannot rename '%s'", idx_tmp.ptr);
		goto done;
	}
	error = xch_fsync_dir(pw->dir);
done:
	if (ifd >= 0) {
		close(ifd);
		if (error < 0)
			unlink(idx_tmp.ptr);
	}
	xch_buf_dispose(&idx_tmp);
	xch_buf_dispose(&pack);
	xch_buf_dispose(&idx);
	return error;
}

void xch_packw_free(xch_packw *pw)
{
	if (!pw)
		return;
	stop_worker(pw);
	pthread_mutex_destroy(&pw->cmu);
	if (pw->ld)
		libdeflate_free_compressor(pw->ld);
	git_odb_free(pw->wodb);
	xch_buf_dispose(&pw->canon);
	free(pw->tickets);
	free(pw->ldbuf);
	if (pw->zinit)
		deflateEnd(&pw->z);
	drop_loose_tmp(pw);
	for (size_t i = 0; i < pw->nloose; i++) {
		if (pw->loose[i].tmp)
			unlink(pw->loose[i].tmp);
		free(pw->loose[i].tmp);
	}
	free(pw->loose);
	free(pw->objects);
	if (pw->fd >= 0) {
		close(pw->fd);
		if (!pw->committed)
			unlink(pw->tmp);
	}
	EVP_MD_CTX_free(pw->pack_md);
	EVP_MD_CTX_free(pw->obj_md);
	free(pw->out);
	free(pw->objs);
	free(pw->ids);
	free(pw->dir);
	free(pw->tmp);
	free(pw);
}
