/*
 * Helpers shared by the commands.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cli_open_store(xch_store **out)
{
	const char *env = getenv("XCH_DIR");
	xch_buf top = XCH_BUF_INIT;
	int error;

	if (env && *env)
		return xch_store_open(out, env);
	if ((error = xch_store_discover(&top, ".")) < 0)
		return error;
	error = xch_store_open(out, top.ptr);
	xch_buf_dispose(&top);
	return error;
}

void cli_print_json(json_t *v, bool pretty)
{
	char *s = json_dumps(v, JSON_SORT_KEYS | JSON_ENCODE_ANY | (pretty ? JSON_INDENT(2) : JSON_COMPACT));
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	json_decref(v);
}

json_t *cli_record_json(const xch_record *r)
{
	const char *data;
	size_t len;
	if (xch_record_canonical(r, &data, &len) < 0)
		return NULL;
	return json_loadb(data, len, 0, NULL);
}

void cli_time(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
