# vacation-seconds (RFC 6131), with :from and :handle.
require ["vacation-seconds"];
if not exists "List-Id" {
  vacation :seconds 7200 :from "Office <office@example.org>" :handle "trip"
    :addresses ["zzzz@localhost.netnoteinc.com", "yyyy@spamassassin.taint.org", "zzzz@spamassassin.taint.org", "zzzzz@gmx.de", "aeriksson@fastmail.fm", "joe@barrera.org", "lrivers@realsoftware.com", "deafbox@hotmail.com", "colm@tuatha.org", "manny@ccsun37.cc.ntu.edu.tw", "webmaster@efi.ie", "thecashsystem@firemail.de", "xxxxxx.yyyyy@ruhr-uni-bochum.de"]
    "Back in two hours.";
}
