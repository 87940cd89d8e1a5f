/*
 * test-mime.c - Content-Type parameters (RFC 2045, RFC 2231), the MIME
 * tree (RFC 2046) and part decoding. Trees are dumped as
 * type{body}[flags](children...) and compared as strings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/limits.h"
#include "msg/msg.h"
#include "tap.h"

/* Parameter rows: want is "value;name=value;..." */
static const struct param_row {
	const char *in;
	const char *want;
} param_rows[] = {
	{ "text/plain", "text/plain" },
	{ "TEXT/Plain; CharSet=UTF-8", "text/plain;charset=UTF-8" },
	{ "text/plain; charset=\"us-ascii\"", "text/plain;charset=us-ascii" },
	{ "text/plain; charset=us-ascii (Plain text)",
	    "text/plain;charset=us-ascii" },
	{ "text/plain (comment) ; (c) charset = \"a\\\"b\"",
	    "text/plain;charset=a\"b" },
	{ "multipart/mixed;\n boundary=\"--=_x y\"",
	    "multipart/mixed;boundary=--=_x y" },
	{ "attachment; filename=\"a;b.txt\"", "attachment;filename=a;b.txt" },
	{ "text/plain; a=1; a=2", "text/plain;a=1" },
	{ "text/plain; ;; garbage ; b=2", "text/plain;b=2" },
	{ "text/plain; =x; c=3", "text/plain;c=3" },
	{ "text/plain; d=\"unterminated", "text/plain;d=unterminated" },
	{ "", "" },
	/* RFC 2231 3: continuations */
	{ "message/external-body; access-type=URL;\n"
	    " URL*0=\"ftp://\";\n URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
	    "message/external-body;access-type=URL;"
	    "url=ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar" },
	/* RFC 2231 4: charset and language */
	{ "application/x-stuff;\n title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
	    "application/x-stuff;title=This is ***fun***" },
	/* RFC 2231 4.1: both */
	{ "application/x-stuff;\n title*0*=us-ascii'en'This%20is%20even%20more%20;\n"
	    " title*1*=%2A%2A%2Afun%2A%2A%2A%20;\n title*2=\"isn't it!\"",
	    "application/x-stuff;title=This is even more ***fun*** isn't it!" },
	{ "a/b; name*=utf-8''%C3%A9t%C3%A9.txt", "a/b;name=\xc3\xa9t\xc3\xa9.txt" },
	{ "a/b; name*=iso-8859-1''%E9", "a/b;name=\xc3\xa9" },
	{ "a/b; name*=''%41", "a/b;name=A" },
	{ "a/b; name*=utf-8''%ZZ%4", "a/b;name=%ZZ%4" },
	/* out of order, missing sections */
	{ "a/b; n*2=c; n*0=a; n*1=b", "a/b;n=abc" },
	{ "a/b; n*0=a; n*2=c", "a/b;n=ac" },
	{ "a/b; n*1=b", "a/b;n=b" },
	{ "a/b; n*0*=utf-8''%E2%82; n*1*=%AC", "a/b;n=\xe2\x82\xac" },
	/* 2231 wins over a plain value */
	{ "a/b; filename=old.txt; filename*=utf-8''new.txt",
	    "a/b;filename=new.txt" },
	/* RFC 2047 in a quoted value (common) */
	{ "a/b; name=\"=?utf-8?q?caf=C3=A9?=\"", "a/b;name=caf\xc3\xa9" },
	/* bad sections */
	{ "a/b; n*x=1; n*99999999999999999999=2; m=3", "a/b;m=3" },
	{ "a/b; n*64=over; n*63=last", "a/b;n=last" },
};

static void
test_params(void)
{
	struct arena *a = arena_new();
	struct buf b = BUF_INIT;
	struct mime_ctype ct;
	size_t i, j;

	for (i = 0; i < sizeof(param_rows) / sizeof(param_rows[0]); i++) {
		struct span v = { param_rows[i].in, strlen(param_rows[i].in) };

		mime_ctype_parse(a, v, &ct);
		buf_reset(&b);
		buf_adds(&b, ct.value);
		for (j = 0; j < ct.nparams; j++)
			buf_addf(&b, ";%s=%s", ct.params[j].name,
			    ct.params[j].value);
		is_str(b.len ? b.data : "", param_rows[i].want,
		    "param row %zu: %s", i, param_rows[i].in);
	}
	/* mime_param is case-insensitive. */
	{
		struct span v = SPAN_LIT("text/plain; Format=Flowed");

		mime_ctype_parse(a, v, &ct);
		is_str(mime_param(&ct, "FORMAT"), "Flowed", "mime_param lookup");
		is_str(mime_param(&ct, "charset"), NULL, "mime_param absent");
	}
	/* MSG_MAX_PARAMS */
	buf_reset(&b);
	buf_adds(&b, "a/b");
	for (i = 0; i < MSG_MAX_PARAMS + 10; i++)
		buf_addf(&b, "; p%zu=v", i);
	{
		struct span v = { b.data, b.len };

		mime_ctype_parse(a, v, &ct);
		is_int((long long)ct.nparams, MSG_MAX_PARAMS,
		    "MSG_MAX_PARAMS cap");
	}
	/* MSG_MAX_PARAM_SECTIONS */
	buf_reset(&b);
	buf_adds(&b, "a/b");
	for (i = 0; i < MSG_MAX_PARAM_SECTIONS + 10; i++)
		buf_addf(&b, "; n*%zu=x", i);
	{
		struct span v = { b.data, b.len };

		mime_ctype_parse(a, v, &ct);
		is_int((long long)strlen(mime_param(&ct, "n")),
		    MSG_MAX_PARAM_SECTIONS, "MSG_MAX_PARAM_SECTIONS cap");
	}
	buf_free(&b);
	arena_free(&a);
}

static void
dump_part(struct buf *b, const struct mime_part *p)
{
	const struct mime_part *c;

	buf_adds(b, p->ctype.value);
	if (p->children == NULL && !(p->ctype.value != NULL &&
	    strncmp(p->ctype.value, "multipart/", 10) == 0 &&
	    !(p->flags & (MIME_F_NO_BOUNDARY | MIME_F_TOO_DEEP)))) {
		buf_addc(b, '{');
		buf_add(b, p->body.p, p->body.len);
		buf_addc(b, '}');
	}
	if (p->flags & MIME_F_TRUNCATED)
		buf_adds(b, "!trunc");
	if (p->flags & MIME_F_TOO_DEEP)
		buf_adds(b, "!deep");
	if (p->flags & MIME_F_TOO_MANY)
		buf_adds(b, "!many");
	if (p->flags & MIME_F_NO_BOUNDARY)
		buf_adds(b, "!nobnd");
	if (p->children != NULL) {
		buf_addc(b, '(');
		for (c = p->children; c != NULL; c = c->next) {
			dump_part(b, c);
			if (c->next != NULL)
				buf_addc(b, ',');
		}
		buf_addc(b, ')');
	}
}

static struct mime_part *
parse(struct msg *m, const char *in, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->arena = arena_new();
	m->data = in;
	m->len = len;
	return mime_parse(m);
}

static const struct tree_row {
	const char *what;
	const char *in;
	const char *want;
} tree_rows[] = {
	{ "no MIME", "Subject: x\n\nhello\n", "text/plain{hello\n}" },
	{ "no body", "Subject: x\n", "text/plain{}" },
	{ "empty", "", "text/plain{}" },
	{ "simple multipart",
	    "Content-Type: multipart/mixed; boundary=b\n\npreamble\n--b\n\none\n"
	    "--b\nContent-Type: text/html\n\n<p>two</p>\n--b--\nepilogue\n",
	    "multipart/mixed(text/plain{one},text/html{<p>two</p>})" },
	{ "CRLF multipart",
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n"
	    "--b--\r\n",
	    "multipart/mixed(text/plain{one})" },
	{ "trailing whitespace on delimiter",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b \t\n\none\n--b-- \n",
	    "multipart/mixed(text/plain{one})" },
	{ "delimiter with junk is text",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bx\n--b--\n",
	    "multipart/mixed(text/plain{--bx})" },
	{ "empty body part",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--b--\n",
	    "multipart/mixed(text/plain{})" },
	{ "part without blank line",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\nX: 1\n--b--\n",
	    "multipart/mixed(text/plain{})" },
	{ "part header then body line",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\nX: 1\nbody\n--b--\n",
	    "multipart/mixed(text/plain{body})" },
	{ "nested, inner boundary a prefix of the outer",
	    "Content-Type: multipart/mixed; boundary=\"ab\"\n\n--ab\n"
	    "Content-Type: multipart/alternative; boundary=a\n\n--a\n\nx\n--a\n\ny\n"
	    "--a--\n--ab\n\nz\n--ab--\n",
	    "multipart/mixed(multipart/alternative(text/plain{x},text/plain{y}),"
	    "text/plain{z})" },
	{ "nested, outer boundary a prefix of the inner",
	    "Content-Type: multipart/mixed; boundary=\"a\"\n\n--a\n"
	    "Content-Type: multipart/alternative; boundary=ab\n\n--ab\n\nx\n"
	    "--ab--\n--a\n\nz\n--a--\n",
	    "multipart/mixed(multipart/alternative(text/plain{x}),text/plain{z})" },
	{ "inner not closed: outer delimiter ends it",
	    "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
	    "Content-Type: multipart/alternative; boundary=i\n\n--i\n\nx\n"
	    "--o\n\nz\n--o--\n",
	    "multipart/mixed(multipart/alternative!trunc(text/plain{x}),"
	    "text/plain{z})" },
	{ "missing close boundary",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n",
	    "multipart/mixed!trunc(text/plain{one\n})" },
	{ "no boundary parameter",
	    "Content-Type: multipart/mixed\n\n--b\n\none\n--b--\n",
	    "multipart/mixed{--b\n\none\n--b--\n}!nobnd" },
	{ "boundary after close is epilogue",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b--\n--b\n\nx\n",
	    "multipart/mixed(text/plain{one})" },
	{ "message/rfc822",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: message/rfc822\n\nSubject: inner\n"
	    "Content-Type: text/html\n\n<b>hi</b>\n--b--\n",
	    "multipart/mixed(message/rfc822(text/html{<b>hi</b>}))" },
	{ "message/rfc822 at the root",
	    "Content-Type: message/rfc822\n\nSubject: inner\n\nbody\n",
	    "message/rfc822(text/plain{body\n})" },
	{ "digest default",
	    "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: a\n\n"
	    "A\n--d\nContent-Type: text/plain\n\nB\n--d--\n",
	    "multipart/digest(message/rfc822(text/plain{A}),text/plain{B})" },
	{ "multipart inside message/rfc822 inside multipart",
	    "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
	    "Content-Type: message/rfc822\n\n"
	    "Content-Type: multipart/mixed; boundary=i\n\n--i\n\nin\n--i--\n"
	    "--o--\n",
	    "multipart/mixed(message/rfc822(multipart/mixed(text/plain{in})))" },
	{ "too long boundary",
	    "Content-Type: multipart/mixed; boundary=x2345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012\n\nbody\n",
	    "multipart/mixed{body\n}!nobnd" },
};

static void
test_trees(void)
{
	struct buf b = BUF_INIT;
	struct msg m;
	size_t i;

	for (i = 0; i < sizeof(tree_rows) / sizeof(tree_rows[0]); i++) {
		struct mime_part *root;

		root = parse(&m, tree_rows[i].in, strlen(tree_rows[i].in));
		buf_reset(&b);
		dump_part(&b, root);
		is_str(b.data, tree_rows[i].want, "tree row %zu (%s)", i,
		    tree_rows[i].what);
		arena_free(&m.arena);
	}
	buf_free(&b);
}

static int
count_cb(struct mime_part *p, void *arg)
{
	size_t *n = arg;

	(void)p;
	(*n)++;
	return 0;
}

static int
max_depth_cb(struct mime_part *p, void *arg)
{
	unsigned *d = arg;

	if (p->depth > *d)
		*d = p->depth;
	return 0;
}

#define DASHES \
    "---------------------------------------------------------------\n"

static void
test_limits(void)
{
	struct buf b = BUF_INIT;
	struct msg m;
	struct mime_part *root;
	size_t i, n;
	unsigned depth = 0;
	clock_t t0;
	int deep = 0;

	/* 1000 levels of nesting: MIME_MAX_DEPTH stops it, fast. */
	buf_adds(&b, "Content-Type: multipart/mixed; boundary=b0\n\n");
	for (i = 1; i < 1000; i++)
		buf_addf(&b, "--b%zu\nContent-Type: multipart/mixed; "
		    "boundary=b%zu\n\n", i - 1, i);
	buf_adds(&b, "--b999\n\nleaf\n");
	for (i = 1000; i-- > 0;)
		buf_addf(&b, "--b%zu--\n", i);
	t0 = clock();
	root = parse(&m, b.data, b.len);
	ok((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0,
	    "1000 levels parse in under a second");
	mime_walk(root, max_depth_cb, &depth);
	is_int(depth, MIME_MAX_DEPTH, "depth capped at MIME_MAX_DEPTH");
	{
		struct mime_part *p;

		for (p = root; p->children != NULL; p = p->children)
			;
		deep = (p->flags & MIME_F_TOO_DEEP) != 0;
		ok(deep, "deepest part flagged too deep");
		ok(p->body.len > 0 && mem_find(p->body.p, p->body.len,
		    "leaf", 4) != NULL, "too deep leaf holds the rest");
	}
	n = 0;
	mime_walk(root, count_cb, &n);
	is_int((long long)n, MIME_MAX_DEPTH + 1, "walk visits every part");
	arena_free(&m.arena);

	/* MIME_MAX_PARTS */
	buf_reset(&b);
	buf_adds(&b, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (i = 0; i < MIME_MAX_PARTS + 100; i++)
		buf_adds(&b, "--b\n\nx\n");
	buf_adds(&b, "--b--\n");
	root = parse(&m, b.data, b.len);
	n = 0;
	mime_walk(root, count_cb, &n);
	is_int((long long)n, MIME_MAX_PARTS, "MIME_MAX_PARTS cap");
	{
		struct mime_part *p;

		for (p = root->children; p != NULL && p->next != NULL;
		    p = p->next)
			;
		ok(p != NULL && (p->flags & MIME_F_TOO_MANY) &&
		    p->body.len > 100, "last part flagged, holds the rest");
	}
	arena_free(&m.arena);

	/* A 100 MB body in a multipart: one scan. */
	buf_reset(&b);
	buf_adds(&b, "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n");
	buf_reserve(&b, 100 * 1024 * 1024);
	for (i = 0; i < 100 * 1024 * 1024 / 64; i++)
		buf_adds(&b, DASHES);
	buf_adds(&b, "--b--\n");
	t0 = clock();
	root = parse(&m, b.data, b.len);
	ok((double)(clock() - t0) / CLOCKS_PER_SEC < 3.0,
	    "100 MB of dash lines parse in under 3 s");
	ok(root->children != NULL && root->children->body.len ==
	    100 * 1024 * 1024 / 64 * (sizeof(DASHES) - 1) - 1,
	    "100 MB part body length");
	arena_free(&m.arena);
	buf_free(&b);
}

static const struct dec_row {
	const char *what;
	const char *in;
	const char *want;
} dec_rows[] = {
	{ "qp latin1",
	    "Content-Type: text/plain; charset=iso-8859-1\n"
	    "Content-Transfer-Encoding: quoted-printable\n\ncaf=E9 =\nau lait\n",
	    "caf\xc3\xa9 au lait\n" },
	{ "base64 utf-8",
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: BASE64\n\nw6l0w6kK\n", "\xc3\xa9t\xc3\xa9\n" },
	{ "8bit default us-ascii",
	    "Content-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9\n",
	    "caf\xef\xbf\xbd\xef\xbf\xbd\n" },
	{ "binary image not converted",
	    "Content-Type: image/png\nContent-Transfer-Encoding: base64\n\n/wA=\n",
	    "\xff" },
	{ "unknown charset best effort",
	    "Content-Type: text/plain; charset=x-unknown\n\na\xe9\n",
	    "a\xef\xbf\xbd\n" },
	{ "windows-1252",
	    "Content-Type: text/plain; charset=windows-1252\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n=80\n", "\xe2\x82\xac\n" },
};

static void
test_decode(void)
{
	struct buf out = BUF_INIT;
	struct msg m;
	size_t i;

	for (i = 0; i < sizeof(dec_rows) / sizeof(dec_rows[0]); i++) {
		struct mime_part *root;

		root = parse(&m, dec_rows[i].in, strlen(dec_rows[i].in));
		buf_reset(&out);
		mime_decode(root, &out);
		/* Compare as C strings: rows hold no NUL except the png. */
		if (i == 3)
			is_int(out.len == 2 && (unsigned char)out.data[0] == 0xff,
			    1, "decode row %zu (%s)", i, dec_rows[i].what);
		else
			is_str(out.len ? out.data : "", dec_rows[i].want,
			    "decode row %zu (%s)", i, dec_rows[i].what);
		arena_free(&m.arena);
	}
	/* A part header lookup. */
	{
		struct mime_part *root = parse(&m, tree_rows[3].in,
		    strlen(tree_rows[3].in));
		const struct hdr *h = mime_hdr_find(root->children->next,
		    "CONTENT-TYPE");

		ok(h != NULL && h->value.len == 10, "mime_hdr_find in a part");
		arena_free(&m.arena);
	}
	buf_free(&out);
}

int
main(void)
{
	test_params();
	test_trees();
	test_limits();
	test_decode();
	return tap_done();
}
