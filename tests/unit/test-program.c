/*
 * test-program.c - program_run() and program_resolve(): rows of argv +
 * input -> expected exit, output and flags; then the process-group kill,
 * fd hygiene and the bin-dir rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/program.h"
#include "tap.h"

struct row {
	const char *name;
	const char *argv[8];
	const char *input;	/* head; NULL: no input (/dev/null) */
	size_t cap;		/* out_cap, 0 default */
	unsigned timeout;
	int ret;		/* program_run */
	int exited, status, signaled, timed_out, truncated;
	const char *out;	/* expected stdout, NULL: not checked */
	const char *err;	/* expected stderr substring, NULL: unchecked */
};

static const char *const env[] = { "PATH=/usr/bin:/bin", "FOO=bar", NULL };

static const struct row rows[] = {
	{ "true", { "/bin/true" }, NULL, 0, 5, 0, 1, 0, 0, 0, 0, "", NULL },
	{ "exit code", { "/bin/sh", "-c", "exit 3" }, NULL, 0, 5, 0, 1, 3,
	  0, 0, 0, "", NULL },
	{ "exit 75", { "/bin/sh", "-c", "exit 75" }, NULL, 0, 5, 0, 1, 75, 0,
	  0, 0, "", NULL },
	{ "argv, no shell", { "/bin/echo", "a;b", "$(id)", "`x`|y", "*" },
	  NULL, 0, 5, 0, 1, 0, 0, 0, 0, "a;b $(id) `x`|y *\n", NULL },
	{ "stdin to stdout", { "/bin/cat" }, "hello\nworld\n", 0, 5, 0, 1, 0,
	  0, 0, 0, "hello\nworld\n", NULL },
	{ "no input is /dev/null", { "/bin/cat" }, NULL, 0, 5, 0, 1, 0, 0, 0,
	  0, "", NULL },
	{ "environment is ours", { "/bin/sh", "-c", "echo $FOO:$HOME" }, NULL,
	  0, 5, 0, 1, 0, 0, 0, 0, "bar:\n", NULL },
	{ "stderr captured", { "/bin/sh", "-c", "echo oops >&2; exit 1" },
	  NULL, 0, 5, 0, 1, 1, 0, 0, 0, "", "oops" },
	{ "output cap", { "/bin/sh", "-c", "yes | head -c 100000" }, NULL, 10,
	  5, 0, 1, 0, 0, 0, 1, "y\ny\ny\ny\ny\n", NULL },
	{ "program ignores input", { "/bin/true" },
	  "lots of input that nobody reads\n", 0, 5, 0, 1, 0, 0, 0, 0, "",
	  NULL },
	{ "signal", { "/bin/sh", "-c", "kill -TERM $$" }, NULL, 0, 5, 0, 0,
	  SIGTERM, 1, 0, 0, "", NULL },
	{ "timeout", { "/bin/sleep", "30" }, NULL, 0, 1, 0, 0, SIGKILL, 1, 1,
	  0, "", NULL },
	{ "missing program", { "/nonexistent/prog" }, NULL, 0, 5, -1, 0, 0, 0,
	  0, 0, NULL, NULL },
	{ "relative path refused", { "bin/true" }, NULL, 0, 5, -1, 0, 0, 0, 0,
	  0, NULL, NULL },
};

static void
run_row(size_t i, const struct row *r)
{
	struct program_opts o;
	struct program_result res;
	struct err e;
	int ret;

	program_opts_init(&o);
	o.argv = r->argv;
	o.envp = env;
	if (r->input != NULL) {
		o.head = r->input;
		o.head_len = strlen(r->input);
	}
	o.out_cap = r->cap;
	o.timeout = r->timeout;
	err_clear(&e);
	ret = program_run(&o, &res, &e);
	is_int(ret, r->ret, "row %zu %s: return (%s)", i, r->name, e.msg);
	if (ret == 0) {
		is_int(res.exited, r->exited, "row %zu %s: exited", i, r->name);
		is_int(res.status, r->status, "row %zu %s: status", i, r->name);
		is_int(res.signaled, r->signaled, "row %zu %s: signaled", i,
		    r->name);
		is_int(res.timed_out, r->timed_out, "row %zu %s: timed out", i,
		    r->name);
		is_int(res.out_truncated, r->truncated, "row %zu %s: truncated",
		    i, r->name);
		if (r->out != NULL)
			is_str(res.out.data ? res.out.data : "", r->out,
			    "row %zu %s: stdout", i, r->name);
		if (r->err != NULL)
			ok(res.err.data != NULL &&
			    strstr(res.err.data, r->err) != NULL,
			    "row %zu %s: stderr has \"%s\"", i, r->name, r->err);
	}
	program_result_free(&res);
}

/* 1 if pid is gone or a zombie (killed, waiting for init to reap it). */
static int
dead(long pid)
{
	char path[64], buf[256];
	FILE *fp;
	size_t n;
	char *p;

	(void)snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 1;
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && (p[2] == 'Z' || p[2] == 'X');
}

int
main(void)
{
	char dir[128], path[256], file[300];
	size_t i;

	signal(SIGPIPE, SIG_DFL);	/* EPIPE must not kill us */
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
		run_row(i, &rows[i]);

	(void)snprintf(dir, sizeof dir, "/tmp/test-program.%ld", (long)getpid());
	mkdir(dir, 0700);

	/* The timeout kills the whole group: a grandchild dies too. */
	{
		const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
		char script[512], pidbuf[32];
		struct program_opts o;
		struct program_result r;
		struct err e;
		time_t t0 = time(NULL);
		FILE *fp;
		long gpid = 0;

		(void)snprintf(file, sizeof file, "%s/gpid", dir);
		(void)snprintf(script, sizeof script,
		    "sleep 100 & echo $! > %s; wait", file);
		argv[2] = script;
		program_opts_init(&o);
		o.argv = argv;
		o.timeout = 1;
		is_int(program_run(&o, &r, &e), 0, "group kill: ran");
		ok(r.timed_out, "group kill: timed out");
		ok(time(NULL) - t0 < 10, "group kill: within the deadline");
		if ((fp = fopen(file, "r")) != NULL) {
			if (fgets(pidbuf, sizeof pidbuf, fp) != NULL)
				gpid = atol(pidbuf);
			fclose(fp);
		}
		ok(gpid > 0, "group kill: grandchild pid known");
		{
			int k;

			for (k = 0; k < 100 && gpid > 0 && !dead(gpid); k++)
				usleep(10000);
		}
		ok(gpid > 0 && dead(gpid), "group kill: grandchild %ld is dead",
		    gpid);
		program_result_free(&r);
	}
	/* A grandchild holding stdout after its parent exited is killed at
	 * the deadline, and we do not hang. */
	{
		const char *argv[] = { "/bin/sh", "-c", "sleep 100 & exit 0",
		    NULL };
		struct program_opts o;
		struct program_result r;
		struct err e;
		time_t t0 = time(NULL);

		program_opts_init(&o);
		o.argv = argv;
		o.timeout = 1;
		is_int(program_run(&o, &r, &e), 0, "lingering: ran");
		ok(time(NULL) - t0 < 10, "lingering: returned at the deadline");
		program_result_free(&r);
	}
	/* Input from an fd, from an offset, with head and tail; our fds do
	 * not leak into the child. */
	{
		const char *argv[] = { "/bin/sh", "-c",
		    "cat; ls /proc/self/fd | wc -l >&2", NULL };
		struct program_opts o;
		struct program_result r;
		struct err e;
		int fd;

		(void)snprintf(file, sizeof file, "%s/input", dir);
		fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (write(fd, "0123456789", 10) != 10)
			diag("write failed");
		program_opts_init(&o);
		o.argv = argv;
		o.head = "H:";
		o.head_len = 2;
		o.in_fd = fd;
		o.in_off = 4;
		o.tail = ":T";
		o.tail_len = 2;
		is_int(program_run(&o, &r, &e), 0, "fd input: ran");
		is_str(r.out.data, "H:456789:T", "fd input: head, fd from "
		    "offset, tail");
		/* 0, 1, 2 and the one ls opens */
		ok(r.err.data != NULL && atoi(r.err.data) <= 4,
		    "fd input: no leaked descriptors (%s)",
		    r.err.data ? r.err.data : "");
		ok(lseek(fd, 0, SEEK_CUR) == 10, "fd input: our offset kept");
		program_result_free(&r);
		close(fd);
	}
	/* in_crlf (Sieve pipe): bare LFs of in_fd become CRLF, CRLF stays,
	 * also across the 64 KiB read blocks (a CR ending one block, its LF
	 * starting the next). Rows: input, expected output. */
	{
		static const char *const crows[][2] = {
			{ "a\nb\r\nc\n", "a\r\nb\r\nc\r\n" },
			{ "\n\n", "\r\n\r\n" },
			{ "no newline", "no newline" },
			{ "cr\ronly\r", "cr\ronly\r" },
		};
		const char *argv[] = { "/bin/cat", NULL };
		struct program_opts o;
		struct program_result r;
		struct err e;
		size_t k, blk = 64 * 1024, n = 3 * blk;
		char *big = malloc(n), *want = malloc(2 * n);
		size_t wl = 0;
		int fd;

		(void)snprintf(file, sizeof file, "%s/crlf", dir);
		for (k = 0; k < sizeof crows / sizeof crows[0]; k++) {
			fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
			if (write(fd, crows[k][0], strlen(crows[k][0])) !=
			    (ssize_t)strlen(crows[k][0]))
				diag("write failed");
			program_opts_init(&o);
			o.argv = argv;
			o.in_fd = fd;
			o.in_crlf = 1;
			is_int(program_run(&o, &r, &e), 0, "crlf row %zu: ran", k);
			is_str(r.out.data ? r.out.data : "", crows[k][1],
			    "crlf row %zu", k);
			program_result_free(&r);
			close(fd);
		}
		/* CR at the end of block 1, LF at the start of block 2; a bare
		 * LF at the start of block 3. */
		memset(big, 'x', n);
		big[blk - 1] = '\r';
		big[blk] = '\n';
		big[2 * blk] = '\n';
		for (k = 0; k < n; k++) {
			if (big[k] == '\n' && (k == 0 || big[k - 1] != '\r'))
				want[wl++] = '\r';
			want[wl++] = big[k];
		}
		fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (write(fd, big, n) != (ssize_t)n)
			diag("write failed");
		program_opts_init(&o);
		o.argv = argv;
		o.in_fd = fd;
		o.in_crlf = 1;
		o.out_cap = 2 * n;
		is_int(program_run(&o, &r, &e), 0, "crlf blocks: ran");
		ok((size_t)r.out_len == wl && r.out.data != NULL &&
		    memcmp(r.out.data, want, wl) == 0,
		    "crlf blocks: one CR per bare LF across blocks (%lld of "
		    "%zu bytes)", (long long)r.out_len, wl);
		program_result_free(&r);
		close(fd);
		free(big);
		free(want);
	}
	/* Big input to a program that exits early: EPIPE, no SIGPIPE death. */
	{
		const char *argv[] = { "/usr/bin/head", "-c", "10", NULL };
		struct program_opts o;
		struct program_result r;
		struct err e;
		char *big = malloc(4 << 20);

		memset(big, 'x', 4 << 20);
		program_opts_init(&o);
		o.argv = argv;
		o.head = big;
		o.head_len = 4 << 20;
		is_int(program_run(&o, &r, &e), 0, "EPIPE: ran");
		is_int(r.status, 0, "EPIPE: exit 0");
		is_int((int)r.out_len, 10, "EPIPE: 10 bytes out");
		program_result_free(&r);
		free(big);
	}
	/* Stdout to a file with a cap. */
	{
		const char *argv[] = { "/bin/sh", "-c", "printf 'abcdef'", NULL };
		struct program_opts o;
		struct program_result r;
		struct err e;
		char got[16] = "";
		int fd;

		(void)snprintf(file, sizeof file, "%s/out", dir);
		fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
		program_opts_init(&o);
		o.argv = argv;
		o.out_fd = fd;
		o.out_cap = 4;
		is_int(program_run(&o, &r, &e), 0, "out_fd: ran");
		ok(r.out_truncated, "out_fd: truncated at the cap");
		if (pread(fd, got, sizeof got - 1, 0) < 0)
			diag("pread failed");
		is_str(got, "abcd", "out_fd: capped bytes in the file");
		program_result_free(&r);
		close(fd);
	}
	/* No zombies left behind. */
	{
		int st;

		ok(waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD,
		    "no unreaped children");
	}

	/* program_resolve: only regular executables inside bin_dir. */
	{
		struct {
			const char *name;
			int ret;
		} rr[] = {
			{ "good", 0 }, { "../good", -1 }, { "sub/good", -1 },
			{ ".hidden", -1 }, { "", -1 }, { "noexec", -1 },
			{ "adir", -1 }, { "missing", -1 }, { "link", 0 },
		};
		struct err e;
		char out[512];
		FILE *fp;

		(void)snprintf(path, sizeof path, "%s/bin", dir);
		mkdir(path, 0700);
		(void)snprintf(file, sizeof file, "%s/good", path);
		fp = fopen(file, "w");
		fputs("#!/bin/sh\nexit 0\n", fp);
		fclose(fp);
		chmod(file, 0755);
		(void)snprintf(file, sizeof file, "%s/.hidden", path);
		fp = fopen(file, "w");
		fclose(fp);
		chmod(file, 0755);
		(void)snprintf(file, sizeof file, "%s/noexec", path);
		fp = fopen(file, "w");
		fclose(fp);
		chmod(file, 0644);
		(void)snprintf(file, sizeof file, "%s/adir", path);
		mkdir(file, 0755);
		(void)snprintf(file, sizeof file, "%s/link", path);
		if (symlink("good", file) == -1)
			diag("symlink failed");
		for (i = 0; i < sizeof rr / sizeof rr[0]; i++) {
			err_clear(&e);
			is_int(program_resolve(path, rr[i].name, out, sizeof out,
			    &e), rr[i].ret, "resolve \"%s\" (%s)", rr[i].name,
			    e.msg);
			if (rr[i].ret == -1)
				is_int(e.cls, ERR_PERM, "resolve \"%s\": ERR_PERM",
				    rr[i].name);
		}
		is_int(program_resolve(NULL, "good", out, sizeof out, &e), -1,
		    "resolve without a bin dir");
		is_int(program_resolve("relative", "good", out, sizeof out, &e),
		    -1, "resolve with a relative bin dir");
	}
	(void)snprintf(path, sizeof path, "rm -rf '%s'", dir);
	if (system(path) != 0)
		diag("cleanup failed");
	return tap_done();
}
