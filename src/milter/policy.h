/*
 * policy.h - the milter's SMTP-time policy checks, between the protocol
 * side (main.c, conn.c: libmilter callbacks, one thread per connection)
 * and the checks:
 *   spf.c       SPF through libspf2, in a separate unprivileged helper
 *               process (libspf2 is old C with known memory bugs: keep it
 *               away from the milter's memory and rights), one request at
 *               a time per helper, a deadline per lookup
 *   spfdns.c    the helper's DNS layer for libspf2: UDP/TCP to the
 *               configured resolver, with that deadline
 *   greylist.c  greylisting triplets in the store
 *   ratelimit.c token buckets in the store
 * Everything here is thread-safe in the sense the milter needs: a call
 * uses only its arguments (a store handle is used by one thread at a
 * time; the caller owns it for the call).
 */
#ifndef SLUICE_MILTER_POLICY_H
#define SLUICE_MILTER_POLICY_H

#include <stddef.h>
#include <time.h>

#include "../lib/buf.h"
#include "../lib/err.h"

struct conf;
struct store;

/* ---- SPF (RFC 7208) ---- */

enum spf_res {
	SPF_R_NONE, SPF_R_NEUTRAL, SPF_R_PASS, SPF_R_FAIL, SPF_R_SOFTFAIL,
	SPF_R_TEMPERROR, SPF_R_PERMERROR
};
/* "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"
 * (RFC 8601 / RFC 7208 section 9 spelling). */
const char *spf_res_name(enum spf_res r);

#define SPF_MAX_COMMENT	256	/* bytes of explanation kept */

struct spf_answer {
	enum spf_res mailfrom;	/* MAIL FROM identity (postmaster@HELO
				 * when the reverse path is <>) */
	enum spf_res helo;	/* HELO identity (NONE when not checked) */
	char comment[SPF_MAX_COMMENT];	/* for Received-SPF / A-R comment;
					 * printable ASCII only */
};

struct spf_client;

/* Start the helper process (before the milter's threads start; it runs
 * as the unprivileged user in conf, with resource limits). NULL with e
 * set when SPF is configured but cannot start. */
struct spf_client *spf_client_start(const struct conf *c, struct err *e);
void spf_client_stop(struct spf_client **cp);
/* The helper process is the sluice-milter binary itself, re-executed
 * (fresh memory, nothing of the milter's in reach): main() calls this
 * first thing when argv[1] is "--spf-helper" and exits with its value. */
#define SPF_HELPER_ARG	"--spf-helper"
int spf_helper_main(int argc, char **argv);
/*
 * Check ip (text, v4 or v6), helo and mailfrom (the address without <>,
 * "" for the null sender) within deadline_ms. Thread-safe (the client
 * serialises or pools helpers). Never blocks past the deadline: a helper
 * that does not answer in time is killed and restarted, the answer is
 * TEMPERROR. Returns 0, or -1 (e set) only when no helper can run.
 */
int spf_check(struct spf_client *cl, const char *ip, const char *helo,
    const char *mailfrom, int deadline_ms, struct spf_answer *out,
    struct err *e);

/*
 * "sluice-milter --spf-check [-c CONF] [-r RESOLVER] [-u USER] [-t MS]
 * IP HELO FROM [IP HELO FROM ...]": run the triples through one client
 * (helpers and all, as the milter does) and print one line each:
 * "mailfrom=RES helo=RES ms=N comment=TEXT". main() dispatches it when
 * argv[1] is SPF_CHECK_ARG. Exit 0, 1 when a check could not run, 64 for
 * a bad command line. For admins and tests/integ/t-milter-spf.sh.
 */
#define SPF_CHECK_ARG	"--spf-check"
int spf_cli_main(int argc, char **argv);

/* spfdns.c, for spf.c's helper only (libspf2 types kept out of here). */
struct SPF_dns_server_struct;
struct sockaddr_storage;
/* "ADDR", "ADDR:PORT", "[V6]:PORT"; NULL or "": the first nameserver in
 * /etc/resolv.conf. 0 or -1 (ERR_CONFIG). */
int spfdns_resolver(const char *spec, struct sockaddr_storage *out,
    unsigned *len_out, struct err *e);
/* A libspf2 DNS layer that asks addr itself (UDP, TCP on truncation),
 * each query bounded by SPFDNS_QUERY_MS and the deadline below. */
struct SPF_dns_server_struct *spfdns_new(const struct sockaddr_storage *addr,
    unsigned len, struct err *e);
/* Absolute CLOCK_MONOTONIC deadline in ms for the lookups of one check:
 * past it every lookup answers TRY_AGAIN (-> temperror) at once. */
void spfdns_set_deadline(struct SPF_dns_server_struct *d, long long ms);
long long spfdns_now_ms(void);

/* ---- greylisting ---- */

enum grey_res { GREY_PASS, GREY_DEFER, GREY_ERROR };

struct grey_conf {
	long delay;		/* seconds a triplet must wait (300) */
	long expiry;		/* seconds an unretried triplet lives (4h) */
	long pass_ttl;		/* seconds a passed triplet stays (36d) */
	unsigned v4_prefix;	/* client network: /24 */
	unsigned v6_prefix;	/* /64 */
};

/*
 * The triplet (client network of ip, sender, rcpt) seen first now:
 * DEFER, retried after delay and before expiry: PASS (and remembered for
 * pass_ttl). *wait_out (may be NULL) gets the seconds still to wait for a
 * DEFER. GREY_ERROR with e set when the store fails (the caller applies
 * the fail policy).
 */
enum grey_res grey_check(struct store *s, const struct grey_conf *g,
    const char *ip, const char *sender, const char *rcpt, time_t now,
    long *wait_out, struct err *e);

/* ---- rate limits ---- */

enum rate_res { RATE_OK, RATE_OVER, RATE_ERROR };

struct rate_conf {
	double rate;		/* tokens per second refilled */
	double burst;		/* bucket size */
};

/*
 * Take cost tokens from the bucket named kind ("client", "sender",
 * "user") + id. RATE_OVER when the bucket has fewer than cost.
 * RATE_ERROR with e set when the store fails.
 */
enum rate_res rate_take(struct store *s, const struct rate_conf *r,
    const char *kind, const char *id, double cost, time_t now,
    struct err *e);

/* Parse "N/PERIOD[:BURST]" (e.g. "100/1h", "10/1m:20") for sluice.conf. */
int rate_conf_parse(const char *text, struct rate_conf *out, struct err *e);

#endif
