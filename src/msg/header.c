/*
 * header.c - index the header block of a message (RFC 5322 2.2, 3.6).
 *
 * Two linear passes over the input: the first finds where the header ends
 * and what is odd about it, the second copies what fits under
 * MSG_MAX_HEADER_BYTES into the arena (line ends normalised to LF) and
 * builds the field index. Nothing here is quadratic: each byte is looked at
 * a bounded number of times, whatever the number or length of the lines.
 */
#include <string.h>

#include "lib/limits.h"
#include "msg.h"

/* RFC 5322 2.1.1: 998 characters per line, excluding the CRLF. */
#define LINE_MAX_RFC	998

/* One input line: [start, start + len) then eol bytes of line end. */
struct line {
	size_t start;
	size_t len;
	size_t eol;		/* 0 (end of input), 1 (LF or CR) or 2 (CRLF) */
};

/*
 * Find the line at off. LF, CRLF and a lone CR all end a line: the stored
 * form has LF, but the milter and tests hand us CRLF, and old Mac mail has
 * bare CR. *bits collects NUL and 8-bit bytes seen.
 */
static void
next_line(const char *p, size_t len, size_t off, struct line *l,
    unsigned *bits)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i;

	l->start = off;
	for (i = off; i < len; i++) {
		if (s[i] == '\n' || s[i] == '\r')
			break;
		if (s[i] == '\0')
			*bits |= MSG_F_NUL;
		else if (s[i] >= 0x80)
			*bits |= MSG_F_8BIT;
	}
	l->len = i - off;
	if (i == len)
		l->eol = 0;
	else if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
		l->eol = 2;
	else
		l->eol = 1;
}

/*
 * RFC 5322 3.6.8: field-name = 1*ftext (printable ASCII but ':'), and
 * obs-optional (4.5.8) allows WSP before the colon. Returns the name length
 * and sets *colon to the colon's offset in the line, or returns 0 when the
 * line is not a field. The scan is bounded by MSG_MAX_NAME, not by the line.
 */
static size_t
field_name(const char *p, size_t len, size_t *colon, int *obs)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i, n;

	for (i = 0; i < len && i <= MSG_MAX_NAME; i++)
		if (s[i] < 33 || s[i] > 126 || s[i] == ':')
			break;
	n = i;
	if (n == 0 || n > MSG_MAX_NAME)
		return 0;
	/* Bounded too: "Name" followed by a megabyte of blanks is no field. */
	while (i < len && i - n <= MSG_MAX_NAME && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i >= len || s[i] != ':')
		return 0;
	*obs = i > n;
	*colon = i;
	return n;
}

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

void
msg_parse_header(struct msg *m, const char *p, size_t len)
{
	struct line l;
	size_t off, end, nfields, copy, i, colon, nlen;
	unsigned bits = 0, flags = 0;
	struct hdr *h = NULL;
	char *dst;
	int obs, in_field;

	m->head = NULL;
	m->head_len = 0;
	m->hdrs = NULL;
	m->nhdrs = 0;
	if (len == 0) {
		m->head = arena_strndup(m->arena, "", 0);
		m->body_off = 0;
		m->flags |= MSG_F_EMPTY | MSG_F_NO_BODY_SEP;
		return;
	}

	/*
	 * Pass 1: where does the header end? end is the offset just past the
	 * last header line, body_off the first body byte.
	 */
	off = 0;
	end = 0;
	nfields = 0;
	in_field = 0;
	copy = 0;
	m->body_off = len;
	for (;;) {
		if (off >= len) {
			/* Input ended inside the header. */
			flags |= MSG_F_NO_BODY_SEP;
			end = len;
			m->body_off = len;
			break;
		}
		next_line(p, len, off, &l, &bits);
		if (l.len == 0) {
			/* RFC 5322 2.1: the empty line separates the body. */
			end = off;
			m->body_off = off + l.eol;
			break;
		}
		if (is_wsp((unsigned char)p[off])) {
			if (!in_field) {
				/* A continuation with no field: not a header. */
				flags |= MSG_F_NO_BODY_SEP | MSG_F_BAD_LINE;
				end = off;
				m->body_off = off;
				break;
			}
		} else if ((nlen = field_name(p + off, l.len, &colon, &obs))
		    == 0) {
			flags |= MSG_F_NO_BODY_SEP | MSG_F_BAD_LINE;
			end = off;
			m->body_off = off;
			break;
		} else {
			if (obs)
				flags |= MSG_F_OBS_SYNTAX;
			nfields++;
			in_field = 1;
		}
		if (l.len > LINE_MAX_RFC)
			flags |= MSG_F_LONG_LINE;
		if (l.eol == 2)
			flags |= MSG_F_CRLF;
		/* What the normalised copy needs: the line and one LF. */
		if (copy <= MSG_MAX_HEADER_BYTES)
			copy += l.len + 1 > MSG_MAX_HEADER_BYTES ?
			    MSG_MAX_HEADER_BYTES + 1 : l.len + 1;
		off += l.len + l.eol;
	}
	/* Only the bytes of the header proper count for NUL/8-bit. */
	bits = 0;
	for (i = 0; i < end; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\0')
			bits |= MSG_F_NUL;
		else if (c >= 0x80)
			bits |= MSG_F_8BIT;
	}
	flags |= bits;
	if (copy > MSG_MAX_HEADER_BYTES) {
		flags |= MSG_F_HDR_TRUNCATED;
		copy = MSG_MAX_HEADER_BYTES;
	}
	if (nfields > MSG_MAX_HEADERS) {
		flags |= MSG_F_TOO_MANY_HDRS;
		nfields = MSG_MAX_HEADERS;
	}

	/*
	 * Pass 2: copy whole lines while they fit, index the fields. A field
	 * whose continuation does not fit keeps the lines that did.
	 */
	dst = m->head = arena_alloc(m->arena, copy + 1);
	m->hdrs = arena_allocarray(m->arena, nfields ? nfields : 1,
	    sizeof(*m->hdrs));
	off = 0;
	in_field = 0;
	while (off < end) {
		next_line(p, end, off, &l, &bits);
		if (l.len + 1 > copy - m->head_len)
			break;
		memcpy(dst + m->head_len, p + off, l.len);
		if (!is_wsp((unsigned char)p[off])) {
			in_field = 0;
			nlen = field_name(p + off, l.len, &colon, &obs);
			if (nlen > 0 && m->nhdrs < nfields) {
				h = &m->hdrs[m->nhdrs++];
				h->name.p = dst + m->head_len;
				h->name.len = nlen;
				h->value.p = dst + m->head_len + colon + 1;
				h->raw.p = dst + m->head_len;
				in_field = 1;
			}
		}
		m->head_len += l.len;
		dst[m->head_len++] = '\n';
		if (in_field) {
			h->value.len = (size_t)(dst + m->head_len - 1 -
			    h->value.p);
			h->raw.len = (size_t)(dst + m->head_len - h->raw.p);
		}
		off += l.len + l.eol;
	}
	if (off < end)
		flags |= MSG_F_HDR_TRUNCATED;
	dst[m->head_len] = '\0';
	m->flags |= flags;
}

const struct hdr *
hdr_find(const struct msg *m, const char *name, int idx)
{
	const struct hdr *last = NULL;
	size_t i, nlen = strlen(name);
	int n = 0;

	for (i = 0; i < m->nhdrs; i++) {
		if (!mem_ieq(m->hdrs[i].name.p, m->hdrs[i].name.len, name, nlen))
			continue;
		if (n++ == idx)
			return &m->hdrs[i];
		last = &m->hdrs[i];
	}
	return idx == -1 ? last : NULL;
}

size_t
hdr_count(const struct msg *m, const char *name)
{
	size_t i, n = 0, nlen = strlen(name);

	for (i = 0; i < m->nhdrs; i++)
		if (mem_ieq(m->hdrs[i].name.p, m->hdrs[i].name.len, name, nlen))
			n++;
	return n;
}

/*
 * RFC 5322 2.2.3: unfolding removes the CRLF before the WSP; then trim.
 * Returns an arena copy (NUL-terminated) and its length, which counts any
 * NUL bytes the value holds.
 */
static char *
unfold(struct arena *a, struct span value, size_t *len_out)
{
	const char *s = value.p;
	size_t i, n = 0, b = 0, e = value.len;
	char *out;

	while (b < e && (is_wsp((unsigned char)s[b]) || s[b] == '\r' ||
	    s[b] == '\n'))
		b++;
	while (e > b && (is_wsp((unsigned char)s[e - 1]) || s[e - 1] == '\r' ||
	    s[e - 1] == '\n'))
		e--;
	out = arena_alloc(a, e - b + 1);
	for (i = b; i < e; i++)
		if (s[i] != '\r' && s[i] != '\n')
			out[n++] = s[i];
	out[n] = '\0';
	*len_out = n;
	return out;
}

char *
hdr_unfold(struct arena *a, struct span value)
{
	size_t n;

	return unfold(a, value, &n);
}

char *
hdr_decode(struct arena *a, struct span value)
{
	struct buf dec = BUF_INIT, utf = BUF_INIT;
	char *u, *out;
	size_t i, n;

	u = unfold(a, value, &n);
	rfc2047_decode(&dec, u, n);
	/* Raw 8-bit text outside encoded words may be anything. */
	charset_to_utf8(&utf, "utf-8", dec.data ? dec.data : "", dec.len);
	/* The result is a C string: a NUL byte would cut it short. */
	buf_reset(&dec);
	for (i = 0; i < utf.len; i++) {
		if (utf.data[i] == '\0')
			buf_add(&dec, "\xef\xbf\xbd", 3);
		else
			buf_addc(&dec, utf.data[i]);
	}
	out = arena_strndup(a, dec.data ? dec.data : "", dec.len);
	buf_free(&dec);
	buf_free(&utf);
	return out;
}
