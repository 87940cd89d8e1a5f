# environment (RFC 5183): the values become the folder name, so that every
# difference in them shows.
require ["environment", "fileinto", "variables", "mailbox"];
set "loc" "none"; set "ph" "none";
if environment :matches "location" "*" { set "loc" "${1}"; }
if environment :matches "phase" "*" { set "ph" "${1}"; }
if header :contains "List-Id" ["razor", "ilug", "exmh"] {
  fileinto :create "Env.${loc}.${ph}";
}
