# virustest: 1 clean, 5 infected, 0 not scanned.
require ["virustest", "relational", "comparator-i;ascii-numeric", "fileinto"];
if virustest :value "eq" :comparator "i;ascii-numeric" "5" {
  discard;
} elsif virustest :value "eq" :comparator "i;ascii-numeric" "0" {
  fileinto "Unscanned";
}
