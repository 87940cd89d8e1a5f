/*
 * maildir.c - Maildir++ as Dovecot reads and writes it (DESIGN.md
 * "Contracts with Dovecot"): unique names, folder names to directories,
 * creating folders, the subscriptions file and dovecot-keywords.
 *
 * Behaviour checked against Dovecot 2.3.19 (layout maildir++, namespace
 * separator '.'): "Foo.Bar" is root/.Foo.Bar; a first level spelt "inbox"
 * in any case is written "INBOX" ("inbox.bar" -> root/.INBOX.bar); names
 * starting with the separator, holding "..", or '/' are refused.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/limits.h"
#include "deliver.h"


static const char subs_v2_header[] = "V\t2\n\n";

/*
 * The only mutable state of this file: names made by this process, for
 * the Q field. Atomic, so it stays correct if threads ever share it; a
 * forked child inherits the value but has its own pid, so names cannot
 * collide across processes.
 */
static unsigned long unique_counter;

int
maildir_unique(char *out, size_t size, const char *host)
{
	char hostbuf[256], safe[256 * 4 + 1];
	unsigned long q;
	struct timeval tv;
	size_t i, j;

	if (host == NULL || *host == '\0') {
		if (gethostname(hostbuf, sizeof hostbuf) == -1)
			(void)strcpy(hostbuf, "localhost");
		hostbuf[sizeof hostbuf - 1] = '\0';
		host = hostbuf;
	}
	/* Dovecot escapes the two bytes that would break a Maildir name:
	 * '/' (a path) and ':' (the info separator) as octal. */
	for (i = 0, j = 0; host[i] != '\0' && j + 5 < sizeof safe; i++) {
		if (host[i] == '/' || host[i] == ':') {
			memcpy(safe + j, host[i] == '/' ? "\\057" : "\\072", 4);
			j += 4;
		} else
			safe[j++] = host[i];
	}
	safe[j] = '\0';
	(void)gettimeofday(&tv, NULL);
	q = __atomic_add_fetch(&unique_counter, 1, __ATOMIC_RELAXED);
	/* The LDA makes one name per process: DESIGN.md's plain form.
	 * Later names of the same process add Qn (as Dovecot's deliver
	 * does) so that they cannot collide within one microsecond. */
	if ((q == 1 ? buf_fmt(out, size, "%lld.M%ldP%ld.%s",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(), safe) :
	    buf_fmt(out, size, "%lld.M%ldP%ldQ%lu.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), q, safe)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * Split folder into its levels and encode each in modified UTF-7,
 * appending them to out joined by joiner. The first level is written
 * "INBOX" when it is INBOX in any case (as Dovecot does). Applies every
 * rule of maildir_folder_path(); ERR_PERM on a bad name.
 */
static int
encode_levels(const char *folder, char sep, char joiner, struct buf *out,
    struct err *e)
{
	const char *p, *end, *lvl;
	size_t flen = strlen(folder), i, n;
	unsigned depth = 0;

	if (sep != '.' && sep != '/')
		return err_set(e, ERR_INTERNAL, "bad hierarchy separator");
	if (flen > FOLDER_MAX_NAME)
		return err_set(e, ERR_PERM, "folder name too long");
	/* Dovecot refuses names beginning with '~' (they would name a home
	 * directory in some layouts): a folder it cannot open loses mail. */
	if (folder[0] == '~')
		return err_set(e, ERR_PERM, "folder name begins with '~'");
	/* A trailing separator names the folder itself, as in Dovecot
	 * ("Lists." is "Lists"). */
	while (flen > 1 && folder[flen - 1] == sep)
		flen--;
	for (i = 0; i < flen; i++) {
		unsigned char c = (unsigned char)folder[i];

		if (c < 0x20 || c == 0x7f)
			return err_set(e, ERR_PERM,
			    "folder name holds a control character");
		if (c == '/' && sep == '.')
			return err_set(e, ERR_PERM, "folder name holds '/'");
	}
	for (p = folder;; p = end + 1) {
		end = memchr(p, sep, (size_t)(folder + flen - p));
		if (end == NULL)
			end = folder + flen;
		lvl = p;
		n = (size_t)(end - p);
		if (++depth > FOLDER_MAX_DEPTH)
			return err_set(e, ERR_PERM, "folder name too deep");
		if (n == 0)
			return err_set(e, ERR_PERM,
			    "folder name has an empty level");
		/* Maildir++: a leading '.' would make "." / ".." or a
		 * hidden name; inside a level it is the on-disk separator,
		 * so it is refused when sep is '/'. */
		if (lvl[0] == '.' || (sep == '/' && memchr(lvl, '.', n)))
			return err_set(e, ERR_PERM,
			    "folder name level may not hold '.' here");
		if (depth > 1)
			buf_addc(out, joiner);
		if (depth == 1 && end != folder + flen &&
		    mem_ieq(lvl, n, "INBOX", 5))
			buf_adds(out, "INBOX");
		else if (mutf7_encode(out, lvl, n) == -1)
			return err_set(e, ERR_PERM,
			    "folder name is not valid UTF-8");
		if (end == folder + flen)
			break;
	}
	return 0;
}

static int
is_inbox(const char *folder)
{
	return *folder == '\0' || mem_ieq(folder, strlen(folder), "INBOX", 5);
}

int
maildir_folder_path(const char *root, const char *folder, char sep,
    char *out, size_t outsz, struct err *e)
{
	struct buf name = BUF_INIT;
	int ret = -1;

	if (is_inbox(folder)) {
		if (buf_fmt(out, outsz, "%s", root) == -1) {
			err_set(e, ERR_PERM, "path too long");
			goto out;
		}
		ret = 0;
		goto out;
	}
	if (encode_levels(folder, sep, '.', &name, e) == -1)
		goto out;
	/* FOLDER_MAX_NAME bounds the on-disk name, which mUTF-7 makes
	 * longer than the UTF-8 one. */
	if (name.len + 1 > FOLDER_MAX_NAME) {
		err_set(e, ERR_PERM, "folder name too long");
		goto out;
	}
	if (buf_fmt(out, outsz, "%s/.%s", root, name.data) == -1) {
		err_set(e, ERR_PERM, "path too long");
		goto out;
	}
	ret = 0;
out:
	buf_free(&name);
	return ret;
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
maildir_exists(const char *path)
{
	static const char *const sub[] = { "cur", "new", "tmp" };
	char p[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof sub / sizeof sub[0]; i++)
		if (buf_fmt(p, sizeof p, "%s/%s", path, sub[i]) == -1 ||
		    !is_dir(p))
			return 0;
	return 1;
}

/* mkdir that accepts a directory someone else made first. */
static int
mkdir_ok(const char *path, struct err *e)
{
	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno == EEXIST && is_dir(path))
		return 0;
	return err_sys(e, errno, "mkdir %s", path);
}

int
maildir_fsync_dir(const char *path, struct err *e)
{
	int fd, ret = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY)) == -1)
		return err_sys(e, errno, "open %s", path);
	/* EINVAL: the file system cannot sync directories; nothing to do. */
	if (fsync(fd) == -1 && errno != EINVAL)
		ret = err_sys(e, errno, "fsync %s", path);
	(void)close(fd);
	return ret;
}

/* The directory holding path ("." when none), into parent. */
static int
parent_dir(const char *path, char *parent, size_t size)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	while (n > 0 && path[n - 1] != '/')
		n--;
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0)
		return buf_fmt(parent, size, ".");
	return buf_fmt(parent, size, "%.*s", (int)n, path);
}

/*
 * Create path as a Maildir. cur/ comes last and marks completion:
 * maildir_exists() says yes only once everything before it is done, so a
 * delivery that failed half-way (and exits 75) redoes all of it on the
 * retry, the maildirfolder file and the subscription included.
 */
static int
make_maildir(const char *path, int is_folder, const char *subs_root,
    const char *subs_name, char sep, struct err *e)
{
	char p[PATH_MAX];
	int fd;

	if (mkdir_ok(path, e) == -1)
		return -1;
	if (buf_fmt(p, sizeof p, "%s/tmp", path) == -1)
		return err_set(e, ERR_PERM, "path too long: %s", path);
	if (mkdir_ok(p, e) == -1)
		return -1;
	(void)snprintf(p, sizeof p, "%s/new", path);
	if (mkdir_ok(p, e) == -1)
		return -1;
	if (is_folder) {
		/* Maildir++: marks a folder for deliver agents (Courier's
		 * maildrop, Dovecot's quota code) that look for it. */
		if (buf_fmt(p, sizeof p, "%s/maildirfolder", path) == -1)
			return err_set(e, ERR_PERM, "path too long: %s", path);
		fd = open(p, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd == -1)
			return err_sys(e, errno, "create %s", p);
		(void)close(fd);
	}
	if (subs_name != NULL &&
	    maildir_subscribe(subs_root, subs_name, sep, e) == -1)
		return -1;
	(void)snprintf(p, sizeof p, "%s/cur", path);
	if (mkdir_ok(p, e) == -1)
		return -1;
	if (maildir_fsync_dir(path, e) == -1)
		return -1;
	if (parent_dir(path, p, sizeof p) == -1)
		return err_set(e, ERR_PERM, "path too long: %s", path);
	return maildir_fsync_dir(p, e);
}

int
maildir_make(const char *path, int is_folder, struct err *e)
{
	return make_maildir(path, is_folder, NULL, NULL, '.', e);
}

int
maildir_make_folder(const char *root, const char *path, const char *name,
    char sep, int subscribe, struct err *e)
{
	return make_maildir(path, 1, root, subscribe ? name : NULL, sep, e);
}

int
maildir_write_file(const char *tmp, const char *path, const void *p,
    size_t len, struct err *e)
{
	int fd, ret = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return err_sys(e, errno, "create %s", tmp);
	if (write_all(fd, p, len) == -1 || fsync(fd) == -1)
		err_sys(e, errno, "write %s", tmp);
	else if (close(fd) == -1)
		err_sys(e, errno, "close %s", tmp);
	else if (fd = -1, rename(tmp, path) == -1)
		err_sys(e, errno, "rename %s", tmp);
	else
		ret = 0;
	if (fd != -1)
		(void)close(fd);
	if (ret == -1)
		(void)unlink(tmp);
	return ret;
}

/* ---- subscriptions ---- */

/*
 * Take root/subscriptions.lock, the same dotlock Dovecot takes
 * (file_dotlock_open on "subscriptions"), so we also exclude IMAP
 * clients. A lock not modified for SUBS_LOCK_STALE seconds is removed.
 * Returns the lock's fd (its inode identifies our lock), or -1.
 */
static int
subs_lock(const char *lock, struct err *e)
{
	time_t deadline = time(NULL) + SUBS_LOCK_TIMEOUT;
	struct timespec ts;
	struct stat st;
	int fd;

	for (;;) {
		fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd != -1)
			return fd;
		if (errno != EEXIST)
			return err_sys(e, errno, "create %s", lock);
		if (lstat(lock, &st) == 0 &&
		    time(NULL) - st.st_mtime > SUBS_LOCK_STALE) {
			/* Known weakness: two waiters may both judge the same
			 * lock stale and one may remove the other's fresh
			 * lock in between. Both still rename whole files, so
			 * the worst case is a lost entry, not a torn file. */
			(void)unlink(lock);
			continue;
		}
		if (time(NULL) >= deadline)
			return err_set(e, ERR_TEMP, "timeout locking %s", lock);
		ts.tv_sec = 0;
		ts.tv_nsec = 5000000 + (long)(getpid() % 10) * 1000000;
		(void)nanosleep(&ts, NULL);
	}
}

/* Remove our lock, unless a stale-lock breaker replaced it meanwhile. */
static void
subs_unlock(const char *lock, int fd)
{
	struct stat mine, now;

	if (fstat(fd, &mine) == 0 && lstat(lock, &now) == 0 &&
	    mine.st_dev == now.st_dev && mine.st_ino == now.st_ino)
		(void)unlink(lock);
	(void)close(fd);
}

/* Read all of path into b; a missing file leaves b empty (0 or -1). */
static int
read_file(const char *path, struct buf *b, int *exists, struct err *e)
{
	char chunk[8192];
	ssize_t n;
	int fd, ret = -1;

	*exists = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		return err_sys(e, errno, "open %s", path);
	}
	*exists = 1;
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_sys(e, errno, "read %s", path);
			goto out;
		}
		if (n == 0)
			break;
		if (b->len + (size_t)n > SUBS_MAX_BYTES) {
			err_set(e, ERR_TEMP, "%s is too big to rewrite", path);
			goto out;
		}
		buf_add(b, chunk, (size_t)n);
	}
	ret = 0;
out:
	(void)close(fd);
	return ret;
}

/* Is line (exactly, without its '\n') one of the lines of data? */
static int
has_line(const char *data, size_t len, const char *line)
{
	size_t ll = strlen(line), i = 0, n;
	const char *nl;

	while (i < len) {
		nl = memchr(data + i, '\n', len - i);
		n = nl ? (size_t)(nl - (data + i)) : len - i;
		if (n == ll && memcmp(data + i, line, n) == 0)
			return 1;
		i += n + 1;
	}
	return 0;
}

/*
 * Dovecot 2.3 subscriptions (subscription-file.c, checked with doveadm
 * 2.3.19): a new file starts "V\t2\n\n", then one mailbox per line with
 * the hierarchy levels (modified UTF-7) separated by TAB: "Foo\tBar".
 * An existing file without that header is the old format, one name per
 * line with the namespace separator ("Foo.Bar"); Dovecot keeps such a
 * file in the old format, and so do we. INBOX is written "INBOX".
 * TAB-escaping (\001 sequences) is never needed: names with control
 * bytes are refused.
 */
int
maildir_subscribe(const char *root, const char *folder, char sep,
    struct err *e)
{
	char path[PATH_MAX], lock[PATH_MAX], tmp[PATH_MAX];
	struct buf old = BUF_INIT, name = BUF_INIT;
	int lockfd = -1, exists, v2, ret = -1;

	if (is_inbox(folder))
		buf_adds(&name, "INBOX");
	if (buf_fmt(path, sizeof path, "%s/subscriptions", root) == -1 ||
	    buf_fmt(lock, sizeof lock, "%s.lock", path) == -1 ||
	    buf_fmt(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) == -1) {
		err_set(e, ERR_PERM, "path too long: %s", root);
		goto out;
	}
	if ((lockfd = subs_lock(lock, e)) == -1)
		goto out;
	if (read_file(path, &old, &exists, e) == -1)
		goto out;
	v2 = !exists || (old.len >= sizeof subs_v2_header - 1 &&
	    memcmp(old.data, subs_v2_header, sizeof subs_v2_header - 1) == 0);
	if (name.len == 0 && encode_levels(folder, sep, v2 ? '\t' : sep,
	    &name, e) == -1)
		goto out;
	if (exists && has_line(old.data, old.len, name.data)) {
		ret = 0;
		goto out;
	}
	if (!exists)
		buf_adds(&old, subs_v2_header);
	else if (old.len > 0 && old.data[old.len - 1] != '\n')
		buf_addc(&old, '\n');
	buf_add(&old, name.data, name.len);
	buf_addc(&old, '\n');

	/* Only we write tmp while holding the lock; a leftover from a
	 * crashed process with our pid is ours to replace. */
	(void)unlink(tmp);
	if (maildir_write_file(tmp, path, old.data, old.len, e) == -1)
		goto out;
	if (maildir_fsync_dir(root, e) == -1)
		goto out;
	ret = 0;
out:
	if (lockfd != -1)
		subs_unlock(lock, lockfd);
	buf_free(&old);
	buf_free(&name);
	return ret;
}

/*
 * dovecot-keywords (Dovecot's maildir-keywords.c): lines "N keyword",
 * where N 0..25 is the letter 'a'+N used in the file name's ":2,"
 * info. We only read it; Dovecot owns it (DESIGN.md).
 */
int
maildir_keyword_letter(const char *folder_path, const char *keyword)
{
	char path[PATH_MAX];
	char *line = NULL, *end;
	size_t cap = 0, klen = strlen(keyword);
	ssize_t n;
	long idx;
	int letter = 0;
	FILE *f;

	if (klen == 0 ||
	    buf_fmt(path, sizeof path, "%s/dovecot-keywords", folder_path) == -1)
		return 0;
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while ((n = getline(&line, &cap, f)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (line[0] < '0' || line[0] > '9')
			continue;
		errno = 0;
		idx = strtol(line, &end, 10);
		if (errno != 0 || *end != ' ' || idx < 0 || idx > 25)
			continue;
		if (strcmp(end + 1, keyword) == 0) {
			letter = 'a' + (int)idx;
			break;
		}
	}
	free(line);
	(void)fclose(f);
	return letter;
}
