/*
 * bayes-harness.c - drive sluice's Bayes over many files in one process,
 * for tests/bench/bench-bayes.sh:
 *
 *	bayes-harness STORE learn-spam|learn-ham|forget|classify < LIST
 *
 * LIST holds one message file per line. learn-*: learns each (one store
 * round trip for reads and one for writes per message, as `sluice learn`)
 * and prints "learned N already M seconds S" on stderr. classify: prints
 * "PROB FILE" per message (PROB -1: Bayes not usable), with no minimum
 * number of learned messages (the harness trains on what it has).
 *
 * Built with -DFAKE_SM it uses tests/unit/fake-sm.c instead of the real
 * message side (prepare.c), and bayes.c is compiled in.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef FAKE_SM
#include "../../src/score/bayes.c"
#include "../unit/fake-sm.c"
#define SM_NEW(m)	fake_sm_new(m)
#define SM_FREE(smp)	fake_sm_free(smp)
#else
#include "../../src/lib/buf.h"
#include "../../src/msg/msg.h"
#include "../../src/score/score.h"
#include "../../src/store/store.h"
#define SM_NEW(m)	score_msg_new((m), NULL)
#define SM_FREE(smp)	score_msg_free(smp)
#endif

#define HARNESS_MAX_MSG	(64L * 1024 * 1024)

static int
read_file(const char *path, struct buf *out)
{
	char blk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	buf_reset(out);
	if (fd == -1)
		return -1;
	while ((n = read(fd, blk, sizeof blk)) > 0 &&
	    out->len < (size_t)HARNESS_MAX_MSG)
		buf_add(out, blk, (size_t)n);
	close(fd);
	return n < 0 ? -1 : 0;
}

/* The message as sluice stores it: no From_ line, LF line ends. */
static struct msg *
load(struct buf *raw, struct buf *lf)
{
	const char *p = raw->data ? raw->data : "";
	size_t len = raw->len, i;
	struct msg *m;

	if (len >= 5 && memcmp(p, "From ", 5) == 0) {
		const char *nl = memchr(p, '\n', len);

		len = nl ? len - (size_t)(nl + 1 - p) : 0;
		p = nl ? nl + 1 : p + len;
	}
	buf_reset(lf);
	buf_reserve(lf, len);
	for (i = 0; i < len; i++)
		if (!(p[i] == '\r' && i + 1 < len && p[i + 1] == '\n'))
			buf_addc(lf, p[i]);
	m = msg_new();
	msg_parse_header(m, lf->data ? lf->data : "", lf->len);
	m->data = lf->data ? lf->data : "";
	m->len = lf->len;
	return m;
}

int
main(int argc, char **argv)
{
	struct bayes_conf bc = { .min_spam = 0 };
	struct buf raw = BUF_INIT, lf = BUF_INIT;
	char line[4096];
	struct store *s;
	struct bayes *b;
	struct err e;
	struct timespec t0, t1;
	unsigned long learned = 0, already = 0;
	int mode;

	if (argc != 3) {
		fprintf(stderr, "usage: bayes-harness STORE learn-spam|"
		    "learn-ham|forget|classify < LIST\n");
		return 64;
	}
	mode = !strcmp(argv[2], "learn-spam") ? 1 :
	    !strcmp(argv[2], "learn-ham") ? 2 :
	    !strcmp(argv[2], "forget") ? 3 :
	    !strcmp(argv[2], "classify") ? 4 : 0;
	if (mode == 0)
		return 64;
	if ((s = store_open(argv[1], getenv("HOME"), &e)) == NULL) {
		fprintf(stderr, "bayes-harness: %s\n", e.msg);
		return 75;
	}
	b = bayes_new(s, &bc);
	/* as sluice learn: one store write per group of messages */
	if (getenv("BAYES_GROUP") != NULL)
		bayes_set_group(b, (unsigned)atoi(getenv("BAYES_GROUP")));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (fgets(line, sizeof line, stdin) != NULL) {
		struct score_msg *sm;
		struct msg *m;
		size_t l = strlen(line);

		if (l > 0 && line[l - 1] == '\n')
			line[--l] = '\0';
		if (l == 0)
			continue;
		if (read_file(line, &raw) == -1) {
			perror(line);
			continue;
		}
		m = load(&raw, &lf);
		sm = SM_NEW(m);
		if (mode == 4) {
			double p = bayes_classify(b, sm, &e);

			if (p < 0 && e.cls != ERR_NONE) {
				fprintf(stderr, "bayes-harness: %s\n", e.msg);
				return 75;
			}
			printf("%.6f %s\n", p, line);
		} else {
			int rc = bayes_learn(b, sm, mode == 1, mode == 3, &e);

			if (rc == -1) {
				fprintf(stderr, "bayes-harness: %s: %s\n", line,
				    e.msg);
				return 75;
			}
			learned += rc == 1;
			already += rc == 0;
		}
		SM_FREE(&sm);
		msg_free(&m);
	}
	if (bayes_flush(b, NULL, &e) == -1) {
		fprintf(stderr, "bayes-harness: %s\n", e.msg);
		return 75;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (mode != 4)
		fprintf(stderr, "learned %lu already %lu seconds %.3f\n",
		    learned, already, (double)(t1.tv_sec - t0.tv_sec) +
		    (t1.tv_nsec - t0.tv_nsec) / 1e9);
	bayes_free(&b);
	store_close(&s);
	buf_free(&raw);
	buf_free(&lf);
	return 0;
}
