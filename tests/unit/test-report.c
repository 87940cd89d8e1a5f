/*
 * test-report.c - the X-Spam-* fields (report.c) and the --filter header
 * rewrite.
 *
 * The format rows were produced by SpamAssassin 4.0.1's own code, not
 * written by hand: Util::wrap() and Util::get_tag_value_for_score() as
 * PerMsgStatus::_process_header() and the _SCORE_/_STARS_/_TESTS_ tags
 * use them (default add_header lines plus "add_header all Score
 * _SCORE_"), over edge cases: a score that rounds up to required on a
 * ham, exactly required, negative and -0.0 scores, over 50 stars,
 * autolearn=disabled, long test lists and a name longer than a line.
 */
#include <stdlib.h>
#include <string.h>

#include "score/score.h"
#include "tap.h"

static const struct {
	double score, required;
	const char *autolearn;
	const char *hits;	/* space separated, unsorted */
	const char *want;
} fmt_rows[] = {
	{ 1000, 5, "no", "GTUBE NO_RECEIVED NO_RELAYS",
	  "X-Spam-Flag: YES\nX-Spam-Level: **************************************************\nX-Spam-Status: Yes, score=1000.0 required=5.0 tests=GTUBE,NO_RECEIVED,\n\tNO_RELAYS autolearn=no autolearn_force=no version=4.0.1\nX-Spam-Score: 1000.0\n" },
	{ 4.96, 5, "no", "MISSING_DATE MISSING_MID",
	  "X-Spam-Level: ****\nX-Spam-Status: No, score=4.9 required=5.0 tests=MISSING_DATE,MISSING_MID\n\tautolearn=no autolearn_force=no version=4.0.1\nX-Spam-Score: 4.9\n" },
	{ 5, 5, "no", "HTML_MESSAGE",
	  "X-Spam-Flag: YES\nX-Spam-Level: *****\nX-Spam-Status: Yes, score=5.0 required=5.0 tests=HTML_MESSAGE autolearn=no\n\tautolearn_force=no version=4.0.1\nX-Spam-Score: 5.0\n" },
	{ 4.9996, 5, "no", "A",
	  "X-Spam-Flag: YES\nX-Spam-Level: *****\nX-Spam-Status: Yes, score=5.0 required=5.0 tests=A autolearn=no\n\tautolearn_force=no version=4.0.1\nX-Spam-Score: 5.0\n" },
	{ -0.001, 5, "disabled", "",
	  "X-Spam-Level: \nX-Spam-Status: No, score=-0.0 required=5.0 tests=none autolearn=disabled\n\tversion=4.0.1\nX-Spam-Score: -0.0\n" },
	{ 0.05, 0.1, "no", "X",
	  "X-Spam-Level: \nX-Spam-Status: No, score=0 required=0.1 tests=X autolearn=no\n\tautolearn_force=no version=4.0.1\nX-Spam-Score: 0\n" },
	{ -3.2, -1, "ham", "BAYES_00 DKIM_SIGNED",
	  "X-Spam-Level: \nX-Spam-Status: No, score=-3.2 required=-1.0 tests=BAYES_00,DKIM_SIGNED\n\tautolearn=ham autolearn_force=no version=4.0.1\nX-Spam-Score: -3.2\n" },
	{ 51.7, 5, "spam", "X",
	  "X-Spam-Flag: YES\nX-Spam-Level: **************************************************\nX-Spam-Status: Yes, score=51.7 required=5.0 tests=X autolearn=spam\n\tautolearn_force=no version=4.0.1\nX-Spam-Score: 51.7\n" },
	{ 9.96, 10, "no", "Y",
	  "X-Spam-Level: *********\nX-Spam-Status: No, score=9.9 required=10.0 tests=Y autolearn=no\n\tautolearn_force=no version=4.0.1\nX-Spam-Score: 9.9\n" },
	{ 7.3, 5, "no", "RDNS_NONE URIBL_BLOCKED HTML_MESSAGE MIME_HTML_ONLY FREEMAIL_FROM SUBJ_ALL_CAPS FORGED_OUTLOOK_HTML FORGED_OUTLOOK_TAGS MPART_ALT_DIFF_COUNT LOTS_OF_MONEY TVD_SPACE_RATIO",
	  "X-Spam-Flag: YES\nX-Spam-Level: *******\nX-Spam-Status: Yes, score=7.3 required=5.0 tests=FORGED_OUTLOOK_HTML,\n\tFORGED_OUTLOOK_TAGS,FREEMAIL_FROM,HTML_MESSAGE,LOTS_OF_MONEY,\n\tMIME_HTML_ONLY,MPART_ALT_DIFF_COUNT,RDNS_NONE,SUBJ_ALL_CAPS,\n\tTVD_SPACE_RATIO,URIBL_BLOCKED autolearn=no autolearn_force=no\n\tversion=4.0.1\nX-Spam-Score: 7.3\n" },
	{ 12, 5, "no", "AN_EXTREMELY_LONG_RULE_NAME_THAT_DOES_NOT_FIT_ON_ANY_LINE_AT_ALL_WHATSOEVER_REALLY B",
	  "X-Spam-Flag: YES\nX-Spam-Level: ************\nX-Spam-Status: Yes, score=12.0 required=5.0\n\ttests=AN_EXTREMELY_LONG_RULE_NAME_THAT_DOES_NOT_FIT_ON_ANY_LINE_AT_ALL_WHATSOEVER_REALLY,\n\tB autolearn=no autolearn_force=no version=4.0.1\nX-Spam-Score: 12.0\n" },
	{ 3, 5, "no", "ZZ AA MM BB_1 B_",
	  "X-Spam-Level: ***\nX-Spam-Status: No, score=3.0 required=5.0 tests=AA,BB_1,B_,MM,ZZ autolearn=no\n\tautolearn_force=no version=4.0.1\nX-Spam-Score: 3.0\n" },
};

static void
test_format(void)
{
	size_t i, n;

	for (i = 0; i < sizeof fmt_rows / sizeof fmt_rows[0]; i++) {
		struct score_hit hits[32];
		struct score_result r;
		struct buf out = BUF_INIT;
		char *names = xstrdup(fmt_rows[i].hits), *tok, *save = NULL;

		memset(&r, 0, sizeof r);
		memset(hits, 0, sizeof hits);
		n = 0;
		for (tok = strtok_r(names, " ", &save); tok != NULL && n < 32;
		    tok = strtok_r(NULL, " ", &save))
			hits[n++].name = tok;
		r.score = fmt_rows[i].score;
		r.required = fmt_rows[i].required;
		r.is_spam = r.score >= r.required;
		r.hits = hits;
		r.nhits = n;
		(void)snprintf(r.autolearn_text, sizeof r.autolearn_text, "%s",
		    fmt_rows[i].autolearn);
		score_format_headers(&r, &out);
		is_str(out.data, fmt_rows[i].want, "format row %zu (score %g)",
		    i, fmt_rows[i].score);
		buf_free(&out);
		free(names);
	}
}

/* GTUBE's fields, as the rewrite rows expect them */
#define F "X-Spam-Flag: YES\nX-Spam-Level: *****\nX-Spam-Status: Yes, " \
	"score=5.0 required=5.0 tests=A autolearn=no\n\tautolearn_force=no " \
	"version=4.0.1\nX-Spam-Score: 5.0\n"
#define FCRLF "X-Spam-Flag: YES\r\nX-Spam-Level: *****\r\nX-Spam-Status: " \
	"Yes, score=5.0 required=5.0 tests=A autolearn=no\r\n\t" \
	"autolearn_force=no version=4.0.1\r\nX-Spam-Score: 5.0\r\n"

static const struct {
	const char *name, *in, *want;
} rw_rows[] = {
	{ "plain", "From: a\nSubject: s\n\nbody\n",
	  F "From: a\nSubject: s\n\nbody\n" },
	{ "From_ line and Return-Path stay first",
	  "From x  Mon Jan  1 00:00:00 2024\nReturn-Path: <x>\n\t<y>\nTo: b\n\nb\n",
	  "From x  Mon Jan  1 00:00:00 2024\nReturn-Path: <x>\n\t<y>\n" F
	  "To: b\n\nb\n" },
	{ "incoming copies removed with continuations, any case",
	  "X-Spam-Status: No, score=1\n\ttests=X\nTo: b\nx-spam-flag : NO\n"
	  "X-Spam-Checker-Version: SA\nX-Spam-Prev-Subject: p\n"
	  "X-Spam-Report:\n\t* 1 X\n\t* 2 Y\nX-Spam-Levels: kept\n\n"
	  "X-Spam-Status: body\n",
	  F "To: b\nX-Spam-Prev-Subject: p\nX-Spam-Levels: kept\n\n"
	  "X-Spam-Status: body\n" },
	{ "CRLF in, CRLF out", "From: a\r\nX-Spam-Flag: NO\r\n\r\nb\r\n",
	  FCRLF "From: a\r\n\r\nb\r\n" },
	{ "no body separator", "From: a\nSubject: s",
	  F "From: a\nSubject: s" },
	{ "empty input", "", F },
	{ "header ends at a non-field line",
	  "From: a\nthis is body\nX-Spam-Flag: NO\n",
	  F "From: a\nthis is body\nX-Spam-Flag: NO\n" },
};

static void
test_rewrite(void)
{
	struct score_hit hit = { "A", NULL, 5.0, 1 };
	struct score_result r;
	size_t i, off, len;

	memset(&r, 0, sizeof r);
	r.score = 5.0;
	r.required = 5.0;
	r.is_spam = 1;
	r.hits = &hit;
	r.nhits = 1;
	(void)snprintf(r.autolearn_text, sizeof r.autolearn_text, "no");
	for (i = 0; i < sizeof rw_rows / sizeof rw_rows[0]; i++) {
		struct buf out = BUF_INIT;

		len = strlen(rw_rows[i].in);
		off = score_rewrite_head(&r, rw_rows[i].in, len, &out);
		ok(off <= len, "rewrite row %zu: offset within input", i);
		buf_add(&out, rw_rows[i].in + off, len - off);
		is_str(out.data, rw_rows[i].want, "rewrite row %zu: %s", i,
		    rw_rows[i].name);
		buf_free(&out);
	}
}

int
main(void)
{
	size_t k;
	int found = 0;

	test_format();
	test_rewrite();
	for (k = 0; score_header_names[k] != NULL; k++)
		found += strcmp(score_header_names[k], "X-Spam-Status") == 0;
	ok(found == 1, "score_header_names lists X-Spam-Status");
	return tap_done();
}
