/*
 * edit.c - Sieve editheader (RFC 5293) on the stored message, and the
 * spool swap shared with filters.
 *
 * The header block is read from the spool (it is at most
 * MSG_MAX_HEADER_BYTES), split into fields, edited as a list of pieces,
 * and written with the body streamed after it into a new root/tmp file:
 * memory stays bounded by the header size whatever the body's. S= and W=
 * are counted over the bytes actually written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/limits.h"
#include "../lib/log.h"
#include "deliver.h"

#define FOLD_AT		78	/* RFC 5322 2.1.1: SHOULD be 78 */
#define EW_MAX		75	/* RFC 2047 2: an encoded-word's length */

int
edit_name_ok(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];

		/* RFC 5322 3.6.8: ftext = %d33-57 / %d59-126 */
		if (c < 33 || c > 126 || c == ':' || i >= MSG_MAX_NAME)
			return 0;
	}
	return 1;
}

int
edit_protected(const char *name)
{
	/* RFC 5293 6 / Pigeonhole: Received and Auto-Submitted may be
	 * added but never deleted (the trace and loop protection). */
	static const char *const prot[] = { "Received", "Auto-Submitted" };
	size_t i;

	for (i = 0; i < sizeof prot / sizeof prot[0]; i++)
		if (strcasecmp(name, prot[i]) == 0)
			return 1;
	return 0;
}

static int
q_plain(unsigned char c)
{
	/* RFC 2047 5 (3): safe everywhere an encoded-word may stand */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
	    c == '-' || c == '/';
}

/* Length of the UTF-8 sequence starting with c (1 for bad bytes). */
static size_t
u8len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return 3;
	if (c >= 0xc0)
		return 2;
	return 1;
}

/*
 * RFC 2047 4.2 Q encoding of the whole value as encoded-words of at most
 * EW_MAX characters, never splitting a UTF-8 character (RFC 2047 5), the
 * words separated by folding whitespace. col is the current column.
 */
static void
encode_words(struct buf *out, const char *v, size_t len, size_t col)
{
	static const char pre[] = "=?utf-8?q?", post[] = "?=";
	const size_t fixed = (sizeof pre - 1) + (sizeof post - 1);
	size_t i = 0;

	while (i < len) {
		size_t used = 0, room, avail;

		/* a word must fit the line: fold first when it would not
		 * hold at least a few characters */
		avail = col + 1 < FOLD_AT ? FOLD_AT - col - 1 : 0;
		if (avail < fixed + 12 && col > 1) {
			buf_adds(out, "\n ");
			col = 1;
			avail = FOLD_AT - col;
		} else {
			buf_addc(out, ' ');
			col++;
		}
		room = (avail < EW_MAX ? avail : EW_MAX) - fixed;
		buf_adds(out, pre);
		while (i < len) {
			size_t n = u8len((unsigned char)v[i]), k, need = 0;

			if (i + n > len)
				n = len - i;
			for (k = 0; k < n; k++) {
				unsigned char c = (unsigned char)v[i + k];

				need += c == ' ' || q_plain(c) ? 1 : 3;
			}
			if (used + need > room && used > 0)
				break;
			for (k = 0; k < n; k++) {
				unsigned char c = (unsigned char)v[i + k];

				if (c == ' ')
					buf_addc(out, '_');
				else if (q_plain(c))
					buf_addc(out, c);
				else
					buf_addf(out, "=%02X", c);
			}
			used += need;
			i += n;
		}
		buf_adds(out, post);
		col += fixed + used;
	}
}

void
edit_field(struct buf *out, const char *name, const char *value)
{
	struct buf v = BUF_INIT;
	size_t i, col, len, needs_ew = 0;

	/* No header injection: CR/LF (and folding) become one space. */
	for (i = 0; value != NULL && value[i] != '\0'; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c == '\r' || c == '\n') {
			while (value[i + 1] == '\r' || value[i + 1] == '\n' ||
			    value[i + 1] == ' ' || value[i + 1] == '\t')
				i++;
			buf_addc(&v, ' ');
			continue;
		}
		if (c >= 0x80 || (c < 32 && c != '\t') || c == 127)
			needs_ew = 1;
		buf_addc(&v, c);
	}
	/* RFC 2047 encoded-word lookalikes in plain text would be decoded
	 * by readers: encode those values too. */
	if (v.data != NULL && strstr(v.data, "=?") != NULL)
		needs_ew = 1;
	len = v.len;
	buf_adds(out, name);
	buf_addc(out, ':');
	col = strlen(name) + 1;
	if (len == 0) {
		buf_addc(out, '\n');
		buf_free(&v);
		return;
	}
	if (needs_ew) {
		/* RFC 5293 4 / RFC 2047: 8-bit values are encoded. */
		encode_words(out, v.data, len, col);
		buf_addc(out, '\n');
		buf_free(&v);
		return;
	}
	/* Fold before a blank so that lines stay within FOLD_AT where a
	 * blank allows (RFC 5322 2.2.3); a longer word stays whole. */
	buf_addc(out, ' ');
	col++;
	i = 0;
	while (i < len) {
		size_t w = i, wl;

		/* a word: leading blanks (after the first) + non-blanks */
		while (w < len && (v.data[w] == ' ' || v.data[w] == '\t'))
			w++;
		while (w < len && v.data[w] != ' ' && v.data[w] != '\t')
			w++;
		wl = w - i;
		if (col + wl > FOLD_AT && i > 0 &&
		    (v.data[i] == ' ' || v.data[i] == '\t')) {
			buf_addc(out, '\n');
			col = 0;
		}
		buf_add(out, v.data + i, wl);
		col += wl;
		i = w;
	}
	buf_addc(out, '\n');
	buf_free(&v);
}

int
deliver_read_head(struct deliver_ctx *d, struct buf *out, size_t max,
    struct err *e)
{
	size_t want = d->msg->body_off, got = 0;

	if (want > max)
		return err_status(e, ERR_PERM, "5.3.4", "header too large");
	buf_reserve(out, want);
	while (got < want) {
		ssize_t r = pread(d->spool_fd, out->data + out->len + got,
		    want - got, (off_t)got);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return err_sys(e, errno, "read %s", d->spool_path);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	out->len += got;
	out->data[out->len] = '\0';
	return 0;
}

/* Stored sizes of len bytes after a byte last (W=: LF not after CR). */
static void
count_sizes(const char *p, size_t len, char *last, off_t *size, off_t *vsize)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 ? *last : p[i - 1]) != '\r')
			(*vsize)++;
	}
	*size += (off_t)len;
	*vsize += (off_t)len;
	if (len > 0)
		*last = p[len - 1];
}

int
deliver_spool_replace(struct deliver_ctx *d, int fd, const char *path,
    const char *unique, struct err *e)
{
	char *blk = xmalloc(MSG_IO_CHUNK), last = '\0';
	struct buf head = BUF_INIT;
	off_t off = 0, size = 0, vsize = 0;
	int ret = -1;

	for (;;) {
		ssize_t r = pread(fd, blk, MSG_IO_CHUNK, off);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_sys(e, errno, "read %s", path);
			goto out;
		}
		if (r == 0)
			break;
		if (head.len < MSG_MAX_HEADER_BYTES) {
			size_t take = (size_t)r;

			if (take > MSG_MAX_HEADER_BYTES - head.len)
				take = MSG_MAX_HEADER_BYTES - head.len;
			buf_add(&head, blk, take);
		}
		count_sizes(blk, (size_t)r, &last, &size, &vsize);
		off += r;
	}
	if (fsync(fd) == -1) {
		err_sys(e, errno, "fsync %s", path);
		goto out;
	}
	/* The old spool was never linked anywhere (edits and filters come
	 * before storing): it goes. */
	if (d->spool_fd >= 0)
		(void)close(d->spool_fd);
	if (d->spool_path[0] != '\0' && !d->spool_linked)
		(void)unlink(d->spool_path);
	d->spool_fd = fd;
	(void)snprintf(d->spool_path, sizeof d->spool_path, "%s", path);
	(void)snprintf(d->unique, sizeof d->unique, "%s", unique);
	d->spool_linked = 0;
	msg_unmap(d->msg);
	d->msg->mime = NULL;
	msg_parse_header(d->msg, head.data ? head.data : "", head.len);
	d->msg->size = size;
	d->msg->vsize = vsize;
	ret = 0;
out:
	buf_free(&head);
	free(blk);
	return ret;
}

/* One piece of the edited header: bytes in the old block or in add. */
struct piece {
	int added;
	size_t off, len;
	size_t name_off, name_len;
};

static int
piece_is(const struct piece *pc, const struct buf *old, const struct buf *add,
    const char *name)
{
	const char *base = pc->added ? add->data : old->data;

	return mem_ieq(base + pc->name_off, pc->name_len, name, strlen(name));
}

/* Split the old header block into fields; *sep_off gets where the
 * separator (blank line) begins, or old->len. */
static size_t
split_fields(const struct buf *old, struct piece **out, size_t *sep_off)
{
	struct piece *v = NULL;
	size_t n = 0, cap = 0, off = 0;

	*sep_off = old->len;
	while (off < old->len) {
		const char *p = old->data + off;
		const char *nl = memchr(p, '\n', old->len - off);
		size_t ll = nl ? (size_t)(nl - p) + 1 : old->len - off, k;

		if (p[0] == '\n') {
			*sep_off = off;
			break;
		}
		if ((p[0] == ' ' || p[0] == '\t') && n > 0) {
			v[n - 1].len += ll;
			off += ll;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			v = xreallocarray(v, cap, sizeof *v);
		}
		for (k = 0; k < ll && p[k] != ':'; k++)
			;
		while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
			k--;
		v[n].added = 0;
		v[n].off = off;
		v[n].len = ll;
		v[n].name_off = off;
		v[n].name_len = k;
		n++;
		off += ll;
	}
	*out = v;
	return n;
}

static void
fail_edit(struct action *a, const char *why)
{
	char q[128];

	a->status = ACT_FAILED;
	err_status(&a->err, ERR_PERM, "5.7.1", "%s %s: %s",
	    action_type_name(a->type), log_quote(q, sizeof q, a->arg ?
	    a->arg : "", a->arg ? strlen(a->arg) : 0), why);
	log_err("%s, message left as it was", a->err.msg);
}

int
edit_apply(struct deliver_ctx *d, struct action *v, size_t n, struct err *e)
{
	struct buf old = BUF_INIT, add = BUF_INIT, hdr = BUF_INIT;
	struct piece *pv = NULL;
	size_t np, sep_off, i, k, nedits = 0, changed = 0;
	char path[PATH_MAX], unique[256];
	int fd = -1, ret = -1;

	for (i = 0; i < n; i++)
		if (v[i].type == ACT_ADDHEADER || v[i].type == ACT_DELETEHEADER)
			nedits++;
	if (nedits == 0)
		return 0;
	if (deliver_read_head(d, &old, MSG_MAX_HEADER_BYTES + 2, e) == -1) {
		if (e->cls != ERR_PERM)
			goto out;
		for (i = 0; i < n; i++)
			if (v[i].type == ACT_ADDHEADER ||
			    v[i].type == ACT_DELETEHEADER)
				fail_edit(&v[i], "header too large to edit");
		err_clear(e);
		ret = 0;
		goto out;
	}
	np = split_fields(&old, &pv, &sep_off);

	for (i = 0; i < n; i++) {
		struct action *a = &v[i];

		if (a->type != ACT_ADDHEADER && a->type != ACT_DELETEHEADER)
			continue;
		err_clear(&a->err);
		if (!edit_name_ok(a->arg)) {
			fail_edit(a, "invalid field name");
			continue;
		}
		if (a->type == ACT_DELETEHEADER && edit_protected(a->arg)) {
			fail_edit(a, "protected header (RFC 5293 6)");
			continue;
		}
		a->status = ACT_DONE;
		if (a->type == ACT_ADDHEADER) {
			struct piece pc;

			pc.added = 1;
			pc.off = add.len;
			pc.name_off = add.len;
			pc.name_len = strlen(a->arg);
			edit_field(&add, a->arg, a->value ? a->value : "");
			pc.len = add.len - pc.off;
			pv = xreallocarray(pv, np + 1, sizeof *pv);
			if (a->last) {
				pv[np] = pc;
			} else {
				memmove(pv + 1, pv, np * sizeof *pv);
				pv[0] = pc;
			}
			np++;
			changed++;
		} else {
			/* RFC 5293 5: :index counts fields of that name in
			 * the current (edited) header, from the end with
			 * :last; no :index deletes them all. */
			size_t count = 0, target = 0, seen = 0;

			for (k = 0; k < np; k++)
				count += piece_is(&pv[k], &old, &add, a->arg);
			if (a->index > 0) {
				if ((size_t)a->index > count)
					continue;
				target = a->last ? count - (size_t)a->index + 1 :
				    (size_t)a->index;
			}
			for (k = 0; k < np;) {
				if (piece_is(&pv[k], &old, &add, a->arg) &&
				    (++seen == target || target == 0)) {
					memmove(pv + k, pv + k + 1,
					    (np - k - 1) * sizeof *pv);
					np--;
					changed++;
					continue;
				}
				k++;
			}
		}
	}
	if (changed == 0) {
		ret = 0;
		goto out;
	}

	/* The new header block: pieces, then the old separator. */
	for (k = 0; k < np; k++) {
		const char *base = pv[k].added ? add.data : old.data;

		buf_add(&hdr, base + pv[k].off, pv[k].len);
		/* only a block ending the message lacks its last LF */
		if (hdr.len > 0 && hdr.data[hdr.len - 1] != '\n' &&
		    (k + 1 < np || sep_off < old.len ||
		    (off_t)old.len < d->msg->size))
			buf_addc(&hdr, '\n');
	}
	buf_add(&hdr, old.data + sep_off, old.len - sep_off);
	if (d->dry_run) {
		for (i = 0; i < n; i++)
			if (v[i].status == ACT_DONE && (v[i].type ==
			    ACT_ADDHEADER || v[i].type == ACT_DELETEHEADER)) {
				free(v[i].result);
				v[i].result = xstrdup("dry run: header edited");
			}
		ret = 0;
		goto out;
	}

	if (maildir_unique(unique, sizeof unique, d->host) == -1 ||
	    buf_fmt(path, sizeof path, "%s/tmp/%s", d->root, unique) == -1) {
		err_set(e, ERR_TEMP, "path too long: %s", d->root);
		goto out;
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		err_sys(e, errno, "create %s", path);
		goto out;
	}
	if (write_all(fd, hdr.data, hdr.len) == -1) {
		err_sys(e, errno, "write %s", path);
		goto out;
	}
	/* The body, streamed. */
	if (deliver_spool_copy(d, (off_t)old.len, fd, path, e) == -1)
		goto out;
	if (deliver_spool_replace(d, fd, path, unique, e) == -1)
		goto out;
	fd = -1;
	ret = 0;
out:
	if (ret == -1) {
		for (i = 0; i < n; i++)
			if ((v[i].type == ACT_ADDHEADER ||
			    v[i].type == ACT_DELETEHEADER) &&
			    v[i].status == ACT_DONE) {
				v[i].status = ACT_FAILED;
				v[i].err = *e;
			}
		if (fd != -1) {
			(void)close(fd);
			(void)unlink(path);
		}
	}
	free(pv);
	buf_free(&old);
	buf_free(&add);
	buf_free(&hdr);
	return ret;
}
