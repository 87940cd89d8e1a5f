/*
 * main.c - sluice-milter: the daemon.
 *
 *	sluice-milter [-c CONF] [-f] [-n] [-s SOCKET] [-u USER] [-P PIDFILE]
 *	    [-d]
 *
 * Start-up order matters: read and check everything (rules compiled
 * once, with the Hyperscan prefilter), bind the socket as root, detach,
 * write the pid file, start the SPF helper (a fork: before any thread),
 * drop privileges to milter_user (verified), then run libmilter.
 *
 * Signals. libmilter's smfi_main() starts its own thread that sigwait()s
 * SIGHUP, SIGTERM and SIGINT and *stops* the milter on SIGHUP. So
 * smfi_main() runs in a second thread (with those signals blocked, as
 * every thread it starts inherits), and the main thread keeps them
 * unblocked with handlers that write to a self-pipe. Linux gives a
 * process-directed signal to the thread group leader whenever that
 * thread does not block it (kernel complete_signal()), so SIGHUP reaches
 * our handler, not libmilter's thread. Known weakness: a signal that
 * arrives while the main thread still has another one pending may go to
 * libmilter's thread (SIGHUP would then stop the milter; systemd restarts
 * it). tests/integ/t-milter-proto.sh checks that SIGHUP reloads.
 *
 *	SIGHUP	 reload: a new generation (conf, rules, Bayes probe) is
 *		 built and swapped in; connections finish their message on
 *		 the old one. A reload that fails keeps the old generation.
 *	SIGTERM	 clean shutdown (smfi_stop, bounded wait for connections,
 *	SIGINT	 pid file removed).
 *	SIGUSR1	 write the counters now.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "config.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "msg/msg.h"
#include "score/score.h"
#include "store/store.h"
#include "milter/milter.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef PKGDATADIR
#define PKGDATADIR "/usr/share/sluice"
#endif
#define MILTER_DEFAULT_CONF	SYSCONFDIR "/sluice/sluice.conf"
#define MILTER_DEFAULT_RULES	PKGDATADIR "/filters"
#define MILTER_MAX_RULE_PATHS	64
/* SpamAssassin's bayes_min_spam_num / bayes_min_ham_num. */
#define MILTER_BAYES_MIN	200
/* How long shutdown waits for open connections to end. */
#define MILTER_SHUTDOWN_WAIT_MS	10000
/* libmilter's listen backlog (smfi_setbacklog); Postfix opens one
 * connection per SMTP session. */
#define MILTER_BACKLOG		1024
/* libmilter's own per-command timeout (smfi_settimeout), seconds:
 * longer than Postfix's milter_content_timeout. */
#define MILTER_LIB_TIMEOUT	600
/* Lines of the rule load report logged at start. */
#define MILTER_MAX_REPORT_LINES	50
/* descriptors searched for the listening socket (it is opened early) */
#define MILTER_MAX_SCAN_FD	64

struct spf_client *milter_spf;

/* The current generation (see milter.h). */
static pthread_mutex_t gen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct milter_gen *gen_cur;
static unsigned long gen_serial;

/* Command-line overrides, set before any thread and read-only after. */
static const char *opt_socket, *opt_user, *opt_pidfile;
static int opt_debug;

/* Self-pipe for the signal handlers. */
static int sig_pipe[2] = { -1, -1 };

/* ---- store pool ---- */

struct store_pool {
	pthread_mutex_t lock;
	struct store *idle[MILTER_STORE_POOL];
	size_t nidle;
};

struct store *
milter_store_get(struct milter_gen *g, struct err *e)
{
	struct store_pool *p = g->pool;
	struct store *s = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->nidle > 0)
		s = p->idle[--p->nidle];
	pthread_mutex_unlock(&p->lock);
	if (s != NULL)
		return s;
	/* Opened outside the lock: a Redis connect has its own deadline.
	 * LMDB handles of one directory share one environment
	 * (store_lmdb.c), so several handles in one process are safe. */
	return store_open(g->conf.store, g->home, e);
}

void
milter_store_put(struct milter_gen *g, struct store **sp, int bad)
{
	struct store_pool *p = g->pool;
	struct store *stale[MILTER_STORE_POOL];
	size_t nstale = 0;

	if (*sp == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	if (!bad) {
		if (p->nidle < MILTER_STORE_POOL) {
			p->idle[p->nidle++] = *sp;
			*sp = NULL;
		}
	} else {
		/* The idle handles talk to the same server: when it died
		 * or restarted they are all stale, and each would fail
		 * one message. Drop them all; the next get reconnects. */
		memcpy(stale, p->idle, p->nidle * sizeof stale[0]);
		nstale = p->nidle;
		p->nidle = 0;
	}
	pthread_mutex_unlock(&p->lock);
	store_close(sp);
	/* closed outside the lock: a close may wait on the network */
	while (nstale > 0)
		store_close(&stale[--nstale]);
}

static void
pool_free(struct store_pool **pp)
{
	struct store_pool *p = *pp;

	if (p == NULL)
		return;
	while (p->nidle > 0)
		store_close(&p->idle[--p->nidle]);
	pthread_mutex_destroy(&p->lock);
	free(p);
	*pp = NULL;
}

/* ---- trusted networks ---- */

/* "192.0.2.0/24", "2001:db8::/32", "10.1.2.3" (a host). */
static int
net_parse(const char *text, struct milter_net *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long pfx;
	char *end;

	if (n == 0 || n >= sizeof addr)
		return -1;
	memcpy(addr, text, n);
	addr[n] = '\0';
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
	} else
		return -1;
	if (slash != NULL) {
		errno = 0;
		pfx = strtoul(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || errno != 0 ||
		    pfx > out->prefix)
			return -1;
		out->prefix = (unsigned)pfx;
	}
	return 0;
}

static int
net_match(const struct milter_net *n, int family, const unsigned char *a)
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;

	if (family != n->family)
		return 0;
	if (memcmp(n->addr, a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((n->addr[full] ^ a[full]) & (0xff00 >> rest) & 0xff) == 0;
}

int
milter_trusted(const struct milter_gen *g, const char *ip)
{
	unsigned char a[16];
	int family;
	size_t i;

	if (ip == NULL)
		return 0;
	if (inet_pton(AF_INET, ip, a) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, ip, a) == 1) {
		family = AF_INET6;
		/* IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as IPv4 */
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0,
		    0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(a, mapped, sizeof mapped) == 0) {
			memmove(a, a + 12, 4);
			family = AF_INET;
		}
	} else
		return 0;
	for (i = 0; i < g->nnets; i++)
		if (net_match(&g->nets[i], family, a))
			return 1;
	return 0;
}

/* ---- generations ---- */

static void
gen_free(struct milter_gen *g)
{
	if (g == NULL)
		return;
	pool_free(&g->pool);
	bayes_cache_free(&g->bcache);
	score_rules_free(&g->rules);
	conf_free(&g->conf);
	free(g);
}

/* The rule paths: score_rules (space separated) or the shipped set. */
static int
load_rules(struct milter_gen *g, int score_set, struct buf *report,
    struct err *e)
{
	struct score_load_opts o;
	struct score_load_report rep;
	const char *paths[MILTER_MAX_RULE_PATHS];
	char *copy = NULL, *tok, *save = NULL;
	size_t n = 0;
	int ret = -1;

	memset(&rep, 0, sizeof rep);
	if (g->conf.score_rules != NULL && g->conf.score_rules[0] != '\0') {
		copy = xstrdup(g->conf.score_rules);
		for (tok = strtok_r(copy, " \t,", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t,", &save)) {
			if (n == MILTER_MAX_RULE_PATHS) {
				err_set(e, ERR_CONFIG, "score_rules: more than "
				    "%d paths", MILTER_MAX_RULE_PATHS);
				goto out;
			}
			paths[n++] = tok;
		}
	}
	if (n == 0)
		paths[n++] = MILTER_DEFAULT_RULES;
	memset(&o, 0, sizeof o);
	o.paths = paths;
	o.npaths = n;
	o.score_set = score_set;
	o.prefilter_hs = 1;	/* loaded once, run for every message */
#ifdef SCORE_LOAD_HAS_CACHE_DIR
	/* a restart or reload reads the compiled prefilter in ms */
	o.cache_dir = g->conf.score_cache_dir;
#endif
	if (score_rules_load(&o, &g->rules, &rep, e) == -1)
		goto out;
	if (report != NULL) {
		if (rep.text.len > 0)
			buf_add(report, rep.text.data, rep.text.len);
		buf_addf(report, "rules: files %u, loaded %u, scored and "
		    "loaded %u, unsupported eval %u, errors %u\n", rep.files,
		    rep.loaded, rep.scored_loaded, rep.eval_unsupported,
		    rep.errors);
	}
	ret = 0;
out:
	score_load_report_free(&rep);
	free(copy);
	return ret;
}

/*
 * Bayes takes part when the store has learned enough mail, as in
 * `sluice score`; the rules then use SpamAssassin's score set 2. The
 * decision is made per generation (a reload after training switches):
 * bayes_classify() of a one-line probe message says -1 without an error
 * when too little has been learned.
 */
static int
bayes_probe(struct milter_gen *g)
{
	static const char probe[] = "Subject: probe\n\nprobe\n";
	struct bayes_conf bc;
	struct store *s;
	struct bayes *b = NULL;
	struct score_msg *sm = NULL;
	struct msg *m;
	struct err e;
	double p = -1;

	err_clear(&e);
	if (g->conf.store == NULL || g->conf.store[0] == '\0')
		return 0;
	/* An embedded store that does not exist has learned nothing; the
	 * probe must not create it (at start we are still root). */
	if (strncmp(g->conf.store, "redis", 5) != 0) {
		const char *path = strncmp(g->conf.store, "lmdb:", 5) == 0 ?
		    g->conf.store + 5 : g->conf.store;
		char buf[PATH_MAX];
		struct stat st;

		if (path[0] == '~' && path[1] == '/') {
			if (g->home == NULL || buf_fmt(buf, sizeof buf, "%s%s",
			    g->home, path + 1) == -1)
				return 0;
			path = buf;
		}
		if (stat(path, &st) == -1)
			return 0;
	}
	if ((s = milter_store_get(g, &e)) == NULL) {
		log_info("bayes: store %s unavailable (%s): scoring without "
		    "Bayes", g->conf.store, e.msg);
		return 0;
	}
	memset(&bc, 0, sizeof bc);
	bc.min_spam = bc.min_ham = MILTER_BAYES_MIN;
	m = msg_new();
	msg_parse_header(m, probe, sizeof probe - 1);
	m->data = probe;
	m->len = sizeof probe - 1;
	m->size = m->vsize = (off_t)m->len;
	sm = score_msg_new(m, NULL);
	if ((b = bayes_new(s, &bc)) != NULL)
		p = bayes_classify(b, sm, &e);
	bayes_free(&b);
	score_msg_free(&sm);
	msg_free(&m);
	milter_store_put(g, &s, e.cls != ERR_NONE);
	return p >= 0;
}

static int
gen_conf(struct milter_gen *g, struct err *e)
{
	struct conf *c = &g->conf;
	char *copy, *tok, *save = NULL;
	const char *rl[RATE_K_N];
	char host[256];
	size_t i;

	if (strcmp(c->milter_store_fail, "open") == 0)
		g->store_fail_tempfail = 0;
	else if (strcmp(c->milter_store_fail, "tempfail") == 0)
		g->store_fail_tempfail = 1;
	else
		return err_set(e, ERR_CONFIG, "milter_store_fail: expected "
		    "open or tempfail, got \"%s\"", c->milter_store_fail);
	copy = xstrdup(c->trusted_networks ? c->trusted_networks : "");
	for (tok = strtok_r(copy, " \t,", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t,", &save)) {
		if (g->nnets == MILTER_MAX_NETS) {
			free(copy);
			return err_set(e, ERR_CONFIG, "trusted_networks: more "
			    "than %d entries", MILTER_MAX_NETS);
		}
		if (net_parse(tok, &g->nets[g->nnets]) == -1) {
			err_set(e, ERR_CONFIG, "trusted_networks: bad "
			    "network \"%s\"", tok);
			free(copy);
			return -1;
		}
		g->nnets++;
	}
	free(copy);
	if (c->authserv_id != NULL && c->authserv_id[0] != '\0') {
		/* RFC 8601 2.2: authserv-id = value (a token here) */
		if (strlen(c->authserv_id) > MILTER_MAX_AUTHSERV ||
		    strpbrk(c->authserv_id, " \t;()\"\\") != NULL)
			return err_set(e, ERR_CONFIG, "authserv_id: expected "
			    "a host name, got \"%s\"", c->authserv_id);
		(void)buf_fmt(g->authserv_id, sizeof g->authserv_id, "%s",
		    c->authserv_id);
	} else {
		const char *h = c->hostname;

		if (h == NULL || h[0] == '\0') {
			if (gethostname(host, sizeof host) == -1)
				return err_sys(e, errno, "gethostname");
			host[sizeof host - 1] = '\0';
			h = host;
		}
		if (buf_fmt(g->authserv_id, sizeof g->authserv_id, "%s", h)
		    == -1)
			return err_set(e, ERR_CONFIG, "host name too long");
	}
	if (c->greylist_v4_prefix > 32 || c->greylist_v6_prefix > 128)
		return err_set(e, ERR_CONFIG, "greylist_v4_prefix <= 32, "
		    "greylist_v6_prefix <= 128");
	if (c->greylist_delay >= c->greylist_expiry)
		return err_set(e, ERR_CONFIG, "greylist_delay must be shorter "
		    "than greylist_expiry");
	g->grey_on = c->greylist_score < CONF_SCORE_OFF;
	g->grey.delay = c->greylist_delay;
	g->grey.expiry = c->greylist_expiry;
	g->grey.pass_ttl = c->greylist_pass_ttl;
	g->grey.v4_prefix = c->greylist_v4_prefix;
	g->grey.v6_prefix = c->greylist_v6_prefix;
	rl[RATE_K_CLIENT] = c->ratelimit_client;
	rl[RATE_K_SENDER] = c->ratelimit_sender;
	rl[RATE_K_USER] = c->ratelimit_user;
	for (i = 0; i < RATE_K_N; i++) {
		if (rl[i] == NULL || rl[i][0] == '\0' ||
		    strcmp(rl[i], "off") == 0)
			continue;
		if (rate_conf_parse(rl[i], &g->rate[i], e) == -1)
			return -1;
		g->rate_on[i] = 1;
	}
	return 0;
}

/* Apply the command-line overrides (they survive reloads). */
static int
gen_overrides(struct conf *c, struct err *e)
{
	if (opt_socket && conf_set(c, "milter_socket", opt_socket,
	    "command line", e) == -1)
		return -1;
	if (opt_user && conf_set(c, "milter_user", opt_user,
	    "command line", e) == -1)
		return -1;
	if (opt_pidfile && conf_set(c, "milter_pid_file", opt_pidfile,
	    "command line", e) == -1)
		return -1;
	if (opt_debug)
		c->mail_debug = 1;
	return 0;
}

struct milter_gen *
milter_gen_new(const char *path, int must_exist, const char *home,
    struct buf *report, struct err *e)
{
	struct milter_gen *g = xcalloc(1, sizeof *g);

	conf_init(&g->conf);
	g->refs = 1;		/* the caller's */
	g->home = home;
	g->pool = xcalloc(1, sizeof *g->pool);
	pthread_mutex_init(&g->pool->lock, NULL);
	if (conf_load(&g->conf, path ? path : MILTER_DEFAULT_CONF,
	    must_exist, e) == -1 || gen_overrides(&g->conf, e) == -1 ||
	    gen_conf(g, e) == -1)
		goto fail;
	g->bayes_on = bayes_probe(g);
	if (g->bayes_on)
		g->bcache = bayes_cache_new(0);
	if (load_rules(g, g->bayes_on ? 2 : 0, report, e) == -1)
		goto fail;
	return g;
fail:
	gen_free(g);
	return NULL;
}

struct milter_gen *
milter_gen_get(void)
{
	struct milter_gen *g;

	pthread_mutex_lock(&gen_lock);
	if ((g = gen_cur) != NULL)
		g->refs++;
	pthread_mutex_unlock(&gen_lock);
	return g;
}

void
milter_gen_put(struct milter_gen **gp)
{
	struct milter_gen *g = *gp;
	int last;

	if (g == NULL)
		return;
	pthread_mutex_lock(&gen_lock);
	last = --g->refs == 0;
	pthread_mutex_unlock(&gen_lock);
	/* Freed outside the lock: closing stores may take time. */
	if (last)
		gen_free(g);
	*gp = NULL;
}

/* Publish g (the caller's reference moves to gen_cur); the old one goes
 * when its last message is done. */
static void
gen_publish(struct milter_gen *g)
{
	struct milter_gen *old;

	pthread_mutex_lock(&gen_lock);
	g->serial = ++gen_serial;
	old = gen_cur;
	gen_cur = g;
	pthread_mutex_unlock(&gen_lock);
	milter_gen_put(&old);
}

/* ---- daemon ---- */

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: sluice-milter [-c CONF] [-f] [-n] [-s SOCKET] "
	    "[-u USER] [-P PIDFILE] [-d]\n");
}

static void
on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	/* a full pipe means a wake-up is pending anyway */
	(void)!write(sig_pipe[1], &c, 1);
	errno = saved;
}

static int
set_handlers(void)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
	struct sigaction sa;
	size_t i;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (sigaction(sigs[i], &sa, NULL) == -1)
			return -1;
	/* a peer that goes away must not kill us */
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

static int
daemonize(void)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() == -1)
		return -1;
	/* a second fork: never a session leader, so never a terminal */
	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0)
		_exit(0);
	if (chdir("/") == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		return -1;
	(void)dup2(fd, STDIN_FILENO);
	(void)dup2(fd, STDOUT_FILENO);
	(void)dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

static int
write_pidfile(const char *path, struct err *e)
{
	char line[32];
	int fd, n;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) == -1)
		return err_sys(e, errno, "open %s", path);
	n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
	if (write_all(fd, line, (size_t)n) == -1) {
		err_sys(e, errno, "write %s", path);
		close(fd);
		return -1;
	}
	return close(fd);
}

/* setgroups, setgid, setuid, then check that root cannot come back. */
static int
drop_privileges(const struct passwd *pw, struct err *e)
{
	if (setgroups(1, &pw->pw_gid) == -1)
		return err_sys(e, errno, "setgroups");
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1)
		return err_sys(e, errno, "setresgid %lu",
		    (unsigned long)pw->pw_gid);
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		return err_sys(e, errno, "setresuid %lu",
		    (unsigned long)pw->pw_uid);
	if (pw->pw_uid != 0 && (setuid(0) != -1 || geteuid() == 0 ||
	    getegid() != pw->pw_gid))
		return err_set(e, ERR_INTERNAL, "privileges not dropped");
	return 0;
}

static void *
milter_thread(void *arg)
{
	int *ret = arg;

	*ret = smfi_main();
	/* wake the main thread: libmilter stopped on its own */
	on_signal(0);
	return NULL;
}

/* Reload on SIGHUP: the old generation stays when the new one fails. */
static void
reload(const char *cpath, const char *home)
{
	struct milter_gen *g;
	struct buf rep = BUF_INIT;
	struct err e;
	struct timespec t0, t1;

	err_clear(&e);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((g = milter_gen_new(cpath, cpath != NULL, home, &rep, &e)) ==
	    NULL) {
		log_err("reload failed, keeping the running configuration: "
		    "%s", e.msg);
		buf_free(&rep);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	gen_publish(g);
	log_info("reloaded: generation %lu, bayes %s, %ld ms", g->serial,
	    g->bayes_on ? "on" : "off", (long)((t1.tv_sec - t0.tv_sec) *
	    1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
	buf_free(&rep);
}

/* Wait (bounded) for the connection threads libmilter leaves behind. */
static void
wait_conns(void)
{
	int waited;

	for (waited = 0; milter_conns_active() > 0 &&
	    waited < MILTER_SHUTDOWN_WAIT_MS; waited += 50)
		(void)poll(NULL, 0, 50);
}

/*
 * TCP_NODELAY on the listening inet socket (Linux hands it on to every
 * accepted connection). The milter answers with many small packets (one
 * per header change); with Nagle's algorithm each waits for the peer's
 * delayed ACK: measured 24 ms p50 per message over a unix socket against
 * 95 ms over TCP (tests/bench/bench-milter.sh). libmilter keeps the
 * socket to itself, so find it: the only listening socket we have.
 */
static void
listen_nodelay(void)
{
	int fd, one = 1, v, dom;
	socklen_t len;

	for (fd = 3; fd < MILTER_MAX_SCAN_FD; fd++) {
		len = sizeof v;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == -1 ||
		    v == 0)
			continue;
		len = sizeof dom;
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) == -1 ||
		    (dom != AF_INET && dom != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof one) == -1)
			log_warn("TCP_NODELAY on the milter socket: %s",
			    strerror(errno));
	}
}

int
main(int argc, char **argv)
{
	const char *cpath = NULL, *home = NULL;
	struct milter_gen *g = NULL;
	struct passwd *pw = NULL;
	struct buf rep = BUF_INIT;
	struct err e;
	sigset_t block, old;
	pthread_t thr;
	char *pidfile = NULL, *statsfile = NULL, *sock = NULL;
	int c, fg = 0, check = 0, ret = EX_SOFTWARE, lib_ret = 0;
	int started = 0, stop = 0, logw;
	long interval;
	time_t next_stats;

	if (argc > 1 && strcmp(argv[1], SPF_HELPER_ARG) == 0)
		return spf_helper_main(argc, argv);
#ifdef SPF_CHECK_ARG
	/* policy.h: the SPF check tool (tests, admins) */
	if (argc > 1 && strcmp(argv[1], SPF_CHECK_ARG) == 0)
		return spf_cli_main(argc, argv);
#endif
	err_clear(&e);
	while ((c = getopt(argc, argv, "c:fns:u:P:dh")) != -1) {
		switch (c) {
		case 'c': cpath = optarg; break;
		case 'f': fg = 1; break;
		case 'n': check = 1; break;
		case 's': opt_socket = optarg; break;
		case 'u': opt_user = optarg; break;
		case 'P': opt_pidfile = optarg; break;
		case 'd': opt_debug = 1; break;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	logw = check ? LOG_TO_STDERR : fg ? LOG_TO_SYSLOG | LOG_TO_STDERR :
	    LOG_TO_SYSLOG;
	log_open(MILTER_NAME, logw, opt_debug);

	/* The user first: "~/" in the store path is that user's home. */
	{
		struct conf tmp;

		conf_init(&tmp);
		if (conf_load(&tmp, cpath ? cpath : MILTER_DEFAULT_CONF,
		    cpath != NULL, &e) == -1 ||
		    gen_overrides(&tmp, &e) == -1) {
			log_err("%s", e.msg);
			conf_free(&tmp);
			ret = check ? 1 : EX_CONFIG;
			goto out;
		}
		if (getuid() == 0 && tmp.milter_user != NULL &&
		    tmp.milter_user[0] != '\0') {
			errno = 0;
			if ((pw = getpwnam(tmp.milter_user)) == NULL) {
				log_err("milter_user %s: no such user",
				    tmp.milter_user);
				conf_free(&tmp);
				ret = check ? 1 : EX_NOUSER;
				goto out;
			}
			home = xstrdup(pw->pw_dir);
			pw = NULL;	/* looked up again before dropping */
		} else if ((home = getenv("HOME")) != NULL)
			home = xstrdup(home);
		conf_free(&tmp);
	}
	if ((g = milter_gen_new(cpath, cpath != NULL, home, &rep, &e)) ==
	    NULL) {
		log_err("%s", e.msg);
		ret = check ? 1 : err_exit_code(&e);
		goto out;
	}
	if (check) {
		if (rep.len > 0)
			fwrite(rep.data, 1, rep.len, stdout);
		printf("configuration %s ok: socket %s, bayes %s, "
		    "reject_score %g, trusted networks %zu\n",
		    g->conf.path ? g->conf.path : "(defaults)",
		    g->conf.milter_socket, g->bayes_on ? "on" : "off",
		    g->conf.reject_score, g->nnets);
		ret = 0;
		goto out;
	}
	/* the load report, one log line per line (bounded) */
	{
		size_t i = 0, k = 0;

		while (i < rep.len && k++ < MILTER_MAX_REPORT_LINES) {
			const char *nl = memchr(rep.data + i, '\n',
			    rep.len - i);
			size_t n = nl ? (size_t)(nl - (rep.data + i)) :
			    rep.len - i;

			log_info("%.*s", (int)n, rep.data + i);
			i += n + 1;
		}
	}
	sock = xstrdup(g->conf.milter_socket);
	if (g->conf.milter_pid_file && g->conf.milter_pid_file[0])
		pidfile = xstrdup(g->conf.milter_pid_file);
	if (g->conf.milter_stats_file && g->conf.milter_stats_file[0])
		statsfile = xstrdup(g->conf.milter_stats_file);
	interval = g->conf.milter_stats_interval;
	gen_publish(g);
	g = NULL;

	if (smfi_register(milter_desc) == MI_FAILURE) {
		log_err("smfi_register failed");
		goto out;
	}
	/* Before the socket listens: a SIGTERM from then on (a systemd stop
	 * right after start) is a clean stop, never the default death that
	 * leaves the socket and the pid file behind. */
	if (set_handlers() == -1) {
		log_warn("signal handlers");
		goto out;
	}
	(void)smfi_setbacklog(MILTER_BACKLOG);
	(void)smfi_settimeout(MILTER_LIB_TIMEOUT);
	if (smfi_setconn(sock) == MI_FAILURE ||
	    smfi_opensocket(1) == MI_FAILURE) {
		log_err("cannot listen on %s", sock);
		ret = EX_UNAVAILABLE;
		goto out;
	}
	listen_nodelay();
	/* A Unix socket for Postfix: its group (postfix) must connect;
	 * the directory's permissions are the access control. */
	if (strncmp(sock, "unix:", 5) == 0 || strncmp(sock, "local:", 6) == 0)
		(void)chmod(strchr(sock, ':') + 1, 0660);
	if (!fg && daemonize() == -1) {
		log_warn("daemonize");
		goto out;
	}
	if (pidfile != NULL && write_pidfile(pidfile, &e) == -1) {
		log_err("%s", e.msg);
		goto out;
	}
	if ((milter_spf = spf_client_start(&gen_cur->conf, &e)) == NULL &&
	    e.cls != ERR_NONE) {
		log_err("spf: %s", e.msg);
		goto out;
	}
	if (getuid() == 0) {
		struct conf *cf = &gen_cur->conf;

		if (cf->milter_user == NULL || cf->milter_user[0] == '\0') {
			log_err("milter_user is empty: refusing to run as "
			    "root");
			goto out;
		}
		if ((pw = getpwnam(cf->milter_user)) == NULL) {
			log_err("milter_user %s: no such user",
			    cf->milter_user);
			goto out;
		}
		if (strncmp(sock, "unix:", 5) == 0 ||
		    strncmp(sock, "local:", 6) == 0)
			(void)!chown(strchr(sock, ':') + 1, pw->pw_uid,
			    (gid_t)-1);
		if (drop_privileges(pw, &e) == -1) {
			log_err("%s", e.msg);
			goto out;
		}
	}
	/* libmilter's threads are born with our signals blocked. */
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if ((errno = pthread_create(&thr, NULL, milter_thread, &lib_ret)) !=
	    0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		log_warn("pthread_create");
		goto out;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	started = 1;
	log_info("started on %s (pid %ld, generation %lu)", sock,
	    (long)getpid(), gen_serial);

	next_stats = interval > 0 ? time(NULL) + interval : 0;
	while (!stop) {
		struct pollfd pfd = { .fd = sig_pipe[0], .events = POLLIN };
		unsigned char sigs[16];
		ssize_t n, i;
		int timeout = -1;
		time_t now = time(NULL);

		if (next_stats != 0) {
			if (now >= next_stats) {
				stats_write(statsfile);
				next_stats = now + interval;
			}
			timeout = (int)(next_stats - now) * 1000;
		}
		if (poll(&pfd, 1, timeout) <= 0)
			continue;
		n = read(sig_pipe[0], sigs, sizeof sigs);
		for (i = 0; i < n; i++) {
			switch (sigs[i]) {
			case SIGHUP:
				log_info("SIGHUP: reloading");
				reload(cpath, home);
				break;
			case SIGUSR1:
				stats_write(statsfile);
				break;
			case SIGTERM:
			case SIGINT:
				log_info("signal %d: stopping", sigs[i]);
				stop = 1;
				break;
			default:	/* 0: smfi_main returned */
				log_err("libmilter stopped (%d)", lib_ret);
				stop = 1;
				break;
			}
		}
	}
	(void)smfi_stop();
	pthread_join(thr, NULL);
	wait_conns();
	stats_write(statsfile);
	ret = lib_ret == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
	log_info("stopped");
out:
	if (pidfile != NULL && started)
		(void)unlink(pidfile);
	if (started && milter_conns_active() == 0) {
		/* nothing can use them any more */
		pthread_mutex_lock(&gen_lock);
		g = gen_cur;
		gen_cur = NULL;
		pthread_mutex_unlock(&gen_lock);
		milter_gen_put(&g);
	} else if (!started) {
		milter_gen_put(&gen_cur);
		milter_gen_put(&g);
	}
	spf_client_stop(&milter_spf);
	stats_free();
	buf_free(&rep);
	free(pidfile);
	free(statsfile);
	free(sock);
	free((char *)(uintptr_t)home);
	if (sig_pipe[0] != -1) {
		close(sig_pipe[0]);
		close(sig_pipe[1]);
	}
	log_close();
	return ret;
}
