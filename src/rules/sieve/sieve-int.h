/*
 * sieve-int.h - inside the Sieve compiler and interpreter, and the
 * contract for extensions.
 *
 * Pipeline: lexer.c (tokens) -> parser.c (syntax tree in the script's
 * arena, every node with file:line:col) -> validate.c (registry driven:
 * require, argument signatures, tags, extension hooks) -> interp.c (walks
 * the tree, appends to an action list). match.c holds comparators and
 * match types, variables.c the variables extension.
 *
 * ---- Adding an extension ----
 *
 * One file, one table (STYLE.md). An extension is a `struct sv_ext`:
 *
 *	static const struct sv_cmd foo_cmds[] = {
 *		{ .name = "foo", .kind = SV_COMMAND, .sig = "sL",
 *		  .tags = foo_tags, .validate = foo_validate, .run = foo_run },
 *		{ .name = "isfoo", .kind = SV_TEST, .sig = "l",
 *		  .tagsets = SV_TS_MATCH | SV_TS_COMPARATOR,
 *		  .flags = SV_CMD_NEEDS_BODY, .run = isfoo_run },
 *		{ NULL }
 *	};
 *	static const struct sv_tag_add foo_adds[] = {
 *		{ "fileinto", { "foo", SV_P_STR } },	   :foo on fileinto
 *		{ "@match", { "near", SV_P_NONE, SV_G_MATCH, MT_USER } },
 *		{ NULL }
 *	};
 *	const struct sv_ext sv_ext_foo = {
 *		.name = "foo", .cmds = foo_cmds, .tags = foo_adds,
 *	};
 *
 * and one line in registry.c's table. What the pieces mean:
 *
 * - sv_cmd.sig: positional arguments, one letter each: 's' string, 'l'
 *   string list (a single string is accepted), 'n' number; upper case
 *   marks an optional one (only trailing or leading-optional as "Ll":
 *   the validator fills from the right). .subtests: 0, SV_ONE_TEST or
 *   SV_TEST_LIST. .block: a block is required.
 * - Tags: .tags (NULL-terminated) are the command's own; .tagsets pulls
 *   in the shared sets (match type, comparator, address part) that the
 *   core and other extensions (regex, relational, subaddress) fill.
 *   sv_tag_add lets an extension add a tag to another extension's
 *   command ("fileinto") or to a set ("@match", "@comparator",
 *   "@addrpart"); such a tag exists only when its extension is required.
 *   A tag in group SV_G_MATCH/SV_G_COMPARATOR/SV_G_ADDRPART sets
 *   node->match (mtype/relop, comparator, addrpart) for match.c.
 * - validate(v, node): after the generic checks; report with
 *   sv_verror(v, pos, ...) and return -1. Store compiled data in
 *   node->data (allocate from v->arena). Constant strings are known
 *   here; sv_str.vars says a string holds ${...} to expand at runtime.
 * - run(r, node): commands return 0, SV_STOP (stop the script) or -1 after
 *   sv_rerror(); tests return 1 (true), 0 (false) or -1. Read arguments
 *   with sv_pos_str()/sv_pos_list() (variables expanded) and tags with
 *   sv_node_tag(). The message is r->msg (header indexed); a command
 *   with SV_CMD_NEEDS_BODY makes the LDA map it (r->msg->data/len) and
 *   can use sv_body_raw(). Append actions with sv_action_add(), which
 *   applies RFC 5228 2.10 (duplicates, implicit keep, limits, reject
 *   conflicts); set extra fields on the returned struct action.
 * - Per-run state: sv_ext_state(r, &sv_ext_foo) is a void * slot (NULL at
 *   the start of each run) for the extension; allocate from r->arena.
 * - Variables (when "variables" is required): sv_var_get/sv_var_set;
 *   match values ${0}..${9} are set by sv_match_*().
 * - Trace for `sluice test`: sv_trace(r, node, fmt, ...); the interpreter
 *   already traces each command and each test result.
 * - ext.flags SV_EXT_CORE: always on, cannot be required (the RFC 5228
 *   base); SV_EXT_HIDDEN: not in ihave/sieve_extensions defaults
 *   (vnd.dovecot.testsuite). sv_ext.run_done(r) is called at the end of
 *   each script run (free what state points at outside the arena).
 */
#ifndef SLUICE_SIEVE_INT_H
#define SLUICE_SIEVE_INT_H

#include <stdint.h>
#include <time.h>

#include "../../lib/arena.h"
#include "sieve.h"

#define SV_MAX_VAR_SIZE		4096	/* bytes of one variable value (Pigeonhole) */
#define SV_MAX_VARS		255	/* variables per script (Pigeonhole) */
#define SV_MAX_MATCH		10	/* ${0}..${9} */
#define SV_MAX_EXTS		64	/* registry size */
#define SV_MAX_STRLIST		1024	/* strings in one list */
#define SV_MAX_TAGS		16	/* tags on one command */
#define SV_MAX_STRING		(1024 * 1024)
#define SV_REGEX_MATCH_LIMIT	100000	/* pcre2 match limit */
#define SV_REGEX_DEPTH_LIMIT	10000	/* pcre2 depth limit */
#define SV_STOP			1
#define SV_RETURN		2	/* include's "return": ends one script */
#define SV_BREAK		3	/* ext-mime.c: break out of foreverypart */

struct sv_pos {
	unsigned line, col;
};

/* A string argument as written (escapes, dot-stuffing and, when
 * "encoded-character" is required, encodings already decoded). */
struct sv_str {
	char *s;
	size_t len;
	struct sv_pos pos;
	unsigned vars:1;	/* holds "${": expand at runtime */
};

enum sv_argt { SV_A_STR, SV_A_LIST, SV_A_NUM, SV_A_TAG };

struct sv_arg {
	enum sv_argt type;
	struct sv_pos pos;
	struct sv_str *v;	/* STR: 1, LIST: n strings */
	size_t n;
	uint64_t num;
	const char *tag;	/* TAG: name without ':' */
};

/* ---- registry ---- */

enum sv_param { SV_P_NONE, SV_P_STR, SV_P_LIST, SV_P_NUM };
enum sv_group { SV_G_NONE, SV_G_MATCH, SV_G_COMPARATOR, SV_G_ADDRPART,
	SV_G_OWN };

/* match types (node->match.mtype) */
enum { MT_IS, MT_CONTAINS, MT_MATCHES, MT_REGEX, MT_COUNT, MT_VALUE,
	MT_USER = 32 };
/* address parts */
enum { AP_ALL, AP_LOCAL, AP_DOMAIN, AP_USER, AP_DETAIL };
/* comparators */
enum { CMP_CASEMAP, CMP_OCTET, CMP_NUMERIC };
/* relational operators */
enum { REL_GT, REL_GE, REL_LT, REL_LE, REL_EQ, REL_NE };

struct sv_tag {
	const char *name;	/* without ':' */
	enum sv_param param;
	enum sv_group group;
	int id;			/* MT_*, AP_*, or the extension's own */
};

struct sv_tag_add {
	const char *target;	/* command name, "@match", "@comparator", "@addrpart" */
	struct sv_tag tag;
};

#define SV_TS_MATCH		0x1
#define SV_TS_COMPARATOR	0x2
#define SV_TS_ADDRPART		0x4

#define SV_ONE_TEST		1
#define SV_TEST_LIST		2

#define SV_CMD_NEEDS_BODY	0x1
#define SV_CMD_IF		0x2	/* if */
#define SV_CMD_ELSE		0x4	/* elsif/else: must follow if/elsif */
#define SV_CMD_REQUIRE		0x8
#define SV_CMD_NOVARS		0x10	/* strings are never expanded */

struct sv_node;
struct sv_vctx;
struct sv_rctx;

enum sv_kind { SV_COMMAND, SV_TEST };

struct sv_cmd {
	const char *name;
	enum sv_kind kind;
	const char *sig;
	unsigned tagsets;		/* SV_TS_* */
	const struct sv_tag *tags;	/* own tags, NULL-terminated */
	int subtests;			/* 0, SV_ONE_TEST, SV_TEST_LIST */
	int block;			/* 1: "{ }" required */
	unsigned flags;			/* SV_CMD_* */
	int (*validate)(struct sv_vctx *v, struct sv_node *n);
	int (*run)(struct sv_rctx *r, const struct sv_node *n);
};

#define SV_EXT_CORE	0x1
#define SV_EXT_HIDDEN	0x2

struct sv_ext {
	const char *name;
	const struct sv_cmd *cmds;	/* NULL-terminated, or NULL */
	const struct sv_tag_add *tags;	/* NULL-terminated, or NULL */
	unsigned flags;
	void (*run_done)(struct sv_rctx *r);
};

/* registry.c */
size_t sv_registry_count(void);
const struct sv_ext *sv_registry_ext(size_t i);
int sv_ext_index(const char *name);	/* -1 if unknown */
int sv_ext_ptr_index(const struct sv_ext *ext);	/* -1 if not registered */

/* ---- syntax tree ---- */

struct sv_tagval {
	const struct sv_tag *def;
	const struct sv_arg *param;	/* NULL for SV_P_NONE */
	const struct sv_arg *at;	/* the tag itself */
};

struct sv_match {
	int mtype, relop, comparator, addrpart;
	struct sv_pos pos;
};

struct sv_node {
	const char *name;
	struct sv_pos pos;
	const char *origin;	/* "file:line" */
	enum sv_kind kind;
	struct sv_arg *args;
	size_t nargs;
	struct sv_node **tests;
	size_t ntests;
	int test_list;		/* written as ( ... ) */
	struct sv_node *block;	/* first command of the block */
	int has_block;
	struct sv_node *next;

	/* filled by the validator */
	const struct sv_cmd *def;
	const struct sv_ext *ext;
	const struct sv_arg *pos_args[4];
	size_t npos;
	struct sv_tagval tags[SV_MAX_TAGS];
	size_t ntags;
	struct sv_match match;
	void *data;		/* extension's compiled data */
	unsigned skip:1;	/* ihave of an unknown extension: never run */
};

struct sieve_script {
	struct arena *arena;
	char *name;
	struct sv_node *first;
	uint64_t exts;		/* bit i: registry extension i required */
	int needs_body;
	/* include (ext-include.c): the tree of included scripts is shared
	 * by all its scripts and owned by the root (inc_root). */
	struct sv_inc_tree *inc;
	struct sieve_script *inc_parent;	/* NULL for the root */
	unsigned inc_depth;
	char **globals;		/* names declared with "global" (arena) */
	size_t nglobals;
	char *path;		/* file it was read from, or NULL */
};

/* Compile path as an include of parent (NULL: a root); see sieve_compile. */
int sv_compile_file_sub(const struct sieve_conf *c, const char *path,
    struct sieve_diags *d, struct sieve_script *parent,
    struct sieve_script **out);
/* ext-include.c: free the include tree if s is its root. */
void sv_include_free(struct sieve_script *s);
/* RFC 6609 3.3/3.5: 1 and the storage key ("global.x") in key_out (arena
 * of r) if name[0..len) is a global variable of the running script. */
int sv_include_global_key(struct sv_rctx *r, const char *name, size_t len,
    const char **key_out);

/* ---- diagnostics ---- */

void sv_diag(struct sieve_diags *d, const char *file, struct sv_pos pos,
    int is_error, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void sv_vdiag(struct sieve_diags *d, const char *file, struct sv_pos pos,
    int is_error, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/* ---- lexer / parser ---- */

enum sv_tok {
	T_EOF, T_ID, T_TAG, T_NUM, T_STR, T_LBRACK, T_RBRACK, T_LPAREN,
	T_RPAREN, T_LBRACE, T_RBRACE, T_COMMA, T_SEMI, T_BAD,
};

struct sv_token {
	enum sv_tok t;
	struct sv_pos pos;
	char *s;		/* identifier, tag, string value (arena) */
	size_t len;
	uint64_t num;
};

struct sv_lexer {
	const char *p, *end, *bol;
	unsigned line;
	const char *file;
	struct arena *arena;
	struct sieve_diags *d;
};

void sv_lex_init(struct sv_lexer *lx, const char *file, const char *src,
    size_t len, struct arena *a, struct sieve_diags *d);
/* Next token; errors are reported and yield T_BAD (the lexer has moved
 * past the bad bytes). */
void sv_lex_next(struct sv_lexer *lx, struct sv_token *t);
const char *sv_tok_name(enum sv_tok t);

/* Parse a whole script into a list of commands; NULL-safe on errors
 * (diagnostics in d). */
struct sv_node *sv_parse(const char *file, const char *src, size_t len,
    struct arena *a, struct sieve_diags *d);

/* ---- validator ---- */

struct sv_vctx {
	struct arena *arena;
	struct sieve_script *script;
	struct sieve_diags *d;
	const struct sieve_conf *conf;
	uint64_t enabled;	/* allowed by sieve_extensions */
	uint64_t required;	/* require'd so far (plus ihave scopes) */
	/* process_strings() asks for these for every string: remembered
	 * for the `required` mask they were computed under. */
	uint64_t str_mask;
	int str_valid, str_enc, str_vars;
};

int sv_validate(struct sv_vctx *v, struct sv_node *first);
void sv_verror(struct sv_vctx *v, struct sv_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sv_vwarning(struct sv_vctx *v, struct sv_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int sv_vrequired(const struct sv_vctx *v, const char *ext);
/* Parse the extensions setting into a mask of enabled extensions. */
uint64_t sv_ext_enabled_mask(const char *setting);

/* ---- runtime ---- */

struct sv_result {
	struct action_list *l;		/* the sequence's list */
	size_t start;			/* first action of this script */
	int implicit_keep;
	int keep_seen;			/* an explicit keep in this script */
	unsigned nactions, nredirects;
	int rejected;
};

struct sv_rctx {
	struct arena *arena;		/* per run */
	struct sieve_script *script;
	struct msg *msg;
	const struct sieve_env *env;
	struct sv_result res;
	struct sieve_diags *d;
	struct buf *trace;
	int error;			/* a runtime error was reported */

	/* variables (variables.c) */
	char **var_names, **var_vals;
	size_t nvars;
	char *match[SV_MAX_MATCH];
	int nmatch;

	char *flags;			/* imap4flags internal variable */
	void *ext_state[SV_MAX_EXTS];
	/* Decoded header values, keyed by the raw value's address, so that
	 * a thousand rules testing Subject decode it once (sv_hdr_value). */
	struct sv_hcache *hcache;
	const char *trace_hit;		/* what the last test matched */

	unsigned long steps;
	clock_t cpu_start;
	unsigned max_cpu;
};

int sv_run_commands(struct sv_rctx *r, const struct sv_node *first);
int sv_run_test(struct sv_rctx *r, const struct sv_node *t);
int sv_rerror(struct sv_rctx *r, const struct sv_node *n,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sv_trace(struct sv_rctx *r, const struct sv_node *n,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void **sv_ext_state(struct sv_rctx *r, const struct sv_ext *ext);

/* Arguments at runtime (variables expanded; arena strings). */
const char *sv_str_expand(struct sv_rctx *r, const struct sv_str *s);
const char *sv_pos_str(struct sv_rctx *r, const struct sv_node *n, size_t i);
/* A string list: count returned, strings in *out (arena). */
size_t sv_pos_list(struct sv_rctx *r, const struct sv_node *n, size_t i,
    const char ***out);
size_t sv_arg_list(struct sv_rctx *r, const struct sv_arg *a,
    const char ***out);
/* A tag on n: the tag value (its param may be NULL), or NULL if absent. */
const struct sv_tagval *sv_node_tag(const struct sv_node *n,
    const char *name);
int sv_ext_required(const struct sieve_script *s, const char *ext);

/* Append an action under RFC 5228 2.10 and Pigeonhole's rules; NULL after
 * a runtime error (limits, conflicts). A duplicate returns the existing
 * action. copy: RFC 3894, the implicit keep is not cancelled. */
struct action *sv_action_add(struct sv_rctx *r, const struct sv_node *n,
    enum act_type type, const char *arg, int copy);
/* Whole message bytes (mapped) or NULL; body starts at msg->body_off. */
const char *sv_body_raw(struct sv_rctx *r, size_t *len_out);

/* ---- matching (match.c) ---- */

struct sv_matcher {
	struct sv_rctx *r;
	const struct sv_node *n;
	const char **keys;
	size_t nkeys;
	size_t count;		/* values seen (:count) */
	int matched;
	int error;
	void **re;		/* compiled regexes, per key */
};

/* Begin matching n's keys (positional arg keyidx) against values. */
int sv_match_begin(struct sv_matcher *m, struct sv_rctx *r,
    const struct sv_node *n, size_t keyidx);
/* Feed a value: 1 matched (stop feeding unless :count), 0 not, -1 error. */
int sv_match_value(struct sv_matcher *m, const char *v, size_t len);
/* Result: 1, 0 or -1. */
int sv_match_end(struct sv_matcher *m);
/* Compile-time checks of node->match (comparator/match-type combos,
 * constant regexes). */
int sv_match_validate(struct sv_vctx *v, struct sv_node *n, size_t keyidx);
int sv_comparator_id(const char *name);
/* i;ascii-numeric, RFC 4790 9.1: <0, 0, >0; non-digits are +infinity. */
int sv_numeric_cmp(const char *a, size_t al, const char *b, size_t bl);
/* glob :matches with * ? and \ escapes; captures into r->match. */
int sv_glob(struct sv_rctx *r, const char *pat, const char *s, size_t slen,
    int icase, int capture);

/* ---- variables (variables.c) ---- */

const char *sv_var_get(struct sv_rctx *r, const char *name);
int sv_var_set(struct sv_rctx *r, const char *name, const char *value);
void sv_set_match(struct sv_rctx *r, int i, const char *p, size_t len);
void sv_clear_match(struct sv_rctx *r);
int sv_var_name_ok(const char *s, size_t len);

/* ---- extensions (one table each) ---- */
extern const struct sv_ext sv_ext_core, sv_ext_fileinto, sv_ext_envelope,
    sv_ext_reject, sv_ext_ereject, sv_ext_copy, sv_ext_imap4flags,
    sv_ext_body, sv_ext_variables, sv_ext_relational, sv_ext_subaddress,
    sv_ext_regex, sv_ext_mailbox, sv_ext_environment, sv_ext_ihave,
    sv_ext_encoded_character, sv_ext_cmp_numeric, sv_ext_cmp_octet,
    sv_ext_cmp_casemap, sv_ext_vacation, sv_ext_vacation_seconds,
    sv_ext_duplicate, sv_ext_enotify;

/* ext-duplicate.c: the first 128 bits of SHA-256 over parts (each
 * followed by a NUL byte), as 32 hex digits and a NUL in out. Used to
 * keep state-store keys short (STORE_MAX_KEY) whatever the input. */
void sv_digest_hex(const char *const *parts, size_t n, char out[33]);
/* ext-vacation.c: the run's vacation/duplicate settings: env->reply, else
 * from env->conf (sluice.conf), else Pigeonhole's defaults (in tmp). */
const struct sieve_reply_conf *sv_reply_conf(const struct sv_rctx *r,
    struct sieve_reply_conf *tmp);
/* ext-enotify.c: RFC 5435 6 :encodeurl (percent-encode all but the RFC
 * 3986 unreserved characters) of b in place. */
void sv_encodeurl(struct buf *b);
#define SV_MOD_ENCODEURL	64	/* tag id of :encodeurl on "set" */
extern const struct sv_ext sv_ext_include;
/* ext-mime.c (RFC 5703), ext-extprograms.c (Pigeonhole's extprograms). */
extern const struct sv_ext sv_ext_mime, sv_ext_foreverypart,
    sv_ext_extracttext, sv_ext_vnd_pipe, sv_ext_vnd_filter,
    sv_ext_vnd_execute;
/* header/address/exists with :mime and its options (commands.c calls
 * these when the :mime extension's tags are present). */
int sv_mime_test_validate(struct sv_vctx *v, struct sv_node *n);
int sv_mime_test_run(struct sv_rctx *r, const struct sv_node *n);
/* 1 while a foreverypart loop runs (a filter may not replace the
 * message under it). */
int sv_mime_in_loop(struct sv_rctx *r);
extern const struct sv_ext sv_ext_testsuite;	/* ext-testsuite.c */

/* date/index (ext-date.c), spamtest (ext-spamtest.c), editheader
 * (ext-editheader.c). */
extern const struct sv_ext sv_ext_date, sv_ext_hindex, sv_ext_spamtest,
    sv_ext_spamtestplus, sv_ext_virustest, sv_ext_editheader;

/*
 * The header as this run sees it (RFC 5293 2): every header lookup goes
 * through these, so that editheader's edits are visible to later tests.
 * sv_hdr_view: the fields in order (the message's until a script edits
 * them; then a per-run copy in r->arena, see ext-editheader.c).
 * sv_hdr_value: a field's value for matching: unfolded and RFC 2047
 * decoded (arena). sv_hdr_select: the fields named name that test n
 * looks at (RFC 5260 6: all of them, or the one :index [:last] picks);
 * count returned, pointers (arena) in *out. sv_index_validate checks
 * :index/:last on n (for validate hooks).
 */
const struct hdr *sv_hdr_view(struct sv_rctx *r, size_t *n_out);
char *sv_hdr_value(struct sv_rctx *r, const struct hdr *h);
size_t sv_hdr_select(struct sv_rctx *r, const struct sv_node *n,
    const char *name, const struct hdr ***out);
int sv_index_validate(struct sv_vctx *v, struct sv_node *n);

/* imap4flags helpers (ext-imap4flags.c), used by keep/fileinto. */
void sv_flags_apply(struct sv_rctx *r, const struct sv_node *n,
    struct action *a);

#endif
