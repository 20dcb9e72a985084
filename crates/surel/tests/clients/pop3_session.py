#!/usr/bin/env python3
"""Runs one POP3 session with Python's poplib and prints every result as one JSON object.

Used by crates/surel/tests/pop3.rs, which asserts on the JSON.

  pop3_session.py --port PORT --user NAME --password PW [--ssl | --stls] [--auth-plain] OP...

OPs run in order after login; each appends one entry to "results":
  capa  stat  list  list:N  uidl  uidl:N  retr:N  top:N:L  dele:N  rset  noop  utf8
  quit        QUIT (UPDATE state), then stop
  drop        close the socket without QUIT (the server must delete nothing), then stop
  second      open another connection and log in as the same user while this one is logged in
A server -ERR is recorded as {"error": "..."} and the run goes on. RETR/TOP results carry the
octet count poplib measured (CRLF included, dot-stuffing removed) and the text as latin-1.
The certificate is not verified (surel's default certificate is self-signed).
"""

import argparse
import base64
import json
import poplib
import ssl
import sys


def text(b):
    return b.decode("latin-1") if isinstance(b, bytes) else b


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(a):
    if a.ssl:
        return poplib.POP3_SSL(a.host, a.port, timeout=a.timeout, context=tls_context())
    return poplib.POP3(a.host, a.port, timeout=a.timeout)


def login(p, a):
    if a.auth_plain:
        token = base64.b64encode(f"\0{a.user}\0{a.password}".encode()).decode()
        return text(p._shortcmd(f"AUTH PLAIN {token}"))
    p.user(a.user)
    return text(p.pass_(a.password))


def run_op(p, op, a):
    name, *args = op.split(":")
    n = [int(x) for x in args]
    if name == "capa":
        return {k: v for k, v in p.capa().items()}
    if name == "stat":
        count, size = p.stat()
        return {"count": count, "size": size}
    if name == "list":
        if n:
            return {"resp": text(p.list(n[0]))}
        resp, lines, _ = p.list()
        return {"resp": text(resp), "lines": [text(l) for l in lines]}
    if name == "uidl":
        if n:
            return {"resp": text(p.uidl(n[0]))}
        resp, lines, _ = p.uidl()
        return {"resp": text(resp), "lines": [text(l) for l in lines]}
    if name in ("retr", "top"):
        resp, lines, octets = p.retr(n[0]) if name == "retr" else p.top(n[0], n[1])
        body = b"".join(l + b"\r\n" for l in lines)
        return {"resp": text(resp), "octets": octets, "text": text(body)}
    if name == "dele":
        return {"resp": text(p.dele(n[0]))}
    if name == "rset":
        return {"resp": text(p.rset())}
    if name == "noop":
        return {"resp": text(p.noop())}
    if name == "utf8":
        return {"resp": text(p.utf8())}
    if name == "quit":
        return {"resp": text(p.quit())}
    if name == "drop":
        p.close()
        return {"resp": "dropped"}
    if name == "second":
        q = connect(a)
        try:
            return {"resp": login(q, a)}
        except poplib.error_proto as e:
            return {"error": text(e.args[0])}
        finally:
            q.close()
    raise SystemExit(f"unknown op {op}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--ssl", action="store_true")
    ap.add_argument("--stls", action="store_true")
    ap.add_argument("--auth-plain", action="store_true")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("ops", nargs="*")
    a = ap.parse_args()

    out = {"results": []}
    p = connect(a)
    out["welcome"] = text(p.getwelcome())
    if a.stls:
        out["capa_before_stls"] = {k: v for k, v in p.capa().items()}
        out["stls"] = text(p.stls(context=tls_context()))
    try:
        out["login"] = login(p, a)
    except poplib.error_proto as e:
        out["login_error"] = text(e.args[0])
        print(json.dumps(out))
        return
    for op in a.ops:
        try:
            out["results"].append(run_op(p, op, a))
        except poplib.error_proto as e:
            out["results"].append({"error": text(e.args[0])})
        if op in ("quit", "drop"):
            break
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
