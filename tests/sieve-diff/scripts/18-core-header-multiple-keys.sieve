# Several header names and several keys; first match wins.
require ["fileinto"];
if header :contains ["To", "Cc", "X-Mailing-List"] ["cypherpunks", "fork@", "ilug@"] {
  fileinto "Lists";
} else {
  keep;
}
