/*
 * commands.c - RFC 5228 (the base language: control, actions, tests)
 * and the small extensions that only add a command or a tag: fileinto,
 * envelope, reject/ereject (RFC 5429), copy (RFC 3894), relational (RFC
 * 5231), subaddress (RFC 5233), regex (draft-ietf-sieve-regex), mailbox
 * (RFC 5490), environment (RFC 5183), ihave (RFC 5463),
 * encoded-character (RFC 5228 2.4.2.4) and the comparator capabilities.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "sieve-int.h"

/* ---- control (RFC 5228 3) ---- */

static int
require_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_arg *a = n->pos_args[0];
	size_t k;
	int ret = 0;

	for (k = 0; k < a->n; k++) {
		int idx = sv_ext_index(a->v[k].s);

		if (idx < 0 || !((v->enabled >> idx) & 1) ||
		    (sv_registry_ext((size_t)idx)->flags & SV_EXT_CORE)) {
			sv_verror(v, a->v[k].pos, "require command: unknown "
			    "Sieve capability '%s'", a->v[k].s);
			ret = -1;
			continue;
		}
		v->required |= (uint64_t)1 << idx;
		v->script->exts |= (uint64_t)1 << idx;
	}
	return ret;
}

static int
nop_run(struct sv_rctx *r, const struct sv_node *n)
{
	(void)r;
	(void)n;
	return 0;
}

static int
stop_run(struct sv_rctx *r, const struct sv_node *n)
{
	(void)r;
	(void)n;
	return SV_STOP;
}

/* ---- actions (RFC 5228 4) ---- */

static int
keep_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct action *a = sv_action_add(r, n, ACT_KEEP, NULL, 0);

	if (a == NULL)
		return -1;
	sv_flags_apply(r, n, a);
	return 0;
}

static int
discard_run(struct sv_rctx *r, const struct sv_node *n)
{
	return sv_action_add(r, n, ACT_DISCARD, NULL, 0) ? 0 : -1;
}

/* A mailbox address for redirect: local@domain, no spaces or controls.
 * (Pigeonhole parses RFC 5322 addr-spec; this is the practical subset.) */
static int
addr_ok(const char *s)
{
	const char *at = strrchr(s, '@');
	size_t i;

	if (at == NULL || at == s || at[1] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == '<' || s[i] == '>' ||
		    s[i] == ',' || s[i] == '(' || s[i] == ')')
			return 0;
	return 1;
}

static int
redirect_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_str *s = &n->pos_args[0]->v[0];

	if (!s->vars && !addr_ok(s->s)) {
		sv_verror(v, s->pos, "specified redirect address '%s' is "
		    "invalid", s->s);
		return -1;
	}
	return 0;
}

static int
redirect_run(struct sv_rctx *r, const struct sv_node *n)
{
	const char *to = sv_pos_str(r, n, 0);

	if (!addr_ok(to))
		return sv_rerror(r, n, "specified redirect address '%s' is "
		    "invalid", to);
	return sv_action_add(r, n, ACT_REDIRECT, to,
	    sv_node_tag(n, "copy") != NULL) ? 0 : -1;
}

static int
fileinto_run(struct sv_rctx *r, const struct sv_node *n)
{
	const char *folder = sv_pos_str(r, n, 0);
	struct action *a;

	if (folder[0] == '\0')
		return sv_rerror(r, n, "fileinto: empty mailbox name");
	a = sv_action_add(r, n, ACT_FILEINTO, folder,
	    sv_node_tag(n, "copy") != NULL);
	if (a == NULL)
		return -1;
	if (sv_node_tag(n, "create") != NULL)
		a->create = 1;
	sv_flags_apply(r, n, a);
	return 0;
}

static int
reject_run(struct sv_rctx *r, const struct sv_node *n)
{
	enum act_type t = strcasecmp(n->def->name, "ereject") == 0 ?
	    ACT_EREJECT : ACT_REJECT;

	return sv_action_add(r, n, t, sv_pos_str(r, n, 0), 0) ? 0 : -1;
}

/* ---- tests (RFC 5228 5) ---- */

static void
addr_part(struct sv_rctx *r, int part, const char *local,
    const char *domain, struct buf *out, int *skip)
{
	const char *delim = r->env->delimiter && r->env->delimiter[0] ?
	    r->env->delimiter : "+";
	size_t ul;

	*skip = 0;
	buf_reset(out);
	switch (part) {
	case AP_ALL:
		buf_adds(out, local);
		if (domain != NULL) {
			buf_addc(out, '@');
			buf_adds(out, domain);
		}
		break;
	case AP_LOCAL:
		buf_adds(out, local);
		break;
	case AP_DOMAIN:
		if (domain != NULL)
			buf_adds(out, domain);
		break;
	case AP_USER:
	case AP_DETAIL:
		/* RFC 5233 4: every byte of recipient_delimiter is one. */
		ul = strcspn(local, delim);
		if (part == AP_USER)
			buf_add(out, local, ul);
		else if (local[ul] == '\0')
			*skip = 1;	/* no detail: does not match */
		else
			buf_adds(out, local + ul + 1);
		break;
	}
	if (out->data == NULL)
		buf_adds(out, "");
}

static int
address_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sv_matcher m;
	struct buf part = BUF_INIT;
	const char **names;
	size_t i, k, j, cnt;
	int done = 0;

	if (sv_node_tag(n, "mime") != NULL)	/* RFC 5703 4.2 */
		return sv_mime_test_run(r, n);
	if (sv_match_begin(&m, r, n, 1) == -1)
		return sv_match_end(&m);
	cnt = sv_pos_list(r, n, 0, &names);
	for (i = 0; i < cnt && !done; i++) {
		/* the edited header view, :index (sieve-int.h) */
		const struct hdr **hs;
		size_t nh = sv_hdr_select(r, n, names[i], &hs);

		for (k = 0; k < nh && !done; k++) {
			const struct hdr *h = hs[k];
			struct addr *as;
			size_t na;

			na = addr_parse_list(r->arena, h->value, &as);
			for (j = 0; j < na && !done; j++) {
				int skip;

				if (as[j].local == NULL)
					continue;
				addr_part(r, n->match.addrpart, as[j].local,
				    as[j].domain, &part, &skip);
				if (skip)
					continue;
				if (sv_match_value(&m, part.data, part.len) != 0
				    && n->match.mtype != MT_COUNT)
					done = 1;
			}
		}
	}
	buf_free(&part);
	return sv_match_end(&m);
}

static int
header_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sv_matcher m;
	const char **names;
	size_t i, k, cnt;
	int done = 0;

	if (sv_node_tag(n, "mime") != NULL)	/* RFC 5703 4.1 */
		return sv_mime_test_run(r, n);
	if (sv_match_begin(&m, r, n, 1) == -1)
		return sv_match_end(&m);
	cnt = sv_pos_list(r, n, 0, &names);
	for (i = 0; i < cnt && !done; i++) {
		/* the edited header view, :index (sieve-int.h) */
		const struct hdr **hs;
		size_t nh = sv_hdr_select(r, n, names[i], &hs);

		for (k = 0; k < nh && !done; k++) {
			char *val;

			/* RFC 5228 5.7: unfolded, RFC 2047 decoded */
			val = sv_hdr_value(r, hs[k]);
			if (sv_match_value(&m, val, strlen(val)) != 0 &&
			    n->match.mtype != MT_COUNT)
				done = 1;
		}
	}
	return sv_match_end(&m);
}

static int
exists_run(struct sv_rctx *r, const struct sv_node *n)
{
	const char **names;
	size_t i, cnt;

	if (sv_node_tag(n, "mime") != NULL)	/* RFC 5703 4.3 */
		return sv_mime_test_run(r, n);
	cnt = sv_pos_list(r, n, 0, &names);
	for (i = 0; i < cnt; i++) {
		const struct hdr **hs;

		if (sv_hdr_select(r, n, names[i], &hs) == 0)
			return 0;
	}
	return 1;
}

enum { SIZE_OVER = 1, SIZE_UNDER };

static const struct sv_tag size_tags[] = {
	{ "over", SV_P_NONE, SV_G_OWN, SIZE_OVER },
	{ "under", SV_P_NONE, SV_G_OWN, SIZE_UNDER },
	{ NULL, 0, 0, 0 },
};

static int
size_validate(struct sv_vctx *v, struct sv_node *n)
{
	if (n->ntags != 1) {
		sv_verror(v, n->pos, "the size test requires exactly one of "
		    "the :over or :under tags");
		return -1;
	}
	return 0;
}

static int
size_run(struct sv_rctx *r, const struct sv_node *n)
{
	unsigned long long sz = (unsigned long long)r->msg->size;
	unsigned long long lim = n->pos_args[0]->num;
	char b[32];

	(void)snprintf(b, sizeof b, "size %llu", sz);
	r->trace_hit = arena_strdup(r->arena, b);
	return n->tags[0].def->id == SIZE_OVER ? sz > lim : sz < lim;
}

static int
allof_run(struct sv_rctx *r, const struct sv_node *n)
{
	size_t i;
	int v;

	for (i = 0; i < n->ntests; i++)
		if ((v = sv_run_test(r, n->tests[i])) <= 0)
			return v;
	return 1;
}

static int
anyof_run(struct sv_rctx *r, const struct sv_node *n)
{
	size_t i;
	int v;

	for (i = 0; i < n->ntests; i++)
		if ((v = sv_run_test(r, n->tests[i])) != 0)
			return v;
	return 0;
}

static int
not_run(struct sv_rctx *r, const struct sv_node *n)
{
	int v = sv_run_test(r, n->tests[0]);

	return v < 0 ? v : !v;
}

static int
true_run(struct sv_rctx *r, const struct sv_node *n)
{
	(void)r;
	return strcasecmp(n->def->name, "true") == 0;
}

static const struct sv_tag_add core_tags[] = {
	{ "@match", { "is", SV_P_NONE, SV_G_MATCH, MT_IS } },
	{ "@match", { "contains", SV_P_NONE, SV_G_MATCH, MT_CONTAINS } },
	{ "@match", { "matches", SV_P_NONE, SV_G_MATCH, MT_MATCHES } },
	{ "@comparator", { "comparator", SV_P_STR, SV_G_COMPARATOR, 0 } },
	{ "@addrpart", { "all", SV_P_NONE, SV_G_ADDRPART, AP_ALL } },
	{ "@addrpart", { "localpart", SV_P_NONE, SV_G_ADDRPART, AP_LOCAL } },
	{ "@addrpart", { "domain", SV_P_NONE, SV_G_ADDRPART, AP_DOMAIN } },
	{ NULL, { NULL, 0, 0, 0 } },
};

#define MATCHING (SV_TS_MATCH | SV_TS_COMPARATOR)

static const struct sv_cmd core_cmds[] = {
	{ .name = "require", .kind = SV_COMMAND, .sig = "l",
	  .flags = SV_CMD_REQUIRE | SV_CMD_NOVARS,
	  .validate = require_validate, .run = nop_run },
	{ .name = "if", .kind = SV_COMMAND, .subtests = SV_ONE_TEST,
	  .block = 1, .flags = SV_CMD_IF },
	{ .name = "elsif", .kind = SV_COMMAND, .subtests = SV_ONE_TEST,
	  .block = 1, .flags = SV_CMD_ELSE },
	{ .name = "else", .kind = SV_COMMAND, .block = 1,
	  .flags = SV_CMD_ELSE },
	{ .name = "stop", .kind = SV_COMMAND, .run = stop_run },
	{ .name = "keep", .kind = SV_COMMAND, .run = keep_run },
	{ .name = "discard", .kind = SV_COMMAND, .run = discard_run },
	{ .name = "redirect", .kind = SV_COMMAND, .sig = "s",
	  .validate = redirect_validate, .run = redirect_run },
	{ .name = "address", .kind = SV_TEST, .sig = "ll",
	  .tagsets = MATCHING | SV_TS_ADDRPART, .run = address_run,
	  .validate = sv_mime_test_validate },
	{ .name = "header", .kind = SV_TEST, .sig = "ll",
	  .tagsets = MATCHING, .run = header_run,
	  .validate = sv_mime_test_validate },
	{ .name = "exists", .kind = SV_TEST, .sig = "l", .run = exists_run,
	  .validate = sv_mime_test_validate },
	{ .name = "size", .kind = SV_TEST, .sig = "n", .tags = size_tags,
	  .validate = size_validate, .run = size_run },
	{ .name = "allof", .kind = SV_TEST, .subtests = SV_TEST_LIST,
	  .run = allof_run },
	{ .name = "anyof", .kind = SV_TEST, .subtests = SV_TEST_LIST,
	  .run = anyof_run },
	{ .name = "not", .kind = SV_TEST, .subtests = SV_ONE_TEST,
	  .run = not_run },
	{ .name = "true", .kind = SV_TEST, .run = true_run },
	{ .name = "false", .kind = SV_TEST, .run = true_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_core = {
	.name = "core", .cmds = core_cmds, .tags = core_tags,
	.flags = SV_EXT_CORE | SV_EXT_HIDDEN,
};

/* ---- fileinto (RFC 5228 4.1) ---- */

static const struct sv_cmd fileinto_cmds[] = {
	{ .name = "fileinto", .kind = SV_COMMAND, .sig = "s",
	  .run = fileinto_run },
	{ .name = NULL },
};
const struct sv_ext sv_ext_fileinto = {
	.name = "fileinto", .cmds = fileinto_cmds,
};

/* ---- envelope (RFC 5228 5.4) ---- */

static int
envelope_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_arg *a = n->pos_args[0];
	size_t k;

	for (k = 0; k < a->n; k++)
		if (!a->v[k].vars && strcasecmp(a->v[k].s, "from") &&
		    strcasecmp(a->v[k].s, "to")) {
			sv_verror(v, a->v[k].pos, "specified envelope part "
			    "'%s' is not supported by the envelope test",
			    a->v[k].s);
			return -1;
		}
	return 0;
}

static int
envelope_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sv_matcher m;
	struct buf part = BUF_INIT;
	const char **parts;
	size_t i, cnt;
	int done = 0;

	if (sv_match_begin(&m, r, n, 1) == -1)
		return sv_match_end(&m);
	cnt = sv_pos_list(r, n, 0, &parts);
	for (i = 0; i < cnt && !done; i++) {
		const char *val = NULL, *at;
		char *local;
		int skip = 0;

		if (!strcasecmp(parts[i], "from"))
			val = r->env->sender;
		else if (!strcasecmp(parts[i], "to"))
			val = r->env->recipient;
		if (val == NULL)
			continue;
		if (val[0] == '<')
			val++;
		at = strrchr(val, '@');
		local = arena_strndup(r->arena, val, at ? (size_t)(at - val) :
		    strcspn(val, ">"));
		if (val[0] == '\0' || val[0] == '>') {
			/* RFC 5228 5.4: the null reverse-path is "" */
			buf_reset(&part);
			buf_adds(&part, "");
		} else {
			char *dom = at ? arena_strndup(r->arena, at + 1,
			    strcspn(at + 1, ">")) : NULL;

			addr_part(r, n->match.addrpart, local, dom, &part,
			    &skip);
		}
		if (skip)
			continue;
		if (sv_match_value(&m, part.data ? part.data : "", part.len) !=
		    0 && n->match.mtype != MT_COUNT)
			done = 1;
	}
	buf_free(&part);
	return sv_match_end(&m);
}

static const struct sv_cmd envelope_cmds[] = {
	{ .name = "envelope", .kind = SV_TEST, .sig = "ll",
	  .tagsets = MATCHING | SV_TS_ADDRPART,
	  .validate = envelope_validate, .run = envelope_run },
	{ .name = NULL },
};
const struct sv_ext sv_ext_envelope = {
	.name = "envelope", .cmds = envelope_cmds,
};

/* ---- reject / ereject (RFC 5429) ---- */

static const struct sv_cmd reject_cmds[] = {
	{ .name = "reject", .kind = SV_COMMAND, .sig = "s", .run = reject_run },
	{ .name = NULL },
};
const struct sv_ext sv_ext_reject = { .name = "reject", .cmds = reject_cmds };

static const struct sv_cmd ereject_cmds[] = {
	{ .name = "ereject", .kind = SV_COMMAND, .sig = "s",
	  .run = reject_run },
	{ .name = NULL },
};
const struct sv_ext sv_ext_ereject = {
	.name = "ereject", .cmds = ereject_cmds,
};

/* ---- copy (RFC 3894) ---- */

static const struct sv_tag_add copy_tags[] = {
	{ "fileinto", { "copy", SV_P_NONE, SV_G_NONE, 0 } },
	{ "redirect", { "copy", SV_P_NONE, SV_G_NONE, 0 } },
	{ NULL, { NULL, 0, 0, 0 } },
};
const struct sv_ext sv_ext_copy = { .name = "copy", .tags = copy_tags };

/* ---- relational (RFC 5231), subaddress (RFC 5233), regex ---- */

static const struct sv_tag_add relational_tags[] = {
	{ "@match", { "count", SV_P_STR, SV_G_MATCH, MT_COUNT } },
	{ "@match", { "value", SV_P_STR, SV_G_MATCH, MT_VALUE } },
	{ NULL, { NULL, 0, 0, 0 } },
};
const struct sv_ext sv_ext_relational = {
	.name = "relational", .tags = relational_tags,
};

static const struct sv_tag_add subaddress_tags[] = {
	{ "@addrpart", { "user", SV_P_NONE, SV_G_ADDRPART, AP_USER } },
	{ "@addrpart", { "detail", SV_P_NONE, SV_G_ADDRPART, AP_DETAIL } },
	{ NULL, { NULL, 0, 0, 0 } },
};
const struct sv_ext sv_ext_subaddress = {
	.name = "subaddress", .tags = subaddress_tags,
};

static const struct sv_tag_add regex_tags[] = {
	{ "@match", { "regex", SV_P_NONE, SV_G_MATCH, MT_REGEX } },
	{ NULL, { NULL, 0, 0, 0 } },
};
const struct sv_ext sv_ext_regex = { .name = "regex", .tags = regex_tags };

/* ---- mailbox (RFC 5490) ---- */

static int
mailboxexists_run(struct sv_rctx *r, const struct sv_node *n)
{
	const char **names;
	size_t i, cnt = sv_pos_list(r, n, 0, &names);

	for (i = 0; i < cnt; i++)
		if (r->env->mailbox_exists == NULL ||
		    r->env->mailbox_exists(r->env->cb_arg, names[i]) != 1)
			return 0;
	return 1;
}

static const struct sv_cmd mailbox_cmds[] = {
	{ .name = "mailboxexists", .kind = SV_TEST, .sig = "l",
	  .run = mailboxexists_run },
	{ .name = NULL },
};
static const struct sv_tag_add mailbox_tags[] = {
	{ "fileinto", { "create", SV_P_NONE, SV_G_NONE, 0 } },
	{ NULL, { NULL, 0, 0, 0 } },
};
const struct sv_ext sv_ext_mailbox = {
	.name = "mailbox", .cmds = mailbox_cmds, .tags = mailbox_tags,
};

/* ---- environment (RFC 5183) ---- */

static const char *
env_item(struct sv_rctx *r, const char *name)
{
	const struct sieve_env *e = r->env;

	if (!strcasecmp(name, "domain"))
		return e->domain;
	if (!strcasecmp(name, "host"))
		return e->host;
	if (!strcasecmp(name, "location"))
		return "MDA";
	if (!strcasecmp(name, "name"))
		return "sluice";
	if (!strcasecmp(name, "phase"))
		return "during";
	if (!strcasecmp(name, "version"))
		return PACKAGE_VERSION;
	if (!strcasecmp(name, "vnd.dovecot.default-mailbox"))
		return "INBOX";
	if (!strcasecmp(name, "vnd.dovecot.username"))
		return e->username;
	return NULL;
}

static int
environment_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sv_matcher m;
	const char *val = env_item(r, sv_pos_str(r, n, 0));

	if (sv_match_begin(&m, r, n, 1) == -1)
		return sv_match_end(&m);
	/* RFC 5183 4: an unknown item fails the test. */
	if (val != NULL)
		(void)sv_match_value(&m, val, strlen(val));
	return val != NULL ? sv_match_end(&m) : (sv_match_end(&m), 0);
}

static const struct sv_cmd environment_cmds[] = {
	{ .name = "environment", .kind = SV_TEST, .sig = "sl",
	  .tagsets = MATCHING, .run = environment_run },
	{ .name = NULL },
};
const struct sv_ext sv_ext_environment = {
	.name = "environment", .cmds = environment_cmds,
};

/* ---- ihave (RFC 5463) ---- */

static int
ihave_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_arg *a = n->pos_args[0];
	uint64_t add = 0;
	size_t k;

	for (k = 0; k < a->n; k++) {
		int idx = sv_ext_index(a->v[k].s);

		if (idx < 0 || !((v->enabled >> idx) & 1) ||
		    (sv_registry_ext((size_t)idx)->flags & SV_EXT_CORE))
			return 0;	/* false at runtime */
		add |= (uint64_t)1 << idx;
	}
	v->script->exts |= add;
	n->data = (void *)1;
	return 0;
}

static int
ihave_run(struct sv_rctx *r, const struct sv_node *n)
{
	(void)r;
	return n->data != NULL;
}

static int
error_run(struct sv_rctx *r, const struct sv_node *n)
{
	return sv_rerror(r, n, "%s", sv_pos_str(r, n, 0));
}

static const struct sv_cmd ihave_cmds[] = {
	{ .name = "ihave", .kind = SV_TEST, .sig = "l", .flags = SV_CMD_NOVARS,
	  .validate = ihave_validate, .run = ihave_run },
	{ .name = "error", .kind = SV_COMMAND, .sig = "s", .run = error_run },
	{ .name = NULL },
};
const struct sv_ext sv_ext_ihave = { .name = "ihave", .cmds = ihave_cmds };

/* ---- capabilities without commands ---- */

const struct sv_ext sv_ext_encoded_character = {
	.name = "encoded-character",
};
const struct sv_ext sv_ext_cmp_numeric = {
	.name = "comparator-i;ascii-numeric",
};
const struct sv_ext sv_ext_cmp_octet = { .name = "comparator-i;octet" };
const struct sv_ext sv_ext_cmp_casemap = {
	.name = "comparator-i;ascii-casemap",
};
