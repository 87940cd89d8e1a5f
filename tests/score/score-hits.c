/*
 * score-hits.c - sluice's side of tests/integ/t-score-agree.sh and of the
 * benchmark: load a rule set once, then, for each message file, print
 * the rules that hit, in the format of tests/score/sa-hits.pl:
 *	MSG<TAB>FILE
 *	HIT<TAB>RULE		(sorted, once each)
 *
 *   score-hits [-r PATH]... [-s SET] FILE...	hits (paths default to
 *	/usr/share/spamassassin then /etc/spamassassin, as SpamAssassin
 *	reads them on Debian; SET the score set, default 0: no net, no Bayes)
 *   score-hits [-r PATH]... --rules	RULE<TAB>NAME<TAB>TYPE<TAB>STATE<TAB>
 *	SCORE<TAB>DEPS for every defined rule; STATE is "run",
 *	"unsupported:FN" or "error"; DEPS the rules a meta reads (comma
 *	separated, possibly repeated)
 *   score-hits [-r PATH]... --report	the load report (score.h)
 *   score-hits [-r PATH]... [-b STORE] --bench N FILE...  score every file
 *	N times (Bayes from STORE when given) and print the CPU time per
 *	message of the scoring alone (files are read into memory first):
 *	the total, and the mean, median and 99th percentile of the
 *	per-message thread CPU time (CLOCK_THREAD_CPUTIME_ID)
 *   --bayes-cache N	Bayes through a token cache of N tokens (0: the
 *	default size), as sluice-milter classifies (bayes_cache_new)
 *   --hs	load with the Hyperscan prefilter (score_load_opts.prefilter_hs)
 *   --no-hs	without it, even when a cache directory would enable it
 *   --cache DIR	the Hyperscan database cache (score_load_opts.cache_dir;
 *	"" for none)
 *
 * Sub-rules (__NAME) are printed when rules.c offers the hook
 * score_run_each_hit() (build with -DHAVE_SCORE_RUN_EACH_HIT); otherwise
 * only the hits score_run() reports, and a "MODE<TAB>scored" line says so.
 *
 * Build (from a build directory):
 *   cc -I. -I$SRC/src $SRC/tests/score/score-hits.c libsluice_score.a \
 *	libsluice_store.a libsluice_msg.a libsluice_lib.a \
 *	-lpcre2-8 -llmdb -lhiredis -lm
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../../src/score/rules-int.h"
#include "../../src/store/store.h"

#define HITS_MAX_PATHS	64	/* -r options */
#define HITS_MAX_MSG	(64L * 1024 * 1024)	/* bytes of one message */

static void
usage(void)
{
	fputs("usage: score-hits [-r PATH]... [-s SET] [-b STORE] "
	    "[--hs | --no-hs] [--cache DIR]\n"
	    "    [--bayes-cache N] [--rules | --report | --bench N] "
	    "[FILE...]\n", stderr);
	exit(64);
}

/* The whole file, CRLF stored as LF and without a leading "From " line,
 * as sluice learn and msg_spool store a message. */
static int
read_msg(const char *path, struct buf *out)
{
	char chunk[65536];
	struct buf raw = BUF_INIT;
	ssize_t n;
	size_t i, skip = 0;
	int fd = open(path, O_RDONLY);

	if (fd == -1)
		return -1;
	while ((n = read(fd, chunk, sizeof chunk)) > 0) {
		if (raw.len + (size_t)n > HITS_MAX_MSG) {
			errno = EFBIG;
			n = -1;
			break;
		}
		buf_add(&raw, chunk, (size_t)n);
	}
	close(fd);
	if (n == -1) {
		buf_free(&raw);
		return -1;
	}
	if (raw.len >= 5 && memcmp(raw.data, "From ", 5) == 0) {
		const char *nl = memchr(raw.data, '\n', raw.len);

		skip = nl != NULL ? (size_t)(nl - raw.data) + 1 : raw.len;
	}
	buf_reset(out);
	buf_reserve(out, raw.len - skip + 1);
	for (i = skip; i < raw.len; i++)
		if (!(raw.data[i] == '\r' && i + 1 < raw.len &&
		    raw.data[i + 1] == '\n'))
			buf_addc(out, raw.data[i]);
	buf_free(&raw);
	return 0;
}

static const char *
type_name(const struct rule *ru)
{
	static const char *const kinds[] = { "header", "body", "rawbody",
	    "full", "uri", "rbl", "mimeheader" };

	switch (ru->type) {
	case RT_NONE: return "none";
	case RT_HEADER: return "header";
	case RT_BODY: return "body";
	case RT_RAWBODY: return "rawbody";
	case RT_FULL: return "full";
	case RT_URI: return "uri";
	case RT_MIMEHEADER: return "mimeheader";
	case RT_META: return "meta";
	case RT_EVAL:
		if ((unsigned)ru->evalkind < sizeof kinds / sizeof kinds[0])
			return kinds[ru->evalkind];
		return "eval";
	case RT_PLUGIN: return "plugin";
	}
	return "?";
}

static void
list_rules(const struct score_rules *r)
{
	size_t i, k;

	for (i = 0; i < r->nrules; i++) {
		const struct rule *ru = &r->rules[i];

		if (ru->type == RT_NONE)
			continue;
		printf("RULE\t%s\t%s%s%s\t", ru->name,
		    ru->type == RT_EVAL ? "eval:" : "", type_name(ru),
		    ru->tflags & TF_NET ? ",net" : "");
		if (ru->runnable)
			fputs("run", stdout);
		else if (ru->unsupported)
			printf("unsupported:%s", ru->type == RT_EVAL &&
			    ru->efname != NULL ? ru->efname : ru->text);
		else
			fputs("error", stdout);
		printf("\t%g\t", rules_score(r, ru));
		for (k = 0; k < ru->ndeps; k++)
			printf("%s%s", k > 0 ? "," : "",
			    r->rules[ru->deps[k]].name);
		putchar('\n');
	}
}

struct hitlist {
	const char **name;
	size_t n, cap;
};

#ifdef HAVE_SCORE_RUN_EACH_HIT
static void
add_hit(void *arg, const char *name, unsigned count)
{
	struct hitlist *h = arg;

	(void)count;
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->name = xreallocarray(h->name, h->cap, sizeof *h->name);
	}
	h->name[h->n++] = name;
}
#endif

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Score one message held in data; print its hits when print is set. */
static void
score_one(const struct score_rules *r, struct bayes *b, const char *file,
    const struct buf *data, int print)
{
	struct score_result res;
	struct score_msg *sm;
	struct msg *m;
	struct err e;
	size_t i;

	m = msg_new();
	msg_parse_header(m, data->data, data->len);
	m->data = data->data;
	m->len = data->len;
	m->size = (off_t)data->len;
	sm = score_msg_new(m, NULL);
	err_clear(&e);
	if (score_run(r, sm, b, &res, &e) == -1 && print)
		fprintf(stderr, "score-hits: %s: %s\n", file, e.msg);
	if (print) {
		struct hitlist h = { NULL, 0, 0 };

		printf("MSG\t%s\n", file);
#ifdef HAVE_SCORE_RUN_EACH_HIT
		score_run_each_hit(r, sm, add_hit, &h);
#else
		h.name = xreallocarray(NULL, res.nhits + 1, sizeof *h.name);
		for (i = 0; i < res.nhits; i++)
			h.name[h.n++] = res.hits[i].name;
#endif
		qsort(h.name, h.n, sizeof *h.name, cmp_str);
		for (i = 0; i < h.n; i++)
			if (i == 0 || strcmp(h.name[i], h.name[i - 1]) != 0)
				printf("HIT\t%s\n", h.name[i]);
		free(h.name);
	}
	score_result_free(&res);
	score_msg_free(&sm);
	msg_free(&m);
}

/* CPU time of the calling thread, in seconds (ns resolution). */
static double
thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	const char *paths[HITS_MAX_PATHS];
	const char *store_spec = NULL;
	struct score_load_opts o;
	struct score_load_report rep;
	struct score_rules *r = NULL;
	struct store *st = NULL;
	struct bayes *b = NULL;
	struct bayes_cache *bcache = NULL;
	struct err e;
	size_t npaths = 0;
	int i, set = 0, mode_rules = 0, mode_report = 0, hs = 0;
	const char *cache = NULL;
	long bench = 0, bcache_n = -1;
	double t0, t1;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
			if (npaths == HITS_MAX_PATHS)
				usage();
			paths[npaths++] = argv[++i];
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			set = atoi(argv[++i]);
		else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc)
			store_spec = argv[++i];
		else if (strcmp(argv[i], "--bench") == 0 && i + 1 < argc)
			bench = atol(argv[++i]);
		else if (strcmp(argv[i], "--bayes-cache") == 0 &&
		    i + 1 < argc)
			bcache_n = atol(argv[++i]);
		else if (strcmp(argv[i], "--hs") == 0)
			hs = 1;
		else if (strcmp(argv[i], "--no-hs") == 0)
			hs = -1;
		else if (strcmp(argv[i], "--cache") == 0 && i + 1 < argc)
			cache = argv[++i];
		else if (strcmp(argv[i], "--rules") == 0)
			mode_rules = 1;
		else if (strcmp(argv[i], "--report") == 0)
			mode_report = 1;
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else
			usage();
	}
	if (npaths == 0) {
		paths[npaths++] = "/usr/share/spamassassin";
		paths[npaths++] = "/etc/spamassassin";
	}
	memset(&o, 0, sizeof o);
	o.paths = paths;
	o.npaths = npaths;
	o.score_set = set;
#ifdef SCORE_LOAD_HAS_CACHE_DIR
	o.prefilter_hs = hs;
	o.cache_dir = cache;
#else
	o.prefilter_hs = hs > 0;
	if (cache != NULL)
		fputs("score-hits: --cache: not in this score.h\n", stderr);
#endif
	memset(&rep, 0, sizeof rep);
	err_clear(&e);
	t0 = cpu_seconds();
	if (score_rules_load(&o, &r, &rep, &e) == -1) {
		fprintf(stderr, "score-hits: %s\n", e.msg);
		return 1;
	}
	t1 = cpu_seconds();
	if (mode_report) {
		printf("files %u\nlines %u\ndefined %u\nscored %u\n"
		    "loaded %u\nscored_loaded %u\neval_unsupported %u\n"
		    "errors %u\nload_cpu_ms %.1f\n", rep.files, rep.lines,
		    rep.defined, rep.scored, rep.loaded, rep.scored_loaded,
		    rep.eval_unsupported, rep.errors, (t1 - t0) * 1000);
		if (rep.text.len > 0)
			fwrite(rep.text.data, 1, rep.text.len, stdout);
	}
	if (mode_rules)
		list_rules(r);
	score_load_report_free(&rep);
	if (store_spec != NULL) {
		struct bayes_conf bc;

		if ((st = store_open(store_spec, getenv("HOME"), &e)) == NULL) {
			fprintf(stderr, "score-hits: %s: %s\n", store_spec,
			    e.msg);
			return 1;
		}
		memset(&bc, 0, sizeof bc);
		if (bcache_n >= 0)
			bc.cache = bcache = bayes_cache_new((size_t)bcache_n);
		b = bayes_new(st, &bc);
	}

	if (bench > 0) {
		struct buf *data;
		double *per, sum = 0, m0;
		int nf = argc - i, k;
		long rep_i, np = 0;

		data = xcalloc(nf > 0 ? (size_t)nf : 1, sizeof *data);
		for (k = 0; k < nf; k++)
			if (read_msg(argv[i + k], &data[k]) == -1) {
				fprintf(stderr, "score-hits: %s: %s\n",
				    argv[i + k], strerror(errno));
				return 1;
			}
		per = xcalloc((size_t)(nf > 0 ? nf : 1) * (size_t)bench,
		    sizeof *per);
		t0 = cpu_seconds();
		for (rep_i = 0; rep_i < bench; rep_i++)
			for (k = 0; k < nf; k++) {
				m0 = thread_cpu();
				score_one(r, b, argv[i + k], &data[k], 0);
				per[np] = thread_cpu() - m0;
				sum += per[np++];
			}
		t1 = cpu_seconds();
		qsort(per, (size_t)np, sizeof *per, cmp_dbl);
		printf("messages %ld\ncpu_s %.3f\nms_per_msg %.3f\n"
		    "msgs_per_s_per_core %.0f\n", (long)nf * bench, t1 - t0,
		    nf > 0 ? (t1 - t0) * 1000 / ((double)nf * bench) : 0.0,
		    t1 > t0 ? (double)nf * bench / (t1 - t0) : 0.0);
		if (np > 0)
			printf("ms_mean %.3f\nms_p50 %.3f\nms_p99 %.3f\n"
			    "ms_max %.3f\n", sum * 1000 / (double)np,
			    per[np / 2] * 1000, per[(np * 99) / 100] * 1000,
			    per[np - 1] * 1000);
		free(per);
		for (k = 0; k < nf; k++)
			buf_free(&data[k]);
		free(data);
	} else {
		struct buf data = BUF_INIT;

#ifndef HAVE_SCORE_RUN_EACH_HIT
		if (i < argc)
			puts("MODE\tscored");
#endif
		for (; i < argc; i++) {
			if (read_msg(argv[i], &data) == -1) {
				fprintf(stderr, "score-hits: %s: %s\n",
				    argv[i], strerror(errno));
				return 1;
			}
			score_one(r, b, argv[i], &data, 1);
		}
		buf_free(&data);
	}
	bayes_free(&b);
	bayes_cache_free(&bcache);
	store_close(&st);
	score_rules_free(&r);
	return 0;
}
