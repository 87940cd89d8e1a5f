/*
 * arena.h - per-message bump allocator. Everything tied to one message is
 * allocated here and released in one go by arena_free(). Not thread-safe:
 * one arena per message (per milter connection).
 */
#ifndef SLUICE_ARENA_H
#define SLUICE_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_new(void);
/* Frees every allocation of the arena and sets *ap to NULL. */
void arena_free(struct arena **ap);
/* Aligned, uninitialised memory owned by the arena. Aborts on OOM. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);
void *arena_allocarray(struct arena *a, size_t n, size_t size);
/* NUL-terminated copy of n bytes (which may hold NUL themselves). */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* Bytes handed out so far (for limit accounting and tests). */
size_t arena_used(const struct arena *a);

#endif
