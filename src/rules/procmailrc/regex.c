/*
 * regex.c - procmail's regular expressions (procmailrc(5) "Extended
 * regular expressions" and "MISCELLANEOUS"), as procmail 3.22's own
 * engine (regexp.c) reads and runs them.
 *
 * The dialect differs from POSIX and from pcre2 in ways users' rc files
 * rely on, so nothing is handed to pcre2 as written. The pattern is
 * parsed into a tree the way procmail's compiler reads it, and the tree is
 * turned into two things:
 *
 *  - a pcre2 pattern (8-bit bytes, no UTF, JIT when available), which
 *    answers the yes/no question that nearly every condition asks;
 *  - a small NFA run the way procmail runs its own automaton, for what a
 *    backtracking matcher cannot give: MATCH (the text after \/, whose
 *    left side procmail matches as early and as short as possible and
 *    whose right side as long as possible), and the earliest match end
 *    that procmail's scoring loop counts with. The NFA also answers when
 *    pcre2 gives up on its match limit (it never backtracks, so it costs
 *    at most text x pattern steps, and it has its own budget).
 *
 * What procmail's reader does, and so what we do:
 *  - "^" and "$" match a newline character; the text is searched as if a
 *    newline came before it and one after it (so "^From" matches at the
 *    start, "foo$" at the end, and "x$" consumes the newline after x);
 *  - "^^" anchors at the very start of the text, or at the very end when
 *    nothing follows it in the expression;
 *  - "." and negated classes never match a newline; "\<" and "\>" are the
 *    class [^a-zA-Z0-9_] plus newline (they consume a character);
 *  - classes have no escapes; "]" first and "-" first or last are
 *    literal; ranges chain ("[a-c-e]" is a to e); a class left open at the
 *    end of the pattern is closed there;
 *  - "\" quotes the next byte, whatever it is ("\d" is "d", "\n" is "n"),
 *    a trailing "\" is itself; "{", "}" are ordinary characters;
 *  - a "*", "+" or "?" that follows nothing, or follows another of them,
 *    is an ordinary character ("a**" is "a*" then "*");
 *  - case is folded for ASCII letters only.
 *
 * All of this was checked against /usr/bin/procmail; the unit test's table
 * holds the cases (tests/unit/test-pmregex.c).
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "pm-int.h"

/* ---- limits ---- */
#define PM_RE_MAX_PATTERN	(64L * 1024)	/* bytes of a regex as written */
#define PM_RE_MAX_EXPANDED	(256L * 1024)	/* ... after ^TO_ & co. */
#define PM_RE_MAX_NEST		100	/* ( ) inside each other */
#define PM_RE_MAX_PCRE		(4L * 1024 * 1024) /* translated pattern;
					 * beyond, the NFA alone */
#define PM_RE_JIT_MIN		(64L * 1024)	/* subject bytes worth a JIT */
#define PM_RE_JIT_USES		16	/* pcre2 matches earning a JIT */
#define PM_RE_MAX_LITS		4	/* required literals per regex */
#define PM_RE_DEPTH_LIMIT	10000	/* pcre2 backtracking depth */
#define PM_RE_HEAP_LIMIT	(64 * 1024) /* KiB of pcre2 backtracking heap */
#define PM_RE_NFA_BUDGET	PM_MATCH_LIMIT /* NFA node visits per search */

/* procmail 3.22's macro texts (its binary holds these exact strings;
 * procmailrc(5) prints them folded over lines). */
static const char MACRO_FROM_DAEMON[] =
    "(^(Mailing-List:|Precedence:.*(junk|bulk|list)|To: Multiple recipients"
    " of |(((Resent-)?(From|Sender)|X-Envelope-From):|>?From )([^>]*[^(.%@"
    "a-z0-9])?(Post(ma?(st(e?r)?|n)|office)|(send)?Mail(er)?|daemon|m(mdf|"
    "ajordomo)|n?uucp|LIST(SERV|proc)|NETSERV|o(wner|ps)|r(e(quest|sponse)"
    "|oot)|b(ounce|bs\\.smtp)|echo|mirror|s(erv(ices?|er)|mtp(error)?|ystem"
    ")|A(dmin(istrator)?|MMGR|utoanswer))(([^).!:a-z0-9][-_a-z0-9]*)?[%@>\t"
    " ][^<)]*(\\(.*\\).*)?)?$([^>]|$)))";
static const char MACRO_TO_[] =
    "(^((Original-)?(Resent-)?(To|Cc|Bcc)|(X-Envelope|Apparently(-Resent)?"
    ")-To):(.*[^-a-zA-Z0-9_.])?)";
static const char MACRO_TO[] =
    "(^((Original-)?(Resent-)?(To|Cc|Bcc)|(X-Envelope|Apparently(-Resent)?"
    ")-To):(.*[^a-zA-Z])?)";
static const char MACRO_FROM_MAILER[] =
    "(^(((Resent-)?(From|Sender)|X-Envelope-From):|>?From )([^>]*[^(.%@a-z"
    "0-9])?(Post(ma(st(er)?|n)|office)|(send)?Mail(er)?|daemon|mmdf|n?uucp|"
    "ops|r(esponse|oot)|(bbs\\.)?smtp(error)?|s(erv(ices?|er)|ystem)|A(dmin"
    "(istrator)?|MMGR))(([^).!:a-z0-9][-_a-z0-9]*)?[%@>\t ][^<)]*(\\(.*\\)."
    "*)?)?$([^>]|$))";

/* In procmail's order of search: ^TO_ before its prefix ^TO. */
static const struct {
	const char *key;
	const char *text;
	int caseless;	/* procmail forces case folding for this one */
} macros[] = {
	{ "^FROM_DAEMON", MACRO_FROM_DAEMON, 1 },
	{ "^TO_", MACRO_TO_, 0 },
	{ "^TO", MACRO_TO, 0 },
	{ "^FROM_MAILER", MACRO_FROM_MAILER, 0 },
};

/* ---- the parse tree ---- */
enum {
	K_CHAR,		/* c */
	K_SET,		/* set */
	K_DOT,
	K_NL,		/* "^" or "$": a newline */
	K_BOTEOT,	/* "^^": eot says which */
	K_BOM,		/* "\/" */
	K_ALT,		/* branches: first..last (K_CAT) */
	K_CAT,		/* elements: first..last */
	K_STAR, K_PLUS, K_OPT, /* child */
};

#define NONE	UINT32_MAX

struct ast {
	uint8_t kind;
	uint8_t c;
	uint8_t eot;
	uint32_t set;
	uint32_t child, first, last, next, prev;
};

struct set {
	uint8_t bits[32];
};

/* ---- the NFA ---- */
enum {
	N_CHAR, N_SET, N_DOT,	/* consume a byte (N_CHAR: c lowered when
				 * caseless) */
	N_BOT,			/* consume the virtual newline before the text */
	N_EOT,			/* at the end of the text: done; at the very
				 * start: as N_BOT (procmail falls through) */
	N_EPS,			/* try x, then y */
	N_JUMP,			/* go to x */
	N_BOM,			/* "\/": MATCH starts here */
	N_FIN,
};

struct nnode {
	uint8_t op;
	uint8_t c;
	uint32_t x, y;		/* next (x); second way (y); N_SET: y = set */
};

/* A byte string that every match contains (see "the prefilter"). */
struct lit {
	unsigned char *p;	/* lowered when the regex is caseless */
	size_t len;
	size_t guard;		/* index of the byte searched for first */
};

/*
 * A delivery runs each recipe's regex once at most, and most never match:
 * compiling them all (pcre2, its JIT, our automaton) cost far more than
 * matching. So pm_re_compile() only parses and checks the pattern and
 * finds its required literals; the pcre2 code and the automaton are built
 * at the first match that needs them, and most regexes are answered "no"
 * by the literal search alone. The lazy parts make a const pm_re change
 * under pm_re_exec(): a cache, not a change of what it matches (and the
 * procmailrc engine is single-threaded: the milter does not link it).
 */
struct pm_re {
	/* from pm_re_compile() */
	struct ast *ast;	/* the parse tree, kept for the lazy builds */
	uint32_t root;
	struct set *sets;
	uint32_t nsets;
	int pad;		/* the pattern can consume a newline: search
				 * "\n" text "\n" */
	int has_bom;
	int caseless;
	struct lit lits[PM_RE_MAX_LITS]; /* checked in this order */
	size_t nlits;
	unsigned char *litbuf;	/* the literals' bytes */
	/* built lazily */
	int code_tried;		/* pcre_prepare() ran */
	pcre2_code *code;	/* NULL: the automaton alone answers */
	pcre2_match_context *mctx;
	unsigned long uses;	/* pcre2 matches so far */
	int jit_tried;		/* pcre2_jit_compile() was called */
	struct nnode *nodes;	/* NULL until the automaton is needed */
	uint32_t nnodes, entry;
	int skip;		/* first is usable: */
	struct set first;	/* subject bytes a new thread can take */
};

/* ---- parsing (procmail's por/pnorm/psimp) ---- */

struct rp {
	const unsigned char *p;
	size_t n, pos;
	int caseless, lenient;
	struct ast *a;
	size_t na, capa;
	struct set *sets;
	size_t nsets, capsets;
	struct err *e;
	size_t erroff;
	int pad, has_bom;	/* as build() would find them */
	size_t nchars;		/* K_CHAR nodes: room for the literals */
};

static uint32_t
ast_new(struct rp *rp, int kind)
{
	struct ast *x;

	if (rp->na == rp->capa) {
		rp->capa = rp->capa ? rp->capa * 2 : 64;
		rp->a = xreallocarray(rp->a, rp->capa, sizeof *rp->a);
	}
	x = &rp->a[rp->na];
	memset(x, 0, sizeof *x);
	x->kind = (uint8_t)kind;
	x->child = x->first = x->last = x->next = x->prev = NONE;
	x->set = NONE;
	return (uint32_t)rp->na++;
}

static void
ast_append(struct rp *rp, uint32_t parent, uint32_t kid)
{
	struct ast *p = &rp->a[parent];

	rp->a[kid].prev = p->last;
	if (p->last == NONE)
		p->first = kid;
	else
		rp->a[p->last].next = kid;
	p->last = kid;
}

static uint32_t
set_new(struct rp *rp)
{
	if (rp->nsets == rp->capsets) {
		rp->capsets = rp->capsets ? rp->capsets * 2 : 16;
		rp->sets = xreallocarray(rp->sets, rp->capsets,
		    sizeof *rp->sets);
	}
	memset(&rp->sets[rp->nsets], 0, sizeof rp->sets[0]);
	return (uint32_t)rp->nsets++;
}

static int
bit_get(const struct set *s, unsigned c)
{
	return (s->bits[c >> 3] >> (c & 7)) & 1;
}

static void
bit_put(struct set *s, unsigned c, int v)
{
	if (v)
		s->bits[c >> 3] |= (uint8_t)(1u << (c & 7));
	else
		s->bits[c >> 3] &= (uint8_t)~(1u << (c & 7));
}

/* procmail's bseti(): a letter brings its other case when folding. */
static void
bit_puti(struct set *s, unsigned c, int v, int caseless)
{
	bit_put(s, c, v);
	if (!caseless)
		return;
	if (c >= 'A' && c <= 'Z')
		bit_put(s, c + ('a' - 'A'), v);
	else if (c >= 'a' && c <= 'z')
		bit_put(s, c - ('a' - 'A'), v);
}

/*
 * class = "[" ["^"] ["]" | "-"] *(byte | byte "-" byte) ["]"]
 * No escapes; a range runs from the last byte marked; "-" before "]" or
 * the end is literal; the end of the pattern closes the class.
 */
static uint32_t
parse_class(struct rp *rp)
{
	uint32_t si = set_new(rp);
	struct set *s = &rp->sets[si];
	unsigned i = 0, k;
	int neg;

	rp->pos++;			/* "[" */
	neg = rp->pos < rp->n && rp->p[rp->pos] == '^';
	if (neg) {
		memset(s->bits, 0xff, sizeof s->bits);
		rp->pos++;
		bit_put(s, '\n', 0);
	}
	if (rp->pos < rp->n && (rp->p[rp->pos] == ']' ||
	    rp->p[rp->pos] == '-')) {
		i = rp->p[rp->pos++];
		bit_put(s, i, !bit_get(s, i));	/* procmail toggles these */
	}
	while (rp->pos < rp->n) {
		unsigned c = rp->p[rp->pos];

		if (c == ']') {
			rp->pos++;
			break;
		}
		if (c == '-' && rp->pos + 1 < rp->n &&
		    rp->p[rp->pos + 1] != ']') {
			c = rp->p[++rp->pos];
			for (k = i + 1; k < c; k++)
				bit_puti(s, k, !neg, rp->caseless);
		}
		bit_puti(s, c, !neg, rp->caseless);
		i = c;
		rp->pos++;
	}
	return si;
}

static int parse_alt(struct rp *rp, unsigned depth, uint32_t *out);

/* simple = "(" alt ")" | class | "." | "^^" | "^" | "$" | "\" byte | byte */
static int
parse_simple(struct rp *rp, unsigned depth, uint32_t *out)
{
	unsigned c = rp->p[rp->pos];
	uint32_t x;

	switch (c) {
	case '(': {
		size_t open = rp->pos++;

		if (parse_alt(rp, depth + 1, out) == -1)
			return -1;
		if (rp->pos < rp->n) {
			rp->pos++;	/* ")" */
			return 0;
		}
		if (rp->lenient)
			return 0;
		rp->erroff = open;
		return err_set(rp->e, ERR_PERM, "unmatched ( at offset %zu",
		    open);
	}
	case '[':
		x = ast_new(rp, K_SET);
		rp->a[x].set = parse_class(rp);
		if (bit_get(&rp->sets[rp->a[x].set], '\n'))
			rp->pad = 1;
		*out = x;
		return 0;
	case '.':
		x = ast_new(rp, K_DOT);
		break;
	case '^':
		if (rp->pos + 1 < rp->n && rp->p[rp->pos + 1] == '^') {
			x = ast_new(rp, K_BOTEOT);
			rp->pos++;
		} else {
			x = ast_new(rp, K_NL);
			rp->pad = 1;
		}
		break;
	case '$':
		x = ast_new(rp, K_NL);
		rp->pad = 1;
		break;
	case '\\':
		if (rp->pos + 1 >= rp->n) {	/* nothing to quote */
			x = ast_new(rp, K_CHAR);
			rp->a[x].c = '\\';
			rp->nchars++;
			break;
		}
		c = rp->p[++rp->pos];
		if (c == '/') {
			x = ast_new(rp, K_BOM);
			rp->has_bom = 1;
			break;
		}
		if (c == '<' || c == '>') {
			uint32_t si = set_new(rp);
			unsigned k;

			for (k = 0; k < 256; k++)
				bit_put(&rp->sets[si], k, !(k == '_' ||
				    (k >= '0' && k <= '9') ||
				    (k >= 'a' && k <= 'z') ||
				    (k >= 'A' && k <= 'Z')));
			x = ast_new(rp, K_SET);
			rp->a[x].set = si;
			rp->pad = 1;	/* the class holds the newline */
			break;
		}
		/* FALLTHROUGH */
	default:
		x = ast_new(rp, K_CHAR);
		if (rp->caseless && c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		rp->a[x].c = (uint8_t)c;
		if (c == '\n')
			rp->pad = 1;
		rp->nchars++;
		break;
	}
	rp->pos++;
	*out = x;
	return 0;
}

/* cat = *(simple ["*" | "+" | "?"]) up to "|", ")" or the end */
static int
parse_cat(struct rp *rp, unsigned depth, uint32_t *out)
{
	uint32_t cat = ast_new(rp, K_CAT), el;

	while (rp->pos < rp->n && rp->p[rp->pos] != '|' &&
	    rp->p[rp->pos] != ')') {
		if (parse_simple(rp, depth, &el) == -1)
			return -1;
		if (rp->pos < rp->n) {
			int k = -1;

			switch (rp->p[rp->pos]) {
			case '*': k = K_STAR; break;
			case '+': k = K_PLUS; break;
			case '?': k = K_OPT; break;
			}
			if (k != -1) {
				uint32_t q = ast_new(rp, k);

				rp->a[q].child = el;
				el = q;
				rp->pos++;
			}
		}
		ast_append(rp, cat, el);
	}
	*out = cat;
	return 0;
}

/* alt = cat *("|" cat) */
static int
parse_alt(struct rp *rp, unsigned depth, uint32_t *out)
{
	uint32_t alt, br;

	if (depth > PM_RE_MAX_NEST) {
		rp->erroff = rp->pos;
		return err_set(rp->e, ERR_PERM, "parentheses nested deeper "
		    "than %d at offset %zu", PM_RE_MAX_NEST, rp->pos);
	}
	alt = ast_new(rp, K_ALT);
	for (;;) {
		if (parse_cat(rp, depth, &br) == -1)
			return -1;
		ast_append(rp, alt, br);
		if (rp->pos < rp->n && rp->p[rp->pos] == '|') {
			rp->pos++;
			continue;
		}
		break;
	}
	*out = alt;
	return 0;
}

/* ---- building the NFA (continuation first, as procmail compiles) ---- */

struct nb {
	struct nnode *v;
	size_t n, cap;
	struct ast *a;
	uint32_t fin;
};

static uint32_t
nn_new(struct nb *b, int op, uint32_t x, uint32_t y)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->v = xreallocarray(b->v, b->cap, sizeof *b->v);
	}
	b->v[b->n].op = (uint8_t)op;
	b->v[b->n].c = 0;
	b->v[b->n].x = x;
	b->v[b->n].y = y;
	return (uint32_t)b->n++;
}

/* Nodes of element t that continue at cont; returns the entry. The
 * recursion follows the parentheses only (bounded by PM_RE_MAX_NEST;
 * each level is at most an alternation, a repetition and a sequence). */
static uint32_t
build(struct nb *b, uint32_t t, uint32_t cont, const struct set *sets)
{
	struct ast *a = &b->a[t];
	uint32_t k, x, ent;

	switch (a->kind) {
	case K_CHAR:
		x = nn_new(b, N_CHAR, cont, 0);
		b->v[x].c = a->c;
		return x;
	case K_SET:
		return nn_new(b, N_SET, cont, a->set);
	case K_DOT:
		return nn_new(b, N_DOT, cont, 0);
	case K_NL:
		x = nn_new(b, N_CHAR, cont, 0);
		b->v[x].c = '\n';
		return x;
	case K_BOTEOT:
		/* procmail: "^^" whose continuation is the end of the
		 * whole expression anchors at the end */
		a->eot = cont == b->fin;
		return nn_new(b, a->eot ? N_EOT : N_BOT, cont, 0);
	case K_BOM:
		return nn_new(b, N_BOM, cont, 0);
	case K_CAT:
		ent = cont;
		for (k = a->last; k != NONE; k = b->a[k].prev)
			ent = build(b, k, ent, sets);
		return ent;
	case K_ALT:
		/* "a|b|c": try a, then (b, then c); an empty branch goes
		 * straight on */
		ent = build(b, a->last, cont, sets);
		for (k = b->a[a->last].prev; k != NONE; k = b->a[k].prev) {
			x = build(b, k, cont, sets);
			ent = nn_new(b, N_EPS, x, ent);
		}
		return ent;
	case K_STAR:
		/* body first, then out (procmail's order) */
		x = nn_new(b, N_EPS, NONE, cont);
		ent = build(b, a->child, x, sets);
		b->v[x].x = ent;
		return x;
	case K_PLUS:
		/* body, then out first, then round again */
		x = nn_new(b, N_EPS, cont, NONE);
		ent = build(b, a->child, x, sets);
		b->v[x].y = ent;
		return ent;
	case K_OPT:
		x = nn_new(b, N_EPS, NONE, cont);
		ent = build(b, a->child, cont, sets);	/* may move b->v */
		b->v[x].x = ent;
		return x;
	}
	return cont;
}

/* ---- translating to pcre2 ---- */

/* "\x{hh}" (by hand: printf per byte was a tenth of a compile) */
static void
emit_hex(struct buf *o, unsigned c)
{
	static const char hex[] = "0123456789abcdef";
	char t[6] = { '\\', 'x', '{', hex[(c >> 4) & 15], hex[c & 15], '}' };

	buf_add(o, t, sizeof t);
}

static void
emit_byte(struct buf *o, unsigned c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		buf_addc(o, (int)c);
	else
		emit_hex(o, c);
}

static size_t
set_ranges(const struct set *s, int want)
{
	size_t n = 0;
	unsigned c;

	for (c = 0; c < 256; c++)
		if (bit_get(s, c) == want && (c == 0 || bit_get(s, c - 1) !=
		    want))
			n++;
	return n;
}

static void
emit_set(struct buf *o, const struct set *s)
{
	size_t pos = set_ranges(s, 1), neg = set_ranges(s, 0);
	int want = 1;
	unsigned c, d;

	if (pos == 0) {
		buf_adds(o, "(?!)");
		return;
	}
	if (neg == 0) {
		buf_adds(o, "[\\x{00}-\\x{ff}]");
		return;
	}
	buf_addc(o, '[');
	if (neg < pos) {
		buf_addc(o, '^');
		want = 0;
	}
	for (c = 0; c < 256; c++) {
		if (bit_get(s, c) != want)
			continue;
		for (d = c; d + 1 < 256 && bit_get(s, d + 1) == want; d++)
			;
		emit_hex(o, c);
		if (d > c) {
			buf_addc(o, '-');
			emit_hex(o, d);
		}
		c = d;
	}
	buf_addc(o, ']');
}

static void
emit(struct buf *o, const struct ast *a, uint32_t t, const struct set *sets,
    int pad)
{
	const struct ast *x = &a[t];
	uint32_t k;

	switch (x->kind) {
	case K_CHAR:
		emit_byte(o, x->c);
		break;
	case K_SET:
		emit_set(o, &sets[x->set]);
		break;
	case K_DOT:
		buf_adds(o, "[^\\n]");
		break;
	case K_NL:
		buf_adds(o, "\\n");
		break;
	case K_BOTEOT:
		if (x->eot)
			buf_adds(o, pad ? "(?:(?=\\n\\z)|\\A\\n)" :
			    "(?:\\z|\\A)");
		else
			buf_adds(o, pad ? "\\A\\n" : "\\A");
		break;
	case K_BOM:
		break;
	case K_CAT:
		for (k = x->first; k != NONE; k = a[k].next)
			emit(o, a, k, sets, pad);
		break;
	case K_ALT:
		buf_adds(o, "(?:");
		for (k = x->first; k != NONE; k = a[k].next) {
			if (k != x->first)
				buf_addc(o, '|');
			emit(o, a, k, sets, pad);
		}
		buf_addc(o, ')');
		break;
	case K_STAR:
	case K_PLUS:
	case K_OPT:
		buf_adds(o, "(?:");
		emit(o, a, x->child, sets, pad);
		buf_addc(o, ')');
		buf_addc(o, x->kind == K_STAR ? '*' : x->kind == K_PLUS ?
		    '+' : '?');
		break;
	}
}

/* ---- what the lazy builds need ---- */

/*
 * Mirror build() for the pcre2 translation without building the
 * automaton: mark "^^" as the end anchor when its continuation is the end
 * of the whole expression (fin: the continuation of t is). Returns 1 when
 * t builds no node of its own (build() would return its continuation).
 * The recursion follows build()'s. (pad and has_bom, the other things
 * build() finds, the parser notes.)
 */
static int
mark_eot(struct ast *a, uint32_t t, int fin)
{
	struct ast *x = &a[t];
	uint32_t k;
	int empty;

	switch (x->kind) {
	case K_BOTEOT:
		x->eot = (uint8_t)fin;
		return 0;
	case K_CAT:
		empty = 1;
		for (k = x->last; k != NONE; k = a[k].prev)
			if (!mark_eot(a, k, fin && empty))
				empty = 0;
		return empty;
	case K_ALT:
		if (x->first == x->last)	/* one branch: no node */
			return mark_eot(a, x->first, fin);
		for (k = x->first; k != NONE; k = a[k].next)
			(void)mark_eot(a, k, fin);
		return 0;
	case K_STAR:
	case K_PLUS:
		(void)mark_eot(a, x->child, 0);
		return 0;
	case K_OPT:
		(void)mark_eot(a, x->child, fin);
		return 0;
	default:
		return 0;
	}
}

/*
 * The prefilter: byte strings that every match must contain, taken from
 * plain concatenations only (a run of ordinary bytes, also through a
 * group of one branch, "\/" being empty), and from the body of a "+"
 * (there at least once). Whatever may match nothing or one of several
 * things ("*", "?", "|", classes, ".") ends a run. "^" and "$" end it
 * too: they consume a newline that may be the virtual one around the
 * text, and so does a literal newline byte, so no literal holds a newline
 * and every literal byte lies in the subject itself, at or after where a
 * search starts. Bytes are already lowered when caseless (parse_simple).
 * A regex without literals (an alternation at the top) is not filtered.
 * The literals are consecutive pieces of one block (at most one byte per
 * K_CHAR node).
 */
struct lits {
	unsigned char *buf;		/* the block, nchars bytes */
	size_t len, run;		/* used; where the current run starts */
	struct lit v[PM_RE_MAX_LITS];
	unsigned seq[PM_RE_MAX_LITS];	/* order in the pattern */
	size_t n;
	unsigned nseq;
};

/* How common a byte is in mail headers, roughly (English letter
 * frequencies, blanks and punctuation of header lines); it only picks the
 * byte a search looks for first: it never changes an answer. */
static unsigned
byte_freq(unsigned c)
{
	static const unsigned char letters[26] = {
		82, 15, 28, 43, 127, 22, 20, 61, 70, 2, 8, 40, 24,
		67, 75, 19, 1, 60, 63, 91, 28, 10, 24, 2, 20, 1,
	};

	if (c >= 'A' && c <= 'Z')
		c += 'a' - 'A';
	if (c >= 'a' && c <= 'z')
		return letters[c - 'a'];
	if (c >= '0' && c <= '9')
		return 30;
	switch (c) {
	case ' ':
		return 200;
	case '.': case '-': case ':': case '@': case '<': case '>':
	case '=': case '/': case ';': case ',': case '_': case '\t':
		return 25;
	default:
		return 5;
	}
}

static void
lits_flush(struct lits *L)
{
	struct lit l;
	size_t i, j;
	unsigned f, gf;

	if (L->len == L->run)
		return;
	l.p = L->buf + L->run;
	l.len = L->len - L->run;
	l.guard = 0;
	gf = byte_freq(l.p[0]);
	for (i = 1; i < l.len; i++)
		if ((f = byte_freq(l.p[i])) < gf) {
			l.guard = i;
			gf = f;
		}
	if (L->n < PM_RE_MAX_LITS)
		j = L->n++;
	else {
		/* full: the longest ones stay (a dropped one's bytes stay
		 * unused in the block) */
		for (j = 0, i = 1; i < L->n; i++)
			if (L->v[i].len < L->v[j].len)
				j = i;
		if (L->v[j].len >= l.len) {
			L->len = L->run;
			return;
		}
	}
	L->v[j] = l;
	L->seq[j] = L->nseq++;
	L->run = L->len;
}

/* Literals of element t (recursion as build(), bounded by the nesting). */
static void
lits_find(struct lits *L, const struct ast *a, uint32_t t)
{
	const struct ast *x = &a[t];
	uint32_t k;

	switch (x->kind) {
	case K_CHAR:
		if (x->c == '\n')
			lits_flush(L);
		else
			L->buf[L->len++] = x->c;	/* one per K_CHAR */
		return;
	case K_BOM:
		return;
	case K_CAT:
		for (k = x->first; k != NONE; k = a[k].next) {
			/* the common case without a call */
			if (a[k].kind == K_CHAR && a[k].c != '\n')
				L->buf[L->len++] = a[k].c;
			else
				lits_find(L, a, k);
		}
		return;
	case K_ALT:
		if (x->first == x->last) {
			lits_find(L, a, x->first);
			return;
		}
		lits_flush(L);
		return;
	case K_PLUS:
		lits_flush(L);
		lits_find(L, a, x->child);
		lits_flush(L);
		return;
	default:
		lits_flush(L);
		return;
	}
}

/* Find the literals of the tree at root (nchars K_CHAR nodes) and keep
 * them, the last in the pattern first: rc files say "^Header:.*value",
 * and the value is what most messages lack. */
static void
lits_keep(struct pm_re *re, const struct ast *a, uint32_t root,
    size_t nchars)
{
	struct lits L;
	size_t i, j;

	if (nchars == 0)
		return;
	memset(&L, 0, sizeof L);
	L.buf = xmalloc(nchars);
	lits_find(&L, a, root);
	lits_flush(&L);
	if (L.n == 0) {
		free(L.buf);
		return;
	}
	for (i = 0; i < L.n; i++) {
		size_t best = i;

		for (j = i + 1; j < L.n; j++)
			if (L.seq[j] > L.seq[best])
				best = j;
		re->lits[i] = L.v[best];
		L.v[best] = L.v[i];
		L.seq[best] = L.seq[i];
	}
	re->nlits = L.n;
	re->litbuf = L.buf;
}

/* The first byte of s[0..n) that is the letter c (lower case) in either
 * case: b | 0x20 == c only for c and its capital. 16 bytes a step with
 * SSE2 (every x86-64), else 8 (the memchr of a caseless search). */
static const unsigned char *
find_either_case(const unsigned char *s, size_t n, unsigned c)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	const uint64_t want = ones * c, lower = ones * 0x20;
	size_t i = 0, k;

#ifdef __SSE2__
	const __m128i w16 = _mm_set1_epi8((char)c), l16 = _mm_set1_epi8(0x20);

	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)
		    (s + i));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_or_si128(v, l16), w16));

		if (m != 0)
			return s + i + __builtin_ctz(m);
	}
#endif
	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, s + i, sizeof v);
		/* a zero byte: c or its capital */
		v = (v | lower) ^ want;
		if (((v - ones) & ~v & highs) == 0)
			continue;
		for (k = 0; k < 8; k++)
			if ((s[i + k] | 0x20) == c)
				return s + i + k;
	}
	for (; i < n; i++)
		if ((s[i] | 0x20) == c)
			return s + i;
	return NULL;
}

/* Is l in s[0..n)? ASCII letters folded when caseless (as the matchers
 * fold them: l is lowered already). */
static int
lit_in(const struct lit *l, int caseless, const unsigned char *s, size_t n)
{
	unsigned g = l->p[l->guard];
	int letter = caseless && g >= 'a' && g <= 'z';
	size_t pos = l->guard, last, i;

	if (n < l->len)
		return 0;
	last = n - l->len + l->guard;	/* the guard's last place */
	while (pos <= last) {
		const unsigned char *h = letter ?
		    find_either_case(s + pos, last - pos + 1, g) :
		    memchr(s + pos, (int)g, last - pos + 1);
		const unsigned char *st;

		if (h == NULL)
			return 0;
		st = h - l->guard;
		if (!caseless) {
			if (memcmp(st, l->p, l->len) == 0)
				return 1;
		} else {
			for (i = 0; i < l->len; i++) {
				unsigned c = st[i];

				if (c >= 'A' && c <= 'Z')
					c += 'a' - 'A';
				if (c != l->p[i])
					break;
			}
			if (i == l->len)
				return 1;
		}
		pos = (size_t)(h - s) + 1;
	}
	return 0;
}

/* 0 when some required literal is missing from s[0..n): no match there,
 * whatever the matchers would say; 1 when they have to look. */
static int
prefilter(const struct pm_re *re, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < re->nlits; i++)
		if (!lit_in(&re->lits[i], re->caseless,
		    (const unsigned char *)s, n))
			return 0;
	return 1;
}

/* ---- compile ---- */

/* procmail's substitution: the leftmost occurrence of each key in turn,
 * unless a backslash precedes it; after each one, start over. */
static int
expand_macros(struct buf *b, int *caseless, struct err *e)
{
	size_t k;

	for (k = 0; k < sizeof macros / sizeof macros[0];) {
		size_t kl = strlen(macros[k].key), tl, off;
		const char *hit = mem_find(b->data, b->len, macros[k].key, kl);
		struct buf nb = BUF_INIT;

		if (hit == NULL || (hit > b->data && hit[-1] == '\\')) {
			k++;
			continue;
		}
		tl = strlen(macros[k].text);
		if (b->len - kl + tl > (size_t)PM_RE_MAX_EXPANDED)
			return err_set(e, ERR_PERM, "regex longer than %ld "
			    "bytes after expanding %s", PM_RE_MAX_EXPANDED,
			    macros[k].key);
		off = (size_t)(hit - b->data);
		buf_add(&nb, b->data, off);
		buf_add(&nb, macros[k].text, tl);
		buf_add(&nb, b->data + off + kl, b->len - off - kl);
		buf_free(b);
		*b = nb;
		if (macros[k].caseless)
			*caseless = 1;
		k = 0;
	}
	return 0;
}

/* Could expand_macros() change anything? Every key starts "^T" or "^F". */
static int
has_macro(const char *p, size_t len)
{
	const char *q;

	while (len >= 2 && (q = memchr(p, '^', len - 1)) != NULL) {
		if (q[1] == 'T' || q[1] == 'F')
			return 1;
		len -= (size_t)(q - p) + 1;
		p = q + 1;
	}
	return 0;
}

static pcre2_code *
pcre_build(const char *pat, size_t len, int caseless, struct err *e)
{
	pcre2_compile_context *cc;
	pcre2_code *code;
	PCRE2_SIZE off;
	int errcode;
	uint32_t opts = PCRE2_NEVER_UTF | PCRE2_NEVER_UCP |
	    PCRE2_NEVER_BACKSLASH_C;

	if (caseless)
		opts |= PCRE2_CASELESS;
	if ((cc = pcre2_compile_context_create(NULL)) == NULL) {
		err_set(e, ERR_TEMP, "out of memory");
		return NULL;
	}
	/* each level of ours is at most two groups of pcre2's */
	pcre2_set_parens_nest_limit(cc, 2 * PM_RE_MAX_NEST + 8);
	code = pcre2_compile((PCRE2_SPTR)pat, len, opts, &errcode, &off, cc);
	pcre2_compile_context_free(cc);
	if (code == NULL) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(errcode, msg, sizeof msg);
		err_set(e, ERR_PERM, "regex too complex for the matcher: %s",
		    (char *)msg);
	}
	return code;
}

/*
 * The pcre2 side, at the first match that asks for it: translate, compile
 * (no JIT: pcre_run decides), and the match context with our limits. A
 * failure leaves code NULL and the automaton answers, as before.
 */
static void
pcre_prepare(struct pm_re *re)
{
	struct buf pat = BUF_INIT;
	struct err e;

	re->code_tried = 1;
	(void)mark_eot(re->ast, re->root, 1);
	/* no thread starts at the virtual newline after the text */
	if (re->pad)
		buf_adds(&pat, "(?!\\n\\z)");
	emit(&pat, re->ast, re->root, re->sets, re->pad);
	/* Our translation is always valid pcre2 syntax, so a refusal is
	 * about size (a pcre2 built with 2-byte links holds 64 KiB of code):
	 * then the automaton alone answers. */
	err_clear(&e);
	if (pat.len <= (size_t)PM_RE_MAX_PCRE)
		re->code = pcre_build(pat.data ? pat.data : "", pat.len,
		    re->caseless, &e);
	buf_free(&pat);
	if (re->code == NULL)
		return;
	if ((re->mctx = pcre2_match_context_create(NULL)) == NULL) {
		/* never match without the limits: the automaton answers */
		pcre2_code_free(re->code);
		re->code = NULL;
		return;
	}
	pcre2_set_match_limit(re->mctx, PM_MATCH_LIMIT);
	pcre2_set_depth_limit(re->mctx, PM_RE_DEPTH_LIMIT);
	pcre2_set_heap_limit(re->mctx, PM_RE_HEAP_LIMIT);
}

/* The automaton, at the first search that needs it (MATCH, scoring, or
 * pcre2 gave up). */
static void
nfa_prepare(struct pm_re *re)
{
	struct nb nb;
	uint32_t *stack, sp = 0, k;
	uint8_t *seen;
	unsigned b;

	memset(&nb, 0, sizeof nb);
	nb.a = re->ast;
	nb.fin = nn_new(&nb, N_FIN, 0, 0);
	re->entry = build(&nb, re->root, nb.fin, re->sets);
	re->nodes = nb.v;
	re->nnodes = (uint32_t)nb.n;

	/*
	 * The bytes a thread started at entry can consume first (raw
	 * subject bytes: step() folds them before matching). While no
	 * thread is pending, a byte outside this set starts nothing, so the
	 * search may jump to the next byte inside it. Not when a new thread
	 * can end or act without consuming (the end, "^^"): then every
	 * position counts.
	 */
	memset(&re->first, 0, sizeof re->first);
	re->skip = 1;
	stack = xcalloc(re->nnodes, sizeof *stack);
	seen = xcalloc(re->nnodes, 1);
	stack[sp++] = re->entry;
	seen[re->entry] = 1;
	while (sp > 0 && re->skip) {
		const struct nnode *n = &re->nodes[stack[--sp]];
		uint32_t next[2];
		unsigned nn = 0;

		switch (n->op) {
		case N_EPS:
			next[nn++] = n->x;
			next[nn++] = n->y;
			break;
		case N_JUMP:
		case N_BOM:
			next[nn++] = n->x;
			break;
		case N_CHAR:
			bit_puti(&re->first, n->c, 1, re->caseless);
			break;
		case N_SET:
			for (b = 0; b < 256; b++) {
				unsigned f = b;

				if (re->caseless && b >= 'A' && b <= 'Z')
					f += 'a' - 'A';
				if (bit_get(&re->sets[n->y], f))
					bit_put(&re->first, b, 1);
			}
			break;
		case N_DOT:
			for (b = 0; b < 256; b++)
				if (b != '\n')
					bit_put(&re->first, b, 1);
			break;
		default:		/* N_BOT, N_EOT, N_FIN */
			re->skip = 0;
			break;
		}
		for (k = 0; k < nn; k++)
			if (!seen[next[k]]) {
				seen[next[k]] = 1;
				stack[sp++] = next[k];
			}
	}
	free(stack);
	free(seen);
}

/* The first position at or after q whose byte is in re->first, or len. */
static long
skip_to(const struct pm_re *re, const unsigned char *s, long q, long len)
{
	for (; q < len; q++)
		if (bit_get(&re->first, s[q]))
			return q;
	return len;
}

int
pm_re_compile(const char *pattern, size_t len, unsigned flags,
    struct pm_re **out, size_t *erroff_out, struct err *e)
{
	struct rp rp;
	struct buf src = BUF_INIT;
	struct pm_re *re = NULL;
	uint32_t root = NONE;
	int caseless = (flags & PM_RE_CASELESS) != 0;
	int ret = -1;

	*out = NULL;
	if (erroff_out != NULL)
		*erroff_out = 0;
	memset(&rp, 0, sizeof rp);
	if (len > (size_t)PM_RE_MAX_PATTERN) {
		err_set(e, ERR_PERM, "regex longer than %ld bytes",
		    PM_RE_MAX_PATTERN);
		if (erroff_out != NULL)
			*erroff_out = (size_t)PM_RE_MAX_PATTERN;
		goto out;
	}
	if ((flags & PM_RE_MACROS) && has_macro(pattern, len)) {
		buf_add(&src, pattern, len);
		if (expand_macros(&src, &caseless, e) == -1)
			goto out;
		rp.p = (const unsigned char *)(src.data ? src.data : "");
		rp.n = src.len;
	} else {
		rp.p = (const unsigned char *)(len > 0 ? pattern : "");
		rp.n = len;
	}
	rp.caseless = caseless;
	rp.lenient = (flags & PM_RE_LENIENT) != 0;
	rp.e = e;
	if (parse_alt(&rp, 0, &root) == -1)
		goto perr;
	if (rp.pos < rp.n && !rp.lenient) {	/* stopped at a ")" */
		rp.erroff = rp.pos;
		err_set(e, ERR_PERM, "unmatched ) at offset %zu", rp.pos);
		goto perr;
	}
	/* lenient: procmail ignores what follows a stray ")" */

	re = xcalloc(1, sizeof *re);
	re->caseless = caseless;
	/* Kept until the lazy builds: trim the growth slack (an rc file
	 * of 30,000 recipes holds 30,000 of these). */
	if (rp.na > 0 && rp.na < rp.capa)
		rp.a = xreallocarray(rp.a, rp.na, sizeof *rp.a);
	if (rp.nsets > 0 && rp.nsets < rp.capsets)
		rp.sets = xreallocarray(rp.sets, rp.nsets, sizeof *rp.sets);
	re->ast = rp.a;
	re->root = root;
	re->sets = rp.sets;
	re->nsets = (uint32_t)rp.nsets;
	re->pad = rp.pad;
	re->has_bom = rp.has_bom;
	rp.a = NULL;
	rp.sets = NULL;
	lits_keep(re, re->ast, root, rp.nchars);
	/* pcre2 and the automaton: pcre_prepare(), nfa_prepare() */
	*out = re;
	re = NULL;
	ret = 0;
	goto out;
perr:
	/* offsets into the expanded text are only meaningful without it */
	if (erroff_out != NULL)
		*erroff_out = rp.erroff > len ? len : rp.erroff;
out:
	pm_re_free(&re);
	free(rp.a);
	free(rp.sets);
	buf_free(&src);
	return ret;
}

int
pm_re_has_match(const struct pm_re *re)
{
	return re->has_bom;
}

void
pm_re_free(struct pm_re **rep)
{
	struct pm_re *re = *rep;

	if (re == NULL)
		return;
	if (re->code != NULL)
		pcre2_code_free(re->code);
	if (re->mctx != NULL)
		pcre2_match_context_free(re->mctx);
	free(re->litbuf);
	free(re->nodes);
	free(re->ast);
	free(re->sets);
	free(re);
	*rep = NULL;
}

/* ---- running the NFA as procmail's bregexec() runs its automaton ---- */

/*
 * Positions are byte offsets into the subject; -1 is the virtual newline
 * before it. Every pending state carries "start": where its thread passed
 * \/ (NOPOS: not yet). Per step, every thread's epsilon closure is walked
 * depth first; as in procmail, a thread's start changes when the walk
 * passes \/ and stays changed for the rest of that walk. A consuming state
 * reached by several threads keeps the earliest start. The first thread
 * to reach the end without a \/ ends the search (no MATCH); one that
 * passed \/ records a match, stops new threads from starting, drops every
 * thread whose \/ came later, and lets the rest run on for a longer match.
 */
#define NOPOS	LONG_MAX

struct pend {
	uint32_t node;
	long start;
};

struct run {
	const struct pm_re *re;
	struct pend *cur, *nxt;
	size_t ncur, nnxt;
	uint32_t *nxt_stamp, *nxt_idx;	/* per node: pushed this step? */
	uint32_t *vis_stamp;		/* per node: walked by this thread */
	long *vis_start;
	uint32_t *stack;
	uint32_t step, thread;
	unsigned long budget;
	long bom, eom;			/* eom == NOPOS: no match yet */
	long limit;			/* drop threads with start > limit */
};

static void
push_next(struct run *r, uint32_t node, long start)
{
	if (r->nxt_stamp[node] == r->step) {
		struct pend *p = &r->nxt[r->nxt_idx[node]];

		if (start < p->start)
			p->start = start;
		return;
	}
	r->nxt_stamp[node] = r->step;
	r->nxt_idx[node] = (uint32_t)r->nnxt;
	r->nxt[r->nnxt].node = node;
	r->nxt[r->nnxt].start = start;
	r->nnxt++;
}

/*
 * Walk the closure of one thread entering at node with start, against
 * byte ch at position p. Returns 1 when the search is over (a match
 * without \/: *end_out set), 0 to go on, -1 when the budget ran out.
 */
static int
walk(struct run *r, uint32_t node, long start, unsigned ch, long p,
    int at_end, long *end_out)
{
	const struct nnode *v = r->re->nodes;
	size_t sp = 0;

	r->thread++;
	r->stack[sp++] = node;
	while (sp > 0) {
		const struct nnode *n;

		node = r->stack[--sp];
		n = &v[node];
		if (r->budget-- == 0)
			return -1;
		switch (n->op) {
		case N_EPS:
		case N_JUMP:
		case N_BOM:
			/* epsilon loops ("(a*)*") and joins: walk a node
			 * again only with an earlier start */
			if (r->vis_stamp[node] == r->thread &&
			    r->vis_start[node] <= start)
				continue;
			r->vis_stamp[node] = r->thread;
			r->vis_start[node] = start;
			if (n->op == N_EPS) {
				r->stack[sp++] = n->y;
				r->stack[sp++] = n->x;
			} else {
				if (n->op == N_BOM && r->eom == NOPOS)
					start = p;
				r->stack[sp++] = n->x;
			}
			continue;
		case N_EOT:
			if (at_end)
				goto fin;
			/* procmail's EOTEXT acts as BOTEXT at the start */
			/* FALLTHROUGH */
		case N_BOT:
			if (p < 0)
				push_next(r, node, start);
			continue;
		case N_CHAR:
			if (ch == n->c)
				push_next(r, node, start);
			continue;
		case N_SET:
			if (bit_get(&r->re->sets[n->y], ch))
				push_next(r, node, start);
			continue;
		case N_DOT:
			if (ch != '\n')
				push_next(r, node, start);
			continue;
		case N_FIN:
		fin:
			if (start == NOPOS) {
				*end_out = p;
				return 1;
			}
			r->bom = start;
			r->eom = p;
			r->limit = start;
			continue;
		}
	}
	return 0;
}

/* One step: the byte ch at position q. spawn: a new thread starts here;
 * at_end: the step just past the text (procmail's "^^" at the end). */
static int
step(struct run *r, unsigned ch, long q, int spawn, int at_end,
    long *end_out)
{
	struct pend *t;
	size_t i;
	int rc;

	if (r->re->caseless && ch >= 'A' && ch <= 'Z')
		ch += 'a' - 'A';
	t = r->cur;			/* the pending states become current */
	r->cur = r->nxt;
	r->nxt = t;
	r->ncur = r->nnxt;
	r->nnxt = 0;
	r->step++;
	if (spawn && r->eom == NOPOS &&
	    (rc = walk(r, r->re->entry, NOPOS, ch, q, 0, end_out)) != 0)
		return rc;
	for (i = r->ncur; i-- > 0;) {	/* procmail takes them newest first */
		if (r->cur[i].start > r->limit)
			continue;
		rc = walk(r, r->re->nodes[r->cur[i].node].x, r->cur[i].start,
		    ch, q, at_end, end_out);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * Search s[from..len). Returns 1 with *end_out (and r->bom/eom when a \/
 * part matched), 0, or -1 (budget).
 */
static int
nfa_search(struct run *r, const unsigned char *s, size_t len, size_t from,
    long *end_out)
{
	long q, last = (long)from - 1;
	int rc;

	r->bom = 0;
	r->eom = NOPOS;
	r->limit = NOPOS;
	r->ncur = r->nnxt = 0;
	/* procmail first takes a newline: a virtual one before the text,
	 * the real one before from, or (at the very end, with none) a
	 * virtual one there */
	if (from == 0 || s[from - 1] == '\n' || from == len) {
		last = from == 0 ? -1 : s[from - 1] == '\n' ? (long)from - 1 :
		    (long)from;
		if ((rc = step(r, '\n', last, 1, 0, end_out)) != 0)
			return rc;
	}
	for (q = (long)from; q < (long)len; q++) {
		if (r->eom != NOPOS && r->nnxt == 0)
			goto done;
		if (r->nnxt == 0 && r->re->skip) {
			/* nothing pending: the steps up to a byte that can
			 * start a thread would do nothing (nfa_prepare) */
			q = skip_to(r->re, s, q, (long)len);
			if (q == (long)len) {
				last = q - 1;
				break;
			}
		}
		if ((rc = step(r, s[q], q, 1, 0, end_out)) != 0)
			return rc;
		last = q;
	}
	/* the virtual newline after the text, and one more step to see
	 * what ended by taking it; no thread starts there */
	if ((rc = step(r, '\n', last + 1, 0, 1, end_out)) != 0 ||
	    (rc = step(r, '\n', last + 2, 0, 0, end_out)) != 0)
		return rc;
done:
	if (r->eom == NOPOS)
		return 0;
	if (r->eom > (long)len)
		r->eom = (long)len;
	if (r->bom < 0)
		r->bom = 0;
	if (r->eom < r->bom)		/* "\/" alone, before the text */
		r->eom = r->bom;
	*end_out = r->eom;
	return 1;
}

static int
nfa_exec(const struct pm_re *re, const char *subject, size_t len,
    size_t from, size_t *end_out, const char **match_out,
    size_t *match_len_out, struct err *e)
{
	struct run r;
	size_t n;
	long end = 0;
	int rc;

	if (re->nodes == NULL)
		nfa_prepare((struct pm_re *)re);	/* a cache: see pm_re */
	n = re->nnodes;
	memset(&r, 0, sizeof r);
	r.re = re;
	r.budget = PM_RE_NFA_BUDGET;
	r.cur = xcalloc(n, sizeof *r.cur);
	r.nxt = xcalloc(n, sizeof *r.nxt);
	r.nxt_stamp = xcalloc(n, sizeof *r.nxt_stamp);
	r.nxt_idx = xcalloc(n, sizeof *r.nxt_idx);
	r.vis_stamp = xcalloc(n, sizeof *r.vis_stamp);
	r.vis_start = xcalloc(n, sizeof *r.vis_start);
	/* a walk visits an epsilon node at most twice (its start changes
	 * once at most: at a \/), pushing two entries each time */
	r.stack = xcalloc(4 * n + 4, sizeof *r.stack);
	rc = nfa_search(&r, (const unsigned char *)subject, len, from, &end);
	if (rc == 1) {
		if (end_out != NULL)
			*end_out = (size_t)end;
		if (r.eom != NOPOS && match_out != NULL) {
			*match_out = subject + r.bom;
			*match_len_out = (size_t)(r.eom - r.bom);
		}
	} else if (rc == -1)
		err_set(e, ERR_TEMP, "regex search gave up after %ld steps",
		    (long)PM_RE_NFA_BUDGET);
	free(r.cur);
	free(r.nxt);
	free(r.nxt_stamp);
	free(r.nxt_idx);
	free(r.vis_stamp);
	free(r.vis_start);
	free(r.stack);
	return rc;
}

/* ---- matching ---- */

/* The yes/no answer from pcre2: 1, 0, or -1 when it gave up (limits)
 * or has no code for this regex. re is the caller's const regex: the
 * code, the JIT and the use count are a cache (see struct pm_re). */
static int
pcre_run(struct pm_re *re, const char *subject, size_t len, struct err *e)
{
	pcre2_match_data *md;
	char *padded = NULL;
	const char *s = subject;
	size_t sl = len;
	int rc;

	if (!re->code_tried)
		pcre_prepare(re);
	if (re->code == NULL)
		return -1;
	if (re->pad) {
		if (len > SIZE_MAX - 2)
			return err_set(e, ERR_PERM, "subject too long");
		padded = xmalloc(len + 2);
		padded[0] = '\n';
		if (len > 0)
			memcpy(padded + 1, subject, len);
		padded[len + 1] = '\n';
		s = padded;
		sl = len + 2;
	}
	if (!re->jit_tried && (sl >= (size_t)PM_RE_JIT_MIN ||
	    ++re->uses >= PM_RE_JIT_USES)) {
		/* JIT code costs a few KiB of executable memory per regex
		 * (30,000 recipes: ~90 MiB) and several times a pcre2 compile
		 * in time, more than it saves on a header, and a delivery
		 * uses each regex once: only regexes that meet a big text,
		 * or are used again and again (a compiled file kept for
		 * many messages), get it. */
		re->jit_tried = 1;
		(void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
	}
	if ((md = pcre2_match_data_create(1, NULL)) == NULL) {
		free(padded);
		return err_set(e, ERR_TEMP, "out of memory");
	}
	rc = pcre2_match(re->code, (PCRE2_SPTR)s, sl, 0, 0, md, re->mctx);
	if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
		rc = pcre2_match(re->code, (PCRE2_SPTR)s, sl, 0,
		    PCRE2_NO_JIT, md, re->mctx);
	pcre2_match_data_free(md);
	free(padded);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	{
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(rc, msg, sizeof msg);
		return err_set(e, ERR_TEMP, "regex match failed: %s",
		    (char *)msg);
	}
}

int
pm_re_exec(const struct pm_re *re, const char *subject, size_t len,
    const char **match_out, size_t *match_len_out, struct err *e)
{
	int rc;

	if (match_out != NULL)
		*match_out = NULL;
	if (match_len_out != NULL)
		*match_len_out = 0;
	/* a required literal missing: no match, nothing compiled */
	if (!prefilter(re, subject, len))
		return 0;
	rc = pcre_run((struct pm_re *)re, subject, len, e);
	if (rc == 0)
		return 0;
	if (rc == 1 && (match_out == NULL || match_len_out == NULL ||
	    !re->has_bom))
		return 1;
	/* MATCH wanted, or pcre2 gave up (or has no code for a huge
	 * pattern): procmail's automaton never backtracks, so ours answers
	 * (within its own budget) */
	err_clear(e);
	return nfa_exec(re, subject, len, 0, NULL, match_out, match_len_out,
	    e);
}

int
pm_re_exec_at(const struct pm_re *re, const char *subject, size_t len,
    size_t start, size_t *end_out, const char **match_out,
    size_t *match_len_out, struct err *e)
{
	if (match_out != NULL)
		*match_out = NULL;
	if (match_len_out != NULL)
		*match_len_out = 0;
	*end_out = 0;
	if (start > len)
		return 0;
	/* a match from start on consumes no literal byte before start */
	if (!prefilter(re, subject + start, len - start))
		return 0;
	return nfa_exec(re, subject, len, start, end_out, match_out,
	    match_len_out, e);
}
