/*
 * store_lmdb.c - the embedded state store (DESIGN.md "State"): LMDB.
 *
 * Layout. The location is a directory (created 0700, parents too, when
 * missing) holding LMDB's data.mdb and lock.mdb (0600); no MDB_NOSUBDIR,
 * so the lock file sits next to the data and a whole store is one
 * directory to move or delete. Two named databases: "kv" holds the entries,
 * "meta" the expiry sweep position.
 *
 * Values. Every value is an 8-byte big-endian expiry (absolute time_t,
 * 0 = never) followed by the caller's bytes. An expired entry reads as
 * absent; it is overwritten by the next SET/INCR of its key or removed by
 * the sweep: every write transaction looks at up to SWEEP_STEP entries
 * after the position saved in "meta" and deletes the expired ones, so the
 * file stops growing once writes outpace expiries by 1/SWEEP_STEP.
 *
 * Concurrency. Many `sluice deliver` processes of one user may run at
 * once: LMDB serialises writers with a robust process-shared mutex in
 * lock.mdb (a writer that dies is recovered) and readers never block.
 * One batch is one transaction, so a batch is atomic. MDB_NOTLS ties
 * reader slots to transactions, not threads, so a handle may move between
 * threads. Dead readers' slots are reclaimed by mdb_reader_check() on open.
 *
 * One environment per directory per process. LMDB forbids opening the
 * same environment twice in one process (closing one copy drops the other
 * copy's fcntl lock and a later opener may reinitialise the lock file
 * under it), so handles on one directory share a refcounted environment
 * from a small registry. Changing the map size requires that no
 * transaction of this process is active, hence a rwlock per environment:
 * transactions hold it shared, growth holds it exclusive.
 *
 * Map size. Starts at 64 MiB (LMDB does not allocate it: the file grows
 * with the data) and doubles on MDB_MAP_FULL up to MAP_MAX, retrying the
 * batch. Another process that grew the map makes our next transaction
 * fail with MDB_MAP_RESIZED; we adopt the new size and retry.
 *
 * Durability. MDB_NOMETASYNC: each commit fdatasync()s the data but not
 * the meta page, so a system crash may lose the last transaction but never
 * corrupts the store. Losing a duplicate or vacation record means at worst
 * one extra reply, which is worth halving the syncs.
 *
 * Errors are ERR_TEMP with LMDB's text; a missing, corrupt or foreign
 * data file fails store_open and callers degrade.
 *
 * Known weaknesses: a writer waits for the writer mutex without a
 * deadline (a stopped process holding it stalls others until the LDA's
 * own timeout; a dead one is recovered). Expired entries occupy space
 * until swept or overwritten. A handle must not be used in a child after
 * fork() (LMDB's rule); the child may open its own. The store is not
 * portable between architectures (LMDB's format is native).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

/* Built without liblmdb-dev: every open fails with a clear message. */
#if !defined(__has_include) || __has_include(<lmdb.h>)
#define STORE_HAVE_LMDB 1
#endif

#ifdef STORE_HAVE_LMDB

#include <lmdb.h>
#include <pthread.h>

#define MAP_DEFAULT	((size_t)64 * 1024 * 1024)
#if SIZE_MAX > 0xffffffffu
#define MAP_MAX		((size_t)16 * 1024 * 1024 * 1024)
#else
#define MAP_MAX		((size_t)1024 * 1024 * 1024)
#endif
#define HDR_LEN		8	/* expiry header */
#define SWEEP_STEP	32	/* entries looked at per write transaction */
#define MAX_ATTEMPTS	40	/* of one batch: growth and resizes */

static const char sweep_key[] = "sweep";

/* One environment per directory per process (see the top comment). */
struct lenv {
	struct lenv *next;
	dev_t dev;
	ino_t ino;
	pid_t pid;		/* the opener: a forked child must not use it */
	unsigned refs;
	MDB_env *env;
	MDB_dbi kv, meta;
	pthread_rwlock_t resize;
	char *path;		/* for messages */
};

struct lmdb_store {
	struct lenv *le;
};

/*
 * The registry is process state by nature (it exists to stop one process
 * from opening a file twice); every access holds lenvs_lock.
 */
static pthread_mutex_t lenvs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lenv *lenvs;
static size_t map_initial;	/* test hook; 0: MAP_DEFAULT */

void
store_lmdb_set_map_size(size_t bytes)
{
	map_initial = bytes;
}

static int
mdb_fail(struct err *e, int rc, const char *path, const char *what)
{
	/* LMDB passes system errors through as errno values. */
	if (rc > 0)
		return err_sys(e, rc, "store %s: %s", path, what);
	return err_set(e, ERR_TEMP, "store %s: %s: %s", path, what,
	    mdb_strerror(rc));
}

/* mkdir -p with mode 0700 for the components we create. */
static int
make_dirs(const char *path, struct err *e)
{
	char tmp[PATH_MAX];
	struct stat st;
	size_t len = strlen(path), i;

	if (len >= sizeof tmp)
		return err_set(e, ERR_CONFIG, "store path too long");
	memcpy(tmp, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		if (tmp[i - 1] == '/')
			continue;	/* "//" or a trailing '/' */
		tmp[i] = '\0';
		/* An existing directory may still answer EACCES or EROFS. */
		if (mkdir(tmp, 0700) == -1 && errno != EEXIST) {
			int saved = errno;

			if (stat(tmp, &st) == -1 || !S_ISDIR(st.st_mode))
				return err_sys(e, saved, "store: mkdir %s",
				    tmp);
		}
		tmp[i] = path[i];
	}
	if (stat(path, &st) == -1)
		return err_sys(e, errno, "store: stat %s", path);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, ERR_TEMP, "store %s: not a directory", path);
	return 0;
}

/*
 * LMDB's default key order (mdb_cmp_memn: memcmp, then the shorter key
 * first), a word at a time. The order is the same, so stores stay
 * readable by any LMDB program; only the cost differs: a lookup makes
 * some twenty comparisons, and the default pays two calls for each
 * (Bayes looks up hundreds of keys per message).
 */
static int
key_cmp(const MDB_val *a, const MDB_val *b)
{
	const unsigned char *p = a->mv_data, *q = b->mv_data;
	size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size, i;
	uint64_t x, y;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&x, p + i, 8);
		memcpy(&y, q + i, 8);
		if (x != y) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			x = __builtin_bswap64(x);
			y = __builtin_bswap64(y);
#endif
			return x < y ? -1 : 1;
		}
	}
	for (; i < n; i++)
		if (p[i] != q[i])
			return p[i] < q[i] ? -1 : 1;
	return a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

/* Open (creating when absent) the two databases. */
static int
open_dbis(struct lenv *le, struct err *e)
{
	MDB_txn *txn;
	int rc;

	/* Usually they exist: a read transaction keeps the writer lock free. */
	if ((rc = mdb_txn_begin(le->env, NULL, MDB_RDONLY, &txn)) != 0)
		return mdb_fail(e, rc, le->path, "begin");
	rc = mdb_dbi_open(txn, "kv", 0, &le->kv);
	if (rc == 0)
		rc = mdb_set_compare(txn, le->kv, key_cmp);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "meta", 0, &le->meta);
	if (rc == 0) {
		/* Handles opened in a read transaction need its commit. */
		if ((rc = mdb_txn_commit(txn)) != 0)
			return mdb_fail(e, rc, le->path, "commit");
		return 0;
	}
	mdb_txn_abort(txn);
	if (rc != MDB_NOTFOUND)
		return mdb_fail(e, rc, le->path, "open database");
	if ((rc = mdb_txn_begin(le->env, NULL, 0, &txn)) != 0)
		return mdb_fail(e, rc, le->path, "begin");
	rc = mdb_dbi_open(txn, "kv", MDB_CREATE, &le->kv);
	if (rc == 0)
		rc = mdb_set_compare(txn, le->kv, key_cmp);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &le->meta);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return mdb_fail(e, rc, le->path, "create database");
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return mdb_fail(e, rc, le->path, "commit");
	return 0;
}

static struct lenv *
lenv_new(const char *path, const struct stat *st, struct err *e)
{
	pthread_rwlockattr_t attr;
	struct lenv *le;
	int rc, dead;

	le = xcalloc(1, sizeof *le);
	le->dev = st->st_dev;
	le->ino = st->st_ino;
	le->pid = getpid();
	le->refs = 1;
	le->path = xstrdup(path);
	if ((rc = mdb_env_create(&le->env)) != 0) {
		mdb_fail(e, rc, path, "create");
		le->env = NULL;
		goto fail;
	}
	(void)mdb_env_set_maxdbs(le->env, 2);
	(void)mdb_env_set_mapsize(le->env,
	    map_initial ? map_initial : MAP_DEFAULT);
	rc = mdb_env_open(le->env, path, MDB_NOTLS | MDB_NOMETASYNC, 0600);
	if (rc != 0) {
		mdb_fail(e, rc, path, "open");
		goto fail;
	}
	/* Slots of readers that died (killed LDAs) would pin old pages. */
	if ((rc = mdb_reader_check(le->env, &dead)) != 0) {
		mdb_fail(e, rc, path, "reader check");
		goto fail;
	}
	if (open_dbis(le, e) == -1)
		goto fail;
	/* Growth must not starve behind a stream of transactions. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = pthread_rwlock_init(&le->resize, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (rc != 0) {
		err_sys(e, rc, "store %s: rwlock", path);
		goto fail;
	}
	return le;
fail:
	if (le->env != NULL)
		mdb_env_close(le->env);
	free(le->path);
	free(le);
	return NULL;
}

static void *
lmdb_open(const char *location, struct err *e)
{
	struct lmdb_store *ls;
	struct lenv *le;
	struct stat st;
	pid_t pid = getpid();

	if (make_dirs(location, e) == -1)
		return NULL;
	if (stat(location, &st) == -1) {
		err_sys(e, errno, "store: stat %s", location);
		return NULL;
	}
	pthread_mutex_lock(&lenvs_lock);
	for (le = lenvs; le != NULL; le = le->next)
		if (le->dev == st.st_dev && le->ino == st.st_ino &&
		    le->pid == pid)
			break;
	if (le != NULL)
		le->refs++;
	else if ((le = lenv_new(location, &st, e)) != NULL) {
		le->next = lenvs;
		lenvs = le;
	}
	pthread_mutex_unlock(&lenvs_lock);
	if (le == NULL)
		return NULL;
	ls = xmalloc(sizeof *ls);
	ls->le = le;
	return ls;
}

static void
lmdb_close(void *h)
{
	struct lmdb_store *ls = h;
	struct lenv *le = ls->le, **pp;

	free(ls);
	pthread_mutex_lock(&lenvs_lock);
	if (--le->refs > 0) {
		pthread_mutex_unlock(&lenvs_lock);
		return;
	}
	for (pp = &lenvs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == le) {
			*pp = le->next;
			break;
		}
	pthread_mutex_unlock(&lenvs_lock);
	/* In a forked child the environment is the parent's: leave it. */
	if (le->pid == getpid()) {
		mdb_env_close(le->env);
		pthread_rwlock_destroy(&le->resize);
	}
	free(le->path);
	free(le);
}

static void
put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static int64_t
get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return (int64_t)v;
}

static int64_t
expiry_for(long ttl, time_t now)
{
	if (ttl <= 0)
		return 0;
	if ((int64_t)now > INT64_MAX - ttl)
		return INT64_MAX;
	return (int64_t)now + ttl;
}

/* Value present and not expired? A value shorter than its header is one
 * we did not write: treat it as corruption. */
static int
live(const MDB_val *d, time_t now, int *corrupt)
{
	int64_t exp;

	if (d->mv_size < HDR_LEN) {
		*corrupt = 1;
		return 0;
	}
	exp = get_be64(d->mv_data);
	return exp == 0 || (int64_t)now < exp;
}

/* Strict decimal int64: what INCR wrote, or what a SET put there. */
static int
parse_i64(const char *p, size_t len, long long *out)
{
	unsigned long long v = 0, lim;
	int neg = 0;
	size_t i = 0;

	if (len > 0 && (p[0] == '-' || p[0] == '+')) {
		neg = p[0] == '-';
		i = 1;
	}
	if (i == len || len > 20)
		return -1;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	for (; i < len; i++) {
		unsigned d;

		if (p[i] < '0' || p[i] > '9')
			return -1;
		d = (unsigned)(p[i] - '0');
		if (v > (lim - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (neg)
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN :
		    -(long long)v;
	else
		*out = (long long)v;
	return 0;
}

/* Write HDR_LEN + len bytes in place (MDB_RESERVE saves a copy). */
static int
put_value(MDB_txn *txn, MDB_dbi dbi, struct span key, int64_t exp,
    const void *p, size_t len)
{
	MDB_val k = { key.len, (void *)key.p };
	MDB_val d = { HDR_LEN + len, NULL };
	int rc;

	if ((rc = mdb_put(txn, dbi, &k, &d, MDB_RESERVE)) != 0)
		return rc;
	put_be64(d.mv_data, (uint64_t)exp);
	if (len > 0)
		memcpy((char *)d.mv_data + HDR_LEN, p, len);
	return 0;
}

/*
 * Delete up to SWEEP_STEP expired entries after the saved position; save
 * where we stopped (or forget it at the end, to start over).
 */
static int
sweep(struct lenv *le, MDB_txn *txn, time_t now)
{
	char pos[STORE_MAX_KEY + 1];
	MDB_val mk = { sizeof sweep_key - 1, (void *)sweep_key };
	MDB_val k, d;
	MDB_cursor *c;
	int rc, i, corrupt = 0;

	rc = mdb_get(txn, le->meta, &mk, &d);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (rc == 0 && d.mv_size > 0 && d.mv_size <= STORE_MAX_KEY) {
		memcpy(pos, d.mv_data, d.mv_size);
		k.mv_size = d.mv_size;
		k.mv_data = pos;
	} else
		k.mv_size = 0;
	if ((rc = mdb_cursor_open(txn, le->kv, &c)) != 0)
		return rc;
	if (k.mv_size > 0)
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	else
		rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
	for (i = 0; i < SWEEP_STEP && rc == 0; i++) {
		if (!live(&d, now, &corrupt) && !corrupt &&
		    (rc = mdb_cursor_del(c, 0)) != 0)
			break;
		/* After a delete the cursor already sits on the next entry
		 * and MDB_NEXT returns that one. */
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT);
	}
	if (rc == 0) {
		/* k is in the map; copy it before writing "meta". */
		memcpy(pos, k.mv_data, k.mv_size);
		d.mv_size = k.mv_size;
		d.mv_data = pos;
		mdb_cursor_close(c);
		return mdb_put(txn, le->meta, &mk, &d, 0);
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return rc;
	rc = mdb_del(txn, le->meta, &mk, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Run the ops in txn. Returns 0, an LMDB/errno code (the caller decides
 * about retrying), or -1 with e set for a problem of the data itself.
 * c: NULL, or a cursor on kv that GETs use (read-only batches; see
 * run_ops).
 */
static int
run_ops_cursor(struct lenv *le, MDB_txn *txn, MDB_cursor *c,
    struct store_op *ops, size_t n, time_t now, struct err *e)
{
	char num[24];
	size_t i;
	int rc, corrupt = 0;

	for (i = 0; i < n; i++) {
		struct store_op *o = &ops[i];
		MDB_val k = { o->key.len, (void *)o->key.p }, d;
		long long cur = 0;
		int64_t exp;

		switch (o->op) {
		case STORE_GET:
			if (c != NULL)
				rc = mdb_cursor_get(c, &k, &d, MDB_SET);
			else
				rc = mdb_get(txn, le->kv, &k, &d);
			if (rc == MDB_NOTFOUND)
				break;
			if (rc != 0)
				return rc;
			if (!live(&d, now, &corrupt))
				break;
			o->found = 1;
			if (o->val_out != NULL)
				buf_add(o->val_out, (char *)d.mv_data + HDR_LEN,
				    d.mv_size - HDR_LEN);
			break;
		case STORE_SET:
			rc = put_value(txn, le->kv, o->key,
			    expiry_for(o->ttl, now), o->val.p, o->val.len);
			if (rc != 0)
				return rc;
			break;
		case STORE_INCR:
			rc = mdb_get(txn, le->kv, &k, &d);
			if (rc != 0 && rc != MDB_NOTFOUND)
				return rc;
			if (rc == 0 && live(&d, now, &corrupt)) {
				exp = get_be64(d.mv_data);
				if (parse_i64((char *)d.mv_data + HDR_LEN,
				    d.mv_size - HDR_LEN, &cur) == -1)
					return err_set(e, ERR_TEMP,
					    "store %s: incr op %zu: value is "
					    "not an integer", le->path, i);
			} else
				exp = expiry_for(o->ttl, now);
			if (__builtin_add_overflow(cur, o->delta, &cur))
				return err_set(e, ERR_TEMP,
				    "store %s: incr op %zu: overflow",
				    le->path, i);
			if (buf_fmt(num, sizeof num, "%lld", cur) == -1)
				return err_set(e, ERR_INTERNAL, "incr format");
			rc = put_value(txn, le->kv, o->key, exp, num,
			    strlen(num));
			if (rc != 0)
				return rc;
			o->num_out = cur;
			break;
		case STORE_DEL:
			rc = mdb_del(txn, le->kv, &k, NULL);
			if (rc != 0 && rc != MDB_NOTFOUND)
				return rc;
			break;
		}
		if (corrupt)
			return err_set(e, ERR_TEMP,
			    "store %s: op %zu: entry shorter than its header "
			    "(corrupt store?)", le->path, i);
	}
	return 0;
}

/*
 * A read-only batch of several GETs goes through one cursor: mdb_get()
 * sets up a cursor and searches from the root every time, while a cursor
 * that already sits on a leaf page looks there first, so a caller that
 * sorts its keys (Bayes: hundreds of tokens per message) finds neighbours
 * without the descent. Writes keep mdb_get(): a cursor would have to be
 * kept valid across them.
 */
static int
run_ops(struct lenv *le, MDB_txn *txn, int rdonly, struct store_op *ops,
    size_t n, time_t now, struct err *e)
{
	MDB_cursor *c = NULL;
	int rc;

	if (rdonly && n > 1 && (rc = mdb_cursor_open(txn, le->kv, &c)) != 0)
		return rc;
	rc = run_ops_cursor(le, txn, c, ops, n, now, e);
	/* LMDB: a read-only transaction's cursor is closed explicitly */
	if (c != NULL)
		mdb_cursor_close(c);
	return rc;
}

/* Undo GET results: val_out back to where it was, found 0. */
static void
undo_outputs(struct store_op *ops, size_t n, const size_t *lens)
{
	size_t i = n;

	/* Backwards, so that ops sharing one buffer end at the first length. */
	while (i-- > 0) {
		ops[i].found = 0;
		ops[i].num_out = 0;
		if (ops[i].op == STORE_GET && ops[i].val_out != NULL) {
			ops[i].val_out->len = lens[i];
			if (ops[i].val_out->data != NULL)
				ops[i].val_out->data[lens[i]] = '\0';
		}
	}
}

/* Double the map unless another thread already grew it past seen. */
static int
grow(struct lenv *le, size_t seen, struct err *e)
{
	MDB_envinfo info;
	size_t want;
	int rc = 0;

	pthread_rwlock_wrlock(&le->resize);
	mdb_env_info(le->env, &info);
	if (info.me_mapsize == seen) {
		if (seen >= MAP_MAX) {
			pthread_rwlock_unlock(&le->resize);
			return err_set(e, ERR_TEMP,
			    "store %s: full (map size %zu MiB is the limit)",
			    le->path, seen >> 20);
		}
		want = seen > MAP_MAX / 2 ? MAP_MAX : seen * 2;
		rc = mdb_env_set_mapsize(le->env, want);
	}
	pthread_rwlock_unlock(&le->resize);
	if (rc != 0)
		return mdb_fail(e, rc, le->path, "grow map");
	return 0;
}

/* Another process grew the map: adopt its size. */
static int
adopt_size(struct lenv *le, struct err *e)
{
	int rc;

	pthread_rwlock_wrlock(&le->resize);
	rc = mdb_env_set_mapsize(le->env, 0);
	pthread_rwlock_unlock(&le->resize);
	if (rc != 0)
		return mdb_fail(e, rc, le->path, "adopt map size");
	return 0;
}

static int
lmdb_batch(void *h, struct store_op *ops, size_t n, struct err *e)
{
	struct lenv *le = ((struct lmdb_store *)h)->le;
	unsigned flags = MDB_RDONLY;
	size_t *lens, i;
	int attempt, rc, ret = -1;
	time_t now = store_now();

	if (le->pid != getpid())
		return err_set(e, ERR_INTERNAL,
		    "store %s: handle used after fork", le->path);
	lens = xreallocarray(NULL, n, sizeof *lens);
	for (i = 0; i < n; i++) {
		lens[i] = ops[i].val_out != NULL ? ops[i].val_out->len : 0;
		if (ops[i].op != STORE_GET)
			flags = 0;
	}
	for (attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		MDB_envinfo info;
		MDB_txn *txn;

		pthread_rwlock_rdlock(&le->resize);
		mdb_env_info(le->env, &info);
		rc = mdb_txn_begin(le->env, NULL, flags, &txn);
		if (rc == MDB_MAP_RESIZED) {
			pthread_rwlock_unlock(&le->resize);
			if (adopt_size(le, e) == -1)
				goto out;
			continue;
		}
		if (rc != 0) {
			pthread_rwlock_unlock(&le->resize);
			mdb_fail(e, rc, le->path, "begin");
			goto out;
		}
		rc = run_ops(le, txn, flags == MDB_RDONLY, ops, n, now, e);
		if (rc == 0 && flags == 0)
			rc = sweep(le, txn, now);
		if (rc == 0)
			rc = mdb_txn_commit(txn);	/* frees txn */
		else
			mdb_txn_abort(txn);
		pthread_rwlock_unlock(&le->resize);
		if (rc == 0) {
			ret = 0;
			goto out;
		}
		undo_outputs(ops, n, lens);
		if (rc == -1)
			goto out;
		if (rc == MDB_MAP_FULL) {
			if (grow(le, info.me_mapsize, e) == -1)
				goto out;
			continue;
		}
		if (rc == MDB_MAP_RESIZED) {
			if (adopt_size(le, e) == -1)
				goto out;
			continue;
		}
		mdb_fail(e, rc, le->path, flags ? "read" : "write");
		goto out;
	}
	err_set(e, ERR_TEMP, "store %s: gave up after %d attempts to fit "
	    "the batch", le->path, MAX_ATTEMPTS);
out:
	if (ret == -1)
		undo_outputs(ops, n, lens);
	free(lens);
	return ret;
}

/*
 * The id of the last committed write transaction, from the meta pages
 * every process shares: any commit anywhere changes it.
 */
static int
lmdb_version(void *h, unsigned long long *out, struct err *e)
{
	struct lenv *le = ((struct lmdb_store *)h)->le;
	MDB_envinfo info;

	if (le->pid != getpid())
		return err_set(e, ERR_INTERNAL,
		    "store %s: handle used after fork", le->path);
	pthread_rwlock_rdlock(&le->resize);
	mdb_env_info(le->env, &info);
	pthread_rwlock_unlock(&le->resize);
	*out = (unsigned long long)info.me_last_txnid;
	return 0;
}

const struct store_backend store_lmdb = {
	.name = "lmdb",
	.open = lmdb_open,
	.close = lmdb_close,
	.batch = lmdb_batch,
	.version = lmdb_version,
};

#else /* !STORE_HAVE_LMDB */

void
store_lmdb_set_map_size(size_t bytes)
{
	(void)bytes;
}

static void *
lmdb_open(const char *location, struct err *e)
{
	err_set(e, ERR_CONFIG, "store %s: sluice was built without LMDB "
	    "(install liblmdb-dev and rebuild)", location);
	return NULL;
}

static void
lmdb_close(void *h)
{
	(void)h;
}

static int
lmdb_batch(void *h, struct store_op *ops, size_t n, struct err *e)
{
	(void)h;
	(void)ops;
	(void)n;
	return err_set(e, ERR_INTERNAL, "store: no LMDB");
}

const struct store_backend store_lmdb = {
	.name = "lmdb",
	.open = lmdb_open,
	.close = lmdb_close,
	.batch = lmdb_batch,
};

#endif
