/*
 * run.c - the procmailrc interpreter: variables and their side effects,
 * conditions and weighted scoring (procmailsc(5)), the A/a/E/e chaining,
 * nested blocks, filters, captures, deliveries through struct pm_env,
 * INCLUDERC/SWITCHRC, and the fallbacks at the end.
 *
 * The order of evaluation and the state kept between recipes follow
 * procmail 3.22 (its conditions() and main loop): lastcond is the result
 * of the last recipe without A/a, prevcond that of the last one for E,
 * lastsucc whether the last action that was attempted succeeded; a
 * block saves prevcond/lastcond and restores them at its "}".
 *
 * Known differences, on purpose:
 *  - a program that cannot be started never counts as a delivery, and a
 *    filter that cannot be started leaves the message alone (procmail
 *    loses the mail or empties it, depending on timing);
 *  - the parent waits for the "c" clone of a block (procmail runs both at
 *    once); in a dry run the clone is not a process but a note;
 *  - substitutions are bounded by PM_MAX_VAR_LEN, not $LINEBUF, but an
 *    assignment whose value reaches $LINEBUF is skipped as procmail does;
 *  - nothing ends with procmail's EX_CANTCREAT (73): undelivered is 75.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pm-int.h"

#define PMF_NOEXPAND_INTERNAL	0x40000000u	/* as in parse.c */
/* The exit code procmail sees for a program it cannot execute: it then
 * runs "$SHELL name", which says "cannot open" and exits 2. sluice does
 * not run the shell (and never counts such a program as a delivery). */
#define PM_EX_NOEXEC		2
#define PM_EX_TEMPFAIL		75
#define PM_TAB			8	/* LOGABSTRACT columns */
#define PM_ABSTRACT_COL		72
#define PM_MAX_FOLDER_SHOW	61
#define PM_DEFAULT_SHELLMETAS	"&|<>~;?*["

static int exec_list(struct pm_run *r, struct pm_node *n, unsigned depth);
static int run_rcfile(struct pm_run *r, const char *path, int top,
    struct err *e);

/* ---- logging ---- */

static void
log_write(struct pm_run *r, const char *p, size_t n)
{
	if (r->conf.dry_run) {
		if ((long)(r->dry_log.len + n) < PM_MAX_LOGBUF)
			buf_add(&r->dry_log, p, n);
		return;
	}
	(void)write_all(r->logfd >= 0 ? r->logfd : 2, p, n);
}

void
pm_log(struct pm_run *r, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	buf_adds(&b, "procmail: ");
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	log_write(r, b.data, b.len);
	buf_free(&b);
}

static void trace(struct pm_run *r, const struct pm_node *n,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void
trace(struct pm_run *r, const struct pm_node *n, const char *fmt, ...)
{
	va_list ap;

	if (!r->tracing || (long)r->trace.len > PM_MAX_TRACE)
		return;
	buf_addf(&r->trace, "%s:%d: ", n->file, n->line);
	va_start(ap, fmt);
	buf_vaddf(&r->trace, fmt, ap);
	va_end(ap);
	buf_addc(&r->trace, '\n');
}

/* ---- variables ---- */

static long
renvint(long dflt, const char *s)
{
	char *end;
	long t = strtol(s, &end, 10);

	if (end != s)
		return t;
	while (*s == ' ' || *s == '\t')
		s++;
	if (strncasecmp(s, "a", 1) == 0)
		return 2;
	if (strncasecmp(s, "on", 2) == 0 || strncasecmp(s, "y", 1) == 0 ||
	    strncasecmp(s, "t", 1) == 0 || strncasecmp(s, "e", 1) == 0)
		return 1;
	if (strncasecmp(s, "off", 3) == 0 || strncasecmp(s, "n", 1) == 0 ||
	    strncasecmp(s, "f", 1) == 0 || strncasecmp(s, "d", 1) == 0)
		return 0;
	return dflt;
}

static ssize_t
var_find(const struct pm_run *r, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < r->nvars; i++)
		if (strlen(r->vars[i].name) == len &&
		    memcmp(r->vars[i].name, name, len) == 0)
			return (ssize_t)i;
	return -1;
}

const char *
pm_var_get(const struct pm_run *r, const char *name, size_t len)
{
	ssize_t i = var_find(r, name, len);

	return i < 0 ? NULL : r->vars[i].value;
}

static const char *
var(const struct pm_run *r, const char *name)
{
	return pm_var_get(r, name, strlen(name));
}

static const char *
var_or(const struct pm_run *r, const char *name, const char *dflt)
{
	const char *v = var(r, name);

	return v != NULL ? v : dflt;
}

/* Set (value NULL: unset) without side effects. Moves the variable to
 * the end, as procmail's sputenv() does with the environment. */
static void
var_set(struct pm_run *r, const char *name, const char *value)
{
	ssize_t i = var_find(r, name, strlen(name));
	struct pm_var v;

	if (i >= 0) {
		v = r->vars[i];
		free(v.value);
		memmove(&r->vars[i], &r->vars[i + 1],
		    (r->nvars - (size_t)i - 1) * sizeof *r->vars);
		r->nvars--;
	} else {
		v.name = xstrdup(name);
	}
	if (value == NULL) {
		free(v.name);
		return;
	}
	if (r->nvars >= PM_MAX_VARS) {
		pm_log(r, "Too many variables, \"%s\" not set\n", name);
		free(v.name);
		return;
	}
	if ((long)strlen(value) > PM_MAX_VAR_LEN) {
		v.value = xstrndup(value, (size_t)PM_MAX_VAR_LEN);
		if (strcmp(name, "PROCMAIL_OVERFLOW") != 0)
			var_set(r, "PROCMAIL_OVERFLOW", "yes");
	} else
		v.value = xstrdup(value);
	if (r->nvars == r->capvars) {
		r->capvars = r->capvars ? r->capvars * 2 : 64;
		r->vars = xreallocarray(r->vars, r->capvars, sizeof *r->vars);
	}
	r->vars[r->nvars++] = v;
}

/* "K=V" of every variable: the programs' environment (caller frees). */
static const char **
make_envp(const struct pm_run *r)
{
	const char **envp = xcalloc(r->nvars + 1, sizeof *envp);
	size_t i;

	for (i = 0; i < r->nvars; i++) {
		size_t ln = strlen(r->vars[i].name);
		size_t lv = strlen(r->vars[i].value);
		char *s = xmalloc(ln + lv + 2);

		memcpy(s, r->vars[i].name, ln);
		s[ln] = '=';
		memcpy(s + ln + 1, r->vars[i].value, lv + 1);
		envp[i] = s;
	}
	return envp;
}

static void
free_envp(const char **envp)
{
	size_t i;

	for (i = 0; envp[i] != NULL; i++)
		free((char *)envp[i]);
	free(envp);
}

/* ---- the message ---- */

static void
split_message(struct pm_run *r)
{
	const char *m = r->msg.data ? r->msg.data : "";
	const char *p = mem_find(m, r->msg.len, "\n\n", 2);

	r->body_off = p ? (size_t)(p - m) + 2 : r->msg.len;
	r->hcat_valid = 0;
}

/* The message with continued header lines joined (procmail's concon). */
static const char *
joined(struct pm_run *r)
{
	size_t i;

	if (!r->hcat_valid) {
		buf_reset(&r->hcat);
		buf_add(&r->hcat, r->msg.data ? r->msg.data : "", r->msg.len);
		for (i = 0; i + 1 < r->body_off; i++)
			if (r->hcat.data[i] == '\n' &&
			    (r->hcat.data[i + 1] == ' ' ||
			    r->hcat.data[i + 1] == '\t'))
				r->hcat.data[i] = ' ';
		r->hcat_valid = 1;
	}
	return r->hcat.data ? r->hcat.data : "";
}

/* ---- programs ---- */

static unsigned
timeout_secs(struct pm_run *r)
{
	long t = renvint(PM_DEFAULT_TIMEOUT, var_or(r, "TIMEOUT", ""));

	return t < 0 ? 0 : (unsigned)t;
}

/*
 * procmail's metaparse(): a command with any $SHELLMETAS character goes
 * to $SHELL $SHELLFLAGS as written; else procmail substitutes and splits
 * it itself. argv points into w (or the strings given). -1: overflow.
 */
static int
build_argv(struct pm_run *r, const char *cmd, size_t len,
    struct pm_words *w, const char ***argv_out, int *sh_out)
{
	const char *metas = var_or(r, "SHELLMETAS", PM_DEFAULT_SHELLMETAS);
	const char **argv;
	size_t i, n = 0, k;
	int sh = 0;

	for (i = 0; i < len && !sh; i++)
		if (cmd[i] != '\0' && strchr(metas, cmd[i]) != NULL)
			sh = 1;
	*sh_out = sh;
	if (sh) {
		buf_reset(&w->b);
		buf_add(&w->b, cmd, len);
		buf_addc(&w->b, '\0');
		w->n = 1;
		argv = xcalloc(4, sizeof *argv);
		argv[0] = var_or(r, "SHELL", "/bin/sh");
		argv[1] = var_or(r, "SHELLFLAGS", "-c");
		argv[2] = w->b.data;
		*argv_out = argv;
		return 0;
	}
	if (pm_subst(r, cmd, len, PM_SUB_WORDS, w) == -1) {
		var_set(r, "PROCMAIL_OVERFLOW", "yes");
		return -1;
	}
	if (w->n > PM_MAX_ARGS) {
		pm_log(r, "Too many arguments\n");
		return -1;
	}
	argv = xcalloc(w->n + r->nargs + 2, sizeof *argv);
	for (k = 0; k < w->n; k++) {
		if ((long)k == w->allargs && r->nargs > r->shifted) {
			size_t j;

			for (j = r->shifted; j < r->nargs; j++)
				argv[n++] = r->args[j];
			continue;
		}
		argv[n++] = pm_word(w, k);
	}
	*argv_out = argv;
	return 0;
}

static void
argv_line(const char *const *argv, int sh, struct buf *out)
{
	size_t i;

	buf_reset(out);
	if (sh) {
		buf_adds(out, argv[2]);
		return;
	}
	for (i = 0; argv[i] != NULL; i++) {
		if (i)
			buf_addc(out, ' ');
		buf_adds(out, argv[i]);
	}
}

/*
 * Run a program; the exit code procmail would see (negative: signal).
 * Unless raw (the r flag), the input gets one "\n" appended when it does
 * not end in an empty line already, as procmail's dump() does for every
 * program it feeds (checked: "body" -> "body\n", "body\n" -> "body\n\n",
 * an empty body -> "\n"; the message held is not changed).
 */
static int
run_prog(struct pm_run *r, enum pm_prog_kind kind, const char *const *argv,
    int sh, const char *in, size_t inlen, int raw, int capture, int ignwerr,
    struct pm_prog_res *res)
{
	struct pm_prog_req q;
	struct buf fed = BUF_INIT;
	struct err e;
	const char **envp;
	int rc;

	if (r->verbose) {
		struct buf b = BUF_INIT;
		size_t i;

		if (sh)
			buf_adds(&b, argv[2]);
		else
			for (i = 0; argv[i] != NULL; i++) {
				if (i)
					buf_addc(&b, ',');
				buf_adds(&b, argv[i]);
			}
		pm_log(r, "Executing \"%s\"\n", b.data ? b.data : "");
		buf_free(&b);
	}
	memset(res, 0, sizeof *res);
	memset(&q, 0, sizeof q);
	envp = make_envp(r);
	q.kind = kind;
	q.argv = argv;
	q.envp = envp;
	if (!raw && !(inlen >= 2 && in[inlen - 1] == '\n' &&
	    in[inlen - 2] == '\n')) {
		buf_add(&fed, in != NULL ? in : "", inlen);
		buf_addc(&fed, '\n');
		in = fed.data;
		inlen = fed.len;
	}
	q.in = in;
	q.in_len = inlen;
	q.capture = capture;
	q.out_cap = (size_t)PM_MAX_PROGRAM_OUTPUT;
	q.timeout = timeout_secs(r);
	q.ignore_write_errors = ignwerr;
	q.err_fd = r->conf.dry_run ? -1 : r->logfd;
	err_clear(&e);
	rc = r->env.program(r->env.arg, &q, res, &e);
	free_envp(envp);
	buf_free(&fed);
	if (rc == -1) {
		pm_log(r, "Failed forking \"%s\": %s\n", argv[0], e.msg);
		if (e.cls == ERR_TEMP)
			r->tempfail = 1;
		res->started = 0;
	}
	if (res->timed_out)
		pm_log(r, "Timeout, terminating \"%s\"\n", argv[0]);
	if (!res->started)
		return PM_EX_NOEXEC;
	if (res->exited)
		return res->status;
	return res->signaled ? -res->status : -1;
}

void
pm_backquote(struct pm_run *r, const char *cmd, size_t len, struct buf *out)
{
	struct pm_words w;
	const char **argv = NULL;
	struct pm_prog_res res;
	int sh, code;

	pm_words_init(&w);
	if (build_argv(r, cmd, len, &w, &argv, &sh) == 0 && argv[0] != NULL &&
	    *argv[0] != '\0') {
		code = run_prog(r, PMP_BACKQUOTE, argv, sh, r->msg.data,
		    r->msg.len, 0, 1, 1, &res);
		r->lastexit = code;
		if (res.out.len > 0) {
			size_t n = res.out.len;

			while (n > 0 && res.out.data[n - 1] == '\n')
				n--;
			if ((long)n > PM_MAX_VAR_LEN) {
				pm_log(r, "Excessive output quenched from "
				    "\"%s\"\n", argv[0]);
				n = (size_t)PM_MAX_VAR_LEN;
			}
			buf_add(out, res.out.data, n);
		}
		buf_free(&res.out);
	}
	free(argv);
	pm_words_free(&w);
}

/* ---- locks ---- */

static void
unlock_local(struct pm_run *r)
{
	if (r->loclock != NULL) {
		if (r->verbose)
			pm_log(r, "Unlocking \"%s\"\n", r->loclock);
		r->env.unlock(r->env.arg, r->loclock);
		free(r->loclock);
		r->loclock = NULL;
	}
}

static void
lock_local(struct pm_run *r, const char *name)
{
	struct err e;
	long lt = renvint(PM_DEFAULT_LOCKTIMEOUT,
	    var_or(r, "LOCKTIMEOUT", ""));

	unlock_local(r);
	if (r->globlock != NULL && strcmp(r->globlock, name) == 0) {
		pm_log(r, "Deadlock attempted on \"%s\"\n", name);
		return;
	}
	if (r->verbose)
		pm_log(r, "Locking \"%s\"\n", name);
	err_clear(&e);
	if (r->env.lock(r->env.arg, name, lt, &e) == -1) {
		pm_log(r, "Lock failure on \"%s\"\n", name);
		if (e.cls == ERR_TEMP)
			r->tempfail = 1;
		return;
	}
	r->loclock = xstrdup(name);
}

static void
set_global_lock(struct pm_run *r, const char *name)
{
	struct err e;

	if (r->globlock != NULL) {
		if (r->verbose)
			pm_log(r, "Unlocking \"%s\"\n", r->globlock);
		r->env.unlock(r->env.arg, r->globlock);
		free(r->globlock);
		r->globlock = NULL;
	}
	if (*name == '\0')
		return;
	if (r->verbose)
		pm_log(r, "Locking \"%s\"\n", name);
	err_clear(&e);
	if (r->env.lock(r->env.arg, name,
	    renvint(PM_DEFAULT_LOCKTIMEOUT, var_or(r, "LOCKTIMEOUT", "")),
	    &e) == -1) {
		pm_log(r, "Lock failure on \"%s\"\n", name);
		return;
	}
	r->globlock = xstrdup(name);
}

/* ---- assignments and their side effects (procmail's asenv) ---- */

static void
open_log(struct pm_run *r, const char *path)
{
	int fd;

	if (r->logfd >= 0) {
		close(r->logfd);
		r->logfd = -1;
	}
	free(r->logfile);
	r->logfile = NULL;
	if (*path == '\0' || r->conf.dry_run)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0666);
	if (fd == -1) {
		pm_log(r, "Couldn't open logfile \"%s\"\n", path);
		return;
	}
	r->logfd = fd;
	r->logfile = xstrdup(path);
}

static int
file_ok_for_rc(struct pm_run *r, const char *path, struct stat *st)
{
	if (stat(path, st) == -1 || !S_ISREG(st->st_mode)) {
		pm_log(r, "Couldn't read \"%s\"\n", path);
		return 0;
	}
	return 1;
}

static void assign(struct pm_run *r, const char *name, const char *value,
    int init);

static void
side_effects(struct pm_run *r, const char *name, const char *v, int init)
{
	if (strcmp(name, "LINEBUF") == 0) {
		long n = renvint(0, v);

		r->linebuf = n < PM_MIN_LINEBUF ? PM_MIN_LINEBUF : n;
	} else if (strcmp(name, "MAILDIR") == 0) {
		if (chdir(v) == -1) {
			/* procmail stays where it is and says so */
			pm_log(r, "Couldn't chdir to \"%s\"\n", v);
			assign(r, "MAILDIR", ".", init);
		} else
			r->didchd = 1;
	} else if (strcmp(name, "LOGFILE") == 0) {
		open_log(r, v);
	} else if (strcmp(name, "LOG") == 0) {
		log_write(r, v, strlen(v));
	} else if (strcmp(name, "EXITCODE") == 0) {
		r->exitcode_set = 1;
	} else if (strcmp(name, "SHIFT") == 0) {
		long n = renvint(0, v);

		if (n > 0) {
			size_t left = r->nargs - r->shifted;

			r->shifted += (size_t)n > left ? left : (size_t)n;
		}
	} else if (strcmp(name, "DELIVERED") == 0) {
		if (renvint(0, v))
			r->fake_delivered = 1;
	} else if (strcmp(name, "LOCKFILE") == 0) {
		set_global_lock(r, v);
	} else if (strcmp(name, "UMASK") == 0) {
		r->umask = (mode_t)strtol(v, NULL, 8) & 0777;
		if (!r->conf.dry_run)
			umask(r->umask);
	} else if (strcmp(name, "VERBOSE") == 0) {
		r->verbose = (int)renvint(r->verbose, v);
	} else if (strcmp(name, "LOGABSTRACT") == 0) {
		r->logabstract = (int)renvint(r->logabstract, v);
	} else if (init) {
		return;	/* the rest only act inside an rc file */
	} else if (strcmp(name, "INCLUDERC") == 0) {
		struct stat st;
		struct err e;

		if (*v == '\0' || strcmp(v, "/dev/null") == 0)
			return;
		if (!file_ok_for_rc(r, v, &st) || st.st_size == 0)
			return;
		err_clear(&e);
		(void)run_rcfile(r, v, 0, &e);
	} else if (strcmp(name, "SWITCHRC") == 0) {
		struct stat st;

		if (*v != '\0' && strcmp(v, "/dev/null") != 0) {
			if (!file_ok_for_rc(r, v, &st))
				return;
			if (st.st_size == 0)
				return;
		}
		free(r->switch_to);
		r->switch_to = xstrdup(strcmp(v, "/dev/null") == 0 ? "" : v);
	} else if (strcmp(name, "HOST") == 0) {
		char host[256];

		if (gethostname(host, sizeof host) == -1)
			host[0] = '\0';
		host[sizeof host - 1] = '\0';
		if (strcmp(v, host) != 0) {
			if (r->verbose)
				pm_log(r, "HOST mismatched \"%s\"\n", host);
			r->host_mismatch = 1;
			r->stop = 1;
		}
	}
}

static void
assign(struct pm_run *r, const char *name, const char *value, int init)
{
	if (r->verbose) {
		if (value)
			pm_log(r, "Assigning \"%s=%s\"\n", name, value);
		else
			pm_log(r, "Assigning \"%s\"\n", name);
	}
	var_set(r, name, value);
	value = var(r, name);
	side_effects(r, name, value ? value : "", init);
}

/* ---- run setup ---- */

struct pm_run *
pm_run_new(const struct pm_conf *c, const struct pm_env *env,
    const char *text, size_t len, const char *const *vars, size_t nvars,
    const char *const *args, size_t nargs)
{
	struct pm_run *r = xcalloc(1, sizeof *r);
	size_t i;

	r->conf = *c;
	r->env = *env;
	r->logfd = -1;
	r->logabstract = -1;
	r->linebuf = PM_DEFAULT_LINEBUF;
	r->umask = 077;
	r->tracing = c->trace || c->dry_run;
	buf_add(&r->msg, text, len);
	split_message(r);
	for (i = 0; i < nvars; i++) {
		const char *eq = strchr(vars[i], '=');
		char *name;

		if (eq == NULL || eq == vars[i])
			continue;
		name = xstrndup(vars[i], (size_t)(eq - vars[i]));
		assign(r, name, eq + 1, 1);
		free(name);
	}
	if (nargs > 0) {
		r->args = xcalloc(nargs, sizeof *r->args);
		for (i = 0; i < nargs; i++)
			r->args[i] = xstrdup(args[i]);
		r->nargs = nargs;
	}
	return r;
}

const char *
pm_run_var(const struct pm_run *r, const char *name)
{
	return var(r, name);
}

void
pm_run_trace(struct pm_run *r, struct buf *t)
{
	if (t != NULL && r->trace.len > 0)
		buf_add(t, r->trace.data, r->trace.len);
}

void
pm_run_free(struct pm_run **rp)
{
	struct pm_run *r = *rp;
	size_t i;

	if (r == NULL)
		return;
	unlock_local(r);
	if (r->globlock != NULL)
		set_global_lock(r, "");
	if (r->logfd >= 0)
		close(r->logfd);
	for (i = 0; i < r->nvars; i++) {
		free(r->vars[i].name);
		free(r->vars[i].value);
	}
	free(r->vars);
	for (i = 0; i < r->nargs; i++)
		free(r->args[i]);
	free(r->args);
	free(r->logfile);
	free(r->switch_to);
	buf_free(&r->msg);
	buf_free(&r->hcat);
	buf_free(&r->trace);
	buf_free(&r->dry_log);
	free(r);
	*rp = NULL;
}

/*
 * f^x for f >= 0, without libm (the LDA links no libm): integer powers
 * by squaring, others through exp(x * ln f) with series on reduced
 * arguments (relative error ~1e-15, plenty for scores).
 */
#define PM_LN2	0.69314718055994530942
static double
power(double f, double x)
{
	double y, t, sum, term, res;
	long n, k;
	int neg;

	if (x == 0)
		return 1;
	if (f <= 0)
		return x > 0 ? 0 : PM_SCORE_MAX;
	if (x == (double)(long)x && x > -64 && x < 64) {
		n = (long)x;
		neg = n < 0;
		if (neg)
			n = -n;
		res = 1;
		for (t = f; n > 0; n >>= 1, t *= t)
			if (n & 1)
				res *= t;
		return neg ? 1 / res : res;
	}
	/* ln f = k ln 2 + ln m, m in [0.5, 1) */
	k = 0;
	while (f >= 1) {
		f /= 2;
		k++;
	}
	while (f < 0.5) {
		f *= 2;
		k--;
	}
	t = (f - 1) / (f + 1);
	sum = 0;
	term = t;
	for (n = 1; n < 60; n += 2) {
		sum += term / (double)n;
		term *= t * t;
	}
	y = x * ((double)k * PM_LN2 + 2 * sum);
	if (y > 700)
		return PM_SCORE_MAX * 2;
	if (y < -700)
		return 0;
	/* exp(y) = 2^n * exp(r), |r| <= ln2/2 */
	n = (long)(y / PM_LN2 + (y >= 0 ? 0.5 : -0.5));
	t = y - (double)n * PM_LN2;
	sum = 1;
	term = 1;
	for (k = 1; k < 30; k++) {
		term *= t / (double)k;
		sum += term;
	}
	for (; n > 0; n--)
		sum *= 2;
	for (; n < 0; n++)
		sum /= 2;
	return sum;
}

/* ---- conditions (procmail's conditions(), procmailsc(5)) ---- */

struct area {
	const char *p;
	size_t len;
};

/* The end (absolute, one past) of the first match at or after pos, or
 * -1; -2 on error (logged, counts as no match). */
static long
match_end(struct pm_run *r, const struct pm_re *re, const char *s,
    size_t len, size_t pos)
{
	struct err e;
	size_t end = 0, ml = 0;
	const char *mp = NULL;
	int m;

	err_clear(&e);
	m = pm_re_exec_at(re, s, len, pos, &end, &mp, &ml, &e);
	if (m == -1) {
		pm_log(r, "Regex failed: %s\n", e.msg);
		return -2;
	}
	if (m == 1 && pm_re_has_match(re)) {
		/* \/ in a weighted condition sets MATCH too (each match:
		 * the last one counted stays) */
		char *v = xstrndup(mp ? mp : "", ml);

		var_set(r, "MATCH", v);
		free(v);
	}
	return m == 1 ? (long)end : -1;
}

static int
cond_regex(struct pm_run *r, const struct pm_cond *c, const struct pm_re *re,
    struct area a, double *score, int *i)
{
	if (c->text_len == 0) {
		/* procmail: an empty regex matches, emptily, at the start */
		if (c->weighted) {
			double w = c->weight, x = c->exponent;

			if (!c->negate && w != 0) {
				*score += w;
				w *= x;
				if (0 < x && x < 1)
					*score += w / (1 - x);
				else if (x >= 1 && w != 0)
					*score += w < 0 ? PM_SCORE_MIN :
					    PM_SCORE_MAX;
			}
		} else
			*i = !c->negate;
		return 0;
	}
	if (c->weighted) {
		double w = c->weight, x = c->exponent, ow = w * w;
		size_t pos = 0;

		if (c->negate) {
			if (w != 0 && match_end(r, re, a.p, a.len, 0) < 0)
				*score += w;
			return 0;
		}
		while (w != 0 && PM_SCORE_MIN < *score &&
		    *score < PM_SCORE_MAX && pos <= a.len) {
			long end = match_end(r, re, a.p, a.len, pos);
			double nw;

			if (end < 0)
				break;
			*score += w;
			w *= x;
			if ((size_t)end <= pos) {	/* an empty match: it would repeat */
				if (0 < x && x < 1)
					*score += w / (1 - x);
				else if (x >= 1 && w != 0)
					*score += w < 0 ? PM_SCORE_MIN :
					    PM_SCORE_MAX;
				break;
			}
			nw = w * w;
			if (nw < ow && ow < 1)
				break;
			ow = nw;
			pos = (size_t)end;
		}
		return 0;
	}
	{
		struct err e;
		const char *m = NULL;
		size_t ml = 0;
		int rc;

		err_clear(&e);
		rc = pm_re_exec(re, a.p, a.len, &m, &ml, &e);
		if (rc == -1) {
			pm_log(r, "Regex failed on \"%s\": %s\n", c->text,
			    e.msg);
			rc = 0;
		}
		if (rc == 1 && pm_re_has_match(re)) {
			char *s = xstrndup(m ? m : "", ml);

			var_set(r, "MATCH", s);
			if (r->verbose)
				pm_log(r, "Matched \"%s\"\n", s);
			free(s);
		}
		*i = rc ^ c->negate;
	}
	return 0;
}

/*
 * Evaluate the conditions of n. Returns 1 (match) or 0; sets $=.
 * flags: the recipe's, with procmail's e-flag suppressions applied.
 */
static int
eval_conds(struct pm_run *r, const struct pm_node *n, unsigned flags,
    int *failed_at)
{
	double score = 0;
	int scored = 0, i = 1;
	size_t k;
	struct area hdr, body, all, deflt;

	*failed_at = 0;
	if (flags & PMF_e)
		i = i && r->prevcond && !r->lastsucc;
	if (flags & PMF_E)
		i = i && !r->prevcond;
	if (flags & PMF_a)
		i = i && r->lastcond && r->lastsucc;
	if (flags & PMF_A)
		i = i && r->lastcond;
	if (!i)
		*failed_at = -1;

	hdr.p = joined(r);
	hdr.len = r->body_off;
	body.p = (r->msg.data ? r->msg.data : "") + r->body_off;
	body.len = r->msg.len - r->body_off;
	all.p = hdr.p;
	all.len = r->msg.len;
	if ((flags & PMF_B) && !(flags & PMF_H))
		deflt = body;
	else if (flags & PMF_B)
		deflt = all;
	else
		deflt = hdr;

	for (k = 0; k < n->nconds && i; k++) {
		struct pm_cond c = n->conds[k];
		struct pm_re *tmpre = NULL;
		struct area a = deflt;
		long sizecheck = (long)r->msg.len;
		double before = score;
		struct arena *ar = NULL;
		char *vcopy = NULL;

		if (c.expand) {
			/* "$": substitute as inside double quotes, then look
			 * at the result again (procmail's "reparse") */
			struct pm_words w;
			struct buf q = BUF_INIT;
			struct pm_cond t;
			struct err e;
			size_t off;
			const char *p;
			int rc;

			pm_words_init(&w);
			if (c.kind == PMC_SIZE_LT || c.kind == PMC_SIZE_GT) {
				buf_addc(&q, c.kind == PMC_SIZE_LT ? '<' : '>');
				buf_add(&q, c.text, c.text_len);
				rc = pm_subst(r, q.data, q.len, PM_SUB_KEEP, &w);
			} else {
				buf_addc(&q, '"');
				buf_add(&q, c.text, c.text_len);
				rc = pm_subst(r, q.data, q.len, PM_SUB_KEEP, &w);
			}
			buf_free(&q);
			if (rc == -1) {
				var_set(r, "PROCMAIL_OVERFLOW", "yes");
				pm_words_free(&w);
				i = 0;
				*failed_at = (int)k + 1;
				break;
			}
			p = w.b.data;
			while (*p == ' ' || *p == '\t')
				p++;
			memset(&t, 0, sizeof t);
			t.negate = c.negate;
			t.weighted = c.weighted;
			t.weight = c.weight;
			t.exponent = c.exponent;
			t.kind = c.kind == PMC_VAR ? PMC_VAR : PMC_REGEX;
			t.var = c.var;
			ar = arena_new();
			err_clear(&e);
			if (pm_cond_classify(&t, p, strlen(p),
			    flags | PMF_NOEXPAND_INTERNAL, ar, &off, &e) == -1) {
				pm_log(r, "Invalid condition \"%s\": %s\n", p,
				    e.msg);
				pm_words_free(&w);
				arena_free(&ar);
				i = 0;
				*failed_at = (int)k + 1;
				break;
			}
			pm_words_free(&w);
			c = t;
			tmpre = t.re;
		}
		if (c.weighted && score >= PM_SCORE_MAX)
			goto next;	/* plus infinity: skip the rest */
		if (c.weighted)
			scored = 1;
		if (c.kind == PMC_VAR || c.var != NULL) {
			const char *v = c.var;

			if (strcmp(v, "H") == 0)
				a = hdr;
			else if (strcmp(v, "B") == 0)
				a = body;
			else if (strcmp(v, "HB") == 0 || strcmp(v, "BH") == 0)
				a = all;
			else {
				const char *val = var(r, v);

				vcopy = xstrdup(val ? val : "");
				a.p = vcopy;
				a.len = strlen(vcopy);
			}
			sizecheck = (long)a.len;
		}
		switch (c.kind) {
		case PMC_REGEX:
		case PMC_VAR:
			cond_regex(r, &c, c.re, a, &score, &i);
			break;
		case PMC_PROGRAM: {
			struct pm_words w;
			const char **argv = NULL;
			struct pm_prog_res res;
			int sh, code;

			pm_words_init(&w);
			if (build_argv(r, c.text, c.text_len, &w, &argv,
			    &sh) == -1) {
				i = 0;
				free(argv);
				pm_words_free(&w);
				break;
			}
			code = run_prog(r, PMP_CONDITION, argv, sh, a.p, a.len,
			    (flags & PMF_r) != 0, 0, 1, &res);
			buf_free(&res.out);
			r->lastexit = code;
			if (code != 0 && r->verbose)
				pm_log(r, "Non-zero exitcode (%d) by \"%s\"\n",
				    code, argv[0]);
			free(argv);
			pm_words_free(&w);
			if (c.weighted && code >= 0) {
				double wt = c.weight;
				int j = code;

				if (c.negate) {
					while (--j >= 0 &&
					    (score += wt) < PM_SCORE_MAX &&
					    score > PM_SCORE_MIN)
						wt *= c.exponent;
				} else
					score += j ? c.exponent : c.weight;
			} else if ((code != 0) ^ c.negate)
				i = 0;
			break;
		}
		case PMC_SIZE_LT:
		case PMC_SIZE_GT: {
			long pivot = c.size;
			int lt = c.kind == PMC_SIZE_LT;

			if (c.expand || c.text == NULL)
				pivot = c.size;
			if (n->conds[k].expand) {
				/* already substituted into c.size by the
				 * classify above */
				pivot = c.size;
			}
			if (c.weighted) {
				double f;

				if (lt ^ c.negate) {
					if (sizecheck)
						f = (double)pivot / sizecheck;
					else {
						score = pivot > 0 ?
						    PM_SCORE_MAX : PM_SCORE_MIN;
						break;
					}
				} else if (pivot)
					f = (double)sizecheck / pivot;
				else {
					score = PM_SCORE_MAX;
					break;
				}
				score += c.weight * power(f, c.exponent);
			} else if (!((lt ? sizecheck < pivot :
			    sizecheck > pivot) ^ c.negate))
				i = 0;
			break;
		}
		}
		if (score > PM_SCORE_MAX)
			score = PM_SCORE_MAX;
		if (score <= PM_SCORE_MIN) {
			score = PM_SCORE_MIN;
			i = 0;
		}
		if (r->verbose) {
			if (c.weighted)
				pm_log(r, "Score: %7ld %7ld \"%s\"\n",
				    (long)(score - before), (long)score,
				    c.text ? c.text : "");
			else
				pm_log(r, "%s on%s \"%s\"\n",
				    i ? "Match" : "No match",
				    c.negate ? " !" : "", c.text ? c.text : "");
		}
		if (!i)
			*failed_at = (int)k + 1;
	next:
		free(vcopy);
		if (tmpre != NULL)
			pm_re_free(&tmpre);
		if (ar != NULL)
			arena_free(&ar);
	}
	r->lastscore = (long)score;
	if (r->lastscore == 0 && score > 0)
		r->lastscore = 1;
	if (scored && i && score <= 0) {
		i = 0;
		*failed_at = -2;
	}
	return i;
}

/* ---- actions ---- */

static void
log_abstract(struct pm_run *r, const char *folder)
{
	struct buf b = BUF_INIT;
	const char *m = r->msg.data ? r->msg.data : "";
	size_t hl = r->body_off, i, col;
	const char *nl, *s;
	char num[32];

	if (!(r->logabstract > 0 || (r->logabstract &&
	    (r->logfd >= 0 || r->verbose))))
		return;
	if (hl >= 5 && memcmp(m, "From ", 5) == 0) {
		nl = memchr(m, '\n', hl);
		buf_add(&b, m, nl ? (size_t)(nl - m) : hl);
		buf_addc(&b, '\n');
	}
	s = m;
	while (s < m + hl) {
		nl = memchr(s, '\n', (size_t)(m + hl - s));
		if (nl == NULL)
			nl = m + hl;
		if (nl - s >= 8 && strncasecmp(s, "Subject:", 8) == 0) {
			size_t n = (size_t)(nl - s);

			if (n > PM_MAX_SUBJECT_SHOW)
				n = PM_MAX_SUBJECT_SHOW;
			buf_addc(&b, ' ');
			for (i = 0; i < n; i++)
				buf_addc(&b, s[i] == '\t' ? ' ' : s[i]);
			buf_addc(&b, '\n');
			break;
		}
		s = nl + 1;
	}
	buf_adds(&b, "  Folder: ");
	for (i = 0; folder[i] != '\0' && i < PM_MAX_FOLDER_SHOW; i++)
		buf_addc(&b, folder[i] == '\t' ? ' ' : folder[i]);
	col = 10 + i;
	col -= col % PM_TAB;
	do
		buf_addc(&b, '\t');
	while ((col += PM_TAB) < PM_ABSTRACT_COL);
	snprintf(num, sizeof num, "%7ld\n", r->last_size);
	buf_adds(&b, num);
	log_write(r, b.data, b.len);
	buf_free(&b);
}

/* The part an action gets (h/b flags). */
static void
part(const struct pm_run *r, unsigned flags, const char **p, size_t *len,
    int *head, int *body)
{
	const char *m = r->msg.data ? r->msg.data : "";

	*head = (flags & PMF_h) || !(flags & PMF_b);
	*body = (flags & PMF_b) || !(flags & PMF_h);
	if (*head && *body) {
		*p = m;
		*len = r->msg.len;
	} else if (*head) {
		*p = m;
		*len = r->body_off;
	} else {
		*p = m + r->body_off;
		*len = r->msg.len - r->body_off;
	}
}

/* Implicit lockfile of a program: the name after ">>". */
static void
pipe_lockname(const char *cmd, struct buf *out)
{
	const char *p = strstr(cmd, ">>");

	buf_reset(out);
	if (p != NULL) {
		size_t n;

		p += 2;
		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, " \t\n;&|<>()");
		buf_add(out, p, n);
	}
}

static int
do_folder(struct pm_run *r, const struct pm_node *n, unsigned flags)
{
	struct pm_words w;
	struct pm_folder_req q;
	const char **names;
	struct buf lf = BUF_INIT;
	struct err e;
	const char *p;
	char cwd[PATH_MAX];
	size_t len, k;
	int head, body, ok = 0;

	pm_words_init(&w);
	if (pm_subst(r, n->action_text, strlen(n->action_text),
	    PM_SUB_WORDS, &w) == -1 || w.n == 0 || *pm_word(&w, 0) == '\0') {
		var_set(r, "PROCMAIL_OVERFLOW", "yes");
		pm_words_free(&w);
		return 0;
	}
	if (flags & PMF_f) {
		pm_log(r, "Extraneous filter-flag ignored\n");
		flags &= ~(unsigned)(PMF_h | PMF_b);
	}
	names = xcalloc(w.n + 1, sizeof *names);
	for (k = 0; k < w.n; k++)
		names[k] = pm_word(&w, k);
	if (n->locked) {
		if (n->lockfile != NULL) {
			struct pm_words lw;

			pm_words_init(&lw);
			if (pm_subst(r, n->lockfile, strlen(n->lockfile),
			    PM_SUB_WORDS, &lw) == 0 && lw.n > 0 &&
			    *pm_word(&lw, 0))
				lock_local(r, pm_word(&lw, 0));
			pm_words_free(&lw);
		} else if (strcmp(names[0], "/dev/null") != 0) {
			struct buf ln = BUF_INIT;

			buf_adds(&ln, names[0]);
			buf_adds(&ln, var_or(r, "LOCKEXT", ".lock"));
			lock_local(r, ln.data);
			buf_free(&ln);
		}
	}
	part(r, flags, &p, &len, &head, &body);
	memset(&q, 0, sizeof q);
	q.folders = names;
	q.nfolders = w.n;
	if (head) {
		q.head = r->msg.data ? r->msg.data : "";
		q.head_len = r->body_off;
	}
	if (body) {
		q.body = (r->msg.data ? r->msg.data : "") + r->body_off;
		q.body_len = r->msg.len - r->body_off;
	}
	q.locked = r->loclock != NULL || r->globlock != NULL;
	q.raw = (flags & PMF_r) != 0;
	/* relative names are relative to where MAILDIR took us (a relative
	 * MAILDIR is not the way back there) */
	q.maildir = getcwd(cwd, sizeof cwd) != NULL ? cwd : ".";
	q.umask = r->umask;
	q.msgprefix = var(r, "MSGPREFIX");
	err_clear(&e);
	if (r->env.deliver(r->env.arg, &q, &lf, &e) == 0) {
		ok = 1;
		var_set(r, "LASTFOLDER", lf.data ? lf.data : names[0]);
		r->last_size = (long)len;
		if (!q.raw && len > 0 && !(len >= 2 && p[len - 1] == '\n' &&
		    p[len - 2] == '\n'))
			r->last_size++;
		trace(r, n, "delivered to %s", lf.data ? lf.data : names[0]);
	} else {
		if (e.cls == ERR_TEMP)
			r->tempfail = 1;
		pm_log(r, "Error while writing to \"%s\": %s\n", names[0],
		    e.msg);
		trace(r, n, "delivery to %s failed: %s", names[0], e.msg);
	}
	unlock_local(r);
	buf_free(&lf);
	free(names);
	pm_words_free(&w);
	return ok;
}

/* Replace the message (or a part of it) by a filter's output. */
static void
replace_message(struct pm_run *r, int head, int body, const struct buf *out)
{
	struct buf nm = BUF_INIT;
	const char *m = r->msg.data ? r->msg.data : "";

	if (head && !body) {
		buf_add(&nm, out->data ? out->data : "", out->len);
		buf_add(&nm, m + r->body_off, r->msg.len - r->body_off);
		buf_free(&r->msg);
		r->msg = nm;
		split_message(r);
	} else if (body && !head) {
		size_t bo = r->body_off;

		buf_add(&nm, m, r->body_off);
		buf_add(&nm, out->data ? out->data : "", out->len);
		buf_free(&r->msg);
		r->msg = nm;
		r->body_off = bo;
		r->hcat_valid = 0;
	} else {
		buf_add(&nm, out->data ? out->data : "", out->len);
		buf_free(&r->msg);
		r->msg = nm;
		split_message(r);
	}
}

/* "| cmd", "! addresses", "VAR=| cmd": 1 when the action succeeded. */
static int
do_program(struct pm_run *r, const struct pm_node *n, unsigned flags)
{
	struct pm_words w;
	const char **argv = NULL;
	struct pm_prog_res res;
	struct buf line = BUF_INIT;
	const char *p;
	size_t len;
	int head, body, sh = 0, code, ok = 0;
	int wait = (flags & (PMF_w | PMF_W)) != 0, quiet = !(flags & PMF_w);
	enum pm_prog_kind kind;

	pm_words_init(&w);
	part(r, flags, &p, &len, &head, &body);
	if (n->action == PMA_FORWARD) {
		struct pm_words a;
		size_t k, na = 0;

		pm_words_init(&a);
		if (pm_subst(r, n->action_text, strlen(n->action_text),
		    PM_SUB_WORDS, &a) == -1) {
			var_set(r, "PROCMAIL_OVERFLOW", "yes");
			pm_words_free(&a);
			return 0;
		}
		buf_adds(&w.b, var_or(r, "SENDMAIL", "/usr/sbin/sendmail"));
		buf_addc(&w.b, '\0');
		w.n = 1;
		pm_split_append(&w, var_or(r, "SENDMAILFLAGS", "-oi"));
		argv = xcalloc(w.n + a.n + 1, sizeof *argv);
		for (k = 0; k < w.n; k++)
			argv[na++] = pm_word(&w, k);
		for (k = 0; k < a.n; k++)
			if (*pm_word(&a, k) != '\0')
				argv[na++] = pm_word(&a, k);
		/* forwarded mail leaves off the From_ line (and ">From"
		 * lines right after it): it confuses some mailers */
		if (head && len >= 5 && memcmp(p, "From ", 5) == 0) {
			const char *e = p + len;

			do {
				const char *nl = memchr(p, '\n',
				    (size_t)(e - p));

				p = nl ? nl + 1 : e;
			} while (p < e && *p == '>');
			len = (size_t)(e - p);
		}
		if (n->locked) {
			if (n->lockfile != NULL)
				lock_local(r, n->lockfile);
			else {
				pm_log(r, "Couldn't determine implicit lockfile "
				    "from \"%s\"\n", argv[0]);
				lock_local(r, var_or(r, "LOCKEXT", ".lock"));
			}
			if (!wait)
				wait = 1, quiet = 1;
		}
		code = run_prog(r, PMP_FORWARD, argv, 0, p, len,
		    (flags & PMF_r) != 0, 0,
		    (flags & PMF_i) != 0, &res);
		argv_line(argv, 0, &line);
		pm_words_free(&a);
		kind = PMP_FORWARD;
		goto result;
	}
	if (build_argv(r, n->action_text, strlen(n->action_text), &w, &argv,
	    &sh) == -1) {
		free(argv);
		pm_words_free(&w);
		return 0;
	}
	if (!sh && w.n == 1 && *argv[0] == '\0') {
		pm_log(r, "Delivery to stdout (a lone \"|\") is not "
		    "supported\n");
		free(argv);
		pm_words_free(&w);
		return 0;
	}
	argv_line(argv, sh, &line);
	if (!sh && w.allargs >= 0) {
		/* procmail's LASTFOLDER is its command buffer, where "$@"
		 * stands for nothing: "cmd x "$@" y" shows "cmd x  y" */
		size_t k;

		buf_reset(&line);
		for (k = 0; k < w.n; k++) {
			if (k)
				buf_addc(&line, ' ');
			if ((long)k != w.allargs)
				buf_adds(&line, pm_word(&w, k));
		}
	}
	if (n->action == PMA_VARPIPE)
		kind = PMP_CAPTURE;
	else if (flags & PMF_f)
		kind = PMP_FILTER;
	else
		kind = PMP_DELIVER;
	if (n->locked && kind != PMP_CAPTURE) {
		if (n->lockfile != NULL) {
			struct pm_words lw;

			pm_words_init(&lw);
			if (pm_subst(r, n->lockfile, strlen(n->lockfile),
			    PM_SUB_WORDS, &lw) == 0 && lw.n > 0)
				lock_local(r, pm_word(&lw, 0));
			pm_words_free(&lw);
		} else {
			struct buf ln = BUF_INIT;

			pipe_lockname(sh ? argv[2] : line.data, &ln);
			if (ln.len == 0)
				pm_log(r, "Couldn't determine implicit lockfile "
				    "from \"%s\"\n", line.data);
			buf_adds(&ln, var_or(r, "LOCKEXT", ".lock"));
			lock_local(r, ln.data);
			buf_free(&ln);
		}
		if (!wait)
			wait = 1, quiet = 1;
	}
	if ((flags & PMF_c) && kind != PMP_DELIVER)
		pm_log(r, "Extraneous copy-flag ignored\n");
	code = run_prog(r, kind, argv, sh, p, len, (flags & PMF_r) != 0,
	    kind != PMP_DELIVER,
	    (flags & PMF_i) != 0, &res);
result:
	/* $?: procmail looks at the exit code only when it waits (w, W,
	 * or a lock); a filter without w leaves $? alone */
	if (wait)
		r->lastexit = code;
	ok = res.started && (!wait || code == 0);
	if (wait && res.started && code != 0 && (!quiet || r->verbose))
		pm_log(r, "%s (%d) of \"%s\"\n", quiet ? "Non-zero exitcode" :
		    "Program failure", code, argv[0]);
	if (kind == PMP_FILTER) {
		if (res.started && (long)res.out.len >= PM_MAX_PROGRAM_OUTPUT)
			ok = 0;	/* cut: keep the message whole */
		if (ok)
			replace_message(r, head, body, &res.out);
		else if (res.started)
			pm_log(r, "Rescue of unfiltered data succeeded\n");
		trace(r, n, "filter \"%s\" %s", line.data,
		    ok ? "replaced the message" : "failed");
	} else if (kind == PMP_CAPTURE) {
		if (res.started && (!wait || code == 0)) {
			size_t l = res.out.len;
			char *v;

			if (l > 0 && res.out.data[l - 1] == '\n')
				l--;
			v = xstrndup(res.out.data ? res.out.data : "", l);
			assign(r, n->capture_var, v, 0);
			free(v);
			ok = 1;
		}
		trace(r, n, "captured \"%s\" into %s%s", line.data,
		    n->capture_var, ok ? "" : " (failed)");
	} else {
		if (ok) {
			var_set(r, "LASTFOLDER", line.data);
			r->last_size = (long)len;
		}
		trace(r, n, "%s \"%s\"%s", kind == PMP_FORWARD ?
		    "forwarded with" : "piped to", line.data,
		    ok ? "" : " (failed)");
	}
	unlock_local(r);
	buf_free(&res.out);
	buf_free(&line);
	free(argv);
	pm_words_free(&w);
	return ok;
}

/* A snapshot for the "c" clone of a block. */
struct snapshot {
	struct buf msg;
	size_t body_off;
	struct pm_var *vars;
	size_t nvars;
	int lastsucc, lastcond, prevcond, delivered, stop;
	char cwd[PATH_MAX];
};

static void
snap_take(struct pm_run *r, struct snapshot *s)
{
	size_t i;

	memset(s, 0, sizeof *s);
	buf_add(&s->msg, r->msg.data ? r->msg.data : "", r->msg.len);
	s->body_off = r->body_off;
	s->vars = xcalloc(r->nvars + 1, sizeof *s->vars);
	for (i = 0; i < r->nvars; i++) {
		s->vars[i].name = xstrdup(r->vars[i].name);
		s->vars[i].value = xstrdup(r->vars[i].value);
	}
	s->nvars = r->nvars;
	s->lastsucc = r->lastsucc;
	s->lastcond = r->lastcond;
	s->prevcond = r->prevcond;
	s->delivered = r->delivered;
	s->stop = r->stop;
	if (getcwd(s->cwd, sizeof s->cwd) == NULL)
		s->cwd[0] = '\0';
}

static void
snap_restore(struct pm_run *r, struct snapshot *s)
{
	size_t i;

	buf_free(&r->msg);
	r->msg = s->msg;
	r->body_off = s->body_off;
	r->hcat_valid = 0;
	for (i = 0; i < r->nvars; i++) {
		free(r->vars[i].name);
		free(r->vars[i].value);
	}
	free(r->vars);
	r->vars = s->vars;
	r->nvars = r->capvars = s->nvars;
	if (r->capvars == 0) {
		free(r->vars);
		r->vars = NULL;
	}
	r->lastsucc = s->lastsucc;
	r->lastcond = s->lastcond;
	r->prevcond = s->prevcond;
	r->delivered = s->delivered;
	r->stop = s->stop;
	if (s->cwd[0] != '\0' && chdir(s->cwd) == -1)
		pm_log(r, "Couldn't chdir to \"%s\"\n", s->cwd);
}

/* One recipe. Returns 1 when the run must stop (delivered...). */
static int
exec_recipe(struct pm_run *r, const struct pm_node *n, unsigned depth)
{
	unsigned flags = n->flags;
	int i, failed_at, succeed = 0;

	if (flags & PMF_e) {
		if (flags & PMF_E)
			pm_log(r, "Conflicting else-if-flag suppressed\n");
		if (flags & PMF_a)
			pm_log(r, "Conflicting also-if-succeeded-flag "
			    "suppressed\n");
		flags &= ~(unsigned)(PMF_E | PMF_a);
	}
	i = eval_conds(r, n, flags, &failed_at);
	if (!(flags & (PMF_A | PMF_a)))
		r->lastcond = i;
	if (!r->prevcond || !(flags & PMF_E))
		r->prevcond = i;
	if (!i) {
		if (failed_at == -1)
			trace(r, n, "recipe skipped (A/a/E/e flags), score=%ld",
			    r->lastscore);
		else if (failed_at == -2)
			trace(r, n, "recipe skipped (score %ld <= 0)",
			    r->lastscore);
		else
			trace(r, n, "recipe skipped (no match on condition "
			    "%d), score=%ld", failed_at, r->lastscore);
		return 0;
	}
	trace(r, n, "recipe matched, score=%ld", r->lastscore);

	switch (n->action) {
	case PMA_NEST:
		if ((flags & PMF_c) && !r->conf.dry_run) {
			pid_t pid;
			int st, rc;

			/* procmail clones the process: the clone runs the
			 * block and, when it falls off it, the rest of the rc
			 * file(s) and $DEFAULT, then its own TRAP (it ends in
			 * pm_run_finish()); the parent skips the block. The
			 * parent waits for it (procmail does not) so that
			 * what happens does not depend on timing, and ignores
			 * its exit status as procmail does. */
			(void)fflush(NULL);
			if ((pid = fork()) == -1) {
				pm_log(r, "Failed forking: %s\n",
				    strerror(errno));
				r->lastsucc = 0;
				return 0;
			}
			if (pid == 0) {
				int saved_prev = r->prevcond;
				int saved_last = r->lastcond;

				r->is_clone = 1;
				/* the parent's LOCKFILE stays the parent's */
				free(r->globlock);
				r->globlock = NULL;
				r->lastsucc = 1;
				trace(r, n, "clone runs the block");
				rc = exec_list(r, n->children, depth + 1);
				r->prevcond = saved_prev;
				r->lastcond = saved_last;
				return rc;
			}
			while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
				;
			succeed = !(flags & (PMF_w | PMF_W)) ||
			    (WIFEXITED(st) && WEXITSTATUS(st) == 0);
			r->lastsucc = succeed;
			trace(r, n, "clone %d ended", (int)pid);
			return 0;
		}
		if (flags & PMF_c) {
			/* sluice test: no process, the clone is a note */
			struct snapshot s;
			int cdel;

			snap_take(r, &s);
			r->lastsucc = 1;
			(void)exec_list(r, n->children, depth + 1);
			cdel = r->delivered;
			snap_restore(r, &s);
			succeed = !(flags & (PMF_w | PMF_W)) || cdel;
			r->lastsucc = succeed;
			trace(r, n, "clone %s", cdel ? "delivered" :
			    "fell off its block");
			return 0;
		} else {
			int saved_prev = r->prevcond, saved_last = r->lastcond;
			int rc;

			r->lastsucc = 1;
			rc = exec_list(r, n->children, depth + 1);
			r->prevcond = saved_prev;
			r->lastcond = saved_last;
			return rc;
		}
	case PMA_FOLDER:
		succeed = do_folder(r, n, flags);
		break;
	case PMA_PIPE:
	case PMA_FORWARD:
	case PMA_VARPIPE:
		succeed = do_program(r, n, flags);
		break;
	}
	r->lastsucc = succeed;
	if (n->action == PMA_VARPIPE || (flags & PMF_f &&
	    n->action == PMA_PIPE))
		return 0;	/* non-delivering */
	if (succeed && !(flags & PMF_c)) {
		r->delivered = 1;
		return 1;
	}
	if (succeed && r->logabstract == 2)
		log_abstract(r, var_or(r, "LASTFOLDER", ""));
	return 0;
}

/* Run a node list; 1: stop (delivered, HOST, SWITCHRC...). */
static int
exec_list(struct pm_run *r, struct pm_node *n, unsigned depth)
{
	if (depth > PM_MAX_NESTING)
		return 0;
	for (; n != NULL; n = n->next) {
		r->curline = n->line;
		if (n->kind == PM_ASSIGN) {
			if (n->value == NULL)
				assign(r, n->name, NULL, 0);
			else {
				struct pm_words w;

				pm_words_init(&w);
				/* procmail: a value that does not fit its
				 * line buffer is not assigned at all */
				if (pm_subst(r, n->value, strlen(n->value),
				    PM_SUB_ASSIGN, &w) == -1 ||
				    (long)strlen(w.b.data ? w.b.data : "") >=
				    r->linebuf) {
					pm_log(r, "Exceeded LINEBUF\n");
					var_set(r, "PROCMAIL_OVERFLOW", "yes");
				} else
					assign(r, n->name, w.b.data, 0);
				pm_words_free(&w);
			}
		} else if (exec_recipe(r, n, depth))
			return 1;
		if (r->delivered || r->stop || r->switch_to != NULL)
			return 1;
	}
	return 0;
}

/* procmail's rc file checks (procmail(1) "rcfile" security notes). */
static int
rc_perms_ok(struct pm_run *r, int fd, const char *path)
{
	struct stat st, dst;
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int strict;

	if (fstat(fd, &st) == -1)
		return 0;
	strict = strcmp(slash ? slash + 1 : path, ".procmailrc") == 0;
	if (strcmp(path, "/dev/null") != 0 &&
	    ((st.st_uid != r->conf.uid && st.st_uid != 0) ||
	    (st.st_mode & S_IWOTH) || (strict && (st.st_mode & S_IWGRP))))
		return 0;
	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else if ((size_t)(slash - path) < sizeof dir)
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	else
		return 0;
	if (stat(dir, &dst) == -1)
		return 0;
	if (dst.st_mode & S_ISVTX)
		return 1;
	if ((dst.st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH))
		return 0;
	if (strict && (dst.st_mode & (S_IWGRP | S_IXGRP)) ==
	    (S_IWGRP | S_IXGRP))
		return 0;
	return 1;
}

/* Read, check, parse and run one rc file (and what it switches to). */
static int
run_rcfile(struct pm_run *r, const char *path0, int top, struct err *e)
{
	char *path = xstrdup(path0);
	int ret = 0, rounds = 0;

	if (r->include_depth >= PM_MAX_INCLUDE_DEPTH) {
		pm_log(r, "%s:%d: Too deeply nested INCLUDERC \"%s\"\n",
		    r->curfile ? r->curfile : "", r->curline, path);
		free(path);
		return 0;
	}
	r->include_depth++;
	for (;;) {
		struct buf src = BUF_INIT;
		struct pm_file *f = NULL;
		struct pm_diags *d = r->diags;
		struct pm_diags local;
		struct stat st;
		char chunk[8192];
		const char *saved_file = r->curfile;
		char *shown = NULL;
		ssize_t nr;
		unsigned errs;
		int fd, k, cycle = 0;

		if (++rounds > PM_MAX_INCLUDE_DEPTH * 4) {
			pm_log(r, "Too many SWITCHRC in a row\n");
			break;
		}
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
			pm_log(r, "Couldn't read \"%s\"\n", path);
			if (top)
				err_sys(e, errno, "%s", path), ret = -1;
			break;
		}
		if (fstat(fd, &st) == 0)
			for (k = 0; k < r->ino_n; k++)
				if (r->ino_dev[k] == st.st_dev &&
				    r->ino_ino[k] == st.st_ino)
					cycle = 1;
		if (cycle) {
			/* where: the INCLUDERC/SWITCHRC that closed it */
			pm_log(r, "%s:%d: INCLUDERC loop on \"%s\" skipped\n",
			    r->curfile ? r->curfile : "", r->curline, path);
			close(fd);
			break;
		}
		if (r->conf.check_rc_perms && !rc_perms_ok(r, fd, path)) {
			pm_log(r, "Suspicious rcfile \"%s\"\n", path);
			close(fd);
			if (top)
				err_set(e, ERR_PERM, "suspicious rcfile %s",
				    path), ret = -1;
			break;
		}
		while ((nr = read(fd, chunk, sizeof chunk)) != 0) {
			if (nr == -1 && errno == EINTR)
				continue;
			if (nr == -1 ||
			    (long)(src.len + (size_t)nr) > PM_MAX_RC_SIZE) {
				pm_log(r, "Couldn't read \"%s\"\n", path);
				nr = -1;
				break;
			}
			buf_add(&src, chunk, (size_t)nr);
		}
		close(fd);
		if (nr == -1) {
			buf_free(&src);
			if (top)
				err_set(e, ERR_PERM, "cannot read %s", path),
				    ret = -1;
			break;
		}
		if (d == NULL) {
			pm_diags_init(&local);
			d = &local;
		}
		{
			size_t before = d->text.len;

			errs = pm_parse_partial(path, src.data ? src.data : "",
			    src.len, d, &f);
			if (d->text.len > before)
				log_write(r, d->text.data + before,
				    d->text.len - before);
		}
		if (d == &local)
			pm_diags_free(&local);
		buf_free(&src);
		if (f == NULL || (errs && !r->conf.skip_bad_recipes)) {
			pm_log(r, "Skipped rcfile \"%s\": it has errors\n",
			    path);
			pm_file_free(&f);
			if (top)
				err_set(e, ERR_CONFIG, "%s has errors", path),
				    ret = -1;
			break;
		}
		if (r->verbose)
			pm_log(r, "Rcfile: \"%s\"\n", path);
		/* $_: relative names are shown under an absolute MAILDIR */
		if (path[0] != '/' && var(r, "MAILDIR") != NULL &&
		    var(r, "MAILDIR")[0] == '/') {
			struct buf b = BUF_INIT;

			buf_addf(&b, "%s/%s", var(r, "MAILDIR"), path);
			shown = buf_steal(&b);
		}
		r->curfile = shown ? shown : path;
		if (r->ino_n < PM_MAX_INCLUDE_DEPTH + 2) {
			r->ino_dev[r->ino_n] = st.st_dev;
			r->ino_ino[r->ino_n] = st.st_ino;
			r->ino_n++;
		}
		(void)exec_list(r, f->nodes, 0);
		r->ino_n--;
		unlock_local(r);
		r->curfile = saved_file;
		free(shown);
		pm_file_free(&f);
		if (r->switch_to != NULL && !r->delivered && !r->stop) {
			char *next = r->switch_to;

			r->switch_to = NULL;
			if (*next == '\0') {
				free(next);
				break;
			}
			free(path);
			path = next;
			continue;
		}
		break;
	}
	r->include_depth--;
	free(path);
	return ret;
}

int
pm_run_file(struct pm_run *r, const char *path, struct pm_diags *d,
    struct err *e)
{
	int rc;

	r->stop = 0;
	r->host_mismatch = 0;
	r->lastsucc = r->lastcond = r->prevcond = 0;
	if (!r->didchd) {
		const char *md = var(r, "MAILDIR");
		const char *home = var(r, "HOME");

		if (md == NULL)
			md = home ? home : ".";
		if (chdir(md) == 0)
			var_set(r, "MAILDIR", md);
		else {
			pm_log(r, "Couldn't chdir to \"%s\"\n", md);
			if (home != NULL && chdir(home) == 0)
				var_set(r, "MAILDIR", home);
			else
				var_set(r, "MAILDIR", ".");
		}
		r->didchd = 1;
	}
	r->diags = d;
	rc = run_rcfile(r, path, 1, e);
	r->diags = NULL;
	free(r->switch_to);
	r->switch_to = NULL;
	if (rc == -1)
		return -1;
	return r->delivered ? 1 : 0;
}

static int
deliver_default(struct pm_run *r, const char *name, int dolock)
{
	struct pm_node n;
	char *text;
	int ok;

	memset(&n, 0, sizeof n);
	n.kind = PM_RECIPE;
	n.file = r->curfile ? r->curfile : "(default)";
	n.action = PMA_FOLDER;
	n.flags = PMF_DEFAULT_HB | PMF_DEFAULT_hb;
	/* the name is used as is: quote it for the word splitter */
	{
		struct buf b = BUF_INIT;
		const char *p;

		buf_addc(&b, '\'');
		for (p = name; *p; p++) {
			if (*p == '\'')
				buf_adds(&b, "'\\''");
			else
				buf_addc(&b, *p);
		}
		buf_addc(&b, '\'');
		text = buf_steal(&b);
	}
	n.action_text = text;
	if (dolock) {
		struct stat st;
		size_t l = strlen(name);

		if (!(l > 0 && name[l - 1] == '/') &&
		    !(l > 1 && name[l - 1] == '.' && name[l - 2] == '/') &&
		    !(stat(name, &st) == 0 && S_ISDIR(st.st_mode)))
			n.locked = 1;
	}
	ok = do_folder(r, &n, n.flags);
	free(text);
	return ok;
}

int
pm_run_finish(struct pm_run *r, struct err *e)
{
	int status, forceret = -2;
	const char *def, *org, *trap;

	(void)e;
	if (r->finished)
		return 0;
	r->finished = 1;
	unlock_local(r);
	if (!r->delivered && !r->host_mismatch) {
		def = var_or(r, "DEFAULT", "");
		org = var_or(r, "ORGMAIL", "");
		if (*def && deliver_default(r, def, 1))
			r->delivered = 1;
		else if (*org && strcmp(org, def) != 0 &&
		    deliver_default(r, org, 0))
			r->delivered = 1;
	}
	status = r->delivered || r->fake_delivered || r->host_mismatch ? 0 :
	    PM_EX_TEMPFAIL;
	log_abstract(r, status == 0 ? var_or(r, "LASTFOLDER", "") :
	    "**Requeued**");
	trap = var_or(r, "TRAP", "");
	if (r->exitcode_set && var(r, "EXITCODE") != NULL) {
		forceret = (int)renvint(-2, var(r, "EXITCODE"));
		if (forceret >= 0)
			status = forceret;
	} else if (*trap) {
		char num[16];

		snprintf(num, sizeof num, "%d", status);
		var_set(r, "EXITCODE", num);
		forceret = -1;
	}
	if (*trap) {
		struct pm_words w;
		const char **argv = NULL;
		struct pm_prog_res res;
		int sh, code;

		pm_words_init(&w);
		if (build_argv(r, trap, strlen(trap), &w, &argv, &sh) == 0) {
			code = run_prog(r, PMP_TRAP, argv, sh, r->msg.data,
			    r->msg.len, 0, 1, 1, &res);
			if (res.out.len > 0)
				log_write(r, res.out.data, res.out.len);
			buf_free(&res.out);
			if (code != 0 && forceret == -2)
				status = code < 0 ? PM_EX_TEMPFAIL : code;
		}
		free(argv);
		pm_words_free(&w);
	}
	if (r->globlock != NULL)
		set_global_lock(r, "");
	if (r->dry_log.len > 0 && r->tracing) {
		buf_adds(&r->trace, "log:\n");
		buf_add(&r->trace, r->dry_log.data, r->dry_log.len);
	}
	if (r->is_clone) {
		/* a c clone of a block ends here, as procmail's does; its
		 * exit status is not looked at */
		(void)fflush(NULL);
		_exit(status);
	}
	return status;
}
