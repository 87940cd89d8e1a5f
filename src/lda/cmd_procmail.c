/*
 * cmd_procmail.c - procmail's command line and the environment the
 * procmailrc interpreter runs in (struct pm_env): folders through
 * pmfolder.c, lockfiles, programs through program_run().
 *
 * `sluice procmail ARGS`, or the sluice binary under the name "procmail"
 * (a symlink), accepts procmail 3.22's command line so that Postfix's
 *   mailbox_command = procmail -a "$EXTENSION" DEFAULT=$HOME/Maildir/
 *       MAILDIR=$HOME/Maildir
 * keeps working (DESIGN.md "Programs"). `sluice deliver` runs a chosen
 * .procmailrc in-process through lda_procmail_run().
 *
 * Deliberate differences from procmail (sluice-procmailrc(7)):
 *  - never runs as root: as root without -d it refuses (75); with -d it
 *    drops to the user before any file is opened, and /etc/procmailrc
 *    runs with the user's rights too (procmail runs it as root);
 *  - every transient or internal failure exits 75 (procmail: 73 without
 *    -t), a bad command line 64; nothing is ever mailed back;
 *  - a message without a "From " line gets one only with -f or -d, as
 *    procmail ("From SENDER  ctime-date", SENDER from -f, else $SENDER of
 *    Postfix, else the invoking user), but an mbox copy always starts
 *    with one (pmfolder.c), so that it never runs into the message before;
 *  - the message read from stdin is bounded (PROCMAIL_MAX_MESSAGE: 75
 *    over it).
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "deliver/deliver.h"
#include "lib/conf.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/program.h"
#include "msg/msg.h"
#include "rules/procmailrc/procmailrc.h"
#include "lda.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONF SYSCONFDIR "/sluice/sluice.conf"

#define PROCMAIL_MAX_MESSAGE	(512L * 1024 * 1024) /* bytes read from stdin */
#define PROCMAIL_MAX_LOCKS	64	/* lockfiles held at once */
#define PROCMAIL_MAX_ARGS	1024	/* -a and -m arguments, assignments */
#define PROCMAIL_MAX_RCPTS	256	/* -d recipients */
#define PROCMAIL_GLOBAL_RC	"/etc/procmailrc"
/* The global rc file can be moved for tests: it runs with the user's
 * rights, so the variable gives nobody anything they did not have. */
#define PROCMAIL_GLOBAL_RC_ENV	"SLUICE_PROCMAIL_GLOBALRC"
#define PROCMAIL_VERSION_STR	"3.23pre"	/* what Debian's 3.22 says */
#define PROCMAIL_LINEBUF	"2048"		/* procmail's default $LINEBUF */
#define PROCMAIL_ERR_OUT_CAP	4096	/* stdout kept of a non-capturing
					 * program (dropped) */

/* ---- the environment callbacks ---- */

struct held_lock {
	char *path;
	dev_t dev;
	ino_t ino;
};

struct envarg {
	struct pmfolder_ctx fc;
	int dry_run;
	struct held_lock locks[PROCMAIL_MAX_LOCKS];
};

static int
env_deliver(void *arg, const struct pm_folder_req *r, struct buf *lastfolder,
    struct err *e)
{
	struct envarg *a = arg;
	size_t i;

	if (a->dry_run) {
		/* sluice test: say where it would go, write nothing. */
		buf_reset(lastfolder);
		for (i = 0; i < r->nfolders; i++) {
			if (i > 0)
				buf_addc(lastfolder, ' ');
			buf_adds(lastfolder, r->folders[i]);
		}
		buf_reserve(lastfolder, 0);
		return 0;
	}
	return pmfolder_deliver(&a->fc, r, lastfolder, e);
}

static int
env_lock(void *arg, const char *path, long locktimeout, struct err *e)
{
	struct envarg *a = arg;
	dev_t dev;
	ino_t ino;
	size_t i;

	if (a->dry_run)
		return 0;
	/* No overall bound: procmail waits as long as the lock is fresh;
	 * Postfix's command_time_limit ends a run that hangs. */
	if (pmlock_take(path, locktimeout, 0, &dev, &ino, e) == -1)
		return -1;
	for (i = 0; i < PROCMAIL_MAX_LOCKS; i++)
		if (a->locks[i].path == NULL) {
			a->locks[i].path = xstrdup(path);
			a->locks[i].dev = dev;
			a->locks[i].ino = ino;
			return 0;
		}
	pmlock_drop(path, dev, ino);
	return err_set(e, ERR_TEMP, "too many lockfiles held (%d)",
	    PROCMAIL_MAX_LOCKS);
}

static void
env_unlock(void *arg, const char *path)
{
	struct envarg *a = arg;
	size_t i;

	if (a->dry_run)
		return;
	for (i = PROCMAIL_MAX_LOCKS; i-- > 0;)
		if (a->locks[i].path != NULL &&
		    strcmp(a->locks[i].path, path) == 0) {
			pmlock_drop(path, a->locks[i].dev, a->locks[i].ino);
			free(a->locks[i].path);
			a->locks[i].path = NULL;
			return;
		}
}

/* Locks still held when the run ends (an aborted run): removed. */
static void
release_locks(struct envarg *a)
{
	size_t i;

	for (i = 0; i < PROCMAIL_MAX_LOCKS; i++)
		if (a->locks[i].path != NULL) {
			if (!a->dry_run)
				pmlock_drop(a->locks[i].path, a->locks[i].dev,
				    a->locks[i].ino);
			free(a->locks[i].path);
			a->locks[i].path = NULL;
		}
}

/* dir/name made absolute (program_run wants absolute paths). */
static int
absolute(const char *dir, size_t dlen, const char *name, char *out)
{
	char cwd[PATH_MAX];

	if (dlen == 0 || dir[0] != '/') {
		if (getcwd(cwd, sizeof cwd) == NULL)
			return -1;
		if (dlen == 0 || (dlen == 1 && dir[0] == '.'))
			return buf_fmt(out, PATH_MAX, "%s/%s", cwd, name);
		return buf_fmt(out, PATH_MAX, "%s/%.*s/%s", cwd, (int)dlen,
		    dir, name);
	}
	return buf_fmt(out, PATH_MAX, "%.*s/%s", (int)dlen, dir, name);
}

static int
is_exec(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

/*
 * execvp(3)'s search with the run's PATH (not ours): a name with '/' is
 * used as is (relative to the current directory, $MAILDIR); an empty PATH
 * element is the current directory. 0 and out, or -1: not found.
 */
static int
resolve(const char *name, const char *const *envp, char *out)
{
	const char *path = "/usr/bin:/bin", *p, *end;
	size_t i;

	if (name == NULL || name[0] == '\0')
		return -1;
	if (strchr(name, '/') != NULL) {
		if (name[0] == '/')
			return buf_fmt(out, PATH_MAX, "%s", name);
		return absolute(".", 1, name, out);
	}
	for (i = 0; envp != NULL && envp[i] != NULL; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			path = envp[i] + 5;
	for (p = path;; p = end + 1) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		if (absolute(p, (size_t)(end - p), name, out) == 0 &&
		    is_exec(out))
			return 0;
		if (*end == '\0')
			break;
	}
	return -1;
}

static int
env_program(void *arg, const struct pm_prog_req *r, struct pm_prog_res *res,
    struct err *e)
{
	struct envarg *a = arg;
	struct program_opts o;
	struct program_result pr;
	char path[PATH_MAX];
	const char **argv = NULL;
	size_t n, i;
	int ret, efd;

	memset(res, 0, sizeof *res);
	if (a->dry_run && (r->kind == PMP_DELIVER ||
	    r->kind == PMP_FORWARD || r->kind == PMP_TRAP)) {
		/* sluice test: what delivers or sends is reported as done;
		 * conditions, backquotes and filters run (they decide). */
		res->started = 1;
		res->exited = 1;
		return 0;
	}
	if (r->argv == NULL || r->argv[0] == NULL)
		return err_set(e, ERR_INTERNAL, "empty command");
	efd = r->err_fd >= 0 ? r->err_fd : STDERR_FILENO;
	if (resolve(r->argv[0], r->envp, path) == -1) {
		char q[256];

		log_quote(q, sizeof q, r->argv[0], strlen(r->argv[0]));
		dprintf(efd, "procmail: Failed to execute \"%s\"\n", q);
		return 0;	/* started == 0 */
	}
	for (n = 0; r->argv[n] != NULL; n++)
		;
	argv = xcalloc(n + 1, sizeof *argv);
	argv[0] = path;
	for (i = 1; i < n; i++)
		argv[i] = r->argv[i];

	program_opts_init(&o);
	o.argv = argv;
	o.envp = r->envp;
	o.head = r->in;
	o.head_len = r->in != NULL ? r->in_len : 0;
	o.out_cap = r->capture ? (r->out_cap ? r->out_cap :
	    (size_t)PM_MAX_PROGRAM_OUTPUT) : PROCMAIL_ERR_OUT_CAP;
	o.timeout = r->timeout ? r->timeout : PM_DEFAULT_TIMEOUT;
	memset(&pr, 0, sizeof pr);
	ret = program_run(&o, &pr, e);
	if (ret == -1 && strncmp(e->msg, "execute ", 8) == 0) {
		/* exec failed: procmail's "Failed to execute" */
		dprintf(efd, "procmail: %s\n", e->msg);
		err_clear(e);
		ret = 0;
		goto out;
	}
	if (ret == -1)
		goto out;
	/* procmail's programs write their stderr to procmail's, which is
	 * the LOGFILE when the run set one (the first PROGRAM_ERR_CAP
	 * bytes here). */
	if (pr.err.len > 0)
		(void)write_all(efd, pr.err.data, pr.err.len);
	res->started = 1;
	res->exited = pr.exited;
	res->status = pr.status;
	res->signaled = pr.signaled;
	res->timed_out = pr.timed_out;
	if (r->capture) {
		res->out = pr.out;
		memset(&pr.out, 0, sizeof pr.out);
	}
out:
	program_result_free(&pr);
	free(argv);
	return ret;
}

/* ---- the message ---- */

int
lda_procmail_text(struct buf *out, const char *p, size_t len,
    const char *fromwhom, const char *dflt_sender)
{
	const char *nl;
	size_t skip = 0;

	if (len >= 5 && memcmp(p, "From ", 5) == 0) {
		if (fromwhom == NULL) {
			buf_add(out, p, len);
			buf_reserve(out, 0);
			return 0;
		}
		nl = memchr(p, '\n', len);
		skip = nl ? (size_t)(nl + 1 - p) : len;
		if (strcmp(fromwhom, "-") == 0) {
			/* -f -: the old sender, a new date. */
			const char *s = p + 5, *sp;
			char *old;

			sp = memchr(s, ' ', skip - 5);
			old = xstrndup(s, sp ? (size_t)(sp - s) :
			    skip - 5 - (nl != NULL));
			mbox_from_line(out, old, time(NULL));
			free(old);
		} else {
			mbox_from_line(out, fromwhom, time(NULL));
		}
	} else {
		mbox_from_line(out, fromwhom != NULL && strcmp(fromwhom, "-") ?
		    fromwhom : dflt_sender, time(NULL));
	}
	buf_add(out, p + skip, len - skip);
	buf_reserve(out, 0);
	return 0;
}

/* Read all of fd into b, at most max bytes. */
static int
read_all(int fd, struct buf *b, size_t max, struct err *e)
{
	ssize_t n;

	for (;;) {
		buf_reserve(b, MSG_IO_CHUNK);
		n = read(fd, b->data + b->len, MSG_IO_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return err_sys(e, errno, "read message");
		if (n == 0)
			break;
		b->len += (size_t)n;
		if (b->len > max)
			return err_status(e, ERR_TEMP, "4.3.4",
			    "message larger than %zu bytes", max);
	}
	buf_reserve(b, 0);
	b->data[b->len] = '\0';
	return 0;
}

/* ---- one run ---- */

static void
var_add(char ***v, size_t *n, size_t *cap,
    const char *name, const char *value)
{
	struct buf b = BUF_INIT;

	if (*n + 1 >= *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xreallocarray(*v, *cap, sizeof **v);
	}
	if (value == NULL) {
		buf_adds(&b, name);
	} else {
		buf_adds(&b, name);
		buf_addc(&b, '=');
		buf_adds(&b, value);
	}
	(*v)[(*n)++] = buf_steal(&b);
	(*v)[*n] = NULL;
}

/* Variables that change how the run-time linker loads programs. */
static int
linker_var(const char *kv)
{
	return strncmp(kv, "LD_", 3) == 0 || strncmp(kv, "GCONV_PATH=", 11) == 0 ||
	    strncmp(kv, "HOSTALIASES=", 12) == 0 ||
	    strncmp(kv, "LOCALDOMAIN=", 12) == 0 ||
	    strncmp(kv, "RES_OPTIONS=", 12) == 0;
}

/* Run one rc file. The run writes its diagnostics to its own log
 * (LOGFILE, else stderr) as procmail does; they are also collected in
 * p->diags when asked, and failures go to syslog. 1 delivered, 0 fell
 * off the end, -1 unusable. */
static int
run_rc(const struct lda_procmail *p, struct pm_run *run, const char *path,
    struct pm_diags *d, struct err *e)
{
	int r = pm_run_file(run, path, d, e);

	if (r == -1) {
		if (p->diags != NULL && d->text.len == 0)
			buf_addf(&d->text, "%s: error: %s\n", path, e->msg);
		log_err("procmailrc %s: %s", path, e->msg);
		err_clear(e);
	}
	if (d->text.len > 0 && p->diags != NULL)
		buf_add(p->diags, d->text.data, d->text.len);
	buf_reset(&d->text);
	return r;
}

int
lda_procmail_run(const struct lda_procmail *p, struct err *e)
{
	extern char **environ;
	struct envarg *ea = xcalloc(1, sizeof *ea);
	struct pm_env env;
	struct pm_conf pc;
	struct pm_run *run = NULL;
	struct pm_diags d;
	char **vars = NULL, orgmail[PATH_MAX], pathv[PATH_MAX * 2];
	char rc[PATH_MAX];
	const char *maildir, *global;
	size_t nvars = 0, cap = 0, i;
	int code = EX_TEMPFAIL, delivered = 0;
	char host[256];

	pm_diags_init(&d);
	ea->fc.host = p->host;
	ea->fc.root = p->root;
	ea->fc.sep = p->conf ? p->conf->mailbox_separator : '.';
	ea->fc.locktimeout = PM_DEFAULT_LOCKTIMEOUT;
	ea->dry_run = p->dry_run;
	memset(&env, 0, sizeof env);
	env.arg = ea;
	env.deliver = env_deliver;
	env.lock = env_lock;
	env.unlock = env_unlock;
	env.program = env_program;
	memset(&pc, 0, sizeof pc);
	pc.skip_bad_recipes = p->conf ? p->conf->procmail_skip_bad_recipes : 0;
	pc.check_rc_perms = 1;
	pc.uid = getuid();
	pc.dry_run = p->dry_run;
	pc.trace = p->trace != NULL;

	/* procmail: the environment is cleared but for TZ, unless -p;
	 * linker variables go in any case. */
	for (i = 0; environ != NULL && environ[i] != NULL; i++) {
		const char *kv = environ[i];

		if (linker_var(kv) || strchr(kv, '=') == NULL)
			continue;
		if (p->preserve || strncmp(kv, "TZ=", 3) == 0)
			var_add(&vars, &nvars, &cap, kv, NULL);
	}
	/* procmailrc(5) "Environment variable defaults". */
	if (buf_fmt(orgmail, sizeof orgmail, "/var/mail/%s", p->logname) == -1)
		(void)snprintf(orgmail, sizeof orgmail, "/var/mail/unknown");
	maildir = p->home;
	if (p->mflag || (p->nrcfiles > 0 && strncmp(p->rcfiles[0], "./",
	    2) == 0))
		maildir = ".";
	var_add(&vars, &nvars, &cap, "HOME", p->home);
	var_add(&vars, &nvars, &cap, "LOGNAME", p->logname);
	var_add(&vars, &nvars, &cap, "SHELL", p->shell);
	/* exported even with -p -m, as procmail does */
	var_add(&vars, &nvars, &cap, "LINEBUF", PROCMAIL_LINEBUF);
	if (!(p->preserve && p->mflag)) {
		(void)snprintf(pathv, sizeof pathv,
		    "%s/bin:/usr/local/bin:/usr/bin:/bin", p->home);
		var_add(&vars, &nvars, &cap, "PATH", pathv);
		var_add(&vars, &nvars, &cap, "SHELLMETAS", "&|<>~;?*[");
		var_add(&vars, &nvars, &cap, "SHELLFLAGS", "-c");
	}
	if (!p->mflag)
		var_add(&vars, &nvars, &cap, "ORGMAIL", orgmail);
	var_add(&vars, &nvars, &cap, "MAILDIR", maildir);
	if (!(p->preserve && p->mflag)) {
		if (!p->mflag)
			var_add(&vars, &nvars, &cap, "DEFAULT", orgmail);
		var_add(&vars, &nvars, &cap, "MSGPREFIX",
		    PMFOLDER_MSGPREFIX);
		var_add(&vars, &nvars, &cap, "SENDMAIL",
		    p->conf && p->conf->sendmail_path ?
		    p->conf->sendmail_path : DELIVER_SENDMAIL);
		var_add(&vars, &nvars, &cap, "SENDMAILFLAGS", "-oi");
		if (gethostname(host, sizeof host) == -1)
			(void)snprintf(host, sizeof host, "localhost");
		host[sizeof host - 1] = '\0';
		var_add(&vars, &nvars, &cap, "HOST", host);
		if (p->nrcfiles > 0)
			var_add(&vars, &nvars, &cap, "COMSAT", "no");
		var_add(&vars, &nvars, &cap, "PROCMAIL_VERSION",
		    PROCMAIL_VERSION_STR);
		var_add(&vars, &nvars, &cap, "LOCKEXT", ".lock");
	}
	for (i = 0; i < p->nassigns; i++)
		var_add(&vars, &nvars, &cap, p->assigns[i], NULL);

	run = pm_run_new(&pc, &env, p->text, p->len,
	    (const char *const *)vars, nvars, p->args, p->nargs);
	if (run == NULL) {
		err_set(e, ERR_INTERNAL, "cannot start the procmailrc run");
		goto out;
	}
	/* procmail(1): /etc/procmailrc first when no rc file and no -p
	 * was given; then the user's, or the first rc file of the command
	 * line that can be used. */
	if (p->nrcfiles == 0 && !p->preserve && !p->no_global) {
		global = getenv(PROCMAIL_GLOBAL_RC_ENV);
		if (global == NULL || global[0] == '\0')
			global = PROCMAIL_GLOBAL_RC;
		if (access(global, F_OK) == 0)
			delivered = run_rc(p, run, global, &d, e) == 1;
	}
	if (!delivered && p->nrcfiles == 0 &&
	    buf_fmt(rc, sizeof rc, "%s/.procmailrc", p->home) == 0 &&
	    access(rc, F_OK) == 0)
		(void)run_rc(p, run, rc, &d, e);
	for (i = 0; !delivered && i < p->nrcfiles; i++) {
		const char *f = p->rcfiles[i];

		/* Relative names are under $HOME, unless "./" or -m. */
		if (f[0] == '/' || p->mflag || strncmp(f, "./", 2) == 0)
			(void)snprintf(rc, sizeof rc, "%s", f);
		else if (buf_fmt(rc, sizeof rc, "%s/%s", p->home, f) == -1)
			continue;
		/* The first one that exists (procmail(1) ARGUMENTS). */
		if (access(rc, F_OK) == -1 && i + 1 < p->nrcfiles)
			continue;
		(void)run_rc(p, run, rc, &d, e);
		break;
	}
	if (p->trace != NULL)
		pm_run_trace(run, p->trace);
	code = pm_run_finish(run, e);
	if (p->lastfolder != NULL) {
		const char *lf = pm_run_var(run, "LASTFOLDER");

		buf_reset(p->lastfolder);
		buf_adds(p->lastfolder, lf ? lf : "-");
	}
out:
	pm_run_free(&run);
	release_locks(ea);
	free(ea);
	for (i = 0; i < nvars; i++)
		free(vars[i]);
	free(vars);
	pm_diags_free(&d);
	return code;
}

/* ---- sluice deliver with a .procmailrc ---- */

int
lda_procmail_deliver(const struct lda_rules *in, struct msg *m, int spool_fd,
    const char *rcfile, int default_choice)
{
	struct lda_procmail p;
	struct buf text = BUF_INIT, def = BUF_INIT, md = BUF_INIT;
	struct passwd *pw;
	const char *assigns[2], *args[1], *rcfiles[1];
	struct err e;
	char shell[PATH_MAX];
	int code;

	err_clear(&e);
	if (m->data == NULL && spool_fd >= 0 && msg_map(m, spool_fd, &e) == -1) {
		log_err("procmailrc: cannot map the message: %s", e.msg);
		return -1;
	}
	/* The spool holds no From_ line (msg_spool consumed it): procmail
	 * holds one, made from the envelope sender. */
	lda_procmail_text(&text, m->data ? m->data : "", m->data ? m->len : 0,
	    in->sender ? in->sender : "", in->sender);
	pw = getpwuid(getuid());
	(void)snprintf(shell, sizeof shell, "%s", pw && pw->pw_shell &&
	    pw->pw_shell[0] ? pw->pw_shell : "/bin/sh");
	/* What Postfix's "procmail -a "$EXTENSION" DEFAULT=$HOME/Maildir/
	 * MAILDIR=$HOME/Maildir" does, with sluice's Maildir root. */
	buf_addf(&def, "DEFAULT=%s/", in->root);
	buf_addf(&md, "MAILDIR=%s", in->root);
	assigns[0] = def.data;
	assigns[1] = md.data;
	args[0] = in->extension ? in->extension : "";
	rcfiles[0] = rcfile;
	memset(&p, 0, sizeof p);
	p.conf = in->conf;
	p.home = in->home;
	p.logname = in->username;
	p.shell = shell;
	p.root = in->root;
	p.host = in->host;
	p.text = text.data;
	p.len = text.len;
	p.assigns = assigns;
	p.nassigns = 2;
	p.args = args;
	p.nargs = 1;
	/* The default choice (~/.procmailrc) runs as procmail would with
	 * no rc argument: /etc/procmailrc first. --rules FILE alone. */
	if (!default_choice) {
		p.rcfiles = rcfiles;
		p.nrcfiles = 1;
		p.no_global = 1;
	}
	p.diags = in->result->diags;
	p.trace = in->trace;
	p.lastfolder = in->result->lastfolder;
	code = lda_procmail_run(&p, &e);
	if (e.cls != ERR_NONE)
		log_err("procmailrc: %s", e.msg);
	in->result->procmail = 1;
	in->result->exit_code = code;
	buf_free(&text);
	buf_free(&def);
	buf_free(&md);
	return 0;
}

/* ---- the command line ---- */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: procmail [-ptoY] [-f fromwhom] [parameter=value | rcfile] ...\n"
	    "       procmail [-toY] [-f fromwhom] [-a argument] ... -d recipient ...\n"
	    "       procmail [-ptY] -m [parameter=value] ... rcfile [argument] ...\n"
	    "       procmail -v\n");
}

struct pm_cmdline {
	int preserve, mflag, version;
	const char *fromwhom;
	const char *args[PROCMAIL_MAX_ARGS];
	size_t nargs;
	const char *assigns[PROCMAIL_MAX_ARGS];
	size_t nassigns;
	const char *rcfiles[PROCMAIL_MAX_ARGS];
	size_t nrcfiles;
	const char *rcpts[PROCMAIL_MAX_RCPTS];
	size_t nrcpts;
};

/* procmail's own option syntax: flags may be bundled ("-pt"), and -a,
 * -f, -r take the rest of the word or the next one. -d makes every
 * remaining argument a recipient. 0, or -1 (usage). */
static int
parse_cmdline(int argc, char **argv, struct pm_cmdline *c)
{
	int i = 1, dmode = 0;
	const char *s, *val;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (s = argv[i] + 1; *s != '\0'; s++) {
			switch (*s) {
			case 'p':
				c->preserve = 1;
				continue;
			case 't': case 'o': case 'Y':
				/* -t: we always fail softly (75); -o: the
				 * From_ line is always ours to make; -Y: we
				 * never read Content-Length. */
				continue;
			case 'v':
				c->version = 1;
				continue;
			case 'm':
				c->mflag = 1;
				continue;
			case 'd':
				dmode = 1;
				if (s[1] != '\0') {
					c->rcpts[c->nrcpts++] = s + 1;
				}
				break;
			case 'a': case 'f': case 'r':
				if (s[1] != '\0')
					val = s + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else
					return -1;
				if (*s == 'a') {
					if (c->nargs >= PROCMAIL_MAX_ARGS)
						return -1;
					c->args[c->nargs++] = val;
				} else {
					c->fromwhom = val;
				}
				break;
			default:
				return -1;
			}
			break;	/* the word was used up */
		}
		if (dmode) {
			i++;
			break;
		}
	}
	if (c->version)
		return 0;
	if (dmode) {
		if (c->mflag || c->preserve)
			return -1;	/* "Conflicting options" */
		for (; i < argc; i++) {
			if (c->nrcpts >= PROCMAIL_MAX_RCPTS)
				return -1;
			c->rcpts[c->nrcpts++] = argv[i];
		}
		return c->nrcpts > 0 ? 0 : -1;
	}
	if (c->mflag && c->nargs > 0) {
		/* procmail says so and goes on without the -a arguments:
		 * with -m, $1.. are the words after the rc file */
		fprintf(stderr, "procmail: Conflicting options\n");
		c->nargs = 0;
	}
	for (; i < argc; i++) {
		if (c->mflag && c->nrcfiles > 0) {
			/* -m: everything after the rc file is $1.. */
			if (c->nargs >= PROCMAIL_MAX_ARGS)
				return -1;
			c->args[c->nargs++] = argv[i];
		} else if (strchr(argv[i], '=') != NULL) {
			if (c->nassigns >= PROCMAIL_MAX_ARGS)
				return -1;
			c->assigns[c->nassigns++] = argv[i];
		} else {
			if (c->nrcfiles >= PROCMAIL_MAX_ARGS)
				return -1;
			c->rcfiles[c->nrcfiles++] = argv[i];
		}
	}
	if (c->mflag && c->nrcfiles == 0)
		return -1;
	return 0;
}

/*
 * HOME, LOGNAME and SHELL as procmail takes them: the running user's
 * passwd entry, copied into strs. One deliberate difference: without -d,
 * an absolute $HOME from the caller wins (Postfix's local(8) sets it from
 * the same passwd entry, and tests can then run in a scratch home); with
 * no passwd entry (containers) the environment must do.
 */
static void
user_info(struct buf *strs, int env_home, const char **home,
    const char **logname, const char **shell)
{
	struct passwd *pw = getpwuid(getuid());
	const char *h, *l, *s, *eh = getenv("HOME");
	size_t a, b;

	if (pw != NULL) {
		h = pw->pw_dir;
		l = pw->pw_name;
		s = pw->pw_shell && pw->pw_shell[0] ? pw->pw_shell : "/bin/sh";
	} else {
		h = "/";
		l = getenv("LOGNAME") ? getenv("LOGNAME") :
		    getenv("USER") ? getenv("USER") : "unknown";
		s = "/bin/sh";
	}
	if ((env_home || pw == NULL) && eh != NULL && eh[0] == '/')
		h = eh;
	buf_reset(strs);
	buf_adds(strs, h);
	buf_addc(strs, '\0');
	a = strs->len;
	buf_adds(strs, l);
	buf_addc(strs, '\0');
	b = strs->len;
	buf_adds(strs, s);
	*home = strs->data;
	*logname = strs->data + a;
	*shell = strs->data + b;
}

/* One delivery with the rights we have now (already the user's). */
static int
deliver_one(const struct pm_cmdline *c, const struct buf *raw,
    const char *dflt_sender)
{
	struct lda_procmail p;
	struct conf conf;
	struct buf strs = BUF_INIT, text = BUF_INIT, lf = BUF_INIT;
	char root[PATH_MAX], host[256], q1[256];
	const char *home, *logname, *shell;
	struct err e;
	int code;

	err_clear(&e);
	conf_init(&conf);
	if (conf_load(&conf, DEFAULT_CONF, 0, &e) == -1) {
		fprintf(stderr, "%s sluice procmail: %s\n", e.status, e.msg);
		conf_free(&conf);
		return EX_TEMPFAIL;
	}
	user_info(&strs, c->nrcpts == 0, &home, &logname, &shell);
	if (conf.hostname != NULL)
		(void)snprintf(host, sizeof host, "%s", conf.hostname);
	else if (gethostname(host, sizeof host) == -1 || host[0] == '\0')
		(void)snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	root[0] = '\0';
	if (conf.maildir != NULL && conf.maildir[0] == '~' &&
	    conf.maildir[1] == '/')
		(void)buf_fmt(root, sizeof root, "%s%s", home, conf.maildir + 1);
	else if (conf.maildir != NULL && conf.maildir[0] == '/')
		(void)buf_fmt(root, sizeof root, "%s", conf.maildir);

	/* procmail makes a From_ line only for -f and -d: without them
	 * the message is held as it came (an mbox still gets one: see
	 * pmfolder.c). */
	if (c->fromwhom == NULL && c->nrcpts == 0) {
		buf_add(&text, raw->data ? raw->data : "", raw->len);
		buf_reserve(&text, 0);
	} else
		lda_procmail_text(&text, raw->data ? raw->data : "",
		    raw->len, c->fromwhom, dflt_sender);
	memset(&p, 0, sizeof p);
	p.conf = &conf;
	p.home = home;
	p.logname = logname;
	p.shell = shell;
	p.root = root[0] ? root : NULL;
	p.host = host;
	p.text = text.data;
	p.len = text.len;
	p.preserve = c->preserve;
	p.mflag = c->mflag;
	p.assigns = c->assigns;
	p.nassigns = c->nassigns;
	p.rcfiles = c->rcfiles;
	p.nrcfiles = c->nrcfiles;
	p.args = c->args;
	p.nargs = c->nargs;
	p.lastfolder = &lf;
	code = lda_procmail_run(&p, &e);
	if (e.cls != ERR_NONE || code == EX_TEMPFAIL) {
		if (e.cls == ERR_NONE)
			err_status(&e, ERR_TEMP, "4.3.0", "nothing delivered");
		fprintf(stderr, "%s sluice procmail: %s\n", e.status, e.msg);
	}
	log_info("to=<%s> folders=%s size=%zu status=%s (exit %d)",
	    log_quote(q1, sizeof q1, logname, strlen(logname)),
	    lf.data ? lf.data : "-", raw->len,
	    code == 0 ? "delivered" : code == EX_TEMPFAIL ? "deferred" :
	    "bounced", code);
	buf_free(&strs);
	buf_free(&text);
	buf_free(&lf);
	conf_free(&conf);
	return code;
}

int
cmd_procmail(int argc, char **argv)
{
	struct pm_cmdline *c = xcalloc(1, sizeof *c);
	struct buf raw = BUF_INIT, pwstrs = BUF_INIT, sndbuf = BUF_INIT;
	struct passwd pw;
	struct err e;
	const char *dflt_sender;
	size_t i;
	int code = EX_TEMPFAIL;

	err_clear(&e);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	/* Over a file size limit, write(2) fails with EFBIG and the folder
	 * is cut back, instead of a kill that leaves half an mbox. */
	signal(SIGXFSZ, SIG_IGN);
	log_open("sluice", LOG_TO_SYSLOG, 0);
	if (parse_cmdline(argc, argv, c) == -1) {
		usage();
		fprintf(stderr, "5.3.5 sluice procmail: bad command line\n");
		code = EX_USAGE;
		goto out;
	}
	if (c->version) {
		printf("sluice %s: procmail %s compatible delivery\n",
		    PACKAGE_VERSION, PROCMAIL_VERSION_STR);
		code = EX_OK;
		goto out;
	}
	/* Never as root: -d names whom to become; anything else is a
	 * configuration error (Postfix never runs mailbox_command as root). */
	if ((getuid() == 0 || geteuid() == 0) && c->nrcpts == 0) {
		fprintf(stderr, "4.3.0 sluice procmail: refusing to run as "
		    "root without -d USER\n");
		code = EX_TEMPFAIL;
		goto out;
	}
	/* The sender when the message has no From_ line: $SENDER from
	 * Postfix, else who runs us. */
	dflt_sender = getenv("SENDER");
	if (dflt_sender == NULL || dflt_sender[0] == '\0') {
		struct passwd *me = getpwuid(getuid());

		buf_adds(&sndbuf, me ? me->pw_name : "MAILER-DAEMON");
		dflt_sender = sndbuf.data;
	}
	if (read_all(STDIN_FILENO, &raw, PROCMAIL_MAX_MESSAGE, &e) == -1) {
		fprintf(stderr, "%s sluice procmail: %s\n", e.status, e.msg);
		code = EX_TEMPFAIL;
		goto out;
	}
	if (c->nrcpts == 0) {
		code = deliver_one(c, &raw, dflt_sender);
		goto out;
	}
	if (c->nrcpts == 1) {
		if (lda_drop_privileges(c->rcpts[0], &pw, &pwstrs, &e) == -1) {
			fprintf(stderr, "%s sluice procmail: %s\n", e.status,
			    e.msg);
			code = err_exit_code(&e);
			goto out;
		}
		code = deliver_one(c, &raw, dflt_sender);
		goto out;
	}
	/* Several recipients: one child each, so that each drops to its own
	 * user. Any deferral defers the whole (Postfix cannot retry part of
	 * a command); otherwise the first failure's code. */
	code = EX_OK;
	for (i = 0; i < c->nrcpts; i++) {
		pid_t pid;
		int st, rc;

		fflush(NULL);
		if ((pid = fork()) == -1) {
			fprintf(stderr, "4.3.0 sluice procmail: fork: %s\n",
			    strerror(errno));
			code = EX_TEMPFAIL;
			break;
		}
		if (pid == 0) {
			if (lda_drop_privileges(c->rcpts[i], &pw, &pwstrs,
			    &e) == -1) {
				fprintf(stderr, "%s sluice procmail: %s\n",
				    e.status, e.msg);
				_exit(err_exit_code(&e));
			}
			rc = deliver_one(c, &raw, dflt_sender);
			fflush(NULL);
			_exit(rc);
		}
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		rc = WIFEXITED(st) ? WEXITSTATUS(st) : EX_TEMPFAIL;
		if (rc == EX_TEMPFAIL)
			code = EX_TEMPFAIL;
		else if (rc != EX_OK && code == EX_OK)
			code = rc;
	}
out:
	buf_free(&raw);
	buf_free(&pwstrs);
	buf_free(&sndbuf);
	free(c);
	log_close();
	return code;
}
