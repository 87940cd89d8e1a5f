redirect :copy "a@example.net";
