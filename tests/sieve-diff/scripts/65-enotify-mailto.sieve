# enotify (RFC 5435) with mailto (RFC 5436).
require ["enotify", "variables"];
if header :contains "Subject" ["urgent", "URGENT", "Urgent"] {
  notify :importance "1" :message "Urgent mail: ${subject}" "mailto:pager@example.net";
}
if header :matches "Subject" "*" { set "subject" "${1}"; }
if header :contains "From" "hotmail" {
  notify :from "alerts@example.org" :message "From hotmail" "mailto:me@example.net?subject=hotmail%20mail";
}
