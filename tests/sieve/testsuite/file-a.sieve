require ["fileinto", "mailbox"];
fileinto :create "A";
