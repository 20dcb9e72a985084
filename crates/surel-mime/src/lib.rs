//! What IMAP (and later the webmail) needs to know of a message's MIME structure, computed once
//! at delivery and kept in the store: the ENVELOPE and BODY/BODYSTRUCTURE as IMAP syntax, the
//! top-level header; and, on the raw bytes, section extraction, BINARY decoding and search text.
//! Must not: depend on the store, the IMAP session or tokio. Never panics on any input.
//! CONTRACT STUB: signatures are the contract; bodies are being written.

/// The cached parse of one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageInfo {
    /// `(date subject from sender reply-to to cc bcc in-reply-to message-id)` as IMAP syntax.
    pub envelope: Vec<u8>,
    /// Non-extensible BODY structure, IMAP syntax.
    pub body: Vec<u8>,
    /// Extensible BODYSTRUCTURE, IMAP syntax.
    pub body_structure: Vec<u8>,
    /// The raw top-level header section, including the blank line that ends it (if any).
    pub header: Vec<u8>,
    /// The Date: header as Unix seconds (SENTBEFORE/SENTON/SENTSINCE, sorting); `None` if
    /// missing or unparseable.
    pub sent: Option<i64>,
}

impl MessageInfo {
    pub fn parse(raw: &[u8]) -> MessageInfo {
        let _ = raw;
        MessageInfo::default()
    }
    /// A compact, versioned encoding for the store.
    pub fn encode(&self) -> Vec<u8> {
        Vec::new()
    }
    /// `None` if the bytes are not an encoding this version reads (the caller re-parses).
    pub fn decode(bytes: &[u8]) -> Option<MessageInfo> {
        let _ = bytes;
        None
    }
}

/// What of a part a BODY[...] section asks for.
#[derive(Clone, Copy, Debug)]
pub enum SectionKind<'a> {
    /// `BODY[]` / `BODY[1.2]`: the whole message, or the part's content.
    Full,
    Header,
    HeaderFields(&'a [String]),
    HeaderFieldsNot(&'a [String]),
    Text,
    Mime,
}

/// The bytes of a section (RFC 9051 §6.4.5); `None` if the part does not exist. An empty part
/// path is the whole message.
pub fn section(raw: &[u8], part: &[u32], kind: SectionKind<'_>) -> Option<Vec<u8>> {
    let _ = (raw, part, kind);
    None
}

/// Why BINARY failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BinaryError {
    /// The part does not exist.
    NoSuchPart,
    /// RFC 3516 `[UNKNOWN-CTE]`: a transfer encoding we cannot decode.
    UnknownEncoding,
}

/// BINARY[part]: the part's content with its Content-Transfer-Encoding removed.
pub fn binary(raw: &[u8], part: &[u32]) -> Result<Vec<u8>, BinaryError> {
    let _ = (raw, part);
    Err(BinaryError::NoSuchPart)
}

/// Selected lines of a header block: `names` matched case-insensitively; with `not`, every
/// field except those. Ends with the blank line, as RFC 9051 HEADER.FIELDS does.
pub fn header_fields(header: &[u8], names: &[String], not: bool) -> Vec<u8> {
    let _ = (header, names, not);
    Vec::new()
}

/// The values of a header field in a header block, unfolded and RFC 2047-decoded (SEARCH
/// HEADER / SUBJECT / FROM / TO / CC / BCC).
pub fn header_values(header: &[u8], name: &str) -> Vec<String> {
    let _ = (header, name);
    Vec::new()
}

/// The decoded text of the message's body (every text/* part, charsets converted to UTF-8,
/// HTML as is): what SEARCH BODY looks in.
pub fn body_text(raw: &[u8]) -> String {
    let _ = raw;
    String::new()
}
