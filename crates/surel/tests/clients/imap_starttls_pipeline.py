#!/usr/bin/env python3
"""Checks RFC 9051 §6.2.1 on the wire: bytes pipelined behind STARTTLS must be discarded.

  imap_starttls_pipeline.py --port PORT [--host 127.0.0.1]

Sends `s1 STARTTLS\\r\\ns2 NOOP\\r\\n` in one write, reads the tagged reply, does the TLS
handshake (certificate not verified), then sends `s3 NOOP` and `s4 LOGOUT` and records every
line. Prints one JSON object; the Rust test decides what is right.
"""

import argparse
import json
import socket
import ssl
import sys


class Lines:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("connection closed; partial: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def until(self, tag):
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + " "):
                return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    a = p.parse_args()

    out = {}
    sock = socket.create_connection((a.host, a.port), timeout=30)
    plain = Lines(sock)
    out["greeting"] = plain.line()
    sock.sendall(b"s1 STARTTLS\r\ns2 NOOP\r\n")
    out["starttls"] = plain.until("s1")
    out["plaintext_leftover"] = plain.buf.decode("utf-8", "replace")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        tls = context.wrap_socket(sock, server_hostname="mx.surel.test")
    except (ssl.SSLError, OSError) as e:
        out["handshake_error"] = "%s: %s" % (type(e).__name__, e)
        json.dump(out, sys.stdout)
        return
    secure = Lines(tls)
    try:
        tls.sendall(b"s3 CAPABILITY\r\n")
        out["after_tls"] = secure.until("s3")
        tls.sendall(b"s4 LOGOUT\r\n")
        out["after_tls"] += secure.until("s4")
    except (EOFError, OSError) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
