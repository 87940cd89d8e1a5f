/*
 * ext-testsuite.c - vnd.dovecot.testsuite, as Pigeonhole's testsuite
 * runs it (see sieve-testsuite.h). Only `sluice testsuite` compiles with
 * sieve_conf.testsuite set; everywhere else "require
 * \"vnd.dovecot.testsuite\"" is an unknown capability (interp.c).
 *
 * A test block runs its commands; test_fail (and a failing testsuite
 * command) prints the failure and unwinds the block with SV_STOP while
 * ts->failing is set, so `test` can tell it from a real stop (which ends
 * the script, as in Pigeonhole).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve-int.h"
#include "sieve-testsuite.h"

/* ---- state and output ---- */

void
sieve_testsuite_init(struct sieve_testsuite *ts)
{
	memset(ts, 0, sizeof *ts);
	ts->out = stdout;
}

void
sieve_testsuite_clear_log(struct sieve_testsuite *ts)
{
	size_t i;

	for (i = 0; i < ts->nerr; i++) {
		free(ts->err_loc[i]);
		free(ts->err_msg[i]);
	}
	free(ts->err_loc);
	free(ts->err_msg);
	ts->err_loc = ts->err_msg = NULL;
	ts->nerr = 0;
}

void
sieve_testsuite_free(struct sieve_testsuite *ts)
{
	sieve_testsuite_clear_log(ts);
	sieve_script_free(&ts->compiled);
	free(ts->name);
	ts->name = NULL;
}

void
sieve_testsuite_error(struct sieve_testsuite *ts, const char *loc,
    const char *msg)
{
	ts->err_loc = xrealloc(ts->err_loc, (ts->nerr + 1) * sizeof *ts->err_loc);
	ts->err_msg = xrealloc(ts->err_msg, (ts->nerr + 1) * sizeof *ts->err_msg);
	ts->err_loc[ts->nerr] = xstrdup(loc ? loc : "");
	ts->err_msg[ts->nerr] = xstrdup(msg);
	ts->nerr++;
}

/* Pigeonhole's test_error sees the message without its location: split
 * "file:line:col: error: text" lines; warnings are not errors. */
void
sieve_testsuite_log_diags(struct sieve_testsuite *ts,
    const struct sieve_diags *d)
{
	static const char sep[] = ": error: ";
	const char *p = d->text.data;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, "\n");
		char *line = xstrndup(p, n), *at = strstr(line, sep);

		if (at != NULL) {
			*at = '\0';
			sieve_testsuite_error(ts, line, at + sizeof sep - 1);
		} else if (strncmp(line, "error: ", 7) == 0) {
			sieve_testsuite_error(ts, "", line + 7);
		}
		free(line);
		p += n;
		if (*p == '\n')
			p++;
	}
}

static void
test_fail_line(struct sieve_testsuite *ts, const char *reason)
{
	if (ts->name == NULL || ts->name[0] == '\0') {
		if (reason == NULL || reason[0] == '\0')
			fprintf(ts->out, "%2u: Test FAILED\n", ts->index);
		else
			fprintf(ts->out, "%2u: Test FAILED: %s\n", ts->index,
			    reason);
	} else if (reason == NULL || reason[0] == '\0') {
		fprintf(ts->out, "%2u: Test '%s' FAILED\n", ts->index,
		    ts->name);
	} else {
		fprintf(ts->out, "%2u: Test '%s' FAILED: %s\n", ts->index,
		    ts->name, reason);
	}
	free(ts->name);
	ts->name = NULL;
	ts->failures++;
}

void
sieve_testsuite_case_fail(struct sieve_testsuite *ts, const char *reason)
{
	if (reason == NULL || reason[0] == '\0')
		fprintf(ts->out, "XX: Test CASE FAILED\n");
	else
		fprintf(ts->out, "XX: Test CASE FAILED: %s\n", reason);
	ts->failures++;
}

int
sieve_testsuite_result(struct sieve_testsuite *ts)
{
	if (ts->failures > 0) {
		fprintf(ts->out, "\nFAIL: %u of %u tests failed.\n\n",
		    ts->failures, ts->index);
		fflush(ts->out);
		return 1;
	}
	fprintf(ts->out, "\nPASS: %u tests succeeded.\n\n", ts->index);
	fflush(ts->out);
	return 0;
}

static struct sieve_testsuite *
tsuite(struct sv_rctx *r)
{
	return r->env->testsuite;
}

/* A failure inside a test unwinds the test block (SV_STOP with failing
 * set); outside one it is only counted. */
static int
fail(struct sv_rctx *r, const char *reason)
{
	struct sieve_testsuite *ts = tsuite(r);
	int in_test = ts->name != NULL;

	test_fail_line(ts, reason);
	if (!in_test)
		return 0;
	ts->failing = 1;
	return SV_STOP;
}

/* The runner replaced the message: the rest of the run sees it. */
static void
sync_msg(struct sv_rctx *r)
{
	r->msg = tsuite(r)->msg;
	r->hcache = NULL;	/* decoded values belong to the old message */
}

/* ---- test, test_fail ---- */

static int
test_validate(struct sv_vctx *v, struct sv_node *n)
{
	(void)v;
	(void)n;
	return 0;
}

static int
test_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sieve_testsuite *ts = tsuite(r);
	int v;

	free(ts->name);
	ts->name = xstrdup(sv_pos_str(r, n, 0));
	ts->index++;
	ts->failing = 0;
	v = sv_run_commands(r, n->block);
	if (v == SV_STOP && ts->failing) {
		ts->failing = 0;
		return 0;
	}
	if (v != 0 || r->error)
		return v;	/* stop or a runtime error: the script ends */
	if (ts->name != NULL) {
		fprintf(ts->out, "%2u: Test '%s' SUCCEEDED\n", ts->index,
		    ts->name);
		free(ts->name);
		ts->name = NULL;
	}
	return 0;
}

static int
test_fail_run(struct sv_rctx *r, const struct sv_node *n)
{
	return fail(r, sv_pos_str(r, n, 0));
}

/* ---- test_set ---- */

static const char *const set_objects[] = {
	"message", "envelope.from", "envelope.to", "envelope.orig_to",
	"envelope.auth", NULL,
};

static int
set_object_ok(const char *s)
{
	size_t i;

	for (i = 0; set_objects[i] != NULL; i++)
		if (strcasecmp(s, set_objects[i]) == 0)
			return 1;
	return 0;
}

static int
test_set_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_str *s = &n->pos_args[0]->v[0];

	if (!s->vars && !set_object_ok(s->s)) {
		sv_verror(v, s->pos, "test_set: unknown testsuite object "
		    "'%s'", s->s);
		return -1;
	}
	return 0;
}

static int
test_set_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sieve_testsuite *ts = tsuite(r);
	const char *name = sv_pos_str(r, n, 0);
	const char *value = sv_pos_str(r, n, 1);
	struct buf why = BUF_INIT;
	int ret = 0;

	if (!set_object_ok(name))
		return sv_rerror(r, n, "test_set: unknown testsuite object "
		    "'%s'", name);
	if (ts->ops->set(ts, name, value, &why) == -1) {
		ret = sv_rerror(r, n, "test_set %s: %s", name,
		    why.data ? why.data : "failed");
	}
	buf_free(&why);
	sync_msg(r);
	return ret;
}

/* ---- test_message, test_message_print ---- */

enum { TM_SMTP = 1, TM_FOLDER };

static const struct sv_tag test_message_tags[] = {
	{ "smtp", SV_P_NONE, SV_G_OWN, TM_SMTP },
	{ "folder", SV_P_STR, SV_G_OWN, TM_FOLDER },
	{ NULL, 0, 0, 0 },
};

static int
test_message_validate(struct sv_vctx *v, struct sv_node *n)
{
	if (n->ntags != 1) {
		sv_verror(v, n->pos, "exactly one of the ':smtp' or ':folder' "
		    "tags must be specified for the test_message %s",
		    n->kind == SV_TEST ? "test" : "command");
		return -1;
	}
	return 0;
}

static int
test_message_do(struct sv_rctx *r, const struct sv_node *n, int is_test)
{
	struct sieve_testsuite *ts = tsuite(r);
	const struct sv_tagval *t = sv_node_tag(n, "folder");
	const char *folder = NULL;
	unsigned long idx = (unsigned long)n->pos_args[0]->num;
	char reason[512];
	int found;

	if (t != NULL) {
		const char **v;

		(void)sv_arg_list(r, t->param, &v);
		folder = v[0];
	}
	found = ts->ops->message(ts, folder, idx);
	sync_msg(r);
	if (is_test)
		return found == 1;
	if (found == 1)
		return 0;
	if (folder == NULL)
		(void)snprintf(reason, sizeof reason, "no outgoing SMTP "
		    "message with index %lu", idx);
	else
		(void)snprintf(reason, sizeof reason, "no message in folder "
		    "'%s' with index %lu", folder, idx);
	return fail(r, reason);
}

static int
test_message_cmd_run(struct sv_rctx *r, const struct sv_node *n)
{
	return test_message_do(r, n, 0);
}

static int
test_message_tst_run(struct sv_rctx *r, const struct sv_node *n)
{
	return test_message_do(r, n, 1);
}

static int
test_message_print_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sieve_testsuite *ts = tsuite(r);

	(void)n;
	fprintf(ts->out, "\n--MESSAGE: \n");
	if (r->msg->data != NULL)
		(void)fwrite(r->msg->data, 1, r->msg->len, ts->out);
	else
		(void)fwrite(r->msg->head, 1, r->msg->head_len, ts->out);
	fprintf(ts->out, "\n--MESSAGE--\n");
	return 0;
}

/* ---- the result ---- */

/* Drop every action of the result; the running script starts over. */
static void
result_reset(struct sv_rctx *r)
{
	struct sieve_testsuite *ts = tsuite(r);

	actions_free(ts->result);
	if (r->res.l == ts->result) {
		r->res.start = 0;
		r->res.nactions = 0;
		r->res.nredirects = 0;
		r->res.rejected = 0;
		r->res.implicit_keep = 1;
		r->res.keep_seen = 0;
	}
	ts->executed = 0;
	if (ts->ops->reset != NULL)
		ts->ops->reset(ts);
}

static int
test_result_reset_run(struct sv_rctx *r, const struct sv_node *n)
{
	(void)n;
	result_reset(r);
	return 0;
}

static int
test_result_print_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sieve_testsuite *ts = tsuite(r);
	struct buf line = BUF_INIT;
	size_t i;

	(void)n;
	fprintf(ts->out, "\n--\n");
	for (i = 0; i < ts->result->n; i++) {
		buf_reset(&line);
		sieve_action_format(&ts->result->v[i], &line);
		fprintf(ts->out, "  * %s\n", line.data);
	}
	buf_free(&line);
	fprintf(ts->out, "--\n\n");
	return 0;
}

/* RFC 5228 2.10.2: the implicit keep is cancelled by any action that
 * delivers or refuses the message, unless it was given :copy. */
static int
implicit_keep_of(const struct action_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct action *a = &l->v[i];

		switch (a->type) {
		case ACT_KEEP:
		case ACT_FILEINTO:
		case ACT_REDIRECT:
		case ACT_DISCARD:
		case ACT_REJECT:
		case ACT_EREJECT:
			if (!a->copy)
				return 0;
			break;
		default:
			break;
		}
	}
	return 1;
}

static int
test_result_execute_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sieve_testsuite *ts = tsuite(r);

	(void)n;
	sieve_testsuite_clear_log(ts);
	/* Pigeonhole: a result is carried out once. */
	if (ts->executed)
		return 1;
	ts->result->implicit_keep = implicit_keep_of(ts->result);
	ts->executed = 1;
	return ts->ops->execute(ts, ts->result) == 1;
}

/* Action names as Pigeonhole's result lists them. */
static const char *
action_name(const struct action *a)
{
	switch (a->type) {
	case ACT_FILEINTO:
		return "store";
	default:
		return action_type_name(a->type);
	}
}

static const struct sv_tag index_tags[] = {
	{ "index", SV_P_NUM, SV_G_OWN, 1 },
	{ NULL, 0, 0, 0 },
};

/* test_error and test_result_action compare with i;octet by default. */
static int
octet_default_validate(struct sv_vctx *v, struct sv_node *n)
{
	(void)v;
	if (sv_node_tag(n, "comparator") == NULL)
		n->match.comparator = CMP_OCTET;
	return 0;
}

static unsigned long
index_of(const struct sv_node *n)
{
	const struct sv_tagval *t = sv_node_tag(n, "index");

	return t != NULL ? (unsigned long)t->param->num : 0;
}

static int
test_result_action_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sieve_testsuite *ts = tsuite(r);
	unsigned long idx = index_of(n);
	struct sv_matcher m;
	size_t i;

	if (sv_match_begin(&m, r, n, 0) == -1)
		return sv_match_end(&m);
	for (i = 0; i < ts->result->n; i++) {
		const char *name = action_name(&ts->result->v[i]);

		if (idx > 0 && i + 1 != idx)
			continue;
		if (sv_match_value(&m, name, strlen(name)) != 0 &&
		    n->match.mtype != MT_COUNT)
			break;
	}
	return sv_match_end(&m);
}

static int
test_error_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sieve_testsuite *ts = tsuite(r);
	unsigned long idx = index_of(n);
	struct sv_matcher m;
	size_t i;

	if (sv_match_begin(&m, r, n, 0) == -1)
		return sv_match_end(&m);
	for (i = 0; i < ts->nerr; i++) {
		if (idx > 0 && i + 1 != idx)
			continue;
		if (sv_match_value(&m, ts->err_msg[i],
		    strlen(ts->err_msg[i])) != 0 &&
		    n->match.mtype != MT_COUNT)
			break;
	}
	return sv_match_end(&m);
}

/* ---- mailboxes, settings ---- */

static int
with_why(struct sv_rctx *r, int rc, struct buf *why, const char *what)
{
	char reason[1024];

	if (rc != -1) {
		buf_free(why);
		return 0;
	}
	(void)snprintf(reason, sizeof reason, "%s: %s", what,
	    why->data ? why->data : "failed");
	buf_free(why);
	return fail(r, reason);
}

static int
test_mailbox_create_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sieve_testsuite *ts = tsuite(r);
	struct buf why = BUF_INIT;

	return with_why(r, ts->ops->mailbox_create(ts, sv_pos_str(r, n, 0),
	    &why), &why, "test_mailbox_create");
}

static int
test_config_set_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sieve_testsuite *ts = tsuite(r);
	struct buf why = BUF_INIT;
	int unset = n->npos == 1;

	return with_why(r, ts->ops->config_set(ts, sv_pos_str(r, n, 0),
	    unset ? NULL : sv_pos_str(r, n, 1), &why), &why,
	    unset ? "test_config_unset" : "test_config_set");
}

static const struct sv_tag reload_tags[] = {
	{ "extension", SV_P_STR, SV_G_OWN, 1 },
	{ NULL, 0, 0, 0 },
};

static int
test_config_reload_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sieve_testsuite *ts = tsuite(r);
	const struct sv_tagval *t = sv_node_tag(n, "extension");
	const char *ext = NULL;
	struct buf why = BUF_INIT;

	if (t != NULL) {
		const char **v;

		(void)sv_arg_list(r, t->param, &v);
		ext = v[0];
	}
	return with_why(r, ts->ops->config_reload(ts, ext, &why), &why,
	    "test_config_reload");
}

/* ---- other scripts ---- */

static char *
script_path(struct sieve_testsuite *ts, const char *name)
{
	struct buf b = BUF_INIT;

	if (name[0] == '/' || ts->dir == NULL)
		buf_adds(&b, name);
	else
		buf_addf(&b, "%s/%s", ts->dir, name);
	return buf_steal(&b);
}

static int
test_script_compile_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sieve_testsuite *ts = tsuite(r);
	char *path = script_path(ts, sv_pos_str(r, n, 0));
	struct sieve_diags d;
	struct sieve_script *s = NULL;
	int rc;

	sieve_testsuite_clear_log(ts);
	sieve_diags_init(&d);
	rc = sieve_compile_file(ts->conf, path, &d, &s);
	sieve_testsuite_log_diags(ts, &d);
	sieve_diags_free(&d);
	free(path);
	if (rc == -1)
		return 0;
	sieve_script_free(&ts->compiled);
	ts->compiled = s;
	return 1;
}

static const struct sv_tag run_tags[] = {
	{ "append_result", SV_P_NONE, SV_G_OWN, 1 },
	{ NULL, 0, 0, 0 },
};

static int
test_script_run_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sieve_testsuite *ts = tsuite(r);
	struct sieve_diags d;
	struct sieve_run *run;
	int rc;

	if (ts->compiled == NULL)
		return sv_rerror(r, n, "testsuite: trying to run script, but "
		    "no script compiled yet");
	sieve_testsuite_clear_log(ts);
	if (sv_node_tag(n, "append_result") == NULL)
		result_reset(r);
	sieve_diags_init(&d);
	run = sieve_run_new(ts->msg, r->env, ts->result, NULL);
	rc = sieve_run_script(run, ts->compiled, &d);
	(void)sieve_run_finish(run);
	sieve_run_free(&run);
	sieve_testsuite_log_diags(ts, &d);
	sieve_diags_free(&d);
	ts->executed = 0;
	return rc >= 0;
}

/* Pigeonhole: the scripts run as one multiscript sequence (its own
 * result) that is then carried out; true when all compiled, ran and
 * were carried out. */
static int
test_multiscript_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sieve_testsuite *ts = tsuite(r);
	struct sieve_script **sv;
	struct sieve_diags d;
	struct sieve_run *run;
	struct action_list l;
	const char **names;
	size_t cnt = sv_pos_list(r, n, 0, &names), i, nsc = 0;
	int ok = 1, rc;

	sieve_testsuite_clear_log(ts);
	sieve_diags_init(&d);
	sv = xcalloc(cnt + 1, sizeof *sv);
	for (i = 0; i < cnt; i++) {
		char *path = script_path(ts, names[i]);

		rc = sieve_compile_file(ts->conf, path, &d, &sv[nsc]);
		free(path);
		if (rc == -1) {
			ok = 0;
			break;
		}
		nsc++;
	}
	actions_init(&l);
	run = sieve_run_new(ts->msg, r->env, &l, NULL);
	if (!ok)
		sieve_run_fail(run);
	for (i = 0; i < nsc && ok; i++) {
		rc = sieve_run_script(run, sv[i], &d);
		if (rc == -1)
			ok = 0;
		if (rc <= 0)
			break;
	}
	(void)sieve_run_finish(run);
	sieve_run_free(&run);
	sieve_testsuite_log_diags(ts, &d);
	sieve_diags_free(&d);
	if (ts->ops->execute(ts, &l) != 1)
		ok = 0;
	actions_free(&l);
	for (i = 0; i < nsc; i++)
		sieve_script_free(&sv[i]);
	free(sv);
	return ok;
}

static const struct sv_tag metadata_tags[] = {
	{ "mailbox", SV_P_STR, SV_G_OWN, 1 },
	{ NULL, 0, 0, 0 },
};

/* IMAP METADATA is not part of sluice: the test is always false, with
 * an error in the log saying so. */
static int
test_imap_metadata_set_run(struct sv_rctx *r, const struct sv_node *n)
{
	(void)n;
	sieve_testsuite_error(tsuite(r), "", "test_imap_metadata_set: IMAP "
	    "METADATA is not supported by sluice");
	return 0;
}

#define MATCHING (SV_TS_MATCH | SV_TS_COMPARATOR)

static const struct sv_cmd testsuite_cmds[] = {
	{ .name = "test", .kind = SV_COMMAND, .sig = "s", .block = 1,
	  .validate = test_validate, .run = test_run },
	{ .name = "test_fail", .kind = SV_COMMAND, .sig = "s",
	  .run = test_fail_run },
	{ .name = "test_set", .kind = SV_COMMAND, .sig = "ss",
	  .validate = test_set_validate, .run = test_set_run },
	{ .name = "test_message", .kind = SV_COMMAND, .sig = "n",
	  .tags = test_message_tags, .validate = test_message_validate,
	  .run = test_message_cmd_run },
	{ .name = "test_message", .kind = SV_TEST, .sig = "n",
	  .tags = test_message_tags, .validate = test_message_validate,
	  .run = test_message_tst_run },
	{ .name = "test_message_print", .kind = SV_COMMAND,
	  .run = test_message_print_run },
	{ .name = "test_result_reset", .kind = SV_COMMAND,
	  .run = test_result_reset_run },
	{ .name = "test_result_print", .kind = SV_COMMAND,
	  .run = test_result_print_run },
	{ .name = "test_result_execute", .kind = SV_TEST,
	  .run = test_result_execute_run },
	{ .name = "test_result_action", .kind = SV_TEST, .sig = "l",
	  .tagsets = MATCHING, .tags = index_tags,
	  .validate = octet_default_validate, .run = test_result_action_run },
	{ .name = "test_error", .kind = SV_TEST, .sig = "l",
	  .tagsets = MATCHING, .tags = index_tags,
	  .validate = octet_default_validate, .run = test_error_run },
	{ .name = "test_mailbox_create", .kind = SV_COMMAND, .sig = "s",
	  .run = test_mailbox_create_run },
	{ .name = "test_config_set", .kind = SV_COMMAND, .sig = "ss",
	  .run = test_config_set_run },
	{ .name = "test_config_unset", .kind = SV_COMMAND, .sig = "s",
	  .run = test_config_set_run },
	{ .name = "test_config_reload", .kind = SV_COMMAND,
	  .tags = reload_tags, .run = test_config_reload_run },
	{ .name = "test_script_compile", .kind = SV_TEST, .sig = "s",
	  .run = test_script_compile_run },
	{ .name = "test_script_run", .kind = SV_TEST, .tags = run_tags,
	  .run = test_script_run_run },
	{ .name = "test_multiscript", .kind = SV_TEST, .sig = "l",
	  .run = test_multiscript_run },
	{ .name = "test_imap_metadata_set", .kind = SV_TEST, .sig = "ss",
	  .tags = metadata_tags, .run = test_imap_metadata_set_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_testsuite = {
	.name = "vnd.dovecot.testsuite", .cmds = testsuite_cmds,
	.flags = SV_EXT_HIDDEN,
};
