/*
 * parser.c - recursive descent over RFC 5228 section 8.2, building the
 * syntax tree in the script's arena. Depth is limited (SIEVE_MAX_NESTING)
 * for blocks and tests alike. On an error the parser reports it, skips to
 * the next ';' or to the '}' that closes the current block, and goes on,
 * so one run reports several errors.
 */
#include <stdio.h>
#include <string.h>

#include "sieve-int.h"

struct parser {
	struct sv_lexer lx;
	struct sv_token tok;	/* current token */
	struct arena *a;
	struct sieve_diags *d;
	const char *file;
	int failed;
};

static void
advance(struct parser *ps)
{
	sv_lex_next(&ps->lx, &ps->tok);
	if (ps->tok.t == T_BAD)
		ps->failed = 1;
}

static void
perror_at(struct parser *ps, struct sv_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
perror_at(struct parser *ps, struct sv_pos pos, const char *fmt, ...)
{
	va_list ap;

	ps->failed = 1;
	va_start(ap, fmt);
	sv_vdiag(ps->d, ps->file, pos, 1, fmt, ap);
	va_end(ap);
}

static const char *
found(const struct sv_token *t)
{
	return sv_tok_name(t->t);
}

/*
 * Error recovery: skip to just after the next ';' at this level, or to a
 * '}' that closes the current block (left for the caller), or EOF.
 */
static void
recover(struct parser *ps)
{
	unsigned depth = 0;

	for (;;) {
		switch (ps->tok.t) {
		case T_EOF:
			return;
		case T_SEMI:
			if (depth == 0) {
				advance(ps);
				return;
			}
			break;
		case T_LBRACE:
			depth++;
			break;
		case T_RBRACE:
			if (depth == 0)
				return;
			if (--depth == 0) {
				advance(ps);
				return;
			}
			break;
		default:
			break;
		}
		advance(ps);
	}
}

static void
add_str(struct parser *ps, struct sv_str *s, const struct sv_token *t)
{
	(void)ps;
	s->s = t->s;
	s->len = t->len;
	s->pos = t->pos;
}

/* string-list = "[" string *("," string) "]" / string */
static int
parse_string_list(struct parser *ps, struct sv_arg *arg)
{
	struct sv_str tmp[64], *v = tmp;
	size_t n = 0, cap = 64;

	arg->type = SV_A_LIST;
	arg->pos = ps->tok.pos;
	advance(ps);
	for (;;) {
		if (ps->tok.t != T_STR) {
			perror_at(ps, ps->tok.pos, "expected a string in the "
			    "string list, but found %s", found(&ps->tok));
			return -1;
		}
		if (n == SV_MAX_STRLIST) {
			perror_at(ps, ps->tok.pos, "string list too long "
			    "(over %d strings)", SV_MAX_STRLIST);
			return -1;
		}
		if (n == cap) {
			struct sv_str *nv = arena_allocarray(ps->a, cap * 2,
			    sizeof *nv);

			memcpy(nv, v, n * sizeof *v);
			v = nv;
			cap *= 2;
		}
		add_str(ps, &v[n++], &ps->tok);
		advance(ps);
		if (ps->tok.t == T_RBRACK)
			break;
		if (ps->tok.t != T_COMMA) {
			perror_at(ps, ps->tok.pos, "expected ',' or ']' in the "
			    "string list, but found %s", found(&ps->tok));
			return -1;
		}
		advance(ps);
	}
	advance(ps);
	arg->n = n;
	arg->v = arena_allocarray(ps->a, n, sizeof *arg->v);
	memcpy(arg->v, v, n * sizeof *v);
	return 0;
}

static int parse_test(struct parser *ps, struct sv_node **out,
    unsigned depth);

/*
 * arguments = *argument [ test / test-list ]
 * argument  = string-list / number / tag
 * test-list = "(" test *("," test) ")"
 */
static int
parse_arguments(struct parser *ps, struct sv_node *n, unsigned depth)
{
	struct sv_arg tmp[32];
	struct sv_node *tests[64];
	size_t nargs = 0, nt = 0;

	for (;;) {
		struct sv_arg *arg = &tmp[nargs];

		if (ps->tok.t != T_STR && ps->tok.t != T_NUM &&
		    ps->tok.t != T_TAG && ps->tok.t != T_LBRACK)
			break;
		if (nargs == sizeof tmp / sizeof tmp[0]) {
			perror_at(ps, ps->tok.pos, "too many arguments");
			return -1;
		}
		memset(arg, 0, sizeof *arg);
		arg->pos = ps->tok.pos;
		switch (ps->tok.t) {
		case T_STR:
			arg->type = SV_A_STR;
			arg->n = 1;
			arg->v = arena_zalloc(ps->a, sizeof *arg->v);
			add_str(ps, arg->v, &ps->tok);
			advance(ps);
			break;
		case T_NUM:
			arg->type = SV_A_NUM;
			arg->num = ps->tok.num;
			advance(ps);
			break;
		case T_TAG:
			arg->type = SV_A_TAG;
			arg->tag = ps->tok.s;
			advance(ps);
			break;
		default:
			if (parse_string_list(ps, arg) == -1)
				return -1;
			break;
		}
		nargs++;
	}
	n->nargs = nargs;
	n->args = arena_allocarray(ps->a, nargs ? nargs : 1, sizeof *n->args);
	memcpy(n->args, tmp, nargs * sizeof *tmp);

	if (ps->tok.t == T_ID) {
		if (parse_test(ps, &tests[0], depth + 1) == -1)
			return -1;
		nt = 1;
	} else if (ps->tok.t == T_LPAREN) {
		n->test_list = 1;
		advance(ps);
		for (;;) {
			if (nt == sizeof tests / sizeof tests[0]) {
				perror_at(ps, ps->tok.pos,
				    "too many tests in a test list");
				return -1;
			}
			if (ps->tok.t != T_ID) {
				perror_at(ps, ps->tok.pos, "expected a test "
				    "but found %s", found(&ps->tok));
				return -1;
			}
			if (parse_test(ps, &tests[nt++], depth + 1) == -1)
				return -1;
			if (ps->tok.t == T_RPAREN)
				break;
			if (ps->tok.t != T_COMMA) {
				perror_at(ps, ps->tok.pos, "expected ',' or "
				    "')' in the test list, but found %s",
				    found(&ps->tok));
				return -1;
			}
			advance(ps);
		}
		advance(ps);
	}
	n->ntests = nt;
	n->tests = arena_allocarray(ps->a, nt ? nt : 1, sizeof *n->tests);
	memcpy(n->tests, tests, nt * sizeof *tests);
	return 0;
}

static struct sv_node *
new_node(struct parser *ps, enum sv_kind kind)
{
	struct sv_node *n = arena_zalloc(ps->a, sizeof *n);
	char digits[16], *o;
	size_t fl = strlen(ps->file), dl = 0;
	unsigned line;

	n->kind = kind;
	n->name = ps->tok.s;
	n->pos = ps->tok.pos;
	/* "file:line" for traces and actions; by hand, since this runs
	 * for every node of every script at every delivery. */
	line = n->pos.line;
	do {
		digits[dl++] = (char)('0' + line % 10);
		line /= 10;
	} while (line > 0 && dl < sizeof digits);
	o = arena_alloc(ps->a, fl + dl + 2);
	memcpy(o, ps->file, fl);
	o[fl] = ':';
	for (line = 0; line < dl; line++)
		o[fl + 1 + line] = digits[dl - 1 - line];
	o[fl + 1 + dl] = '\0';
	n->origin = o;
	return n;
}

/* test = identifier arguments */
static int
parse_test(struct parser *ps, struct sv_node **out, unsigned depth)
{
	struct sv_node *n;

	if (depth > SIEVE_MAX_NESTING) {
		perror_at(ps, ps->tok.pos, "tests nested too deeply "
		    "(over %d levels)", SIEVE_MAX_NESTING);
		return -1;
	}
	n = new_node(ps, SV_TEST);
	advance(ps);
	*out = n;
	return parse_arguments(ps, n, depth);
}

static struct sv_node *parse_commands(struct parser *ps, unsigned depth,
    int in_block);

/*
 * command = identifier arguments (";" / block)
 * block   = "{" commands "}"
 */
static struct sv_node *
parse_command(struct parser *ps, unsigned depth)
{
	struct sv_node *n = new_node(ps, SV_COMMAND);

	advance(ps);
	/* test nesting is counted per command, blocks by depth */
	if (parse_arguments(ps, n, 0) == -1) {
		recover(ps);
		return NULL;
	}
	if (ps->tok.t == T_SEMI) {
		advance(ps);
		return n;
	}
	if (ps->tok.t == T_LBRACE) {
		struct sv_pos open = ps->tok.pos;

		if (depth + 1 > SIEVE_MAX_NESTING) {
			perror_at(ps, ps->tok.pos, "blocks nested too deeply "
			    "(over %d levels)", SIEVE_MAX_NESTING);
			/* Skip the whole block. */
			{
				unsigned dd = 0;

				do {
					if (ps->tok.t == T_LBRACE)
						dd++;
					else if (ps->tok.t == T_RBRACE)
						dd--;
					advance(ps);
				} while (dd > 0 && ps->tok.t != T_EOF);
			}
			return NULL;
		}
		advance(ps);
		n->has_block = 1;
		n->block = parse_commands(ps, depth + 1, 1);
		if (ps->tok.t != T_RBRACE) {
			perror_at(ps, open, "block is not closed: expected '}' "
			    "but found %s", found(&ps->tok));
			return NULL;
		}
		advance(ps);
		return n;
	}
	perror_at(ps, ps->tok.pos, "expected end of command ';' or the "
	    "beginning of a compound block '{', but found %s",
	    found(&ps->tok));
	recover(ps);
	return NULL;
}

/* commands = *command */
static struct sv_node *
parse_commands(struct parser *ps, unsigned depth, int in_block)
{
	struct sv_node *first = NULL, **tail = &first;

	for (;;) {
		struct sv_node *n;

		if (ps->d->errors > SIEVE_MAX_ERRORS)
			return first;
		if (ps->tok.t == T_EOF)
			return first;
		if (ps->tok.t == T_RBRACE) {
			if (in_block)
				return first;
			perror_at(ps, ps->tok.pos, "unexpected '}'");
			advance(ps);
			continue;
		}
		if (ps->tok.t != T_ID) {
			if (ps->tok.t != T_BAD)
				perror_at(ps, ps->tok.pos, "expected a command "
				    "but found %s", found(&ps->tok));
			advance(ps);
			recover(ps);
			continue;
		}
		if ((n = parse_command(ps, depth)) != NULL) {
			*tail = n;
			tail = &n->next;
		}
	}
}

/* start = commands */
struct sv_node *
sv_parse(const char *file, const char *src, size_t len, struct arena *a,
    struct sieve_diags *d)
{
	struct parser ps;
	struct sv_node *first;

	memset(&ps, 0, sizeof ps);
	ps.a = a;
	ps.d = d;
	ps.file = file;
	sv_lex_init(&ps.lx, file, src, len, a, d);
	advance(&ps);
	first = parse_commands(&ps, 0, 0);
	return ps.failed ? NULL : first;
}
