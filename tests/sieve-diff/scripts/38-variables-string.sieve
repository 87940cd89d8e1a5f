# set modifiers and the string test.
require ["variables", "fileinto", "relational", "comparator-i;ascii-numeric"];
set "subj" "";
if header :matches "Subject" "*" { set :lower "subj" "${1}"; }
set :length "len" "${subj}";
if string :value "gt" :comparator "i;ascii-numeric" "${len}" "60" {
  fileinto "LongSubject";
} elsif string :contains "${subj}" "re:" {
  fileinto "Replies";
}
