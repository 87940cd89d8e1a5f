/*
 * msg.c - reading a message once: the spool pass and the mapped view.
 *
 * The spool pass is the LDA's hot path. It makes one pass over the input
 * with memchr-driven scanning, writes in MSG_IO_CHUNK blocks and keeps at
 * most MSG_MAX_HEADER_BYTES in memory, whatever the size of the message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/limits.h"
#include "msg.h"

struct msg *
msg_new(void)
{
	struct msg *m = xcalloc(1, sizeof *m);

	m->arena = arena_new();
	return m;
}

void
msg_free(struct msg **mp)
{
	struct msg *m = *mp;

	if (m == NULL)
		return;
	msg_unmap(m);
	arena_free(&m->arena);
	free(m);
	*mp = NULL;
}

/* State of one spool pass. */
struct spool {
	struct msg *m;
	int out_fd;
	char *out;		/* MSG_IO_CHUNK bytes, not zeroed: calloc of
				 * 64 KiB was a quarter of a small delivery */
	size_t out_len;
	int pending_cr;		/* input ended a chunk with '\r' */
	char last;		/* last byte written (for W=) */
	int at_start;		/* nothing seen yet: a "From " line may come */
	int in_from;		/* inside the leading "From " line */
	struct buf from;	/* its bytes (capped) */
	struct buf head;	/* header bytes kept for indexing */
	int head_done;		/* blank line seen or cap reached */
	int head_sep;		/* the blank line was seen */
};

static int
flush_out(struct spool *s, struct err *e)
{
	if (s->out_len == 0)
		return 0;
	if (s->out_fd >= 0 && write_all(s->out_fd, s->out, s->out_len) == -1)
		return err_sys(e, errno, "write spool file");
	s->out_len = 0;
	return 0;
}

/* Keep header bytes until the end of the header or the cap. Stored
 * bytes are LF-terminated, so an LF right after an LF (or at the very
 * start) is the blank line that ends the header. */
static void
keep_head(struct spool *s, const char *p, size_t n)
{
	size_t room, take, i = 0;

	if (s->head_done)
		return;
	room = MSG_MAX_HEADER_BYTES - s->head.len;
	take = n < room ? n : room;
	while (i < take) {
		const char *nl = memchr(p + i, '\n', take - i);
		size_t k;
		int prev_lf;

		if (nl == NULL)
			break;
		k = (size_t)(nl - p);
		if (k > 0)
			prev_lf = p[k - 1] == '\n';
		else
			prev_lf = s->head.len == 0 ||
			    s->head.data[s->head.len - 1] == '\n';
		if (prev_lf) {
			take = k + 1;
			s->head_done = s->head_sep = 1;
			break;
		}
		i = k + 1;
	}
	buf_add(&s->head, p, take);
	if (s->head.len >= MSG_MAX_HEADER_BYTES)
		s->head_done = 1;
}

/* W=: the number of LFs in p not preceded by CR (prev: the byte before
 * p). memchr (vectorised in libc) finds the LFs; only those are looked
 * at. A plain byte loop was measured 3-5x slower at -O2 on 100 MB. */
static off_t
bare_lfs(const char *p, size_t n, char prev)
{
	const char *q, *end = p + n;
	off_t lf = 0;

	for (q = p; q < end; q++) {
		q = memchr(q, '\n', (size_t)(end - q));
		if (q == NULL)
			break;
		if ((q == p ? prev : q[-1]) != '\r')
			lf++;
	}
	return lf;
}

/* Emit stored bytes: to the output block, the header keeper and sizes. */
static int
emit(struct spool *s, const char *p, size_t n, struct err *e)
{
	if (n == 0)
		return 0;
	keep_head(s, p, n);
	s->m->size += (off_t)n;
	s->m->vsize += (off_t)n + bare_lfs(p, n, s->last);
	s->last = p[n - 1];
	if (n >= MSG_IO_CHUNK / 4) {
		/* A long run (most bodies have no CR at all) goes straight
		 * from the read buffer to the file: no copy. */
		if (flush_out(s, e) == -1)
			return -1;
		if (s->out_fd >= 0 && write_all(s->out_fd, p, n) == -1)
			return err_sys(e, errno, "write spool file");
		return 0;
	}
	while (n > 0) {
		size_t room = MSG_IO_CHUNK - s->out_len;
		size_t take = n < room ? n : room;

		memcpy(s->out + s->out_len, p, take);
		s->out_len += take;
		p += take;
		n -= take;
		if (s->out_len == MSG_IO_CHUNK && flush_out(s, e) == -1)
			return -1;
	}
	return 0;
}

/*
 * DESIGN.md: CRLF is stored as LF; a lone CR is kept. A CR at the end of
 * a chunk waits for the next one.
 */
static int
convert(struct spool *s, const char *p, size_t n, struct err *e)
{
	const char *end = p + n, *cr;

	if (s->pending_cr) {
		s->pending_cr = 0;
		if (n > 0 && p[0] == '\n')
			s->m->flags |= MSG_F_CRLF;
		else if (emit(s, "\r", 1, e) == -1)
			return -1;
	}
	while (p < end) {
		cr = memchr(p, '\r', (size_t)(end - p));
		if (cr == NULL)
			return emit(s, p, (size_t)(end - p), e);
		if (emit(s, p, (size_t)(cr - p), e) == -1)
			return -1;
		if (cr + 1 == end) {
			s->pending_cr = 1;
			return 0;
		}
		if (cr[1] == '\n')
			s->m->flags |= MSG_F_CRLF;	/* drop the CR */
		else if (emit(s, "\r", 1, e) == -1)
			return -1;
		p = cr + 1;
	}
	return 0;
}

/*
 * A leading "From " line (mbox separator, added by Postfix's local(8)) is
 * consumed; it names the envelope sender. Returns how many bytes of p it
 * took.
 */
static size_t
take_from_line(struct spool *s, const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);
	size_t len = nl ? (size_t)(nl - p) + 1 : n;

	if (s->from.len < MSG_MAX_FROM_LINE) {
		size_t room = MSG_MAX_FROM_LINE - s->from.len;

		buf_add(&s->from, p, len < room ? len : room);
	}
	if (nl != NULL)
		s->in_from = 0;
	return len;
}

static void
finish_from_line(struct spool *s)
{
	struct msg *m = s->m;
	const char *p, *end;
	size_t len;

	if (s->from.len == 0)
		return;
	m->flags |= MSG_F_FROM_LINE;
	len = s->from.len;
	while (len > 0 && (s->from.data[len - 1] == '\n' ||
	    s->from.data[len - 1] == '\r'))
		len--;
	m->from_line = arena_strndup(m->arena, s->from.data, len);
	/* "From sender date": the sender is the first word ("<>" or
	 * MAILER-DAEMON for bounces). */
	p = m->from_line + 5;
	end = m->from_line + len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	len = 0;
	while (p + len < end && p[len] != ' ' && p[len] != '\t')
		len++;
	if (len == 2 && p[0] == '<' && p[1] == '>')
		len = 0;
	m->envelope_from = arena_strndup(m->arena, p, len);
}

int
msg_spool(struct msg *m, int in_fd, int out_fd, struct err *e)
{
	struct spool *s;
	char *in = NULL;
	size_t have = 0;
	int ret = -1;

	s = xcalloc(1, sizeof *s);
	s->out = xmalloc(MSG_IO_CHUNK);
	s->m = m;
	s->out_fd = out_fd;
	s->at_start = 1;
	in = xmalloc(MSG_IO_CHUNK);
	m->size = m->vsize = 0;
	for (;;) {
		ssize_t r = read(in_fd, in + have, MSG_IO_CHUNK - have);
		const char *p = in;
		size_t n, used;

		if (r == -1) {
			if (errno == EINTR)
				continue;
			err_sys(e, errno, "read message");
			goto out;
		}
		n = have + (size_t)r;
		have = 0;
		if (r == 0 && n == 0)
			break;
		if (s->at_start) {
			/* Need 5 bytes to tell; wait for them unless EOF. */
			if (n < 5 && r != 0) {
				have = n;
				continue;
			}
			s->at_start = 0;
			if (n >= 5 && memcmp(p, "From ", 5) == 0)
				s->in_from = 1;
		}
		if (s->in_from) {
			used = take_from_line(s, p, n);
			p += used;
			n -= used;
		}
		if (convert(s, p, n, e) == -1)
			goto out;
		if (r == 0)
			break;
	}
	if (s->pending_cr) {
		s->pending_cr = 0;
		if (emit(s, "\r", 1, e) == -1)
			goto out;
	}
	if (flush_out(s, e) == -1)
		goto out;
	finish_from_line(s);
	if (m->size == 0)
		m->flags |= MSG_F_EMPTY;
	msg_parse_header(m, s->head.data ? s->head.data : "", s->head.len);
	if (!s->head_sep && s->head.len >= MSG_MAX_HEADER_BYTES)
		m->flags |= MSG_F_HDR_TRUNCATED;
	ret = 0;
out:
	buf_free(&s->from);
	buf_free(&s->head);
	free(s->out);
	free(s);
	free(in);
	return ret;
}

int
msg_map(struct msg *m, int fd, struct err *e)
{
	struct stat st;
	void *p;

	msg_unmap(m);
	if (fstat(fd, &st) == -1)
		return err_sys(e, errno, "fstat spool file");
	if (st.st_size == 0) {
		m->data = "";
		m->len = 0;
		return 0;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return err_sys(e, errno, "mmap spool file");
	m->data = p;
	m->mapped = 1;
	m->len = (size_t)st.st_size;
	return 0;
}

void
msg_unmap(struct msg *m)
{
	if (m->mapped)
		(void)munmap((void *)(uintptr_t)m->data, m->len);
	m->mapped = 0;
	m->data = NULL;
	m->len = 0;
}
