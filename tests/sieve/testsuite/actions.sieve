require ["fileinto"];
fileinto "X";
redirect "a@example.net";
keep;
fileinto "X";
