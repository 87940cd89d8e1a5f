# RFC 5228 2.10.2: no action at all, the implicit keep files into INBOX.
if false { discard; }
