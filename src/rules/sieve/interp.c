/*
 * interp.c - compile driver, the tree walker, the result (RFC 5228 2.10
 * action rules, Pigeonhole's limits and conflicts) and the multiscript
 * sequence.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "sieve-int.h"

/* ---- compiling ---- */

static int
compile_sub(const struct sieve_conf *c, const char *name, const char *src,
    size_t len, struct sieve_diags *d, struct sieve_script *parent,
    const char *path, struct sieve_script **out)
{
	struct sieve_script *s;
	struct sv_vctx v;
	size_t max = c && c->max_script_size ? c->max_script_size :
	    SIEVE_DEFAULT_MAX_SCRIPT_SIZE;
	unsigned before = d->errors;

	*out = NULL;
	s = xcalloc(1, sizeof *s);
	s->arena = arena_new();
	s->name = arena_strdup(s->arena, name);
	s->path = path ? arena_strdup(s->arena, path) : NULL;
	if (parent != NULL) {
		/* ext-include.c: one tree per root compile */
		s->inc = parent->inc;
		s->inc_parent = parent;
		s->inc_depth = parent->inc_depth + 1;
	}
	if (len > max) {
		struct sv_pos nopos = { 0, 0 };

		sv_diag(d, name, nopos, 1, "script is too large (%zu bytes, "
		    "sieve_max_script_size is %zu)", len, max);
		goto fail;
	}
	s->first = sv_parse(s->name, src, len, s->arena, d);
	if (d->errors > before)
		goto fail;
	memset(&v, 0, sizeof v);
	v.arena = s->arena;
	v.script = s;
	v.d = d;
	v.conf = c;
	v.enabled = sv_ext_enabled_mask(c ? c->extensions : NULL);
	/* vnd.dovecot.testsuite exists under `sluice testsuite` only (on
	 * there, off everywhere else even when sieve_extensions names it). */
	{
		int ti = sv_ext_index("vnd.dovecot.testsuite");

		if (ti >= 0 && c != NULL && c->testsuite)
			v.enabled |= (uint64_t)1 << ti;
		else if (ti >= 0)
			v.enabled &= ~((uint64_t)1 << ti);
	}
	if (sv_validate(&v, s->first) == -1 || d->errors > before)
		goto fail;
	*out = s;
	return 0;
fail:
	sieve_script_free(&s);
	return -1;
}

int
sieve_compile(const struct sieve_conf *c, const char *name, const char *src,
    size_t len, struct sieve_diags *d, struct sieve_script **out)
{
	return compile_sub(c, name, src, len, d, NULL, NULL, out);
}

int
sieve_compile_file(const struct sieve_conf *c, const char *path,
    struct sieve_diags *d, struct sieve_script **out)
{
	return sv_compile_file_sub(c, path, d, NULL, out);
}

int
sv_compile_file_sub(const struct sieve_conf *c, const char *path,
    struct sieve_diags *d, struct sieve_script *parent,
    struct sieve_script **out)
{
	size_t max = c && c->max_script_size ? c->max_script_size :
	    SIEVE_DEFAULT_MAX_SCRIPT_SIZE;
	struct sv_pos nopos = { 0, 0 };
	struct buf b = BUF_INIT;
	struct stat st;
	int fd, ret = -1;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		sv_diag(d, path, nopos, 1, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		sv_diag(d, path, nopos, 1, "not a regular file");
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		sv_diag(d, path, nopos, 1, "script is too large (%lld bytes, "
		    "sieve_max_script_size is %zu)", (long long)st.st_size,
		    max);
		goto out;
	}
	for (;;) {
		ssize_t n;

		buf_reserve(&b, 65536);
		n = read(fd, b.data + b.len, 65536);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			sv_diag(d, path, nopos, 1, "read: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		if (b.len > max) {
			sv_diag(d, path, nopos, 1, "script is too large");
			goto out;
		}
	}
	ret = compile_sub(c, path, b.data ? b.data : "", b.len, d, parent,
	    path, out);
out:
	close(fd);
	buf_free(&b);
	return ret;
}

void
sieve_script_free(struct sieve_script **sp)
{
	if (*sp == NULL)
		return;
	sv_include_free(*sp);
	arena_free(&(*sp)->arena);
	free(*sp);
	*sp = NULL;
}

int
sieve_needs_body(const struct sieve_script *s)
{
	return s->needs_body;
}

const char *
sieve_script_name(const struct sieve_script *s)
{
	return s->name;
}

int
sv_ext_required(const struct sieve_script *s, const char *ext)
{
	int i = sv_ext_index(ext);

	if (i < 0)
		return 0;
	if (sv_registry_ext((size_t)i)->flags & SV_EXT_CORE)
		return 1;
	return (s->exts >> i) & 1;
}

/* ---- runtime helpers ---- */

int
sv_rerror(struct sv_rctx *r, const struct sv_node *n, const char *fmt, ...)
{
	va_list ap;
	struct sv_pos nopos = { 0, 0 };

	r->error = 1;
	va_start(ap, fmt);
	sv_vdiag(r->d, r->script->name, n ? n->pos : nopos, 1, fmt, ap);
	va_end(ap);
	if (r->trace != NULL) {
		buf_addf(r->trace, "%s: runtime error\n",
		    n ? n->origin : r->script->name);
	}
	return -1;
}

void
sv_trace(struct sv_rctx *r, const struct sv_node *n, const char *fmt, ...)
{
	va_list ap;

	if (r->trace == NULL)
		return;
	buf_addf(r->trace, "%s:   ", n->origin);
	va_start(ap, fmt);
	buf_vaddf(r->trace, fmt, ap);
	va_end(ap);
	buf_addc(r->trace, '\n');
}

void **
sv_ext_state(struct sv_rctx *r, const struct sv_ext *ext)
{
	int i = sv_ext_ptr_index(ext);

	return i >= 0 ? &r->ext_state[i] : &r->ext_state[SV_MAX_EXTS - 1];
}

const char *
sv_pos_str(struct sv_rctx *r, const struct sv_node *n, size_t i)
{
	return sv_str_expand(r, &n->pos_args[i]->v[0]);
}

size_t
sv_arg_list(struct sv_rctx *r, const struct sv_arg *a, const char ***out)
{
	const char **v = arena_allocarray(r->arena, a->n + 1, sizeof *v);
	size_t k;

	for (k = 0; k < a->n; k++)
		v[k] = sv_str_expand(r, &a->v[k]);
	v[a->n] = NULL;
	*out = v;
	return a->n;
}

size_t
sv_pos_list(struct sv_rctx *r, const struct sv_node *n, size_t i,
    const char ***out)
{
	return sv_arg_list(r, n->pos_args[i], out);
}

const struct sv_tagval *
sv_node_tag(const struct sv_node *n, const char *name)
{
	size_t i;

	for (i = 0; i < n->ntags; i++)
		if (strcasecmp(n->tags[i].def->name, name) == 0)
			return &n->tags[i];
	return NULL;
}

const char *
sv_body_raw(struct sv_rctx *r, size_t *len_out)
{
	*len_out = 0;
	if (r->msg->data == NULL)
		return NULL;
	*len_out = r->msg->len;
	return r->msg->data;
}

/* ---- the result ---- */

static int
delivers(enum act_type t)
{
	return t == ACT_KEEP || t == ACT_FILEINTO || t == ACT_REDIRECT;
}

static int
same_mailbox(const struct action *a, enum act_type t, const char *arg)
{
	const char *x = a->type == ACT_KEEP ? "INBOX" : a->arg;
	const char *y = t == ACT_KEEP ? "INBOX" : arg;

	if (a->type != ACT_KEEP && a->type != ACT_FILEINTO)
		return 0;
	if (!strcasecmp(x, "INBOX") && !strcasecmp(y, "INBOX"))
		return 1;
	return strcmp(x, y) == 0;
}

struct action *
sv_action_add(struct sv_rctx *r, const struct sv_node *n, enum act_type type,
    const char *arg, int copy)
{
	struct sv_result *res = &r->res;
	struct action_list *l = res->l;
	unsigned max_act = r->env->max_actions ? r->env->max_actions :
	    SIEVE_DEFAULT_MAX_ACTIONS;
	unsigned max_red = r->env->max_redirects ? r->env->max_redirects :
	    SIEVE_DEFAULT_MAX_REDIRECTS;
	struct action *a = NULL;
	size_t i;

	/* RFC 5429 2.1/2.2 and Pigeonhole: reject excludes delivery. */
	if (type == ACT_REJECT || type == ACT_EREJECT) {
		if (res->rejected) {
			sv_rerror(r, n, "duplicate reject/ereject action not "
			    "allowed");
			return NULL;
		}
		for (i = res->start; i < l->n; i++)
			if (delivers(l->v[i].type)) {
				sv_rerror(r, n, "%s action conflicts with other "
				    "action: the %s action tries to deliver "
				    "the message", action_type_name(type),
				    action_type_name(l->v[i].type));
				return NULL;
			}
		res->rejected = 1;
	} else if (delivers(type) && res->rejected) {
		sv_rerror(r, n, "%s action conflicts with other action: the "
		    "reject action refuses the message",
		    action_type_name(type));
		return NULL;
	}

	/* RFC 5228 2.10.3: duplicates are done once. */
	for (i = 0; i < l->n && a == NULL; i++) {
		struct action *x = &l->v[i];

		if ((type == ACT_KEEP || type == ACT_FILEINTO) &&
		    same_mailbox(x, type, arg))
			a = x;
		else if (type == ACT_REDIRECT && x->type == ACT_REDIRECT &&
		    !strcasecmp(x->arg, arg))
			a = x;
		else if (type == ACT_DISCARD && x->type == ACT_DISCARD)
			a = x;
	}
	if (a != NULL) {
		if (!copy)
			a->copy = 0;
	} else {
		if (res->nactions >= max_act) {
			sv_rerror(r, n, "total number of actions exceeds "
			    "policy limit (%u)", max_act);
			return NULL;
		}
		if (type == ACT_REDIRECT && res->nredirects >= max_red) {
			sv_rerror(r, n, "number of redirect actions exceeds "
			    "policy limit (%u)", max_red);
			return NULL;
		}
		if ((a = actions_add(l, type, arg, n->origin)) == NULL) {
			sv_rerror(r, n, "too many actions");
			return NULL;
		}
		a->copy = copy ? 1 : 0;
		res->nactions++;
		if (type == ACT_REDIRECT)
			res->nredirects++;
	}
	switch (type) {
	case ACT_KEEP:
		res->keep_seen = 1;
		/* FALLTHROUGH */
	case ACT_FILEINTO:
	case ACT_REDIRECT:
	case ACT_DISCARD:
	case ACT_REJECT:
	case ACT_EREJECT:
		/* RFC 5228 2.10.2; RFC 3894 :copy keeps it. */
		if (!copy)
			res->implicit_keep = 0;
		break;
	default:
		break;
	}
	return a;
}

/* ---- the walker ---- */

static void
quote(struct buf *b, const char *s, size_t max)
{
	size_t i;

	buf_addc(b, '"');
	for (i = 0; s[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			buf_addf(b, "\\%c", c);
		else if (c == '\n')
			buf_adds(b, "\\n");
		else if (c == '\r')
			buf_adds(b, "\\r");
		else if (c < 0x20 || c == 0x7f)
			buf_addf(b, "\\x%02x", c);
		else
			buf_addc(b, (int)c);
	}
	if (s[i] != '\0')
		buf_adds(b, "...");
	buf_addc(b, '"');
}

/* The node as written (for the trace), without sub-tests. */
static void
node_text(const struct sv_node *n, struct buf *b)
{
	size_t i, k;

	buf_adds(b, n->def ? n->def->name : n->name);
	for (i = 0; i < n->nargs; i++) {
		const struct sv_arg *a = &n->args[i];

		buf_addc(b, ' ');
		switch (a->type) {
		case SV_A_TAG:
			buf_addf(b, ":%s", a->tag);
			break;
		case SV_A_NUM:
			buf_addf(b, "%llu", (unsigned long long)a->num);
			break;
		case SV_A_STR:
			quote(b, a->v[0].s, 80);
			break;
		case SV_A_LIST:
			buf_addc(b, '[');
			for (k = 0; k < a->n && k < 8; k++) {
				if (k)
					buf_adds(b, ", ");
				quote(b, a->v[k].s, 80);
			}
			if (k < a->n)
				buf_adds(b, ", ...");
			buf_addc(b, ']');
			break;
		}
	}
}

static int
check_cpu(struct sv_rctx *r, const struct sv_node *n)
{
	if ((++r->steps & 63) != 0)
		return 0;
	if ((double)(clock() - r->cpu_start) / CLOCKS_PER_SEC >
	    (double)r->max_cpu)
		return sv_rerror(r, n, "execution exceeded CPU time limit "
		    "(sieve_max_cpu_time %u s)", r->max_cpu);
	return 0;
}

int
sv_run_test(struct sv_rctx *r, const struct sv_node *t)
{
	int v;

	if (check_cpu(r, t) == -1)
		return -1;
	r->trace_hit = NULL;
	v = t->def->run(r, t);
	if (r->trace != NULL && v >= 0) {
		struct buf b = BUF_INIT;
		char q[200];

		node_text(t, &b);
		buf_addf(r->trace, "%s:   %s -> %s", t->origin, b.data,
		    v ? "true" : "false");
		if (r->trace_hit != NULL && v)
			buf_addf(r->trace, " (%s)", log_quote(q, sizeof q,
			    r->trace_hit, strlen(r->trace_hit)));
		buf_addc(r->trace, '\n');
		buf_free(&b);
	}
	return v;
}

int
sv_run_commands(struct sv_rctx *r, const struct sv_node *first)
{
	const struct sv_node *n;
	int taken = 0, v;

	for (n = first; n != NULL; n = n->next) {
		if (check_cpu(r, n) == -1)
			return -1;
		if (n->def->flags & (SV_CMD_IF | SV_CMD_ELSE)) {
			if ((n->def->flags & SV_CMD_ELSE) && taken)
				continue;
			if (n->ntests == 0)
				v = 1;		/* else */
			else if ((v = sv_run_test(r, n->tests[0])) < 0)
				return -1;
			if (r->trace != NULL)
				buf_addf(r->trace, "%s: %s%s\n", n->origin,
				    n->def->name, v ? "" : " (not taken)");
			taken = v;
			if (v && !n->skip &&
			    (v = sv_run_commands(r, n->block)) != 0)
				return v;
			continue;
		}
		taken = 0;
		if (r->trace != NULL) {
			struct buf b = BUF_INIT;

			node_text(n, &b);
			buf_addf(r->trace, "%s: %s\n", n->origin, b.data);
			buf_free(&b);
		}
		if ((v = n->def->run(r, n)) != 0)
			return v;
		if (r->error)
			return -1;
	}
	return 0;
}

/* ---- the sequence ---- */

struct sieve_run {
	struct msg *msg;
	const struct sieve_env *env;
	struct action_list *out;
	struct buf *trace;
	int implicit_keep;
	int failed;
	int ended;
	char *flags;		/* imap4flags of the last script */
	size_t deferred_keep;	/* index+1 of an explicit keep to drop */
	unsigned nactions, nredirects;
};

struct sieve_run *
sieve_run_new(struct msg *m, const struct sieve_env *env,
    struct action_list *out, struct buf *trace)
{
	struct sieve_run *r = xcalloc(1, sizeof *r);

	r->msg = m;
	r->env = env;
	r->out = out;
	r->trace = trace;
	r->implicit_keep = 1;
	return r;
}


static void
truncate_actions(struct action_list *l, size_t n)
{
	while (l->n > n)
		action_clear(&l->v[--l->n]);
}

static void
remove_action(struct action_list *l, size_t i)
{
	action_clear(&l->v[i]);
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof l->v[0]);
	l->n--;
}

int
sieve_run_script(struct sieve_run *run, struct sieve_script *s,
    struct sieve_diags *d)
{
	struct sv_rctx r;
	size_t i;
	int v;

	if (run->failed || run->ended || s == NULL)
		return 0;
	/* Pigeonhole: a keep of an earlier script is not final; the keep
	 * carries over to the next script as its implicit keep. */
	if (run->deferred_keep > 0) {
		remove_action(run->out, run->deferred_keep - 1);
		run->deferred_keep = 0;
	}
	memset(&r, 0, sizeof r);
	r.arena = arena_new();
	r.script = s;
	r.msg = run->msg;
	r.env = run->env;
	r.d = d;
	r.trace = run->trace;
	r.res.l = run->out;
	r.res.start = run->out->n;
	r.res.implicit_keep = 1;
	r.res.nactions = run->nactions;
	r.res.nredirects = run->nredirects;
	r.flags = arena_strdup(r.arena, "");
	r.cpu_start = clock();
	r.max_cpu = run->env->max_cpu_time ? run->env->max_cpu_time :
	    SIEVE_DEFAULT_MAX_CPU_TIME;
	if (run->trace != NULL)
		buf_addf(run->trace, "%s: running\n", s->name);
	v = sv_run_commands(&r, s->first);
	for (i = 0; i < sv_registry_count(); i++) {
		const struct sv_ext *x = sv_registry_ext(i);

		if (x->run_done != NULL && r.ext_state[i] != NULL)
			x->run_done(&r);
	}
	if (v == -1 || r.error) {
		/* RFC 5228 2.10.6: runtime error -> implicit keep; what
		 * this script decided is dropped. */
		truncate_actions(run->out, r.res.start);
		run->failed = 1;
		run->implicit_keep = 1;
		arena_free(&r.arena);
		return -1;
	}
	run->nactions = r.res.nactions;
	run->nredirects = r.res.nredirects;
	run->implicit_keep = r.res.implicit_keep;
	free(run->flags);
	run->flags = xstrdup(r.flags);
	arena_free(&r.arena);
	if (!r.res.implicit_keep && !r.res.keep_seen) {
		run->ended = 1;
		return 0;
	}
	if (r.res.keep_seen) {
		for (i = r.res.start; i < run->out->n; i++)
			if (run->out->v[i].type == ACT_KEEP)
				run->deferred_keep = i + 1;
		run->implicit_keep = 1;
	}
	return 1;
}

void
sieve_run_fail(struct sieve_run *run)
{
	run->failed = 1;
	run->implicit_keep = 1;
}

/* imap4flags string -> FLAG_* and keywords on a. */
static void
flags_to_action(const char *flags, struct action *a)
{
	static const struct { const char *name; unsigned bit; } sys[] = {
		{ "\\seen", FLAG_SEEN }, { "\\answered", FLAG_ANSWERED },
		{ "\\flagged", FLAG_FLAGGED }, { "\\deleted", FLAG_DELETED },
		{ "\\draft", FLAG_DRAFT },
	};
	const char *kw[64];
	char *copy = xstrdup(flags), *tok, *save = NULL;
	size_t nk = 0, i;

	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		for (i = 0; i < 5; i++)
			if (!strcasecmp(tok, sys[i].name))
				break;
		if (i < 5)
			a->flags |= sys[i].bit;
		else if (tok[0] != '\\' && nk < 63)
			kw[nk++] = tok;
	}
	kw[nk] = NULL;
	if (nk > 0)
		action_set_keywords(a, kw);
	free(copy);
}

long
sieve_run_finish(struct sieve_run *run)
{
	struct action *a;

	run->out->implicit_keep = run->implicit_keep;
	if (!run->implicit_keep)
		return -1;
	if (run->deferred_keep > 0) {
		/* The last script kept explicitly: that is not implicit. */
		run->out->implicit_keep = 0;
		return -1;
	}
	if (!run->failed && run->flags != NULL && run->flags[0] != '\0') {
		/* RFC 5232 3: the implicit keep uses the current flags. */
		a = actions_add(run->out, ACT_KEEP, NULL, NULL);
		if (a != NULL) {
			flags_to_action(run->flags, a);
			run->out->implicit_keep = 0;
			return (long)(run->out->n - 1);
		}
	}
	return -1;
}

void
sieve_run_free(struct sieve_run **rp)
{
	if (*rp == NULL)
		return;
	free((*rp)->flags);
	free(*rp);
	*rp = NULL;
}

/* For keep/fileinto :flags and the internal variable (ext-imap4flags). */
void
sv_flags_apply(struct sv_rctx *r, const struct sv_node *n, struct action *a)
{
	const struct sv_tagval *t = sv_node_tag(n, "flags");
	struct buf b = BUF_INIT;
	unsigned old = a->flags;

	if (t != NULL) {
		const char **v;
		size_t k, cnt = sv_arg_list(r, t->param, &v);

		for (k = 0; k < cnt; k++) {
			buf_adds(&b, v[k]);
			buf_addc(&b, ' ');
		}
	} else if (sv_ext_required(r->script, "imap4flags")) {
		buf_adds(&b, r->flags);
	}
	if (b.len > 0) {
		char **oldkw = a->keywords;

		a->keywords = NULL;
		flags_to_action(b.data, a);
		a->flags |= old;
		if (oldkw != NULL) {
			/* merge keywords of a duplicate */
			const char *kw[128];
			size_t nk = 0, k;

			for (k = 0; a->keywords && a->keywords[k] && nk < 64;
			    k++)
				kw[nk++] = a->keywords[k];
			for (k = 0; oldkw[k] != NULL && nk < 127; k++)
				kw[nk++] = oldkw[k];
			kw[nk] = NULL;
			{
				char **cur = a->keywords;

				a->keywords = NULL;
				action_set_keywords(a, kw);
				for (k = 0; cur && cur[k]; k++)
					free(cur[k]);
				free(cur);
			}
			for (k = 0; oldkw[k] != NULL; k++)
				free(oldkw[k]);
			free(oldkw);
		}
	}
	buf_free(&b);
}

/* ---- formatting ---- */

void
sieve_action_format(const struct action *a, struct buf *out)
{
	static const char *const fl[] = { "\\Seen", "\\Answered", "\\Flagged",
	    "\\Deleted", "\\Draft" };
	struct buf f = BUF_INIT;
	size_t k;

	buf_adds(out, action_type_name(a->type));
	if (a->arg != NULL && a->type != ACT_KEEP) {
		buf_addc(out, ' ');
		quote(out, a->arg, 4096);
	}
	for (k = 0; k < 5; k++)
		if (a->flags & (1u << k)) {
			if (f.len)
				buf_addc(&f, ' ');
			buf_adds(&f, fl[k]);
		}
	for (k = 0; a->keywords != NULL && a->keywords[k] != NULL; k++) {
		if (f.len)
			buf_addc(&f, ' ');
		buf_adds(&f, a->keywords[k]);
	}
	if (f.len > 0) {
		buf_adds(out, " :flags ");
		quote(out, f.data, 4096);
	}
	if (a->may_fail)
		buf_adds(out, " :try");
	if (a->copy)
		buf_adds(out, " :copy");
	if (a->create)
		buf_adds(out, " :create");
	/* editheader (RFC 5293): value, :last, :index */
	if (a->type == ACT_ADDHEADER) {
		buf_addc(out, ' ');
		quote(out, a->value ? a->value : "", 4096);
		if (a->last)
			buf_adds(out, " :last");
	} else if (a->type == ACT_DELETEHEADER && a->index > 0) {
		buf_addf(out, " :index %d%s", a->index, a->last ? " :last" : "");
	} else if (a->type == ACT_VACATION) {
		/* What sieve-test lists: subject, period, and why no reply
		 * is due (Pigeonhole decides that only at commit). */
		if (a->subject != NULL) {
			buf_adds(out, " :subject ");
			quote(out, a->subject, 4096);
		}
		buf_addf(out, " :seconds %ld", a->period);
		if (a->status == ACT_SKIPPED)
			buf_addf(out, " (not sent: %s)", a->err.msg);
	}
	buf_free(&f);
}
