/*
 * barewrite.c - the floor for tests/bench/bench-deliver.sh: the Maildir
 * safe write (DESIGN.md "Contracts with Dovecot") and nothing else. Read
 * stdin, write it to MAILDIR/tmp/UNIQUE (O_EXCL), fsync, rename into
 * MAILDIR/new/, fsync new/. No parsing, no From_ line or CRLF handling,
 * no S=/W= in the name. Exit 0, or 75 on any failure (as a LDA would).
 *
 * usage: barewrite MAILDIR <message
 */
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int
fail(const char *what, const char *path)
{
	fprintf(stderr, "4.3.0 barewrite: %s %s: %s\n", what, path,
	    strerror(errno));
	return 75;
}

int
main(int argc, char **argv)
{
	static char buf[64 * 1024];
	char host[256], name[512], tmp[4096], new[4096], dir[4096];
	struct timeval tv;
	ssize_t r, w, off;
	int fd, dfd;

	if (argc != 2) {
		fprintf(stderr, "usage: barewrite MAILDIR <message\n");
		return 64;
	}
	if (gethostname(host, sizeof host) == -1)
		strcpy(host, "localhost");
	host[sizeof host - 1] = '\0';
	(void)gettimeofday(&tv, NULL);
	(void)snprintf(name, sizeof name, "%lld.M%ldP%ld.%s",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(), host);
	(void)snprintf(tmp, sizeof tmp, "%s/tmp/%s", argv[1], name);
	(void)snprintf(new, sizeof new, "%s/new/%s", argv[1], name);
	(void)snprintf(dir, sizeof dir, "%s/new", argv[1]);

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return fail("create", tmp);
	for (;;) {
		r = read(STDIN_FILENO, buf, sizeof buf);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto bad_read;
		if (r == 0)
			break;
		for (off = 0; off < r; off += w) {
			w = write(fd, buf + off, (size_t)(r - off));
			if (w == -1 && errno == EINTR)
				w = 0;
			else if (w == -1)
				goto bad_write;
		}
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		(void)unlink(tmp);
		return fail("fsync", tmp);
	}
	if (rename(tmp, new) == -1) {
		(void)unlink(tmp);
		return fail("rename", new);
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1)
		return fail("fsync", dir);
	(void)close(dfd);
	return 0;
bad_read:
	(void)unlink(tmp);
	return fail("read", "stdin");
bad_write:
	(void)unlink(tmp);
	return fail("write", tmp);
}
