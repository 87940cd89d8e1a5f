/*
 * sm-prepare-dump.c - print what prepare.c makes of each message file, in
 * the format of sa-prepare-dump.pl (SpamAssassin's view), for diffing:
 *   MSG file / H name value / B body line / R rawbody chunk / U uri
 * Build: cc -I. -Isrc tests/score/sm-prepare-dump.c libsluice_score.a
 *        libsluice_msg.a libsluice_lib.a -lpcre2-8
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/score/score-int.h"

static const char *const hdrs[] = { "Subject", "From", "From:addr",
    "From:name", "To", "ToCc", "Message-Id", "MESSAGEID", "Received:first",
    "Reply-To:addr", "From:addr:host", "From:addr:domain", "X-Mailer:raw",
    "EnvelopeFrom", "X-Spam-Relays-Untrusted", "X-Spam-Relays-Trusted",
    NULL };

static void
esc(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\\')
			fputs("\\\\", stdout);
		else if (p[i] == '\n')
			fputs("\\n", stdout);
		else if (p[i] == '\t')
			fputs("\\t", stdout);
		else if (p[i] == '\r')
			fputs("\\r", stdout);
		else
			putchar(p[i]);
	}
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		struct buf in = BUF_INIT, v = BUF_INIT;
		struct msg *m;
		struct score_msg *sm;
		const struct span *l;
		const char *const *u;
		const char **us;
		char chunk[65536];
		ssize_t r;
		size_t n, k, skip = 0;
		int fd = open(argv[i], O_RDONLY);

		if (fd == -1) {
			perror(argv[i]);
			return 1;
		}
		while ((r = read(fd, chunk, sizeof(chunk))) > 0)
			buf_add(&in, chunk, (size_t)r);
		close(fd);
		if (in.len >= 5 && memcmp(in.data, "From ", 5) == 0) {
			const char *nl = memchr(in.data, '\n', in.len);

			skip = nl != NULL ? (size_t)(nl - in.data) + 1 : in.len;
		}
		m = msg_new();
		msg_parse_header(m, in.data + skip, in.len - skip);
		m->data = in.data + skip;
		m->len = in.len - skip;
		sm = score_msg_new(m, NULL);
		printf("MSG\t%s\n", argv[i]);
		for (k = 0; hdrs[k] != NULL; k++) {
			buf_reset(&v);
			printf("H\t%s\t", hdrs[k]);
			if (sm_header(sm, hdrs[k], 0, &v))
				esc(v.data, v.len);
			else
				fputs("(unset)", stdout);
			putchar('\n');
		}
		n = sm_body(sm, &l);
		for (k = 0; k < n; k++) {
			fputs("B\t", stdout);
			esc(l[k].p, l[k].len);
			putchar('\n');
		}
		n = sm_rawbody(sm, &l);
		for (k = 0; k < n; k++) {
			fputs("R\t", stdout);
			esc(l[k].p, l[k].len);
			putchar('\n');
		}
		n = sm_uris(sm, &u);
		us = xcalloc(n + 1, sizeof(*us));
		if (n > 0)
			memcpy(us, u, n * sizeof(*us));
		qsort(us, n, sizeof(*us), cmp);
		for (k = 0; k < n; k++) {
			fputs("U\t", stdout);
			esc(us[k], strlen(us[k]));
			putchar('\n');
		}
		free(us);
		score_msg_free(&sm);
		msg_free(&m);
		buf_free(&in);
		buf_free(&v);
	}
	return 0;
}
