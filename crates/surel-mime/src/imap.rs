//! IMAP string syntax for the cached structures (RFC 9051 §4.3): quoted where the grammar
//! allows it, a literal otherwise.

/// `NIL`, or the string.
pub(crate) fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// A quoted string, or a literal `{n}\r\n...` when it holds octets a quoted string cannot
/// carry (RFC 9051 §4.3: no CR, LF, NUL or 8-bit in `quoted`).
pub(crate) fn string(out: &mut Vec<u8>, s: &[u8]) {
    if s.iter()
        .all(|&b| (0x01..0x80).contains(&b) && b != b'\r' && b != b'\n')
    {
        out.reserve(s.len() + 2);
        out.push(b'"');
        if s.iter().any(|&b| b == b'"' || b == b'\\') {
            for &b in s {
                if b == b'"' || b == b'\\' {
                    out.push(b'\\');
                }
                out.push(b);
            }
        } else {
            out.extend_from_slice(s);
        }
        out.push(b'"');
    } else {
        out.push(b'{');
        out.extend_from_slice(s.len().to_string().as_bytes());
        out.extend_from_slice(b"}\r\n");
        out.extend_from_slice(s);
    }
}

/// A quoted string of an ASCII word we upper-case (types, subtypes, encodings).
pub(crate) fn upper(out: &mut Vec<u8>, s: &[u8]) {
    string(out, &s.to_ascii_uppercase());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        string(&mut out, b);
        out
    }

    #[test]
    fn quotes_escapes_and_literals() {
        assert_eq!(s(b"abc"), b"\"abc\"");
        assert_eq!(s(b"a\"b\\c"), b"\"a\\\"b\\\\c\"");
        assert_eq!(s(b""), b"\"\"");
        assert_eq!(s("é".as_bytes()), b"{2}\r\n\xc3\xa9");
        assert_eq!(s(b"a\r\nb"), b"{4}\r\na\r\nb");
        assert_eq!(s(b"\0"), b"{1}\r\n\0");
        let mut out = Vec::new();
        nstring(&mut out, None);
        assert_eq!(out, b"NIL");
    }
}
