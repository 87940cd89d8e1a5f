/*
 * stats.c - the milter's counters: messages, actions, connections, store
 * errors, truncated messages, rule hits (top STATS_TOP_RULES) and the
 * scoring latency as percentiles of a fixed histogram.
 *
 * Counters are atomics (connection threads add, the main thread reads);
 * the rule-hit table is a small open-addressing hash under one mutex,
 * with copies of the names (rule sets are freed on reload). Counts are
 * since start: a reader wanting rates takes differences.
 *
 * Output (syslog, and milter_stats_file replaced atomically): one line
 *	stats: messages=N accept=N reject=N greylist=N ratelimit=N
 *	tempfail=N connections=N store_errors=N truncated=N
 *	p50_ms=N p90_ms=N p99_ms=N max_ms=N top=RULE:N,RULE:N,...
 * and the file has the same as "key value" lines, one per counter.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "score/score.h"
#include "milter/milter.h"

#define STATS_TOP_RULES		20
/* Distinct rule names counted; later new names are counted as
 * "other" (rule sets have a few thousand rules at most). */
#define STATS_MAX_RULES		8192
#define STATS_TABLE		16384	/* power of two, > STATS_MAX_RULES */
/* Latency buckets: bucket i holds [2^(i-1), 2^i) ms, bucket 0 < 1 ms;
 * the last one everything from 2^(STATS_BUCKETS-2) ms (65 s) on. */
#define STATS_BUCKETS		18
#define STATS_NPCT		3	/* p50, p90, p99 */

static const char *const action_names[MA_N] = {
	"accept", "reject", "greylist", "ratelimit", "tempfail"
};

static unsigned long n_actions[MA_N];
static unsigned long n_conns, n_store_err, n_truncated, n_messages;
static unsigned long n_lat[STATS_BUCKETS];
static unsigned long lat_max_us;

struct rule_count {
	char *name;
	unsigned long n;
};
static pthread_mutex_t rules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rule_count *rules_tab;	/* STATS_TABLE slots, lazily */
static size_t rules_used;
static unsigned long rules_other;

const char *
milter_action_name(enum milter_action a)
{
	return (unsigned)a < MA_N ? action_names[a] : "?";
}

static unsigned
bucket_of(long usec)
{
	unsigned long ms = usec <= 0 ? 0 : (unsigned long)usec / 1000;
	unsigned b = 0;

	while (ms > 0 && b < STATS_BUCKETS - 1) {
		ms >>= 1;
		b++;
	}
	return b;
}

static size_t
hash_name(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h & (STATS_TABLE - 1);
}

static void
rule_hit(const char *name)
{
	size_t i;

	if (rules_tab == NULL)
		rules_tab = xcalloc(STATS_TABLE, sizeof *rules_tab);
	for (i = hash_name(name); rules_tab[i].name != NULL;
	    i = (i + 1) & (STATS_TABLE - 1))
		if (strcmp(rules_tab[i].name, name) == 0) {
			rules_tab[i].n++;
			return;
		}
	if (rules_used == STATS_MAX_RULES) {
		rules_other++;
		return;
	}
	rules_tab[i].name = xstrdup(name);
	rules_tab[i].n = 1;
	rules_used++;
}

void
stats_message(enum milter_action a, long usec, const struct score_result *res,
    int truncated)
{
	unsigned long us = usec > 0 ? (unsigned long)usec : 0, cur;
	size_t i;

	__atomic_fetch_add(&n_messages, 1, __ATOMIC_RELAXED);
	if ((unsigned)a < MA_N)
		__atomic_fetch_add(&n_actions[a], 1, __ATOMIC_RELAXED);
	if (truncated)
		__atomic_fetch_add(&n_truncated, 1, __ATOMIC_RELAXED);
	if (res == NULL)
		return;		/* not scored: no latency, no rules */
	__atomic_fetch_add(&n_lat[bucket_of(usec)], 1, __ATOMIC_RELAXED);
	cur = __atomic_load_n(&lat_max_us, __ATOMIC_RELAXED);
	while (us > cur && !__atomic_compare_exchange_n(&lat_max_us, &cur, us,
	    0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	if (res->nhits == 0)
		return;
	pthread_mutex_lock(&rules_lock);
	for (i = 0; i < res->nhits; i++)
		rule_hit(res->hits[i].name);
	pthread_mutex_unlock(&rules_lock);
}

void
stats_store_error(void)
{
	__atomic_fetch_add(&n_store_err, 1, __ATOMIC_RELAXED);
}

void
stats_connection(void)
{
	__atomic_fetch_add(&n_conns, 1, __ATOMIC_RELAXED);
}

/* The upper bound in ms of the bucket where the p-th percentile lies
 * (0 when nothing was counted). */
static unsigned long
percentile(const unsigned long *lat, unsigned long total, double p)
{
	unsigned long want, seen = 0;
	unsigned b;

	if (total == 0)
		return 0;
	want = (unsigned long)(p * (double)total + 0.999999);
	if (want == 0)
		want = 1;
	for (b = 0; b < STATS_BUCKETS; b++) {
		seen += lat[b];
		if (seen >= want)
			return 1UL << b;
	}
	return 1UL << (STATS_BUCKETS - 1);
}

static int
cmp_count(const void *a, const void *b)
{
	const struct rule_count *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

void
stats_write(const char *path)
{
	static const double pcts[STATS_NPCT] = { 0.50, 0.90, 0.99 };
	unsigned long lat[STATS_BUCKETS], total = 0, act[MA_N];
	unsigned long pct[STATS_NPCT], max_ms;
	struct rule_count top[STATS_TOP_RULES];
	struct buf line = BUF_INIT, file = BUF_INIT, tmp = BUF_INIT;
	size_t ntop = 0, i, k;
	unsigned b;
	int fd;

	for (b = 0; b < STATS_BUCKETS; b++) {
		lat[b] = __atomic_load_n(&n_lat[b], __ATOMIC_RELAXED);
		total += lat[b];
	}
	for (i = 0; i < MA_N; i++)
		act[i] = __atomic_load_n(&n_actions[i], __ATOMIC_RELAXED);
	/* top N by a partial selection; names copied under the lock */
	pthread_mutex_lock(&rules_lock);
	for (i = 0; rules_tab != NULL && i < STATS_TABLE; i++) {
		if (rules_tab[i].name == NULL)
			continue;
		if (ntop < STATS_TOP_RULES)
			top[ntop++] = rules_tab[i];
		else if (rules_tab[i].n > top[ntop - 1].n)
			top[ntop - 1] = rules_tab[i];
		else
			continue;
		qsort(top, ntop, sizeof *top, cmp_count);
	}
	for (i = 0; i < ntop; i++)
		top[i].name = xstrdup(top[i].name);
	pthread_mutex_unlock(&rules_lock);

	buf_addf(&line, "stats: messages=%lu",
	    __atomic_load_n(&n_messages, __ATOMIC_RELAXED));
	buf_addf(&file, "messages %lu\n",
	    __atomic_load_n(&n_messages, __ATOMIC_RELAXED));
	for (i = 0; i < MA_N; i++) {
		buf_addf(&line, " %s=%lu", action_names[i], act[i]);
		buf_addf(&file, "action_%s %lu\n", action_names[i], act[i]);
	}
	max_ms = (__atomic_load_n(&lat_max_us, __ATOMIC_RELAXED) + 999) / 1000;
	/* a bucket's upper bound, never above the exact maximum */
	for (i = 0; i < STATS_NPCT; i++) {
		pct[i] = percentile(lat, total, pcts[i]);
		if (pct[i] > max_ms)
			pct[i] = max_ms;
	}
	buf_addf(&tmp, "connections=%lu store_errors=%lu truncated=%lu "
	    "p50_ms=%lu p90_ms=%lu p99_ms=%lu max_ms=%lu",
	    __atomic_load_n(&n_conns, __ATOMIC_RELAXED),
	    __atomic_load_n(&n_store_err, __ATOMIC_RELAXED),
	    __atomic_load_n(&n_truncated, __ATOMIC_RELAXED),
	    pct[0], pct[1], pct[2], max_ms);
	buf_addf(&line, " %.*s top=", (int)tmp.len, tmp.data);
	/* the same as "key value" lines */
	for (i = 0; i < tmp.len; ) {
		const char *sp = memchr(tmp.data + i, ' ', tmp.len - i);
		size_t n = sp ? (size_t)(sp - (tmp.data + i)) : tmp.len - i;

		for (k = i; k < i + n; k++)
			buf_addc(&file, tmp.data[k] == '=' ? ' ' : tmp.data[k]);
		buf_addc(&file, '\n');
		i += n + 1;
	}
	for (i = 0; i < ntop; i++) {
		buf_addf(&line, "%s%s:%lu", i ? "," : "", top[i].name,
		    top[i].n);
		buf_addf(&file, "rule %s %lu\n", top[i].name, top[i].n);
		free(top[i].name);
	}
	if (ntop == 0)
		buf_adds(&line, "none");
	for (b = 0; b < STATS_BUCKETS; b++)
		buf_addf(&file, "latency_le_ms %lu %lu\n", 1UL << b, lat[b]);
	log_info("%.*s", (int)line.len, line.data);

	if (path != NULL) {
		buf_reset(&tmp);
		buf_addf(&tmp, "%s.tmp", path);
		buf_addc(&tmp, '\0');
		fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		    O_NOFOLLOW, 0644);
		if (fd != -1 && write_all(fd, file.data, file.len) == -1) {
			(void)close(fd);
			fd = -1;
		}
		if (fd == -1 || close(fd) == -1 ||
		    rename(tmp.data, path) == -1) {
			log_warn("stats file %s", path);
			(void)unlink(tmp.data);
		}
	}
	buf_free(&line);
	buf_free(&file);
	buf_free(&tmp);
}

void
stats_free(void)
{
	size_t i;

	pthread_mutex_lock(&rules_lock);
	for (i = 0; rules_tab != NULL && i < STATS_TABLE; i++)
		free(rules_tab[i].name);
	free(rules_tab);
	rules_tab = NULL;
	rules_used = 0;
	pthread_mutex_unlock(&rules_lock);
}
