/*
 * store_redis.c - the shared state store: Redis through hiredis (sync API).
 *
 * Spec (store.h): redis://[:PASSWORD@]HOST[:PORT][/DB][?OPTIONS] or
 * redis+unix:/PATH/TO/SOCKET[?OPTIONS], options separated by '&':
 *	prefix=TEXT	key namespace (default "sluice:"): every key is
 *			PREFIX + the caller's key, so several systems can
 *			share one Redis database
 *	timeout=MS	connect and per-command deadline (default 1000 ms)
 *	db=N		database for the unix form
 *
 * A handle is one connection, used by one thread (the milter opens one
 * per worker thread). Every call has the deadline above: a hung Redis
 * costs an SMTP session at most that, never the session.
 *
 * Batches follow store.h's semantics exactly (the suite in test-store.c
 * runs on both backends):
 *  - read-only batches are one MGET;
 *  - a batch with writes is an optimistic transaction: WATCH every key,
 *    MGET their values, work out the whole batch here (GET results, INCR
 *    on 64-bit integers with overflow checks, TTL rules), then MULTI,
 *    one SET (EX ttl, KEEPTTL, or neither) or DEL per touched key, EXEC.
 *    A concurrent writer makes EXEC return nil and the batch is redone
 *    from the start (bounded). Nothing is written when a check fails, and
 *    only final values are written, so the batch is all-or-nothing.
 * No command scans the key space (no KEYS, no SCAN): keys expire by TTL.
 *
 * Failures are ERR_TEMP. After an I/O error or timeout the connection is
 * dropped and the next batch reconnects; the failed batch is not retried
 * here, because an EXEC whose reply was lost may have been applied.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "store.h"

/* Built without libhiredis-dev: every open fails with a clear message. */
#if !defined(__has_include) || __has_include(<hiredis/hiredis.h>)
#define STORE_HAVE_HIREDIS 1
#endif

#ifdef STORE_HAVE_HIREDIS

#include <hiredis/hiredis.h>

#define REDIS_DEFAULT_PORT	6379
#define REDIS_DEFAULT_TIMEOUT	1000	/* ms, connect and per command */
#define REDIS_DEFAULT_PREFIX	"sluice:"
#define REDIS_MAX_PREFIX	64
#define REDIS_MAX_RETRIES	16	/* EXEC aborted by concurrent writers */

struct redis_store {
	redisContext *c;
	char host[256];		/* or the socket path (unix) */
	int port;		/* 0: unix socket */
	int db;
	char password[256];
	char prefix[REDIS_MAX_PREFIX + 1];
	size_t prefix_len;
	struct timeval tv;
	char where[300];	/* for messages */
	char sha[48];		/* the batch script, loaded per connection */
};

/*
 * The batch as one server-side step (atomic: Redis runs a script alone).
 * KEYS are the distinct keys; ARGV[1] the op count, then four entries per
 * op: g|s|i|d, key index, value or delta, ttl. It works the whole batch
 * out before its first write, so a failing INCR writes nothing. Lua 5.1
 * numbers are doubles: INCR is done here only while every number stays
 * below 2^53 (exact); beyond that the script answers BIG and the C side
 * takes the exact WATCH/MULTI path. Integer text is what parse_ll()
 * accepts: optional sign, digits.
 */
static const char batch_lua[] =
"local nk, val, present, touched, mode, ttl = #KEYS, {}, {}, {}, {}, {}\n"
"for i = 1, nk do\n"
"  local v = redis.call('GET', KEYS[i])\n"
"  present[i] = v and true or false\n"
"  if v then val[i] = v end\n"
"  mode[i] = 'keep'\n"
"end\n"
"local out, a, lim = {}, 2, 9007199254740992\n"
"for o = 1, tonumber(ARGV[1]) do\n"
"  local op, k, arg, t = ARGV[a], tonumber(ARGV[a+1]), ARGV[a+2],"
" tonumber(ARGV[a+3])\n"
"  a = a + 4\n"
"  out[o] = false\n"
"  if op == 'g' then\n"
"    if present[k] then out[o] = val[k] end\n"
"  elseif op == 's' then\n"
"    val[k], present[k], touched[k] = arg, true, true\n"
"    if t > 0 then mode[k], ttl[k] = 'ex', t else mode[k] = 'none' end\n"
"  elseif op == 'i' then\n"
"    local cur = 0\n"
"    if present[k] then\n"
"      local s = val[k]\n"
"      if #s > 20 or not string.match(s, '^[-+]?%d+$') then\n"
"        return redis.error_reply('NOTINT')\n"
"      end\n"
"      cur = tonumber(s)\n"
"    elseif t > 0 then mode[k], ttl[k] = 'ex', t\n"
"    else mode[k] = 'none' end\n"
"    local d = tonumber(arg)\n"
"    if math.abs(cur) >= lim or math.abs(d) >= lim or"
" math.abs(cur + d) >= lim then\n"
"      return redis.error_reply('BIG')\n"
"    end\n"
"    val[k], present[k], touched[k] = string.format('%.0f', cur + d),"
" true, true\n"
"    out[o] = val[k]\n"
"  elseif op == 'd' then\n"
"    present[k], touched[k], mode[k] = false, true, 'keep'\n"
"  end\n"
"end\n"
"for i = 1, nk do\n"
"  if touched[i] then\n"
"    if not present[i] then redis.call('DEL', KEYS[i])\n"
"    elseif mode[i] == 'ex' then"
" redis.call('SET', KEYS[i], val[i], 'EX', ttl[i])\n"
"    elseif mode[i] == 'keep' then"
" redis.call('SET', KEYS[i], val[i], 'KEEPTTL')\n"
"    else redis.call('SET', KEYS[i], val[i]) end\n"
"  end\n"
"end\n"
"return out\n";

/* ---- spec ---- */

static int
parse_uint(const char *p, size_t n, long max, long *out)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 9)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_options(struct redis_store *r, const char *q, struct err *e)
{
	while (q != NULL && *q != '\0') {
		const char *amp = strchr(q, '&');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', n);
		size_t kn = eq ? (size_t)(eq - q) : n;
		const char *v = eq ? eq + 1 : q + n;
		size_t vn = (size_t)(q + n - v);
		long num;

		if (eq == NULL)
			return err_set(e, ERR_CONFIG, "store %s: option "
			    "\"%.*s\" needs a value", r->where, (int)n, q);
		if (kn == 6 && memcmp(q, "prefix", 6) == 0) {
			if (vn > REDIS_MAX_PREFIX)
				return err_set(e, ERR_CONFIG, "store %s: prefix "
				    "over %d bytes", r->where, REDIS_MAX_PREFIX);
			memcpy(r->prefix, v, vn);
			r->prefix[vn] = '\0';
			r->prefix_len = vn;
		} else if (kn == 7 && memcmp(q, "timeout", 7) == 0) {
			if (parse_uint(v, vn, 600000, &num) == -1 || num == 0)
				return err_set(e, ERR_CONFIG, "store %s: timeout "
				    "wants milliseconds (1..600000)", r->where);
			r->tv.tv_sec = num / 1000;
			r->tv.tv_usec = (num % 1000) * 1000;
		} else if (kn == 2 && memcmp(q, "db", 2) == 0) {
			if (parse_uint(v, vn, 1000000, &num) == -1)
				return err_set(e, ERR_CONFIG, "store %s: bad db",
				    r->where);
			r->db = (int)num;
		} else {
			return err_set(e, ERR_CONFIG, "store %s: unknown option "
			    "\"%.*s\" (prefix, timeout, db)", r->where,
			    (int)kn, q);
		}
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}

/*
 * location is the spec after "redis://" (unix 0) or "redis+unix:"
 * (unix 1).
 */
static int
parse_spec(struct redis_store *r, const char *location, int unix_sock,
    struct err *e)
{
	char tmp[1024];
	char *q, *at, *slash, *colon, *hp;
	long num;

	if (buf_fmt(tmp, sizeof tmp, "%s", location) == -1)
		return err_set(e, ERR_CONFIG, "store: redis spec too long");
	(void)buf_fmt(r->where, sizeof r->where, "redis%s%.200s",
	    unix_sock ? "+unix:" : "://", location);
	if ((q = strchr(tmp, '?')) != NULL)
		*q++ = '\0';
	r->tv.tv_sec = REDIS_DEFAULT_TIMEOUT / 1000;
	r->tv.tv_usec = (REDIS_DEFAULT_TIMEOUT % 1000) * 1000;
	memcpy(r->prefix, REDIS_DEFAULT_PREFIX, sizeof REDIS_DEFAULT_PREFIX);
	r->prefix_len = sizeof REDIS_DEFAULT_PREFIX - 1;
	if (parse_options(r, q, e) == -1)
		return -1;
	if (unix_sock) {
		if (tmp[0] != '/')
			return err_set(e, ERR_CONFIG, "store %s: the socket "
			    "path must be absolute", r->where);
		(void)buf_fmt(r->host, sizeof r->host, "%s", tmp);
		r->port = 0;
		return 0;
	}
	hp = tmp;
	if ((at = strrchr(hp, '@')) != NULL) {
		*at = '\0';
		/* "[user]:password": Redis 6 users are not supported. */
		colon = strchr(hp, ':');
		if (colon == NULL || colon != hp)
			return err_set(e, ERR_CONFIG, "store %s: want "
			    "redis://:PASSWORD@HOST", r->where);
		if (buf_fmt(r->password, sizeof r->password, "%s",
		    colon + 1) == -1)
			return err_set(e, ERR_CONFIG, "store: password too long");
		hp = at + 1;
	}
	if ((slash = strchr(hp, '/')) != NULL) {
		*slash = '\0';
		if (slash[1] != '\0') {
			if (parse_uint(slash + 1, strlen(slash + 1), 1000000,
			    &num) == -1)
				return err_set(e, ERR_CONFIG, "store %s: bad "
				    "database number", r->where);
			r->db = (int)num;
		}
	}
	r->port = REDIS_DEFAULT_PORT;
	if ((colon = strrchr(hp, ':')) != NULL && strchr(hp, ']') == NULL) {
		*colon = '\0';
		if (parse_uint(colon + 1, strlen(colon + 1), 65535, &num) == -1
		    || num == 0)
			return err_set(e, ERR_CONFIG, "store %s: bad port",
			    r->where);
		r->port = (int)num;
	}
	if (hp[0] == '\0')
		return err_set(e, ERR_CONFIG, "store %s: no host", r->where);
	(void)buf_fmt(r->host, sizeof r->host, "%s", hp);
	return 0;
}

/* ---- connection ---- */

static void
drop(struct redis_store *r)
{
	if (r->c != NULL) {
		redisFree(r->c);
		r->c = NULL;
	}
}

/* Run one command (argv form) and return its reply, or NULL with e set
 * (the connection is then dropped). */
static redisReply *
command(struct redis_store *r, int argc, const char **argv,
    const size_t *argvlen, struct err *e)
{
	redisReply *rep = redisCommandArgv(r->c, argc, argv, argvlen);

	if (rep == NULL) {
		err_set(e, ERR_TEMP, "store %s: %s", r->where,
		    r->c->errstr[0] ? r->c->errstr : "no reply");
		drop(r);
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		err_set(e, ERR_TEMP, "store %s: %s: %.*s", r->where, argv[0],
		    (int)rep->len, rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

static int
simple(struct redis_store *r, int argc, const char **argv, struct err *e)
{
	size_t len[3];
	redisReply *rep;
	int i;

	for (i = 0; i < argc && i < 3; i++)
		len[i] = strlen(argv[i]);
	if ((rep = command(r, argc, argv, len, e)) == NULL)
		return -1;
	freeReplyObject(rep);
	return 0;
}

/* SCRIPT LOAD the batch script (its SHA1 comes back). */
static int
load_script(struct redis_store *r, struct err *e)
{
	const char *argv[3] = { "SCRIPT", "LOAD", batch_lua };
	size_t len[3] = { 6, 4, sizeof batch_lua - 1 };
	redisReply *rep;

	if ((rep = command(r, 3, argv, len, e)) == NULL) {
		drop(r);
		return -1;
	}
	if (rep->type != REDIS_REPLY_STRING || rep->len >= sizeof r->sha) {
		freeReplyObject(rep);
		drop(r);
		return err_set(e, ERR_TEMP, "store %s: SCRIPT LOAD failed",
		    r->where);
	}
	memcpy(r->sha, rep->str, rep->len);
	r->sha[rep->len] = '\0';
	freeReplyObject(rep);
	return 0;
}

static int
ensure_connected(struct redis_store *r, struct err *e)
{
	char db[16];

	if (r->c != NULL)
		return 0;
	r->c = r->port == 0 ?
	    redisConnectUnixWithTimeout(r->host, r->tv) :
	    redisConnectWithTimeout(r->host, r->port, r->tv);
	if (r->c == NULL)
		return err_set(e, ERR_TEMP, "store %s: cannot allocate a "
		    "connection", r->where);
	if (r->c->err) {
		err_set(e, ERR_TEMP, "store %s: %s", r->where, r->c->errstr);
		drop(r);
		return -1;
	}
	if (redisSetTimeout(r->c, r->tv) != REDIS_OK) {
		err_set(e, ERR_TEMP, "store %s: cannot set the timeout",
		    r->where);
		drop(r);
		return -1;
	}
	if (r->port != 0)
		(void)redisEnableKeepAlive(r->c);
	if (r->password[0] != '\0' && simple(r, 2,
	    (const char *[]){ "AUTH", r->password }, e) == -1) {
		drop(r);
		return -1;
	}
	if (r->db != 0) {
		(void)buf_fmt(db, sizeof db, "%d", r->db);
		if (simple(r, 2, (const char *[]){ "SELECT", db }, e) == -1) {
			drop(r);
			return -1;
		}
	}
	return load_script(r, e);
}

static void *
redis_open(const char *location, struct err *e)
{
	struct redis_store *r = xcalloc(1, sizeof *r);
	int unix_sock = 0;

	/* store.c hands over what follows the scheme; it marks the unix
	 * form with a leading "unix:" (see schemes[] there). */
	if (strncmp(location, "unix:", 5) == 0) {
		unix_sock = 1;
		location += 5;
	}
	if (parse_spec(r, location, unix_sock, e) == -1 ||
	    ensure_connected(r, e) == -1) {
		free(r);
		return NULL;
	}
	return r;
}

static void
redis_close(void *h)
{
	struct redis_store *r = h;

	drop(r);
	free(r);
}

/* ---- batches ---- */

/* What the batch knows about one distinct key. */
struct kstate {
	size_t first_op;	/* an op naming this key (its bytes) */
	int present;		/* current value, as the batch has it */
	struct buf val;
	int touched;		/* written by the batch */
	enum { TTL_KEEP, TTL_NONE, TTL_EX } ttl_mode;
	long ttl;
};

static int
key_eq(const struct store_op *a, const struct store_op *b)
{
	return a->key.len == b->key.len &&
	    memcmp(a->key.p, b->key.p, a->key.len) == 0;
}

/*
 * key_of[i]: index into ks of op i's key. Quadratic in distinct keys per
 * batch only for small batches; larger ones go through a hash table.
 */
static size_t
hash_key(const struct store_op *o)
{
	size_t h = 14695981039346656037ULL & SIZE_MAX, i;

	for (i = 0; i < o->key.len; i++)
		h = (h ^ (unsigned char)o->key.p[i]) * 1099511628211ULL;
	return h;
}

static size_t
index_keys(const struct store_op *ops, size_t n, size_t *key_of,
    struct kstate *ks)
{
	size_t cap = 1, nk = 0, i;
	size_t *slots;

	while (cap < 2 * n)
		cap <<= 1;
	slots = xmalloc(cap * sizeof *slots);
	for (i = 0; i < cap; i++)
		slots[i] = SIZE_MAX;
	for (i = 0; i < n; i++) {
		size_t s = hash_key(&ops[i]) & (cap - 1);

		while (slots[s] != SIZE_MAX &&
		    !key_eq(&ops[ks[slots[s]].first_op], &ops[i]))
			s = (s + 1) & (cap - 1);
		if (slots[s] == SIZE_MAX) {
			slots[s] = nk;
			memset(&ks[nk], 0, sizeof ks[nk]);
			ks[nk].first_op = i;
			nk++;
		}
		key_of[i] = slots[s];
	}
	free(slots);
	return nk;
}

/* Decimal text of a signed 64-bit integer ('+' or '-', digits: what
 * strtoll takes without spaces, as the LMDB backend does). */
static int
parse_ll(const char *p, size_t n, long long *out)
{
	char tmp[32];
	char *end;

	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	if (!(tmp[0] == '-' || tmp[0] == '+' ||
	    (tmp[0] >= '0' && tmp[0] <= '9')))
		return -1;
	errno = 0;
	*out = strtoll(tmp, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/*
 * Work the batch out over the values in ks (filled from MGET). GET
 * results go to the ops (the caller undoes them on failure).
 */
static int
evaluate(struct redis_store *r, struct store_op *ops, size_t n,
    const size_t *key_of, struct kstate *ks, struct err *e)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct store_op *o = &ops[i];
		struct kstate *k = &ks[key_of[i]];
		long long cur = 0, nv;
		char num[32];

		switch (o->op) {
		case STORE_GET:
			o->found = k->present;
			if (k->present && o->val_out != NULL)
				buf_add(o->val_out, k->val.data, k->val.len);
			break;
		case STORE_SET:
			buf_reset(&k->val);
			buf_add(&k->val, o->val.p, o->val.len);
			k->present = 1;
			k->touched = 1;
			k->ttl_mode = o->ttl > 0 ? TTL_EX : TTL_NONE;
			k->ttl = o->ttl;
			break;
		case STORE_INCR:
			if (k->present && parse_ll(k->val.data, k->val.len,
			    &cur) == -1)
				return err_set(e, ERR_TEMP, "store %s: incr: "
				    "the value is not an integer", r->where);
			if (__builtin_add_overflow(cur, o->delta, &nv))
				return err_set(e, ERR_TEMP, "store %s: incr: "
				    "overflow", r->where);
			if (!k->present) {
				k->ttl_mode = o->ttl > 0 ? TTL_EX : TTL_NONE;
				k->ttl = o->ttl;
			}
			(void)buf_fmt(num, sizeof num, "%lld", nv);
			buf_reset(&k->val);
			buf_adds(&k->val, num);
			k->present = 1;
			k->touched = 1;
			o->num_out = nv;
			break;
		case STORE_DEL:
			buf_reset(&k->val);
			k->present = 0;
			k->touched = 1;
			k->ttl_mode = TTL_KEEP;
			break;
		}
	}
	return 0;
}

/* Send MULTI, the writes, EXEC (pipelined). 1 committed, 0 aborted by a
 * concurrent writer (WATCH), -1 error (e set). */
static int
commit(struct redis_store *r, const struct kstate *ks, size_t nk,
    char *const *pk, const size_t *pklen, struct err *e)
{
	const char *argv[6];
	size_t argvlen[6], i, queued = 0;
	char ttl[32];
	redisReply *rep;
	void *vrep;
	int ret = 1;

	argv[0] = "MULTI";
	argvlen[0] = 5;
	if (redisAppendCommandArgv(r->c, 1, argv, argvlen) != REDIS_OK)
		goto io;
	for (i = 0; i < nk; i++) {
		const struct kstate *k = &ks[i];
		int argc = 0;

		if (!k->touched)
			continue;
		argv[argc] = k->present ? "SET" : "DEL";
		argvlen[argc++] = 3;
		argv[argc] = pk[i];
		argvlen[argc++] = pklen[i];
		if (k->present) {
			argv[argc] = k->val.data ? k->val.data : "";
			argvlen[argc++] = k->val.len;
			if (k->ttl_mode == TTL_EX) {
				(void)buf_fmt(ttl, sizeof ttl, "%ld", k->ttl);
				argv[argc] = "EX";
				argvlen[argc++] = 2;
				argv[argc] = ttl;
				argvlen[argc++] = strlen(ttl);
			} else if (k->ttl_mode == TTL_KEEP) {
				argv[argc] = "KEEPTTL";
				argvlen[argc++] = 7;
			}
		}
		if (redisAppendCommandArgv(r->c, argc, argv, argvlen) !=
		    REDIS_OK)
			goto io;
		queued++;
	}
	argv[0] = "EXEC";
	argvlen[0] = 4;
	if (redisAppendCommandArgv(r->c, 1, argv, argvlen) != REDIS_OK)
		goto io;
	/* MULTI's +OK, one +QUEUED per write, then EXEC's answer. */
	for (i = 0; i < queued + 2; i++) {
		if (redisGetReply(r->c, &vrep) != REDIS_OK || vrep == NULL)
			goto io;
		rep = vrep;
		if (rep->type == REDIS_REPLY_ERROR) {
			if (ret == 1)
				err_set(e, ERR_TEMP, "store %s: %.*s",
				    r->where, (int)rep->len, rep->str);
			ret = -1;
		} else if (i == queued + 1 && ret == 1) {
			/* EXEC: nil when a watched key changed. */
			if (rep->type == REDIS_REPLY_NIL)
				ret = 0;
			else if (rep->type != REDIS_REPLY_ARRAY) {
				err_set(e, ERR_TEMP, "store %s: unexpected "
				    "EXEC reply", r->where);
				ret = -1;
			}
		}
		freeReplyObject(rep);
	}
	return ret;
io:
	err_set(e, ERR_TEMP, "store %s: %s", r->where,
	    r->c->errstr[0] ? r->c->errstr : "connection lost");
	drop(r);
	return -1;
}

/*
 * Run the batch as the script. 0 done, 1 take the exact WATCH path (a
 * number at or over 2^53), -1 error (nothing written).
 */
static int
run_script(struct redis_store *r, struct store_op *ops, size_t n,
    const size_t *key_of, char *const *pk, const size_t *pklen, size_t nk,
    struct err *e)
{
	size_t argc = 4 + nk + 4 * n, i, a;
	const char **argv = xmalloc(argc * sizeof *argv);
	size_t *len = xmalloc(argc * sizeof *len);
	char (*num)[3][24] = xmalloc((n + 1) * sizeof *num);
	redisReply *rep = NULL;
	int ret = -1, again;

	argv[0] = "EVALSHA";
	argv[1] = r->sha;
	(void)buf_fmt(num[n][0], sizeof num[n][0], "%zu", nk);
	argv[2] = num[n][0];
	for (i = 0; i < nk; i++) {
		argv[3 + i] = pk[i];
		len[3 + i] = pklen[i];
	}
	a = 3 + nk;
	(void)buf_fmt(num[n][1], sizeof num[n][1], "%zu", n);
	argv[a] = num[n][1];
	len[a++] = strlen(num[n][1]);
	for (i = 0; i < n; i++) {
		const struct store_op *o = &ops[i];

		argv[a] = o->op == STORE_GET ? "g" : o->op == STORE_SET ? "s" :
		    o->op == STORE_INCR ? "i" : "d";
		len[a++] = 1;
		(void)buf_fmt(num[i][0], sizeof num[i][0], "%zu",
		    key_of[i] + 1);
		argv[a] = num[i][0];
		len[a++] = strlen(num[i][0]);
		if (o->op == STORE_SET) {
			argv[a] = o->val.p ? o->val.p : "";
			len[a++] = o->val.len;
		} else {
			(void)buf_fmt(num[i][1], sizeof num[i][1], "%lld",
			    o->op == STORE_INCR ? o->delta : 0LL);
			argv[a] = num[i][1];
			len[a++] = strlen(num[i][1]);
		}
		(void)buf_fmt(num[i][2], sizeof num[i][2], "%ld", o->ttl);
		argv[a] = num[i][2];
		len[a++] = strlen(num[i][2]);
	}
	len[0] = 7;
	len[1] = strlen(r->sha);
	len[2] = strlen(argv[2]);
	for (again = 0; again < 2; again++) {
		rep = redisCommandArgv(r->c, (int)a, argv, len);
		if (rep == NULL) {
			err_set(e, ERR_TEMP, "store %s: %s", r->where,
			    r->c->errstr[0] ? r->c->errstr : "no reply");
			drop(r);
			goto out;
		}
		/* Flushed scripts (SCRIPT FLUSH, a restart behind a proxy). */
		if (rep->type == REDIS_REPLY_ERROR &&
		    strncmp(rep->str, "NOSCRIPT", 8) == 0 && again == 0) {
			freeReplyObject(rep);
			rep = NULL;
			if (load_script(r, e) == -1)
				goto out;
			continue;
		}
		break;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		/* redis.error_reply() text, "ERR " prepended by Redis 7 */
		if (strstr(rep->str, "BIG") != NULL)
			ret = 1;
		else if (strstr(rep->str, "NOTINT") != NULL)
			err_set(e, ERR_TEMP, "store %s: incr: the value is not "
			    "an integer", r->where);
		else
			err_set(e, ERR_TEMP, "store %s: %.*s", r->where,
			    (int)rep->len, rep->str);
		goto out;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n) {
		err_set(e, ERR_TEMP, "store %s: unexpected script reply",
		    r->where);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct store_op *o = &ops[i];
		redisReply *v = rep->element[i];

		if (o->op == STORE_GET && v->type == REDIS_REPLY_STRING) {
			o->found = 1;
			if (o->val_out != NULL)
				buf_add(o->val_out, v->str, v->len);
		} else if (o->op == STORE_INCR) {
			if (v->type != REDIS_REPLY_STRING ||
			    parse_ll(v->str, v->len, &o->num_out) == -1) {
				err_set(e, ERR_INTERNAL, "store %s: bad incr "
				    "reply", r->where);
				goto out;
			}
		}
	}
	ret = 0;
out:
	if (rep != NULL)
		freeReplyObject(rep);
	free(num);
	free(len);
	free(argv);
	return ret;
}

static void
undo_gets(struct store_op *ops, size_t n, const size_t *old_len)
{
	size_t i;

	for (i = 0; i < n; i++) {
		ops[i].found = 0;
		ops[i].num_out = 0;
		if (ops[i].op == STORE_GET && ops[i].val_out != NULL) {
			ops[i].val_out->len = old_len[i];
			if (ops[i].val_out->data != NULL)
				ops[i].val_out->data[old_len[i]] = '\0';
		}
	}
}

/* WATCH (when writing) and MGET every key of the batch into ks. */
static int
load(struct redis_store *r, int watch, struct kstate *ks, size_t nk,
    const char **argv, size_t *argvlen, struct err *e)
{
	redisReply *rep;
	size_t i;

	if (watch) {
		argv[0] = "WATCH";
		argvlen[0] = 5;
		if ((rep = command(r, (int)nk + 1, argv, argvlen, e)) == NULL)
			return -1;
		freeReplyObject(rep);
	}
	argv[0] = "MGET";
	argvlen[0] = 4;
	if ((rep = command(r, (int)nk + 1, argv, argvlen, e)) == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != nk) {
		freeReplyObject(rep);
		return err_set(e, ERR_TEMP, "store %s: unexpected MGET reply",
		    r->where);
	}
	for (i = 0; i < nk; i++) {
		redisReply *v = rep->element[i];

		buf_reset(&ks[i].val);
		ks[i].touched = 0;
		ks[i].ttl_mode = TTL_KEEP;
		ks[i].ttl = 0;
		ks[i].present = v->type == REDIS_REPLY_STRING;
		if (ks[i].present)
			buf_add(&ks[i].val, v->str, v->len);
	}
	freeReplyObject(rep);
	return 0;
}

static int
redis_batch(void *h, struct store_op *ops, size_t n, struct err *e)
{
	struct redis_store *r = h;
	size_t *key_of, *old_len, *pklen, nk, i;
	struct kstate *ks;
	const char **argv;
	char **pk;
	int writes = 0, attempt, ret = -1, rc;

	if (n > INT_MAX - 1)
		return err_set(e, ERR_INTERNAL, "store: batch too large");
	if (ensure_connected(r, e) == -1)
		return -1;
	for (i = 0; i < n; i++)
		writes |= ops[i].op != STORE_GET;
	key_of = xmalloc(n * sizeof *key_of);
	old_len = xmalloc(n * sizeof *old_len);
	ks = xmalloc(n * sizeof *ks);
	nk = index_keys(ops, n, key_of, ks);
	for (i = 0; i < nk; i++)
		ks[i].val = (struct buf)BUF_INIT;
	pk = xmalloc(nk * sizeof *pk);
	pklen = xmalloc((nk + 1) * sizeof *pklen);
	argv = xmalloc((nk + 1) * sizeof *argv);
	for (i = 0; i < nk; i++) {
		const struct store_op *o = &ops[ks[i].first_op];

		pklen[i] = r->prefix_len + o->key.len;
		pk[i] = xmalloc(pklen[i]);
		memcpy(pk[i], r->prefix, r->prefix_len);
		memcpy(pk[i] + r->prefix_len, o->key.p, o->key.len);
		argv[i + 1] = pk[i];
	}
	for (i = 0; i < n; i++)
		old_len[i] = ops[i].val_out ? ops[i].val_out->len : 0;

	/* Writes: the script, unless numbers need exact 64-bit math. */
	if (writes && (rc = run_script(r, ops, n, key_of, pk, pklen, nk,
	    e)) != 1) {
		ret = rc;
		attempt = 0;
		goto done;
	}
	for (attempt = 0; attempt < REDIS_MAX_RETRIES; attempt++) {
		size_t *arglen = xmalloc((nk + 1) * sizeof *arglen);

		memcpy(arglen + 1, pklen, nk * sizeof *pklen);
		rc = load(r, writes, ks, nk, argv, arglen, e);
		free(arglen);
		if (rc == -1)
			break;
		if (evaluate(r, ops, n, key_of, ks, e) == -1) {
			struct err ue;	/* must not hide why */

			if (writes && r->c != NULL)
				(void)simple(r, 1,
				    (const char *[]){ "UNWATCH" }, &ue);
			break;
		}
		if (!writes) {
			ret = 0;
			break;
		}
		if ((rc = commit(r, ks, nk, pk, pklen, e)) != 0) {
			ret = rc == 1 ? 0 : -1;
			break;
		}
		undo_gets(ops, n, old_len);	/* a concurrent writer: redo */
	}
done:
	if (attempt == REDIS_MAX_RETRIES)
		err_set(e, ERR_TEMP, "store %s: gave up after %d attempts "
		    "against concurrent writers", r->where, REDIS_MAX_RETRIES);
	if (ret == -1)
		undo_gets(ops, n, old_len);
	for (i = 0; i < nk; i++) {
		free(pk[i]);
		buf_free(&ks[i].val);
	}
	free(pk);
	free(pklen);
	free(argv);
	free(ks);
	free(old_len);
	free(key_of);
	return ret;
}

const struct store_backend store_redis = {
	.name = "redis",
	.open = redis_open,
	.close = redis_close,
	.batch = redis_batch,
};

#else /* !STORE_HAVE_HIREDIS */

static void *
redis_open(const char *location, struct err *e)
{
	err_set(e, ERR_CONFIG, "store redis %s: sluice was built without "
	    "hiredis (install libhiredis-dev and rebuild)", location);
	return NULL;
}

static void
redis_close(void *h)
{
	(void)h;
}

static int
redis_batch(void *h, struct store_op *ops, size_t n, struct err *e)
{
	(void)h;
	(void)ops;
	(void)n;
	return err_set(e, ERR_INTERNAL, "store: no hiredis");
}

const struct store_backend store_redis = {
	.name = "redis",
	.open = redis_open,
	.close = redis_close,
	.batch = redis_batch,
};

#endif
