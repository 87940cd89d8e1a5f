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
};

static int
mbox_exists(void *arg, const char *folder)
{
	(void)arg;
	return strcmp(folder, "Existing") == 0;
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
	struct sieve_conf sc = { NULL, 0 };
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

int
main(void)
{
	struct sieve_conf sc = { NULL, 0 };
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
		struct sieve_conf small = { NULL, 16 };
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
		struct sieve_conf nofi = { "-fileinto", 0 };
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
			struct sieve_conf c0 = { NULL, 0 };
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
	msg_free(&m);
	close(fd);
	return tap_done();
}
