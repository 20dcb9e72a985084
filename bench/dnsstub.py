"""A DNS server for benchmarks: answers every UDP query on 127.0.0.1 with NXDOMAIN and an SOA
(RFC 2308), so surel's resolver caches the negative answer and the benchmark measures surel, not
the machine's resolver. Standard library only; loopback only."""

import socket
import struct
import threading


def _skip_name(packet: bytes, i: int) -> int:
    while i < len(packet):
        n = packet[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += 1 + n
    raise ValueError("truncated name")


def _answer(query: bytes) -> bytes:
    (qid, flags, qd, _an, _ns, _ar) = struct.unpack("!6H", query[:12])
    end = _skip_name(query, 12) + 4
    question = query[12:end] if qd else b""
    rd = flags & 0x0100
    header = struct.pack("!6H", qid, 0x8000 | 0x0400 | rd | 0x0080 | 3, 1 if qd else 0, 0, 1, 0)
    # SOA of the root zone: mname "a.", rname "b.", serial, refresh, retry, expire, minimum.
    rdata = b"\x01a\x00\x01b\x00" + struct.pack("!5I", 1, 3600, 600, 86400, 3600)
    soa = b"\x00" + struct.pack("!HHIH", 6, 1, 3600, len(rdata)) + rdata
    return header + question + soa


class DnsStub:
    """Serves until the process ends (a daemon thread). `addr` is "127.0.0.1:PORT"."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.addr = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.queries = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            data, peer = self.sock.recvfrom(4096)
            try:
                reply = _answer(data)
            except (ValueError, struct.error):
                continue
            self.queries += 1
            self.sock.sendto(reply, peer)
