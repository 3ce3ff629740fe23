/*
 * Records: parsing, canonical form, attachments, validation.
 */
#include "common.h"
#include "record.h"
#include "builtin.h"
#include "schema.h"
#include "json.h"
#include "util.h"
#include "sha256.h"

static const char *const record_types[] = { "assessment", "advisory", NULL };

const char *const *xch_record_types(void)
{
	return record_types;
}

bool xch_record_type_known(const char *type)
{
	for (size_t i = 0; record_types[i]; i++)
		if (!strcmp(type, record_types[i]))
			return true;
	return false;
}

int xch_record_id_valid(const char *id)
{
	size_t i;
	if (!id || !((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z') ||
	             (id[0] >= '0' && id[0] <= '9')))
		return 0;
	for (i = 0; id[i]; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return i <= 128 && !strstr(id, "..");
}

/*
 * A record of json; its canonical text is text (len bytes) or, when NULL,
 * made here unless no_text.
 */
static int make_record(xch_record **out, json_t *json, const char *origin, const char *text, size_t len,
                       bool no_text)
{
	xch_record *r;
	xch_buf canon = XCH_BUF_INIT;
	const char *type, *id;

	if (!json_is_object(json)) {
		json_decref(json);
		return xch_error_set(XCH_ESCHEMA, "'%s': a record must be a JSON object", origin);
	}
	type = xch_json_str(json, "type");
	id = xch_json_str(json, "id");
	if (!type || !xch_record_type_known(type)) {
		xch_error_set(XCH_ESCHEMA, "'%s': unknown record type%s%s%s (expected assessment or advisory)",
		              origin, type ? " '" : "", type ? type : "", type ? "'" : "");
		json_decref(json);
		return XCH_ESCHEMA;
	}
	if (!id || !xch_record_id_valid(id)) {
		xch_error_set(XCH_ESCHEMA, "'%s': invalid record id%s%s%s", origin,
		              id ? " '" : "", id ? id : "", id ? "'" : "");
		json_decref(json);
		return XCH_ESCHEMA;
	}
	if (text ? xch_buf_put(&canon, text, len) < 0 : !no_text && xch_json_canonical(&canon, json) < 0) {
		json_decref(json);
		xch_buf_dispose(&canon);
		return XCH_ERROR;
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		json_decref(json);
		xch_buf_dispose(&canon);
		return xch_error_oom();
	}
	r->json = json;
	r->canonical_len = canon.size;
	r->canonical = xch_buf_detach(&canon);
	r->type = type;
	r->id = id;
	*out = r;
	return 0;
}

int xch_record_from_json(xch_record **out, json_t *json, const char *origin)
{
	return make_record(out, json, origin, NULL, 0, false);
}

/*
 * Parse data; with text, its canonical text too: data itself when it is
 * canonical already (as the store holds every record), else made.
 */
static int parse_record(xch_record **out, bool *canonical, const char *data, size_t len, const char *origin,
                        bool text)
{
	json_t *json;
	bool canon = false;
	int error;

	XCH_ARG(out && data);
	if (!origin)
		origin = "<record>";
	if ((error = xch_json_parse_canon(&json, &canon, data, len, origin)) < 0)
		return error;
	if (canonical)
		*canonical = canon;
	return make_record(out, json, origin, text && canon ? data : NULL, len, !text);
}

int xch_record_parse_untexted(xch_record **out, bool *canonical, const char *data, size_t len, const char *origin)
{
	return parse_record(out, canonical, data, len, origin, false);
}

int xch_record_parse(xch_record **out, const char *data, size_t len, const char *origin)
{
	return parse_record(out, NULL, data, len, origin, true);
}

int xch_record_load(xch_record **out, const char *path)
{
	json_t *json;
	int error;

	XCH_ARG(out && path);
	if ((error = xch_json_load_file(&json, path)) < 0)
		return error;
	return xch_record_from_json(out, json, path);
}

const char *xch_record_id(const xch_record *r) { return r->id; }
const char *xch_record_type(const xch_record *r) { return r->type; }
const json_t *xch_record_json(const xch_record *r) { return r->json; }

const char *xch_record_title(const xch_record *r)
{
	const char *t = xch_json_str(r->json, "title");
	return t ? t : "";
}

const char *xch_record_tlp(const xch_record *r)
{
	return xch_json_str(json_object_get(r->json, "marking"), "tlp");
}

int xch_record_canonical(const xch_record *r, const char **data, size_t *len)
{
	XCH_ARG(r && data && len);
	*data = r->canonical;
	*len = r->canonical_len;
	return 0;
}

size_t xch_record_attachment_count(const xch_record *r)
{
	json_t *a = json_object_get(r->json, "attachments");
	return json_is_array(a) ? json_array_size(a) : 0;
}

int xch_record_attachment(const xch_record *r, size_t i, const char **name,
                          const char **media_type, uint64_t *size, const char **sha256)
{
	json_t *a = json_array_get(json_object_get(r->json, "attachments"), i);
	json_t *sz = json_object_get(a, "size");
	const char *n = xch_json_str(a, "name"), *sha = xch_json_str(a, "sha256");

	if (!a || !n || !sha || !json_is_integer(sz) || json_integer_value(sz) < 0 ||
	    !xch_sha256_hex_valid(sha))
		return xch_error_set(XCH_ESCHEMA, "record '%s': attachment %zu is malformed", r->id, i);
	if (name)
		*name = n;
	if (media_type)
		*media_type = xch_json_str(a, "media_type");
	if (size)
		*size = (uint64_t)json_integer_value(sz);
	if (sha256)
		*sha256 = sha;
	return 0;
}

int xch_record_schema_uri(xch_buf *out, const char *type)
{
	xch_buf_clear(out);
	return xch_buf_printf(out, "urn:xch:schema:%s", type);
}

int xch_schema_set_builtin(xch_schema_set **out)
{
	xch_schema_set *set;
	int error;

	XCH_ARG(out);
	if ((error = xch_schema_set_new(&set)) < 0)
		return error;
	for (const xch_builtin *b = xch_builtin_schemas; b->name; b++) {
		if ((error = xch_schema_set_add_buffer(set, b->data, b->len, b->name, NULL)) < 0) {
			xch_error_prefix("built-in schema '%s'", b->name);
			xch_schema_set_free(set);
			return error;
		}
	}
	*out = set;
	return 0;
}

int xch_record_validate(xch_violations **out, xch_schema_set *set, const xch_record *r)
{
	xch_buf uri = XCH_BUF_INIT;
	int error;

	XCH_ARG(out && set && r);
	*out = NULL;
	if ((error = xch_record_schema_uri(&uri, r->type)) == 0)
		error = xch_schema_validate_json(out, set, uri.ptr, r->json);
	xch_buf_dispose(&uri);
	return error;
}

void xch_record_free(xch_record *r)
{
	if (!r)
		return;
	json_decref(r->json);
	free(r->canonical);
	free(r);
}
