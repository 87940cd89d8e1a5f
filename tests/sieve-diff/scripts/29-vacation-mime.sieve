# vacation with :mime and a variable subject.
require ["vacation", "variables"];
if header :matches "Subject" "*" { set "s" "${1}"; }
vacation :days 1 :subject "Re: ${s}" :mime
  :addresses ["zzzz@localhost.netnoteinc.com", "yyyy@spamassassin.taint.org", "zzzz@spamassassin.taint.org", "zzzzz@gmx.de", "aeriksson@fastmail.fm", "joe@barrera.org", "lrivers@realsoftware.com", "deafbox@hotmail.com", "colm@tuatha.org", "manny@ccsun37.cc.ntu.edu.tw", "webmaster@efi.ie", "thecashsystem@firemail.de", "xxxxxx.yyyyy@ruhr-uni-bochum.de"]
text:
Content-Type: text/plain; charset=utf-8

I am away.
.
;
