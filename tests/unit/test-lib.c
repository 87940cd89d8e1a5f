/*
 * test-lib.c - buffers, arena, errors and exit codes, configuration,
 * log quoting, SHA-256.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/arena.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/err.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/sha256.h"
#include "tap.h"

static void
test_buf(void)
{
	struct buf b = BUF_INIT;
	char small[8];
	size_t i;

	buf_add(&b, "a\0b", 3);
	is_int((long long)b.len, 3, "buf: NUL bytes are counted");
	ok(b.data[3] == '\0', "buf: data stays NUL-terminated");
	for (i = 0; i < 100000; i++)
		buf_addc(&b, 'x');
	is_int((long long)b.len, 100003, "buf: grows");
	buf_reset(&b);
	buf_addf(&b, "%d-%s", 42, "x");
	is_str(b.data, "42-x", "buf: addf");
	buf_free(&b);
	ok(b.data == NULL && b.len == 0, "buf: free empties");
	is_int(buf_fmt(small, sizeof small, "%s", "1234567"), 0, "buf_fmt: fits");
	is_int(buf_fmt(small, sizeof small, "%s", "12345678"), -1,
	    "buf_fmt: truncation is an error");
	ok(mem_ieq("Subject", 7, "SUBJECT", 7), "mem_ieq: case-insensitive");
	ok(!mem_ieq("Subject", 7, "Subjec", 6), "mem_ieq: length matters");
	ok(mem_find("abcabd", 6, "abd", 3) != NULL, "mem_find: found");
	ok(mem_find("abcabc", 6, "abd", 3) == NULL, "mem_find: absent");
}

static void
test_arena(void)
{
	struct arena *a = arena_new();
	char *p, *big;
	size_t i;
	int aligned = 1;

	for (i = 0; i < 10000; i++) {
		p = arena_alloc(a, i % 37 + 1);
		if ((uintptr_t)p % 16 != 0)
			aligned = 0;
		memset(p, 'x', i % 37 + 1);
	}
	ok(aligned, "arena: 16-byte alignment");
	big = arena_alloc(a, 1 << 20);
	memset(big, 0, 1 << 20);
	p = arena_strndup(a, "a\0bc", 4);
	ok(memcmp(p, "a\0bc", 5) == 0, "arena: strndup keeps NUL bytes");
	ok(arena_used(a) >= (1 << 20), "arena: accounts big blocks");
	arena_free(&a);
	ok(a == NULL, "arena: free sets NULL");
}

static const struct {
	enum err_class cls;
	int code;
} exit_rows[] = {
	{ ERR_NONE, EX_OK }, { ERR_TEMP, EX_TEMPFAIL },
	{ ERR_INTERNAL, EX_TEMPFAIL }, { ERR_CONFIG, EX_TEMPFAIL },
	{ ERR_PERM, EX_NOPERM }, { ERR_NOUSER, EX_NOUSER },
	{ ERR_USAGE, EX_USAGE },
};

static void
test_err(void)
{
	struct err e;
	size_t i;

	/* DESIGN.md: 75 for everything that is not a policy decision. */
	for (i = 0; i < sizeof exit_rows / sizeof exit_rows[0]; i++) {
		err_clear(&e);
		if (exit_rows[i].cls != ERR_NONE)
			err_set(&e, exit_rows[i].cls, "x");
		is_int(err_exit_code(&e), exit_rows[i].code, "exit code for %s",
		    err_class_name(exit_rows[i].cls));
	}
	is_int(err_sys(&e, ENOSPC, "write %s", "f"), -1, "err_sys returns -1");
	is_int(e.cls, ERR_TEMP, "ENOSPC is temporary");
	is_str(e.status, "4.3.1", "ENOSPC: 4.3.1 mail system full");
	ok(strstr(e.msg, "write f: ") == e.msg, "err_sys: message then strerror");
	err_sys(&e, EDQUOT, "x");
	is_str(e.status, "4.2.2", "EDQUOT: 4.2.2 mailbox full");
	err_sys(&e, EIO, "x");
	is_str(e.status, "4.3.0", "EIO: 4.3.0");
	err_status(&e, ERR_PERM, "5.7.1", "no");
	is_str(e.status, "5.7.1", "explicit status");
}

struct conf_row {
	const char *text;
	int ret;
	const char *errpart;
};

static const struct conf_row conf_rows[] = {
	{ "", 0, NULL },
	{ "# comment\n\n   \n", 0, NULL },
	{ "maildir = ~/Mail\n", 0, NULL },
	{ "maildir=/var/mail/x\n", 0, NULL },
	{ "lda_mailbox_autocreate = no\n", 0, NULL },
	{ "lda_mailbox_autocreate = maybe\n", -1, ":1: lda_mailbox_autocreate: expected yes or no" },
	{ "deliver_timeout = 5m\n", 0, NULL },
	{ "deliver_timeout = 0\n", -1, ":1: deliver_timeout" },
	{ "deliver_timeout = 99999999999999999999\n", -1, ":1: deliver_timeout" },
	{ "mailbox_separator = /\n", 0, NULL },
	{ "mailbox_separator = :\n", -1, ":1: mailbox_separator" },
	{ "\n\nbogus = 1\n", -1, ":3: unknown setting \"bogus\"" },
	{ "just words\n", -1, ":1: expected \"key = value\"" },
};

static void
test_conf(void)
{
	char path[64];
	size_t i;

	(void)snprintf(path, sizeof path, "/tmp/test-lib.%ld.conf",
	    (long)getpid());
	for (i = 0; i < sizeof conf_rows / sizeof conf_rows[0]; i++) {
		const struct conf_row *r = &conf_rows[i];
		struct conf c;
		struct err e;
		FILE *fp = fopen(path, "w");

		fputs(r->text, fp);
		fclose(fp);
		conf_init(&c);
		err_clear(&e);
		is_int(conf_load(&c, path, 1, &e), r->ret, "conf row %zu: %s",
		    i, r->ret ? "rejected" : "accepted");
		if (r->errpart != NULL)
			ok(strstr(e.msg, r->errpart) != NULL &&
			    e.cls == ERR_CONFIG, "conf row %zu: error \"%s\" "
			    "(got \"%s\")", i, r->errpart, e.msg);
		conf_free(&c);
	}
	{
		struct conf c;
		struct err e;
		FILE *fp = fopen(path, "w");

		fputs("maildir = /srv/mail\ndeliver_timeout = 2m\n"
		    "mailbox_separator = /\nquota_full_tempfail = yes\n", fp);
		fclose(fp);
		conf_init(&c);
		(void)conf_load(&c, path, 1, &e);
		is_str(c.maildir, "/srv/mail", "conf: maildir value");
		is_int(c.deliver_timeout, 120, "conf: 2m is 120 s");
		is_int(c.mailbox_separator, '/', "conf: separator");
		is_int(c.quota_full_tempfail, 1, "conf: boolean");
		conf_free(&c);
	}
	{
		struct conf c;
		struct err e;

		conf_init(&c);
		unlink(path);
		is_int(conf_load(&c, path, 0, &e), 0,
		    "conf: missing default file is fine");
		is_int(conf_load(&c, path, 1, &e), -1,
		    "conf: missing -c file is an error");
		is_int(c.deliver_timeout, LDA_DEFAULT_TIMEOUT,
		    "conf: default deadline");
		conf_free(&c);
	}
	{
		/* A line longer than CONF_MAX_LINE is an error, not a split. */
		struct conf c;
		struct err e;
		FILE *fp = fopen(path, "w");
		size_t k;

		fputs("maildir = /", fp);
		for (k = 0; k < CONF_MAX_LINE + 10; k++)
			fputc('a', fp);
		fputs("\n", fp);
		fclose(fp);
		conf_init(&c);
		is_int(conf_load(&c, path, 1, &e), -1,
		    "conf: line over CONF_MAX_LINE rejected");
		ok(strstr(e.msg, "line too long") != NULL, "conf: says why");
		conf_free(&c);
	}
	unlink(path);
}

static const struct {
	const char *in;
	size_t len;
	size_t dstsz;
	const char *want;
} quote_rows[] = {
	{ "plain", 5, 64, "plain" },
	{ "a\nb", 3, 64, "a\\x0ab" },
	{ "nul\0x", 5, 64, "nul\\x00x" },
	{ "\"q\\", 3, 64, "\\x22q\\x5c" },
	{ "\xc3\xa9", 2, 64, "\\xc3\\xa9" },
	{ "abcdefghijklmnop", 16, 10, "abcdef..." },
	{ "\n\n\n\n", 4, 12, "\\x0a\\x0a..." },
};

static void
test_quote(void)
{
	char dst[64];
	size_t i;

	for (i = 0; i < sizeof quote_rows / sizeof quote_rows[0]; i++)
		is_str(log_quote(dst, quote_rows[i].dstsz, quote_rows[i].in,
		    quote_rows[i].len), quote_rows[i].want, "log_quote row %zu",
		    i);
}

/* FIPS 180-2 appendix B and the NIST example vectors; the lengths
 * around 55/56/64 exercise both padding branches, and the split updates
 * the buffering across blocks. */
static const struct {
	const char *in;
	size_t rep;		/* the input repeated this often */
	const char *want;
} sha_rows[] = {
	{ "", 1,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", 1,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "a", 1000000,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 1,
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
};

static void
test_sha256(void)
{
	unsigned char d[SHA256_LEN], d2[SHA256_LEN];
	char hex[SHA256_HEXLEN + 1];
	struct sha256 c;
	size_t i, k, len;

	for (i = 0; i < sizeof sha_rows / sizeof sha_rows[0]; i++) {
		len = strlen(sha_rows[i].in);
		sha256_init(&c);
		for (k = 0; k < sha_rows[i].rep; k++)
			sha256_update(&c, sha_rows[i].in, len);
		sha256_final(&c, d);
		is_str(sha256_hex(d, hex), sha_rows[i].want, "sha256 row %zu",
		    i);
		if (sha_rows[i].rep != 1)
			continue;
		/* byte by byte gives the same digest as one call */
		sha256_init(&c);
		for (k = 0; k < len; k++)
			sha256_update(&c, sha_rows[i].in + k, 1);
		sha256_final(&c, d2);
		sha256(sha_rows[i].in, len, d);
		ok(memcmp(d, d2, sizeof d) == 0, "sha256 row %zu: split updates",
		    i);
	}
}

int
main(void)
{
	test_buf();
	test_arena();
	test_err();
	test_conf();
	test_quote();
	test_sha256();
	return tap_done();
}
