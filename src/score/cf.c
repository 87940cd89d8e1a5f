/*
 * cf.c - the SpamAssassin rule-file reader (score_rules_load).
 *
 * Follows SpamAssassin 4.0.1's Conf/Parser.pm and Conf.pm: comments
 * (unescaped #), lang lines (our language is en), if/ifplugin/else/endif
 * with SpamAssassin's answers, include, require_version, then the
 * directives. Rule definitions are kept as text until everything is read
 * (a later definition or score replaces an earlier one; score/describe/
 * tflags may come before the rule), then ReplaceTags expands the
 * replace_rules, regexes are compiled, eval: calls are resolved through
 * the eval table, metas are compiled and ordered (rules.c).
 *
 * Which plugins are "loaded" (ifplugin, plugin(), has(), can()): the ones
 * Debian's SpamAssassin 4.0.1 loads by default (/etc/spamassassin, the .pre files),
 * the ones named by loadplugin lines we read, and the ones eval.c
 * emulates (score_plugin_loaded). So the rule set defined here is
 * SpamAssassin's own, and whatever of it we cannot run is listed in the
 * load report instead of silently vanishing with its ifplugin block.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "rules-int.h"

/* What `version` and `perl_version` are in if expressions. */
#define CF_VERSION_NUM		"4.000001"
#define CF_PERL_VERSION_NUM	"5.036000"

/* Debian's SpamAssassin 4.0.1 default plugins (v310.pre ... v401.pre). */
static const char *const sa_default_plugins[] = {
	"AskDNS", "AutoLearnThreshold", "Bayes", "BodyEval", "Check", "DKIM",
	"DMARC", "DNSEval", "FreeMail", "HTMLEval", "HTTPSMismatch", "HashBL",
	"HeaderEval", "ImageInfo", "MIMEEval", "MIMEHeader", "Pyzor", "Razor2",
	"RelayEval", "ReplaceTags", "Rule2XSBody", "SPF", "SpamCop",
	"URIDNSBL", "URIDetail", "URIEval", "VBounce", "WLBLEval",
	"WelcomeListSubject", NULL
};

/* Methods SpamAssassin 4.0.1 has, for has()/can(): "Plugin::method"
 * (grep "^sub has_" in its sources); Conf's are always there. */
static const char *const sa_methods[] = {
	"Conf::feature_originating_ip_headers",
	"Conf::feature_dns_local_ports_permit_avoid",
	"Conf::feature_bayes_auto_learn_on_error",
	"Conf::feature_uri_host_listed", "Conf::feature_yesno_takes_args",
	"Conf::feature_bug6558_free", "Conf::feature_edns",
	"Conf::feature_dns_query_restriction",
	"Conf::feature_registryboundaries", "Conf::feature_geodb",
	"Conf::feature_dns_block_rule", "Conf::feature_compile_regexp",
	"Conf::feature_meta_rules_matching", "Conf::feature_subjprefix",
	"Conf::feature_bayes_stopwords", "Conf::feature_get_host",
	"Conf::feature_blocklist_welcomelist",
	"Conf::feature_welcomelist_blocklist",
	"Conf::feature_header_address_parser",
	"Conf::feature_local_tests_only", "Conf::feature_header_first_last",
	"Conf::feature_header_match_many", "Conf::feature_capture_rules",
	"Conf::has_tflags_nosubject", "Conf::has_tflags_nolog",
	"Conf::perl_min_version_5010000",
	"Plugin::HashBL::has_hashbl_bodyre", "Plugin::HashBL::has_hashbl_emails",
	"Plugin::HashBL::has_hashbl_uris", "Plugin::HashBL::has_hashbl_ignore",
	"Plugin::HashBL::has_hashbl_email_regex",
	"Plugin::HashBL::has_hashbl_tag", "Plugin::HashBL::has_hashbl_sha256",
	"Plugin::HashBL::has_hashbl_attachments",
	"Plugin::HashBL::has_hashbl_email_domain",
	"Plugin::URIDetail::has_host_key",
	"Plugin::DNSEval::has_tflags_domains_only",
	"Plugin::DNSEval::has_tflags_ips_only",
	"Plugin::MIMEHeader::has_all_header",
	"Plugin::MIMEHeader::has_tflags_range",
	"Plugin::MIMEHeader::has_tflags_concat",
	"Plugin::MIMEHeader::has_tflags_multiple",
	"Plugin::URIDNSBL::has_tflags_domains_only",
	"Plugin::URIDNSBL::has_subtest_for_ranges",
	"Plugin::URIDNSBL::has_uridnsbl_for_a",
	"Plugin::URIDNSBL::has_uridnsbl_a_ns",
	"Plugin::URIDNSBL::has_tflags_notrim",
	"Plugin::URIDNSBL::has_uridnsbl_skip_mailto",
	"Plugin::AskDNS::has_tag_header",
	"Plugin::SPF::has_check_for_spf_errors",
	"Plugin::SPF::has_check_spf_skipped_noenvfrom",
	"Plugin::BodyEval::has_check_body_length",
	"Plugin::BodyEval::has_plaintext_body_sig_ratio",
	"Plugin::DKIM::has_arc",
	"Plugin::MIMEEval::has_check_for_ascii_text_illegal",
	"Plugin::MIMEEval::has_check_abundant_unicode_ratio",
	"Plugin::MIMEEval::has_check_qp_ratio",
	NULL
};

#define SA_PREFIX	"Mail::SpamAssassin::"

struct tagdef {
	char kind;		/* 't' tag, 'p' pre, 'i' inter, 'o' post */
	char *name;
	char *val;
};

struct counted {
	char *key;
	unsigned n;
};

struct cf {
	struct score_rules *r;
	struct score_load_report *rep;
	struct tagdef *tags;
	size_t ntags;
	char *rstart, *rend;
	char **plugins;
	size_t nplugins;
	int compat_wlbl;	/* enable_compat welcomelist_blocklist */
	struct counted *ign;	/* directives ignored */
	size_t nign;
	struct counted *miss;	/* eval functions we do not have */
	size_t nmiss;
	unsigned depth;
	const char *file;
	unsigned line;
	int skip;
	int ifskip[CF_MAX_IF_DEPTH];
	size_t nifs;
	unsigned nlines_reported;
};

static void
problem(struct cf *c, int is_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct cf *c, int is_error, const char *fmt, ...)
{
	va_list ap;

	if (is_error)
		c->rep->errors++;
	if (c->nlines_reported++ >= CF_MAX_REPORT_LINES)
		return;
	if (c->file != NULL)
		buf_addf(&c->rep->text, "%s:%u: ", c->file, c->line);
	va_start(ap, fmt);
	buf_vaddf(&c->rep->text, fmt, ap);
	va_end(ap);
	buf_addc(&c->rep->text, '\n');
}

static void
count_key(struct counted **arr, size_t *n, const char *key, size_t klen)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strlen((*arr)[i].key) == klen &&
		    memcmp((*arr)[i].key, key, klen) == 0) {
			(*arr)[i].n++;
			return;
		}
	*arr = xreallocarray(*arr, *n + 1, sizeof **arr);
	(*arr)[*n].key = xstrndup(key, klen);
	(*arr)[*n].n = 1;
	(*n)++;
}

/* ---- the rule index ---- */

static uint32_t
hash_name(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

int
rules_find(const struct score_rules *r, const char *name, size_t len)
{
	size_t mask, i;

	if (r->idxcap == 0)
		return -1;
	mask = r->idxcap - 1;
	for (i = hash_name(name, len) & mask; r->idx[i] != 0;
	    i = (i + 1) & mask) {
		const struct rule *ru = &r->rules[r->idx[i] - 1];

		if (strlen(ru->name) == len && memcmp(ru->name, name, len) == 0)
			return (int)(r->idx[i] - 1);
	}
	return -1;
}

static void
index_insert(struct score_rules *r, size_t ri)
{
	size_t mask = r->idxcap - 1, i;
	const char *n = r->rules[ri].name;

	for (i = hash_name(n, strlen(n)) & mask; r->idx[i] != 0;
	    i = (i + 1) & mask)
		;
	r->idx[i] = (unsigned)ri + 1;
}

/* The rule of that name, created empty when new; -1 over the limit. */
static int
rule_get(struct cf *c, const char *name, size_t len)
{
	struct score_rules *r = c->r;
	int i = rules_find(r, name, len);
	size_t k;

	if (i >= 0)
		return i;
	if (r->nrules >= SCORE_MAX_RULES) {
		problem(c, 1, "too many rules (%d)", SCORE_MAX_RULES);
		return -1;
	}
	if (r->nrules == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->rules = xreallocarray(r->rules, r->cap, sizeof *r->rules);
	}
	memset(&r->rules[r->nrules], 0, sizeof r->rules[0]);
	r->rules[r->nrules].name = xstrndup(name, len);
	r->rules[r->nrules].hgroup = -1;
	r->rules[r->nrules].range_max = 1000;
	r->nrules++;
	if ((r->nrules) * 2 > r->idxcap) {
		free(r->idx);
		r->idxcap = r->idxcap ? r->idxcap * 2 : 2048;
		r->idx = xcalloc(r->idxcap, sizeof *r->idx);
		for (k = 0; k < r->nrules; k++)
			index_insert(r, k);
	} else
		index_insert(r, r->nrules - 1);
	return (int)(r->nrules - 1);
}

/* SpamAssassin's RULENAME_RE: [_a-zA-Z][_a-zA-Z0-9]{0,127}; add_test
 * refuses names over 100. */
static int
valid_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 100)
		return 0;
	if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') ||
	    (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 1; i < len; i++)
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

/* Split "WORD rest": word and the rest after whitespace. */
static void
split_word(struct span v, struct span *w, struct span *rest)
{
	size_t i = 0;

	while (i < v.len && !is_space((unsigned char)v.p[i]))
		i++;
	w->p = v.p;
	w->len = i;
	while (i < v.len && is_space((unsigned char)v.p[i]))
		i++;
	rest->p = v.p + i;
	rest->len = v.len - i;
}

/* ---- plugins and if expressions ---- */

static const char *
plugin_short(const char *name)
{
	static const char pfx[] = SA_PREFIX "Plugin::";

	if (strncmp(name, pfx, sizeof pfx - 1) == 0)
		return name + sizeof pfx - 1;
	return name;
}

static int
plugin_loaded(struct cf *c, const char *name)
{
	const char *s = plugin_short(name);
	size_t i;

	/* Parser.pm renames these two */
	if (strcmp(s, "Dmarc") == 0)
		s = "DMARC";
	else if (strcmp(s, "WhiteListSubject") == 0)
		s = "WelcomeListSubject";
	if (strcmp(s, "RaciallyCharged") == 0)
		return 1;
	for (i = 0; sa_default_plugins[i] != NULL; i++)
		if (strcmp(s, sa_default_plugins[i]) == 0)
			return 1;
	for (i = 0; i < c->nplugins; i++)
		if (strcmp(plugin_short(c->plugins[i]), s) == 0)
			return 1;
	if (s != name) {
		char full[256];

		if (buf_fmt(full, sizeof full, SA_PREFIX "Plugin::%s", s) == 0
		    && score_plugin_loaded(full))
			return 1;
	}
	return score_plugin_loaded(name);
}

/* can()/has(): "Mail::SpamAssassin::X::method" */
static int
method_exists(struct cf *c, const char *m)
{
	const char *s = m, *last;
	size_t i;

	if (strncmp(s, SA_PREFIX, sizeof SA_PREFIX - 1) == 0)
		s += sizeof SA_PREFIX - 1;
	if (strcmp(s, "Conf::compat_welcomelist_blocklist") == 0)
		return c->compat_wlbl;
	for (i = 0; sa_methods[i] != NULL; i++)
		if (strcmp(s, sa_methods[i]) == 0)
			break;
	if (sa_methods[i] == NULL)
		return 0;
	if (strncmp(s, "Plugin::", 8) == 0) {
		char plugin[160];
		int pl;

		last = strrchr(s, ':');
		pl = (int)(last - 1 - s);
		if (buf_fmt(plugin, sizeof plugin, SA_PREFIX "%.*s", pl, s) == -1)
			return 0;
		return plugin_loaded(c, plugin);
	}
	return 1;
}

static int
cond_lookup(void *arg, const char *name, size_t len)
{
	(void)arg;
	(void)name;
	(void)len;
	return -1;
}

/*
 * Evaluate an if expression as Parser.pm handle_conditional does: the
 * functions plugin()/can()/has() and the words version/perl_version are
 * replaced by numbers, the rest is Perl arithmetic (meta.c). 1 true,
 * 0 false, -1 unparseable.
 */
static int
eval_cond(struct cf *c, const char *s, size_t len)
{
	struct buf e = BUF_INIT, why = BUF_INIT;
	struct meta_prog *p = NULL;
	int *deps = NULL;
	size_t ndeps = 0, i = 0;
	int ret = -1;
	double v;

	while (i < len) {
		size_t k = i;

		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || s[i] == '_')) {
			buf_addc(&e, s[i++]);
			continue;
		}
		while (k < len && (s[k] == '_' || s[k] == ':' ||
		    (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' &&
		    s[k] <= 'Z') || (s[k] >= '0' && s[k] <= '9')))
			k++;
		if (k - i == 7 && memcmp(s + i, "version", 7) == 0)
			buf_adds(&e, " " CF_VERSION_NUM " ");
		else if (k - i == 12 && memcmp(s + i, "perl_version", 12) == 0)
			buf_adds(&e, " " CF_PERL_VERSION_NUM " ");
		else if (k - i == 16 &&
		    memcmp(s + i, "local_tests_only", 16) == 0)
			buf_adds(&e, " 1 ");
		else if ((k - i == 6 && memcmp(s + i, "plugin", 6) == 0) ||
		    (k - i == 3 && memcmp(s + i, "can", 3) == 0) ||
		    (k - i == 3 && memcmp(s + i, "has", 3) == 0)) {
			char fn = s[i], arg[256];
			size_t a, b;

			while (k < len && is_space((unsigned char)s[k]))
				k++;
			if (k >= len || s[k] != '(')
				goto out;
			for (a = ++k; a < len && is_space((unsigned char)s[a]);
			    a++)
				;
			for (b = a; b < len && s[b] != ')'; b++)
				;
			if (b >= len)
				goto out;
			k = b + 1;
			while (b > a && is_space((unsigned char)s[b - 1]))
				b--;
			if (b - a >= sizeof arg)
				goto out;
			memcpy(arg, s + a, b - a);
			arg[b - a] = '\0';
			buf_adds(&e, (fn == 'p' ? plugin_loaded(c, arg) :
			    method_exists(c, arg)) ? " 1 " : " 0 ");
		} else
			goto out;
		i = k;
	}
	if (meta_compile(e.data ? e.data : "", e.len, cond_lookup, NULL, &p,
	    &deps, &ndeps, &why) == -1)
		goto out;
	v = meta_eval(p, NULL);
	ret = v != 0;
out:
	if (ret == -1)
		problem(c, 1, "unparseable if expression: %.*s", (int)len, s);
	meta_free(&p);
	free(deps);
	buf_free(&e);
	buf_free(&why);
	return ret;
}

/* ---- directives ---- */

static int
parse_number(struct span v, double *out)
{
	char tmp[64], *end;
	size_t i = 0;

	if (v.len == 0 || v.len >= sizeof tmp)
		return -1;
	if (v.p[i] == '-')
		i++;
	if (i >= v.len || v.p[i] < '0' || v.p[i] > '9')
		return -1;
	memcpy(tmp, v.p, v.len);
	tmp[v.len] = '\0';
	*out = strtod(tmp, &end);
	/* ^-?\d+(?:\.\d+)?$ */
	for (; i < v.len && v.p[i] >= '0' && v.p[i] <= '9'; i++)
		;
	if (i < v.len && v.p[i] == '.') {
		size_t d = ++i;

		for (; i < v.len && v.p[i] >= '0' && v.p[i] <= '9'; i++)
			;
		if (i == d)
			return -1;
	}
	return i == v.len ? 0 : -1;
}

/* score NAME s [s s s], each optionally "(relative)". */
static void
d_score(struct cf *c, struct span v)
{
	struct span name, rest, w;
	double s[4];
	int n = 0, relative = 0, ri, k;

	split_word(v, &name, &rest);
	while (rest.len > 0) {
		split_word(rest, &w, &rest);
		if (n == 4) {
			n = 5;
			break;
		}
		if (w.len > 2 && w.p[0] == '(' && w.p[w.len - 1] == ')') {
			relative = 1;
			w.p++;
			w.len -= 2;
		}
		if (parse_number(w, &s[n]) == -1) {
			problem(c, 1, "score: not a number: %.*s", (int)w.len,
			    w.p);
			return;
		}
		n++;
	}
	if (name.len == 0 || (n != 1 && n != 4)) {
		problem(c, 1, "score: requires a rule name and 1 or 4 scores");
		return;
	}
	if ((ri = rule_get(c, name.p, name.len)) < 0)
		return;
	if (relative && !c->r->rules[ri].has_score) {
		problem(c, 1, "score: relative score without previous "
		    "setting for %s", c->r->rules[ri].name);
		return;
	}
	for (k = 0; k < 4; k++) {
		double x = n == 1 ? s[0] : s[k];

		c->r->rules[ri].scores[k] = relative ?
		    c->r->rules[ri].scores[k] + x : x;
	}
	c->r->rules[ri].has_score = 1;
}

static void
d_tflags(struct cf *c, struct span v)
{
	struct span name, rest, w;
	struct rule *ru;
	int ri;

	split_word(v, &name, &rest);
	if (name.len == 0 || (ri = rule_get(c, name.p, name.len)) < 0)
		return;
	ru = &c->r->rules[ri];
	/* a later tflags line replaces the earlier (a hash value) */
	ru->tflags = 0;
	ru->maxhits = 0;
	ru->range_min = 0;
	ru->range_max = 1000;
	ru->concat = 0;
	while (rest.len > 0) {
		split_word(rest, &w, &rest);
#define IS(s) (w.len == sizeof(s) - 1 && memcmp(w.p, s, w.len) == 0)
		if (IS("multiple"))
			ru->tflags |= TF_MULTIPLE;
		else if (IS("nice"))
			ru->tflags |= TF_NICE;
		else if (IS("net"))
			ru->tflags |= TF_NET;
		else if (IS("learn"))
			ru->tflags |= TF_LEARN;
		else if (IS("userconf"))
			ru->tflags |= TF_USERCONF;
		else if (IS("noautolearn"))
			ru->tflags |= TF_NOAUTOLEARN;
		else if (IS("nosubject"))
			ru->tflags |= TF_NOSUBJECT;
		else if (IS("autolearn_force"))
			ru->tflags |= TF_AUTOLEARN_FORCE;
		else if (IS("concat"))
			ru->concat = 1;
		else if (w.len > 8 && memcmp(w.p, "maxhits=", 8) == 0) {
			unsigned long m = 0;
			size_t i;

			for (i = 8; i < w.len && w.p[i] >= '0' &&
			    w.p[i] <= '9' && m < 1000000; i++)
				m = m * 10 + (unsigned long)(w.p[i] - '0');
			ru->maxhits = (unsigned)m;
		} else if (w.len > 6 && memcmp(w.p, "range=", 6) == 0) {
			/* MIMEHeader: range=N, N-, -M, N-M */
			size_t i = 6;
			unsigned a = 0, b = 0;
			int ha = 0, dash = 0, hb = 0;

			for (; i < w.len && w.p[i] >= '0' && w.p[i] <= '9' &&
			    a < 100000; i++, ha = 1)
				a = a * 10 + (unsigned)(w.p[i] - '0');
			if (i < w.len && w.p[i] == '-') {
				dash = 1;
				i++;
			}
			for (; i < w.len && w.p[i] >= '0' && w.p[i] <= '9' &&
			    b < 100000; i++, hb = 1)
				b = b * 10 + (unsigned)(w.p[i] - '0');
			if (ha && dash && hb) {
				ru->range_min = a;
				ru->range_max = b;
			} else if (ha && dash)
				ru->range_min = a;
			else if (dash && hb)
				ru->range_max = b;
			else if (ha)
				ru->range_min = ru->range_max = a;
		}
#undef IS
		/* others (publish, a69, nolog, domains_only...) change
		 * nothing we do */
	}
}

static void
d_describe(struct cf *c, struct span v)
{
	struct span name, rest;
	int ri;

	split_word(v, &name, &rest);
	if (name.len == 0 || (ri = rule_get(c, name.p, name.len)) < 0)
		return;
	free(c->r->rules[ri].describe);
	c->r->rules[ri].describe = xstrndup(rest.p, rest.len);
}

static void
d_priority(struct cf *c, struct span v)
{
	struct span name, rest;
	char tmp[32];
	int ri;

	split_word(v, &name, &rest);
	if (!valid_name(name.p, name.len) || rest.len == 0 ||
	    rest.len >= sizeof tmp) {
		problem(c, 1, "priority: invalid value");
		return;
	}
	memcpy(tmp, rest.p, rest.len);
	tmp[rest.len] = '\0';
	if ((ri = rule_get(c, name.p, name.len)) < 0)
		return;
	c->r->rules[ri].priority = strtol(tmp, NULL, 10);
}

/* A rule definition: "NAME rest" of type t. */
static void
d_define(struct cf *c, enum rule_type t, struct span v)
{
	struct span name, rest;
	struct rule *ru;
	enum rule_evalkind ek = EK_HEAD;
	int ri, is_eval = 0;

	split_word(v, &name, &rest);
	if (!valid_name(name.p, name.len)) {
		problem(c, 1, "rule '%.*s' has invalid characters or is too "
		    "long", (int)name.len, name.p);
		return;
	}
	if (rest.len == 0) {
		problem(c, 1, "missing value for rule %.*s", (int)name.len,
		    name.p);
		return;
	}
	if (t != RT_META && t != RT_PLUGIN && t != RT_MIMEHEADER) {
		/* header NAME (rbl)eval:fn(...), body NAME eval:fn(...) */
		if (rest.len > 5 && memcmp(rest.p, "eval:", 5) == 0) {
			is_eval = 1;
			rest.p += 5;
			rest.len -= 5;
		} else if (t == RT_HEADER && rest.len > 8 &&
		    memcmp(rest.p, "rbleval:", 8) == 0) {
			is_eval = 1;
			rest.p += 8;
			rest.len -= 8;
		}
		if (is_eval) {
			switch (t) {
			case RT_HEADER:
				ek = (rest.len > 9 &&
				    (memcmp(rest.p, "check_rbl", 9) == 0 ||
				    memcmp(rest.p, "check_dns", 9) == 0)) ?
				    EK_RBL : EK_HEAD;
				break;
			case RT_BODY: ek = EK_BODY; break;
			case RT_RAWBODY: ek = EK_RAWBODY; break;
			case RT_FULL: ek = EK_FULL; break;
			default:
				/* Parser.pm: no uri evals */
				problem(c, 1, "unknown eval type for %.*s",
				    (int)name.len, name.p);
				return;
			}
			t = RT_EVAL;
		}
	}
	if ((ri = rule_get(c, name.p, name.len)) < 0)
		return;
	ru = &c->r->rules[ri];
	free(ru->text);
	ru->text = xstrndup(rest.p, rest.len);
	ru->type = t;
	ru->evalkind = ek;
	ru->file = c->file;
	ru->line = c->line;
}

static void
d_plugin_rule(struct cf *c, const char *kind, struct span v)
{
	struct span name, rest;
	int ri;

	split_word(v, &name, &rest);
	if (!valid_name(name.p, name.len)) {
		problem(c, 1, "%s: invalid rule name", kind);
		return;
	}
	if ((ri = rule_get(c, name.p, name.len)) < 0)
		return;
	free(c->r->rules[ri].text);
	c->r->rules[ri].text = xstrdup(kind);
	c->r->rules[ri].type = RT_PLUGIN;
	c->r->rules[ri].file = c->file;
	c->r->rules[ri].line = c->line;
}

static void
d_tag(struct cf *c, char kind, struct span v)
{
	struct span name, rest;
	size_t i;

	split_word(v, &name, &rest);
	if (name.len == 0 || rest.len == 0) {
		problem(c, 1, "replace_*: missing value");
		return;
	}
	for (i = 0; i < c->ntags; i++)
		if (c->tags[i].kind == kind &&
		    strlen(c->tags[i].name) == name.len &&
		    memcmp(c->tags[i].name, name.p, name.len) == 0) {
			free(c->tags[i].val);
			c->tags[i].val = xstrndup(rest.p, rest.len);
			return;
		}
	if (c->ntags >= CF_MAX_TAGS) {
		problem(c, 1, "too many replace tags");
		return;
	}
	c->tags = xreallocarray(c->tags, c->ntags + 1, sizeof *c->tags);
	c->tags[c->ntags].kind = kind;
	c->tags[c->ntags].name = xstrndup(name.p, name.len);
	c->tags[c->ntags].val = xstrndup(rest.p, rest.len);
	c->ntags++;
}

static void
d_replace_rules(struct cf *c, struct span v)
{
	struct span w;
	int ri;

	while (v.len > 0) {
		split_word(v, &w, &v);
		if (w.len == 0)
			break;
		if ((ri = rule_get(c, w.p, w.len)) >= 0)
			c->r->rules[ri].replace = 1;
	}
}

static int read_path(struct cf *c, const char *path, int top);

static void
directive(struct cf *c, struct span key, struct span v)
{
	char k[64];
	size_t i;

	if (key.len >= sizeof k) {
		count_key(&c->ign, &c->nign, key.p, key.len);
		return;
	}
	for (i = 0; i < key.len; i++) {
		char ch = key.p[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		k[i] = ch == '-' ? '_' : ch;
	}
	k[key.len] = '\0';
#define K(s) (strcmp(k, s) == 0)
	if (K("header"))
		d_define(c, RT_HEADER, v);
	else if (K("body"))
		d_define(c, RT_BODY, v);
	else if (K("rawbody"))
		d_define(c, RT_RAWBODY, v);
	else if (K("full"))
		d_define(c, RT_FULL, v);
	else if (K("uri"))
		d_define(c, RT_URI, v);
	else if (K("meta"))
		d_define(c, RT_META, v);
	else if (K("mimeheader") && plugin_loaded(c, "MIMEHeader"))
		d_define(c, RT_MIMEHEADER, v);
	else if (K("describe"))
		d_describe(c, v);
	else if (K("score"))
		d_score(c, v);
	else if (K("tflags"))
		d_tflags(c, v);
	else if (K("priority"))
		d_priority(c, v);
	else if (K("required_score") || K("required_hits")) {
		double d;

		if (parse_number(v, &d) == 0)
			c->r->required = d;
		else
			problem(c, 1, "%s: invalid value", k);
	} else if (K("replace_tag"))
		d_tag(c, 't', v);
	else if (K("replace_pre"))
		d_tag(c, 'p', v);
	else if (K("replace_inter"))
		d_tag(c, 'i', v);
	else if (K("replace_post"))
		d_tag(c, 'o', v);
	else if (K("replace_rules"))
		d_replace_rules(c, v);
	else if (K("replace_start")) {
		free(c->rstart);
		c->rstart = xstrndup(v.p, v.len);
	} else if (K("replace_end")) {
		free(c->rend);
		c->rend = xstrndup(v.p, v.len);
	} else if (K("loadplugin")) {
		struct span w, rest;

		split_word(v, &w, &rest);
		c->plugins = xreallocarray(c->plugins, c->nplugins + 1,
		    sizeof *c->plugins);
		c->plugins[c->nplugins++] = xstrndup(w.p, w.len);
	} else if (K("enable_compat")) {
		if (v.len == 21 && memcmp(v.p, "welcomelist_blocklist", 21) == 0)
			c->compat_wlbl = 1;
	} else if (K("askdns") || K("urirhssub") || K("urirhsbl") ||
	    K("uridnsbl") || K("uridnssub") || K("uri_detail")) {
		/* rules defined by plugins: network lookups, or URIDetail */
		if (!K("uri_detail") || plugin_loaded(c, "URIDetail"))
			d_plugin_rule(c, k, v);
	} else if (K("util_rb_tld") || K("util_rb_2tld") ||
	    K("util_rb_3tld")) {
		/* Registry boundaries for URIs and :host/:domain (prepare.c;
		 * process-wide, like SpamAssassin's). */
		int kind = K("util_rb_tld") ? SM_TLD : K("util_rb_2tld") ?
		    SM_TLD_2 : SM_TLD_3;
		struct span w, rest = v;
		char name[256];

		for (;;) {
			split_word(rest, &w, &rest);
			if (w.len == 0)
				break;
			if (w.len < sizeof name) {
				memcpy(name, w.p, w.len);
				name[w.len] = '\0';
				(void)sm_tld_add(kind, name);
			}
		}
	} else {
		struct err e;
		int rc;

		if (c->r->eval_conf == NULL)
			c->r->eval_conf = score_eval_conf_new();
		err_clear(&e);
		rc = score_eval_conf_line(c->r->eval_conf, k, v.p, v.len, &e);
		if (rc == -1)
			problem(c, 1, "%s: %s", k, e.msg);
		else if (rc == 0)
			count_key(&c->ign, &c->nign, k, key.len);
	}
#undef K
}

/* One logical line of a file (Parser.pm parse()). */
static void
cf_line(struct cf *c, char *line, size_t len)
{
	struct span key, v, all;
	size_t i, o;

	/* comments: an unescaped # starts one; \# is a # */
	for (i = 0; i < len; i++)
		if (line[i] == '#' && (i == 0 || line[i - 1] != '\\')) {
			len = i;
			break;
		}
	for (i = o = 0; i < len; i++) {
		if (line[i] == '\\' && i + 1 < len && line[i + 1] == '#')
			continue;
		line[o++] = line[i];
	}
	len = o;
	while (len > 0 && is_space((unsigned char)line[len - 1]))
		len--;
	for (i = 0; i < len && is_space((unsigned char)line[i]); i++)
		;
	all.p = line + i;
	all.len = len - i;
	if (all.len == 0)
		return;
	split_word(all, &key, &v);
	/* lang xx: our language is en (SpamAssassin's en_US default) */
	if (key.len == 4 && memcmp(key.p, "lang", 4) == 0 && v.len > 0) {
		struct span lang;

		split_word(v, &lang, &all);
		if (lang.len > 5 || strncasecmp("en_US", lang.p, lang.len) != 0)
			return;
		if (all.len == 0)
			return;
		split_word(all, &key, &v);
	}
#define KEY(s) (key.len == sizeof(s) - 1 && strncasecmp(key.p, s, key.len) == 0)
	if (KEY("endif")) {
		if (c->nifs == 0) {
			problem(c, 1, "endif without if");
			return;
		}
		c->skip = c->ifskip[--c->nifs];
		return;
	}
	if (KEY("if") || KEY("ifplugin")) {
		int r;

		if (c->nifs >= CF_MAX_IF_DEPTH) {
			problem(c, 1, "if nested too deeply");
			return;
		}
		c->ifskip[c->nifs++] = c->skip;
		if (c->skip)
			return;
		if (KEY("ifplugin")) {
			char name[256];

			if (v.len == 0 || v.len >= sizeof name) {
				problem(c, 1, "ifplugin: bad plugin name");
				c->skip = 1;
				return;
			}
			memcpy(name, v.p, v.len);
			name[v.len] = '\0';
			r = plugin_loaded(c, name);
		} else
			r = eval_cond(c, v.p, v.len);
		if (r != 1)
			c->skip = 1;
		return;
	}
	if (KEY("else")) {
		size_t k;
		int outer = 0;

		if (c->nifs == 0) {
			problem(c, 1, "else without if");
			return;
		}
		/* Bug 7848: stay off when an enclosing block is off */
		for (k = 0; k < c->nifs; k++)
			if (c->ifskip[k])
				outer = 1;
		c->skip = outer ? 1 : !c->skip;
		return;
	}
	if (c->skip)
		return;
	if (KEY("include")) {
		char path[4096];

		if (v.len == 0 || v.len >= sizeof path) {
			problem(c, 1, "include: bad path");
			return;
		}
		if (v.p[0] != '/') {
			const char *slash = strrchr(c->file, '/');
			int dl = slash ? (int)(slash - c->file) : 1;

			if (buf_fmt(path, sizeof path, "%.*s/%.*s", dl,
			    slash ? c->file : ".", (int)v.len, v.p) == -1) {
				problem(c, 1, "include: path too long");
				return;
			}
		} else {
			memcpy(path, v.p, v.len);
			path[v.len] = '\0';
		}
		read_path(c, path, 0);
		return;
	}
	if (KEY("require_version")) {
		/* a file for another version is skipped (to its end) */
		if (!(v.len == 8 && memcmp(v.p, CF_VERSION_NUM, 8) == 0) &&
		    !(v.len == 11 && memcmp(v.p, "@@VERSION@@", 11) == 0)) {
			problem(c, 0, "requires version %.*s; skipping the "
			    "rest of the file", (int)v.len, v.p);
			c->skip = 1;
		}
		return;
	}
#undef KEY
	directive(c, key, v);
}

static int
read_file_text(const char *path, struct buf *b, struct err *e)
{
	int fd;
	struct stat st;
	ssize_t n;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_sys(e, errno, "open %s", path);
	if (fstat(fd, &st) == -1 || st.st_size > CF_MAX_FILE) {
		close(fd);
		return err_set(e, ERR_CONFIG, "%s: too large", path);
	}
	buf_reserve(b, (size_t)st.st_size + 1);
	for (;;) {
		buf_reserve(b, 65536);
		n = read(fd, b->data + b->len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int sv = errno;

			close(fd);
			return err_sys(e, sv, "read %s", path);
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		if (b->len > CF_MAX_FILE) {
			close(fd);
			return err_set(e, ERR_CONFIG, "%s: too large", path);
		}
	}
	close(fd);
	return 0;
}

static void
read_one_file(struct cf *c, const char *path)
{
	struct buf b = BUF_INIT;
	struct err e;
	const char *ofile = c->file;
	unsigned oline = c->line;
	int oskip = c->skip;
	size_t onifs = c->nifs, i, start;
	char *fname;

	err_clear(&e);
	if (c->rep->files >= CF_MAX_FILES) {
		problem(c, 1, "too many files");
		return;
	}
	if (read_file_text(path, &b, &e) == -1) {
		problem(c, 1, "%s", e.msg);
		buf_free(&b);
		return;
	}
	fname = xstrdup(path);
	c->r->files = xreallocarray(c->r->files, c->r->nfiles + 1,
	    sizeof *c->r->files);
	c->r->files[c->r->nfiles++] = fname;
	c->rep->files++;
	c->file = fname;
	c->line = 0;
	for (start = i = 0; i <= b.len; i++) {
		if (i < b.len && b.data[i] != '\n')
			continue;
		c->line++;
		c->rep->lines++;
		if (i - start > CF_MAX_LINE)
			problem(c, 1, "line too long");
		else
			cf_line(c, b.data + start, i - start);
		start = i + 1;
	}
	if (c->nifs > onifs)
		problem(c, 0, "unclosed if at end of file");
	/* Parser.pm: the if state does not leak out of a file */
	c->nifs = onifs;
	c->skip = oskip;
	c->file = ofile;
	c->line = oline;
	buf_free(&b);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file, or a directory's *.cf in byte order. -1 when path cannot be
 * read at all (top level only). */
static int
read_path(struct cf *c, const char *path, int top)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;

	if (c->depth >= CF_MAX_INCLUDE_DEPTH) {
		problem(c, 1, "include nested too deeply: %s", path);
		return 0;
	}
	if (stat(path, &st) == -1) {
		if (top)
			return -1;
		problem(c, 1, "cannot read %s: %s", path, strerror(errno));
		return 0;
	}
	c->depth++;
	if (!S_ISDIR(st.st_mode)) {
		read_one_file(c, path);
		c->depth--;
		return 0;
	}
	if ((d = opendir(path)) == NULL) {
		c->depth--;
		if (top)
			return -1;
		problem(c, 1, "cannot read %s: %s", path, strerror(errno));
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		char full[4096];
		struct stat fst;

		if (l < 4 || strcmp(de->d_name + l - 3, ".cf") != 0)
			continue;
		if (buf_fmt(full, sizeof full, "%s/%s", path, de->d_name) == -1
		    || stat(full, &fst) == -1 || !S_ISREG(fst.st_mode))
			continue;
		if (n >= CF_MAX_FILES)
			break;
		names = xreallocarray(names, n + 1, sizeof *names);
		names[n++] = xstrdup(full);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	for (i = 0; i < n; i++) {
		read_one_file(c, names[i]);
		free(names[i]);
	}
	free(names);
	c->depth--;
	return 0;
}

/* ---- finishing: ReplaceTags, compiling ---- */

static const char *
tag_find(const struct cf *c, char kind, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < c->ntags; i++)
		if (c->tags[i].kind == kind &&
		    strlen(c->tags[i].name) == len &&
		    memcmp(c->tags[i].name, name, len) == 0)
			return c->tags[i].val;
	return NULL;
}

/* Find "<KIND NAME>" (start/end strings), remove it, return NAME. */
static int
take_directive(const struct cf *c, struct buf *re, const char *kind,
    char *name, size_t namesz)
{
	size_t sl = strlen(c->rstart), el = strlen(c->rend), kl = strlen(kind);
	size_t i;

	for (i = 0; i + sl + kl + 1 < re->len; i++) {
		const char *p = re->data + i;
		const char *e;

		if (memcmp(p, c->rstart, sl) != 0 ||
		    memcmp(p + sl, kind, kl) != 0 || p[sl + kl] != ' ')
			continue;
		e = mem_find(p + sl + kl + 1, re->len - i - sl - kl - 1,
		    c->rend, el);
		if (e == NULL || e == p + sl + kl + 1)
			continue;
		if ((size_t)(e - (p + sl + kl + 1)) >= namesz)
			return 0;
		memcpy(name, p + sl + kl + 1, (size_t)(e - (p + sl + kl + 1)));
		name[e - (p + sl + kl + 1)] = '\0';
		memmove(re->data + i, e + el, re->len - (size_t)(e + el -
		    re->data));
		re->len -= (size_t)(e + el - p);
		re->data[re->len] = '\0';
		return 1;
	}
	return 0;
}

/*
 * ReplaceTags finish_parsing_end on a regex body: <pre X>, <post X>,
 * <inter X> directives, then each <TAG> replaced, up to 6 passes while
 * replacements bring new tags. The body is split into tags (<...>) and
 * the text between them, as Perl's split(/(<[^<>]+>)/) does; the
 * regex SpamAssassin works on always starts with its (?flags) prefix, so
 * "inter" only ever goes between two adjacent tags.
 */
static void
replace_tags(const struct cf *c, struct buf *re)
{
	unsigned pass;
	int again;

	for (pass = 0; pass < CF_REPLACE_PASSES; pass++) {
		char pre[128], post[128], inter[128];
		const char *pv = NULL, *ov = NULL, *iv = NULL;
		struct buf out = BUF_INIT;
		size_t i = 0;
		int prev_tag = 0;

		again = 0;
		if (take_directive(c, re, "pre", pre, sizeof pre))
			pv = tag_find(c, 'p', pre, strlen(pre));
		if (take_directive(c, re, "post", post, sizeof post))
			ov = tag_find(c, 'o', post, strlen(post));
		if (take_directive(c, re, "inter", inter, sizeof inter))
			iv = tag_find(c, 'i', inter, strlen(inter));
		while (i < re->len) {
			/* next "<[^<>]+>" */
			size_t s = i, e = 0;

			while (s < re->len) {
				if (re->data[s] == '<') {
					for (e = s + 1; e < re->len &&
					    re->data[e] != '<' &&
					    re->data[e] != '>'; e++)
						;
					if (e < re->len && re->data[e] == '>' &&
					    e > s + 1)
						break;
				}
				s++;
			}
			if (s > i) {
				buf_add(&out, re->data + i, s - i);
				prev_tag = 0;
			}
			if (s >= re->len)
				break;
			/* the tag <name> at [s, e] */
			if (prev_tag && iv)
				buf_adds(&out, iv);
			{
				const char *name = re->data + s + 1;
				size_t nl = e - s - 1;
				const char *val = tag_find(c, 't', name, nl);

				if (pv)
					buf_adds(&out, pv);
				if (val != NULL && *val) {
					buf_adds(&out, val);
					if (strchr(val, '<') && strchr(val, '>'))
						again = 1;
				} else
					buf_add(&out, re->data + s, e + 1 - s);
				if (ov)
					buf_adds(&out, ov);
			}
			prev_tag = 1;
			i = e + 1;
		}
		buf_free(re);
		*re = out;
		if (re->data == NULL)
			buf_adds(re, "");
		if (!again)
			break;
	}
}

/* pack_eval_args: 'quoted', "quoted" or bare [\d.:A-Za-z-]+, comma
 * separated. */
static int
parse_eval(struct rule *ru)
{
	const char *t = ru->text, *open, *close, *p;
	size_t fl;

	open = strchr(t, '(');
	close = strrchr(t, ')');
	if (open == NULL || close == NULL || close < open || close[1] != '\0')
		return -1;
	for (p = t; p < open; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_'))
			return -1;
	fl = (size_t)(open - t);
	if (fl == 0)
		return -1;
	ru->efname = xstrndup(t, fl);
	p = open + 1;
	while (p < close && is_space((unsigned char)*p))
		p++;
	while (p < close) {
		const char *a, *b;

		if (ru->neargs >= CF_MAX_EVAL_ARGS)
			return -1;
		if (*p == '\'' || *p == '"') {
			char q = *p;

			a = p + 1;
			b = memchr(a, q, (size_t)(close - a));
			if (b == NULL)
				return -1;
			p = b + 1;
		} else {
			a = p;
			while (p < close && ((*p >= '0' && *p <= '9') ||
			    *p == '.' || *p == ':' || *p == '-' ||
			    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
				p++;
			b = p;
			if (b == a)
				return -1;
		}
		ru->eargs = xreallocarray(ru->eargs, ru->neargs + 1,
		    sizeof *ru->eargs);
		ru->eargs[ru->neargs++] = xstrndup(a, (size_t)(b - a));
		while (p < close && is_space((unsigned char)*p))
			p++;
		if (p < close) {
			if (*p != ',')
				return -1;
			p++;
			while (p < close && is_space((unsigned char)*p))
				p++;
		}
	}
	return 0;
}

static int
header_mod(const char *m, size_t len, unsigned *mods)
{
	static const struct { const char *n; unsigned f; } tab[] = {
		{ "raw", SM_H_RAW }, { "addr", SM_H_ADDR },
		{ "name", SM_H_NAME }, { "host", SM_H_HOST },
		{ "domain", SM_H_DOMAIN }, { "ip", SM_H_IP },
		{ "first", SM_H_FIRST }, { "last", SM_H_LAST },
	};
	size_t i;

	for (i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (strlen(tab[i].n) == len && strncasecmp(tab[i].n, m, len) == 0) {
			*mods |= tab[i].f;
			return 0;
		}
	return -1;
}

static int
is_hname_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
}

/* Compile a regex (delimited) of ru, with ReplaceTags when listed. */
static int
compile_re(struct cf *c, struct rule *ru, const char *s, size_t len)
{
	struct span body, flags;
	const char *w = NULL;
	struct buf why = BUF_INIT, b = BUF_INIT;
	int ret;

	if (perlre_split(s, len, &body, &flags, &w) == -1) {
		c->file = ru->file;
		c->line = ru->line;
		problem(c, 1, "invalid regexp for %s: %s", ru->name, w);
		return -1;
	}
	buf_add(&b, body.p, body.len);
	if (ru->replace)
		replace_tags(c, &b);
	ret = perlre_compile(&ru->re, b.data ? b.data : "", b.len, flags.p,
	    flags.len, &why);
	if (ret == -1) {
		c->file = ru->file;
		c->line = ru->line;
		problem(c, 1, "invalid regexp for %s: %s", ru->name,
		    why.data ? why.data : "?");
	}
	buf_free(&why);
	buf_free(&b);
	return ret;
}

/* header: exists:NAME, or NAME[:mods] =~ /re/ [if-unset: STR] */
static int
compile_header(struct cf *c, struct rule *ru, int mime)
{
	const char *t = ru->text, *p, *op;
	size_t len = strlen(t), i, nmods = 0;

	c->file = ru->file;
	c->line = ru->line;
	if (!mime && strncmp(t, "exists:", 7) == 0) {
		const char *h = t + 7;
		size_t hl = strlen(h);

		if (hl > 0 && h[hl - 1] == ':')
			hl--;
		for (i = 0; i < hl; i++)
			if (!is_hname_char(h[i]))
				break;
		if (hl == 0 || i < hl) {
			problem(c, 1, "invalid head test %s header: %s",
			    ru->name, h);
			return -1;
		}
		ru->hname = xstrndup(h, hl);
		ru->exists = 1;
		return 0;
	}
	/* the name: [\w.-]+ (mimeheader: [^:\s]+), then :mods */
	for (p = t; *p && (mime ? (*p != ':' && !is_space((unsigned char)*p)) :
	    is_hname_char(*p)); p++)
		;
	if (p == t) {
		problem(c, 1, "invalid head test %s: %s", ru->name, t);
		return -1;
	}
	ru->hname = xstrndup(t, (size_t)(p - t));
	while (*p == ':') {
		const char *m = ++p;

		while (*p >= 'a' && *p <= 'z')
			p++;
		if (p == m)
			break;	/* "Name:" */
		if (++nmods > 2 || (mime ? !(p - m == 3 &&
		    memcmp(m, "raw", 3) == 0) : 0) ||
		    header_mod(m, (size_t)(p - m), &ru->hmods) == -1) {
			problem(c, 1, "invalid header modifier for %s: %s",
			    ru->name, t);
			return -1;
		}
	}
	while (is_space((unsigned char)*p))
		p++;
	if ((p[0] != '=' && p[0] != '!') || p[1] != '~') {
		problem(c, 1, "invalid head test %s: %s", ru->name, t);
		return -1;
	}
	ru->neg = p[0] == '!';
	op = p + 2;
	while (is_space((unsigned char)*op))
		op++;
	len = strlen(op);
	/* \s+\[if-unset:\s+(.+)\]$ */
	if (len > 0 && op[len - 1] == ']') {
		const char *u = NULL, *q;

		for (q = op; (q = strstr(q, "[if-unset:")) != NULL; q++)
			u = q;
		if (u != NULL && u > op && is_space((unsigned char)u[-1]) &&
		    is_space((unsigned char)u[10])) {
			const char *vs = u + 10, *ve = op + len - 1;

			while (vs < ve && is_space((unsigned char)*vs))
				vs++;
			if (vs < ve) {
				ru->if_unset = xstrndup(vs, (size_t)(ve - vs));
				len = (size_t)(u - op);
				while (len > 0 && is_space((unsigned char)op[len - 1]))
					len--;
			}
		}
	}
	return compile_re(c, ru, op, len);
}

static int
meta_lookup(void *arg, const char *name, size_t len)
{
	const struct score_rules *r = arg;
	int i = rules_find(r, name, len);

	if (i < 0 || r->rules[i].type == RT_NONE)
		return -1;
	return i;
}

/* rules_matching(GLOB) -> (A+B+...) or 0, as Parser.pm expand_ruleglob
 * (over every name with a score, i.e. every defined rule). */
static void
expand_globs(const struct score_rules *r, const struct rule *self,
    const char *t, struct buf *out)
{
	const char *p = t, *m;

	while ((m = strstr(p, "rules_matching(")) != NULL) {
		const char *g = m + 15, *ge;
		size_t k, n = 0, gl;
		char **names = NULL;

		if ((m > t && (m[-1] == '_' || is_hname_char(m[-1])))) {
			buf_add(out, p, (size_t)(g - p));
			p = g;
			continue;
		}
		while (is_space((unsigned char)*g))
			g++;
		for (ge = g; (*ge >= 'a' && *ge <= 'z') || (*ge >= 'A' &&
		    *ge <= 'Z') || (*ge >= '0' && *ge <= '9') || *ge == '_' ||
		    *ge == '*' || *ge == '?'; ge++)
			;
		k = (size_t)(ge - g);
		gl = k;
		while (is_space((unsigned char)*ge))
			ge++;
		if (*ge != ')' || k == 0 || k > META_MAX_GLOB) {
			buf_add(out, p, (size_t)(g - p));
			p = g;
			continue;
		}
		buf_add(out, p, (size_t)(m - p));
		for (k = 0; k < r->nrules; k++) {
			const struct rule *ru = &r->rules[k];

			if (ru == self || ru->type == RT_NONE)
				continue;
			if (meta_glob_match(g, gl, ru->name)) {
				names = xreallocarray(names, n + 1,
				    sizeof *names);
				names[n++] = ru->name;
			}
		}
		if (n == 0)
			buf_adds(out, " 0 ");
		else {
			qsort(names, n, sizeof *names, cmp_str);
			buf_adds(out, " (");
			for (k = 0; k < n; k++) {
				if (k)
					buf_addc(out, '+');
				buf_adds(out, names[k]);
			}
			buf_adds(out, ") ");
		}
		free(names);
		p = ge + 1;
	}
	buf_adds(out, p);
}

static void
finish(struct cf *c)
{
	struct score_rules *r = c->r;
	size_t i, k;
	int set = r->score_set;

	/* default scores (Parser.pm fix_tests) */
	for (i = 0; i < r->nrules; i++) {
		struct rule *ru = &r->rules[i];

		if (ru->type == RT_NONE || ru->has_score)
			continue;
		for (k = 0; k < 4; k++) {
			ru->scores[k] = strncmp(ru->name, "T_", 2) == 0 ?
			    0.01 : 1.0;
			if (ru->tflags & TF_NICE)
				ru->scores[k] = -ru->scores[k];
		}
	}
	for (i = 0; i < r->nrules; i++) {
		struct rule *ru = &r->rules[i];
		struct buf why = BUF_INIT;

		switch (ru->type) {
		case RT_NONE:
			continue;
		case RT_HEADER:
			ru->runnable = compile_header(c, ru, 0) == 0;
			if (ru->runnable && (ru->hmods & ~(SM_H_RAW |
			    SM_H_ADDR | SM_H_NAME | SM_H_HOST | SM_H_DOMAIN |
			    SM_H_IP | SM_H_FIRST | SM_H_LAST)))
				ru->runnable = 0;
			break;
		case RT_MIMEHEADER:
			ru->runnable = compile_header(c, ru, 1) == 0;
			break;
		case RT_BODY:
		case RT_RAWBODY:
		case RT_FULL:
		case RT_URI:
			ru->runnable = compile_re(c, ru, ru->text,
			    strlen(ru->text)) == 0;
			break;
		case RT_EVAL:
			if (parse_eval(ru) == -1) {
				c->file = ru->file;
				c->line = ru->line;
				problem(c, 1, "syntax error for eval function "
				    "%s: %s", ru->name, ru->text);
				break;
			}
			ru->efn = score_eval_find(ru->efname);
			if (ru->efn != NULL && ru->efn->check != NULL) {
				struct err e;

				err_clear(&e);
				if (ru->efn->check((const char *const *)
				    ru->eargs, ru->neargs, &e) == -1) {
					c->file = ru->file;
					c->line = ru->line;
					problem(c, 1, "%s: %s", ru->name, e.msg);
					ru->efn = NULL;
					break;
				}
			}
			if (ru->efn != NULL)
				ru->runnable = 1;
			else {
				ru->unsupported = 1;
				if (ru->scores[set] != 0 &&
				    strncmp(ru->name, "__", 2) != 0)
					count_key(&c->miss, &c->nmiss,
					    ru->efname, strlen(ru->efname));
			}
			break;
		case RT_PLUGIN:
			ru->unsupported = 1;
			ru->tflags |= TF_NET;
			if (ru->scores[set] != 0 &&
			    strncmp(ru->name, "__", 2) != 0)
				count_key(&c->miss, &c->nmiss, ru->text,
				    strlen(ru->text));
			break;
		case RT_META: {
			struct buf t = BUF_INIT;

			expand_globs(r, ru, ru->text, &t);
			if (meta_compile(t.data, t.len, meta_lookup, r,
			    &ru->meta, &ru->deps, &ru->ndeps, &why) == -1) {
				c->file = ru->file;
				c->line = ru->line;
				problem(c, 1, "invalid expression for rule %s: "
				    "%s", ru->name, why.data);
			} else
				ru->runnable = 1;
			buf_free(&t);
			break;
		}
		}
		buf_free(&why);
	}
}

static int
cmp_counted(const void *a, const void *b)
{
	const struct counted *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->key, y->key);
}

static void
report(struct cf *c)
{
	struct score_rules *r = c->r;
	struct score_load_report *rep = c->rep;
	size_t i, unsup = 0;
	int set = r->score_set;

	for (i = 0; i < r->nrules; i++) {
		const struct rule *ru = &r->rules[i];
		int scored;

		if (ru->type == RT_NONE)
			continue;
		rep->defined++;
		/* __ rules never add to a score (PerMsgStatus _handle_hit):
		 * they are sub-rules, not scored rules */
		scored = ru->scores[set] != 0 && strncmp(ru->name, "__", 2) != 0;
		if (scored)
			rep->scored++;
		if (ru->runnable)
			rep->loaded++;
		if (scored && ru->runnable)
			rep->scored_loaded++;
		if (scored && ru->unsupported) {
			rep->eval_unsupported++;
			unsup++;
		}
	}
	if (c->nmiss > 0) {
		qsort(c->miss, c->nmiss, sizeof *c->miss, cmp_counted);
		buf_addf(&rep->text, "unsupported eval functions: %zu "
		    "(%zu scored rules)\n", c->nmiss, unsup);
		for (i = 0; i < c->nmiss; i++)
			buf_addf(&rep->text, "  %s: %u rule%s\n",
			    c->miss[i].key, c->miss[i].n,
			    c->miss[i].n == 1 ? "" : "s");
	}
	if (c->nign > 0) {
		unsigned total = 0;

		qsort(c->ign, c->nign, sizeof *c->ign, cmp_counted);
		for (i = 0; i < c->nign; i++)
			total += c->ign[i].n;
		buf_addf(&rep->text, "ignored directives: %u lines\n", total);
		for (i = 0; i < c->nign; i++)
			buf_addf(&rep->text, "  %s: %u\n", c->ign[i].key,
			    c->ign[i].n);
	}
}

static void
cf_free(struct cf *c)
{
	size_t i;

	for (i = 0; i < c->ntags; i++) {
		free(c->tags[i].name);
		free(c->tags[i].val);
	}
	free(c->tags);
	for (i = 0; i < c->nplugins; i++)
		free(c->plugins[i]);
	free(c->plugins);
	for (i = 0; i < c->nign; i++)
		free(c->ign[i].key);
	free(c->ign);
	for (i = 0; i < c->nmiss; i++)
		free(c->miss[i].key);
	free(c->miss);
	free(c->rstart);
	free(c->rend);
}

int
score_rules_load(const struct score_load_opts *o, struct score_rules **out,
    struct score_load_report *rep_out, struct err *e)
{
	struct cf c;
	struct score_load_report myrep;
	struct score_rules *r;
	size_t i;
	int ret = -1;

	*out = NULL;
	memset(&c, 0, sizeof c);
	memset(&myrep, 0, sizeof myrep);
	c.rep = rep_out ? rep_out : &myrep;
	memset(c.rep, 0, sizeof *c.rep);
	r = xcalloc(1, sizeof *r);
	r->required = 5.0;
	r->score_set = o->score_set & 3;
	r->pf_hs = o->prefilter_hs;
	r->pf_cache_explicit = o->cache_dir != NULL;
	if (o->cache_dir == NULL)
		r->pf_cache_dir = xstrdup(SCORE_HS_CACHE_DEFAULT);
	else if (*o->cache_dir != '\0')
		r->pf_cache_dir = xstrdup(o->cache_dir);
	c.r = r;
	c.rstart = xstrdup("<");
	c.rend = xstrdup(">");
	c.compat_wlbl = 1;	/* Debian's init.pre enables it */
	for (i = 0; i < o->npaths; i++) {
		if (read_path(&c, o->paths[i], 1) == -1) {
			err_sys(e, errno, "rules %s", o->paths[i]);
			goto out;
		}
	}
	c.file = NULL;
	finish(&c);
	if (rules_prepare(r, c.rep) == -1) {
		err_set(e, ERR_CONFIG, "cannot order the rules");
		goto out;
	}
	report(&c);
	*out = r;
	r = NULL;
	ret = 0;
out:
	cf_free(&c);
	score_rules_free(&r);
	if (rep_out == NULL)
		score_load_report_free(&myrep);
	return ret;
}

void
score_load_report_free(struct score_load_report *rep)
{
	if (rep != NULL)
		buf_free(&rep->text);
}

double
score_required(const struct score_rules *r)
{
	return r->required;
}

void
score_rules_free(struct score_rules **rp)
{
	struct score_rules *r = *rp;
	size_t i, k;

	if (r == NULL)
		return;
	score_eval_conf_free(&r->eval_conf);
	for (i = 0; i < r->nrules; i++) {
		struct rule *ru = &r->rules[i];

		free(ru->name);
		free(ru->text);
		free(ru->describe);
		free(ru->hname);
		free(ru->hlit);
		free(ru->if_unset);
		perlre_free(&ru->re);
		free(ru->efname);
		for (k = 0; k < ru->neargs; k++)
			free(ru->eargs[k]);
		free(ru->eargs);
		meta_free(&ru->meta);
		free(ru->deps);
	}
	free(r->rules);
	free(r->idx);
	for (i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	free(r->files);
	free(r->head);
	free(r->body);
	free(r->rawbody);
	free(r->full);
	free(r->uri);
	free(r->mimeh);
	free(r->evals);
	free(r->metas);
	for (i = 0; i < r->nhgroups; i++)
		free(r->hgroups[i].name);
	free(r->hgroups);
	rules_pf_free(r);
	free(r->pf_cache_dir);
	free(r);
	*rp = NULL;
}
