/*
 * test-header.c - header indexing, RFC 2047, charsets, base64/QP.
 * Table-driven: every row names itself and prints got versus want.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/limits.h"
#include "msg/msg.h"
#include "tap.h"

#define L(s)	s, sizeof(s) - 1

static void
msg_init(struct msg *m)
{
	memset(m, 0, sizeof(*m));
	m->arena = arena_new();
}

static void
msg_done(struct msg *m)
{
	arena_free(&m->arena);
}

/* msg_parse_header rows. look/idx/want: one lookup (want NULL: absent). */
static const struct hdr_row {
	const char *what;
	const char *in;
	size_t inlen;
	size_t nhdrs;
	size_t body_off;
	unsigned flags;
	const char *look;
	int idx;
	const char *want;
} hdr_rows[] = {
	{ "simple", L("Subject: hi\nFrom: a@b\n\nbody\n"), 2, 23, 0,
	    "subject", 0, "hi" },
	{ "case-insensitive lookup", L("SUBJECT: hi\n\nb"), 1, 13, 0,
	    "sUbJeCt", 0, "hi" },
	{ "folding", L("Subject: a\n b\n\tc\nX: y\n\nbody"), 2, 23, 0,
	    "subject", 0, "a b\tc" },
	{ "repeated: first", L("Received: 1\nReceived: 2\nReceived: 3\n\n"),
	    3, 37, 0, "received", 0, "1" },
	{ "repeated: second", L("Received: 1\nReceived: 2\nReceived: 3\n\n"),
	    3, 37, 0, "received", 1, "2" },
	{ "repeated: last", L("Received: 1\nReceived: 2\nReceived: 3\n\n"),
	    3, 37, 0, "received", -1, "3" },
	{ "repeated: beyond", L("Received: 1\nReceived: 2\n\n"),
	    2, 25, 0, "received", 2, NULL },
	{ "absent", L("A: 1\n\n"), 1, 6, 0, "b", 0, NULL },
	{ "obsolete WSP before colon", L("Subject \t: x\n\n"), 1, 14,
	    MSG_F_OBS_SYNTAX, "subject", 0, "x" },
	{ "8-bit value", L("Subject: caf\xc3\xa9\n\n"), 1, 16, MSG_F_8BIT,
	    "subject", 0, "caf\xc3\xa9" },
	{ "NUL in value", "Subject: a\0b\nX: 1\n\n", 19, 2, 19, MSG_F_NUL,
	    "x", 0, "1" },
	{ "no blank line, body line", L("A: 1\nthis is body\n"), 1, 5,
	    MSG_F_NO_BODY_SEP | MSG_F_BAD_LINE, "a", 0, "1" },
	{ "input ends in header", L("A: 1\nB: 2"), 2, 9, MSG_F_NO_BODY_SEP,
	    "b", 0, "2" },
	{ "input ends after LF", L("A: 1\n"), 1, 5, MSG_F_NO_BODY_SEP,
	    "a", 0, "1" },
	{ "CRLF", L("A: 1\r\nB: x\r\n y\r\n\r\nbody\r\n"), 2, 18, MSG_F_CRLF,
	    "b", 0, "x y" },
	{ "lone CR", L("A: 1\rB: 2\r\rbody"), 2, 11, 0, "b", 0, "2" },
	{ "empty input", "", 0, 0, 0, MSG_F_EMPTY | MSG_F_NO_BODY_SEP,
	    "a", 0, NULL },
	{ "blank first line", L("\nbody"), 0, 1, 0, "a", 0, NULL },
	{ "leading continuation", L(" A: 1\n\n"), 0, 0,
	    MSG_F_NO_BODY_SEP | MSG_F_BAD_LINE, "a", 0, NULL },
	{ "empty field name", L(": x\nA: 1\n\n"), 0, 0,
	    MSG_F_NO_BODY_SEP | MSG_F_BAD_LINE, "a", 0, NULL },
	{ "From_ line left in", L("From a@b Mon Jan 1\nA: 1\n\n"), 0, 0,
	    MSG_F_NO_BODY_SEP | MSG_F_BAD_LINE, "a", 0, NULL },
	{ "empty value", L("A:\nB: 1\n\n"), 2, 9, 0, "a", 0, "" },
	{ "value with colons", L("A: b: c:d\n\n"), 1, 11, 0, "a", 0,
	    "b: c:d" },
	{ "8-bit name ends header", L("A: 1\nN\xe4me: 2\n\n"), 1, 5,
	    MSG_F_NO_BODY_SEP | MSG_F_BAD_LINE, "a", 0, "1" },
	{ "blank line of spaces is a continuation", L("A: 1\n  \nB: 2\n\n"),
	    2, 14, 0, "a", 0, "1" },
};

static void
test_hdr_rows(void)
{
	size_t i;

	for (i = 0; i < sizeof(hdr_rows) / sizeof(hdr_rows[0]); i++) {
		const struct hdr_row *r = &hdr_rows[i];
		const struct hdr *h;
		struct msg m;

		msg_init(&m);
		msg_parse_header(&m, r->in, r->inlen);
		is_int((long long)m.nhdrs, (long long)r->nhdrs,
		    "hdr row %zu (%s): nhdrs", i, r->what);
		is_int((long long)m.body_off, (long long)r->body_off,
		    "hdr row %zu (%s): body_off", i, r->what);
		is_int(m.flags, r->flags, "hdr row %zu (%s): flags", i,
		    r->what);
		h = hdr_find(&m, r->look, r->idx);
		is_str(h ? hdr_unfold(m.arena, h->value) : NULL, r->want,
		    "hdr row %zu (%s): %s[%d]", i, r->what, r->look, r->idx);
		msg_done(&m);
	}
}

static void
test_hdr_details(void)
{
	struct msg m;
	const struct hdr *h;
	static const char in[] = "Subject: a\r\n b\r\nTo: x\r\n\r\nbody";

	msg_init(&m);
	msg_parse_header(&m, in, sizeof(in) - 1);
	h = hdr_find(&m, "subject", 0);
	ok(h != NULL && h->raw.len == 14 &&
	    memcmp(h->raw.p, "Subject: a\n b\n", 14) == 0,
	    "raw span is the LF-normalised field");
	ok(h != NULL && h->value.len == 5 &&
	    memcmp(h->value.p, " a\n b", 5) == 0,
	    "value keeps folding, no final LF");
	is_int((long long)m.head_len, 20, "head_len of CRLF input");
	is_int((long long)hdr_count(&m, "TO"), 1, "hdr_count");
	is_int((long long)hdr_count(&m, "cc"), 0, "hdr_count absent");
	ok(memcmp(in + m.body_off, "body", 4) == 0, "body_off points at body");
	msg_done(&m);

	/* NUL in the value: lengths carry it. */
	msg_init(&m);
	msg_parse_header(&m, "A: x\0y\n\n", 8);
	h = hdr_find(&m, "a", 0);
	ok(h != NULL && h->value.len == 4 && h->value.p[2] == '\0',
	    "NUL kept inside value span");
	is_str(h ? hdr_decode(m.arena, h->value) : NULL, "x\xef\xbf\xbdy",
	    "hdr_decode replaces NUL");
	msg_done(&m);
}

/* Limits: exceed each and check the flag and that nothing breaks. */
static void
test_limits(void)
{
	struct buf b = BUF_INIT;
	struct msg m;
	size_t i;
	clock_t t0;
	const struct hdr *h;

	/* A line over 998 bytes. */
	buf_adds(&b, "Subject: ");
	for (i = 0; i < 1000; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "\n\nbody");
	msg_init(&m);
	msg_parse_header(&m, b.data, b.len);
	is_int(m.flags, MSG_F_LONG_LINE, "long line flag");
	is_int((long long)m.nhdrs, 1, "long line still indexed");
	msg_done(&m);
	buf_reset(&b);

	/* MSG_MAX_HEADERS + 5 fields: 100,000 in fact, and fast. */
	for (i = 0; i < 100000; i++)
		buf_addf(&b, "X-%zu: v\n", i);
	buf_adds(&b, "\nbody");
	msg_init(&m);
	t0 = clock();
	msg_parse_header(&m, b.data, b.len);
	ok((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0,
	    "100,000 headers parse in under a second");
	ok(m.flags & MSG_F_TOO_MANY_HDRS, "too many headers flag");
	is_int((long long)m.nhdrs, MSG_MAX_HEADERS, "nhdrs capped");
	is_int((long long)m.body_off, (long long)b.len - 4,
	    "body_off past too many headers");
	h = hdr_find(&m, "x-9999", 0);
	ok(h != NULL, "last indexed field found");
	ok(hdr_find(&m, "x-10000", 0) == NULL, "field beyond cap not indexed");
	msg_done(&m);
	buf_reset(&b);

	/* Header over MSG_MAX_HEADER_BYTES: index what fits, true body_off. */
	for (i = 0; b.len < MSG_MAX_HEADER_BYTES + 1000; i++)
		buf_addf(&b, "X-Long-%zu: %0200d\n", i, 0);
	buf_adds(&b, "Last: 1\n\nbody");
	msg_init(&m);
	msg_parse_header(&m, b.data, b.len);
	ok(m.flags & MSG_F_HDR_TRUNCATED, "header truncated flag");
	ok(m.head_len <= MSG_MAX_HEADER_BYTES, "head_len within cap");
	is_int((long long)m.body_off, (long long)b.len - 4,
	    "body_off true offset despite truncation");
	ok(hdr_find(&m, "last", 0) == NULL, "field past the cap not indexed");
	ok(hdr_find(&m, "x-long-0", 0) != NULL, "first field indexed");
	msg_done(&m);
	buf_reset(&b);

	/* A 10 MB line: one field, fast, truncated, no crash. */
	buf_adds(&b, "Subject: ");
	buf_reserve(&b, 10 * 1024 * 1024);
	memset(b.data + b.len, 'y', 10 * 1024 * 1024);
	b.len += 10 * 1024 * 1024;
	buf_adds(&b, "\n\nbody");
	msg_init(&m);
	t0 = clock();
	msg_parse_header(&m, b.data, b.len);
	ok((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0,
	    "10 MB line parses in under a second");
	is_int(m.flags, MSG_F_LONG_LINE | MSG_F_HDR_TRUNCATED,
	    "10 MB line flags");
	is_int((long long)m.body_off, (long long)b.len - 4,
	    "10 MB line body_off");
	msg_done(&m);
	buf_reset(&b);

	/* A field name over MSG_MAX_NAME is no field. */
	for (i = 0; i < MSG_MAX_NAME + 1; i++)
		buf_addc(&b, 'N');
	buf_adds(&b, ": v\n\n");
	msg_init(&m);
	msg_parse_header(&m, b.data, b.len);
	is_int(m.flags, MSG_F_NO_BODY_SEP | MSG_F_BAD_LINE,
	    "name over MSG_MAX_NAME flags");
	is_int((long long)m.nhdrs, 0, "name over MSG_MAX_NAME not indexed");
	msg_done(&m);
	buf_reset(&b);
	for (i = 0; i < MSG_MAX_NAME; i++)
		buf_addc(&b, 'N');
	buf_adds(&b, ": v\n\n");
	msg_init(&m);
	msg_parse_header(&m, b.data, b.len);
	is_int((long long)m.nhdrs, 1, "name of MSG_MAX_NAME indexed");
	msg_done(&m);

	/* MSG_MAX_DECODED: a huge value decodes to at most the cap. */
	buf_reset(&b);
	for (i = 0; i < 30000; i++)
		buf_adds(&b, "=?utf-8?q?abcdefghij?= ");
	{
		struct buf out = BUF_INIT;

		t0 = clock();
		rfc2047_decode(&out, b.data, b.len);
		is_int((long long)out.len, MSG_MAX_DECODED,
		    "rfc2047 output capped");
		ok((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0,
		    "30,000 encoded words decode in under a second");
		buf_free(&out);
	}
	/* Many unterminated words: the scanner stays linear. */
	buf_reset(&b);
	for (i = 0; i < 200000; i++)
		buf_adds(&b, "=?a?q?");
	{
		struct buf out = BUF_INIT;

		t0 = clock();
		rfc2047_decode(&out, b.data, b.len);
		ok((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0,
		    "unterminated encoded words decode in linear time");
		buf_free(&out);
	}
	buf_free(&b);
}

/* hdr_decode: unfolding + RFC 2047 + UTF-8 repair. */
static const struct dec_row {
	const char *in;
	const char *want;
} dec_rows[] = {
	{ "plain text", "plain text" },
	{ "  folded\n  text  ", "folded  text" },
	/* RFC 2047 8 examples */
	{ "=?ISO-8859-1?Q?a?=", "a" },
	{ "=?ISO-8859-1?Q?a?= b", "a b" },
	{ "=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab" },
	{ "=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=", "ab" },
	{ "=?ISO-8859-1?Q?a?=\n    =?ISO-8859-1?Q?b?=", "ab" },
	{ "=?ISO-8859-1?Q?a_b?=", "a b" },
	{ "=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a b" },
	{ "=?US-ASCII?Q?Keith_Moore?=", "Keith Moore" },
	{ "=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard" },
	{ "=?iso-8859-1?q?this=20is=20some=20text?=", "this is some text" },
	{ "=?UTF-8?B?w6l0w6k=?=", "\xc3\xa9t\xc3\xa9" },
	{ "=?utf-8?b?w6l0w6k?=", "\xc3\xa9t\xc3\xa9" },	/* no padding */
	{ "=?utf-8*en?Q?hi?=", "hi" },			/* RFC 2231 lang */
	{ "=?UTF-8?B?4oKs?=", "\xe2\x82\xac" },
	/* a character split across two words */
	{ "=?UTF-8?B?4g==?= =?UTF-8?B?gqw=?=", "\xe2\x82\xac" },
	{ "=?utf-8?q?=E2=82?= =?utf-8?q?=AC?=", "\xe2\x82\xac" },
	/* glued to each other and to text (lenient) */
	{ "=?utf-8?q?a?==?utf-8?q?b?=", "ab" },
	{ "x=?utf-8?q?a?=y", "xay" },
	/* malformed: kept as written */
	{ "=?utf-8?x?abc?=", "=?utf-8?x?abc?=" },
	{ "=?utf-8?q?abc", "=?utf-8?q?abc" },
	{ "=?utf-8?q?a b?=", "=?utf-8?q?a b?=" },
	{ "=??q?a?=", "=??q?a?=" },
	{ "=?x-unknown?q?a?= b", "=?x-unknown?q?a?= b" },
	{ "=?no-such-charset-zz?q?a?=", "=?no-such-charset-zz?q?a?=" },
	{ "a =?utf-8?q?b?= c", "a b c" },
	{ "=?utf-8?q?bad=ZZ?=", "bad=ZZ" },
	/* invalid UTF-8 becomes U+FFFD */
	{ "caf\xe9", "caf\xef\xbf\xbd" },
	{ "=?utf-8?q?=FF?=", "\xef\xbf\xbd" },
	{ "=?us-ascii?q?=E9?=", "\xef\xbf\xbd" },
	{ "=?latin1?q?=E9?=", "\xc3\xa9" },
	{ "=?utf8?q?=C3=A9?=", "\xc3\xa9" },
	{ "=?windows-1252?q?=80?=", "\xe2\x82\xac" },
	{ "=?koi8-r?b?8NLJ18XU?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
	{ "=?iso-2022-jp?b?GyRCJEgbKEI=?=", "\xe3\x81\xa8" },
	{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },	/* surrogate */
	{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },		/* overlong */
	{ "", "" },
};

static void
test_decode_rows(void)
{
	struct arena *a = arena_new();
	size_t i;

	for (i = 0; i < sizeof(dec_rows) / sizeof(dec_rows[0]); i++) {
		struct span v = { dec_rows[i].in, strlen(dec_rows[i].in) };

		is_str(hdr_decode(a, v), dec_rows[i].want, "decode row %zu: %s",
		    i, dec_rows[i].in);
	}
	arena_free(&a);
}

/* charset_to_utf8 return codes. */
static const struct cs_row {
	const char *cs;
	const char *in;
	const char *want;
	int ret;
	size_t n;	/* input length; 0: strlen */
} cs_rows[] = {
	{ "UTF-8", "ok", "ok", 0, 0 },
	{ "us-ascii", "a\x80", "a\xef\xbf\xbd", 0, 0 },
	{ "ISO-8859-1", "\xe9", "\xc3\xa9", 0, 0 },
	{ "iso-8859-15", "\xa4", "\xe2\x82\xac", 0, 0 },
	{ "x-unknown", "a\xe9", "a\xef\xbf\xbd", -1, 0 },
	{ "", "a", "a", -1, 0 },
	{ "utf-8//IGNORE", "a", "a", -1, 0 },
	{ "../../etc/passwd", "a", "a", -1, 0 },
	{ "\"utf-8\"", "a", "a", 0, 0 },
	{ "shift_jis", "\x82\xa0", "\xe3\x81\x82", 0, 0 },
	{ "shift_jis", "\x82", "\xef\xbf\xbd", 0, 0 },	/* truncated */
	{ "utf-16le", "a\0", "a", 0, 2 },
	{ "utf-16le", "a\0\0\xd8", "a\xef\xbf\xbd", 0, 4 },
};

static void
test_charset_rows(void)
{
	size_t i;

	for (i = 0; i < sizeof(cs_rows) / sizeof(cs_rows[0]); i++) {
		const struct cs_row *r = &cs_rows[i];
		struct buf out = BUF_INIT;
		size_t n = r->n ? r->n : strlen(r->in);
		int ret;

		ret = charset_to_utf8(&out, r->cs, r->in, n);
		is_int(ret, r->ret, "charset row %zu (%s): return", i, r->cs);
		is_str(out.len ? out.data : "", r->want,
		    "charset row %zu (%s): text", i, r->cs);
		buf_free(&out);
	}
}

/* base64 and QP rows. */
static const struct codec_row {
	int kind;	/* 'b' base64, 'q' QP body, 'h' QP header */
	const char *in;
	const char *want;
} codec_rows[] = {
	{ 'b', "aGVsbG8=", "hello" },
	{ 'b', "aGVsbG8", "hello" },
	{ 'b', "aGVs\nbG8=\n", "hello" },
	{ 'b', "aG!!Vs bG8=", "hello" },
	{ 'b', "", "" },
	{ 'b', "=", "" },
	{ 'b', "YQ==YQ==", "aa" },
	{ 'b', "Y", "" },
	{ 'q', "a=3Db", "a=b" },
	{ 'q', "a=3db", "a=b" },
	{ 'q', "soft=\nbreak", "softbreak" },
	{ 'q', "soft=\r\nbreak", "softbreak" },
	{ 'q', "soft= \t\nbreak", "softbreak" },
	{ 'q', "bad=ZZ", "bad=ZZ" },
	{ 'q', "end=", "end" },
	{ 'q', "end=4", "end=4" },
	{ 'q', "trail  \nx", "trail\nx" },
	{ 'q', "in  side", "in  side" },
	{ 'q', "a_b", "a_b" },
	{ 'h', "a_b", "a b" },
	{ 'h', "=E9", "\xe9" },
};

static void
test_codec_rows(void)
{
	size_t i;

	for (i = 0; i < sizeof(codec_rows) / sizeof(codec_rows[0]); i++) {
		const struct codec_row *r = &codec_rows[i];
		struct buf out = BUF_INIT;

		if (r->kind == 'b')
			base64_decode(&out, r->in, strlen(r->in));
		else
			qp_decode(&out, r->in, strlen(r->in), r->kind == 'h');
		is_str(out.len ? out.data : "", r->want, "codec row %zu (%c): %s",
		    i, r->kind, r->in);
		buf_free(&out);
	}
}

int
main(void)
{
	test_hdr_rows();
	test_hdr_details();
	test_limits();
	test_decode_rows();
	test_charset_rows();
	test_codec_rows();
	return tap_done();
}
