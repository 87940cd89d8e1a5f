/*
 * test-pmregex.c - procmail's regex dialect (src/rules/procmailrc/regex.c).
 *
 * Every row of the two tables below was run through /usr/bin/procmail
 * (Debian's 3.22) and its answer copied here: whether the regex matched,
 * and what it put into MATCH (NOM: MATCH not assigned). The rows were
 * checked with a condition "* regex" on the body of a message (":0 B",
 * ":0 BD" for case-sensitive rows), MATCH shown by LOG="[$MATCH]"; the
 * scoring rows with "* 1^1 regex" and $=. RE_BAD rows are regexes procmail
 * complains about ("Invalid regexp") but uses anyway: they compile only
 * with PM_RE_LENIENT.
 */
#include <stdint.h>
#include <time.h>

#include "tap.h"
#include "../../src/rules/procmailrc/procmailrc.h"

#define S(x)	x, sizeof(x) - 1
#define NOM	NULL, 0
#define RE_I	(PM_RE_CASELESS | PM_RE_MACROS)
#define RE_D	PM_RE_MACROS
#define RE_BAD	0x100		/* test only: needs PM_RE_LENIENT */

static const struct row {
	const char *re;
	size_t relen;
	const char *subj;
	size_t slen;
	unsigned flags;
	int want;
	const char *match;	/* NULL: MATCH not assigned */
	size_t mlen;
} rows[] = {
	{ S("abc"), S("xxabcxx"), RE_I, 1, NOM },
	{ S("abc"), S("ab\012c"), RE_I, 0, NOM },
	{ S("ABC"), S("xabcx"), RE_I, 1, NOM },
	{ S("ABC"), S("xabcx"), RE_D, 0, NOM },
	{ S("abc"), S("xABCx"), RE_D, 0, NOM },
	{ S("aBc"), S("aBc"), RE_D, 1, NOM },
	{ S("a.c"), S("abc"), RE_I, 1, NOM },
	{ S("a.c"), S("a\012c"), RE_I, 0, NOM },
	{ S("a..c"), S("a\000\001c"), RE_I, 1, NOM },
	{ S("^abc"), S("abc"), RE_I, 1, NOM },
	{ S("^abc"), S("xabc"), RE_I, 0, NOM },
	{ S("^abc"), S("x\012abc"), RE_I, 1, NOM },
	{ S("abc$"), S("abc"), RE_I, 1, NOM },
	{ S("abc$"), S("abcx"), RE_I, 0, NOM },
	{ S("abc$"), S("abc\012x"), RE_I, 1, NOM },
	{ S("^$"), S(""), RE_I, 1, NOM },
	{ S("^$"), S("a"), RE_I, 0, NOM },
	{ S("^$"), S("a\012"), RE_I, 1, NOM },
	{ S("^$"), S("a\012\012b"), RE_I, 1, NOM },
	{ S("^^$"), S("\012"), RE_I, 1, NOM },
	{ S("^^$"), S("x"), RE_I, 0, NOM },
	{ S("x$^y"), S("x\012y"), RE_I, 0, NOM },
	{ S("x$$y"), S("x\012\012y"), RE_I, 1, NOM },
	{ S("x^y"), S("x\012y"), RE_I, 1, NOM },
	{ S("x$y"), S("xy"), RE_I, 0, NOM },
	{ S("^^abc"), S("abc"), RE_I, 1, NOM },
	{ S("^^abc"), S("\012abc"), RE_I, 0, NOM },
	{ S("abc^^"), S("abc"), RE_I, 1, NOM },
	{ S("abc^^"), S("abc\012"), RE_I, 0, NOM },
	{ S("abc$^^"), S("abc\012"), RE_I, 1, NOM },
	{ S("abc$^^"), S("abc"), RE_I, 0, NOM },
	{ S("^^"), S("anything"), RE_I, 1, NOM },
	{ S("^^^a"), S("\012a"), RE_I, 1, NOM },
	{ S("^^^a"), S("a"), RE_I, 0, NOM },
	{ S("(a|b^^)"), S("xb"), RE_I, 1, NOM },
	{ S("(a|b^^)c"), S("xbc"), RE_I, 0, NOM },
	{ S("a*"), S(""), RE_I, 1, NOM },
	{ S("a+"), S(""), RE_I, 0, NOM },
	{ S("a+"), S("baab"), RE_I, 1, NOM },
	{ S("ab*c"), S("ac"), RE_I, 1, NOM },
	{ S("ab*c"), S("abbbbc"), RE_I, 1, NOM },
	{ S("ab+c"), S("ac"), RE_I, 0, NOM },
	{ S("ab+c"), S("abbc"), RE_I, 1, NOM },
	{ S("ab?c"), S("ac"), RE_I, 1, NOM },
	{ S("ab?c"), S("abbc"), RE_I, 0, NOM },
	{ S("a**"), S("aaa"), RE_I, 0, NOM },
	{ S("a**"), S("a*"), RE_I, 1, NOM },
	{ S("a++"), S("a+"), RE_I, 1, NOM },
	{ S("a+?"), S("a"), RE_I, 0, NOM },
	{ S("a+?"), S("a+?"), RE_I, 0, NOM },
	{ S("a?*"), S("a?*"), RE_I, 1, NOM },
	{ S("*a"), S("*a"), RE_I, 1, NOM },
	{ S("*a"), S("a"), RE_I, 0, NOM },
	{ S("+a"), S("+a"), RE_I, 1, NOM },
	{ S("?a"), S("?a"), RE_I, 1, NOM },
	{ S("(*a)"), S("*a"), RE_I, 1, NOM },
	{ S("x|*a"), S("*a"), RE_I, 1, NOM },
	{ S("(ab)*c"), S("ababc"), RE_I, 1, NOM },
	{ S("(ab)+c"), S("c"), RE_I, 0, NOM },
	{ S("(ab)+c"), S("abc"), RE_I, 1, NOM },
	{ S("(ab|cd)+e"), S("abcdabe"), RE_I, 1, NOM },
	{ S("(a|)b"), S("b"), RE_I, 1, NOM },
	{ S("(|a)b"), S("b"), RE_I, 1, NOM },
	{ S("a|"), S("zzz"), RE_I, 1, NOM },
	{ S("|a"), S("zzz"), RE_I, 1, NOM },
	{ S("()"), S("x"), RE_I, 1, NOM },
	{ S("a()b"), S("ab"), RE_I, 1, NOM },
	{ S("((a))"), S("a"), RE_I, 1, NOM },
	{ S("a{2}"), S("aa"), RE_I, 0, NOM },
	{ S("a{2}"), S("a{2}"), RE_I, 1, NOM },
	{ S("a{,}"), S("a{,}"), RE_I, 1, NOM },
	{ S("x}"), S("x}"), RE_I, 1, NOM },
	{ S("(?i)a"), S("(?i)a"), RE_I, 0, NOM },
	{ S("(?:a)"), S("(?:a)"), RE_I, 1, NOM },
	{ S("(?:a)"), S("a"), RE_I, 0, NOM },
	{ S("a(?"), S("a(?"), RE_I | RE_BAD, 0, NOM },
	{ S("\\d"), S("d"), RE_I, 1, NOM },
	{ S("\\d"), S("5"), RE_I, 0, NOM },
	{ S("\\w"), S("w"), RE_I, 1, NOM },
	{ S("\\s"), S("s"), RE_I, 1, NOM },
	{ S("\\s"), S(" "), RE_I, 0, NOM },
	{ S("\\n"), S("n"), RE_I, 1, NOM },
	{ S("\\n"), S("\012"), RE_I, 0, NOM },
	{ S("\\t"), S("t"), RE_I, 1, NOM },
	{ S("\\."), S("."), RE_I, 1, NOM },
	{ S("\\."), S("x"), RE_I, 0, NOM },
	{ S("a\\*"), S("a*"), RE_I, 1, NOM },
	{ S("a\\*"), S("aa"), RE_I, 0, NOM },
	{ S("\\(a\\)"), S("(a)"), RE_I, 1, NOM },
	{ S("\\[a]"), S("[a]"), RE_I, 1, NOM },
	{ S("a\\|b"), S("a|b"), RE_I, 1, NOM },
	{ S("a\\|b"), S("a"), RE_I, 0, NOM },
	{ S("\\^a"), S("^a"), RE_I, 1, NOM },
	{ S("\\$a"), S("$a"), RE_I, 1, NOM },
	{ S("\\b"), S("b"), RE_I, 1, NOM },
	{ S("\\{"), S("{"), RE_I, 1, NOM },
	{ S("[abc]"), S("b"), RE_I, 1, NOM },
	{ S("[abc]"), S("d"), RE_I, 0, NOM },
	{ S("[a-c]"), S("b"), RE_I, 1, NOM },
	{ S("[a-c]"), S("d"), RE_I, 0, NOM },
	{ S("[^a-c]"), S("d"), RE_I, 1, NOM },
	{ S("[^a-c]"), S("b"), RE_I, 0, NOM },
	{ S("[^a-c]"), S("\012"), RE_I, 0, NOM },
	{ S("[^a]"), S("\012"), RE_I, 0, NOM },
	{ S("[^a]"), S("A"), RE_I, 0, NOM },
	{ S("[^a]"), S("A"), RE_D, 1, NOM },
	{ S("[]]"), S("]"), RE_I, 1, NOM },
	{ S("[]a]"), S("a"), RE_I, 1, NOM },
	{ S("[^]]"), S("]"), RE_I, 0, NOM },
	{ S("[^]]"), S("x"), RE_I, 1, NOM },
	{ S("[-a]"), S("-"), RE_I, 1, NOM },
	{ S("[a-]"), S("-"), RE_I, 1, NOM },
	{ S("[a-]"), S("b"), RE_I, 0, NOM },
	{ S("[a-c-e]"), S("d"), RE_I, 1, NOM },
	{ S("[a-c-e]"), S("-"), RE_I, 0, NOM },
	{ S("[c-a]"), S("b"), RE_I, 0, NOM },
	{ S("[c-a]"), S("a"), RE_I, 1, NOM },
	{ S("[c-a]"), S("c"), RE_I, 1, NOM },
	{ S("[\\.]"), S("\\"), RE_I, 1, NOM },
	{ S("[\\.]"), S("."), RE_I, 1, NOM },
	{ S("[\\.]"), S("x"), RE_I, 0, NOM },
	{ S("[\\]]"), S("\\]"), RE_I, 1, NOM },
	{ S("[\\]]"), S("]"), RE_I, 0, NOM },
	{ S("[abc"), S("b"), RE_I, 1, NOM },
	{ S("[abc"), S("x"), RE_I, 0, NOM },
	{ S("[A-Z]"), S("q"), RE_I, 1, NOM },
	{ S("[A-Z]"), S("q"), RE_D, 0, NOM },
	{ S("[a-z]"), S("Q"), RE_D, 0, NOM },
	{ S("[[:alpha:]]"), S("a"), RE_I, 0, NOM },
	{ S("[[:alpha:]]"), S(":]"), RE_I, 1, NOM },
	{ S("[.]"), S("x"), RE_I, 0, NOM },
	{ S("[.]"), S("."), RE_I, 1, NOM },
	{ S("[$]"), S("$"), RE_I, 1, NOM },
	{ S("[$]"), S("\012"), RE_I, 0, NOM },
	{ S("[\\n]"), S("n"), RE_I, 1, NOM },
	{ S("[\\n]"), S("\012"), RE_I, 0, NOM },
	{ S("\\<foo\\>"), S("a foo b"), RE_I, 1, NOM },
	{ S("\\<foo\\>"), S("afoo"), RE_I, 0, NOM },
	{ S("\\<foo\\>"), S("foo"), RE_I, 1, NOM },
	{ S("\\<foo\\>"), S("foo_"), RE_I, 0, NOM },
	{ S("\\<foo\\>"), S("x\012foo\012"), RE_I, 1, NOM },
	{ S("\\<foo"), S("-foo"), RE_I, 1, NOM },
	{ S("foo\\>"), S("foo."), RE_I, 1, NOM },
	{ S("\\<\\>"), S("a  b"), RE_I, 1, NOM },
	{ S("\\<\\>"), S("ab"), RE_I, 0, NOM },
	{ S("\\/"), S("abc"), RE_I, 1, S("") },
	{ S("\\/a"), S("xa"), RE_I, 1, S("a") },
	{ S("a\\/"), S("xa"), RE_I, 1, S("") },
	{ S("a\\/b"), S("ab"), RE_I, 1, S("b") },
	{ S("a\\/b*"), S("abbbc"), RE_I, 1, S("bbb") },
	{ S("a*\\/b*"), S("xaabbb"), RE_I, 1, S("") },
	{ S("x\\/.*"), S("x  y z"), RE_I, 1, S("  y z") },
	{ S("^Subject: *\\/.*"), S("Subject:   foo"), RE_I, 1, S("   foo") },
	{ S("^Subject: *\\/[^ ].*"), S("Subject:   foo bar"), RE_I, 1, S("foo bar") },
	{ S("^Subject:\\/.*"), S("Subject: one\012X: two"), RE_I, 1, S(" one") },
	{ S("^Subject:\\/.*$"), S("Subject: one\012X: two"), RE_I, 1, S(" one\012") },
	{ S("\\/^foo"), S("x\012foo"), RE_I, 1, S("\012foo") },
	{ S("x\\/$"), S("x\012"), RE_I, 1, S("\012") },
	{ S("x\\/$"), S("x"), RE_I, 1, S("") },
	{ S("x\\/$y"), S("x\012y"), RE_I, 1, S("\012y") },
	{ S("(a|b)\\/(b.b|c)"), S("abcb"), RE_I, 1, S("bcb") },
	{ S("(a|\\/b)c"), S("abc"), RE_I, 1, S("bc") },
	{ S("a\\/b\\/c"), S("abc"), RE_I, 1, S("c") },
	{ S("((a\\/b)|c)+"), S("abcab"), RE_I, 1, S("bcab") },
	{ S("a+\\/a"), S("aaa"), RE_I, 1, S("aa") },
	{ S("a+\\/a+"), S("aaaa"), RE_I, 1, S("aaa") },
	{ S("a*\\/a*"), S("aaaa"), RE_I, 1, S("") },
	{ S(".*\\/a"), S("xxaxa"), RE_I, 1, S("a") },
	{ S("\\/a+"), S("baaab"), RE_I, 1, S("aaa") },
	{ S("b\\/a*|c"), S("xc"), RE_I, 1, NOM },
	{ S("b\\/a*|c"), S("xbaa"), RE_I, 1, S("aa") },
	{ S("c|b\\/a*"), S("xbaa"), RE_I, 1, S("aa") },
	{ S("(x\\/y)*z"), S("xyxyz"), RE_I, 1, S("yz") },
	{ S("\\/(foo|foobar)"), S("foobar"), RE_I, 1, S("foobar") },
	{ S("\\/(foobar|foo)"), S("foobar"), RE_I, 1, S("foobar") },
	{ S("\\/fo*"), S("foooo"), RE_I, 1, S("foooo") },
	{ S("@\\/[a-z.]+"), S("joe@example.org, x"), RE_I, 1, S("example.org") },
	{ S("^From:.*<\\/[^>]+"), S("From: Joe <joe@x.org>"), RE_I, 1, S("joe@x.org") },
	{ S("^From:.*\\/<[^>]+"), S("From: Joe <joe@x.org> <b@c>"), RE_I, 1, S("<joe@x.org") },
	{ S("^To:\\/.*"), S("To: a\012To: b"), RE_I, 1, S(" a") },
	{ S("A\\/B"), S("xaby"), RE_I, 1, S("b") },
	{ S("A\\/B"), S("xaby"), RE_D, 0, NOM },
	{ S("A\\/B"), S("xABy"), RE_D, 1, S("B") },
	{ S("^TO_foo@bar"), S("To: x foo@bar"), RE_I, 1, NOM },
	{ S("^TO_foo@bar"), S("Cc: a-foo@bar"), RE_I, 0, NOM },
	{ S("^TO_foo@bar"), S("Cc: a.foo@bar"), RE_I, 0, NOM },
	{ S("^TO_foo@bar"), S("Cc: <foo@bar>"), RE_I, 1, NOM },
	{ S("^TO_foo"), S("Resent-To: foo"), RE_I, 1, NOM },
	{ S("^TO_foo"), S("Original-Resent-Cc: x foo"), RE_I, 1, NOM },
	{ S("^TO_foo"), S("X-Envelope-To: foo"), RE_I, 1, NOM },
	{ S("^TO_foo"), S("Apparently-Resent-To: foo"), RE_I, 1, NOM },
	{ S("^TO_foo"), S("From: foo"), RE_I, 0, NOM },
	{ S("^TOfoo"), S("Cc: a-foo"), RE_I, 1, NOM },
	{ S("^TOfoo"), S("Cc: afoo"), RE_I, 0, NOM },
	{ S("^TO_foo"), S("Cc: a-foo"), RE_I, 0, NOM },
	{ S("x|^TO_foo"), S("To: foo"), RE_I, 1, NOM },
	{ S("a\\^TO_"), S("a^TO_"), RE_I, 1, NOM },
	{ S("^FROM_DAEMON"), S("From: MAILER-DAEMON@x.org\012"), RE_I, 1, NOM },
	{ S("^FROM_DAEMON"), S("From: mailer-daemon@x.org"), RE_I, 0, NOM },
	{ S("^FROM_DAEMON"), S("FROM: MAILER-DAEMON@x.org\012"), RE_D, 1, NOM },
	{ S("^FROM_DAEMON"), S("Precedence: bulk\012"), RE_I, 1, NOM },
	{ S("^FROM_DAEMON"), S("From: joe@x.org\012"), RE_I, 0, NOM },
	{ S("^FROM_DAEMON"), S("From: postmaster@x.org (Mail System)\012"), RE_I, 1, NOM },
	{ S("^FROM_DAEMON"), S("Mailing-List: contact x@y\012"), RE_I, 1, NOM },
	{ S("^FROM_MAILER"), S("From: Mailer-Daemon@x.org\012"), RE_I, 1, NOM },
	{ S("^FROM_MAILER"), S("From: Mailer-Daemon@x.org\012"), RE_D, 0, NOM },
	{ S("^FROM_MAILER"), S("From: mailer-daemon@x.org\012"), RE_D, 1, NOM },
	{ S("^FROM_MAILER"), S("Precedence: bulk\012"), RE_I, 0, NOM },
	{ S("^FROM_MAILERx"), S("From: root@x\012x"), RE_I, 0, NOM },
	{ S("\\xe9"), S("\311"), RE_I, 0, NOM },
	{ S("\\xe9"), S("\351"), RE_D, 0, NOM },
	{ S("caf\\xe9"), S("CAF\351"), RE_I, 0, NOM },
	{ S("[\\xe0-\\xef]"), S("\345"), RE_I, 0, NOM },
	{ S("[^\\xe0-\\xef]"), S("\345"), RE_I, 1, NOM },
	{ S("a.b"), S("a\377b"), RE_I, 1, NOM },
	{ S("a\\x00b"), S("a\000b"), RE_I, 0, NOM },
	{ S("\351"), S("\311"), RE_I, 0, NOM },
	{ S("\351"), S("\351"), RE_I, 1, NOM },
	{ S("\351"), S("\351"), RE_D, 1, NOM },
	{ S("caf\351"), S("CAF\351"), RE_I, 1, NOM },
	{ S("CAF\311"), S("caf\351"), RE_I, 0, NOM },
	{ S("[\340-\357]"), S("\345"), RE_I, 1, NOM },
	{ S("[\340-\357]"), S("\305"), RE_I, 0, NOM },
	{ S("[^\340-\357]"), S("\345"), RE_I, 0, NOM },
	{ S("a.b"), S("a\377b"), RE_I, 1, NOM },
	{ S("\377+\\/.\377"), S("x\377\377\376\377"), RE_I, 1, S("\376\377") },
	{ S("a.b"), S("a\000b"), RE_I, 1, NOM },
	{ S("a\\/.*"), S("xa\001\002\012"), RE_I, 1, S("\001\002") },
	{ S("a)b"), S("a"), RE_I | RE_BAD, 1, NOM },
	{ S("a)b"), S("xb"), RE_I | RE_BAD, 0, NOM },
	{ S("(ab"), S("ab"), RE_I | RE_BAD, 1, NOM },
	{ S("(ab"), S("b"), RE_I | RE_BAD, 0, NOM },
	{ S("(?i)a"), S("a"), RE_I, 0, NOM },
	{ S("[\\.]"), S("x."), RE_I, 1, NOM },
	{ S("[abc"), S("[abc"), RE_I, 1, NOM },
	{ S("a$^b"), S("a\012b"), RE_I, 0, NOM },
	{ S("a$^b"), S("a\012\012b"), RE_I, 1, NOM },
	{ S("a^b"), S("a\012b"), RE_I, 1, NOM },
	{ S("^^a"), S("ba"), RE_I, 0, NOM },
	{ S("^^a"), S("ab"), RE_I, 1, NOM },
	{ S("a^^"), S("ab"), RE_I, 0, NOM },
	{ S("a^^"), S("ba"), RE_I, 1, NOM },
	{ S("a^^"), S("ba\012"), RE_I, 0, NOM },
	{ S("\\<foo\\>"), S("afoo b"), RE_I, 0, NOM },
	{ S("x\\/\\<foo"), S("x foo"), RE_I, 1, S(" foo") },
	{ S("^FROM_DAEMON"), S("FROM: MAILER-DAEMON@x.org"), RE_D, 0, NOM },
	{ S("^FROM_MAILER"), S("FROM: MAILER-DAEMON@x.org"), RE_D, 0, NOM },
	{ S("ABC"), S("abc"), RE_D, 0, NOM },
	{ S("ABC"), S("abc"), RE_I, 1, NOM },
	{ S("foo$$"), S("foo"), RE_I, 0, NOM },
	{ S("foo$$"), S("foo\012"), RE_I, 1, NOM },
	{ S("$"), S("abc"), RE_I, 1, NOM },
	{ S("."), S("\012"), RE_I, 0, NOM },
	{ S("^FROM_DAEMON"), S("From: Mailer-Daemon@x.org\012"), RE_D, 1, NOM },
	{ S("^FROM_MAILER"), S("FROM: MAILER-DAEMON@x.org\012"), RE_D, 0, NOM },
	{ S("^FROM_DAEMON"), S("From: mailer-daemon@x.org\012"), RE_D, 1, NOM },
	/* the required-literal prefilter (regex.c) must never say "no" where
	 * procmail matches: case folding (ASCII only), literals past 16 bytes,
	 * groups, alternations and repetitions that hold no required text,
	 * "^"/"$" next to literals, macros, NUL bytes in the subject */
	{ S("Invoice"), S("xx INVOICE yy"), RE_I, 1, NOM },
	{ S("Invoice"), S("xx INVOICE yy"), RE_D, 0, NOM },
	{ S("Invoice"), S("xx Invoice yy"), RE_D, 1, NOM },
	{ S("invoice"),
	    S("the quick brown fox jumps over the lazy dog InVoIcE"),
	    RE_I, 1, NOM },
	{ S("invoice"),
	    S("the quick brown fox jumps over the lazy dog InVoIcd"),
	    RE_I, 0, NOM },
	{ S("invoice"),
	    S("the quick brown fox jumps over the lazy dog InVoIcE"),
	    RE_D, 0, NOM },
	{ S("vvvx"), S("VvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVVVX"), RE_I, 1, NOM },
	{ S("vvvx"), S("VvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvVVVY"), RE_I, 0, NOM },
	{ S("a@b\\.c"), S("x A@B.C"), RE_I, 1, NOM },
	{ S("a@b\\.c"), S("x A@B.C"), RE_D, 0, NOM },
	{ S("a@b\\.c"), S("x a@bxc"), RE_I, 0, NOM },
	{ S("x\351"), S("X\311"), RE_I, 0, NOM },
	{ S("x\351"), S("X\351"), RE_I, 1, NOM },
	{ S("["), S("a[b"), RE_I, 0, NOM },
	{ S("a(bc)d"), S("xabcdx"), RE_I, 1, NOM },
	{ S("a(bc)d"), S("xabdx"), RE_I, 0, NOM },
	{ S("a((b)c)d"), S("ABCD"), RE_I, 1, NOM },
	{ S("a(b|c)d"), S("acd"), RE_I, 1, NOM },
	{ S("a(b|c)d"), S("ad"), RE_I, 0, NOM },
	{ S("foo|bar"), S("xbarx"), RE_I, 1, NOM },
	{ S("(foo|bar)baz"), S("barbaz"), RE_I, 1, NOM },
	{ S("x(foo|bar)*y"), S("xy"), RE_I, 1, NOM },
	{ S("x(foo)?y"), S("xy"), RE_I, 1, NOM },
	{ S("xfoo?y"), S("xfoy"), RE_I, 1, NOM },
	{ S("xfoo*y"), S("xfoy"), RE_I, 1, NOM },
	{ S("x(foo)*y"), S("xfoofooy"), RE_I, 1, NOM },
	{ S("(abc)+d"), S("abcabcd"), RE_I, 1, NOM },
	{ S("(abc)+d"), S("abd"), RE_I, 0, NOM },
	{ S("(abc)+d"), S("abcd"), RE_I, 1, NOM },
	{ S("ab+c"), S("abbbc"), RE_I, 1, NOM },
	{ S("a[b]c"), S("abc"), RE_I, 1, NOM },
	{ S("a.c"), S("a-c"), RE_I, 1, NOM },
	{ S("ab\\/cd"), S("xABCDx"), RE_I, 1, S("CD") },
	{ S("ab\\/cd"), S("xabxcd"), RE_I, 0, NOM },
	{ S("x*\\/foo"), S("a foo"), RE_I, 1, S("foo") },
	{ S("^Subject:.*foo$"), S("Subject: a foo"), RE_I, 1, NOM },
	{ S("^Subject:.*foo$"), S("Subject: a foox"), RE_I, 0, NOM },
	{ S("^subject: foo"), S("SUBJECT: FOO"), RE_I, 1, NOM },
	{ S("^subject: foo"), S("xSubject: foo"), RE_I, 0, NOM },
	{ S("^subject: foo"), S("x\012Subject: foo"), RE_I, 1, NOM },
	{ S("foo$bar"), S("foo\012bar"), RE_I, 1, NOM },
	{ S("foo$bar"), S("foobar"), RE_I, 0, NOM },
	{ S("foo^bar"), S("foo\012bar"), RE_I, 1, NOM },
	{ S("foo$^bar"), S("foo\012bar"), RE_I, 0, NOM },
	{ S("foo$^bar"), S("foo\012\012bar"), RE_I, 1, NOM },
	{ S("(\\<foo\\>)"), S("foo"), RE_I, 1, NOM },
	{ S("(\\<foo\\>)"), S("xfoo"), RE_I, 0, NOM },
	{ S("(\\<foo\\>)"), S("a foo-b"), RE_I, 1, NOM },
	{ S("^^foo"), S("foo bar"), RE_I, 1, NOM },
	{ S("^^bar"), S("foo bar"), RE_I, 0, NOM },
	{ S("bar^^"), S("foo bar"), RE_I, 1, NOM },
	{ S("^TO_bob@example\\.com"), S("Cc: Alice <bob@example.com>"),
	    RE_I, 1, NOM },
	{ S("^TO_bob@example\\.com"), S("Cc: Alice <rob@example.com>"),
	    RE_I, 0, NOM },
	{ S("^TO_bob@example\\.com"), S("CC: BOB@EXAMPLE.COM"), RE_D, 0, NOM },
	{ S("^TO_bob@example\\.com"), S("Cc: BOB@EXAMPLE.COM"), RE_D, 0, NOM },
	{ S("^TO_BOB@example\\.com"), S("Cc: BOB@example.com"), RE_D, 1, NOM },
	{ S("^FROM_DAEMON"), S("From: MAILER-DAEMON@x.org"), RE_D, 0, NOM },
	{ S("^FROM_DAEMON"), S("FROM: mailer-daemon@x.org\012"), RE_D, 1, NOM },
	{ S("a\\\\b"), S("xa\\b"), RE_I, 1, NOM },
	{ S("foo"), S("\000\000FoO\000"), RE_I, 1, NOM },
	{ S("foo"), S("\000\000Fo\000O"), RE_I, 0, NOM },
};

/* procmailsc(5): "* 1^1 regex" adds 1 per match, procmail's loop */
static const struct srow {
	const char *re;
	size_t relen;
	const char *subj;
	size_t slen;
	unsigned flags;
	long want;
} srows[] = {
	{ S("a+"), S("aaa"), RE_I, 3 },
	{ S("a"), S("banana"), RE_I, 3 },
	{ S("an"), S("banana"), RE_I, 2 },
	{ S("ana"), S("banana"), RE_I, 1 },
	{ S("^"), S("a\012b\012c"), RE_I, 2147483647 },
	{ S("$"), S("a\012b\012c"), RE_I, 2147483647 },
	{ S("^."), S("a\012b\012c"), RE_I, 3 },
	{ S(".$"), S("a\012b\012c"), RE_I, 3 },
	{ S("^[a-z]"), S("a\012b\012c\012"), RE_I, 3 },
	{ S("b$"), S("ab\012b"), RE_I, 2 },
	{ S("x*"), S("abc"), RE_I, 2147483647 },
	{ S("(ab|b)c"), S("abcbc"), RE_I, 2 },
	{ S("a\\/b"), S("abab"), RE_I, 2 },
	{ S("[^x]+"), S("ab\012cd\012"), RE_I, 4 },
	{ S("^^a"), S("aaa"), RE_I, 1 },
	{ S("a^^"), S("aaa"), RE_I, 1 },
	{ S("\\<a"), S("a a a"), RE_I, 3 },
	{ S("\\<a"), S("a a a"), RE_I, 3 },
	{ S("\\<a\\>"), S("a a a"), RE_I, 2 },
	{ S("a\\>"), S("a a a"), RE_I, 3 },
	{ S("\\/a"), S("baa"), RE_I, 2 },
	{ S("x*\\/a"), S("baa"), RE_I, 2 },
	/* the prefilter looks from each start on */
	{ S("Ab"), S("xaBxAB"), RE_I, 2 },
	{ S("ab"), S("xaBxAB"), RE_D, 0 },
	{ S("a$"), S("a\012a"), RE_I, 2 },
	{ S("foo"), S("FOO foo fo"), RE_I, 2 },
	{ S("x*\\/ba"), S("baba"), RE_I, 2 },
	{ S("(ab)+c"), S("abcababc"), RE_I, 2 },
};

#define MAX32	2147483647.0

static void
show(char *dst, size_t size, const char *p, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < size; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 32 && c < 127 && c != '\\')
			dst[o++] = (char)c;
		else
			o += (size_t)snprintf(dst + o, size - o, "\\%03o", c);
	}
	dst[o] = '\0';
}

static void
test_table(void)
{
	size_t i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct pm_re *re = NULL;
		struct err e;
		size_t off, mlen = 0, end;
		const char *m = NULL;
		char rx[200], got[200], want[200];
		unsigned fl = r->flags & ~(unsigned)RE_BAD;
		int rc, rc2;

		show(rx, sizeof rx, r->re, r->relen);
		if (r->flags & RE_BAD) {
			ok(pm_re_compile(r->re, r->relen, fl, &re, &off, &e) ==
			    -1 && re == NULL, "row %zu /%s/: strict compile "
			    "refuses it", i, rx);
			fl |= PM_RE_LENIENT;
		}
		if (pm_re_compile(r->re, r->relen, fl, &re, &off, &e) == -1) {
			ok(0, "row %zu /%s/: compile: %s", i, rx, e.msg);
			continue;
		}
		rc = pm_re_exec(re, r->subj, r->slen, &m, &mlen, &e);
		show(got, sizeof got, r->subj, r->slen);
		is_int(rc, r->want, "row %zu /%s/ on \"%s\"", i, rx, got);
		if (rc == 1 && r->match != NULL) {
			show(got, sizeof got, m ? m : "", m ? mlen : 0);
			show(want, sizeof want, r->match, r->mlen);
			ok(m != NULL && m >= r->subj && m + mlen <= r->subj +
			    r->slen, "row %zu: MATCH points into the subject",
			    i);
			is_str(got, want, "row %zu /%s/: MATCH", i, rx);
		} else if (rc == 1)
			ok(m == NULL && mlen == 0, "row %zu /%s/: no MATCH",
			    i, rx);
		/* the automaton agrees with pcre2 on yes/no */
		rc2 = pm_re_exec_at(re, r->subj, r->slen, 0, &end, NULL, NULL,
		    &e);
		is_int(rc2, r->want, "row %zu /%s/: automaton agrees", i, rx);
		/* without match_out, the same answer */
		is_int(pm_re_exec(re, r->subj, r->slen, NULL, NULL, &e),
		    r->want, "row %zu /%s/: yes/no only", i, rx);
		pm_re_free(&re);
		ok(re == NULL, "row %zu: freed", i);
	}
}

static void
test_scoring(void)
{
	size_t i;

	for (i = 0; i < sizeof srows / sizeof srows[0]; i++) {
		const struct srow *r = &srows[i];
		struct pm_re *re;
		struct err e;
		size_t off, end;
		double score = 0;
		long pos = 0, rest = (long)r->slen;
		char rx[200];
		int n = 0;

		show(rx, sizeof rx, r->re, r->relen);
		if (pm_re_compile(r->re, r->relen, r->flags, &re, &off, &e)
		    == -1) {
			ok(0, "score row %zu: %s", i, e.msg);
			continue;
		}
		/* procmail's loop for weight 1, exponent 1 */
		while (score < MAX32 && rest >= 0 && n++ < 1000 &&
		    pm_re_exec_at(re, r->subj, r->slen, (size_t)pos, &end,
		    NULL, NULL, &e) == 1) {
			score += 1;
			if (pos >= (long)end) {	/* empty: infinity */
				score = MAX32;
				break;
			}
			rest -= (long)end - pos;
			pos = (long)end;
		}
		is_int((long)score, r->want, "score row %zu /%s/", i, rx);
		pm_re_free(&re);
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds: a busy machine does not make a fast path look slow */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_errors(void)
{
	static const struct {
		const char *re;
		size_t off;
	} bad[] = {
		{ "(ab", 0 },
		{ "x(a|(b)", 1 },
		{ "a)b", 1 },
		{ "ab|c)", 4 },
	};
	struct pm_re *re = (struct pm_re *)1;
	struct err e;
	size_t i, off;
	char *big;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		off = 99;
		is_int(pm_re_compile(bad[i].re, strlen(bad[i].re), RE_I, &re,
		    &off, &e), -1, "error row %zu: /%s/ refused", i,
		    bad[i].re);
		ok(re == NULL, "error row %zu: no regex returned", i);
		is_int((long long)off, (long long)bad[i].off,
		    "error row %zu: offset", i);
		ok(e.cls == ERR_PERM && strstr(e.msg, "offset") != NULL,
		    "error row %zu: message says where: %s", i, e.msg);
	}
	/* nesting: deep is fine, too deep is an error, not a crash */
	big = xmalloc(4096);
	memset(big, '(', 50);
	memset(big + 50, ')', 50);
	ok(pm_re_compile(big, 100, RE_I, &re, &off, &e) == 0,
	    "50 nested groups compile");
	pm_re_free(&re);
	memset(big, '(', 2000);
	memset(big + 2000, ')', 2000);
	ok(pm_re_compile(big, 4000, RE_I, &re, &off, &e) == -1 &&
	    strstr(e.msg, "nested") != NULL, "2000 nested groups refused: %s",
	    e.msg);
	free(big);
}

static void
test_limits(void)
{
	static const struct {
		const char *re;
		size_t len;
	} cata[] = {
		{ "(a|aa)+[^a]", 40 },
		{ "(a|aa)+[^a]", 100000 },
		{ "((a|a)|(a|a))*[^a]", 5000 },
		{ "(.*)*[^a]", 30 },
		{ "(a*)*[^a]", 100000 },
		{ "(x+x+)+y", 5000 },
	};
	struct pm_re *re;
	struct err e;
	size_t off, n, mlen;
	const char *m;
	char *pat, *subj;
	double t0;
	int rc;

	/* a 64 KiB pattern compiles and works; one byte more does not */
	pat = xmalloc(64 * 1024 + 2);
	for (n = 0; n < 64 * 1024; n++)
		pat[n] = "ab|[c-e]x*"[n % 10];
	ok(pm_re_compile(pat, 64 * 1024, RE_I, &re, &off, &e) == 0,
	    "64 KiB pattern compiles: %s", re == NULL ? e.msg : "");
	if (re != NULL) {
		is_int(pm_re_exec(re, "zzdxxabz", 8, NULL, NULL, &e), 1,
		    "64 KiB pattern matches");
		is_int(pm_re_exec(re, "zzdxxz", 6, NULL, NULL, &e), 0,
		    "64 KiB pattern does not match");
		pm_re_free(&re);
	}
	pat[64 * 1024] = 'q';
	ok(pm_re_compile(pat, 64 * 1024 + 1, RE_I, &re, &off, &e) == -1,
	    "64 KiB + 1 refused: %s", e.msg);
	free(pat);

	/* macros that would grow past the expansion limit */
	pat = xmalloc(64 * 1024);
	for (n = 0; n + 12 <= 64 * 1024; n += 12)
		memcpy(pat + n, "^FROM_DAEMON", 12);
	ok(pm_re_compile(pat, n, RE_I, &re, &off, &e) == -1,
	    "5000 ^FROM_DAEMON refused: %s", e.msg);
	free(pat);

	/* catastrophic backtracking for pcre2: bounded, and the answer is
	 * procmail's (its automaton never backtracks) */
	subj = xmalloc(1024 * 1024 + 1);
	memset(subj, 'a', 1024 * 1024);
	for (n = 0; n < sizeof cata / sizeof cata[0]; n++) {
		ok(pm_re_compile(cata[n].re, strlen(cata[n].re), RE_I, &re,
		    &off, &e) == 0, "compile %s", cata[n].re);
		t0 = now();
		rc = pm_re_exec(re, subj, cata[n].len, NULL, NULL, &e);
		is_int(rc, 0, "%s on %zu a: no match (%s)", cata[n].re,
		    cata[n].len, rc == -1 ? e.msg : "");
		ok(now() - t0 < 5, "... in bounded time (%.2f s)", now() - t0);
		pm_re_free(&re);
	}
	/* both matchers give up: -1 with a message, quickly */
	ok(pm_re_compile("(a|a|a|a|a|a|a|a)*(a|a|a|a|a|a|a|a)*[^a]", 40,
	    RE_I, &re, &off, &e) == 0, "compile (a|a|...)*(a|a|...)*[^a]");
	t0 = now();
	rc = pm_re_exec(re, subj, 1024 * 1024, &m, &mlen, &e);
	ok(rc == -1 && e.msg[0] != '\0', "... on 1 MiB of a: gives up: %s",
	    e.msg);
	ok(now() - t0 < 5, "... in bounded time (%.2f s)", now() - t0);
	pm_re_free(&re);

	/* a long subject: MATCH found at its end */
	memset(subj, 'y', 1024 * 1024);
	memcpy(subj + 1024 * 1024 - 12, "\nTag: 12345\n", 12);
	ok(pm_re_compile("^Tag: *\\/[0-9]+", 15, RE_I, &re, &off, &e) == 0,
	    "compile ^Tag: *\\/[0-9]+");
	rc = pm_re_exec(re, subj, 1024 * 1024, &m, &mlen, &e);
	ok(rc == 1 && mlen == 5 && memcmp(m, "12345", 5) == 0 &&
	    m == subj + 1024 * 1024 - 6, "1 MiB subject: MATCH at the end");
	pm_re_free(&re);
	free(subj);
}

static void
test_bytes(void)
{
	struct pm_re *re;
	struct err e;
	size_t off, mlen;
	const char *m;

	/* NUL bytes in the subject are ordinary bytes (procmail counts
	 * lengths); "." takes them */
	ok(pm_re_compile("b.d", 3, RE_I, &re, &off, &e) == 0, "compile b.d");
	is_int(pm_re_exec(re, "ab\0de", 5, NULL, NULL, &e), 1,
	    "NUL in subject matched by .");
	pm_re_free(&re);
	/* and in a pattern (procmail cannot have them; we take them
	 * literally) */
	ok(pm_re_compile("a\0b\\/\0+", 7, RE_I, &re, &off, &e) == 0,
	    "compile a NUL b \\/ NUL+");
	is_int(pm_re_exec(re, "xa\0b\0\0\0y", 8, &m, &mlen, &e), 1,
	    "NUL in pattern matches");
	ok(mlen == 3 && m[0] == '\0' && m[2] == '\0', "MATCH holds 3 NULs");
	is_int(pm_re_exec(re, "xab", 3, NULL, NULL, &e), 0,
	    "NUL in pattern is not skipped");
	pm_re_free(&re);
	/* 8-bit: no case folding beyond ASCII */
	ok(pm_re_compile("\xe9t\xe9", 3, RE_I, &re, &off, &e) == 0,
	    "compile 8-bit");
	is_int(pm_re_exec(re, "\xc9T\xc9", 3, NULL, NULL, &e), 0,
	    "\\xc9 is not \\xe9's other case");
	is_int(pm_re_exec(re, "\xe9T\xe9", 3, NULL, NULL, &e), 1,
	    "ASCII T folds");
	pm_re_free(&re);
	/* has_match */
	ok(pm_re_compile("a\\/b", 4, RE_I, &re, &off, &e) == 0 &&
	    pm_re_has_match(re) == 1, "\\/ seen");
	pm_re_free(&re);
	ok(pm_re_compile("a\\\\/b", 5, RE_I, &re, &off, &e) == 0 &&
	    pm_re_has_match(re) == 0, "\\\\/ is a backslash and a slash");
	is_int(pm_re_exec(re, "a\\/b", 4, NULL, NULL, &e), 1,
	    "... and matches them");
	pm_re_free(&re);
	/* a trailing backslash is itself (procmail's regexp.c) */
	ok(pm_re_compile("a\\", 2, RE_I, &re, &off, &e) == 0,
	    "compile trailing backslash");
	is_int(pm_re_exec(re, "xa\\", 3, NULL, NULL, &e), 1,
	    "trailing backslash is literal");
	is_int(pm_re_exec(re, "xa", 2, NULL, NULL, &e), 0,
	    "... and required");
	pm_re_free(&re);
	/* a newline byte in a pattern takes the virtual newline after the
	 * text, as "$" does: the literal before it is all that is required */
	ok(pm_re_compile("foo\n", 4, RE_I, &re, &off, &e) == 0,
	    "compile foo NL");
	is_int(pm_re_exec(re, "a FOO", 5, NULL, NULL, &e), 1,
	    "foo NL at the end of the text");
	is_int(pm_re_exec(re, "a fo", 4, NULL, NULL, &e), 0,
	    "foo NL: no foo");
	pm_re_free(&re);
	/* NUL bytes inside a caseless literal */
	ok(pm_re_compile("A\0B", 3, RE_I, &re, &off, &e) == 0,
	    "compile A NUL B");
	is_int(pm_re_exec(re, "xa\0b", 4, NULL, NULL, &e), 1,
	    "A NUL B folds around the NUL");
	is_int(pm_re_exec(re, "xa\0c", 4, NULL, NULL, &e), 0,
	    "A NUL B: not a NUL c");
	is_int(pm_re_exec(re, "xab", 3, NULL, NULL, &e), 0,
	    "A NUL B: the NUL is required");
	pm_re_free(&re);
	/* the empty regex matches anything, even nothing */
	ok(pm_re_compile("", 0, RE_I, &re, &off, &e) == 0, "compile empty");
	is_int(pm_re_exec(re, "", 0, NULL, NULL, &e), 1, "empty on empty");
	pm_re_free(&re);
	/* MACROS off: ^TO_ is a newline and "TO_" */
	ok(pm_re_compile("^TO_x", 5, PM_RE_CASELESS, &re, &off, &e) == 0,
	    "compile ^TO_x without macros");
	is_int(pm_re_exec(re, "To: x", 5, NULL, NULL, &e), 0,
	    "no macro: To: x does not match");
	is_int(pm_re_exec(re, "a\nto_x", 6, NULL, NULL, &e), 1,
	    "no macro: literal TO_x at a line start");
	pm_re_free(&re);
}

/*
 * The prefilter answers "no" without running (or building) a matcher when
 * a required literal is missing, and only then: a regex that makes both
 * matchers give up on 1 MiB says "no" at once when its literal is absent,
 * and still gives up when the literal is there. Not procmail-verified
 * (procmail has no limits): this shows which path answered.
 */
static void
test_prefilter(void)
{
	static const char hard[] = "(a|a|a|a|a|a|a|a)*(a|a|a|a|a|a|a|a)*[^a]";
	static const struct {
		const char *tail;	/* after hard[] */
		unsigned flags;
		const char *plant;	/* put at the end of the subject */
		int want;
	} prow[] = {
		{ "zq", RE_I, "", 0 },		/* "zq" missing */
		{ "zq", RE_I, "xzq", -1 },	/* there: the matchers run */
		{ "zq", RE_I, "XZQ", -1 },	/* folded */
		{ "zq", RE_D, "XZQ", 0 },	/* not folded */
		{ "ZQ", RE_D, "xZQ", -1 },
		{ "z\\/q", RE_I, "xzq", -1 },	/* "\/" is empty: "zq" */
		{ "z$q", RE_I, "xzq", 0 },	/* "z", "q", both there; no
						 * newline: the matcher says no */
		{ "(z|y)q", RE_I, "xwq", -1 },	/* only "q" required */
		{ "(z|y)q", RE_I, "xzw", 0 },	/* ... and missing */
		{ "(zq)+", RE_I, "", 0 },	/* "zq" missing */
		{ "(zq)*", RE_I, "", -1 },	/* nothing required */
		{ "z?q", RE_I, "xaq", -1 },	/* only "q" required */
	};
	struct pm_re *re;
	struct err e;
	size_t i, off, n = 1024 * 1024, mlen;
	const char *m;
	char *subj = xmalloc(n), pat[128];
	double t0;
	int rc;

	for (i = 0; i < sizeof prow / sizeof prow[0]; i++) {
		size_t pl = strlen(prow[i].plant);

		memset(subj, 'a', n);
		memcpy(subj + n - pl, prow[i].plant, pl);
		snprintf(pat, sizeof pat, "%s%s", hard, prow[i].tail);
		if (pm_re_compile(pat, strlen(pat), prow[i].flags, &re, &off,
		    &e) == -1) {
			ok(0, "prefilter row %zu: compile: %s", i, e.msg);
			continue;
		}
		t0 = cpu_now();
		rc = pm_re_exec(re, subj, n, &m, &mlen, &e);
		t0 = cpu_now() - t0;
		/* z$q: the literals are there, the matchers say no (the
		 * pattern needs a newline): 0 or a give-up, never 1 */
		if (prow[i].want == 0 && strcmp(prow[i].tail, "z$q") == 0)
			ok(rc != 1, "prefilter row %zu: ...%s on ...%s: %d", i,
			    prow[i].tail, prow[i].plant, rc);
		else
			is_int(rc, prow[i].want, "prefilter row %zu: ...%s "
			    "on ...%s", i, prow[i].tail, prow[i].plant);
		if (prow[i].want == 0 && strcmp(prow[i].tail, "z$q") != 0)
			ok(t0 < 0.05, "prefilter row %zu: answered "
			    "without matching (%.3f s CPU)", i, t0);
		/* the scoring search filters from its start on */
		if (prow[i].want == -1) {
			size_t end;

			is_int(pm_re_exec_at(re, subj, n, n - pl + 1, &end,
			    NULL, NULL, &e), 0, "prefilter row %zu: nothing "
			    "from past the literal's start on", i);
		}
		pm_re_free(&re);
	}
	free(subj);
}

int
main(void)
{
	test_table();
	test_scoring();
	test_errors();
	test_limits();
	test_bytes();
	test_prefilter();
	return tap_done();
}
