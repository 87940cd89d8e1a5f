/*
 * test-edit.c - editheader on the spool: rows of message + edits ->
 * expected stored message, with S=/W= checked against the bytes, then a
 * big body, and the field encoder (folding, RFC 2047).
 */
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

struct ed {
	enum act_type type;
	const char *name, *value;
	int index, last;
};

struct row {
	const char *name;
	const char *in;		/* message as received */
	struct ed eds[4];
	const char *want;	/* stored message after the edits */
	enum act_status st0;	/* status of the first edit */
};

static const struct row rows[] = {
	{ "prepend", "A: 1\nB: 2\n\nbody\n",
	  { { ACT_ADDHEADER, "X-New", "v", 0, 0 } },
	  "X-New: v\nA: 1\nB: 2\n\nbody\n", ACT_DONE },
	{ "append :last", "A: 1\nB: 2\n\nbody\n",
	  { { ACT_ADDHEADER, "X-New", "v", 0, 1 } },
	  "A: 1\nB: 2\nX-New: v\n\nbody\n", ACT_DONE },
	{ "delete all", "A: 1\nX: a\nB: 2\nx: b\n\nbody\n",
	  { { ACT_DELETEHEADER, "X", NULL, 0, 0 } },
	  "A: 1\nB: 2\n\nbody\n", ACT_DONE },
	{ "delete second", "X: a\nX: b\nX: c\n\nbody\n",
	  { { ACT_DELETEHEADER, "x", NULL, 2, 0 } },
	  "X: a\nX: c\n\nbody\n", ACT_DONE },
	{ "delete :last 1", "X: a\nX: b\nX: c\n\nbody\n",
	  { { ACT_DELETEHEADER, "X", NULL, 1, 1 } },
	  "X: a\nX: b\n\nbody\n", ACT_DONE },
	{ "index beyond count", "X: a\n\nbody\n",
	  { { ACT_DELETEHEADER, "X", NULL, 5, 0 } },
	  "X: a\n\nbody\n", ACT_DONE },
	{ "folded field deleted whole", "A: 1\nX: a\n  more\n\tstill\nB: 2\n\nb\n",
	  { { ACT_DELETEHEADER, "X", NULL, 0, 0 } },
	  "A: 1\nB: 2\n\nb\n", ACT_DONE },
	{ "edits see earlier edits", "X: old\n\nbody\n",
	  { { ACT_ADDHEADER, "X", "new", 0, 0 },
	    { ACT_DELETEHEADER, "X", NULL, 2, 0 } },
	  "X: new\n\nbody\n", ACT_DONE },
	{ "CRLF input, CR kept in body", "A: 1\r\n\r\nx\ry\r\n",
	  { { ACT_ADDHEADER, "B", "2", 0, 1 } },
	  "A: 1\nB: 2\n\nx\ry\n", ACT_DONE },
	{ "protected Received", "Received: x\n\nbody\n",
	  { { ACT_DELETEHEADER, "Received", NULL, 0, 0 } },
	  "Received: x\n\nbody\n", ACT_FAILED },
	/* RFC 5293 6 / Pigeonhole: adding is allowed, deleting is not. */
	{ "Auto-Submitted may be added", "A: 1\n\nbody\n",
	  { { ACT_ADDHEADER, "auto-submitted", "no", 0, 0 } },
	  "auto-submitted: no\nA: 1\n\nbody\n", ACT_DONE },
	{ "protected Auto-Submitted delete", "Auto-Submitted: yes\n\nbody\n",
	  { { ACT_DELETEHEADER, "Auto-Submitted", NULL, 0, 0 } },
	  "Auto-Submitted: yes\n\nbody\n", ACT_FAILED },
	{ "bad name", "A: 1\n\nbody\n",
	  { { ACT_ADDHEADER, "Bad Name", "x", 0, 0 } },
	  "A: 1\n\nbody\n", ACT_FAILED },
	{ "colon in name", "A: 1\n\nbody\n",
	  { { ACT_ADDHEADER, "A:B", "x", 0, 0 } },
	  "A: 1\n\nbody\n", ACT_FAILED },
	{ "non-ASCII encoded", "A: 1\n\nbody\n",
	  { { ACT_ADDHEADER, "X-Note", "caf\xc3\xa9 ok", 0, 0 } },
	  "X-Note: =?utf-8?q?caf=C3=A9_ok?=\nA: 1\n\nbody\n", ACT_DONE },
	{ "injection flattened", "A: 1\n\nbody\n",
	  { { ACT_ADDHEADER, "X", "a\r\nBcc: evil", 0, 0 } },
	  "X: a Bcc: evil\nA: 1\n\nbody\n", ACT_DONE },
	{ "folding at 78", "A: 1\n\nb\n",
	  { { ACT_ADDHEADER, "X-Long", "aaaaaaaaaa bbbbbbbbbb cccccccccc "
	    "dddddddddd eeeeeeeeee ffffffffff gggggggggg hhhhhhhhhh", 0, 0 } },
	  "X-Long: aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee "
	  "ffffffffff\n gggggggggg hhhhhhhhhh\nA: 1\n\nb\n", ACT_DONE },
	{ "no body separator", "A: 1\nB: 2",
	  { { ACT_ADDHEADER, "C", "3", 0, 1 } },
	  "A: 1\nB: 2\nC: 3\n", ACT_DONE },
	{ "empty header", "\nbody\n",
	  { { ACT_ADDHEADER, "C", "3", 0, 0 } },
	  "C: 3\n\nbody\n", ACT_DONE },
};

static char root[256];

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	char *p;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	p = malloc((size_t)n + 1);
	*len = fread(p, 1, (size_t)n, fp);
	p[*len] = '\0';
	fclose(fp);
	return p;
}

static long long
wsize(const char *p, size_t len)
{
	long long w = (long long)len;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			w++;
	return w;
}

/* Spool msg (len bytes) into a fresh context. */
static int
setup(struct deliver_ctx *d, const char *msg, size_t len)
{
	char path[512];
	struct err e;
	int fd;

	memset(d, 0, sizeof *d);
	d->root = root;
	d->sep = '.';
	d->host = "test.example";
	d->sender = "a@example.org";
	d->msg = msg_new();
	d->spool_fd = -1;
	if (deliver_spool_open(d, &e) == -1)
		return -1;
	(void)snprintf(path, sizeof path, "%s.in", root);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (write(fd, msg, len) != (ssize_t)len)
		diag("write failed");
	lseek(fd, 0, SEEK_SET);
	if (msg_spool(d->msg, fd, d->spool_fd, &e) == -1)
		diag("spool: %s", e.msg);
	close(fd);
	unlink(path);
	return 0;
}

static void
run_row(size_t i, const struct row *r)
{
	struct deliver_ctx d;
	struct action_list l;
	struct err e;
	char *got, old_path[PATH_MAX];
	size_t len;
	int k;

	if (setup(&d, r->in, strlen(r->in)) == -1) {
		ok(0, "row %zu %s: setup", i, r->name);
		return;
	}
	(void)snprintf(old_path, sizeof old_path, "%s", d.spool_path);
	actions_init(&l);
	for (k = 0; k < 4 && r->eds[k].name != NULL; k++) {
		struct action *a = actions_add(&l, r->eds[k].type,
		    r->eds[k].name, "test");

		if (r->eds[k].value != NULL)
			a->value = strdup(r->eds[k].value);
		a->index = r->eds[k].index;
		a->last = (unsigned)r->eds[k].last;
	}
	err_clear(&e);
	is_int(edit_apply(&d, l.v, l.n, &e), 0, "row %zu %s: applied (%s)", i,
	    r->name, e.msg);
	is_str(action_status_name(l.v[0].status), action_status_name(r->st0),
	    "row %zu %s: status", i, r->name);
	got = slurp(d.spool_path, &len);
	is_str(got, r->want, "row %zu %s: stored message", i, r->name);
	is_int((int)d.msg->size, (int)len, "row %zu %s: S= is the size", i,
	    r->name);
	is_int((int)d.msg->vsize, (int)wsize(got ? got : "", len),
	    "row %zu %s: W= is the CRLF size", i, r->name);
	if (strcmp(r->in, r->want) != 0 && r->st0 == ACT_DONE)
		ok(access(old_path, F_OK) == -1 && errno == ENOENT,
		    "row %zu %s: old spool removed", i, r->name);
	/* the index follows the edit */
	if (r->st0 == ACT_DONE && r->eds[0].type == ACT_ADDHEADER &&
	    strcmp(r->eds[0].name, "X") != 0)
		ok(hdr_find(d.msg, r->eds[0].name, 0) != NULL,
		    "row %zu %s: header re-indexed", i, r->name);
	free(got);
	deliver_spool_close(&d);
	actions_free(&l);
	msg_free(&d.msg);
}

int
main(void)
{
	char parent[128], cmd[600];
	size_t i;

	log_open("test-edit", 0, 0);
	(void)snprintf(parent, sizeof parent, "/tmp/test-edit.%ld",
	    (long)getpid());
	mkdir(parent, 0700);
	(void)snprintf(root, sizeof root, "%s/Maildir", parent);
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
		run_row(i, &rows[i]);

	/* A big body (8 MiB + change, CRs mixed in) is copied intact. */
	{
		size_t blen = 8 * 1024 * 1024 + 12345, len, hl;
		const char *hdr = "Subject: big\n\n";
		char *in = malloc(strlen(hdr) + blen), *got;
		struct deliver_ctx d;
		struct action_list l;
		struct action *a;
		struct err e;

		hl = strlen(hdr);
		memcpy(in, hdr, hl);
		for (i = 0; i < blen; i++)
			in[hl + i] = i % 61 == 60 ? '\n' : i % 97 == 0 ? '\r' :
			    (char)('a' + i % 26);
		setup(&d, in, hl + blen);
		/* compare with the stored form (CRLF became LF) */
		free(in);
		in = slurp(d.spool_path, &blen);
		blen -= hl;
		actions_init(&l);
		a = actions_add(&l, ACT_ADDHEADER, "X-Big", "test");
		a->value = strdup("yes");
		is_int(edit_apply(&d, l.v, l.n, &e), 0, "big: applied");
		got = slurp(d.spool_path, &len);
		is_int((int)len, (int)(hl + blen + strlen("X-Big: yes\n")),
		    "big: size");
		ok(got != NULL && memcmp(got + strlen("X-Big: yes\n"), in,
		    hl + blen) == 0, "big: original bytes follow intact");
		is_int((int)d.msg->size, (int)len, "big: S=");
		is_int((int)d.msg->vsize, (int)wsize(got, len), "big: W=");
		free(got);
		free(in);
		deliver_spool_close(&d);
		actions_free(&l);
		msg_free(&d.msg);
	}

	/* edit_field: long non-ASCII values become several encoded words
	 * of at most 75 characters, on lines of at most 78. */
	{
		struct buf b = BUF_INIT;
		const char *p, *nl;
		int long_line = 0, words = 0, bad_word = 0;

		edit_field(&b, "Subject", "\xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9 "
		    "\xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9 "
		    "\xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9 "
		    "\xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9");
		for (p = b.data; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
			if (nl - p > 78)
				long_line = 1;
		for (p = b.data; (p = strstr(p, "=?utf-8?q?")) != NULL; p++) {
			const char *end = strstr(p, "?=");

			words++;
			if (end == NULL || end + 2 - p > 75)
				bad_word = 1;
		}
		ok(!long_line, "encoded: no line over 78 (%s)", b.data);
		ok(words >= 2 && !bad_word, "encoded: %d words, each <= 75",
		    words);
		ok(strstr(b.data, "=C3=A9") != NULL && strchr(b.data, 0xc3) ==
		    NULL, "encoded: no raw 8-bit left");
		buf_free(&b);
		edit_field(&b, "X", "=?utf-8?q?fake?=");
		ok(strstr(b.data, "=3D=3Futf-8") != NULL,
		    "encoded-word lookalike is encoded");
		buf_free(&b);
	}
	ok(edit_name_ok("X-Foo") && !edit_name_ok("") && !edit_name_ok("a b")
	    && !edit_name_ok("a:b") && !edit_name_ok("\x7f"), "name check");
	ok(edit_protected("received") && edit_protected("AUTO-SUBMITTED") &&
	    !edit_protected("Subject"), "protected names");
	(void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", parent);
	if (system(cmd) != 0)
		diag("cleanup failed");
	return tap_done();
}
