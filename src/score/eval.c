/*
 * eval.c - SpamAssassin 4.0.1's eval: functions in C (a table).
 *
 * Which functions: those that unlock the most stock scored rules, counted
 * over Debian's /usr/share/spamassassin with SpamAssassin's own parser
 * (scored rules and the scored metas that read an eval rule), network
 * and DNS ones left out (DNSBL, URIBL, Razor, Pyzor, DCC, DKIM/DMARC
 * verification): cf.c reports those as unsupported. Each function
 * follows the Perl of Plugin/<Name>.pm (the reference for the details);
 * comments name the sub and say where we knowingly differ.
 *
 * Settings: SpamAssassin's defaults, which Debian's stock files keep:
 * ok_locales all (so the "faraway charset" tests never hit), empty
 * welcome/block lists, no trusted_networks (relays.c infers trust). The
 * lists the stock files do fill (freemail_domains, enlist_addrlist,
 * enlist_uri_host...) reach us through score_eval_conf_line(): cf.c hands
 * over directives it does not know, and rules.c passes the rule set's
 * struct score_eval_conf as the rule_state argument. Without one (NULL)
 * those functions answer -1 (cannot say).
 *
 * Per-message facts (the MIME summary, the date difference, the From
 * addresses, ImageInfo's image facts) are computed once and kept in the
 * message's eval slot (sm_eval_slot); each walk is linear in the message.
 *
 * With these, every scored non-network eval rule of Debian's stock set
 * runs (tests/score/load-report.sh): what is left needs DNS or
 * cryptographic verification (DNSBL/URIBL, DKIM/ARC/DMARC, Razor, Pyzor,
 * HashBL). Unscored sub-rule functions still missing:
 * check_relays_unparseable (relays.c keeps no count), check_iframe_src
 * (html.c keeps no uri types), check_stock_info (needs the first
 * text/plain part rendered alone), check_dkim_dependable.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "config.h"
#include "../lib/limits.h"
#include "score-int.h"

/* ---- limits ---- */
#define EV_MAX_LIST_ITEMS	100000	/* entries of all eval lists */
#define EV_MAX_LISTS		256	/* named lists (enlist_addrlist...) */
#define EV_MAX_NAME		64	/* bytes of a list name */
#define EV_MAX_ADDRS		256	/* addresses looked at per header */
#define EV_MAX_RCVD		64	/* Received: fields looked at */
#define EV_MAX_BODY_EMAILS	40	/* FreeMail _parse_body sanity */
#define EV_FM_MAX_BODY_EMAILS	5	/* freemail_max_body_emails */
#define EV_FM_MAX_BODY_FREEMAILS 3	/* freemail_max_body_freemails */
#define EV_MAX_HOST_KEYS	10	/* WLBLEval query keys per host */
#define EV_MATCH_LIMIT		100000	/* pcre2 steps for argument regexes */
#define EV_TOCC_SORTED_COUNT	7	/* HeaderEval TOCC_SORTED_COUNT */
#define EV_TOCC_SIMILAR_COUNT	5	/* TOCC_SIMILAR_COUNT */
#define EV_TOCC_SIMILAR_LENGTH	2	/* TOCC_SIMILAR_LENGTH */
#define EV_TOCC_MAX		256	/* _check_recipients stops at 256 */

/* an IPv4 or IPv6 address, loosely (HeaderEval $IP_ADDRESS) */
#define RE_IP	"(?:\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}|[0-9a-fA-F:.]+)"

#define PLUGIN_PFX	"Mail::SpamAssassin::Plugin::"

/* ---- the configuration lists ---- */

/* A set of lower-cased strings: open addressing, grows by doubling. */
struct strset {
	char **slot;
	size_t cap, n;
};

struct namedlist {
	char name[EV_MAX_NAME];
	struct strset exact;	/* addresses / hosts (value: see neg) */
	struct strset neg;	/* enlist_uri_host "!host": a "no" verdict */
	char **globs;		/* enlist_addrlist patterns with * or ? */
	size_t nglobs;
};

/* def_welcomelist_from_rcvd ADDR DOMAIN: one entry per pair. */
struct rcvd_entry {
	char *addr;		/* lower-cased glob (* and ?) */
	char *domain;		/* lower-cased rDNS suffix or [IP/net] */
};

struct score_eval_conf {
	struct rcvd_entry *def_rcvd;	/* def_welcomelist_from_rcvd */
	size_t ndef_rcvd;
	char **allows_relays;		/* welcomelist_allows_relays */
	size_t nallows_relays;
	struct strset fm_domains;	/* freemail_domains */
	char **fm_wild;			/* freemail_domains with * or ? */
	size_t nfm_wild;
	struct strset fm_welcome;	/* freemail_welcomelist */
	struct namedlist *addrlists;	/* enlist_addrlist (NAME) ... */
	size_t naddrlists;
	struct namedlist *urilists;	/* enlist_uri_host (NAME) ... */
	size_t nurilists;
	unsigned bounce_relays;		/* welcomelist_bounce_relays entries */
	unsigned user_lists;		/* welcome/block list entries */
	size_t items;			/* all entries, for the limit */
};

static unsigned long
str_hash(const char *s)
{
	unsigned long h = 5381;

	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static int
strset_has(const struct strset *s, const char *k)
{
	size_t i;

	if (s->cap == 0)
		return 0;
	for (i = str_hash(k) & (s->cap - 1); s->slot[i] != NULL;
	    i = (i + 1) & (s->cap - 1))
		if (strcmp(s->slot[i], k) == 0)
			return 1;
	return 0;
}

static void
strset_add(struct strset *s, const char *k)
{
	size_t i;

	if (strset_has(s, k))
		return;
	if ((s->n + 1) * 2 > s->cap) {
		struct strset g;

		g.cap = s->cap == 0 ? 64 : s->cap * 2;
		g.n = 0;
		g.slot = xcalloc(g.cap, sizeof(*g.slot));
		for (i = 0; i < s->cap; i++) {
			size_t j;

			if (s->slot[i] == NULL)
				continue;
			for (j = str_hash(s->slot[i]) & (g.cap - 1);
			    g.slot[j] != NULL; j = (j + 1) & (g.cap - 1))
				;
			g.slot[j] = s->slot[i];
			g.n++;
		}
		free(s->slot);
		*s = g;
	}
	for (i = str_hash(k) & (s->cap - 1); s->slot[i] != NULL;
	    i = (i + 1) & (s->cap - 1))
		;
	s->slot[i] = xstrdup(k);
	s->n++;
}

static void
strset_free(struct strset *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

struct score_eval_conf *
score_eval_conf_new(void)
{
	return xcalloc(1, sizeof(struct score_eval_conf));
}

static void
namedlists_free(struct namedlist *l, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		strset_free(&l[i].exact);
		strset_free(&l[i].neg);
		for (k = 0; k < l[i].nglobs; k++)
			free(l[i].globs[k]);
		free(l[i].globs);
	}
	free(l);
}

void
score_eval_conf_free(struct score_eval_conf **ecp)
{
	struct score_eval_conf *ec = *ecp;
	size_t i;

	if (ec == NULL)
		return;
	strset_free(&ec->fm_domains);
	strset_free(&ec->fm_welcome);
	for (i = 0; i < ec->nfm_wild; i++)
		free(ec->fm_wild[i]);
	free(ec->fm_wild);
	namedlists_free(ec->addrlists, ec->naddrlists);
	namedlists_free(ec->urilists, ec->nurilists);
	for (i = 0; i < ec->ndef_rcvd; i++) {
		free(ec->def_rcvd[i].addr);
		free(ec->def_rcvd[i].domain);
	}
	free(ec->def_rcvd);
	for (i = 0; i < ec->nallows_relays; i++)
		free(ec->allows_relays[i]);
	free(ec->allows_relays);
	free(ec);
	*ecp = NULL;
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Next whitespace-separated word of v: copied lower-cased into w. 1, or
 * 0 at the end; words too long for w are skipped. */
static int
next_word(const char **vp, const char *end, char *w, size_t wsize)
{
	const char *p = *vp, *s;

	for (;;) {
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p == end) {
			*vp = p;
			return 0;
		}
		s = p;
		while (p < end && !isspace((unsigned char)*p))
			p++;
		if ((size_t)(p - s) < wsize) {
			memcpy(w, s, (size_t)(p - s));
			w[p - s] = '\0';
			lower(w);
			*vp = p;
			return 1;
		}
	}
}

static struct namedlist *
namedlist_get(struct namedlist **arr, size_t *n, const char *name, int add)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*arr)[i].name, name) == 0)
			return &(*arr)[i];
	if (!add || *n >= EV_MAX_LISTS)
		return NULL;
	*arr = xreallocarray(*arr, *n + 1, sizeof(**arr));
	memset(&(*arr)[*n], 0, sizeof(**arr));
	memcpy((*arr)[*n].name, name, strlen(name) + 1);
	return &(*arr)[(*n)++];
}

/* "(NAME) rest": the list name (as written: names are case-sensitive in
 * SpamAssassin) into name, *vp past it. -1 when malformed. */
static int
list_name(const char **vp, const char *end, char *name, size_t nsize)
{
	const char *p = *vp, *s;

	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p == end || *p != '(')
		return -1;
	s = ++p;
	while (p < end && *p != ')')
		p++;
	if (p == end || p == s || (size_t)(p - s) >= nsize)
		return -1;
	memcpy(name, s, (size_t)(p - s));
	name[p - s] = '\0';
	*vp = p + 1;
	return 0;
}

int
score_eval_conf_line(struct score_eval_conf *ec, const char *key,
    const char *val, size_t vlen, struct err *e)
{
	const char *p = val, *end = val + vlen;
	char w[MSG_MAX_NAME + 256], name[EV_MAX_NAME];
	struct namedlist *l;

	if (strcmp(key, "freemail_domains") == 0) {
		/* FreeMail parse_config: [a-zA-Z0-9.*?-] only */
		while (next_word(&p, end, w, sizeof(w))) {
			if (w[strspn(w, "abcdefghijklmnopqrstuvwxyz0123456789"
			    ".*?-")] != '\0')
				continue;
			if (++ec->items > EV_MAX_LIST_ITEMS)
				return err_set(e, ERR_PERM, "too many list "
				    "entries");
			if (strpbrk(w, "*?") != NULL) {
				ec->fm_wild = xreallocarray(ec->fm_wild,
				    ec->nfm_wild + 1, sizeof(*ec->fm_wild));
				ec->fm_wild[ec->nfm_wild++] = xstrdup(w);
			} else
				strset_add(&ec->fm_domains, w);
		}
		return 1;
	}
	if (strcmp(key, "freemail_welcomelist") == 0 ||
	    strcmp(key, "freemail_whitelist") == 0) {
		while (next_word(&p, end, w, sizeof(w))) {
			if (++ec->items > EV_MAX_LIST_ITEMS)
				return err_set(e, ERR_PERM, "too many list "
				    "entries");
			strset_add(&ec->fm_welcome, w);
		}
		return 1;
	}
	if (strcmp(key, "enlist_addrlist") == 0 ||
	    strcmp(key, "enlist_uri_host") == 0) {
		int uri = key[7] == 'u';

		if (list_name(&p, end, name, sizeof(name)) == -1)
			return err_set(e, ERR_PERM, "%s: expected (LISTNAME)",
			    key);
		if (uri)
			l = namedlist_get(&ec->urilists, &ec->nurilists,
			    name, 1);
		else
			l = namedlist_get(&ec->addrlists, &ec->naddrlists,
			    name, 1);
		if (l == NULL)
			return err_set(e, ERR_PERM, "too many lists");
		while (next_word(&p, end, w, sizeof(w))) {
			if (++ec->items > EV_MAX_LIST_ITEMS)
				return err_set(e, ERR_PERM, "too many list "
				    "entries");
			if (uri && w[0] == '!')
				strset_add(&l->neg, w + 1);
			else if (!uri && strpbrk(w, "*?") != NULL) {
				l->globs = xreallocarray(l->globs,
				    l->nglobs + 1, sizeof(*l->globs));
				l->globs[l->nglobs++] = xstrdup(w);
			} else
				strset_add(&l->exact, w);
		}
		return 1;
	}
	if (strcmp(key, "def_welcomelist_from_rcvd") == 0 ||
	    strcmp(key, "def_whitelist_from_rcvd") == 0) {
		char d[MSG_MAX_NAME + 256];

		/* Conf.pm: exactly /^\S+\s+\S+$/ */
		if (!next_word(&p, end, w, sizeof(w)) ||
		    !next_word(&p, end, d, sizeof(d)) ||
		    next_word(&p, end, name, sizeof(name)))
			return err_set(e, ERR_PERM, "%s: expected ADDR DOMAIN",
			    key);
		if (++ec->items > EV_MAX_LIST_ITEMS)
			return err_set(e, ERR_PERM, "too many list entries");
		lower(w);
		lower(d);
		ec->def_rcvd = xreallocarray(ec->def_rcvd, ec->ndef_rcvd + 1,
		    sizeof(*ec->def_rcvd));
		ec->def_rcvd[ec->ndef_rcvd].addr = xstrdup(w);
		ec->def_rcvd[ec->ndef_rcvd].domain = xstrdup(d);
		ec->ndef_rcvd++;
		return 1;
	}
	if (strcmp(key, "welcomelist_allows_relays") == 0 ||
	    strcmp(key, "whitelist_allows_relays") == 0) {
		while (next_word(&p, end, w, sizeof(w))) {
			if (++ec->items > EV_MAX_LIST_ITEMS)
				return err_set(e, ERR_PERM, "too many list "
				    "entries");
			lower(w);
			ec->allows_relays = xreallocarray(ec->allows_relays,
			    ec->nallows_relays + 1,
			    sizeof(*ec->allows_relays));
			ec->allows_relays[ec->nallows_relays++] = xstrdup(w);
		}
		return 1;
	}
	if (strcmp(key, "delist_uri_host") == 0) {
		/* without a name: every list; entries are removed */
		return 1;
	}
	{
		/* The welcome and block lists: the stock files leave them
		 * empty, and so do we; entries make those functions answer
		 * "cannot say" instead of a silent no. */
		static const char *const lists[] = {
			"welcomelist_from", "whitelist_from", "blocklist_from",
			"blacklist_from", "unwelcomelist_from",
			"unwhitelist_from", "welcomelist_from_rcvd",
			"whitelist_from_rcvd", "welcomelist_to", "whitelist_to",
			"blocklist_to", "blacklist_to", "more_spam_to",
			"all_spam_to", "welcomelist_uri_host",
			"whitelist_uri_host", "blocklist_uri_host",
			"blacklist_uri_host", "welcomelist_subject",
			"whitelist_subject", "blocklist_subject",
			"blacklist_subject", "welcomelist_from_spf",
			"whitelist_from_spf", "welcomelist_from_dkim",
			"whitelist_from_dkim", "welcomelist_auth",
			"whitelist_auth", NULL,
		};
		size_t i;

		for (i = 0; lists[i] != NULL; i++)
			if (strcmp(key, lists[i]) == 0) {
				while (next_word(&p, end, w, sizeof(w)))
					ec->user_lists++;
				return 1;
			}
	}
	if (strcmp(key, "welcomelist_bounce_relays") == 0 ||
	    strcmp(key, "whitelist_bounce_relays") == 0) {
		while (next_word(&p, end, w, sizeof(w)))
			ec->bounce_relays++;
		return 1;
	}
	return 0;
}

/* ---- small helpers ---- */

/* Perl's numeric value of an argument ("0800", ".9", "inf"). */
static double
num(const char *s)
{
	char *end;
	double d;

	if (s == NULL)
		return 0;
	while (isspace((unsigned char)*s))
		s++;
	if (strncasecmp(s, "inf", 3) == 0)
		return INFINITY;
	d = strtod(s, &end);
	if (end == s)
		return 0;
	return d;
}

static int
is_undef(const char *s)
{
	return s == NULL || strcmp(s, "undef") == 0;
}

/* $pms->get(name) in scalar context: arena-owned, "" when absent. */
static const char *
get(struct score_msg *sm, const char *name, size_t *len_out)
{
	struct buf b = BUF_INIT;
	const char *r;
	size_t len;

	sm_header(sm, name, 0, &b);
	len = b.len;
	r = arena_strndup(sm_arena(sm), b.data != NULL ? b.data : "", len);
	buf_free(&b);
	if (len_out != NULL)
		*len_out = len;
	return r;
}

/* Whether the header exists at all (get(NAME, undef) defined). */
static int
exists(struct score_msg *sm, const char *name)
{
	struct buf b = BUF_INIT;
	int r = sm_header(sm, name, 0, &b);

	buf_free(&b);
	return r;
}

/* get("NAME:addr") in scalar context: the first value, chomped. */
static const char *
get_first(struct score_msg *sm, const char *name)
{
	const char *v = get(sm, name, NULL), *nl = strchr(v, '\n');

	return nl != NULL ? arena_strndup(sm_arena(sm), v,
	    (size_t)(nl - v)) : v;
}

/* get("NAME:addr") in list context: lower-cased into out[], count. */
static size_t
get_list_lc(struct score_msg *sm, const char *name, char **out, size_t max)
{
	const char *v = get(sm, name, NULL);
	size_t n = 0;

	while (*v != '\0' && n < max) {
		const char *nl = strchr(v, '\n');
		size_t l = nl != NULL ? (size_t)(nl - v) : strlen(v);

		out[n] = arena_strndup(sm_arena(sm), v, l);
		lower(out[n]);
		n++;
		if (nl == NULL)
			break;
		v = nl + 1;
	}
	return n;
}

/* A Perl regex given as an argument (compile_regexp with strict 0: a
 * bare pattern, or /re/flags). 1 match, 0 none, -1 bad pattern. */
static int re_match_n(const char *re, size_t rl, uint32_t opt,
    const char *s, size_t len);

static int
re_match(const char *re, int icase, const char *s, size_t len)
{
	uint32_t opt = icase ? PCRE2_CASELESS : 0;
	size_t rl = strlen(re);

	if (rl >= 2 && re[0] == '/') {
		const char *last = strrchr(re + 1, '/');

		if (last != NULL) {
			const char *f;

			for (f = last + 1; *f != '\0'; f++) {
				if (*f == 'i')
					opt |= PCRE2_CASELESS;
				else if (*f == 's')
					opt |= PCRE2_DOTALL;
				else if (*f == 'm')
					opt |= PCRE2_MULTILINE;
				else if (*f == 'x')
					opt |= PCRE2_EXTENDED;
			}
			re++;
			rl = (size_t)(last - re);
		}
	}
	return re_match_n(re, rl, opt, s, len);
}

/* A bare pattern re[0..rl) with pcre2 options: 1, 0, -1 bad pattern. */
static int
re_match_n(const char *re, size_t rl, uint32_t opt, const char *s,
    size_t len)
{
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mc;
	int ec, rc;
	PCRE2_SIZE eo;

	code = pcre2_compile((PCRE2_SPTR)re, rl, opt, &ec, &eo, NULL);
	if (code == NULL)
		return -1;
	md = pcre2_match_data_create_from_pattern(code, NULL);
	mc = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(mc, EV_MATCH_LIMIT);
	rc = pcre2_match(code, (PCRE2_SPTR)s, len, 0, 0, md, mc);
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	return rc >= 0 ? 1 : 0;
}

/*
 * The constant patterns of this file, compiled once per process (the
 * first use; pthread_once) and read-only afterwards, so threads share
 * them: compiling on each call cost more than all the rest. Indexes are
 * the re_fixed() numbers at the call sites.
 */
static const struct {
	const char *re;
	uint32_t opt;
} fixed_src[] = {
	{ "iso-\\S+-\\S+\\b", PCRE2_CASELESS },
	{ "iso-(?:8859-\\d{1,2}|2022-(?:jp|kr))\\b", 0 },
	{ "\\bfrom (?:localhost\\s|(?:\\S+ ){1,2}"
	    "\\S*\\b127\\.0\\.0\\.1\\b)", 0 },
	{ "qmail \\d+ invoked by uid \\d+", 0 },
	{ "\\bby localhost with \\w+ \\(fetchmail-"
	    "[\\d.]+", 0 },
	{ "(?m)^contact \\S+\\@\\S+\\; run by ezmlm$", 0 },
	{ "(?m)^mailing list \\S+\\@\\S+", 0 },
	{ "qmail \\d+ invoked "
	    "(?:from network|by .{3,20})\\); \\d+ ... \\d+", 0 },
	{ "from groups\\.msn\\.com \\(\\S+\\.msn\\.com ", 0 },
	{ "^(?:X-VMS-To|X-UIDL|X-Face|To|Cc|From|"
	    "Subject|References|In-Reply-To|(?:X-|Resent-|"
	    "X-Original-)?Message-Id):", PCRE2_CASELESS },
	{ " rly-[a-z][a-z]\\d\\d\\.", PCRE2_CASELESS },
	{ "\\/AOL-\\d+\\.\\d+\\.\\d+\\)", 0 },
	{ "ESMTP id (?:RELAY|MAILRELAY|MAILIN)", 0 },
	{ "by 10\\.\\S+ with SMTP id \\S+", 0 },
	{ "by 2002\\:a\\d\\d\\:\\w+\\:\\S+ with SMTP id \\S+", 0 },
	{ "by smtp\\.googlemail\\.com with ESMTPSA id \\S+", 0 },
	{ "<(\\S+)\\@groups\\.msn\\.com>", PCRE2_CASELESS },
	{ "from mail pickup service by "
	    "(?:p\\d\\d\\.)groups\\.msn\\.com\\b", 0 },
	{ "from mail pickup service by hotmail\\.com with "
	    "Microsoft SMTPSVC;", 0 },
	{ RE_IP, 0 },
	{ "hotmail\\.com|msonline\\-outlook", 0 },
	{ "from (?:\\S*\\.)?hotmail.com \\(\\S+\\.hotmail"
	    "(?:\\.msn)?\\.com[ \\)]", 0 },
	{ "from \\S*\\.outbound\\.protection\\.outlook\\.com "
	    "\\(\\S+\\.outbound\\.protection\\.outlook\\.com[ \\)]", 0 },
	{ "from \\S*\\.(?:eur|nam)prd\\d+\\.prod\\.outlook"
	    "\\.com \\(" RE_IP "\\)", 0 },
	{ "from \\S*\\.hotmail.com \\(\\[" RE_IP
	    "\\][ \\):]", 0 },
	{ "from \\S+ by \\S+\\.hotmail(?:\\.msn)?\\.com with "
	    "HTTP\\;", 0 },
	{ "from \\[66\\.218.\\S+\\] by \\S+\\.yahoo\\.com", 0 },
	{ "(?:from |HELO |helo=)\\S*hotmail\\.com\\b", 0 },
	{ " rdns=\\S+\\.yahoo\\.com ", 0 },
	{ "^[^\\]]+ rdns=\\S+\\.yahoo\\.com ", 0 },
	{ "by web\\S+\\.mail\\S*\\.yahoo\\.com via HTTP", 0 },
	{ "by sonic\\S+\\.consmr\\.mail\\S*\\.yahoo\\."
	    "com with HTTP", 0 },
	{ "by smtp\\S+\\.yahoo"
	    "\\.com with SMTP", 0 },
	{ "from \\[" RE_IP
	    "\\] by \\S+\\.(?:groups|scd|dcn)\\.yahoo\\.com with NNFMP", 0 },
	{ "\\bmailer\\d+\\.bulk\\.scd\\.yahoo\\.com\\b", 0 },
	{ "\\@reply\\.yahoo\\.com$", PCRE2_CASELESS },
	{ "by \\w+\\.\\w+\\.yahoo\\.com \\(\\d+\\.\\d+\\.\\d+\\/\\d+"
	    "\\.\\d+\\.\\d+\\)(?: with ESMTP)? id \\w+", 0 },
	{ "(?:^(?:post|host|domain)master|"
	    "^double-bounce|^(?:sentto|owner|return|(?:gr)?bounced?)-.+|"
	    "-(?:request|bounces?|admin|owner)|\\b(?:do[._-t]?)?no[._-t]?"
	    "repl(?:y|ies)|.+=.+)\\@", PCRE2_CASELESS },
};

#define EV_NFIXED	(sizeof(fixed_src) / sizeof(fixed_src[0]))

static pcre2_code *fixed_code[EV_NFIXED];
static pthread_once_t fixed_once = PTHREAD_ONCE_INIT;

static void
fixed_init(void)
{
	size_t i;
	int ec;
	PCRE2_SIZE eo;

	for (i = 0; i < EV_NFIXED; i++) {
		fixed_code[i] = pcre2_compile((PCRE2_SPTR)fixed_src[i].re,
		    PCRE2_ZERO_TERMINATED, fixed_src[i].opt, &ec, &eo, NULL);
		if (fixed_code[i] != NULL)
			(void)pcre2_jit_compile(fixed_code[i],
			    PCRE2_JIT_COMPLETE);
	}
}

/* Match constant pattern id: 1 match, 0 none (or a limit hit). */
static int
re_fixed(size_t id, const char *s, size_t len)
{
	pcre2_match_data *md;
	int rc;

	pthread_once(&fixed_once, fixed_init);
	if (id >= EV_NFIXED || fixed_code[id] == NULL)
		return -1;
	md = pcre2_match_data_create(1, NULL);
	rc = pcre2_match(fixed_code[id], (PCRE2_SPTR)s, len, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0 ? 1 : 0;
}

static const char *rcvd_flat(struct score_msg *sm, const char *name);
static const char *rcvd_get(struct score_msg *sm, size_t *len_out);
static int rcvd_exists(struct score_msg *sm);

/* Case-insensitive substring search. */
static const char *
stristr(const char *h, const char *n)
{
	size_t nl = strlen(n);

	for (; *h != '\0'; h++)
		if (strncasecmp(h, n, nl) == 0)
			return h;
	return NULL;
}

/* Glob as SpamAssassin's welcomelist patterns: * any run, ? one byte,
 * case-insensitive, anchored. Iterative (no backtracking blow-up). */
static int
glob_match(const char *g, const char *s)
{
	const char *star = NULL, *ss = NULL;

	while (*s != '\0') {
		if (*g == '*') {
			star = g++;
			ss = s;
		} else if (*g == '?' || (*g != '\0' &&
		    tolower((unsigned char)*g) == tolower((unsigned char)*s))) {
			g++;
			s++;
		} else if (star != NULL) {
			g = star + 1;
			s = ++ss;
		} else
			return 0;
	}
	while (*g == '*')
		g++;
	return *g == '\0';
}

/* FreeMail wildcard: "*" is [^.]*, "?" one byte, anchored after "@". */
static int
fm_glob(const char *g, const char *s)
{
	if (*g == '\0')
		return *s == '\0';
	if (*g == '*') {
		for (;;) {
			if (fm_glob(g + 1, s))
				return 1;
			if (*s == '\0' || *s == '.')
				return 0;
			s++;
		}
	}
	if (*s == '\0')
		return 0;
	if (*g == '?' || *g == *s)
		return fm_glob(g + 1, s + 1);
	return 0;
}

/* ---- Bayes (Plugin/Bayes.pm check_bayes) ---- */

static int
ev_check_bayes(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	double p, min, max;

	(void)st;
	if (n < 2)
		return 0;
	p = score_bayes_prob(sm);
	if (p < 0)
		return 0;
	min = num(a[0]);
	max = num(a[1]);
	return (min == 0 || p > min) && (is_undef(a[1]) || p <= max);
}

/* ---- HTMLEval ---- */

/* A numeric result of HTML.pm by name: 1 with *v set when Perl's
 * results{} has it defined. */
static int
html_value(const struct sm_html *h, const char *name, double *v)
{
	if (strcmp(name, "length") == 0)
		*v = (double)h->length;
	else if (strcmp(name, "max_size") == 0)
		*v = h->max_size;
	else if (strcmp(name, "min_size") == 0)
		*v = h->min_size;
	else if (strcmp(name, "image_area") == 0)
		*v = (double)h->image_area;
	else if (strcmp(name, "html_length") == 0)
		*v = (double)h->html_length;
	else if (strcmp(name, "non_space_len") == 0)
		*v = (double)h->non_space_len;
	else if (strcmp(name, "ratio") == 0)
		*v = h->ratio;
	else if (strcmp(name, "backhair_count") == 0)
		*v = h->backhair_count;
	else if (strcmp(name, "closed_extra_ratio") == 0) {
		/* exists $self->{tags}: some tag was seen */
		if (h->tags == 0)
			return 0;
		*v = (double)h->closed_extra / h->tags;
	} else if (strcmp(name, "bad_tag_ratio") == 0) {
		/* exists elements and tags: both were incremented */
		if (h->tags == 0 || h->elements == 0)
			return 0;
		*v = ((double)h->tags - h->elements) / h->tags;
	} else if (strcmp(name, "non_element_ratio") == 0) {
		if (h->tags_seen == 0 || h->elements_seen == 0)
			return 0;
		*v = ((double)h->tags_seen - h->elements_seen) / h->tags_seen;
	} else if (strcmp(name, "obfuscation_ratio") == 0) {
		if (h->tags == 0 || h->obfuscation == 0)
			return 0;
		*v = (double)h->obfuscation / h->tags;
	} else
		return 0;
	return 1;
}

/* "OP NUMBER" as html_eval/html_tag_balance take it ("< 512", "!= 0"):
 * the argument passed /^[<>=!\-+ 0-9]+$/. -1 when not understood. */
static int
cmp_expr(double v, const char *expr)
{
	const char *p = expr;
	char op[3] = "";
	size_t k = 0;
	double x;

	if (expr[strspn(expr, "<>=!-+ 0123456789")] != '\0')
		return 0;
	while (*p == ' ')
		p++;
	while ((*p == '<' || *p == '>' || *p == '=' || *p == '!') && k < 2)
		op[k++] = *p++;
	op[k] = '\0';
	x = num(p);
	if (strcmp(op, "<") == 0)
		return v < x;
	if (strcmp(op, "<=") == 0)
		return v <= x;
	if (strcmp(op, ">") == 0)
		return v > x;
	if (strcmp(op, ">=") == 0)
		return v >= x;
	if (strcmp(op, "==") == 0)
		return v == x;
	if (strcmp(op, "!=") == 0)
		return v != x;
	return -1;
}

static int
ev_html_tag_exists(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct sm_html *h = sm_html(sm);

	(void)st;
	return n >= 1 && h != NULL && sm_html_inside(h, a[0]) >= 0;
}

static int
ev_html_tag_balance(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct sm_html *h = sm_html(sm);
	int in;

	(void)st;
	if (n < 2 || h == NULL || (in = sm_html_inside(h, a[0])) < 0)
		return 0;
	return cmp_expr(in, a[1]) == 1;
}

static int
ev_html_test(struct score_msg *sm, const char *const *a, size_t n, void *st)
{
	const struct sm_html *h = sm_html(sm);
	const char *t;
	double v;

	(void)st;
	if (n < 1 || h == NULL)
		return 0;
	t = a[0];
	if (strcmp(t, "html") == 0)
		return 1;
	if (strcmp(t, "font_low_contrast") == 0)
		return h->font_low_contrast;
	if (strcmp(t, "font_invalid_color") == 0)
		return h->font_invalid_color;
	if (strcmp(t, "font_face_bad") == 0)
		return h->font_face_bad;
	if (strcmp(t, "form_action_mailto") == 0)
		return h->form_action_mailto;
	if (strcmp(t, "embeds") == 0)
		return h->embeds;
	if (strcmp(t, "uri_truncated") == 0)
		return h->uri_truncated;
	if (strcmp(t, "closed_html") == 0)
		return h->closed_html;
	if (strcmp(t, "closed_body") == 0)
		return h->closed_body;
	if (html_value(h, t, &v))
		return v != 0;
	return 0;
}

static int
ev_html_eval(struct score_msg *sm, const char *const *a, size_t n, void *st)
{
	const struct sm_html *h = sm_html(sm);
	double v;

	(void)st;
	if (n < 2 || h == NULL || !html_value(h, a[0], &v))
		return 0;
	return cmp_expr(v, a[1]) == 1;
}

static int
ev_html_range(struct score_msg *sm, const char *const *a, size_t n, void *st)
{
	const struct sm_html *h = sm_html(sm);
	double v, min, max;

	(void)st;
	if (n < 2 || h == NULL || !html_value(h, a[0], &v))
		return 0;
	min = num(a[1]);
	if (n < 3 || strcmp(a[2], "inf") == 0)
		return v > min;
	if (isinf(v))
		return 0;
	max = num(a[2]);
	return v > min && v <= max;
}

static int
ev_html_image_only(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct sm_html *h = sm_html(sm);
	double len;

	(void)st;
	if (n < 2 || h == NULL || sm_html_inside(h, "img") < 0)
		return 0;
	len = (double)h->length;
	return len > num(a[0]) && len <= num(a[1]);
}

static int
ev_html_image_ratio(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct sm_html *h = sm_html(sm);
	double r;

	(void)st;
	if (n < 2 || h == NULL || h->image_area == 0)
		return 0;
	r = (double)h->non_space_len / (double)h->image_area;
	return r > num(a[0]) && r <= num(a[1]);
}

/* ok_locales all: no charset is far away (HTMLEval, MIMEEval). */
static int
ev_false(struct score_msg *sm, const char *const *a, size_t n, void *st)
{
	(void)sm;
	(void)a;
	(void)n;
	(void)st;
	return 0;
}

/* Perl's length() of a character string: UTF-8 characters. */
static size_t
u8len(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

static int
ev_html_title_subject_ratio(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	const struct sm_html *h = sm_html(sm);
	size_t sl, tl;
	const char *subj;

	(void)st;
	if (n < 1 || h == NULL)
		return 0;
	subj = get(sm, "Subject", &sl);
	if (sl == 0 || h->title == NULL || h->title[0] == '\0')
		return 0;
	tl = u8len(h->title, strlen(h->title));
	return (double)tl / (double)u8len(subj, sl) > num(a[0]);
}

static int
ev_html_text_match(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct sm_html *h = sm_html(sm);
	size_t i;

	(void)st;
	if (n < 2 || h == NULL)
		return 0;
	if (strcmp(a[0], "title") == 0) {
		if (h->title == NULL)
			return 0;
		return re_match(a[1], 0, h->title, strlen(h->title)) == 1;
	}
	if (strcmp(a[0], "anchor") == 0) {
		for (i = 0; i < h->nanchor; i++)
			if (re_match(a[1], 0, h->anchor[i],
			    strlen(h->anchor[i])) == 1)
				return 1;
		return 0;
	}
	/* html.c counts comments but keeps no text: the stock pattern that
	 * any comment matches is answered from the count, the others
	 * cannot be */
	if (strcmp(a[0], "comment") == 0 && strcmp(a[1], "<!.*?>") == 0)
		return h->ncomment > 0;
	return -1;
}

static int
ev_check_uri_truncated(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct sm_html *h = sm_html(sm);

	(void)a;
	(void)n;
	(void)st;
	return h != NULL && h->uri_truncated;
}

/* ---- MIMEEval ---- */

/* What MIMEEval's _check_attachments and friends leave in $pms. */
struct mimefacts {
	unsigned html_count, text_count, base64_count, qp_parts, attachment;
	int base64_encoded_text, bad_iso_charset, multipart_alternative;
	int qp_long_line, limit_exceeded, charset_fp;
	unsigned long ascii_text_illegal;
	unsigned long qp_count, qp_bytes;
	unsigned long normal_chars, unicode_chars;
	double multipart_ratio;
	size_t base64_length;
	/* last text/plain and text/html leaves, not attachments, for the
	 * multipart ratio (bytes of their raw lines) */
	long text_bytes, html_bytes;
};

/* Per-message cache: prepare.c keeps one pointer for us in the
 * score_msg (sm_eval_slot, score-int.h), freed with its arena. */

struct evcache {
	int mime_done;
	struct mimefacts mf;
	int date_done;
	long date_diff;
	int from_done;
	char **from;
	size_t nfrom;
	struct imginfo *img;	/* ImageInfo's facts, once computed */
	const char *rcvd;	/* get('Received'), once */
	size_t rcvd_len;
	int rcvd_exists;	/* any Received: field at all */
	const char *rcvd_flat;	/* the same, white space runs as " " */
	int upper_done;		/* check_for_uppercase's percentage */
	double upper_pct;
	int madiff_done;	/* multipart_alternative_difference facts */
	double madiff_diff;
	size_t madiff_html, madiff_text;
};

static struct evcache *
cache_of(struct score_msg *sm)
{
	void **slot;

	if ((slot = sm_eval_slot(sm)) == NULL)
		return NULL;
	if (*slot == NULL)
		*slot = arena_zalloc(sm_arena(sm), sizeof(struct evcache));
	return *slot;
}

/* Constants.pm CHARSETS_LIKELY_TO_FP_AS_CAPS, anchored. */
static int
charset_fp(const char *cs)
{
	static const char *const frag[] = {
		"koi", "jp", "jis", "euc", "gb", "big5", "isoir", "cp1251",
		"windows-1251", "georgianps", "pt154", "tis", NULL,
	};
	size_t i;

	if (cs[strspn(cs, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")] != '\0')
		return 0;
	for (i = 0; frag[i] != NULL; i++)
		if (stristr(cs, frag[i]) != NULL)
			return 1;
	return 0;
}

/* A header value of a part: unfolded, trimmed, lower-cased. */
static char *
part_hdr_lc(struct arena *a, const struct mime_part *p, const char *name)
{
	const struct hdr *h = mime_hdr_find(p, name);
	char *v;

	if (h == NULL)
		return arena_strdup(a, "");
	v = hdr_unfold(a, h->value);
	lower(v);
	return v;
}

/* _check_mime_header's mime_bad_iso_charset test */
static int
bad_iso(const char *cs)
{
	size_t l = strlen(cs);

	if (stristr(cs, "iso-") == NULL)
		return 0;
	return re_fixed(0, cs, l) == 1 &&
	    re_fixed(1, cs,
	    l) != 1;
}

/* /=(?:09|3[0-9ABCEF]|[2456][0-9A-F]|7[0-9A-E])/g: QP escapes of
 * printable characters (which need no encoding). */
static unsigned
qp_printable(const char *l, size_t n, size_t *trail_out)
{
	unsigned c = 0;
	size_t i, t, e;

	for (i = 0; i + 2 < n; i++) {
		char x = l[i + 1], y = l[i + 2];
		int hex = isdigit((unsigned char)y) || (y >= 'A' && y <= 'F');

		if (l[i] != '=')
			continue;
		if ((x == '0' && y == '9') ||
		    (x == '3' && (isdigit((unsigned char)y) ||
		    (y >= 'A' && y <= 'F' && y != 'D'))) ||
		    ((x == '2' || x == '4' || x == '5' || x == '6') && hex) ||
		    (x == '7' && (isdigit((unsigned char)y) ||
		    (y >= 'A' && y <= 'E'))))
			c++;
	}
	/* /((?:=09|=20)+)\s*$/: trailing encoded blanks do not count */
	e = n;
	while (e > 0 && isspace((unsigned char)l[e - 1]))
		e--;
	t = 0;
	while (e >= 3 && l[e - 3] == '=' && ((l[e - 2] == '0' &&
	    l[e - 1] == '9') || (l[e - 2] == '2' && l[e - 1] == '0'))) {
		t++;
		e -= 3;
	}
	*trail_out = t;
	return c;
}

struct mwalk {
	struct mimefacts *f;
	struct arena *a;
	int where_ma;		/* mime_multipart_alternative seen */
};

static int
mime_cb(struct mime_part *p, void *arg)
{
	struct mwalk *w = arg;
	struct mimefacts *f = w->f;
	const char *ctype = p->ctype.value != NULL ? p->ctype.value :
	    "text/plain";
	const char *charset = mime_param(&p->ctype, "charset");
	char *cte = part_hdr_lc(w->a, p, "Content-Transfer-Encoding");
	char *cd = part_hdr_lc(w->a, p, "Content-Disposition");
	char *cs = NULL;
	const char *l, *end;
	int is_b64, attach;

	if (charset != NULL) {
		cs = arena_strdup(w->a, charset);
		lower(cs);
	} else
		cs = arena_strdup(w->a, "");
	if (strcmp(ctype, "multipart/alternative") == 0)
		f->multipart_alternative = 1;

	/* _check_mime_header */
	if (strcmp(ctype, "text/html") == 0)
		f->html_count++;
	else if (strncasecmp(ctype, "text", 4) == 0)
		f->text_count++;
	if (strstr(cte, "base64") != NULL)
		f->base64_count++;
	else if (strstr(cte, "quoted-printable") != NULL)
		f->qp_parts++;
	attach = strstr(cd, "attachment") != NULL;
	if (attach)
		f->attachment++;
	if (strncmp(ctype, "text", 4) == 0 && strstr(cte, "base64") != NULL &&
	    (*cs == '\0' || strstr(cs, "us-ascii") != NULL ||
	    strstr(cs, "ansi_x3.4-1968") != NULL ||
	    strstr(cs, "iso-ir-6") != NULL ||
	    strstr(cs, "ansi_x3.4-1986") != NULL ||
	    strstr(cs, "iso_646.irv:1991") != NULL ||
	    strstr(cs, "ascii") != NULL || strstr(cs, "iso646-us") != NULL ||
	    strstr(cs, "us") != NULL || strstr(cs, "ibm367") != NULL ||
	    strstr(cs, "cp367") != NULL || strstr(cs, "csascii") != NULL) &&
	    !(strncmp(cd, "attachment", 10) == 0 ||
	    strncmp(cd, "inline", 6) == 0))
		f->base64_encoded_text = 1;
	if (bad_iso(cs))
		f->bad_iso_charset = 1;
	if (strpbrk(cs, "abcdefghijklmnopqrstuvwxyz") != NULL && charset_fp(cs))
		f->charset_fp = 1;

	if (p->children != NULL)
		return 0;
	if (p->flags & MIME_F_TOO_MANY)
		f->limit_exceeded = 1;

	/* a leaf: its raw lines */
	is_b64 = strstr(cte, "base64") != NULL;
	{
		int ma_part = f->multipart_alternative && !attach &&
		    (strcmp(ctype, "text/plain") == 0 ||
		    strcmp(ctype, "text/html") == 0);
		long bytes = 0;
		int plain_ascii = strcmp(ctype, "text/plain") == 0 &&
		    (charset == NULL || strcmp(cs, "us-ascii") == 0);
		int plain_7bit = strcmp(ctype, "text/plain") == 0 &&
		    (*cte == '\0' || strcmp(cte, "7bit") == 0 ||
		    strcmp(cte, "8bit") == 0);
		int qp = strcmp(cte, "quoted-printable") == 0;

		l = p->body.p;
		end = p->body.p + p->body.len;
		while (l != NULL && l < end) {
			const char *nl = memchr(l, '\n', (size_t)(end - l));
			size_t n = nl != NULL ? (size_t)(nl - l) + 1 :
			    (size_t)(end - l);
			size_t k;

			bytes += (long)n;
			if (qp && !(n >= 6 && memcmp(l, "SPAM: ", 6) == 0)) {
				size_t trail;
				unsigned c;

				if (n > 79)
					f->qp_long_line = 1;
				f->qp_bytes += n;
				if (memchr(l, '=', n) != NULL &&
				    (c = qp_printable(l, n, &trail)) > 0) {
					f->qp_count += c;
					f->qp_count -= trail <= f->qp_count ?
					    trail : f->qp_count;
				}
			}
			if (plain_ascii) {
				for (k = 0; k < n; k++) {
					unsigned char ch = (unsigned char)l[k];

					if (ch == 0 || ch == '\r' ||
					    ch >= 0x80) {
						f->ascii_text_illegal++;
						break;
					}
				}
			}
			if (plain_7bit) {
				/* s/&#x[0-9A-F]{4};//g */
				size_t subs = 0;

				for (k = 0; k + 8 <= n; k++)
					if (l[k] == '&' && l[k + 1] == '#' &&
					    l[k + 2] == 'x' &&
					    strspn(l + k + 3,
					    "0123456789ABCDEF") >= 4 &&
					    l[k + 7] == ';') {
						subs++;
						k += 7;
					}
				f->normal_chars += n - subs * 8;
				f->unicode_chars += subs;
			}
			if (is_b64 && strcmp(ctype, "application/ics") != 0 &&
			    strcmp(cte, "base64") == 0 &&
			    n > f->base64_length)
				f->base64_length = n;
			l = nl != NULL ? nl + 1 : NULL;
		}
		if (ma_part || (!attach && (strcmp(ctype, "text/plain") == 0 ||
		    strcmp(ctype, "text/html") == 0))) {
			/* part_bytes: only inside multipart/alternative */
			if (strcmp(ctype, "text/html") == 0)
				f->html_bytes = ma_part ? bytes : 0;
			else
				f->text_bytes = ma_part ? bytes : 0;
		}
	}
	return 0;
}

static void mime_facts_compute(struct score_msg *sm, struct msg *m,
    struct mimefacts *f);

static void
mime_facts(struct score_msg *sm, struct mimefacts *f)
{
	struct msg *m = sm_msg(sm);
	struct evcache *c = cache_of(sm);

	if (c != NULL && c->mime_done) {
		*f = c->mf;
		return;
	}
	mime_facts_compute(sm, m, f);
	if (c != NULL) {
		c->mf = *f;
		c->mime_done = 1;
	}
}

static void
mime_facts_compute(struct score_msg *sm, struct msg *m, struct mimefacts *f)
{
	struct mwalk w;

	memset(f, 0, sizeof(*f));
	f->multipart_ratio = 1.0;
	f->text_bytes = f->html_bytes = -1;
	if (m->mime == NULL)
		mime_parse(m);
	if (m->mime == NULL)
		return;
	w.f = f;
	w.a = sm_arena(sm);
	w.where_ma = 0;
	mime_walk(m->mime, mime_cb, &w);
	if (f->qp_bytes > 0)
		f->qp_parts = (unsigned)f->qp_count;
	if (f->multipart_alternative && f->text_bytes >= 0 &&
	    f->html_bytes > 0)
		f->multipart_ratio = (double)f->text_bytes /
		    (double)f->html_bytes;
}

static int
ev_check_for_mime(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	struct mimefacts f;
	const char *t;

	(void)st;
	if (n < 1)
		return 0;
	mime_facts(sm, &f);
	t = a[0];
	if (strcmp(t, "mime_attachment") == 0)
		return f.attachment > 0;
	if (strcmp(t, "mime_bad_iso_charset") == 0)
		return f.bad_iso_charset;
	if (strcmp(t, "mime_base64_count") == 0)
		return f.base64_count > 0;
	if (strcmp(t, "mime_base64_encoded_text") == 0)
		return f.base64_encoded_text;
	if (strcmp(t, "mime_body_html_count") == 0)
		return f.html_count > 0;
	if (strcmp(t, "mime_body_text_count") == 0)
		return f.text_count > 0;
	if (strcmp(t, "mime_multipart_alternative") == 0)
		return f.multipart_alternative;
	if (strcmp(t, "mime_qp_count") == 0)
		return f.qp_parts > 0;
	if (strcmp(t, "mime_qp_long_line") == 0)
		return f.qp_long_line;
	if (strcmp(t, "mime_qp_ratio") == 0)
		return f.qp_bytes > 0 && f.qp_count > 0;
	if (strcmp(t, "mime_ascii_text_illegal") == 0)
		return f.ascii_text_illegal > 0;
	if (strcmp(t, "mimepart_limit_exceeded") == 0)
		return f.limit_exceeded;
	/* mime_base64_blanks, mime_faraway_charset (ok_locales all),
	 * mime_missing_boundary: never set by SpamAssassin 4.0.1's
	 * defaults */
	return 0;
}

static int
ctype_is_html(struct score_msg *sm)
{
	const char *ct = get(sm, "Content-Type", NULL);

	return strncasecmp(ct, "text/html", 9) == 0;
}

static int
ev_check_for_mime_html(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	struct mimefacts f;

	(void)a;
	(void)n;
	(void)st;
	if (ctype_is_html(sm))
		return 1;
	mime_facts(sm, &f);
	return f.html_count > 0;
}

static int
ev_check_for_mime_html_only(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	struct mimefacts f;

	(void)a;
	(void)n;
	(void)st;
	if (ctype_is_html(sm))
		return 1;
	mime_facts(sm, &f);
	return f.html_count > 0 && f.text_count == 0;
}

static int
ev_check_mime_multipart_ratio(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	struct mimefacts f;

	(void)st;
	if (n < 2)
		return 0;
	mime_facts(sm, &f);
	return f.multipart_ratio >= num(a[0]) && f.multipart_ratio < num(a[1]);
}

static int
ev_check_qp_ratio(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	struct mimefacts f;
	double r;

	(void)st;
	if (n < 1)
		return 0;
	mime_facts(sm, &f);
	r = f.qp_bytes > 0 ? (double)f.qp_count / (double)f.qp_bytes : 0;
	return r >= num(a[0]);
}

static int
ev_check_base64_length(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	struct mimefacts f;

	(void)st;
	if (n < 1)
		return 0;
	mime_facts(sm, &f);
	if (n >= 2 && (double)f.base64_length > num(a[1]))
		return 0;
	return (double)f.base64_length >= num(a[0]);
}

static int
ev_check_abundant_unicode_ratio(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	struct mimefacts f;
	double r;

	(void)st;
	if (n < 1)
		return 0;
	mime_facts(sm, &f);
	r = f.normal_chars > 0 ? (double)f.unicode_chars /
	    (double)f.normal_chars : 0;
	return r >= num(a[0]);
}

static int
ev_check_for_ascii_text_illegal(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	struct mimefacts f;

	(void)a;
	(void)n;
	(void)st;
	mime_facts(sm, &f);
	return f.ascii_text_illegal > 0;
}

/* check_ma_non_text: a leaf under multipart/alternative that is not
 * text/ *, multipart/related or application/rtf. */
struct mawalk {
	int in_ma;
	int hit;
};

static int
ma_cb(struct mime_part *p, void *arg)
{
	struct mawalk *w = arg;
	const struct mime_part *q;
	const char *ct = p->ctype.value != NULL ? p->ctype.value : "";

	if (p->children != NULL)
		return 0;
	for (q = p->parent; q != NULL; q = q->parent)
		if (q->ctype.value != NULL &&
		    strcmp(q->ctype.value, "multipart/alternative") == 0)
			break;
	if (q == NULL)
		return 0;
	if (strcmp(ct, "multipart/related") == 0 ||
	    strcmp(ct, "application/rtf") == 0 ||
	    strncasecmp(ct, "text/", 5) == 0)
		return 0;
	w->hit = 1;
	return 1;
}

static int
ev_check_ma_non_text(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	struct msg *m = sm_msg(sm);
	struct mawalk w = { 0, 0 };

	(void)a;
	(void)n;
	(void)st;
	if (m->mime == NULL)
		mime_parse(m);
	if (m->mime != NULL)
		mime_walk(m->mime, ma_cb, &w);
	return w.hit;
}

/* tr/a-z0-9// and tr/A-Z// over p[0..n), added to *lower and *upper */
static void
count_case(const char *p, size_t n, unsigned long *lower,
    unsigned long *upper)
{
	size_t k;
	unsigned long lo = 0, up = 0;

	for (k = 0; k < n; k++) {
		unsigned char c = (unsigned char)p[k];

		lo += (unsigned char)(c - 'a') < 26 ||
		    (unsigned char)(c - '0') < 10;
		up += (unsigned char)(c - 'A') < 26;
	}
	*lower += lo;
	*upper += up;
}

/* check_for_uppercase over the rendered body (BodyEval-style body
 * test: MIMEEval registers it as a body eval). */
static double
uppercase_pct(struct score_msg *sm)
{
	const struct span *lines;
	size_t nl, i, k;
	unsigned long len = 0, lower_n = 0, upper_n = 0;
	struct mimefacts f;
	double pct;
	const char *ct;

	/* body_charset_is_likely_to_fp */
	mime_facts(sm, &f);
	ct = get(sm, "Content-Type", NULL);
	if (f.charset_fp)
		return 0;
	{
		const char *c = stristr(ct, "charset=");

		if (c != NULL) {
			char cs[128];
			size_t cl;

			c += 8;
			if (*c == '"' || *c == '\'') {
				char q = *c++;

				cl = strcspn(c, q == '"' ? "\"" : "'");
			} else
				cl = strcspn(c, " \t\r\n");
			if (cl < sizeof(cs)) {
				memcpy(cs, c, cl);
				cs[cl] = '\0';
				if (charset_fp(cs))
					return 0;
			}
		}
	}
	nl = sm_body(sm, &lines);
	for (i = 0; i < nl; i++) {
		const char *l = lines[i].p;
		size_t ll = lines[i].len, s, e;
		const char *esc;
		int ws = 0, ok = 0;

		/* next unless /\S\s+\S/ */
		for (k = 0; k < ll && !ok; k++) {
			if (isspace((unsigned char)l[k])) {
				if (k > 0 && !isspace((unsigned char)l[k - 1]))
					ws = 1;
			} else if (ws)
				ok = 1;
		}
		if (!ok)
			continue;
		/* next if /^(?:[A-Za-z0-9+\/=]{60,76} ){2}/ */
		{
			size_t p = 0, rep;
			int uu = 1;

			for (rep = 0; rep < 2 && uu; rep++) {
				size_t s0 = p;

				while (p < ll &&
				    (isalnum((unsigned char)l[p]) ||
				    l[p] == '+' || l[p] == '/' ||
				    l[p] == '='))
					p++;
				if (p - s0 < 60 || p - s0 > 76 || p >= ll ||
				    l[p] != ' ')
					uu = 0;
				p++;
			}
			if (uu)
				continue;
		}
		/* s/\x1b\$B.*\x1b\(B//gs: JIS text removed, greedy: from
		 * the first shift-in to the last shift-out */
		s = e = ll;
		esc = memchr(l, 0x1b, ll);
		for (k = esc != NULL ? (size_t)(esc - l) : ll; k + 2 < ll; k++)
			if (l[k] == 0x1b && l[k + 1] == '$' &&
			    l[k + 2] == 'B') {
				size_t q;

				for (q = ll; q >= k + 6; q--)
					if (l[q - 3] == 0x1b &&
					    l[q - 2] == '(' &&
					    l[q - 1] == 'B') {
						s = k;
						e = q;
						break;
					}
				break;
			}
		/* $len counts the line before tr/a-z0-9//d deletes */
		len += ll - (e - s);
		count_case(l, s, &lower_n, &upper_n);
		count_case(l + e, ll - e, &lower_n, &upper_n);
	}
	if (len < 200 || upper_n + lower_n == 0)
		pct = 0;
	else
		pct = (double)upper_n / (double)(upper_n + lower_n) * 100;
	return pct;
}

/* MIMEEval caches $pms->{uppercase}: three rules ask per message. */
static int
ev_check_for_uppercase(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	struct evcache *c = cache_of(sm);
	double pct;

	(void)st;
	if (n < 2)
		return 0;
	if (c != NULL && c->upper_done)
		pct = c->upper_pct;
	else {
		pct = uppercase_pct(sm);
		if (c != NULL) {
			c->upper_pct = pct;
			c->upper_done = 1;
		}
	}
	return pct > num(a[0]) && pct <= num(a[1]);
}

/*
 * Message.pm _parse_multipart: text after the closing "--boundary--"
 * line of a multipart, other than whitespace and dots, is an epilogue.
 */
static int
epilogue_cb(struct mime_part *p, void *arg)
{
	int *hit = arg;
	const char *b = mime_param(&p->ctype, "boundary");
	const char *l, *end;
	size_t bl;

	if (p->children == NULL || b == NULL || *b == '\0')
		return 0;
	bl = strlen(b);
	l = p->body.p;
	end = p->body.p + p->body.len;
	while (l != NULL && l < end) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		size_t n = nl != NULL ? (size_t)(nl - l) : (size_t)(end - l);

		/* /^--\Q$boundary\E--\s*$/ */
		if (n >= bl + 4 && l[0] == '-' && l[1] == '-' &&
		    memcmp(l + 2, b, bl) == 0 && l[bl + 2] == '-' &&
		    l[bl + 3] == '-') {
			size_t k;

			for (k = bl + 4; k < n; k++)
				if (!isspace((unsigned char)l[k]))
					break;
			if (k == n) {
				const char *q;

				for (q = nl; q != NULL && q < end; q++)
					if (!isspace((unsigned char)*q) &&
					    *q != '.') {
						*hit = 1;
						return 1;
					}
				return 0;
			}
		}
		l = nl != NULL ? nl + 1 : NULL;
	}
	return 0;
}

/* check_msg_parse_flags: what Message.pm noticed while parsing. */
static int
ev_check_msg_parse_flags(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	struct msg *m = sm_msg(sm);

	(void)st;
	if (n < 1)
		return 0;
	if (strcmp(a[0], "truncated_header") == 0)
		return (m->flags & MSG_F_HDR_TRUNCATED) != 0;
	if (strcmp(a[0], "missing_head_body_separator") == 0)
		return (m->flags & (MSG_F_NO_BODY_SEP | MSG_F_BAD_LINE)) != 0;
	if (strcmp(a[0], "mime_epilogue_exists") == 0) {
		int hit = 0;

		if (m->mime == NULL)
			mime_parse(m);
		if (m->mime != NULL)
			mime_walk(m->mime, epilogue_cb, &hit);
		return hit;
	}
	/* missing_mime_headers and missing_mime_head_body_separator need
	 * facts the MIME parser does not keep */
	return -1;
}

/* ---- BodyEval ---- */

static int
ev_check_body_length(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	struct msg *m = sm_msg(sm);
	size_t bl;

	(void)st;
	if (n < 1)
		return 0;
	/* pristine_body_length: the body as received */
	bl = m->len > m->body_off ? m->len - m->body_off : 0;
	return (double)bl <= num(a[0]);
}

static int
ev_tvd_vertical_words(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct span *lines;
	size_t nl, i, k;
	long best = -1;
	double min, max;

	(void)st;
	if (n < 2)
		return 0;
	min = num(a[0]);
	max = num(a[1]);
	if (max >= 100)
		max = 101;
	nl = sm_body(sm, &lines);
	for (i = 0; i < nl; i++) {
		size_t l = lines[i].len, sp = 0, nsp;
		long pct;

		if (l <= 5)
			continue;
		for (k = 0; k < l; k++)
			if (lines[i].p[k] == ' ')
				sp++;
		nsp = l - sp;
		if (sp > nsp || nsp == 0)
			pct = 100;
		else
			pct = (long)(100 * sp / nsp);
		if (pct > best)
			best = pct;
	}
	return best >= min && best < max;
}

static int
ev_check_blank_line_ratio(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	const struct span *ch;
	size_t nc, i, k, nlines = 0, blank = 0;
	double min, max, r;
	long minlines = 1;

	(void)st;
	if (n < 2)
		return 0;
	min = num(a[0]);
	max = num(a[1]);
	if (n >= 3 && num(a[2]) >= 1)
		minlines = (long)num(a[2]);
	nc = sm_rawbody(sm, &ch);
	for (i = 0; i < nc; i++) {
		/* split(/^/m, $chunk, -1) */
		const char *p = ch[i].p, *end = ch[i].p + ch[i].len;
		int nonspace = 0;

		if (ch[i].len == 0) {
			nlines++;
			blank++;
			continue;
		}
		for (k = 0; p + k < end; k++) {
			if (!isspace((unsigned char)p[k]))
				nonspace = 1;
			if (p[k] == '\n' || p + k + 1 == end) {
				nlines++;
				if (!nonspace)
					blank++;
				nonspace = 0;
			}
		}
	}
	r = (long)nlines < minlines ? -1 : 100.0 * (double)blank /
	    (double)nlines;
	return (min == 0 && r <= max) || (r > min && r <= max);
}

/* multipart_alternative_difference: how many of the HTML alternative's
 * words the text alternative lacks (a word table per part). */
#define EV_MAX_WORDS	20000	/* distinct words counted per part */

struct wtab {
	const char **w;
	unsigned *cnt;
	size_t cap, n;
};

static void
wtab_init(struct arena *a, struct wtab *t)
{
	t->cap = 1024;
	t->n = 0;
	t->w = arena_allocarray(a, t->cap, sizeof(*t->w));
	t->cnt = arena_allocarray(a, t->cap, sizeof(*t->cnt));
	memset(t->w, 0, t->cap * sizeof(*t->w));
}

static size_t
wtab_slot(const struct wtab *t, const char *w)
{
	size_t i;

	for (i = str_hash(w) & (t->cap - 1); t->w[i] != NULL &&
	    strcmp(t->w[i], w) != 0; i = (i + 1) & (t->cap - 1))
		;
	return i;
}

static void
wtab_add(struct arena *a, struct wtab *t, const char *w)
{
	size_t i;

	if (t->n >= EV_MAX_WORDS)
		return;
	if ((t->n + 1) * 2 > t->cap) {
		struct wtab g;
		size_t k;

		g.cap = t->cap * 2;
		g.n = t->n;
		g.w = arena_allocarray(a, g.cap, sizeof(*g.w));
		g.cnt = arena_allocarray(a, g.cap, sizeof(*g.cnt));
		memset(g.w, 0, g.cap * sizeof(*g.w));
		for (k = 0; k < t->cap; k++)
			if (t->w[k] != NULL) {
				size_t j = wtab_slot(&g, t->w[k]);

				g.w[j] = t->w[k];
				g.cnt[j] = t->cnt[k];
			}
		*t = g;
	}
	i = wtab_slot(t, w);
	if (t->w[i] == NULL) {
		t->w[i] = w;
		t->cnt[i] = 0;
		t->n++;
	}
	t->cnt[i]++;
}

/* grep(/\w/, split(/\s+/, $text)) into t */
static void
words(struct arena *a, struct wtab *t, const char *p, size_t n)
{
	size_t i = 0, s;

	while (i < n) {
		int wc = 0;

		while (i < n && isspace((unsigned char)p[i]))
			i++;
		s = i;
		while (i < n && !isspace((unsigned char)p[i])) {
			unsigned char c = (unsigned char)p[i];

			if (isalnum(c) || c == '_' || c >= 0x80)
				wc = 1;
			i++;
		}
		if (i > s && wc)
			wtab_add(a, t, arena_strndup(a, p + s, i - s));
	}
}

struct madiff {
	struct arena *a;
	double diff;		/* madiff */
	size_t html, text;	/* madiff_html, madiff_text */
	struct wtab ht, tt;	/* words of the current alternative */
	int img;
	const struct mime_part *ma;
};

static int
madiff_leaf(struct mime_part *p, void *arg)
{
	struct madiff *d = arg;
	const char *ct = p->ctype.value != NULL ? p->ctype.value : "text/plain";
	struct buf dec = BUF_INIT;

	if (p->children != NULL || strncmp(ct, "text", 4) != 0)
		return 0;
	mime_decode(p, &dec);
	if (strcmp(ct, "text/html") == 0) {
		struct buf txt = BUF_INIT;
		struct sm_html h;

		memset(&h, 0, sizeof(h));
		html_render(d->a, dec.data != NULL ? dec.data : "", dec.len,
		    &txt, &h);
		words(d->a, &d->ht, txt.data != NULL ? txt.data : "", txt.len);
		if (d->ht.n == 0 && sm_html_inside(&h, "img") >= 0)
			wtab_add(d->a, &d->ht, "\n");
		buf_free(&txt);
	} else
		words(d->a, &d->tt, dec.data != NULL ? dec.data : "", dec.len);
	buf_free(&dec);
	return 0;
}

static int
madiff_ma(struct mime_part *p, void *arg)
{
	struct madiff *d = arg;
	size_t k, orig, left = 0;
	double diff;

	if (p->ctype.value == NULL ||
	    strcmp(p->ctype.value, "multipart/alternative") != 0)
		return 0;
	wtab_init(d->a, &d->ht);
	wtab_init(d->a, &d->tt);
	mime_walk(p, madiff_leaf, d);
	if ((orig = d->ht.n) == 0)
		return 0;
	d->html = orig;
	d->text = d->tt.n;
	for (k = 0; k < d->ht.cap; k++) {
		size_t j;

		if (d->ht.w[k] == NULL)
			continue;
		j = wtab_slot(&d->tt, d->ht.w[k]);
		if (d->tt.w[j] != NULL &&
		    (long)d->ht.cnt[k] - (long)d->tt.cnt[j] < 1)
			continue;	/* deleted */
		left++;
	}
	diff = (double)left / (double)orig * 100;
	if (diff > d->diff)
		d->diff = diff;
	return 0;
}

static void madiff_compute(struct score_msg *sm, struct madiff *d);

/* The facts once per message: MPART_ALT_DIFF and _COUNT both ask. */
static void
madiff(struct score_msg *sm, struct madiff *d)
{
	struct evcache *c = cache_of(sm);

	if (c != NULL && c->madiff_done) {
		memset(d, 0, sizeof(*d));
		d->diff = c->madiff_diff;
		d->html = c->madiff_html;
		d->text = c->madiff_text;
		return;
	}
	madiff_compute(sm, d);
	if (c != NULL) {
		c->madiff_diff = d->diff;
		c->madiff_html = d->html;
		c->madiff_text = d->text;
		c->madiff_done = 1;
	}
}

static void
madiff_compute(struct score_msg *sm, struct madiff *d)
{
	struct msg *m = sm_msg(sm);
	const struct mime_part *r;

	memset(d, 0, sizeof(*d));
	d->a = sm_arena(sm);
	if (m->mime == NULL)
		mime_parse(m);
	if ((r = m->mime) == NULL)
		return;
	/* content_summary multipart/alternative, text/html, text/calendar */
	if (r->ctype.value != NULL &&
	    strcmp(r->ctype.value, "multipart/alternative") == 0 &&
	    r->children != NULL && r->children->next != NULL &&
	    r->children->next->next == NULL &&
	    r->children->children == NULL &&
	    r->children->next->children == NULL &&
	    r->children->ctype.value != NULL &&
	    r->children->next->ctype.value != NULL &&
	    strcmp(r->children->ctype.value, "text/html") == 0 &&
	    strcmp(r->children->next->ctype.value, "text/calendar") == 0)
		return;
	mime_walk(m->mime, madiff_ma, d);
}

static int
ev_multipart_alternative_difference(struct score_msg *sm,
    const char *const *a, size_t n, void *st)
{
	struct madiff d;
	double min;

	(void)st;
	if (n < 2)
		return 0;
	madiff(sm, &d);
	min = num(a[0]);
	return (min == 0 || d.diff > min) && (is_undef(a[1]) ||
	    d.diff <= num(a[1]));
}

static int
ev_multipart_alternative_difference_count(struct score_msg *sm,
    const char *const *a, size_t n, void *st)
{
	struct madiff d;

	(void)st;
	if (n < 2)
		return 0;
	madiff(sm, &d);
	if (!((double)d.html > num(a[1])))
		return 0;
	return (double)d.text / (double)d.html > num(a[0]);
}

/* ---- HeaderEval ---- */

/* Util.pm parse_rfc822_date. -1 when it cannot be parsed. */
static const char *const months[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
	"nov", "dec",
};

static const struct { const char *name; int off; } tzs[] = {
	{ "UT", 0 }, { "UTC", 0 }, { "NDT", -230 }, { "AST", -400 },
	{ "ADT", -300 }, { "NST", -330 }, { "EST", -500 }, { "EDT", -400 },
	{ "CST", -600 }, { "CDT", -500 }, { "MST", -700 }, { "MDT", -600 },
	{ "PST", -800 }, { "PDT", -700 }, { "HST", -1000 }, { "AKST", -900 },
	{ "AKDT", -800 }, { "HADT", -900 }, { "HAST", -1000 }, { "GMT", 0 },
	{ "BST", 100 }, { "IST", 100 }, { "WET", 0 }, { "WEST", 100 },
	{ "CET", 100 }, { "CEST", 200 }, { "EET", 200 }, { "EEST", 300 },
	{ "MSK", 300 }, { "MSD", 400 }, { "MET", 100 }, { "MEZ", 100 },
	{ "MEST", 200 }, { "MESZ", 200 }, { "BRST", -200 }, { "BRT", -300 },
	{ "AEST", 1000 }, { "AEDT", 1100 }, { "ACST", 930 }, { "ACDT", 1030 },
	{ "AWST", 800 }, { "NZST", 1200 }, { "NZDT", 1300 }, { "JST", 900 },
	{ "KST", 900 }, { "HKT", 800 }, { "SGT", 800 }, { "PHT", 800 },
	{ "IDT", 300 },
};

#define EV_MAX_DATE	512	/* bytes of a date string considered */
#define EV_MAX_TOKS	64	/* words of a date string */

static int
month_of(const char *w)
{
	int i;

	if (strlen(w) != 3)
		return -1;
	for (i = 0; i < 12; i++)
		if (strcasecmp(w, months[i]) == 0)
			return i + 1;
	return -1;
}

static int
all_digits(const char *w, size_t min, size_t max)
{
	size_t l = strlen(w);

	return l >= min && l <= max && strspn(w, "0123456789") == l;
}

static long
days_from_civil(long y, unsigned m, unsigned d)
{
	long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

static int
parse_rfc822_date(const char *date, long *t_out)
{
	char b[EV_MAX_DATE];
	char *tok[EV_MAX_TOKS];
	int used[EV_MAX_TOKS];
	size_t nt = 0, i, o = 0;
	long yyyy = -1, dd = 0, mon = 0, hh = 0, mm = 0, ss = 0, t;
	int tzoff = 0, have_tz = 0, ylen = 0, found = 0;
	char *s, *save = NULL;

	/* " $date ": commas and whitespace runs become one space */
	for (i = 0; date[i] != '\0' && o + 2 < sizeof(b); i++) {
		char c = date[i];

		if (c == ',' || isspace((unsigned char)c))
			c = ' ';
		b[o++] = c;
	}
	b[o] = '\0';
	for (s = strtok_r(b, " ", &save); s != NULL && nt < EV_MAX_TOKS;
	    s = strtok_r(NULL, " ", &save)) {
		used[nt] = 0;
		tok[nt++] = s;
	}
	/* / (\d+) (Mon) (\d{4}) / first, then / (Mon) +(\d+) \d+:\d+:\d+
	 * (\d{4}) /, then / (\d+) (Mon) (\d{2,3}) / */
	for (i = 0; i + 2 < nt && !found; i++)
		if (all_digits(tok[i], 1, 64) && month_of(tok[i + 1]) > 0 &&
		    all_digits(tok[i + 2], 4, 4)) {
			dd = atol(tok[i]);
			mon = month_of(tok[i + 1]);
			yyyy = atol(tok[i + 2]);
			ylen = 4;
			used[i] = used[i + 1] = used[i + 2] = 1;
			found = 1;
		}
	for (i = 0; i + 3 < nt && !found; i++) {
		unsigned h, m2, s2;
		char x;

		if (month_of(tok[i]) > 0 && all_digits(tok[i + 1], 1, 64) &&
		    sscanf(tok[i + 2], "%u:%u:%u%c", &h, &m2, &s2, &x) == 3 &&
		    all_digits(tok[i + 3], 4, 4)) {
			dd = atol(tok[i + 1]);
			mon = month_of(tok[i]);
			yyyy = atol(tok[i + 3]);
			ylen = 4;
			used[i] = used[i + 1] = used[i + 3] = 1;
			found = 1;
		}
	}
	for (i = 0; i + 2 < nt && !found; i++)
		if (all_digits(tok[i], 1, 64) && month_of(tok[i + 1]) > 0 &&
		    all_digits(tok[i + 2], 2, 3)) {
			dd = atol(tok[i]);
			mon = month_of(tok[i + 1]);
			yyyy = atol(tok[i + 2]);
			ylen = (int)strlen(tok[i + 2]);
			used[i] = used[i + 1] = used[i + 2] = 1;
			found = 1;
		}
	if (!found)
		return -1;
	if (ylen == 2 && yyyy < 50)
		yyyy += 2000;
	else if (ylen != 4)
		yyyy += 1900;
	/* / (\d?\d):(\d\d)(:(\d\d))? / */
	for (i = 0; i < nt; i++) {
		const char *w = tok[i];
		size_t l = strlen(w);

		if (used[i])
			continue;
		if ((l == 4 || l == 5 || l == 7 || l == 8) &&
		    isdigit((unsigned char)w[0])) {
			size_t c = isdigit((unsigned char)w[1]) ? 2 : 1;

			if (w[c] != ':' || !isdigit((unsigned char)w[c + 1]) ||
			    !isdigit((unsigned char)w[c + 2]))
				continue;
			if (l == c + 3) {
				hh = atol(w);
				mm = atol(w + c + 1);
				ss = 0;
			} else if (l == c + 6 && w[c + 3] == ':' &&
			    isdigit((unsigned char)w[c + 4]) &&
			    isdigit((unsigned char)w[c + 5])) {
				hh = atol(w);
				mm = atol(w + c + 1);
				ss = atol(w + c + 4);
			} else
				continue;
			used[i] = 1;
			break;
		}
	}
	/* / ([-+]\d{4}) / or a known zone name */
	for (i = 0; i < nt && !have_tz; i++)
		if (!used[i] && (tok[i][0] == '+' || tok[i][0] == '-') &&
		    all_digits(tok[i] + 1, 4, 4)) {
			int v = atoi(tok[i] + 1);

			tzoff = tok[i][0] == '-' ? -v : v;
			have_tz = 1;
		}
	for (i = 0; i < nt && !have_tz; i++) {
		/* \b([A-Z]{2,4}(?:-DST)?)\b: the first such word decides */
		const char *w = tok[i];
		size_t k, l = strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");

		if (used[i] || l < 2 || l > 4 || isalnum((unsigned char)w[l]))
			continue;
		for (k = 0; k < sizeof(tzs) / sizeof(tzs[0]); k++)
			if (strlen(tzs[k].name) == l &&
			    strncmp(tzs[k].name, w, l) == 0) {
				tzoff = tzs[k].off;
				have_tz = 1;
			}
		break;
	}
	if (ss > 59)
		ss = 59;
	if (mm > 59)
		mm = 59;
	if (hh > 23)
		hh = 23;
	{
		long max_dd = 31;

		if (mon == 4 || mon == 6 || mon == 9 || mon == 11)
			max_dd = 30;
		else if (mon == 2)
			max_dd = (!(yyyy % 4) && ((yyyy % 100) ||
			    !(yyyy % 400))) ? 29 : 28;
		if (dd > max_dd) {
			dd = 1;
			if (++mon > 12) {
				mon = 1;
				yyyy++;
			}
		}
	}
	if (yyyy > 2037)
		yyyy = 2037;
	else if (yyyy < 1970)
		yyyy = 1970;
	if (dd < 1)
		return -1;	/* timegm croaks on day 0 */
	t = days_from_civil(yyyy, (unsigned)mon, (unsigned)dd) * 86400 +
	    hh * 3600 + mm * 60 + ss;
	{
		long off = ((labs(tzoff) / 100) * 60 + labs(tzoff) % 100) * 60;

		if (tzoff < 0)
			t += off;
		else if (t < off)
			t = 0;
		else
			t -= off;
	}
	*t_out = t;
	return 0;
}

/* The Received: date /(\s.?\d+ \S\S\S \d+ \d+:\d+:\d+ \S+)/. */
static int
rcvd_date(const char *l, size_t n, long *t_out)
{
	size_t i;
	char tmp[EV_MAX_DATE];

	for (i = 0; i + 1 < n; i++) {
		size_t k = i + 1, s, c;
		unsigned d1, d2, d3;

		if (!isspace((unsigned char)l[i]))
			continue;
		/* .?\d+ */
		s = k;
		if (k < n && !isdigit((unsigned char)l[k]) && l[k] != '\n')
			k++;
		if (k >= n || !isdigit((unsigned char)l[k])) {
			k = s;
			if (k >= n || !isdigit((unsigned char)l[k]))
				continue;
		}
		while (k < n && isdigit((unsigned char)l[k]))
			k++;
		if (k + 5 > n || l[k] != ' ' || isspace((unsigned char)l[k + 1])
		    || isspace((unsigned char)l[k + 2]) ||
		    isspace((unsigned char)l[k + 3]) || l[k + 4] != ' ')
			continue;
		k += 5;
		c = k;
		while (k < n && isdigit((unsigned char)l[k]))
			k++;
		if (k == c || k >= n || l[k] != ' ')
			continue;
		k++;
		if (sscanf(l + k, "%u:%u:%u", &d1, &d2, &d3) != 3)
			continue;
		while (k < n && (isdigit((unsigned char)l[k]) || l[k] == ':'))
			k++;
		if (k >= n || l[k] != ' ' || k + 1 >= n ||
		    isspace((unsigned char)l[k + 1]))
			continue;
		k++;
		while (k < n && !isspace((unsigned char)l[k]))
			k++;
		if (k - i >= sizeof(tmp))
			continue;
		memcpy(tmp, l + i, k - i);
		tmp[k - i] = '\0';
		if (parse_rfc822_date(tmp, t_out) == 0)
			return 0;
		return -1;
	}
	return -1;
}

/* _check_date_diff: Date (or Resent-Date) minus the nearest Received:
 * time; 0 when either is missing. */
static long date_diff_compute(struct score_msg *sm);

static long
date_diff(struct score_msg *sm)
{
	struct evcache *c = cache_of(sm);

	if (c == NULL)
		return date_diff_compute(sm);
	if (!c->date_done) {
		c->date_diff = date_diff_compute(sm);
		c->date_done = 1;
	}
	return c->date_diff;
}

static long
date_diff_compute(struct score_msg *sm)
{
	struct msg *m = sm_msg(sm);
	static const char *const dh[] = { "Resent-Date", "Date" };
	long dt = 0, diffs[EV_MAX_RCVD], best;
	int have = 0;
	size_t i, k, nr = 0, nd = 0, ndiff;
	const char *rv, *lines[EV_MAX_RCVD];
	size_t lens[EV_MAX_RCVD];

	for (k = 0; k < 2 && !have; k++) {
		size_t c = hdr_count(m, dh[k]);

		for (i = 0; i < c && !have; i++) {
			const struct hdr *h = hdr_find(m, dh[k], (int)i);
			char *v;

			if (h == NULL)
				continue;
			v = hdr_unfold(sm_arena(sm), h->value);
			if (*v != '\0' && parse_rfc822_date(v, &dt) == 0)
				have = 1;
		}
	}
	if (!have)
		return 0;
	/* get('Received'): one line per field, newest first */
	rv = rcvd_get(sm, NULL);
	while (*rv != '\0' && nr < EV_MAX_RCVD) {
		const char *nl = strchr(rv, '\n');
		size_t l = nl != NULL ? (size_t)(nl - rv) : strlen(rv);

		for (k = 0; k < l; k++)
			if (!isspace((unsigned char)rv[k]))
				break;
		if (k < l) {
			lines[nr] = rv;
			lens[nr++] = l;
		}
		if (nl == NULL)
			break;
		rv = nl + 1;
	}
	{
		/* the local hop(s) of a fetchmail setup do not count */
		size_t first = 0;
		int local0 = 0;

		if (nr > 0) {
			char *l0 = arena_strndup(sm_arena(sm), lines[0],
			    lens[0]);

			if (re_fixed(2, l0, lens[0]) == 1
			    || re_fixed(3,
			    l0, lens[0]) == 1)
				local0 = 1;
		}
		if (local0)
			first = 1;
		if (first < nr) {
			char *l1 = arena_strndup(sm_arena(sm), lines[first],
			    lens[first]);

			if (re_fixed(4, l1, lens[first]) == 1)
				first++;
			else if (local0)
				first = 0;	/* unshift it back */
		}
		for (i = first; i < nr; i++) {
			long t;

			if (rcvd_date(lines[i], lens[i], &t) == 0)
				diffs[nd++] = dt - t;
		}
	}
	if (nd == 0)
		return 0;
	ndiff = nd;
	if (ndiff > 1 && diffs[ndiff - 1] == 0)
		ndiff--;
	best = diffs[0];
	for (i = 1; i < ndiff; i++)
		if (labs(diffs[i]) < labs(best))
			best = diffs[i];
	return best;
}

static int
ev_check_for_shifted_date(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	double d;

	(void)st;
	if (n < 2)
		return 0;
	d = (double)date_diff(sm);
	return (is_undef(a[0]) || d >= 3600 * num(a[0])) &&
	    (is_undef(a[1]) || d < 3600 * num(a[1]));
}

static int
ev_check_for_missing_to_header(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	size_t l;

	(void)a;
	(void)n;
	(void)st;
	get(sm, "To", &l);
	if (l == 0)
		get(sm, "Apparently-To", &l);
	return l == 0;
}

static int
valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0, k, need;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			need = 1;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			need = 2;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			need = 3;
		else
			return 0;
		if (i + need >= n)
			return 0;
		for (k = 1; k <= need; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		i += need + 1;
	}
	return 1;
}

static int
ev_check_illegal_chars(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	char name[MSG_MAX_NAME + 8];
	const unsigned char *s;
	size_t len, i, ill = 0, exempt = 0, ctl = 0, hi = 0;
	int nonsp = 0;

	(void)st;
	if (n < 3 || strlen(a[0]) > MSG_MAX_NAME)
		return 0;
	{
		size_t l = strlen(a[0]);

		if (buf_fmt(name, sizeof(name), "%s%s", a[0], l >= 4 &&
		    strcmp(a[0] + l - 4, ":raw") == 0 ? "" : ":raw") == -1)
			return 0;
	}
	s = (const unsigned char *)get(sm, name, &len);
	for (i = 0; i < len; i++) {
		if (!isspace(s[i]))
			nonsp = 1;
		if (s[i] >= 0x80)
			hi++;
		if (s[i] <= 0x08 || s[i] == 0x0b || s[i] == 0x0c ||
		    (s[i] >= 0x0e && s[i] <= 0x1f))
			ctl++;
		if (s[i] <= 0x08 || s[i] == 0x0b || s[i] == 0x0c ||
		    (s[i] >= 0x0e && s[i] <= 0x1f) || s[i] >= 0x7f)
			ill++;
		if (s[i] == 0xa2 || s[i] == 0xa3 || s[i] == 0xae)
			exempt++;
	}
	if (!nonsp)
		return 0;
	if (hi > 0 && valid_utf8(s, len) && ctl == 0)
		return 0;
	if (ill > 0 && strcasecmp(name, "subject:raw") == 0 && exempt == 1)
		ill--;
	return (double)ill / (double)len >= num(a[1]) &&
	    (double)ill >= num(a[2]);
}

static int
ev_check_for_matching_env_and_hdr_from(struct score_msg *sm,
    const char *const *a, size_t n, void *st)
{
	(void)a;
	(void)n;
	(void)st;
	return strcasecmp(get_first(sm, "EnvelopeFrom:addr"),
	    get_first(sm, "From:addr")) == 0;
}

static int
ev_subject_is_all_caps(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const char *subj = get(sm, "Subject", NULL), *raw;
	size_t b, e, i, letters = 0;
	int ws = 0;
	char *s;

	(void)a;
	(void)n;
	(void)st;
	b = 0;
	e = strlen(subj);
	while (b < e && isspace((unsigned char)subj[b]))
		b++;
	while (e > b && isspace((unsigned char)subj[e - 1]))
		e--;
	s = arena_strndup(sm_arena(sm), subj + b, e - b);
	/* s/^(?:(?:Re|Fwd|Fw|Aw|Antwort|WG|SV|VB|VS|VL):\s*)+//i */
	for (;;) {
		static const char *const pfx[] = { "re", "fwd", "fw", "aw",
		    "antwort", "wg", "sv", "vb", "vs", "vl", NULL };
		int hit = 0;

		for (i = 0; pfx[i] != NULL && !hit; i++) {
			size_t pl = strlen(pfx[i]);

			if (strncasecmp(s, pfx[i], pl) == 0 && s[pl] == ':') {
				s += pl + 1;
				while (isspace((unsigned char)*s))
					s++;
				hit = 1;
			}
		}
		if (!hit)
			break;
	}
	for (i = 0; s[i] != '\0'; i++)
		if (isspace((unsigned char)s[i]))
			ws = 1;
	if (!ws || u8len(s, strlen(s)) < 10)
		return 0;
	raw = get(sm, "Subject:raw", NULL);
	{
		const char *q = raw;

		while ((q = strstr(q, "=?")) != NULL) {
			const char *end = strchr(q + 2, '?');

			if (end != NULL && end > q + 2) {
				char cs[128];
				size_t cl = (size_t)(end - q - 2);

				if (cl < sizeof(cs)) {
					memcpy(cs, q + 2, cl);
					cs[cl] = '\0';
					if (charset_fp(cs))
						return 0;
				}
			}
			q += 2;
		}
	}
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			return 0;
		if (s[i] >= 'A' && s[i] <= 'Z')
			letters++;
	}
	return letters > 0;
}

static int
ev_gated_through_received_hdr_remover(struct score_msg *sm,
    const char *const *a, size_t n, void *st)
{
	const char *txt, *r;

	(void)a;
	(void)n;
	(void)st;
	if (exists(sm, "Mailing-List")) {
		txt = get(sm, "Mailing-List", NULL);
		if (re_fixed(5,
		    txt, strlen(txt)) == 1) {
			const char *dl = get(sm, "Delivered-To", NULL);

			r = rcvd_get(sm, NULL);
			if (re_fixed(6, dl,
			    strlen(dl)) == 1 && re_fixed(7,
			    r, strlen(r)) == 1)
				return 1;
		}
	}
	if (!rcvd_exists(sm))
		return 1;
	r = rcvd_get(sm, NULL);
	return re_fixed(8, r,
	    strlen(r)) == 1;
}

static int
ev_check_for_to_in_subject(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	const char *to, *subj;
	char *q, *re;
	size_t i, o;
	int r;

	(void)st;
	if (n < 1)
		return 0;
	to = get_first(sm, "To:addr");
	if (*to == '\0')
		return 0;
	subj = get(sm, "Subject", NULL);
	/* \Q...\E of the address (or user) */
	q = arena_alloc(sm_arena(sm), strlen(to) * 2 + 1);
	if (strcmp(a[0], "user") == 0) {
		const char *at = strchr(to, '@');

		to = arena_strndup(sm_arena(sm), to, at != NULL ?
		    (size_t)(at - to) : strlen(to));
	} else if (strcmp(a[0], "address") != 0)
		return 0;
	/* every alternative of the pattern below holds the address (or
	 * user) literally, caseless: without it there is nothing to
	 * compile */
	if (stristr(subj, to) == NULL)
		return 0;
	for (i = o = 0; to[i] != '\0'; i++) {
		if (!isalnum((unsigned char)to[i]) && to[i] != '_')
			q[o++] = '\\';
		q[o++] = to[i];
	}
	q[o] = '\0';
	re = arena_alloc(sm_arena(sm), 4 * o + 128);
	if (strcmp(a[0], "address") == 0)
		buf_fmt(re, 4 * o + 128, "\\b%s\\b", q);
	else
		buf_fmt(re, 4 * o + 128, "^(?:(?:re|fw):\\s*(?:\\w+\\s+)?%s$"
		    "|(?-i:%s)\\s*[,:;!?-](?:$|\\s)|%s$|,\\s*%s[,:;!?-]$)",
		    q, q, q, q);
	r = re_match(re, 1, subj, strlen(subj));
	return r == 1;
}

static int
ev_check_ratware_name_id(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	const char *mid = get(sm, "MESSAGEID", NULL);
	const char *from = get(sm, "From", NULL), *p;

	(void)a;
	(void)n;
	(void)st;
	/* <[A-Z]{28}\.([^>]+?)> then "..." <\1> in From */
	for (p = mid; (p = strchr(p, '<')) != NULL; p++) {
		const char *s = p + 1, *gt;
		char *want, *pat;
		size_t k, wl;

		for (k = 0; k < 28 && s[k] >= 'A' && s[k] <= 'Z'; k++)
			;
		if (k < 28 || s[28] != '.')
			continue;
		gt = strchr(s + 29, '>');
		if (gt == NULL || gt == s + 29)
			continue;
		wl = (size_t)(gt - (s + 29));
		want = arena_strndup(sm_arena(sm), s + 29, wl);
		pat = arena_alloc(sm_arena(sm), wl + 3);
		buf_fmt(pat, wl + 3, "<%s>", want);
		{
			const char *q = strstr(from, pat);

			/* \"[^\"]+\"\s*<addr> */
			if (q != NULL) {
				const char *b = q;

				while (b > from &&
				    isspace((unsigned char)b[-1]))
					b--;
				if (b > from && b[-1] == '"') {
					const char *c = b - 1;

					while (c > from && c[-1] != '"')
						c--;
					if (c > from && c < b - 1)
						return 1;
				}
			}
		}
		return 0;
	}
	return 0;
}

static int
ev_check_outlook_message_id(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	const char *id = get(sm, "MESSAGEID", NULL), *d, *r;
	char hex[9];
	unsigned long tok;
	long t = 0;
	double x = 0.0023283064365387, y = 27111902.8329849;
	long exp, fudge = 250;
	size_t k;

	(void)a;
	(void)n;
	(void)st;
	/* ^<[0-9a-f]{4}([0-9a-f]{8})\$[0-9a-f]{8}\$[0-9a-f]{8}\@ */
	if (id[0] != '<' || strspn(id + 1, "0123456789abcdef") < 12 ||
	    id[13] != '$' || strspn(id + 14, "0123456789abcdef") < 8 ||
	    id[22] != '$' || strspn(id + 23, "0123456789abcdef") < 8 ||
	    id[31] != '@')
		return 0;
	for (k = 0; k < 8; k++)
		hex[k] = id[5 + k];
	hex[8] = '\0';
	tok = strtoul(hex, NULL, 16);
	d = get(sm, "Date", NULL);
	if (parse_rfc822_date(d, &t) == -1)
		t = 0;
	exp = (long)(t * x + y);
	if (labs((long)tok - exp) < fudge)
		return 0;
	r = rcvd_get(sm, NULL);
	t = 0;
	if (rcvd_date(r, strlen(r), &t) == -1)
		t = 0;
	exp = (long)(t * x + y);
	return labs((long)tok - exp) >= fudge;
}

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

/* s/^.+\.([^\.]+\.[^\.]+)$/$1/ */
static const char *
last2(const char *d)
{
	const char *p = d + strlen(d);
	int dots = 0;

	while (p > d) {
		p--;
		if (*p == '.' && ++dots == 2)
			return p > d ? p + 1 : d;
	}
	return d;
}

static int
ev_check_equal_from_domains(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	const char *f = get_first(sm, "From:addr");
	const char *e = get_first(sm, "EnvelopeFrom:addr");
	const char *fd, *ed;

	(void)a;
	(void)n;
	(void)st;
	if (strchr(f, '@') == NULL || strchr(e, '@') == NULL)
		return 0;
	fd = last2(domain_of(f));
	ed = last2(domain_of(e));
	if (*fd == '\0' || *ed == '\0')
		return 0;
	return strcasecmp(fd, ed) != 0;
}

static int
ev_check_unresolved_template(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	const struct msg *m = sm_msg(sm);
	const char *all, *l;
	size_t i;
	int maybe = 0;

	(void)a;
	(void)n;
	(void)st;
	/* decoding only adds "%X" through encoded words: without either in
	 * the raw header block there is nothing to find */
	for (i = 0; i + 1 < m->head_len && !maybe; i++)
		if ((m->head[i] == '%' && m->head[i + 1] >= 'A' &&
		    m->head[i + 1] <= 'Z') ||
		    (m->head[i] == '=' && m->head[i + 1] == '?'))
			maybe = 1;
	if (!maybe)
		return 0;
	all = get(sm, "ALL", NULL);
	l = all;
	while (*l != '\0') {
		const char *nl = strchr(l, '\n'), *p;
		size_t len = nl != NULL ? (size_t)(nl - l) : strlen(l);
		int hit = 0;

		for (p = l; p + 2 < l + len; p++)
			if (p[0] == '%' && p[1] >= 'A' && p[1] <= 'Z' &&
			    ((p[2] >= 'A' && p[2] <= 'Z') || p[2] == '_' ||
			    p[2] == '-')) {
				hit = 1;
				break;
			}
		if (hit) {
			char *line = arena_strndup(sm_arena(sm), l, len);

			if (re_fixed(9, line, len) != 1)
				return 1;
		}
		if (nl == NULL)
			break;
		l = nl + 1;
	}
	return 0;
}

static int
ev_check_header_count_range(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	struct msg *m = sm_msg(sm);
	size_t c, i, k, uniq = 0;
	char **seen;

	(void)st;
	if (n < 3)
		return 0;
	c = hdr_count(m, a[0]);
	seen = arena_allocarray(sm_arena(sm), c + 1, sizeof(*seen));
	for (i = 0; i < c; i++) {
		const struct hdr *h = hdr_find(m, a[0], (int)i);
		char *v;

		if (h == NULL)
			continue;
		v = hdr_decode(sm_arena(sm), h->value);
		for (k = 0; k < uniq; k++)
			if (strcmp(seen[k], v) == 0)
				break;
		if (k == uniq)
			seen[uniq++] = v;
	}
	return (double)uniq >= num(a[1]) && (double)uniq <= num(a[2]);
}

/* _check_recipients: tocc_sorted and tocc_similar. */
static void
recipients(struct score_msg *sm, int *sorted, double *similar)
{
	char *in[EV_TOCC_MAX], *ad[EV_TOCC_MAX];
	size_t nin, nad = 0, i, j;
	const char *prev = "";

	nin = get_list_lc(sm, "ToCc:addr", in, EV_TOCC_MAX);
	/* get() in list context keeps case: SpamAssassin compares lc */
	{
		const char *v = get(sm, "ToCc:addr", NULL);
		size_t k = 0;

		while (*v != '\0' && k < nin) {
			const char *nl = strchr(v, '\n');
			size_t l = nl != NULL ? (size_t)(nl - v) : strlen(v);

			in[k++] = arena_strndup(sm_arena(sm), v, l);
			if (nl == NULL)
				break;
			v = nl + 1;
		}
	}
	if (nin < EV_TOCC_SIMILAR_COUNT) {
		const char *v = get(sm, "Bcc:addr", NULL);

		while (*v != '\0' && nin < EV_TOCC_MAX) {
			const char *nl = strchr(v, '\n');
			size_t l = nl != NULL ? (size_t)(nl - v) : strlen(v);

			in[nin++] = arena_strndup(sm_arena(sm), v, l);
			if (nl == NULL)
				break;
			v = nl + 1;
		}
	}
	for (i = 0; i < nin && nad < EV_TOCC_MAX; i++) {
		if (*in[i] == '\0')
			break;	/* while (my $current = shift): '' ends it */
		if (strcasecmp(in[i], prev) != 0)
			ad[nad++] = in[i];
		prev = in[i];
	}
	*sorted = 0;
	if (nad >= EV_TOCC_SORTED_COUNT) {
		*sorted = 1;
		for (i = 1; i < nad; i++)
			if (strcmp(ad[i - 1], ad[i]) > 0)
				*sorted = 0;
	}
	*similar = 0;
	if (nad >= EV_TOCC_SIMILAR_COUNT) {
		unsigned long hits = 0, comb = 0;

		for (i = 0; i < nad; i++)
			for (j = i + 1; j < nad; j++) {
				const char *fi = strchr(ad[i], '@');
				const char *fj = strchr(ad[j], '@');

				if (strncmp(ad[i], ad[j],
				    EV_TOCC_SIMILAR_LENGTH) == 0)
					hits++;
				/* @fqhn = map { m/\@(.*)/ }: only addresses
				 * with "@" make entries; we pair by index */
				if (fi != NULL && fj != NULL &&
				    strncmp(fi + 1, fj + 1,
				    EV_TOCC_SIMILAR_LENGTH) == 0 &&
				    strcmp(fi + 1, fj + 1) != 0)
					hits++;
				comb++;
			}
		*similar = (double)hits / (double)comb;
	}
}

static int
ev_sorted_recipients(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	int sorted;
	double sim;

	(void)a;
	(void)n;
	(void)st;
	recipients(sm, &sorted, &sim);
	return sorted;
}

static int
ev_similar_recipients(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	int sorted;
	double sim;

	(void)st;
	if (n < 2)
		return 0;
	recipients(sm, &sorted, &sim);
	return (is_undef(a[0]) || sim >= num(a[0])) &&
	    (is_undef(a[1]) || sim < num(a[1]));
}

static int
ev_check_for_fake_aol_relay_in_rcvd(struct score_msg *sm,
    const char *const *a, size_t n, void *st)
{
	const char *r = rcvd_flat(sm, "Received");

	(void)a;
	(void)n;
	(void)st;
	if (re_fixed(10, r, strlen(r)) != 1)
		return 0;
	if (re_fixed(11, r, strlen(r)) == 1)
		return 0;
	if (re_fixed(12, r,
	    strlen(r)) == 1)
		return 0;
	return 1;
}

static int
ev_check_for_forged_gmail_received_headers(struct score_msg *sm,
    const char *const *a, size_t n, void *st)
{
	const char *from = get_first(sm, "From:addr");
	const char *xr, *r;
	size_t lgms, lss, fl = strlen(from);

	(void)a;
	(void)n;
	(void)st;
	/* /\bgmail\.com$/i */
	if (fl < 9 || strcasecmp(from + fl - 9, "gmail.com") != 0 ||
	    (fl > 9 && (isalnum((unsigned char)from[fl - 10]) ||
	    from[fl - 10] == '_')))
		return 0;
	get(sm, "X-Gm-Message-State", &lgms);
	get(sm, "X-Google-Smtp-Source", &lss);
	xr = get(sm, "X-Received", NULL);
	r = rcvd_get(sm, NULL);
	if (re_fixed(13, xr, strlen(xr)) == 1)
		return 0;
	if (re_fixed(14,
	    xr, strlen(xr)) == 1)
		return 0;
	if (re_fixed(15, r,
	    strlen(r)) == 1)
		return 0;
	/* the lengths include get()'s trailing newline, as in Perl */
	if (lgms >= 60 && lss >= 60)
		return 0;
	return 1;
}

/* ---- RelayEval ---- */

static void
relay_counts(struct score_msg *sm, size_t *trusted, size_t *untrusted)
{
	const struct sm_relay *r;
	size_t n = sm_relays(sm, &r), i;

	*trusted = *untrusted = 0;
	for (i = 0; i < n; i++) {
		if (r[i].intl)
			(*trusted)++;
		else
			(*untrusted)++;
	}
}

static int
ev_check_all_trusted(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	size_t t, u;

	(void)a;
	(void)n;
	(void)st;
	relay_counts(sm, &t, &u);
	return t > 0 && u == 0;
}

static int
ev_check_no_relays(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	size_t t, u;

	(void)a;
	(void)n;
	(void)st;
	relay_counts(sm, &t, &u);
	return t == 0 && u == 0;
}

/* IS_IPV4_ADDRESS (dotted quad, 0..255) */
static int
is_ipv4(const char *s)
{
	int parts;

	/* Constants.pm IS_IPV4_ADDRESS: four decimal octets 0-255, no
	 * leading zero ("08" is not an octet) */
	if (s == NULL)
		return 0;
	for (parts = 0; parts < 4; parts++) {
		unsigned v = 0;
		size_t d = 0;

		if (parts > 0 && *s++ != '.')
			return 0;
		while (s[d] >= '0' && s[d] <= '9' && d < 4)
			v = v * 10 + (unsigned)(s[d++] - '0');
		if (d == 0 || d > 3 || v > 255 || (d > 1 && s[0] == '0'))
			return 0;
		s += d;
	}
	return *s == '\0';
}

/* Constants.pm IP_PRIVATE, the IPv4 half */
static int
ip_private(const char *s)
{
	unsigned a, b;

	if (s == NULL || sscanf(s, "%u.%u", &a, &b) != 2)
		return 0;
	return a == 10 || a == 127 || (a == 169 && b == 254) ||
	    (a == 172 && b >= 16 && b <= 31) || (a == 192 && b == 168) ||
	    (a == 100 && b >= 64 && b <= 127);
}

static int
ev_helo_ip_mismatch(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct sm_relay *r;
	size_t nr = sm_relays(sm, &r), i;

	(void)a;
	(void)n;
	(void)st;
	for (i = 0; i < nr; i++) {
		const char *dot;
		size_t pl;

		if (r[i].intl || !is_ipv4(r[i].helo) || ip_private(r[i].helo))
			continue;
		if (!is_ipv4(r[i].ip) || ip_private(r[i].ip) ||
		    strcmp(r[i].helo, r[i].ip) == 0)
			continue;
		/* the helo's first three octets are not the ip's */
		dot = strrchr(r[i].helo, '.');
		pl = (size_t)(dot - r[i].helo) + 1;
		if (strncmp(r[i].ip, r[i].helo, pl) != 0)
			return 1;
	}
	return 0;
}

/* " by X( \(.+\))* with (.* )?(SMTP|QMQP)(?! id )" from w to e */
static int
qmail_with(const char *w, const char *e)
{
	const char *x, *q;

	w += 3;
	while (w < e && *w != ' ')
		w++;
	if ((size_t)(e - w) >= 6 && strncmp(w, " with ", 6) == 0)
		x = w;
	else if ((size_t)(e - w) >= 2 && strncmp(w, " (", 2) == 0 &&
	    (x = memmem(w, (size_t)(e - w), ") with ", 7)) != NULL)
		x++;
	else
		return 0;
	for (q = x + 5; q + 4 <= e; q++) {
		if (q[-1] != ' ' || (strncmp(q, "SMTP", 4) != 0 &&
		    strncmp(q, "QMQP", 4) != 0))
			continue;
		if (!((size_t)(e - q) >= 8 && strncmp(q + 4, " id ", 4) == 0))
			return 1;
	}
	return 0;
}

/*
 * Received.pm's sendmail forms "from W ([IP]) by X (" and "from W
 * ([IP]) ... by X " (mta_looked_up_dns = 1, no rdns), in one of the
 * Received: lines of v (one per line, unfolded), when no earlier
 * Received.pm branch claims the line: Exim's and Microsoft's (SMTPSVC)
 * layouts, which do not look DNS up, and qmail's "with SMTP|QMQP" without
 * " id ", which takes W as the rdns.
 */
static int
sendmail_no_rdns(const char *v, const char *ip)
{
	char pat[80];
	const char *q, *b, *e, *w;
	size_t pl;

	if (buf_fmt(pat, sizeof(pat), " ([%s]) ", ip) == -1)
		return 0;
	pl = strlen(pat);
	for (q = strstr(v, pat); q != NULL; q = strstr(q + 1, pat)) {
		for (b = q; b > v && b[-1] != '\n'; b--)
			;
		if ((e = strchr(q, '\n')) == NULL)
			e = q + strlen(q);
		/* "from W" right before, W one word */
		if (q - b < 6 || strncasecmp(b, "from ", 5) != 0 ||
		    memchr(b + 5, ' ', (size_t)(q - b - 5)) != NULL)
			continue;
		w = q + pl;	/* after " ([IP]) " */
		if (memmem(b, (size_t)(e - b), "Exim", 4) != NULL ||
		    memmem(b, (size_t)(e - b), " SMTPSVC", 8) != NULL ||
		    memmem(b, (size_t)(e - b), " (Lotus Domino ", 15) != NULL ||
		    memmem(w, (size_t)(e - w), "by ", 3) == NULL)
			continue;
		if (strncmp(w, "by ", 3) == 0 && qmail_with(w, e))
			continue;
		return 1;
	}
	return 0;
}

/*
 * Received.pm: "from unknown (HELO x) ((ident@)?[?IP]?) ... by Y " that
 * qmail's branch (" with SMTP|QMQP", no " id ") did not take first: rdns
 * "unknown", looked up.
 */
static int
qmail_unknown_no_rdns(const char *v, const char *ip)
{
	const char *b, *e, *c, *o, *x;
	size_t il = strlen(ip);

	for (b = v; *b != '\0'; b = *e != '\0' ? e + 1 : e) {
		if ((e = strchr(b, '\n')) == NULL)
			e = b + strlen(b);
		if (e - b < 19 || (strncmp(b, "from unknown (HELO ", 19) != 0 &&
		    strncmp(b, "from unknown (EHLO ", 19) != 0))
			continue;
		if ((c = memchr(b + 19, ')', (size_t)(e - b - 19))) == NULL ||
		    e - c < 3 || c[1] != ' ' || c[2] != '(')
			continue;
		o = c + 3;
		if ((x = memchr(o, ')', (size_t)(e - o))) == NULL)
			continue;
		if ((c = memchr(o, '@', (size_t)(x - o))) != NULL)
			o = c + 1;
		if (*o == '[')
			o++;
		if ((size_t)(x - o) < il || strncmp(o, ip, il) != 0 ||
		    !(o + il == x || (o[il] == ']' && o + il + 1 == x)))
			continue;
		if ((c = memmem(x, (size_t)(e - x), " by ", 4)) == NULL ||
		    memchr(c + 4, ' ', (size_t)(e - c - 4)) == NULL)
			continue;
		if (qmail_with(c + 1, e))
			continue;
		return 1;
	}
	return 0;
}

/*
 * Received.pm's no_reverse_dns: the rdns is empty and the MTA's format
 * shows that it looked the name up ("unknown [ip]", "unknown[ip]",
 * "@[ip]", sendmail's "from W ([ip]) ... by", qmail's "from unknown (HELO
 * x) (ip) by" outside its own branch). sm_relay does not carry the flag,
 * so the Received: field naming the relay's address is searched for
 * those forms. Received.pm knows more; a miss here is a missed hit.
 */
static int
no_reverse_dns(struct score_msg *sm, const char *ip)
{
	const char *v = rcvd_get(sm, NULL);
	char pat[3][80];
	size_t k;

	if (ip == NULL || *ip == '\0' ||
	    buf_fmt(pat[0], sizeof(pat[0]), "unknown [%s]", ip) == -1 ||
	    buf_fmt(pat[1], sizeof(pat[1]), "unknown[%s]", ip) == -1 ||
	    buf_fmt(pat[2], sizeof(pat[2]), "@[%s]", ip) == -1)
		return 0;
	for (k = 0; k < 3; k++)
		if (strstr(v, pat[k]) != NULL)
			return 1;
	return sendmail_no_rdns(v, ip) || qmail_unknown_no_rdns(v, ip);
}

/* _check_received_helos: the last untrusted, public relay with a helo
 * decides: a freemail-like helo without reverse DNS. */
static int
ev_check_for_no_rdns_dotcom_helo(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	static const char *const doms[] = {
		"lycos.com", "lycos.co.uk", "hotmail.com", "localhost.com",
		"excite.com", "caramail.com", "cs.com", "aol.com", "msn.com",
		"yahoo.com", "drizzle.com", NULL,
	};
	const struct sm_relay *r;
	size_t nr = sm_relays(sm, &r), i, k;
	int res = 0;

	(void)a;
	(void)n;
	(void)st;
	for (i = 0; i < nr; i++) {
		const char *h = r[i].helo;
		size_t hl;

		if (r[i].intl || ip_private(r[i].ip) || h == NULL)
			continue;
		res = 0;
		hl = strlen(h);
		for (k = 0; doms[k] != NULL; k++) {
			size_t dl = strlen(doms[k]);

			if (hl >= dl && strcasecmp(h + hl - dl, doms[k]) == 0 &&
			    (hl == dl || h[hl - dl - 1] == '.') &&
			    (r[i].rdns == NULL || *r[i].rdns == '\0') &&
			    no_reverse_dns(sm, r[i].ip))
				res = 1;
		}
	}
	return res;
}

/* get('Received'), computed once per message (about ten evals read it).
 * Arena-owned. */
static const char *
rcvd_get(struct score_msg *sm, size_t *len_out)
{
	struct evcache *c = cache_of(sm);
	struct buf b = BUF_INIT;
	const char *v;
	size_t l;
	int ex;

	if (c != NULL && c->rcvd != NULL) {
		if (len_out != NULL)
			*len_out = c->rcvd_len;
		return c->rcvd;
	}
	ex = sm_header(sm, "Received", 0, &b);
	l = b.len;
	v = arena_strndup(sm_arena(sm), b.data != NULL ? b.data : "", l);
	buf_free(&b);
	if (c != NULL) {
		c->rcvd = v;
		c->rcvd_len = l;
		c->rcvd_exists = ex;
	}
	if (len_out != NULL)
		*len_out = l;
	return v;
}

/* exists('Received') */
static int
rcvd_exists(struct score_msg *sm)
{
	struct evcache *c = cache_of(sm);

	if (c == NULL)
		return exists(sm, "Received");
	(void)rcvd_get(sm, NULL);
	return c->rcvd_exists;
}

/* Received: fields joined, whitespace runs as one space; for "Received"
 * itself computed once per message. Arena-owned. */
static const char *
rcvd_flat(struct score_msg *sm, const char *name)
{
	struct evcache *c = NULL;
	const char *v;
	char *o;
	size_t i, k = 0;

	if (strcmp(name, "Received") == 0) {
		c = cache_of(sm);
		if (c != NULL && c->rcvd_flat != NULL)
			return c->rcvd_flat;
		v = rcvd_get(sm, NULL);
	} else
		v = get(sm, name, NULL);
	o = arena_alloc(sm_arena(sm), strlen(v) + 1);

	for (i = 0; v[i] != '\0'; i++) {
		if (isspace((unsigned char)v[i])) {
			if (k == 0 || o[k - 1] != ' ')
				o[k++] = ' ';
		} else
			o[k++] = v[i];
	}
	o[k] = '\0';
	if (c != NULL)
		c->rcvd_flat = o;
	return o;
}


static int
msn_groups(struct score_msg *sm)
{
	const char *to = get(sm, "To", NULL);
	const char *r = rcvd_get(sm, NULL);

	/* the notifications/list checks need captures; any groups.msn.com
	 * list mail with the pickup service Received counts */
	return re_fixed(16, to,
	    strlen(to)) == 1 && re_fixed(17, r, strlen(r)) == 1;
}

static int
ev_check_for_no_hotmail_received_headers(struct score_msg *sm,
    const char *const *a, size_t n, void *st)
{
	const char *rc, *from, *ipv, *orgv;
	int ip, org;
	size_t rl, fl;

	(void)a;
	(void)n;
	(void)st;
	/* every way out but the last answers 0, and the last needs a
	 * hotmail.com From: so look at that first (it is cheap) */
	from = get_first(sm, "From:addr");
	fl = strlen(from);
	if (!(fl >= 11 && strcasecmp(from + fl - 11, "hotmail.com") == 0 &&
	    (fl == 11 || !(isalnum((unsigned char)from[fl - 12]) ||
	    from[fl - 12] == '_'))))
		return 0;
	rc = rcvd_flat(sm, "Received");
	rl = strlen(rc);
	if (re_fixed(18, rc, rl) == 1 || msn_groups(sm))
		return 0;
	ipv = get(sm, "X-Originating-Ip", NULL);
	orgv = get(sm, "X-OriginatorOrg", NULL);
	ip = re_fixed(19, ipv, strlen(ipv)) == 1 &&
	    strpbrk(ipv, "0123456789") != NULL;
	org = re_fixed(20, orgv, strlen(orgv)) == 1;
	if (ev_gated_through_received_hdr_remover(sm, a, n, st))
		return 0;
	if (ip && re_fixed(21, rc, rl) == 1)
		return 0;
	if (org && re_fixed(22, rc,
	    rl) == 1)
		return 0;
	if (org && re_fixed(23, rc, rl) == 1)
		return 0;
	if (ip && re_fixed(24, rc, rl) == 1)
		return 0;
	if (ip && re_fixed(25, rc, rl) == 1)
		return 0;
	if (ip && re_fixed(26,
	    rc, rl) == 1)
		return 0;
	if (re_fixed(27, rc,
	    rl) == 1)
		return 0;	/* forged hotmail Received: the other test */
	return 1;
}

static int
ev_check_for_forged_yahoo_received_headers(struct score_msg *sm,
    const char *const *a, size_t n, void *st)
{
	const char *from = get_first(sm, "From:addr"), *rc, *rel;
	size_t fl = strlen(from), rl;
	struct buf b = BUF_INIT;

	(void)st;
	/* /\byahoo\.com$/i */
	if (fl < 9 || strcasecmp(from + fl - 9, "yahoo.com") != 0 ||
	    (fl > 9 && (isalnum((unsigned char)from[fl - 10]) ||
	    from[fl - 10] == '_')))
		return 0;
	rc = "Received";
	{
		size_t l1, l2, l3;

		get(sm, "Resent-From", &l1);
		get(sm, "Resent-To", &l2);
		get(sm, "X-Received", &l3);
		if (l1 > 0 && l2 > 0 && l3 > 0)
			rc = "X-Received";
	}
	rc = rcvd_flat(sm, rc);
	rl = strlen(rc);
	if (ev_gated_through_received_hdr_remover(sm, a, n, st))
		return 0;
	sm_header(sm, "X-Spam-Relays-Trusted", 0, &b);
	rel = b.data != NULL ? b.data : "";
	if (re_fixed(28, rel, b.len) == 1) {
		buf_free(&b);
		return 0;
	}
	buf_reset(&b);
	sm_header(sm, "X-Spam-Relays-Untrusted", 0, &b);
	rel = b.data != NULL ? b.data : "";
	if (re_fixed(29, rel,
	    b.len) == 1) {
		buf_free(&b);
		return 0;
	}
	buf_free(&b);
	if (re_fixed(30, rc, rl) == 1 || re_fixed(31, rc, rl) == 1 ||
	    re_fixed(32, rc, rl) == 1 || re_fixed(33, rc, rl) == 1)
		return 0;
	if (re_fixed(34, rc,
	    rl) == 1 && re_fixed(35, from, fl) == 1)
		return 0;
	if (re_fixed(36, rc, rl) == 1)
		return 0;
	return 1;
}

/* check_ratware_envelope_from: the envelope sender built as
 * "domain.user@" of the recipient. The recipient's registrable domain
 * comes from prepare.c's :domain (SpamAssassin's trim_domain); its
 * is_domain_valid test is reduced to "has a dot". */
static int
ev_check_ratware_envelope_from(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	const char *to = get_first(sm, "To:addr");
	const char *from = get_first(sm, "EnvelopeFrom:addr");
	const char *dom, *at;
	char *user, *pat;
	size_t ul, dl;

	(void)a;
	(void)n;
	(void)st;
	if (*to == '\0' || *from == '\0')
		return 0;
	if (strncasecmp(from, "SRS", 3) == 0 && isdigit((unsigned char)from[3])
	    && (from[4] == '=' || from[4] == '+' || from[4] == '-'))
		return 0;
	at = strchr(to, '@');
	if (at == NULL || at == to || at[1] == '\0')
		return 0;
	ul = (size_t)(at - to);
	user = arena_strndup(sm_arena(sm), to, ul);
	dom = get_first(sm, "To:addr:domain");
	dl = strlen(dom);
	if (dl == 0 || strchr(dom, '.') == NULL)
		return 0;
	/* /\b\Q$dom\E.\Q$user\E@/i needs both literally (caseless):
	 * without them there is nothing to compile */
	if (stristr(from, dom) == NULL || stristr(from, user) == NULL)
		return 0;
	pat = arena_alloc(sm_arena(sm), 2 * (dl + ul) + 16);
	{
		size_t i, o = 0;

		pat[o++] = '\\';
		pat[o++] = 'b';
		for (i = 0; i < dl; i++) {
			if (!isalnum((unsigned char)dom[i]))
				pat[o++] = '\\';
			pat[o++] = dom[i];
		}
		pat[o++] = '.';
		for (i = 0; i < ul; i++) {
			if (!isalnum((unsigned char)user[i]))
				pat[o++] = '\\';
			pat[o++] = user[i];
		}
		pat[o++] = '@';
		pat[o] = '\0';
	}
	return re_match(pat, 1, from, strlen(from)) == 1;
}

/* ---- WLBLEval, FreeMail: lists from the configuration ---- */

/* all_from_addrs: Resent-From:first:addr, else the From-like headers. */
static size_t all_from_compute(struct score_msg *sm, char **out,
    size_t max);

static size_t
all_from_addrs(struct score_msg *sm, char **out, size_t max)
{
	struct evcache *c = cache_of(sm);
	size_t n;

	if (c != NULL && c->from_done) {
		n = c->nfrom < max ? c->nfrom : max;
		memcpy(out, c->from, n * sizeof(*out));
		return n;
	}
	n = all_from_compute(sm, out, max);
	if (c != NULL) {
		c->from = arena_allocarray(sm_arena(sm), n + 1,
		    sizeof(*c->from));
		memcpy(c->from, out, n * sizeof(*out));
		c->nfrom = n;
		c->from_done = 1;
	}
	return n;
}

static size_t
all_from_compute(struct score_msg *sm, char **out, size_t max)
{
	static const char *const hs[] = {
		"From:addr", "Envelope-Sender:addr", "Resent-Sender:addr",
		"X-Envelope-From:addr", "EnvelopeFrom:addr", NULL,
	};
	size_t n, i, k, j, o;

	n = get_list_lc(sm, "Resent-From:first:addr", out, max);
	if (n == 0) {
		for (i = 0; hs[i] != NULL && n < max; i++)
			n += get_list_lc(sm, hs[i], out + n, max - n);
	}
	/* tr/././s and uniq */
	for (i = o = 0; i < n; i++) {
		char *s = out[i];

		if (*s == '\0')
			continue;
		for (k = j = 0; s[k] != '\0'; k++)
			if (!(s[k] == '.' && j > 0 && s[j - 1] == '.'))
				s[j++] = s[k];
		s[j] = '\0';
		for (k = 0; k < o; k++)
			if (strcmp(out[k], s) == 0)
				break;
		if (k == o)
			out[o++] = s;
	}
	return o;
}

static int
in_addrlist(const struct namedlist *l, const char *addr)
{
	size_t i;

	if (strset_has(&l->exact, addr))
		return 1;
	for (i = 0; i < l->nglobs; i++)
		if (glob_match(l->globs[i], addr))
			return 1;
	return 0;
}

static int
ev_check_from_in_list(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct score_eval_conf *ec = st;
	const struct namedlist *l;
	char *ad[EV_MAX_ADDRS];
	size_t na, i;
	size_t nl;

	if (ec == NULL)
		return -1;
	if (n < 1)
		return 0;
	nl = ec->naddrlists;
	for (i = 0, l = NULL; i < nl; i++)
		if (strcmp(ec->addrlists[i].name, a[0]) == 0)
			l = &ec->addrlists[i];
	if (l == NULL)
		return 0;
	na = all_from_addrs(sm, ad, EV_MAX_ADDRS);
	for (i = 0; i < na; i++)
		if (in_addrlist(l, ad[i]))
			return 1;
	return 0;
}

static int
ev_check_replyto_in_list(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	const struct score_eval_conf *ec = st;
	const struct namedlist *l = NULL;
	char *r;
	size_t i;

	if (ec == NULL)
		return -1;
	if (n < 1)
		return 0;
	for (i = 0; i < ec->naddrlists; i++)
		if (strcmp(ec->addrlists[i].name, a[0]) == 0)
			l = &ec->addrlists[i];
	if (l == NULL)
		return 0;
	r = arena_strdup(sm_arena(sm), get_first(sm, "Reply-To:addr"));
	lower(r);
	return *r != '\0' && in_addrlist(l, r);
}

/* The host of a URI (scheme://[user@]host[:port]/...), lower-cased. */
static char *
uri_host(struct arena *a, const char *u)
{
	const char *p = strstr(u, "://"), *s, *e, *at;
	char *h;

	if (p == NULL)
		return NULL;
	s = p + 3;
	e = s + strcspn(s, "/?#");
	at = memchr(s, '@', (size_t)(e - s));
	if (at != NULL)
		s = at + 1;
	if (*s == '[') {
		const char *rb = memchr(s, ']', (size_t)(e - s));

		if (rb == NULL)
			return NULL;
		h = arena_strndup(a, s + 1, (size_t)(rb - s - 1));
	} else {
		const char *c = memchr(s, ':', (size_t)(e - s));

		h = arena_strndup(a, s, (size_t)((c != NULL ? c : e) - s));
	}
	lower(h);
	return h;
}

static int
ev_check_uri_host_listed(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	const struct score_eval_conf *ec = st;
	const struct namedlist *l = NULL;
	const char *const *uris;
	size_t nu, i, k;

	if (ec == NULL)
		return -1;
	if (n < 1)
		return 0;
	for (i = 0; i < ec->nurilists; i++)
		if (strcmp(ec->urilists[i].name, a[0]) == 0)
			l = &ec->urilists[i];
	if (l == NULL)
		return 0;
	nu = sm_uris(sm, &uris);
	for (i = 0; i < nu; i++) {
		char *h;
		const char *keys[EV_MAX_HOST_KEYS + 1];
		size_t nk = 0;

		if (strncasecmp(uris[i], "mailto:", 7) == 0)
			continue;
		/* SpamAssassin keeps hosts that make a domain (uri_to_domain):
		 * at least a name and a TLD, or an address */
		if ((h = uri_host(sm_arena(sm), uris[i])) == NULL ||
		    strchr(h, '.') == NULL || h[0] == '.')
			continue;
		if (strspn(h, "0123456789.") == strlen(h) || strchr(h, ':'))
			keys[nk++] = h;
		else {
			const char *q = h;

			/* sub.example.com, example.com, com: keep the tail */
			for (;;) {
				if (nk > EV_MAX_HOST_KEYS) {
					memmove(keys, keys + 1,
					    (nk - 1) * sizeof(*keys));
					nk--;
				}
				keys[nk++] = q;
				if ((q = strchr(q, '.')) == NULL)
					break;
				q++;
			}
		}
		for (k = 0; k < nk; k++) {
			if (strset_has(&l->neg, keys[k]))
				break;	/* "!host": a no, stops the search */
			if (strset_has(&l->exact, keys[k]))
				return 1;
		}
	}
	return 0;
}

/* Lists that the stock configuration leaves empty: never a hit; with
 * entries (which we do not evaluate) we cannot say. */
static int
ev_empty_list(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct score_eval_conf *ec = st;

	(void)sm;
	(void)a;
	(void)n;
	return ec != NULL && ec->user_lists > 0 ? -1 : 0;
}

static int
ev_have_any_bounce_relays(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	const struct score_eval_conf *ec = st;

	(void)sm;
	(void)a;
	(void)n;
	return ec != NULL && ec->bounce_relays > 0;
}

/* check_welcomelist_bounce_relays: no relays listed, no hit (the stock
 * files list none); with relays, the quoted bounce would have to be
 * parsed, which we do not: cannot say. */
static int
ev_check_welcomelist_bounce_relays(struct score_msg *sm,
    const char *const *a, size_t n, void *st)
{
	const struct score_eval_conf *ec = st;

	(void)sm;
	(void)a;
	(void)n;
	return ec != NULL && ec->bounce_relays > 0 ? -1 : 0;
}

/* FreeMail _is_freemail */
static int
fm_welcome_re(const char *email)
{
	static const char *const pfx[] = {
		"abuse@", "support@", "sales@", "info@", "helpdesk@",
		"contact@", "kontakt@", "postmaster@", "hostmaster@",
		"domainmaster@", "bounce-", "bounced-", NULL,
	};
	const char *at = strrchr(email, '@');
	size_t i, ul;

	for (i = 0; pfx[i] != NULL; i++)
		if (strncmp(email, pfx[i], strlen(pfx[i])) == 0)
			return 1;
	if (strncmp(email, "undisclosed", 11) == 0 && at != NULL)
		return 1;
	if (at == NULL)
		return 0;
	ul = (size_t)(at - email);
	/* request-[a-f0-9]{16}@ */
	if (ul == 24 && strncmp(email, "request-", 8) == 0 &&
	    strspn(email + 8, "0123456789abcdef") >= 16)
		return 1;
	/* [a-f0-9]{8}(?:\.[a-f0-9]{8}|-[a-f0-9]{4}-...-[a-f0-9]{12})@ */
	if (strspn(email, "0123456789abcdef") >= 8) {
		const char *p = email + 8;

		if (ul == 17 && p[0] == '.' &&
		    strspn(p + 1, "0123456789abcdef") >= 8)
			return 1;
		if (ul == 36 && p[0] == '-' && p[5] == '-' && p[10] == '-' &&
		    p[15] == '-')
			return 1;
	}
	/* .+=.+=.+@ */
	{
		const char *e1 = memchr(email, '=', ul), *e2;

		if (e1 != NULL && e1 > email) {
			e2 = memchr(e1 + 1, '=', (size_t)(at - e1 - 1));
			if (e2 != NULL && e2 > e1 + 1 && e2 + 1 < at)
				return 1;
		}
	}
	return 0;
}

static int
is_freemail(const struct score_eval_conf *ec, const char *email)
{
	const char *at, *dom;
	size_t i;

	if (*email == '\0')
		return 0;
	if (strset_has(&ec->fm_welcome, email))
		return 0;
	at = strrchr(email, '@');
	dom = at != NULL ? at + 1 : email;
	if (strset_has(&ec->fm_welcome, dom))
		return 0;
	if (fm_welcome_re(email))
		return 0;
	if (strset_has(&ec->fm_domains, dom))
		return 1;
	if (at != NULL)
		for (i = 0; i < ec->nfm_wild; i++)
			if (fm_glob(ec->fm_wild[i], dom))
				return 1;
	return 0;
}

static int
fm_available(const struct score_eval_conf *ec)
{
	return ec->fm_domains.n > 0 || ec->nfm_wild > 0;
}

/*
 * check_freemail_from/_header take an optional regex, which FreeMail.pm
 * matches with /o: the first regex any rule used stays in force for the
 * process. The stock rules only use "\d@"; we honour each rule's own.
 */
static int
ev_check_freemail_from(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct score_eval_conf *ec = st;
	char *ad[EV_MAX_ADDRS];
	size_t na, i;

	if (ec == NULL)
		return -1;
	if (!fm_available(ec))
		return 0;
	na = all_from_addrs(sm, ad, EV_MAX_ADDRS);
	for (i = 0; i < na; i++) {
		if (!is_freemail(ec, ad[i]))
			continue;
		if (n >= 1 && re_match(a[0], 0, ad[i], strlen(ad[i])) != 1)
			continue;
		return 1;
	}
	return 0;
}

static int
ev_check_freemail_header(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	const struct score_eval_conf *ec = st;
	char *ad[EV_MAX_ADDRS], name[MSG_MAX_NAME + 16];
	size_t na, i;

	if (ec == NULL)
		return -1;
	if (!fm_available(ec) || n < 1 || strlen(a[0]) > MSG_MAX_NAME)
		return 0;
	/* "$header:addr" (a header already ending in :addr gets it
	 * twice, which get() treats the same) */
	buf_fmt(name, sizeof(name), "%s:addr", a[0]);
	na = get_list_lc(sm, name, ad, EV_MAX_ADDRS);
	for (i = 0; i < na; i++) {
		if (!is_freemail(ec, ad[i]))
			continue;
		if (n >= 2 && re_match(a[1], 0, ad[i], strlen(ad[i])) != 1)
			continue;
		return 1;
	}
	return 0;
}

/* FreeMail's strip: an address followed by \s{1,10} and a 2-11 letter
 * word and ":" ("... wrote:", "... Http:"), unless that word begins
 * with fax, facsi, tel, phone or (e)mail, is not a body address. */
static int
fm_label_follows(const char *l, size_t ll, size_t e)
{
	static const char *const keep[] = { "fax", "facsi", "tel", "phone",
	    "mail", "email", NULL };
	size_t w, k, i;

	for (w = e; w < ll && w - e < 10 && isspace((unsigned char)l[w]); w++)
		;
	if (w == e || (w < ll && isspace((unsigned char)l[w])))
		return 0;
	for (k = w; k < ll && isalpha((unsigned char)l[k]) &&
	    !((unsigned char)l[k] & 0x80); k++)
		;
	if (k - w < 2 || k - w > 11 || k >= ll || l[k] != ':')
		return 0;
	for (i = 0; keep[i] != NULL; i++)
		if (k - w >= strlen(keep[i]) &&
		    strncasecmp(l + w, keep[i], strlen(keep[i])) == 0)
			return 0;
	return 1;
}

/* Is the address em (lower-cased) written in the rendered body? Then
 * SpamAssassin's URI list has it as "parsed" too. */
static int
fm_in_text(const struct span *lines, size_t nl, const char *em)
{
	size_t i, el = strlen(em), k;

	for (i = 0; i < nl; i++)
		for (k = 0; k + el <= lines[i].len; k++)
			if (strncasecmp(lines[i].p + k, em, el) == 0)
				return 1;
	return 0;
}

/* FreeMail _parse_body, simplified: the addresses of mailto: links in
 * the HTML that the text does not show (SpamAssassin skips those its
 * URI list also has as "parsed"), then those in the rendered body but
 * for "<addr>" and "addr Word:", distinct, lower-cased, at most max. */
static size_t
body_emails(struct score_msg *sm, char **out, size_t max)
{
	static const char uch[] = "abcdefghijklmnopqrstuvwxyz0123456789"
	    "!#$%&'*+/=?^_`{|}~-.";
	const struct span *lines;
	const struct sm_html *h;
	size_t nl, i, j, k, nout = 0, seen = 0;

	nl = sm_body(sm, &lines);
	/* mailto: links of the HTML first (SpamAssassin: anchors only) */
	if ((h = sm_html(sm)) != NULL) {
		for (i = 0; i < h->nuris && seen < EV_MAX_BODY_EMAILS / 2;
		    i++) {
			const char *u = h->uris[i];
			char *em;

			if (strncasecmp(u, "mailto:", 7) != 0)
				continue;
			u += 7;
			k = strcspn(u, "?>,;\"' \t\r\n");
			if (k == 0 || memchr(u, '@', k) == NULL)
				continue;
			em = arena_strndup(sm_arena(sm), u, k);
			lower(em);
			if (fm_in_text(lines, nl, em))
				continue;
			for (j = 0; j < nout; j++)
				if (strcmp(out[j], em) == 0)
					break;
			if (j < nout || nout >= max)
				continue;
			seen++;
			out[nout++] = em;
		}
	}
	for (i = 0; i < nl && seen < EV_MAX_BODY_EMAILS; i++) {
		const char *l = lines[i].p;
		size_t ll = lines[i].len;

		for (k = 0; k < ll && seen < EV_MAX_BODY_EMAILS; k++) {
			size_t s, e, dots = 0;
			char *em;

			if (l[k] != '@')
				continue;
			s = k;
			while (s > 0 && k - s < 64 && strchr(uch,
			    tolower((unsigned char)l[s - 1])) != NULL &&
			    l[s - 1] != '\0')
				s--;
			while (s < k && l[s] == '.')
				s++;
			e = k + 1;
			while (e < ll && (isalnum((unsigned char)l[e]) ||
			    l[e] == '-' || l[e] == '.')) {
				if (l[e] == '.')
					dots++;
				e++;
			}
			while (e > k + 1 &&
			    (l[e - 1] == '.' || l[e - 1] == '-'))
				e--;
			if (s == k || dots == 0 || e - k < 4)
				continue;
			/* "<addr>" and "addr Word:" are removed before the
			 * search */
			if ((e < ll && l[e] == '>') ||
			    fm_label_follows(l, ll, e)) {
				k = e;
				continue;
			}
			em = arena_strndup(sm_arena(sm), l + s, e - s);
			lower(em);
			k = e;
			for (j = 0; j < nout; j++)
				if (strcmp(out[j], em) == 0)
					break;
			if (j < nout || nout >= max)
				continue;
			seen++;
			out[nout++] = em;
		}
	}
	return nout;
}

static int
ev_check_freemail_replyto(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	const struct score_eval_conf *ec = st;
	char *from[EV_MAX_ADDRS], *rt[EV_MAX_ADDRS], *body[EV_MAX_BODY_EMAILS];
	char *all[EV_MAX_BODY_EMAILS];
	size_t nf, nr, nb, nall, i, j;
	int from_fm = 0, rt_fm = 0, not_in = 1, reply;
	const char *envf;

	if (ec == NULL)
		return -1;
	if (!fm_available(ec))
		return 0;
	reply = n >= 1 && strcmp(a[0], "reply") == 0;
	if (n >= 1 && !reply && strcmp(a[0], "replyto") != 0)
		return 0;
	/* freemail_skip_bulk_envfrom (default on): $skip_replyto_envfrom */
	envf = get_first(sm, "EnvelopeFrom");
	if (*envf != '\0' && re_fixed(37, envf, strlen(envf)) == 1)
		return 0;
	nf = get_list_lc(sm, "From:addr", from, EV_MAX_ADDRS);
	nr = get_list_lc(sm, "Reply-To:addr", rt, EV_MAX_ADDRS);
	for (i = 0; i < nf; i++)
		if (is_freemail(ec, from[i]))
			from_fm = 1;
	for (i = 0; i < nr; i++)
		if (is_freemail(ec, rt[i]))
			rt_fm = 1;
	for (i = 0; i < nf; i++)
		for (j = 0; j < nr; j++)
			if (strcmp(from[i], rt[j]) == 0)
				not_in = 0;
	if (from_fm && rt_fm && not_in)
		return 1;
	if (!reply) {
		if (!rt_fm)
			return 0;
	} else {
		if (nr > 0 && !rt_fm)
			return 0;
		else if (!from_fm)
			return 0;
	}
	/* freemail_max_body_emails 5, freemail_max_body_freemails 3,
	 * freemail_skip_when_over_max 1: a body with that many addresses
	 * is not looked at */
	nall = body_emails(sm, all, EV_MAX_BODY_EMAILS);
	for (i = nb = 0; i < nall; i++) {
		if (i + 1 == EV_FM_MAX_BODY_EMAILS)
			return 0;
		if (!is_freemail(ec, all[i]))
			continue;
		if (nb + 1 == EV_FM_MAX_BODY_FREEMAILS)
			return 0;
		body[nb++] = all[i];
	}
	for (i = 0; i < nb; i++) {
		char **ra = (!reply || rt_fm) ? rt : from;
		size_t nra = (!reply || rt_fm) ? nr : nf;

		for (j = 0; j < nra; j++)
			if (strcmp(body[i], ra[j]) != 0)
				return 1;
	}
	return 0;
}

/* ---- SPF: the milter's result (score_conn.spf / spf_helo) ---- */

static int
spf_is(struct score_msg *sm, int helo, const char *want)
{
	const struct score_conn *c = sm_conn(sm);
	const char *r;

	if (c == NULL)
		return 0;
	r = helo ? c->spf_helo : c->spf;
	return r != NULL && strcasecmp(r, want) == 0;
}

#define SPF_FN(fname, helo, res)					\
static int								\
fname(struct score_msg *sm, const char *const *a, size_t n, void *st)	\
{									\
	(void)a;							\
	(void)n;							\
	(void)st;							\
	return spf_is(sm, helo, res);					\
}
SPF_FN(ev_spf_pass, 0, "pass")
SPF_FN(ev_spf_neutral, 0, "neutral")
SPF_FN(ev_spf_none, 0, "none")
SPF_FN(ev_spf_fail, 0, "fail")
SPF_FN(ev_spf_softfail, 0, "softfail")
SPF_FN(ev_spf_permerror, 0, "permerror")
SPF_FN(ev_spf_temperror, 0, "temperror")
SPF_FN(ev_spf_helo_pass, 1, "pass")
SPF_FN(ev_spf_helo_neutral, 1, "neutral")
SPF_FN(ev_spf_helo_none, 1, "none")
SPF_FN(ev_spf_helo_fail, 1, "fail")
SPF_FN(ev_spf_helo_softfail, 1, "softfail")
SPF_FN(ev_spf_helo_permerror, 1, "permerror")
SPF_FN(ev_spf_helo_temperror, 1, "temperror")
#undef SPF_FN

/* ---- argument checks at load time ---- */

static int
need_args(size_t nargs, size_t min, struct err *e)
{
	if (nargs < min)
		return err_set(e, ERR_PERM, "needs %zu argument%s", min,
		    min == 1 ? "" : "s");
	return 0;
}

static int
chk1(const char *const *a, size_t n, struct err *e)
{
	(void)a;
	return need_args(n, 1, e);
}

static int
chk2(const char *const *a, size_t n, struct err *e)
{
	(void)a;
	return need_args(n, 2, e);
}

static int
chk3(const char *const *a, size_t n, struct err *e)
{
	(void)a;
	return need_args(n, 3, e);
}

/* ---- ImageInfo (Plugin/ImageInfo.pm) ---- */

/*
 * _get_images: every leaf part whose type is image/gif, image/png,
 * image/jpeg or image/jpg and whose Content-Transfer-Encoding is base64
 * is counted for its type; its dimensions are read from the decoded
 * data as the %get_details subs do (GIF: the logical screen of the
 * 13-byte header; PNG: the IHDR chunk; JPEG: the first SOFn marker) and
 * add height x width to the type's pixel coverage, the "HxW" set and the
 * part's name to the name set. Type 0 is 'all' (the sums).
 */
#define EV_IMG_TYPES		4	/* all, gif, png, jpeg */
#define EV_MAX_IMG_DEMS		64	/* distinct "HxW" kept per type */
#define EV_MAX_IMG_NAMES	64	/* distinct image names kept */
#define EV_IMG_GIF_HEAD		13	/* ImageInfo decodes 13 bytes of a GIF */

struct imgdem {
	unsigned long h, w;
};

struct imginfo {
	unsigned long count[EV_IMG_TYPES];
	double pc[EV_IMG_TYPES];	/* may pass 2^64 (PNG: 32-bit sides) */
	struct imgdem dem[EV_IMG_TYPES][EV_MAX_IMG_DEMS];
	size_t ndem[EV_IMG_TYPES];
	const char *name[EV_MAX_IMG_NAMES];
	size_t nname;
};

static const char *const img_types[EV_IMG_TYPES] = {
	"all", "gif", "png", "jpeg"
};

static int
img_type(const char *t)
{
	int i;

	for (i = 0; i < EV_IMG_TYPES; i++)
		if (strcmp(t, img_types[i]) == 0)
			return i;
	return -1;
}

static void
img_dem_add(struct imginfo *ii, int t, unsigned long h, unsigned long w)
{
	size_t i;

	for (i = 0; i < ii->ndem[t]; i++)
		if (ii->dem[t][i].h == h && ii->dem[t][i].w == w)
			return;
	if (ii->ndem[t] < EV_MAX_IMG_DEMS) {
		ii->dem[t][ii->ndem[t]].h = h;
		ii->dem[t][ii->ndem[t]].w = w;
		ii->ndem[t]++;
	}
}

static void
img_name_add(struct imginfo *ii, const char *name)
{
	size_t i;

	if (name == NULL || *name == '\0')
		return;
	for (i = 0; i < ii->nname; i++)
		if (strcmp(ii->name[i], name) == 0)
			return;
	if (ii->nname < EV_MAX_IMG_NAMES)
		ii->name[ii->nname++] = name;
}

static unsigned long
be16(const unsigned char *p)
{
	return ((unsigned long)p[0] << 8) | p[1];
}

static unsigned long
be32(const unsigned char *p)
{
	return ((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16) |
	    ((unsigned long)p[2] << 8) | p[3];
}

/* The GIF sub: "GIF87a"/"GIF89a", then width and height (little
 * endian). 0 (size in *h_out, *w_out), or -1. */
static int
img_gif(const unsigned char *d, size_t n, unsigned long *h_out,
    unsigned long *w_out)
{
	if (n < 10 || memcmp(d, "GIF8", 4) != 0 || (d[4] != '7' &&
	    d[4] != '9') || d[5] != 'a')
		return -1;
	*w_out = d[6] | ((unsigned long)d[7] << 8);
	*h_out = d[8] | ((unsigned long)d[9] << 8);
	return 0;
}

/* The PNG sub. Like ImageInfo's loop it steps 8 bytes at a time without
 * skipping chunk data (the IHDR chunk comes first in any real PNG). */
static int
img_png(const unsigned char *d, size_t n, unsigned long *h_out,
    unsigned long *w_out)
{
	size_t pos = 8;

	if (n < 8 || memcmp(d, "\x89PNG\r\n\x1a\n", 8) != 0)
		return -1;
	while (pos < n) {
		unsigned long len;
		const unsigned char *type;

		if (n - pos < 8)
			return -1;	/* unpack("Na4") on a short string */
		len = be32(d + pos);
		type = d + pos + 4;
		pos += 8;
		if (memcmp(type, "IEND", 4) == 0)
			return -1;
		if (memcmp(type, "IHDR", 4) != 0 || len != 13)
			continue;
		if (n - pos < 8)
			return -1;
		*w_out = be32(d + pos);
		*h_out = be32(d + pos + 4);
		return 0;
	}
	return -1;
}

/* The JPEG sub: walk the markers from SOI to the first SOFn (C0-C3,
 * C5-C7, C9-CB, CD-CF), stopping at SOS (DA), EOI (D9) or garbage. */
static int
img_jpeg(const unsigned char *d, size_t n, unsigned long *h_out,
    unsigned long *w_out)
{
	size_t pos = 2;

	if (n < 2 || d[0] != 0xff || d[1] != 0xd8)
		return -1;
	while (n - pos >= 4) {
		unsigned mark = d[pos + 1];
		unsigned long len = be16(d + pos + 2);
		size_t blen;

		if (d[pos] != 0xff || mark == 0xda || mark == 0xd9 || len < 2)
			return -1;
		pos += 4;
		blen = len - 2 < n - pos ? len - 2 : n - pos;
		if ((mark >= 0xc0 && mark <= 0xc3) || (mark >= 0xc5 &&
		    mark <= 0xc7) || (mark >= 0xc9 && mark <= 0xcb) ||
		    (mark >= 0xcd && mark <= 0xcf)) {
			/* unpack("CnnC") of a short block gives undef: 0 */
			*h_out = blen >= 3 ? be16(d + pos + 1) : 0;
			*w_out = blen >= 5 ? be16(d + pos + 3) : 0;
			return 0;
		}
		pos += blen;
	}
	return -1;
}

/* Message.pm _parse_normal: the part's name is Content-Disposition's
 * /name=\s*"?([^";]+)"?/i (filename= too), else Content-Type's name. */
static const char *
img_part_name(struct arena *a, const struct mime_part *p)
{
	const struct hdr *h = mime_hdr_find(p, "Content-Disposition");

	if (h != NULL) {
		const char *v = hdr_unfold(a, h->value), *s = v;

		while ((s = strcasestr(s, "name=")) != NULL) {
			size_t k;

			s += 5;
			while (*s == ' ' || *s == '\t' || *s == '\n' ||
			    *s == '\r' || *s == '\f')
				s++;
			if (*s == '"')
				s++;
			k = strcspn(s, "\";");
			if (k > 0)
				return arena_strndup(a, s, k);
		}
	}
	return mime_param(&p->ctype, "name");
}

struct imgwalk {
	struct imginfo *ii;
	struct arena *a;
};

static int
img_cb(struct mime_part *p, void *arg)
{
	struct imgwalk *w = arg;
	struct imginfo *ii = w->ii;
	const char *ct = p->ctype.value, *sub;
	struct buf dec = BUF_INIT;
	unsigned long h = 0, wd = 0;
	int t, r = -1;
	char *cte;

	/* find_parts(qr@^image/(?:gif|png|jpe?g)$@, 1): leaves only */
	if (p->children != NULL || ct == NULL || strncmp(ct, "image/", 6) != 0)
		return 0;
	sub = ct + 6;
	if (strcmp(sub, "jpg") == 0)
		sub = "jpeg";
	if ((t = img_type(sub)) <= 0)
		return 0;
	cte = part_hdr_lc(w->a, p, "Content-Transfer-Encoding");
	cte += strspn(cte, " \t\r\n");
	if (strncmp(cte, "base64", 6) != 0 || cte[6 + strspn(cte + 6,
	    " \t\r\n")] != '\0')
		return 0;
	if (t == 1) {
		/* decode(13): base64 of the first 13 bytes is 20 chars; take
		 * more since line ends and junk are skipped */
		size_t k = p->body.len < 64 ? p->body.len : 64;

		base64_decode(&dec, p->body.p, k);
		if (dec.len > EV_IMG_GIF_HEAD)
			dec.len = EV_IMG_GIF_HEAD;
		r = img_gif((const unsigned char *)dec.data, dec.len, &h, &wd);
	} else {
		base64_decode(&dec, p->body.p, p->body.len);
		if (t == 2)
			r = img_png((const unsigned char *)dec.data, dec.len,
			    &h, &wd);
		else
			r = img_jpeg((const unsigned char *)dec.data, dec.len,
			    &h, &wd);
	}
	buf_free(&dec);
	if (r == 0 && h > 0 && wd > 0) {
		ii->pc[t] += (double)h * (double)wd;
		img_dem_add(ii, t, h, wd);
		img_name_add(ii, img_part_name(w->a, p));
	}
	ii->count[t]++;
	return 0;
}

static const struct imginfo *
img_info(struct score_msg *sm)
{
	struct evcache *c = cache_of(sm);
	struct imginfo *ii;
	struct imgwalk w;
	struct msg *m = sm_msg(sm);
	size_t i;
	int t;

	if (c != NULL && c->img != NULL)
		return c->img;
	ii = arena_zalloc(sm_arena(sm), sizeof(*ii));
	if (m->mime == NULL)
		mime_parse(m);
	if (m->mime != NULL) {
		w.ii = ii;
		w.a = sm_arena(sm);
		mime_walk(m->mime, img_cb, &w);
	}
	for (t = 1; t < EV_IMG_TYPES; t++) {
		ii->pc[0] += ii->pc[t];
		ii->count[0] += ii->count[t];
		for (i = 0; i < ii->ndem[t]; i++)
			img_dem_add(ii, 0, ii->dem[t][i].h, ii->dem[t][i].w);
	}
	if (c != NULL)
		c->img = ii;
	return ii;
}

/* ImageInfo result_check(min, max, value, nomaxequal) */
static int
img_result_check(const char *min, const char *max, double v, int nomaxeq)
{
	if (v < num(min))
		return 0;
	if (max != NULL && v > num(max))
		return 0;
	if (nomaxeq && max != NULL && v == num(max))
		return 0;
	return 1;
}

static int
ev_image_count(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	int t;

	(void)st;
	if (n < 2)
		return 0;
	if ((t = img_type(a[0])) < 0)
		return 0;	/* count_$type undefined */
	return img_result_check(a[1], n > 2 ? a[2] : NULL,
	    (double)img_info(sm)->count[t], 0);
}

static int
ev_pixel_coverage(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	int t;

	(void)st;
	if (n < 2 || (t = img_type(a[0])) < 0)
		return 0;
	return img_result_check(a[1], n > 2 ? a[2] : NULL,
	    img_info(sm)->pc[t], 0);
}

static int
ev_image_named(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct imginfo *ii;
	size_t i;

	(void)st;
	if (n < 1)
		return 0;
	ii = img_info(sm);
	for (i = 0; i < ii->nname; i++)
		if (strcmp(ii->name[i], a[0]) == 0)
			return 1;
	return 0;
}

static int
ev_image_name_regex(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct imginfo *ii;
	size_t i;

	(void)st;
	if (n < 1)
		return 0;
	ii = img_info(sm);
	for (i = 0; i < ii->nname; i++)
		/* $name =~ /$re/: the argument is the bare pattern (slashes
		 * in it are literal) */
		if (re_match_n(a[0], strlen(a[0]), 0, ii->name[i],
		    strlen(ii->name[i])) == 1)
			return 1;
	return 0;
}

/*
 * image_to_text_ratio(type, min, max): length of the text the rule sees
 * over the pixel coverage, max itself excluded. Known difference: the
 * eval interface does not say whether the rule is body or rawbody, so
 * the rendered body (with the Subject, as body rules see it) is used for
 * both; a rawbody rule in SpamAssassin measures the undecoded-HTML text.
 */
static int
ev_image_to_text_ratio(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct span *l;
	size_t nl, i, len = 0;
	double pc;
	int t;

	(void)st;
	if (n < 3 || (t = img_type(a[0])) < 0)
		return 0;
	pc = img_info(sm)->pc[t];
	nl = sm_body(sm, &l);
	for (i = 0; i < nl; i++)
		len += l[i].len;
	if (len == 0 || !(pc > 0))
		return 0;
	return img_result_check(a[1], a[2], (double)len / pc, 1);
}

static int
ev_image_size_exact(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct imginfo *ii;
	char want[64], have[64];
	size_t i;
	int t;

	(void)st;
	if (n < 3 || (t = img_type(a[0])) < 0)
		return 0;
	/* the hash key "${height}x${width}" against the arguments as
	 * written */
	if ((size_t)snprintf(want, sizeof(want), "%sx%s", a[1], a[2]) >=
	    sizeof(want))
		return 0;
	ii = img_info(sm);
	for (i = 0; i < ii->ndem[t]; i++) {
		snprintf(have, sizeof(have), "%lux%lu", ii->dem[t][i].h,
		    ii->dem[t][i].w);
		if (strcmp(have, want) == 0)
			return 1;
	}
	return 0;
}

static int
ev_image_size_range(struct score_msg *sm, const char *const *a, size_t n,
    void *st)
{
	const struct imginfo *ii;
	size_t i;
	int t;

	(void)st;
	if (n < 3 || (t = img_type(a[0])) < 0)
		return 0;
	ii = img_info(sm);
	for (i = 0; i < ii->ndem[t]; i++) {
		double h = (double)ii->dem[t][i].h, w = (double)ii->dem[t][i].w;

		if (h < num(a[1]) || w < num(a[2]))
			continue;
		if (n > 3 && h > num(a[3]))
			continue;
		if (n > 4 && w > num(a[4]))
			continue;
		return 1;
	}
	return 0;
}

/* ---- WLBLEval: the relays the _rcvd checks look at ---- */

/*
 * _check_addr_matches_rcvd and _check_welcomelist_rcvd: the first
 * untrusted relay when there is one, else every trusted relay. Returns
 * how many (pointers into out[]).
 */
static size_t
rcvd_relays(struct score_msg *sm, const struct sm_relay **out, size_t max)
{
	const struct sm_relay *r;
	size_t n = sm_relays(sm, &r), i, k = 0;

	for (i = 0; i < n; i++)
		if (!r[i].intl) {
			out[0] = &r[i];
			return max > 0 ? 1 : 0;
		}
	for (i = 0; i < n && k < max; i++)
		out[k++] = &r[i];
	return k;
}

#define EV_MAX_WL_RELAYS	64	/* trusted relays looked at */

/* WLBLEval check_mailfrom_matches_rcvd: the envelope sender's registrable
 * domain is the one of the (last untrusted) relay's reverse name. */
static int
ev_check_mailfrom_matches_rcvd(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	const struct sm_relay *rl[EV_MAX_WL_RELAYS];
	const char *sender = get_first(sm, "EnvelopeFrom:addr"), *at, *dom;
	char adrd[SM_DOMAIN_BUF], rlyd[SM_DOMAIN_BUF];
	size_t nr, i;

	(void)a;
	(void)n;
	(void)st;
	/* / \@ ( [^\@]+ \. [^\@]+ ) \z/x */
	if ((at = strrchr(sender, '@')) == NULL)
		return 0;
	dom = at + 1;
	if (*dom == '\0' || strchr(dom, '.') == NULL || dom[0] == '.' ||
	    dom[strlen(dom) - 1] == '.')
		return 0;
	if ((nr = rcvd_relays(sm, rl, EV_MAX_WL_RELAYS)) == 0)
		return 0;
	sm_trim_domain(dom, strlen(dom), adrd);
	for (i = 0; i < nr; i++) {
		const char *rd = rl[i]->rdns;

		if (rd == NULL || *rd == '\0')
			continue;
		sm_trim_domain(rd, strlen(rd), rlyd);
		if (strcmp(adrd, rlyd) == 0)
			return 1;
	}
	return 0;
}

/* The IPv4/IPv6 address in s into 16 bytes (IPv4 mapped); 4 or 16 as
 * the family's bits / 8, or 0. */
static int
ip_bytes(const char *s, unsigned char *out)
{
	unsigned char v4[4];

	if (inet_pton(AF_INET, s, v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, v4, 4);
		return 4;
	}
	if (inet_pton(AF_INET6, s, out) == 1)
		return 16;
	return 0;
}

/* NetAddr::IP->new($wl)->contains($relay) for "ADDR" or "ADDR/LEN". */
static int
ip_cidr_contains(const char *wl, const char *ip)
{
	char addr[INET6_ADDRSTRLEN + 8];
	unsigned char net[16], host[16];
	const char *slash = strchr(wl, '/');
	size_t al = slash != NULL ? (size_t)(slash - wl) : strlen(wl);
	unsigned long bits;
	int fam, i;

	if (al >= sizeof(addr))
		return 0;
	memcpy(addr, wl, al);
	addr[al] = '\0';
	if ((fam = ip_bytes(addr, net)) == 0 || ip_bytes(ip, host) == 0)
		return 0;
	bits = fam == 4 ? 32 : 128;
	if (slash != NULL) {
		char *e;

		bits = strtoul(slash + 1, &e, 10);
		if (*e != '\0' || bits > (fam == 4 ? 32UL : 128UL))
			return 0;
	}
	if (fam == 4)
		bits += 96;
	for (i = 0; i < 16 && bits > 0; i++) {
		unsigned m = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;

		if ((net[i] & m) != (host[i] & m))
			return 0;
		bits = bits >= 8 ? bits - 8 : 0;
	}
	return 1;
}

/* One (def_)welcomelist_from_rcvd domain against one relay. */
static int
rcvd_entry_match(const char *domain, const struct sm_relay *r)
{
	size_t dl = strlen(domain);

	/* m{^ \[ (.*) \] ( / \d{1,3} )? \z}sx */
	if (dl >= 2 && domain[0] == '[') {
		const char *close = strrchr(domain, ']');
		char wl[INET6_ADDRSTRLEN + 8];
		size_t k;

		if (close != NULL && (close[1] == '\0' || (close[1] == '/' &&
		    strspn(close + 2, "0123456789") == strlen(close + 2) &&
		    strlen(close + 2) >= 1 && strlen(close + 2) <= 3))) {
			k = (size_t)(close - domain - 1);
			if (k + strlen(close + 1) >= sizeof(wl))
				return 0;
			memcpy(wl, domain + 1, k);
			strcpy(wl + k, close + 1);
			if (r->ip == NULL || *r->ip == '\0')
				return 0;
			if (strspn(wl, "0123456789.") == strlen(wl)) {
				unsigned d1, d2, d3, d4;
				char x, pre[sizeof(wl) + 1];

				if (sscanf(wl, "%u.%u.%u.%u%c", &d1, &d2, &d3,
				    &d4, &x) == 4)
					return strcmp(wl, r->ip) == 0;
				/* a classful subnet: s/\.*\z/./ */
				k = strlen(wl);
				while (k > 0 && wl[k - 1] == '.')
					k--;
				memcpy(pre, wl, k);
				pre[k++] = '.';
				return strncmp(r->ip, pre, k) == 0;
			}
			return ip_cidr_contains(wl, r->ip);
		}
	}
	/* by rdns: /(?:^|\.)\Q$domain\E$/i */
	if (r->rdns != NULL) {
		size_t rl = strlen(r->rdns);

		if (rl >= dl && strcasecmp(r->rdns + rl - dl, domain) == 0 &&
		    (rl == dl || r->rdns[rl - dl - 1] == '.'))
			return 1;
	}
	return 0;
}

/* _check_welcomelist_rcvd: 1 welcomed, -1 listed but relayed elsewhere
 * (not exempted by welcomelist_allows_relays), 0 not listed. */
static int
rcvd_list_check(struct score_msg *sm, const struct score_eval_conf *ec,
    const struct rcvd_entry *l, size_t nl, const char *addr)
{
	const struct sm_relay *rl[EV_MAX_WL_RELAYS];
	size_t nr = rcvd_relays(sm, rl, EV_MAX_WL_RELAYS), i, k;
	int forged = 0;

	if (nr == 0)
		return 0;
	for (i = 0; i < nl; i++) {
		if (!glob_match(l[i].addr, addr))
			continue;
		for (k = 0; k < nr; k++)
			if (rcvd_entry_match(l[i].domain, rl[k]))
				return 1;
		forged = -1;
	}
	if (forged)
		for (i = 0; i < ec->nallows_relays; i++)
			if (glob_match(ec->allows_relays[i], addr))
				return 0;
	return forged;
}

/* WLBLEval check_from_in_default_welcomelist: a From-like address in
 * def_welcomelist_from_rcvd, relayed by the listed host or network. */
static int
ev_check_from_in_default_welcomelist(struct score_msg *sm,
    const char *const *a, size_t n, void *st)
{
	const struct score_eval_conf *ec = st;
	char *ad[EV_MAX_ADDRS];
	size_t na, i;

	(void)a;
	(void)n;
	if (ec == NULL)
		return -1;
	if (ec->ndef_rcvd == 0)
		return 0;
	na = all_from_addrs(sm, ad, EV_MAX_ADDRS);
	for (i = 0; i < na; i++)
		if (rcvd_list_check(sm, ec, ec->def_rcvd, ec->ndef_rcvd,
		    ad[i]) == 1)
			return 1;
	return 0;
}

/* ---- HTTPSMismatch and URIEval over HTML anchors ---- */

/*
 * HTML.pm's uri_detail per text/html part: each distinct <a> href with
 * the list of its anchor texts. The eval functions iterate it as
 * "foreach $k (keys uri_detail) { foreach (anchor_text) }"; the order
 * does not change their answers. Anchors are few (SM_HTML_MAX_URIS), so
 * a quadratic grouping is fine.
 */

/* IS_IP_ADDRESS, loosely: dotted quad or something with a colon that
 * inet_pton takes as IPv6. */
static int
is_ip_literal(const char *s, size_t n)
{
	char b[INET6_ADDRSTRLEN + 1];
	unsigned char x[16];

	if (n == 0 || n >= sizeof(b))
		return 0;
	memcpy(b, s, n);
	b[n] = '\0';
	return inet_pton(AF_INET, b, x) == 1 || inet_pton(AF_INET6, b, x) == 1;
}

/* m@^https?://([^/:?#]+)@i: the host of an http(s) href. */
static int
href_host(const char *u, const char **h_out, size_t *n_out)
{
	size_t k;

	if (strncasecmp(u, "http://", 7) == 0)
		u += 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		u += 8;
	else
		return 0;
	k = strcspn(u, "/:?#");
	if (k == 0)
		return 0;
	*h_out = u;
	*n_out = k;
	return 1;
}

/* check_https_http_mismatch(minanchors, maxanchors) */
static int
ev_check_https_http_mismatch(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	struct sm_html *const *all;
	size_t nall = sm_html_all(sm, &all), p, i, j;
	double minanchors = n > 0 && num(a[0]) != 0 ? num(a[0]) : 1;

	(void)st;
	for (p = 0; p < nall; p++) {
		const struct sm_html *h = all[p];
		unsigned anchors = 0;
		int hit = 0;

		if (h->anchor_uri == NULL)
			continue;
		for (i = 0; i < h->nanchor; i++) {
			char uri[SM_DOMAIN_BUF], dom[SM_DOMAIN_BUF];
			const char *hs;
			size_t hn, ul;

			/* once per distinct href */
			for (j = 0; j < i; j++)
				if (strcmp(h->anchor_uri[j],
				    h->anchor_uri[i]) == 0)
					break;
			if (j < i)
				continue;
			if (!href_host(h->anchor_uri[i], &hs, &hn) ||
			    is_ip_literal(hs, hn))
				continue;
			ul = sm_trim_domain(hs, hn, uri);
			/* uri_to_domain + is_domain_valid of the trimmed
			 * name: a known TLD */
			if (ul == 0 || !sm_domain_valid(uri, ul))
				continue;
			anchors++;
			if (hit)
				continue;
			for (j = i; j < h->nanchor; j++) {
				const char *t = h->anchor[j], *m;
				size_t k;

				if (strcmp(h->anchor_uri[j], h->anchor_uri[i])
				    != 0)
					continue;
				/* m@https://([^\s/:?#]+)@i */
				if ((m = strcasestr(t, "https://")) == NULL)
					continue;
				m += 8;
				k = strcspn(m, " \t\n\r\f\v/:?#");
				if (k == 0)
					continue;
				if (!is_ip_literal(m, k)) {
					size_t dl = sm_trim_domain(m, k, dom);

					if (dl == 0 || !sm_domain_valid(dom,
					    dl))
						continue;
				} else {
					memcpy(dom, m, k);
					dom[k] = '\0';
				}
				if (strcmp(uri, dom) == 0)
					continue;
				hit = 1;
				break;
			}
		}
		if (hit && anchors >= minanchors && (n < 2 ||
		    is_undef(a[1]) || anchors < num(a[1])))
			return 1;
	}
	return 0;
}

/* m%^https?:/+(?:[^\@/]+\@)?\d+\.\d+\.\d+\.\d+%i (https only when ssl) */
static int
ip_href(const char *u, int https_only)
{
	if (strncasecmp(u, "https:", 6) == 0)
		u += 6;
	else if (!https_only && strncasecmp(u, "http:", 5) == 0)
		u += 5;
	else
		return 0;
	while (*u == '/')
		u++;
	{
		size_t k = strcspn(u, "@/");

		if (u[k] == '@' && k > 0)
			u += k + 1;
	}
	{
		unsigned d1, d2, d3, d4;
		int c = 0;

		return sscanf(u, "%u.%u.%u.%u%n", &d1, &d2, &d3, &d4, &c) == 4 &&
		    c > 0 && isdigit((unsigned char)u[0]);
	}
}

/* URIEval check_https_ip_mismatch: an anchor to a bare IP address whose
 * text mentions https: (and is not itself an https IP link). */
static int
ev_check_https_ip_mismatch(struct score_msg *sm, const char *const *a,
    size_t n, void *st)
{
	struct sm_html *const *all;
	size_t nall = sm_html_all(sm, &all), p, i;

	(void)a;
	(void)n;
	(void)st;
	for (p = 0; p < nall; p++) {
		const struct sm_html *h = all[p];

		if (h->anchor_uri == NULL)
			continue;
		for (i = 0; i < h->nanchor; i++) {
			if (!ip_href(h->anchor_uri[i], 0))
				continue;
			if (ip_href(h->anchor[i], 1))
				continue;
			if (strcasestr(h->anchor[i], "https:") != NULL)
				return 1;
		}
	}
	return 0;
}

/* ---- HeaderEval: forged webmail Received: trails (unscored sub-rules
 * of the CONFIRMED_FORGED / MULTI_FORGED metas) ---- */

/* /\b<dom>$/i on From:addr */
static int
from_ends_word(struct score_msg *sm, const char *dom)
{
	const char *from = get_first(sm, "From:addr");
	size_t fl = strlen(from), dl = strlen(dom);

	if (fl < dl || strcasecmp(from + fl - dl, dom) != 0)
		return 0;
	return fl == dl || !(isalnum((unsigned char)from[fl - dl - 1]) ||
	    from[fl - dl - 1] == '_');
}

/* _check_for_forged_hotmail_received_headers: the
 * hotmail_addr_with_forged_hotmail_received half (a Received: that
 * HELO'd as hotmail.com without coming from Hotmail). */
static int
ev_check_for_forged_hotmail_received_headers(struct score_msg *sm,
    const char *const *a, size_t n, void *st)
{
	const char *rc, *ipv, *orgv;
	int ip, org;
	size_t rl;

	rc = rcvd_flat(sm, "Received");
	/* every way out answers 0 but the last, whose pattern needs
	 * "hotmail.com" in the Received: text */
	if (strstr(rc, "hotmail.com") == NULL)
		return 0;
	rl = strlen(rc);
	if (re_fixed(18, rc, rl) == 1 || msn_groups(sm))
		return 0;
	ipv = get(sm, "X-Originating-Ip", NULL);
	orgv = get(sm, "X-OriginatorOrg", NULL);
	ip = re_fixed(19, ipv, strlen(ipv)) == 1 &&
	    strpbrk(ipv, "0123456789") != NULL;
	org = re_fixed(20, orgv, strlen(orgv)) == 1;
	if (ev_gated_through_received_hdr_remover(sm, a, n, st))
		return 0;
	if ((ip && re_fixed(21, rc, rl) == 1) ||
	    (org && re_fixed(22, rc, rl) == 1) ||
	    (org && re_fixed(23, rc, rl) == 1) ||
	    (ip && re_fixed(24, rc, rl) == 1) ||
	    (ip && re_fixed(25, rc, rl) == 1) ||
	    (ip && re_fixed(26, rc, rl) == 1))
		return 0;
	return re_fixed(27, rc, rl) == 1;
}

static int
ev_check_for_forged_eudoramail_received_headers(struct score_msg *sm,
    const char *const *a, size_t n, void *st)
{
	const char *rc, *ipv;

	if (!from_ends_word(sm, "eudoramail.com"))
		return 0;
	rc = rcvd_flat(sm, "Received");
	ipv = get(sm, "X-Sender-Ip", NULL);
	if (ev_gated_through_received_hdr_remover(sm, a, n, st))
		return 0;
	if (re_match_n("by \\S*whowhere.com\\;", 20, 0, rc, strlen(rc)) == 1 &&
	    re_match_n(RE_IP, strlen(RE_IP), 0, ipv, strlen(ipv)) == 1 &&
	    strpbrk(ipv, "0123456789") != NULL)
		return 0;
	return 1;
}

static int
ev_check_for_forged_juno_received_headers(struct score_msg *sm,
    const char *const *a, size_t n, void *st)
{
	const char *xorig, *xmailer, *rc;
	size_t rl;

	if (!from_ends_word(sm, "juno.com"))
		return 0;
	if (ev_gated_through_received_hdr_remover(sm, a, n, st))
		return 0;
	xorig = get(sm, "X-Originating-IP", NULL);
	xmailer = get(sm, "X-Mailer", NULL);
	rc = rcvd_get(sm, NULL);	/* not flattened: "." stops at \n */
	rl = strlen(rc);
	if (*xorig != '\0') {
		static const char re1[] = "from.*\\b(?:juno|untd)\\.com.*"
		    "[\\[\\(]" RE_IP "[\\]\\)].*by";
		static const char re2[] = " cookie\\.(?:juno|untd)\\.com ";

		if (re_match_n(re1, sizeof(re1) - 1, 0, rc, rl) != 1 &&
		    re_match_n(re2, sizeof(re2) - 1, 0, rc, rl) != 1)
			return 1;
		if (strstr(xmailer, "Juno ") == NULL)
			return 1;
	} else {
		static const char re3[] = "from.*\\bmail\\.com.*\\[" RE_IP
		    "\\].*by";
		static const char re4[] = "from (webmail\\S+\\.untd\\.com) "
		    "\\(\\1 \\[" RE_IP "\\]\\) by";
		static const char re5[] = "\\bmail\\.com";
		static const char re6[] = "^Webmail Version \\d";

		if (re_match_n(re3, sizeof(re3) - 1, 0, rc, rl) == 1) {
			if (re_match_n(re5, sizeof(re5) - 1, 0, xmailer,
			    strlen(xmailer)) != 1)
				return 1;
		} else if (re_match_n(re4, sizeof(re4) - 1, 0, rc, rl) == 1) {
			if (re_match_n(re6, sizeof(re6) - 1, 0, xmailer,
			    strlen(xmailer)) != 1)
				return 1;
		} else
			return 1;
		/* $xorig is empty here: /$IP_ADDRESS/ cannot match */
		return 1;
	}
	return 0;
}

/* Util::hostname_to_domain into out (SM_DOMAIN_BUF bytes). */
static void
hostname_to_domain(const char *h, char *out)
{
	size_t n = strlen(h), k, dots = 0, i;
	const char *last;

	if (n >= SM_DOMAIN_BUF)
		n = SM_DOMAIN_BUF - 1;
	for (i = 0; i < n; i++)
		if (isalpha((unsigned char)h[i]))
			break;
	if (i == n) {		/* no letter: an IP address, as it is */
		memcpy(out, h, n);
		out[n] = '\0';
		return;
	}
	for (i = 0; i < n; i++)
		dots += h[i] == '.';
	last = memrchr(h, '.', n);
	last = last != NULL ? last + 1 : h;
	/* @parts > 1 && $parts[-1] =~ /(?:\S{3,}|ie|fr|de)/: keep 2 labels,
	 * else (more than 2 parts) 3 */
	{
		size_t ll = n - (size_t)(last - h), run = 0, j;
		int three = 0;

		for (j = 0; j < ll; j++) {
			run = isspace((unsigned char)last[j]) ? 0 : run + 1;
			if (run >= 3)
				three = 1;
		}
		if (dots >= 1 && (three || strstr(last, "ie") != NULL ||
		    strstr(last, "fr") != NULL || strstr(last, "de") != NULL))
			k = 2;
		else if (dots >= 2)
			k = 3;
		else
			k = 0;
	}
	if (k > 0) {
		size_t seen = 0;

		for (i = n; i > 0; i--)
			if (h[i - 1] == '.' && ++seen == k)
				break;
		memcpy(out, h + i, n - i);
		out[n - i] = '\0';
	} else {
		memcpy(out, h, n);
		out[n] = '\0';
	}
}

/* /^\w+(?:[\w.-]+\.)+\w+$/ */
static int
domain_shaped(const char *s)
{
	size_t n = strlen(s), i, lastdot;

	if (n < 3 || !(isalnum((unsigned char)s[0]) || s[0] == '_') ||
	    !(isalnum((unsigned char)s[n - 1]) || s[n - 1] == '_'))
		return 0;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' ||
		    s[i] == '.' || s[i] == '-'))
			return 0;
	if ((lastdot = (size_t)(strrchr(s, '.') - s)) == 0 ||
	    strchr(s, '.') == NULL || lastdot + 1 >= n)
		return 0;
	for (i = lastdot + 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

/* RelayEval check_for_forged_received_trail: more than one untrusted
 * hop whose "by" domain is not the previous hop's rDNS domain. */
static int
ev_check_for_forged_received_trail(struct score_msg *sm,
    const char *const *a, size_t n, void *st)
{
	const struct sm_relay *r;
	size_t nr = sm_relays(sm, &r), i, nu = 0;
	char by[SM_DOMAIN_BUF], prev[SM_DOMAIN_BUF], from[SM_DOMAIN_BUF];
	const struct sm_relay *u[EV_MAX_RCVD];
	unsigned mismatch = 0;

	(void)a;
	(void)n;
	(void)st;
	for (i = 0; i < nr && nu < EV_MAX_RCVD; i++)
		if (!r[i].intl)
			u[nu++] = &r[i];
	for (i = 0; i < nu; i++) {
		char lc[SM_DOMAIN_BUF];
		size_t k;

		snprintf(lc, sizeof(lc), "%s", u[i]->by != NULL ? u[i]->by : "");
		lower(lc);
		hostname_to_domain(lc, by);
		if (!domain_shaped(by) || i == 0)
			continue;
		snprintf(lc, sizeof(lc), "%s", u[i - 1]->rdns != NULL ?
		    u[i - 1]->rdns : "");
		lower(lc);
		hostname_to_domain(lc, from);
		/* localhost via 127.0.0.1 is not a mismatch */
		if ((strcmp(from, "localhost") == 0 ||
		    strcmp(from, "localhost.localdomain") == 0) &&
		    u[i - 1]->ip != NULL && strcmp(u[i - 1]->ip, "127.0.0.1") == 0)
			continue;
		k = strlen(from);
		memcpy(prev, from, k + 1);
		if (domain_shaped(prev) && strcmp(by, prev) != 0 &&
		    !(strcmp(by, "msn.com") == 0 && strcmp(prev,
		    "hotmail.com") == 0))
			mismatch++;
	}
	return mismatch > 1;
}

/* ---- the table ---- */

#define P_BAYES		PLUGIN_PFX "Bayes"
#define P_HTML		PLUGIN_PFX "HTMLEval"
#define P_MIME		PLUGIN_PFX "MIMEEval"
#define P_BODY		PLUGIN_PFX "BodyEval"
#define P_HEAD		PLUGIN_PFX "HeaderEval"
#define P_RELAY		PLUGIN_PFX "RelayEval"
#define P_WLBL		PLUGIN_PFX "WLBLEval"
#define P_FREEMAIL	PLUGIN_PFX "FreeMail"
#define P_SPF		PLUGIN_PFX "SPF"
#define P_URI		PLUGIN_PFX "URIEval"
#define P_VBOUNCE	PLUGIN_PFX "VBounce"
#define P_WLSUBJ	PLUGIN_PFX "WelcomeListSubject"
#define P_IMAGE		PLUGIN_PFX "ImageInfo"
#define P_HTTPS		PLUGIN_PFX "HTTPSMismatch"

const struct score_eval_fn score_eval_fns[] = {
	{ "check_bayes", P_BAYES, ev_check_bayes, chk2 },

	{ "html_tag_exists", P_HTML, ev_html_tag_exists, chk1 },
	{ "html_tag_balance", P_HTML, ev_html_tag_balance, chk2 },
	{ "html_test", P_HTML, ev_html_test, chk1 },
	{ "html_eval", P_HTML, ev_html_eval, chk2 },
	{ "html_range", P_HTML, ev_html_range, chk2 },
	{ "html_image_only", P_HTML, ev_html_image_only, chk2 },
	{ "html_image_ratio", P_HTML, ev_html_image_ratio, chk2 },
	{ "html_charset_faraway", P_HTML, ev_false, NULL },
	{ "html_title_subject_ratio", P_HTML, ev_html_title_subject_ratio,
	    chk1 },
	{ "html_text_match", P_HTML, ev_html_text_match, chk2 },
	{ "check_uri_truncated", P_URI, ev_check_uri_truncated, NULL },
	{ "check_https_ip_mismatch", P_URI, ev_check_https_ip_mismatch, NULL },
	{ "check_https_http_mismatch", P_HTTPS, ev_check_https_http_mismatch,
	    NULL },

	{ "check_for_mime", P_MIME, ev_check_for_mime, chk1 },
	{ "check_for_mime_html", P_MIME, ev_check_for_mime_html, NULL },
	{ "check_for_mime_html_only", P_MIME, ev_check_for_mime_html_only,
	    NULL },
	{ "check_mime_multipart_ratio", P_MIME, ev_check_mime_multipart_ratio,
	    chk2 },
	{ "check_qp_ratio", P_MIME, ev_check_qp_ratio, chk1 },
	{ "check_base64_length", P_MIME, ev_check_base64_length, chk1 },
	{ "check_abundant_unicode_ratio", P_MIME,
	    ev_check_abundant_unicode_ratio, chk1 },
	{ "check_for_ascii_text_illegal", P_MIME,
	    ev_check_for_ascii_text_illegal, NULL },
	{ "check_ma_non_text", P_MIME, ev_check_ma_non_text, NULL },
	{ "check_for_uppercase", P_MIME, ev_check_for_uppercase, chk2 },
	{ "check_msg_parse_flags", P_MIME, ev_check_msg_parse_flags, chk1 },
	{ "check_for_faraway_charset", P_MIME, ev_false, NULL },

	{ "check_body_length", P_BODY, ev_check_body_length, chk1 },
	{ "tvd_vertical_words", P_BODY, ev_tvd_vertical_words, chk2 },
	{ "check_blank_line_ratio", P_BODY, ev_check_blank_line_ratio, chk2 },
	{ "multipart_alternative_difference", P_BODY,
	    ev_multipart_alternative_difference, chk2 },
	{ "multipart_alternative_difference_count", P_BODY,
	    ev_multipart_alternative_difference_count, chk2 },

	{ "check_for_shifted_date", P_HEAD, ev_check_for_shifted_date, chk2 },
	{ "check_for_missing_to_header", P_HEAD,
	    ev_check_for_missing_to_header, NULL },
	{ "check_illegal_chars", P_HEAD, ev_check_illegal_chars, chk3 },
	{ "check_for_matching_env_and_hdr_from", P_HEAD,
	    ev_check_for_matching_env_and_hdr_from, NULL },
	{ "subject_is_all_caps", P_HEAD, ev_subject_is_all_caps, NULL },
	{ "gated_through_received_hdr_remover", P_HEAD,
	    ev_gated_through_received_hdr_remover, NULL },
	{ "check_for_to_in_subject", P_HEAD, ev_check_for_to_in_subject,
	    chk1 },
	{ "check_ratware_name_id", P_HEAD, ev_check_ratware_name_id, NULL },
	{ "check_outlook_message_id", P_HEAD, ev_check_outlook_message_id,
	    NULL },
	{ "check_equal_from_domains", P_HEAD, ev_check_equal_from_domains,
	    NULL },
	{ "check_unresolved_template", P_HEAD, ev_check_unresolved_template,
	    NULL },
	{ "check_header_count_range", P_HEAD, ev_check_header_count_range,
	    chk3 },
	{ "sorted_recipients", P_HEAD, ev_sorted_recipients, NULL },
	{ "similar_recipients", P_HEAD, ev_similar_recipients, chk2 },
	{ "check_for_fake_aol_relay_in_rcvd", P_HEAD,
	    ev_check_for_fake_aol_relay_in_rcvd, NULL },
	{ "check_for_forged_gmail_received_headers", P_HEAD,
	    ev_check_for_forged_gmail_received_headers, NULL },
	{ "check_for_unique_subject_id", P_HEAD, ev_false, NULL },
	{ "check_for_faraway_charset_in_headers", P_HEAD, ev_false, NULL },

	{ "check_all_trusted", P_RELAY, ev_check_all_trusted, NULL },
	{ "helo_ip_mismatch", P_RELAY, ev_helo_ip_mismatch, NULL },
	{ "check_for_no_rdns_dotcom_helo", P_RELAY,
	    ev_check_for_no_rdns_dotcom_helo, NULL },
	{ "check_for_no_hotmail_received_headers", P_HEAD,
	    ev_check_for_no_hotmail_received_headers, NULL },
	{ "check_for_forged_yahoo_received_headers", P_HEAD,
	    ev_check_for_forged_yahoo_received_headers, NULL },
	{ "check_ratware_envelope_from", P_HEAD,
	    ev_check_ratware_envelope_from, NULL },
	{ "check_no_relays", P_RELAY, ev_check_no_relays, NULL },
	{ "check_for_forged_received_trail", P_RELAY,
	    ev_check_for_forged_received_trail, NULL },
	{ "check_for_forged_hotmail_received_headers", P_HEAD,
	    ev_check_for_forged_hotmail_received_headers, NULL },
	{ "check_for_forged_eudoramail_received_headers", P_HEAD,
	    ev_check_for_forged_eudoramail_received_headers, NULL },
	{ "check_for_forged_juno_received_headers", P_HEAD,
	    ev_check_for_forged_juno_received_headers, NULL },

	{ "check_from_in_list", P_WLBL, ev_check_from_in_list, chk1 },
	{ "check_replyto_in_list", P_WLBL, ev_check_replyto_in_list, chk1 },
	{ "check_uri_host_listed", P_WLBL, ev_check_uri_host_listed, chk1 },
	{ "check_from_in_welcomelist", P_WLBL, ev_empty_list, NULL },
	{ "check_from_in_whitelist", P_WLBL, ev_empty_list, NULL },
	{ "check_from_in_blocklist", P_WLBL, ev_empty_list, NULL },
	{ "check_from_in_blacklist", P_WLBL, ev_empty_list, NULL },
	{ "check_to_in_welcomelist", P_WLBL, ev_empty_list, NULL },
	{ "check_to_in_whitelist", P_WLBL, ev_empty_list, NULL },
	{ "check_to_in_blocklist", P_WLBL, ev_empty_list, NULL },
	{ "check_to_in_blacklist", P_WLBL, ev_empty_list, NULL },
	{ "check_to_in_more_spam", P_WLBL, ev_empty_list, NULL },
	{ "check_to_in_all_spam", P_WLBL, ev_empty_list, NULL },
	{ "check_uri_host_in_welcomelist", P_WLBL, ev_empty_list, NULL },
	{ "check_uri_host_in_whitelist", P_WLBL, ev_empty_list, NULL },
	{ "check_uri_host_in_blocklist", P_WLBL, ev_empty_list, NULL },
	{ "check_uri_host_in_blacklist", P_WLBL, ev_empty_list, NULL },
	{ "check_subject_in_welcomelist", P_WLSUBJ, ev_empty_list, NULL },
	{ "check_subject_in_whitelist", P_WLSUBJ, ev_empty_list, NULL },
	{ "check_subject_in_blocklist", P_WLSUBJ, ev_empty_list, NULL },
	{ "check_subject_in_blacklist", P_WLSUBJ, ev_empty_list, NULL },
	{ "check_for_spf_welcomelist_from", P_SPF, ev_empty_list, NULL },
	{ "check_for_spf_whitelist_from", P_SPF, ev_empty_list, NULL },
	{ "have_any_bounce_relays", P_VBOUNCE, ev_have_any_bounce_relays,
	    NULL },
	{ "check_welcomelist_bounce_relays", P_VBOUNCE,
	    ev_check_welcomelist_bounce_relays, NULL },
	{ "check_whitelist_bounce_relays", P_VBOUNCE,
	    ev_check_welcomelist_bounce_relays, NULL },

	{ "check_freemail_from", P_FREEMAIL, ev_check_freemail_from, NULL },
	{ "check_freemail_header", P_FREEMAIL, ev_check_freemail_header,
	    chk1 },
	{ "check_freemail_replyto", P_FREEMAIL, ev_check_freemail_replyto,
	    NULL },

	{ "image_count", P_IMAGE, ev_image_count, chk2 },
	{ "pixel_coverage", P_IMAGE, ev_pixel_coverage, chk2 },
	{ "image_named", P_IMAGE, ev_image_named, chk1 },
	{ "image_name_regex", P_IMAGE, ev_image_name_regex, chk1 },
	{ "image_to_text_ratio", P_IMAGE, ev_image_to_text_ratio, chk3 },
	{ "image_size_exact", P_IMAGE, ev_image_size_exact, chk3 },
	{ "image_size_range", P_IMAGE, ev_image_size_range, chk3 },
	{ "check_mailfrom_matches_rcvd", P_WLBL,
	    ev_check_mailfrom_matches_rcvd, NULL },
	{ "check_from_in_default_welcomelist", P_WLBL,
	    ev_check_from_in_default_welcomelist, NULL },
	{ "check_from_in_default_whitelist", P_WLBL,
	    ev_check_from_in_default_welcomelist, NULL },
	{ "check_for_spf_pass", P_SPF, ev_spf_pass, NULL },
	{ "check_for_spf_neutral", P_SPF, ev_spf_neutral, NULL },
	{ "check_for_spf_none", P_SPF, ev_spf_none, NULL },
	{ "check_for_spf_fail", P_SPF, ev_spf_fail, NULL },
	{ "check_for_spf_softfail", P_SPF, ev_spf_softfail, NULL },
	{ "check_for_spf_permerror", P_SPF, ev_spf_permerror, NULL },
	{ "check_for_spf_temperror", P_SPF, ev_spf_temperror, NULL },
	{ "check_for_spf_helo_pass", P_SPF, ev_spf_helo_pass, NULL },
	{ "check_for_spf_helo_neutral", P_SPF, ev_spf_helo_neutral, NULL },
	{ "check_for_spf_helo_none", P_SPF, ev_spf_helo_none, NULL },
	{ "check_for_spf_helo_fail", P_SPF, ev_spf_helo_fail, NULL },
	{ "check_for_spf_helo_softfail", P_SPF, ev_spf_helo_softfail, NULL },
	{ "check_for_spf_helo_permerror", P_SPF, ev_spf_helo_permerror, NULL },
	{ "check_for_spf_helo_temperror", P_SPF, ev_spf_helo_temperror,
	    NULL },
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

/*
 * The plugins SpamAssassin 4.0.1 loads by default (/etc/spamassassin/
 * *.pre) are answered by cf.c itself; we add the ones whose functions
 * this file implements, so `ifplugin` blocks of rule sets that load them
 * explicitly come in. TextCat, AWL, TxRep, the network plugins (Razor2,
 * Pyzor, DCC, URIDNSBL...) stay off: their rules need what we lack.
 */
int
score_plugin_loaded(const char *plugin)
{
	static const char *const ours[] = {
		"Bayes", "HTMLEval", "MIMEEval", "BodyEval", "HeaderEval",
		"RelayEval", "WLBLEval", "FreeMail", "SPF", "URIEval",
		"VBounce", "WelcomeListSubject", "WhiteListSubject",
		"MIMEHeader", "ReplaceTags", "Check", "AutoLearnThreshold",
		"HTTPSMismatch", "URIDetail", "ImageInfo", NULL,
	};
	const char *s = plugin;
	size_t i;

	if (strncmp(s, PLUGIN_PFX, sizeof(PLUGIN_PFX) - 1) == 0)
		s += sizeof(PLUGIN_PFX) - 1;
	for (i = 0; ours[i] != NULL; i++)
		if (strcmp(s, ours[i]) == 0)
			return 1;
	return 0;
}
