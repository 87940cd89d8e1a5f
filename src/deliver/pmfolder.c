/*
 * pmfolder.c - procmail's folder types and lockfiles, for the procmailrc
 * interpreter's deliver/lock callbacks (deliver.h has the contract).
 *
 * Checked against Debian's procmail 3.22 (/usr/bin/procmail):
 *  - "md/" is a Maildir (made with tmp/ new/ cur/ when missing), the
 *    leading "From " line is dropped and nothing is appended; LASTFOLDER
 *    "md/new/NAME". We use Dovecot's names (DESIGN.md) instead of
 *    procmail's "TIME.PID_N.HOST".
 *  - "mh/." is MH: "mh/1", "mh/2"... with the From_ line.
 *  - an existing directory "d" gets "d/$MSGPREFIX" + 4 characters (default
 *    "msg.XXXX") with the From_ line.
 *  - anything else is an mbox file: From_ line, ">From " quoting.
 *  - MH, directory and mbox copies get one "\n" appended unless the text
 *    ends in "\n\n" already ("body" -> "body\n", "body\n" -> "body\n\n");
 *    the r flag appends nothing and (mbox) quotes nothing.
 *  - "a/ b/. c d": stored in the first and hard-linked into the others,
 *    so every copy has the first one's bytes (no From_ line anywhere when
 *    the first is a Maildir); a secondary name that does not exist is made
 *    a directory; after an mbox the other names are skipped ("Skipped").
 *    LASTFOLDER lists every copy, separated by spaces.
 * Deliberate differences: every file is written under a temporary name,
 * fsync'd and then linked/renamed into place (no half message is ever
 * visible), and an mbox always gets a dotlock besides the fcntl lock.
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
#include "../rules/procmailrc/procmailrc.h"
#include "deliver.h"

/* procmail's NORMperm: rw for all and x for others (its UPDATE_MASK,
 * "mail arrived" for biff), less the umask; checked: UMASK=022 gives
 * 0645 files and 0755 directories for every folder type. */
#define PMFOLDER_FILE_MODE	0667

enum ftype {
	FT_DEVNULL,
	FT_MAILDIR,
	FT_MH,
	FT_DIR,
	FT_FILE,
};

/* One folder name resolved: its type, the directory or file on disk, and
 * the name as procmail shows it in LASTFOLDER (trailing '/' and "/."
 * removed for directories). */
struct folder {
	enum ftype type;
	char path[PATH_MAX];
	char shown[PATH_MAX];
};

/* Names made by this process for msg.XXXX (mixed with time and pid). */
static unsigned long name_counter;

static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	(void)nanosleep(&ts, NULL);
}

/*
 * Classify name (procmail's foldertype()): "/dev/null", a trailing "/."
 * (MH), a trailing '/' (Maildir), an existing directory, else a file.
 * secondary: a missing plain name is a directory to make (procmail links
 * into directories only).
 */
static int
classify(const char *name, const char *maildir, int secondary,
    struct folder *f, struct err *e)
{
	char tmp[PATH_MAX];
	size_t n = strlen(name);
	struct stat st;

	if (n == 0)
		return err_set(e, ERR_PERM, "empty folder name");
	if (strcmp(name, "/dev/null") == 0) {
		f->type = FT_DEVNULL;
		(void)snprintf(f->path, sizeof f->path, "/dev/null");
		(void)snprintf(f->shown, sizeof f->shown, "/dev/null");
		return 0;
	}
	if (n >= 2 && name[n - 1] == '.' && name[n - 2] == '/') {
		f->type = FT_MH;
		n -= 2;
	} else if (name[n - 1] == '/') {
		f->type = FT_MAILDIR;
	} else {
		f->type = FT_FILE;
	}
	while (n > 1 && name[n - 1] == '/')
		n--;
	if (buf_fmt(f->shown, sizeof f->shown, "%.*s", (int)n, name) == -1)
		return err_set(e, ERR_PERM, "folder name too long");
	if (f->shown[0] == '/' || maildir == NULL || maildir[0] == '\0')
		(void)snprintf(tmp, sizeof tmp, "%s", f->shown);
	else if (buf_fmt(tmp, sizeof tmp, "%s/%s", maildir, f->shown) == -1)
		return err_set(e, ERR_PERM, "folder name too long");
	memcpy(f->path, tmp, sizeof f->path);
	if (f->type != FT_FILE)
		return 0;
	if (stat(f->path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			f->type = FT_DIR;
	} else if (secondary && errno == ENOENT) {
		f->type = FT_DIR;
	}
	return 0;
}

/* mkdir that accepts an existing directory. */
static int
mkdir_ok(const char *path, mode_t mode, struct err *e)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return err_sys(e, errno, "mkdir %s", path);
}

/* The parent directory of path into out (PATH_MAX). */
static void
dir_of(const char *path, char *out)
{
	const char *s = strrchr(path, '/');

	if (s == NULL)
		(void)snprintf(out, PATH_MAX, ".");
	else if (s == path)
		(void)snprintf(out, PATH_MAX, "/");
	else
		(void)snprintf(out, PATH_MAX, "%.*s", (int)(s - path), path);
}

/*
 * A "dir/" Maildir that is root/.NAME is a Maildir++ folder of the user's
 * INBOX: made with maildirfolder and subscribed as NAME decoded from
 * modified UTF-7 (DESIGN.md: procmail-style deliveries subscribe).
 * Anything else is a plain Maildir.
 */
static int
make_maildir(const struct pmfolder_ctx *c, const char *path, mode_t dmode,
    struct err *e)
{
	static const char *const sub[] = { "", "/tmp", "/new", "/cur" };
	enum { nsub = sizeof sub / sizeof sub[0] };
	char parent[PATH_MAX], rootr[PATH_MAX], pr[PATH_MAX];
	char d[nsub][PATH_MAX];
	struct stat st;
	const char *base = strrchr(path, '/');
	struct buf imap = BUF_INIT;
	size_t i;
	int ret;

	if (maildir_exists(path))
		return 0;
	base = base ? base + 1 : path;
	dir_of(path, parent);
	if (c->root != NULL && base[0] == '.' && base[1] != '\0' &&
	    base[1] != '.' && realpath(c->root, rootr) != NULL &&
	    realpath(parent, pr) != NULL && strcmp(rootr, pr) == 0 &&
	    mutf7_decode(&imap, base + 1, strlen(base + 1)) == 0) {
		if (c->sep == '/')
			for (i = 0; i < imap.len; i++)
				if (imap.data[i] == '.')
					imap.data[i] = '/';
		ret = maildir_make_folder(c->root, path, imap.data,
		    c->sep ? c->sep : '.', 1, e);
		buf_free(&imap);
		return ret;
	}
	buf_free(&imap);
	/* maildir_make() makes 0700 (Dovecot's way); procmail makes
	 * directories 0777 less the umask: the ones made now get that */
	for (i = 0; i < nsub; i++)
		if (buf_fmt(d[i], sizeof d[i], "%s%s", path, sub[i]) == -1 ||
		    lstat(d[i], &st) == 0)
			d[i][0] = '\0';
	if (maildir_make(path, 0, e) == -1)
		return -1;
	for (i = 0; i < nsub; i++)
		if (d[i][0] != '\0')
			(void)chmod(d[i], dmode);
	return 0;
}

/* Maildir's ",S=size,W=vsize": vsize counts every bare LF as CRLF. */
static void
maildir_sizes(const char *p, size_t len, char *out, size_t size)
{
	size_t i, lf = 0;

	for (i = 0; i < len; i++)
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			lf++;
	(void)snprintf(out, size, ",S=%zu,W=%zu", len, len + lf);
}

/* Write p to the new file path (O_EXCL), fsync. On failure it is removed. */
static int
write_new(const char *path, const char *p, size_t len, mode_t mode,
    struct err *e)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1)
		return err_sys(e, errno, "create %s", path);
	if (write_all(fd, p, len) == -1 || fsync(fd) == -1) {
		err_sys(e, errno, "write %s", path);
		(void)close(fd);
		(void)unlink(path);
		return -1;
	}
	if (close(fd) == -1) {
		err_sys(e, errno, "close %s", path);
		(void)unlink(path);
		return -1;
	}
	return 0;
}

/* Highest all-digit name in dir, or 0. */
static unsigned long
mh_last(const char *dir)
{
	unsigned long max = 0, v;
	struct dirent *de;
	char *end;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    strspn(de->d_name, "0123456789") != strlen(de->d_name))
			continue;
		errno = 0;
		v = strtoul(de->d_name, &end, 10);
		if (errno == 0 && *end == '\0' && v > max &&
		    v < ULONG_MAX - PMFOLDER_MAX_TRIES)
			max = v;
	}
	(void)closedir(d);
	return max;
}

/* Four characters of [0-9A-Za-z] that change with every call. */
static void
short_unique(char out[5])
{
	static const char set[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned long v = __atomic_add_fetch(&name_counter, 1,
	    __ATOMIC_RELAXED);
	unsigned long long x;
	struct timespec ts;
	int i;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	/* splitmix64 of time, pid and counter: consecutive calls and
	 * concurrent processes land far apart. */
	x = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)ts.tv_sec << 20) ^
	    ((unsigned long long)getpid() << 40) ^ (v * 0x9e3779b97f4a7c15ULL);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	for (i = 0; i < 4; i++, x /= 62)
		out[i] = set[x % 62];
	out[4] = '\0';
}

/*
 * Link src into dir under a new name: MH numbers (mh) or msg.XXXX. link(2)
 * fails with EEXIST on a taken name, which makes it the O_EXCL of names.
 * The name goes to name_out (PATH_MAX).
 */
static int
link_unique(const char *src, const char *dir, int mh, const char *prefix,
    char *name_out, struct err *e)
{
	char path[PATH_MAX], u[5];
	unsigned long next = mh ? mh_last(dir) + 1 : 0;
	unsigned tries;

	for (tries = 0; tries < PMFOLDER_MAX_TRIES; tries++) {
		if (mh) {
			(void)snprintf(name_out, PATH_MAX, "%lu", next++);
		} else {
			short_unique(u);
			if (buf_fmt(name_out, PATH_MAX, "%s%s", prefix ?
			    prefix : PMFOLDER_MSGPREFIX, u) == -1)
				return err_set(e, ERR_PERM, "MSGPREFIX too "
				    "long");
		}
		if (buf_fmt(path, sizeof path, "%s/%s", dir, name_out) == -1)
			return err_set(e, ERR_PERM, "path too long: %s", dir);
		if (link(src, path) == 0)
			return maildir_fsync_dir(dir, e);
		if (errno != EEXIST)
			return err_sys(e, errno, "link %s", path);
	}
	return err_set(e, ERR_TEMP, "no free message name in %s", dir);
}

/* ---- lockfiles ---- */

/* pmlock_take; *noperm_out (if not NULL) is set when the directory does
 * not let us create files at all (an mbox then relies on fcntl). */
static int
lock_take(const char *path, long locktimeout, long wait_max,
    dev_t *dev_out, ino_t *ino_out, int *noperm_out, struct err *e)
{
	time_t start = time(NULL);
	struct stat st;
	int fd;

	if (noperm_out != NULL)
		*noperm_out = 0;
	for (;;) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0444);
		if (fd != -1) {
			if (fstat(fd, &st) == -1) {
				err_sys(e, errno, "stat %s", path);
				(void)close(fd);
				(void)unlink(path);
				return -1;
			}
			(void)close(fd);
			*dev_out = st.st_dev;
			*ino_out = st.st_ino;
			return 0;
		}
		if (errno != EEXIST) {
			if (noperm_out != NULL && (errno == EACCES ||
			    errno == EPERM || errno == EROFS))
				*noperm_out = 1;
			return err_sys(e, errno, "lockfile %s", path);
		}
		/* procmail: a lockfile older than LOCKTIMEOUT is forced. */
		if (locktimeout > 0 && lstat(path, &st) == 0 &&
		    time(NULL) - st.st_mtime > locktimeout) {
			log_info("forcing lock %s (older than %ld s)", path,
			    locktimeout);
			(void)unlink(path);
			continue;
		}
		if (wait_max > 0 && time(NULL) - start >= wait_max)
			return err_set(e, ERR_TEMP, "timeout waiting for "
			    "lockfile %s", path);
		nap(PMLOCK_SLEEP * 1000L);
	}
}

int
pmlock_take(const char *path, long locktimeout, long wait_max,
    dev_t *dev_out, ino_t *ino_out, struct err *e)
{
	return lock_take(path, locktimeout, wait_max, dev_out, ino_out, NULL,
	    e);
}

void
pmlock_drop(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
		(void)unlink(path);
}

/* ---- the bytes of each folder type ---- */

/* head + body, as held (From_ line first when the head is there). */
static void
join(const struct pm_folder_req *r, struct buf *out)
{
	if (r->head != NULL)
		buf_add(out, r->head, r->head_len);
	if (r->body != NULL)
		buf_add(out, r->body, r->body_len);
	buf_reserve(out, 0);	/* data not NULL even when empty */
}

/* procmail: one "\n" unless the text ends in an empty line (or raw). */
static void
ensure_end(struct buf *b, int raw)
{
	if (raw)
		return;
	if (b->len >= 2 && b->data[b->len - 1] == '\n' &&
	    b->data[b->len - 2] == '\n')
		return;
	buf_addc(b, '\n');
}

/* The mbox text: "From " at every line start but the very first (the
 * From_ line when the head is there) becomes ">From ". A head without a
 * From_ line (procmail -m without -f) gets "From MAILER-DAEMON  date":
 * procmail writes none and the message runs into the one before it. */
static void
mbox_text(const struct pm_folder_req *r, const struct buf *in,
    struct buf *out)
{
	size_t i = 0, n;
	const char *nl;

	if (r->head != NULL && !(in->len >= 5 &&
	    memcmp(in->data, "From ", 5) == 0)) {
		char date[64];
		time_t now = time(NULL);
		struct tm tm;

		if (localtime_r(&now, &tm) == NULL ||
		    strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y",
		    &tm) == 0)
			(void)snprintf(date, sizeof date,
			    "Thu Jan  1 00:00:00 1970");
		buf_addf(out, "From MAILER-DAEMON  %s\n", date);
	}
	while (i < in->len) {
		nl = memchr(in->data + i, '\n', in->len - i);
		n = nl ? (size_t)(nl - (in->data + i)) + 1 : in->len - i;
		if (!r->raw && (i > 0 || r->head == NULL) && n >= 5 &&
		    memcmp(in->data + i, "From ", 5) == 0)
			buf_addc(out, '>');
		buf_add(out, in->data + i, n);
		i += n;
	}
	buf_reserve(out, 0);
	ensure_end(out, r->raw);
}

/* ---- folder types ---- */

static int
mbox_append(const struct pmfolder_ctx *c, const struct pm_folder_req *r,
    const char *path, const char *p, size_t len, struct err *e)
{
	char lock[PATH_MAX];
	struct stat st;
	dev_t ldev = 0;
	ino_t lino = 0;
	off_t old = -1;
	int fd = -1, dotlocked = 0, noperm, ret = -1;
	time_t deadline;

	if (!r->locked) {
		if (buf_fmt(lock, sizeof lock, "%s.lock", path) == -1)
			return err_set(e, ERR_PERM, "path too long: %s", path);
		if (lock_take(lock, c->locktimeout, PMLOCK_MBOX_WAIT, &ldev,
		    &lino, &noperm, e) == 0)
			dotlocked = 1;
		else if (!noperm)
			return -1;
		/* A spool directory without write access for us (no
		 * group mail): fcntl alone, as procmail and Postfix do. */
	}
	deadline = time(NULL) + PMLOCK_MBOX_WAIT;
	/* Symlinks are followed as procmail does: we run with the user's
	 * rights only, so a link can reach nothing the user could not. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    PMFOLDER_FILE_MODE & ~r->umask);
	if (fd == -1) {
		err_sys(e, errno, "open %s", path);
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		err_sys(e, errno, "stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, ERR_PERM, "%s is not a regular file", path);
		goto out;
	}
	if (mbox_fcntl_lock(fd, path, deadline, e) == -1)
		goto out;
	if (fstat(fd, &st) == -1) {
		err_sys(e, errno, "stat %s", path);
		goto out;
	}
	old = st.st_size;
	if (write_all(fd, p, len) == -1 || fsync(fd) == -1) {
		err_sys(e, errno, "write %s", path);
		goto out;
	}
	ret = 0;
out:
	if (ret == -1 && old != -1 && (ftruncate(fd, old) == -1 ||
	    fsync(fd) == -1))
		log_warn("truncate %s back to %lld", path, (long long)old);
	if (fd != -1)
		(void)close(fd);
	if (dotlocked)
		pmlock_drop(lock, ldev, lino);
	return ret;
}

/* The first Maildir copy: tmp/ -> new/. file_out gets new/NAME's path. */
static int
maildir_store(const struct pmfolder_ctx *c, const struct folder *f,
    const char *p, size_t len, mode_t mode, mode_t dmode, char *file_out,
    char *name_out, struct err *e)
{
	char uniq[256], sz[64], tmp[PATH_MAX], dir[PATH_MAX];

	if (make_maildir(c, f->path, dmode, e) == -1)
		return -1;
	if (maildir_unique(uniq, sizeof uniq, c->host) == -1)
		return err_set(e, ERR_TEMP, "host name too long");
	maildir_sizes(p, len, sz, sizeof sz);
	if (buf_fmt(name_out, PATH_MAX, "%s%s", uniq, sz) == -1 ||
	    buf_fmt(tmp, sizeof tmp, "%s/tmp/%s", f->path, name_out) == -1 ||
	    buf_fmt(file_out, PATH_MAX, "%s/new/%s", f->path, name_out) == -1 ||
	    buf_fmt(dir, sizeof dir, "%s/new", f->path) == -1)
		return err_set(e, ERR_PERM, "path too long: %s", f->path);
	if (write_new(tmp, p, len, mode, e) == -1)
		return -1;
	if (rename(tmp, file_out) == -1) {
		err_sys(e, errno, "rename %s", tmp);
		(void)unlink(tmp);
		return -1;
	}
	return maildir_fsync_dir(dir, e);
}

/* A secondary Maildir copy: a link under a name of its own in new/. */
static int
maildir_link(const struct pmfolder_ctx *c, const struct folder *f,
    const char *src, size_t len, const char *p, mode_t dmode, char *name_out,
    struct err *e)
{
	char uniq[256], sz[64], path[PATH_MAX], dir[PATH_MAX];

	if (make_maildir(c, f->path, dmode, e) == -1)
		return -1;
	if (maildir_unique(uniq, sizeof uniq, c->host) == -1)
		return err_set(e, ERR_TEMP, "host name too long");
	maildir_sizes(p, len, sz, sizeof sz);
	if (buf_fmt(name_out, PATH_MAX, "%s%s", uniq, sz) == -1 ||
	    buf_fmt(path, sizeof path, "%s/new/%s", f->path, name_out) == -1 ||
	    buf_fmt(dir, sizeof dir, "%s/new", f->path) == -1)
		return err_set(e, ERR_PERM, "path too long: %s", f->path);
	if (link(src, path) == -1)
		return err_sys(e, errno, "link %s", path);
	return maildir_fsync_dir(dir, e);
}

/* The first MH or directory copy: a hidden temporary file in the folder,
 * linked to its final name, then removed. */
static int
mh_dir_store(const struct pmfolder_ctx *c, const struct folder *f,
    const char *p, size_t len, mode_t fmode, mode_t dmode,
    const char *prefix, char *file_out, char *name_out, struct err *e)
{
	char uniq[256], tmp[PATH_MAX];
	int ret;

	if (mkdir_ok(f->path, dmode, e) == -1)
		return -1;
	if (maildir_unique(uniq, sizeof uniq, c->host) == -1 ||
	    buf_fmt(tmp, sizeof tmp, "%s/.sluice-tmp.%s", f->path, uniq) == -1)
		return err_set(e, ERR_PERM, "path too long: %s", f->path);
	if (write_new(tmp, p, len, fmode, e) == -1)
		return -1;
	ret = link_unique(tmp, f->path, f->type == FT_MH, prefix, name_out,
	    e);
	(void)unlink(tmp);
	if (ret == 0 && buf_fmt(file_out, PATH_MAX, "%s/%s", f->path,
	    name_out) == -1)
		ret = err_set(e, ERR_PERM, "path too long: %s", f->path);
	return ret;
}

static void
shown_add(struct buf *lf, const struct folder *f, const char *mid,
    const char *name)
{
	if (lf->len > 0)
		buf_addc(lf, ' ');
	buf_adds(lf, f->shown);
	if (name != NULL) {
		if (strcmp(f->shown, "/") != 0)
			buf_addc(lf, '/');
		buf_adds(lf, mid);
		buf_adds(lf, name);
	}
}

int
pmfolder_deliver(const struct pmfolder_ctx *c, const struct pm_folder_req *r,
    struct buf *lastfolder, struct err *e)
{
	struct buf text = BUF_INIT, out = BUF_INIT;
	struct folder *f = NULL;
	char first[PATH_MAX], name[PATH_MAX];
	const char *p;
	size_t len, i;
	mode_t fmode = PMFOLDER_FILE_MODE & ~r->umask;
	mode_t dmode = 0777 & ~r->umask;
	int ret = -1;

	buf_reset(lastfolder);
	if (r->nfolders == 0)
		return err_set(e, ERR_INTERNAL, "no folder to deliver to");
	f = xcalloc(1, sizeof *f);
	if (classify(r->folders[0], r->maildir, 0, f, e) == -1)
		goto out;
	join(r, &text);
	switch (f->type) {
	case FT_DEVNULL:
		shown_add(lastfolder, f, NULL, NULL);
		break;
	case FT_FILE:
		mbox_text(r, &text, &out);
		if (mbox_append(c, r, f->path, out.data, out.len, e) == -1)
			goto out;
		shown_add(lastfolder, f, NULL, NULL);
		break;
	case FT_MAILDIR:
		/* Maildir holds no From_ line and gets nothing appended. */
		p = text.data;
		len = text.len;
		if (r->head != NULL && len >= 5 && memcmp(p, "From ", 5) == 0) {
			const char *nl = memchr(p, '\n', len);

			len = nl ? len - (size_t)(nl + 1 - p) : 0;
			p = nl ? nl + 1 : p + text.len;
		}
		buf_add(&out, p, len);
		buf_reserve(&out, 0);
		if (maildir_store(c, f, out.data, out.len, fmode, dmode, first,
		    name, e) == -1)
			goto out;
		shown_add(lastfolder, f, "new/", name);
		break;
	case FT_MH:
	case FT_DIR:
		buf_add(&out, text.data, text.len);
		buf_reserve(&out, 0);
		ensure_end(&out, r->raw);
		if (mh_dir_store(c, f, out.data, out.len, fmode, dmode,
		    r->msgprefix, first, name, e) == -1)
			goto out;
		shown_add(lastfolder, f, "", name);
		break;
	}
	for (i = 1; i < r->nfolders; i++) {
		struct err le;
		int lr = -1;

		err_clear(&le);
		if (f->type == FT_DEVNULL || f->type == FT_FILE) {
			log_info("procmail: skipped \"%s\"", r->folders[i]);
			continue;
		}
		{
			struct folder *g = xcalloc(1, sizeof *g);

			if (classify(r->folders[i], r->maildir, 1, g,
			    &le) == -1) {
				;
			} else if (g->type == FT_MAILDIR) {
				if ((lr = maildir_link(c, g, first, out.len,
				    out.data, dmode, name, &le)) == 0)
					shown_add(lastfolder, g, "new/", name);
			} else if (g->type == FT_MH || g->type == FT_DIR) {
				if ((lr = mkdir_ok(g->path, dmode, &le)) == 0 &&
				    (lr = link_unique(first, g->path,
				    g->type == FT_MH, r->msgprefix, name,
				    &le)) == 0)
					shown_add(lastfolder, g, "", name);
			} else {
				err_set(&le, ERR_PERM, "not a directory");
			}
			if (lr == -1)
				log_info("procmail: skipped \"%s\": %s",
				    r->folders[i], le.msg);
			free(g);
		}
	}
	ret = 0;
out:
	free(f);
	buf_free(&text);
	buf_free(&out);
	return ret;
}
