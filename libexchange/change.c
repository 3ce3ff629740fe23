/*
 * Changes to the store: staged tree updates committed all at once.
 */
#include "common.h"
#include "store.h"
#include "record.h"
#include "schema.h"
#include "sha256.h"
#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* path is in the change's arena; the array goes to git_tree_create_updated as it is */
typedef git_tree_update staged_update;

/* Staged paths, packed in blocks that never move: one allocation per 64 KiB, not per path. */
typedef struct path_block {
	struct path_block *next;
	size_t used, cap;
	char data[];
} path_block;

typedef struct {
	char *name;          /* file name given to --attach (basename) */
	char sha256[XCH_SHA256_HEXSIZE + 1];
	uint64_t size;
} staged_attachment;

struct xch_change {
	xch_store *s;
	int lockfd;
	git_commit *base;     /* the branch tip when the change began */
	git_tree *base_tree;
	staged_update *ups;
	size_t nups, aups;
	xch_record **records; /* staged records, owned copies */
	size_t nrecords, arecords;
	staged_attachment *atts;
	size_t natts, aatts;
	git_commit *extra_parent; /* a merge's second parent, or NULL */
	/* open-addressing index of ups by path: slot holds index + 1, 0 = empty */
	uint32_t *slots;
	size_t nslots;
	path_block *paths;
	bool fsync_off;           /* objects written unsynced, synced once at commit */
};

static size_t path_hash(const char *p)
{
	size_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static int index_rebuild(xch_change *c, size_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return xch_error_oom();
	for (size_t i = 0; i < c->nups; i++) {
		size_t h = path_hash(c->ups[i].path) & (nslots - 1);
		while (slots[h])
			h = (h + 1) & (nslots - 1);
		slots[h] = (uint32_t)(i + 1);
	}
	free(c->slots);
	c->slots = slots;
	c->nslots = nslots;
	return 0;
}

#define GROW(arr, n, a) ((n) < (a) ? 0 : grow_array((void **)&(arr), &(a), sizeof(*(arr))))
static int grow_array(void **arr, size_t *alloc, size_t elem)
{
	size_t na = *alloc ? *alloc * 2 : 16;
	void *p = realloc(*arr, na * elem);
	if (!p)
		return xch_error_oom();
	*arr = p;
	*alloc = na;
	return 0;
}

int xch_change_new(xch_change **out, xch_store *s)
{
	xch_change *c;
	int error;

	XCH_ARG(out && s);
	if (!(c = calloc(1, sizeof(*c))))
		return xch_error_oom();
	c->s = s;
	c->lockfd = -1;
	if ((error = xch_store_lock(&c->lockfd, s)) < 0 ||
	    (error = xch_store_head_tree(&c->base_tree, &c->base, s)) < 0) {
		xch_change_free(c);
		return error;
	}
	xch_store_fsync_batch_begin();
	c->fsync_off = true;
	*out = c;
	return 0;
}

static staged_update *find_update(xch_change *c, const char *path)
{
	if (!c->nslots)
		return NULL;
	for (size_t h = path_hash(path) & (c->nslots - 1); c->slots[h]; h = (h + 1) & (c->nslots - 1))
		if (!strcmp(c->ups[c->slots[h] - 1].path, path))
			return &c->ups[c->slots[h] - 1];
	return NULL;
}

static const char *path_dup(xch_change *c, const char *path)
{
	size_t n = strlen(path) + 1;
	path_block *b = c->paths;
	char *p;

	if (!b || b->cap - b->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		if (!(b = malloc(sizeof(*b) + cap)))
			return NULL;
		b->next = c->paths;
		b->used = 0;
		b->cap = cap;
		c->paths = b;
	}
	p = b->data + b->used;
	memcpy(p, path, n);
	b->used += n;
	return p;
}

/* Stage path = oid (upsert), or its removal when oid is NULL. */
static int stage(xch_change *c, const char *path, const git_oid *oid)
{
	staged_update *u = find_update(c, path);
	git_tree_entry *e = NULL;

	if (!oid && !u && git_tree_entry_bypath(&e, c->base_tree, path) != 0)
		return 0; /* removing what is not there */
	git_tree_entry_free(e);
	if (!u) {
		if (c->nups >= UINT32_MAX - 1)
			return xch_error_set(XCH_ETOOBIG, "too many changes at once");
		if (GROW(c->ups, c->nups, c->aups) < 0)
			return XCH_ERROR;
		u = &c->ups[c->nups];
		memset(u, 0, sizeof(*u));
		if (!(u->path = path_dup(c, path)))
			return xch_error_oom();
		c->nups++;
		/* keep the index at most half full */
		if (c->nups * 2 > c->nslots) {
			if (index_rebuild(c, c->nslots ? c->nslots * 2 : 64) < 0)
				return XCH_ERROR;
		} else {
			size_t h = path_hash(path) & (c->nslots - 1);
			while (c->slots[h])
				h = (h + 1) & (c->nslots - 1);
			c->slots[h] = (uint32_t)c->nups;
		}
	}
	if (oid) {
		u->action = GIT_TREE_UPDATE_UPSERT;
		git_oid_cpy(&u->id, oid);
		u->filemode = GIT_FILEMODE_BLOB;
	} else {
		u->action = GIT_TREE_UPDATE_REMOVE;
	}
	return 0;
}

/* The staged or base blob id at path, if any. */
#define lookup(out, c, path) xch_change_lookup(c, path, out)
bool xch_change_lookup(xch_change *c, const char *path, git_oid *out)
{
	staged_update *u = find_update(c, path);
	git_tree_entry *e = NULL;

	if (u) {
		if (u->action == GIT_TREE_UPDATE_REMOVE)
			return false;
		git_oid_cpy(out, &u->id);
		return true;
	}
	if (git_tree_entry_bypath(&e, c->base_tree, path) != 0)
		return false;
	git_oid_cpy(out, git_tree_entry_id(e));
	git_tree_entry_free(e);
	return true;
}

static int strcasecmp_ascii(const char *a, const char *b)
{
	for (;; a++, b++) {
		char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a + 32) : *a;
		char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b + 32) : *b;
		if (x != y || !x)
			return x - y;
	}
}

/*
 * Refuse an id that another record holds in another type, or that differs
 * only in case from another record's id: such ids would collide on
 * case-insensitive file systems (a USB stick) and confuse people.
 */
static int check_id_free(xch_change *c, const char *type, const char *id)
{
	const char *const *types = xch_record_types();
	xch_buf path = XCH_BUF_INIT, dir = XCH_BUF_INIT;
	int error = 0;

	for (size_t i = 0; types[i] && !error; i++) {
		git_tree_entry *e = NULL;
		git_tree *shard = NULL;
		git_oid oid;
		char *slash;

		if ((error = xch_store_record_path(&path, types[i], id)) < 0)
			break;
		if (strcmp(types[i], type) && lookup(&oid, c, path.ptr)) {
			error = xch_error_set(XCH_EEXISTS, "record '%s' exists already as an %s", id, types[i]);
			break;
		}
		/* same shard directory: compare names without case */
		if ((error = xch_buf_sets(&dir, path.ptr)) < 0)
			break;
		slash = strrchr(dir.ptr, '/');
		*slash = '\0';
		if (git_tree_entry_bypath(&e, c->base_tree, dir.ptr) == 0 &&
		    git_tree_lookup(&shard, c->s->repo, git_tree_entry_id(e)) == 0) {
			for (size_t j = 0; j < git_tree_entrycount(shard); j++) {
				const char *name = git_tree_entry_name(git_tree_entry_byindex(shard, j));
				if (!strcasecmp_ascii(name, slash + 1) && strcmp(name, slash + 1)) {
					error = xch_error_set(XCH_EEXISTS, "record id '%s' differs only in case from '%.*s'",
					                      id, (int)(strlen(name) - 5), name);
					break;
				}
			}
		}
		git_tree_free(shard);
		git_tree_entry_free(e);
	}
	for (size_t i = 0; i < c->nrecords && !error; i++) {
		const char *other = xch_record_id(c->records[i]);
		if (!strcasecmp_ascii(other, id) && strcmp(other, id))
			error = xch_error_set(XCH_EEXISTS, "record id '%s' differs only in case from '%s'", id, other);
	}
	xch_buf_dispose(&path);
	xch_buf_dispose(&dir);
	return error;
}

int xch_change_put(xch_change *c, const xch_record *r)
{
	xch_schema_set *set;
	xch_violations *v = NULL;
	xch_buf path = XCH_BUF_INIT;
	xch_record *copy = NULL;
	const char *data;
	size_t len;
	git_oid oid;
	int error;

	XCH_ARG(c && r);
	if ((error = xch_store_schemas(&set, c->s)) < 0)
		return error;
	if ((error = xch_record_validate(&v, set, r)) < 0) {
		if (error == XCH_ESCHEMA && v && xch_violations_count(v) > 0)
			xch_error_set(XCH_ESCHEMA, "record '%s' is invalid: %s: %s", xch_record_id(r),
			              *xch_violations_instance(v, 0) ? xch_violations_instance(v, 0) : "/",
			              xch_violations_message(v, 0));
		xch_violations_free(v);
		return error;
	}
	if ((error = check_id_free(c, xch_record_type(r), xch_record_id(r))) < 0)
		return error;
	xch_record_canonical(r, &data, &len);
	if ((error = git_blob_create_from_buffer(&oid, c->s->repo, data, len)) < 0)
		return xch_error_from_git(error, "cannot store record '%s'", xch_record_id(r));
	if ((error = xch_record_parse(&copy, data, len, xch_record_id(r))) < 0)
		return error;
	if ((error = GROW(c->records, c->nrecords, c->arecords)) < 0) {
		xch_record_free(copy);
		return error;
	}
	c->records[c->nrecords++] = copy;
	if ((error = xch_store_record_path(&path, xch_record_type(r), xch_record_id(r))) == 0 &&
	    (error = stage(c, path.ptr, &oid)) == 0 &&
	    (error = xch_store_tombstone_path(&path, xch_record_id(r))) == 0)
		error = stage(c, path.ptr, NULL);
	xch_buf_dispose(&path);
	return error;
}

int xch_change_put_oid(xch_change *c, const char *path, const git_oid *oid)
{
	XCH_ARG(c && path && oid);
	return stage(c, path, oid);
}

int xch_change_add_parent(xch_change *c, const git_oid *oid)
{
	int error;
	XCH_ARG(c && oid && !c->extra_parent);
	if ((error = git_commit_lookup(&c->extra_parent, c->s->repo, oid)) < 0)
		return xch_error_from_git(error, "cannot read commit %s", git_oid_tostr_s(oid));
	return 0;
}

const git_oid *xch_change_base_id(xch_change *c)
{
	return git_commit_id(c->base);
}

git_tree *xch_change_base_tree(xch_change *c)
{
	return c->base_tree;
}

int xch_change_put_file(xch_change *c, const char *path, const void *data, size_t len)
{
	git_oid oid;
	int error;

	XCH_ARG(c && path);
	if (!data)
		return stage(c, path, NULL);
	if ((error = git_blob_create_from_buffer(&oid, c->s->repo, data, len)) < 0)
		return xch_error_from_git(error, "cannot store '%s'", path);
	return stage(c, path, &oid);
}

int xch_change_attach_file(xch_change *c, const char *path, xch_buf *sha_out)
{
	git_writestream *ws = NULL;
	staged_attachment *a;
	xch_sha256 *sha = NULL;
	xch_buf tpath = XCH_BUF_INIT;
	char hex[XCH_SHA256_HEXSIZE + 1], buf[65536];
	const char *base = strrchr(path, '/');
	uint64_t size = 0;
	struct stat st;
	git_oid oid;
	int fd, error;

	XCH_ARG(c && path);
	base = base ? base + 1 : path;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return xch_error_set_os(errno == ENOENT ? XCH_ENOTFOUND : XCH_EOS, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return xch_error_set(XCH_EINVALID, "cannot attach '%s': not a regular file", path);
	}
	if ((error = xch_sha256_new(&sha)) < 0)
		goto done;
	if ((error = git_blob_create_from_stream(&ws, c->s->repo, NULL)) < 0) {
		error = xch_error_from_git(error, "cannot store '%s'", path);
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = xch_error_set_os(XCH_EOS, "cannot read '%s'", path);
			goto done;
		}
		if (n == 0)
			break;
		size += (uint64_t)n;
		if ((error = xch_sha256_update(sha, buf, (size_t)n)) < 0)
			goto done;
		if ((error = ws->write(ws, buf, (size_t)n)) < 0) {
			error = xch_error_from_git(error, "cannot store '%s'", path);
			goto done;
		}
	}
	error = git_blob_create_from_stream_commit(&oid, ws);
	ws = NULL;
	if (error < 0) {
		error = xch_error_from_git(error, "cannot store '%s'", path);
		goto done;
	}
	if ((error = xch_sha256_final_hex(sha, hex)) < 0 ||
	    (error = xch_store_attachment_path(&tpath, hex)) < 0 ||
	    (error = stage(c, tpath.ptr, &oid)) < 0 ||
	    (error = GROW(c->atts, c->natts, c->aatts)) < 0)
		goto done;
	a = &c->atts[c->natts];
	if (!(a->name = strdup(base))) {
		error = xch_error_oom();
		goto done;
	}
	memcpy(a->sha256, hex, sizeof(hex));
	a->size = size;
	c->natts++;
	if (sha_out)
		error = xch_buf_sets(sha_out, hex);
done:
	if (ws)
		ws->free(ws);
	xch_sha256_free(sha);
	xch_buf_dispose(&tpath);
	close(fd);
	return error;
}

int xch_change_remove(xch_change *c, const char *id)
{
	const char *const *types = xch_record_types();
	xch_buf path = XCH_BUF_INIT, tomb = XCH_BUF_INIT, by = XCH_BUF_INIT;
	json_t *t = NULL;
	char now[32];
	git_oid oid;
	int error = XCH_ENOTFOUND;
	const char *type = NULL;

	XCH_ARG(c && id);
	if (!xch_record_id_valid(id))
		return xch_error_set(XCH_EINVALID, "invalid record id '%s'", id);
	for (size_t i = 0; types[i]; i++) {
		if ((error = xch_store_record_path(&path, types[i], id)) < 0)
			goto done;
		if (lookup(&oid, c, path.ptr)) {
			type = types[i];
			break;
		}
	}
	if (!type) {
		error = xch_error_set(XCH_ENOTFOUND, "no record '%s'", id);
		goto done;
	}
	if (xch_store_identity(&by, c->s) < 0)
		xch_error_clear();
	xch_time_format(now, xch_time_now());
	t = json_pack("{s:s, s:s, s:s, s:s*}", "type", type, "id", id, "deleted", now, "by", by.ptr);
	if (!t || (error = xch_json_canonical(&tomb, t)) < 0) {
		error = t ? error : xch_error_oom();
		goto done;
	}
	if ((error = git_blob_create_from_buffer(&oid, c->s->repo, tomb.ptr, tomb.size)) < 0) {
		error = xch_error_from_git(error, "cannot store the tombstone of '%s'", id);
		goto done;
	}
	if ((error = stage(c, path.ptr, NULL)) == 0 &&
	    (error = xch_store_tombstone_path(&path, id)) == 0)
		error = stage(c, path.ptr, &oid);
done:
	json_decref(t);
	xch_buf_dispose(&path);
	xch_buf_dispose(&tomb);
	xch_buf_dispose(&by);
	return error;
}

/* Every staged record's attachments must be in the tree being made, with the declared size. */
static int check_attachments(xch_change *c)
{
	xch_buf path = XCH_BUF_INIT;
	int error = 0;

	for (size_t i = 0; i < c->nrecords && !error; i++) {
		const xch_record *r = c->records[i];
		for (size_t j = 0; j < xch_record_attachment_count(r) && !error; j++) {
			const char *name, *sha;
			uint64_t size;
			git_odb *odb = NULL;
			size_t osize;
			git_object_t otype;
			git_oid oid;

			if ((error = xch_record_attachment(r, j, &name, NULL, &size, &sha)) < 0 ||
			    (error = xch_store_attachment_path(&path, sha)) < 0)
				break;
			if (!lookup(&oid, c, path.ptr)) {
				error = xch_error_set(XCH_ENOTFOUND, "attachment '%s' (sha256 %.12s...) of record '%s' "
				                      "is not in the store; add it with --attach", name, sha, xch_record_id(r));
				for (size_t k = 0; k < c->natts; k++)
					if (!strcmp(c->atts[k].name, name))
						error = xch_error_set(XCH_ETAMPERED,
							"attachment '%s' of record '%s' has the wrong hash: the file's "
							"SHA-256 is %s, the record declares %s",
							name, xch_record_id(r), c->atts[k].sha256, sha);
				break;
			}
			if ((error = git_repository_odb(&odb, c->s->repo)) == 0)
				error = git_odb_read_header(&osize, &otype, odb, &oid);
			git_odb_free(odb);
			if (error < 0) {
				error = xch_error_from_git(error, "cannot read attachment '%s'", name);
				break;
			}
			if ((uint64_t)osize != size)
				error = xch_error_set(XCH_ETAMPERED, "attachment '%s' of record '%s' is %zu bytes, "
				                      "the record declares %llu", name, xch_record_id(r), osize,
				                      (unsigned long long)size);
		}
	}
	xch_buf_dispose(&path);
	return error;
}

int xch_change_commit(xch_change *c, const char *message, xch_buf *commit_out)
{
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	git_oid tree_oid, commit_oid;
	const git_commit *parents[2];
	char hex[GIT_OID_HEXSZ + 1];
	int error;

	XCH_ARG(c && message);
	if ((error = check_attachments(c)) < 0)
		return error;
	if (c->nups == 0 && !c->extra_parent)
		return 1;
	if ((error = git_tree_create_updated(&tree_oid, c->s->repo, c->base_tree, c->nups, c->ups)) < 0) {
		error = xch_error_from_git(error, "cannot write the new tree");
		goto done;
	}
	if (!c->extra_parent && git_oid_equal(&tree_oid, git_tree_id(c->base_tree))) {
		error = 1;
		goto done;
	}
	if ((error = git_tree_lookup(&tree, c->s->repo, &tree_oid)) < 0) {
		error = xch_error_from_git(error, "cannot read the new tree");
		goto done;
	}
	if ((error = xch_store_signature(&sig, c->s)) < 0)
		goto done;
	/* every object the tree names is durable before the commit and the branch say so */
	c->fsync_off = false;
	if ((error = xch_store_fsync_batch_end(c->s)) < 0)
		goto done;
	parents[0] = c->base;
	parents[1] = c->extra_parent;
	/* updating the branch checks it still points at our base: compare-and-swap */
	if ((error = git_commit_create(&commit_oid, c->s->repo, XCH_STORE_BRANCH, sig, sig, NULL,
	                               message, tree, c->extra_parent ? 2 : 1, parents)) < 0) {
		error = xch_error_from_git(error, "cannot commit");
		goto done;
	}
	if (commit_out) {
		git_oid_tostr(hex, sizeof(hex), &commit_oid);
		error = xch_buf_sets(commit_out, hex);
	}
done:
	git_signature_free(sig);
	git_tree_free(tree);
	return error;
}

void xch_change_free(xch_change *c)
{
	if (!c)
		return;
	while (c->paths) {
		path_block *next = c->paths->next;
		free(c->paths);
		c->paths = next;
	}
	free(c->ups);
	free(c->slots);
	for (size_t i = 0; i < c->nrecords; i++)
		xch_record_free(c->records[i]);
	free(c->records);
	for (size_t i = 0; i < c->natts; i++)
		free(c->atts[i].name);
	free(c->atts);
	if (c->fsync_off)
		git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1); /* abandoned: nothing names its objects */
	git_tree_free(c->base_tree);
	git_commit_free(c->base);
	git_commit_free(c->extra_parent);
	xch_store_unlock(c->lockfd);
	free(c);
}
