/*
 * sieve.h - the Sieve language (RFC 5228 and extensions), as Dovecot
 * Pigeonhole runs it: compile a script, run one or more compiled scripts
 * in sequence over a message, get an action list (src/rules/action.h).
 *
 *	sieve_compile_file(&conf, path, &diags, &s)   errors in diags
 *	r = sieve_run_new(msg, &env, &list, trace)
 *	sieve_run_script(r, s, &diags)                 once per script
 *	sieve_run_finish(r)                            implicit keep, flags
 *	deliver_run(..., &list, ...)
 *
 * Compiling never evaluates anything; every script of a sequence is
 * compiled before the first one runs. A runtime error ends the sequence
 * with the implicit keep (RFC 5228 2.10.6). Diagnostics are lines
 * "file:line:col: error: text" (or "warning:").
 */
#ifndef SLUICE_SIEVE_H
#define SLUICE_SIEVE_H

#include <stddef.h>
#include <time.h>

#include "../../lib/buf.h"
#include "../../msg/msg.h"
#include "../action.h"

/* Pigeonhole's defaults. */
#define SIEVE_DEFAULT_MAX_SCRIPT_SIZE	(1024 * 1024)
#define SIEVE_DEFAULT_MAX_ACTIONS	32
#define SIEVE_DEFAULT_MAX_REDIRECTS	4
#define SIEVE_DEFAULT_MAX_CPU_TIME	30	/* seconds of CPU per run */
#define SIEVE_MAX_ERRORS		10	/* per compile, then give up */
#define SIEVE_MAX_NESTING		32	/* blocks and tests */
#define SIEVE_DEFAULT_INCLUDE_DEPTH	10	/* sieve_include_max_nesting_depth */
#define SIEVE_DEFAULT_MAX_INCLUDES	255	/* sieve_include_max_includes */

/* Compile-time settings (sluice.conf). */
struct sieve_conf {
	const char *extensions;	/* sieve_extensions: "+a -b" or "a b" (NULL: all) */
	size_t max_script_size;	/* 0: the default */
	/* include (RFC 6609): where "name" is looked up as name.sieve. */
	const char *personal_dir;	/* sieve_dir (NULL: :personal unavailable) */
	const char *global_dir;		/* sieve_global (NULL: :global unavailable) */
	unsigned max_include_depth;	/* sieve_include_max_nesting_depth; 0: 10 */
	unsigned max_includes;		/* sieve_include_max_includes; 0: 255 */
	int testsuite;	/* `sluice testsuite` only: vnd.dovecot.testsuite exists */
	/* vnd.dovecot.pipe/filter/execute: sieve_<ext>_bin_dir (NULL: no
	 * program is found) and sieve_<ext>_exec_timeout
	 * (seconds; 0: Pigeonhole's 10). */
	const char *pipe_bin_dir, *filter_bin_dir, *execute_bin_dir;
	unsigned pipe_timeout, filter_timeout, execute_timeout;
};

/* Collected diagnostics, one "file:line:col: error: text\n" per entry. */
struct sieve_diags {
	struct buf text;
	unsigned errors, warnings;
};

void sieve_diags_init(struct sieve_diags *d);
void sieve_diags_free(struct sieve_diags *d);

struct sieve_script;

/*
 * Compile src (len bytes; name is used in messages). Returns 0 and a
 * script in *out (caller frees with sieve_script_free), or -1 with at
 * least one error in d (and *out NULL).
 */
int sieve_compile(const struct sieve_conf *c, const char *name,
    const char *src, size_t len, struct sieve_diags *d,
    struct sieve_script **out);
/* Read path (at most max_script_size bytes) and compile it; name in
 * messages is path. A read error is a diagnostic "path: error: ...". */
int sieve_compile_file(const struct sieve_conf *c, const char *path,
    struct sieve_diags *d, struct sieve_script **out);
void sieve_script_free(struct sieve_script **sp);
/* 1 if running the script reads the message body (body test...): the
 * caller must msg_map() the message first. */
int sieve_needs_body(const struct sieve_script *s);
const char *sieve_script_name(const struct sieve_script *s);

/* What the rules see of the delivery. All borrowed for the run. */
struct sieve_env {
	const char *sender;		/* envelope MAIL FROM ("" for <>) */
	const char *recipient;		/* envelope RCPT TO */
	const char *orig_recipient;	/* ORIGINAL_RECIPIENT, or NULL */
	const char *delimiter;		/* recipient_delimiter ("+") */
	const char *domain;		/* environment "domain" */
	const char *host;		/* environment "host" */
	const char *username;		/* vnd.dovecot.username */
	unsigned max_actions, max_redirects, max_cpu_time; /* 0: default */
	/* RFC 5490 mailboxexists: 1 exists, 0 not (NULL: never). */
	int (*mailbox_exists)(void *arg, const char *folder);
	void *cb_arg;
	/* RFC 7352 duplicate: is key in the state store? 1 yes, 0 no, -1
	 * store error (cb_arg is passed). NULL: no store; the test is then
	 * false and a warning is logged (DESIGN.md "vacation/duplicate
	 * degrade"). Marks are written by the executor (ACT_STORE_MARK). */
	int (*store_seen)(void *arg, const char *key);
	/* vacation/duplicate settings; NULL: Pigeonhole's defaults. */
	const struct sieve_reply_conf *reply;
	void *testsuite;	/* struct sieve_testsuite (sieve-testsuite.h) */
	/* spamtest/virustest and editheader settings (sluice.conf, keys
	 * named as Pigeonhole's); NULL: spamtest/virustest answer "0" and
	 * editheader protects only Pigeonhole's built-in names. */
	const struct conf *conf;
	/* RFC 5260 currentdate: the delivery time (0: the clock, read once
	 * per run). */
	time_t now;
	/* vnd.dovecot.pipe/filter/execute programs get HOME (this), USER
	 * (username), HOST, SENDER, RECIPIENT, ORIG_RECIPIENT. */
	const char *home;
	/*
	 * vnd.dovecot.filter runs during the run; its output (fd, raw, read
	 * from offset 0) becomes the message. The caller adopts it: makes
	 * the delivery store it (new spool) and updates m in place (header
	 * index, sizes, m->data mapped, m->mime NULL); 0, or -1 with e set
	 * (a runtime error; m unchanged). NULL: m is updated in place from
	 * a private copy (sluice test: nothing is stored).
	 */
	int (*replace_message)(void *arg, struct msg *m, int fd,
	    struct err *e);
	void *replace_arg;
};

/* Pigeonhole's vacation and duplicate settings, in seconds (sluice.conf
 * keys of the same names). */
struct sieve_reply_conf {
	long vacation_min_period;	/* 1d; 0: every message may be answered */
	long vacation_max_period;	/* 0: no upper limit */
	long vacation_default_period;	/* 7d */
	int vacation_dont_check_recipient;	/* no */
	int vacation_use_original_recipient;	/* no */
	long duplicate_default_period;	/* 12h (Pigeonhole's code) */
	long duplicate_max_period;	/* 2d (Pigeonhole's code) */
};

/* Fill c with Pigeonhole's defaults. */
void sieve_reply_conf_init(struct sieve_reply_conf *c);

struct sieve_run;
struct conf;

/*
 * Start a sequence over m (header indexed; m->data mapped if a script
 * needs the body). Actions go to out (initialised by the caller). trace,
 * if not NULL, receives one line per command/test evaluated.
 */
struct sieve_run *sieve_run_new(struct msg *m, const struct sieve_env *env,
    struct action_list *out, struct buf *trace);
/*
 * Run one script of the sequence (Pigeonhole's multiscript rules: the
 * next script runs only while the keep is still in effect; stop ends only
 * this script). Returns 1 when the sequence may go on, 0 when it ended
 * (no keep in effect), -1 on a runtime error (logged in d with its
 * position; this script's actions are dropped, the implicit keep stays,
 * the sequence ends).
 */
int sieve_run_script(struct sieve_run *r, struct sieve_script *s,
    struct sieve_diags *d);
/* Mark the sequence failed (a script did not compile): implicit keep. */
void sieve_run_fail(struct sieve_run *r);
/*
 * Settle the implicit keep (with the imap4flags of the last script, as
 * Pigeonhole does). Returns the index in out of the action that is the
 * implicit keep, or -1 (out->implicit_keep then says whether the
 * executor must keep).
 */
long sieve_run_finish(struct sieve_run *r);
void sieve_run_free(struct sieve_run **rp);

/* One action as a line for `sluice test`: keep, fileinto "Junk" :flags
 * "\\Seen", redirect "a@b", discard... (no newline). */
void sieve_action_format(const struct action *a, struct buf *out);

/* The extensions this build knows, space separated (for ihave, docs). */
void sieve_extensions_list(struct buf *out);

#endif
