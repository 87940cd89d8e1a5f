# vacation (RFC 5230): only to explicit recipients, never lists or bulk.
require ["vacation"];
vacation :days 7 :subject "Out of office"
  :addresses ["zzzz@localhost.netnoteinc.com", "yyyy@spamassassin.taint.org", "zzzz@spamassassin.taint.org", "zzzzz@gmx.de", "aeriksson@fastmail.fm", "joe@barrera.org", "lrivers@realsoftware.com", "deafbox@hotmail.com", "colm@tuatha.org", "manny@ccsun37.cc.ntu.edu.tw", "webmaster@efi.ie", "thecashsystem@firemail.de", "xxxxxx.yyyyy@ruhr-uni-bochum.de"]
  "I am out of the office until Monday.";
