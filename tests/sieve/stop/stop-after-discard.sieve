# RFC 5228 3.3
discard;
stop;
keep;
redirect "a@example.net";
