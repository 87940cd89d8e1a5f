/*
 * test-score-msg.c - the message side of the scoring engine (prepare.c,
 * html.c, relays.c): header values with modifiers and pseudo-headers,
 * the rendered body, rawbody, URIs, HTML facts and relays, each row
 * checked against what SpamAssassin 4.0.1 produces for the same message
 * (tests/score/sa-prepare-dump.pl prints SpamAssassin's side).
 */
#include <stdlib.h>
#include <string.h>

#include "../../src/score/score-int.h"
#include "tap.h"

static struct msg *
mk(const char *text)
{
	struct msg *m = msg_new();

	msg_parse_header(m, text, strlen(text));
	m->data = text;
	m->len = strlen(text);
	return m;
}

/* ---- headers ---- */

static const char HDRS[] =
    "Received: from mx.example.org (mx.example.org [192.0.2.7])\n"
    "\tby mail.example.net (Postfix) with ESMTP id 4AB12C;\n"
    "\tMon, 15 Jul 2002 22:39:48 +0100\n"
    "Received: from helo.example (unknown [10.0.0.5]) by mx.example.org\n"
    "\twith ESMTPA id 77; Mon, 15 Jul 2002 22:38:00 +0100\n"
    "From: \"Joe =?iso-8859-1?q?M=FCller?=\" <joe@Sub.Example.CO.UK>\n"
    "To: a@example.com, \"B\" <b@example.com>\n"
    "Cc: c@example.com\n"
    "Subject: =?utf-8?b?SGVsbG8gV29ybGQ=?=\n"
    "  and more\n"
    "Message-ID: <=?x?q?1?=@example.com>\n"
    "X-Message-Id: <xid@example.com>\n"
    "Return-Path: <bounce@example.org>\n"
    "X-Multi: one\n"
    "X-Multi: two\n"
    "X-Empty:\n"
    "\n"
    "body\n";

static const struct hdr_row {
	const char *req;
	int exists;
	const char *want;
} hdr_rows[] = {
	{ "Subject", 1, "Hello World and more\n" },
	{ "Subject:raw", 1, " =?utf-8?b?SGVsbG8gV29ybGQ=?=\n  and more\n" },
	{ "From", 1, "\"Joe M\xc3\xbcller\" <joe@Sub.Example.CO.UK>\n" },
	{ "From:addr", 1, "joe@Sub.Example.CO.UK" },
	{ "From:name", 1, "Joe M\xc3\xbcller" },
	{ "From:addr:host", 1, "Sub.Example.CO.UK" },
	{ "From:addr:domain", 1, "example.co.uk" },
	{ "To:addr", 1, "a@example.com\nb@example.com" },
	{ "ToCc", 1, "a@example.com, \"B\" <b@example.com>\nc@example.com\n" },
	{ "ToCc:addr", 1, "a@example.com\nb@example.com\nc@example.com" },
	/* Message-ID is never RFC 2047-decoded (bug 6945) */
	{ "Message-ID", 1, "<=?x?q?1?=@example.com>\n" },
	{ "MESSAGEID", 1, "<xid@example.com>\n<=?x?q?1?=@example.com>\n" },
	{ "X-Multi", 1, "one\ntwo\n" },
	{ "X-Multi:first", 1, "one\n" },
	{ "X-Multi:last", 1, "two\n" },
	{ "X-Empty", 1, "\n" },
	{ "X-Absent", 0, "" },
	{ "X-Absent:addr", 0, "" },
	{ "Received:ip", 1, "192.0.2.7\n10.0.0.5" },
	{ "Received:first:ip", 1, "192.0.2.7" },
	/* Return-Path below a Received: is not trusted as the sender */
	{ "EnvelopeFrom", 0, "" },
	{ "X-Spam-Relays-Untrusted", 1,
	    "[ ip=192.0.2.7 rdns=mx.example.org helo=mx.example.org "
	    "by=mail.example.net ident= envfrom= intl=0 id=4AB12C auth= "
	    "msa=0 ] [ ip=10.0.0.5 rdns= helo=helo.example by=mx.example.org "
	    "ident= envfrom= intl=0 id= auth=ESMTPA msa=0 ]" },	/* id: 3+ chars */
	{ "X-Spam-Relays-Trusted", 1, "" },
};

static void
test_headers(void)
{
	struct msg *m = mk(HDRS);
	struct score_msg *sm = score_msg_new(m, NULL);
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(hdr_rows) / sizeof(hdr_rows[0]); i++) {
		int r;

		buf_reset(&b);
		r = sm_header(sm, hdr_rows[i].req, 0, &b);
		is_int(r, hdr_rows[i].exists, "header %s exists", hdr_rows[i].req);
		is_str(b.data != NULL ? b.data : "", hdr_rows[i].want,
		    "header %s value", hdr_rows[i].req);
	}
	/* modifiers as flags give the same as in the name */
	buf_reset(&b);
	sm_header(sm, "X-Multi", SM_H_LAST, &b);
	is_str(b.data, "two\n", "SM_H_LAST flag");
	buf_free(&b);
	score_msg_free(&sm);
	ok(sm == NULL, "score_msg_free clears the pointer");
	msg_free(&m);
}

/* ---- body ---- */

static const struct body_row {
	const char *what;
	const char *msg;
	const char *want;	/* lines joined with "|" */
} body_rows[] = {
	{ "plain: paragraphs join, subject first",
	    "Subject: Hi\n\nline one\nline two\n\n\npara two\n",
	    "Hi\n|line one line two\n|para two " },
	{ "no subject: an empty first line",
	    "From: x@y\n\nhello\n", "\n|hello " },
	{ "html: head with title, style and script",
	    "Subject: s\nContent-Type: text/html\n\n<html><head><title>T</title>"
	    "<style>p{color:red}</style><script>var x=1;</script></head>"
	    "<body><p>Hello&amp;bye<br>next &lt;b&gt; &copy;</p>"
	    "<div>div</div></body></html>\n",
	    "s\n|\n|T\n|Hello&bye next <b> \xa9\n|div " },
	/* an all-ASCII part stays bytes: &copy; is one Latin-1 byte */
	{ "html: blocks, entities",
	    "Subject: s\nContent-Type: text/html\n\n<body><p>Hello&amp;bye<br>"
	    "next &lt;b&gt; &copy;</p><div>div</div></body>\n",
	    "s\n|\n|Hello&bye next <b> \xa9\n|div " },
	{ "html: &nbsp; and tags inside words",
	    "Subject: s\nContent-Type: text/html\n\nV<b>i</b>agra&nbsp;now"
	    "<!-- comment --> ok\n",
	    "s\n|Viagra now ok " },
	{ "multipart/alternative: both parts, a newline between",
	    "Subject: s\nContent-Type: multipart/alternative; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\n\nplain text\n--b\n"
	    "Content-Type: text/html\n\n<p>html text</p>\n--b--\n",
	    "s\n|plain text\n|html text\n" },
	{ "quoted-printable, latin-1 as windows-1252",
	    "Subject: s\nContent-Type: text/plain; charset=iso-8859-1\n"
	    "Content-Transfer-Encoding: quoted-printable\n\ncaf=E9 =93q=94=\n"
	    "joined\n",
	    "s\n|caf\xc3\xa9 \xe2\x80\x9cq\xe2\x80\x9djoined " },
	{ "base64 text, attachments skipped",
	    "Subject: s\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ=\n--b\n"
	    "Content-Type: image/gif\nContent-Transfer-Encoding: base64\n\n"
	    "R0lGODlh\n--b--\n",
	    "s\n|hello world " },
	{ "*.html attachment name: rendered as HTML",
	    "Subject: s\nContent-Type: application/octet-stream\n"
	    "Content-Disposition: attachment; filename=\"a.html\"\n\n"
	    "<b>bold</b>\n",
	    "s\n|bold " },
};

static void
join_lines(const struct span *l, size_t n, struct buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(out, '|');
		buf_add(out, l[i].p, l[i].len);
	}
	buf_addc(out, '\0');
}

static void
test_body(void)
{
	size_t i;

	for (i = 0; i < sizeof(body_rows) / sizeof(body_rows[0]); i++) {
		struct msg *m = mk(body_rows[i].msg);
		struct score_msg *sm = score_msg_new(m, NULL);
		const struct span *l;
		struct buf b = BUF_INIT;
		size_t n = sm_body(sm, &l);

		join_lines(l, n, &b);
		is_str(b.data, body_rows[i].want, "body: %s", body_rows[i].what);
		buf_free(&b);
		score_msg_free(&sm);
		msg_free(&m);
	}
}

/* Long lines: SpamAssassin cuts rendered lines at the last space before
 * 2048 bytes, rawbody into 2048-4096 byte chunks. */
static void
test_limits(void)
{
	struct buf t = BUF_INIT, b = BUF_INIT;
	struct msg *m;
	struct score_msg *sm;
	const struct span *l;
	size_t n, i, total = 0;
	int ok_len = 1;

	buf_adds(&t, "Subject: s\n\n");
	for (i = 0; i < 1000; i++)
		buf_adds(&t, "word ");
	buf_adds(&t, "\n");
	m = mk(t.data);
	sm = score_msg_new(m, NULL);
	n = sm_body(sm, &l);
	for (i = 0; i < n; i++) {
		total += l[i].len;
		if (l[i].len > 2048)
			ok_len = 0;
	}
	is_int((long long)n, 4, "5000-byte paragraph: subject + 3 lines");
	ok(ok_len, "no rendered line over 2048 bytes");
	is_int((long long)l[1].len, 2045, "cut after the last space");
	is_int((long long)total, 2 + 5000, "no byte lost");
	n = sm_rawbody(sm, &l);
	is_int((long long)n, 2, "rawbody: 5001 bytes in two chunks");
	score_msg_free(&sm);
	msg_free(&m);
	buf_free(&t);
	buf_free(&b);
}

static void
test_rawbody(void)
{
	static const char msg[] =
	    "Subject: s\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: text/html\nContent-Transfer-Encoding: "
	    "quoted-printable\n\n<p>a=3Db</p>\n--b\nContent-Type: "
	    "text/calendar\n\nBEGIN:VCALENDAR\n--b\nContent-Type: image/png\n\n"
	    "xx\n--b--\n";
	struct msg *m = mk(msg);
	struct score_msg *sm = score_msg_new(m, NULL);
	const struct span *l;
	size_t n = sm_rawbody(sm, &l);
	struct span f;

	is_int((long long)n, 1, "rawbody: text/calendar and image skipped");
	/* the line break before a boundary belongs to the boundary */
	ok(n == 1 && l[0].len == 10 && memcmp(l[0].p, "<p>a=b</p>", 10) == 0,
	    "rawbody: decoded, not rendered");
	f = sm_full(sm);
	ok(f.p == m->data && f.len == m->len, "full: the whole message");
	score_msg_free(&sm);
	msg_free(&m);
}

/* ---- URIs and HTML facts ---- */

static int
has_uri(const char *const *u, size_t n, const char *want)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(u[i], want) == 0)
			return 1;
	return 0;
}

static void
test_html(void)
{
	static const char msg[] =
	    "Subject: s\nContent-Type: text/html\n\n"
	    "<html><head><base href=\"http://base.example/dir/page.html\">"
	    "<title>Title here</title></head>"
	    "<body bgcolor=white><a href=\"rel/x.html\">link</a> "
	    "<a href=\"https://abs.example/y?q=1\">two</a>"
	    "<img src=\"/img.gif\" width=10 height=20>"
	    "<img src=\"cid:part1\" width=\"50%\" height=\"10\">"
	    "<font color=\"#ffffff\">hidden</font>"
	    "<font face=\"@@bad\">x</font>"
	    "<form action=\"mailto:x@example.com\"></form>"
	    "Visit www.text.example.com today</body></html>\n";
	struct msg *m = mk(msg);
	struct score_msg *sm = score_msg_new(m, NULL);
	const char *const *u;
	size_t n = sm_uris(sm, &u);
	const struct sm_html *h = sm_html(sm);

	ok(has_uri(u, n, "http://base.example/dir/rel/x.html"),
	    "uri: relative href resolved against <base>");
	ok(has_uri(u, n, "https://abs.example/y?q=1"), "uri: absolute href");
	ok(has_uri(u, n, "http://base.example/img.gif"), "uri: img src");
	ok(has_uri(u, n, "cid:part1"), "uri: cid: kept as is");
	ok(has_uri(u, n, "http://www.text.example.com"),
	    "uri: schemeless www. in the text gets http://");
	ok(h != NULL, "html facts present");
	if (h == NULL)
		goto out;
	is_int((long long)h->image_area, 10 * 20 + 400 * 10,
	    "image_area (percent width x8)");
	ok(h->font_low_contrast, "white on white is low contrast");
	ok(h->font_face_bad, "font face @@bad");
	ok(h->form_action_mailto, "form action mailto");
	is_str(h->title, "Title here", "title");
	is_int(sm_html_inside(h, "a"), 0, "inside{a} balanced");
	is_int(sm_html_inside(h, "font"), 0, "inside{font} balanced");
	is_int(sm_html_inside(h, "marquee"), -1, "inside{marquee} never seen");
	ok(h->closed_html && h->closed_body, "closed html and body");
	is_int((long long)h->nanchor, 2, "two anchors");
out:
	score_msg_free(&sm);
	msg_free(&m);
}

/*
 * Text URIs through _tbirdurire and uri_list_canonicalize: each row is
 * one body line and every URI SpamAssassin 4.0.1 lists for it (sorted,
 * space-separated; get_uri_list with the stock rules' TLDs and
 * redirector patterns). ".example" is no TLD, so such hosts drop out.
 */
static const struct uri_row {
	const char *body;
	const char *want;
} uri_rows[] = {
	/* "#" ends the host: no valid domain in any variant */
	{ "Visit http://%77&#00119;%77.example.com/ now", "" },
	/* the google redirector pattern yields the target too */
	{ "Go http://www.google.com/url?sa=t&q=http://evil.example.net/x&foo=1 "
	    "here", "http://evil.example.net/x "
	    "http://www.google.com/url?sa=t&q=http://evil.example.net/x&foo=1" },
	/* ")" ends a URI without "(", trailing punctuation dropped */
	{ "See http://example.com/foo). and (http://example.org/a_(b)) too",
	    "http://example.com/foo http://example.org/a_(b" },
	/* mailto: %20 and ?subject variants; bare addresses get mailto: */
	{ "Mail mailto:%20joe@example.com?subject=hi or Joe@Example.COM, "
	    "please", "mailto:%20joe@example.com "
	    "mailto:%20joe@example.com?subject=hi mailto:Joe@Example.COM "
	    "mailto:joe@example.com" },
	/* schemeless hosts need a known TLD */
	{ "visit example.info now, not not.a.tld.zz nor www2.site.example.de.",
	    "http://example.info http://www2.site.example.de" },
	/* hex and decimal hosts decoded */
	{ "ip http://0x7f000001/x and http://1113343453/ and "
	    "http://0301.0250.0.01/y", "http://0x7f000001/x http://1113343453/ "
	    "http://127.0.0.1/x http://66.92.69.221/" },
	/* default ports, and http://foobar -> www.foobar.com (bug 6596) */
	{ "http://foobar/path and http://example.com:80/a and "
	    "https://example.com:443/b", "http://example.com/a "
	    "http://example.com:80/a http://foobar/path "
	    "http://www.foobar.com/path https://example.com/b "
	    "https://example.com:443/b" },
	{ "http://www.bank.com@evil.example.net/login ftp.example.org/pub",
	    "ftp://ftp.example.org/pub "
	    "http://www.bank.com@evil.example.net/login" },
	/* cid: ignored, no dot after "@", "e-mail:" prefix stripped */
	{ "cid:image001.png@01D4986E.E3459640 and Vi@gra and "
	    "e-mail:x@y.example.co.uk!", "mailto:x@y.example.co.uk" },
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
test_text_uris(void)
{
	size_t i, k;

	for (i = 0; i < sizeof(uri_rows) / sizeof(uri_rows[0]); i++) {
		struct buf t = BUF_INIT, got = BUF_INIT;
		struct msg *m;
		struct score_msg *sm;
		const char *const *u;
		const char **v;
		size_t n;

		buf_adds(&t, "Subject: t\n\n");
		buf_adds(&t, uri_rows[i].body);
		buf_adds(&t, "\n");
		m = mk(t.data);
		sm = score_msg_new(m, NULL);
		n = sm_uris(sm, &u);
		v = xcalloc(n + 1, sizeof(*v));
		if (n > 0)
			memcpy(v, u, n * sizeof(*v));
		qsort(v, n, sizeof(*v), cmp_str);
		for (k = 0; k < n; k++) {
			if (k > 0)
				buf_addc(&got, ' ');
			buf_adds(&got, v[k]);
		}
		is_str(got.data != NULL ? got.data : "", uri_rows[i].want,
		    "uris of row %zu", i);
		free(v);
		buf_free(&got);
		score_msg_free(&sm);
		msg_free(&m);
		buf_free(&t);
	}
}

/* Registry boundaries, IPv6 and the relay parser on common MTA lines,
 * each value as SpamAssassin 4.0.1 gets it. */
static const char RB[] =
    "Received: from mail.example.org (mail.example.org [198.51.100.9])\n"
    "\tby mx.example.net (Postfix) with ESMTP id 4AB12C\n"
    "\tfor <u@example.net>; Mon, 15 Jul 2002 22:39:48 +0100\n"
    "Received: from gw.example.org (IDENT:abc@gw.example.org [203.0.113.4])\n"
    "\tby mail.example.org (8.11.6/8.11.6) with ESMTP id g6FLdcX12345\n"
    "\tfor <u@example.net>; Mon, 15 Jul 2002 22:39:40 +0100\n"
    "Received: from lugh (root@localhost [127.0.0.1])\n"
    "\tby lugh.tuatha.org (8.9.3/8.9.3) with ESMTP id MAA04027;\n"
    "\tMon, 15 Jul 2002 12:00:00 +0100\n"
    "Received: from h.example.com ([192.0.2.33]) by x.example.net with "
    "esmtp (Exim 3.35 #1 (Debian))\n"
    "\tid 17k5U7-0006sG-00; Mon, 15 Jul 2002 11:00:00 +0100\n"
    "Received: from x (x [2001:db8::5]) by h.example.com (8.12.5/8.12.5) "
    "with ESMTP id abc123; Mon, 15 Jul 2002 10:00:00 +0100\n"
    "From: Joe <joe@www.Sub.Example.co.uk>\n"
    "Message-ID: <123.abc@mailer.example.com.au>\n"
    "X-Originating-IP: [192.0.2.200]\n"
    "X-Host: see web1.example.com, also 2001:db8::1 and 10.1.2.3\n"
    "Subject: t\n\nbody\n";

static const struct hdr_row rb_rows[] = {
	{ "From:addr:host", 1, "www.Sub.Example.co.uk" },
	{ "From:addr:domain", 1, "example.co.uk" },
	{ "Message-ID:host", 1, "mailer.example.com.au" },
	{ "Message-ID:domain", 1, "example.com.au" },
	{ "X-Host:host", 1, "web1.example.com" },
	{ "X-Host:domain", 1, "example.com" },
	{ "X-Host:ip", 1, "2001:db8::1" },
	{ "Received:ip", 1, "198.51.100.9\n203.0.113.4\n127.0.0.1\n"
	    "192.0.2.33\n2001:db8::5" },
	{ "X-Spam-Relays-Trusted", 1, "" },
	{ "X-Spam-Relays-Untrusted", 1, "[ ip=198.51.100.9 rdns=mail.example.org "
	    "helo=mail.example.org by=mx.example.net ident= envfrom= intl=0 "
	    "id=4AB12C auth= msa=0 ] [ ip=203.0.113.4 rdns=gw.example.org "
	    "helo=gw.example.org by=mail.example.org ident=abc envfrom= intl=0 "
	    "id=g6FLdcX12345 auth= msa=0 ] [ ip=127.0.0.1 rdns=localhost "
	    "helo=lugh by=lugh.tuatha.org ident=root envfrom= intl=0 "
	    "id=MAA04027 auth= msa=0 ] [ ip=192.0.2.33 rdns=h.example.com "
	    "helo=h.example.com by=x.example.net ident= envfrom= intl=0 "
	    "id=17k5U7-0006sG-00 auth= msa=0 ] [ ip=2001:db8::5 rdns=x helo=x "
	    "by=h.example.com ident= envfrom= intl=0 id=abc123 auth= msa=0 ] "
	    "[ ip=192.0.2.200 rdns= helo= by= ident= envfrom= intl=0 id= "
	    "auth= msa=0 ]" },
};

/* A fetchmail handover inside the trusted part restarts the relay list
 * (Received.pm found_pop_fetcher_sig). */
static const char FETCH[] =
    "Received: from localhost (localhost [127.0.0.1])\n"
    "\tby phobos.example.com (Postfix) with ESMTP id 7EC734415F\n"
    "\tfor <zzzz@localhost>; Fri, 23 Aug 2002 06:06:50 -0400 (EDT)\n"
    "Received: from phobos [127.0.0.1]\n"
    "\tby localhost with IMAP (fetchmail-5.9.0)\n"
    "\tfor zzzz@localhost (single-drop); Fri, 23 Aug 2002 11:06:50 +0100\n"
    "Received: from example.com (mail.example.com [10.0.0.2])\n"
    "\tby in.example.com (Postfix) with ESMTP id 1234\n"
    "\tfor <zzzz@example.com>; Fri, 23 Aug 2002 06:06:48 -0400 (EDT)\n"
    "Received: from out.example.net (out.example.net [198.51.100.77])\n"
    "\tby example.com (8.12.5/8.12.5) with ESMTP id g7NA6kZ0001;\n"
    "\tFri, 23 Aug 2002 06:06:46 -0400\n"
    "From: a@b.example\nSubject: t\n\nbody\n";

static const struct hdr_row fetch_rows[] = {
	{ "From:addr:domain", 1, "b.example" },
	{ "Message-ID:host", 0, "" },
	{ "Received:ip", 1, "127.0.0.1\n127.0.0.1\n10.0.0.2\n198.51.100.77" },
	{ "X-Spam-Relays-Trusted", 1, "[ ip=10.0.0.2 rdns=mail.example.com "
	    "helo=example.com by=in.example.com ident= envfrom= intl=1 id=1234 "
	    "auth= msa=0 ]" },
	{ "X-Spam-Relays-Untrusted", 1, "[ ip=198.51.100.77 "
	    "rdns=out.example.net helo=out.example.net by=example.com ident= "
	    "envfrom= intl=0 id=g7NA6kZ0001 auth= msa=0 ]" },
};

static void
hdr_table(const char *text, const struct hdr_row *rows, size_t n,
    const char *what)
{
	struct msg *m = mk(text);
	struct score_msg *sm = score_msg_new(m, NULL);
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		int r;

		buf_reset(&b);
		r = sm_header(sm, rows[i].req, 0, &b);
		is_int(r, rows[i].exists, "%s: %s exists", what, rows[i].req);
		is_str(b.data != NULL ? b.data : "", rows[i].want,
		    "%s: %s value", what, rows[i].req);
	}
	buf_free(&b);
	score_msg_free(&sm);
	msg_free(&m);
}

static void
test_registry_relays(void)
{
	struct buf b = BUF_INIT;
	size_t s, e;

	hdr_table(RB, rb_rows, sizeof(rb_rows) / sizeof(rb_rows[0]), "rb");
	hdr_table(FETCH, fetch_rows, sizeof(fetch_rows) /
	    sizeof(fetch_rows[0]), "fetch");
	/* util_rb_tld from a rule file makes a new TLD valid */
	ok(sm_tld_add(SM_TLD, "zz") == 0 && sm_tld_add(SM_TLD_2,
	    "tld.zz") == 0, "sm_tld_add");
	ok(sm_tld_add(0, "x") == -1, "sm_tld_add: bad kind");
	{
		struct msg *m = mk("From: x@host.a.tld.zz\n\nsee www.b.zz/x\n");
		struct score_msg *sm = score_msg_new(m, NULL);
		const char *const *u;
		size_t n = sm_uris(sm, &u);

		sm_header(sm, "From:addr:domain", 0, &b);
		is_str(b.data, "a.tld.zz", "added 2tld bounds the domain");
		ok(n == 1 && strcmp(u[0], "http://www.b.zz/x") == 0,
		    "added TLD makes a schemeless URI valid");
		score_msg_free(&sm);
		msg_free(&m);
	}
	ok(sm_ip_find("x 2001:db8::1 y", 15, &s, &e) && s == 2 && e == 13,
	    "sm_ip_find IPv6");
	ok(!sm_ip_find("1.2.3", 5, &s, &e), "sm_ip_find: no address");
	buf_free(&b);
}

static void
test_conn_relay(void)
{
	struct score_conn c;
	struct msg *m = mk("Received: from a.example (a.example [198.51.100.9])"
	    " by b.example with SMTP id 1;\n\tMon, 1 Jan 2024 00:00:00 +0000\n"
	    "\nbody\n");
	struct score_msg *sm;
	struct buf b = BUF_INIT;

	memset(&c, 0, sizeof(c));
	c.client_addr = "203.0.113.5";
	c.client_name = "client.example";
	c.helo = "helo.example";
	c.my_hostname = "mx.ours.example";
	c.mail_from = "s@client.example";
	c.queue_id = "QID1";
	sm = score_msg_new(m, &c);
	sm_header(sm, "X-Spam-Relays-Untrusted", 0, &b);
	is_str(b.data, "[ ip=203.0.113.5 rdns=client.example helo=helo.example "
	    "by=mx.ours.example ident= envfrom=s@client.example intl=0 id=QID1 "
	    "auth= msa=0 ] [ ip=198.51.100.9 rdns=a.example helo=a.example "
	    "by=b.example ident= envfrom= intl=0 id= auth= msa=0 ]",
	    "the milter's connection is the first relay");
	buf_reset(&b);
	sm_header(sm, "EnvelopeFrom", 0, &b);
	is_str(b.data, "s@client.example", "EnvelopeFrom from the connection");
	ok(sm_conn(sm) == &c && sm_msg(sm) == m && sm_arena(sm) != NULL,
	    "accessors");
	buf_free(&b);
	score_msg_free(&sm);
	msg_free(&m);
}

static void
test_bayes_cache(void)
{
	struct msg *m = mk("\n");
	struct score_msg *sm = score_msg_new(m, NULL);
	double p = -2;

	ok(!sm_bayes_cached(sm, &p), "no cached probability at first");
	sm_bayes_set_cached(sm, 0.25);
	ok(sm_bayes_cached(sm, &p) && p == 0.25, "cached probability kept");
	sm_set_bayes(sm, (struct bayes *)&p);
	ok(!sm_bayes_cached(sm, &p), "a new classifier drops the cache");
	ok(sm_bayes(sm) == (struct bayes *)&p, "sm_bayes returns it");
	score_msg_free(&sm);
	msg_free(&m);
}

/* Hostile input: nothing crashes, output stays bounded. */
static void
test_hostile(void)
{
	static const char *const docs[] = {
		"<", "<a", "<a href=\"", "<!--", "<!", "<?", "</", "<script>",
		"<style>x", "&#", "&#x110000;", "&#0;", "<a b=c d='e>", "<<<<>>>",
		"<plaintext><b>x", "<font color=rgb(999,999,999)>x</font>",
		"<p style=\"color:; background: ,,(\">x", "<base href=x>",
	};
	struct buf t = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		score_html_fuzz_one((const unsigned char *)docs[i],
		    strlen(docs[i]));
	for (i = 0; i < 10000; i++)
		buf_adds(&t, "<div><font><td><tr>");
	score_html_fuzz_one((const unsigned char *)t.data, t.len);
	ok(1, "hostile HTML rendered without crashing");
	buf_free(&t);
}

int
main(void)
{
	test_headers();
	test_body();
	test_limits();
	test_rawbody();
	test_html();
	test_text_uris();
	test_registry_relays();
	test_conn_relay();
	test_bayes_cache();
	test_hostile();
	return tap_done();
}
