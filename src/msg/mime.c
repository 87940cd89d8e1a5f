/*
 * mime.c - the MIME tree of a message (RFC 2045, RFC 2046).
 *
 * One forward pass over the lines of the message. The parser keeps a
 * stack of the open multiparts; a line that starts with "--" is compared
 * with their boundaries only (innermost first, so an inner boundary that
 * is a prefix of an outer one is told apart by what follows it). Nothing
 * is ever rescanned: the cost is the number of bytes plus, per "--" line,
 * the depth of the stack. A leaf at the top level needs no scan at all.
 */
#include <string.h>

#include "lib/limits.h"
#include "msg.h"

enum mode {
	M_HEADER,	/* reading the part's header lines */
	M_BODY,		/* a leaf's body, or a container's */
};

struct frame {
	struct mime_part *mp;	/* the multipart */
	const char *bnd;
	size_t blen;
	struct mime_part *last;	/* its last child, to append in O(1) */
	int closed;		/* close delimiter seen: in the epilogue */
};

struct mparser {
	struct msg *m;
	const char *d;
	size_t len;
	struct frame st[MIME_MAX_DEPTH + 2];
	size_t nst;
	size_t nparts;
	struct mime_part *open;	/* innermost part receiving lines */
	enum mode mode;
	size_t hstart;		/* open part's header start (M_HEADER) */
	size_t bstart;		/* open part's body start (M_BODY) */
};

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* A header line: "name:" (obs: WSP before the colon) or a continuation. */
static int
is_header_line(const char *p, size_t n)
{
	size_t i;

	if (n > 0 && is_wsp((unsigned char)p[0]))
		return 1;
	for (i = 0; i < n && i <= MSG_MAX_NAME; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 33 || c > 126 || c == ':')
			break;
	}
	if (i == 0 || i > MSG_MAX_NAME)
		return 0;
	while (i < n && i <= 2 * MSG_MAX_NAME && is_wsp((unsigned char)p[i]))
		i++;
	return i < n && p[i] == ':';
}

const struct hdr *
mime_hdr_find(const struct mime_part *p, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < p->nhdrs; i++)
		if (mem_ieq(p->hdrs[i].name.p, p->hdrs[i].name.len, name, n))
			return &p->hdrs[i];
	return NULL;
}

static int
is_type(const struct mime_part *p, const char *prefix)
{
	return p->ctype.value != NULL &&
	    strncmp(p->ctype.value, prefix, strlen(prefix)) == 0;
}

/*
 * Content-Type and -Transfer-Encoding of a part whose header is indexed.
 * RFC 2045 5.2: text/plain; charset=us-ascii by default; RFC 2046 5.1.5:
 * message/rfc822 inside multipart/digest.
 */
static void
set_type(struct msg *m, struct mime_part *p)
{
	const struct hdr *h;
	char *v;

	if ((h = mime_hdr_find(p, "content-type")) != NULL)
		mime_ctype_parse(m->arena, h->value, &p->ctype);
	if (p->ctype.value == NULL || strchr(p->ctype.value, '/') == NULL) {
		int digest = p->parent != NULL &&
		    is_type(p->parent, "multipart/digest");

		p->ctype.value = arena_strdup(m->arena, digest ?
		    "message/rfc822" : "text/plain");
		if (!digest && mime_param(&p->ctype, "charset") == NULL) {
			p->ctype.params = arena_alloc(m->arena,
			    sizeof(*p->ctype.params));
			p->ctype.params[0].name = arena_strdup(m->arena,
			    "charset");
			p->ctype.params[0].value = arena_strdup(m->arena,
			    "us-ascii");
			p->ctype.nparams = 1;
		}
	}
	p->enc = ENC_7BIT;
	if ((h = mime_hdr_find(p, "content-transfer-encoding")) != NULL) {
		v = hdr_unfold(m->arena, h->value);
		if (mem_ieq(v, strlen(v), "7bit", 4))
			p->enc = ENC_7BIT;
		else if (mem_ieq(v, strlen(v), "8bit", 4))
			p->enc = ENC_8BIT;
		else if (mem_ieq(v, strlen(v), "binary", 6))
			p->enc = ENC_BINARY;
		else if (mem_ieq(v, strlen(v), "quoted-printable", 16))
			p->enc = ENC_QP;
		else if (mem_ieq(v, strlen(v), "base64", 6))
			p->enc = ENC_BASE64;
		else
			p->enc = ENC_OTHER;
	}
}

static struct mime_part *
new_part(struct mparser *ps, struct mime_part *parent)
{
	struct mime_part *p = arena_zalloc(ps->m->arena, sizeof(*p));

	p->parent = parent;
	p->depth = parent != NULL ? parent->depth + 1 : 0;
	ps->nparts++;
	return p;
}

/* Where a body that ends at a delimiter line at ls ends: RFC 2046 5.1.1,
 * the line break before the delimiter belongs to the delimiter. */
static size_t
body_end(const struct mparser *ps, size_t ls, size_t start)
{
	size_t e = ls;

	if (e > start && ps->d[e - 1] == '\n')
		e--;
	if (e > start && ps->d[e - 1] == '\r')
		e--;
	return e;
}

/*
 * The header of the open part ended (at hend; the body starts at bstart).
 * Index it and decide what the body is: a leaf, a multipart (push a
 * frame) or an encapsulated message (open a child in header mode).
 */
static void
begin_body(struct mparser *ps, size_t hend, size_t bstart)
{
	struct mime_part *p = ps->open;
	struct msg t;
	const char *b;

	if (p->parent != NULL) {
		memset(&t, 0, sizeof(t));
		t.arena = ps->m->arena;
		msg_parse_header(&t, ps->d + ps->hstart, hend - ps->hstart);
		p->header.p = t.head;
		p->header.len = t.head_len;
		p->hdrs = t.hdrs;
		p->nhdrs = t.nhdrs;
	}
	set_type(ps->m, p);
	p->body.p = ps->d + bstart;
	ps->bstart = bstart;
	ps->mode = M_BODY;

	if (is_type(p, "multipart/")) {
		b = mime_param(&p->ctype, "boundary");
		if (b == NULL || b[0] == '\0' || strlen(b) > MIME_MAX_BOUNDARY) {
			p->flags |= MIME_F_NO_BOUNDARY;
			return;
		}
		if (p->depth >= MIME_MAX_DEPTH || ps->nst >= MIME_MAX_DEPTH) {
			p->flags |= MIME_F_TOO_DEEP;
			return;
		}
		ps->st[ps->nst].mp = p;
		ps->st[ps->nst].bnd = b;
		ps->st[ps->nst].blen = strlen(b);
		ps->st[ps->nst].last = NULL;
		ps->st[ps->nst].closed = 0;
		ps->nst++;
		return;
	}
	if (is_type(p, "message/rfc822") || is_type(p, "message/global")) {
		if (p->depth >= MIME_MAX_DEPTH) {
			p->flags |= MIME_F_TOO_DEEP;
			return;
		}
		if (ps->nparts >= MIME_MAX_PARTS) {
			p->flags |= MIME_F_TOO_MANY;
			return;
		}
		/* RFC 2046 5.2.1: the body is a whole message. */
		p->children = new_part(ps, p);
		ps->open = p->children;
		ps->mode = M_HEADER;
		ps->hstart = bstart;
	}
}

/* Set the body end of every open part from the innermost up to (not
 * including) stop: at a delimiter line at ls, or at the end of the data
 * (stop NULL), where no line break is taken off. */
static void
close_parts(struct mparser *ps, struct mime_part *stop, size_t ls)
{
	struct mime_part *p;

	if (ps->mode == M_HEADER && ps->open != stop) {
		/* Header never ended: all header, empty body. */
		begin_body(ps, ls, ls);
		if (ps->mode == M_HEADER)	/* opened a message child */
			begin_body(ps, ls, ls);
	}
	for (p = ps->open; p != NULL && p != stop; p = p->parent) {
		size_t start = (size_t)(p->body.p - ps->d);

		if (p->body.p == NULL)
			start = ls;
		p->body.p = ps->d + start;
		p->body.len = (stop == NULL ? ls : body_end(ps, ls, start)) -
		    start;
	}
}

/* "--" boundary ["--"] *LWSP: 1 delimiter, 2 close delimiter, 0 none. */
static int
delimiter(const char *l, size_t n, const char *bnd, size_t blen)
{
	size_t i;
	int r = 1;

	if (n < blen + 2 || memcmp(l + 2, bnd, blen) != 0)
		return 0;
	i = blen + 2;
	if (i + 2 <= n && l[i] == '-' && l[i + 1] == '-') {
		r = 2;
		i += 2;
	}
	for (; i < n; i++)
		if (!is_wsp((unsigned char)l[i]))
			return 0;
	return r;
}

static void
add_child(struct frame *f, struct mime_part *c)
{
	if (f->last == NULL)
		f->mp->children = c;
	else
		f->last->next = c;
	f->last = c;
}

/* The line [ls, le) matched frame k's boundary (kind: 1 or 2). */
static void
on_delimiter(struct mparser *ps, size_t k, int kind, size_t ls, size_t nx)
{
	struct frame *f = &ps->st[k];
	struct mime_part *c;
	size_t j;

	/* Everything inside frame k's multipart that is open ends here. */
	if (ps->open != f->mp)
		close_parts(ps, f->mp, ls);
	/* Inner multiparts that never saw their close delimiter. */
	for (j = k + 1; j < ps->nst; j++)
		if (!ps->st[j].closed)
			ps->st[j].mp->flags |= MIME_F_TRUNCATED;
	ps->nst = k + 1;
	ps->open = f->mp;
	ps->mode = M_BODY;
	if (kind == 2) {
		f->closed = 1;
		return;
	}
	c = new_part(ps, f->mp);
	add_child(f, c);
	ps->open = c;
	ps->mode = M_HEADER;
	ps->hstart = nx;
}

struct mime_part *
mime_parse(struct msg *m)
{
	struct mparser ps;
	struct mime_part *root;
	size_t ls, le, nx, k, i;
	int kind;

	if (m->data == NULL) {
		m->data = "";
		m->len = 0;
	}
	if (m->head == NULL)
		msg_parse_header(m, m->data, m->len);
	memset(&ps, 0, sizeof(ps));
	ps.m = m;
	ps.d = m->data;
	ps.len = m->len;

	/* The root reuses the message's header index. */
	root = new_part(&ps, NULL);
	root->header.p = m->head;
	root->header.len = m->head_len;
	root->hdrs = m->hdrs;
	root->nhdrs = m->nhdrs;
	ps.open = root;
	ps.hstart = 0;
	begin_body(&ps, 0, m->body_off < m->len ? m->body_off : m->len);
	m->mime = root;
	if (ps.nst == 0 && ps.mode == M_BODY) {
		root->body.len = m->len - (size_t)(root->body.p - m->data);
		return root;
	}

	for (ls = (size_t)(root->body.p - m->data); ls < ps.len; ls = nx) {
		const char *nl = memchr(ps.d + ls, '\n', ps.len - ls);

		nx = nl != NULL ? (size_t)(nl - ps.d) + 1 : ps.len;
		le = nl != NULL ? (size_t)(nl - ps.d) : ps.len;
		if (le > ls && ps.d[le - 1] == '\r')
			le--;

		/* Delimiters of the open multiparts, innermost first. */
		kind = 0;
		if (ps.nst > 0 && le - ls >= 2 && ps.d[ls] == '-' &&
		    ps.d[ls + 1] == '-') {
			for (i = ps.nst; i-- > 0;) {
				kind = delimiter(ps.d + ls, le - ls,
				    ps.st[i].bnd, ps.st[i].blen);
				/* After the close delimiter its own boundary
				 * is epilogue text (RFC 2046 5.1.1). */
				if (kind != 0 && !(ps.st[i].closed &&
				    ps.open == ps.st[i].mp))
					break;
				kind = 0;
			}
			k = i;
			if (kind != 0) {
				if (kind == 1 && ps.nparts >= MIME_MAX_PARTS) {
					/* The rest is one leaf. */
					ps.open->flags |= MIME_F_TOO_MANY;
					break;
				}
				on_delimiter(&ps, k, kind, ls, nx);
				continue;
			}
		}
		if (ps.mode != M_HEADER)
			continue;
		if (le == ls) {
			/* The blank line ends the part's header. */
			begin_body(&ps, ls, nx);
			continue;
		}
		if (!is_header_line(ps.d + ls, le - ls)) {
			/* No blank line: this line starts the body. */
			begin_body(&ps, ls, ls);
			if (ps.mode == M_HEADER) {
				/* An encapsulated message: its header is
				 * empty as well. */
				begin_body(&ps, ls, ls);
			}
		}
	}
	/* End of data: close what is open; a multipart without its close
	 * delimiter is truncated (RFC 2046 5.1.1 requires one). */
	close_parts(&ps, NULL, ps.len);
	for (i = 0; i < ps.nst; i++)
		if (!ps.st[i].closed)
			ps.st[i].mp->flags |= MIME_F_TRUNCATED;
	/* The open multiparts (and epilogues) run to the end. */
	for (i = 0; i < ps.nst; i++) {
		struct mime_part *p = ps.st[i].mp;

		p->body.len = ps.len - (size_t)(p->body.p - ps.d);
	}
	return root;
}

int
mime_walk(struct mime_part *root, int (*fn)(struct mime_part *p, void *arg),
    void *arg)
{
	struct mime_part *p = root;
	int r;

	/* Iterative pre-order: no recursion, whatever the depth. */
	while (p != NULL) {
		if ((r = fn(p, arg)) != 0)
			return r;
		if (p->children != NULL) {
			p = p->children;
			continue;
		}
		while (p != NULL && p != root && p->next == NULL)
			p = p->parent;
		if (p == NULL || p == root)
			break;
		p = p->next;
	}
	return 0;
}

void
mime_decode(const struct mime_part *p, struct buf *out)
{
	struct buf raw = BUF_INIT, utf = BUF_INIT;
	const struct buf *src = &raw;
	const char *cs;
	size_t n;

	switch (p->enc) {
	case ENC_BASE64:
		base64_decode(&raw, p->body.p, p->body.len);
		break;
	case ENC_QP:
		qp_decode(&raw, p->body.p, p->body.len, 0);
		break;
	default:
		/* 7bit, 8bit, binary and unknown encodings: as they are. */
		if (p->body.len > 0)
			buf_add(&raw, p->body.p, p->body.len);
		break;
	}
	if (raw.len > MIME_MAX_DECODED)
		raw.len = MIME_MAX_DECODED;
	if (p->ctype.value != NULL && strncmp(p->ctype.value, "text/", 5) == 0) {
		if ((cs = mime_param(&p->ctype, "charset")) == NULL)
			cs = "us-ascii";
		charset_to_utf8(&utf, cs, raw.len ? raw.data : "", raw.len);
		src = &utf;
	}
	n = src->len;
	if (n > MIME_MAX_DECODED) {
		/* Do not cut a UTF-8 sequence. */
		n = MIME_MAX_DECODED;
		while (src == &utf && n > 0 &&
		    ((unsigned char)src->data[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		buf_add(out, src->data, n);
	buf_free(&raw);
	buf_free(&utf);
}
