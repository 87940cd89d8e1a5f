/*
 * spf.c - SPF (RFC 7208) for the milter, with libspf2 kept at arm's
 * length (policy.h).
 *
 * Why: libspf2 is old C with a record of memory bugs in exactly the code
 * an attacker reaches through DNS (macro expansion: CVE-2021-20314,
 * CVE-2021-33912/33913, and in 2023 ZDI-23-1472 / CVE-2023-42118, an
 * integer underflow in SPF macro parsing, fixed upstream by
 * shevek/libspf2 PR #44, "Fix integer underflow", merged 2023-10).
 * Debian 12 ships libspf2 1.2.10-7.2+b1; its changelog
 * (/usr/share/doc/libspf2-2/changelog.Debian.gz) ends with 7.1 (2021:
 * CVE-2021-20314, sprintf sanity check, reverse modifier) and 7.2 (2022:
 * no-libreplace build fix): the 2023 fix is NOT in it. The isolation
 * below is the mitigation whatever the version.
 *
 * Processes:
 *   milter --fork+exec--> supervisor ("sluice-milter --spf-helper USER
 *   RESOLVER", control socket on fd 3): drops to spf_user at once
 *   (setgroups, setgid, setuid, verified), chdir /, closes every other
 *   descriptor, then forks workers on request and kills/reaps them by PID
 *   on request. Its only input is the milter's control bytes.
 *   supervisor --fork--> worker: resource limits (RLIMIT_AS, RLIMIT_CPU,
 *   RLIMIT_NOFILE, RLIMIT_FSIZE 0, RLIMIT_NPROC 0, RLIMIT_CORE 0), then
 *   libspf2 with our DNS layer (spfdns.c), one request at a time over its
 *   own socketpair, whose milter end the supervisor hands over with
 *   SCM_RIGHTS. A worker retires after SPF_WORKER_MAX_REQUESTS so the
 *   CPU limit (cumulative) is never reached by honest work.
 * Because the supervisor forks the workers, they are replaced as the
 * unprivileged user even after the milter dropped its own privileges, and
 * killed by a process that has the right to.
 *
 * Milter side: a pool of SPF_POOL_SIZE workers shared by the threads
 * under a mutex and condition variable; each check has a deadline (poll);
 * a worker that misses it, dies or answers garbage is killed and reaped
 * by the supervisor and replaced on next use; the answer is TEMPERROR.
 *
 * Wire format (both directions): 4-byte big-endian length, then bytes.
 *   request: 4-byte deadline ms, "IP\0HELO\0MAILFROM\0"
 *   reply:   result byte (mailfrom), result byte (helo), flags byte
 *            (SPF_REPLY_LAST: the worker retires after this), comment
 *   control: 'S' -> 4-byte pid (0: failed) + the fd; 'K' + 4-byte pid.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <spf2/spf.h>

#include "policy.h"
#include "../lib/conf.h"
#include "../lib/log.h"

#define SPF_POOL_SIZE		3	/* workers shared by all threads */
#define SPF_CTL_FD		3	/* the supervisor's control socket */
#define SPF_MAX_IP		64	/* bytes of an address in text */
#define SPF_MAX_HELO		255	/* RFC 1035 name length */
#define SPF_MAX_FROM		512	/* RFC 5321 4.5.3.1.3 reverse-path */
#define SPF_MAX_REQUEST		(4 + SPF_MAX_IP + SPF_MAX_HELO + \
				 SPF_MAX_FROM + 3)
#define SPF_MAX_REPLY		(3 + SPF_MAX_COMMENT)
#define SPF_REPLY_LAST		0x01	/* flags: the worker exits now */
#define SPF_MIN_DEADLINE_MS	100
#define SPF_MAX_DEADLINE_MS	60000
#define SPF_WORKER_MARGIN_MS	200	/* the worker answers this early */
#ifndef SPF_WORKER_MAX_REQUESTS	/* -D for a test of the retirement */
#define SPF_WORKER_MAX_REQUESTS	2000
#endif
#define SPF_WORKER_AS		(512L * 1024 * 1024)	/* bytes */
#define SPF_WORKER_CPU		60	/* seconds over its lifetime */
#define SPF_WORKER_NOFILE	8	/* 0-3 and DNS sockets */
#define SPF_CTL_MS		3000	/* supervisor replies within */
#define SPF_START_MS		5000	/* the supervisor says hello within */
#define SPF_STOP_MS		1000	/* then SIGKILL */
#define SPF_MAX_WORKERS		64	/* the supervisor's table */
#define SPF_CLI_DEFAULT_MS	5000

struct spf_worker {
	int fd;			/* -1: none (spawn on next use) */
	pid_t pid;
	int busy;
};

/*
 * Locking: mu guards the busy flags (a thread owns the worker it marked
 * busy, fd and pid included); ctl_mu serialises the control socket and is
 * taken with the caller's deadline, so a slow supervisor never holds up
 * threads that only need a free worker.
 */
struct spf_client {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_mutex_t ctl_mu;
	int ctl;		/* to the supervisor; -1 when it died */
	pid_t super;
	struct spf_worker w[SPF_POOL_SIZE];
};

static const char *const res_names[] = {
	"none", "neutral", "pass", "fail", "softfail", "temperror",
	"permerror"
};

const char *
spf_res_name(enum spf_res r)
{
	if ((unsigned)r >= sizeof res_names / sizeof res_names[0])
		return "temperror";
	return res_names[r];
}

/* ---- framing ---- */

static long long
now_ms(void)
{
	return spfdns_now_ms();
}

/* Read or write exactly n bytes before until (ms, monotonic; 0: no
 * limit). 0, or -1 (timeout, EOF, error). */
static int
xfer(int fd, void *buf, size_t n, int writing, long long until)
{
	unsigned char *p = buf;
	struct pollfd pfd;
	long long left;
	ssize_t k;
	int rc;

	while (n > 0) {
		pfd.fd = fd;
		pfd.events = writing ? POLLOUT : POLLIN;
		left = until > 0 ? until - now_ms() : -1;
		if (until > 0 && left <= 0)
			return -1;
		rc = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc <= 0)
			return -1;
		k = writing ? send(fd, p, n, MSG_NOSIGNAL) : read(fd, p, n);
		if (k == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int
frame_write(int fd, const void *p, size_t n, long long until)
{
	unsigned char hdr[4];

	put32(hdr, (uint32_t)n);
	if (xfer(fd, hdr, 4, 1, until) == -1)
		return -1;
	return xfer(fd, (void *)(uintptr_t)p, n, 1, until);
}

/* A frame of at most max bytes into buf; its length, or -1. */
static ssize_t
frame_read(int fd, void *buf, size_t max, long long until)
{
	unsigned char hdr[4];
	uint32_t n;

	if (xfer(fd, hdr, 4, 0, until) == -1)
		return -1;
	if ((n = get32(hdr)) > max)
		return -1;
	if (xfer(fd, buf, n, 0, until) == -1)
		return -1;
	return (ssize_t)n;
}

/* Printable ASCII only, bounded, NUL-terminated. */
static void
clean_comment(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src != NULL && *src != '\0' && i + 1 < size; src++)
		dst[i++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	dst[i] = '\0';
}

/* ---- the worker (libspf2 lives here only) ---- */

static enum spf_res
map_result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS:		return SPF_R_PASS;
	case SPF_RESULT_FAIL:		return SPF_R_FAIL;
	case SPF_RESULT_SOFTFAIL:	return SPF_R_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:	return SPF_R_NEUTRAL;
	case SPF_RESULT_NONE:		return SPF_R_NONE;
	case SPF_RESULT_PERMERROR:	return SPF_R_PERMERROR;
	case SPF_RESULT_TEMPERROR:	return SPF_R_TEMPERROR;
	default:			return SPF_R_TEMPERROR;
	}
}

/* A HELO worth checking: a domain with a dot, not an address literal. */
static int
helo_checkable(const char *helo)
{
	return helo[0] != '\0' && helo[0] != '[' && strchr(helo, '.') &&
	    strspn(helo, "0123456789.") != strlen(helo) &&
	    strchr(helo, ':') == NULL;
}

/* One identity: env_from ("postmaster@HELO" form when it has no '@'). */
static enum spf_res
check_one(SPF_server_t *srv, const char *ip, const char *helo,
    const char *from, char *comment, size_t csize)
{
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	enum spf_res res = SPF_R_NONE;
	SPF_errcode_t ec;
	const char *c;

	if ((req = SPF_request_new(srv)) == NULL)
		return SPF_R_TEMPERROR;
	if (strchr(ip, ':') != NULL ? SPF_request_set_ipv6_str(req, ip) :
	    SPF_request_set_ipv4_str(req, ip)) {
		clean_comment(comment, csize, "bad client address");
		goto out;
	}
	if (helo[0] != '\0')
		(void)SPF_request_set_helo_dom(req, helo);
	if (SPF_request_set_env_from(req, from)) {
		/* RFC 7208 4.3: a malformed identity is "none" */
		clean_comment(comment, csize, "malformed identity");
		goto out;
	}
	ec = SPF_request_query_mailfrom(req, &resp);
	if (resp == NULL) {
		res = SPF_R_TEMPERROR;
		goto out;
	}
	if (SPF_response_result(resp) == SPF_RESULT_INVALID) {
		/* No result: libspf2 stopped on an error. A record it
		 * could not parse is the domain's fault (RFC 7208 4.6:
		 * permerror); a DNS failure is temporary. */
		if (SPF_response_errcode(resp) != SPF_E_SUCCESS)
			ec = SPF_response_errcode(resp);
		res = ec == SPF_E_DNS_ERROR ? SPF_R_TEMPERROR :
		    SPF_R_PERMERROR;
		clean_comment(comment, csize, SPF_strerror(ec));
		goto out;
	}
	res = map_result(SPF_response_result(resp));
	if ((c = SPF_response_get_header_comment(resp)) != NULL) {
		/* libspf2 starts it with "RECEIVING-HOST: ": the
		 * milter's header names the host already */
		if (srv->rec_dom != NULL &&
		    strncmp(c, srv->rec_dom, strlen(srv->rec_dom)) == 0 &&
		    strncmp(c + strlen(srv->rec_dom), ": ", 2) == 0)
			c += strlen(srv->rec_dom) + 2;
		clean_comment(comment, csize, c);
	} else {
		clean_comment(comment, csize, SPF_strresult(
		    SPF_response_result(resp)));
	}
out:
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_request_free(req);
	return res;
}

static void
set_limits(void)
{
	struct rlimit rl;

#ifndef __SANITIZE_ADDRESS__	/* ASan reserves terabytes of shadow */
	rl.rlim_cur = rl.rlim_max = SPF_WORKER_AS;
	(void)setrlimit(RLIMIT_AS, &rl);
#endif
	rl.rlim_cur = SPF_WORKER_CPU;
	rl.rlim_max = SPF_WORKER_CPU + 1;
	(void)setrlimit(RLIMIT_CPU, &rl);
	rl.rlim_cur = rl.rlim_max = SPF_WORKER_NOFILE;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max = 0;
	(void)setrlimit(RLIMIT_FSIZE, &rl);
	(void)setrlimit(RLIMIT_NPROC, &rl);
	(void)setrlimit(RLIMIT_CORE, &rl);
}

static void
worker_main(int fd, const struct sockaddr_storage *res, unsigned reslen)
{
	unsigned char req[SPF_MAX_REQUEST + 1], reply[SPF_MAX_REPLY];
	const char *ip, *helo, *from;
	SPF_dns_server_t *dns;
	SPF_server_t *srv;
	struct err e;
	ssize_t n;
	uint32_t ms;
	size_t l1, l2, l3, clen;
	char comment[SPF_MAX_COMMENT], hc[SPF_MAX_COMMENT];
	enum spf_res mf, hr;
	unsigned served;

	set_limits();
	if ((dns = spfdns_new(res, reslen, &e)) == NULL ||
	    (srv = SPF_server_new_dns(dns, 0)) == NULL)
		_exit(1);
	for (served = 0; served < SPF_WORKER_MAX_REQUESTS; served++) {
		/* no deadline: the milter's side has it, and kills us */
		if ((n = frame_read(fd, req, SPF_MAX_REQUEST, 0)) < 7)
			break;
		req[n] = '\0';
		ms = get32(req);
		ip = (const char *)req + 4;
		l1 = strnlen(ip, (size_t)n - 4);
		if (4 + l1 + 1 >= (size_t)n)
			break;
		helo = ip + l1 + 1;
		l2 = strlen(helo);
		if (4 + l1 + 1 + l2 + 1 >= (size_t)n + 1)
			break;
		from = helo + l2 + 1;
		l3 = strlen(from);
		if (4 + l1 + l2 + l3 + 3 != (size_t)n)
			break;	/* not what the milter sends: give up */
		/* answer (temperror) a little before the milter side
		 * gives up on us and kills us */
		ms -= ms / 4 < SPF_WORKER_MARGIN_MS ? ms / 4 :
		    SPF_WORKER_MARGIN_MS;
		spfdns_set_deadline(dns, now_ms() + ms);

		comment[0] = hc[0] = '\0';
		hr = SPF_R_NONE;
		if (helo_checkable(helo))
			hr = check_one(srv, ip, helo, helo, hc, sizeof hc);
		if (from[0] == '\0') {
			/* RFC 7208 2.4: the null sender is
			 * postmaster@HELO, whose result the HELO check
			 * just computed */
			mf = hr;
			memcpy(comment, hc, sizeof comment);
		} else {
			mf = check_one(srv, ip, helo, from, comment,
			    sizeof comment);
		}
		reply[0] = (unsigned char)mf;
		reply[1] = (unsigned char)hr;
		reply[2] = served + 1 == SPF_WORKER_MAX_REQUESTS ?
		    SPF_REPLY_LAST : 0;
		clen = strlen(comment);
		memcpy(reply + 3, comment, clen);
		if (frame_write(fd, reply, 3 + clen, 0) == -1)
			break;
	}
	SPF_server_free(srv);
	_exit(0);
}

/* ---- the supervisor ---- */

static int
drop_privileges(const char *user)
{
	struct passwd *pw;
	gid_t gid;

	if (geteuid() != 0)
		return 0;	/* not root: nothing to drop (tests) */
	if ((pw = getpwnam(user)) == NULL) {
		log_err("spf helper: unknown spf_user %s", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_err("spf helper: spf_user %s is root", user);
		return -1;
	}
	gid = pw->pw_gid;
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		log_warn("spf helper: drop to %s", user);
		return -1;
	}
	/* verify: there is no way back */
	if (setuid(0) != -1 || geteuid() == 0 || getegid() == 0) {
		log_err("spf helper: privileges still held after drop");
		return -1;
	}
	return 0;
}

static void
close_from(int lowfd)
{
	long max = sysconf(_SC_OPEN_MAX);
	int fd;

	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = lowfd; fd < max; fd++)
		(void)close(fd);
}

/* Send pid and fd (fd -1: failure, pid 0) over the control socket. */
static int
send_worker(int ctl, pid_t pid, int fd)
{
	unsigned char b[4];
	struct iovec iov = { b, 4 };
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr mh;

	memset(&mh, 0, sizeof mh);
	memset(&cm, 0, sizeof cm);
	put32(b, (uint32_t)(fd >= 0 ? pid : 0));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		mh.msg_control = cm.space;
		mh.msg_controllen = sizeof cm.space;
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.h), &fd, sizeof fd);
	}
	while (sendmsg(ctl, &mh, MSG_NOSIGNAL) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

int
spf_helper_main(int argc, char **argv)
{
	struct sockaddr_storage res;
	pid_t kids[SPF_MAX_WORKERS], pid;
	unsigned reslen, nkids = 0, i;
	unsigned char cmd[5];
	struct err e;
	int sv[2], null;

	if (argc != 4) {
		fprintf(stderr, "%s: internal use only\n", argv[0]);
		return 64;
	}
	log_open("sluice-milter", LOG_TO_SYSLOG | LOG_TO_STDERR, 0);
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGCHLD, SIG_DFL);	/* we reap our workers by PID */
	if (spfdns_resolver(argv[3], &res, &reslen, &e) == -1) {
		log_err("spf helper: %s", e.msg);
		return 1;
	}
	if (drop_privileges(argv[2]) == -1)
		return 1;
	if (chdir("/") == -1)
		return 1;
	if ((null = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(null, 0);
		(void)dup2(null, 1);
		if (null > 2 && null != SPF_CTL_FD)
			(void)close(null);
	}
	close_from(SPF_CTL_FD + 1);
	/* hello: the milter waits for it, so a failed start is seen */
	if (xfer(SPF_CTL_FD, "H", 1, 1, 0) == -1)
		return 1;
	for (;;) {
		/* reap workers that retired or died */
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			for (i = 0; i < nkids; i++)
				if (kids[i] == pid)
					kids[i] = kids[--nkids];
		if (xfer(SPF_CTL_FD, cmd, 1, 0, 0) == -1)
			break;		/* the milter is gone */
		if (cmd[0] == 'K') {
			if (xfer(SPF_CTL_FD, cmd + 1, 4, 0, 0) == -1)
				break;
			pid = (pid_t)get32(cmd + 1);
			/* only our own children, by PID */
			for (i = 0; i < nkids; i++)
				if (kids[i] == pid && pid > 0) {
					(void)kill(pid, SIGKILL);
					(void)waitpid(pid, NULL, 0);
					kids[i] = kids[--nkids];
					break;
				}
			continue;
		}
		if (cmd[0] != 'S')
			break;
		if (nkids >= SPF_MAX_WORKERS ||
		    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    sv) == -1) {
			if (send_worker(SPF_CTL_FD, 0, -1) == -1)
				break;
			continue;
		}
		if ((pid = fork()) == 0) {
			(void)close(SPF_CTL_FD);
			(void)close(sv[0]);
			worker_main(sv[1], &res, reslen);
			_exit(0);
		}
		(void)close(sv[1]);
		if (pid > 0)
			kids[nkids++] = pid;
		if (send_worker(SPF_CTL_FD, pid, pid > 0 ? sv[0] : -1) == -1)
			break;
		(void)close(sv[0]);
	}
	for (i = 0; i < nkids; i++) {
		(void)kill(kids[i], SIGKILL);
		(void)waitpid(kids[i], NULL, 0);
	}
	return 0;
}

/* ---- the milter's side ---- */

/* Ask the supervisor for a worker (ctl_mu held), by until. 0 or -1. */
static int
spawn_worker(struct spf_client *cl, struct spf_worker *w, long long until,
    struct err *e)
{
	unsigned char b[4];
	struct iovec iov = { b, 4 };
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr mh;
	struct cmsghdr *ch;
	struct pollfd pfd;
	long long left;
	ssize_t n;
	int fd = -1;

	if (cl->ctl == -1)
		return err_set(e, ERR_TEMP, "spf: the helper supervisor "
		    "is gone");
	if (until > now_ms() + SPF_CTL_MS)
		until = now_ms() + SPF_CTL_MS;
	if (xfer(cl->ctl, "S", 1, 1, until) == -1)
		goto dead;
	pfd.fd = cl->ctl;
	pfd.events = POLLIN;
	left = until - now_ms();
	if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
		goto dead;
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.space;
	mh.msg_controllen = sizeof cm.space;
	while ((n = recvmsg(cl->ctl, &mh, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	if (n != 4)
		goto dead;
	for (ch = CMSG_FIRSTHDR(&mh); ch != NULL; ch = CMSG_NXTHDR(&mh, ch))
		if (ch->cmsg_level == SOL_SOCKET &&
		    ch->cmsg_type == SCM_RIGHTS &&
		    ch->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(ch), sizeof fd);
	if (get32(b) == 0 || fd == -1) {
		if (fd != -1)
			(void)close(fd);
		return err_set(e, ERR_TEMP, "spf: the helper could not "
		    "start a worker");
	}
	w->fd = fd;
	w->pid = (pid_t)get32(b);
	return 0;
dead:
	(void)close(cl->ctl);
	cl->ctl = -1;
	return err_set(e, ERR_TEMP, "spf: the helper supervisor does not "
	    "answer");
}

/* Kill and forget a worker (the caller owns it): by PID, through the
 * supervisor, which reaps it. */
static void
kill_worker(struct spf_client *cl, struct spf_worker *w)
{
	unsigned char cmd[5];
	struct timespec ts;

	if (w->fd != -1)
		(void)close(w->fd);
	w->fd = -1;
	/* a supervisor that holds ctl_mu longer than this is hung: the
	 * worker then stays, and ends when it sees its socket closed */
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += SPF_CTL_MS / 1000;
	if (pthread_mutex_timedlock(&cl->ctl_mu, &ts) != 0) {
		log_err("spf: cannot reach the helper supervisor to kill "
		    "worker %ld", (long)w->pid);
		w->pid = 0;
		return;
	}
	if (cl->ctl != -1 && w->pid > 0) {
		cmd[0] = 'K';
		put32(cmd + 1, (uint32_t)w->pid);
		if (xfer(cl->ctl, cmd, 5, 1, now_ms() + SPF_CTL_MS) == -1) {
			(void)close(cl->ctl);
			cl->ctl = -1;
		}
	}
	pthread_mutex_unlock(&cl->ctl_mu);
	w->pid = 0;
}

struct spf_client *
spf_client_start(const struct conf *c, struct err *e)
{
	struct spf_client *cl;
	char exe[PATH_MAX];
	char *argv[5];
	unsigned char hello;
	ssize_t n;
	int sv[2], i;
	pid_t pid;

	err_clear(e);
	if (!c->spf)
		return NULL;	/* off: NULL with no error */
	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) <= 0) {
		err_sys(e, errno, "spf: readlink /proc/self/exe");
		return NULL;
	}
	exe[n] = '\0';
	argv[0] = exe;
	argv[1] = (char *)SPF_HELPER_ARG;
	argv[2] = c->spf_user != NULL ? c->spf_user : (char *)"nobody";
	argv[3] = c->spf_resolver != NULL ? c->spf_resolver : (char *)"";
	argv[4] = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		err_sys(e, errno, "spf: socketpair");
		return NULL;
	}
	if ((pid = fork()) == -1) {
		err_sys(e, errno, "spf: fork");
		(void)close(sv[0]);
		(void)close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		/* async-signal-safe calls only until exec */
		if (sv[1] != SPF_CTL_FD) {
			if (dup2(sv[1], SPF_CTL_FD) == -1)
				_exit(127);
		} else if (fcntl(SPF_CTL_FD, F_SETFD, 0) == -1) {
			_exit(127);
		}
		(void)close_range(SPF_CTL_FD + 1, ~0U, 0);
		execv(exe, argv);
		_exit(127);
	}
	(void)close(sv[1]);
	if (xfer(sv[0], &hello, 1, 0, now_ms() + SPF_START_MS) == -1 ||
	    hello != 'H') {
		err_set(e, ERR_CONFIG, "spf: the helper did not start "
		    "(spf_user %s, spf_resolver %s: see the log)", argv[2],
		    argv[3][0] ? argv[3] : "from /etc/resolv.conf");
		(void)close(sv[0]);
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		return NULL;
	}
	cl = xcalloc(1, sizeof *cl);
	pthread_mutex_init(&cl->mu, NULL);
	pthread_mutex_init(&cl->ctl_mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&cl->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	cl->ctl = sv[0];
	cl->super = pid;
	for (i = 0; i < SPF_POOL_SIZE; i++)
		cl->w[i].fd = -1;
	return cl;
}

void
spf_client_stop(struct spf_client **cp)
{
	struct spf_client *cl = *cp;
	long long until;
	int i;

	if (cl == NULL)
		return;
	for (i = 0; i < SPF_POOL_SIZE; i++)
		if (cl->w[i].fd != -1)
			(void)close(cl->w[i].fd);
	if (cl->ctl != -1)
		(void)close(cl->ctl);	/* EOF: it kills its workers, exits */
	until = now_ms() + SPF_STOP_MS;
	while (waitpid(cl->super, NULL, WNOHANG) == 0) {
		if (now_ms() > until) {
			(void)kill(cl->super, SIGKILL);
			(void)waitpid(cl->super, NULL, 0);
			break;
		}
		(void)usleep(10000);
	}
	pthread_cond_destroy(&cl->cv);
	pthread_mutex_destroy(&cl->mu);
	pthread_mutex_destroy(&cl->ctl_mu);
	free(cl);
	*cp = NULL;
}

static void
answer_temp(struct spf_answer *out, const char *why)
{
	out->mailfrom = SPF_R_TEMPERROR;
	out->helo = SPF_R_TEMPERROR;
	clean_comment(out->comment, sizeof out->comment, why);
}

int
spf_check(struct spf_client *cl, const char *ip, const char *helo,
    const char *mailfrom, int deadline_ms, struct spf_answer *out,
    struct err *e)
{
	unsigned char req[SPF_MAX_REQUEST], reply[SPF_MAX_REPLY];
	size_t l1 = strlen(ip), l2 = strlen(helo), l3 = strlen(mailfrom);
	struct spf_worker *w = NULL;
	struct timespec ts;
	long long until, left;
	ssize_t n;
	int i, ret = 0;

	memset(out, 0, sizeof *out);
	if (deadline_ms < SPF_MIN_DEADLINE_MS)
		deadline_ms = SPF_MIN_DEADLINE_MS;
	if (deadline_ms > SPF_MAX_DEADLINE_MS)
		deadline_ms = SPF_MAX_DEADLINE_MS;
	until = now_ms() + deadline_ms;
	/* Hostile SMTP input: refuse what cannot be a real identity
	 * before it reaches anything. */
	if (l2 > SPF_MAX_HELO) {	/* no such name: do not check it */
		helo = "";
		l2 = 0;
	}
	if (l1 > SPF_MAX_IP || l3 > SPF_MAX_FROM) {
		out->mailfrom = out->helo = SPF_R_NONE;
		clean_comment(out->comment, sizeof out->comment,
		    "identity too long");
		return 0;
	}
	memcpy(req + 4, ip, l1 + 1);
	memcpy(req + 4 + l1 + 1, helo, l2 + 1);
	memcpy(req + 4 + l1 + l2 + 2, mailfrom, l3 + 1);

	/* a free worker, waiting no longer than the deadline */
	pthread_mutex_lock(&cl->mu);
	for (;;) {
		for (i = 0; i < SPF_POOL_SIZE && w == NULL; i++)
			if (!cl->w[i].busy)
				w = &cl->w[i];
		if (w != NULL)
			break;
		ts.tv_sec = until / 1000;
		ts.tv_nsec = (until % 1000) * 1000000;
		if (pthread_cond_timedwait(&cl->cv, &cl->mu, &ts) ==
		    ETIMEDOUT) {
			pthread_mutex_unlock(&cl->mu);
			answer_temp(out, "SPF helpers busy");
			return 0;
		}
	}
	w->busy = 1;
	pthread_mutex_unlock(&cl->mu);

	/* An idle worker with something to read has closed its end:
	 * retired (SPF_WORKER_MAX_REQUESTS) or died. Replace it now rather
	 * than fail this check. */
	if (w->fd != -1) {
		struct pollfd pfd = { w->fd, POLLIN, 0 };

		if (poll(&pfd, 1, 0) != 0)
			kill_worker(cl, w);
	}
	if (w->fd == -1) {
		/* ctl_mu by the deadline (timedlock: CLOCK_REALTIME) */
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		left = until - now_ms();
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (left <= 0 ||
		    pthread_mutex_timedlock(&cl->ctl_mu, &ts) != 0) {
			answer_temp(out, "SPF helpers busy");
			goto release;
		}
		ret = spawn_worker(cl, w, until, e);
		pthread_mutex_unlock(&cl->ctl_mu);
		if (ret == -1) {
			answer_temp(out, "SPF helper unavailable");
			goto release;
		}
	}

	/* the worker gets what is left after waiting for it */
	left = until - now_ms();
	put32(req, (uint32_t)(left > 0 ? left : 1));
	if (frame_write(w->fd, req, 4 + l1 + l2 + l3 + 3, until) == -1 ||
	    (n = frame_read(w->fd, reply, sizeof reply, until)) < 3 ||
	    reply[0] > SPF_R_PERMERROR || reply[1] > SPF_R_PERMERROR) {
		/* late, dead or talking nonsense: kill, replace later */
		answer_temp(out, now_ms() >= until ? "SPF check timed out" :
		    "SPF helper failed");
		kill_worker(cl, w);
	} else {
		out->mailfrom = (enum spf_res)reply[0];
		out->helo = (enum spf_res)reply[1];
		reply[n < (ssize_t)sizeof reply ? n : (ssize_t)sizeof reply -
		    1] = '\0';
		clean_comment(out->comment, sizeof out->comment,
		    (const char *)reply + 3);
		if (reply[2] & SPF_REPLY_LAST)	/* reap it, next: a new one */
			kill_worker(cl, w);
	}
release:
	pthread_mutex_lock(&cl->mu);
	w->busy = 0;
	pthread_cond_signal(&cl->cv);
	pthread_mutex_unlock(&cl->mu);
	return ret;
}

/* ---- sluice-milter --spf-check ---- */

int
spf_cli_main(int argc, char **argv)
{
	struct spf_client *cl;
	struct spf_answer a;
	struct conf c;
	struct err e;
	const char *cfile = NULL, *resolver = NULL, *user = NULL;
	long long t0;
	int i, ms = SPF_CLI_DEFAULT_MS, ret = 0;

	for (i = 2; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "-c") == 0)
			cfile = argv[i + 1];
		else if (strcmp(argv[i], "-r") == 0)
			resolver = argv[i + 1];
		else if (strcmp(argv[i], "-u") == 0)
			user = argv[i + 1];
		else if (strcmp(argv[i], "-t") == 0)
			ms = atoi(argv[i + 1]);
		else
			break;
	}
	if (argc - i < 3 || (argc - i) % 3 != 0) {
		fprintf(stderr, "usage: %s " SPF_CHECK_ARG " [-c CONF] "
		    "[-r RESOLVER] [-u USER] [-t MS] IP HELO FROM "
		    "[IP HELO FROM...]\n", argv[0]);
		return 64;
	}
	log_open("sluice-milter", LOG_TO_STDERR, 0);
	conf_init(&c);
	if (cfile != NULL && conf_load(&c, cfile, 1, &e) == -1) {
		fprintf(stderr, "%s\n", e.msg);
		conf_free(&c);
		return 1;
	}
	if ((resolver != NULL && conf_set(&c, "spf_resolver", resolver,
	    "-r", &e) == -1) ||
	    (user != NULL && conf_set(&c, "spf_user", user, "-u", &e) == -1)) {
		fprintf(stderr, "%s\n", e.msg);
		conf_free(&c);
		return 64;
	}
	c.spf = 1;
	if ((cl = spf_client_start(&c, &e)) == NULL) {
		fprintf(stderr, "%s\n", e.msg);
		conf_free(&c);
		return 1;
	}
	for (; i + 2 < argc; i += 3) {
		t0 = now_ms();
		if (spf_check(cl, argv[i], argv[i + 1], argv[i + 2], ms, &a,
		    &e) == -1) {
			fprintf(stderr, "spf: %s\n", e.msg);
			ret = 1;
		}
		printf("mailfrom=%s helo=%s ms=%lld comment=%s\n",
		    spf_res_name(a.mailfrom), spf_res_name(a.helo),
		    now_ms() - t0, a.comment);
		(void)fflush(stdout);
	}
	spf_client_stop(&cl);
	conf_free(&c);
	return ret;
}
