"""A DNS server for benchmarks, on 127.0.0.1 (UDP). Standard library only; loopback only.

By default it answers every query with NXDOMAIN and an SOA (RFC 2308), so surel's resolver caches
the negative answer and the benchmark measures surel, not the machine's resolver.

`DnsStub(records)` also answers some names: `records` maps a name (case-insensitive, with or
without the trailing dot) to {type: [rdata, ...]} with type "A" (dotted IPv4 text) or "MX"
((preference, exchange) pairs), e.g.

    DnsStub({"sink.test": {"MX": [(10, "mx.sink.test")]}, "mx.sink.test": {"A": ["127.0.0.1"]}})

A listed name asked for a type it lacks gets NOERROR with no answer and the SOA (NODATA); any
other name gets NXDOMAIN and the SOA, as before.
"""

import socket
import struct
import threading

TYPES = {"A": 1, "MX": 15}
TTL = 3600


def _skip_name(packet: bytes, i: int) -> int:
    while i < len(packet):
        n = packet[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += 1 + n
    raise ValueError("truncated name")


def _read_name(packet: bytes, i: int) -> str:
    """The question's name (no compression in a question), lower case, without the final dot."""
    labels = []
    while True:
        n = packet[i]
        if n == 0:
            return ".".join(labels).lower()
        if n & 0xC0:
            raise ValueError("compressed question name")
        labels.append(packet[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\x00"


def _normalize(records):
    table = {}
    for name, by_type in (records or {}).items():
        entry = table.setdefault(name.rstrip(".").lower(), {})
        for rtype, values in by_type.items():
            code = TYPES[rtype.upper()]
            rdatas = []
            for v in values:
                if code == 1:
                    rdatas.append(socket.inet_aton(v))
                else:
                    pref, exchange = v
                    rdatas.append(struct.pack("!H", pref) + _encode_name(exchange))
            entry[code] = rdatas
    return table


def _answer(query: bytes, table) -> bytes:
    (qid, flags, qd, _an, _ns, _ar) = struct.unpack("!6H", query[:12])
    end = _skip_name(query, 12) + 4
    question = query[12:end] if qd else b""
    rd = flags & 0x0100
    known = None
    answers = []
    if qd:
        name = _read_name(query, 12)
        (qtype, _qclass) = struct.unpack("!HH", query[end - 4:end])
        known = table.get(name)
        if known is not None:
            # Name pointer 0xC00C: the question's name at offset 12.
            answers = [b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, TTL, len(r)) + r
                       for r in known.get(qtype, [])]
    rcode = 0 if known is not None else 3
    authority = []
    if not answers:
        # SOA of the root zone: mname "a.", rname "b.", serial, refresh, retry, expire, minimum.
        rdata = b"\x01a\x00\x01b\x00" + struct.pack("!5I", 1, 3600, 600, 86400, 3600)
        authority = [b"\x00" + struct.pack("!HHIH", 6, 1, 3600, len(rdata)) + rdata]
    header = struct.pack("!6H", qid, 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1 if qd else 0,
                         len(answers), len(authority), 0)
    return header + question + b"".join(answers) + b"".join(authority)


class DnsStub:
    """Serves until the process ends (a daemon thread). `addr` is "127.0.0.1:PORT"."""

    def __init__(self, records=None):
        self.table = _normalize(records)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.addr = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.queries = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            data, peer = self.sock.recvfrom(4096)
            try:
                reply = _answer(data, self.table)
            except (ValueError, IndexError, struct.error):
                continue
            self.queries += 1
            self.sock.sendto(reply, peer)
