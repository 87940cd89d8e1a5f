/*
 * msg.h - the message model: one message, read once, indexed.
 *
 * A message is read from a file descriptor exactly once by msg_spool(),
 * which streams it to a spool file (the delivery's tmp/ file) while
 *   - consuming a leading "From " line (it gives the envelope sender),
 *   - storing CRLF line ends as LF (DESIGN.md: as Dovecot stores them),
 *   - computing the stored size (S=) and the virtual CRLF size (W=),
 *   - keeping the header block (up to MSG_MAX_HEADER_BYTES) in memory.
 * The body is not held: memory does not grow with message size. A caller
 * whose rules need the body maps the spool file with msg_map().
 *
 * Everything a message owns lives in m->arena and goes with msg_free().
 * Parsers never fail on bad input: malformed mail is indexed as well as it
 * can be, flagged, and always delivered byte for byte.
 */
#ifndef SLUICE_MSG_H
#define SLUICE_MSG_H

#include <stddef.h>
#include <sys/types.h>

#include "../lib/arena.h"
#include "../lib/buf.h"
#include "../lib/err.h"

/* msg flags: what was odd about the input (for logging and tests). */
#define MSG_F_HDR_TRUNCATED	0x0001	/* header block over MSG_MAX_HEADER_BYTES */
#define MSG_F_TOO_MANY_HDRS	0x0002	/* over MSG_MAX_HEADERS fields */
#define MSG_F_NO_BODY_SEP	0x0004	/* header ended without a blank line */
#define MSG_F_NUL		0x0008	/* NUL bytes in the header */
#define MSG_F_8BIT		0x0010	/* 8-bit bytes in the header */
#define MSG_F_LONG_LINE		0x0020	/* a header line over 998 bytes */
#define MSG_F_OBS_SYNTAX	0x0040	/* obsolete syntax: WSP before colon... */
#define MSG_F_BAD_LINE		0x0080	/* a line that is no field ended the header */
#define MSG_F_CRLF		0x0100	/* CRLF line ends were converted */
#define MSG_F_FROM_LINE		0x0200	/* a leading "From " line was consumed */
#define MSG_F_EMPTY		0x0400	/* no bytes at all */

/* One header field. name/value point into m->head. */
struct hdr {
	struct span name;	/* without trailing WSP (obs-optional) */
	struct span value;	/* raw: after the colon, folding kept, no final LF */
	struct span raw;	/* the whole field, name to final LF included */
};

struct mime_part;

struct msg {
	struct arena *arena;

	char *head;		/* header block as stored (LF line ends) */
	size_t head_len;	/* bytes of it kept (<= MSG_MAX_HEADER_BYTES) */
	struct hdr *hdrs;	/* index, in order of appearance */
	size_t nhdrs;
	size_t body_off;	/* offset of the body in the stored message */
	unsigned flags;		/* MSG_F_* */

	off_t size;		/* stored bytes: Maildir S= */
	off_t vsize;		/* bytes with CRLF line ends: Maildir W= */
	char *from_line;	/* the consumed "From " line, or NULL */
	char *envelope_from;	/* its address ("" for <>), or NULL */

	const char *data;	/* whole stored message after msg_map() */
	size_t len;
	int mapped;		/* data is our mmap (else the caller's) */
	struct mime_part *mime;	/* after mime_parse() */
};

struct msg *msg_new(void);
void msg_free(struct msg **mp);

/*
 * Read all of in_fd, write the stored form to out_fd (if out_fd >= 0; -1
 * only measures), index the header. Returns 0, or -1 with e set (ERR_TEMP
 * for read or write errors: the caller discards out_fd's file).
 */
int msg_spool(struct msg *m, int in_fd, int out_fd, struct err *e);

/* Map the spool file read-only (whole message in m->data/len): 0 or -1. */
int msg_map(struct msg *m, int fd, struct err *e);
void msg_unmap(struct msg *m);

/*
 * Index a header block held in memory (p, len: the start of a message; it
 * may go on into the body). Sets m->head (a copy in the arena), hdrs,
 * body_off and flags. Never fails on bad input. msg_spool() calls it.
 */
void msg_parse_header(struct msg *m, const char *p, size_t len);

/* Header lookup, case-insensitive on the name. idx counts matching fields
 * from 0 (-1: the last one). NULL when absent. */
const struct hdr *hdr_find(const struct msg *m, const char *name, int idx);
size_t hdr_count(const struct msg *m, const char *name);

/* RFC 5322 2.2.3: value with folding removed (CRLF/LF + WSP -> WSP) and
 * leading/trailing WSP trimmed. Arena-owned, NUL-terminated. */
char *hdr_unfold(struct arena *a, struct span value);
/* Unfolded, RFC 2047 encoded words decoded, result in UTF-8 (invalid bytes
 * replaced with U+FFFD). Arena-owned. */
char *hdr_decode(struct arena *a, struct span value);

/* RFC 2047: decode encoded words in text (unstructured or phrase) into
 * UTF-8, appending to out. Words that do not decode are kept as written.
 * Output is capped at MSG_MAX_DECODED. */
void rfc2047_decode(struct buf *out, const char *p, size_t len);

/* Convert len bytes in charset cs to UTF-8 (appended to out). Unknown
 * charsets and bad sequences are replaced with U+FFFD, never dropped
 * silently. Returns 0, or -1 when the charset is unknown (out still
 * receives a best-effort copy: ASCII kept, the rest U+FFFD). */
int charset_to_utf8(struct buf *out, const char *cs, const char *p, size_t len);

/* Content-Type / Content-Disposition: "type/sub; a=b; c*0*=..." */
struct mime_param {
	char *name;		/* lower-cased */
	char *value;		/* decoded (RFC 2231 charset -> UTF-8) */
};

struct mime_ctype {
	char *value;		/* "text/plain" lower-cased; disposition token */
	struct mime_param *params;
	size_t nparams;
};

/* Parse a Content-Type/-Disposition value with RFC 2045 params and RFC
 * 2231 continuations, charsets and languages. Never fails: bad params are
 * skipped. Arena-owned. */
void mime_ctype_parse(struct arena *a, struct span value, struct mime_ctype *out);
const char *mime_param(const struct mime_ctype *ct, const char *name);

/* RFC 5322 3.4 address lists. */
struct addr {
	char *name;		/* display name, decoded (RFC 2047), or NULL */
	char *local;		/* local part, quotes removed */
	char *domain;		/* domain, or NULL (e.g. "undisclosed") */
	char *group;		/* name of the group it belongs to, or NULL */
	char *route;		/* obsolete source route "@a,@b", or NULL */
};

/* Parse an address-list header value (To, Cc, From...). Groups, comments,
 * quoted local parts, obsolete routes and syntax. Never fails; garbage
 * yields no addresses or partial ones. At most ADDR_MAX_ADDRS. Arena-owned.
 * Returns the count. */
size_t addr_parse_list(struct arena *a, struct span value, struct addr **out);

/* MIME tree (RFC 2045/2046). */
enum mime_enc { ENC_7BIT, ENC_8BIT, ENC_BINARY, ENC_QP, ENC_BASE64, ENC_OTHER };

struct mime_part {
	struct mime_part *parent, *next, *children;
	unsigned depth;
	struct span header;	/* the part's header block */
	struct hdr *hdrs;	/* index of that header */
	size_t nhdrs;
	struct span body;	/* encoded body, without the boundary CRLF */
	struct mime_ctype ctype;/* "text/plain; charset=us-ascii" if absent */
	enum mime_enc enc;
	unsigned flags;		/* MIME_F_* */
};

#define MIME_F_TRUNCATED	0x1	/* closing boundary missing */
#define MIME_F_TOO_DEEP		0x2	/* nesting beyond MIME_MAX_DEPTH: a leaf */
#define MIME_F_TOO_MANY		0x4	/* MIME_MAX_PARTS reached: rest is one leaf */
#define MIME_F_NO_BOUNDARY	0x8	/* multipart without a boundary: a leaf */

/* Build the tree over m->data (msg_map() first). Never fails on bad
 * input. Returns the root. */
struct mime_part *mime_parse(struct msg *m);
/* Depth-first walk; the callback returns non-zero to stop. */
int mime_walk(struct mime_part *root,
    int (*fn)(struct mime_part *p, void *arg), void *arg);
/* Transfer-decode (QP, base64) a part's body and, when text/ *, convert
 * its charset to UTF-8; appended to out, capped at MIME_MAX_DECODED. */
void mime_decode(const struct mime_part *p, struct buf *out);
/* Header lookup inside one part. */
const struct hdr *mime_hdr_find(const struct mime_part *p, const char *name);

/* Base64 / QP decoders (lenient, as mail needs): append to out. */
void base64_decode(struct buf *out, const char *p, size_t len);
void qp_decode(struct buf *out, const char *p, size_t len, int is_header);

#endif
