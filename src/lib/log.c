/*
 * log.c - logging. The prefix is per process (the LDA handles one message;
 * the milter sets none and prefixes its lines itself).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "buf.h"
#include "log.h"

static int log_where = LOG_TO_STDERR;
static int log_dbg;
static char log_ident[32] = "sluice";
static char log_prefix[128];

void
log_open(const char *ident, int where, int debug)
{
	(void)snprintf(log_ident, sizeof log_ident, "%s", ident);
	log_where = where;
	log_dbg = debug;
	if (where & LOG_TO_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_close(void)
{
	if (log_where & LOG_TO_SYSLOG)
		closelog();
}

void
log_set_prefix(const char *prefix)
{
	(void)snprintf(log_prefix, sizeof log_prefix, "%s", prefix ? prefix : "");
}

int
log_debug_enabled(void)
{
	return log_dbg;
}

static void
vlog(int pri, const char *fmt, va_list ap, int errnum)
{
	char line[2048];
	size_t n = 0;

	if (log_prefix[0] != '\0')
		n = (size_t)snprintf(line, sizeof line, "%s ", log_prefix);
	if (n < sizeof line)
		(void)vsnprintf(line + n, sizeof line - n, fmt, ap);
	if (errnum != 0) {
		n = strlen(line);
		if (n < sizeof line)
			(void)snprintf(line + n, sizeof line - n, ": %s",
			    strerror(errnum));
	}
	if (log_where & LOG_TO_SYSLOG)
		syslog(pri, "%s", line);
	if (log_where & LOG_TO_STDERR)
		(void)fprintf(stderr, "%s: %s\n", log_ident, line);
}

void
log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, 0);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, saved);
	va_end(ap);
	errno = saved;
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, 0);
	va_end(ap);
}

void
log_debug_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
}

const char *
log_quote(char *dst, size_t dstsz, const char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (dstsz < 4) {
		if (dstsz > 0)
			dst[0] = '\0';
		return dst;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		int esc = c < 0x20 || c >= 0x7f || c == '\\' || c == '"';

		if (o + (esc ? 4 : 1) > dstsz - 4) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (esc) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
	return dst;
}
