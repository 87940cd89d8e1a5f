/*
 * codec.c - base64 (RFC 2045 6.8) and quoted-printable (RFC 2045 6.7,
 * RFC 2047 4.2) decoders. Both are lenient, as mail needs: what cannot be
 * decoded is skipped (base64) or kept as written (QP), never an error.
 */
#include "msg.h"

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void
base64_decode(struct buf *out, const char *p, size_t len)
{
	unsigned long acc = 0;
	unsigned bits = 0;
	size_t i;
	int v;

	buf_reserve(out, len / 4 * 3 + 3);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '=') {
			/*
			 * Padding ends a quantum; partial bits are dropped.
			 * Some mailers glue encoded chunks together, so
			 * decoding goes on after it.
			 */
			acc = 0;
			bits = 0;
			continue;
		}
		/* RFC 2045 6.8: characters outside the alphabet are ignored. */
		if ((v = b64_value(c)) == -1)
			continue;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(out, (int)((acc >> bits) & 0xff));
			acc &= (1UL << bits) - 1;
		}
	}
	/* Missing padding: whole bytes were emitted; the rest is noise. */
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;	/* lower case is not RFC but common */
	return -1;
}

void
qp_decode(struct buf *out, const char *p, size_t len, int is_header)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i, j;
	int hi, lo;

	buf_reserve(out, len);
	for (i = 0; i < len; i++) {
		if (s[i] == '=') {
			if (i + 2 < len && (hi = hex_value(s[i + 1])) != -1 &&
			    (lo = hex_value(s[i + 2])) != -1) {
				buf_addc(out, hi << 4 | lo);
				i += 2;
				continue;
			}
			/* RFC 2045 6.7 rule 5: "=" WSP* EOL is a soft break. */
			for (j = i + 1; j < len && (s[j] == ' ' || s[j] == '\t');
			    j++)
				;
			if (j == len) {
				i = j;
				continue;
			}
			if (s[j] == '\n' || s[j] == '\r') {
				if (s[j] == '\r' && j + 1 < len && s[j + 1] == '\n')
					j++;
				i = j;
				continue;
			}
			/* A bad escape is kept as written. */
			buf_addc(out, '=');
			continue;
		}
		if (is_header && s[i] == '_') {
			/* RFC 2047 4.2 (2): "_" is a space in headers. */
			buf_addc(out, ' ');
			continue;
		}
		if (!is_header && (s[i] == ' ' || s[i] == '\t')) {
			/* RFC 2045 6.7 rule 3: trailing WSP was added in
			 * transport and is deleted. */
			for (j = i; j < len && (s[j] == ' ' || s[j] == '\t'); j++)
				;
			if (j < len && s[j] != '\n' && s[j] != '\r')
				buf_add(out, s + i, j - i);
			i = j - 1;
			continue;
		}
		buf_addc(out, s[i]);
	}
}
