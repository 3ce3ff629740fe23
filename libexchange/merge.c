/*
 * Field-level three-way JSON merge: objects key by key, arrays of records
 * by "id", anything else as a value; a conflict keeps ours and is listed
 * by its JSON pointer. See merge.h for the rules.
 */
#include "common.h"
#include "merge.h"

typedef struct {
	xch_buf path;                   /* JSON pointer of the current location */
	xch_merge_conflicts *conflicts;
} merge_ctx;

static int merge_value(merge_ctx *ctx, json_t **out, const json_t *base,
		const json_t *ours, const json_t *theirs, int depth);

bool xch_json_same(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	return json_equal(a, b) != 0;
}

void xch_merge_conflicts_clear(xch_merge_conflicts *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->pointers[i]);
	free(c->pointers);
	c->pointers = NULL;
	c->n = 0;
}

/* A private copy of v for the result (NULL stays NULL: absent). */
static int copy_value(json_t **out, const json_t *v)
{
	*out = NULL;
	if (v && !(*out = json_deep_copy(v)))
		return xch_error_oom();
	return 0;
}

static int add_conflict(merge_ctx *ctx)
{
	xch_merge_conflicts *c = ctx->conflicts;
	char *p = strdup(ctx->path.ptr ? ctx->path.ptr : "");
	char **grown;

	if (!p)
		return xch_error_oom();
	if (c->n >= SIZE_MAX / sizeof(*grown) - 1 ||
	    !(grown = realloc(c->pointers, (c->n + 1) * sizeof(*grown)))) {
		free(p);
		return xch_error_oom();
	}
	c->pointers = grown;
	c->pointers[c->n++] = p;
	return 0;
}

/* Append "/token" to the path, escaping "~" and "/" (RFC 6901). */
static int path_push(xch_buf *path, const char *token, size_t len)
{
	int error = xch_buf_putc(path, '/');

	for (size_t i = 0; !error && i < len; i++) {
		if (token[i] == '~')
			error = xch_buf_puts(path, "~0");
		else if (token[i] == '/')
			error = xch_buf_puts(path, "~1");
		else
			error = xch_buf_putc(path, token[i]);
	}
	return error < 0 ? error : 0;
}

/* Merge one member or element at path + "/token". */
static int merge_child(merge_ctx *ctx, json_t **out, const char *token, size_t len,
		const json_t *base, const json_t *ours, const json_t *theirs, int depth)
{
	size_t mark = ctx->path.size;
	int error = path_push(&ctx->path, token, len);

	if (!error)
		error = merge_value(ctx, out, base, ours, theirs, depth + 1);
	ctx->path.size = mark;
	if (ctx->path.ptr)
		ctx->path.ptr[mark] = '\0';
	return error;
}

static int merge_member(merge_ctx *ctx, json_t *result, const char *key, size_t klen,
		const json_t *base, const json_t *ours, const json_t *theirs, int depth)
{
	const json_t *b = json_is_object(base) ? json_object_getn(base, key, klen) : NULL;
	json_t *child;
	int error = merge_child(ctx, &child, key, klen, b, ours, theirs, depth);

	if (error)
		return error;
	if (child && json_object_setn_new_nocheck(result, key, klen, child) < 0)
		return xch_error_oom();
	return 0;
}

/* Rule 2: ours' keys in ours' order, then keys only theirs has. */
static int merge_objects(merge_ctx *ctx, json_t **out, const json_t *base,
		const json_t *ours, const json_t *theirs, int depth)
{
	json_t *result = json_object(), *v;
	const char *key;
	size_t klen;
	int error = 0;

	if (!result)
		return xch_error_oom();
	/* jansson iterates through non-const pointers; nothing is modified */
	json_object_keylen_foreach((json_t *)ours, key, klen, v) {
		error = merge_member(ctx, result, key, klen, base, v,
				json_object_getn(theirs, key, klen), depth);
		if (error)
			goto done;
	}
	json_object_keylen_foreach((json_t *)theirs, key, klen, v) {
		if (json_object_getn(ours, key, klen))
			continue;
		if ((error = merge_member(ctx, result, key, klen, base, NULL, v, depth)) != 0)
			goto done;
	}
done:
	if (error)
		json_decref(result);
	else
		*out = result;
	return error;
}

/*
 * Index an array (NULL: empty) by the "id" of its elements: an object
 * id -> index. Returns 0, 1 when some element is not an object with a
 * string "id" or an id repeats, or a negative code.
 */
static int index_by_id(json_t **out, const json_t *array)
{
	json_t *index = json_object(), *el;
	size_t i;

	*out = NULL;
	if (!index)
		return xch_error_oom();
	json_array_foreach(array, i, el) {
		const json_t *id = json_is_object(el) ? json_object_get(el, "id") : NULL;
		if (!json_is_string(id) ||
		    json_object_getn(index, json_string_value(id), json_string_length(id))) {
			json_decref(index);
			return 1;
		}
		/* setn_new releases nothing and fails on a NULL value */
		if (json_object_setn_new_nocheck(index, json_string_value(id), json_string_length(id),
				json_integer((json_int_t)i)) < 0) {
			json_decref(index);
			return xch_error_oom();
		}
	}
	*out = index;
	return 0;
}

/* The element of array whose id is that of el, or NULL. */
static const json_t *by_id(const json_t *array, const json_t *index, const json_t *el)
{
	const json_t *id = json_object_get(el, "id");
	const json_t *at = json_object_getn(index, json_string_value(id), json_string_length(id));

	return at ? json_array_get(array, (size_t)json_integer_value(at)) : NULL;
}

static int merge_element(merge_ctx *ctx, json_t *result, size_t at,
		const json_t *base, const json_t *ours, const json_t *theirs, int depth)
{
	char token[24];
	int n = snprintf(token, sizeof(token), "%zu", at);
	json_t *child;
	int error;

	if (n < 0 || (size_t)n >= sizeof(token))
		return xch_error_set(XCH_ERROR, "cannot format array index");
	if ((error = merge_child(ctx, &child, token, (size_t)n, base, ours, theirs, depth)) != 0)
		return error;
	if (child && json_array_append_new(result, child) < 0)
		return xch_error_oom();
	return 0;
}

/*
 * Rule 3. Returns 1 (nothing done) when the arrays are not all keyed by
 * unique ids. An element's pointer uses its index in ours, else in theirs.
 */
static int merge_arrays(merge_ctx *ctx, json_t **out, const json_t *base,
		const json_t *ours, const json_t *theirs, int depth)
{
	json_t *bi = NULL, *oi = NULL, *ti = NULL, *result = NULL, *el;
	size_t i;
	int error;

	if ((error = index_by_id(&bi, base)) != 0 || (error = index_by_id(&oi, ours)) != 0 ||
	    (error = index_by_id(&ti, theirs)) != 0)
		goto done;
	if (!(result = json_array())) {
		error = xch_error_oom();
		goto done;
	}
	json_array_foreach(ours, i, el) {
		error = merge_element(ctx, result, i, by_id(base, bi, el), el,
				by_id(theirs, ti, el), depth);
		if (error)
			goto done;
	}
	json_array_foreach(theirs, i, el) {
		if (by_id(ours, oi, el))
			continue;
		if ((error = merge_element(ctx, result, i, by_id(base, bi, el), NULL, el, depth)) != 0)
			goto done;
	}
done:
	json_decref(bi);
	json_decref(oi);
	json_decref(ti);
	if (error)
		json_decref(result);
	else
		*out = result;
	return error;
}

static int merge_value(merge_ctx *ctx, json_t **out, const json_t *base,
		const json_t *ours, const json_t *theirs, int depth)
{
	int error;

	*out = NULL;
	if (depth > XCH_MERGE_MAX_DEPTH)
		return xch_error_set(XCH_ETOOBIG, "cannot merge '%s': nesting deeper than %d",
				ctx->path.ptr ? ctx->path.ptr : "", XCH_MERGE_MAX_DEPTH);

	/* rule 1 */
	if (xch_json_same(ours, theirs) || xch_json_same(theirs, base))
		return copy_value(out, ours);
	if (xch_json_same(ours, base))
		return copy_value(out, theirs);

	/* rule 2 */
	if (json_is_object(ours) && json_is_object(theirs) && (!base || json_is_object(base)))
		return merge_objects(ctx, out, base, ours, theirs, depth);

	/* rule 3 */
	if (json_is_array(ours) && json_is_array(theirs) && (!base || json_is_array(base))) {
		error = merge_arrays(ctx, out, base, ours, theirs, depth);
		if (error <= 0)
			return error;
	}

	/* rule 4 */
	if ((error = add_conflict(ctx)) < 0)
		return error;
	return copy_value(out, ours);
}

int xch_merge_json(json_t **out, const json_t *base, const json_t *ours, const json_t *theirs,
		xch_merge_conflicts *conflicts)
{
	merge_ctx ctx = { XCH_BUF_INIT, conflicts };
	size_t before;
	int error;

	XCH_ARG(out);
	*out = NULL;
	XCH_ARG(conflicts);

	before = conflicts->n;
	error = merge_value(&ctx, out, base, ours, theirs, 0);
	xch_buf_dispose(&ctx.path);
	if (error < 0) {
		/* leave the list as it was */
		while (conflicts->n > before)
			free(conflicts->pointers[--conflicts->n]);
		*out = NULL;
	}
	return error;
}
