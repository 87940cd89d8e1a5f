/*
 * sieve-testsuite.h - vnd.dovecot.testsuite, the test language of
 * `sluice testsuite` (Pigeonhole's testsuite semantics and output).
 *
 * The extension (ext-testsuite.c) lives with the interpreter; what it
 * cannot do from there (replace the message, deliver a result into a
 * scratch Maildir, change settings) it asks of the runner
 * (src/lda/cmd_testsuite.c) through ops. The runner compiles the .svtest
 * with sieve_conf.testsuite set (nowhere else is the extension known) and
 * passes the struct in sieve_env.testsuite.
 *
 * Output, exactly Pigeonhole's: "%2u: Test 'name' SUCCEEDED" or
 * "%2u: Test 'name' FAILED: reason" per test, "XX: Test CASE FAILED:
 * reason" when the script cannot go on, and at the end
 * "\nPASS: N tests succeeded.\n\n" or "\nFAIL: x of N tests failed.\n\n".
 */
#ifndef SLUICE_SIEVE_TESTSUITE_H
#define SLUICE_SIEVE_TESTSUITE_H

#include <stdio.h>

#include "sieve.h"

struct sieve_testsuite;

struct sieve_testsuite_ops {
	/* test_set: "message" (value: the message text), "envelope.from",
	 * "envelope.to", "envelope.orig_to", "envelope.auth". Updates
	 * ts->msg and the environment. 0, or -1 with a reason in why. */
	int (*set)(struct sieve_testsuite *ts, const char *name,
	    const char *value, struct buf *why);
	/* test_message: make message idx (0-based) the current one: sent
	 * through SMTP (folder NULL) or stored in folder. 1, 0: none. */
	int (*message)(struct sieve_testsuite *ts, const char *folder,
	    unsigned long idx);
	/* Carry out l (l->implicit_keep set) into the scratch Maildir.
	 * 1: all done; 0: something failed (sieve_testsuite_error()). */
	int (*execute)(struct sieve_testsuite *ts, struct action_list *l);
	/* test_result_reset: forget the messages sent through SMTP. */
	void (*reset)(struct sieve_testsuite *ts);
	int (*mailbox_create)(struct sieve_testsuite *ts, const char *name,
	    struct buf *why);
	/* test_config_set (value) / test_config_unset (value NULL). */
	int (*config_set)(struct sieve_testsuite *ts, const char *key,
	    const char *value, struct buf *why);
	int (*config_reload)(struct sieve_testsuite *ts, const char *ext,
	    struct buf *why);
};

struct sieve_testsuite {
	/* Set by the runner (kept current by it). */
	const struct sieve_testsuite_ops *ops;
	void *arg;
	FILE *out;			/* the test lines */
	const char *dir;		/* the .svtest's directory */
	const struct sieve_conf *conf;	/* for test_script_compile */
	struct msg *msg;		/* the current message */
	struct action_list *result;	/* the result the tests inspect */

	/* Kept by the extension. */
	unsigned index, failures;
	char *name;			/* test running, or NULL */
	int failing;			/* unwinding a failed test */
	int executed;			/* result carried out since reset */
	struct sieve_script *compiled;	/* test_script_compile's */
	char **err_loc, **err_msg;	/* the error log test_error reads */
	size_t nerr;
};

void sieve_testsuite_init(struct sieve_testsuite *ts);
void sieve_testsuite_free(struct sieve_testsuite *ts);
/* Add one error to the log test_error matches (loc may be ""). */
void sieve_testsuite_error(struct sieve_testsuite *ts, const char *loc,
    const char *msg);
/* Add the error lines ("loc: error: text") of d to the log. */
void sieve_testsuite_log_diags(struct sieve_testsuite *ts,
    const struct sieve_diags *d);
void sieve_testsuite_clear_log(struct sieve_testsuite *ts);
/* "XX: Test CASE FAILED: reason"; counts as a failure. */
void sieve_testsuite_case_fail(struct sieve_testsuite *ts,
    const char *reason);
/* Print the PASS/FAIL line; 0 when everything passed, else 1. */
int sieve_testsuite_result(struct sieve_testsuite *ts);

#endif
