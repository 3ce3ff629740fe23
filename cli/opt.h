/*
 * One option table per command drives both argument parsing and --help.
 */
#ifndef CLI_OPT_H
#define CLI_OPT_H

#include <stddef.h>

typedef enum {
	CLI_OPT_FLAG,  /* --name: sets *(int *)dest = 1 */
	CLI_OPT_VALUE, /* --name VALUE: sets *(const char **)dest */
	CLI_OPT_LIST,  /* --name VALUE, repeatable: appends to *(cli_strv *)dest */
	CLI_OPT_ARG,   /* a positional argument: *(const char **)dest */
	CLI_OPT_ARGS   /* the remaining positional arguments: *(cli_strv *)dest */
} cli_opt_type;

#define CLI_OPT_REQUIRED 1u /* an argument or option that must be given */
#define CLI_OPT_ALT      2u /* an alternative to the option before it: [--a | --b] */
#define CLI_OPT_HIDDEN   4u /* parsed, not shown */

typedef struct {
	cli_opt_type type;
	char short_name;        /* 0 for none */
	const char *name;       /* long name without "--", or the placeholder of an ARG */
	const char *value_name; /* e.g. "FILE" for VALUE and LIST */
	void *dest;
	unsigned int flags;
	const char *help;
} cli_opt;

typedef struct {
	const char **v;
	size_t n;
} cli_strv;

#define CLI_OPT_END { CLI_OPT_FLAG, 0, NULL, NULL, NULL, 0, NULL }

/* Parse results. */
#define CLI_PARSE_OK 0
#define CLI_PARSE_HELP 1  /* --help was printed: exit 0 */
#define CLI_PARSE_ERROR 2 /* a message and the usage were printed: exit 2 */

/*
 * Parse argv[1..] (argv[0] is the command name) against opts. Prints its own
 * messages. Lists in cli_strv dests are allocated: free with cli_strv_free.
 */
int cli_opt_parse(const char *command, const char *summary, const cli_opt *opts,
                  int argc, char **argv);
void cli_strv_free(cli_strv *v);

/* "usage: xch add [--attach FILE]... FILE..." on stream. */
void cli_opt_usage(FILE *stream, const char *command, const cli_opt *opts);
/* The usage line and then every option with its help. */
void cli_opt_help(FILE *stream, const char *command, const char *summary, const cli_opt *opts);

#endif
