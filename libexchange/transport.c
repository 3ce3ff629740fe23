/*
 * Sneakernet: bundles and receipts to and from a directory (a mounted USB
 * stick). Every file is self-verifying; index.json beside them is a
 * convenience for people and is never trusted.
 */
#include "common.h"
#include "store.h"
#include "crypto.h"
#include "json.h"
#include "util.h"
#include "sha256.h"
#include "transport_priv.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void tell(const xch_transport_options *o, const char *file, int error, const char *what)
{
	if (o && o->notify)
		o->notify(file, error, what, o->notify_payload);
}

static bool wanted(const xch_transport_options *o, const char *name)
{
	if (!o || !o->partners)
		return true;
	for (size_t i = 0; i < o->npartners; i++)
		if (!strcmp(o->partners[i], name))
			return true;
	return false;
}

typedef struct {
	const char *const *names;
	size_t n, alloc;
	char **owned;
} name_list;

static int collect_partner(const xch_partner *p, void *payload)
{
	name_list *l = payload;
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 8;
		char **o = realloc(l->owned, na * sizeof(*o));
		if (!o)
			return xch_error_oom();
		l->owned = o;
		l->alloc = na;
	}
	if (!(l->owned[l->n] = strdup(xch_partner_name(p))))
		return xch_error_oom();
	l->n++;
	return 0;
}

/*
 * Has what changed since the partner's acknowledgement already gone out
 * (the records at the last sealed state equal ours now)? Then a new bundle
 * would say nothing new: it waits for the receipt instead.
 */
static bool already_sent(xch_store *s, const char *name, char last_id[33])
{
	xch_buf path = XCH_BUF_INIT, joined = XCH_BUF_INIT;
	char hex[XCH_SHA256_HEXSIZE + 1];
	git_tree *head = NULL, *old = NULL;
	git_tree_entry *e = NULL, *a = NULL, *b = NULL;
	git_blob *blob = NULL;
	git_commit *commit = NULL;
	json_t *st = NULL, *sent;
	git_oid oid;
	bool same = false;

	last_id[0] = '\0';
	xch_buf_printf(&joined, "%s", name);
	if (xch_sha256_hex(hex, joined.ptr, joined.size) < 0 || xch_store_head_tree(&head, NULL, s) < 0)
		goto done;
	xch_buf_printf(&path, "state/channels/%.32s.json", hex);
	if (git_tree_entry_bypath(&e, head, path.ptr) != 0 || git_blob_lookup(&blob, s->repo, git_tree_entry_id(e)) < 0 ||
	    xch_json_parse(&st, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), path.ptr) < 0)
		goto done;
	sent = json_object_get(st, "sent");
	if (json_array_size(sent)) {
		const char *id = xch_json_str(json_array_get(sent, json_array_size(sent) - 1), "bundle");
		if (id && strlen(id) == 32)
			memcpy(last_id, id, 33);
	}
	if (!json_array_size(sent) ||
	    git_oid_fromstr(&oid, xch_json_str(json_array_get(sent, json_array_size(sent) - 1), "commit")) < 0 ||
	    git_commit_lookup(&commit, s->repo, &oid) < 0 || git_commit_tree(&old, commit) < 0)
		goto done;
	{
		/* records and tombstones as trees: equal ids, equal content */
		static const char *const dirs[] = { "records", "tombstones", "conflicts" };
		same = true;
		for (size_t i = 0; i < 3 && same; i++) {
			int ha = git_tree_entry_bypath(&a, head, dirs[i]), hb = git_tree_entry_bypath(&b, old, dirs[i]);
			same = (ha != 0 && hb != 0) ||
			       (ha == 0 && hb == 0 && git_oid_equal(git_tree_entry_id(a), git_tree_entry_id(b)));
			git_tree_entry_free(a);
			git_tree_entry_free(b);
			a = b = NULL;
		}
	}
done:
	xch_error_clear();
	json_decref(st);
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_commit_free(commit);
	git_tree_free(old);
	git_tree_free(head);
	xch_buf_dispose(&path);
	xch_buf_dispose(&joined);
	return same;
}

static int index_entry(json_t *index, const char *dir, const char *file, const char *kind, const char *to,
                       uint64_t seq)
{
	xch_buf path = XCH_BUF_INIT, data = XCH_BUF_INIT;
	char hex[XCH_SHA256_HEXSIZE + 1];
	int error;

	xch_path_join(&path, dir, file);
	if ((error = xch_file_read(&data, path.ptr, (size_t)1 << 40, XCH_READ_NOFOLLOW)) == 0 &&
	    (error = xch_sha256_hex(hex, data.ptr, data.size)) == 0)
		json_array_append_new(index, json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "file", file, "kind", kind,
			"to", to, "sequence", (json_int_t)seq, "size", (json_int_t)data.size, "sha256", hex));
	xch_buf_dispose(&path);
	xch_buf_dispose(&data);
	return error;
}

/*
 * A seal records in the store what it sent, then renames its file into
 * place. Killed in between, the file is complete under its temporary name
 * (.NAME.tmp-XXXXXXXXXXXX, which imports ignore) while the store says it
 * went out, and nothing would send it again. Finish that rename: a leftover
 * temporary bundle for this partner whose id is the last one sent.
 */
static int recover_sealed(xch_transport_result *out, xch_store *s, const char *dir, const char *name,
                          const char *last_id, const xch_transport_options *opts, json_t *index)
{
	struct dirent **names = NULL;
	xch_buf prefix = XCH_BUF_INIT, path = XCH_BUF_INIT, base = XCH_BUF_INIT, final = XCH_BUF_INIT;
	int n, error = 0;
	bool done = false;

	if ((n = scandir(dir, &names, NULL, alphasort)) < 0)
		return 0; /* nothing to finish; sealing reports an unreadable directory */
	xch_buf_printf(&prefix, ".bundle-%s-", name);
	for (int i = 0; i < n; i++) {
		const char *f = names[i]->d_name, *tmp = strstr(f, ".xch.tmp-");
		xch_bundle_info *info = NULL;
		json_t *env = NULL;
		struct stat st;
		int fd = -1;

		if (done || error || !prefix.ptr || strncmp(f, prefix.ptr, prefix.size) || !tmp)
			goto next;
		xch_buf_clear(&path);
		xch_buf_clear(&base);
		xch_buf_clear(&final);
		xch_path_join(&path, dir, f);
		xch_buf_put(&base, f + 1, (size_t)(tmp + 4 - (f + 1)));
		xch_path_join(&final, dir, base.ptr);
		if (lstat(path.ptr, &st) < 0 || !S_ISREG(st.st_mode) || lstat(final.ptr, &st) == 0 ||
		    xch_bundle_inspect(&info, s, path.ptr) < 0 || !info ||
		    !(env = json_loads(xch_bundle_info_envelope(info), 0, NULL)) ||
		    !xch_json_str(env, "bundle_id") || strcmp(xch_json_str(env, "bundle_id"), last_id))
			goto next;
		if ((fd = open(path.ptr, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fsync(fd) < 0 ||
		    rename(path.ptr, final.ptr) < 0) {
			error = xch_error_set_os(XCH_EOS, "cannot finish writing '%s'", final.ptr);
		} else if ((error = xch_fsync_dir(dir)) == 0) {
			done = true;
			if (index)
				error = index_entry(index, dir, base.ptr, "bundle", name,
				                    (uint64_t)json_integer_value(json_object_get(env, "sequence")));
			out->sealed++;
			tell(opts, final.ptr, 0, "bundle");
		}
		if (fd >= 0)
			close(fd);
next:
		json_decref(env);
		xch_bundle_info_free(info);
		free(names[i]);
	}
	free(names);
	if (!error)
		xch_error_clear(); /* what inspect could not read of a stranger's file */
	xch_buf_dispose(&prefix);
	xch_buf_dispose(&path);
	xch_buf_dispose(&base);
	xch_buf_dispose(&final);
	return error;
}

int xch_transport_seal_pending(xch_transport_result *out, xch_store *s, const char *dir,
                               const xch_transport_options *opts, json_t *index)
{
	name_list partners = { 0 };
	xch_buf path = XCH_BUF_INIT;
	int error;

	if ((error = xch_partner_foreach(s, collect_partner, &partners)) < 0)
		goto done;
	for (size_t i = 0; i < partners.n && !error; i++) {
		const char *name = partners.owned[i];
		xch_partner_status ps;
		if (!wanted(opts, name))
			continue;
		if ((error = xch_partner_status_get(&ps, s, name)) < 0)
			break;
		for (int receipt = 0; receipt < 2 && !error; receipt++) {
			xch_seal_options so = XCH_SEAL_OPTIONS_INIT;
			xch_seal_result res = XCH_SEAL_RESULT_INIT;
			xch_buf file = XCH_BUF_INIT;
			const char *to[1] = { name };
			unsigned char rnd[6];

			if (!receipt) {
				char last_id[33];
				bool sent = already_sent(s, name, last_id);
				if (last_id[0] && (error = recover_sealed(out, s, dir, name, last_id, opts, index)) < 0)
					break;
				if (ps.pending == 0 || sent)
					continue;
			} else if (!ps.receipt_pending) {
				continue;
			}
			xch_random(rnd, sizeof(rnd));
			xch_buf_printf(&file, "%s-%s-", receipt ? "receipt" : "bundle", name);
			xch_buf_put_hex(&file, rnd, sizeof(rnd));
			xch_buf_puts(&file, ".xch");
			xch_path_join(&path, dir, file.ptr);
			so.to = to;
			so.nto = 1;
			so.receipt = receipt;
			so.only_new = 1;
			so.output = path.ptr;
			if ((error = xch_bundle_seal(&res, s, &so)) == 0 && !res.nothing) {
				if (index)
					error = index_entry(index, dir, file.ptr, receipt ? "receipt" : "bundle", name,
					                    res.sequence);
				if (receipt)
					out->receipts++;
				else
					out->sealed++;
				tell(opts, path.ptr, 0, receipt ? "receipt" : "bundle");
			}
			xch_seal_result_dispose(&res);
			xch_buf_dispose(&file);
		}
	}
done:
	for (size_t i = 0; i < partners.n; i++)
		free(partners.owned[i]);
	free(partners.owned);
	xch_buf_dispose(&path);
	return error;
}

int xch_export(xch_transport_result *out, xch_store *s, const char *dir, const xch_transport_options *opts)
{
	json_t *index = json_array(), *old = NULL;
	xch_buf path = XCH_BUF_INIT, text = XCH_BUF_INIT;
	struct stat st;
	int error;

	XCH_ARG(out && s && dir);
	memset(out, 0, sizeof(*out));
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		error = xch_error_set(XCH_ENOTFOUND, "cannot export to '%s': not a directory", dir);
		goto done;
	}
	/* a misspelt --for would otherwise export nothing without a word */
	for (size_t i = 0; opts && opts->partners && i < opts->npartners; i++) {
		xch_partner *p = NULL;
		error = xch_partner_lookup(&p, s, opts->partners[i]);
		xch_partner_free(p);
		if (error < 0)
			goto done;
	}
	/* keep what an earlier export listed that is still on the stick */
	xch_path_join(&path, dir, "index.json");
	if (xch_json_load_file(&old, path.ptr) == 0 && json_is_object(old)) {
		json_t *f;
		size_t i;
		json_array_foreach(json_object_get(old, "files"), i, f) {
			xch_buf fp = XCH_BUF_INIT;
			const char *name = xch_json_str(f, "file");
			if (name && xch_name_valid(name, 255) && xch_path_join(&fp, dir, name) == 0 && stat(fp.ptr, &st) == 0)
				json_array_append(index, f);
			xch_buf_dispose(&fp);
		}
	}
	xch_error_clear();
	error = xch_transport_seal_pending(out, s, dir, opts, index);
	if (error < 0)
		goto done;
	{
		json_t *doc = json_pack("{s:s, s:O}", "format", "xch-index/1", "files", index);
		xch_path_join(&path, dir, "index.json");
		if ((error = xch_json_canonical(&text, doc)) == 0)
			error = xch_file_write_atomic(path.ptr, text.ptr, text.size, 0644);
		json_decref(doc);
	}
done:
	json_decref(index);
	json_decref(old);
	xch_buf_dispose(&path);
	xch_buf_dispose(&text);
	return error;
}

typedef struct {
	char *path;
	char *sender;
	char *channel;
	int64_t sequence;
} dir_file;

static int cmp_file(const void *a, const void *b)
{
	const dir_file *x = a, *y = b;
	int c = strcmp(x->sender, y->sender);
	if (!c)
		c = strcmp(x->channel, y->channel);
	if (!c)
		c = (x->sequence > y->sequence) - (x->sequence < y->sequence);
	return c ? c : strcmp(x->path, y->path);
}

int xch_import_dir(xch_transport_result *out, xch_store *s, const char *dir, const xch_transport_options *opts)
{
	xch_crypto *c = NULL;
	xch_buf me = XCH_BUF_INIT, keyids = XCH_BUF_INIT, path = XCH_BUF_INIT;
	struct dirent **names = NULL;
	dir_file *files = NULL;
	size_t nfiles = 0;
	int n = -1, error, first = 0;
	xch_import_options io = XCH_IMPORT_OPTIONS_INIT;

	XCH_ARG(out && s && dir);
	memset(out, 0, sizeof(*out));
	if ((error = xch_store_identity(&me, s)) < 0 || (error = xch_crypto_new(&c, NULL)) < 0 ||
	    (error = xch_crypto_encryption_keyids(c, me.ptr, false, &keyids)) < 0)
		goto done;
	if ((n = scandir(dir, &names, NULL, alphasort)) < 0) {
		error = xch_error_set_os(XCH_ENOTFOUND, "cannot read directory '%s'", dir);
		goto done;
	}
	if (!(files = calloc((size_t)n + 1, sizeof(*files)))) {
		error = xch_error_oom();
		goto done;
	}
	/* read each envelope: who sent it, on which channel, which sequence, and for whom */
	for (int i = 0; i < n; i++) {
		xch_bundle_info *info = NULL;
		json_t *env = NULL, *r;
		size_t k;
		bool ours = false;
		struct stat st;
		size_t len = strlen(names[i]->d_name);

		if (names[i]->d_name[0] == '.' || len < 5 || strcmp(names[i]->d_name + len - 4, ".xch"))
			continue;
		xch_path_join(&path, dir, names[i]->d_name);
		if (lstat(path.ptr, &st) < 0 || !S_ISREG(st.st_mode)) {
			out->refused++;
			if (!first)
				first = xch_error_set(XCH_EMALFORMED, "'%s' is not a regular file", path.ptr);
			tell(opts, path.ptr, XCH_EMALFORMED, "not a regular file");
			continue;
		}
		if ((error = xch_bundle_inspect(&info, s, path.ptr)) < 0 || !info ||
		    !(env = json_loads(xch_bundle_info_envelope(info), 0, NULL))) {
			error = error < 0 ? error : XCH_EMALFORMED;
			out->refused++;
			if (!first)
				first = error;
			tell(opts, path.ptr, error, "refused");
			xch_bundle_info_free(info);
			error = 0;
			continue;
		}
		json_array_foreach(json_object_get(env, "recipients"), k, r)
			if (json_is_string(r) && strstr(keyids.ptr, json_string_value(r)))
				ours = true;
		if (!ours) {
			out->skipped++;
			tell(opts, path.ptr, 0, "not for us");
		} else {
			dir_file *f = &files[nfiles++];
			f->path = strdup(path.ptr);
			f->sender = strdup(xch_json_str(env, "sender_fpr"));
			f->channel = strdup(xch_json_str(env, "channel"));
			f->sequence = json_integer_value(json_object_get(env, "sequence"));
		}
		json_decref(env);
		xch_bundle_info_free(info);
	}
	qsort(files, nfiles, sizeof(*files), cmp_file);
	io.allow_gap = opts ? opts->allow_gap : 0;
	for (size_t i = 0; i < nfiles; i++) {
		xch_import_result r;
		if (!files[i].path || !files[i].sender || !files[i].channel) {
			error = xch_error_oom();
			goto done;
		}
		error = xch_import(&r, s, files[i].path, &io);
		if (error < 0) {
			out->refused++;
			if (!first)
				first = error;
			tell(opts, files[i].path, error, "refused");
			continue;
		}
		if (r.already)
			out->already++;
		else
			out->imported++;
		tell(opts, files[i].path, 0, r.already ? "imported before" : r.receipt ? "receipt imported" : "imported");
	}
	error = first;
	if (first)
		xch_error_set(first, "%zu file%s in '%s' refused", out->refused, out->refused == 1 ? "" : "s", dir);
done:
	for (size_t i = 0; files && i < nfiles; i++) {
		free(files[i].path);
		free(files[i].sender);
		free(files[i].channel);
	}
	free(files);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	xch_crypto_free(c);
	xch_buf_dispose(&me);
	xch_buf_dispose(&keyids);
	xch_buf_dispose(&path);
	return error;
}
