/*
 * charset.c - convert text in a declared charset to UTF-8.
 *
 * UTF-8, US-ASCII and ISO-8859-1 are done here (they are most of the mail,
 * and need no iconv state); everything else goes through iconv(3), opened
 * per call: nothing is cached globally, since the milter converts on
 * several threads at once. Every byte that does not convert becomes
 * U+FFFD, so the output is always valid UTF-8.
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>

#include "lib/limits.h"
#include "msg.h"

#define REPLACEMENT	"\xef\xbf\xbd"

enum cs_kind { CS_UNKNOWN, CS_UTF8, CS_ASCII, CS_LATIN1, CS_ICONV };

/* Names mailers use that iconv does not know, or knows under another. */
static const struct {
	const char *alias;
	enum cs_kind kind;
	const char *iconv_name;
} cs_aliases[] = {
	{ "utf-8", CS_UTF8, NULL },
	{ "utf8", CS_UTF8, NULL },
	{ "us-ascii", CS_ASCII, NULL },
	{ "ascii", CS_ASCII, NULL },
	{ "us", CS_ASCII, NULL },
	{ "ansi_x3.4-1968", CS_ASCII, NULL },
	{ "iso-8859-1", CS_LATIN1, NULL },
	{ "iso8859-1", CS_LATIN1, NULL },
	{ "iso_8859-1", CS_LATIN1, NULL },
	{ "latin1", CS_LATIN1, NULL },
	{ "latin-1", CS_LATIN1, NULL },
	{ "l1", CS_LATIN1, NULL },
	/* Labels that promise nothing: refuse rather than guess. */
	{ "x-unknown", CS_UNKNOWN, NULL },
	{ "unknown", CS_UNKNOWN, NULL },
	{ "unknown-8bit", CS_UNKNOWN, NULL },
	{ "x-user-defined", CS_UNKNOWN, NULL },
	{ "default", CS_UNKNOWN, NULL },
	/* Microsoft and others' names for supersets. */
	{ "ks_c_5601-1987", CS_ICONV, "CP949" },
	{ "gb2312", CS_ICONV, "GBK" },
	{ "x-gbk", CS_ICONV, "GBK" },
	{ "x-sjis", CS_ICONV, "SHIFT_JIS" },
	{ "shift-jis", CS_ICONV, "SHIFT_JIS" },
	{ "x-euc-jp", CS_ICONV, "EUC-JP" },
	{ "cp-850", CS_ICONV, "CP850" },
	{ "windows-874", CS_ICONV, "CP874" },
	{ "iso-8859-8-i", CS_ICONV, "ISO-8859-8" },
};

/*
 * Lower-case and check the name into buf. iconv_open() gets only names
 * made of the characters charset names use (RFC 2978), never arbitrary
 * bytes from the message.
 */
static enum cs_kind
cs_lookup(const char *cs, char *buf, size_t bufsz, const char **iconv_name)
{
	size_t i, n;

	*iconv_name = buf;
	while (*cs == ' ' || *cs == '\t' || *cs == '"')
		cs++;
	for (n = 0; cs[n] != '\0' && cs[n] != '"' && cs[n] != ' ' &&
	    cs[n] != '\t'; n++) {
		unsigned char c = (unsigned char)cs[n];

		if (n + 1 >= bufsz)
			return CS_UNKNOWN;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-_.:+()", c) != NULL))
			return CS_UNKNOWN;
		buf[n] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	buf[n] = '\0';
	if (n == 0)
		return CS_UNKNOWN;
	for (i = 0; i < sizeof(cs_aliases) / sizeof(cs_aliases[0]); i++) {
		if (strcmp(buf, cs_aliases[i].alias) == 0) {
			if (cs_aliases[i].iconv_name != NULL)
				*iconv_name = cs_aliases[i].iconv_name;
			return cs_aliases[i].kind;
		}
	}
	return CS_ICONV;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629 4), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	size_t n, i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are invalid. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Append p as UTF-8, each invalid byte replaced with U+FFFD. */
static void
add_utf8(struct buf *out, const char *p, size_t len)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, run = 0, n;

	while (i < len) {
		if ((n = utf8_seq(s + i, len - i)) > 0) {
			i += n;
			continue;
		}
		if (i > run)
			buf_add(out, p + run, i - run);
		buf_add(out, REPLACEMENT, 3);
		run = ++i;
	}
	if (i > run)
		buf_add(out, p + run, i - run);
}

static void
add_ascii(struct buf *out, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)p[i] >= 0x80)
			buf_add(out, REPLACEMENT, 3);
		else
			buf_addc(out, p[i]);
	}
}

static void
add_latin1(struct buf *out, const char *p, size_t len)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)p[i];
		if (c < 0x80) {
			buf_addc(out, c);
		} else {
			buf_addc(out, 0xc0 | c >> 6);
			buf_addc(out, 0x80 | (c & 0x3f));
		}
	}
}

static int
add_iconv(struct buf *out, const char *name, const char *p, size_t len)
{
	char tmp[4096], *in = (char *)(uintptr_t)p, *o;
	size_t inleft = len, oleft, r;
	iconv_t cd;

	if ((cd = iconv_open("UTF-8", name)) == (iconv_t)-1)
		return -1;
	for (;;) {
		o = tmp;
		oleft = sizeof(tmp);
		if (inleft > 0)
			r = iconv(cd, &in, &inleft, &o, &oleft);
		else
			r = iconv(cd, NULL, NULL, &o, &oleft);	/* flush state */
		/* iconv's output is trusted no more than the input. */
		add_utf8(out, tmp, (size_t)(o - tmp));
		if (r != (size_t)-1) {
			/* Done once a flush produced nothing more. */
			if (inleft == 0 && o == tmp)
				break;
			continue;
		}
		if (errno == E2BIG)
			continue;
		/* EILSEQ: skip the byte; EINVAL: truncated sequence at the
		 * end. Either way one replacement for the byte. */
		buf_add(out, REPLACEMENT, 3);
		if (errno == EINVAL || inleft == 0) {
			inleft = 0;
			continue;
		}
		in++;
		inleft--;
	}
	iconv_close(cd);
	return 0;
}

int
charset_to_utf8(struct buf *out, const char *cs, const char *p, size_t len)
{
	char name[MSG_MAX_CHARSET_NAME];
	const char *iconv_name;

	switch (cs_lookup(cs != NULL ? cs : "", name, sizeof(name),
	    &iconv_name)) {
	case CS_UTF8:
		add_utf8(out, p, len);
		return 0;
	case CS_ASCII:
		add_ascii(out, p, len);
		return 0;
	case CS_LATIN1:
		add_latin1(out, p, len);
		return 0;
	case CS_ICONV:
		if (add_iconv(out, iconv_name, p, len) == 0)
			return 0;
		break;
	case CS_UNKNOWN:
		break;
	}
	add_ascii(out, p, len);
	return -1;
}
