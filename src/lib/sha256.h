/*
 * sha256.h - SHA-256 (FIPS 180-4), for keys that hostile input must not
 * be able to collide (store keys built from envelope addresses) and for
 * the integrity and identity of cached files (the Hyperscan cache).
 * Streaming: init, any number of updates, final. No allocation.
 */
#ifndef SLUICE_SHA256_H
#define SLUICE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32		/* digest bytes */
#define SHA256_HEXLEN	(2 * SHA256_LEN)	/* hex digits, without NUL */

struct sha256 {
	uint32_t h[8];
	uint64_t len;			/* bytes hashed so far */
	unsigned char blk[64];
	size_t n;			/* bytes waiting in blk */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
/* Writes the digest; c must be initialised again before reuse. */
void sha256_final(struct sha256 *c, unsigned char out[SHA256_LEN]);
/* One call: the digest of len bytes at data. */
void sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);
/* Lower-case hex of a digest into out (SHA256_HEXLEN + 1 bytes, NUL-
 * terminated); returns out. */
char *sha256_hex(const unsigned char d[SHA256_LEN],
    char out[SHA256_HEXLEN + 1]);

#endif
