#!/bin/sh
# t-hostile.sh - hostile and edge-case input to `sluice deliver`: each one
# must be delivered intact (byte-identical to the input minus a leading
# "From " line, CRLF stored as LF, a lone CR kept), with exit 0, nothing on
# stderr, S= and W= exact, and bounded memory (peak RSS by /usr/bin/time).
# Inputs are generated deterministically (fixed seeds) in a scratch dir;
# each case gets its own Maildir (--maildir) and is checked by
# corpus_check.py --compact, which computes the expected bytes itself.
. "$(dirname "$0")/lib.sh"

need_root
ensure_user
command -v python3 >/dev/null 2>&1 || bail "python3 is needed to generate inputs"
[ -x /usr/bin/time ] || bail "/usr/bin/time is needed to measure peak RSS (Debian package \"time\")"
[ -x "$SLUICE" ] || bail "no sluice binary at $SLUICE"
CHECK="$TOP_SRCDIR/tests/integ/corpus_check.py"	# used by check_maildir (lib.sh)
[ -f "$CHECK" ] || bail "missing $CHECK"
scratch

# Peak RSS bound (KiB) asserted in plain builds; the target is 4 MiB.
RSS_LIMIT_KIB=16384
[ "$SANITIZERS" = yes ] && RSS_LIMIT_KIB=32768	# ASan: shadow + quarantine
RSS_TARGET_KIB=4096
IN="$SCRATCH/in"
mkdir "$IN" || bail "cannot create $IN"

# ---- generate every input (NAME, and NAME.partN for piped ones) ----
python3 - "$IN" <<'EOF' || bail "cannot generate the hostile inputs"
import os, random, sys
d = sys.argv[1]
def put(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
def parts(name, *ps):
    put(name, b"".join(ps))
    for i, p in enumerate(ps, 1):
        put("%s.part%d" % (name, i), p)
K64 = 65536
FROM = b"From sender@example.org  Thu Jan  1 00:00:00 2024\n"
HDR = b"Subject: hostile\nMessage-ID: <h@example.org>\n\n"

put("empty", b"")
rnd = random.Random(20240101)
put("garbage-1m", bytes(rnd.getrandbits(8) for _ in range(1 << 20)))
put("nul-bytes", b"From nul@example.org Thu Jan  1 00:00:00 2024\n"
    b"Subject: a\0b\nX-N\0ul: \0\0\r\n\nbody\0with\0nuls\n\0\n\0")
line = (b"abcdefghijklmnopqrstuvwxyz0123456789" * 300000)[:10 * 1024 * 1024]
put("header-line-10m", FROM + b"X-Long: " + line + b"\nSubject: after\n\nbody\n")
put("headers-100k", b"".join(b"X-Header-%d: value %d\n" % (i, i)
                             for i in range(100000)) + b"\nbody\n")
depth = 1000
m = [b"Subject: deep\nMIME-Version: 1.0\n"]
for i in range(depth):
    m.append(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i))
m.append(b"Content-Type: text/plain\n\nleaf\n")
for i in reversed(range(depth)):
    m.append(b"--b%d--\n" % i)
put("mime-nested-1000", b"".join(m))

# 100 MiB (plus a little): From_ line, CRLF header, body lines of random
# length with LF, CRLF or a lone CR, so CRs land on many 64 KiB boundaries.
rnd = random.Random(7)
blk = []
size = 0
while size < 1000003:
    n = rnd.randrange(0, 200)
    end = rnd.choice([b"\n", b"\n", b"\r\n", b"\r"])
    l = bytes(rnd.randrange(32, 127) for _ in range(min(n, 40))) * (n // 40 + 1)
    l = l[:n] + end
    blk.append(l)
    size += len(l)
blk = b"".join(blk)
with open(os.path.join(d, "big-100m"), "wb") as f:
    f.write(FROM + b"Subject: big\r\nMessage-ID: <big@example.org>\r\n\r\n")
    for i in range(100 * 1024 * 1024 // len(blk) + 1):
        f.write(b"block %d\r\n" % i)
        f.write(blk)

put("from-line-only", FROM)
put("from-line-only-no-lf", FROM.rstrip(b"\n"))
put("from-line-only-crlf", FROM.replace(b"\n", b"\r\n"))
put("from-5-bytes", b"From ")
put("from-4-bytes", b"From")
put("from-line-100k", b"From " + b"x" * 100000 + b" Thu Jan  1 00:00:00 2024\n" + HDR + b"body\n")
put("from-in-body-kept", FROM + HDR + b"From me, a body line\n>From quoted\n")
put("quoted-from-kept", b">From not-a-separator\n" + HDR + b"body\n")
put("no-trailing-newline", FROM + HDR + b"last line without newline")
put("lone-cr", b"\r\nSubject: lone CR\r\n\r\nline1\rline2\r\r\nx\r\r\r\nend\r")
put("crlf-only", b"Subject: crlf\r\n\r\n" + b"line\r\n" * 1000)

# CR at a 64 KiB boundary. stdin is a file, so read() returns 64 KiB
# blocks of the input; the output is flushed in 64 KiB blocks of the
# stored stream (after the From_ line).
def pad_to(prefix, off, tail):
    """prefix + filler lines so that tail starts at input offset off"""
    n = off - len(prefix)
    filler = (b"x" * 99 + b"\n") * (n // 100)
    filler += b"y" * (n - len(filler))
    assert len(prefix + filler) == off
    return prefix + filler + tail
put("crlf-at-read-boundary", pad_to(HDR, K64 - 1, b"\r\nafter\n"))
put("crlf-at-read-boundary-from", pad_to(FROM + HDR, K64 - 1, b"\r\nafter\n"))
put("crlf-at-stored-boundary-from",
    pad_to(FROM + HDR, len(FROM) + K64 - 1, b"\r\nafter\n"))
put("crlf-at-2nd-read-boundary", pad_to(FROM + HDR, 2 * K64 - 1, b"\r\nafter\n"))
put("lone-cr-at-read-boundary", pad_to(HDR, K64 - 1, b"\rafter\n"))
put("cr-cr-lf-at-read-boundary", pad_to(HDR, K64 - 2, b"\r\r\nafter\n"))
put("from-line-ends-at-boundary",
    pad_to(b"From ", K64 - 1, b"\n" + HDR + b"body\r\n"))
put("from-line-crlf-at-boundary",
    pad_to(b"From ", K64 - 1, b"\r\n" + HDR + b"body\r\n"))
put("cr-last-byte-at-boundary", pad_to(HDR, K64 - 1, b"\r"))
put("cr-last-byte-after-boundary", pad_to(HDR, K64, b"\r"))
put("lf-first-after-boundary", pad_to(HDR, K64, b"\nafter\n"))

# The 100 MiB message again, through a pipe (as local(8) feeds it).
os.symlink("big-100m", os.path.join(d, "big-100m-pipe"))
put("big-100m-pipe.viapipe", b"")

# Piped in pieces with pauses: read() returns each piece separately.
parts("pipe-from-split", b"Fro", b"m a@example.org Thu Jan  1 00:00:00 2024\n" + HDR + b"body\n")
parts("pipe-from-split-in-line", b"From a@exa", b"mple.org Thu Jan  1 00:00:00 2024\r", b"\n" + HDR + b"body\n")
parts("pipe-short-not-from", b"Fr", b"x\n")
parts("pipe-crlf-split", b"Subject: split\r", b"\n\r", b"\nbody\r", b"\n")
parts("pipe-lone-cr-split", b"Subject: split\n\nbody\r", b"x\r", b"")
EOF

# deliver NAME [-d]: deliver input NAME into its own Maildir, as the user
# (-d: as root with -d USER), under /usr/bin/time. stdin is the file
# itself (read() then returns 64 KiB blocks), or a pipe: NAME.viapipe
# streams it through cat, NAME.part1... are fed piece by piece with
# pauses. Sets RC, RSS (KiB), ERR.
deliver() {
	name=$1
	md="$SCRATCH/md.$name${2:+.d}"
	rssf="$SCRATCH/rss.$name${2:+.d}"
	errf="$SCRATCH/err.$name${2:+.d}"
	if [ "${2:-}" = -d ]; then
		run() { /usr/bin/time -f %M -o "$rssf" "$SLUICE" deliver -d "$TEST_USER" --maildir "$md"; }
	else
		run() { as_user /usr/bin/time -f %M -o "$rssf" "$SLUICE" deliver --maildir "$md"; }
	fi
	if [ -f "$IN/$name.viapipe" ]; then
		# shellcheck disable=SC2002 # a pipe on purpose, not the file
		cat "$IN/$name" | run >"$errf" 2>&1
	elif [ -f "$IN/$name.part1" ]; then
		{
			for p in "$IN/$name".part*; do
				cat "$p"
				sleep 0.3
			done
		} | run >"$errf" 2>&1
	else
		run <"$IN/$name" >"$errf" 2>&1
	fi
	RC=$?
	RSS=$(tail -n 1 "$rssf" 2>/dev/null)
	case $RSS in ''|*[!0-9]*) RSS=0 ;; esac
	ERR=$(head -c 2000 "$errf")
}

# check NAME DESCRIPTION [-d]: exit 0, quiet, stored intact, S=/W= exact.
check() {
	name=$1
	desc=$2
	md="$SCRATCH/md.$name${3:+.d}"
	label="$name${3:+ (-d)}"
	start=$(date +%s)
	deliver "$name" ${3:+"$3"}
	secs=$(($(date +%s) - start))
	is "$RC" 0 "$label: $desc: exit 0${3:+ (as root with -d $TEST_USER)}"
	[ "$RC" -eq 0 ] || [ -z "$ERR" ] || diag "stderr: $ERR"
	is "$ERR" "" "$label: nothing on stderr/stdout"
	diag "$label: $(wc -c <"$IN/$name" | tr -d ' ') input bytes, peak RSS $RSS KiB, $secs s"
	echo "$IN/$name" >"$SCRATCH/list.$name"
	check_maildir "" --compact --label "$label" "$md" "$SCRATCH/list.$name"
}

# rss_bound NAME: peak RSS of the last delivery of NAME below the bound.
# ASan's shadow memory and quarantine add a fixed ~8-12 MiB: the bound is
# looser there, but still far below any message this test streams.
rss_bound() {
	[ "$RSS" -gt 0 ] && [ "$RSS" -lt "$RSS_LIMIT_KIB" ]
	ok $? "$1: peak RSS $RSS KiB < $RSS_LIMIT_KIB KiB (target $RSS_TARGET_KIB KiB)"
	[ "$RSS" -le "$RSS_TARGET_KIB" ] ||
	    diag "$1: peak RSS $RSS KiB is above the $RSS_TARGET_KIB KiB target"
}

check empty "0-byte input gives a 0-byte message"
check garbage-1m "1 MiB of seeded random bytes"
check nul-bytes "NUL bytes in header and body"
check header-line-10m "a 10 MiB header line"
rss_bound header-line-10m
check headers-100k "100,000 header fields"
rss_bound headers-100k
check mime-nested-1000 "multipart nested 1,000 deep"
rss_bound mime-nested-1000
check big-100m "a 100 MiB message (mixed LF, CRLF, lone CR) streamed on stdin"
rss_bound big-100m
check big-100m-pipe "the 100 MiB message through a pipe"
rss_bound big-100m-pipe
check from-line-only "only a From_ line gives a 0-byte message"
check from-line-only-no-lf "only a From_ line without LF gives a 0-byte message"
check from-line-only-crlf "only a From_ line ending CRLF gives a 0-byte message"
check from-5-bytes "\"From \" alone (5 bytes) is a From_ line"
check from-4-bytes "\"From\" (4 bytes) is not a From_ line"
check from-line-100k "a 100 KB From_ line spanning read blocks is dropped"
check from-in-body-kept "From_ line dropped, \"From \" in the body kept"
check quoted-from-kept "\">From \" first line is kept"
check no-trailing-newline "message without a trailing newline"
check lone-cr "lone CRs kept, CRLF and CR CRLF handled"
check lone-cr "lone CRs kept, CRLF and CR CRLF handled" -d
if [ -d "$SCRATCH/md.lone-cr.d/new" ]; then
	owner=$(find "$SCRATCH/md.lone-cr.d/new" -type f -exec stat -c %U {} \;)
	is "$owner" "$TEST_USER" "lone-cr (-d): the delivered file is owned by $TEST_USER"
else
	ok 1 "lone-cr (-d): the delivery made no Maildir"
fi
check crlf-only "every line CRLF"
check crlf-at-read-boundary "CR at input byte 65535, LF at 65536 (no From_ line)"
check crlf-at-read-boundary-from "CR at input byte 65535, LF at 65536, after a From_ line"
check crlf-at-stored-boundary-from "CR at byte 65535 after the From_ line (output block edge)"
check crlf-at-2nd-read-boundary "CR at input byte 131071, LF at 131072"
check lone-cr-at-read-boundary "lone CR at input byte 65535 is kept"
check cr-cr-lf-at-read-boundary "CR CR LF across input bytes 65534..65536"
check from-line-ends-at-boundary "a From_ line whose LF is input byte 65535"
check from-line-crlf-at-boundary "a From_ line whose CR is byte 65535, LF byte 65536"
check cr-last-byte-at-boundary "CR as the last byte, input byte 65535"
check cr-last-byte-after-boundary "CR as the last byte, input byte 65536"
check lf-first-after-boundary "LF as input byte 65536 (after a full block)"
check pipe-from-split "\"Fro\" then the rest of the From_ line, in separate reads"
check pipe-from-split-in-line "From_ line ending CR|LF split across reads"
check pipe-short-not-from "\"Fr\" then \"x\": short first read, not a From_ line"
check pipe-crlf-split "CRLF split across pipe reads"
check pipe-lone-cr-split "lone CR at the end of a pipe read, and at EOF"

done_testing
