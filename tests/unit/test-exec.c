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
	{ "redirect unsupported keeps", 1, { { ACT_REDIRECT, "x@example.org",
	  0, 0, 0, 0, NULL } }, 1, NULL, 0, ERR_NONE, { "INBOX:new:", NULL },
	  ACT_UNSUPPORTED, NULL },
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

int
main(void)
{
	size_t i;

	log_open("test-exec", 0, 0);
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
	return tap_done();
}
