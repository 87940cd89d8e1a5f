/*
 * test-exec.c - the executor: action list in, Maildir/mbox state out.
 * Each row is a list of actions, the expected return and error class, and
 * the expected contents of the folders afterwards.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver/deliver.h"
#include "store/store.h"
#include "lib/log.h"
#include "tap.h"

static const char message[] =
    "From: a@example.org\nTo: b@example.net\nSubject: test\n\nbody\n";

struct act {
	enum act_type type;
	const char *arg;
	unsigned flags;
	int create, subscribe, copy;
	const char *kw;		/* one keyword or NULL */
};

/* Expected files: "folder:sub:suffix" e.g. "INBOX:new:" or
 * "Work:cur::2,FS" (suffix after W=...). */
struct row {
	const char *name;
	int nacts;
	struct act acts[4];
	int autocreate;
	const char *setup;	/* "brokenWork", "keywords", "nonew:X" */
	int ret;
	enum err_class cls;
	const char *want[4];	/* expected files, NULL-terminated */
	enum act_status st0;	/* status of the first action */
	const char *subscribed;	/* expected subscriptions content check */
};

static const struct row rows[] = {
	{ "implicit keep", 0, { { 0 } }, 1, NULL, 0, ERR_NONE,
	  { "INBOX:new:", NULL }, ACT_PENDING, NULL },
	{ "keep", 1, { { ACT_KEEP, NULL, 0, 0, 0, 0, NULL } }, 1, NULL, 0,
	  ERR_NONE, { "INBOX:new:", NULL }, ACT_DONE, NULL },
	{ "fileinto", 1, { { ACT_FILEINTO, "Work", 0, 0, 0, 0, NULL } }, 1,
	  NULL, 0, ERR_NONE, { "Work:new:", NULL }, ACT_DONE, NULL },
	{ "fileinto flags", 1, { { ACT_FILEINTO, "Work",
	  FLAG_SEEN | FLAG_FLAGGED, 0, 0, 0, NULL } }, 1, NULL, 0, ERR_NONE,
	  { "Work:cur::2,FS", NULL }, ACT_DONE, NULL },
	{ "keep flags", 1, { { ACT_KEEP, NULL, FLAG_SEEN | FLAG_ANSWERED |
	  FLAG_DRAFT | FLAG_DELETED, 0, 0, 0, NULL } }, 1, NULL, 0, ERR_NONE,
	  { "INBOX:cur::2,DRST", NULL }, ACT_DONE, NULL },
	{ "fileinto + keep", 2, { { ACT_FILEINTO, "Work", 0, 0, 0, 0, NULL },
	  { ACT_KEEP, NULL, 0, 0, 0, 0, NULL } }, 1, NULL, 0, ERR_NONE,
	  { "Work:new:", "INBOX:new:", NULL }, ACT_DONE, NULL },
	{ "fileinto twice is once", 2, { { ACT_FILEINTO, "Work", 0, 0, 0, 0,
	  NULL }, { ACT_FILEINTO, "Work", 0, 0, 0, 0, NULL } }, 1, NULL, 0,
	  ERR_NONE, { "Work:new:", NULL }, ACT_DONE, NULL },
	{ "fileinto :copy keeps", 1, { { ACT_FILEINTO, "Work", 0, 0, 0, 1,
	  NULL } }, 1, NULL, 0, ERR_NONE, { "Work:new:", "INBOX:new:", NULL },
	  ACT_DONE, NULL },
	{ "discard", 1, { { ACT_DISCARD, NULL, 0, 0, 0, 0, NULL } }, 1, NULL, 0,
	  ERR_NONE, { NULL }, ACT_DONE, NULL },
	{ "deep flat folder", 1, { { ACT_FILEINTO, "Archive.2026.Q4", 0, 0, 0,
	  0, NULL } }, 1, NULL, 0, ERR_NONE, { "Archive.2026.Q4:new:", NULL },
	  ACT_DONE, NULL },
	{ "bad name falls back to INBOX", 1, { { ACT_FILEINTO, "a/b", 0, 0, 0,
	  0, NULL } }, 1, NULL, 0, ERR_NONE, { "INBOX:new:", NULL },
	  ACT_FAILED, NULL },
	/* Pigeonhole: one failed store rolls the whole result back to the
	 * implicit keep; the good fileinto is not carried out. */
	{ "failed fileinto rolls back the others", 2, { { ACT_FILEINTO, "Work",
	  0, 0, 0, 0, NULL }, { ACT_FILEINTO, "a/b", 0, 0, 0, 0, NULL } }, 1,
	  NULL, 0, ERR_NONE, { "INBOX:new:", NULL }, ACT_SKIPPED, NULL },
	{ "missing folder, no autocreate", 1, { { ACT_FILEINTO, "Nope", 0, 0,
	  0, 0, NULL } }, 0, NULL, 0, ERR_NONE, { "INBOX:new:", NULL },
	  ACT_FAILED, NULL },
	{ "missing folder, :create", 1, { { ACT_FILEINTO, "Made", 0, 1, 0, 0,
	  NULL } }, 0, NULL, 0, ERR_NONE, { "Made:new:", NULL }, ACT_DONE,
	  "-Made" },
	{ "-m style subscribes", 1, { { ACT_FILEINTO, "Lists.x", 0, 0, 1, 0,
	  NULL } }, 1, NULL, 0, ERR_NONE, { "Lists.x:new:", NULL }, ACT_DONE,
	  "+Lists\tx" },
	{ "ereject", 1, { { ACT_EREJECT, "go away", 0, 0, 0, 0, NULL } }, 1,
	  NULL, -1, ERR_PERM, { NULL }, ACT_DONE, NULL },
	{ "bad redirect address keeps", 1, { { ACT_REDIRECT, "not an address",
	  0, 0, 0, 0, NULL } }, 1, NULL, 0, ERR_NONE, { "INBOX:new:", NULL },
	  ACT_FAILED, NULL },
	{ "keyword mapped", 1, { { ACT_FILEINTO, "Work", FLAG_SEEN, 0, 0, 0,
	  "$Junk" } }, 1, "keywords", 0, ERR_NONE, { "Work:cur::2,Sb", NULL },
	  ACT_DONE, NULL },
	{ "keyword unmapped skipped", 1, { { ACT_FILEINTO, "Work", 0, 0, 0, 0,
	  "NotThere" } }, 1, "keywords", 0, ERR_NONE, { "Work:new:", NULL },
	  ACT_DONE, NULL },
	{ "failure rolls back", 2, { { ACT_KEEP, NULL, 0, 0, 0, 0, NULL },
	  { ACT_FILEINTO, "Broken", 0, 0, 0, 0, NULL } }, 1, "broken", -1,
	  ERR_TEMP, { NULL }, ACT_FAILED, NULL },
};

static char root[256];
static char fake_sendmail[300];	/* records argv and stdin (setup_fake) */
static char fake_dir[128];

static void
rm_rf(const char *path)
{
	char cmd[512];

	(void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		diag("cannot remove %s", path);
}

/* Count files in dir (folder sub) whose names end like suffix. */
static int
count_files(const char *folder, const char *sub, const char *suffix,
    char *found, size_t foundsz)
{
	char dir[512];
	struct dirent *de;
	DIR *dp;
	int n = 0;

	if (!strcmp(folder, "INBOX"))
		(void)snprintf(dir, sizeof dir, "%s/%s", root, sub);
	else
		(void)snprintf(dir, sizeof dir, "%s/.%s/%s", root, folder, sub);
	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL) {
		const char *w;

		if (de->d_name[0] == '.')
			continue;
		n++;
		(void)snprintf(found, foundsz, "%s", de->d_name);
		/* the part after ",W=<digits>" must equal suffix */
		if ((w = strstr(de->d_name, ",W=")) != NULL) {
			w += 3;
			while (*w >= '0' && *w <= '9')
				w++;
			if (strcmp(w, suffix) != 0)
				n += 1000;	/* wrong suffix: fail loudly */
		}
	}
	closedir(dp);
	return n;
}

static int
total_files(void)
{
	char cmd[512], line[64];
	FILE *fp;
	int n = -1;

	(void)snprintf(cmd, sizeof cmd, "find '%s' -path '*/new/*' -type f "
	    "-o -path '*/cur/*' -type f | wc -l", root);
	if ((fp = popen(cmd, "r")) != NULL) {
		if (fgets(line, sizeof line, fp) != NULL)
			n = atoi(line);
		pclose(fp);
	}
	return n;
}

static void
setup(const char *what)
{
	char path[512];
	struct err e;
	FILE *fp;

	if (what == NULL)
		return;
	if (!strcmp(what, "keywords")) {
		(void)snprintf(path, sizeof path, "%s/.Work", root);
		(void)maildir_make(path, 1, &e);
		(void)snprintf(path, sizeof path, "%s/.Work/dovecot-keywords",
		    root);
		if ((fp = fopen(path, "w")) != NULL) {
			fputs("0 NonJunk\n1 $Junk\n", fp);
			fclose(fp);
		}
	} else if (!strcmp(what, "broken")) {
		/* A folder whose new/ is a file: rename into it fails. */
		(void)snprintf(path, sizeof path, "%s/.Broken", root);
		(void)maildir_make(path, 1, &e);
		(void)snprintf(path, sizeof path, "%s/.Broken/new", root);
		(void)rmdir(path);
		if ((fp = fopen(path, "w")) != NULL)
			fclose(fp);
	}
}

static void
run_row(size_t i, const struct row *r)
{
	struct deliver_ctx d;
	struct action_list l;
	struct err e;
	char msgpath[512], found[512], subs[1024];
	int in, ret, k, want_total = 0;

	rm_rf(root);
	if (mkdir(root, 0700) == -1)
		diag("mkdir %s: %s", root, strerror(errno));
	setup(r->setup);
	memset(&d, 0, sizeof d);
	d.root = root;
	d.sep = '.';
	d.autocreate = r->autocreate;
	d.autosubscribe = 0;
	d.host = "test.example";
	d.sender = "a@example.org";
	d.sendmail_path = fake_sendmail;
	d.msg = msg_new();
	err_clear(&e);
	if (deliver_spool_open(&d, &e) == -1) {
		ok(0, "row %zu %s: spool open: %s", i, r->name, e.msg);
		msg_free(&d.msg);
		return;
	}
	(void)snprintf(msgpath, sizeof msgpath, "%s.msg", root);
	{
		FILE *fp = fopen(msgpath, "w");

		fputs(message, fp);
		fclose(fp);
	}
	in = open(msgpath, O_RDONLY);
	if (msg_spool(d.msg, in, d.spool_fd, &e) == -1)
		diag("spool: %s", e.msg);
	close(in);
	unlink(msgpath);

	actions_init(&l);
	for (k = 0; k < r->nacts; k++) {
		const struct act *x = &r->acts[k];
		struct action *a;

		a = actions_add(&l, x->type, x->arg, "test");
		a->flags = x->flags;
		a->create = x->create;
		a->subscribe = x->subscribe;
		if (x->copy) {
			a->copy = 1;
			l.implicit_keep = 1;
		}
		if (x->kw != NULL) {
			const char *kw[2] = { x->kw, NULL };

			action_set_keywords(a, kw);
		}
	}
	ret = deliver_run(&d, &l, &e);
	deliver_spool_close(&d);
	is_int(ret, r->ret, "row %zu %s: return (%s)", i, r->name,
	    e.cls != ERR_NONE ? e.msg : "no error");
	is_int(e.cls, r->cls, "row %zu %s: error class", i, r->name);
	if (r->st0 != ACT_PENDING)
		is_str(action_status_name(l.n > 0 ? l.v[0].status :
		    ACT_PENDING), action_status_name(r->st0),
		    "row %zu %s: first action status", i, r->name);
	for (k = 0; k < 4 && r->want[k] != NULL; k++) {
		char folder[128], sub[8];
		const char *suffix;

		(void)sscanf(r->want[k], "%127[^:]:%7[^:]:", folder, sub);
		suffix = strchr(strchr(r->want[k], ':') + 1, ':') + 1;
		found[0] = '\0';
		is_int(count_files(folder, sub, suffix, found, sizeof found),
		    1, "row %zu %s: one message in %s/%s ending \"%s\" (%s)",
		    i, r->name, folder, sub, suffix, found);
		want_total++;
	}
	is_int(total_files(), want_total, "row %zu %s: %d message(s) in all",
	    i, r->name, want_total);
	if (r->subscribed != NULL) {
		FILE *fp;
		size_t n = 0;

		(void)snprintf(msgpath, sizeof msgpath, "%s/subscriptions",
		    root);
		subs[0] = '\0';
		if ((fp = fopen(msgpath, "r")) != NULL) {
			n = fread(subs, 1, sizeof subs - 1, fp);
			fclose(fp);
		}
		subs[n] = '\0';
		if (r->subscribed[0] == '+')
			ok(strstr(subs, r->subscribed + 1) != NULL,
			    "row %zu %s: subscribed", i, r->name);
		else
			ok(strstr(subs, r->subscribed + 1) == NULL,
			    "row %zu %s: not subscribed", i, r->name);
	}
	/* tmp/ of INBOX must be empty after every outcome. */
	found[0] = '\0';
	is_int(count_files("INBOX", "tmp", "", found, sizeof found), 0,
	    "row %zu %s: INBOX tmp/ empty (%s)", i, r->name, found);
	actions_free(&l);
	msg_free(&d.msg);
}

/* ---- a fake state store (the real one is not linked here) ---- */

struct store {
	int down;
	char keys[8][512];
	long ttls[8];
	int n;
};

static struct store fake_store;

int
store_get(struct store *s, struct span key, struct buf *val_out,
    struct err *e)
{
	int i;

	if (s->down)
		return err_set(e, ERR_TEMP, "store down");
	for (i = 0; i < s->n; i++)
		if (strlen(s->keys[i]) == key.len &&
		    memcmp(s->keys[i], key.p, key.len) == 0) {
			buf_adds(val_out, "1");
			return 1;
		}
	return 0;
}

int
store_set(struct store *s, struct span key, struct span val, long ttl,
    struct err *e)
{
	(void)val;
	if (s->down)
		return err_set(e, ERR_TEMP, "store down");
	if (s->n < 8 && key.len < sizeof s->keys[0]) {
		memcpy(s->keys[s->n], key.p, key.len);
		s->keys[s->n][key.len] = '\0';
		s->ttls[s->n++] = ttl;
	}
	return 0;
}

/* The fake sendmail: call N writes fake_dir/args.N (one argument per
 * line) and fake_dir/msg.N (its stdin), and exits with the number in
 * fake_dir/exit if that exists. */
static void
setup_fake(void)
{
	FILE *fp;

	(void)snprintf(fake_dir, sizeof fake_dir, "/tmp/test-exec-sm.%ld",
	    (long)getpid());
	mkdir(fake_dir, 0700);
	(void)snprintf(fake_sendmail, sizeof fake_sendmail, "%s/sendmail",
	    fake_dir);
	fp = fopen(fake_sendmail, "w");
	fprintf(fp, "#!/bin/sh\nd='%s'\nn=0\n"
	    "while [ -e \"$d/args.$n\" ]; do n=$((n+1)); done\n"
	    "for a in \"$@\"; do printf '%%s\\n' \"$a\"; done > \"$d/args.$n\"\n"
	    "cat > \"$d/msg.$n\"\n"
	    "if [ -e \"$d/exit\" ]; then exit $(cat \"$d/exit\"); fi\n"
	    "exit 0\n", fake_dir);
	fclose(fp);
	chmod(fake_sendmail, 0755);
}

static void
reset_fake(int exit_code)
{
	char cmd[700];
	FILE *fp;

	(void)snprintf(cmd, sizeof cmd, "rm -f '%s'/args.* '%s'/msg.* "
	    "'%s'/exit '%s'/piped", fake_dir, fake_dir, fake_dir, fake_dir);
	if (system(cmd) != 0)
		diag("reset failed");
	if (exit_code != 0) {
		(void)snprintf(cmd, sizeof cmd, "%s/exit", fake_dir);
		fp = fopen(cmd, "w");
		fprintf(fp, "%d\n", exit_code);
		fclose(fp);
	}
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *p;
	size_t n;
	long len;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	p = malloc((size_t)len + 1);
	n = fread(p, 1, (size_t)len, fp);
	p[n] = '\0';
	fclose(fp);
	return p;
}

/* Call n's argv ("a|b|c") and stdin, or NULL when there was no call n. */
static char *
call_args(int n)
{
	char path[400], *p, *q;

	(void)snprintf(path, sizeof path, "%s/args.%d", fake_dir, n);
	if ((p = slurp(path)) == NULL)
		return NULL;
	for (q = p; *q != '\0'; q++)
		if (*q == '\n')
			*q = q[1] == '\0' ? '\0' : '|';
	return p;
}

static char *
call_msg(int n)
{
	char path[400];

	(void)snprintf(path, sizeof path, "%s/msg.%d", fake_dir, n);
	return slurp(path);
}

static const char msg2[] =
    "Return-Path: <a@example.org>\n"
    "Delivered-To: me@example.net\n"
    "X-Sieve: other\n"
    "From: A <a@example.org>\n"
    "To: me@example.net\n"
    "Subject: hello\n"
    "Message-ID: <id1@example.org>\n"
    "\n"
    "body line\n";

/* A fresh Maildir and a context with msg spooled; the caller adds
 * actions and calls xrun(). */
static void
xopen(struct deliver_ctx *d, const char *msg)
{
	char path[512];
	struct err e;
	FILE *fp;
	int in;

	rm_rf(root);
	mkdir(root, 0700);
	memset(d, 0, sizeof *d);
	d->root = root;
	d->sep = '.';
	d->autocreate = 1;
	d->host = "test.example";
	d->sender = "a@example.org";
	d->recipient = "me@example.net";
	d->sendmail_path = fake_sendmail;
	d->postmaster_address = "postmaster@example.net";
	d->msg = msg_new();
	d->spool_fd = -1;
	if (deliver_spool_open(d, &e) == -1)
		diag("spool open: %s", e.msg);
	(void)snprintf(path, sizeof path, "%s.msg", root);
	fp = fopen(path, "w");
	fputs(msg, fp);
	fclose(fp);
	in = open(path, O_RDONLY);
	if (msg_spool(d->msg, in, d->spool_fd, &e) == -1)
		diag("spool: %s", e.msg);
	close(in);
	unlink(path);
}

static int
xrun(struct deliver_ctx *d, struct action_list *l, struct err *e)
{
	int ret;

	err_clear(e);
	ret = deliver_run(d, l, e);
	deliver_spool_close(d);
	return ret;
}

/* The one stored message under root (any folder), or NULL. */
static char *
stored_file(char *name, size_t size)
{
	char cmd[600], line[512];
	FILE *fp;
	char *p = NULL;

	(void)snprintf(cmd, sizeof cmd, "find '%s' -path '*/new/*' -type f "
	    "-o -path '*/cur/*' -type f", root);
	if ((fp = popen(cmd, "r")) != NULL) {
		if (fgets(line, sizeof line, fp) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			(void)snprintf(name, size, "%s", line);
			p = slurp(line);
		}
		pclose(fp);
	}
	return p;
}

static void
test_redirect(void)
{
	struct deliver_ctx d;
	struct action_list l;
	struct err e;
	char *args, *m;

	/* redirect: sendmail argv, envelope, trace header, bytes */
	reset_fake(0);
	xopen(&d, msg2);
	actions_init(&l);
	actions_add(&l, ACT_REDIRECT, "x@example.com", "test");
	is_int(xrun(&d, &l, &e), 0, "redirect: ok (%s)", e.msg);
	args = call_args(0);
	is_str(args, "-i|-f|a@example.org|--|x@example.com",
	    "redirect: argv, envelope from the original sender");
	m = call_msg(0);
	is_str(m, "X-Sieve: sluice\n"
	    "X-Sieve-Redirected-From: me@example.net\n"
	    "Delivered-To: me@example.net\n"
	    "From: A <a@example.org>\n"
	    "To: me@example.net\n"
	    "Subject: hello\n"
	    "Message-ID: <id1@example.org>\n"
	    "\n"
	    "body line\n", "redirect: Return-Path/X-Sieve dropped, trace "
	    "prepended, rest as stored");
	is_int(l.v[0].status, ACT_DONE, "redirect: done");
	is_int(total_files(), 0, "redirect: nothing stored");
	ok(call_args(1) == NULL, "redirect: one call");
	free(args);
	free(m);
	actions_free(&l);
	msg_free(&d.msg);

	/* permanent failure: the message is kept */
	reset_fake(1);
	xopen(&d, msg2);
	actions_init(&l);
	actions_add(&l, ACT_REDIRECT, "x@example.com", "test");
	is_int(xrun(&d, &l, &e), 0, "redirect failure: delivered");
	is_int(l.v[0].status, ACT_FAILED, "redirect failure: failed");
	is_int(total_files(), 1, "redirect failure: kept in INBOX");
	ok(l.n == 2 && l.v[1].type == ACT_KEEP && l.v[1].status == ACT_DONE,
	    "redirect failure: fallback keep recorded");
	actions_free(&l);
	msg_free(&d.msg);

	/* temporary failure, nothing stored or sent: exit 75, retry */
	reset_fake(75);
	xopen(&d, msg2);
	actions_init(&l);
	actions_add(&l, ACT_REDIRECT, "x@example.com", "test");
	is_int(xrun(&d, &l, &e), -1, "redirect tempfail: deferred");
	is_int(e.cls, ERR_TEMP, "redirect tempfail: ERR_TEMP");
	is_int(total_files(), 0, "redirect tempfail: nothing stored");
	actions_free(&l);
	msg_free(&d.msg);

	/* temporary failure after a store: no retry (no duplicate) */
	reset_fake(75);
	xopen(&d, msg2);
	actions_init(&l);
	actions_add(&l, ACT_REDIRECT, "x@example.com", "test")->copy = 1;
	l.implicit_keep = 1;
	is_int(xrun(&d, &l, &e), 0, "redirect :copy tempfail: delivered");
	is_int(total_files(), 1, "redirect :copy tempfail: the kept copy only");
	actions_free(&l);
	msg_free(&d.msg);

	/* loop: the target already had the message (Delivered-To) */
	reset_fake(0);
	xopen(&d, msg2);
	actions_init(&l);
	actions_add(&l, ACT_REDIRECT, "ME@example.net", "test");
	is_int(xrun(&d, &l, &e), 0, "redirect loop: delivered");
	ok(call_args(0) == NULL, "redirect loop: not sent");
	is_int(total_files(), 1, "redirect loop: kept");
	actions_free(&l);
	msg_free(&d.msg);

	/* duplicate tracking through the store */
	reset_fake(0);
	memset(&fake_store, 0, sizeof fake_store);
	xopen(&d, msg2);
	d.store = &fake_store;
	actions_init(&l);
	actions_add(&l, ACT_REDIRECT, "x@example.com", "test");
	(void)xrun(&d, &l, &e);
	actions_free(&l);
	msg_free(&d.msg);
	ok(fake_store.n == 1 && fake_store.ttls[0] == 12 * 3600,
	    "redirect: remembered for 12 hours");
	xopen(&d, msg2);
	d.store = &fake_store;
	actions_init(&l);
	actions_add(&l, ACT_REDIRECT, "x@example.com", "test");
	is_int(xrun(&d, &l, &e), 0, "redirect duplicate: ok");
	is_int(l.v[0].status, ACT_SKIPPED, "redirect duplicate: skipped");
	ok(call_args(1) == NULL, "redirect duplicate: not sent again");
	actions_free(&l);
	msg_free(&d.msg);
}

static void
test_reject(void)
{
	struct deliver_ctx d;
	struct action_list l;
	struct err e;
	char *args, *m;

	reset_fake(0);
	xopen(&d, msg2);
	actions_init(&l);
	actions_add(&l, ACT_REJECT, "I do not want this", "test");
	is_int(xrun(&d, &l, &e), 0, "reject: ok (%s)", e.msg);
	args = call_args(0);
	is_str(args, "-i|-f|<>|--|a@example.org",
	    "reject: MDN to the sender, from <>");
	m = call_msg(0);
	ok(m != NULL && strstr(m, "\nTo: <a@example.org>\n") != NULL,
	    "reject: To the sender");
	ok(m != NULL && strstr(m, "From: Postmaster "
	    "<postmaster@example.net>\n") != NULL, "reject: From postmaster");
	/* Pigeonhole's (ext-reject): a fixed Subject, no In-Reply-To */
	ok(m != NULL && strstr(m, "\nSubject: Automatically rejected mail\n")
	    != NULL, "reject: Subject as Pigeonhole's");
	ok(m != NULL && strstr(m, "\nIn-Reply-To:") == NULL,
	    "reject: no In-Reply-To, as Pigeonhole");
	ok(m != NULL && strstr(m, "Content-Type: multipart/report; "
	    "report-type=disposition-notification;") != NULL,
	    "reject: multipart/report");
	ok(m != NULL && strstr(m, "Auto-Submitted: auto-replied") != NULL,
	    "reject: auto-submitted");
	ok(m != NULL && strstr(m, "Content-Type: message/disposition-"
	    "notification\n\nReporting-UA: test.example; sluice\n") != NULL,
	    "reject: disposition part");
	ok(m != NULL && strstr(m, "Final-Recipient: rfc822; me@example.net\n")
	    != NULL, "reject: final recipient");
	ok(m != NULL && strstr(m, "Disposition: automatic-action/MDN-sent-"
	    "automatically; deleted\n") != NULL, "reject: disposition");
	ok(m != NULL && strstr(m, "I do not want this\n") != NULL,
	    "reject: the reason");
	ok(m != NULL && strstr(m, "Content-Type: message/rfc822\n\n"
	    "Return-Path: <a@example.org>\n") != NULL,
	    "reject: the original attached");
	ok(m != NULL && strstr(m, "body line\n\n--") != NULL,
	    "reject: closing boundary");
	is_int(total_files(), 0, "reject: nothing stored");
	free(args);
	free(m);
	actions_free(&l);
	msg_free(&d.msg);

	/* never to <> */
	reset_fake(0);
	xopen(&d, msg2);
	d.sender = "";
	actions_init(&l);
	actions_add(&l, ACT_REJECT, "no", "test");
	is_int(xrun(&d, &l, &e), 0, "reject <>: ok");
	ok(call_args(0) == NULL, "reject <>: no MDN sent");
	is_int(l.v[0].status, ACT_SKIPPED, "reject <>: skipped");
	is_int(total_files(), 0, "reject <>: nothing stored");
	actions_free(&l);
	msg_free(&d.msg);
}

static void
test_vacation(void)
{
	struct deliver_ctx d;
	struct action_list l;
	struct action *a;
	struct err e;
	char *args, *m;

	reset_fake(0);
	memset(&fake_store, 0, sizeof fake_store);
	xopen(&d, msg2);
	d.store = &fake_store;
	actions_init(&l);
	l.implicit_keep = 1;
	a = actions_add(&l, ACT_VACATION, "I am away.", "test");
	a->to = strdup("a@example.org");
	a->handle = strdup("vacation:me@example.net:a@example.org:h1");
	a->period = 3 * 86400;
	is_int(xrun(&d, &l, &e), 0, "vacation: ok (%s)", e.msg);
	args = call_args(0);
	is_str(args, "-i|-f|<>|--|a@example.org",
	    "vacation: to the sender, envelope <>");
	m = call_msg(0);
	ok(m != NULL && strstr(m, "\nAuto-Submitted: auto-replied "
	    "(vacation)\n") != NULL, "vacation: Auto-Submitted");
	ok(m != NULL && strstr(m, "\nIn-Reply-To: <id1@example.org>\n") !=
	    NULL, "vacation: In-Reply-To");
	ok(m != NULL && strstr(m, "\nReferences: <id1@example.org>\n") !=
	    NULL, "vacation: References");
	ok(m != NULL && strstr(m, "\nSubject: Auto: hello\n") != NULL,
	    "vacation: Subject Auto:");
	ok(m != NULL && strstr(m, "\nFrom: <me@example.net>\n") != NULL,
	    "vacation: From the recipient");
	ok(m != NULL && strstr(m, "\nTo: <a@example.org>\n") != NULL,
	    "vacation: To");
	ok(m != NULL && strstr(m, "\nDate: ") != NULL &&
	    strstr(m, "\nMessage-ID: <") != NULL, "vacation: Date, Message-ID");
	ok(m != NULL && strstr(m, "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 7bit\n\nI am away.\n") != NULL,
	    "vacation: text body");
	is_int(total_files(), 1, "vacation: message kept");
	ok(fake_store.n == 1 && strcmp(fake_store.keys[0], a->handle) == 0 &&
	    fake_store.ttls[0] == 3 * 86400, "vacation: handle remembered "
	    "for the period");
	free(args);
	free(m);
	actions_free(&l);
	msg_free(&d.msg);

	/* the second time within the period: no reply */
	xopen(&d, msg2);
	d.store = &fake_store;
	actions_init(&l);
	a = actions_add(&l, ACT_VACATION, "I am away.", "test");
	a->to = strdup("a@example.org");
	a->handle = strdup("vacation:me@example.net:a@example.org:h1");
	(void)xrun(&d, &l, &e);
	is_int(l.v[0].status, ACT_SKIPPED, "vacation again: skipped");
	ok(call_args(1) == NULL, "vacation again: not sent");
	actions_free(&l);
	msg_free(&d.msg);

	/* no store, or the store down: no reply (no storms) */
	reset_fake(0);
	xopen(&d, msg2);
	actions_init(&l);
	a = actions_add(&l, ACT_VACATION, "x", "test");
	a->to = strdup("a@example.org");
	(void)xrun(&d, &l, &e);
	is_int(l.v[0].status, ACT_SKIPPED, "vacation no store: skipped");
	ok(call_args(0) == NULL, "vacation no store: not sent");
	actions_free(&l);
	msg_free(&d.msg);
	fake_store.down = 1;
	xopen(&d, msg2);
	d.store = &fake_store;
	actions_init(&l);
	a = actions_add(&l, ACT_VACATION, "x", "test");
	a->to = strdup("a@example.org");
	a->handle = strdup("other");
	(void)xrun(&d, &l, &e);
	is_int(l.v[0].status, ACT_SKIPPED, "vacation store down: skipped");
	ok(call_args(0) == NULL, "vacation store down: not sent");
	actions_free(&l);
	msg_free(&d.msg);
	fake_store.down = 0;

	/* non-ASCII subject and body: encoded */
	reset_fake(0);
	memset(&fake_store, 0, sizeof fake_store);
	xopen(&d, msg2);
	d.store = &fake_store;
	actions_init(&l);
	a = actions_add(&l, ACT_VACATION, "Bient\xc3\xb4t", "test");
	a->to = strdup("a@example.org");
	a->subject = strdup("Absent \xc3\xa9t\xc3\xa9");
	(void)xrun(&d, &l, &e);
	m = call_msg(0);
	ok(m != NULL && strstr(m, "\nSubject: =?utf-8?q?Absent_=C3=A9t=C3=A9?="
	    "\n") != NULL, "vacation: RFC 2047 subject");
	ok(m != NULL && strstr(m, "Content-Transfer-Encoding: quoted-printable"
	    "\n\nBient=C3=B4t\n") != NULL, "vacation: QP body");
	free(m);
	actions_free(&l);
	msg_free(&d.msg);
}

static void
test_notify(void)
{
	struct deliver_ctx d;
	struct action_list l;
	struct action *a;
	struct err e;
	char *args, *m;

	reset_fake(0);
	xopen(&d, msg2);
	actions_init(&l);
	l.implicit_keep = 1;
	a = actions_add(&l, ACT_NOTIFY,
	    "mailto:n@example.com?cc=c@example.com&subject=New%20mail", "test");
	a->value = strdup("You have mail");
	is_int(xrun(&d, &l, &e), 0, "notify: ok");
	args = call_args(0);
	/* Pigeonhole: envelope sender :from, else postmaster_address */
	is_str(args, "-i|-f|postmaster@example.net|--|n@example.com|c@example.com",
	    "notify: recipients from the URI, envelope postmaster");
	m = call_msg(0);
	/* RFC 5436 2.7: owner-email names the script's owner */
	ok(m != NULL && strstr(m, "\nAuto-Submitted: auto-notified; "
	    "owner-email=\"me@example.net\"\n") != NULL,
	    "notify: Auto-Submitted");
	ok(m != NULL && strstr(m, "\nSubject: New mail\n") != NULL,
	    "notify: subject from the URI");
	ok(m != NULL && strstr(m, "\nFrom: Postmaster "
	    "<postmaster@example.net>\n") != NULL, "notify: From postmaster");
	ok(m != NULL && strstr(m, "\nCc: c@example.com\n") != NULL,
	    "notify: Cc");
	ok(m != NULL && strstr(m, "\n\nYou have mail\n") != NULL,
	    "notify: message");
	is_int(total_files(), 1, "notify: message kept");
	free(args);
	free(m);
	actions_free(&l);
	msg_free(&d.msg);

	/* Pigeonhole: :from is the From (as written) and the envelope */
	reset_fake(0);
	xopen(&d, msg2);
	actions_init(&l);
	l.implicit_keep = 1;
	a = actions_add(&l, ACT_NOTIFY, "mailto:n@example.com", "test");
	a->from = strdup("alerts@example.org");
	is_int(xrun(&d, &l, &e), 0, "notify :from: ok");
	args = call_args(0);
	is_str(args, "-i|-f|alerts@example.org|--|n@example.com",
	    "notify :from: envelope sender");
	m = call_msg(0);
	ok(m != NULL && strstr(m, "\nFrom: alerts@example.org\n") != NULL &&
	    strstr(m, "\nTo: n@example.com\n") != NULL,
	    "notify :from: From and To as Pigeonhole writes them");
	free(args);
	free(m);
	actions_free(&l);
	msg_free(&d.msg);

	reset_fake(0);
	xopen(&d, msg2);
	actions_init(&l);
	l.implicit_keep = 1;
	actions_add(&l, ACT_NOTIFY, "xmpp:someone@example.com", "test");
	is_int(xrun(&d, &l, &e), 0, "notify xmpp: delivered");
	is_int(l.v[0].status, ACT_UNSUPPORTED, "notify xmpp: unsupported");
	is_int(total_files(), 1, "notify xmpp: kept");
	actions_free(&l);
	msg_free(&d.msg);
}

static void
test_programs(void)
{
	struct deliver_ctx d;
	struct action_list l;
	struct action *a;
	struct err e;
	char bin[400], path[500], name[600], *m;
	FILE *fp;

	(void)snprintf(bin, sizeof bin, "%s/bin", fake_dir);
	mkdir(bin, 0700);
	(void)snprintf(path, sizeof path, "%s/rec", bin);
	fp = fopen(path, "w");
	fprintf(fp, "#!/bin/sh\necho \"$1\" > '%s/piped.arg'\n"
	    "cat > '%s/piped'\n", fake_dir, fake_dir);
	fclose(fp);
	chmod(path, 0755);
	(void)snprintf(path, sizeof path, "%s/up", bin);
	fp = fopen(path, "w");
	fputs("#!/bin/sh\nexec tr a-z A-Z\n", fp);
	fclose(fp);
	chmod(path, 0755);

	/* pipe: the stored message on stdin, with the given args */
	reset_fake(0);
	xopen(&d, msg2);
	d.pipe_bin_dir = bin;
	actions_init(&l);
	l.implicit_keep = 0;	/* pipe without :copy (the rules decide) */
	a = actions_add(&l, ACT_PIPE, "rec", "test");
	a->argv = calloc(2, sizeof *a->argv);
	a->argv[0] = strdup("arg one");
	is_int(xrun(&d, &l, &e), 0, "pipe: ok (%s)", e.msg);
	is_int(l.v[0].status, ACT_DONE, "pipe: done");
	(void)snprintf(path, sizeof path, "%s/piped", fake_dir);
	m = slurp(path);
	{
		/* Pigeonhole's sieve_pipe_input_eol = crlf: CRLF line ends. */
		char want[sizeof msg2 * 2];
		size_t i, w = 0;

		for (i = 0; msg2[i] != '\0'; i++) {
			if (msg2[i] == '\n')
				want[w++] = '\r';
			want[w++] = msg2[i];
		}
		want[w] = '\0';
		is_str(m, want, "pipe: the message on stdin, CRLF line ends");
	}
	free(m);
	(void)snprintf(path, sizeof path, "%s/piped.arg", fake_dir);
	m = slurp(path);
	is_str(m, "arg one\n", "pipe: argument passed as one word");
	free(m);
	is_int(total_files(), 0, "pipe: nothing stored");
	actions_free(&l);
	msg_free(&d.msg);

	/* names outside the bin dir are refused, and the mail kept */
	{
		const char *bad[] = { "../bin/rec", "/bin/sh", ".rec", "nope" };
		size_t k;

		for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
			reset_fake(0);
			xopen(&d, msg2);
			d.pipe_bin_dir = bin;
			actions_init(&l);
			l.implicit_keep = 0;
			actions_add(&l, ACT_PIPE, bad[k], "test");
			is_int(xrun(&d, &l, &e), 0, "pipe %s: delivered",
			    bad[k]);
			is_int(l.v[0].status, ACT_FAILED, "pipe %s: refused",
			    bad[k]);
			is_int(total_files(), 1, "pipe %s: kept", bad[k]);
			actions_free(&l);
			msg_free(&d.msg);
		}
	}

	/* filter: the output replaces the message; S=/W= follow */
	xopen(&d, msg2);
	d.filter_bin_dir = bin;
	actions_init(&l);
	l.implicit_keep = 1;
	actions_add(&l, ACT_FILTER, "up", "test");
	is_int(xrun(&d, &l, &e), 0, "filter: ok (%s)", e.msg);
	is_int(l.v[0].status, ACT_DONE, "filter: done");
	m = stored_file(name, sizeof name);
	ok(m != NULL && strncmp(m, "RETURN-PATH: <A@EXAMPLE.ORG>\n", 29) == 0,
	    "filter: stored message is the output");
	if (m != NULL) {
		char want[64];

		(void)snprintf(want, sizeof want, ",S=%zu,W=%zu", strlen(m),
		    strlen(m) + 9);
		ok(strstr(name, want) != NULL, "filter: %s in %s", want, name);
	}
	free(m);
	actions_free(&l);
	msg_free(&d.msg);

	/* header edits are in the stored file, with exact S=/W= */
	xopen(&d, msg2);
	actions_init(&l);
	l.implicit_keep = 1;
	a = actions_add(&l, ACT_ADDHEADER, "X-Tag", "test");
	a->value = strdup("tagged");
	actions_add(&l, ACT_DELETEHEADER, "X-Sieve", "test");
	actions_add(&l, ACT_DELETEHEADER, "Received", "test");
	is_int(xrun(&d, &l, &e), 0, "edits: ok (%s)", e.msg);
	m = stored_file(name, sizeof name);
	ok(m != NULL && strncmp(m, "X-Tag: tagged\nReturn-Path:", 26) == 0 &&
	    strstr(m, "X-Sieve") == NULL, "edits: stored file edited");
	is_int(l.v[2].status, ACT_FAILED, "edits: Received refused");
	if (m != NULL) {
		char want[64];

		(void)snprintf(want, sizeof want, ",S=%zu,W=%zu", strlen(m),
		    strlen(m) + 9);
		ok(strstr(name, want) != NULL, "edits: %s in %s", want, name);
	}
	free(m);
	actions_free(&l);
	msg_free(&d.msg);
}

static void
test_dry_run(void)
{
	struct deliver_ctx d;
	struct action_list l;
	struct action *a;
	struct err e;
	char path[600];
	size_t i;
	int all_done = 1;

	reset_fake(0);
	memset(&fake_store, 0, sizeof fake_store);
	xopen(&d, msg2);
	d.dry_run = 1;
	d.store = &fake_store;
	actions_init(&l);
	actions_add(&l, ACT_FILEINTO, "Work", "test");
	a = actions_add(&l, ACT_ADDHEADER, "X-Tag", "test");
	a->value = strdup("t");
	actions_add(&l, ACT_REDIRECT, "x@example.com", "test");
	a = actions_add(&l, ACT_VACATION, "away", "test");
	a->to = strdup("a@example.org");
	a->handle = strdup("h");
	actions_add(&l, ACT_REJECT, "no", "test");
	actions_add(&l, ACT_NOTIFY, "mailto:n@example.com", "test");
	a = actions_add(&l, ACT_STORE_MARK, "dup-key", "test");
	a->period = 60;
	is_int(xrun(&d, &l, &e), 0, "dry run: ok (%s)", e.msg);
	for (i = 0; i < l.n; i++)
		if (l.v[i].status != ACT_DONE || l.v[i].result == NULL) {
			all_done = 0;
			diag("action %zu %s: %s %s", i,
			    action_type_name(l.v[i].type),
			    action_status_name(l.v[i].status),
			    l.v[i].result ? l.v[i].result : "");
		}
	ok(all_done, "dry run: every action says what it would do");
	ok(call_args(0) == NULL, "dry run: nothing sent");
	is_int(total_files(), 0, "dry run: nothing stored");
	(void)snprintf(path, sizeof path, "%s/.Work", root);
	ok(access(path, F_OK) == -1, "dry run: folder not created");
	is_int(fake_store.n, 0, "dry run: nothing remembered");
	{
		char found[512];

		is_int(count_files("INBOX", "tmp", "", found, sizeof found), 0,
		    "dry run: tmp/ empty");
	}
	actions_free(&l);
	msg_free(&d.msg);

	/* store marks are set after the delivery */
	xopen(&d, msg2);
	d.store = &fake_store;
	actions_init(&l);
	l.implicit_keep = 1;
	a = actions_add(&l, ACT_STORE_MARK, "dup-key", "test");
	a->period = 60;
	is_int(xrun(&d, &l, &e), 0, "mark: ok");
	ok(fake_store.n == 1 && strcmp(fake_store.keys[0], "dup-key") == 0 &&
	    fake_store.ttls[0] == 60, "mark: key set with its ttl");
	is_int(total_files(), 1, "mark: delivered");
	actions_free(&l);
	msg_free(&d.msg);
}

int
main(void)
{
	size_t i;

	log_open("test-exec", 0, 0);
	setup_fake();
	(void)snprintf(root, sizeof root, "/tmp/test-exec.%ld/Maildir",
	    (long)getpid());
	{
		char parent[256];

		(void)snprintf(parent, sizeof parent, "/tmp/test-exec.%ld",
		    (long)getpid());
		mkdir(parent, 0700);
		for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
			run_row(i, &rows[i]);
		rm_rf(parent);
	}
	/* mbox: one message appended with a From line. */
	{
		char parent[256], mbox[300], buf[512];
		struct deliver_ctx d;
		struct action_list l;
		struct err e;
		FILE *fp;
		size_t n;
		int in;

		(void)snprintf(parent, sizeof parent, "/tmp/test-exec.%ld",
		    (long)getpid());
		mkdir(parent, 0700);
		(void)snprintf(mbox, sizeof mbox, "%s/mbox", parent);
		memset(&d, 0, sizeof d);
		d.root = root;
		d.sep = '.';
		d.host = "h";
		d.sender = "a@example.org";
		d.msg = msg_new();
		(void)deliver_spool_open(&d, &e);
		fp = fopen(mbox, "w");
		fputs(message, fp);
		fclose(fp);
		in = open(mbox, O_RDONLY);
		(void)msg_spool(d.msg, in, d.spool_fd, &e);
		close(in);
		unlink(mbox);
		actions_init(&l);
		actions_add(&l, ACT_MBOX, mbox, "test");
		is_int(deliver_run(&d, &l, &e), 0, "mbox: delivered");
		deliver_spool_close(&d);
		fp = fopen(mbox, "r");
		n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
		if (fp)
			fclose(fp);
		buf[n] = '\0';
		ok(strncmp(buf, "From a@example.org ", 19) == 0,
		    "mbox: From line names the sender");
		ok(strstr(buf, "\nSubject: test\n\nbody\n\n") != NULL,
		    "mbox: message then a blank line");
		is_int(l.v[0].status, ACT_DONE, "mbox: action done");
		is_int(total_files(), 0, "mbox: nothing in the Maildir");
		actions_free(&l);
		msg_free(&d.msg);
		rm_rf(parent);
	}
	/* Sieve's outbound actions, programs, edits and the dry run. */
	{
		char parent[256];

		(void)snprintf(parent, sizeof parent, "/tmp/test-exec.%ld",
		    (long)getpid());
		mkdir(parent, 0700);
		test_redirect();
		test_reject();
		test_vacation();
		test_notify();
		test_programs();
		test_dry_run();
		rm_rf(parent);
		rm_rf(fake_dir);
	}
	return tap_done();
}
