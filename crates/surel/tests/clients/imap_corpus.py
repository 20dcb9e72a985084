#!/usr/bin/env python3
"""APPENDs the MIME corpora of shared/testdata over IMAP and compares what the server says of
each message with what the corpus expects. Prints one JSON object.

Used by crates/surel/tests/imap_corpus.rs, which asserts on the JSON.

  imap_corpus.py --port PORT --user NAME --password PW --testdata DIR

Corpora (DIR/<corpus>/SOURCE.txt says what each holds):
  mime4j        mime4j-testmsgs/<name>.msg; expected part tree from <name>_decoded.xml
  mail-parser   mail-parser-corpus/eml/{rfc,thirdparty,malformed}/NNN.eml; expected part tree
                from NNN.crlf.json (the parse after LF -> CRLF, which is what we append)

Every message is APPENDed to INBOX over one imaplib session. Line ends are normalised first
the way imaplib's own append() does (every CRLF, bare CR and bare LF becomes CRLF), because an
IMAP literal is stored as sent and the corpora mix LF and CRLF files; the normalised bytes are the
"appended bytes". A message holding a NUL octet cannot travel in a plain literal (RFC 9051
CHAR8 excludes NUL): it is appended as a literal8 (RFC 3516 BINARY, `~{n+}`) on the same
connection. Then, per message, `UID FETCH uid (BODYSTRUCTURE ENVELOPE BODY.PEEK[])`:
  - the BODYSTRUCTURE s-expression is parsed (atoms, quoted strings with escapes, literals,
    NIL, nested lists) into a part tree (type/subtype per part, children of multiparts, the
    encapsulated message of message/rfc822) and compared with the corpus's tree;
  - the ENVELOPE subject and first From address are compared with the raw header fields;
  - BODY.PEEK[] must be the appended bytes exactly, except that a NUL goes out as 0x80 (a
    literal may not hold NUL and BODY[] has no literal8 form; Dovecot does the same).

Output: {"messages": [{corpus, name, append, fetch, expected, got, tree_ok, subject_ok,
from_ok, body_ok, bs_problems, ...}], "summary": {corpus: {count, appended, fetched, tree_ok,
subject_ok, from_ok, body_ok, bs_wellformed}}, "logout": "..."}. Nothing is asserted here.
"""

import argparse
import email.utils
import glob
import imaplib
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

# ---- IMAP data: parsing ----

LITERAL = re.compile(rb"~?\{(\d+)\+?\}\r\n")


def parse_list(data, i=0):
    """Parses IMAP data from data[i]: atoms -> bytes, quoted strings and literals -> bytes,
    NIL -> None, parenthesised lists -> list. A section spec (`BODY[HEADER.FIELDS (A B)]`) stays
    inside its atom. Returns (values, index after the closing paren or at the end)."""
    out = []
    n = len(data)
    while i < n:
        c = data[i]
        if c in (0x20, 0x0D, 0x0A):
            i += 1
        elif c == 0x28:  # (
            value, i = parse_list(data, i + 1)
            out.append(value)
        elif c == 0x29:  # )
            return out, i + 1
        elif c == 0x22:  # "
            i += 1
            s = bytearray()
            while i < n and data[i] != 0x22:
                if data[i] == 0x5C:
                    i += 1
                s.append(data[i])
                i += 1
            out.append(bytes(s))
            i += 1
        elif c in (0x7B, 0x7E) and LITERAL.match(data, i):
            m = LITERAL.match(data, i)
            size = int(m.group(1))
            out.append(data[m.end():m.end() + size])
            i = m.end() + size
        else:
            j = i
            depth = 0
            while j < n:
                d = data[j]
                if d == 0x5B:
                    depth += 1
                elif d == 0x5D:
                    depth -= 1
                elif depth == 0 and d in (0x20, 0x28, 0x29, 0x0D, 0x0A):
                    break
                j += 1
            atom = data[i:j]
            out.append(None if atom.upper() == b"NIL" else atom)
            i = j
    return out, i


def imaplib_responses(data):
    """imaplib's FETCH data (bytes items and (head, literal) tuples, a response's pieces in a
    row) back into whole responses `N (...)` with their literals inline as `{n}\\r\\n` + octets."""
    responses = []
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):
            head, literal = item
            piece = head + b"\r\n" + literal
        else:
            piece = item
        if re.match(rb"\d+ \(", piece) or not responses:
            responses.append(bytearray(piece))
        else:
            responses[-1] += piece
    return [bytes(r) for r in responses]


def fetch_items(response):
    """`N (KEY value ...)` (imaplib's form, without `* ` and `FETCH`) -> (N, {KEY: value})."""
    m = re.match(rb"(\d+) ", response)
    values, _ = parse_list(response, m.end())
    items = values[0] if values and isinstance(values[0], list) else []
    return int(m.group(1)), {(items[k].upper() if isinstance(items[k], bytes) else items[k]): items[k + 1]
                             for k in range(0, len(items) - 1, 2)}


def text(b):
    return None if b is None else b.decode("utf-8", "replace") if isinstance(b, bytes) else b


def bodystructure_tree(bs):
    """A BODYSTRUCTURE value -> [\"type/subtype\", [children]] (lower case). A multipart lists its
    parts; message/rfc822 (and message/global) has its encapsulated message's body as only
    child; anything else is a leaf."""
    if not isinstance(bs, list) or not bs:
        return ["?", []]
    if isinstance(bs[0], list):
        children = []
        k = 0
        while k < len(bs) and isinstance(bs[k], list):
            children.append(bodystructure_tree(bs[k]))
            k += 1
        sub = bs[k] if k < len(bs) and isinstance(bs[k], bytes) else b"?"
        return ["multipart/" + sub.decode("latin-1").lower(), children]
    if len(bs) < 2 or not all(isinstance(x, bytes) or x is None for x in bs[:2]):
        return ["? unparsable: " + repr(bs)[:300], []]
    t = (bs[0] or b"?").decode("latin-1").lower() + "/" + (bs[1] or b"?").decode("latin-1").lower()
    if t in ("message/rfc822", "message/global") and len(bs) > 8 and isinstance(bs[8], list):
        return [t, [bodystructure_tree(bs[8])]]
    return [t, []]


def bodystructure_problems(bs, path="1"):
    """Where a BODYSTRUCTURE value breaks the RFC 9051 §9 grammar (body-type-mpart,
    body-type-basic, body-type-msg, body-type-text); [] if it is well-formed. A part typed
    "MESSAGE" "RFC822" (or "GLOBAL") is read as body-type-msg, as clients read it: it must
    carry an envelope, a body and a line count after its size."""
    def number(x):
        return isinstance(x, bytes) and x.isdigit()

    if not isinstance(bs, list) or not bs:
        return [f"{path}: not a list: {bs!r}"[:200]]
    if isinstance(bs[0], list):
        problems = []
        k = 0
        while k < len(bs) and isinstance(bs[k], list):
            problems += bodystructure_problems(bs[k], f"{path}.{k + 1}")
            k += 1
        if k >= len(bs) or not isinstance(bs[k], bytes):
            problems.append(f"{path}: multipart without a subtype string")
        return problems
    if len(bs) < 7 or not all(isinstance(x, bytes) for x in bs[:2]):
        return [f"{path}: body-fields incomplete: {bs!r}"[:300]]
    problems = []
    if not (bs[2] is None or isinstance(bs[2], list)):
        problems.append(f"{path}: body-fld-param is neither NIL nor a list")
    if not number(bs[6]):
        problems.append(f"{path}: body-fld-octets {bs[6]!r} is not a number")
    t, sub = bs[0].upper(), bs[1].upper()
    if t == b"MESSAGE" and sub in (b"RFC822", b"GLOBAL"):
        if len(bs) < 10 or not isinstance(bs[7], list) or len(bs[7]) != 10 \
                or not isinstance(bs[8], list) or not number(bs[9]):
            problems.append(f"{path}: \"MESSAGE\" \"{sub.decode()}\" without envelope, body and "
                            f"lines (body-type-msg): {bs!r}"[:400])
        else:
            problems += bodystructure_problems(bs[8], f"{path}.1")
    elif t == b"TEXT" and (len(bs) < 8 or not number(bs[7])):
        problems.append(f"{path}: text part without a line count: {bs!r}"[:300])
    return problems


# ---- the corpora's expected trees ----

def content_type_of(value):
    """`type/subtype` of a Content-Type value, lower case; None when it does not parse."""
    m = re.match(r"\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*/\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)", value or "")
    return f"{m.group(1).lower()}/{m.group(2).lower()}" if m else None


def mime4j_tree(path):
    """<name>_decoded.xml -> the tree of the message element."""
    root = ET.fromstring(open(path, "rb").read())

    def entity(el, parent_digest):
        header = el.find("header")
        ct = None
        if header is not None:
            for field in header.findall("field"):
                raw = (field.text or "").strip()
                name, _, value = raw.partition(":")
                if name.strip().lower() == "content-type":
                    ct = content_type_of(value)
        default = "message/rfc822" if parent_digest else "text/plain"
        for child in el:
            if child.tag == "multipart":
                digest = (ct or "") == "multipart/digest"
                parts = [entity(bp, digest) for bp in child.findall("body-part")]
                return [ct if ct and ct.startswith("multipart/") else "multipart/mixed", parts]
            if child.tag == "message":
                return [ct or default, [entity(child, False)]]
            if child.tag in ("text-body", "binary-body"):
                # RFC 2045 §5.2: a Content-Type that does not parse means text/plain.
                return [ct or default, []]
        return [ct or default, []]

    return entity(root, False)


def header_name(h):
    name = h.get("name")
    if isinstance(name, dict):
        name = next(iter(name.values()))
    return str(name).lower().replace("-", "_")


def mail_parser_tree(path):
    """NNN.crlf.json (mail-parser's Message) -> the tree of its root part."""
    doc = json.load(open(path, encoding="utf-8"))

    def part_tree(message, index, parent_digest):
        part = message["parts"][index]
        ct = None
        for h in part.get("headers", []):
            if header_name(h) == "content_type":
                v = h.get("value")
                if isinstance(v, dict) and "ContentType" in v:
                    c = v["ContentType"]
                    if c.get("c_type") and c.get("c_subtype"):
                        ct = f"{c['c_type']}/{c['c_subtype']}".lower()
        default = "message/rfc822" if parent_digest else "text/plain"
        body = part.get("body")
        kind = next(iter(body)) if isinstance(body, dict) else body
        if kind == "Multipart":
            digest = ct == "multipart/digest"
            return [ct if ct and ct.startswith("multipart/") else "multipart/mixed",
                    [part_tree(message, k, digest) for k in body["Multipart"]]]
        if kind == "Message":
            nested = body["Message"]
            return [ct or default, [part_tree(nested, 0, False)]]
        return [ct or default, []]

    return part_tree(doc, 0, False)


def imap_shape(tree):
    """A parse tree in the shape BODYSTRUCTURE can have: its grammar needs at least one part in a
    multipart (RFC 9051 body-type-mpart = 1*body), so a multipart the corpus parsed with no part
    is expected as one empty text/plain part (what Dovecot sends too)."""
    t, children = tree
    if t.startswith("multipart/") and not children:
        return [t, [["text/plain", []]]]
    return [t, [imap_shape(c) for c in children]]


# ---- header fields, for the envelope checks ----

def raw_header(data, name):
    """The unfolded value of the first `name:` field of the top-level header; None if absent."""
    end = data.find(b"\r\n\r\n")
    head = data[: end + 2] if end >= 0 else data
    lines = head.split(b"\r\n")
    for k, line in enumerate(lines):
        # RFC 5322 §4.5.1 (obsolete syntax): blanks may come before the colon.
        m = re.match(re.escape(name) + rb"[ \t]*:", line, re.I)
        if m:
            value = line[m.end():]
            for cont in lines[k + 1:]:
                if cont[:1] in (b" ", b"\t"):
                    value += cont
                else:
                    break
            return value
    return None


def envelope_from(env):
    """The addr-specs of the envelope's From list, lower case."""
    out = []
    if isinstance(env, list) and len(env) > 2 and isinstance(env[2], list):
        for addr in env[2]:
            # Host NIL marks a group's start or end (RFC 9051 §7.5.2), not an address. An
            # address without a domain comes with an empty host.
            if isinstance(addr, list) and len(addr) == 4 and addr[2] is not None and addr[3] is not None:
                host = text(addr[3])
                out.append((text(addr[2]) + ("@" + host if host else "")).lower())
    return out


# ---- the run ----

def corpus_messages(testdata):
    found = []
    for msg in sorted(glob.glob(os.path.join(testdata, "mime4j-testmsgs", "*.msg"))):
        name = os.path.basename(msg)[:-4]
        found.append(("mime4j", name, msg, os.path.join(os.path.dirname(msg), name + "_decoded.xml")))
    for eml in sorted(glob.glob(os.path.join(testdata, "mail-parser-corpus", "eml", "*", "*.eml"))):
        name = os.path.relpath(eml, os.path.join(testdata, "mail-parser-corpus", "eml"))[:-4]
        found.append(("mail-parser", name, eml, eml[:-4] + ".crlf.json"))
    return found


CRLF_ANY = re.compile(rb"\r\n|\r(?!\n)|\n")  # imaplib.MapCRLF


def append_literal8(imap, data):
    """APPEND with a non-synchronising literal8 (RFC 3516, RFC 7888) on imaplib's socket."""
    tag = imap._new_tag()
    imap.send(tag + b" APPEND INBOX ~{%d+}\r\n" % len(data) + data + b"\r\n")
    typ, dat = imap._command_complete("APPEND", tag)
    return typ, dat


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--testdata", required=True)
    p.add_argument("--timeout", type=float, default=30)
    a = p.parse_args()

    imap = imaplib.IMAP4(a.host, a.port, timeout=a.timeout)
    imap.login(a.user, a.password)
    typ, dat = imap.select("INBOX")
    if typ != "OK":
        raise SystemExit(f"SELECT INBOX: {typ} {dat}")
    results = []
    for corpus, name, path, expected_path in corpus_messages(a.testdata):
        r = {"corpus": corpus, "name": name}
        results.append(r)
        raw = open(path, "rb").read()
        data = CRLF_ANY.sub(b"\r\n", raw)
        r["size"] = len(data)
        r["nul"] = b"\0" in data
        try:
            r["expected"] = imap_shape(
                (mime4j_tree if corpus == "mime4j" else mail_parser_tree)(expected_path))
        except Exception as e:  # noqa: BLE001 - reported, the Rust side decides
            r["expected_error"] = f"{type(e).__name__}: {e}"
        try:
            if r["nul"]:
                typ, dat = append_literal8(imap, data)
            else:
                typ, dat = imap.append("INBOX", None, None, data)
            r["append"] = f"{typ} {text(dat[-1]) if dat else ''}"
        except imaplib.IMAP4.error as e:
            r["append"] = f"ERROR {e}"
            continue
        if typ != "OK":
            continue
        m = re.search(r"\[APPENDUID \d+ (\d+)\]", r["append"])
        if not m:
            r["fetch"] = "no APPENDUID in the tagged OK"
            continue
        uid = m.group(1)
        try:
            typ, dat = imap.uid("FETCH", uid, "(BODYSTRUCTURE ENVELOPE BODY.PEEK[])")
        except imaplib.IMAP4.error as e:
            r["fetch"] = f"ERROR {e}"
            continue
        responses = [x for x in imaplib_responses(dat) if x]
        r["fetch"] = f"{typ} {len(responses)} responses"
        if typ != "OK" or len(responses) != 1:
            r["fetch_data"] = [text(x[:500]) for x in responses]
            continue
        try:
            _, items = fetch_items(responses[0])
        except Exception as e:  # noqa: BLE001
            r["fetch"] = f"unparsable FETCH response ({type(e).__name__}: {e})"
            r["fetch_data"] = text(responses[0][:2000])
            continue
        bs = items.get(b"BODYSTRUCTURE")
        env = items.get(b"ENVELOPE")
        body = items.get(b"BODY[]")
        r["got"] = bodystructure_tree(bs)
        r["bs_problems"] = bodystructure_problems(bs)
        r["bodystructure"] = text(re.search(rb"BODYSTRUCTURE (\(.*)", responses[0], re.S).group(1)[:1500]) \
            if bs is not None else None
        r["tree_ok"] = "expected" in r and r["got"] == r["expected"]
        # ENVELOPE: the subject as in the header (unfolded; surrounding blanks ignored).
        subject = raw_header(data, b"Subject")
        got_subject = env[1] if isinstance(env, list) and len(env) == 10 else b"<no envelope>"
        r["subject"] = [text(subject.strip()) if subject is not None else None,
                        text(got_subject.strip()) if isinstance(got_subject, bytes) else None]
        r["subject_ok"] = (subject is None and got_subject is None) or (
            subject is not None and isinstance(got_subject, bytes)
            and got_subject.strip() == subject.strip())
        frm = raw_header(data, b"From")
        want = [addr.lower() for _, addr in email.utils.getaddresses([frm.decode("latin-1")])
                if addr] if frm is not None else []
        r["from"] = [want, envelope_from(env)]
        r["from_ok"] = envelope_from(env) == want
        r["body_ok"] = body == data.replace(b"\0", b"\x80")
        if not r["body_ok"]:
            r["body_got"] = [len(body) if isinstance(body, bytes) else None, len(data)]
    try:
        r = imap.logout()
        logout = f"{r[0]} {text(r[1][-1]) if r[1] else ''}"
    except Exception as e:  # noqa: BLE001
        logout = f"ERROR {type(e).__name__}: {e}"

    summary = {}
    for r in results:
        s = summary.setdefault(r["corpus"], {k: 0 for k in (
            "count", "appended", "fetched", "tree_ok", "subject_ok", "from_ok", "body_ok", "bs_wellformed")})
        s["count"] += 1
        s["appended"] += r.get("append", "").startswith("OK")
        s["fetched"] += "got" in r
        for k in ("tree_ok", "subject_ok", "from_ok", "body_ok"):
            s[k] += bool(r.get(k))
        s["bs_wellformed"] += "bs_problems" in r and not r["bs_problems"]
    json.dump({"messages": results, "summary": summary, "logout": logout}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
