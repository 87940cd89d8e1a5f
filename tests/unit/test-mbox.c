/*
 * test-mbox.c - mbox_deliver: the text procmail 3.22 writes ("From "
 * line, ">From " quoting, trailing blank line), locking (dotlock and
 * fcntl, stale and held locks) and the truncate-back on failure.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver/deliver.h"
#include "lib/limits.h"
#include "tap.h"

#define WHEN	((time_t)1795410912)	/* Mon Nov 23 05:15:12 2026 UTC */
#define DATE	"Mon Nov 23 05:15:12 2026"

static char scratch[PATH_MAX];
static char mbox[PATH_MAX], lockpath[PATH_MAX];

/* A spool file holding len bytes of p (unlinked: fd only). */
static int
spool(const char *p, size_t len)
{
	char path[PATH_MAX];
	int fd;

	xfmt(path, sizeof path, "%s/spool", scratch);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write_all(fd, p, len) == -1) {
		perror(path);
		exit(2);
	}
	unlink(path);
	return fd;
}

static struct buf
slurp(const char *path)
{
	struct buf b = BUF_INIT;
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	buf_add(&b, "", 0);
	if (fd == -1)
		return b;
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		buf_add(&b, chunk, (size_t)n);
	close(fd);
	return b;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int
deliver_str(const char *msg, size_t len, const char *sender, struct err *e)
{
	int fd = spool(msg, len), r;

	err_clear(e);
	r = mbox_deliver(mbox, fd, (off_t)len, sender, WHEN, e);
	close(fd);
	return r;
}

static const struct {
	const char *name;
	const char *msg;
	const char *sender;
	const char *want;
} rows[] = {
	{ "plain", "Subject: a\n\nbody\n", "bob@example.org",
	    "From bob@example.org  " DATE "\nSubject: a\n\nbody\n\n" },
	{ "no final newline", "Subject: a\n\nlast", "bob",
	    "From bob  " DATE "\nSubject: a\n\nlast\n\n" },
	{ "ends in blank line", "Subject: a\n\nbody\n\n", "bob",
	    "From bob  " DATE "\nSubject: a\n\nbody\n\n\n" },
	/* procmail 3.22 quotes every line starting "From ", header too,
	 * and only those (not ">From ", "FromX", "from ", " From "). */
	{ "quoting", "Subject: a\nFrom inheader\n\nFrom body1\n>From body2\n"
	    "FromX\nfrom lower\n\nFrom after blank\n From space\nFrom\n",
	    "bob",
	    "From bob  " DATE "\nSubject: a\n>From inheader\n\n>From body1\n"
	    ">From body2\nFromX\nfrom lower\n\n>From after blank\n From space\n"
	    "From\n\n" },
	{ "first line", "From x\n", "bob", "From bob  " DATE "\n>From x\n\n" },
	{ "CRLF", "S: a\r\n\r\nFrom a\r\n", "bob",
	    "From bob  " DATE "\nS: a\r\n\r\n>From a\r\n\n" },
	{ "partial at end", "a\nFrom", "bob", "From bob  " DATE "\na\nFrom\n\n" },
	{ "partial at end 2", "a\nFrom ", "bob",
	    "From bob  " DATE "\na\n>From \n\n" },
	{ "null sender", "S: a\n\nb\n", "", "From MAILER-DAEMON  " DATE
	    "\nS: a\n\nb\n\n" },
	{ "NULL sender", "S: a\n\nb\n", NULL, "From MAILER-DAEMON  " DATE
	    "\nS: a\n\nb\n\n" },
	{ "blank in sender", "x\n", "a b\tc\n", "From a_b_c_  " DATE "\nx\n\n" },
	{ "empty message", "", "bob", "From bob  " DATE "\n\n" },
};

static void
test_rows(void)
{
	struct buf got;
	struct err e;
	size_t i;
	int r;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		unlink(mbox);
		r = deliver_str(rows[i].msg, strlen(rows[i].msg), rows[i].sender,
		    &e);
		if (!is_int(r, 0, "row %zu (%s): delivered", i, rows[i].name))
			diag("%s", e.msg);
		got = slurp(mbox);
		is_str(got.data, rows[i].want, "row %zu (%s): text", i,
		    rows[i].name);
		buf_free(&got);
		ok(!exists(lockpath), "row %zu (%s): dotlock removed", i,
		    rows[i].name);
	}
}

/* "From " across the 64 KiB read boundary, and a big message. */
static void
test_big(void)
{
	struct buf msg = BUF_INIT, want = BUF_INIT, got;
	struct err e;
	size_t i;

	for (i = 0; i < MSG_IO_CHUNK - 3; i++)
		buf_addc(&msg, 'x');
	buf_adds(&msg, "\nFrom spanning\n");	/* "From " at 64K-2 */
	for (i = 0; i < 3000; i++)
		buf_adds(&msg, i % 2 ? "From line\n" : "plain line\n");
	buf_adds(&want, "From bob  " DATE "\n");
	for (i = 0; i < msg.len; i++) {
		if ((i == 0 || msg.data[i - 1] == '\n') &&
		    strncmp(msg.data + i, "From ", 5) == 0)
			buf_addc(&want, '>');
		buf_addc(&want, msg.data[i]);
	}
	buf_addc(&want, '\n');
	unlink(mbox);
	ok(deliver_str(msg.data, msg.len, "bob", &e) == 0, "big: delivered");
	got = slurp(mbox);
	ok(got.len == want.len && memcmp(got.data, want.data, got.len) == 0,
	    "big: quoting across reads (got %zu bytes, want %zu)", got.len,
	    want.len);
	buf_free(&got);
	buf_free(&msg);
	buf_free(&want);
}

static void
test_append(void)
{
	struct buf got;
	struct stat st;
	struct err e;

	unlink(mbox);
	ok(deliver_str("a\n", 2, "one", &e) == 0 &&
	    deliver_str("b\n", 2, "two", &e) == 0, "append: two messages");
	got = slurp(mbox);
	is_str(got.data, "From one  " DATE "\na\n\nFrom two  " DATE "\nb\n\n",
	    "append: second after the first");
	buf_free(&got);
	ok(stat(mbox, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "append: created 0600");
}

/* A child holding an fcntl lock on the mbox for hold_ms. */
static pid_t
hold_fcntl(int hold_ms)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p) == -1)
		exit(2);
	if ((pid = fork()) == 0) {
		struct flock fl;
		struct timespec ts = { hold_ms / 1000,
		    (hold_ms % 1000) * 1000000L };
		int fd = open(mbox, O_RDWR | O_CREAT, 0600);

		memset(&fl, 0, sizeof fl);
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fd == -1 || fcntl(fd, F_SETLK, &fl) == -1)
			_exit(1);
		(void)write(p[1], "x", 1);
		nanosleep(&ts, NULL);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		diag("lock holder failed");
	close(p[0]);
	return pid;
}

static void
test_locks(void)
{
	struct timeval tv[2], t0, t1;
	struct err e;
	off_t before;
	pid_t pid;
	int status, fd;
	double waited;

	/* fcntl lock held longer than our timeout: ERR_TEMP, no change. */
	unlink(mbox);
	deliver_str("a\n", 2, "one", &e);
	before = file_size(mbox);
	mbox_set_lock_timeout(1);
	pid = hold_fcntl(3000);
	ok(deliver_str("b\n", 2, "two", &e) == -1 && e.cls == ERR_TEMP,
	    "fcntl held: times out with ERR_TEMP (%s)", e.msg);
	is_int(file_size(mbox), before, "fcntl held: file unchanged");
	ok(!exists(lockpath), "fcntl held: our dotlock removed");
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);

	/* Held for a while only: we wait, then deliver. */
	mbox_set_lock_timeout(10);
	pid = hold_fcntl(1000);
	gettimeofday(&t0, NULL);
	ok(deliver_str("c\n", 2, "three", &e) == 0, "fcntl held briefly: "
	    "delivered after waiting (%s)", e.msg);
	gettimeofday(&t1, NULL);
	waited = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_usec - t0.tv_usec) / 1e6;
	ok(waited >= 0.5, "fcntl held briefly: waited %.2f s", waited);
	waitpid(pid, &status, 0);
	ok(file_size(mbox) > before, "fcntl held briefly: appended");

	/* Someone else's fresh dotlock: wait, time out, leave it alone. */
	mbox_set_lock_timeout(1);
	fd = open(lockpath, O_WRONLY | O_CREAT | O_EXCL, 0600);
	close(fd);
	before = file_size(mbox);
	ok(deliver_str("d\n", 2, "four", &e) == -1 && e.cls == ERR_TEMP,
	    "fresh dotlock: ERR_TEMP (%s)", e.msg);
	ok(exists(lockpath), "fresh dotlock: not ours, not removed");
	is_int(file_size(mbox), before, "fresh dotlock: file unchanged");

	/* A stale one (older than DOTLOCK_STALE) is broken. */
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= DOTLOCK_STALE + 10;
	tv[1] = tv[0];
	utimes(lockpath, tv);
	ok(deliver_str("e\n", 2, "five", &e) == 0, "stale dotlock: broken, "
	    "delivered (%s)", e.msg);
	ok(!exists(lockpath), "stale dotlock: gone afterwards");
	mbox_set_lock_timeout(0);
}

/* Failures part-way leave the file exactly as it was. */
static void
test_truncate(void)
{
	struct buf before, after;
	struct err e;
	char other[PATH_MAX];
	int fd, p[2], r;

	unlink(mbox);
	deliver_str("old\n", 4, "one", &e);
	before = slurp(mbox);

	fd = spool("0123456789", 10);
	close(fd);	/* a closed descriptor: EBADF on the first read */
	err_clear(&e);
	r = mbox_deliver(mbox, fd, 10, "x", WHEN, &e);
	ok(r == -1 && e.cls == ERR_TEMP, "closed spool fd: ERR_TEMP (%s)",
	    e.msg);
	after = slurp(mbox);
	ok(after.len == before.len && memcmp(after.data, before.data,
	    after.len) == 0, "closed spool fd: file truncated back (%zu vs %zu)",
	    after.len, before.len);
	buf_free(&after);

	if (pipe(p) == -1)
		exit(2);
	(void)write(p[1], "abc\n", 4);
	err_clear(&e);
	r = mbox_deliver(mbox, p[0], 4, "x", WHEN, &e);
	ok(r == -1 && e.cls == ERR_TEMP, "pipe spool: ERR_TEMP (%s)", e.msg);
	close(p[0]);
	close(p[1]);
	is_int(file_size(mbox), (long long)before.len, "pipe spool: unchanged");

	/* Spool shorter than announced: the From line was already
	 * written when the read comes up short. */
	fd = spool("From short\n", 11);
	err_clear(&e);
	r = mbox_deliver(mbox, fd, 200000, "x", WHEN, &e);
	close(fd);
	ok(r == -1 && e.cls == ERR_TEMP, "short spool: ERR_TEMP (%s)", e.msg);
	is_int(file_size(mbox), (long long)before.len, "short spool: unchanged");
	ok(!exists(lockpath), "failures: dotlock removed");
	buf_free(&before);

	/* A symlinked mbox is refused (O_NOFOLLOW). */
	xfmt(other, sizeof other, "%s/link", scratch);
	(void)symlink(mbox, other);
	fd = spool("x\n", 2);
	err_clear(&e);
	r = mbox_deliver(other, fd, 2, "x", WHEN, &e);
	close(fd);
	ok(r == -1 && e.cls == ERR_TEMP, "symlink: refused (%s)", e.msg);
}

/* A directory where no dotlock can be made: fcntl alone, as procmail. */
static void
test_no_dotlock_dir(void)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct err e;
	int fd, r;

	pid_t pid = -1;
	int status;

	xfmt(dir, sizeof dir, "%s/ro", scratch);
	xfmt(path, sizeof path, "%s/mbox", dir);
	mkdir(dir, 0700);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	fd = spool("x\n", 2);
	if (geteuid() == 0) {
		/* Root ignores the mode: run this case as nobody. */
		(void)chmod(scratch, 0711);
		if (chown(dir, 65534, 65534) == -1 ||
		    chown(path, 65534, 65534) == -1)
			diag("chown: %s", strerror(errno));
		fflush(stdout);
		if ((pid = fork()) == 0) {
			if (setgid(65534) == -1 || setuid(65534) == -1)
				_exit(3);
		} else if (pid > 0) {
			(void)waitpid(pid, &status, 0);
			ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			    "unwritable dir: delivered with fcntl only "
			    "(as nobody; status %d)", status);
			(void)chmod(dir, 0700);
			close(fd);
			return;
		}
	}
	chmod(dir, 0500);
	err_clear(&e);
	r = mbox_deliver(path, fd, 2, "bob", WHEN, &e);
	close(fd);
	chmod(dir, 0700);
	if (pid == 0)
		_exit(r == 0 ? 0 : 1);
	ok(r == 0, "unwritable dir: delivered with fcntl only (%s)", e.msg);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	char cmd[PATH_MAX + 16];

	setenv("TZ", "UTC", 1);
	tzset();
	xfmt(scratch, sizeof scratch, "%s/test-mbox.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	xfmt(mbox, sizeof mbox, "%s/mbox", scratch);
	xfmt(lockpath, sizeof lockpath, "%s.lock", mbox);
	test_rows();
	test_big();
	test_append();
	test_locks();
	test_truncate();
	test_no_dotlock_dir();
	xfmt(cmd, sizeof cmd, "rm -rf '%s'", scratch);
	if (system(cmd) != 0)
		diag("cleanup failed");
	return tap_done();
}
