/*
 * mbox.c - append one message to an mbox file, as procmail and Postfix
 * local(8) do, so that mail readers and Dovecot's mbox driver accept it.
 *
 * Locking: a dotlock "path.lock" (made by link(2) from a unique file, the
 * NFS-safe way) and then an fcntl write lock on the whole file. Checked
 * against procmail 3.23pre (Debian's 3.22 package) for the text:
 *  - the envelope line is "From SENDER  DATE" with two spaces and a
 *    ctime(3) date, as procmail and Postfix write it;
 *  - every line of the message that starts with "From " (header lines
 *    too) gets a '>' in front; ">From " lines are left alone (this is
 *    mboxo, not mboxrd);
 *  - the message ends with a newline and is followed by one blank line
 *    (Postfix's rule; procmail omits that blank line when the message
 *    already ends in one, which loses a line on reading).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/limits.h"
#include "../lib/log.h"
#include "deliver.h"

/* Test hook (mbox_set_lock_timeout): the one mutable global here. */
static int lock_timeout = MBOX_LOCK_TIMEOUT;

void
mbox_set_lock_timeout(int seconds)
{
	lock_timeout = seconds > 0 ? seconds : MBOX_LOCK_TIMEOUT;
}

static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	(void)nanosleep(&ts, NULL);
}

/*
 * Take the dotlock. *locked_out is 1 when we hold path.lock (and *lk
 * then identifies its inode), 0 when the directory does not let us make
 * one: then fcntl alone protects the file, as procmail and Postfix
 * accept for mail spools without group-write.
 */
static int
dotlock_take(const char *lock, time_t deadline, struct stat *lk,
    int *locked_out, struct err *e)
{
	char tmp[PATH_MAX], uniq[256];
	struct stat st;
	int fd, ret = -1;

	*locked_out = 0;
	if (maildir_unique(uniq, sizeof uniq, NULL) == -1 ||
	    buf_fmt(tmp, sizeof tmp, "%s.%s", lock, uniq) == -1)
		return err_set(e, ERR_TEMP, "path too long: %s", lock);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		if (errno == EACCES || errno == EPERM || errno == EROFS) {
			log_debug("no dotlock for %s: %s", lock,
			    strerror(errno));
			return 0;
		}
		return err_sys(e, errno, "create %s", tmp);
	}
	if (fstat(fd, lk) == -1) {
		err_sys(e, errno, "stat %s", tmp);
		goto out;
	}
	for (;;) {
		/* link(2) is atomic over NFS too; its return value is not,
		 * so a link count of 2 also means success. */
		if (link(tmp, lock) == 0 ||
		    (fstat(fd, &st) == 0 && st.st_nlink == 2)) {
			*locked_out = 1;
			break;
		}
		if (errno != EEXIST) {
			err_sys(e, errno, "link %s", lock);
			goto out;
		}
		if (lstat(lock, &st) == 0 &&
		    time(NULL) - st.st_mtime > DOTLOCK_STALE) {
			log_info("removing stale lock %s", lock);
			(void)unlink(lock);
			continue;
		}
		if (time(NULL) >= deadline) {
			err_set(e, ERR_TEMP, "timeout waiting for %s", lock);
			goto out;
		}
		nap(200);
	}
	ret = 0;
out:
	(void)unlink(tmp);
	(void)close(fd);
	return ret;
}

/* Remove path.lock if it is still ours (not broken as stale). */
static void
dotlock_drop(const char *lock, const struct stat *lk)
{
	struct stat st;

	if (lstat(lock, &st) == 0 && st.st_dev == lk->st_dev &&
	    st.st_ino == lk->st_ino)
		(void)unlink(lock);
}

int
mbox_fcntl_lock(int fd, const char *path, time_t deadline, struct err *e)
{
	struct flock fl;

	for (;;) {
		memset(&fl, 0, sizeof fl);
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EACCES && errno != EAGAIN && errno != EINTR)
			return err_sys(e, errno, "lock %s", path);
		if (time(NULL) >= deadline)
			return err_set(e, ERR_TEMP, "timeout locking %s", path);
		nap(100);
	}
}

/* "From SENDER  Sun Nov 23 05:15:12 2026\n" in the C locale. */
void
mbox_from_line(struct buf *b, const char *sender, time_t when)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm tm;
	size_t i, n;

	if (localtime_r(&when, &tm) == NULL)
		memset(&tm, 0, sizeof tm);
	buf_adds(b, "From ");
	/* Postfix: the null sender is MAILER-DAEMON. Blanks or control
	 * bytes would break the line, so they become '_'. */
	if (sender == NULL || *sender == '\0' || strcmp(sender, "<>") == 0)
		sender = "MAILER-DAEMON";
	n = strlen(sender);
	if (n > MSG_MAX_FROM_LINE - 64)
		n = MSG_MAX_FROM_LINE - 64;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)sender[i];

		buf_addc(b, c <= 0x20 || c == 0x7f ? '_' : c);
	}
	buf_addf(b, "  %s %s %2d %02d:%02d:%02d %d\n",
	    days[tm.tm_wday % 7], months[tm.tm_mon % 12], tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

/* Output staging: flushed whenever it holds MSG_IO_CHUNK bytes. */
struct out {
	int fd;
	char buf[MSG_IO_CHUNK];
	size_t len;
};

static int
out_flush(struct out *o)
{
	if (o->len > 0 && write_all(o->fd, o->buf, o->len) == -1)
		return -1;
	o->len = 0;
	return 0;
}

static int
out_add(struct out *o, const char *p, size_t n)
{
	while (n > 0) {
		size_t k = sizeof o->buf - o->len;

		if (k == 0) {
			if (out_flush(o) == -1)
				return -1;
			continue;
		}
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p += k;
		n -= k;
	}
	return 0;
}

/*
 * Copy size bytes of the spool to o, quoting "From " at line starts.
 * held counts the bytes of "From " matched at a line start and not yet
 * written, so a match may span two reads. *last gets the last byte.
 */
static int
copy_quoted(int spool_fd, off_t size, struct out *o, int *last,
    struct err *e)
{
	static const char from[] = "From ";
	char *in = xmalloc(MSG_IO_CHUNK);
	int bol = 1, ret = -1;
	size_t held = 0, i;
	off_t off = 0;
	ssize_t n;

	*last = '\n';
	while (off < size) {
		size_t want = (size - off) > MSG_IO_CHUNK ? MSG_IO_CHUNK :
		    (size_t)(size - off);

		n = pread(spool_fd, in, want, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_sys(e, errno, "read spool");
			goto out;
		}
		if (n == 0) {
			err_set(e, ERR_TEMP, "spool is shorter than %lld bytes",
			    (long long)size);
			goto out;
		}
		for (i = 0; i < (size_t)n; i++) {
			char c = in[i];

			if (bol && c == from[held]) {
				if (++held == sizeof from - 1) {
					if (out_add(o, ">From ", 6) == -1)
						goto werr;
					held = 0;
					bol = 0;
				}
				continue;
			}
			if (held > 0) {
				if (out_add(o, from, held) == -1)
					goto werr;
				held = 0;
			}
			if (out_add(o, &c, 1) == -1)
				goto werr;
			bol = c == '\n';
		}
		*last = (unsigned char)in[n - 1];
		off += n;
	}
	if (held > 0 && out_add(o, from, held) == -1)
		goto werr;
	ret = 0;
	goto out;
werr:
	err_sys(e, errno, "write mbox");
out:
	free(in);
	return ret;
}

int
mbox_deliver(const char *path, int spool_fd, off_t size,
    const char *sender, time_t when, struct err *e)
{
	char lock[PATH_MAX];
	struct buf line = BUF_INIT;
	struct out *o = NULL;
	struct stat lk, st;
	time_t deadline = time(NULL) + lock_timeout;
	off_t old_size = -1;
	int fd = -1, dotlocked = 0, last, ret = -1;

	if (buf_fmt(lock, sizeof lock, "%s.lock", path) == -1)
		return err_set(e, ERR_TEMP, "path too long: %s", path);
	if (dotlock_take(lock, deadline, &lk, &dotlocked, e) == -1)
		goto out;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0600);
	if (fd == -1) {
		err_sys(e, errno, "open %s", path);
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		err_sys(e, errno, "stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, ERR_TEMP, "%s is not a regular file", path);
		goto out;
	}
	if (mbox_fcntl_lock(fd, path, deadline, e) == -1)
		goto out;
	/* Under both locks nobody else appends: this is where we start,
	 * and where a failure cuts the file back to. */
	if (fstat(fd, &st) == -1) {
		err_sys(e, errno, "stat %s", path);
		goto out;
	}
	old_size = st.st_size;

	o = xmalloc(sizeof *o);
	o->fd = fd;
	o->len = 0;
	mbox_from_line(&line, sender, when);
	if (out_add(o, line.data, line.len) == -1) {
		err_sys(e, errno, "write %s", path);
		goto out;
	}
	if (copy_quoted(spool_fd, size, o, &last, e) == -1)
		goto out;
	if ((last != '\n' && out_add(o, "\n", 1) == -1) ||
	    out_add(o, "\n", 1) == -1 || out_flush(o) == -1) {
		err_sys(e, errno, "write %s", path);
		goto out;
	}
	if (fsync(fd) == -1) {
		err_sys(e, errno, "fsync %s", path);
		goto out;
	}
	ret = 0;
out:
	if (ret == -1 && old_size != -1) {
		/* No half message: cut back to where we started. */
		if (ftruncate(fd, old_size) == -1 || fsync(fd) == -1)
			log_warn("truncate %s back to %lld", path,
			    (long long)old_size);
	}
	if (fd != -1)
		(void)close(fd);	/* drops the fcntl lock */
	if (dotlocked)
		dotlock_drop(lock, &lk);
	free(o);
	buf_free(&line);
	return ret;
}
