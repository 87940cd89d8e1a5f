/*
 * fuzz-score.c - libFuzzer target for the scoring engine's parsers: the
 * SpamAssassin rule-file reader (with the Perl-regex translation and the
 * meta compiler behind it), the HTML-to-text renderer and the Bayes
 * tokenizer (with the message preparation it reads through). Rule files
 * come from admins but are often downloaded; HTML and messages come from
 * anyone: any crash, leak, sanitizer report or timeout is a bug.
 *
 * The first byte picks what the rest of the input is:
 *   0..95     a .cf file: score_rules_load(), then the loaded rules run
 *             over a fixed message (every kind of rule gets input)
 *   96..175   an HTML document: html_render() via score_html_fuzz_one()
 *   176..255  a message: score_msg_new(), then bayes_learn() in group
 *             mode (tokenizing; the store is written every
 *             FUZZ_LEARN_GROUP inputs, a scratch LMDB under $TMPDIR,
 *             left there: point TMPDIR at a scratch directory)
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *	    -I src -I BUILD tests/fuzz/fuzz-score.c src/score/ *.c \
 *	    src/store/ *.c src/msg/ *.c src/lib/ *.c \
 *	    -lpcre2-8 -llmdb -lhiredis -lm -o fuzz-score
 *	./fuzz-score -max_total_time=180 CORPUS tests/fuzz/seeds-score
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "score/score-int.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LEARN_GROUP	64	/* messages per store write */
#define FUZZ_MAX_CF		(256 * 1024)	/* bytes of one fuzzed .cf */

/* A message with something for every rule kind: Received chain, encoded
 * header, text and HTML parts, URIs, an attachment. */
static const char fixed_msg[] =
    "Received: from mx.example.org (mx.example.org [192.0.2.1])\n"
    "\tby mail.example.com (Postfix) with ESMTP id 4F2A1\n"
    "\tfor <bob@example.com>; Mon, 1 Jan 2024 00:00:00 +0000\n"
    "Received: from [10.0.0.5] (helo=pc) by mx.example.org; "
    "Mon, 1 Jan 2024 00:00:00 +0000\n"
    "From: \"Alice =?utf-8?q?Ex=C3=A4mple?=\" <alice@example.org>\n"
    "To: bob@example.com, \"Carol\" <carol@example.net>\n"
    "Reply-To: alice123@gmail.com\n"
    "Subject: =?iso-8859-1?q?Gr=FC=DFe?= FREE money now!!!\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
    "Message-ID: <20240101000000.GA1@example.org>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\n"
    "\n"
    "--b1\n"
    "Content-Type: multipart/alternative; boundary=\"b2\"\n"
    "\n"
    "--b2\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Click here: http://192.0.2.7/win?id=3D1 or mailto:x@example.net\n"
    "100% guaranteed, =E2=82=AC1,000,000 for you.\n"
    "\n"
    "--b2\n"
    "Content-Type: text/html; charset=us-ascii\n"
    "\n"
    "<html><head><title>Win</title></head><body bgcolor=white>"
    "<font color=#fffffe size=1>hidden</font><center>"
    "<a href=\"http://example.com/%75nsubscribe\">unsub</a>"
    "<img src=\"cid:x\" width=600 height=400><!-- c -->"
    "</center></body></html>\n"
    "--b2--\n"
    "--b1\n"
    "Content-Type: application/octet-stream; name=\"a.exe\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
    "--b1--\n";

#define FUZZ_MAX_PATH		4096

/* Scratch files live under $TMPDIR (t-fuzz.sh points it at its scratch
 * directory, removed afterwards) or /tmp. */
static char cf_path[FUZZ_MAX_PATH];
static int cf_fd = -1;
static struct store *learn_store;
static struct bayes *learn_bayes;

static const char *
tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	return t != NULL && *t != '\0' ? t : "/tmp";
}

static void
cf_cleanup(void)
{
	if (cf_fd != -1)
		(void)unlink(cf_path);
}

static struct msg *
msg_from(const char *p, size_t len)
{
	struct msg *m = msg_new();

	msg_parse_header(m, p, len);
	m->data = p;
	m->len = len;
	m->size = (off_t)len;
	return m;
}

static void
fuzz_cf(const uint8_t *data, size_t size)
{
	char *cf;
	const char *paths[1];
	struct score_load_opts o;
	struct score_load_report rep;
	struct score_rules *r = NULL;
	struct score_result res;
	struct score_msg *sm;
	struct msg *m;
	struct err e;
	size_t i;

	if (size > FUZZ_MAX_CF)
		return;
	if (cf_fd == -1) {
		if (buf_fmt(cf_path, sizeof cf_path, "%s/fuzz-score-cf.XXXXXX",
		    tmpdir()) == -1 || (cf_fd = mkstemp(cf_path)) == -1)
			abort();
		atexit(cf_cleanup);
	}
	/* "include" could name /dev/stdin or a huge file: neutralised,
	 * so that every run reads only this input (SpamAssassin's keys are
	 * case-insensitive) */
	cf = malloc(size + 1);
	memcpy(cf, data, size);
	for (i = 0; i + 7 <= size; i++)
		if (strncasecmp(cf + i, "include", 7) == 0)
			cf[i] = 'X';
	if (ftruncate(cf_fd, 0) == -1 ||
	    pwrite(cf_fd, cf, size, 0) != (ssize_t)size)
		abort();
	free(cf);
	paths[0] = cf_path;
	memset(&o, 0, sizeof o);
	o.paths = paths;
	o.npaths = 1;
	o.score_set = data[-1] & 1 ? 2 : 0;
	memset(&rep, 0, sizeof rep);
	err_clear(&e);
	if (score_rules_load(&o, &r, &rep, &e) == 0) {
		m = msg_from(fixed_msg, sizeof fixed_msg - 1);
		sm = score_msg_new(m, NULL);
		if (score_run(r, sm, NULL, &res, &e) == 0) {
			struct buf hdrs = BUF_INIT;

			score_format_headers(&res, &hdrs);
			buf_free(&hdrs);
			score_result_free(&res);
		}
		score_msg_free(&sm);
		msg_free(&m);
		score_rules_free(&r);
	}
	score_load_report_free(&rep);
}

static void
fuzz_learn(const uint8_t *data, size_t size)
{
	struct score_msg *sm;
	struct msg *m;
	struct err e;
	char *copy;

	if (learn_bayes == NULL) {
		char dir[FUZZ_MAX_PATH], spec[FUZZ_MAX_PATH + 16];
		struct bayes_conf bc;

		if (buf_fmt(dir, sizeof dir, "%s/fuzz-score-bayes.XXXXXX",
		    tmpdir()) == -1 || mkdtemp(dir) == NULL ||
		    buf_fmt(spec, sizeof spec, "lmdb:%s/db", dir) == -1)
			abort();
		if ((learn_store = store_open(spec, tmpdir(), &e)) == NULL)
			abort();
		memset(&bc, 0, sizeof bc);
		learn_bayes = bayes_new(learn_store, &bc);
		bayes_set_group(learn_bayes, FUZZ_LEARN_GROUP);
	}
	/* a private copy: out-of-bounds reads show up in ASan */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	m = msg_from(copy, size);
	sm = score_msg_new(m, NULL);
	err_clear(&e);
	(void)bayes_learn(learn_bayes, sm, data[-1] & 1, 0, &e);
	score_msg_free(&sm);
	msg_free(&m);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] < 96)
		fuzz_cf(data + 1, size - 1);
	else if (data[0] < 176)
		(void)score_html_fuzz_one(data + 1, size - 1);
	else
		fuzz_learn(data + 1, size - 1);
	return 0;
}
