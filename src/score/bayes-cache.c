/*
 * bayes-cache.c - a read cache of Bayes token counts for a long-lived
 * process (sluice-milter), shared by its threads.
 *
 * Why: classifying a message looks up about a thousand tokens; with the
 * embedded store each is a B-tree descent bound by memory latency, a
 * quarter of the CPU a message costs. Mail that arrives together shares
 * most of its tokens (header words, common text), so a process that
 * scores message after message asks the same questions again.
 *
 * Exactness: an entry holds what the store answered (the token's counts,
 * or "absent") and is used only while the store's version (store_version:
 * LMDB's last committed transaction, which any writer in any process
 * moves) is the one it was read at. A learn anywhere empties the cache,
 * so a cached answer is always the answer the store would give now, with
 * one exception: an entry whose TTL runs out (an unseen token expiring)
 * does not move the version; BAYES_CACHE_AGE bounds how long the cache
 * may keep a token that has expired meanwhile. Stores that cannot tell
 * their version (Redis, shared by hosts that do not tell us when they
 * write) are never cached.
 *
 * Layout: open addressing, linear probing, 16-byte entries. Emptying is
 * O(1): the stored key is the token hash XOR a salt that changes at every
 * emptying, so old entries stop matching; they still occupy their slots,
 * and the table is wiped for real when occupied slots reach the limit.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/buf.h"
#include "bayes-cache.h"

#define BAYES_CACHE_DEFAULT	(1u << 18)	/* tokens */
#define BAYES_CACHE_MIN		64
#define BAYES_CACHE_ABSENT	UINT32_MAX

struct bc_ent {
	uint64_t key;		/* token hash ^ salt; 0: empty slot */
	uint32_t s, h;		/* counts; s == ABSENT: not in the store */
};

struct bayes_cache {
	pthread_rwlock_t lock;
	struct bc_ent *t;
	size_t mask;		/* slots - 1 */
	size_t used, limit;	/* occupied slots (any salt); wipe at limit */
	uint64_t salt;		/* of the current generation */
	unsigned long long ver;	/* store version the entries were read at */
	int have_ver;
	time_t born;		/* when this generation started */
	int have_totals;	/* ns/nh known for this generation */
	long long ns, nh;
};

static uint64_t
next_salt(uint64_t s)
{
	/* splitmix64 step: distinct, well-mixed salts */
	s += 0x9e3779b97f4a7c15ULL;
	s = (s ^ (s >> 30)) * 0xbf58476d1ce4e5b9ULL;
	s = (s ^ (s >> 27)) * 0x94d049bb133111ebULL;
	return s ^ (s >> 31);
}

struct bayes_cache *
bayes_cache_new(size_t max_tokens)
{
	struct bayes_cache *c = xcalloc(1, sizeof *c);
	size_t slots = BAYES_CACHE_MIN;

	if (max_tokens == 0)
		max_tokens = BAYES_CACHE_DEFAULT;
	if (max_tokens < BAYES_CACHE_MIN / 2)
		max_tokens = BAYES_CACHE_MIN / 2;
	if (max_tokens > SIZE_MAX / 4 / sizeof(struct bc_ent))
		max_tokens = SIZE_MAX / 4 / sizeof(struct bc_ent);
	/* at most 3/4 full, stale entries included */
	while (slots / 4 * 3 < max_tokens)
		slots *= 2;
	c->t = xcalloc(slots, sizeof *c->t);
	c->mask = slots - 1;
	c->limit = slots / 4 * 3;
	c->salt = next_salt((uint64_t)(uintptr_t)c ^ (uint64_t)time(NULL));
	pthread_rwlock_init(&c->lock, NULL);
	return c;
}

void
bayes_cache_free(struct bayes_cache **cp)
{
	struct bayes_cache *c = *cp;

	if (c == NULL)
		return;
	pthread_rwlock_destroy(&c->lock);
	free(c->t);
	free(c);
	*cp = NULL;
}

/* A new generation: every entry stops matching. Write lock held. */
static void
bc_reset(struct bayes_cache *c, unsigned long long ver, time_t now)
{
	c->salt = next_salt(c->salt);
	c->ver = ver;
	c->have_ver = 1;
	c->born = now;
	c->have_totals = 0;
}

static int
bc_current(const struct bayes_cache *c, unsigned long long ver, time_t now)
{
	return c->have_ver && c->ver == ver && now >= c->born &&
	    now - c->born < BAYES_CACHE_AGE;
}

int
bcache_begin(struct bayes_cache *c, unsigned long long ver, time_t now,
    long long *ns, long long *nh)
{
	pthread_rwlock_rdlock(&c->lock);
	if (!bc_current(c, ver, now)) {
		pthread_rwlock_unlock(&c->lock);
		pthread_rwlock_wrlock(&c->lock);
		if (!bc_current(c, ver, now))
			bc_reset(c, ver, now);
		pthread_rwlock_unlock(&c->lock);
		pthread_rwlock_rdlock(&c->lock);
		/* another thread may have moved on to a newer version */
		if (!bc_current(c, ver, now))
			return -1;
	}
	if (!c->have_totals)
		return 0;
	*ns = c->ns;
	*nh = c->nh;
	return 1;
}

void
bcache_end(struct bayes_cache *c)
{
	pthread_rwlock_unlock(&c->lock);
}

int
bcache_get(const struct bayes_cache *c, uint64_t h, long long *s,
    long long *hm)
{
	uint64_t key = h ^ c->salt;
	size_t i = (size_t)(h * 0x9e3779b97f4a7c15ULL >> 20) & c->mask;

	if (key == 0)
		return -1;
	for (;; i = (i + 1) & c->mask) {
		const struct bc_ent *en = &c->t[i];

		if (en->key == key) {
			if (en->s == BAYES_CACHE_ABSENT)
				return 0;
			*s = en->s;
			*hm = en->h;
			return 1;
		}
		if (en->key == 0)
			return -1;
	}
}

void
bcache_put(struct bayes_cache *c, unsigned long long ver, time_t now,
    const struct bcache_tok *toks, size_t n, long long ns, long long nh)
{
	size_t k;

	pthread_rwlock_wrlock(&c->lock);
	if (!bc_current(c, ver, now))
		goto out;	/* the store moved on: what we read is old */
	c->ns = ns;
	c->nh = nh;
	c->have_totals = 1;
	for (k = 0; k < n; k++) {
		const struct bcache_tok *tk = &toks[k];
		uint64_t key = tk->h ^ c->salt;
		size_t i;

		if (!tk->fresh || key == 0 || (tk->found && (tk->s < 0 || tk->hm < 0 ||
		    tk->s >= BAYES_CACHE_ABSENT || tk->hm >= UINT32_MAX)))
			continue;	/* not representable: not cached */
		if (c->used >= c->limit) {
			/* full of this and older generations: wipe */
			memset(c->t, 0, (c->mask + 1) * sizeof *c->t);
			c->used = 0;
		}
		i = (size_t)(tk->h * 0x9e3779b97f4a7c15ULL >> 20) & c->mask;
		while (c->t[i].key != 0 && c->t[i].key != key)
			i = (i + 1) & c->mask;
		if (c->t[i].key == 0)
			c->used++;
		c->t[i].key = key;
		c->t[i].s = tk->found ? (uint32_t)tk->s : BAYES_CACHE_ABSENT;
		c->t[i].h = tk->found ? (uint32_t)tk->hm : 0;
	}
out:
	pthread_rwlock_unlock(&c->lock);
}
