require ["include", "fileinto"];
include "include-a";
include :global "include-g";
fileinto "M";
