/*
 * match.c - comparators (RFC 4790: i;octet, i;ascii-casemap,
 * i;ascii-numeric), match types (RFC 5228 2.7.1: :is, :contains,
 * :matches; RFC 5231 :count/:value; draft-ietf-sieve-regex :regex on
 * pcre2 with match and depth limits), and the match variables of RFC
 * 5229 3.2.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve-int.h"

int
sv_comparator_id(const char *name)
{
	if (!strcasecmp(name, "i;ascii-casemap"))
		return CMP_CASEMAP;
	if (!strcasecmp(name, "i;octet"))
		return CMP_OCTET;
	if (!strcasecmp(name, "i;ascii-numeric"))
		return CMP_NUMERIC;
	return -1;
}

static int
lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/*
 * RFC 4790 9.1.1: the value of a string is its leading digits; a string
 * that does not start with a digit is positive infinity, and two
 * infinities are equal.
 */
int
sv_numeric_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	size_t an = 0, bn = 0;
	int ainf = al == 0 || a[0] < '0' || a[0] > '9';
	int binf = bl == 0 || b[0] < '0' || b[0] > '9';
	int c;

	if (ainf || binf)
		return ainf && binf ? 0 : ainf ? 1 : -1;
	while (al > 1 && a[0] == '0' && a[1] >= '0' && a[1] <= '9')
		a++, al--;
	while (bl > 1 && b[0] == '0' && b[1] >= '0' && b[1] <= '9')
		b++, bl--;
	while (an < al && a[an] >= '0' && a[an] <= '9')
		an++;
	while (bn < bl && b[bn] >= '0' && b[bn] <= '9')
		bn++;
	if (an != bn)
		return an < bn ? -1 : 1;
	c = memcmp(a, b, an);
	return c < 0 ? -1 : c > 0;
}

/* Ordering for :value (RFC 5231 relational). */
static int
cmp_order(int cmp, const char *a, size_t al, const char *b, size_t bl)
{
	size_t i, n = al < bl ? al : bl;

	if (cmp == CMP_NUMERIC)
		return sv_numeric_cmp(a, al, b, bl);
	for (i = 0; i < n; i++) {
		int x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (cmp == CMP_CASEMAP)
			x = lc(x), y = lc(y);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return al == bl ? 0 : al < bl ? -1 : 1;
}

static int
relop_holds(int op, int c)
{
	switch (op) {
	case REL_GT: return c > 0;
	case REL_GE: return c >= 0;
	case REL_LT: return c < 0;
	case REL_LE: return c <= 0;
	case REL_EQ: return c == 0;
	default: return c != 0;
	}
}

static int
contains(int cmp, const char *s, size_t sl, const char *k, size_t kl)
{
	size_t i, j;

	if (kl == 0)
		return 1;
	if (cmp == CMP_OCTET)
		return mem_find(s, sl, k, kl) != NULL;
	for (i = 0; i + kl <= sl; i++) {
		for (j = 0; j < kl; j++)
			if (lc((unsigned char)s[i + j]) !=
			    lc((unsigned char)k[j]))
				break;
		if (j == kl)
			return 1;
	}
	return 0;
}

/* Length of the UTF-8 character at s (1 for bytes that start none). */
static size_t
u8len(const char *s, size_t left)
{
	unsigned char c = (unsigned char)s[0];
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

	return n <= left ? n : 1;
}

/*
 * RFC 5228 2.7.1 :matches: "*" any sequence, "?" one character, "\"
 * quotes the next character. Earlier wildcards match as little as
 * possible (the one backtrack point is the latest "*"), so ${1}.. follow
 * RFC 5229 3.2. With capture, r->match gets ${0}..${9} on success.
 */
int
sv_glob(struct sv_rctx *r, const char *pat, const char *s, size_t slen,
    int icase, int capture)
{
	size_t plen = strlen(pat), pi = 0, si = 0, star_pi = 0, star_si = 0;
	size_t cs[SV_MAX_MATCH], cl[SV_MAX_MATCH];
	size_t star_w = 0, w = 0;
	int have_star = 0;
	unsigned wi[256];
	size_t k, nw = 0;

	/* wildcard number of each pattern position (first 255 bytes) */
	for (k = 0; k < plen && k < 256; k++) {
		if (pat[k] == '\\' && k + 1 < plen) {
			wi[k++] = 0;
			if (k < 256)
				wi[k] = 0;
			continue;
		}
		wi[k] = (pat[k] == '*' || pat[k] == '?') ? (unsigned)++nw : 0;
	}
	memset(cs, 0, sizeof cs);
	memset(cl, 0, sizeof cl);
	while (si < slen) {
		w = pi < 256 ? wi[pi] : 0;
		if (pi < plen && pat[pi] == '*') {
			have_star = 1;
			star_pi = pi;
			star_si = si;
			star_w = w;
			if (w > 0 && w < SV_MAX_MATCH)
				cs[w] = si, cl[w] = 0;
			pi++;
			continue;
		}
		if (pi < plen && pat[pi] == '?') {
			size_t n = u8len(s + si, slen - si);

			if (w > 0 && w < SV_MAX_MATCH)
				cs[w] = si, cl[w] = n;
			si += n;
			pi++;
			continue;
		}
		if (pi < plen) {
			size_t q = pi;
			int pc, sc;

			if (pat[q] == '\\' && q + 1 < plen)
				q++;
			pc = (unsigned char)pat[q];
			sc = (unsigned char)s[si];
			if (icase)
				pc = lc(pc), sc = lc(sc);
			if (pc == sc) {
				pi = q + 1;
				si++;
				continue;
			}
		}
		if (!have_star)
			return 0;
		pi = star_pi + 1;
		star_si += u8len(s + star_si, slen - star_si);
		si = star_si;
		if (star_w > 0 && star_w < SV_MAX_MATCH)
			cl[star_w] = star_si - cs[star_w];
	}
	while (pi < plen && pat[pi] == '*') {
		w = pi < 256 ? wi[pi] : 0;
		if (w > 0 && w < SV_MAX_MATCH)
			cs[w] = si, cl[w] = 0;
		pi++;
	}
	if (pi != plen)
		return 0;
	if (capture) {
		sv_clear_match(r);
		sv_set_match(r, 0, s, slen);
		for (k = 1; k <= nw && k < SV_MAX_MATCH; k++)
			sv_set_match(r, (int)k, s + cs[k], cl[k]);
	}
	return 1;
}

static pcre2_code *
re_compile(const char *key, int cmp, char *errbuf, size_t errsz)
{
	int errcode;
	PCRE2_SIZE off;
	pcre2_code *re;
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;

	if (cmp == CMP_CASEMAP)
		opts |= PCRE2_CASELESS;
	re = pcre2_compile((PCRE2_SPTR)key, PCRE2_ZERO_TERMINATED, opts,
	    &errcode, &off, NULL);
	if (re == NULL) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(errcode, msg, sizeof msg);
		(void)snprintf(errbuf, errsz, "%s at offset %zu", (char *)msg,
		    (size_t)off);
	}
	return re;
}

int
sv_match_validate(struct sv_vctx *v, struct sv_node *n, size_t keyidx)
{
	const struct sv_arg *keys = n->pos_args[keyidx];
	static const char *const mtn[] = { "is", "contains", "matches",
	    "regex", "count", "value" };
	size_t k;

	if (n->match.comparator == CMP_NUMERIC &&
	    (n->match.mtype == MT_CONTAINS || n->match.mtype == MT_MATCHES ||
	    n->match.mtype == MT_REGEX)) {
		sv_verror(v, n->pos, "the comparator 'i;ascii-numeric' does "
		    "not support the :%s match type", mtn[n->match.mtype]);
		return -1;
	}
	if (n->match.mtype != MT_REGEX)
		return 0;
	for (k = 0; k < keys->n; k++) {
		char err[256];
		pcre2_code *re;

		if (keys->v[k].vars)
			continue;
		if ((re = re_compile(keys->v[k].s, n->match.comparator, err,
		    sizeof err)) == NULL) {
			sv_verror(v, keys->v[k].pos, "invalid regular "
			    "expression '%s' for regex match: %s",
			    keys->v[k].s, err);
			return -1;
		}
		pcre2_code_free(re);
	}
	return 0;
}

int
sv_match_begin(struct sv_matcher *m, struct sv_rctx *r,
    const struct sv_node *n, size_t keyidx)
{
	size_t k;

	memset(m, 0, sizeof *m);
	m->r = r;
	m->n = n;
	m->nkeys = sv_pos_list(r, n, keyidx, &m->keys);
	if (n->match.mtype == MT_REGEX) {
		m->re = arena_zalloc(r->arena, (m->nkeys + 1) * sizeof *m->re);
		for (k = 0; k < m->nkeys; k++) {
			char err[256];

			m->re[k] = re_compile(m->keys[k], n->match.comparator,
			    err, sizeof err);
			if (m->re[k] == NULL) {
				m->error = 1;
				sv_rerror(r, n, "invalid regular expression "
				    "'%s': %s", m->keys[k], err);
				return -1;
			}
		}
	}
	return 0;
}

static int
re_match(struct sv_matcher *m, pcre2_code *re, const char *v, size_t len)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	int rc, ret;

	pcre2_set_match_limit(mc, SV_REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(mc, SV_REGEX_DEPTH_LIMIT);
	rc = pcre2_match(re, (PCRE2_SPTR)v, len, 0, 0, md, mc);
	if (rc >= 0) {
		ret = 1;
		if (sv_ext_required(m->r->script, "variables")) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			int i;

			sv_clear_match(m->r);
			for (i = 0; i < rc && i < SV_MAX_MATCH; i++)
				if (ov[2 * i] != PCRE2_UNSET)
					sv_set_match(m->r, i, v + ov[2 * i],
					    ov[2 * i + 1] - ov[2 * i]);
		}
	} else if (rc == PCRE2_ERROR_NOMATCH) {
		ret = 0;
	} else {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(rc, msg, sizeof msg);
		sv_rerror(m->r, m->n, "regex match failed: %s (match limit "
		    "%d, depth limit %d)", (char *)msg, SV_REGEX_MATCH_LIMIT,
		    SV_REGEX_DEPTH_LIMIT);
		m->error = 1;
		ret = -1;
	}
	pcre2_match_data_free(md);
	pcre2_match_context_free(mc);
	return ret;
}

static int
match_one(struct sv_matcher *m, size_t k, const char *v, size_t len)
{
	const char *key = m->keys[k];
	size_t kl = strlen(key);
	int cmp = m->n->match.comparator;

	switch (m->n->match.mtype) {
	case MT_IS:
		if (cmp == CMP_NUMERIC)
			return sv_numeric_cmp(v, len, key, kl) == 0;
		if (cmp == CMP_OCTET)
			return len == kl && memcmp(v, key, kl) == 0;
		return mem_ieq(v, len, key, kl);
	case MT_CONTAINS:
		return contains(cmp, v, len, key, kl);
	case MT_MATCHES:
		return sv_glob(m->r, key, v, len, cmp == CMP_CASEMAP,
		    sv_ext_required(m->r->script, "variables"));
	case MT_REGEX:
		return re_match(m, m->re[k], v, len);
	case MT_VALUE:
		return relop_holds(m->n->match.relop,
		    cmp_order(cmp, v, len, key, kl));
	default:
		return 0;
	}
}

int
sv_match_value(struct sv_matcher *m, const char *v, size_t len)
{
	size_t k;

	if (m->error)
		return -1;
	m->count++;
	if (m->n->match.mtype == MT_COUNT || m->matched)
		return m->matched;
	for (k = 0; k < m->nkeys; k++) {
		int x = match_one(m, k, v, len);

		if (x < 0)
			return -1;
		if (x) {
			m->matched = 1;
			m->r->trace_hit = arena_strndup(m->r->arena, v,
			    len > 200 ? 200 : len);
			return 1;
		}
	}
	return 0;
}

int
sv_match_end(struct sv_matcher *m)
{
	size_t k;

	if (m->re != NULL)
		for (k = 0; k < m->nkeys; k++)
			if (m->re[k] != NULL)
				pcre2_code_free(m->re[k]);
	m->re = NULL;
	if (m->error)
		return -1;
	if (m->n->match.mtype == MT_COUNT) {
		char cnt[32];

		(void)snprintf(cnt, sizeof cnt, "%zu", m->count);
		for (k = 0; k < m->nkeys; k++)
			if (relop_holds(m->n->match.relop,
			    cmp_order(m->n->match.comparator, cnt, strlen(cnt),
			    m->keys[k], strlen(m->keys[k])))) {
				m->r->trace_hit = arena_strdup(m->r->arena,
				    cnt);
				return 1;
			}
		return 0;
	}
	return m->matched;
}
