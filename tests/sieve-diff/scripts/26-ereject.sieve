# ereject: refused at protocol level (exit 77 under deliver), nothing stored.
require ["ereject"];
if size :over 30K {
  ereject "Message too large for this mailbox.";
}
