require "include";
include :optional "include-nonexistent";
discard;
