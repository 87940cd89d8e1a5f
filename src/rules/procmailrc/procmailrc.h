/*
 * procmailrc.h - procmail's rule language: procmailrc(5), procmailsc(5),
 * procmailex(5), run the way procmail 3.22 runs it, but safely.
 *
 * Three parts, one public header (STYLE.md):
 *
 *  - the parser (parse.c): an rc file becomes a tree of pm_node (the
 *    assignments and recipes in file order; nested blocks as children).
 *    Regexes without '$' substitution are compiled here, once per file.
 *    Errors are "file:line:col: error: text" in pm_diags.
 *  - the regex dialect (regex.c): procmail's egrep-like regexes with
 *    their macros (^TO_, ^TO, ^FROM_DAEMON, ^FROM_MAILER), ^^, \< \>, \/
 *    and case folding, translated onto pcre2 with match limits.
 *  - the interpreter (run.c, subst.c): variables, substitution, flags,
 *    conditions and scoring, nesting, INCLUDERC/SWITCHRC, the special
 *    variables, and the default delivery at the end.
 *
 * Unlike Sieve (collect actions, commit at the end), procmail commits a
 * delivering recipe when it runs (DESIGN.md "One message through the
 * system"). The interpreter does not write mail itself: it calls the
 * environment (struct pm_env) to store into folders, take lockfiles and
 * run programs, so that rules stay below the delivery layer (lib <- msg
 * <- rules <- deliver <- lda) and "sluice test" can run it dry.
 */
#ifndef SLUICE_PROCMAILRC_H
#define SLUICE_PROCMAILRC_H

#include <stddef.h>
#include <sys/types.h>

#include "../../lib/buf.h"
#include "../../lib/err.h"

/* ---- limits (also in the man page) ---- */
#define PM_MAX_RC_SIZE		(1024L * 1024)	/* bytes of one rc file */
#define PM_MAX_LINE		(64L * 1024)	/* one logical line */
#define PM_MAX_NESTING		64	/* { } blocks inside each other */
#define PM_MAX_INCLUDE_DEPTH	16	/* INCLUDERC inside INCLUDERC */
#define PM_MAX_RECIPES		100000	/* per file */
#define PM_MAX_VAR_LEN		(1024L * 1024) /* a variable's value */
#define PM_MAX_VARS		4096
#define PM_MAX_ARGS		1024	/* words of a command */
#define PM_MATCH_LIMIT		10000000 /* pcre2 match limit per test */
#define PM_DEFAULT_TIMEOUT	960	/* procmail's TIMEOUT */
#define PM_DEFAULT_LOCKTIMEOUT	1024	/* procmail's LOCKTIMEOUT */
#define PM_MAX_PROGRAM_OUTPUT	(64L * 1024 * 1024) /* filter/capture */

/* ---- diagnostics ---- */
struct pm_diags {
	struct buf text;	/* "file:line:col: error: text\n"... */
	unsigned errors, warnings;
};
void pm_diags_init(struct pm_diags *d);
void pm_diags_free(struct pm_diags *d);

/* ---- regexes (regex.c) ---- */
struct pm_re;

#define PM_RE_CASELESS	0x1	/* no D flag */
#define PM_RE_MACROS	0x2	/* expand ^TO_ ^TO ^FROM_DAEMON ^FROM_MAILER */
#define PM_RE_LENIENT	0x4	/* accept unbalanced parentheses as procmail
				 * does (it logs "Invalid regexp" and uses
				 * the regex: "(a" is "(a)", "a)b" is "a") */

/*
 * Compile a procmail regex (len bytes; NUL bytes allowed). flags: PM_RE_*.
 * Returns 0, or -1 with e set (ERR_PERM, the message says what and where:
 * *erroff_out is the byte offset in pattern).
 */
int pm_re_compile(const char *pattern, size_t len, unsigned flags,
    struct pm_re **out, size_t *erroff_out, struct err *e);
/*
 * Match against subject (len bytes). Returns 1 (match), 0 (no match), or
 * -1 (match limit hit or pcre2 error: e set; the caller treats it as no
 * match and logs it). When the regex holds \/ and match_out is not NULL,
 * what the part after \/ matched is set there (*match_out points into
 * subject; procmail's MATCH), else *match_len_out is 0.
 */
int pm_re_exec(const struct pm_re *re, const char *subject, size_t len,
    const char **match_out, size_t *match_len_out, struct err *e);
/*
 * procmail's scoring loop (procmailsc(5)): search from subject + start on,
 * as procmail's bregexec() does: "^" sees the byte before start, and a
 * match ends at the earliest possible place. *end_out is one past the
 * match as procmail counts it; it may be len + 1 when the match took the
 * virtual newline after the text (procmail's loop stops there). MATCH as
 * pm_re_exec. Returns 1, 0 or -1 as pm_re_exec.
 */
int pm_re_exec_at(const struct pm_re *re, const char *subject, size_t len,
    size_t start, size_t *end_out, const char **match_out,
    size_t *match_len_out, struct err *e);
/* 1 if the regex has a \/ token. */
int pm_re_has_match(const struct pm_re *re);
void pm_re_free(struct pm_re **rep);

/* ---- the parsed rc file (parse.c) ---- */

/* Recipe flags, procmailrc(5) "Flags". */
#define PMF_H	0x0001	/* egrep the header (default) */
#define PMF_B	0x0002	/* egrep the body */
#define PMF_D	0x0004	/* case-sensitive egrep */
#define PMF_A	0x0008	/* only if the previous recipe without A/a matched */
#define PMF_a	0x0010	/* ...and its action succeeded */
#define PMF_E	0x0020	/* only if the previous recipe without A/a/E/e did not match */
#define PMF_e	0x0040	/* only if the previous recipe's action failed */
#define PMF_h	0x0080	/* feed the header to the action (default) */
#define PMF_b	0x0100	/* feed the body to the action (default) */
#define PMF_f	0x0200	/* filter: the pipe's output replaces the message */
#define PMF_c	0x0400	/* carbon copy / clone */
#define PMF_w	0x0800	/* wait for the program, check its exit code */
#define PMF_W	0x1000	/* as w, but suppress "Program failure" */
#define PMF_i	0x2000	/* ignore write errors (e.g. a filter that stops reading) */
#define PMF_r	0x4000	/* raw mode: no trailing empty line ensured */
/* Set by the parser when the recipe named neither H nor B (resp. h, b):
 * the defaults apply. */
#define PMF_DEFAULT_HB	0x10000
#define PMF_DEFAULT_hb	0x20000

enum pm_cond_kind {
	PMC_REGEX,	/* "* regex" (PMC_REGEX also for H ?? / B ?? forms) */
	PMC_SIZE_LT,	/* "* < N" */
	PMC_SIZE_GT,	/* "* > N" */
	PMC_PROGRAM,	/* "* ? command": exit 0 is a match */
	PMC_VAR,	/* "* VAR ?? regex" (also H ?? and B ??: var "H"/"B") */
};

struct pm_cond {
	enum pm_cond_kind kind;
	int line, col;
	int negate;		/* "!" */
	int expand;		/* "$": substitute variables first */
	int weighted;		/* "w^x" given */
	double weight, exponent;
	char *var;		/* PMC_VAR: the variable name (or "H", "B") */
	char *text;		/* regex / command / number, as written
				 * (after the leading "!", "$", weight) */
	size_t text_len;
	long size;		/* PMC_SIZE_* */
	struct pm_re *re;	/* compiled at parse time unless expand */
};

enum pm_node_kind {
	PM_ASSIGN,	/* NAME=value (value may be "| cmd" / "`cmd`"...) */
	PM_RECIPE,
};

enum pm_action_kind {
	PMA_FOLDER,	/* one or more folder names (words) */
	PMA_PIPE,	/* "| command" */
	PMA_FORWARD,	/* "! address..." */
	PMA_NEST,	/* "{ ... }": children */
	PMA_VARPIPE,	/* "VAR=| command": stdout into VAR */
};

struct pm_node {
	enum pm_node_kind kind;
	const char *file;	/* owned by the pm_file */
	int line, col;
	struct pm_node *next;

	/* PM_ASSIGN */
	char *name;
	char *value;		/* raw: quoting and substitutions kept; NULL
				 * for "NAME" alone (unset) */
	/* PM_RECIPE */
	unsigned flags;		/* PMF_* */
	int locked;		/* ":" after the flags */
	char *lockfile;		/* lockfile after ":", raw; NULL: implicit */
	struct pm_cond *conds;
	size_t nconds;
	enum pm_action_kind action;
	char *action_text;	/* raw, after "|", "!" (folders: the words) */
	int action_line;
	char *capture_var;	/* PMA_VARPIPE */
	struct pm_node *children; /* PMA_NEST */
};

struct pm_file {
	char *path;		/* name in messages */
	struct pm_node *nodes;	/* top level, file order */
	size_t nrecipes;
	/* Private to parse.c/run.c: the file's memory. */
	struct arena *arena;
};

/*
 * Parse src (len bytes, named name in messages). Returns 0 and *out, or -1
 * with errors in d (*out NULL). Procmail itself skips a bad recipe and
 * goes on; pm_parse() reports every error it finds, and the caller
 * decides (sluice: the mail goes to $DEFAULT; pm_conf.skip_bad_recipes
 * gives procmail's behaviour).
 */
int pm_parse(const char *name, const char *src, size_t len,
    struct pm_diags *d, struct pm_file **out);
/* Read path (at most PM_MAX_RC_SIZE) and parse it. */
int pm_parse_file(const char *path, struct pm_diags *d, struct pm_file **out);
void pm_file_free(struct pm_file **fp);

/* ---- the environment the interpreter runs in (given by the caller) ---- */

/* Which message parts an action gets, header as procmail holds it (its
 * first line is the "From " line). */
struct pm_folder_req {
	const char *const *folders;	/* expanded names, n of them */
	size_t nfolders;
	const char *head;		/* NULL/0 when only b */
	size_t head_len;
	const char *body;		/* NULL/0 when only h */
	size_t body_len;
	int locked;			/* under a lockfile already */
	int raw;			/* r flag */
	const char *maildir;		/* $MAILDIR (cwd), for relative names */
	mode_t umask;
	const char *msgprefix;		/* $MSGPREFIX: names in a plain
					 * directory (NULL: "msg.") */
};

enum pm_prog_kind {
	PMP_CONDITION,	/* "* ? cmd": stdout discarded */
	PMP_BACKQUOTE,	/* `cmd` in an assignment: stdout captured */
	PMP_CAPTURE,	/* VAR=| cmd */
	PMP_FILTER,	/* :0 f: stdout becomes the message */
	PMP_DELIVER,	/* | cmd as a delivering action (or c clone) */
	PMP_FORWARD,	/* ! addresses: $SENDMAIL $SENDMAILFLAGS addr... */
	PMP_TRAP,	/* $TRAP at the end */
};

struct pm_prog_req {
	enum pm_prog_kind kind;
	const char *const *argv;	/* argv[0] as given: the environment
					 * resolves it through PATH */
	const char *const *envp;	/* every exported variable, "K=V" */
	const char *in;			/* stdin (may be NULL/0) */
	size_t in_len;
	int capture;			/* keep stdout (filter, backquote, capture) */
	size_t out_cap;			/* 0: PM_MAX_PROGRAM_OUTPUT */
	unsigned timeout;		/* $TIMEOUT seconds */
	int ignore_write_errors;	/* i flag */
	int err_fd;			/* the program's stderr and the
					 * environment's own complaints go
					 * here: the run's LOGFILE, as
					 * procmail's; -1: the caller's
					 * stderr */
};

struct pm_prog_res {
	int started;		/* 0: could not run it (exec failed) */
	int exited, status;	/* exit code when exited */
	int signaled;
	int timed_out;
	struct buf out;		/* stdout when capture (caller frees) */
};

struct pm_env {
	void *arg;
	/*
	 * Store into folders (procmailrc(5) "MAILDIR", procmail(1) "folder
	 * types"): "dir/" Maildir, "dir/." MH, an existing directory (msg.X
	 * files), a file (mbox, From_ line and ">From" quoting as procmail),
	 * /dev/null. Several names: stored into the first, hard-linked into
	 * the rest. Returns 0 and lastfolder (what procmail puts into
	 * $LASTFOLDER) or -1 with e set (procmail: the recipe failed; ERR_TEMP
	 * errors also make the run end with EX_TEMPFAIL if nothing else
	 * delivers).
	 */
	int (*deliver)(void *arg, const struct pm_folder_req *r,
	    struct buf *lastfolder, struct err *e);
	/* Create a procmail lockfile (lockfile(1) semantics: O_EXCL, retry
	 * every 8 s up to locktimeout, then remove a stale one older than
	 * locktimeout; 0 = wait forever). 0 or -1 with e. */
	int (*lock)(void *arg, const char *path, long locktimeout,
	    struct err *e);
	void (*unlock)(void *arg, const char *path);
	/* Run a program; 0 when res is filled (look at it), -1 with e for a
	 * local error. */
	int (*program)(void *arg, const struct pm_prog_req *r,
	    struct pm_prog_res *res, struct err *e);
};

/* ---- running (run.c) ---- */

struct pm_conf {
	int skip_bad_recipes;	/* procmail's way with a bad rc file */
	int check_rc_perms;	/* procmail's owner/mode checks (1 in the LDA) */
	uid_t uid;		/* the user rc files must belong to */
	int dry_run;		/* sluice test: the env decides what runs */
	int trace;		/* keep trace lines for pm_run_trace() (a
				 * formatted line per recipe: only when a
				 * caller reads them; dry runs always do) */
};

/* Where a run ended. */
enum pm_outcome {
	PM_DELIVERED,		/* a delivering recipe or DEFAULT succeeded */
	PM_TEMPFAIL,		/* nothing delivered: exit 75 */
	PM_EXITCODE,		/* $EXITCODE / a HOST mismatch... see status */
};

struct pm_run;

/*
 * A run over one message. text is the whole message as procmail holds
 * it: a "From " line first (the caller makes one when the input had
 * none), the header, the empty line, the body; the run takes a copy.
 * vars are the initial variables ("K=V": the caller's environment and
 * procmail's defaults and command-line assignments, in that order: later
 * wins); args are $1.. ("-a" and the arguments after the rc file in -m).
 */
struct pm_run *pm_run_new(const struct pm_conf *c, const struct pm_env *env,
    const char *text, size_t len, const char *const *vars, size_t nvars,
    const char *const *args, size_t nargs);
/*
 * Run the rc file path (read, permission-checked when c->check_rc_perms,
 * parsed, run). Several calls run several files in turn (procmail: the
 * global /etc/procmailrc, then the user's), stopping once the message is
 * delivered. Returns 1 (delivered: stop), 0 (fell off the end) or -1 when
 * the file could not be used (e set; diagnostics in d).
 */
int pm_run_file(struct pm_run *r, const char *path, struct pm_diags *d,
    struct err *e);
/*
 * Finish: when nothing delivered yet, deliver to $DEFAULT, then $ORGMAIL
 * (procmail's fallbacks); run $TRAP; work out the exit status. Returns a
 * sysexits.h code: 0, 75 (EX_TEMPFAIL: never 73 as procmail), or
 * $EXITCODE when set.
 */
int pm_run_finish(struct pm_run *r, struct err *e);
/* A variable's value after the run (NULL when unset). */
const char *pm_run_var(const struct pm_run *r, const char *name);
/* Append "file:line: ..." trace lines to t (NULL: none), sluice test. */
void pm_run_trace(struct pm_run *r, struct buf *t);
void pm_run_free(struct pm_run **rp);

/* ---- convert (convert.c) ---- */

struct pm_convert_opts {
	int pipe_ext;		/* pipes may become vnd.dovecot.pipe/filter */
};
/*
 * Translate f into a Sieve script appended to out. Returns the number of
 * recipes or assignments that could not be translated (each marked with
 * a "# sluice convert: ..." comment in the output), 0 when the script is
 * an exact equivalent.
 */
int pm_convert(const struct pm_file *f, const struct pm_convert_opts *o,
    struct buf *out);

#endif
