/*
 * cmd_sieve.c - the rules side of the LDA: rule file choice, Sieve
 * sequence evaluation with Pigeonhole's runtime rules (lda_rules_eval,
 * used by `sluice deliver`), and the tools `sluice check` (compile only)
 * and `sluice test` (dry run with actions and a trace; writes nothing).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "deliver/deliver.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "msg/msg.h"
#include "store/store.h"
#include "rules/action.h"
#include "rules/sieve/sieve.h"
#include "lda.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONF SYSCONFDIR "/sluice/sluice.conf"
#define MAX_SCRIPTS 64

/* "~/x" -> home + "/x"; 0 or -1 (too long, or ~ without a home). */
static int
expand(const char *path, const char *home, char *out, size_t outsz)
{
	if (path[0] == '~' && (path[1] == '/' || path[1] == '\0')) {
		if (home == NULL || home[0] == '\0')
			return -1;
		return buf_fmt(out, outsz, "%s%s", home, path + 1);
	}
	return buf_fmt(out, outsz, "%s", path);
}

/*
 * Pigeonhole's script location in `sieve`, "[file:]PATH[;active=A][;...]"
 * (Dovecot 2.3: sieve = file:~/sieve;active=~/.dovecot.sieve). A PATH that
 * is a directory is the user's script storage, where include :personal
 * looks, and the user's script is A (default ~/.dovecot.sieve); any other
 * PATH is the user's script itself. Other options (bindir=, name=) do not
 * matter here. script_out and dir_out (PATH_MAX) get "" when unusable.
 */
static void
user_location(const char *loc, const char *home, char *script_out,
    char *dir_out)
{
	char path[PATH_MAX], active[PATH_MAX] = "~/.dovecot.sieve";
	const char *opt, *end;
	struct stat st;
	int len;

	script_out[0] = dir_out[0] = '\0';
	if (loc == NULL)
		return;
	if (strncmp(loc, "file:", 5) == 0)
		loc += 5;
	end = strchr(loc, ';');
	len = end ? (int)(end - loc) : (int)strlen(loc);
	if (buf_fmt(path, sizeof path, "%.*s", len, loc) == -1)
		return;
	for (opt = end; opt != NULL; opt = end) {
		opt++;
		end = strchr(opt, ';');
		len = end ? (int)(end - opt) : (int)strlen(opt);
		if (strncmp(opt, "active=", 7) == 0 && len > 7 &&
		    buf_fmt(active, sizeof active, "%.*s", len - 7,
		    opt + 7) == -1)
			return;
	}
	if (path[0] == '\0' || expand(path, home, dir_out, PATH_MAX) == -1) {
		dir_out[0] = '\0';
		return;
	}
	if (stat(dir_out, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (expand(active, home, script_out, PATH_MAX) == -1)
			script_out[0] = '\0';
		return;
	}
	(void)buf_fmt(script_out, PATH_MAX, "%s", dir_out);
	dir_out[0] = '\0';
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int
lda_is_sieve(const char *path, const char *lang)
{
	if (lang != NULL)
		return strcmp(lang, "sieve") == 0;
	return ends_with(path, ".sieve");
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sieve_before/after: a file, or a directory of *.sieve in name order
 * (as Pigeonhole). Appends copies to v. */
static void
add_seq(const char *p, const char *home, char **v, size_t *n)
{
	char path[PATH_MAX];
	struct stat st;
	DIR *dir;
	struct dirent *de;
	char *names[MAX_SCRIPTS];
	size_t k = 0, i;

	if (p == NULL || expand(p, home, path, sizeof path) == -1)
		return;
	if (stat(path, &st) == -1) {
		log_info("sieve script %s: %s (skipped)", path,
		    strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (*n < MAX_SCRIPTS)
			v[(*n)++] = xstrdup(path);
		return;
	}
	if ((dir = opendir(path)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL && k < MAX_SCRIPTS)
		if (de->d_name[0] != '.' && ends_with(de->d_name, ".sieve")) {
			struct buf b = BUF_INIT;

			buf_addf(&b, "%s/%s", path, de->d_name);
			names[k++] = buf_steal(&b);
		}
	closedir(dir);
	qsort(names, k, sizeof names[0], cmp_str);
	for (i = 0; i < k; i++) {
		if (*n < MAX_SCRIPTS)
			v[(*n)++] = names[i];
		else
			free(names[i]);
	}
}

/* DESIGN.md: a user's rule file writable by others, or owned by someone
 * other than the user or root, is refused. */
static int
rule_file_safe(const char *path, char *why, size_t whysz)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		(void)snprintf(why, whysz, "%s", strerror(errno));
		return 0;
	}
	if (st.st_uid != getuid() && st.st_uid != 0) {
		(void)snprintf(why, whysz, "owned by uid %u, not by the user "
		    "or root", (unsigned)st.st_uid);
		return 0;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		(void)snprintf(why, whysz, "writable by group or others "
		    "(mode %03o)", (unsigned)(st.st_mode & 0777));
		return 0;
	}
	return 1;
}

/* Append diagnostics to the user's Sieve log with a timestamp, and to
 * syslog. Best effort: a log we cannot write never stops delivery. */
static void
report(const char *user_log, const char *text)
{
	char ts[64], q[512];
	time_t now = time(NULL);
	struct tm tm;
	const char *p = text;
	int fd = -1;

	if (text == NULL || *text == '\0')
		return;
	(void)localtime_r(&now, &tm);
	(void)strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S%z", &tm);
	if (user_log != NULL)
		fd = open(user_log, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	while (*p != '\0') {
		size_t n = strcspn(p, "\n");
		struct buf line = BUF_INIT;

		log_err("sieve: %s", log_quote(q, sizeof q, p, n));
		if (fd != -1) {
			buf_addf(&line, "%s %.*s\n", ts, (int)n, p);
			(void)write_all(fd, line.data, line.len);
		}
		buf_free(&line);
		p += n;
		if (*p == '\n')
			p++;
	}
	if (fd != -1)
		close(fd);
}

struct mbx_arg {
	const char *root;
	char sep;
	/* duplicate (store_seen_cb): opened on first use, closed when the
	 * rules are done (the executor opens its own handle later) */
	const char *store_spec, *home;
	struct store *store;
	int store_down;
};

/* RFC 7352 duplicate: 1 key present, 0 absent, -1 store unavailable. */
static int
store_seen_cb(void *arg, const char *key)
{
	struct mbx_arg *a = arg;
	struct err e;
	int r;

	err_clear(&e);
	if (a->store == NULL && !a->store_down &&
	    (a->store = store_open(a->store_spec, a->home, &e)) == NULL) {
		log_err("store %s: %s (duplicate tracking skipped)",
		    a->store_spec, e.msg);
		a->store_down = 1;
	}
	if (a->store == NULL)
		return -1;
	if ((r = store_get(a->store, (struct span){ key, strlen(key) }, NULL,
	    &e)) == -1)
		log_err("store: %s", e.msg);
	return r;
}

static int
mailbox_exists_cb(void *arg, const char *folder)
{
	struct mbx_arg *a = arg;
	char path[PATH_MAX];
	struct err e;

	if (maildir_folder_path(a->root, folder, a->sep, path, sizeof path,
	    &e) == -1)
		return 0;
	return maildir_exists(path);
}

/* Compile settings from sluice.conf; pdir/gdir (PATH_MAX) hold the
 * include directories with "~/" expanded (unusable ones stay NULL). */
static void
fill_sconf(struct sieve_conf *sc, const struct conf *c, const char *home,
    char *pdir, char *gdir)
{
	char script[PATH_MAX];

	memset(sc, 0, sizeof *sc);
	sc->extensions = c->sieve_extensions;
	sc->max_script_size = c->sieve_max_script_size;
	sc->max_include_depth = c->sieve_include_max_nesting_depth;
	sc->max_includes = c->sieve_include_max_includes;
	sc->pipe_bin_dir = c->sieve_pipe_bin_dir;	/* ext-extprograms.c */
	sc->filter_bin_dir = c->sieve_filter_bin_dir;
	sc->execute_bin_dir = c->sieve_execute_bin_dir;
	sc->pipe_timeout = c->sieve_pipe_exec_timeout;
	sc->filter_timeout = c->sieve_filter_exec_timeout;
	sc->execute_timeout = c->sieve_execute_exec_timeout;
	/* Pigeonhole (Dovecot 2.3): the storage directory of `sieve`, else
	 * sieve_dir, which defaults to ~/sieve. */
	user_location(c->sieve, home, script, pdir);
	if (pdir[0] == '\0' && expand(c->sieve_dir ? c->sieve_dir :
	    "~/sieve", home, pdir, PATH_MAX) == -1)
		pdir[0] = '\0';
	if (pdir[0] != '\0')
		sc->personal_dir = pdir;
	if (c->sieve_global != NULL && c->sieve_global[0] != '\0' &&
	    expand(c->sieve_global, home, gdir, PATH_MAX) == 0)
		sc->global_dir = gdir;
}

static void
fill_env(struct sieve_env *env, const struct conf *c)
{
	env->delimiter = c->recipient_delimiter;
	env->max_actions = c->sieve_max_actions;
	env->max_redirects = c->sieve_max_redirects;
	env->max_cpu_time = c->sieve_max_cpu_time;
	env->conf = c;		/* spamtest, editheader settings */
}

int
lda_rules_eval(const struct lda_rules *in, struct msg *m, int spool_fd,
    struct action_list *l)
{
	const struct conf *c = in->conf;
	struct sieve_conf sc;
	char pdir[PATH_MAX], gdir[PATH_MAX];
	struct sieve_env env;
	struct sieve_diags d;
	struct sieve_script *scripts[MAX_SCRIPTS];
	struct sieve_run *run = NULL;
	struct mbx_arg mbx = { .root = in->root, .sep = in->sep };
	char *paths[MAX_SCRIPTS];
	char personal[PATH_MAX], cfg[PATH_MAX], dir[PATH_MAX];
	char user_log[PATH_MAX], why[256], dom[256];
	const char *chosen = NULL;
	size_t n = 0, i, nsc = 0;
	int failed = 0, needs_body = 0, ret = 0;
	struct err e;

	fill_sconf(&sc, c, in->home, pdir, gdir);
	memset(&env, 0, sizeof env);
	fill_env(&env, c);
	env.sender = in->sender;
	env.recipient = in->recipient;
	env.host = in->host;
	env.username = in->username;
	env.home = in->home;
	env.replace_message = in->replace_message;	/* vnd.dovecot.filter */
	env.replace_arg = in->replace_arg;
	{
		const char *at = in->recipient ? strrchr(in->recipient, '@') :
		    NULL;

		(void)snprintf(dom, sizeof dom, "%s", at ? at + 1 : in->host);
		env.domain = dom;
	}
	env.mailbox_exists = mailbox_exists_cb;
	env.cb_arg = &mbx;
	env.orig_recipient = getenv("ORIGINAL_RECIPIENT");
	if (c->store != NULL && c->store[0] != '\0') {
		mbx.store_spec = c->store;
		mbx.home = in->home;
		env.store_seen = store_seen_cb;
	}
	sieve_diags_init(&d);
	personal[0] = '\0';

	/* DESIGN.md "Contracts with users' rule files". */
	user_location(c->sieve, in->home, cfg, dir);
	for (i = 0; i < CONF_MAX_SIEVE_SEQ; i++)
		add_seq(c->sieve_before[i], in->home, paths, &n);
	if (in->rules != NULL) {
		(void)snprintf(personal, sizeof personal, "%s", in->rules);
		chosen = personal;
	} else if (cfg[0] != '\0' && access(cfg, F_OK) == 0) {
		(void)buf_fmt(personal, sizeof personal, "%s", cfg);
		chosen = personal;
	} else if (expand("~/.procmailrc", in->home, personal,
	    sizeof personal) == 0 && access(personal, F_OK) == 0) {
		chosen = personal;
	} else if (c->sieve_default != NULL && expand(c->sieve_default,
	    in->home, personal, sizeof personal) == 0 &&
	    access(personal, F_OK) == 0) {
		chosen = personal;
	}
	if (c->sieve_user_log != NULL)
		(void)expand(c->sieve_user_log, in->home, user_log,
		    sizeof user_log);
	else if (chosen != NULL && chosen != in->rules)
		(void)buf_fmt(user_log, sizeof user_log, "%s.log", chosen);
	else if (expand("~/.dovecot.sieve.log", in->home, user_log,
	    sizeof user_log) == -1)
		user_log[0] = '\0';

	if (chosen != NULL) {
		int is_sieve = in->lang ? !strcmp(in->lang, "sieve") :
		    (lda_is_sieve(chosen, NULL) || (cfg[0] != '\0' &&
		    !strcmp(cfg, chosen)));

		if (!rule_file_safe(chosen, why, sizeof why)) {
			struct buf t = BUF_INIT;

			buf_addf(&t, "%s: error: rule file refused: %s; "
			    "delivering to INBOX\n", chosen, why);
			report(user_log[0] ? user_log : NULL, t.data);
			buf_free(&t);
			failed = 1;
		} else if (!is_sieve) {
			/* procmailrc: procmail's engine commits each
			 * delivering recipe itself (DESIGN.md); the Sieve
			 * sequence does not run around it. */
			if (n > 0)
				log_info("rule file %s is a procmailrc: "
				    "sieve_before/sieve_after not run", chosen);
			if (lda_procmail_deliver(in, m, spool_fd, chosen,
			    in->rules == NULL) == 0) {
				for (i = 0; i < n; i++)
					free(paths[i]);
				sieve_diags_free(&d);
				return 0;
			}
			failed = 1;
		} else if (n < MAX_SCRIPTS) {
			paths[n++] = xstrdup(chosen);
		}
	}
	for (i = 0; i < CONF_MAX_SIEVE_SEQ; i++)
		add_seq(c->sieve_after[i], in->home, paths, &n);

	/* Compile everything before anything runs. */
	for (i = 0; i < n && !failed; i++) {
		if (sieve_compile_file(&sc, paths[i], &d, &scripts[nsc]) == -1) {
			failed = 1;
			break;
		}
		needs_body |= sieve_needs_body(scripts[nsc]);
		nsc++;
	}
	if (!failed && needs_body && m->data == NULL && spool_fd >= 0 &&
	    msg_map(m, spool_fd, &e) == -1) {
		log_err("sieve: cannot map the message: %s", e.msg);
		failed = 1;
	}
	run = sieve_run_new(m, &env, l, in->trace);
	if (failed) {
		sieve_run_fail(run);
	} else {
		for (i = 0; i < nsc; i++)
			if (sieve_run_script(run, scripts[i], &d) <= 0)
				break;
	}
	in->result->implicit_index = sieve_run_finish(run);
	if (d.errors > 0 || failed) {
		report(user_log[0] ? user_log : NULL, d.text.data);
		in->result->failed = 1;
	} else if (d.warnings > 0) {
		report(user_log[0] ? user_log : NULL, d.text.data);
	}
	if (in->result->diags != NULL && d.text.data != NULL)
		buf_adds(in->result->diags, d.text.data);
	in->result->nscripts = nsc;
	sieve_run_free(&run);
	store_close(&mbx.store);
	for (i = 0; i < nsc; i++)
		sieve_script_free(&scripts[i]);
	for (i = 0; i < n; i++)
		free(paths[i]);
	sieve_diags_free(&d);
	return ret;
}

/* ---- sluice check ---- */

static void
check_usage(FILE *fp)
{
	fprintf(fp, "usage: sluice check [-c config] [--lang sieve|procmail] "
	    "FILE...\n");
}

int
cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lang", required_argument, NULL, 'L' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *lang = NULL, *cpath = NULL;
	struct conf conf;
	struct err e;
	int c, i, bad = 0;

	conf_init(&conf);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'L':
			if (strcmp(optarg, "sieve") && strcmp(optarg,
			    "procmail")) {
				check_usage(stderr);
				return EX_USAGE;
			}
			lang = optarg;
			break;
		case 'c':
			cpath = optarg;
			break;
		case 'h':
			check_usage(stdout);
			return EX_OK;
		default:
			check_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		check_usage(stderr);
		return EX_USAGE;
	}
	if (conf_load(&conf, cpath ? cpath : DEFAULT_CONF, cpath != NULL,
	    &e) == -1) {
		fprintf(stderr, "sluice: %s\n", e.msg);
		conf_free(&conf);
		return EX_CONFIG;
	}
	for (i = optind; i < argc; i++) {
		struct sieve_conf sc;
		char pdir[PATH_MAX], gdir[PATH_MAX];
		struct sieve_diags d;
		struct sieve_script *s = NULL;

		/* procmailrc by name or --lang (cmd_convert.c) */
		if ((lang == NULL && !lda_is_sieve(argv[i], NULL) &&
		    !ends_with(argv[i], ".dovecot.sieve")) ||
		    (lang != NULL && strcmp(lang, "procmail") == 0)) {
			bad |= lda_pm_check(argv[i]);
			continue;
		}
		fill_sconf(&sc, &conf, getenv("HOME"), pdir, gdir);
		sieve_diags_init(&d);
		if (sieve_compile_file(&sc, argv[i], &d, &s) == -1)
			bad = 1;
		if (d.text.data != NULL)
			fputs(d.text.data, stdout);
		sieve_script_free(&s);
		sieve_diags_free(&d);
	}
	conf_free(&conf);
	fflush(stdout);
	return bad ? 1 : 0;
}

/* ---- sluice test ---- */

static void
test_usage(FILE *fp)
{
	fprintf(fp, "usage: sluice test [-e] [-c config] [-f sender] "
	    "[-r recipient] [-a extension]\n"
	    "                   [--lang sieve|procmail] [--json] SCRIPT "
	    "MESSAGE...\n");
}

/* What sieve-test lists for a vacation or a notify, as JSON fields each
 * followed by ",": "seconds", "subject" and, when no reply is due,
 * "not_sent" (the reason); "to" (an array) and "importance". */
static void
json_details(struct buf *b, const struct action *a)
{
	if (a->type == ACT_VACATION) {
		buf_addf(b, "\"seconds\":%ld,\"subject\":", a->period);
		buf_json_str(b, a->subject ? a->subject : "");
		buf_addc(b, ',');
		if (a->status == ACT_SKIPPED) {
			buf_adds(b, "\"not_sent\":");
			buf_json_str(b, a->err.msg);
			buf_addc(b, ',');
		}
	} else if (a->type == ACT_NOTIFY) {
		const char *p = a->to ? a->to : "";

		buf_adds(b, "\"to\":[");
		while (*p != '\0') {
			size_t n = strcspn(p, ",");
			char *one = xstrndup(p, n);

			buf_json_str(b, one);
			free(one);
			p += n;
			if (*p == ',') {
				buf_addc(b, ',');
				p++;
			}
		}
		buf_addf(b, "],\"importance\":\"%d\",", a->index);
	}
}

/* Read path into a memfd in stored form: nothing is written to disk. */
static struct msg *
load_message(const char *path, int *fd_out, struct err *e)
{
	struct msg *m = msg_new();
	int in, out;

	*fd_out = -1;
	if ((in = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err_sys(e, errno, "%s", path);
		msg_free(&m);
		return NULL;
	}
	out = memfd_create("sluice-test", MFD_CLOEXEC);
	if (out == -1 || msg_spool(m, in, out, e) == -1 ||
	    msg_map(m, out, e) == -1) {
		if (out == -1)
			err_sys(e, errno, "memfd_create");
		close(in);
		if (out != -1)
			close(out);
		msg_free(&m);
		return NULL;
	}
	close(in);
	*fd_out = out;
	return m;
}

int
cmd_test(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "lang", required_argument, NULL, 'L' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cpath = NULL, *sender = NULL, *rcpt = NULL, *ext = NULL;
	const char *lang = NULL;
	struct sieve_conf sc;
	struct sieve_diags d;
	struct sieve_script *s = NULL;
	struct conf conf;
	struct err e;
	struct buf json = BUF_INIT;
	char pdir[PATH_MAX], gdir[PATH_MAX];
	int c, i, json_out = 0, code = 0;

	conf_init(&conf);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+a:c:ef:hr:", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'a': ext = optarg; break;
		case 'c': cpath = optarg; break;
		case 'e': break;	/* sieve-test compatibility: still dry */
		case 'f': sender = optarg; break;
		case 'r': rcpt = optarg; break;
		case 'J': json_out = 1; break;
		case 'L': lang = optarg; break;
		case 'h':
			test_usage(stdout);
			conf_free(&conf);
			return EX_OK;
		default:
			test_usage(stderr);
			conf_free(&conf);
			return EX_USAGE;
		}
	}
	if (argc - optind < 2) {
		test_usage(stderr);
		conf_free(&conf);
		return EX_USAGE;
	}
	log_open("sluice", LOG_TO_STDERR, 0);
	if (conf_load(&conf, cpath ? cpath : DEFAULT_CONF, cpath != NULL,
	    &e) == -1) {
		fprintf(stderr, "sluice: %s\n", e.msg);
		conf_free(&conf);
		return EX_CONFIG;
	}
	/* procmailrc by name or --lang (cmd_convert.c) */
	if ((lang == NULL && !lda_is_sieve(argv[optind], NULL) &&
	    !ends_with(argv[optind], ".dovecot.sieve")) ||
	    (lang != NULL && strcmp(lang, "procmail") == 0)) {
		code = lda_pm_test(&conf, argv[optind], argv + optind + 1,
		    argc - optind - 1, sender, ext, json_out);
		conf_free(&conf);
		return code;
	}
	fill_sconf(&sc, &conf, getenv("HOME"), pdir, gdir);
	sieve_diags_init(&d);
	if (sieve_compile_file(&sc, argv[optind], &d, &s) == -1) {
		if (json_out) {
			buf_adds(&json, "{\"script\":");
			buf_json_str(&json, argv[optind]);
			buf_adds(&json, ",\"compiled\":false,\"errors\":");
			buf_json_lines(&json, d.text.data, -1);
			buf_adds(&json, "}\n");
			fputs(json.data, stdout);
		} else {
			fputs(d.text.data ? d.text.data : "", stdout);
		}
		code = 1;
		goto out;
	}
	if (json_out) {
		buf_adds(&json, "{\"script\":");
		buf_json_str(&json, argv[optind]);
		buf_adds(&json, ",\"compiled\":true,\"messages\":[");
	}
	for (i = optind + 1; i < argc; i++) {
		struct action_list l;
		struct sieve_env env;
		struct sieve_run *run;
		struct sieve_diags rd;
		struct buf trace = BUF_INIT, rcptb = BUF_INIT, line = BUF_INIT;
		struct mbx_arg mbx = { .sep = conf.mailbox_separator };
		const char *snd;
		char host[256];
		long imp;
		size_t k;
		int fd;
		struct msg *m = load_message(argv[i], &fd, &e);

		if (m == NULL) {
			fprintf(stderr, "sluice: %s\n", e.msg);
			code = 1;
			continue;
		}
		if (gethostname(host, sizeof host) == -1)
			(void)snprintf(host, sizeof host, "localhost");
		host[sizeof host - 1] = '\0';
		snd = sender ? sender : m->envelope_from ? m->envelope_from :
		    "sender@example.com";
		buf_adds(&rcptb, rcpt ? rcpt : "recipient@example.com");
		if (ext != NULL) {
			/* -a EXT: recipient user+EXT@domain, as local(8). */
			char *at = strrchr(rcptb.data, '@');
			struct buf nb = BUF_INIT;

			buf_add(&nb, rcptb.data, at ? (size_t)(at - rcptb.data) :
			    rcptb.len);
			buf_adds(&nb, conf.recipient_delimiter[0] ?
			    (char[]){ conf.recipient_delimiter[0], 0 } : "+");
			buf_adds(&nb, ext);
			if (at)
				buf_adds(&nb, at);
			buf_free(&rcptb);
			rcptb = nb;
		}
		memset(&env, 0, sizeof env);
		fill_env(&env, &conf);
		env.sender = snd;
		env.recipient = rcptb.data;
		env.host = host;
		env.domain = strrchr(rcptb.data, '@') ?
		    strrchr(rcptb.data, '@') + 1 : host;
		env.username = getenv("USER");
		env.home = getenv("HOME");
		{
			/* mailboxexists against the configured Maildir (read
			 * only) when it resolves. */
			static char root[PATH_MAX];

			if (expand(conf.maildir, getenv("HOME"), root,
			    sizeof root) == 0) {
				mbx.root = root;
				env.mailbox_exists = mailbox_exists_cb;
				env.cb_arg = &mbx;
			}
		}
		actions_init(&l);
		sieve_diags_init(&rd);
		run = sieve_run_new(m, &env, &l, &trace);
		(void)sieve_run_script(run, s, &rd);
		imp = sieve_run_finish(run);
		sieve_run_free(&run);

		if (json_out) {
			if (i > optind + 1)
				buf_addc(&json, ',');
			buf_adds(&json, "{\"message\":");
			buf_json_str(&json, argv[i]);
			buf_adds(&json, ",\"actions\":[");
			for (k = 0; k < l.n; k++) {
				buf_reset(&line);
				sieve_action_format(&l.v[k], &line);
				if (k)
					buf_addc(&json, ',');
				buf_adds(&json, "{\"action\":");
				buf_json_str(&json, action_type_name(l.v[k].type));
				buf_adds(&json, ",\"arg\":");
				if (l.v[k].arg)
					buf_json_str(&json, l.v[k].arg);
				else
					buf_adds(&json, "null");
				buf_adds(&json, ",\"text\":");
				buf_json_str(&json, line.data);
				buf_addf(&json, ",\"copy\":%s,\"implicit\":%s,",
				    l.v[k].copy ? "true" : "false",
				    (long)k == imp ? "true" : "false");
				if (l.v[k].may_fail)
					buf_adds(&json, "\"try\":true,");
				json_details(&json, &l.v[k]);
				buf_adds(&json, "\"origin\":");
				if (l.v[k].origin)
					buf_json_str(&json, l.v[k].origin);
				else
					buf_adds(&json, "null");
				buf_addc(&json, '}');
			}
			if (l.implicit_keep) {
				if (l.n)
					buf_addc(&json, ',');
				buf_adds(&json, "{\"action\":\"keep\",\"arg\":"
				    "null,\"text\":\"keep\",\"copy\":false,"
				    "\"implicit\":true,\"origin\":null}");
			}
			buf_adds(&json, "],\"trace\":");
			buf_json_lines(&json, trace.data, -1);
			buf_adds(&json, ",\"errors\":");
			buf_json_lines(&json, rd.text.data, 0);
			buf_adds(&json, ",\"warnings\":");
			buf_json_lines(&json, rd.text.data, 1);
			buf_addc(&json, '}');
		} else {
			printf("## %s\n", argv[i]);
			if (trace.data != NULL)
				printf("Trace:\n%s", trace.data);
			if (rd.text.data != NULL)
				printf("Errors:\n%s", rd.text.data);
			printf("Actions:\n");
			for (k = 0; k < l.n; k++) {
				buf_reset(&line);
				sieve_action_format(&l.v[k], &line);
				printf("  %s%s\n", line.data, (long)k == imp ?
				    " (implicit)" : "");
			}
			if (l.implicit_keep)
				printf("  keep (implicit)\n");
		}
		actions_free(&l);
		sieve_diags_free(&rd);
		buf_free(&trace);
		buf_free(&rcptb);
		buf_free(&line);
		msg_free(&m);
		close(fd);
	}
	if (json_out) {
		buf_adds(&json, "]}\n");
		fputs(json.data, stdout);
	}
out:
	fflush(stdout);
	sieve_script_free(&s);
	sieve_diags_free(&d);
	buf_free(&json);
	conf_free(&conf);
	return code;
}
