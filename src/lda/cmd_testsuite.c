/*
 * cmd_testsuite.c - `sluice testsuite [-W WORKDIR] FILE.svtest...`: run
 * Sieve test scripts written with vnd.dovecot.testsuite, with Pigeonhole's
 * testsuite semantics and output (see rules/sieve/sieve-testsuite.h).
 *
 * Each file gets a fresh world under WORKDIR/<n>.<basename>/: a scratch
 * Maildir that test_result_execute and test_multiscript deliver into
 * (through deliver_run, as `sluice deliver` would), and an "smtp/"
 * directory where a capture script stands in for sendmail, so that
 * test_message :smtp can read what redirect, reject or vacation sent.
 * Settings start from the built-in defaults (no sluice.conf is read: the
 * tests are hermetic); test_config_set changes the sieve_* keys of
 * conf.h. WORKDIR defaults to a temporary directory removed at exit.
 * Exit 0 only when every file passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "deliver/deliver.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "msg/msg.h"
#include "rules/action.h"
#include "rules/sieve/sieve.h"
#include "rules/sieve/sieve-testsuite.h"
#include "store/store.h"
#include "lda.h"

/* Pigeonhole's testsuite message and envelope defaults. */
static const char default_message[] =
    "From: sender@example.com\n"
    "To: recipient@example.org\n"
    "Subject: Frop!\n"
    "\n"
    "Friep!\n";

#define MAX_OVERRIDES	64

struct stored {
	char *dir;		/* the folder's Maildir */
	char *path;		/* the message file */
};

struct runner {
	struct sieve_testsuite ts;
	struct conf conf;
	struct sieve_conf sc;
	struct sieve_env env;
	char dir[PATH_MAX];		/* the .svtest's directory */
	char base[PATH_MAX];		/* WORKDIR/<n>.<name> */
	char root[PATH_MAX];		/* base/Maildir */
	char smtp[PATH_MAX];		/* base/smtp */
	char sendmail[PATH_MAX];	/* base/sendmail (capture script) */
	char pdir[PATH_MAX], gdir[PATH_MAX];
	int msg_fd;			/* the current message, stored form */
	char *sender, *rcpt, *orig_rcpt, *auth;
	struct stored *stored;
	size_t nstored;
	char *okey[MAX_OVERRIDES], *oval[MAX_OVERRIDES];
	size_t nover;
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: sluice testsuite [-W WORKDIR] FILE.svtest...\n");
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	(void)remove(path);
	return 0;
}

static void
rm_tree(const char *path)
{
	(void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? xstrdup(v) : NULL;
}

/* "dir/x" for a relative x; x itself when absolute. */
static void
resolve(const struct runner *R, const char *p, char *out, size_t outsz)
{
	if (p[0] == '/')
		(void)buf_fmt(out, outsz, "%s", p);
	else
		(void)buf_fmt(out, outsz, "%s/%s", R->dir, p);
}

/* Derive the compile settings and the run environment from R->conf. */
static void
apply_conf(struct runner *R)
{
	const struct conf *c = &R->conf;

	memset(&R->sc, 0, sizeof R->sc);
	R->sc.testsuite = 1;
	R->sc.extensions = c->sieve_extensions;
	R->sc.max_script_size = c->sieve_max_script_size;
	R->sc.max_include_depth = c->sieve_include_max_nesting_depth;
	R->sc.max_includes = c->sieve_include_max_includes;
	/* Pigeonhole's testsuite: included/ and included-global/ next to
	 * the test, unless a test sets sieve_dir / sieve_global. */
	if (c->sieve_dir != NULL)
		resolve(R, c->sieve_dir, R->pdir, sizeof R->pdir);
	else
		(void)buf_fmt(R->pdir, sizeof R->pdir, "%s/included", R->dir);
	if (c->sieve_global != NULL)
		resolve(R, c->sieve_global, R->gdir, sizeof R->gdir);
	else
		(void)buf_fmt(R->gdir, sizeof R->gdir, "%s/included-global",
		    R->dir);
	R->sc.personal_dir = R->pdir;
	R->sc.global_dir = R->gdir;

	R->env.delimiter = c->recipient_delimiter;
	R->env.max_actions = c->sieve_max_actions;
	R->env.max_redirects = c->sieve_max_redirects;
	R->env.max_cpu_time = c->sieve_max_cpu_time;
	R->env.conf = c;	/* spamtest, editheader settings */
	R->env.sender = R->sender;
	R->env.recipient = R->rcpt;
	R->env.orig_recipient = R->orig_rcpt;
	R->env.username = R->auth;
}

/* Rebuild the settings: defaults plus the test's overrides, in order. */
static int
rebuild_conf(struct runner *R, struct buf *why)
{
	struct err e;
	size_t i;

	conf_free(&R->conf);
	conf_init(&R->conf);
	for (i = 0; i < R->nover; i++)
		if (conf_set(&R->conf, R->okey[i], R->oval[i],
		    "test_config_set", &e) == -1) {
			if (why != NULL)
				buf_adds(why, e.msg);
			return -1;
		}
	apply_conf(R);
	return 0;
}

/* ---- the current message ---- */

/* The first address of header name as "local@domain", or NULL. */
static char *
first_addr(struct msg *m, const char *name)
{
	const struct hdr *h = hdr_find(m, name, 0);
	struct addr *as;
	size_t n, i;

	if (h == NULL)
		return NULL;
	n = addr_parse_list(m->arena, h->value, &as);
	for (i = 0; i < n; i++) {
		struct buf b = BUF_INIT;

		if (as[i].local == NULL || as[i].local[0] == '\0')
			continue;
		buf_adds(&b, as[i].local);
		if (as[i].domain != NULL)
			buf_addf(&b, "@%s", as[i].domain);
		return buf_steal(&b);
	}
	return NULL;
}

/* Read in_fd as the new current message (stored form in a memfd, mapped)
 * and, as Pigeonhole does, take the envelope from its header. */
static int
load_fd(struct runner *R, int in_fd, struct err *e)
{
	struct msg *m = msg_new();
	char *a;
	int out = memfd_create("sluice-testsuite", MFD_CLOEXEC);

	if (out == -1) {
		msg_free(&m);
		return err_sys(e, errno, "memfd_create");
	}
	if (msg_spool(m, in_fd, out, e) == -1 || msg_map(m, out, e) == -1) {
		close(out);
		msg_free(&m);
		return -1;
	}
	msg_free(&R->ts.msg);
	if (R->msg_fd != -1)
		close(R->msg_fd);
	R->ts.msg = m;
	R->msg_fd = out;

	if ((a = first_addr(m, "Envelope-To")) == NULL &&
	    (a = first_addr(m, "To")) == NULL)
		a = xstrdup("recipient@example.com");
	free(R->rcpt);
	R->rcpt = a;
	set_str(&R->orig_rcpt, a);
	if ((a = first_addr(m, "Return-Path")) == NULL &&
	    (a = first_addr(m, "Sender")) == NULL &&
	    (a = first_addr(m, "From")) == NULL)
		a = xstrdup("sender@example.com");
	free(R->sender);
	R->sender = a;
	apply_conf(R);
	return 0;
}

static int
load_bytes(struct runner *R, const char *p, size_t len, struct err *e)
{
	int in = memfd_create("sluice-testsuite-in", MFD_CLOEXEC), ret;

	if (in == -1)
		return err_sys(e, errno, "memfd_create");
	if (write_all(in, p, len) == -1 || lseek(in, 0, SEEK_SET) == -1) {
		err_sys(e, errno, "memfd");
		close(in);
		return -1;
	}
	ret = load_fd(R, in, e);
	close(in);
	return ret;
}

static int
load_file(struct runner *R, const char *path, struct err *e)
{
	int in = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (in == -1)
		return err_sys(e, errno, "%s", path);
	ret = load_fd(R, in, e);
	close(in);
	return ret;
}

/* RFC 5490 mailboxexists over the scratch Maildir. */
static int
mailbox_exists_cb(void *arg, const char *folder)
{
	struct runner *R = arg;
	char path[PATH_MAX];
	struct err e;

	if (maildir_folder_path(R->root, folder, R->conf.mailbox_separator,
	    path, sizeof path, &e) == -1)
		return 0;
	return maildir_exists(path);
}

/* ---- ops ---- */

/* "<>" or "" is the null reverse-path. */
static const char *
unbracket(const char *v, char *tmp, size_t tmpsz)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '<' && v[n - 1] == '>') {
		(void)snprintf(tmp, tmpsz, "%.*s", (int)(n - 2), v + 1);
		return tmp;
	}
	return v;
}

static int
op_set(struct sieve_testsuite *ts, const char *name, const char *value,
    struct buf *why)
{
	struct runner *R = ts->arg;
	char tmp[1024];
	struct err e;

	if (strcasecmp(name, "message") == 0) {
		if (load_bytes(R, value, strlen(value), &e) == -1) {
			buf_adds(why, e.msg);
			return -1;
		}
		return 0;
	}
	value = unbracket(value, tmp, sizeof tmp);
	if (strcasecmp(name, "envelope.from") == 0) {
		set_str(&R->sender, value);
	} else if (strcasecmp(name, "envelope.to") == 0) {
		set_str(&R->rcpt, value);
		set_str(&R->orig_rcpt, value);
	} else if (strcasecmp(name, "envelope.orig_to") == 0) {
		set_str(&R->orig_rcpt, value);
	} else if (strcasecmp(name, "envelope.auth") == 0) {
		set_str(&R->auth, value);
	} else {
		buf_addf(why, "unknown testsuite object '%s'", name);
		return -1;
	}
	apply_conf(R);
	return 0;
}

/* The Maildir directory of folder, or -1. */
static int
folder_dir(struct runner *R, const char *folder, char *out, size_t outsz)
{
	struct err e;

	return maildir_folder_path(R->root, folder, R->conf.mailbox_separator,
	    out, outsz, &e);
}

static int
op_message(struct sieve_testsuite *ts, const char *folder, unsigned long idx)
{
	struct runner *R = ts->arg;
	char path[PATH_MAX], want[PATH_MAX];
	struct err e;
	size_t i, k = 0;

	if (folder == NULL) {
		/* what the capture script wrote: N.eml and N.args */
		char args[PATH_MAX], line[1024];
		FILE *fp;
		int n = 0;

		if (buf_fmt(path, sizeof path, "%s/%lu.eml", R->smtp, idx) ==
		    -1 || buf_fmt(args, sizeof args, "%s/%lu.args", R->smtp,
		    idx) == -1 || access(path, R_OK) != 0)
			return 0;
		if (load_file(R, path, &e) == -1) {
			sieve_testsuite_error(ts, "", e.msg);
			return 0;
		}
		/* argv: -i -f FROM -- RCPT */
		if ((fp = fopen(args, "r")) != NULL) {
			while (fgets(line, sizeof line, fp) != NULL) {
				char tmp[1024];

				line[strcspn(line, "\n")] = '\0';
				n++;
				if (n == 3)
					set_str(&R->sender, strcmp(line, "<>") ?
					    line : "");
				else if (n == 5) {
					set_str(&R->rcpt, unbracket(line, tmp,
					    sizeof tmp));
					set_str(&R->orig_rcpt, R->rcpt);
				}
			}
			fclose(fp);
		}
		apply_conf(R);
		return 1;
	}
	if (folder_dir(R, folder, want, sizeof want) == -1)
		return 0;
	for (i = 0; i < R->nstored; i++) {
		if (strcmp(R->stored[i].dir, want) != 0)
			continue;
		if (k++ == idx) {
			if (load_file(R, R->stored[i].path, &e) == -1) {
				sieve_testsuite_error(ts, "", e.msg);
				return 0;
			}
			return 1;
		}
	}
	return 0;
}

/* Forget the actions appended to l from n0 on (deliver_run's keeps). */
static void
drop_tail(struct action_list *l, size_t n0)
{
	struct action_list tail;

	if (l->n <= n0)
		return;
	actions_init(&tail);
	tail.n = tail.cap = l->n - n0;
	tail.v = xcalloc(tail.n, sizeof *tail.v);
	memcpy(tail.v, l->v + n0, tail.n * sizeof *tail.v);
	l->n = n0;
	actions_free(&tail);
}

static int
op_execute(struct sieve_testsuite *ts, struct action_list *l)
{
	struct runner *R = ts->arg;
	struct deliver_ctx d;
	struct err e;
	char spec[PATH_MAX + 8];
	size_t n0 = l->n, i;
	int ok = 1;

	memset(&d, 0, sizeof d);
	/* A fresh state store per execution, so that a vacation reply that
	 * is due is sent (and test_message :smtp sees it), as in Pigeonhole's
	 * testsuite; nothing is remembered from one execution to the next. */
	if (buf_fmt(spec, sizeof spec, "%s/state", R->base) == 0)
		rm_tree(spec);
	if (buf_fmt(spec, sizeof spec, "lmdb:%s/state", R->base) == 0 &&
	    (d.store = store_open(spec, NULL, &e)) == NULL)
		log_debug("testsuite: no state store: %s", e.msg);
	d.spool_fd = -1;
	d.root = R->root;
	d.sep = R->conf.mailbox_separator;
	d.autocreate = R->conf.lda_mailbox_autocreate;
	d.host = "sluice.test";
	d.sender = R->sender;
	d.recipient = R->rcpt;
	d.orig_recipient = R->orig_rcpt;
	d.sendmail_path = R->sendmail;
	d.postmaster_address = "postmaster@example.com";
	d.pipe_bin_dir = R->conf.sieve_pipe_bin_dir;
	d.filter_bin_dir = R->conf.sieve_filter_bin_dir;
	d.msg = msg_new();
	err_clear(&e);
	if (deliver_spool_open(&d, &e) == -1 ||
	    lseek(R->msg_fd, 0, SEEK_SET) == -1 ||
	    msg_spool(d.msg, R->msg_fd, d.spool_fd, &e) == -1 ||
	    deliver_spool_sync(&d, &e) == -1) {
		sieve_testsuite_error(ts, "", e.msg[0] ? e.msg :
		    "cannot spool the message");
		ok = 0;
		goto out;
	}
	if (deliver_run(&d, l, &e) == -1) {
		sieve_testsuite_error(ts, "", e.msg);
		ok = 0;
	}
	for (i = 0; i < l->n; i++) {
		struct action *a = &l->v[i];

		if (a->status == ACT_FAILED || a->status == ACT_UNSUPPORTED) {
			if (i < n0)
				ok = 0;
			sieve_testsuite_error(ts, a->origin ? a->origin : "",
			    a->err.msg[0] ? a->err.msg : "action failed");
		}
		if (a->status == ACT_DONE && a->result != NULL &&
		    (a->type == ACT_KEEP || a->type == ACT_FILEINTO)) {
			char *p = xstrdup(a->result), *dir;
			struct stored *s;

			/* root/.Folder/new/name -> root/.Folder */
			dir = xstrdup(dirname(dirname(p)));
			free(p);
			R->stored = xrealloc(R->stored, (R->nstored + 1) *
			    sizeof *R->stored);
			s = &R->stored[R->nstored++];
			s->dir = dir;
			s->path = xstrdup(a->result);
		}
	}
	drop_tail(l, n0);
out:
	deliver_spool_close(&d);
	msg_free(&d.msg);
	store_close(&d.store);
	return ok;
}

/* test_result_reset: what was sent before is forgotten. */
static void
op_reset(struct sieve_testsuite *ts)
{
	struct runner *R = ts->arg;

	rm_tree(R->smtp);
	(void)mkdir(R->smtp, 0700);
}

static int
op_mailbox_create(struct sieve_testsuite *ts, const char *name,
    struct buf *why)
{
	struct runner *R = ts->arg;
	char path[PATH_MAX];
	struct err e;

	if (maildir_folder_path(R->root, name, R->conf.mailbox_separator,
	    path, sizeof path, &e) == -1 ||
	    maildir_make(R->root, 0, &e) == -1 ||
	    maildir_make_folder(R->root, path, name,
	    R->conf.mailbox_separator, 0, &e) == -1) {
		buf_adds(why, e.msg);
		return -1;
	}
	return 0;
}

static int
op_config_set(struct sieve_testsuite *ts, const char *key, const char *value,
    struct buf *why)
{
	struct runner *R = ts->arg;
	struct conf probe;
	struct err e;
	size_t i;

	if (strncmp(key, "sieve_", 6) != 0 && strcmp(key,
	    "recipient_delimiter") != 0 && strcmp(key, "mailbox_separator") &&
	    strcmp(key, "lda_mailbox_autocreate") != 0) {
		buf_addf(why, "unknown setting '%s' (only sluice.conf's "
		    "sieve_* keys, recipient_delimiter, mailbox_separator and "
		    "lda_mailbox_autocreate can be set here)", key);
		return -1;
	}
	if (value != NULL) {
		conf_init(&probe);
		if (conf_set(&probe, key, value, "test_config_set", &e) == -1) {
			conf_free(&probe);
			buf_addf(why, "%s", e.msg);
			return -1;
		}
		conf_free(&probe);
	}
	for (i = 0; i < R->nover; i++)
		if (strcmp(R->okey[i], key) == 0)
			break;
	if (i < R->nover) {
		free(R->okey[i]);
		free(R->oval[i]);
		R->nover--;
		memmove(&R->okey[i], &R->okey[i + 1], (R->nover - i) *
		    sizeof R->okey[0]);
		memmove(&R->oval[i], &R->oval[i + 1], (R->nover - i) *
		    sizeof R->oval[0]);
	}
	if (value != NULL) {
		if (R->nover == MAX_OVERRIDES) {
			buf_adds(why, "too many settings");
			return -1;
		}
		R->okey[R->nover] = xstrdup(key);
		R->oval[R->nover++] = xstrdup(value);
	}
	return rebuild_conf(R, why);
}

/* Settings apply as soon as they are set; a reload has nothing left to
 * do (our extensions read their settings at each run). */
static int
op_config_reload(struct sieve_testsuite *ts, const char *ext,
    struct buf *why)
{
	(void)ts;
	(void)ext;
	(void)why;
	return 0;
}

static const struct sieve_testsuite_ops runner_ops = {
	.set = op_set,
	.message = op_message,
	.execute = op_execute,
	.reset = op_reset,
	.mailbox_create = op_mailbox_create,
	.config_set = op_config_set,
	.config_reload = op_config_reload,
};

/* The stand-in for sendmail: argv and message into smtp/N.{args,eml}. */
static int
write_capture(struct runner *R, struct err *e)
{
	struct buf s = BUF_INIT;
	int fd, ret = -1;

	buf_addf(&s, "#!/bin/sh\n"
	    "# sluice testsuite: capture what would be sent\n"
	    "d='%s'\n"
	    "n=0\n"
	    "while [ -e \"$d/$n.eml\" ]; do n=$((n + 1)); done\n"
	    "for a in \"$@\"; do printf '%%s\\n' \"$a\"; done >\"$d/$n.args\"\n"
	    "cat >\"$d/$n.eml\"\n", R->smtp);
	fd = open(R->sendmail, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
	if (fd == -1) {
		err_sys(e, errno, "%s", R->sendmail);
	} else if (write_all(fd, s.data, s.len) == -1) {
		err_sys(e, errno, "%s", R->sendmail);
	} else {
		ret = 0;
	}
	if (fd != -1)
		close(fd);
	buf_free(&s);
	return ret;
}

/* One .svtest file; 0 when it passed. */
static int
run_file(const char *workdir, unsigned n, const char *file)
{
	struct runner R;
	struct sieve_diags d;
	struct sieve_script *s = NULL;
	struct sieve_run *run;
	struct action_list l;
	struct err e;
	char *tmp, *bn;
	size_t i;
	int rc, failed;

	memset(&R, 0, sizeof R);
	R.msg_fd = -1;
	conf_init(&R.conf);
	sieve_testsuite_init(&R.ts);
	tmp = xstrdup(file);
	(void)buf_fmt(R.dir, sizeof R.dir, "%s", dirname(tmp));
	free(tmp);
	tmp = xstrdup(file);
	bn = basename(tmp);
	(void)buf_fmt(R.base, sizeof R.base, "%s/%u.%s", workdir, n, bn);
	free(tmp);
	rm_tree(R.base);
	(void)buf_fmt(R.root, sizeof R.root, "%s/Maildir", R.base);
	(void)buf_fmt(R.smtp, sizeof R.smtp, "%s/smtp", R.base);
	(void)buf_fmt(R.sendmail, sizeof R.sendmail, "%s/sendmail", R.base);

	printf("Test case: %s:\n\n", file);
	fflush(stdout);
	R.ts.ops = &runner_ops;
	R.ts.arg = &R;
	R.ts.out = stdout;
	R.ts.dir = R.dir;
	R.ts.conf = &R.sc;
	R.ts.result = &l;
	R.env.testsuite = &R.ts;
	R.env.host = "sluice.test";
	R.env.domain = "example.com";
	R.env.mailbox_exists = mailbox_exists_cb;
	R.env.cb_arg = &R;
	actions_init(&l);
	sieve_diags_init(&d);
	err_clear(&e);
	apply_conf(&R);

	if (mkdir(R.base, 0700) == -1 || mkdir(R.smtp, 0700) == -1 ||
	    maildir_make(R.root, 0, &e) == -1 || write_capture(&R, &e) == -1 ||
	    load_bytes(&R, default_message, sizeof default_message - 1,
	    &e) == -1) {
		if (e.msg[0] == '\0')
			err_sys(&e, errno, "%s", R.base);
		fprintf(stderr, "sluice: %s\n", e.msg);
		sieve_testsuite_case_fail(&R.ts, "cannot set up the test "
		    "environment");
		goto done;
	}
	if (sieve_compile_file(&R.sc, file, &d, &s) == -1) {
		fflush(stdout);
		fputs(d.text.data ? d.text.data : "", stderr);
		sieve_testsuite_case_fail(&R.ts, "failed to compile testcase "
		    "script");
		goto done;
	}
	run = sieve_run_new(R.ts.msg, &R.env, &l, NULL);
	rc = sieve_run_script(run, s, &d);
	sieve_run_free(&run);
	if (rc == -1) {
		/* Pigeonhole's main error handler: errors on stderr */
		fflush(stdout);
		fputs(d.text.data ? d.text.data : "", stderr);
		sieve_testsuite_case_fail(&R.ts, "test script execution "
		    "aborted due to error");
	}
done:
	fflush(stderr);
	failed = sieve_testsuite_result(&R.ts);
	sieve_script_free(&s);
	sieve_diags_free(&d);
	actions_free(&l);
	sieve_testsuite_free(&R.ts);
	msg_free(&R.ts.msg);
	if (R.msg_fd != -1)
		close(R.msg_fd);
	free(R.sender);
	free(R.rcpt);
	free(R.orig_rcpt);
	free(R.auth);
	for (i = 0; i < R.nstored; i++) {
		free(R.stored[i].dir);
		free(R.stored[i].path);
	}
	free(R.stored);
	for (i = 0; i < R.nover; i++) {
		free(R.okey[i]);
		free(R.oval[i]);
	}
	conf_free(&R.conf);
	return failed;
}

int
cmd_testsuite(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "workdir", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char tmpl[] = "/tmp/sluice-testsuite.XXXXXX";
	const char *workdir = NULL;
	char wd[PATH_MAX];
	int c, i, bad = 0, own = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+W:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'W':
			workdir = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	log_open("sluice", LOG_TO_STDERR, 0);
	umask(077);
	if (workdir == NULL) {
		if (mkdtemp(tmpl) == NULL) {
			fprintf(stderr, "sluice: mkdtemp: %s\n",
			    strerror(errno));
			return EX_TEMPFAIL;
		}
		workdir = tmpl;
		own = 1;
	} else if (mkdir(workdir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "sluice: %s: %s\n", workdir, strerror(errno));
		return EX_CANTCREAT;
	}
	/* deliver_run wants absolute paths */
	if (realpath(workdir, wd) == NULL) {
		fprintf(stderr, "sluice: %s: %s\n", workdir, strerror(errno));
		return EX_CANTCREAT;
	}
	for (i = optind; i < argc; i++)
		if (run_file(wd, (unsigned)(i - optind + 1), argv[i]) != 0)
			bad = 1;
	if (own)
		rm_tree(wd);
	fflush(stdout);
	return bad ? 1 : 0;
}
