/*
 * ratelimit.c - rate limits per client address, sender and authenticated
 * user (policy.h), shared by every milter on one store.
 *
 * The token bucket (rate r tokens/s, size b) is implemented with the
 * store's atomic INCR as a sliding window, which two milters on one
 * Redis keep exactly consistent without a new store operation:
 *   window W = ceil(b / r) seconds (the time an empty bucket takes to
 *   refill), one counter per window index now / W;
 *   used = previous * (1 - elapsed / W) + current (after adding cost);
 *   used > b: over the limit, and the cost is given back (INCR -cost), so
 *   refused attempts do not count against the sender.
 * Like a bucket of size b refilled at r, it admits b at once and r per
 * second sustained; unlike one it spreads the allowance of the previous
 * window linearly (the usual sliding-window estimate, as Cloudflare and
 * nginx-style limiters use), which is never more permissive than b per
 * window plus the rounding of one cost. Each counter is one INCR in one
 * batch with the GET of the previous one (atomic on both backends), so
 * concurrent milters never lose an increment; the refund is a second
 * call, and when it fails the attempt simply counts.
 * Counters carry a TTL of two windows: nothing lives forever.
 * Decisions use the caller's now (not the store's clock), so tests can
 * move time on Redis too.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "../lib/sha256.h"
#include "../store/store.h"

#define RATE_PREFIX	"rate:"
#define RATE_HPREFIX	"rate#"
#define RATE_MAX_N	1000000000.0	/* messages per period */
#define RATE_MAX_PERIOD	(30L * 86400)	/* seconds */
#define RATE_MAX_COST	1000000.0	/* tokens one call may take */

/* "rate:KIND:ID:WINDOWSECS:INDEX"; when too long "rate#" + its SHA-256
 * in hex (the id is the sender's to choose: no forged collisions). */
static void
rate_key(struct buf *k, const char *kind, const char *id, long w,
    long long idx)
{
	buf_reset(k);
	buf_addf(k, RATE_PREFIX "%s:%s:%ld:%lld", kind, id, w, idx);
	if (k->len > STORE_MAX_KEY) {
		unsigned char d[SHA256_LEN];
		char hex[SHA256_HEXLEN + 1];

		sha256(k->data, k->len, d);
		buf_reset(k);
		buf_adds(k, RATE_HPREFIX);
		buf_adds(k, sha256_hex(d, hex));
	}
}

enum rate_res
rate_take(struct store *s, const struct rate_conf *r, const char *kind,
    const char *id, double cost, time_t now, struct err *e)
{
	struct buf kprev = BUF_INIT, kcur = BUF_INIT, vprev = BUF_INIT;
	struct store_op ops[2];
	enum rate_res res = RATE_ERROR;
	long long idx, c, prev = 0;
	double used, frac;
	long w;
	char *end;

	if (!(r->rate > 0) || !(r->burst >= 1) || !(cost >= 0) ||
	    cost > RATE_MAX_COST) {
		err_set(e, ERR_INTERNAL, "rate limit %s: bad parameters", kind);
		return RATE_ERROR;
	}
	if (r->burst / r->rate > (double)RATE_MAX_PERIOD * 2)
		w = RATE_MAX_PERIOD * 2;
	else
		w = (long)ceil(r->burst / r->rate);
	if (w < 1)
		w = 1;
	c = (long long)ceil(cost);
	if (now < 0)
		now = 0;
	idx = (long long)now / w;
	frac = (double)((long long)now % w) / (double)w;
	rate_key(&kprev, kind, id, w, idx - 1);
	rate_key(&kcur, kind, id, w, idx);

	memset(ops, 0, sizeof ops);
	ops[0].op = STORE_GET;
	ops[0].key = (struct span){ kprev.data, kprev.len };
	ops[0].val_out = &vprev;
	ops[1].op = STORE_INCR;
	ops[1].key = (struct span){ kcur.data, kcur.len };
	ops[1].delta = c;
	ops[1].ttl = 2 * w + 1;
	if (store_batch(s, ops, 2, e) == -1)
		goto out;
	if (ops[0].found && vprev.len > 0) {
		errno = 0;
		prev = strtoll(vprev.data, &end, 10);
		if (errno != 0 || *end != '\0' || prev < 0)
			prev = 0;	/* not ours: ignore */
	}
	used = (double)prev * (1.0 - frac) + (double)ops[1].num_out;
	if (used <= r->burst) {
		res = RATE_OK;
		goto out;
	}
	res = RATE_OVER;
	if (c > 0) {
		struct err e2;
		long long dummy;

		/* Refused attempts do not count; a failure here only makes
		 * the limiter stricter for this window. */
		(void)store_incr(s, (struct span){ kcur.data, kcur.len }, -c,
		    2 * w + 1, &dummy, &e2);
	}
out:
	buf_free(&kprev);
	buf_free(&kcur);
	buf_free(&vprev);
	return res;
}

/* Seconds in "1h", "30m", "h", "90" (seconds), "2d"; -1 when bad. */
static long
rate_period(const char *p, const char **end)
{
	long n = 1, mult;
	char *e;

	if (isdigit((unsigned char)*p)) {
		errno = 0;
		n = strtol(p, &e, 10);
		if (errno != 0 || n <= 0 || n > RATE_MAX_PERIOD)
			return -1;
		p = e;
	}
	switch (*p) {
	case 's': mult = 1; p++; break;
	case 'm': mult = 60; p++; break;
	case 'h': mult = 3600; p++; break;
	case 'd': mult = 86400; p++; break;
	default: mult = 1; break;
	}
	*end = p;
	if (n > RATE_MAX_PERIOD / mult)
		return -1;
	return n * mult;
}

int
rate_conf_parse(const char *text, struct rate_conf *out, struct err *e)
{
	const char *p = text;
	double n, burst;
	long period;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)*p))
		goto bad;
	n = strtod(p, &end);
	if (errno != 0 || end == p || !(n >= 1) || n > RATE_MAX_N ||
	    n != floor(n) || *end != '/')
		goto bad;
	p = end + 1;
	if ((period = rate_period(p, &p)) <= 0)
		goto bad;
	burst = n;
	if (*p == ':') {
		p++;
		if (!isdigit((unsigned char)*p))
			goto bad;
		burst = strtod(p, &end);
		if (errno != 0 || end == p || !(burst >= 1) ||
		    burst > RATE_MAX_N || burst != floor(burst))
			goto bad;
		p = end;
	}
	if (*p != '\0')
		goto bad;
	out->rate = n / (double)period;
	out->burst = burst;
	return 0;
bad:
	return err_set(e, ERR_CONFIG, "bad rate limit \"%.64s\" (want "
	    "N/PERIOD[:BURST], e.g. 100/1h or 10/1m:20)", text);
}
