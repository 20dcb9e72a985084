#!/usr/bin/env python3
"""Verifies every DKIM-Signature of a message with dkimpy, fetching keys from a DNS server.

  dkimpy_verify.py MESSAGE_FILE DNS_HOST DNS_PORT

Prints one JSON object: {"signatures": [{"index", "selector", "algorithm", "ok", "error"}]}, one
entry per DKIM-Signature in header order. The key records are read through dnspython from the
given server (the Rust test's in-process DNS), joining a TXT record's strings as RFC 6376 §3.6.2.2
says. Ed25519 needs PyNaCl (installed by scripts/test).
"""

import json
import sys

import dkim
import dns.resolver


def main():
    path, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(path, "rb") as f:
        message = f.read()

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = port
    resolver.lifetime = 5

    def dnsfunc(name, timeout=5):
        try:
            answer = resolver.resolve(name.decode(), "TXT")
        except Exception:
            return None
        for rdata in answer:
            return b"".join(rdata.strings)
        return None

    d = dkim.DKIM(message)
    count = sum(
        1 for name, _ in d.headers if name.lower() == b"dkim-signature"
    )
    results = []
    for index in range(count):
        verifier = dkim.DKIM(message)
        error = None
        try:
            ok = verifier.verify(idx=index, dnsfunc=dnsfunc)
        except Exception as e:  # dkimpy raises for unusable keys or signatures
            ok, error = False, repr(e)
        fields = verifier.signature_fields or {}
        results.append({
            "index": index,
            "selector": fields.get(b"s", b"").decode(),
            "algorithm": fields.get(b"a", b"").decode(),
            "ok": bool(ok),
            "error": error,
        })
    print(json.dumps({"signatures": results}))


if __name__ == "__main__":
    main()
