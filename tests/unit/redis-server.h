/*
 * redis-server.h - a real redis-server on 127.0.0.1 for the unit tests
 * (test-store, test-bayes): started on a free port and a unix socket in
 * the test's scratch directory, stopped by PID. Header-only: each test
 * is one program.
 */
#ifndef SLUICE_TEST_REDIS_SERVER_H
#define SLUICE_TEST_REDIS_SERVER_H

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

static pid_t redis_pid = -1;
static int redis_port;
static char redis_sock[PATH_MAX];

/* A free TCP port on 127.0.0.1 (bind to 0, read it back, release). */
static int
redis_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Stop the server with sig (SIGTERM; SIGKILL for crash tests). */
static void
redis_stop(int sig)
{
	int st;

	if (redis_pid <= 0)
		return;
	(void)kill(redis_pid, SIGCONT);
	(void)kill(redis_pid, sig);
	(void)waitpid(redis_pid, &st, 0);
	redis_pid = -1;
}

/*
 * Start redis-server with its files in scratch/redis, on redis_port (a
 * free one the first time; restarts reuse it) and redis_sock; wait until
 * it answers a GET. persistent: append-only file with fsync always, so a
 * killed server comes back with exactly what it acknowledged. 0 or -1.
 */
static int
redis_start(const char *scratch, int persistent)
{
	char port[16], dir[PATH_MAX], spec[64];
	int i;

	if (snprintf(dir, sizeof dir, "%s/redis", scratch) >= (int)sizeof dir)
		return -1;
	(void)mkdir(dir, 0700);
	if (strlen(dir) + sizeof "/redis.sock" > sizeof redis_sock)
		return -1;
	memcpy(redis_sock, dir, strlen(dir));
	memcpy(redis_sock + strlen(dir), "/redis.sock", sizeof "/redis.sock");
	if (redis_port <= 0 && (redis_port = redis_free_port()) <= 0)
		return -1;
	(void)snprintf(port, sizeof port, "%d", redis_port);
	if ((redis_pid = fork()) == -1)
		return -1;
	if (redis_pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			(void)dup2(null, 0);
			(void)dup2(null, 1);
		}
		execlp("redis-server", "redis-server", "--port", port,
		    "--bind", "127.0.0.1", "--save", "",
		    "--appendonly", persistent ? "yes" : "no",
		    "--appendfsync", "always", "--dir", dir,
		    "--unixsocket", redis_sock, "--unixsocketperm", "700",
		    "--daemonize", "no", "--loglevel", "warning", (char *)NULL);
		perror("exec redis-server");
		_exit(127);
	}
	(void)snprintf(spec, sizeof spec, "redis://127.0.0.1:%d/0",
	    redis_port);
	for (i = 0; i < 100; i++) {	/* up to 5 s */
		struct err e;
		struct store *s;

		if ((s = store_open(spec, NULL, &e)) != NULL) {
			struct buf v = BUF_INIT;
			int rc = store_get(s, SPAN_LIT("probe"), &v, &e);

			buf_free(&v);
			store_close(&s);
			if (rc != -1)
				return 0;
		}
		usleep(50000);
	}
	redis_stop(SIGTERM);
	return -1;
}

#endif
