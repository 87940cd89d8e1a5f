require "vnd.dovecot.execute";
execute "nothere";
