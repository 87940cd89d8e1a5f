require "include";
keep;
include "include-nonexistent";
