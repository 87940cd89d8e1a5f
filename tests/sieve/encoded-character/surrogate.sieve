require "encoded-character";
if header :is "x" "${unicode:D800}" { keep; }
