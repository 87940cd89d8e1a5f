# include :global, :once, and a global variable shared with it.
require ["include", "variables"];
global "junkbox";
set "junkbox" "Junk";
include :global "spam-junk";
include :global :once "spam-junk";
