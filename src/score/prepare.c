/*
 * prepare.c - the message as SpamAssassin 4.0.1 sees it: header values
 * as PerMsgStatus::get() returns them (modifiers, pseudo-headers), the
 * rendered body (Message::get_rendered_body_text_array), rawbody chunks
 * (get_decoded_body_text_array), the full message and the URIs.
 *
 * Everything is computed on first use and kept in the score_msg's own
 * arena. Text is converted to UTF-8 as SpamAssassin does with its default
 * normalize_charset 1 (Message/Node.pm _normalize): all-ASCII stays,
 * valid UTF-8 stays whatever was declared, ISO-8859-1 means Windows-1252,
 * undeclared 8-bit text is guessed as Windows-1252 when it only uses the
 * common Latin-1 letters and punctuation, and is otherwise kept as bytes
 * (SpamAssassin without Encode::Detect, as Debian installs it).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "config.h"
#include "../lib/limits.h"
#include "../lib/log.h"
#include "score-int.h"
#include "score/tlds.h"	/* generated: gen-tlds.sh */

/* SpamAssassin's defaults (Conf.pm, Constants.pm). */
#define SA_BODY_PART_SCAN	50000	/* body_part_scan_size */
#define SA_RAWBODY_PART_SCAN	500000	/* rawbody_part_scan_size */
#define SA_SCAN_SLACK		1024	/* "nearest 1k block is fine" */
#define SA_MAX_BODY_LINE	2048	/* MAX_BODY_LINE_LENGTH */
#define SM_MAX_MODS		8	/* ":mod" suffixes parsed */
#define SM_MAX_RESULTS		4096	/* values of one header lookup */

struct sm_part {
	const struct mime_part *mp;
	const char *type;	/* lower-cased Content-Type value */
	const char *etype;	/* effective type (*.html names: text/html) */
	const char *charset;
	char *decoded;		/* transfer-decoded bytes (Node::decode) */
	size_t dlen;
};

struct score_msg {
	struct msg *m;
	const struct score_conn *conn;
	struct arena *a;
	void *eval_slot;	/* eval.c's per-message cache (arena-owned) */
	void *run_slot;		/* rules.c: the last run's hits */

	struct bayes *bayes;
	int bayes_cached;
	double bayes_p;

	int parts_done;
	struct sm_part *parts;
	size_t nparts;

	int body_done;
	struct span *body;
	size_t nbody;
	struct sm_html *html;
	struct sm_html **html_all;	/* every text/html part (eval.c) */
	size_t nhtml_all, cap_html_all;

	int raw_done;
	struct span *raw;
	size_t nraw;

	int uris_done;
	const char **uris;
	size_t nuris, cap_uris;
	const char **html_uris;	/* from every HTML part */
	size_t nhtml_uris, cap_html_uris;

	int relays_done;
	struct sm_relay *relays;
	size_t nrelays;
	char *relays_str;	/* untrusted = external */
	char *relays_trusted_str;	/* trusted = internal */

	int envf_done;
	char *envf;		/* EnvelopeFrom, or NULL */

	int ext_done;
	long ext_index;		/* relays_external_index() */
};

/* ---- UTF-8 and SpamAssassin's charset normalisation ---- */

/* Length of a valid UTF-8 sequence at s, 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t k, need;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (n < need)
		return 0;
	for (k = 1; k < need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

static int
valid_utf8(const char *p, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		if ((unsigned char)p[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = utf8_len((const unsigned char *)p + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

static int
has_8bit(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

/* The bytes _normalize accepts as a Windows-1252 guess: ASCII, NBSP,
 * SHY, (c), some punctuation and the Latin-1 letters. */
static int
w1252_guess_ok(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned c = (unsigned char)p[i];

		if (c < 0x80 || c == 0xa0 || c == 0xa9 || c == 0xad ||
		    c == 0x82 || c == 0x84 || c == 0x85 ||
		    (c >= 0x91 && c <= 0x97) || c == 0x99 ||
		    (c >= 0xc0 && c <= 0xd6) || (c >= 0xd8 && c <= 0xde) ||
		    (c >= 0xe0 && c <= 0xf6) || (c >= 0xf8 && c <= 0xfe))
			continue;
		return 0;
	}
	return 1;
}

static int
cs_is(const char *cs, const char *name)
{
	return cs != NULL && mem_ieq(cs, strlen(cs), name, strlen(name));
}

/*
 * Message/Node.pm _normalize, appending UTF-8 (or kept bytes) to out.
 * Returns 1 when Perl would now hold characters (decoded: its string is
 * "utf8-flagged", so later joins upgrade other parts' bytes and \s is
 * Unicode), 0 for bytes (all-ASCII, or undecodable and kept).
 */
static int
sa_normalize(struct buf *out, const char *cs, const char *p, size_t n)
{
	struct buf t = BUF_INIT;
	int ret = 1;

	if (!has_8bit(p, n)) {
		buf_add(out, p, n);
		return 0;
	}
	if (valid_utf8(p, n)) {
		buf_add(out, p, n);
		return 1;
	}
	if (cs == NULL || *cs == '\0' || cs_is(cs, "us-ascii") ||
	    cs_is(cs, "ascii") || cs_is(cs, "utf-8") || cs_is(cs, "utf8")) {
		if (w1252_guess_ok(p, n))
			charset_to_utf8(out, "windows-1252", p, n);
		else {
			buf_add(out, p, n);
			ret = 0;
		}
		return ret;
	}
	if (cs_is(cs, "iso-8859-1") || cs_is(cs, "iso8859-1") ||
	    cs_is(cs, "latin1"))
		cs = "windows-1252";
	if (charset_to_utf8(&t, cs, p, n) == 0)
		buf_add(out, t.data, t.len);
	else if (w1252_guess_ok(p, n))
		charset_to_utf8(out, "windows-1252", p, n);
	else {
		buf_add(out, p, n);
		ret = 0;
	}
	buf_free(&t);
	return ret;
}

/* Perl's upgrade of a byte string: each byte >= 0x80 as U+0080..U+00FF. */
static void
latin1_to_utf8(struct buf *out, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x80)
			buf_addc(out, c);
		else {
			buf_addc(out, 0xc0 | (c >> 6));
			buf_addc(out, 0x80 | (c & 0x3f));
		}
	}
}

/* The reverse, when every character is below U+0100: 0, else -1 (out
 * then holds garbage the caller drops). */
static int
utf8_to_latin1(struct buf *out, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x80) {
			buf_addc(out, c);
			i++;
		} else if ((c == 0xc2 || c == 0xc3) && i + 1 < n &&
		    ((unsigned char)p[i + 1] & 0xc0) == 0x80) {
			buf_addc(out, ((c & 0x03) << 6) |
			    ((unsigned char)p[i + 1] & 0x3f));
			i += 2;
		} else
			return -1;
	}
	return 0;
}

/* ---- parts ---- */

static void
crlf_to_lf(struct buf *b, size_t from)
{
	size_t i, o = from;

	for (i = from; i < b->len; i++) {
		if (b->data[i] == '\r' && i + 1 < b->len && b->data[i + 1] == '\n')
			continue;
		b->data[o++] = b->data[i];
	}
	b->len = o;
	if (b->data != NULL)
		b->data[o] = '\0';
}

/* Node::decode: transfer decoding only, bytes. */
static void
part_decode(const struct mime_part *mp, const char *type, struct buf *out)
{
	const char *p = mp->body.p;
	size_t n = mp->body.len;

	if (p == NULL)
		return;
	if (n > MIME_MAX_DECODED)
		n = MIME_MAX_DECODED;
	if (mp->enc == ENC_QP) {
		qp_decode(out, p, n, 0);
		crlf_to_lf(out, 0);
	} else if (mp->enc == ENC_BASE64) {
		base64_decode(out, p, n);
		if (strncmp(type, "text", 4) == 0 ||
		    strncmp(type, "message", 7) == 0)
			crlf_to_lf(out, 0);
	} else
		buf_add(out, p, n);
}

struct walk {
	struct score_msg *sm;
	size_t cap;
};

static int
collect_leaf(struct mime_part *mp, void *arg)
{
	struct walk *w = arg;
	struct score_msg *sm = w->sm;
	struct sm_part *pt;
	const struct hdr *h;
	const char *name = NULL, *type;
	size_t nl;

	if (mp->children != NULL)
		return 0;
	if (sm->nparts >= MIME_MAX_PARTS)
		return 1;
	if (sm->nparts == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 8;
		struct sm_part *t = arena_allocarray(sm->a, nc, sizeof(*t));

		if (sm->nparts > 0)
			memcpy(t, sm->parts, sm->nparts * sizeof(*t));
		sm->parts = t;
		w->cap = nc;
	}
	pt = &sm->parts[sm->nparts++];
	memset(pt, 0, sizeof(*pt));
	pt->mp = mp;
	type = mp->ctype.value != NULL ? mp->ctype.value : "text/plain";
	/* A multipart without a boundary is text/plain to SpamAssassin. */
	if (strncmp(type, "multipart/", 10) == 0)
		type = "text/plain";
	pt->type = type;
	pt->charset = mime_param(&mp->ctype, "charset");
	/* name= of Content-Disposition, else of Content-Type. */
	if ((h = mime_hdr_find(mp, "content-disposition")) != NULL) {
		struct mime_ctype cd;

		mime_ctype_parse(sm->a, h->value, &cd);
		name = mime_param(&cd, "filename");
	}
	if (name == NULL)
		name = mime_param(&mp->ctype, "name");
	pt->etype = type;
	if (name != NULL && (nl = strlen(name)) >= 4) {
		const char *e = strrchr(name, '.');

		if (e != NULL && (mem_ieq(e, strlen(e), ".html", 5) ||
		    mem_ieq(e, strlen(e), ".htm", 4) ||
		    mem_ieq(e, strlen(e), ".shtml", 6) ||
		    mem_ieq(e, strlen(e), ".shtm", 5)))
			pt->etype = "text/html";
	}
	return 0;
}

static void
need_parts(struct score_msg *sm)
{
	struct walk w = { sm, 0 };

	if (sm->parts_done)
		return;
	sm->parts_done = 1;
	if (sm->m->data == NULL)
		return;
	if (sm->m->mime == NULL)
		mime_parse(sm->m);
	if (sm->m->mime != NULL)
		mime_walk(sm->m->mime, collect_leaf, &w);
}

static const char *
part_bytes(struct score_msg *sm, struct sm_part *pt, size_t *len)
{
	if (pt->decoded == NULL) {
		struct buf b = BUF_INIT;

		part_decode(pt->mp, pt->type, &b);
		pt->decoded = arena_strndup(sm->a, b.data != NULL ? b.data : "",
		    b.len);
		pt->dlen = b.len;
		buf_free(&b);
	}
	*len = pt->dlen;
	return pt->decoded;
}

/* The truncation of body_part_scan_size / rawbody_part_scan_size: at a
 * newline (or '>' for rawbody, or a space) within 1 KiB after the limit. */
static size_t
scan_cut(const char *p, size_t len, size_t limit, int raw)
{
	const char *q;

	if (len <= limit)
		return len;
	if ((q = memchr(p + limit, '\n', len - limit)) != NULL &&
	    (size_t)(q - p) - limit <= SA_SCAN_SLACK)
		return (size_t)(q - p) + 1;
	if (raw && (q = memchr(p + limit, '>', len - limit)) != NULL &&
	    (size_t)(q - p) - limit <= SA_SCAN_SLACK)
		return (size_t)(q - p) + 1;
	if ((q = memchr(p + limit, ' ', len - limit)) != NULL &&
	    (size_t)(q - p) - limit <= SA_SCAN_SLACK)
		return (size_t)(q - p) + 1;
	return limit;
}

/* ---- whitespace as Perl's \s on a character string ---- */

/* Length of a whitespace character at p (0: none). */
static size_t
uspace(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;

	if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))
		return 1;
	if (s[0] < 0x80 || n < 2)
		return 0;
	if (s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
		return 2;
	if (n >= 3 && s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80)
		return 3;
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 &&
	    (s[2] <= 0x8a || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
		return 3;
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
		return 3;
	if (n >= 3 && s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
		return 3;
	return 0;
}

/* \s on characters (uni) or on bytes (ASCII whitespace only). */
static size_t
ws_at(const char *p, size_t n, int uni)
{
	if (uni)
		return uspace(p, n);
	return p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r');
}

/*
 * s/\n+\s*\n+/\x00/g; s/\s+/ /g; tr/\x00/\n/ : a whitespace run with two
 * or more newlines becomes (space) newline (space), any other run one
 * space.
 */
static void
squash_ws(struct buf *out, const char *p, size_t n, int uni)
{
	size_t i = 0, k, j, first_nl, last_nl, nnl;

	while (i < n) {
		if ((k = ws_at(p + i, n - i, uni)) == 0) {
			buf_addc(out, p[i]);
			i++;
			continue;
		}
		j = i;
		nnl = 0;
		first_nl = last_nl = 0;
		while (j < n && (k = ws_at(p + j, n - j, uni)) != 0) {
			if (p[j] == '\n') {
				if (nnl++ == 0)
					first_nl = j;
				last_nl = j;
			}
			j += k;
		}
		if (nnl >= 2) {
			if (first_nl > i)
				buf_addc(out, ' ');
			buf_addc(out, '\n');
			if (last_nl + 1 < j)
				buf_addc(out, ' ');
		} else
			buf_addc(out, ' ');
		i = j;
	}
}

static void
add_line(struct arena *a, struct span **arr, size_t *n, size_t *cap,
    const char *p, size_t len)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct span *t = arena_allocarray(a, nc, sizeof(*t));

		if (*n > 0)
			memcpy(t, *arr, *n * sizeof(*t));
		*arr = t;
		*cap = nc;
	}
	(*arr)[(*n)++] = (struct span){ p, len };
}

/* split_into_array_of_short_lines: lines (with their "\n"), long ones cut
 * after the last space within MAX_BODY_LINE_LENGTH. */
static void
short_lines(struct score_msg *sm, const char *p, size_t n, size_t *cap)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t e = nl != NULL ? (size_t)(nl - p) + 1 : n;

		while (e - i > SA_MAX_BODY_LINE) {
			size_t k = SA_MAX_BODY_LINE + 1, cut = 0;

			/* rindex($line, ' ', 2048) + 1 */
			while (k-- > 0)
				if (p[i + k] == ' ') {
					cut = k + 1;
					break;
				}
			if (cut == 0)
				cut = SA_MAX_BODY_LINE;
			add_line(sm->a, &sm->body, &sm->nbody, cap, p + i, cut);
			i += cut;
		}
		add_line(sm->a, &sm->body, &sm->nbody, cap, p + i, e - i);
		i = e;
	}
}

/* ---- the rendered body ---- */

/* An HTML part's facts and URIs, kept for sm_html() and sm_uris(). */
static void
keep_html(struct score_msg *sm, struct sm_html *hr, const struct buf *rnd,
    size_t raw_len, int chars)
{
	size_t k, sp = 0, nch = 0;

	for (k = 0; k < hr->nuris; k++) {
		if (sm->nhtml_uris == sm->cap_html_uris) {
			size_t nc = sm->cap_html_uris ? sm->cap_html_uris * 2 : 16;
			const char **t = arena_allocarray(sm->a, nc, sizeof(*t));

			if (sm->nhtml_uris > 0)
				memcpy(t, sm->html_uris,
				    sm->nhtml_uris * sizeof(*t));
			sm->html_uris = t;
			sm->cap_html_uris = nc;
		}
		if (sm->nhtml_uris < SCORE_MAX_URIS)
			sm->html_uris[sm->nhtml_uris++] = hr->uris[k];
	}
	/* Node::rendered: lengths in characters, Unicode \s. */
	for (k = 0; k < rnd->len;) {
		size_t w = chars ? uspace(rnd->data + k, rnd->len - k) :
		    (rnd->data[k] == ' ' || (rnd->data[k] >= '\t' &&
		    rnd->data[k] <= '\r')), u;

		if (w > 0) {
			sp++;
			k += w;
		} else if (chars && (u = utf8_len((const unsigned char *)
		    rnd->data + k, rnd->len - k)) > 0)
			k += u;
		else
			k++;
		nch++;
	}
	hr->html_length = nch;
	hr->non_space_len = nch - sp;
	if (raw_len > 0)
		hr->ratio = ((double)raw_len - (double)nch) / (double)raw_len;
	/* Message.pm: the last text/html part's results, and html_all */
	sm->html = hr;
	if (sm->nhtml_all == sm->cap_html_all) {
		size_t nc = sm->cap_html_all ? sm->cap_html_all * 2 : 4;
		struct sm_html **t = arena_allocarray(sm->a, nc, sizeof(*t));

		if (sm->nhtml_all > 0)
			memcpy(t, sm->html_all, sm->nhtml_all * sizeof(*t));
		sm->html_all = t;
		sm->cap_html_all = nc;
	}
	sm->html_all[sm->nhtml_all++] = hr;
}

/*
 * One textual part rendered as Node::rendered(): appended to out, 1 when
 * the result is Perl characters (see sa_normalize), 0 for bytes.
 */
static int
render_part(struct score_msg *sm, struct sm_part *pt, struct buf *out)
{
	struct buf norm = BUF_INIT, in = BUF_INIT, rnd = BUF_INIT;
	const char *d;
	size_t dl, k;
	int chars, html = strcmp(pt->etype, "text/html") == 0;

	d = part_bytes(sm, pt, &dl);
	if (dl > SCORE_MAX_PART_TEXT)
		dl = SCORE_MAX_PART_TEXT;
	chars = sa_normalize(&norm, pt->charset != NULL ? pt->charset :
	    "us-ascii", d, dl);
	if (!html) {
		buf_add(out, norm.data != NULL ? norm.data : "", norm.len);
		buf_free(&norm);
		return chars;
	}
	if (norm.len > 0) {
		struct sm_html *hr = arena_zalloc(sm->a, sizeof(*hr));

		/* HTML::Parser sees characters: kept bytes are Latin-1. */
		if (chars)
			buf_add(&in, norm.data, norm.len);
		else
			latin1_to_utf8(&in, norm.data, norm.len);
		html_render(sm->a, in.data, in.len, &rnd, hr);
		if (!chars) {
			/* Still a byte string unless an entity made a
			 * character above U+00FF. */
			struct buf l1 = BUF_INIT;

			for (k = 0; k < rnd.len; k++)
				if ((unsigned char)rnd.data[k] >= 0x80)
					break;
			if (k < rnd.len && utf8_to_latin1(&l1, rnd.data,
			    rnd.len) == 0) {
				buf_reset(&rnd);
				buf_add(&rnd, l1.data, l1.len);
			} else if (k < rnd.len)
				chars = 1;
			buf_free(&l1);
		}
		keep_html(sm, hr, &rnd, dl, chars);
		buf_add(out, rnd.data != NULL ? rnd.data : "", rnd.len);
	}
	buf_free(&norm);
	buf_free(&in);
	buf_free(&rnd);
	return chars;
}

static void
need_body(struct score_msg *sm)
{
	struct buf text = BUF_INIT, sq = BUF_INIT, all = BUF_INIT;
	struct buf *pb;
	int *pchars, any_chars = 0;
	size_t i, cap = 0, total = 0;
	char *copy;

	if (sm->body_done)
		return;
	sm->body_done = 1;
	need_parts(sm);
	pb = xcalloc(sm->nparts + 1, sizeof(*pb));
	pchars = xcalloc(sm->nparts + 1, sizeof(*pchars));
	for (i = 0; i < sm->nparts; i++) {
		struct sm_part *pt = &sm->parts[i];

		if (strcmp(pt->etype, "text/html") != 0 &&
		    strcmp(pt->etype, "text/plain") != 0)
			continue;
		pchars[i] = render_part(sm, pt, &pb[i]);
		any_chars |= pchars[i];
	}
	/* Get_body_text_array_common: "\n" between parts, each cut at
	 * body_part_scan_size; bytes upgraded if anything is characters. */
	for (i = 0; i < sm->nparts; i++) {
		size_t cut;

		if (text.len > 0)
			buf_addc(&text, '\n');
		if (pb[i].len == 0)
			continue;
		cut = scan_cut(pb[i].data, pb[i].len, SA_BODY_PART_SCAN, 0);
		if (total + cut > SCORE_MAX_BODY_TEXT)
			continue;
		total += cut;
		if (any_chars && !pchars[i])
			latin1_to_utf8(&text, pb[i].data, cut);
		else
			buf_add(&text, pb[i].data, cut);
	}
	squash_ws(&sq, text.data != NULL ? text.data : "", text.len,
	    any_chars);
	/* Subject first (decoded, "\n" when absent) */
	if (hdr_find(sm->m, "subject", -1) != NULL) {
		struct buf v = BUF_INIT;

		sm_header(sm, "Subject", SM_H_LAST, &v);
		buf_add(&all, v.data != NULL ? v.data : "", v.len);
		buf_free(&v);
	}
	if (all.len == 0 || all.data[all.len - 1] != '\n')
		buf_addc(&all, '\n');
	buf_add(&all, sq.data != NULL ? sq.data : "", sq.len);
	copy = arena_strndup(sm->a, all.data, all.len);
	short_lines(sm, copy, all.len, &cap);
	for (i = 0; i < sm->nparts; i++)
		buf_free(&pb[i]);
	free(pb);
	free(pchars);
	buf_free(&text);
	buf_free(&sq);
	buf_free(&all);
}

size_t
sm_body(struct score_msg *sm, const struct span **lines_out)
{
	need_body(sm);
	*lines_out = sm->body;
	return sm->nbody;
}

const struct sm_html *
sm_html(struct score_msg *sm)
{
	need_body(sm);
	return sm->html;
}

/* (Addition for eval.c, score-int.h.) */
size_t
sm_html_all(struct score_msg *sm, struct sm_html *const **out)
{
	need_body(sm);
	*out = sm->html_all;
	return sm->nhtml_all;
}

static int domain_valid(const char *d, size_t n);

/* (Addition for eval.c, score-int.h.) */
int
sm_domain_valid(const char *d, size_t n)
{
	return domain_valid(d, n);
}

/* split_into_array_of_short_paragraphs: chunks of 1-2 lines' worth. */
static void
short_paragraphs(struct score_msg *sm, const char *p, size_t n, size_t *cap)
{
	size_t ofs = 0, j;
	const char *q;

	if (n <= SA_MAX_BODY_LINE) {
		add_line(sm->a, &sm->raw, &sm->nraw, cap, p, n);
		return;
	}
	for (; n - ofs > 2 * SA_MAX_BODY_LINE; ofs = j + 1) {
		size_t from = ofs + SA_MAX_BODY_LINE;

		q = memchr(p + from, '\n', n - from);
		j = q != NULL ? (size_t)(q - p) : SIZE_MAX;
		if (j == SIZE_MAX || j - ofs + 1 > 2 * SA_MAX_BODY_LINE) {
			q = memchr(p + from, '>', n - from);
			j = q != NULL ? (size_t)(q - p) : SIZE_MAX;
			if (j == SIZE_MAX || j - ofs + 1 > 2 * SA_MAX_BODY_LINE) {
				q = memchr(p + from, ' ', n - from);
				j = q != NULL ? (size_t)(q - p) : SIZE_MAX;
				if (j == SIZE_MAX ||
				    j - ofs + 1 > 2 * SA_MAX_BODY_LINE)
					j = ofs + SA_MAX_BODY_LINE;
			}
		}
		add_line(sm->a, &sm->raw, &sm->nraw, cap, p + ofs, j - ofs + 1);
	}
	if (ofs < n)
		add_line(sm->a, &sm->raw, &sm->nraw, cap, p + ofs, n - ofs);
}

size_t
sm_rawbody(struct score_msg *sm, const struct span **lines_out)
{
	size_t i, cap = 0, total = 0;

	if (!sm->raw_done) {
		sm->raw_done = 1;
		need_parts(sm);
		for (i = 0; i < sm->nparts; i++) {
			struct sm_part *pt = &sm->parts[i];
			const char *d;
			size_t dl;

			if (strncmp(pt->etype, "text", 4) != 0 &&
			    strncmp(pt->etype, "message", 7) != 0)
				continue;
			if (strcmp(pt->type, "text/calendar") == 0)
				continue;
			d = part_bytes(sm, pt, &dl);
			dl = scan_cut(d, dl, SA_RAWBODY_PART_SCAN, 1);
			if (total + dl > SCORE_MAX_BODY_TEXT)
				break;
			total += dl;
			short_paragraphs(sm, d, dl, &cap);
		}
	}
	*lines_out = sm->raw;
	return sm->nraw;
}

struct span
sm_full(struct score_msg *sm)
{
	if (sm->m->data != NULL)
		return (struct span){ sm->m->data, sm->m->len };
	return (struct span){ sm->m->head != NULL ? sm->m->head : "",
	    sm->m->head_len };
}

/* ---- URIs ---- */

/* One distinct cleaned URI into the message's list (get_uri_list). */
static void
uri_add(struct score_msg *sm, const char *u, size_t n)
{
	size_t i;

	if (sm->nuris >= SCORE_MAX_URIS)
		return;
	for (i = 0; i < sm->nuris; i++)
		if (strncmp(sm->uris[i], u, n) == 0 && sm->uris[i][n] == '\0')
			return;
	if (sm->nuris == sm->cap_uris) {
		size_t nc = sm->cap_uris ? sm->cap_uris * 2 : 16;
		const char **t = arena_allocarray(sm->a, nc, sizeof(*t));

		if (sm->nuris > 0)
			memcpy(t, sm->uris, sm->nuris * sizeof(*t));
		sm->uris = t;
		sm->cap_uris = nc;
	}
	sm->uris[sm->nuris++] = arena_strndup(sm->a, u, n);
}
/* ---- registry boundaries (RegistryBoundaries.pm, Util.pm) ---- */

#define SM_TLD_MAX_EXTRA	100000	/* util_rb_* names added at load */
#define SM_FQDN_MAX		253	/* is_fqdn_valid: total length */
#define SM_LABEL_MAX		63
#define SA_MAX_URI_LENGTH	8192	/* Constants.pm MAX_URI_LENGTH */
#define SM_URI_SCAN_MAX		2048	/* the {1,2048} of _tbirdurire */
#define SM_URI_MAX_VARIANTS	64	/* canonical forms of one URI */
#define SM_URI_MAX_REDIRECTS	16	/* redirector levels followed */
#define SM_URI_MAX_SEEN		(4 * SCORE_MAX_URIS)	/* raw text URIs */

/*
 * Names added by util_rb_* lines of loaded rule files (sm_tld_add). The
 * registry is process-wide as SpamAssassin's conf is; additions happen at
 * load time, lookups from every scoring thread, hence the lock, taken only
 * once something was added.
 */
struct tld_extra {
	char **v;		/* sorted, lower-case */
	size_t n, cap;
};
static struct tld_extra tld_extra[3];
static pthread_rwlock_t tld_lock = PTHREAD_RWLOCK_INITIALIZER;
static int tld_extra_any;	/* atomic */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
in_sorted(const char *const *v, size_t n, const char *key)
{
	return n > 0 && bsearch(&key, v, n, sizeof(*v), cmp_str) != NULL;
}

static int
tld_builtin(int kind, const char *key)
{
	switch (kind) {
	case SM_TLD:
		return in_sorted(sm_builtin_tld, sizeof(sm_builtin_tld) /
		    sizeof(sm_builtin_tld[0]), key);
	case SM_TLD_2:
		return in_sorted(sm_builtin_2tld, sizeof(sm_builtin_2tld) /
		    sizeof(sm_builtin_2tld[0]), key);
	case SM_TLD_3:
		return in_sorted(sm_builtin_3tld, sizeof(sm_builtin_3tld) /
		    sizeof(sm_builtin_3tld[0]), key);
	}
	return 0;
}

/* Lower-case copy of s[0..n) into out (SM_FQDN_MAX + 1 bytes): 0, or -1
 * when too long or holding a NUL. */
static int
lc_copy(char *out, const char *s, size_t n)
{
	size_t i;

	if (n > SM_FQDN_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == '\0')
			return -1;
		out[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
	}
	out[n] = '\0';
	return 0;
}

/* Is s[0..n) (any case) in the set of that kind? */
static int
tld_in(int kind, const char *s, size_t n)
{
	char key[SM_FQDN_MAX + 1];
	int r;

	if (lc_copy(key, s, n) == -1)
		return 0;
	if (tld_builtin(kind, key))
		return 1;
	if (!__atomic_load_n(&tld_extra_any, __ATOMIC_ACQUIRE))
		return 0;
	pthread_rwlock_rdlock(&tld_lock);
	r = in_sorted((const char *const *)tld_extra[kind - 1].v,
	    tld_extra[kind - 1].n, key);
	pthread_rwlock_unlock(&tld_lock);
	return r;
}

int
sm_tld_add(int kind, const char *name)
{
	char key[SM_FQDN_MAX + 1];
	struct tld_extra *x;
	size_t lo, hi;

	if (kind < SM_TLD || kind > SM_TLD_3 || lc_copy(key, name,
	    strlen(name)) == -1 || key[0] == '\0')
		return -1;
	if (tld_builtin(kind, key))
		return 0;
	pthread_rwlock_wrlock(&tld_lock);
	x = &tld_extra[kind - 1];
	lo = 0;
	hi = x->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(x->v[mid], key);

		if (c == 0) {
			pthread_rwlock_unlock(&tld_lock);
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (x->n >= SM_TLD_MAX_EXTRA) {
		pthread_rwlock_unlock(&tld_lock);
		return -1;
	}
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		x->v = xreallocarray(x->v, x->cap, sizeof(*x->v));
	}
	memmove(x->v + lo + 1, x->v + lo, (x->n - lo) * sizeof(*x->v));
	x->v[lo] = xstrdup(key);
	x->n++;
	__atomic_store_n(&tld_extra_any, 1, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&tld_lock);
	return 0;
}

/* Util::is_fqdn_valid($host, 1) */
static int
fqdn_valid(const char *h, size_t n)
{
	size_t i, s, nlab = 0, lab;

	while (n > 0 && h[n - 1] == '.')
		n--;
	if (n > SM_FQDN_MAX || n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (h[i] == '.')
			nlab++;
	nlab++;
	if (nlab < 2)
		return 0;
	for (s = 0, lab = nlab; s <= n; lab--) {
		size_t e = s;

		while (e < n && h[e] != '.')
			e++;
		if (e == s || e - s > SM_LABEL_MAX)
			return 0;
		for (i = s; i < e; i++) {
			int c = (unsigned char)h[i];

			if (c >= 'A' && c <= 'Z')
				c += 32;
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			    c == '_' || (c == '-' && i != s && i + 1 != e)))
				return 0;
			/* 1st-2nd level part can not contain _ */
			if (c == '_' && lab <= 2)
				return 0;
		}
		s = e + 1;
	}
	return 1;
}

/* RegistryBoundaries::is_domain_valid: the last label a known TLD. */
static int
domain_valid(const char *d, size_t n)
{
	size_t k = n;

	if (n == 0 || n > SM_FQDN_MAX)
		return 0;
	if (memchr(d, ' ', n) != NULL || memchr(d, '\t', n) != NULL ||
	    memchr(d, '\n', n) != NULL || memchr(d, '\r', n) != NULL ||
	    memchr(d, '\f', n) != NULL || memchr(d, '\v', n) != NULL)
		return 0;
	while (k > 0 && d[k - 1] != '.')
		k--;
	if (k == 0 || k == n)
		return 0;
	return tld_in(SM_TLD, d + k, n - k);
}

static int
is_us_state(const char *s, size_t n)
{
	static const char states[] = "ak al ar az ca co ct dc de fl ga gu hi "
	    "ia id il in ks ky la ma md me mi mn mo ms mt nc nd ne nh nj nm "
	    "nv ny oh ok or pa pr ri sc sd tn tx ut va vi vt wa wi wv wy ";
	size_t i;

	if (n != 2)
		return 0;
	for (i = 0; states[i] != '\0'; i += 3)
		if (states[i] == s[0] && states[i + 1] == s[1])
			return 1;
	return 0;
}

/*
 * RegistryBoundaries::trim_domain($fqdn, 1): the registrable domain of a
 * host, lower-cased, into out (SM_FQDN_MAX + 1 bytes). Returns its length
 * (0: empty).
 */
static size_t
trim_domain(const char *h, size_t n, char *out)
{
	char d[SM_FQDN_MAX + 1];
	size_t lab[SM_FQDN_MAX + 1], nl = 0, i, o = 0, k, ofs;

	/* lc; tr/././s; strip leading and trailing dots */
	for (i = 0; i < n && o < SM_FQDN_MAX; i++) {
		char c = h[i];

		if (c >= 'A' && c <= 'Z')
			c += 32;
		if (c == '.' && (o == 0 || d[o - 1] == '.'))
			continue;
		d[o++] = c;
	}
	while (o > 0 && d[o - 1] == '.')
		o--;
	d[o] = '\0';
	if (o == 0) {
		out[0] = '\0';
		return 0;
	}
	lab[nl++] = 0;
	for (i = 0; i < o; i++)
		if (d[i] == '.')
			lab[nl++] = i + 1;
	/* go until we find the TLD */
	for (k = 0; nl - k > 1; k++) {
		size_t left = nl - k;
		const char *p = d + lab[k];
		size_t pl = o - lab[k];

		if (left == 2) {
			if (tld_in(SM_TLD_2, p, pl))
				break;
		} else if (left == 3) {
			if (strcmp(d + lab[k + 2], "us") == 0) {
				if (is_us_state(d + lab[k + 1], 2) &&
				    lab[k + 2] - lab[k + 1] == 3)
					break;
			} else if (tld_in(SM_TLD_3, p, pl))
				break;
		} else if (left == 4) {
			if (strcmp(d + lab[k + 3], "us") == 0 &&
			    ((lab[k + 1] - lab[k] == 4 && memcmp(p, "pvt.", 4) == 0 &&
			    lab[k + 2] - lab[k + 1] == 4 &&
			    memcmp(d + lab[k + 1], "k12.", 4) == 0) ||
			    (lab[k + 1] - lab[k] == 3 && p[0] == 'c' &&
			    (p[1] == 'i' || p[1] == 'o'))) &&
			    lab[k + 3] - lab[k + 2] == 3 &&
			    is_us_state(d + lab[k + 2], 2))
				break;
		}
	}
	/* unshift @domparts, pop @hostname if @hostname */
	ofs = k > 0 ? lab[k - 1] : 0;
	memcpy(out, d + ofs, o - ofs);
	out[o - ofs] = '\0';
	return o - ofs;
}

/* (Addition for eval.c, score-int.h.) */
size_t
sm_trim_domain(const char *h, size_t n, char *out)
{
	return trim_domain(h, n, out);
}

/* ---- the fixed regexes (compiled once per process) ---- */

/* Character classes of PerMsgStatus::_tbirdurire. Its subject, the
 * rendered body, is UTF-8 octets (Message.pm utf8::encode), so these are
 * bytes, as in SpamAssassin. */
#define TB_START	"><\"'`,{\\[(|\\s\\x1b\\xa0"
#define TB_END		"><\"`}\\]{\\[|\\s\\x1b\\xa0"
#define TB_END_EMAIL	TB_END ",('\\x80-\\xff"
#define TB_SCSTART	"!\"#$&'()*+,/:;<=>?@\\[\\\\\\]^`{|}~\\s\\x1b\\xa0"
/* valid_tlds_re: any label here; the callout checks it against the TLD
 * list, so rule files can add TLDs without recompiling. */
#define TB_TLD(n)	"([a-z0-9-]+)(?![a-z0-9-]|\\.[a-z0-9])(?C" #n ")"

static const char re_tbird[] =
    "(?:\\b|(?<=\\x1b\\(.)|(?<=[" TB_START "]))"
    "(?:((?:(?:https?|ftp)://|(?:www\\d{0,2}|ftp)\\.)[^" TB_END "]{1,2048})"
    "(?=[" TB_END "]|\\z)"
    "|((?:mailto:[^" TB_END_EMAIL "]{1,2048}|[^" TB_END_EMAIL "@]{1,251}"
    "@[^" TB_END_EMAIL "]{1,251}))(?=[" TB_END_EMAIL "]|\\z)"
    "|(?:^|(?<=[" TB_SCSTART "]))"
    "(([a-z\\d][a-z\\d._-]{0,251}\\." TB_TLD(5) ")\\.?(?::\\d{1,5})?"
    "(?:/[^" TB_END "]{1,2048})?)(?=[" TB_END "]|\\z))";

/* PerMsgStatus::_get: $hostRE, and the same after the last usable "@". */
static const char re_host[] =
    "(?<![._-])(\\S{1,251}\\." TB_TLD(2) ")(?![._-])";
static const char re_host_at[] =
    ".*@(?<![._-])(\\S{1,251}\\." TB_TLD(2) ")(?![._-])";

/* Constants.pm IP_ADDRESS (IPv4, IPv4 mapped in IPv6, IPv6). */
#define RE_O	"(?:1\\d\\d|2[0-4]\\d|25[0-5]|[1-9]\\d|\\d)"
#define RE_H	"[a-f0-9]{1,4}"
#define RE_IP \
    "(?:\\b(?<!:)" RE_O "\\." RE_O "\\." RE_O "\\." RE_O "\\b" \
    "|(?:IPv6:|(?<![a-f0-9:]))" \
    "(?:(?:(?:" RE_H ":){6}|::(?:" RE_H ":){0,5}|(?:" RE_H ":){1,5}:" \
    "|" RE_H "::(?:" RE_H ":){1,4}|(?:" RE_H ":){2}:(?:" RE_H ":){1,3}" \
    "|(?:" RE_H ":){3}:(?:" RE_H ":){1,2}|(?:" RE_H ":){4}:" RE_H ":)" \
    RE_O "\\." RE_O "\\." RE_O "\\." RE_O \
    "|(?:" RE_H ":){7}" RE_H "|:(?::" RE_H "){1,7}|(?:" RE_H ":){1,7}:" \
    "|" RE_H ":(?::" RE_H "){1,6}|(?:" RE_H ":){2}(?::" RE_H "){1,5}" \
    "|(?:" RE_H ":){3}(?::" RE_H "){1,4}|(?:" RE_H ":){4}(?::" RE_H "){1,3}" \
    "|(?:" RE_H ":){5}(?::" RE_H "){1,2}|(?:" RE_H ":){6}:" RE_H "|::)" \
    "(?![a-f0-9:]))"
static const char re_ip[] = "(?<!\\.)\\b(" RE_IP ")\\b(?!\\.)";
static const char re_is_ip[] = "^" RE_IP "$";
static const char re_any_ip[] = "(" RE_IP ")";

/* The stock redirector_pattern lines (20_uri_tests.cf, 72_active.cf), in
 * file order; all /i. */
static const char *const re_redirectors[] = {
	"^http://chkpt\\.zdnet\\.com/chkpt/\\w+/(.*)$",
	"^http://www(?:\\d+)?\\.nate\\.com/r/\\w+/(.*)$",
	"^http://.+\\.gov/(?:.*/)?externalLink\\.jhtml\\?.*url=(.*?)(?:&.*)?$",
	"^http://redir\\.internet\\.com/.+?/.+?/(.*)$",
	"^http://(?:.*?\\.)?adtech\\.de/.*(?:;|\\|)link=(.*?)(?:;|$)",
	"^http.*?/redirect\\.php\\?.*(?<=[?&])goto=(.*?)(?:$|[&#])",
	"^https?:/*(?:[^/]+\\.)?emf\\d\\.com/r\\.cfm.*?&r=(.*)",
	"/(?:index.php)?\\?.*(?<=[?&])URL=(.*?)(?:$|[&#])",
	"^https?:/*(?:\\w+\\.)?google(?:\\.\\w{2,3}){1,2}/url\\?.*?(?<=[?&])"
	    "q=(.*?)(?:$|[&#])",
	"^https?:/*(?:\\w+\\.)?google(?:\\.\\w{2,3}){1,2}/search\\?.*?"
	    "(?<=[?&])q=[^&]*?(?<=%20|..[=+\\s])(?:site|inurl):(.*?)"
	    "(?:$|%20|[\\s+&#])",
	"^https?:/*(?:\\w+\\.)?google(?:\\.\\w{2,3}){1,2}/search\\?.*?"
	    "(?<=[?&])q=[^&]*?(?<=%20|..[=+\\s])(?:\"|%22)(.*?)"
	    "(?:$|%22|[\"\\s+&#])",
	"^https?:/*(?:\\w+\\.)?google(?:\\.\\w{2,3}){1,2}/translate\\?.*?"
	    "(?<=[?&])u=(.*?)(?:$|[&#])",
	"^https?:/*(?:\\w+\\.)?google(?:\\.\\w{2,3}){1,2}/pagead/iclk\\?.*?"
	    "(?<=[?&])adurl=(.*?)(?:$|[&#])",
	"^https?:/*(?:\\w+\\.)?aol\\.com/redir\\.adp\\?.*(?<=[?&])"
	    "_url=(.*?)(?:$|[&#])",
	"^https?/*(?:\\w+\\.)?facebook\\.com/l/;(.*)",
};
#define N_REDIR	(sizeof(re_redirectors) / sizeof(re_redirectors[0]))

enum { RX_TBIRD, RX_HOST, RX_HOST_AT, RX_IP, RX_IS_IP, RX_ANY_IP,
	RX_REDIR, RX_N = RX_REDIR + N_REDIR };

static pcre2_code *rx[RX_N];
static pcre2_match_context *rx_mctx;
static pthread_once_t rx_once = PTHREAD_ONCE_INIT;

/* (?CN): group N holds a label; it must be a known TLD. */
static int
tld_callout(pcre2_callout_block *cb, void *arg)
{
	uint32_t g = cb->callout_number;
	PCRE2_SIZE s, e;

	(void)arg;
	if (g == 0 || g >= cb->capture_top)
		return 1;
	s = cb->offset_vector[2 * g];
	e = cb->offset_vector[2 * g + 1];
	if (s == PCRE2_UNSET || e <= s)
		return 1;
	return tld_in(SM_TLD, (const char *)cb->subject + s, e - s) ? 0 : 1;
}

static pcre2_code *
rx_compile(const char *pat, uint32_t opts)
{
	pcre2_code *c;
	int ec;
	PCRE2_SIZE eo;

	c = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	    opts | PCRE2_CASELESS, &ec, &eo, NULL);
	if (c == NULL) {
		/* Our own fixed patterns: a failure is a bug. */
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(ec, msg, sizeof(msg));
		log_err("score: internal regex at %zu: %s", (size_t)eo,
		    (const char *)msg);
		abort();
	}
	(void)pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
	return c;
}

static void
rx_init(void)
{
	size_t i;

	rx[RX_TBIRD] = rx_compile(re_tbird, 0);
	rx[RX_HOST] = rx_compile(re_host, 0);
	rx[RX_HOST_AT] = rx_compile(re_host_at, 0);
	rx[RX_IP] = rx_compile(re_ip, 0);
	rx[RX_IS_IP] = rx_compile(re_is_ip, 0);
	rx[RX_ANY_IP] = rx_compile(re_any_ip, 0);
	for (i = 0; i < N_REDIR; i++)
		rx[RX_REDIR + i] = rx_compile(re_redirectors[i], 0);
	rx_mctx = pcre2_match_context_create(NULL);
	pcre2_set_callout(rx_mctx, tld_callout, NULL);
	pcre2_set_match_limit(rx_mctx, SCORE_MATCH_LIMIT);
}

/* One match of regex k in s[0..n) from start: 1 and the offsets in md,
 * 0 none (or the match limit hit). */
static int
rx_match(int k, pcre2_match_data *md, const char *s, size_t n,
    size_t start)
{
	pthread_once(&rx_once, rx_init);
	return pcre2_match(rx[k], (PCRE2_SPTR)s, n, start, 0, md,
	    rx_mctx) > 0;
}

static pcre2_match_data *
rx_md(void)
{
	pthread_once(&rx_once, rx_init);
	/* 8 pairs cover every group of our patterns. */
	return pcre2_match_data_create(8, NULL);
}

/* Group g of the last match, or 0 when unset. */
static int
rx_group(pcre2_match_data *md, unsigned g, size_t *s_out, size_t *e_out)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

	if (g >= pcre2_get_ovector_count(md) || ov[2 * g] == PCRE2_UNSET)
		return 0;
	*s_out = ov[2 * g];
	*e_out = ov[2 * g + 1];
	return 1;
}

static int
is_ip_address(pcre2_match_data *md, const char *s, size_t n)
{
	return rx_match(RX_IS_IP, md, s, n, 0);
}

int
sm_ip_find(const char *s, size_t n, size_t *s_out, size_t *e_out)
{
	pcre2_match_data *md = rx_md();
	int r = rx_match(RX_ANY_IP, md, s, n, 0) &&
	    rx_group(md, 1, s_out, e_out);

	pcre2_match_data_free(md);
	return r;
}

/* ---- URIs (PerMsgStatus::get_uri_list, Util::uri_list_canonicalize) ---- */

/* A small list of distinct strings (xmalloc'd). */
struct strlist {
	char **v;
	size_t *len;
	size_t n, cap;
	size_t max;		/* 0: SM_URI_MAX_VARIANTS */
};

static int
sl_has(const struct strlist *l, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->len[i] == n && memcmp(l->v[i], p, n) == 0)
			return 1;
	return 0;
}

static void
sl_add(struct strlist *l, const char *p, size_t n)
{
	if (l->n >= (l->max ? l->max : SM_URI_MAX_VARIANTS) ||
	    sl_has(l, p, n))
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
		l->len = xreallocarray(l->len, l->cap, sizeof(*l->len));
	}
	l->v[l->n] = xstrndup(p, n);
	l->len[l->n] = n;
	l->n++;
}

static void
sl_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->len);
	memset(l, 0, sizeof(*l));
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
has_pct_hex(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 2 < n; i++)
		if (p[i] == '%' && hexval((unsigned char)p[i + 1]) >= 0 &&
		    hexval((unsigned char)p[i + 2]) >= 0)
			return 1;
	return 0;
}

/*
 * Util::url_encode, which decodes despite its name: %XX of printable
 * characters other than space decoded ("%2E" -> "."), the rest kept;
 * outside escapes, controls, space, 8-bit bytes, '"', '%', '<' and '>'
 * are %-encoded (lower-case hex).
 */
static void
sa_url_encode(const char *p, size_t n, struct buf *out)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = (unsigned char)p[i];

		if (c == '%' && i + 2 < n + 0 && hexval((unsigned char)p[i + 1])
		    >= 0 && hexval((unsigned char)p[i + 2]) >= 0) {
			int h = hexval((unsigned char)p[i + 1]);
			int l = hexval((unsigned char)p[i + 2]);
			int v = h * 16 + l;

			/* unless /(20|7f|[0189a-fA-F][0-9a-fA-F])/ */
			if (h >= 2 && h <= 7 && v != 0x20 && v != 0x7f)
				buf_addc(out, v);
			else
				buf_add(out, p + i, 3);
			i += 3;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '%' ||
		    c == '<' || c == '>')
			buf_addf(out, "%%%02x", c);
		else
			buf_addc(out, (int)c);
		i++;
	}
}

/* The three &#...; substitutions of uri_list_canonicalize. */
static void
amp_decode(struct buf *b)
{
	struct buf o = BUF_INIT;
	size_t i = 0, n = b->len;
	const char *p = b->data;
	int pass;

	if (n == 0 || memchr(p, '&', n) == NULL)
		return;
	for (pass = 0; pass < 3; pass++) {
		buf_reset(&o);
		p = b->data;
		n = b->len;
		for (i = 0; i < n;) {
			size_t j = i + 2, k;
			unsigned long v = 0;
			int ok = 0;

			if (!(p[i] == '&' && i + 1 < n && p[i + 1] == '#')) {
				buf_addc(&o, p[i++]);
				continue;
			}
			if (pass == 0) {
				/* &#0*(33..126); */
				while (j < n && p[j] == '0')
					j++;
				for (k = j; k < n && k - j < 3 && p[k] >= '0' &&
				    p[k] <= '9'; k++)
					v = v * 10 + (unsigned long)(p[k] - '0');
				ok = k > j && k < n && p[k] == ';' &&
				    v >= 33 && v <= 126 && !(p[j] == '0');
			} else if (pass == 1) {
				/* &#x0*(21..7e); lower-case x */
				if (j < n && p[j] == 'x') {
					j++;
					while (j < n && p[j] == '0')
						j++;
					for (k = j; k < n && k - j < 2 &&
					    hexval((unsigned char)p[k]) >= 0; k++)
						v = v * 16 + (unsigned long)
						    hexval((unsigned char)p[k]);
					ok = k == j + 2 && k < n && p[k] == ';' &&
					    v >= 0x21 && v <= 0x7e;
				}
			} else {
				static const char *const dots[] = { "x2e;",
				    "12290;", "x3002;", "65294;", "xff0e;",
				    "65377;", "xff61;" };
				size_t d;

				for (d = 0; d < 7 && !ok; d++) {
					size_t dl = strlen(dots[d]);

					if (n - j >= dl && mem_ieq(p + j, dl,
					    dots[d], dl)) {
						ok = 1;
						k = j + dl - 1;
						v = '.';
					}
				}
			}
			if (!ok) {
				buf_addc(&o, p[i++]);
				continue;
			}
			buf_addc(&o, (int)v);
			i = k + 1;
		}
		buf_reset(b);
		buf_add(b, o.data, o.len);
	}
	buf_free(&o);
}

/* decode_ulong_to_ip: sprintf "%08lx", pack "H*", the first 4 bytes. */
static void
ulong_to_ip(uint64_t v, struct buf *out)
{
	char hx[32];
	size_t n, i;

	n = (size_t)snprintf(hx, sizeof(hx), "%08llx", (unsigned long long)v);
	for (i = 0; i < 4; i++) {
		int hi = 2 * i < n ? hexval((unsigned char)hx[2 * i]) : 0;
		int lo = 2 * i + 1 < n ? hexval((unsigned char)hx[2 * i + 1]) : 0;

		buf_addf(out, i ? ".%d" : "%d", hi * 16 + lo);
	}
}

static void
push3(struct strlist *l, const char *a, size_t al, const char *b, size_t bl,
    const char *c, size_t cl)
{
	struct buf t = BUF_INIT;

	buf_add(&t, a, al);
	buf_add(&t, b, bl);
	buf_add(&t, c, cl);
	sl_add(l, t.data != NULL ? t.data : "", t.len);
	buf_free(&t);
}

/* The mail branch of uri_list_canonicalize. */
static void
canon_mail(const char *s, size_t n, struct strlist *nu)
{
	const char *at = memchr(s, '@', n);
	size_t a, i, p;

	if (at == NULL)
		return;
	a = (size_t)(at - s);
	if (a > 0) {
		/* ^([^\@]+\@[^?]+)\? and ^([^\@]+\@[^?&]+)\& */
		for (i = a + 1; i < n && s[i] != '?'; i++)
			;
		if (i < n && i > a + 1)
			sl_add(nu, s, i);
		for (i = a + 1; i < n && s[i] != '?' && s[i] != '&'; i++)
			;
		if (i < n && s[i] == '&' && i > a + 1)
			sl_add(nu, s, i);
	}
	/* %20 trimmed: ^(?:mailto:)?(?:\%20)*([^\@]+\@[^?&%]+) */
	if (mem_find(s, n, "%20", 3) != NULL) {
		size_t st = 0, q;

		if (n >= 7 && memcmp(s, "mailto:", 7) == 0)
			st = 7;
		while (n - st >= 3 && memcmp(s + st, "%20", 3) == 0)
			st += 3;
		if (a <= st && st >= 3 && a + 3 > st - 3 &&
		    memcmp(s + st - 3, "%20", 3) == 0)
			st -= 3;	/* backtrack: one "%20" as the name */
		if (a > st) {
			for (q = a + 1; q < n && s[q] != '?' && s[q] != '&' &&
			    s[q] != '%'; q++)
				;
			if (q > a + 1)
				push3(nu, "mailto:", 7, s + st, q - st, "", 0);
		}
	}
	/* ^[^?&]*<([^\@>]+\@[^>]+)> : the rightmost "<" that works */
	for (p = 0; p < n && s[p] != '?' && s[p] != '&'; p++)
		;
	while (p-- > 0) {
		size_t j, k;

		if (s[p] != '<')
			continue;
		for (j = p + 1; j < n && s[j] != '@' && s[j] != '>'; j++)
			;
		if (j == p + 1 || j >= n || s[j] != '@')
			continue;
		for (k = j + 1; k < n && s[k] != '>'; k++)
			;
		if (k >= n || k == j + 1)
			continue;
		push3(nu, "mailto:", 7, s + p + 1, k - p - 1, "", 0);
		break;
	}
}

/*
 * Util::uri_list_canonicalize for one URI: the URI itself, redirect
 * targets (followed recursively, bounded) and the cleaned variants, all
 * into out.
 */
static void
canonicalize(pcre2_match_data *md, const char *uri0, size_t len0,
    struct strlist *out)
{
	struct strlist u = { 0 }, nu = { 0 };
	struct buf b = BUF_INIT, h = BUF_INIT;
	size_t ui, i;

	sl_add(&u, uri0, len0);
	for (ui = 0; ui < u.n && ui <= SM_URI_MAX_REDIRECTS; ui++) {
		const char *s;
		size_t n, st, en, pl, hs, he, as = 0, ae = 0, ps = 0, pe = 0;
		size_t rest_s, port_len = 0, k;
		int has_auth = 0, has_port = 0, changed;
		char *uri;
		const char *proto, *rest, *noport = NULL;
		size_t rest_len, noport_len = 0;

		/* s/\n//g; trim \s; s/\r//g */
		buf_reset(&b);
		s = u.v[ui];
		n = u.len[ui];
		for (st = 0; st < n && (s[st] == ' ' || (s[st] >= '\t' &&
		    s[st] <= '\r')); st++)
			;
		for (en = n; en > st && (s[en - 1] == ' ' ||
		    (s[en - 1] >= '\t' && s[en - 1] <= '\r')); en--)
			;
		for (i = st; i < en; i++)
			if (s[i] != '\n' && s[i] != '\r')
				buf_addc(&b, s[i]);
		uri = xstrndup(b.data != NULL ? b.data : "", b.len);
		n = b.len;
		if (n <= 1 || uri[0] == '#' || uri[0] == '?' || uri[0] == '&' ||
		    (uri[0] == '/' && uri[1] != '/')) {
			free(uri);
			continue;
		}
		/* Handle emails differently */
		{
			const char *colon = memchr(uri, ':', n);
			const char *at = memchr(uri, '@', n);

			if ((n >= 7 && mem_ieq(uri, 7, "mailto:", 7)) ||
			    (at != NULL && (colon == NULL || colon > at))) {
				canon_mail(uri, n, &nu);
				free(uri);
				continue;
			}
		}
		/* tr{\\}{/}; http:www -> http://www */
		for (i = 0; i < n; i++)
			if (b.data[i] == '\\')
				b.data[i] = '/';
		pl = 0;
		if (n >= 5 && mem_ieq(b.data, 5, "http:", 5))
			pl = 5;
		else if (n >= 6 && mem_ieq(b.data, 6, "https:", 6))
			pl = 6;
		if (pl > 0) {
			size_t sl = 0;

			while (sl < 2 && pl + sl < n && b.data[pl + sl] == '/')
				sl++;
			if (sl != 2) {
				struct buf t = BUF_INIT;

				buf_add(&t, b.data, pl);
				buf_adds(&t, "//");
				buf_add(&t, b.data + pl + sl, n - pl - sl);
				buf_reset(&b);
				buf_add(&b, t.data, t.len);
				buf_free(&t);
			}
		}
		if (has_pct_hex(b.data, b.len)) {
			struct buf t = BUF_INIT;

			sa_url_encode(b.data, b.len, &t);
			buf_reset(&b);
			buf_add(&b, t.data != NULL ? t.data : "", t.len);
			buf_free(&t);
		}
		/* unschemed: http:// (ftp:// for "ftp.") */
		for (i = 0; i < b.len && (b.data[i] == '-' || b.data[i] == '_' ||
		    (b.data[i] >= 'a' && b.data[i] <= 'z') ||
		    (b.data[i] >= 'A' && b.data[i] <= 'Z') ||
		    (b.data[i] >= '0' && b.data[i] <= '9')); i++)
			;
		if (!(i > 0 && i < b.len && b.data[i] == ':')) {
			struct buf t = BUF_INIT;

			buf_adds(&t, b.len >= 4 && memcmp(b.data, "ftp.", 4) == 0 ?
			    "ftp://" : "http://");
			buf_add(&t, b.data, b.len);
			buf_reset(&b);
			buf_add(&b, t.data, t.len);
			buf_free(&t);
		}
		/* http://www.foo.biz?id=3 -> http://www.foo.biz/?id=3 */
		pl = b.len >= 7 && mem_ieq(b.data, 7, "http://", 7) ? 7 :
		    b.len >= 8 && mem_ieq(b.data, 8, "https://", 8) ? 8 : 0;
		if (pl > 0) {
			for (i = pl; i < b.len && b.data[i] != '/' &&
			    b.data[i] != '?' && b.data[i] != '#'; i++)
				;
			if (i > pl && i < b.len && b.data[i] != '/') {
				struct buf t = BUF_INIT;

				buf_add(&t, b.data, i);
				buf_addc(&t, '/');
				buf_add(&t, b.data + i, b.len - i);
				buf_reset(&b);
				buf_add(&b, t.data, t.len);
				buf_free(&t);
			}
		}
		amp_decode(&b);
		if (b.data == NULL)
			buf_reserve(&b, 0);
		b.data[b.len] = '\0';
		if (b.len != n || memcmp(b.data, uri, n) != 0)
			sl_add(&nu, b.data, b.len);
		free(uri);

		/* ^(https?://)([^\@/?#]*\@)?([^/?#:]+)((?::(\d*))?.*)$ */
		s = b.data;
		n = b.len;
		pl = n >= 7 && mem_ieq(s, 7, "http://", 7) ? 7 :
		    n >= 8 && mem_ieq(s, 8, "https://", 8) ? 8 : 0;
		if (pl == 0 || memchr(s, '\n', n) != NULL)
			continue;
		for (i = pl; i < n && s[i] != '@' && s[i] != '/' &&
		    s[i] != '?' && s[i] != '#'; i++)
			;
		hs = pl;
		if (i < n && s[i] == '@') {
			has_auth = 1;
			as = pl;
			ae = i + 1;
			hs = i + 1;
		}
		for (he = hs; he < n && s[he] != '/' && s[he] != '?' &&
		    s[he] != '#' && s[he] != ':'; he++)
			;
		if (he == hs && has_auth) {
			has_auth = 0;
			hs = pl;
			for (he = hs; he < n && s[he] != '/' && s[he] != '?' &&
			    s[he] != '#' && s[he] != ':'; he++)
				;
		}
		if (he == hs)
			continue;
		(void)as;
		(void)ae;
		proto = s;
		rest = s + he;
		rest_len = n - he;
		rest_s = he;
		if (rest_len > 0 && rest[0] == ':') {
			ps = he + 1;
			for (pe = ps; pe < n && s[pe] >= '0' && s[pe] <= '9'; pe++)
				;
			port_len = pe - ps;
			has_port = port_len > 0;
		}
		(void)rest_s;
		/* Strip default ports from url and add to list */
		if (has_port) {
			int http = memcmp(proto, "http://", 7) == 0 && pl == 7;
			const char *dp = http ? ":80" : ":443";
			size_t dl = http ? 3 : 4;

			if (rest_len >= dl && memcmp(rest, dp, dl) == 0 &&
			    !(rest_len > dl && (isalnum((unsigned char)rest[dl]) ||
			    rest[dl] == '_'))) {
				noport = rest + dl;
				noport_len = rest_len - dl;
				push3(&nu, proto, pl, s + hs, he - hs, noport,
				    noport_len);
			}
		}
		/* idn_to_ascii: only lower-casing for ASCII names here. */
		buf_reset(&h);
		buf_add(&h, s + hs, he - hs);
		/* tr/\x00-\x20//d */
		{
			size_t o = 0;

			for (i = 0; i < h.len; i++)
				if ((unsigned char)h.data[i] > 0x20)
					h.data[o++] = h.data[i];
			if (o != h.len) {
				h.len = o;
				push3(&nu, proto, pl, h.data, h.len, rest,
				    rest_len);
			}
		}
		/* redirector patterns first, then the generic http check */
		{
			struct buf full = BUF_INIT;
			int found = 0;

			buf_add(&full, proto, pl);
			buf_add(&full, h.data, h.len);
			buf_add(&full, rest, rest_len);
			for (k = 0; k < N_REDIR && !found; k++) {
				size_t gs, ge;

				if (!rx_match(RX_REDIR + (int)k, md, full.data,
				    full.len, 0))
					continue;
				if (!rx_group(md, 1, &gs, &ge) ||
				    memchr(full.data + gs, '.', ge - gs) == NULL)
					continue;
				sl_add(&u, full.data + gs, ge - gs);
				found = 1;
			}
			buf_free(&full);
			for (i = 0; !found && i + 5 <= rest_len; i++) {
				size_t j, e;

				if (!mem_ieq(rest + i, 4, "http", 4))
					continue;
				j = i + 4;
				if (j < rest_len && (rest[j] == 's' ||
				    rest[j] == 'S') && j + 1 < rest_len &&
				    rest[j + 1] == ':')
					j++;
				if (j >= rest_len || rest[j] != ':')
					continue;
				for (e = j + 1; e < rest_len && rest[e] != '&' &&
				    rest[e] != '#'; e++)
					;
				if (e == j + 1)
					continue;
				if (memchr(rest + i, '.', e - i) != NULL)
					sl_add(&u, rest + i, e - i);
				break;
			}
		}
		/* remove "www.fakehostname.com@" username part */
		{
			const char *at = memchr(h.data, '@', h.len);

			if (at != NULL && at > h.data) {
				size_t cut = (size_t)(at - h.data) + 1;

				memmove(h.data, h.data + cut, h.len - cut);
				h.len -= cut;
				push3(&nu, proto, pl, h.data, h.len, rest,
				    rest_len);
			}
		}
		/* the host should end in an alphanumeric */
		for (changed = 0; h.len > 0 &&
		    !isalnum((unsigned char)h.data[h.len - 1]); h.len--)
			changed = 1;
		if (changed)
			push3(&nu, proto, pl, h.data, h.len, rest, rest_len);
		/* hosts which are IPs, in dotted, hex or octal forms */
		{
			size_t part[4], pend[4], np = 0, q = 0;
			int dotted = 1;

			while (np < 4 && dotted) {
				size_t d0 = q;

				if (q + 1 < h.len && h.data[q] == '0' &&
				    (h.data[q + 1] == 'x' || h.data[q + 1] == 'X') &&
				    q + 2 < h.len && hexval((unsigned char)
				    h.data[q + 2]) >= 0) {
					q += 2;
					while (q < h.len && hexval((unsigned char)
					    h.data[q]) >= 0)
						q++;
				} else
					while (q < h.len && h.data[q] >= '0' &&
					    h.data[q] <= '9')
						q++;
				if (q == d0) {
					dotted = 0;
					break;
				}
				part[np] = d0;
				pend[np] = q;
				np++;
				if (np < 4) {
					if (q < h.len && h.data[q] == '.')
						q++;
					else
						dotted = 0;
				}
			}
			if (dotted && np == 4 && q == h.len) {
				struct buf t = BUF_INIT;

				buf_add(&t, proto, pl);
				for (k = 0; k < 4; k++) {
					const char *o = h.data + part[k];
					size_t ol = pend[k] - part[k];

					if (ol > 2 && o[0] == '0' && (o[1] == 'x' ||
					    o[1] == 'X')) {
						uint64_t v = 0;
						size_t z;

						for (z = 2; z < ol; z++)
							v = v < UINT64_MAX / 16 ?
							    v * 16 + (uint64_t)hexval(
							    (unsigned char)o[z]) :
							    UINT64_MAX;
						buf_addf(&t, "%llu",
						    (unsigned long long)v);
					} else {
						size_t z = 0, y;

						while (z < ol && o[z] == '0')
							z++;
						/* ^0+([1-3][0-7]{0,2}|[4-7][0-7]?)\b */
						y = z;
						if (z > 0 && z < ol && o[z] >= '1' &&
						    o[z] <= '7') {
							size_t mx = o[z] <= '3' ? 3 : 2;

							y = z + 1;
							while (y < ol && y - z < mx &&
							    o[y] >= '0' && o[y] <= '7')
								y++;
						}
						if (y > z && y == ol) {
							unsigned long v = strtoul(
							    o + z, NULL, 8);

							buf_addf(&t, "%lu", v);
						} else
							buf_add(&t, o + z, ol - z);
					}
					if (k < 3)
						buf_addc(&t, '.');
				}
				buf_add(&t, rest, rest_len);
				sl_add(&nu, t.data, t.len);
				buf_free(&t);
			} else if (h.len > 2 && h.data[0] == '0' &&
			    (h.data[1] == 'x' || h.data[1] == 'X')) {
				uint64_t v = 0;
				size_t z, from;

				for (z = 2; z < h.len && hexval((unsigned char)
				    h.data[z]) >= 0; z++)
					;
				if (z == h.len) {
					struct buf t = BUF_INIT;

					from = h.len - 2 > 8 ? h.len - 8 : 2;
					for (z = from; z < h.len; z++)
						v = v * 16 + (uint64_t)hexval(
						    (unsigned char)h.data[z]);
					buf_add(&t, proto, pl);
					ulong_to_ip(v, &t);
					buf_add(&t, rest, rest_len);
					sl_add(&nu, t.data, t.len);
					buf_free(&t);
				}
			} else {
				size_t z;

				for (z = 0; z < h.len && h.data[z] >= '0' &&
				    h.data[z] <= '9'; z++)
					;
				if (h.len > 0 && z == h.len) {
					struct buf t = BUF_INIT;
					uint64_t v = 0;

					for (z = 0; z < h.len; z++)
						v = v <= (UINT64_MAX - 9) / 10 ?
						    v * 10 + (uint64_t)(h.data[z] -
						    '0') : UINT64_MAX;
					buf_add(&t, proto, pl);
					ulong_to_ip(v, &t);
					buf_add(&t, rest, rest_len);
					sl_add(&nu, t.data, t.len);
					buf_free(&t);
				} else if (pl == 7 && memcmp(proto, "http://", 7)
				    == 0 && !has_auth && (!has_port ||
				    (port_len == 2 && memcmp(s + ps, "80", 2) ==
				    0))) {
					/* http://foobar -> http://www.foobar.com
					 * (Bug 6596), not for valid domains */
					char nh[SM_FQDN_MAX + 1];
					size_t nl = he - hs, off = 0;

					if (lc_copy(nh, s + hs, nl) == 0 &&
					    strcmp(nh, "localhost") != 0) {
						if (nl > 4 && memcmp(nh, "www.", 4) == 0)
							off = 4;
						if (nl > off && memchr(nh + off, '.',
						    nl - off) == NULL &&
						    !domain_valid(nh, nl)) {
							struct buf t = BUF_INIT;

							buf_add(&t, proto, pl);
							buf_adds(&t, "www.");
							buf_add(&t, nh + off,
							    nl - off);
							buf_adds(&t, ".com");
							buf_add(&t, rest, rest_len);
							sl_add(&nu, t.data, t.len);
							buf_free(&t);
						}
					}
				}
			}
		}
	}
	/* the loop above changed @uris in place (s/\n//g, trimmed,
	 * s/\r//g): those forms, not the raw ones, are returned */
	for (i = 0; i < u.n; i++) {
		const char *v = u.v[i];
		size_t st, en, k;

		buf_reset(&b);
		for (st = 0; st < u.len[i] && (v[st] == ' ' || (v[st] >= '\t' &&
		    v[st] <= '\r')); st++)
			;
		for (en = u.len[i]; en > st && (v[en - 1] == ' ' ||
		    (v[en - 1] >= '\t' && v[en - 1] <= '\r')); en--)
			;
		for (k = st; k < en; k++)
			if (v[k] != '\n' && v[k] != '\r')
				buf_addc(&b, v[k]);
		sl_add(out, b.data != NULL ? b.data : "", b.len);
	}
	for (i = 0; i < nu.n; i++)
		sl_add(out, nu.v[i], nu.len[i]);
	sl_free(&u);
	sl_free(&nu);
	buf_free(&b);
	buf_free(&h);
}

/* RegistryBoundaries::uri_to_domain: 1 when the URI has a host with a
 * valid TLD (or an IP address). */
static int
uri_has_domain(pcre2_match_data *md, const char *u, size_t n)
{
	char l[SA_MAX_URI_LENGTH + 1];
	size_t i, s = 0, e;

	if (n > SA_MAX_URI_LENGTH)
		n = SA_MAX_URI_LENGTH;
	for (i = 0; i < n; i++)
		l[i] = u[i] >= 'A' && u[i] <= 'Z' ? (char)(u[i] + 32) : u[i];
	l[n] = '\0';
	if (strncmp(l, "javascript:", 11) == 0 || strncmp(l, "cid:", 4) == 0 ||
	    strncmp(l, "file:", 5) == 0)
		return 0;
	if (strncmp(l, "mailto:", 7) == 0) {
		char *q = strchr(l + 7, '?'), *at, *at2;

		if (q != NULL)
			*q = '\0';
		if ((at = strchr(l + 7, '@')) == NULL)
			return 0;
		if ((at2 = strchr(at + 1, '@')) != NULL &&
		    memchr(at + 1, '\n', (size_t)(at2 - at - 1)) == NULL)
			return 0;
		s = (size_t)(at - l) + 1;
		e = strlen(l);
	} else {
		/* s{^[a-z]+:/{0,2}}{}; s{[/?#].*}{}; s{^[^/]*\@}{};
		 * s{:\d*$}{} */
		for (i = 0; l[i] >= 'a' && l[i] <= 'z'; i++)
			;
		if (i > 0 && l[i] == ':') {
			s = i + 1;
			if (l[s] == '/')
				s++;
			if (l[s] == '/')
				s++;
		}
		for (e = s; l[e] != '\0' && l[e] != '/' && l[e] != '?' &&
		    l[e] != '#'; e++)
			;
		for (i = e; i > s; i--)
			if (l[i - 1] == '@') {
				s = i;
				break;
			}
		for (i = e; i > s && l[i - 1] >= '0' && l[i - 1] <= '9'; i--)
			;
		if (i > s && l[i - 1] == ':')
			e = i - 1;
	}
	/* %-escapes of printable characters left: not a host */
	for (i = s; i + 2 < e + 1 && i + 2 <= e; i++) {
		int h1, h2;

		if (l[i] != '%' || i + 2 >= e + 0 + 1)
			continue;
		h1 = hexval((unsigned char)l[i + 1]);
		h2 = hexval((unsigned char)l[i + 2]);
		if (h1 < 0 || h2 < 0)
			continue;
		if ((h1 >= 3 && h1 <= 6) || (h1 == 2 && h2 >= 1) ||
		    (h1 == 7 && h2 <= 14))
			return 0;
	}
	if (is_ip_address(md, l + s, e - s))
		return 1;
	return fqdn_valid(l + s, e - s) && domain_valid(l + s, e - s);
}

/*
 * add_uri_detail_list: the canonical forms of one URI join the list
 * (each cut to MAX_URI_LENGTH); with valid_domain only when one of them
 * has a valid host.
 */
static void
uri_detail_add(struct score_msg *sm, pcre2_match_data *md,
    const char *u, size_t n, int valid_domain)
{
	struct strlist c = { 0 };
	size_t i;
	int dom = 0;

	canonicalize(md, u, n, &c);
	if (c.n == 0) {
		sl_free(&c);
		return;
	}
	for (i = 0; i < c.n; i++) {
		if (c.len[i] > SA_MAX_URI_LENGTH)
			c.len[i] = SA_MAX_URI_LENGTH;
		if (!dom && uri_has_domain(md, c.v[i], c.len[i]))
			dom = 1;
	}
	if (valid_domain && !dom) {
		sl_free(&c);
		return;
	}
	for (i = 0; i < c.n; i++)
		uri_add(sm, c.v[i], c.len[i]);
	sl_free(&c);
}

/*
 * Can _tbirdurire give a URI in this line? Every kept match needs an "@"
 * (mail), or a "." followed by a byte the URI may hold ("www.x",
 * "host.tld", "://" URIs have a host); lines without either, most prose,
 * skip the regex. Exact: it only skips lines that could yield nothing.
 */
static int
may_hold_uri(const char *p, size_t n)
{
	const char *q = p, *e = p + n;

	if (memchr(p, '@', n) != NULL)
		return 1;
	while ((q = memchr(q, '.', (size_t)(e - q))) != NULL && ++q < e)
		if (strchr("><\"`}]{[| \t\n\r\f\v\x1b\xa0", *q) == NULL ||
		    *q == '\0')
			return 1;
	return 0;
}

/* PerMsgStatus::_process_text_uri_list over one rendered body line
 * ("seen" spans the whole body, as there). */
static void
text_uris(struct score_msg *sm, pcre2_match_data *md, const char *p,
    size_t n, struct strlist *seen)
{
	size_t pos = 0;

	if (!may_hold_uri(p, n))
		return;
	while (pos < n && rx_match(RX_TBIRD, md, p, n, pos)) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		size_t s, e, hs, he, i;
		int type;
		struct buf u = BUF_INIT;
		const char *r;
		size_t rl;

		pos = ov[1] > pos ? ov[1] : pos + 1;
		if (rx_group(md, 1, &s, &e))
			type = 1;	/* scheme */
		else if (rx_group(md, 2, &s, &e))
			type = 2;	/* mail */
		else if (rx_group(md, 3, &s, &e))
			type = 3;	/* schemeless */
		else
			continue;
		r = p + s;
		rl = e - s;
		/* ThunderBird: ")" ends it when no "(" precedes it */
		for (i = 0; i < rl && r[i] != '('; i++)
			if (r[i] == ')') {
				rl = i;
				break;
			}
		while (rl > 0 && strchr("-~!@#^&*()_+=:;'?,.", r[rl - 1]) != NULL)
			rl--;
		if (sl_has(seen, r, rl))
			continue;
		sl_add(seen, r, rl);
		if (type == 2 && memchr(r, '@', rl) == NULL)
			continue;
		if (type == 3 && rx_group(md, 4, &hs, &he) &&
		    !fqdn_valid(p + hs, he - hs))
			continue;
		if (rl >= 4 && (mem_ieq(r, 4, "cid:", 4) ||
		    mem_ieq(r, 4, "mid:", 4)))
			continue;
		/* ^\w+:\/{0,2}$ : empty */
		for (i = 0; i < rl && (isalnum((unsigned char)r[i]) ||
		    r[i] == '_'); i++)
			;
		if (i > 0 && i < rl && r[i] == ':') {
			size_t j = i + 1;

			while (j < rl && j < i + 3 && r[j] == '/')
				j++;
			if (j == rl)
				continue;
		}
		if (!((rl >= 5 && mem_ieq(r, 5, "http:", 5)) ||
		    (rl >= 6 && mem_ieq(r, 6, "https:", 6)) ||
		    (rl >= 4 && mem_ieq(r, 4, "ftp:", 4)) ||
		    (rl >= 7 && mem_ieq(r, 7, "mailto:", 7)))) {
			const char *at = memchr(r, '@', rl);
			const char *lat = memrchr(r, '@', rl);
			const char *sl = memchr(r, '/', rl);
			size_t w = 3;

			while (w < 5 && w < rl && r[w] >= '0' && r[w] <= '9')
				w++;
			if (rl >= 4 && mem_ieq(r, 4, "ftp.", 4))
				buf_adds(&u, "ftp://");
			else if (rl > w && mem_ieq(r, 3, "www", 3) && r[w] == '.')
				buf_adds(&u, "http://");
			else if (sl != NULL && lat != NULL && lat > sl + 1)
				buf_adds(&u, "http://");
			else if (at != NULL) {
				/* \@.+?\. */
				size_t a = (size_t)(at - r), q;

				if (a + 2 >= rl || memchr(r + a + 2, '.',
				    rl - a - 2) == NULL)
					continue;
				if (mem_find(r, rl, "&nbsp;", 6) != NULL)
					continue;
				/* s/^(?:skype|e?-?mail)?:+//i */
				q = 0;
				if (rl >= 5 && mem_ieq(r, 5, "skype", 5))
					q = 5;
				else {
					size_t t = 0;

					if (t < rl && (r[t] == 'e' || r[t] == 'E'))
						t++;
					if (t < rl && r[t] == '-')
						t++;
					if (rl - t >= 4 && mem_ieq(r + t, 4,
					    "mail", 4))
						q = t + 4;
				}
				if (q < rl && r[q] == ':') {
					while (q < rl && r[q] == ':')
						q++;
					r += q;
					rl -= q;
				} else if (r[0] == ':') {
					while (rl > 0 && r[0] == ':') {
						r++;
						rl--;
					}
				}
				buf_adds(&u, "mailto:");
			} else {
				if (memchr(r, '.', rl) == NULL)
					continue;
				buf_adds(&u, "http://");
			}
		}
		buf_add(&u, r, rl);
		if (u.len >= 7 && mem_ieq(u.data, 7, "mailto:", 7)) {
			const char *at;
			size_t hl;

			if (has_pct_hex(u.data, u.len)) {
				struct buf t = BUF_INIT;

				sa_url_encode(u.data, u.len, &t);
				buf_reset(&u);
				buf_add(&u, t.data != NULL ? t.data : "", t.len);
				buf_free(&t);
			}
			if ((at = memchr(u.data, '@', u.len)) == NULL) {
				buf_free(&u);
				continue;
			}
			at++;
			for (hl = 0; at + hl < u.data + u.len && at[hl] != '?' &&
			    at[hl] != '&' && at[hl] != '>'; hl++)
				;
			while (hl >= 3 && memcmp(at + hl - 3, "%20", 3) == 0)
				hl -= 3;
			if (!domain_valid(at, hl)) {
				buf_free(&u);
				continue;
			}
		}
		uri_detail_add(sm, md, u.data, u.len, 1);
		buf_free(&u);
	}
}

size_t
sm_uris(struct score_msg *sm, const char *const **uris_out)
{
	size_t i;

	if (!sm->uris_done) {
		struct strlist seen = { 0 };
		pcre2_match_data *md;

		sm->uris_done = 1;
		need_body(sm);
		md = rx_md();
		/* _process_text_uri_list: the rendered body, line by line;
		 * "seen" spans the whole body as in SpamAssassin. */
		seen.max = SM_URI_MAX_SEEN;
		for (i = 0; i < sm->nbody && sm->nuris < SCORE_MAX_URIS; i++)
			text_uris(sm, md, sm->body[i].p, sm->body[i].len,
			    &seen);
		/* _process_html_uri_list */
		for (i = 0; i < sm->nhtml_uris && sm->nuris < SCORE_MAX_URIS;
		    i++)
			uri_detail_add(sm, md, sm->html_uris[i],
			    strlen(sm->html_uris[i]), 0);
		sl_free(&seen);
		pcre2_match_data_free(md);
	}
	*uris_out = sm->uris;
	return sm->nuris;
}

/* ---- headers ---- */

/* Fields whose values SpamAssassin never RFC 2047-decodes (bug 6945). */
static int
no_mime_decode(const char *name)
{
	static const char *const list[] = { "received", "message-id",
	    "resent-message-id", "date", "resent-date", "mime-version",
	    "references", "in-reply-to", NULL };
	size_t i, n = strlen(name);

	if (n >= 5 && mem_ieq(name, 5, "list-", 5))
		return 1;
	for (i = 0; list[i] != NULL; i++)
		if (mem_ieq(name, n, list[i], strlen(list[i])))
			return 1;
	return 0;
}

/* Node::header + _decode_header: s/\n[ \t]+/ /g, trim, charset guess
 * for raw 8-bit, RFC 2047 unless the field is exempt; then "\n". */
static void
decode_value(const char *name, struct span v, struct buf *out)
{
	struct buf u = BUF_INIT, n8 = BUF_INIT;
	size_t i = 0, b, e;
	const char *p;
	size_t len;

	while (i < v.len) {
		if (v.p[i] == '\n' && i + 1 < v.len &&
		    (v.p[i + 1] == ' ' || v.p[i + 1] == '\t')) {
			buf_addc(&u, ' ');
			i++;
			while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
				i++;
			continue;
		}
		buf_addc(&u, v.p[i]);
		i++;
	}
	p = u.data != NULL ? u.data : "";
	len = u.len;
	b = 0;
	e = len;
	while (b < e && (p[b] == ' ' || (p[b] >= '\t' && p[b] <= '\r')))
		b++;
	while (e > b && (p[e - 1] == ' ' || (p[e - 1] >= '\t' &&
	    p[e - 1] <= '\r')))
		e--;
	p += b;
	len = e - b;
	if (has_8bit(p, len)) {
		sa_normalize(&n8, "utf-8", p, len);
		p = n8.data;
		len = n8.len;
	}
	if (!no_mime_decode(name) && mem_find(p, len, "=?", 2) != NULL) {
		/* SpamAssassin decodes ISO-8859-1 words as Windows-1252
		 * (Node.pm _normalize): relabel them before decoding. */
		struct buf w = BUF_INIT;
		size_t k = 0;
		const char *q;

		while ((q = mem_find(p + k, len - k, "=?", 2)) != NULL) {
			size_t at = (size_t)(q - p) + 2;

			buf_add(&w, p + k, at - k);
			k = at;
			if (len - at >= 11 && mem_ieq(p + at, 11, "iso-8859-1?",
			    11)) {
				buf_adds(&w, "windows-1252?");
				k = at + 11;
			}
		}
		buf_add(&w, p + k, len - k);
		rfc2047_decode(out, w.data, w.len);
		buf_free(&w);
	} else
		buf_add(out, p, len);
	buf_addc(out, '\n');
	buf_free(&u);
	buf_free(&n8);
}

struct results {
	struct buf b;		/* values, each NUL-terminated */
	size_t off[SM_MAX_RESULTS];
	size_t len[SM_MAX_RESULTS];
	size_t n;
};

/* An empty result set (not zeroed whole: the arrays are 64 KiB and
 * only the first n entries are read). */
static struct results *
res_new(void)
{
	struct results *r = xmalloc(sizeof *r);

	r->b = (struct buf)BUF_INIT;
	r->n = 0;
	return r;
}

static void
res_add(struct results *r, const char *p, size_t len)
{
	if (r->n >= SM_MAX_RESULTS)
		return;
	r->off[r->n] = r->b.len;
	r->len[r->n] = len;
	buf_add(&r->b, p, len);
	buf_addc(&r->b, '\0');
	r->n++;
}

/* All fields called name: raw values (with their "\n") or decoded. */
static void
get_fields(struct score_msg *sm, const char *name, int raw,
    struct results *r)
{
	size_t i, nl = strlen(name);
	struct buf v = BUF_INIT;

	for (i = 0; i < sm->m->nhdrs; i++) {
		const struct hdr *h = &sm->m->hdrs[i];

		if (!mem_ieq(h->name.p, h->name.len, name, nl))
			continue;
		buf_reset(&v);
		if (raw) {
			buf_add(&v, h->value.p, h->value.len);
			buf_addc(&v, '\n');
		} else
			decode_value(name, h->value, &v);
		res_add(r, v.data, v.len);
	}
	buf_free(&v);
}

static const char *
envelope_from(struct score_msg *sm)
{
	const struct sm_relay *rl;
	size_t nr;
	static const char *const hdrs[] = { "X-Envelope-From",
	    "Envelope-Sender", "Return-Path", NULL };
	size_t i, k;

	if (sm->envf_done)
		return sm->envf;
	sm->envf_done = 1;
	nr = sm_relays(sm, &rl);
	/* the last untrusted relay (relays_untrusted->[0]), else the first
	 * trusted one (relays_trusted->[-1]): the hop that entered our
	 * trust boundary */
	for (k = 0; k < nr && rl[k].intl; k++)
		;
	if (k == nr && nr > 0)
		k = nr - 1;
	if (nr > 0 && rl[k].envfrom != NULL &&
	    (strchr(rl[k].envfrom, '@') > rl[k].envfrom ||
	    rl[k].envfrom[0] == '\0')) {
		sm->envf = arena_strdup(sm->a, rl[k].envfrom);
		return sm->envf;
	}
	{
		struct buf v = BUF_INIT;

		if (sm_header(sm, "X-Sender:first:addr", 0, &v) == 1 &&
		    memchr(v.data, '@', v.len) != NULL) {
			for (i = 0; i < sm->m->nhdrs; i++)
				if (span_ieq(sm->m->hdrs[i].name, "received") &&
				    mem_find(sm->m->hdrs[i].value.p,
				    sm->m->hdrs[i].value.len, "(fetchmail",
				    10) != NULL) {
					buf_free(&v);
					return NULL;
				}
		}
		buf_free(&v);
	}
	for (k = 0; hdrs[k] != NULL; k++) {
		struct buf v = BUF_INIT, q = BUF_INIT;
		int after = 0, seen_rcvd = 0;

		buf_adds(&q, hdrs[k]);
		buf_adds(&q, ":first:addr");
		if (sm_header(sm, q.data, 0, &v) != 1) {
			buf_free(&q);
			buf_free(&v);
			continue;
		}
		for (i = 0; i < sm->m->nhdrs; i++) {
			if (span_ieq(sm->m->hdrs[i].name, "received"))
				seen_rcvd = 1;
			else if (seen_rcvd && span_ieq(sm->m->hdrs[i].name,
			    hdrs[k]))
				after = 1;
		}
		if (!after)
			sm->envf = arena_strndup(sm->a, v.data, v.len);
		buf_free(&q);
		buf_free(&v);
		if (!after || k == 0)
			return sm->envf;
	}
	return NULL;
}

/* X-Spam-Relays-Trusted (intl 1) and -Untrusted (intl 0): without
 * trusted_networks, internal and trusted are the same set. */
static void
relay_strings(struct score_msg *sm)
{
	const struct sm_relay *rl;
	size_t n, k;
	struct buf b = BUF_INIT;

	if (sm->relays_str != NULL)
		return;
	n = sm_relays(sm, &rl);
	for (k = 0; k < n && rl[k].intl; k++)
		;
	relays_format(rl, k, &b);
	sm->relays_trusted_str = arena_strndup(sm->a, b.data != NULL ?
	    b.data : "", b.len);
	buf_reset(&b);
	relays_format(rl + k, n - k, &b);
	sm->relays_str = arena_strndup(sm->a, b.data != NULL ? b.data : "",
	    b.len);
	buf_free(&b);
}

/* \[[\d:.]+\] over p[0..n) */
static int
domain_literal(const char *p, size_t n)
{
	size_t i;

	if (n < 3 || p[0] != '[' || p[n - 1] != ']')
		return 0;
	for (i = 1; i + 1 < n; i++)
		if (!isdigit((unsigned char)p[i]) && p[i] != ':' && p[i] != '.')
			return 0;
	return 1;
}

/*
 * _parse_header_addresses for a value without quotes, angle brackets,
 * comments or groups: a list of tokens split at "," or ";", each an
 * address when it matches $header_address_mailre whole, else a phrase
 * (the display name). addr_parse_list() is more forgiving there
 * ("[ufa]@example.com" becomes an address), SpamAssassin is not.
 * Adds the addresses (mods SM_H_ADDR) or phrases to o. Returns 0, or -1
 * when the value is not that simple (nothing added).
 */
static int
sa_simple_addrs(struct span v, unsigned mods, struct results *o)
{
	static const char lbad[] = " \t\r\n<>()[],:;@";
	static const char dbad[] = "\" \t\r\n<>()[],:;";
	size_t i, b, e, k, at, end;

	for (i = 0; i < v.len; i++)
		if (strchr("\"<>():\\", v.p[i]) != NULL || v.p[i] == '\0')
			return -1;
	/* every token but a last one must hold more than white space */
	for (b = 0; b < v.len; b = e + 1) {
		for (e = b; e < v.len && v.p[e] != ',' && v.p[e] != ';'; e++)
			;
		for (k = b; k < e && isspace((unsigned char)v.p[k]); k++)
			;
		if (k == e && (e < v.len || b == 0))
			return -1;
	}
	for (b = 0; b < v.len; b = e + 1) {
		int ok = 1;

		for (e = b; e < v.len && v.p[e] != ',' && v.p[e] != ';'; e++)
			;
		for (k = b; k < e && isspace((unsigned char)v.p[k]); k++)
			;
		for (end = e; end > k && isspace((unsigned char)v.p[end - 1]);
		    end--)
			;
		if (k == end)
			continue;
		for (at = k; at < end && v.p[at] != '@'; at++)
			if (strchr(lbad, v.p[at]) != NULL)
				ok = 0;
		if (at == k || at + 1 >= end)
			ok = 0;
		if (ok && !domain_literal(v.p + at + 1, end - at - 1)) {
			for (i = at + 1; i < end; i++)
				if (strchr(dbad, v.p[i]) != NULL)
					ok = 0;
		}
		if (mods & SM_H_ADDR) {
			if (!ok)
				continue;
			/* cut at the second "@" */
			for (i = at + 1; i < end && v.p[i] != '@'; i++)
				;
			res_add(o, v.p + k, i - k);
		} else if (!ok)
			res_add(o, v.p + k, end - k);
	}
	return 0;
}

/*
 * _parse_header_addresses copies the comment after an address to the
 * phrase when there is no phrase: "user@host (Full Name)". Only that
 * shape (one bare address, one comment without nested parentheses or
 * escapes, nothing after it) is handled here. Returns the comment text
 * (arena-owned) or NULL.
 */
static const char *
sa_comment_phrase(struct arena *a, struct span v)
{
	size_t b = 0, e = v.len, o, c, i;

	while (b < e && isspace((unsigned char)v.p[b]))
		b++;
	while (e > b && isspace((unsigned char)v.p[e - 1]))
		e--;
	if (e - b < 3 || v.p[e - 1] != ')')
		return NULL;
	for (o = b; o < e && v.p[o] != '('; o++)
		if (strchr("\"<>,;", v.p[o]) != NULL)	/* NUL too */
			return NULL;
	if (o == b || o == e)
		return NULL;
	/* the address: one token with an "@", then white space */
	for (c = b; c < o && !isspace((unsigned char)v.p[c]); c++)
		;
	if (memchr(v.p + b, '@', c - b) == NULL)
		return NULL;
	for (i = c; i < o; i++)
		if (!isspace((unsigned char)v.p[i]))
			return NULL;
	for (i = o + 1; i + 1 < e; i++)
		if (v.p[i] == '(' || v.p[i] == ')' || v.p[i] == '\\' ||
		    v.p[i] == '\0')
			return NULL;
	return arena_strndup(a, v.p + o + 1, e - o - 2);
}

/*
 * Util.pm _parse_header_addresses (the internal parser SpamAssassin uses
 * when Email::Address::XS is absent, as on Debian): an address must match
 * $header_address_mailre, a local part without "@", white space or
 * <>()[],:; (unless quoted) and a domain without white space or
 * "<>()[],:; (unless a [digits] literal); what fails is a phrase, not an
 * address. The local part here has lost its quotes, so it is checked only
 * when the value has no '"' at all. A passing address is then cut at its
 * second "@" (s/^(([^\@]*)\@([^\@]*)).*\/$1/). Returns the address
 * (arena-owned) or NULL.
 */
static char *
sa_mailre_addr(struct arena *a, const struct addr *ad, struct span value)
{
	static const char lbad[] = " \t\r\n<>()[],:;";
	static const char dbad[] = "\" \t\r\n<>()[],:;";
	char *s, *at, *d;
	size_t i, dl, ll;

	if (ad->local == NULL)
		return NULL;
	ll = strlen(ad->local);
	dl = ad->domain != NULL ? strlen(ad->domain) : 0;
	s = arena_alloc(a, ll + dl + 2);
	memcpy(s, ad->local, ll);
	s[ll] = '\0';
	if (ad->domain != NULL) {
		s[ll] = '@';
		memcpy(s + ll + 1, ad->domain, dl + 1);
	}
	/* no "@" at all: kept as before (not SpamAssassin's rule) */
	if ((at = strchr(s, '@')) == NULL)
		return s;
	if (memchr(value.p, '"', value.len) == NULL) {
		if (at == s)
			return NULL;
		for (i = 0; s + i < at; i++)
			if (strchr(lbad, s[i]) != NULL)
				return NULL;
	}
	d = at + 1;
	dl = strlen(d);
	if (dl == 0)
		return NULL;
	if (!domain_literal(d, dl))
		for (i = 0; i < dl; i++)
			if (strchr(dbad, d[i]) != NULL)
				return NULL;
	if ((at = strchr(d, '@')) != NULL)
		*at = '\0';
	return s;
}

/*
 * PerMsgStatus::_get, :host/:domain and :ip: per value, the host of the
 * address (after its last "@" with :addr, else the first valid host name,
 * trying after an "@" first), its registrable domain with :domain; or the
 * first IP address (IPv4 or IPv6). Frees r, returns the new results.
 */
static struct results *
host_or_ip(struct results *r, unsigned mods)
{
	struct results *o = res_new();
	pcre2_match_data *md = rx_md();
	size_t i, s, e;

	for (i = 0; i < r->n; i++) {
		const char *l = r->b.data + r->off[i];
		size_t ll = r->len[i], pos;
		int found = 0;

		if (!(mods & SM_H_HOST)) {
			if (rx_match(RX_IP, md, l, ll, 0) &&
			    rx_group(md, 1, &s, &e))
				res_add(o, l + s, e - s);
			continue;
		}
		if (mods & SM_H_ADDR) {
			/* /.*\@(\S+)/ */
			size_t k = ll;

			while (k > 0 && !found) {
				k--;
				if (l[k] != '@')
					continue;
				for (e = k + 1; e < ll && !isspace((unsigned char)
				    l[e]); e++)
					;
				if (e > k + 1) {
					s = k + 1;
					found = 1;
				}
			}
		} else {
			if (rx_match(RX_HOST_AT, md, l, ll, 0) &&
			    rx_group(md, 1, &s, &e) && fqdn_valid(l + s, e - s))
				found = 1;
			for (pos = 0; !found && pos < ll &&
			    rx_match(RX_HOST, md, l, ll, pos);) {
				PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

				if (rx_group(md, 1, &s, &e) &&
				    fqdn_valid(l + s, e - s))
					found = 1;
				pos = ov[1] > pos ? ov[1] : pos + 1;
			}
		}
		if (!found)
			continue;
		if (mods & SM_H_DOMAIN) {
			char d[SM_FQDN_MAX + 1];
			size_t dl = trim_domain(l + s, e - s, d);

			res_add(o, d, dl);
		} else
			res_add(o, l + s, e - s);
	}
	pcre2_match_data_free(md);
	buf_free(&r->b);
	free(r);
	return o;
}

/*
 * ALL-TRUSTED, ALL-INTERNAL, ALL-UNTRUSTED, ALL-EXTERNAL
 * (PerMsgStatus::get_all_hdrs_in_rcvd_index_range): the header block cut
 * at the Received: field of the first external relay, K. The untrusted
 * part runs from that field to the end (nothing before the first
 * Received: is in it); the trusted part from the top up to and including
 * it. Without internal_networks, trusted is internal. Returns 1 and sets
 * *untrusted_out for those names, 0 for any other.
 */
static int
all_part_name(const char *name, int *untrusted_out)
{
	if (strcmp(name, "ALL-TRUSTED") == 0 ||
	    strcmp(name, "ALL-INTERNAL") == 0) {
		*untrusted_out = 0;
		return 1;
	}
	if (strcmp(name, "ALL-UNTRUSTED") == 0 ||
	    strcmp(name, "ALL-EXTERNAL") == 0) {
		*untrusted_out = 1;
		return 1;
	}
	return 0;
}

/* Is header i in that part? *cur tracks the Received: index (start -1),
 * *stop is set once the trusted part is complete. */
static int
all_part_has(struct score_msg *sm, size_t i, int untrusted, long *cur,
    int *stop)
{
	if (!sm->ext_done) {
		sm->ext_index = relays_external_index(sm->a, sm->m, sm->conn);
		sm->ext_done = 1;
	}
	if (span_ieq(sm->m->hdrs[i].name, "received"))
		(*cur)++;
	if (untrusted)
		return *cur >= sm->ext_index;
	if (sm->ext_index < 0) {
		*stop = 1;
		return 0;
	}
	if (*cur == sm->ext_index)
		*stop = 1;
	return 1;
}

int
sm_header(struct score_msg *sm, const char *req, unsigned mods,
    struct buf *out)
{
	struct results *r = res_new();
	char name[MSG_MAX_NAME + 1];
	const char *c;
	size_t nl, i;
	int raw, needraw, ret = 0, part_untr = 0;

	/* "NAME:mod:mod" in the name adds to mods. */
	c = strchr(req, ':');
	nl = c != NULL ? (size_t)(c - req) : strlen(req);
	if (nl > MSG_MAX_NAME)
		nl = MSG_MAX_NAME;
	memcpy(name, req, nl);
	name[nl] = '\0';
	while (c != NULL && *c == ':') {
		const char *m = c + 1;
		size_t ml;

		c = strchr(m, ':');
		ml = c != NULL ? (size_t)(c - m) : strlen(m);
		if (mem_ieq(m, ml, "raw", 3) && ml == 3)
			mods |= SM_H_RAW;
		else if (ml == 4 && memcmp(m, "addr", 4) == 0)
			mods |= SM_H_ADDR;
		else if (ml == 4 && memcmp(m, "name", 4) == 0)
			mods |= SM_H_NAME;
		else if (ml == 4 && memcmp(m, "host", 4) == 0)
			mods |= SM_H_HOST;
		else if (ml == 6 && memcmp(m, "domain", 6) == 0)
			mods |= SM_H_DOMAIN | SM_H_HOST;
		else if (ml == 2 && memcmp(m, "ip", 2) == 0)
			mods |= SM_H_IP;
		else if (ml == 5 && memcmp(m, "first", 5) == 0)
			mods |= SM_H_FIRST;
		else if (ml == 4 && memcmp(m, "last", 4) == 0)
			mods |= SM_H_LAST;
	}
	if (mods & SM_H_DOMAIN)
		mods |= SM_H_HOST;
	raw = (mods & SM_H_RAW) != 0;
	needraw = raw || (mods & (SM_H_ADDR | SM_H_NAME));

	if (strcmp(name, "ALL") == 0 || all_part_name(name, &part_untr)) {
		long cur = -1;
		int stop = 0, part = strcmp(name, "ALL") != 0;

		for (i = 0; i < sm->m->nhdrs && !stop; i++) {
			const struct hdr *h = &sm->m->hdrs[i];
			struct buf v = BUF_INIT;

			if (part && !all_part_has(sm, i, part_untr, &cur,
			    &stop))
				continue;

			if (raw) {
				buf_add(&v, h->raw.p, h->raw.len);
				if (v.len == 0 || v.data[v.len - 1] != '\n')
					buf_addc(&v, '\n');
			} else {
				char nm[MSG_MAX_NAME + 1];
				size_t k = h->name.len < MSG_MAX_NAME ?
				    h->name.len : MSG_MAX_NAME;

				memcpy(nm, h->name.p, k);
				nm[k] = '\0';
				buf_add(&v, h->name.p, h->name.len);
				buf_adds(&v, ": ");
				decode_value(nm, h->value, &v);
			}
			res_add(r, v.data, v.len);
			buf_free(&v);
		}
		goto join;
	} else if (mem_ieq(name, nl, "envelopefrom", 12)) {
		const char *e = envelope_from(sm);

		if (e != NULL)
			res_add(r, e, strlen(e));
	} else if (mem_ieq(name, nl, "x-spam-relays-untrusted", 23) ||
	    mem_ieq(name, nl, "x-spam-relays-external", 22)) {
		relay_strings(sm);
		res_add(r, sm->relays_str, strlen(sm->relays_str));
	} else if (mem_ieq(name, nl, "x-spam-relays-trusted", 21) ||
	    mem_ieq(name, nl, "x-spam-relays-internal", 22)) {
		relay_strings(sm);
		res_add(r, sm->relays_trusted_str,
		    strlen(sm->relays_trusted_str));
	} else if (mem_ieq(name, nl, "tocc", 4)) {
		get_fields(sm, "To", needraw, r);
		get_fields(sm, "Cc", needraw, r);
	} else if (strcmp(name, "MESSAGEID") == 0) {
		get_fields(sm, "X-Message-Id", needraw, r);
		get_fields(sm, "Resent-Message-Id", needraw, r);
		get_fields(sm, "X-Original-Message-ID", needraw, r);
		get_fields(sm, "Message-Id", needraw, r);
	} else
		get_fields(sm, name, needraw, r);

	if (r->n == 0)
		goto join;
	if (mods & SM_H_FIRST)
		r->n = 1;
	else if (mods & SM_H_LAST) {
		r->off[0] = r->off[r->n - 1];
		r->len[0] = r->len[r->n - 1];
		r->n = 1;
	}
	if (mods & (SM_H_ADDR | SM_H_NAME)) {
		struct results *o = res_new();

		for (i = 0; i < r->n; i++) {
			struct addr *ad;
			size_t na, k;

			if (sa_simple_addrs((struct span){ r->b.data +
			    r->off[i], r->len[i] }, mods, o) == 0)
				continue;
			na = addr_parse_list(sm->a, (struct span){ r->b.data +
			    r->off[i], r->len[i] }, &ad);
			for (k = 0; k < na; k++) {
				struct span val = { r->b.data + r->off[i],
				    r->len[i] };
				char *as = sa_mailre_addr(sm->a, &ad[k], val);
				const char *nm = ad[k].name;

				/* "addr (Full Name)": the comment is the
				 * phrase when there is none */
				if (nm == NULL && na == 1)
					nm = sa_comment_phrase(sm->a, val);
				/* a bare token that is no address is
				 * SpamAssassin's phrase */
				if (as == NULL && nm == NULL &&
				    ad[k].local != NULL &&
				    memchr(val.p, '<', val.len) == NULL) {
					struct buf t = BUF_INIT;

					buf_adds(&t, ad[k].local);
					if (ad[k].domain != NULL) {
						buf_addc(&t, '@');
						buf_adds(&t, ad[k].domain);
					}
					nm = arena_strndup(sm->a,
					    t.data != NULL ? t.data : "", t.len);
					buf_free(&t);
				}
				if (mods & SM_H_ADDR) {
					if (as != NULL)
						res_add(o, as, strlen(as));
				} else if (nm != NULL) {
					struct buf v = BUF_INIT;

					squash_ws(&v, nm, strlen(nm), 1);
					/* trim; s/^'(.*?)'$/$1/ */
					{
						size_t b = 0, e = v.len;

						while (b < e && v.data[b] == ' ')
							b++;
						while (e > b && v.data[e - 1] == ' ')
							e--;
						if (e - b >= 2 && v.data[b] == '\'' &&
						    v.data[e - 1] == '\'') {
							b++;
							e--;
						}
						res_add(o, v.data + b, e - b);
					}
					buf_free(&v);
				}
			}
		}
		buf_free(&r->b);
		free(r);
		r = o;
	}
	if (r->n > 0 && (mods & (SM_H_HOST | SM_H_IP)))
		r = host_or_ip(r, mods);
join:
	/* Check.pm: join with "" when values end in "\n", else "\n". */
	for (i = 0; i < r->n; i++) {
		if (i > 0 && !(r->len[0] > 0 &&
		    r->b.data[r->off[0] + r->len[0] - 1] == '\n'))
			buf_addc(out, '\n');
		buf_add(out, r->b.data + r->off[i], r->len[i]);
	}
	if (out->data == NULL)
		buf_reserve(out, 0);
	if (out->data != NULL)
		out->data[out->len] = '\0';
	ret = r->n > 0;
	buf_free(&r->b);
	free(r);
	return ret;
}

size_t
sm_mimeheader(struct score_msg *sm, const char *name, int raw,
    int (*fn)(void *arg, const char *val, size_t len), void *arg)
{
	size_t i, k, n = 0;
	struct buf v = BUF_INIT;

	need_parts(sm);
	/* Every part with a header (PerMsgStatus: all parts of the tree). */
	for (i = 0; i < sm->nparts; i++) {
		const struct mime_part *mp = sm->parts[i].mp;
		const struct mime_part *q;

		/* Walk up to cover multipart containers once, via the
		 * first leaf of each. */
		for (q = mp; q != NULL; q = q->parent) {
			if (q != mp && q->children != NULL) {
				const struct mime_part *f = q->children;

				while (f->children != NULL)
					f = f->children;
				if (f != mp)
					break;
			}
			for (k = 0; k < q->nhdrs; k++) {
				if (!span_ieq(q->hdrs[k].name, name))
					continue;
				buf_reset(&v);
				if (raw) {
					buf_add(&v, q->hdrs[k].value.p,
					    q->hdrs[k].value.len);
					buf_addc(&v, '\n');
				} else
					decode_value(name, q->hdrs[k].value, &v);
				n++;
				if (fn(arg, v.data, v.len) != 0) {
					buf_free(&v);
					return n;
				}
			}
		}
	}
	buf_free(&v);
	return n;
}

/* ---- the score_msg ---- */

struct score_msg *
score_msg_new(struct msg *m, const struct score_conn *conn)
{
	struct score_msg *sm = xcalloc(1, sizeof(*sm));

	sm->m = m;
	sm->conn = conn;
	sm->a = arena_new();
	return sm;
}

void
score_msg_free(struct score_msg **smp)
{
	struct score_msg *sm = *smp;

	if (sm == NULL)
		return;
	arena_free(&sm->a);
	free(sm);
	*smp = NULL;
}

void **
sm_eval_slot(struct score_msg *sm)
{
	return &sm->eval_slot;
}

void **
sm_run_slot(struct score_msg *sm)
{
	return &sm->run_slot;
}

struct msg *
sm_msg(struct score_msg *sm)
{
	return sm->m;
}

const struct score_conn *
sm_conn(struct score_msg *sm)
{
	return sm->conn;
}

struct arena *
sm_arena(struct score_msg *sm)
{
	return sm->a;
}

void
sm_set_bayes(struct score_msg *sm, struct bayes *b)
{
	if (sm->bayes != b)
		sm->bayes_cached = 0;
	sm->bayes = b;
}

struct bayes *
sm_bayes(struct score_msg *sm)
{
	return sm->bayes;
}

int
sm_bayes_cached(struct score_msg *sm, double *p_out)
{
	if (!sm->bayes_cached)
		return 0;
	*p_out = sm->bayes_p;
	return 1;
}

void
sm_bayes_set_cached(struct score_msg *sm, double p)
{
	sm->bayes_p = p;
	sm->bayes_cached = 1;
}

size_t
sm_relays(struct score_msg *sm, const struct sm_relay **out)
{
	if (!sm->relays_done) {
		sm->relays_done = 1;
		sm->nrelays = relays_parse(sm->a, sm->m, sm->conn, &sm->relays);
	}
	*out = sm->relays;
	return sm->nrelays;
}
