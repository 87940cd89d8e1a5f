# valid_notify_method and notify_method_capability; the method URI comes
# from the message, so some are invalid.
require ["enotify", "fileinto", "variables"];
if address :all :matches "from" "*" { set "uri" "mailto:${1}"; }
if header :contains "From" "<" { set "uri" "mailto:<bad>"; }
if valid_notify_method "${uri}" {
  if notify_method_capability "${uri}" "online" "maybe" {
    fileinto "NotifyMaybe";
  }
}
