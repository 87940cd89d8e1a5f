/*
 * meta.c - SpamAssassin meta expressions.
 *
 * SpamAssassin lexes a meta rule (Constants.pm ARITH_EXPRESSION_LEXER),
 * turns each rule name into ($hits{NAME}||0) and lets Perl evaluate the
 * result (Conf/Parser.pm compile_meta_rules). So the semantics are Perl's:
 * a name is the rule's hit count (tflags multiple counts every hit; a
 * meta that hit counts its own value, or 1 when that was negative), 0
 * when it did not hit, is not defined or cannot run; && and || return
 * an operand, not 0/1; ! and the comparisons return 1 or 0 (Perl's "");
 * ^ is Perl's integer XOR; precedence is Perl's. We compile to a small
 * stack program evaluated without recursion.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rules-int.h"

enum meta_op {
	MO_NUM, MO_RULE, MO_NOT, MO_NEG, MO_ADD, MO_SUB, MO_MUL, MO_DIV,
	MO_LT, MO_GT, MO_LE, MO_GE, MO_EQ, MO_NE, MO_XOR, MO_AND, MO_OR,
	MO_TERN,
};

struct meta_ins {
	enum meta_op op;
	int rule;
	double num;
};

struct meta_prog {
	struct meta_ins *ins;
	size_t n, cap;
	size_t maxstack;
};

enum tok_kind { TK_END, TK_NUM, TK_NAME, TK_OP };

struct tok {
	enum tok_kind kind;
	const char *p;
	size_t len;
	double num;
};

struct mparser {
	const char *s;
	size_t len, pos;
	struct tok t;
	meta_lookup_fn lookup;
	void *arg;
	struct meta_prog *prog;
	int **deps;
	size_t *ndeps;
	size_t ntok;
	struct buf *why;
	int failed;
};

static int
name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

static int
fail(struct mparser *mp, const char *what)
{
	if (!mp->failed) {
		buf_addf(mp->why, "%s at offset %zu", what, mp->pos);
		mp->failed = 1;
	}
	return -1;
}

/* Next token (ARITH_EXPRESSION_LEXER's alternatives). */
static int
next(struct mparser *mp)
{
	const char *s = mp->s;
	size_t i = mp->pos;
	static const char *const ops2[] = {
		"||", "&&", ">=", "<=", "==", "!=", NULL
	};
	size_t k;

	while (i < mp->len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
	    s[i] == '\r'))
		i++;
	mp->t.p = s + i;
	if (i >= mp->len) {
		mp->t.kind = TK_END;
		mp->t.len = 0;
		mp->pos = i;
		return 0;
	}
	if (++mp->ntok > META_MAX_TOKENS)
		return fail(mp, "expression too long");
	if ((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && i + 1 < mp->len &&
	    s[i + 1] >= '0' && s[i + 1] <= '9')) {
		char tmp[64];

		for (k = i; k < mp->len && ((s[k] >= '0' && s[k] <= '9') ||
		    s[k] == '.'); k++)
			;
		if (k - i >= sizeof tmp)
			return fail(mp, "number too long");
		memcpy(tmp, s + i, k - i);
		tmp[k - i] = '\0';
		mp->t.kind = TK_NUM;
		mp->t.num = strtod(tmp, NULL);
		mp->t.len = k - i;
		mp->pos = k;
		return 0;
	}
	if (name_char((unsigned char)s[i])) {
		for (k = i; k < mp->len && (name_char((unsigned char)s[k]) ||
		    s[k] == ':'); k++)
			;
		mp->t.kind = TK_NAME;
		mp->t.len = k - i;
		mp->pos = k;
		return 0;
	}
	for (k = 0; ops2[k] != NULL; k++)
		if (i + 1 < mp->len && s[i] == ops2[k][0] &&
		    s[i + 1] == ops2[k][1]) {
			mp->t.kind = TK_OP;
			mp->t.len = 2;
			mp->pos = i + 2;
			return 0;
		}
	if (strchr("()^!<>+-*/?:", s[i]) != NULL) {
		mp->t.kind = TK_OP;
		mp->t.len = 1;
		mp->pos = i + 1;
		return 0;
	}
	mp->pos = i;
	return fail(mp, "unexpected character");
}

static int
is_op(const struct mparser *mp, const char *op)
{
	size_t n = strlen(op);

	return mp->t.kind == TK_OP && mp->t.len == n &&
	    memcmp(mp->t.p, op, n) == 0;
}

static void
emit(struct mparser *mp, enum meta_op op, int rule, double num)
{
	struct meta_prog *p = mp->prog;

	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->ins = xreallocarray(p->ins, p->cap, sizeof *p->ins);
	}
	p->ins[p->n].op = op;
	p->ins[p->n].rule = rule;
	p->ins[p->n].num = num;
	p->n++;
}

static int parse_ternary(struct mparser *mp, unsigned depth);

/* primary = number / name / "(" [ternary] ")" */
static int
parse_primary(struct mparser *mp, unsigned depth)
{
	if (mp->t.kind == TK_NUM) {
		emit(mp, MO_NUM, -1, mp->t.num);
		return next(mp);
	}
	if (mp->t.kind == TK_NAME) {
		const char *n = mp->t.p;
		size_t len = mp->t.len;
		int idx;

		if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' &&
		    n[0] <= 'Z') || n[0] == '_') || len > CF_MAX_NAME ||
		    memchr(n, ':', len) != NULL)
			return fail(mp, "invalid token");
		if (len == 16 && memcmp(n, "local_tests_only", 16) == 0) {
			/* we never run network tests */
			emit(mp, MO_NUM, -1, 1);
			return next(mp);
		}
		idx = mp->lookup(mp->arg, n, len);
		if (idx < 0) {
			emit(mp, MO_NUM, -1, 0);	/* ($h{X}||0) */
		} else {
			emit(mp, MO_RULE, idx, 0);
			*mp->deps = xreallocarray(*mp->deps, *mp->ndeps + 1,
			    sizeof **mp->deps);
			(*mp->deps)[(*mp->ndeps)++] = idx;
		}
		return next(mp);
	}
	if (is_op(mp, "(")) {
		if (depth >= META_MAX_DEPTH)
			return fail(mp, "expression nested too deeply");
		if (next(mp) == -1)
			return -1;
		if (is_op(mp, ")")) {
			/* "()" is SpamAssassin's rule declaration: 0 */
			emit(mp, MO_NUM, -1, 0);
			return next(mp);
		}
		if (parse_ternary(mp, depth + 1) == -1)
			return -1;
		if (!is_op(mp, ")"))
			return fail(mp, "missing )");
		return next(mp);
	}
	return fail(mp, mp->t.kind == TK_END ? "unexpected end" :
	    "unexpected token");
}

/* unary = ("!" / "-" / "+") unary / primary */
static int
parse_unary(struct mparser *mp, unsigned depth)
{
	if (is_op(mp, "!") || is_op(mp, "-") || is_op(mp, "+")) {
		char c = mp->t.p[0];

		if (depth >= META_MAX_DEPTH)
			return fail(mp, "expression nested too deeply");
		if (next(mp) == -1 || parse_unary(mp, depth + 1) == -1)
			return -1;
		if (c == '!')
			emit(mp, MO_NOT, -1, 0);
		else if (c == '-')
			emit(mp, MO_NEG, -1, 0);
		return 0;
	}
	return parse_primary(mp, depth);
}

/* One left-associative binary level: operand (op operand)*. */
struct level {
	const char *ops[4];
	enum meta_op codes[4];
};

static const struct level levels[] = {
	{ { "||" }, { MO_OR } },
	{ { "&&" }, { MO_AND } },
	{ { "^" }, { MO_XOR } },
	{ { "==", "!=" }, { MO_EQ, MO_NE } },
	{ { "<", ">", "<=", ">=" }, { MO_LT, MO_GT, MO_LE, MO_GE } },
	{ { "+", "-" }, { MO_ADD, MO_SUB } },
	{ { "*", "/" }, { MO_MUL, MO_DIV } },
};
#define NLEVELS (sizeof levels / sizeof levels[0])

static int
parse_level(struct mparser *mp, size_t lv, unsigned depth)
{
	if (lv == NLEVELS)
		return parse_unary(mp, depth);
	if (parse_level(mp, lv + 1, depth) == -1)
		return -1;
	for (;;) {
		size_t k;
		int found = -1;

		for (k = 0; k < 4 && levels[lv].ops[k] != NULL; k++)
			if (is_op(mp, levels[lv].ops[k]))
				found = (int)k;
		if (found < 0)
			return 0;
		if (next(mp) == -1 || parse_level(mp, lv + 1, depth) == -1)
			return -1;
		emit(mp, levels[lv].codes[found], -1, 0);
	}
}

/* ternary = or ["?" ternary ":" ternary] */
static int
parse_ternary(struct mparser *mp, unsigned depth)
{
	if (depth >= META_MAX_DEPTH)
		return fail(mp, "expression nested too deeply");
	if (parse_level(mp, 0, depth) == -1)
		return -1;
	if (!is_op(mp, "?"))
		return 0;
	if (next(mp) == -1 || parse_ternary(mp, depth + 1) == -1)
		return -1;
	if (!is_op(mp, ":"))
		return fail(mp, "missing :");
	if (next(mp) == -1 || parse_ternary(mp, depth + 1) == -1)
		return -1;
	emit(mp, MO_TERN, -1, 0);
	return 0;
}

int
meta_compile(const char *text, size_t len, meta_lookup_fn lookup, void *arg,
    struct meta_prog **out, int **deps, size_t *ndeps, struct buf *why)
{
	struct mparser mp;
	size_t i, sp = 0;

	memset(&mp, 0, sizeof mp);
	mp.s = text;
	mp.len = len;
	mp.lookup = lookup;
	mp.arg = arg;
	mp.deps = deps;
	mp.ndeps = ndeps;
	mp.why = why;
	mp.prog = xcalloc(1, sizeof *mp.prog);
	if (next(&mp) == -1)
		goto bad;
	if (mp.t.kind == TK_END) {
		fail(&mp, "empty expression");
		goto bad;
	}
	if (parse_ternary(&mp, 0) == -1)
		goto bad;
	if (mp.t.kind != TK_END) {
		fail(&mp, "unexpected token");
		goto bad;
	}
	/* stack depth, for meta_eval's fixed array check */
	for (i = 0; i < mp.prog->n; i++) {
		switch (mp.prog->ins[i].op) {
		case MO_NUM: case MO_RULE:
			sp++;
			break;
		case MO_NOT: case MO_NEG:
			break;
		case MO_TERN:
			sp -= 2;
			break;
		default:
			sp--;
			break;
		}
		if (sp > mp.prog->maxstack)
			mp.prog->maxstack = sp;
	}
	*out = mp.prog;
	return 0;
bad:
	meta_free(&mp.prog);
	return -1;
}

static double
perl_xor(double a, double b)
{
	/* Perl's ^ on numbers: unsigned integers (negative: two's
	 * complement, as IV to UV) */
	uint64_t x = a < 0 ? (uint64_t)(int64_t)a : (uint64_t)a;
	uint64_t y = b < 0 ? (uint64_t)(int64_t)b : (uint64_t)b;

	return (double)(x ^ y);
}

double
meta_eval(const struct meta_prog *p, const double *vals)
{
	double stackbuf[64], *st = stackbuf, a, b, r;
	size_t i, sp = 0;

	if (p->maxstack > sizeof stackbuf / sizeof stackbuf[0])
		st = xreallocarray(NULL, p->maxstack, sizeof *st);
	for (i = 0; i < p->n; i++) {
		const struct meta_ins *in = &p->ins[i];

		switch (in->op) {
		case MO_NUM:
			st[sp++] = in->num;
			continue;
		case MO_RULE:
			st[sp++] = vals[in->rule];
			continue;
		case MO_NOT:
			st[sp - 1] = st[sp - 1] != 0 ? 0 : 1;
			continue;
		case MO_NEG:
			st[sp - 1] = -st[sp - 1];
			continue;
		case MO_TERN:
			r = st[sp - 3] != 0 ? st[sp - 2] : st[sp - 1];
			sp -= 2;
			st[sp - 1] = r;
			continue;
		default:
			break;
		}
		b = st[--sp];
		a = st[sp - 1];
		switch (in->op) {
		case MO_ADD: r = a + b; break;
		case MO_SUB: r = a - b; break;
		case MO_MUL: r = a * b; break;
		/* Perl dies on division by zero; the meta then never hits */
		case MO_DIV: r = b != 0 ? a / b : 0; break;
		case MO_LT: r = a < b; break;
		case MO_GT: r = a > b; break;
		case MO_LE: r = a <= b; break;
		case MO_GE: r = a >= b; break;
		case MO_EQ: r = a == b; break;
		case MO_NE: r = a != b; break;
		case MO_XOR: r = perl_xor(a, b); break;
		case MO_AND: r = a != 0 ? b : a; break;
		case MO_OR: r = a != 0 ? a : b; break;
		default: r = 0; break;
		}
		st[sp - 1] = r;
	}
	r = sp > 0 ? st[sp - 1] : 0;
	if (st != stackbuf)
		free(st);
	return isfinite(r) ? r : 0;
}

void
meta_free(struct meta_prog **pp)
{
	if (*pp == NULL)
		return;
	free((*pp)->ins);
	free(*pp);
	*pp = NULL;
}

int
meta_glob_match(const char *glob, size_t glen, const char *name)
{
	/* SpamAssassin: ? is one character, * is any run; the whole name */
	size_t gi = 0, ni = 0, star = (size_t)-1, mark = 0;
	size_t nlen = strlen(name);

	while (ni < nlen) {
		if (gi < glen && (glob[gi] == '?' || glob[gi] == name[ni])) {
			gi++;
			ni++;
		} else if (gi < glen && glob[gi] == '*') {
			star = gi++;
			mark = ni;
		} else if (star != (size_t)-1) {
			gi = star + 1;
			ni = ++mark;
		} else
			return 0;
	}
	while (gi < glen && glob[gi] == '*')
		gi++;
	return gi == glen;
}
