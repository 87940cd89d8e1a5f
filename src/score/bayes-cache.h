/*
 * bayes-cache.h - the token-count cache between bayes.c and the store
 * (see bayes-cache.c for what it keeps and why it stays exact). The
 * public half (bayes_cache_new/free) is in score.h.
 */
#ifndef SLUICE_BAYES_CACHE_H
#define SLUICE_BAYES_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "score.h"

/* Seconds a generation lives at most: bounds how long a token that
 * expired by its TTL (which moves no store version) may still be used. */
#define BAYES_CACHE_AGE		60

/* What the store answered for one token (bcache_put). */
struct bcache_tok {
	uint64_t h;
	int fresh;		/* 1: read from the store now (bcache_put
				 * keeps only these) */
	int found;		/* 0: absent or unreadable */
	long long s, hm;	/* spam and ham counts when found */
};

/*
 * Start reading at store version ver: takes the read lock (always; end
 * with bcache_end). Returns 1 with the message totals set, 0 when they
 * are not cached, -1 when the cache cannot serve this version (another
 * thread moved it on): then do not call bcache_get.
 */
int bcache_begin(struct bayes_cache *c, unsigned long long ver, time_t now,
    long long *ns, long long *nh);
/* 1 found (counts set), 0 known absent, -1 not cached. Read lock held. */
int bcache_get(const struct bayes_cache *c, uint64_t h, long long *s,
    long long *hm);
void bcache_end(struct bayes_cache *c);
/* Remember what the store answered at version ver (ignored when the cache
 * has moved to another version since). Takes the write lock. */
void bcache_put(struct bayes_cache *c, unsigned long long ver, time_t now,
    const struct bcache_tok *toks, size_t n, long long ns, long long nh);

#endif
