/*
 * err.h - error details carried up to main.c, which alone turns a class
 * into an exit status (or, in the milter, an SMTP reply).
 */
#ifndef SLUICE_ERR_H
#define SLUICE_ERR_H

enum err_class {
	ERR_NONE = 0,
	ERR_TEMP,	/* try again later: disk, locks, store, deadline (75) */
	ERR_PERM,	/* a policy decision that bounces (77 unless said) */
	ERR_INTERNAL,	/* our own bug or impossible state: also 75 */
	ERR_NOUSER,	/* unknown -d user (67) */
	ERR_USAGE,	/* bad command line (64) */
	ERR_CONFIG,	/* bad configuration: 75, the admin must fix it */
};

struct err {
	enum err_class cls;
	char status[8];		/* RFC 3463 enhanced status, e.g. "4.3.0" */
	char msg[512];
};

/* Set class and message (status defaults by class). Returns -1. */
int err_set(struct err *e, enum err_class cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same with an explicit enhanced status code such as "5.2.2". */
int err_status(struct err *e, enum err_class cls, const char *status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Classify errno (every system error is temporary; ENOSPC and EDQUOT get
 * their own status codes) and append strerror. Returns -1. */
int err_sys(struct err *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void err_clear(struct err *e);
/* The sysexits.h code for an error class (DESIGN.md "Exit status"). */
int err_exit_code(const struct err *e);
const char *err_class_name(enum err_class cls);

#endif
