require ["fileinto","imap4flags"];
if header :contains "subject" "viagra" { fileinto :flags "\\Seen" "Junk"; }
redirect "x@y.org";
