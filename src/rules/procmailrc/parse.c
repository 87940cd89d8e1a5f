/*
 * parse.c - procmailrc(5) into the tree of procmailrc.h.
 *
 * Procmail reads its rc file as a character stream and decides, statement
 * by statement, what it is looking at; quoting rules (sh-like, see
 * subst.c) decide where an assignment's value or an action line ends, so
 * a quoted string may run over several lines and "A=b c=d" is two
 * assignments. This parser follows the same stream rules to find the
 * extent of every piece and keeps the text raw: substitution happens at
 * run time (subst.c), as in procmail, because variables change while the
 * file runs. Regexes without "$" are compiled here, once.
 *
 * Nesting uses an explicit stack (PM_MAX_NESTING levels), so no recursion
 * grows with the input. Every error is reported as
 * "file:line:col: error: text" and parsing goes on with the next
 * statement, so one run reports all of them.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pm-int.h"

/* Internal bit for pm_cond_classify(): the text was substituted already,
 * a leading "$" is part of the regex. */
#define PMF_NOEXPAND_INTERNAL	0x40000000u

/* readparse() states, procmail's names. */
enum {
	ST_NOTHING = -1,	/* nothing yet */
	ST_SKIP = 0,		/* skipping blanks between words */
	ST_NORMAL = 1,
	ST_DQ = 2,		/* inside "..." */
	ST_SQ = 3,		/* inside '...' */
};

enum lexmode {
	LEX_ASSIGN,		/* ends at the first unquoted blank */
	LEX_WORDS,		/* ends at an unquoted newline */
};

struct parser {
	const char *src;
	size_t len, pos;
	const char *file;
	struct arena *a;
	struct pm_diags *d;
	unsigned errors;
	size_t nrecipes;
	/* line/column cache: position -> line */
	size_t lc_pos, lc_linestart;
	int lc_line;
};

void
pm_diags_init(struct pm_diags *d)
{
	memset(d, 0, sizeof *d);
}

void
pm_diags_free(struct pm_diags *d)
{
	buf_free(&d->text);
	d->errors = d->warnings = 0;
}

static void
linecol(struct parser *ps, size_t pos, int *line, int *col)
{
	size_t i;

	if (pos < ps->lc_pos) {
		ps->lc_pos = ps->lc_linestart = 0;
		ps->lc_line = 1;
	}
	for (i = ps->lc_pos; i < pos && i < ps->len; i++)
		if (ps->src[i] == '\n') {
			ps->lc_line++;
			ps->lc_linestart = i + 1;
		}
	ps->lc_pos = pos;
	*line = ps->lc_line;
	*col = (int)(pos - ps->lc_linestart) + 1;
}

static void diag_at(struct parser *ps, size_t pos, int warning,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void
diag_at(struct parser *ps, size_t pos, int warning, const char *fmt, ...)
{
	va_list ap;
	int line, col;

	linecol(ps, pos, &line, &col);
	buf_addf(&ps->d->text, "%s:%d:%d: %s: ", ps->file, line, col,
	    warning ? "warning" : "error");
	va_start(ap, fmt);
	buf_vaddf(&ps->d->text, fmt, ap);
	va_end(ap);
	buf_addc(&ps->d->text, '\n');
	if (warning)
		ps->d->warnings++;
	else {
		ps->d->errors++;
		ps->errors++;
	}
}

static void free_conds(struct pm_node *n);

/* A recipe that is dropped: its compiled regexes go too. */
static struct pm_node *
drop(struct pm_node *n)
{
	n->next = NULL;
	free_conds(n);
	return NULL;
}

static int
is_name_start(int c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static int
is_name(int c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static int
at(const struct parser *ps, size_t i)
{
	return i < ps->len ? (unsigned char)ps->src[i] : -1;
}

static void
skip_blanks(struct parser *ps)
{
	while (ps->pos < ps->len &&
	    (ps->src[ps->pos] == ' ' || ps->src[ps->pos] == '\t'))
		ps->pos++;
}

static void
skip_line(struct parser *ps)
{
	while (ps->pos < ps->len && ps->src[ps->pos] != '\n')
		ps->pos++;
	if (ps->pos < ps->len)
		ps->pos++;
}

/*
 * Where does a readparse()-style text starting at i end? Same state
 * machine as subst.c (quotes, backslashes, backquotes, ${...} braces,
 * "#" comments at the start of a word); the text stays raw. *unterm is set
 * when the input ends inside quotes or backquotes (procmail: "Unexpected
 * EOL"). The returned end is where the statement stops: an unquoted
 * newline, a comment, or (LEX_ASSIGN) the blank after the value.
 */
static size_t
lex_text(const struct parser *ps, size_t i, enum lexmode mode, int *unterm)
{
	const char *s = ps->src;
	size_t len = ps->len;
	int got = ST_NOTHING, bracelev = 0, qbracelev = 0;

	*unterm = 0;
	while (i < len) {
		char c = s[i];

		switch (c) {
		case '\\':
			if (got == ST_SQ)
				break;
			if (i + 1 >= len) {
				*unterm = 1;
				return len;
			}
			i += 2;
			if (s[i - 1] != '\n' && got <= ST_SKIP)
				got = ST_NORMAL;
			continue;
		case '`':
			if (got == ST_SQ)
				break;
			for (i++;;) {
				if (i >= len) {
					*unterm = 1;
					return len;
				}
				if (s[i] == '`') {
					i++;
					break;
				}
				if (s[i] == '"' && got == ST_DQ) {
					/* procmail ends the backquote here and
					 * the quote closes the string */
					i++;
					got = ST_NORMAL;
					break;
				}
				if (s[i] == '\\') {
					if (i + 1 >= len) {
						*unterm = 1;
						return len;
					}
					i += 2;
					continue;
				}
				i++;
			}
			if (got != ST_DQ)
				got = ST_NORMAL;
			continue;
		case '"':
			if (got == ST_SQ || (got == ST_DQ && qbracelev < bracelev))
				break;
			if (got == ST_DQ)
				got = ST_NORMAL;
			else {
				qbracelev = bracelev;
				got = ST_DQ;
			}
			i++;
			continue;
		case '\'':
			if (got == ST_DQ)
				break;
			got = got == ST_SQ ? ST_NORMAL : ST_SQ;
			i++;
			continue;
		case '}':
			if ((got <= ST_NORMAL && bracelev) ||
			    (got == ST_DQ && bracelev > qbracelev)) {
				bracelev--;
				i++;
				continue;
			}
			break;
		case '#':
			if (got > ST_SKIP)
				break;
			return i;	/* a comment: the statement ends */
		case '$':
			if (got == ST_SQ)
				break;
			i++;
			if (i >= len)
				return len;
			c = s[i];
			if (c == '{') {
				for (i++; i < len && is_name(s[i]); i++)
					;
				if (i >= len)
					return len;
				if (s[i] == ':') {
					i++;
					if (i < len && (s[i] == '-' || s[i] == '+'))
						bracelev++;
					if (i < len && s[i] != '\n')
						i++;
				} else if (s[i] == '-' || s[i] == '+') {
					bracelev++;
					i++;
				} else if (s[i] != '\n')
					i++;	/* "}" or a bad substitution */
				if (got <= ST_SKIP && !bracelev)
					got = ST_NORMAL;
				continue;
			}
			if (c == '\\') {
				i++;
				if (i >= len)
					return len;
				if (is_name(s[i])) {
					while (i < len && is_name(s[i]))
						i++;
				} else
					i++;	/* an escaped character */
				if (got <= ST_SKIP)
					got = ST_NORMAL;
				continue;
			}
			if (isdigit((unsigned char)c) || strchr("$?#=_-@", c)) {
				i++;
				if (got <= ST_SKIP && c != '@')
					got = ST_NORMAL;
				continue;
			}
			if (is_name_start(c)) {
				while (i < len && is_name(s[i]))
					i++;
			}
			if (got <= ST_SKIP)
				got = ST_NORMAL;
			continue;
		case ' ':
		case '\t':
			if (got == ST_NORMAL) {
				if (mode == LEX_ASSIGN)
					return i;
				got = ST_SKIP;
			}
			if (got <= ST_SKIP) {
				i++;
				continue;
			}
			break;
		case '\n':
			if (got <= ST_NORMAL)
				return i;
			break;
		default:
			break;
		}
		/* a plain character */
		i++;
		if (got <= ST_SKIP)
			got = ST_NORMAL;
	}
	if (got > ST_NORMAL)
		*unterm = 1;
	return len;
}

/*
 * procmail's getlline(): the rest of the line, and the next ones while a
 * line ends in a backslash (kept unless the line held nothing else; a
 * lone backslash becomes a newline). Returns an arena string.
 */
static char *
get_lline(struct parser *ps, size_t *len_out)
{
	struct buf b = BUF_INIT;
	char *out;

	for (;;) {
		size_t start = ps->pos, end;

		while (ps->pos < ps->len && ps->src[ps->pos] != '\n')
			ps->pos++;
		end = ps->pos;
		if (ps->pos < ps->len)
			ps->pos++;	/* the newline */
		if (end > start && ps->src[end - 1] == '\\') {
			if (end - 1 > start)
				buf_add(&b, ps->src + start, end - start);
			buf_addc(&b, '\n');
			if (ps->pos >= ps->len)
				break;
			continue;
		}
		buf_add(&b, ps->src + start, end - start);
		break;
	}
	out = arena_strndup(ps->a, b.data ? b.data : "", b.len);
	*len_out = b.len;
	buf_free(&b);
	return out;
}

size_t
pm_squeeze(char *s, size_t len)
{
	size_t i, o = 0;
	int state = 0;	/* 1: after a backslash, 2: at a line start */

	for (i = 0; i < len; i++) {
		char c = s[i];

		switch (c) {
		case '\n':
			if (state == 1)
				o--;	/* drop the backslash-newline pair */
			else
				s[o++] = c;
			state = 2;
			continue;
		case '\\':
			s[o++] = c;
			state = 1;
			continue;
		case ' ':
		case '\t':
			if (state == 2)
				continue;	/* leading blanks of a continuation */
			s[o++] = c;
			state = 0;
			continue;
		default:
			s[o++] = c;
			state = 0;
		}
	}
	if (o < len)
		s[o] = '\0';
	return o;
}

/* procmail's stod(): [+-]digits[.,digits]; *end_out == s when nothing. */
static double
pm_stod(const char *s, const char *end, const char **end_out)
{
	const char *p = s;
	double acc = 0, frac = 1;
	int neg = 0, any = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	while (p < end && isdigit((unsigned char)*p)) {
		acc = acc * 10 + (*p++ - '0');
		any = 1;
	}
	if (p < end && (*p == '.' || *p == ',')) {
		p++;
		while (p < end && isdigit((unsigned char)*p)) {
			frac /= 10;
			acc += frac * (*p++ - '0');
			any = 1;
		}
	}
	*end_out = any ? p : s;
	return neg ? -acc : acc;
}

static const char *
skip_sp(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

int
pm_cond_classify(struct pm_cond *c, const char *text, size_t len,
    unsigned flags, struct arena *a, size_t *off_out, struct err *e)
{
	const char *t = text, *end = text + len, *q;
	int allow_expand = !(flags & PMF_NOEXPAND_INTERNAL);

	*off_out = 0;
	for (;;) {
		if (t >= end)
			goto regex;
		switch (*t) {
		case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
		case '-': case '+': case '.': case ',': {
			double w, x;
			const char *e1, *e2;

			w = pm_stod(t, end, &e1);
			if (e1 > t) {
				q = skip_sp(e1, end);
				if (q < end && *q == '^') {
					x = pm_stod(q + 1, end, &e2);
					if (e2 > q + 1) {
						c->weighted = 1;
						c->weight = w;
						c->exponent = x;
						t = skip_sp(e2, end);
						continue;
					}
				}
			}
			goto regex;
		}
		case '!':
			c->negate ^= 1;
			t = skip_sp(t + 1, end);
			continue;
		case '$':
			if (!allow_expand)
				goto regex;
			c->expand = 1;
			c->kind = PMC_REGEX;
			t++;
			c->text = arena_strndup(a, t, (size_t)(end - t));
			c->text_len = (size_t)(end - t);
			return 0;
		case '?':
			c->kind = PMC_PROGRAM;
			t++;
			c->text = arena_strndup(a, t, (size_t)(end - t));
			c->text_len = (size_t)(end - t);
			return 0;
		case '<':
		case '>': {
			char *num, *np;

			c->kind = *t == '<' ? PMC_SIZE_LT : PMC_SIZE_GT;
			t++;
			c->text = arena_strndup(a, t, (size_t)(end - t));
			c->text_len = (size_t)(end - t);
			if (memchr(t, '$', (size_t)(end - t)) != NULL &&
			    allow_expand) {
				c->expand = 1;	/* sizes are substituted */
				return 0;
			}
			num = c->text;
			errno = 0;
			c->size = strtol(num, &np, 10);
			if (np == num || errno == ERANGE) {
				*off_out = (size_t)(t - text);
				return err_set(e, ERR_PERM,
				    "bad size in condition: \"%s\"", num);
			}
			while (*np == ' ' || *np == '\t')
				np++;
			if (*np != '\0') {
				*off_out = (size_t)(t - text) + (size_t)(np - num);
				return err_set(e, ERR_PERM,
				    "junk after the size: \"%s\"", np);
			}
			return 0;
		}
		case '\\':
			t++;
			goto regex;
		default:
			if (is_name(*t)) {
				q = t;
				while (q < end && is_name(*q))
					q++;
				{
					const char *r = skip_sp(q, end);

					if (end - r >= 2 && r[0] == '?' &&
					    r[1] == '?') {
						c->kind = PMC_VAR;
						c->var = arena_strndup(a, t,
						    (size_t)(q - t));
						t = skip_sp(r + 2, end);
						continue;
					}
				}
			}
			goto regex;
		}
	}
regex:
	if (c->kind != PMC_VAR)
		c->kind = PMC_REGEX;
	c->text = arena_strndup(a, t, (size_t)(end - t));
	c->text_len = (size_t)(end - t);
	if (!c->expand) {
		size_t eo = 0;
		unsigned rf = PM_RE_MACROS;

		if (!(flags & PMF_D))
			rf |= PM_RE_CASELESS;
		if (pm_re_compile(c->text, c->text_len, rf, &c->re, &eo,
		    e) == -1) {
			*off_out = (size_t)(t - text) + eo;
			return -1;
		}
	}
	return 0;
}

/* A parsed condition line. */
static int
parse_condition(struct parser *ps, struct pm_cond *c, unsigned flags,
    int legacy)
{
	size_t start, len, off;
	char *text;
	struct err e;
	int line, col;

	memset(c, 0, sizeof *c);
	if (!legacy || at(ps, ps->pos) == '*')
		ps->pos++;	/* the "*" */
	skip_blanks(ps);
	start = ps->pos;
	linecol(ps, start, &line, &col);
	c->line = line;
	c->col = col;
	text = get_lline(ps, &len);
	if ((long)len > PM_MAX_LINE) {
		diag_at(ps, start, 0, "condition longer than %ld bytes",
		    (long)PM_MAX_LINE);
		return -1;
	}
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		text[--len] = '\0';
	len = pm_squeeze(text, len);
	err_clear(&e);
	if (pm_cond_classify(c, text, len, flags, ps->a, &off, &e) == -1) {
		/* off counts in the squeezed text; good enough on one line */
		diag_at(ps, start + off, 0, "%s", e.msg);
		return -1;
	}
	return 0;
}

static char *
lex_piece(struct parser *ps, enum lexmode mode, const char *what)
{
	size_t start = ps->pos, end;
	int unterm;

	end = lex_text(ps, start, mode, &unterm);
	if (unterm)
		diag_at(ps, start, 0, "%s: missing closing quote or backquote",
		    what);
	if ((long)(end - start) > PM_MAX_LINE)
		diag_at(ps, start, 0, "%s longer than %ld bytes", what,
		    (long)PM_MAX_LINE);
	ps->pos = end;
	return arena_strndup(ps->a, ps->src + start, end - start);
}

/* Strip trailing blanks of a raw text (arena string). */
static void
rtrim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/*
 * ":0 flags : lockfile" (ps->pos at the ":"). Returns the node (NULL when
 * the recipe is bad: the error is reported and its text consumed). *nest
 * is set when the action opens a block (even for a bad recipe, so that
 * the braces still pair up).
 */
static struct pm_node *
parse_recipe(struct parser *ps, int *nest)
{
	struct pm_node *n = arena_zalloc(ps->a, sizeof *n);
	size_t rstart = ps->pos, hstart;
	char *hdr, *p;
	long nrcond = -1;
	int bad = 0, line, col, unterm;
	size_t hend, ncap = 0;

	*nest = 0;
	n->kind = PM_RECIPE;
	n->file = ps->file;
	linecol(ps, rstart, &line, &col);
	n->line = line;
	n->col = col;
	ps->pos++;	/* ":" */
	hstart = ps->pos;
	hend = lex_text(ps, hstart, LEX_WORDS, &unterm);
	if (unterm) {
		diag_at(ps, hstart, 0, "recipe line: missing closing quote");
		bad = 1;
	}
	hdr = arena_strndup(ps->a, ps->src + hstart, hend - hstart);
	ps->pos = hend;
	skip_line(ps);	/* a comment, if any, and the newline */

	p = hdr;
	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char)*p)) {
		nrcond = strtol(p, &p, 10);
		if (nrcond > PM_MAX_LINE)
			nrcond = PM_MAX_LINE;
	}
	for (;;) {
		const char *f;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (*p == ':') {
			n->locked = 1;
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			rtrim(p);
			if (*p != '\0')
				n->lockfile = p;
			break;
		}
		if ((f = strchr(PM_FLAG_LETTERS, *p)) == NULL) {
			diag_at(ps, hstart + (size_t)(p - hdr), 0,
			    "unknown recipe flag '%c'", *p);
			bad = 1;
			break;
		}
		n->flags |= 1u << (f - PM_FLAG_LETTERS);
		p++;
	}
	/* PM_FLAG_LETTERS is in PMF_* bit order: check it once here. */
	if (!(n->flags & (PMF_H | PMF_B)))
		n->flags |= PMF_DEFAULT_HB;
	if (!(n->flags & (PMF_h | PMF_b)))
		n->flags |= PMF_DEFAULT_hb;
	if ((n->flags & PMF_e) && (n->flags & (PMF_E | PMF_a)))
		diag_at(ps, hstart, 1, "flag 'e' conflicts with '%s': "
		    "procmail ignores the latter",
		    (n->flags & PMF_E) ? "E" : "a");
	if (nrcond < 0)	/* old ":" without a count */
		nrcond = !(n->flags & (PMF_A | PMF_a | PMF_E | PMF_e));

	/* conditions */
	for (;;) {
		int skipped_empty = 0, legacy;
		struct pm_cond c;

		for (;;) {
			skip_blanks(ps);
			if (nrcond > 0)
				break;
			if (at(ps, ps->pos) == '#') {
				skip_line(ps);
				continue;
			}
			if (at(ps, ps->pos) == '\n') {
				ps->pos++;
				skipped_empty = 1;
				continue;
			}
			break;
		}
		legacy = nrcond > 0;
		if (!legacy && at(ps, ps->pos) != '*') {
			if (at(ps, ps->pos) == ':' || at(ps, ps->pos) == -1 ||
			    (skipped_empty && at(ps, ps->pos) == '}')) {
				diag_at(ps, ps->pos < ps->len ? ps->pos : rstart,
				    0, "missing action line for the recipe "
				    "at line %d", n->line);
				return drop(n);
			}
			break;
		}
		if (nrcond > 0)
			nrcond--;
		if (parse_condition(ps, &c, n->flags, legacy) == -1) {
			bad = 1;
			continue;
		}
		if (n->nconds == ncap) {
			struct pm_cond *nc;

			ncap = ncap ? ncap * 2 : 4;
			nc = arena_allocarray(ps->a, ncap, sizeof *nc);
			if (n->nconds)
				memcpy(nc, n->conds, n->nconds * sizeof *nc);
			n->conds = nc;
		}
		n->conds[n->nconds++] = c;
	}

	/* the action line */
	skip_blanks(ps);
	linecol(ps, ps->pos, &line, &col);
	n->action_line = line;
	switch (at(ps, ps->pos)) {
	case '!':
		ps->pos++;
		n->action = PMA_FORWARD;
		n->action_text = lex_piece(ps, LEX_WORDS, "forward");
		skip_line(ps);
		break;
	case '|': {
		size_t l;

		ps->pos++;
		n->action = PMA_PIPE;
		n->action_text = get_lline(ps, &l);
		if ((long)l > PM_MAX_LINE) {
			diag_at(ps, ps->pos, 0, "action line too long");
			bad = 1;
		}
		break;
	}
	case '{':
		if (at(ps, ps->pos + 1) == ' ' || at(ps, ps->pos + 1) == '\t' ||
		    at(ps, ps->pos + 1) == '\n' || at(ps, ps->pos + 1) == -1) {
			ps->pos++;
			n->action = PMA_NEST;
			*nest = 1;
			if (n->locked && !(n->flags & PMF_c))
				diag_at(ps, rstart, 1, "a local lockfile on "
				    "a nesting block is ignored");
			break;
		}
		goto folder;
	default:
		if (is_name_start(at(ps, ps->pos))) {
			size_t q = ps->pos, nstart = ps->pos;

			while (is_name(at(ps, q)))
				q++;
			{
				size_t r = q;

				while (at(ps, r) == ' ' || at(ps, r) == '\t')
					r++;
				if (at(ps, r) == '=') {
					r++;
					while (at(ps, r) == ' ' ||
					    at(ps, r) == '\t')
						r++;
					if (at(ps, r) == '|') {
						size_t l;

						n->action = PMA_VARPIPE;
						n->capture_var = arena_strndup(
						    ps->a, ps->src + nstart,
						    q - nstart);
						ps->pos = r + 1;
						n->action_text = get_lline(ps,
						    &l);
						break;
					}
					if (at(ps, r) == '!') {
						diag_at(ps, r, 0, "\"VAR=! "
						    "addresses\" is not "
						    "supported");
						ps->pos = r;
						skip_line(ps);
						bad = 1;
						break;
					}
				}
			}
		}
	folder:
		if (at(ps, ps->pos) == '\n' || at(ps, ps->pos) == '#') {
			diag_at(ps, ps->pos, 0, "missing action line for the "
			    "recipe at line %d", n->line);
			skip_line(ps);
			return drop(n);
		}
		n->action = PMA_FOLDER;
		n->action_text = lex_piece(ps, LEX_WORDS, "folder");
		rtrim(n->action_text);
		skip_line(ps);
		break;
	}
	if (n->action == PMA_NEST)
		*nest = 1;
	if (++ps->nrecipes > PM_MAX_RECIPES) {
		diag_at(ps, rstart, 0, "more than %d recipes in one file",
		    PM_MAX_RECIPES);
		bad = 1;
	}
	return bad ? drop(n) : n;
}

/* NAME=value, or NAME alone (unset). ps->pos at the name. */
static struct pm_node *
parse_assign(struct parser *ps)
{
	struct pm_node *n;
	size_t start = ps->pos, q = ps->pos;
	int line, col;

	if (!is_name_start(at(ps, q))) {
		diag_at(ps, start, 0, "expected an assignment or a recipe");
		skip_line(ps);
		return NULL;
	}
	while (is_name(at(ps, q)))
		q++;
	switch (at(ps, q)) {
	case ' ': case '\t': case '\n': case '=': case -1:
		break;
	default:
		diag_at(ps, q, 0, "expected an assignment or a recipe");
		skip_line(ps);
		return NULL;
	}
	n = arena_zalloc(ps->a, sizeof *n);
	n->kind = PM_ASSIGN;
	n->file = ps->file;
	linecol(ps, start, &line, &col);
	n->line = line;
	n->col = col;
	n->name = arena_strndup(ps->a, ps->src + start, q - start);
	ps->pos = q;
	skip_blanks(ps);
	if (at(ps, ps->pos) == '=') {
		ps->pos++;
		skip_blanks(ps);	/* "blanks around the '=' are ignored" */
		n->value = lex_piece(ps, LEX_ASSIGN, "value");
	}
	/* Whatever follows on the line is the next statement, as in
	 * procmail ("A=b C=d" is two assignments). */
	return n;
}

struct level {
	struct pm_node **tail;
	size_t open_pos;	/* the "{" */
	struct pm_node *sink;	/* the inside of a bad block: dropped */
};

static unsigned
parse_all(struct parser *ps, struct pm_file *f)
{
	struct level stack[PM_MAX_NESTING + 1];
	unsigned depth = 0;
	stack[0].tail = &f->nodes;
	stack[0].open_pos = 0;
	stack[0].sink = NULL;
	for (;;) {
		struct pm_node *n = NULL;
		int c, nest = 0;
		size_t here;

		while ((c = at(ps, ps->pos)) == ' ' || c == '\t' || c == '\n')
			ps->pos++;
		if (c == -1)
			break;
		here = ps->pos;
		if (c == '#') {
			skip_line(ps);
			continue;
		}
		if (c == '}') {
			ps->pos++;
			if (depth == 0) {
				diag_at(ps, here, 0, "closing brace unexpected");
				continue;
			}
			free_conds(stack[depth].sink);
			depth--;
			continue;
		}
		if (c == ':') {
			n = parse_recipe(ps, &nest);
			if (ps->nrecipes > PM_MAX_RECIPES)
				break;
		} else
			n = parse_assign(ps);
		if (n != NULL) {
			*stack[depth].tail = n;
			stack[depth].tail = &n->next;
		}
		if (nest) {
			if (depth >= PM_MAX_NESTING) {
				diag_at(ps, here, 0, "blocks nested deeper "
				    "than %d", PM_MAX_NESTING);
				/* stop: the braces cannot pair up any more */
				while (depth > 0)
					free_conds(stack[depth--].sink);
				return ps->errors;
			}
			depth++;
			stack[depth].open_pos = here;
			stack[depth].sink = NULL;
			if (n != NULL)
				stack[depth].tail = &n->children;
			else	/* a bad block: parse its inside, keep none */
				stack[depth].tail = &stack[depth].sink;
		}
	}
	/* procmail runs an unclosed block to the end of the file and then
	 * says "Missing closing brace": a warning, the blocks end here */
	while (depth > 0) {
		diag_at(ps, stack[depth].open_pos, 1, "missing closing brace "
		    "for the block of this recipe");
		free_conds(stack[depth].sink);
		depth--;
	}
	return ps->errors;
}

unsigned
pm_parse_partial(const char *name, const char *src, size_t len,
    struct pm_diags *d, struct pm_file **out)
{
	struct parser ps;
	struct pm_file *f;
	struct arena *a;

	*out = NULL;
	if ((long)len > PM_MAX_RC_SIZE) {
		buf_addf(&d->text, "%s:1:1: error: file larger than %ld "
		    "bytes\n", name, (long)PM_MAX_RC_SIZE);
		d->errors++;
		return 1;
	}
	a = arena_new();
	f = arena_zalloc(a, sizeof *f);
	f->arena = a;
	f->path = arena_strdup(a, name);
	memset(&ps, 0, sizeof ps);
	ps.src = src;
	ps.len = len;
	ps.file = f->path;
	ps.a = a;
	ps.d = d;
	ps.lc_line = 1;
	parse_all(&ps, f);
	f->nrecipes = ps.nrecipes;
	*out = f;
	return ps.errors;
}

int
pm_parse(const char *name, const char *src, size_t len, struct pm_diags *d,
    struct pm_file **out)
{
	struct pm_file *f;

	if (pm_parse_partial(name, src, len, d, &f) != 0) {
		pm_file_free(&f);
		*out = NULL;
		return -1;
	}
	*out = f;
	return 0;
}

int
pm_parse_file(const char *path, struct pm_diags *d, struct pm_file **out)
{
	struct buf b = BUF_INIT;
	char chunk[8192];
	ssize_t n;
	int fd, ret;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		buf_addf(&d->text, "%s:0:0: error: cannot open: %s\n", path,
		    strerror(errno));
		d->errors++;
		return -1;
	}
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			buf_addf(&d->text, "%s:0:0: error: read: %s\n", path,
			    strerror(errno));
			d->errors++;
			close(fd);
			buf_free(&b);
			return -1;
		}
		if (n == 0)
			break;
		if ((long)(b.len + (size_t)n) > PM_MAX_RC_SIZE) {
			buf_addf(&d->text, "%s:1:1: error: file larger than "
			    "%ld bytes\n", path, (long)PM_MAX_RC_SIZE);
			d->errors++;
			close(fd);
			buf_free(&b);
			return -1;
		}
		buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	ret = pm_parse(path, b.data ? b.data : "", b.len, d, out);
	buf_free(&b);
	return ret;
}

/* Depth is bounded by PM_MAX_NESTING (the parser refuses deeper). */
static void
free_conds(struct pm_node *n)
{
	for (; n != NULL; n = n->next) {
		size_t i;

		if (n->kind != PM_RECIPE)
			continue;
		for (i = 0; i < n->nconds; i++)
			if (n->conds[i].re != NULL)
				pm_re_free(&n->conds[i].re);
		free_conds(n->children);
	}
}

void
pm_file_free(struct pm_file **fp)
{
	struct pm_file *f = *fp;
	struct arena *a;

	if (f == NULL)
		return;
	free_conds(f->nodes);
	a = f->arena;
	arena_free(&a);
	*fp = NULL;
}
