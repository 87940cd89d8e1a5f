/*
 * ext-duplicate.c - RFC 7352 "duplicate" test, with Pigeonhole's
 * semantics:
 *
 *	duplicate [:handle s] [:header s | :uniqueid s] [:seconds n] [:last]
 *
 * The tracked value is :uniqueid, else the first :header field (default
 * Message-ID), decoded and unfolded; no value: false. The store key is
 * "sieve-duplicate:" + a digest of the recipient, :last, the handle and
 * the value (Pigeonhole hashes the same parts with MD5; its database is
 * per user, ours may be shared, hence the recipient). The store is asked
 * through env->store_seen; a value not seen yet (or any value, with
 * :last) appends ACT_STORE_MARK, which the executor writes only once the
 * delivery has committed (Pigeonhole marks at commit too), so a failed
 * delivery that Postfix retries is not taken for a duplicate. Within one
 * run the same check answers the same (RFC 7352 3: values seen in this
 * execution are not duplicates). Also: sv_digest_hex (SHA-256).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../../lib/log.h"
#include "sieve-int.h"

#define SV_MAX_PERIOD	(10L * 366 * 86400)	/* cap on :seconds */

/* ---- SHA-256 (FIPS 180-4), enough for short keys ---- */

struct sha256 {
	uint32_t h[8];
	unsigned char blk[64];
	size_t n;		/* bytes in blk */
	uint64_t total;		/* bytes hashed */
};

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n)	(((x) >> (n)) | ((x) << (32 - (n))))

static void
sha256_block(struct sha256 *s, const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = w[i - 16] + (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^
		    (w[i - 15] >> 3)) + w[i - 7] + (ROR(w[i - 2], 17) ^
		    ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
	a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
	e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) +
		    ((e & f) ^ (~e & g)) + K256[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) +
		    ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void
sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372,
	    0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	memcpy(s->h, iv, sizeof iv);
	s->n = 0;
	s->total = 0;
}

static void
sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const unsigned char *p = data;

	s->total += len;
	while (len > 0) {
		size_t k = 64 - s->n < len ? 64 - s->n : len;

		memcpy(s->blk + s->n, p, k);
		s->n += k;
		p += k;
		len -= k;
		if (s->n == 64) {
			sha256_block(s, s->blk);
			s->n = 0;
		}
	}
}

static void
sha256_final(struct sha256 *s, unsigned char out[32])
{
	uint64_t bits = s->total * 8;
	unsigned char pad = 0x80, z = 0, len[8];
	int i;

	sha256_update(s, &pad, 1);
	while (s->n != 56)
		sha256_update(s, &z, 1);
	for (i = 0; i < 8; i++)
		len[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(s, len, 8);
	for (i = 0; i < 32; i++)
		out[i] = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

void
sv_digest_hex(const char *const *parts, size_t n, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[32];
	struct sha256 s;
	size_t i;

	sha256_init(&s);
	for (i = 0; i < n; i++) {
		const char *p = parts[i] ? parts[i] : "";

		sha256_update(&s, p, strlen(p) + 1);
	}
	sha256_final(&s, d);
	for (i = 0; i < 16; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[32] = '\0';
}

/* ---- the test ---- */

enum { DUP_HANDLE = 1, DUP_HEADER, DUP_UNIQUEID, DUP_SECONDS, DUP_LAST };

static const struct sv_tag dup_tags[] = {
	{ "handle", SV_P_STR, SV_G_OWN, DUP_HANDLE },
	{ "header", SV_P_STR, SV_G_OWN, DUP_HEADER },
	{ "uniqueid", SV_P_STR, SV_G_OWN, DUP_UNIQUEID },
	{ "seconds", SV_P_NUM, SV_G_OWN, DUP_SECONDS },
	{ "last", SV_P_NONE, SV_G_OWN, DUP_LAST },
	{ NULL, 0, 0, 0 },
};

/* One check already made in this run (RFC 7352 3). */
struct dup_seen {
	char key[80];
	int dup;
	struct dup_seen *next;
};

static int
hdr_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* RFC 5322 2.2: printable ASCII except ':' */
		if (c <= 32 || c >= 127 || c == ':')
			return 0;
	}
	return 1;
}

static int
dup_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_tagval *h = sv_node_tag(n, "header");
	const struct sv_tagval *u = sv_node_tag(n, "uniqueid");

	/* RFC 7352 3.1: :header and :uniqueid are mutually exclusive */
	if (h != NULL && u != NULL) {
		sv_verror(v, u->at->pos, "duplicate test: the :header and "
		    ":uniqueid arguments are mutually exclusive");
		return -1;
	}
	if (h != NULL && h->param != NULL && !h->param->v[0].vars &&
	    !hdr_name_ok(h->param->v[0].s, h->param->v[0].len)) {
		sv_verror(v, h->param->pos, "duplicate test: invalid header "
		    "name '%s'", h->param->v[0].s);
		return -1;
	}
	return 0;
}

static long
dup_period(struct sv_rctx *r, const struct sv_node *n)
{
	const struct sv_tagval *t = sv_node_tag(n, "seconds");
	struct sieve_reply_conf def;
	const struct sieve_reply_conf *c = sv_reply_conf(r, &def);
	long p;

	p = c->duplicate_default_period;
	if (t != NULL && t->param != NULL)
		p = t->param->num > (uint64_t)SV_MAX_PERIOD ? SV_MAX_PERIOD :
		    (long)t->param->num;
	if (c->duplicate_max_period > 0 && p > c->duplicate_max_period)
		p = c->duplicate_max_period;
	return p;
}

/* 1 seen, 0 not, -1 error (logged). */
static int
ask_store(struct sv_rctx *r, const char *key)
{
	int rc = r->env->store_seen(r->env->cb_arg, key);

	if (rc == -1)
		log_err("sieve: duplicate test: state store unavailable; "
		    "taking the message as new");
	return rc;
}

static int
dup_run(struct sv_rctx *r, const struct sv_node *n)
{
	const struct sv_tagval *th = sv_node_tag(n, "handle");
	const struct sv_tagval *hd = sv_node_tag(n, "header");
	const struct sv_tagval *ui = sv_node_tag(n, "uniqueid");
	int last = sv_node_tag(n, "last") != NULL;
	const char *handle = th ? sv_str_expand(r, &th->param->v[0]) : NULL;
	const char *value = NULL, *parts[5];
	struct dup_seen **state = (struct dup_seen **)sv_ext_state(r,
	    &sv_ext_duplicate), *s;
	char key[80], hex[33];
	int dup = 0, rc;

	if (ui != NULL) {
		value = sv_str_expand(r, &ui->param->v[0]);
	} else {
		const char *name = hd ? sv_str_expand(r, &hd->param->v[0]) :
		    "Message-ID";
		const struct hdr *h = hdr_name_ok(name, strlen(name)) ?
		    hdr_find(r->msg, name, 0) : NULL;

		if (h != NULL)
			value = hdr_decode(r->arena, h->value);
	}
	if (value == NULL) {
		r->trace_hit = "no value to track";
		return 0;
	}
	/* Pigeonhole's parts: "sieve duplicate", "0" (:last) or "+",
	 * "h-" handle or "default", the value; plus the recipient. */
	parts[0] = r->env->recipient ? r->env->recipient : "";
	parts[1] = last ? "0" : "+";
	parts[2] = handle ? "h-" : "default";
	parts[3] = handle ? handle : "";
	parts[4] = value;
	sv_digest_hex(parts, 5, hex);
	(void)snprintf(key, sizeof key, "sieve-duplicate:%s", hex);

	for (s = *state; s != NULL; s = s->next)
		if (strcmp(s->key, key) == 0) {
			r->trace_hit = s->dup ? "duplicate (checked before "
			    "in this run)" : "not a duplicate (checked before "
			    "in this run)";
			return s->dup;
		}
	if (r->env->store_seen == NULL) {
		log_info("sieve: duplicate test: no state store; taking the "
		    "message as new");
		r->trace_hit = "no state store";
		return 0;
	}
	rc = ask_store(r, key);
	if (rc == 0 && last) {
		/* RFC 7352 3.2: an entry made without :last counts too */
		char key2[80];

		parts[1] = "+";
		sv_digest_hex(parts, 5, hex);
		(void)snprintf(key2, sizeof key2, "sieve-duplicate:%s", hex);
		rc = ask_store(r, key2);
	}
	dup = rc == 1;
	if (!dup || last) {
		/* RFC 7352 3.2: with :last the period restarts at every
		 * delivery; without it, the first one counts. */
		struct action *a = sv_action_add(r, n, ACT_STORE_MARK, key, 0);

		if (a == NULL)
			return -1;
		a->period = dup_period(r, n);
	}
	s = arena_alloc(r->arena, sizeof *s);
	memcpy(s->key, key, sizeof key);
	s->dup = dup;
	s->next = *state;
	*state = s;
	r->trace_hit = dup ? "duplicate" : "not a duplicate";
	return dup;
}

static const struct sv_cmd duplicate_cmds[] = {
	{ .name = "duplicate", .kind = SV_TEST, .sig = "", .tags = dup_tags,
	  .validate = dup_validate, .run = dup_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_duplicate = {
	.name = "duplicate", .cmds = duplicate_cmds,
};
