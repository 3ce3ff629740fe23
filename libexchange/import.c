/*
 * Import: a verified bundle becomes a commit on the partner's own line
 * (refs/xch/partners/NAME) and is merged into our records in the same
 * commit of the main branch, whose second parent is that line.
 *
 * The merge base of a record is what we and that partner last shared:
 * shared/<partner>/<type>/<xx>/<id>.json on the main branch, updated on
 * every import from them and every seal to them. Conflicts keep base, ours
 * and theirs in conflicts/<xx>/<id>.json; the record keeps our version
 * until the conflict is resolved. Delivery state per channel is in
 * state/in/<partner>/<channel>.json. The main branch moves last, so a crash
 * leaves the store as before (the partner's line may hold the bundle
 * already; importing again reuses that commit).
 */
#include "common.h"

#include <unistd.h>

#include "store.h"
#include "record.h"
#include "schema.h"
#include "bundle.h"
#include "merge.h"
#include "sha256.h"
#include "json.h"
#include "packw.h"
#include "util.h"
#include "workq.h"
#include "exchange/partner.h"

#define KEEP_BUNDLE_IDS 64

typedef struct {
	char *id;
	const char *type; /* one of xch_record_types() */
	git_oid oid;      /* theirs, read again at merge time: records are not all kept in memory */
	size_t ticket;    /* its oid from the pack writer, once written */
	char *atts;       /* SHA-256s of the attachments it names, "sha\n..." or NULL */
	bool unchanged;   /* the sender did not change it since we last shared it */
	bool has_base;
	unsigned char base[32]; /* the version the sender's copy is based on (SHA-256) */
} in_record;

typedef struct {
	char sha256[XCH_SHA256_HEXSIZE + 1];
	git_oid oid;
} in_attachment;

#define QUEUE_BYTES (2 * 1024 * 1024)
#define QUEUE_JOBS 1024

/*
 * Record threads: one. A second one was measured on two cores: no faster
 * (the reader, the record thread and the pack writer's worker already
 * share them), steadier with one.
 */
#define RECORD_THREADS 1

struct rec_job {
	char *path;
	xch_buf data;
	size_t slot;            /* its place in recs: the stream's order */
	/* what its manifest entry says */
	bool unchanged, has_base;
	unsigned char base[32];
};



typedef struct import_sink {
	xch_store *s;
	xch_schema_set *schemas;
	json_t *manifest;       /* a reference; its "entries" is empty */
	const xch_manifest_entries *entries; /* the verifier's, while it reads */
	/* the entry being read, and its line in the manifest (entries come in its order) */
	char path[300];
	size_t cursor;
	const xch_manifest_entry *entry;
	xch_buf data;           /* a record's bytes */
	xch_packw *pack;        /* records and attachments go into one pack */
	git_odb *odb;
	bool streaming;         /* an attachment's blob is being written */
	/*
	 * Records are parsed, checked and stored by record threads while the
	 * verifier reads on: a queue of whole records (QUEUE_BYTES at most),
	 * each with its place in recs (allocated for the manifest's entries);
	 * the error of the earliest record is kept. A small attachment waits
	 * until the queue is empty.
	 */
	xch_workq *rq;
	/* each record thread's own: the validator links and matches in its set */
	xch_schema_set *tschemas[RECORD_THREADS];
	size_t nthreads;
	/* what was read */
	in_record *recs;
	size_t nrecs, arecs;
	in_attachment *atts;
	size_t natts, aatts;
} import_sink;

static int take_record(import_sink *is, xch_schema_set *schemas, size_t slot, const char *path,
                       xch_buf *bytes, bool unchanged, const unsigned char *base);

/* A record, on a record thread (after_error: an earlier one failed: only free it). */
static int run_record(void *ctx, size_t worker, void *job, bool after_error)
{
	import_sink *is = ctx;
	struct rec_job *j = job;
	int error = 0;

	if (!after_error)
		error = take_record(is, is->tschemas[worker], j->slot, j->path, &j->data, j->unchanged,
		                    j->has_base ? j->base : NULL);
	free(j->path);
	xch_buf_dispose(&j->data);
	return error;
}

static void drop_record(void *job)
{
	struct rec_job *j = job;
	free(j->path);
	xch_buf_dispose(&j->data);
}

static int start_records(import_sink *is)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = cpus >= RECORD_THREADS ? RECORD_THREADS : 1;
	int error;

	for (; is->nthreads < want; is->nthreads++)
		if ((error = xch_schema_set_builtin(&is->tschemas[is->nthreads])) < 0)
			return error;
	return xch_workq_new(&is->rq, sizeof(struct rec_job), QUEUE_JOBS, QUEUE_BYTES, is->nthreads, run_record,
	                     drop_record, is);
}

/* Hand the record just read to the record threads. */
static int queue_record(import_sink *is)
{
	struct rec_job j = { strdup(is->path), is->data, is->nrecs, false, false, { 0 } };
	int error;

	if (is->entry) {
		j.unchanged = is->entry->unchanged;
		j.has_base = is->entry->has_base;
		memcpy(j.base, is->entry->base, sizeof(j.base));
	}
	is->data = (xch_buf)XCH_BUF_INIT;
	if (!j.path)
		error = xch_error_oom();
	else if (is->nrecs == is->arecs)
		error = xch_error_set(XCH_ETAMPERED, "'%s': more records than the manifest lists", is->path);
	else if (!is->rq && (error = start_records(is)) < 0)
		;
	else {
		is->nrecs++;
		return xch_workq_push(is->rq, &j, j.data.size);
	}
	drop_record(&j);
	return error;
}

/* Wait until every queued record is taken; the earliest one's error, if any. */
static int drain_records(import_sink *is)
{
	return xch_workq_drain(is->rq);
}

static void stop_records(import_sink *is)
{
	xch_workq_free(is->rq);
	is->rq = NULL;
	for (size_t i = 0; i < is->nthreads; i++) {
		xch_schema_set_free(is->tschemas[i]);
		is->tschemas[i] = NULL;
	}
	is->nthreads = 0;
}

static int sink_manifest(void *payload, const json_t *manifest, const xch_manifest_entries *entries)
{
	import_sink *is = payload;
	size_t n = entries->n;
	int error;

	is->entries = entries;
	/* not copied: the verifier keeps it, unchanged, until the import is done with it */
	is->manifest = json_incref((json_t *)(uintptr_t)manifest);
	/* a place for each record the manifest may list: the record threads fill them */
	if (!(is->recs = calloc(n ? n : 1, sizeof(*is->recs))))
		return xch_error_oom();
	is->arecs = n;
	if ((error = git_repository_odb(&is->odb, is->s->repo)) < 0)
		return xch_error_from_git(error, "cannot open the store's objects");
	return xch_packw_new(&is->pack, is->s->gitdir, is->odb, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n);
}

static int sink_begin(void *payload, const char *path, uint64_t size)
{
	import_sink *is = payload;
	int error;

	snprintf(is->path, sizeof(is->path), "%s", path);
	xch_buf_clear(&is->data);
	if (!is->pack)
		return xch_error_set(XCH_EMALFORMED, "'%s' comes before the manifest", path);
	while (is->cursor < is->entries->n && strcmp(is->entries->v[is->cursor].path, path))
		is->cursor++;
	is->entry = is->cursor < is->entries->n ? &is->entries->v[is->cursor] : NULL;
	if (!strncmp(path, "attachments/", 12)) {
		/* a small attachment goes into the pack, which is the record thread's until it is done */
		if ((size < XCH_PACKW_LOOSE_MIN && (error = drain_records(is)) < 0) ||
		    (error = xch_packw_begin(is->pack, size)) < 0)
			return error;
		is->streaming = true;
		return 0;
	}
	if (size > XCH_JSON_MAX_SIZE)
		return xch_error_set(XCH_ETOOBIG, "'%s' is larger than a record may be", path);
	return 0;
}

static int sink_write(void *payload, const void *data, size_t len)
{
	import_sink *is = payload;
	int error;
	if (is->streaming) {
		if ((error = xch_packw_write(is->pack, data, len)) < 0)
			return xch_error_prefix("cannot store '%s'", is->path);
		return 0;
	}
	return xch_buf_put(&is->data, data, len);
}

static int grow(void **arr, size_t *alloc, size_t n, size_t elem)
{
	void *p;
	if (n < *alloc)
		return 0;
	*alloc = *alloc ? *alloc * 2 : 64;
	if (!(p = realloc(*arr, *alloc * elem)))
		return xch_error_oom();
	*arr = p;
	return 0;
}

static int sink_end(void *payload, bool ok)
{
	import_sink *is = payload;
	int error;

	if (is->streaming) {
		git_oid oid;
		is->streaming = false;
		if (!ok) {
			xch_packw_abort(is->pack);
			return 0;
		}
		if ((error = xch_packw_end(is->pack, &oid)) < 0)
			return xch_error_prefix("cannot store '%s'", is->path);
		if ((error = grow((void **)&is->atts, &is->aatts, is->natts, sizeof(*is->atts))) < 0)
			return error;
		snprintf(is->atts[is->natts].sha256, sizeof(is->atts[0].sha256), "%s", is->path + 12);
		git_oid_cpy(&is->atts[is->natts].oid, &oid);
		is->natts++;
		return 0;
	}
	if (!ok)
		return 0;
	return queue_record(is);
}

/*
 * A record: parsed strictly and checked against its schema before anything
 * else. Its bytes are taken when they are its canonical text already.
 */
static int take_record(import_sink *is, xch_schema_set *schemas, size_t slot, const char *path,
                       xch_buf *bytes, bool unchanged, const unsigned char *base)
{
	xch_violations *v = NULL;
	xch_record *r = NULL;
	in_record *ir;
	char expect[300];
	bool canonical = false;
	int error;

	if ((error = xch_record_parse_untexted(&r, &canonical, bytes->ptr ? bytes->ptr : "", bytes->size,
	                                       path)) < 0) {
		char why[512];
		if (error != XCH_ESCHEMA)
			return error;
		/* not from the message buffer into itself */
		snprintf(why, sizeof(why), "%s", xch_error_last()->message);
		return xch_error_set(XCH_EMALFORMED, "%s", why);
	}
	snprintf(expect, sizeof(expect), "records/%s.json", xch_record_id(r));
	if (strcmp(expect, path)) {
		error = xch_error_set(XCH_ETAMPERED, "'%s' holds record '%s'", path, xch_record_id(r));
		goto done;
	}
	if ((error = xch_record_validate(&v, schemas, r)) < 0) {
		if (error == XCH_ESCHEMA)
			error = xch_error_set(XCH_ESCHEMA, "record '%s' from the bundle is invalid: %s: %s",
			                      xch_record_id(r), *xch_violations_instance(v, 0) ?
			                      xch_violations_instance(v, 0) : "/", xch_violations_message(v, 0));
		goto done;
	}
	ir = &is->recs[slot];
	ir->unchanged = unchanged;
	if ((ir->has_base = base != NULL))
		memcpy(ir->base, base, sizeof(ir->base));
	ir->id = strdup(xch_record_id(r));
	for (const char *const *t = xch_record_types(); *t; t++)
		if (!strcmp(*t, xch_record_type(r)))
			ir->type = *t;
	for (size_t k = 0; k < xch_record_attachment_count(r); k++) {
		const char *sha, *name;
		xch_buf list = XCH_BUF_INIT;
		if (xch_record_attachment(r, k, &name, NULL, NULL, &sha) < 0)
			continue;
		if (ir->atts)
			xch_buf_puts(&list, ir->atts);
		xch_buf_printf(&list, "%s %s\n", sha, name);
		free(ir->atts);
		ir->atts = xch_buf_detach(&list);
	}
	if (!ir->id || !ir->type) {
		error = xch_error_oom();
		goto done;
	}
	/*
	 * Its canonical text (the bytes that came, from any xch) is hashed and
	 * stored on the pack writer's thread, or made there first; parsed, a
	 * record takes about eight times its text's memory. Only a version
	 * the sender says it left unchanged is likely to be ours already: the
	 * others are not looked for (a copy in the pack is harmless, a lookup
	 * each is not free).
	 */
	if (canonical) {
		size_t len = bytes->size;
		error = xch_packw_add_text(is->pack, xch_buf_detach(bytes), len, ir->unchanged, &ir->ticket);
	} else {
		error = xch_packw_add_json(is->pack, json_incref((json_t *)(uintptr_t)xch_record_json(r)),
		                           8 * bytes->size, ir->unchanged, &ir->ticket);
	}
	if (error < 0)
		error = xch_error_prefix("cannot store record '%s'", ir->id);
done:
	xch_violations_free(v);
	xch_record_free(r);
	return error;
}

/* What was read of each record: done with once they are merged. */
static void drop_recs(import_sink *is)
{
	for (size_t i = 0; i < is->nrecs; i++) {
		free(is->recs[i].id);
		free(is->recs[i].atts);
	}
	free(is->recs);
	is->recs = NULL;
	is->nrecs = is->arecs = 0;
}

static void sink_dispose(import_sink *is)
{
	stop_records(is);
	xch_packw_free(is->pack);
	git_odb_free(is->odb);
	drop_recs(is);
	free(is->atts);
	json_decref(is->manifest);
	xch_buf_dispose(&is->data);
}

/* Read and parse the JSON blob at path in the change's view; *out NULL if absent. */
static int read_json(json_t **out, xch_change *ch, xch_store *s, const char *path)
{
	git_blob *blob = NULL;
	git_oid oid;
	int error;

	*out = NULL;
	if (!xch_change_lookup(ch, path, &oid))
		return 0;
	if ((error = git_blob_lookup(&blob, s->repo, &oid)) < 0)
		return xch_error_from_git(error, "cannot read '%s'", path);
	error = xch_json_parse(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), path);
	git_blob_free(blob);
	return error;
}

static int put_json(xch_change *ch, const char *path, const json_t *v)
{
	xch_buf text = XCH_BUF_INIT;
	int error = xch_json_canonical(&text, v);
	if (!error)
		error = xch_change_put_file(ch, path, text.ptr, text.size);
	xch_buf_dispose(&text);
	return error;
}

static int shared_path(xch_buf *out, const char *partner, const char *type, const char *id)
{
	xch_buf rp = XCH_BUF_INIT;
	int error = xch_store_record_path(&rp, type, id);
	if (!error) {
		xch_buf_clear(out);
		error = xch_buf_printf(out, "shared/%s/%s", partner, rp.ptr + strlen("records/"));
	}
	xch_buf_dispose(&rp);
	return error;
}

static int conflict_path(xch_buf *out, const char *id)
{
	xch_buf tp = XCH_BUF_INIT;
	int error = xch_store_tombstone_path(&tp, id);
	if (!error) {
		xch_buf_clear(out);
		error = xch_buf_printf(out, "conflicts/%s", tp.ptr + strlen("tombstones/"));
	}
	xch_buf_dispose(&tp);
	return error;
}

/* Our live version of id (any type), its type, or NULL. */
static int read_ours(json_t **out, const char **type_out, xch_change *ch, xch_store *s, const char *id)
{
	const char *const *types = xch_record_types();
	xch_buf path = XCH_BUF_INIT;
	int error = 0;

	*out = NULL;
	for (size_t i = 0; types[i] && !*out && !error; i++) {
		if ((error = xch_store_record_path(&path, types[i], id)) == 0 &&
		    (error = read_json(out, ch, s, path.ptr)) == 0 && *out && type_out)
			*type_out = types[i];
	}
	xch_buf_dispose(&path);
	return error;
}

typedef struct {
	xch_store *s;
	xch_change *ch;
	const char *partner;
	const char *bundle_id;
	json_int_t sequence;
	xch_import_result *res;
} merge_ctx;

static int write_conflict(merge_ctx *m, const char *id, const char *type, const json_t *base,
                          const json_t *ours, const json_t *theirs, const xch_merge_conflicts *conf)
{
	xch_buf path = XCH_BUF_INIT;
	json_t *c, *ptrs = json_array();
	int error;

	for (size_t i = 0; conf && i < conf->n; i++)
		json_array_append_new(ptrs, json_string(conf->pointers[i]));
	if (!conf || conf->n == 0)
		json_array_append_new(ptrs, json_string(""));
	c = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:O?, s:O?, s:O?}", "id", id, "type", type,
		"partner", m->partner, "bundle", m->bundle_id, "sequence", m->sequence, "pointers", ptrs,
		"base", base, "ours", ours, "theirs", theirs);
	if (!c)
		return xch_error_oom();
	if ((error = conflict_path(&path, id)) == 0)
		error = put_json(m->ch, path.ptr, c);
	json_decref(c);
	xch_buf_dispose(&path);
	m->res->conflicts++;
	return error;
}

/* Our record id becomes v, or the stored blob oid when v is NULL. */
static int set_record(merge_ctx *m, const char *type, const char *id, const json_t *v, const git_oid *oid)
{
	xch_buf path = XCH_BUF_INIT;
	int error;
	if ((error = xch_store_record_path(&path, type, id)) == 0 &&
	    (error = v ? put_json(m->ch, path.ptr, v) : xch_change_put_oid(m->ch, path.ptr, oid)) == 0 &&
	    (error = xch_store_tombstone_path(&path, id)) == 0)
		error = xch_change_put_file(m->ch, path.ptr, NULL, 0);
	xch_buf_dispose(&path);
	return error;
}

/* Their version, as stored when it arrived. */
static int read_theirs(json_t **out, xch_store *s, const char *id, const git_oid *oid)
{
	git_blob *blob = NULL;
	int error;

	if ((error = git_blob_lookup(&blob, s->repo, oid)) < 0)
		return xch_error_from_git(error, "cannot read record '%s'", id);
	error = xch_json_parse(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), id);
	git_blob_free(blob);
	return error;
}

static bool blob_is(xch_change *ch, xch_store *s, const char *path, const char *hex);

/* The merge base: the version the partner's copy is based on (see merge_one). */
static int sent_base(json_t **out, merge_ctx *m, const char *type, const char *id, const char *base_sha,
                     const char *shared)
{
	xch_buf sent = XCH_BUF_INIT;
	int error;

	if (base_sha && *base_sha && (error = shared_path(&sent, m->partner, type, id)) == 0) {
		/* sent/<partner>/... beside shared/<partner>/... */
		xch_buf alt = XCH_BUF_INIT;
		xch_buf_printf(&alt, "sent/%s", sent.ptr + strlen("shared/"));
		if (blob_is(m->ch, m->s, alt.ptr, base_sha)) {
			error = read_json(out, m->ch, m->s, alt.ptr);
			xch_buf_dispose(&alt);
			xch_buf_dispose(&sent);
			return error;
		}
		xch_buf_dispose(&alt);
	}
	xch_buf_dispose(&sent);
	return read_json(out, m->ch, m->s, shared);
}

/* Is the blob at path (in the change's view) the version with SHA-256 hex? */
static bool blob_is(xch_change *ch, xch_store *s, const char *path, const char *hex)
{
	git_blob *blob = NULL;
	char got[XCH_SHA256_HEXSIZE + 1];
	git_oid oid;
	bool same = false;

	if (xch_change_lookup(ch, path, &oid) && git_blob_lookup(&blob, s->repo, &oid) == 0 &&
	    xch_sha256_hex(got, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob)) == 0)
		same = !strcmp(got, hex);
	git_blob_free(blob);
	return same;
}

/*
 * Merge theirs into ours. The base is what we last shared with this
 * partner: normally the version it last sent us; but when its entry says
 * its copy is based on the version we last sent it (base_sha), that one.
 */
static int merge_one(merge_ctx *m, const char *id, const char *type, const git_oid *theirs_oid,
                     const json_t *tombstone, const char *base_sha)
{
	xch_schema_set *set;
	xch_buf spath = XCH_BUF_INIT, cpath = XCH_BUF_INIT, path = XCH_BUF_INIT;
	xch_merge_conflicts conf = { NULL, 0 };
	json_t *theirs = NULL, *ours = NULL, *base = NULL, *merged = NULL, *existing = NULL;
	const char *our_type = NULL;
	git_oid oid;
	int error;

	if ((error = read_ours(&ours, &our_type, m->ch, m->s, id)) < 0 ||
	    (error = shared_path(&spath, m->partner, type, id)) < 0 ||
	    (error = sent_base(&base, m, type, id, base_sha, spath.ptr)) < 0 ||
	    (error = conflict_path(&cpath, id)) < 0 ||
	    (error = read_json(&existing, m->ch, m->s, cpath.ptr)) < 0)
		goto done;
	if (theirs_oid && !ours && !base && !existing) {
		/* new to us and to what we share: theirs as checked on arrival, stored as it came */
		error = set_record(m, type, id, NULL, theirs_oid);
		m->res->added++;
		goto shared;
	}
	if (theirs_oid && (error = read_theirs(&theirs, m->s, id, theirs_oid)) < 0)
		goto done;
	if (our_type && strcmp(our_type, type)) {
		error = write_conflict(m, id, type, base, ours, theirs, NULL);
		goto shared;
	}
	if (existing) {
		/* still in conflict: keep both sides, with their newest version */
		json_t *b = json_object_get(existing, "base"), *o = json_object_get(existing, "ours"),
		       *t = json_object_get(existing, "theirs");
		if (xch_json_same(json_is_null(t) ? NULL : t, theirs)) {
			m->res->unchanged++; /* the same version again (not yet acknowledged): nothing new */
			goto shared;
		}
		error = write_conflict(m, id, type, json_is_null(b) ? NULL : b, json_is_null(o) ? NULL : o,
		                       theirs, NULL);
		goto shared;
	}
	if ((error = xch_merge_json(&merged, base, ours, theirs, &conf)) < 0)
		goto done;
	if (conf.n == 0 && merged && !xch_json_same(merged, theirs)) {
		/* a clean merge of two valid records must still be a valid record (theirs was checked) */
		xch_record *r = NULL;
		xch_violations *v = NULL;
		bool valid;
		if ((error = xch_store_schemas(&set, m->s)) < 0)
			goto done;
		valid = xch_record_from_json(&r, json_incref(merged), id) == 0 &&
		        xch_record_validate(&v, set, r) == 0;
		xch_violations_free(v);
		xch_record_free(r);
		xch_error_clear();
		if (!valid) {
			error = write_conflict(m, id, type, base, ours, theirs, NULL);
			goto shared;
		}
	}
	if (conf.n > 0) {
		error = write_conflict(m, id, type, base, ours, theirs, &conf);
		goto shared;
	}
	if (xch_json_same(merged, ours)) {
		m->res->unchanged++;
	} else if (!merged) {
		/* deleted by them, unchanged by us */
		if ((error = xch_store_record_path(&path, type, id)) == 0 &&
		    (error = xch_change_put_file(m->ch, path.ptr, NULL, 0)) == 0 &&
		    (error = xch_store_tombstone_path(&path, id)) == 0)
			error = put_json(m->ch, path.ptr, tombstone);
		m->res->deleted++;
	} else {
		bool as_theirs = theirs_oid && xch_json_same(merged, theirs);
		error = set_record(m, type, id, as_theirs ? NULL : merged, theirs_oid);
		if (ours)
			m->res->changed++;
		else
			m->res->added++;
	}
shared:
	if (error < 0)
		goto done;
	/*
	 * What we now share with this partner is what they sent; it supersedes
	 * what we last sent them (their next versions descend from theirs), so
	 * a sent/ entry that remains is always newer than the shared/ one.
	 */
	if (theirs_oid) {
		git_oid_cpy(&oid, theirs_oid);
		error = xch_change_put_oid(m->ch, spath.ptr, &oid);
	} else {
		error = xch_change_put_file(m->ch, spath.ptr, NULL, 0);
	}
	if (!error) {
		xch_buf sent = XCH_BUF_INIT;
		xch_buf_printf(&sent, "sent/%s", spath.ptr + strlen("shared/"));
		error = xch_change_put_file(m->ch, sent.ptr, NULL, 0);
		xch_buf_dispose(&sent);
	}
done:
	xch_merge_conflicts_clear(&conf);
	json_decref(theirs);
	json_decref(ours);
	json_decref(base);
	json_decref(merged);
	json_decref(existing);
	xch_buf_dispose(&spath);
	xch_buf_dispose(&cpath);
	xch_buf_dispose(&path);
	return error;
}

/* Commit the bundle on the partner's own line; reuse it if it is there already. */
static int partner_line(git_oid *out, xch_store *s, const char *partner, const import_sink *is,
                        const json_t *tombstones, const char *bundle_id, json_int_t seq, const char *channel)
{
	git_reference *ref = NULL;
	git_commit *parent = NULL;
	git_tree *ptree = NULL, *tree = NULL;
	git_treebuilder *empty = NULL;
	git_tree_update *ups = NULL;
	git_signature *sig = NULL;
	xch_buf refname = XCH_BUF_INIT, msg = XCH_BUF_INIT, text = XCH_BUF_INIT;
	char **paths = NULL;
	size_t nups = 0, cap, i;
	git_oid tree_oid, empty_oid;
	json_t *t;
	int error;

	xch_buf_printf(&refname, "refs/xch/partners/%s", partner);
	if (git_reference_lookup(&ref, s->repo, refname.ptr) == 0) {
		if ((error = git_commit_lookup(&parent, s->repo, git_reference_target(ref))) < 0 ||
		    (error = git_commit_tree(&ptree, parent)) < 0) {
			error = xch_error_from_git(error, "cannot read %s", refname.ptr);
			goto done;
		}
		if (strstr(git_commit_message(parent), bundle_id)) {
			git_oid_cpy(out, git_commit_id(parent)); /* an earlier, interrupted import */
			goto done;
		}
	} else {
		if ((error = git_treebuilder_new(&empty, s->repo, NULL)) < 0 ||
		    (error = git_treebuilder_write(&empty_oid, empty)) < 0 ||
		    (error = git_tree_lookup(&ptree, s->repo, &empty_oid)) < 0) {
			error = xch_error_from_git(error, "cannot make an empty tree");
			goto done;
		}
	}
	cap = is->nrecs + is->natts + 2 * json_array_size(tombstones) + 1;
	if (!(ups = calloc(cap, sizeof(*ups))) || !(paths = calloc(cap, sizeof(*paths)))) {
		error = xch_error_oom();
		goto done;
	}
	for (i = 0; i < is->nrecs; i++) {
		xch_buf p = XCH_BUF_INIT;
		xch_store_record_path(&p, is->recs[i].type, is->recs[i].id);
		paths[nups] = xch_buf_detach(&p);
		ups[nups].action = GIT_TREE_UPDATE_UPSERT;
		ups[nups].filemode = GIT_FILEMODE_BLOB;
		git_oid_cpy(&ups[nups].id, &is->recs[i].oid);
		ups[nups].path = paths[nups];
		nups++;
	}
	for (i = 0; i < is->natts; i++) {
		xch_buf p = XCH_BUF_INIT;
		xch_store_attachment_path(&p, is->atts[i].sha256);
		paths[nups] = xch_buf_detach(&p);
		ups[nups].action = GIT_TREE_UPDATE_UPSERT;
		ups[nups].filemode = GIT_FILEMODE_BLOB;
		git_oid_cpy(&ups[nups].id, &is->atts[i].oid);
		ups[nups].path = paths[nups];
		nups++;
	}
	json_array_foreach(tombstones, i, t) {
		xch_buf p = XCH_BUF_INIT;
		git_tree_entry *e = NULL;
		git_oid toid;
		xch_store_record_path(&p, xch_json_str(t, "type"), xch_json_str(t, "id"));
		if (git_tree_entry_bypath(&e, ptree, p.ptr) == 0) {
			paths[nups] = xch_buf_detach(&p);
			ups[nups].action = GIT_TREE_UPDATE_REMOVE;
			ups[nups].path = paths[nups];
			nups++;
			git_tree_entry_free(e);
		}
		xch_buf_dispose(&p);
		if ((error = xch_json_canonical(&text, t)) < 0 ||
		    (error = git_blob_create_from_buffer(&toid, s->repo, text.ptr, text.size)) < 0) {
			error = error < 0 && error != XCH_ERROR ? xch_error_from_git(error, "cannot store a tombstone") : error;
			goto done;
		}
		xch_store_tombstone_path(&p, xch_json_str(t, "id"));
		paths[nups] = xch_buf_detach(&p);
		ups[nups].action = GIT_TREE_UPDATE_UPSERT;
		ups[nups].filemode = GIT_FILEMODE_BLOB;
		git_oid_cpy(&ups[nups].id, &toid);
		ups[nups].path = paths[nups];
		nups++;
	}
	if ((error = git_tree_create_updated(&tree_oid, s->repo, ptree, nups, ups)) < 0 ||
	    (error = git_tree_lookup(&tree, s->repo, &tree_oid)) < 0) {
		error = xch_error_from_git(error, "cannot write %s's line", partner);
		goto done;
	}
	if ((error = xch_store_signature(&sig, s)) < 0)
		goto done;
	xch_buf_printf(&msg, "bundle %s from %s, sequence %lld\n\nBundle: %s\nChannel: %s\nSequence: %lld\n",
	               bundle_id, partner, (long long)seq, bundle_id, channel, (long long)seq);
	{
		const git_commit *parents[1] = { parent };
		git_reference *updated = NULL;
		/* the line's objects are durable before its ref names them; then batching resumes */
		if ((error = xch_store_fsync_batch_end(s)) < 0)
			goto done;
		if ((error = git_commit_create(out, s->repo, NULL, sig, sig, NULL, msg.ptr, tree,
		                               parent ? 1 : 0, parents)) < 0 ||
		    (error = git_reference_create_matching(&updated, s->repo, refname.ptr, out, 1,
		                                           parent ? git_commit_id(parent) : NULL, "xch import")) < 0)
			error = xch_error_from_git(error, "cannot update %s", refname.ptr);
		xch_store_fsync_batch_begin();
		git_reference_free(updated);
	}
done:
	for (i = 0; paths && i < nups; i++)
		free(paths[i]);
	free(paths);
	free(ups);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(ptree);
	git_treebuilder_free(empty);
	git_commit_free(parent);
	git_reference_free(ref);
	xch_buf_dispose(&refname);
	xch_buf_dispose(&msg);
	xch_buf_dispose(&text);
	return error;
}

/* Every attachment an incoming record names is in the bundle or in our store already. */
static int check_attachments(xch_change *ch, const import_sink *is)
{
	xch_buf path = XCH_BUF_INIT;
	int error = 0;

	for (size_t i = 0; i < is->nrecs && !error; i++) {
		char *line = is->recs[i].atts, *next;
		for (; line && *line && !error; line = next) {
			char sha[XCH_SHA256_HEXSIZE + 1];
			const char *name = line + XCH_SHA256_HEXSIZE + 1;
			bool found = false;
			git_oid oid;
			next = strchr(line, '\n');
			next = next ? next + 1 : line + strlen(line);
			snprintf(sha, sizeof(sha), "%.64s", line);
			for (size_t j = 0; j < is->natts && !found; j++)
				found = !strcmp(is->atts[j].sha256, sha);
			if (!found && xch_store_attachment_path(&path, sha) == 0)
				found = xch_change_lookup(ch, path.ptr, &oid);
			if (!found) {
				error = xch_error_set(XCH_ETAMPERED, "record '%s' names attachment '%.*s', which is neither "
				                      "in the bundle nor in our store", is->recs[i].id,
				                      (int)(next - name - 1), name);
				break;
			}
		}
	}
	xch_buf_dispose(&path);
	return error;
}

/* A channel's state after delivering bundle_id as sequence seq: remembered for replays. */
static void record_delivery(json_t *state, json_int_t seq, const char *bundle_id)
{
	json_t *ids = json_object_get(state, "bundles");
	json_object_set_new(state, "sequence", json_integer(seq));
	json_array_append_new(ids, json_string(bundle_id));
	while (json_array_size(ids) > KEEP_BUNDLE_IDS)
		json_array_remove(ids, 0);
}

/* state/in/<partner>/<channel>.json: the last sequence delivered and recent bundle ids. */
static int check_sequence(json_t **state_out, xch_buf *path, xch_change *ch, xch_store *s, const char *partner,
                          const char *channel, json_int_t seq, const char *bundle_id, bool allow_gap)
{
	json_t *st = NULL, *v;
	json_int_t last;
	size_t i;
	int error;

	xch_buf_clear(path);
	xch_buf_printf(path, "state/in/%s/%s.json", partner, channel);
	if ((error = read_json(&st, ch, s, path->ptr)) < 0)
		return error;
	if (!st && !(st = json_pack("{s:I, s:[]}", "sequence", (json_int_t)0, "bundles")))
		return xch_error_oom();
	*state_out = st;
	json_array_foreach(json_object_get(st, "bundles"), i, v)
		if (!strcmp(json_string_value(v), bundle_id))
			return 1;
	last = json_integer_value(json_object_get(st, "sequence"));
	if (seq <= last)
		return xch_error_set(XCH_EREPLAY, "bundle %.12s... is sequence %lld of %s's channel, which is at "
		                     "%lld already: a replay or a rollback", bundle_id, (long long)seq, partner,
		                     (long long)last);
	if (seq > last + 1 && !allow_gap)
		return xch_error_set(XCH_EGAP, "bundle %.12s... is sequence %lld of %s's channel, but %lld is the "
		                     "next expected; import the missing bundles first, or use --allow-gap",
		                     bundle_id, (long long)seq, partner, (long long)last + 1);
	return 0;
}

/*
 * A receipt: for each of our channels it names, the partner acknowledges
 * the sequence and bundle given; if that is what we sent at that sequence,
 * the state we sealed then becomes the base of our next incremental bundle.
 */
static int apply_receipt(xch_change *ch, xch_store *s, const char *partner, const json_t *manifest, size_t *count)
{
	git_tree *dir = NULL;
	git_tree_entry *e = NULL;
	xch_buf path = XCH_BUF_INIT;
	json_t *r;
	size_t i;
	int error = 0;

	if (git_tree_entry_bypath(&e, xch_change_base_tree(ch), "state/channels") != 0 ||
	    git_tree_lookup(&dir, s->repo, git_tree_entry_id(e)) < 0)
		goto done;
	json_array_foreach(json_object_get(manifest, "received"), i, r) {
		for (size_t k = 0; k < git_tree_entrycount(dir) && !error; k++) {
			const char *name = git_tree_entry_name(git_tree_entry_byindex(dir, k));
			json_t *st = NULL, *sent, *e2, *names;
			size_t j;
			bool mine = false;
			xch_buf_clear(&path);
			xch_buf_printf(&path, "state/channels/%s", name);
			if ((error = read_json(&st, ch, s, path.ptr)) < 0 || !st)
				continue;
			/* our channel, and the partner is one of its recipients */
			json_array_foreach(names = json_object_get(st, "recipients"), j, e2)
				if (!strcmp(json_string_value(e2), partner))
					mine = true;
			if (!mine || strcmp(xch_json_str(st, "channel"), xch_json_str(r, "channel"))) {
				json_decref(st);
				continue;
			}
			json_array_foreach(sent = json_object_get(st, "sent"), j, e2) {
				if (json_integer_value(json_object_get(e2, "sequence")) !=
				    json_integer_value(json_object_get(r, "sequence")))
					continue;
				if (strcmp(xch_json_str(e2, "bundle"), xch_json_str(r, "bundle_id"))) {
					error = xch_error_set(XCH_ETAMPERED, "receipt from %s names bundle %.12s... at "
					                      "sequence %lld, but we sent %.12s... there", partner,
					                      xch_json_str(r, "bundle_id"),
					                      (long long)json_integer_value(json_object_get(r, "sequence")),
					                      xch_json_str(e2, "bundle"));
					break;
				}
				{
					/* acknowledgements are per recipient: a channel may have several */
					json_t *acked = json_object_get(st, "acked"), *mine_ack;
					if (!json_is_object(acked))
						json_object_set_new(st, "acked", acked = json_object());
					mine_ack = json_object_get(acked, partner);
					if (json_integer_value(json_object_get(e2, "sequence")) >
					    json_integer_value(json_object_get(mine_ack, "sequence"))) {
						json_object_set_new(acked, partner, json_pack("{s:O, s:O}",
							"sequence", json_object_get(e2, "sequence"),
							"commit", json_object_get(e2, "commit")));
						(*count)++;
					}
				}
				break;
			}
			if (!error)
				error = put_json(ch, path.ptr, st);
			json_decref(st);
		}
		if (error < 0)
			break;
	}
done:
	git_tree_free(dir);
	git_tree_entry_free(e);
	xch_buf_dispose(&path);
	return error;
}

int xch_import(xch_import_result *out, xch_store *s, const char *path, const xch_import_options *opts)
{
	import_sink is = { 0 };
	xch_entry_sink sink = { sink_manifest, sink_begin, sink_write, sink_end, &is };
	xch_bundle_info *info = NULL;
	xch_change *ch = NULL;
	json_t *state = NULL, *tombs, *t;
	xch_buf state_path = XCH_BUF_INIT, msg = XCH_BUF_INIT, apath = XCH_BUF_INIT;
	merge_ctx m = { 0 };
	git_oid line;
	const char *channel, *bundle_id, *partner;
	json_int_t seq;
	size_t i;
	int error;

	XCH_ARG(out && s && path);
	if (opts && opts->version != XCH_IMPORT_OPTIONS_VERSION)
		return xch_error_set(XCH_EINVALID, "unsupported import options version %u", opts->version);
	memset(out, 0, sizeof(*out));
	is.s = s;
	if ((error = xch_store_schemas(&is.schemas, s)) < 0 || (error = xch_change_new(&ch, s)) < 0)
		goto done;
	error = xch_bundle_verify_into(&info, s, path, &sink);
	{
		/* a record's error came before whatever the verifier found after it */
		int rerr = drain_records(&is);
		stop_records(&is);
		if (rerr < 0)
			error = rerr;
	}
	if (error < 0)
		goto done;
	if (!is.manifest || !xch_bundle_info_sender(info)) {
		error = xch_error_set(XCH_EMALFORMED, "'%s' has no manifest", path);
		goto done;
	}
	partner = xch_bundle_info_sender(info);
	channel = xch_json_str(is.manifest, "channel");
	bundle_id = xch_json_str(is.manifest, "bundle_id");
	seq = json_integer_value(json_object_get(is.manifest, "sequence"));
	snprintf(out->bundle_id, sizeof(out->bundle_id), "%s", bundle_id);
	snprintf(out->partner, sizeof(out->partner), "%s", partner);
	out->sequence = (uint64_t)seq;
	/* each receipt says all it acknowledges: a lost one is no gap (an older one is still a replay) */
	if ((error = check_sequence(&state, &state_path, ch, s, partner, channel, seq, bundle_id,
	                            (opts && opts->allow_gap) ||
	                            !strcmp(xch_json_str(is.manifest, "kind"), "receipt"))) != 0) {
		if (error == 1) {
			out->already = 1;
			error = 0;
		}
		goto done;
	}
	/* the records and attachments become visible once nothing is left to refuse */
	if ((error = check_attachments(ch, &is)) < 0 || (error = xch_packw_commit(is.pack)) < 0)
		goto done;
	for (i = 0; i < is.nrecs; i++)
		if ((error = xch_packw_ticket_oid(is.pack, is.recs[i].ticket, &is.recs[i].oid)) < 0)
			goto done;
	/* its index of every object is on disk now: not kept through the merge */
	xch_packw_free(is.pack);
	is.pack = NULL;
	if (!strcmp(xch_json_str(is.manifest, "kind"), "receipt")) {
		out->receipt = 1;
		if ((error = apply_receipt(ch, s, partner, is.manifest, &out->acknowledged)) < 0)
			goto done;
		record_delivery(state, seq, bundle_id);
		json_object_set_new(state, "receipt", json_true());
		if ((error = put_json(ch, state_path.ptr, state)) < 0)
			goto done;
		xch_buf_printf(&msg, "receipt %.12s from %s: %zu bundles acknowledged\n\nBundle: %s\nPartner: %s\n",
		               bundle_id, partner, out->acknowledged, bundle_id, partner);
		if ((error = xch_change_commit(ch, msg.ptr, NULL)) > 0)
			error = 0;
		goto done;
	}
	tombs = json_object_get(is.manifest, "tombstones");

	/* 1. the partner's own line */
	if ((error = partner_line(&line, s, partner, &is, tombs, bundle_id, seq, channel)) < 0)
		goto done;

	/* 2. merged into ours, record by record */
	m.s = s;
	m.ch = ch;
	m.partner = partner;
	m.bundle_id = bundle_id;
	m.sequence = seq;
	m.res = out;
	for (i = 0; i < is.natts; i++)
		if ((error = xch_store_attachment_path(&apath, is.atts[i].sha256)) < 0 ||
		    (error = xch_change_put_oid(ch, apath.ptr, &is.atts[i].oid)) < 0)
			goto done;
	for (i = 0; i < is.nrecs; i++) {
		char base[XCH_SHA256_HEXSIZE + 1] = "";
		if (is.recs[i].unchanged) {
			/*
			 * The sender has not changed it since it last shared it with us (a --full
			 * or --id bundle): it may be older than ours and never overrides it.
			 * Only a record we lack altogether (never had, nor deleted) is taken.
			 */
			json_t *ours = NULL;
			xch_buf tp = XCH_BUF_INIT;
			git_oid toid;
			bool have;
			if ((error = read_ours(&ours, NULL, ch, s, is.recs[i].id)) < 0 ||
			    (error = xch_store_tombstone_path(&tp, is.recs[i].id)) < 0) {
				json_decref(ours);
				xch_buf_dispose(&tp);
				goto done;
			}
			have = ours || xch_change_lookup(ch, tp.ptr, &toid);
			json_decref(ours);
			xch_buf_dispose(&tp);
			if (have) {
				out->unchanged++;
				continue;
			}
		}
		if (is.recs[i].has_base)
			xch_sha256_to_hex(base, is.recs[i].base);
		if ((error = merge_one(&m, is.recs[i].id, is.recs[i].type, &is.recs[i].oid, NULL, base)) < 0)
			goto done;
	}
	json_array_foreach(tombs, i, t)
		if ((error = merge_one(&m, xch_json_str(t, "id"), xch_json_str(t, "type"), NULL, t,
		                       xch_json_str(t, "base"))) < 0)
			goto done;

	/* 3. delivery state, then one commit moves the branch; the trees need the memory */
	drop_recs(&is);
	record_delivery(state, seq, bundle_id);
	json_object_set_new(state, "receipt_pending", json_true());
	if ((error = put_json(ch, state_path.ptr, state)) < 0 || (error = xch_change_add_parent(ch, &line)) < 0)
		goto done;
	xch_buf_printf(&msg, "import bundle %.12s from %s, sequence %lld\n\n"
	               "%zu added, %zu changed, %zu deleted, %zu unchanged, %zu in conflict\n\n"
	               "Bundle: %s\nPartner: %s\nChannel: %s\nSequence: %lld\n",
	               bundle_id, partner, (long long)seq, out->added, out->changed, out->deleted,
	               out->unchanged, out->conflicts, bundle_id, partner, channel, (long long)seq);
	if ((error = xch_change_commit(ch, msg.ptr, NULL)) > 0)
		error = 0;
done:
	xch_change_free(ch);
	xch_bundle_info_free(info);
	sink_dispose(&is);
	json_decref(state);
	xch_buf_dispose(&state_path);
	xch_buf_dispose(&msg);
	xch_buf_dispose(&apath);
	return error;
}

/* ---- conflicts ---------------------------------------------------------- */

typedef struct {
	xch_conflict_cb cb;
	void *payload;
} conflicts_ctx;

static char *dump_or_null(json_t *v)
{
	xch_buf b = XCH_BUF_INIT;
	if (!v || json_is_null(v) || xch_json_canonical(&b, v) < 0)
		return NULL;
	return xch_buf_detach(&b);
}

static int conflict_from_json(json_t *j, xch_conflict_cb cb, void *payload)
{
	xch_conflict c = { 0 };
	json_t *ptrs = json_object_get(j, "pointers"), *v;
	const char **pv;
	size_t i;
	int error;

	if (!(pv = calloc(json_array_size(ptrs) + 1, sizeof(*pv))))
		return xch_error_oom();
	json_array_foreach(ptrs, i, v)
		pv[i] = json_string_value(v);
	c.id = xch_json_str(j, "id");
	c.type = xch_json_str(j, "type");
	c.partner = xch_json_str(j, "partner");
	c.bundle = xch_json_str(j, "bundle");
	c.pointers = pv;
	c.npointers = json_array_size(ptrs);
	c.base = dump_or_null(json_object_get(j, "base"));
	c.ours = dump_or_null(json_object_get(j, "ours"));
	c.theirs = dump_or_null(json_object_get(j, "theirs"));
	error = cb(&c, payload);
	free((char *)c.base);
	free((char *)c.ours);
	free((char *)c.theirs);
	free(pv);
	return error;
}

static int conflict_cb(json_t *j, const char *name, void *payload)
{
	conflicts_ctx *ctx = payload;
	(void)name;
	return conflict_from_json(j, ctx->cb, ctx->payload);
}

int xch_conflicts_foreach(xch_store *s, xch_conflict_cb cb, void *payload)
{
	conflicts_ctx ctx = { cb, payload };
	XCH_ARG(s && cb);
	return xch_store_walk_json(s, NULL, "conflicts", conflict_cb, &ctx);
}

int xch_conflict_resolve(xch_store *s, const char *id, xch_resolve_how how, const char *file)
{
	xch_change *ch = NULL;
	xch_record *r = NULL;
	xch_buf cpath = XCH_BUF_INIT, path = XCH_BUF_INIT, msg = XCH_BUF_INIT;
	json_t *c = NULL, *chosen = NULL, *tomb = NULL;
	const char *type;
	merge_ctx m = { 0 };
	char now[32];
	int error;

	XCH_ARG(s && id && how >= XCH_RESOLVE_OURS && how <= XCH_RESOLVE_FILE && (how != XCH_RESOLVE_FILE || file));
	if (!xch_record_id_valid(id))
		return xch_error_set(XCH_EINVALID, "invalid record id '%s'", id);
	if ((error = xch_change_new(&ch, s)) < 0 || (error = conflict_path(&cpath, id)) < 0 ||
	    (error = read_json(&c, ch, s, cpath.ptr)) < 0)
		goto done;
	if (!c) {
		error = xch_error_set(XCH_ENOTFOUND, "record '%s' is not in conflict", id);
		goto done;
	}
	type = xch_json_str(c, "type");
	if (how == XCH_RESOLVE_FILE) {
		xch_violations *v = NULL;
		xch_schema_set *set;
		if ((error = xch_record_load(&r, file)) < 0 || (error = xch_store_schemas(&set, s)) < 0)
			goto done;
		if (strcmp(xch_record_id(r), id) || strcmp(xch_record_type(r), type)) {
			error = xch_error_set(XCH_EINVALID, "'%s' holds %s '%s', not %s '%s'", file,
			                      xch_record_type(r), xch_record_id(r), type, id);
			goto done;
		}
		if ((error = xch_record_validate(&v, set, r)) < 0) {
			if (error == XCH_ESCHEMA)
				xch_error_set(XCH_ESCHEMA, "'%s': %s: %s", file, *xch_violations_instance(v, 0) ?
				              xch_violations_instance(v, 0) : "/", xch_violations_message(v, 0));
			xch_violations_free(v);
			goto done;
		}
		chosen = json_incref((json_t *)xch_record_json(r));
	} else if (how == XCH_RESOLVE_OURS) {
		/* ours is what we hold now: an edit made since the conflict arose stays */
		const char *our_type = NULL;
		if ((error = read_ours(&chosen, &our_type, ch, s, id)) < 0)
			goto done;
		if (!chosen)
			goto settled; /* we hold no live version: nothing to restore */
		type = our_type;
	} else {
		chosen = json_incref(json_object_get(c, "theirs"));
	}
	m.s = s;
	m.ch = ch;
	{
		/* a version of another type (theirs and ours disagreed on it) goes */
		json_t *cur = NULL;
		const char *cur_type = NULL;
		if ((error = read_ours(&cur, &cur_type, ch, s, id)) < 0)
			goto done;
		json_decref(cur);
		if (cur_type && strcmp(cur_type, type) &&
		    ((error = xch_store_record_path(&path, cur_type, id)) < 0 ||
		     (error = xch_change_put_file(ch, path.ptr, NULL, 0)) < 0))
			goto done;
	}
	if (chosen && !json_is_null(chosen)) {
		error = set_record(&m, type, id, chosen, NULL);
	} else {
		/* the chosen side deleted it */
		xch_time_format(now, xch_time_now());
		tomb = json_pack("{s:s, s:s, s:s}", "type", type, "id", id, "deleted", now);
		if ((error = xch_store_record_path(&path, type, id)) == 0 &&
		    (error = xch_change_put_file(ch, path.ptr, NULL, 0)) == 0 &&
		    (error = xch_store_tombstone_path(&path, id)) == 0)
			error = put_json(ch, path.ptr, tomb);
	}
	if (error < 0)
		goto done;
settled:
	if ((error = xch_change_put_file(ch, cpath.ptr, NULL, 0)) < 0)
		goto done;
	xch_buf_printf(&msg, "resolve %s: %s\n", id, how == XCH_RESOLVE_OURS ? "ours" :
	               how == XCH_RESOLVE_THEIRS ? "theirs" : file);
	if ((error = xch_change_commit(ch, msg.ptr, NULL)) > 0)
		error = 0;
done:
	json_decref(c);
	json_decref(chosen);
	json_decref(tomb);
	xch_record_free(r);
	xch_change_free(ch);
	xch_buf_dispose(&cpath);
	xch_buf_dispose(&path);
	xch_buf_dispose(&msg);
	return error;
}

/* ---- partner status ----------------------------------------------------- */

/*
 * Count the records and deletions between two trees (or all of now's) that
 * partner does not share yet: a record equal to shared/<partner>/... it has;
 * a deletion of a record it never had is none of its business.
 */
static int count_changes(size_t *out, xch_store *s, git_tree *old, git_tree *now, const char *partner)
{
	xch_buf sp = XCH_BUF_INIT, rp = XCH_BUF_INIT;
	git_diff *diff = NULL;
	git_diff_options dopts;
	char *paths[] = { (char *)"records", (char *)"tombstones" };
	int error;

	git_diff_options_init(&dopts, GIT_DIFF_OPTIONS_VERSION);
	dopts.pathspec.strings = paths;
	dopts.pathspec.count = 2;
	if ((error = git_diff_tree_to_tree(&diff, s->repo, old, now, &dopts)) < 0)
		return xch_error_from_git(error, "cannot compare states");
	*out = 0;
	for (size_t i = 0; i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		git_tree_entry *e = NULL;
		bool shared;
		if (d->status == GIT_DELTA_DELETED)
			continue;
		xch_buf_clear(&sp);
		if (!strncmp(d->new_file.path, "records/", 8)) {
			xch_buf_printf(&sp, "shared/%s/%s", partner, d->new_file.path + 8);
			shared = git_tree_entry_bypath(&e, now, sp.ptr) == 0 &&
			         git_oid_equal(git_tree_entry_id(e), &d->new_file.id);
		} else {
			/*
			 * tombstones/<xx>/<id>.json: pending if the partner had the record (it
			 * sent it to us, or we sent it) and this deletion has not gone to it
			 */
			json_t *t = NULL;
			git_blob *blob = NULL;
			shared = true;
			if (git_blob_lookup(&blob, s->repo, &d->new_file.id) == 0 &&
			    xch_json_parse(&t, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), "tombstone") == 0 &&
			    xch_store_record_path(&rp, xch_json_str(t, "type"), xch_json_str(t, "id")) == 0 &&
			    xch_buf_printf(&sp, "sent/%s/%s", partner, rp.ptr + 8) == 0) {
				bool had, went = false;
				had = git_tree_entry_bypath(&e, now, sp.ptr) == 0;
				if (had)
					went = git_oid_equal(git_tree_entry_id(e), &d->new_file.id);
				git_tree_entry_free(e);
				e = NULL;
				xch_buf_clear(&sp);
				if (!had && xch_buf_printf(&sp, "shared/%s/%s", partner, rp.ptr + 8) == 0)
					had = git_tree_entry_bypath(&e, now, sp.ptr) == 0;
				shared = !had || went;
			}
			json_decref(t);
			git_blob_free(blob);
			xch_error_clear();
		}
		git_tree_entry_free(e);
		if (!shared)
			(*out)++;
	}
	git_diff_free(diff);
	xch_buf_dispose(&sp);
	xch_buf_dispose(&rp);
	return 0;
}

static int for_each_state(xch_store *s, git_tree *tree, const char *dirpath,
                          int (*cb)(json_t *st, const char *name, void *payload), void *payload)
{
	git_tree_entry *e = NULL;
	git_tree *dir = NULL;
	int error = 0;

	if (git_tree_entry_bypath(&e, tree, dirpath) != 0 || git_tree_lookup(&dir, s->repo, git_tree_entry_id(e)) < 0)
		goto done;
	for (size_t i = 0; i < git_tree_entrycount(dir) && !error; i++) {
		const git_tree_entry *ce = git_tree_entry_byindex(dir, i);
		git_blob *blob = NULL;
		json_t *st = NULL;
		if (git_blob_lookup(&blob, s->repo, git_tree_entry_id(ce)) < 0)
			continue;
		if ((error = xch_json_parse(&st, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
		                            git_tree_entry_name(ce))) == 0)
			error = cb(st, git_tree_entry_name(ce), payload);
		json_decref(st);
		git_blob_free(blob);
	}
done:
	git_tree_free(dir);
	git_tree_entry_free(e);
	return error;
}

typedef struct {
	const char *name;
	xch_partner_status *st;
	char acked_commit[GIT_OID_HEXSZ + 1];
} status_ctx;

static int status_out(json_t *st, const char *file, void *payload)
{
	status_ctx *c = payload;
	json_t *r = json_object_get(st, "recipients"), *a;
	(void)file;
	if (json_array_size(r) != 1 || strcmp(json_string_value(json_array_get(r, 0)), c->name))
		return 0;
	if (json_object_get(st, "sent"))
		c->st->sent = (uint64_t)json_integer_value(json_object_get(st, "sequence"));
	a = json_object_get(json_object_get(st, "acked"), c->name);
	if (a && (uint64_t)json_integer_value(json_object_get(a, "sequence")) >= c->st->acknowledged) {
		c->st->acknowledged = (uint64_t)json_integer_value(json_object_get(a, "sequence"));
		snprintf(c->acked_commit, sizeof(c->acked_commit), "%s", xch_json_str(a, "commit"));
	}
	return 0;
}

static int status_in(json_t *st, const char *file, void *payload)
{
	status_ctx *c = payload;
	(void)file;
	if (json_is_true(json_object_get(st, "receipt")))
		return 0;
	if ((uint64_t)json_integer_value(json_object_get(st, "sequence")) > c->st->received)
		c->st->received = (uint64_t)json_integer_value(json_object_get(st, "sequence"));
	if (json_is_true(json_object_get(st, "receipt_pending")))
		c->st->receipt_pending = 1;
	return 0;
}

int xch_partner_status_get(xch_partner_status *out, xch_store *s, const char *name)
{
	status_ctx c = { name, out, "" };
	xch_partner *p = NULL;
	git_tree *tree = NULL, *old = NULL;
	git_commit *commit = NULL;
	xch_buf path = XCH_BUF_INIT;
	git_oid oid;
	int error;

	XCH_ARG(out && s && name);
	memset(out, 0, sizeof(*out));
	if ((error = xch_partner_lookup(&p, s, name)) < 0 || (error = xch_store_head_tree(&tree, NULL, s)) < 0)
		goto done;
	xch_buf_printf(&path, "state/in/%s", name);
	if ((error = for_each_state(s, tree, "state/channels", status_out, &c)) < 0 ||
	    (error = for_each_state(s, tree, path.ptr, status_in, &c)) < 0)
		goto done;
	if (c.acked_commit[0] && git_oid_fromstr(&oid, c.acked_commit) == 0 &&
	    git_commit_lookup(&commit, s->repo, &oid) == 0 && git_commit_tree(&old, commit) == 0)
		error = count_changes(&out->pending, s, old, tree, name);
	else
		error = count_changes(&out->pending, s, NULL, tree, name);
done:
	git_tree_free(old);
	git_commit_free(commit);
	git_tree_free(tree);
	xch_partner_free(p);
	xch_buf_dispose(&path);
	return error;
}
