/*
 * convert.c - procmailrc -> Sieve (sluice convert).
 *
 * Only what has the same effect is translated; everything else becomes a
 * "# sluice convert: cannot translate (file:line): reason" comment with
 * the recipe kept below it as a comment, and is counted. The output is
 * for sluice's Sieve compiler (regexes are pcre2, as sluice's :regex).
 *
 * Folders. The Sieve script stores into the user's Maildir (sluice's
 * `maildir`, ~/Maildir), which is INBOX; a Maildir++ folder ".NAME/"
 * in it is `fileinto "NAME"`. So a procmail folder, resolved against
 * $MAILDIR (as sluice deliver runs a .procmailrc: ~/Maildir unless the
 * file sets it) with the rc file's own assignments, translates when it
 * is
 *	$HOME/Maildir/          -> keep (INBOX)
 *	$HOME/Maildir/.NAME/    -> fileinto :create "NAME" (procmail
 *				   creates missing folders too)
 *	/dev/null               -> discard
 * and nothing else: an mbox file, an MH folder (dir/.) or a plain
 * directory cannot be a folder of a Maildir. Falling off the end delivers
 * to $DEFAULT: unset (sluice's procmail mode stores into the Maildir) or
 * one of the above.
 *
 * Header conditions. Procmail greps the header as text: "^Name:R" finds a
 * field Name whose text after the colon matches R. Sieve's header test
 * sees the value unfolded, RFC 2047 decoded and with the whitespace at
 * both ends removed, so "^Name: *R" becomes header :regex "name" "^R" and
 * "^Name:.*R" becomes header :regex "name" "R". Known differences, all
 * about whitespace or encoding, listed in sluice-procmailrc(7): procmail
 * joins folded lines with an extra space; Sieve decodes =?...?= words (so
 * a regex naming "=?" is refused); the whitespace right after the colon
 * and at the end of a field is not seen; pcre2 folds case beyond ASCII.
 * Procmail's size tests count its "From " line, Sieve's size does not.
 *
 * Recipe chains (A, E) are kept with Sieve variables per nesting level,
 * exactly as procmail keeps them (checked with procmail 3.22: a nested
 * block does not disturb the state of its level). a and e depend on
 * whether an action succeeded, which a Sieve script cannot see.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "pm-int.h"

#define CV_MAX_VARS		256	/* user variables tracked */
#define CV_MAX_REDIRECTS	4	/* sieve_max_redirects default */
#define CV_MAX_NAMES		32	/* header names in one test */
#define CV_MAX_BRANCHES		32	/* top-level alternatives in a regex */
#define CV_MAX_DEPTH		PM_MAX_NESTING
#define CV_MAX_WORD		4096	/* one expanded folder name / value */

/* $HOME stays symbolic: the Sieve script runs for whoever's Maildir. */
#define CV_HOME		"\001"
#define CV_ROOT		CV_HOME "/Maildir"
/* A reference to a Sieve variable inside an expanded word:
 * CV_VREF index CV_VEND. */
#define CV_VREF		'\002'
#define CV_VEND		'\003'

enum {
	REQ_FILEINTO = 1 << 0,
	REQ_MAILBOX = 1 << 1,
	REQ_COPY = 1 << 2,
	REQ_REGEX = 1 << 3,
	REQ_BODY = 1 << 4,
	REQ_VARIABLES = 1 << 5,
	REQ_PIPE = 1 << 6,
	REQ_FILTER = 1 << 7,
};

static const char *const req_names[] = {
	"fileinto", "mailbox", "copy", "regex", "body", "variables",
	"vnd.dovecot.pipe", "vnd.dovecot.filter",
};

struct cv_var {
	char *name;
	char *val;		/* static value (NULL: dynamic or unset) */
	int dynamic;		/* assigned in a block: known only at run time */
	int sieve;		/* a Sieve variable of the same name exists */
	int safe;		/* every value fits in a folder name */
};

struct cv {
	const struct pm_convert_opts *o;
	struct buf out;
	unsigned req;
	int bad;
	int level;		/* procmail's block nesting (A/E state) */
	struct cv_var vars[CV_MAX_VARS];
	size_t nvars;
};

static void conv_list(struct cv *c, const struct pm_node *n, int depth);

/* ---- small helpers ---- */

static void
indent(struct buf *b, int depth)
{
	int i;

	for (i = 0; i < depth; i++)
		buf_addc(b, '\t');
}

static struct cv_var *
var_find(struct cv *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nvars; i++)
		if (strcmp(c->vars[i].name, name) == 0)
			return &c->vars[i];
	return NULL;
}

/* Sieve variable names ignore case, procmail's do not: a second name
 * that differs only in case cannot be a Sieve variable. */
static int
var_case_clash(struct cv *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nvars; i++)
		if (strcasecmp(c->vars[i].name, name) == 0 &&
		    strcmp(c->vars[i].name, name) != 0)
			return 1;
	return 0;
}

static struct cv_var *
var_get(struct cv *c, const char *name)
{
	struct cv_var *v = var_find(c, name);

	if (v != NULL || c->nvars >= CV_MAX_VARS)
		return v;
	v = &c->vars[c->nvars++];
	memset(v, 0, sizeof *v);
	v->name = xstrdup(name);
	v->safe = 1;
	return v;
}

static void
var_set(struct cv_var *v, const char *val, int dynamic)
{
	free(v->val);
	v->val = (val != NULL && !dynamic) ? xstrdup(val) : NULL;
	v->dynamic = dynamic;
}

/* Settings that change how procmail logs, locks or runs programs, never
 * where the mail goes. */
static int
harmless_setting(const char *name)
{
	static const char *const names[] = {
		"LOGFILE", "LOG", "LOGABSTRACT", "VERBOSE", "COMSAT", "PATH",
		"SHELL", "SHELLFLAGS", "SHELLMETAS", "UMASK", "LOCKTIMEOUT",
		"LOCKSLEEP", "LOCKEXT", "TIMEOUT", "LINEBUF", "NORESRETRY",
		"SUSPEND", "DROPPRIVS", "LOCKFILE", "ORGMAIL", "SENDMAIL",
		"SENDMAILFLAGS", "MSGPREFIX", "PROCMAIL_OVERFLOW", NULL,
	};
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

/* Variables procmail gives a meaning of its own: refused as Sieve
 * variables. */
static int
special_var(const char *name)
{
	static const char *const names[] = {
		"INCLUDERC", "SWITCHRC", "EXITCODE", "HOST", "TRAP",
		"DELIVERED", "MATCH", "LASTFOLDER", "HOME", "LOGNAME", "USER",
		"SENDER", "RECIPIENT", "EXTENSION", NULL,
	};
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return strncasecmp(name, "pmc_", 4) == 0;
}

/* Characters that may appear in a translated folder name: Maildir++
 * names in ASCII that sluice stores as written (no modified UTF-7). */
static int
folder_char(int ch)
{
	return isalnum(ch) || ch == '_' || ch == '-' || ch == '.' ||
	    ch == '+' || ch == '=' || ch == ' ' || ch == ',' || ch == '@';
}

static int
folder_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if (!folder_char((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * A Sieve string literal: the text between quotes, with CV_VREF
 * references written as ${name}. -1 when the text cannot be written
 * exactly (a literal "${" would be expanded by the variables extension,
 * control bytes are not kept).
 */
static int
sieve_str(struct cv *c, struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == CV_VREF) {
			long idx = strtol(s + 1, (char **)&s, 10);

			if (*s != CV_VEND || idx < 0 || (size_t)idx >= c->nvars)
				return -1;
			buf_addf(b, "${%s}", c->vars[idx].name);
			c->req |= REQ_VARIABLES;
			continue;
		}
		if (ch == '$' && s[1] == '{')
			return -1;
		if (ch < 0x20 && ch != '\t')
			return -1;
		if (ch == '"' || ch == '\\')
			buf_addc(b, '\\');
		buf_addc(b, (int)ch);
	}
	buf_addc(b, '"');
	return 0;
}

/* ---- the untranslated part, kept as a comment ---- */

static void
flags_text(unsigned f, struct buf *b)
{
	static const struct { unsigned bit; char ch; } fl[] = {
		{ PMF_H, 'H' }, { PMF_B, 'B' }, { PMF_D, 'D' }, { PMF_A, 'A' },
		{ PMF_a, 'a' }, { PMF_E, 'E' }, { PMF_e, 'e' }, { PMF_h, 'h' },
		{ PMF_b, 'b' }, { PMF_f, 'f' }, { PMF_c, 'c' }, { PMF_w, 'w' },
		{ PMF_W, 'W' }, { PMF_i, 'i' }, { PMF_r, 'r' },
	};
	size_t i;

	for (i = 0; i < sizeof fl / sizeof fl[0]; i++) {
		/* The defaults the parser marks were not written. */
		if ((fl[i].bit == PMF_H || fl[i].bit == PMF_B) &&
		    (f & PMF_DEFAULT_HB))
			continue;
		if ((fl[i].bit == PMF_h || fl[i].bit == PMF_b) &&
		    (f & PMF_DEFAULT_hb))
			continue;
		if (f & fl[i].bit)
			buf_addc(b, fl[i].ch);
	}
}

/* Add "# " + one line of text (control bytes shown as '?'). */
static void
comment_line(struct buf *b, int depth, const char *lead, const char *s,
    size_t len)
{
	size_t i;

	indent(b, depth);
	buf_adds(b, "#   ");
	buf_adds(b, lead);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\n') {
			buf_addc(b, '\n');
			indent(b, depth);
			buf_adds(b, "#   ");
		} else {
			buf_addc(b, ch < 0x20 && ch != '\t' ? '?' : ch);
		}
	}
	buf_addc(b, '\n');
}

static void
comment_node(struct buf *b, const struct pm_node *n, int depth,
    unsigned level)
{
	struct buf t = BUF_INIT;
	size_t i;

	if (level > CV_MAX_DEPTH)
		return;
	if (n->kind == PM_ASSIGN) {
		buf_addf(&t, "%s", n->name ? n->name : "");
		if (n->value != NULL)
			buf_addf(&t, "=%s", n->value);
		comment_line(b, depth, "", t.data, t.len);
		buf_free(&t);
		return;
	}
	buf_adds(&t, ":0");
	flags_text(n->flags, &t);
	if (n->locked)
		buf_addf(&t, ":%s", n->lockfile ? n->lockfile : "");
	comment_line(b, depth, "", t.data, t.len);
	for (i = 0; i < n->nconds; i++) {
		const struct pm_cond *cd = &n->conds[i];

		buf_reset(&t);
		buf_adds(&t, "* ");
		if (cd->weighted)
			buf_addf(&t, "%g^%g ", cd->weight, cd->exponent);
		if (cd->negate)
			buf_addc(&t, '!');
		if (cd->expand)
			buf_addc(&t, '$');
		switch (cd->kind) {
		case PMC_SIZE_LT:
			buf_addf(&t, "< %ld", cd->size);
			break;
		case PMC_SIZE_GT:
			buf_addf(&t, "> %ld", cd->size);
			break;
		case PMC_PROGRAM:
			buf_adds(&t, "? ");
			buf_add(&t, cd->text, cd->text_len);
			break;
		case PMC_VAR:
			buf_addf(&t, "%s ?? ", cd->var ? cd->var : "");
			buf_add(&t, cd->text, cd->text_len);
			break;
		case PMC_REGEX:
			buf_add(&t, cd->text, cd->text_len);
			break;
		}
		comment_line(b, depth, "", t.data, t.len);
	}
	buf_reset(&t);
	switch (n->action) {
	case PMA_FOLDER:
		buf_adds(&t, n->action_text ? n->action_text : "");
		break;
	case PMA_PIPE:
		buf_addf(&t, "| %s", n->action_text ? n->action_text : "");
		break;
	case PMA_FORWARD:
		buf_addf(&t, "! %s", n->action_text ? n->action_text : "");
		break;
	case PMA_VARPIPE:
		buf_addf(&t, "%s=| %s", n->capture_var ? n->capture_var : "",
		    n->action_text ? n->action_text : "");
		break;
	case PMA_NEST: {
		const struct pm_node *k;

		comment_line(b, depth, "{", "", 0);
		for (k = n->children; k != NULL; k = k->next)
			comment_node(b, k, depth + 1, level + 1);
		buf_adds(&t, "}");
		break;
	}
	}
	comment_line(b, depth, "", t.data, t.len);
	buf_free(&t);
}

static void
untranslated(struct cv *c, const struct pm_node *n, int depth,
    const char *why)
{
	indent(&c->out, depth);
	buf_addf(&c->out, "# sluice convert: cannot translate (%s:%d): %s\n",
	    n->file ? n->file : "", n->line, why);
	comment_node(&c->out, n, depth, 0);
	c->bad++;
}

/* ---- values: procmail's quoting and $VAR substitution ---- */

/*
 * Expand one word of s (assignment values: the whole value; folder
 * lines: one word at a time). Static variables are substituted, $HOME
 * stays CV_HOME, a variable known only at run time becomes a CV_VREF
 * reference when it is a Sieve variable. *end_out: where the word ended.
 * Returns 0, or -1 with *why set.
 */
static int
expand_word(struct cv *c, const char *s, const char **end_out,
    struct buf *out, const char **why)
{
	char quote = 0;

	buf_reset(out);
	buf_addc(out, 0);
	out->len = 0;
	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (out->len > CV_MAX_WORD) {
			*why = "value too long";
			return -1;
		}
		if (quote == '\'') {
			if (ch == '\'')
				quote = 0;
			else
				buf_addc(out, ch);
			continue;
		}
		if (ch == '`') {
			*why = "command substitution (`...`)";
			return -1;
		}
		if (ch == '\n' || (ch < 0x20 && ch != '\t')) {
			*why = "control characters in a value";
			return -1;
		}
		if (quote == 0 && (ch == ' ' || ch == '\t'))
			break;
		if (ch == '\'' && quote == 0) {
			quote = '\'';
			continue;
		}
		if (ch == '"') {
			quote = quote ? 0 : '"';
			continue;
		}
		if (ch == '\\') {
			if (s[1] == '\0') {
				*why = "a backslash at the end";
				return -1;
			}
			/* sh inside double quotes keeps the backslash unless
			 * it quotes one of $ ` " \ */
			if (quote == '"' && strchr("$`\"\\", s[1]) == NULL)
				buf_addc(out, '\\');
			buf_addc(out, (unsigned char)*++s);
			continue;
		}
		if (ch == '$') {
			char name[256];
			size_t n = 0;
			int brace = s[1] == '{';
			const char *p = s + 1 + brace;
			struct cv_var *v;

			while ((isalnum((unsigned char)p[n]) || p[n] == '_') &&
			    n < sizeof name - 1)
				n++;
			if (n == 0 || isdigit((unsigned char)p[0]) ||
			    (brace && p[n] != '}')) {
				*why = "a $ substitution other than $NAME or "
				    "${NAME}";
				return -1;
			}
			memcpy(name, p, n);
			name[n] = '\0';
			s = p + n - 1 + brace;
			if (strcmp(name, "HOME") == 0) {
				buf_adds(out, CV_HOME);
				continue;
			}
			if (special_var(name)) {
				*why = "a variable procmail sets itself ($MATCH, "
				    "$LASTFOLDER, $LOGNAME...)";
				return -1;
			}
			v = var_find(c, name);
			if (v == NULL || (v->val == NULL && !v->dynamic)) {
				if (v == NULL && strcmp(name, "MAILDIR") &&
				    strcmp(name, "DEFAULT")) {
					*why = "a variable from procmail's "
					    "environment";
					return -1;
				}
				if (v == NULL)
					continue;	/* unset: empty */
			}
			if (!v->dynamic) {
				if (v->val != NULL)
					buf_adds(out, v->val);
				continue;
			}
			if (!v->sieve) {
				*why = "a variable whose value is known only "
				    "at run time";
				return -1;
			}
			buf_addf(out, "%c%zu%c", CV_VREF,
			    (size_t)(v - c->vars), CV_VEND);
			continue;
		}
		if (ch == CV_VREF || ch == CV_VEND || ch == CV_HOME[0]) {
			*why = "control characters in a value";
			return -1;
		}
		buf_addc(out, ch);
	}
	if (quote != 0) {
		*why = "an unterminated quote";
		return -1;
	}
	*end_out = s;
	return 0;
}

/* The whole value must be one word (words joined by spaces are shell
 * business). */
static int
expand_value(struct cv *c, const char *raw, struct buf *out,
    const char **why)
{
	const char *end;

	if (raw == NULL) {
		buf_reset(out);
		buf_addc(out, 0);
		out->len = 0;
		return 0;
	}
	if (expand_word(c, raw, &end, out, why) == -1)
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end != '\0') {
		*why = "a value of several words";
		return -1;
	}
	return 0;
}

/* Resolve a name against a directory: "/abs" stays, HOME-relative
 * stays, anything else is dir + "/" + name. Collapses "//" and "/./"
 * (not a final "/." which marks MH). */
static void
resolve(const char *dir, const char *name, struct buf *out)
{
	struct buf t = BUF_INIT;
	size_t i;

	if (name[0] == '/' || name[0] == CV_HOME[0])
		buf_adds(&t, name);
	else
		buf_addf(&t, "%s/%s", dir, name);
	buf_reset(out);
	for (i = 0; i < t.len; i++) {
		if (t.data[i] == '/' && out->len > 0 &&
		    out->data[out->len - 1] == '/')
			continue;
		if (t.data[i] == '.' && out->len > 0 &&
		    out->data[out->len - 1] == '/' && t.data[i + 1] == '/')
			continue;
		buf_addc(out, (unsigned char)t.data[i]);
	}
	if (out->data == NULL)
		buf_adds(out, "");
	buf_free(&t);
}

enum folder_kind { FK_BAD, FK_INBOX, FK_FOLDER, FK_DISCARD };

/*
 * Classify an expanded folder name (DESIGN: see the top of this file).
 * FK_FOLDER puts the Sieve folder name (CV_VREF references allowed) in
 * name_out. FK_BAD sets *why.
 */
static enum folder_kind
folder_kind(struct cv *c, const char *word, struct buf *name_out,
    const char **why)
{
	struct cv_var *md = var_find(c, "MAILDIR");
	struct buf path = BUF_INIT;
	const char *p, *dir = CV_HOME;
	enum folder_kind k = FK_BAD;
	size_t rl = strlen(CV_ROOT), n;

	if (md != NULL && md->dynamic) {
		*why = "MAILDIR is set in a block: its value is known only "
		    "at run time";
		return FK_BAD;
	}
	if (md != NULL && md->val != NULL)
		dir = md->val;
	if (strchr(dir, CV_VREF) != NULL) {
		*why = "MAILDIR depends on a run-time variable";
		return FK_BAD;
	}
	resolve(dir, word, &path);
	p = path.data;
	if (strcmp(p, "/dev/null") == 0) {
		k = FK_DISCARD;
		goto out;
	}
	if (strncmp(p, CV_ROOT, rl) != 0 || (p[rl] != '/' && p[rl] != '\0')) {
		*why = "a folder outside ~/Maildir";
		goto out;
	}
	p += rl;
	if (strcmp(p, "/") == 0) {
		k = FK_INBOX;
		goto out;
	}
	n = strlen(p);
	if (n < 2 || p[n - 1] != '/') {
		*why = n >= 2 && p[n - 1] == '.' && p[n - 2] == '/' ?
		    "an MH folder (dir/.) cannot be a Maildir folder" :
		    "an mbox file or plain directory cannot be a Maildir "
		    "folder (a Maildir folder name ends in /)";
		goto out;
	}
	if (strncmp(p, "/.", 2) != 0 || n < 4) {
		*why = "a directory in ~/Maildir that is not a Maildir++ "
		    "folder (.NAME/)";
		goto out;
	}
	buf_reset(name_out);
	buf_add(name_out, p + 2, n - 3);
	if (name_out->data == NULL)
		buf_adds(name_out, "");
	for (p = name_out->data; *p != '\0'; p++) {
		if (*p == CV_VREF) {
			long idx = strtol(p + 1, (char **)&p, 10);

			if (idx < 0 || (size_t)idx >= c->nvars ||
			    !c->vars[idx].safe) {
				*why = "a folder named by a variable that may "
				    "hold characters outside [A-Za-z0-9._-]";
				goto out;
			}
			continue;
		}
		if (!folder_char((unsigned char)*p)) {
			*why = "a folder name with characters other than "
			    "[A-Za-z0-9._-+=,@ ] (on-disk names differ)";
			goto out;
		}
	}
	if (name_out->data[0] == '.' ||
	    name_out->data[name_out->len - 1] == '.' ||
	    strstr(name_out->data, "..") != NULL) {
		*why = "a folder name with an empty hierarchy level";
		goto out;
	}
	k = FK_FOLDER;
out:
	buf_free(&path);
	return k;
}

/* ---- regexes: procmail's dialect -> pcre2 ---- */

static int
is_quant(int ch)
{
	return ch == '*' || ch == '+' || ch == '?';
}

/*
 * Translate procmail regex text r[0..len) to pcre2 syntax appended to
 * out. body: multi-line text (^ $ match at line ends; [^...] never
 * matches a newline, as procmail). In a header field (body 0) a ^ can
 * only start a field, which the caller has taken off, so a ^ is refused,
 * and $ only at the end of a branch. Returns 0 or -1 with *why.
 */
static int
re_translate(const char *r, size_t len, int body, struct buf *out,
    const char **why)
{
	size_t i;
	int atom = 0;		/* something a quantifier may follow */
	int depth = 0;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)r[i];
		int branch_start = i == 0 || r[i - 1] == '(' ||
		    (r[i - 1] == '|' && (i < 2 || r[i - 2] != '\\'));
		int branch_end = i + 1 == len || r[i + 1] == ')' ||
		    r[i + 1] == '|';

		if (ch >= 0x80 || ch == '\0' || (ch < 0x20 && ch != '\t')) {
			*why = "a regex with non-ASCII or control bytes "
			    "(procmail compares bytes, pcre2 UTF-8 "
			    "characters)";
			return -1;
		}
		switch (ch) {
		case '\\':
			if (i + 1 == len) {
				*why = "a regex ending in a backslash";
				return -1;
			}
			ch = (unsigned char)r[++i];
			if (ch == '/') {	/* \/ only sets MATCH */
				atom = 0;
				break;
			}
			if (ch == '<') {
				buf_adds(out, "(?:^|[^a-zA-Z0-9_])");
				atom = 1;
				break;
			}
			if (ch == '>') {
				buf_adds(out, "(?:[^a-zA-Z0-9_]|$)");
				atom = 1;
				break;
			}
			if (isalnum(ch) || ch >= 0x80 || ch < 0x20) {
				*why = "a regex with a backslash before a "
				    "letter or digit";
				return -1;
			}
			buf_addc(out, '\\');
			buf_addc(out, ch);
			atom = 1;
			break;
		case '^':
			if (i + 1 < len && r[i + 1] == '^') {
				*why = "^^ (anchor at the start or end of the "
				    "search area)";
				return -1;
			}
			if (!body || !branch_start) {
				*why = "^ inside a regex (procmail's ^ matches "
				    "a newline)";
				return -1;
			}
			buf_addc(out, '^');
			atom = 0;
			break;
		case '$':
			if (!branch_end) {
				*why = "$ inside a regex (procmail's $ matches "
				    "a newline)";
				return -1;
			}
			buf_addc(out, '$');
			atom = 0;
			break;
		case '[': {
			size_t j = i + 1;

			buf_addc(out, '[');
			if (j < len && r[j] == '^')
				buf_addc(out, '^'), j++;
			if (j < len && r[j] == ']')
				buf_adds(out, "\\]"), j++;
			for (; j < len && r[j] != ']'; j++) {
				unsigned char cc = (unsigned char)r[j];

				if (cc == '\\' || cc >= 0x80 || cc < 0x20 ||
				    (cc == '[' && j + 1 < len &&
				    strchr(":.=", r[j + 1]) != NULL)) {
					*why = "a bracket expression with a "
					    "backslash, [: or non-ASCII";
					return -1;
				}
				buf_addc(out, cc);
			}
			if (j >= len) {
				*why = "an unterminated [";
				return -1;
			}
			/* procmail: [^...] never matches a newline */
			if (body && r[i + 1] == '^')
				buf_adds(out, "\\n");
			buf_addc(out, ']');
			i = j;
			atom = 1;
			break;
		}
		case '(':
			if (i + 1 < len && (is_quant((unsigned char)r[i + 1]) ||
			    r[i + 1] == ')')) {
				*why = "an empty group or (? (*";
				return -1;
			}
			depth++;
			buf_addc(out, '(');
			atom = 0;
			break;
		case ')':
			if (depth == 0) {
				*why = "an unbalanced )";
				return -1;
			}
			depth--;
			buf_addc(out, ')');
			atom = 1;
			break;
		case '|':
			buf_addc(out, '|');
			atom = 0;
			break;
		case '*':
		case '+':
		case '?':
			/* pcre2 reads a*+ as possessive, a** as an error */
			if (!atom) {
				*why = "a quantifier that follows nothing or "
				    "another quantifier";
				return -1;
			}
			buf_addc(out, ch);
			atom = 0;
			break;
		case '{':
		case '}':
			/* procmail has no intervals: a brace is a brace */
			buf_addc(out, '\\');
			buf_addc(out, ch);
			atom = 1;
			break;
		case '.':
			buf_addc(out, '.');
			atom = 1;
			break;
		default:
			buf_addc(out, ch);
			atom = 1;
			break;
		}
	}
	if (depth != 0) {
		*why = "an unbalanced (";
		return -1;
	}
	if (out->data == NULL)
		buf_adds(out, "");
	return 0;
}

/* The result must compile as sluice's Sieve compiles :regex. */
static int
re_check(const char *re, int caseless, const char **why)
{
	int errcode;
	PCRE2_SIZE off;
	pcre2_code *code;
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;

	if (caseless)
		opts |= PCRE2_CASELESS;
	code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, opts,
	    &errcode, &off, NULL);
	if (code == NULL) {
		*why = "the translated regex does not compile with pcre2";
		return -1;
	}
	pcre2_code_free(code);
	return 0;
}

/* Split r at top-level '|': offsets of the branches in starts/ends. */
static int
split_branches(const char *r, size_t len, size_t *starts, size_t *ends,
    size_t *n_out, const char **why)
{
	size_t i, n = 0, start = 0;
	int depth = 0, cls = 0;

	for (i = 0; i < len; i++) {
		if (cls) {
			if (r[i] == ']' && i > (size_t)cls)
				cls = 0;
			continue;
		}
		if (r[i] == '\\') {
			i++;
			continue;
		}
		if (r[i] == '[') {
			/* "[]" and "[^]" hold a ']' */
			cls = (int)i + 1;
			if (i + 1 < len && r[i + 1] == '^')
				cls++;
			continue;
		}
		if (r[i] == '(')
			depth++;
		else if (r[i] == ')')
			depth--;
		else if (r[i] == '|' && depth == 0) {
			if (n >= CV_MAX_BRANCHES)
				goto many;
			starts[n] = start, ends[n++] = i;
			start = i + 1;
		}
	}
	if (n >= CV_MAX_BRANCHES)
		goto many;
	starts[n] = start, ends[n++] = len;
	*n_out = n;
	return 0;
many:
	*why = "too many alternatives";
	return -1;
}

/* procmail's ^TO_ and ^TO: the destination fields (procmailrc(5)). */
static const char *const to_names[] = {
	"to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc",
	"original-to", "original-cc", "original-bcc", "original-resent-to",
	"original-resent-cc", "original-resent-bcc", "x-envelope-to",
	"apparently-to", "apparently-resent-to", NULL,
};

static int
name_char(int ch)
{
	return isalnum(ch) || ch == '-' || ch == '_';
}

/* Append a string-list of header names: ["a", "b"]. */
static void
names_list(struct buf *b, char names[][128], size_t n)
{
	size_t i;

	if (n == 1) {
		buf_addf(b, "\"%s\"", names[0]);
		return;
	}
	buf_addc(b, '[');
	for (i = 0; i < n; i++)
		buf_addf(b, "%s\"%s\"", i ? ", " : "", names[i]);
	buf_addc(b, ']');
}

/*
 * One branch "^Name:R" (or "^(A|B):R", "^TO_R", "^TOR") of a header
 * regex as a Sieve test appended to t.
 */
static int
header_branch(struct cv *c, const char *r, size_t len, int caseless,
    struct buf *t, const char **why)
{
	char names[CV_MAX_NAMES][128];
	size_t n = 0, i = 0, k;
	struct buf re = BUF_INIT, rest = BUF_INIT;
	const char *prefix = "^";
	int ret = -1, unanchored = 0;

	if (len < 2 || r[0] != '^' || r[1] == '^') {
		*why = "a header regex that does not start with ^Name: "
		    "(Sieve tests named fields only)";
		return -1;
	}
	i = 1;
	if (len >= 3 && strncmp(r + 1, "TO", 2) == 0) {
		int word = !(len >= 4 && r[3] == '_');

		/* ^TO_ and ^TO: the field name, then
		 * (.*[^-a-zA-Z0-9_.])? or (.*[^a-zA-Z])? before the rest.
		 * The whitespace after the colon that Sieve strips is one
		 * of those characters. */
		for (k = 0; to_names[k] != NULL; k++)
			(void)snprintf(names[n++], sizeof names[0], "%s",
			    to_names[k]);
		prefix = word ? "^(?:.*[^a-zA-Z])?" :
		    "^(?:.*[^-a-zA-Z0-9_.])?";
		i = word ? 3 : 4;
		goto value;
	}
	if (len >= 12 && (strncmp(r + 1, "FROM_DAEMON", 11) == 0 ||
	    strncmp(r + 1, "FROM_MAILER", 11) == 0)) {
		*why = "^FROM_DAEMON / ^FROM_MAILER (they test the \"From \" "
		    "line too)";
		return -1;
	}
	if (r[i] == '(') {
		i++;
		for (;;) {
			size_t s = i;

			while (i < len && (name_char((unsigned char)r[i]) ||
			    (r[i] == '\\' && i + 1 < len && r[i + 1] == '-')))
				i += r[i] == '\\' ? 2 : 1;
			if (i == s || n >= CV_MAX_NAMES || i - s >= 127)
				goto notname;
			(void)snprintf(names[n], sizeof names[0], "%.*s",
			    (int)(i - s), r + s);
			n++;
			if (i < len && r[i] == '|') {
				i++;
				continue;
			}
			if (i < len && r[i] == ')') {
				i++;
				break;
			}
			goto notname;
		}
	} else {
		size_t s = i;

		while (i < len && name_char((unsigned char)r[i]))
			i++;
		if (i == s || i - s >= 127)
			goto notname;
		(void)snprintf(names[n++], sizeof names[0], "%.*s",
		    (int)(i - s), r + s);
	}
	if (i >= len || r[i] != ':')
		goto notname;
	i++;
	/* Names without backslashes, lower case for readability (Sieve
	 * compares field names without case). */
	for (k = 0; k < n; k++) {
		char *p, *q;

		for (p = q = names[k]; *p != '\0'; p++)
			if (*p != '\\')
				*q++ = (char)tolower((unsigned char)*p);
		*q = '\0';
	}
	/* Whitespace after the colon: Sieve has already removed it. */
	for (;;) {
		size_t j = i + 1;

		if (i < len && (r[i] == ' ' || r[i] == '\t')) {
			i++;
		} else if (i < len && r[i] == '[') {
			/* [ ] or [ <tab>] */
			while (j < len && (r[j] == ' ' || r[j] == '\t'))
				j++;
			if (j == i + 1 || j >= len || r[j] != ']')
				break;
			i = j + 1;
		} else {
			break;
		}
		if (i < len && is_quant((unsigned char)r[i]))
			i++;
	}
	if (i + 1 < len && r[i] == '.' && r[i + 1] == '*' &&
	    !(i + 2 < len && is_quant((unsigned char)r[i + 2]))) {
		unanchored = 1;
		i += 2;
	} else if (i < len && r[i] != '$' && i > 0 && r[i - 1] == ':') {
		*why = "a header regex that expects no space after the colon";
		return -1;
	}
	if (i == len) {
		/* "^Name:" or "^Name:.*": the field exists */
		if (n == 1) {
			buf_addf(t, "exists \"%s\"", names[0]);
		} else {
			buf_adds(t, "anyof(");
			for (k = 0; k < n; k++)
				buf_addf(t, "%sexists \"%s\"", k ? ", " : "",
				    names[k]);
			buf_addc(t, ')');
		}
		return 0;
	}
	prefix = unanchored ? "" : "^";
value:
	if (mem_find(r + i, len - i, "=?", 2) != NULL ||
	    mem_find(r + i, len - i, "=\\?", 3) != NULL) {
		*why = "a regex for RFC 2047 encoded words (Sieve decodes "
		    "them)";
		return -1;
	}
	if (mem_find(r + i, len - i, "^TO", 3) != NULL ||
	    mem_find(r + i, len - i, "^FROM_", 6) != NULL) {
		*why = "a procmail macro (^TO, ^FROM_...) inside a regex";
		return -1;
	}
	if (re_translate(r + i, len - i, 0, &rest, why) == -1)
		goto out;
	buf_adds(&re, prefix);
	/* A top-level | in the rest must stay under the anchor. */
	if (memchr(rest.data, '|', rest.len) != NULL && prefix[0] != '\0')
		buf_addf(&re, "(?:%s)", rest.data);
	else
		buf_adds(&re, rest.data);
	if (re_check(re.data, caseless, why) == -1)
		goto out;
	c->req |= REQ_REGEX;
	buf_adds(t, "header :regex ");
	if (!caseless)
		buf_adds(t, ":comparator \"i;octet\" ");
	names_list(t, names, n);
	buf_addc(t, ' ');
	if (sieve_str(c, t, re.data) == -1) {
		*why = "a regex that cannot be a Sieve string";
		goto out;
	}
	ret = 0;
out:
	buf_free(&re);
	buf_free(&rest);
	return ret;
notname:
	*why = "a header regex that does not start with ^Name: (Sieve tests "
	    "named fields only)";
	return -1;
}

/* A regex condition over the header as a Sieve test. */
static int
header_test(struct cv *c, const char *r, size_t len, unsigned flags,
    struct buf *t, const char **why)
{
	size_t starts[CV_MAX_BRANCHES], ends[CV_MAX_BRANCHES], n, k;
	struct buf one = BUF_INIT;
	int ret = -1;

	if (flags & PMF_D) {
		*why = "D flag on a header regex (Sieve compares field names "
		    "without case)";
		return -1;
	}
	if (split_branches(r, len, starts, ends, &n, why) == -1)
		return -1;
	if (n > 1)
		buf_adds(t, "anyof(");
	for (k = 0; k < n; k++) {
		buf_reset(&one);
		if (header_branch(c, r + starts[k], ends[k] - starts[k], 1,
		    &one, why) == -1)
			goto out;
		if (k)
			buf_adds(t, ", ");
		buf_adds(t, one.data);
	}
	if (n > 1)
		buf_addc(t, ')');
	ret = 0;
out:
	buf_free(&one);
	return ret;
}

/* A regex condition over the body: body :raw :regex, multi-line. */
static int
body_test(struct cv *c, const char *r, size_t len, unsigned flags,
    struct buf *t, const char **why)
{
	struct buf re = BUF_INIT, tr = BUF_INIT;
	int ret = -1, caseless = !(flags & PMF_D);

	if (mem_find(r, len, "^TO", 3) != NULL ||
	    mem_find(r, len, "^FROM_", 6) != NULL) {
		*why = "a procmail macro (^TO, ^FROM_...) on the body";
		return -1;
	}
	if (re_translate(r, len, 1, &tr, why) == -1)
		goto out;
	buf_addf(&re, "(?m)%s", tr.data);
	if (re_check(re.data, caseless, why) == -1)
		goto out;
	c->req |= REQ_REGEX | REQ_BODY;
	buf_adds(t, "body :raw :regex ");
	if (!caseless)
		buf_adds(t, ":comparator \"i;octet\" ");
	if (sieve_str(c, t, re.data) == -1) {
		*why = "a regex that cannot be a Sieve string";
		goto out;
	}
	ret = 0;
out:
	buf_free(&re);
	buf_free(&tr);
	return ret;
}

/* One condition as a Sieve test. *note_out: a remark for the output. */
static int
cond_test(struct cv *c, const struct pm_node *n, const struct pm_cond *cd,
    struct buf *t, const char **note_out, const char **why)
{
	struct buf one = BUF_INIT;
	unsigned area = n->flags & (PMF_H | PMF_B);
	int ret = -1;

	if (n->flags & PMF_DEFAULT_HB)
		area = PMF_H;
	if (cd->weighted) {
		*why = "a weighted condition (scoring)";
		return -1;
	}
	if (cd->expand && ((cd->kind != PMC_REGEX && cd->kind != PMC_VAR) ||
	    strpbrk(cd->text, "$`\"'\\") != NULL)) {
		*why = "a condition with $ substitution";
		return -1;
	}
	switch (cd->kind) {
	case PMC_SIZE_LT:
	case PMC_SIZE_GT:
		if (cd->size < 0) {
			*why = "a negative size";
			return -1;
		}
		buf_addf(&one, "size %s %ld", cd->kind == PMC_SIZE_LT ?
		    ":under" : ":over", cd->size);
		*note_out = "procmail's size counts its \"From \" line too";
		break;
	case PMC_PROGRAM:
		*why = "a program as a condition (* ? command)";
		return -1;
	case PMC_VAR:
		if (cd->var == NULL || (strcmp(cd->var, "H") &&
		    strcmp(cd->var, "B"))) {
			*why = "a condition on a variable (VAR ?? regex)";
			return -1;
		}
		area = cd->var[0] == 'H' ? PMF_H : PMF_B;
		/* FALLTHROUGH */
	case PMC_REGEX:
		if (cd->text_len == 0) {
			/* an empty regex matches anything */
			buf_adds(&one, "true");
			break;
		}
		if (area == (PMF_H | PMF_B)) {
			*why = "a regex over header and body together";
			return -1;
		}
		if ((area == PMF_B ? body_test(c, cd->text, cd->text_len,
		    n->flags, &one, why) : header_test(c, cd->text,
		    cd->text_len, n->flags, &one, why)) == -1)
			goto out;
		break;
	}
	if (cd->negate)
		buf_addf(t, "not %s", one.data);
	else
		buf_adds(t, one.data);
	ret = 0;
out:
	buf_free(&one);
	return ret;
}

/* ---- actions ---- */

/* Split a command line into words when no shell is needed. */
static int
command_words(const char *s, char ***argv_out, size_t *n_out,
    const char **why)
{
	char **v = NULL;
	size_t n = 0;

	if (strpbrk(s, "&|<>~;?*[]$`'\"\\(){}#=\n") != NULL) {
		*why = "a command that needs a shell (sluice runs programs "
		    "with an argv)";
		return -1;
	}
	while (*s != '\0') {
		size_t k;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		k = strcspn(s, " \t");
		if (n >= PM_MAX_ARGS) {
			*why = "too many arguments";
			goto fail;
		}
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = xstrndup(s, k);
		s += k;
	}
	if (n == 0) {
		*why = "an empty command";
		goto fail;
	}
	*argv_out = v;
	*n_out = n;
	return 0;
fail:
	while (n > 0)
		free(v[--n]);
	free(v);
	return -1;
}

/* pipe/filter "name" ["args"...] for an argv. */
static int
program_cmd(struct cv *c, const char *cmd, char **v, size_t n, int copy,
    struct buf *a, const char **why)
{
	const char *base = strrchr(v[0], '/');
	size_t i;

	base = base ? base + 1 : v[0];
	if (*base == '\0') {
		*why = "an empty program name";
		return -1;
	}
	buf_addf(a, "%s %s", cmd, copy ? ":copy " : "");
	if (sieve_str(c, a, base) == -1)
		goto bad;
	if (n > 1) {
		buf_adds(a, " [");
		for (i = 1; i < n; i++) {
			if (i > 1)
				buf_adds(a, ", ");
			if (sieve_str(c, a, v[i]) == -1)
				goto bad;
		}
		buf_addc(a, ']');
	}
	buf_adds(a, ";\n");
	return 0;
bad:
	*why = "a command that cannot be a Sieve string";
	return -1;
}

/*
 * The action of a recipe as Sieve commands (one per line, at depth) in
 * a. Returns 0, or -1 with *why.
 */
static int
action_cmds(struct cv *c, const struct pm_node *n, int depth,
    struct buf *a, const char **why)
{
	int copy = (n->flags & PMF_c) != 0;
	int hb_partial = !(n->flags & PMF_DEFAULT_hb) &&
	    (n->flags & (PMF_h | PMF_b)) != (PMF_h | PMF_b);
	const char *text = n->action_text ? n->action_text : "";
	struct buf w = BUF_INIT, name = BUF_INIT;
	int ret = -1, stored = 0;

	if (n->flags & (PMF_a | PMF_e)) {
		*why = "flag a or e (they depend on whether an action "
		    "succeeded)";
		return -1;
	}
	if (hb_partial && n->action != PMA_NEST) {
		*why = "h or b alone (only part of the message delivered)";
		return -1;
	}
	if ((n->flags & PMF_f) && n->action != PMA_PIPE) {
		*why = "f on something other than a pipe";
		return -1;
	}
	switch (n->action) {
	case PMA_NEST:
		if (copy) {
			*why = "c on a block (procmail clones itself: both "
			    "copies go on)";
			return -1;
		}
		break;
	case PMA_VARPIPE:
		*why = "the output of a program into a variable (VAR=| cmd)";
		return -1;
	case PMA_FOLDER: {
		const char *p = text, *end;

		while (*p == ' ' || *p == '\t')
			p++;
		while (*p != '\0') {
			enum folder_kind k;

			if (expand_word(c, p, &end, &w, why) == -1)
				goto out;
			p = end;
			while (*p == ' ' || *p == '\t')
				p++;
			if (w.len == 0)
				continue;
			k = folder_kind(c, w.data, &name, why);
			if (k == FK_BAD)
				goto out;
			indent(a, depth);
			if (k == FK_DISCARD) {
				/* a copy into /dev/null is nothing */
				if (!copy)
					buf_adds(a, "discard;\n");
				else
					buf_adds(a, "# (copy to /dev/null)\n");
			} else if (k == FK_INBOX) {
				if (copy) {
					*why = "c into INBOX (procmail stores "
					    "it twice when the default "
					    "delivery follows; Sieve once)";
					goto out;
				}
				buf_adds(a, "keep;\n");
			} else {
				c->req |= REQ_FILEINTO | REQ_MAILBOX;
				if (copy)
					c->req |= REQ_COPY;
				buf_addf(a, "fileinto %s:create ", copy ?
				    ":copy " : "");
				if (sieve_str(c, a, name.data) == -1) {
					*why = "a folder name that cannot be a "
					    "Sieve string";
					goto out;
				}
				buf_adds(a, ";\n");
			}
			stored++;
		}
		if (stored == 0) {
			*why = "no folder";
			goto out;
		}
		break;
	}
	case PMA_FORWARD: {
		const char *p = text;
		size_t nr = 0;

		if (strpbrk(text, "$`'\"\\|;&<>()") != NULL) {
			*why = "forward addresses with quoting, substitution "
			    "or shell characters";
			goto out;
		}
		while (*p != '\0') {
			size_t k;

			while (*p == ' ' || *p == '\t' || *p == '\n')
				p++;
			if (*p == '\0')
				break;
			k = strcspn(p, " \t\n");
			if (*p == '-') {
				*why = "sendmail options on a forward";
				goto out;
			}
			if (++nr > CV_MAX_REDIRECTS) {
				*why = "more forward addresses than Sieve's "
				    "redirect limit (4)";
				goto out;
			}
			if (copy)
				c->req |= REQ_COPY;
			buf_reset(&w);
			buf_add(&w, p, k);
			indent(a, depth);
			buf_addf(a, "redirect %s", copy ? ":copy " : "");
			if (sieve_str(c, a, w.data) == -1) {
				*why = "an address that cannot be a Sieve "
				    "string";
				goto out;
			}
			buf_adds(a, ";\n");
			p += k;
		}
		if (nr == 0) {
			*why = "no address";
			goto out;
		}
		break;
	}
	case PMA_PIPE: {
		char **v = NULL;
		size_t nv = 0, i;
		int r;

		if (!c->o->pipe_ext) {
			*why = "a pipe to a program (sluice convert --pipes "
			    "gives vnd.dovecot.pipe)";
			goto out;
		}
		if (command_words(text, &v, &nv, why) == -1)
			goto out;
		indent(a, depth);
		if (n->flags & PMF_f) {
			if (copy) {
				*why = "c on a filter";
				r = -1;
			} else {
				c->req |= REQ_FILTER;
				r = program_cmd(c, "filter", v, nv, 0, a, why);
			}
		} else {
			c->req |= REQ_PIPE | (copy ? REQ_COPY : 0);
			buf_adds(a, "# the program must be in sieve_pipe_bin_dir; "
			    "it gets no \"From \" line\n");
			indent(a, depth);
			r = program_cmd(c, "pipe", v, nv, copy, a, why);
		}
		for (i = 0; i < nv; i++)
			free(v[i]);
		free(v);
		if (r == -1)
			goto out;
		break;
	}
	}
	/* A delivering recipe ends procmail's run. */
	if (!copy && n->action != PMA_NEST &&
	    !(n->action == PMA_PIPE && (n->flags & PMF_f))) {
		indent(a, depth);
		buf_adds(a, "stop;\n");
	}
	ret = 0;
out:
	buf_free(&w);
	buf_free(&name);
	return ret;
}

/* ---- recipes and assignments ---- */

/*
 * A recipe keeps procmail's state in Sieve variables when it has A or E
 * itself or the next recipe of its level has: the state an A or E reads
 * always comes through such a chain from the recipe that heads it.
 */
static int
needs_state(const struct pm_node *n)
{
	const struct pm_node *k;

	if (n->flags & (PMF_A | PMF_E))
		return 1;
	for (k = n->next; k != NULL && k->kind != PM_RECIPE; k = k->next)
		;
	return k != NULL && (k->flags & (PMF_A | PMF_E));
}

struct chain {
	int on;			/* this recipe keeps the A/E state */
	int last_ok, prev_ok;	/* the state comes from translated recipes */
	int seen;		/* a recipe came before on this level */
};

/* "if TESTS {" at depth, continuation lines of the test list indented. */
static void
open_if(struct buf *b, int depth, const char *tests, size_t ntests)
{
	const char *p;

	indent(b, depth);
	buf_adds(b, ntests > 1 ? "if allof(" : "if ");
	for (p = tests; *p != '\0'; p++) {
		buf_addc(b, *p);
		if (*p == '\n') {
			indent(b, depth);
			buf_adds(b, "          ");
		}
	}
	buf_addf(b, "%s {\n", ntests > 1 ? ")" : "");
}

static void
conv_recipe(struct cv *c, const struct pm_node *n, int depth,
    struct chain *ch)
{
	struct buf t = BUF_INIT, a = BUF_INIT;
	const char *why = NULL, *note = NULL;
	size_t i, ntests = 0;
	int d = c->level;	/* Sieve variables per procmail level */

	if ((n->flags & (PMF_A | PMF_E)) && (!ch->seen ||
	    ((n->flags & PMF_A) && !ch->last_ok) ||
	    ((n->flags & PMF_E) && !ch->prev_ok))) {
		why = !ch->seen ? "A or E on the first recipe of a level" :
		    "A or E after a recipe that was not translated";
		goto bad;
	}
	if (ch->on) {
		if (n->flags & PMF_A) {
			buf_addf(&t, "string :is \"${pmc_last%d}\" \"1\"", d);
			ntests++;
		}
		if (n->flags & PMF_E) {
			buf_addf(&t, "%sstring :is \"${pmc_prev%d}\" \"0\"",
			    ntests ? ", " : "", d);
			ntests++;
		}
	}
	for (i = 0; i < n->nconds; i++) {
		struct buf one = BUF_INIT;
		const char *nt = NULL;

		if (cond_test(c, n, &n->conds[i], &one, &nt, &why) == -1) {
			buf_free(&one);
			goto bad;
		}
		if (nt != NULL)
			note = nt;
		buf_addf(&t, "%s%s", ntests ? ",\n" : "", one.data);
		ntests++;
		buf_free(&one);
	}
	if (action_cmds(c, n, depth + 1, &a, &why) == -1)
		goto bad;

	if (note != NULL) {
		indent(&c->out, depth);
		buf_addf(&c->out, "# %s:%d: note: %s\n", n->file ? n->file :
		    "", n->line, note);
	}
	if (ch->on) {
		/* procmail: i = gates && conditions; lastcond = i for a
		 * recipe without A; prevcond = i unless E kept it set. */
		c->req |= REQ_VARIABLES;
		if (ntests == 0) {
			indent(&c->out, depth);
			buf_addf(&c->out, "set \"pmc_i%d\" \"1\";\n", d);
		} else {
			open_if(&c->out, depth, t.data, ntests);
			indent(&c->out, depth + 1);
			buf_addf(&c->out, "set \"pmc_i%d\" \"1\";\n", d);
			indent(&c->out, depth);
			buf_adds(&c->out, "} else {\n");
			indent(&c->out, depth + 1);
			buf_addf(&c->out, "set \"pmc_i%d\" \"0\";\n", d);
			indent(&c->out, depth);
			buf_adds(&c->out, "}\n");
		}
		if (!(n->flags & PMF_A)) {
			indent(&c->out, depth);
			buf_addf(&c->out, "set \"pmc_last%d\" \"${pmc_i%d}\";\n",
			    d, d);
			ch->last_ok = 1;
		}
		indent(&c->out, depth);
		if (!(n->flags & PMF_E)) {
			buf_addf(&c->out, "set \"pmc_prev%d\" \"${pmc_i%d}\";\n",
			    d, d);
			ch->prev_ok = 1;
		} else {
			buf_addf(&c->out, "if string :is \"${pmc_i%d}\" \"1\" "
			    "{ set \"pmc_prev%d\" \"1\"; }\n", d, d);
		}
		indent(&c->out, depth);
		buf_addf(&c->out, "if string :is \"${pmc_i%d}\" \"1\" {\n", d);
	} else if (ntests == 0) {
		/* No condition: the actions at this level, no block. */
		buf_reset(&a);
		if (action_cmds(c, n, depth, &a, &why) == -1)
			goto bad;	/* cannot happen: it worked above */
		if (a.data != NULL)
			buf_adds(&c->out, a.data);
		if (n->action == PMA_NEST)
			conv_list(c, n->children, depth);
		ch->seen = 1;
		goto out;
	} else {
		open_if(&c->out, depth, t.data, ntests);
	}
	if (a.data != NULL)
		buf_adds(&c->out, a.data);
	if (n->action == PMA_NEST)
		conv_list(c, n->children, depth + 1);
	indent(&c->out, depth);
	buf_adds(&c->out, "}\n");
	ch->seen = 1;
out:
	buf_free(&t);
	buf_free(&a);
	return;
bad:
	untranslated(c, n, depth, why ? why : "unsupported");
	/* What depends on this recipe's outcome cannot be translated. */
	if (!(n->flags & PMF_A))
		ch->last_ok = 0;
	if (!(n->flags & PMF_E))
		ch->prev_ok = 0;
	ch->seen = 1;
	buf_free(&t);
	buf_free(&a);
}

static void
conv_assign(struct cv *c, const struct pm_node *n, int depth)
{
	struct buf val = BUF_INIT, s = BUF_INIT;
	const char *why = NULL, *name = n->name ? n->name : "";
	struct cv_var *v;

	if (harmless_setting(name)) {
		indent(&c->out, depth);
		buf_addf(&c->out, "# %s:%d: %s: a procmail setting with no "
		    "effect on where mail goes\n", n->file ? n->file : "",
		    n->line, name);
		goto out;
	}
	if (strcmp(name, "MAILDIR") == 0 || strcmp(name, "DEFAULT") == 0) {
		struct cv_var *md = var_find(c, "MAILDIR");

		if (depth > 0) {
			why = "MAILDIR or DEFAULT set inside a block";
			goto bad;
		}
		if (expand_value(c, n->value, &val, &why) == -1)
			goto bad;
		if (strchr(val.data, CV_VREF) != NULL) {
			why = "MAILDIR or DEFAULT from a run-time variable";
			goto bad;
		}
		v = var_get(c, name);
		if (v == NULL) {
			why = "too many variables";
			goto bad;
		}
		if (name[0] == 'M') {
			/* relative to the current MAILDIR, as chdir() */
			resolve(md && md->val ? md->val : CV_HOME, val.data,
			    &s);
			var_set(v, s.data, 0);
		} else {
			var_set(v, val.data, 0);
		}
		indent(&c->out, depth);
		buf_addf(&c->out, "# %s:%d: %s=%s (used for folder names)\n",
		    n->file ? n->file : "", n->line, name,
		    n->value ? n->value : "");
		goto out;
	}
	if (special_var(name) || var_case_clash(c, name)) {
		why = "a variable with a meaning to procmail (or one that "
		    "differs from another only in case)";
		goto bad;
	}
	if (expand_value(c, n->value, &val, &why) == -1)
		goto bad;
	if ((v = var_get(c, name)) == NULL) {
		why = "too many variables";
		goto bad;
	}
	if (strchr(val.data, CV_HOME[0]) != NULL) {
		/* A path: known to the converter, not to Sieve. */
		if (depth > 0) {
			why = "a path variable set inside a block";
			goto bad;
		}
		var_set(v, val.data, 0);
		v->sieve = 0;
		indent(&c->out, depth);
		buf_addf(&c->out, "# %s:%d: %s=%s (used for folder names)\n",
		    n->file ? n->file : "", n->line, name,
		    n->value ? n->value : "");
		goto out;
	}
	indent(&s, depth);
	buf_addf(&s, "set \"%s\" ", name);
	if (sieve_str(c, &s, val.data) == -1) {
		why = "a value that cannot be a Sieve string";
		goto bad;
	}
	buf_adds(&s, ";\n");
	buf_adds(&c->out, s.data);
	c->req |= REQ_VARIABLES;
	if (strchr(val.data, CV_VREF) == NULL) {
		v->safe &= folder_safe(val.data);
	} else {
		const char *p;

		for (p = val.data; *p != '\0'; p++)
			if (*p == CV_VREF) {
				long idx = strtol(p + 1, (char **)&p, 10);

				if (idx < 0 || (size_t)idx >= c->nvars ||
				    !c->vars[idx].safe)
					v->safe = 0;
			} else if (!folder_char((unsigned char)*p)) {
				v->safe = 0;
			}
	}
	var_set(v, val.data, depth > 0 || strchr(val.data, CV_VREF) != NULL ||
	    v->dynamic);
	v->sieve = 1;
	goto out;
bad:
	untranslated(c, n, depth, why ? why : "unsupported");
	/* Its value is unknown from here on. */
	if (!special_var(name) && (v = var_get(c, name)) != NULL) {
		var_set(v, NULL, 1);
		v->sieve = 0;
	} else if ((!strcmp(name, "MAILDIR") || !strcmp(name, "DEFAULT")) &&
	    (v = var_get(c, name)) != NULL) {
		var_set(v, NULL, 1);
	}
out:
	buf_free(&val);
	buf_free(&s);
}

static void
conv_list(struct cv *c, const struct pm_node *n, int depth)
{
	struct chain ch = { 0, 1, 1, 0 };

	if (c->level > CV_MAX_DEPTH)
		return;
	c->level++;
	for (; n != NULL; n = n->next) {
		if (n->kind == PM_ASSIGN) {
			conv_assign(c, n, depth);
		} else {
			ch.on = needs_state(n);
			conv_recipe(c, n, depth, &ch);
		}
	}
	c->level--;
}

/* Falling off the end: procmail delivers to $DEFAULT. */
static void
conv_default(struct cv *c, const struct pm_file *f)
{
	struct cv_var *v = var_find(c, "DEFAULT");
	struct buf name = BUF_INIT;
	const char *why = NULL;
	enum folder_kind k;

	if (v == NULL || (!v->dynamic && v->val == NULL))
		goto out;	/* unset: sluice stores into INBOX */
	if (v->dynamic) {
		why = "DEFAULT is known only at run time";
		goto bad;
	}
	k = folder_kind(c, v->val, &name, &why);
	switch (k) {
	case FK_INBOX:
		break;
	case FK_DISCARD:
		buf_adds(&c->out, "# the end: DEFAULT is /dev/null\ndiscard;\n");
		break;
	case FK_FOLDER:
		c->req |= REQ_FILEINTO | REQ_MAILBOX;
		buf_adds(&c->out, "# the end: DEFAULT\nfileinto :create ");
		if (sieve_str(c, &c->out, name.data) == -1) {
			why = "DEFAULT cannot be a Sieve string";
			goto bad;
		}
		buf_adds(&c->out, ";\n");
		break;
	case FK_BAD:
		goto bad;
	}
	goto out;
bad:
	buf_addf(&c->out, "# sluice convert: cannot translate (%s): the "
	    "default delivery: %s\n", f->path ? f->path : "", why);
	c->bad++;
out:
	buf_free(&name);
}

int
pm_convert(const struct pm_file *f, const struct pm_convert_opts *o,
    struct buf *out)
{
	static const struct pm_convert_opts none = { 0 };
	struct cv *c = xcalloc(1, sizeof *c);
	size_t i;
	int bad, first = 1;

	c->o = o ? o : &none;
	/* As sluice deliver runs a .procmailrc (and Postfix's usual
	 * "procmail DEFAULT=$HOME/Maildir/ MAILDIR=$HOME/Maildir"): MAILDIR
	 * starts as the Maildir, DEFAULT as its INBOX. */
	var_set(var_get(c, "MAILDIR"), CV_ROOT, 0);
	var_set(var_get(c, "DEFAULT"), CV_ROOT "/", 0);
	conv_list(c, f->nodes, 0);
	conv_default(c, f);

	buf_addf(out, "# Sieve translation of %s by sluice convert.\n",
	    f->path ? f->path : "(procmailrc)");
	buf_adds(out, "# Folders: ~/Maildir/ is INBOX, ~/Maildir/.NAME/ is "
	    "\"NAME\" (see sluice-procmailrc(7)).\n");
	if (c->bad > 0)
		buf_addf(out, "# %d part%s could not be translated: look for "
		    "\"sluice convert: cannot translate\".\n", c->bad,
		    c->bad == 1 ? "" : "s");
	if (c->req & (REQ_PIPE | REQ_FILTER))
		buf_adds(out, "# Programs: needs sieve_extensions = "
		    "+vnd.dovecot.pipe +vnd.dovecot.filter and the programs in\n"
		    "# sieve_pipe_bin_dir / sieve_filter_bin_dir "
		    "(sluice.conf(5)); pipe sends CRLF line ends.\n");
	if (c->req != 0) {
		buf_adds(out, "require [");
		for (i = 0; i < sizeof req_names / sizeof req_names[0]; i++)
			if (c->req & (1u << i)) {
				buf_addf(out, "%s\"%s\"", first ? "" : ", ",
				    req_names[i]);
				first = 0;
			}
		buf_adds(out, "];\n");
	}
	buf_adds(out, "\n");
	if (c->out.data != NULL)
		buf_adds(out, c->out.data);
	bad = c->bad;
	for (i = 0; i < c->nvars; i++) {
		free(c->vars[i].name);
		free(c->vars[i].val);
	}
	buf_free(&c->out);
	free(c);
	return bad;
}
