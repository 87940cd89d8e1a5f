/*
 * ext-spamtest.c - RFC 5235: spamtest, spamtestplus (spamtest :percent)
 * and virustest, computed exactly as Pigeonhole's spamvirustest plugin:
 *
 * - sieve_{spam,virus}test_status_header "Name" or "Name: regex" (POSIX
 *   extended; group 1 is the value) on the FIRST field of that name in
 *   the header as the script sees it (editheader included);
 * - status_type "score" (a decimal: sign, at most 5 digits before and 5
 *   after a '.' or ','), "strlen" (a run of one character, e.g. "*****")
 *   or "text" (the index 0..10, virustest 0..5, of the text_valueN that
 *   equals the value);
 * - the maximum from max_header (same syntax) or max_value (one of them
 *   for score/strlen; 10 or 5 for text);
 * - ratio = value / max clamped to 0..1, then as a float
 *   spamtest = (int)(9 * ratio + 1.001), virustest = (int)(4 * ratio +
 *   1.001), :percent = (int)(100 * ratio + 0.001);
 * - "0" (not tested) when the extension is not configured, the header is
 *   missing, the regex does not match or the value does not parse.
 * Deliberate difference: Pigeonhole caches the first result per message,
 * so a later spamtest does not see an X-Spam-Score that editheader
 * changed; here every spamtest reads the header as edited so far.
 *
 * Defaults (sluice.conf(5)) follow the milter's headers (DESIGN.md):
 * X-Spam-Score against the required= of X-Spam-Status. Pigeonhole has
 * none: it answers "0" until configured.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../lib/conf.h"
#include "sieve-int.h"

enum { ST_SCORE, ST_STRLEN, ST_TEXT };
enum { K_SPAM, K_VIRUS };

/* Pigeonhole's decimal: [+-] digits [('.' | ',') digits], nothing else. */
static int
parse_decimal(const char *s, float *out)
{
	float v = 0, sign = 1, radix = .1f;
	int nd = 0;

	if (*s == '\0')
		return -1;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (float)(*s - '0');
		if (nd++ > 4)
			return -1;
	}
	if (*s == '.' || *s == ',') {
		s++;
		for (nd = 0; *s >= '0' && *s <= '9'; s++) {
			v += (float)(*s - '0') * radix;
			if (nd++ > 4)
				return -1;
			radix /= 10;
		}
	}
	if (*s != '\0')
		return -1;
	*out = v * sign;
	return 0;
}

static int
parse_strlen(const char *s, float *out)
{
	const char *p = s;

	while (*s != '\0' && *p == *s)
		p++;
	if (*p != '\0')
		return -1;
	*out = (float)(p - s);
	return 0;
}

/*
 * The value a header spec ("Name" or "Name: regex") selects: arena
 * string, or NULL (no such field, no match, bad spec).
 */
static const char *
spec_value(struct sv_rctx *r, const char *spec, const char **why)
{
	const struct hdr *v;
	const char *p = spec, *val = NULL;
	char *name;
	size_t nv, k, nl;

	while (*p == ' ' || *p == '\t')
		p++;
	nl = strcspn(p, ": \t");
	if (nl == 0) {
		*why = "empty header specification";
		return NULL;
	}
	name = arena_strndup(r->arena, p, nl);
	p += nl;
	while (*p == ' ' || *p == '\t')
		p++;
	v = sv_hdr_view(r, &nv);
	for (k = 0; k < nv && val == NULL; k++)
		if (span_ieq(v[k].name, name))
			val = sv_hdr_value(r, &v[k]);
	if (val == NULL) {
		*why = "header not found in message";
		return NULL;
	}
	if (*p == '\0')
		return val;
	if (*p != ':') {
		*why = "invalid header specification";
		return NULL;
	}
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	{
		regex_t re;
		regmatch_t mv[2];
		const char *res = NULL;

		if (regcomp(&re, p, REG_EXTENDED) != 0) {
			*why = "invalid regular expression";
			return NULL;
		}
		if (regexec(&re, val, 2, mv, 0) != 0)
			*why = "regexp did not match";
		else if (mv[1].rm_so == -1)
			*why = "regexp did not return a match value";
		else
			res = arena_strndup(r->arena, val + mv[1].rm_so,
			    (size_t)(mv[1].rm_eo - mv[1].rm_so));
		regfree(&re);
		return res;
	}
}

static int
set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* ratio in 0..1, or -1 for "not tested". */
static float
compute(struct sv_rctx *r, const struct sv_node *n, int kind)
{
	const struct conf *c = r->env->conf;
	const char *hdr, *type, *maxh, *maxv, *const *texts, *why = NULL;
	const char *val;
	float max = 0, status = 0;
	int st, i, ntext = kind == K_VIRUS ? 5 : 10;

	if (c == NULL) {
		why = "not configured";
		goto failed;
	}
	if (kind == K_VIRUS) {
		hdr = c->sieve_virustest_status_header;
		type = c->sieve_virustest_status_type;
		maxh = c->sieve_virustest_max_header;
		maxv = c->sieve_virustest_max_value;
		texts = (const char *const *)c->sieve_virustest_text_value;
	} else {
		hdr = c->sieve_spamtest_status_header;
		type = c->sieve_spamtest_status_type;
		maxh = c->sieve_spamtest_max_header;
		maxv = c->sieve_spamtest_max_value;
		texts = (const char *const *)c->sieve_spamtest_text_value;
	}
	if (!set(hdr)) {
		why = "not configured";
		goto failed;
	}
	if (!set(type) || !strcmp(type, "score"))
		st = ST_SCORE;
	else if (!strcmp(type, "strlen"))
		st = ST_STRLEN;
	else if (!strcmp(type, "text"))
		st = ST_TEXT;
	else {
		why = "invalid status type";
		goto failed;
	}
	if (st != ST_TEXT) {
		if (set(maxh) == set(maxv)) {
			why = "exactly one of the max_header and max_value "
			    "settings must be set";
			goto failed;
		}
		if (set(maxh)) {
			if ((val = spec_value(r, maxh, &why)) == NULL)
				goto failed;
		} else {
			val = maxv;
		}
		if (parse_decimal(val, &max) == -1) {
			why = "cannot parse the maximum value";
			goto failed;
		}
		if (max == 0) {
			why = "max value is 0";
			goto failed;
		}
	} else {
		max = (float)ntext;
	}
	if ((val = spec_value(r, hdr, &why)) == NULL)
		goto failed;
	switch (st) {
	case ST_SCORE:
		if (parse_decimal(val, &status) == -1) {
			why = "cannot parse the status value";
			goto failed;
		}
		break;
	case ST_STRLEN:
		if (parse_strlen(val, &status) == -1) {
			why = "cannot parse the status value";
			goto failed;
		}
		break;
	default:
		for (i = 0; i <= ntext; i++)
			if (set(texts[i]) && !strcmp(val, texts[i]))
				break;
		if (i > ntext) {
			why = "no text value matches the status";
			goto failed;
		}
		status = (float)i;
		break;
	}
	sv_trace(r, n, "%s: status %.3f, max %.3f", n->def->name,
	    (double)status, (double)max);
	if (status < 0)
		return 0;
	if (status > max)
		return 1;
	return status / max;
failed:
	sv_trace(r, n, "%s: %s: \"0\" (not tested)", n->def->name, why);
	return -1;
}

static int
spamtest_run(struct sv_rctx *r, const struct sv_node *n)
{
	int kind = !strcasecmp(n->def->name, "virustest") ? K_VIRUS : K_SPAM;
	struct sv_matcher m;
	float ratio;
	char buf[16];
	int score;

	ratio = compute(r, n, kind);
	if (ratio < 0)
		score = 0;
	else if (sv_node_tag(n, "percent") != NULL)
		score = (int)(ratio * 100 + 0.001f);
	else if (kind == K_VIRUS)
		score = (int)(ratio * 4 + 1.001f);
	else
		score = (int)(ratio * 9 + 1.001f);
	(void)snprintf(buf, sizeof buf, "%d", score);
	if (sv_match_begin(&m, r, n, 0) == -1)
		return sv_match_end(&m);
	(void)sv_match_value(&m, buf, strlen(buf));
	if (!m.matched && n->match.mtype != MT_COUNT)
		r->trace_hit = NULL;
	return sv_match_end(&m);
}

static const struct sv_cmd spamtest_cmds[] = {
	{ .name = "spamtest", .kind = SV_TEST, .sig = "s",
	  .tagsets = SV_TS_MATCH | SV_TS_COMPARATOR, .run = spamtest_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_spamtest = {
	.name = "spamtest", .cmds = spamtest_cmds,
};

/* RFC 5235 3.2: spamtestplus is spamtest with :percent. */
static const struct sv_tag_add spamtestplus_tags[] = {
	{ "spamtest", { "percent", SV_P_NONE, SV_G_NONE, 0 } },
	{ NULL, { NULL, 0, 0, 0 } },
};

const struct sv_ext sv_ext_spamtestplus = {
	.name = "spamtestplus", .cmds = spamtest_cmds,
	.tags = spamtestplus_tags,
};

static const struct sv_cmd virustest_cmds[] = {
	{ .name = "virustest", .kind = SV_TEST, .sig = "s",
	  .tagsets = SV_TS_MATCH | SV_TS_COMPARATOR, .run = spamtest_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_virustest = {
	.name = "virustest", .cmds = virustest_cmds,
};
