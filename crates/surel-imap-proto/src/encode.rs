//! Response building blocks: strings, atoms, sequence sets, dates and mailbox names as the
//! server writes them (RFC 9051 §9).
use chrono::{DateTime, FixedOffset};

use crate::mutf7;

/// RFC 9051 ATOM-CHAR: CHAR except atom-specials (`( ) { SP CTL % * " \ ]`).
pub fn is_atom_char(b: u8) -> bool {
    matches!(b, 0x21..=0x7e) && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// RFC 9051 ASTRING-CHAR: ATOM-CHAR or resp-specials (`]`).
pub fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// A string: quoted when it can be, else a literal `{n}\r\n...`.
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    if s.iter()
        .all(|&b| matches!(b, 0x01..=0x7f) && b != b'\r' && b != b'\n')
    {
        quoted(out, s);
    } else {
        literal(out, s);
    }
}

/// A string for a client that enabled UTF8=ACCEPT or IMAP4rev2 (RFC 6855 §3, RFC 9051
/// `quoted-char =/ UTF8-2 / UTF8-3 / UTF8-4`): valid UTF-8 may be quoted too.
pub fn string_utf8(out: &mut Vec<u8>, s: &[u8]) {
    let quotable =
        std::str::from_utf8(s).is_ok() && !s.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n'));
    if quotable {
        quoted(out, s);
    } else {
        literal(out, s);
    }
}

fn quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    for &b in s {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// A synchronising literal `{n}\r\n` + the octets (the server never waits for `+`).
pub fn literal(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'{');
    out.extend_from_slice(s.len().to_string().as_bytes());
    out.extend_from_slice(b"}\r\n");
    out.extend_from_slice(s);
}

/// `NIL` or a string.
pub fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// An atom when it can be, else a string. `NIL` is quoted so it is never read as nil.
pub fn astring(out: &mut Vec<u8>, s: &[u8]) {
    if is_plain_atom(s) {
        out.extend_from_slice(s);
    } else {
        string(out, s)
    }
}

fn is_plain_atom(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_astring_char(b)) && !s.eq_ignore_ascii_case(b"NIL")
}

/// Ascending numbers as a compact set: `1:3,5,7:9`. Empty input writes nothing; repeats are
/// written once; a number lower than its predecessor starts a new range.
pub fn sequence_set(out: &mut Vec<u8>, sorted: &[u32]) {
    let mut iter = sorted.iter().copied();
    let Some(first) = iter.next() else {
        return;
    };
    let (mut start, mut end) = (first, first);
    let put = |out: &mut Vec<u8>, start: u32, end: u32, first: bool| {
        if !first {
            out.push(b',');
        }
        out.extend_from_slice(start.to_string().as_bytes());
        if end != start {
            out.push(b':');
            out.extend_from_slice(end.to_string().as_bytes());
        }
    };
    let mut is_first = true;
    for n in iter {
        if n == end {
            continue;
        }
        if end.checked_add(1) == Some(n) {
            end = n;
        } else {
            put(out, start, end, is_first);
            is_first = false;
            start = n;
            end = n;
        }
    }
    put(out, start, end, is_first);
}

/// `"28-Nov-2026 06:00:00 +0000"` (RFC 9051 date-time, quoted).
pub fn date_time(out: &mut Vec<u8>, at: &DateTime<FixedOffset>) {
    out.push(b'"');
    out.extend_from_slice(at.format("%d-%b-%Y %H:%M:%S %z").to_string().as_bytes());
    out.push(b'"');
}

/// A mailbox name: UTF-8 as is when `utf8`, else modified UTF-7; quoted/literal as needed.
pub fn mailbox(out: &mut Vec<u8>, name: &str, utf8: bool) {
    if utf8 {
        if is_plain_atom(name.as_bytes()) {
            out.extend_from_slice(name.as_bytes());
        } else {
            string_utf8(out, name.as_bytes());
        }
    } else {
        astring(out, mutf7::encode(name).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn w(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn strings() {
        assert_eq!(w(|o| string(o, b"hello world")), "\"hello world\"");
        assert_eq!(w(|o| string(o, b"")), "\"\"");
        assert_eq!(w(|o| string(o, br#"a"b\c"#)), r#""a\"b\\c""#);
        assert_eq!(w(|o| string(o, b"a\r\nb")), "{4}\r\na\r\nb");
        assert_eq!(w(|o| string(o, "é".as_bytes())), "{2}\r\né");
        assert_eq!(w(|o| string(o, b"a\0")), "{2}\r\na\0");
        assert_eq!(w(|o| string_utf8(o, "é".as_bytes())), "\"é\"");
        assert_eq!(w(|o| string_utf8(o, b"\xff")), "{1}\r\n\u{fffd}");
        assert_eq!(w(|o| nstring(o, None)), "NIL");
        assert_eq!(w(|o| nstring(o, Some(b"x"))), "\"x\"");
    }

    #[test]
    fn astrings() {
        assert_eq!(w(|o| astring(o, b"INBOX")), "INBOX");
        assert_eq!(w(|o| astring(o, b"a]b")), "a]b");
        assert_eq!(w(|o| astring(o, b"a b")), "\"a b\"");
        assert_eq!(w(|o| astring(o, b"")), "\"\"");
        assert_eq!(w(|o| astring(o, b"nil")), "\"nil\"");
        assert_eq!(w(|o| astring(o, b"a%")), "\"a%\"");
        assert_eq!(w(|o| astring(o, b"{3}")), "\"{3}\"");
    }

    #[test]
    fn sequence_sets() {
        assert_eq!(w(|o| sequence_set(o, &[])), "");
        assert_eq!(w(|o| sequence_set(o, &[4])), "4");
        assert_eq!(w(|o| sequence_set(o, &[1, 2, 3, 5])), "1:3,5");
        assert_eq!(w(|o| sequence_set(o, &[1, 2, 3, 5, 7, 8, 9])), "1:3,5,7:9");
        assert_eq!(w(|o| sequence_set(o, &[1, 1, 2, 2])), "1:2");
        assert_eq!(
            w(|o| sequence_set(o, &[u32::MAX - 1, u32::MAX])),
            "4294967294:4294967295"
        );
        assert_eq!(w(|o| sequence_set(o, &[5, 1, 2])), "5,1:2");
    }

    #[test]
    fn dates() {
        let tz = FixedOffset::east_opt(0).unwrap();
        let at = tz.with_ymd_and_hms(2026, 11, 28, 6, 0, 0).unwrap();
        assert_eq!(w(|o| date_time(o, &at)), "\"28-Nov-2026 06:00:00 +0000\"");
        let tz = FixedOffset::west_opt(7 * 3600 + 1800).unwrap();
        let at = tz.with_ymd_and_hms(1994, 2, 1, 21, 52, 25).unwrap();
        assert_eq!(w(|o| date_time(o, &at)), "\"01-Feb-1994 21:52:25 -0730\"");
    }

    #[test]
    fn mailboxes() {
        assert_eq!(w(|o| mailbox(o, "INBOX", false)), "INBOX");
        assert_eq!(w(|o| mailbox(o, "台北", false)), "&U,BTFw-");
        assert_eq!(w(|o| mailbox(o, "台北", true)), "\"台北\"");
        assert_eq!(w(|o| mailbox(o, "Sent Items", true)), "\"Sent Items\"");
        assert_eq!(w(|o| mailbox(o, "Tom & Jerry", false)), "\"Tom &- Jerry\"");
        assert_eq!(w(|o| mailbox(o, "a\"b", true)), "\"a\\\"b\"");
    }
}
