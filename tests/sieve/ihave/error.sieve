require "ihave";
error "custom failure";
keep;
