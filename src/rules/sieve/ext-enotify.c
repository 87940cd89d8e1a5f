/*
 * ext-enotify.c - RFC 5435 "enotify" with the RFC 5436 "mailto" method:
 *
 *	notify [:from s] [:importance "1"|"2"|"3"] [:options l]
 *	    [:message s] method
 *	valid_notify_method l
 *	notify_method_capability [comparator] [match-type] uri cap keys
 *	set :encodeurl (RFC 5435 6, precedence 15; variables.c applies it)
 *
 * Only mailto is supported (as in Pigeonhole's default build). A mailto
 * URI (RFC 6068) is checked at compile time when constant and at run time
 * otherwise: at least one recipient (path or to=), at most 8, each a
 * plain addr-spec, well-formed %-escapes and header names. The action
 * (ACT_NOTIFY, action.h) carries the URI in arg, :message in value and
 * subject (Pigeonhole: :message is the Subject, winning over the URI's
 * subject=), :from in from, importance in index (default 2), and the
 * recipients (to= and cc=, comma-separated) in to for listing. A notify
 * whose recipients were all notified by an earlier one is dropped
 * (RFC 5435 3.9 leaves it to the method; Pigeonhole's mailto does this).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve-int.h"

#define MAILTO_MAX_RCPT		8	/* Pigeonhole's */
#define MAILTO_MAX_HEADERS	16	/* Pigeonhole's */

enum { NT_FROM = 1, NT_IMPORTANCE, NT_OPTIONS, NT_MESSAGE };

static const struct sv_tag notify_tags[] = {
	{ "from", SV_P_STR, SV_G_OWN, NT_FROM },
	{ "importance", SV_P_STR, SV_G_OWN, NT_IMPORTANCE },
	{ "options", SV_P_LIST, SV_G_OWN, NT_OPTIONS },
	{ "message", SV_P_STR, SV_G_OWN, NT_MESSAGE },
	{ NULL, 0, 0, 0 },
};

/* ---- RFC 5435 6: :encodeurl ---- */

void
sv_encodeurl(struct buf *b)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf o = BUF_INIT;
	size_t i;

	for (i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		/* RFC 3986 2.3 unreserved */
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			buf_addc(&o, c);
		} else {
			buf_addc(&o, '%');
			buf_addc(&o, hex[c >> 4]);
			buf_addc(&o, hex[c & 15]);
		}
	}
	buf_free(b);
	*b = o;
	if (b->data == NULL)
		buf_adds(b, "");
}

/* ---- mailto (RFC 6068) ---- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode p[0..len) into out; -1 on a bad escape or NUL. */
static int
pct_decode(struct buf *out, const char *p, size_t len)
{
	size_t i;

	buf_reset(out);
	for (i = 0; i < len; i++) {
		if (p[i] == '%') {
			int h, l;

			if (i + 2 >= len)
				return -1;
			h = hexval(p[i + 1]);
			l = hexval(p[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
				return -1;
			buf_addc(out, h * 16 + l);
			i += 2;
		} else {
			buf_addc(out, p[i]);
		}
	}
	buf_addc(out, '\0');
	out->len--;
	return 0;
}

/* A plain addr-spec (local@domain): no spaces, controls or specials. */
static int
addr_spec_ok(const char *a, size_t n)
{
	const char *at = memchr(a, '@', n);
	size_t i;

	if (n == 0 || n > 998 || at == NULL || at == a || at == a + n - 1 ||
	    memchr(at + 1, '@', (size_t)(a + n - at - 1)) != NULL)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c <= 32 || c == 127 || c == '<' || c == '>' || c == ',' ||
		    c == ';' || c == '(' || c == ')' || c == '\\' || c == '"' ||
		    c == ':' || c == '[' || c == ']')
			return 0;
	}
	return 1;
}

struct mailto {
	char *rcpt[MAILTO_MAX_RCPT];
	size_t nrcpt;
	char *subject;		/* decoded subject=, or NULL */
};

static void
mailto_free(struct mailto *m)
{
	size_t i;

	for (i = 0; i < m->nrcpt; i++)
		free(m->rcpt[i]);
	free(m->subject);
	memset(m, 0, sizeof *m);
}

/* Add the comma-separated decoded list v; NULL or an error text. */
static const char *
add_rcpts(struct mailto *m, const char *v)
{
	while (*v != '\0') {
		size_t n = strcspn(v, ","), s = 0, e = n;

		while (s < e && (v[s] == ' ' || v[s] == '\t'))
			s++;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s) {
			if (!addr_spec_ok(v + s, e - s))
				return "invalid recipient address";
			if (m->nrcpt >= MAILTO_MAX_RCPT)
				return "too many recipients";
			m->rcpt[m->nrcpt++] = xstrndup(v + s, e - s);
		}
		v += n;
		if (*v == ',')
			v++;
	}
	return NULL;
}

/*
 * Parse uri as mailto (RFC 6068 2). NULL and m filled, or the reason it
 * is invalid ("unsupported" for another scheme).
 */
static const char *
mailto_parse(const char *uri, struct mailto *m)
{
	const char *p, *q, *why = NULL;
	struct buf d = BUF_INIT;
	size_t nh = 0, i, n;

	memset(m, 0, sizeof m[0]);
	n = strcspn(uri, ":");
	if (uri[n] != ':' || n == 0)
		return "invalid URI";
	for (i = 0; i < n; i++)
		if (!((uri[i] >= 'a' && uri[i] <= 'z') || (uri[i] >= 'A' &&
		    uri[i] <= 'Z') || (i > 0 && ((uri[i] >= '0' && uri[i] <=
		    '9') || uri[i] == '+' || uri[i] == '-' || uri[i] == '.'))))
			return "invalid URI scheme";
	if (n != 6 || strncasecmp(uri, "mailto", 6) != 0)
		return "unsupported";
	p = uri + 7;
	q = strchr(p, '?');
	for (i = 0; uri[i] != '\0'; i++)
		if ((unsigned char)uri[i] <= 32 || (unsigned char)uri[i] >= 127)
			return "invalid character in URI";
	if (pct_decode(&d, p, q ? (size_t)(q - p) : strlen(p)) == -1) {
		why = "invalid %-encoding";
		goto out;
	}
	if ((why = add_rcpts(m, d.data)) != NULL)
		goto out;
	while (q != NULL && q[0] != '\0') {
		const char *f = q + 1, *eq, *amp = strchr(f, '&');
		size_t fl = amp ? (size_t)(amp - f) : strlen(f);
		struct buf name = BUF_INIT;

		q = amp;
		if (fl == 0)
			continue;
		if (++nh > MAILTO_MAX_HEADERS) {
			why = "too many header fields";
			goto out;
		}
		if ((eq = memchr(f, '=', fl)) == NULL || eq == f) {
			why = "invalid header field";
			goto out;
		}
		if (pct_decode(&name, f, (size_t)(eq - f)) == -1) {
			buf_free(&name);
			why = "invalid %-encoding";
			goto out;
		}
		for (i = 0; i < name.len; i++)
			if ((unsigned char)name.data[i] <= 32 ||
			    name.data[i] == ':' ||
			    (unsigned char)name.data[i] >= 127) {
				buf_free(&name);
				why = "invalid header field name";
				goto out;
			}
		if (pct_decode(&d, eq + 1, fl - (size_t)(eq - f) - 1) == -1) {
			buf_free(&name);
			why = "invalid %-encoding";
			goto out;
		}
		if (!strcasecmp(name.data, "to") || !strcasecmp(name.data,
		    "cc")) {
			why = add_rcpts(m, d.data);
		} else if (!strcasecmp(name.data, "subject") &&
		    m->subject == NULL) {
			m->subject = xstrdup(d.data);
		}
		/* others (body, bcc, from...): the executor's business,
		 * RFC 5436 2.2 */
		buf_free(&name);
		if (why != NULL)
			goto out;
	}
	if (m->nrcpt == 0)
		why = "no recipients";
out:
	buf_free(&d);
	if (why != NULL)
		mailto_free(m);
	return why;
}

/* ---- notify ---- */

static int
importance_ok(const char *s)
{
	return (s[0] == '1' || s[0] == '2' || s[0] == '3') && s[1] == '\0';
}

static int
notify_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_str *uri = &n->pos_args[0]->v[0];
	const struct sv_tagval *t;
	struct mailto m;
	const char *why;

	if (!uri->vars) {
		if ((why = mailto_parse(uri->s, &m)) != NULL) {
			if (!strcmp(why, "unsupported"))
				sv_verror(v, uri->pos, "notify command: "
				    "invalid method '%s': notification method "
				    "is not supported", uri->s);
			else
				sv_verror(v, uri->pos, "notify command: invalid "
				    "mailto URI '%s': %s", uri->s, why);
			return -1;
		}
		mailto_free(&m);
	}
	/* RFC 5435 3.3 */
	if ((t = sv_node_tag(n, "importance")) != NULL &&
	    !t->param->v[0].vars && !importance_ok(t->param->v[0].s)) {
		sv_verror(v, t->param->pos, "notify command: invalid "
		    ":importance value '%s' (must be \"1\", \"2\" or \"3\")",
		    t->param->v[0].s);
		return -1;
	}
	/* RFC 5436 2.3: :from must be an address */
	if ((t = sv_node_tag(n, "from")) != NULL && !t->param->v[0].vars) {
		const char *f = t->param->v[0].s, *lt = strchr(f, '<'), *gt;

		if (lt != NULL && (gt = strchr(lt, '>')) != NULL ?
		    !addr_spec_ok(lt + 1, (size_t)(gt - lt - 1)) :
		    !addr_spec_ok(f, strlen(f))) {
			sv_verror(v, t->param->pos, "notify command: invalid "
			    ":from address '%s' for mailto method", f);
			return -1;
		}
	}
	return 0;
}

/* 1 when every recipient of m was notified by an earlier notify. */
static int
already_notified(struct sv_rctx *r, const struct mailto *m)
{
	struct action_list *l = r->res.l;
	size_t i, k, j, hit = 0;

	for (k = 0; k < m->nrcpt; k++) {
		int found = 0;

		for (i = r->res.start; i < l->n && !found; i++) {
			struct mailto o;

			if (l->v[i].type != ACT_NOTIFY ||
			    mailto_parse(l->v[i].arg, &o) != NULL)
				continue;
			for (j = 0; j < o.nrcpt && !found; j++)
				found = strcasecmp(o.rcpt[j], m->rcpt[k]) == 0;
			mailto_free(&o);
		}
		hit += found;
	}
	return m->nrcpt > 0 && hit == m->nrcpt;
}

static int
notify_run(struct sv_rctx *r, const struct sv_node *n)
{
	const char *uri = sv_pos_str(r, n, 0), *why, *imp = "2";
	const char *msg = NULL, *from = NULL;
	const struct sv_tagval *t;
	struct action *a;
	struct mailto m;

	if ((why = mailto_parse(uri, &m)) != NULL)
		return sv_rerror(r, n, "notify action: %s '%s'",
		    !strcmp(why, "unsupported") ? "unsupported notification "
		    "method" : why, uri);
	if ((t = sv_node_tag(n, "importance")) != NULL) {
		imp = sv_str_expand(r, &t->param->v[0]);
		if (!importance_ok(imp)) {
			mailto_free(&m);
			return sv_rerror(r, n, "notify action: invalid "
			    ":importance '%s'", imp);
		}
	}
	if ((t = sv_node_tag(n, "message")) != NULL)
		msg = sv_str_expand(r, &t->param->v[0]);
	if ((t = sv_node_tag(n, "from")) != NULL)
		from = sv_str_expand(r, &t->param->v[0]);
	if (already_notified(r, &m)) {
		sv_trace(r, n, "duplicate notification to %s ignored",
		    m.rcpt[0]);
		mailto_free(&m);
		return 0;
	}
	if ((a = sv_action_add(r, n, ACT_NOTIFY, uri, 0)) == NULL) {
		mailto_free(&m);
		return -1;
	}
	{
		/* the recipients, for listing (sieve-test shows them) */
		struct buf to = BUF_INIT;
		size_t i;

		for (i = 0; i < m.nrcpt; i++) {
			if (i > 0)
				buf_addc(&to, ',');
			buf_adds(&to, m.rcpt[i]);
		}
		free(a->to);
		a->to = buf_steal(&to);
	}
	mailto_free(&m);
	if (msg != NULL) {
		a->value = xstrdup(msg);
		a->subject = xstrdup(msg);
	}
	if (from != NULL && from[0] != '\0')
		a->from = xstrdup(from);
	a->index = imp[0] - '0';
	return 0;
}

/* ---- tests ---- */

/* RFC 5435 5.1 */
static int
valid_method_run(struct sv_rctx *r, const struct sv_node *n)
{
	const char **uris;
	size_t i, cnt = sv_pos_list(r, n, 0, &uris);
	struct mailto m;

	for (i = 0; i < cnt; i++) {
		if (mailto_parse(uris[i], &m) != NULL)
			return 0;
		mailto_free(&m);
	}
	return 1;
}

/* RFC 5435 5.2; RFC 5436 2.9: mailto "online" is "maybe". */
static int
capability_run(struct sv_rctx *r, const struct sv_node *n)
{
	const char *uri = sv_pos_str(r, n, 0), *cap = sv_pos_str(r, n, 1);
	struct sv_matcher mt;
	struct mailto m;

	if (mailto_parse(uri, &m) != NULL)
		return 0;
	mailto_free(&m);
	if (strcasecmp(cap, "online") != 0)
		return 0;
	if (sv_match_begin(&mt, r, n, 2) == -1)
		return sv_match_end(&mt);
	(void)sv_match_value(&mt, "maybe", 5);
	return sv_match_end(&mt);
}

static int
capability_validate(struct sv_vctx *v, struct sv_node *n)
{
	return sv_match_validate(v, n, 2);
}

static const struct sv_cmd enotify_cmds[] = {
	{ .name = "notify", .kind = SV_COMMAND, .sig = "s",
	  .tags = notify_tags, .validate = notify_validate, .run = notify_run },
	{ .name = "valid_notify_method", .kind = SV_TEST, .sig = "l",
	  .run = valid_method_run },
	{ .name = "notify_method_capability", .kind = SV_TEST, .sig = "ssl",
	  .tagsets = SV_TS_MATCH | SV_TS_COMPARATOR,
	  .validate = capability_validate, .run = capability_run },
	{ .name = NULL },
};

static const struct sv_tag_add enotify_adds[] = {
	{ "set", { "encodeurl", SV_P_NONE, SV_G_OWN, SV_MOD_ENCODEURL } },
	{ NULL, { NULL, 0, 0, 0 } },
};

const struct sv_ext sv_ext_enotify = {
	.name = "enotify", .cmds = enotify_cmds, .tags = enotify_adds,
};
