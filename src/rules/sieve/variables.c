/*
 * variables.c - RFC 5229: "set" with modifiers, the "string" test,
 * ${name} and ${0}..${9} substitution at runtime. Names are
 * case-insensitive; namespaces ("a.b") are not supported and are errors
 * in set, as Pigeonhole reports them.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sieve-int.h"

int
sv_var_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || !((s[0] >= 'a' && s[0] <= 'z') ||
	    (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return 0;
	for (i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
		    (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

static long
find_var(struct sv_rctx *r, const char *name, size_t len)
{
	size_t i;

	/* RFC 6609 3.3: globals are stored as "global.name". */
	if (sv_include_global_key(r, name, len, &name))
		len = strlen(name);

	for (i = 0; i < r->nvars; i++)
		if (strlen(r->var_names[i]) == len &&
		    !strncasecmp(r->var_names[i], name, len))
			return (long)i;
	return -1;
}

const char *
sv_var_get(struct sv_rctx *r, const char *name)
{
	long i = find_var(r, name, strlen(name));

	return i >= 0 ? r->var_vals[i] : NULL;
}

int
sv_var_set(struct sv_rctx *r, const char *name, const char *value)
{
	long i = find_var(r, name, strlen(name));
	size_t len = strlen(value);

	/* Pigeonhole truncates values at the size limit. */
	if (len > SV_MAX_VAR_SIZE)
		len = SV_MAX_VAR_SIZE;
	if (i < 0) {
		if (r->nvars >= SV_MAX_VARS)
			return -1;
		if (r->nvars % 16 == 0) {
			char **nn = arena_allocarray(r->arena, r->nvars + 16,
			    sizeof *nn);
			char **nv = arena_allocarray(r->arena, r->nvars + 16,
			    sizeof *nv);

			if (r->nvars) {
				memcpy(nn, r->var_names, r->nvars * sizeof *nn);
				memcpy(nv, r->var_vals, r->nvars * sizeof *nv);
			}
			r->var_names = nn;
			r->var_vals = nv;
		}
		i = (long)r->nvars++;
		if (!sv_include_global_key(r, name, strlen(name), &name))
			name = arena_strdup(r->arena, name);
		r->var_names[i] = (char *)name;
	}
	r->var_vals[i] = arena_strndup(r->arena, value, len);
	return 0;
}

void
sv_clear_match(struct sv_rctx *r)
{
	memset(r->match, 0, sizeof r->match);
	r->nmatch = 0;
}

void
sv_set_match(struct sv_rctx *r, int i, const char *p, size_t len)
{
	if (i < 0 || i >= SV_MAX_MATCH)
		return;
	r->match[i] = arena_strndup(r->arena, p,
	    len > SV_MAX_VAR_SIZE ? SV_MAX_VAR_SIZE : len);
	if (i + 1 > r->nmatch)
		r->nmatch = i + 1;
}

/* RFC 5229 3: "${" identifier / num-variable "}"; anything else stays. */
const char *
sv_str_expand(struct sv_rctx *r, const struct sv_str *s)
{
	struct buf b = BUF_INIT;
	const char *res;
	size_t i = 0;

	if (!s->vars)
		return s->s;
	while (i < s->len) {
		const char *end;
		size_t n;

		if (s->s[i] != '$' || i + 1 >= s->len || s->s[i + 1] != '{' ||
		    (end = memchr(s->s + i + 2, '}', s->len - i - 2)) == NULL) {
			buf_addc(&b, s->s[i++]);
			continue;
		}
		n = (size_t)(end - (s->s + i + 2));
		if (n > 0 && strspn(s->s + i + 2, "0123456789") >= n) {
			unsigned long num = 0;
			size_t k;

			for (k = 0; k < n && num < 1000; k++)
				num = num * 10 + (unsigned long)(s->s[i + 2 + k] -
				    '0');
			if (num < SV_MAX_MATCH && r->match[num] != NULL)
				buf_adds(&b, r->match[num]);
			i += n + 3;
		} else if (sv_var_name_ok(s->s + i + 2, n) ||
		    (n > 7 && !strncasecmp(s->s + i + 2, "global.", 7) &&
		    sv_var_name_ok(s->s + i + 9, n - 7) &&
		    sv_ext_required(r->script, "include"))) {
			long v = find_var(r, s->s + i + 2, n);

			if (v >= 0)
				buf_adds(&b, r->var_vals[v]);
			i += n + 3;
		} else {
			buf_addc(&b, s->s[i++]);
		}
		if (b.len > SV_MAX_STRING)
			break;
	}
	res = arena_strndup(r->arena, b.data ? b.data : "", b.len);
	buf_free(&b);
	return res;
}

/* ---- set ---- */

enum { MOD_LOWER = 1, MOD_UPPER, MOD_LOWERFIRST, MOD_UPPERFIRST,
	MOD_QUOTEWILDCARD, MOD_LENGTH };

static const struct sv_tag set_tags[] = {
	{ "lower", SV_P_NONE, SV_G_OWN, MOD_LOWER },
	{ "upper", SV_P_NONE, SV_G_OWN, MOD_UPPER },
	{ "lowerfirst", SV_P_NONE, SV_G_OWN, MOD_LOWERFIRST },
	{ "upperfirst", SV_P_NONE, SV_G_OWN, MOD_UPPERFIRST },
	{ "quotewildcard", SV_P_NONE, SV_G_OWN, MOD_QUOTEWILDCARD },
	{ "length", SV_P_NONE, SV_G_OWN, MOD_LENGTH },
	{ NULL, 0, 0, 0 },
};

static int
precedence(int id)
{
	switch (id) {
	case MOD_LOWER: case MOD_UPPER: return 40;
	case MOD_LOWERFIRST: case MOD_UPPERFIRST: return 30;
	case MOD_QUOTEWILDCARD: return 20;
	case SV_MOD_ENCODEURL: return 15;	/* RFC 5435 6 */
	default: return 10;
	}
}

static int
check_var_name(struct sv_vctx *v, const struct sv_str *s)
{
	/* RFC 6609 3.5: the "global" namespace. */
	if (s->len > 7 && !strncasecmp(s->s, "global.", 7) &&
	    sv_vrequired(v, "include") && sv_var_name_ok(s->s + 7, s->len - 7))
		return 0;
	if (memchr(s->s, '.', s->len) != NULL) {
		sv_verror(v, s->pos, "variable name '%s' is in an unknown "
		    "namespace", s->s);
		return -1;
	}
	if (!sv_var_name_ok(s->s, s->len)) {
		sv_verror(v, s->pos, "invalid variable name '%s'", s->s);
		return -1;
	}
	return 0;
}

static int
set_validate(struct sv_vctx *v, struct sv_node *n)
{
	size_t i, k;

	/* RFC 5229 4.1: one modifier per precedence level. */
	for (i = 0; i < n->ntags; i++)
		for (k = i + 1; k < n->ntags; k++)
			if (precedence(n->tags[i].def->id) ==
			    precedence(n->tags[k].def->id)) {
				sv_verror(v, n->tags[k].at->pos, "modifiers "
				    ":%s and :%s have the same precedence",
				    n->tags[i].def->name, n->tags[k].def->name);
				return -1;
			}
	return check_var_name(v, &n->pos_args[0]->v[0]);
}

static int
set_run(struct sv_rctx *r, const struct sv_node *n)
{
	const char *name = n->pos_args[0]->v[0].s;
	struct buf b = BUF_INIT;
	int prec;
	size_t i, k;

	buf_adds(&b, sv_pos_str(r, n, 1));
	for (prec = 40; prec >= 10; prec -= 5) {
		for (i = 0; i < n->ntags; i++) {
			int id = n->tags[i].def->id;

			if (precedence(id) != prec)
				continue;
			switch (id) {
			case MOD_LOWER:
			case MOD_UPPER:
				for (k = 0; k < b.len; k++) {
					char c = b.data[k];

					if (id == MOD_LOWER && c >= 'A' &&
					    c <= 'Z')
						b.data[k] = (char)(c + 32);
					if (id == MOD_UPPER && c >= 'a' &&
					    c <= 'z')
						b.data[k] = (char)(c - 32);
				}
				break;
			case MOD_LOWERFIRST:
				if (b.len && b.data[0] >= 'A' &&
				    b.data[0] <= 'Z')
					b.data[0] = (char)(b.data[0] + 32);
				break;
			case MOD_UPPERFIRST:
				if (b.len && b.data[0] >= 'a' &&
				    b.data[0] <= 'z')
					b.data[0] = (char)(b.data[0] - 32);
				break;
			case MOD_QUOTEWILDCARD: {
				struct buf q = BUF_INIT;

				for (k = 0; k < b.len; k++) {
					if (b.data[k] == '*' ||
					    b.data[k] == '?' ||
					    b.data[k] == '\\')
						buf_addc(&q, '\\');
					buf_addc(&q, b.data[k]);
				}
				buf_free(&b);
				b = q;
				break;
			}
			case SV_MOD_ENCODEURL:	/* ext-enotify.c */
				sv_encodeurl(&b);
				break;
			case MOD_LENGTH: {
				/* RFC 5229 4.1.1: length in characters */
				size_t chars = 0;

				for (k = 0; k < b.len; k++)
					if (((unsigned char)b.data[k] & 0xc0) !=
					    0x80)
						chars++;
				buf_reset(&b);
				buf_addf(&b, "%zu", chars);
				break;
			}
			}
		}
	}
	if (sv_var_set(r, name, b.data ? b.data : "") == -1) {
		buf_free(&b);
		return sv_rerror(r, n, "too many variables (max %d)",
		    SV_MAX_VARS);
	}
	sv_trace(r, n, "${%s} = \"%.80s\"", name, b.data ? b.data : "");
	buf_free(&b);
	return 0;
}

/* ---- string test ---- */

static int
string_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sv_matcher m;
	const char **src;
	size_t i, cnt;

	if (sv_match_begin(&m, r, n, 1) == -1)
		return sv_match_end(&m);
	cnt = sv_pos_list(r, n, 0, &src);
	for (i = 0; i < cnt; i++) {
		/* RFC 5229 5: :count counts the non-empty strings. */
		if (n->match.mtype == MT_COUNT && src[i][0] == '\0')
			continue;
		if (sv_match_value(&m, src[i], strlen(src[i])) != 0 &&
		    n->match.mtype != MT_COUNT)
			break;
	}
	return sv_match_end(&m);
}

static const struct sv_cmd variables_cmds[] = {
	{ .name = "set", .kind = SV_COMMAND, .sig = "ss", .tags = set_tags,
	  .validate = set_validate, .run = set_run },
	{ .name = "string", .kind = SV_TEST, .sig = "ll",
	  .tagsets = SV_TS_MATCH | SV_TS_COMPARATOR, .run = string_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_variables = {
	.name = "variables", .cmds = variables_cmds,
};
