#!/usr/bin/env python3
"""run.py - the procmail differential: sluice against procmail 3.22.

Every case (an rc file, a message, optional options, command-line
assignments, arguments and files to set up; cases/*.cases, see
cases/README) runs twice in the same directory, one run after the other,
so that absolute paths agree:

  procmail  /usr/bin/procmail OPTS -m VERBOSE=on LOGFILE=D/log
            MAILDIR=D/mail DEFAULT=D/mail/inbox/ SENDMAIL=D/bin/sendmail
            TRAP="D/bin/capture VARS" VARS... D/rc ARGS < message
  sluice    the same command line, through a symlink named procmail to
            the sluice binary

and the two outcomes are compared: the exit status, every file written
under D (folders of every type, mbox files, program output, mail sent
through the fake sendmail, the message TRAP saw) with its bytes, mode and
hard links, and the captured variables (LASTFOLDER, MATCH, MAILDIR and the case's
list; TRAP writes them as "@@NAME=HEX" lines into LOGFILE, the only lines
of the log compared). Maildir file names, MH numbers and the msg.XXXX
names of plain directories are normalised (and so are those names inside
captured variables); the date of a From_ line that procmail generated
(-f) is normalised.

Differences listed in EXPECTED-DIFFERENCES.md are expected: for those, the
documented sluice behaviour is checked instead. One line per case on
stdout, "ok<TAB>text" / "not ok<TAB>text" / "#<TAB>diagnostics" (turned
into TAP by tests/integ/t-procmail-diff.sh). Run as an ordinary user:

  run.py --work DIR [--sluice BUILD/sluice] [--corpus DIR] [--jobs 2]
         [--only GLOB] [--verbose] [--json FILE]

Without --sluice only procmail runs: every case is checked to be a valid
case (procmail reports no rc syntax error unless the case allows it) and
its outcome is shown, a baseline for writing cases.
"""

import argparse
import concurrent.futures
import datetime
import difflib
import fnmatch
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROCMAIL = "/usr/bin/procmail"
RUN_TIMEOUT = 30		# seconds for one run of one side
GROUP_WAIT = 10		# seconds for background processes after it
DEFAULT_CAPTURE = ["LASTFOLDER", "MATCH", "MAILDIR"]
SANITIZER_EXIT = 86		# tests/integ/lib.sh ASAN/UBSAN exitcode
SANITIZER_REPORTS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer",
                     b": runtime error: ")
# procmail's own words for a broken rc file: a case that makes procmail
# say one of these is a broken case unless it says @allow-errors.
RC_ERRORS = re.compile(r"procmail: (Skipped|Missing|Extraneous|Unknown|"
                       r"Bad substitution|Invalid regexp|Conflicting|"
                       r"Closing brace unexpected|Unexpected EOL)")

# ---------------------------------------------------------------------------
# cases


class Case:
    def __init__(self, name, src, line):
        self.name, self.src, self.line = name, src, line
        self.opts, self.vars, self.args, self.capture = [], [], [], []
        self.msg = "plain"
        self.inline_msg = None
        self.rc = None
        self.files = []		# (relative path, text)
        self.mkdirs = []
        self.ages = []		# (relative path, seconds): backdate mtime
        self.allow_errors = False
        self.note = ""


def split_words(s):
    """Shell-like words: '...' and "..." quote, no expansion."""
    words, cur, q, have = [], "", None, False
    for ch in s:
        if q:
            if ch == q:
                q = None
            else:
                cur += ch
        elif ch in "'\"":
            q, have = ch, True
        elif ch.isspace():
            if cur or have:
                words.append(cur)
            cur, have = "", False
        else:
            cur += ch
    if q:
        raise ValueError("unterminated quote in %r" % s)
    if cur or have:
        words.append(cur)
    return words


def parse_cases(path):
    """A .cases file: "=== NAME" starts a case; "@KEY value" lines set
    options; "--- rc", "--- msg", "--- file PATH" start text blocks that
    run to the next "--- " or "=== " line. Lines before the first case and
    "#" lines between directives are comments."""
    cases, cur, block = [], None, None
    rel = os.path.relpath(path, HERE)

    def end_block():
        nonlocal block
        if block is None:
            return
        kind, arg, lines = block
        text = "".join(lines)
        if kind == "rc":
            cur.rc = text
        elif kind == "msg":
            cur.inline_msg = text
        elif kind == "file":
            cur.files.append((arg, text))
        block = None

    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.startswith("=== "):
                end_block()
                cur = Case(line[4:].strip(), rel, n)
                cases.append(cur)
                continue
            if cur is None:
                continue
            if line.startswith("--- "):
                end_block()
                parts = line[4:].split(None, 1)
                kind = parts[0]
                if kind not in ("rc", "msg", "file"):
                    raise ValueError("%s:%d: unknown block %r" % (rel, n, kind))
                block = (kind, parts[1].strip() if len(parts) > 1 else None, [])
                continue
            if block is not None:
                block[2].append(line)
                continue
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            if not s.startswith("@"):
                raise ValueError("%s:%d: expected @KEY or a block: %r" % (rel, n, s))
            key, _, val = s[1:].partition(" ")
            if key == "opts":
                cur.opts += split_words(val)
            elif key == "vars":
                cur.vars += split_words(val)
            elif key == "args":
                cur.args += split_words(val)
            elif key == "capture":
                cur.capture += val.split()
            elif key == "msg":
                cur.msg = val.strip()
            elif key == "mkdir":
                cur.mkdirs += val.split()
            elif key == "age":
                path, _, secs = val.strip().rpartition(" ")
                cur.ages.append((path, int(secs)))
            elif key == "allow-errors":
                cur.allow_errors = True
            elif key == "note":
                cur.note = val.strip()
            else:
                raise ValueError("%s:%d: unknown directive @%s" % (rel, n, key))
    end_block()
    for c in cases:
        if c.rc is None:
            raise ValueError("%s:%d: case %s has no --- rc block" % (rel, c.line, c.name))
    return cases


def corpus_cases(corpus_dir):
    """One case per prepared corpus message, all with corpus/corpus.rc."""
    rc = open(os.path.join(HERE, "corpus", "corpus.rc"), encoding="utf-8").read()
    out = []
    for fn in sorted(os.listdir(corpus_dir)):
        if not fn.endswith(".eml"):
            continue
        c = Case("corpus-" + fn[:-4], "corpus/corpus.rc", 1)
        c.rc = rc
        c.msg = os.path.join(corpus_dir, fn)
        c.capture = ["SPAMLEVEL", "LISTNAME", "FROMADDR", "SUBJ", "SIZECLASS", "SCORE"]
        c.mkdirs = ["mail/archive", "mail/lists"]
        c.args = ["list-extension"]
        # Real messages make procmail skip words of folder names built
        # from them (a MATCH with a space): that is part of what is
        # compared, not a broken case.
        c.allow_errors = True
        out.append(c)
    return out


def prepare_corpus(listfile, outdir, n):
    """Copies n corpus messages chosen with a fixed stride (so that ham,
    spam, lists and large ones are all there) to outdir/cNN.eml, each with
    a From_ line (the corpus files have none or a real one)."""
    paths = sorted(l.strip() for l in open(listfile) if l.strip())
    if not paths:
        raise SystemExit("run.py: empty corpus list")
    step = max(1, len(paths) // n)
    chosen = paths[::step][:n]
    os.makedirs(outdir, exist_ok=True)
    for i, p in enumerate(chosen):
        raw = open(p, "rb").read()
        if not raw.startswith(b"From "):
            raw = b"From corpus@example.com  Thu Jan  3 12:00:00 2002\n" + raw
        with open(os.path.join(outdir, "c%02d.eml" % i), "wb") as f:
            f.write(raw)
    return chosen


# ---------------------------------------------------------------------------
# running one side


def subst(text, d):
    return text.replace("@D@", d).replace("@BIN@", os.path.join(d, "bin"))


def setup(case, d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "mail"))
    shutil.copytree(os.path.join(HERE, "bin"), os.path.join(d, "bin"))
    for m in case.mkdirs:
        os.makedirs(os.path.join(d, subst(m, d)), exist_ok=True)
    for rel, text in case.files:
        p = os.path.join(d, subst(rel, d))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(subst(text, d))
    now = time.time()
    for rel, secs in case.ages:
        os.utime(os.path.join(d, subst(rel, d)), (now - secs, now - secs))
    with open(os.path.join(d, "rc"), "w", encoding="utf-8") as f:
        f.write(subst(case.rc, d))
    os.chmod(os.path.join(d, "rc"), 0o644)


def message_bytes(case, msgdir):
    if case.inline_msg is not None:
        return case.inline_msg.encode()
    p = case.msg if os.path.isabs(case.msg) else os.path.join(msgdir, case.msg + ".eml")
    return open(p, "rb").read()


def command(prog, case, d):
    cap = " ".join(DEFAULT_CAPTURE + case.capture)
    # COMSAT=no: no biff datagram (and no wait for its name lookup).
    return ([prog] + [subst(o, d) for o in case.opts] + ["-m", "VERBOSE=on", "COMSAT=no",
            "LOGFILE=" + os.path.join(d, "log"),
            "MAILDIR=" + os.path.join(d, "mail"),
            "DEFAULT=" + os.path.join(d, "mail", "inbox") + "/",
            "SENDMAIL=" + os.path.join(d, "bin", "sendmail"),
            "TRAP=%s %s" % (os.path.join(d, "bin", "capture"), cap)] +
            [subst(v, d) for v in case.vars] + [os.path.join(d, "rc")] +
            [subst(a, d) for a in case.args])


def group_alive(pgid):
    """True while a process of the group is running (zombies do not
    count: where PID 1 does not reap, they linger)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rfind(")") + 2:].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def wait_group(pgid):
    """Waits (GROUP_WAIT seconds at most) until no process of the group
    is left, then kills the stragglers."""
    deadline = time.monotonic() + GROUP_WAIT
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        time.sleep(0.01)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def run_side(prog, case, d, msg):
    setup(case, d)
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/"),
           "USER": os.environ.get("USER", "sluicetest"),
           "LOGNAME": os.environ.get("USER", "sluicetest"),
           "SHELL": "/bin/sh", "LANG": "C", "TZ": "UTC"}
    env.update({k: os.environ[k] for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
                if k in os.environ})
    cmd = command(prog, case, d)
    try:
        # Its own process group: procmail's c clones and DELIVERED=yes go
        # on in the background after the main process exits; wait for all.
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=d, env=env, start_new_session=True)
        try:
            out, err = p.communicate(msg, timeout=RUN_TIMEOUT)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            rc = "timeout"
        wait_group(p.pid)
    except OSError as e:
        rc, out, err = "exec failed: %s" % e, b"", b""
    try:
        log = open(os.path.join(d, "log"), "rb").read()
    except OSError:
        log = b""
    snap, names = snapshot(d)
    vars_ = captured(log)
    res = {"exit": str(rc), "files": snap, "vars": normalise_vars(vars_, names, d),
           "stdout": out.decode("utf-8", "replace")}
    return res, log.decode("utf-8", "replace"), err


# ---------------------------------------------------------------------------
# what a run left behind

MAILDIR_NAME = re.compile(r"^\d+\.[^/]*$")
MH_NAME = re.compile(r"^\d+$")
# msg.XXXX in a plain directory; other prefixes are the cases' MSGPREFIX
MSG_NAME = re.compile(r"^(msg\.|note|x\.)[A-Za-z0-9_-]{4}$")
CTIME_FROM = re.compile(rb"^(From \S+ +)(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
                        rb"\w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$", re.M)
SKIP = {"log", "rc", "bin"}


def fresh_date(m):
    """A From_ date within a day of now was made by this run: normalised."""
    try:
        t = datetime.datetime.strptime(m.group(0)[len(m.group(1)):].decode(),
                                       "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return m.group(0)
    if abs((datetime.datetime.utcnow() - t).total_seconds()) < 86400 or \
       abs((datetime.datetime.now() - t).total_seconds()) < 86400:
        return m.group(1) + b"<DATE>"
    return m.group(0)


def file_text(data):
    data = CTIME_FROM.sub(fresh_date, data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def generated_names(dirpath, entries):
    """The entries of dirpath whose names a delivery made up: Maildir
    new/cur/tmp files, MH numbers, msg.XXXX files, outbox records."""
    base = os.path.basename(dirpath)
    parent = os.path.dirname(dirpath)
    if base in ("new", "cur", "tmp") and all(
            os.path.isdir(os.path.join(parent, s)) for s in ("new", "cur", "tmp")):
        return [e for e in entries if MAILDIR_NAME.match(e)]
    if base in ("outbox", "rec", "trap"):
        return list(entries)
    return [e for e in entries if MH_NAME.match(e) or MSG_NAME.match(e)]


def snapshot(d):
    """{normalised relative path: description} for everything under d but
    the log, the rc and bin/, and {real path: normalised path} for the
    renamed files. Generated names become #1, #2... in content order."""
    res, names, inodes = {}, {}, {}
    for dirpath, dirnames, filenames in os.walk(d):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, d)
        if rel_dir == ".":
            dirnames[:] = [x for x in dirnames if x not in SKIP]
            filenames = [x for x in filenames if x not in SKIP]
        entries = sorted(filenames + [x for x in dirnames if os.path.islink(os.path.join(dirpath, x))])
        gen = set(x for x in generated_names(dirpath, entries)
                  if os.path.isfile(os.path.join(dirpath, x)))
        contents = {}
        for e in entries:
            p = os.path.join(dirpath, e)
            if os.path.islink(p):
                contents[e] = ("link", os.readlink(p))
                continue
            st = os.lstat(p)
            data = open(p, "rb").read() if stat.S_ISREG(st.st_mode) else b""
            contents[e] = ("file", file_text(data), stat.S_IMODE(st.st_mode), st)
        # One name per distinct content (#1, #2... in content order):
        # which of two identical messages got which name is not compared.
        distinct = sorted(set(contents[e][1] for e in gen))
        copies = {}
        for e in gen:
            copies[contents[e][1]] = copies.get(contents[e][1], 0) + 1
        for e in entries:
            p = os.path.join(dirpath, e)
            nm = "#%d" % (distinct.index(contents[e][1]) + 1) if e in gen else e
            rel = os.path.normpath(os.path.join(rel_dir, nm))
            names[p] = os.path.join(d, rel)
            c = contents[e]
            if c[0] == "link":
                res[rel] = "symlink -> %s" % c[1]
                continue
            st = c[3]
            n = copies.get(c[1], 1) if e in gen else 1
            res[rel] = "mode %04o%s\n%s" % (c[2], " (%d copies)" % n if n > 1 else "", c[1])
            if st.st_nlink > 1:
                inodes.setdefault((st.st_dev, st.st_ino), set()).add(rel)
        for x in dirnames:
            p = os.path.join(dirpath, x)
            if not os.path.islink(p):
                rel = os.path.normpath(os.path.join(rel_dir, x))
                res[rel + "/"] = "dir mode %04o" % stat.S_IMODE(os.lstat(p).st_mode)
    for paths in inodes.values():
        for rel in paths:
            res[rel] += "\n(hard links: %s)" % " ".join(sorted(paths))
    return res, names


def captured(log):
    """The "@@NAME=HEX;NAME;..." records of the TRAPs (one per process
    that ended: a c clone runs TRAP too), as a list of dicts."""
    recs = []
    for m in re.finditer(rb"@@((?:[A-Za-z0-9_]+(?:=[0-9a-f]*)?;)*)(?=\n|$)", log):
        rec = {}
        for item in m.group(1).decode().split(";"):
            if not item:
                continue
            k, eq, v = item.partition("=")
            rec[k] = bytes.fromhex(v).decode("utf-8", "replace") if eq else None
        recs.append(rec)
    return recs


def normalise_vars(recs, names, d):
    """{NAME: "=value" | "(unset)"} for one TRAP record; with several
    (clones), "#N.NAME" keys over the records in a stable order. Generated
    file names inside values (LASTFOLDER: "a/new/1795420152.14223_0.host",
    "b/1") become their normalised names."""
    out = []
    for vars_ in recs:
        bases = [d, os.path.join(d, "mail")]
        md = vars_.get("MAILDIR")
        if md:
            bases[:0] = [os.path.join(d, md), os.path.join(d, "mail", md)]
        o = {}
        for k, v in vars_.items():
            if v is None:
                o[k] = "(unset)"
                continue
            words = []
            for w in v.split(" "):
                if "/" in w:
                    for b in bases:
                        p = os.path.normpath(os.path.join(b, w))
                        if p in names:
                            if names[p] != p:
                                w = w[:len(w) - len(os.path.basename(p))] + os.path.basename(names[p])
                            break
                words.append(w)
            o[k] = "=" + " ".join(words)
        out.append(o)
    if len(out) == 1:
        return out[0]
    if not out:
        return {"(TRAP)": "(no record: TRAP did not run)"}
    # Several processes ran TRAP (procmail's c clones are processes):
    # one key with every record, in a stable order.
    recs = sorted("".join("%s%s\n" % (k, v) for k, v in sorted(o.items())) for o in out)
    return {"(TRAP)": "%d records\n%s" % (len(recs), "--\n".join(recs))}


# ---------------------------------------------------------------------------
# comparing


def compare(a, b):
    """[(key, procmail value, sluice value)] for every difference. Keys:
    exit, stdout, var:NAME, file:PATH."""
    diffs = []
    for k in ("exit", "stdout"):
        if a[k] != b[k]:
            diffs.append((k, a[k], b[k]))
    va, vb = a["vars"], b["vars"]
    if ("(TRAP)" in va) != ("(TRAP)" in vb):
        # One side ran TRAP once, the other not or several times: compare
        # the records as a whole.
        def whole(v):
            if "(TRAP)" in v:
                return v["(TRAP)"]
            return "1 records\n" + "".join("%s%s\n" % (k, x) for k, x in sorted(v.items()))
        diffs.append(("var:(TRAP)", whole(va), whole(vb)))
        va = vb = {}
    for name in sorted(set(va) | set(vb)):
        xa, xb = va.get(name, "(not captured)"), vb.get(name, "(not captured)")
        if xa != xb:
            diffs.append(("var:" + name, xa, xb))
    for path in sorted(set(a["files"]) | set(b["files"])):
        fa, fb = a["files"].get(path, "(absent)"), b["files"].get(path, "(absent)")
        if fa != fb:
            diffs.append(("file:" + path, fa, fb))
    return diffs


def show(key, va, vb, limit=40):
    """A unified diff of one difference, limit lines."""
    def lines(v):
        out = []
        for l in ("%s\n" % v).splitlines(True):
            if len(l) > 200:	# one long value: its start and its length
                l = "%s... (%d chars)\n" % (l[:120], len(l.rstrip("\n")))
            out.append(l)
        return out
    la, lb = lines(va), lines(vb)
    lines = list(difflib.unified_diff(la, lb, "procmail " + key, "sluice " + key, n=2))
    if len(lines) > limit:
        lines = lines[:limit] + ["... (%d more lines)\n" % (len(lines) - limit)]
    return [l.rstrip("\n") for l in lines]


def load_expected(path):
    """Rows of the table in EXPECTED-DIFFERENCES.md:
    | `CASE-GLOB` | `KEY-GLOB` | `SLUICE` | reason |
    SLUICE is what sluice must show instead (the exact value for exit, a
    substring for the others; `*` anything)."""
    rows = []
    if not os.path.exists(path):
        return rows
    for line in open(path, encoding="utf-8"):
        m = re.match(r"\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|\s*`([^`]*)`\s*\|", line)
        if m:
            rows.append(m.groups())
    return rows


def expected_row(rows, case, key):
    for c, k, want in rows:
        if fnmatch.fnmatchcase(case, c) and fnmatch.fnmatchcase(key, k):
            return want
    return None


def sluice_has(want, key, vb):
    if want == "*":
        return True
    if key == "exit":
        return vb == want
    return want.replace("\\n", "\n") in vb


def crash(rc, err):
    if rc == "timeout":
        return "sluice timed out"
    if rc == str(SANITIZER_EXIT) or any(m in err for m in SANITIZER_REPORTS):
        lines = [l for l in err.decode(errors="replace").splitlines()
                 if "Sanitizer" in l or "runtime error" in l]
        return "sanitizer report (exit %s): %s" % (rc, " | ".join(lines[:3]))
    if rc.startswith("-"):
        return "sluice killed by signal %s" % rc[1:]
    return None


def outcome(res):
    """What procmail did, in short: to see that a case branches."""
    files = [p for p, v in sorted(res["files"].items()) if not p.endswith("/")]
    return "exit=%s files=%s %s" % (res["exit"], ",".join(files) or "-",
                                    " ".join("%s%s" % (k, v) for k, v in sorted(res["vars"].items())
                                             if k == "LASTFOLDER"))


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", required=False)
    ap.add_argument("--sluice")
    ap.add_argument("--corpus", metavar="DIR", help="prepared corpus messages (cNN.eml)")
    ap.add_argument("--prepare-corpus", nargs=2, metavar=("LIST", "DIR"),
                    help="only choose corpus messages from LIST into DIR")
    ap.add_argument("--corpus-n", type=int, default=30)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default="*")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--json")
    o = ap.parse_args()

    if o.prepare_corpus:
        prepare_corpus(o.prepare_corpus[0], o.prepare_corpus[1], o.corpus_n)
        return 0
    if os.geteuid() == 0:
        sys.exit("run.py: run as an ordinary user (t-procmail-diff.sh does that)")
    work = o.work or "/tmp/procmail-diff.%d" % os.getpid()
    os.makedirs(work, exist_ok=True)
    cases = []
    cdir = os.path.join(HERE, "cases")
    for fn in sorted(os.listdir(cdir)):
        if fn.endswith(".cases"):
            cases += parse_cases(os.path.join(cdir, fn))
    if o.corpus:
        cases += corpus_cases(o.corpus)
    seen = set()
    for c in cases:
        if c.name in seen:
            sys.exit("run.py: duplicate case name %s (%s:%d)" % (c.name, c.src, c.line))
        seen.add(c.name)
    cases = [c for c in cases if fnmatch.fnmatchcase(c.name, o.only)]
    sl = None
    if o.sluice:
        sbin = os.path.join(work, "sbin")
        os.makedirs(sbin, exist_ok=True)
        sl = os.path.join(sbin, "procmail")
        if os.path.lexists(sl):
            os.unlink(sl)
        os.symlink(os.path.abspath(o.sluice), sl)
    expected = load_expected(os.path.join(HERE, "EXPECTED-DIFFERENCES.md"))
    msgdir = os.path.join(HERE, "msgs")
    print("#\t%d cases%s" % (len(cases), "" if sl else " (procmail only)"))
    sys.stdout.flush()

    def one(case):
        d = os.path.join(work, "c", case.name)
        msg = message_bytes(case, msgdir)
        t0 = time.monotonic()
        a, alog, _ = run_side(PROCMAIL, case, d, msg)
        r = {"case": case.name, "src": "%s:%d" % (case.src, case.line), "procmail": a,
             "procmail_log": alog[-3000:]}
        if sl:
            b, blog, berr = run_side(sl, case, d, msg)
            r["sluice"] = b
            r["sluice_log"] = (blog[-2000:] + "\n" + berr.decode(errors="replace")[-1500:])
            r["crash"] = crash(b["exit"], berr)
            r["diffs"] = compare(a, b)
        shutil.rmtree(d, ignore_errors=True)
        r["secs"] = round(time.monotonic() - t0, 2)
        return r

    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=o.jobs) as ex:
        for r in ex.map(one, cases):
            results.append(r)

    bycase = {c.name: c for c in cases}
    n_fail = 0
    tally = {"agree": 0, "expected": 0, "differ": 0, "broken": 0}
    disagree = []
    for r in results:
        case = bycase[r["case"]]
        name = r["case"]
        a = r["procmail"]
        errs = RC_ERRORS.findall(r["procmail_log"])
        if errs and not case.allow_errors:
            n_fail += 1
            tally["broken"] += 1
            print("not ok\t%s: broken case (%s): procmail says %s" % (name, r["src"], ", ".join(sorted(set(errs)))))
            for l in [l for l in r["procmail_log"].splitlines() if RC_ERRORS.search(l)][:3]:
                print("#\t  %s" % l)
            continue
        if a["exit"] == "timeout":
            n_fail += 1
            tally["broken"] += 1
            print("not ok\t%s: broken case (%s): procmail timed out" % (name, r["src"]))
            continue
        if not sl:
            print("ok\t%s: procmail %s" % (name, outcome(a)))
            if o.verbose:
                for k, v in sorted(a["vars"].items()):
                    print("#\t  %s%s" % (k, v.replace("\n", "\\n")[:200]))
            continue
        if r["crash"]:
            n_fail += 1
            tally["differ"] += 1
            print("not ok\t%s: %s" % (name, r["crash"]))
            disagree.append((name, [("crash", r["crash"], "")], r))
            continue
        unexpected, exp_n = [], 0
        for key, va, vb in r["diffs"]:
            want = expected_row(expected, name, key)
            if want is not None and sluice_has(want, key, vb):
                exp_n += 1
            elif want is not None:
                unexpected.append((key, va, vb + "\n(EXPECTED-DIFFERENCES.md wants: %s)" % want))
            else:
                unexpected.append((key, va, vb))
        # A documented difference that did not show up is stale.
        for c, k, want in expected:
            if fnmatch.fnmatchcase(name, c) and "*" not in k and "?" not in k and \
               not any(fnmatch.fnmatchcase(key, k) for key, _, _ in r["diffs"]):
                unexpected.append((k, "(documented difference)", "(sluice agrees with procmail: "
                                   "remove the row from EXPECTED-DIFFERENCES.md)"))
        if unexpected:
            n_fail += 1
            tally["differ"] += 1
            print("not ok\t%s: differs from procmail in %s (%s)" % (
                name, ", ".join(k for k, _, _ in unexpected[:6]) +
                (" ..." if len(unexpected) > 6 else ""), r["src"]))
            disagree.append((name, unexpected, r))
        else:
            tally["expected" if exp_n else "agree"] += 1
            print("ok\t%s: agrees with procmail%s" % (
                name, " (%d documented differences)" % exp_n if exp_n else ""))
    if sl:
        print("#\tcases agreeing: %d, agreeing up to documented differences: %d, "
              "differing: %d, broken cases: %d" % (tally["agree"], tally["expected"],
                                                   tally["differ"], tally["broken"]))
        if disagree:
            print("#\t---- disagreements (procmail -> sluice) ----")
        for name, unexpected, r in disagree:
            print("#\t%s (%s)" % (name, r["src"]))
            for key, va, vb in unexpected[:5]:
                for l in show(key, va, vb):
                    print("#\t    %s" % l)
            if o.verbose:
                for l in r["sluice_log"].strip().splitlines()[-15:]:
                    print("#\t    sluice log: %s" % l)
    if o.json:
        with open(o.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
