#!/usr/bin/env python3
"""Looks at (and changes) an IMAP INBOX with Python's imaplib for the mbsync test; prints JSON.

Used by crates/surel/tests/imap_mbsync.rs, which asserts on the JSON.

  imap_mbsync_imap.py --port PORT --user NAME --password PW [--ops JSON]

--ops is a JSON list run in order after SELECT INBOX, each entry one of
  ["store", UIDSET, "+FLAGS" | "-FLAGS" | "FLAGS", "(\\\\Seen ...)"]   UID STORE
  ["expunge"]                                                      EXPUNGE
  ["body", MESSAGE_ID]    UID SEARCH HEADER Message-ID ... then UID FETCH BODY.PEEK[]; the bytes
                          go to "bodies" (latin-1) under MESSAGE_ID
Each op's tagged result goes to "results". Then, on a fresh SELECT, the state of every message:
"messages": [{"uid", "flags" (sorted), "size", "message_id"}] by UID, plus "exists" and
"uidvalidity". Message-IDs come from BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)].
"""

import argparse
import imaplib
import json
import re
import sys

from imap_corpus import fetch_items, imaplib_responses, text


def untagged_number(imap, name):
    value = imap.untagged_responses.get(name)
    return int(value[-1]) if value else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--ops", default="[]")
    p.add_argument("--timeout", type=float, default=30)
    a = p.parse_args()
    out = {"results": [], "bodies": {}}
    imap = imaplib.IMAP4(a.host, a.port, timeout=a.timeout)
    imap.login(a.user, a.password)
    typ, dat = imap.select("INBOX")
    if typ != "OK":
        raise SystemExit(f"SELECT INBOX: {typ} {dat}")
    for op in json.loads(a.ops):
        if op[0] == "store":
            typ, dat = imap.uid("STORE", op[1], op[2], op[3])
        elif op[0] == "expunge":
            typ, dat = imap.expunge()
        elif op[0] == "body":
            typ, dat = imap.uid("SEARCH", "HEADER", "Message-ID", f'"{op[1]}"')
            uids = dat[0].split() if typ == "OK" and dat and dat[0] else []
            if len(uids) != 1:
                out["results"].append(f"SEARCH HEADER Message-ID {op[1]}: {typ} {uids}")
                continue
            typ, dat = imap.uid("FETCH", uids[0], "(BODY.PEEK[])")
            for r in imaplib_responses(dat):
                _, items = fetch_items(r)
                if b"BODY[]" in items:
                    out["bodies"][op[1]] = items[b"BODY[]"].decode("latin-1")
        else:
            raise SystemExit(f"unknown op {op}")
        out["results"].append(f"{typ} {text(dat[-1]) if dat and isinstance(dat[-1], bytes) else ''}")

    imap.close()
    typ, dat = imap.select("INBOX", readonly=True)
    out["exists"] = int(dat[0]) if typ == "OK" else None
    out["uidvalidity"] = untagged_number(imap, "UIDVALIDITY")
    messages = []
    if out["exists"]:
        typ, dat = imap.uid("FETCH", "1:*",
                            "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        if typ != "OK":
            raise SystemExit(f"UID FETCH 1:*: {typ} {dat}")
        for r in imaplib_responses(dat):
            _, items = fetch_items(r)
            header = next((v for k, v in items.items() if k.startswith(b"BODY[HEADER.FIELDS")), b"")
            m = re.search(rb"<([^>]*)>", header or b"")
            messages.append({
                "uid": int(items[b"UID"]),
                "flags": sorted(text(f) for f in items.get(b"FLAGS", [])),
                "size": int(items.get(b"RFC822.SIZE", -1)),
                "message_id": text(m.group(1)) if m else None,
            })
    out["messages"] = sorted(messages, key=lambda m: m["uid"])
    imap.logout()
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
