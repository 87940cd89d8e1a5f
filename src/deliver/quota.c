/*
 * quota.c - Maildir++ quota (Courier's "maildirsize", as Dovecot's
 * quota backend "maildir" also reads and writes it).
 *
 * Format: the first line is the quota, "NNNS,MMMC" (bytes, messages;
 * either part may be missing; 0 or absent means no limit, as in Dovecot).
 * Every further line is "bytes count", two signed integers: deliveries
 * add, expunges subtract. The usage is the sum of all lines.
 *
 * The Maildir++ spec asks for a recalculation (scan every folder, rewrite
 * the file through tmp/ + rename) when the file has grown big (we count
 * lines: QUOTA_MAX_LINES), when it cannot be parsed, or when it says
 * "over quota" and is older than 15 minutes. Known weakness, accepted by
 * the spec: a quota_add() racing with a rewrite lands in the replaced
 * file and is lost until the next recalculation.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/limits.h"
#include "../lib/log.h"
#include "deliver.h"


struct quota {
	long long max_bytes, max_count;	/* 0: no limit */
	long long bytes, count;		/* usage: sum of the lines */
	unsigned lines;
	int corrupt;			/* a usage line did not parse */
};

static long long
sat_add(long long a, long long b)
{
	if (b > 0 && a > LLONG_MAX - b)
		return LLONG_MAX;
	if (b < 0 && a < LLONG_MIN - b)
		return LLONG_MIN;
	return a + b;
}

/* One decimal number (optionally signed); advances *pp. 0 or -1. */
static int
parse_num(const char **pp, int sign_ok, long long *out)
{
	const char *p = *pp;
	char *end;

	if (!(*p >= '0' && *p <= '9') && !(sign_ok && *p == '-' &&
	    p[1] >= '0' && p[1] <= '9'))
		return -1;
	errno = 0;
	*out = strtoll(p, &end, 10);
	if (errno != 0)
		return -1;
	*pp = end;
	return 0;
}

/* "NNNS,MMMC", parts in any order, either optional. */
static int
parse_limits(const char *p, struct quota *q)
{
	long long v;

	q->max_bytes = q->max_count = 0;
	while (*p != '\0') {
		if (parse_num(&p, 0, &v) == -1)
			return -1;
		if (*p == 'S')
			q->max_bytes = v;
		else if (*p == 'C')
			q->max_count = v;
		else
			return -1;
		p++;
		if (*p == ',')
			p++;
		else if (*p != '\0')
			return -1;
	}
	return 0;
}

/* "bytes count" with blanks around; both may be negative. */
static int
parse_usage(const char *p, long long *bytes, long long *count)
{
	while (*p == ' ' || *p == '\t')
		p++;
	if (parse_num(&p, 1, bytes) == -1)
		return -1;
	if (*p != ' ' && *p != '\t')
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (parse_num(&p, 1, count) == -1)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '\0' ? 0 : -1;
}

/*
 * Read root/maildirsize into q. Returns 1 when there is no file (no
 * quota), 0 when read (q->corrupt says whether the usage lines can be
 * trusted; an unparsable quota line reads as "no limits"), -1 on system
 * errors (ERR_TEMP).
 */
static int
quota_read(const char *path, struct quota *q, struct stat *st,
    struct err *e)
{
	char *data = NULL, *line, *nl;
	ssize_t n;
	size_t len = 0;
	long long b, c;
	int fd, ret = -1;

	memset(q, 0, sizeof *q);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		return err_sys(e, errno, "open %s", path);
	}
	if (fstat(fd, st) == -1) {
		err_sys(e, errno, "stat %s", path);
		goto out;
	}
	data = xmalloc(QUOTA_MAX_BYTES + 1);
	while (len < QUOTA_MAX_BYTES) {
		n = read(fd, data + len, QUOTA_MAX_BYTES - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_sys(e, errno, "read %s", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	data[len] = '\0';
	if (len == QUOTA_MAX_BYTES || memchr(data, '\0', len) != NULL)
		q->corrupt = 1;
	line = data;
	nl = strchr(line, '\n');
	if (nl != NULL)
		*nl = '\0';
	if (parse_limits(line, q) == -1) {
		/* Without the quota line the limits are unknown and cannot
		 * be recalculated: we fail open (deliver) and say so. */
		log_err("%s: bad quota line, quota not enforced", path);
		q->max_bytes = q->max_count = 0;
		ret = 0;
		goto out;
	}
	while (nl != NULL) {
		line = nl + 1;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (*line == '\0' && nl == NULL)
			break;		/* the final newline */
		if (parse_usage(line, &b, &c) == -1) {
			q->corrupt = 1;
			continue;
		}
		q->bytes = sat_add(q->bytes, b);
		q->count = sat_add(q->count, c);
		q->lines++;
	}
	ret = 0;
out:
	free(data);
	(void)close(fd);
	return ret;
}

/* Size of one message file: ",S=NNN" in its name (Dovecot and Courier
 * put it there), else stat. */
static int
msg_size(const char *dir, const char *name, long long *size)
{
	const char *s = strstr(name, ",S=");
	char path[PATH_MAX];
	struct stat st;
	char *end;

	if (s != NULL) {
		errno = 0;
		*size = strtoll(s + 3, &end, 10);
		if (errno == 0 && end != s + 3 && *size >= 0 &&
		    (*end == '\0' || *end == ',' || *end == ':'))
			return 0;
	}
	if (buf_fmt(path, sizeof path, "%s/%s", dir, name) == -1)
		return -1;
	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 1 : -1;	/* expunged: skip */
	if (!S_ISREG(st.st_mode))
		return 1;
	*size = (long long)st.st_size;
	return 0;
}

/* Add the messages in folder/new and folder/cur to q. */
static int
scan_folder(const char *folder, struct quota *q, struct err *e)
{
	static const char *const sub[] = { "new", "cur" };
	char dir[PATH_MAX];
	struct dirent *de;
	long long size;
	size_t i;
	DIR *d;
	int r;

	for (i = 0; i < 2; i++) {
		if (buf_fmt(dir, sizeof dir, "%s/%s", folder, sub[i]) == -1)
			return err_set(e, ERR_TEMP, "path too long: %s", folder);
		if ((d = opendir(dir)) == NULL) {
			if (errno == ENOENT)
				continue;
			return err_sys(e, errno, "opendir %s", dir);
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			r = msg_size(dir, de->d_name, &size);
			if (r == 1)
				continue;
			if (r == -1) {
				err_sys(e, errno, "stat %s/%s", dir, de->d_name);
				(void)closedir(d);
				return -1;
			}
			q->bytes = sat_add(q->bytes, size);
			q->count = sat_add(q->count, 1);
		}
		(void)closedir(d);
	}
	return 0;
}

/*
 * Maildir++ recalculation: sum INBOX and every ".folder", then replace
 * maildirsize with the quota line and one usage line, written in tmp/
 * and renamed into place so readers see the old or the new file.
 */
static int
quota_recalc(const char *root, struct quota *q, struct err *e)
{
	char path[PATH_MAX], tmp[PATH_MAX], uniq[256], line[128];
	struct buf out = BUF_INIT;
	struct dirent *de;
	DIR *d = NULL;
	int ret = -1;

	q->bytes = q->count = 0;
	q->lines = 1;
	q->corrupt = 0;
	if (scan_folder(root, q, e) == -1)
		goto out;
	if ((d = opendir(root)) == NULL) {
		err_sys(e, errno, "opendir %s", root);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (buf_fmt(path, sizeof path, "%s/%s", root, de->d_name) == -1)
			continue;
		if (maildir_exists(path) && scan_folder(path, q, e) == -1)
			goto out;
	}
	if (q->max_bytes > 0)
		buf_addf(&out, "%lldS", q->max_bytes);
	if (q->max_count > 0)
		buf_addf(&out, "%s%lldC", out.len ? "," : "", q->max_count);
	if (buf_fmt(line, sizeof line, "\n%lld %lld\n", q->bytes,
	    q->count) == -1)
		goto out;	/* cannot happen: two 64-bit numbers */
	buf_adds(&out, line);
	if (maildir_unique(uniq, sizeof uniq, NULL) == -1 ||
	    buf_fmt(tmp, sizeof tmp, "%s/tmp/%s.maildirsize", root, uniq) == -1 ||
	    buf_fmt(path, sizeof path, "%s/maildirsize", root) == -1) {
		err_set(e, ERR_TEMP, "path too long: %s", root);
		goto out;
	}
	if (maildir_write_file(tmp, path, out.data, out.len, e) == -1)
		goto out;
	ret = 0;
out:
	if (d != NULL)
		(void)closedir(d);
	buf_free(&out);
	return ret;
}

static int
over(const struct quota *q, off_t size)
{
	return (q->max_bytes > 0 &&
	    sat_add(q->bytes, (long long)size) > q->max_bytes) ||
	    (q->max_count > 0 && sat_add(q->count, 1) > q->max_count);
}

int
quota_check(const char *root, off_t size, int tempfail, struct err *e)
{
	char path[PATH_MAX];
	struct quota q;
	struct stat st;
	int r;

	if (buf_fmt(path, sizeof path, "%s/maildirsize", root) == -1)
		return err_set(e, ERR_TEMP, "path too long: %s", root);
	if ((r = quota_read(path, &q, &st, e)) == -1)
		return -1;
	if (r == 1 || (q.max_bytes == 0 && q.max_count == 0))
		return 0;
	if (q.corrupt || q.lines > QUOTA_MAX_LINES ||
	    (over(&q, size) && time(NULL) - st.st_mtime > QUOTA_RECALC_AGE)) {
		if (quota_recalc(root, &q, e) == -1)
			return -1;
	}
	if (!over(&q, size))
		return 0;
	/* RFC 3463: X.2.2 mailbox full; DESIGN.md: 75 or 77 by setting. */
	if (tempfail)
		return err_status(e, ERR_TEMP, "4.2.2",
		    "mailbox is over quota");
	return err_status(e, ERR_PERM, "5.2.2", "mailbox is over quota");
}

void
quota_add(const char *root, off_t size, int count)
{
	char path[PATH_MAX], line[64];
	int fd;

	if (buf_fmt(path, sizeof path, "%s/maildirsize", root) == -1 ||
	    buf_fmt(line, sizeof line, "%lld %d\n", (long long)size,
	    count) == -1)
		return;
	/* Only when present: without the file there is no quota. */
	fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return;
	/* One write(2) with O_APPEND, as the spec asks, so concurrent
	 * appenders never interleave within a line. */
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		log_warn("append %s", path);
	(void)close(fd);
}
