#!/usr/bin/env python3
"""run.py - the Sieve differential: sluice against Dovecot Pigeonhole.

For every scripts/*.sieve x a fixed subset of corpus messages, runs

  Pigeonhole  sieve-test -e -l maildir:A   (executes: Maildir A, sent mail)
              sieve-test                   ("Performed actions" list)
  sluice      sluice deliver --rules S --maildir B   (Maildir B, sent mail
                                                      through a fake sendmail)
              sluice test S MESSAGE        (the action list)

and compares, per message: the set of folders, per folder the stored
messages (content hash) with their flags (system flags and keywords by
name), the mail sent (envelope, recipients, key headers, and for redirects
the forwarded bytes), the programs piped to, and the normalised action lists.

Differences listed in EXPECTED-DIFFERENCES.md (script + key) are expected;
every other one fails. Output: one line per script, "ok<TAB>text" or
"not ok<TAB>text", and "#<TAB>diagnostics" (tests/integ/t-sieve-diff.sh
turns them into TAP). Run as an ordinary user (not root):

  run.py --corpus-list FILE [--sluice BUILD/sluice] [--work DIR] [--jobs 2]
         [--only GLOB] [--messages N] [--verbose]

Without --sluice only the Pigeonhole side runs (a baseline: every script
compiles and runs there, and the outcomes it produces).
"""

import argparse
import concurrent.futures
import email.parser
import email.policy
import fnmatch
import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------
# messages


def from_line_sender(raw):
    if raw.startswith(b"From "):
        tok = raw[5:raw.find(b"\n")].split()
        if tok and b"@" in tok[0]:
            return tok[0].decode("ascii", "replace")
    return "sender@example.com"


def select_messages(paths, n):
    """A deterministic subset chosen to hit the scripts' branches: lists
    (exmh, spamassassin, ilug, fork, razor), X-Mailing-List, bulk without a
    list, MIME (alternative, attachments), spam, hard ham, large, small."""
    heads = {}

    def head(p):
        if p not in heads:
            with open(p, "rb") as f:
                data = f.read()
            end = data.find(b"\n\n")
            heads[p] = (data[:end if end >= 0 else len(data)].lower(), len(data))
        return heads[p]

    buckets = [
        (3, lambda p, h, s: b"list-id:" in h and b"exmh" in h),
        (2, lambda p, h, s: b"list-id:" in h and b"spamassassin-talk" in h),
        (2, lambda p, h, s: b"list-id:" in h and b"ilug" in h),
        (2, lambda p, h, s: b"list-id:" in h and b"fork" in h),
        (2, lambda p, h, s: b"list-id:" in h and b"razor" in h),
        (2, lambda p, h, s: b"x-mailing-list:" in h),
        (2, lambda p, h, s: b"precedence: bulk" in h and b"list-id:" not in h),
        (3, lambda p, h, s: b"multipart/alternative" in h),
        (2, lambda p, h, s: b"multipart/mixed" in h),
        (6, lambda p, h, s: "/spam-" in p),
        (3, lambda p, h, s: "/hard-ham-" in p),
        (2, lambda p, h, s: s > 30000),
        (2, lambda p, h, s: s < 1800),
        (2, lambda p, h, s: b"subject: re:" in h and "/easy-ham-2/" in p),
        (2, lambda p, h, s: b"iso-8859" in h),
        (1, lambda p, h, s: b"from:" in h and b"hotmail.com" in h),
        (1, lambda p, h, s: b"from:" in h and b"yahoo.com" in h),
        (1, lambda p, h, s: b"x-priority: 1" in h),
    ]
    chosen = []
    # Walk with a fixed stride so that picks spread over the corpus.
    order = paths[::7] + [p for i, p in enumerate(paths) if i % 7]
    for want, pred in buckets:
        got = 0
        for p in order:
            if got >= want:
                break
            if p in chosen:
                continue
            h, s = head(p)
            if pred(p, h, s):
                chosen.append(p)
                got += 1
    for p in paths[::97]:
        if len(chosen) >= n:
            break
        if p not in chosen:
            chosen.append(p)
    return chosen[:n]


SCORES = ["-2.1", "0.0", "1.3", "3.9", "5.0", "7.6", "12.4", "2.5", "4.6", "25.0"]
DETAILS = ["", "+lists", "+spam", "", "+work"]


def prepare_messages(paths, outdir):
    """Writes NN.eml (From_ line dropped, the milter's spam headers and a
    virus-scan header added for most) and returns [(name, path, env)]."""
    os.makedirs(outdir, exist_ok=True)
    out = []
    for i, p in enumerate(paths):
        raw = open(p, "rb").read()
        sender = from_line_sender(raw)
        if raw.startswith(b"From "):
            raw = raw[raw.find(b"\n") + 1:]
        add = []
        if i % 4 != 0:
            sc = SCORES[i % len(SCORES)]
            spam = "Yes" if float(sc) >= 5.0 else "No"
            add.append("X-Spam-Flag: %s" % spam.upper())
            add.append("X-Spam-Score: %s" % sc)
            add.append("X-Spam-Status: %s, score=%s required=5.0 tests=SLUICE_TEST" % (spam, sc))
        if i % 5 == 1:
            add.append("X-Virus-Scan: Found to be clean.")
        elif i % 5 == 3:
            add.append("X-Virus-Scan: Found to be infected.")
        raw = "".join(h + "\n" for h in add).encode() + raw
        name = "m%02d" % i
        dst = os.path.join(outdir, name + ".eml")
        with open(dst, "wb") as f:
            f.write(raw)
        env = {"sender": sender,
               "recipient": "sluicetest%s@example.org" % DETAILS[i % len(DETAILS)],
               "detail": DETAILS[i % len(DETAILS)][1:],
               "source": os.path.relpath(p, os.path.dirname(os.path.dirname(p)))}
        out.append((name, dst, env))
    return out


# ---------------------------------------------------------------------------
# worker directories


def precreated_folders(scripts):
    """Every literal fileinto target without :create, except the ones that
    scripts expect to be missing."""
    missing = {"NoSuchFolder", "Missing.Folder", "Nope", "Never"}
    names = set()
    for s in scripts + [os.path.join(HERE, d, f) for d in ("personal", "global")
                        for f in os.listdir(os.path.join(HERE, d))]:
        for line in open(s, encoding="utf-8"):
            if ":create" in line:
                continue
            for m in re.finditer(r'fileinto\s+(?::copy\s+|:flags\s+(?:"[^"]*"|\[[^\]]*\])\s+)*"([^"$]+)"', line):
                names.add(m.group(1))
    names.update(["Junk"])
    return sorted(names - missing - {"INBOX"})


def make_worker(work, k, sluice_conf):
    w = os.path.join(work, "w%d" % k)
    shutil.rmtree(w, ignore_errors=True)
    os.makedirs(w)
    for d in ("bin", "libexec", "personal", "global"):
        shutil.copytree(os.path.join(HERE, d), os.path.join(w, {"personal": "sieve"}.get(d, d)))
    for d in ("outbox", "run", "state", "home"):
        os.makedirs(os.path.join(w, d))
    for name in ("pigeonhole.conf", "sluice.conf"):
        t = open(os.path.join(HERE, name), encoding="utf-8").read()
        with open(os.path.join(w, name), "w", encoding="utf-8") as f:
            f.write(t.replace("@WORK@", w))
    return w


KEYWORDS = ["$label1", "Junk", "NonJunk", "$Important"]


def reset_maildir(w, folders):
    md = os.path.join(w, "Maildir")
    shutil.rmtree(md, ignore_errors=True)
    for f in [""] + ["." + x for x in folders]:
        d = os.path.join(md, f)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(d, sub))
        if f:
            open(os.path.join(d, "maildirfolder"), "w").close()
        with open(os.path.join(d, "dovecot-keywords"), "w") as kf:
            kf.write("".join("%d %s\n" % (i, k) for i, k in enumerate(KEYWORDS)))
    for d in ("outbox", "home"):
        shutil.rmtree(os.path.join(w, d), ignore_errors=True)
        os.makedirs(os.path.join(w, d))
    return md


SYSFLAGS = {"S": "\\Seen", "F": "\\Flagged", "R": "\\Answered", "T": "\\Deleted", "D": "\\Draft"}


def snapshot(md):
    """{folder: sorted [(hash, flags)]} for every folder on disk."""
    res = {}
    for entry in [""] + sorted(os.listdir(md)):
        d = os.path.join(md, entry)
        if entry and not (entry.startswith(".") and os.path.isdir(os.path.join(d, "cur"))):
            continue
        name = "INBOX" if entry == "" else entry[1:]
        kw = {}
        try:
            for line in open(os.path.join(d, "dovecot-keywords"), encoding="utf-8", errors="replace"):
                parts = line.split()
                if len(parts) == 2 and parts[0].isdigit():
                    kw[chr(ord("a") + int(parts[0]))] = parts[1]
        except OSError:
            pass
        msgs = []
        for sub in ("new", "cur"):
            for fn in sorted(os.listdir(os.path.join(d, sub))):
                data = open(os.path.join(d, sub, fn), "rb").read()
                flags = []
                if ":2," in fn:
                    for c in fn.split(":2,", 1)[1]:
                        if c in SYSFLAGS:
                            flags.append(SYSFLAGS[c])
                        elif c.islower():
                            flags.append(kw.get(c, "?kw-" + c))
                h = hashlib.sha256(data).hexdigest()[:12]
                msgs.append("%s %s" % (h, ",".join(sorted(f.lower() for f in flags)) or "-"))
        res[name] = sorted(msgs)
    return res


# ---------------------------------------------------------------------------
# sent mail


def unfold(v):
    return re.sub(r"\s+", " ", str(v or "")).strip()


def split_header_block(data):
    """Removes the leading X-Sieve / X-Sieve-Redirected-From headers that
    Pigeonhole adds to a redirect; returns (removed, rest)."""
    removed = {}
    while True:
        m = re.match(rb"(X-Sieve(?:-Redirected-From)?): ?(.*)\r?\n", data)
        if not m:
            return removed, data
        removed[m.group(1).decode().lower()] = m.group(2).decode(errors="replace").strip()
        data = data[m.end():]


def describe_mail(env_from, rcpts, data, orig_hash):
    """One normalised line per message sent."""
    data = data.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n"
    added, rest = split_header_block(data)
    msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data)
    auto = unfold(msg.get("Auto-Submitted")).lower()
    rcpt = " ".join(sorted(r.strip("<>").lower() for r in rcpts))
    frm = env_from.strip("<>")
    if "x-sieve-redirected-from" in added or hashlib.sha256(rest).hexdigest()[:12] == orig_hash:
        h = hashlib.sha256(rest).hexdigest()[:12]
        return "redirect from=<%s> to=<%s> redirected-from=%s body=%s" % (
            frm, rcpt, added.get("x-sieve-redirected-from", "-"),
            "original" if h == orig_hash else h)
    keys = ["From", "To", "Subject", "Auto-Submitted", "Precedence", "In-Reply-To", "References"]
    hdrs = " ".join('%s="%s"' % (k.lower(), unfold(msg.get(k))) for k in keys if msg.get(k) is not None)
    if "rejected" in auto:
        kind = "reject"
    elif auto.startswith("auto-notified"):
        kind = "notify"
    elif auto.startswith("auto-replied"):
        kind = "vacation"
    else:
        kind = "mail"
    text = b""
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True) or b""
            break
    text = re.sub(rb"\s+", b" ", text).strip()
    extra = ""
    if kind == "vacation":
        extra = " text=%s" % hashlib.sha256(text).hexdigest()[:12]
    elif kind == "reject":
        extra = " type=%s" % msg.get_content_type()
    return "%s from=<%s> to=<%s> %s%s" % (kind, frm, rcpt, hdrs, extra)


def pigeonhole_sent(stdout, stderr, orig_hash):
    """sieve-test -e prints each message it would send, then
    RECIPIENT: lines, START MESSAGE:, END MESSAGE (with stdout unbuffered);
    the envelope sender is in its log ("sending message from <x>:")."""
    senders = re.findall(rb"sending message from <([^>]*)>:", stderr)
    out = []
    pat = re.compile(rb"((?:\nRECIPIENT: [^\n]*)+)\nSTART MESSAGE:\nEND MESSAGE\n")
    pos = 0
    for i, m in enumerate(pat.finditer(stdout)):
        data = stdout[pos:m.start()]
        rcpts = [r.decode(errors="replace") for r in re.findall(rb"RECIPIENT: ([^\n]*)", m.group(1))]
        sender = senders[i].decode(errors="replace") if i < len(senders) else "?"
        out.append(describe_mail(sender, rcpts, data, orig_hash))
        pos = m.end()
    return sorted(out)


def outbox_sent(outbox, orig_hash):
    """The fake sendmail's records: ARGC, ARG lines, blank, message."""
    out = []
    for fn in sorted(os.listdir(outbox)):
        if not fn.startswith("mail.") or fn.endswith(".tmp"):
            continue
        raw = open(os.path.join(outbox, fn), "rb").read()
        head, _, data = raw.partition(b"\n\n")
        args = [l[4:].decode(errors="replace") for l in head.split(b"\n") if l.startswith(b"ARG ")]
        sender, rcpts, i, dashdash = "?", [], 0, False
        while i < len(args):
            a = args[i]
            if dashdash or not a.startswith("-"):
                rcpts.append(a)
            elif a == "--":
                dashdash = True
            elif a in ("-f", "-r"):
                sender = args[i + 1] if i + 1 < len(args) else ""
                i += 1
            elif a.startswith("-f") or a.startswith("-r"):
                sender = a[2:]
            elif a in ("-F", "-o", "-N", "-R", "-V"):
                i += 1
            i += 1
        out.append(describe_mail(sender, rcpts, data, orig_hash))
    return sorted(out)


def pipes(outbox):
    return sorted(open(os.path.join(outbox, fn)).read().strip()
                  for fn in os.listdir(outbox) if fn.startswith("pipe."))


# ---------------------------------------------------------------------------
# action lists


def norm_flags(s):
    return ",".join(sorted(f.lower() for f in s.split()))


def pigeonhole_actions(text):
    """sieve-test's "Performed actions:" / "Implicit keep:" listing in the
    common form: store F [flags=..] [create] [copy], implicit-keep INBOX
    [flags=..], redirect A [copy], reject, vacation, notify, pipe, discard."""
    acts = []
    section = None
    cur = None
    for line in text.splitlines():
        if line.startswith("Performed actions:"):
            section = "perf"
            continue
        if line.startswith("Implicit keep:"):
            section = "ikeep"
            continue
        if section is None:
            continue
        m = re.match(r" \* (.*)$", line)
        if m:
            cur = {"what": m.group(1), "opts": [], "section": section}
            acts.append(cur)
            continue
        m = re.match(r"\s+\+ (.*)$", line)
        if m and cur is not None:
            cur["opts"].append(m.group(1))
            continue
        m = re.match(r"\s+=> (\w+)\s*: ?(.*)$", line)
        if m and cur is not None:
            cur["opts"].append("%s=%s" % (m.group(1), m.group(2).strip()))
    out = []
    for a in acts:
        w, opts = a["what"], a["opts"]
        copy = " copy" if "preserve implicit keep" in opts else ""
        flags = ""
        for o in opts:
            if o.startswith("add IMAP flags: "):
                flags = " flags=" + norm_flags(o[len("add IMAP flags: "):])
        m = re.match(r"store message in folder: (.*)$", w)
        if m:
            if a["section"] == "ikeep":
                out.append("implicit-keep %s%s" % (m.group(1), flags))
            else:
                create = " create" if any(o.startswith("create mailbox") for o in opts) else ""
                out.append("store %s%s%s%s" % (m.group(1), flags, create, copy))
            continue
        m = re.match(r"redirect message to: <?([^>]*)>?$", w)
        if m:
            out.append("redirect %s%s" % (m.group(1).lower(), copy))
            continue
        m = re.match(r"reject message with reason: (.*)$", w)
        if m:
            out.append("reject")
            continue
        if w.startswith("send vacation message"):
            kv = dict(o.split("=", 1) for o in opts if "=" in o)
            out.append("vacation seconds=%s subject=%s" % (kv.get("seconds", "?"), kv.get("subject", "")))
            continue
        m = re.match(r"send notification with method '([^']*)'", w)
        if m:
            # the recipients, To and Cc alike (sluice lists them as one)
            to = sorted(o.split(": ", 1)[1].lower() for o in opts if o.startswith(("To: ", "Cc: ")))
            kv = dict(o.split("=", 1) for o in opts if "=" in o)
            out.append("notify %s to=%s importance=%s" % (m.group(1), ",".join(to), kv.get("importance", "?")))
            continue
        m = re.match(r"pipe message to external program '([^']*)'", w)
        if m:
            kv = dict(o.split("=", 1) for o in opts if "=" in o)
            out.append("pipe %s%s%s" % (m.group(1), " try" if kv.get("try") == "yes" else "", copy))
            continue
        if w.startswith("track duplicate"):
            continue	# bookkeeping, not an action the user sees
        if w.startswith("discard"):
            out.append("discard")
            continue
        out.append("other " + w)
    return sorted(out)


def sluice_actions(stdout):
    """`sluice test --json` in the common form. Its shape:
    {"messages": [{"actions": [{"action": "fileinto", "arg": "Lists",
    "text": "fileinto \"Lists\" :flags \"\\\\Seen $label1\"", "copy": false,
    "implicit": false, ...}], "errors": [...]}]}; flags, :create and the
    vacation/notify details are read from "text" when not given as fields."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        return ["unparsed " + stdout.strip().replace("\n", " | ")[:300]]
    if isinstance(doc, dict) and "messages" in doc:
        doc = doc["messages"][0] if doc["messages"] else {}
    elif isinstance(doc, list):
        doc = doc[0] if doc else {}
    out = []
    if doc.get("errors"):
        out.append("error")
    for a in doc.get("actions", []):
        t = a.get("action") or a.get("type") or "?"
        text = a.get("text", "")
        arg = a.get("folder") or a.get("mailbox") or a.get("arg") or a.get("address") or ""
        flags = a.get("flags")
        if flags is None:
            m = re.search(r':flags "((?:[^"\\]|\\.)*)"', text)
            flags = re.sub(r"\\(.)", r"\1", m.group(1)).split() if m else []
        fl = " flags=" + ",".join(sorted(f.lower() for f in flags)) if flags else ""
        copy = " copy" if a.get("copy") else ""
        create = " create" if a.get("create") or ":create" in text else ""
        if t in ("keep", "fileinto", "store"):
            box = arg or "INBOX"
            if a.get("implicit"):
                out.append("implicit-keep %s%s" % (box, fl))
            else:
                out.append("store %s%s%s%s" % (box, fl, create, copy))
        elif t == "redirect":
            out.append("redirect %s%s" % (arg.lower(), copy))
        elif t in ("reject", "ereject"):
            out.append(t)
        elif t == "vacation":
            out.append("vacation seconds=%s subject=%s" % (a.get("seconds", a.get("period", "?")), a.get("subject", "")))
        elif t == "notify":
            to = a.get("to") or a.get("recipients") or []
            if isinstance(to, str):
                to = [to]
            out.append("notify %s to=%s importance=%s" % (a.get("method", "mailto:"), ",".join(sorted(x.lower() for x in to)), a.get("importance", "?")))
        elif t == "pipe":
            out.append("pipe %s%s%s" % (arg, " try" if a.get("try") else "", copy))
        elif t == "discard":
            out.append("discard")
        elif t in ("addheader", "deleteheader", "filter", "duplicate", "store_mark", "mark"):
            continue	# message edits and bookkeeping: not in Pigeonhole's list
        else:
            out.append("other %s %s" % (t, arg))
    return sorted(out)


# ---------------------------------------------------------------------------
# one script


def run(cmd, env, stdin=None, timeout=30):
    try:
        p = subprocess.run(cmd, env=env, stdin=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return "timeout", b"", b""


def base_env(w):
    return {"PATH": "/usr/bin:/bin", "HOME": os.path.join(w, "home"),
            "USER": os.environ.get("USER", "sluicetest"),
            "LOGNAME": os.environ.get("USER", "sluicetest"), "SHELL": "/bin/sh",
            "LANG": "C", "TZ": "UTC"}


def pigeonhole_side(w, script, msg, env, folders):
    md = reset_maildir(w, folders)
    conf = os.path.join(w, "pigeonhole.conf")
    orig = open(msg, "rb").read()
    oh = hashlib.sha256(orig).hexdigest()[:12]
    common = ["-c", conf, "-f", env["sender"], "-r", env["recipient"], "-a", env["recipient"]]
    rc, out, err = run(["stdbuf", "-o0", "sieve-test"] + common +
                       ["-e", "-l", "maildir:" + md, script, msg], base_env(w))
    # sieve-test exits 1 when the script failed at run time and the
    # implicit keep took over; dovecot-lda (and sluice) exit 0 then.
    if rc == 1 and b"resolved with successful implicit keep" in err:
        rc = 0
    res = {"exit": "error" if rc not in (0,) else "0",
           "maildir": snapshot(md),
           "sent": pigeonhole_sent(out, err, oh),
           "pipe": pipes(os.path.join(w, "outbox"))}
    log = (out[-2000:] + b"\n" + err[-2000:]).decode(errors="replace")
    rc2, out2, err2 = run(["sieve-test"] + common + [script, msg], base_env(w))
    res["actions"] = pigeonhole_actions(out2.decode(errors="replace")) if rc2 == 0 else ["error"]
    compiled = not re.search(rb"failed to compile", err + err2)
    return res, compiled, log + "\n" + err2.decode(errors="replace")[-1000:]


SANITIZER_EXIT = 86	# tests/integ/lib.sh: ASAN_OPTIONS/UBSAN_OPTIONS exitcode
SANITIZER_REPORTS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer",
                     b": runtime error: ", b"WARNING: ThreadSanitizer")


def crash(what, rc, err):
    """A description when a sluice run crashed, hung or a sanitizer
    reported something (never an expected difference), else None. Other
    stderr text (warnings, logs) is not a crash."""
    if rc == "timeout":
        return "%s timed out" % what
    if rc == SANITIZER_EXIT or any(m in err for m in SANITIZER_REPORTS):
        lines = [l for l in err.decode(errors="replace").splitlines()
                 if "Sanitizer" in l or "runtime error" in l]
        return "%s: sanitizer report (exit %s): %s" % (what, rc, " | ".join(lines[:3]))
    if isinstance(rc, int) and rc < 0:
        return "%s killed by signal %d" % (what, -rc)
    return None


def sluice_side(w, sluice, script, msg, env, folders):
    md = reset_maildir(w, folders)
    conf = os.path.join(w, "sluice.conf")
    orig = open(msg, "rb").read()
    oh = hashlib.sha256(orig).hexdigest()[:12]
    e = base_env(w)
    # A sanitizer build: keep its options (exit code 86 on a report).
    e.update({k: os.environ[k] for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
              if k in os.environ})
    e.update({"RECIPIENT": env["recipient"], "ORIGINAL_RECIPIENT": env["recipient"],
              "SENDER": env["sender"], "EXTENSION": env["detail"]})
    cmd = [sluice, "deliver", "-c", conf, "--rules", script, "--maildir", md, "-f", env["sender"]]
    if env["detail"]:
        cmd += ["-a", env["detail"]]
    with open(msg, "rb") as f:
        rc, out, err = run(cmd, e, stdin=f)
    res = {"exit": "0" if rc == 0 else "error",
           "maildir": snapshot(md),
           "sent": outbox_sent(os.path.join(w, "outbox"), oh),
           "pipe": pipes(os.path.join(w, "outbox"))}
    log = "deliver rc=%s: %s" % (rc, (out + err).decode(errors="replace")[-1500:])
    reset_maildir(w, folders)	# `sluice test` must write nothing; run it clean
    rc2, out2, err2 = run([sluice, "test", "--json", "-c", conf, "-f", env["sender"],
                           "-r", env["recipient"], script, msg], e)
    res["actions"] = sluice_actions(out2.decode(errors="replace")) if rc2 == 0 else \
        ["error rc=%s %s" % (rc2, err2.decode(errors="replace").strip()[:200])]
    res["crash"] = [c for c in (crash("sluice deliver", rc, err), crash("sluice test", rc2, err2)) if c]
    return res, log


def compare(a, b):
    """[(key, detail)] for every aspect where Pigeonhole (a) and sluice (b)
    differ."""
    diffs = []
    if a["exit"] != b["exit"]:
        diffs.append(("exit", "pigeonhole=%s sluice=%s" % (a["exit"], b["exit"])))
    fa, fb = set(a["maildir"]), set(b["maildir"])
    if fa != fb:
        diffs.append(("folders", "only pigeonhole: %s; only sluice: %s" % (sorted(fa - fb), sorted(fb - fa))))
    for f in sorted(fa & fb):
        ma, mb = a["maildir"][f], b["maildir"][f]
        if ma == mb:
            continue
        ha = sorted(x.split()[0] for x in ma)
        hb = sorted(x.split()[0] for x in mb)
        key = "messages" if ha != hb else "flags"
        diffs.append(("%s:%s" % (key, f), "pigeonhole=%s sluice=%s" % (ma, mb)))
    for k in ("sent", "pipe", "actions"):
        if a[k] != b[k]:
            key = k
            if k == "actions" and pipe_keep_only(a[k], b[k]):
                key = "actions:pipe-keep"
            diffs.append((key, "pigeonhole=%s sluice=%s" % (a[k], b[k])))
    return diffs


def pipe_keep_only(pa, pb):
    """True when Pigeonhole's list (pa) differs from sluice's (pb) only
    by an implicit keep next to a pipe without :copy: Pigeonhole cancels
    that keep when the pipe commits, so sieve-test lists it; sluice lists
    the outcome of a successful pipe (its own key, so that an expected
    row for it hides nothing else)."""
    if not any(x.startswith("pipe ") and not x.endswith(" copy") for x in pa):
        return False
    return [x for x in pa if not x.startswith("implicit-keep ")] == \
        [x for x in pb if not x.startswith("implicit-keep ")] and \
        not any(x.startswith("implicit-keep ") for x in pb)


def outcome(res):
    """A short summary of what Pigeonhole did, to show scripts branch."""
    boxes = ["%s:%d" % (f, len(m)) for f, m in sorted(res["maildir"].items()) if m]
    return " ".join(boxes + ["sent:%d" % len(res["sent"])] * bool(res["sent"]) +
                    ["pipe:%d" % len(res["pipe"])] * bool(res["pipe"]) +
                    ["exit:" + res["exit"]] * (res["exit"] != "0"))


# ---------------------------------------------------------------------------
# expected differences


def load_expected(path):
    """Rows of the table in EXPECTED-DIFFERENCES.md:
    | `SCRIPT` | `KEY` | reason |   (SCRIPT and KEY may use * globs; KEY is
    a difference key as printed: exit, folders, messages:FOLDER,
    flags:FOLDER, sent, pipe, actions, or KEY@MESSAGE for one message)."""
    rows = []
    if not os.path.exists(path):
        return rows
    for line in open(path, encoding="utf-8"):
        m = re.match(r"\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|", line)
        if m:
            rows.append((m.group(1), m.group(2)))
    return rows


def is_expected(rows, script, key, msg):
    for s, k in rows:
        if not fnmatch.fnmatchcase(script, s):
            continue
        kk, _, km = k.partition("@")
        if fnmatch.fnmatchcase(key, kk) and (not km or fnmatch.fnmatchcase(msg, km)):
            return True
    return False


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus-list", help="file: corpus message paths, one a line")
    ap.add_argument("--prepare", metavar="DIR", help="only select and prepare the messages into DIR (may run as root)")
    ap.add_argument("--msgs", metavar="DIR", help="use the messages prepared by --prepare")
    ap.add_argument("--sluice", help="the sluice binary; without it, the Pigeonhole side only")
    ap.add_argument("--work", default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default="*")
    ap.add_argument("--messages", type=int, default=24)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--sluice-conf", help="another sluice.conf template (default: sluice.conf here)")
    o = ap.parse_args()

    if o.prepare:
        paths = sorted(l.strip() for l in open(o.corpus_list) if l.strip())
        msgs = prepare_messages(select_messages(paths, o.messages), o.prepare)
        with open(os.path.join(o.prepare, "index.json"), "w") as f:
            json.dump(msgs, f, indent=1)
        return 0
    if os.geteuid() == 0:
        sys.exit("run.py: run as an ordinary user (t-sieve-diff.sh does that)")
    work = o.work or os.path.join("/tmp", "sieve-diff.%d" % os.getpid())
    os.makedirs(work, exist_ok=True)
    if o.msgs:
        msgs = [tuple(x) for x in json.load(open(os.path.join(o.msgs, "index.json")))]
    elif o.corpus_list:
        paths = sorted(l.strip() for l in open(o.corpus_list) if l.strip())
        msgs = prepare_messages(select_messages(paths, o.messages), os.path.join(work, "msgs"))
    else:
        sys.exit("run.py: --msgs DIR or --corpus-list FILE needed")
    scripts = sorted(os.path.join(HERE, "scripts", f) for f in os.listdir(os.path.join(HERE, "scripts"))
                     if f.endswith(".sieve") and fnmatch.fnmatchcase(f[:-6], o.only))
    folders = precreated_folders(scripts)
    expected = load_expected(os.path.join(HERE, "EXPECTED-DIFFERENCES.md"))
    print("#\t%d scripts x %d messages; precreated folders: %s" % (len(scripts), len(msgs), " ".join(folders)))
    print("#\tmessages: %s" % " ".join("%s=%s" % (n, e["source"]) for n, _, e in msgs))
    sys.stdout.flush()

    workers = queue.Queue()
    for k in range(o.jobs):
        w = make_worker(work, k, None)
        if o.sluice_conf:
            t = open(o.sluice_conf, encoding="utf-8").read()
            with open(os.path.join(w, "sluice.conf"), "w", encoding="utf-8") as f:
                f.write(t.replace("@WORK@", w))
        workers.put(w)

    def one(script):
        w = workers.get()
        try:
            name = os.path.basename(script)[:-6]
            # Pigeonhole compiles into .svbin next to a writable script: use a copy.
            sc = os.path.join(w, name + ".sieve")
            shutil.copyfile(script, sc)
            folders = precreated_folders([script])
            rows = []
            for mname, mpath, env in msgs:
                a, compiled, alog = pigeonhole_side(w, sc, mpath, env, folders)
                row = {"msg": mname, "pigeonhole": a, "compiled": compiled}
                if o.sluice:
                    b, blog = sluice_side(w, o.sluice, sc, mpath, env, folders)
                    row["sluice"] = b
                    row["diffs"] = compare(a, b)
                    row["log"] = {"pigeonhole": alog[-1500:], "sluice": blog}
                else:
                    row["log"] = {"pigeonhole": alog[-1500:]}
                rows.append(row)
            return name, rows
        finally:
            workers.put(w)

    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=o.jobs) as ex:
        for name, rows in ex.map(one, scripts):
            results[name] = rows

    n_fail = 0
    table = {"agree": 0, "expected": 0, "differ": 0}
    for name in sorted(results):
        rows = results[name]
        if not all(r["compiled"] for r in rows):
            crashes = [c for r in rows for c in r.get("sluice", {}).get("crash", [])]
            if is_expected(expected, name, "pigeonhole-compile", "") and not crashes:
                # An expected difference passes: "ok", the reason in the
                # description (a "not ok" would fail the suite).
                table["expected"] += 1
                print("ok\t%s: Pigeonhole cannot compile the script "
                      "(expected difference: EXPECTED-DIFFERENCES.md)" % name)
                for l in rows[0]["log"]["pigeonhole"].strip().splitlines()[-1:]:
                    print("#\t  %s" % l)
                continue
            n_fail += 1
            print("not ok\t%s: Pigeonhole cannot compile the script%s" % (
                name, "; sluice crashed: " + crashes[0] if crashes else ""))
            for l in rows[0]["log"]["pigeonhole"].strip().splitlines()[-6:]:
                print("#\t  %s" % l)
            continue
        outcomes = sorted(set(outcome(r["pigeonhole"]) for r in rows))
        if not o.sluice:
            print("ok\t%s: Pigeonhole runs it on %d messages, %d distinct outcomes" % (name, len(rows), len(outcomes)))
            if o.verbose:
                for x in outcomes:
                    print("#\t  %s" % x)
            continue
        unexpected, expected_n = [], 0
        for r in rows:
            for c in r["sluice"].get("crash", []):
                unexpected.append((r, "crash", c))
            for key, detail in r["diffs"]:
                if is_expected(expected, name, key, r["msg"]):
                    expected_n += 1
                else:
                    unexpected.append((r, key, detail))
        if unexpected:
            n_fail += 1
            table["differ"] += 1
            msgs_bad = sorted(set(r["msg"] for r, _, _ in unexpected))
            print("not ok\t%s: %d of %d messages differ from Pigeonhole (%s)" % (
                name, len(msgs_bad), len(rows), ", ".join(sorted(set(k for _, k, _ in unexpected)))))
            shown = 0
            for r, key, detail in unexpected:
                if shown >= 4:
                    break
                shown += 1
                print("#\t  %s %s: %s" % (r["msg"], key, detail[:600]))
                if key == "exit" or "error" in detail:
                    print("#\t    sluice log: %s" % r["log"]["sluice"][:400].replace("\n", " | "))
        else:
            if expected_n:
                table["expected"] += 1
            else:
                table["agree"] += 1
            print("ok\t%s: %d messages agree with Pigeonhole (%d distinct outcomes%s)" % (
                name, len(rows), len(outcomes),
                ", %d expected differences" % expected_n if expected_n else ""))
    if o.sluice:
        print("#\tscripts agreeing: %d, agreeing up to listed differences: %d, differing: %d" % (
            table["agree"], table["expected"], table["differ"]))
    if o.json:
        with open(o.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
