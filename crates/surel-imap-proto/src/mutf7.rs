//! Modified UTF-7 mailbox names (RFC 3501 §5.1.3) for clients that did not enable UTF8=ACCEPT
//! or IMAP4rev2. CONTRACT STUB.

/// UTF-8 name → modified UTF-7.
pub fn encode(name: &str) -> String {
    name.to_string()
}

/// Modified UTF-7 → UTF-8; `None` if malformed.
pub fn decode(name: &[u8]) -> Option<String> {
    String::from_utf8(name.to_vec()).ok()
}
