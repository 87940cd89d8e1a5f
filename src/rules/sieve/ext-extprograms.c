/*
 * ext-extprograms.c - Pigeonhole's sieve_extprograms plugin:
 * vnd.dovecot.pipe, vnd.dovecot.filter and vnd.dovecot.execute, for users
 * coming from procmail pipes. Programs come only from the admin's
 * directories (sieve_pipe_bin_dir, sieve_filter_bin_dir,
 * sieve_execute_bin_dir); as in Pigeonhole the extensions are off by
 * default (sieve_extensions = +vnd.dovecot.pipe ...). Without its
 * directory an extension still compiles (Pigeonhole 0.5.19 does the
 * same); every program is then "not found" at runtime.
 *
 *   pipe [:try] [:copy] program [args]
 *	an action: ACT_PIPE (arg program, argv args), carried out at commit
 *	by the executor (src/deliver/exec.c) with the stored message on
 *	stdin; cancels the implicit keep unless :copy ("copy" required).
 *	:try sets may_fail (shown by sluice test); a failing pipe never
 *	loses the message anyway (the executor keeps it when it was stored
 *	nowhere else). The program gets CRLF line ends, as Pigeonhole's
 *	default sieve_pipe_input_eol = crlf.
 *   filter program [args]            (command and test)
 *	runs now, the current message on stdin; its output becomes the
 *	message for the rest of the run and is what gets stored: through
 *	sieve_env.replace_message (the LDA re-spools it), else in place on
 *	a private copy (sluice test, unit tests). Failure: the message stays
 *	as it was; the test is false.
 *   execute [:input s | :pipe] [:output var] program [args] (command, test)
 *	runs now; :pipe sends the message, :input the string, else stdin is
 *	empty; :output stores stdout (at most SV_MAX_VAR_SIZE) when the
 *	program succeeds. The test is true on exit 0.
 *
 * As Pigeonhole (checked with sieve-test 0.5.19): a program that is not
 * in the directory, or is writable by others, is a runtime error for the
 * commands and false for the tests; a program that fails is neither. The
 * environment is fresh: HOME, USER, HOST, SENDER, RECIPIENT and
 * ORIG_RECIPIENT only. Timeout: sieve_<ext>_exec_timeout (10 s); the
 * whole process group is killed (src/lib/program.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "../../lib/program.h"
#include "sieve-int.h"

#define XP_DEFAULT_TIMEOUT	10		/* Pigeonhole's exec_timeout */
#define XP_FILTER_MAX		(256L * 1024 * 1024)	/* filter output */
#define XP_MAX_ARGS		64

/* node->data: where the program comes from (copied from the conf). */
struct xp_data {
	const char *bin_dir;
	unsigned timeout;
};

enum { XP_PIPE, XP_FILTER, XP_EXECUTE };

static int
xp_kind(const struct sv_node *n)
{
	if (!strcasecmp(n->def->name, "pipe"))
		return XP_PIPE;
	return strcasecmp(n->def->name, "filter") ? XP_EXECUTE : XP_FILTER;
}

static int
xp_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sieve_conf *c = v->conf;
	struct xp_data *d = arena_zalloc(v->arena, sizeof *d);
	const struct sv_tagval *out = sv_node_tag(n, "output");
	const struct sv_str *prog = &n->pos_args[0]->v[0];

	switch (xp_kind(n)) {
	case XP_PIPE:
		d->bin_dir = c ? c->pipe_bin_dir : NULL;
		d->timeout = c ? c->pipe_timeout : 0;
		if (sv_node_tag(n, "copy") && !sv_vrequired(v, "copy")) {
			sv_verror(v, sv_node_tag(n, "copy")->at->pos, "the "
			    ":copy tag for the pipe command requires the copy "
			    "extension");
			return -1;
		}
		break;
	case XP_FILTER:
		d->bin_dir = c ? c->filter_bin_dir : NULL;
		d->timeout = c ? c->filter_timeout : 0;
		break;
	default:
		d->bin_dir = c ? c->execute_bin_dir : NULL;
		d->timeout = c ? c->execute_timeout : 0;
		if (sv_node_tag(n, "input") && sv_node_tag(n, "pipe")) {
			sv_verror(v, n->pos, "the execute %s takes only one "
			    "of :input or :pipe", n->kind == SV_TEST ? "test" :
			    "command");
			return -1;
		}
		if (out != NULL) {
			const struct sv_str *s = &out->param->v[0];

			if (!sv_vrequired(v, "variables")) {
				sv_verror(v, out->at->pos, "the :output tag "
				    "requires the variables extension");
				return -1;
			}
			if (s->vars || !sv_var_name_ok(s->s, s->len)) {
				sv_verror(v, s->pos, "invalid variable name "
				    "'%s' for :output", s->s);
				return -1;
			}
		}
		break;
	}
	/* Pigeonhole: a program name is a plain file name. */
	if (!prog->vars && (prog->len == 0 || prog->s[0] == '.' ||
	    memchr(prog->s, '/', prog->len) != NULL)) {
		sv_verror(v, prog->pos, "%s: invalid program name '%s'",
		    n->def->name, prog->s);
		return -1;
	}
	if (!(n->def->flags & SV_CMD_NEEDS_BODY) && (xp_kind(n) == XP_PIPE ||
	    sv_node_tag(n, "pipe") != NULL))
		v->script->needs_body = 1;
	n->data = d;
	return 0;
}

/* Program path in out, or -1 with a message in why. */
static int
xp_resolve(const struct xp_data *d, const char *name, char *out,
    size_t outsz, char *why, size_t whysz)
{
	struct stat st;
	struct err e;

	err_clear(&e);
	if (program_resolve(d->bin_dir, name, out, outsz, &e) == -1) {
		(void)snprintf(why, whysz, "program `%.200s' not found (%.256s)", name,
		    e.msg);
		return -1;
	}
	/* Pigeonhole refuses what others could have changed. */
	if (stat(out, &st) == -1 || (st.st_mode & S_IWOTH)) {
		(void)snprintf(why, whysz, "executable for program `%.200s' is "
		    "world-writable", name);
		return -1;
	}
	return 0;
}

static const char *const *
xp_env(struct sv_rctx *r)
{
	const struct sieve_env *e = r->env;
	const char **env = arena_allocarray(r->arena, 7, sizeof *env);
	struct buf b = BUF_INIT;
	size_t n = 0;

#define XP_ENV(k, v) do {						\
		if ((v) != NULL) {					\
			buf_reset(&b);					\
			buf_addf(&b, "%s=%s", (k), (v));		\
			env[n++] = arena_strndup(r->arena, b.data, b.len); \
		}							\
	} while (0)
	XP_ENV("HOME", e->home);
	XP_ENV("USER", e->username);
	XP_ENV("HOST", e->host);
	XP_ENV("SENDER", e->sender);
	XP_ENV("RECIPIENT", e->recipient);
	XP_ENV("ORIG_RECIPIENT", e->orig_recipient ? e->orig_recipient :
	    e->recipient);
#undef XP_ENV
	env[n] = NULL;
	buf_free(&b);
	return env;
}

/* argv: path, then the string list argument (if any). */
static const char **
xp_argv(struct sv_rctx *r, const struct sv_node *n, const char *path)
{
	const char **args = NULL, **argv;
	size_t na = n->npos > 1 ? sv_pos_list(r, n, 1, &args) : 0, k;

	if (na > XP_MAX_ARGS)
		na = XP_MAX_ARGS;
	argv = arena_allocarray(r->arena, na + 2, sizeof *argv);
	argv[0] = path;
	for (k = 0; k < na; k++)
		argv[k + 1] = args[k];
	argv[na + 1] = NULL;
	return argv;
}

/* ---- pipe ---- */

static int
pipe_run(struct sv_rctx *r, const struct sv_node *n)
{
	const char *prog = sv_pos_str(r, n, 0), **args = NULL;
	int copy = sv_node_tag(n, "copy") != NULL;
	size_t na = n->npos > 1 ? sv_pos_list(r, n, 1, &args) : 0, k;
	struct action *a;

	if (prog[0] == '\0' || prog[0] == '.' || strchr(prog, '/') != NULL)
		return sv_rerror(r, n, "pipe action: invalid program name "
		    "'%s'", prog);
	if ((a = sv_action_add(r, n, ACT_PIPE, prog, copy)) == NULL)
		return -1;
	if (sv_node_tag(n, "try") != NULL)
		a->may_fail = 1;
	if (na > XP_MAX_ARGS)
		na = XP_MAX_ARGS;
	if (a->argv == NULL) {
		a->argv = xcalloc(na + 1, sizeof *a->argv);
		for (k = 0; k < na; k++)
			a->argv[k] = xstrdup(args[k]);
	}
	/* Pigeonhole: pipe delivers the message, so it cancels the
	 * implicit keep unless :copy. */
	if (!copy)
		r->res.implicit_keep = 0;
	return 0;
}

/* ---- filter ---- */

/* No LDA hook: the output becomes the message in place (private copy in
 * a memfd; nothing is stored by the callers that get here). */
static int
adopt_local(struct msg *m, int rawfd, struct err *e)
{
	struct msg *nm = msg_new();
	int fd = memfd_create("sluice-filter", MFD_CLOEXEC), ret = -1;

	if (fd == -1) {
		err_sys(e, errno, "memfd_create");
		goto out;
	}
	if (msg_spool(nm, rawfd, fd, e) == -1)
		goto out;
	msg_unmap(m);
	m->mime = NULL;
	msg_parse_header(m, nm->head ? nm->head : "", nm->head_len);
	m->size = nm->size;
	m->vsize = nm->vsize;
	if (msg_map(m, fd, e) == -1)
		goto out;
	ret = 0;
out:
	if (fd != -1)
		(void)close(fd);
	msg_free(&nm);
	return ret;
}

static int
filter_run(struct sv_rctx *r, const struct sv_node *n)
{
	const struct xp_data *d = n->data;
	const char *prog = sv_pos_str(r, n, 0);
	char path[4096], why[1024], how[64];
	struct program_opts o;
	struct program_result pr;
	struct err e;
	int rawfd = -1, ret = 0, is_test = n->kind == SV_TEST;

	memset(&pr, 0, sizeof pr);
	err_clear(&e);
	if (xp_resolve(d, prog, path, sizeof path, why, sizeof why) == -1)
		return is_test ? (sv_trace(r, n, "%s", why), 0) :
		    sv_rerror(r, n, "filter action: %s", why);
	/* The loop's parts point into the message being replaced. */
	if (sv_mime_in_loop(r))
		return sv_rerror(r, n, "filter action: not allowed inside a "
		    "foreverypart loop");
	if ((rawfd = memfd_create("sluice-filter-out", MFD_CLOEXEC)) == -1)
		return sv_rerror(r, n, "filter action: memfd_create: %s",
		    strerror(errno));
	program_opts_init(&o);
	o.argv = xp_argv(r, n, path);
	o.envp = xp_env(r);
	o.head = r->msg->data;
	o.head_len = r->msg->data ? r->msg->len : 0;
	if (r->msg->data == NULL) {
		/* Not mapped (no caller should do this): the header only. */
		o.head = r->msg->head;
		o.head_len = r->msg->head_len;
	}
	o.out_fd = rawfd;
	o.out_cap = XP_FILTER_MAX;
	o.timeout = d->timeout ? d->timeout : XP_DEFAULT_TIMEOUT;
	if (program_run(&o, &pr, &e) == -1 || !program_ok(&pr) ||
	    pr.out_truncated || pr.out_len == 0) {
		sv_trace(r, n, "filter %s failed: %s; message unchanged", prog,
		    e.cls != ERR_NONE ? e.msg : pr.out_truncated ?
		    "output too large" : program_ok(&pr) ? "no output" :
		    program_describe(&pr, how, sizeof how));
		log_info("sieve: filter %s failed (%s), message unchanged",
		    prog, e.cls != ERR_NONE ? e.msg : program_describe(&pr,
		    how, sizeof how));
		goto out;
	}
	if (lseek(rawfd, 0, SEEK_SET) == -1 ||
	    (r->env->replace_message != NULL ?
	    r->env->replace_message(r->env->replace_arg, r->msg, rawfd, &e) :
	    adopt_local(r->msg, rawfd, &e)) == -1) {
		ret = sv_rerror(r, n, "filter action: cannot use the output "
		    "of %s: %s", prog, e.cls != ERR_NONE ? e.msg :
		    strerror(errno));
		goto out;
	}
	sv_trace(r, n, "filter %s: message replaced (%lld bytes)", prog,
	    (long long)r->msg->size);
	ret = is_test ? 1 : 0;
out:
	(void)close(rawfd);
	program_result_free(&pr);
	return ret;
}

/* ---- execute ---- */

static int
execute_run(struct sv_rctx *r, const struct sv_node *n)
{
	const struct xp_data *d = n->data;
	const struct sv_tagval *in = sv_node_tag(n, "input");
	const struct sv_tagval *out = sv_node_tag(n, "output");
	const char *prog = sv_pos_str(r, n, 0), *input = NULL;
	char path[4096], why[1024], how[64];
	struct program_opts o;
	struct program_result pr;
	struct err e;
	int ret = 0, is_test = n->kind == SV_TEST;

	memset(&pr, 0, sizeof pr);
	err_clear(&e);
	if (xp_resolve(d, prog, path, sizeof path, why, sizeof why) == -1)
		return is_test ? (sv_trace(r, n, "%s", why), 0) :
		    sv_rerror(r, n, "execute action: %s", why);
	program_opts_init(&o);
	o.argv = xp_argv(r, n, path);
	o.envp = xp_env(r);
	if (in != NULL) {
		input = sv_str_expand(r, &in->param->v[0]);
		o.head = input;
		o.head_len = strlen(input);
	} else if (sv_node_tag(n, "pipe") != NULL) {
		o.head = r->msg->data ? r->msg->data : r->msg->head;
		o.head_len = r->msg->data ? r->msg->len : r->msg->head_len;
	}
	o.out_cap = SV_MAX_VAR_SIZE;
	o.timeout = d->timeout ? d->timeout : XP_DEFAULT_TIMEOUT;
	if (program_run(&o, &pr, &e) == -1 || !program_ok(&pr)) {
		sv_trace(r, n, "execute %s failed: %s", prog, e.cls !=
		    ERR_NONE ? e.msg : program_describe(&pr, how, sizeof how));
		goto out;
	}
	if (out != NULL) {
		char *val = arena_strndup(r->arena, pr.out.data ? pr.out.data :
		    "", pr.out.len);

		if (sv_var_set(r, out->param->v[0].s, val) == -1) {
			ret = sv_rerror(r, n, "too many variables");
			goto out;
		}
	}
	ret = is_test ? 1 : 0;
out:
	program_result_free(&pr);
	return ret;
}

/* ---- tables ---- */

static const struct sv_tag pipe_tags[] = {
	{ "try", SV_P_NONE, SV_G_OWN, 0 },
	{ "copy", SV_P_NONE, SV_G_OWN, 0 },
	{ NULL, 0, 0, 0 },
};

static const struct sv_cmd pipe_cmds[] = {
	{ .name = "pipe", .kind = SV_COMMAND, .sig = "sL", .tags = pipe_tags,
	  .validate = xp_validate, .run = pipe_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_vnd_pipe = {
	.name = "vnd.dovecot.pipe", .cmds = pipe_cmds,
	.flags = SV_EXT_HIDDEN,
};

static const struct sv_cmd filter_cmds[] = {
	{ .name = "filter", .kind = SV_COMMAND, .sig = "sL",
	  .flags = SV_CMD_NEEDS_BODY, .validate = xp_validate,
	  .run = filter_run },
	{ .name = "filter", .kind = SV_TEST, .sig = "sL",
	  .flags = SV_CMD_NEEDS_BODY, .validate = xp_validate,
	  .run = filter_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_vnd_filter = {
	.name = "vnd.dovecot.filter", .cmds = filter_cmds,
	.flags = SV_EXT_HIDDEN,
};

static const struct sv_tag execute_tags[] = {
	{ "input", SV_P_STR, SV_G_OWN, 0 },
	{ "pipe", SV_P_NONE, SV_G_OWN, 0 },
	{ "output", SV_P_STR, SV_G_OWN, 0 },
	{ NULL, 0, 0, 0 },
};

static const struct sv_cmd execute_cmds[] = {
	{ .name = "execute", .kind = SV_COMMAND, .sig = "sL",
	  .tags = execute_tags, .validate = xp_validate, .run = execute_run },
	{ .name = "execute", .kind = SV_TEST, .sig = "sL",
	  .tags = execute_tags, .validate = xp_validate, .run = execute_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_vnd_execute = {
	.name = "vnd.dovecot.execute", .cmds = execute_cmds,
	.flags = SV_EXT_HIDDEN,
};
