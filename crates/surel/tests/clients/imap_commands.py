#!/usr/bin/env python3
"""Runs one scripted IMAP scenario with Python's imaplib and prints what the server said as JSON.

Used by crates/surel/tests/imap_commands.rs, which asserts on the JSON.

  imap_commands.py --port PORT --user NAME --password PW SCENARIO

Every step of a scenario records, under its name in "steps":
  "lines": every response the server sent for the command, in order, CRLF removed, each
           literal kept inline right after its `{n}` as `{n}\\r\\n<octets>`,
  "typ"/"data": what imaplib returned (when the step used an imaplib method), or
  "error": the text of the exception imaplib raised (NO/BAD for some commands).
Commands imaplib has no method for (ID, UID EXPUNGE, MOVE, ESEARCH forms, LITERAL+, literal8
APPEND, ...) are sent raw on the imaplib connection (its tag counter, socket and reader) and
read up to their tagged completion. Octets are decoded as UTF-8 (invalid bytes as \\xNN).
Scenario facts computed here (sizes of the fixture messages) go to "facts".
"""

import argparse
import base64
import datetime
import imaplib
import json
import re
import sys

LITERAL = re.compile(rb"~?\{(\d+)\+?\}$")


def text(b):
    if isinstance(b, bytes):
        return b.decode("utf-8", "backslashreplace")
    if isinstance(b, (list, tuple)):
        return [text(x) for x in b]
    return b


def split_responses(buf):
    """The received octets as responses: lines, each literal inline after its `{n}`."""
    out = []
    cur = b""
    i = 0
    while i < len(buf):
        j = buf.find(b"\r\n", i)
        if j < 0:
            cur += buf[i:]
            break
        line = buf[i:j]
        i = j + 2
        cur += line
        m = LITERAL.search(line)
        if m:
            n = int(m.group(1))
            cur += b"\r\n" + buf[i : i + n]
            i += n
            continue
        out.append(text(cur))
        cur = b""
    if cur:
        out.append(text(cur))
    return out


class Conn:
    """One imaplib connection whose received octets are recorded."""

    def __init__(self, args, login=True):
        self.m = imaplib.IMAP4(args.host, args.port, timeout=args.timeout)
        self.welcome = text(self.m.welcome)
        self.buf = b""
        readline, read = self.m.readline, self.m.read

        def rec_readline():
            line = readline()
            self.buf += line
            return line

        def rec_read(n):
            data = read(n)
            self.buf += data
            return data

        self.m.readline = rec_readline
        self.m.read = rec_read
        if login:
            self.m.login(args.user, args.password)

    def raw(self, *parts):
        """Sends one command (str pieces; ("sync"|"plus"|"bin", bytes) literals), reads to its
        tagged completion. Returns the tagged line."""
        m = self.m
        tag = m._new_tag()
        data = tag + b" "
        for p in parts:
            if isinstance(p, str):
                data += p.encode()
                continue
            kind, lit = p
            if kind == "plus":
                data += b"{%d+}\r\n" % len(lit) + lit
                continue
            data += (b"~" if kind == "bin" else b"") + b"{%d}\r\n" % len(lit)
            m.send(data)
            line = self._line()
            if not line.startswith(b"+"):
                # Refused before the literal was sent: that was the tagged completion.
                if line.startswith(tag + b" "):
                    return text(line)
                return text(line + b" " + self._until(tag))
            data = lit
        m.send(data + b"\r\n")
        return text(self._until(tag))

    def _line(self):
        line = self.m.readline()
        if not line:
            raise imaplib.IMAP4.abort("connection closed")
        m = LITERAL.search(line.rstrip(b"\r\n"))
        if m:
            self.m.read(int(m.group(1)))
        return line.rstrip(b"\r\n")

    def _until(self, tag):
        while True:
            line = self._line()
            if line.startswith(tag + b" "):
                return line

    def read_pending(self):
        """Reads whatever the server sends within a short time (unsolicited responses)."""
        sock = self.m.sock
        sock.settimeout(0.3)
        try:
            while True:
                if not self._line():
                    break
        except (TimeoutError, OSError):
            pass
        finally:
            sock.settimeout(30)


class Run:
    def __init__(self, args):
        self.args = args
        self.conns = {}
        self.out = {"steps": {}, "facts": {}}

    def conn(self, name, login=True):
        if name not in self.conns:
            self.conns[name] = Conn(self.args, login)
            self.out.setdefault("welcome", {})[name] = self.conns[name].welcome
        return self.conns[name]

    def step(self, name, c, fn):
        """Runs fn (an imaplib call or a raw command) on connection c and records it."""
        assert name not in self.out["steps"], name
        c.buf = b""
        result = {}
        try:
            got = fn(c)
            if isinstance(got, tuple):
                result["typ"], result["data"] = got[0], text(got[1])
        except imaplib.IMAP4.error as e:
            result["error"] = str(e)
        result["lines"] = split_responses(c.buf)
        self.out["steps"][name] = result
        return result

    def raw(self, name, c, *parts):
        return self.step(name, c, lambda c: c.raw(*parts))

    def enable(self, name, c, what):
        """ENABLE through imaplib's command machinery (its `enable` checks the pre-login
        capabilities, which do not list every extension)."""

        def run(c):
            typ, data = c.m._simple_command("ENABLE", what)
            if typ == "OK" and "UTF8=ACCEPT" in what.upper():
                c.m._mode_utf8()
            return typ, data

        return self.step(name, c, run)

    def close(self):
        for c in self.conns.values():
            try:
                c.m.logout()
            except Exception:
                pass


# ---- fixture messages ----

def crlf(s):
    return s.replace("\n", "\r\n").encode()


PLAIN = crlf(
    "From: Alice Example <alice@example.test>\n"
    "To: bob@example.test\n"
    "Subject: Quarterly Report\n"
    "Date: Thu, 01 Jan 2026 09:00:00 +0000\n"
    "Message-ID: <q1@example.test>\n"
    "\n"
    "The numbers look GOOD this quarter.\n"
)

# "Grüße aus Köln", RFC 2047 base64; a group address; no Message-ID, Cc, Sender, Reply-To.
ENVELOPE = crlf(
    "From: \"Ann Example\" <ann@example.test>\n"
    "To: Friends: bob@example.test, \"Cy\" <cy@example.test>;\n"
    "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\n"
    "Date: Thu, 15 Jan 2026 10:00:00 +0100\n"
    "\n"
    "Short body.\n"
)

ATTACHMENT = bytes(range(256)) * 4  # 1024 octets, base64 below

MULTIPART = crlf(
    "From: Carol <carol@example.test>\n"
    "To: Dave <dave@example.test>\n"
    "Subject: Files for you\n"
    "Date: Sun, 01 Feb 2026 12:00:00 +0000\n"
    "Message-ID: <m3@example.test>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"XYZ\"\n"
    "\n"
    "This is a multi-part message in MIME format.\n"
    "--XYZ\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Caf=C3=A9 cr=C3=A8me, see attached.\n"
    "--XYZ\n"
    "Content-Type: application/octet-stream; name=\"data.bin\"\n"
    "Content-Disposition: attachment; filename=\"data.bin\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
) + base64.encodebytes(ATTACHMENT).replace(b"\n", b"\r\n") + crlf(
    "--XYZ\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: Eve <eve@example.test>\n"
    "Subject: Inner\n"
    "Date: Sat, 31 Jan 2026 08:00:00 +0000\n"
    "\n"
    "Inner body.\n"
    "--XYZ--\n"
)

LUNCH = crlf(
    "From: Carol <carol@example.test>\n"
    "To: alice@example.test\n"
    "Subject: Re: lunch\n"
    "Date: Fri, 20 Feb 2026 12:00:00 +0000\n"
    "X-Tracking: abc123\n"
    "\n"
    "Pizza at noon?\n"
)

FIXTURES = [
    # message, flags, internal date
    (PLAIN, "(\\Seen)", '"01-Jan-2026 09:00:00 +0000"'),
    (ENVELOPE, "(\\Flagged)", '"15-Jan-2026 10:00:00 +0100"'),
    (MULTIPART, None, '"01-Feb-2026 12:34:56 +0200"'),
    (LUNCH, "(\\Answered $Forwarded)", '"20-Feb-2026 23:30:00 -0500"'),
]


def fill(r, c, mailbox="INBOX"):
    """APPENDs the four fixtures (UIDs 1-4 in a fresh mailbox)."""
    for i, (msg, flags, date) in enumerate(FIXTURES, 1):
        r.step(f"fill{mailbox}{i}", c, lambda c, m=msg, f=flags, d=date: c.m.append(mailbox, f, d, m))
    r.out["facts"]["sizes"] = [len(m) for m, _, _ in FIXTURES]


# ---- scenarios ----

def session(r):
    a = r.conn("a", login=False)
    r.step("capability_before", a, lambda c: c.m.capability())
    r.raw("fetch_before_login", a, "FETCH 1 (FLAGS)")
    r.step("login", a, lambda c: c.m.login(r.args.user, r.args.password))
    r.step("capability", a, lambda c: c.m.capability())
    r.raw("id", a, 'ID ("name" "imap_commands.py" "version" "1")')
    r.raw("id_nil", a, "ID NIL")
    r.step("namespace", a, lambda c: c.m.namespace())
    r.raw("fetch_before_select", a, "FETCH 1 (FLAGS)")
    r.raw("unknown", a, "FROBNICATE now")
    r.raw("store_before_select", a, "STORE 1 +FLAGS (\\Seen)")
    r.step("noop_after_errors", a, lambda c: c.m.noop())
    r.enable("enable_condstore", a, "CONDSTORE")
    r.enable("enable_again", a, "CONDSTORE")
    r.enable("enable_many", a, "QRESYNC IMAP4rev2 UTF8=ACCEPT X-UNKNOWN")
    r.step("select", a, lambda c: c.m.select("INBOX"))
    r.enable("enable_selected", a, "CONDSTORE")
    r.step("check", a, lambda c: c.m.check())
    r.step("noop", a, lambda c: c.m.noop())
    r.step("logout", a, lambda c: c.m.logout())


def mailboxes(r):
    a = r.conn("a")
    r.step("list_all", a, lambda c: c.m.list('""', "*"))
    r.step("lsub_all", a, lambda c: c.m.lsub('""', "*"))
    r.raw("create_archive_use", a, "CREATE Old (USE (\\Archive))")
    r.raw("create_bad_use", a, "CREATE Odd (USE (\\Nonsense))")
    r.step("create_deep", a, lambda c: c.m.create("a/b/c"))
    r.step("create_exists", a, lambda c: c.m.create("a/b"))
    r.step("list_percent", a, lambda c: c.m.list('""', "%"))
    r.step("list_a_percent", a, lambda c: c.m.list('""', "a/%"))
    r.step("list_special_use_old", a, lambda c: c.m.list('""', "Old"))
    r.raw("list_sel_special_use", a, 'LIST (SPECIAL-USE) "" "*"')
    r.step("subscribe_ab", a, lambda c: c.m.subscribe("a/b"))
    r.raw("list_sel_subscribed", a, 'LIST (SUBSCRIBED) "" "*"')
    r.raw("list_return", a, 'LIST "" "a*" RETURN (CHILDREN SUBSCRIBED SPECIAL-USE)')
    r.raw("list_sel_recursive", a, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    r.raw("list_multi", a, 'LIST "" ("Sent" "Trash")')
    r.step("rename_a", a, lambda c: c.m.rename("a", "z"))
    r.step("list_after_rename", a, lambda c: c.m.list('""', "*"))
    r.step("lsub_after_rename", a, lambda c: c.m.lsub('""', "*"))
    r.raw("list_subscribed_after_rename", a, 'LIST (SUBSCRIBED) "" "*"')
    r.step("lsub_percent", a, lambda c: c.m.lsub('""', "%"))
    r.step("list_empty", a, lambda c: c.m.list('""', '""'))
    r.step("unsubscribe_zb", a, lambda c: c.m.unsubscribe("z/b"))
    r.step("lsub_after_unsubscribe", a, lambda c: c.m.lsub('""', "z*"))
    r.step("delete_leaf", a, lambda c: c.m.delete("z/b/c"))
    r.step("delete_missing", a, lambda c: c.m.delete("z/b/c"))
    r.step("list_after_delete", a, lambda c: c.m.list('""', "z*"))
    r.step("delete_inbox", a, lambda c: c.m.delete("INBOX"))
    # Modified UTF-7 (RFC 3501 §5.1.3) before UTF-8 is enabled.
    r.step("create_mutf7", a, lambda c: c.m.create("&ZeVnLIqe-"))
    r.step("list_mutf7", a, lambda c: c.m.list('""', "&ZeVnLIqe-"))
    r.step("append_mutf7", a, lambda c: c.m.append("&ZeVnLIqe-", None, None, PLAIN))
    r.raw("list_status", a, 'LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN SIZE))')
    b = r.conn("b")
    r.enable("b_enable_utf8", b, "UTF8=ACCEPT")
    r.raw("b_list_utf8", b, 'LIST "" "*"')
    r.raw("b_create_utf8", b, 'CREATE "Grüße"')
    r.raw("b_status_utf8", b, 'STATUS "日本語" (MESSAGES)')
    r.raw("b_append_utf8", b, 'APPEND "日本語" UTF8 (', ("bin", PLAIN), ")")
    r.raw("b_status_utf8_after", b, 'STATUS "日本語" (MESSAGES)')
    r.step("list_mutf7_new", a, lambda c: c.m.list('""', "Gr*"))


def append_status(r):
    a = r.conn("a")
    r.step("status_empty", a, lambda c: c.m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ APPENDLIMIT)"))
    r.step("append_flags_date", a, lambda c: c.m.append("INBOX", "(\\Seen $Forwarded)", '"01-Feb-2026 12:34:56 +0200"', PLAIN))
    r.raw("append_literal_plus", a, "APPEND INBOX (\\Deleted) ", ("plus", LUNCH))
    r.raw("append_no_flags", a, "APPEND INBOX ", ("sync", ENVELOPE))
    r.step("append_missing", a, lambda c: c.m.append("Nowhere", None, None, PLAIN))
    big = b"Subject: big\r\n\r\n" + b"x" * 70000 + b"\r\n"
    r.step("append_toobig", a, lambda c: c.m.append("INBOX", None, None, big))
    r.step("noop_after_toobig", a, lambda c: c.m.noop())
    # literal8 (RFC 3516 §4.4): a message with a binary part.
    binmsg = (
        b"From: bin@example.test\r\nSubject: binary\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
        b"Content-Type: text/plain\r\n\r\nsee part 2\r\n--B\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        + bytes([0, 1, 2, 255, 254, 13, 10, 0, 65]) + b"\r\n--B--\r\n"
    )
    r.out["facts"]["binmsg_size"] = len(binmsg)
    r.raw("append_literal8", a, "APPEND INBOX ", ("bin", binmsg))
    r.step("status_after", a, lambda c: c.m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ APPENDLIMIT)"))
    r.step("select", a, lambda c: c.m.select("INBOX"))
    r.step("fetch_dates", a, lambda c: c.m.fetch("1:*", "(UID INTERNALDATE RFC822.SIZE FLAGS)"))
    r.raw("fetch_binary", a, "FETCH 4 (BINARY.PEEK[2] BINARY.SIZE[2])")
    r.raw("fetch_body_of_binary", a, "FETCH 4 (BODY.PEEK[2])")
    r.out["facts"]["sizes"] = {"plain": len(PLAIN), "lunch": len(LUNCH), "envelope": len(ENVELOPE)}


def select_expunge(r):
    a = r.conn("a")
    fill(r, a)
    r.step("select", a, lambda c: c.m.select("INBOX"))
    r.step("examine", a, lambda c: c.m.select("INBOX", readonly=True))
    r.step("store_in_examine", a, lambda c: c.m.store("1", "+FLAGS", "(\\Deleted)"))
    r.step("expunge_in_examine", a, lambda c: c.m.expunge())
    r.step("select_again", a, lambda c: c.m.select("INBOX"))
    r.step("store_deleted_1", a, lambda c: c.m.store("1", "+FLAGS.SILENT", "(\\Deleted)"))
    r.step("unselect", a, lambda c: c.m.unselect())
    r.step("status_after_unselect", a, lambda c: c.m.status("INBOX", "(MESSAGES DELETED)"))
    r.step("examine_deleted", a, lambda c: c.m.select("INBOX", readonly=True))
    r.step("close_examine", a, lambda c: c.m.close())
    r.step("status_after_close_examine", a, lambda c: c.m.status("INBOX", "(MESSAGES DELETED)"))
    r.step("select_3", a, lambda c: c.m.select("INBOX"))
    r.step("close", a, lambda c: c.m.close())
    r.step("status_after_close", a, lambda c: c.m.status("INBOX", "(MESSAGES DELETED)"))
    r.step("select_4", a, lambda c: c.m.select("INBOX"))
    r.step("store_deleted_all", a, lambda c: c.m.store("1:3", "+FLAGS.SILENT", "(\\Deleted)"))
    r.raw("uid_expunge", a, "UID EXPUNGE 3:4")
    r.step("fetch_left", a, lambda c: c.m.fetch("1:*", "(UID FLAGS)"))
    r.step("expunge", a, lambda c: c.m.expunge())
    r.step("status_end", a, lambda c: c.m.status("INBOX", "(MESSAGES UIDNEXT)"))
    r.step("select_missing", a, lambda c: c.m.select("Nowhere"))
    r.raw("fetch_after_failed_select", a, "FETCH 1 (FLAGS)")


def fetch(r):
    a = r.conn("a")
    fill(r, a)
    r.step("examine", a, lambda c: c.m.select("INBOX", readonly=True))
    r.raw("examine_body", a, "FETCH 3 (BODY[1])")
    r.raw("examine_flags", a, "FETCH 3 (FLAGS)")
    r.step("select", a, lambda c: c.m.select("INBOX"))
    r.raw("basic", a, "FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE UID)")
    r.raw("body_all_1", a, "FETCH 1 (BODY.PEEK[])")
    r.raw("envelope", a, "FETCH 2 (ENVELOPE)")
    r.raw("bodystructure", a, "FETCH 3 (BODYSTRUCTURE)")
    r.raw("body", a, "FETCH 3 (BODY)")
    r.raw("rfc822_size_3", a, "FETCH 3 (RFC822.SIZE)")
    r.raw("peek_parts", a, "FETCH 3 (BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT]<0.5>)")
    r.raw("part3", a, "FETCH 3 (BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT])")
    r.raw("binary", a, "FETCH 3 (BINARY.PEEK[1] BINARY.SIZE[1])")
    r.raw("binary_attachment_size", a, "FETCH 3 (BINARY.SIZE[2])")
    r.raw("flags_after_peek", a, "FETCH 3 (FLAGS)")
    r.raw("body_sets_seen", a, "FETCH 3 (BODY[1])")
    r.raw("flags_after_body", a, "FETCH 3 (FLAGS)")
    r.raw("body_all_2", a, "FETCH 2 (BODY[])")
    r.raw("rfc822_size_2", a, "FETCH 2 (RFC822.SIZE)")
    r.raw("header_not_field", a, "FETCH 4 (BODY.PEEK[HEADER.FIELDS.NOT (DATE FROM TO SUBJECT)])")
    r.raw("uid_fetch", a, "UID FETCH 4 (FLAGS)")
    r.raw("modseq", a, "FETCH 1 (MODSEQ)")
    r.raw("macro_fast", a, "FETCH 1 FAST")
    r.raw("rfc822_header_text", a, "FETCH 4 (RFC822.HEADER RFC822.TEXT)")
    r.raw("rfc822_header_flags", a, "FETCH 4 (FLAGS)")
    r.raw("rfc822", a, "FETCH 4 (RFC822)")
    r.raw("partial", a, "FETCH 1 (BODY.PEEK[]<6.5> BODY.PEEK[TEXT]<400.10>)")
    r.raw("missing_message", a, "FETCH 9 (FLAGS)")


def store(r):
    a = r.conn("a")
    fill(r, a)
    r.enable("enable_condstore", a, "CONDSTORE")
    r.step("select", a, lambda c: c.m.select("INBOX"))
    r.raw("modseqs", a, "FETCH 1:4 (MODSEQ)")
    r.step("flags_replace", a, lambda c: c.m.store("1", "FLAGS", "(\\Draft)"))
    r.step("flags_add", a, lambda c: c.m.store("1", "+FLAGS", "(\\Seen $Forwarded)"))
    r.step("flags_remove", a, lambda c: c.m.store("1", "-FLAGS", "(\\Draft)"))
    r.step("flags_silent", a, lambda c: c.m.store("2", "+FLAGS.SILENT", "(\\Answered)"))
    r.raw("flags_now", a, "FETCH 1:2 (FLAGS)")
    r.raw("modseq_now", a, "FETCH 1:4 (MODSEQ)")
    r.raw("changedsince", a, "FETCH 1:* (FLAGS) (CHANGEDSINCE 4)")
    r.raw("unchangedsince_ok", a, "STORE 3 (UNCHANGEDSINCE 4) +FLAGS (\\Flagged)")
    r.raw("unchangedsince_fail", a, "STORE 1:2 (UNCHANGEDSINCE 8) +FLAGS ($Important)")
    r.raw("uid_store", a, "UID STORE 4 -FLAGS.SILENT ($Forwarded)")
    r.raw("flags_end", a, "FETCH 1:4 (FLAGS)")
    r.raw("search_modseq", a, "SEARCH MODSEQ 9")


def search(r):
    a = r.conn("a")
    fill(r, a)
    r.step("select", a, lambda c: c.m.select("INBOX"))
    q = [
        ("all", "ALL"),
        ("seen", "SEEN"),
        ("unseen", "UNSEEN"),
        ("flagged", "FLAGGED"),
        ("answered", "ANSWERED"),
        ("keyword", "KEYWORD $Forwarded"),
        ("unkeyword", "UNKEYWORD $Forwarded"),
        ("from_ci", "FROM CAROL"),
        ("to_ci", "TO DAVE@EXAMPLE"),
        ("subject_ci", "SUBJECT quarterly"),
        ("body_ci", "BODY good"),
        ("text_ci", "TEXT pizza"),
        ("text_header", "TEXT tracking"),
        ("header", "HEADER X-Tracking abc"),
        ("header_exists", 'HEADER Message-ID ""'),
        ("larger", "LARGER 1000"),
        ("smaller", "SMALLER 300"),
        ("before", "BEFORE 15-Jan-2026"),
        ("since", "SINCE 15-Jan-2026"),
        ("on", "ON 15-Jan-2026"),
        ("sentbefore", "SENTBEFORE 01-Feb-2026"),
        ("sentsince", "SENTSINCE 01-Feb-2026"),
        ("or", "OR FLAGGED ANSWERED"),
        ("not", "NOT SEEN"),
        ("paren", "(OR SEEN FLAGGED) NOT FROM alice"),
        ("seqset", "2:3"),
        ("uidset", "UID 3:*"),
        ("modseq", "MODSEQ 3"),
        ("nomatch", "SUBJECT nothing-like-this"),
    ]
    for name, crit in q:
        r.step(name, a, lambda c, crit=crit: c.m.search(None, crit))

    def utf8_subject(c):
        c.m.literal = "grüße".encode()
        return c.m.search("UTF-8", "SUBJECT")

    r.step("charset_utf8", a, utf8_subject)
    r.step("charset_bad", a, lambda c: c.m.search("ISO-8859-9", "ALL"))
    r.raw("charset_bad_raw", a, "SEARCH CHARSET ISO-8859-9 ALL")
    r.step("uid_search", a, lambda c: c.m.uid("SEARCH", "FROM", "carol"))
    r.raw("esearch", a, "SEARCH RETURN (MIN MAX COUNT ALL) FROM carol")
    r.raw("esearch_empty", a, "SEARCH RETURN (MIN MAX COUNT ALL) SUBJECT nothing-like-this")
    r.raw("esearch_uid", a, "UID SEARCH RETURN (ALL) 1:*")
    r.raw("esearch_default", a, "SEARCH RETURN () NOT SEEN")
    r.raw("searchres_save", a, "SEARCH RETURN (SAVE) OR FLAGGED ANSWERED")
    r.raw("searchres_fetch", a, "FETCH $ (UID)")
    r.raw("searchres_uid_search", a, "UID SEARCH $ ANSWERED")


def copy_move(r):
    a = r.conn("a")
    fill(r, a)
    r.step("create_dest", a, lambda c: c.m.create("Dest"))
    r.step("select", a, lambda c: c.m.select("INBOX"))
    r.step("copy", a, lambda c: c.m.copy("1:2", "Dest"))
    r.step("uid_copy", a, lambda c: c.m.uid("COPY", "4,3", "Dest"))
    r.step("copy_missing", a, lambda c: c.m.copy("1", "Nowhere"))
    r.raw("move", a, "MOVE 1 Dest")
    r.raw("uid_move", a, "UID MOVE 3 Dest")
    r.raw("move_missing", a, "MOVE 1 Nowhere")
    r.raw("uid_move_none", a, "UID MOVE 99 Dest")
    r.step("fetch_left", a, lambda c: c.m.fetch("1:*", "(UID)"))
    r.step("status_dest", a, lambda c: c.m.status("Dest", "(MESSAGES UIDNEXT)"))
    r.step("examine_dest", a, lambda c: c.m.select("Dest", readonly=True))
    r.raw("dest_contents", a, "FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")


def qresync(r):
    a = r.conn("a")
    fill(r, a)
    r.enable("enable", a, "QRESYNC")
    r.step("select", a, lambda c: c.m.select("INBOX"))
    r.step("unselect", a, lambda c: c.m.unselect())
    # Another session changes the mailbox: UID 2 expunged, UID 4 flagged.
    b = r.conn("b")
    r.step("b_select", b, lambda c: c.m.select("INBOX"))
    r.step("b_delete", b, lambda c: c.m.store("2", "+FLAGS.SILENT", "(\\Deleted)"))
    r.step("b_expunge", b, lambda c: c.m.expunge())
    r.step("b_flag", b, lambda c: c.m.store("3", "+FLAGS.SILENT", "(\\Flagged)"))
    # Resynchronise from what the first SELECT said (UIDVALIDITY, HIGHESTMODSEQ).
    sel = r.out["steps"]["select"]["lines"]
    validity = modseq = None
    for line in sel:
        m = re.search(r"\[UIDVALIDITY (\d+)\]", line)
        if m:
            validity = m.group(1)
        m = re.search(r"\[HIGHESTMODSEQ (\d+)\]", line)
        if m:
            modseq = m.group(1)
    r.out["facts"]["uidvalidity"] = validity
    r.out["facts"]["modseq"] = modseq
    r.raw("select_qresync", a, f"SELECT INBOX (QRESYNC ({validity} {modseq}))")
    r.raw("uid_fetch_vanished", a, f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq} VANISHED)")
    r.raw("select_qresync_known", a, f"SELECT INBOX (QRESYNC ({validity} {modseq} 1:4))")
    wrong = int(validity) - 1
    r.raw("select_qresync_wrong_validity", a, f"SELECT INBOX (QRESYNC ({wrong} {modseq}))")
    # A second session's EXPUNGE reaches this QRESYNC session as VANISHED.
    r.step("b_delete_4", b, lambda c: c.m.store("3", "+FLAGS.SILENT", "(\\Deleted)"))
    r.step("b_expunge_4", b, lambda c: c.m.expunge())
    r.step("noop_sees_vanished", a, lambda c: c.m.noop())
    r.raw("expunge_own", a, "UID STORE 1 +FLAGS.SILENT (\\Deleted)")
    r.raw("expunge_own_2", a, "EXPUNGE")
    r.raw("uid_move_vanished", a, "UID MOVE 3 Trash")
    c = r.conn("c")
    r.raw("c_select_qresync_no_enable", c, "SELECT INBOX (QRESYNC (1 1))")


def rev2(r):
    a = r.conn("a")
    fill(r, a)
    r.enable("enable", a, "IMAP4rev2")
    r.step("select", a, lambda c: c.m.select("INBOX"))
    r.raw("search", a, "SEARCH FROM carol")
    r.raw("search_none", a, "SEARCH SUBJECT nothing-like-this")
    r.raw("uid_search", a, "UID SEARCH 2:4")
    r.raw("examine_sent", a, "EXAMINE Sent")
    r.raw("status_rev2", a, "STATUS INBOX (MESSAGES DELETED SIZE)")
    b = r.conn("b")
    r.step("b_select_rev1", b, lambda c: c.m.select("INBOX"))


SCENARIOS = {
    f.__name__: f
    for f in [session, mailboxes, append_status, select_expunge, fetch, store, search, copy_move, qresync, rev2]
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    a = ap.parse_args()
    r = Run(a)
    try:
        SCENARIOS[a.scenario](r)
    finally:
        r.close()
    print(json.dumps(r.out))


if __name__ == "__main__":
    sys.exit(main())
