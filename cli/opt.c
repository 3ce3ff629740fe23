/*
 * Option parsing and help from one table.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "cli.h"

static int strv_push(cli_strv *v, const char *s)
{
	const char **n = realloc(v->v, (v->n + 2) * sizeof(*n));
	if (!n)
		return -1;
	n[v->n++] = s;
	n[v->n] = NULL;
	v->v = n;
	return 0;
}

void cli_strv_free(cli_strv *v)
{
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static void synopsis_item(FILE *f, const cli_opt *o)
{
	if (o->type == CLI_OPT_ARG || o->type == CLI_OPT_ARGS) {
		fprintf(f, "%s%s%s%s", (o->flags & CLI_OPT_REQUIRED) ? "" : "[", o->name,
		        o->type == CLI_OPT_ARGS ? "..." : "", (o->flags & CLI_OPT_REQUIRED) ? "" : "]");
		return;
	}
	fprintf(f, "--%s", o->name);
	if (o->type != CLI_OPT_FLAG)
		fprintf(f, " %s", o->value_name);
}

void cli_opt_usage(FILE *f, const char *command, const cli_opt *opts)
{
	fprintf(f, "usage: xch %s", command);
	for (const cli_opt *o = opts; o->name; o++) {
		if (o->flags & CLI_OPT_HIDDEN)
			continue;
		if (o->type == CLI_OPT_ARG || o->type == CLI_OPT_ARGS) {
			fputc(' ', f);
			synopsis_item(f, o);
			continue;
		}
		if (o->flags & CLI_OPT_REQUIRED) {
			fputc(' ', f);
			synopsis_item(f, o);
			if (o->type == CLI_OPT_LIST)
				fputs("...", f);
			continue;
		}
		if (o->flags & CLI_OPT_ALT) {
			fputs(" | ", f);
		} else {
			fputs(" [", f);
		}
		synopsis_item(f, o);
		if (!(o[1].name && (o[1].flags & CLI_OPT_ALT))) {
			fputc(']', f);
			if (o->type == CLI_OPT_LIST)
				fputs("...", f);
		}
	}
	fputc('\n', f);
}

void cli_opt_help(FILE *f, const char *command, const char *summary, const cli_opt *opts)
{
	cli_opt_usage(f, command, opts);
	if (summary)
		fprintf(f, "\n%s\n", summary);
	fputc('\n', f);
	for (const cli_opt *o = opts; o->name; o++) {
		char left[64];
		if (o->flags & CLI_OPT_HIDDEN)
			continue;
		if (o->type == CLI_OPT_ARG || o->type == CLI_OPT_ARGS)
			snprintf(left, sizeof(left), "%s", o->name);
		else if (o->short_name && o->type != CLI_OPT_FLAG)
			snprintf(left, sizeof(left), "-%c, --%s %s", o->short_name, o->name, o->value_name);
		else if (o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s", o->short_name, o->name);
		else if (o->type != CLI_OPT_FLAG)
			snprintf(left, sizeof(left), "--%s %s", o->name, o->value_name);
		else
			snprintf(left, sizeof(left), "--%s", o->name);
		fprintf(f, "    %-24s %s\n", left, o->help ? o->help : "");
	}
	fprintf(f, "    %-24s %s\n", "-h, --help", "show this help");
}

__attribute__((format(printf, 3, 4)))
static int bad(const char *command, const cli_opt *opts, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "xch %s: ", command);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_opt_usage(stderr, command, opts);
	return CLI_PARSE_ERROR;
}

static int take(const char *command, const cli_opt *opts, const cli_opt *o, const char *value)
{
	if (o->type == CLI_OPT_FLAG) {
		*(int *)o->dest = 1;
		return 0;
	}
	if (!value)
		return bad(command, opts, "option '--%s' needs a value", o->name);
	if (o->type == CLI_OPT_LIST) {
		if (strv_push(o->dest, value) < 0)
			return bad(command, opts, "%s", "out of memory");
		return 0;
	}
	*(const char **)o->dest = value;
	return 0;
}

int cli_opt_parse(const char *command, const char *summary, const cli_opt *opts,
                  int argc, char **argv)
{
	const cli_opt *positional = opts;
	bool only_args = false;
	int error;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const cli_opt *o;

		if (!only_args && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			cli_opt_help(stdout, command, summary, opts);
			return CLI_PARSE_HELP;
		}
		if (!only_args && !strcmp(a, "--")) {
			only_args = true;
			continue;
		}
		if (!only_args && a[0] == '-' && a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			for (o = opts; o->name; o++)
				if (o->type <= CLI_OPT_LIST && strlen(o->name) == len &&
				    !strncmp(o->name, a + 2, len))
					break;
			if (!o->name)
				return bad(command, opts, "unknown option '%s'", a);
			if (o->type == CLI_OPT_FLAG && eq)
				return bad(command, opts, "option '%s' takes no value", a);
			if (o->type == CLI_OPT_FLAG)
				error = take(command, opts, o, NULL);
			else
				error = take(command, opts, o, eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL));
			if (error)
				return error;
			continue;
		}
		if (!only_args && a[0] == '-' && a[1]) {
			for (const char *s = a + 1; *s; s++) {
				for (o = opts; o->name; o++)
					if (o->short_name == *s && o->type <= CLI_OPT_LIST)
						break;
				if (!o->name) {
					char opt[3] = { '-', *s, 0 };
					return bad(command, opts, "unknown option '%s'", opt);
				}
				if (o->type == CLI_OPT_FLAG) {
					*(int *)o->dest = 1;
					continue;
				}
				if ((error = take(command, opts, o, s[1] ? s + 1 : (i + 1 < argc ? argv[++i] : NULL))))
					return error;
				break;
			}
			continue;
		}
		while (positional->name && positional->type != CLI_OPT_ARG && positional->type != CLI_OPT_ARGS)
			positional++;
		if (!positional->name)
			return bad(command, opts, "unexpected argument '%s'", a);
		if (positional->type == CLI_OPT_ARGS) {
			if (strv_push(positional->dest, a) < 0)
				return bad(command, opts, "%s", "out of memory");
		} else {
			*(const char **)positional->dest = a;
			positional++;
		}
	}
	for (const cli_opt *o = opts; o->name; o++) {
		if (!(o->flags & CLI_OPT_REQUIRED))
			continue;
		if (((o->type == CLI_OPT_ARG || o->type == CLI_OPT_VALUE) && !*(const char **)o->dest) ||
		    ((o->type == CLI_OPT_ARGS || o->type == CLI_OPT_LIST) && ((cli_strv *)o->dest)->n == 0))
			return bad(command, opts, o->type <= CLI_OPT_LIST ? "missing --%s" : "missing %s", o->name);
	}
	return CLI_PARSE_OK;
}
