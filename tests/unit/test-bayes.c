/*
 * test-bayes.c - the Bayes classifier (src/score/bayes.c):
 *  - tokenizer rows: the tokens SpamAssassin 4.0.1's Plugin/Bayes.pm
 *    makes of the same input (_tokenize_line / _tokenize_headers run by
 *    hand in Perl, stop words disabled: see the comment at the rows);
 *  - Robinson's f(w) and chi-square combining against hand-computed
 *    values and CombineChi.pm's answers;
 *  - learn / relearn / move / forget idempotence and classification
 *    against LMDB in a scratch directory and against a redis-server
 *    started here on loopback;
 *  - Redis stopped and killed mid-learn: clear ERR_TEMP errors, and the
 *    counts stay consistent (every message counted fully or not at all);
 *  - the token cache (bayes-cache.c): classification through it is bit
 *    for bit the uncached one, first time and from the cache, with a
 *    cache so small it keeps starting over, from two threads at once,
 *    and right after a learn (never a stale count); store_version moves
 *    on writes only; Redis (no version) is read uncached.
 *
 * bayes.c is included so that its static parts can be tested; the
 * message side is tests/unit/fake-sm.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>

#include "../../src/score/bayes.c"
#include "../../src/score/bayes-cache.c"
#include "fake-sm.c"
#include "tap.h"
#include "redis-server.h"

static char scratch[PATH_MAX];

/* ---- tokens as text ---- */

struct toklist {
	char **v;
	size_t n, cap;
	int no_pairs;		/* drop "2:" tokens (not in SpamAssassin) */
};

static void
collect(void *arg, const char *tok, size_t len)
{
	struct toklist *l = arg;
	size_t i;

	/* word pairs ("2:a b") are sluice's own: collect_sa skips them */
	if (l->no_pairs && len >= 2 && memcmp(tok, "2:", 2) == 0)
		return;
	for (i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == len && memcmp(l->v[i], tok, len) == 0)
			return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	l->v[l->n++] = xstrndup(tok, len);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "[a] [b] ..." sorted, as the Perl side prints them */
static void
toklist_fmt(struct toklist *l, struct buf *out)
{
	size_t i;

	qsort(l->v, l->n, sizeof *l->v, cmp_str);
	buf_reset(out);
	for (i = 0; i < l->n; i++) {
		buf_addf(out, "%s[%s]", i ? " " : "", l->v[i]);
		free(l->v[i]);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
	if (out->data == NULL)
		buf_adds(out, "");
}

/*
 * Expected values: perl with Mail::SpamAssassin::Plugin::Bayes, calling
 * $bayes->_tokenize_line($line, $prefix, $region) with
 * bayes_stopword_languages empty (sluice keeps no stop-word list: SA's
 * English one is an unanchored regex that drops every token containing
 * "one", "for", "mail"..., e.g. "Money" and every address at "mail.").
 */
static void
test_tokenize_line(void)
{
	static const struct {
		int region;
		const char *pfx, *in, *want;
	} rows[] = {
		{ 1, "", "Hello World, visit www.Example.com now!!!",
		    "[UD:Example.com] [UD:com] [UD:www.Example.com] [World] "
		    "[hello] [now] [now!!!] [visit] [world] [www.Example.com] "
		    "[www.example.com] [wwwExamplecom] [wwwexamplecom]" },
		{ 1, "", "Contact john.doe@mail.example.co.uk...today",
		    "[D*co.uk] [D*example.co.uk] [D*mail.example.co.uk] [D*uk] "
		    "[U*john.doe] [contact] [sk:john.do] [sk:johndo] [today]" },
		{ 1, "", "The price is $31,000,000 -- act fast... really",
		    "[$31,000,000] [31000000] [act] [fast] [price] [really] "
		    "[the]" },
		{ 0, "H*x:", "Microsoft Outlook Express 6.00.2600.0000",
		    "[H*x:6.00.2600.0000] [H*x:Express] [H*x:Microsoft] "
		    "[H*x:Outlook]" },
		{ 1, "", "Supercalifragilisticexpialidocious and "
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		    "[and] [sk:ABCDEFG] [sk:abcdefg] [sk:superca]" },
		{ 1, "", "caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7"
		    "\x95\x8c\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c",
		    "[caf] [caf\xc3\xa9] [u8:\xe4\xb8\x96] [u8:\xe4\xbd\xa0] "
		    "[u8:\xe5\xa5\xbd] [u8:\xe7\x95\x8c]" },
		{ 2, "", "http://www.Spam-Site.biz/cgi-bin/track.cgi?id="
		    "12345678901234567890",
		    "[12345678901234567890] [UD:Spam-Site.biz] [UD:biz] "
		    "[UD:cgi] [UD:track.cgi] [UD:www.Spam-Site.biz] [cgi-bin] "
		    "[cgibin] [http] [track.cgi] [trackcgi] "
		    "[www.Spam-Site.biz] [www.spam-site.biz] [wwwSpamSitebiz] "
		    "[wwwspamsitebiz]" },
		{ 1, "", "Free. Money here. And MORE",
		    "[MORE] [Money] [and] [free] [here] [money] [more]" },
		{ 1, "", "word...word and well--known and a---b",
		    "[and] [known] [well] [word]" },
		{ 1, "", "Title Case Words. Next sentence",
		    "[Case] [Words] [case] [next] [sentence] [title] [words]" },
	};
	struct toklist l = { NULL, 0, 0, 1 };
	struct buf got = BUF_INIT;
	struct scratch sc;
	struct tokset ts;
	size_t i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		memset(&ts, 0, sizeof ts);
		memset(&sc, 0, sizeof sc);
		ts.limit = BAYES_MAX_BODY_TOKENS;
		ts.debug = collect;
		ts.debug_arg = &l;
		tokenize_line(&ts, &sc, rows[i].pfx, (enum region)rows[i].region,
		    rows[i].in, strlen(rows[i].in));
		toklist_fmt(&l, &got);
		is_str(got.data, rows[i].want, "tokenize row %zu: %.30s", i,
		    rows[i].in);
		scratch_free(&sc);
		tokset_free(&ts);
	}
	buf_free(&got);
}

/*
 * sluice's word pairs: body lines only, each word with the one before it
 * in the same line, lower-cased, trimmed like the words themselves,
 * short words included, each word cut to BAYES_PAIR_WORD bytes.
 */
static void
test_word_pairs(void)
{
	static const struct {
		int region;
		const char *in, *want;
	} rows[] = {
		{ 1, "Click HERE to win, now!",
		    "[2:click here] [2:here to] [2:to win] [2:win now!]" },
		{ 1, "Supercalifragilisticexpialidocious word",
		    "[2:supercalifragil word]" },
		{ 1, "one", "" },
		{ 0, "Header words here", "" },
		{ 2, "http://example.com/a b", "" },
	};
	struct toklist l = { NULL, 0, 0, 0 };
	struct buf got = BUF_INIT, pairs = BUF_INIT;
	struct scratch sc;
	struct tokset ts;
	size_t i, j;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		memset(&ts, 0, sizeof ts);
		memset(&sc, 0, sizeof sc);
		ts.limit = BAYES_MAX_BODY_TOKENS;
		ts.debug = collect;
		ts.debug_arg = &l;
		tokenize_line(&ts, &sc, "", (enum region)rows[i].region,
		    rows[i].in, strlen(rows[i].in));
		/* the pairs alone */
		toklist_fmt(&l, &got);
		buf_reset(&pairs);
		for (j = 0; got.data != NULL && j < got.len; ) {
			const char *e = strchr(got.data + j, ']');
			size_t k = (size_t)(e - (got.data + j)) + 1;

			if (strncmp(got.data + j, "[2:", 3) == 0)
				buf_addf(&pairs, "%s%.*s", pairs.len ? " " : "",
				    (int)k, got.data + j);
			j += k;
			while (j < got.len && got.data[j] == ' ')
				j++;
		}
		if (pairs.data == NULL)
			buf_adds(&pairs, "");
		is_str(pairs.data, rows[i].want, "word pairs row %zu: %.30s", i,
		    rows[i].in);
		scratch_free(&sc);
		tokset_free(&ts);
	}
	buf_free(&got);
	buf_free(&pairs);
}

/* A message held in memory as a fake prepared message. */
static struct score_msg *
mk_sm(const char *text)
{
	struct msg *m = msg_new();
	size_t len = strlen(text);

	msg_parse_header(m, text, len);
	m->data = text;
	m->len = len;
	return fake_sm_new(m);
}

static void
free_sm(struct score_msg **smp)
{
	struct msg *m;

	if (*smp == NULL)
		return;
	m = (*smp)->m;
	fake_sm_free(smp);
	msg_free(&m);
}

static const char hdr_msg[] =
    "Received: from mail.example.com (mail.example.com [192.0.2.15])\n"
    "\tby mx.example.org with ESMTP id 4B2C3D1E2F for <bob@example.org>;"
    " Mon, 2 Sep 2002 10:00:00 +0100\n"
    "From: \"John Smith\" <john@mail.example.com>\n"
    "To: bob@example.org\n"
    "Subject: hello there\n"
    "Date: Mon, 2 Sep 2002 10:00:00 +0100\n"
    "Message-ID: <abc.def123@host.example.com>\n"
    "X-Mailer: Foo Mailer 2.0\n"
    "Content-Type: text/plain; charset=\"us-ascii\"\n"
    "MIME-Version: 1.0\n"
    "X-Face: abcdefgh\n"
    "\n"
    "body\n";

/* The header tokens of _tokenize_headers for hdr_msg (same Perl run). */
static void
test_tokenize_headers(void)
{
	static const char want[] =
	    "[H*Ad:D*com] [H*Ad:D*example.com] [H*Ad:D*example.org] "
	    "[H*Ad:D*mail.example.com] [H*Ad:D*org] [H*Ad:N*John] "
	    "[H*Ad:N*Smith] [H*Ad:U*bob] [H*Ad:U*john] [H*F:D*com] "
	    "[H*F:D*example.com] [H*F:D*mail.example.com] [H*F:N*John] "
	    "[H*F:N*Smith] [H*F:U*john] [H*M:abc] [H*M:com] [H*M:def123] "
	    "[H*M:example] [H*M:host] [H*MI:abc] [H*MI:com] [H*MI:def123] "
	    "[H*MI:example] [H*MI:host] [H*UA:2.0] [H*UA:Foo] [H*UA:Mailer] "
	    "[H*ct:plain] [H*ct:us-ascii] [H*r:192.0.2] [H*r:bob@example.org] "
	    "[H*r:ip*192.0.2.15] [H*r:mx.example.org] [H*r:sk:mail.ex] "
	    "[H*x:2.0] [H*x:Foo] [H*x:Mailer] [HTo:D*example.org] "
	    "[HTo:D*org] [HTo:U*bob]";
	struct toklist l = { NULL, 0, 0, 0 };
	struct buf got = BUF_INIT, hdr = BUF_INIT;
	struct score_msg *sm = mk_sm(hdr_msg);
	struct tokset ts;
	size_t i;

	memset(&ts, 0, sizeof ts);
	ts.debug = collect;
	ts.debug_arg = &l;
	tokenize_msg(sm, &ts);
	/* keep the header tokens ("H..."), as the Perl side printed */
	for (i = 0; i < l.n; i++)
		if (l.v[i][0] == 'H') {
			buf_addf(&hdr, "%s ", l.v[i]);
		}
	{
		struct toklist h = { NULL, 0, 0, 0 };

		for (i = 0; i < l.n; i++) {
			if (l.v[i][0] == 'H')
				collect(&h, l.v[i], strlen(l.v[i]));
			free(l.v[i]);
		}
		free(l.v);
		toklist_fmt(&h, &got);
	}
	is_str(got.data, want, "header tokens as SpamAssassin's");
	ok(ts.n > 40, "body tokens too (%zu unique)", ts.n);
	buf_free(&got);
	buf_free(&hdr);
	tokset_free(&ts);
	free_sm(&sm);
}

/* ---- the math ---- */

static int
near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static void
test_math(void)
{
	double p[4];

	/* chi2q(4, 2) = e^-2 (1 + 2) */
	ok(near(chi2q(4.0, 2), 3.0 * exp(-2.0)), "chi2q(4, 2) = 3e^-2");
	/* one degree-pair: chi2q(x, 1) = e^(-x/2) */
	ok(near(chi2q(2.0 * log(20.0), 1), 0.05), "chi2q(2 ln 20, 1) = 0.05");
	ok(chi2q(0.0, 3) == 1.0, "chi2q clamps at 1");
	/* combine(1, 1, [0.9]): S = 1 - 0.05, H = 1 - 0.45 -> 0.7 */
	p[0] = 0.9;
	ok(near(chi_combine(1, 1, p, 1), 0.7), "combine(1,1,[0.9]) = 0.7 (by hand)");
	p[0] = 0.1;
	ok(near(chi_combine(1, 1, p, 1), 0.3), "combine(1,1,[0.1]) = 0.3");
	/* CombineChi::combine(10, 20, [0.99, 0.95, 0.2, 0.01]) in Perl */
	p[0] = 0.99, p[1] = 0.95, p[2] = 0.2, p[3] = 0.01;
	ok(fabs(chi_combine(10, 20, p, 4) - 0.538851033848) < 1e-9,
	    "combine(10,20,[.99,.95,.2,.01]) as CombineChi.pm (%.12f)",
	    chi_combine(10, 20, p, 4));
	ok(chi_combine(1, 1, p, 0) == -1, "nothing to combine: -1");
	/* Robinson: s=1, h=0: p = 1, f = (0.03 * 0.538 + 1) / 1.03 */
	ok(near(robinson_fw(1, 0, 1, 1), (0.03 * 0.538 + 1) / 1.03),
	    "f(w) for a spam hapax");
	/* s=2 of 10 spam, h=1 of 20 ham: p = 2*20/(1*10+2*20) = 0.8 */
	ok(near(robinson_fw(2, 1, 10, 20), (0.03 * 0.538 + 3 * 0.8) / 3.03),
	    "f(w) = (s x + n p) / (s + n)");
	ok(robinson_fw(0, 0, 10, 10) == -1, "unseen token: no f(w)");
	/* tokens near 0.5 are ignored: nothing left -> -1 */
	p[0] = 0.6, p[1] = 0.4;
	ok(bayes_combine_probs(p, 2, 10, 10) == -1,
	    "only weak tokens: not usable");
	/* BAYES_MIN_STRENGTH: f(w) = 0.9 (0.4 from 0.5) is below the cut
	 * (SpamAssassin's 0.346 would keep it), so [0.999, 0.9] combines
	 * as [0.999] alone */
	p[0] = 0.999, p[1] = 0.9;
	{
		double q[1] = { 0.999 };

		ok(fabs(bayes_combine_probs(p, 2, 10, 10) -
		    chi_combine(10, 10, q, 1)) < 1e-12,
		    "tokens within BAYES_MIN_STRENGTH of 0.5 are ignored");
	}
	/* Outside the tie band the result is CombineChi.pm's own */
	p[0] = 0.99, p[1] = 0.99, p[2] = 0.97, p[3] = 0.96;
	{
		double q[4], chi, r;

		memcpy(q, p, sizeof q);
		chi = chi_combine(10, 10, q, 4);
		r = bayes_combine_probs(p, 4, 10, 10);
		ok(fabs(chi - 0.5) >= BAYES_TIE_BAND && fabs(r - chi) < 1e-12,
		    "decided: chi-square as SpamAssassin (%.6f = %.6f)", r,
		    chi);
	}
	/* Strong tokens both ways saturate both tails: Fisher says 0.5;
	 * the result stays in the band (SpamAssassin's BAYES_50) but
	 * leans to the stronger side, and mirrors exactly. */
	{
		double sp[BAYES_N_SIGNIFICANT], hm[BAYES_N_SIGNIFICANT];
		double cp[BAYES_N_SIGNIFICANT], c, rs, rh;
		size_t i, n = 0;

		for (i = 0; i + 1 < BAYES_N_SIGNIFICANT; i += 2, n += 2) {
			sp[i] = 0.999, sp[i + 1] = 0.02;	/* spam wins */
			hm[i] = 0.001, hm[i + 1] = 0.98;	/* its mirror */
		}
		memcpy(cp, sp, sizeof cp);
		c = chi_combine(10, 10, cp, n);
		rs = bayes_combine_probs(sp, n, 10, 10);
		rh = bayes_combine_probs(hm, n, 10, 10);
		ok(fabs(c - 0.5) < 1e-6, "conflicting tokens: Fisher says "
		    "0.5 (%.9f)", c);
		ok(rs > 0.5 && rs < 0.5 + BAYES_TIE_BAND,
		    "... re-ranked towards spam inside the band (%.4f)", rs);
		ok(rh < 0.5 && rh > 0.5 - BAYES_TIE_BAND,
		    "... its mirror towards ham (%.4f)", rh);
		ok(fabs((rs - 0.5) + (rh - 0.5)) < 1e-9, "... symmetrically");
	}
	/* Inside the band only tokens BAYES_TIE_STRENGTH from 0.5 rank the
	 * tie: 0.04 (0.46 from 0.5) counts for Fisher, not for tie_rank,
	 * so equal strong tokens both ways leave exactly 0.5. */
	{
		double tp[90], cp[90], c, r;
		size_t i;

		for (i = 0; i < 80; i += 2)
			tp[i] = 0.999, tp[i + 1] = 0.001;
		for (; i < 90; i++)
			tp[i] = 0.04;
		memcpy(cp, tp, sizeof cp);
		c = chi_combine(10, 10, cp, 90);
		r = bayes_combine_probs(tp, 90, 10, 10);
		ok(fabs(c - 0.5) < BAYES_TIE_BAND, "a tie for Fisher (%.6f)", c);
		ok(fabs(r - 0.5) < 1e-9, "weaker tokens do not break the tie "
		    "(%.9f)", r);
	}
	/* packing both counts in one integer */
	{
		long long s, h;

		token_unpack(3 * BAYES_SPAM_ONE + 5, &s, &h);
		ok(s == 3 && h == 5, "unpack 3 spam 5 ham");
		token_unpack(2 * BAYES_SPAM_ONE - 1, &s, &h);
		ok(s == 2 && h == 0, "negative ham reads as 0 (got %lld/%lld)",
		    s, h);
		token_unpack(-BAYES_SPAM_ONE + 4, &s, &h);
		ok(s == 0 && h == 4, "negative spam reads as 0");
	}
}

/* ---- learning against a store ---- */

#define NTRAIN 12

/* Synthetic mail: spam talks about pills and money, ham about builds. */
static char *
mk_text(int spam, int i)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "From: %s%d@%s\nTo: you@example.org\n"
	    "Subject: %s %d\nMessage-ID: <%d.%d@x.example>\n\n",
	    spam ? "deals" : "alice", i, spam ? "cheap-pills.biz" : "example.org",
	    spam ? "Cheap viagra pills" : "Re: build failure on arm64", i,
	    spam, i);
	if (spam)
		buf_addf(&b, "Buy cheap viagra now!!! Limited offer %d, "
		    "click http://cheap-pills.biz/buy?id=%d and save money.\n"
		    "Unsubscribe here.\n", i, i);
	else
		buf_addf(&b, "The build of commit %d fails on arm64 with the new "
		    "toolchain; the linker complains about relocations.\n"
		    "Can you look at the makefile?\n", i);
	return buf_steal(&b);
}

static long long
get_num(struct store *s, const char *key)
{
	struct buf v = BUF_INIT;
	struct err e;
	long long n = 0;

	if (store_get(s, (struct span){ key, strlen(key) }, &v, &e) == 1)
		(void)parse_ll(&v, &n);
	buf_free(&v);
	return n;
}

/* counts of the token whose text is tok */
static void
tok_counts(struct store *s, const char *tok, long long *sp, long long *hp)
{
	char key[BAYES_KEY_MAX];

	token_key(key, mix64(fnv_add(FNV_OFFSET, tok, strlen(tok))));
	token_unpack(get_num(s, key), sp, hp);
}

static int
learn_text(struct bayes *b, const char *text, int spam, int forget,
    struct err *e)
{
	struct score_msg *sm = mk_sm(text);
	int rc = bayes_learn(b, sm, spam, forget, e);

	free_sm(&sm);
	return rc;
}

static double
classify_text(struct bayes *b, const char *text, struct err *e)
{
	struct score_msg *sm = mk_sm(text);
	double p = bayes_classify(b, sm, e);

	free_sm(&sm);
	return p;
}

static void
run_learn(const char *what, const char *spec)
{
	struct bayes_conf bc = { .min_spam = 1, .min_ham = 1 };
	struct bayes_conf strict = { .min_spam = BAYES_MIN_SPAM,
	    .min_ham = BAYES_MIN_HAM };
	struct store *s;
	struct bayes *b, *b2;
	struct err e;
	char *sp = mk_text(1, 1), *hm = mk_text(0, 1), *t;
	long long ts, th;
	double p;
	int i, rc;

	if ((s = store_open(spec, NULL, &e)) == NULL) {
		ok(0, "%s: open %s: %s", what, spec, e.msg);
		goto out0;
	}
	b = bayes_new(s, &bc);
	b2 = bayes_new(s, &strict);

	rc = learn_text(b, sp, 1, 0, &e);
	ok(rc == 1, "%s: learn spam: 1 (%d %s)", what, rc, e.msg);
	tok_counts(s, "viagra", &ts, &th);
	ok(get_num(s, "bayes:nspam") == 1 && ts == 1 && th == 0,
	    "%s: nspam 1, token viagra 1/0 (%lld/%lld)", what, ts, th);
	ok(learn_text(b, sp, 1, 0, &e) == 0, "%s: relearn as spam: nothing", what);
	tok_counts(s, "viagra", &ts, &th);
	ok(get_num(s, "bayes:nspam") == 1 && ts == 1,
	    "%s: ... counts unchanged", what);
	ok(learn_text(b, sp, 0, 0, &e) == 1, "%s: learn the same as ham: moved",
	    what);
	tok_counts(s, "viagra", &ts, &th);
	ok(get_num(s, "bayes:nspam") == 0 && get_num(s, "bayes:nham") == 1 &&
	    ts == 0 && th == 1, "%s: ... nspam 0 nham 1, token 0/1", what);
	ok(learn_text(b, sp, 0, 1, &e) == 1, "%s: forget", what);
	tok_counts(s, "viagra", &ts, &th);
	ok(get_num(s, "bayes:nspam") == 0 && get_num(s, "bayes:nham") == 0 &&
	    ts == 0 && th == 0, "%s: ... all back to 0", what);
	ok(learn_text(b, sp, 0, 1, &e) == 0, "%s: forget again: nothing", what);
	ok(learn_text(b, hm, 1, 1, &e) == 0, "%s: forget unknown: nothing", what);

	/* train, then classify unseen messages */
	for (i = 0; i < NTRAIN; i++) {
		t = mk_text(1, 100 + i);
		rc = learn_text(b, t, 1, 0, &e);
		free(t);
		t = mk_text(0, 100 + i);
		rc += learn_text(b, t, 0, 0, &e);
		free(t);
		if (rc != 2)
			break;
	}
	ok(i == NTRAIN && get_num(s, "bayes:nspam") == NTRAIN &&
	    get_num(s, "bayes:nham") == NTRAIN, "%s: trained %d + %d", what,
	    NTRAIN, NTRAIN);
	t = mk_text(1, 999);
	p = classify_text(b, t, &e);
	ok(p > 0.9, "%s: unseen spam: %.4f > 0.9", what, p);
	free(t);
	t = mk_text(0, 999);
	p = classify_text(b, t, &e);
	ok(p >= 0 && p < 0.1, "%s: unseen ham: %.4f < 0.1", what, p);
	p = classify_text(b2, t, &e);
	ok(p == -1 && e.cls == ERR_NONE,
	    "%s: under %d/%d learned: -1 without error", what,
	    BAYES_MIN_SPAM, BAYES_MIN_HAM);
	free(t);
	/* score_bayes_prob: once per message, through the sm */
	{
		struct score_msg *sm;

		t = mk_text(1, 998);
		sm = mk_sm(t);
		ok(score_bayes_prob(sm) == -1, "%s: no classifier attached: -1",
		    what);
		sm_set_bayes(sm, b);
		p = score_bayes_prob(sm);
		ok(p > 0.9 && score_bayes_prob(sm) == p,
		    "%s: score_bayes_prob %.4f, cached", what, p);
		free_sm(&sm);
		free(t);
	}
	bayes_free(&b);
	bayes_free(&b2);
	ok(b == NULL, "%s: bayes_free clears", what);
	store_close(&s);
out0:
	free(sp);
	free(hm);
}

/* ---- the token cache ---- */

#define NCACHE 24	/* messages classified through the cache */

struct cache_thr {
	struct store *s;
	struct bayes_cache *c;
	const double *want;
	int bad;
};

static double
classify_idx(struct bayes *b, int i, struct err *e)
{
	char *t = mk_text(i % 2, 900 + i / 2);
	double p = classify_text(b, t, e);

	free(t);
	return p;
}

static void *
cache_thread(void *arg)
{
	struct cache_thr *th = arg;
	struct bayes_conf bc = { .min_spam = 1, .min_ham = 1, .cache = th->c };
	struct bayes *b = bayes_new(th->s, &bc);
	struct err e;
	int k, i;

	for (k = 0; k < 20; k++)
		for (i = 0; i < NCACHE; i++) {
			double p = classify_idx(b, (i + k) % NCACHE, &e);

			if (memcmp(&p, &th->want[(i + k) % NCACHE],
			    sizeof p) != 0)
				th->bad++;
		}
	bayes_free(&b);
	return NULL;
}

/* The store must be trained (run_learn). */
static void
run_cache(const char *what, const char *spec, int versioned)
{
	struct bayes_conf plain = { .min_spam = 1, .min_ham = 1 };
	struct bayes_conf bc = plain, tiny = plain;
	struct bayes_cache *c = bayes_cache_new(0), *ct = bayes_cache_new(8);
	struct store *s, *s2;
	struct bayes *b, *bcd, *bt;
	struct err e;
	double want[NCACHE], p1, p2, p3, before, after;
	unsigned long long v1 = 0, v2 = 0, v3 = 0;
	int i, same = 0, rv;
	char *t;

	if ((s = store_open(spec, NULL, &e)) == NULL) {
		ok(0, "%s cache: open %s: %s", what, spec, e.msg);
		goto out0;
	}
	rv = store_version(s, &v1, &e);
	ok(rv == (versioned ? 1 : 0), "%s: store_version answers %d", what,
	    rv);
	bc.cache = c;
	tiny.cache = ct;
	b = bayes_new(s, &plain);
	bcd = bayes_new(s, &bc);
	bt = bayes_new(s, &tiny);
	for (i = 0; i < NCACHE; i++) {
		want[i] = classify_idx(b, i, &e);
		p1 = classify_idx(bcd, i, &e);
		p2 = classify_idx(bcd, i, &e);
		p3 = classify_idx(bt, i, &e);
		same += want[i] >= 0 && memcmp(&p1, &want[i], sizeof p1) == 0 &&
		    memcmp(&p2, &want[i], sizeof p2) == 0 &&
		    memcmp(&p3, &want[i], sizeof p3) == 0;
	}
	ok(same == NCACHE, "%s: %d of %d classified bit for bit alike "
	    "uncached, cached first and again, through an 8-token cache",
	    what, same, NCACHE);
	if (versioned) {
		(void)store_version(s, &v2, &e);
		ok(v2 == v1, "%s: reads leave the version (%llu)", what, v2);
	}
	{
		struct cache_thr th[2] = {
			{ s, c, want, 0 }, { NULL, ct, want, 0 } };
		pthread_t tid[2];

		/* one handle per thread (store.h); LMDB shares the env */
		if ((s2 = store_open(spec, NULL, &e)) == NULL) {
			ok(0, "%s: second handle: %s", what, e.msg);
		} else {
			th[1].s = s2;
			(void)pthread_create(&tid[0], NULL, cache_thread,
			    &th[0]);
			(void)pthread_create(&tid[1], NULL, cache_thread,
			    &th[1]);
			(void)pthread_join(tid[0], NULL);
			(void)pthread_join(tid[1], NULL);
			ok(th[0].bad == 0 && th[1].bad == 0,
			    "%s: two threads, %d classifications each: all "
			    "alike (%d, %d differ)", what, 20 * NCACHE,
			    th[0].bad, th[1].bad);
			store_close(&s2);
		}
	}
	/* a learn through another handle: the cache must not serve the
	 * counts from before it */
	before = classify_idx(bcd, 1, &e);
	if ((s2 = store_open(spec, NULL, &e)) != NULL) {
		struct bayes *bl = bayes_new(s2, &plain);

		for (i = 0; i < 3; i++) {
			t = mk_text(1, 900 + i);	/* idx 1 is spam 900 */
			(void)learn_text(bl, t, 0, 0, &e);
			free(t);
		}
		bayes_free(&bl);
		store_close(&s2);
	}
	if (versioned) {
		(void)store_version(s, &v3, &e);
		ok(v3 != v2, "%s: a learn moves the version (%llu -> %llu)",
		    what, v2, v3);
	}
	after = classify_idx(bcd, 1, &e);
	p1 = classify_idx(b, 1, &e);
	ok(memcmp(&after, &p1, sizeof p1) == 0 && after != before,
	    "%s: after a learn elsewhere the cached handle sees it "
	    "(%.6g -> %.6g, uncached %.6g)", what, before, after, p1);
	bayes_free(&b);
	bayes_free(&bcd);
	bayes_free(&bt);
	store_close(&s);
out0:
	bayes_cache_free(&c);
	bayes_cache_free(&ct);
	ok(c == NULL, "%s: bayes_cache_free clears", what);
}

/*
 * The invariant learning keeps: every spam text i has the token
 * "marker<i>"... simpler: all spam share "viagra", so its spam count must
 * equal nspam, and nspam must equal the digest keys that say "s".
 */
static void
check_consistent(const char *what, struct store *s, int nmsgs)
{
	long long ns = get_num(s, "bayes:nspam"), ts, th;
	int i, marked = 0;

	for (i = 0; i < nmsgs; i++) {
		char *t = mk_text(1, 5000 + i), hex[40], key[BAYES_KEY_MAX];
		struct score_msg *sm = mk_sm(t);
		struct buf v = BUF_INIT;
		struct err e;

		msg_digest(sm, hex, sizeof hex);
		(void)buf_fmt(key, sizeof key, "bayes:m:%s", hex);
		if (store_get(s, (struct span){ key, strlen(key) }, &v, &e) == 1)
			marked++;
		buf_free(&v);
		free_sm(&sm);
		free(t);
	}
	tok_counts(s, "viagra", &ts, &th);
	ok(ns == marked && ts == ns,
	    "%s: consistent: nspam %lld, learned marks %d, token count %lld",
	    what, ns, marked, ts);
}

static void
run_redis_faults(void)
{
	struct bayes_conf bc = { .min_spam = 1, .min_ham = 1 };
	char spec[128];
	struct store *s;
	struct bayes *b;
	struct err e;
	pid_t killer;
	int i, rc = 0, fails = 0, learned = 0;
	char *t;

	(void)buf_fmt(spec, sizeof spec, "redis://127.0.0.1:%d/0?timeout=300",
	    redis_port);
	if ((s = store_open(spec, NULL, &e)) == NULL) {
		ok(0, "redis faults: open: %s", e.msg);
		return;
	}
	b = bayes_new(s, &bc);

	/* stopped server: the deadline, a clear temporary error */
	(void)kill(redis_pid, SIGSTOP);
	t = mk_text(1, 4000);
	err_clear(&e);
	rc = learn_text(b, t, 1, 0, &e);
	ok(rc == -1 && e.cls == ERR_TEMP && e.msg[0] != '\0',
	    "redis stopped: learn fails with ERR_TEMP: %s", e.msg);
	(void)kill(redis_pid, SIGCONT);
	usleep(100000);
	free(t);

	/* kill -9 while a stream of learns runs */
	if ((killer = fork()) == 0) {
		usleep(150000);
		(void)kill(redis_pid, SIGKILL);
		_exit(0);
	}
	for (i = 0; i < 400; i++) {
		t = mk_text(1, 5000 + i);
		err_clear(&e);
		rc = learn_text(b, t, 1, 0, &e);
		free(t);
		if (rc == 1)
			learned++;
		if (rc == -1) {
			fails++;
			break;
		}
	}
	(void)waitpid(killer, NULL, 0);
	ok(fails == 1 && e.cls == ERR_TEMP,
	    "redis killed mid-learn after %d messages: ERR_TEMP: %s", learned,
	    e.msg);
	{
		int st;

		(void)waitpid(redis_pid, &st, 0);
		redis_pid = -1;
	}
	if (redis_start(scratch, 1) == -1) {
		ok(0, "redis restarted");
	} else {
		bayes_free(&b);
		store_close(&s);
		if ((s = store_open(spec, NULL, &e)) == NULL) {
			ok(0, "reopen: %s", e.msg);
			return;
		}
		check_consistent("after kill -9 and restart", s, i + 1);
		ok(get_num(s, "bayes:nspam") >= learned,
		    "every acknowledged learn survived (%lld >= %d)",
		    get_num(s, "bayes:nspam"), learned);
		b = bayes_new(s, &bc);
		/* the message in flight can be learned again, once */
		for (rc = 0, i = 0; i < learned + 1; i++) {
			t = mk_text(1, 5000 + i);
			rc += learn_text(b, t, 1, 0, &e) == 1;
			free(t);
		}
		ok(rc <= 1, "relearning them all adds at most the one in "
		    "flight (%d)", rc);
		check_consistent("after relearning", s, learned + 1);
	}
	bayes_free(&b);
	store_close(&s);
}

int
main(void)
{
	char spec[PATH_MAX + 16];
	const char *tmp = getenv("TMPDIR");

	if (buf_fmt(scratch, sizeof scratch, "%s/test-bayes.XXXXXX",
	    tmp ? tmp : "/tmp") == -1 || mkdtemp(scratch) == NULL) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_tokenize_line();
	test_word_pairs();
	test_tokenize_headers();
	test_math();

	(void)buf_fmt(spec, sizeof spec, "lmdb:%s/state", scratch);
	run_learn("lmdb", spec);
	run_cache("lmdb", spec, 1);

	if (redis_start(scratch, 1) == -1) {
		ok(0, "redis-server started on loopback");
	} else {
		(void)buf_fmt(spec, sizeof spec, "redis://127.0.0.1:%d/1",
		    redis_port);
		run_learn("redis", spec);
		run_cache("redis", spec, 0);
		run_redis_faults();
		redis_stop(SIGTERM);
	}
	{
		char cmd[PATH_MAX + 16];

		if (buf_fmt(cmd, sizeof cmd, "rm -rf '%s'", scratch) == 0)
			(void)system(cmd);
	}
	return tap_done();
}
