/*
 * test-score-rules.c - the rule side of the scoring engine: Perl regex
 * translation, meta expressions, the rule-file reader and score_run over
 * small messages. The message side (sm_*) and the eval table are faked
 * here, so these tests check the rule side alone; SpamAssassin's
 * behaviour is the expected value throughout (comments say where from).
 */
#include <sys/stat.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"
#include "score/rules-int.h"

/* ---- a fake message side ---- */

struct score_msg {
	const char *const *hdrs;	/* "Name", "value", ..., NULL */
	const struct span *body;
	size_t nbody;
	const char *const *uris;
	size_t nuris;
	struct span full;
	const char *const *parts_ct;	/* Content-Type per MIME part */
	size_t nparts;
	void *run_slot;			/* rules.c's last run */
};

/* One arena for every fake message (reachable until exit). */
static struct arena *fake_arena;

struct arena *
sm_arena(struct score_msg *sm)
{
	(void)sm;
	if (fake_arena == NULL)
		fake_arena = arena_new();
	return fake_arena;
}

void **
sm_run_slot(struct score_msg *sm)
{
	return &sm->run_slot;
}

int
sm_header(struct score_msg *sm, const char *name, unsigned mods,
    struct buf *out)
{
	size_t i;
	int found = 0;

	(void)mods;
	for (i = 0; sm->hdrs != NULL && sm->hdrs[i] != NULL; i += 2)
		if (strcasecmp(sm->hdrs[i], name) == 0) {
			buf_adds(out, sm->hdrs[i + 1]);
			buf_addc(out, '\n');
			found = 1;
		}
	return found;
}

size_t
sm_body(struct score_msg *sm, const struct span **lines)
{
	*lines = sm->body;
	return sm->nbody;
}

size_t
sm_rawbody(struct score_msg *sm, const struct span **lines)
{
	*lines = sm->body;
	return sm->nbody;
}

struct span
sm_full(struct score_msg *sm)
{
	return sm->full;
}

size_t
sm_uris(struct score_msg *sm, const char *const **uris)
{
	*uris = sm->uris;
	return sm->nuris;
}

size_t
sm_mimeheader(struct score_msg *sm, const char *name, int raw,
    int (*fn)(void *, const char *, size_t), void *arg)
{
	size_t i;

	(void)raw;
	if (strcasecmp(name, "Content-Type") != 0)
		return 0;
	for (i = 0; i < sm->nparts; i++)
		if (fn(arg, sm->parts_ct[i], strlen(sm->parts_ct[i])))
			break;
	return sm->nparts;
}

void
sm_set_bayes(struct score_msg *sm, struct bayes *b)
{
	(void)sm;
	(void)b;
}

double
score_bayes_prob(struct score_msg *sm)
{
	(void)sm;
	return -1;
}

/* ---- a fake eval table ---- */

static int
ev_true(struct score_msg *sm, const char *const *args, size_t nargs,
    void *st)
{
	(void)sm;
	(void)st;
	/* returns its first argument as the hit count, or 1 */
	return nargs > 0 ? atoi(args[0]) : 1;
}

const struct score_eval_fn score_eval_fns[] = {
	{ "check_test", "Mail::SpamAssassin::Plugin::Test", ev_true, NULL },
	{ NULL, NULL, NULL, NULL },
};

const struct score_eval_fn *
score_eval_find(const char *name)
{
	size_t i;

	for (i = 0; score_eval_fns[i].name != NULL; i++)
		if (strcmp(score_eval_fns[i].name, name) == 0)
			return &score_eval_fns[i];
	return NULL;
}

int
score_plugin_loaded(const char *plugin)
{
	return strcmp(plugin, "Mail::SpamAssassin::Plugin::Test") == 0;
}

/* The fake eval table has no settings (freemail_domains...) and the fake
 * message side no registry boundaries: cf.c's offers are declined. */
struct score_eval_conf *
score_eval_conf_new(void)
{
	return NULL;
}

void
score_eval_conf_free(struct score_eval_conf **ecp)
{
	*ecp = NULL;
}

int
score_eval_conf_line(struct score_eval_conf *ec, const char *key,
    const char *val, size_t vlen, struct err *e)
{
	(void)ec;
	(void)key;
	(void)val;
	(void)vlen;
	(void)e;
	return 0;
}

int
sm_tld_add(int kind, const char *name)
{
	(void)kind;
	(void)name;
	return 0;
}

/* ---- perlre ---- */

static void
test_perlre(void)
{
	static const struct {
		const char *re;
		const char *subject;
		int want;	/* 1 match, 0 no match, -1 refused */
	} rows[] = {
		{ "/foo/", "a foo b", 1 },
		{ "/FOO/i", "a foo b", 1 },
		{ "/FOO/", "a foo b", 0 },
		{ "m{fo+}i", "FOOO", 1 },
		{ "m!a/b!", "xa/by", 1 },
		{ "m(a(b)c)", "abc", 1 },
		{ "m[x]", "x", 1 },
		{ "qr/y/", "y", 1 },
		{ "/^b/m", "a\nb", 1 },
		{ "/^b/", "a\nb", 0 },
		{ "/a.b/", "a\nb", 0 },
		{ "/a.b/s", "a\nb", 1 },
		{ "/a b c/x", "abc", 1 },
		{ "/a [ ] b/x", "a b", 1 },	/* /x keeps spaces in classes */
		{ "/abc\\z/", "abc\n", 0 },
		{ "/abc\\Z/", "abc\n", 1 },
		{ "/abc$/", "abc\n", 1 },	/* $ before a final newline */
		{ "/\\Aab/", "ab", 1 },
		{ "/^a{,2}b$/", "aab", 1 },	/* Perl 5.34 {,n} */
		{ "/^a{,2}b$/", "aaab", 0 },
		{ "/x{,}/", "x{,}", 1 },	/* not a quantifier: literal */
		{ "/(?aa)\\w/", "k", 1 },
		{ "/(?^i:AB)/", "ab", 1 },
		{ "/\\d/", "\xd9\xa3", 0 },	/* /aa: ASCII digits only */
		{ "/\\xe4/", "\xe4", 1 },	/* bytes */
		{ "/\\x{e4}/i", "\xc4", 0 },	/* no case folding beyond ASCII */
		{ "/(?>a+)b/", "aab", 1 },
		{ "/a++b/", "aab", 1 },
		{ "/\\bword\\b/", "a word.", 1 },
		{ "/[[:upper:]]{3}/", "xABCx", 1 },
		{ "/\\Q.*\\E/", "a.*b", 1 },
		{ "/\\Q.*\\E/", "ab", 0 },
		{ "/a\\/b/", "a/b", 1 },
		{ "foo", "foo", -1 },		/* no delimiters */
		{ "/foo", "foo", -1 },		/* no end delimiter */
		{ "/a/b/", "a/b", -1 },		/* unquoted delimiter */
		{ "/a/q", "a", -1 },		/* unknown modifier */
		{ "/\\Ua/", "A", -1 },		/* case-changing escape */
		{ "/(?{ 1 })/", "", -1 },	/* code */
		{ "/(/", "", -1 },
		{ "m\\a\\", "a", -1 },		/* backslash delimiter */
	};
	size_t i;
	struct perlre_ctx c;

	perlre_ctx_init(&c);
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct perlre re;
		struct buf why = BUF_INIT;
		size_t st, en;
		int rc = perlre_compile_delimited(&re, rows[i].re,
		    strlen(rows[i].re), &why);
		int got;

		if (rc == -1)
			got = -1;
		else
			got = perlre_match(&re, &c, rows[i].subject,
			    strlen(rows[i].subject), 0, &st, &en);
		is_int(got, rows[i].want, "perlre row %zu: %s%s%s", i,
		    rows[i].re, why.len ? ": " : "", why.len ? why.data : "");
		perlre_free(&re);
		buf_free(&why);
	}
	perlre_ctx_fini(&c);
}

/* A pattern over pcre2's 64 KiB compiled limit is split, not dropped,
 * and matches exactly what the whole pattern matches. */
static void
test_perlre_split(void)
{
	struct buf p = BUF_INIT, why = BUF_INIT;
	struct perlre re;
	struct perlre_ctx c;
	size_t i, st, en;
	int rc;
	char w[32];

	perlre_ctx_init(&c);
	/* 1: a top-level alternation of 12000 words */
	buf_adds(&p, "/\\b(?:");
	for (i = 0; i < 12000; i++)
		buf_addf(&p, "%sw%zuq", i ? "|" : "", i * 7);
	buf_adds(&p, ")\\b/i");
	rc = perlre_compile_delimited(&re, p.data, p.len, &why);
	is_int(rc, 0, "split: huge alternation compiles (%s)",
	    why.data ? why.data : "");
	ok(re.ncode > 1, "split: into %u pieces", re.ncode);
	for (i = 0; i < 12000; i += 1999) {
		buf_fmt(w, sizeof w, "x W%zuQ y", i * 7);
		is_int(perlre_match(&re, &c, w, strlen(w), 0, &st, &en), 1,
		    "split: matches word %zu", i);
		is_int((int)st, 2, "split: leftmost start for word %zu", i);
	}
	is_int(perlre_match(&re, &c, "w8q", 3, 0, &st, &en), 0,
	    "split: no false match");
	perlre_free(&re);

	/* 2: a big repeated group, as __FILL_THIS_FORM_LONG1 has */
	buf_reset(&p);
	buf_adds(&why, "");
	buf_reset(&why);
	buf_adds(&p, "/(?:(?:");
	for (i = 0; i < 1500; i++)
		buf_addf(&p, "%sv%zu", i ? "|" : "", i);
	buf_adds(&p, ")\\s){5}/");
	rc = perlre_compile_delimited(&re, p.data, p.len, &why);
	is_int(rc, 0, "repeat: compiles (%s)", why.data ? why.data : "");
	is_int(perlre_match(&re, &c, "v1 v22 v333 v1444 v5 ", 21, 0, &st, &en),
	    1, "repeat: five in a row match");
	is_int(perlre_match(&re, &c, "v1 v22 v333 v1444 ", 18, 0, &st, &en),
	    0, "repeat: four do not");
	perlre_free(&re);
	buf_free(&p);
	buf_free(&why);
	perlre_ctx_fini(&c);
}

/* ---- meta ---- */

static const char *const mnames[] = { "A", "B", "C", "Z" };

static int
mlookup(void *arg, const char *name, size_t len)
{
	size_t i;

	(void)arg;
	for (i = 0; i < sizeof mnames / sizeof mnames[0]; i++)
		if (strlen(mnames[i]) == len && memcmp(mnames[i], name, len) == 0)
			return (int)i;
	return -1;
}

static void
test_meta(void)
{
	/* A=2 (tflags multiple, two hits), B=1, C=0, Z=0; values as Perl
	 * computes ($h{X}||0) expressions */
	static const double vals[] = { 2, 1, 0, 0 };
	static const struct {
		const char *expr;
		double want;
		int bad;
	} rows[] = {
		{ "A && B", 1, 0 },
		{ "B && A", 2, 0 },		/* && returns the last operand */
		{ "A || B", 2, 0 },		/* || returns the first true one */
		{ "C || B", 1, 0 },
		{ "C && B", 0, 0 },
		{ "!C", 1, 0 },
		{ "!A", 0, 0 },
		{ "A + B + C", 3, 0 },
		{ "(A + B) > 2", 1, 0 },
		{ "A + B > 3", 0, 0 },
		{ "A - B * 2", 0, 0 },		/* * before - */
		{ "A / 4", 0.5, 0 },
		{ "A / C", 0, 0 },		/* Perl dies: never hits */
		{ "A == 2 && B != 0", 1, 0 },
		{ "A >= 2", 1, 0 },
		{ "A <= 1", 0, 0 },
		{ "-A + 3", 1, 0 },
		{ "!A + 1", 1, 0 },		/* ! binds tighter than + */
		{ "!(A + 1)", 0, 0 },
		{ "NOT_DEFINED || B", 1, 0 },	/* unknown rules are 0 */
		{ "NOT_DEFINED", 0, 0 },
		{ "A ? B : 5", 1, 0 },
		{ "C ? B : 5", 5, 0 },
		{ "A ^ B", 3, 0 },		/* Perl integer xor */
		{ "local_tests_only", 1, 0 },
		{ "()", 0, 0 },
		{ "1.5 * A", 3, 0 },
		{ "A &&", 0, 1 },
		{ "(A", 0, 1 },
		{ "A B", 0, 1 },
		{ "A = B", 0, 1 },
		{ "", 0, 1 },
		{ "Mail::X", 0, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct meta_prog *p = NULL;
		int *deps = NULL;
		size_t nd = 0;
		struct buf why = BUF_INIT;
		int rc = meta_compile(rows[i].expr, strlen(rows[i].expr),
		    mlookup, NULL, &p, &deps, &nd, &why);

		if (rows[i].bad) {
			is_int(rc, -1, "meta row %zu: \"%s\" refused", i,
			    rows[i].expr);
		} else if (!ok(rc == 0, "meta row %zu: \"%s\" compiles %s", i,
		    rows[i].expr, why.data ? why.data : "")) {
			;
		} else {
			double got = meta_eval(p, vals);

			ok(got == rows[i].want, "meta row %zu: \"%s\" = %g "
			    "(want %g)", i, rows[i].expr, got, rows[i].want);
		}
		meta_free(&p);
		free(deps);
		buf_free(&why);
	}
	/* deep nesting is bounded, not a stack overflow */
	{
		struct buf e = BUF_INIT, why = BUF_INIT;
		struct meta_prog *p = NULL;
		int *deps = NULL;
		size_t nd = 0;

		for (i = 0; i < 100000; i++)
			buf_addc(&e, '(');
		is_int(meta_compile(e.data, e.len, mlookup, NULL, &p, &deps,
		    &nd, &why), -1, "meta: 100000 parentheses refused");
		buf_free(&e);
		buf_free(&why);
		free(deps);
	}
	ok(meta_glob_match("FOO_*", 5, "FOO_BAR"), "glob FOO_*");
	ok(!meta_glob_match("FOO_*", 5, "XFOO_BAR"), "glob anchored");
	ok(meta_glob_match("F?O", 3, "FXO"), "glob ?");
}

/* ---- the reader and the run ---- */

static char tmpdir[64];

static void
write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	buf_fmt(path, sizeof path, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

static const char cf_a[] =
    "# comment line\n"
    "body      B_ONE      /cheap\\s+pills/i   # trailing comment\n"
    "describe  B_ONE      Cheap pills\n"
    "score     B_ONE      2.5\n"
    "body      B_HASH     /\\#1 offer/\n"
    "score     B_HASH     0.5\n"
    "body      B_MULTI    /buy/i\n"
    "tflags    B_MULTI    multiple maxhits=3\n"
    "score     B_MULTI    1.0\n"
    "body      B_NOSUBJ   /urgent/i\n"
    "tflags    B_NOSUBJ   nosubject\n"
    "score     B_NOSUBJ   1\n"
    "header    H_SUBJ     Subject =~ /^urgent/i\n"
    "score     H_SUBJ     0.1 0.2 0.3 0.4\n"
    "header    H_NOT      X-Mailer !~ /goodmailer/\n"
    "score     H_NOT      1\n"
    "header    H_UNSET    X-Foo =~ /^none$/ [if-unset: none]\n"
    "score     H_UNSET    1\n"
    "header    H_EXISTS   exists:X-Spammy\n"
    "score     H_EXISTS   1\n"
    "header    H_FROM     From:addr =~ /example\\.com/\n"
    "score     H_FROM     1\n"
    "header    __SUB1     Subject =~ /pills/\n"
    "header    __SUB2     From =~ /nobody/\n"
    "meta      M_BOTH     __SUB1 && !__SUB2\n"
    "score     M_BOTH     3\n"
    "meta      M_COUNT    B_MULTI > 2\n"
    "score     M_COUNT    1\n"
    "meta      M_META     M_BOTH && M_COUNT\n"
    "score     M_META     1\n"
    "meta      M_GLOB     rules_matching(B_*) >= 3\n"
    "score     M_GLOB     1\n"
    "body      ZERO       /pills/\n"
    "score     ZERO       0\n"
    "meta      M_ZERO     ZERO\n"
    "score     M_ZERO     1\n"
    "body      OVERRIDE   /never-matches-this/\n"
    "score     OVERRIDE   1\n"
    "score     REL        1.0\n"
    "score     REL        (0.5)\n"
    "body      REL        /pills/\n"
    "uri       U_EX       /^https?:\\/\\/spam\\.example\\//\n"
    "score     U_EX       1\n"
    "full      F_EX       /^Subject: urgent/m\n"
    "score     F_EX       1\n"
    "mimeheader MH_HTML   Content-Type =~ /text\\/html/\n"
    "score     MH_HTML    1\n"
    "header    E_OK       eval:check_test('2')\n"
    "score     E_OK       1\n"
    "header    E_MISSING  eval:check_not_there()\n"
    "score     E_MISSING  1\n"
    "header    E_MISSING2 eval:check_not_there('x')\n"
    "score     E_MISSING2 1\n"
    "T_RULE_UNKNOWN_DIRECTIVE foo\n"
    "freemail_domains a.example b.example\n"
    "lang de  describe B_ONE Billige Pillen\n"
    "lang en  body LANG_EN /pills/\n"
    "lang fr  body LANG_FR /pills/\n"
    "required_score 4.5\n"
    "body      BAD_RE     /a(b/\n"
    "body      1BADNAME   /x/\n"
    "meta      M_CYCLE1   M_CYCLE2\n"
    "meta      M_CYCLE2   M_CYCLE1\n"
    "nice_rule_placeholder\n";

static const char cf_b[] =
    "body      OVERRIDE   /pills/\n"	/* later file overrides */
    /* header rules behind their literal filter (struct rule hlit) */
    "header    HL_FOLD    Subject =~ /CHEAP pills/i\n"
    "header    HL_CASE    Subject =~ /Cheap/\n"
    "header    HL_MISS    Subject =~ /viagra/\n"
    "header    HL_NEG     Subject !~ /viagra/\n"
    "header    HL_NEGHIT  Subject !~ /cheap/\n"
    "header    HL_UNSET   X-Foo =~ /nones/ [if-unset: nonesuch]\n"
    "header    HL_ABSENT  X-Foo !~ /nones/\n"
    "ifplugin Mail::SpamAssassin::Plugin::Test\n"
    "body      IFP_YES    /pills/\n"
    "endif\n"
    "ifplugin Mail::SpamAssassin::Plugin::NotLoaded\n"
    "body      IFP_NO     /pills/\n"
    "else\n"
    "body      IFP_ELSE   /pills/\n"
    "endif\n"
    "if (version >= 4.000000)\n"
    "body      IF_VER     /pills/\n"
    "endif\n"
    "if version < 3.004000\n"
    "body      IF_OLD     /pills/\n"
    "endif\n"
    "if can(Mail::SpamAssassin::Conf::feature_capture_rules)\n"
    "body      IF_CAN     /pills/\n"
    "endif\n"
    "if !can(Mail::SpamAssassin::Conf::feature_no_such_thing)\n"
    "body      IF_CANT    /pills/\n"
    "if !plugin(Mail::SpamAssassin::Plugin::NotLoaded) && "
    "plugin(Mail::SpamAssassin::Plugin::Bayes)\n"
    "body      IF_NEST    /pills/\n"
    "endif\n"
    "endif\n"
    "ifplugin Mail::SpamAssassin::Plugin::NotLoaded\n"
    "if (version >= 4.0)\n"
    "else\n"
    "body      IF_OUTER_OFF /pills/\n"	/* Bug 7848 */
    "endif\n"
    "endif\n"
    "replace_tag  P   (?:p|\\|)\n"
    "replace_tag  I   (?:i|1|l)\n"
    "replace_tag  L   l\n"
    "replace_inter W1 \\W?\n"
    "replace_rules REPL REPL_H\n"
    "body      REPL       /<inter W1><P><I><L><L>/i\n"
    "header    REPL_H     Subject =~ /<P><I>/i\n"
    "score     REPL       1\n"
    "score     REPL_H     1\n"
    "include   inc.inc\n";

static const char cf_inc[] =
    "body      INCLUDED   /pills/\n"
    "score     INCLUDED   1\n";

static int load_hs;	/* prefilter_hs for load() */
static const char *load_cache = "";	/* cache_dir for load() */

static struct score_rules *
load(struct score_load_report *rep, int set)
{
	char dir[128];
	const char *paths[1];
	struct score_load_opts o;
	struct score_rules *r = NULL;
	struct err e;

	buf_fmt(dir, sizeof dir, "%s", tmpdir);
	paths[0] = dir;
	memset(&o, 0, sizeof o);
	o.paths = paths;
	o.npaths = 1;
	o.score_set = set;
	o.prefilter_hs = load_hs;
	o.cache_dir = load_cache;
	if (score_rules_load(&o, &r, rep, &e) == -1) {
		printf("# load: %s\n", e.msg);
		return NULL;
	}
	return r;
}

static const struct rule *
rule(const struct score_rules *r, const char *name)
{
	int i = rules_find(r, name, strlen(name));

	return i < 0 ? NULL : &r->rules[i];
}

static int
has_hit(const struct score_result *res, const char *name, unsigned *count)
{
	size_t i;

	for (i = 0; i < res->nhits; i++)
		if (strcmp(res->hits[i].name, name) == 0) {
			if (count)
				*count = res->hits[i].count;
			return 1;
		}
	return 0;
}

static void
test_cf(void)
{
	struct score_load_report rep;
	struct score_rules *r;
	const struct rule *ru;

	write_file("10_a.cf", cf_a);
	write_file("20_b.cf", cf_b);
	write_file("inc.inc", cf_inc);	/* not *.cf: only by include */
	write_file("notes.txt", "body NOT_READ /x/\n");
	r = load(&rep, 0);
	if (!ok(r != NULL, "cf: loads"))
		return;
	is_int((int)rep.files, 3, "cf: two *.cf files and one include");
	ok(rule(r, "NOT_READ") == NULL, "cf: only *.cf files of a directory");
	ok((ru = rule(r, "B_ONE")) && ru->runnable && ru->scores[0] == 2.5,
	    "cf: body rule with score");
	ok(ru && ru->describe && strcmp(ru->describe, "Cheap pills") == 0,
	    "cf: describe (lang de line skipped)");
	ok(rule(r, "LANG_EN") && rule(r, "LANG_EN")->runnable,
	    "cf: lang en lines are read");
	ok(rule(r, "LANG_FR") == NULL, "cf: lang fr lines are not");
	ok((ru = rule(r, "H_SUBJ")) && ru->scores[0] == 0.1 &&
	    ru->scores[3] == 0.4, "cf: four score sets");
	ok((ru = rule(r, "REL")) && ru->scores[2] == 1.5,
	    "cf: relative score (0.5) adds");
	ok((ru = rule(r, "B_MULTI")) && (ru->tflags & TF_MULTIPLE) &&
	    ru->maxhits == 3, "cf: tflags multiple maxhits=3");
	ok((ru = rule(r, "__SUB1")) && ru->scores[0] == 1.0,
	    "cf: default score 1");
	ok((ru = rule(r, "OVERRIDE")) && strcmp(ru->text, "/pills/") == 0,
	    "cf: a later file overrides a definition");
	ok(r->required == 4.5, "cf: required_score");
	ok(rule(r, "IFP_YES") != NULL, "cf: ifplugin of an emulated plugin");
	ok(rule(r, "IFP_NO") == NULL && rule(r, "IFP_ELSE") != NULL,
	    "cf: ifplugin unknown plugin, else branch");
	ok(rule(r, "IF_VER") && !rule(r, "IF_OLD"), "cf: if version");
	ok(rule(r, "IF_CAN") && rule(r, "IF_CANT"), "cf: if can()");
	ok(rule(r, "IF_NEST") != NULL, "cf: nested if, plugin() && "
	    "(SpamAssassin's default plugin Bayes is loaded)");
	ok(rule(r, "IF_OUTER_OFF") == NULL,
	    "cf: else inside a skipped block stays skipped");
	ok(rule(r, "INCLUDED") && rule(r, "INCLUDED")->runnable, "cf: include");
	ok(rule(r, "BAD_RE") && !rule(r, "BAD_RE")->runnable,
	    "cf: a bad regex does not load");
	ok(rule(r, "1BADNAME") == NULL, "cf: invalid rule name refused");
	ok(rule(r, "E_OK") && rule(r, "E_OK")->runnable,
	    "cf: eval through the eval table");
	ok(rule(r, "E_MISSING") && rule(r, "E_MISSING")->unsupported,
	    "cf: unknown eval is unsupported");
	ok(rep.text.data && strstr(rep.text.data,
	    "check_not_there: 2 rules") != NULL,
	    "cf: unknown eval function listed once with its count");
	ok(rep.text.data && strstr(rep.text.data, "10_a.cf:60: invalid "
	    "regexp for BAD_RE") != NULL, "cf: problem with file:line");
	ok(rep.text.data && strstr(rep.text.data, "freemail_domains: 1"),
	    "cf: ignored directives counted");
	ok(rep.text.data && strstr(rep.text.data, "excluding meta test "
	    "M_CYCLE1") != NULL, "cf: meta cycle reported");
	is_int((int)rep.eval_unsupported, 2, "cf: eval_unsupported");
	ok(rep.errors >= 2, "cf: errors counted (%u)", rep.errors);
	ok(rep.defined > 30 && rep.scored < rep.defined &&
	    rep.scored_loaded <= rep.scored, "cf: counts %u/%u/%u",
	    rep.defined, rep.scored, rep.scored_loaded);
	score_rules_free(&r);
	score_load_report_free(&rep);
}

#define L(s) { s, sizeof(s) - 1 }

static void
test_run(void)
{
	static const char *const hdrs[] = {
		"Subject", "urgent: cheap pills",
		"From", "Seller <seller@example.com>",
		"X-Spammy", "",
		NULL
	};
	static const struct span body[] = {
		L("urgent: cheap pills"),	/* the Subject line first */
		L("Buy buy BUY now, #1 offer"),
		L("buy more, not urgent at all"),
		L("cheap   pills, p1ll"),
	};
	static const char *const uris[] = { "http://spam.example/x" };
	static const char *const parts[] = {
		"multipart/alternative", "text/plain", "text/html",
	};
	static const char full[] = "Subject: urgent: cheap pills\n\nbody\n";
	struct score_msg sm = {
		hdrs, body, 4, uris, 1, { full, sizeof full - 1 }, parts, 3,
		NULL
	};
	struct score_load_report rep;
	struct score_rules *r = load(&rep, 0);
	struct score_result res;
	struct err e;
	unsigned cnt = 0;
	size_t i;
	double sum = 0;

	if (!ok(r != NULL, "run: loads"))
		return;
	is_int(score_run(r, &sm, NULL, &res, &e), 0, "run: score_run");
	ok(has_hit(&res, "B_ONE", NULL), "run: body rule");
	ok(has_hit(&res, "B_HASH", NULL), "run: \\# is a literal #");
	ok(has_hit(&res, "B_MULTI", &cnt) && cnt == 3,
	    "run: multiple stops at maxhits=3 (got %u)", cnt);
	ok(has_hit(&res, "B_NOSUBJ", NULL), "run: nosubject rule hits the "
	    "body");
	ok(has_hit(&res, "H_SUBJ", NULL), "run: header rule");
	ok(has_hit(&res, "H_NOT", NULL), "run: !~ hits an absent header");
	ok(has_hit(&res, "H_UNSET", NULL), "run: [if-unset: none]");
	ok(has_hit(&res, "H_EXISTS", NULL), "run: exists: on an empty field");
	ok(has_hit(&res, "M_BOTH", NULL), "run: meta over __ rules");
	ok(!has_hit(&res, "__SUB1", NULL), "run: __ rules are not listed");
	ok(has_hit(&res, "M_COUNT", NULL), "run: meta reads hit counts");
	ok(has_hit(&res, "M_META", NULL), "run: meta over metas");
	ok(has_hit(&res, "M_GLOB", NULL), "run: rules_matching()");
	ok(!has_hit(&res, "ZERO", NULL), "run: score 0 disables");
	ok(!has_hit(&res, "M_ZERO", NULL), "run: a meta over a disabled "
	    "rule sees 0");
	ok(has_hit(&res, "OVERRIDE", NULL), "run: the overriding definition");
	ok(has_hit(&res, "U_EX", NULL), "run: uri rule");
	ok(has_hit(&res, "F_EX", NULL), "run: full rule");
	ok(has_hit(&res, "MH_HTML", NULL), "run: mimeheader over parts");
	ok(has_hit(&res, "E_OK", &cnt) && cnt == 1, "run: eval rule");
	ok(!has_hit(&res, "E_MISSING", NULL), "run: unsupported eval does "
	    "not hit");
	ok(has_hit(&res, "REPL", NULL), "run: replace_tag with inter");
	ok(has_hit(&res, "REPL_H", NULL), "run: replace_tag in a header rule");
	ok(!has_hit(&res, "M_CYCLE1", NULL), "run: cyclic meta never hits");
	ok(has_hit(&res, "HL_FOLD", NULL), "run: /i header rule, literal "
	    "compared folded");
	ok(!has_hit(&res, "HL_CASE", NULL), "run: case-sensitive literal "
	    "absent: no hit");
	ok(!has_hit(&res, "HL_MISS", NULL), "run: literal absent: no hit");
	ok(has_hit(&res, "HL_NEG", NULL), "run: !~ with its literal absent "
	    "hits");
	ok(!has_hit(&res, "HL_NEGHIT", NULL), "run: !~ with a match does not "
	    "hit");
	ok(has_hit(&res, "HL_UNSET", NULL), "run: literal found in the "
	    "[if-unset:] text");
	ok(has_hit(&res, "HL_ABSENT", NULL), "run: !~ on an absent header");
	for (i = 0; i < res.nhits; i++) {
		sum += res.hits[i].score * res.hits[i].count;
		if (i > 0)
			ok(strcmp(res.hits[i - 1].name, res.hits[i].name) < 0,
			    "run: hits in name order (%s)", res.hits[i].name);
	}
	ok(sum == res.score && res.score > 10, "run: score %g is the sum of "
	    "hits, each multiple hit counted", res.score);
	ok(res.is_spam && res.required == 4.5, "run: is_spam against "
	    "required_score");
	ok(strcmp(res.autolearn_text, "disabled") == 0,
	    "run: no Bayes: autolearn disabled");
	score_result_free(&res);
	score_rules_free(&r);
	score_load_report_free(&rep);

	/* score set 2 picks the third of four scores */
	r = load(&rep, 2);
	if (r != NULL && score_run(r, &sm, NULL, &res, &e) == 0) {
		for (i = 0; i < res.nhits; i++)
			if (strcmp(res.hits[i].name, "H_SUBJ") == 0)
				ok(res.hits[i].score == 0.3,
				    "run: score set 2");
		score_result_free(&res);
	}
	score_rules_free(&r);
	score_load_report_free(&rep);
}

/* Move the other tests' rule files aside (away) or back, so that one
 * test loads only its own file. */
static void
rename_away(int away)
{
	static const char *const names[] = { "10_a.cf", "20_b.cf" };
	char from[256], to[256];
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		buf_fmt(from, sizeof from, "%s/%s%s", tmpdir, names[i],
		    away ? "" : ".off");
		buf_fmt(to, sizeof to, "%s/%s%s", tmpdir, names[i],
		    away ? ".off" : "");
		rename(from, to);
	}
}

/* ---- the prefilter: never a miss ---- */

/*
 * Each row is a body rule (tflags multiple); its hit count from
 * score_run, where the prefilter picks the lines pcre2 runs on, must be
 * the count of running pcre2 on every line (the engine before the
 * prefilter). Checked with Hyperscan (prefilter_hs; without Hyperscan
 * both runs use literals) and with the literal fallback. The rows
 * are the cases the loosening and Hyperscan could get wrong.
 */
/* A ReplaceTags fuzzy letter o: its ASCII, UTF-8 and entity
 * look-alikes (the shape of 72_active.cf's replace_tag O). */
#define PF_FUZZY_O "(?:[oO0\\xf2-\\xf6]|[\\xc3][\\xb2\\xb3\\xb4\\xb5\\xb6\\xb8]|" \
	"[\\xce][\\xbf\\x9f]|[\\xd0][\\xbe\\x9e]|[\\xd5][\\xb8\\x95]|" \
	"&\\#(?:111|242|243|244|245|246|248|959|1086);|" \
	"[\\xe1][\\xbb](?:[\\x8d]|[\\x8f]|[\\x91])|[\\xf0][\\x9d][\\x90][\\xa8\\xa9])"

/* A letter spelt only with bytes >= 0x80 (Latin-1 and UTF-8; long and
 * escaped enough to be taken for a fuzzy letter) */
#define PF_FUZZY_HIGH "(?:[\\xf2-\\xf6]|[\\xc3][\\xb2\\xb3\\xb4\\xb5\\xb6\\xb8]|" \
	"[\\xce][\\xbf\\x9f]|[\\xd0][\\xbe\\x9e]|[\\xd5][\\xb8\\x95]|" \
	"[\\xe1][\\xbb](?:[\\x8d]|[\\x8f]|[\\x91])|" \
	"[\\xf0][\\x9d][\\x90][\\xa8\\xa9]|[\\xc4][\\x8d\\x8f]|" \
	"[\\xd1][\\x8f\\x91]|[\\xd2][\\x81\\x83])"

static const struct pf_row {
	const char *re;
	const char *why;
} pf_rows[] = {
	{ "/cheap\\s+pills/i", "caseless literal" },
	{ "/\\xe4rger/i", "caseless: pcre2 folds ASCII only" },
	{ "/^foo$/m", "multiline anchors" },
	{ "/bar$/", "$ before a final newline" },
	{ "/a\\sb/", "\\s matches VT" },
	{ "/(?<=x)y\\Kz/", "lookbehind and \\K (Hyperscan refuses \\K)" },
	{ "/(a)(?(1)b|c)/", "conditional (refused by Hyperscan)" },
	{ "/(\\w{3}) \\1\\b/", "backreference" },
	{ "/\\w{3,5}\\d{2}/", "bounded repeats" },
	{ "/o{,2}kay/", "Perl's {,n}" },
	{ "/x(?:abc|d(?:ef|gh){2})?yz/", "optional group" },
	{ "/\\bfoo(?i)bar|BAZ/", "inline option" },
	{ "/\\b(?:e?news|opt.?out)\\b/i", "optional atom after \\b" },
	{ "/ a \\s b /x", "extended" },
	{ "/\\Qa.b\\E+c/", "\\Q...\\E" },
	{ "/(?:^|\\s)(?:w|vv)(?:[\\s_]?)(?:i|l)(?:n|\\|\\|)/",
	    "ReplaceTags shape" },
	{ "/\\?.{0,200}\\w\\@[\\w-]{1,20}.\\w\\w\\w?\\b/i",
	    "long bounded repeats" },
	{ "/(?>a+)bc|c++dd/", "atomic and possessive" },
	{ "/(?:[$]|\\$)\\d\\d+(?:$|\\W)/", "$ inside a pattern" },
	{ "/\\x{41}\\x42\\101CD/", "hex and octal escapes" },
	{ "/(?<n>abc)\\k<n>/", "named group and \\k" },
	{ "/qu(?=i)iz|zz(?!z)y/", "lookaheads" },
	{ "/(?:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\\w|(?i)tail)end/",
	    "a branch over the budget, text after the group" },
	{ "/s" PF_FUZZY_O "+n\\b/i", "fuzzy letter (ReplaceTags)" },
	{ "/\\b(?:" PF_FUZZY_O "ne|n" PF_FUZZY_O PF_FUZZY_O "k)\\b/",
	    "word list in fuzzy letters" },
	{ "/q(?:alpha|beta|gamma|delta|epsilon|zeta|eta|theta|iota|kappa|"
	    "lambda)?rs/", "long optional group inside a branch" },
};

static const struct span pf_lines[] = {
	L("Subject: Cheap PILLS and \xc4rger"),
	L("cheap   pills, \xe4rger \xe4RGER \xc4RGER"),
	L("x\nfoo\ny"),
	L("bar\n"),
	L("a\vb a\tb"),
	L("xyz xyz"),
	L("ab ac"),
	L("hello hello world, abc abc"),
	L("abcd12 ab1"),
	L("okay ookay oookay ooookay"),
	L("xabcyz xdefghyz xyz xdefyz"),
	L("foobar FOOBAR fooBAR baz BAZ"),
	L("enewsletter opt-out newsy"),
	L("a b a\tb ab"),
	L("a.bc a.b.c"),
	L(" vv_|| w l n vvin"),
	L("http://x/?x a@b-c.com"),
	L("aabc aaacd cccdd"),
	L("$15 $2x \xa4 $77"),
	L("ABACD AB\x41" "CD"),
	L("abcabc abcab"),
	L("quiz zzy zzzy"),
	L("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAxend TAILend tailEND"),
	L("nothing to see"),
	L("s\xd0\xben s&#111;n soon s&#1086;n s\xc3\xb6\xc3\xb6n son sun"),
	L("one \xf0\x9d\x90\xa8ne on n\xc3\xb8" "0k n&#959;ok noon"),
	L("qrs qbetars qthetars qomegars q rs"),
	L(""),
};

#define PF_SPLIT_WORDS	6000	/* enough to exceed pcre2's 64 KiB */

/* Count pcre2's matches of re on every line, as score_run did before
 * the prefilter (multiple, up to SCORE_MAX_HITS_DEFAULT). */
static unsigned
pf_expected(const struct perlre *re, const struct span *lines, size_t n)
{
	struct perlre_ctx c;
	unsigned total = 0;
	size_t l;

	perlre_ctx_init(&c);
	for (l = 0; l < n && total < SCORE_MAX_HITS_DEFAULT; l++) {
		size_t off = 0, st, en;

		while (total < SCORE_MAX_HITS_DEFAULT && off <= lines[l].len &&
		    perlre_match(re, &c, lines[l].p, lines[l].len, off, &st,
		    &en) == 1) {
			total++;
			off = en > st ? en : en + 1;
		}
	}
	perlre_ctx_fini(&c);
	return total;
}

/* How the last pf_check's body rules were filtered: 1 with a
 * Hyperscan database, 0 without. */
static int pf_had_db;
static int pf_had_fza;	/* ... and a fuzzy-ASCII one */

static void
pf_check(const char *mode, size_t nrows)
{
	struct score_msg sm = {
		NULL, pf_lines, sizeof pf_lines / sizeof pf_lines[0],
		NULL, 0, { "", 0 }, NULL, 0, NULL
	};
	struct score_load_report rep;
	struct score_rules *r = load(&rep, 0);
	struct score_result res;
	struct err e;
	size_t i, nhs = 0;
	char name[32];

	if (!ok(r != NULL, "pf %s: loads", mode))
		return;
	is_int(score_run(r, &sm, NULL, &res, &e), 0, "pf %s: score_run", mode);
	for (i = 0; i < nrows; i++) {
		const struct rule *ru;
		unsigned want, got = 0;
		int pos;
		size_t k;

		buf_fmt(name, sizeof name, "PF_%02zu", i);
		ru = rule(r, name);
		if (!ok(ru != NULL && ru->runnable, "pf %s: %s compiles",
		    mode, name))
			continue;
		want = pf_expected(&ru->re, pf_lines,
		    sizeof pf_lines / sizeof pf_lines[0]);
		has_hit(&res, name, &got);
		for (pos = -1, k = 0; k < r->nbody; k++)
			if (&r->rules[r->body[k]] == ru)
				pos = (int)k;
		if (pos >= 0 && r->pf[PF_BODY].mode[pos] == PF_M_HS)
			nhs++;
		is_int(got, want, "pf %s: %s (%s) counts as without the "
		    "prefilter (mode %d)", mode, name, i < sizeof pf_rows /
		    sizeof pf_rows[0] ? pf_rows[i].why : "split pattern",
		    pos >= 0 ? r->pf[PF_BODY].mode[pos] : -1);
	}
#ifdef HAVE_HYPERSCAN
	if (strncmp(mode, "hyperscan", 9) == 0) {
		ok(nhs > nrows / 2, "pf %s: most rows are in the database "
		    "(%zu of %zu)", mode, nhs, nrows);
		ok(r->pf[PF_BODY].fzdb != NULL &&
		    r->pf[PF_BODY].fzadb != NULL, "pf %s: the fuzzy rows "
		    "have their database and its ASCII copy, and count the "
		    "same on ASCII and UTF-8 lines", mode);
	}
#endif
	pf_had_db = r->pf[PF_BODY].db != NULL;
	pf_had_fza = r->pf[PF_BODY].fzadb != NULL;
	(void)nhs;
	score_result_free(&res);
	score_rules_free(&r);
	score_load_report_free(&rep);
}

#ifdef HAVE_HYPERSCAN
/* The cache entry of the body rules in dir (its path into path): 0, or
 * -1 when there is none. */
static int
hs_cache_entry(const char *dir, char *path, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = -1;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "hs-body-", 8) == 0 &&
		    strchr(de->d_name, '.') == NULL) {
			buf_fmt(path, size, "%s/%s", dir, de->d_name);
			ret = 0;
		}
	closedir(d);
	return ret;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Flip one byte of path at offset off. */
static void
flip_byte(const char *path, off_t off)
{
	unsigned char c;
	int fd = open(path, O_RDWR);

	if (fd == -1)
		return;
	if (pread(fd, &c, 1, off) == 1) {
		c ^= 0x5a;
		(void)!pwrite(fd, &c, 1, off);
	}
	close(fd);
}

/*
 * The Hyperscan database cache: prefilter_hs 0 (auto) with a cache
 * directory compiles, stores, and then loads from it with the same
 * counts; an entry that is corrupted, or writable by others, or in a
 * directory writable by others, is never used (pf_check still counts
 * right: it compiles anew, or runs on literals).
 */
static void
test_hs_cache(size_t nrows)
{
	char dir[160], path[512];
	struct stat st;
	buf_fmt(dir, sizeof dir, "%s.hs", tmpdir);
	load_cache = dir;
	load_hs = 0;
	pf_check("hyperscan, compiled into the cache", nrows);
	ok(pf_had_db, "hs cache: auto with a writable cache: a database");
	ok(stat(dir, &st) == 0 && S_ISDIR(st.st_mode),
	    "hs cache: the configured directory is created");
	if (!ok(hs_cache_entry(dir, path, sizeof path) == 0,
	    "hs cache: the body database is stored"))
		goto out;
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644,
	    "hs cache: entry mode 0644 (got %o)", st.st_mode & 07777);
	pf_check("hyperscan, from the cache", nrows);
	ok(pf_had_db, "hs cache: loaded");

	/* a corrupted entry: checksum fails, compiled and stored anew */
	flip_byte(path, file_size(path) / 2);
	pf_check("hyperscan, corrupted entry", nrows);
	ok(pf_had_db, "hs cache: a corrupted entry is compiled anew");
	/* writable by others: not read, replaced */
	chmod(path, 0666);
	pf_check("hyperscan, group-writable entry", nrows);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644,
	    "hs cache: an entry writable by others is replaced");
	/* a directory writable by others is not used at all */
	chmod(dir, 0777);
	pf_check("literals, unsafe cache directory", nrows);
	ok(!pf_had_db, "hs cache: a directory writable by others is ignored");
	chmod(dir, 0755);
	/* read-only use: load_hs 0 with a cache that has the entry, as a
	 * user that cannot write it would */
	unlink(path);
	chmod(dir, 0555);
	if (geteuid() != 0) {
		pf_check("literals, read-only cache without the entry", nrows);
		ok(!pf_had_db, "hs cache: auto does not compile what it "
		    "cannot keep");
	}
	chmod(dir, 0755);
out:
	if (hs_cache_entry(dir, path, sizeof path) == 0)
		unlink(path);
	{
		DIR *d = opendir(dir);
		struct dirent *de;

		while (d != NULL && (de = readdir(d)) != NULL)
			if (de->d_name[0] != '.') {
				buf_fmt(path, sizeof path, "%s/%s", dir,
				    de->d_name);
				unlink(path);
			}
		if (d != NULL)
			closedir(d);
	}
	rmdir(dir);
	load_cache = "";
}
#endif

static void
test_prefilter(void)
{
	struct buf cf = BUF_INIT;
	size_t i, nrows = sizeof pf_rows / sizeof pf_rows[0];
	struct buf lit = BUF_INIT, lo = BUF_INIT;
	int rc;

	for (i = 0; i < nrows; i++)
		buf_addf(&cf, "body PF_%02zu %s\nscore PF_%02zu 1\n"
		    "tflags PF_%02zu multiple\n", i, pf_rows[i].re, i, i);
	/* a word list too big for one pcre2 pattern: split in pieces,
	 * the prefilter must cover every piece */
	buf_addf(&cf, "body PF_%02zu /\\b(?:", nrows);
	for (i = 0; i < PF_SPLIT_WORDS; i++)
		buf_addf(&cf, "%sw%04zux", i ? "|" : "", i);
	buf_addf(&cf, ")\\b/\nscore PF_%02zu 1\ntflags PF_%02zu multiple\n",
	    nrows, nrows);
	write_file("30_pf.cf", cf.data);
	buf_free(&cf);
	/* the test cf files of the other tests are in the same directory:
	 * move them away for this one */
	rename_away(1);
	load_hs = 1;
	pf_check("hyperscan", nrows + 1);
	load_hs = -1;
	pf_check("literals", nrows + 1);
	ok(!pf_had_db, "pf: prefilter_hs < 0: no database");
	load_hs = 0;
	pf_check("literals (auto, no cache)", nrows + 1);
	ok(!pf_had_db, "pf: prefilter_hs 0 without a cache: no database");
#ifdef HAVE_HYPERSCAN
	test_hs_cache(nrows + 1);
#endif
	rename_away(0);

	/* the pieces themselves */
	ok(rules_pf_literal("cheap\\s+pills", 13, PCRE2_CASELESS, &lit) == 0 &&
	    lit.len == 5 && memcmp(lit.data, "cheap", 5) == 0,
	    "pf: literal of cheap\\s+pills is cheap");
	buf_reset(&lit);
	/* call first: ok()'s arguments are evaluated in no set order, and
	 * the call may move the buffer the message prints */
	rc = rules_pf_literal("ab?cdef", 7, 0, &lit);
	ok(rc == 0 && lit.len == 4 &&
	    memcmp(lit.data, "cdef", 4) == 0, "pf: an optional byte breaks the "
	    "literal (got %.*s)", (int)lit.len, lit.data ? lit.data : "");
	buf_reset(&lit);
	ok(rules_pf_literal("foo|barbaz", 10, 0, &lit) == -1,
	    "pf: no literal across a top-level alternation");
	ok(rules_pf_literal("(?i)foobar", 10, 0, &lit) == -1,
	    "pf: no literal under an inline option");
	rc = rules_pf_loosen("a{2,300}b{0,9}", 14, 0, &lo);
	ok(rc == 0 && strcmp(lo.data, "a{2,}b*") == 0, "pf: loosen bounded repeats "
	    "(got %s)", lo.data ? lo.data : "");
	buf_reset(&lo);
	ok(rules_pf_loosen("(a)(?(1)b|c)", 12, 0, &lo) == -1,
	    "pf: a conditional is not loosened");
	buf_reset(&lo);
	rc = rules_pf_loosen("x" PF_FUZZY_O "y", strlen(PF_FUZZY_O) + 2, 0,
	    &lo);
	ok(rc == 0 && strcmp(lo.data, "x(?:[0Oo\\xf2-\\xf6]|"
	    "[\\xc3\\xce\\xd0\\xd5\\xe1\\xf0][\\x80-\\xbf]+|"
	    "[\\x26][\\x230-9\\x3b]+)y") == 0,
	    "pf: a fuzzy letter keeps its bytes (got %s)",
	    lo.data ? lo.data : "");
	buf_reset(&lo);
	rc = rules_pf_loosen("x" PF_FUZZY_O "y", strlen(PF_FUZZY_O) + 2,
	    PF_LOOSEN_ASCII, &lo);
	ok(rc == 0 && strcmp(lo.data, "x(?:[0Oo]|[\\x26][\\x230-9\\x3b]+)y") == 0,
	    "pf: for ASCII lines a fuzzy letter keeps its ASCII spellings "
	    "(got %s)", lo.data ? lo.data : "");
	buf_reset(&lo);
	rc = rules_pf_loosen("x" PF_FUZZY_HIGH "y", strlen(PF_FUZZY_HIGH) + 2,
	    PF_LOOSEN_ASCII, &lo);
	ok(rc == 0 && strcmp(lo.data, "x(?:\\xff)y") == 0,
	    "pf: ... and one spelt only in UTF-8 becomes a byte ASCII lines "
	    "lack (got %s)", lo.data ? lo.data : "");
	buf_reset(&lo);
	rc = rules_pf_loosen("x" PF_FUZZY_HIGH "y", strlen(PF_FUZZY_HIGH) + 2,
	    0, &lo);
	ok(rc == 0 && strstr(lo.data, "\\x80-\\xbf") != NULL,
	    "pf: ... which the full copy keeps (got %s)",
	    lo.data ? lo.data : "");
	buf_reset(&lo);
	rc = rules_pf_loosen("a(?:bcdefghijklmnopqrstuvwxyz|"
	    "0123456789012345678901234567890123456789)?z", 73, 0, &lo);
	ok(rc == 0 && strcmp(lo.data, "a[\\s\\S]*z") == 0,
	    "pf: a long optional group becomes any text (got %s)",
	    lo.data ? lo.data : "");
	buf_free(&lit);
	buf_free(&lo);
}

static void
cleanup(void)
{
	static const char *const names[] = {
		"10_a.cf", "20_b.cf", "inc.inc", "notes.txt", "30_pf.cf"
	};
	char path[256];
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		buf_fmt(path, sizeof path, "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

int
main(void)
{
	buf_fmt(tmpdir, sizeof tmpdir, "/tmp/test-score-rules.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_perlre();
	test_perlre_split();
	test_meta();
	test_cf();
	test_run();
	test_prefilter();
	cleanup();
	return tap_done();
}
