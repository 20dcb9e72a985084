"""Signs a message with dkimpy: dkimpy_sign.py MESSAGE KEY SELECTOR DOMAIN ALGO CANON -> stdout."""
import sys

import dkim

message, key, selector, domain, algo, canon = sys.argv[1:7]
with open(message, "rb") as f:
    msg = f.read()
with open(key, "rb") as f:
    private = f.read()
c = canon.encode().split(b"/")
sig = dkim.sign(msg, selector.encode(), domain.encode(), private,
                canonicalize=(c[0], c[1]), signature_algorithm=algo.encode(),
                include_headers=[b"from", b"to", b"subject"])
sys.stdout.buffer.write(sig + msg)
