/*
 * Partners: partners/<name>.json on the store's main branch.
 *
 *   { "name": "company",
 *     "keys": [ { "fpr": "<40 hex>", "added": "<RFC 3339>" }, ... ] }
 *
 * Keys are listed newest first; the first is the one we encrypt to.
 */
#include "common.h"
#include "store.h"
#include "crypto.h"
#include "json.h"
#include "util.h"

#include <sys/stat.h>

struct xch_partner {
	json_t *json; /* owned */
};

int xch_partner_name_valid(const char *name)
{
	return name && xch_name_valid(name, 64);
}

static int partner_path(xch_buf *out, const char *name)
{
	xch_buf_clear(out);
	return xch_buf_printf(out, "partners/%s.json", name);
}

static int partner_from_blob(xch_partner **out, const void *data, size_t len, const char *origin)
{
	xch_partner *p;
	json_t *j;
	int error;

	if ((error = xch_json_parse(&j, data, len, origin)) < 0)
		return error;
	if (!json_is_object(j) || !json_is_string(json_object_get(j, "name")) ||
	    !json_is_array(json_object_get(j, "keys"))) {
		json_decref(j);
		return xch_error_set(XCH_EMALFORMED, "'%s': not a partner record", origin);
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		json_decref(j);
		return xch_error_oom();
	}
	p->json = j;
	*out = p;
	return 0;
}

static int lookup_in_tree(xch_partner **out, xch_store *s, git_tree *tree, const char *name)
{
	xch_buf path = XCH_BUF_INIT;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	int error;

	if ((error = partner_path(&path, name)) < 0)
		goto done;
	if (git_tree_entry_bypath(&e, tree, path.ptr) != 0) {
		error = xch_error_set(XCH_ENOTFOUND, "no partner '%s'; see 'xch partner add'", name);
		goto done;
	}
	if ((error = git_blob_lookup(&blob, s->repo, git_tree_entry_id(e))) < 0) {
		error = xch_error_from_git(error, "cannot read '%s'", path.ptr);
		goto done;
	}
	error = partner_from_blob(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), path.ptr);
done:
	git_blob_free(blob);
	git_tree_entry_free(e);
	xch_buf_dispose(&path);
	return error;
}

int xch_partner_lookup(xch_partner **out, xch_store *s, const char *name)
{
	git_tree *tree = NULL;
	int error;

	XCH_ARG(out && s && name);
	if (!xch_partner_name_valid(name))
		return xch_error_set(XCH_EINVALID, "invalid partner name '%s'", name);
	if ((error = xch_store_head_tree(&tree, NULL, s)) < 0)
		return error;
	error = lookup_in_tree(out, s, tree, name);
	git_tree_free(tree);
	return error;
}

int xch_partner_foreach(xch_store *s, xch_partner_cb cb, void *payload)
{
	git_tree *tree = NULL, *dir = NULL;
	git_tree_entry *e = NULL;
	int error;

	XCH_ARG(s && cb);
	if ((error = xch_store_head_tree(&tree, NULL, s)) < 0)
		return error;
	if (git_tree_entry_bypath(&e, tree, "partners") != 0)
		goto done;
	if ((error = git_tree_lookup(&dir, s->repo, git_tree_entry_id(e))) < 0) {
		error = xch_error_from_git(error, "cannot read partners");
		goto done;
	}
	for (size_t i = 0; i < git_tree_entrycount(dir) && !error; i++) {
		const git_tree_entry *pe = git_tree_entry_byindex(dir, i);
		git_blob *blob = NULL;
		xch_partner *p = NULL;
		if ((error = git_blob_lookup(&blob, s->repo, git_tree_entry_id(pe))) < 0) {
			error = xch_error_from_git(error, "cannot read partner '%s'", git_tree_entry_name(pe));
			break;
		}
		if ((error = partner_from_blob(&p, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
		                               git_tree_entry_name(pe))) == 0)
			error = cb(p, payload);
		xch_partner_free(p);
		git_blob_free(blob);
	}
done:
	git_tree_free(dir);
	git_tree_entry_free(e);
	git_tree_free(tree);
	return error;
}

typedef struct {
	const char *fpr;
	xch_partner *found;
} by_key_ctx;

static int match_key(const xch_partner *p, void *payload)
{
	by_key_ctx *ctx = payload;
	for (size_t i = 0; i < xch_partner_key_count(p); i++)
		if (!strcasecmp(xch_partner_key(p, i), ctx->fpr)) {
			ctx->found = calloc(1, sizeof(*ctx->found));
			if (!ctx->found)
				return xch_error_oom();
			ctx->found->json = json_incref(p->json);
			return 1;
		}
	return 0;
}

int xch_partner_by_key(xch_partner **out, xch_store *s, const char *fpr)
{
	by_key_ctx ctx = { fpr, NULL };
	int error;

	XCH_ARG(out && s && fpr);
	if ((error = xch_partner_foreach(s, match_key, &ctx)) < 0)
		return error;
	if (!ctx.found)
		return xch_error_set(XCH_EUNTRUSTED, "key %s is not pinned for any partner", fpr);
	*out = ctx.found;
	return 0;
}

const char *xch_partner_name(const xch_partner *p)
{
	return xch_json_str(p->json, "name");
}

size_t xch_partner_key_count(const xch_partner *p)
{
	return json_array_size(json_object_get(p->json, "keys"));
}

const char *xch_partner_key(const xch_partner *p, size_t i)
{
	return xch_json_str(json_array_get(json_object_get(p->json, "keys"), i), "fpr");
}

const char *xch_partner_key_added(const xch_partner *p, size_t i)
{
	return xch_json_str(json_array_get(json_object_get(p->json, "keys"), i), "added");
}

void xch_partner_free(xch_partner *p)
{
	if (!p)
		return;
	json_decref(p->json);
	free(p);
}

/* Resolve key (a fingerprint or a file to import) to a usable primary fingerprint. */
static int resolve_key(char fpr[41], xch_crypto *c, const char *key, bool need_secret)
{
	xch_buf fprs = XCH_BUF_INIT;
	xch_key_info info;
	struct stat st;
	int error;

	if (!xch_fpr_valid(key) && stat(key, &st) == 0) {
		if ((error = xch_crypto_import_file(c, key, &fprs)) < 0)
			goto done;
		if (!fprs.ptr || strchr(fprs.ptr, '\n') != fprs.ptr + fprs.size - 1) {
			error = xch_error_set(XCH_EINVALID, "'%s' must hold exactly one key", key);
			goto done;
		}
		fprs.ptr[fprs.size - 1] = '\0';
		key = fprs.ptr;
	} else if (!xch_fpr_valid(key)) {
		error = xch_error_set(XCH_EINVALID, "'%s' is neither a fingerprint (40 hex digits) nor a key file", key);
		goto done;
	}
	if ((error = xch_crypto_key_info(c, key, false, &info)) < 0)
		goto done;
	if ((error = xch_crypto_check_key(c, info.fpr, true, need_secret)) < 0 ||
	    (error = xch_crypto_check_key(c, info.fpr, false, need_secret)) < 0) {
		xch_error_prefix("cannot use key %s", info.fpr);
		goto done;
	}
	memcpy(fpr, info.fpr, 41);
done:
	xch_buf_dispose(&fprs);
	return error;
}

int xch_partner_add(xch_store *s, const char *name, const char *key, xch_buf *fpr_out)
{
	xch_crypto *c = NULL;
	xch_change *ch = NULL;
	xch_partner *p = NULL;
	json_t *doc = NULL, *keys, *k;
	xch_buf path = XCH_BUF_INIT, data = XCH_BUF_INIT, msg = XCH_BUF_INIT;
	char fpr[41], now[32];
	size_t i;
	int error;

	XCH_ARG(s && name && key);
	if (!xch_partner_name_valid(name))
		return xch_error_set(XCH_EINVALID, "invalid partner name '%s': use letters, digits, '.', '_' and '-'", name);
	if ((error = xch_crypto_new(&c, NULL)) < 0 || (error = resolve_key(fpr, c, key, false)) < 0)
		goto done;
	if ((error = xch_change_new(&ch, s)) < 0)
		goto done;
	{
		/* another partner must not hold this key: a key names one partner */
		xch_partner *other = NULL;
		if (xch_partner_by_key(&other, s, fpr) == 0 && strcmp(xch_partner_name(other), name)) {
			error = xch_error_set(XCH_EEXISTS, "key %s is pinned for partner '%s' already", fpr,
			                      xch_partner_name(other));
			xch_partner_free(other);
			goto done;
		}
		xch_partner_free(other);
		xch_error_clear();
	}
	error = xch_partner_lookup(&p, s, name);
	if (error == XCH_ENOTFOUND) {
		doc = json_pack("{s:s, s:[]}", "name", name, "keys");
		error = 0;
	} else if (error == 0) {
		doc = json_deep_copy(p->json);
	}
	if (error < 0 || !doc) {
		error = error < 0 ? error : xch_error_oom();
		goto done;
	}
	keys = json_object_get(doc, "keys");
	json_array_foreach(keys, i, k)
		if (!strcasecmp(xch_json_str(k, "fpr"), fpr)) {
			error = xch_error_set(XCH_EEXISTS, "key %s is pinned for '%s' already", fpr, name);
			goto done;
		}
	xch_time_format(now, xch_time_now());
	json_array_insert_new(keys, 0, json_pack("{s:s, s:s}", "fpr", fpr, "added", now));
	if ((error = xch_json_canonical(&data, doc)) < 0 || (error = partner_path(&path, name)) < 0 ||
	    (error = xch_change_put_file(ch, path.ptr, data.ptr, data.size)) < 0 ||
	    (error = xch_buf_printf(&msg, "partner %s: pin key %s\n", name, fpr)) < 0)
		goto done;
	if ((error = xch_change_commit(ch, msg.ptr, NULL)) > 0)
		error = 0;
	if (!error && fpr_out)
		error = xch_buf_sets(fpr_out, fpr);
done:
	json_decref(doc);
	xch_partner_free(p);
	xch_change_free(ch);
	xch_crypto_free(c);
	xch_buf_dispose(&path);
	xch_buf_dispose(&data);
	xch_buf_dispose(&msg);
	return error;
}

int xch_partner_remove(xch_store *s, const char *name)
{
	xch_change *ch = NULL;
	xch_partner *p = NULL;
	xch_buf path = XCH_BUF_INIT, msg = XCH_BUF_INIT;
	int error;

	XCH_ARG(s && name);
	if ((error = xch_partner_lookup(&p, s, name)) < 0 || (error = xch_change_new(&ch, s)) < 0 ||
	    (error = partner_path(&path, name)) < 0 ||
	    (error = xch_change_put_file(ch, path.ptr, NULL, 0)) < 0 ||
	    (error = xch_buf_printf(&msg, "partner %s: removed\n", name)) < 0)
		goto done;
	if ((error = xch_change_commit(ch, msg.ptr, NULL)) > 0)
		error = 0;
done:
	xch_partner_free(p);
	xch_change_free(ch);
	xch_buf_dispose(&path);
	xch_buf_dispose(&msg);
	return error;
}

int xch_identity_set(xch_store *s, const char *key)
{
	xch_crypto *c = NULL;
	char fpr[41];
	int error;

	XCH_ARG(s && key);
	if ((error = xch_crypto_new(&c, NULL)) == 0 && (error = resolve_key(fpr, c, key, true)) == 0)
		error = xch_store_set_identity(s, fpr);
	xch_crypto_free(c);
	return error;
}
