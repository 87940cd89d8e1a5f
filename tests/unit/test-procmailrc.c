/*
 * test-procmailrc.c - the procmailrc parser, substitution and interpreter
 * with a fake environment that records what it was asked to do. The real
 * delivery layer and the comparison with procmail itself are tested by
 * tests/procmail-diff/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "../../src/rules/procmailrc/pm-int.h"

/* ---- parser ---- */

struct parse_row {
	const char *name;
	const char *src;
	int ok;			/* pm_parse() succeeds */
	const char *want;	/* good: a dump of the tree; bad: diag prefix */
};

static void
dump(const struct pm_node *n, struct buf *b)
{
	for (; n != NULL; n = n->next) {
		size_t i;

		if (n->kind == PM_ASSIGN) {
			buf_addf(b, "A%d:%s=%s;", n->line, n->name,
			    n->value ? n->value : "(unset)");
			continue;
		}
		buf_addf(b, "R%d:%x%s%s[", n->line, n->flags,
		    n->locked ? ":" : "", n->lockfile ? n->lockfile : "");
		for (i = 0; i < n->nconds; i++) {
			const struct pm_cond *c = &n->conds[i];

			buf_addf(b, "%s%d%s%s%s", i ? "," : "", c->kind,
			    c->negate ? "!" : "", c->expand ? "$" : "",
			    c->var ? c->var : "");
			if (c->weighted)
				buf_addf(b, "w%g^%g", c->weight, c->exponent);
			buf_addf(b, "'%s'", c->text);
		}
		buf_addf(b, "]%d'%s'", n->action,
		    n->action_text ? n->action_text : "");
		if (n->capture_var)
			buf_addf(b, "->%s", n->capture_var);
		if (n->children) {
			buf_adds(b, "{");
			dump(n->children, b);
			buf_adds(b, "}");
		}
		buf_adds(b, ";");
	}
}

static const struct parse_row parse_rows[] = {
	{ "assignments", "A=b\nC = \"x y\" # c\nD\nE=$F${G:-h}\n", 1,
	  "A1:A=b;A2:C=\"x y\";A3:D=(unset);A4:E=$F${G:-h};" },
	{ "two on a line", "A=1 B=2\n", 1, "A1:A=1;A1:B=2;" },
	{ "quoted over lines", "A=\"one\ntwo\"\nB=3\n", 1,
	  "A1:A=\"one\ntwo\";A3:B=3;" },
	{ "continuation", "A=a\\\nb\n", 1, "A1:A=a\\\nb;" },
	{ "simple recipe", ":0:\n* ^Subject: hi\nfolder\n", 1,
	  "R1:30000:[0'^Subject: hi']0'folder';" },
	{ "flags and lockfile", ":0 HBc: my.lock\n* !x\n| cmd arg\n", 1,
	  "R1:20403:my.lock[0!'x']1' cmd arg';" },
	{ "weights and kinds", ":0 B\n* -150^0\n* 1^1 ^.*$\n* > 100\n"
	  "* ? test -f x\n* $ ${X}\n* VAR ?? ! abc\n* H ?? y\n! a@b c@d\n", 1,
	  "R1:20002[0w-150^0'',0w1^1'^.*$',2' 100',3' test -f x',0$' ${X}',"
	  "4!VAR'abc',4H'y']2' a@b c@d';" },
	{ "nested", ":0\n* a\n{\n  X=1\n  :0 c\n  | p\n}\nY=2\n", 1,
	  "R1:30000[0'a']3''{A4:X=1;R5:30400[]1' p';};A8:Y=2;" },
	{ "one-line block", ":0\n{ X=1 }\n", 1,
	  "R1:30000[]3''{A2:X=1;};" },
	{ "capture", ":0\nVAR=| date +%s\n", 1,
	  "R1:30000[]4' date +%s'->VAR;" },
	{ "comments between", ":0\n# c\n* a\n\n* b\nf # trailing\n", 1,
	  "R1:30000[0'a',0'b']0'f';" },
	{ "continued condition", ":0\n* ^Subject: a\\\n   b\nf\n", 1,
	  "R1:30000[0'^Subject: ab']0'f';" },
	{ "legacy count", ":2\nabc\ndef\nf\n", 1,
	  "R1:30000[0'abc',0'def']0'f';" },
	{ "bad flag", "A=1\n:0 Hx\nf\n", 0, "t:2:5: error: unknown recipe flag 'x'" },
	{ "missing action", ":0\n* a\n\n:0\nf\n", 0,
	  "t:4:1: error: missing action line" },
	{ "unmatched close", "}\n", 0, "t:1:1: error: closing brace unexpected" },
	/* procmail runs it to the end of the file (a warning) */
	{ "unclosed block", "X=1\n:0\n{\n:0\nf\n", 1,
	  "A1:X=1;R2:30000[]3''{R4:30000[]0'f';};" },
	{ "bad regex", ":0\n* a(b\nf\n", 0, "t:2:" },
	{ "bad size", ":0\n* < 12x\nf\n", 0, "t:2:" },
	{ "garbage", "3x=1\n", 0, "t:1:1: error: expected an assignment" },
	{ "unterminated quote", "A=\"abc\n", 0,
	  "t:1:3: error: value: missing closing quote" },
	{ "junk after size", ":0\n* > 10 x\nf\n", 0, "t:2:8: error: junk after" },
};

static void
test_parser(void)
{
	size_t i;

	for (i = 0; i < sizeof parse_rows / sizeof parse_rows[0]; i++) {
		const struct parse_row *row = &parse_rows[i];
		struct pm_diags d;
		struct pm_file *f = NULL;
		int rc;

		pm_diags_init(&d);
		rc = pm_parse("t", row->src, strlen(row->src), &d, &f);
		is_int(rc, row->ok ? 0 : -1, "parse %s: return", row->name);
		if (row->ok && f != NULL) {
			struct buf b = BUF_INIT;

			dump(f->nodes, &b);
			is_str(b.data ? b.data : "", row->want, "parse %s: tree",
			    row->name);
			buf_free(&b);
		} else if (!row->ok) {
			ok(d.text.data != NULL && strncmp(d.text.data, row->want,
			    strlen(row->want)) == 0, "parse %s: diag", row->name);
			if (d.text.data == NULL || strncmp(d.text.data,
			    row->want, strlen(row->want)) != 0)
				diag("got: %s", d.text.data ? d.text.data : "");
			ok(f == NULL, "parse %s: no file", row->name);
		}
		pm_file_free(&f);
		pm_diags_free(&d);
	}
	/* limits: nesting deeper than PM_MAX_NESTING is an error */
	{
		struct buf b = BUF_INIT;
		struct pm_diags d;
		struct pm_file *f;
		int k;

		for (k = 0; k < PM_MAX_NESTING + 2; k++)
			buf_adds(&b, ":0\n{\n");
		pm_diags_init(&d);
		ok(pm_parse("t", b.data, b.len, &d, &f) == -1 &&
		    strstr(d.text.data, "nested deeper") != NULL,
		    "parse: nesting limit");
		pm_diags_free(&d);
		buf_free(&b);
	}
}

/* ---- a fake environment ---- */

struct fake {
	struct buf log;
	int fail_deliver;
	int share_fd;		/* > 0: deliveries also written here, so that
				 * a c clone's (another process) are seen */
	char in_tail[3];	/* the last program input's last 2 bytes */
};

static int
fake_deliver(void *arg, const struct pm_folder_req *r, struct buf *lf,
    struct err *e)
{
	struct fake *fk = arg;
	size_t i;

	buf_adds(&fk->log, "deliver");
	for (i = 0; i < r->nfolders; i++)
		buf_addf(&fk->log, " %s", r->folders[i]);
	buf_addf(&fk->log, " h%zu b%zu%s;", r->head_len, r->body_len,
	    r->locked ? " L" : "");
	if (fk->share_fd > 0) {
		char line[256];
		int n = snprintf(line, sizeof line, "deliver %s;",
		    r->folders[0]);

		if (n > 0 && (size_t)n < sizeof line &&
		    write(fk->share_fd, line, (size_t)n) != n)
			return err_set(e, ERR_TEMP, "write share file");
	}
	if (fk->fail_deliver)
		return err_set(e, ERR_TEMP, "disk full");
	buf_adds(lf, r->folders[0]);
	return 0;
}

static int
fake_lock(void *arg, const char *path, long t, struct err *e)
{
	struct fake *fk = arg;

	(void)t;
	(void)e;
	buf_addf(&fk->log, "lock %s;", path);
	return 0;
}

static void
fake_unlock(void *arg, const char *path)
{
	struct fake *fk = arg;

	buf_addf(&fk->log, "unlock %s;", path);
}

static int
fake_program(void *arg, const struct pm_prog_req *r, struct pm_prog_res *res,
    struct err *e)
{
	struct fake *fk = arg;
	size_t i;

	(void)e;
	buf_addf(&fk->log, "prog%d", (int)r->kind);
	for (i = 0; r->argv[i] != NULL; i++)
		buf_addf(&fk->log, " [%s]", r->argv[i]);
	buf_addc(&fk->log, ';');
	memset(fk->in_tail, 0, sizeof fk->in_tail);
	if (r->in_len >= 2)
		memcpy(fk->in_tail, r->in + r->in_len - 2, 2);
	res->started = strcmp(r->argv[0], "nonexistent") != 0;
	res->exited = res->started;
	res->status = strcmp(r->argv[0], "false") == 0 ? 1 : 0;
	if (r->kind == PMP_FILTER) {
		buf_adds(&res->out, "X-Filtered: yes\n");
		buf_add(&res->out, r->in, r->in_len);
	} else if (r->kind == PMP_CAPTURE)
		buf_adds(&res->out, "captured\n\n");
	else if (r->kind == PMP_BACKQUOTE)
		buf_addf(&res->out, "out of %s\n\n", r->argv[r->argv[1] ? 1 : 0]);
	return 0;
}

static const char msg[] =
    "From sender@x  Mon Jan  1 00:00:00 2024\n"
    "From: Alice <alice@example.org>\n"
    "Subject: hello\n"
    "  world\n"
    "To: bob@example.org\n"
    "\n"
    "line one\n"
    "line two\n";

static struct pm_run *
new_run(struct fake *fk, const char *const *extra, size_t nextra)
{
	static struct pm_env env;
	struct pm_conf c;
	const char *vars[32];
	const char *args[] = { "first", "second" };
	size_t n = 0, i;

	memset(&c, 0, sizeof c);
	c.uid = getuid();
	env.arg = fk;
	env.deliver = fake_deliver;
	env.lock = fake_lock;
	env.unlock = fake_unlock;
	env.program = fake_program;
	vars[n++] = "HOME=/tmp";
	vars[n++] = "MAILDIR=/tmp";
	vars[n++] = "DEFAULT=/tmp/default-mbox";
	vars[n++] = "SHELL=/bin/sh";
	vars[n++] = "SHELLMETAS=&|<>~;?*[";
	vars[n++] = "SHELLFLAGS=-c";
	vars[n++] = "SENDMAIL=/usr/sbin/sendmail";
	vars[n++] = "SENDMAILFLAGS=-oi";
	vars[n++] = "LOCKEXT=.lock";
	vars[n++] = "SP=a  b";
	vars[n++] = "EMPTY=";
	vars[n++] = "RE=a.b*";
	for (i = 0; i < nextra && n < 32; i++)
		vars[n++] = extra[i];
	return pm_run_new(&c, &env, msg, sizeof msg - 1, vars, n, args, 2);
}

/* ---- substitution ---- */

struct subst_row {
	const char *in;
	int mode;
	const char *want;	/* words joined with "|" */
};

static const struct subst_row subst_rows[] = {
	{ "$SP", PM_SUB_ASSIGN, "a  b" },
	{ "$SP", PM_SUB_WORDS, "a|b" },
	{ "\"$SP\"", PM_SUB_WORDS, "a  b" },
	{ "x$SP'y z'", PM_SUB_WORDS, "xa|by z" },
	{ "${NOPE:-dflt}", PM_SUB_ASSIGN, "dflt" },
	{ "${EMPTY:-dflt}", PM_SUB_ASSIGN, "dflt" },
	{ "${EMPTY-dflt}", PM_SUB_ASSIGN, "" },
	{ "${SP:+alt}", PM_SUB_ASSIGN, "alt" },
	{ "${NOPE+alt}", PM_SUB_ASSIGN, "" },
	{ "${SP:-`never`}", PM_SUB_ASSIGN, "a  b" },
	{ "$\\RE", PM_SUB_ASSIGN, "()a\\.b\\*" },
	{ "$1-$2-$#", PM_SUB_ASSIGN, "first-second-2" },
	{ "cmd \"$@\" end", PM_SUB_WORDS, "cmd||end" },
	{ "a\\ b", PM_SUB_WORDS, "a b" },
	{ "\"a\\.b\"", PM_SUB_WORDS, "a\\.b" },
	{ "'$SP'", PM_SUB_WORDS, "$SP" },
	{ "a\\#b #c", PM_SUB_WORDS, "a\\#b" },
	{ "`echo hi`", PM_SUB_ASSIGN, "out of hi" },
	{ "x`echo hi`", PM_SUB_WORDS, "xout|of|hi" },
	{ "cmd $EMPTY", PM_SUB_WORDS, "cmd" },
	{ "\"\"", PM_SUB_WORDS, "" },
	{ "a   b", PM_SUB_KEEP, "a b" },
	{ "$", PM_SUB_ASSIGN, "$" },
	{ "$.", PM_SUB_ASSIGN, "$." },
};

static void
test_subst(void)
{
	struct fake fk;
	struct pm_run *r;
	size_t i, k;

	memset(&fk, 0, sizeof fk);
	r = new_run(&fk, NULL, 0);
	for (i = 0; i < sizeof subst_rows / sizeof subst_rows[0]; i++) {
		const struct subst_row *row = &subst_rows[i];
		struct pm_words w;
		struct buf b = BUF_INIT;

		pm_words_init(&w);
		pm_subst(r, row->in, strlen(row->in), row->mode, &w);
		for (k = 0; k < w.n; k++) {
			if (k)
				buf_addc(&b, '|');
			buf_adds(&b, pm_word(&w, k));
		}
		is_str(b.data ? b.data : "", row->want, "subst row %zu: %s", i,
		    row->in);
		buf_free(&b);
		pm_words_free(&w);
	}
	/* "$@" is replaced by the arguments when the command runs */
	{
		struct pm_words w;

		pm_words_init(&w);
		pm_subst(r, "cmd \"$@\"", 8, PM_SUB_WORDS, &w);
		is_int(w.allargs, 1, "subst: \"$@\" marks word 1");
		pm_words_free(&w);
	}
	pm_run_free(&r);
	buf_free(&fk.log);
}

/* ---- runs ---- */

struct run_row {
	const char *name;
	const char *rc;
	int want_status;
	const char *want_log;	/* substring of the fake env's log */
	const char *var, *var_want;
};

static const struct run_row run_rows[] = {
	{ "header match delivers",
	  ":0:\n* ^Subject:.*hello\nfolderA\n:0\nfolderB\n", 0,
	  "lock folderA.lock;deliver folderA h", NULL, NULL },
	{ "continued header joined",
	  ":0\n* ^Subject: hello   world\njoined\n", 0,
	  "deliver joined", NULL, NULL },
	{ "no match: default",
	  ":0\n* ^Subject: nope\nfolderA\n", 0,
	  "lock /tmp/default-mbox.lock;deliver /tmp/default-mbox h", NULL, NULL },
	{ "body flag", ":0 B\n* ^line two\nbody\n", 0, "deliver body", NULL, NULL },
	{ "case sensitive D", ":0 D\n* ^subject\nx\n:0\ny\n", 0,
	  "deliver y", NULL, NULL },
	{ "negation and size", ":0\n* ! ^X-Nope\n* < 100000\n* > 10\nsz\n", 0,
	  "deliver sz", NULL, NULL },
	{ "carbon copy continues",
	  ":0 c\ncopy\n:0\nmain\n", 0, "deliver copy h", NULL, NULL },
	{ "h only",
	  ":0 h\nheads\n", 0, "deliver heads h", NULL, NULL },
	{ "A chaining", ":0\n* ^Subject:.*hello\n{ }\n:0 A\nchained\n", 0,
	  "deliver chained", NULL, NULL },
	{ "E else", ":0\n* ^X-Nope\nno\n:0 E\nelse\n", 0, "deliver else",
	  NULL, NULL },
	{ "E after match skipped", ":0 c\n* ^From:\nyes\n:0 E\nnot\n:0\nlast\n",
	  0, "deliver yes h", NULL, NULL },
	{ "e after failure", ":0 wc\n| false\n:0 e\nrescue\n", 0, "deliver rescue",
	  NULL, NULL },
	{ "pipe direct exec", ":0\n| formail -A \"X-A: b\"\n", 0,
	  "prog4 [formail] [-A] [X-A: b];", NULL, NULL },
	{ "pipe through shell", ":0\n| cat > /dev/null\n", 0,
	  "prog4 [/bin/sh] [-c] [ cat > /dev/null];", NULL, NULL },
	{ "pipe args", ":0\n| prog \"$@\"\n", 0,
	  "prog4 [prog] [first] [second];", NULL, NULL },
	{ "forward", ":0\n! a@b c@d\n", 0,
	  "prog5 [/usr/sbin/sendmail] [-oi] [a@b] [c@d];", NULL, NULL },
	{ "filter then deliver", ":0 fw\n| addhdr\n:0\n* ^X-Filtered: yes\nfiltered\n",
	  0, "deliver filtered", NULL, NULL },
	{ "capture", ":0\nV=| getit\n", 0, "prog2 [getit];", "V",
	  "captured\n" },
	{ "backquote assignment", "V=`hostname`\n", 0, "prog1 [hostname]", "V",
	  "out of hostname" },
	{ "MATCH", ":0\n* ^Subject: \\/.*\n{ }\n", 0, "deliver", "MATCH",
	  "hello   world" },
	{ "VAR ??", "X=abc\n:0\n* X ?? ^ab\nvarm\n", 0, "deliver varm", NULL, NULL },
	{ "weighted score", ":0 B\n* -1^0\n* 1^1 ^line\nscored\n", 0,
	  "deliver scored", "=", NULL },
	{ "weighted negative", ":0 B\n* -5^0\n* 1^1 ^line\nno\n:0\nyes\n", 0,
	  "deliver yes", NULL, NULL },
	{ "program condition", ":0\n* ? false\nno\n:0\n* ! ? false\nyes\n", 0,
	  "deliver yes", NULL, NULL },
	{ "dollar condition", "W=hello\n:0\n* $ ^Subject: $W\nyes\n", 0,
	  "deliver yes", NULL, NULL },
	{ "EXITCODE", "EXITCODE=77\n:0\n/dev/null\n", 77, "deliver /dev/null",
	  NULL, NULL },
	{ "failed delivery goes on", ":0\nnonexistent-dir/\n", 75,
	  "deliver nonexistent-dir/", NULL, NULL },
	{ "nested block delivers", ":0\n* ^From:.*alice\n{\n :0\n inner\n}\n"
	  ":0\nouter\n", 0, "deliver inner", NULL, NULL },
	/* a c clone is a process: the "clone" rows check the share file */
	{ "clone block", ":0 c\n{\n :0\n clone\n}\n:0\nparent\n", 0,
	  "deliver parent h", NULL, NULL },
	{ "clone falls off its block", ":0 c\n{\n X=1\n}\n:0\nparent\n", 0,
	  "deliver parent h", NULL, NULL },
	{ "clone in a dry run", ":0 c\n{\n :0\n clone\n}\n:0\nparent\n", 0,
	  "deliver clone h116 b18;deliver parent h", NULL, NULL },
	/* procmail feeds programs the message with an empty line at the
	 * end (the message held does not change); r: as it is */
	{ "program input ends in an empty line", ":0\n| prog\n", 0,
	  "prog4 [prog];", "=tail", "\n\n" },
	{ "raw program input", ":0 r\n| prog\n", 0, "prog4 [prog];",
	  "=tail", "o\n" },
	/* $? is the exit code of a program procmail waited for */
	{ "$? after w", ":0 wc\n| false\nR=$?\n", 0, "prog4 [false];", "R",
	  "1" },
	{ "$? not without w", ":0 c\n| false\nR=$?\n", 0, "prog4 [false];",
	  "R", "0" },
	{ "$? of a program not found", ":0 wc\n| nonexistent\nR=$?\n", 0,
	  "prog4 [nonexistent];", "R", "2" },
	/* a value that reaches $LINEBUF is not assigned */
	{ "LINEBUF overflow", "LINEBUF=128\nL=x\nL=$L$L$L$L$L$L$L$L$L$L"
	  "$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L"
	  "$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L"
	  "$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L"
	  "$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L$L\n",
	  0, "", "L", "x" },
	/* a MAILDIR that cannot be entered: procmail stays, MAILDIR=. */
	{ "MAILDIR not entered", "MAILDIR=/nonexistent/dir\n", 0, "",
	  "MAILDIR", "." },
	/* skip_bad_recipes (procmail's way): the bad ones go, with their
	 * compiled regexes (ASan/LSan builds check that nothing leaks) */
	{ "skip bad recipes", ":0\n* abc\n* < 12x\nf\n:0\n* ^Subject\n"
	  "* x(\n{\n:0\n* ^From\nin\n}\n:0\n* ^To\n\n:0\n* ^From\nok\n",
	  0, "deliver ok", NULL, NULL },
	{ "SHIFT", "SHIFT=1\nV=$1\n", 0, "", "V", "second" },
	{ "unset", "X=1\nX\n", 0, "", "X", NULL },
	{ "LASTFOLDER", ":0 c\nfolderZ\nV=$-\n", 0, "", "V", "folderZ" },
	{ "INCLUDERC missing", "INCLUDERC=/nonexistent/rc\n:0\nafter\n", 0,
	  "deliver after", NULL, NULL },
	{ "SWITCHRC unset ends the file", "SWITCHRC\n:0\nnever\n", 0,
	  "deliver /tmp/default-mbox", NULL, NULL },
	{ "HOST mismatch stops", "HOST=no.such.host.invalid\n:0\nnever\n", 0,
	  "", NULL, NULL },
	{ "TRAP and EXITCODE", "TRAP=false\nEXITCODE=\n:0\n/dev/null\n", 1,
	  "prog6 [false]", NULL, NULL },
};

static void
test_runs(void)
{
	size_t i;

	for (i = 0; i < sizeof run_rows / sizeof run_rows[0]; i++) {
		const struct run_row *row = &run_rows[i];
		char path[] = "/tmp/test-procmailrc-XXXXXX";
		struct fake fk;
		struct pm_run *r;
		struct pm_diags d;
		struct err e;
		int fd, st, rc;

		memset(&fk, 0, sizeof fk);
		if (strcmp(row->name, "failed delivery goes on") == 0)
			fk.fail_deliver = 1;
		fd = mkstemp(path);
		if (fd == -1 || write(fd, row->rc, strlen(row->rc)) == -1) {
			ok(0, "run %s: scratch file", row->name);
			continue;
		}
		close(fd);
		fk.share_fd = -1;
		if (strncmp(row->name, "clone", 5) == 0 &&
		    strstr(row->name, "dry") == NULL) {
			char share[] = "/tmp/test-procmailrc-share-XXXXXX";

			fk.share_fd = mkstemp(share);
			if (fk.share_fd != -1)
				unlink(share);
		}
		r = new_run(&fk, NULL, 0);
		if (strstr(row->name, "dry run") != NULL)
			r->conf.dry_run = 1;
		if (strcmp(row->name, "skip bad recipes") == 0)
			r->conf.skip_bad_recipes = 1;
		pm_diags_init(&d);
		err_clear(&e);
		/* nothing printed before pm_run_finish(): a c clone runs
		 * up to there and ends in it */
		rc = pm_run_file(r, path, &d, &e);
		st = pm_run_finish(r, &e);
		ok(rc >= 0, "run %s: file ran (%s)", row->name,
		    d.text.data ? d.text.data : e.msg);
		is_int(st, row->want_status, "run %s: status", row->name);
		ok(strstr(fk.log.data ? fk.log.data : "", row->want_log) != NULL,
		    "run %s: env log", row->name);
		if (strstr(fk.log.data ? fk.log.data : "", row->want_log) == NULL)
			diag("log: %s", fk.log.data ? fk.log.data : "");
		if (row->var != NULL && strcmp(row->var, "=tail") == 0)
			is_str(fk.in_tail, row->var_want, "run %s: input end",
			    row->name);
		else if (row->var != NULL && strcmp(row->var, "=") != 0)
			is_str(pm_run_var(r, row->var), row->var_want,
			    "run %s: $%s", row->name, row->var);
		if (strcmp(row->name, "carbon copy continues") == 0)
			ok(strstr(fk.log.data, "deliver main") != NULL,
			    "run %s: main too", row->name);
		if (fk.share_fd > 0) {
			char got[512];
			ssize_t n = pread(fk.share_fd, got, sizeof got - 1, 0);
			/* the clone's deliveries, then the parent's */
			const char *want = strcmp(row->name, "clone block") == 0 ?
			    "deliver clone;deliver parent;" :
			    "deliver parent;deliver parent;";

			got[n > 0 ? n : 0] = '\0';
			is_str(got, want, "run %s: clone and parent", row->name);
			close(fk.share_fd);
		}
		if (strcmp(row->name, "E after match skipped") == 0)
			ok(strstr(fk.log.data, "deliver not") == NULL &&
			    strstr(fk.log.data, "deliver last") != NULL,
			    "run %s: E skipped", row->name);
		if (strcmp(row->name, "weighted score") == 0)
			ok(r->lastscore == 1, "run %s: $= is 1 (got %ld)",
			    row->name, r->lastscore);
		pm_diags_free(&d);
		pm_run_free(&r);
		buf_free(&fk.log);
		unlink(path);
	}
}

int
main(void)
{
	test_parser();
	test_subst();
	test_runs();
	return tap_done();
}
