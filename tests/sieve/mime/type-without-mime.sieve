require "mime";
if header :type "Content-Type" "text" { keep; }
