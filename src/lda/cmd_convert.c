/*
 * cmd_convert.c - `sluice convert` (procmailrc -> Sieve) and the
 * procmailrc side of `sluice check` and `sluice test` (cmd_sieve.c
 * chooses the language by name or --lang and calls in here).
 *
 *   sluice convert [--pipes] FILE
 *	the Sieve script on stdout; exit 0 when everything translated, 1
 *	when some parts did not (their count on stderr; each is marked in
 *	the script), 64 for usage.
 *   check: parse, every error as file:line:col on stdout, exit 1 if any.
 *   test: the interpreter run dry through the LDA's own procmail
 *	environment (lda_procmail_run with dry_run: nothing is stored,
 *	forwarded or piped; conditions, backquotes and filters run, since
 *	they decide), set up as `sluice deliver` runs a procmailrc
 *	(MAILDIR = the Maildir root, DEFAULT = root/, $1 = -a).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "rules/procmailrc/procmailrc.h"
#include "lda.h"

/* A test message is read whole (procmail holds it in memory too). */
#define CONVERT_MAX_MESSAGE	(64L * 1024 * 1024)

/* ---- sluice convert ---- */

static void
convert_usage(FILE *fp)
{
	fprintf(fp, "usage: sluice convert [--pipes] FILE\n"
	    "  --pipes  translate \"| program\" recipes to vnd.dovecot.pipe "
	    "and vnd.dovecot.filter\n");
}

int
cmd_convert(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pipes", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pm_convert_opts o;
	struct pm_diags d;
	struct pm_file *f = NULL;
	struct buf out = BUF_INIT;
	int c, bad, code;

	memset(&o, 0, sizeof o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.pipe_ext = 1;
			break;
		case 'h':
			convert_usage(stdout);
			return EX_OK;
		default:
			convert_usage(stderr);
			return EX_USAGE;
		}
	}
	if (argc - optind != 1) {
		convert_usage(stderr);
		return EX_USAGE;
	}
	pm_diags_init(&d);
	if (pm_parse_file(argv[optind], &d, &f) == -1) {
		/* A file procmail itself would run only in part: the
		 * errors first, nothing translated. */
		fputs(d.text.data ? d.text.data : "", stderr);
		fprintf(stderr, "sluice convert: %s: not translated (%u "
		    "error%s)\n", argv[optind], d.errors,
		    d.errors == 1 ? "" : "s");
		pm_diags_free(&d);
		return 1;
	}
	bad = pm_convert(f, &o, &out);
	fputs(out.data ? out.data : "", stdout);
	code = 0;
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "sluice convert: write error: %s\n",
		    strerror(errno));
		code = EX_IOERR;
	} else if (bad > 0) {
		fprintf(stderr, "sluice convert: %s: %d part%s not translated "
		    "(marked \"sluice convert: cannot translate\")\n",
		    argv[optind], bad, bad == 1 ? "" : "s");
		code = 1;
	}
	buf_free(&out);
	pm_file_free(&f);
	pm_diags_free(&d);
	return code;
}

/* ---- sluice check on a procmailrc ---- */

int
lda_pm_check(const char *path)
{
	struct pm_diags d;
	struct pm_file *f = NULL;
	int bad;

	pm_diags_init(&d);
	bad = pm_parse_file(path, &d, &f) == -1 || d.errors > 0;
	if (d.text.data != NULL)
		fputs(d.text.data, stdout);
	pm_file_free(&f);
	pm_diags_free(&d);
	return bad ? 1 : 0;
}

/* ---- sluice test on a procmailrc ---- */

static int
read_file(const char *path, struct buf *b, struct err *e)
{
	char chunk[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_sys(e, errno, "%s", path);
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_sys(e, errno, "read %s", path);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		if (b->len + (size_t)n > (size_t)CONVERT_MAX_MESSAGE) {
			close(fd);
			return err_set(e, ERR_PERM, "%s: larger than %ld "
			    "bytes", path, CONVERT_MAX_MESSAGE);
		}
		buf_add(b, chunk, (size_t)n);
	}
	close(fd);
	if (b->data == NULL)
		buf_adds(b, "");
	return 0;
}

/*
 * The actions of a dry run, from the interpreter's trace lines
 * ("FILE:LINE: delivered to X", "forwarded with \"...\"", "piped to
 * \"...\"", "filter \"...\""), then the default delivery, which
 * happens after the trace was taken: $LASTFOLDER when it is not what the
 * last traced action stored. Each action: kind, arg, origin, in three
 * parallel NUL-separated lists of out (caller frees).
 */
struct pm_action_list {
	struct buf kind, arg, origin;
	size_t n;
};

static void
action_add(struct pm_action_list *l, const char *kind, const char *arg,
    size_t arglen, const char *origin, size_t olen)
{
	buf_adds(&l->kind, kind);
	buf_addc(&l->kind, 0);
	buf_add(&l->arg, arg, arglen);
	buf_addc(&l->arg, 0);
	buf_add(&l->origin, origin, olen);
	buf_addc(&l->origin, 0);
	l->n++;
}

static void
trace_actions(const char *trace, const char *last, int status,
    struct pm_action_list *l)
{
	static const struct { const char *key, *kind; int quoted; } kw[] = {
		{ ": delivered to ", "deliver", 0 },
		{ ": forwarded with \"", "forward", 1 },
		{ ": piped to \"", "pipe", 1 },
		{ ": filter \"", "filter", 1 },
	};
	const char *p = trace ? trace : "", *lastarg = NULL;
	size_t i;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");

		for (i = 0; i < sizeof kw / sizeof kw[0]; i++) {
			const char *k = mem_find(p, n, kw[i].key,
			    strlen(kw[i].key));
			const char *a, *end = p + n;

			if (k == NULL)
				continue;
			a = k + strlen(kw[i].key);
			if (kw[i].quoted && (end = memrchr(a, '"',
			    (size_t)(p + n - a))) == NULL)
				continue;
			action_add(l, kw[i].kind, a, (size_t)(end - a), p,
			    (size_t)(k - p));
			lastarg = l->arg.data + l->arg.len - (size_t)(end - a) -
			    1;
			break;
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	if (status == 0 && last != NULL && last[0] != '\0' &&
	    strcmp(last, "-") != 0 && (lastarg == NULL ||
	    strcmp(lastarg, last) != 0))
		action_add(l, "deliver", last, strlen(last), "(default)", 9);
}

static const char *
nth(const struct buf *b, size_t i)
{
	const char *p = b->data;

	while (i-- > 0)
		p += strlen(p) + 1;
	return p;
}

/* "~/x" with home; 0 or -1. */
static int
home_path(const char *p, const char *home, char *out, size_t outsz)
{
	if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
		if (home == NULL || home[0] == '\0')
			return -1;
		return buf_fmt(out, outsz, "%s%s", home, p + 1);
	}
	return buf_fmt(out, outsz, "%s", p);
}

int
lda_pm_test(const struct conf *conf, const char *path, char *const *msgs,
    int nmsgs, const char *sender, const char *ext, int json_out)
{
	const char *home = getenv("HOME"), *user = getenv("USER");
	const char *shell = getenv("SHELL");
	struct pm_diags d;
	struct pm_file *f = NULL;
	struct buf json = BUF_INIT;
	char root[PATH_MAX], host[256], abs[PATH_MAX];
	int i, code = 0, cwd_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (user == NULL)
		user = getenv("LOGNAME");
	/* Compile first, as the Sieve mode does: errors end it. */
	pm_diags_init(&d);
	if (pm_parse_file(path, &d, &f) == -1 || d.errors > 0) {
		if (json_out) {
			buf_adds(&json, "{\"script\":");
			buf_json_str(&json, path);
			buf_adds(&json, ",\"language\":\"procmail\","
			    "\"compiled\":false,\"errors\":");
			buf_json_lines(&json, d.text.data, -1);
			buf_adds(&json, "}\n");
			fputs(json.data, stdout);
		} else {
			fputs(d.text.data ? d.text.data : "", stdout);
		}
		code = 1;
		goto out;
	}
	if (home == NULL || home_path(conf->maildir ? conf->maildir :
	    "~/Maildir", home, root, sizeof root) == -1) {
		fprintf(stderr, "sluice: no HOME for the Maildir\n");
		code = EX_USAGE;
		goto out;
	}
	/* procmail reads a relative rc name under $HOME: the user means
	 * the file named here. */
	if (realpath(path, abs) == NULL)
		(void)snprintf(abs, sizeof abs, "%s", path);
	if (gethostname(host, sizeof host) == -1)
		(void)snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	if (json_out) {
		buf_adds(&json, "{\"script\":");
		buf_json_str(&json, path);
		buf_adds(&json, ",\"language\":\"procmail\",\"compiled\":true,"
		    "\"messages\":[");
	}
	for (i = 0; i < nmsgs; i++) {
		struct lda_procmail p;
		struct buf raw = BUF_INIT, text = BUF_INIT, diags = BUF_INIT;
		struct buf trace = BUF_INIT, last = BUF_INIT, def = BUF_INIT;
		struct buf md = BUF_INIT;
		const char *assigns[2], *args[1], *rcfiles[1];
		struct pm_action_list al;
		struct err e;
		size_t k;
		int status;

		err_clear(&e);
		if (read_file(msgs[i], &raw, &e) == -1) {
			fprintf(stderr, "sluice: %s\n", e.msg);
			code = 1;
			buf_free(&raw);
			continue;
		}
		lda_procmail_text(&text, raw.data, raw.len, NULL, sender ?
		    sender : "sender@example.com");
		buf_addf(&def, "DEFAULT=%s/", root);
		buf_addf(&md, "MAILDIR=%s", root);
		assigns[0] = def.data;
		assigns[1] = md.data;
		args[0] = ext ? ext : "";
		rcfiles[0] = abs;
		memset(&p, 0, sizeof p);
		p.conf = conf;
		p.home = home;
		p.logname = user ? user : "nobody";
		p.shell = shell ? shell : "/bin/sh";
		p.root = root;
		p.host = host;
		p.text = text.data;
		p.len = text.len;
		p.no_global = 1;
		p.dry_run = 1;
		p.assigns = assigns;
		p.nassigns = 2;
		p.rcfiles = rcfiles;
		p.nrcfiles = 1;
		p.args = args;
		p.nargs = 1;
		p.diags = &diags;
		p.trace = &trace;
		p.lastfolder = &last;
		status = lda_procmail_run(&p, &e);
		/* The run changed directory to $MAILDIR: the next message's
		 * relative name is relative to where we were started. */
		if (cwd_fd >= 0 && fchdir(cwd_fd) == -1) {
			fprintf(stderr, "sluice: cannot return to the "
			    "starting directory: %s\n", strerror(errno));
			code = EX_TEMPFAIL;
		}
		if (e.cls != ERR_NONE) {
			buf_adds(&diags, e.msg);
			buf_addc(&diags, '\n');
		}
		memset(&al, 0, sizeof al);
		trace_actions(trace.data, last.data, status, &al);
		if (json_out) {
			if (i > 0)
				buf_addc(&json, ',');
			buf_adds(&json, "{\"message\":");
			buf_json_str(&json, msgs[i]);
			buf_adds(&json, ",\"actions\":[");
			for (k = 0; k < al.n; k++) {
				struct buf t = BUF_INIT;
				int dflt = !strcmp(nth(&al.origin, k),
				    "(default)");

				buf_addf(&t, "%s \"%s\"", nth(&al.kind, k),
				    nth(&al.arg, k));
				buf_addf(&json, "%s{\"action\":", k ? "," : "");
				buf_json_str(&json, nth(&al.kind, k));
				buf_adds(&json, ",\"arg\":");
				buf_json_str(&json, nth(&al.arg, k));
				buf_adds(&json, ",\"text\":");
				buf_json_str(&json, t.data);
				buf_addf(&json, ",\"copy\":false,\"implicit\":"
				    "%s,\"origin\":", dflt ? "true" : "false");
				if (dflt)
					buf_adds(&json, "null");
				else
					buf_json_str(&json, nth(&al.origin, k));
				buf_addc(&json, '}');
				buf_free(&t);
			}
			buf_addf(&json, "],\"exit\":%d,\"trace\":", status);
			buf_json_lines(&json, trace.data, -1);
			buf_adds(&json, ",\"errors\":");
			buf_json_lines(&json, diags.data, 0);
			buf_adds(&json, ",\"warnings\":");
			buf_json_lines(&json, diags.data, 1);
			buf_addc(&json, '}');
		} else {
			printf("## %s\n", msgs[i]);
			if (trace.data != NULL)
				printf("Trace:\n%s", trace.data);
			if (diags.data != NULL)
				printf("Errors:\n%s", diags.data);
			printf("Actions:\n");
			for (k = 0; k < al.n; k++)
				printf("  %s \"%s\"%s\n", nth(&al.kind, k),
				    nth(&al.arg, k), strcmp(nth(&al.origin, k),
				    "(default)") ? "" : " (default)");
			printf("  exit %d\n", status);
		}
		buf_free(&al.kind);
		buf_free(&al.arg);
		buf_free(&al.origin);
		buf_free(&raw);
		buf_free(&text);
		buf_free(&diags);
		buf_free(&trace);
		buf_free(&last);
		buf_free(&def);
		buf_free(&md);
	}
	if (json_out) {
		buf_adds(&json, "]}\n");
		fputs(json.data, stdout);
	}
out:
	fflush(stdout);
	if (cwd_fd >= 0)
		close(cwd_fd);
	buf_free(&json);
	pm_file_free(&f);
	pm_diags_free(&d);
	return code;
}
