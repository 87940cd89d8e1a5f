/*
 * perlre.c - SpamAssassin's Perl regexes on pcre2.
 *
 * SpamAssassin compiles every rule regex with qr/$re/aa over byte strings
 * (Util.pm compile_regexp): ASCII \d \s \w and case folding, no Unicode.
 * pcre2's 8-bit library without UTF and with its built-in (C locale)
 * tables has exactly those semantics, so the translation is small:
 * delimiters and modifiers become options, Perl 5.34's {,n} becomes
 * {0,n}, the charset modifiers (?a) (?u) (?l) (?d) that pcre2 does not
 * know are dropped (they change nothing for bytes), and what pcre2
 * cannot do at all (\N{name}, \l \u \L \U, code blocks) is refused with
 * a reason, never silently changed.
 *
 * pcre2 here is built with LINK_SIZE 2, so a compiled pattern is at most
 * 64 KiB. The few SpamAssassin patterns beyond that (long word lists)
 * are split at their top-level alternation (or the alternation of their
 * one big group) into halves until each compiles; the halves are OR-ed
 * at match time with Perl's leftmost-first rule, so the matches are the
 * same. Known weakness: a backreference in such a pattern would count
 * groups per piece.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rules-int.h"

static int
is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

int
perlre_split(const char *s, size_t len, struct span *body, struct span *flags,
    const char **why)
{
	size_t i, start, k;
	char dend;

	/* Util.pm: "/", then m or qr with a bracket, then any non-word */
	if (len > 0 && s[0] == '/') {
		start = 1;
		dend = '/';
	} else {
		size_t p = 0;

		if (len > 1 && s[0] == 'm')
			p = 1;
		else if (len > 2 && s[0] == 'q' && s[1] == 'r')
			p = 2;
		if (p == 0 || p >= len || is_word((unsigned char)s[p]) ||
		    (unsigned char)s[p] <= ' ') {
			*why = "missing regexp delimiters";
			return -1;
		}
		switch (s[p]) {
		case '{': dend = '}'; break;
		case '(': dend = ')'; break;
		case '<': dend = '>'; break;
		case '[': dend = ']'; break;
		case '\\':
			*why = "backslash delimiter not allowed";
			return -1;
		default: dend = s[p]; break;
		}
		start = p + 1;
	}
	/* The end delimiter is the first one followed only by modifier
	 * letters (never e: no code execution). */
	for (i = start; i < len; i++) {
		if (s[i] != dend)
			continue;
		for (k = i + 1; k < len; k++)
			if (!(s[k] >= 'a' && s[k] <= 'z') || s[k] == 'e')
				break;
		if (k == len)
			break;
	}
	if (i >= len) {
		*why = "invalid end delimiter/mods";
		return -1;
	}
	body->p = s + start;
	body->len = i - start;
	flags->p = s + i + 1;
	flags->len = len - i - 1;
	/* an unescaped non-closing delimiter inside is an error in
	 * SpamAssassin (after removing escaped backslashes) */
	if (dend != '}' && dend != ')' && dend != ']') {
		for (k = 0; k < body->len; k++) {
			if (body->p[k] == '\\') {
				if (k + 1 < body->len && body->p[k + 1] == '\\') {
					k++;
					continue;
				}
				if (k + 1 < body->len && body->p[k + 1] == dend)
					k++;
				continue;
			}
			if (body->p[k] == dend) {
				*why = "unquoted delimiter found";
				return -1;
			}
		}
	}
	return 0;
}

/* Copy a Perl pattern into out as pcre2 syntax. 0, or -1 with why. */
static int
translate(const char *p, size_t len, int xmode, struct buf *out,
    const char **why)
{
	size_t i = 0;
	int in_class = 0;

	buf_reserve(out, len + 16);
	while (i < len) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\\') {
			unsigned char n;

			if (i + 1 >= len) {
				*why = "trailing backslash";
				return -1;
			}
			n = (unsigned char)p[i + 1];
			if (n == 'l' || n == 'u' || n == 'L' || n == 'U') {
				*why = "case-changing escapes (\\l \\u \\L \\U) "
				    "are not supported";
				return -1;
			}
			if (n == 'N' && i + 2 < len && p[i + 2] == '{') {
				*why = "\\N{...} is not supported";
				return -1;
			}
			if (n == 'Q') {
				/* literal up to \E: copied as is */
				const char *e = mem_find(p + i + 2,
				    len - i - 2, "\\E", 2);
				size_t stop = e ? (size_t)(e - p) + 2 : len;

				buf_add(out, p + i, stop - i);
				i = stop;
				continue;
			}
			buf_add(out, p + i, 2);
			i += 2;
			continue;
		}
		if (in_class) {
			if (c == '[' && i + 1 < len && (p[i + 1] == ':' ||
			    p[i + 1] == '.' || p[i + 1] == '=')) {
				/* POSIX class [:alpha:] inside a class */
				const char *e = mem_find(p + i + 2,
				    len - i - 2, (const char[]){ p[i + 1], ']' },
				    2);

				if (e != NULL) {
					size_t stop = (size_t)(e - p) + 2;

					buf_add(out, p + i, stop - i);
					i = stop;
					continue;
				}
			}
			if (c == ']')
				in_class = 0;
			buf_addc(out, c);
			i++;
			continue;
		}
		if (c == '[') {
			in_class = 1;
			buf_addc(out, c);
			i++;
			/* a leading ] (after ^) is literal */
			if (i < len && p[i] == '^') {
				buf_addc(out, '^');
				i++;
			}
			if (i < len && p[i] == ']') {
				buf_addc(out, ']');
				i++;
			}
			continue;
		}
		if (xmode && c == '#') {
			while (i < len && p[i] != '\n')
				buf_addc(out, p[i++]);
			continue;
		}
		if (c == '(' && i + 1 < len && p[i + 1] == '?') {
			size_t k = i + 2;

			if (k < len && (p[k] == '{' || (p[k] == '?' &&
			    k + 1 < len && p[k + 1] == '{'))) {
				*why = "code blocks (?{...}) are not allowed";
				return -1;
			}
			/* (?^aai-x:  drop a u l d: pcre2 knows no charset
			 * modifiers, and they change nothing for bytes */
			while (k < len && (p[k] == '^' || p[k] == '-' ||
			    (p[k] >= 'a' && p[k] <= 'z')))
				k++;
			if (k > i + 2 && k < len && (p[k] == ')' ||
			    p[k] == ':')) {
				size_t j, mark = out->len;

				buf_add(out, "(?", 2);
				for (j = i + 2; j < k; j++)
					if (!strchr("auldpo", p[j]))
						buf_addc(out, p[j]);
				if (out->len == mark + 2 && p[k] == ')') {
					out->len = mark;	/* "(?aa)" */
					i = k + 1;
				} else
					i = k;
				continue;
			}
			buf_add(out, "(?", 2);
			i += 2;
			continue;
		}
		if (c == '{' && i + 1 < len && p[i + 1] == ',') {
			/* Perl 5.34 {,n} is {0,n}; pcre2 10.42 reads it
			 * as literal text */
			size_t k = i + 2;

			while (k < len && p[k] >= '0' && p[k] <= '9')
				k++;
			if (k > i + 2 && k < len && p[k] == '}') {
				buf_add(out, "{0", 2);
				buf_add(out, p + i + 1, k + 1 - (i + 1));
				i = k + 1;
				continue;
			}
		}
		buf_addc(out, c);
		i++;
	}
	return 0;
}

/* Skip over one escape/class/\Q..\E element starting at i; returns the
 * index after it, or i + 1 for a plain byte. */
static size_t
skip_elem(const char *p, size_t len, size_t i)
{
	if (p[i] == '\\') {
		if (i + 1 < len && p[i + 1] == 'Q') {
			const char *e = mem_find(p + i + 2, len - i - 2,
			    "\\E", 2);

			return e ? (size_t)(e - p) + 2 : len;
		}
		return i + 2 < len ? i + 2 : len;
	}
	if (p[i] == '[') {
		size_t k = i + 1;

		if (k < len && p[k] == '^')
			k++;
		if (k < len && p[k] == ']')
			k++;
		while (k < len && p[k] != ']') {
			if (p[k] == '\\')
				k++;
			else if (p[k] == '[' && k + 1 < len &&
			    p[k + 1] == ':') {
				const char *e = mem_find(p + k + 2,
				    len - k - 2, ":]", 2);

				if (e)
					k = (size_t)(e - p) + 1;
			}
			k++;
		}
		return k < len ? k + 1 : len;
	}
	return i + 1;
}

/* The kind of group opening at p[i] == '(': its inner start, and
 * whether distributing its alternatives over the rest is valid (plain,
 * non-capturing, flagged and named groups; not lookarounds, atomic,
 * conditional or other special groups). */
static size_t
group_inner(const char *p, size_t len, size_t i, int *splittable)
{
	size_t k = i + 1;

	*splittable = 1;
	if (k >= len || p[k] != '?')
		return k;
	k++;
	if (k < len && (p[k] == '<' || p[k] == '\'') && k + 1 < len &&
	    p[k + 1] != '=' && p[k + 1] != '!') {
		char close = p[k] == '<' ? '>' : '\'';

		while (k < len && p[k] != close)
			k++;
		return k + 1;
	}
	if (k < len && p[k] == 'P' && k + 1 < len && p[k + 1] == '<') {
		while (k < len && p[k] != '>')
			k++;
		return k + 1;
	}
	while (k < len && (p[k] == '-' || p[k] == '^' ||
	    (p[k] >= 'a' && p[k] <= 'z')))
		k++;
	if (k < len && p[k] == ':')
		return k + 1;
	*splittable = 0;
	return k;
}

/*
 * Find where to split p: the alternation bars of the top level when it
 * has any, else of the largest group whose alternatives can be
 * distributed over the rest of the pattern (P(A|B)S is PAS or PBS): the
 * group and all around it unquantified and plain. Returns the number of
 * bars, with the inner bounds [lo, hi) of that level.
 */
static size_t
find_alts(const char *p, size_t len, size_t *bars, size_t maxbars,
    size_t *lo, size_t *hi)
{
	size_t *open = xreallocarray(NULL, len + 1, sizeof *open);
	size_t *inner = xreallocarray(NULL, len + 1, sizeof *inner);
	size_t *nb = xcalloc(len + 1, sizeof *nb);
	int *ok = xreallocarray(NULL, len + 1, sizeof *ok);
	size_t depth = 0, i, n = 0, best_len = 0, top = 0;
	size_t best_lo = 0, best_hi = 0;
	int found = 0;

	/* pass 1: score every group (a stack of open groups) */
	for (i = 0; i < len; ) {
		if (p[i] == '(') {
			int sp;

			open[depth] = i;
			inner[depth] = group_inner(p, len, i, &sp);
			ok[depth] = sp && (depth == 0 || ok[depth - 1]);
			nb[depth] = 0;
			depth++;
			i = inner[depth - 1] > i + 1 ? inner[depth - 1] : i + 1;
			continue;
		}
		if (p[i] == '|') {
			if (depth == 0)
				top++;
			else
				nb[depth - 1]++;
		} else if (p[i] == ')' && depth > 0) {
			size_t q = i + 1;

			depth--;
			if (ok[depth] && nb[depth] > 0 &&
			    (q >= len || !strchr("*+?{", p[q])) &&
			    i - open[depth] > best_len) {
				best_len = i - open[depth];
				best_lo = inner[depth];
				best_hi = i;
				found = 1;
			}
			/* a quantified group makes everything inside it
			 * unsplittable; already scored inner groups were
			 * checked against their own quantifiers only, so
			 * forget a best that lies inside this one */
			if (q < len && strchr("*+?{", p[q]) && found &&
			    best_lo > open[depth] && best_hi < i) {
				found = 0;
				best_len = 0;
			}
		}
		i = skip_elem(p, len, i);
	}
	if (top > 0) {
		*lo = 0;
		*hi = len;
	} else if (found) {
		*lo = best_lo;
		*hi = best_hi;
	}
	free(open);
	free(inner);
	free(nb);
	free(ok);
	if (top == 0 && !found)
		return 0;
	/* pass 2: the bars at that level */
	depth = 0;
	for (i = *lo; i < *hi; ) {
		if (p[i] == '(')
			depth++;
		else if (p[i] == ')')
			depth--;
		else if (p[i] == '|' && depth == 0 && n < maxbars)
			bars[n++] = i;
		i = skip_elem(p, len, i);
	}
	return n;
}

static int compile_pieces(struct perlre *re, const char *p, size_t len,
    uint32_t opts, unsigned depth, struct buf *why);

static int
compile_one(struct perlre *re, const char *p, size_t len, uint32_t opts,
    unsigned depth, struct buf *why)
{
	int ec;
	PCRE2_SIZE eo;
	pcre2_code *code;

	code = pcre2_compile((PCRE2_SPTR)p, len, opts, &ec, &eo, NULL);
	if (code == NULL) {
		PCRE2_UCHAR msg[256];

		if ((ec == PCRE2_ERROR_PATTERN_TOO_LARGE ||
		    ec == PCRE2_ERROR_PATTERN_TOO_COMPLICATED) &&
		    depth < PERLRE_MAX_SPLIT_DEPTH)
			return compile_pieces(re, p, len, opts, depth + 1, why);
		pcre2_get_error_message(ec, msg, sizeof msg);
		buf_addf(why, "%s at offset %zu", (const char *)msg,
		    (size_t)eo);
		return -1;
	}
	if (re->ncode >= PERLRE_MAX_PARTS) {
		pcre2_code_free(code);
		buf_adds(why, "pattern too large even when split");
		return -1;
	}
	if (pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) != 0)
		re->jit = 0;
	re->code = xreallocarray(re->code, re->ncode + 1, sizeof *re->code);
	/* the text of each piece, for the prefilter of a split pattern */
	re->psrc = xreallocarray(re->psrc, re->ncode + 1, sizeof *re->psrc);
	re->psrc[re->ncode] = xstrndup(p, len);
	re->code[re->ncode++] = code;
	return 0;
}

/*
 * pcre2 copies a group once per repetition of {m,n}, so (?:big){5} is
 * five times too big. Rewrite the largest such group as a named group
 * and calls of it: (?<slqD>(?:big))(?&slqD){4}. Calls are not copies
 * (and since pcre2 10.30 they backtrack like the group). Not done when
 * the pattern has backreferences, whose numbers would move. 0 with the
 * new pattern in out, -1 when there is nothing to rewrite.
 */
static int
rewrite_repeat(const char *p, size_t len, unsigned depth, struct buf *out)
{
	size_t *open = xreallocarray(NULL, len + 1, sizeof *open);
	size_t d = 0, i, best_len = 0, bo = 0, bc = 0, qe = 0;
	unsigned long m = 0, n = 0, bm = 0, bn = 0;
	int hasn = 0, bhasn = 0, comma = 0, bcomma = 0, ret = -1;

	for (i = 0; i < len; ) {
		if (p[i] == '\\' && i + 1 < len && ((p[i + 1] >= '1' &&
		    p[i + 1] <= '9') || p[i + 1] == 'g' || p[i + 1] == 'k'))
			goto out;	/* backreference */
		if (p[i] == '(') {
			open[d++] = i;
		} else if (p[i] == ')' && d > 0) {
			size_t q = i + 1;

			d--;
			if (q < len && p[q] == '{' && i - open[d] > best_len) {
				size_t k = q + 1;

				m = n = 0;
				hasn = comma = 0;
				for (; k < len && p[k] >= '0' && p[k] <= '9' &&
				    m < 100000; k++)
					m = m * 10 + (unsigned long)(p[k] - '0');
				if (k < len && p[k] == ',') {
					comma = 1;
					for (k++; k < len && p[k] >= '0' &&
					    p[k] <= '9' && n < 100000; k++, hasn = 1)
						n = n * 10 +
						    (unsigned long)(p[k] - '0');
				}
				if (k < len && p[k] == '}' && k > q + 1 &&
				    m >= 1) {
					best_len = i - open[d];
					bo = open[d];
					bc = i;
					qe = k + 1;
					bm = m;
					bn = n;
					bhasn = hasn;
					bcomma = comma;
				}
			}
		}
		i = skip_elem(p, len, i);
	}
	if (best_len == 0)
		goto out;
	buf_add(out, p, bo);
	buf_addf(out, "(?<slq%u>", depth);
	buf_add(out, p + bo, bc + 1 - bo);
	buf_addf(out, ")(?&slq%u){%lu", depth, bm - 1);
	if (bcomma) {
		buf_addc(out, ',');
		if (bhasn)
			buf_addf(out, "%lu", bn - 1);
	}
	buf_addc(out, '}');
	buf_add(out, p + qe, len - qe);
	ret = 0;
out:
	free(open);
	return ret;
}

/* Split p at its outermost alternation into two halves, each compiled
 * (and split again if need be). */
static int
compile_pieces(struct perlre *re, const char *p, size_t len, uint32_t opts,
    unsigned depth, struct buf *why)
{
	size_t *bars, nbars, lo, hi, mid, half;
	struct buf a = BUF_INIT;
	int ret = -1;

	bars = xreallocarray(NULL, len + 1, sizeof *bars);
	nbars = find_alts(p, len, bars, len + 1, &lo, &hi);
	if (nbars == 0) {
		if (rewrite_repeat(p, len, depth, &a) == 0) {
			ret = compile_one(re, a.data, a.len, opts, depth, why);
			goto out;
		}
		buf_adds(why, "regular expression is too large and has no "
		    "alternation to split");
		goto out;
	}
	/* alternatives: [lo,bars[0]) [bars[0]+1,bars[1]) ... [bars[n-1]+1,hi) */
	half = (nbars + 1) / 2;		/* alternatives in the first half */
	mid = bars[half - 1];
	/* first half: prefix, alternatives up to mid, suffix */
	buf_add(&a, p, lo);
	buf_add(&a, p + lo, mid - lo);
	buf_add(&a, p + hi, len - hi);
	if (compile_one(re, a.data, a.len, opts, depth, why) == -1)
		goto out;
	buf_reset(&a);
	buf_add(&a, p, lo);
	buf_add(&a, p + mid + 1, hi - mid - 1);
	buf_add(&a, p + hi, len - hi);
	if (compile_one(re, a.data, a.len, opts, depth, why) == -1)
		goto out;
	ret = 0;
out:
	buf_free(&a);
	free(bars);
	return ret;
}

int
perlre_compile(struct perlre *re, const char *body, size_t len,
    const char *flags, size_t flen, struct buf *why)
{
	uint32_t opts = 0;
	struct buf t = BUF_INIT;
	const char *w = NULL;
	size_t i;
	int xcount = 0, ret = -1;

	memset(re, 0, sizeof *re);
	re->jit = 1;
	if (len > PERLRE_MAX_LEN) {
		buf_adds(why, "pattern too long");
		return -1;
	}
	for (i = 0; i < flen; i++) {
		switch (flags[i]) {
		case 'i': opts |= PCRE2_CASELESS; break;
		case 's': opts |= PCRE2_DOTALL; break;
		case 'm': opts |= PCRE2_MULTILINE; break;
		case 'x': xcount++; break;
		case 'n': opts |= PCRE2_NO_AUTO_CAPTURE; break;
		/* no meaning for a match over bytes */
		case 'g': case 'o': case 'a': case 'u': case 'l': case 'd':
		case 'p': case 'c':
			break;
		default:
			buf_addf(why, "unknown regexp modifier '%c'", flags[i]);
			return -1;
		}
	}
	if (xcount == 1)
		opts |= PCRE2_EXTENDED;
	else if (xcount > 1)
		opts |= PCRE2_EXTENDED | PCRE2_EXTENDED_MORE;
	if (translate(body, len, xcount > 0, &t, &w) == -1) {
		buf_adds(why, w);
		goto out;
	}
	if (compile_one(re, t.data ? t.data : "", t.len, opts, 0, why) == -1)
		goto out;
	/* kept for the prefilter (rules.c), which compiles the same text */
	re->src = xstrndup(t.data ? t.data : "", t.len);
	re->srclen = t.len;
	re->opts = opts;
	ret = 0;
out:
	buf_free(&t);
	if (ret == -1)
		perlre_free(re);
	return ret;
}

int
perlre_compile_delimited(struct perlre *re, const char *s, size_t len,
    struct buf *why)
{
	struct span body, flags;
	const char *w = NULL;

	memset(re, 0, sizeof *re);
	if (perlre_split(s, len, &body, &flags, &w) == -1) {
		buf_adds(why, w);
		return -1;
	}
	return perlre_compile(re, body.p, body.len, flags.p, flags.len, why);
}

void
perlre_free(struct perlre *re)
{
	unsigned i;

	for (i = 0; i < re->ncode; i++) {
		pcre2_code_free(re->code[i]);
		free(re->psrc[i]);
	}
	free(re->psrc);
	re->psrc = NULL;
	free(re->code);
	re->code = NULL;
	re->ncode = 0;
	free(re->src);
	re->src = NULL;
	re->srclen = 0;
}

void
perlre_ctx_init(struct perlre_ctx *c)
{
	memset(c, 0, sizeof *c);
	c->md = pcre2_match_data_create(1, NULL);
	c->mc = pcre2_match_context_create(NULL);
	c->js = pcre2_jit_stack_create(PERLRE_JIT_STACK_MIN,
	    PERLRE_JIT_STACK_MAX, NULL);
	if (c->md == NULL || c->mc == NULL || c->js == NULL)
		abort();	/* out of memory, as xmalloc */
	pcre2_set_match_limit(c->mc, SCORE_MATCH_LIMIT);
	pcre2_set_depth_limit(c->mc, PERLRE_DEPTH_LIMIT);
	pcre2_jit_stack_assign(c->mc, NULL, c->js);
}

void
perlre_ctx_fini(struct perlre_ctx *c)
{
	pcre2_match_data_free(c->md);
	pcre2_match_context_free(c->mc);
	pcre2_jit_stack_free(c->js);
	memset(c, 0, sizeof *c);
}

int
perlre_match(const struct perlre *re, struct perlre_ctx *c, const char *s,
    size_t len, size_t off, size_t *start, size_t *end)
{
	return perlre_match_some(re, c, s, len, off, NULL, start, end);
}

int
perlre_match_some(const struct perlre *re, struct perlre_ctx *c,
    const char *s, size_t len, size_t off, const unsigned char *pieces,
    size_t *start, size_t *end)
{
	unsigned i;
	int found = 0, limited = 0;
	size_t bs = 0, be = 0;

	for (i = 0; i < re->ncode; i++) {
		int rc;
		PCRE2_SIZE *ov;

		if (pieces != NULL && !(pieces[i / 8] & (1u << (i % 8))))
			continue;	/* cannot match this subject */

		if (re->jit)
			rc = pcre2_jit_match(re->code[i], (PCRE2_SPTR)s, len,
			    off, 0, c->md, c->mc);
		else
			rc = pcre2_match(re->code[i], (PCRE2_SPTR)s, len, off,
			    0, c->md, c->mc);
		if (rc == PCRE2_ERROR_NOMATCH)
			continue;
		if (rc < 0 && rc != 0) {
			limited = 1;
			continue;
		}
		ov = pcre2_get_ovector_pointer(c->md);
		if (!found || ov[0] < bs) {
			found = 1;
			bs = ov[0];
			be = ov[1] < ov[0] ? ov[0] : ov[1];	/* \K */
		}
		if (bs == off)
			break;	/* nothing can start earlier */
	}
	if (found) {
		*start = bs;
		*end = be;
		return 1;
	}
	if (limited) {
		c->errors++;
		return -1;
	}
	return 0;
}
