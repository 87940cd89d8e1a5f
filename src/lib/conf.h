/*
 * conf.h - sluice.conf: "key = value" lines, '#' comments. Unknown keys and
 * bad values are errors with file:line. Every key is in sluice.conf(5).
 * Where a key means what a Dovecot/Pigeonhole setting means it has that
 * name and syntax.
 */
#ifndef SLUICE_CONF_H
#define SLUICE_CONF_H

#include "err.h"

#define CONF_MAX_SIEVE_SEQ	9	/* sieve_before .. sieve_before9 */

struct conf {
	char *maildir;			/* "~/Maildir": INBOX root */
	char mailbox_separator;		/* '.' (Maildir++) or '/' */
	char *recipient_delimiter;	/* "+" */
	int lda_mailbox_autocreate;	/* create missing folders on delivery */
	int lda_mailbox_autosubscribe;	/* subscribe folders we create */
	int quota_full_tempfail;	/* over quota: 75 (yes) or bounce 77 */
	unsigned deliver_timeout;	/* seconds for the whole delivery */
	char *hostname;			/* for unique names; NULL: gethostname */
	int mail_debug;			/* debug logging */

	/* Sieve (Pigeonhole's names and defaults) */
	char *sieve;			/* "~/.dovecot.sieve": the user's script */
	char *sieve_before[CONF_MAX_SIEVE_SEQ];	/* sieve_before, _before2.. */
	char *sieve_after[CONF_MAX_SIEVE_SEQ];	/* sieve_after, _after2.. */
	char *sieve_default;		/* used when the user has no script */
	char *sieve_global;		/* directory of :global includes */
	char *sieve_user_log;		/* NULL: the script path + ".log" */
	unsigned long sieve_max_script_size;	/* bytes, 1M */
	unsigned sieve_max_actions;	/* 32 */
	unsigned sieve_max_redirects;	/* 4 */
	unsigned sieve_max_cpu_time;	/* seconds, 30 */
	char *sieve_extensions;		/* "+a -b" or a list; NULL: default */
	char *sendmail_path;		/* "/usr/sbin/sendmail" */
	char *postmaster_address;	/* From of reject/MDN; NULL: derived */
	char *store;			/* "lmdb:~/.sluice/state" */
	char *path;			/* the file read, or NULL */
};

/* Defaults only. */
void conf_init(struct conf *c);
/*
 * Read path over the defaults. A missing file is an error only when
 * must_exist (it was named with -c). Errors are ERR_CONFIG with
 * "file:line: text".
 */
int conf_load(struct conf *c, const char *path, int must_exist, struct err *e);
/* Apply one "key=value" (command line overrides); line 0 for messages. */
int conf_set(struct conf *c, const char *key, const char *value,
    const char *where, struct err *e);
void conf_free(struct conf *c);

#endif
