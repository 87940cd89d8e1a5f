/*
 * subst.c - procmail's sh-like substitution (its readparse()): quotes,
 * backslashes, $VAR and ${VAR...} forms, $\VAR, the special parameters,
 * backquotes, and word splitting.
 *
 * The rules are procmail's, quirks included, because users' rc files
 * depend on them: a value substituted outside double quotes is split on
 * blanks (never on IFS), "\#" inside a word keeps its backslash, "$@"
 * works only inside double quotes, $\VAR gets "()" in front so that its
 * first character cannot combine with what precedes it, ${VAR:-text} may
 * hold quoted text of its own. Output is bounded by PM_MAX_VAR_LEN: what
 * is cut sets w->overflow (procmail's PROCMAIL_OVERFLOW).
 *
 * No recursion: a ${...} alternative that is not taken is parsed in
 * "skip" mode (no variable lookups, no programs) and its output dropped,
 * as procmail does.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pm-int.h"

enum {
	ST_NOTHING = -1, ST_SKIP = 0, ST_NORMAL = 1, ST_DQ = 2, ST_SQ = 3,
};

/* Characters escaped by $\VAR (procmail's list). */
#define PM_REGEX_SPECIALS	"(|)*?+.^$[\\"

void
pm_words_init(struct pm_words *w)
{
	memset(w, 0, sizeof *w);
	w->allargs = -1;
}

void
pm_words_free(struct pm_words *w)
{
	buf_free(&w->b);
	w->n = 0;
	w->allargs = -1;
}

const char *
pm_word(const struct pm_words *w, size_t i)
{
	size_t off = 0;

	if (i >= w->n)
		return NULL;
	while (i-- > 0)
		off += strlen(w->b.data + off) + 1;
	return w->b.data + off;
}

void
pm_regex_quote(struct buf *out, const char *v)
{
	buf_adds(out, "()");
	for (; *v != '\0'; v++) {
		if (strchr(PM_REGEX_SPECIALS, *v) != NULL)
			buf_addc(out, '\\');
		buf_addc(out, *v);
	}
}

static int
is_name(int c)
{
	return isalnum((unsigned char)c) || c == '_';
}

struct sub {
	struct pm_run *r;
	const char *s;
	size_t len, i;
	enum pm_subst_mode mode;
	struct buf *o;
	int got, bracelev, qbracelev;
	int skip;		/* inside an alternative that is not taken */
	/* the outermost skipped ${...}: where to rewind to */
	int has_skipback;
	size_t skipback;
	int skipbracelev, bracegot;
	const char *skipval;
	long allargs_pos;
	int overflow;
};

static void
emit(struct sub *u, char c)
{
	if ((long)u->o->len >= PM_MAX_VAR_LEN) {
		u->overflow = 1;
		return;
	}
	buf_addc(u->o, c);
}

/* procmail's simplesplit(): words of v, blanks separate (words mode). */
static void
split_into(struct sub *u, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\n') {
			if (u->got > ST_SKIP) {
				emit(u, '\0');
				u->got = ST_SKIP;
			}
			continue;
		}
		emit(u, *v);
		u->got = ST_NORMAL;
	}
}

static void
copy_in(struct sub *u, const char *v)
{
	for (; *v != '\0'; v++)
		emit(u, *v);
	if (u->got <= ST_SKIP)
		u->got = ST_NORMAL;
}

/* A substituted value: split outside double quotes in words mode. */
static void
put_value(struct sub *u, const char *v)
{
	if (v == NULL)
		v = "";
	if (u->got != ST_DQ && u->mode == PM_SUB_WORDS)
		split_into(u, v);
	else
		copy_in(u, v);
}

static const char *
positional(struct sub *u, int n)
{
	struct pm_run *r = u->r;

	if (n == 0)
		return "procmail";
	if ((size_t)n + r->shifted <= r->nargs)
		return r->args[r->shifted + (size_t)n - 1];
	return NULL;
}

static const char *
lookup(struct sub *u, const char *name, size_t n)
{
	if (u->skip)
		return NULL;
	if (n == 1 && isdigit((unsigned char)name[0]))
		return positional(u, name[0] - '0');
	return pm_var_get(u->r, name, n);
}

static int
getc_(struct sub *u)
{
	return u->i < u->len ? (unsigned char)u->s[u->i++] : -1;
}

/* `...`: collect the command, run it, put its output in. */
static int
backquote(struct sub *u)
{
	struct buf cmd = BUF_INIT, out = BUF_INIT;
	int c, closed_dq = 0;

	for (;;) {
		c = getc_(u);
		if (c == -1 || c == '`')
			break;
		if (c == '"' && u->got == ST_DQ) {
			closed_dq = 1;
			break;
		}
		if (c == '\\') {
			c = getc_(u);
			if (c == -1) {
				pm_log(u->r, "Unexpected EOL\n");
				break;
			}
			if (c == '\n')
				continue;
			if (!(c == '\\' || c == '$' || c == '`' ||
			    (c == '"' && u->got == ST_DQ)))
				buf_addc(&cmd, '\\');
		}
		if ((long)cmd.len < PM_MAX_LINE)
			buf_addc(&cmd, (char)c);
		else
			u->overflow = 1;
	}
	if (!u->skip)
		pm_backquote(u->r, cmd.data ? cmd.data : "", cmd.len, &out);
	if (u->got != ST_DQ) {
		if (u->mode == PM_SUB_WORDS)
			split_into(u, out.data ? out.data : "");
		else
			copy_in(u, out.data ? out.data : "");
	} else {
		copy_in(u, out.data ? out.data : "");
		if (closed_dq)
			u->got = ST_NORMAL;
	}
	buf_free(&cmd);
	buf_free(&out);
	return 0;
}

/*
 * After "$". Returns the character to process next (already read), or
 * -2 when nothing is pending.
 */
static int
dollar(struct sub *u)
{
	char name[256];
	size_t n = 0;
	int c = getc_(u), quoted = 0;
	char num[32];

	switch (c) {
	case -1:
		emit(u, '$');
		if (u->got <= ST_SKIP)
			u->got = ST_NORMAL;
		return -1;
	case '@':
		if (u->got != ST_DQ)
			return '@';	/* procmail drops the "$" */
		if (!u->skip)
			u->allargs_pos = (long)u->o->len;
		return -2;
	case '{': {
		const char *v;
		int vset;

		while ((c = getc_(u)) != -1 && is_name(c)) {
			if (n < sizeof name - 1)
				name[n++] = (char)c;
			else
				u->overflow = 1;
		}
		name[n] = '\0';
		if (n > 1 && isdigit((unsigned char)name[0]))
			goto badsub;
		v = lookup(u, name, n);
		vset = v != NULL;
		switch (c) {
		case ':':
			c = getc_(u);
			if (c == '-') {
				if (vset && *v)
					goto noalt;
				goto doalt;
			}
			if (c == '+') {
				if (vset && *v)
					goto doalt;
				v = NULL;
				goto noalt;
			}
			goto badsub;
		case '+':
			if (vset)
				goto doalt;
			goto noalt;
		case '-':
			if (vset)
				goto noalt;
			goto doalt;
		case '}':
			put_value(u, v);
			return -2;
		default:
			goto badsub;
		}
	noalt:
		if (!u->skip) {
			u->skip++;
			u->has_skipback = 1;
			u->skipback = u->o->len;
			u->skipbracelev = u->bracelev;
			u->skipval = v;
			u->bracegot = u->got;
		}
	doalt:
		u->bracelev++;
		return -2;
	badsub:
		if (!u->skip)
			pm_log(u->r, "Bad substitution of \"%s\"\n", name);
		return -2;
	}
	case '$':
		snprintf(num, sizeof num, "%ld", (long)getpid());
		copy_in(u, num);
		return -2;
	case '?':
		snprintf(num, sizeof num, "%d", u->r->lastexit);
		copy_in(u, num);
		return -2;
	case '#':
		snprintf(num, sizeof num, "%zu",
		    u->r->nargs > u->r->shifted ? u->r->nargs - u->r->shifted
		    : (size_t)0);
		copy_in(u, num);
		return -2;
	case '=':
		snprintf(num, sizeof num, "%ld", u->r->lastscore);
		copy_in(u, num);
		return -2;
	case '_':
		put_value(u, u->skip ? "" : u->r->curfile ? u->r->curfile : "");
		return -2;
	case '-':
		put_value(u, u->skip ? NULL : pm_var_get(u->r, "LASTFOLDER",
		    10));
		return -2;
	default:
		break;
	}
	if (isdigit(c)) {
		name[0] = (char)c;
		put_value(u, lookup(u, name, 1));
		return -2;
	}
	if (c == '\\') {
		quoted = 1;
		c = getc_(u);
	}
	if (c != -1 && is_name(c)) {
		const char *v;

		do {
			if (n < sizeof name - 1)
				name[n++] = (char)c;
			else
				u->overflow = 1;
		} while ((c = getc_(u)) != -1 && is_name(c));
		name[n] = '\0';
		v = lookup(u, name, n);
		if (quoted) {
			struct buf q = BUF_INIT;

			pm_regex_quote(&q, v ? v : "");
			for (n = 0; n < q.len; n++)
				emit(u, q.data[n]);
			buf_free(&q);
			if (u->got <= ST_SKIP)
				u->got = ST_NORMAL;
			return c;
		}
		put_value(u, v);
		return c;
	}
	emit(u, '$');
	if (u->got <= ST_SKIP)
		u->got = ST_NORMAL;
	if (quoted) {
		/* procmail: "$\" before a non-name is "$" and an escape */
		if (c == -1)
			return -1;
		u->i--;
		return '\\';
	}
	return c;
}

int
pm_subst(struct pm_run *r, const char *s, size_t len,
    enum pm_subst_mode mode, struct pm_words *w)
{
	struct sub u;
	int c, pending = -2;
	size_t k;

	memset(&u, 0, sizeof u);
	u.r = r;
	u.s = s;
	u.len = len;
	u.mode = mode;
	u.o = &w->b;
	u.got = ST_NOTHING;
	u.allargs_pos = -1;
	buf_reset(&w->b);
	w->n = 0;
	w->allargs = -1;
	w->overflow = 0;

	for (;;) {
		if (pending != -2) {
			c = pending;
			pending = -2;
		} else
			c = getc_(&u);
		switch (c) {
		case -1:
			if (mode < PM_SUB_KEEP && u.got > ST_NORMAL)
				pm_log(r, "Unexpected EOL\n");
			goto ready;
		case '\\':
			if (u.got == ST_SQ)
				break;
			c = getc_(&u);
			switch (c) {
			case -1:
				pm_log(r, "Unexpected EOL\n");
				goto ready;
			case '\n':
				continue;
			case '#':
				if (u.got > ST_SKIP)
					goto noesc;
				/* FALLTHROUGH */
			case ' ':
			case '\t':
			case '\'':
				if (u.got == ST_DQ)
					goto noesc;
				goto nodelim;
			case '"':
			case '\\':
			case '$':
			case '`':
				goto nodelim;
			case '}':
				if ((u.got <= ST_NORMAL && u.bracelev) ||
				    (u.got == ST_DQ && u.bracelev > u.qbracelev))
					goto nodelim;
				break;
			default:
				break;
			}
			if (u.got > ST_NORMAL) {
		noesc:
				emit(&u, '\\');
			}
			goto nodelim;
		case '`':
			if (u.got == ST_SQ)
				goto nodelim;
			backquote(&u);
			continue;
		case '"':
			if (u.got == ST_DQ) {
				if (u.qbracelev < u.bracelev)
					goto nodelim;
				u.got = ST_NORMAL;
				continue;
			}
			if (u.got == ST_SQ)
				goto nodelim;
			u.qbracelev = u.bracelev;
			u.got = ST_DQ;
			continue;
		case '\'':
			if (u.got == ST_DQ)
				goto nodelim;
			if (u.got == ST_SQ) {
				u.got = ST_NORMAL;
				continue;
			}
			u.got = ST_SQ;
			continue;
		case '}':
			if ((u.got <= ST_NORMAL && u.bracelev) ||
			    (u.got == ST_DQ && u.bracelev > u.qbracelev)) {
				u.bracelev--;
				if (u.has_skipback &&
				    u.bracelev == u.skipbracelev) {
					/* end of a skipped alternative: the
					 * variable's own value goes in */
					u.skip--;
					u.has_skipback = 0;
					u.o->len = u.skipback;
					if (u.o->data)
						u.o->data[u.o->len] = '\0';
					u.got = u.bracegot;
					put_value(&u, u.skipval);
				}
				continue;
			}
			goto nodelim;
		case '#':
			if (u.got > ST_SKIP)
				goto nodelim;
			while ((c = getc_(&u)) != -1 && c != '\n')
				;
			goto ready;
		case '$':
			if (u.got == ST_SQ)
				goto nodelim;
			pending = dollar(&u);
			continue;
		case ' ':
		case '\t':
			switch (u.got) {
			case ST_NORMAL:
				if (mode == PM_SUB_ASSIGN)
					goto ready;
				u.got = ST_SKIP;
				emit(&u, mode != PM_SUB_WORDS ? ' ' : '\0');
				continue;
			case ST_NOTHING:
			case ST_SKIP:
				continue;
			}
			goto nodelim;
		case '\n':
			if (u.got <= ST_NORMAL)
				goto ready;
			goto nodelim;
		default:
			break;
		}
	nodelim:
		emit(&u, (char)c);
		if (u.got <= ST_SKIP)
			u.got = ST_NORMAL;
	}
ready:
	if (u.got != ST_SKIP || mode != PM_SUB_WORDS)
		buf_addc(&w->b, '\0');
	if (w->b.data == NULL)
		buf_addc(&w->b, '\0');	/* never NULL, even with no words */
	/* count the words; the one ending where "$@" stood is replaced by
	 * the arguments when the command is run */
	for (k = 0; k < w->b.len; k++)
		if (w->b.data[k] == '\0') {
			if (u.allargs_pos >= 0 && (long)k == u.allargs_pos)
				w->allargs = (long)w->n;
			w->n++;
		}
	if (mode != PM_SUB_WORDS && w->n > 1)
		w->n = 1;	/* only the first string counts */
	w->overflow = u.overflow;
	return u.overflow ? -1 : 0;
}

void
pm_split_append(struct pm_words *w, const char *s)
{
	int in = 0;

	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n') {
			if (in) {
				buf_addc(&w->b, '\0');
				w->n++;
				in = 0;
			}
			continue;
		}
		buf_addc(&w->b, *s);
		in = 1;
	}
	if (in) {
		buf_addc(&w->b, '\0');
		w->n++;
	}
}
