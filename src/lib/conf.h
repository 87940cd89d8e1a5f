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
/* A score key set to "off" (reject_score...): above any real score. */
#define CONF_SCORE_OFF		1e9

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
	/* procmailrc: skip a recipe that does not parse and run the rest,
	 * as procmail does (no: the whole file is refused, mail to
	 * $DEFAULT) */
	int procmail_skip_bad_recipes;

	/* Sieve (Pigeonhole's names and defaults) */
	char *sieve;			/* "~/.dovecot.sieve": the user's script */
	char *sieve_before[CONF_MAX_SIEVE_SEQ];	/* sieve_before, _before2.. */
	char *sieve_after[CONF_MAX_SIEVE_SEQ];	/* sieve_after, _after2.. */
	char *sieve_default;		/* used when the user has no script */
	char *sieve_global;		/* directory of :global includes */
	char *sieve_dir;		/* :personal includes; NULL: ~/sieve */
	unsigned sieve_include_max_nesting_depth;	/* 10 */
	unsigned sieve_include_max_includes;		/* 255 */
	char *sieve_pipe_bin_dir;	/* vnd.dovecot.pipe programs; NULL: none */
	char *sieve_filter_bin_dir;	/* vnd.dovecot.filter programs */
	char *sieve_execute_bin_dir;	/* vnd.dovecot.execute programs */
	unsigned sieve_pipe_exec_timeout;	/* seconds, 10 (Pigeonhole) */
	unsigned sieve_filter_exec_timeout;	/* seconds, 10 */
	unsigned sieve_execute_exec_timeout;	/* seconds, 10 */
	char *sieve_user_log;		/* NULL: the script path + ".log" */
	unsigned long sieve_max_script_size;	/* bytes, 1M */
	unsigned sieve_max_actions;	/* 32 */
	unsigned sieve_max_redirects;	/* 4 */
	unsigned sieve_max_cpu_time;	/* seconds, 30 */
	char *sieve_extensions;		/* "+a -b" or a list; NULL: default */
	/* vacation (RFC 5230/6131) and duplicate (RFC 7352), seconds */
	long sieve_vacation_min_period;		/* 1d */
	long sieve_vacation_max_period;		/* 0: no limit */
	long sieve_vacation_default_period;	/* 7d */
	int sieve_vacation_dont_check_recipient;	/* no */
	int sieve_vacation_use_original_recipient;	/* no */
	long sieve_duplicate_default_period;	/* 12h */
	long sieve_duplicate_max_period;	/* 2d */
	/* RFC 5235 spamtest/virustest, Pigeonhole's settings ("" = unset;
	 * defaults: the milter's X-Spam-Score against X-Spam-Status
	 * required=, see sluice.conf(5)); index i of text_value is
	 * sieve_*test_text_value<i>. */
	char *sieve_spamtest_status_type, *sieve_spamtest_status_header;
	char *sieve_spamtest_max_header, *sieve_spamtest_max_value;
	char *sieve_spamtest_text_value[11];
	char *sieve_virustest_status_type, *sieve_virustest_status_header;
	char *sieve_virustest_max_header, *sieve_virustest_max_value;
	char *sieve_virustest_text_value[6];
	/* RFC 5293 editheader: space separated field names; bytes (2048) */
	char *sieve_editheader_protected, *sieve_editheader_forbid_add;
	char *sieve_editheader_forbid_delete;
	unsigned long sieve_editheader_max_header_size;
	char *sendmail_path;		/* "/usr/sbin/sendmail" */
	char *postmaster_address;	/* From of reject/MDN; NULL: derived */
	char *store;			/* "lmdb:~/.sluice/state" */
	/* Scoring (sluice score, sluice deliver; sluice.conf(5)) */
	char *score_rules;		/* files/dirs, space separated; NULL:
					 * the shipped rules (PKGDATADIR/filters) */
	unsigned long score_max_size;	/* bytes: larger mail is not scored */
	char *score_cache_dir;		/* Hyperscan database cache; NULL:
					 * /var/cache/sluice when it exists,
					 * "": none (score_load_opts.cache_dir) */
	int score_in_deliver;		/* deliver scores in-process */
	int bayes_auto_learn;		/* learn from the score (yes) */
	char *score_trusted_authserv_id;	/* our milter's A-R id; NULL: none */
	/* sluice-milter (sluice-milter(8)); scores: a number or "off"
	 * (CONF_SCORE_OFF: never reached) */
	char *milter_socket;		/* "unix:PATH" or "inet:PORT@HOST" */
	char *milter_user;		/* privileges after binding */
	char *milter_pid_file;		/* NULL: none */
	unsigned long milter_max_size;	/* bytes kept and scanned */
	char *milter_store_fail;	/* "open" or "tempfail" */
	long milter_stats_interval;	/* seconds, 0: only on SIGUSR1 */
	char *milter_stats_file;	/* NULL: syslog only */
	double reject_score;		/* 550 5.7.1 at or above */
	double greylist_score;		/* greylisting at or above */
	double add_header_score;	/* X-Spam-* at or above */
	char *trusted_networks;		/* CIDRs, space separated */
	char *authserv_id;		/* A-R id; NULL: the host name */
	long greylist_delay;		/* seconds (300) */
	long greylist_expiry;		/* seconds (4h) */
	long greylist_pass_ttl;		/* seconds (36d) */
	unsigned greylist_v4_prefix;	/* 24 */
	unsigned greylist_v6_prefix;	/* 64 */
	char *ratelimit_client;		/* "N/PERIOD[:BURST]"; NULL: off */
	char *ratelimit_sender;
	char *ratelimit_user;
	/* SPF (sluice-milter(8)): checked in an unprivileged helper */
	int spf;			/* check SPF (yes) */
	char *spf_user;			/* the helper's user ("nobody") */
	char *spf_resolver;		/* ADDR[:PORT]; NULL: resolv.conf */
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
