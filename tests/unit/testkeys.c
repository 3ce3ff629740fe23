/*
 * Unit-test helper: throwaway GNUPGHOMEs with the fixture keys.
 */
#include "common.h"
#include "testkeys.h"

#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const struct {
	const char *name, *fpr;
} fixtures[] = {
	{ "agency", XCH_TESTKEY_AGENCY },
	{ "company", XCH_TESTKEY_COMPANY },
	{ "site", XCH_TESTKEY_SITE },
	{ "mallory", XCH_TESTKEY_MALLORY },
	{ "agency-new", XCH_TESTKEY_AGENCY_NEW },
	{ "expired", XCH_TESTKEY_EXPIRED },
	{ "revoked", XCH_TESTKEY_REVOKED },
	{ "revoked-unrevoked", XCH_TESTKEY_REVOKED },
};

const char *xch_testkeys_fpr(const char *name)
{
	size_t i;
	for (i = 0; name && i < XCH_ARRAY_SIZE(fixtures); i++)
		if (!strcmp(fixtures[i].name, name))
			return fixtures[i].fpr;
	return NULL;
}

int xch_testkeys_path(char *out, size_t outlen, const char *file)
{
	const char *top = getenv("XCH_TOP_SRCDIR");
	int n = snprintf(out, outlen, "%s/tests/resources/keys/%s", top && *top ? top : ".", file);
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

int xch_testkeys_run(const char *const argv[], const char *stdout_path)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, rc;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (stdout_path)
		posix_spawn_file_actions_addopen(&fa, 1, stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "# cannot run %s: %s\n", argv[0], strerror(rc));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int xch_testkeys_import(const char *home, const char *const *names)
{
	const char *argv[64] = { "gpg", "--homedir", home, "--batch", "--quiet", "--no-tty",
		"--no-permission-warning", "--import" };
	char paths[48][512];
	size_t n = 8, i;
	int rc;

	for (i = 0; names[i]; i++) {
		size_t len = strlen(names[i]);
		bool pub = len > 4 && !strcmp(names[i] + len - 4, ".pub");
		char file[256];
		if (i >= XCH_ARRAY_SIZE(paths) ||
		    snprintf(file, sizeof(file), "%.*s.%s.asc", (int)(pub ? len - 4 : len), names[i],
				pub ? "pub" : "sec") >= (int)sizeof(file) ||
		    xch_testkeys_path(paths[i], sizeof(paths[i]), file) < 0) {
			fprintf(stderr, "# fixture key name too long or too many: %s\n", names[i]);
			return -1;
		}
		if (access(paths[i], R_OK) < 0) {
			fprintf(stderr, "# no fixture key '%s' (%s): %s\n", names[i], paths[i], strerror(errno));
			return -1;
		}
		argv[n++] = paths[i];
	}
	if (i == 0)
		return 0;
	argv[n] = NULL;
	if ((rc = xch_testkeys_run(argv, NULL)) != 0) {
		fprintf(stderr, "# gpg --import failed (%d) in %s\n", rc, home);
		return -1;
	}
	return 0;
}

char *xch_testkeys_home(const char *name, ...)
{
	const char *names[48];
	size_t n = 0;
	char *home;
	va_list ap;

	va_start(ap, name);
	for (const char *s = name; s; s = va_arg(ap, const char *)) {
		if (n + 1 >= XCH_ARRAY_SIZE(names)) {
			va_end(ap);
			fprintf(stderr, "# too many fixture keys\n");
			return NULL;
		}
		names[n++] = s;
	}
	va_end(ap);
	names[n] = NULL;

	if ((home = strdup("/tmp/xchXXXXXX")) == NULL || !mkdtemp(home)) {
		fprintf(stderr, "# cannot make a GNUPGHOME: %s\n", strerror(errno));
		free(home);
		return NULL;
	}
	if (xch_testkeys_import(home, names) < 0) {
		xch_testkeys_home_remove(home);
		return NULL;
	}
	return home;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
		fprintf(stderr, "# cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

void xch_testkeys_home_remove(char *home)
{
	const char *argv[] = { "gpgconf", "--homedir", home, "--kill", "all", NULL };

	if (!home)
		return;
	xch_testkeys_run(argv, NULL);
	nftw(home, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(home);
}
