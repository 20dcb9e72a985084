//! RFC 9051 §7.5.2 BODY and BODYSTRUCTURE from the part tree. Types, subtypes, encodings,
//! parameter names and disposition types are upper-cased ("TEXT" "PLAIN" ("CHARSET" ...));
//! parameter values and every other string are sent as they are in the message.

use crate::envelope;
use crate::header;
use crate::imap::{nstring, string, upper};
use crate::mime::{self, ContentType, Kind, MimeFields, Part};

/// Writes `part` as BODY into `body` and as BODYSTRUCTURE into `bs`, in one walk: the
/// non-extensible form is the extensible one without the extension data.
pub(crate) fn write(body: &mut Vec<u8>, bs: &mut Vec<u8>, raw: &[u8], part: &Part) {
    body.push(b'(');
    bs.push(b'(');
    match &part.kind {
        Kind::Multipart(children) => {
            for child in children {
                write(body, bs, raw, child);
            }
            let start = bs.len();
            bs.push(b' ');
            upper(bs, &part.ctype.sub);
            mirror(bs, start, body);
            bs.push(b' ');
            params(bs, &part.ctype);
            extension(bs, raw, &part.fields);
        }
        kind => {
            let f = &part.fields;
            let content = part.body(raw);
            let start = bs.len();
            upper(bs, &part.ctype.ty);
            bs.push(b' ');
            upper(bs, &part.ctype.sub);
            bs.push(b' ');
            params(bs, &part.ctype);
            bs.push(b' ');
            unfolded(bs, mime::field(raw, f.id));
            bs.push(b' ');
            unfolded(bs, mime::field(raw, f.description));
            bs.push(b' ');
            match part.encoding(raw) {
                Some(cte) => upper(bs, &cte),
                None => bs.extend_from_slice(b"\"7BIT\""),
            }
            bs.push(b' ');
            bs.extend_from_slice(content.len().to_string().as_bytes());
            if let Kind::Message(inner) = kind {
                bs.push(b' ');
                envelope::write(bs, inner.header(raw));
                bs.push(b' ');
                mirror(bs, start, body);
                write(body, bs, raw, inner);
                let start = bs.len();
                bs.push(b' ');
                bs.extend_from_slice(lines(content).to_string().as_bytes());
                mirror(bs, start, body);
            } else {
                if part.ctype.ty == b"text" {
                    bs.push(b' ');
                    bs.extend_from_slice(lines(content).to_string().as_bytes());
                }
                mirror(bs, start, body);
            }
            bs.push(b' ');
            unfolded(bs, mime::field(raw, f.md5));
            extension(bs, raw, f);
        }
    }
    body.push(b')');
    bs.push(b')');
}

/// Copies what was written to `from` since `start` to `to`.
fn mirror(from: &[u8], start: usize, to: &mut Vec<u8>) {
    to.extend_from_slice(from.get(start..).unwrap_or_default());
}

/// The number of lines: line ends, plus one for a last line without one.
pub(crate) fn lines(body: &[u8]) -> usize {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HI: u64 = 0x8080_8080_8080_8080;
    const LF: u64 = 0x0101_0101_0101_0101 * b'\n' as u64;
    let mut chunks = body.chunks_exact(8);
    let mut n = 0usize;
    for chunk in &mut chunks {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let x = u64::from_le_bytes(bytes) ^ LF;
        // Exactly the zero bytes of x (the LFs) get their high bit set.
        let zeros = !(((x & LO7).wrapping_add(LO7)) | x) & HI;
        n += zeros.count_ones() as usize;
    }
    n += chunks.remainder().iter().filter(|&&b| b == b'\n').count();
    if body.last().is_some_and(|&b| b != b'\n') {
        n + 1
    } else {
        n
    }
}

fn unfolded(out: &mut Vec<u8>, value: Option<&[u8]>) {
    nstring(out, value.map(header::unfold).as_deref());
}

fn params(out: &mut Vec<u8>, ct: &ContentType) {
    if ct.params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (n, (name, value)) in ct.params.iter().enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        upper(out, name);
        out.push(b' ');
        string(out, value);
    }
    out.push(b')');
}

/// ` disposition language location`, common to both kinds of part.
fn extension(out: &mut Vec<u8>, raw: &[u8], f: &MimeFields) {
    out.push(b' ');
    match mime::field(raw, f.disposition).and_then(mime::parse_disposition) {
        Some(d) => {
            out.push(b'(');
            upper(out, &d.ty);
            out.push(b' ');
            params(out, &d);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    // RFC 9051 body-fld-lang: one string, or a list when there are several tags.
    let langs: Vec<Vec<u8>> = mime::field(raw, f.language)
        .map(|v| {
            header::unfold(v)
                .split(|&b| b == b',' || b == b' ' || b == b'\t')
                .filter(|t| !t.is_empty())
                .map(<[u8]>::to_vec)
                .collect()
        })
        .unwrap_or_default();
    match langs.as_slice() {
        [] => out.extend_from_slice(b"NIL"),
        [one] => string(out, one),
        many => {
            out.push(b'(');
            for (n, l) in many.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                string(out, l);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    unfolded(out, mime::field(raw, f.location));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_counts() {
        assert_eq!(lines(b""), 0);
        assert_eq!(lines(b"a"), 1);
        assert_eq!(lines(b"a\n"), 1);
        assert_eq!(lines(b"a\r\nb"), 2);
        let long: Vec<u8> = (0..1000u32)
            .map(|i| if i % 7 == 0 { b'\n' } else { (i % 251) as u8 })
            .collect();
        let want = long.iter().filter(|&&b| b == b'\n').count() + 1;
        assert_eq!(lines(&long), want);
    }
}
