/*
 * test-milter-policy.c - the milter's store-backed policies: greylisting
 * (grey_check) and rate limits (rate_take, rate_conf_parse), on LMDB and
 * on a redis-server this program starts on 127.0.0.1 (stopped by PID).
 * SPF: result names, spf_resolver specs, and the helper pool shared by
 * threads against a resolver that never answers and one that refuses
 * (every check temperror within its deadline; the program re-executes
 * itself as the helper, as sluice-milter does).
 * Time moves through the now argument (and the store's clock hook for
 * LMDB TTLs), never by sleeping. Redis only: two handles share state; the
 * server killed mid-test gives GREY_ERROR/RATE_ERROR (ERR_TEMP) within
 * the store deadline, and a restart recovers.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/conf.h"
#include "milter/policy.h"
#include "store/store.h"
#include "tap.h"
#include "redis-server.h"

#define T0	1700000000L	/* a fixed start of time */

static char scratch[PATH_MAX];
static time_t fake_now = T0;

static time_t
fake_clock(void)
{
	return fake_now;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static double
now_ms(void)
{
	struct timeval tv;

	(void)gettimeofday(&tv, NULL);
	return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

static const char *
grey_name(enum grey_res r)
{
	return r == GREY_PASS ? "PASS" : r == GREY_DEFER ? "DEFER" : "ERROR";
}

/* ---- rate_conf_parse ---- */

static void
run_parse(void)
{
	static const struct {
		const char *text;
		int rc;
		double rate, burst;
	} rows[] = {
		{ "100/1h", 0, 100.0 / 3600, 100 },
		{ "100/h", 0, 100.0 / 3600, 100 },
		{ "10/1m:20", 0, 10.0 / 60, 20 },
		{ "5/30s", 0, 5.0 / 30, 5 },
		{ "5/30", 0, 5.0 / 30, 5 },
		{ "1000/1d:50", 0, 1000.0 / 86400, 50 },
		{ "", -1, 0, 0 },
		{ "100", -1, 0, 0 },
		{ "0/1h", -1, 0, 0 },
		{ "-1/1h", -1, 0, 0 },
		{ "1.5/1h", -1, 0, 0 },
		{ "10/0h", -1, 0, 0 },
		{ "10/1y", -1, 0, 0 },
		{ "10/1h:", -1, 0, 0 },
		{ "10/1h:0", -1, 0, 0 },
		{ "10/1h:5x", -1, 0, 0 },
		{ "10/99999999d", -1, 0, 0 },
		{ "99999999999/1h", -1, 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct rate_conf rc = { 0, 0 };
		struct err e;
		int got;

		err_clear(&e);
		got = rate_conf_parse(rows[i].text, &rc, &e);
		if (rows[i].rc == 0)
			ok(got == 0 && rc.rate > rows[i].rate * 0.999 &&
			    rc.rate < rows[i].rate * 1.001 &&
			    rc.burst == rows[i].burst,
			    "rate_conf_parse row %zu \"%s\": rate %g burst %g "
			    "(want %g %g) %s", i, rows[i].text, rc.rate,
			    rc.burst, rows[i].rate, rows[i].burst, e.msg);
		else
			ok(got == -1 && e.cls == ERR_CONFIG,
			    "rate_conf_parse row %zu \"%s\" refused (%s)", i,
			    rows[i].text, e.msg);
	}
}

/* ---- greylisting ---- */

struct grow {
	long at;		/* seconds after the start */
	const char *ip, *from, *rcpt;
	enum grey_res want;
	long wait;		/* for DEFER */
};

static void
run_grey(const char *name, struct store *s, int clock_hook)
{
	/* delay 300, expiry 4h, pass_ttl 36d, /24 and /64 */
	static const struct grey_conf g = { 300, 14400, 36L * 86400, 24, 64 };
	static const struct grow rows[] = {
		{ 0, "192.0.2.10", "a@x.example", "u@y.example", GREY_DEFER,
		  300 },
		{ 100, "192.0.2.10", "a@x.example", "u@y.example",
		  GREY_DEFER, 200 },
		{ 299, "192.0.2.10", "a@x.example", "u@y.example",
		  GREY_DEFER, 1 },
		/* a sibling of the same /24 retries */
		{ 300, "192.0.2.77", "a@x.example", "u@y.example", GREY_PASS,
		  0 },
		{ 301, "192.0.2.10", "a@x.example", "u@y.example", GREY_PASS,
		  0 },
		/* another recipient, another sender, another /24 */
		{ 302, "192.0.2.10", "a@x.example", "v@y.example",
		  GREY_DEFER, 300 },
		{ 303, "192.0.2.10", "b@x.example", "u@y.example",
		  GREY_DEFER, 300 },
		{ 304, "192.0.3.10", "a@x.example", "u@y.example",
		  GREY_DEFER, 300 },
		/* IPv6: same /64 passes, another /64 does not */
		{ 400, "2001:db8:1:2::5", "a@x.example", "u@y.example",
		  GREY_DEFER, 300 },
		{ 800, "2001:db8:1:2:ffff::9", "a@x.example", "u@y.example",
		  GREY_PASS, 0 },
		{ 801, "2001:db8:1:3::5", "a@x.example", "u@y.example",
		  GREY_DEFER, 300 },
		/* the null sender is a sender like any other */
		{ 900, "192.0.2.10", "", "u@y.example", GREY_DEFER, 300 },
		{ 1300, "192.0.2.10", "", "u@y.example", GREY_PASS, 0 },
		/* retried only after the expiry (4h): starts over */
		{ 302 + 14401, "192.0.2.10", "a@x.example", "v@y.example",
		  GREY_DEFER, 300 },
		/* a passed triplet is still known a month later... */
		{ 30L * 86400, "192.0.2.10", "a@x.example", "u@y.example",
		  GREY_PASS, 0 },
		/* ... and each pass refreshes it */
		{ 65L * 86400, "192.0.2.10", "a@x.example", "u@y.example",
		  GREY_PASS, 0 },
		/* but unused for longer than pass_ttl it is forgotten */
		{ 65L * 86400 + 36L * 86400 + 1, "192.0.2.10", "a@x.example",
		  "u@y.example", GREY_DEFER, 300 },
	};
	char longfrom[700], longrcpt[700];
	struct err e;
	size_t i;
	long wait;
	enum grey_res r;
	int good;

	err_clear(&e);
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		wait = -1;
		if (clock_hook)
			fake_now = T0 + rows[i].at;
		err_clear(&e);
		r = grey_check(s, &g, rows[i].ip, rows[i].from, rows[i].rcpt,
		    T0 + rows[i].at, &wait, &e);
		good = r == rows[i].want &&
		    (r != GREY_DEFER || wait == rows[i].wait);
		ok(good, "%s grey row %zu (+%lds %s %s %s): %s wait %ld, "
		    "want %s %ld %s", name, i, rows[i].at, rows[i].ip,
		    rows[i].from, rows[i].rcpt, grey_name(r), wait,
		    grey_name(rows[i].want), rows[i].wait, e.msg);
	}

	/* A triplet longer than a store key is hashed, and still works. */
	memset(longfrom, 'f', sizeof longfrom - 1);
	longfrom[sizeof longfrom - 1] = '\0';
	memset(longrcpt, 'r', sizeof longrcpt - 1);
	longrcpt[sizeof longrcpt - 1] = '\0';
	fake_now = T0;
	r = grey_check(s, &g, "198.51.100.1", longfrom, longrcpt, T0, NULL,
	    &e);
	ok(r == GREY_DEFER, "%s grey: long triplet first seen: %s %s", name,
	    grey_name(r), r == GREY_ERROR ? e.msg : "");
	r = grey_check(s, &g, "198.51.100.1", longfrom, longrcpt, T0 + 400,
	    NULL, &e);
	ok(r == GREY_PASS, "%s grey: long triplet retried: %s", name,
	    grey_name(r));
	longrcpt[0] = 'R';
	r = grey_check(s, &g, "198.51.100.1", longfrom, longrcpt, T0 + 401,
	    NULL, &e);
	ok(r == GREY_DEFER, "%s grey: a different long triplet is another "
	    "key: %s", name, grey_name(r));
	/* Garbage where a triplet should be: starts over, no error. */
	if (store_set(s, SPAN_LIT("grey:?not-an-ip/x/y"),
	    SPAN_LIT("zzz"), 0, &e) == 0) {
		r = grey_check(s, &g, "not-an-ip", "x", "y", T0, &wait, &e);
		ok(r == GREY_DEFER && wait == 300, "%s grey: a garbage "
		    "value is replaced: %s", name, grey_name(r));
	} else {
		ok(0, "%s grey: set garbage: %s", name, e.msg);
	}
}

/* ---- rate limits ---- */

static void
run_rate(const char *name, struct store *s, struct store *s2)
{
	struct rate_conf r;
	struct err e;
	int i, nok, nover;
	enum rate_res rr;
	long t;

	err_clear(&e);
	/* 3 per minute: window 60 s */
	if (rate_conf_parse("3/1m", &r, &e) == -1) {
		ok(0, "%s rate: parse: %s", name, e.msg);
		return;
	}
	t = T0 - T0 % 60;	/* the start of a window */
	nok = nover = 0;
	for (i = 0; i < 5; i++) {
		rr = rate_take(s, &r, "client", "192.0.2.1", 1, t + i, &e);
		nok += rr == RATE_OK;
		nover += rr == RATE_OVER;
	}
	ok(nok == 3 && nover == 2, "%s rate: 3/1m admits 3 of 5 at once "
	    "(%d ok, %d over)", name, nok, nover);
	rr = rate_take(s, &r, "client", "192.0.2.2", 1, t + 5, &e);
	ok(rr == RATE_OK, "%s rate: another id has its own bucket", name);
	rr = rate_take(s, &r, "sender", "192.0.2.1", 1, t + 5, &e);
	ok(rr == RATE_OK, "%s rate: another kind has its own bucket", name);
	/* Half a window later, half the previous window still counts:
	 * 3 * 0.5 + 1 = 2.5 <= 3, then 3 * 0.5 + 2 = 3.5 > 3. */
	rr = rate_take(s, &r, "client", "192.0.2.1", 1, t + 90, &e);
	ok(rr == RATE_OK, "%s rate: refilled half a window later", name);
	rr = rate_take(s, &r, "client", "192.0.2.1", 1, t + 90, &e);
	ok(rr == RATE_OVER, "%s rate: ... by the refill rate only", name);
	/* Refused attempts were given back: two windows on, it is full. */
	nok = 0;
	for (i = 0; i < 4; i++)
		nok += rate_take(s, &r, "client", "192.0.2.1", 1,
		    t + 240, &e) == RATE_OK;
	ok(nok == 3, "%s rate: full again after two windows (%d of 4)",
	    name, nok);
	/* A cost larger than the bucket never passes. */
	rr = rate_take(s, &r, "user", "big", 4, t, &e);
	ok(rr == RATE_OVER, "%s rate: cost 4 > burst 3 is over", name);
	rr = rate_take(s, &r, "user", "big", 3, t, &e);
	ok(rr == RATE_OK, "%s rate: ... and was not counted", name);
	/* Ids longer than a store key are hashed. */
	{
		char longid[800];

		memset(longid, 'i', sizeof longid - 1);
		longid[sizeof longid - 1] = '\0';
		nok = 0;
		for (i = 0; i < 4; i++)
			nok += rate_take(s, &r, "sender", longid, 1, t,
			    &e) == RATE_OK;
		ok(nok == 3, "%s rate: a long id works (%d of 4) %s", name,
		    nok, e.msg);
	}
	/* Bad parameters are the caller's bug. */
	{
		struct rate_conf bad = { 0, 0 };

		rr = rate_take(s, &bad, "client", "x", 1, t, &e);
		ok(rr == RATE_ERROR && e.cls == ERR_INTERNAL, "%s rate: "
		    "zero rate refused (%s)", name, e.msg);
	}
	/* Two handles on one store share the bucket. */
	if (s2 != NULL) {
		nok = 0;
		for (i = 0; i < 6; i++)
			nok += rate_take(i % 2 ? s2 : s, &r, "client",
			    "203.0.113.9", 1, t, &e) == RATE_OK;
		ok(nok == 3, "%s rate: two handles share one bucket "
		    "(%d of 6 admitted)", name, nok);
	}
}

/* Redis only: a second handle sees the first's greylisting; the server
 * killed mid-test fails fast with ERR_TEMP; a restart recovers. */
static void
run_redis_shared(const char *spec)
{
	static const struct grey_conf g = { 300, 14400, 36L * 86400, 24, 64 };
	struct store *a = NULL, *b = NULL;
	struct rate_conf r;
	struct err e;
	enum grey_res gr;
	enum rate_res rr;
	double t0, dt;

	err_clear(&e);
	if ((a = store_open(spec, NULL, &e)) == NULL ||
	    (b = store_open(spec, NULL, &e)) == NULL) {
		ok(0, "redis shared: open: %s", e.msg);
		goto out;
	}
	gr = grey_check(a, &g, "192.0.2.200", "s@x", "r@y", T0, NULL, &e);
	ok(gr == GREY_DEFER, "redis shared: milter A defers a new triplet");
	gr = grey_check(b, &g, "192.0.2.201", "s@x", "r@y", T0 + 60, NULL,
	    &e);
	ok(gr == GREY_DEFER, "redis shared: milter B too early: DEFER");
	gr = grey_check(b, &g, "192.0.2.201", "s@x", "r@y", T0 + 301, NULL,
	    &e);
	ok(gr == GREY_PASS, "redis shared: milter B passes A's triplet "
	    "after the delay");
	(void)rate_conf_parse("3/1m", &r, &e);

	/* Kill the server: errors, fast. */
	redis_stop(SIGKILL);
	t0 = now_ms();
	err_clear(&e);
	gr = grey_check(a, &g, "192.0.2.200", "s@x", "r@y", T0 + 400, NULL,
	    &e);
	dt = now_ms() - t0;
	ok(gr == GREY_ERROR && e.cls == ERR_TEMP && e.msg[0] != '\0',
	    "redis down: GREY_ERROR, ERR_TEMP: %s", e.msg);
	ok(dt < 3000, "redis down: ... in %.0f ms", dt);
	t0 = now_ms();
	err_clear(&e);
	rr = rate_take(b, &r, "client", "192.0.2.200", 1, T0, &e);
	dt = now_ms() - t0;
	ok(rr == RATE_ERROR && e.cls == ERR_TEMP && e.msg[0] != '\0',
	    "redis down: RATE_ERROR, ERR_TEMP: %s", e.msg);
	ok(dt < 3000, "redis down: ... in %.0f ms", dt);

	/* A hung server (SIGSTOP) is bounded by the store's deadline. */
	if (redis_start(scratch, 0) == -1) {
		ok(0, "redis: restart");
		goto out;
	}
	gr = grey_check(a, &g, "192.0.2.210", "s@x", "r@y", T0, NULL, &e);
	ok(gr == GREY_DEFER, "redis back: the same handle works again (%s)",
	    gr == GREY_ERROR ? e.msg : "DEFER");
	rr = rate_take(b, &r, "client", "192.0.2.210", 1, T0, &e);
	ok(rr == RATE_OK, "redis back: rate limits work again (%s)",
	    rr == RATE_ERROR ? e.msg : "OK");
	(void)kill(redis_pid, SIGSTOP);
	t0 = now_ms();
	gr = grey_check(a, &g, "192.0.2.211", "s@x", "r@y", T0, NULL, &e);
	dt = now_ms() - t0;
	(void)kill(redis_pid, SIGCONT);
	ok(gr == GREY_ERROR && e.cls == ERR_TEMP, "redis hung: GREY_ERROR "
	    "(%s)", e.msg);
	ok(dt < 3000, "redis hung: ... within the deadline (%.0f ms)", dt);
out:
	store_close(&a);
	store_close(&b);
}

/* ---- SPF: names, resolver specs, the client pool ---- */

static void
run_spf_names(void)
{
	static const struct {
		const char *spec;
		int rc;
		int family;
		unsigned port;
	} rows[] = {
		{ "127.0.0.1", 0, AF_INET, 53 },
		{ "127.0.0.1:5353", 0, AF_INET, 5353 },
		{ "::1", 0, AF_INET6, 53 },
		{ "[::1]:5353", 0, AF_INET6, 5353 },
		{ "[2001:db8::1]", 0, AF_INET6, 53 },
		{ "localhost", -1, 0, 0 },
		{ "127.0.0.1:0", -1, 0, 0 },
		{ "127.0.0.1:65536", -1, 0, 0 },
		{ "127.0.0.1:x", -1, 0, 0 },
		{ "[::1", -1, 0, 0 },
		{ "[::1]x", -1, 0, 0 },
		{ "1.2.3.4.5", -1, 0, 0 },
	};
	struct sockaddr_storage ss;
	unsigned len, port, i;
	struct err e;
	int rc;

	for (i = 0; i < 7; i++)
		ok(strcmp(spf_res_name((enum spf_res)i), (const char *[]){
		    "none", "neutral", "pass", "fail", "softfail",
		    "temperror", "permerror" }[i]) == 0,
		    "spf_res_name(%u) = %s", i, spf_res_name((enum spf_res)i));
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		err_clear(&e);
		rc = spfdns_resolver(rows[i].spec, &ss, &len, &e);
		port = 0;
		if (rc == 0)
			port = ntohs(ss.ss_family == AF_INET ?
			    ((struct sockaddr_in *)&ss)->sin_port :
			    ((struct sockaddr_in6 *)&ss)->sin6_port);
		ok(rc == rows[i].rc && (rc == -1 ? e.cls == ERR_CONFIG :
		    ss.ss_family == rows[i].family && port == rows[i].port),
		    "spf_resolver row %u \"%s\": rc %d port %u %s", i,
		    rows[i].spec, rc, port, e.msg);
	}
}

#define SPF_THREADS	8
#define SPF_PER_THREAD	3
#define SPF_SLACK_MS	400

struct spf_job {
	struct spf_client *cl;
	int deadline_ms;
	int n;
	int temperror, late, failed;
	double worst;
};

static void *
spf_thread(void *arg)
{
	struct spf_job *j = arg;
	struct spf_answer a;
	struct err e;
	double t0, dt;
	int i;

	for (i = 0; i < j->n; i++) {
		t0 = now_ms();
		if (spf_check(j->cl, "192.0.2.1", "helo.example",
		    "a@example.org", j->deadline_ms, &a, &e) == -1)
			j->failed++;
		dt = now_ms() - t0;
		if (dt > j->worst)
			j->worst = dt;
		j->late += dt > j->deadline_ms + SPF_SLACK_MS;
		j->temperror += a.mailfrom == SPF_R_TEMPERROR;
	}
	return NULL;
}

/* Threads share the pool (3 workers) against a resolver that never
 * answers (every check runs into its deadline) and one that refuses
 * (every check fails fast): all temperror, none late, no deadlock. */
static void
run_spf_pool(void)
{
	struct spf_job jobs[SPF_THREADS];
	pthread_t th[SPF_THREADS];
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	struct spf_client *cl;
	struct spf_answer a;
	struct conf c;
	struct err e;
	char spec[64], longhelo[400];
	int hole, round, i, temp, late, failed;
	double worst, t0;

	conf_init(&c);
	err_clear(&e);
	c.spf = 0;
	cl = spf_client_start(&c, &e);
	ok(cl == NULL && e.cls == ERR_NONE, "spf off: no client, no error");
	c.spf = 1;
	(void)conf_set(&c, "spf_user", "no-such-user-xyz", "test", &e);
	(void)conf_set(&c, "spf_resolver", "127.0.0.1:9", "test", &e);
	cl = spf_client_start(&c, &e);
	ok(cl == NULL && e.cls == ERR_CONFIG, "spf: an unknown spf_user "
	    "stops the start (%s)", e.msg);

	/* the black hole: bound, never read */
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((hole = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    bind(hole, (struct sockaddr *)&sa, sizeof sa) == -1 ||
	    getsockname(hole, (struct sockaddr *)&sa, &sl) == -1) {
		ok(0, "spf: black hole socket");
		conf_free(&c);
		return;
	}
	for (round = 0; round < 2; round++) {
		xfmt(spec, sizeof spec, "127.0.0.1:%d", round == 0 ?
		    ntohs(sa.sin_port) : redis_free_port());
		(void)conf_set(&c, "spf_user", "nobody", "test", &e);
		(void)conf_set(&c, "spf_resolver", spec, "test", &e);
		if ((cl = spf_client_start(&c, &e)) == NULL) {
			ok(0, "spf: client start: %s", e.msg);
			break;
		}
		t0 = now_ms();
		for (i = 0; i < SPF_THREADS; i++) {
			memset(&jobs[i], 0, sizeof jobs[i]);
			jobs[i].cl = cl;
			jobs[i].deadline_ms = 700;
			jobs[i].n = round == 0 ? SPF_PER_THREAD : 20;
			if (pthread_create(&th[i], NULL, spf_thread,
			    &jobs[i]) != 0)
				abort();
		}
		temp = late = failed = 0;
		worst = 0;
		for (i = 0; i < SPF_THREADS; i++) {
			(void)pthread_join(th[i], NULL);
			temp += jobs[i].temperror;
			late += jobs[i].late;
			failed += jobs[i].failed;
			if (jobs[i].worst > worst)
				worst = jobs[i].worst;
		}
		ok(temp == SPF_THREADS * jobs[0].n && late == 0 &&
		    failed == 0, "spf pool, %s: %d threads x %d checks: "
		    "%d temperror, %d late, %d failed, slowest %.0f ms, "
		    "all in %.0f ms", round == 0 ? "black hole" : "refused",
		    SPF_THREADS, jobs[0].n, temp, late, failed, worst,
		    now_ms() - t0);
		/* hostile lengths never reach a worker */
		memset(longhelo, 'h', sizeof longhelo - 1);
		longhelo[sizeof longhelo - 1] = '\0';
		ok(spf_check(cl, "192.0.2.1", longhelo, "", 700, &a, &e) ==
		    0 && a.mailfrom == SPF_R_NONE, "spf: a 399-byte HELO is "
		    "none without a lookup (%s)", a.comment);
		spf_client_stop(&cl);
		ok(cl == NULL, "spf: stop clears the handle");
	}
	(void)close(hole);
	conf_free(&c);
}

int
main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	char spec[PATH_MAX + 16];
	struct store *s = NULL, *s2 = NULL;
	struct err e;

	/* spf_client_start re-executes this program as the SPF helper */
	if (argc > 1 && strcmp(argv[1], SPF_HELPER_ARG) == 0)
		return spf_helper_main(argc, argv);
	err_clear(&e);
	xfmt(scratch, sizeof scratch, "%s/test-milter-policy.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		perror(scratch);
		return 2;
	}
	run_parse();
	run_spf_names();
	run_spf_pool();

	/* LMDB with the fake clock: TTLs follow now. */
	store_set_clock(fake_clock);
	xfmt(spec, sizeof spec, "lmdb:%s/lmdb", scratch);
	if ((s = store_open(spec, NULL, &e)) == NULL) {
		ok(0, "lmdb: open: %s", e.msg);
	} else {
		run_grey("lmdb", s, 1);
		store_close(&s);
		if ((s = store_open(spec, NULL, &e)) != NULL &&
		    (s2 = store_open(spec, NULL, &e)) != NULL)
			run_rate("lmdb", s, s2);
		else
			ok(0, "lmdb: reopen: %s", e.msg);
		store_close(&s);
		store_close(&s2);
	}
	store_set_clock(NULL);
	fake_now = T0;

	if (redis_start(scratch, 0) == -1) {
		ok(0, "redis-server starts on 127.0.0.1 (is redis-server "
		    "installed? tests/install-deps.sh installs it)");
	} else {
		/* a short deadline keeps the hung-server row quick */
		xfmt(spec, sizeof spec, "redis://127.0.0.1:%d/2?timeout=500",
		    redis_port);
		if ((s = store_open(spec, NULL, &e)) == NULL ||
		    (s2 = store_open(spec, NULL, &e)) == NULL) {
			ok(0, "redis: open: %s", e.msg);
		} else {
			run_grey("redis", s, 0);
			run_rate("redis", s, s2);
		}
		store_close(&s);
		store_close(&s2);
		xfmt(spec, sizeof spec, "redis://127.0.0.1:%d/5?timeout=500",
		    redis_port);
		run_redis_shared(spec);
	}
	redis_stop(SIGTERM);
	(void)nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
