# Flags held in a user variable.
require ["imap4flags", "variables", "fileinto"];
set "f" "";
if header :contains "From" ["hotmail", "yahoo"] { addflag "f" "Junk"; }
if size :over 10K { addflag "f" "\\Flagged"; }
if hasflag "f" ["Junk"] {
  fileinto :flags "${f}" "Junk";
} else {
  keep :flags "${f}";
}
