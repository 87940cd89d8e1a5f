/*
 * ext-editheader.c - RFC 5293: addheader and deleteheader, and the
 * header view every header lookup of a run goes through (sv_hdr_view):
 * the message's fields until a script edits them, then a per-run copy
 * that the edits change, so that later tests (header, address, exists,
 * date, spamtest...) see the edited header, as RFC 5293 2 asks.
 *
 * Each edit also appends a concrete action (action.h): ACT_ADDHEADER
 * (name, value, last) and, for deleteheader, one ACT_DELETEHEADER per
 * field removed, its index the 1-based occurrence among the fields of that
 * name in the header as edited so far (or 0 once for "all of them"), so
 * that src/deliver/edit.c replays the same edits in order. Edits are not
 * actions in RFC 5228 2.10's sense: they do not count against
 * sieve_max_actions and do not touch the implicit keep.
 *
 * Pigeonhole's rules (ext-editheader-common.c, checked with sieve-test):
 * Subject may always be edited; X-Sieve-Redirected-From never; Received
 * and Auto-Submitted may be added but not deleted; the settings
 * sieve_editheader_protected / _forbid_add / _forbid_delete add names. A
 * forbidden edit is a warning and is skipped (the script goes on); an
 * invalid name or value, or a value over sieve_editheader_max_header_size,
 * is an error (at compile time when the string is constant).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../lib/conf.h"
#include "../../lib/log.h"
#include "sieve-int.h"

#define EH_DEFAULT_MAX_HEADER_SIZE	2048	/* Pigeonhole */
#define EH_MIN_MAX_HEADER_SIZE		1024	/* Pigeonhole: smaller ignored */

struct eh_state {
	const struct msg *src;	/* the message it was copied from */
	struct hdr *v;		/* the edited header, in order */
	size_t n, cap;
};

/* ---- the view ---- */

const struct hdr *
sv_hdr_view(struct sv_rctx *r, size_t *n_out)
{
	struct eh_state *st = *sv_ext_state(r, &sv_ext_editheader);

	/* a new message (the testsuite's test_set) starts unedited */
	if (st == NULL || st->src != r->msg) {
		*n_out = r->msg->nhdrs;
		return r->msg->hdrs;
	}
	*n_out = st->n;
	return st->v;
}

struct sv_hcache {
	const char **key;	/* raw value address */
	char **val;		/* decoded value */
	size_t cap;		/* power of two */
	const struct msg *msg;	/* the message (and header block) it is for: */
	const char *head;	/* a filter that replaces it also resets it */
};

/* The slot for key in the run's cache (open addressing), or NULL when
 * there is no room (the caller then decodes without caching). */
static char **
hcache_slot(struct sv_rctx *r, const char *key)
{
	struct sv_hcache *c = r->hcache;
	size_t i, k;

	if (c == NULL || c->msg != r->msg || c->head != r->msg->head) {
		c = arena_zalloc(r->arena, sizeof *c);
		c->cap = 64;
		while (c->cap < 2 * (r->msg->nhdrs + 16))
			c->cap *= 2;
		c->key = arena_zalloc(r->arena, c->cap * sizeof *c->key);
		c->val = arena_zalloc(r->arena, c->cap * sizeof *c->val);
		c->msg = r->msg;
		c->head = r->msg->head;
		r->hcache = c;
	}
	i = ((uintptr_t)key >> 3) * 2654435761u;
	for (k = 0; k < c->cap; k++, i++) {
		size_t j = i & (c->cap - 1);

		if (c->key[j] == key || c->key[j] == NULL) {
			c->key[j] = key;
			return &c->val[j];
		}
	}
	return NULL;
}

char *
sv_hdr_value(struct sv_rctx *r, const struct hdr *h)
{
	char **slot;

	/* An added field (raw.p NULL) is seen as given, unfolded but not
	 * RFC 2047 decoded (Pigeonhole keeps its UTF-8 value as is). */
	if (h->raw.p == NULL)
		return hdr_unfold(r->arena, h->value);
	/* Callers only read the value: one decoded copy per field. */
	if ((slot = hcache_slot(r, h->value.p)) == NULL)
		return hdr_decode(r->arena, h->value);
	if (*slot == NULL)
		*slot = hdr_decode(r->arena, h->value);
	return *slot;
}

static struct eh_state *
view_edit(struct sv_rctx *r)
{
	void **slot = sv_ext_state(r, &sv_ext_editheader);
	struct eh_state *st = *slot;

	if (st == NULL || st->src != r->msg) {
		st = arena_zalloc(r->arena, sizeof *st);
		st->src = r->msg;
		st->cap = r->msg->nhdrs + 8;
		st->v = arena_allocarray(r->arena, st->cap, sizeof *st->v);
		if (r->msg->nhdrs > 0)
			memcpy(st->v, r->msg->hdrs,
			    r->msg->nhdrs * sizeof *st->v);
		st->n = r->msg->nhdrs;
		*slot = st;
	}
	if (st->n == st->cap) {
		struct hdr *nv = arena_allocarray(r->arena, st->cap * 2,
		    sizeof *nv);

		memcpy(nv, st->v, st->n * sizeof *nv);
		st->v = nv;
		st->cap *= 2;
	}
	return st;
}

/* ---- checks ---- */

/* RFC 5322 3.6.8: field-name = 1*ftext, %d33-57 / %d59-126. */
static int
name_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 33 || c > 126 || c == ':' || i >= 998)
			return 0;
	}
	return 1;
}

/* RFC 5322 unstructured (8-bit allowed): no NUL, and CR/LF only as
 * folding (a line break followed by a blank). */
static int
value_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\0')
			return 0;
		if (s[i] == '\r') {
			if (i + 1 >= len || s[i + 1] != '\n')
				return 0;
			continue;
		}
		if (s[i] == '\n' && (i + 1 >= len ||
		    (s[i + 1] != ' ' && s[i + 1] != '\t')))
			return 0;
	}
	return 1;
}

static int
in_list(const char *list, const char *name)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t n;

		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n > 0 && n == strlen(name) && !strncasecmp(p, name, n))
			return 1;
		p += n;
	}
	return 0;
}

static int
allowed(const struct conf *c, const char *name, int del)
{
	if (!strcasecmp(name, "subject"))
		return 1;
	if (!strcasecmp(name, "x-sieve-redirected-from"))
		return 0;
	if (del && (!strcasecmp(name, "received") ||
	    !strcasecmp(name, "auto-submitted")))
		return 0;
	if (c == NULL)
		return 1;
	if (in_list(c->sieve_editheader_protected, name))
		return 0;
	return !in_list(del ? c->sieve_editheader_forbid_delete :
	    c->sieve_editheader_forbid_add, name);
}

static size_t
max_size(const struct conf *c)
{
	if (c == NULL || c->sieve_editheader_max_header_size <
	    EH_MIN_MAX_HEADER_SIZE)
		return EH_DEFAULT_MAX_HEADER_SIZE;
	return c->sieve_editheader_max_header_size;
}

/* A forbidden edit: warned about and skipped, as Pigeonhole does. */
static void
rwarning(struct sv_rctx *r, const struct sv_node *n, const char *cmd,
    const char *name)
{
	char q[100];
	int del = cmd[0] == 'd';

	(void)log_quote(q, sizeof q, name, strlen(name));
	sv_diag(r->d, r->script->name, n->pos, 0, "%s action: %s specified "
	    "header field '%s' is forbidden; modification denied", cmd,
	    del ? "deleting" : "adding", q);
	sv_trace(r, n, "%s of '%s' denied (protected header)", cmd, q);
}

/* ---- addheader ---- */

static const struct sv_tag addheader_tags[] = {
	{ "last", SV_P_NONE, SV_G_NONE, 0 },
	{ NULL, 0, 0, 0 },
};

static int
addheader_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_str *name = &n->pos_args[0]->v[0];
	const struct sv_str *val = &n->pos_args[1]->v[0];

	if (!name->vars && !name_ok(name->s)) {
		sv_verror(v, name->pos, "addheader command: specified field "
		    "name '%s' is invalid", name->s);
		return -1;
	}
	if (!name->vars && !allowed(NULL,
	    name->s, 0))
		sv_vwarning(v, name->pos, "addheader command: adding "
		    "specified header field '%s' is forbidden; modification "
		    "will be denied", name->s);
	if (!val->vars && !value_ok(val->s, val->len)) {
		sv_verror(v, val->pos, "addheader command: specified value "
		    "is invalid");
		return -1;
	}
	if (!val->vars && val->len > max_size(NULL)) {
		sv_verror(v, val->pos, "addheader command: specified header "
		    "value is too large (%zu bytes)", val->len);
		return -1;
	}
	return 0;
}

static int
addheader_run(struct sv_rctx *r, const struct sv_node *n)
{
	const char *name = sv_pos_str(r, n, 0);
	const char *val = sv_pos_str(r, n, 1);
	const struct conf *c = r->env->conf;
	int last = sv_node_tag(n, "last") != NULL;
	struct eh_state *st;
	struct action *a;
	struct hdr h;

	if (!name_ok(name))
		return sv_rerror(r, n, "addheader action: specified field "
		    "name '%s' is invalid", name);
	if (!allowed(c, name, 0)) {
		rwarning(r, n, "addheader", name);
		return 0;
	}
	if (!value_ok(val, strlen(val)))
		return sv_rerror(r, n, "addheader action: specified value is "
		    "invalid");
	if (strlen(val) > max_size(c))
		return sv_rerror(r, n, "addheader action: specified header "
		    "value is too large (%zu bytes)", strlen(val));
	if ((a = actions_add(r->res.l, ACT_ADDHEADER, name, n->origin)) ==
	    NULL)
		return sv_rerror(r, n, "too many actions");
	a->value = xstrdup(val);
	a->last = last ? 1 : 0;

	/* RFC 5293 4: prepended unless :last */
	st = view_edit(r);
	memset(&h, 0, sizeof h);
	h.name.p = arena_strdup(r->arena, name);
	h.name.len = strlen(name);
	h.value.p = arena_strdup(r->arena, val);
	h.value.len = strlen(val);
	if (last) {
		st->v[st->n] = h;
	} else {
		memmove(st->v + 1, st->v, st->n * sizeof *st->v);
		st->v[0] = h;
	}
	st->n++;
	return 0;
}

/* ---- deleteheader ---- */

static const struct sv_tag deleteheader_tags[] = {
	{ "index", SV_P_NUM, SV_G_NONE, 0 },
	{ "last", SV_P_NONE, SV_G_NONE, 0 },
	{ NULL, 0, 0, 0 },
};

static int
deleteheader_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_str *name = &n->pos_args[0]->v[0];

	if (n->match.mtype == MT_COUNT) {
		sv_verror(v, n->pos, "deleteheader command: the :count match "
		    "type is not allowed");
		return -1;
	}
	if (!name->vars && !name_ok(name->s)) {
		sv_verror(v, name->pos, "deleteheader command: specified "
		    "field name '%s' is invalid", name->s);
		return -1;
	}
	if (!name->vars && !allowed(NULL,
	    name->s, 1))
		sv_vwarning(v, name->pos, "deleteheader command: deleting "
		    "specified header field '%s' is forbidden; modification "
		    "will be denied", name->s);
	return sv_index_validate(v, n);
}

static int
deleteheader_run(struct sv_rctx *r, const struct sv_node *n)
{
	const char *name = sv_pos_str(r, n, 0);
	const struct sv_tagval *ix = sv_node_tag(n, "index");
	int last = sv_node_tag(n, "last") != NULL;
	int patterns = n->npos > 1;
	struct eh_state *st;
	size_t k, occ = 0, count = 0, target = 0, removed = 0, kept;
	unsigned char *del;

	if (!name_ok(name))
		return sv_rerror(r, n, "deleteheader action: specified field "
		    "name '%s' is invalid", name);
	if (!allowed(r->env->conf, name, 1)) {
		rwarning(r, n, "deleteheader", name);
		return 0;
	}
	st = view_edit(r);
	for (k = 0; k < st->n; k++)
		count += span_ieq(st->v[k].name, name);
	if (ix != NULL) {
		/* RFC 5293 5: the nth occurrence, from the end with :last */
		if (ix->param->num == 0 || ix->param->num > count)
			return 0;
		target = last ? count - (size_t)ix->param->num + 1 :
		    (size_t)ix->param->num;
	}
	del = arena_zalloc(r->arena, st->n + 1);
	for (k = 0; k < st->n; k++) {
		if (!span_ieq(st->v[k].name, name))
			continue;
		occ++;
		if (target != 0 && occ != target)
			continue;
		if (patterns) {
			struct sv_matcher m;
			const char *val = sv_hdr_value(r, &st->v[k]);
			int x;

			if (sv_match_begin(&m, r, n, 1) == -1)
				return sv_match_end(&m);
			(void)sv_match_value(&m, val, strlen(val));
			if ((x = sv_match_end(&m)) < 0)
				return -1;
			if (x == 0)
				continue;
		}
		del[k] = 1;
	}
	/* Actions: occurrence numbers shift as earlier ones go. */
	occ = 0;
	for (k = 0; k < st->n; k++) {
		struct action *a;

		if (!span_ieq(st->v[k].name, name))
			continue;
		occ++;
		if (!del[k])
			continue;
		if (!patterns && ix == NULL) {
			/* all of them: one action */
			if (removed++ == 0) {
				a = actions_add(r->res.l, ACT_DELETEHEADER,
				    name, n->origin);
				if (a == NULL)
					return sv_rerror(r, n, "too many "
					    "actions");
				a->index = 0;
			}
			continue;
		}
		if ((a = actions_add(r->res.l, ACT_DELETEHEADER, name,
		    n->origin)) == NULL)
			return sv_rerror(r, n, "too many actions");
		a->index = (int)(occ - removed);
		removed++;
	}
	for (k = 0, kept = 0; k < st->n; k++)
		if (!del[k])
			st->v[kept++] = st->v[k];
	st->n = kept;
	return 0;
}

static const struct sv_cmd editheader_cmds[] = {
	{ .name = "addheader", .kind = SV_COMMAND, .sig = "ss",
	  .tags = addheader_tags, .validate = addheader_validate,
	  .run = addheader_run },
	{ .name = "deleteheader", .kind = SV_COMMAND, .sig = "sL",
	  .tagsets = SV_TS_MATCH | SV_TS_COMPARATOR,
	  .tags = deleteheader_tags, .validate = deleteheader_validate,
	  .run = deleteheader_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_editheader = {
	.name = "editheader", .cmds = editheader_cmds,
};
