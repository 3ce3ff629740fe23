/*
 * The record store: a bare git repository in DIR/.xch whose main branch
 * holds records, tombstones and attachments (see xch-records(5)):
 *
 *   records/<type>/<xx>/<id>.json   canonical JSON of a live record
 *   tombstones/<xx>/<id>.json       what remains of a deleted record
 *   attachments/<aa>/<sha256>       attachment bytes, by their SHA-256
 *
 * <xx> is the first byte, in hex, of the SHA-256 of the id in lower case:
 * 256 shards keep each tree small, so a change rewrites a few small trees
 * whatever the store's size, and ids differing only in case share a shard,
 * where the collision is seen.
 */
#include "common.h"
#include "store.h"
#include "record.h"
#include "schema.h"
#include "sha256.h"
#include "util.h"

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <limits.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STORE_FORMAT_VERSION 1

static int shard_of(char out[3], const char *id)
{
	char lower[256], hex[XCH_SHA256_HEXSIZE + 1];
	size_t i;
	for (i = 0; id[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (id[i] >= 'A' && id[i] <= 'Z') ? (char)(id[i] + 32) : id[i];
	lower[i] = '\0';
	if (xch_sha256_hex(hex, lower, i) < 0)
		return XCH_ERROR;
	out[0] = hex[0];
	out[1] = hex[1];
	out[2] = '\0';
	return 0;
}

int xch_store_record_path(xch_buf *out, const char *type, const char *id)
{
	char shard[3];
	if (shard_of(shard, id) < 0)
		return XCH_ERROR;
	xch_buf_clear(out);
	return xch_buf_printf(out, "records/%s/%s/%s.json", type, shard, id);
}

int xch_store_tombstone_path(xch_buf *out, const char *id)
{
	char shard[3];
	if (shard_of(shard, id) < 0)
		return XCH_ERROR;
	xch_buf_clear(out);
	return xch_buf_printf(out, "tombstones/%s/%s.json", shard, id);
}

int xch_store_attachment_path(xch_buf *out, const char *sha256)
{
	xch_buf_clear(out);
	return xch_buf_printf(out, "attachments/%.2s/%s", sha256, sha256);
}

static int store_alloc(xch_store **out, const char *top, git_repository *repo)
{
	xch_store *s = calloc(1, sizeof(*s));
	xch_buf gitdir = XCH_BUF_INIT;
	if (!s || xch_path_join(&gitdir, top, XCH_STORE_DIRNAME) < 0 || !(s->top = strdup(top))) {
		free(s);
		xch_buf_dispose(&gitdir);
		return xch_error_oom();
	}
	s->gitdir = xch_buf_detach(&gitdir);
	s->repo = repo;
	*out = s;
	return 0;
}

int xch_store_signature(git_signature **out, xch_store *s)
{
	char host[256] = "localhost", email[512];
	struct passwd *pw;
	const char *name;

	if (git_signature_default(out, s->repo) == 0)
		return 0;
	pw = getpwuid(getuid());
	name = (pw && pw->pw_name) ? pw->pw_name : "xch";
	gethostname(host, sizeof(host) - 1);
	snprintf(email, sizeof(email), "%s@%s", name, host);
	if (git_signature_now(out, name, email) < 0)
		return xch_error_from_git(-1, "cannot make a commit signature");
	return 0;
}

static int set_identity_cfg(git_config *cfg, const char *fpr)
{
	char norm[41];
	snprintf(norm, sizeof(norm), "%s", fpr);
	xch_fpr_normalize(norm);
	return git_config_set_string(cfg, "xch.identity", norm);
}

static int write_initial_commit(xch_store *s)
{
	git_treebuilder *tb = NULL;
	git_signature *sig = NULL;
	git_oid tree_oid, commit_oid;
	git_tree *tree = NULL;
	int error;

	if ((error = git_treebuilder_new(&tb, s->repo, NULL)) < 0 ||
	    (error = git_treebuilder_write(&tree_oid, tb)) < 0 ||
	    (error = git_tree_lookup(&tree, s->repo, &tree_oid)) < 0) {
		error = xch_error_from_git(error, "cannot write the first tree");
		goto done;
	}
	if ((error = xch_store_signature(&sig, s)) < 0)
		goto done;
	if ((error = git_commit_create(&commit_oid, s->repo, XCH_STORE_BRANCH, sig, sig, NULL,
	                               "xch: new store\n", tree, 0, NULL)) < 0)
		error = xch_error_from_git(error, "cannot write the first commit");
done:
	git_signature_free(sig);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	return error;
}

int xch_store_init(xch_store **out, const char *path, const xch_store_init_options *opts)
{
	git_repository_init_options gopts;
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	xch_store *s = NULL;
	xch_buf gitdir = XCH_BUF_INIT;
	char *top = NULL;
	struct stat st;
	bool created = false;
	int error;

	XCH_ARG(out && path);
	if (opts && opts->version != XCH_STORE_INIT_OPTIONS_VERSION)
		return xch_error_set(XCH_EINVALID, "unsupported store init options version %u", opts->version);
	if (opts && opts->identity && !xch_fpr_valid(opts->identity))
		return xch_error_set(XCH_EINVALID, "invalid fingerprint '%s': expected 40 hex digits", opts->identity);
	if ((error = xch_mkdir_private(path, true)) < 0)
		return error;
	if (!(top = realpath(path, NULL)))
		return xch_error_set_os(XCH_EOS, "cannot resolve '%s'", path);
	if ((error = xch_path_join(&gitdir, top, XCH_STORE_DIRNAME)) < 0)
		goto done;
	if (lstat(gitdir.ptr, &st) == 0) {
		error = xch_error_set(XCH_EEXISTS, "cannot create a store in '%s': one exists already", top);
		goto done;
	}
	if ((error = xch_mkdir_private(gitdir.ptr, false)) < 0)
		goto done;
	created = true;

	git_repository_init_options_init(&gopts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	gopts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_NO_REINIT | GIT_REPOSITORY_INIT_MKPATH;
	gopts.mode = GIT_REPOSITORY_INIT_SHARED_UMASK;
	gopts.initial_head = "main";
	gopts.description = "xch record store";
	if ((error = git_repository_init_ext(&repo, gitdir.ptr, &gopts)) < 0) {
		error = xch_error_from_git(error, "cannot create a store in '%s'", top);
		goto done;
	}
	if ((error = git_repository_config(&cfg, repo)) < 0 ||
	    (error = git_config_set_int32(cfg, "xch.formatversion", STORE_FORMAT_VERSION)) < 0 ||
	    (error = git_config_set_bool(cfg, "core.logallrefupdates", 1)) < 0 ||
	    (opts && opts->identity && (error = set_identity_cfg(cfg, opts->identity)) < 0)) {
		error = xch_error_from_git(error, "cannot write the store's configuration");
		goto done;
	}
	if ((error = store_alloc(&s, top, repo)) < 0)
		goto done;
	repo = NULL;
	if ((error = write_initial_commit(s)) < 0)
		goto done;
	*out = s;
	s = NULL;
done:
	xch_store_free(s);
	git_repository_free(repo);
	if (error < 0 && created) {
		/* leave nothing half-made behind: only what we created goes */
		xch_error_state st_err;
		xch_error_save(&st_err);
		xch_rmtree(gitdir.ptr);
		xch_error_restore(&st_err);
	}
	git_config_free(cfg);
	xch_buf_dispose(&gitdir);
	free(top);
	return error;
}

static bool is_store_dir(const char *top)
{
	xch_buf p = XCH_BUF_INIT;
	struct stat st;
	bool ok = xch_path_join(&p, top, XCH_STORE_DIRNAME "/HEAD") == 0 && stat(p.ptr, &st) == 0;
	xch_buf_dispose(&p);
	return ok;
}

int xch_store_open(xch_store **out, const char *path)
{
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	xch_buf gitdir = XCH_BUF_INIT;
	char *top = NULL;
	int32_t version = 0;
	int error;

	XCH_ARG(out && path);
	if (!(top = realpath(path, NULL))) {
		if (errno == ENOENT)
			return xch_error_set(XCH_ENOTFOUND, "no store at '%s': no such directory", path);
		return xch_error_set_os(XCH_EOS, "cannot resolve '%s'", path);
	}
	if (!is_store_dir(top)) {
		error = xch_error_set(XCH_ENOTFOUND, "no store at '%s' (run 'xch init')", top);
		goto done;
	}
	if ((error = xch_path_join(&gitdir, top, XCH_STORE_DIRNAME)) < 0)
		goto done;
	if ((error = git_repository_open_ext(&repo, gitdir.ptr, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) < 0) {
		error = xch_error_from_git(error, "cannot open the store in '%s'", top);
		goto done;
	}
	if ((error = git_repository_config_snapshot(&cfg, repo)) < 0 ||
	    (error = git_config_get_int32(&version, cfg, "xch.formatversion")) < 0) {
		error = xch_error_set(XCH_ENOTFOUND, "'%s' is not an xch store (no xch.formatversion)", top);
		goto done;
	}
	if (version != STORE_FORMAT_VERSION) {
		error = xch_error_set(XCH_EUNSUPPORTED, "store '%s' has format version %d; this xch knows %d",
		                      top, version, STORE_FORMAT_VERSION);
		goto done;
	}
	if ((error = store_alloc(out, top, repo)) == 0)
		repo = NULL;
done:
	git_config_free(cfg);
	git_repository_free(repo);
	xch_buf_dispose(&gitdir);
	free(top);
	return error;
}

int xch_store_discover(xch_buf *out, const char *start)
{
	char *dir;
	int error;

	XCH_ARG(out && start);
	if (!(dir = realpath(start, NULL)))
		return xch_error_set_os(XCH_ENOTFOUND, "cannot look for a store from '%s'", start);
	for (;;) {
		char *slash;
		if (is_store_dir(dir)) {
			error = xch_buf_sets(out, dir);
			free(dir);
			return error;
		}
		if (!(slash = strrchr(dir, '/')) || slash == dir) {
			if (dir[1] != '\0' && (dir[1] = '\0', is_store_dir(dir))) {
				error = xch_buf_sets(out, dir);
				free(dir);
				return error;
			}
			break;
		}
		*slash = '\0';
	}
	free(dir);
	return xch_error_set(XCH_ENOTFOUND, "not in an xch store (or any parent directory); see 'xch init'");
}

const char *xch_store_path(const xch_store *s)
{
	return s->top;
}

int xch_store_identity(xch_buf *out, xch_store *s)
{
	git_config *cfg = NULL;
	git_buf val = GIT_BUF_INIT;
	int error;

	XCH_ARG(out && s);
	if ((error = git_repository_config_snapshot(&cfg, s->repo)) < 0)
		return xch_error_from_git(error, "cannot read the store's configuration");
	error = git_config_get_string_buf(&val, cfg, "xch.identity");
	if (error == GIT_ENOTFOUND)
		error = xch_error_set(XCH_ENOTFOUND, "no identity set; see 'xch identity FPR'");
	else if (error < 0)
		error = xch_error_from_git(error, "cannot read xch.identity");
	else
		error = xch_buf_sets(out, val.ptr);
	git_buf_dispose(&val);
	git_config_free(cfg);
	return error;
}

int xch_store_set_identity(xch_store *s, const char *fpr)
{
	git_config *cfg = NULL;
	int error, fd;

	XCH_ARG(s && fpr);
	if (!xch_fpr_valid(fpr))
		return xch_error_set(XCH_EINVALID, "invalid fingerprint '%s': expected 40 hex digits", fpr);
	if ((error = xch_store_lock(&fd, s)) < 0)
		return error;
	if ((error = git_repository_config(&cfg, s->repo)) < 0 ||
	    (error = set_identity_cfg(cfg, fpr)) < 0)
		error = xch_error_from_git(error, "cannot set xch.identity");
	git_config_free(cfg);
	xch_store_unlock(fd);
	return error;
}

int xch_store_schemas(xch_schema_set **out, xch_store *s)
{
	if (!s->schemas) {
		int error = xch_schema_set_builtin(&s->schemas);
		if (error < 0)
			return error;
	}
	*out = s->schemas;
	return 0;
}

int xch_store_head_tree(git_tree **out, git_commit **commit_out, xch_store *s)
{
	git_reference *ref = NULL;
	git_commit *commit = NULL;
	int error;

	if ((error = git_reference_lookup(&ref, s->repo, XCH_STORE_BRANCH)) < 0 ||
	    (error = git_commit_lookup(&commit, s->repo, git_reference_target(ref))) < 0 ||
	    (error = git_commit_tree(out, commit)) < 0)
		error = xch_error_from_git(error, "cannot read the store's main branch");
	git_reference_free(ref);
	if (error == 0 && commit_out)
		*commit_out = commit;
	else
		git_commit_free(commit);
	return error;
}

/* Look up a blob by path in tree; 0 and *out, or XCH_ENOTFOUND. */
static int tree_blob(git_blob **out, git_repository *repo, git_tree *tree, const char *path)
{
	git_tree_entry *e = NULL;
	int error = git_tree_entry_bypath(&e, tree, path);
	if (error == GIT_ENOTFOUND)
		return XCH_ENOTFOUND;
	if (error < 0)
		return xch_error_from_git(error, "cannot read '%s'", path);
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		git_tree_entry_free(e);
		return xch_error_set(XCH_EMALFORMED, "store entry '%s' is not a file", path);
	}
	error = git_blob_lookup(out, repo, git_tree_entry_id(e));
	git_tree_entry_free(e);
	return error < 0 ? xch_error_from_git(error, "cannot read '%s'", path) : 0;
}

static int record_from_blob(xch_record **out, git_blob *blob, const char *path)
{
	return xch_record_parse(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), path);
}

/* Find the live record id in tree: its type's path. */
static int find_record(xch_record **out, xch_store *s, git_tree *tree, const char *id)
{
	xch_buf path = XCH_BUF_INIT;
	const char *const *types = xch_record_types();
	int error = XCH_ENOTFOUND;

	for (size_t i = 0; types[i]; i++) {
		git_blob *blob = NULL;
		if ((error = xch_store_record_path(&path, types[i], id)) < 0)
			break;
		error = tree_blob(&blob, s->repo, tree, path.ptr);
		if (error == XCH_ENOTFOUND)
			continue;
		if (error == 0) {
			error = out ? record_from_blob(out, blob, path.ptr) : 0;
			git_blob_free(blob);
		}
		break;
	}
	xch_buf_dispose(&path);
	return error;
}

int xch_store_get(xch_record **out, xch_store *s, const char *id)
{
	git_tree *tree = NULL;
	int error;

	XCH_ARG(out && s && id);
	if (!xch_record_id_valid(id))
		return xch_error_set(XCH_EINVALID, "invalid record id '%s'", id);
	if ((error = xch_store_head_tree(&tree, NULL, s)) < 0)
		return error;
	error = find_record(out, s, tree, id);
	if (error == XCH_ENOTFOUND) {
		xch_buf path = XCH_BUF_INIT;
		git_tree_entry *e = NULL;
		bool deleted = xch_store_tombstone_path(&path, id) == 0 &&
		               git_tree_entry_bypath(&e, tree, path.ptr) == 0;
		git_tree_entry_free(e);
		xch_buf_dispose(&path);
		error = xch_error_set(XCH_ENOTFOUND, deleted ? "record '%s' was deleted; see 'xch log %s'"
		                                              : "no record '%s'", id, id);
	}
	git_tree_free(tree);
	return error;
}

typedef struct {
	xch_store *s;
	xch_record_cb cb;
	void *payload;
	int error;
} foreach_ctx;

/*
 * Records are read (opened, inflated) by a thread of their own, ahead of
 * the callback that parses and checks them: a queue of blobs in tree
 * order, PREFETCH_BYTES at most. The reader has its own repository handle:
 * libgit2 objects stay on one thread.
 */
#define PREFETCH_BYTES (4 * 1024 * 1024)

typedef struct {
	char *path;
	git_oid oid;
} blob_ref;

typedef struct {
	const char *gitdir;
	blob_ref *refs;
	size_t n, alloc;
	/* under mu: blobs read, in order, from next_take up to next_read */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char **data;            /* NULL once taken */
	size_t *len;
	size_t next_read, next_take, bytes;
	bool stop;
	int err;
	char *errmsg;
} prefetch;

/* Every blob under tree, in tree order. */
static int collect_blobs(prefetch *pf, xch_store *s, git_tree *tree, const char *prefix)
{
	size_t n = git_tree_entrycount(tree);
	xch_buf path = XCH_BUF_INIT;
	int error = 0;

	for (size_t i = 0; i < n && !error; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		xch_buf_clear(&path);
		if ((error = xch_buf_printf(&path, "%s/%s", prefix, git_tree_entry_name(e))) < 0)
			break;
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			git_tree *sub = NULL;
			if ((error = git_tree_lookup(&sub, s->repo, git_tree_entry_id(e))) < 0) {
				error = xch_error_from_git(error, "cannot read '%s'", path.ptr);
				break;
			}
			error = collect_blobs(pf, s, sub, path.ptr);
			git_tree_free(sub);
			continue;
		}
		if (pf->n == pf->alloc) {
			size_t a = pf->alloc ? pf->alloc * 2 : 1024;
			blob_ref *r = realloc(pf->refs, a * sizeof(*r));
			if (!r) {
				error = xch_error_oom();
				break;
			}
			pf->refs = r;
			pf->alloc = a;
		}
		if (!(pf->refs[pf->n].path = xch_buf_detach(&path))) {
			error = xch_error_oom();
			break;
		}
		git_oid_cpy(&pf->refs[pf->n].oid, git_tree_entry_id(e));
		pf->n++;
	}
	xch_buf_dispose(&path);
	return error;
}

static void *prefetch_thread(void *arg)
{
	prefetch *pf = arg;
	git_repository *repo = NULL;
	git_odb *odb = NULL;
	int error = 0;

	if ((error = git_repository_open_ext(&repo, pf->gitdir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) < 0 ||
	    (error = git_repository_odb(&odb, repo)) < 0)
		error = xch_error_from_git(error, "cannot open the store");
	for (size_t i = 0; i < pf->n && !error; i++) {
		git_odb_object *obj = NULL;
		char *copy = NULL;
		size_t len = 0;
		if ((error = git_odb_read(&obj, odb, &pf->refs[i].oid)) < 0) {
			error = xch_error_from_git(error, "cannot read '%s'", pf->refs[i].path);
			break;
		}
		len = git_odb_object_size(obj);
		if ((copy = malloc(len ? len : 1)))
			memcpy(copy, git_odb_object_data(obj), len);
		git_odb_object_free(obj);
		if (!copy) {
			error = xch_error_oom();
			break;
		}
		pthread_mutex_lock(&pf->mu);
		while (!pf->stop && pf->bytes > 0 && pf->bytes + len > PREFETCH_BYTES)
			pthread_cond_wait(&pf->cv, &pf->mu);
		if (pf->stop) {
			pthread_mutex_unlock(&pf->mu);
			free(copy);
			break;
		}
		pf->data[i] = copy;
		pf->len[i] = len;
		pf->bytes += len;
		pf->next_read = i + 1;
		pthread_cond_broadcast(&pf->cv);
		pthread_mutex_unlock(&pf->mu);
	}
	pthread_mutex_lock(&pf->mu);
	if (error < 0) {
		pf->err = error;
		pf->errmsg = strdup(xch_error_last()->message);
	}
	pf->stop = true;
	pthread_cond_broadcast(&pf->cv);
	pthread_mutex_unlock(&pf->mu);
	git_odb_free(odb);
	git_repository_free(repo);
	return NULL;
}

/* The callback on each record under tree (at prefix), read ahead. */
static int foreach_blobs(xch_store *s, git_tree *tree, const char *prefix, xch_record_cb cb, void *payload)
{
	prefetch pf = { 0 };
	pthread_t th;
	bool started = false;
	int error;

	pf.gitdir = s->gitdir;
	pthread_mutex_init(&pf.mu, NULL);
	pthread_cond_init(&pf.cv, NULL);
	if ((error = collect_blobs(&pf, s, tree, prefix)) < 0 || pf.n == 0)
		goto done;
	if (!(pf.data = calloc(pf.n, sizeof(*pf.data))) || !(pf.len = calloc(pf.n, sizeof(*pf.len)))) {
		error = xch_error_oom();
		goto done;
	}
	if ((errno = pthread_create(&th, NULL, prefetch_thread, &pf)) != 0) {
		error = xch_error_set_os(XCH_EOS, "cannot start a thread");
		goto done;
	}
	started = true;
	for (size_t i = 0; i < pf.n && !error; i++) {
		char *data;
		size_t len;
		xch_record *r = NULL;
		pthread_mutex_lock(&pf.mu);
		while (pf.next_read <= i && !pf.stop)
			pthread_cond_wait(&pf.cv, &pf.mu);
		if (pf.next_read <= i) {
			error = xch_error_set(pf.err ? pf.err : XCH_ERROR, "%s",
			                      pf.errmsg ? pf.errmsg : "cannot read the records");
			pthread_mutex_unlock(&pf.mu);
			break;
		}
		data = pf.data[i];
		len = pf.len[i];
		pf.data[i] = NULL;
		pf.bytes -= len;
		pthread_cond_broadcast(&pf.cv);
		pthread_mutex_unlock(&pf.mu);
		if ((error = xch_record_parse(&r, data, len, pf.refs[i].path)) == 0)
			error = cb(r, payload);
		xch_record_free(r);
		free(data);
	}
done:
	if (started) {
		pthread_mutex_lock(&pf.mu);
		pf.stop = true;
		pthread_cond_broadcast(&pf.cv);
		pthread_mutex_unlock(&pf.mu);
		pthread_join(th, NULL);
	}
	for (size_t i = 0; i < pf.n; i++) {
		free(pf.refs[i].path);
		if (pf.data)
			free(pf.data[i]);
	}
	free(pf.refs);
	free(pf.data);
	free(pf.len);
	free(pf.errmsg);
	pthread_mutex_destroy(&pf.mu);
	pthread_cond_destroy(&pf.cv);
	return error;
}

int xch_store_foreach(xch_store *s, const char *type, xch_record_cb cb, void *payload)
{
	const char *const *types = xch_record_types();
	git_tree *tree = NULL;
	xch_buf path = XCH_BUF_INIT;
	int error;

	XCH_ARG(s && cb);
	if (type && !xch_record_type_known(type))
		return xch_error_set(XCH_EINVALID, "unknown record type '%s' (expected assessment or advisory)", type);
	if ((error = xch_store_head_tree(&tree, NULL, s)) < 0)
		return error;
	for (size_t i = 0; types[i] && !error; i++) {
		git_tree_entry *e = NULL;
		git_tree *sub = NULL;
		if (type && strcmp(type, types[i]))
			continue;
		xch_buf_clear(&path);
		if ((error = xch_buf_printf(&path, "records/%s", types[i])) < 0)
			break;
		if (git_tree_entry_bypath(&e, tree, path.ptr) < 0)
			continue;
		if ((error = git_tree_lookup(&sub, s->repo, git_tree_entry_id(e))) < 0)
			error = xch_error_from_git(error, "cannot read '%s'", path.ptr);
		else
			error = foreach_blobs(s, sub, path.ptr, cb, payload);
		git_tree_free(sub);
		git_tree_entry_free(e);
	}
	xch_buf_dispose(&path);
	git_tree_free(tree);
	return error;
}

static int count_leaves(size_t *n, git_repository *repo, git_tree *tree, const char *path)
{
	git_tree_entry *e = NULL;
	git_tree *top = NULL;
	int error;

	if ((error = git_tree_entry_bypath(&e, tree, path)) == GIT_ENOTFOUND)
		return 0;
	if (error < 0 || (error = git_tree_lookup(&top, repo, git_tree_entry_id(e))) < 0) {
		git_tree_entry_free(e);
		return xch_error_from_git(error, "cannot read '%s'", path);
	}
	for (size_t i = 0; i < git_tree_entrycount(top); i++) {
		const git_tree_entry *se = git_tree_entry_byindex(top, i);
		git_tree *shard = NULL;
		if (git_tree_entry_type(se) != GIT_OBJECT_TREE)
			continue;
		if ((error = git_tree_lookup(&shard, repo, git_tree_entry_id(se))) < 0) {
			error = xch_error_from_git(error, "cannot read '%s'", path);
			break;
		}
		*n += git_tree_entrycount(shard);
		git_tree_free(shard);
	}
	git_tree_free(top);
	git_tree_entry_free(e);
	return error;
}

int xch_store_counts_get(xch_store_counts *out, xch_store *s)
{
	git_tree *tree = NULL;
	int error;

	XCH_ARG(out && s);
	memset(out, 0, sizeof(*out));
	if ((error = xch_store_head_tree(&tree, NULL, s)) < 0)
		return error;
	if ((error = count_leaves(&out->assessments, s->repo, tree, "records/assessment")) == 0 &&
	    (error = count_leaves(&out->advisories, s->repo, tree, "records/advisory")) == 0 &&
	    (error = count_leaves(&out->tombstones, s->repo, tree, "tombstones")) == 0)
		error = count_leaves(&out->attachments, s->repo, tree, "attachments");
	git_tree_free(tree);
	return error;
}

/*
 * Blob ids at every path an id can live at in tree: one per record type,
 * its tombstone, and its conflict entry (where a partner's version waits).
 */
#define ID_SLOTS 4
static int id_slots(git_oid slots[ID_SLOTS], git_tree *tree, const char *id)
{
	const char *const *types = xch_record_types();
	xch_buf path = XCH_BUF_INIT;
	int error = 0;

	for (size_t i = 0; i < ID_SLOTS; i++) {
		git_tree_entry *e = NULL;
		memset(&slots[i], 0, sizeof(slots[i]));
		if (i < ID_SLOTS - 2)
			error = xch_store_record_path(&path, types[i], id);
		else if ((error = xch_store_tombstone_path(&path, id)) == 0 && i == ID_SLOTS - 1) {
			xch_buf c = XCH_BUF_INIT;
			xch_buf_printf(&c, "conflicts/%s", path.ptr + strlen("tombstones/"));
			error = xch_buf_sets(&path, c.ptr);
			xch_buf_dispose(&c);
		}
		if (error < 0)
			break;
		if (tree && git_tree_entry_bypath(&e, tree, path.ptr) == 0) {
			git_oid_cpy(&slots[i], git_tree_entry_id(e));
			git_tree_entry_free(e);
		}
	}
	xch_buf_dispose(&path);
	return error;
}

static bool slots_live(const git_oid slots[ID_SLOTS])
{
	for (size_t i = 0; i < ID_SLOTS - 2; i++)
		if (!git_oid_is_zero(&slots[i]))
			return true;
	return false;
}

int xch_store_log(xch_store *s, const char *id, xch_log_cb cb, void *payload)
{
	git_revwalk *walk = NULL;
	xch_buf author = XCH_BUF_INIT;
	git_oid oid;
	int error;

	XCH_ARG(s && cb);
	if (id && !xch_record_id_valid(id))
		return xch_error_set(XCH_EINVALID, "invalid record id '%s'", id);
	if ((error = git_revwalk_new(&walk, s->repo)) < 0 ||
	    (error = git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL)) < 0 ||
	    (error = git_revwalk_push_ref(walk, XCH_STORE_BRANCH)) < 0 ||
	    (error = git_revwalk_simplify_first_parent(walk)) < 0) {
		error = xch_error_from_git(error, "cannot walk the store's history");
		goto done;
	}
	while ((error = git_revwalk_next(&oid, walk)) == 0) {
		git_commit *commit = NULL, *parent = NULL;
		git_tree *tree = NULL, *ptree = NULL;
		git_oid now[ID_SLOTS], before[ID_SLOTS];
		const git_signature *a;
		char hex[GIT_OID_HEXSZ + 1];
		xch_log_entry e = { 0 };

		if ((error = git_commit_lookup(&commit, s->repo, &oid)) < 0) {
			error = xch_error_from_git(error, "cannot read a commit");
			break;
		}
		if (id) {
			if ((error = git_commit_tree(&tree, commit)) < 0 ||
			    (git_commit_parentcount(commit) > 0 &&
			     ((error = git_commit_parent(&parent, commit, 0)) < 0 ||
			      (error = git_commit_tree(&ptree, parent)) < 0))) {
				error = xch_error_from_git(error, "cannot read a commit's tree");
			} else if ((error = id_slots(now, tree, id)) == 0 &&
			           (error = id_slots(before, ptree, id)) == 0) {
				if (!memcmp(now, before, sizeof(now)))
					e.action = NULL;
				else if (slots_live(now) && memcmp(&now[ID_SLOTS - 1], &before[ID_SLOTS - 1], sizeof(git_oid)) &&
				         !git_oid_is_zero(&now[ID_SLOTS - 1]) && !memcmp(now, before, sizeof(git_oid) * (ID_SLOTS - 2)))
					e.action = "conflict"; /* a partner's version set aside */
				else if (slots_live(now))
					e.action = slots_live(before) ? "changed" : "added";
				else
					e.action = slots_live(before) ? "deleted" : "conflict";
			}
			git_tree_free(tree);
			git_tree_free(ptree);
			git_commit_free(parent);
			if (error < 0 || !e.action) {
				git_commit_free(commit);
				if (error < 0)
					break;
				continue;
			}
		}
		a = git_commit_author(commit);
		xch_buf_clear(&author);
		xch_buf_printf(&author, "%s <%s>", a->name, a->email);
		git_oid_tostr(hex, sizeof(hex), &oid);
		e.commit = hex;
		e.author = author.ptr;
		e.time = (int64_t)a->when.time;
		e.message = git_commit_message(commit);
		error = cb(&e, payload);
		git_commit_free(commit);
		if (error)
			break;
	}
	if (error == GIT_ITEROVER)
		error = 0;
done:
	xch_buf_dispose(&author);
	git_revwalk_free(walk);
	return error;
}

int xch_store_walk_json(xch_store *s, git_tree *tree, const char *dir, xch_store_json_cb cb, void *payload)
{
	git_tree *head = NULL, *top = NULL;
	git_tree_entry *e = NULL;
	int error = 0;

	if (!tree) {
		if ((error = xch_store_head_tree(&head, NULL, s)) < 0)
			return error;
		tree = head;
	}
	if (git_tree_entry_bypath(&e, tree, dir) != 0)
		goto done;
	if ((error = git_tree_lookup(&top, s->repo, git_tree_entry_id(e))) < 0) {
		error = xch_error_from_git(error, "cannot read '%s'", dir);
		goto done;
	}
	for (size_t i = 0; i < git_tree_entrycount(top) && !error; i++) {
		git_tree *shard = NULL;
		if ((error = git_tree_lookup(&shard, s->repo, git_tree_entry_id(git_tree_entry_byindex(top, i)))) < 0) {
			error = xch_error_from_git(error, "cannot read '%s'", dir);
			break;
		}
		for (size_t k = 0; k < git_tree_entrycount(shard) && !error; k++) {
			const git_tree_entry *f = git_tree_entry_byindex(shard, k);
			git_blob *blob = NULL;
			json_t *doc = NULL;
			if ((error = git_blob_lookup(&blob, s->repo, git_tree_entry_id(f))) < 0) {
				error = xch_error_from_git(error, "cannot read '%s/%s'", dir, git_tree_entry_name(f));
				break;
			}
			if ((error = xch_json_parse(&doc, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
			                            git_tree_entry_name(f))) == 0)
				error = cb(doc, git_tree_entry_name(f), payload);
			json_decref(doc);
			git_blob_free(blob);
		}
		git_tree_free(shard);
	}
done:
	git_tree_free(top);
	git_tree_entry_free(e);
	git_tree_free(head);
	return error;
}

void xch_store_fsync_batch_begin(void)
{
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 0);
}

int xch_store_fsync_batch_end(xch_store *s)
{
	xch_buf path = XCH_BUF_INIT;
	int fd, error = 0;

	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	xch_buf_printf(&path, "%s/objects", s->gitdir);
	if ((fd = open(path.ptr, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || syncfs(fd) < 0)
		error = xch_error_set_os(XCH_EOS, "cannot sync '%s'", path.ptr);
	if (fd >= 0)
		close(fd);
	xch_buf_dispose(&path);
	return error;
}

static int unlink_lock(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	size_t len = strlen(path);
	(void)st;
	(void)ftw;
	if (flag == FTW_F && len > 5 && !strcmp(path + len - 5, ".lock"))
		unlink(path);
	return 0;
}

/*
 * A writer killed while libgit2 held refs/heads/main.lock (or a partner
 * ref's, or packed-refs.lock) leaves the file behind, and every later
 * commit would fail. Under the store lock no other writer can own one: any
 * .lock there is stale.
 */
static void remove_stale_locks(xch_store *s)
{
	static const char *const files[] = { "HEAD.lock", "packed-refs.lock", "config.lock" };
	xch_buf p = XCH_BUF_INIT;

	for (size_t i = 0; i < XCH_ARRAY_SIZE(files); i++) {
		xch_buf_clear(&p);
		if (xch_buf_printf(&p, "%s/%s", s->gitdir, files[i]) == 0)
			unlink(p.ptr);
	}
	xch_buf_clear(&p);
	if (xch_buf_printf(&p, "%s/refs", s->gitdir) == 0)
		nftw(p.ptr, unlink_lock, 16, FTW_PHYS);
	xch_buf_dispose(&p);
}

int xch_store_lock(int *fd_out, xch_store *s)
{
	xch_buf path = XCH_BUF_INIT;
	const char *env = getenv("XCH_LOCK_TIMEOUT");
	double timeout = env && *env ? atof(env) : 3.0;
	struct timespec start, now, pause = { 0, 20 * 1000 * 1000 };
	int fd, error;

	if ((error = xch_path_join(&path, s->gitdir, "lock")) < 0)
		return error;
	fd = open(path.ptr, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		error = xch_error_set_os(XCH_EOS, "cannot open the store lock '%s'", path.ptr);
		xch_buf_dispose(&path);
		return error;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			error = xch_error_set_os(XCH_EOS, "cannot lock the store '%s'", s->top);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 >= timeout) {
			error = xch_error_set(XCH_ELOCKED, "cannot lock the store '%s': another xch is writing to it "
			                      "(waited %.1f s; try again)", s->top, timeout);
			break;
		}
		nanosleep(&pause, NULL);
	}
	xch_buf_dispose(&path);
	if (error < 0) {
		close(fd);
		return error;
	}
	remove_stale_locks(s);
	*fd_out = fd;
	return 0;
}

void xch_store_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

void xch_store_free(xch_store *s)
{
	if (!s)
		return;
	xch_schema_set_free(s->schemas);
	git_repository_free(s->repo);
	free(s->top);
	free(s->gitdir);
	free(s);
}
