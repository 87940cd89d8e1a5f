/*
 * test-score-eval.c - the eval: functions of eval.c over small messages,
 * through the real message side (prepare.c, html.c, relays.c).
 *
 * Every row's expectation is SpamAssassin 4.0.1's verdict for the same
 * message and call. To check the table against SpamAssassin again, run
 *	EVAL_SA_DUMP=/tmp/dir ./test-score-eval
 * which writes each row as /tmp/dir/NN.eml plus /tmp/dir/NN.cf (the
 * rule "KIND EVTEST eval:FN(ARGS)" and the row's configuration lines)
 * and /tmp/dir/NN.want (0 or 1); then, for each row,
 *	spamassassin -L -t --siteconfigpath=/tmp/dir/NN.d < NN.eml
 * (NN.d holds the stock .pre files and NN.cf) hits EVTEST exactly when
 * NN.want is 1. The rows marked "ours" have no SpamAssassin verdict
 * (SPF from the milter, Bayes without a classifier).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/score/score-int.h"
#include "tap.h"

#define MAX_ARGS	4

struct row {
	const char *name;
	const char *kind;	/* SpamAssassin rule type: header, body... */
	const char *fn;
	const char *args[MAX_ARGS];
	const char *conf;	/* configuration lines, or NULL */
	const char *msg;
	int want;
	int ours;		/* no SpamAssassin verdict to compare */
};

/* ---- messages ---- */

#define HDR_BASE							\
	"Received: from mx.example.org (mx.example.org [192.0.2.7])\n"	\
	"\tby mail.example.net (Postfix) with ESMTP id 4AB12C;\n"	\
	"\tMon, 15 Jul 2002 22:39:48 +0100\n"				\
	"Message-ID: <abc@example.org>\n"

static const char PLAIN[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: lunch on friday\n"
    "\n"
    "Hello Ann,\n"
    "\n"
    "shall we have lunch on Friday? The usual place is fine by me.\n"
    "\n"
    "Joe\n";

static const char SHIFTED[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 18:10:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: old news\n"
    "\n"
    "text\n";

static const char FUTURE[] =
    HDR_BASE
    "Date: Wed, 17 Jul 2002 09:00:00 -0700\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: from the future\n"
    "\n"
    "text\n";

static const char NO_TO_NO_RCVD[] =
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "Subject: hello\n"
    "Message-ID: <x@example.org>\n"
    "\n"
    "text\n";

static const char HTML_ONLY[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: pictures\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/html; charset=us-ascii\n"
    "\n"
    "<html><head><title>A very long title that goes on and on and on "
    "for quite a while</title></head>\n"
    "<body><center><img src=\"http://img.example.com/a.gif\" width=400 "
    "height=300>\n"
    "<script>var x = 1;</script>\n"
    "<!-- a comment -->\n"
    "<p>Hi</p>\n";

static const char ALT[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: newsletter\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=\"BB\"\n"
    "\n"
    "--BB\n"
    "Content-Type: text/plain\n"
    "\n"
    "x\n"
    "--BB\n"
    "Content-Type: text/html\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "<html><body><p>This is the newsletter, with a line that is far too "
    "long for quoted-printable ever to allow it</p></body></html>\n"
    "<p>=41=42=43 and more words to make the html part much longer than "
    "the text part, which it has to be</p>\n"
    "--BB\n"
    "Content-Type: image/gif\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7R0lGODlhAQABAIAA"
    "AAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7\n"
    "--BB--\n"
    "\n"
    "This is an epilogue.\n";

static const char ATTACH[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: the file\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\n"
    "\n"
    "--XX\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "see attached\n"
    "--XX\n"
    "Content-Type: application/octet-stream; name=\"a.bin\"\n"
    "Content-Disposition: attachment; filename=\"a.bin\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "AAAA\n"
    "--XX--\n";

static const char CAPS[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: MAKE MONEY FAST NOW\n"
    "\n"
    "YOU CAN MAKE MONEY FAST WITH THIS AMAZING OFFER THAT WE HAVE FOR YOU "
    "TODAY AND ONLY TODAY SO ACT NOW AND DO NOT WAIT ANY LONGER BECAUSE "
    "THIS OFFER WILL NOT LAST FOREVER AND YOU WILL REGRET IT IF YOU MISS "
    "IT SO CALL US RIGHT NOW\n";

static const char VERTICAL[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: v\n"
    "\n"
    "B U Y   N O W   C H E A P\n";

static const char FREEMAIL[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Lucky Winner <winner77@freemail.test>\n"
    "Reply-To: claims2@freemail.test\n"
    "To: ann@example.net\n"
    "Subject: you won\n"
    "\n"
    "Write to agent9@othermail.test to claim. Visit http://win.example.top/ "
    "now.\n";

static const char FREEMAIL_NODIGIT[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Lucky Winner <winner@freemail.test>\n"
    "Reply-To: claims@freemail.test\n"
    "To: ann@example.net\n"
    "Subject: you won\n"
    "\n"
    "text\n";

static const char BANK[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Service <service@secure.bank.test>\n"
    "To: ann@example.net\n"
    "Subject: account\n"
    "\n"
    "text\n";

static const char ILLEGAL[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: \xb4\xf3\xbc\xd2\xba\xc3 \xc3\xa2\n"
    "\n"
    "text\n";

static const char TOSUBJ[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: ann, your order\n"
    "\n"
    "text\n";

static const char DIFFDOM[] =
    "Return-Path: <bounce@lists.example.com>\n"
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: list mail\n"
    "\n"
    "text\n";

static const char SORTED[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: aa@example.net, ab@example.net, ac@example.net, ad@example.net,\n"
    " ae@example.net, af@example.net, ag@example.net\n"
    "Subject: hello all\n"
    "\n"
    "text\n";

static const char SIMILAR[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: anna@exa.net, anne@exb.net, anny@exc.net, anto@exd.net,\n"
    " andy@exe.net\n"
    "Subject: hello all\n"
    "\n"
    "text\n";

static const char TEMPLATE[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: hello\n"
    "X-Campaign: %CAMPAIGN_ID\n"
    "\n"
    "text\n";

static const char GMAIL[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe.bloggs@gmail.com>\n"
    "To: ann@example.net\n"
    "Subject: hello\n"
    "\n"
    "text\n";

static const char UNICODE[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: hello\n"
    "\n"
    "&#x0041;&#x0042;&#x0043;&#x0044;&#x0045; text\n";

static const char BLANKS[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: hello\n"
    "\n"
    "a\n\n\n\n\n\n\n\n\n\n\nb\n";

static const char B64LONG[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: hello\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8g"
    "d29ybGQgaGVsbG8gd29ybGQ=\n";

static const char RATWARE[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: \"Some One\" <bob@example.com>\n"
    "To: ann@example.net\n"
    "Subject: hello\n"
    "Message-Id: <ABCDEFGHIJKLMNOPQRSTUVWXYZAB.bob@example.com>\n"
    "\n"
    "text\n";

static const char HELO_IP[] =
    "Received: from 203.0.113.9 (unknown [198.51.100.20])\n"
    "\tby mail.example.net (Postfix) with SMTP id 4AB12C;\n"
    "\tMon, 15 Jul 2002 22:39:48 +0100\n"
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@yahoo.com>\n"
    "To: ann@example.net\n"
    "Subject: hello\n"
    "Message-ID: <x@example.org>\n"
    "\n"
    "text\n";

static const char DOTCOM_HELO[] =
    "Received: from mail.hotmail.com (unknown [198.51.100.20])\n"
    "\tby mail.example.net (Postfix) with SMTP id 4AB12C;\n"
    "\tMon, 15 Jul 2002 22:39:48 +0100\n"
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@hotmail.com>\n"
    "To: ann@example.net\n"
    "Subject: hello\n"
    "Message-ID: <x@example.org>\n"
    "\n"
    "text\n";

static const char RATWARE_ENV[] =
    "Return-Path: <example.net.ann@spammer.example>\n"
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: hello\n"
    "\n"
    "text\n";

/* ImageInfo: a GIF 300x200 (Content-Disposition filename), a PNG 640x480
 * (Content-Type name), a JPEG 50x40 as image/jpg, and a GIF that is not
 * base64 (not counted). Pixel coverage 369200. */
static const char IMAGES[] =
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: pics\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\n"
    "\n"
    "--b1\n"
    "Content-Type: text/plain\n"
    "\n"
    "see the pictures\n"
    "--b1\n"
    "Content-Type: image/gif\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-Disposition: attachment; filename=\"image001.gif\"\n"
    "\n"
    "R0lGODlhLAHIAPcAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n"
    "--b1\n"
    "Content-Type: image/png; name=\"chart.png\"\n"
    "Content-Transfer-Encoding: BASE64\n"
    "\n"
    "iVBORw0KGgoAAAANSUhEUgAAAoAAAAHgCAIAAAC6s0uzAAAAAElFTkSuQmCC\n"
    "--b1\n"
    "Content-Type: image/jpg\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "/9j/4AAQSkZJRgABAQAAAQABAAD/wAARCAAoADIDASIAAhEBAxEB/9k=\n"
    "--b1\n"
    "Content-Type: image/gif\n"
    "Content-Transfer-Encoding: 7bit\n"
    "\n"
    "GIF89a,\001\310\000\n"
    "--b1--\n";

/* Broken images: truncated headers, a PNG without IHDR, a JPEG whose
 * marker chain breaks: counted, no dimensions. */
static const char BROKEN_IMAGES[] =
    HDR_BASE
    "From: Joe <joe@example.org>\n"
    "Subject: broken\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\n"
    "\n"
    "--b1\n"
    "Content-Type: image/gif\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "R0lGODlh\n"
    "--b1\n"
    "Content-Type: image/png\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "iVBORw0KGgoAAAANSUhEAA==\n"
    "--b1\n"
    "Content-Type: image/jpeg\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "/9j/4AAQSkZJRgABAQ==\n"
    "--b1--\n";

/* The envelope sender's domain against the relay's reverse name. */
static const char RP_MATCH[] =
    "Return-Path: <bounce-123@lists.example.org>\n"
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: list mail\n"
    "\n"
    "text\n";

static const char RP_OTHER[] =
    "Return-Path: <bounce@other.example.com>\n"
    HDR_BASE
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"
    "From: Joe <joe@example.org>\n"
    "To: ann@example.net\n"
    "Subject: list mail\n"
    "\n"
    "text\n";

/* HTTPSMismatch / URIEval: anchors whose text shows an https:// URL. */
#define HTML_HDR							\
    HDR_BASE								\
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"				\
    "From: Joe <joe@example.org>\n"					\
    "To: ann@example.net\n"						\
    "Subject: account\n"						\
    "MIME-Version: 1.0\n"						\
    "Content-Type: text/html\n"						\
    "\n"

static const char HTTPS_MISMATCH[] =
    HTML_HDR
    "<html><body><p>Please log in:\n"
    "<a href=\"http://login.evil-example.com/x\">https://www.paypal.com/"
    "signin</a></p></body></html>\n";

static const char HTTPS_SAME[] =
    HTML_HDR
    "<html><body><p>Please log in:\n"
    "<a href=\"http://www.paypal.com/x\">https://paypal.com/signin</a>"
    "</p></body></html>\n";

static const char HTTPS_MANY[] =
    HTML_HDR
    "<html><body>"
    "<a href=\"http://login.evil-example.com/x\">https://www.paypal.com/</a>"
    "<a href=\"http://a1.example.com/\">one</a>"
    "<a href=\"http://a2.example.com/\">two</a>"
    "<a href=\"http://a3.example.com/\">three</a>"
    "<a href=\"http://a4.example.com/\">four</a>"
    "<a href=\"http://a5.example.org/\">five</a>"
    "<a href=\"http://a6.example.org/\">six</a>"
    "<a href=\"http://a7.example.org/\">seven</a>"
    "<a href=\"http://a8.example.org/\">eight</a>"
    "<a href=\"http://a9.example.org/\">nine</a>"
    "</body></html>\n";

static const char HTTPS_IP[] =
    HTML_HDR
    "<html><body><a href=\"http://192.0.2.1/bank/\">https://bank.example."
    "com/</a></body></html>\n";

/* Messages for the agreement fixes found at 1,450 corpus messages. */
#define HDR_REST							\
    "Date: Mon, 15 Jul 2002 22:39:00 +0100\n"				\
    "To: ann@example.net\n"						\
    "Subject: hello\n"							\
    "Message-ID: <x@example.org>\n"					\
    "\n"								\
    "text\n"

/* From:addr is cut at the second "@" (spam-2/00080) */
static const char FROM_TWO_AT[] =
    HDR_BASE
    "From: joe@local@freemail.test\n"
    HDR_REST;

/* "[ufa]@..." is a phrase to SpamAssassin, not an address (spam-2/00135) */
static const char FROM_BRACKET_LOCAL[] =
    HDR_BASE
    "From: joe@[192.0.2.1], [ufa]@freemail.test\n"
    HDR_REST;

/* sendmail "W ([IP]) by X (" looked the name up: no rdns (spam-1/00041) */
static const char DOTCOM_SENDMAIL[] =
    "Received: from yahoo.com ([198.51.100.20]) by mail.example.net\n"
    "    (8.11.6/8.11.6) with ESMTP id g7NGfZZ32185 for <ann@example.net>;\n"
    "    Fri, 23 Aug 2002 17:41:36 +0100\n"
    "From: Joe <joe@example.org>\n"
    HDR_REST;

/* Lotus Domino never records the rDNS: not "no rdns" (spam-1/00029) */
static const char DOTCOM_DOMINO[] =
    "Received: from mx1.mail.yahoo.com ([198.51.100.20])\n"
    "          by mail.example.net (Lotus Domino Release 5.0.4)\n"
    "          with ESMTP id 2001010215584608:1459 ;\n"
    "          Tue, 2 Jan 2001 15:58:46 +0800\n"
    "From: Joe <joe@example.org>\n"
    HDR_REST;

/* qmail "from unknown (HELO x) (IP) by Y with smtp" (spam-2/01242) */
static const char DOTCOM_QMAIL_UNKNOWN[] =
    "Received: from unknown (HELO f64.law4.hotmail.com) (198.51.100.20)\n"
    "  by mail.example.net with smtp; 2 Aug 2002 04:12:37 -0800\n"
    "From: Joe <joe@example.org>\n"
    HDR_REST;

/* "08" is no IPv4 octet: the helo is not an address (spam-2/01359) */
static const char HELO_IP_ZERO[] =
    "Received: from 203.0.113.08 (unknown [198.51.100.20])\n"
    "\tby mail.example.net (Postfix) with SMTP id 4AB12C;\n"
    "\tMon, 15 Jul 2002 22:39:48 +0100\n"
    "From: Joe <joe@example.org>\n"
    HDR_REST;

/* qmail "from IP (HELO x) by Y (IP) with SMTP" is a relay (spam-2/00712) */
static const char QMAIL_HELO_IP[] =
    "Received: from 198.51.100.20 (HELO localhost)\n"
    "  by mail.example.net (192.0.2.1) with SMTP; 16 Jul 2002 11:34:10 -0700\n"
    "From: Joe <joe@example.org>\n"
    HDR_REST;

/* HTML::Parser's comments: "<!--" over lines does not match /<!.*?>/,
 * a bogus "<!word>" is a comment that does (spam-1/00274), markup open
 * at the end is a comment, not text (spam-1/00479); HTML_HDR above */
static const char HTML_COMMENT_LINES[] =
    HTML_HDR
    "<html><body><!--\nnot on one line\n-->\n<p>Hi there</p></body></html>\n";

static const char HTML_BOGUS_COMMENT[] =
    HTML_HDR
    "<html><body><td><!8749mtDF5-466PBl14>\n<p>Hi there</p></body></html>\n";

static const char HTML_OPEN_AT_END[] =
    HTML_HDR
    "<html><body><p>Hi there</p>\n<a href=http://example.com/x ta.\n"
    "3YMLffs0V1go6Cnd\n";

static const struct row rows[] = {
	/* MIMEEval */
	{ "attachment", "rawbody", "check_for_mime", { "mime_attachment" },
	    NULL, ATTACH, 1, 0 },
	{ "no attachment", "rawbody", "check_for_mime", { "mime_attachment" },
	    NULL, PLAIN, 0, 0 },
	{ "base64 count", "rawbody", "check_for_mime", { "mime_base64_count" },
	    NULL, ATTACH, 1, 0 },
	{ "qp long line", "rawbody", "check_for_mime", { "mime_qp_long_line" },
	    NULL, ALT, 1, 0 },
	{ "qp count", "rawbody", "check_for_mime", { "mime_qp_count" },
	    NULL, ALT, 1, 0 },
	{ "no qp", "rawbody", "check_for_mime", { "mime_qp_count" },
	    NULL, PLAIN, 0, 0 },
	{ "b64 text", "rawbody", "check_for_mime",
	    { "mime_base64_encoded_text" }, NULL, B64LONG, 1, 0 },
	{ "html only", "body", "check_for_mime_html_only", { NULL },
	    NULL, HTML_ONLY, 1, 0 },
	{ "alt not html only", "body", "check_for_mime_html_only", { NULL },
	    NULL, ALT, 0, 0 },
	{ "alt has html", "body", "check_for_mime_html", { NULL },
	    NULL, ALT, 1, 0 },
	{ "plain no html", "body", "check_for_mime_html", { NULL },
	    NULL, PLAIN, 0, 0 },
	{ "multipart ratio", "body", "check_mime_multipart_ratio",
	    { "0.00", "0.10" }, NULL, ALT, 1, 0 },
	{ "ma non text", "body", "check_ma_non_text", { NULL },
	    NULL, ALT, 1, 0 },
	{ "ma non text plain", "body", "check_ma_non_text", { NULL },
	    NULL, PLAIN, 0, 0 },
	{ "base64 length", "body", "check_base64_length", { "79" },
	    NULL, B64LONG, 1, 0 },
	{ "base64 length short", "body", "check_base64_length", { "79" },
	    NULL, ATTACH, 0, 0 },
	{ "epilogue", "body", "check_msg_parse_flags",
	    { "mime_epilogue_exists" }, NULL, ALT, 1, 0 },
	{ "no epilogue", "body", "check_msg_parse_flags",
	    { "mime_epilogue_exists" }, NULL, ATTACH, 0, 0 },
	{ "uppercase", "body", "check_for_uppercase", { "75", "100" },
	    NULL, CAPS, 1, 0 },
	{ "lowercase", "body", "check_for_uppercase", { "25", "100" },
	    NULL, PLAIN, 0, 0 },
	{ "unicode ratio", "rawbody", "check_abundant_unicode_ratio",
	    { "0.02" }, NULL, UNICODE, 1, 0 },
	{ "no unicode", "rawbody", "check_abundant_unicode_ratio",
	    { "0.02" }, NULL, PLAIN, 0, 0 },

	/* HTMLEval */
	{ "tag script", "body", "html_tag_exists", { "script" }, NULL,
	    HTML_ONLY, 1, 0 },
	{ "tag meta", "body", "html_tag_exists", { "meta" }, NULL,
	    HTML_ONLY, 0, 0 },
	{ "body open", "body", "html_tag_balance", { "body", "!= 0" }, NULL,
	    HTML_ONLY, 1, 0 },
	{ "body closed", "body", "html_tag_balance", { "body", "!= 0" }, NULL,
	    ALT, 0, 0 },
	{ "image only", "body", "html_image_only", { "0000", "0400" }, NULL,
	    HTML_ONLY, 1, 0 },
	{ "image only too long", "body", "html_image_only", { "0", "100" },
	    NULL, HTML_ONLY, 0, 0 },
	{ "image only no img", "body", "html_image_only", { "0", "400" },
	    NULL, ALT, 0, 0 },
	{ "length range", "body", "html_range", { "length", "0", "1024" },
	    NULL, HTML_ONLY, 1, 0 },
	{ "length eval", "body", "html_eval", { "length", "< 384" }, NULL,
	    HTML_ONLY, 1, 0 },
	{ "length eval big", "body", "html_eval", { "length", "< 100" },
	    NULL, HTML_ONLY, 0, 0 },
	{ "html test", "body", "html_test", { "html" }, NULL, HTML_ONLY, 1, 0 },
	{ "html test plain", "body", "html_test", { "html" }, NULL, PLAIN,
	    0, 0 },
	{ "comment over lines", "body", "html_text_match",
	    { "comment", "<!.*?>" }, NULL, HTML_COMMENT_LINES, 0, 0 },
	{ "bogus comment", "body", "html_text_match", { "comment", "<!.*?>" },
	    NULL, HTML_BOGUS_COMMENT, 1, 0 },
	{ "open tag at the end", "body", "html_text_match",
	    { "comment", "<!.*?>" }, NULL, HTML_OPEN_AT_END, 0, 0 },
	{ "comment", "body", "html_text_match", { "comment", "<!.*?>" }, NULL,
	    HTML_ONLY, 1, 0 },
	{ "title ratio", "body", "html_title_subject_ratio", { "3.5" }, NULL,
	    HTML_ONLY, 1, 0 },
	{ "title match", "body", "html_text_match", { "title", ".{40}" },
	    NULL, HTML_ONLY, 1, 0 },

	/* BodyEval */
	{ "short body", "body", "check_body_length", { "1024" }, NULL, PLAIN,
	    1, 0 },
	{ "body not short", "body", "check_body_length", { "50" }, NULL,
	    PLAIN, 0, 0 },
	{ "vertical", "body", "tvd_vertical_words", { "50", "101" }, NULL,
	    VERTICAL, 1, 0 },
	{ "not vertical", "body", "tvd_vertical_words", { "50", "101" },
	    NULL, PLAIN, 0, 0 },
	{ "blank lines", "body", "check_blank_line_ratio",
	    { "50", "100", "4" }, NULL, BLANKS, 1, 0 },
	{ "few blank lines", "body", "check_blank_line_ratio",
	    { "50", "100", "4" }, NULL, PLAIN, 0, 0 },

	{ "alternative differs", "body", "multipart_alternative_difference",
	    { "99", "100" }, NULL, ALT, 1, 0 },
	{ "alternative count", "body", "multipart_alternative_difference_count",
	    { "3", "1" }, NULL, ALT, 0, 0 },

	/* HeaderEval */
	{ "shifted -6..-3", "header", "check_for_shifted_date",
	    { "-6", "-3" }, NULL, SHIFTED, 1, 0 },
	{ "not shifted", "header", "check_for_shifted_date", { "-6", "-3" },
	    NULL, PLAIN, 0, 0 },
	{ "in sync", "header", "check_for_shifted_date", { "-3", "3" }, NULL,
	    PLAIN, 1, 0 },
	{ "future 24..48", "header", "check_for_shifted_date",
	    { "24", "48" }, NULL, FUTURE, 1, 0 },
	{ "future undef", "header", "check_for_shifted_date",
	    { "96", "undef" }, NULL, FUTURE, 0, 0 },
	{ "missing to", "header", "check_for_missing_to_header", { NULL },
	    NULL, NO_TO_NO_RCVD, 1, 0 },
	{ "has to", "header", "check_for_missing_to_header", { NULL }, NULL,
	    PLAIN, 0, 0 },
	{ "illegal subject", "header", "check_illegal_chars",
	    { "Subject", "0.00", "2" }, NULL, ILLEGAL, 1, 0 },
	{ "legal subject", "header", "check_illegal_chars",
	    { "Subject", "0.00", "2" }, NULL, PLAIN, 0, 0 },
	{ "to user in subject", "header", "check_for_to_in_subject",
	    { "user" }, NULL, TOSUBJ, 1, 0 },
	{ "to not in subject", "header", "check_for_to_in_subject",
	    { "user" }, NULL, PLAIN, 0, 0 },
	{ "all caps", "header", "subject_is_all_caps", { NULL }, NULL, CAPS,
	    1, 0 },
	{ "not all caps", "header", "subject_is_all_caps", { NULL }, NULL,
	    PLAIN, 0, 0 },
	{ "gated (no received)", "header",
	    "gated_through_received_hdr_remover", { NULL }, NULL,
	    NO_TO_NO_RCVD, 1, 0 },
	{ "not gated", "header", "gated_through_received_hdr_remover",
	    { NULL }, NULL, PLAIN, 0, 0 },
	{ "different domains", "header", "check_equal_from_domains",
	    { NULL }, NULL, DIFFDOM, 1, 0 },
	{ "sorted recipients", "header", "sorted_recipients", { NULL }, NULL,
	    SORTED, 1, 0 },
	{ "unsorted recipients", "header", "sorted_recipients", { NULL },
	    NULL, PLAIN, 0, 0 },
	{ "similar recipients", "header", "similar_recipients",
	    { "0.65", "undef" }, NULL, SIMILAR, 1, 0 },
	{ "dissimilar recipients", "header", "similar_recipients",
	    { "0.65", "undef" }, NULL, SORTED, 0, 0 },
	{ "template", "header", "check_unresolved_template", { NULL }, NULL,
	    TEMPLATE, 1, 0 },
	{ "no template", "header", "check_unresolved_template", { NULL },
	    NULL, PLAIN, 0, 0 },
	{ "forged gmail", "header",
	    "check_for_forged_gmail_received_headers", { NULL }, NULL, GMAIL,
	    1, 0 },
	{ "not gmail", "header", "check_for_forged_gmail_received_headers",
	    { NULL }, NULL, PLAIN, 0, 0 },
	{ "ratware name id", "header", "check_ratware_name_id", { NULL },
	    NULL, RATWARE, 1, 0 },
	{ "header count", "header", "check_header_count_range",
	    { "Received", "1", "1" }, NULL, PLAIN, 1, 0 },

	{ "forged yahoo", "header", "check_for_forged_yahoo_received_headers",
	    { NULL }, NULL, HELO_IP, 1, 0 },
	{ "not yahoo", "header", "check_for_forged_yahoo_received_headers",
	    { NULL }, NULL, PLAIN, 0, 0 },
	{ "no hotmail received", "header",
	    "check_for_no_hotmail_received_headers", { NULL }, NULL, GMAIL,
	    0, 0 },
	{ "ratware envelope", "header", "check_ratware_envelope_from",
	    { NULL }, NULL, RATWARE_ENV, 1, 0 },
	{ "no ratware envelope", "header", "check_ratware_envelope_from",
	    { NULL }, NULL, DIFFDOM, 0, 0 },

	/* RelayEval */
	{ "helo ip mismatch", "header", "helo_ip_mismatch", { NULL }, NULL,
	    HELO_IP, 1, 0 },
	{ "helo ip match", "header", "helo_ip_mismatch", { NULL }, NULL,
	    PLAIN, 0, 0 },
	{ "dotcom helo no rdns", "header", "check_for_no_rdns_dotcom_helo",
	    { NULL }, NULL, DOTCOM_HELO, 1, 0 },
	{ "dotcom helo other", "header", "check_for_no_rdns_dotcom_helo",
	    { NULL }, NULL, HELO_IP, 0, 0 },
	{ "no relays", "header", "check_no_relays", { NULL }, NULL,
	    NO_TO_NO_RCVD, 1, 0 },
	{ "relays", "header", "check_no_relays", { NULL }, NULL, PLAIN, 0, 0 },
	{ "not all trusted", "header", "check_all_trusted", { NULL }, NULL,
	    PLAIN, 0, 0 },
	{ "dotcom helo, sendmail no rdns", "header",
	    "check_for_no_rdns_dotcom_helo", { NULL }, NULL, DOTCOM_SENDMAIL,
	    1, 0 },
	{ "dotcom helo, Domino", "header", "check_for_no_rdns_dotcom_helo",
	    { NULL }, NULL, DOTCOM_DOMINO, 0, 0 },
	{ "dotcom helo, qmail unknown", "header",
	    "check_for_no_rdns_dotcom_helo", { NULL }, NULL,
	    DOTCOM_QMAIL_UNKNOWN, 1, 0 },
	{ "helo with octet 08", "header", "helo_ip_mismatch", { NULL }, NULL,
	    HELO_IP_ZERO, 0, 0 },
	{ "qmail HELO relay", "header", "check_no_relays", { NULL }, NULL,
	    QMAIL_HELO_IP, 0, 0 },

	/* FreeMail and lists */
	{ "freemail from", "header", "check_freemail_from", { NULL },
	    "freemail_domains freemail.test othermail.test\n", FREEMAIL, 1, 0 },
	{ "freemail, from cut at second @", "header", "check_freemail_from",
	    { NULL }, "freemail_domains freemail.test\n", FROM_TWO_AT, 0, 0 },
	{ "freemail, [x]@ is no address", "header", "check_freemail_from",
	    { NULL }, "freemail_domains freemail.test\n", FROM_BRACKET_LOCAL,
	    0, 0 },
	{ "freemail wildcard", "header", "check_freemail_from", { NULL },
	    "freemail_domains free*.test\n", FREEMAIL, 1, 0 },
	{ "not freemail", "header", "check_freemail_from", { NULL },
	    "freemail_domains freemail.test\n", PLAIN, 0, 0 },
	{ "freemail welcomelisted", "header", "check_freemail_from", { NULL },
	    "freemail_domains freemail.test\n"
	    "freemail_welcomelist winner77@freemail.test\n", FREEMAIL, 0, 0 },
	{ "freemail reply-to digit", "header", "check_freemail_header",
	    { "Reply-To", "\\d@" }, "freemail_domains freemail.test\n",
	    FREEMAIL, 1, 0 },
	/* SpamAssassin matches these regexes with /o: the first one used in
	 * the process wins, "\d@" in the stock rules, so rows use only it */
	{ "freemail reply-to regex miss", "header", "check_freemail_header",
	    { "Reply-To", "\\d@" }, "freemail_domains freemail.test\n",
	    FREEMAIL_NODIGIT, 0, 0 },
	{ "freemail replyto", "header", "check_freemail_replyto",
	    { "replyto" }, "freemail_domains freemail.test othermail.test\n",
	    FREEMAIL, 1, 0 },
	{ "freemail replyto plain", "header", "check_freemail_replyto",
	    { "replyto" }, "freemail_domains freemail.test\n", PLAIN, 0, 0 },
	{ "from in list", "header", "check_from_in_list", { "TESTBANKS" },
	    "enlist_addrlist (TESTBANKS) *@*.bank.test\n", BANK, 1, 0 },
	{ "from not in list", "header", "check_from_in_list",
	    { "TESTBANKS" }, "enlist_addrlist (TESTBANKS) *@*.bank.test\n",
	    PLAIN, 0, 0 },
	{ "uri host listed", "header", "check_uri_host_listed",
	    { "TESTTLD" }, "enlist_uri_host (TESTTLD) top work\n", FREEMAIL,
	    1, 0 },
	{ "uri host not listed", "header", "check_uri_host_listed",
	    { "TESTTLD" }, "enlist_uri_host (TESTTLD) work\n", FREEMAIL, 0, 0 },

	/* ours: no SpamAssassin verdict */
	/* ImageInfo (ImageInfo.pm) */
	{ "3 images", "body", "image_count", { "all", "3", "3" }, NULL,
	    IMAGES, 1, 0 },
	{ "1 gif", "body", "image_count", { "gif", "1", "1" }, NULL, IMAGES,
	    1, 0 },
	{ "2+ png", "body", "image_count", { "png", "2" }, NULL, IMAGES, 0,
	    0 },
	{ "image/jpg is jpeg", "body", "image_count", { "jpeg", "1", "1" },
	    NULL, IMAGES, 1, 0 },
	{ "no images", "body", "image_count", { "all", "1" }, NULL, PLAIN, 0,
	    0 },
	{ "broken images counted", "body", "image_count", { "all", "3", "3" },
	    NULL, BROKEN_IMAGES, 1, 0 },
	{ "coverage all", "body", "pixel_coverage", { "all", "360000",
	    "400000" }, NULL, IMAGES, 1, 0 },
	{ "coverage png", "body", "pixel_coverage", { "png", "180000",
	    "475000" }, NULL, IMAGES, 1, 0 },
	{ "coverage gif small", "body", "pixel_coverage", { "gif", "180000" },
	    NULL, IMAGES, 0, 0 },
	{ "coverage jpeg exact max", "body", "pixel_coverage", { "jpeg",
	    "2000", "2000" }, NULL, IMAGES, 1, 0 },
	{ "broken: no coverage", "body", "pixel_coverage", { "all", "1" },
	    NULL, BROKEN_IMAGES, 0, 0 },
	{ "size exact HxW", "body", "image_size_exact", { "gif", "200",
	    "300" }, NULL, IMAGES, 1, 0 },
	{ "size exact WxH", "body", "image_size_exact", { "gif", "300",
	    "200" }, NULL, IMAGES, 0, 0 },
	{ "size exact all", "body", "image_size_exact", { "all", "40", "50" },
	    NULL, IMAGES, 1, 0 },
	{ "size range", "body", "image_size_range", { "png", "400", "600" },
	    NULL, IMAGES, 1, 0 },
	{ "size range max h", "body", "image_size_range", { "png", "400",
	    "600", "470" }, NULL, IMAGES, 0, 0 },
	{ "named (disposition)", "body", "image_named", { "image001.gif" },
	    NULL, IMAGES, 1, 0 },
	{ "named (type name)", "body", "image_named", { "chart.png" }, NULL,
	    IMAGES, 1, 0 },
	{ "not named", "body", "image_named", { "x.gif" }, NULL, IMAGES, 0,
	    0 },
	{ "name regex", "body", "image_name_regex", { "^chart\\.png$" },
	    NULL, IMAGES, 1, 0 },
	{ "name regex slashes literal", "body", "image_name_regex",
	    { "/^chart\\.png$/" }, NULL, IMAGES, 0, 0 },
	{ "name regex miss", "body", "image_name_regex", { "/^x/" }, NULL,
	    IMAGES, 0, 0 },
	{ "text/pixels low", "body", "image_to_text_ratio", { "all", "0.000",
	    "0.015" }, NULL, IMAGES, 1, 0 },
	{ "text/pixels high", "body", "image_to_text_ratio", { "jpeg", "0.1",
	    "100" }, NULL, IMAGES, 0, 0 },
	/* WLBLEval */
	{ "mailfrom matches relay", "header", "check_mailfrom_matches_rcvd",
	    { NULL }, NULL, RP_MATCH, 1, 0 },
	{ "mailfrom other domain", "header", "check_mailfrom_matches_rcvd",
	    { NULL }, NULL, RP_OTHER, 0, 0 },
	{ "no envelope sender", "header", "check_mailfrom_matches_rcvd",
	    { NULL }, NULL, PLAIN, 0, 0 },
	{ "def welcome by rdns", "header",
	    "check_from_in_default_welcomelist", { NULL },
	    "def_welcomelist_from_rcvd joe@example.org example.org\n", PLAIN,
	    1, 0 },
	{ "def welcome glob", "header", "check_from_in_default_welcomelist",
	    { NULL }, "def_whitelist_from_rcvd *@EXAMPLE.org mx.example.org\n",
	    PLAIN, 1, 0 },
	{ "def welcome by ip", "header", "check_from_in_default_welcomelist",
	    { NULL }, "def_welcomelist_from_rcvd joe@example.org [192.0.2.7]\n",
	    PLAIN, 1, 0 },
	{ "def welcome by net", "header",
	    "check_from_in_default_welcomelist", { NULL },
	    "def_welcomelist_from_rcvd joe@example.org [192.0.2.0]/24\n",
	    PLAIN, 1, 0 },
	{ "def welcome classful", "header",
	    "check_from_in_default_welcomelist", { NULL },
	    "def_welcomelist_from_rcvd joe@example.org [192.0.2]\n", PLAIN, 1,
	    0 },
	{ "def welcome other relay", "header",
	    "check_from_in_default_welcomelist", { NULL },
	    "def_welcomelist_from_rcvd joe@example.org elsewhere.example\n",
	    PLAIN, 0, 0 },
	{ "def welcome other sender", "header",
	    "check_from_in_default_welcomelist", { NULL },
	    "def_welcomelist_from_rcvd ann@example.org example.org\n", PLAIN,
	    0, 0 },
	{ "def welcome suffix only", "header",
	    "check_from_in_default_welcomelist", { NULL },
	    "def_welcomelist_from_rcvd joe@example.org ample.org\n", PLAIN, 0,
	    0 },
	/* HTTPSMismatch, URIEval https_ip */
	{ "https text, other http domain", "body",
	    "check_https_http_mismatch", { "1", "10" }, NULL, HTTPS_MISMATCH,
	    1, 0 },
	{ "https text, same domain", "body", "check_https_http_mismatch",
	    { "1", "10" }, NULL, HTTPS_SAME, 0, 0 },
	{ "https mismatch, 10 anchors", "body", "check_https_http_mismatch",
	    { "1", "10" }, NULL, HTTPS_MANY, 0, 0 },
	{ "https mismatch, no max", "body", "check_https_http_mismatch",
	    { "1" }, NULL, HTTPS_MANY, 1, 0 },
	{ "https text, IP href", "body", "check_https_http_mismatch",
	    { "1", "10" }, NULL, HTTPS_IP, 0, 0 },
	{ "https ip mismatch", "body", "check_https_ip_mismatch", { NULL },
	    NULL, HTTPS_IP, 1, 0 },
	{ "https ip mismatch, no IP href", "body", "check_https_ip_mismatch",
	    { NULL }, NULL, HTTPS_MISMATCH, 0, 0 },
	{ "https, plain text", "body", "check_https_http_mismatch",
	    { "1", "10" }, NULL, PLAIN, 0, 0 },
	{ "bayes off", "body", "check_bayes", { "0.99", "1.00" }, NULL, PLAIN,
	    0, 1 },
	{ "spf pass", "header", "check_for_spf_pass", { NULL }, NULL, PLAIN,
	    1, 1 },
	{ "spf fail", "header", "check_for_spf_fail", { NULL }, NULL, PLAIN,
	    0, 1 },
};

#define NROWS	(sizeof(rows) / sizeof(rows[0]))

static size_t
nargs(const struct row *r)
{
	size_t n = 0;

	while (n < MAX_ARGS && r->args[n] != NULL)
		n++;
	return n;
}

static struct score_eval_conf *
conf_of(const struct row *r)
{
	struct score_eval_conf *ec = score_eval_conf_new();
	const char *l = r->conf;
	struct err e;

	while (l != NULL && *l != '\0') {
		const char *nl = strchr(l, '\n'), *sp = strchr(l, ' ');
		char key[64];
		size_t kl;

		if (nl == NULL)
			nl = l + strlen(l);
		kl = (size_t)(sp - l);
		if (sp == NULL || sp > nl || kl >= sizeof(key))
			break;
		memcpy(key, l, kl);
		key[kl] = '\0';
		ok(score_eval_conf_line(ec, key, sp + 1, (size_t)(nl - sp - 1),
		    &e) == 1, "%s: conf line %s taken", r->name, key);
		l = *nl != '\0' ? nl + 1 : nl;
	}
	return ec;
}

static void
dump_row(const char *dir, size_t i, const struct row *r)
{
	char path[4096];
	FILE *f;
	size_t k;

	if (buf_fmt(path, sizeof(path), "%s/%02zu.eml", dir, i) == -1 ||
	    (f = fopen(path, "w")) == NULL)
		return;
	fputs(r->msg, f);
	fclose(f);
	if (buf_fmt(path, sizeof(path), "%s/%02zu.cf", dir, i) == -1 ||
	    (f = fopen(path, "w")) == NULL)
		return;
	fprintf(f, "%s EVTEST eval:%s(", r->kind, r->fn);
	for (k = 0; k < nargs(r); k++)
		fprintf(f, "%s'%s'", k > 0 ? "," : "", r->args[k]);
	fprintf(f, ")\nscore EVTEST 1\n%s", r->conf != NULL ? r->conf : "");
	fclose(f);
	if (buf_fmt(path, sizeof(path), "%s/%02zu.want", dir, i) == -1 ||
	    (f = fopen(path, "w")) == NULL)
		return;
	fprintf(f, "%d %s\n", r->ours ? -1 : r->want, r->name);
	fclose(f);
}

static void
test_rows(void)
{
	const char *dump = getenv("EVAL_SA_DUMP");
	struct score_conn conn;
	size_t i;

	memset(&conn, 0, sizeof(conn));
	conn.spf = "pass";
	for (i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];
		const struct score_eval_fn *fn = score_eval_find(r->fn);
		struct score_eval_conf *ec;
		struct msg *m;
		struct score_msg *sm;
		struct err e;
		int got;

		if (dump != NULL)
			dump_row(dump, i, r);
		if (!ok(fn != NULL, "row %zu %s: %s is in the table", i,
		    r->name, r->fn))
			continue;
		if (fn->check != NULL)
			ok(fn->check(r->args, nargs(r), &e) == 0,
			    "row %zu %s: arguments accepted", i, r->name);
		ec = conf_of(r);
		m = msg_new();
		msg_parse_header(m, r->msg, strlen(r->msg));
		m->data = r->msg;
		m->len = strlen(r->msg);
		sm = score_msg_new(m, strncmp(r->fn, "check_for_spf", 13) == 0 ?
		    &conn : NULL);
		got = fn->fn(sm, r->args, nargs(r), ec);
		is_int(got > 0, r->want, "row %zu %s: %s", i, r->name, r->fn);
		score_msg_free(&sm);
		m->data = NULL;
		m->len = 0;
		msg_free(&m);
		score_eval_conf_free(&ec);
	}
}

static void
test_table(void)
{
	const struct score_eval_fn *f;
	struct err e;
	size_t i;

	/* names are unique and findable; argument checks reject too few */
	for (i = 0; score_eval_fns[i].name != NULL; i++) {
		f = score_eval_find(score_eval_fns[i].name);
		if (f != &score_eval_fns[i])
			ok(0, "%s: found the first entry",
			    score_eval_fns[i].name);
	}
	ok(i > 50, "table has %zu functions", i);
	ok(score_eval_find("check_rbl") == NULL, "check_rbl is not ours");
	ok(score_eval_find("check_razor2") == NULL, "razor is not ours");
	f = score_eval_find("check_for_shifted_date");
	ok(f != NULL && f->check != NULL && f->check(NULL, 0, &e) == -1,
	    "check_for_shifted_date() without arguments is refused");

	ok(score_plugin_loaded("Mail::SpamAssassin::Plugin::HTMLEval"),
	    "HTMLEval loaded");
	ok(score_plugin_loaded("FreeMail"), "FreeMail by short name");
	ok(!score_plugin_loaded("Mail::SpamAssassin::Plugin::TextCat"),
	    "TextCat not loaded");
	ok(!score_plugin_loaded("Mail::SpamAssassin::Plugin::Razor2"),
	    "Razor2 not ours");
}

static void
test_conf(void)
{
	struct score_eval_conf *ec = score_eval_conf_new();
	struct err e;

	is_int(score_eval_conf_line(ec, "body", "X /y/", 5, &e), 0,
	    "body is not an eval setting");
	is_int(score_eval_conf_line(ec, "enlist_addrlist", "NOPAREN a@b", 11,
	    &e), -1, "enlist_addrlist without (NAME) is refused");
	is_int(score_eval_conf_line(ec, "freemail_domains", "a.test b_c.test",
	    15, &e), 1, "freemail_domains taken (bad entries skipped)");
	{
		/* a filled welcome list is not evaluated: "cannot say" */
		const struct score_eval_fn *f =
		    score_eval_find("check_from_in_welcomelist");
		struct msg *m = msg_new();
		struct score_msg *sm;
		static const char txt[] = "From: a@b.example\n\nx\n";

		msg_parse_header(m, txt, sizeof(txt) - 1);
		m->data = txt;
		m->len = sizeof(txt) - 1;
		sm = score_msg_new(m, NULL);
		is_int(f->fn(sm, NULL, 0, ec), 0, "empty welcome list: no hit");
		is_int(score_eval_conf_line(ec, "welcomelist_from",
		    "*@b.example", 11, &e), 1, "welcomelist_from taken");
		is_int(f->fn(sm, NULL, 0, ec), -1,
		    "filled welcome list: cannot say");
		score_msg_free(&sm);
		m->data = NULL;
		m->len = 0;
		msg_free(&m);
	}
	score_eval_conf_free(&ec);
	ok(ec == NULL, "conf freed and cleared");
}

/* Hostile input: no crash, no hit on empty or odd messages. */
static void
test_hostile(void)
{
	static const char *const msgs[] = {
		"", "\n", "Subject:\n\n", "Date: 99 Foo 99999 99:99:99 +9999\n"
		"Received: from x by y; 99 Jan 2002 99:99:99 -9999\n\n",
		"Content-Type: multipart/alternative; boundary=\"\"\n\n"
		"--\n--\n",
		"Content-Type: text/html\n\n<<<<>>>><img><img width=99999999 "
		"height=99999999>",
	};
	size_t i, k;

	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct msg *m = msg_new();
		struct score_msg *sm;
		struct score_eval_conf *ec = score_eval_conf_new();
		static const char *const args[] = { "0", "undef", "2" };

		msg_parse_header(m, msgs[i], strlen(msgs[i]));
		m->data = msgs[i];
		m->len = strlen(msgs[i]);
		sm = score_msg_new(m, NULL);
		for (k = 0; score_eval_fns[k].name != NULL; k++)
			(void)score_eval_fns[k].fn(sm, args, 3, ec);
		ok(1, "hostile message %zu: every function ran", i);
		score_msg_free(&sm);
		m->data = NULL;
		m->len = 0;
		msg_free(&m);
		score_eval_conf_free(&ec);
	}
}

int
main(void)
{
	test_table();
	test_conf();
	test_rows();
	test_hostile();
	return tap_done();
}
