//! Modified UTF-7 mailbox names (RFC 3501 §5.1.3) for clients that did not enable UTF8=ACCEPT
//! or IMAP4rev2.
//!
//! Printable US-ASCII stands for itself except `&`, written `&-`; any other run of characters is
//! `&`, its UTF-16BE code units in base64 with `,` for `/` and no padding, then `-`.

/// RFC 3501 §5.1.3: base64 of RFC 2045 with `,` instead of `/`.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn is_direct(c: char) -> bool {
    (' '..='~').contains(&c)
}

/// UTF-8 name → modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_direct(c) {
            if !run.is_empty() {
                flush(&mut out, &run);
                run.clear();
            }
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    if !run.is_empty() {
        flush(&mut out, &run);
    }
    out
}

/// Writes one shifted run: `&` + modified base64 of UTF-16BE + `-`.
fn flush(out: &mut String, run: &[u16]) {
    out.push('&');
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for unit in run {
        acc = (acc << 16) | u32::from(*unit);
        bits += 16;
        while bits >= 6 {
            bits -= 6;
            push_sextet(out, acc >> bits);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        push_sextet(out, acc << (6 - bits));
    }
    out.push('-');
}

fn push_sextet(out: &mut String, v: u32) {
    let i = (v & 0x3f) as usize;
    if let Some(&b) = ALPHABET.get(i) {
        out.push(char::from(b));
    }
}

fn sextet(b: u8) -> Option<u32> {
    let v = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b',' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Modified UTF-7 → UTF-8; `None` if malformed (8-bit or control octets, an unterminated shift,
/// bad base64, an odd number of UTF-16 octets, lone surrogates).
pub fn decode(name: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while let Some(&b) = name.get(i) {
        i += 1;
        if b != b'&' {
            if !(0x20..=0x7e).contains(&b) {
                return None;
            }
            out.push(char::from(b));
            continue;
        }
        let rest = name.get(i..)?;
        let end = rest.iter().position(|&c| c == b'-')?;
        let encoded = rest.get(..end)?;
        i += end + 1;
        if encoded.is_empty() {
            out.push('&');
            continue;
        }
        let mut units = Vec::with_capacity(encoded.len() * 6 / 16);
        let mut acc: u32 = 0;
        let mut bits = 0u32;
        for &c in encoded {
            acc = (acc << 6) | sextet(c)?;
            bits += 6;
            if bits >= 16 {
                bits -= 16;
                units.push(((acc >> bits) & 0xffff) as u16);
                acc &= (1 << bits) - 1;
            }
        }
        // Leftover bits are padding: fewer than a sextet, and zero.
        if bits >= 6 || acc != 0 {
            return None;
        }
        for c in char::decode_utf16(units) {
            out.push(c.ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_example() {
        assert_eq!(
            encode("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(
            decode(b"~peter/mail/&U,BTFw-/&ZeVnLIqe-").as_deref(),
            Some("~peter/mail/台北/日本語")
        );
    }

    #[test]
    fn ampersand_and_ascii() {
        assert_eq!(encode("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(decode(b"Tom &- Jerry").as_deref(), Some("Tom & Jerry"));
        assert_eq!(encode("INBOX"), "INBOX");
        assert_eq!(encode(""), "");
        assert_eq!(decode(b"").as_deref(), Some(""));
    }

    #[test]
    fn known_names() {
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(encode("Отправленные"), "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-");
        assert_eq!(encode("😀"), "&2D3eAA-");
        assert_eq!(decode(b"&2D3eAA-").as_deref(), Some("😀"));
    }

    #[test]
    fn malformed_is_none() {
        for bad in [
            &b"&U,BTFw"[..], // unterminated
            b"&U,B*Fw-",     // bad base64
            b"&AGE",         // unterminated
            b"&AG-",         // one octet: odd UTF-16
            b"&2D0-",        // lone high surrogate
            b"&3gA-",        // lone low surrogate
            b"&AGF-",        // non-zero padding bits
            b"caf\xc3\xa9",  // raw 8-bit
            b"a\tb",         // control
            b"&AGEAYgBj-&",  // trailing shift
        ] {
            assert_eq!(decode(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn round_trips() {
        for s in [
            "a",
            "&",
            "&&",
            "ü",
            "üü&ü",
            "日本語/&/x",
            "a😀b😀😀",
            "Ünïcödé ɯɐɹƃoɹd",
            "\u{7f}\u{1}x",
        ] {
            let e = encode(s);
            assert!(e.bytes().all(|b| (0x20..=0x7e).contains(&b)), "{e}");
            assert_eq!(decode(e.as_bytes()).as_deref(), Some(s), "{e}");
        }
    }
}
