require ["include", "variables", "fileinto"];
global "g";
fileinto "sub-${g}-${local}";
set "g" "two";
set "global.h" "H";
