/*
 * xch: dispatch table, global options and exit codes.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

cli_global_opts cli_global;

typedef struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} cli_command;

static const cli_command commands[] = {
#define XCH_COMMAND(name, summary) { #name, cmd_##name, summary },
#include "commands.def"
#undef XCH_COMMAND
	{ NULL, NULL, NULL }
};

int cli_exit_code(int error)
{
	switch (error) {
	case XCH_OK: return EXIT_OK;
	case XCH_ESCHEMA: case XCH_ECONFLICT: return EXIT_CHECK;
	case XCH_EBADSIG: return EXIT_BADSIG;
	case XCH_EUNTRUSTED: case XCH_EKEYEXPIRED: case XCH_EKEYREVOKED: return EXIT_UNTRUSTED;
	case XCH_ENOTFORUS: return EXIT_NOTFORUS;
	case XCH_ETAMPERED: return EXIT_TAMPERED;
	case XCH_EEXPIRED: return EXIT_EXPIRED;
	case XCH_EREPLAY: return EXIT_REPLAY;
	case XCH_EMALFORMED: case XCH_ETOOBIG: case XCH_EUNSUPPORTED: return EXIT_MALFORMED;
	case XCH_EGAP: return EXIT_GAP;
	case XCH_EMARKING: return EXIT_MARKING;
	default: return EXIT_USAGE;
	}
}

int cli_fail(int error)
{
	const xch_error *e = xch_error_last();
	fprintf(stderr, "xch: %s\n", e->code ? e->message : xch_error_name(error));
	return cli_exit_code(error);
}

int cli_die(int code, const char *fmt, ...)
{
	va_list ap;
	fputs("xch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

void cli_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void usage(FILE *f)
{
	fputs("usage: xch [-C DIR] [--version] [--help] COMMAND [ARGS]\n\ncommands:\n", f);
	for (const cli_command *c = commands; c->name; c++)
		fprintf(f, "    %-12s %s\n", c->name, c->summary);
	fputs("\nSee 'xch COMMAND --help' or xch(1) for more.\n", f);
}

static const cli_command *find_command(const char *name)
{
	for (const cli_command *c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

CLI_COMMAND(help)
{
	const char *name = NULL;
	const cli_command *c;
	int error;
	const cli_opt options[] = {
		{ CLI_OPT_ARG, 0, "COMMAND", NULL, &name, 0, "the command to explain" },
		CLI_OPT_END
	};

	if ((error = cli_opt_parse("help", "Show the commands, or the help of COMMAND.", options, argc, argv)))
		return error == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
	if (!name) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!(c = find_command(name)) || c->fn == cmd_help)
		return cli_die(EXIT_USAGE, "'%s' is not an xch command", name);
	char *args[] = { (char *)name, (char *)"--help", NULL };
	return c->fn(2, args);
}

int main(int argc, char **argv)
{
	const cli_command *c;
	int i, rc, error;

	/* the store holds sensitive data: nothing we create is for others */
	umask(077);

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-C")) {
			if (++i >= argc)
				return cli_die(EXIT_USAGE, "option '-C' needs a directory");
			cli_global.dir = argv[i];
		} else if (!strncmp(argv[i], "-C", 2)) {
			cli_global.dir = argv[i] + 2;
		} else if (!strcmp(argv[i], "--version")) {
			printf("xch %s\n", xch_libexchange_version());
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else {
			fprintf(stderr, "xch: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!(c = find_command(argv[i]))) {
		fprintf(stderr, "xch: '%s' is not an xch command; see 'xch --help'\n", argv[i]);
		return EXIT_USAGE;
	}
	if (cli_global.dir && chdir(cli_global.dir) < 0)
		return cli_die(EXIT_USAGE, "cannot change to '%s': %s", cli_global.dir, strerror(errno));
	if ((error = xch_libexchange_init()) < 0)
		return cli_fail(error);
	rc = c->fn(argc - i, argv + i);
	xch_libexchange_shutdown();
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_die(EXIT_USAGE, "cannot write to standard output");
	return rc;
}
