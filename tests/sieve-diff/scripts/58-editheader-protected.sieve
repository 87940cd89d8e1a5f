# Protected headers cannot be changed: Received/Auto-Submitted and the
# configured X-Sluice-Protected; the attempt is ignored.
require ["editheader"];
deleteheader "Received";
addheader "X-Sluice-Protected" "forged";
addheader "Subject" "[tagged]";
