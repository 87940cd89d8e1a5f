/*
 * rules.c - run a loaded rule set over one prepared message (score_run).
 *
 * SpamAssassin's semantics (Plugin/Check.pm, PerMsgStatus.pm got_hit):
 * only rules with a non-zero score in the active score set run; a rule
 * hits once, or with tflags multiple once per match (per body line,
 * stopping at maxhits) and each hit adds its score again; header rules
 * see every field of that name joined, the if-unset text (or "") when the
 * header is absent, and !~ hits when the pattern does not match; metas
 * run after everything else in dependency order and read hit counts
 * (0 for rules that did not hit, cannot run or do not exist). Rules whose
 * name starts with "__" never add to the score and are not listed.
 *
 * Order inside a kind follows priority then name; without short-circuit
 * (we have none) the order changes no result.
 *
 * Autolearn: only the decision is made here, as SpamAssassin's
 * AutoLearnThreshold plugin makes it with its defaults (learn points from
 * the non-Bayes score set, without __ rules and rules flagged
 * learn/noautolearn/userconf; spam at >= 12.0 with at least 3 header and
 * 3 body points unless a hit rule has autolearn_force, ham below 0.1):
 * res->autolearn is 1/-1/0 and autolearn_text "spam"/"ham"/"no"
 * ("disabled" without Bayes). We do not call bayes_learn() from here:
 * whether autolearn is on, and its thresholds, are the caller's
 * bayes_conf, so the caller learns when its configuration says so.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "../lib/sha256.h"
#include "rules-int.h"

#ifdef HAVE_HYPERSCAN
#include <hs.h>
#endif

double
rules_score(const struct score_rules *r, const struct rule *ru)
{
	return ru->scores[r->score_set];
}

struct sortkey {
	long priority;
	const char *name;
	int idx;
};

static int
cmp_run(const void *a, const void *b)
{
	const struct sortkey *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Sort rule indexes by priority, then name. */
static void
sort_list(const struct score_rules *r, int *list, size_t n)
{
	struct sortkey *k;
	size_t i;

	if (n < 2)
		return;
	k = xreallocarray(NULL, n, sizeof *k);
	for (i = 0; i < n; i++) {
		k[i].priority = r->rules[list[i]].priority;
		k[i].name = r->rules[list[i]].name;
		k[i].idx = list[i];
	}
	qsort(k, n, sizeof *k, cmp_run);
	for (i = 0; i < n; i++)
		list[i] = k[i].idx;
	free(k);
}

static void
push(int **arr, size_t *n, int v)
{
	*arr = xreallocarray(*arr, *n + 1, sizeof **arr);
	(*arr)[(*n)++] = v;
}

static int
hgroup_of(struct score_rules *r, const struct rule *ru)
{
	size_t i;

	for (i = 0; i < r->nhgroups; i++)
		if (r->hgroups[i].mods == ru->hmods &&
		    strcmp(r->hgroups[i].name, ru->hname) == 0)
			return (int)i;
	r->hgroups = xreallocarray(r->hgroups, r->nhgroups + 1,
	    sizeof *r->hgroups);
	r->hgroups[r->nhgroups].name = xstrdup(ru->hname);
	r->hgroups[r->nhgroups].mods = ru->hmods;
	return (int)r->nhgroups++;
}

/*
 * Order the metas so that each comes after the metas it reads (Kahn's
 * algorithm); those left in a cycle never hit, as SpamAssassin's
 * "unsolved meta dependencies".
 */
static void
order_metas(struct score_rules *r, struct score_load_report *rep)
{
	size_t n = r->nmetas, i, k, done = 0;
	int *pending = xcalloc(n ? n : 1, sizeof *pending);
	unsigned char *placed = xcalloc(n ? n : 1, 1);
	int *pos = xreallocarray(NULL, r->nrules ? r->nrules : 1,
	    sizeof *pos);
	int *out = xreallocarray(NULL, n ? n : 1, sizeof *out);
	size_t nout = 0;
	int progress = 1;

	for (i = 0; i < r->nrules; i++)
		pos[i] = -1;
	for (i = 0; i < n; i++)
		pos[r->metas[i]] = (int)i;
	for (i = 0; i < n; i++) {
		const struct rule *ru = &r->rules[r->metas[i]];

		for (k = 0; k < ru->ndeps; k++)
			if (pos[ru->deps[k]] >= 0 && ru->deps[k] != r->metas[i])
				pending[i]++;
			else if (ru->deps[k] == r->metas[i])
				pending[i] = n + 1; /* reads itself */
	}
	/* simple repeated passes keep the priority/name order among the
	 * ready ones; n is a few thousand at most */
	while (progress && done < n) {
		progress = 0;
		for (i = 0; i < n; i++) {
			const struct rule *ru;

			if (placed[i] || pending[i] != 0)
				continue;
			placed[i] = 1;
			done++;
			progress = 1;
			out[nout++] = r->metas[i];
			/* release the metas that read this one */
			for (k = 0; k < n; k++) {
				size_t d;

				if (placed[k])
					continue;
				ru = &r->rules[r->metas[k]];
				for (d = 0; d < ru->ndeps; d++)
					if (ru->deps[d] == r->metas[i] &&
					    pending[k] > 0)
						pending[k]--;
			}
		}
	}
	for (i = 0; i < n; i++)
		if (!placed[i] && rep != NULL)
			buf_addf(&rep->text, "%s:%u: excluding meta test %s: "
			    "unsolved meta dependencies (a cycle)\n",
			    r->rules[r->metas[i]].file ?
			    r->rules[r->metas[i]].file : "?",
			    r->rules[r->metas[i]].line,
			    r->rules[r->metas[i]].name);
	free(r->metas);
	r->metas = out;
	r->nmetas = nout;
	free(pending);
	free(placed);
	free(pos);
}

/* ---- the prefilter (see rules-int.h) ---- */

static const int *
kind_list(const struct score_rules *r, int kind, size_t *n)
{
	switch (kind) {
	case PF_BODY:
		*n = r->nbody;
		return r->body;
	case PF_RAWBODY:
		*n = r->nrawbody;
		return r->rawbody;
	case PF_FULL:
		*n = r->nfull;
		return r->full;
	default:
		*n = r->nuri;
		return r->uri;
	}
}

static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static unsigned char
fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Skip a character class starting at p[i] == '['; index after it, or
 * len when it does not end. */
static size_t
skip_class(const char *p, size_t len, size_t i)
{
	size_t k = i + 1;

	if (k < len && p[k] == '^')
		k++;
	if (k < len && p[k] == ']')
		k++;
	while (k < len && p[k] != ']') {
		if (p[k] == '\\')
			k++;
		else if (p[k] == '[' && k + 1 < len && (p[k + 1] == ':' ||
		    p[k + 1] == '.' || p[k + 1] == '=')) {
			const char *e = mem_find(p + k + 2, len - k - 2,
			    (const char[]){ p[k + 1], ']' }, 2);

			if (e != NULL)
				k = (size_t)(e - p) + 1;
		}
		k++;
	}
	return k < len ? k + 1 : len;
}

/* Index after the escape at p[i] == '\\' (\Q..\E, \x{..}, \o{..},
 * \p{..}, \g{..}, \k<..> and the like included). */
static size_t
skip_escape(const char *p, size_t len, size_t i)
{
	size_t k = i + 1;
	const char *e;

	if (k >= len)
		return len;
	switch (p[k]) {
	case 'Q':
		e = mem_find(p + k + 1, len - k - 1, "\\E", 2);
		return e ? (size_t)(e - p) + 2 : len;
	case 'x': case 'o': case 'p': case 'P': case 'g': case 'k':
	case 'N':
		if (k + 1 < len && strchr("{<'", p[k + 1]) != NULL) {
			char close = p[k + 1] == '{' ? '}' :
			    p[k + 1] == '<' ? '>' : '\'';

			for (k += 2; k < len && p[k] != close; k++)
				;
			return k < len ? k + 1 : len;
		}
		if (p[k] == 'x')	/* \xHH */
			for (k++; k < i + 4 && k < len &&
			    strchr("0123456789abcdefABCDEF", p[k]) != NULL; k++)
				;
		else if (p[k] == 'g')	/* \g-1 \g2 */
			for (k++; k < len && (is_digit((unsigned char)p[k]) ||
			    (p[k] == '-' && k == i + 2)); k++)
				;
		else
			k += p[k] == 'p' || p[k] == 'P' ? 2 : 1; /* \pL */
		return k < len ? k : len;
	case 'c':
		return k + 2 < len ? k + 2 : len;
	default:
		if (is_digit((unsigned char)p[k])) {
			for (k++; k < len && is_digit((unsigned char)p[k]); k++)
				;
			return k;
		}
		return k + 1;
	}
}

/* Skip a group starting at p[i] == '(' to after its ')'; len when it
 * does not close. Nesting is counted, not recursed. */
static size_t
skip_group(const char *p, size_t len, size_t i)
{
	size_t depth = 0, k = i;

	while (k < len) {
		if (p[k] == '\\')
			k = skip_escape(p, len, k);
		else if (p[k] == '[')
			k = skip_class(p, len, k);
		else {
			if (p[k] == '(')
				depth++;
			else if (p[k] == ')' && --depth == 0)
				return k + 1;
			k++;
		}
	}
	return len;
}

/*
 * A quantifier at p[*i]: consumed (with a lazy/possessive suffix),
 * *min0 set when it allows zero repetitions. 1 consumed, 0 none, -1 a
 * brace that is not a quantifier (pcre2 reads it as text).
 */
static int
quantifier(const char *p, size_t len, size_t *i, int *min0)
{
	size_t k = *i;

	if (k >= len)
		return 0;
	if (p[k] == '*' || p[k] == '?' || p[k] == '+') {
		*min0 = p[k] != '+';
		k++;
	} else if (p[k] == '{') {
		unsigned long m = 0;
		size_t d = ++k;

		while (k < len && is_digit((unsigned char)p[k]) && m < 100000)
			m = m * 10 + (unsigned long)(p[k++] - '0');
		if (k == d)
			return -1;
		if (k < len && p[k] == ',')
			for (k++; k < len && is_digit((unsigned char)p[k]); k++)
				;
		if (k >= len || p[k] != '}')
			return -1;
		k++;
		*min0 = m == 0;
	} else
		return 0;
	if (k < len && (p[k] == '?' || p[k] == '+'))
		k++;
	*i = k;
	return 1;
}

/* Inline options "(?flags)" or "(?flags:" at p[i]: 1 when they turn on
 * x (extended), which the loosening does not parse. */
static int
flags_have_x(const char *p, size_t len, size_t i)
{
	size_t k;

	for (k = i + 2; k < len && (p[k] == '-' || p[k] == '^' ||
	    (p[k] >= 'a' && p[k] <= 'z') || p[k] == 'J' || p[k] == 'U');
	    k++)
		if (p[k] == 'x')
			return 1;
	return 0;
}

/* Index of the '|' or ')' that ends the branch p[i] is in (len when
 * none): nested groups, classes and escapes skipped. *bad is set when
 * the part skipped holds an option setting such as (?i), which would
 * also apply to the alternatives after it. */
static size_t
branch_end(const char *p, size_t len, size_t i, int *bad)
{
	while (i < len && p[i] != '|' && p[i] != ')') {
		if (p[i] == '\\')
			i = skip_escape(p, len, i);
		else if (p[i] == '[')
			i = skip_class(p, len, i);
		else if (p[i] == '(') {
			size_t k = i + 1;

			if (k < len && p[k] == '?')
				for (k++; k < len && (p[k] == '-' ||
				    p[k] == '^' || (p[k] >= 'a' &&
				    p[k] <= 'z')); k++)
					;
			if (k > i + 2 && k < len && p[k] == ')')
				*bad = 1;
			i = skip_group(p, len, i);
		} else
			i++;
	}
	return i;
}

#define ANY_TEXT	"[\\s\\S]*"

/* Append "any text" unless out already ends with it. */
static void
any_text(struct buf *out)
{
	size_t n = sizeof ANY_TEXT - 1;

	if (out->len >= n && memcmp(out->data + out->len - n, ANY_TEXT,
	    n) == 0)
		return;
	buf_add(out, ANY_TEXT, n);
}


/*
 * Fuzzy letters. ReplaceTags rules (__MY_MALWARE, FUZZY_*...) spell
 * each letter as a group of a few thousand bytes: every UTF-8 and
 * entity look-alike of it. Kept as written, one letter eats the whole
 * branch budget, the loosened pattern ends up matching one byte and is
 * useless as a prefilter; those rules then run pcre2 on every line (the
 * costliest rules of the stock set). A group that is a finite set of
 * fixed strings (bytes, classes, nested such groups; no quantifiers,
 * anchors or dots) that is one letter (a one-byte spelling, none over
 * PF_FUZZY_LETTER_MAXW bytes) is replaced by a superset that keeps, per first byte, the
 * set of bytes that may follow it: "[first]" for the one-byte
 * spellings, "[first][rest]+" for the longer ones (UTF-8 lead bytes
 * then continuation bytes, "&" then "#0-9;"), a few dozen bytes that
 * count PF_FUZZY_COST bytes of budget. In plain ASCII text such a
 * letter matches only its ASCII look-alikes, so the copy stays
 * selective, and its automaton stays small. A wider group (a word
 * list spelt in fuzzy letters) is kept as a group, its letters
 * replaced one by one.
 */
#define PF_FUZZY_MIN_LEN	200	/* groups shorter are kept as written */
#define PF_FUZZY_MIN_HIGH	8	/* \x escapes of high bytes it needs */
#define PF_FUZZY_DEPTH		6	/* nesting followed */
#define PF_FUZZY_PAIRS		64	/* (first bytes, widths) kept */
#define PF_FUZZY_MAXW		63	/* widths tracked (bits of a word) */
#define PF_FUZZY_LETTER_MAXW	12	/* wider groups: not one letter */
#define PF_FUZZY_COST		16	/* budget a replaced group counts */
#define PF_OPT_CUT		64	/* an optional atom this long (loosened)
					 * becomes any text */

struct fz_pair {
	unsigned char first[32];	/* bitset of the first byte */
	unsigned char rest[32];		/* bitset of the bytes after it */
	uint64_t widths;		/* bit w: a match of w bytes */
};

struct fz_set {
	struct fz_pair v[PF_FUZZY_PAIRS];
	size_t n;
};

static void
fz_setbit(unsigned char *set, unsigned c)
{
	set[c >> 3] |= (unsigned char)(1u << (c & 7));
}

/* A byte written as \xHH (two digits) or a plain escape: 0 with *c
 * and the index after it, -1 for any other escape. */
static int
fz_escape(const char *p, size_t len, size_t i, unsigned *c, size_t *next)
{
	static const char hex[] = "0123456789abcdefABCDEF";
	unsigned char e;

	if (i + 1 >= len)
		return -1;
	e = (unsigned char)p[i + 1];
	if (e == 'x' && i + 3 < len && strchr(hex, p[i + 2]) != NULL &&
	    strchr(hex, p[i + 3]) != NULL && p[i + 2] != '\0' &&
	    p[i + 3] != '\0') {
		char h[3] = { p[i + 2], p[i + 3], 0 };

		*c = (unsigned)strtoul(h, NULL, 16);
		*next = i + 4;
		return 0;
	}
	if (is_alnum(e) || e < 0x20 || e >= 0x7f)
		return -1;	/* classes, anchors, references... */
	*c = e;
	*next = i + 2;
	return 0;
}

/* A class without escapes of classes or POSIX names: its byte set. */
static int
fz_class(const char *p, size_t len, size_t i, unsigned char *set,
    size_t *next)
{
	size_t k = i + 1;
	int neg = 0, first = 1, b;
	unsigned char tmp[32];

	memset(tmp, 0, sizeof tmp);
	if (k < len && p[k] == '^') {
		neg = 1;
		k++;
	}
	while (k < len && (p[k] != ']' || first)) {
		unsigned lo, hi;
		size_t nk;

		first = 0;
		if (p[k] == '[')
			return -1;	/* [:alpha:] and friends */
		if (p[k] == '\\') {
			if (fz_escape(p, len, k, &lo, &nk) == -1)
				return -1;
		} else {
			lo = (unsigned char)p[k];
			nk = k + 1;
		}
		hi = lo;
		if (nk + 1 < len && p[nk] == '-' && p[nk + 1] != ']') {
			if (p[nk + 1] == '\\') {
				if (fz_escape(p, len, nk + 1, &hi, &nk) == -1)
					return -1;
			} else {
				hi = (unsigned char)p[nk + 1];
				nk += 2;
			}
			if (hi < lo)
				return -1;
		}
		for (; lo <= hi; lo++)
			fz_setbit(tmp, lo);
		k = nk;
	}
	if (k >= len)
		return -1;
	for (b = 0; b < 32; b++)
		set[b] = neg ? (unsigned char)~tmp[b] : tmp[b];
	*next = k + 1;
	return 0;
}

/* Append pairs to an alternative: the alternative so far (alt, na
 * pairs; na 0: empty) followed by atom pairs (g). -1 on overflow. */
static int
fz_concat(struct fz_set *alt, int *empty, const struct fz_set *g)
{
	unsigned char gb[32];
	uint64_t gw = 0;
	size_t a, b;
	int w;

	if (*empty) {
		*alt = *g;
		*empty = 0;
		return 0;
	}
	/* every byte of g comes after the first byte of the alternative
	 * (an alternative is never empty) */
	memset(gb, 0, sizeof gb);
	for (a = 0; a < g->n; a++) {
		gw |= g->v[a].widths;
		for (b = 0; b < 32; b++)
			gb[b] |= g->v[a].first[b] | g->v[a].rest[b];
	}
	for (a = 0; a < alt->n; a++) {
		uint64_t nw = 0, cur = alt->v[a].widths;

		for (b = 0; b < 32; b++)
			alt->v[a].rest[b] |= gb[b];

		for (w = 0; w <= PF_FUZZY_MAXW; w++) {
			if (!(gw & ((uint64_t)1 << w)))
				continue;
			if (w > 0 && (cur >> (64 - w)) != 0)
				return -1;	/* too wide */
			nw |= cur << w;
		}
		alt->v[a].widths = nw;
	}
	return 0;
}

/*
 * The group at p[i] == '(' as a set of fixed strings: 0 with its
 * (first byte, widths) pairs in out and *next after its ')', or -1.
 */
static int
fz_group(const char *p, size_t len, size_t i, unsigned depth,
    struct fz_set *out, size_t *next)
{
	struct fz_set alt, atom;
	size_t k = i + 1, a;
	int empty = 1;

	if (depth > PF_FUZZY_DEPTH)
		return -1;
	if (k + 1 < len && p[k] == '?') {
		if (p[k + 1] != ':')
			return -1;
		k += 2;
	}
	out->n = 0;
	alt.n = 0;
	for (;;) {
		if (k >= len)
			return -1;
		if (p[k] == '|' || p[k] == ')') {
			if (empty)
				return -1;
			for (a = 0; a < alt.n; a++) {
				if (out->n == PF_FUZZY_PAIRS) {
					/* merge into the last pair */
					size_t b;

					for (b = 0; b < 32; b++) {
						out->v[out->n - 1].first[b] |=
						    alt.v[a].first[b];
						out->v[out->n - 1].rest[b] |=
						    alt.v[a].rest[b];
					}
					out->v[out->n - 1].widths |=
					    alt.v[a].widths;
				} else
					out->v[out->n++] = alt.v[a];
			}
			empty = 1;
			alt.n = 0;
			if (p[k++] == ')')
				break;
			continue;
		}
		memset(&atom, 0, sizeof atom);
		atom.n = 1;
		atom.v[0].widths = 2;	/* one byte */
		if (p[k] == '(') {
			if (fz_group(p, len, k, depth + 1, &atom, &k) == -1)
				return -1;
		} else if (p[k] == '[') {
			if (fz_class(p, len, k, atom.v[0].first, &k) == -1)
				return -1;
		} else if (p[k] == '\\') {
			unsigned c;

			if (fz_escape(p, len, k, &c, &k) == -1)
				return -1;
			fz_setbit(atom.v[0].first, c);
		} else if (strchr(".^$*+?{}", p[k]) != NULL) {
			return -1;
		} else {
			fz_setbit(atom.v[0].first, (unsigned char)p[k]);
			k++;
		}
		if (k < len && strchr("*+?{", p[k]) != NULL)
			return -1;	/* quantified: not a fixed string */
		if (fz_concat(&alt, &empty, &atom) == -1)
			return -1;
	}
	*next = k;
	return 0;
}

/* Append byte c for a class: letters and digits as they are (shorter
 * patterns), anything else as \\xHH. */
static void
fz_byte_emit(unsigned c, struct buf *out)
{
	if (c < 0x80 && is_alnum((unsigned char)c))
		buf_addc(out, (char)c);
	else
		buf_addf(out, "\\x%02x", c);
}

/* Append a class of the bytes in set. */
static void
fz_class_emit(const unsigned char *set, struct buf *out)
{
	unsigned c, lo;

	buf_addc(out, '[');
	for (c = 0; c < 256; c++) {
		if (!(set[c >> 3] & (1u << (c & 7))))
			continue;
		for (lo = c; c + 1 < 256 &&
		    (set[(c + 1) >> 3] & (1u << ((c + 1) & 7))); c++)
			;
		fz_byte_emit(lo, out);
		if (c > lo) {
			buf_addc(out, '-');
			fz_byte_emit(c, out);
		}
	}
	buf_addc(out, ']');
}

/* The repeat a pair's tail needs: 0 none (one byte), '*' when it may
 * also be one byte, else '+'. */
static int
fz_tail(const struct fz_pair *v)
{
	if ((v->widths & ~(uint64_t)2) == 0)
		return 0;
	return (v->widths & 2) ? '*' : '+';
}

/* Widen a rest set to whole blocks (UTF-8 continuation bytes, lead
 * bytes, digits) so that the look-alikes of a letter share a few
 * tails. */
static void
fz_coarse(const unsigned char *rest, unsigned char *out)
{
	static const unsigned char blocks[][2] = {
		{ 0x80, 0xbf }, { 0xc0, 0xff }, { '0', '9' },
	};
	size_t k;
	unsigned c;

	memcpy(out, rest, 32);
	for (k = 0; k < sizeof blocks / sizeof blocks[0]; k++) {
		for (c = blocks[k][0]; c <= blocks[k][1]; c++)
			if (rest[c >> 3] & (1u << (c & 7)))
				break;
		if (c > blocks[k][1])
			continue;
		for (c = blocks[k][0]; c <= blocks[k][1]; c++)
			fz_setbit(out, c);
	}
}

static int
fz_empty(const unsigned char set[32])
{
	size_t q;

	for (q = 0; q < 32; q++)
		if (set[q] != 0)
			return 0;
	return 1;
}

/*
 * Append the superset of a fuzzy group (see above): pairs with the
 * same tail (widened rest set and repeat) share one "[first][rest]+",
 * each wider than the exact {m,n} it stands for. With ascii, only what
 * can match text without bytes >= 0x80: for such text the same
 * language, in a fraction of the automaton (most spellings of a fuzzy
 * letter are UTF-8 sequences).
 */
static void
fz_emit(const struct fz_set *g, int ascii, struct buf *out)
{
	unsigned char rest[PF_FUZZY_PAIRS][32], done[PF_FUZZY_PAIRS];
	size_t a, b, q;
	int alts = 0;

	memset(done, 0, sizeof done);
	for (a = 0; a < g->n; a++)
		fz_coarse(g->v[a].rest, rest[a]);
	buf_add(out, "(?:", 3);
	for (a = 0; a < g->n; a++) {
		unsigned char set[32];
		int t = fz_tail(&g->v[a]);

		if (done[a])
			continue;
		memcpy(set, g->v[a].first, sizeof set);
		for (b = a + 1; b < g->n; b++)
			if (!done[b] && fz_tail(&g->v[b]) == t &&
			    (t == 0 || memcmp(rest[b], rest[a], 32) == 0)) {
				for (q = 0; q < 32; q++)
					set[q] |= g->v[b].first[q];
				done[b] = 1;
			}
		/* ASCII text: the bytes >= 0x80 of a spelling never match,
		 * and a spelling without an ASCII first byte (or, when it
		 * has more bytes, an ASCII next byte) never starts */
		if (ascii) {
			memset(set + 16, 0, 16);
			if (t != 0)
				memset(rest[a] + 16, 0, 16);
			if (fz_empty(set) || (t != 0 && fz_empty(rest[a])))
				continue;
		}
		if (alts++)
			buf_addc(out, '|');
		fz_class_emit(set, out);
		if (t != 0) {
			fz_class_emit(rest[a], out);
			buf_addc(out, (char)t);
		}
	}
	/* no ASCII spelling at all: a byte ASCII text never holds */
	if (alts == 0)
		buf_add(out, "\\xff", 4);
	buf_addc(out, ')');
}

/* Is a fuzzy group one letter: a one-byte spelling, none wider than
 * PF_FUZZY_LETTER_MAXW (an entity such as "&#181340;")? */
static int
fz_letter(const struct fz_set *g)
{
	uint64_t w = 0;
	size_t a;

	for (a = 0; a < g->n; a++)
		w |= g->v[a].widths;
	return (w & 2) != 0 && (w >> (PF_FUZZY_LETTER_MAXW + 1)) == 0;
}

/* Is the group p[i..end) worth replacing: long, with many high-byte
 * escapes (the look-alike letters, not word lists)? */
static int
fz_candidate(const char *p, size_t i, size_t end)
{
	size_t k, high = 0;

	if (end - i < PF_FUZZY_MIN_LEN)
		return 0;
	for (k = i; k + 3 < end && high < PF_FUZZY_MIN_HIGH; k++)
		if (p[k] == '\\' && p[k + 1] == 'x' &&
		    strchr("89abcdefABCDEF", p[k + 2]) != NULL &&
		    p[k + 2] != '\0')
			high++;
	return high >= PF_FUZZY_MIN_HIGH;
}

int
rules_pf_loosen(const char *p, size_t len, int flags, struct buf *out)
{
	const int drop_end = (flags & PF_LOOSEN_DROP_END) != 0;
	const int ascii = (flags & PF_LOOSEN_ASCII) != 0;
	size_t i = 0, mark = out->len, d = 0, atom_at = SIZE_MAX;
	size_t bstart[PF_MAX_DEPTH], gstart[PF_MAX_DEPTH], bpos[PF_MAX_DEPTH];
	size_t bmax[PF_MAX_DEPTH], gopen[PF_MAX_DEPTH];
	unsigned char fzin[PF_MAX_DEPTH];
	int min0, bad = 0;

	/*
	 * Budget: bstart[d] is where the current branch at depth d starts,
	 * moved on by what does not count (a fuzzy letter counts
	 * PF_FUZZY_COST; a closed group of fuzzy letters counts its
	 * longest branch, not all of them, so that a word list does not
	 * use up the branch it is in). bpos[d] is where it really starts;
	 * fzin[d]: the group at depth d holds a fuzzy letter.
	 */
	buf_reserve(out, len + 16);
	bstart[0] = bpos[0] = out->len;
	fzin[0] = 0;
	while (i < len) {
		unsigned char c = (unsigned char)p[i];
		size_t next;

		if (c == '|') {
			if (d > 0 && out->len - bstart[d] > bmax[d])
				bmax[d] = out->len - bstart[d];
			buf_addc(out, '|');
			bstart[d] = bpos[d] = out->len;
			i++;
			continue;
		}
		if (c == ')') {
			size_t used, k;

			if (d == 0)
				goto refuse;
			if (out->len - bstart[d] > bmax[d])
				bmax[d] = out->len - bstart[d];
			buf_addc(out, ')');
			used = out->len - bstart[d - 1];
			used = used > gopen[d] ? used - gopen[d] : 0;
			if (fzin[d] && used > bmax[d] + 4)
				for (k = 0; k < d; k++)
					bstart[k] += used - bmax[d] - 4;
			fzin[d - 1] |= fzin[d];
			atom_at = gstart[d];
			d--;
			i++;
			continue;
		}
		if (strchr("*+?{", c) == NULL &&
		    out->len - bstart[d] >= PF_BRANCH_BUDGET) {
			/* the rest of the branch becomes "any text": a
			 * superset, and a small automaton */
			i = branch_end(p, len, i, &bad);
			if (bad)
				goto refuse;
			any_text(out);
			continue;
		}
		if (strchr("*+?{", c) == NULL)
			atom_at = out->len;
		if (c == '\\') {
			unsigned char n = i + 1 < len ?
			    (unsigned char)p[i + 1] : 0;

			next = skip_escape(p, len, i);
			if ((is_digit(n) && n != '0') || n == 'g' || n == 'k') {
				if (n == 'g' && next > i + 2 && p[i + 2] == '<')
					goto refuse;	/* subroutine call */
				/* backreference: any text */
				buf_add(out, "(?s:.*)", 7);
			} else if (n == 'K' || n == 'G' || (drop_end &&
			    (n == 'z' || n == 'Z'))) {
				/* assertions and \K: dropping one only
				 * adds matches */
			} else
				buf_add(out, p + i, next - i);
			i = next;
		} else if (c == '[') {
			next = skip_class(p, len, i);
			buf_add(out, p + i, next - i);
			i = next;
		} else if (c == '(') {
			const char *g = p + i;
			size_t rest = len - i, gend = skip_group(p, len, i);
			struct fz_set *fz;

			if (fz_candidate(p, i, gend)) {
				fz = xmalloc(sizeof *fz);
				if (fz_group(p, len, i, 0, fz, &next) == 0 &&
				    next == gend &&
				    fz_letter(fz)) {
					size_t at = out->len, k, disc;

					fz_emit(fz, ascii, out);
					free(fz);
					/* counts PF_FUZZY_COST of the budget
					 * of every branch it is in */
					disc = out->len - at > PF_FUZZY_COST ?
					    out->len - at - PF_FUZZY_COST : 0;
					for (k = 0; k <= d; k++)
						bstart[k] += disc;
					fzin[d] = 1;
					i = next;
					continue;
				}
				free(fz);
			}
			if (rest > 1 && g[1] == '*')
				goto refuse;	/* (*VERB) */
			if (rest > 2 && g[1] == '?' && (g[2] == '=' ||
			    g[2] == '!' || g[2] == '#' || (rest > 3 &&
			    g[2] == '<' && (g[3] == '=' || g[3] == '!')))) {
				/* lookaround or comment: dropped with any
				 * quantifier it has */
				i = skip_group(p, len, i);
				if (quantifier(p, len, &i, &min0) == -1)
					goto refuse;
				continue;
			}
			if (rest > 2 && g[1] == '?' && (g[2] == '>' ||
			    g[2] == '|')) {
				buf_add(out, "(?:", 3);	/* atomic, reset */
				i += 3;
				goto opened;
			}
			if (rest > 2 && g[1] == '?' && (g[2] == '<' ||
			    g[2] == '\'' || (g[2] == 'P' && rest > 3 &&
			    g[3] == '<'))) {
				/* named group: numbering no longer matters */
				char close = g[2] == '\'' ? '\'' : '>';

				for (next = i + 3; next < len &&
				    p[next] != close; next++)
					;
				if (next >= len)
					goto refuse;
				buf_addc(out, '(');
				i = next + 1;
				goto opened;
			}
			if (rest > 2 && g[1] == '?' && (g[2] == ':' ||
			    g[2] == '-' || g[2] == '^' || (g[2] >= 'a' &&
			    g[2] <= 'z') || g[2] == 'J' || g[2] == 'U')) {
				if (flags_have_x(p, len, i))
					goto refuse;
				for (next = i + 2; next < len &&
				    p[next] != ':' && p[next] != ')'; next++)
					;
				if (next >= len)
					goto refuse;
				buf_add(out, p + i, next + 1 - i);
				i = next + 1;
				if (p[next] == ')')
					continue;	/* (?i): no group */
				goto opened;
			}
			if (rest > 1 && g[1] == '?')
				goto refuse;	/* (?( (?R) (?1) (?& (?C ... */
			buf_addc(out, '(');
			i++;
opened:
			if (++d >= PF_MAX_DEPTH)
				goto refuse;
			gstart[d] = atom_at;
			bstart[d] = bpos[d] = out->len;
			bmax[d] = 0;
			fzin[d] = 0;
			gopen[d] = out->len - bstart[d - 1];
			continue;
		} else if (c == '$' && drop_end) {
			i++;
			continue;
		} else if (c == '*' || c == '+' || c == '?' || c == '{') {
			size_t q = i;
			unsigned long qmin = 0;

			if (c == '{')
				for (q = i + 1; q < len &&
				    is_digit((unsigned char)p[q]) &&
				    qmin < 100000; q++)
					qmin = qmin * 10 +
					    (unsigned long)(p[q] - '0');
			q = i;

			switch (quantifier(p, len, &q, &min0)) {
			case 1:
				/* an optional atom that starts its branch
				 * becomes "any text" too, so that the budget
				 * goes to the part every match needs */
				if (min0 && atom_at == bpos[d]) {
					out->len = atom_at;
					any_text(out);
					bstart[d] = bpos[d] = out->len;
					i = q;
					break;
				}
				/* so does a long optional atom elsewhere
				 * (X(?:long)?Y: X, any text, Y) */
				if (min0 && atom_at != SIZE_MAX &&
				    out->len - atom_at >= PF_OPT_CUT) {
					size_t k;

					out->len = atom_at;
					any_text(out);
					for (k = 0; k <= d; k++)
						if (bstart[k] > out->len)
							bstart[k] = out->len;
					i = q;
					break;
				}
				/* a small minimum count is kept: it is
				 * what makes \w{20} telling */
				if (!min0 && c == '{' && qmin > 1 &&
				    qmin <= PF_MAX_KEEP_MIN) {
					buf_addf(out, "{%lu,}", qmin);
					i = q;
					break;
				}
				/* {m,n} -> * or +: the loosest repeat
				 * with the same minimum-zero-ness; lazy and
				 * possessive change no match's existence */
				if (c == '?' && q == i + 1)
					buf_addc(out, '?');
				else
					buf_addc(out, min0 ? '*' : '+');
				i = q;
				break;
			case -1:
				buf_add(out, "\\{", 2);	/* text */
				i++;
				break;
			default:
				buf_addc(out, c);
				i++;
				break;
			}
			continue;
		} else {
			buf_addc(out, c);
			i++;
		}
	}
	return 0;
refuse:
	out->len = mark;
	return -1;
}

/*
 * The longest run of plain bytes at the top level, none of them
 * optional. Conservative: top-level alternation, inline option changes,
 * /x and escapes it does not know give none.
 */
int
rules_pf_literal(const char *p, size_t len, uint32_t opts, struct buf *out)
{
	size_t i = 0, run = 0, best = 0, best_at = 0, k;
	struct buf cur = BUF_INIT;
	int ret = -1, min0, caseless = (opts & PCRE2_CASELESS) != 0;

	if (opts & (PCRE2_EXTENDED | PCRE2_EXTENDED_MORE))
		return -1;
	for (k = 0; k + 2 < len; k++)
		if (p[k] == '(' && p[k + 1] == '?' &&
		    strchr("imsxnUJ^-", p[k + 2]) != NULL &&
		    (k == 0 || p[k - 1] != '\\'))
			return -1;	/* (?i) and friends */
	buf_reserve(&cur, len + 1);
	while (i < len) {
		unsigned char c = (unsigned char)p[i];
		int lit = 0;
		size_t next;

		if (c == '\\') {
			if (i + 1 >= len)
				goto out;
			c = (unsigned char)p[i + 1];
			if (is_alnum(c)) {
				if (strchr("dDwWsSbBAzZGntrfeahHvVRK", c) ==
				    NULL)
					goto out;	/* \x41, \1, \Q... */
				if (strchr("ntrfea", c) != NULL) {
					static const char from[] = "ntrfea";
					static const char to[] =
					    "\n\t\r\f\033\a";

					c = (unsigned char)
					    to[strchr(from, c) - from];
					lit = 1;
				}
			} else
				lit = 1;	/* \. \/ \- ... */
			next = i + 2;
		} else if (c == '[') {
			next = skip_class(p, len, i);
		} else if (c == '(') {
			next = skip_group(p, len, i);
		} else if (c == '|' || c == ')') {
			goto out;	/* alternation or unbalanced */
		} else if (c == '.' || c == '^' || c == '$' || c == '*' ||
		    c == '+' || c == '?' || c == '{') {
			next = i + 1;
		} else {
			lit = 1;
			next = i + 1;
		}
		i = next;
		min0 = 0;
		switch (quantifier(p, len, &i, &min0)) {
		case -1:
			goto out;
		case 1:
			if (lit && !min0) {
				/* required once, then a break */
				buf_addc(&cur, caseless ? fold(c) : c);
				run++;
			}
			lit = 0;
			break;
		default:
			break;
		}
		if (lit) {
			buf_addc(&cur, caseless ? fold(c) : c);
			run++;
			continue;
		}
		if (run > best) {
			best = run;
			best_at = cur.len - run;
		}
		run = 0;
	}
	if (run > best) {
		best = run;
		best_at = cur.len - run;
	}
	if (best >= PF_MIN_LITERAL) {
		buf_add(out, cur.data + best_at, best);
		ret = 0;
	}
out:
	buf_free(&cur);
	return ret;
}


/* ---- the Hyperscan database cache ----
 *
 * Compiling the prefilter databases of the stock rules costs seconds;
 * deserialising them costs milliseconds. A database is stored per kind
 * in the cache directory as "hs-KIND-HEX" (HEX: the SHA-256 key of
 * everything the database is built from: the format version, the
 * Hyperscan version and platform, the PF_* constants, and per list
 * position the pcre2 source, options, pieces and the loosened copies).
 * File: HSC_MAGIC, the key, the per-position modes, the serialised
 * database, and a SHA-256 of all that. A database is native code tables
 * Hyperscan trusts: a file is read only when it is a regular file owned
 * by root or by us and writable by nobody else, in a directory of the
 * same kind, and its checksum and key match. The database is only a
 * prefilter (pcre2 confirms every candidate), but one built from other
 * patterns could miss a line, so the key covers every input.
 */
#define HSC_MAGIC		"sluice-hs-cache 1\n"
#define HSC_MAX_FILE		(512L * 1024 * 1024)	/* bytes read */

/* Hash a length and then the bytes, so that concatenations differ. */
static void
sha256_field(struct sha256 *c, const void *p, size_t len)
{
	uint64_t n = len;

	sha256_update(c, &n, sizeof n);
	sha256_update(c, p, len);
}

/* A file or directory we may trust: owned by root or by us, not
 * writable by group or others. */
static int
hsc_trusted(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) &&
	    !(st->st_mode & (S_IWGRP | S_IWOTH));
}

int
rules_hsc_dir(const char *dir, int create)
{
	struct stat st;
	int ret;

	if (dir == NULL || *dir == '\0')
		return -1;
	if (create && mkdir(dir, 0755) == -1 && errno != EEXIST)
		return -1;
	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    !hsc_trusted(&st))
		return -1;
	ret = access(dir, W_OK | X_OK) == 0 ? 1 : 0;
	return ret;
}

static int
hsc_path(char *path, size_t size, const char *dir, const char *kind,
    const unsigned char key[32])
{
	char hex[SHA256_HEXLEN + 1];
	int n;

	n = snprintf(path, size, "%s/hs-%s-%s", dir, kind,
	    sha256_hex(key, hex));
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Read the whole of an open, checked file into out. */
static int
hsc_read_fd(int fd, size_t size, struct buf *out)
{
	size_t got = 0;

	buf_reserve(out, size + 1);
	while (got < size) {
		ssize_t n = read(fd, out->data + got, size - got);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	out->len = got;
	return 0;
}

/*
 * The cached modes (nmodes bytes into modes) and file bytes of the
 * database for key: 0 with *db_at and *db_len pointing into file, -1 when
 * there is no trustworthy entry.
 */
int
rules_hsc_get(const char *dir, const char *kind, const unsigned char key[32],
    unsigned char *modes, size_t nmodes, struct buf *file,
    const char **db_at, size_t *db_len)
{
	char path[PATH_MAX];
	unsigned char sum[32];
	struct stat st;
	const char *p;
	size_t rest, ml = sizeof HSC_MAGIC - 1;
	uint64_t n;
	int fd, ret = -1;

	if (hsc_path(path, sizeof path, dir, kind, key) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    !hsc_trusted(&st) || st.st_size < (off_t)(ml + 32 + 8 + 8 + 32) ||
	    st.st_size > HSC_MAX_FILE)
		goto out;
	buf_reset(file);
	if (hsc_read_fd(fd, (size_t)st.st_size, file) == -1)
		goto out;
	rest = file->len - 32;
	sha256(file->data, rest, sum);
	if (memcmp(sum, file->data + rest, 32) != 0)
		goto out;
	p = file->data;
	if (memcmp(p, HSC_MAGIC, ml) != 0 || memcmp(p + ml, key, 32) != 0)
		goto out;
	p += ml + 32;
	rest -= ml + 32;
	memcpy(&n, p, 8);
	if (n != nmodes || rest < 8 + n + 8)
		goto out;
	memcpy(modes, p + 8, nmodes);
	p += 8 + nmodes;
	rest -= 8 + nmodes;
	memcpy(&n, p, 8);
	if (n != rest - 8 || n == 0)
		goto out;
	*db_at = p + 8;
	*db_len = (size_t)n;
	ret = 0;
out:
	close(fd);
	return ret;
}

/* Store an entry: temp file, fsync, rename, fsync of the directory, so
 * that a reader sees a whole file or none. 0, or -1 (nothing left). */
int
rules_hsc_put(const char *dir, const char *kind, const unsigned char key[32],
    const unsigned char *modes, size_t nmodes, const char *db,
    size_t dblen)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	unsigned char sum[32];
	struct buf f = BUF_INIT;
	uint64_t n;
	size_t off = 0;
	int fd = -1, dfd, ret = -1;

	if (hsc_path(path, sizeof path, dir, kind, key) == -1 ||
	    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp)
		return -1;
	buf_add(&f, HSC_MAGIC, sizeof HSC_MAGIC - 1);
	buf_add(&f, key, 32);
	n = nmodes;
	buf_add(&f, &n, 8);
	buf_add(&f, modes, nmodes);
	n = dblen;
	buf_add(&f, &n, 8);
	buf_add(&f, db, dblen);
	sha256(f.data, f.len, sum);
	buf_add(&f, sum, 32);
	if ((fd = mkstemp(tmp)) == -1)
		goto out;
	if (fchmod(fd, 0644) == -1)
		goto fail;
	while (off < f.len) {
		ssize_t w = write(fd, f.data + off, f.len - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	ret = 0;
	goto out;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
out:
	buf_free(&f);
	return ret;
}

#ifdef HAVE_HYPERSCAN
/* Hyperscan flags for a pattern pcre2 compiled with opts; -1 when
 * Hyperscan cannot read it the same way. */
static int
hs_flags_of(uint32_t opts, unsigned *flags)
{
	*flags = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
	if (opts & PCRE2_CASELESS)
		*flags |= HS_FLAG_CASELESS;
	if (opts & PCRE2_DOTALL)
		*flags |= HS_FLAG_DOTALL;
	if (opts & PCRE2_MULTILINE)
		*flags |= HS_FLAG_MULTILINE;
	if (opts & (PCRE2_EXTENDED | PCRE2_EXTENDED_MORE))
		return -1;
	return 0;
}

struct hs_set {
	char **expr;
	unsigned *flags, *ids;
	size_t n, cap;
};

/* A loosened copy of text that Hyperscan accepts, appended to set; -1
 * when there is none. */
static int
hs_add(struct hs_set *set, const char *text, size_t len, unsigned fl,
    unsigned id, int lflags)
{
	struct buf b = BUF_INIT;
	int drop_end;

	for (drop_end = 0; drop_end < 2; drop_end++) {
		hs_expr_info_t *info = NULL;
		hs_compile_error_t *ce = NULL;

		buf_reset(&b);
		if (rules_pf_loosen(text, len, (drop_end ?
		    PF_LOOSEN_DROP_END : 0) | lflags, &b) == -1)
			break;
		if (b.len > PF_MAX_HS_LEN ||
		    memchr(b.data ? b.data : "", 0, b.len) != NULL)
			break;
		buf_addc(&b, 0);
		if (hs_expression_info(b.data, fl, &info, &ce) != HS_SUCCESS) {
			hs_free_compile_error(ce);
			continue;
		}
		if (info->min_width < PF_MIN_WIDTH) {
			/* names nearly every line: costs a scan and
			 * saves nothing */
			free(info);
			break;
		}
		free(info);	/* hs_misc_alloc is malloc */
		if (set->n == set->cap) {
			set->cap = set->cap ? set->cap * 2 : 64;
			set->expr = xreallocarray(set->expr, set->cap,
			    sizeof *set->expr);
			set->flags = xreallocarray(set->flags, set->cap,
			    sizeof *set->flags);
			set->ids = xreallocarray(set->ids, set->cap,
			    sizeof *set->ids);
		}
		set->expr[set->n] = buf_steal(&b);
		set->flags[set->n] = fl;
		set->ids[set->n++] = id;
		return 0;
	}
	buf_free(&b);
	return -1;
}

/*
 * Does a loosened expression hold a fuzzy letter (fz_emit's
 * "[\x80-\xbf]+" tail)? Those go to a database of their own: compiled
 * with the rest, Hyperscan takes twice as long to compile both and
 * scans no faster.
 */
static int
hs_is_fuzzy(const char *expr)
{
	return strstr(expr, "[\\x80-\\xbf]+") != NULL ||
	    strstr(expr, "[\\x80-\\xbf]*") != NULL;
}

/* Remove every expression of id from set. */
static void
hs_drop(struct hs_set *set, unsigned id)
{
	size_t i, k = 0;

	for (i = 0; i < set->n; i++) {
		if (set->ids[i] % PF_ID_STRIDE == id) {
			free(set->expr[i]);
			continue;
		}
		set->expr[k] = set->expr[i];
		set->flags[k] = set->flags[i];
		set->ids[k++] = set->ids[i];
	}
	set->n = k;
}

/*
 * The Hyperscan database of the kind: positions whose pattern (or,
 * when that is too long for Hyperscan, each of its pcre2 pieces, all
 * under the position's id) Hyperscan accepts get PF_M_HS. A compile
 * that fails naming one expression drops its position and tries again
 * (bounded by the number of positions).
 */
static const char *const pf_kind_names[PF_NKINDS] = {
	"body", "rawbody", "full", "uri",
};

/* The cache key of a kind's database: every input build_hs reads. */
static void
hsc_key(const struct rules_pf *pf, const struct score_rules *r,
    const int *list, int kind, unsigned char key[32])
{
	static const unsigned consts[] = { PF_MIN_LITERAL, PF_BRANCH_BUDGET,
	    PF_FUZZY_MIN_LEN, PF_FUZZY_MIN_HIGH, PF_FUZZY_COST,
	    PF_FUZZY_LETTER_MAXW, PF_OPT_CUT,
	    3 /* databases per kind: plain, fuzzy (hs_is_fuzzy) and its
	       * ASCII copy (PF_LOOSEN_ASCII) */,
	    PF_MAX_DEPTH, PF_MAX_KEEP_MIN, PF_MIN_WIDTH, PF_MAX_HS_LEN,
	    PF_ID_STRIDE, HS_MODE_BLOCK };
	hs_platform_info_t plat;
	struct sha256 c;
	struct buf b = BUF_INIT;
	const char *v = hs_version();
	size_t pos, k;
	uint64_t x;

	sha256_init(&c);
	sha256_field(&c, HSC_MAGIC, sizeof HSC_MAGIC - 1);
	sha256_field(&c, pf_kind_names[kind], strlen(pf_kind_names[kind]));
	sha256_field(&c, v, strlen(v));
	memset(&plat, 0, sizeof plat);
	if (hs_populate_platform(&plat) == HS_SUCCESS) {
		x = plat.tune;
		sha256_field(&c, &x, sizeof x);
		x = plat.cpu_features;
		sha256_field(&c, &x, sizeof x);
	}
	sha256_field(&c, consts, sizeof consts);
	x = pf->n;
	sha256_field(&c, &x, sizeof x);
	for (pos = 0; pos < pf->n; pos++) {
		const struct perlre *re = &r->rules[list[pos]].re;
		int drop;

		x = re->opts;
		sha256_field(&c, &x, sizeof x);
		sha256_field(&c, re->src ? re->src : "", re->src ? re->srclen :
		    0);
		x = re->ncode;
		sha256_field(&c, &x, sizeof x);
		for (k = 0; re->psrc != NULL && k < re->ncode; k++)
			sha256_field(&c, re->psrc[k], strlen(re->psrc[k]));
		/* the loosening's output too: a change to it is a new key */
		for (drop = 0; drop < 2 && re->src != NULL; drop++) {
			buf_reset(&b);
			if (rules_pf_loosen(re->src, re->srclen, drop, &b) == -1)
				buf_add(&b, "-", 1);
			sha256_field(&c, b.data ? b.data : "", b.len);
		}
	}
	buf_free(&b);
	sha256_final(&c, key);
}

/* Use a cached database: 0 with pf->db and the modes set. */
static int
hsc_load(struct rules_pf *pf, struct score_rules *r, const char *kind,
    const unsigned char key[32])
{
	struct buf file = BUF_INIT;
	unsigned char *modes = xcalloc(pf->n, 1);
	hs_database_t *db = NULL;
	hs_scratch_t *sc = r->pf_scratch;
	const char *at;
	size_t len, pos;
	int ret = -1;

	if (rules_hsc_get(r->pf_cache_dir, kind, key, modes, pf->n, &file,
	    &at, &len) == -1)
		goto out;
	for (pos = 0; pos < pf->n; pos++)
		if (modes[pos] != PF_M_ALWAYS && modes[pos] != PF_M_HS)
			goto out;
	if (hs_deserialize_database(at, len, &db) != HS_SUCCESS) {
		db = NULL;
		goto out;
	}
	if (hs_alloc_scratch(db, &sc) != HS_SUCCESS) {
		hs_free_database(db);
		goto out;
	}
	r->pf_scratch = sc;
	memcpy(pf->mode, modes, pf->n);
	pf->db = db;
	ret = 0;
out:
	buf_free(&file);
	free(modes);
	return ret;
}

/* Store what build_hs compiled (failures only cost the next load). */
static void
hsc_store(const struct rules_pf *pf, const struct score_rules *r,
    const char *kind, const unsigned char key[32])
{
	char *bytes = NULL;
	size_t len = 0;

	if (hs_serialize_database(pf->db, &bytes, &len) != HS_SUCCESS)
		return;
	(void)rules_hsc_put(r->pf_cache_dir, kind, key, pf->mode, pf->n,
	    bytes, len);
	free(bytes);	/* hs_misc_alloc is malloc */
}

/*
 * Compile set into a database: an expression Hyperscan refuses drops
 * its position (PF_M_ALWAYS) and the rest is tried again (bounded by
 * the number of positions). NULL when nothing compiles; then every
 * position of set is PF_M_ALWAYS.
 */
static hs_database_t *
hs_compile_set(struct rules_pf *pf, struct score_rules *r,
    struct hs_set *set)
{
	hs_database_t *db = NULL;
	hs_compile_error_t *ce = NULL;
	size_t k;

	while (set->n > 0) {
		if (hs_compile_multi((const char *const *)set->expr,
		    set->flags, set->ids, (unsigned)set->n, HS_MODE_BLOCK,
		    NULL, &db, &ce) == HS_SUCCESS)
			break;
		db = NULL;
		if (ce->expression < 0 || (size_t)ce->expression >= set->n) {
			/* not one pattern's fault: no database */
			hs_free_compile_error(ce);
			break;
		}
		k = set->ids[ce->expression] % PF_ID_STRIDE;
		hs_free_compile_error(ce);
		pf->mode[k] = PF_M_ALWAYS;
		hs_drop(set, (unsigned)k);	/* with all its pieces */
	}
	if (db != NULL) {
		hs_scratch_t *sc = r->pf_scratch;

		if (hs_alloc_scratch(db, &sc) == HS_SUCCESS)
			r->pf_scratch = sc;
		else {
			hs_free_database(db);
			db = NULL;
		}
	}
	if (db == NULL)
		for (k = 0; k < set->n; k++)
			pf->mode[set->ids[k] % PF_ID_STRIDE] = PF_M_ALWAYS;
	return db;
}

/* Append an expression (set takes it). */
static void
hs_push(struct hs_set *t, char *expr, unsigned fl, unsigned id)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->expr = xreallocarray(t->expr, t->cap, sizeof *t->expr);
		t->flags = xreallocarray(t->flags, t->cap, sizeof *t->flags);
		t->ids = xreallocarray(t->ids, t->cap, sizeof *t->ids);
	}
	t->expr[t->n] = expr;
	t->flags[t->n] = fl;
	t->ids[t->n++] = id;
}

/*
 * Compile set all or nothing: a database only when every expression of
 * set goes in, so that it can stand in for another with the same ids
 * (the fuzzy-ASCII one for the fuzzy one); the modes are left alone.
 */
static hs_database_t *
hs_compile_same(struct rules_pf *pf, struct score_rules *r,
    struct hs_set *set)
{
	unsigned char *mode = xmalloc(pf->n ? pf->n : 1);
	size_t n = set->n;
	hs_database_t *db;

	memcpy(mode, pf->mode, pf->n);
	db = hs_compile_set(pf, r, set);
	memcpy(pf->mode, mode, pf->n);
	free(mode);
	if (db != NULL && set->n != n) {
		hs_free_database(db);
		db = NULL;
	}
	return db;
}

static void
hs_set_free(struct hs_set *set)
{
	size_t k;

	for (k = 0; k < set->n; k++)
		free(set->expr[k]);
	free(set->expr);
	free(set->flags);
	free(set->ids);
	memset(set, 0, sizeof *set);
}

/* Cache entry name of the fuzzy ("fz") or fuzzy-ASCII ("fza") database
 * of a kind. */
static void
fz_kind_name(char *name, size_t size, int kind, const char *which)
{
	(void)buf_fmt(name, size, "%s-%s", pf_kind_names[kind], which);
}

/*
 * Will build_hs make a fuzzy database for this kind (some pattern
 * loosens to fuzzy letters)? Decides whether a cached kind needs its
 * "-fz" entry too.
 */
static int
kind_has_fuzzy(const struct rules_pf *pf, const struct score_rules *r,
    const int *list)
{
	struct buf b = BUF_INIT;
	size_t pos;
	int yes = 0;

	for (pos = 0; pos < pf->n && !yes; pos++) {
		const struct perlre *re = &r->rules[list[pos]].re;

		buf_reset(&b);
		if (re->src == NULL || rules_pf_loosen(re->src, re->srclen, 0,
		    &b) == -1)
			continue;
		buf_addc(&b, 0);
		yes = hs_is_fuzzy(b.data);
	}
	buf_free(&b);
	return yes;
}

/* Load the kind's databases from the cache: 0 with pf->db (and
 * pf->fzdb when the kind has one) and the modes set. */
static int
hsc_load_kind(struct rules_pf *pf, struct score_rules *r, const int *list,
    int kind, const unsigned char key[32])
{
	struct rules_pf fz;
	char name[32];

	if (hsc_load(pf, r, pf_kind_names[kind], key) == -1)
		return -1;
	if (!kind_has_fuzzy(pf, r, list))
		return 0;
	memset(&fz, 0, sizeof fz);
	fz.n = pf->n;
	fz.mode = xcalloc(pf->n ? pf->n : 1, 1);
	fz_kind_name(name, sizeof name, kind, "fz");
	if (hsc_load(&fz, r, name, key) == -1 ||
	    memcmp(fz.mode, pf->mode, pf->n) != 0) {
		if (fz.db != NULL)
			hs_free_database(fz.db);
		free(fz.mode);
		hs_free_database(pf->db);
		pf->db = NULL;
		memset(pf->mode, PF_M_ALWAYS, pf->n);
		return -1;
	}
	pf->fzdb = fz.db;
	/* the ASCII copy is optional: without it, ASCII lines are scanned
	 * with the fuzzy database too */
	memset(fz.mode, 0, pf->n);
	fz.db = NULL;
	fz_kind_name(name, sizeof name, kind, "fza");
	if (hsc_load(&fz, r, name, key) == 0) {
		if (memcmp(fz.mode, pf->mode, pf->n) == 0)
			pf->fzadb = fz.db;
		else
			hs_free_database(fz.db);
	}
	free(fz.mode);
	return 0;
}

static void
build_hs(struct rules_pf *pf, struct score_rules *r, const int *list,
    int kind)
{
	/* set[0]: plain expressions, set[1]: with fuzzy letters, set[2]:
	 * set[1]'s patterns loosened for ASCII lines, under the same ids */
	struct hs_set set[3];
	unsigned char key[32];
	size_t pos, k;
	unsigned fl;
	int s;

	memset(set, 0, sizeof set);
	if (r->pf_cache_dir != NULL) {
		hsc_key(pf, r, list, kind, key);
		if (hsc_load_kind(pf, r, list, kind, key) == 0)
			return;
		/* auto mode: compile only when the result can be kept */
		if (r->pf_hs == 0 && !r->pf_cache_writable)
			return;
	} else if (r->pf_hs <= 0)
		return;

	for (pos = 0; pos < pf->n; pos++) {
		const struct perlre *re = &r->rules[list[pos]].re;
		struct hs_set one, asc;
		int ok, split;

		if (re->src == NULL || hs_flags_of(re->opts, &fl) == -1)
			continue;
		memset(&one, 0, sizeof one);
		memset(&asc, 0, sizeof asc);
		/* a split pattern piece by piece, each with its own id, so
		 * that only the pieces that may match a line run on it;
		 * the whole pattern when a piece cannot go */
		ok = split = 0;
		if (re->ncode > 1 && re->ncode <= PERLRE_MAX_PARTS) {
			ok = split = 1;
			for (k = 0; k < re->ncode && ok; k++)
				ok = hs_add(&one, re->psrc[k],
				    strlen(re->psrc[k]), fl, (unsigned)pos +
				    PF_ID_STRIDE * (unsigned)(k + 1), 0) == 0;
			if (!ok) {
				hs_set_free(&one);
				memset(&one, 0, sizeof one);
				split = 0;
			}
		}
		if (!ok)
			ok = hs_add(&one, re->src, re->srclen, fl,
			    (unsigned)pos, 0) == 0;
		if (!ok) {
			hs_set_free(&one);
			continue;
		}
		/* every piece of a position goes to the same database */
		s = 0;
		for (k = 0; k < one.n; k++)
			if (hs_is_fuzzy(one.expr[k]))
				s = 1;
		if (s == 1) {
			/* the ASCII copy: the same pieces under the same
			 * ids, or (should one not loosen) the full ones */
			ok = 1;
			for (k = 0; k < one.n && ok; k++)
				ok = hs_add(&asc, split ? re->psrc[k] : re->src,
				    split ? strlen(re->psrc[k]) : re->srclen,
				    fl, one.ids[k], PF_LOOSEN_ASCII) == 0;
			if (!ok || asc.n != one.n) {
				hs_set_free(&asc);
				memset(&asc, 0, sizeof asc);
				for (k = 0; k < one.n; k++)
					hs_push(&asc, xstrdup(one.expr[k]),
					    one.flags[k], one.ids[k]);
			}
			for (k = 0; k < asc.n; k++)
				hs_push(&set[2], asc.expr[k], asc.flags[k],
				    asc.ids[k]);
			asc.n = 0;
			hs_set_free(&asc);
		}
		for (k = 0; k < one.n; k++)
			hs_push(&set[s], one.expr[k], one.flags[k],
			    one.ids[k]);
		one.n = 0;
		hs_set_free(&one);
		pf->mode[pos] = PF_M_HS;
	}
	pf->db = hs_compile_set(pf, r, &set[0]);
	pf->fzdb = hs_compile_set(pf, r, &set[1]);
	if (pf->db == NULL && pf->fzdb != NULL) {
		/* the fuzzy one alone is the main one (such a kind is not
		 * found in the cache: hsc_load_kind wants a "-fz" entry) */
		pf->db = pf->fzdb;
		pf->fzdb = NULL;
	}
	if (pf->fzdb != NULL)
		pf->fzadb = hs_compile_same(pf, r, &set[2]);
	if (pf->db != NULL && r->pf_cache_dir != NULL &&
	    r->pf_cache_writable) {
		hsc_store(pf, r, pf_kind_names[kind], key);
		if (pf->fzdb != NULL) {
			struct rules_pf fz = *pf;
			char name[32];

			fz.db = pf->fzdb;
			fz_kind_name(name, sizeof name, kind, "fz");
			hsc_store(&fz, r, name, key);
		}
		if (pf->fzadb != NULL) {
			struct rules_pf fz = *pf;
			char name[32];

			fz.db = pf->fzadb;
			fz_kind_name(name, sizeof name, kind, "fza");
			hsc_store(&fz, r, name, key);
		}
	}
	hs_set_free(&set[0]);
	hs_set_free(&set[1]);
	hs_set_free(&set[2]);
}
#endif

static void
build_pf(struct score_rules *r)
{
	struct buf lit = BUF_INIT;
	size_t pos;
	int kind;

#ifdef HAVE_HYPERSCAN
	if (r->pf_cache_dir != NULL && r->pf_hs >= 0) {
		int w = rules_hsc_dir(r->pf_cache_dir, r->pf_cache_explicit);

		if (w == -1) {
			free(r->pf_cache_dir);
			r->pf_cache_dir = NULL;
		} else
			r->pf_cache_writable = w;
	}
#endif
	for (kind = 0; kind < PF_NKINDS; kind++) {
		struct rules_pf *pf = &r->pf[kind];
		const int *list = kind_list(r, kind, &pf->n);
		size_t n1 = pf->n ? pf->n : 1;

		pf->mode = xcalloc(n1, 1);
		pf->always = xcalloc(n1, sizeof *pf->always);
		pf->litpos = xcalloc(n1, sizeof *pf->litpos);
		pf->lit = xcalloc(n1, sizeof *pf->lit);
		if (pf->n == 0)
			continue;
#ifdef HAVE_HYPERSCAN
		if (r->pf_hs >= 0)
			build_hs(pf, r, list, kind);
#endif
		for (pos = 0; pos < pf->n; pos++) {
			const struct perlre *re = &r->rules[list[pos]].re;

			if (pf->mode[pos] == PF_M_HS) {
				pf->nhs++;
				continue;
			}
			buf_reset(&lit);
			if (re->src == NULL || rules_pf_literal(re->src,
			    re->srclen, re->opts, &lit) == -1) {
				pf->always[pf->nalways++] = (int)pos;
				continue;
			}
			pf->mode[pos] = PF_M_LIT;
			pf->litpos[pf->nlitpos++] = (int)pos;
			pf->lit[pos].len = lit.len;
			pf->lit[pos].s = buf_steal(&lit);
			pf->lit[pos].caseless =
			    (re->opts & PCRE2_CASELESS) != 0;
			if (pf->lit[pos].caseless)
				pf->has_fold = 1;
		}
	}
	buf_free(&lit);
}

void
rules_pf_free(struct score_rules *r)
{
	int kind;
	size_t i;

	for (kind = 0; kind < PF_NKINDS; kind++) {
		struct rules_pf *pf = &r->pf[kind];

		if (pf->lit != NULL)
			for (i = 0; i < pf->n; i++)
				free(pf->lit[i].s);
		free(pf->lit);
		free(pf->mode);
		free(pf->always);
		free(pf->litpos);
#ifdef HAVE_HYPERSCAN
		if (pf->db != NULL)
			hs_free_database(pf->db);
		if (pf->fzdb != NULL)
			hs_free_database(pf->fzdb);
		if (pf->fzadb != NULL)
			hs_free_database(pf->fzadb);
#endif
		memset(pf, 0, sizeof *pf);
	}
#ifdef HAVE_HYPERSCAN
	if (r->pf_scratch != NULL)
		hs_free_scratch(r->pf_scratch);
#endif
	r->pf_scratch = NULL;
}

void
pf_run_init(struct pf_run *pr, const struct score_rules *r)
{
	size_t n = 1;
	int kind;

	memset(pr, 0, sizeof *pr);
	for (kind = 0; kind < PF_NKINDS; kind++)
		if (r->pf[kind].n > n)
			n = r->pf[kind].n;
	pr->cand = xcalloc(n, sizeof *pr->cand);
	pr->seen = xcalloc(n, sizeof *pr->seen);
	pr->pall = xcalloc(n, 1);
	pr->pbits = xcalloc(n, sizeof *pr->pbits);
	pr->cap = n;
#ifdef HAVE_HYPERSCAN
	if (r->pf_scratch != NULL) {
		hs_scratch_t *sc = NULL;

		/* on failure scratch stays NULL: pf_scan says "any" */
		if (hs_clone_scratch(r->pf_scratch, &sc) == HS_SUCCESS)
			pr->scratch = sc;
	}
#endif
}

void
pf_run_fini(struct pf_run *pr)
{
#ifdef HAVE_HYPERSCAN
	if (pr->scratch != NULL)
		hs_free_scratch(pr->scratch);
#endif
	free(pr->cand);
	free(pr->seen);
	free(pr->pall);
	free(pr->pbits);
	buf_free(&pr->fold);
	memset(pr, 0, sizeof *pr);
}

#ifdef HAVE_HYPERSCAN
struct hs_ctx {
	struct pf_run *pr;
	size_t n;
	int overflow;
};

static int
on_hs_match(unsigned id, unsigned long long from, unsigned long long to,
    unsigned fl, void *arg)
{
	struct hs_ctx *c = arg;
	struct pf_run *pr = c->pr;

	unsigned pos = id % PF_ID_STRIDE, piece = id / PF_ID_STRIDE;

	(void)from;
	(void)to;
	(void)fl;
	if (pos >= pr->cap || c->n >= pr->cap ||
	    piece > PERLRE_MAX_PARTS) {
		c->overflow = 1;
		return 1;	/* cannot happen: see PF_ID_STRIDE */
	}
	if (pr->seen[pos] != pr->gen) {
		pr->seen[pos] = pr->gen;
		pr->cand[c->n++] = (int)pos;
		pr->pall[pos] = 0;
		memset(pr->pbits[pos], 0, sizeof pr->pbits[pos]);
	}
	if (piece == 0)
		pr->pall[pos] = 1;	/* the whole pattern */
	else
		pr->pbits[pos][(piece - 1) / 8] |=
		    (unsigned char)(1u << ((piece - 1) % 8));
	return 0;
}
#endif

#ifdef HAVE_HYPERSCAN
/* No byte >= 0x80 in s (eight at a time). */
static int
is_ascii(const char *s, size_t len)
{
	uint64_t acc = 0, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		acc |= w;
	}
	for (; i < len; i++)
		acc |= (unsigned char)s[i];
	return (acc & 0x8080808080808080ULL) == 0;
}
#endif

long
pf_scan(const struct rules_pf *pf, struct pf_run *pr, const char *s,
    size_t len)
{
	size_t i, n = 0;

	if (pf->n > pr->cap)
		return -1;
#ifdef HAVE_HYPERSCAN
	if (pf->db != NULL) {
		struct hs_ctx c = { pr, 0, 0 };
		hs_error_t rc;

		if (pr->scratch == NULL || len > UINT_MAX)
			return -1;
		if (++pr->gen == 0) {
			memset(pr->seen, 0, pr->cap * sizeof *pr->seen);
			pr->gen = 1;
		}
		rc = hs_scan(pf->db, len ? s : "", (unsigned)len, 0,
		    pr->scratch, on_hs_match, &c);
		if ((rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) ||
		    c.overflow)
			return -1;
		if (pf->fzdb != NULL) {
			const void *fz = pf->fzadb != NULL && is_ascii(s, len) ?
			    pf->fzadb : pf->fzdb;

			rc = hs_scan(fz, len ? s : "", (unsigned)len, 0,
			    pr->scratch, on_hs_match, &c);
			if ((rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) ||
			    c.overflow)
				return -1;
		}
		n = c.n;
	}
#endif
	if (pf->nlitpos == 0)
		return (long)n;
	if (pf->has_fold) {
		buf_reset(&pr->fold);
		buf_reserve(&pr->fold, len + 1);
		for (i = 0; i < len; i++)
			pr->fold.data[i] = (char)fold((unsigned char)s[i]);
		pr->fold.len = len;
	}
	for (i = 0; i < pf->nlitpos; i++) {
		int pos = pf->litpos[i];
		const struct pf_lit *l = &pf->lit[pos];
		const char *h = l->caseless ? pr->fold.data : s;

		if (len >= l->len && mem_find(h, len, l->s, l->len) != NULL) {
			pr->cand[n++] = pos;
			pr->pall[pos] = 1;
		}
	}
	return (long)n;
}

/* The literal every match of header rule ru contains (see struct
 * rule); none for exists: rules. */
static void
head_literal(struct rule *ru)
{
	struct buf lit = BUF_INIT;

	if (ru->exists || ru->re.src == NULL ||
	    rules_pf_literal(ru->re.src, ru->re.srclen, ru->re.opts,
	    &lit) == -1) {
		buf_free(&lit);
		return;
	}
	ru->hlit = xstrndup(lit.data, lit.len);
	ru->hlitlen = lit.len;
	ru->hlit_fold = (ru->re.opts & PCRE2_CASELESS) != 0;
	buf_free(&lit);
}

int
rules_prepare(struct score_rules *r, struct score_load_report *rep)
{
	size_t i;

	for (i = 0; i < r->nrules; i++) {
		struct rule *ru = &r->rules[i];

		/* got_hit ignores rules without a score: do not run them */
		if (!ru->runnable || rules_score(r, ru) == 0)
			continue;
		switch (ru->type) {
		case RT_HEADER:
			ru->hgroup = hgroup_of(r, ru);
			head_literal(ru);
			push(&r->head, &r->nhead, (int)i);
			break;
		case RT_BODY:
			push(&r->body, &r->nbody, (int)i);
			break;
		case RT_RAWBODY:
			push(&r->rawbody, &r->nrawbody, (int)i);
			break;
		case RT_FULL:
			push(&r->full, &r->nfull, (int)i);
			break;
		case RT_URI:
			push(&r->uri, &r->nuri, (int)i);
			break;
		case RT_MIMEHEADER:
			push(&r->mimeh, &r->nmimeh, (int)i);
			break;
		case RT_EVAL:
			push(&r->evals, &r->nevals, (int)i);
			break;
		case RT_META:
			push(&r->metas, &r->nmetas, (int)i);
			break;
		default:
			break;
		}
	}
#define SORT(a, n) sort_list(r, a, n)
	SORT(r->head, r->nhead);
	SORT(r->body, r->nbody);
	SORT(r->rawbody, r->nrawbody);
	SORT(r->full, r->nfull);
	SORT(r->uri, r->nuri);
	SORT(r->mimeh, r->nmimeh);
	SORT(r->evals, r->nevals);
	SORT(r->metas, r->nmetas);
#undef SORT
	order_metas(r, rep);
	{
		double *zeros = xcalloc(r->nrules ? r->nrules : 1,
		    sizeof *zeros);

		for (i = 0; i < r->nmetas; i++) {
			struct rule *ru = &r->rules[r->metas[i]];

			ru->meta_zero = meta_eval(ru->meta, zeros);
		}
		free(zeros);
	}
	build_pf(r);
	return 0;
}

/* ---- one message ---- */

/* What the last score_run() on a message found (in its arena). */
struct last_run {
	const struct score_rules *r;
	unsigned *hits;
	size_t n;
};

void
score_run_each_hit(const struct score_rules *r, struct score_msg *sm,
    void (*fn)(void *arg, const char *name, unsigned count), void *arg)
{
	const struct last_run *lr = *sm_run_slot(sm);
	size_t i;

	if (lr == NULL || lr->r != r)
		return;
	for (i = 0; i < lr->n; i++)
		if (lr->hits[i] > 0)
			fn(arg, r->rules[i].name, lr->hits[i]);
}

struct run {
	const struct score_rules *r;
	struct score_msg *sm;
	struct perlre_ctx pc;
	struct pf_run pr;
	double *vals;		/* tests_already_hit */
	unsigned *hits;		/* got_hit calls that counted */
};

static void
got_hit(struct run *x, int ri, double value)
{
	const struct rule *ru = &x->r->rules[ri];

	if (value <= 0)
		value = 1;
	if (x->vals[ri] != 0 && !(ru->tflags & TF_MULTIPLE))
		return;
	x->vals[ri] += value;
	x->hits[ri]++;
}

static unsigned
max_hits(const struct rule *ru)
{
	if (!(ru->tflags & TF_MULTIPLE))
		return 1;
	return ru->maxhits ? ru->maxhits : SCORE_MAX_HITS_DEFAULT;
}

/* Count matches of ru in s (all of them for multiple, up to limit)
 * over the pcre2 pieces in the bitset pieces (NULL: all; the prefilter
 * knows the others cannot match s); returns the number counted. */
static unsigned
match_count_some(struct run *x, const struct rule *ru, const char *s,
    size_t len, unsigned limit, const unsigned char *pieces)
{
	size_t off = 0, st, en;
	unsigned n = 0;

	while (n < limit && off <= len) {
		if (perlre_match_some(&ru->re, &x->pc, s, len, off, pieces,
		    &st, &en) != 1)
			break;
		n++;
		/* Perl's //g: an empty match moves one byte on */
		off = en > st ? en : en + 1;
	}
	return n;
}

static unsigned
match_count(struct run *x, const struct rule *ru, const char *s, size_t len,
    unsigned limit)
{
	return match_count_some(x, ru, s, len, limit, NULL);
}

/*
 * Can header rule ru match value s? 0 when the value lacks the rule's
 * literal (then pcre2 would not match either), else 1. *folded is the
 * lower-cased value, made on first need (*fdone).
 */
static int
head_may_match(const struct rule *ru, const char *s, size_t len,
    struct buf *folded, int *fdone)
{
	size_t i;

	if (ru->hlit == NULL)
		return 1;
	if (len < ru->hlitlen)
		return 0;
	if (!ru->hlit_fold)
		return mem_find(s, len, ru->hlit, ru->hlitlen) != NULL;
	if (!*fdone) {
		buf_reset(folded);
		buf_reserve(folded, len + 1);
		for (i = 0; i < len; i++)
			folded->data[i] = (char)fold((unsigned char)s[i]);
		folded->len = len;
		*fdone = 1;
	}
	return mem_find(folded->data, len, ru->hlit, ru->hlitlen) != NULL;
}

static void
run_headers(struct run *x)
{
	const struct score_rules *r = x->r;
	size_t ng = r->nhgroups ? r->nhgroups : 1;
	struct buf *vals = xcalloc(ng, sizeof *vals);
	struct buf *fvals = xcalloc(ng, sizeof *fvals), ftmp = BUF_INIT;
	int *fdone = xcalloc(ng, sizeof *fdone);
	signed char *state = xcalloc(ng, 1);
	size_t i;

	for (i = 0; i < r->nhead; i++) {
		int ri = r->head[i];
		const struct rule *ru = &r->rules[ri];
		int g = ru->hgroup;
		const char *s;
		size_t len;
		unsigned n, k;
		int may;

		if (state[g] == 0) {
			int ex = sm_header(x->sm, ru->hname, ru->hmods,
			    &vals[g]);

			state[g] = ex ? 1 : -1;
		}
		if (ru->exists) {
			if ((state[g] == 1) != ru->neg)
				got_hit(x, ri, 1);
			continue;
		}
		if (state[g] == 1) {
			s = vals[g].data ? vals[g].data : "";
			len = vals[g].len;
			may = head_may_match(ru, s, len, &fvals[g], &fdone[g]);
		} else {
			int once = 0;

			s = ru->if_unset != NULL ? ru->if_unset : "";
			len = strlen(s);
			may = head_may_match(ru, s, len, &ftmp, &once);
		}
		if (ru->neg) {
			if (!may || match_count(x, ru, s, len, 1) == 0)
				got_hit(x, ri, 1);
			continue;
		}
		if (!may)
			continue;
		n = match_count(x, ru, s, len, max_hits(ru));
		for (k = 0; k < n; k++)
			got_hit(x, ri, 1);
	}
	for (i = 0; i < r->nhgroups; i++) {
		buf_free(&vals[i]);
		buf_free(&fvals[i]);
	}
	buf_free(&ftmp);
	free(vals);
	free(fvals);
	free(fdone);
	free(state);
}

/* Rule at list position pos over line l: count its matches up to its
 * limit (total: hits so far over earlier lines). */
static void
line_rule(struct run *x, int ri, const struct span *line, size_t l,
    unsigned *total, int subject_first, const unsigned char *pieces)
{
	const struct rule *ru = &x->r->rules[ri];
	unsigned limit = max_hits(ru), n, k;

	if (*total >= limit)
		return;
	if (l == 0 && subject_first && (ru->tflags & TF_NOSUBJECT))
		return;
	n = match_count_some(x, ru, line->p, line->len, limit - *total,
	    pieces);
	for (k = 0; k < n; k++)
		got_hit(x, ri, 1);
	*total += n;
}

/*
 * body, rawbody, full, uri: each rule over every line; multiple rules
 * count across lines up to maxhits. The prefilter names, per line, the
 * rules that may match it; only those run pcre2 there, each rule still
 * visiting its lines in order, so every count is what running all
 * rules on all lines gives.
 */
static void
run_lines(struct run *x, int kind, const int *list, size_t nlist,
    const struct span *lines, size_t nlines, int subject_first)
{
	const struct rules_pf *pf = &x->r->pf[kind];
	unsigned *total;
	unsigned char *always;
	size_t i, l;

	if (nlist == 0 || nlines == 0)
		return;
	total = xcalloc(nlist, sizeof *total);
	always = xcalloc(nlist, 1);
	for (i = 0; i < pf->nalways; i++)
		always[pf->always[i]] = 1;
	for (l = 0; l < nlines; l++) {
		long nc = pf->n == nlist ? pf_scan(pf, &x->pr, lines[l].p,
		    lines[l].len) : -1;

		if (nc < 0) {
			/* no answer: every rule may match this line */
			for (i = 0; i < nlist; i++)
				if (!always[i])
					line_rule(x, list[i], &lines[l], l,
					    &total[i], subject_first, NULL);
			continue;
		}
		for (i = 0; i < (size_t)nc; i++) {
			size_t pos = (size_t)x->pr.cand[i];

			line_rule(x, list[pos], &lines[l], l, &total[pos],
			    subject_first, x->pr.pall[pos] ? NULL :
			    x->pr.pbits[pos]);
		}
	}
	for (i = 0; i < nlist; i++) {
		if (!always[i])
			continue;
		for (l = 0; l < nlines; l++)
			line_rule(x, list[i], &lines[l], l, &total[i],
			    subject_first, NULL);
	}
	free(total);
	free(always);
}

struct mh_arg {
	struct run *x;
	const struct rule *ru;
	int ri;
	unsigned idx;
	unsigned limit;
	struct buf cat;
};

static int
mh_part(void *arg, const char *val, size_t len)
{
	struct mh_arg *a = arg;
	unsigned n, k;

	a->idx++;
	if (a->idx > a->ru->range_max)
		return 1;
	if (a->idx < a->ru->range_min)
		return 0;
	if (a->ru->concat) {
		buf_add(&a->cat, val, len);
		if (len == 0 || val[len - 1] != '\n')
			buf_addc(&a->cat, '\n');
		return 0;
	}
	if (a->ru->neg)
		return 0;
	n = match_count(a->x, a->ru, val, len, a->limit);
	for (k = 0; k < n; k++)
		got_hit(a->x, a->ri, 1);
	return 0;
}

/*
 * mimeheader (Plugin/MIMEHeader.pm eval_hook_called): every MIME part's
 * value, or all of them concatenated (tflags concat), within range=.
 * SpamAssassin 4.0.1's _check leaves its match loop before counting for
 * a negated rule, so a !~ mimeheader rule always hits; we do the same.
 */
static void
run_mimeheaders(struct run *x)
{
	const struct score_rules *r = x->r;
	size_t i;

	for (i = 0; i < r->nmimeh; i++) {
		struct mh_arg a;
		const struct rule *ru = &r->rules[r->mimeh[i]];

		memset(&a, 0, sizeof a);
		a.x = x;
		a.ru = ru;
		a.ri = r->mimeh[i];
		a.limit = (ru->tflags & TF_MULTIPLE) ? (ru->maxhits ?
		    ru->maxhits : SCORE_MAX_HITS_DEFAULT) : 1;
		sm_mimeheader(x->sm, ru->hname, (ru->hmods & SM_H_RAW) != 0,
		    mh_part, &a);
		if (ru->concat && !ru->neg) {
			unsigned n = match_count(x, ru, a.cat.data ?
			    a.cat.data : "", a.cat.len, a.limit), k;

			for (k = 0; k < n; k++)
				got_hit(x, a.ri, 1);
		}
		if (ru->neg)
			got_hit(x, a.ri, 1);
		buf_free(&a.cat);
	}
}

static void
run_evals(struct run *x)
{
	const struct score_rules *r = x->r;
	size_t i;

	for (i = 0; i < r->nevals; i++) {
		int ri = r->evals[i];
		const struct rule *ru = &r->rules[ri];
		int v = ru->efn->fn(x->sm, (const char *const *)ru->eargs,
		    ru->neargs, r->eval_conf);

		if (v > 0)
			got_hit(x, ri, v);
	}
}

static void
run_metas(struct run *x)
{
	const struct score_rules *r = x->r;
	size_t i;

	for (i = 0; i < r->nmetas; i++) {
		int ri = r->metas[i];
		const struct rule *ru = &r->rules[ri];
		double v = ru->meta_zero;
		size_t k;

		/* a meta is a function of its deps alone */
		for (k = 0; k < ru->ndeps; k++)
			if (x->vals[ru->deps[k]] != 0) {
				v = meta_eval(ru->meta, x->vals);
				break;
			}
		if (v != 0)
			got_hit(x, ri, v);
	}
}

static int
cmp_hit(const void *a, const void *b)
{
	return strcmp(((const struct score_hit *)a)->name,
	    ((const struct score_hit *)b)->name);
}

/* AutoLearnThreshold's decision with its default thresholds: 1 spam,
 * -1 ham, 0 neither. */
static int
autolearn_decision(const struct score_rules *r, const struct run *x)
{
	size_t i;
	double pts = 0, head = 0, body = 0;
	int set = r->score_set & ~2, force = 0;

	for (i = 0; i < r->nrules; i++) {
		const struct rule *ru = &r->rules[i];
		double s;

		if (x->hits[i] == 0 || strncmp(ru->name, "__", 2) == 0)
			continue;
		if (ru->tflags & (TF_LEARN | TF_NOAUTOLEARN | TF_USERCONF))
			continue;
		s = ru->scores[set] * x->hits[i];
		pts += s;
		if (ru->tflags & TF_AUTOLEARN_FORCE)
			force = 1;
		if (ru->type == RT_HEADER || (ru->type == RT_EVAL &&
		    (ru->evalkind == EK_HEAD || ru->evalkind == EK_RBL)))
			head += s;
		else if (ru->type != RT_META)
			body += s;
	}
	if (pts < 0.1)
		return -1;
	if (pts >= 12.0 && (force || (head >= 3 && body >= 3)))
		return 1;
	return 0;
}

int
score_run(const struct score_rules *r, struct score_msg *sm, struct bayes *b,
    struct score_result *res, struct err *e)
{
	struct run x;
	const struct span *lines;
	size_t n, i, nh = 0;
	double bp;

	(void)e;
	memset(res, 0, sizeof *res);
	memset(&x, 0, sizeof x);
	x.r = r;
	x.sm = sm;
	x.vals = xcalloc(r->nrules ? r->nrules : 1, sizeof *x.vals);
	x.hits = xcalloc(r->nrules ? r->nrules : 1, sizeof *x.hits);
	perlre_ctx_init(&x.pc);
	pf_run_init(&x.pr, r);
	sm_set_bayes(sm, b);

	run_headers(&x);
	if (r->nbody > 0) {
		n = sm_body(sm, &lines);
		run_lines(&x, PF_BODY, r->body, r->nbody, lines, n, 1);
	}
	if (r->nrawbody > 0) {
		n = sm_rawbody(sm, &lines);
		run_lines(&x, PF_RAWBODY, r->rawbody, r->nrawbody, lines, n,
		    0);
	}
	if (r->nfull > 0) {
		struct span f = sm_full(sm);

		run_lines(&x, PF_FULL, r->full, r->nfull, &f, 1, 0);
	}
	if (r->nuri > 0) {
		const char *const *uris;
		struct span *us;

		n = sm_uris(sm, &uris);
		us = xreallocarray(NULL, n ? n : 1, sizeof *us);
		for (i = 0; i < n; i++) {
			us[i].p = uris[i];
			us[i].len = strlen(uris[i]);
		}
		run_lines(&x, PF_URI, r->uri, r->nuri, us, n, 0);
		free(us);
	}
	run_mimeheaders(&x);
	run_evals(&x);
	run_metas(&x);

	/* Every rule's hits, sub-rules included, for score_run_each_hit(). */
	{
		struct last_run *lr = arena_zalloc(sm_arena(sm), sizeof *lr);

		lr->r = r;
		lr->n = r->nrules;
		lr->hits = arena_allocarray(sm_arena(sm), lr->n ? lr->n : 1,
		    sizeof *lr->hits);
		memcpy(lr->hits, x.hits, lr->n * sizeof *lr->hits);
		*sm_run_slot(sm) = lr;
	}
	for (i = 0; i < r->nrules; i++)
		if (x.hits[i] > 0 && strncmp(r->rules[i].name, "__", 2) != 0)
			nh++;
	res->hits = xcalloc(nh ? nh : 1, sizeof *res->hits);
	for (i = 0; i < r->nrules; i++) {
		const struct rule *ru = &r->rules[i];
		struct score_hit *h;

		if (x.hits[i] == 0 || strncmp(ru->name, "__", 2) == 0)
			continue;
		h = &res->hits[res->nhits++];
		h->name = ru->name;
		h->describe = ru->describe;
		h->score = rules_score(r, ru);
		h->count = x.hits[i];
		res->score += h->score * x.hits[i];
	}
	qsort(res->hits, res->nhits, sizeof *res->hits, cmp_hit);
	res->required = r->required;
	res->is_spam = res->score >= r->required;
	if (b != NULL && (bp = score_bayes_prob(sm)) >= 0) {
		res->bayes_used = 1;
		res->bayes_prob = bp;
	}
	if (b != NULL) {
		res->autolearn = autolearn_decision(r, &x);
		/* sized copies: "ham" and "no" are shorter than 5 bytes */
		(void)snprintf(res->autolearn_text, sizeof res->autolearn_text,
		    "%s", res->autolearn > 0 ? "spam" : res->autolearn < 0 ?
		    "ham" : "no");
	} else
		memcpy(res->autolearn_text, "disabled", 9);
	perlre_ctx_fini(&x.pc);
	pf_run_fini(&x.pr);
	free(x.vals);
	free(x.hits);
	return 0;
}

void
score_result_free(struct score_result *res)
{
	free(res->hits);
	res->hits = NULL;
	res->nhits = 0;
}
