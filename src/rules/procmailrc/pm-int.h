/*
 * pm-int.h - procmailrc internals shared by parse.c, subst.c and run.c.
 * Not for other modules: procmailrc.h is the contract.
 */
#ifndef SLUICE_PM_INT_H
#define SLUICE_PM_INT_H

#include <stdarg.h>

#include "procmailrc.h"
#include "../../lib/arena.h"

/* Procmail's line buffer default (LINEBUF) and its floor. */
#define PM_DEFAULT_LINEBUF	2048
#define PM_MIN_LINEBUF		128
/* Subject characters shown by LOGABSTRACT (procmail's MAXSUBJECTSHOW). */
#define PM_MAX_SUBJECT_SHOW	78
/* Score bounds of procmailsc(5): "plus/minus infinity". */
#define PM_SCORE_MAX		2147483647.0
#define PM_SCORE_MIN		(-2147483647.0)
/* Trace buffer cap for "sluice test". */
#define PM_MAX_TRACE		(4L * 1024 * 1024)
/* Log lines kept when there is no LOGFILE in a dry run. */
#define PM_MAX_LOGBUF		(1024L * 1024)

/* The recipe flag letters, in procmail's order (RECFLAGS). */
#define PM_FLAG_LETTERS		"HBDAaEehbfcwWir"

/* ---- parse.c ---- */

/*
 * Parse like pm_parse(), but always return the file (NULL only when src
 * is over PM_MAX_RC_SIZE): the recipes and assignments that parsed are
 * in it, those with errors are left out (procmail's "skip a bad recipe").
 * Returns the number of errors (0: clean).
 */
unsigned pm_parse_partial(const char *name, const char *src, size_t len,
    struct pm_diags *d, struct pm_file **out);
/*
 * Classify one condition text (after "*", or after "$" substitution at run
 * time): weight, "!", "?", "<", ">", "VAR ??", "\\", regex. Fills c (its
 * strings in a) and compiles the regex unless c->expand. Returns 0, or -1
 * with e set (bad weight, bad regex: *col_out is the byte offset).
 * flags are the recipe's PMF_* (D: case-sensitive).
 */
int pm_cond_classify(struct pm_cond *c, const char *text, size_t len,
    unsigned flags, struct arena *a, size_t *off_out, struct err *e);
/* procmail's squeeze(): drop backslash-newline pairs and the leading
 * blanks of continued lines, in place; returns the new length. */
size_t pm_squeeze(char *s, size_t len);

/* ---- subst.c: procmail's readparse() ---- */

enum pm_subst_mode {
	PM_SUB_WORDS = 0,	/* split into words like sh (commands, folders) */
	PM_SUB_ASSIGN = 1,	/* one word: an assignment's value */
	PM_SUB_KEEP = 2,	/* keep blanks ("$" conditions, sizes) */
};

/* The result of a substitution: words separated by NUL in b. */
struct pm_words {
	struct buf b;
	size_t n;		/* words */
	long allargs;		/* word index that "$@" replaces, or -1 */
	int overflow;		/* a limit cut something */
};

struct pm_run;

void pm_words_init(struct pm_words *w);
void pm_words_free(struct pm_words *w);
/* Word i (NUL-terminated, inside w->b). */
const char *pm_word(const struct pm_words *w, size_t i);
/*
 * Substitute s (len bytes) as procmail does (procmailrc(5), sh rules,
 * $VAR ${VAR:-x} ${VAR-x} ${VAR:+x} ${VAR+x} $\VAR $# $n "$@" $= $_ $- $$
 * $?, backquotes through pm_backquote()). Stops at an unquoted newline.
 * Returns 0, or -1 when a limit was hit (w->overflow; procmail sets
 * PROCMAIL_OVERFLOW and the caller treats the line as failed).
 */
int pm_subst(struct pm_run *r, const char *s, size_t len,
    enum pm_subst_mode mode, struct pm_words *w);
/* $\VAR: the value with regex specials escaped, "()" in front. */
void pm_regex_quote(struct buf *out, const char *v);
/* Split on blanks (simplesplit), appending words to w. */
void pm_split_append(struct pm_words *w, const char *s);

/* ---- run.c (used by subst.c) ---- */

struct pm_var {
	char *name;
	char *value;		/* NULL: unset */
};

struct pm_frame_state {
	int lastcond, prevcond;
};

struct pm_run {
	struct pm_conf conf;
	struct pm_env env;
	/* The message: From_ line, header, empty line, body. */
	struct buf msg;
	size_t body_off;	/* where the body starts (after the empty line) */
	struct buf hcat;	/* header with continuations joined (cache) */
	int hcat_valid;
	/* Variables in assignment order (the environment of programs). */
	struct pm_var *vars;
	size_t nvars, capvars;
	char **args;		/* $1.. */
	size_t nargs, shifted;
	/* Interpreter state. */
	int lastsucc, lastcond, prevcond;
	long lastscore;
	int lastexit;		/* $? */
	int delivered;		/* a delivering recipe succeeded */
	int fake_delivered;	/* DELIVERED=yes */
	int stop;		/* stop this file (HOST, SWITCHRC unset) */
	int host_mismatch;
	int exitcode_set;	/* EXITCODE was assigned */
	int tempfail;		/* an ERR_TEMP delivery error happened */
	int verbose;
	int logabstract;	/* -1 default, 0 no, 1 yes, 2 all */
	int logfd;		/* -1: stderr */
	char *logfile;
	char *globlock;		/* LOCKFILE held */
	char *loclock;		/* local lockfile held */
	mode_t umask;
	long linebuf;
	int include_depth;
	int didchd;		/* MAILDIR was entered */
	int ino_n;		/* rc files being run (cycle check) */
	dev_t ino_dev[PM_MAX_INCLUDE_DEPTH + 2];
	ino_t ino_ino[PM_MAX_INCLUDE_DEPTH + 2];
	unsigned nest_depth;
	const char *curfile;	/* $_ */
	int curline;		/* line of the statement running (messages) */
	char *switch_to;	/* SWITCHRC request */
	long last_size;		/* bytes of the last delivery (abstract) */
	struct buf trace;	/* sluice test */
	int tracing;
	struct buf dry_log;	/* log lines in a dry run */
	struct pm_diags *diags;	/* of the current pm_run_file */
	int finished;
	int is_clone;		/* a c clone: pm_run_finish() ends the process */
};

/* NULL when unset. */
const char *pm_var_get(const struct pm_run *r, const char *name, size_t len);
/* Run `cmd` (raw text between the backquotes); output without trailing
 * newlines into out. */
void pm_backquote(struct pm_run *r, const char *cmd, size_t len,
    struct buf *out);
/* Log to $LOGFILE (or stderr) as procmail does: "procmail: text". */
void pm_log(struct pm_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
