/*
 * test-mbox.c - mbox_deliver: the text procmail 3.22 writes ("From "
 * line, ">From " quoting, trailing blank line), locking (dotlock and
 * fcntl, stale and held locks) and the truncate-back on failure.
 * Then pmfolder.c: procmail's folder types, LASTFOLDER, hard links,
 * failures that leave nothing half-written, and lockfiles; the expected
 * texts are what Debian's procmail 3.22 writes for the same input.
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

#include <dirent.h>
#include <sys/resource.h>
#include <utime.h>

#include "deliver/deliver.h"
#include "lib/limits.h"
#include "rules/procmailrc/procmailrc.h"
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

/* ---- pmfolder.c ---- */

#define PM_FROM	"From a@b  Mon Jan  1 00:00:00 2024\n"

static int
pm_deliver(const char *folders, const char *head, const char *body, int raw,
    int locked, struct buf *lf, struct err *e)
{
	struct pmfolder_ctx c = { .host = "host", .root = NULL, .sep = '.',
	    .locktimeout = 1024 };
	struct pm_folder_req r;
	char *copy = strdup(folders), *v[16], *w, *save = NULL;
	size_t n = 0;
	int ret;

	for (w = strtok_r(copy, " ", &save); w != NULL && n < 16;
	    w = strtok_r(NULL, " ", &save))
		v[n++] = w;
	memset(&r, 0, sizeof r);
	r.folders = (const char *const *)v;
	r.nfolders = n;
	r.head = head;
	r.head_len = head ? strlen(head) : 0;
	r.body = body;
	r.body_len = body ? strlen(body) : 0;
	r.raw = raw;
	r.locked = locked;
	r.maildir = scratch;
	r.umask = 077;
	err_clear(e);
	buf_reset(lf);
	ret = pmfolder_deliver(&c, &r, lf, e);
	free(copy);
	return ret;
}

/* The only entry of dir (name into out), or "" when 0 or several. */
static int
only_entry(const char *dir, char *out, size_t size)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	out[0] = '\0';
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n++ == 0)
			xfmt(out, size, "%s", de->d_name);
	}
	closedir(d);
	if (n != 1)
		out[0] = '\0';
	return n;
}

static int
file_is(const char *path, const char *want)
{
	struct buf b = slurp(path);
	int r = b.len == strlen(want) && memcmp(b.data, want, b.len) == 0;

	if (!r)
		diag("%s holds \"%.*s\"", path, (int)b.len, b.data);
	buf_free(&b);
	return r;
}

/* Text rows: what each folder type stores, from procmail 3.22. */
static const struct {
	const char *name, *folder, *head, *body;
	int raw;
	const char *want;
} pm_rows[] = {
	{ "maildir drops From_, appends nothing", "md/",
	  PM_FROM "Subject: x\n\n", "body\nFrom me\n", 0,
	  "Subject: x\n\nbody\nFrom me\n" },
	{ "maildir without final newline", "md/", PM_FROM "S: x\n\n", "last", 0,
	  "S: x\n\nlast" },
	{ "maildir body only keeps a From line of the body", "md/", NULL,
	  "From x\nbody\n", 0, "From x\nbody\n" },
	{ "mh keeps From_, adds the empty line", "mh/.", PM_FROM "S: x\n\n",
	  "body\nFrom me\n", 0, PM_FROM "S: x\n\nbody\nFrom me\n\n" },
	{ "mh: no newline at the end gets one", "mh/.", PM_FROM "S: x\n\n",
	  "body", 0, PM_FROM "S: x\n\nbody\n" },
	{ "mh: an empty line at the end stays", "mh/.", PM_FROM "S: x\n\n",
	  "body\n\n", 0, PM_FROM "S: x\n\nbody\n\n" },
	{ "mh raw: nothing appended", "mh/.", PM_FROM "S: x\n\n", "body", 1,
	  PM_FROM "S: x\n\nbody" },
	{ "directory like mh", "plain", PM_FROM "S: x\n\n", "body\n", 0,
	  PM_FROM "S: x\n\nbody\n\n" },
	{ "mbox quotes From lines, not the first", "mbox",
	  PM_FROM "S: x\nFrom q\n\n", "hello\nFrom me\n>From you\nlast", 0,
	  PM_FROM "S: x\n>From q\n\nhello\n>From me\n>From you\nlast\n" },
	{ "mbox: empty line ensured", "mbox", PM_FROM "S: x\n\n", "body\n", 0,
	  PM_FROM "S: x\n\nbody\n\n" },
	{ "mbox raw: no quoting, nothing appended", "mbox",
	  PM_FROM "S: x\n\n", "body\nFrom x\n", 1,
	  PM_FROM "S: x\n\nbody\nFrom x\n" },
	{ "mbox body only: its first line is quoted", "mbox", NULL,
	  "From x\nbody\n", 0, ">From x\nbody\n\n" },
};

static void
test_pm_rows(void)
{
	char dir[PATH_MAX], path[PATH_MAX], name[PATH_MAX], want_lf[PATH_MAX];
	struct buf lf = BUF_INIT;
	struct err e;
	size_t i;
	int r;

	for (i = 0; i < sizeof pm_rows / sizeof pm_rows[0]; i++) {
		xfmt(dir, sizeof dir, "rm -rf '%s/md' '%s/mh' '%s/plain' "
		    "'%s/mbox'", scratch, scratch, scratch, scratch);
		if (system(dir) != 0)
			exit(2);
		xfmt(dir, sizeof dir, "%s/plain", scratch);
		mkdir(dir, 0700);
		r = pm_deliver(pm_rows[i].folder, pm_rows[i].head,
		    pm_rows[i].body, pm_rows[i].raw, 0, &lf, &e);
		if (!ok(r == 0, "pm row %zu %s: delivered (%s)", i,
		    pm_rows[i].name, e.msg))
			continue;
		if (strcmp(pm_rows[i].folder, "md/") == 0) {
			xfmt(dir, sizeof dir, "%s/md/new", scratch);
			only_entry(dir, name, sizeof name);
			xfmt(want_lf, sizeof want_lf, "md/new/%s", name);
		} else if (strcmp(pm_rows[i].folder, "mh/.") == 0) {
			xfmt(dir, sizeof dir, "%s/mh", scratch);
			only_entry(dir, name, sizeof name);
			xfmt(want_lf, sizeof want_lf, "mh/%s", name);
			is_str(name, "1", "pm row %zu: first MH number", i);
		} else if (strcmp(pm_rows[i].folder, "plain") == 0) {
			xfmt(dir, sizeof dir, "%s/plain", scratch);
			only_entry(dir, name, sizeof name);
			xfmt(want_lf, sizeof want_lf, "plain/%s", name);
			ok(strncmp(name, "msg.", 4) == 0 && strlen(name) == 8,
			    "pm row %zu: msg.XXXX name (%s)", i, name);
		} else {
			xfmt(dir, sizeof dir, "%s", scratch);
			xfmt(name, sizeof name, "mbox");
			xfmt(want_lf, sizeof want_lf, "mbox");
		}
		xfmt(path, sizeof path, "%s/%s", dir, name);
		ok(name[0] != '\0' && file_is(path, pm_rows[i].want),
		    "pm row %zu %s: text", i, pm_rows[i].name);
		is_str(lf.data, want_lf, "pm row %zu: LASTFOLDER", i);
	}
	buf_free(&lf);
}

static void
test_pm_types(void)
{
	char path[PATH_MAX], p2[PATH_MAX], name[PATH_MAX], want[PATH_MAX * 2];
	struct buf lf = BUF_INIT;
	struct stat st, st2;
	struct err e;
	int r, fd;

	/* Maildir: made when missing, name with S= and W= (CRLF size). */
	r = pm_deliver("mdx/", PM_FROM "S: x\n\n", "ab\n", 0, 0, &lf, &e);
	xfmt(path, sizeof path, "%s/mdx/new", scratch);
	only_entry(path, name, sizeof name);
	/* "S: x\n\nab\n" is 9 bytes, 12 with CRLF; the From_ line is gone. */
	ok(r == 0 && strstr(name, ",S=9,W=12") != NULL,
	    "maildir name has S=9,W=12 (%s)", name);
	xfmt(path, sizeof path, "%s/mdx/cur", scratch);
	ok(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "maildir: cur/ made");
	xfmt(path, sizeof path, "%s/mdx/tmp", scratch);
	is_int(only_entry(path, name, sizeof name), 0, "maildir: tmp/ empty");

	/* MH numbers go on from the highest. */
	xfmt(path, sizeof path, "%s/mh7", scratch);
	mkdir(path, 0700);
	xfmt(path, sizeof path, "%s/mh7/7", scratch);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	xfmt(path, sizeof path, "%s/mh7/notanumber", scratch);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	r = pm_deliver("mh7/.", PM_FROM, "x\n", 0, 0, &lf, &e);
	is_str(lf.data, "mh7/8", "mh: next after 7 is 8");
	r = pm_deliver("mh7/.", PM_FROM, "x\n", 0, 0, &lf, &e);
	is_str(lf.data, "mh7/9", "mh: then 9");

	/* Several names: one file, hard links, a missing plain name is a
	 * directory; LASTFOLDER lists them all. */
	r = pm_deliver("lk1/ lk2/. lk3 lk4/", PM_FROM "S: x\n\n", "b\n", 0, 0,
	    &lf, &e);
	ok(r == 0, "links: delivered (%s)", e.msg);
	xfmt(path, sizeof path, "%s/lk1/new", scratch);
	only_entry(path, name, sizeof name);
	xfmt(path, sizeof path, "%s/lk1/new/%s", scratch, name);
	xfmt(p2, sizeof p2, "%s/lk2/1", scratch);
	ok(stat(path, &st) == 0 && stat(p2, &st2) == 0 &&
	    st.st_ino == st2.st_ino && st.st_nlink == 4,
	    "links: one inode, 4 links");
	ok(file_is(p2, "S: x\n\nb\n"), "links: the first (Maildir) copy's "
	    "bytes everywhere");
	ok(strncmp(lf.data, "lk1/new/", 8) == 0 &&
	    strstr(lf.data, " lk2/1 lk3/msg.") != NULL &&
	    strstr(lf.data, " lk4/new/") != NULL, "links: LASTFOLDER %s",
	    lf.data);
	xfmt(path, sizeof path, "%s/lk3", scratch);
	ok(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "links: lk3 made a "
	    "directory");

	/* MH first: the From_ line and empty line travel into the Maildir
	 * link too (procmail 3.22 does the same). */
	r = pm_deliver("lm1/. lm2/", PM_FROM "S: x\n\n", "b\n", 0, 0, &lf, &e);
	xfmt(path, sizeof path, "%s/lm2/new", scratch);
	only_entry(path, name, sizeof name);
	xfmt(path, sizeof path, "%s/lm2/new/%s", scratch, name);
	ok(r == 0 && file_is(path, PM_FROM "S: x\n\nb\n\n"),
	    "mh first: maildir link holds the mh bytes");

	/* After an mbox the rest is skipped. */
	r = pm_deliver("mb9 md9/", PM_FROM, "b\n", 0, 0, &lf, &e);
	xfmt(path, sizeof path, "%s/md9", scratch);
	ok(r == 0 && stat(path, &st) == -1, "mbox first: md9/ skipped");
	is_str(lf.data, "mb9", "mbox first: LASTFOLDER");

	r = pm_deliver("/dev/null", PM_FROM, "b\n", 0, 0, &lf, &e);
	ok(r == 0, "/dev/null delivered");
	is_str(lf.data, "/dev/null", "/dev/null: LASTFOLDER");

	/* Absolute names ignore MAILDIR; LASTFOLDER keeps them absolute. */
	xfmt(path, sizeof path, "%s/abs/.", scratch);
	r = pm_deliver(path, PM_FROM, "b\n", 0, 0, &lf, &e);
	xfmt(want, sizeof want, "%s/abs/1", scratch);
	is_str(lf.data, want, "absolute MH name");

	/* An mbox under a held dotlock, with the recipe's lock (locked):
	 * no second dotlock is taken (it would wait for itself). */
	xfmt(path, sizeof path, "%s/held", scratch);
	xfmt(p2, sizeof p2, "%s/held.lock", scratch);
	fd = open(p2, O_WRONLY | O_CREAT, 0444);
	close(fd);
	r = pm_deliver("held", PM_FROM, "b\n", 0, 1, &lf, &e);
	ok(r == 0 && file_size(path) > 0, "locked recipe: no second dotlock "
	    "(%s)", e.msg);
	ok(exists(p2), "locked recipe: the recipe's lock is left alone");
	buf_free(&lf);
}

/* Failures leave nothing half-written: file size limit as a full disk. */
static void
test_pm_failures(void)
{
	char path[PATH_MAX], name[PATH_MAX], big[8192];
	struct buf lf = BUF_INIT;
	struct rlimit rl, old;
	struct err e;
	off_t before;
	int r;

	memset(big, 'x', sizeof big - 2);
	big[sizeof big - 2] = '\n';
	big[sizeof big - 1] = '\0';
	/* Folders first, while writes are allowed. */
	r = pm_deliver("fm", PM_FROM, "small\n", 0, 0, &lf, &e);
	r |= pm_deliver("fmd/", PM_FROM, "small\n", 0, 0, &lf, &e);
	r |= pm_deliver("fmh/.", PM_FROM, "small\n", 0, 0, &lf, &e);
	ok(r == 0, "failures: set-up (%s)", e.msg);
	xfmt(path, sizeof path, "%s/fm", scratch);
	before = file_size(path);

	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	rl.rlim_cur = 4096;
	setrlimit(RLIMIT_FSIZE, &rl);

	r = pm_deliver("fm", PM_FROM, big, 0, 0, &lf, &e);
	ok(r == -1 && e.cls == ERR_TEMP, "mbox full: ERR_TEMP (%s)", e.msg);
	is_int(file_size(path), before, "mbox full: cut back to its size");
	xfmt(path, sizeof path, "%s/fm.lock", scratch);
	ok(!exists(path), "mbox full: dotlock removed");

	r = pm_deliver("fmd/", PM_FROM, big, 0, 0, &lf, &e);
	ok(r == -1 && e.cls == ERR_TEMP, "maildir full: ERR_TEMP (%s)", e.msg);
	xfmt(path, sizeof path, "%s/fmd/new", scratch);
	is_int(only_entry(path, name, sizeof name), 1, "maildir full: only the "
	    "earlier message in new/");
	xfmt(path, sizeof path, "%s/fmd/tmp", scratch);
	is_int(only_entry(path, name, sizeof name), 0, "maildir full: tmp/ "
	    "empty");

	r = pm_deliver("fmh/.", PM_FROM, big, 0, 0, &lf, &e);
	ok(r == -1 && e.cls == ERR_TEMP, "mh full: ERR_TEMP (%s)", e.msg);
	xfmt(path, sizeof path, "%s/fmh", scratch);
	{
		DIR *d = opendir(path);
		struct dirent *de;
		int n = 0;

		while (d != NULL && (de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				n++;
		if (d != NULL)
			closedir(d);
		is_int(n, 1, "mh full: only message 1, no temporary file");
	}
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);

	/* A Maildir name that is a file: ERR_TEMP, nothing created. */
	xfmt(path, sizeof path, "%s/notdir", scratch);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	r = pm_deliver("notdir/", PM_FROM, "b\n", 0, 0, &lf, &e);
	ok(r == -1 && e.cls == ERR_TEMP, "maildir over a file: ERR_TEMP (%s)",
	    e.msg);
	r = pm_deliver("nodir/sub/mbox", PM_FROM, "b\n", 0, 0, &lf, &e);
	ok(r == -1 && e.cls == ERR_TEMP, "mbox in a missing directory: "
	    "ERR_TEMP (%s)", e.msg);
	buf_free(&lf);
}

static void
test_pm_locks(void)
{
	char path[PATH_MAX], keep[PATH_MAX + 8];
	struct utimbuf ut;
	struct stat st;
	struct err e;
	dev_t dev, dev2;
	ino_t ino, ino2;
	time_t t0;
	int r;

	xfmt(path, sizeof path, "%s/lf.lock", scratch);
	err_clear(&e);
	r = pmlock_take(path, 1024, 0, &dev, &ino, &e);
	ok(r == 0 && stat(path, &st) == 0 && st.st_ino == ino,
	    "lockfile made");
	t0 = time(NULL);
	r = pmlock_take(path, 1024, 2, &dev2, &ino2, &e);
	ok(r == -1 && e.cls == ERR_TEMP && time(NULL) - t0 >= 2,
	    "held lockfile: waits, then ERR_TEMP (%s)", e.msg);

	/* Older than LOCKTIMEOUT: forced. A second link keeps the old
	 * inode alive, so the new lock cannot reuse its number. */
	ut.actime = ut.modtime = time(NULL) - 100;
	utime(path, &ut);
	xfmt(keep, sizeof keep, "%s.keep", path);
	(void)link(path, keep);
	r = pmlock_take(path, 50, 2, &dev2, &ino2, &e);
	ok(r == 0 && ino2 != ino, "stale lockfile forced after LOCKTIMEOUT");
	/* Our old identity no longer matches: drop leaves the new one. */
	pmlock_drop(path, dev, ino);
	ok(exists(path), "drop of a lock that is not ours: kept");
	pmlock_drop(path, dev2, ino2);
	ok(!exists(path), "drop of our lock: removed");
	unlink(keep);

	/* LOCKTIMEOUT 0: never forced. */
	close(open(path, O_WRONLY | O_CREAT, 0444));
	utime(path, &ut);
	r = pmlock_take(path, 0, 1, &dev2, &ino2, &e);
	ok(r == -1 && exists(path), "LOCKTIMEOUT=0: an old lock is not "
	    "forced");
	unlink(path);

	xfmt(path, sizeof path, "%s/missing/lf.lock", scratch);
	r = pmlock_take(path, 0, 1, &dev2, &ino2, &e);
	ok(r == -1 && e.cls == ERR_TEMP, "lockfile in a missing directory: "
	    "ERR_TEMP at once (%s)", e.msg);
}

/* A Maildir++ folder of the user's root: maildirfolder + subscribed. */
static void
test_pm_root_folder(void)
{
	struct pmfolder_ctx c = { .host = "h", .sep = '.', .locktimeout = 0 };
	struct pm_folder_req r;
	char root[PATH_MAX], path[PATH_MAX];
	const char *f[1] = { ".Lists.x/" };
	struct buf lf = BUF_INIT, subs;
	struct err e;

	xfmt(root, sizeof root, "%s/Maildir", scratch);
	mkdir(root, 0700);
	c.root = root;
	memset(&r, 0, sizeof r);
	r.folders = f;
	r.nfolders = 1;
	r.head = PM_FROM;
	r.head_len = strlen(PM_FROM);
	r.body = "b\n";
	r.body_len = 2;
	r.maildir = root;
	r.umask = 077;
	err_clear(&e);
	ok(pmfolder_deliver(&c, &r, &lf, &e) == 0, "root folder delivered "
	    "(%s)", e.msg);
	xfmt(path, sizeof path, "%s/.Lists.x/maildirfolder", root);
	ok(exists(path), "root folder: maildirfolder made");
	xfmt(path, sizeof path, "%s/subscriptions", root);
	subs = slurp(path);
	ok(subs.len > 0 && mem_find(subs.data, subs.len, "Lists\tx\n", 8) !=
	    NULL, "root folder: subscribed as Lists.x");
	buf_free(&subs);
	buf_free(&lf);
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
	test_pm_rows();
	test_pm_types();
	test_pm_failures();
	test_pm_locks();
	test_pm_root_folder();
	xfmt(cmd, sizeof cmd, "rm -rf '%s'", scratch);
	if (system(cmd) != 0)
		diag("cleanup failed");
	return tap_done();
}
