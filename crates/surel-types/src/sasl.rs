//! SASL pieces shared by every service that takes passwords (POP3 AUTH RFC 5034, SMTP AUTH
//! RFC 4954): client response lines, base64, and the PLAIN mechanism (RFC 4616).

use crate::Secret;

/// A client's line answering a challenge (POP3 `+`, RFC 5034 §4; SMTP `334`, RFC 4954 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaslResponse {
    /// `*`: the client cancels the exchange.
    Cancel,
    /// The decoded octets.
    Data(Vec<u8>),
}

/// Why a SASL response or PLAIN message was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// Not valid base64.
    #[error("invalid base64")]
    Base64,
    /// Not `[authzid] NUL authcid NUL passwd` in UTF-8.
    #[error("malformed PLAIN message")]
    Plain,
}

/// Parses a response line (without CRLF): `*` cancels, anything else is base64.
pub fn parse_response(line: &[u8]) -> Result<SaslResponse, SaslError> {
    if line == b"*" {
        return Ok(SaslResponse::Cancel);
    }
    decode_base64(line).map(SaslResponse::Data)
}

/// Decodes an RFC 5034 §4 initial response: `=` is an empty response, anything else base64.
pub fn decode_initial(text: &str) -> Result<Vec<u8>, SaslError> {
    if text == "=" {
        return Ok(Vec::new());
    }
    decode_base64(text.as_bytes())
}

/// Strict RFC 4648 §4 base64 (padding required, no whitespace).
pub fn decode_base64(text: &[u8]) -> Result<Vec<u8>, SaslError> {
    fn value(b: u8) -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    if !text.len().is_multiple_of(4) {
        return Err(SaslError::Base64);
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let quads = text.len() / 4;
    for (i, quad) in text.chunks(4).enumerate() {
        let last = i + 1 == quads;
        let pad = quad.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return Err(SaslError::Base64);
        }
        let mut n = 0u32;
        for &b in quad.iter().take(4 - pad) {
            n = (n << 6) | value(b).ok_or(SaslError::Base64)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(bytes.get(..3 - pad).unwrap_or(&[]));
    }
    Ok(out)
}

/// Base64 of `data` (RFC 4648 §4), for tests and clients.
pub fn encode_base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The credentials of an RFC 4616 PLAIN message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plain {
    /// The identity to act as; empty means the same as `authcid`.
    pub authzid: String,
    /// The identity whose password this is (the login name).
    pub authcid: String,
    /// The password.
    pub password: Secret<String>,
}

/// RFC 4616 §2: `[authzid] NUL authcid NUL passwd`, each UTF-8, authcid and passwd not empty.
pub fn decode_plain(message: &[u8]) -> Result<Plain, SaslError> {
    let mut parts = message.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::Plain);
    };
    let text = |b: &[u8]| {
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| SaslError::Plain)
    };
    if authcid.is_empty() || password.is_empty() {
        return Err(SaslError::Plain);
    }
    Ok(Plain {
        authzid: text(authzid)?,
        authcid: text(authcid)?,
        password: Secret::new(text(password)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_roundtrips_and_rejects_junk() {
        for data in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"\0tim\0tanstaaftanstaaf",
        ] {
            let text = encode_base64(data);
            assert_eq!(decode_base64(text.as_bytes()).unwrap(), data);
        }
        assert_eq!(encode_base64(b"foob"), "Zm9vYg==");
        for bad in [
            &b"Zm9"[..],
            b"Zm9v\r\n",
            b"Zg=a",
            b"Zg==Zg==",
            b"Z===",
            b"Zm 9",
        ] {
            assert_eq!(decode_base64(bad), Err(SaslError::Base64), "{bad:?}");
        }
    }

    #[test]
    fn rfc_4616_plain_examples() {
        // RFC 4616 §4 examples.
        let p = decode_plain(b"\0tim\0tanstaaftanstaaf").unwrap();
        assert_eq!(p.authzid, "");
        assert_eq!(p.authcid, "tim");
        assert_eq!(p.password.expose(), "tanstaaftanstaaf");
        let p = decode_plain(b"Ursel\0Kurt\0xipj3plmq").unwrap();
        assert_eq!((p.authzid.as_str(), p.authcid.as_str()), ("Ursel", "Kurt"));
        for bad in [
            &b"tim\0pw"[..],
            b"\0\0pw",
            b"\0tim\0",
            b"\0a\0b\0c",
            b"\0\xff\0pw",
        ] {
            assert_eq!(decode_plain(bad), Err(SaslError::Plain), "{bad:?}");
        }
    }

    #[test]
    fn responses_and_initial_responses() {
        assert_eq!(parse_response(b"*"), Ok(SaslResponse::Cancel));
        assert_eq!(parse_response(b""), Ok(SaslResponse::Data(Vec::new())));
        assert_eq!(
            parse_response(b"Zm9v"),
            Ok(SaslResponse::Data(b"foo".to_vec()))
        );
        assert_eq!(decode_initial("="), Ok(Vec::new()));
        assert_eq!(decode_initial("Zm9v"), Ok(b"foo".to_vec()));
    }
}
