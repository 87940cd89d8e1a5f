/*
 * addr.c - RFC 5322 3.4 address lists, with the obsolete syntax of 4.4
 * (routes, obs-local-part, empty list elements) and what real mail adds
 * (unbalanced quotes and brackets, raw 8-bit, RFC 2047 in names).
 *
 * Two steps: a tokenizer that drops comments and unquotes strings, then a
 * parser over the tokens that never backtracks. Never fails: garbage is
 * skipped up to the next ",".
 */
#include <string.h>

#include "lib/limits.h"
#include "msg.h"

enum tok_type { T_ATOM, T_QSTR, T_DLIT, T_SPECIAL };

struct tok {
	enum tok_type type;
	const char *p;		/* atom/special: raw; qstr/dlit: unquoted */
	size_t len;
	int c;			/* the special character */
};

struct toks {
	struct tok *t;
	size_t n;
};

/* RFC 5322 3.2.3: atext, plus "." (dot-atom) and 8-bit (RFC 6532). */
static int
is_atext(unsigned char c)
{
	return c > ' ' && c != 0x7f && strchr("()<>[]:;@\\,.\"", c) == NULL;
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copy a quoted-string or domain-literal body, unescaping quoted-pairs;
 * an unterminated one runs to the end. Returns the index after it. With
 * t NULL only finds the end. */
static size_t
unquote(struct arena *a, const char *p, size_t len, size_t i, int close,
    struct tok *t)
{
	size_t end, n = 0;
	char *out;

	for (end = i; end < len && p[end] != close; end++)
		if (p[end] == '\\' && end + 1 < len)
			end++;
	if (end > len)
		end = len;
	if (t == NULL)
		return end < len ? end + 1 : len;
	out = arena_alloc(a, end - i + 1);
	for (; i < end; i++) {
		if (p[i] == '\\' && i + 1 < end)
			i++;
		/* RFC 5322 3.2.4: folding inside quotes is not content. */
		if (p[i] != '\r' && p[i] != '\n')
			out[n++] = p[i];
	}
	out[n] = '\0';
	t->p = out;
	t->len = n;
	return end < len ? end + 1 : len;
}

/*
 * Returns 0, or -1 when comments nest beyond ADDR_MAX_DEPTH: the rest of
 * the value is then ignored. With ts->t NULL only counts the tokens, so
 * that the array is sized to them and not to the bytes of the value.
 */
static int
tokenize(struct arena *a, struct span v, struct toks *ts)
{
	const char *p = v.p;
	size_t i = 0, len = v.len;
	int depth;
	struct tok *t, scratch;
	int count = ts->t == NULL;

	ts->n = 0;
	while (i < len) {
		unsigned char c = (unsigned char)p[i];

		if (is_space(c) || c == '\0') {
			i++;
			continue;
		}
		if (c == '(') {
			/* RFC 5322 3.2.2: comments nest. */
			depth = 0;
			for (; i < len; i++) {
				if (p[i] == '\\' && i + 1 < len)
					i++;
				else if (p[i] == '(') {
					if (++depth > ADDR_MAX_DEPTH)
						return -1;
				} else if (p[i] == ')' && --depth == 0)
					break;
			}
			i++;
			continue;
		}
		t = count ? &scratch : &ts->t[ts->n];
		ts->n++;
		t->c = 0;
		if (c == '"') {
			t->type = T_QSTR;
			i = unquote(a, p, len, i + 1, '"', count ? NULL : t);
		} else if (c == '[') {
			t->type = T_DLIT;
			i = unquote(a, p, len, i + 1, ']', count ? NULL : t);
		} else if (is_atext(c)) {
			t->type = T_ATOM;
			t->p = p + i;
			while (i < len && is_atext((unsigned char)p[i]))
				i++;
			t->len = (size_t)(p + i - t->p);
		} else {
			t->type = T_SPECIAL;
			t->p = p + i;
			t->len = 1;
			t->c = c;
			i++;
		}
	}
	return 0;
}

struct parser {
	struct arena *a;
	struct toks ts;
	size_t i;
	struct addr *out;
	size_t n;
	char *group;
};

static int
is_special(const struct parser *ps, size_t i, int c)
{
	return i < ps->ts.n && ps->ts.t[i].type == T_SPECIAL &&
	    ps->ts.t[i].c == c;
}

/* Ends of a mailbox: "," always, ";" inside a group. */
static int
at_stop(const struct parser *ps, size_t i)
{
	return i >= ps->ts.n || is_special(ps, i, ',') ||
	    (ps->group != NULL && is_special(ps, i, ';'));
}

/*
 * phrase = 1*word / obs-phrase (words and "."s). Joined with single
 * spaces, then RFC 2047 decoded (also inside quotes: not RFC, but what
 * mail clients do) and made valid UTF-8. NULL when empty.
 */
static char *
phrase(struct parser *ps, size_t from, size_t to)
{
	struct buf raw = BUF_INIT, dec = BUF_INIT, utf = BUF_INIT;
	size_t i;
	char *out;

	for (i = from; i < to; i++) {
		const struct tok *t = &ps->ts.t[i];

		if (t->type == T_SPECIAL && t->c != '.')
			continue;
		if (raw.len > 0 && !(t->type == T_SPECIAL))
			buf_addc(&raw, ' ');
		buf_add(&raw, t->p, t->len);
	}
	if (raw.len == 0 && (from == to || ps->ts.t[from].type != T_QSTR)) {
		buf_free(&raw);
		return NULL;
	}
	rfc2047_decode(&dec, raw.len ? raw.data : "", raw.len);
	charset_to_utf8(&utf, "utf-8", dec.len ? dec.data : "", dec.len);
	out = arena_strndup(ps->a, utf.len ? utf.data : "", utf.len);
	buf_free(&raw);
	buf_free(&dec);
	buf_free(&utf);
	return out;
}

/*
 * local-part = dot-atom / quoted-string / obs-local-part: the words of
 * [from, to) joined by their dots; words without a dot between them
 * (obs-phrase used as a local part) get a space.
 */
static char *
join_local(struct parser *ps, size_t from, size_t to)
{
	struct buf b = BUF_INIT;
	size_t i;
	int prev_word = 0;
	char *out;

	for (i = from; i < to; i++) {
		const struct tok *t = &ps->ts.t[i];

		if (t->type == T_SPECIAL) {
			/* "." and, in broken mail, "@" or worse: as written */
			if (t->c != '<' && t->c != '>')
				buf_addc(&b, t->c);
			prev_word = 0;
			continue;
		}
		if (prev_word)
			buf_addc(&b, ' ');
		buf_add(&b, t->p, t->len);
		prev_word = 1;
	}
	out = arena_strndup(ps->a, b.len ? b.data : "", b.len);
	buf_free(&b);
	return out;
}

/* domain = dot-atom / domain-literal / obs-domain; "[...]" kept. */
static char *
join_domain(struct parser *ps, size_t from, size_t to)
{
	struct buf b = BUF_INIT;
	size_t i;
	char *out;

	for (i = from; i < to; i++) {
		const struct tok *t = &ps->ts.t[i];

		if (t->type == T_DLIT) {
			buf_addc(&b, '[');
			buf_add(&b, t->p, t->len);
			buf_addc(&b, ']');
		} else if (t->type != T_SPECIAL || t->c == '.') {
			buf_add(&b, t->p, t->len);
		}
	}
	if (b.len == 0) {
		buf_free(&b);
		return NULL;	/* "user@": a missing domain */
	}
	out = arena_strndup(ps->a, b.data, b.len);
	buf_free(&b);
	return out;
}

static void
emit(struct parser *ps, char *name, char *local, char *domain, char *route)
{
	struct addr *ad;

	if (ps->n >= ADDR_MAX_ADDRS)
		return;
	ad = &ps->out[ps->n++];
	ad->name = name;
	ad->local = local;
	ad->domain = domain;
	ad->group = ps->group;
	ad->route = route;
}

/* addr-spec = local-part "@" domain, over [from, to): the local part is
 * what precedes the last "@" (an unquoted "@" in it is mail gone bad). */
static void
addr_spec(struct parser *ps, char *name, size_t from, size_t to,
    char *route)
{
	size_t at = to, i;

	for (i = from; i < to; i++)
		if (is_special(ps, i, '@'))
			at = i;
	if (at == to) {
		emit(ps, name, join_local(ps, from, to), NULL, route);
		return;
	}
	emit(ps, name, join_local(ps, from, at),
	    join_domain(ps, at + 1, to), route);
}

/*
 * mailbox = name-addr / addr-spec
 * name-addr = [display-name] angle-addr
 * angle-addr = "<" [obs-route] addr-spec ">"
 * obs-route = obs-domain-list ":"
 */
static void
mailbox(struct parser *ps)
{
	size_t start = ps->i, i, lt, r0, colon, end;
	char *name, *route = NULL;

	for (i = start; !at_stop(ps, i) && !is_special(ps, i, '<'); i++)
		;
	if (!is_special(ps, i, '<')) {
		/* A bare addr-spec (or a lone word: no domain). */
		if (i > start)
			addr_spec(ps, NULL, start, i, NULL);
		ps->i = i;
		return;
	}
	lt = i;
	name = phrase(ps, start, lt);
	r0 = lt + 1;
	/* obs-route: "@a,@b:" - its "," does not end the mailbox. */
	colon = 0;
	if (is_special(ps, r0, '@')) {
		for (i = r0; i < ps->ts.n && !is_special(ps, i, '>') &&
		    !is_special(ps, i, ';') && !is_special(ps, i, '<'); i++) {
			if (is_special(ps, i, ':')) {
				colon = i;
				break;
			}
		}
	}
	if (colon) {
		struct buf b = BUF_INIT;

		for (i = r0; i < colon; i++) {
			const struct tok *t = &ps->ts.t[i];

			if (t->type == T_DLIT)
				buf_addc(&b, '[');
			buf_add(&b, t->p, t->len);
			if (t->type == T_DLIT)
				buf_addc(&b, ']');
		}
		route = arena_strndup(ps->a, b.len ? b.data : "", b.len);
		buf_free(&b);
		r0 = colon + 1;
	}
	/* A missing ">" ends the address at the next "," or the end. */
	for (end = r0; !at_stop(ps, end) && !is_special(ps, end, '>'); end++)
		;
	addr_spec(ps, name, r0, end, route);
	ps->i = end;
}

/* Skip what is left of an element up to its end. */
static void
skip_to_stop(struct parser *ps)
{
	while (!at_stop(ps, ps->i))
		ps->i++;
}

/* Does a group start here ("phrase:" before any "<", "@" or ",")? */
static size_t
group_colon(struct parser *ps)
{
	size_t i;

	for (i = ps->i; i < ps->ts.n; i++) {
		const struct tok *t = &ps->ts.t[i];

		if (t->type != T_SPECIAL || t->c == '.')
			continue;
		return t->c == ':' ? i : 0;
	}
	return 0;
}

size_t
addr_parse_list(struct arena *a, struct span value, struct addr **out)
{
	struct parser ps;
	size_t colon;

	memset(&ps, 0, sizeof(ps));
	ps.a = a;
	*out = NULL;
	/* Comments nested too deep: what precedes them still counts. */
	ps.ts.t = NULL;
	(void)tokenize(a, value, &ps.ts);
	ps.ts.t = arena_allocarray(a, ps.ts.n ? ps.ts.n : 1, sizeof(*ps.ts.t));
	(void)tokenize(a, value, &ps.ts);
	ps.out = arena_allocarray(a, ps.ts.n < ADDR_MAX_ADDRS ?
	    ps.ts.n + 1 : ADDR_MAX_ADDRS, sizeof(*ps.out));

	/* address-list = (address *("," address)) / obs-addr-list */
	while (ps.i < ps.ts.n && ps.n < ADDR_MAX_ADDRS) {
		if (is_special(&ps, ps.i, ',') || is_special(&ps, ps.i, ';') ||
		    is_special(&ps, ps.i, '>')) {
			ps.i++;		/* empty element or stray */
			continue;
		}
		if ((colon = group_colon(&ps)) > ps.i ||
		    (colon == ps.i && is_special(&ps, ps.i, ':'))) {
			/* group = display-name ":" [group-list] ";" */
			char *g = phrase(&ps, ps.i, colon);

			ps.group = g != NULL ? g : arena_strdup(a, "");
			ps.i = colon + 1;
			while (ps.i < ps.ts.n && !is_special(&ps, ps.i, ';') &&
			    ps.n < ADDR_MAX_ADDRS) {
				if (is_special(&ps, ps.i, ',') ||
				    is_special(&ps, ps.i, '>') ||
				    is_special(&ps, ps.i, ':')) {
					ps.i++;
					continue;
				}
				mailbox(&ps);
				skip_to_stop(&ps);
			}
			ps.group = NULL;
			ps.i++;
			continue;
		}
		mailbox(&ps);
		skip_to_stop(&ps);
	}
	*out = ps.out;
	return ps.n;
}
