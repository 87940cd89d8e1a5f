require "include";
include "include-cycle2";
