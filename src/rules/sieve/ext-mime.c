/*
 * ext-mime.c - RFC 5703: "mime" (the :mime tag and its options on the
 * header, address and exists tests), "foreverypart" (the loop and break)
 * and "extracttext". The replace and enclose actions of RFC 5703 are not
 * implemented (Pigeonhole has none either).
 *
 * Which parts, as Pigeonhole 0.5.19 runs them (checked with sieve-test):
 * - foreverypart visits the message itself first, then every part below
 *   it, depth first, in the order they occur; a nested foreverypart
 *   visits the parts below the outer loop's current part (RFC 5703 3;
 *   Pigeonhole corrupts its binary on nested loops, so that is the RFC's).
 * - header/address/exists :mime look at the current part of the innermost
 *   loop, or at the message's own header outside any loop; :anychild adds
 *   every part below it (RFC 5703 4.1; see "Known differences" below).
 * - :type/:subtype/:contenttype give values only for a Content-Type field
 *   (lower-cased, as parsed); a part without that field has none (no
 *   default text/plain). :param gives each named parameter of the field,
 *   "" when the field lacks it, as Pigeonhole does.
 * - extracttext: the transfer-decoded body of a leaf part (text/ *
 *   converted to UTF-8, text/html reduced to its text), "" for a
 *   multipart; :first counts octets, never cutting a UTF-8 sequence.
 *
 * Known differences: Pigeonhole 0.5.19 never looks below the current part
 * for :anychild (the RFC says it must); we follow the RFC. It refuses
 * "address :mime"; we accept it (RFC 5703 4.2). Variable modifiers on
 * extracttext (":lower" ...) are not supported here.
 *
 * The body is needed: foreverypart/extracttext carry SV_CMD_NEEDS_BODY and
 * a :mime tag marks the script in sv_mime_test_validate(). Without a
 * mapped body only the message header is seen. Limits: the walk is bound
 * by MIME_MAX_PARTS/MIME_MAX_DEPTH (msg.h), loops nest at most
 * SIEVE_MAX_NESTING like every block.
 */
#include <string.h>
#include <strings.h>

#include "sieve-int.h"


enum { MO_TYPE = 1, MO_SUBTYPE, MO_CONTENTTYPE, MO_PARAM, MO_ANYCHILD,
	MO_MIME };

/* ---- compile time: which loop encloses a node ---- */

/* node->data of a foreverypart, of a break (its target loop) and of an
 * extracttext (its loop). */
struct fep_def {
	const char *name;		/* :name, or NULL */
	const struct fep_def *outer;
};

/* Point every extracttext/break/foreverypart below first at def; an
 * inner foreverypart's own validate later re-points its block at itself,
 * so each node ends up with its nearest loop. */
static void
mark_block(struct sv_node *first, const struct fep_def *def, unsigned depth)
{
	struct sv_node *n;

	if (depth > SIEVE_MAX_NESTING)
		return;
	for (n = first; n != NULL; n = n->next) {
		if (n->kind == SV_COMMAND && (!strcasecmp(n->name, "break") ||
		    !strcasecmp(n->name, "extracttext") ||
		    !strcasecmp(n->name, "foreverypart")))
			n->data = (void *)(uintptr_t)def;
		if (n->has_block)
			mark_block(n->block, def, depth + 1);
	}
}

static int
fep_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_tagval *t = sv_node_tag(n, "name");
	struct fep_def *def = arena_alloc(v->arena, sizeof *def);

	def->outer = n->data;
	def->name = t ? t->param->v[0].s : NULL;
	n->data = def;
	mark_block(n->block, def, 0);
	return 0;
}

static int
break_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_tagval *t = sv_node_tag(n, "name");
	const struct fep_def *d = n->data;

	if (d == NULL) {
		sv_verror(v, n->pos, "the break command is not placed inside "
		    "a foreverypart loop");
		return -1;
	}
	if (t != NULL) {
		/* RFC 5703 3.2: the loop of that name, innermost first. */
		while (d != NULL && (d->name == NULL ||
		    strcmp(d->name, t->param->v[0].s) != 0))
			d = d->outer;
		if (d == NULL) {
			sv_verror(v, t->param->pos, "break command: no enclosing "
			    "foreverypart loop is named '%s'",
			    t->param->v[0].s);
			return -1;
		}
	}
	n->data = (void *)(uintptr_t)d;
	return 0;
}

static int
extracttext_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_str *s = &n->pos_args[0]->v[0];

	if (n->data == NULL) {
		sv_verror(v, n->pos, "the extracttext command is not placed "
		    "inside a foreverypart loop");
		return -1;
	}
	if (!sv_vrequired(v, "variables")) {
		sv_verror(v, n->pos, "the extracttext command requires the "
		    "variables extension");
		return -1;
	}
	if (s->vars || !sv_var_name_ok(s->s, s->len)) {
		sv_verror(v, s->pos, "extracttext command: invalid variable "
		    "name '%s'", s->s);
		return -1;
	}
	return 0;
}

/* ---- runtime: the loop stack ---- */

struct fep_state {
	struct mime_part *cur[SIEVE_MAX_NESTING + 1];
	struct mime_part *top[SIEVE_MAX_NESTING + 1];
	size_t depth;
	const struct fep_def *brk;	/* target of a break in progress */
	struct mime_part fake;		/* root when the body is not mapped */
};

static struct fep_state *
fep_state(struct sv_rctx *r)
{
	void **slot = sv_ext_state(r, &sv_ext_foreverypart);

	if (*slot == NULL)
		*slot = arena_zalloc(r->arena, sizeof(struct fep_state));
	return *slot;
}

/* The message's MIME tree (parsed once), or a one-part stand-in holding
 * the header when the body is not mapped. */
static struct mime_part *
mime_root(struct sv_rctx *r)
{
	struct fep_state *st;

	if (r->msg->mime == NULL && r->msg->data != NULL)
		r->msg->mime = mime_parse(r->msg);
	if (r->msg->mime != NULL)
		return r->msg->mime;
	st = fep_state(r);
	memset(&st->fake, 0, sizeof st->fake);
	st->fake.hdrs = r->msg->hdrs;
	st->fake.nhdrs = r->msg->nhdrs;
	return &st->fake;
}

/* 1 when a foreverypart loop is running (ext-extprograms.c: a filter may
 * not replace the message under it). */
int
sv_mime_in_loop(struct sv_rctx *r)
{
	struct fep_state *st = *sv_ext_state(r, &sv_ext_foreverypart);

	return st != NULL && st->depth > 0;
}

/* Pre-order successor of p inside the subtree of top (NULL at its end). */
static struct mime_part *
next_part(struct mime_part *p, const struct mime_part *top)
{
	if (p->children != NULL)
		return p->children;
	while (p != top && p->next == NULL)
		p = p->parent;
	return p == top || p == NULL ? NULL : p->next;
}

static int
fep_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct fep_state *st = fep_state(r);
	struct mime_part *p, *top;
	int v = 0;

	if (st->depth >= SIEVE_MAX_NESTING)
		return sv_rerror(r, n, "foreverypart loops nested too deeply");
	if (st->depth == 0) {
		top = mime_root(r);
		p = top;	/* Pigeonhole: the message itself first */
	} else {
		top = st->cur[st->depth - 1];
		p = top->children;
	}
	st->depth++;
	for (; p != NULL; p = next_part(p, top)) {
		st->cur[st->depth - 1] = p;
		st->top[st->depth - 1] = top;
		if ((v = sv_run_commands(r, n->block)) == 0)
			continue;
		if (v == SV_BREAK && st->brk == n->data) {
			st->brk = NULL;
			v = 0;
		}
		break;
	}
	st->depth--;
	return v;
}

static int
break_run(struct sv_rctx *r, const struct sv_node *n)
{
	fep_state(r)->brk = n->data;
	return SV_BREAK;
}

/* The part the mime tests look at: the innermost loop's, or the root. */
static struct mime_part *
current_part(struct sv_rctx *r)
{
	struct fep_state *st = *sv_ext_state(r, &sv_ext_foreverypart);

	if (st != NULL && st->depth > 0)
		return st->cur[st->depth - 1];
	return mime_root(r);
}

/* ---- extracttext (RFC 5703 7) ---- */

static int
html_entity(const char *p, size_t left, struct buf *out, size_t *used)
{
	static const struct { const char *name; const char *utf8; } ents[] = {
		{ "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" },
		{ "quot;", "\"" }, { "apos;", "'" }, { "nbsp;", " " },
	};
	size_t i;

	for (i = 0; i < sizeof ents / sizeof ents[0]; i++) {
		size_t l = strlen(ents[i].name);

		if (left > l && !strncasecmp(p + 1, ents[i].name, l)) {
			buf_adds(out, ents[i].utf8);
			*used = l + 1;
			return 1;
		}
	}
	return 0;
}

/* A small HTML-to-text pass, in the spirit of Dovecot's html2text: tags
 * become one blank (none at the start), script/style bodies and comments
 * go, whitespace runs collapse, the common entities are decoded. */
static void
html_to_text(const char *p, size_t len, struct buf *out)
{
	size_t i = 0, used;
	int blank = 1;

	while (i < len) {
		char c = p[i];

		if (c == '<') {
			const char *skip_to = NULL;
			size_t e;

			if (len - i >= 4 && !strncmp(p + i, "<!--", 4))
				skip_to = "-->";
			else if (len - i >= 7 && !strncasecmp(p + i, "<script", 7))
				skip_to = "</script>";
			else if (len - i >= 6 && !strncasecmp(p + i, "<style", 6))
				skip_to = "</style>";
			if (skip_to != NULL) {
				const char *q = mem_find(p + i, len - i, skip_to,
				    strlen(skip_to));

				e = q ? (size_t)(q - p) + strlen(skip_to) : len;
			} else {
				const char *q = memchr(p + i, '>', len - i);

				e = q ? (size_t)(q - p) + 1 : len;
			}
			i = e;
			if (!blank) {
				buf_addc(out, ' ');
				blank = 1;
			}
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (!blank) {
				buf_addc(out, ' ');
				blank = 1;
			}
			i++;
			continue;
		}
		if (c == '&' && html_entity(p + i, len - i, out, &used)) {
			i += used;
			blank = 0;
			continue;
		}
		buf_addc(out, c);
		blank = 0;
		i++;
	}
}

static int
extracttext_run(struct sv_rctx *r, const struct sv_node *n)
{
	const struct sv_tagval *t = sv_node_tag(n, "first");
	struct mime_part *p = current_part(r);
	struct buf dec = BUF_INIT, txt = BUF_INIT;
	const struct buf *src = &dec;
	const char *ct = p->ctype.value;
	char *val;
	size_t len;
	int ret = 0;

	if (p->children == NULL && p != &fep_state(r)->fake)
		mime_decode(p, &dec);
	if (ct != NULL && !strcasecmp(ct, "text/html") && dec.len > 0) {
		html_to_text(dec.data, dec.len, &txt);
		src = &txt;
	}
	len = src->len;
	if (t != NULL && t->param->num < len) {
		/* RFC 5703 7: the first n characters; octets here, as
		 * Pigeonhole counts, backed off to a UTF-8 boundary. */
		len = (size_t)t->param->num;
		while (len > 0 && ((unsigned char)src->data[len] & 0xc0) == 0x80)
			len--;
	}
	val = arena_strndup(r->arena, src->data ? src->data : "", len);
	if (sv_var_set(r, n->pos_args[0]->v[0].s, val) == -1)
		ret = sv_rerror(r, n, "too many variables");
	buf_free(&dec);
	buf_free(&txt);
	return ret;
}

/* ---- header/address/exists :mime (RFC 5703 4) ---- */

/* MO_* of one of our tags on n (by name: other extensions' SV_G_OWN tags
 * on these tests have ids of their own), or 0. */
static int
mo_id(const struct sv_tag *d)
{
	static const char *const names[] = { "type", "subtype",
	    "contenttype", "param", "anychild", "mime" };
	size_t i;

	if (d->group != SV_G_OWN)
		return 0;
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcasecmp(d->name, names[i]))
			return (int)i + MO_TYPE;
	return 0;
}

int
sv_mime_test_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_tagval *mime = NULL;
	size_t i, opts = 0;

	for (i = 0; i < n->ntags; i++) {
		int id = mo_id(n->tags[i].def);

		if (id == MO_MIME)
			mime = &n->tags[i];
		else if (id != 0 && id != MO_ANYCHILD)
			opts++;
	}
	for (i = 0; i < n->ntags && mime == NULL; i++) {
		int id = mo_id(n->tags[i].def);

		if (id != 0) {
			sv_verror(v, n->tags[i].at->pos, "the :%s tag for the "
			    "%s test requires the :mime tag",
			    n->tags[i].def->name, n->def->name);
			return -1;
		}
	}
	if (opts > 1) {
		sv_verror(v, n->pos, "the %s test takes only one of :type, "
		    ":subtype, :contenttype or :param", n->def->name);
		return -1;
	}
	if (mime != NULL)
		v->script->needs_body = 1;
	return 0;
}

static int
opt_id(const struct sv_node *n, const struct sv_arg **param)
{
	size_t i;

	for (i = 0; i < n->ntags; i++) {
		int id = mo_id(n->tags[i].def);

		if (id >= MO_TYPE && id <= MO_PARAM) {
			*param = n->tags[i].param;
			return id;
		}
	}
	return 0;
}

/* An address part for the :mime address test (RFC 5228 5.1, RFC 5233). */
static int
addr_value(struct sv_rctx *r, int part, const struct addr *a, struct buf *b)
{
	const char *delim = r->env->delimiter && r->env->delimiter[0] ?
	    r->env->delimiter : "+";
	size_t ul;

	buf_reset(b);
	buf_adds(b, "");
	switch (part) {
	case AP_LOCAL:
		buf_adds(b, a->local);
		break;
	case AP_DOMAIN:
		if (a->domain != NULL)
			buf_adds(b, a->domain);
		break;
	case AP_USER:
	case AP_DETAIL:
		ul = strcspn(a->local, delim);
		if (part == AP_USER)
			buf_add(b, a->local, ul);
		else if (a->local[ul] == '\0')
			return 0;
		else
			buf_adds(b, a->local + ul + 1);
		break;
	default:
		buf_adds(b, a->local);
		if (a->domain != NULL) {
			buf_addc(b, '@');
			buf_adds(b, a->domain);
		}
		break;
	}
	return 1;
}

/* Feed the values of field h (of a part) for header/address; 1 to stop. */
static int
feed_field(struct sv_rctx *r, const struct sv_node *n, struct sv_matcher *m,
    const struct hdr *h, const char *name, int opt, const char **params,
    size_t nparams, struct buf *tmp)
{
	int count = n->match.mtype == MT_COUNT;
	struct mime_ctype ct;
	size_t k;

	if (!strcasecmp(n->def->name, "address")) {
		struct addr *as;
		size_t na = addr_parse_list(r->arena, h->value, &as);

		for (k = 0; k < na; k++) {
			if (as[k].local == NULL ||
			    !addr_value(r, n->match.addrpart, &as[k], tmp))
				continue;
			if (sv_match_value(m, tmp->data, tmp->len) != 0 && !count)
				return 1;
		}
		return 0;
	}
	if (opt == 0) {
		char *val = hdr_decode(r->arena, h->value);

		return sv_match_value(m, val, strlen(val)) != 0 && !count;
	}
	if (opt != MO_PARAM && strcasecmp(name, "content-type") != 0)
		return 0;
	memset(&ct, 0, sizeof ct);
	mime_ctype_parse(r->arena, h->value, &ct);
	if (opt == MO_PARAM) {
		for (k = 0; k < nparams; k++) {
			const char *pv = mime_param(&ct, params[k]);

			if (pv == NULL)
				pv = "";	/* Pigeonhole: absent is "" */
			if (sv_match_value(m, pv, strlen(pv)) != 0 && !count)
				return 1;
		}
		return 0;
	}
	if (ct.value == NULL)
		return 0;
	{
		const char *v = ct.value, *slash = strchr(v, '/');
		size_t vl = strlen(v);

		if (opt == MO_TYPE && slash != NULL)
			vl = (size_t)(slash - v);
		else if (opt == MO_SUBTYPE) {
			v = slash ? slash + 1 : "";
			vl = strlen(v);
		}
		return sv_match_value(m, v, vl) != 0 && !count;
	}
}

int
sv_mime_test_run(struct sv_rctx *r, const struct sv_node *n)
{
	const struct sv_arg *param = NULL;
	int opt = opt_id(n, &param);
	int anychild = sv_node_tag(n, "anychild") != NULL;
	int is_exists = !strcasecmp(n->def->name, "exists");
	struct mime_part *top = current_part(r), *p;
	const char **names, **params = NULL;
	size_t nnames, nparams = 0, i, k;
	struct sv_matcher m;
	struct buf tmp = BUF_INIT;
	int done = 0;

	nnames = sv_pos_list(r, n, 0, &names);
	if (is_exists) {
		/* RFC 5703 4.3: true when one part has all the fields. */
		for (p = top; p != NULL; p = anychild ? next_part(p, top) :
		    NULL) {
			for (i = 0; i < nnames; i++)
				if (mime_hdr_find(p, names[i]) == NULL)
					break;
			if (i == nnames)
				return 1;
		}
		return 0;
	}
	if (opt == MO_PARAM)
		nparams = sv_arg_list(r, param, &params);
	if (sv_match_begin(&m, r, n, 1) == -1)
		return sv_match_end(&m);
	for (p = top; p != NULL && !done; p = anychild ? next_part(p, top) :
	    NULL) {
		for (i = 0; i < nnames && !done; i++) {
			for (k = 0; k < p->nhdrs && !done; k++) {
				const struct hdr *h = &p->hdrs[k];

				if (!span_ieq(h->name, names[i]))
					continue;
				done = feed_field(r, n, &m, h, names[i], opt,
				    params, nparams, &tmp);
			}
		}
	}
	buf_free(&tmp);
	return sv_match_end(&m);
}

/* ---- tables ---- */

static const struct sv_tag fep_tags[] = {
	{ "name", SV_P_STR, SV_G_OWN, 0 },
	{ NULL, 0, 0, 0 },
};

static const struct sv_cmd fep_cmds[] = {
	{ .name = "foreverypart", .kind = SV_COMMAND, .tags = fep_tags,
	  .block = 1, .flags = SV_CMD_NEEDS_BODY | SV_CMD_NOVARS,
	  .validate = fep_validate, .run = fep_run },
	{ .name = "break", .kind = SV_COMMAND, .tags = fep_tags,
	  .flags = SV_CMD_NOVARS, .validate = break_validate,
	  .run = break_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_foreverypart = {
	.name = "foreverypart", .cmds = fep_cmds,
};

static const struct sv_tag_add mime_tags[] = {
	{ "header", { "mime", SV_P_NONE, SV_G_OWN, MO_MIME } },
	{ "header", { "anychild", SV_P_NONE, SV_G_OWN, MO_ANYCHILD } },
	{ "header", { "type", SV_P_NONE, SV_G_OWN, MO_TYPE } },
	{ "header", { "subtype", SV_P_NONE, SV_G_OWN, MO_SUBTYPE } },
	{ "header", { "contenttype", SV_P_NONE, SV_G_OWN, MO_CONTENTTYPE } },
	{ "header", { "param", SV_P_LIST, SV_G_OWN, MO_PARAM } },
	{ "address", { "mime", SV_P_NONE, SV_G_OWN, MO_MIME } },
	{ "address", { "anychild", SV_P_NONE, SV_G_OWN, MO_ANYCHILD } },
	{ "exists", { "mime", SV_P_NONE, SV_G_OWN, MO_MIME } },
	{ "exists", { "anychild", SV_P_NONE, SV_G_OWN, MO_ANYCHILD } },
	{ NULL, { NULL, 0, 0, 0 } },
};

const struct sv_ext sv_ext_mime = { .name = "mime", .tags = mime_tags };

static const struct sv_tag extracttext_tags[] = {
	{ "first", SV_P_NUM, SV_G_OWN, 0 },
	{ NULL, 0, 0, 0 },
};

static const struct sv_cmd extracttext_cmds[] = {
	{ .name = "extracttext", .kind = SV_COMMAND, .sig = "s",
	  .tags = extracttext_tags, .flags = SV_CMD_NEEDS_BODY |
	  SV_CMD_NOVARS, .validate = extracttext_validate,
	  .run = extracttext_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_extracttext = {
	.name = "extracttext", .cmds = extracttext_cmds,
};
