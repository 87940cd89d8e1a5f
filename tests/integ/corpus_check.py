#!/usr/bin/env python3
"""corpus_check.py - verify a Maildir against the messages delivered into it.

Usage: corpus_check.py [--label L] [--compact] [--xseq] MAILDIR LISTFILE

LISTFILE names the input files (one path a line) that were each delivered
once into MAILDIR (its INBOX: MAILDIR/new). The expected stored bytes are
computed here, independently of sluice (DESIGN.md, Contracts with Dovecot):
the input minus a leading "From " line (up to and including its LF, or the
whole input when it has no LF), with every CRLF stored as LF; a lone CR is
kept. Inputs and outputs are matched by the SHA-256 of those bytes, as a
multiset (duplicate contents must be stored as many times as delivered).

Every file name must be TIME.MusecPpid[Qn].HOST,S=SIZE,W=VSIZE with SIZE
the file's size and VSIZE the size plus one per LF not preceded by CR.

Output is TAP fragments for the calling shell script: "ok - text" or
"not ok - text", each followed by "# " diagnostics (the first few
mismatches: input, expected, got).
"""
import hashlib
import os
import re
import sys
from collections import defaultdict

MAX_DIAG = 5
NAME_RE = re.compile(
    rb"^(?P<base>(?P<time>[0-9]+)\.M(?P<usec>[0-9]+)P(?P<pid>[0-9]+)"
    rb"(?:Q[0-9]+)?\.[^,/:]+),S=(?P<s>[0-9]+),W=(?P<w>[0-9]+)$")
XSEQ_RE = re.compile(rb"^X-Seq: *([^\r\n]*)$", re.M)


def expected_bytes(data):
    if data.startswith(b"From "):
        nl = data.find(b"\n")
        data = b"" if nl < 0 else data[nl + 1:]
    return data.replace(b"\r\n", b"\n")


def vsize(data):
    return len(data) + data.count(b"\n") - data.count(b"\r\n")


def sha(data):
    return hashlib.sha256(data).hexdigest()


def excerpt(data, off, n=24):
    return repr(data[max(0, off - n):off + n])


def first_diff(a, b):
    n = min(len(a), len(b))
    i = 0
    step = 65536
    while i < n and a[i:i + step] == b[i:i + step]:
        i += step
    while i < n and a[i] == b[i]:
        i += 1
    return i


def msgid(data):
    m = re.search(rb"^Message-I[Dd]:[ \t]*([^\r\n]*)", data[:65536],
                  re.M | re.I)
    return m.group(1).strip() if m else None


class Report:
    def __init__(self, label):
        self.label = label
        self.failed = 0

    def check(self, good, text, diags=()):
        print(("ok" if good else "not ok") + " - " + self.label + text)
        if not good:
            self.failed += 1
            for d in diags:
                for line in str(d).splitlines() or [""]:
                    print("# " + line)


def main(argv):
    label, compact, xseq = "", False, False
    args = []
    i = 1
    while i < len(argv):
        if argv[i] == "--label":
            label = argv[i + 1] + ": "
            i += 2
            continue
        if argv[i] == "--compact":
            compact = True
        elif argv[i] == "--xseq":
            xseq = True
        else:
            args.append(argv[i])
        i += 1
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    maildir, listfile = args
    r = Report(label)

    with open(listfile, "rb") as f:
        inputs = [l.rstrip(b"\n").decode() for l in f if l.strip()]

    # Expected: sha -> list of input paths (a multiset).
    want = defaultdict(list)
    for p in inputs:
        with open(p, "rb") as f:
            exp = expected_bytes(f.read())
        h = sha(exp)
        want[h].append(p)

    newdir = os.path.join(maildir, "new")
    names = sorted(os.listdir(newdir)) if os.path.isdir(newdir) else []
    leftovers = []
    for sub in ("tmp", "cur"):
        d = os.path.join(maildir, sub)
        if os.path.isdir(d):
            leftovers += [sub + "/" + n for n in sorted(os.listdir(d))]
        else:
            leftovers.append(sub + "/ is missing")

    # Read every output once.
    got = defaultdict(list)		# sha -> names
    content = {}			# name -> bytes (only kept when needed)
    bad_names, bad_s, bad_w, bases = [], [], [], defaultdict(list)
    for n in names:
        with open(os.path.join(newdir, n), "rb") as f:
            data = f.read()
        h = sha(data)
        got[h].append(n)
        if h not in want:
            content[n] = data
        m = NAME_RE.match(os.fsencode(n))
        if m is None:
            bad_names.append(n)
            continue
        bases[m.group("base")].append(n)
        if int(m.group("s")) != len(data):
            bad_s.append("%s: S=%s, file size %d" % (n, m.group("s").decode(),
                                                      len(data)))
        if int(m.group("w")) != vsize(data):
            bad_w.append("%s: W=%s, want %d (size %d + %d bare LF)" % (
                n, m.group("w").decode(), vsize(data), len(data),
                vsize(data) - len(data)))
    dup_bases = [b.decode() + " x%d" % len(v) for b, v in bases.items()
                 if len(v) > 1]

    # Match the multisets.
    missing = []		# (input path, sha) not stored (enough times)
    for h, paths in want.items():
        k = len(got.get(h, ()))
        if k < len(paths):
            missing += [(p, h) for p in paths[k:]]
    extra = []			# output names with no (or too many) inputs
    for h, ns in got.items():
        k = len(want.get(h, ()))
        if len(ns) > k:
            extra += ns[k:]
    nextra = len(extra)

    def explain_missing():
        out = []
        by_id = defaultdict(list)
        for n in extra:
            if n not in content:
                with open(os.path.join(newdir, n), "rb") as f:
                    content[n] = f.read()
            by_id[msgid(content[n])].append(n)
        for p, h in missing[:MAX_DIAG]:
            with open(p, "rb") as f:
                raw = f.read()
            exp = expected_bytes(raw)
            cand = None
            mid = msgid(exp)
            if mid is not None and by_id.get(mid):
                cand = by_id[mid][0]
            else:
                best = -1
                for n in extra:
                    d = first_diff(exp, content[n])
                    if d > best:
                        best, cand = d, n
            line = ("input %s (%d bytes): expected %d bytes sha256 %s"
                    % (p, len(raw), len(exp), h[:16]))
            if cand is None:
                out.append(line + "; got: no stored file is close")
                continue
            g = content[cand]
            off = first_diff(exp, g)
            out.append(line)
            out.append("  closest stored file %s (%d bytes) differs at "
                       "stored offset %d" % (cand, len(g), off))
            out.append("  expected: %s" % excerpt(exp, off))
            out.append("  got:      %s" % excerpt(g, off))
        if len(missing) > MAX_DIAG:
            out.append("... and %d more" % (len(missing) - MAX_DIAG))
        return out

    nin = len(inputs)
    if compact:
        r.check(len(names) == nin and not leftovers,
                "exactly %d file(s) in new/, tmp/ and cur/ empty" % nin,
                ["new/ holds %d files, want %d" % (len(names), nin)] +
                ["left over: " + x for x in leftovers[:MAX_DIAG]])
        r.check(not missing and not extra,
                "stored bytes identical to the input minus From_ line, "
                "CRLF->LF",
                explain_missing() + ["stored file matching no input: " + n
                                     for n in extra[:MAX_DIAG]])
        sw = ""
        if nin == 1:
            with open(inputs[0], "rb") as f:
                exp = expected_bytes(f.read())
            sw = " (want S=%d W=%d)" % (len(exp), vsize(exp))
        r.check(not bad_names and not bad_s and not bad_w,
                "file name S= and W= exact" + sw,
                ["bad name: " + n for n in bad_names[:MAX_DIAG]] +
                bad_s[:MAX_DIAG] + bad_w[:MAX_DIAG])
        return 1 if r.failed else 0

    r.check(len(names) == nin,
            "exactly %d files in new/" % nin,
            ["new/ holds %d files, want %d" % (len(names), nin)])
    r.check(not leftovers, "tmp/ and cur/ empty",
            ["left over: " + x for x in leftovers[:MAX_DIAG]] +
            (["... %d in all" % len(leftovers)]
             if len(leftovers) > MAX_DIAG else []))
    r.check(not bad_names and not dup_bases,
            "%d file names are TIME.MusecPpid[Qn].HOST,S=,W= with distinct "
            "unique parts" % len(names),
            ["bad name: " + n for n in bad_names[:MAX_DIAG]] +
            ["unique part used more than once: " + b
             for b in dup_bases[:MAX_DIAG]])
    r.check(not missing,
            "all %d inputs stored byte-identical (From_ line dropped, "
            "CRLF->LF; %d distinct contents)" % (nin, len(want)),
            ["%d of %d inputs have no byte-identical stored file"
             % (len(missing), nin)] + explain_missing())
    r.check(not extra, "no stored file without a matching input",
            ["%d stored files match no input (or duplicate one)" % nextra] +
            extra[:MAX_DIAG])
    r.check(not bad_s, "S= exact (equals the file size) for all %d files"
            % len(names), ["%d wrong" % len(bad_s)] + bad_s[:MAX_DIAG])
    r.check(not bad_w, "W= exact (size + LFs not preceded by CR) for all "
            "%d files" % len(names), ["%d wrong" % len(bad_w)] +
            bad_w[:MAX_DIAG])
    if xseq:
        seen = defaultdict(int)
        noseq = []
        for n in names:
            with open(os.path.join(newdir, n), "rb") as f:
                m = XSEQ_RE.search(f.read(8192))
            if m is None:
                noseq.append(n)
            else:
                seen[m.group(1)] += 1
        wantseq = set()
        for p in inputs:
            with open(p, "rb") as f:
                m = XSEQ_RE.search(f.read(8192))
            wantseq.add(m.group(1) if m else None)
        dups = [k.decode() + " x%d" % v for k, v in seen.items() if v != 1]
        absent = sorted(x.decode() for x in wantseq - set(seen) if x)
        r.check(not dups and not absent and not noseq and
                len(seen) == nin,
                "every one of %d X-Seq values stored exactly once" % nin,
                ["%d distinct X-Seq stored" % len(seen)] +
                ["stored more than once: " + d for d in dups[:MAX_DIAG]] +
                ["never stored: " + a for a in absent[:MAX_DIAG]] +
                ["stored file without X-Seq: " + n for n in noseq[:MAX_DIAG]])
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
