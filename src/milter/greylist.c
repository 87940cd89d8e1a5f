/*
 * greylist.c - greylisting triplets in the store (policy.h).
 *
 * Key: "grey:" NET "/" SENDER "/" RCPT, where NET is the client address
 * masked to grey_conf's prefix (v4 /24, v6 /64 by default: a sender's
 * retries often come from a sibling host of the same farm). Keys longer
 * than STORE_MAX_KEY are replaced by "grey#" + the SHA-256 (hex) of the
 * whole triplet: senders choose these bytes, and with a weak hash one
 * could forge a collision with a triplet that already passed.
 *
 * Value: "d:FIRST" (first seen at FIRST, waiting) or "p:WHEN" (passed at
 * WHEN). The decision is computed from these times and the caller's now,
 * not from the store's TTLs, so it is the same on every backend and under
 * a test clock; the TTLs only make sure nothing lives forever.
 *
 * Two milters sharing one Redis: GET then SET is not one atomic step, so
 * two first sightings at the same moment both write "d:now"; harmless
 * (same value give or take a second). A retry that passes on one host
 * while the other writes "d:" for a brand new sighting cannot happen: a
 * "d:" entry is only written when none was there.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "../lib/sha256.h"
#include "../store/store.h"

#define GREY_PREFIX	"grey:"
#define GREY_HPREFIX	"grey#"
#define GREY_MAX_VALUE	32	/* "p:" + a time_t in decimal */

/* The network of ip as text ("192.0.2.0/24"); a non-address is kept as
 * given (bounded) so odd Postfix inputs still greylist per host. */
static void
grey_net(const char *ip, const struct grey_conf *g, char *out, size_t size)
{
	unsigned char a[16];
	char txt[INET6_ADDRSTRLEN];
	unsigned bits, i;
	int af;

	if (inet_pton(AF_INET, ip, a) == 1) {
		af = AF_INET;
		bits = g->v4_prefix > 32 ? 32 : g->v4_prefix;
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		af = AF_INET6;
		bits = g->v6_prefix > 128 ? 128 : g->v6_prefix;
	} else {
		(void)snprintf(out, size, "?%.64s", ip);
		return;
	}
	for (i = 0; i < (af == AF_INET ? 4u : 16u); i++) {
		if (bits >= 8)
			bits -= 8;
		else {
			a[i] &= (unsigned char)(0xff00u >> bits);
			bits = 0;
		}
	}
	if (inet_ntop(af, a, txt, sizeof txt) == NULL)
		txt[0] = '\0';
	(void)snprintf(out, size, "%s/%u", txt,
	    af == AF_INET ? g->v4_prefix : g->v6_prefix);
}

/* Build the key in k (caller's buffer, reset here). */
static void
grey_key(struct buf *k, const struct grey_conf *g, const char *ip,
    const char *sender, const char *rcpt)
{
	char net[INET6_ADDRSTRLEN + 80];

	grey_net(ip, g, net, sizeof net);
	buf_reset(k);
	buf_adds(k, GREY_PREFIX);
	buf_adds(k, net);
	buf_addc(k, '/');
	buf_adds(k, sender);
	buf_addc(k, '/');
	buf_adds(k, rcpt);
	if (k->len > STORE_MAX_KEY) {
		unsigned char d[SHA256_LEN];
		char hex[SHA256_HEXLEN + 1];

		sha256(k->data, k->len, d);
		buf_reset(k);
		buf_adds(k, GREY_HPREFIX);
		buf_adds(k, sha256_hex(d, hex));
	}
}

/* "d:123" / "p:123" -> kind and time; 0, or -1 for anything else. */
static int
grey_parse(const struct buf *v, char *kind, long long *t)
{
	char tmp[GREY_MAX_VALUE + 1], *end;

	if (v->len < 3 || v->len > GREY_MAX_VALUE || v->data[1] != ':' ||
	    (v->data[0] != 'd' && v->data[0] != 'p'))
		return -1;
	memcpy(tmp, v->data + 2, v->len - 2);
	tmp[v->len - 2] = '\0';
	*t = strtoll(tmp, &end, 10);
	if (*end != '\0' || end == tmp)
		return -1;
	*kind = v->data[0];
	return 0;
}

enum grey_res
grey_check(struct store *s, const struct grey_conf *g, const char *ip,
    const char *sender, const char *rcpt, time_t now, long *wait_out,
    struct err *e)
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	enum grey_res res = GREY_ERROR;
	char val[GREY_MAX_VALUE], kind = 0;
	long long t = 0;
	long ttl;
	int rc;

	if (wait_out != NULL)
		*wait_out = 0;
	grey_key(&k, g, ip, sender, rcpt);
	if ((rc = store_get(s, (struct span){ k.data, k.len }, &v, e)) == -1)
		goto out;
	if (rc == 1 && grey_parse(&v, &kind, &t) == -1)
		rc = 0;		/* garbage: start over */
	if (rc == 1 && kind == 'p' && now - t <= g->pass_ttl) {
		/* Known good: refresh, so a regular correspondent never
		 * waits again while they keep writing. */
		res = GREY_PASS;
		ttl = g->pass_ttl;
		t = now;
	} else if (rc == 1 && kind == 'd' && now - t >= g->delay &&
	    now - t <= g->expiry) {
		res = GREY_PASS;
		ttl = g->pass_ttl;
		t = now;
		kind = 'p';
	} else if (rc == 1 && kind == 'd' && now - t >= 0 &&
	    now - t < g->delay) {
		/* Retried too early: the wait keeps counting from the
		 * first sighting (as postgrey), nothing to write. */
		if (wait_out != NULL)
			*wait_out = (long)(g->delay - (now - t));
		res = GREY_DEFER;
		goto out;
	} else {
		/* New, expired, or from a clock that went backwards. */
		res = GREY_DEFER;
		kind = 'd';
		t = now;
		/* The entry must outlive the delay window. */
		ttl = g->expiry > g->delay ? g->expiry : g->delay;
		ttl += 1;
		if (wait_out != NULL)
			*wait_out = g->delay;
	}
	if (kind == 'p')
		ttl = g->pass_ttl > 0 ? g->pass_ttl : 1;
	if (buf_fmt(val, sizeof val, "%c:%lld", kind, t) == -1) {
		err_set(e, ERR_INTERNAL, "greylist: value too long");
		res = GREY_ERROR;
		goto out;
	}
	if (store_set(s, (struct span){ k.data, k.len },
	    (struct span){ val, strlen(val) }, ttl, e) == -1)
		res = GREY_ERROR;
out:
	buf_free(&k);
	buf_free(&v);
	return res;
}
