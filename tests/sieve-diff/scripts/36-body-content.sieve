# body :content "text/html".
require ["body", "fileinto"];
if body :content "text/html" :contains ["click here", "CLICK HERE"] {
  fileinto "Junk";
}
