/*
 * lda.h - the sluice command: subcommand entry points.
 */
#ifndef SLUICE_LDA_H
#define SLUICE_LDA_H

/* Each returns a sysexits.h status. argv[0] is the subcommand name. */
int cmd_deliver(int argc, char **argv);
int cmd_check(int argc, char **argv);	/* cmd_sieve.c */
int cmd_test(int argc, char **argv);	/* cmd_sieve.c */
int cmd_testsuite(int argc, char **argv);	/* cmd_testsuite.c */
int cmd_learn(int argc, char **argv);	/* cmd_learn.c */
int cmd_score(int argc, char **argv);	/* cmd_score.c */

struct conf;
struct err;
struct score_rules;
struct score_load_report;
struct score_msg;
struct store;
struct bayes;
struct score_result;
/* cmd_score.c: load the rule paths of sluice.conf (plus extra) with score
 * set score_set; and Bayes over the configured store when it has learned
 * enough (NULL otherwise; *sp is the store to close). */
/* For one message: no Hyperscan prefilter (score_cmd_load_rules). */
#define SCORE_CMD_ONE_MESSAGE	(-1)
/* Loading for a check (sluice score --lint): the prefilter as the cache
 * allows, compiled into it when writable (warms it for the milter). */
#define SCORE_CMD_CHECK		0
int score_cmd_load_rules(const struct conf *conf, const char *const *extra,
    size_t nextra, int score_set, int prefilter_hs,
    struct score_rules **out, struct score_load_report *rep, struct err *e);
struct bayes *score_cmd_bayes(const struct conf *conf, const char *home,
    struct store **sp, struct score_msg *sm);
/* cmd_score.c: Bayes for scoring and autolearn. *b_out is the
 * classifier over the configured store whenever that store exists and
 * opens (pass it to score_run(), which then makes the autolearn
 * decision; check_bayes answers only once enough is learned), else NULL;
 * *usable_out is 1 when it has learned enough (score set 2). *sp is the
 * store to close. Returns 0, or -1 when a store exists but did not open
 * (e says why; scoring goes on without Bayes). */
int score_cmd_bayes_open(const struct conf *conf, const char *home,
    struct store **sp, struct score_msg *sm, struct bayes **b_out,
    int *usable_out, struct err *e);
/* cmd_score.c: SpamAssassin's learn_timed after score_run(): learn sm
 * as res->autolearn says when bayes_auto_learn is on, and set
 * res->autolearn_text ("spam", "ham", "no", "disabled", "unavailable",
 * "failed"). b may be NULL; store_failed: a store was configured but
 * could not be opened. A failure is logged through e (returns -1) and
 * never changes the caller's outcome. */
int score_cmd_autolearn(const struct conf *conf, struct bayes *b,
    int store_failed, struct score_msg *sm, struct score_result *res,
    struct err *e);
/* procmail's command line (argv[0] "procmail" or the subcommand). */
int cmd_procmail(int argc, char **argv);	/* cmd_procmail.c */

struct conf;
struct msg;
struct err;
struct action_list;
struct buf;
struct passwd;

/* What lda_rules_eval() reports besides the actions. */
struct lda_rules_result {
	long implicit_index;	/* action that is the implicit keep, or -1 */
	int failed;		/* a compile/runtime error: implicit keep */
	/* The rule file was a procmailrc: the engine delivered by itself
	 * (l stays empty); the caller skips deliver_run and the implicit
	 * keep and exits with exit_code. */
	int procmail;
	int exit_code;
	struct buf *lastfolder;	/* if not NULL: procmail's $LASTFOLDER */
	size_t nscripts;	/* Sieve scripts compiled */
	struct buf *diags;	/* if not NULL: diagnostics appended */
};

struct lda_rules {
	const struct conf *conf;
	const char *home;	/* for "~/" */
	const char *rules;	/* --rules FILE, or NULL */
	const char *lang;	/* --lang sieve|procmail, or NULL */
	const char *root;	/* INBOX Maildir (mailboxexists) */
	char sep;
	const char *sender, *recipient, *host, *username;
	const char *extension;	/* -a: procmail's $1 */
	struct buf *trace;	/* NULL: no trace */
	struct lda_rules_result *result;
	/* vnd.dovecot.filter: sieve_env.replace_message (NULL: the filter
	 * changes only what the rules see). */
	int (*replace_message)(void *arg, struct msg *m, int fd,
	    struct err *e);
	void *replace_arg;
};

/*
 * Choose the rule files (DESIGN.md "Contracts with users' rule files"),
 * compile them all, then run the Sieve sequence over m (mapping spool_fd
 * only if a script reads the body). Never fails: a refused file, a
 * compile or runtime error leaves the implicit keep, and is written to
 * the user's Sieve log and syslog. Actions are appended to l.
 */
int lda_rules_eval(const struct lda_rules *in, struct msg *m, int spool_fd,
    struct action_list *l);
/*
 * A procmailrc run (cmd_procmail.c): the environment of struct pm_env
 * (folders, lockfiles, programs), procmail's initial variables, the rc
 * files in procmail's order. Used by `sluice procmail`, by `sluice
 * deliver` for a chosen .procmailrc, and by `sluice test` (dry_run).
 */
struct lda_procmail {
	const struct conf *conf;	/* skip_bad_recipes, sendmail_path,
					 * mailbox_separator; may be NULL */
	const char *home, *logname, *shell;	/* the user's (passwd) */
	const char *root;	/* INBOX Maildir: ".X/" under it is a
				 * Maildir++ folder; NULL: none */
	const char *host;	/* Maildir unique names; NULL: gethostname */
	const char *text;	/* the message, "From " line first */
	size_t len;
	int preserve;		/* -p: keep the environment */
	int mflag;		/* -m */
	int no_global;		/* skip /etc/procmailrc */
	int dry_run;		/* sluice test: deliver/pipe/forward not done */
	const char *const *assigns;	/* "VAR=value" of the command line */
	size_t nassigns;
	const char *const *rcfiles;	/* none: /etc/procmailrc, ~/.procmailrc */
	size_t nrcfiles;
	const char *const *args;	/* $1 .. */
	size_t nargs;
	struct buf *diags;	/* rc diagnostics appended; NULL: stderr */
	struct buf *trace;	/* pm_run_trace(); NULL: none */
	struct buf *lastfolder;	/* $LASTFOLDER at the end; NULL: none */
};
/* Run; returns the exit status (pm_run_finish: 0, 75, $EXITCODE); e says
 * why on failure. */
int lda_procmail_run(const struct lda_procmail *p, struct err *e);
/*
 * The message as procmail holds it, appended to out: p as is when it
 * starts with "From " (fromwhom NULL), else a new From_ line ("From
 * SENDER  ctime") with fromwhom, or dflt_sender when fromwhom is NULL;
 * fromwhom "-" keeps the old sender with a new date (procmail -f -).
 */
int lda_procmail_text(struct buf *out, const char *p, size_t len,
    const char *fromwhom, const char *dflt_sender);
/*
 * cmd_deliver.c: as root, become user (initgroups, setresgid, setresuid,
 * verified) before any user file is opened; not root, user must be
 * ourselves. pw_out gets name/dir (strings in strs). 0 or -1 with e
 * (ERR_NOUSER for an unknown user).
 */
int lda_drop_privileges(const char *user, struct passwd *pw_out,
    struct buf *strs, struct err *e);

/*
 * sluice deliver: run the procmailrc rcfile over m in-process (the engine
 * stores the mail itself), with DEFAULT=root/ and MAILDIR=root, $1 = the
 * extension; default_choice: it is ~/.procmailrc, so /etc/procmailrc runs
 * first. Sets in->result->procmail and exit_code. -1: the message could
 * not be read (nothing ran; the caller keeps).
 */
int lda_procmail_deliver(const struct lda_rules *in, struct msg *m,
    int spool_fd, const char *rcfile, int default_choice);

/* 1 if path is Sieve by name (*.sieve) or lang says so. */
int lda_is_sieve(const char *path, const char *lang);

/* cmd_convert.c: sluice convert, and the procmailrc side of sluice check
 * (parse; errors on stdout; 0 or 1) and sluice test (a dry run of each
 * message as sluice deliver would run path; the exit status). */
int cmd_convert(int argc, char **argv);
int lda_pm_check(const char *path);
int lda_pm_test(const struct conf *conf, const char *path,
    char *const *msgs, int nmsgs, const char *sender, const char *ext,
    int json);

#endif
