/*
 * Files, paths, times and randomness.
 */
#include "common.h"
#include "util.h"

#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int xch_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return xch_error_set_os(XCH_EOS, "cannot write");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int xch_file_read(xch_buf *out, const char *path, size_t max, int flags)
{
	struct stat st;
	int fd, oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
	int error = 0;

	if (flags & XCH_READ_NOFOLLOW)
		oflags |= O_NOFOLLOW;
	if ((fd = open(path, oflags)) < 0) {
		if (errno == ENOENT)
			return xch_error_set(XCH_ENOTFOUND, "cannot open '%s': no such file", path);
		if (errno == ELOOP)
			return xch_error_set(XCH_EINVALID, "cannot open '%s': is a symbolic link", path);
		return xch_error_set_os(XCH_EOS, "cannot open '%s'", path);
	}
	if (fstat(fd, &st) < 0) {
		error = xch_error_set_os(XCH_EOS, "cannot stat '%s'", path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		error = xch_error_set(XCH_EINVALID, "cannot read '%s': not a regular file", path);
		goto done;
	}
	if ((uint64_t)st.st_size > max) {
		error = xch_error_set(XCH_ETOOBIG, "cannot read '%s': larger than %zu bytes", path, max);
		goto done;
	}
	xch_buf_clear(out);
	for (;;) {
		ssize_t n;
		if ((error = xch_buf_grow(out, 65536)) < 0)
			goto done;
		n = read(fd, out->ptr + out->size, out->asize - out->size - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error = xch_error_set_os(XCH_EOS, "cannot read '%s'", path);
			goto done;
		}
		if (n == 0)
			break;
		out->size += (size_t)n;
		if (out->size > max) {
			error = xch_error_set(XCH_ETOOBIG, "cannot read '%s': larger than %zu bytes", path, max);
			goto done;
		}
	}
	out->ptr[out->size] = '\0';
done:
	close(fd);
	return error;
}

int xch_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return xch_error_set_os(XCH_EOS, "cannot open directory '%s'", dir);
	if (fsync(fd) < 0 && errno != EINVAL) {
		close(fd);
		return xch_error_set_os(XCH_EOS, "cannot sync directory '%s'", dir);
	}
	close(fd);
	return 0;
}

static int dir_of(xch_buf *out, const char *path)
{
	char *copy = strdup(path);
	int error;
	if (!copy)
		return xch_error_oom();
	error = xch_buf_sets(out, dirname(copy));
	free(copy);
	return error;
}

int xch_file_open_temp(int *fd_out, xch_buf *tmp_path, const char *final_path)
{
	xch_buf dir = XCH_BUF_INIT;
	const char *base = strrchr(final_path, '/');
	unsigned char rnd[6];
	int fd = -1, error = 0;

	base = base ? base + 1 : final_path;
	if ((error = dir_of(&dir, final_path)) < 0)
		goto done;
	for (int tries = 0; tries < 100; tries++) {
		xch_buf_clear(tmp_path);
		if ((error = xch_random(rnd, sizeof(rnd))) < 0 ||
		    (error = xch_buf_printf(tmp_path, "%s/.%s.tmp-", dir.ptr, base)) < 0 ||
		    (error = xch_buf_put_hex(tmp_path, rnd, sizeof(rnd))) < 0)
			goto done;
		fd = open(tmp_path->ptr, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		error = xch_error_set_os(XCH_EOS, "cannot create '%s'", tmp_path->ptr);
		goto done;
	}
	*fd_out = fd;
done:
	xch_buf_dispose(&dir);
	return error;
}

int xch_file_commit(int fd, const char *tmp_path, const char *final_path)
{
	xch_buf dir = XCH_BUF_INIT;
	int error = 0;

	if (fsync(fd) < 0) {
		error = xch_error_set_os(XCH_EOS, "cannot sync '%s'", tmp_path);
		close(fd);
		goto fail;
	}
	if (close(fd) < 0) {
		error = xch_error_set_os(XCH_EOS, "cannot close '%s'", tmp_path);
		goto fail;
	}
	if (rename(tmp_path, final_path) < 0) {
		error = xch_error_set_os(XCH_EOS, "cannot rename '%s' to '%s'", tmp_path, final_path);
		goto fail;
	}
	if ((error = dir_of(&dir, final_path)) == 0)
		error = xch_fsync_dir(dir.ptr);
	xch_buf_dispose(&dir);
	return error;
fail:
	unlink(tmp_path);
	return error;
}

int xch_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	xch_buf tmp = XCH_BUF_INIT;
	int fd = -1, error;

	if ((error = xch_file_open_temp(&fd, &tmp, path)) < 0)
		goto done;
	if ((error = xch_write_all(fd, data, len)) < 0 ||
	    (mode != 0600 && fchmod(fd, mode) < 0 &&
	     (error = xch_error_set_os(XCH_EOS, "cannot chmod '%s'", tmp.ptr)) < 0)) {
		close(fd);
		unlink(tmp.ptr);
		goto done;
	}
	error = xch_file_commit(fd, tmp.ptr, path);
done:
	xch_buf_dispose(&tmp);
	return error;
}

int xch_mkdir_private(const char *path, bool ok_exists)
{
	struct stat st;
	if (mkdir(path, 0700) < 0) {
		if (errno != EEXIST || !ok_exists)
			return xch_error_set_os(errno == EEXIST ? XCH_EEXISTS : XCH_EOS,
			                        "cannot create directory '%s'", path);
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			return xch_error_set(XCH_EEXISTS, "cannot create directory '%s': a file is in the way", path);
		return 0;
	}
	if (chmod(path, 0700) < 0)
		return xch_error_set_os(XCH_EOS, "cannot chmod '%s'", path);
	return 0;
}

int xch_path_join(xch_buf *out, const char *a, const char *b)
{
	size_t la = strlen(a);
	xch_buf_clear(out);
	if (la && a[la - 1] == '/')
		return xch_buf_printf(out, "%s%s", a, b);
	return xch_buf_printf(out, "%s/%s", a, b);
}

void xch_time_format(char out[32], time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int xch_time_parse(time_t *out, const char *s)
{
	struct tm tm = { 0 };
	int Y, M, D, h, m, sec, off = 0;
	const char *p;

	if (strlen(s) < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) ||
	    s[7] != '-' || digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		goto bad;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		goto bad;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			goto bad;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		off = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh, om;
		if (digits(p + 1, 2, &oh) || digits(p + 4, 2, &om) || oh > 23 || om > 59)
			goto bad;
		off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
	} else {
		goto bad;
	}
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec > 59 ? 59 : sec;
	*out = timegm(&tm) - off;
	return 0;
bad:
	return xch_error_set(XCH_EINVALID, "invalid date-time '%s': expected RFC 3339, e.g. 2026-01-31T12:00:00Z", s);
}

int xch_duration_parse(int64_t *out, const char *s)
{
	char *end;
	long long v;
	int64_t unit;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0 || s[0] == '+' || s[0] == '-')
		goto bad;
	switch (*end) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': case '\0': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: goto bad;
	}
	if (*end && end[1])
		goto bad;
	if (v > INT64_MAX / unit / 2)
		goto bad;
	*out = v * unit;
	return 0;
bad:
	return xch_error_set(XCH_EINVALID, "invalid duration '%s': expected e.g. 30d, 12h, 2w", s);
}

time_t xch_time_now(void)
{
	const char *env = getenv("XCH_NOW");
	time_t t;
	if (env && *env && xch_time_parse(&t, env) == 0)
		return t;
	return time(NULL);
}

int xch_random(void *buf, size_t len)
{
	unsigned char *p = buf;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return xch_error_set_os(XCH_EOS, "cannot get random bytes");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

bool xch_name_valid(const char *s, size_t max)
{
	size_t i;
	if (!s || !*s || *s == '.' || *s == '-')
		return false;
	for (i = 0; s[i]; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return i <= max && !strstr(s, "..");
}

bool xch_fpr_valid(const char *s)
{
	size_t i;
	if (!s)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return i == 40;
}

void xch_fpr_normalize(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'f')
			*s = (char)(*s - 32);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int xch_rmtree(const char *path)
{
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return xch_error_set_os(XCH_EOS, "cannot remove '%s'", path);
	return 0;
}
