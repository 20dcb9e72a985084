//! Response building blocks. CONTRACT STUB.
use chrono::{DateTime, FixedOffset};

/// A string: quoted when it can be, else a literal `{n}\r\n...`.
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(s);
}

/// `NIL` or a string.
pub fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// An atom when it can be, else a string.
pub fn astring(out: &mut Vec<u8>, s: &[u8]) {
    string(out, s)
}

/// Ascending numbers as a compact set: `1:3,5,7:9`. Empty input writes nothing.
pub fn sequence_set(out: &mut Vec<u8>, sorted: &[u32]) {
    for n in sorted {
        out.extend_from_slice(n.to_string().as_bytes());
    }
}

/// `"28-Nov-2026 06:00:00 +0000"` (RFC 9051 date-time, quoted).
pub fn date_time(out: &mut Vec<u8>, at: &DateTime<FixedOffset>) {
    out.extend_from_slice(at.to_rfc2822().as_bytes());
}

/// A mailbox name: UTF-8 as is when `utf8`, else modified UTF-7; quoted/literal as needed.
pub fn mailbox(out: &mut Vec<u8>, name: &str, utf8: bool) {
    let _ = utf8;
    astring(out, name.as_bytes())
}
