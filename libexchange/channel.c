/*
 * Git channels: bundles and receipts carried through a plain git
 * repository that only ever sees ciphertext.
 *
 * Remote layout, branch main:
 *   to/<RECIPIENT-FPR>/<SENDER-FPR>-<channel>-<sequence>-<kind>.xch
 * A bundle for several recipients appears under each of them (one blob).
 * Locally each remote has a bare mirror in .xch/channels/<name>.git and a
 * list of the blobs already imported in .xch/channels/<name>.seen.
 */
#include "common.h"
#include "store.h"
#include "crypto.h"
#include "json.h"
#include "util.h"
#include "transport_priv.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYNC_RETRIES 8

/* ---- remotes in the store's configuration: xchremote.<name>.url ---------- */

int xch_remote_add(xch_store *s, const char *name, const char *url)
{
	git_config *cfg = NULL;
	xch_buf key = XCH_BUF_INIT;
	git_buf old = GIT_BUF_INIT;
	int error, fd;

	XCH_ARG(s && name && url);
	if (!xch_name_valid(name, 64))
		return xch_error_set(XCH_EINVALID, "invalid remote name '%s'", name);
	if (!*url || strchr(url, '\n'))
		return xch_error_set(XCH_EINVALID, "invalid remote URL");
	if ((error = xch_store_lock(&fd, s)) < 0)
		return error;
	xch_buf_printf(&key, "xchremote.%s.url", name);
	if ((error = git_repository_config(&cfg, s->repo)) < 0) {
		error = xch_error_from_git(error, "cannot open the store's configuration");
	} else if (git_config_get_string_buf(&old, cfg, key.ptr) == 0) {
		error = xch_error_set(XCH_EEXISTS, "remote '%s' exists already (%s)", name, old.ptr);
	} else if ((error = git_config_set_string(cfg, key.ptr, url)) < 0) {
		error = xch_error_from_git(error, "cannot add remote '%s'", name);
	}
	git_buf_dispose(&old);
	git_config_free(cfg);
	xch_buf_dispose(&key);
	xch_store_unlock(fd);
	return error;
}

int xch_remote_set_partners(xch_store *s, const char *name, const char *const *partners, size_t n)
{
	git_config *cfg = NULL;
	xch_buf key = XCH_BUF_INIT, list = XCH_BUF_INIT;
	git_buf url = GIT_BUF_INIT;
	int error, fd;

	XCH_ARG(s && name && (partners || !n));
	for (size_t i = 0; i < n; i++) {
		xch_partner *p = NULL;
		if ((error = xch_partner_lookup(&p, s, partners[i])) < 0)
			return error;
		xch_partner_free(p);
		xch_buf_printf(&list, "%s%s", i ? "," : "", partners[i]);
	}
	if ((error = xch_store_lock(&fd, s)) < 0)
		goto done;
	xch_buf_printf(&key, "xchremote.%s.url", name);
	if ((error = git_repository_config(&cfg, s->repo)) < 0 || (error = git_config_get_string_buf(&url, cfg, key.ptr)) < 0) {
		error = error == GIT_ENOTFOUND ? xch_error_set(XCH_ENOTFOUND, "no remote '%s'", name)
		                               : xch_error_from_git(error, "cannot read remote '%s'", name);
	} else {
		xch_buf_clear(&key);
		xch_buf_printf(&key, "xchremote.%s.partners", name);
		error = n ? git_config_set_string(cfg, key.ptr, list.ptr) : git_config_delete_entry(cfg, key.ptr);
		if (error == GIT_ENOTFOUND)
			error = 0;
		else if (error < 0)
			error = xch_error_from_git(error, "cannot set the partners of remote '%s'", name);
	}
	xch_store_unlock(fd);
done:
	git_buf_dispose(&url);
	git_config_free(cfg);
	xch_buf_dispose(&key);
	xch_buf_dispose(&list);
	return error;
}

int xch_remote_remove(xch_store *s, const char *name)
{
	git_config *cfg = NULL;
	xch_buf key = XCH_BUF_INIT, dir = XCH_BUF_INIT;
	int error, fd;

	XCH_ARG(s && name);
	if (!xch_name_valid(name, 64))
		return xch_error_set(XCH_EINVALID, "invalid remote name '%s'", name);
	{
		/* sealed files waiting in the outbox would be stranded: nothing seals them again */
		DIR *d;
		struct dirent *de;
		size_t waiting = 0;
		xch_buf_printf(&dir, "%s/channels/%s.outbox", s->gitdir, name);
		if ((d = opendir(dir.ptr))) {
			while ((de = readdir(d)))
				waiting += de->d_name[0] != '.' && strstr(de->d_name, ".xch") != NULL;
			closedir(d);
		}
		xch_buf_clear(&dir);
		if (waiting) {
			xch_buf_dispose(&dir);
			return xch_error_set(XCH_EEXISTS, "remote '%s' has %zu sealed file%s not pushed yet; run "
			                     "'xch sync %s' first", name, waiting, waiting == 1 ? "" : "s", name);
		}
	}
	if ((error = xch_store_lock(&fd, s)) < 0)
		return error;
	xch_buf_printf(&key, "xchremote.%s.url", name);
	if ((error = git_repository_config(&cfg, s->repo)) < 0 ||
	    (error = git_config_delete_entry(cfg, key.ptr)) < 0) {
		error = error == GIT_ENOTFOUND ? xch_error_set(XCH_ENOTFOUND, "no remote '%s'", name)
		                               : xch_error_from_git(error, "cannot remove remote '%s'", name);
	} else {
		xch_buf_printf(&dir, "%s/channels/%s.git", s->gitdir, name);
		xch_rmtree(dir.ptr);
		xch_buf_clear(&key);
		xch_buf_printf(&key, "xchremote.%s.partners", name);
		git_config_delete_entry(cfg, key.ptr); /* the tie goes with the remote */
		xch_error_clear();
		xch_buf_clear(&dir);
		xch_buf_printf(&dir, "%s/channels/%s.seen", s->gitdir, name);
		unlink(dir.ptr);
		xch_buf_clear(&dir);
		xch_buf_printf(&dir, "%s/channels/%s.outbox", s->gitdir, name);
		xch_rmtree(dir.ptr);
		xch_buf_clear(&dir);
		xch_buf_printf(&dir, "%s/channels/%s.lock", s->gitdir, name);
		unlink(dir.ptr);
	}
	git_config_free(cfg);
	xch_buf_dispose(&key);
	xch_buf_dispose(&dir);
	xch_store_unlock(fd);
	return error;
}

typedef struct {
	xch_remote_cb cb;
	void *payload;
} remote_iter;

int xch_remote_foreach(xch_store *s, xch_remote_cb cb, void *payload)
{
	git_config *cfg = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	int error;

	XCH_ARG(s && cb);
	/* a plain iterator, filtered here: libgit2's regex glob leaks its match data */
	if ((error = git_repository_config_snapshot(&cfg, s->repo)) < 0 ||
	    (error = git_config_iterator_new(&it, cfg)) < 0) {
		git_config_free(cfg);
		return xch_error_from_git(error, "cannot read remotes");
	}
	while ((error = git_config_next(&e, it)) == 0) {
		char name[80];
		size_t nlen = strlen(e->name), len;
		if (nlen <= strlen("xchremote..url") || strncmp(e->name, "xchremote.", 10) ||
		    strcmp(e->name + nlen - 4, ".url"))
			continue;
		len = nlen - strlen("xchremote.") - strlen(".url");
		if (len >= sizeof(name))
			continue;
		memcpy(name, e->name + strlen("xchremote."), len);
		name[len] = '\0';
		{
			git_buf partners = GIT_BUF_INIT;
			xch_buf pkey = XCH_BUF_INIT;
			xch_buf_printf(&pkey, "xchremote.%s.partners", name);
			error = cb(name, e->value, git_config_get_string_buf(&partners, cfg, pkey.ptr) == 0 ? partners.ptr : NULL,
			           payload);
			git_buf_dispose(&partners);
			xch_buf_dispose(&pkey);
		}
		if (error != 0)
			break;
	}
	if (error == GIT_ITEROVER)
		error = 0;
	git_config_iterator_free(it);
	git_config_free(cfg);
	return error;
}

typedef struct {
	const char *want;
	char *name, *url, *partners;
	size_t count;
} remote_pick;

static int pick_remote(const char *name, const char *url, const char *partners, void *payload)
{
	remote_pick *p = payload;
	p->count++;
	if (p->want ? !strcmp(p->want, name) : p->count == 1) {
		free(p->name);
		free(p->url);
		free(p->partners);
		p->name = strdup(name);
		p->url = strdup(url);
		p->partners = partners ? strdup(partners) : NULL;
	}
	return 0;
}

/* ---- credentials, as git would find them ------------------------------- */

typedef struct {
	int attempts;
} cred_state;

/* Ask git's credential helpers ('git credential fill'); nothing is stored by us. */
static int credential_fill(git_credential **out, const char *url, const char *user)
{
	int in[2], outp[2], status;
	pid_t pid;
	char buf[4096];
	xch_buf req = XCH_BUF_INIT, got = XCH_BUF_INIT;
	char *username = NULL, *password = NULL, *line, *save = NULL;
	ssize_t n;
	int error = -1;

	xch_buf_printf(&req, "url=%s\n%s%s%s\n", url, user ? "username=" : "", user ? user : "", user ? "\n" : "");
	if (pipe(in) < 0 || pipe(outp) < 0)
		goto done;
	if ((pid = fork()) == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		close(in[1]);
		close(outp[0]);
		setenv("GIT_TERMINAL_PROMPT", "0", 1);
		execlp("git", "git", "credential", "fill", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	if (pid < 0) {
		close(in[1]);
		close(outp[0]);
		goto done;
	}
	xch_write_all(in[1], req.ptr, req.size);
	close(in[1]);
	while ((n = read(outp[0], buf, sizeof(buf))) > 0 && got.size < 65536)
		xch_buf_put(&got, buf, (size_t)n);
	close(outp[0]);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !got.ptr)
		goto done;
	for (line = strtok_r(got.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "username=", 9))
			username = line + 9;
		else if (!strncmp(line, "password=", 9))
			password = line + 9;
	}
	if (username && password)
		error = git_credential_userpass_plaintext_new(out, username, password);
done:
	xch_buf_dispose(&req);
	if (got.ptr)
		memset(got.ptr, 0, got.size); /* a password was in here */
	xch_buf_dispose(&got);
	return error;
}

static int credentials(git_credential **out, const char *url, const char *user_from_url,
                       unsigned int allowed, void *payload)
{
	cred_state *st = payload;
	if (++st->attempts > 3)
		return GIT_EAUTH;
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return git_credential_ssh_key_from_agent(out, user_from_url ? user_from_url : "git");
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && credential_fill(out, url, user_from_url) == 0)
		return 0;
	if (allowed & GIT_CREDENTIAL_DEFAULT)
		return git_credential_default_new(out);
	return GIT_PASSTHROUGH;
}

/* ---- the mirror ---------------------------------------------------------- */

static int open_mirror(git_repository **out, git_remote **remote, xch_store *s, const char *name, const char *url)
{
	xch_buf dir = XCH_BUF_INIT;
	git_repository_init_options gopts;
	int error;

	xch_buf_printf(&dir, "%s/channels", s->gitdir);
	if ((error = xch_mkdir_private(dir.ptr, true)) < 0)
		goto done;
	xch_buf_printf(&dir, "/%s.git", name);
	git_repository_init_options_init(&gopts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	gopts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
	gopts.initial_head = "main";
	if ((error = git_repository_init_ext(out, dir.ptr, &gopts)) < 0) {
		error = xch_error_from_git(error, "cannot open the mirror of remote '%s'", name);
		goto done;
	}
	{
		/*
		 * Anonymous, and without url.*.insteadOf rewriting: libgit2 1.5 leaks
		 * the regex match data of that lookup (the URL is used as given).
		 */
		git_remote_create_options ro;
		git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
		ro.repository = *out;
		ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
		if ((error = git_remote_create_with_opts(remote, url, &ro)) < 0)
			error = xch_error_from_git(error, "invalid URL '%s' for remote '%s'", url, name);
	}
done:
	xch_buf_dispose(&dir);
	return error;
}

static int fetch(git_remote *remote, const char *name)
{
	git_fetch_options fo;
	cred_state cs = { 0 };
	char *specs[] = { (char *)"+refs/heads/main:refs/remotes/origin/main" };
	git_strarray refspecs = { specs, 1 };
	int error;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.callbacks.credentials = credentials;
	fo.callbacks.payload = &cs;
	fo.prune = GIT_FETCH_NO_PRUNE;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if ((error = git_remote_fetch(remote, &refspecs, &fo, "xch sync")) < 0)
		return xch_error_from_git(error, "cannot fetch from remote '%s'", name);
	return 0;
}

/* The tip of the remote's main as last fetched, or none. */
static bool remote_tip(git_oid *out, git_repository *mirror)
{
	return git_reference_name_to_id(out, mirror, "refs/remotes/origin/main") == 0;
}

/* ---- seen blobs ---------------------------------------------------------- */

static bool seen(const xch_buf *list, const git_oid *oid)
{
	char hex[GIT_OID_HEXSZ + 1];
	git_oid_tostr(hex, sizeof(hex), oid);
	return list->ptr && strstr(list->ptr, hex) != NULL;
}

/* ---- pull: import what is addressed to us -------------------------------- */

typedef struct {
	char *name;
	git_oid oid;
} inbox_file;

static int cmp_inbox(const void *a, const void *b)
{
	return strcmp(((const inbox_file *)a)->name, ((const inbox_file *)b)->name);
}

static int pull(xch_transport_result *out, xch_store *s, git_repository *mirror, const char *name,
                const char *me, const xch_transport_options *opts, int *first)
{
	git_oid tip;
	git_commit *commit = NULL;
	git_tree *tree = NULL, *inbox = NULL;
	git_tree_entry *e = NULL;
	xch_buf path = XCH_BUF_INIT, seenpath = XCH_BUF_INIT, seenlist = XCH_BUF_INIT, tmp = XCH_BUF_INIT;
	inbox_file *files = NULL;
	size_t nfiles = 0;
	xch_import_options io = XCH_IMPORT_OPTIONS_INIT;
	int error = 0;

	if (!remote_tip(&tip, mirror))
		return 0; /* an empty remote */
	xch_buf_printf(&seenpath, "%s/channels/%s.seen", s->gitdir, name);
	if (xch_file_read(&seenlist, seenpath.ptr, 64u << 20, XCH_READ_NOFOLLOW) < 0)
		xch_error_clear();
	xch_buf_printf(&path, "to/%s", me);
	if ((error = git_commit_lookup(&commit, mirror, &tip)) < 0 || (error = git_commit_tree(&tree, commit)) < 0) {
		error = xch_error_from_git(error, "cannot read remote '%s'", name);
		goto done;
	}
	if (git_tree_entry_bypath(&e, tree, path.ptr) != 0 || git_tree_lookup(&inbox, mirror, git_tree_entry_id(e)) < 0)
		goto done;
	if (!(files = calloc(git_tree_entrycount(inbox) + 1, sizeof(*files)))) {
		error = xch_error_oom();
		goto done;
	}
	for (size_t i = 0; i < git_tree_entrycount(inbox); i++) {
		const git_tree_entry *f = git_tree_entry_byindex(inbox, i);
		if (git_tree_entry_type(f) != GIT_OBJECT_BLOB || seen(&seenlist, git_tree_entry_id(f)))
			continue;
		files[nfiles].name = strdup(git_tree_entry_name(f));
		git_oid_cpy(&files[nfiles].oid, git_tree_entry_id(f));
		nfiles++;
	}
	/* names sort by sender, channel, then zero-padded sequence */
	qsort(files, nfiles, sizeof(*files), cmp_inbox);
	io.allow_gap = opts ? opts->allow_gap : 0;
	for (size_t i = 0; i < nfiles && !error; i++) {
		git_blob *blob = NULL;
		xch_import_result r;
		char hex[GIT_OID_HEXSZ + 1];
		int fd = -1, ierr;

		if (!files[i].name) {
			error = xch_error_oom();
			break;
		}
		if (!xch_name_valid(files[i].name, 200)) {
			/* a name anyone could have written: reported, but not printed as it is */
			int bad = xch_error_set(XCH_EMALFORMED, "invalid file name");
			xch_buf_clear(&tmp);
			for (const char *c = files[i].name; *c && tmp.size < 200; c++)
				xch_buf_putc(&tmp, *c >= 0x20 && *c < 0x7f ? *c : '?');
			out->refused++;
			if (!*first)
				*first = bad;
			if (opts && opts->notify)
				opts->notify(tmp.ptr, bad, "refused", opts->notify_payload);
			continue;
		}
		xch_buf_clear(&tmp);
		xch_buf_printf(&tmp, "%s/channels/incoming-%s", s->gitdir, files[i].name);
		if ((error = git_blob_lookup(&blob, mirror, &files[i].oid)) < 0) {
			error = xch_error_from_git(error, "cannot read '%s' from remote '%s'", files[i].name, name);
			break;
		}
		fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			error = xch_error_set_os(XCH_EOS, "cannot write '%s'", tmp.ptr);
			git_blob_free(blob);
			break;
		}
		error = xch_write_all(fd, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
		close(fd);
		git_blob_free(blob);
		if (error < 0)
			break;
		ierr = xch_import(&r, s, tmp.ptr, &io);
		unlink(tmp.ptr);
		if (ierr < 0) {
			out->refused++;
			if (!*first)
				*first = ierr;
			if (opts && opts->notify)
				opts->notify(files[i].name, ierr, "refused", opts->notify_payload);
			continue;
		}
		if (r.already)
			out->already++;
		else
			out->imported++;
		if (opts && opts->notify)
			opts->notify(files[i].name, 0, r.already ? "imported before" : r.receipt ? "receipt imported" :
			             "imported", opts->notify_payload);
		git_oid_tostr(hex, sizeof(hex), &files[i].oid);
		xch_buf_printf(&seenlist, "%s\n", hex);
		if ((error = xch_file_write_atomic(seenpath.ptr, seenlist.ptr, seenlist.size, 0600)) < 0)
			break;
	}
done:
	for (size_t i = 0; files && i < nfiles; i++)
		free(files[i].name);
	free(files);
	git_tree_free(inbox);
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_commit_free(commit);
	xch_buf_dispose(&path);
	xch_buf_dispose(&seenpath);
	xch_buf_dispose(&seenlist);
	xch_buf_dispose(&tmp);
	return error;
}

/* ---- push: what partners are owed ------------------------------------- */

typedef struct {
	char *path;      /* in the outbox */
	char *remote;    /* to/<FPR>/<name> */
} outgoing;

typedef struct {
	outgoing *v;
	size_t n, alloc;
} outgoing_list;

static void outgoing_clear(outgoing_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].remote);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/*
 * Where a sealed file goes on the remote: under its recipient's current
 * fingerprint, named so that names sort by sender, channel and sequence.
 */
static int remote_name(outgoing_list *l, xch_store *s, const char *dir, const char *file)
{
	xch_bundle_info *info = NULL;
	xch_partner *p = NULL;
	xch_buf path = XCH_BUF_INIT, rname = XCH_BUF_INIT, partner = XCH_BUF_INIT;
	json_t *env = NULL;
	const char *dash;
	int error;

	/* bundle-<partner>-<random>.xch or receipt-<partner>-<random>.xch */
	if (!(dash = strchr(file, '-')) || strlen(file) < 20)
		return 0;
	xch_buf_put(&partner, dash + 1, strlen(dash + 1) - 17);
	xch_path_join(&path, dir, file);
	if ((error = xch_partner_lookup(&p, s, partner.ptr)) < 0 ||
	    (error = xch_bundle_inspect(&info, s, path.ptr)) < 0 ||
	    !(env = json_loads(xch_bundle_info_envelope(info), 0, NULL)))
		goto done;
	xch_buf_printf(&rname, "to/%s/%s-%s-%010lld-%.*s.xch", xch_partner_key(p, 0), xch_json_str(env, "sender_fpr"),
	               xch_json_str(env, "channel"), (long long)json_integer_value(json_object_get(env, "sequence")),
	               (int)(dash - file), file);
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 8;
		outgoing *v = realloc(l->v, na * sizeof(*v));
		if (!v) {
			error = xch_error_oom();
			goto done;
		}
		l->v = v;
		l->alloc = na;
	}
	l->v[l->n].path = xch_buf_detach(&path);
	l->v[l->n].remote = xch_buf_detach(&rname);
	l->n++;
done:
	json_decref(env);
	xch_bundle_info_free(info);
	xch_partner_free(p);
	xch_buf_dispose(&path);
	xch_buf_dispose(&rname);
	xch_buf_dispose(&partner);
	return error;
}

static int list_outbox(outgoing_list *l, xch_store *s, const char *dir)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort), error = 0;

	if (n < 0)
		return xch_error_set_os(XCH_EOS, "cannot read '%s'", dir);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);
		if (!error && names[i]->d_name[0] != '.' && len > 4 && !strcmp(names[i]->d_name + len - 4, ".xch"))
			error = remote_name(l, s, dir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return error;
}

typedef struct {
	cred_state cred;   /* first: the credentials callback reads it */
	const char *rejected;
	char message[512];
} push_state;

static int push_status(const char *refname, const char *status, void *payload)
{
	push_state *ps = payload;
	if (status) {
		ps->rejected = "rejected";
		snprintf(ps->message, sizeof(ps->message), "%s: %s", refname, status);
	}
	return 0;
}

/*
 * A remote libgit2 reaches as a local repository (a path, file://). Its push
 * there overwrites the branch with whatever the pusher has, so two pushers
 * at once may each report success while the second one's commit replaces
 * the first's. Such remotes are pushed here instead: the new objects go in
 * as one pack, then the branch moves only if it still holds what we built
 * on, under git's own ref lock (as receive-pack does for a server).
 */
static const char *local_path(const char *url)
{
	struct stat st;
	if (!strncmp(url, "file://", 7))
		return url + 7;
	return !strstr(url, "://") && stat(url, &st) == 0 && S_ISDIR(st.st_mode) ? url : NULL;
}

static int push_local(bool *raced, git_repository *mirror, const char *path, const git_oid *old, const git_oid *new)
{
	git_repository *dst = NULL;
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	git_reference *ref = NULL;
	xch_buf packdir = XCH_BUF_INIT;
	int error;

	if ((error = git_repository_open_bare(&dst, path)) < 0 ||
	    (error = git_packbuilder_new(&pb, mirror)) < 0 ||
	    (error = git_revwalk_new(&walk, mirror)) < 0 ||
	    (error = git_revwalk_push(walk, new)) < 0 ||
	    (old && (error = git_revwalk_hide(walk, old)) < 0) ||
	    (error = git_packbuilder_insert_walk(pb, walk)) < 0)
		goto done;
	if (xch_buf_printf(&packdir, "%sobjects/pack", git_repository_path(dst)) < 0) {
		error = -1;
		goto done;
	}
	if ((error = git_packbuilder_write(pb, packdir.ptr, 0, NULL, NULL)) < 0)
		goto done;
	error = old ? git_reference_create_matching(&ref, dst, "refs/heads/main", new, 1, old, "xch sync")
	            : git_reference_create(&ref, dst, "refs/heads/main", new, 0, "xch sync");
	if (error == GIT_EMODIFIED || error == GIT_EEXISTS || error == GIT_ELOCKED) {
		*raced = true;
		error = 0;
	}
done:
	git_reference_free(ref);
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	git_repository_free(dst);
	xch_buf_dispose(&packdir);
	return error;
}

/* One attempt: a commit on the fetched tip adding the outgoing files, pushed. */
static int push_once(bool *raced, git_repository *mirror, git_remote *remote, const outgoing_list *l, const char *name)
{
	git_oid tip, tree_oid, commit_oid, empty_oid;
	git_commit *parent = NULL;
	git_tree *base = NULL, *tree = NULL;
	git_treebuilder *tb = NULL;
	git_tree_update *ups = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	git_push_options po;
	push_state ps = { { 0 }, NULL, "" };
	char *specs[] = { (char *)"refs/heads/main:refs/heads/main" };
	git_strarray refspecs = { specs, 1 };
	const char *path;
	int error;

	*raced = false;
	if (remote_tip(&tip, mirror)) {
		if ((error = git_commit_lookup(&parent, mirror, &tip)) < 0 || (error = git_commit_tree(&base, parent)) < 0)
			goto git_fail;
	} else if ((error = git_treebuilder_new(&tb, mirror, NULL)) < 0 ||
	           (error = git_treebuilder_write(&empty_oid, tb)) < 0 ||
	           (error = git_tree_lookup(&base, mirror, &empty_oid)) < 0) {
		goto git_fail;
	}
	if (!(ups = calloc(l->n, sizeof(*ups)))) {
		error = xch_error_oom();
		goto done;
	}
	for (size_t i = 0; i < l->n; i++) {
		if ((error = git_blob_create_from_disk(&ups[i].id, mirror, l->v[i].path)) < 0)
			goto git_fail;
		ups[i].action = GIT_TREE_UPDATE_UPSERT;
		ups[i].filemode = GIT_FILEMODE_BLOB;
		ups[i].path = l->v[i].remote;
	}
	/* a neutral author: the remote learns nothing of who runs xch */
	if ((error = git_tree_create_updated(&tree_oid, mirror, base, l->n, ups)) < 0 ||
	    (error = git_tree_lookup(&tree, mirror, &tree_oid)) < 0 ||
	    (error = git_signature_now(&sig, "xch", "xch@invalid")) < 0)
		goto git_fail;
	{
		const git_commit *parents[1] = { parent };
		if ((error = git_commit_create(&commit_oid, mirror, NULL, sig, sig, NULL, "xch: bundles and receipts\n",
		                               tree, parent ? 1 : 0, parents)) < 0 ||
		    (error = git_reference_create(&ref, mirror, "refs/heads/main", &commit_oid, 1, "xch sync")) < 0)
			goto git_fail;
	}
	if ((path = local_path(git_remote_url(remote)))) {
		if ((error = push_local(raced, mirror, path, parent ? git_commit_id(parent) : NULL, &commit_oid)) < 0)
			goto git_fail;
		if (*raced)
			goto done;
		goto pushed;
	}
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	po.callbacks.credentials = credentials;
	po.callbacks.push_update_reference = push_status;
	po.callbacks.payload = &ps; /* starts with the cred_state the credentials callback uses */
	error = git_remote_push(remote, &refspecs, &po);
	if (error == GIT_ENONFASTFORWARD || (error == 0 && ps.rejected) ||
	    (error < 0 && git_error_last() && git_error_last()->message &&
	     (strstr(git_error_last()->message, "non-fast-forward") || strstr(git_error_last()->message, "fetch first") ||
	      strstr(git_error_last()->message, "cannot lock ref") || strstr(git_error_last()->message, "failed to update ref")))) {
		*raced = true;
		error = 0;
		goto done;
	}
	if (error < 0)
		goto git_fail;
pushed:
	/* what we pushed is the remote's tip now */
	{
		git_reference *r2 = NULL;
		git_reference_create(&r2, mirror, "refs/remotes/origin/main", &commit_oid, 1, "xch sync");
		git_reference_free(r2);
	}
	goto done;
git_fail:
	error = xch_error_from_git(error, "cannot push to remote '%s'", name);
done:
	git_reference_free(ref);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base);
	git_treebuilder_free(tb);
	git_commit_free(parent);
	free(ups);
	return error;
}

/* Seal for the partners tied to the remote (all when none are), within those asked for. */
static int seal_for_remote(xch_transport_result *out, xch_store *s, const char *outbox,
                           const xch_transport_options *opts, const char *tied)
{
	xch_transport_options o = opts ? *opts : (xch_transport_options)XCH_TRANSPORT_OPTIONS_INIT;
	const char **names = NULL;
	char *copy = NULL, *tok, *save = NULL;
	size_t n = 0;
	int error;

	if (!tied)
		return xch_transport_seal_pending(out, s, outbox, opts, NULL);
	if (!(copy = strdup(tied)) || !(names = calloc(strlen(tied) + 1, sizeof(*names)))) {
		free(copy);
		return xch_error_oom();
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool asked = !opts || !opts->partners;
		for (size_t i = 0; opts && opts->partners && i < opts->npartners; i++)
			asked |= !strcmp(opts->partners[i], tok);
		if (asked)
			names[n++] = tok;
	}
	o.partners = names;
	o.npartners = n;
	error = n ? xch_transport_seal_pending(out, s, outbox, &o, NULL) : 0;
	free(names);
	free(copy);
	return error;
}

static int lock_channel(int *fd, xch_store *s, const char *name)
{
	xch_buf path = XCH_BUF_INIT;
	xch_buf_printf(&path, "%s/channels/%s.lock", s->gitdir, name);
	*fd = open(path.ptr, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	xch_buf_dispose(&path);
	if (*fd < 0 || flock(*fd, LOCK_EX) < 0)
		return xch_error_set_os(XCH_EOS, "cannot lock remote '%s'", name);
	return 0;
}

int xch_sync(xch_transport_result *out, xch_store *s, const char *name, int what, const xch_transport_options *opts)
{
	remote_pick pick = { name, NULL, NULL, NULL, 0 };
	git_repository *mirror = NULL;
	git_remote *remote = NULL;
	outgoing_list l = { 0 };
	xch_buf me = XCH_BUF_INIT, outbox = XCH_BUF_INIT;
	int error, first = 0, lockfd = -1;

	XCH_ARG(out && s && (what & XCH_SYNC_BOTH));
	memset(out, 0, sizeof(*out));
	if ((error = xch_remote_foreach(s, pick_remote, &pick)) < 0)
		goto done;
	if (!pick.url) {
		error = name ? xch_error_set(XCH_ENOTFOUND, "no remote '%s'; see 'xch remote add'", name)
		             : xch_error_set(XCH_ENOTFOUND, "no remote; see 'xch remote add NAME URL'");
		goto done;
	}
	if (!name && pick.count > 1) {
		error = xch_error_set(XCH_EINVALID, "several remotes: name the one to sync");
		goto done;
	}
	if ((error = xch_store_identity(&me, s)) < 0 ||
	    (error = open_mirror(&mirror, &remote, s, pick.name, pick.url)) < 0 ||
	    (error = lock_channel(&lockfd, s, pick.name)) < 0)
		goto done;
	if ((error = fetch(remote, pick.name)) < 0)
		goto done;
	if ((what & XCH_SYNC_PULL) && (error = pull(out, s, mirror, pick.name, me.ptr, opts, &first)) < 0)
		goto done;
	if (!(what & XCH_SYNC_PUSH))
		goto done;

	/* the outbox keeps sealed files until a push took them: an interrupted sync sends them next time */
	xch_buf_printf(&outbox, "%s/channels/%s.outbox", s->gitdir, pick.name);
	if ((error = xch_mkdir_private(outbox.ptr, true)) < 0 ||
	    (error = seal_for_remote(out, s, outbox.ptr, opts, pick.partners)) < 0 ||
	    (error = list_outbox(&l, s, outbox.ptr)) < 0)
		goto done;
	for (int attempt = 0; l.n > 0; attempt++) {
		bool raced;
		if (attempt == SYNC_RETRIES) {
			error = xch_error_set(XCH_ELOCKED, "remote '%s' kept changing under us; run xch sync again", pick.name);
			goto done;
		}
		if ((error = push_once(&raced, mirror, remote, &l, pick.name)) < 0)
			goto done;
		if (!raced)
			break;
		/* someone pushed first: take their commit and build on it */
		usleep((useconds_t)(50000 * (attempt + 1)));
		if ((error = fetch(remote, pick.name)) < 0)
			goto done;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (opts && opts->notify)
			opts->notify(l.v[i].remote, 0, "pushed", opts->notify_payload);
		unlink(l.v[i].path);
	}
	if (l.n)
		xch_fsync_dir(outbox.ptr);
done:
	/* the last message may be from later work: say what the refusals add up to */
	if (!error && first)
		error = xch_error_set(first, "%zu file%s from remote '%s' refused", out->refused,
		                      out->refused == 1 ? "" : "s", pick.name);
	if (lockfd >= 0)
		close(lockfd);
	outgoing_clear(&l);
	git_remote_free(remote);
	git_repository_free(mirror);
	free(pick.name);
	free(pick.url);
	free(pick.partners);
	xch_buf_dispose(&me);
	xch_buf_dispose(&outbox);
	return error;
}
