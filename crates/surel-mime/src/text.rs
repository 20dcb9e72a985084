//! Decoded text for SEARCH: header values with RFC 2047 encoded-words decoded, and the text of
//! every text/* part converted to UTF-8. mail-parser does the encoded-word and charset work.

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::parsers::MessageStream;
use mail_parser::{DateTime, HeaderValue};

use crate::header;
use crate::mime::{self, Kind, Part};
use crate::section::decode_part;

/// SEARCH BODY reads at most this much decoded text from one message.
const MAX_BODY_TEXT: usize = 8 << 20;

/// An unstructured header value (folds included), encoded-words decoded.
pub(crate) fn decode_value(value: &[u8]) -> String {
    // Most values have no encoded-word: unfolding is all they need (SEARCH runs this over
    // every message of a mailbox).
    if !value.windows(2).any(|w| w == b"=?")
        && let Ok(text) = std::str::from_utf8(value)
    {
        // A fold (line break and the white space after it) reads as one space, as
        // mail-parser's decoder reads it.
        let mut unfolded = String::with_capacity(text.len());
        for (i, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if i > 0 {
                unfolded.truncate(unfolded.trim_end_matches([' ', '\t']).len());
                unfolded.push(' ');
            }
            unfolded.push_str(if i > 0 {
                line.trim_start_matches([' ', '\t'])
            } else {
                line
            });
        }
        return unfolded.trim().to_string();
    }
    let mut buf = Vec::with_capacity(value.len() + 1);
    buf.extend_from_slice(value);
    buf.push(b'\n');
    let decoded = match MessageStream::new(&buf).parse_unstructured() {
        HeaderValue::Text(t) => t.into_owned(),
        _ => String::new(),
    };
    decoded.trim().to_string()
}

pub(crate) fn header_values(header: &[u8], name: &str) -> Vec<String> {
    header::fields(header)
        .filter(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|f| decode_value(f.value))
        .collect()
}

/// The Date: value as Unix seconds.
pub(crate) fn date(header: &[u8]) -> Option<i64> {
    let mut value = header::unfold(header::first(header, "date")?);
    value.push(b'\n');
    let text = std::str::from_utf8(&value).ok()?;
    let dt = DateTime::parse_rfc822(text)?;
    dt.is_valid().then(|| dt.to_timestamp())
}

/// Bytes in a charset, as UTF-8 (lossy for what does not convert).
pub(crate) fn to_utf8(bytes: &[u8], charset: Option<&[u8]>) -> String {
    let unicode = charset.is_none_or(|c| {
        c.eq_ignore_ascii_case(b"utf-8")
            || c.eq_ignore_ascii_case(b"us-ascii")
            || c.eq_ignore_ascii_case(b"utf8")
    });
    if let (true, Ok(s)) = (unicode, std::str::from_utf8(bytes)) {
        return s.to_string();
    }
    match charset.and_then(charset_decoder) {
        Some(decode) => decode(bytes),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

pub(crate) fn body_text(raw: &[u8]) -> String {
    let root = mime::parse(raw);
    let mut out = String::new();
    collect(raw, &root, &mut out);
    out
}

fn collect(raw: &[u8], part: &Part, out: &mut String) {
    if out.len() >= MAX_BODY_TEXT {
        return;
    }
    match &part.kind {
        Kind::Multipart(children) => {
            for child in children {
                collect(raw, child, out);
            }
        }
        // An encoded embedded message is still base64 or quoted-printable text: not what
        // the sender wrote, so not searched (as when it was a leaf).
        Kind::Message(_) if part.encoded_message(raw) => {}
        Kind::Message(inner) => collect(raw, inner, out),
        Kind::Leaf if part.ctype.ty == b"text" => {
            let bytes = decode_part(raw, part).unwrap_or_else(|_| part.body(raw).to_vec());
            let limit = bytes.len().min(MAX_BODY_TEXT - out.len());
            let text = to_utf8(
                bytes.get(..limit).unwrap_or_default(),
                part.ctype.param("charset"),
            );
            if !out.is_empty() && !text.is_empty() {
                out.push('\n');
            }
            out.push_str(&text);
        }
        Kind::Leaf => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words_are_decoded() {
        let h =
            b"Subject: =?utf-8?q?J=C3=B6rg?=\r\n =?iso-8859-1?b?5Q==?= x\r\nsubject: two\r\n\r\n";
        assert_eq!(header_values(h, "SUBJECT"), vec!["Jörgå x", "two"]);
        assert!(header_values(h, "from").is_empty());
    }

    #[test]
    fn plain_values_are_unfolded_and_agree_with_the_full_decoder() {
        let h = b"Subject:  Quarterly\r\n\treport  for Q3\r\nTo: caf\xc3\xa9 <a@b.c>\r\n\r\n";
        assert_eq!(
            header_values(h, "subject"),
            vec!["Quarterly report  for Q3"]
        );
        assert_eq!(header_values(h, "to"), vec!["café <a@b.c>"]);
        // Whatever the fast path gives, the encoded-word path gives for the same text.
        for value in [
            &b" Quarterly\r\n\treport  for Q3"[..],
            b" plain",
            b"  two  words ",
            b" a  \r\n  b\r\n\tc",
            b" x\n y",
        ] {
            let mut buf = value.to_vec();
            buf.push(b'\n');
            let slow = match MessageStream::new(&buf).parse_unstructured() {
                HeaderValue::Text(t) => t.trim().to_string(),
                _ => String::new(),
            };
            assert_eq!(decode_value(value), slow, "{value:?}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(
            date(b"Date: Thu, 1 Jan 1970 01:00:00 +0100\r\n\r\n"),
            Some(0)
        );
        assert_eq!(
            date(b"Date: Sun, 25 May 2008 15:38:13 +0100\r\n"),
            Some(1211726293)
        );
        assert_eq!(date(b"Date: garbage\r\n"), None);
        assert_eq!(date(b"X: y\r\n"), None);
    }

    #[test]
    fn charsets() {
        assert_eq!(to_utf8(b"caf\xe9", Some(b"ISO-8859-1")), "café");
        assert_eq!(to_utf8("café".as_bytes(), None), "café");
        assert_eq!(to_utf8(b"caf\xe9", Some(b"x-unknown")), "caf\u{fffd}");
    }
}
