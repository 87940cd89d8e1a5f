/*
 * program.h - run an external program safely: sendmail, Sieve
 * vnd.dovecot.pipe/filter/execute, procmail-style pipes.
 *
 * STYLE.md "Delivery and privileges": an argv, never a shell; a fresh
 * environment given by the caller; the caller's rights (already dropped:
 * nothing here changes uid/gid); a timeout; an output cap. The child runs
 * in its own process group, and on timeout the whole group gets SIGKILL,
 * so a program's own children die with it. The child is always reaped.
 */
#ifndef SLUICE_PROGRAM_H
#define SLUICE_PROGRAM_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

/* Defaults when the caller gives 0 (seconds, bytes). */
#define PROGRAM_DEFAULT_TIMEOUT	60
#define PROGRAM_DEFAULT_OUT_CAP	(64 * 1024)
#define PROGRAM_ERR_CAP		4096	/* stderr kept for logs */

struct program_opts {
	/* argv[0] is the program's path (used as is: no PATH search). */
	const char *const *argv;
	/* The whole environment, "K=V" strings; NULL: an empty one. */
	const char *const *envp;
	/*
	 * Standard input, sent in this order: head (memory), then in_fd
	 * from offset in_off to its end (read with pread: in_fd's own offset
	 * is untouched), then tail (memory). Nothing at all: /dev/null.
	 * A program that exits without reading everything is not an error
	 * (its exit status decides).
	 */
	const char *head;
	size_t head_len;
	int in_fd;		/* -1: none */
	off_t in_off;
	int in_crlf;		/* 1: send each bare LF of in_fd as CRLF */
	const char *tail;
	size_t tail_len;
	/*
	 * Standard output: written to out_fd when out_fd >= 0 (e.g. a new
	 * spool file for a filter), else kept in the result's out buffer.
	 * At most out_cap bytes (0: PROGRAM_DEFAULT_OUT_CAP); the rest is
	 * read and dropped, and out_truncated is set.
	 */
	int out_fd;
	size_t out_cap;
	unsigned timeout;	/* seconds for the whole run (0: default) */
};

struct program_result {
	int exited;		/* 1: status is the exit code */
	int status;		/* exit code (exited) or signal number */
	int signaled;		/* 1: killed by signal status */
	int timed_out;		/* 1: we killed it (the group) at the deadline */
	int out_truncated;
	int err_truncated;
	off_t out_len;		/* bytes of stdout kept (buffer or out_fd) */
	struct buf out;		/* stdout when out_fd < 0 (caller frees) */
	struct buf err;		/* stderr, up to PROGRAM_ERR_CAP (caller frees) */
};

/* Default options: no input, stdout to the buffer, default cap/timeout. */
void program_opts_init(struct program_opts *o);

/*
 * Run o->argv[0] and wait for it. Returns 0 when the program ran (whatever
 * its exit status: look at r), -1 with e set when it could not be started
 * (exec failed: ERR_TEMP by errno like every system error, the message
 * says which) or on a local I/O error (reading in_fd, writing out_fd).
 * r is initialised here; free it with program_result_free().
 */
int program_run(const struct program_opts *o, struct program_result *r,
    struct err *e);
void program_result_free(struct program_result *r);

/* 1 when r is a clean exit 0. */
int program_ok(const struct program_result *r);
/* "exit 3", "killed by signal 9", "timed out" into dst (for logs). */
const char *program_describe(const struct program_result *r, char *dst,
    size_t size);

/*
 * Sieve vnd.dovecot.pipe/filter/execute: programs only from an admin's
 * directory. Refuses (ERR_PERM) a NULL/empty bin_dir or name, a name with
 * '/', one starting with '.', and anything that is not a regular file
 * executable with our rights in bin_dir. The path goes to out (size
 * outsz). 0 or -1.
 */
int program_resolve(const char *bin_dir, const char *name, char *out,
    size_t outsz, struct err *e);

#endif
