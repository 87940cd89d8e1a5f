/*
 * rules-int.h - the rule side of the scoring engine (cf.c, perlre.c,
 * meta.c, rules.c): the compiled rule set and the helpers its parts
 * share. Private to those four files and their unit test.
 */
#ifndef SLUICE_SCORE_RULES_INT_H
#define SLUICE_SCORE_RULES_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/buf.h"
#include "../lib/err.h"
#include "score-int.h"

/* ---- limits of the rule-file reader ---- */
#define CF_MAX_LINE		(256 * 1024)	/* bytes of one directive */
#define CF_MAX_FILE		(64L * 1024 * 1024) /* bytes of one .cf file */
#define CF_MAX_FILES		1000	/* files read (directories, includes) */
#define CF_MAX_INCLUDE_DEPTH	16	/* nested include */
#define CF_MAX_IF_DEPTH		64	/* nested if/ifplugin */
#define CF_MAX_NAME		128	/* rule name: SpamAssassin's RULENAME_RE */
#define CF_MAX_EVAL_ARGS	32	/* arguments of one eval: call */
#define CF_MAX_REPORT_LINES	2000	/* problem lines kept in the report */
#define CF_MAX_TAGS		4096	/* replace_tag/pre/inter/post entries */
#define CF_REPLACE_PASSES	6	/* ReplaceTags: at most 6 passes */
#define CF_MAX_COND_TOKENS	256	/* tokens of one if expression */

/* ---- limits of the regex translation ---- */
#define PERLRE_MAX_LEN		(1024 * 1024)	/* bytes of one pattern */
#define PERLRE_MAX_SPLIT_DEPTH	12	/* halvings of an oversized pattern */
#define PERLRE_MAX_PARTS	256	/* compiled pieces of one pattern */
#define PERLRE_JIT_STACK_MIN	(32 * 1024)
#define PERLRE_JIT_STACK_MAX	(1024 * 1024)
#define PERLRE_DEPTH_LIMIT	5000	/* pcre2 backtracking depth */

/* ---- limits of meta expressions ---- */
#define META_MAX_TOKENS		4096	/* tokens of one expression */
#define META_MAX_DEPTH		64	/* nesting of parentheses/operators */
#define META_MAX_GLOB		128	/* rules_matching() argument */

/* ---- Perl regexes (perlre.c) ---- */

/* A compiled Perl regex: normally one pcre2 pattern; a pattern over
 * pcre2's size limit becomes several whose matches are OR-ed (top-level
 * alternation split in halves), never dropped. */
struct perlre {
	pcre2_code **code;
	unsigned ncode;
	int jit;		/* every piece JIT-compiled */
	char **psrc;		/* the text of each piece (NUL-ended) */
	char *src;		/* the whole pattern in pcre2 syntax (NUL-ended) */
	size_t srclen;
	uint32_t opts;		/* its PCRE2_* compile options */
};

/*
 * Split a delimited regex ("/re/flags", "m{re}flags", "m!re!i", "qr/.."/)
 * as SpamAssassin's compile_regexp() does. body/flags point into s;
 * flags are letters only. 0, or -1 with a reason in why.
 */
int perlre_split(const char *s, size_t len, struct span *body,
    struct span *flags, const char **why);
/*
 * Compile body with Perl flags (i s m x n; g o a u l d p c ignored) for
 * byte semantics (no UTF, ASCII classes: SpamAssassin's /aa). 0, or -1
 * with the reason appended to why.
 */
int perlre_compile(struct perlre *re, const char *body, size_t len,
    const char *flags, size_t flen, struct buf *why);
/* perlre_split + perlre_compile. */
int perlre_compile_delimited(struct perlre *re, const char *s, size_t len,
    struct buf *why);
void perlre_free(struct perlre *re);

/* Per-run matching state (one per thread). */
struct perlre_ctx {
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_jit_stack *js;
	unsigned long errors;	/* matches stopped by limits */
};
void perlre_ctx_init(struct perlre_ctx *c);
void perlre_ctx_fini(struct perlre_ctx *c);
/*
 * Leftmost match at or after off (Perl's semantics for the OR-ed pieces:
 * the earliest start wins, then the first piece). 1 with *start and *end
 * set, 0 no match, -1 a limit stopped it (counted; no match).
 */
int perlre_match(const struct perlre *re, struct perlre_ctx *c,
    const char *s, size_t len, size_t off, size_t *start, size_t *end);
/* The same over the pieces set in the bitset pieces only (bit i: piece
 * i; NULL: all): the caller knows the others cannot match s. */
int perlre_match_some(const struct perlre *re, struct perlre_ctx *c,
    const char *s, size_t len, size_t off, const unsigned char *pieces,
    size_t *start, size_t *end);

/* ---- meta expressions (meta.c) ---- */

struct meta_prog;

/*
 * Lookup of rule names while compiling a meta: returns the rule index,
 * or -1 when no rule of that name is defined (SpamAssassin: "(hit||0)",
 * so it counts 0).
 */
typedef int (*meta_lookup_fn)(void *arg, const char *name, size_t len);
/* Compile text. 0 with *out set, or -1 with the reason in why. deps (a
 * growable array of rule indexes, may hold duplicates) receives the
 * defined rules the expression reads. */
int meta_compile(const char *text, size_t len, meta_lookup_fn lookup,
    void *arg, struct meta_prog **out, int **deps, size_t *ndeps,
    struct buf *why);
/* Evaluate with Perl's semantics over vals[rule index] (hit counts, 0
 * for no hit). */
double meta_eval(const struct meta_prog *p, const double *vals);
void meta_free(struct meta_prog **pp);
/* Expand rules_matching(GLOB) as SpamAssassin does (sorted names joined
 * by '+' in parentheses, or 0); names are passed by the caller. */
int meta_glob_match(const char *glob, size_t glen, const char *name);

/* ---- the rule set (cf.c, rules.c) ---- */

enum rule_type {
	RT_NONE = 0,	/* only score/describe/tflags seen */
	RT_HEADER,
	RT_BODY,
	RT_RAWBODY,
	RT_FULL,
	RT_URI,
	RT_MIMEHEADER,
	RT_META,
	RT_EVAL,	/* eval: of any of the above kinds */
	RT_PLUGIN,	/* defined by a plugin directive we cannot run */
};

/* Where an eval rule runs (SpamAssassin's *_evals kinds). */
enum rule_evalkind {
	EK_HEAD, EK_BODY, EK_RAWBODY, EK_FULL, EK_URI, EK_RBL, EK_MIMEHEADER,
};

#define TF_MULTIPLE	0x0001
#define TF_NICE		0x0002
#define TF_NET		0x0004
#define TF_LEARN	0x0008
#define TF_USERCONF	0x0010
#define TF_NOAUTOLEARN	0x0020
#define TF_NOSUBJECT	0x0040
#define TF_AUTOLEARN_FORCE 0x0080

struct rule {
	char *name;
	enum rule_type type;
	enum rule_evalkind evalkind;
	char *text;		/* definition as written (after the name) */
	char *describe;
	double scores[4];
	int has_score;
	unsigned tflags;
	unsigned maxhits;	/* 0: none */
	unsigned range_min, range_max;	/* mimeheader tflags range= */
	int concat;		/* mimeheader tflags concat */
	long priority;
	const char *file;	/* owned by the rule set's file list */
	unsigned line;
	int replace;		/* listed in replace_rules */
	int runnable;		/* compiled and can run */
	int unsupported;	/* eval/plugin rule we cannot run */

	/* header and mimeheader */
	char *hname;
	unsigned hmods;		/* SM_H_* */
	int neg;		/* !~ or !exists */
	int exists;		/* exists:NAME */
	char *if_unset;		/* [if-unset: STR] or NULL */
	int hgroup;		/* index into the header groups */
	char *hlit;		/* a literal every match contains (lower-
				 * cased when hlit_fold), or NULL: when the
				 * value lacks it, pcre2 is not asked */
	size_t hlitlen;
	int hlit_fold;

	struct perlre re;

	/* eval */
	const struct score_eval_fn *efn;
	char *efname;
	char **eargs;
	size_t neargs;

	/* meta */
	struct meta_prog *meta;
	int *deps;
	size_t ndeps;
	double meta_zero;	/* its value when every dep is 0 (most
				 * messages, most metas): no evaluation */
};

/* Header rules that read the same value ("NAME:mods" with the same
 * if-unset) share one fetch per message. */
struct hgroup {
	char *name;
	unsigned mods;
};

/*
 * The prefilter of one line-wise rule kind (body, rawbody, full, uri):
 * one scan of a line names the rules that may match it, and only those
 * run pcre2 on it. It must never miss a line a rule matches (it may
 * name more). With Hyperscan: one block-mode database of a loosened
 * copy of every pattern (rules_pf_loosen) in prefilter mode, ids =
 * positions in the kind's run list. A pattern Hyperscan refuses, or
 * every pattern without Hyperscan, is filtered by a literal every
 * match contains (memmem); the rest run on every line ("always").
 * Built by rules_prepare, read-only afterwards.
 */
enum { PF_BODY, PF_RAWBODY, PF_FULL, PF_URI, PF_NKINDS };
enum { PF_M_ALWAYS, PF_M_HS, PF_M_LIT };

#define PF_MIN_LITERAL		3	/* shorter literals: no filter */
#define PF_BRANCH_BUDGET	120	/* bytes kept of one alternative of a
					 * loosened pattern (compile time) */
#define PF_MAX_DEPTH		64	/* group nesting the loosening follows */
#define PF_MAX_KEEP_MIN		16	/* {m,n} keeps m up to this, else + */
#define PF_MIN_WIDTH		3	/* a loosened pattern that can match
					 * fewer bytes is not worth a scan */
#define PF_MAX_HS_LEN		15000	/* bytes of one Hyperscan expression
					 * (Hyperscan refuses ~16000); a
					 * longer split pattern goes piece
					 * by piece */

struct pf_lit {
	char *s;		/* NULL: none */
	size_t len;
	int caseless;		/* s is lower-case; compare folded */
};

struct rules_pf {
	size_t n;		/* rules in the run list */
	unsigned char *mode;	/* per list position: PF_M_* */
	int *always;		/* list positions run on every line */
	size_t nalways;
	int *litpos;		/* list positions filtered by literal */
	size_t nlitpos;
	struct pf_lit *lit;	/* per list position */
	int has_fold;		/* a literal of litpos is caseless */
	void *db;		/* hs_database_t, or NULL */
	void *fzdb;		/* the patterns with fuzzy letters (a
				 * database of their own: see hs_is_fuzzy),
				 * or NULL; only with db */
	void *fzadb;		/* the same patterns, same ids, loosened
				 * for ASCII-only lines (PF_LOOSEN_ASCII),
				 * or NULL; only with fzdb */
	size_t nhs;		/* positions in db */
};

struct score_rules {
	struct rule *rules;
	size_t nrules;
	size_t cap;
	/* open-addressing name index: slot -> rule index + 1 (0 empty) */
	unsigned *idx;
	size_t idxcap;

	int score_set;
	double required;
	char **files;
	size_t nfiles;

	/* run order: rule indexes per kind, in priority then name order */
	int *head, *body, *rawbody, *full, *uri, *mimeh, *evals, *metas;
	size_t nhead, nbody, nrawbody, nfull, nuri, nmimeh, nevals, nmetas;
	struct hgroup *hgroups;
	size_t nhgroups;

	/* freemail_domains, enlist_*, welcome/block lists: what the eval
	 * functions read (eval.c), built by cf.c while loading. */
	struct score_eval_conf *eval_conf;

	int pf_hs;		/* score_load_opts.prefilter_hs */
	char *pf_cache_dir;	/* Hyperscan cache (usable), or NULL */
	int pf_cache_explicit;	/* given by the caller: create it */
	int pf_cache_writable;	/* we may store into it */
	struct rules_pf pf[PF_NKINDS];
	void *pf_scratch;	/* Hyperscan scratch for all of them, cloned
				 * per score_run (threads share the set) */
};

/* Find a rule by name: its index, or -1. */
int rules_find(const struct score_rules *r, const char *name, size_t len);
/* Active score of a rule in the rule set's score set. */
double rules_score(const struct score_rules *r, const struct rule *ru);
/* Build the run lists and prefilters (rules.c; called by cf.c once
 * loading is done). */
int rules_prepare(struct score_rules *r, struct score_load_report *rep);
/* Free what rules_prepare built for the prefilters (score_rules_free). */
void rules_pf_free(struct score_rules *r);

/*
 * A Hyperscan copy of a pcre2 pattern whose matches include all of
 * pcre2's (a superset language): bounded repeats {m,n} become * or +,
 * lookarounds and \K \G are dropped, atomic groups and possessive
 * quantifiers become plain, backreferences any text, and each
 * alternative keeps only its first PF_BRANCH_BUDGET bytes (a match of
 * the whole starts with a match of what is kept); drop_end also
 * drops $ \z \Z (Hyperscan refuses them inside a pattern). Small
 * automata compile in milliseconds where the exact ones take minutes.
 * 0 with the copy appended to out, -1 when it cannot say (recursion,
 * conditionals, /x...).
 */
int rules_pf_loosen(const char *p, size_t len, int flags, struct buf *out);
#define PF_LOOSEN_DROP_END	1	/* the drop_end above */
#define PF_LOOSEN_ASCII		2	/* for text without bytes >= 0x80:
					 * fuzzy letters keep only their
					 * ASCII spellings (see rules.c) */
/* The literal every match of pcre2 pattern p (options opts) contains:
 * 0 with it in out (lower-cased when caseless), -1 none. */
int rules_pf_literal(const char *p, size_t len, uint32_t opts,
    struct buf *out);

/* ---- the Hyperscan database cache (rules.c) ---- */

/* score_load_opts.cache_dir NULL: this directory when it exists */
#define SCORE_HS_CACHE_DEFAULT	"/var/cache/sluice"

/* Is dir a cache directory we may trust (owned by root or us, not
 * group/world writable; created first when create is set)? 1 usable
 * and writable, 0 usable read-only, -1 not usable. */
int rules_hsc_dir(const char *dir, int create);
/* Read the entry kind/key of dir, checked (ownership, mode, checksum,
 * key, nmodes): 0 with the modes copied and *db_at and *db_len the
 * serialised database inside file (caller's buffer), -1 none. */
int rules_hsc_get(const char *dir, const char *kind,
    const unsigned char key[32], unsigned char *modes, size_t nmodes,
    struct buf *file, const char **db_at, size_t *db_len);
/* Write the entry atomically (temp file, fsync, rename): 0 or -1. */
int rules_hsc_put(const char *dir, const char *kind,
    const unsigned char key[32], const unsigned char *modes, size_t nmodes,
    const char *db, size_t dblen);

/* Per-run prefilter state (one per thread, rules.c). */
/* Hyperscan ids: list position + PF_ID_STRIDE * (piece + 1) for the
 * pieces of a split pattern added one by one, the position alone for a
 * whole pattern. */
#define PF_ID_STRIDE		(1u << 20)
#define PF_PIECE_BYTES		((PERLRE_MAX_PARTS + 7) / 8)

struct pf_run {
	void *scratch;		/* hs_scratch_t or NULL */
	struct buf fold;	/* lower-cased line (literal fallback) */
	int *cand;		/* candidate list positions of one line */
	unsigned *seen;		/* per position: scan that named it */
	unsigned char *pall;	/* per candidate position: every piece may
				 * match (else only those in pbits) */
	unsigned char (*pbits)[PF_PIECE_BYTES];
	unsigned gen;
	size_t cap;
};
void pf_run_init(struct pf_run *pr, const struct score_rules *r);
void pf_run_fini(struct pf_run *pr);
/*
 * The rules of pf that may match s (list positions, into pr->cand, no
 * duplicates, in no order); the always rules are not named. Returns the
 * count, or -1 when the scan failed (then any rule may match).
 */
long pf_scan(const struct rules_pf *pf, struct pf_run *pr, const char *s,
    size_t len);

#endif
