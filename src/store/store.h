/*
 * store.h - the state store (DESIGN.md "State"): vacation and duplicate
 * tracking, Bayes tokens, greylisting, rate limits.
 *
 * One interface, several backends, chosen by one setting:
 *	store = lmdb:~/.sluice/state	(embedded default: nothing to start)
 *	store = redis://127.0.0.1:6379/0	(shared by several hosts)
 *	store = redis+unix:/run/redis/redis.sock?db=0
 * (Redis options: prefix=, timeout=ms, db=; see store_redis.c)
 * Keys and values are bytes (spans). Every entry may carry a TTL in
 * seconds (0: none); expired entries read as absent. A handle is used by
 * one thread at a time. Every call has a deadline inside the backend;
 * errors are ERR_TEMP: callers degrade (vacation/duplicate: log and go
 * on, DESIGN.md) rather than fail a delivery. Caller bugs (a key outside
 * 1..STORE_MAX_KEY bytes, a negative ttl, a bad opcode) are ERR_INTERNAL.
 */
#ifndef SLUICE_STORE_H
#define SLUICE_STORE_H

#include <stddef.h>
#include <time.h>

#include "../lib/buf.h"
#include "../lib/err.h"

struct store;

/*
 * Limits every backend enforces the same way (store_batch checks them
 * before the backend sees the ops). LMDB keys cannot be longer than 511
 * bytes, so that is the contract for all backends: a caller with longer
 * keys (Message-IDs may reach 998 bytes) hashes them first.
 * Candidates for src/lib/limits.h.
 */
#define STORE_MAX_KEY		511			/* bytes, and at least 1 */
#define STORE_MAX_VALUE		(64 * 1024 * 1024)	/* bytes */

enum store_opcode { STORE_GET, STORE_SET, STORE_INCR, STORE_DEL };

/* One operation of a batch (store_batch). */
struct store_op {
	enum store_opcode op;
	struct span key;
	struct span val;	/* SET */
	long long delta;	/* INCR */
	long ttl;		/* SET, INCR: seconds, 0 = none (INCR: set
				 * only when the key is created) */
	/* results */
	int found;		/* GET: 1 when present */
	struct buf *val_out;	/* GET: value appended here (caller's);
				 * may be NULL to test presence only */
	long long num_out;	/* INCR: the new value */
};

/*
 * Semantics shared by the backends (tests/unit/test-store.c runs one table
 * against each):
 *  - An entry with a TTL expires at (time of the SET/creating INCR) + ttl
 *    and reads as absent from then on. SET replaces the TTL (0 removes it,
 *    as Redis SET does); INCR keeps the TTL of an existing entry.
 *  - INCR works on the decimal text of a signed 64-bit integer (what GET
 *    returns); a value that is not one, or overflow, fails the batch.
 *  - DEL of an absent key succeeds.
 *  - A batch sees its own earlier writes, and either all its writes happen
 *    or none do; on failure the GET results are undone too (val_out back
 *    to its old length, found 0).
 */

struct store_backend {
	const char *name;	/* "lmdb", "redis" */
	void *(*open)(const char *location, struct err *e);
	void (*close)(void *h);
	/* Run ops in order, atomically where the backend can. */
	int (*batch)(void *h, struct store_op *ops, size_t n, struct err *e);
	/* Optional (NULL: cannot tell): see store_version. */
	int (*version)(void *h, unsigned long long *out, struct err *e);
};

/* The backends (store_lmdb.c, store_redis.c). */
extern const struct store_backend store_lmdb;
extern const struct store_backend store_redis;

/*
 * Open the store named by spec ("lmdb:PATH", a bare PATH meaning lmdb,
 * or "redis://HOST:PORT/DB"). "~/" in a path is home. NULL with e set
 * (ERR_CONFIG for a bad spec, ERR_TEMP when the store is unavailable).
 */
struct store *store_open(const char *spec, const char *home, struct err *e);
void store_close(struct store **sp);
const char *store_backend_name(const struct store *s);

/* 1 found (value appended to val_out), 0 absent, -1 error. */
int store_get(struct store *s, struct span key, struct buf *val_out,
    struct err *e);
int store_set(struct store *s, struct span key, struct span val, long ttl,
    struct err *e);
/* Add delta (creating the key at 0 with ttl); *out gets the new value. */
int store_incr(struct store *s, struct span key, long long delta, long ttl,
    long long *out, struct err *e);
int store_del(struct store *s, struct span key, struct err *e);
/* 0 or -1; see the semantics above. n == 0 is a no-op. */
int store_batch(struct store *s, struct store_op *ops, size_t n,
    struct err *e);

/*
 * A number that changes whenever a write to the store commits, by this
 * process or any other: for callers that cache what they read (the Bayes
 * token cache). 1 with *out set; 0 when the backend cannot tell (Redis:
 * other hosts write without telling us; do not cache); -1 on error.
 * Entries that expire by their TTL do not change it.
 */
int store_version(struct store *s, unsigned long long *out, struct err *e);

/*
 * The clock TTLs are measured with; backends call store_now(). Test hook:
 * store_set_clock(fake) lets tests move time instead of sleeping (NULL
 * restores time()). Process-wide and not synchronised: set it before any
 * store is opened, never in a threaded program. Backends whose server
 * keeps time itself (Redis) cannot honour it.
 */
void store_set_clock(time_t (*now)(void));
time_t store_now(void);

/*
 * LMDB test hook: the map size new environments start with (0: the
 * default, 64 MiB). The map grows by doubling when full, so this only
 * matters to tests that exercise that growth. Same rules as above.
 */
void store_lmdb_set_map_size(size_t bytes);

#endif
