/*
 * report.c - SpamAssassin's X-Spam-* header fields, byte for byte.
 *
 * What SpamAssassin 4.0.1 writes with its default add_header lines
 * (Conf.pm) plus the usual "add_header all Score _SCORE_", in the order
 * it writes them:
 *
 *	X-Spam-Flag: YES			(spam only: "add_header spam")
 *	X-Spam-Level: *******
 *	X-Spam-Status: Yes, score=7.3 required=5.0 tests=A,B,C
 *		autolearn=no autolearn_force=no version=4.0.1
 *	X-Spam-Score: 7.3
 *
 * The tags follow PerMsgStatus.pm: the score is first rounded to three
 * decimals (check(): sprintf "%0.3f"), and is_spam is score >= required
 * on that rounded value; _SCORE_ is "%2.1f", except that a ham whose
 * one-decimal score would read as >= required shows required - 0.1
 * (Util::get_tag_value_for_score, bug 6419: "4.96" must not print as
 * "5.0" on a ham); _STARS_ is int(score) stars, at most 50; _TESTS_ the
 * rule names sorted, or "none". Folding is Util::wrap() as
 * _process_header() calls it: width 79, tabs counting 8, breaks after
 * whitespace or a comma, continuation lines starting with a tab.
 *
 * We do not write X-Spam-Checker-Version: it would claim SpamAssassin
 * ran. Incoming copies of it are removed with the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score.h"

/* SpamAssassin's version as _VERSION_ prints it: recipes and log
 * scrapers match "version=4.0.1". */
#define REPORT_SA_VERSION	"4.0.1"
/* Util::wrap(): columns, and what a tab counts for. */
#define REPORT_WRAP_WIDTH	79
#define REPORT_TAB_WIDTH	8
/* _STARS_ stops at 50 stars. */
#define REPORT_MAX_STARS	50

/* Incoming copies of these are removed (DESIGN.md: a sender cannot
 * forge a score). The ones we write, and the other two SpamAssassin
 * writes by default or with report_safe 0, which a reader would take
 * for ours. */
const char *const score_header_names[] = {
	"X-Spam-Flag",
	"X-Spam-Score",
	"X-Spam-Level",
	"X-Spam-Status",
	"X-Spam-Checker-Version",
	"X-Spam-Report",
	NULL,
};

/* Perl's sprintf "%0.3f" then numeric: the score SpamAssassin keeps. */
static double
round3(double v)
{
	char tmp[64];

	if (buf_fmt(tmp, sizeof tmp, "%0.3f", v) == -1)
		return v;	/* absurd magnitude: leave it */
	return strtod(tmp, NULL);
}

/* _SCORE_ (Util::get_tag_value_for_score). */
static void
score_tag(double score, double required, int spam, char *out, size_t outsz)
{
	char rq[64];

	(void)buf_fmt(out, outsz, "%2.1f", score);
	(void)buf_fmt(rq, sizeof rq, "%2.1f", required);
	if (spam || strtod(out, NULL) < strtod(rq, NULL))
		return;
	/* Perl prints the number required - 0.1 with %.15g. */
	(void)buf_fmt(out, outsz, "%.15g", strtod(rq, NULL) - 0.1);
}

static int
is_wrap_break(char c)
{
	/* Perl \s: space, \t, \n, \v, \f, \r */
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' ||
	    c == '\f' || c == '\r' || c == ',';
}

static size_t
wrap_width(const char *p, size_t n)
{
	size_t i, w = n;

	for (i = 0; i < n; i++)
		if (p[i] == '\t')
			w += REPORT_TAB_WIDTH - 1;
	return w;
}

static int
is_perl_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' ||
	    c == '\f' || c == '\r';
}

/*
 * Util::wrap($s, "\t", "", 79, 0, '(?<=[\s,])') appended to out. split()
 * with a capturing zero-width separator yields token, "", token, "",
 * ...; the empty separators take part in the length test (a line that
 * is already too long breaks before one), so they are kept here too.
 */
static void
wrap(const char *s, size_t len, struct buf *out)
{
	struct buf cur = BUF_INIT;
	size_t i = 0, start, nxt_len;
	int pos_mod = 0, sep_next = 0;
	const char *nxt;

	if (len == 0)
		return;
	/* the first piece */
	start = 0;
	while (i < len && !is_wrap_break(s[i]))
		i++;
	if (i < len)
		i++;
	buf_add(&cur, s + start, i - start);
	sep_next = i < len;
	for (;;) {
		/* the next piece: an empty separator, or a token */
		if (i >= len)
			break;
		if (sep_next) {
			nxt = s + i;
			nxt_len = 0;
		} else {
			start = i;
			while (i < len && !is_wrap_break(s[i]))
				i++;
			if (i < len)
				i++;
			nxt = s + start;
			nxt_len = i - start;
			i = start;	/* consumed below, on merge */
		}
		{
			size_t w = wrap_width(cur.data, cur.len);

			if (pos_mod)
				w += wrap_width(nxt, nxt_len);
			if (w <= REPORT_WRAP_WIDTH) {
				buf_add(&cur, nxt, nxt_len);
				if (!sep_next)
					i += nxt_len;
				sep_next = !sep_next;
				pos_mod = 1;
				continue;
			}
		}
		/* break: strip trailing whitespace, next line is "\t" */
		while (cur.len > 0 && is_perl_space(cur.data[cur.len - 1]))
			cur.len--;
		buf_add(out, cur.data ? cur.data : "", cur.len);
		buf_addc(out, '\n');
		buf_reset(&cur);
		buf_addc(&cur, '\t');
		pos_mod = 0;
	}
	buf_add(out, cur.data, cur.len);
	buf_free(&cur);
}

/* One field as _get_added_headers() writes it: "X-Spam-NAME: " + the
 * folded value (blank lines dropped, s/^\s*\n//gm) + "\n". */
static void
add_field(struct buf *out, const char *name, const char *value)
{
	struct buf w = BUF_INIT, line = BUF_INIT;
	const char *p, *data;
	size_t i, ls;

	/* "!!" instead of ": " so that wrap does not break on the space */
	buf_addf(&line, "X-Spam-%s!!%s", name, value);
	wrap(line.data, line.len, &w);
	/* drop lines that are only whitespace and end in a newline */
	buf_reset(&line);
	for (i = 0; i < w.len; i = ls) {
		const char *nl = memchr(w.data + i, '\n', w.len - i);
		size_t j;

		ls = nl ? (size_t)(nl - w.data) + 1 : w.len;
		for (j = i; j < ls && is_perl_space(w.data[j]) &&
		    w.data[j] != '\n'; j++)
			;
		if (nl != NULL && j < ls && w.data[j] == '\n')
			continue;
		buf_add(&line, w.data + i, ls - i);
	}
	data = line.data ? line.data : "";
	p = strstr(data, "!!");
	buf_addf(out, "X-Spam-%s: %s\n", name, p ? p + 2 : data);
	buf_free(&w);
	buf_free(&line);
}

static int
cmp_hit(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
score_format_headers(const struct score_result *res, struct buf *out)
{
	char sc[64], rq[64], stars[REPORT_MAX_STARS + 1];
	struct buf st = BUF_INIT;
	const char **names = NULL;
	double score = round3(res->score);
	int spam = score >= res->required, nstars;
	size_t i;

	score_tag(score, res->required, spam, sc, sizeof sc);
	(void)buf_fmt(rq, sizeof rq, "%2.1f", res->required);

	/* int() truncates toward zero; no stars below 1 */
	nstars = score >= REPORT_MAX_STARS ? REPORT_MAX_STARS :
	    score >= 1 ? (int)score : 0;
	memset(stars, '*', (size_t)nstars);
	stars[nstars] = '\0';

	buf_addf(&st, "%s, score=%s required=%s tests=", spam ? "Yes" : "No",
	    sc, rq);
	if (res->nhits > 0) {
		names = xreallocarray(NULL, res->nhits, sizeof *names);
		for (i = 0; i < res->nhits; i++)
			names[i] = res->hits[i].name;
		/* Perl's sort: byte order */
		qsort(names, res->nhits, sizeof *names, cmp_hit);
		for (i = 0; i < res->nhits; i++)
			buf_addf(&st, "%s%s", i ? "," : "", names[i]);
		free(names);
	} else
		buf_adds(&st, "none");
	/* _AUTOLEARN_ (get_autolearn_status): "disabled" has no force part */
	if (strcmp(res->autolearn_text, "disabled") == 0)
		buf_adds(&st, " autolearn=disabled");
	else
		buf_addf(&st, " autolearn=%s autolearn_force=no",
		    res->autolearn_text[0] ? res->autolearn_text : "no");
	buf_adds(&st, " version=" REPORT_SA_VERSION);

	if (spam)
		add_field(out, "Flag", "YES");
	add_field(out, "Level", stars);
	add_field(out, "Status", st.data);
	add_field(out, "Score", sc);
	buf_free(&st);
}

/* 1 if the field starting at p (a line) is one of score_header_names. */
static int
is_ours(const char *p, size_t n)
{
	size_t i, k;

	for (k = 0; score_header_names[k] != NULL; k++) {
		size_t nl = strlen(score_header_names[k]);

		if (n < nl + 1 || !mem_ieq(p, nl, score_header_names[k], nl))
			continue;
		/* obs-optional: WSP before the colon */
		for (i = nl; i < n && (p[i] == ' ' || p[i] == '\t'); i++)
			;
		if (i < n && p[i] == ':')
			return 1;
	}
	return 0;
}

/* A header field line: ftext (RFC 5322 3.6.8) then optional WSP, ':'. */
static int
is_field(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && p[i] > ' ' && p[i] < 127 && p[i] != ':'; i++)
		;
	if (i == 0)
		return 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

size_t
score_rewrite_head(const struct score_result *res, const char *p, size_t len,
    struct buf *out)
{
	struct buf add = BUF_INIT;
	size_t i = 0, ls, n, k;
	int crlf = 0, placed = 0, skipping = 0, first = 1;

	score_format_headers(res, &add);
	for (;;) {
		const char *nl = i < len ? memchr(p + i, '\n', len - i) : NULL;

		ls = nl ? (size_t)(nl - p) + 1 : len;
		n = ls - i;
		if (first) {
			crlf = n >= 2 && p[ls - 2] == '\r' && p[ls - 1] == '\n';
			/* mbox "From " line: kept first, as SpamAssassin
			 * keeps its mbox separator */
			if (first == 1 && n >= 5 &&
			    memcmp(p + i, "From ", 5) == 0) {
				buf_add(out, p + i, n);
				i = ls;
				first = 2;
				continue;
			}
			first = 0;
			/* A leading Return-Path stays above our fields (bug
			 * 3409 in SpamAssassin) */
			if (n >= 12 && mem_ieq(p + i, 12, "Return-Path:", 12)) {
				buf_add(out, p + i, n);
				for (i = ls; i < len && (p[i] == ' ' ||
				    p[i] == '\t'); i = ls) {
					nl = memchr(p + i, '\n', len - i);
					ls = nl ? (size_t)(nl - p) + 1 : len;
					buf_add(out, p + i, ls - i);
				}
				continue;
			}
		}
		if (!placed) {
			/* our fields, in the input's line ends */
			for (k = 0; k < add.len; k++) {
				if (add.data[k] == '\n' && crlf)
					buf_addc(out, '\r');
				buf_addc(out, add.data[k]);
			}
			placed = 1;
		}
		if (i >= len)
			break;
		if (n > 0 && (p[i] == ' ' || p[i] == '\t')) {
			/* a continuation goes with its field */
			if (!skipping)
				buf_add(out, p + i, n);
			i = ls;
			continue;
		}
		if (!is_field(p + i, n))
			break;	/* the blank line, or the body began */
		skipping = is_ours(p + i, n);
		if (!skipping)
			buf_add(out, p + i, n);
		i = ls;
	}
	buf_free(&add);
	return i;
}
