/*
 * lexer.c - Sieve tokens, RFC 5228 section 8.1: identifiers, :tags,
 * numbers with K/M/G quantifiers, "quoted" strings, text: multi-line
 * strings with dot-stuffing, hash and bracket comments. Columns count
 * bytes from 1. CRLF and LF both end lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sieve-int.h"

void
sieve_diags_init(struct sieve_diags *d)
{
	memset(d, 0, sizeof *d);
}

void
sieve_diags_free(struct sieve_diags *d)
{
	buf_free(&d->text);
	memset(d, 0, sizeof *d);
}

void
sv_vdiag(struct sieve_diags *d, const char *file, struct sv_pos pos,
    int is_error, const char *fmt, va_list ap)
{
	if (is_error) {
		if (d->errors == SIEVE_MAX_ERRORS) {
			buf_addf(&d->text, "%s: error: too many errors, "
			    "giving up\n", file);
			d->errors++;
		}
		if (d->errors > SIEVE_MAX_ERRORS)
			return;
		d->errors++;
	} else {
		d->warnings++;
	}
	if (pos.line > 0)
		buf_addf(&d->text, "%s:%u:%u: %s: ", file, pos.line, pos.col,
		    is_error ? "error" : "warning");
	else
		buf_addf(&d->text, "%s: %s: ", file,
		    is_error ? "error" : "warning");
	buf_vaddf(&d->text, fmt, ap);
	buf_addc(&d->text, '\n');
}

void
sv_diag(struct sieve_diags *d, const char *file, struct sv_pos pos,
    int is_error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sv_vdiag(d, file, pos, is_error, fmt, ap);
	va_end(ap);
}

void
sv_lex_init(struct sv_lexer *lx, const char *file, const char *src,
    size_t len, struct arena *a, struct sieve_diags *d)
{
	memset(lx, 0, sizeof *lx);
	lx->p = src;
	lx->bol = src;
	lx->end = src + len;
	lx->line = 1;
	lx->file = file;
	lx->arena = a;
	lx->d = d;
}

const char *
sv_tok_name(enum sv_tok t)
{
	static const char *const names[] = {
		[T_EOF] = "end of script", [T_ID] = "identifier",
		[T_TAG] = "tag", [T_NUM] = "number", [T_STR] = "string",
		[T_LBRACK] = "'['", [T_RBRACK] = "']'", [T_LPAREN] = "'('",
		[T_RPAREN] = "')'", [T_LBRACE] = "'{'", [T_RBRACE] = "'}'",
		[T_COMMA] = "','", [T_SEMI] = "';'", [T_BAD] = "invalid token",
	};

	return names[t];
}

static struct sv_pos
here(const struct sv_lexer *lx)
{
	struct sv_pos p = { lx->line, (unsigned)(lx->p - lx->bol) + 1 };

	return p;
}

static void
newline(struct sv_lexer *lx)
{
	lx->line++;
	lx->bol = lx->p;
}

static void
lerror(struct sv_lexer *lx, struct sv_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
lerror(struct sv_lexer *lx, struct sv_pos pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sv_vdiag(lx->d, lx->file, pos, 1, fmt, ap);
	va_end(ap);
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Skip white space and comments; 0, or -1 at an unterminated comment. */
static int
skip_space(struct sv_lexer *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == ' ' || c == '\t' || c == '\r') {
			lx->p++;
		} else if (c == '\n') {
			lx->p++;
			newline(lx);
		} else if (c == '#') {
			/* hash-comment = "#" *octet-not-crlf CRLF */
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (c == '/' && lx->p + 1 < lx->end &&
		    lx->p[1] == '*') {
			/* bracket-comment = "/" "*" ... "*" "/" */
			struct sv_pos start = here(lx);

			lx->p += 2;
			for (;;) {
				if (lx->p + 1 >= lx->end) {
					lx->p = lx->end;
					lerror(lx, start,
					    "unterminated comment");
					return -1;
				}
				if (lx->p[0] == '*' && lx->p[1] == '/') {
					lx->p += 2;
					break;
				}
				if (*lx->p++ == '\n')
					newline(lx);
			}
		} else {
			break;
		}
	}
	return 0;
}

/* quoted-string = DQUOTE quoted-text DQUOTE; "\\" and "\"" escape, any
 * other "\x" is "x" (RFC 5228 2.4.2). */
static int
lex_quoted(struct sv_lexer *lx, struct sv_token *t)
{
	struct buf b = BUF_INIT;

	lx->p++;
	for (;;) {
		if (lx->p >= lx->end) {
			lerror(lx, t->pos, "unterminated string");
			buf_free(&b);
			return -1;
		}
		if (*lx->p == '"')
			break;
		if (*lx->p == '\\' && lx->p + 1 < lx->end)
			lx->p++;
		if (*lx->p == '\n') {
			buf_addc(&b, '\n');
			lx->p++;
			newline(lx);
			continue;
		}
		{
			/* The run up to the next quote, escape or newline in
			 * one copy: most strings have none of those. */
			const char *q = lx->p + 1;

			while (q < lx->end && *q != '"' && *q != '\\' &&
			    *q != '\n')
				q++;
			if (b.len + (size_t)(q - lx->p) > SV_MAX_STRING) {
				lerror(lx, t->pos, "string too long");
				buf_free(&b);
				lx->p = lx->end;
				return -1;
			}
			buf_add(&b, lx->p, (size_t)(q - lx->p));
			lx->p = q;
		}
	}
	lx->p++;
	t->t = T_STR;
	t->len = b.len;
	t->s = arena_strndup(lx->arena, b.data ? b.data : "", b.len);
	buf_free(&b);
	return 0;
}

/*
 * multi-line = "text:" *(SP / HTAB) (hash-comment / CRLF)
 *              *(multiline-literal / multiline-dotstart) "." CRLF
 * A leading ".." stands for "." (dot-stuffing).
 */
static int
lex_text(struct sv_lexer *lx, struct sv_token *t)
{
	struct buf b = BUF_INIT;

	lx->p += 5;
	while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t'))
		lx->p++;
	if (lx->p < lx->end && *lx->p == '#')
		while (lx->p < lx->end && *lx->p != '\n')
			lx->p++;
	if (lx->p < lx->end && *lx->p == '\r')
		lx->p++;
	if (lx->p >= lx->end || *lx->p != '\n') {
		lerror(lx, here(lx), "text: must be followed by a line end");
		return -1;
	}
	lx->p++;
	newline(lx);
	for (;;) {
		const char *nl, *eol;
		size_t n;

		if (lx->p >= lx->end) {
			lerror(lx, t->pos, "unterminated text: string "
			    "(missing \".\" line)");
			buf_free(&b);
			return -1;
		}
		nl = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));
		eol = nl ? nl : lx->end;
		n = (size_t)(eol - lx->p);
		if (n > 0 && lx->p[n - 1] == '\r')
			n--;
		if (n == 1 && lx->p[0] == '.') {
			lx->p = nl ? nl + 1 : lx->end;
			if (nl)
				newline(lx);
			break;
		}
		if (b.len + n >= SV_MAX_STRING) {
			lerror(lx, t->pos, "string too long");
			buf_free(&b);
			lx->p = lx->end;
			return -1;
		}
		if (n >= 2 && lx->p[0] == '.' && lx->p[1] == '.')
			buf_add(&b, lx->p + 1, n - 1);
		else
			buf_add(&b, lx->p, n);
		if (nl) {
			/* Lines of text: end with CRLF in the value. */
			buf_add(&b, "\r\n", 2);
			lx->p = nl + 1;
			newline(lx);
		} else {
			lx->p = lx->end;
		}
	}
	t->t = T_STR;
	t->len = b.len;
	t->s = arena_strndup(lx->arena, b.data ? b.data : "", b.len);
	buf_free(&b);
	return 0;
}

/* number = 1*DIGIT [ QUANTIFIER ]; QUANTIFIER = "K" / "M" / "G" */
static int
lex_number(struct sv_lexer *lx, struct sv_token *t)
{
	uint64_t n = 0, mul = 1;
	int over = 0;

	while (lx->p < lx->end && is_digit(*lx->p)) {
		unsigned dgt = (unsigned)(*lx->p++ - '0');

		if (n > (UINT64_MAX - dgt) / 10)
			over = 1;
		else
			n = n * 10 + dgt;
	}
	if (lx->p < lx->end) {
		switch (*lx->p) {
		case 'k': case 'K': mul = 1024; lx->p++; break;
		case 'm': case 'M': mul = 1024 * 1024; lx->p++; break;
		case 'g': case 'G': mul = 1024 * 1024 * 1024; lx->p++; break;
		}
	}
	if (!over && n > INT64_MAX / mul)
		over = 1;
	if (lx->p < lx->end && (is_alpha(*lx->p) || is_digit(*lx->p))) {
		lerror(lx, t->pos, "invalid number");
		while (lx->p < lx->end && (is_alpha(*lx->p) ||
		    is_digit(*lx->p)))
			lx->p++;
		return -1;
	}
	if (over) {
		/* Pigeonhole's sieve_number_t is 64 bits. */
		lerror(lx, t->pos, "number is too large");
		return -1;
	}
	t->t = T_NUM;
	t->num = n * mul;
	return 0;
}

void
sv_lex_next(struct sv_lexer *lx, struct sv_token *t)
{
	const char *s;
	char c;

	memset(t, 0, sizeof *t);
	if (skip_space(lx) == -1) {
		t->t = T_BAD;
		t->pos = here(lx);
		return;
	}
	t->pos = here(lx);
	if (lx->p >= lx->end) {
		t->t = T_EOF;
		return;
	}
	c = *lx->p;
	switch (c) {
	case '[': t->t = T_LBRACK; lx->p++; return;
	case ']': t->t = T_RBRACK; lx->p++; return;
	case '(': t->t = T_LPAREN; lx->p++; return;
	case ')': t->t = T_RPAREN; lx->p++; return;
	case '{': t->t = T_LBRACE; lx->p++; return;
	case '}': t->t = T_RBRACE; lx->p++; return;
	case ',': t->t = T_COMMA; lx->p++; return;
	case ';': t->t = T_SEMI; lx->p++; return;
	case '"':
		if (lex_quoted(lx, t) == -1)
			t->t = T_BAD;
		return;
	default:
		break;
	}
	if (is_digit(c)) {
		if (lex_number(lx, t) == -1)
			t->t = T_BAD;
		return;
	}
	if (c == ':' && lx->p + 1 < lx->end && is_alpha(lx->p[1])) {
		s = ++lx->p;
		while (lx->p < lx->end && (is_alpha(*lx->p) ||
		    is_digit(*lx->p)))
			lx->p++;
		t->t = T_TAG;
		t->len = (size_t)(lx->p - s);
		t->s = arena_strndup(lx->arena, s, t->len);
		return;
	}
	if (is_alpha(c)) {
		s = lx->p;
		while (lx->p < lx->end && (is_alpha(*lx->p) ||
		    is_digit(*lx->p)))
			lx->p++;
		if (lx->p - s == 4 && lx->p < lx->end && *lx->p == ':' &&
		    mem_ieq(s, 4, "text", 4)) {
			lx->p = s;
			if (lex_text(lx, t) == -1)
				t->t = T_BAD;
			return;
		}
		t->t = T_ID;
		t->len = (size_t)(lx->p - s);
		t->s = arena_strndup(lx->arena, s, t->len);
		return;
	}
	if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
		lerror(lx, t->pos, "unexpected character '%c'", c);
	else
		lerror(lx, t->pos, "unexpected byte 0x%02x",
		    (unsigned)(unsigned char)c);
	lx->p++;
	t->t = T_BAD;
}
