# Included by 45-include-global.sieve (include :global "spam-junk"); the
# folder name comes from the including script's global variable.
require ["include", "variables", "spamtest", "relational",
         "comparator-i;ascii-numeric", "fileinto"];
global "junkbox";
if spamtest :value "ge" :comparator "i;ascii-numeric" "5" {
  fileinto "${junkbox}";
}
