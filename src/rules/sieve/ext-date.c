/*
 * ext-date.c - RFC 5260: the "date" and "currentdate" tests and the
 * "index" extension (:index n [:last] on header, address and date), with
 * the RFC 5322 date parser they need.
 *
 * As Pigeonhole (checked against Debian's 2.3.19 sieve-test):
 * - date without :index looks at the first field of that name only; for
 *   "Received" the date is the text after the last ';'.
 * - A field that does not parse yields no value (the test is false, and
 *   :count counts nothing). A missing zone is +0000 ("Z" in iso8601).
 * - No :zone/:originalzone: the server's local zone (TZ).
 * - currentdate reads one clock per run: sieve_env.now when set (tests,
 *   `sluice test`), else time(NULL) at its first use.
 * Deliberate difference: Pigeonhole 2.3.19 ignores :index on the date
 * test; here it selects the field as RFC 5260 6 says.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sieve-int.h"

/* ---- index (RFC 5260 6) ---- */

size_t
sv_hdr_select(struct sv_rctx *r, const struct sv_node *n, const char *name,
    const struct hdr ***out)
{
	const struct sv_tagval *ix = sv_node_tag(n, "index");
	const struct hdr *v;
	const struct hdr **sel;
	size_t nv, k, cnt = 0;

	size_t nlen = strlen(name);
	int c0 = name[0] >= 'A' && name[0] <= 'Z' ? name[0] + 32 : name[0];

	v = sv_hdr_view(r, &nv);
	sel = arena_allocarray(r->arena, nv + 1, sizeof *sel);
	/* Length and first byte first: every header test of every rule
	 * scans the whole header. */
	for (k = 0; k < nv; k++) {
		int h0;

		if (v[k].name.len != nlen || nlen == 0)
			continue;
		h0 = (unsigned char)v[k].name.p[0];
		if (h0 >= 'A' && h0 <= 'Z')
			h0 += 32;
		if (h0 == c0 && span_ieq(v[k].name, name))
			sel[cnt++] = &v[k];
	}
	*out = sel;
	if (ix == NULL || ix->param == NULL)
		return cnt;
	/* RFC 5260 6: the nth occurrence, counted from the end with :last;
	 * none when there are fewer. */
	if (ix->param->num == 0 || ix->param->num > cnt)
		return 0;
	k = sv_node_tag(n, "last") != NULL ? cnt - (size_t)ix->param->num :
	    (size_t)ix->param->num - 1;
	sel[0] = sel[k];
	return 1;
}

/* ":last" needs ":index" (RFC 5260 6); :index counts from 1. */
int
sv_index_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_tagval *ix = sv_node_tag(n, "index");
	const struct sv_tagval *last = sv_node_tag(n, "last");

	if (last != NULL && ix == NULL) {
		sv_verror(v, last->at->pos, "the :last tag of the %s %s "
		    "requires the :index tag", n->def->name,
		    n->kind == SV_TEST ? "test" : "command");
		return -1;
	}
	if (ix != NULL && ix->param != NULL && ix->param->num == 0) {
		sv_verror(v, ix->param->pos, "the :index tag of the %s %s "
		    "takes a number greater than 0", n->def->name,
		    n->kind == SV_TEST ? "test" : "command");
		return -1;
	}
	return 0;
}

static const struct sv_tag_add index_tags[] = {
	{ "header", { "index", SV_P_NUM, SV_G_NONE, 0 } },
	{ "header", { "last", SV_P_NONE, SV_G_NONE, 0 } },
	{ "address", { "index", SV_P_NUM, SV_G_NONE, 0 } },
	{ "address", { "last", SV_P_NONE, SV_G_NONE, 0 } },
	{ "date", { "index", SV_P_NUM, SV_G_NONE, 0 } },
	{ "date", { "last", SV_P_NONE, SV_G_NONE, 0 } },
	{ NULL, { NULL, 0, 0, 0 } },
};
const struct sv_ext sv_ext_hindex = { .name = "index", .tags = index_tags };

/* ---- dates ---- */

struct sv_date {
	long long year;
	int mon, day, hour, min, sec;
	int zone;		/* minutes east of UTC */
};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long long
days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(long long z, long long *y, int *m, int *d)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Seconds since the epoch of d (its zone applied). */
static long long
date_epoch(const struct sv_date *d)
{
	return days_from_civil(d->year, d->mon, d->day) * 86400 +
	    d->hour * 3600 + d->min * 60 + d->sec - (long long)d->zone * 60;
}

static void
date_from_epoch(long long t, int zone, struct sv_date *d)
{
	long long local = t + (long long)zone * 60, days, secs;

	days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	secs = local - days * 86400;
	civil_from_days(days, &d->year, &d->mon, &d->day);
	d->hour = (int)(secs / 3600);
	d->min = (int)(secs / 60 % 60);
	d->sec = (int)(secs % 60);
	d->zone = zone;
}

/* RFC 5322 3.2.2: skip blanks and (nested) comments. */
static const char *
skip_cfws(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '(')
			return p;
		{
			int depth = 0;

			do {
				if (*p == '\\' && p[1] != '\0')
					p++;
				else if (*p == '(')
					depth++;
				else if (*p == ')')
					depth--;
				p++;
			} while (*p != '\0' && depth > 0);
		}
	}
}

static int
digits(const char **pp, int min, int max, long long *out)
{
	const char *p = *pp;
	long long v = 0;
	int n = 0;

	while (*p >= '0' && *p <= '9' && n < max) {
		v = v * 10 + (*p - '0');
		p++;
		n++;
	}
	if (n < min || (*p >= '0' && *p <= '9'))
		return -1;
	*out = v;
	*pp = p;
	return 0;
}

/* RFC 5322 4.3 obs-zone: names; military letters are -0000. */
static int
zone_name(const char *p, size_t len, int *zone)
{
	static const struct { const char *n; int off; } z[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "EST", -300 }, { "EDT", -240 },
		{ "CST", -360 }, { "CDT", -300 }, { "MST", -420 },
		{ "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
	};
	size_t i;

	for (i = 0; i < sizeof z / sizeof z[0]; i++)
		if (strlen(z[i].n) == len && !strncasecmp(p, z[i].n, len)) {
			*zone = z[i].off;
			return 0;
		}
	if (len == 1 && ((*p >= 'a' && *p <= 'z' && *p != 'j') ||
	    (*p >= 'A' && *p <= 'Z' && *p != 'J'))) {
		*zone = 0;
		return 0;
	}
	return -1;
}

/*
 * RFC 5322 3.3 date-time with the obsolete forms of 4.3: optional day
 * name, 2- or 3-digit years, optional seconds, named zones, comments.
 * 0, or -1 when s is no date.
 */
static int
date_parse(const char *s, struct sv_date *d)
{
	static const char *const mon[] = { "jan", "feb", "mar", "apr", "may",
	    "jun", "jul", "aug", "sep", "oct", "nov", "dec" };
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	const char *p = skip_cfws(s), *w;
	long long v;
	int i;

	memset(d, 0, sizeof *d);
	/* [ day-of-week "," ] */
	if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
		for (w = p; (*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z');)
			w++;
		if (w - p != 3)
			return -1;
		p = skip_cfws(w);
		if (*p != ',')
			return -1;
		p = skip_cfws(p + 1);
	}
	if (digits(&p, 1, 2, &v) == -1 || v < 1)
		return -1;
	d->day = (int)v;
	p = skip_cfws(p);
	for (i = 0; i < 12; i++)
		if (!strncasecmp(p, mon[i], 3))
			break;
	if (i == 12 || (p[3] >= 'a' && p[3] <= 'z') ||
	    (p[3] >= 'A' && p[3] <= 'Z'))
		return -1;
	d->mon = i + 1;
	p = skip_cfws(p + 3);
	w = p;
	if (digits(&p, 2, 4, &v) == -1)
		return -1;
	/* RFC 5322 4.3: 2-digit years 00-49 are 20xx, 50-99 19xx; 3-digit
	 * years are 1900 + n. */
	if (p - w == 2)
		v += v < 50 ? 2000 : 1900;
	else if (p - w == 3)
		v += 1900;
	else if (v < 1900)
		return -1;	/* RFC 5322 3.3: "1900 or later", as Pigeonhole */
	d->year = v;
	if (d->day > mdays[d->mon - 1] || (d->mon == 2 && d->day == 29 &&
	    !(v % 4 == 0 && (v % 100 != 0 || v % 400 == 0))))
		return -1;
	p = skip_cfws(p);
	if (digits(&p, 1, 2, &v) == -1 || v > 23)
		return -1;
	d->hour = (int)v;
	p = skip_cfws(p);
	if (*p++ != ':')
		return -1;
	p = skip_cfws(p);
	if (digits(&p, 1, 2, &v) == -1 || v > 59)
		return -1;
	d->min = (int)v;
	w = skip_cfws(p);
	if (*w == ':') {
		p = skip_cfws(w + 1);
		/* 60: a leap second */
		if (digits(&p, 1, 2, &v) == -1 || v > 60)
			return -1;
		d->sec = (int)v;
	}
	p = skip_cfws(p);
	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		p++;
		w = p;
		if (digits(&p, 4, 4, &v) == -1 || v % 100 > 59)
			return -1;
		d->zone = sign * (int)(v / 100 * 60 + v % 100);
	} else if (*p != '\0') {
		for (w = p; (*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z');)
			w++;
		if (zone_name(p, (size_t)(w - p), &d->zone) == -1)
			return -1;
		p = w;
	}
	/* anything after the zone (a comment was skipped) is ignored */
	return 0;
}

/* RFC 5260 4.1: "+hhmm" / "-hhmm". */
static int
zone_parse(const char *s, int *zone)
{
	int h, m;

	if ((s[0] != '+' && s[0] != '-') || strlen(s) != 5 ||
	    strspn(s + 1, "0123456789") != 4)
		return -1;
	h = (s[1] - '0') * 10 + (s[2] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -1;
	*zone = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
	return 0;
}

static int
local_zone(long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return (int)(tm.tm_gmtoff / 60);
}

enum { DP_YEAR, DP_MONTH, DP_DAY, DP_DATE, DP_JULIAN, DP_HOUR, DP_MINUTE,
	DP_SECOND, DP_TIME, DP_ISO8601, DP_STD11, DP_ZONE, DP_WEEKDAY };

static const char *const date_parts[] = { "year", "month", "day", "date",
	"julian", "hour", "minute", "second", "time", "iso8601", "std11",
	"zone", "weekday" };

static int
date_part_id(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof date_parts / sizeof date_parts[0]; i++)
		if (!strcasecmp(s, date_parts[i]))
			return (int)i;
	return -1;
}

/* RFC 5260 4.2: one date-part of d, in buf. */
static void
date_part(const struct sv_date *d, int part, char *buf, size_t size)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mn[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	long long days = days_from_civil(d->year, d->mon, d->day);
	int wday = (int)(((days % 7) + 11) % 7);	/* 1970-01-01: Thursday */
	int az = d->zone < 0 ? -d->zone : d->zone;
	char zs = d->zone < 0 ? '-' : '+';

	switch (part) {
	case DP_YEAR:
		(void)snprintf(buf, size, "%04lld", d->year);
		break;
	case DP_MONTH:
		(void)snprintf(buf, size, "%02d", d->mon);
		break;
	case DP_DAY:
		(void)snprintf(buf, size, "%02d", d->day);
		break;
	case DP_DATE:
		(void)snprintf(buf, size, "%04lld-%02d-%02d", d->year, d->mon,
		    d->day);
		break;
	case DP_JULIAN:
		/* Modified Julian Day: days since 1858-11-17 */
		(void)snprintf(buf, size, "%lld", days + 40587);
		break;
	case DP_HOUR:
		(void)snprintf(buf, size, "%02d", d->hour);
		break;
	case DP_MINUTE:
		(void)snprintf(buf, size, "%02d", d->min);
		break;
	case DP_SECOND:
		(void)snprintf(buf, size, "%02d", d->sec);
		break;
	case DP_TIME:
		(void)snprintf(buf, size, "%02d:%02d:%02d", d->hour, d->min,
		    d->sec);
		break;
	case DP_ISO8601:
		/* RFC 3339; Pigeonhole writes "Z" for +00:00 */
		if (d->zone == 0)
			(void)snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:"
			    "%02dZ", d->year, d->mon, d->day, d->hour, d->min,
			    d->sec);
		else
			(void)snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:"
			    "%02d%c%02d:%02d", d->year, d->mon, d->day,
			    d->hour, d->min, d->sec, zs, az / 60, az % 60);
		break;
	case DP_STD11:
		(void)snprintf(buf, size, "%s, %02d %s %04lld %02d:%02d:%02d "
		    "%c%02d%02d", wd[wday], d->day, mn[d->mon - 1], d->year,
		    d->hour, d->min, d->sec, zs, az / 60, az % 60);
		break;
	case DP_ZONE:
		(void)snprintf(buf, size, "%c%02d%02d", zs, az / 60, az % 60);
		break;
	case DP_WEEKDAY:
		(void)snprintf(buf, size, "%d", wday);
		break;
	default:
		buf[0] = '\0';
		break;
	}
}

enum { DZ_LOCAL, DZ_ZONE, DZ_ORIGINAL };

static const struct sv_tag date_tags[] = {
	{ "zone", SV_P_STR, SV_G_OWN, DZ_ZONE },
	{ "originalzone", SV_P_NONE, SV_G_OWN, DZ_ORIGINAL },
	{ NULL, 0, 0, 0 },
};

static int
date_validate(struct sv_vctx *v, struct sv_node *n)
{
	const struct sv_tagval *z = sv_node_tag(n, "zone");
	const struct sv_str *part = &n->pos_args[n->npos - 2]->v[0];
	int zone;

	if (z != NULL && sv_node_tag(n, "originalzone") != NULL) {
		sv_verror(v, z->at->pos, "the :zone and :originalzone tags of "
		    "the date test are mutually exclusive");
		return -1;
	}
	if (z != NULL && !z->param->v[0].vars &&
	    zone_parse(z->param->v[0].s, &zone) == -1) {
		sv_verror(v, z->param->pos, "%s %s: specified time zone '%s' "
		    "is invalid", n->def->name, "test", z->param->v[0].s);
		return -1;
	}
	if (!part->vars && date_part_id(part->s) < 0) {
		sv_verror(v, part->pos, "%s test: specified date part '%s' is "
		    "not known", n->def->name, part->s);
		return -1;
	}
	return sv_index_validate(v, n);
}

/* The run's clock for currentdate (RFC 5260 5: one value per run). */
struct date_state {
	long long now;
};

static long long
run_now(struct sv_rctx *r)
{
	void **slot = sv_ext_state(r, &sv_ext_date);
	struct date_state *st = *slot;

	if (st == NULL) {
		st = arena_zalloc(r->arena, sizeof *st);
		st->now = r->env->now != 0 ? (long long)r->env->now :
		    (long long)time(NULL);
		*slot = st;
	}
	return st->now;
}

/* The zone to convert to: 0 and *zone set, or 1 for "keep it". */
static int
target_zone(struct sv_rctx *r, const struct sv_node *n, long long t,
    int *zone)
{
	const struct sv_tagval *z = sv_node_tag(n, "zone");

	if (sv_node_tag(n, "originalzone") != NULL)
		return 1;
	if (z != NULL) {
		const char *s = sv_str_expand(r, &z->param->v[0]);

		if (zone_parse(s, zone) == 0)
			return 0;
		/* an invalid :zone at runtime: the original zone */
		return 1;
	}
	*zone = local_zone(t);
	return 0;
}

static int
date_feed(struct sv_rctx *r, const struct sv_node *n, struct sv_matcher *m,
    const struct sv_date *in, const char *partname)
{
	struct sv_date d = *in;
	long long t = date_epoch(in);
	int part = date_part_id(partname), zone;
	char buf[80];

	if (part < 0)
		return 0;	/* unknown part (from a variable): no value */
	if (target_zone(r, n, t, &zone) == 0)
		date_from_epoch(t, zone, &d);
	if (d.year < 0 || d.year > 9999)
		return 0;
	date_part(&d, part, buf, sizeof buf);
	return sv_match_value(m, buf, strlen(buf));
}

static int
date_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sv_matcher m;
	const struct hdr **fields;
	const char *name = sv_pos_str(r, n, 0);
	const char *part = sv_pos_str(r, n, 1);
	size_t cnt, k;

	if (sv_match_begin(&m, r, n, 2) == -1)
		return sv_match_end(&m);
	cnt = sv_hdr_select(r, n, name, &fields);
	/* Pigeonhole: the first field of that name only */
	if (cnt > 1)
		cnt = 1;
	for (k = 0; k < cnt; k++) {
		const char *val = sv_hdr_value(r, fields[k]);
		struct sv_date d;

		if (!strcasecmp(name, "received")) {
			const char *semi = strrchr(val, ';');

			if (semi == NULL)
				continue;
			val = semi + 1;
		}
		if (date_parse(val, &d) == -1)
			continue;
		if (date_feed(r, n, &m, &d, part) != 0 &&
		    n->match.mtype != MT_COUNT)
			break;
	}
	return sv_match_end(&m);
}

static int
currentdate_run(struct sv_rctx *r, const struct sv_node *n)
{
	struct sv_matcher m;
	struct sv_date d;

	if (sv_match_begin(&m, r, n, 1) == -1)
		return sv_match_end(&m);
	date_from_epoch(run_now(r), 0, &d);
	(void)date_feed(r, n, &m, &d, sv_pos_str(r, n, 0));
	return sv_match_end(&m);
}

static const struct sv_tag currentdate_tags[] = {
	{ "zone", SV_P_STR, SV_G_OWN, DZ_ZONE },
	{ NULL, 0, 0, 0 },
};

static const struct sv_cmd date_cmds[] = {
	{ .name = "date", .kind = SV_TEST, .sig = "ssl",
	  .tagsets = SV_TS_MATCH | SV_TS_COMPARATOR, .tags = date_tags,
	  .validate = date_validate, .run = date_run },
	{ .name = "currentdate", .kind = SV_TEST, .sig = "sl",
	  .tagsets = SV_TS_MATCH | SV_TS_COMPARATOR, .tags = currentdate_tags,
	  .validate = date_validate, .run = currentdate_run },
	{ .name = NULL },
};

const struct sv_ext sv_ext_date = { .name = "date", .cmds = date_cmds };
