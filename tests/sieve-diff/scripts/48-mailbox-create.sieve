# fileinto :create makes a folder that did not exist.
require ["mailbox", "fileinto", "variables"];
if address :domain :matches "from" "*.*" {
  set :lower "d" "${1}";
  if string :is "${d}" ["hotmail", "yahoo", "aol"] {
    fileinto :create "Freemail.${d}";
  }
}
