/*
 * score-int.h - contracts between the parts of the scoring engine.
 *
 * The message side (prepare.c, html.c, relays.c) answers questions about
 * one message through the sm_* functions below; the rule side (cf.c,
 * perlre.c, meta.c, rules.c), the eval functions (eval.c) and Bayes
 * (bayes.c) only ask through them. Answers are computed lazily (a rule
 * set without uri rules never extracts URIs) and cached in the message's
 * arena. Semantics are SpamAssassin 4.0.1's: its Perl sources are
 * installed under /usr/share/perl5/Mail/SpamAssassin/ (Message.pm,
 * Message/Node.pm, PerMsgStatus.pm, HTML.pm, Conf.pm, Plugin/...) and
 * are the reference for every detail (read them; write our own code).
 */
#ifndef SLUICE_SCORE_INT_H
#define SLUICE_SCORE_INT_H

#include <stddef.h>

#include "../lib/arena.h"
#include "../lib/buf.h"
#include "../msg/msg.h"
#include "score.h"

/* ---- scan limits (documented in the man page) ---- */
#define SCORE_MAX_BODY_TEXT	(1024L * 1024)	/* rendered text, all parts */
#define SCORE_MAX_PART_TEXT	(512L * 1024)	/* decoded text per part */
#define SCORE_MAX_LINE		(256L * 1024)	/* one body "line" (paragraph) */
#define SCORE_MAX_URIS		1000
#define SCORE_MAX_RULES		20000
#define SCORE_MATCH_LIMIT	1000000	/* pcre2 match limit per test */
#define SCORE_MAX_HITS_DEFAULT	1000	/* tflags multiple without maxhits */

/* ---- header lookups (prepare.c, relays.c) ---- */

/* Modifiers of a header rule: "header NAME:raw:addr =~ /re/" etc. */
#define SM_H_RAW	0x001	/* not decoded (no RFC 2047, folding kept) */
#define SM_H_ADDR	0x002	/* first address of an address header */
#define SM_H_NAME	0x004	/* its display name */
#define SM_H_HOST	0x008	/* host of the first address (SA 4.0) */
#define SM_H_DOMAIN	0x010	/* registrable domain of that host */
#define SM_H_IP		0x020	/* IP addresses in the value */
#define SM_H_FIRST	0x040	/* only the first field of that name */
#define SM_H_LAST	0x080	/* only the last one */

/*
 * The value SpamAssassin's get() returns for "NAME:modifiers": every field
 * of that name, decoded (RFC 2047 to UTF-8) unless SM_H_RAW, each ending
 * in "\n", joined; pseudo-headers ALL, ToCc, EnvelopeFrom, MESSAGEID,
 * X-Spam-Relays-Untrusted/-Trusted/-Internal/-External (from the Received
 * chain and the score_conn). Appends to out; 1 when the header exists
 * (even empty), 0 when it does not (for exists: and [if-unset: ...]).
 */
int sm_header(struct score_msg *sm, const char *name, unsigned mods,
    struct buf *out);

/* The rendered body as SpamAssassin's body rules see it: textual parts
 * decoded and converted to UTF-8, HTML rendered to text, paragraphs
 * joined into single lines, the Subject first. */
size_t sm_body(struct score_msg *sm, const struct span **lines_out);
/* Unrendered decoded text parts (rawbody rules), in SpamAssassin's
 * chunks. */
size_t sm_rawbody(struct score_msg *sm, const struct span **lines_out);
/* The whole message as received (full rules). */
struct span sm_full(struct score_msg *sm);
/* Every URI from text and HTML parts, as SpamAssassin's uri rules see
 * them (canonicalised, with the variants it adds). */
size_t sm_uris(struct score_msg *sm, const char *const **uris_out);
/*
 * mimeheader rules: call fn for the value of header name in each MIME
 * part (decoded unless raw); fn returns non-zero to stop. Returns how
 * many values were offered.
 */
size_t sm_mimeheader(struct score_msg *sm, const char *name, int raw,
    int (*fn)(void *arg, const char *val, size_t len), void *arg);

/* The message and connection, for eval functions that need more. */
struct msg *sm_msg(struct score_msg *sm);
const struct score_conn *sm_conn(struct score_msg *sm);
struct arena *sm_arena(struct score_msg *sm);

/* HTML facts for the HTML eval tests (html.c), NULL without HTML. */
struct sm_html;
const struct sm_html *sm_html(struct score_msg *sm);

/* ---- eval functions (eval.c) ---- */

/*
 * An eval: rule calls a C function by name with SpamAssassin's argument
 * list (strings as written, quotes removed). It returns the hit count
 * (0: no hit), or -1 when it cannot say (treated as no hit).
 */
struct score_eval_fn {
	const char *name;		/* "check_for_mime" */
	const char *plugin;		/* "Mail::SpamAssassin::Plugin::MIMEEval" */
	int (*fn)(struct score_msg *sm, const char *const *args,
	    size_t nargs, void *rule_state);
	/* Optional: checks arguments at load time (0 ok, -1 bad, with a
	 * message in e). */
	int (*check)(const char *const *args, size_t nargs, struct err *e);
};

/* The table, NULL-terminated by name. */
extern const struct score_eval_fn score_eval_fns[];
const struct score_eval_fn *score_eval_find(const char *name);
/* 1 if SpamAssassin would say `ifplugin NAME` / has(NAME) is true for
 * the plugins we emulate. */
int score_plugin_loaded(const char *plugin);

/* ---- Bayes and the rules (bayes.c) ---- */

/* BAYES_00..BAYES_99 and friends are eval:check_bayes('a','b'): score_run
 * attaches the classifier (NULL: none) and check_bayes asks for the
 * probability, computed once per message (-1: Bayes not usable). */
void sm_set_bayes(struct score_msg *sm, struct bayes *b);
double score_bayes_prob(struct score_msg *sm);

/* ---- additions by prepare.c/html.c/relays.c ---- */

/* sm_body()/sm_rawbody() lines end in "\n" where SpamAssassin's do
 * (every line but possibly the last), as its body rules see them. */

/* What SpamAssassin's HTML.pm puts in its results for the last text/html
 * part (the metadata the HTML eval tests read). Arena-owned. */
#define SM_HTML_MAX_TAGS	256	/* distinct tag names tracked in inside */
#define SM_HTML_MAX_URIS	1000

struct sm_html_tag {
	const char *name;	/* lower-cased */
	int inside;		/* opens minus closes at the end (>= 0) */
};

struct sm_html {
	unsigned tags, elements;	/* all tags; known HTML elements */
	unsigned tags_seen, elements_seen;	/* first time a name is seen */
	unsigned closed_extra;		/* closes without an open */
	unsigned obfuscation;		/* text runs glued to a word */
	unsigned backhair_count;	/* distinct "N_M" split-word shapes */
	int closed_html, closed_body;	/* </html>, </body> seen */
	unsigned long image_area;	/* sum of img width*height */
	int min_size, max_size;		/* font sizes (3 default) */
	size_t length;			/* bytes of HTML parsed */
	size_t html_length;		/* characters of rendered text */
	size_t non_space_len;		/* ... that are not whitespace */
	double ratio;			/* (raw - rendered) / raw bytes */
	unsigned font_low_contrast:1, font_invalid_color:1, font_face_bad:1,
	    form_action_mailto:1, embeds:1, uri_truncated:1, has_title:1;
	const char *title;		/* first <title> text, or NULL */
	const char *charsets;		/* meta http-equiv charsets, or NULL */
	unsigned nscript, ncomment;	/* script text runs, comments */
	struct sm_html_tag *tag;	/* inside{}: every tag name seen */
	size_t ntag;
	const char **uris;		/* href/src/... resolved, as SA */
	size_t nuris;
	const char **anchor;		/* text of each <a> */
	size_t nanchor;
	/* (Addition by eval.c.) The href of each <a> as HTML.pm keys its
	 * anchor_text (canon_uri, "" without href), parallel to anchor. */
	const char **anchor_uri;
};

/* inside{name} at the end, -1 when the tag never appeared. */
int sm_html_inside(const struct sm_html *h, const char *name);

/*
 * Render HTML (UTF-8 or bytes) as HTML.pm does: text appended to text
 * (no whitespace normalisation beyond HTML.pm's), facts into h (zeroed
 * by the caller). Bounded: never recurses, output capped by the caller's
 * SCORE_MAX_PART_TEXT. Never fails.
 */
void html_render(struct arena *a, const char *p, size_t len,
    struct buf *text, struct sm_html *h);
/* libFuzzer-friendly entry: renders data, returns 0. */
int score_html_fuzz_one(const unsigned char *data, size_t size);

/* One Received: hop, as SpamAssassin's relay structures (relays.c). */
struct sm_relay {
	const char *ip, *rdns, *helo, *by, *ident, *envfrom, *id, *auth;
	int msa, intl;
};

/* The relays parsed from Received: (newest first, our own connection
 * first when the milter gave one). All untrusted: trusted_networks is
 * empty, as SpamAssassin infers it without configuration... (see
 * relays.c). */
size_t sm_relays(struct score_msg *sm, const struct sm_relay **out);
/* Format one relay list as X-Spam-Relays-* ("[ ip=... ] [ ... ]"). */
void relays_format(const struct sm_relay *r, size_t n, struct buf *out);
/* Parse the Received: chain of m (and conn) into an arena array. */
size_t relays_parse(struct arena *a, const struct msg *m,
    const struct score_conn *conn, struct sm_relay **out);
/* Received.pm's last_internal_relay_index + 1 without internal_networks:
 * the index of the first external Received: field from the top, their
 * count when none is, -1 when the milter's connection is external
 * (relays.c). */
long relays_external_index(struct arena *a, const struct msg *m,
    const struct score_conn *conn);

/*
 * Registry boundaries (prepare.c): the TLD lists behind URI extraction
 * and :host/:domain. SpamAssassin's stock lists (20_aux_tlds.cf) are
 * built in; the rule loader hands util_rb_tld / util_rb_2tld /
 * util_rb_3tld names over here (one name per call). Process-wide and
 * thread-safe, meant for load time. 0, or -1 for a bad name or kind.
 */
#define SM_TLD		1	/* util_rb_tld */
#define SM_TLD_2	2	/* util_rb_2tld */
#define SM_TLD_3	3	/* util_rb_3tld */
int sm_tld_add(int kind, const char *name);
/* The first IP address (Constants.pm IP_ADDRESS: IPv4, IPv6, IPv4 mapped)
 * in s[0..n): 1 and its offsets, or 0. */
int sm_ip_find(const char *s, size_t n, size_t *s_out, size_t *e_out);

/* Bayes: the classifier sm_set_bayes attached, and the cached answer
 * (score_bayes_prob computes once: 1 and *p_out when cached). */
struct bayes *sm_bayes(struct score_msg *sm);
int sm_bayes_cached(struct score_msg *sm, double *p_out);
void sm_bayes_set_cached(struct score_msg *sm, double p);

/* ---- additions by eval.c: settings only eval functions read ---- */

/* (Addition by eval.c; implemented in prepare.c.) RegistryBoundaries::
 * trim_domain: the registrable domain of host h[0..n), lower-cased, into
 * out (SM_DOMAIN_BUF bytes). Returns its length (0: none). */
#define SM_DOMAIN_BUF	254
size_t sm_trim_domain(const char *h, size_t n, char *out);
/* (Addition by eval.c; prepare.c.) RegistryBoundaries::is_domain_valid:
 * 1 when the last label of d[0..n) is a known TLD. */
int sm_domain_valid(const char *d, size_t n);
/* (Addition by eval.c; prepare.c.) Every text/html part's facts in
 * message order (Message.pm's html_all; sm_html() is the last one).
 * Arena-owned; returns the count. */
size_t sm_html_all(struct score_msg *sm, struct sm_html *const **out);

/*
 * The lists of the rule files that eval functions use: freemail_domains,
 * freemail_welcomelist (and _whitelist), enlist_addrlist (NAME) ...,
 * enlist_uri_host (NAME) ..., welcomelist_bounce_relays. One per rule
 * set, built while loading, read-only afterwards (shared by threads).
 * cf.c offers each directive it does not handle (key lower-cased with
 * '-' as '_', value after the key): 1 taken, 0 not an eval setting, -1
 * bad value (e says why; the line is reported). rules.c passes the rule
 * set's conf as the rule_state argument of every eval function; the
 * functions that need it answer -1 (cannot say) when it is NULL.
 */
struct score_eval_conf;
struct score_eval_conf *score_eval_conf_new(void);
void score_eval_conf_free(struct score_eval_conf **ecp);
int score_eval_conf_line(struct score_eval_conf *ec, const char *key,
    const char *val, size_t vlen, struct err *e);

/* One pointer per message for eval.c's cached facts (the MIME summary,
 * the Date/Received difference...): *slot starts NULL, eval.c stores an
 * arena pointer there. To be kept by prepare.c in struct score_msg;
 * eval.c references it weakly until then (and recomputes without). */
void **sm_eval_slot(struct score_msg *sm);
/* Likewise one pointer for rules.c: what the last score_run() found. */
void **sm_run_slot(struct score_msg *sm);

/* Every rule that hit in the last score_run(r, sm...), sub-rules (__*)
 * included, with its hit count, in rule order (tests, --explain). */
void score_run_each_hit(const struct score_rules *r, struct score_msg *sm,
    void (*fn)(void *arg, const char *name, unsigned count), void *arg);

#endif
