require ["reject", "fileinto"];
fileinto "Junk";
reject "no";
