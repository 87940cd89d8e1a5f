/*
 * spfdns.c - libspf2's DNS layer for the SPF helper (policy.h): it sends
 * the queries itself to one configured resolver (spf_resolver, default
 * the first nameserver in /etc/resolv.conf), UDP with a fallback to TCP
 * when the answer is truncated, each query bounded by SPFDNS_QUERY_MS and
 * by the check's overall deadline. libspf2's own resolv layer uses the
 * system resolver (res_query), whose timeouts and retries come from
 * resolv.conf and add up far past a milter's budget, and which cannot be
 * pointed at a test server on a loopback port.
 *
 * Answers are parsed by hand with every length checked against the
 * packet (names with dn_skipname/dn_expand, which are bounded); only
 * records of the asked type and class IN are kept (CNAME chains are the
 * recursive resolver's job), at most SPFDNS_MAX_RR of them.
 * Not stacked under libspf2's cache layer: workers are recycled, that
 * cache has had bugs of its own, and the resolver (a local unbound,
 * dnsmasq...) caches anyway.
 * The helper is single-threaded: one layer, one deadline at a time.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "policy.h"

#define SPFDNS_QUERY_MS		2000	/* one UDP try, or the TCP query */
#define SPFDNS_UDP_TRIES	2	/* within the deadline */
#define SPFDNS_MAX_QUERY	512	/* bytes: one question */
#define SPFDNS_MAX_ANSWER	65535	/* bytes: the TCP maximum */
#define SPFDNS_MAX_RR		64	/* records kept per answer */
#define SPFDNS_DEFAULT_PORT	53
#define SPFDNS_RESOLV_CONF	"/etc/resolv.conf"
#define SPFDNS_MAX_LINE		512	/* of resolv.conf */

struct spfdns {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	long long deadline;		/* monotonic ms; 0: none */
	unsigned char *ans;		/* SPFDNS_MAX_ANSWER bytes */
};

long long
spfdns_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
parse_addr(const char *host, unsigned port, struct sockaddr_storage *out,
    unsigned *len_out)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;

	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		*len_out = sizeof *s4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		*len_out = sizeof *s6;
		return 0;
	}
	return -1;
}

int
spfdns_resolver(const char *spec, struct sockaddr_storage *out,
    unsigned *len_out, struct err *e)
{
	char host[INET6_ADDRSTRLEN + 1], line[SPFDNS_MAX_LINE], *p, *end;
	unsigned long port = SPFDNS_DEFAULT_PORT;
	const char *colon;
	size_t hl;
	FILE *f;

	if (spec == NULL || *spec == '\0') {
		if ((f = fopen(SPFDNS_RESOLV_CONF, "re")) == NULL)
			return err_sys(e, errno, "spf_resolver unset and %s",
			    SPFDNS_RESOLV_CONF);
		while (fgets(line, sizeof line, f) != NULL) {
			p = line + strspn(line, " \t");
			if (strncmp(p, "nameserver", 10) != 0 ||
			    (p[10] != ' ' && p[10] != '\t'))
				continue;
			p += 10 + strspn(p + 10, " \t");
			p[strcspn(p, " \t\r\n%")] = '\0';
			if (parse_addr(p, SPFDNS_DEFAULT_PORT, out,
			    len_out) == 0) {
				(void)fclose(f);
				return 0;
			}
		}
		(void)fclose(f);
		return err_set(e, ERR_CONFIG, "spf_resolver unset and no "
		    "usable nameserver in %s", SPFDNS_RESOLV_CONF);
	}
	/* [V6]:PORT, V4:PORT, or a bare address of either family */
	if (spec[0] == '[') {
		if ((colon = strchr(spec, ']')) == NULL)
			goto bad;
		hl = (size_t)(colon - spec - 1);
		if (hl >= sizeof host)
			goto bad;
		memcpy(host, spec + 1, hl);
		colon++;
		if (*colon != '\0' && *colon != ':')
			goto bad;
		if (*colon == '\0')
			colon = NULL;
	} else if ((colon = strchr(spec, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		hl = (size_t)(colon - spec);
		if (hl >= sizeof host)
			goto bad;
		memcpy(host, spec, hl);
	} else {
		hl = strlen(spec);
		if (hl >= sizeof host)
			goto bad;
		memcpy(host, spec, hl);
		colon = NULL;
	}
	host[hl] = '\0';
	if (colon != NULL) {
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno != 0 || end == colon + 1 || *end != '\0' ||
		    port == 0 || port > 65535)
			goto bad;
	}
	if (parse_addr(host, (unsigned)port, out, len_out) == 0)
		return 0;
bad:
	return err_set(e, ERR_CONFIG, "spf_resolver: \"%.64s\" is not "
	    "ADDR[:PORT] or [V6ADDR]:PORT", spec);
}

/* Wait for fd until the earlier of the query timeout and the deadline.
 * 1 ready, 0 timed out, -1 error. */
static int
wait_fd(int fd, short ev, long long until)
{
	struct pollfd pfd = { fd, ev, 0 };
	long long left;
	int rc;

	for (;;) {
		left = until - spfdns_now_ms();
		if (left <= 0)
			return 0;
		rc = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return -1;
		if (rc == 0)
			continue;
		return 1;
	}
}

static long long
query_until(const struct spfdns *d)
{
	long long u = spfdns_now_ms() + SPFDNS_QUERY_MS;

	if (d->deadline > 0 && d->deadline < u)
		u = d->deadline;
	return u;
}

/* Is ans an answer to q (same id, QR set, same question)? */
static int
matches(const unsigned char *q, size_t qlen, const unsigned char *a,
    size_t alen)
{
	if (alen < qlen || alen < NS_HFIXEDSZ)
		return 0;
	if (a[0] != q[0] || a[1] != q[1] || !(a[2] & 0x80))
		return 0;
	/* qdcount 1 and the question bytes: the name as we sent it
	 * (servers echo it; case may differ, compare without case) */
	if (a[4] != 0 || a[5] != 1)
		return 0;
	return mem_ieq((const char *)q + NS_HFIXEDSZ, qlen - NS_HFIXEDSZ,
	    (const char *)a + NS_HFIXEDSZ, qlen - NS_HFIXEDSZ);
}

/* UDP: 1 answer in d->ans (length in *alen), 0 none in time, -1 error. */
static int
ask_udp(struct spfdns *d, const unsigned char *q, size_t qlen,
    size_t *alen)
{
	int fd, rc = -1, w;
	ssize_t n;
	long long until;

	if ((fd = socket(d->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return -1;
	/* connected: the kernel drops datagrams from anyone else */
	if (connect(fd, (struct sockaddr *)&d->addr, d->addrlen) == -1 ||
	    send(fd, q, qlen, 0) != (ssize_t)qlen)
		goto out;
	until = query_until(d);
	for (;;) {
		if ((w = wait_fd(fd, POLLIN, until)) <= 0) {
			rc = w;
			goto out;
		}
		n = recv(fd, d->ans, SPFDNS_MAX_ANSWER, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)	/* ECONNREFUSED: nobody on that port */
			goto out;
		if (matches(q, qlen, d->ans, (size_t)n)) {
			*alen = (size_t)n;
			rc = 1;
			goto out;
		}
		/* a stray or forged datagram: keep waiting */
	}
out:
	(void)close(fd);
	return rc;
}

static int
io_all(int fd, unsigned char *p, size_t n, int writing, long long until)
{
	ssize_t k;

	while (n > 0) {
		if (wait_fd(fd, writing ? POLLOUT : POLLIN, until) <= 0)
			return -1;
		k = writing ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
		if (k == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* TCP (RFC 7766): same contract as ask_udp. */
static int
ask_tcp(struct spfdns *d, const unsigned char *q, size_t qlen,
    size_t *alen)
{
	unsigned char lenb[2], out[2 + SPFDNS_MAX_QUERY];
	long long until = query_until(d);
	int fd, rc = -1, soerr = 0;
	socklen_t sl = sizeof soerr;
	size_t n;

	if ((fd = socket(d->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&d->addr, d->addrlen) == -1) {
		if (errno != EINPROGRESS)
			goto out;
		if (wait_fd(fd, POLLOUT, until) <= 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1 ||
		    soerr != 0)
			goto out;
	}
	out[0] = (unsigned char)(qlen >> 8);
	out[1] = (unsigned char)qlen;
	memcpy(out + 2, q, qlen);
	if (io_all(fd, out, qlen + 2, 1, until) == -1 ||
	    io_all(fd, lenb, 2, 0, until) == -1)
		goto out;
	n = (size_t)lenb[0] << 8 | lenb[1];
	if (io_all(fd, d->ans, n, 0, until) == -1)
		goto out;
	if (matches(q, qlen, d->ans, n)) {
		*alen = n;
		rc = 1;
	}
out:
	(void)close(fd);
	return rc;
}

static SPF_dns_rr_t *
rr_fail(SPF_dns_server_t *srv, const char *domain, ns_type type, int herr)
{
	return SPF_dns_rr_new_init(srv, domain, type, 0, herr);
}

/* Copy the rdata of one wanted record into slot i. 0, -1 to skip it. */
static int
take_rdata(SPF_dns_rr_t *rr, int i, ns_type type, const unsigned char *msg,
    const unsigned char *end, const unsigned char *rd, size_t rdlen)
{
	char name[NS_MAXDNAME + 1];
	size_t total, pos, l;
	const unsigned char *p;

	switch (type) {
	case ns_t_a:
		if (rdlen != 4 ||
		    SPF_dns_rr_buf_realloc(rr, i, sizeof(struct in_addr)))
			return -1;
		memcpy(&rr->rr[i]->a, rd, 4);
		return 0;
	case ns_t_aaaa:
		if (rdlen != 16 ||
		    SPF_dns_rr_buf_realloc(rr, i, sizeof(struct in6_addr)))
			return -1;
		memcpy(&rr->rr[i]->aaaa, rd, 16);
		return 0;
	case ns_t_txt:
	case ns_t_spf:
		/* RFC 7208 3.3: the strings of one record are joined */
		total = 0;
		for (pos = 0; pos < rdlen; pos += 1 + l) {
			l = rd[pos];
			if (pos + 1 + l > rdlen)
				return -1;
			total += l;
		}
		if (SPF_dns_rr_buf_realloc(rr, i, total + 1))
			return -1;
		total = 0;
		for (pos = 0; pos < rdlen; pos += 1 + l) {
			l = rd[pos];
			memcpy(rr->rr[i]->txt + total, rd + pos + 1, l);
			total += l;
		}
		rr->rr[i]->txt[total] = '\0';
		return 0;
	case ns_t_mx:
	case ns_t_ptr:
		p = rd;
		if (type == ns_t_mx) {
			if (rdlen < 3)
				return -1;
			p += 2;		/* preference: unused by SPF */
		}
		if (dn_expand(msg, end, p, name, sizeof name) < 0)
			return -1;
		l = strlen(name);
		if (SPF_dns_rr_buf_realloc(rr, i, l + 1))
			return -1;
		memcpy(type == ns_t_mx ? rr->rr[i]->mx : rr->rr[i]->ptr,
		    name, l + 1);
		return 0;
	default:
		return -1;
	}
}

static SPF_dns_rr_t *
dns_lookup(SPF_dns_server_t *srv, const char *domain, ns_type type,
    int should_cache)
{
	struct spfdns *d = srv->hook;
	unsigned char q[SPFDNS_MAX_QUERY];
	const unsigned char *p, *end;
	unsigned qd, an, i, rtype, rclass, rdlen;
	size_t alen = 0;
	SPF_dns_rr_t *rr;
	uint32_t ttl = 0, minttl = 0;
	int qlen, rc = 0, n, tries, cnt = 0;

	(void)should_cache;
	if (d->deadline > 0 && spfdns_now_ms() >= d->deadline)
		return rr_fail(srv, domain, type, TRY_AGAIN);
	/* res_mkquery refuses names it cannot encode (a label over 63
	 * bytes, a name over 255): such a name cannot exist. */
	qlen = res_mkquery(ns_o_query, domain, ns_c_in, type, NULL, 0, NULL,
	    q, sizeof q);
	if (qlen < NS_HFIXEDSZ)
		return rr_fail(srv, domain, type, HOST_NOT_FOUND);
	if (getrandom(q, 2, 0) != 2)	/* a fresh id per query */
		return rr_fail(srv, domain, type, TRY_AGAIN);
	q[2] |= 0x01;			/* RD: we ask a recursive resolver */
	for (tries = 0; tries < SPFDNS_UDP_TRIES && rc == 0; tries++)
		rc = ask_udp(d, q, (size_t)qlen, &alen);
	if (rc == 1 && (d->ans[2] & 0x02))	/* TC: ask again over TCP */
		rc = ask_tcp(d, q, (size_t)qlen, &alen);
	if (rc != 1)
		return rr_fail(srv, domain, type, TRY_AGAIN);

	switch (d->ans[3] & 0x0f) {
	case ns_r_noerror:
		break;
	case ns_r_nxdomain:
		return rr_fail(srv, domain, type, HOST_NOT_FOUND);
	default:	/* SERVFAIL, REFUSED...: RFC 7208 2.6.6 temperror */
		return rr_fail(srv, domain, type, TRY_AGAIN);
	}
	if ((rr = SPF_dns_rr_new_init(srv, domain, type, 0,
	    NETDB_SUCCESS)) == NULL)
		return NULL;
	end = d->ans + alen;
	qd = (unsigned)d->ans[4] << 8 | d->ans[5];
	an = (unsigned)d->ans[6] << 8 | d->ans[7];
	p = d->ans + NS_HFIXEDSZ;
	for (i = 0; i < qd; i++) {
		if ((n = dn_skipname(p, end)) < 0 || end - p < n + 4)
			goto malformed;
		p += n + 4;
	}
	for (i = 0; i < an && cnt < SPFDNS_MAX_RR; i++) {
		if ((n = dn_skipname(p, end)) < 0 || end - p < n + 10)
			goto malformed;
		p += n;
		rtype = (unsigned)p[0] << 8 | p[1];
		rclass = (unsigned)p[2] << 8 | p[3];
		ttl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		    (uint32_t)p[6] << 8 | p[7];
		rdlen = (unsigned)p[8] << 8 | p[9];
		p += 10;
		if ((size_t)(end - p) < rdlen)
			goto malformed;
		if (rtype == (unsigned)type && rclass == ns_c_in &&
		    take_rdata(rr, cnt, type, d->ans, end, p, rdlen) == 0) {
			if (cnt == 0 || ttl < minttl)
				minttl = ttl;
			cnt++;
		}
		p += rdlen;
	}
	rr->num_rr = cnt;
	rr->ttl = minttl;
	if (cnt == 0)
		rr->herrno = NO_DATA;
	return rr;
malformed:
	/* a broken answer is the resolver's fault: try again later */
	rr->num_rr = 0;
	rr->herrno = TRY_AGAIN;
	return rr;
}

static void
dns_destroy(SPF_dns_server_t *srv)
{
	struct spfdns *d;

	if (srv == NULL)
		return;
	d = srv->hook;
	if (d != NULL) {
		free(d->ans);
		free(d);
	}
	free(srv);
}

SPF_dns_server_t *
spfdns_new(const struct sockaddr_storage *addr, unsigned len, struct err *e)
{
	SPF_dns_server_t *srv;
	struct spfdns *d;

	if (len > sizeof d->addr) {
		err_set(e, ERR_INTERNAL, "spfdns: bad address length");
		return NULL;
	}
	srv = xcalloc(1, sizeof *srv);
	d = xcalloc(1, sizeof *d);
	d->ans = xmalloc(SPFDNS_MAX_ANSWER);
	memcpy(&d->addr, addr, len);
	d->addrlen = len;
	srv->destroy = dns_destroy;
	srv->lookup = dns_lookup;
	srv->get_spf = NULL;	/* libspf2's generic TXT path */
	srv->get_exp = NULL;
	srv->add_cache = NULL;
	srv->layer_below = NULL;
	srv->name = "sluice";
	srv->hook = d;
	return srv;
}

void
spfdns_set_deadline(SPF_dns_server_t *srv, long long ms)
{
	((struct spfdns *)srv->hook)->deadline = ms;
}
