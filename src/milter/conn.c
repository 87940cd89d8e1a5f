/*
 * conn.c - the libmilter callbacks (protocol 6, negotiated): one SMTP
 * connection per thread, its context in smfi_setpriv.
 *
 *	connect	  client address and name, HELO (the latest one)
 *	MAIL	  a new message: a generation reference, the sender, SPF
 *		  (with a deadline), rate limits per client / user
 *	RCPT	  the recipients (bounded), rate limit per sender
 *	headers	  kept as "Name: value" lines, incoming X-Spam-* and our
 *	body	  own Authentication-Results noted for removal; the header
 *		  and body are kept up to milter_max_size (the rest is not
 *		  kept; the message is scored on what was kept and the log
 *		  line says "truncated")
 *	EOM	  remove the forged fields, score, add the headers, act:
 *		  reject / greylist / accept
 *	abort, close: the message (or connection) state is freed.
 *
 * SMTP input is hostile: every length is bounded before it is kept.
 * Replies: only main.c-level policy turns errors into replies, here at
 * the callbacks (the milter's "main" for one message).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "msg/msg.h"
#include "score/score.h"
#include "store/store.h"
#include "milter/milter.h"

#define CONN_MAX_LOG_RULES	1024	/* bytes of rule names in the log */
#define CONN_LOG_FIELD		200	/* bytes of one quoted log field */
#define CONN_MAX_QID		64	/* bytes of a queue id */
#define CONN_MAX_HDR_FIELDS	16	/* X-Spam-* fields we add */
/* Store attempts per step: a pooled connection can be stale once after
 * a Redis restart; more would only multiply the wait on a dead store. */
#define CONN_STORE_TRIES	2
/* Header fields we remove when forged; anything named X-Spam-* too. */
#define CONN_AR_NAME		"Authentication-Results"

/* A field to remove: the occurrence (1-based, among fields of that
 * name, case-insensitive as Postfix counts) of a name. */
struct del {
	const char *name;	/* in the message arena */
	unsigned occ;
};

/* Per-name occurrence counters (only the names we may remove). */
struct namecnt {
	const char *name;
	unsigned n;
};

struct mconn {
	/* connection */
	char client_addr[INET6_ADDRSTRLEN + 1];
	char *client_name;	/* verified name, or NULL */
	char *helo;		/* latest HELO/EHLO, or NULL */
	int skip_ok;		/* the MTA understands SMFIS_SKIP */
	unsigned long nr;	/* SMFIP_NR_* steps negotiated: the MTA
				 * waits for no answer to them (ok_reply) */
	unsigned long nmsgs;

	/* message: everything below is reset by msg_reset() */
	struct milter_gen *gen;	/* referenced from MAIL to the end */
	struct arena *a;	/* message arena */
	char *mail_from;	/* without <>, "" for the null sender */
	char *auth;		/* {auth_authen}, or NULL */
	char qid[CONN_MAX_QID + 1];
	int trusted;		/* client in trusted_networks */
	const char **rcpts;	/* MILTER_MAX_RCPTS at most */
	size_t nrcpts, nrcpts_seen;
	struct buf text;	/* header + body as kept, LF line ends */
	size_t offered;		/* bytes the MTA sent (header + body) */
	int truncated, cr_pending, in_body;
	struct del *dels;
	size_t ndels;
	struct namecnt *names;
	size_t nnames;
	int too_many_dels;
	int spf_done;
	struct spf_answer spf;
	long spf_usec;
	int store_down;		/* a store failure was met (fail open) */
};

static long conns_active;

long
milter_conns_active(void)
{
	return __atomic_load_n(&conns_active, __ATOMIC_SEQ_CST);
}

static long
usec_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)(t1.tv_sec - t0->tv_sec) * 1000000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000;
}

/* A copy of s in a, at most max bytes, control bytes replaced: what we
 * keep of SMTP input goes into logs and header fields. */
static char *
keep(struct arena *a, const char *s, size_t max)
{
	size_t n = strnlen(s, max), i;
	char *p = arena_strndup(a, s, n);

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			p[i] = '?';
	return p;
}

static char *
keep_heap(const char *s, size_t max)
{
	size_t n = strnlen(s, max), i;
	char *p = xstrndup(s, n);

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			p[i] = '?';
	return p;
}

/* "<a@b>" (and ESMTP arguments in further argv entries) -> "a@b". */
static char *
addr_strip(struct arena *a, const char *arg)
{
	size_t n;

	while (*arg == ' ')
		arg++;
	if (*arg == '<')
		arg++;
	n = strnlen(arg, MILTER_MAX_ADDR);
	if (n > 0 && arg[n - 1] == '>')
		n--;
	{
		char tmp[MILTER_MAX_ADDR + 1];

		memcpy(tmp, arg, n);
		tmp[n] = '\0';
		return keep(a, tmp, MILTER_MAX_ADDR);
	}
}

static void
msg_reset(struct mconn *c)
{
	milter_gen_put(&c->gen);
	arena_free(&c->a);
	buf_free(&c->text);
	c->mail_from = c->auth = NULL;
	c->qid[0] = '\0';
	c->trusted = 0;
	c->rcpts = NULL;
	c->nrcpts = c->nrcpts_seen = 0;
	c->offered = 0;
	c->truncated = c->cr_pending = c->in_body = 0;
	c->dels = NULL;
	c->ndels = 0;
	c->names = NULL;
	c->nnames = 0;
	c->too_many_dels = 0;
	c->spf_done = 0;
	c->spf_usec = 0;
	c->store_down = 0;
}

static void
conn_free(struct mconn *c)
{
	msg_reset(c);
	free(c->client_name);
	free(c->helo);
	free(c);
	__atomic_fetch_sub(&conns_active, 1, __ATOMIC_SEQ_CST);
}

static struct mconn *
conn_get(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);

	if (c == NULL) {
		c = xcalloc(1, sizeof *c);
		if (smfi_setpriv(ctx, c) == MI_FAILURE) {
			free(c);
			return NULL;
		}
		__atomic_fetch_add(&conns_active, 1, __ATOMIC_SEQ_CST);
		stats_connection();
	}
	return c;
}

/* What a step's callback returns when all is well: SMFIS_NOREPLY for a
 * step the MTA was told not to wait on (libmilter would turn anything
 * else into no reply anyway, with a complaint in the log). */
static sfsistat
ok_reply(const struct mconn *c, unsigned long nr_bit)
{
	return (c->nr & nr_bit) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static void
qid_update(SMFICTX *ctx, struct mconn *c)
{
	const char *q = smfi_getsymval(ctx, "i");

	if (q != NULL && q[0] != '\0')
		(void)buf_fmt(c->qid, sizeof c->qid, "%.*s", CONN_MAX_QID, q);
}

/* The reply for the store failure policy "tempfail". */
static sfsistat
store_tempfail(SMFICTX *ctx)
{
	(void)smfi_setreply(ctx, "451", "4.3.0",
	    "Temporary local problem, please try again later");
	return SMFIS_TEMPFAIL;
}

/* ---- callbacks ---- */

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long need = SMFIF_ADDHDRS | SMFIF_CHGHDRS;
	/*
	 * No replies to connect, HELO, header fields and the end of the
	 * headers: nothing there refuses anything (MAIL FROM, RCPT TO and
	 * the end of the message decide, and keep their replies), and
	 * without a round trip per step Postfix writes them back to back
	 * instead of waiting on us some twenty times a message. Body chunks
	 * keep their reply: SMFIS_SKIP needs one.
	 */
	const unsigned long nr = SMFIP_NR_CONN | SMFIP_NR_HELO |
	    SMFIP_NR_HDR | SMFIP_NR_EOH;
	const unsigned long steps = SMFIP_NOUNKNOWN | SMFIP_NODATA |
	    SMFIP_SKIP | nr;
	struct mconn *c;

	(void)f2;
	(void)f3;
	if ((f0 & need) != need) {
		log_err("MTA does not offer adding and changing headers");
		return SMFIS_REJECT;
	}
	if ((c = conn_get(ctx)) == NULL)
		return SMFIS_TEMPFAIL;
	*pf0 = need | (f0 & SMFIF_SETSYMLIST);
	*pf1 = f1 & steps;
	*pf2 = *pf3 = 0;
	c->skip_ok = (f1 & SMFIP_SKIP) != 0;
	c->nr = f1 & nr;
	/* Postfix sends only the macros asked for: ask for ours. */
	if (f0 & SMFIF_SETSYMLIST) {
		(void)smfi_setsymlist(ctx, SMFIM_CONNECT,
		    "{client_addr} {client_name} {daemon_name} j");
		(void)smfi_setsymlist(ctx, SMFIM_ENVFROM,
		    "i {auth_authen} {mail_addr}");
		(void)smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i {rcpt_addr}");
		(void)smfi_setsymlist(ctx, SMFIM_EOM, "i");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct mconn *c = conn_get(ctx);
	const char *m;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	c->client_addr[0] = '\0';
	if (sa != NULL && sa->sa_family == AF_INET)
		(void)inet_ntop(AF_INET,
		    &((struct sockaddr_in *)(void *)sa)->sin_addr,
		    c->client_addr, sizeof c->client_addr);
	else if (sa != NULL && sa->sa_family == AF_INET6)
		(void)inet_ntop(AF_INET6,
		    &((struct sockaddr_in6 *)(void *)sa)->sin6_addr,
		    c->client_addr, sizeof c->client_addr);
	if (c->client_addr[0] == '\0' &&
	    (m = smfi_getsymval(ctx, "{client_addr}")) != NULL) {
		unsigned char tmp[16];

		/* only a real address: it goes into store keys */
		if (inet_pton(AF_INET, m, tmp) == 1 ||
		    inet_pton(AF_INET6, m, tmp) == 1)
			(void)buf_fmt(c->client_addr, sizeof c->client_addr,
			    "%s", m);
	}
	free(c->client_name);
	c->client_name = NULL;
	m = smfi_getsymval(ctx, "{client_name}");
	if (m == NULL)
		m = host;
	/* Postfix: "unknown" or "[addr]" when the name is not verified */
	if (m != NULL && m[0] != '\0' && m[0] != '[' &&
	    strcmp(m, "unknown") != 0)
		c->client_name = keep_heap(m, MILTER_MAX_HELO);
	return ok_reply(c, SMFIP_NR_CONN);
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	struct mconn *c = conn_get(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	free(c->helo);
	c->helo = helo ? keep_heap(helo, MILTER_MAX_HELO) : NULL;
	return ok_reply(c, SMFIP_NR_HELO);
}

/*
 * Take one token from the kind's bucket. SMFIS_CONTINUE when allowed (or
 * when the store fails and the policy is open), else the reply set.
 */
static sfsistat
rate_one(SMFICTX *ctx, struct mconn *c, enum milter_rate_kind k,
    const char *id)
{
	static const char *const kinds[RATE_K_N] = { "client", "sender",
	    "user" };
	struct store *s;
	struct err e;
	enum rate_res r = RATE_ERROR;
	int try;

	if (!c->gen->rate_on[k] || c->store_down)
		return SMFIS_CONTINUE;
	/* One retry when a pooled connection failed: it may be stale
	 * (see greylist()). Should the lost reply have been an applied
	 * EXEC, the client pays one token twice: rare, and on the safe
	 * side. A connect that fails is a fresh failure: no retry. */
	for (try = 0; try < CONN_STORE_TRIES; try++) {
		err_clear(&e);
		if ((s = milter_store_get(c->gen, &e)) == NULL) {
			r = RATE_ERROR;
			break;
		}
		r = rate_take(s, &c->gen->rate[k], kinds[k], id, 1.0,
		    time(NULL), &e);
		milter_store_put(c->gen, &s, r == RATE_ERROR);
		if (r != RATE_ERROR)
			break;
	}
	if (r == RATE_OK)
		return SMFIS_CONTINUE;
	if (r == RATE_ERROR) {
		stats_store_error();
		c->store_down = 1;
		log_err("%s: rate limit %s: store: %s", c->qid[0] ? c->qid :
		    "NOQUEUE", kinds[k], e.msg);
		return c->gen->store_fail_tempfail ? store_tempfail(ctx) :
		    SMFIS_CONTINUE;
	}
	{
		char q[CONN_LOG_FIELD];

		log_info("%s: client=%s rate limit %s %s exceeded, "
		    "action=ratelimit", c->qid[0] ? c->qid : "NOQUEUE",
		    c->client_addr, kinds[k], log_quote(q, sizeof q, id,
		    strlen(id)));
	}
	stats_message(MA_RATELIMIT, 0, NULL, 0);
	(void)smfi_setreply(ctx, "451", "4.7.1",
	    "Rate limit exceeded, please try again later");
	return SMFIS_TEMPFAIL;
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct mconn *c = conn_get(ctx);
	const char *auth;
	struct timespec t0;
	struct err e;
	sfsistat r;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	msg_reset(c);
	if ((c->gen = milter_gen_get()) == NULL)
		return SMFIS_TEMPFAIL;	/* shutting down */
	c->a = arena_new();
	c->nmsgs++;
	qid_update(ctx, c);
	c->mail_from = addr_strip(c->a, argv && argv[0] ? argv[0] : "");
	auth = smfi_getsymval(ctx, "{auth_authen}");
	if (auth != NULL && auth[0] != '\0')
		c->auth = keep(c->a, auth, MILTER_MAX_ADDR);
	c->trusted = milter_trusted(c->gen, c->client_addr);
	c->rcpts = arena_allocarray(c->a, MILTER_MAX_RCPTS, sizeof *c->rcpts);

	if (c->trusted || c->client_addr[0] == '\0')
		return SMFIS_CONTINUE;
	/* RFC 7208 2.4: the MAIL FROM identity (postmaster@HELO for <>);
	 * the helper does that. Authenticated clients are checked too:
	 * the result is information, not policy. */
	if (milter_spf != NULL) {
		err_clear(&e);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (spf_check(milter_spf, c->client_addr, c->helo ? c->helo :
		    "", c->mail_from, MILTER_SPF_DEADLINE_MS, &c->spf, &e) ==
		    0)
			c->spf_done = 1;
		else
			log_err("spf: %s", e.msg);
		c->spf_usec = usec_since(&t0);
	}
	if (c->auth != NULL)
		return rate_one(ctx, c, RATE_K_USER, c->auth);
	if ((r = rate_one(ctx, c, RATE_K_CLIENT, c->client_addr)) !=
	    SMFIS_CONTINUE)
		return r;
	return SMFIS_CONTINUE;
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mconn *c = smfi_getpriv(ctx);
	sfsistat r;

	if (c == NULL || c->gen == NULL)
		return SMFIS_TEMPFAIL;
	qid_update(ctx, c);
	if (!c->trusted && c->auth == NULL && c->client_addr[0] != '\0' &&
	    (r = rate_one(ctx, c, RATE_K_SENDER, c->mail_from[0] ?
	    c->mail_from : "<>")) != SMFIS_CONTINUE)
		return r;
	c->nrcpts_seen++;
	if (c->nrcpts < MILTER_MAX_RCPTS)
		c->rcpts[c->nrcpts++] = addr_strip(c->a, argv && argv[0] ?
		    argv[0] : "");
	return SMFIS_CONTINUE;
}

/* Append to the kept text what fits under milter_max_size. */
static void
text_add(struct mconn *c, const char *p, size_t n)
{
	size_t cap = (size_t)c->gen->conf.milter_max_size;

	if (c->text.len >= cap) {
		c->truncated = 1;
		return;
	}
	if (n > cap - c->text.len) {
		n = cap - c->text.len;
		c->truncated = 1;
	}
	buf_add(&c->text, p, n);
}

/* RFC 8601 2.2: the authserv-id is the first token of the value. */
static int
ar_is_ours(const struct mconn *c, const char *v)
{
	const char *id = c->gen->authserv_id;
	size_t n = strlen(id);

	while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
		v++;
	return strncasecmp(v, id, n) == 0 && (v[n] == '\0' || v[n] == ';' ||
	    v[n] == ' ' || v[n] == '\t' || v[n] == '\r' || v[n] == '\n' ||
	    v[n] == '(');
}

/* Note the field name's next occurrence; remove it when del. */
static void
note_field(struct mconn *c, const char *name, int del)
{
	size_t i;

	for (i = 0; i < c->nnames; i++)
		if (strcasecmp(c->names[i].name, name) == 0)
			break;
	if (i == c->nnames) {
		if (c->nnames == MILTER_MAX_DELETE) {
			c->too_many_dels = 1;
			return;
		}
		if (c->names == NULL)
			c->names = arena_allocarray(c->a, MILTER_MAX_DELETE,
			    sizeof *c->names);
		c->names[i].name = arena_strdup(c->a, name);
		c->names[i].n = 0;
		c->nnames++;
	}
	c->names[i].n++;
	if (!del)
		return;
	if (c->ndels == MILTER_MAX_DELETE) {
		c->too_many_dels = 1;
		return;
	}
	if (c->dels == NULL)
		c->dels = arena_allocarray(c->a, MILTER_MAX_DELETE,
		    sizeof *c->dels);
	c->dels[c->ndels].name = c->names[i].name;
	c->dels[c->ndels].occ = c->names[i].n;
	c->ndels++;
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct mconn *c = smfi_getpriv(ctx);
	size_t nl, vl, i;

	/* (Under SMFIP_NR_HDR libmilter sends no TEMPFAIL from here; with
	 * no context or generation the end of message refuses anyway, and
	 * libmilter does not call us without a name and a value.) */
	if (c == NULL || c->gen == NULL || name == NULL || value == NULL)
		return SMFIS_TEMPFAIL;
	nl = strlen(name);
	vl = strlen(value);
	c->offered += nl + vl + 3;
	if (nl <= MILTER_MAX_HDR_NAME) {
		if (strncasecmp(name, "X-Spam-", 7) == 0)
			note_field(c, name, 1);
		else if (strcasecmp(name, CONN_AR_NAME) == 0)
			note_field(c, name, ar_is_ours(c, value));
	}
	if (c->text.len >= (size_t)c->gen->conf.milter_max_size) {
		c->truncated = 1;
		return ok_reply(c, SMFIP_NR_HDR);
	}
	text_add(c, name, nl);
	text_add(c, ": ", 2);
	/* folded values may come with CRLF inside: LF as stored */
	for (i = 0; i < vl; ) {
		const char *cr = memchr(value + i, '\r', vl - i);
		size_t n = cr ? (size_t)(cr - (value + i)) : vl - i;

		text_add(c, value + i, n);
		i += n;
		if (cr != NULL) {
			if (i + 1 < vl && value[i + 1] == '\n')
				;	/* drop the CR */
			else
				text_add(c, "\r", 1);
			i++;
		}
	}
	text_add(c, "\n", 1);
	return ok_reply(c, SMFIP_NR_HDR);
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);

	if (c == NULL || c->gen == NULL)
		return SMFIS_TEMPFAIL;
	text_add(c, "\n", 1);
	c->in_body = 1;
	return ok_reply(c, SMFIP_NR_EOH);
}

/* Body chunks come with CRLF line ends (a CR may end one chunk and its
 * LF start the next): stored with LF, as msg_spool stores mail. */
static sfsistat
cb_body(SMFICTX *ctx, unsigned char *p, size_t n)
{
	struct mconn *c = smfi_getpriv(ctx);
	const char *s = (const char *)p;
	size_t i = 0;

	if (c == NULL || c->gen == NULL)
		return SMFIS_TEMPFAIL;
	c->offered += n;
	if (c->cr_pending && n > 0) {
		if (s[0] != '\n')
			text_add(c, "\r", 1);
		c->cr_pending = 0;
	}
	while (i < n) {
		const char *cr = memchr(s + i, '\r', n - i);
		size_t k = cr ? (size_t)(cr - (s + i)) : n - i;

		text_add(c, s + i, k);
		i += k;
		if (cr == NULL)
			break;
		if (i + 1 == n) {
			c->cr_pending = 1;
			i++;
		} else if (s[i + 1] == '\n')
			i++;	/* the LF follows */
		else {
			text_add(c, "\r", 1);
			i++;
		}
	}
	/* Over the cap: nothing more is kept; the MTA may skip the rest. */
	if (c->truncated && c->skip_ok)
		return SMFIS_SKIP;
	return SMFIS_CONTINUE;
}

/* Remove the forged fields, last occurrence first so that the indexes
 * of the earlier ones do not move. */
static void
delete_forged(SMFICTX *ctx, struct mconn *c)
{
	size_t i;

	for (i = c->ndels; i-- > 0; )
		if (smfi_chgheader(ctx, (char *)(uintptr_t)c->dels[i].name,
		    (int)c->dels[i].occ, NULL) == MI_FAILURE)
			log_err("%s: cannot remove %s #%u", c->qid,
			    c->dels[i].name, c->dels[i].occ);
}

/* An RFC 8601 pvalue: the address as it is when it is a plain one, else
 * a quoted-string (RFC 5322 3.2.4). */
static void
ar_value(struct buf *out, const char *v)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+/=?^_`{|}~@-";
	const char *s;

	if (v[0] != '\0' && strspn(v, plain) == strlen(v)) {
		buf_adds(out, v);
		return;
	}
	buf_addc(out, '"');
	for (s = v; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addc(out, '\\');
		buf_addc(out, *s);
	}
	buf_addc(out, '"');
}

/* Authentication-Results: ID; spf=RESULT (comment) smtp.mailfrom=...
 * smtp.helo=... (RFC 8601 2.7.2); the value only. */
static void
ar_build(const struct mconn *c, struct buf *out)
{
	const char *s;

	buf_addf(out, "%s;\n\tspf=%s", c->gen->authserv_id,
	    spf_res_name(c->spf.mailfrom));
	if (c->spf.comment[0] != '\0') {
		/* a comment must not end early or nest unbalanced */
		buf_adds(out, " (");
		for (s = c->spf.comment; *s; s++)
			buf_addc(out, *s == '(' || *s == ')' || *s == '\\' ||
			    (unsigned char)*s < 0x20 ? ' ' : *s);
		buf_addc(out, ')');
	}
	if (c->mail_from[0] != '\0') {
		buf_adds(out, " smtp.mailfrom=");
		ar_value(out, c->mail_from);
	}
	if (c->helo != NULL && c->helo[0] != '\0') {
		buf_adds(out, " smtp.helo=");
		ar_value(out, c->helo);
	}
}

/*
 * Add the fields of text ("Name: value\n" with tab-continuation lines,
 * as score_format_headers writes them) at the top, in their order:
 * inserted at index 0 from the last one.
 */
static void
insert_fields(SMFICTX *ctx, struct mconn *c, const struct buf *text)
{
	struct { char *name, *value; } f[CONN_MAX_HDR_FIELDS];
	size_t nf = 0, i = 0;
	char *d = arena_strndup(c->a, text->data ? text->data : "",
	    text->len);
	size_t len = text->len;

	while (i < len && nf < CONN_MAX_HDR_FIELDS) {
		char *colon = memchr(d + i, ':', len - i), *end;
		size_t j;

		if (colon == NULL)
			break;
		/* the field ends at a newline not followed by WSP */
		for (j = (size_t)(colon - d); j < len; j++)
			if (d[j] == '\n' && (j + 1 == len ||
			    (d[j + 1] != '\t' && d[j + 1] != ' ')))
				break;
		end = d + j;
		*colon = '\0';
		f[nf].name = d + i;
		f[nf].value = colon + 1;
		while (*f[nf].value == ' ')
			f[nf].value++;
		*end = '\0';
		nf++;
		i = j + 1;
	}
	while (nf-- > 0)
		if (smfi_insheader(ctx, 0, f[nf].name, f[nf].value) ==
		    MI_FAILURE)
			log_err("%s: cannot add %s", c->qid, f[nf].name);
}

/*
 * Greylisting for every recipient: GREY_PASS when all pass,
 * GREY_DEFER when one is deferred, GREY_ERROR (e set) on store errors.
 */
static enum grey_res
greylist_once(struct mconn *c, long *wait_out, struct err *e)
{
	struct store *s;
	enum grey_res r = GREY_PASS, one;
	time_t now = time(NULL);
	size_t i;

	*wait_out = 0;
	if ((s = milter_store_get(c->gen, e)) == NULL)
		return GREY_ERROR;
	for (i = 0; i < c->nrcpts; i++) {
		long w = 0;

		one = grey_check(s, &c->gen->grey, c->client_addr,
		    c->mail_from, c->rcpts[i], now, &w, e);
		if (one == GREY_ERROR) {
			r = GREY_ERROR;
			break;
		}
		/* every triplet is recorded: no early stop on DEFER */
		if (one == GREY_DEFER) {
			r = GREY_DEFER;
			if (w > *wait_out)
				*wait_out = w;
		}
	}
	milter_store_put(c->gen, &s, r == GREY_ERROR);
	return r;
}

/* A store error on a pooled connection may only mean it went stale
 * (Redis restarted while it sat idle): the error emptied the pool, so
 * one retry connects afresh. Triplets written by the failed try are
 * read back as "retried too early": still deferred, never passed. */
static enum grey_res
greylist(struct mconn *c, long *wait_out, struct err *e)
{
	enum grey_res r = GREY_ERROR;
	int try;

	for (try = 0; try < CONN_STORE_TRIES && r == GREY_ERROR; try++) {
		err_clear(e);
		r = greylist_once(c, wait_out, e);
	}
	return r;
}

/* One line per message: queue id, client, from, rcpts, score, rules,
 * action, time spent. Everything from SMTP goes through log_quote. */
static void
log_verdict(const struct mconn *c, const struct score_result *res,
    enum milter_action act, long usec, const char *extra)
{
	char qname[CONN_LOG_FIELD], qaddr[CONN_LOG_FIELD];
	char qfrom[CONN_LOG_FIELD], qrcpt[CONN_LOG_FIELD];
	char rules[CONN_MAX_LOG_RULES];
	size_t i, n = 0;

	rules[0] = '\0';
	for (i = 0; res != NULL && i < res->nhits; i++) {
		int w = snprintf(rules + n, sizeof rules - n, "%s%s",
		    i ? "," : "", res->hits[i].name);

		if (w < 0 || (size_t)w >= sizeof rules - n) {
			rules[n] = '\0';
			(void)buf_fmt(rules + n, sizeof rules - n, ",...");
			break;
		}
		n += (size_t)w;
	}
	log_quote(qname, sizeof qname, c->client_name ? c->client_name :
	    "unknown", strlen(c->client_name ? c->client_name : "unknown"));
	log_quote(qaddr, sizeof qaddr, c->client_addr, strlen(c->client_addr));
	log_quote(qfrom, sizeof qfrom, c->mail_from, strlen(c->mail_from));
	if (c->nrcpts > 0)
		log_quote(qrcpt, sizeof qrcpt, c->rcpts[0],
		    strlen(c->rcpts[0]));
	else
		qrcpt[0] = '\0';
	log_info("%s: client=%s[%s] from=<%s> rcpts=%zu <%s>%s score=%.1f/%.1f "
	    "spf=%s rules=%s action=%s ms=%ld size=%zu%s%s%s",
	    c->qid[0] ? c->qid : "NOQUEUE", qname, qaddr, qfrom,
	    c->nrcpts_seen, qrcpt, c->nrcpts_seen > 1 ? ",..." : "",
	    res ? res->score : 0.0, res ? res->required : 0.0,
	    c->spf_done ? spf_res_name(c->spf.mailfrom) : "-",
	    rules[0] ? rules : "none", milter_action_name(act),
	    (usec + 500) / 1000, c->offered,
	    c->truncated ? " truncated (scored on the first bytes)" : "",
	    extra ? " " : "", extra ? extra : "");
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);
	struct milter_gen *g;
	struct score_conn sc;
	struct score_result res;
	struct score_msg *sm = NULL;
	struct bayes *b = NULL;
	struct store *s = NULL;
	struct msg *m = NULL;
	struct buf hdrs = BUF_INIT;
	struct timespec t0;
	struct err e;
	enum milter_action act = MA_ACCEPT;
	sfsistat ret = SMFIS_CONTINUE;
	char reason[128], extra[64];
	int scored = 0, store_bad = 0;
	long wait;

	if (c == NULL || c->gen == NULL)
		return SMFIS_TEMPFAIL;
	g = c->gen;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err_clear(&e);
	extra[0] = '\0';
	qid_update(ctx, c);
	if (c->cr_pending) {
		text_add(c, "\r", 1);
		c->cr_pending = 0;
	}
	if (c->too_many_dels) {
		/* cannot remove them all: the score would be forgeable */
		(void)smfi_setreply(ctx, "550", "5.7.1",
		    "Too many X-Spam or Authentication-Results fields");
		log_verdict(c, NULL, MA_REJECT, usec_since(&t0),
		    "(too many forged fields)");
		stats_message(MA_REJECT, usec_since(&t0), NULL, c->truncated);
		ret = SMFIS_REJECT;
		goto out;
	}

	m = msg_new();
	msg_parse_header(m, c->text.data ? c->text.data : "", c->text.len);
	m->data = c->text.data ? c->text.data : "";
	m->len = c->text.len;
	m->size = m->vsize = (off_t)c->text.len;

	memset(&sc, 0, sizeof sc);
	sc.client_addr = c->client_addr[0] ? c->client_addr : NULL;
	sc.client_name = c->client_name;
	sc.helo = c->helo;
	sc.auth_user = c->auth;
	sc.mail_from = c->mail_from;
	sc.rcpts = c->rcpts;
	sc.nrcpts = c->nrcpts;
	sc.my_hostname = g->authserv_id;
	sc.queue_id = c->qid[0] ? c->qid : NULL;
	sc.trusted = c->trusted;
	if (c->spf_done) {
		sc.spf = spf_res_name(c->spf.mailfrom);
		sc.spf_helo = spf_res_name(c->spf.helo);
	}
	sm = score_msg_new(m, &sc);
	if (g->bayes_on) {
		struct bayes_conf bc;

		memset(&bc, 0, sizeof bc);
		bc.min_spam = bc.min_ham = 200;	/* as main.c's probe */
		bc.cache = g->bcache;	/* shared by the threads */
		if ((s = milter_store_get(g, &e)) != NULL)
			b = bayes_new(s, &bc);
		else {
			log_err("%s: bayes: %s (scored without it)", c->qid,
			    e.msg);
			stats_store_error();
			err_clear(&e);
		}
	}
	if (score_run(g->rules, sm, b, &res, &e) == -1) {
		log_err("%s: bayes: %s (scored without it)", c->qid, e.msg);
		stats_store_error();
		store_bad = 1;
		err_clear(&e);
	}
	scored = 1;
	bayes_free(&b);
	milter_store_put(g, &s, store_bad);

	if (res.score >= g->conf.reject_score) {
		act = MA_REJECT;
		(void)buf_fmt(reason, sizeof reason, "Message rejected as spam "
		    "(score %.1f)", res.score);
		(void)smfi_setreply(ctx, "550", "5.7.1", reason);
		ret = SMFIS_REJECT;
		goto done;
	}
	/* The store failed at MAIL FROM (policy open): no greylisting,
	 * and the verdict line says so, as for a failure here. */
	if (c->store_down && g->grey_on && c->auth == NULL &&
	    res.score >= g->conf.greylist_score)
		(void)buf_fmt(extra, sizeof extra, "greylist=skipped");
	if (g->grey_on && res.score >= g->conf.greylist_score &&
	    !c->trusted && c->auth == NULL && c->client_addr[0] != '\0' &&
	    !c->store_down) {
		switch (greylist(c, &wait, &e)) {
		case GREY_PASS:
			break;
		case GREY_DEFER:
			act = MA_GREYLIST;
			(void)buf_fmt(reason, sizeof reason, "Greylisted, "
			    "please try again in %ld seconds", wait);
			(void)buf_fmt(extra, sizeof extra, "wait=%ld", wait);
			(void)smfi_setreply(ctx, "451", "4.7.1", reason);
			ret = SMFIS_TEMPFAIL;
			goto done;
		case GREY_ERROR:
			stats_store_error();
			log_err("%s: greylisting: store: %s", c->qid, e.msg);
			if (g->store_fail_tempfail) {
				act = MA_TEMPFAIL;
				ret = store_tempfail(ctx);
				goto done;
			}
			(void)buf_fmt(extra, sizeof extra, "greylist=skipped");
			break;
		}
	}
	delete_forged(ctx, c);
	if (res.score >= g->conf.add_header_score) {
		score_format_headers(&res, &hdrs);
		insert_fields(ctx, c, &hdrs);
	}
	/* at the very top (RFC 8601 5: above the fields it speaks for) */
	if (c->spf_done) {
		buf_reset(&hdrs);
		ar_build(c, &hdrs);
		buf_addc(&hdrs, '\0');
		if (smfi_insheader(ctx, 0, CONN_AR_NAME, hdrs.data) ==
		    MI_FAILURE)
			log_err("%s: cannot add %s", c->qid, CONN_AR_NAME);
	}
done:
	log_verdict(c, &res, act, usec_since(&t0) + c->spf_usec,
	    extra[0] ? extra : NULL);
	stats_message(act, usec_since(&t0) + c->spf_usec, &res, c->truncated);
out:
	if (scored)
		score_result_free(&res);
	score_msg_free(&sm);
	msg_free(&m);
	buf_free(&hdrs);
	msg_reset(c);
	return ret;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);

	if (c != NULL)
		msg_reset(c);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);

	if (c != NULL) {
		(void)smfi_setpriv(ctx, NULL);
		conn_free(c);
	}
	return SMFIS_CONTINUE;
}

struct smfiDesc milter_desc = {
	.xxfi_name = MILTER_NAME,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_unknown = NULL,
	.xxfi_data = NULL,
	.xxfi_negotiate = cb_negotiate,
};
