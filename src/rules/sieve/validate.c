/*
 * validate.c - the semantic pass, driven by the registry: require,
 * command/test lookup, tagged and positional argument signatures,
 * if/elsif/else placement, encoded-character decoding, variable marking,
 * then each command's own validate hook. Several errors per run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve-int.h"

void
sv_verror(struct sv_vctx *v, struct sv_pos pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sv_vdiag(v->d, v->script->name, pos, 1, fmt, ap);
	va_end(ap);
}

void
sv_vwarning(struct sv_vctx *v, struct sv_pos pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sv_vdiag(v->d, v->script->name, pos, 0, fmt, ap);
	va_end(ap);
}

static int
ext_on(const struct sv_vctx *v, size_t i)
{
	const struct sv_ext *x = sv_registry_ext(i);

	if (x->flags & SV_EXT_CORE)
		return 1;
	return (v->required >> i) & 1;
}

int
sv_vrequired(const struct sv_vctx *v, const char *ext)
{
	int i = sv_ext_index(ext);

	return i >= 0 && ext_on(v, (size_t)i);
}

static const char *
kind_name(enum sv_kind k)
{
	return k == SV_TEST ? "test" : "command";
}

/* ASCII lower case (identifiers are case-insensitive, RFC 5228 8.1). */
static int
lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Find name among the extensions in effect; *ext_out its extension. When
 * absent, *hint_out names an extension that has it (not required). */
static const struct sv_cmd *
find_cmd(const struct sv_vctx *v, const char *name, enum sv_kind kind,
    const struct sv_ext **ext_out, const struct sv_ext **hint_out,
    const struct sv_cmd **other_kind)
{
	size_t i;
	const struct sv_cmd *c;

	*hint_out = NULL;
	*other_kind = NULL;
	for (i = 0; i < sv_registry_count(); i++) {
		const struct sv_ext *x = sv_registry_ext(i);

		for (c = x->cmds; c != NULL && c->name != NULL; c++) {
			/* first byte first: this runs for every node */
			if (lc(c->name[0]) != lc(name[0]) ||
			    strcasecmp(c->name, name) != 0)
				continue;
			if (c->kind != kind) {
				if (ext_on(v, i))
					*other_kind = c;
				continue;
			}
			if (ext_on(v, i)) {
				*ext_out = x;
				return c;
			}
			if ((v->enabled >> i) & 1)
				*hint_out = x;
		}
	}
	return NULL;
}

static int
target_matches(const char *target, const struct sv_cmd *def)
{
	if (target[0] == '@') {
		if (!strcmp(target, "@match"))
			return (def->tagsets & SV_TS_MATCH) != 0;
		if (!strcmp(target, "@comparator"))
			return (def->tagsets & SV_TS_COMPARATOR) != 0;
		if (!strcmp(target, "@addrpart"))
			return (def->tagsets & SV_TS_ADDRPART) != 0;
		return 0;
	}
	return strcasecmp(target, def->name) == 0;
}

static const struct sv_tag *
find_tag(const struct sv_vctx *v, const struct sv_cmd *def, const char *name,
    const struct sv_ext **hint)
{
	const struct sv_tag *t;
	size_t i;

	*hint = NULL;
	for (t = def->tags; t != NULL && t->name != NULL; t++)
		if (lc(t->name[0]) == lc(name[0]) &&
		    strcasecmp(t->name, name) == 0)
			return t;
	for (i = 0; i < sv_registry_count(); i++) {
		const struct sv_ext *x = sv_registry_ext(i);
		const struct sv_tag_add *ta;

		for (ta = x->tags; ta != NULL && ta->target != NULL; ta++) {
			if (lc(ta->tag.name[0]) != lc(name[0]) ||
			    !target_matches(ta->target, def) ||
			    strcasecmp(ta->tag.name, name) != 0)
				continue;
			if (ext_on(v, i))
				return &ta->tag;
			if ((v->enabled >> i) & 1)
				*hint = x;
		}
	}
	return NULL;
}

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

static int
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
put_utf8(struct buf *b, unsigned long cp)
{
	if (cp < 0x80) {
		buf_addc(b, (int)cp);
	} else if (cp < 0x800) {
		buf_addc(b, (int)(0xc0 | (cp >> 6)));
		buf_addc(b, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addc(b, (int)(0xe0 | (cp >> 12)));
		buf_addc(b, (int)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(b, (int)(0x80 | (cp & 0x3f)));
	} else {
		buf_addc(b, (int)(0xf0 | (cp >> 18)));
		buf_addc(b, (int)(0x80 | ((cp >> 12) & 0x3f)));
		buf_addc(b, (int)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(b, (int)(0x80 | (cp & 0x3f)));
	}
}

/*
 * RFC 5228 2.4.2.4: "${hex:" hex-pair *(blank hex-pair) "}" and
 * "${unicode:" unicode-hex *(blank unicode-hex) "}". A malformed encoding
 * stays as written; a code point outside 0..D7FF, E000..10FFFF is an
 * error. Returns the length consumed (0: not an encoding), -1 on error.
 */
static long
decode_one(struct sv_vctx *v, const struct sv_str *s, const char *p,
    size_t left, struct buf *out)
{
	int uni;
	size_t i, start;
	struct buf tmp = BUF_INIT;
	int any = 0;

	if (left > 6 && !strncasecmp(p, "${hex:", 6)) {
		uni = 0;
		i = 6;
	} else if (left > 10 && !strncasecmp(p, "${unicode:", 10)) {
		uni = 1;
		i = 10;
	} else {
		return 0;
	}
	for (;;) {
		unsigned long val = 0;
		size_t nd = 0;

		while (i < left && is_blank(p[i]))
			i++;
		if (i < left && p[i] == '}' && any)
			break;
		start = i;
		while (i < left && hexval(p[i]) >= 0) {
			if (nd < 8)
				val = val * 16 + (unsigned long)hexval(p[i]);
			nd++;
			i++;
		}
		if (nd == 0 || i >= left || (!is_blank(p[i]) && p[i] != '}') ||
		    (!uni && nd > 2)) {
			buf_free(&tmp);
			return 0;
		}
		if (uni) {
			if (nd > 8 || val > 0x10ffff ||
			    (val >= 0xd800 && val <= 0xdfff)) {
				sv_verror(v, s->pos, "invalid unicode character "
				    "0x%.*s in encoded character substitution",
				    (int)(i - start), p + start);
				buf_free(&tmp);
				return -1;
			}
			put_utf8(&tmp, val);
		} else {
			buf_addc(&tmp, (int)val);
		}
		any = 1;
	}
	buf_add(out, tmp.data, tmp.len);
	buf_free(&tmp);
	return (long)i + 1;
}

static int
decode_encoded(struct sv_vctx *v, struct sv_str *s)
{
	struct buf out = BUF_INIT;
	size_t i = 0;
	int changed = 0, ret = 0;

	if (mem_find(s->s, s->len, "${", 2) == NULL)
		return 0;
	while (i < s->len) {
		long n = 0;

		if (s->s[i] == '$' && i + 1 < s->len && s->s[i + 1] == '{')
			n = decode_one(v, s, s->s + i, s->len - i, &out);
		if (n < 0) {
			ret = -1;
			break;
		}
		if (n > 0) {
			i += (size_t)n;
			changed = 1;
		} else {
			buf_addc(&out, s->s[i++]);
		}
	}
	if (changed && ret == 0) {
		s->s = arena_strndup(v->arena, out.data ? out.data : "",
		    out.len);
		s->len = out.len;
	}
	buf_free(&out);
	return ret;
}

/* Strings of n: decode encodings, mark variable references. */
static int
process_strings(struct sv_vctx *v, struct sv_node *n)
{
	int enc, vars;
	size_t i, k;
	int ret = 0;

	if (!v->str_valid || v->str_mask != v->required) {
		v->str_enc = sv_vrequired(v, "encoded-character");
		v->str_vars = sv_vrequired(v, "variables");
		v->str_mask = v->required;
		v->str_valid = 1;
	}
	enc = v->str_enc;
	vars = v->str_vars && !(n->def->flags & SV_CMD_NOVARS);

	for (i = 0; i < n->nargs; i++) {
		struct sv_arg *a = &n->args[i];

		if (a->type != SV_A_STR && a->type != SV_A_LIST)
			continue;
		for (k = 0; k < a->n; k++) {
			if (enc && decode_encoded(v, &a->v[k]) == -1)
				ret = -1;
			if (vars && mem_find(a->v[k].s, a->v[k].len, "${", 2))
				a->v[k].vars = 1;
		}
	}
	return ret;
}

static const char *
argt_name(enum sv_argt t)
{
	switch (t) {
	case SV_A_STR: return "string";
	case SV_A_LIST: return "string list";
	case SV_A_NUM: return "number";
	case SV_A_TAG: return "tag";
	}
	return "?";
}

static int
type_ok(char want, const struct sv_arg *a)
{
	switch (want) {
	case 's': case 'S':
		return a->type == SV_A_STR;
	case 'l': case 'L':
		return a->type == SV_A_STR || a->type == SV_A_LIST;
	case 'n': case 'N':
		return a->type == SV_A_NUM;
	}
	return 0;
}

static const char *
want_name(char want)
{
	switch (want) {
	case 's': case 'S': return "string";
	case 'l': case 'L': return "string list";
	default: return "number";
	}
}

static int
parse_relop(const char *s)
{
	static const char *const ops[] = { "gt", "ge", "lt", "le", "eq", "ne" };
	size_t i;

	for (i = 0; i < 6; i++)
		if (strcasecmp(s, ops[i]) == 0)
			return (int)i;
	return -1;
}

/* Tagged, then positional arguments against n->def. */
static int
check_args(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_cmd *def = n->def;
	const char *sig = def->sig ? def->sig : "";
	size_t i = 0, np, nreq = 0, nopt = 0, k, use_opt;
	int groups_seen[SV_G_OWN + 1] = { 0 };
	const char *kn = kind_name(def->kind);

	n->match.mtype = MT_IS;
	n->match.comparator = CMP_CASEMAP;
	n->match.addrpart = AP_ALL;
	n->match.pos = n->pos;
	while (i < n->nargs && n->args[i].type == SV_A_TAG) {
		const struct sv_arg *a = &n->args[i];
		const struct sv_ext *hint;
		const struct sv_tag *t = find_tag(v, def, a->tag, &hint);
		struct sv_tagval *tv;

		if (t == NULL) {
			if (hint != NULL)
				sv_verror(v, a->pos, "unknown tagged argument "
				    "':%s' for the %s %s (missing require "
				    "\"%s\"?)", a->tag, def->name, kn,
				    hint->name);
			else
				sv_verror(v, a->pos, "unknown tagged argument "
				    "':%s' for the %s %s", a->tag, def->name,
				    kn);
			return -1;
		}
		for (k = 0; k < n->ntags; k++)
			if (n->tags[k].def == t) {
				sv_verror(v, a->pos, "the :%s tag is given "
				    "more than once", t->name);
				return -1;
			}
		if (t->group != SV_G_NONE && t->group != SV_G_OWN) {
			if (groups_seen[t->group]) {
				static const char *const gn[] = {
				    "", "match type", "comparator",
				    "address part", "" };

				sv_verror(v, a->pos, "multiple %s arguments "
				    "for the %s %s", gn[t->group], def->name,
				    kn);
				return -1;
			}
			groups_seen[t->group] = 1;
		}
		if (n->ntags == SV_MAX_TAGS) {
			sv_verror(v, a->pos, "too many tagged arguments");
			return -1;
		}
		tv = &n->tags[n->ntags++];
		tv->def = t;
		tv->at = a;
		tv->param = NULL;
		i++;
		if (t->param != SV_P_NONE) {
			char w = t->param == SV_P_STR ? 's' :
			    t->param == SV_P_LIST ? 'l' : 'n';

			if (i >= n->nargs || !type_ok(w, &n->args[i])) {
				sv_verror(v, a->pos, "the :%s tag for the %s "
				    "%s requires a %s argument, but %s was "
				    "found", t->name, def->name, kn,
				    want_name(w), i >= n->nargs ? "none" :
				    argt_name(n->args[i].type));
				return -1;
			}
			tv->param = &n->args[i++];
		}
		switch (t->group) {
		case SV_G_MATCH:
			n->match.mtype = t->id;
			if (t->id == MT_COUNT || t->id == MT_VALUE) {
				if (tv->param->n != 1 ||
				    (n->match.relop = parse_relop(
				    tv->param->v[0].s)) < 0) {
					sv_verror(v, tv->param->pos, "invalid "
					    "relational match \"%s\"",
					    tv->param->v[0].s);
					return -1;
				}
			}
			break;
		case SV_G_COMPARATOR:
			n->match.comparator =
			    sv_comparator_id(tv->param->v[0].s);
			if (n->match.comparator < 0) {
				sv_verror(v, tv->param->pos, "unknown "
				    "comparator '%s'", tv->param->v[0].s);
				return -1;
			}
			if (n->match.comparator == CMP_NUMERIC &&
			    !sv_vrequired(v, "comparator-i;ascii-numeric")) {
				sv_verror(v, tv->param->pos, "comparator "
				    "'i;ascii-numeric' requires the "
				    "\"comparator-i;ascii-numeric\" "
				    "extension");
				return -1;
			}
			break;
		case SV_G_ADDRPART:
			n->match.addrpart = t->id;
			break;
		default:
			break;
		}
	}

	for (k = 0; sig[k] != '\0'; k++) {
		if (sig[k] >= 'a' && sig[k] <= 'z')
			nreq++;
		else
			nopt++;
	}
	np = n->nargs - i;
	for (k = i; k < n->nargs; k++)
		if (n->args[k].type == SV_A_TAG) {
			sv_verror(v, n->args[k].pos, "unexpected tagged "
			    "argument ':%s' after the positional arguments "
			    "of the %s %s", n->args[k].tag, def->name, kn);
			return -1;
		}
	if (np < nreq) {
		sv_verror(v, n->pos, "the %s %s requires %zu positional "
		    "argument%s, but %zu %s found", def->name, kn, nreq,
		    nreq == 1 ? "" : "s", np, np == 1 ? "was" : "were");
		return -1;
	}
	if (np > nreq + nopt) {
		sv_verror(v, n->args[i + nreq + nopt].pos, "too many "
		    "arguments for the %s %s", def->name, kn);
		return -1;
	}
	use_opt = np - nreq;
	n->npos = 0;
	for (k = 0; sig[k] != '\0'; k++) {
		const struct sv_arg *a;

		if (sig[k] >= 'A' && sig[k] <= 'Z') {
			if (use_opt == 0)
				continue;
			use_opt--;
		}
		a = &n->args[i++];
		if (!type_ok(sig[k], a)) {
			sv_verror(v, a->pos, "the %s %s expects a %s as "
			    "argument %zu, but %s was found", def->name, kn,
			    want_name(sig[k]), n->npos + 1, argt_name(a->type));
			return -1;
		}
		n->pos_args[n->npos++] = a;
	}

	if (def->subtests == 0 && n->ntests > 0) {
		sv_verror(v, n->tests[0]->pos, "the %s %s takes no tests",
		    def->name, kn);
		return -1;
	}
	if (def->subtests == SV_ONE_TEST && (n->ntests != 1 || n->test_list)) {
		sv_verror(v, n->pos, "the %s %s requires exactly one test",
		    def->name, kn);
		return -1;
	}
	if (def->subtests == SV_TEST_LIST && !n->test_list) {
		sv_verror(v, n->pos, "the %s %s requires a test list",
		    def->name, kn);
		return -1;
	}
	if (def->kind == SV_COMMAND && def->block && !n->has_block) {
		sv_verror(v, n->pos, "the %s command requires a block",
		    def->name);
		return -1;
	}
	if (def->kind == SV_COMMAND && !def->block && n->has_block) {
		sv_verror(v, n->pos, "the %s command does not take a block",
		    def->name);
		return -1;
	}
	return 0;
}

static int validate_block(struct sv_vctx *v, struct sv_node *first,
    unsigned depth, int top);

static int
validate_node(struct sv_vctx *v, struct sv_node *n, unsigned depth)
{
	const struct sv_ext *ext = NULL, *hint;
	const struct sv_cmd *other;
	size_t i;
	int ret = 0;

	if (depth > SIEVE_MAX_NESTING) {
		sv_verror(v, n->pos, "nested too deeply");
		return -1;
	}
	n->def = find_cmd(v, n->name, n->kind, &ext, &hint, &other);
	if (n->def == NULL) {
		if (other != NULL)
			sv_verror(v, n->pos, "'%s' is a %s, not a %s", n->name,
			    kind_name(other->kind), kind_name(n->kind));
		else if (hint != NULL)
			sv_verror(v, n->pos, "unknown %s '%s' (missing "
			    "require \"%s\"?)", kind_name(n->kind), n->name,
			    hint->name);
		else
			sv_verror(v, n->pos, "unknown %s '%s'",
			    kind_name(n->kind), n->name);
		return -1;
	}
	n->ext = ext;
	if (process_strings(v, n) == -1)
		ret = -1;
	if (check_args(v, n) == -1)
		return -1;
	if ((n->def->tagsets & SV_TS_MATCH) && n->npos > 0 &&
	    sv_match_validate(v, n, n->npos - 1) == -1)
		ret = -1;
	if (n->def->flags & SV_CMD_NEEDS_BODY)
		v->script->needs_body = 1;
	for (i = 0; i < n->ntests; i++)
		if (validate_node(v, n->tests[i], depth + 1) == -1)
			ret = -1;
	if (n->def->validate != NULL && ret == 0 &&
	    n->def->validate(v, n) == -1)
		ret = -1;
	return ret;
}

/*
 * RFC 5463: "if ihave [...] { block }": known extensions are in effect
 * inside the block; with an unknown one the block is not compiled (and
 * never runs: ihave is false).
 */
static int
ihave_scope(struct sv_vctx *v, struct sv_node *n, uint64_t *add_out)
{
	const struct sv_node *t;
	size_t k;

	*add_out = 0;
	if (n->ntests != 1 || n->test_list)
		return 0;
	t = n->tests[0];
	if (strcasecmp(t->name, "ihave") != 0 || t->def == NULL ||
	    t->npos != 1)
		return 0;
	for (k = 0; k < t->pos_args[0]->n; k++) {
		int idx = sv_ext_index(t->pos_args[0]->v[k].s);

		if (idx < 0 || !((v->enabled >> idx) & 1))
			return -1;
		*add_out |= (uint64_t)1 << idx;
	}
	return 0;
}

static int
validate_block(struct sv_vctx *v, struct sv_node *first, unsigned depth,
    int top)
{
	struct sv_node *n, *prev = NULL;
	int ret = 0, in_prelude = top;

	for (n = first; n != NULL; prev = n, n = n->next) {
		int is_req = strcasecmp(n->name, "require") == 0;

		if (v->d->errors > SIEVE_MAX_ERRORS)
			return -1;
		if (is_req && !in_prelude) {
			sv_verror(v, n->pos, "require command can only be "
			    "placed at top level at the beginning of the "
			    "file");
			ret = -1;
			continue;
		}
		if (!is_req)
			in_prelude = 0;
		if (validate_node(v, n, depth) == -1) {
			ret = -1;
			continue;
		}
		if ((n->def->flags & SV_CMD_ELSE) && (prev == NULL ||
		    (prev->def != NULL &&
		    (!(prev->def->flags & (SV_CMD_IF | SV_CMD_ELSE)) ||
		    !strcasecmp(prev->name, "else"))))) {
			sv_verror(v, n->pos, "the %s command must follow an "
			    "if or elsif command", n->def->name);
			ret = -1;
		}
		if (n->has_block) {
			uint64_t saved = v->required, add;

			if (ihave_scope(v, n, &add) == -1) {
				n->skip = 1;
				continue;
			}
			v->required |= add;
			v->script->exts |= add;
			if (validate_block(v, n->block, depth + 1, 0) == -1)
				ret = -1;
			v->required = saved;
		}
	}
	return ret;
}

int
sv_validate(struct sv_vctx *v, struct sv_node *first)
{
	int r = validate_block(v, first, 0, 1);

	return r == -1 || v->d->errors > 0 ? -1 : 0;
}
