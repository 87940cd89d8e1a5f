require "vnd.dovecot.pipe";
pipe :copy "archive";
