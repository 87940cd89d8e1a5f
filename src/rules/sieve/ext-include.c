/*
 * ext-include.c - RFC 6609: include [:personal|:global] [:once]
 * [:optional] "name", return, global, and the "global." variable
 * namespace, with Pigeonhole's rules:
 *
 * - "name" is a constant script name (no "/", no control bytes) that
 *   names the file name.sieve in the personal directory (sieve_dir, by
 *   default ~/sieve) or the global one (sieve_global).
 * - Every included script is compiled, recursively, while the including
 *   script is validated: nothing runs before the whole tree compiled. A
 *   script included several times is compiled once. A missing script is
 *   a compile error at the include command unless :optional; an include
 *   cycle (without :once) is an error, as is nesting deeper than
 *   sieve_include_max_nesting_depth or more than sieve_include_max_includes
 *   distinct scripts.
 * - At runtime the included script's actions go into the same result
 *   (RFC 6609 3.2); "stop" ends everything, "return" ends the current
 *   script. :once skips a script that already ran through an include.
 *   Variables are local to each script, except globals.
 *
 * Known difference: a name declared with "global" is global in the whole
 * script, also before the declaration (Pigeonhole: from the declaration
 * on).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "sieve-int.h"

/* The scripts a root compile pulled in (owned; the root not counted). */
struct sv_inc_tree {
	struct sieve_script *root;
	struct sieve_script **v;
	size_t n, cap;
};

enum { LOC_PERSONAL = 1, LOC_GLOBAL, INC_ONCE, INC_OPTIONAL };

static const struct sv_tag include_tags[] = {
	{ "personal", SV_P_NONE, SV_G_OWN, LOC_PERSONAL },
	{ "global", SV_P_NONE, SV_G_OWN, LOC_GLOBAL },
	{ "once", SV_P_NONE, SV_G_OWN, INC_ONCE },
	{ "optional", SV_P_NONE, SV_G_OWN, INC_OPTIONAL },
	{ NULL, 0, 0, 0 },
};

/* node->data of an include */
struct inc_data {
	struct sieve_script *s;		/* NULL: :optional and missing */
	const char *loc;		/* "personal" / "global" */
	const char *name;
	int once;
};

/* Runtime state (per run, r->arena). */
struct inc_state {
	struct sieve_script **ran;	/* scripts run through an include */
	size_t nran;
};

void
sv_include_free(struct sieve_script *s)
{
	struct sv_inc_tree *t = s->inc;
	size_t i;

	if (t == NULL || t->root != s)
		return;
	for (i = 0; i < t->n; i++)
		sieve_script_free(&t->v[i]);
	free(t->v);
	free(t);
	s->inc = NULL;
}

/* Pigeonhole's sieve_script_name_is_valid(), for file storage. */
static int
name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 255 || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '/' || c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

static int
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!strcmp(a, b))
		return 1;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static struct sieve_script *
tree_find(const struct sv_inc_tree *t, const char *path)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i]->path != NULL && same_file(t->v[i]->path, path))
			return t->v[i];
	return NULL;
}

static int
include_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sieve_conf *c = v->conf;
	const struct sv_str *nm = &n->pos_args[0]->v[0];
	struct sieve_script *self = v->script, *p, *child = NULL;
	struct inc_data *id;
	unsigned maxdepth = c && c->max_include_depth ? c->max_include_depth :
	    SIEVE_DEFAULT_INCLUDE_DEPTH;
	unsigned maxinc = c && c->max_includes ? c->max_includes :
	    SIEVE_DEFAULT_MAX_INCLUDES;
	const char *dir;
	struct stat st;
	struct buf path = BUF_INIT;
	size_t i;
	int loc = LOC_PERSONAL, once = 0, optional = 0, nloc = 0, ret = -1;

	for (i = 0; i < n->ntags; i++) {
		switch (n->tags[i].def->id) {
		case LOC_PERSONAL:
		case LOC_GLOBAL:
			loc = n->tags[i].def->id;
			if (nloc++) {
				sv_verror(v, n->tags[i].at->pos, "include: "
				    "multiple location arguments");
				return -1;
			}
			break;
		case INC_ONCE:
			once = 1;
			break;
		case INC_OPTIONAL:
			optional = 1;
			break;
		}
	}
	/* RFC 6609 3.2: the name is a constant. */
	if (nm->vars) {
		sv_verror(v, nm->pos, "include: the script name must be a "
		    "constant string");
		return -1;
	}
	if (!name_ok(nm->s, nm->len) || strlen(nm->s) != nm->len) {
		sv_verror(v, n->pos, "include: invalid script name '%s'",
		    nm->s);
		return -1;
	}
	id = arena_zalloc(v->arena, sizeof *id);
	id->loc = loc == LOC_GLOBAL ? "global" : "personal";
	id->name = nm->s;
	id->once = once;
	n->data = id;
	dir = c == NULL ? NULL : loc == LOC_GLOBAL ? c->global_dir :
	    c->personal_dir;
	if (dir == NULL || dir[0] == '\0') {
		sv_verror(v, n->pos, "include: %s location for included "
		    "script '%s' is unavailable (contact system administrator "
		    "for more information)", id->loc, nm->s);
		return -1;
	}
	buf_addf(&path, "%s/%s.sieve", dir, nm->s);
	if (stat(path.data, &st) == -1) {
		if (errno == ENOENT && optional) {
			ret = 0;	/* skipped at runtime */
			goto out;
		}
		if (errno == ENOENT)
			sv_verror(v, n->pos, "included %s script '%s' does not "
			    "exist", id->loc, nm->s);
		else
			sv_verror(v, n->pos, "included %s script '%s': %s",
			    id->loc, nm->s, strerror(errno));
		goto out;
	}
	/* An include cycle: an error unless :once breaks it. */
	for (p = self; p != NULL; p = p->inc_parent)
		if (p->path != NULL && same_file(p->path, path.data))
			break;
	if (p != NULL && !once) {
		sv_verror(v, n->pos, "circular include");
		goto out;
	}
	if (p == NULL && self->inc_depth >= maxdepth) {
		sv_verror(v, n->pos, "cannot nest includes deeper than %u "
		    "levels", maxdepth);
		goto out;
	}
	if (self->inc == NULL) {
		self->inc = xcalloc(1, sizeof *self->inc);
		self->inc->root = self;
	}
	if (p != NULL)
		child = p;
	else if ((child = tree_find(self->inc, path.data)) == NULL) {
		if (self->inc->n >= maxinc) {
			sv_verror(v, n->pos, "failed to include script: no "
			    "more than %u includes allowed", maxinc);
			goto out;
		}
		if (sv_compile_file_sub(c, path.data, v->d, self, &child) ==
		    -1) {
			sv_verror(v, n->pos, "failed to compile included %s "
			    "script '%s'", id->loc, nm->s);
			goto out;
		}
		if (self->inc->n == self->inc->cap) {
			self->inc->cap = self->inc->cap ? self->inc->cap * 2 :
			    8;
			self->inc->v = xreallocarray(self->inc->v,
			    self->inc->cap, sizeof *self->inc->v);
		}
		self->inc->v[self->inc->n++] = child;
	}
	id->s = child;
	if (child->needs_body)
		self->needs_body = 1;
	ret = 0;
out:
	buf_free(&path);
	return ret;
}

static int
include_run(struct sv_rctx *r, const struct sv_node *n)
{
	const struct inc_data *id = n->data;
	struct inc_state **stp = (struct inc_state **)sv_ext_state(r,
	    &sv_ext_include);
	struct inc_state *st;
	struct sieve_script *caller = r->script, *p;
	char **onames = r->var_names, **ovals = r->var_vals;
	size_t onvars = r->nvars, i, ng = 0, cap;
	int v, seen = 0;

	if (id->s == NULL) {
		sv_trace(r, n, "include: %s script '%s' is missing "
		    "(:optional), skipped", id->loc, id->name);
		return 0;
	}
	if ((st = *stp) == NULL)
		st = *stp = arena_zalloc(r->arena, sizeof *st);
	for (i = 0; i < st->nran; i++)
		if (st->ran[i] == id->s)
			seen = 1;
	/* A :once cycle back to a script that is running: skip too. */
	for (p = caller; p != NULL && !seen; p = p->inc_parent)
		if (p == id->s)
			seen = 1;
	if (seen && id->once) {
		sv_trace(r, n, "include: %s script '%s' already ran, skipped "
		    "(:once)", id->loc, id->name);
		return 0;
	}
	if (st->nran % 16 == 0) {
		struct sieve_script **nv = arena_allocarray(r->arena,
		    st->nran + 16, sizeof *nv);

		if (st->nran)
			memcpy(nv, st->ran, st->nran * sizeof *nv);
		st->ran = nv;
	}
	st->ran[st->nran++] = id->s;

	/* RFC 6609 3.3: the included script sees only the globals. */
	for (i = 0; i < onvars; i++)
		if (!strncasecmp(onames[i], "global.", 7))
			ng++;
	cap = (ng + 15) / 16 * 16;
	r->var_names = ng ? arena_allocarray(r->arena, cap, sizeof (char *)) :
	    NULL;
	r->var_vals = ng ? arena_allocarray(r->arena, cap, sizeof (char *)) :
	    NULL;
	r->nvars = 0;
	for (i = 0; i < onvars; i++)
		if (!strncasecmp(onames[i], "global.", 7)) {
			r->var_names[r->nvars] = onames[i];
			r->var_vals[r->nvars++] = ovals[i];
		}
	sv_trace(r, n, "including %s script '%s' (%s)", id->loc, id->name,
	    id->s->name);
	r->script = id->s;
	v = sv_run_commands(r, id->s->first);
	r->script = caller;
	{
		char **inames = r->var_names, **ivals = r->var_vals;
		size_t invars = r->nvars;

		r->var_names = onames;
		r->var_vals = ovals;
		r->nvars = onvars;
		for (i = 0; i < invars; i++)
			if (!strncasecmp(inames[i], "global.", 7) &&
			    sv_var_set(r, inames[i], ivals[i]) == -1)
				return sv_rerror(r, n, "too many variables "
				    "(max %d)", SV_MAX_VARS);
	}
	if (v == SV_RETURN)
		return 0;
	return v;	/* 0, SV_STOP (ends everything) or -1 */
}

static int
return_run(struct sv_rctx *r, const struct sv_node *n)
{
	(void)r;
	(void)n;
	return SV_RETURN;
}

static int
global_run(struct sv_rctx *r, const struct sv_node *n)
{
	(void)r;
	(void)n;
	return 0;
}

/* RFC 6609 3.3: global needs variables. */
static int
global_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_arg *a = n->pos_args[0];
	struct sieve_script *s = v->script;
	size_t k;

	if (!sv_vrequired(v, "variables")) {
		sv_verror(v, n->pos, "global command requires that variables "
		    "extension is active");
		return -1;
	}
	for (k = 0; k < a->n; k++) {
		if (!sv_var_name_ok(a->v[k].s, a->v[k].len)) {
			sv_verror(v, a->v[k].pos, "invalid variable name '%s'",
			    a->v[k].s);
			return -1;
		}
		if (s->nglobals >= SV_MAX_VARS) {
			sv_verror(v, a->v[k].pos, "too many global variables");
			return -1;
		}
		if (s->nglobals % 16 == 0) {
			char **ng = arena_allocarray(v->arena, s->nglobals + 16,
			    sizeof *ng);

			if (s->nglobals)
				memcpy(ng, s->globals, s->nglobals *
				    sizeof *ng);
			s->globals = ng;
		}
		s->globals[s->nglobals++] = a->v[k].s;
	}
	return 0;
}

int
sv_include_global_key(struct sv_rctx *r, const char *name, size_t len,
    const char **key_out)
{
	const struct sieve_script *s = r->script;
	size_t i;

	if (s == NULL || !sv_ext_required(s, "include"))
		return 0;
	if (len > 7 && !strncasecmp(name, "global.", 7) &&
	    sv_var_name_ok(name + 7, len - 7)) {
		*key_out = arena_strndup(r->arena, name, len);
		return 1;
	}
	for (i = 0; i < s->nglobals; i++)
		if (strlen(s->globals[i]) == len &&
		    !strncasecmp(s->globals[i], name, len)) {
			struct buf b = BUF_INIT;

			buf_adds(&b, "global.");
			buf_add(&b, name, len);
			*key_out = arena_strndup(r->arena, b.data, b.len);
			buf_free(&b);
			return 1;
		}
	return 0;
}

static const struct sv_cmd include_cmds[] = {
	{ .name = "include", .kind = SV_COMMAND, .sig = "s",
	  .tags = include_tags,
	  .validate = include_validate, .run = include_run },
	{ .name = "return", .kind = SV_COMMAND, .run = return_run },
	{ .name = "global", .kind = SV_COMMAND, .sig = "l",
	  .flags = SV_CMD_NOVARS, .validate = global_validate,
	  .run = global_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_include = {
	.name = "include", .cmds = include_cmds,
};
