/*
 * test-maildir.c - Maildir++ primitives: unique names, folder paths,
 * modified UTF-7, folder creation, subscriptions (Dovecot 2.3 format),
 * dovecot-keywords and Maildir++ quota.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver/deliver.h"
#include "lib/limits.h"
#include "tap.h"

static char scratch[PATH_MAX];

static void
write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1 || write_all(fd, data, strlen(data)) == -1) {
		perror(path);
		exit(2);
	}
	close(fd);
}

/* Whole file as a malloc'd string, or NULL when missing. */
static char *
slurp(const char *path)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd == -1)
		return NULL;
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		buf_add(&b, chunk, (size_t)n);
	close(fd);
	if (b.data == NULL)
		buf_add(&b, "", 0);
	return buf_steal(&b);
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void
rm_rf(const char *path)
{
	char cmd[PATH_MAX + 16];

	if (buf_fmt(cmd, sizeof cmd, "rm -rf '%s'", path) == 0 &&
	    system(cmd) != 0)
		diag("cleanup of %s failed", path);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_unique(void)
{
	enum { N = 10000 };
	char name[256], tail[256];
	char **v;
	long long t;
	long usec, pid;
	unsigned long q;
	size_t i, dups = 0;
	int n;

	ok(maildir_unique(name, sizeof name, "mx.example.org") == 0,
	    "unique: plain host");
	/* The first name of a process has DESIGN.md's plain form. */
	n = sscanf(name, "%lld.M%ldP%ld.%255s", &t, &usec, &pid, tail);
	ok(n == 4 && pid == (long)getpid() && usec >= 0 && usec < 1000000 &&
	    t > 1000000000, "unique: first name TIME.MusecPpid.HOST (%s)", name);
	is_str(tail, "mx.example.org", "unique: host part");
	ok(maildir_unique(name, sizeof name, "mx.example.org") == 0,
	    "unique: second name");
	n = sscanf(name, "%lld.M%ldP%ldQ%lu.%255s", &t, &usec, &pid, &q, tail);
	ok(n == 5 && q == 2, "unique: later names add Qn (%s)", name);

	ok(maildir_unique(name, sizeof name, "a/b:c") == 0, "unique: odd host");
	is_str(strchr(name, '.') ? strchr(strchr(name, '.') + 1, '.') + 1 : "",
	    "a\\057b\\072c", "unique: '/' and ':' escaped as Dovecot does");
	ok(maildir_unique(name, 10, "host") == -1 && errno == ENAMETOOLONG,
	    "unique: too small a buffer is refused");
	ok(maildir_unique(name, sizeof name, NULL) == 0 &&
	    name[strlen(name) - 1] != '.', "unique: NULL host uses gethostname");

	v = calloc(N, sizeof *v);
	for (i = 0; i < N; i++) {
		if (maildir_unique(name, sizeof name, "h") == -1)
			break;
		v[i] = strdup(name);
	}
	is_int((long long)i, N, "unique: %d names made", N);
	qsort(v, i, sizeof *v, cmp_str);
	for (size_t j = 1; j < i; j++)
		if (strcmp(v[j - 1], v[j]) == 0)
			dups++;
	is_int((long long)dups, 0, "unique: no duplicates in %d names", N);
	for (size_t j = 0; j < i; j++)
		free(v[j]);
	free(v);
}

static const struct {
	const char *folder;
	char sep;
	const char *want;	/* path below root ("" = root), NULL = refused */
} folder_rows[] = {
	{ "INBOX", '.', "" },
	{ "inbox", '.', "" },
	{ "InBoX", '/', "" },
	{ "", '.', "" },
	{ "Lists.exmh", '.', "/.Lists.exmh" },
	{ "Lists", '.', "/.Lists" },
	{ "Entw\xc3\xbcrfe", '.', "/.Entw&APw-rfe" },
	{ "&", '.', "/.&-" },
	{ "a&b", '.', "/.a&-b" },
	{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", '.', "/.&ZeVnLIqe-" },
	{ "a/b", '/', "/.a.b" },
	{ "INBOX.foo", '.', "/.INBOX.foo" },
	{ "inbox.bar", '.', "/.INBOX.bar" },	/* as Dovecot 2.3.19 */
	{ "Inbox/Zed", '/', "/.INBOX.Zed" },
	{ "Foo.inbox", '.', "/.Foo.inbox" },
	{ "x~y", '.', "/.x~y" },
	{ "a b", '.', "/.a b" },
	/* refused */
	{ ".", '.', NULL },
	{ "..", '.', NULL },
	{ "a..b", '.', NULL },
	{ ".a", '.', NULL },
	{ "a.", '.', "/.a" },		/* as Dovecot: trailing separator */
	{ "a/", '/', "/.a" },
	{ "~x", '.', NULL },		/* Dovecot: "Begins with '~'" */
	{ "~", '.', NULL },
	{ "Foo.~bar", '.', "/.Foo.~bar" },
	{ "a/b", '.', NULL },
	{ "a.b", '/', NULL },
	{ "/a", '/', NULL },
	{ "a//b", '/', NULL },
	{ "a\tb", '.', NULL },
	{ "a\nb", '.', NULL },
	{ "a\x7f", '.', NULL },
	{ "\xff", '.', NULL },
	{ "ab\xc3", '.', NULL },
	{ "\xc0\xaf", '.', NULL },
	{ "\xed\xa0\x80", '.', NULL },
};

static void
test_folder_path(void)
{
	char path[PATH_MAX], want[PATH_MAX], longname[FOLDER_MAX_NAME + 2];
	struct buf deep = BUF_INIT, wide = BUF_INIT;
	struct err e;
	size_t i;
	int r;

	for (i = 0; i < sizeof folder_rows / sizeof folder_rows[0]; i++) {
		err_clear(&e);
		path[0] = '\0';
		r = maildir_folder_path("/m", folder_rows[i].folder,
		    folder_rows[i].sep, path, sizeof path, &e);
		if (folder_rows[i].want == NULL) {
			ok(r == -1 && e.cls == ERR_PERM,
			    "folder row %zu: refused (got %d, class %d, %s)",
			    i, r, (int)e.cls, path);
			continue;
		}
		xfmt(want, sizeof want, "/m%s", folder_rows[i].want);
		if (!is_str(r == 0 ? path : e.msg, want, "folder row %zu", i))
			diag("row %zu: ret %d", i, r);
	}
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	err_clear(&e);
	r = maildir_folder_path("/m", longname, '.', path, sizeof path, &e);
	ok(r == -1 && e.cls == ERR_PERM, "folder: %zu bytes is too long",
	    strlen(longname));
	for (i = 0; i < 100; i++)
		buf_adds(&wide, "\xc3\xbc");	/* 200 bytes, 270 encoded */
	err_clear(&e);
	r = maildir_folder_path("/m", wide.data, '.', path, sizeof path, &e);
	ok(r == -1 && e.cls == ERR_PERM, "folder: too long once encoded");
	for (i = 0; i < FOLDER_MAX_DEPTH; i++)
		buf_adds(&deep, i ? ".a" : "a");
	r = maildir_folder_path("/m", deep.data, '.', path, sizeof path, &e);
	ok(r == 0, "folder: %d levels is fine", FOLDER_MAX_DEPTH);
	buf_adds(&deep, ".a");
	err_clear(&e);
	r = maildir_folder_path("/m", deep.data, '.', path, sizeof path, &e);
	ok(r == -1 && e.cls == ERR_PERM, "folder: %d levels is too deep",
	    FOLDER_MAX_DEPTH + 1);
	err_clear(&e);
	r = maildir_folder_path("/m", "Lists", '.', path, 8, &e);
	ok(r == -1 && e.cls == ERR_PERM, "folder: small output refused");
	buf_free(&deep);
	buf_free(&wide);
}

static const struct {
	const char *utf8;
	const char *mutf7;
} mutf7_rows[] = {
	{ "", "" },
	{ "abc", "abc" },
	{ "&", "&-" },
	{ "a&&b", "a&-&-b" },
	{ "~peter/mail", "~peter/mail" },
	{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
	{ "\xe5\x8f\xb0\xe5\x8c\x97", "&U,BTFw-" },	/* RFC 3501 example */
	{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-" },
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },		/* U+1F600: pair */
	{ "a\xf0\x9f\x98\x80" "b\xf4\x8f\xbf\xbf", "a&2D3eAA-b&2,,f,w-" },
	{ "\xc3\xbc&\xc3\xbc", "&APw-&-&APw-" },
	{ "\t", "&AAk-" },
};

static const char *const mutf7_bad_utf8[] = {
	"\xff", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
	"\xf4\x90\x80\x80", "a\x80", "\xf8\x88\x80\x80\x80",
};

static const char *const mutf7_bad[] = {
	"&", "&AGE", "&AGE-", "&2D0-", "&3gA-", "&APx-", "&Jjo!-",
	"\x01", "\xc3\xbc", "&-&", "&APw", "&&", "&2D3eAA",
};

static void
test_mutf7(void)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof mutf7_rows / sizeof mutf7_rows[0]; i++) {
		buf_reset(&b);
		ok(mutf7_encode(&b, mutf7_rows[i].utf8,
		    strlen(mutf7_rows[i].utf8)) == 0, "mutf7 row %zu: encodes", i);
		is_str(b.data, mutf7_rows[i].mutf7, "mutf7 row %zu: encode", i);
		buf_reset(&b);
		ok(mutf7_decode(&b, mutf7_rows[i].mutf7,
		    strlen(mutf7_rows[i].mutf7)) == 0, "mutf7 row %zu: decodes", i);
		is_str(b.data, mutf7_rows[i].utf8, "mutf7 row %zu: round trip", i);
	}
	for (i = 0; i < sizeof mutf7_bad_utf8 / sizeof mutf7_bad_utf8[0]; i++) {
		buf_reset(&b);
		is_int(mutf7_encode(&b, mutf7_bad_utf8[i],
		    strlen(mutf7_bad_utf8[i])), -1, "mutf7 bad UTF-8 row %zu", i);
	}
	for (i = 0; i < sizeof mutf7_bad / sizeof mutf7_bad[0]; i++) {
		buf_reset(&b);
		if (!is_int(mutf7_decode(&b, mutf7_bad[i], strlen(mutf7_bad[i])),
		    -1, "mutf7 bad input row %zu", i))
			diag("row %zu: input \"%s\" decoded to \"%s\"", i,
			    mutf7_bad[i], b.data ? b.data : "");
	}
	buf_free(&b);
}

static void
test_make(void)
{
	char root[PATH_MAX], p[PATH_MAX];
	struct stat st;
	struct err e;
	const char *sub[] = { "tmp", "new", "cur" };
	size_t i;

	xfmt(root, sizeof root, "%s/make", scratch);
	ok(!maildir_exists(root), "make: no Maildir yet");
	ok(maildir_make(root, 0, &e) == 0, "make: root");
	ok(maildir_exists(root), "make: root exists afterwards");
	xfmt(p, sizeof p, "%s/maildirfolder", root);
	ok(!exists(p), "make: no maildirfolder in the root");
	ok(stat(root, &st) == 0 && (st.st_mode & 0777) == 0700,
	    "make: mode 0700");
	xfmt(p, sizeof p, "%s/.Lists.exmh", root);
	ok(maildir_make(p, 1, &e) == 0, "make: folder");
	for (i = 0; i < 3; i++) {
		char q[PATH_MAX];

		xfmt(q, sizeof q, "%s/%s", p, sub[i]);
		ok(stat(q, &st) == 0 && S_ISDIR(st.st_mode) &&
		    (st.st_mode & 0777) == 0700, "make: folder %s/", sub[i]);
	}
	xfmt(p, sizeof p, "%s/.Lists.exmh/maildirfolder", root);
	ok(stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0,
	    "make: folder has an empty maildirfolder");
	xfmt(p, sizeof p, "%s/.Lists", root);
	ok(!exists(p), "make: no parent folder is created (Maildir++ is flat)");
	xfmt(p, sizeof p, "%s/.Lists.exmh", root);
	ok(maildir_make(p, 1, &e) == 0 && maildir_make(root, 0, &e) == 0,
	    "make: idempotent");
	xfmt(p, sizeof p, "%s/missing/deeper", root);
	err_clear(&e);
	ok(maildir_make(p, 1, &e) == -1 && e.cls == ERR_TEMP,
	    "make: mkdir failure is ERR_TEMP (%s)", e.msg);
	xfmt(p, sizeof p, "%s/file", root);
	write_file(p, "x");
	err_clear(&e);
	ok(maildir_make(p, 1, &e) == -1 && e.cls == ERR_TEMP,
	    "make: a file in the way is an error (%s)", e.msg);
}

static void
test_subscribe(void)
{
	char root[PATH_MAX], subs[PATH_MAX], lock[PATH_MAX];
	struct timeval old[2];
	struct err e;
	char *got;
	int i, status, all;

	xfmt(root, sizeof root, "%s/subs", scratch);
	xfmt(subs, sizeof subs, "%s/subscriptions", root);
	xfmt(lock, sizeof lock, "%s.lock", subs);
	maildir_make(root, 0, &e);

	/* Expected bytes as doveadm 2.3.19 wrote them. */
	ok(maildir_subscribe(root, "Foo.Bar", '.', &e) == 0, "subs: first");
	got = slurp(subs);
	is_str(got, "V\t2\n\nFoo\tBar\n", "subs: new file in V2 format");
	free(got);
	ok(maildir_subscribe(root, "Foo.Bar", '.', &e) == 0 &&
	    maildir_subscribe(root, "Entw\xc3\xbcrfe", '.', &e) == 0 &&
	    maildir_subscribe(root, "inbox", '.', &e) == 0 &&
	    maildir_subscribe(root, "a&b", '.', &e) == 0 &&
	    maildir_subscribe(root, "Inbox.foo", '.', &e) == 0 &&
	    maildir_subscribe(root, "x/y", '/', &e) == 0 &&
	    maildir_subscribe(root, "Entw\xc3\xbcrfe", '.', &e) == 0,
	    "subs: more");
	got = slurp(subs);
	is_str(got, "V\t2\n\nFoo\tBar\nEntw&APw-rfe\nINBOX\na&-b\nINBOX\tfoo\n"
	    "x\ty\n", "subs: added once each, in order, as Dovecot writes");
	free(got);
	ok(!exists(lock), "subs: lock removed");
	err_clear(&e);
	ok(maildir_subscribe(root, "a..b", '.', &e) == -1 && e.cls == ERR_PERM,
	    "subs: bad name refused");

	/* Old format (no header): kept, entries with the separator. */
	write_file(subs, "Old.One\nTwo");
	ok(maildir_subscribe(root, "Baz.Qux", '.', &e) == 0 &&
	    maildir_subscribe(root, "Two", '.', &e) == 0 &&
	    maildir_subscribe(root, "\xc3\x9cn", '.', &e) == 0, "subs: old file");
	got = slurp(subs);
	is_str(got, "Old.One\nTwo\nBaz.Qux\n&ANw-n\n",
	    "subs: old format kept as Dovecot does");
	free(got);
	ok(maildir_subscribe(root, "Old.One", '.', &e) == 0, "subs: old dup");
	got = slurp(subs);
	is_str(got, "Old.One\nTwo\nBaz.Qux\n&ANw-n\n", "subs: old dup not added");
	free(got);

	/* A stale lock (older than Dovecot's 30 s) is broken. */
	unlink(subs);
	write_file(lock, "");
	gettimeofday(&old[0], NULL);
	old[0].tv_sec -= 3600;
	old[1] = old[0];
	utimes(lock, old);
	err_clear(&e);
	ok(maildir_subscribe(root, "Stale", '.', &e) == 0,
	    "subs: stale lock broken (%s)", e.msg);
	got = slurp(subs);
	is_str(got, "V\t2\n\nStale\n", "subs: after a stale lock");
	free(got);
	ok(!exists(lock), "subs: lock gone");

	/* 8 writers, 20 folders each: nobody's entry may be lost. */
	unlink(subs);
	for (i = 0; i < 8; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			char f[64];
			int j, bad = 0;

			for (j = 0; j < 20; j++) {
				xfmt(f, sizeof f, "C%d.F%d", i, j);
				if (maildir_subscribe(root, f, '.', &e) == -1)
					bad = 1;
			}
			_exit(bad);
		}
	}
	all = 1;
	for (i = 0; i < 8; i++) {
		if (wait(&status) == -1 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			all = 0;
	}
	ok(all, "subs: 8 concurrent children succeeded");
	got = slurp(subs);
	all = got != NULL && strncmp(got, "V\t2\n\n", 5) == 0 &&
	    strstr(got + 5, "V\t2") == NULL;
	for (i = 0; got != NULL && i < 8 * 20; i++) {
		char line[64];
		const char *hit;

		xfmt(line, sizeof line, "\nC%d\tF%d\n", i / 20, i % 20);
		hit = strstr(got, line);
		if (hit == NULL || strstr(hit + 1, line) != NULL) {
			diag("entry %s missing or doubled", line + 1);
			all = 0;
		}
	}
	ok(all, "subs: all 160 entries present exactly once");
	free(got);
	ok(!exists(lock), "subs: no lock left behind");
}

static void
test_keywords(void)
{
	static const struct {
		const char *kw;
		int want;
	} rows[] = {
		{ "$Junk", 'a' }, { "NonJunk", 'b' }, { "zz", 'z' },
		{ "toobig", 0 }, { "neg", 0 }, { "missing", 0 }, { "", 0 },
		{ "$junk", 0 }, { "bad", 0 }, { "with space", 'd' },
	};
	char dir[PATH_MAX], p[PATH_MAX];
	size_t i;

	xfmt(dir, sizeof dir, "%s/kw", scratch);
	mkdir(dir, 0700);
	ok(maildir_keyword_letter(dir, "$Junk") == 0, "keywords: no file");
	xfmt(p, sizeof p, "%s/dovecot-keywords", dir);
	write_file(p, "0 $Junk\n1 NonJunk\n25 zz\n26 toobig\n-1 neg\n"
	    "x bad\n3 with space\n");
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
		is_int(maildir_keyword_letter(dir, rows[i].kw), rows[i].want,
		    "keywords row %zu (%s)", i, rows[i].kw);
}

/* ---- quota ---- */

/* Real usage of the scratch Maildir built by quota_setup: 350 bytes in
 * 3 messages (two sized by ",S=", one by stat in a folder). */
static void
quota_setup(const char *root, int msgs)
{
	char p[PATH_MAX];
	struct err e;

	maildir_make(root, 0, &e);
	if (!msgs)
		return;
	xfmt(p, sizeof p, "%s/cur/1.M1P1.h,S=100,W=103:2,S", root);
	write_file(p, "");
	xfmt(p, sizeof p, "%s/new/2.M2P2.h,S=200", root);
	write_file(p, "");
	xfmt(p, sizeof p, "%s/tmp/3.M3P3.h,S=5000", root);	/* not counted */
	write_file(p, "");
	xfmt(p, sizeof p, "%s/.F", root);
	maildir_make(p, 1, &e);
	xfmt(p, sizeof p, "%s/.F/new/4.M4P4.h", root);
	write_file(p, "01234567890123456789012345678901234567890123456789");
}

static const struct {
	const char *file;	/* maildirsize, NULL = none */
	int msgs;		/* the 350 bytes / 3 messages exist */
	int age;		/* seconds since maildirsize changed */
	long size;
	int tempfail;
	int want;		/* return value */
	enum err_class cls;
	const char *status;
	const char *after;	/* maildirsize afterwards, NULL = unchanged */
} quota_rows[] = {
	{ NULL, 1, 0, 100, 1, 0, ERR_NONE, "", NULL },
	{ "1000S\n100 1\n", 0, 0, 500, 1, 0, ERR_NONE, "", NULL },
	{ "1000S\n600 1\n", 0, 0, 400, 1, 0, ERR_NONE, "", NULL },
	{ "1000S\n600 1\n", 0, 0, 401, 1, -1, ERR_TEMP, "4.2.2", NULL },
	{ "1000S\n600 1\n", 0, 0, 401, 0, -1, ERR_PERM, "5.2.2", NULL },
	{ "1000S,2C\n100 2\n", 0, 0, 1, 0, -1, ERR_PERM, "5.2.2", NULL },
	{ "1000S,3C\n100 2\n", 0, 0, 1, 0, 0, ERR_NONE, "", NULL },
	{ "2C\n100000 1\n", 0, 0, 1, 0, 0, ERR_NONE, "", NULL },
	{ "5000S\n100000 0\n", 0, 0, 1, 1, -1, ERR_TEMP, "4.2.2", NULL },
	{ "100S,2C\n100 5\n-50 -4\n", 0, 0, 50, 0, 0, ERR_NONE, "", NULL },
	{ "100S,2C\n100 5\n-50 -4\n", 0, 0, 51, 0, -1, ERR_PERM, "5.2.2", NULL },
	{ "  100S  \n", 0, 0, 1, 0, 0, ERR_NONE, "", NULL },	/* bad: open */
	{ "0S,0C\n99999 99\n", 0, 0, 1, 0, 0, ERR_NONE, "", NULL },
	{ "", 0, 0, 1, 0, 0, ERR_NONE, "", NULL },
	/* corrupt usage lines: recalculated from the folders */
	{ "1000S\ngarbage\n", 1, 0, 650, 0, 0, ERR_NONE, "", "1000S\n350 3\n" },
	{ "1000S,10C\n1 x\n", 1, 0, 651, 0, -1, ERR_PERM, "5.2.2",
	    "1000S,10C\n350 3\n" },
	{ "10C,1000S\n12\n", 1, 0, 1, 0, 0, ERR_NONE, "", "1000S,10C\n350 3\n" },
	/* over quota and older than 15 minutes: verified */
	{ "1000S\n5000 10\n", 1, 1200, 500, 1, 0, ERR_NONE, "", "1000S\n350 3\n" },
	{ "1000S\n5000 10\n", 1, 60, 500, 1, -1, ERR_TEMP, "4.2.2", NULL },
	{ "1000S\n5000 10\n", 1, 1200, 700, 1, -1, ERR_TEMP, "4.2.2",
	    "1000S\n350 3\n" },
};

static void
test_quota(void)
{
	char root[PATH_MAX], p[PATH_MAX];
	struct timeval tv[2];
	struct buf many = BUF_INIT;
	struct err e;
	char *got;
	size_t i;
	int r;

	for (i = 0; i < sizeof quota_rows / sizeof quota_rows[0]; i++) {
		xfmt(root, sizeof root, "%s/quota%zu", scratch, i);
		quota_setup(root, quota_rows[i].msgs);
		xfmt(p, sizeof p, "%s/maildirsize", root);
		if (quota_rows[i].file != NULL) {
			write_file(p, quota_rows[i].file);
			gettimeofday(&tv[0], NULL);
			tv[0].tv_sec -= quota_rows[i].age;
			tv[1] = tv[0];
			utimes(p, tv);
		}
		err_clear(&e);
		r = quota_check(root, quota_rows[i].size,
		    quota_rows[i].tempfail, &e);
		is_int(r, quota_rows[i].want, "quota row %zu: return", i);
		if (quota_rows[i].want == -1) {
			is_int(e.cls, quota_rows[i].cls, "quota row %zu: class", i);
			is_str(e.status, quota_rows[i].status,
			    "quota row %zu: status", i);
		}
		got = slurp(p);
		is_str(got, quota_rows[i].after ? quota_rows[i].after :
		    quota_rows[i].file, "quota row %zu: maildirsize after", i);
		free(got);
		rm_rf(root);
	}

	/* Too many lines: recalculated even when under quota. */
	xfmt(root, sizeof root, "%s/quotamany", scratch);
	quota_setup(root, 1);
	buf_adds(&many, "100000S\n");
	for (i = 0; i <= QUOTA_MAX_LINES; i++)
		buf_adds(&many, "1 0\n");
	xfmt(p, sizeof p, "%s/maildirsize", root);
	write_file(p, many.data);
	ok(quota_check(root, 1, 0, &e) == 0, "quota: many lines");
	got = slurp(p);
	is_str(got, "100000S\n350 3\n", "quota: many lines recalculated");
	free(got);
	buf_free(&many);

	/* quota_add appends one line, and only to an existing file. */
	quota_add(root, 123, 1);
	quota_add(root, -23, -1);
	got = slurp(p);
	is_str(got, "100000S\n350 3\n123 1\n-23 -1\n", "quota_add: appended");
	free(got);
	ok(quota_check(root, 1, 0, &e) == 0, "quota: after adds");
	rm_rf(root);
	xfmt(root, sizeof root, "%s/quotanone", scratch);
	quota_setup(root, 0);
	quota_add(root, 123, 1);
	xfmt(p, sizeof p, "%s/maildirsize", root);
	ok(!exists(p), "quota_add: no file, none created");
	rm_rf(root);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	xfmt(scratch, sizeof scratch, "%s/test-maildir.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_unique();
	test_folder_path();
	test_mutf7();
	test_make();
	test_subscribe();
	test_keywords();
	test_quota();
	rm_rf(scratch);
	return tap_done();
}
