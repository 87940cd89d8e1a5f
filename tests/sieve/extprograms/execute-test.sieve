require "vnd.dovecot.execute";
if execute "nothere" { discard; }
