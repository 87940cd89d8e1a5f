require "vacation-seconds";
vacation :days 1 :seconds 10 "x";
