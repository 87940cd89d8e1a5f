/*
 * ext-imap4flags.c - RFC 5232: setflag/addflag/removeflag, hasflag, the
 * :flags argument of keep/fileinto and the internal flags variable
 * (r->flags: space separated, each flag once, compared without case).
 * \Seen \Answered \Flagged \Deleted \Draft become FLAG_*; anything else
 * is a keyword (interp.c, flags_to_action).
 */
#include <string.h>
#include <strings.h>

#include "sieve-int.h"

enum { FL_SET, FL_ADD, FL_REMOVE };

static int
has_flag(const char *cur, const char *f, size_t fl)
{
	const char *p = cur;

	while (*p != '\0') {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n == fl && n > 0 && !strncasecmp(p, f, n))
			return 1;
		p += n;
	}
	return 0;
}

/* cur with the flags of list added (op FL_ADD/FL_SET) or removed. */
static char *
flags_edit(struct sv_rctx *r, const char *cur, const char **list, size_t n,
    int op)
{
	struct buf b = BUF_INIT;
	const char *p;
	char *res;
	size_t i;

	if (op == FL_REMOVE) {
		for (p = cur; *p != '\0';) {
			size_t fl, k;
			int drop = 0;

			while (*p == ' ')
				p++;
			fl = strcspn(p, " ");
			if (fl == 0)
				break;
			for (k = 0; k < n && !drop; k++)
				drop = has_flag(list[k], p, fl);
			if (!drop) {
				if (b.len)
					buf_addc(&b, ' ');
				buf_add(&b, p, fl);
			}
			p += fl;
		}
	} else {
		if (op == FL_ADD)
			buf_adds(&b, cur);
		for (i = 0; i < n; i++) {
			for (p = list[i]; *p != '\0';) {
				size_t fl;

				while (*p == ' ')
					p++;
				fl = strcspn(p, " ");
				if (fl == 0)
					break;
				if (!has_flag(b.data ? b.data : "", p, fl)) {
					if (b.len)
						buf_addc(&b, ' ');
					buf_add(&b, p, fl);
				}
				p += fl;
			}
		}
	}
	res = arena_strndup(r->arena, b.data ? b.data : "", b.len);
	buf_free(&b);
	return res;
}

static int
flagcmd_validate(struct sv_vctx *v, struct sv_node *n)
{
	if (n->npos == 2) {
		const struct sv_arg *a = n->pos_args[0];

		if (!sv_vrequired(v, "variables")) {
			sv_verror(v, a->pos, "the %s command takes a variable "
			    "name only with require \"variables\"",
			    n->def->name);
			return -1;
		}
		if (a->type != SV_A_STR || a->v[0].vars ||
		    !sv_var_name_ok(a->v[0].s, a->v[0].len)) {
			sv_verror(v, a->pos, "invalid variable name");
			return -1;
		}
	}
	return 0;
}

static int
flagcmd_run(struct sv_rctx *r, const struct sv_node *n)
{
	const char *name = n->npos == 2 ? n->pos_args[0]->v[0].s : NULL;
	const char *cur, **list;
	size_t cnt = sv_pos_list(r, n, n->npos - 1, &list);
	int op = !strcasecmp(n->def->name, "setflag") ? FL_SET :
	    !strcasecmp(n->def->name, "addflag") ? FL_ADD : FL_REMOVE;
	char *res;

	cur = name ? sv_var_get(r, name) : r->flags;
	res = flags_edit(r, cur ? cur : "", list, cnt, op);
	if (name != NULL) {
		if (sv_var_set(r, name, res) == -1)
			return sv_rerror(r, n, "too many variables");
	} else {
		r->flags = res;
	}
	sv_trace(r, n, "flags now \"%s\"", res);
	return 0;
}

static int
hasflag_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sv_matcher m;
	const char **vars = NULL;
	size_t nv = 0, i;

	if (sv_match_begin(&m, r, n, n->npos - 1) == -1)
		return sv_match_end(&m);
	if (n->npos == 2)
		nv = sv_pos_list(r, n, 0, &vars);
	for (i = 0; i < (nv ? nv : 1); i++) {
		const char *p = nv ? sv_var_get(r, vars[i]) : r->flags;

		while (p != NULL && *p != '\0') {
			size_t fl;

			while (*p == ' ')
				p++;
			fl = strcspn(p, " ");
			if (fl == 0)
				break;
			if (sv_match_value(&m, p, fl) != 0 &&
			    n->match.mtype != MT_COUNT)
				return sv_match_end(&m);
			p += fl;
		}
	}
	return sv_match_end(&m);
}

static const struct sv_cmd imap4flags_cmds[] = {
	{ .name = "setflag", .kind = SV_COMMAND, .sig = "Ll",
	  .validate = flagcmd_validate, .run = flagcmd_run },
	{ .name = "addflag", .kind = SV_COMMAND, .sig = "Ll",
	  .validate = flagcmd_validate, .run = flagcmd_run },
	{ .name = "removeflag", .kind = SV_COMMAND, .sig = "Ll",
	  .validate = flagcmd_validate, .run = flagcmd_run },
	{ .name = "hasflag", .kind = SV_TEST, .sig = "Ll",
	  .tagsets = SV_TS_MATCH | SV_TS_COMPARATOR,
	  .validate = flagcmd_validate, .run = hasflag_run },
	{ .name = NULL },
};

static const struct sv_tag_add imap4flags_tags[] = {
	{ "fileinto", { "flags", SV_P_LIST, SV_G_NONE, 0 } },
	{ "keep", { "flags", SV_P_LIST, SV_G_NONE, 0 } },
	{ NULL, { NULL, 0, 0, 0 } },
};

const struct sv_ext sv_ext_imap4flags = {
	.name = "imap4flags", .cmds = imap4flags_cmds, .tags = imap4flags_tags,
};
