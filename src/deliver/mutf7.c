/*
 * mutf7.c - IMAP modified UTF-7 (RFC 3501 5.1.3), the on-disk form of
 * non-ASCII Maildir++ folder names as Dovecot writes them.
 *
 * Printable US-ASCII (0x20..0x7e) represents itself, except "&", written
 * "&-". Everything else is UTF-16 (surrogate pairs above U+FFFF) in
 * modified base64 (',' for '/', no padding) between "&" and "-".
 */
#include <stddef.h>
#include <stdint.h>

#include "deliver.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
is_direct(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/*
 * Decode one UTF-8 sequence at p (n bytes left) into *cp. Returns its
 * length, or -1 for anything RFC 3629 forbids: overlong forms,
 * surrogates, values above U+10FFFF, truncated or stray bytes.
 */
static int
utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	int len, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	} else if ((p[0] & 0xe0) == 0xc0) {
		len = 2, c = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3, c = p[0] & 0x0f, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4, c = p[0] & 0x07, min = 0x10000;
	} else
		return -1;
	if ((size_t)len > n)
		return -1;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	return len;
}

static void
utf8_put(struct buf *out, uint32_t c)
{
	if (c < 0x80)
		buf_addc(out, (int)c);
	else if (c < 0x800) {
		buf_addc(out, (int)(0xc0 | (c >> 6)));
		buf_addc(out, (int)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		buf_addc(out, (int)(0xe0 | (c >> 12)));
		buf_addc(out, (int)(0x80 | ((c >> 6) & 0x3f)));
		buf_addc(out, (int)(0x80 | (c & 0x3f)));
	} else {
		buf_addc(out, (int)(0xf0 | (c >> 18)));
		buf_addc(out, (int)(0x80 | ((c >> 12) & 0x3f)));
		buf_addc(out, (int)(0x80 | ((c >> 6) & 0x3f)));
		buf_addc(out, (int)(0x80 | (c & 0x3f)));
	}
}

/* Base64 state: bits not yet written, most significant first. */
struct b64w {
	uint32_t bits;
	unsigned nbits;
};

static void
put16(struct buf *out, struct b64w *w, uint32_t unit)
{
	w->bits = (w->bits << 16) | (unit & 0xffff);
	w->nbits += 16;
	while (w->nbits >= 6) {
		w->nbits -= 6;
		buf_addc(out, b64[(w->bits >> w->nbits) & 0x3f]);
	}
	w->bits &= (1u << w->nbits) - 1;
}

/* Encode len bytes of UTF-8. Appends to out; on -1 out holds garbage
 * after its old length (the caller discards it). */
int
mutf7_encode(struct buf *out, const char *utf8, size_t len)
{
	const unsigned char *p = (const unsigned char *)utf8;
	struct b64w w = { 0, 0 };
	int shifted = 0, n;
	uint32_t c;
	size_t i = 0;

	while (i < len) {
		if (is_direct(p[i])) {
			if (shifted) {
				/* Flush: pad the last sextet with zero bits. */
				if (w.nbits > 0)
					buf_addc(out,
					    b64[(w.bits << (6 - w.nbits)) & 0x3f]);
				buf_addc(out, '-');
				w.bits = 0, w.nbits = 0, shifted = 0;
			}
			if (p[i] == '&')
				buf_add(out, "&-", 2);
			else
				buf_addc(out, p[i]);
			i++;
			continue;
		}
		if ((n = utf8_next(p + i, len - i, &c)) == -1)
			return -1;
		i += (size_t)n;
		if (!shifted) {
			buf_addc(out, '&');
			shifted = 1;
		}
		if (c >= 0x10000) {
			c -= 0x10000;
			put16(out, &w, 0xd800 | (c >> 10));
			put16(out, &w, 0xdc00 | (c & 0x3ff));
		} else
			put16(out, &w, c);
	}
	if (shifted) {
		if (w.nbits > 0)
			buf_addc(out, b64[(w.bits << (6 - w.nbits)) & 0x3f]);
		buf_addc(out, '-');
	}
	if (out->data == NULL)
		buf_add(out, "", 0);	/* empty input: still a C string */
	return 0;
}

static int
b64_value(unsigned char c)
{
	const char *q;

	if (c == 0)
		return -1;
	for (q = b64; *q != '\0'; q++)
		if ((unsigned char)*q == c)
			return (int)(q - b64);
	return -1;
}

/*
 * Decode and validate: direct bytes must be printable ASCII, a shifted
 * run must be non-empty, end in '-', leave fewer than 6 zero bits over,
 * pair its surrogates and not encode characters that must represent
 * themselves (RFC 3501 5.1.3). Returns 0, or -1 on any violation.
 */
int
mutf7_decode(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t bits, unit, high;
	unsigned nbits, nunits;
	size_t i = 0;
	int v;

	while (i < len) {
		if (!is_direct(p[i]))
			return -1;
		if (p[i] != '&') {
			buf_addc(out, p[i++]);
			continue;
		}
		i++;
		if (i < len && p[i] == '-') {
			buf_addc(out, '&');
			i++;
			continue;
		}
		bits = 0, nbits = 0, high = 0, nunits = 0;
		for (;;) {
			if (i >= len)
				return -1;	/* unterminated */
			if (p[i] == '-') {
				i++;
				break;
			}
			if ((v = b64_value(p[i++])) == -1)
				return -1;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			if (nbits < 16)
				continue;
			nbits -= 16;
			unit = (bits >> nbits) & 0xffff;
			bits &= (1u << nbits) - 1;
			nunits++;
			if (high != 0) {
				if (unit < 0xdc00 || unit > 0xdfff)
					return -1;
				utf8_put(out, 0x10000 +
				    ((high - 0xd800) << 10) + (unit - 0xdc00));
				high = 0;
			} else if (unit >= 0xd800 && unit <= 0xdbff)
				high = unit;
			else if ((unit >= 0xdc00 && unit <= 0xdfff) ||
			    is_direct((unsigned char)(unit < 0x80 ? unit : 0)))
				return -1;
			else
				utf8_put(out, unit);
		}
		if (nunits == 0 || high != 0 || nbits >= 6 || bits != 0)
			return -1;
	}
	if (out->data == NULL)
		buf_add(out, "", 0);
	return 0;
}
