/*
 * Sealed bundles: seal, verify, open, inspect. The format is specified in
 * xch-bundle(5): an outer ustar container holding payload.gpg (the
 * OpenPGP signed and encrypted payload archive), envelope.json (cleartext
 * metadata a transfer station can check) and envelope.sig (the sender's
 * detached signature of envelope.json).
 */
#include "common.h"
#include "store.h"
#include "record.h"
#include "schema.h"
#include "crypto.h"
#include "container.h"
#include "payload.h"
#include "deflate.h"
#include "sha256.h"
#include "looseobj.h"
#include "workq.h"
#include "json.h"
#include "util.h"
#include "bundle.h"
#include "manifest.h"
#include "chan.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUNDLE_FORMAT "xch-bundle/1"
#define ENVELOPE_FORMAT "xch-envelope/1"
#define DEFAULT_EXPIRY (30 * 86400)
#define MANIFEST_MAX XCH_JSON_MAX_SIZE
#define PLAIN_RING (1024 * 1024) /* decrypted payload between gpg's thread and the reader */

struct xch_bundle_info {
	char *envelope;   /* canonical JSON */
	char *manifest;   /* canonical JSON or NULL */
	char *sender;     /* partner name or NULL */
	char *signature;  /* a note for inspect */
	char *problem;    /* inspect: why the payload could not be read, or NULL */
};

/* ---- helpers ---------------------------------------------------------- */

/* An error raised on another thread, carried back to the caller's. */
typedef struct {
	int code;
	char message[1024];
} thread_error;

static void thread_error_take(thread_error *te, int code)
{
	te->code = code;
	snprintf(te->message, sizeof(te->message), "%s", xch_error_last()->message);
}

static int thread_error_give(const thread_error *te)
{
	return xch_error_set(te->code, "%s", te->message);
}

/*
 * Does the record's marking let it go to partner? If not, say why in why.
 * TLP:RED and TLP:AMBER+STRICT go only to partners on the share list; any
 * other level goes to anyone, unless a share list is given.
 */
static bool marking_allows(const json_t *record, const char *partner, char *why, size_t whylen)
{
	json_t *m = json_object_get(record, "marking"), *share = json_object_get(m, "share_with"), *v;
	const char *tlp = xch_json_str(m, "tlp");
	bool listed = false;
	size_t i;

	json_array_foreach(share, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), partner))
			listed = true;
	if (!tlp) {
		snprintf(why, whylen, "no marking");
		return false;
	}
	if ((!strcmp(tlp, "RED") || !strcmp(tlp, "AMBER+STRICT")) && !listed) {
		snprintf(why, whylen, "TLP:%s and not shared with '%s'", tlp, partner);
		return false;
	}
	if (json_is_array(share) && !listed) {
		snprintf(why, whylen, "TLP:%s, share list excludes '%s'", tlp, partner);
		return false;
	}
	return true;
}

/* ---- seal --------------------------------------------------------------- */

typedef struct {
	/*
	 * Its path in the payload, size, SHA-256; unchanged: every recipient
	 * has this version already (sent by --full or --id); base: the
	 * version all recipients last sent us, or "".
	 */
	xch_manifest_entry m;
	char *tree_path;/* where its bytes are in the store's tree */
	git_oid oid;
	bool store_only;
} seal_entry;

typedef struct {
	xch_store *s;
	const xch_seal_options *opts;
	xch_schema_set *schemas;
	seal_entry *entries;
	size_t nentries, aentries;
	json_t *tombstones;
	int error;
	size_t left_out;
	bool explicit;
	git_tree *head;  /* the store's tree as the seal began */
	bool forced;     /* selecting a record whose conflict was resolved: it goes even if sent before */
} seal_ctx;

/*
 * The SHA-256 of the version of a record every recipient last sent us (the same
 * for all), into hex; "" if there is none or they differ. It tells the
 * recipients which version our copy is based on.
 */
static void agreed_base(char hex[XCH_SHA256_HEXSIZE + 1], seal_ctx *ctx, const char *type, const char *id)
{
	xch_buf rp = XCH_BUF_INIT, sp = XCH_BUF_INIT;
	git_oid first;
	bool same = ctx->head != NULL;
	git_blob *blob = NULL;

	hex[0] = '\0';
	if (!type || !id || xch_store_record_path(&rp, type, id) < 0)
		same = false;
	for (size_t i = 0; i < ctx->opts->nto && same; i++) {
		git_tree_entry *e = NULL;
		xch_buf_clear(&sp);
		same = xch_buf_printf(&sp, "shared/%s/%s", ctx->opts->to[i], rp.ptr + 8) == 0 &&
		       git_tree_entry_bypath(&e, ctx->head, sp.ptr) == 0;
		if (same && i == 0)
			git_oid_cpy(&first, git_tree_entry_id(e));
		else if (same)
			same = git_oid_equal(&first, git_tree_entry_id(e));
		git_tree_entry_free(e);
	}
	if (same && git_blob_lookup(&blob, ctx->s->repo, &first) == 0)
		xch_sha256_hex(hex, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	xch_buf_dispose(&rp);
	xch_buf_dispose(&sp);
	xch_error_clear();
}

/* Did we send this very version to every recipient already? */
static bool sent_to_all(seal_ctx *ctx, const xch_record *r, const git_oid *oid)
{
	xch_buf rp = XCH_BUF_INIT, sp = XCH_BUF_INIT;
	bool all = ctx->head != NULL && xch_store_record_path(&rp, xch_record_type(r), xch_record_id(r)) == 0;

	for (size_t i = 0; i < ctx->opts->nto && all; i++) {
		git_tree_entry *e = NULL;
		xch_buf_clear(&sp);
		all = xch_buf_printf(&sp, "sent/%s/%s", ctx->opts->to[i], rp.ptr + 8) == 0 &&
		      git_tree_entry_bypath(&e, ctx->head, sp.ptr) == 0 && git_oid_equal(git_tree_entry_id(e), oid);
		git_tree_entry_free(e);
	}
	xch_buf_dispose(&rp);
	xch_buf_dispose(&sp);
	return all;
}

/*
 * Does every recipient have this very version already (it is what each
 * last sent us)? Then a bundle need not carry it, unless --full.
 */
static bool shared_with_all(seal_ctx *ctx, const xch_record *r, const git_oid *oid)
{
	xch_buf rp = XCH_BUF_INIT, sp = XCH_BUF_INIT;
	bool all = ctx->head != NULL;

	if (xch_store_record_path(&rp, xch_record_type(r), xch_record_id(r)) < 0)
		all = false;
	for (size_t i = 0; i < ctx->opts->nto && all; i++) {
		git_tree_entry *e = NULL;
		xch_buf_clear(&sp);
		all = xch_buf_printf(&sp, "shared/%s/%s", ctx->opts->to[i], rp.ptr + 8) == 0 &&
		      git_tree_entry_bypath(&e, ctx->head, sp.ptr) == 0 && git_oid_equal(git_tree_entry_id(e), oid);
		git_tree_entry_free(e);
	}
	xch_buf_dispose(&rp);
	xch_buf_dispose(&sp);
	return all;
}

static int add_entry(seal_ctx *ctx, const char *path, const char *tree_path, const git_oid *oid,
                     uint64_t size, const char *sha, bool store_only)
{
	seal_entry *e;
	/* one copy of an attachment shared by records (record paths are unique: no search for them) */
	for (size_t i = 0; !strncmp(path, "attachments/", 12) && i < ctx->nentries; i++)
		if (!strcmp(ctx->entries[i].m.path, path))
			return 0;
	if (ctx->nentries == ctx->aentries) {
		size_t na = ctx->aentries ? ctx->aentries * 2 : 64;
		seal_entry *n = realloc(ctx->entries, na * sizeof(*n));
		if (!n)
			return xch_error_oom();
		ctx->entries = n;
		ctx->aentries = na;
	}
	e = &ctx->entries[ctx->nentries];
	memset(e, 0, sizeof(*e));
	if (!(e->m.path = strdup(path)) || !(e->tree_path = strdup(tree_path))) {
		free(e->m.path);
		return xch_error_oom();
	}
	git_oid_cpy(&e->oid, oid);
	e->m.size = size;
	if (!xch_sha256_from_hex(e->m.sha256, sha)) {
		free(e->m.path);
		free(e->tree_path);
		return xch_error_set(XCH_EINVALID, "'%s': its SHA-256 is not 64 hex digits", path);
	}
	e->store_only = store_only;
	ctx->nentries++;
	return 0;
}

static void notify(seal_ctx *ctx, const xch_record *r, int included, const char *reason)
{
	if (ctx->opts->notify)
		ctx->opts->notify(xch_record_id(r), xch_record_type(r), included, reason, ctx->opts->notify_payload);
}

static int select_record(const xch_record *r, void *payload)
{
	seal_ctx *ctx = payload;
	xch_violations *v = NULL;
	xch_buf path = XCH_BUF_INIT, apath = XCH_BUF_INIT;
	const char *data;
	char sha[XCH_SHA256_HEXSIZE + 1], why[256];
	size_t len;
	git_oid oid;
	bool unchanged;
	int error;

	xch_record_canonical(r, &data, &len);
	if ((error = git_odb_hash(&oid, data, len, GIT_OBJECT_BLOB)) < 0)
		return xch_error_from_git(error, "cannot hash record '%s'", xch_record_id(r));
	if ((unchanged = shared_with_all(ctx, r, &oid)) && !ctx->opts->full && !ctx->explicit)
		return 0; /* they have this version: it came from them */
	if (ctx->opts->only_new && !ctx->opts->full && !ctx->explicit && !ctx->forced && sent_to_all(ctx, r, &oid))
		return 0; /* an earlier bundle carries this version to them */
	{
		/* a record in conflict stays home until it is resolved */
		git_tree *head = ctx->head;
		git_tree_entry *ce = NULL;
		xch_buf cp = XCH_BUF_INIT;
		bool conflicted = false;
		if (head && xch_store_tombstone_path(&cp, xch_record_id(r)) == 0) {
			xch_buf cpath = XCH_BUF_INIT;
			xch_buf_printf(&cpath, "conflicts/%s", cp.ptr + strlen("tombstones/"));
			conflicted = git_tree_entry_bypath(&ce, head, cpath.ptr) == 0;
			xch_buf_dispose(&cpath);
		}
		git_tree_entry_free(ce);
		xch_buf_dispose(&cp);
		if (conflicted) {
			notify(ctx, r, 0, "in conflict; see 'xch conflicts'");
			ctx->left_out++;
			return ctx->explicit ? xch_error_set(XCH_ECONFLICT, "record '%s' is in conflict; "
			                                     "resolve it first", xch_record_id(r)) : 0;
		}
	}
	if ((error = xch_record_validate(&v, ctx->schemas, r)) < 0) {
		xch_violations_free(v);
		if (error != XCH_ESCHEMA)
			return error;
		notify(ctx, r, 0, "fails its schema");
		ctx->left_out++;
		return ctx->explicit ? xch_error_set(XCH_ESCHEMA, "record '%s' fails its schema; "
		                                     "see 'xch validate'", xch_record_id(r)) : 0;
	}
	for (size_t i = 0; i < ctx->opts->nto; i++) {
		if (!marking_allows(xch_record_json(r), ctx->opts->to[i], why, sizeof(why))) {
			notify(ctx, r, 0, why);
			ctx->left_out++;
			return ctx->explicit ? xch_error_set(XCH_EMARKING, "record '%s' cannot go to '%s': %s",
			                                     xch_record_id(r), ctx->opts->to[i], why) : 0;
		}
	}
	if ((error = xch_sha256_hex(sha, data, len)) < 0 ||
	    (error = xch_store_record_path(&path, xch_record_type(r), xch_record_id(r))) < 0)
		goto done;
	{
		char epath[200], base[XCH_SHA256_HEXSIZE + 1];
		seal_entry *e;
		snprintf(epath, sizeof(epath), "records/%s.json", xch_record_id(r));
		if ((error = add_entry(ctx, epath, path.ptr, &oid, len, sha, false)) < 0)
			goto done;
		e = &ctx->entries[ctx->nentries - 1];
		e->m.unchanged = unchanged;
		agreed_base(base, ctx, xch_record_type(r), xch_record_id(r));
		e->m.has_base = xch_sha256_from_hex(e->m.base, base);
	}
	for (size_t i = 0; i < xch_record_attachment_count(r); i++) {
		const char *aname, *asha, *mt;
		uint64_t asize;
		char epath[128];
		git_tree *tree = NULL;
		git_tree_entry *te = NULL;

		if ((error = xch_record_attachment(r, i, &aname, &mt, &asize, &asha)) < 0 ||
		    (error = xch_store_attachment_path(&apath, asha)) < 0)
			goto done;
		tree = ctx->head;
		if (git_tree_entry_bypath(&te, tree, apath.ptr) != 0) {
			error = xch_error_set(XCH_ENOTFOUND, "attachment '%s' of record '%s' is not in the store",
			                      aname, xch_record_id(r));
			goto done;
		}
		snprintf(epath, sizeof(epath), "attachments/%s", asha);
		error = add_entry(ctx, epath, apath.ptr, git_tree_entry_id(te), asize, asha,
		                  mt && (!strncmp(mt, "image/", 6) || !strncmp(mt, "video/", 6) ||
		                         !strcmp(mt, "application/zip") || !strcmp(mt, "application/gzip")));
		git_tree_entry_free(te);
		if (error < 0)
			goto done;
	}
	notify(ctx, r, 1, NULL);
done:
	xch_buf_dispose(&path);
	xch_buf_dispose(&apath);
	return error;
}

/*
 * A deletion goes only where the record went: a recipient that never had
 * it (its marking kept it home, say) must not even learn its id.
 */
static bool tombstone_for_all(seal_ctx *ctx, const json_t *t)
{
	xch_buf rp = XCH_BUF_INIT, sp = XCH_BUF_INIT;
	bool all = ctx->head && xch_json_str(t, "type") && xch_json_str(t, "id") &&
	           xch_store_record_path(&rp, xch_json_str(t, "type"), xch_json_str(t, "id")) == 0;

	for (size_t i = 0; i < ctx->opts->nto && all; i++) {
		/* the recipient had it: we sent it, or it sent it to us */
		git_tree_entry *e = NULL;
		xch_buf_clear(&sp);
		all = xch_buf_printf(&sp, "sent/%s/%s", ctx->opts->to[i], rp.ptr + 8) == 0 &&
		      git_tree_entry_bypath(&e, ctx->head, sp.ptr) == 0;
		git_tree_entry_free(e);
		e = NULL;
		if (!all) {
			xch_buf_clear(&sp);
			all = xch_buf_printf(&sp, "shared/%s/%s", ctx->opts->to[i], rp.ptr + 8) == 0 &&
			      git_tree_entry_bypath(&e, ctx->head, sp.ptr) == 0;
			git_tree_entry_free(e);
		}
	}
	xch_buf_dispose(&rp);
	xch_buf_dispose(&sp);
	return all;
}

static void agreed_base(char hex[XCH_SHA256_HEXSIZE + 1], seal_ctx *ctx, const char *type, const char *id);

/* The blob id of id's tombstone in the store (false if none). */
static bool tombstone_oid(git_oid *out, git_tree *head, const char *id)
{
	xch_buf tp = XCH_BUF_INIT;
	git_tree_entry *e = NULL;
	bool found = head && id && xch_store_tombstone_path(&tp, id) == 0 &&
	             git_tree_entry_bypath(&e, head, tp.ptr) == 0;
	if (found)
		git_oid_cpy(out, git_tree_entry_id(e));
	git_tree_entry_free(e);
	xch_buf_dispose(&tp);
	return found;
}

/* Did an earlier bundle carry this very deletion to every recipient (sent/ holds the tombstone)? */
static bool deletion_sent_to_all(seal_ctx *ctx, const json_t *t)
{
	xch_buf rp = XCH_BUF_INIT, sp = XCH_BUF_INIT;
	git_oid toid;
	bool all = tombstone_oid(&toid, ctx->head, xch_json_str(t, "id")) &&
	           xch_store_record_path(&rp, xch_json_str(t, "type"), xch_json_str(t, "id")) == 0;

	for (size_t i = 0; i < ctx->opts->nto && all; i++) {
		git_tree_entry *e = NULL;
		xch_buf_clear(&sp);
		all = xch_buf_printf(&sp, "sent/%s/%s", ctx->opts->to[i], rp.ptr + 8) == 0 &&
		      git_tree_entry_bypath(&e, ctx->head, sp.ptr) == 0 && git_oid_equal(git_tree_entry_id(e), &toid);
		git_tree_entry_free(e);
	}
	xch_buf_dispose(&rp);
	xch_buf_dispose(&sp);
	return all;
}

static int add_tombstone(seal_ctx *ctx, json_t *t)
{
	char base[XCH_SHA256_HEXSIZE + 1];
	if (!tombstone_for_all(ctx, t) ||
	    (ctx->opts->only_new && !ctx->opts->full && deletion_sent_to_all(ctx, t))) {
		json_decref(t);
		return 0;
	}
	/* the version deleted, as the recipients know it: they delete only if they kept it */
	agreed_base(base, ctx, xch_json_str(t, "type"), xch_json_str(t, "id"));
	if (base[0])
		json_object_set_new(t, "base", json_string(base));
	return json_array_append_new(ctx->tombstones, t) < 0 ? xch_error_oom() : 0;
}

static int tombstone_cb(json_t *t, const char *name, void *payload)
{
	(void)name;
	return add_tombstone(payload, json_incref(t));
}

static int collect_tombstones(seal_ctx *ctx)
{
	return xch_store_walk_json(ctx->s, ctx->head, "tombstones", tombstone_cb, ctx);
}

typedef struct {
	const char *gitdir;
	seal_entry *entries;
	size_t nentries;
	xch_manifest_text manifest; /* around the entries' text */
	uint64_t manifest_len;
	int64_t mtime;
	int fd;             /* the pipe's write end */
	thread_error err;
} producer_ctx;

static int pipe_sink(void *payload, const void *data, size_t len)
{
	return xch_write_all(*(int *)payload, data, len);
}

static int write_blob(xch_payload_writer *w, git_odb *odb, const char *gitdir, const seal_entry *e)
{
	git_odb_stream *st = NULL;
	xch_loose_reader *lr = NULL;
	uint64_t size;
	size_t len;
	git_object_t type;
	char buf[65536];
	int error;

	if ((error = xch_payload_begin(w, e->m.path, e->m.size, e->store_only)) < 0)
		return error;
	if ((error = xch_loose_open(&lr, gitdir, &e->oid, &size)) == 0) {
		/* a loose object streams from its file: a large attachment never sits in memory whole */
		ssize_t n = 0;
		if (size != e->m.size)
			error = xch_error_set(XCH_EMALFORMED, "'%s' is %llu bytes in the store, not %llu",
			                      e->tree_path, (unsigned long long)size, (unsigned long long)e->m.size);
		while (!error && (n = xch_loose_read(lr, buf, sizeof(buf))) > 0)
			error = xch_payload_write(w, buf, (size_t)n);
		xch_loose_free(lr);
		if (n < 0)
			return xch_error_prefix("cannot read '%s'", e->tree_path);
	} else if (error != XCH_ENOTFOUND) {
		return xch_error_prefix("cannot read '%s'", e->tree_path);
	} else if (!(error = git_odb_open_rstream(&st, &len, &type, odb, &e->oid))) {
		/* not loose (packed, or in an alternate store): libgit2 reads it */
		ssize_t n;
		while ((n = git_odb_stream_read(st, buf, sizeof(buf))) > 0)
			if ((error = xch_payload_write(w, buf, (size_t)n)) < 0)
				break;
		git_odb_stream_free(st);
		if (n < 0)
			return xch_error_from_git((int)n, "cannot read '%s'", e->tree_path);
	} else {
		git_odb_object *obj = NULL;
		if ((error = git_odb_read(&obj, odb, &e->oid)) < 0)
			return xch_error_from_git(error, "cannot read '%s'", e->tree_path);
		error = xch_payload_write(w, git_odb_object_data(obj), git_odb_object_size(obj));
		git_odb_object_free(obj);
	}
	if (error < 0)
		return error;
	return xch_payload_end(w);
}

/* The manifest's canonical text, written an entry at a time: it is never held whole. */
static int write_manifest(xch_payload_writer *w, producer_ctx *p)
{
	xch_buf one = XCH_BUF_INIT;
	int error;

	if ((error = xch_payload_begin(w, "manifest.json", p->manifest_len, false)) < 0 ||
	    (error = xch_payload_write(w, p->manifest.head.ptr, p->manifest.head.size)) < 0)
		return error;
	for (size_t i = 0; i < p->nentries && !error; i++) {
		xch_buf_clear(&one);
		if ((error = xch_manifest_entry_text(&one, &p->entries[i].m, i, p->nentries)) == 0)
			error = xch_payload_write(w, one.ptr, one.size);
	}
	xch_buf_dispose(&one);
	if (error < 0 || (error = xch_payload_write(w, p->manifest.tail.ptr, p->manifest.tail.size)) < 0)
		return error;
	return xch_payload_end(w);
}

/* The manifest's length: head, tail and every entry's text. */
static int manifest_size(uint64_t *size, const xch_manifest_text *t, const seal_entry *e, size_t n)
{
	xch_buf one = XCH_BUF_INIT;
	uint64_t total = t->head.size + t->tail.size;
	int error = 0;

	for (size_t i = 0; i < n && !error; i++) {
		xch_buf_clear(&one);
		if ((error = xch_manifest_entry_text(&one, &e[i].m, i, n)) == 0)
			total += one.size;
	}
	xch_buf_dispose(&one);
	*size = total;
	return error;
}

static void *producer(void *arg)
{
	producer_ctx *p = arg;
	git_repository *repo = NULL;
	git_odb *odb = NULL;
	xch_payload_writer *w = NULL;
	int error;

	if ((error = git_repository_open_ext(&repo, p->gitdir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) < 0 ||
	    (error = git_repository_odb(&odb, repo)) < 0) {
		error = xch_error_from_git(error, "cannot open the store");
		goto done;
	}
	if ((error = xch_payload_writer_new(&w, pipe_sink, &p->fd, XCH_DEFLATE_DEFAULT_LEVEL, 0, p->mtime)) < 0 ||
	    (error = write_manifest(w, p)) < 0)
		goto done;
	for (size_t i = 0; i < p->nentries && !error; i++)
		error = write_blob(w, odb, p->gitdir, &p->entries[i]);
	if (!error)
		error = xch_payload_finish(w);
done:
	if (error < 0)
		thread_error_take(&p->err, error);
	xch_payload_writer_free(w);
	git_odb_free(odb);
	git_repository_free(repo);
	close(p->fd);
	return NULL;
}

static ssize_t fd_read(void *payload, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(*(int *)payload, buf, len);
		if (n >= 0 || errno != EINTR) {
			if (n < 0)
				xch_error_set_os(XCH_EOS, "cannot read the payload pipe");
			return n;
		}
	}
}

static int container_sink(void *payload, const void *data, size_t len)
{
	return xch_container_write_payload(payload, data, len);
}

/* state/channels/<key>.json: the channel id and last sequence for a recipient set. */
static int channel_state(json_t **out, xch_buf *path, xch_store *s, json_t *names, bool receipt)
{
	xch_buf joined = XCH_BUF_INIT, data = XCH_BUF_INIT;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	char hex[XCH_SHA256_HEXSIZE + 1];
	json_t *v;
	size_t i;
	int error;

	if (receipt)
		xch_buf_puts(&joined, "receipt:");
	json_array_foreach(names, i, v)
		xch_buf_printf(&joined, "%s%s", i ? "," : "", json_string_value(v));
	if ((error = xch_sha256_hex(hex, joined.ptr ? joined.ptr : "", joined.size)) < 0)
		goto done;
	xch_buf_clear(path);
	xch_buf_printf(path, "state/channels/%.32s.json", hex);
	if ((error = xch_store_head_tree(&tree, NULL, s)) < 0)
		goto done;
	if (git_tree_entry_bypath(&e, tree, path->ptr) == 0 &&
	    git_blob_lookup(&blob, s->repo, git_tree_entry_id(e)) == 0) {
		error = xch_json_parse(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), path->ptr);
	} else {
		unsigned char rnd[16];
		xch_buf id = XCH_BUF_INIT;
		if ((error = xch_random(rnd, sizeof(rnd))) == 0 && (error = xch_buf_put_hex(&id, rnd, 16)) == 0)
			*out = json_pack("{s:s, s:O, s:I}", "channel", id.ptr, "recipients", names, "sequence",
			                 (json_int_t)0);
		xch_buf_dispose(&id);
	}
done:
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(tree);
	xch_buf_dispose(&joined);
	xch_buf_dispose(&data);
	return error;
}

/* Does the diff change records/<type>/<xx>/<id>.json (a record selected already)? */
static bool changed_in(git_diff *diff, const char *id)
{
	size_t idlen = strlen(id);
	for (size_t i = 0; i < git_diff_num_deltas(diff); i++) {
		const char *p = git_diff_get_delta(diff, i)->new_file.path, *file = strrchr(p, '/');
		if (!strncmp(p, "records/", 8) && file && !strncmp(file + 1, id, idlen) && !strcmp(file + 1 + idlen, ".json"))
			return true;
	}
	return false;
}

/* The records changed and deleted since base (a commit): work in proportion to the change. */
static int select_changes(seal_ctx *ctx, const char *base)
{
	git_oid oid;
	git_commit *commit = NULL;
	git_tree *old = NULL, *now = NULL;
	git_diff *diff = NULL;
	git_diff_options dopts;
	char *paths[] = { (char *)"records", (char *)"tombstones", (char *)"conflicts" };
	int error;

	git_diff_options_init(&dopts, GIT_DIFF_OPTIONS_VERSION);
	dopts.pathspec.strings = paths;
	dopts.pathspec.count = 3;
	if (git_oid_fromstr(&oid, base) < 0 || git_commit_lookup(&commit, ctx->s->repo, &oid) < 0 ||
	    git_commit_tree(&old, commit) < 0) {
		error = xch_error_set(XCH_ENOTFOUND, "the acknowledged state %.12s is not in the store; seal with --full", base);
		goto done;
	}
	if ((error = xch_store_head_tree(&now, NULL, ctx->s)) < 0)
		goto done;
	if ((error = git_diff_tree_to_tree(&diff, ctx->s->repo, old, now, &dopts)) < 0) {
		error = xch_error_from_git(error, "cannot compare with the acknowledged state");
		goto done;
	}
	for (size_t i = 0; i < git_diff_num_deltas(diff) && !error; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		git_blob *blob = NULL;
		if (!strncmp(d->old_file.path, "conflicts/", 10)) {
			/*
			 * A conflict resolved since: its outcome goes, even when the record's
			 * bytes did not change (--ours), unless the record changed anyway.
			 */
			const char *file = strrchr(d->old_file.path, '/') + 1;
			char id[200];
			xch_record *r = NULL;
			if (d->status != GIT_DELTA_DELETED || strlen(file) < 6 || strlen(file) - 5 >= sizeof(id))
				continue;
			snprintf(id, sizeof(id), "%.*s", (int)(strlen(file) - 5), file);
			if (!changed_in(diff, id) && xch_store_get(&r, ctx->s, id) == 0 &&
			    (!ctx->opts->type || !strcmp(ctx->opts->type, xch_record_type(r)))) {
				ctx->forced = true;
				error = select_record(r, ctx);
				ctx->forced = false;
			}
			xch_record_free(r);
			xch_error_clear();
			continue;
		}
		if (d->status == GIT_DELTA_DELETED)
			continue; /* a deleted record shows as its tombstone */
		if ((error = git_blob_lookup(&blob, ctx->s->repo, &d->new_file.id)) < 0) {
			error = xch_error_from_git(error, "cannot read '%s'", d->new_file.path);
			break;
		}
		if (!strncmp(d->new_file.path, "records/", 8)) {
			xch_record *r = NULL;
			if ((error = xch_record_parse(&r, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
			                              d->new_file.path)) == 0 &&
			    (!ctx->opts->type || !strcmp(ctx->opts->type, xch_record_type(r))))
				error = select_record(r, ctx);
			xch_record_free(r);
		} else {
			json_t *t = NULL;
			if ((error = xch_json_parse(&t, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
			                            d->new_file.path)) == 0)
				error = add_tombstone(ctx, t);
		}
		git_blob_free(blob);
	}
done:
	git_diff_free(diff);
	git_tree_free(old);
	git_tree_free(now);
	git_commit_free(commit);
	return error;
}

/*
 * The base of an incremental bundle: the oldest state every recipient of
 * the channel acknowledged, or NULL when one of them acknowledged nothing.
 */
static const char *acknowledged_base(const json_t *state, const xch_seal_options *opts)
{
	json_t *acked = json_object_get(state, "acked");
	const char *base = NULL;
	json_int_t lowest = 0;

	for (size_t i = 0; i < opts->nto; i++) {
		json_t *a = json_object_get(acked, opts->to[i]);
		json_int_t seq = json_integer_value(json_object_get(a, "sequence"));
		if (!a || !xch_json_str(a, "commit"))
			return NULL;
		if (!base || seq < lowest) {
			base = xch_json_str(a, "commit");
			lowest = seq;
		}
	}
	return base;
}

/* For a receipt: the last bundle delivered on each of partner's channels to us. */
static int collect_received(json_t **out, xch_store *s, const char *partner)
{
	git_tree *tree = NULL, *dir = NULL;
	git_tree_entry *e = NULL;
	xch_buf path = XCH_BUF_INIT;
	int error;

	*out = json_array();
	if ((error = xch_store_head_tree(&tree, NULL, s)) < 0)
		return error;
	xch_buf_printf(&path, "state/in/%s", partner);
	if (git_tree_entry_bypath(&e, tree, path.ptr) != 0 || git_tree_lookup(&dir, s->repo, git_tree_entry_id(e)) < 0)
		goto done;
	for (size_t i = 0; i < git_tree_entrycount(dir) && !error; i++) {
		const git_tree_entry *ce = git_tree_entry_byindex(dir, i);
		git_blob *blob = NULL;
		json_t *st = NULL, *ids;
		char channel[33];
		if (strlen(git_tree_entry_name(ce)) != 37 || git_blob_lookup(&blob, s->repo, git_tree_entry_id(ce)) < 0)
			continue;
		snprintf(channel, sizeof(channel), "%.32s", git_tree_entry_name(ce));
		if ((error = xch_json_parse(&st, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
		                            git_tree_entry_name(ce))) == 0 &&
		    json_array_size(ids = json_object_get(st, "bundles")) > 0 &&
		    !json_is_true(json_object_get(st, "receipt")))
			json_array_append_new(*out, json_pack("{s:s, s:O, s:O}", "channel", channel,
				"sequence", json_object_get(st, "sequence"),
				"bundle_id", json_array_get(ids, json_array_size(ids) - 1)));
		json_decref(st);
		git_blob_free(blob);
	}
done:
	git_tree_free(dir);
	git_tree_entry_free(e);
	git_tree_free(tree);
	xch_buf_dispose(&path);
	return error;
}

/* A receipt was sealed: nothing is pending for those channels any more. */
static int clear_receipt_pending(xch_change *ch, xch_store *s, const char *partner, json_t *received)
{
	xch_buf path = XCH_BUF_INIT, text = XCH_BUF_INIT;
	json_t *r;
	size_t i;
	int error = 0;

	json_array_foreach(received, i, r) {
		git_blob *blob = NULL;
		json_t *st = NULL;
		git_oid oid;
		xch_buf_clear(&path);
		xch_buf_printf(&path, "state/in/%s/%s.json", partner, xch_json_str(r, "channel"));
		if (!xch_change_lookup(ch, path.ptr, &oid) || git_blob_lookup(&blob, s->repo, &oid) < 0)
			continue;
		if ((error = xch_json_parse(&st, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), path.ptr)) == 0) {
			json_object_set_new(st, "receipt_pending", json_false());
			if ((error = xch_json_canonical(&text, st)) == 0)
				error = xch_change_put_file(ch, path.ptr, text.ptr, text.size);
		}
		json_decref(st);
		git_blob_free(blob);
		if (error < 0)
			break;
	}
	xch_buf_dispose(&path);
	xch_buf_dispose(&text);
	return error;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int xch_bundle_seal(xch_seal_result *out, xch_store *s, const xch_seal_options *opts)
{
	seal_ctx ctx = { 0 };
	xch_crypto *c = NULL;
	xch_change *ch = NULL;
	xch_buf me = XCH_BUF_INIT, tmp = XCH_BUF_INIT, env = XCH_BUF_INIT;
	xch_buf sig = XCH_BUF_INIT, state_path = XCH_BUF_INIT, state_data = XCH_BUF_INIT, keyids = XCH_BUF_INIT;
	xch_buf commit_msg = XCH_BUF_INIT;
	xch_container_writer *cw = NULL;
	json_t *recips = NULL, *names = NULL, *entries = NULL, *m = NULL;
	json_t *envj = NULL, *state = NULL, *rkeyids = NULL;
	const char **fprs = NULL, **sorted = NULL;
	char **fpr_store = NULL;
	char created[32], expires[32], payload_sha[XCH_SHA256_HEXSIZE + 1];
	unsigned char rnd[16];
	uint64_t payload_size = 0;
	time_t now = xch_time_now();
	pthread_t th;
	bool thread_started = false;
	int fd = -1, pipefd[2] = { -1, -1 }, error;
	producer_ctx prod = { 0 };
	json_t *received = NULL;
	const char *base_commit = NULL;
	json_int_t seq;
	int64_t valid = DEFAULT_EXPIRY;

	XCH_ARG(out && s && opts && opts->nto > 0);
	if (opts->version != XCH_SEAL_OPTIONS_VERSION)
		return xch_error_set(XCH_EINVALID, "unsupported seal options version %u", opts->version);
	/* a usage error before any work: nothing selected, nothing reported */
	if (opts->expires && (error = xch_duration_parse(&valid, opts->expires)) < 0)
		goto done;
	ctx.s = s;
	ctx.opts = opts;
	ctx.tombstones = json_array();
	recips = json_array();
	names = json_array();
	entries = json_array();
	rkeyids = json_array();
	ctx.explicit = opts->nids > 0;

	/* who seals, to whom */
	if ((error = xch_store_identity(&me, s)) < 0 || (error = xch_crypto_new(&c, NULL)) < 0)
		goto done;
	if ((error = xch_crypto_check_key(c, me.ptr, true, true)) < 0) {
		xch_error_prefix("cannot sign with our identity %s", me.ptr);
		goto done;
	}
	fprs = calloc(opts->nto, sizeof(*fprs));
	fpr_store = calloc(opts->nto, sizeof(*fpr_store));
	sorted = calloc(opts->nto, sizeof(*sorted));
	if (!fprs || !fpr_store || !sorted) {
		error = xch_error_oom();
		goto done;
	}
	for (size_t i = 0; i < opts->nto; i++) {
		xch_partner *p = NULL;
		char *nl;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(opts->to[i], opts->to[j])) {
				error = xch_error_set(XCH_EINVALID, "partner '%s' named twice", opts->to[i]);
				goto done;
			}
		if ((error = xch_partner_lookup(&p, s, opts->to[i])) < 0)
			goto done;
		fpr_store[i] = strdup(xch_partner_key(p, 0));
		xch_partner_free(p);
		if (!fpr_store[i]) {
			error = xch_error_oom();
			goto done;
		}
		fprs[i] = fpr_store[i];
		sorted[i] = opts->to[i];
		if ((error = xch_crypto_check_key(c, fprs[i], false, false)) < 0) {
			xch_error_prefix("cannot encrypt to partner '%s'", opts->to[i]);
			goto done;
		}
		xch_buf_clear(&keyids);
		if ((error = xch_crypto_encryption_keyids(c, fprs[i], true, &keyids)) < 0)
			goto done;
		if ((nl = strchr(keyids.ptr, '\n')))
			*nl = '\0';
		json_array_append_new(rkeyids, json_string(keyids.ptr));
		json_array_append_new(recips, json_pack("{s:s, s:s}", "name", opts->to[i], "fpr", fprs[i]));
	}
	qsort(sorted, opts->nto, sizeof(*sorted), cmp_str);
	for (size_t i = 0; i < opts->nto; i++)
		json_array_append_new(names, json_string(sorted[i]));

	/* what goes: the lock is held from here to the end */
	if (!opts->dry_run && (error = xch_change_new(&ch, s)) < 0)
		goto done;
	if ((error = xch_store_schemas(&ctx.schemas, s)) < 0 ||
	    (error = xch_store_head_tree(&ctx.head, NULL, s)) < 0)
		goto done;
	if ((error = channel_state(&state, &state_path, s, names, opts->receipt)) < 0)
		goto done;
	if (opts->receipt) {
		if (opts->nto != 1 || opts->nids || opts->type) {
			error = xch_error_set(XCH_EINVALID, "a receipt goes to one partner and holds no records");
			goto done;
		}
		if ((error = collect_received(&received, s, opts->to[0])) < 0)
			goto done;
		if (json_array_size(received) == 0) {
			error = xch_error_set(XCH_ENOTFOUND, "nothing received from '%s' to acknowledge", opts->to[0]);
			goto done;
		}
	} else if (opts->nids) {
		for (size_t i = 0; i < opts->nids && !error; i++) {
			xch_record *r = NULL;
			if ((error = xch_store_get(&r, s, opts->ids[i])) == 0) {
				if (opts->type && strcmp(opts->type, xch_record_type(r)))
					error = xch_error_set(XCH_EINVALID, "record '%s' is an %s, not an %s",
					                      opts->ids[i], xch_record_type(r), opts->type);
				else
					error = select_record(r, &ctx);
			}
			xch_record_free(r);
		}
	} else if (!opts->full && !opts->type && (base_commit = acknowledged_base(state, opts))) {
		out->incremental = 1;
		error = select_changes(&ctx, base_commit);
	} else {
		error = xch_store_foreach(s, opts->type, select_record, &ctx);
		if (!error)
			error = collect_tombstones(&ctx);
	}
	if (error < 0)
		goto done;

	if (!opts->receipt && !ctx.explicit && ctx.nentries == 0 && json_array_size(ctx.tombstones) == 0 &&
	    (out->incremental || opts->only_new)) {
		out->nothing = 1; /* everything was acknowledged: no bundle, no sequence spent */
		out->left_out = ctx.left_out;
		goto done;
	}

	/* the manifest */
	seq = json_integer_value(json_object_get(state, "sequence")) + 1;
	if ((error = xch_random(rnd, sizeof(rnd))) < 0)
		goto done;
	xch_buf_clear(&tmp);
	xch_buf_put_hex(&tmp, rnd, sizeof(rnd));
	memcpy(out->bundle_id, tmp.ptr, 33);
	xch_time_format(created, now);
	xch_time_format(expires, now + valid);
	{
		size_t natt = 0;
		for (size_t i = 0; i < ctx.nentries; i++)
			natt += !strncmp(ctx.entries[i].m.path, "attachments/", 12);
		out->records = ctx.nentries - natt;
		out->attachments = natt;
	}
	out->tombstones = json_array_size(ctx.tombstones);
	out->left_out = ctx.left_out;
	out->sequence = (uint64_t)seq;
	/* the entries' text is written one by one, not held: "entries" stays empty here */
	m = json_pack("{s:s, s:s, s:{s:s}, s:O, s:s, s:I, s:s?, s:s, s:s, s:s, s:O, s:O, s:{s:I, s:I, s:I}}",
		"format", BUNDLE_FORMAT, "bundle_id", out->bundle_id, "sender", "fpr", me.ptr,
		"recipients", recips, "channel", xch_json_str(state, "channel"), "sequence", seq, "base",
		base_commit, "kind", opts->receipt ? "receipt" : base_commit ? "incremental" : "full",
		"created", created, "expires", expires, "entries", entries,
		"tombstones", ctx.tombstones, "counts", "records", (json_int_t)out->records,
		"attachments", (json_int_t)out->attachments, "tombstones", (json_int_t)out->tombstones);
	if (m && received)
		json_object_set(m, "received", received);
	if (!m) {
		error = xch_error_oom();
		goto done;
	}
	if ((error = xch_manifest_text_split(&prod.manifest, m)) < 0 ||
	    (error = manifest_size(&prod.manifest_len, &prod.manifest, ctx.entries, ctx.nentries)) < 0)
		goto done;
	if (prod.manifest_len > MANIFEST_MAX) {
		/* never write a bundle every reader must refuse */
		error = xch_error_set(XCH_ETOOBIG, "the manifest of %zu entries would be %llu bytes, over the %u-byte "
		                      "limit; seal fewer records at a time (--type, --id)", ctx.nentries,
		                      (unsigned long long)prod.manifest_len, MANIFEST_MAX);
		goto done;
	}
	if (opts->dry_run)
		goto done;

	/* payload: records -> pax tar -> parallel gzip -> pipe -> gpg -> container */
	if (opts->output)
		error = xch_buf_sets(&out->path, opts->output);
	else
		error = xch_buf_printf(&out->path, "bundle-%.12s.xch", out->bundle_id);
	if (error < 0 || (error = xch_file_open_temp(&fd, &tmp, out->path.ptr)) < 0)
		goto done;
	if ((error = xch_container_writer_new(&cw, fd, (int64_t)now)) < 0)
		goto fail;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		error = xch_error_set_os(XCH_EOS, "cannot make a pipe");
		goto fail;
	}
	prod.gitdir = s->gitdir;
	prod.entries = ctx.entries;
	prod.nentries = ctx.nentries;
	prod.mtime = (int64_t)now;
	prod.fd = pipefd[1];
	if (pthread_create(&th, NULL, producer, &prod) != 0) {
		error = xch_error_set(XCH_EOS, "cannot start a thread");
		goto fail;
	}
	pipefd[1] = -1; /* the producer closes it */
	thread_started = true;
	error = xch_crypto_sign_encrypt(c, me.ptr, fprs, opts->nto, opts->armor, fd_read, &pipefd[0],
	                                container_sink, cw);
	close(pipefd[0]);
	pipefd[0] = -1;
	pthread_join(th, NULL);
	thread_started = false;
	if (prod.err.code) {
		error = thread_error_give(&prod.err);
		goto fail;
	}
	if (error < 0 || (error = xch_container_payload_done(cw, &payload_size, payload_sha)) < 0)
		goto fail;

	/* the envelope, signed apart so a transfer station can check it */
	envj = json_pack("{s:s, s:s, s:s, s:O, s:s, s:I, s:s, s:s, s:{s:I, s:s}}",
		"format", ENVELOPE_FORMAT, "bundle_id", out->bundle_id, "sender_fpr", me.ptr,
		"recipients", rkeyids, "channel", xch_json_str(state, "channel"), "sequence", seq,
		"created", created, "expires", expires, "payload", "size", (json_int_t)payload_size,
		"sha256", payload_sha);
	if (!envj || (error = xch_json_canonical(&env, envj)) < 0) {
		error = envj ? error : xch_error_oom();
		goto fail;
	}
	if ((error = xch_crypto_sign_detached(c, me.ptr, env.ptr, env.size, false, &sig)) < 0 ||
	    (error = xch_container_add(cw, XCH_CONTAINER_ENVELOPE, env.ptr, env.size)) < 0 ||
	    (error = xch_container_add(cw, XCH_CONTAINER_SIGNATURE, sig.ptr, sig.size)) < 0 ||
	    (error = xch_container_finish(cw)) < 0)
		goto fail;
	out->size = xch_container_writer_bytes(cw);

	/* the sequence is ours once the bundle is complete; then it takes its name */
	json_object_set_new(state, "sequence", json_integer(seq));
	json_object_set_new(state, "last_bundle", json_string(out->bundle_id));
	if (!opts->receipt) {
		/* what this sequence sealed: the base of later deltas once it is acknowledged */
		json_t *sent = json_object_get(state, "sent");
		char hex[GIT_OID_HEXSZ + 1];
		if (!sent)
			json_object_set_new(state, "sent", sent = json_array());
		git_oid_tostr(hex, sizeof(hex), xch_change_base_id(ch));
		json_array_append_new(sent, json_pack("{s:I, s:s, s:s}", "sequence", seq, "bundle", out->bundle_id,
		                                      "commit", hex));
		while (json_array_size(sent) > 256)
			json_array_remove(sent, 0);
	} else if ((error = clear_receipt_pending(ch, s, opts->to[0], received)) < 0) {
		goto fail;
	}
	/*
	 * What we sent, per recipient: once they have it, their next edits are
	 * based on it (they say so in each entry's base). It is not what we
	 * share until they send it back or build on it: crossing edits must
	 * meet at the version both really had.
	 */
	for (size_t i = 0; i < ctx.nentries && !error; i++) {
		xch_buf sp = XCH_BUF_INIT;
		if (strncmp(ctx.entries[i].tree_path, "records/", 8))
			continue;
		for (size_t k = 0; k < opts->nto && !error; k++) {
			xch_buf_clear(&sp);
			if ((error = xch_buf_printf(&sp, "sent/%s/%s", opts->to[k], ctx.entries[i].tree_path + 8)) == 0)
				error = xch_change_put_oid(ch, sp.ptr, &ctx.entries[i].oid);
		}
		xch_buf_dispose(&sp);
	}
	if (error < 0)
		goto fail;
	{
		json_t *t;
		size_t ti;
		json_array_foreach(ctx.tombstones, ti, t) {
			xch_buf rp = XCH_BUF_INIT, sp = XCH_BUF_INIT;
			if ((error = xch_store_record_path(&rp, xch_json_str(t, "type"), xch_json_str(t, "id"))) == 0)
				for (size_t k = 0; k < opts->nto && !error; k++) {
					xch_buf_clear(&sp);
					/*
					 * sent/ keeps the tombstone: the recipient had the record (so a lost
					 * deletion can go again), and this deletion went (sync and export
					 * need not send it twice)
					 */
					git_oid toid;
					if ((error = xch_buf_printf(&sp, "sent/%s/%s", opts->to[k], rp.ptr + 8)) == 0)
						error = tombstone_oid(&toid, ctx.head, xch_json_str(t, "id"))
						        ? xch_change_put_oid(ch, sp.ptr, &toid) : xch_change_put_file(ch, sp.ptr, NULL, 0);
				}
			xch_buf_dispose(&rp);
			xch_buf_dispose(&sp);
			if (error < 0)
				goto fail;
		}
	}
	if ((error = xch_json_canonical(&state_data, state)) < 0 ||
	    (error = xch_change_put_file(ch, state_path.ptr, state_data.ptr, state_data.size)) < 0 ||
	    (error = xch_buf_printf(&commit_msg, "seal %s: sequence %lld to %s\n\nBundle: %s\n",
	                            xch_json_str(state, "channel"), (long long)seq,
	                            opts->to[0], out->bundle_id)) < 0 ||
	    (error = xch_change_commit(ch, commit_msg.ptr, NULL)) < 0)
		goto fail;
	error = xch_file_commit(fd, tmp.ptr, out->path.ptr);
	fd = -1;
	goto done;
fail:
	if (fd >= 0) {
		close(fd);
		fd = -1;
		unlink(tmp.ptr);
	}
done:
	if (thread_started) {
		close(pipefd[0]);
		pthread_join(th, NULL);
	}
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (fd >= 0) {
		close(fd);
		unlink(tmp.ptr);
	}
	xch_container_writer_free(cw);
	for (size_t i = 0; i < ctx.nentries; i++) {
		free(ctx.entries[i].m.path);
		free(ctx.entries[i].tree_path);
	}
	free(ctx.entries);
	for (size_t i = 0; fpr_store && i < opts->nto; i++)
		free(fpr_store[i]);
	free(fpr_store);
	free(fprs);
	free(sorted);
	json_decref(ctx.tombstones);
	git_tree_free(ctx.head);
	json_decref(recips);
	json_decref(names);
	json_decref(entries);
	json_decref(rkeyids);
	json_decref(m);
	json_decref(envj);
	json_decref(received);
	json_decref(state);
	xch_change_free(ch);
	xch_crypto_free(c);
	xch_buf_dispose(&me);
	xch_buf_dispose(&tmp);
	xch_manifest_text_dispose(&prod.manifest);
	xch_buf_dispose(&env);
	xch_buf_dispose(&sig);
	xch_buf_dispose(&state_path);
	xch_buf_dispose(&state_data);
	xch_buf_dispose(&keyids);
	xch_buf_dispose(&commit_msg);
	return error;
}

void xch_seal_result_dispose(xch_seal_result *r)
{
	if (r)
		xch_buf_dispose(&r->path);
}

/* ---- verify and open ---------------------------------------------------- */

typedef struct {
	xch_crypto *c;
	xch_container *box;
	xch_chan *out;       /* the plaintext, to the payload reader */
	bool reader_gone;    /* a write failed because the reader had stopped */
	xch_crypto_result result;
	int code;
	thread_error err;
} decrypt_ctx;

static ssize_t box_read(void *payload, void *buf, size_t len)
{
	return xch_container_payload_read(payload, buf, len);
}

static int chan_write(void *payload, const void *data, size_t len)
{
	decrypt_ctx *d = payload;

	if (xch_chan_write(d->out, data, len) != 0) {
		d->reader_gone = true;
		return xch_error_set(XCH_EOS, "cannot pass on the decrypted payload: the reader stopped");
	}
	return 0;
}

static void *decryptor(void *arg)
{
	decrypt_ctx *d = arg;
	d->code = xch_crypto_decrypt_verify(d->c, box_read, d->box, chan_write, d, &d->result);
	if (d->code < 0)
		thread_error_take(&d->err, d->code);
	xch_chan_close_write(d->out);
	return NULL;
}

static ssize_t chan_pull(void *payload, const void **buf)
{
	return (ssize_t)xch_chan_pull(payload, buf);
}

static int info_new(xch_bundle_info **out)
{
	if (!(*out = calloc(1, sizeof(**out))))
		return xch_error_oom();
	return 0;
}

void xch_bundle_info_free(xch_bundle_info *i)
{
	if (!i)
		return;
	free(i->envelope);
	free(i->manifest);
	free(i->sender);
	free(i->signature);
	free(i->problem);
	free(i);
}

const char *xch_bundle_info_envelope(const xch_bundle_info *i) { return i->envelope; }
const char *xch_bundle_info_manifest(const xch_bundle_info *i) { return i->manifest; }
const char *xch_bundle_info_sender(const xch_bundle_info *i) { return i->sender; }
const char *xch_bundle_info_signature(const xch_bundle_info *i) { return i->signature; }
const char *xch_bundle_info_problem(const xch_bundle_info *i) { return i->problem; }

static bool str_eq(const json_t *a, const json_t *b)
{
	return json_is_string(a) && json_is_string(b) && !strcmp(json_string_value(a), json_string_value(b));
}

/*
 * Check the envelope: signature by a pinned key, form, expiry. The
 * signature is checked over the bytes before they are parsed: an altered
 * envelope is a bad signature, however the alteration reads as JSON.
 */
static int check_envelope(json_t **envj_out, xch_bundle_info *info, xch_store *s, xch_crypto *c,
                          xch_container *box, bool judge)
{
	const xch_buf *env = xch_container_envelope(box), *sig = xch_container_signature(box);
	xch_schema_set *set;
	xch_violations *v = NULL;
	xch_partner *p = NULL;
	xch_buf canon = XCH_BUF_INIT;
	json_t *envj = NULL;
	char signer[41] = "";
	int64_t sig_time = 0;
	time_t expires;
	int error, sig_error;

	sig_error = xch_crypto_verify_detached(c, env->ptr, env->size, sig->ptr, sig->size, signer, &sig_time);
	if (sig_error < 0) {
		xch_error_prefix("envelope.sig");
		if (!(info->signature = strdup(xch_error_last()->message)))
			return xch_error_oom();
		if (judge)
			return sig_error;
	}
	if ((error = xch_json_parse(&envj, env->ptr, env->size, "envelope.json")) < 0)
		return error;
	*envj_out = envj;
	if ((error = xch_json_canonical(&canon, envj)) < 0)
		return error;
	info->envelope = xch_buf_detach(&canon);
	if ((error = xch_store_schemas(&set, s)) < 0)
		return error;
	if ((error = xch_schema_validate_json(&v, set, "urn:xch:schema:envelope", envj)) < 0) {
		if (error == XCH_ESCHEMA)
			error = xch_error_set(XCH_EMALFORMED, "envelope.json is malformed: %s: %s",
			                      *xch_violations_instance(v, 0) ? xch_violations_instance(v, 0) : "/",
			                      xch_violations_message(v, 0));
		xch_violations_free(v);
		return error;
	}
	if (strcmp(xch_json_str(envj, "format"), ENVELOPE_FORMAT))
		return xch_error_set(XCH_EUNSUPPORTED, "unsupported bundle format '%s'", xch_json_str(envj, "format"));
	if (sig_error < 0)
		return 0; /* inspect: the envelope is shown, its signature failed */
	if (strcasecmp(signer, xch_json_str(envj, "sender_fpr"))) {
		error = xch_error_set(XCH_EBADSIG, "envelope signed by %s but claims sender %s", signer,
		                      xch_json_str(envj, "sender_fpr"));
		info->signature = strdup(xch_error_last()->message);
		return judge ? error : 0;
	}
	if ((error = xch_partner_by_key(&p, s, signer)) < 0) {
		error = xch_error_set(XCH_EUNTRUSTED, "bundle signed by %s, which is not a pinned partner key", signer);
		info->signature = strdup(xch_error_last()->message);
		return judge ? error : 0;
	}
	info->sender = strdup(xch_partner_name(p));
	xch_buf_printf(&canon, "good signature by partner '%s' (%s)", xch_partner_name(p), signer);
	info->signature = xch_buf_detach(&canon);
	xch_partner_free(p);
	if (xch_time_parse(&expires, xch_json_str(envj, "expires")) < 0)
		return xch_error_set(XCH_EMALFORMED, "envelope.json has a bad expiry time");
	if (judge && xch_time_now() > expires)
		return xch_error_set(XCH_EEXPIRED, "bundle expired at %s", xch_json_str(envj, "expires"));
	return 0;
}

/* Hash the whole payload region against the signed envelope, before decrypting a byte. */
static int check_payload_hash(xch_container *box, const json_t *envj)
{
	char buf[1 << 16], hex[XCH_SHA256_HEXSIZE + 1];
	json_t *pl = json_object_get(envj, "payload");
	ssize_t n;
	int error;

	if ((uint64_t)json_integer_value(json_object_get(pl, "size")) != xch_container_payload_size(box))
		return xch_error_set(XCH_ETAMPERED, "payload is %llu bytes, the envelope says %lld",
		                     (unsigned long long)xch_container_payload_size(box),
		                     (long long)json_integer_value(json_object_get(pl, "size")));
	if ((error = xch_container_payload_rewind(box)) < 0)
		return error;
	while ((n = xch_container_payload_read(box, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		return (int)n;
	if ((error = xch_container_payload_sha256(box, hex)) < 0)
		return error;
	if (strcmp(hex, xch_json_str(pl, "sha256")))
		return xch_error_set(XCH_ETAMPERED, "payload does not match its envelope (SHA-256 %.16s..., "
		                     "signed %.16s...)", hex, xch_json_str(pl, "sha256"));
	return xch_container_payload_rewind(box);
}

/* The manifest's entries, read one by one: each checked against its schema. */
typedef struct {
	xch_schema_set *set;
	xch_manifest_entries *entries;
} entry_reader;

static int take_entry(json_t *e, size_t index, void *payload)
{
	entry_reader *er = payload;
	xch_violations *v = NULL;
	int error;

	/*
	 * The schema's maxItems (1,000,000) cannot be reached: the manifest's
	 * size limit holds about a tenth of that many entries.
	 */
	if ((error = xch_schema_validate_json(&v, er->set, "urn:xch:schema:manifest#/properties/entries/items", e)) < 0) {
		if (error == XCH_ESCHEMA)
			error = xch_error_set(XCH_EMALFORMED, "manifest.json is malformed: /entries/%zu%s: %s", index,
			                      xch_violations_instance(v, 0), xch_violations_message(v, 0));
		xch_violations_free(v);
		return error;
	}
	return xch_manifest_entries_add_json(er->entries, e);
}

static int check_manifest(const json_t *m, const xch_manifest_entries *entries, const json_t *envj, const char *me)
{
	static const char *const same[] = { "bundle_id", "channel", "created", "expires", NULL };
	json_t *r;
	size_t i;
	bool ours = false;

	if (strcmp(xch_json_str(m, "format"), BUNDLE_FORMAT))
		return xch_error_set(XCH_EUNSUPPORTED, "unsupported manifest format '%s'", xch_json_str(m, "format"));
	/*
	 * First whom it is for: a payload forwarded to us under another
	 * envelope (surreptitious forwarding) disagrees with that envelope on
	 * everything, but this is what tells the story.
	 */
	json_array_foreach(json_object_get(m, "recipients"), i, r)
		if (!strcasecmp(xch_json_str(r, "fpr"), me))
			ours = true;
	if (!ours)
		return xch_error_set(XCH_ENOTFORUS, "the signed manifest does not name us as a recipient: "
		                     "re-encrypted to us by someone else?");
	for (i = 0; same[i]; i++)
		if (!str_eq(json_object_get(m, same[i]), json_object_get(envj, same[i])))
			return xch_error_set(XCH_ETAMPERED, "manifest and envelope disagree on %s: they are not "
			                     "from the same bundle", same[i]);
	if (json_integer_value(json_object_get(m, "sequence")) != json_integer_value(json_object_get(envj, "sequence")))
		return xch_error_set(XCH_ETAMPERED, "manifest and envelope disagree on the sequence");
	if (strcasecmp(xch_json_str(json_object_get(m, "sender"), "fpr"), xch_json_str(envj, "sender_fpr")))
		return xch_error_set(XCH_ETAMPERED, "manifest and envelope name different senders");
	{
		/* a manifest that lies about its counts is refused */
		json_t *counts = json_object_get(m, "counts");
		json_int_t nrec = 0, natt = 0;
		for (i = 0; i < entries->n; i++)
			if (!strncmp(entries->v[i].path, "records/", 8))
				nrec++;
			else
				natt++;
		if (json_integer_value(json_object_get(counts, "records")) != nrec ||
		    json_integer_value(json_object_get(counts, "attachments")) != natt ||
		    json_integer_value(json_object_get(counts, "tombstones")) !=
		    (json_int_t)json_array_size(json_object_get(m, "tombstones")))
			return xch_error_set(XCH_ETAMPERED, "manifest counts do not match its entries");
	}
	return 0;
}

/* Write an extracted entry under dir, never outside it. */
static int open_out(int *fd, const char *dir, const char *path);

/*
 * The directory sink of xch open: entries become files under a new
 * directory. The files are written by a thread of their own, so that the
 * system calls overlap the reading, inflating and hashing of what comes
 * next: the sink queues what to do (DIR_QUEUE_BYTES at most) and reports
 * the writer's first error on its next call.
 */
#define DIR_QUEUE_BYTES (4 * 1024 * 1024)
#define DIR_QUEUE_OPS 1024

enum dir_op_kind { DIR_OPEN, DIR_DATA, DIR_CLOSE, DIR_DISCARD };

typedef struct {
	enum dir_op_kind kind;
	char *arg;              /* the path to open, or the data */
	size_t len;
} dir_op;

typedef struct {
	const char *dir;
	int fd;                 /* the writer's */
	xch_workq *wq;
} dir_sink;

/* An operation, on the writer (after an error, only closes). */
static int dir_run(void *ctx, size_t worker, void *job, bool after_error)
{
	dir_sink *d = ctx;
	dir_op *op = job;
	int error = 0;

	(void)worker;
	switch (op->kind) {
	case DIR_OPEN:
		if (!after_error)
			error = open_out(&d->fd, d->dir, op->arg);
		break;
	case DIR_DATA:
		if (!after_error)
			error = xch_write_all(d->fd, op->arg, op->len);
		break;
	case DIR_CLOSE:
	case DIR_DISCARD:
		if (d->fd >= 0 && close(d->fd) < 0 && op->kind == DIR_CLOSE)
			error = xch_error_set_os(XCH_EOS, "cannot write into '%s'", d->dir);
		d->fd = -1;
		break;
	}
	free(op->arg);
	return error;
}

static void dir_drop(void *job)
{
	free(((dir_op *)job)->arg);
}

/* Queue an operation, which takes arg. */
static int dir_queue(dir_sink *d, enum dir_op_kind kind, char *arg, size_t len)
{
	dir_op op = { kind, arg, len };
	int error;

	if ((kind == DIR_OPEN || kind == DIR_DATA) && !arg)
		return xch_error_oom();
	if (!d->wq && (error = xch_workq_new(&d->wq, sizeof(dir_op), DIR_QUEUE_OPS, DIR_QUEUE_BYTES, 1, dir_run,
	                                     dir_drop, d)) < 0) {
		free(arg);
		return error;
	}
	return xch_workq_push(d->wq, &op, kind == DIR_DATA ? len : 0);
}

/* Wait until every file is written; the writer's first error. */
static int dir_flush(dir_sink *d)
{
	return xch_workq_drain(d->wq);
}

/* Stop the writer (what is queued is still done: files get closed). */
static void dir_stop(dir_sink *d)
{
	xch_workq_free(d->wq);
	d->wq = NULL;
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

static int dir_begin(void *payload, const char *path, uint64_t size)
{
	(void)size;
	return dir_queue(payload, DIR_OPEN, strdup(path), 0);
}

static int dir_write(void *payload, const void *data, size_t len)
{
	char *copy;
	if (!len)
		return 0;
	if (!(copy = malloc(len)))
		return xch_error_oom();
	memcpy(copy, data, len);
	return dir_queue(payload, DIR_DATA, copy, len);
}

static int dir_end(void *payload, bool ok)
{
	return dir_queue(payload, ok ? DIR_CLOSE : DIR_DISCARD, NULL, 0);
}

static int dir_manifest(void *payload, const json_t *manifest, const xch_manifest_entries *entries)
{
	dir_sink *d = payload;
	xch_buf text = XCH_BUF_INIT;
	int error;
	if ((error = xch_manifest_text_full(&text, manifest, entries->v, entries->n)) == 0 &&
	    (error = dir_begin(d, "manifest.json", text.size)) == 0) {
		error = dir_write(d, text.ptr, text.size);
		int e = dir_end(d, error == 0);
		if (!error)
			error = e;
	}
	xch_buf_dispose(&text);
	return error;
}

static int open_out(int *fd, const char *dir, const char *path)
{
	xch_buf p = XCH_BUF_INIT;
	const char *slash = strchr(path, '/');
	int error = 0;

	xch_buf_printf(&p, "%s/%s", dir, path);
	*fd = open(p.ptr, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd < 0 && errno == ENOENT && slash) {
		/* the first entry of records/ or attachments/ makes the directory */
		xch_buf sub = XCH_BUF_INIT;
		xch_buf_printf(&sub, "%s/%.*s", dir, (int)(slash - path), path);
		error = xch_mkdir_private(sub.ptr, true);
		xch_buf_dispose(&sub);
		if (error < 0)
			goto done;
		*fd = open(p.ptr, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (*fd < 0)
		error = xch_error_set_os(XCH_EOS, "cannot create '%s'", p.ptr);
done:
	xch_buf_dispose(&p);
	return error;
}

static int read_payload(xch_bundle_info *info, xch_store *s, xch_payload_reader *rd, const json_t *envj,
                        const char *me, const xch_entry_sink *sink)
{
	xch_schema_set *set;
	xch_violations *v = NULL;
	xch_buf mbuf = XCH_BUF_INIT, canon = XCH_BUF_INIT;
	xch_manifest_entries entries = { 0 };
	json_t *m = NULL;
	bool *seen = NULL;
	size_t nwant = 0, next_want = 0, i;
	const char *path;
	uint64_t size;
	char buf[1 << 16];
	int error;

	if ((error = xch_payload_next(rd, &path, &size)) != 0 || strcmp(path, "manifest.json")) {
		if (error == 0)
			error = xch_error_set(XCH_ETAMPERED, "the payload does not start with manifest.json");
		else if (error == 1)
			error = xch_error_set(XCH_EMALFORMED, "the payload is empty");
		goto done;
	}
	if (size > MANIFEST_MAX) {
		error = xch_error_set(XCH_ETOOBIG, "manifest.json is larger than %u bytes", MANIFEST_MAX);
		goto done;
	}
	if ((error = xch_buf_grow(&mbuf, (size_t)size)) < 0)
		goto done;
	for (;;) {
		ssize_t n = xch_payload_read_data(rd, mbuf.ptr + mbuf.size, (size_t)size - mbuf.size + 1);
		if (n < 0) {
			error = (int)n;
			goto done;
		}
		if (n == 0)
			break;
		mbuf.size += (size_t)n;
	}
	if ((error = xch_store_schemas(&set, s)) < 0)
		goto done;
	{
		/* the entries apart, a compact struct each: as a tree, an entry takes about 1 KiB */
		entry_reader er = { set, &entries };
		if ((error = xch_json_parse_split(&m, mbuf.ptr, mbuf.size, "manifest.json", "entries", take_entry,
		                                  &er)) < 0)
			goto done;
	}
	xch_buf_dispose(&mbuf); /* a line per entry: not kept twice */
	if ((error = xch_schema_validate_json(&v, set, "urn:xch:schema:manifest", m)) < 0) {
		if (error == XCH_ESCHEMA)
			error = xch_error_set(XCH_EMALFORMED, "manifest.json is malformed: %s: %s",
			                      *xch_violations_instance(v, 0) ? xch_violations_instance(v, 0) : "/",
			                      xch_violations_message(v, 0));
		goto done;
	}
	if (sink && sink->manifest) {
		/* the sink has it: not kept as text too (a line an entry) */
		if ((error = sink->manifest(sink->payload, m, &entries)) < 0)
			goto done;
	} else if ((error = xch_manifest_text_full(&canon, m, entries.v, entries.n)) < 0) {
		goto done;
	} else {
		info->manifest = xch_buf_detach(&canon);
	}
	if ((error = check_manifest(m, &entries, envj, me)) < 0)
		goto done;
	nwant = entries.n;
	if (!(seen = calloc(nwant + 1, sizeof(*seen)))) {
		error = xch_error_oom();
		goto done;
	}
	while ((error = xch_payload_next(rd, &path, &size)) == 0) {
		const xch_manifest_entry *w = NULL;
		xch_sha256 *sha = NULL;
		unsigned char digest[32];
		uint64_t got = 0;
		bool begun = false;

		/* entries come in the manifest's order: one comparison each, whatever the count */
		if (next_want < nwant && !strcmp(entries.v[next_want].path, path))
			w = &entries.v[next_want++];
		if (!w) {
			for (i = 0; i < nwant && strcmp(entries.v[i].path, path); i++)
				;
			error = xch_error_set(XCH_ETAMPERED, "payload entry '%s' is %s", path,
			                      i < nwant ? "out of the manifest's order" : "not in the manifest");
			goto done;
		}
		seen[w - entries.v] = true;
		if (size != w->size) {
			error = xch_error_set(XCH_ETAMPERED, "payload entry '%s' is %llu bytes, the manifest says %llu",
			                      path, (unsigned long long)size, (unsigned long long)w->size);
			goto done;
		}
		if (sink && (error = sink->begin(sink->payload, path, size)) < 0)
			goto done;
		begun = sink != NULL;
		if ((error = xch_sha256_new(&sha)) < 0)
			goto entry_done;
		for (;;) {
			ssize_t n = xch_payload_read_data(rd, buf, sizeof(buf));
			if (n < 0) {
				error = (int)n;
				break;
			}
			if (n == 0)
				break;
			got += (uint64_t)n;
			if (got > w->size) {
				error = xch_error_set(XCH_ETAMPERED, "payload entry '%s' is longer than declared", path);
				break;
			}
			if ((error = xch_sha256_update(sha, buf, (size_t)n)) < 0 ||
			    (begun && (error = sink->write(sink->payload, buf, (size_t)n)) < 0))
				break;
		}
		if (!error && (error = xch_sha256_final(sha, digest)) == 0 && memcmp(digest, w->sha256, 32))
			error = xch_error_set(XCH_ETAMPERED, "payload entry '%s' does not match its SHA-256 in the "
			                      "manifest", path);
entry_done:
		xch_sha256_free(sha);
		if (begun) {
			int end_error = sink->end(sink->payload, error == 0);
			if (!error)
				error = end_error;
		}
		if (error < 0)
			goto done;
	}
	if (error < 0)
		goto done;
	error = 0;
	for (i = 0; i < nwant; i++)
		if (!seen[i]) {
			error = xch_error_set(XCH_ETAMPERED, "payload lacks '%s', which the manifest lists",
			                      entries.v[i].path);
			break;
		}
done:
	xch_violations_free(v);
	free(seen);
	xch_manifest_entries_dispose(&entries);
	json_decref(m);
	xch_buf_dispose(&mbuf);
	xch_buf_dispose(&canon);
	return error;
}

static int verify(xch_bundle_info **out, xch_store *s, const char *path, const xch_verify_options *opts,
                  const xch_entry_sink *sink, bool judge)
{
	dir_sink dsink = { .dir = NULL, .fd = -1 };
	xch_entry_sink dir_entry_sink = { NULL, dir_begin, dir_write, dir_end, &dsink };
	xch_bundle_info *info = NULL;
	xch_crypto *c = NULL;
	xch_container *box = NULL;
	xch_payload_reader *rd = NULL;
	xch_buf me = XCH_BUF_INIT, tmpdir = XCH_BUF_INIT, keyids = XCH_BUF_INIT;
	json_t *envj = NULL, *r;
	decrypt_ctx d = { 0 };
	xch_chan *plain = NULL;
	pthread_t th;
	bool started = false, ours = false;
	int fd, error;
	size_t i;

	XCH_ARG(s && path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return xch_error_set_os(errno == ENOENT ? XCH_ENOTFOUND : XCH_EOS, "cannot open '%s'", path);
	if ((error = info_new(&info)) < 0 || (error = xch_crypto_new(&c, NULL)) < 0 ||
	    (error = xch_container_open(&box, fd)) < 0 ||
	    (error = check_envelope(&envj, info, s, c, box, judge)) < 0)
		goto done;
	if (judge && (error = check_payload_hash(box, envj)) < 0)
		goto done;
	if (opts && opts->envelope_only)
		goto done;

	/* addressed to us? */
	if ((error = xch_store_identity(&me, s)) < 0) {
		/* inspect at a transfer station, which has no identity: the envelope is all there is */
		if (!judge && error == XCH_ENOTFOUND)
			error = 0;
		goto done;
	}
	if ((error = xch_crypto_encryption_keyids(c, me.ptr, false, &keyids)) < 0)
		goto done;
	json_array_foreach(json_object_get(envj, "recipients"), i, r)
		if (json_is_string(r) && strstr(keyids.ptr, json_string_value(r)))
			ours = true;
	if (!ours) {
		error = xch_error_set(XCH_ENOTFORUS, "bundle is not addressed to us (%s)", me.ptr);
		if (!judge)
			error = 0;
		goto done;
	}
	if (opts && opts->extract_to) {
		struct stat st;
		if (lstat(opts->extract_to, &st) == 0) {
			error = xch_error_set(XCH_EEXISTS, "cannot open into '%s': it exists", opts->extract_to);
			goto done;
		}
		xch_buf_printf(&tmpdir, "%s.tmp-XXXXXX", opts->extract_to);
		if (!mkdtemp(tmpdir.ptr)) {
			error = xch_error_set_os(XCH_EOS, "cannot create '%s'", tmpdir.ptr);
			goto done;
		}
		dsink.dir = tmpdir.ptr;
		dir_entry_sink.manifest = dir_manifest;
		sink = &dir_entry_sink;
	}
	/* gpg's plaintext reaches the reader through memory, not a second pipe */
	if ((error = xch_chan_new(&plain, PLAIN_RING)) < 0)
		goto done;
	d.c = c;
	d.box = box;
	d.out = plain;
	if (pthread_create(&th, NULL, decryptor, &d) != 0) {
		error = xch_error_set(XCH_EOS, "cannot start a thread");
		goto done;
	}
	started = true;
	if ((error = xch_payload_reader_new(&rd, chan_pull, plain, (uint64_t)64 << 30)) == 0)
		error = read_payload(info, s, rd, envj, me.ptr, sink);
	if (error == 0) {
		/* drain what follows the archive so gpg can finish and check the signature */
		const void *rest;
		while (xch_chan_pull(plain, &rest) > 0)
			;
	}
	xch_chan_close_read(plain);
	pthread_join(th, NULL);
	started = false;
	/*
	 * gpg's verdict (bad signature, no MDC) explains a garbled archive, so
	 * it comes first -- unless gpg only failed because the reader refused
	 * the archive and stopped reading: then the reader's reason stands.
	 */
	if (d.code < 0 && !(error < 0 && d.reader_gone) &&
	    (error == 0 || error == XCH_EMALFORMED || error == XCH_EOS))
		error = thread_error_give(&d.err);
	if (error < 0)
		goto done;
	/* the payload's own signature: by the envelope's sender, to the envelope's recipients */
	if (strcasecmp(d.result.signer_fpr, xch_json_str(envj, "sender_fpr"))) {
		error = xch_error_set(XCH_EBADSIG, "payload signed by %s, envelope by %s", d.result.signer_fpr,
		                      xch_json_str(envj, "sender_fpr"));
		goto done;
	}
	for (i = 0; i < d.result.nrecipients; i++) {
		bool listed = false;
		size_t k;
		json_array_foreach(json_object_get(envj, "recipients"), k, r)
			if (!strcasecmp(json_string_value(r), d.result.recipient_keyids[i]))
				listed = true;
		if (!listed) {
			error = xch_error_set(XCH_ETAMPERED, "payload is encrypted to key %s, which the envelope "
			                      "does not list", d.result.recipient_keyids[i]);
			goto done;
		}
	}
	if (tmpdir.ptr && (error = dir_flush(&dsink)) < 0)
		goto done;
	if (tmpdir.ptr && rename(tmpdir.ptr, opts->extract_to) < 0)
		error = xch_error_set_os(XCH_EOS, "cannot rename '%s'", tmpdir.ptr);
	else if (tmpdir.ptr)
		xch_buf_dispose(&tmpdir);
done:
	if (started) {
		xch_chan_close_read(plain);
		pthread_join(th, NULL);
	}
	xch_chan_free(plain);
	dir_stop(&dsink);
	if (tmpdir.ptr) {
		xch_error_state st;
		xch_error_save(&st);
		xch_rmtree(tmpdir.ptr);
		xch_error_restore(&st);
	}
	xch_crypto_result_clear(&d.result);
	xch_payload_reader_free(rd);
	xch_container_free(box);
	xch_crypto_free(c);
	close(fd);
	json_decref(envj);
	xch_buf_dispose(&me);
	xch_buf_dispose(&tmpdir);
	xch_buf_dispose(&keyids);
	if (!judge && error < 0 && info && info->envelope) {
		/* inspect shows what it can and says what it could not read */
		info->problem = strdup(xch_error_last()->message);
		xch_error_clear();
		error = 0;
	}
	if (out && info && info->envelope)
		*out = info;
	else
		xch_bundle_info_free(info);
	return error;
}

int xch_bundle_verify(xch_bundle_info **out, xch_store *s, const char *path, const xch_verify_options *opts)
{
	if (out)
		*out = NULL;
	if (opts && opts->version != XCH_VERIFY_OPTIONS_VERSION)
		return xch_error_set(XCH_EINVALID, "unsupported verify options version %u", opts->version);
	return verify(out, s, path, opts, NULL, true);
}

int xch_bundle_verify_into(xch_bundle_info **out, xch_store *s, const char *path, const xch_entry_sink *sink)
{
	xch_verify_options opts = XCH_VERIFY_OPTIONS_INIT;
	if (out)
		*out = NULL;
	return verify(out, s, path, &opts, sink, true);
}

int xch_bundle_inspect(xch_bundle_info **out, xch_store *s, const char *path)
{
	XCH_ARG(out);
	*out = NULL;
	return verify(out, s, path, NULL, NULL, false);
}
