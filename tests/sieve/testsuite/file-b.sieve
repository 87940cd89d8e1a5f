require ["fileinto", "mailbox"];
fileinto :create "B";
