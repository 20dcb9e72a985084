//! RFC 9051 §7.5.2 ENVELOPE from a header section. Strings are the unfolded header values,
//! not RFC 2047-decoded (as Dovecot and Cyrus send them).

use crate::header;
use crate::imap::{nstring, string};

/// Comments and groups nest at most this deep before we stop honouring the nesting.
const MAX_COMMENT_DEPTH: usize = 32;

/// The ENVELOPE of the message (or embedded message) whose header is `header`.
pub(crate) fn write(out: &mut Vec<u8>, header: &[u8]) {
    let mut date = None;
    let mut subject = None;
    let mut from = None;
    let mut sender = None;
    let mut reply_to = None;
    let mut to = None;
    let mut cc = None;
    let mut bcc = None;
    let mut in_reply_to = None;
    let mut message_id = None;
    for field in header::fields(header) {
        let name = field.name;
        if name.len() > 11 {
            continue;
        }
        let mut lower = [0u8; 11];
        for (l, b) in lower.iter_mut().zip(name) {
            *l = b.to_ascii_lowercase();
        }
        let slot = match lower.get(..name.len()).unwrap_or_default() {
            b"date" => &mut date,
            b"subject" => &mut subject,
            b"from" => &mut from,
            b"sender" => &mut sender,
            b"reply-to" => &mut reply_to,
            b"to" => &mut to,
            b"cc" => &mut cc,
            b"bcc" => &mut bcc,
            b"in-reply-to" => &mut in_reply_to,
            b"message-id" => &mut message_id,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(field.value);
        }
    }
    let from = from.map(|v| addresses(&header::unfold(v)));
    // RFC 9051 §7.5.2: sender and reply-to default to from when absent (or empty).
    let sender = sender
        .map(|v| addresses(&header::unfold(v)))
        .filter(|l| !l.is_empty())
        .or_else(|| from.clone());
    let reply_to = reply_to
        .map(|v| addresses(&header::unfold(v)))
        .filter(|l| !l.is_empty())
        .or_else(|| from.clone());
    out.push(b'(');
    nstring(out, date.map(header::unfold).as_deref());
    out.push(b' ');
    nstring(out, subject.map(header::unfold).as_deref());
    for list in [from, sender, reply_to] {
        out.push(b' ');
        address_list(out, list.as_deref());
    }
    for list in [to, cc, bcc] {
        out.push(b' ');
        address_list(out, list.map(|v| addresses(&header::unfold(v))).as_deref());
    }
    out.push(b' ');
    nstring(out, in_reply_to.map(header::unfold).as_deref());
    out.push(b' ');
    nstring(out, message_id.map(header::unfold).as_deref());
    out.push(b')');
}

/// One entry of an ENVELOPE address list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Addr {
    Mailbox {
        name: Option<Vec<u8>>,
        adl: Option<Vec<u8>>,
        mailbox: Vec<u8>,
        /// Empty when the address has no `@domain` (kept apart from NIL, which marks groups).
        host: Vec<u8>,
    },
    GroupStart(Vec<u8>),
    GroupEnd,
}

fn address_list(out: &mut Vec<u8>, list: Option<&[Addr]>) {
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        out.extend_from_slice(b"NIL");
        return;
    };
    out.push(b'(');
    for addr in list {
        match addr {
            Addr::Mailbox {
                name,
                adl,
                mailbox,
                host,
            } => {
                out.push(b'(');
                nstring(out, name.as_deref());
                out.push(b' ');
                nstring(out, adl.as_deref());
                out.push(b' ');
                string(out, mailbox);
                out.push(b' ');
                string(out, host);
                out.push(b')');
            }
            // RFC 9051 §7.5.2: group start is (NIL NIL "name" NIL), end (NIL NIL NIL NIL).
            Addr::GroupStart(name) => {
                out.extend_from_slice(b"(NIL NIL ");
                string(out, name);
                out.extend_from_slice(b" NIL)");
            }
            Addr::GroupEnd => out.extend_from_slice(b"(NIL NIL NIL NIL)"),
        }
    }
    out.push(b')');
}

#[derive(Debug, PartialEq, Eq)]
enum Tok<'a> {
    /// An atom (dots included), a quoted string or a domain literal: as written, and as text
    /// (quotes and escapes removed).
    Word {
        raw: &'a [u8],
        text: Vec<u8>,
    },
    Special(u8),
}

fn tokenize(s: &[u8]) -> Vec<Tok<'_>> {
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'(' => {
                let mut depth = 0usize;
                while let Some(&c) = s.get(i) {
                    i += 1;
                    match c {
                        b'\\' => i += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    if depth > MAX_COMMENT_DEPTH {
                        depth = MAX_COMMENT_DEPTH;
                    }
                }
            }
            b'"' => {
                let start = i;
                let mut text = Vec::new();
                i += 1;
                while let Some(&c) = s.get(i) {
                    i += 1;
                    match c {
                        b'"' => break,
                        b'\\' => {
                            if let Some(&d) = s.get(i) {
                                text.push(d);
                                i += 1;
                            }
                        }
                        _ => text.push(c),
                    }
                }
                let raw = s.get(start..i.min(s.len())).unwrap_or_default();
                toks.push(Tok::Word { raw, text });
            }
            b'[' => {
                let start = i;
                while let Some(&c) = s.get(i) {
                    i += 1;
                    if c == b']' {
                        break;
                    }
                }
                let raw = s.get(start..i.min(s.len())).unwrap_or_default();
                toks.push(Tok::Word {
                    raw,
                    text: raw.to_vec(),
                });
            }
            b'<' | b'>' | b'@' | b',' | b';' | b':' => {
                toks.push(Tok::Special(b));
                i += 1;
            }
            _ => {
                let start = i;
                while let Some(&c) = s.get(i) {
                    if b" \t\r\n()\"[<>@,;:".contains(&c) {
                        break;
                    }
                    i += 1;
                }
                let raw = s.get(start..i).unwrap_or_default();
                toks.push(Tok::Word {
                    raw,
                    text: raw.to_vec(),
                });
            }
        }
    }
    toks
}

fn join_text(words: &[&Tok<'_>], sep: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, w) in words.iter().enumerate() {
        if n > 0 {
            out.extend_from_slice(sep);
        }
        match w {
            Tok::Word { text, .. } => out.extend_from_slice(text),
            Tok::Special(c) => out.push(*c),
        }
    }
    out
}

fn join_raw(words: &[&Tok<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for w in words {
        match w {
            Tok::Word { raw, .. } => out.extend_from_slice(raw),
            Tok::Special(c) => out.push(*c),
        }
    }
    out
}

/// Splits an addr-spec's tokens at the last `@` into (mailbox, host).
fn addr_spec(toks: &[&Tok<'_>]) -> (Vec<u8>, Vec<u8>) {
    match toks.iter().rposition(|t| **t == Tok::Special(b'@')) {
        Some(at) => (
            join_raw(toks.get(..at).unwrap_or_default()),
            join_raw(toks.get(at + 1..).unwrap_or_default()),
        ),
        None => (join_raw(toks), Vec::new()),
    }
}

/// An RFC 5322 address-list (groups included), leniently.
pub(crate) fn addresses(value: &[u8]) -> Vec<Addr> {
    let toks = tokenize(value);
    let mut out = Vec::new();
    let mut in_group = false;
    let mut i = 0;
    while i < toks.len() {
        // One item: up to ',' (or ';' closing a group), with '<...>' taken whole.
        let mut phrase: Vec<&Tok<'_>> = Vec::new();
        let mut angle: Option<Vec<&Tok<'_>>> = None;
        let mut end_group = false;
        while let Some(t) = toks.get(i) {
            i += 1;
            match t {
                Tok::Special(b',') => break,
                Tok::Special(b';') if in_group => {
                    end_group = true;
                    break;
                }
                Tok::Special(b':') if !in_group && angle.is_none() => {
                    out.push(Addr::GroupStart(join_text(&phrase, b" ")));
                    in_group = true;
                    phrase.clear();
                }
                Tok::Special(b'<') if angle.is_none() => {
                    let mut inner = Vec::new();
                    while let Some(t) = toks.get(i) {
                        i += 1;
                        if *t == Tok::Special(b'>') {
                            break;
                        }
                        inner.push(t);
                    }
                    angle = Some(inner);
                }
                _ if angle.is_some() => {}
                t => phrase.push(t),
            }
        }
        match angle {
            Some(inner) => {
                // RFC 5322 §4.4 obs-route: `@a,@b:` before the addr-spec.
                let (adl, spec) = match inner.iter().position(|t| **t == Tok::Special(b':')) {
                    Some(colon) if inner.first() == Some(&&Tok::Special(b'@')) => (
                        Some(join_raw(inner.get(..colon).unwrap_or_default())),
                        inner.get(colon + 1..).unwrap_or_default(),
                    ),
                    _ => (None, inner.as_slice()),
                };
                let (mailbox, host) = addr_spec(spec);
                let name = join_text(&phrase, b" ");
                if !(mailbox.is_empty() && host.is_empty() && name.is_empty()) {
                    out.push(Addr::Mailbox {
                        name: (!name.is_empty()).then_some(name),
                        adl,
                        mailbox,
                        host,
                    });
                }
            }
            None if !phrase.is_empty() => {
                let (mailbox, host) = addr_spec(&phrase);
                out.push(Addr::Mailbox {
                    name: None,
                    adl: None,
                    mailbox,
                    host,
                });
            }
            None => {}
        }
        if end_group {
            out.push(Addr::GroupEnd);
            in_group = false;
        }
    }
    if in_group {
        out.push(Addr::GroupEnd);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &str) -> String {
        let mut out = Vec::new();
        address_list(&mut out, Some(&addresses(v.as_bytes())));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_and_named_addresses() {
        assert_eq!(list("a@b.c"), r#"((NIL NIL "a" "b.c"))"#);
        assert_eq!(
            list("\"Doe, John\" <john@x.org>, Mary Smith <mary@y.net> (comment)"),
            r#"(("Doe, John" NIL "john" "x.org")("Mary Smith" NIL "mary" "y.net"))"#
        );
        assert_eq!(
            list("=?utf-8?q?J=C3=B6rg?= <j@x>"),
            r#"(("=?utf-8?q?J=C3=B6rg?=" NIL "j" "x"))"#
        );
        assert_eq!(list("localonly"), r#"((NIL NIL "localonly" ""))"#);
        assert_eq!(list("\"a b\"@x"), r#"((NIL NIL "\"a b\"" "x"))"#);
        assert_eq!(list(""), "NIL");
        assert_eq!(list(" , ,"), "NIL");
    }

    #[test]
    fn groups_and_routes() {
        assert_eq!(
            list("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, x@y"),
            concat!(
                r#"((NIL NIL "A Group" NIL)("Ed Jones" NIL "c" "a.test")(NIL NIL "joe" "where.test")"#,
                r#"("John" NIL "jdoe" "one.test")(NIL NIL NIL NIL)(NIL NIL "x" "y"))"#
            )
        );
        assert_eq!(
            list("Undisclosed recipients:;"),
            r#"((NIL NIL "Undisclosed recipients" NIL)(NIL NIL NIL NIL))"#
        );
        assert_eq!(list("<@r1,@r2:u@h>"), r#"((NIL "@r1,@r2" "u" "h"))"#);
        assert_eq!(
            list("open: a@b"),
            r#"((NIL NIL "open" NIL)(NIL NIL "a" "b")(NIL NIL NIL NIL))"#
        );
    }
}
