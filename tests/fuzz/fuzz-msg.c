/*
 * fuzz-msg.c - libFuzzer target for the message model: header index,
 * address lists, header decoding, MIME tree, part decoding.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -I src \
 *	    tests/fuzz/fuzz-msg.c SRC -o fuzz-msg
 *	./fuzz-msg -max_total_time=180 CORPUS tests/fuzz/seeds
 *
 * where SRC is every .c file of src/msg and src/lib.
 *
 * Uses only msg.h: the struct msg is set up by hand (msg_new() belongs to
 * msg.c and may read a spool file).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/limits.h"
#include "msg/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const addr_fields[] = {
	"from", "to", "cc", "bcc", "reply-to", "sender", "resent-to",
	"resent-from", "resent-cc", "return-path", "delivered-to",
};

struct walk {
	struct arena *a;
	struct buf out;
};

static int
visit(struct mime_part *p, void *arg)
{
	struct walk *w = arg;
	const struct hdr *h;
	struct mime_ctype cd;

	buf_reset(&w->out);
	mime_decode(p, &w->out);
	if (p->body.p + p->body.len < p->body.p)
		__builtin_trap();
	if ((h = mime_hdr_find(p, "content-disposition")) != NULL)
		mime_ctype_parse(w->a, h->value, &cd);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg m;
	struct walk w;
	struct addr *ad;
	size_t i, j, n;

	memset(&m, 0, sizeof(m));
	m.arena = arena_new();
	msg_parse_header(&m, (const char *)data, size);

	for (i = 0; i < m.nhdrs; i++) {
		const struct hdr *h = &m.hdrs[i];
		char *d = hdr_decode(m.arena, h->value);

		(void)d;
		for (j = 0; j < sizeof(addr_fields) / sizeof(addr_fields[0]);
		    j++) {
			if (!span_ieq(h->name, addr_fields[j]))
				continue;
			n = addr_parse_list(m.arena, h->value, &ad);
			if (n > ADDR_MAX_ADDRS)
				__builtin_trap();
			while (n-- > 0)
				if (ad[n].local == NULL)
					__builtin_trap();
		}
	}

	m.data = (const char *)data;
	m.len = size;
	mime_parse(&m);
	w.a = m.arena;
	memset(&w.out, 0, sizeof(w.out));
	mime_walk(m.mime, visit, &w);

	buf_free(&w.out);
	arena_free(&m.arena);
	return 0;
}
