/*
 * buf.h - growable byte buffers, borrowed spans, checked formatting and
 * allocation that aborts on out-of-memory (the only sane reaction in a
 * delivery agent: Postfix sees a signal and retries).
 */
#ifndef SLUICE_BUF_H
#define SLUICE_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* A borrowed view of bytes; never outlives what it points into. */
struct span {
	const char *p;
	size_t len;
};

/* An owned, growable buffer. data is always NUL-terminated (not counted in
 * len) once anything was added, so it can be handed to C string APIs when
 * the content is known to hold no NUL. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }
#define SPAN_LIT(s) ((struct span){ (s), sizeof(s) - 1 })

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Make room for add more bytes (plus the NUL). Aborts on overflow/OOM. */
void buf_reserve(struct buf *b, size_t add);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_addc(struct buf *b, int c);
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void buf_reset(struct buf *b);
/* Hand the data to the caller (who frees it) and empty b. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

/* snprintf into a fixed array: 0, or -1 when it did not fit. */
int buf_fmt(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* JSON (for --json outputs): s as a quoted string with escapes; the lines
 * of text as an array of strings (warnings: 1 only lines holding
 * ": warning: ", 0 only the others, -1 all). */
void buf_json_str(struct buf *b, const char *s);
void buf_json_lines(struct buf *b, const char *text, int warnings);

/* Case-insensitive (ASCII) comparisons of counted bytes. */
int span_ieq(struct span a, const char *s);
int mem_ieq(const char *a, size_t alen, const char *b, size_t blen);
const char *mem_find(const char *hay, size_t hlen, const char *needle, size_t nlen);

/* Write all of p to fd, retrying on EINTR and short writes: 0 or -1/errno. */
int write_all(int fd, const void *p, size_t n);

#endif
