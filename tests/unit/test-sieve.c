/*
 * test-sieve.c - the Sieve compiler and interpreter, table-driven.
 *
 * crows: script text -> a substring of the diagnostics ("line:col:
 * error: text"). rrows: script + the message below + envelope -> the
 * action list as `sluice test` prints it, actions joined by "; ",
 * "ERROR" first when the run hit a runtime error. Each run row cites the
 * RFC section it checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "msg/msg.h"
#include "rules/action.h"
#include "rules/sieve/sieve.h"
#include "tap.h"

static const char message[] =
    "Return-Path: <alice@example.org>\n"
    "Received: from a by b; Mon, 23 Nov 2026 06:15:12 +0000\n"
    "Received: from c by d; Mon, 23 Nov 2026 06:15:11 +0000\n"
    "From: Alice <alice@example.org>\n"
    "To: bob+lists@example.net, carol@example.com\n"
    "Cc: \"Dave\" <dave@Example.COM>\n"
    "Subject: Buy viagra now\n"
    "X-Spam-Score: 7\n"
    "X-Star: a*b\n"
    "X-Enc: =?utf-8?q?caf=C3=A9?= au lait\n"
    "X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\n"
    "List-Id: <exmh.example.org>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=\"b1\"\n"
    "\n"
    "--b1\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Hello w=C3=B6rld, cheap pills\n"
    "--b1\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>html part secret</p>\n"
    "--b1--\n";

struct crow {
	const char *script;
	const char *want;	/* substring of the diagnostics */
};

struct rrow {
	const char *rfc;
	const char *script;
	const char *want;	/* actions, "; "-joined */
	const char *sender;	/* NULL: alice@example.org */
	unsigned max_actions;	/* 0: default */
};

static const struct crow crows[] = {
	{ "foo;",
	  "1:1: error: unknown command 'foo'" },
	{ "keep",
	  "1:5: error: expected end of command" },
	{ "keep;\nfileinto \"x\";",
	  "2:1: error: unknown command 'fileinto' (missing require \"fileinto\"?)" },
	{ "if true { keep; ",
	  "1:9: error: block is not closed" },
	{ "require \"fileinto\";\nfileinto \"abc;",
	  "2:10: error: unterminated string" },
	{ "require \"vacation-nope\";",
	  "1:9: error: require command: unknown Sieve capability" },
	{ "/* open comment\nkeep;",
	  "1:1: error: unterminated comment" },
	{ "set \"a\" text:\nfoo\n",
	  "unterminated text: string" },
	{ "keep :flags \"x\";",
	  "1:6: error: unknown tagged argument ':flags' for the keep command (missing require \"imap4flags\"?)" },
	{ "if header :bogus \"a\" \"b\" { keep; }",
	  "1:11: error: unknown tagged argument ':bogus'" },
	{ "redirect 42;",
	  "1:10: error: the redirect command expects a string" },
	{ "require \"fileinto\"; fileinto [\"a\",\"b\"];",
	  "expects a string as argument 1, but string list was found" },
	{ "elsif true { keep; }",
	  "1:1: error: the elsif command must follow an if or elsif command" },
	{ "keep; else { keep; }",
	  "1:7: error: the else command must follow" },
	{ "keep;\nrequire \"fileinto\";",
	  "2:1: error: require command can only be placed at top level" },
	{ "if true { require \"fileinto\"; }",
	  "1:11: error: require command can only be placed" },
	{ "if not not not not not not not not not not not not not not not not not not not not not not not not not not not not not not not not not not not not not not not not true { keep; }",
	  "error: tests nested too deeply" },
	{ "if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {if true {}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}",
	  "error: blocks nested too deeply" },
	{ "if size :over 99999999999999999999 { keep; }",
	  "1:15: error: number is too large" },
	{ "require \"encoded-character\"; keep; redirect \"${unicode:D800}@x.org\";",
	  "invalid unicode character 0xD800" },
	{ "if size 100 { keep; }",
	  "the size test requires exactly one of" },
	{ "if size :over :under 1 { keep; }",
	  "the size test requires exactly one of" },
	{ "if header \"a\" { keep; }",
	  "the header test requires 2 positional arguments, but 1 was found" },
	{ "keep \"x\";",
	  "1:6: error: too many arguments for the keep command" },
	{ "if keep { }",
	  "1:4: error: 'keep' is a command, not a test" },
	{ "true;",
	  "1:1: error: 'true' is a test, not a command" },
	{ "if header :is :contains \"a\" \"b\" { keep; }",
	  "multiple match type arguments" },
	{ "if header :comparator \"i;bogus\" \"a\" \"b\" { keep; }",
	  "unknown comparator 'i;bogus'" },
	{ "if header :comparator \"i;ascii-numeric\" \"a\" \"1\" { keep; }",
	  "requires the \"comparator-i;ascii-numeric\" extension" },
	{ "require \"comparator-i;ascii-numeric\"; if header :contains :comparator \"i;ascii-numeric\" \"a\" \"1\" { keep; }",
	  "does not support the :contains match type" },
	{ "require \"regex\"; if header :regex \"s\" \"(\" { keep; }",
	  "invalid regular expression" },
	{ "require \"relational\"; if header :value \"xx\" \"s\" \"a\" { keep; }",
	  "invalid relational match \"xx\"" },
	{ "require \"variables\"; set \"a.b\" \"c\";",
	  "variable name 'a.b' is in an unknown namespace" },
	{ "require \"variables\"; set :lower :upper \"a\" \"c\";",
	  "have the same precedence" },
	{ "redirect \"not an address\";",
	  "specified redirect address 'not an address' is invalid" },
	{ "require \"envelope\"; if envelope \"bogus\" \"x\" { keep; }",
	  "envelope part 'bogus' is not supported" },
	{ "if anyof true { keep; }",
	  "the anyof test requires a test list" },
	{ "if true, false { keep; }",
	  "1:8: error: expected end of command" },
	{ "keep; } keep;",
	  "1:7: error: unexpected '}'" },
	{ "keep;\n@;",
	  "2:1: error: unexpected character '@'" },
	{ "if header :is \"a\" [\"b\" \"c\"] { keep; }",
	  "expected ',' or ']' in the string list" },
	{ "if header :comparator \"a\" { keep; }",
	  "unknown comparator 'a'" },
	{ "if size :over 1X { keep; }",
	  "invalid number" },
	{ "require \"body\"; if body :raw :text \"x\" { keep; }",
	  "only one body transform" },
	{ "foo; bar; baz;",
	  "1:11: error: unknown command 'baz'" },
	{ "require \"imap4flags\"; setflag \"v\" \"\\\\Seen\";",
	  "takes a variable name only with require \"variables\"" },
	/* vacation/duplicate/enotify compile checks */
	{ "require [\"vacation\", \"vacation-seconds\"]; vacation :days 1 :seconds 2 \"r\";",
	  "the :days and :seconds arguments are mutually exclusive" },
	{ "require \"vacation\"; vacation :seconds 2 \"r\";",
	  "unknown tagged argument ':seconds'" },
	{ "require \"vacation\"; vacation :from \"not an address\" \"r\";",
	  "specified :from address 'not an address' is invalid" },
	{ "require \"duplicate\"; if duplicate :header \"a\" :uniqueid \"b\" { }",
	  "mutually exclusive" },
	{ "require \"enotify\"; notify :importance \"4\" \"mailto:a@b.c\";",
	  "invalid :importance value '4'" },
	{ "require \"enotify\"; notify \"xmpp:a@b.c\";",
	  "notification method is not supported" },
	{ "require \"enotify\"; notify \"mailto:a@b.c?subject=%zz\";",
	  "invalid %-encoding" },
};

static const struct rrow rrows[] = {
	/* RFC 5228 2.10.2 implicit keep */
	{ "5228 2.10.2 implicit keep", "",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5228 4.3 keep */
	{ "5228 4.3 keep", "keep;",
	  "keep", NULL, 0 },
	/* RFC 5228 4.4 discard */
	{ "5228 4.4 discard", "discard;",
	  "discard", NULL, 0 },
	/* RFC 5228 4.2 redirect */
	{ "5228 4.2 redirect", "redirect \"x@example.com\";",
	  "redirect \"x@example.com\"", NULL, 0 },
	/* RFC 5228 4.1 fileinto */
	{ "5228 4.1 fileinto", "require \"fileinto\"; fileinto \"Junk\";",
	  "fileinto \"Junk\"", NULL, 0 },
	/* RFC 5228 2.10.3 duplicate fileinto once */
	{ "5228 2.10.3 duplicate fileinto once", "require \"fileinto\"; fileinto \"A\"; fileinto \"A\";",
	  "fileinto \"A\"", NULL, 0 },
	/* RFC 5228 2.10.3 duplicate keep once */
	{ "5228 2.10.3 duplicate keep once", "keep; keep;",
	  "keep", NULL, 0 },
	/* RFC 5228 2.10.3 fileinto INBOX is keep */
	{ "5228 2.10.3 fileinto INBOX is keep", "require \"fileinto\"; keep; fileinto \"INBOX\";",
	  "keep", NULL, 0 },
	/* RFC 5228 2.10.3 duplicate redirect once */
	{ "5228 2.10.3 duplicate redirect once", "redirect \"a@b.c\"; redirect \"A@b.c\";",
	  "redirect \"a@b.c\"", NULL, 0 },
	/* RFC 5228 4.2 redirect + keep */
	{ "5228 4.2 redirect + keep", "redirect \"a@b.c\"; keep;",
	  "redirect \"a@b.c\"; keep", NULL, 0 },
	/* RFC 5228 3.3 stop */
	{ "5228 3.3 stop", "keep; stop; discard;",
	  "keep", NULL, 0 },
	/* RFC 5228 3.3 stop keeps implicit keep */
	{ "5228 3.3 stop keeps implicit keep", "stop; discard;",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5228 3.1 if true */
	{ "5228 3.1 if true", "if true { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 3.1 if false else */
	{ "5228 3.1 if false else", "if false { discard; } else { redirect \"a@b.c\"; }",
	  "redirect \"a@b.c\"", NULL, 0 },
	/* RFC 5228 3.1 elsif */
	{ "5228 3.1 elsif", "if false { discard; } elsif true { keep; } else { discard; }",
	  "keep", NULL, 0 },
	/* RFC 5228 3.1 elsif chain stops */
	{ "5228 3.1 elsif chain stops", "if true { keep; } elsif true { discard; }",
	  "keep", NULL, 0 },
	/* RFC 5228 5.7 header :is default casemap */
	{ "5228 5.7 header :is default casemap", "if header :is \"subject\" \"BUY VIAGRA NOW\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.7 header :contains */
	{ "5228 5.7 header :contains", "if header :contains \"Subject\" \"viagra\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.7 header :contains miss */
	{ "5228 5.7 header :contains miss", "if header :contains \"Subject\" \"cialis\" { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5228 5.7 header list any */
	{ "5228 5.7 header list any", "if header :contains [\"X-None\", \"Subject\"] [\"zzz\", \"now\"] { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 2.7.1 :matches * */
	{ "5228 2.7.1 :matches *", "if header :matches \"subject\" \"buy*\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 2.7.1 :matches ? */
	{ "5228 2.7.1 :matches ?", "if header :matches \"x-spam-score\" \"?\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 2.7.1 :matches no partial */
	{ "5228 2.7.1 :matches no partial", "if header :matches \"subject\" \"buy\" { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5228 2.7.1 :matches escaped * */
	{ "5228 2.7.1 :matches escaped *", "if header :matches \"x-star\" \"a\\\\*b\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 2.7.1 :matches escaped * literal only */
	{ "5228 2.7.1 :matches escaped * literal only", "if header :matches \"subject\" \"Buy\\\\*\" { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5228 2.7.1 :matches ? then literals before the first * (kept
	 * against Pigeonhole, which skips the literals: sluice-sieve(7)) */
	{ "5228 2.7.1 :matches ? then literal", "if header :matches \"subject\" \"Buy ??? *\" { discard; }",
	  "keep (implicit)", NULL, 0 },
	{ "5228 2.7.1 :matches ? then literal, fits", "if header :matches \"subject\" \"Buy ?????? *\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 2.7.3 i;octet case-sensitive */
	{ "5228 2.7.3 i;octet case-sensitive", "if header :is :comparator \"i;octet\" \"subject\" \"buy viagra now\" { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5228 2.7.3 i;octet exact */
	{ "5228 2.7.3 i;octet exact", "if header :is :comparator \"i;octet\" \"subject\" \"Buy viagra now\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 4790 9.1 numeric eq */
	{ "4790 9.1 numeric eq", "require \"comparator-i;ascii-numeric\"; if header :is :comparator \"i;ascii-numeric\" \"x-spam-score\" \"007\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 4790 9.1 non-digit is +inf equal */
	{ "4790 9.1 non-digit is +inf equal", "require \"comparator-i;ascii-numeric\"; if header :is :comparator \"i;ascii-numeric\" \"subject\" \"abc\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.2 exists */
	{ "5228 5.2 exists", "if exists [\"From\", \"Subject\"] { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.2 exists all must exist */
	{ "5228 5.2 exists all must exist", "if exists [\"From\", \"X-Nope\"] { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5228 5.9 size :over */
	{ "5228 5.9 size :over", "if size :over 10 { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.9 size :under */
	{ "5228 5.9 size :under", "if size :under 10 { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5228 5.9 size :over K */
	{ "5228 5.9 size :over K", "if size :over 1K { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5228 5.3 allof */
	{ "5228 5.3 allof", "if allof (true, header :contains \"subject\" \"buy\") { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.3 allof false */
	{ "5228 5.3 allof false", "if allof (true, false) { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5228 5.4 anyof */
	{ "5228 5.4 anyof", "if anyof (false, true) { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.8 not */
	{ "5228 5.8 not", "if not false { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.1 address :all */
	{ "5228 5.1 address :all", "if address :is \"from\" \"alice@example.org\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.1 address :localpart */
	{ "5228 5.1 address :localpart", "if address :localpart :is \"from\" \"alice\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.1 address :domain casemap */
	{ "5228 5.1 address :domain casemap", "if address :domain :is \"cc\" \"example.com\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.1 address list header */
	{ "5228 5.1 address list header", "if address :is \"to\" \"carol@example.com\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.1 address not display name */
	{ "5228 5.1 address not display name", "if address :contains \"from\" \"Alice\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.1 address :is display name no */
	{ "5228 5.1 address :is display name no", "if address :is \"from\" \"Alice\" { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5228 5.4 envelope from */
	{ "5228 5.4 envelope from", "require \"envelope\"; if envelope :is \"from\" \"alice@example.org\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.4 envelope to domain */
	{ "5228 5.4 envelope to domain", "require \"envelope\"; if envelope :domain :is \"to\" \"example.net\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.4 envelope null sender */
	{ "5228 5.4 envelope null sender", "require \"envelope\"; if envelope :is \"from\" \"\" { discard; }",
	  "discard", "", 0 },
	/* RFC 5233 :user */
	{ "5233 :user", "require [\"envelope\",\"subaddress\"]; if envelope :user :is \"to\" \"bob\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5233 :detail */
	{ "5233 :detail", "require [\"envelope\",\"subaddress\"]; if envelope :detail :is \"to\" \"lists\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5233 :detail absent no match */
	{ "5233 :detail absent no match", "require [\"subaddress\"]; if address :detail :matches \"from\" \"*\" { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5233 :user header */
	{ "5233 :user header", "require [\"subaddress\"]; if address :user :is \"to\" \"bob\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 3894 fileinto :copy keeps */
	{ "3894 fileinto :copy keeps", "require [\"fileinto\",\"copy\"]; fileinto :copy \"A\";",
	  "fileinto \"A\" :copy; keep (implicit)", NULL, 0 },
	/* RFC 3894 redirect :copy keeps */
	{ "3894 redirect :copy keeps", "require \"copy\"; redirect :copy \"a@b.c\";",
	  "redirect \"a@b.c\" :copy; keep (implicit)", NULL, 0 },
	/* RFC 5429 reject */
	{ "5429 reject", "require \"reject\"; reject \"go away\";",
	  "reject \"go away\"", NULL, 0 },
	/* RFC 5429 ereject */
	{ "5429 ereject", "require \"ereject\"; ereject \"no\";",
	  "ereject \"no\"", NULL, 0 },
	/* RFC 5429 2.1 reject + fileinto conflict */
	{ "5429 2.1 reject + fileinto conflict", "require [\"reject\",\"fileinto\"]; fileinto \"A\"; reject \"x\";",
	  "ERROR; keep (implicit)", NULL, 0 },
	/* RFC 5429 2.1 keep after reject conflict */
	{ "5429 2.1 keep after reject conflict", "require \"reject\"; reject \"x\"; keep;",
	  "ERROR; keep (implicit)", NULL, 0 },
	/* RFC 5429 reject + discard ok */
	{ "5429 reject + discard ok", "require \"reject\"; reject \"x\"; discard;",
	  "reject \"x\"; discard", NULL, 0 },
	/* RFC 5429 duplicate reject */
	{ "5429 duplicate reject", "require \"reject\"; reject \"x\"; reject \"y\";",
	  "ERROR; keep (implicit)", NULL, 0 },
	/* RFC 5232 fileinto :flags */
	{ "5232 fileinto :flags", "require [\"fileinto\",\"imap4flags\"]; fileinto :flags \"\\\\Seen\" \"A\";",
	  "fileinto \"A\" :flags \"\\\\Seen\"", NULL, 0 },
	/* RFC 5232 keep :flags keyword */
	{ "5232 keep :flags keyword", "require \"imap4flags\"; keep :flags [\"\\\\Flagged\", \"$Work\"];",
	  "keep :flags \"\\\\Flagged $Work\"", NULL, 0 },
	/* RFC 5232 setflag internal to fileinto */
	{ "5232 setflag internal to fileinto", "require [\"fileinto\",\"imap4flags\"]; setflag \"\\\\Seen\"; fileinto \"A\";",
	  "fileinto \"A\" :flags \"\\\\Seen\"", NULL, 0 },
	/* RFC 5232 3 implicit keep uses flags */
	{ "5232 3 implicit keep uses flags", "require \"imap4flags\"; addflag [\"\\\\Seen\", \"\\\\Answered\"];",
	  "keep :flags \"\\\\Seen \\\\Answered\" (implicit)", NULL, 0 },
	/* RFC 5232 removeflag */
	{ "5232 removeflag", "require \"imap4flags\"; setflag \"\\\\Seen \\\\Flagged\"; removeflag \"\\\\seen\"; keep;",
	  "keep :flags \"\\\\Flagged\"", NULL, 0 },
	/* RFC 5232 hasflag */
	{ "5232 hasflag", "require \"imap4flags\"; addflag \"\\\\Draft\"; if hasflag :is \"\\\\draft\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5232 hasflag variable */
	{ "5232 hasflag variable", "require [\"imap4flags\",\"variables\"]; setflag \"f\" \"a b\"; if hasflag :is \"f\" \"b\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5232 :flags overrides internal */
	{ "5232 :flags overrides internal", "require \"imap4flags\"; setflag \"\\\\Seen\"; keep :flags \"\\\\Deleted\";",
	  "keep :flags \"\\\\Deleted\"", NULL, 0 },
	/* RFC 5173 body :contains text */
	{ "5173 body :contains text", "require \"body\"; if body :contains \"cheap pills\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5173 body :text decodes QP */
	{ "5173 body :text decodes QP", "require \"body\"; if body :contains \"w\xc3""\xb6""rld\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5173 body :raw undecoded */
	{ "5173 body :raw undecoded", "require \"body\"; if body :raw :contains \"w=C3=B6rld\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5173 body :content text/html */
	{ "5173 body :content text/html", "require \"body\"; if body :content \"text/html\" :contains \"secret\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5173 body :content text/plain miss */
	{ "5173 body :content text/plain miss", "require \"body\"; if body :content \"text/plain\" :contains \"secret\" { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5173 body :text all text parts */
	{ "5173 body :text all text parts", "require \"body\"; if body :text :contains \"secret\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5229 set and ${} */
	{ "5229 set and ${}", "require [\"variables\",\"fileinto\"]; set \"f\" \"Lists\"; fileinto \"${f}.x\";",
	  "fileinto \"Lists.x\"", NULL, 0 },
	/* RFC 5229 3.2 match vars */
	{ "5229 3.2 match vars", "require [\"variables\",\"fileinto\"]; if header :matches \"List-Id\" \"<*.example.org>\" { fileinto \"L.${1}\"; }",
	  "fileinto \"L.exmh\"", NULL, 0 },
	/* RFC 5229 3.2 ${0} */
	{ "5229 3.2 ${0}", "require [\"variables\",\"fileinto\"]; if header :matches \"subject\" \"Buy *\" { fileinto \"${0}|${1}\"; }",
	  "fileinto \"Buy viagra now|viagra now\"", NULL, 0 },
	/* RFC 5229 3.2 leftmost shortest */
	{ "5229 3.2 leftmost shortest", "require [\"variables\",\"fileinto\"]; if header :matches \"subject\" \"* *\" { fileinto \"${1}|${2}\"; }",
	  "fileinto \"Buy|viagra now\"", NULL, 0 },
	/* RFC 5229 4.1 :upper */
	{ "5229 4.1 :upper", "require [\"variables\",\"fileinto\"]; set :upper \"x\" \"abc\"; fileinto \"${x}\";",
	  "fileinto \"ABC\"", NULL, 0 },
	/* RFC 5229 4.1 :lower :upperfirst */
	{ "5229 4.1 :lower :upperfirst", "require [\"variables\",\"fileinto\"]; set :lower :upperfirst \"x\" \"ABC\"; fileinto \"${x}\";",
	  "fileinto \"Abc\"", NULL, 0 },
	/* RFC 5229 4.1 :lowerfirst */
	{ "5229 4.1 :lowerfirst", "require [\"variables\",\"fileinto\"]; set :lowerfirst \"x\" \"ABC\"; fileinto \"${x}\";",
	  "fileinto \"aBC\"", NULL, 0 },
	/* RFC 5229 4.1 :length */
	{ "5229 4.1 :length", "require [\"variables\",\"fileinto\"]; set :length \"x\" \"abcd\"; fileinto \"${x}\";",
	  "fileinto \"4\"", NULL, 0 },
	/* RFC 5229 4.1 :quotewildcard */
	{ "5229 4.1 :quotewildcard", "require [\"variables\",\"fileinto\"]; set :quotewildcard \"x\" \"a*b?\"; fileinto \"${x}\";",
	  "fileinto \"a\\\\*b\\\\?\"", NULL, 0 },
	/* RFC 5229 3 unknown var empty */
	{ "5229 3 unknown var empty", "require [\"variables\",\"fileinto\"]; fileinto \"a${nope}b\";",
	  "fileinto \"ab\"", NULL, 0 },
	/* RFC 5229 3 invalid ref literal */
	{ "5229 3 invalid ref literal", "require [\"variables\",\"fileinto\"]; fileinto \"a${1x}b\";",
	  "fileinto \"a${1x}b\"", NULL, 0 },
	/* RFC 5229 3 names case-insensitive */
	{ "5229 3 names case-insensitive", "require [\"variables\",\"fileinto\"]; set \"Abc\" \"v\"; fileinto \"${aBC}\";",
	  "fileinto \"v\"", NULL, 0 },
	/* RFC 5229 5 string test */
	{ "5229 5 string test", "require \"variables\"; set \"a\" \"hello\"; if string :is \"${a}\" \"hello\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5231 string :count ignores empty */
	{ "5231 string :count ignores empty", "require [\"variables\",\"relational\",\"comparator-i;ascii-numeric\"]; if string :count \"eq\" :comparator \"i;ascii-numeric\" [\"a\", \"\", \"b\"] \"2\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 2.4.2 no variables without require */
	{ "5228 2.4.2 no variables without require", "require \"fileinto\"; fileinto \"${x}\";",
	  "fileinto \"${x}\"", NULL, 0 },
	/* RFC 5231 :count header */
	{ "5231 :count header", "require [\"relational\",\"comparator-i;ascii-numeric\"]; if header :count \"ge\" :comparator \"i;ascii-numeric\" \"received\" \"2\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5231 :count address */
	{ "5231 :count address", "require [\"relational\",\"comparator-i;ascii-numeric\"]; if address :count \"eq\" :comparator \"i;ascii-numeric\" [\"to\",\"cc\"] \"3\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5231 :value gt numeric */
	{ "5231 :value gt numeric", "require [\"relational\",\"comparator-i;ascii-numeric\"]; if header :value \"gt\" :comparator \"i;ascii-numeric\" \"x-spam-score\" \"5\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5231 :value lt numeric */
	{ "5231 :value lt numeric", "require [\"relational\",\"comparator-i;ascii-numeric\"]; if header :value \"lt\" :comparator \"i;ascii-numeric\" \"x-spam-score\" \"5\" { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5231 :value casemap */
	{ "5231 :value casemap", "require \"relational\"; if header :value \"ge\" \"subject\" \"buy\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5231 :value ne */
	{ "5231 :value ne", "require \"relational\"; if header :value \"ne\" \"subject\" \"x\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC regex basic */
	{ "regex basic", "require \"regex\"; if header :regex \"subject\" \"^buy .* now$\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC regex captures */
	{ "regex captures", "require [\"regex\",\"variables\",\"fileinto\"]; if header :regex \"list-id\" \"<([a-z]+)\\\\.example\" { fileinto \"${1}\"; }",
	  "fileinto \"exmh\"", NULL, 0 },
	/* RFC regex octet case */
	{ "regex octet case", "require \"regex\"; if header :regex :comparator \"i;octet\" \"subject\" \"^buy\" { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC regex match limit -> runtime error */
	{ "regex match limit -> runtime error", "require \"regex\"; if header :regex \"x-long\" \"(a+)+$\" { discard; }",
	  "ERROR; keep (implicit)", NULL, 0 },
	/* RFC 5490 mailboxexists */
	{ "5490 mailboxexists", "require \"mailbox\"; if mailboxexists \"Existing\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5490 mailboxexists no */
	{ "5490 mailboxexists no", "require \"mailbox\"; if mailboxexists [\"Existing\", \"Nope\"] { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5490 fileinto :create */
	{ "5490 fileinto :create", "require [\"fileinto\",\"mailbox\"]; fileinto :create \"New\";",
	  "fileinto \"New\" :create", NULL, 0 },
	/* RFC 5183 environment location */
	{ "5183 environment location", "require \"environment\"; if environment :is \"location\" \"MDA\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5183 environment phase/name */
	{ "5183 environment phase/name", "require \"environment\"; if allof (environment \"phase\" \"during\", environment \"name\" \"sluice\") { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5183 unknown item false */
	{ "5183 unknown item false", "require \"environment\"; if environment :matches \"remote-ip\" \"*\" { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5183 domain */
	{ "5183 domain", "require \"environment\"; if environment \"domain\" \"example.net\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5463 ihave known */
	{ "5463 ihave known", "require \"ihave\"; if ihave \"fileinto\" { fileinto \"A\"; }",
	  "fileinto \"A\"", NULL, 0 },
	/* RFC 5463 ihave unknown block not compiled */
	{ "5463 ihave unknown block not compiled", "require \"ihave\"; if ihave \"x-unknown\" { frobnicate \"A\"; } else { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5463 error command */
	{ "5463 error command", "require \"ihave\"; error \"custom failure\";",
	  "ERROR; keep (implicit)", NULL, 0 },
	/* RFC 5228 2.4.2.4 encoded-character hex */
	{ "5228 2.4.2.4 encoded-character hex", "require [\"encoded-character\",\"fileinto\"]; fileinto \"${hex:41 42}\";",
	  "fileinto \"AB\"", NULL, 0 },
	/* RFC 5228 2.4.2.4 unicode */
	{ "5228 2.4.2.4 unicode", "require [\"encoded-character\",\"fileinto\"]; fileinto \"${unicode:48}i\";",
	  "fileinto \"Hi\"", NULL, 0 },
	/* RFC 5228 2.4.2.4 malformed stays */
	{ "5228 2.4.2.4 malformed stays", "require [\"encoded-character\",\"fileinto\"]; fileinto \"${hex:zz}\";",
	  "fileinto \"${hex:zz}\"", NULL, 0 },
	/* RFC 5228 2.4.2.4 not required stays */
	{ "5228 2.4.2.4 not required stays", "require \"fileinto\"; fileinto \"${hex:41}\";",
	  "fileinto \"${hex:41}\"", NULL, 0 },
	/* RFC 5228 8.1 text: dot-stuffing */
	{ "5228 8.1 text: dot-stuffing", "require \"reject\"; reject text:\n..line\nsecond\n.\n;",
	  "reject \".line\\r\\nsecond\\r\\n\"", NULL, 0 },
	/* RFC 5228 2.4.2 escapes */
	{ "5228 2.4.2 escapes", "require \"fileinto\"; fileinto \"a\\\"b\\\\c\\d\";",
	  "fileinto \"a\\\"b\\\\cd\"", NULL, 0 },
	/* RFC 5228 2.3 comments */
	{ "5228 2.3 comments", "# c\nkeep; /* multi\nline */ discard;",
	  "keep; discard", NULL, 0 },
	/* RFC 5228 2.10.6 max actions */
	{ "5228 2.10.6 max actions", "require \"fileinto\"; fileinto \"1\"; fileinto \"2\"; fileinto \"3\"; fileinto \"4\"; fileinto \"5\";",
	  "ERROR; keep (implicit)", NULL, 4 },
	/* RFC Pigeonhole max redirects */
	{ "Pigeonhole max redirects", "redirect \"a@b.c\"; redirect \"b@b.c\"; redirect \"c@b.c\"; redirect \"d@b.c\"; redirect \"e@b.c\";",
	  "ERROR; keep (implicit)", NULL, 0 },
	/* RFC 5228 2.10.6 runtime error drops actions */
	{ "5228 2.10.6 runtime error drops actions", "require [\"fileinto\",\"ihave\"]; fileinto \"A\"; error \"x\";",
	  "ERROR; keep (implicit)", NULL, 0 },
	/* RFC 5228 5.7 header RFC 2047 decoded */
	{ "5228 5.7 header RFC 2047 decoded", "if header :contains \"x-enc\" \"caf\xc3""\xa9""\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 5.7 missing header false */
	{ "5228 5.7 missing header false", "if header :contains \"x-missing\" \"\" { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5228 2.7.1 :contains empty key */
	{ "5228 2.7.1 :contains empty key", "if header :contains \"subject\" \"\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5228 2.9 discard then keep */
	{ "5228 2.9 discard then keep", "discard; keep;",
	  "discard; keep", NULL, 0 },
	/* RFC 5228 4.4 discard + fileinto */
	{ "5228 4.4 discard + fileinto", "require \"fileinto\"; fileinto \"A\"; discard;",
	  "fileinto \"A\"; discard", NULL, 0 },
	/* RFC 5228 2.9 case-insensitive names */
	{ "5228 2.9 case-insensitive names", "IF TRUE { Discard; }",
	  "discard", NULL, 0 },
	/* RFC 5229 match vars unchanged on failure */
	{ "5229 match vars unchanged on failure", "require [\"variables\",\"fileinto\"]; if header :matches \"subject\" \"Buy *\" { } if header :matches \"subject\" \"zzz*\" { } fileinto \"${1}\";",
	  "fileinto \"viagra now\"", NULL, 0 },
	/* RFC 6609 3.4: return in the main script ends it */
	{ "6609 3.4 return at top level", "require [\"include\", \"fileinto\"]; fileinto \"A\"; return; fileinto \"B\";",
	  "fileinto \"A\"", NULL, 0 },
	/* RFC 6609 3.5: the global namespace needs no declaration */
	{ "6609 3.5 global.name", "require [\"include\", \"variables\", \"fileinto\"]; set \"global.x\" \"G\"; fileinto \"${global.x}\";",
	  "fileinto \"G\"", NULL, 0 },
	/* vacation (RFC 5230), duplicate (RFC 7352), enotify (RFC 5435/5436).
	 * Senders containing "seen" make the harness's fake store say every
	 * key is present; the message has List-Id and no Message-ID. */
	{ "5230 4.5 + Pigeonhole: no reply to a list message", "require \"vacation\"; vacation \"away\";",
	  "vacation \"away\" :seconds 604800 (not sent: discarding vacation response to mailinglist recipient); keep (implicit)", NULL, 0 },
	{ "5230 4.5: no reply to <>", "require \"vacation\"; vacation \"away\";",
	  "vacation \"away\" :seconds 604800 (not sent: discarded vacation reply to <>); keep (implicit)", "", 0 },
	/* Pigeonhole: a vacation that is not due still counts as the one
	 * vacation of the script (it decides only at commit). */
	{ "5230 4.7 + Pigeonhole: one vacation, due or not", "require \"vacation\"; vacation :subject \"s\" \"a\"; vacation \"b\";",
	  "ERROR; keep (implicit)", NULL, 0 },
	{ "7352 3.1: no Message-ID, not a duplicate", "require \"duplicate\"; if duplicate { discard; }",
	  "keep (implicit)", NULL, 0 },
	{ "7352 3: new value is marked", "require \"duplicate\"; if duplicate :uniqueid \"abc\" { discard; }",
	  "mark \"sieve-duplicate:0a991ab0c1153eb3a9e9d34af8c3e2d4\"; keep (implicit)", NULL, 0 },
	{ "7352 3: seen value, no new mark", "require \"duplicate\"; if duplicate :uniqueid \"abc\" { discard; }",
	  "discard", "seen@example.org", 0 },
	{ "7352 3.2: :last re-marks a seen value", "require \"duplicate\"; if duplicate :last :header \"subject\" { discard; }",
	  "mark \"sieve-duplicate:f61076121103531e4bf97e44469c6d53\"; discard", "seen@example.org", 0 },
	{ "7352 3: same check twice in one run, one mark", "require \"duplicate\"; if duplicate :handle \"h\" :uniqueid \"x\" { } if duplicate :handle \"h\" :uniqueid \"x\" { discard; }",
	  "mark \"sieve-duplicate:78d99b92cae37d44baf9003eabbf942e\"; keep (implicit)", NULL, 0 },
	{ "5435 3 notify mailto", "require \"enotify\"; notify :importance \"1\" :message \"m\" \"mailto:a@example.com\";",
	  "notify \"mailto:a@example.com\"; keep (implicit)", NULL, 0 },
	{ "5435 3.9 + Pigeonhole: same recipients notified once", "require \"enotify\"; notify \"mailto:a@example.com\"; notify \"mailto:A@example.com?subject=x\";",
	  "notify \"mailto:a@example.com\"; keep (implicit)", NULL, 0 },
	{ "5435 5.1 valid_notify_method", "require \"enotify\"; if valid_notify_method \"xmpp:a@b.c\" { discard; } elsif valid_notify_method [\"mailto:a@b.c\", \"mailto:?to=x@y.z\"] { keep; }",
	  "keep", NULL, 0 },
	{ "5436 2.9 mailto online is maybe", "require \"enotify\"; if notify_method_capability \"mailto:a@b.c\" \"Online\" \"maybe\" { discard; }",
	  "discard", NULL, 0 },
	{ "5435 6 :encodeurl", "require [\"enotify\", \"variables\", \"fileinto\"]; set :encodeurl \"x\" \"a b&c/\xc3\xa9\"; fileinto \"${x}\";",
	  "fileinto \"a%20b%26c%2F%C3%A9\"", NULL, 0 },
	{ "5435 3 runtime URI check", "require [\"enotify\", \"variables\"]; set \"u\" \"mailto:no-at\"; notify \"${u}\";",
	  "ERROR; keep (implicit)", NULL, 0 },
	/* RFC 5703 (ext-mime.c) */
	{ "5703 4.1 header :mime :type", "require [\"mime\", \"fileinto\"]; if header :mime :type \"Content-Type\" \"multipart\" { fileinto \"M\"; }",
	  "fileinto \"M\"", NULL, 0 },
	{ "5703 3 + Pigeonhole: foreverypart visits the message, then its parts", "require [\"mime\", \"foreverypart\", \"fileinto\", \"variables\"]; set \"s\" \"\"; foreverypart { if header :mime :subtype :matches \"Content-Type\" \"*\" { set \"s\" \"${s}/${1}\"; } } fileinto \"${s}\";",
	  "fileinto \"/alternative/plain/html\"", NULL, 0 },
	{ "5703 4.1 :param on the current part", "require [\"mime\", \"foreverypart\", \"fileinto\"]; foreverypart { if header :mime :param \"charset\" :is \"Content-Type\" \"utf-8\" { fileinto \"U\"; } }",
	  "fileinto \"U\"", NULL, 0 },
	{ "5703 4.1 :anychild looks below", "require [\"mime\", \"fileinto\"]; if header :mime :anychild :contenttype \"Content-Type\" \"text/html\" { fileinto \"H\"; }",
	  "fileinto \"H\"", NULL, 0 },
	{ "5703 4.1 without :anychild only the message", "require [\"mime\", \"fileinto\"]; if header :mime :contenttype \"Content-Type\" \"text/html\" { fileinto \"H\"; }",
	  "keep (implicit)", NULL, 0 },
	{ "5703 4.3 exists :mime on the current part", "require [\"mime\", \"foreverypart\"]; foreverypart { if exists :mime \"Content-Transfer-Encoding\" { discard; } }",
	  "discard", NULL, 0 },
	{ "5703 3.2 break", "require [\"foreverypart\", \"variables\", \"fileinto\"]; set \"n\" \"\"; foreverypart { set \"n\" \"${n}x\"; if string \"${n}\" \"xx\" { break; } } fileinto \"${n}\";",
	  "fileinto \"xx\"", NULL, 0 },
	{ "5703 3.2 break :name leaves the outer loop", "require [\"foreverypart\", \"variables\", \"fileinto\"]; set \"n\" \"\"; foreverypart :name \"o\" { foreverypart { set \"n\" \"${n}y\"; break :name \"o\"; } } fileinto \"n${n}\";",
	  "fileinto \"ny\"", NULL, 0 },
	{ "5703 7 extracttext: decoded, UTF-8", "require [\"foreverypart\", \"extracttext\", \"variables\", \"mime\", \"fileinto\"]; foreverypart { if header :mime :subtype \"Content-Type\" \"plain\" { extracttext \"t\"; fileinto \"${t}\"; } }",
	  "fileinto \"Hello w\xc3\xb6rld, cheap pills\"", NULL, 0 },
	{ "5703 7 extracttext :first, HTML as text", "require [\"foreverypart\", \"extracttext\", \"variables\", \"mime\", \"fileinto\"]; foreverypart { if header :mime :subtype \"Content-Type\" \"html\" { extracttext :first 9 \"t\"; fileinto \"${t}\"; } }",
	  "fileinto \"html part\"", NULL, 0 },
	{ "5703 7 extracttext outside foreverypart", "require [\"foreverypart\", \"extracttext\", \"variables\"]; extracttext \"t\";",
	  "COMPILE: t.sieve:1:55: error: the extracttext command is not placed inside a foreverypart loop\n", NULL, 0 },
	{ "5703 4.1 :type needs :mime", "require \"mime\"; if header :type \"Content-Type\" \"text\" { keep; }",
	  "COMPILE: t.sieve:1:27: error: the :type tag for the header test requires the :mime tag\n", NULL, 0 },
	/* RFC 5260 4: date of a Received field (after the last ';') */
	{ "5260 4 date received", "require [\"date\"]; if date :originalzone \"received\" \"iso8601\" \"2026-11-23T06:15:12Z\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5260 4.1: :zone converts */
	{ "5260 4.1 date :zone", "require [\"date\"]; if date :zone \"-0700\" \"received\" \"std11\" \"Sun, 22 Nov 2026 23:15:12 -0700\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5260 4: a field that is no date never matches */
	{ "5260 4 date garbage", "require [\"date\"]; if date :matches \"subject\" \"year\" \"*\" { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5260 5: currentdate */
	{ "5260 5 currentdate", "require [\"date\", \"relational\"]; if currentdate :value \"ge\" \"date\" \"2020-01-01\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5260 6: header :index */
	{ "5260 6 header :index", "require [\"index\"]; if header :index 2 :contains \"received\" \"from c\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5260 6: :last counts from the end */
	{ "5260 6 header :index :last", "require [\"index\"]; if header :index 2 :last :contains \"received\" \"from c\" { discard; }",
	  "keep (implicit)", NULL, 0 },
	/* RFC 5235 3.2: no spamtest settings -> "0" (not tested) */
	{ "5235 3.2 spamtest not configured", "require [\"spamtest\"]; if spamtest :is \"0\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5293 4: addheader is seen by later tests and becomes an action */
	{ "5293 4 addheader", "require [\"editheader\"]; addheader \"X-A\" \"1\"; if header :is \"x-a\" \"1\" { discard; }",
	  "addheader \"X-A\" \"1\"; discard", NULL, 0 },
	/* RFC 5293 5: deleteheader by value, occurrence index */
	{ "5293 5 deleteheader value", "require [\"editheader\"]; addheader :last \"X-Star\" \"c\"; deleteheader :is \"x-star\" \"c\"; if not exists \"x-star\" { discard; }",
	  "addheader \"X-Star\" \"c\" :last; deleteheader \"x-star\" :index 2; keep (implicit)", NULL, 0 },
	/* RFC 5293 5: no :index, no value: all of them, one action */
	{ "5293 5 deleteheader all", "require [\"editheader\"]; deleteheader \"x-star\"; if not exists \"x-star\" { discard; }",
	  "deleteheader \"x-star\"; discard", NULL, 0 },
	/* RFC 5293 6: Received is protected (warning, skipped) */
	{ "5293 6 deleteheader received", "require [\"editheader\"]; deleteheader \"received\"; if exists \"received\" { discard; }",
	  "discard", NULL, 0 },
	/* RFC 5293 6: runtime error drops the edits */
	{ "5293 6 error drops edits", "require [\"editheader\", \"variables\"]; set \"n\" \"bad name\"; addheader \"X-A\" \"1\"; addheader \"${n}\" \"v\";",
	  "ERROR; keep (implicit)", NULL, 0 },
};

static int
mbox_exists(void *arg, const char *folder)
{
	(void)arg;
	return strcmp(folder, "Existing") == 0;
}

/* The fake state store for duplicate rows (see env.cb_arg in run_row). */
static int
fake_seen(void *arg, const char *key)
{
	(void)key;
	return *(const char *)arg == '1';
}

static struct msg *
load(const char *text, int *fd_out)
{
	struct msg *m = msg_new();
	struct err e;
	int in = memfd_create("in", 0), out = memfd_create("out", 0);

	if (in == -1 || out == -1 || write_all(in, text, strlen(text)) == -1 ||
	    lseek(in, 0, SEEK_SET) == -1 || msg_spool(m, in, out, &e) == -1 ||
	    msg_map(m, out, &e) == -1) {
		fprintf(stderr, "cannot load the test message\n");
		exit(1);
	}
	close(in);
	*fd_out = out;
	return m;
}

/* Run script over the message; the action list as a string (malloc). */
static char *
run_row(const struct rrow *r, struct msg *m)
{
	struct sieve_conf sc = { .extensions = NULL };
	struct sieve_diags d;
	struct sieve_script *s = NULL;
	struct sieve_env env;
	struct sieve_run *run;
	struct action_list l;
	struct buf out = BUF_INIT;
	long imp;
	size_t k;
	int rc;

	sieve_diags_init(&d);
	if (sieve_compile(&sc, "t.sieve", r->script, strlen(r->script), &d,
	    &s) == -1) {
		buf_addf(&out, "COMPILE: %s", d.text.data ? d.text.data : "");
		sieve_diags_free(&d);
		return buf_steal(&out);
	}
	memset(&env, 0, sizeof env);
	env.sender = r->sender ? r->sender : "alice@example.org";
	env.recipient = "bob+lists@example.net";
	env.delimiter = "+";
	env.domain = "example.net";
	env.host = "mx.example.net";
	env.max_actions = r->max_actions;
	env.mailbox_exists = mbox_exists;
	/* duplicate: a fake store (every key present for "seen" senders) */
	env.store_seen = fake_seen;
	env.cb_arg = (void *)(r->sender && strstr(r->sender, "seen") ?
	    "1" : "0");
	actions_init(&l);
	run = sieve_run_new(m, &env, &l, NULL);
	rc = sieve_run_script(run, s, &d);
	imp = sieve_run_finish(run);
	if (rc == -1)
		buf_adds(&out, "ERROR");
	for (k = 0; k < l.n; k++) {
		if (out.len)
			buf_adds(&out, "; ");
		sieve_action_format(&l.v[k], &out);
		if ((long)k == imp)
			buf_adds(&out, " (implicit)");
	}
	if (l.implicit_keep) {
		if (out.len)
			buf_adds(&out, "; ");
		buf_adds(&out, "keep (implicit)");
	}
	if (out.len == 0)
		buf_adds(&out, "(none)");
	sieve_run_free(&run);
	actions_free(&l);
	sieve_script_free(&s);
	sieve_diags_free(&d);
	return buf_steal(&out);
}

/*
 * include (RFC 6609): scripts written to a scratch personal dir (and
 * global dir), the main script compiled with both, run over m. want:
 * the actions as run_row prints them, or "COMPILE: " + a substring of
 * the diagnostics.
 */
struct irow {
	const char *rfc;
	const char *files[6][2];	/* "p/name" or "g/name", text */
	const char *script;
	const char *want;
};

static const struct irow irows[] = {
	{ "6609 3.2 personal include, same result",
	  { { "p/a", "require \"fileinto\"; fileinto \"A\";" } },
	  "require [\"include\", \"fileinto\"]; include \"a\"; fileinto \"M\";",
	  "fileinto \"A\"; fileinto \"M\"" },
	{ "6609 3.2 :global location",
	  { { "g/a", "require \"fileinto\"; fileinto \"G\";" },
	    { "p/a", "require \"fileinto\"; fileinto \"P\";" } },
	  "require \"include\"; include :global \"a\"; include :personal \"a\";",
	  "fileinto \"G\"; fileinto \"P\"" },
	{ "6609 3.2 missing script: compile error at the include",
	  { { NULL, NULL } },
	  "require \"include\";\nkeep;\n  include \"nope\";",
	  "COMPILE: t.sieve:3:3: error: included personal script 'nope' does not exist" },
	{ "6609 3.2 :optional missing script is skipped",
	  { { NULL, NULL } },
	  "require \"include\"; include :optional \"nope\"; discard;",
	  "discard" },
	{ "6609 3.2 names with / are refused",
	  { { NULL, NULL } },
	  "require \"include\"; include \"../x\";",
	  "COMPILE: error: include: invalid script name '../x'" },
	{ "6609 3.2 circular include",
	  { { "p/a", "require \"include\"; include \"b\";" },
	    { "p/b", "require \"include\"; include \"a\";" } },
	  "require \"include\"; include \"a\";",
	  "COMPILE: error: circular include" },
	{ "6609 3.2 :once breaks a cycle and runs once",
	  { { "p/a", "require [\"include\", \"fileinto\"]; fileinto \"A\"; include :once \"b\";" },
	    { "p/b", "require [\"include\", \"fileinto\"]; include :once \"a\"; fileinto \"B\";" } },
	  "require \"include\"; include :once \"a\"; include :once \"b\";",
	  "fileinto \"A\"; fileinto \"B\"" },
	{ "6609 3.2 an error in the included script fails the compile",
	  { { "p/a", "keep;\nfoo;" } },
	  "require \"include\"; include \"a\";",
	  "COMPILE: a.sieve:2:1: error: unknown command 'foo'\nt.sieve:1:20: error: failed to compile included personal script 'a'" },
	{ "6609 3.4 return ends only the included script",
	  { { "p/a", "require [\"include\", \"fileinto\"]; fileinto \"A\"; return; fileinto \"X\";" } },
	  "require [\"include\", \"fileinto\"]; include \"a\"; fileinto \"M\";",
	  "fileinto \"A\"; fileinto \"M\"" },
	{ "6609 3.2 stop in an included script ends everything",
	  { { "p/a", "require \"fileinto\"; fileinto \"A\"; stop;" } },
	  "require [\"include\", \"fileinto\"]; include \"a\"; fileinto \"M\";",
	  "fileinto \"A\"" },
	{ "6609 3.3 local variables are not shared, globals are",
	  { { "p/a", "require [\"include\", \"variables\", \"fileinto\"]; global \"g\"; fileinto \"a-${l}-${g}\"; set \"g\" \"G2\"; set \"l\" \"L2\";" } },
	  "require [\"include\", \"variables\", \"fileinto\"]; global \"g\"; set \"l\" \"L\"; set \"g\" \"G\"; include \"a\"; fileinto \"m-${l}-${g}\";",
	  "fileinto \"a--G\"; fileinto \"m-L-G2\"" },
	{ "6609 3.3 global needs variables",
	  { { NULL, NULL } },
	  "require \"include\"; global \"x\";",
	  "COMPILE: error: global command requires that variables extension is active" },
	{ "6609 3.2 nesting deeper than the limit",
	  { { "p/a", "require \"include\"; include \"b\";" },
	    { "p/b", "require \"include\"; include \"c\";" },
	    { "p/c", "keep;" } },
	  "require \"include\"; include \"a\";",
	  "COMPILE: error: cannot nest includes deeper than 2 levels" },
};

static void
test_include(struct msg *m)
{
	char tmpl[] = "/tmp/test-sieve-XXXXXX", pdir[300], gdir[300];
	struct buf cmd = BUF_INIT;
	size_t i, k;

	if (mkdtemp(tmpl) == NULL) {
		ok(0, "include: mkdtemp");
		return;
	}
	(void)snprintf(pdir, sizeof pdir, "%s/p", tmpl);
	(void)snprintf(gdir, sizeof gdir, "%s/g", tmpl);
	for (i = 0; i < sizeof irows / sizeof irows[0]; i++) {
		const struct irow *ir = &irows[i];
		struct sieve_conf sc = { .personal_dir = pdir,
		    .global_dir = gdir, .max_include_depth = 2 };
		struct sieve_diags d;
		struct sieve_script *s = NULL;
		struct sieve_env env;
		struct sieve_run *run;
		struct action_list l;
		struct buf out = BUF_INIT;

		(void)mkdir(pdir, 0700);
		(void)mkdir(gdir, 0700);
		for (k = 0; k < 6 && ir->files[k][0] != NULL; k++) {
			char path[400];
			FILE *fp;

			(void)snprintf(path, sizeof path, "%s/%s.sieve", tmpl,
			    ir->files[k][0]);
			if ((fp = fopen(path, "w")) != NULL) {
				fputs(ir->files[k][1], fp);
				fclose(fp);
			}
		}
		sieve_diags_init(&d);
		actions_init(&l);
		if (sieve_compile(&sc, "t.sieve", ir->script,
		    strlen(ir->script), &d, &s) == -1) {
			buf_addf(&out, "COMPILE: %s", d.text.data);
		} else {
			memset(&env, 0, sizeof env);
			env.sender = "alice@example.org";
			env.recipient = "bob@example.net";
			run = sieve_run_new(m, &env, &l, NULL);
			if (sieve_run_script(run, s, &d) == -1)
				buf_addf(&out, "ERROR %s; ", d.text.data);
			(void)sieve_run_finish(run);
			sieve_run_free(&run);
			for (k = 0; k < l.n; k++) {
				if (k)
					buf_adds(&out, "; ");
				sieve_action_format(&l.v[k], &out);
			}
			if (l.implicit_keep)
				buf_adds(&out, l.n ? "; keep (implicit)" :
				    "keep (implicit)");
		}
		if (strncmp(ir->want, "COMPILE: ", 9) == 0) {
			if (!ok(strncmp(out.data, "COMPILE: ", 9) == 0 &&
			    strstr(out.data, ir->want + 9) != NULL,
			    "include row %zu (RFC %s)", i, ir->rfc))
				printf("#   got:  \"%s\"\n", out.data);
		} else {
			is_str(out.data, ir->want, "include row %zu (RFC %s)",
			    i, ir->rfc);
		}
		buf_free(&out);
		actions_free(&l);
		sieve_script_free(&s);
		sieve_diags_free(&d);
		buf_reset(&cmd);
		buf_addf(&cmd, "rm -rf '%s/p' '%s/g'", tmpl, tmpl);
		if (system(cmd.data) != 0)
			ok(0, "include: cleanup");
	}
	(void)rmdir(tmpl);
	buf_free(&cmd);
}

/*
 * vnd.dovecot.pipe/filter/execute (ext-extprograms.c) with a scratch bin
 * dir: require fails without the directory; execute :output; a filter's
 * output is what later tests see; pipe is an action with its arguments.
 */
static void
test_extprograms(void)
{
	static const char *const scripts[][2] = {
		{ "require [\"vnd.dovecot.execute\", \"variables\", \"fileinto\"]; execute :input \"a@B.org\" :output \"d\" \"dom\" [\"x\"]; fileinto \"${d}\";",
		  "fileinto \"b.org|x\"" },
		{ "require \"vnd.dovecot.execute\"; if execute \"fail\" { discard; }",
		  "keep (implicit)" },
		{ "require \"vnd.dovecot.execute\"; execute \"missing\";",
		  "ERROR; keep (implicit)" },
		{ "require [\"vnd.dovecot.filter\", \"fileinto\"]; filter \"addhdr\"; if header :is \"X-Added\" \"yes\" { fileinto \"F\"; }",
		  "fileinto \"F\"" },
		{ "require [\"vnd.dovecot.filter\"]; if filter \"fail\" { discard; }",
		  "keep (implicit)" },
		{ "require [\"vnd.dovecot.pipe\", \"copy\"]; pipe :copy \"dom\" [\"a\", \"b\"];",
		  "pipe \"dom\" :copy; keep (implicit)" },
		{ "require \"vnd.dovecot.pipe\"; pipe :try \"dom\";",
		  "pipe \"dom\" :try" },
	};
	char dir[] = "/tmp/test-sieve-xp-XXXXXX", path[256];
	struct sieve_conf sc;
	size_t i;
	FILE *fp;

	if (mkdtemp(dir) == NULL) {
		ok(0, "extprograms: mkdtemp");
		return;
	}
	(void)snprintf(path, sizeof path, "%s/dom", dir);
	fp = fopen(path, "w");
	fputs("#!/bin/sh\nread a; printf '%s|%s' \"${a##*@}\" \"$1\" | tr A-Z a-z\n", fp);
	fclose(fp);
	chmod(path, 0755);
	(void)snprintf(path, sizeof path, "%s/fail", dir);
	fp = fopen(path, "w");
	fputs("#!/bin/sh\ncat >/dev/null\nexit 1\n", fp);
	fclose(fp);
	chmod(path, 0755);
	(void)snprintf(path, sizeof path, "%s/addhdr", dir);
	fp = fopen(path, "w");
	fputs("#!/bin/sh\nprintf 'X-Added: yes\\n'\nexec cat\n", fp);
	fclose(fp);
	chmod(path, 0755);

	memset(&sc, 0, sizeof sc);
	sc.extensions = "+vnd.dovecot.pipe +vnd.dovecot.filter +vnd.dovecot.execute";
	{
		/* Pigeonhole: off by default; on without a bin dir it
		 * compiles (programs are then not found at runtime). */
		struct sieve_conf off = { .extensions = NULL };
		struct sieve_diags d;
		struct sieve_script *s = NULL;
		const char *t = "require \"vnd.dovecot.pipe\";";

		sieve_diags_init(&d);
		ok(sieve_compile(&off, "t.sieve", t, strlen(t), &d, &s) == -1,
		    "extprograms: not in the default sieve_extensions");
		sieve_diags_free(&d);
		sieve_diags_init(&d);
		ok(sieve_compile(&sc, "t.sieve", t, strlen(t), &d, &s) == 0,
		    "extprograms: compiles without sieve_pipe_bin_dir");
		sieve_script_free(&s);
		sieve_diags_free(&d);
	}
	sc.pipe_bin_dir = sc.filter_bin_dir = sc.execute_bin_dir = dir;
	for (i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
		struct sieve_diags d;
		struct sieve_script *s = NULL;
		struct sieve_env env;
		struct sieve_run *run;
		struct action_list l;
		struct buf out = BUF_INIT;
		struct msg *m;
		size_t k;
		int fd, rc;

		m = load(message, &fd);	/* a filter changes it */
		sieve_diags_init(&d);
		if (sieve_compile(&sc, "t.sieve", scripts[i][0],
		    strlen(scripts[i][0]), &d, &s) == -1) {
			is_str(d.text.data, "", "extprograms %zu compiles", i);
			goto next;
		}
		memset(&env, 0, sizeof env);
		env.sender = "alice@example.org";
		env.recipient = "bob@example.net";
		actions_init(&l);
		run = sieve_run_new(m, &env, &l, NULL);
		rc = sieve_run_script(run, s, &d);
		(void)sieve_run_finish(run);
		if (rc == -1)
			buf_adds(&out, "ERROR");
		for (k = 0; k < l.n; k++) {
			if (out.len)
				buf_adds(&out, "; ");
			sieve_action_format(&l.v[k], &out);
		}
		if (l.implicit_keep)
			buf_adds(&out, out.len ? "; keep (implicit)" :
			    "keep (implicit)");
		is_str(out.data, scripts[i][1], "extprograms %zu", i);
		if (i == 5)
			ok(l.n == 1 && l.v[0].argv != NULL &&
			    !strcmp(l.v[0].argv[0], "a") &&
			    !strcmp(l.v[0].argv[1], "b") && l.v[0].argv[2] == NULL,
			    "extprograms: pipe arguments in argv");
		sieve_run_free(&run);
		actions_free(&l);
		buf_free(&out);
next:
		sieve_script_free(&s);
		sieve_diags_free(&d);
		msg_free(&m);
		close(fd);
	}
	{
		const char *names[] = { "dom", "fail", "addhdr" };

		for (i = 0; i < 3; i++) {
			(void)snprintf(path, sizeof path, "%s/%s", dir, names[i]);
			(void)unlink(path);
		}
		(void)rmdir(dir);
	}
}

int
main(void)
{
	struct sieve_conf sc = { .extensions = NULL };
	struct msg *m;
	size_t i;
	int fd;

	log_open("test-sieve", LOG_TO_STDERR, 0);
	for (i = 0; i < sizeof crows / sizeof crows[0]; i++) {
		struct sieve_diags d;
		struct sieve_script *s = NULL;
		int rc;

		sieve_diags_init(&d);
		rc = sieve_compile(&sc, "t.sieve", crows[i].script,
		    strlen(crows[i].script), &d, &s);
		if (!ok(rc == -1 && d.text.data != NULL &&
		    strstr(d.text.data, crows[i].want) != NULL,
		    "compile row %zu: %s", i, crows[i].want))
			printf("#   got:  \"%s\"\n", d.text.data ?
			    d.text.data : "(compiled)");
		sieve_script_free(&s);
		sieve_diags_free(&d);
	}

	/* Limits: an over-long script (sieve_max_script_size). */
	{
		struct sieve_conf small = { .max_script_size = 16 };
		struct sieve_diags d;
		struct sieve_script *s = NULL;
		const char *t = "keep; keep; keep; keep;";

		sieve_diags_init(&d);
		ok(sieve_compile(&small, "t.sieve", t, strlen(t), &d, &s) == -1 &&
		    strstr(d.text.data, "script is too large") != NULL,
		    "limit: sieve_max_script_size");
		sieve_diags_free(&d);
	}
	/* Error count limit: many errors stop at SIEVE_MAX_ERRORS. */
	{
		struct sieve_diags d;
		struct sieve_script *s = NULL;
		struct buf t = BUF_INIT;

		for (i = 0; i < 50; i++)
			buf_addf(&t, "bogus%zu;\n", i);
		sieve_diags_init(&d);
		(void)sieve_compile(&sc, "t.sieve", t.data, t.len, &d, &s);
		ok(d.errors == SIEVE_MAX_ERRORS + 1 &&
		    strstr(d.text.data, "too many errors") != NULL,
		    "limit: at most %d errors reported", SIEVE_MAX_ERRORS);
		sieve_diags_free(&d);
		buf_free(&t);
	}
	/* sieve_extensions: "-fileinto" disables it. */
	{
		struct sieve_conf nofi = { .extensions = "-fileinto" };
		struct sieve_diags d;
		struct sieve_script *s = NULL;
		const char *t = "require \"fileinto\";";

		sieve_diags_init(&d);
		ok(sieve_compile(&nofi, "t.sieve", t, strlen(t), &d, &s) == -1,
		    "sieve_extensions -fileinto: require fails");
		sieve_diags_free(&d);
	}

	m = load(message, &fd);
	for (i = 0; i < sizeof rrows / sizeof rrows[0]; i++) {
		char *got = run_row(&rrows[i], m);

		is_str(got, rrows[i].want, "run row %zu (RFC %s)", i,
		    rrows[i].rfc);
		free(got);
	}
	/* vacation (RFC 5230) on a personal message: rows of vrows (the
	 * action list, then handle-independent fields of the reply). */
	{
		static const char vmsg[] =
		    "From: Alice <alice@example.org>\n"
		    "To: Bob <bob+lists@example.net>\n"
		    "Subject: hi\n"
		    "Message-ID: <v1@example.org>\n\n"
		    "body\n";
		static const struct rrow vrows[] = {
			{ "5230 4.1 reply due", "require \"vacation\"; vacation :days 3 \"away\";",
			  "vacation \"away\" :seconds 259200; keep (implicit)", NULL, 0 },
			{ "5230 4.7 + Pigeonhole: one vacation per script", "require \"vacation\"; vacation \"a\"; vacation \"b\";",
			  "ERROR; keep (implicit)", NULL, 0 },
			{ "5230 4.5 no reply to a daemon", "require \"vacation\"; vacation \"away\";",
			  "vacation \"away\" :seconds 604800 (not sent: not sending vacation response to system address); keep (implicit)", "MAILER-DAEMON@example.org", 0 },
			{ "5230 4.5 no reply to *-request", "require \"vacation\"; vacation \"away\";",
			  "vacation \"away\" :seconds 604800 (not sent: not sending vacation response to system address); keep (implicit)", "list-request@example.org", 0 },
			{ "5230 4.5 no reply to own address", "require \"vacation\"; vacation \"away\";",
			  "vacation \"away\" :seconds 604800 (not sent: discarded vacation reply to own address); keep (implicit)", "bob+lists@example.net", 0 },
			{ "5230 4.6 :addresses alongside the recipient", "require \"vacation\"; vacation :addresses \"x@y.z\" :subject \"s\" \"away\";",
			  "vacation \"away\" :subject \"s\" :seconds 604800; keep (implicit)", NULL, 0 },
		};
		int vfd;
		struct msg *vm = load(vmsg, &vfd);

		for (i = 0; i < sizeof vrows / sizeof vrows[0]; i++) {
			char *got = run_row(&vrows[i], vm);

			is_str(got, vrows[i].want, "vacation row %zu (RFC %s)",
			    i, vrows[i].rfc);
			free(got);
		}
		msg_free(&vm);
		close(vfd);
	}

	/* Multiscript (Pigeonhole): the next script runs while keep is in
	 * effect; a discard ends the sequence; stop ends only one script. */
	{
		static const char *const seqs[][3] = {
			{ "stop;", "require \"fileinto\"; fileinto \"B\";",
			  "fileinto \"B\"" },
			{ "discard;", "require \"fileinto\"; fileinto \"B\";",
			  "discard" },
			{ "keep;", "redirect \"a@b.c\";", "redirect \"a@b.c\"" },
			{ "require [\"fileinto\", \"copy\"]; fileinto :copy \"A\";", "",
			  "fileinto \"A\" :copy; keep (implicit)" },
		};
		for (i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
			struct sieve_conf c0 = { .extensions = NULL };
			struct sieve_diags d;
			struct sieve_script *s1 = NULL, *s2 = NULL;
			struct sieve_env env;
			struct sieve_run *run;
			struct action_list l;
			struct buf out = BUF_INIT;
			size_t k;

			sieve_diags_init(&d);
			memset(&env, 0, sizeof env);
			env.sender = "a@b.c";
			(void)sieve_compile(&c0, "1", seqs[i][0],
			    strlen(seqs[i][0]), &d, &s1);
			(void)sieve_compile(&c0, "2", seqs[i][1],
			    strlen(seqs[i][1]), &d, &s2);
			actions_init(&l);
			run = sieve_run_new(m, &env, &l, NULL);
			if (sieve_run_script(run, s1, &d) > 0)
				(void)sieve_run_script(run, s2, &d);
			(void)sieve_run_finish(run);
			for (k = 0; k < l.n; k++) {
				if (out.len)
					buf_adds(&out, "; ");
				sieve_action_format(&l.v[k], &out);
			}
			if (l.implicit_keep)
				buf_adds(&out, out.len ? "; keep (implicit)" :
				    "keep (implicit)");
			is_str(out.data, seqs[i][2], "multiscript %zu", i);
			buf_free(&out);
			sieve_run_free(&run);
			actions_free(&l);
			sieve_script_free(&s1);
			sieve_script_free(&s2);
			sieve_diags_free(&d);
		}
	}
	test_include(m);
	test_extprograms();
	msg_free(&m);
	close(fd);
	return tap_done();
}
