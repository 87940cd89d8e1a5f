/*
 * program.c - fork/exec with pipes, a deadline and output caps.
 *
 * The parent drives stdin, stdout and stderr through one poll() loop with
 * non-blocking pipe ends, so a program that writes a lot before reading
 * its input (or never reads it) cannot deadlock us. SIGPIPE is blocked in
 * this thread while we write; a pending one we caused is consumed, so the
 * caller's disposition is never disturbed. The child is always reaped:
 * after the deadline its whole process group is killed with SIGKILL and
 * waited for.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "program.h"

#define IO_BLOCK	(64 * 1024)

void
program_opts_init(struct program_opts *o)
{
	memset(o, 0, sizeof *o);
	o->in_fd = -1;
	o->out_fd = -1;
}

void
program_result_free(struct program_result *r)
{
	buf_free(&r->out);
	buf_free(&r->err);
}

int
program_ok(const struct program_result *r)
{
	return r->exited && r->status == 0 && !r->timed_out;
}

const char *
program_describe(const struct program_result *r, char *dst, size_t size)
{
	if (r->timed_out)
		(void)snprintf(dst, size, "timed out (killed)");
	else if (r->signaled)
		(void)snprintf(dst, size, "killed by signal %d", r->status);
	else
		(void)snprintf(dst, size, "exit %d", r->status);
	return dst;
}

static long long
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl == -1 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
}

/* In the child: only async-signal-safe calls until execve. */
static void __attribute__((noreturn))
child(const struct program_opts *o, int in, int out, int err, int errpipe)
{
	struct sigaction sa;
	sigset_t none;
	int sig, fd, e;
	static const char *const empty_env[] = { NULL };

	(void)setpgid(0, 0);
	/* Ignored signals stay ignored across exec (the LDA ignores
	 * SIGPIPE): give the program the defaults and an empty mask. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1)
		goto fail;
	/* dup2 onto itself keeps close-on-exec: clear it on 0-2. */
	for (fd = 0; fd < 3; fd++)
		(void)fcntl(fd, F_SETFD, 0);
	/* Everything else closes: the spool, the store, other pipes. The
	 * error pipe is close-on-exec and tells the parent exec worked. */
	for (fd = 3; fd < 1024; fd++)
		if (fd != errpipe)
			(void)close(fd);
	(void)execve(o->argv[0], (char *const *)(uintptr_t)o->argv,
	    (char *const *)(uintptr_t)(o->envp ? o->envp : empty_env));
fail:
	e = errno;
	(void)write(errpipe, &e, sizeof e);
	_exit(127);
}

/* Where the input stands. */
struct feed {
	const struct program_opts *o;
	int stage;		/* 0 head, 1 fd, 2 tail, 3 done */
	size_t moff;		/* offset in head/tail */
	off_t foff;
	char *blk;		/* 2 * IO_BLOCK with in_crlf, else IO_BLOCK */
	size_t blen, bpos;	/* pending block read from in_fd */
	int prev_cr;		/* in_crlf: the last byte read was a CR */
};

/* in_crlf: every LF of blk[0..n) not preceded by a CR becomes CRLF, in
 * place (blk has room for 2n bytes); prev_cr: the byte before blk[0] was
 * a CR. Returns the new length. */
static size_t
lf_to_crlf(char *blk, size_t n, int prev_cr)
{
	size_t add = 0, i, j;
	char c;

	for (i = 0; i < n; i++)
		if (blk[i] == '\n' && !(i > 0 ? blk[i - 1] == '\r' : prev_cr))
			add++;
	/* Back to front: the write index never falls below the read one. */
	for (i = n, j = n + add; i > 0; i--) {
		c = blk[i - 1];
		blk[--j] = c;
		if (c == '\n' && !(i > 1 ? blk[i - 2] == '\r' : prev_cr))
			blk[--j] = '\r';
	}
	return n + add;
}

/* Write the next piece of input: 1 when all is sent, 0 more to come, -1
 * when the program stopped reading (EPIPE...), -2 on a local read error
 * (e set). */
static int
feed_more(struct feed *f, int fd, struct err *e)
{
	const struct program_opts *o = f->o;
	const char *p;
	size_t n;
	ssize_t w;

	for (;;) {
		if (f->stage == 0 || f->stage == 2) {
			p = f->stage == 0 ? o->head : o->tail;
			n = f->stage == 0 ? o->head_len : o->tail_len;
			if (p == NULL || f->moff >= n) {
				f->stage++;
				f->moff = 0;
				continue;
			}
			p += f->moff;
			n -= f->moff;
		} else if (f->stage == 1) {
			if (o->in_fd < 0) {
				f->stage++;
				continue;
			}
			if (f->bpos == f->blen) {
				ssize_t r = pread(o->in_fd, f->blk, IO_BLOCK,
				    f->foff);

				if (r == -1 && errno == EINTR)
					continue;
				if (r == -1) {
					err_sys(e, errno, "read input");
					return -2;
				}
				if (r == 0) {
					f->stage++;
					continue;
				}
				f->foff += r;
				f->blen = (size_t)r;
				f->bpos = 0;
				if (o->in_crlf) {
					int cr = f->blk[r - 1] == '\r';

					f->blen = lf_to_crlf(f->blk, f->blen,
					    f->prev_cr);
					f->prev_cr = cr;
				}
			}
			p = f->blk + f->bpos;
			n = f->blen - f->bpos;
		} else {
			return 1;
		}
		w = write(fd, p, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;	/* EPIPE and friends: caller stops */
		}
		if (f->stage == 1)
			f->bpos += (size_t)w;
		else
			f->moff += (size_t)w;
	}
}

/* Read what is there; 1 at EOF, 0 more, -1 on a local error (e set). */
static int
drain(int fd, struct buf *b, int out_fd, size_t cap, off_t *kept,
    int *truncated, char *blk, struct err *e)
{
	for (;;) {
		ssize_t r = read(fd, blk, IO_BLOCK);
		size_t take;

		if (r == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return 1;	/* treat a broken pipe as EOF */
		}
		if (r == 0)
			return 1;
		take = (size_t)r;
		if ((size_t)*kept >= cap)
			take = 0;
		else if (take > cap - (size_t)*kept)
			take = cap - (size_t)*kept;
		if (take < (size_t)r)
			*truncated = 1;
		if (take == 0)
			continue;
		if (out_fd >= 0) {
			if (write_all(out_fd, blk, take) == -1)
				return err_sys(e, errno, "write program output");
		} else {
			buf_add(b, blk, take);
		}
		*kept += (off_t)take;
	}
}

static void
reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) == -1 && errno == EINTR)
		;
}

int
program_run(const struct program_opts *o, struct program_result *r,
    struct err *e)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 };
	int ep[2] = { -1, -1 };
	int ret = -1, status = 0, have_input, in_done, out_eof = 0, err_eof = 0;
	int exited = 0, exec_errno = 0, local_err = 0, pipe_was_pending;
	long long deadline;
	size_t out_cap = o->out_cap ? o->out_cap : PROGRAM_DEFAULT_OUT_CAP;
	off_t err_kept = 0;
	sigset_t pipeset, oldmask, pending;
	struct feed f;
	char *blk = NULL;
	pid_t pid;
	ssize_t n;

	memset(r, 0, sizeof *r);
	memset(&f, 0, sizeof f);
	f.o = o;
	f.foff = o->in_off;
	if (o->argv == NULL || o->argv[0] == NULL || o->argv[0][0] != '/')
		return err_set(e, ERR_INTERNAL, "program path must be absolute");
	have_input = o->head_len > 0 || o->tail_len > 0 || o->in_fd >= 0;
	deadline = now_ms() + 1000LL * (o->timeout ? o->timeout :
	    PROGRAM_DEFAULT_TIMEOUT);

	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(er, O_CLOEXEC) == -1 ||
	    pipe2(ep, O_CLOEXEC) == -1) {
		err_sys(e, errno, "pipe");
		goto out;
	}
	if (have_input) {
		if (pipe2(in, O_CLOEXEC) == -1) {
			err_sys(e, errno, "pipe");
			goto out;
		}
	} else if ((in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		err_sys(e, errno, "open /dev/null");
		goto out;
	}

	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	(void)pthread_sigmask(SIG_BLOCK, &pipeset, &oldmask);
	sigemptyset(&pending);
	(void)sigpending(&pending);
	pipe_was_pending = sigismember(&pending, SIGPIPE);

	if ((pid = fork()) == -1) {
		err_sys(e, errno, "fork");
		(void)pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
		goto out;
	}
	if (pid == 0)
		child(o, in[0], out[1], er[1], ep[1]);
	(void)setpgid(pid, pid);	/* both sides: no race with kill */
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&er[1]);
	close_fd(&ep[1]);

	/* Did exec work? The pipe closes on exec, or carries errno. */
	do
		n = read(ep[0], &exec_errno, sizeof exec_errno);
	while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof exec_errno) {
		reap(pid, &status);
		(void)pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
		err_sys(e, exec_errno, "execute %s", o->argv[0]);
		goto out;
	}

	blk = xmalloc(IO_BLOCK);
	if (have_input) {
		f.blk = xmalloc(o->in_crlf ? 2 * IO_BLOCK : IO_BLOCK);
		(void)set_nonblock(in[1]);
	}
	(void)set_nonblock(out[0]);
	(void)set_nonblock(er[0]);
	in_done = !have_input;

	while (!out_eof || !err_eof || !in_done) {
		struct pollfd pfd[3];
		nfds_t np = 0;
		int ix_in = -1, ix_out = -1, ix_err = -1, pr;
		long long left = deadline - now_ms();

		if (left <= 0) {
			r->timed_out = 1;
			break;
		}
		if (!in_done) {
			pfd[np].fd = in[1];
			pfd[np].events = POLLOUT;
			ix_in = (int)np++;
		}
		if (!out_eof) {
			pfd[np].fd = out[0];
			pfd[np].events = POLLIN;
			ix_out = (int)np++;
		}
		if (!err_eof) {
			pfd[np].fd = er[0];
			pfd[np].events = POLLIN;
			ix_err = (int)np++;
		}
		pr = poll(pfd, np, left > INT_MAX ? INT_MAX : (int)left);
		if (pr == -1) {
			if (errno == EINTR)
				continue;
			err_sys(e, errno, "poll");
			local_err = 1;
			break;
		}
		if (ix_in >= 0 && pfd[ix_in].revents != 0) {
			int fr = feed_more(&f, in[1], e);

			if (fr == -2) {
				local_err = 1;
				break;
			}
			if (fr != 0) {
				/* all sent, or the program stopped reading */
				close_fd(&in[1]);
				in_done = 1;
			}
		}
		if (ix_out >= 0 && pfd[ix_out].revents != 0) {
			int dr = drain(out[0], &r->out, o->out_fd, out_cap,
			    &r->out_len, &r->out_truncated, blk, e);

			if (dr == -1) {
				local_err = 1;
				break;
			}
			out_eof = dr;
		}
		if (ix_err >= 0 && pfd[ix_err].revents != 0)
			err_eof = drain(er[0], &r->err, -1, PROGRAM_ERR_CAP,
			    &err_kept, &r->err_truncated, blk, e);
	}
	close_fd(&in[1]);

	/* Pipes are done (or we gave up on them): wait for the exit, still
	 * under the deadline; a program that lingers is killed. */
	if (!r->timed_out && !local_err) {
		for (;;) {
			pid_t w = waitpid(pid, &status, WNOHANG);

			if (w == pid) {
				exited = 1;
				break;
			}
			if (w == -1 && errno != EINTR)
				break;
			if (now_ms() >= deadline) {
				r->timed_out = 1;
				break;
			}
			{
				struct timespec ts = { 0, 5 * 1000 * 1000 };

				(void)nanosleep(&ts, NULL);
			}
		}
	}
	if (!exited) {
		(void)kill(-pid, SIGKILL);
		(void)kill(pid, SIGKILL);
		reap(pid, &status);
	} else if (r->timed_out == 0) {
		/* Leftovers of the group (a daemonised grandchild holding no
		 * pipe) are not ours to keep running past the program. */
		(void)kill(-pid, SIGKILL);
	}

	/* Consume a SIGPIPE we caused, then restore the mask. */
	if (!pipe_was_pending) {
		struct timespec zero = { 0, 0 };

		sigemptyset(&pending);
		(void)sigpending(&pending);
		if (sigismember(&pending, SIGPIPE))
			(void)sigtimedwait(&pipeset, NULL, &zero);
	}
	(void)pthread_sigmask(SIG_SETMASK, &oldmask, NULL);

	if (WIFEXITED(status)) {
		r->exited = 1;
		r->status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		r->signaled = 1;
		r->status = WTERMSIG(status);
	}
	ret = local_err ? -1 : 0;
out:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&er[0]);
	close_fd(&er[1]);
	close_fd(&ep[0]);
	close_fd(&ep[1]);
	free(blk);
	free(f.blk);
	return ret;
}

int
program_resolve(const char *bin_dir, const char *name, char *out,
    size_t outsz, struct err *e)
{
	struct stat st;

	if (bin_dir == NULL || bin_dir[0] != '/')
		return err_status(e, ERR_PERM, "5.7.1",
		    "no program directory configured");
	if (name == NULL || name[0] == '\0' || name[0] == '.' ||
	    strchr(name, '/') != NULL)
		return err_status(e, ERR_PERM, "5.7.1",
		    "program name refused: \"%s\"", name ? name : "");
	if (buf_fmt(out, outsz, "%s/%s", bin_dir, name) == -1)
		return err_status(e, ERR_PERM, "5.7.1", "program path too long");
	if (stat(out, &st) == -1)
		return err_status(e, ERR_PERM, "5.7.1", "program %s: %s", name,
		    strerror(errno));
	if (!S_ISREG(st.st_mode) || access(out, X_OK) == -1)
		return err_status(e, ERR_PERM, "5.7.1",
		    "program %s is not an executable file", name);
	return 0;
}
