#!/usr/bin/env python3
"""Checks RFC 3207 §4.2 on the wire: bytes a client pipelines behind STARTTLS must be discarded.

  starttls_pipeline.py --port PORT [--host 127.0.0.1]

Sends `STARTTLS\\r\\nNOOP\\r\\n` in one write, reads the 220, does the TLS handshake (certificate
not verified), then sends EHLO, NOOP and QUIT one at a time and records each reply. Prints one
JSON object; the Rust test decides what is right. A server that ran the injected NOOP answers it
either in plaintext (seen as `plaintext_leftover` or a failed handshake) or as the first reply
inside TLS (seen in `after_tls[0]`).
"""

import argparse
import json
import socket
import ssl
import sys


class Replies:
    """Reads whole (multi-line) SMTP replies from a socket, keeping unread bytes."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def reply(self):
        lines = []
        while True:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(4096)
                if not chunk:
                    raise EOFError("connection closed; partial: %r" % self.buf)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r").decode("utf-8", "replace")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    a = p.parse_args()

    out = {"after_tls": []}
    sock = socket.create_connection((a.host, a.port), timeout=30)
    plain = Replies(sock)
    out["greeting"] = plain.reply()
    sock.sendall(b"EHLO client.surel.test\r\n")
    out["ehlo"] = plain.reply()
    sock.sendall(b"STARTTLS\r\nNOOP\r\n")
    out["starttls"] = plain.reply()
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
    out["tls_version"] = tls.version()
    secure = Replies(tls)
    try:
        for command in (b"EHLO client.surel.test\r\n", b"NOOP\r\n", b"QUIT\r\n"):
            tls.sendall(command)
            out["after_tls"].append(secure.reply())
    except (EOFError, OSError) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
