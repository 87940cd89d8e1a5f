/*
 * milter.h - sluice-milter's inside, between main.c (daemon, signals,
 * configuration generations, store pool), conn.c (the libmilter
 * callbacks, one thread per SMTP connection) and stats.c (counters).
 * The policy checks (SPF, greylisting, rate limits) are behind policy.h.
 *
 * Threads: libmilter runs one thread per connection. The only shared
 * mutable state is the current configuration generation (a refcounted
 * pointer swapped under a mutex on SIGHUP), each generation's store pool
 * (under its own mutex), and the counters in stats.c (atomics, and one
 * mutex for the rule-hit table).
 */
#ifndef SLUICE_MILTER_H
#define SLUICE_MILTER_H

#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <libmilter/mfapi.h>

#include "lib/conf.h"
#include "lib/err.h"
#include "milter/policy.h"

#define MILTER_NAME		"sluice-milter"
#define MILTER_MAX_NETS		256	/* trusted_networks entries */
#define MILTER_MAX_AUTHSERV	255	/* bytes of authserv_id */
#define MILTER_STORE_POOL	64	/* idle store handles kept */
/* Well inside Postfix's milter_command_timeout (30 s) and
 * milter_content_timeout (300 s): one SPF check at MAIL FROM. */
#define MILTER_SPF_DEADLINE_MS	5000
/* Postfix's smtpd_recipient_limit default; more are counted, not kept. */
#define MILTER_MAX_RCPTS	1000
#define MILTER_MAX_ADDR		512	/* bytes of one envelope address */
#define MILTER_MAX_HELO		255	/* bytes of HELO kept */
/* Incoming X-Spam-* / our Authentication-Results fields removed per
 * message; a message with more is refused (no legitimate mail has it,
 * and leaving the rest would let a sender forge a score). */
#define MILTER_MAX_DELETE	1000
#define MILTER_MAX_HDR_NAME	128	/* longer names are not ours */

enum milter_rate_kind { RATE_K_CLIENT, RATE_K_SENDER, RATE_K_USER, RATE_K_N };

/* A trusted network (CIDR). */
struct milter_net {
	int family;		/* AF_INET, AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

struct store;
struct score_rules;
struct store_pool;

/*
 * One configuration generation: the conf, the compiled rules and what
 * is derived from them. Immutable once published, except refs and the
 * store pool (own lock). A connection holds a reference for the length
 * of one message, so a reload never changes the rules under it.
 */
struct milter_gen {
	unsigned long serial;		/* 1, 2, ... per reload */
	int refs;			/* under the generation lock */
	struct conf conf;
	struct score_rules *rules;
	int bayes_on;			/* rules loaded with score set 2 */
	struct bayes_cache *bcache;	/* token counts read (bayes_on) */
	struct milter_net nets[MILTER_MAX_NETS];
	size_t nnets;
	char authserv_id[MILTER_MAX_AUTHSERV + 1];
	int store_fail_tempfail;	/* milter_store_fail = tempfail */
	int grey_on;			/* greylist_score is not off */
	struct grey_conf grey;
	int rate_on[RATE_K_N];
	struct rate_conf rate[RATE_K_N];
	const char *home;		/* "~/" in store paths: milter_user's */
	struct store_pool *pool;
};

/*
 * Build a generation from the configuration file path (NULL: the
 * default, must_exist 0). Loads the rules (the Hyperscan prefilter on)
 * and probes the store for Bayes. Problems that do not stop the milter
 * (rule lines skipped...) are written to report (may be NULL). NULL with
 * e set on errors.
 */
struct milter_gen *milter_gen_new(const char *path, int must_exist,
    const char *home, struct buf *report, struct err *e);
/* The current generation, with a reference taken; NULL before start. */
struct milter_gen *milter_gen_get(void);
void milter_gen_put(struct milter_gen **gp);

/* A store handle for the calling thread (NULL with e set when the store
 * is unavailable); give it back with bad = 1 after a store error (the
 * handle is closed, not kept: a Redis connection may be broken). */
struct store *milter_store_get(struct milter_gen *g, struct err *e);
void milter_store_put(struct milter_gen *g, struct store **sp, int bad);

/* 1 when the text address ip is in the generation's trusted networks. */
int milter_trusted(const struct milter_gen *g, const char *ip);

/* The SPF client, started once (NULL: SPF off). */
extern struct spf_client *milter_spf;

/* ---- conn.c ---- */

/* The callback table for smfi_register. */
extern struct smfiDesc milter_desc;
/* Connections open now (for a bounded wait at shutdown). */
long milter_conns_active(void);

/* ---- stats.c ---- */

enum milter_action {
	MA_ACCEPT, MA_REJECT, MA_GREYLIST, MA_RATELIMIT, MA_TEMPFAIL,
	MA_N
};
const char *milter_action_name(enum milter_action a);

struct score_result;

/* Count one message: action, scoring time in microseconds, the hits. */
void stats_message(enum milter_action a, long usec,
    const struct score_result *res, int truncated);
/* Count store failures and SPF errors (not per message). */
void stats_store_error(void);
void stats_connection(void);
/* Write the counters: to syslog, and to path (atomic replace) when not
 * NULL. Called from the main thread only. */
void stats_write(const char *path);
void stats_free(void);

#endif
