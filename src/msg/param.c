/*
 * param.c - Content-Type / Content-Disposition values with their
 * parameters: RFC 2045 5.1 (token or quoted-string values, comments),
 * RFC 2231 (continuations, charsets and languages).
 *
 * Never fails: what does not parse is skipped. Sections are collected
 * first and joined afterwards, so they may come in any order; missing
 * sections are skipped over.
 */
#include <string.h>
#include <strings.h>

#include "lib/limits.h"
#include "msg.h"


struct raw_param {
	const char *name;	/* without "*N" / "*" */
	size_t namelen;
	int section;		/* -1: not a continuation */
	int ext;		/* "*" form: charset'lang'%XX */
	char *value;		/* unquoted */
	size_t valuelen;
};

struct cursor {
	const char *p;
	size_t len, i;
};

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 2045 5.1: token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or
 * tspecials>; 8-bit bytes are tolerated, as mailers send them. */
static int
is_token(unsigned char c)
{
	return c > ' ' && c != 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 5322 3.2.2: CFWS, comments nest (bounded). */
static void
skip_cfws(struct cursor *c)
{
	int depth;

	while (c->i < c->len) {
		if (is_space((unsigned char)c->p[c->i])) {
			c->i++;
			continue;
		}
		if (c->p[c->i] != '(')
			return;
		depth = 0;
		for (; c->i < c->len; c->i++) {
			if (c->p[c->i] == '\\' && c->i + 1 < c->len)
				c->i++;
			else if (c->p[c->i] == '(')
				depth++;
			else if (c->p[c->i] == ')' && --depth == 0) {
				c->i++;
				break;
			}
		}
	}
}

static char *
lower_dup(struct arena *a, const char *p, size_t n)
{
	char *s = arena_strndup(a, p, n);
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] += 32;
	return s;
}

/* quoted-string (RFC 5322 3.2.4); an unterminated one runs to the end. */
static char *
quoted(struct arena *a, struct cursor *c, size_t *len_out)
{
	size_t n = 0, end;
	char *out;

	/* Find the end first: the copy is sized to the string, not to the
	 * rest of the value. */
	for (end = c->i + 1; end < c->len && c->p[end] != '"'; end++)
		if (c->p[end] == '\\' && end + 1 < c->len)
			end++;
	out = arena_alloc(a, end - c->i);
	c->i++;
	while (c->i < end) {
		if (c->p[c->i] == '\\' && c->i + 1 < end)
			c->i++;
		/* Folding inside the quotes is not content. */
		if (c->p[c->i] != '\r' && c->p[c->i] != '\n')
			out[n++] = c->p[c->i];
		c->i++;
	}
	if (c->i < c->len)
		c->i++;
	out[n] = '\0';
	*len_out = n;
	return out;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 2231 4: %XX octets; a bad escape is kept as written. */
static void
pct_decode(struct buf *b, const char *p, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (p[i] == '%' && i + 2 < n &&
		    (hi = hexval((unsigned char)p[i + 1])) != -1 &&
		    (lo = hexval((unsigned char)p[i + 2])) != -1) {
			buf_addc(b, hi << 4 | lo);
			i += 2;
		} else {
			buf_addc(b, p[i]);
		}
	}
}

/* Join the sections of raw[first]'s name into one UTF-8 value. */
static char *
join(struct arena *a, struct raw_param *raw, size_t nraw, size_t first)
{
	struct raw_param *sec[MSG_MAX_PARAM_SECTIONS];
	struct buf bytes = BUF_INIT, utf = BUF_INIT;
	char cs[64] = "";
	size_t i, k;
	const char *v, *q;
	char *out;
	int any_ext = 0;

	memset(sec, 0, sizeof(sec));
	for (i = first; i < nraw; i++) {
		if (!mem_ieq(raw[i].name, raw[i].namelen, raw[first].name,
		    raw[first].namelen) || raw[i].section < 0)
			continue;
		if (sec[raw[i].section] == NULL)
			sec[raw[i].section] = &raw[i];
	}
	for (k = 0; k < MSG_MAX_PARAM_SECTIONS; k++) {
		if (sec[k] == NULL)
			continue;	/* a missing section: join the rest */
		v = sec[k]->value;
		if (sec[k]->ext) {
			any_ext = 1;
			/* RFC 2231 4: only the first section carries
			 * charset'language'. */
			if (k == 0 && (q = memchr(v, '\'', sec[k]->valuelen))
			    != NULL) {
				const char *q2 = memchr(q + 1, '\'',
				    sec[k]->valuelen - (size_t)(q - v) - 1);

				if (q2 != NULL) {
					if ((size_t)(q - v) < sizeof(cs)) {
						memcpy(cs, v, (size_t)(q - v));
						cs[q - v] = '\0';
					}
					pct_decode(&bytes, q2 + 1, sec[k]->valuelen -
					    (size_t)(q2 + 1 - v));
					continue;
				}
			}
			pct_decode(&bytes, v, sec[k]->valuelen);
		} else {
			buf_add(&bytes, v, sec[k]->valuelen);
		}
	}
	if (any_ext && cs[0] != '\0')
		charset_to_utf8(&utf, cs, bytes.len ? bytes.data : "",
		    bytes.len);
	else
		charset_to_utf8(&utf, "utf-8", bytes.data ? bytes.data : "",
		    bytes.len);
	out = arena_strndup(a, utf.len ? utf.data : "", utf.len);
	buf_free(&bytes);
	buf_free(&utf);
	return out;
}

/* A plain value: RFC 2047 words inside are not RFC but common. */
static char *
plain(struct arena *a, const struct raw_param *r)
{
	struct buf dec = BUF_INIT, utf = BUF_INIT;
	char *out;

	rfc2047_decode(&dec, r->value, r->valuelen);
	charset_to_utf8(&utf, "utf-8", dec.len ? dec.data : "", dec.len);
	out = arena_strndup(a, utf.len ? utf.data : "", utf.len);
	buf_free(&dec);
	buf_free(&utf);
	return out;
}

void
mime_ctype_parse(struct arena *a, struct span value, struct mime_ctype *out)
{
	struct raw_param raw[MSG_MAX_PARAM_RAW];
	struct cursor c = { value.p, value.len, 0 };
	struct buf v = BUF_INIT;
	size_t nraw = 0, i, j, start, n;
	int dup;

	out->value = NULL;
	out->params = NULL;
	out->nparams = 0;

	/* type "/" subtype, or a disposition token; CFWS around "/". */
	skip_cfws(&c);
	while (c.i < c.len && c.p[c.i] != ';') {
		if (is_space((unsigned char)c.p[c.i]) || c.p[c.i] == '(') {
			skip_cfws(&c);
			continue;
		}
		if (!is_token((unsigned char)c.p[c.i]) && c.p[c.i] != '/')
			break;
		buf_addc(&v, c.p[c.i++]);
	}
	out->value = lower_dup(a, v.len ? v.data : "", v.len);
	buf_free(&v);

	/* *(";" parameter), parameter := attribute "=" value */
	while (c.i < c.len) {
		struct raw_param *r;
		const char *star;

		/* Resynchronise at the next ";" after garbage. */
		while (c.i < c.len && c.p[c.i] != ';')
			c.i++;
		if (c.i >= c.len)
			break;
		c.i++;
		skip_cfws(&c);
		start = c.i;
		while (c.i < c.len && is_token((unsigned char)c.p[c.i]))
			c.i++;
		n = c.i - start;
		skip_cfws(&c);
		if (n == 0 || c.i >= c.len || c.p[c.i] != '=')
			continue;
		c.i++;
		skip_cfws(&c);
		if (nraw == MSG_MAX_PARAM_RAW)
			break;
		r = &raw[nraw];
		r->name = c.p + start;
		r->namelen = n;
		r->section = -1;
		r->ext = 0;
		if (c.i < c.len && c.p[c.i] == '"') {
			r->value = quoted(a, &c, &r->valuelen);
		} else {
			start = c.i;
			while (c.i < c.len && c.p[c.i] != ';' &&
			    !is_space((unsigned char)c.p[c.i]) &&
			    c.p[c.i] != '(')
				c.i++;
			r->valuelen = c.i - start;
			r->value = arena_strndup(a, c.p + start, r->valuelen);
		}
		/* RFC 2231 3, 4: name*, name*N, name*N* */
		if (r->namelen > 1 && r->name[r->namelen - 1] == '*') {
			r->ext = 1;
			r->namelen--;
		}
		if ((star = memchr(r->name, '*', r->namelen)) != NULL) {
			size_t d = (size_t)(star - r->name) + 1;
			long sec = 0;

			if (d == r->namelen)
				continue;	/* "name**" */
			for (; d < r->namelen; d++) {
				if (r->name[d] < '0' || r->name[d] > '9' ||
				    sec >= MSG_MAX_PARAM_SECTIONS)
					break;
				sec = sec * 10 + (r->name[d] - '0');
			}
			/* Not digits, or a section beyond the limit. */
			if (d != r->namelen || sec >= MSG_MAX_PARAM_SECTIONS)
				continue;
			r->section = (int)sec;
			r->namelen = (size_t)(star - r->name);
		} else if (r->ext) {
			/* name*=: an extended value in one section. */
			r->section = 0;
		}
		if (r->namelen == 0)
			continue;
		nraw++;
	}

	out->params = arena_allocarray(a, nraw ? nraw : 1,
	    sizeof(*out->params));
	for (i = 0; i < nraw && out->nparams < MSG_MAX_PARAMS; i++) {
		struct mime_param *mp;
		size_t first = i;

		dup = 0;
		for (j = 0; j < out->nparams; j++)
			if (mem_ieq(out->params[j].name,
			    strlen(out->params[j].name), raw[i].name,
			    raw[i].namelen))
				dup = 1;
		if (dup)
			continue;	/* the first occurrence wins */
		/* RFC 2231 parts win over a plain value of the same name. */
		for (j = i; j < nraw && raw[first].section < 0; j++)
			if (raw[j].section >= 0 && mem_ieq(raw[j].name,
			    raw[j].namelen, raw[i].name, raw[i].namelen))
				first = j;
		mp = &out->params[out->nparams++];
		mp->name = lower_dup(a, raw[i].name, raw[i].namelen);
		mp->value = raw[first].section < 0 ? plain(a, &raw[first]) :
		    join(a, raw, nraw, first);
	}
}

const char *
mime_param(const struct mime_ctype *ct, const char *name)
{
	size_t i;

	for (i = 0; i < ct->nparams; i++)
		if (strcasecmp(ct->params[i].name, name) == 0)
			return ct->params[i].value;
	return NULL;
}
