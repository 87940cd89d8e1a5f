/*
 * ext-body.c - RFC 5173 body test: :raw (undecoded body), :content
 * (decoded parts of the given MIME types), :text (default: decoded text
 * parts). Needs the body: the LDA maps the message only for scripts that
 * use it (SV_CMD_NEEDS_BODY). Without a mapped body the test sees none.
 */
#include <string.h>
#include <strings.h>

#include "sieve-int.h"

enum { BT_RAW = 1, BT_CONTENT, BT_TEXT };

static const struct sv_tag body_tags[] = {
	{ "raw", SV_P_NONE, SV_G_OWN, BT_RAW },
	{ "content", SV_P_LIST, SV_G_OWN, BT_CONTENT },
	{ "text", SV_P_NONE, SV_G_OWN, BT_TEXT },
	{ NULL, 0, 0, 0 },
};

static int
body_validate(struct sv_vctx *v, struct sv_node *n)
{
	size_t i, cnt = 0;

	for (i = 0; i < n->ntags; i++)
		if (n->tags[i].def->group == SV_G_OWN)
			cnt++;
	if (cnt > 1) {
		sv_verror(v, n->pos, "the body test takes only one body "
		    "transform (:raw, :content or :text)");
		return -1;
	}
	return 0;
}

struct walk {
	struct sv_rctx *r;
	struct sv_matcher *m;
	const char **types;
	size_t ntypes;
	int done;
};

static int
type_matches(const char *ct, const char *want)
{
	size_t wl = strlen(want), tl = strcspn(ct, "/");

	if (wl == 0)
		return 1;
	if (strchr(want, '/') == NULL)
		return tl == wl && !strncasecmp(ct, want, wl);
	return !strcasecmp(ct, want);
}

static int
part_fn(struct mime_part *p, void *arg)
{
	struct walk *w = arg;
	const char *ct = p->ctype.value ? p->ctype.value : "text/plain";
	struct buf out = BUF_INIT;
	size_t i;
	int want = 0;

	if (p->children != NULL && !(p->flags & (MIME_F_TOO_DEEP |
	    MIME_F_TOO_MANY | MIME_F_NO_BOUNDARY)))
		return 0;	/* multipart containers: their leaves count */
	if (w->types == NULL)
		want = !strncasecmp(ct, "text/", 5);
	for (i = 0; w->types && i < w->ntypes && !want; i++)
		want = type_matches(ct, w->types[i]);
	if (!want)
		return 0;
	mime_decode(p, &out);
	if (sv_match_value(w->m, out.data ? out.data : "", out.len) != 0 &&
	    w->m->n->match.mtype != MT_COUNT)
		w->done = 1;
	buf_free(&out);
	return w->done;
}

static int
body_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sv_matcher m;
	const struct sv_tagval *t;
	struct walk w;
	size_t len;
	const char *data = sv_body_raw(r, &len);
	int transform = BT_TEXT;
	size_t i;

	for (i = 0; i < n->ntags; i++)
		if (n->tags[i].def->group == SV_G_OWN)
			transform = n->tags[i].def->id;
	if (sv_match_begin(&m, r, n, 0) == -1)
		return sv_match_end(&m);
	if (data == NULL)
		return sv_match_end(&m);
	if (transform == BT_RAW) {
		size_t off = r->msg->body_off < len ? r->msg->body_off : len;

		(void)sv_match_value(&m, data + off, len - off);
		return sv_match_end(&m);
	}
	memset(&w, 0, sizeof w);
	w.r = r;
	w.m = &m;
	if (transform == BT_CONTENT) {
		t = sv_node_tag(n, "content");
		w.ntypes = sv_arg_list(r, t->param, &w.types);
	}
	if (r->msg->mime == NULL)
		r->msg->mime = mime_parse(r->msg);
	if (r->msg->mime != NULL)
		(void)mime_walk(r->msg->mime, part_fn, &w);
	return sv_match_end(&m);
}

static const struct sv_cmd body_cmds[] = {
	{ .name = "body", .kind = SV_TEST, .sig = "l", .tags = body_tags,
	  .tagsets = SV_TS_MATCH | SV_TS_COMPARATOR,
	  .flags = SV_CMD_NEEDS_BODY, .validate = body_validate,
	  .run = body_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_body = { .name = "body", .cmds = body_cmds };
