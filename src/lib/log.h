/*
 * log.h - syslog (facility mail, ident "sluice") and/or stderr.
 * Every line carries the prefix set with log_set_prefix() (the message id).
 * Anything that came from a message goes through log_quote() first.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stddef.h>

#define LOG_TO_SYSLOG	0x1
#define LOG_TO_STDERR	0x2

void log_open(const char *ident, int where, int debug);
void log_close(void);
void log_set_prefix(const char *prefix);
int log_debug_enabled(void);

void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like log_err, with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define log_debug(...) \
	do { if (log_debug_enabled()) log_debug_(__VA_ARGS__); } while (0)

/*
 * Copy at most len bytes of p into dst (size dstsz >= 4) with control
 * bytes, backslash, 8-bit bytes and double quotes escaped as \xHH, and
 * "..." appended when truncated. Returns dst.
 */
const char *log_quote(char *dst, size_t dstsz, const char *p, size_t len);

#endif
