#!/usr/bin/env python3
"""Runs IMAP sessions with Python's imaplib and prints every result as one JSON object.

Used by crates/surel/tests/imap.rs, which asserts on the JSON.

  imap_session.py --port PORT --user NAME --password PW [--ssl | --starttls]
                  [--auth-plain] [--smtp-port PORT] OPS_JSON

OPS_JSON is a JSON list of ops; each op is a list [SESSION, COMMAND, ARG...]. SESSION names a
connection ("a", "b", ...), opened and logged in on first use. Each op appends one entry to
"results": {"typ": "OK", "data": [...], "untagged": {TYPE: [data, ...]}} (every untagged
response and response code seen during the command) or {"error": "..."} for a NO/BAD
(imaplib raises), and the run goes on. Strings are decoded as latin-1.

COMMANDs: capability, noop, logout, list [REF PATTERN], lsub, create NAME, delete NAME,
rename OLD NEW, subscribe NAME, unsubscribe NAME, status NAME ITEMS, select NAME,
examine NAME, append NAME FLAGS TEXT, fetch SET ITEMS, uid_fetch SET ITEMS, store SET OP FLAGS,
expunge, search CRITERIA, copy SET NAME, move SET NAME, enable CAP, raw LINE (one command, its
untagged lines recorded), idle_smtp FROM TO (IDLE, then deliver a message by SMTP to
--smtp-port, then wait for `EXISTS`; records the lines seen and the seconds it took).
Top-level keys: "welcome", "capabilities" (before login), "starttls", "login" per session.
The certificate is not verified (surel's default certificate is self-signed).
"""

import argparse
import base64
import imaplib
import json
import poplib
import smtplib
import ssl
import sys
import time


def text(b):
    if isinstance(b, bytes):
        return b.decode("latin-1")
    if isinstance(b, (list, tuple)):
        return [text(x) for x in b]
    return b


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


_append_untagged = imaplib.IMAP4._append_untagged


def _recording(self, typ, dat):
    """Keeps every untagged response (imaplib pops the ones a command asked for)."""
    self.__dict__.setdefault("seen", []).append((typ, text(dat)))
    _append_untagged(self, typ, dat)


imaplib.IMAP4._append_untagged = _recording


class Runner:
    def __init__(self, a):
        self.a = a
        self.sessions = {}
        self.out = {"results": [], "login": {}}

    def connect(self):
        a = self.a
        if a.ssl:
            m = imaplib.IMAP4_SSL(a.host, a.port, ssl_context=tls_context(), timeout=a.timeout)
        else:
            m = imaplib.IMAP4(a.host, a.port, timeout=a.timeout)
        return m

    def session(self, name):
        if name in self.sessions:
            return self.sessions[name]
        a = self.a
        m = self.connect()
        if not self.sessions:
            self.out["welcome"] = text(m.welcome)
            self.out["capabilities"] = list(m.capabilities)
        if a.starttls:
            typ, data = m.starttls(ssl_context=tls_context())
            self.out["starttls"] = [typ, text(data)]
            self.out["capabilities_after_starttls"] = list(m.capabilities)
        try:
            if a.auth_plain:
                token = f"\0{a.user}\0{a.password}".encode()
                typ, data = m.authenticate("PLAIN", lambda _: token)
            else:
                typ, data = m.login(a.user, a.password)
            self.out["login"][name] = [typ, text(data)]
        except imaplib.IMAP4.error as e:
            self.out["login"][name] = ["ERROR", str(e)]
        self.sessions[name] = m
        return m

    def untagged(self, m):
        got = {}
        for typ, dat in m.__dict__.get("seen", []):
            got.setdefault(typ, []).append(dat)
        m.seen = []
        return got

    def run(self, op):
        name, cmd, *args = op
        m = self.session(name)
        m.untagged_responses.clear()
        m.seen = []
        if cmd == "idle_smtp":
            return self.idle_smtp(m, *args)
        if cmd == "pop3_dele":
            # Another client of the same store: POP3 deletes message n (DELE, QUIT commits).
            port, n = args
            p = poplib.POP3("127.0.0.1", int(port), timeout=self.a.timeout)
            p.user(self.a.user)
            p.pass_(self.a.password)
            p.dele(int(n))
            p.quit()
            return {"typ": "OK", "data": [], "untagged": {}}
        if cmd == "raw":
            tag = m._new_tag()
            m.send(tag + b" " + args[0].encode() + b"\r\n")
            lines = []
            while True:
                line = m._get_line()
                lines.append(text(line))
                if line.startswith(tag):
                    break
            return {"lines": lines}
        fn = {
            "capability": lambda: m.capability(),
            "noop": lambda: m.noop(),
            "logout": lambda: m.logout(),
            "list": lambda: m.list(*args),
            "lsub": lambda: m.lsub(*args),
            "create": lambda: m.create(*args),
            "delete": lambda: m.delete(*args),
            "rename": lambda: m.rename(*args),
            "subscribe": lambda: m.subscribe(*args),
            "unsubscribe": lambda: m.unsubscribe(*args),
            "status": lambda: m.status(*args),
            "select": lambda: m.select(*args),
            "examine": lambda: m.select(args[0], readonly=True),
            "append": lambda: m.append(args[0], args[1] or None, None, args[2].encode()),
            "fetch": lambda: m.fetch(*args),
            "uid_fetch": lambda: m.uid("FETCH", *args),
            "store": lambda: m.store(*args),
            "expunge": lambda: m.expunge(),
            "search": lambda: m.search(None, *args),
            "copy": lambda: m.copy(*args),
            "move": lambda: m._simple_command("MOVE", *args),
            "enable": lambda: m.enable(*args),
        }[cmd]
        typ, data = fn()
        if cmd == "move":
            typ, data = m._untagged_response(typ, data, "MOVE")
        return {"typ": typ, "data": text(data), "untagged": self.untagged(m)}

    def idle_smtp(self, m, sender, rcpt):
        tag = m._new_tag()
        m.send(tag + b" IDLE\r\n")
        first = m._get_line()
        if not first.startswith(b"+"):
            return {"error": text(first)}
        start = time.monotonic()
        s = smtplib.SMTP("127.0.0.1", self.a.smtp_port, timeout=self.a.timeout)
        s.sendmail(sender, [rcpt], f"From: {sender}\r\nTo: {rcpt}\r\nSubject: idle\r\n\r\nwake up\r\n")
        s.quit()
        delivered = time.monotonic() - start
        lines = []
        while True:
            line = m._get_line()
            lines.append(text(line))
            if line.endswith(b"EXISTS"):
                break
        seconds = time.monotonic() - start - delivered
        m.send(b"DONE\r\n")
        while True:
            line = m._get_line()
            lines.append(text(line))
            if line.startswith(tag):
                break
        return {"lines": lines, "seconds_after_delivery": seconds}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--ssl", action="store_true")
    ap.add_argument("--starttls", action="store_true")
    ap.add_argument("--auth-plain", action="store_true")
    ap.add_argument("--smtp-port", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("ops")
    a = ap.parse_args()

    r = Runner(a)
    for op in json.loads(a.ops):
        try:
            r.out["results"].append(r.run(op))
        except imaplib.IMAP4.error as e:
            r.out["results"].append({"error": str(e)})
    for m in r.sessions.values():
        try:
            m.logout()
        except Exception:
            pass
    print(json.dumps(r.out))


if __name__ == "__main__":
    sys.exit(main())
