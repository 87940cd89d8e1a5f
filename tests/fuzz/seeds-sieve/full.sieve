require ["fileinto", "envelope", "reject", "copy", "imap4flags", "body",
	"variables", "relational", "subaddress", "regex", "mailbox",
	"environment", "ihave", "encoded-character",
	"comparator-i;ascii-numeric"];
# comment
/* bracket
   comment */
if allof (header :contains ["subject", "x"] "${hex:41}",
	  not exists "x-foo", size :over 10K,
	  address :user :is "to" "bob", envelope :detail "to" "lists") {
	set :lower :upperfirst "v" "${1}";
	fileinto :copy :flags ["\\Seen"] :create "A.${v}";
	stop;
} elsif header :regex "list-id" "<([a-z]+)\\." {
	addflag "f" "\\Flagged"; redirect :copy "a@b.c";
} elsif body :content "text" :matches "*x?y\\*" { discard; }
elsif string :count "ge" :comparator "i;ascii-numeric" ["a"] "1" {
	reject text:
line one
..dot
.
;
} else { if ihave "foo" { foo; } keep :flags "$x"; }
