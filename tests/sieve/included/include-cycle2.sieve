require "include";
include "include-cycle";
