/*
 * store.c - the state store front end: parse the spec, pick a backend from
 * the table, check ops against the shared limits, and the one-op
 * convenience calls.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

struct store {
	const struct store_backend *be;
	void *h;
};

/*
 * Process-wide test hook (store.h): a function pointer set once before
 * any store is used, not a mutable buffer shared by threads.
 */
static time_t (*store_clock)(void);

void
store_set_clock(time_t (*now)(void))
{
	store_clock = now;
}

time_t
store_now(void)
{
	return store_clock ? store_clock() : time(NULL);
}

/* Expand a leading "~/" with home into out (size PATH_MAX). */
static int
expand_path(const char *path, const char *home, char *out, size_t outsz,
    struct err *e)
{
	if (path[0] == '~') {
		if (path[1] != '/' && path[1] != '\0')
			return err_set(e, ERR_CONFIG,
			    "store path %s: only ~/ is supported, not ~user",
			    path);
		if (home == NULL || home[0] != '/')
			return err_set(e, ERR_CONFIG,
			    "store path %s: no home directory to expand ~ with",
			    path);
		if (buf_fmt(out, outsz, "%s%s", home, path + 1) == -1)
			return err_set(e, ERR_CONFIG, "store path too long");
		return 0;
	}
	/* Relative to what? The LDA's working directory is Postfix's. */
	if (path[0] != '/')
		return err_set(e, ERR_CONFIG,
		    "store path \"%s\" must be absolute or start with ~/", path);
	if (buf_fmt(out, outsz, "%s", path) == -1)
		return err_set(e, ERR_CONFIG, "store path too long");
	return 0;
}

/*
 * Spec prefixes. A backend that is not built yet has be NULL and says why.
 */
static const struct {
	const char *prefix;
	const struct store_backend *be;
	const char *why;
} schemes[] = {
	{ "lmdb:", &store_lmdb, NULL },
	{ "redis://", &store_redis, NULL },
	{ "redis+unix:", &store_redis, NULL },
};

struct store *
store_open(const char *spec, const char *home, struct err *e)
{
	const struct store_backend *be = NULL;
	char path[PATH_MAX];
	const char *p = NULL;
	struct store *s;
	size_t i;
	void *h;

	if (spec == NULL || spec[0] == '\0') {
		err_set(e, ERR_CONFIG, "store: empty setting");
		return NULL;
	}
	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		size_t n = strlen(schemes[i].prefix);

		if (strncmp(spec, schemes[i].prefix, n) != 0)
			continue;
		if (schemes[i].be == NULL) {
			err_set(e, ERR_CONFIG, "%s", schemes[i].why);
			return NULL;
		}
		be = schemes[i].be;
		p = spec + n;
		break;
	}
	if (be == NULL) {
		/* A bare path is the embedded default. */
		if (spec[0] != '/' && spec[0] != '~') {
			err_set(e, ERR_CONFIG,
			    "store \"%s\": unknown backend (want lmdb:PATH, "
			    "/PATH, ~/PATH or redis://HOST:PORT/DB)", spec);
			return NULL;
		}
		be = &store_lmdb;
		p = spec;
	}
	if (p[0] == '\0') {
		err_set(e, ERR_CONFIG, "store \"%s\": no %s", spec,
		    be == &store_redis ? "host" : "path");
		return NULL;
	}
	if (be == &store_redis) {
		/* A network location, not a path; the unix form is marked
		 * for store_redis.c. */
		if (buf_fmt(path, sizeof path, "%s%s",
		    strncmp(spec, "redis+unix:", 11) == 0 ? "unix:" : "",
		    p) == -1) {
			err_set(e, ERR_CONFIG, "store \"%.64s...\": too long",
			    spec);
			return NULL;
		}
	} else if (expand_path(p, home, path, sizeof path, e) == -1)
		return NULL;
	if ((h = be->open(path, e)) == NULL)
		return NULL;
	s = xmalloc(sizeof *s);
	s->be = be;
	s->h = h;
	return s;
}

void
store_close(struct store **sp)
{
	if (*sp == NULL)
		return;
	(*sp)->be->close((*sp)->h);
	free(*sp);
	*sp = NULL;
}

const char *
store_backend_name(const struct store *s)
{
	return s->be->name;
}

/* Caller bugs are caught here so that every backend behaves alike. */
static int
check_ops(const struct store_op *ops, size_t n, struct err *e)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct store_op *o = &ops[i];

		if (o->op != STORE_GET && o->op != STORE_SET &&
		    o->op != STORE_INCR && o->op != STORE_DEL)
			return err_set(e, ERR_INTERNAL,
			    "store op %zu: bad opcode %d", i, (int)o->op);
		if (o->key.len == 0 || o->key.len > STORE_MAX_KEY ||
		    o->key.p == NULL)
			return err_set(e, ERR_INTERNAL,
			    "store op %zu: key of %zu bytes (1..%d allowed)",
			    i, o->key.len, STORE_MAX_KEY);
		if (o->op == STORE_SET && (o->val.len > STORE_MAX_VALUE ||
		    (o->val.p == NULL && o->val.len != 0)))
			return err_set(e, ERR_INTERNAL,
			    "store op %zu: value of %zu bytes (at most %d)",
			    i, o->val.len, STORE_MAX_VALUE);
		if (o->ttl < 0)
			return err_set(e, ERR_INTERNAL,
			    "store op %zu: negative ttl %ld", i, o->ttl);
	}
	return 0;
}

int
store_batch(struct store *s, struct store_op *ops, size_t n, struct err *e)
{
	size_t i;

	for (i = 0; i < n; i++) {
		ops[i].found = 0;
		ops[i].num_out = 0;
	}
	if (n == 0)
		return 0;
	if (check_ops(ops, n, e) == -1)
		return -1;
	return s->be->batch(s->h, ops, n, e);
}

int
store_version(struct store *s, unsigned long long *out, struct err *e)
{
	if (s->be->version == NULL)
		return 0;
	return s->be->version(s->h, out, e) == -1 ? -1 : 1;
}

int
store_get(struct store *s, struct span key, struct buf *val_out,
    struct err *e)
{
	struct store_op op = { .op = STORE_GET, .key = key, .val_out = val_out };

	if (store_batch(s, &op, 1, e) == -1)
		return -1;
	return op.found;
}

int
store_set(struct store *s, struct span key, struct span val, long ttl,
    struct err *e)
{
	struct store_op op = {
		.op = STORE_SET, .key = key, .val = val, .ttl = ttl,
	};

	return store_batch(s, &op, 1, e);
}

int
store_incr(struct store *s, struct span key, long long delta, long ttl,
    long long *out, struct err *e)
{
	struct store_op op = {
		.op = STORE_INCR, .key = key, .delta = delta, .ttl = ttl,
	};

	if (store_batch(s, &op, 1, e) == -1)
		return -1;
	if (out != NULL)
		*out = op.num_out;
	return 0;
}

int
store_del(struct store *s, struct span key, struct err *e)
{
	struct store_op op = { .op = STORE_DEL, .key = key };

	return store_batch(s, &op, 1, e);
}
