/*
 * test-store.c - the state store: one table of get/set/incr/del rows, the
 * batch, persistence and concurrency checks, run against every backend
 * named by a spec (backends[] in main: LMDB, and Redis on a redis-server
 * this program starts on 127.0.0.1 and stops by PID).
 * Then spec parsing, error classes, and LMDB specifics: map growth (also
 * across processes), the expiry sweep, a corrupt store.
 *
 * TTL rows move a fake clock (store_set_clock) instead of sleeping when
 * the backend keeps time with our clock; otherwise they sleep.
 *
 *	./tests/unit/test-store            the TAP suite
 *	./tests/unit/test-store --bench    single-process get/set ops/s
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "tap.h"
#include "redis-server.h"

#define S(lit) { (lit), sizeof(lit) - 1 }

static char scratch[PATH_MAX];

static time_t fake_now = 1700000000;

static time_t
fake_clock(void)
{
	return fake_now;
}

struct backend {
	const char *name;
	char spec[PATH_MAX + 8];
	int fake_clock;		/* honours store_set_clock() */
};

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_rf(const char *path)
{
	(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
advance(const struct backend *b, long secs)
{
	if (secs <= 0)
		return;
	if (b->fake_clock) {
		fake_now += secs;
	} else {
		/* Redis expires a key once its clock is past SET + ttl, in
		 * ms: land clearly after the boundary, not on it. */
		sleep((unsigned)secs);
		usleep(50000);
	}
}

/* Bytes for a diagnostic line: printable ASCII as is, the rest \xHH. */
static const char *
show(const char *p, size_t len, char *dst, size_t dstsz)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 8 < dstsz; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			dst[o++] = (char)c;
		else
			o += (size_t)snprintf(dst + o, dstsz - o, "\\x%02x", c);
	}
	if (i < len && o + 4 < dstsz)
		o += (size_t)snprintf(dst + o, dstsz - o, "...");
	dst[o] = '\0';
	return dst;
}

static char long_key[STORE_MAX_KEY + 1];
static char big_val[1024 * 1024];

/* One operation through the convenience API and what it must give. */
struct row {
	const char *name;
	long advance;		/* seconds to move the clock first */
	enum store_opcode op;
	struct span key;
	struct span val;	/* SET */
	long long delta;	/* INCR */
	long ttl;
	int want_rc;		/* GET: 1 found, 0 absent; others 0; -1 */
	struct span want;	/* GET value */
	long long want_num;	/* INCR result */
	enum err_class want_cls;	/* when want_rc is -1 */
};

static const struct row rows[] = {
	{ "get absent", 0, STORE_GET, S("a"), S(""), 0, 0, 0, S(""), 0, 0 },
	{ "set a=1", 0, STORE_SET, S("a"), S("1"), 0, 0, 0, S(""), 0, 0 },
	{ "get a", 0, STORE_GET, S("a"), S(""), 0, 0, 1, S("1"), 0, 0 },
	{ "overwrite a", 0, STORE_SET, S("a"), S("two"), 0, 0, 0, S(""), 0, 0 },
	{ "get a again", 0, STORE_GET, S("a"), S(""), 0, 0, 1, S("two"), 0, 0 },
	{ "del a", 0, STORE_DEL, S("a"), S(""), 0, 0, 0, S(""), 0, 0 },
	{ "get deleted", 0, STORE_GET, S("a"), S(""), 0, 0, 0, S(""), 0, 0 },
	{ "del absent", 0, STORE_DEL, S("a"), S(""), 0, 0, 0, S(""), 0, 0 },
	{ "set binary", 0, STORE_SET, S("k\0\xff\0"), S("v\0\0\xfe"), 0, 0,
	    0, S(""), 0, 0 },
	{ "get binary", 0, STORE_GET, S("k\0\xff\0"), S(""), 0, 0, 1,
	    S("v\0\0\xfe"), 0, 0 },
	{ "prefix of binary key", 0, STORE_GET, S("k"), S(""), 0, 0, 0,
	    S(""), 0, 0 },
	{ "longer prefix", 0, STORE_GET, S("k\0\xff"), S(""), 0, 0, 0,
	    S(""), 0, 0 },
	{ "set empty value", 0, STORE_SET, S("e"), S(""), 0, 0, 0, S(""), 0, 0 },
	{ "get empty value", 0, STORE_GET, S("e"), S(""), 0, 0, 1, S(""), 0, 0 },
	{ "incr creates", 0, STORE_INCR, S("n"), S(""), 5, 0, 0, S(""), 5, 0 },
	{ "incr negative", 0, STORE_INCR, S("n"), S(""), -7, 0, 0, S(""), -2,
	    0 },
	{ "incr by 0", 0, STORE_INCR, S("n"), S(""), 0, 0, 0, S(""), -2, 0 },
	{ "counter reads as text", 0, STORE_GET, S("n"), S(""), 0, 0, 1,
	    S("-2"), 0, 0 },
	{ "incr empty value", 0, STORE_INCR, S("e"), S(""), 1, 0, -1, S(""),
	    0, ERR_TEMP },
	{ "incr binary value", 0, STORE_INCR, S("k\0\xff\0"), S(""), 1, 0, -1,
	    S(""), 0, ERR_TEMP },
	{ "set space-padded", 0, STORE_SET, S("sp"), S(" 1"), 0, 0, 0, S(""),
	    0, 0 },
	{ "incr space-padded", 0, STORE_INCR, S("sp"), S(""), 1, 0, -1, S(""),
	    0, ERR_TEMP },
	{ "set text", 0, STORE_SET, S("t1"), S("12abc"), 0, 0, 0, S(""), 0, 0 },
	{ "incr text", 0, STORE_INCR, S("t1"), S(""), 1, 0, -1, S(""), 0,
	    ERR_TEMP },
	{ "set max", 0, STORE_SET, S("big"), S("9223372036854775807"), 0, 0, 0,
	    S(""), 0, 0 },
	{ "incr overflow", 0, STORE_INCR, S("big"), S(""), 1, 0, -1, S(""), 0,
	    ERR_TEMP },
	{ "overflow left it", 0, STORE_GET, S("big"), S(""), 0, 0, 1,
	    S("9223372036854775807"), 0, 0 },
	{ "set min", 0, STORE_SET, S("min"), S("-9223372036854775808"), 0, 0,
	    0, S(""), 0, 0 },
	{ "incr underflow", 0, STORE_INCR, S("min"), S(""), -1, 0, -1, S(""),
	    0, ERR_TEMP },
	{ "incr from min", 0, STORE_INCR, S("min"), S(""), 1, 0, 0, S(""),
	    -9223372036854775807LL, 0 },
	{ "incr of a SET number", 0, STORE_SET, S("m"), S("+41"), 0, 0, 0,
	    S(""), 0, 0 },
	{ "incr +41", 0, STORE_INCR, S("m"), S(""), 1, 0, 0, S(""), 42, 0 },
	/* TTL */
	{ "set ttl 2", 0, STORE_SET, S("t"), S("x"), 0, 2, 0, S(""), 0, 0 },
	{ "alive after 1s", 1, STORE_GET, S("t"), S(""), 0, 0, 1, S("x"), 0,
	    0 },
	{ "gone after 2s", 1, STORE_GET, S("t"), S(""), 0, 0, 0, S(""), 0, 0 },
	{ "expired incr restarts", 0, STORE_INCR, S("t2"), S(""), 1, 2, 0,
	    S(""), 1, 0 },
	{ "incr keeps ttl", 1, STORE_INCR, S("t2"), S(""), 1, 100, 0, S(""), 2,
	    0 },
	{ "counter expired", 1, STORE_GET, S("t2"), S(""), 0, 0, 0, S(""), 0,
	    0 },
	{ "incr recreates", 0, STORE_INCR, S("t2"), S(""), 1, 0, 0, S(""), 1,
	    0 },
	{ "no ttl stays", 3, STORE_GET, S("t2"), S(""), 0, 0, 1, S("1"), 0, 0 },
	{ "set with ttl", 0, STORE_SET, S("p"), S("v"), 0, 1, 0, S(""), 0, 0 },
	{ "set without ttl clears it", 0, STORE_SET, S("p"), S("w"), 0, 0, 0,
	    S(""), 0, 0 },
	{ "cleared ttl stays", 2, STORE_GET, S("p"), S(""), 0, 0, 1, S("w"), 0,
	    0 },
	{ "set adds ttl", 0, STORE_SET, S("p"), S("y"), 0, 1, 0, S(""), 0, 0 },
	{ "added ttl expires", 1, STORE_GET, S("p"), S(""), 0, 0, 0, S(""), 0,
	    0 },
	{ "del of expired", 0, STORE_DEL, S("p"), S(""), 0, 0, 0, S(""), 0, 0 },
	/* limits */
	{ "longest key", 0, STORE_SET, { long_key, STORE_MAX_KEY }, S("L"), 0,
	    0, 0, S(""), 0, 0 },
	{ "get longest key", 0, STORE_GET, { long_key, STORE_MAX_KEY }, S(""),
	    0, 0, 1, S("L"), 0, 0 },
	{ "key too long", 0, STORE_SET, { long_key, STORE_MAX_KEY + 1 },
	    S("L"), 0, 0, -1, S(""), 0, ERR_INTERNAL },
	{ "empty key", 0, STORE_GET, S(""), S(""), 0, 0, -1, S(""), 0,
	    ERR_INTERNAL },
	{ "negative ttl", 0, STORE_SET, S("x"), S("1"), 0, -1, -1, S(""), 0,
	    ERR_INTERNAL },
	{ "1 MiB value", 0, STORE_SET, S("huge"), { big_val, sizeof big_val },
	    0, 0, 0, S(""), 0, 0 },
	{ "get 1 MiB value", 0, STORE_GET, S("huge"), S(""), 0, 0, 1,
	    { big_val, sizeof big_val }, 0, 0 },
};

static void
run_rows(struct store *s, const struct backend *b)
{
	struct buf got = BUF_INIT;
	char x[200], y[200];
	size_t i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct err e;
		long long num = 0;
		int rc = 0, good;

		advance(b, r->advance);
		err_clear(&e);
		buf_reset(&got);
		switch (r->op) {
		case STORE_GET:
			rc = store_get(s, r->key, &got, &e);
			break;
		case STORE_SET:
			rc = store_set(s, r->key, r->val, r->ttl, &e);
			break;
		case STORE_INCR:
			rc = store_incr(s, r->key, r->delta, r->ttl, &num, &e);
			break;
		case STORE_DEL:
			rc = store_del(s, r->key, &e);
			break;
		}
		good = rc == r->want_rc;
		if (good && rc == -1)
			good = e.cls == r->want_cls;
		if (good && r->op == STORE_GET && rc == 1)
			good = got.len == r->want.len &&
			    (got.len == 0 || memcmp(got.data, r->want.p,
			    got.len) == 0);
		if (good && r->op == STORE_INCR && rc == 0)
			good = num == r->want_num;
		ok(good, "%s row %zu: %s", b->name, i, r->name);
		if (!good) {
			diag("  got rc %d cls %s num %lld value \"%s\" (%s)",
			    rc, err_class_name(e.cls), num,
			    show(got.data ? got.data : "", got.len, x,
			    sizeof x), e.msg);
			diag("  want rc %d cls %s num %lld value \"%s\"",
			    r->want_rc, err_class_name(r->want_cls),
			    r->want_num, show(r->want.p, r->want.len, y,
			    sizeof y));
		}
	}
	buf_free(&got);
}

static int
span_is(const struct buf *b, const char *s)
{
	return b->len == strlen(s) && (b->len == 0 ||
	    memcmp(b->data, s, b->len) == 0);
}

static void
run_batches(struct store *s, const struct backend *b)
{
	struct buf out = BUF_INIT, v1 = BUF_INIT;
	struct store_op *ops;
	struct err e;
	char (*keys)[16], (*vals)[16];
	size_t i, bad;
	int rc;

	/* A failing op in the middle: nothing of the batch happens, and
	 * the GET results are undone. */
	(void)store_set(s, SPAN_LIT("text"), SPAN_LIT("abc"), 0, &e);
	(void)store_set(s, SPAN_LIT("x0"), SPAN_LIT("old"), 0, &e);
	buf_adds(&out, "pre");
	{
		struct store_op fail[] = {
			{ .op = STORE_SET, .key = S("x1"), .val = S("1") },
			{ .op = STORE_DEL, .key = S("x0") },
			{ .op = STORE_GET, .key = S("x1"), .val_out = &out },
			{ .op = STORE_INCR, .key = S("n1"), .delta = 1 },
			{ .op = STORE_INCR, .key = S("text"), .delta = 1 },
			{ .op = STORE_SET, .key = S("x2"), .val = S("2") },
		};

		err_clear(&e);
		rc = store_batch(s, fail, 6, &e);
		ok(rc == -1 && e.cls == ERR_TEMP,
		    "%s: batch with a bad incr fails (%s)", b->name, e.msg);
		ok(fail[2].found == 0 && span_is(&out, "pre"),
		    "%s: failed batch undid its GET output", b->name);
	}
	ok(store_get(s, SPAN_LIT("x1"), NULL, &e) == 0 &&
	    store_get(s, SPAN_LIT("x2"), NULL, &e) == 0 &&
	    store_get(s, SPAN_LIT("n1"), NULL, &e) == 0,
	    "%s: failed batch wrote nothing", b->name);
	ok(store_get(s, SPAN_LIT("x0"), &v1, &e) == 1 && span_is(&v1, "old"),
	    "%s: failed batch deleted nothing", b->name);

	/* A batch sees its own writes, in order. */
	buf_reset(&out);
	buf_reset(&v1);
	{
		struct store_op seq[] = {
			{ .op = STORE_SET, .key = S("y"), .val = S("1") },
			{ .op = STORE_GET, .key = S("y"), .val_out = &out },
			{ .op = STORE_INCR, .key = S("z"), .delta = 3 },
			{ .op = STORE_INCR, .key = S("z"), .delta = 4 },
			{ .op = STORE_DEL, .key = S("y") },
			{ .op = STORE_GET, .key = S("y"), .val_out = &v1 },
			{ .op = STORE_GET, .key = S("z"), .val_out = &v1 },
		};

		rc = store_batch(s, seq, 7, &e);
		ok(rc == 0 && seq[1].found && span_is(&out, "1") &&
		    seq[2].num_out == 3 && seq[3].num_out == 7 &&
		    !seq[5].found && seq[6].found && span_is(&v1, "7"),
		    "%s: batch reads its own writes", b->name);
	}
	ok(store_batch(s, NULL, 0, &e) == 0, "%s: empty batch", b->name);

	/* 1,000 keys in one batch each way. */
	ops = xcalloc(1000, sizeof *ops);
	keys = xcalloc(1000, sizeof *keys);
	vals = xcalloc(1000, sizeof *vals);
	for (i = 0; i < 1000; i++) {
		xfmt(keys[i], sizeof keys[i], "key%04zu", i);
		xfmt(vals[i], sizeof vals[i], "val%zu", i * 7);
		ops[i].op = STORE_SET;
		ops[i].key = (struct span){ keys[i], strlen(keys[i]) };
		ops[i].val = (struct span){ vals[i], strlen(vals[i]) };
	}
	ok(store_batch(s, ops, 1000, &e) == 0, "%s: 1000-key SET batch (%s)",
	    b->name, e.msg);
	buf_reset(&out);
	for (i = 0; i < 1000; i++) {
		ops[i].op = STORE_GET;
		ops[i].val_out = &out;	/* all appended to one buffer */
	}
	rc = store_batch(s, ops, 1000, &e);
	for (i = 0, bad = 0; i < 1000; i++)
		bad += !ops[i].found;
	buf_reset(&v1);
	for (i = 0; i < 1000; i++)
		buf_adds(&v1, vals[i]);
	ok(rc == 0 && bad == 0 && out.len == v1.len &&
	    memcmp(out.data, v1.data, v1.len) == 0,
	    "%s: 1000-key GET batch (%zu missing)", b->name, bad);

	/*
	 * A read-only batch in no particular order, with absent keys
	 * (before, between and after the present ones) and repeats: the
	 * LMDB backend reads it through one cursor that moves both ways.
	 */
	{
		static const unsigned order[] = {
			500, 1003, 3, 999, 2000, 0, 0, 1500, 17, 998, 4000,
			250, 251, 1001, 252, 999,
		};
		size_t nord = sizeof order / sizeof order[0], wrong = 0;
		struct buf got[sizeof order / sizeof order[0]];

		for (i = 0; i < nord; i++) {
			/* keys >= 1000 were never written */
			xfmt(keys[i], sizeof keys[i], "key%04u", order[i]);
			got[i] = (struct buf)BUF_INIT;
			ops[i] = (struct store_op){ .op = STORE_GET,
			    .key = { keys[i], strlen(keys[i]) },
			    .val_out = &got[i] };
		}
		rc = store_batch(s, ops, nord, &e);
		for (i = 0; i < nord; i++) {
			char want[16];

			xfmt(want, sizeof want, "val%u", order[i] * 7);
			if (order[i] < 1000 ? !ops[i].found ||
			    !span_is(&got[i], want) :
			    ops[i].found || got[i].len != 0)
				wrong++;
			buf_free(&got[i]);
		}
		ok(rc == 0 && wrong == 0,
		    "%s: unordered GET batch with absent keys (%zu wrong)",
		    b->name, wrong);
	}
	free(ops);
	free(keys);
	free(vals);
	buf_free(&out);
	buf_free(&v1);
}

/* 8 processes x 500 increments of one counter: every value 1..4000 is
 * handed out exactly once and the counter ends at 4000. */
#define NPROC	8
#define NINCR	500

static void
run_concurrency(const struct backend *b)
{
	static unsigned char seen[NPROC * NINCR + 1];
	int fds[NPROC][2], failed = 0, dups = 0;
	struct buf v = BUF_INIT;
	struct store *s;
	struct err e;
	pid_t pids[NPROC];
	size_t i, j;

	memset(seen, 0, sizeof seen);
	for (i = 0; i < NPROC; i++) {
		if (pipe(fds[i]) == -1) {
			perror("pipe");
			exit(2);
		}
		fflush(stdout);
		if ((pids[i] = fork()) == -1) {
			perror("fork");
			exit(2);
		}
		if (pids[i] == 0) {
			long long got[NINCR];
			int code = 0;

			close(fds[i][0]);
			if ((s = store_open(b->spec, scratch, &e)) == NULL)
				_exit(3);
			for (j = 0; j < NINCR; j++)
				if (store_incr(s, SPAN_LIT("ctr"), 1, 0,
				    &got[j], &e) == -1) {
					fprintf(stderr, "incr: %s\n", e.msg);
					code = 4;
					got[j] = 0;
				}
			store_close(&s);
			if (write_all(fds[i][1], got, sizeof got) == -1)
				code = 5;
			_exit(code);
		}
		close(fds[i][1]);
	}
	for (i = 0; i < NPROC; i++) {
		long long got[NINCR];
		size_t have = 0;
		ssize_t n;
		int st;

		while (have < sizeof got && (n = read(fds[i][0],
		    (char *)got + have, sizeof got - have)) > 0)
			have += (size_t)n;
		close(fds[i][0]);
		if (waitpid(pids[i], &st, 0) == -1 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0 || have != sizeof got) {
			failed++;
			continue;
		}
		for (j = 0; j < NINCR; j++) {
			if (got[j] < 1 || got[j] > NPROC * NINCR ||
			    seen[got[j]]++)
				dups++;
		}
	}
	ok(failed == 0, "%s: %d processes ran (%d failed)", b->name, NPROC,
	    failed);
	ok(dups == 0, "%s: every increment got its own value (%d clashes)",
	    b->name, dups);
	if ((s = store_open(b->spec, scratch, &e)) == NULL) {
		ok(0, "%s: reopen after concurrency: %s", b->name, e.msg);
		return;
	}
	ok(store_get(s, SPAN_LIT("ctr"), &v, &e) == 1 && span_is(&v, "4000"),
	    "%s: %d x %d increments = 4000", b->name, NPROC, NINCR);
	if (!span_is(&v, "4000"))
		diag("  got \"%.*s\"", (int)v.len, v.data ? v.data : "");
	store_close(&s);
	buf_free(&v);
}

/* The whole per-backend suite; the store behind spec starts empty. */
/*
 * store_version: LMDB tells (reads leave it, every committed write moves
 * it, through another handle too, a failed batch does not); Redis cannot
 * (other hosts write), and says so.
 */
static void
run_version(const struct backend *b)
{
	struct store *s, *s2;
	struct store_op bad[2];
	struct buf v = BUF_INIT;
	struct err e;
	unsigned long long v0 = 0, v1 = 0, v2 = 0, v3 = 0, v4 = 0;
	int lmdb = strncmp(b->spec, "lmdb:", 5) == 0, rc;

	if ((s = store_open(b->spec, scratch, &e)) == NULL ||
	    (s2 = store_open(b->spec, scratch, &e)) == NULL) {
		ok(0, "%s: version: open: %s", b->name, e.msg);
		store_close(&s);
		return;
	}
	rc = store_version(s, &v0, &e);
	ok(rc == (lmdb ? 1 : 0), "%s: store_version answers %d", b->name, rc);
	if (lmdb) {
		(void)store_get(s, SPAN_LIT("key0001"), &v, &e);
		(void)store_version(s, &v1, &e);
		(void)store_set(s2, SPAN_LIT("ver"), SPAN_LIT("1"), 0, &e);
		(void)store_version(s, &v2, &e);
		memset(bad, 0, sizeof bad);
		bad[0] = (struct store_op){ .op = STORE_SET,
		    .key = SPAN_LIT("ver"), .val = SPAN_LIT("2") };
		bad[1] = (struct store_op){ .op = STORE_INCR,
		    .key = SPAN_LIT("ver2"), .delta = 1 };
		(void)store_set(s, SPAN_LIT("ver2"), SPAN_LIT("x"), 0, &e);
		(void)store_version(s, &v3, &e);
		rc = store_batch(s, bad, 2, &e);	/* INCR of "x" fails */
		(void)store_version(s, &v4, &e);
		ok(v1 == v0 && v2 != v1 && v3 != v2 && rc == -1 && v4 == v3,
		    "%s: a read keeps the version (%llu), a write through "
		    "another handle moves it (%llu), a failed batch does not "
		    "(%llu, %llu)", b->name, v1, v2, v3, v4);
	}
	buf_free(&v);
	store_close(&s);
	store_close(&s2);
}

static void
run_suite(const struct backend *b)
{
	struct buf v = BUF_INIT;
	struct store *s;
	struct err e;

	store_set_clock(b->fake_clock ? fake_clock : NULL);
	if ((s = store_open(b->spec, scratch, &e)) == NULL) {
		ok(0, "%s: open %s: %s", b->name, b->spec, e.msg);
		return;
	}
	ok(1, "%s: open", b->name);
	run_rows(s, b);
	run_batches(s, b);
	store_close(&s);
	ok(s == NULL, "%s: close clears the handle", b->name);

	/* Persistence across close/open. */
	if ((s = store_open(b->spec, scratch, &e)) == NULL) {
		ok(0, "%s: reopen: %s", b->name, e.msg);
		return;
	}
	ok(store_get(s, SPAN_LIT("k\0\xff\0"), &v, &e) == 1 &&
	    v.len == 4 && memcmp(v.data, "v\0\0\xfe", 4) == 0,
	    "%s: binary value survives reopen", b->name);
	buf_reset(&v);
	ok(store_get(s, SPAN_LIT("key0999"), &v, &e) == 1 &&
	    span_is(&v, "val6993"), "%s: batch survives reopen", b->name);
	store_close(&s);
	buf_free(&v);

	run_version(b);
	run_concurrency(b);
	store_set_clock(NULL);
}

/* ---- spec parsing and error classes ---- */

struct spec_row {
	const char *spec;
	int with_home;
	int want_open;		/* 1: opens */
	enum err_class want_cls;
	const char *want_msg;	/* substring, or NULL */
};

static void
run_specs(void)
{
	char home[PATH_MAX], p[PATH_MAX], file[PATH_MAX], cor[PATH_MAX];
	char specbuf[PATH_MAX + 16];
	struct stat st;
	size_t i;
	int fd;
	const struct spec_row specs[] = {
		{ "", 1, 0, ERR_CONFIG, "empty" },
		{ "lmdb:", 1, 0, ERR_CONFIG, "no path" },
		{ "relative/dir", 1, 0, ERR_CONFIG, "unknown backend" },
		{ "lmdb:relative", 1, 0, ERR_CONFIG, "absolute" },
		{ "ftp://host/x", 1, 0, ERR_CONFIG, "unknown backend" },
		{ "~bob/state", 1, 0, ERR_CONFIG, "~user" },
		{ "~/state", 0, 0, ERR_CONFIG, "no home" },
		{ "redis:127.0.0.1", 1, 0, ERR_CONFIG, "unknown backend" },
		{ "redis://", 1, 0, ERR_CONFIG, "no host" },
		{ "redis://127.0.0.1:0/0", 1, 0, ERR_CONFIG, "bad port" },
		{ "redis://127.0.0.1:99999", 1, 0, ERR_CONFIG, "bad port" },
		{ "redis://127.0.0.1/x", 1, 0, ERR_CONFIG, "database" },
		{ "redis://127.0.0.1?ttl=3", 1, 0, ERR_CONFIG,
		    "unknown option" },
		{ "redis://127.0.0.1?timeout=0", 1, 0, ERR_CONFIG,
		    "timeout" },
		{ "redis://user:pw@127.0.0.1", 1, 0, ERR_CONFIG,
		    ":PASSWORD@" },
		{ "redis+unix:relative.sock", 1, 0, ERR_CONFIG, "absolute" },
		/* Nothing listens on port 1: unavailable, not misconfigured. */
		{ "redis://127.0.0.1:1/0?timeout=500", 1, 0, ERR_TEMP,
		    "127.0.0.1:1" },
		{ "lmdb:/dev/null/state", 1, 0, ERR_TEMP, "/dev/null" },
		{ file, 1, 0, ERR_TEMP, "not a directory" },
		{ cor, 1, 0, ERR_TEMP, NULL },
		{ "~/state/deep", 1, 1, ERR_NONE, NULL },
		{ "lmdb:~/other", 1, 1, ERR_NONE, NULL },
		{ specbuf, 1, 1, ERR_NONE, NULL },
	};

	xfmt(home, sizeof home, "%s/home", scratch);
	if (mkdir(home, 0755) == -1) {
		perror(home);
		exit(2);
	}
	/* A regular file where the directory should be. */
	xfmt(file, sizeof file, "lmdb:%s/plainfile", scratch);
	if ((fd = open(file + 5, O_WRONLY | O_CREAT, 0600)) == -1) {
		perror(file);
		exit(2);
	}
	close(fd);
	/* A store whose data file is garbage. */
	xfmt(cor, sizeof cor, "%s/corrupt", scratch);
	xfmt(p, sizeof p, "%s/data.mdb", cor);
	if (mkdir(cor, 0700) == -1 ||
	    (fd = open(p, O_WRONLY | O_CREAT, 0600)) == -1) {
		perror(p);
		exit(2);
	}
	memset(big_val, 'G', 16384);
	if (write_all(fd, big_val, 16384) == -1) {
		perror(p);
		exit(2);
	}
	close(fd);
	xfmt(specbuf, sizeof specbuf, "%s/bare", scratch);

	for (i = 0; i < sizeof specs / sizeof specs[0]; i++) {
		const struct spec_row *r = &specs[i];
		struct store *s;
		struct err e;
		int good;

		err_clear(&e);
		s = store_open(r->spec, r->with_home ? home : NULL, &e);
		good = (s != NULL) == r->want_open;
		if (good && s == NULL)
			good = e.cls == r->want_cls && (r->want_msg == NULL ||
			    strstr(e.msg, r->want_msg) != NULL);
		if (good && s != NULL)
			good = strcmp(store_backend_name(s), "lmdb") == 0;
		ok(good, "spec row %zu: \"%s\"", i, r->spec);
		if (!good)
			diag("  got %s \"%s\", want %s \"%s\"",
			    s ? "open" : err_class_name(e.cls), e.msg,
			    r->want_open ? "open" : err_class_name(r->want_cls),
			    r->want_msg ? r->want_msg : "");
		store_close(&s);
	}
	xfmt(p, sizeof p, "%s/state/deep", home);
	ok(stat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 07777) == 0700, "~/ expanded, directory made 0700");
	xfmt(p, sizeof p, "%s/state", home);
	ok(stat(p, &st) == 0 && (st.st_mode & 07777) == 0700,
	    "missing parents made 0700 too");
	xfmt(p, sizeof p, "%s/state/deep/data.mdb", home);
	ok(stat(p, &st) == 0 && (st.st_mode & 0077) == 0,
	    "data file is private");
}

/* ---- LMDB specifics ---- */

static off_t
file_size(const char *dir)
{
	char p[PATH_MAX];
	struct stat st;

	xfmt(p, sizeof p, "%s/data.mdb", dir);
	return stat(p, &st) == 0 ? st.st_size : -1;
}

/* Entries in the "kv" database, read with LMDB directly (no store open). */
static long
count_entries(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat ms;
	long n = -1;

	if (mdb_env_create(&env) != 0)
		return -1;
	(void)mdb_env_set_maxdbs(env, 2);
	if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600) == 0 &&
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
		if (mdb_dbi_open(txn, "kv", 0, &dbi) == 0 &&
		    mdb_stat(txn, dbi, &ms) == 0)
			n = (long)ms.ms_entries;
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return n;
}

/*
 * store_lmdb.c compares keys with its own function: it must order them
 * as LMDB's default does (memcmp, then the shorter first), or a store
 * written by sluice would be misread by other LMDB programs and the
 * reverse. Keys over a small alphabet with NUL and high bytes, of 1..20
 * bytes, so that many share prefixes and straddle the 8-byte words.
 */
#define ORDER_KEYS	3000

static void
run_lmdb_order(void)
{
	static const unsigned char abc[] = { 0x00, 'a', 'b', 0x7f, 0x80, 0xff };
	static char keys[ORDER_KEYS][20];
	static size_t lens[ORDER_KEYS];
	char dir[PATH_MAX], spec[PATH_MAX + 8];
	struct store_op *ops;
	struct store *s;
	struct err e;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *c;
	MDB_val k, d, prev = { 0, NULL };
	unsigned long r = 12345;
	size_t i, j, missing = 0, unordered = 0, seen = 0;
	int rc;

	xfmt(dir, sizeof dir, "%s/order", scratch);
	xfmt(spec, sizeof spec, "lmdb:%s", dir);
	ops = xcalloc(ORDER_KEYS, sizeof *ops);
	for (i = 0; i < ORDER_KEYS; i++) {
		r = r * 6364136223846793005UL + 1442695040888963407UL;
		lens[i] = 1 + (r >> 33) % 20;
		for (j = 0; j < lens[i]; j++) {
			r = r * 6364136223846793005UL + 1442695040888963407UL;
			keys[i][j] = (char)abc[(r >> 33) % sizeof abc];
		}
		ops[i] = (struct store_op){ .op = STORE_SET,
		    .key = { keys[i], lens[i] }, .val = SPAN_LIT("v") };
	}
	if ((s = store_open(spec, NULL, &e)) == NULL ||
	    store_batch(s, ops, ORDER_KEYS, &e) == -1) {
		ok(0, "order: write: %s", e.msg);
		free(ops);
		return;
	}
	store_close(&s);

	/* LMDB itself, with its default comparison */
	if (mdb_env_create(&env) != 0) {
		ok(0, "order: mdb_env_create");
		free(ops);
		return;
	}
	(void)mdb_env_set_maxdbs(env, 2);
	rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc == 0 && (rc = mdb_dbi_open(txn, "kv", 0, &dbi)) == 0) {
		for (i = 0; i < ORDER_KEYS; i++) {
			k = (MDB_val){ lens[i], keys[i] };
			missing += mdb_get(txn, dbi, &k, &d) != 0;
		}
		if (mdb_cursor_open(txn, dbi, &c) == 0) {
			while (mdb_cursor_get(c, &k, &d, MDB_NEXT) == 0) {
				size_t n = k.mv_size < prev.mv_size ?
				    k.mv_size : prev.mv_size;
				/* the first key has no predecessor */
				int cmp = seen == 0 || n == 0 ? 0 :
				    memcmp(prev.mv_data, k.mv_data, n);

				if (seen++ > 0 && (cmp > 0 || (cmp == 0 &&
				    prev.mv_size >= k.mv_size)))
					unordered++;
				prev = k;
			}
			mdb_cursor_close(c);
		}
		mdb_txn_abort(txn);
	} else if (rc == 0)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	ok(rc == 0 && missing == 0 && unordered == 0 && seen > 0,
	    "order: LMDB's own comparison finds all %d keys (%zu missing) "
	    "in memcmp order (%zu out of order)", ORDER_KEYS, missing,
	    unordered);

	/* and sluice reads back every key */
	for (i = 0; i < ORDER_KEYS; i++)
		ops[i] = (struct store_op){ .op = STORE_GET,
		    .key = { keys[i], lens[i] } };
	missing = 0;
	if ((s = store_open(spec, NULL, &e)) != NULL &&
	    store_batch(s, ops, ORDER_KEYS, &e) == 0)
		for (i = 0; i < ORDER_KEYS; i++)
			missing += !ops[i].found;
	else
		missing = ORDER_KEYS;
	store_close(&s);
	ok(missing == 0, "order: the store reads back all %d keys (%zu "
	    "missing)", ORDER_KEYS, missing);
	free(ops);
	rm_rf(dir);
}

static void
run_lmdb(void)
{
	char dir[PATH_MAX], spec[PATH_MAX + 8], key[32];
	struct store_op ops[4];
	struct buf v = BUF_INIT;
	struct store *s, *s2;
	struct err e;
	size_t i, j;
	pid_t pid;
	int st, good;
	long n;

	/* 100 MiB through a map that starts at 1 MiB. */
	xfmt(dir, sizeof dir, "%s/grow", scratch);
	xfmt(spec, sizeof spec, "lmdb:%s", dir);
	store_lmdb_set_map_size(1024 * 1024);
	if ((s = store_open(spec, NULL, &e)) == NULL) {
		ok(0, "grow: open: %s", e.msg);
		return;
	}
	for (i = 0; i < sizeof big_val; i++)
		big_val[i] = (char)(i * 31 + 7);
	good = 1;
	for (i = 0; i < 25 && good; i++) {
		for (j = 0; j < 4; j++) {
			xfmt(key, sizeof key, "big%zu", i * 4 + j);
			memset(&ops[j], 0, sizeof ops[j]);
			ops[j].op = STORE_SET;
			ops[j].key = (struct span){ xstrdup(key), strlen(key) };
			ops[j].val = (struct span){ big_val, sizeof big_val };
		}
		if (store_batch(s, ops, 4, &e) == -1) {
			diag("batch %zu: %s", i, e.msg);
			good = 0;
		}
		for (j = 0; j < 4; j++)
			free((char *)ops[j].key.p);
	}
	ok(good, "100 MiB written through a 1 MiB initial map");
	ok(file_size(dir) >= 100L * 1024 * 1024,
	    "data file grew to %lld bytes", (long long)file_size(dir));
	ok(store_get(s, SPAN_LIT("big99"), &v, &e) == 1 &&
	    v.len == sizeof big_val && memcmp(v.data, big_val, v.len) == 0,
	    "last value reads back");

	/* Another process grows the map under our open handle. */
	fflush(stdout);
	if ((pid = fork()) == 0) {
		struct store *c = store_open(spec, NULL, &e);
		int code = c == NULL;

		for (i = 0; c != NULL && i < 40; i++) {
			xfmt(key, sizeof key, "child%zu", i);
			if (store_set(c, (struct span){ key, strlen(key) },
			    (struct span){ big_val, sizeof big_val }, 0,
			    &e) == -1) {
				fprintf(stderr, "child: %s\n", e.msg);
				code = 1;
				break;
			}
		}
		store_close(&c);
		_exit(code);
	}
	ok(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "child wrote 40 MiB more");
	buf_reset(&v);
	err_clear(&e);
	ok(store_get(s, SPAN_LIT("child39"), &v, &e) == 1 &&
	    v.len == sizeof big_val, "parent reads after the child grew the "
	    "map (%s)", e.msg);
	ok(store_set(s, SPAN_LIT("after"), SPAN_LIT("1"), 0, &e) == 0,
	    "parent writes after the child grew the map (%s)", e.msg);
	/* A second handle on the same directory shares the environment. */
	s2 = store_open(spec, NULL, &e);
	buf_reset(&v);
	ok(s2 != NULL && store_get(s2, SPAN_LIT("after"), &v, &e) == 1,
	    "second handle in one process");
	store_close(&s2);
	buf_reset(&v);
	ok(store_get(s, SPAN_LIT("after"), &v, &e) == 1,
	    "first handle still works after the second closed");
	store_close(&s);
	store_lmdb_set_map_size(0);
	rm_rf(dir);

	/* A process killed inside a write transaction (holding LMDB's
	 * writer mutex) must not wedge the store, and its writes vanish. */
	xfmt(dir, sizeof dir, "%s/killed", scratch);
	xfmt(spec, sizeof spec, "lmdb:%s", dir);
	if ((s = store_open(spec, NULL, &e)) == NULL ||
	    store_set(s, SPAN_LIT("k"), SPAN_LIT("1"), 0, &e) == -1) {
		ok(0, "killed: open: %s", e.msg);
		return;
	}
	store_close(&s);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_val k = { 4, (void *)"dead" }, d = { 1, (void *)"x" };

		if (mdb_env_create(&env) != 0 ||
		    mdb_env_set_maxdbs(env, 2) != 0 ||
		    mdb_env_open(env, dir, MDB_NOTLS, 0600) != 0 ||
		    mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
		    mdb_dbi_open(txn, "kv", 0, &dbi) != 0 ||
		    mdb_put(txn, dbi, &k, &d, 0) != 0)
			_exit(1);
		raise(SIGKILL);
		_exit(1);
	}
	ok(pid > 0 && waitpid(pid, &st, 0) == pid && WIFSIGNALED(st),
	    "writer killed holding the write lock");
	s = store_open(spec, NULL, &e);
	err_clear(&e);
	ok(s != NULL && store_incr(s, SPAN_LIT("k"), 1, 0, NULL, &e) == 0,
	    "next writer proceeds (%s)", e.msg);
	ok(s != NULL && store_get(s, SPAN_LIT("dead"), NULL, &e) == 0,
	    "the dead writer's put is gone");
	store_close(&s);
	rm_rf(dir);

	/* The sweep removes expired entries as writes go by. */
	xfmt(dir, sizeof dir, "%s/sweep", scratch);
	xfmt(spec, sizeof spec, "lmdb:%s", dir);
	store_set_clock(fake_clock);
	if ((s = store_open(spec, NULL, &e)) == NULL) {
		ok(0, "sweep: open: %s", e.msg);
		return;
	}
	for (i = 0; i < 300; i++) {
		xfmt(key, sizeof key, "exp%03zu", i);
		(void)store_set(s, (struct span){ key, strlen(key) },
		    SPAN_LIT("v"), 1, &e);
	}
	(void)store_set(s, SPAN_LIT("keep"), SPAN_LIT("v"), 0, &e);
	store_close(&s);
	n = count_entries(dir);
	ok(n == 301, "301 entries before expiry (%ld)", n);
	fake_now += 2;
	s = store_open(spec, NULL, &e);
	for (i = 0; s != NULL && i < 12; i++)
		(void)store_set(s, SPAN_LIT("w"), SPAN_LIT("v"), 0, &e);
	store_close(&s);
	n = count_entries(dir);
	ok(n == 2, "12 writes swept 300 expired entries (%ld left)", n);
	store_set_clock(NULL);
	buf_free(&v);
}

/* ---- bench ---- */

static double
now_s(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int
bench(void)
{
	char spec[PATH_MAX + 8], key[32];
	struct buf v = BUF_INIT;
	struct store_op *ops;
	struct store *s;
	struct err e;
	double t;
	size_t i, n = 2000, nb = 100000;

	xfmt(spec, sizeof spec, "lmdb:%s/bench", scratch);
	if ((s = store_open(spec, NULL, &e)) == NULL) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	t = now_s();
	for (i = 0; i < n; i++) {
		xfmt(key, sizeof key, "key%zu", i);
		if (store_set(s, (struct span){ key, strlen(key) },
		    SPAN_LIT("some value of 32 bytes.........."), 3600,
		    &e) == -1) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
	}
	t = now_s() - t;
	printf("set (one commit each): %zu in %.3fs = %.0f ops/s\n", n, t,
	    (double)n / t);
	ops = xcalloc(nb, sizeof *ops);
	for (i = 0; i < nb; i++) {
		char *k = xmalloc(32);

		xfmt(k, 32, "bkey%zu", i);
		ops[i].op = STORE_SET;
		ops[i].key = (struct span){ k, strlen(k) };
		ops[i].val = SPAN_LIT("some value of 32 bytes..........");
	}
	t = now_s();
	for (i = 0; i < nb; i += 1000)
		if (store_batch(s, ops + i, 1000, &e) == -1) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
	t = now_s() - t;
	printf("set (batches of 1000): %zu in %.3fs = %.0f ops/s\n", nb, t,
	    (double)nb / t);
	t = now_s();
	for (i = 0; i < nb; i++) {
		buf_reset(&v);
		if (store_get(s, ops[i].key, &v, &e) != 1) {
			fprintf(stderr, "get %zu: %s\n", i, e.msg);
			return 1;
		}
	}
	t = now_s() - t;
	printf("get (one txn each): %zu in %.3fs = %.0f ops/s\n", nb, t,
	    (double)nb / t);
	for (i = 0; i < nb; i++)
		free((char *)ops[i].key.p);
	free(ops);
	buf_free(&v);
	store_close(&s);
	return 0;
}

static double
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

/*
 * What only Redis has: key prefixes (namespaces), the unix socket form,
 * a deadline when the server hangs, reconnecting after a restart, and
 * the all-or-nothing batch against a concurrent writer.
 */
static void
run_redis(void)
{
	char spec[PATH_MAX + 64], spec2[128];
	struct store *a = NULL, *b = NULL, *u = NULL;
	struct buf v = BUF_INIT;
	struct err e;
	long long n = 0;
	double t0, dt;
	int rc;

	xfmt(spec, sizeof spec, "redis://127.0.0.1:%d/3?prefix=one:",
	    redis_port);
	xfmt(spec2, sizeof spec2, "redis://127.0.0.1:%d/3?prefix=two:"
	    "&timeout=300", redis_port);
	if ((a = store_open(spec, NULL, &e)) == NULL ||
	    (b = store_open(spec2, NULL, &e)) == NULL) {
		ok(0, "redis: open with prefixes: %s", e.msg);
		goto out;
	}
	ok(store_set(a, SPAN_LIT("k"), SPAN_LIT("from-one"), 0, &e) == 0,
	    "redis: set under prefix one:");
	ok(store_get(b, SPAN_LIT("k"), &v, &e) == 0,
	    "redis: prefix two: does not see prefix one:'s key");
	ok(store_get(a, SPAN_LIT("k"), &v, &e) == 1 &&
	    strcmp(v.data, "from-one") == 0, "redis: prefix one: sees it");

	xfmt(spec, sizeof spec, "redis+unix:%s?db=3&prefix=one:", redis_sock);
	if ((u = store_open(spec, NULL, &e)) == NULL) {
		ok(0, "redis: unix socket: %s", e.msg);
	} else {
		buf_reset(&v);
		ok(store_get(u, SPAN_LIT("k"), &v, &e) == 1 &&
		    strcmp(v.data, "from-one") == 0,
		    "redis: the unix socket form reaches the same database");
		store_close(&u);
	}

	/* A hung server (SIGSTOP): the call fails within the deadline. */
	(void)kill(redis_pid, SIGSTOP);
	t0 = now_ms();
	rc = store_incr(b, SPAN_LIT("hang"), 1, 0, &n, &e);
	dt = now_ms() - t0;
	(void)kill(redis_pid, SIGCONT);
	ok(rc == -1 && e.cls == ERR_TEMP, "redis: hung server -> ERR_TEMP "
	    "(%s)", e.msg);
	ok(dt < 1500, "redis: ... within the 300 ms deadline (%.0f ms)", dt);
	ok(store_incr(b, SPAN_LIT("hang"), 1, 0, &n, &e) == 0 && n >= 1,
	    "redis: the next call reconnects (%s)", rc == 0 ? "" : e.msg);

	/* Restart: calls fail while it is down, work again after. */
	redis_stop(SIGTERM);
	rc = store_set(a, SPAN_LIT("k"), SPAN_LIT("x"), 0, &e);
	ok(rc == -1 && e.cls == ERR_TEMP, "redis: server down -> ERR_TEMP "
	    "(%s)", e.msg);
	if (redis_start(scratch, 0) == -1) {
		ok(0, "redis: restart the server");
		goto out;
	}
	ok(store_set(a, SPAN_LIT("k"), SPAN_LIT("again"), 0, &e) == 0,
	    "redis: after a restart the same handle works again (%s)",
	    e.msg);

	/* A failing INCR (not an integer) writes nothing of its batch. */
	{
		struct store_op ops[3] = {
			{ .op = STORE_SET, .key = SPAN_LIT("p"),
			  .val = SPAN_LIT("1") },
			{ .op = STORE_SET, .key = SPAN_LIT("txt"),
			  .val = SPAN_LIT("abc") },
			{ .op = STORE_INCR, .key = SPAN_LIT("txt"),
			  .delta = 1 },
		};

		ok(store_batch(a, ops, 3, &e) == -1, "redis: batch with a "
		    "bad INCR fails");
		ok(store_get(a, SPAN_LIT("p"), NULL, &e) == 0,
		    "redis: ... and wrote nothing");
	}
out:
	buf_free(&v);
	store_close(&a);
	store_close(&b);
}

int
main(int argc, char **argv)
{
	struct backend backends[2];
	const char *tmp = getenv("TMPDIR");
	size_t i, nb = 0;
	int ret;

	xfmt(scratch, sizeof scratch, "%s/test-store.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		perror(scratch);
		return 2;
	}
	if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
		ret = bench();
		rm_rf(scratch);
		return ret;
	}
	memset(long_key, 'K', sizeof long_key);
	for (i = 0; i < sizeof big_val; i++)
		big_val[i] = (char)(i * 131 + (i >> 8));

	/* Every backend runs the same suite on an empty store. The Redis
	 * backend adds its row here (own server on loopback, fake_clock 0). */
	backends[nb].name = "lmdb";
	xfmt(backends[nb].spec, sizeof backends[nb].spec, "lmdb:%s/suite",
	    scratch);
	backends[nb].fake_clock = 1;
	nb++;
	/* Redis keeps time itself: its TTL rows sleep. */
	if (redis_start(scratch, 0) == -1) {
		ok(0, "redis-server starts on 127.0.0.1 (is redis-server "
		    "installed? tests/install-deps.sh installs it)");
	} else {
		backends[nb].name = "redis";
		xfmt(backends[nb].spec, sizeof backends[nb].spec,
		    "redis://127.0.0.1:%d/1", redis_port);
		backends[nb].fake_clock = 0;
		nb++;
	}
	for (i = 0; i < nb; i++)
		run_suite(&backends[i]);
	if (redis_pid > 0)
		run_redis();
	redis_stop(SIGTERM);

	run_specs();
	run_lmdb();
	run_lmdb_order();
	rm_rf(scratch);
	return tap_done();
}
