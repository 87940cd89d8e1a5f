/*
 * acc-score.c - sluice's side of tests/bench/bench-accuracy.sh: load a
 * rule set once, train Bayes on lists of files, then score a list of
 * files, all in one process (as the milter runs: rules loaded once).
 *
 *   acc-score [-r PATH]... [-s SET] [-b STORE] [-g N]
 *	[--learn-spam LIST] [--learn-ham LIST] [--test LIST]
 *
 * LIST files hold one message file per line. Learning goes through
 * bayes_learn() in groups of N messages (-g, default 500, as `sluice
 * learn` writes). --test prints one line per message:
 *	SCORE<TAB>BAYES<TAB>FILE<TAB>RULE=SCORE,RULE=SCORE...
 * BAYES is the Bayes probability, or -1 when Bayes was not used. The hit
 * list lets the harness re-add scores offline (what-if on a score
 * ladder) without scoring again. SET is the SpamAssassin score set
 * (default 2: Bayes, no network tests). Bayes needs no minimum number
 * of learned messages here: the harness trains on what it has.
 * Timings (CPU, getrusage) go to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../../../src/lib/buf.h"
#include "../../../src/msg/msg.h"
#include "../../../src/score/score.h"
#include "../../../src/store/store.h"

#define ACC_MAX_PATHS	64			/* -r options */
#define ACC_MAX_MSG	(64L * 1024 * 1024)	/* bytes of one message */
#define ACC_LINE_MAX	4096			/* one file name */

static void
usage(void)
{
	fputs("usage: acc-score [-r PATH]... [-s SET] [-b STORE] [-g N] "
	    "[--learn-spam LIST] [--learn-ham LIST] [--test LIST]\n", stderr);
	exit(64);
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* The whole file, CRLF stored as LF and without a leading "From " line,
 * as sluice learn and msg_spool store a message. */
static int
read_msg(const char *path, struct buf *raw, struct buf *out)
{
	char chunk[65536];
	ssize_t n;
	size_t i, skip = 0;
	int fd = open(path, O_RDONLY);

	if (fd == -1)
		return -1;
	buf_reset(raw);
	while ((n = read(fd, chunk, sizeof chunk)) > 0) {
		if (raw->len + (size_t)n > (size_t)ACC_MAX_MSG) {
			errno = EFBIG;
			n = -1;
			break;
		}
		buf_add(raw, chunk, (size_t)n);
	}
	close(fd);
	if (n == -1)
		return -1;
	if (raw->len >= 5 && memcmp(raw->data, "From ", 5) == 0) {
		const char *nl = memchr(raw->data, '\n', raw->len);

		skip = nl != NULL ? (size_t)(nl - raw->data) + 1 : raw->len;
	}
	buf_reset(out);
	buf_reserve(out, raw->len - skip + 1);
	for (i = skip; i < raw->len; i++)
		if (!(raw->data[i] == '\r' && i + 1 < raw->len &&
		    raw->data[i + 1] == '\n'))
			buf_addc(out, raw->data[i]);
	buf_addc(out, '\0');
	out->len--;
	return 0;
}

struct ctx {
	const struct score_rules *r;
	struct bayes *b;
	struct buf raw, data;
};

/* 0 done, -1 a fatal error (printed). mode: 1 spam, 0 ham, 2 test */
static int
one(struct ctx *c, const char *file, int mode)
{
	struct score_result res;
	struct score_msg *sm;
	struct msg *m;
	struct err e;
	size_t i;
	int ret = 0;

	if (read_msg(file, &c->raw, &c->data) == -1) {
		fprintf(stderr, "acc-score: %s: %s\n", file, strerror(errno));
		return 0;
	}
	m = msg_new();
	msg_parse_header(m, c->data.data, c->data.len);
	m->data = c->data.data;
	m->len = c->data.len;
	m->size = (off_t)c->data.len;
	sm = score_msg_new(m, NULL);
	err_clear(&e);
	if (mode != 2) {
		if (bayes_learn(c->b, sm, mode, 0, &e) == -1) {
			fprintf(stderr, "acc-score: learn %s: %s\n", file,
			    e.msg);
			ret = -1;
		}
	} else {
		if (score_run(c->r, sm, c->b, &res, &e) == -1)
			fprintf(stderr, "acc-score: %s: %s\n", file, e.msg);
		printf("%.3f\t%.6f\t%s\t", res.score,
		    res.bayes_used ? res.bayes_prob : -1.0, file);
		for (i = 0; i < res.nhits; i++)
			printf("%s%s=%g", i > 0 ? "," : "", res.hits[i].name,
			    res.hits[i].score);
		putchar('\n');
		score_result_free(&res);
	}
	score_msg_free(&sm);
	msg_free(&m);
	return ret;
}

static int
run_list(struct ctx *c, const char *list, int mode)
{
	char line[ACC_LINE_MAX];
	FILE *fp = fopen(list, "r");
	unsigned long n = 0;
	double t0 = cpu_seconds();
	struct err e;

	if (fp == NULL) {
		fprintf(stderr, "acc-score: %s: %s\n", list, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		size_t l = strlen(line);

		if (l > 0 && line[l - 1] == '\n')
			line[--l] = '\0';
		if (l == 0)
			continue;
		if (one(c, line, mode) == -1) {
			fclose(fp);
			return -1;
		}
		n++;
	}
	fclose(fp);
	if (mode != 2 && bayes_flush(c->b, NULL, &e) == -1) {
		fprintf(stderr, "acc-score: %s\n", e.msg);
		return -1;
	}
	fprintf(stderr, "acc-score: %s %lu messages, %.3f s CPU\n",
	    mode == 1 ? "learn-spam" : mode == 0 ? "learn-ham" : "test", n,
	    cpu_seconds() - t0);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *paths[ACC_MAX_PATHS];
	const char *store_spec = NULL, *ls = NULL, *lh = NULL, *lt = NULL;
	struct score_load_opts o;
	struct score_rules *r = NULL;
	struct store *st = NULL;
	struct bayes_conf bc;
	struct ctx c;
	struct err e;
	size_t npaths = 0;
	unsigned group = 500;
	int i, set = 2, ret = 1;
	double t0;

	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "-r") == 0) {
			if (npaths == ACC_MAX_PATHS)
				usage();
			paths[npaths++] = argv[++i];
		} else if (strcmp(argv[i], "-s") == 0)
			set = atoi(argv[++i]);
		else if (strcmp(argv[i], "-b") == 0)
			store_spec = argv[++i];
		else if (strcmp(argv[i], "-g") == 0)
			group = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--learn-spam") == 0)
			ls = argv[++i];
		else if (strcmp(argv[i], "--learn-ham") == 0)
			lh = argv[++i];
		else if (strcmp(argv[i], "--test") == 0)
			lt = argv[++i];
		else
			usage();
	}
	memset(&c, 0, sizeof c);
	memset(&o, 0, sizeof o);
	o.paths = paths;
	o.npaths = npaths;
	o.score_set = set;
	err_clear(&e);
	t0 = cpu_seconds();
	if (lt != NULL) {
		if (npaths == 0)
			usage();
		if (score_rules_load(&o, &r, NULL, &e) == -1) {
			fprintf(stderr, "acc-score: %s\n", e.msg);
			return 1;
		}
		fprintf(stderr, "acc-score: rules loaded, %.3f s CPU\n",
		    cpu_seconds() - t0);
	}
	if (store_spec != NULL) {
		if ((st = store_open(store_spec, getenv("HOME"), &e)) == NULL) {
			fprintf(stderr, "acc-score: %s: %s\n", store_spec,
			    e.msg);
			goto out;
		}
		memset(&bc, 0, sizeof bc);
		c.b = bayes_new(st, &bc);
		bayes_set_group(c.b, group);
	} else if (ls != NULL || lh != NULL)
		usage();
	c.r = r;
	if ((ls != NULL && run_list(&c, ls, 1) == -1) ||
	    (lh != NULL && run_list(&c, lh, 0) == -1))
		goto out;
	if (lt != NULL) {
		if (c.b != NULL)
			bayes_set_group(c.b, 1);
		if (run_list(&c, lt, 2) == -1)
			goto out;
	}
	ret = 0;
out:
	fflush(stdout);
	bayes_free(&c.b);
	store_close(&st);
	score_rules_free(&r);
	buf_free(&c.raw);
	buf_free(&c.data);
	return ret;
}
