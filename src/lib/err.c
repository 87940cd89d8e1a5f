/*
 * err.c - error classes and the DESIGN.md exit-status contract.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"

static const char *
default_status(enum err_class cls)
{
	switch (cls) {
	case ERR_NONE:
		return "2.0.0";
	case ERR_PERM:
		return "5.3.0";
	case ERR_NOUSER:
		return "5.1.1";
	case ERR_USAGE:
		return "5.3.5";
	case ERR_CONFIG:
		return "4.3.5";
	case ERR_TEMP:
	case ERR_INTERNAL:
	default:
		return "4.3.0";
	}
}

static void
vset(struct err *e, enum err_class cls, const char *status, const char *fmt,
    va_list ap)
{
	e->cls = cls;
	(void)snprintf(e->status, sizeof e->status, "%s",
	    status ? status : default_status(cls));
	(void)vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

int
err_set(struct err *e, enum err_class cls, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(e, cls, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int
err_status(struct err *e, enum err_class cls, const char *status,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(e, cls, status, fmt, ap);
	va_end(ap);
	return -1;
}

int
err_sys(struct err *e, int errnum, const char *fmt, ...)
{
	const char *status = "4.3.0";
	size_t n;
	va_list ap;

	if (errnum == ENOSPC)
		status = "4.3.1";	/* RFC 3463: mail system full */
#ifdef EDQUOT
	else if (errnum == EDQUOT)
		status = "4.2.2";	/* mailbox full */
#endif
	va_start(ap, fmt);
	vset(e, ERR_TEMP, status, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	(void)snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(errnum));
	return -1;
}

void
err_clear(struct err *e)
{
	e->cls = ERR_NONE;
	e->status[0] = '\0';
	e->msg[0] = '\0';
}

int
err_exit_code(const struct err *e)
{
	switch (e->cls) {
	case ERR_NONE:
		return EX_OK;
	case ERR_PERM:
		return EX_NOPERM;
	case ERR_NOUSER:
		return EX_NOUSER;
	case ERR_USAGE:
		return EX_USAGE;
	case ERR_TEMP:
	case ERR_INTERNAL:
	case ERR_CONFIG:
	default:
		/* No bug of ours ever bounces mail. */
		return EX_TEMPFAIL;
	}
}

const char *
err_class_name(enum err_class cls)
{
	static const char *const names[] = {
		[ERR_NONE] = "ok", [ERR_TEMP] = "temporary",
		[ERR_PERM] = "permanent", [ERR_INTERNAL] = "internal",
		[ERR_NOUSER] = "nouser", [ERR_USAGE] = "usage",
		[ERR_CONFIG] = "config",
	};

	if ((unsigned)cls < sizeof names / sizeof names[0] && names[cls])
		return names[cls];
	return "unknown";
}
