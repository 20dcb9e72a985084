//! Header sections on raw octets: where a header ends, its fields with their exact bytes, and
//! unfolding. Lines end in CRLF or a bare LF; both are accepted everywhere.

/// One header field as it sits in the header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field<'a> {
    /// The name before the colon, without trailing whitespace; empty for a line with no colon.
    pub name: &'a [u8],
    /// Everything after the colon up to (not including) the final line end, folds kept.
    pub value: &'a [u8],
    /// The whole field, continuation lines and final line end included.
    pub raw: &'a [u8],
    /// Where `value` starts in the header section.
    pub value_at: usize,
}

/// The fields of a header section, in order; stops at the blank line.
pub(crate) fn fields(header: &[u8]) -> Fields<'_> {
    Fields {
        rest: header,
        at: 0,
    }
}

pub(crate) struct Fields<'a> {
    rest: &'a [u8],
    /// Octets of the header already consumed.
    at: usize,
}

/// The first LF in `s`, a word at a time (headers and bodies are scanned line by line).
pub(crate) fn find_lf(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const LF: u64 = LO * b'\n' as u64;
    let mut chunks = s.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let x = u64::from_le_bytes(bytes) ^ LF;
        // The lowest byte of x that is zero is the first LF; bytes above it may be flagged
        // falsely, which trailing_zeros never looks at.
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    let rest = s.get(base..).unwrap_or_default();
    rest.iter().position(|&b| b == b'\n').map(|i| base + i)
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        let rest = self.rest;
        if rest.is_empty() || rest.starts_with(b"\n") || rest.starts_with(b"\r\n") {
            self.rest = &[];
            return None;
        }
        // The field runs over every following line that starts with WSP (RFC 5322 §2.2.3).
        let mut end = 0;
        loop {
            let tail = rest.get(end..).unwrap_or_default();
            match find_lf(tail) {
                Some(i) => {
                    end += i + 1;
                    match rest.get(end) {
                        Some(b' ') | Some(b'\t') => continue,
                        _ => break,
                    }
                }
                None => {
                    end = rest.len();
                    break;
                }
            }
        }
        let (raw, after) = rest.split_at(end.min(rest.len()));
        self.rest = after;
        let at = self.at;
        self.at += raw.len();
        let body = trim_line_end(raw);
        let (name, value, value_at) = match body.iter().position(|&b| b == b':') {
            // A colon after a line break belongs to a continuation, not to the name.
            Some(i) if !body.get(..i).unwrap_or_default().contains(&b'\n') => (
                trim_end(body.get(..i).unwrap_or_default()),
                body.get(i + 1..).unwrap_or_default(),
                at + i + 1,
            ),
            _ => (&b""[..], body, at),
        };
        Some(Field {
            name,
            value,
            raw,
            value_at,
        })
    }
}

fn trim_line_end(s: &[u8]) -> &[u8] {
    let s = s.strip_suffix(b"\n").unwrap_or(s);
    s.strip_suffix(b"\r").unwrap_or(s)
}

pub(crate) fn trim_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    trim_end(s)
}

/// RFC 5322 §2.2.3 unfolding (line ends removed, the whitespace after them kept), trimmed.
pub(crate) fn unfold(value: &[u8]) -> Vec<u8> {
    trim(value)
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect()
}

/// The first field named `name` (ASCII case-insensitive).
pub(crate) fn first<'a>(header: &'a [u8], name: &str) -> Option<&'a [u8]> {
    fields(header)
        .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|f| f.value)
}

/// The line end this header uses, for the blank line we add after selected fields.
pub(crate) fn line_end(header: &[u8]) -> &'static [u8] {
    match header.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && header.get(i - 1) == Some(&b'\r') => b"\r\n",
        Some(_) => b"\n",
        None => b"\r\n",
    }
}

/// RFC 9051 §6.4.5 HEADER.FIELDS / HEADER.FIELDS.NOT: the chosen fields, whole, then a blank
/// line.
pub(crate) fn select(header: &[u8], names: &[String], not: bool) -> Vec<u8> {
    let eol = line_end(header);
    let mut out = Vec::new();
    for field in fields(header) {
        let listed = !field.name.is_empty()
            && names
                .iter()
                .any(|n| n.as_bytes().eq_ignore_ascii_case(field.name));
        if listed != not {
            out.extend_from_slice(field.raw);
            if !field.raw.ends_with(b"\n") {
                out.extend_from_slice(eol);
            }
        }
    }
    out.extend_from_slice(eol);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_folds_and_split_names() {
        let h = b"Subject: a\r\n b\r\nX-Y : z\r\nnocolon\r\n\r\n";
        let f: Vec<_> = fields(h).collect();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].name, b"Subject");
        assert_eq!(f[0].raw, b"Subject: a\r\n b\r\n");
        assert_eq!(unfold(f[0].value), b"a b");
        assert_eq!(f[1].name, b"X-Y");
        assert_eq!(f[2].name, b"");
    }

    #[test]
    fn find_lf_agrees_with_position() {
        let mut s = vec![b'a'; 40];
        assert_eq!(find_lf(&s), None);
        for i in 0..40 {
            s[i] = b'\n';
            assert_eq!(find_lf(&s), Some(i));
            assert_eq!(find_lf(&s[i.min(3)..]), Some(i - i.min(3)));
            s[i] = 0x8a;
        }
        assert_eq!(find_lf(b""), None);
    }

    #[test]
    fn select_fields_and_not() {
        let h = b"From: a\r\nTo: b\r\n c\r\nSubject: s\r\n\r\n";
        let names = vec!["to".to_string(), "SUBJECT".to_string()];
        assert_eq!(
            select(h, &names, false),
            b"To: b\r\n c\r\nSubject: s\r\n\r\n"
        );
        assert_eq!(select(h, &names, true), b"From: a\r\n\r\n");
        assert_eq!(select(b"A: 1\nB: 2", &names, true), b"A: 1\nB: 2\n\n");
    }
}
