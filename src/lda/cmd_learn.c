/*
 * cmd_learn.c - sluice learn: train the Bayes store.
 *
 *	sluice learn --spam|--ham|--forget [-c conf] [--store SPEC] [-q]
 *	    FILE|MBOX|MAILDIR...
 *
 * A FILE is one message ("From " line optional); a file whose first line
 * is a "From " line and that holds more of them is an mbox (split at
 * "From " lines that follow an empty line or start the file; ">From "
 * is unquoted as mboxrd does); a directory with cur/ or new/ is a
 * Maildir (both read, dot files skipped); any other directory: every
 * regular file in it, in name order. Learning is idempotent (bayes.c):
 * a message already learned the same way counts as "already".
 *
 * Prints "learned N, already M, failed K (of T messages)". Exit status
 * (DESIGN.md): 0, 64 bad usage, 66 an input could not be read (the
 * rest was still learned), 75 the store failed (stops at once: what was
 * learned before stays, the failing message is not half counted), 78
 * bad configuration.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "lib/conf.h"
#include "msg/msg.h"
#include "score/score.h"
#include "store/store.h"
#include "lda.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONF SYSCONFDIR "/sluice/sluice.conf"

#define LEARN_MAX_MSG		(64L * 1024 * 1024)	/* bytes of one message */
#define LEARN_MAX_DIR_ENTRIES	(1L << 22)		/* files per directory */
/* Messages per store write (bayes_set_group): one LMDB commit (fsync)
 * or Redis transaction per group instead of per message. A failed
 * write loses only its group, never part of a message. */
#define LEARN_GROUP		500

int cmd_learn(int argc, char **argv);

struct learn {
	struct bayes *b;
	int spam, forget, quiet;
	unsigned long learned, already, failed, total;
	unsigned long queued;	/* learned, not yet written */
	int store_failed;	/* stop: the store is down */
	struct err err;		/* the store's error */
};

/* Write the queued group; its messages count as learned or failed. */
static void
learn_flush(struct learn *l)
{
	if (l->queued == 0)
		return;
	if (bayes_flush(l->b, NULL, &l->err) == -1) {
		fprintf(stderr, "sluice learn: %s (%lu messages not learned)\n",
		    l->err.msg, l->queued);
		l->failed += l->queued;
		l->store_failed = 1;
	} else
		l->learned += l->queued;
	l->queued = 0;
}

/* One message in memory: LF line ends, no "From " line. */
static void
learn_one(struct learn *l, const char *p, size_t len, const char *where)
{
	struct buf lf = BUF_INIT;
	struct score_msg *sm;
	struct msg *m;
	size_t i;
	int rc;

	if (l->store_failed)
		return;
	l->total++;
	if (len >= 5 && memcmp(p, "From ", 5) == 0) {
		const char *nl = memchr(p, '\n', len);

		len = nl ? len - (size_t)(nl + 1 - p) : 0;
		p = nl ? nl + 1 : p + len;
	}
	if (memchr(p, '\r', len) != NULL) {
		/* CRLF stored as LF, as msg_spool does */
		buf_reserve(&lf, len);
		for (i = 0; i < len; i++)
			if (!(p[i] == '\r' && i + 1 < len && p[i + 1] == '\n'))
				buf_addc(&lf, p[i]);
		p = lf.data;
		len = lf.len;
	}
	m = msg_new();
	msg_parse_header(m, p, len);
	m->data = p;
	m->len = len;
	m->size = (off_t)len;
	sm = score_msg_new(m, NULL);
	rc = bayes_learn(l->b, sm, l->spam, l->forget, &l->err);
	score_msg_free(&sm);
	msg_free(&m);
	buf_free(&lf);
	if (rc == 1 && ++l->queued >= LEARN_GROUP)
		learn_flush(l);
	else if (rc == 0)
		l->already++;
	else if (rc == -1) {
		fprintf(stderr, "sluice learn: %s: %s\n", where, l->err.msg);
		l->failed += l->queued + 1;
		l->queued = 0;
		l->store_failed = 1;
	}
}

/* mboxrd: ">From ", ">>From "... lose one '>' */
static void
unquote_from(struct buf *out, const char *p, size_t len)
{
	size_t i = 0, j;

	buf_reset(out);
	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - p) + 1 : len;

		for (j = i; j < end && p[j] == '>'; j++)
			;
		if (j > i && end - j >= 5 && memcmp(p + j, "From ", 5) == 0)
			i++;
		buf_add(out, p + i, end - i);
		i = end;
	}
}

/* An mbox: messages start at "From " lines at the start or after an
 * empty line. */
static void
learn_mbox(struct learn *l, const char *p, size_t len, const char *path)
{
	struct buf one = BUF_INIT;
	char where[PATH_MAX + 32];
	size_t start = 0, i = 0, n = 0, end;

	while (start < len && !l->store_failed) {
		/* the next "\n\nFrom " after start */
		end = len;
		for (i = start + 5; i + 6 < len; i++) {
			const char *q = memchr(p + i, '\n', len - i);

			if (q == NULL)
				break;
			i = (size_t)(q - p);
			if (i + 6 < len && p[i + 1] == 'F' &&
			    memcmp(p + i + 1, "From ", 5) == 0 && i > 0 &&
			    p[i - 1] == '\n') {
				end = i + 1;
				break;
			}
		}
		n++;
		(void)buf_fmt(where, sizeof where, "%s: message %zu", path, n);
		unquote_from(&one, p + start, end - start);
		learn_one(l, one.data ? one.data : "", one.len, where);
		start = end;
	}
	buf_free(&one);
}

/* 0, or -1 when the file could not be read (counted, reported). */
static int
learn_file(struct learn *l, const char *path, int maybe_mbox)
{
	struct stat st;
	void *map = NULL;
	int fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		fprintf(stderr, "sluice learn: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (st.st_size == 0) {
		ret = 0;
		goto out;
	}
	if ((map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd,
	    0)) == MAP_FAILED) {
		map = NULL;
		fprintf(stderr, "sluice learn: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (maybe_mbox && st.st_size >= 5 && memcmp(map, "From ", 5) == 0)
		learn_mbox(l, map, (size_t)st.st_size, path);
	else if (st.st_size > LEARN_MAX_MSG)
		fprintf(stderr, "sluice learn: %s: over %ld bytes, skipped\n",
		    path, LEARN_MAX_MSG);
	else
		learn_one(l, map, (size_t)st.st_size, path);
	ret = 0;
out:
	if (map != NULL)
		(void)munmap(map, (size_t)st.st_size);
	if (fd != -1)
		close(fd);
	return ret;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files of dir (dot files skipped), in name order. */
static int
learn_dir_files(struct learn *l, const char *dir, int maybe_mbox)
{
	char path[PATH_MAX], **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "sluice learn: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL && n < (size_t)LEARN_MAX_DIR_ENTRIES) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			names = xreallocarray(names, cap, sizeof *names);
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof *names, cmp_name);
	for (i = 0; i < n; i++) {
		struct stat st;

		if (!l->store_failed &&
		    buf_fmt(path, sizeof path, "%s/%s", dir, names[i]) == 0 &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    learn_file(l, path, maybe_mbox) == -1)
			ret = -1;
		free(names[i]);
	}
	free(names);
	return ret;
}

static int
learn_path(struct learn *l, const char *path)
{
	char sub[PATH_MAX];
	struct stat st;
	int ret = 0, maildir = 0;
	const char *const subs[] = { "cur", "new" };
	size_t i;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "sluice learn: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return learn_file(l, path, 1);
	for (i = 0; i < 2; i++) {
		if (buf_fmt(sub, sizeof sub, "%s/%s", path, subs[i]) == 0 &&
		    stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
			maildir = 1;
			if (learn_dir_files(l, sub, 0) == -1)
				ret = -1;
		}
	}
	if (!maildir)
		ret = learn_dir_files(l, path, 1);
	return ret;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: sluice learn --spam|--ham|--forget [-c conf] "
	    "[--store SPEC] [-q] FILE|MBOX|MAILDIR...\n");
}

int
cmd_learn(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "spam", no_argument, NULL, 's' },
		{ "ham", no_argument, NULL, 'n' },
		{ "forget", no_argument, NULL, 'f' },
		{ "store", required_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct bayes_conf bc = { .min_spam = 200, .min_ham = 200 };
	const char *cpath = NULL, *spec = NULL, *home = getenv("HOME");
	struct learn l;
	struct conf conf;
	struct store *s = NULL;
	struct err e;
	int c, mode = 0, i, ret = EX_OK, unread = 0;

	memset(&l, 0, sizeof l);
	conf_init(&conf);
	while ((c = getopt_long(argc, argv, "+c:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': case 'n': case 'f':
			if (mode != 0 && mode != c) {
				fprintf(stderr, "sluice learn: one of --spam, "
				    "--ham, --forget\n");
				ret = EX_USAGE;
				goto out;
			}
			mode = c;
			break;
		case 'c':
			cpath = optarg;
			break;
		case 'S':
			spec = optarg;
			break;
		case 'q':
			l.quiet = 1;
			break;
		case 'h':
			usage(stdout);
			goto out;
		default:
			usage(stderr);
			ret = EX_USAGE;
			goto out;
		}
	}
	if (mode == 0 || optind >= argc) {
		usage(stderr);
		ret = EX_USAGE;
		goto out;
	}
	if (conf_load(&conf, cpath ? cpath : DEFAULT_CONF, cpath != NULL,
	    &e) == -1) {
		fprintf(stderr, "sluice learn: %s\n", e.msg);
		ret = err_exit_code(&e);
		goto out;
	}
	if (spec == NULL)
		spec = conf.store;
	if ((s = store_open(spec, home, &e)) == NULL) {
		fprintf(stderr, "sluice learn: %s\n", e.msg);
		ret = err_exit_code(&e);
		goto out;
	}
	l.b = bayes_new(s, &bc);
	bayes_set_group(l.b, LEARN_GROUP + 1);
	l.spam = mode == 's';
	l.forget = mode == 'f';
	for (i = optind; i < argc && !l.store_failed; i++)
		if (learn_path(&l, argv[i]) == -1)
			unread = 1;
	if (!l.store_failed)
		learn_flush(&l);
	if (!l.quiet || l.store_failed)
		printf("%s %lu, already %lu, failed %lu (of %lu messages)\n",
		    l.forget ? "forgot" : "learned", l.learned, l.already,
		    l.failed, l.total);
	if (l.store_failed)
		ret = err_exit_code(&l.err);
	else if (unread)
		ret = EX_NOINPUT;
out:
	bayes_free(&l.b);
	store_close(&s);
	conf_free(&conf);
	return ret;
}
