/*
 * score.h - the scoring engine: SpamAssassin-format rules, Bayes, and the
 * SpamAssassin header format. One engine for the milter (threads: the
 * rule set is read-only after loading and shared; everything per message
 * lives in a score_msg) and for the LDA and the tools.
 *
 * Parts (one file each, src/score/):
 *   cf.c        the rule-file parser: directives, if/ifplugin/else/endif,
 *               file order, later definitions override earlier ones
 *   perlre.c    Perl regexes (m{..}i, /../s ...) onto pcre2 (JIT, limits,
 *               patterns over pcre2's size limit split, never dropped)
 *   meta.c      meta expressions (boolean and arithmetic over rule hits)
 *   rules.c     compile and run a rule set over a prepared message
 *   prepare.c   the message as SpamAssassin sees it: decoded header
 *               values, rendered body lines, rawbody, full, URIs
 *   html.c      HTML to text, URIs and the facts HTML eval tests use
 *   relays.c    Received: parsing into X-Spam-Relays-* pseudo-headers
 *   eval.c      the eval: functions implemented in C (a table)
 *   bayes.c     tokenizer, chi-square combining, learning via the store
 *   report.c    X-Spam-* headers, _TAGS_ and the load report
 */
#ifndef SLUICE_SCORE_H
#define SLUICE_SCORE_H

#include <stddef.h>

#include "../lib/buf.h"
#include "../lib/err.h"

struct msg;
struct store;

/* ---- loading ---- */

/* What SpamAssassin 4.0 answers for `ifplugin` and `has()`/`can()`:
 * the plugins whose eval rules we implement. */
#define SCORE_SA_VERSION	"4.000001"

struct score_load_opts {
	/* Files or directories (a directory: its *.cf in byte order, as
	 * SpamAssassin reads them), in order; later overrides earlier. */
	const char *const *paths;
	size_t npaths;
	/* SpamAssassin score set: bit 0 network tests, bit 1 Bayes. We run
	 * no network tests, so 0 (no Bayes) or 2 (Bayes). */
	int score_set;
	/* (Addition by rules.c.) The Hyperscan prefilter of body/rawbody/
	 * full/uri rules, when built with Hyperscan. Compiling it costs
	 * seconds at load (about 9 s of CPU for Debian's stock rules);
	 * loading it from the cache (cache_dir) costs milliseconds.
	 *   > 0  always (compiled when not cached: long-lived rule sets,
	 *        the milter), stored in the cache when it is writable;
	 *   0    when the cache has it, or can keep what is compiled
	 *        (a writable cache directory); else the literal prefilter;
	 *   < 0  never: the literal prefilter only.
	 * Results are the same either way. */
	int prefilter_hs;
	/* (Addition by rules.c.) The Hyperscan database cache directory
	 * (sluice.conf score_cache_dir): created when missing. NULL: the
	 * default /var/cache/sluice when it exists (not created); "": no
	 * cache. Used only when owned by root or by us and not group or
	 * world writable; entries are checked the same way. */
	const char *cache_dir;
};
/* score_load_opts has cache_dir (for code built against older headers) */
#define SCORE_LOAD_HAS_CACHE_DIR	1

struct score_load_report {
	unsigned files, lines;
	unsigned defined;	/* rules defined (any type) */
	unsigned scored;	/* defined with a non-zero score */
	unsigned loaded;	/* runnable (regex, meta, implemented eval) */
	unsigned scored_loaded;	/* scored and runnable */
	unsigned eval_unsupported;	/* scored eval rules we cannot run */
	unsigned errors;	/* bad lines/regexes (rule skipped, reported) */
	/* One line per problem ("file:line: ..."), then the unsupported
	 * eval functions, each once with its rule count. */
	struct buf text;
};

struct score_rules;

/*
 * Load and compile. Returns 0 (problems in rep, the rules that can run
 * are loaded), or -1 with e set when nothing usable could be read (a
 * path that does not exist...). rep may be NULL.
 */
int score_rules_load(const struct score_load_opts *o,
    struct score_rules **out, struct score_load_report *rep, struct err *e);
void score_rules_free(struct score_rules **rp);
void score_load_report_free(struct score_load_report *rep);
/* required_score of the rule set (5.0 unless set). */
double score_required(const struct score_rules *r);

/* ---- one message ---- */

/* What the SMTP side knows (the milter); all optional. */
struct score_conn {
	const char *client_addr;	/* "192.0.2.1" / "2001:db8::1" */
	const char *client_name;	/* verified reverse name, or NULL */
	const char *helo;
	const char *auth_user;		/* SMTP AUTH, or NULL */
	const char *mail_from;		/* envelope sender */
	const char *const *rcpts;
	size_t nrcpts;
	const char *my_hostname;	/* our name (by = in relays) */
	const char *queue_id;
	int trusted;			/* client in trusted_networks */
	const char *spf;		/* "pass", "fail"... or NULL */
	const char *spf_helo;
};

struct score_msg;

/*
 * Prepare m (its data mapped: msg_map) for scoring: decoded headers,
 * body lines, URIs, MIME facts. conn may be NULL. Bounded by the scan
 * limits in score-int.h; never fails on bad input.
 */
struct score_msg *score_msg_new(struct msg *m, const struct score_conn *conn);
void score_msg_free(struct score_msg **smp);

struct score_hit {
	const char *name;	/* owned by the rule set */
	const char *describe;	/* or NULL */
	double score;
	unsigned count;		/* hits (tflags multiple) */
};

struct score_result {
	double score;
	double required;
	int is_spam;
	struct score_hit *hits;	/* in name order, as SpamAssassin lists */
	size_t nhits;
	int bayes_used;
	double bayes_prob;	/* 0..1 when used */
	int autolearn;		/* 0 no, 1 spam, -1 ham (learned) */
	char autolearn_text[16];/* "no", "spam", "ham", "disabled" */
};

struct bayes;
struct bayes_cache;

/*
 * Run the rules (and Bayes when b is not NULL) over sm. res is filled;
 * free it with score_result_free(). 0, or -1 with e set (the store
 * failed: the score is still computed without Bayes, e says why).
 */
int score_run(const struct score_rules *r, struct score_msg *sm,
    struct bayes *b, struct score_result *res, struct err *e);
void score_result_free(struct score_result *res);

/* ---- SpamAssassin's headers (report.c) ---- */

/*
 * Append the header fields DESIGN.md names, exactly as SpamAssassin
 * writes them (so old recipes match):
 *   X-Spam-Flag: YES              (only when spam)
 *   X-Spam-Score: 7.3
 *   X-Spam-Level: *******
 *   X-Spam-Status: Yes, score=7.3 required=5.0 tests=A,B
 *	autolearn=no autolearn_force=no version=4.0.1
 * Folded like SpamAssassin (continuation lines start with a tab).
 */
void score_format_headers(const struct score_result *res, struct buf *out);
/* The names of those header fields, for removing incoming copies. */
extern const char *const score_header_names[];
/*
 * (Addition by report.c, for `sluice score --filter` and `sluice
 * deliver`.) The header section of the message p (len bytes as
 * received: "From " line, CRLF kept) rewritten as SpamAssassin does with
 * report_safe 0: incoming score_header_names fields (and their
 * continuation lines) removed, the fields of res inserted after a
 * leading "From " line and Return-Path field, in the input's line ends;
 * everything else byte for byte. Appended to out; returns the offset in
 * p where the unchanged rest (blank line and body) begins.
 */
size_t score_rewrite_head(const struct score_result *res, const char *p,
    size_t len, struct buf *out);

/* ---- Bayes (bayes.c) ---- */

struct bayes_conf {
	long token_ttl;		/* seconds a token lives unseen (0: none) */
	double autolearn_spam;	/* score at/above: learn as spam (0: off) */
	double autolearn_ham;	/* score at/below: learn as ham */
	unsigned min_spam, min_ham;	/* messages learned before use */
	struct bayes_cache *cache;	/* NULL: none (bayes_cache_new) */
};

/*
 * A read cache of token counts for a process that classifies message
 * after message (sluice-milter): thread-safe, shared by any number of
 * bayes handles on the same store, exact (an entry serves only while the
 * store's version is the one it was read at; see bayes-cache.c), unused
 * with stores that cannot tell their version (Redis). max_tokens: how
 * many it holds before it starts over (0: 2^18 tokens, 8 MiB).
 */
struct bayes_cache *bayes_cache_new(size_t max_tokens);
void bayes_cache_free(struct bayes_cache **cp);

struct bayes *bayes_new(struct store *s, const struct bayes_conf *c);
void bayes_free(struct bayes **bp);
/* Probability that sm is spam (0..1), or -1 when not enough has been
 * learned; -1 with e set on store errors. */
double bayes_classify(struct bayes *b, struct score_msg *sm, struct err *e);
/*
 * Learn sm as spam (1) or ham (0); forget (1) removes what an earlier
 * learn added. Idempotent: a message (by its digest) already learned the
 * same way is not counted twice; learned the other way, it is moved.
 * Returns 1 learned, 0 nothing to do, -1 error (nothing changed).
 */
int bayes_learn(struct bayes *b, struct score_msg *sm, int spam, int forget,
    struct err *e);
/*
 * Learning in groups (sluice learn; addition by bayes.c): up to n
 * messages share one write batch (their token deltas summed), written
 * when the group is full or by bayes_flush(). bayes_learn() then returns
 * 1 for "queued"; a failed write drops the whole group, never part of
 * it. n <= 1 (the default): each message is written by bayes_learn().
 * bayes_classify() does not see queued messages.
 */
void bayes_set_group(struct bayes *b, unsigned n);
/* Write the queued group: 0, or -1 with e set (the group is lost).
 * *nmsgs_out (may be NULL) gets how many messages the group held. */
int bayes_flush(struct bayes *b, size_t *nmsgs_out, struct err *e);

#endif
