require ["include", "fileinto"];
include :once "include-b";
include :once "include-b";
include "include-b";
