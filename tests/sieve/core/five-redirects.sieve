# 5 redirects: over Pigeonhole's 4-redirect limit.
redirect "user0@example.net";
redirect "user1@example.net";
redirect "user2@example.net";
redirect "user3@example.net";
redirect "user4@example.net";
