/*
 * test-addr.c - RFC 5322 3.4 address lists: the examples of RFC 5322
 * appendix A and hostile input. Each row's result is dumped as
 * "name|local|domain|group|route" per address, "-" for NULL, joined
 * with " ; ".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/limits.h"
#include "msg/msg.h"
#include "tap.h"

static const struct addr_row {
	const char *in;
	const char *want;
} rows[] = {
	/* RFC 5322 A.1.1 */
	{ "John Doe <jdoe@machine.example>",
	    "John Doe|jdoe|machine.example|-|-" },
	{ "Mary Smith <mary@example.net>", "Mary Smith|mary|example.net|-|-" },
	/* A.1.2 */
	{ "\"Joe Q. Public\" <john.q.public@example.com>",
	    "Joe Q. Public|john.q.public|example.com|-|-" },
	{ "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
	    "Mary Smith|mary|x.test|-|- ; -|jdoe|example.org|-|- ; "
	    "Who?|one|y.test|-|-" },
	{ "<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
	    "-|boss|nil.test|-|- ; Giant; \"Big\" Box|sysservices|example.net|-|-" },
	/* A.1.3 */
	{ "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
	    "Ed Jones|c|a.test|A Group|- ; -|joe|where.test|A Group|- ; "
	    "John|jdoe|one.test|A Group|-" },
	{ "Undisclosed recipients:;", "" },
	{ "undisclosed-recipients:;, x@y", "-|x|y|-|-" },
	/* A.5 comments */
	{ "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	    "Pete|pete|silly.test|-|-" },
	{ "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
	    "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
	    "Chris Jones|c|public.example|A Group|- ; -|joe|example.org|A Group|- ; "
	    "John|jdoe|one.test|A Group|-" },
	/* A.6.1 obsolete */
	{ "Joe Q. Public <john.q.public@example.com>",
	    "Joe Q. Public|john.q.public|example.com|-|-" },
	{ "Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
	    "Mary Smith|mary|example.net|-|@node.test ; -|jdoe|test.example|-|-" },
	{ "<@a.test,@b.test:user@c.test>", "-|user|c.test|-|@a.test,@b.test" },
	{ "John Doe <jdoe@machine(comment).  example>",
	    "John Doe|jdoe|machine.example|-|-" },
	/* local parts */
	{ "\"john doe\"@example.com", "-|john doe|example.com|-|-" },
	{ "\"a\\\"b\\\\c\"@x", "-|a\"b\\c|x|-|-" },
	{ "john . q . public@x", "-|john.q.public|x|-|-" },
	{ "a.\"b c\".d@x", "-|a.b c.d|x|-|-" },
	{ "user@[192.0.2.1]", "-|user|[192.0.2.1]|-|-" },
	/* lists */
	{ "a@b,,c@d", "-|a|b|-|- ; -|c|d|-|-" },
	{ ",,,", "" },
	{ "", "" },
	{ "   ", "" },
	{ "a@b, c@d ,e@f", "-|a|b|-|- ; -|c|d|-|- ; -|e|f|-|-" },
	/* missing parts */
	{ "undisclosed", "-|undisclosed|-|-|-" },
	{ "user@", "-|user|-|-|-" },
	{ "<>", "-||-|-|-" },
	{ "Name <>", "Name||-|-|-" },
	{ "@example.com", "-||example.com|-|-" },
	/* RFC 2047 and 8-bit in names */
	{ "=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
	    "Andr\xc3\xa9 Pirard|PIRARD|vm1.ulg.ac.be|-|-" },
	{ "\"=?utf-8?q?J=C3=B6rg?=\" <j@x>", "J\xc3\xb6rg|j|x|-|-" },
	{ "J\xc3\xb6rg <j\xc3\xb6@b\xc3\xa4r.de>",
	    "J\xc3\xb6rg|j\xc3\xb6|b\xc3\xa4r.de|-|-" },
	{ "Bad \xff <a@b>", "Bad \xef\xbf\xbd|a|b|-|-" },
	/* hostile */
	{ "\"unterminated <a@b>, c@d", "-|unterminated <a@b>, c@d|-|-|-" },
	{ "Name <a@b, c@d", "Name|a|b|-|- ; -|c|d|-|-" },
	{ "Name a@b>, c@d", "-|Name a|b|-|- ; -|c|d|-|-" },
	{ "(unclosed comment a@b", "" },
	{ "a@b (((((((((((((((((((((((((((((((((((deep)))))))))))))))))))))))))))))))))))",
	    "-|a|b|-|-" },
	{ "g: a@b", "-|a|b|g|-" },
	{ "g: a@b; h: c@d;", "-|a|b|g|- ; -|c|d|h|-" },
	{ ": a@b;", "-|a|b||-" },
	{ "a@b@c", "-|a@b|c|-|-" },
	{ "<<a@b>>", "-|a|b|-|-" },
	{ "<@a,@b:>", "-||-|-|@a,@b" },
	{ "Name <a@b> trailing junk, c@d", "Name|a|b|-|- ; -|c|d|-|-" },
	{ ";;;a@b", "-|a|b|-|-" },
	/* NUL separates words */
	{ "a\0b@c", "-|a b|c|-|-" },
};

static void
dump(struct buf *b, const struct addr *ad, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_adds(b, " ; ");
		buf_addf(b, "%s|%s|%s|%s|%s", ad[i].name ? ad[i].name : "-",
		    ad[i].local ? ad[i].local : "-",
		    ad[i].domain ? ad[i].domain : "-",
		    ad[i].group ? ad[i].group : "-",
		    ad[i].route ? ad[i].route : "-");
	}
}

int
main(void)
{
	struct arena *a = arena_new();
	struct buf b = BUF_INIT;
	struct addr *ad;
	size_t i, n;
	clock_t t0;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len = strlen(rows[i].in);
		struct span v;

		/* The NUL row carries its length past the NUL. */
		if (strcmp(rows[i].in, "a") == 0)
			len = 5;
		v.p = rows[i].in;
		v.len = len;
		n = addr_parse_list(a, v, &ad);
		buf_reset(&b);
		dump(&b, ad, n);
		is_str(b.len ? b.data : "", rows[i].want, "addr row %zu: %s", i,
		    rows[i].in);
	}

	/* ADDR_MAX_ADDRS: a list over the cap stops at it. */
	buf_reset(&b);
	for (i = 0; i < ADDR_MAX_ADDRS + 50; i++)
		buf_addf(&b, "u%zu@example.com, ", i);
	{
		struct span v = { b.data, b.len };

		n = addr_parse_list(a, v, &ad);
		is_int((long long)n, ADDR_MAX_ADDRS, "ADDR_MAX_ADDRS cap");
		is_str(ad[n - 1].local, "u999", "last address under the cap");
	}
	/* ADDR_MAX_DEPTH: nesting beyond it ignores the rest, no crash. */
	buf_reset(&b);
	buf_adds(&b, "a@b ");
	for (i = 0; i < 100000; i++)
		buf_addc(&b, '(');
	buf_adds(&b, ", c@d");
	{
		struct span v = { b.data, b.len };

		n = addr_parse_list(a, v, &ad);
		is_int((long long)n, 1, "comment nesting beyond ADDR_MAX_DEPTH");
	}
	/* Many unclosed angle routes: linear. */
	buf_reset(&b);
	for (i = 0; i < 100000; i++)
		buf_adds(&b, "<@a,");
	{
		struct span v = { b.data, b.len };

		t0 = clock();
		n = addr_parse_list(a, v, &ad);
		ok((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0,
		    "100,000 unclosed routes parse fast (%zu addrs)", n);
	}
	buf_reset(&b);
	for (i = 0; i < 100000; i++)
		buf_adds(&b, "a b c d ");
	{
		struct span v = { b.data, b.len };

		t0 = clock();
		n = addr_parse_list(a, v, &ad);
		ok((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0,
		    "400,000 words parse fast");
	}
	buf_free(&b);
	arena_free(&a);
	return tap_done();
}
