# include :optional of a script that does not exist: no error.
require ["include", "fileinto"];
include :personal :optional "does-not-exist";
if exists "X-Mailing-List" { fileinto "Lists.other"; }
