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

struct conf;
struct msg;
struct err;
struct action_list;
struct buf;

/* What lda_rules_eval() reports besides the actions. */
struct lda_rules_result {
	long implicit_index;	/* action that is the implicit keep, or -1 */
	int failed;		/* a compile/runtime error: implicit keep */
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
/* 1 if path is Sieve by name (*.sieve) or lang says so. */
int lda_is_sieve(const char *path, const char *lang);

#endif
