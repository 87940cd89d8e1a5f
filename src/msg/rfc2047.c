/*
 * rfc2047.c - decode RFC 2047 encoded words into UTF-8.
 *
 * Lenient where real mailers are sloppy: encoded words glued to each other
 * or to text are decoded, words longer than 75 bytes are accepted, and the
 * bytes of adjacent words in one charset are joined before conversion
 * (mailers split multi-byte characters across words). What does not
 * decode is kept as written. Linear: a failed candidate word never makes
 * the scanner look at the same text again more than a bounded number of
 * times (see struct ew_memo).
 */
#include <string.h>
#include <strings.h>

#include "lib/limits.h"
#include "msg.h"


struct ew {
	const char *cs;		/* charset, language stripped */
	size_t cslen;
	int enc;		/* 'B' or 'Q' */
	const char *text;
	size_t textlen;
	size_t len;		/* whole word, "=?" to "?=" */
};

/*
 * [lo, hi) holds no "?=" and no white space or control byte, and hi is
 * one of those or the end: a word whose text starts in [lo, hi) cannot
 * end before hi and so cannot end at all.
 */
struct ew_memo {
	size_t lo, hi;
};

static int
is_ew_stop(unsigned char c)
{
	return c <= ' ' || c == 0x7f;
}

/* RFC 2047 2: token = 1*<any CHAR except SPACE, CTLs, and especials> */
static int
is_token_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && strchr("()<>@,;:\"/[]?.=", c) == NULL;
}

/*
 * encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
 * at p + off (p[off] == '=', p[off + 1] == '?'). 0 and *ew, or -1.
 */
static int
ew_parse(const char *p, size_t len, size_t off, struct ew *ew,
    struct ew_memo *memo)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = off + 2, t;

	ew->cs = p + i;
	while (i < len && i - off - 2 <= MSG_MAX_CHARSET_NAME && is_token_char(s[i]))
		i++;
	ew->cslen = (size_t)(p + i - ew->cs);
	if (ew->cslen == 0 || ew->cslen > MSG_MAX_CHARSET_NAME || i + 3 > len ||
	    s[i] != '?')
		return -1;
	/* RFC 2231 5: charset*language; the language is of no use here. */
	if (memchr(ew->cs, '*', ew->cslen) != NULL)
		ew->cslen = (size_t)((const char *)memchr(ew->cs, '*',
		    ew->cslen) - ew->cs);
	if (ew->cslen == 0)
		return -1;
	ew->enc = s[i + 1] & ~0x20;
	if ((ew->enc != 'B' && ew->enc != 'Q') || s[i + 2] != '?')
		return -1;
	t = i + 3;
	if (t >= memo->lo && t < memo->hi)
		return -1;
	for (i = t; i < len; i++) {
		if (i == memo->lo) {
			/* Known dead end from here on. */
			memo->lo = t;
			return -1;
		}
		if (is_ew_stop(s[i]))
			break;
		if (s[i] == '?' && i + 1 < len && s[i + 1] == '=') {
			ew->text = p + t;
			ew->textlen = i - t;
			ew->len = i + 2 - off;
			return 0;
		}
	}
	memo->lo = t;
	memo->hi = i;
	return -1;
}

static size_t
room(const struct buf *out, size_t base)
{
	return out->len - base >= MSG_MAX_DECODED ? 0 :
	    MSG_MAX_DECODED - (out->len - base);
}

/* Append at most the room left under the cap. */
static void
add_capped(struct buf *out, size_t base, const char *p, size_t n)
{
	size_t r = room(out, base);

	if (n > r)
		n = r;
	if (n > 0)
		buf_add(out, p, n);
}

/* Convert the joined bytes of adjacent words and append them. */
static void
flush_words(struct buf *out, size_t base, struct buf *raw, const char *cs)
{
	struct buf utf = BUF_INIT;

	if (raw->len == 0)
		return;
	charset_to_utf8(&utf, cs, raw->data, raw->len);
	/* Do not cut a UTF-8 sequence in half at the cap. */
	if (utf.len > room(out, base)) {
		size_t n = room(out, base);

		while (n > 0 && ((unsigned char)utf.data[n] & 0xc0) == 0x80)
			n--;
		utf.len = n;
	}
	add_capped(out, base, utf.data, utf.len);
	buf_free(&utf);
	buf_reset(raw);
}

static int
charset_known(const char *cs)
{
	struct buf tmp = BUF_INIT;
	int r;

	r = charset_to_utf8(&tmp, cs, "", 0);
	buf_free(&tmp);
	return r == 0;
}

void
rfc2047_decode(struct buf *out, const char *p, size_t len)
{
	struct ew_memo memo = { 0, 0 };
	struct buf raw = BUF_INIT;
	char cs[MSG_MAX_CHARSET_NAME + 1] = "";
	size_t i = 0, ws = 0, nws = 0, base = out->len;
	int after_word = 0;
	struct ew ew;

	buf_reserve(out, len < MSG_MAX_DECODED ? len : MSG_MAX_DECODED);
	while (i < len && room(out, base) > 0) {
		if (p[i] == '=' && i + 1 < len && p[i + 1] == '?' &&
		    ew_parse(p, len, i, &ew, &memo) == 0) {
			char wcs[MSG_MAX_CHARSET_NAME + 1];

			memcpy(wcs, ew.cs, ew.cslen);
			wcs[ew.cslen] = '\0';
			if (!charset_known(wcs)) {
				/* Keep it as written (with what preceded). */
				flush_words(out, base, &raw, cs);
				add_capped(out, base, p + ws, nws);
				nws = 0;
				add_capped(out, base, p + i, ew.len);
				after_word = 0;
				i += ew.len;
				continue;
			}
			/* RFC 2047 6.2: white space between adjacent encoded
			 * words is not displayed. */
			if (!after_word || strcasecmp(cs, wcs) != 0) {
				flush_words(out, base, &raw, cs);
				if (!after_word)
					add_capped(out, base, p + ws, nws);
				memcpy(cs, wcs, ew.cslen + 1);
			}
			nws = 0;
			if (ew.enc == 'B')
				base64_decode(&raw, ew.text, ew.textlen);
			else
				qp_decode(&raw, ew.text, ew.textlen, 1);
			after_word = 1;
			i += ew.len;
			continue;
		}
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
		    p[i] == '\n') {
			/* Held back: dropped if an encoded word follows one. */
			if (nws == 0)
				ws = i;
			nws++;
			i++;
			continue;
		}
		flush_words(out, base, &raw, cs);
		after_word = 0;
		add_capped(out, base, p + ws, nws);
		nws = 0;
		add_capped(out, base, p + i, 1);
		i++;
	}
	flush_words(out, base, &raw, cs);
	add_capped(out, base, p + ws, nws);
	buf_free(&raw);
}
