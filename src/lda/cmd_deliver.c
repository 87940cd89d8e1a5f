/*
 * cmd_deliver.c - `sluice deliver`: the local delivery agent.
 *
 * Postfix's local(8) runs it as mailbox_command, once per message, as the
 * recipient, message on stdin (DESIGN.md "Contracts with Postfix"). The
 * exit status is the contract: 0 delivered, 75 for anything transient or
 * any bug of ours (Postfix retries), 67 unknown user, 77 deliberate
 * refusal, 64 bad command line. On failure one line "X.Y.Z text" goes to
 * stderr, which Postfix puts in its bounce or defer reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "deliver/deliver.h"
#include "lib/conf.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "msg/msg.h"
#include "rules/action.h"
#include "score/score.h"
#include "store/store.h"
#include "lda.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONF SYSCONFDIR "/sluice/sluice.conf"

/* What Postfix's local(8) tells us, plus our command line. */
struct lda_opts {
	const char *user;	/* -d */
	const char *sender;	/* -f */
	const char *extension;	/* -a */
	const char *folder;	/* -m */
	const char *maildir;	/* --maildir */
	const char *rules;	/* --rules */
	const char *lang;	/* --lang sieve|procmail */
	const char *conf;	/* -c */
	int stderr_log;		/* -e: log to stderr too */
};

/* The signal handler needs the spool path; the LDA is single-threaded
 * and handles one message, so one file-static pointer is enough. */
static struct deliver_ctx *deadline_ctx;

static void
on_deadline(int sig)
{
	static const char msg[] =
	    "4.4.7 sluice: delivery took too long, will retry\n";

	(void)sig;
	if (deadline_ctx != NULL && deadline_ctx->committing)
		return;		/* placing the message: finish the job */
	if (deadline_ctx != NULL && deadline_ctx->spool_path[0] != '\0')
		(void)unlink(deadline_ctx->spool_path);
	(void)!write(STDERR_FILENO, msg, sizeof msg - 1);
	_exit(EX_TEMPFAIL);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: sluice deliver [-e] [-a extension] [-c config] "
	    "[-d user] [-f sender]\n"
	    "                      [-m folder] [--maildir path] "
	    "[--rules file]\n"
	    "                      [--lang sieve|procmail]\n");
}

/*
 * As root: resolve user, then setgroups/setgid/setuid and verify that root
 * cannot be regained, before any user file is opened. Not root: -d may only
 * name ourselves. Never deliver as root.
 */
int
lda_drop_privileges(const char *user, struct passwd *pw_out, struct buf *strs,
    struct err *e)
{
	struct passwd *pw;

	errno = 0;
	if (geteuid() == 0 || getuid() == 0) {
		if (user == NULL)
			return err_status(e, ERR_TEMP, "4.3.0",
			    "refusing to deliver as root (use -d USER)");
		if ((pw = getpwnam(user)) == NULL)
			return err_status(e, ERR_NOUSER, "5.1.1",
			    "unknown user \"%s\"", user);
		if (pw->pw_uid == 0)
			return err_status(e, ERR_TEMP, "4.3.0",
			    "refusing to deliver as root (user \"%s\")", user);
		if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
			return err_sys(e, errno, "cannot become %s", user);
		if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid ||
		    getgid() != pw->pw_gid || getegid() != pw->pw_gid ||
		    setuid(0) != -1)
			return err_set(e, ERR_INTERNAL,
			    "privileges were not dropped");
	} else if (user != NULL) {
		if ((pw = getpwnam(user)) == NULL)
			return err_status(e, ERR_NOUSER, "5.1.1",
			    "unknown user \"%s\"", user);
		if (pw->pw_uid != getuid())
			return err_status(e, ERR_TEMP, "4.3.0",
			    "-d %s needs root", user);
	} else if (getenv("HOME") != NULL && getenv("HOME")[0] == '/' &&
	    getenv("USER") != NULL && getenv("USER")[0] != '\0') {
		/* Postfix's local(8) set up the environment for this uid:
		 * no passwd lookup (NSS costs more than the rest of a small
		 * delivery's set-up). */
		memset(pw_out, 0, sizeof *pw_out);
		pw_out->pw_uid = getuid();
		pw_out->pw_gid = getgid();
		buf_reset(strs);
		buf_adds(strs, getenv("USER"));
		buf_addc(strs, '\0');
		buf_adds(strs, getenv("HOME"));
		pw_out->pw_name = strs->data;
		pw_out->pw_dir = strs->data + strlen(strs->data) + 1;
		return 0;
	} else if ((pw = getpwuid(getuid())) == NULL) {
		/* No passwd entry (containers): the environment must do. */
		memset(pw_out, 0, sizeof *pw_out);
		return 0;
	}
	/* Copy what we need: later getpw* calls reuse static storage. */
	*pw_out = *pw;
	buf_reset(strs);
	pw_out->pw_name = NULL;
	pw_out->pw_dir = NULL;
	buf_adds(strs, pw->pw_name);
	buf_addc(strs, '\0');
	buf_adds(strs, pw->pw_dir);
	pw_out->pw_name = strs->data;
	pw_out->pw_dir = strs->data + strlen(strs->data) + 1;
	return 0;
}

/* "~/x" -> "$HOME/x"; the result must be absolute. */
static int
expand_home(const char *path, const char *home, char *out, size_t outsz,
    struct err *e)
{
	int r;

	if (path[0] == '~' && (path[1] == '/' || path[1] == '\0')) {
		if (home == NULL || home[0] != '/')
			return err_status(e, ERR_TEMP, "4.3.5",
			    "HOME is not set or not absolute");
		r = buf_fmt(out, outsz, "%s%s", home, path + 1);
	} else {
		r = buf_fmt(out, outsz, "%s", path);
	}
	if (r == -1)
		return err_status(e, ERR_TEMP, "4.3.5", "path too long");
	if (out[0] != '/')
		return err_status(e, ERR_TEMP, "4.3.5",
		    "maildir \"%s\" is not an absolute path", out);
	return 0;
}

static const char *
envor(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : dflt;
}

/* "~/x" -> home/x into out (PATH_MAX); NULL when unset or unusable. */
static const char *
conf_path(const char *v, const char *home, char *out)
{
	if (v == NULL || v[0] == '\0')
		return NULL;
	if (v[0] == '~' && (v[1] == '/' || v[1] == '\0')) {
		if (home == NULL || home[0] != '/' ||
		    buf_fmt(out, PATH_MAX, "%s%s", home, v + 1) == -1)
			return NULL;
		return out;
	}
	return v;
}

/*
 * sieve_env.replace_message for vnd.dovecot.filter (ext-extprograms.c):
 * the filter's output (fd) becomes the spool, so that what later tests see
 * is what gets stored. m is d->msg: deliver_spool_replace() re-indexes it.
 */
static int
adopt_filtered(void *arg, struct msg *m, int fd, struct err *e)
{
	struct deliver_ctx *d = arg;
	char unique[256], path[PATH_MAX];
	struct msg *nm;
	int nfd;

	if (maildir_unique(unique, sizeof unique, d->host) == -1 ||
	    buf_fmt(path, sizeof path, "%s/tmp/%s", d->root, unique) == -1)
		return err_set(e, ERR_TEMP, "path too long: %s", d->root);
	nfd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (nfd == -1)
		return err_sys(e, errno, "create %s", path);
	nm = msg_new();
	if (msg_spool(nm, fd, nfd, e) == -1 ||
	    deliver_spool_replace(d, nfd, path, unique, e) == -1) {
		(void)close(nfd);
		(void)unlink(path);
		msg_free(&nm);
		return -1;
	}
	msg_free(&nm);
	return msg_map(m, d->spool_fd, e);
}

/* 1 if carrying out l needs the state store (DESIGN.md "State"):
 * vacation, duplicate marks, redirect duplicate tracking. */
static int
needs_store(const struct action_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if ((l->v[i].type == ACT_VACATION &&
		    l->v[i].status != ACT_SKIPPED) ||	/* no reply due */
		    l->v[i].type == ACT_STORE_MARK ||
		    l->v[i].type == ACT_REDIRECT)
			return 1;
	return 0;
}

/*
 * Dovecot's -m: the rules run as usual, and -m names the default mailbox:
 * keep and the implicit keep store there (created and subscribed as a
 * plain -m delivery does); fileinto targets are untouched.
 */
static void
keep_to_folder(struct action_list *l, const char *folder)
{
	struct action *a;
	size_t i;

	for (i = 0; i < l->n; i++) {
		a = &l->v[i];
		if (a->type != ACT_KEEP)
			continue;
		a->type = ACT_FILEINTO;
		free(a->arg);
		a->arg = xstrdup(folder);
		a->subscribe = 1;
	}
	if (l->implicit_keep &&
	    (a = actions_add(l, ACT_FILEINTO, folder, "-m")) != NULL) {
		a->subscribe = 1;
		l->implicit_keep = 0;
	}
}

/*
 * 1 if our own milter already scored m: an Authentication-Results field
 * whose authserv-id is score_trusted_authserv_id (RFC 8601 section 5:
 * the border MTA removes incoming fields that carry its own id, so only
 * our milter can have written it) and an X-Spam-Status field.
 */
static int
milter_scored(const struct msg *m, const char *id)
{
	const struct hdr *h;
	size_t idl, i, n;
	int k;

	if (id == NULL || id[0] == '\0' || hdr_find(m, "X-Spam-Status", 0) ==
	    NULL)
		return 0;
	idl = strlen(id);
	for (k = 0; (h = hdr_find(m, "Authentication-Results", k)) != NULL;
	    k++) {
		const char *v = h->value.p;

		n = h->value.len;
		for (i = 0; i < n && (v[i] == ' ' || v[i] == '\t' ||
		    v[i] == '\n'); i++)
			;
		/* authserv-id [CFWS version] ";" */
		if (n - i >= idl && mem_ieq(v + i, idl, id, idl) &&
		    (n - i == idl || v[i + idl] == ';' || v[i + idl] == ' ' ||
		    v[i + idl] == '\t' || v[i + idl] == '\n'))
			return 1;
	}
	return 0;
}

/*
 * score_in_deliver: score the stored message in-process and store it
 * again with the X-Spam-* fields of report.c (incoming copies removed),
 * before any rule runs, so that Sieve spamtest and procmail recipes see
 * them. Skipped for mail over score_max_size and mail our milter scored.
 * Never fails the delivery: any problem is logged and the message goes
 * on as it came. The score goes to score_out for the log line.
 */
static void
deliver_score(struct deliver_ctx *d, const struct conf *conf,
    const char *home, char *score_out, size_t score_size)
{
	struct score_rules *r = NULL;
	struct score_msg *sm = NULL;
	struct score_result res;
	struct store *store = NULL;
	struct bayes *b = NULL;
	struct buf head = BUF_INIT;
	struct msg *m = d->msg;
	struct err e;
	size_t off;
	int fd = -1, scored = 0, usable = 0, store_failed = 0;

	err_clear(&e);
	memset(&res, 0, sizeof res);
	if (m->size > (off_t)conf->score_max_size) {
		log_debug("not scored: %lld bytes over score_max_size",
		    (long long)m->size);
		return;
	}
	if (milter_scored(m, conf->score_trusted_authserv_id)) {
		log_debug("not scored: the milter did (%s)",
		    conf->score_trusted_authserv_id);
		return;
	}
	if (m->data == NULL && msg_map(m, d->spool_fd, &e) == -1)
		goto fail;
	sm = score_msg_new(m, NULL);
	if (score_cmd_bayes_open(conf, home, &store, sm, &b, &usable,
	    &e) == -1) {
		log_err("store: %s (scored without Bayes)", e.msg);
		store_failed = 1;
	}
	err_clear(&e);
	if (score_cmd_load_rules(conf, NULL, 0, usable ? 2 : 0,
	    SCORE_CMD_ONE_MESSAGE, &r, NULL, &e) == -1)
		goto fail;
	if (score_run(r, sm, b, &res, &e) == -1)
		log_err("bayes: %s (scored without it)", e.msg);
	err_clear(&e);
	scored = 1;
	/* autolearn before the rewrite (X-Spam-Status says what happened);
	 * a store failure is logged and the delivery goes on */
	if (score_cmd_autolearn(conf, b, store_failed, sm, &res, &e) == -1)
		log_err("autolearn: %s", e.msg);
	err_clear(&e);
	off = score_rewrite_head(&res, m->data, m->len, &head);
	if ((fd = memfd_create("sluice-scored", MFD_CLOEXEC)) == -1) {
		err_sys(&e, errno, "memfd_create");
		goto fail;
	}
	if (write_all(fd, head.data, head.len) == -1 ||
	    write_all(fd, m->data + off, m->len - off) == -1 ||
	    lseek(fd, 0, SEEK_SET) == -1) {
		err_sys(&e, errno, "write scored copy");
		goto fail;
	}
	/* the scored copy becomes the spool, re-indexed */
	score_msg_free(&sm);
	if (adopt_filtered(d, m, fd, &e) == -1)
		goto fail;
	(void)snprintf(score_out, score_size, "%.1f", res.score);
	goto out;
fail:
	log_err("scoring skipped: %s", e.msg);
out:
	if (fd != -1)
		close(fd);
	if (scored)
		score_result_free(&res);
	score_msg_free(&sm);
	score_rules_free(&r);
	bayes_free(&b);
	store_close(&store);
	buf_free(&head);
}

/* The list of folders an action list stored into, for the log line. */
static void
folders_of(const struct action_list *l, const char *root, struct buf *out)
{
	size_t i, rl = strlen(root);

	for (i = 0; i < l->n; i++) {
		const struct action *a = &l->v[i];
		const char *name;

		if (a->status != ACT_DONE || a->result == NULL)
			continue;
		if (a->type == ACT_KEEP)
			name = "INBOX";
		else if (a->type == ACT_FILEINTO)
			name = a->arg;
		else if (strncmp(a->result, root, rl) == 0)
			name = a->result + rl;
		else
			name = a->result;
		if (out->len > 0)
			buf_addc(out, ',');
		buf_adds(out, name);
	}
	if (out->len == 0)
		buf_adds(out, "-");
}

int
cmd_deliver(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "maildir", required_argument, NULL, 'M' },
		{ "rules", required_argument, NULL, 'R' },
		{ "lang", required_argument, NULL, 'L' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lda_opts o;
	struct deliver_ctx d;
	struct action_list l;
	struct passwd pw;
	struct conf conf;
	struct err e;
	struct buf pwstrs = BUF_INIT, folders = BUF_INIT, rcptbuf = BUF_INIT;
	struct msg *m = NULL;
	char root[PATH_MAX], host[256], q1[256], q2[256], q3[256];
	char pipedir[PATH_MAX], filterdir[PATH_MAX], score[32] = "-";
	struct store *store = NULL;
	const char *home, *sender, *rcpt, *status = "deferred";
	const struct hdr *h;
	struct sigaction sa;
	int c, code, procmail_code = -1;

	memset(&o, 0, sizeof o);
	memset(&pw, 0, sizeof pw);
	memset(&d, 0, sizeof d);
	d.spool_fd = -1;
	err_clear(&e);
	actions_init(&l);
	conf_init(&conf);
	umask(077);

	optind = 1;
	while ((c = getopt_long(argc, argv, "+a:c:d:ef:hm:", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'a':
			o.extension = optarg;
			break;
		case 'c':
			o.conf = optarg;
			break;
		case 'd':
			o.user = optarg;
			break;
		case 'e':
			o.stderr_log = 1;
			break;
		case 'f':
			o.sender = optarg;
			break;
		case 'm':
			o.folder = optarg;
			break;
		case 'M':
			o.maildir = optarg;
			break;
		case 'R':
			o.rules = optarg;
			break;
		case 'L':
			if (strcmp(optarg, "sieve") != 0 &&
			    strcmp(optarg, "procmail") != 0) {
				usage();
				fprintf(stderr, "5.3.5 sluice: --lang must be "
				    "sieve or procmail\n");
				return EX_USAGE;
			}
			o.lang = optarg;
			break;
		case 'h':
			usage();
			conf_free(&conf);
			return EX_OK;
		default:
			usage();
			fprintf(stderr, "5.3.5 sluice: bad command line\n");
			conf_free(&conf);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		conf_free(&conf);
		usage();
		fprintf(stderr, "5.3.5 sluice: unexpected argument \"%s\"\n",
		    argv[optind]);
		return EX_USAGE;
	}

	/* The deadline covers everything, privilege drop included. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_deadline;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGALRM, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);	/* EFBIG: cut back, never half a file */
	deadline_ctx = &d;
	alarm(LDA_DEFAULT_TIMEOUT);

	log_open("sluice", LOG_TO_SYSLOG | (o.stderr_log ? LOG_TO_STDERR : 0),
	    0);
	if (lda_drop_privileges(o.user, &pw, &pwstrs, &e) == -1)
		goto out;
	/* Configuration is read with the user's rights, like all else. */
	if (conf_load(&conf, o.conf ? o.conf : DEFAULT_CONF, o.conf != NULL,
	    &e) == -1)
		goto out;
	if (conf.mail_debug)
		log_open("sluice", LOG_TO_SYSLOG |
		    (o.stderr_log ? LOG_TO_STDERR : 0), 1);
	alarm(conf.deliver_timeout);

	home = o.user != NULL && pw.pw_dir != NULL ? pw.pw_dir :
	    envor("HOME", pw.pw_dir);
	if (expand_home(o.maildir ? o.maildir : conf.maildir, home, root,
	    sizeof root, &e) == -1)
		goto out;
	if (conf.hostname != NULL)
		(void)snprintf(host, sizeof host, "%s", conf.hostname);
	else if (gethostname(host, sizeof host) == -1 || host[0] == '\0')
		(void)snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';

	d.root = root;
	d.sep = conf.mailbox_separator;
	d.autocreate = conf.lda_mailbox_autocreate;
	d.autosubscribe = conf.lda_mailbox_autosubscribe;
	d.quota_tempfail = conf.quota_full_tempfail;
	d.host = host;
	m = d.msg = msg_new();

	/* Read the message once, straight into root/tmp. */
	if (deliver_spool_open(&d, &e) == -1)
		goto out;
	if (msg_spool(m, STDIN_FILENO, d.spool_fd, &e) == -1) {
		size_t n = strlen(e.msg);

		/* Name the file: "disk full" is only useful with a path. */
		if (n + 4 < sizeof e.msg)
			(void)snprintf(e.msg + n, sizeof e.msg - n, " (%.*s)",
			    (int)(sizeof e.msg - n - 4), d.spool_path);
		goto out;
	}
	if (deliver_spool_sync(&d, &e) == -1)
		goto out;
	if ((h = hdr_find(m, "Message-ID", 0)) != NULL) {
		char *id = hdr_unfold(m->arena, h->value);
		char pfx[160];

		(void)snprintf(pfx, sizeof pfx, "msgid=%s",
		    log_quote(q1, 128, id, strlen(id)));
		log_set_prefix(pfx);
	}

	/* Envelope: -f, then $SENDER (local(8)), then the From_ line. */
	sender = o.sender ? o.sender : getenv("SENDER");
	if (sender == NULL)
		sender = m->envelope_from ? m->envelope_from : "";
	d.sender = sender;

	if (conf.score_in_deliver)
		deliver_score(&d, &conf, home, score, sizeof score);

	/* The rules: the rule files (Sieve), else the implicit keep; -m
	 * FOLDER is where keeping stores. Rule errors never fail the
	 * delivery. */
	{
		struct lda_rules lr;
		struct lda_rules_result res = { .implicit_index = -1 };
		const char *user = o.user ? o.user : envor("USER",
		    pw.pw_name ? pw.pw_name : "");

		memset(&lr, 0, sizeof lr);
		lr.conf = &conf;
		lr.home = home;
		lr.rules = o.rules;
		lr.lang = o.lang;
		lr.root = root;
		lr.sep = conf.mailbox_separator;
		lr.sender = sender;
		lr.extension = o.extension;
		if (getenv("RECIPIENT") != NULL) {
			lr.recipient = getenv("RECIPIENT");
		} else {
			buf_reset(&rcptbuf);
			buf_adds(&rcptbuf, user);
			if (o.extension != NULL && o.extension[0] != '\0') {
				buf_addc(&rcptbuf, conf.recipient_delimiter[0] ?
				    conf.recipient_delimiter[0] : '+');
				buf_adds(&rcptbuf, o.extension);
			}
			buf_addf(&rcptbuf, "@%s", host);
			lr.recipient = rcptbuf.data;
		}
		lr.host = host;
		lr.username = user;
		lr.result = &res;
		res.lastfolder = &folders;
		lr.replace_message = adopt_filtered;
		lr.replace_arg = &d;
		(void)lda_rules_eval(&lr, m, d.spool_fd, &l);
		if (res.procmail) {
			/* The procmailrc engine delivered (or failed) by
			 * itself: no executor, no implicit keep; its exit
			 * status is ours. The spool goes with
			 * deliver_spool_close(). */
			procmail_code = res.exit_code;
			if (procmail_code != EX_OK)
				err_status(&e, procmail_code == EX_TEMPFAIL ?
				    ERR_TEMP : ERR_PERM, procmail_code ==
				    EX_TEMPFAIL ? "4.3.0" : "5.3.0",
				    "procmailrc: exit %d", procmail_code);
			status = procmail_code == EX_OK ? "delivered" :
			    "deferred";
			goto out;
		}
		if (o.folder != NULL)
			keep_to_folder(&l, o.folder);

		/* What the executor needs for outbound mail and programs. */
		d.recipient = lr.recipient;
		d.orig_recipient = envor("ORIGINAL_RECIPIENT", NULL);
		d.sendmail_path = conf.sendmail_path;
		d.postmaster_address = conf.postmaster_address;
		d.pipe_bin_dir = conf_path(conf.sieve_pipe_bin_dir, home,
		    pipedir);
		d.filter_bin_dir = conf_path(conf.sieve_filter_bin_dir, home,
		    filterdir);
		d.prog_timeout = conf.sieve_pipe_exec_timeout;
		if (needs_store(&l) && conf.store != NULL &&
		    conf.store[0] != '\0') {
			struct err se;

			err_clear(&se);
			/* DESIGN.md "State": a store that is down degrades
			 * vacation/duplicate; the mail is delivered. */
			if ((store = store_open(conf.store, home, &se)) == NULL)
				log_err("store %s: %s (vacation and duplicate "
				    "tracking skipped)", conf.store, se.msg);
			d.store = store;
		}
	}
	if (deliver_run(&d, &l, &e) == -1)
		goto out;
	status = "delivered";
	if (l.n == 0 || (l.n > 0 && l.v[0].type == ACT_DISCARD))
		status = "discarded";
out:
	code = procmail_code >= 0 ? procmail_code : err_exit_code(&e);
	if (e.cls != ERR_NONE)
		status = code == EX_TEMPFAIL ? "deferred" : "bounced";
	rcpt = envor("RECIPIENT", o.user ? o.user : envor("USER",
	    pw.pw_name ? pw.pw_name : "-"));
	if (procmail_code < 0)
		folders_of(&l, root, &folders);
	else if (folders.len == 0)
		buf_adds(&folders, "-");
	sender = d.sender ? d.sender : (o.sender ? o.sender : "-");
	if (e.cls == ERR_NONE)
		log_info("from=<%s> to=<%s> folders=%s size=%lld score=%s "
		    "status=%s", log_quote(q2, sizeof q2, sender, strlen(sender)),
		    log_quote(q3, sizeof q3, rcpt, strlen(rcpt)), folders.data,
		    m ? (long long)m->size : 0LL, score, status);
	else
		log_err("from=<%s> to=<%s> folders=%s size=%lld score=%s "
		    "status=%s (%s %s)",
		    log_quote(q2, sizeof q2, sender, strlen(sender)),
		    log_quote(q3, sizeof q3, rcpt, strlen(rcpt)), folders.data,
		    m ? (long long)m->size : 0LL, score, status, e.status,
		    e.msg);
	if (e.cls != ERR_NONE)
		fprintf(stderr, "%s sluice: %s\n", e.status, e.msg);
	deliver_spool_close(&d);
	deadline_ctx = NULL;
	store_close(&store);
	actions_free(&l);
	msg_free(&m);
	conf_free(&conf);
	buf_free(&pwstrs);
	buf_free(&folders);
	buf_free(&rcptbuf);
	log_close();
	return code;
}
