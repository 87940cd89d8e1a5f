require "editheader";
addheader "Bad Name:" "value";
