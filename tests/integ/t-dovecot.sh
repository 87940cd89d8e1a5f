#!/bin/sh
# t-dovecot.sh - Dovecot reads the Maildir++ that `sluice deliver` writes.
#
# Delivers the example messages and a fixed subset of the SpamAssassin
# corpus into INBOX and into -m folders (a flat deep one and a non-ASCII
# one), both as the user (as Postfix's local(8) runs mailbox_command) and
# from root with -d. Then checks the files on disk, starts a scratch
# Dovecot whose config includes exactly examples/dovecot/10-mail.conf, and
# checks with doveadm and over IMAP (Python's imaplib) that Dovecot sees
# the same folders, subscriptions, message counts, sizes and bytes, and
# logs no error or warning.
#
# Run by `make check`, or by hand as root:
#   SLUICE=BUILDDIR/sluice TOP_SRCDIR=SRCDIR sh SRCDIR/tests/integ/t-dovecot.sh

# $BOXES and $FOLDERS are word lists, split on purpose.
# shellcheck disable=SC2086

. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"

need_root
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE (build it first)"
for t in dovecot doveadm python3 setpriv; do
	command -v "$t" >/dev/null 2>&1 ||
	    bail "$t not found (tests/install-deps.sh test installs it)"
done
for u in dovecot dovenull; do
	getent passwd "$u" >/dev/null 2>&1 ||
	    bail "system user $u missing (installed with dovecot-core)"
done
DOVECOT_SNIPPET="$TOP_SRCDIR/examples/dovecot/10-mail.conf"
[ -r "$DOVECOT_SNIPPET" ] || bail "cannot read $DOVECOT_SNIPPET"

ensure_user
scratch
TAB=$(printf '\t')

# The user's home for this test is a scratch directory, so that parallel
# tests using the same account never see these mailboxes. Deliveries as the
# user find it through HOME (the default maildir ~/Maildir); deliveries
# with -d, which take the home from the passwd entry, get --maildir; and
# Dovecot's passwd-file names it as the home.
MHOME="$SCRATCH/home"
MAILDIR="$MHOME/Maildir"
{ mkdir "$MHOME" && chown "$TEST_UID:$TEST_GID" "$MHOME" && chmod 700 "$MHOME"; } ||
    bail "cannot create $MHOME"
# shellcheck disable=SC2034 # read by as_user in lib.sh
TEST_HOME="$MHOME"
SCONF="$SCRATCH/sluice.conf"	# empty: the built-in defaults, nothing from /etc
{ : >"$SCONF" && chmod 644 "$SCONF"; } || bail "cannot write $SCONF"

# Folders as given to -m (on disk: .Lists.exmh .Junk .Entw&APw-rfe
# .Archive.2026.Q4). Lists of names without blanks, split on purpose.
FOLDERS="Lists.exmh Junk Entwürfe Archive.2026.Q4"
BOXES="INBOX $FOLDERS"

# --- the messages ------------------------------------------------------------
n_samples=0
for f in "$TOP_SRCDIR"/examples/messages/*.eml; do
	[ -f "$f" ] && n_samples=$((n_samples + 1))
done
[ "$n_samples" -ge 4 ] || bail "expected at least 4 examples/messages/*.eml, found $n_samples"
corpus_files >"$SCRATCH/corpus.all" 2>"$SCRATCH/corpus.err" ||
    bail "cannot fetch the SpamAssassin corpus: $(head -3 "$SCRATCH/corpus.err")"
# A fixed subset: every 30th file of the sorted list.
awk 'NR % 30 == 1' "$SCRATCH/corpus.all" >"$SCRATCH/corpus.sub"
n_corpus=$(grep -c . "$SCRATCH/corpus.sub")
[ "$n_corpus" -ge 150 ] || bail "corpus subset has only $n_corpus messages"
diag "corpus subset: $n_corpus of $(grep -c . "$SCRATCH/corpus.all") files"

# The manifest: BOX<TAB>MODE<TAB>FILE, one line per delivery. Each sample
# goes into every box; corpus file i into box i%5, delivered as the user
# when (i/5) is even and with -d otherwise, so every box gets both ways.
MANIFEST="$SCRATCH/manifest"
: >"$MANIFEST"
i=0
for f in "$TOP_SRCDIR"/examples/messages/*.eml; do
	for b in $BOXES; do
		if [ $((i % 2)) -eq 0 ]; then m=user; else m=root; fi
		printf '%s\t%s\t%s\n' "$b" "$m" "$f" >>"$MANIFEST"
		i=$((i + 1))
	done
done
i=0
while IFS= read -r f; do
	set -- $BOXES
	shift $((i % 5))
	if [ $((i / 5 % 2)) -eq 0 ]; then m=user; else m=root; fi
	printf '%s\t%s\t%s\n' "$1" "$m" "$f" >>"$MANIFEST"
	i=$((i + 1))
done <"$SCRATCH/corpus.sub"
n_total=$(grep -c . "$MANIFEST")

# deliver BOX MODE FILE
deliver() {
	fopt=""
	[ "$1" = INBOX ] || fopt="-m"
	if [ "$2" = user ]; then
		# As Postfix's local(8): the user's uid, HOME, no -d.
		as_user "$SLUICE" deliver -c "$SCONF" -f sender@example.org \
		    ${fopt:+"$fopt"} ${fopt:+"$1"} <"$3"
	else
		"$SLUICE" deliver -d "$TEST_USER" -c "$SCONF" --maildir "$MAILDIR" \
		    ${fopt:+"$fopt"} ${fopt:+"$1"} <"$3"
	fi
}

: >"$SCRATCH/deliver.fail"
while IFS="$TAB" read -r b m f; do
	deliver "$b" "$m" "$f" >"$SCRATCH/deliver.out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		printf '%s\t%s\t%s\trc=%s %s\n' "$b" "$m" "$f" "$rc" \
		    "$(head -c 300 "$SCRATCH/deliver.out" | tr '\n' ' ')" \
		    >>"$SCRATCH/deliver.fail"
	fi
done <"$MANIFEST"
for b in $BOXES; do
	for m in user root; do
		n=$(awk -F "$TAB" -v b="$b" -v m="$m" '$1 == b && $2 == m' "$MANIFEST" | grep -c .)
		nf=$(awk -F "$TAB" -v b="$b" -v m="$m" '$1 == b && $2 == m' "$SCRATCH/deliver.fail" | grep -c .)
		awk -F "$TAB" -v b="$b" -v m="$m" '$1 == b && $2 == m { print "# " $0 }' \
		    "$SCRATCH/deliver.fail" | head -5
		if [ "$m" = user ]; then how="as the user"; else how="from root with -d"; fi
		[ "$n" -gt 0 ] && [ "$nf" -eq 0 ]
		ok $? "deliver $n messages into $b $how: every one exits 0"
	done
done
is "$(grep -c . "$SCRATCH/deliver.fail")" 0 "all $n_total deliveries exit 0"

# tap_from FILE: a helper's result lines, "ok<TAB>DESC", "not ok<TAB>DESC"
# or "# diagnostic", as TAP lines of this file; anything else (a Python
# traceback) becomes a diagnostic, and the helper's exit status its own
# test line.
tap_from() {
	[ -s "$1" ] || { ok 1 "helper output $1 is empty"; return; }
	while IFS="$TAB" read -r st desc; do
		case "$st" in
		ok) ok 0 "$desc" ;;
		"not ok") ok 1 "$desc" ;;
		"#"*) echo "$st${desc:+ $desc}" ;;
		*) echo "# $st${desc:+ $desc}" ;;	# e.g. a traceback
		esac
	done <"$1"
}

# --- the Maildir on disk, before Dovecot has touched it ----------------------
# Also writes expect.json (per box: count, sorted [S, W] list) for the
# Dovecot and IMAP checks, and a copy of every message without ,S=,W= in
# cmp/ for Dovecot to compute the sizes on its own.
CMP="$SCRATCH/cmp"
python3 - "$MANIFEST" "$MAILDIR" "$SCRATCH/expect.json" "$CMP" \
    >"$SCRATCH/fs.res" 2>&1 <<'EOF'
import collections, hashlib, json, os, re, shutil, sys

manifest, root, expect_path, cmp_root = sys.argv[1:5]
boxes = ["INBOX", "Lists.exmh", "Junk", "Entwürfe", "Archive.2026.Q4"]
mutf7 = {"INBOX": "", "Lists.exmh": ".Lists.exmh", "Junk": ".Junk",
         "Entwürfe": ".Entw&APw-rfe", "Archive.2026.Q4": ".Archive.2026.Q4"}

def res(good, desc):
    print("%s\t%s" % ("ok" if good else "not ok", desc))

def stored(data):
    """The bytes sluice must store: no From_ line, CRLF as LF."""
    if data.startswith(b"From "):
        nl = data.find(b"\n")
        data = b"" if nl < 0 else data[nl + 1:]
    return data.replace(b"\r\n", b"\n")

def vsize(data):
    """Dovecot's virtual size: every LF not after a CR counts as CRLF."""
    return len(data) + len(re.findall(rb"(?<!\r)\n", data))

want = {b: collections.Counter() for b in boxes}
want_sizes = {b: [] for b in boxes}
for line in open(manifest, encoding="utf-8"):
    b, mode, path = line.rstrip("\n").split("\t")
    data = stored(open(path, "rb").read())
    want[b][hashlib.sha256(data).hexdigest()] += 1
    want_sizes[b].append([len(data), vsize(data)])

top = sorted(os.listdir(root))
res(top == sorted(["cur", "new", "tmp", "subscriptions"] +
                  [mutf7[b] for b in boxes[1:]]),
    "Maildir holds tmp new cur subscriptions and exactly the 4 folders "
    "(no .Lists, .Archive, .Archive.2026 parents; UTF-8 name as .Entw&APw-rfe)")
if top != sorted(["cur", "new", "tmp", "subscriptions"] +
                 [mutf7[b] for b in boxes[1:]]):
    print("#\tgot: %r" % top)

try:
    subs = open(os.path.join(root, "subscriptions"), "rb").read()
except OSError as e:
    subs = b""
    print("#\t%s" % e)
lines = subs.split(b"\n")
want_subs = sorted(mutf7[b][1:].replace(".", "\t").encode() for b in boxes[1:])
res(lines[:2] == [b"V\t2", b""] and subs.endswith(b"\n") and
    sorted(l for l in lines[2:] if l) == want_subs,
    "subscriptions is Dovecot's V2 format and lists exactly the -m folders")
if not (lines[:2] == [b"V\t2", b""] and
        sorted(l for l in lines[2:] if l) == want_subs):
    print("#\tgot: %r" % subs)

name_re = re.compile(r"^(\d+)\.M(\d+)P(\d+)(?:Q\d+)?\.([^,/:]+),S=(\d+),W=(\d+)$")
expect = {}
for b in boxes:
    d = os.path.join(root, mutf7[b])
    n_want = sum(want[b].values())
    try:
        files = sorted(os.listdir(os.path.join(d, "new")))
    except OSError as e:
        files = []
        print("#\t%s" % e)
    res(n_want > 0 and len(files) == n_want,
        "%s: new/ holds the %d messages delivered (got %d)" % (b, n_want, len(files)))
    try:
        extra = os.listdir(os.path.join(d, "tmp")) + os.listdir(os.path.join(d, "cur"))
    except OSError as e:
        extra = [str(e)]
    res(not extra, "%s: tmp/ and cur/ exist and are empty" % b)
    if extra:
        print("#\t%r" % extra[:5])
    mf = os.path.exists(os.path.join(d, "maildirfolder"))
    res(mf == (b != "INBOX"), "%s: maildirfolder %s" %
        (b, "present" if b != "INBOX" else "absent (INBOX is the root)"))
    bad_names, bad_s, bad_w = [], [], []
    got = collections.Counter()
    for f in files:
        p = os.path.join(d, "new", f)
        data = open(p, "rb").read()
        got[hashlib.sha256(data).hexdigest()] += 1
        m = name_re.match(f)
        if not m:
            bad_names.append(f)
            continue
        s, w = int(m.group(5)), int(m.group(6))
        if s != len(data) or s != os.stat(p).st_size:
            bad_s.append("%s (%d bytes)" % (f, len(data)))
        if w != vsize(data):
            bad_w.append("%s (CRLF size %d)" % (f, vsize(data)))
        # Copy for Dovecot's own size computation, without S= and W=.
        cd = os.path.join(cmp_root, mutf7[b])
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(cd, sub), exist_ok=True)
        shutil.copyfile(p, os.path.join(cd, "new", f.split(",")[0]))
    res(files and not bad_names,
        "%s: file names are TIME.MusecPpid.HOST,S=size,W=vsize" % b)
    for x in bad_names[:3]:
        print("#\tbad name: %s" % x)
    res(files and not bad_s, "%s: S= equals the stored byte count" % b)
    for x in bad_s[:3]:
        print("#\tS= mismatch: %s" % x)
    res(files and not bad_w, "%s: W= equals the size with CRLF line ends" % b)
    for x in bad_w[:3]:
        print("#\tW= mismatch: %s" % x)
    res(n_want > 0 and got == want[b],
        "%s: stored bytes are the input less the From_ line, CRLF as LF" % b)
    if got != want[b]:
        print("#\t%d stored messages match no input, %d inputs not found" %
              (sum((got - want[b]).values()), sum((want[b] - got).values())))
    # Sizes computed from the input, not taken from the file names.
    expect[b] = {"count": n_want, "sizes": sorted(want_sizes[b])}
json.dump(expect, open(expect_path, "w"), ensure_ascii=False)
EOF
rc=$?
tap_from "$SCRATCH/fs.res"
ok "$rc" "on-disk checker ran to the end"
chown -R "$TEST_UID:$TEST_GID" "$CMP" 2>/dev/null

# --- a scratch Dovecot ---------------------------------------------------------
port_free() {
	python3 -c 'import socket,sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}
PORT=$((10143 + $$ % 1000))
tries=0
until port_free "$PORT"; do
	tries=$((tries + 1))
	[ "$tries" -lt 50 ] || bail "no free loopback port near $PORT"
	PORT=$((PORT + 1))
done

DV="$SCRATCH/dovecot"
DCONF="$DV/dovecot.conf"
DLOG="$DV/dovecot.log"
PASS=sluice-test-pw
mkdir -p "$DV" || bail "cannot create $DV"
printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$TEST_USER" "$PASS" "$TEST_UID" \
    "$TEST_GID" "$MHOME" >"$DV/users"
cat >"$DCONF" <<EOF
# Scratch Dovecot for t-dovecot.sh: the shipped snippet, plus what it takes
# to run a private instance on loopback.
!include $DOVECOT_SNIPPET

base_dir = $DV/run
state_dir = $DV/state
log_path = $DLOG
ssl = no
listen = 127.0.0.1
protocols = imap
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = dovecot
default_login_user = dovenull

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DV/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $DV/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
DOVECOT_PID=""
stop_dovecot() {
	[ -n "$DOVECOT_PID" ] || return 0
	kill "$DOVECOT_PID" 2>/dev/null
	n=0
	while kill -0 "$DOVECOT_PID" 2>/dev/null && [ "$n" -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	DOVECOT_PID=""
}
on_exit stop_dovecot

dovecot -c "$DCONF" >"$DV/start.out" 2>&1 ||
    bail "dovecot -c $DCONF failed: $(head -3 "$DV/start.out" "$DLOG" 2>/dev/null | tr '\n' ' ')"
n=0
while ! [ -s "$DV/run/master.pid" ] || port_free "$PORT"; do
	n=$((n + 1))
	[ "$n" -lt 100 ] || bail "dovecot did not come up on 127.0.0.1:$PORT: $(tail -3 "$DLOG" 2>/dev/null | tr '\n' ' ')"
	sleep 0.1
done
DOVECOT_PID=$(cat "$DV/run/master.pid")
diag "dovecot pid $DOVECOT_PID on 127.0.0.1:$PORT, log $DLOG"

DA() { doveadm -c "$DCONF" "$@"; }

# doveadm prints its own errors on stderr, not in log_path: keep them.
DA force-resync -u "$TEST_USER" '*' >"$DV/resync.out" 2>&1
ok $? "doveadm force-resync '*' exits 0"
is "$(cat "$DV/resync.out")" "" "doveadm force-resync prints nothing"

# Maildir++ is flat: Dovecot lists the missing parents of Archive.2026.Q4
# too (as \Noselect, see the IMAP check), exactly as for a folder it
# created itself.
DA mailbox list -u "$TEST_USER" >"$DV/list.out" 2>"$DV/list.err"
ok $? "doveadm mailbox list exits 0"
is "$(sort "$DV/list.out" | tr '\n' ' ')" \
    "$(printf '%s\n' $BOXES Archive Archive.2026 Lists | sort | tr '\n' ' ')" \
    "doveadm mailbox list: the 5 boxes (Entwürfe decoded) plus the parents Archive, Archive.2026, Lists"
is "$(cat "$DV/list.err")" "" "doveadm mailbox list prints no error"

DA mailbox list -s -u "$TEST_USER" >"$DV/lsub.out" 2>&1
ok $? "doveadm mailbox list -s exits 0"
is "$(sort "$DV/lsub.out" | tr '\n' ' ')" \
    "$(printf '%s\n' $FOLDERS | sort | tr '\n' ' ')" \
    "doveadm mailbox list -s: exactly the -m folders are subscribed"

for b in $BOXES; do
	want=$(awk -F "$TAB" -v b="$b" '$1 == b' "$MANIFEST" | grep -c .)
	got=$(DA mailbox status -u "$TEST_USER" messages "$b" 2>&1)
	is "$got" "$b messages=$want" "doveadm mailbox status: $b has $want messages"
done

DA -f tab fetch -u "$TEST_USER" 'mailbox size.physical size.virtual' ALL \
    >"$DV/fetch.out" 2>"$DV/fetch.err"
ok $? "doveadm fetch size.physical size.virtual ALL exits 0"
is "$(cat "$DV/fetch.err")" "" "doveadm fetch sizes prints no error"
# Dovecot also computes the sizes itself: the same messages, copied
# without S=/W= into cmp/, read with in-memory indexes.
DA -o "mail_location=maildir:$CMP:INDEX=MEMORY" -f tab fetch -u "$TEST_USER" \
    'mailbox size.physical size.virtual' ALL >"$DV/fetch-cmp.out" 2>"$DV/fetch-cmp.err"
ok $? "doveadm fetch sizes of the copies without S=/W= exits 0"
is "$(cat "$DV/fetch-cmp.err")" "" "doveadm fetch sizes of the copies prints no error"

python3 - "$SCRATCH/expect.json" "$DV/fetch.out" "$DV/fetch-cmp.out" \
    >"$DV/fetch.res" 2>&1 <<'EOF'
import json, sys
expect = json.load(open(sys.argv[1], encoding="utf-8"))

def table(path):
    rows = open(path, encoding="utf-8").read().split("\n")
    if rows[0] != "mailbox\tsize.physical\tsize.virtual":
        print("#\tunexpected header %r" % rows[0])
    got = {}
    for r in rows[1:]:
        if r:
            box, p, v = r.split("\t")
            got.setdefault(box, []).append([int(p), int(v)])
    return {b: sorted(v) for b, v in got.items()}

for path, what in ((sys.argv[2], "as given by S=/W="),
                   (sys.argv[3], "computed by Dovecot from the bytes")):
    got = table(path)
    extra = sorted(set(got) - set(expect))
    print("%s\tdoveadm fetch (%s) lists messages in the 5 boxes only"
          % ("not ok" if extra else "ok", what))
    if extra:
        print("#\tother boxes: %r" % extra)
    for b, e in expect.items():
        g = got.get(b, [])
        good = len(e["sizes"]) == e["count"] > 0 and g == e["sizes"]
        print("%s\t%s: size.physical and size.virtual of all %d messages "
              "equal the sizes of the input (%s)"
              % ("ok" if good else "not ok", b, e["count"], what))
        if not good:
            diff = [x for x in g if x not in e["sizes"]][:3]
            print("#\tgot %d, want %d; e.g. got %r" % (len(g), e["count"], diff))
EOF
rc=$?
tap_from "$DV/fetch.res"
ok "$rc" "doveadm size checker ran to the end"

# The CRLF sample, as Dovecot returns it: the input modulo line ends.
CRLF_SAMPLE="$TOP_SRCDIR/examples/messages/02-crlf-mime.eml"
CRLF_ID=$(sed -n 's/^Message-ID: *<\([^>]*\)>.*/\1/p' "$CRLF_SAMPLE" | tr -d '\r' | head -1)
[ -n "$CRLF_ID" ] || bail "no Message-ID in $CRLF_SAMPLE"
DA fetch -u "$TEST_USER" text mailbox INBOX header Message-ID "$CRLF_ID" \
    >"$DV/text.out" 2>"$DV/text.err"
ok $? "doveadm fetch text of the CRLF sample exits 0"
python3 - "$CRLF_SAMPLE" "$DV/text.out" >"$DV/text.res" 2>&1 <<'EOF'
import sys
src = open(sys.argv[1], "rb").read()
want = src[src.index(b"\n") + 1:].replace(b"\r\n", b"\n")
out = open(sys.argv[2], "rb").read()
# The pager formatter: "text:\n" VALUE, ending in a newline.
if not want.endswith(b"\n"):
    want += b"\n"
good = (src.startswith(b"From ") and b"\r\n" in src and
        out == b"text:\n" + want)
print("%s\tdoveadm fetch text: the CRLF sample's bytes equal the input "
      "(less From_) modulo line ends" % ("ok" if good else "not ok"))
if not good:
    got = out[len(b"text:\n"):]
    i = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]),
             min(len(got), len(want)))
    print("#\tgot %d bytes, want %d; first difference at %d: got %r want %r"
          % (len(got), len(want), i, got[i:i + 40], want[i:i + 40]))
EOF
tap_from "$DV/text.res"

# --- IMAP ----------------------------------------------------------------------
python3 - "$PORT" "$TEST_USER" "$PASS" "$SCRATCH/expect.json" "$CRLF_SAMPLE" \
    "$CRLF_ID" >"$DV/imap.res" 2>&1 <<'EOF'
import base64, imaplib, json, re, sys

port, user, pw, expect_path, crlf_path, crlf_id = sys.argv[1:7]
expect = json.load(open(expect_path, encoding="utf-8"))
mutf7 = {"INBOX": "INBOX", "Lists.exmh": "Lists.exmh", "Junk": "Junk",
         "Entwürfe": "Entw&APw-rfe", "Archive.2026.Q4": "Archive.2026.Q4"}

def res(good, desc):
    print("%s\t%s" % ("ok" if good else "not ok", desc))

def mutf7_decode(s):
    def dec(m):
        if m.group(1) == "":
            return "&"
        b = m.group(1).replace(",", "/")
        return base64.b64decode(b + "=" * (-len(b) % 4)).decode("utf-16-be")
    return re.sub(r"&([A-Za-z0-9+,]*)-", dec, s)

list_re = re.compile(rb'^\(([^)]*)\) (?:"."|NIL) (.+)$')
def parse_list(data):
    out = {}
    for line in data:
        if line is None:
            continue
        m = list_re.match(line)
        if not m:
            print("#\tunparsed LIST line %r" % line)
            continue
        name = m.group(2).decode()
        if name.startswith('"'):
            name = name[1:-1]
        out[name] = m.group(1).decode().split()
    return out

try:
    M = imaplib.IMAP4("127.0.0.1", int(port))
except Exception as e:
    res(False, "connect to 127.0.0.1:%s: %s" % (port, e))
    sys.exit(1)
typ, _ = M.login(user, pw)
res(typ == "OK", "IMAP LOGIN as %s" % user)

typ, data = M.list('""', "*")
boxes = parse_list(data) if typ == "OK" else {}
selectable = sorted(n for n, f in boxes.items() if "\\Noselect" not in f
                    and "\\NonExistent" not in f)
parents = sorted(n for n, f in boxes.items() if n not in selectable)
res(typ == "OK" and selectable == sorted(mutf7.values()),
    "IMAP LIST: exactly the 5 boxes are selectable")
if selectable != sorted(mutf7.values()):
    print("#\tgot %r" % selectable)
res(parents == ["Archive", "Archive.2026", "Lists"],
    "IMAP LIST: the flat parents Archive, Archive.2026, Lists are \\Noselect")
if parents != ["Archive", "Archive.2026", "Lists"]:
    print("#\tgot %r" % {n: boxes[n] for n in parents})
res("Entw&APw-rfe" in boxes and mutf7_decode("Entw&APw-rfe") == "Entwürfe",
    "IMAP LIST: Entw&APw-rfe is listed and decodes to Entwürfe")

for b, e in expect.items():
    name = mutf7[b]
    typ, data = M.select('"%s"' % name, readonly=False)
    exists = int(data[0]) if typ == "OK" else -1
    res(typ == "OK" and exists == e["count"] > 0,
        "IMAP SELECT %s: EXISTS %d (want %d)" % (name, exists, e["count"]))
    sizes, flags_ok, n = [], True, 0
    if exists > 0:
        typ, data = M.fetch("1:*", "(FLAGS RFC822.SIZE)")
        for item in data if typ == "OK" else []:
            if isinstance(item, tuple):
                item = item[0]
            m = re.search(rb"FLAGS \(([^)]*)\)", item)
            s = re.search(rb"RFC822\.SIZE (\d+)", item)
            if not m or not s:
                print("#\tunparsed FETCH %r" % item)
                flags_ok = False
                continue
            n += 1
            sizes.append(int(s.group(1)))
            if set(m.group(1).split()) - {b"\\Recent"}:
                flags_ok = False
                print("#\tflags %r" % m.group(1))
    want = sorted(w for s, w in e["sizes"])
    res(n == e["count"] and sorted(sizes) == want,
        "IMAP FETCH 1:* RFC822.SIZE in %s: %d sizes equal the input's CRLF sizes"
        % (name, n))
    res(n == e["count"] and flags_ok,
        "IMAP FETCH 1:* FLAGS in %s: no flags but \\Recent" % name)
    if b == "INBOX":
        typ, data = M.search(None, "HEADER", "Message-ID", crlf_id)
        nums = data[0].split() if typ == "OK" else []
        body = b""
        if len(nums) == 1:
            typ, data = M.fetch(nums[0], "(BODY.PEEK[])")
            body = data[0][1] if typ == "OK" else b""
        src = open(crlf_path, "rb").read()
        res(len(nums) == 1 and body == src[src.index(b"\n") + 1:],
            "IMAP BODY[] of the CRLF sample equals its input less the From_ line")
    M.close()

typ, data = M.lsub('""', "*")
subs = sorted(parse_list(data)) if typ == "OK" else []
want = sorted(mutf7[b] for b in expect if b != "INBOX")
res(typ == "OK" and subs == want, "IMAP LSUB: exactly the -m folders")
if subs != want:
    print("#\tgot %r" % subs)
typ, _ = M.logout()
res(typ == "BYE", "IMAP LOGOUT")
EOF
rc=$?
tap_from "$DV/imap.res"
ok "$rc" "IMAP checker ran to the end"

# --- delivering into a Maildir Dovecot has indexed ------------------------------
# Dovecot has now moved the messages to cur/ and written dovecot-uidlist
# and its indexes; sluice must add to that without touching Dovecot's files.
dovecot_files() {
	(cd "$MAILDIR" && find . -name 'dovecot*' -type f | sort |
	    while IFS= read -r f; do cksum "$f"; done)
}
dovecot_files >"$DV/files.before"
grep -q ' \./dovecot-uidlist$' "$DV/files.before" &&
    grep -q ' \./\.Junk/dovecot-uidlist$' "$DV/files.before"
ok $? "Dovecot has written dovecot-uidlist in INBOX and Junk"
cp "$MAILDIR/subscriptions" "$DV/subscriptions.before"
LATE="$TOP_SRCDIR/examples/messages/01-plain.eml"
deliver INBOX user "$LATE" >"$DV/late.out" 2>&1 &&
    deliver Junk root "$LATE" >>"$DV/late.out" 2>&1
ok $? "deliver into INBOX (as the user) and Junk (-d) after Dovecot indexed them"
sed 's/^/#   /' "$DV/late.out" | head -5
dovecot_files >"$DV/files.after"
cmp -s "$DV/files.before" "$DV/files.after"
ok $? "sluice left dovecot-uidlist and Dovecot's index files untouched"
cmp -s "$DV/subscriptions.before" "$MAILDIR/subscriptions"
ok $? "subscribing an already subscribed folder leaves subscriptions unchanged"
for b in INBOX Junk; do
	want=$(awk -F "$TAB" -v b="$b" '$1 == b' "$MANIFEST" | grep -c .)
	want=$((want + 1))
	got=$(DA mailbox status -u "$TEST_USER" messages "$b" 2>&1)
	is "$got" "$b messages=$want" "doveadm mailbox status: $b now has $want messages"
done

# --- Dovecot's log -------------------------------------------------------------
[ -s "$DLOG" ] && grep -q 'Login: user=<'"$TEST_USER"'>' "$DLOG"
ok $? "Dovecot's log records the IMAP login (the log is the one checked)"
grep -E ': (Error|Warning|Panic|Fatal):' "$DLOG" >"$DV/log.bad"
is "$(grep -c . "$DV/log.bad")" 0 "Dovecot's log has no Error, Warning, Panic or Fatal line"
sed 's/^/#   /' "$DV/log.bad" | head -10

pid=$DOVECOT_PID
stop_dovecot
! kill -0 "$pid" 2>/dev/null
ok $? "dovecot (pid $pid) stops"

done_testing
