/*
 * Manifests with their entries apart: the text written and read an entry
 * at a time, so memory grows by a compact struct per entry, not by a
 * jansson tree.
 */
#include "common.h"
#include "manifest.h"

int xch_manifest_entries_add_json(xch_manifest_entries *l, const json_t *entry)
{
	const char *path = xch_json_str(entry, "path"), *sha = xch_json_str(entry, "sha256"),
	           *base = xch_json_str(entry, "base");
	xch_manifest_entry *e;

	if (!path || !json_is_integer(json_object_get(entry, "size")) ||
	    json_integer_value(json_object_get(entry, "size")) < 0)
		return xch_error_set(XCH_EMALFORMED, "a manifest entry lacks its path, size or SHA-256");
	if (l->n == l->alloc) {
		size_t a = l->alloc ? 2 * l->alloc : 64;
		xch_manifest_entry *v = realloc(l->v, a * sizeof(*v));
		if (!v)
			return xch_error_oom();
		l->v = v;
		l->alloc = a;
	}
	e = &l->v[l->n];
	if (!xch_sha256_from_hex(e->sha256, sha) || (base && !xch_sha256_from_hex(e->base, base)))
		return xch_error_set(XCH_EMALFORMED, "a manifest entry's SHA-256 is not 64 hex digits");
	if (!(e->path = strdup(path)))
		return xch_error_oom();
	e->size = (uint64_t)json_integer_value(json_object_get(entry, "size"));
	e->has_base = base != NULL;
	e->unchanged = json_is_true(json_object_get(entry, "unchanged"));
	l->n++;
	return 0;
}

void xch_manifest_entries_dispose(xch_manifest_entries *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

/* The top-level member "entries", an empty array, in a canonical text. */
static const char entries_key[] = "\n  \"entries\": [";

int xch_manifest_text_split(xch_manifest_text *t, const json_t *m)
{
	xch_buf text = XCH_BUF_INIT;
	const char *at;
	size_t cut;
	int error;

	t->head = (xch_buf)XCH_BUF_INIT;
	t->tail = (xch_buf)XCH_BUF_INIT;
	if (json_array_size(json_object_get(m, "entries")) != 0 || !json_is_array(json_object_get(m, "entries")))
		return xch_error_set(XCH_EINVALID, "a manifest to split needs an empty entries array");
	if ((error = xch_json_canonical(&text, m)) < 0)
		goto done;
	/* at two spaces' indent: a top-level member; a newline in a string is "\n" */
	if (!(at = strstr(text.ptr, entries_key)) || at[sizeof(entries_key) - 1] != ']') {
		error = xch_error_set(XCH_ERROR, "cannot find the entries in a manifest's text");
		goto done;
	}
	cut = (size_t)(at - text.ptr) + sizeof(entries_key) - 1;
	if ((error = xch_buf_put(&t->head, text.ptr, cut)) < 0 ||
	    (error = xch_buf_put(&t->tail, text.ptr + cut, text.size - cut)) < 0)
		xch_manifest_text_dispose(t);
done:
	xch_buf_dispose(&text);
	return error;
}

void xch_manifest_text_dispose(xch_manifest_text *t)
{
	xch_buf_dispose(&t->head);
	xch_buf_dispose(&t->tail);
}

static bool safe_path(const char *p)
{
	if (!*p)
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-' || *p == '/'))
			return false;
	return true;
}

int xch_manifest_entry_text(xch_buf *out, const xch_manifest_entry *e, size_t i, size_t n)
{
	char sha[XCH_SHA256_HEXSIZE + 1], base[XCH_SHA256_HEXSIZE + 1];

	/* an element of a top-level array: at four spaces, its members at six (xch_json_canonical) */
	if (!safe_path(e->path))
		return xch_error_set(XCH_EINVALID, "'%s': not a path a manifest may hold", e->path);
	xch_sha256_to_hex(sha, e->sha256);
	if (e->has_base)
		xch_sha256_to_hex(base, e->base);
	if (xch_buf_puts(out, i ? ",\n    {\n" : "\n    {\n") < 0 ||
	    (e->has_base && xch_buf_printf(out, "      \"base\": \"%s\",\n", base) < 0) ||
	    xch_buf_printf(out, "      \"path\": \"%s\",\n      \"sha256\": \"%s\",\n      \"size\": %llu%s\n    }%s",
	                   e->path, sha, (unsigned long long)e->size,
	                   e->unchanged ? ",\n      \"unchanged\": true" : "", i + 1 == n ? "\n  " : "") < 0)
		return xch_error_oom();
	return 0;
}

int xch_manifest_text_full(xch_buf *out, const json_t *m, const xch_manifest_entry *e, size_t n)
{
	xch_manifest_text t;
	int error;

	xch_buf_clear(out);
	if ((error = xch_manifest_text_split(&t, m)) < 0)
		return error;
	if ((error = xch_buf_put(out, t.head.ptr, t.head.size)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++)
		if ((error = xch_manifest_entry_text(out, &e[i], i, n)) < 0)
			goto done;
	error = xch_buf_put(out, t.tail.ptr, t.tail.size);
done:
	xch_manifest_text_dispose(&t);
	return error;
}
