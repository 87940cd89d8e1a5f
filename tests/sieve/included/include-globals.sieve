require ["include", "variables", "fileinto"];
global "g";
set "g" "one";
set "local" "L";
include "include-globals-sub";
fileinto "${g}-${local}-${global.h}";
