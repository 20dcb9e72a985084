//! BODY[section] (RFC 9051 §6.4.5) and BINARY[section] (RFC 3516) on the raw octets.

use crate::header;
use crate::mime::{self, Encoding, Kind, Part};
use crate::{BinaryError, SectionKind};

/// The part a non-empty part path names: children of a multipart are 1..n, the body of a
/// non-multipart message (or embedded message) is its part 1.
pub(crate) fn resolve<'t>(root: &'t Part, path: &[u32]) -> Option<&'t Part> {
    let mut container = root;
    let mut found = None;
    for (n, &idx) in path.iter().enumerate() {
        if n > 0 {
            container = match found.map(|p: &Part| &p.kind) {
                Some(Kind::Message(inner)) => inner,
                Some(Kind::Multipart(_)) => found?,
                _ => return None,
            };
        }
        let cur = match &container.kind {
            Kind::Multipart(children) => {
                children.get(usize::try_from(idx).ok()?.checked_sub(1)?)?
            }
            _ if idx == 1 => container,
            _ => return None,
        };
        found = Some(cur);
    }
    found
}

pub(crate) fn section(raw: &[u8], path: &[u32], kind: SectionKind<'_>) -> Option<Vec<u8>> {
    // The header and text of the message that HEADER / TEXT / HEADER.FIELDS apply to: the
    // top-level one, or the embedded message of a message/rfc822 part.
    let root;
    let (h, text) = if path.is_empty() {
        match kind {
            SectionKind::Full => return Some(raw.to_vec()),
            SectionKind::Mime => return None,
            // No part tree needed: clients fetch HEADER.FIELDS of whole mailboxes.
            _ => raw.split_at(mime::header_end(raw).min(raw.len())),
        }
    } else {
        root = mime::parse(raw);
        let part = resolve(&root, path)?;
        match (kind, &part.kind) {
            (SectionKind::Full, _) => return Some(part.body(raw).to_vec()),
            (SectionKind::Mime, _) => return Some(part.header(raw).to_vec()),
            (_, Kind::Message(inner)) => (inner.header(raw), inner.body(raw)),
            _ => return None,
        }
    };
    match kind {
        SectionKind::Header => Some(h.to_vec()),
        SectionKind::Text => Some(text.to_vec()),
        SectionKind::HeaderFields(names) => Some(header::select(h, names, false)),
        SectionKind::HeaderFieldsNot(names) => Some(header::select(h, names, true)),
        SectionKind::Full | SectionKind::Mime => None,
    }
}

pub(crate) fn binary(raw: &[u8], path: &[u32]) -> Result<Vec<u8>, BinaryError> {
    let root = mime::parse(raw);
    let part = if path.is_empty() {
        if matches!(root.kind, Kind::Multipart(_)) {
            return Ok(raw.to_vec());
        }
        &root
    } else {
        resolve(&root, path).ok_or(BinaryError::NoSuchPart)?
    };
    decode_part(raw, part)
}

pub(crate) fn text(raw: &[u8], path: &[u32]) -> Result<String, BinaryError> {
    let root = mime::parse(raw);
    let part = if path.is_empty() {
        &root
    } else {
        resolve(&root, path).ok_or(BinaryError::NoSuchPart)?
    };
    let bytes = decode_part(raw, part)?;
    Ok(crate::text::to_utf8(&bytes, part.ctype.param("charset")))
}

/// The part's content with its transfer encoding removed.
pub(crate) fn decode_part(raw: &[u8], part: &Part) -> Result<Vec<u8>, BinaryError> {
    let body = part.body(raw);
    match part
        .encoding(raw)
        .map_or(Encoding::Identity, |e| Encoding::of(&e))
    {
        Encoding::Identity => Ok(body.to_vec()),
        Encoding::Base64 => Ok(base64(body)),
        Encoding::QuotedPrintable => Ok(quoted_printable(body)),
        Encoding::Unknown => Err(BinaryError::UnknownEncoding),
    }
}

/// RFC 2045 §6.8, leniently: characters outside the alphabet are ignored, decoding stops at
/// the first `=`.
pub(crate) fn base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// RFC 2045 §6.7, leniently: `=` not followed by two hex digits or a line end stays as is;
/// whitespace before a line end is dropped; line ends are kept as sent.
pub(crate) fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    // Literal spaces and tabs at the end of `out`: a line end drops them, not encoded ones.
    let mut blanks = 0;
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'=' => {
                blanks = 0;
                let a = input.get(i + 1).copied();
                let c = input.get(i + 2).copied();
                if let (Some(h), Some(l)) = (a.and_then(hex), c.and_then(hex)) {
                    out.push((h << 4) | l);
                    i += 3;
                    continue;
                }
                // A soft line break: `=`, optional whitespace, line end.
                let mut j = i + 1;
                while matches!(input.get(j), Some(b' ') | Some(b'\t')) {
                    j += 1;
                }
                match input.get(j) {
                    Some(b'\n') => i = j + 1,
                    Some(b'\r') if input.get(j + 1) == Some(&b'\n') => i = j + 2,
                    None => i = j,
                    _ => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            b'\r' | b'\n' => {
                out.truncate(out.len().saturating_sub(blanks));
                blanks = 0;
                out.push(b);
                i += 1;
            }
            _ => {
                if b == b' ' || b == b'\t' {
                    blanks += 1;
                } else {
                    blanks = 0;
                }
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_lenient() {
        assert_eq!(base64(b"aGVs\r\nbG8=\r\n"), b"hello");
        assert_eq!(base64(b"aGVsbG8"), b"hello");
        assert_eq!(base64(b"!!"), b"");
    }

    #[test]
    fn quoted_printable_rules() {
        assert_eq!(quoted_printable(b"a=3Db=\r\nc  \r\nd=\n"), b"a=bc\r\nd");
        assert_eq!(quoted_printable(b"x=zz= "), b"x=zz");
        assert_eq!(quoted_printable(b"=C3=A9"), "é".as_bytes());
        assert_eq!(quoted_printable(b"a=20\r\nb =20 \n"), b"a \r\nb  \n");
    }
}
