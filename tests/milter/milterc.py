#!/usr/bin/env python3
"""milterc.py - a small milter protocol client for sluice-milter's tests.

It speaks the milter protocol (version 6) the way Postfix's milter8.c
does: option negotiation (with the milter's macro lists), macros before
each stage, connect/HELO/MAIL/RCPT/header/EOH/body/end-of-message, and it
collects the modification actions and the final verdict. It can also send
malformed packets and run many connections at once.

    milterc.py SOCK run [--from A] [--rcpt A]... [--client IP] [--helo H]
               [--name NAME] [--auth USER] [--msg FILE | --gen-big N]
    milterc.py SOCK bad {zero,huge,unknown,truncated,short-optneg,garbage}
    milterc.py SOCK abort              (abort mid-message, then a full one)
    milterc.py SOCK concurrent N [--msg FILE]

SOCK is unix:PATH or inet:PORT@HOST. "run" prints one line per action:
    insheader INDEX NAME VALUE   (value with \\n shown as \\n)
    chgheader INDEX NAME VALUE   (empty VALUE: delete)
    addheader NAME VALUE
    reply CODE TEXT
    verdict accept|reject|tempfail|continue|discard
Exit status: 0 when the milter answered every step, 1 otherwise.
"""
import argparse
import socket
import struct
import sys
import threading

SMFI_VERSION = 6
# actions and protocol steps Postfix offers (milter8.c, Postfix 3.x)
OFFER_ACTIONS = 0x1FF
OFFER_PROTO = 0x1FFFFF
SMFIP_NOCONNECT, SMFIP_NOHELO, SMFIP_NOMAIL, SMFIP_NORCPT = 1, 2, 4, 8
SMFIP_NOBODY, SMFIP_NOHDRS, SMFIP_NOEOH = 0x10, 0x20, 0x40
SMFIP_NOUNKNOWN, SMFIP_NODATA, SMFIP_SKIP = 0x100, 0x200, 0x400
# the no-reply bit of each command (mfdef.h): the MTA sends the next
# packet without waiting when the milter asked for it (the milter must not
# answer; Postfix honours all of them)
NR_BIT = {'C': 0x1000, 'H': 0x2000, 'M': 0x4000, 'R': 0x8000, 'T': 0x10000,
          'U': 0x20000, 'L': 0x80, 'N': 0x40000, 'B': 0x80000}
STAGES = {0: 'C', 1: 'H', 2: 'M', 3: 'R', 4: 'T', 5: 'E', 6: 'N'}
TIMEOUT = 60


class MilterError(Exception):
    pass


def connect(spec):
    if spec.startswith('unix:') or spec.startswith('local:'):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect(spec.split(':', 1)[1])
    elif spec.startswith('inet:'):
        port, host = spec[5:].split('@', 1)
        s = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    else:
        raise MilterError('bad socket ' + spec)
    return s


def recv_exact(s, n):
    b = b''
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            raise MilterError('connection closed by the milter')
        b += chunk
    return b


def send_pkt(s, cmd, data=b''):
    s.sendall(struct.pack('!I', len(data) + 1) + cmd.encode() + data)


def recv_pkt(s):
    (n,) = struct.unpack('!I', recv_exact(s, 4))
    if n < 1 or n > 16 * 1024 * 1024:
        raise MilterError('bad reply length %d' % n)
    body = recv_exact(s, n)
    return chr(body[0]), body[1:]


def cstrs(data):
    return [x.decode('utf-8', 'replace') for x in data.split(b'\0')[:-1]]


class Session:
    def __init__(self, spec):
        self.s = connect(spec)
        self.actions = []
        self.proto = 0
        self.macros = {}

    def optneg(self):
        send_pkt(self.s, 'O', struct.pack('!III', SMFI_VERSION,
                                          OFFER_ACTIONS, OFFER_PROTO))
        cmd, data = recv_pkt(self.s)
        if cmd != 'O' or len(data) < 12:
            raise MilterError('bad option negotiation reply %r' % cmd)
        ver, self.act, self.proto = struct.unpack('!III', data[:12])
        rest = data[12:]
        while len(rest) >= 4:
            (stage,) = struct.unpack('!I', rest[:4])
            end = rest.index(b'\0', 4)
            self.macros[stage] = rest[4:end].decode().split()
            rest = rest[end + 1:]
        return ver

    def send_macros(self, stage, values):
        names = self.macros.get(stage)
        data = b''
        for k, v in values.items():
            if names is not None and k not in names:
                continue
            data += k.encode() + b'\0' + v.encode() + b'\0'
        send_pkt(self.s, 'D', STAGES[stage].encode() + data)

    def step(self, cmd, data=b''):
        """Send a command, read replies up to a verdict ('continue' at
        once for a step the milter takes without a reply)."""
        send_pkt(self.s, cmd, data)
        if self.proto & NR_BIT.get(cmd, 0):
            return 'continue'
        while True:
            c, d = recv_pkt(self.s)
            if c == 'c':
                return 'continue'
            if c == 'a':
                return 'accept'
            if c == 'r':
                return 'reject'
            if c == 't':
                return 'tempfail'
            if c == 'd':
                return 'discard'
            if c == 's':
                return 'skip'
            if c == 'y':
                text = d.rstrip(b'\0').decode('utf-8', 'replace')
                self.actions.append('reply ' + text)
                code = text[:1]
                return 'reject' if code == '5' else 'tempfail'
            if c == 'p':
                continue
            if c in 'im':
                (idx,) = struct.unpack('!I', d[:4])
                f = cstrs(d[4:])
                name = 'insheader' if c == 'i' else 'chgheader'
                self.actions.append('%s %d %s %s' % (
                    name, idx, f[0], f[1].replace('\n', '\\n')))
                continue
            if c == 'h':
                f = cstrs(d)
                self.actions.append('addheader %s %s' % (
                    f[0], f[1].replace('\n', '\\n')))
                continue
            self.actions.append('other %s' % c)

    def close(self):
        try:
            send_pkt(self.s, 'Q')
        except OSError:
            pass
        self.s.close()


def parse_msg(raw):
    """Header fields (name, value) and body (CRLF line ends)."""
    raw = raw.replace(b'\r\n', b'\n')
    if raw.startswith(b'From '):
        raw = raw.split(b'\n', 1)[1] if b'\n' in raw else b''
    if b'\n\n' in raw:
        head, body = raw.split(b'\n\n', 1)
    else:
        head, body = raw, b''
    fields = []
    for line in head.split(b'\n'):
        if line[:1] in (b' ', b'\t') and fields:
            fields[-1][1] += b'\n' + line
        elif b':' in line:
            n, v = line.split(b':', 1)
            fields.append([n.strip(), v.lstrip(b' ')])
    return fields, body.replace(b'\n', b'\r\n')


def transaction(sess, a, raw):
    """One full message; the verdict of the first step that ends it."""
    v = sess.optneg()
    if v < 2:
        raise MilterError('milter version %d' % v)
    macros = {'j': 'mx.test', '{daemon_name}': 'smtpd',
              '{client_addr}': a.client, '{client_name}': a.name or 'unknown'}
    if not sess.proto & SMFIP_NOCONNECT:
        sess.send_macros(0, macros)
        fam = b'6' if ':' in a.client else b'4'
        r = sess.step('C', (a.name or '[%s]' % a.client).encode() + b'\0' +
                      fam + struct.pack('!H', 25) + a.client.encode() + b'\0')
        if r != 'continue':
            return r
    if not sess.proto & SMFIP_NOHELO:
        r = sess.step('H', a.helo.encode() + b'\0')
        if r != 'continue':
            return r
    mm = {'i': a.qid, '{mail_addr}': a.sender}
    if a.auth:
        mm['{auth_authen}'] = a.auth
    sess.send_macros(2, mm)
    r = sess.step('M', b'<' + a.sender.encode() + b'>\0')
    if r != 'continue':
        return r
    ok = 0
    for rc in a.rcpt or ['user@example.org']:
        sess.send_macros(3, {'i': a.qid, '{rcpt_addr}': rc})
        r = sess.step('R', b'<' + rc.encode() + b'>\0')
        if r == 'continue':
            ok += 1
    if ok == 0:
        return r
    fields, body = parse_msg(raw)
    if not sess.proto & SMFIP_NOHDRS:
        for n, v in fields:
            r = sess.step('L', n + b'\0' + v + b'\0')
            if r != 'continue':
                return r
    if not sess.proto & SMFIP_NOEOH:
        r = sess.step('N')
        if r != 'continue':
            return r
    if not sess.proto & SMFIP_NOBODY:
        for i in range(0, len(body), 65535):
            r = sess.step('B', body[i:i + 65535])
            if r == 'skip':
                break
            if r != 'continue':
                return r
    sess.send_macros(5, {'i': a.qid})
    r = sess.step('E')
    return 'accept' if r == 'continue' else r


def cmd_run(a):
    raw = open(a.msg, 'rb').read() if a.msg else sample(a.gen_big)
    sess = Session(a.sock)
    try:
        r = transaction(sess, a, raw)
    finally:
        print('protocol 0x%x' % sess.proto)
        for line in sess.actions:
            print(line)
        sess.close()
    print('verdict ' + r)
    return 0


def sample(big=0):
    body = b'Hello,\n\nthis is a test message.\n'
    if big:
        line = b'x' * 76 + b'\n'
        body += line * (big // len(line) + 1)
    return (b'From: Alice <alice@example.com>\nTo: bob@example.org\n'
            b'Subject: test\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n'
            b'Message-ID: <t1@example.com>\n\n' + body)


def cmd_bad(a):
    """A malformed packet, then the connection is closed."""
    s = connect(a.sock)
    k = a.kind
    try:
        if k == 'zero':
            s.sendall(struct.pack('!I', 0))
        elif k == 'huge':
            s.sendall(struct.pack('!I', 0x7fffffff) + b'O' + b'\0' * 100)
        elif k == 'unknown':
            send_pkt(s, 'O', struct.pack('!III', 6, OFFER_ACTIONS,
                                         OFFER_PROTO))
            recv_pkt(s)
            send_pkt(s, 'Z', b'garbage\0')
        elif k == 'truncated':
            # a header packet that says 1000 bytes and stops at 10
            sess = Session.__new__(Session)
            sess.s, sess.actions, sess.macros, sess.proto = s, [], {}, 0
            sess.optneg()
            s.sendall(struct.pack('!I', 1000) + b'L' + b'Subject\0ab')
        elif k == 'short-optneg':
            send_pkt(s, 'O', b'\0\0')
        elif k == 'garbage':
            s.sendall(bytes(range(256)) * 4)
        try:
            s.settimeout(5)
            s.recv(100)
        except OSError:
            pass
    finally:
        s.close()
    return 0


def cmd_abort(a):
    """Abort in the middle of the body, then a whole message on the same
    connection: the milter must answer it normally."""
    sess = Session(a.sock)
    sess.optneg()
    sess.send_macros(0, {'{client_addr}': a.client})
    sess.step('C', b'[%s]\0' % a.client.encode() + b'4' +
              struct.pack('!H', 25) + a.client.encode() + b'\0')
    sess.step('H', a.helo.encode() + b'\0')
    sess.step('M', b'<a@example.com>\0')
    sess.step('R', b'<b@example.org>\0')
    sess.step('L', b'Subject\0half\0')
    sess.step('N')
    sess.step('B', b'first half of the body\r\n')
    send_pkt(sess.s, 'A')		# abort: no reply expected
    r = sess.step('M', b'<' + a.sender.encode() + b'>\0')
    r2 = sess.step('R', b'<b@example.org>\0')
    fields, body = parse_msg(sample())
    for n, v in fields:
        sess.step('L', n + b'\0' + v + b'\0')
    sess.step('N')
    sess.step('B', body)
    r3 = sess.step('E')
    r3 = 'accept' if r3 == 'continue' else r3
    for line in sess.actions:
        print(line)
    sess.close()
    print('verdict %s %s %s' % (r, r2, r3))
    return 0


def cmd_concurrent(a):
    raw = open(a.msg, 'rb').read() if a.msg else sample()
    n = a.n
    results = [None] * n
    barrier = threading.Barrier(n, timeout=120)

    def worker(i):
        try:
            sess = Session(a.sock)
            try:
                barrier.wait()		# all connections open at once
            except threading.BrokenBarrierError:
                pass
            results[i] = transaction(sess, a, raw)
            sess.close()
        except Exception as e:  # noqa: BLE001 - counted as a failure
            results[i] = 'error: %s' % e
    threading.stack_size(256 * 1024)
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    counts = {}
    for r in results:
        counts[r] = counts.get(r, 0) + 1
    for k in sorted(counts, key=str):
        print('%s %d' % (k, counts[k]))
    return 0 if counts.get('accept', 0) == n else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument('sock')
    sub = p.add_subparsers(dest='cmd', required=True)
    for name in ('run', 'abort', 'concurrent'):
        q = sub.add_parser(name)
        if name == 'concurrent':
            q.add_argument('n', type=int)
        q.add_argument('--from', dest='sender', default='alice@example.com')
        q.add_argument('--rcpt', action='append')
        q.add_argument('--client', default='192.0.2.10')
        q.add_argument('--name', default='')
        q.add_argument('--helo', default='mail.example.com')
        q.add_argument('--auth', default='')
        q.add_argument('--qid', default='4ABCDEF')
        q.add_argument('--msg')
        q.add_argument('--gen-big', type=int, default=0)
    q = sub.add_parser('bad')
    q.add_argument('kind', choices=['zero', 'huge', 'unknown', 'truncated',
                                    'short-optneg', 'garbage'])
    a = p.parse_args()
    try:
        return {'run': cmd_run, 'bad': cmd_bad, 'abort': cmd_abort,
                'concurrent': cmd_concurrent}[a.cmd](a)
    except (MilterError, OSError) as e:
        print('error: %s' % e, file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
