require "envelope";
if envelope "frop" "x" { keep; }
