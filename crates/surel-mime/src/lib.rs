//! What IMAP (and later the webmail) needs to know of a message's MIME structure, computed once
//! at delivery and kept in the store: the ENVELOPE and BODY/BODYSTRUCTURE as IMAP syntax, the
//! top-level header; and, on the raw bytes, section extraction, BINARY decoding and search text.
//! Must not: depend on the store, the IMAP session or tokio. Never panics on any input.
//! Invariants: sizes, line counts and sections are exact octets of the raw message as stored
//! (CRLF or bare LF alike), and BODYSTRUCTURE and `section` read the same part tree; parts nest
//! at most [`MAX_DEPTH`] deep (deeper ones are opaque application/octet-stream leaves) and a
//! message shows at most [`MAX_PARTS`] parts.
//!
//! How the tree is read (one rule for everything): the header of a message or part ends after
//! its first empty line; a line starting with `--` and the boundary of any open multipart
//! (innermost first, prefix match as RFC 2046 §5.1.1 advises) ends the open part, even inside
//! its header; a multipart left open ends where its enclosing one continues; a multipart with
//! no parts shows one empty text/plain part; message/rfc822 and message/global always have an
//! embedded message (IMAP's body-type-msg needs one): in an identity encoding it is parsed from
//! the content, in any other (base64, quoted-printable, ...) the content is not a message until
//! decoded, so the embedded message is the still-encoded content read as a message without a
//! header (all-NIL ENVELOPE, one text/plain us-ascii 7bit body over those octets; its HEADER
//! section is empty, its TEXT and part 1 are the content); BINARY of the part itself decodes.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod bodystructure;
mod codec;
mod envelope;
mod header;
mod imap;
mod mime;
mod section;
mod text;

pub use mime::{MAX_DEPTH, MAX_PARTS};

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
    /// Reads any octets. In BODY/BODYSTRUCTURE, types, subtypes, encodings, parameter names and
    /// disposition types are upper-cased (`"TEXT" "PLAIN" ("CHARSET" "utf-8")`), parameter
    /// values and all other strings are as sent; without a Content-Type a part is
    /// `"TEXT" "PLAIN" ("CHARSET" "us-ascii")` (message/rfc822 in a multipart/digest). ENVELOPE
    /// strings are unfolded, not RFC 2047-decoded; an address without `@` has host `""`.
    /// Strings holding 8-bit octets, CR, LF or NUL are literals (`{n}\r\n...`).
    pub fn parse(raw: &[u8]) -> MessageInfo {
        let root = mime::parse(raw);
        let header = root.header(raw);
        let mut envelope = Vec::with_capacity(256);
        envelope::write(&mut envelope, header);
        let mut body = Vec::with_capacity(128);
        let mut body_structure = Vec::with_capacity(192);
        bodystructure::write(&mut body, &mut body_structure, raw, &root);
        MessageInfo {
            envelope,
            body,
            body_structure,
            header: header.to_vec(),
            sent: text::date(header),
        }
    }
    /// A compact, versioned encoding for the store.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }
    /// `None` if the bytes are not an encoding this version reads (the caller re-parses).
    pub fn decode(bytes: &[u8]) -> Option<MessageInfo> {
        codec::decode(bytes)
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
/// path is the whole message. Part 1 of a non-multipart message (or embedded message) is its
/// body. HEADER, TEXT and HEADER.FIELDS of a non-empty path need a message/rfc822 part (else
/// `None`); MIME needs a non-empty path. HEADER.FIELDS ends with a blank line in the header's
/// own line-end style.
pub fn section(raw: &[u8], part: &[u32], kind: SectionKind<'_>) -> Option<Vec<u8>> {
    section::section(raw, part, kind)
}

/// Why BINARY failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BinaryError {
    /// The part does not exist.
    NoSuchPart,
    /// RFC 3516 `[UNKNOWN-CTE]`: a transfer encoding we cannot decode.
    UnknownEncoding,
}

/// BINARY\[part\]: the part's content with its Content-Transfer-Encoding removed (base64 and
/// quoted-printable decoded leniently; 7bit/8bit/binary, and spellings like "8-bit", as is).
/// An empty path is the body of a non-multipart message, or the whole of a multipart one.
pub fn binary(raw: &[u8], part: &[u32]) -> Result<Vec<u8>, BinaryError> {
    section::binary(raw, part)
}

/// The part's content as text: transfer encoding removed, then its charset converted to UTF-8
/// (what a webmail shows; the same decoding SEARCH BODY uses). An empty part path is the body
/// of a non-multipart message.
pub fn text(raw: &[u8], part: &[u32]) -> Result<String, BinaryError> {
    section::text(raw, part)
}

/// Selected lines of a header block: `names` matched case-insensitively; with `not`, every
/// field except those. Ends with the blank line, as RFC 9051 HEADER.FIELDS does.
pub fn header_fields(header: &[u8], names: &[String], not: bool) -> Vec<u8> {
    header::select(header, names, not)
}

/// The values of a header field in a header block, unfolded and RFC 2047-decoded (SEARCH
/// HEADER / SUBJECT / FROM / TO / CC / BCC).
pub fn header_values(header: &[u8], name: &str) -> Vec<String> {
    text::header_values(header, name)
}

/// The decoded text of the message's body (every text/* part, charsets converted to UTF-8,
/// HTML as is): what SEARCH BODY looks in.
pub fn body_text(raw: &[u8]) -> String {
    text::body_text(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    const RFC_SIMPLE: &[u8] = b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
From: Fred Foobar <foobar@Blurdybloop.example>\r\n\
Subject: afternoon meeting\r\n\
To: mooch@owatagu.siam.edu.example\r\n\
Message-Id: <B27397-0100000@Blurdybloop.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n\
Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

    #[test]
    fn rfc_example_message() {
        let info = MessageInfo::parse(RFC_SIMPLE);
        let fred = r#"(("Fred Foobar" NIL "foobar" "Blurdybloop.example"))"#;
        assert_eq!(
            s(&info.envelope),
            format!(
                r#"("Mon, 7 Feb 1994 21:52:25 -0800 (PST)" "afternoon meeting" {fred} {fred} {fred} ((NIL NIL "mooch" "owatagu.siam.edu.example")) NIL NIL NIL "<B27397-0100000@Blurdybloop.example>")"#
            )
        );
        assert_eq!(
            s(&info.body),
            r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 55 1)"#
        );
        assert_eq!(
            s(&info.body_structure),
            r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 55 1 NIL NIL NIL NIL)"#
        );
        assert_eq!(info.header.len(), RFC_SIMPLE.len() - 55);
        assert!(info.header.ends_with(b"US-ASCII\r\n\r\n"));
        assert_eq!(info.sent, Some(760686745));
    }

    const NESTED: &[u8] = b"From: a@b\n\
Subject: =?utf-8?q?caf=C3=A9?=\n\
Content-Type: multipart/mixed; boundary=\"outer\"\n\
\n\
preamble\n\
--outer\n\
Content-Type: multipart/alternative; boundary=inner\n\
\n\
--inner\n\
\n\
plain\n\
--inner\n\
Content-Type: text/html; charset=utf-8\n\
Content-Transfer-Encoding: quoted-printable\n\
\n\
<p>caf=C3=A9</p>\n\
--inner--\n\
--outer\n\
Content-Type: message/rfc822\n\
Content-Disposition: attachment; filename=\"fwd.eml\"\n\
\n\
From: c@d\n\
To: undisclosed-recipients:;\n\
Subject: inner\n\
\n\
hi\n\
--outer--\n\
epilogue\n";

    #[test]
    fn nested_multipart_with_message_part_lf_only() {
        let info = MessageInfo::parse(NESTED);
        let ab = r#"((NIL NIL "a" "b"))"#;
        assert_eq!(
            s(&info.envelope),
            format!(r#"(NIL "=?utf-8?q?caf=C3=A9?=" {ab} {ab} {ab} NIL NIL NIL NIL NIL)"#)
        );
        let cd = r#"((NIL NIL "c" "d"))"#;
        let inner_env = format!(
            r#"(NIL "inner" {cd} {cd} {cd} ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)"#
        );
        assert_eq!(
            s(&info.body_structure),
            format!(
                concat!(
                    r#"(("#,
                    r#"("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 5 1 NIL NIL NIL NIL)"#,
                    r#"("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 16 1 NIL NIL NIL NIL)"#,
                    r#" "ALTERNATIVE" ("BOUNDARY" "inner") NIL NIL NIL)"#,
                    r#"("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 57 {env} "#,
                    r#"("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 2 1 NIL NIL NIL NIL) 5"#,
                    r#" NIL ("ATTACHMENT" ("FILENAME" "fwd.eml")) NIL NIL)"#,
                    r#" "MIXED" ("BOUNDARY" "outer") NIL NIL NIL)"#
                ),
                env = inner_env
            )
        );
        assert_eq!(
            s(&info.body),
            format!(
                concat!(
                    r#"((("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 5 1)"#,
                    r#"("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 16 1) "ALTERNATIVE")"#,
                    r#"("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 57 {env} "#,
                    r#"("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 2 1) 5) "MIXED")"#
                ),
                env = inner_env
            )
        );
    }

    #[test]
    fn sections_of_nested_message() {
        let sec = |p: &[u32], k| section(NESTED, p, k).map(|v| String::from_utf8(v).unwrap());
        assert_eq!(sec(&[], SectionKind::Full).unwrap().len(), NESTED.len());
        assert!(
            sec(&[], SectionKind::Header)
                .unwrap()
                .ends_with("\"outer\"\n\n")
        );
        assert!(
            sec(&[], SectionKind::Text)
                .unwrap()
                .starts_with("preamble\n--outer\n")
        );
        assert_eq!(sec(&[], SectionKind::Mime), None);
        assert_eq!(sec(&[1, 1], SectionKind::Full).as_deref(), Some("plain"));
        assert_eq!(sec(&[1, 1], SectionKind::Mime).as_deref(), Some("\n"));
        assert_eq!(
            sec(&[1, 2], SectionKind::Full).as_deref(),
            Some("<p>caf=C3=A9</p>")
        );
        assert_eq!(sec(&[1], SectionKind::Header), None);
        assert_eq!(
            sec(&[2], SectionKind::Mime).as_deref(),
            Some(
                "Content-Type: message/rfc822\nContent-Disposition: attachment; filename=\"fwd.eml\"\n\n"
            )
        );
        assert_eq!(
            sec(&[2], SectionKind::Header).as_deref(),
            Some("From: c@d\nTo: undisclosed-recipients:;\nSubject: inner\n\n")
        );
        assert_eq!(sec(&[2], SectionKind::Text).as_deref(), Some("hi"));
        assert_eq!(sec(&[2, 1], SectionKind::Full).as_deref(), Some("hi"));
        let names = vec!["SUBJECT".to_string()];
        assert_eq!(
            sec(&[2], SectionKind::HeaderFields(&names)).as_deref(),
            Some("Subject: inner\n\n")
        );
        assert_eq!(
            sec(&[2], SectionKind::HeaderFieldsNot(&names)).as_deref(),
            Some("From: c@d\nTo: undisclosed-recipients:;\n\n")
        );
        assert_eq!(sec(&[3], SectionKind::Full), None);
        assert_eq!(sec(&[0], SectionKind::Full), None);
        assert_eq!(sec(&[1, 1, 1], SectionKind::Full), None);
        assert_eq!(sec(&[2, 2], SectionKind::Full), None);

        assert_eq!(binary(NESTED, &[1, 2]).unwrap(), "<p>café</p>".as_bytes());
        assert_eq!(binary(NESTED, &[2, 1]).unwrap(), b"hi");
        assert_eq!(binary(NESTED, &[4]), Err(BinaryError::NoSuchPart));
        assert_eq!(body_text(NESTED), "plain\n<p>café</p>\nhi");
        assert_eq!(header_values(NESTED, "subject"), vec!["café".to_string()]);
    }

    #[test]
    fn single_part_is_part_one() {
        let raw = b"Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n";
        assert_eq!(
            section(raw, &[1], SectionKind::Full).unwrap(),
            b"aGVsbG8=\r\n"
        );
        assert_eq!(
            section(raw, &[1], SectionKind::Mime).unwrap(),
            b"Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        );
        assert_eq!(section(raw, &[2], SectionKind::Full), None);
        assert_eq!(binary(raw, &[]).unwrap(), b"hello");
        assert_eq!(binary(raw, &[1]).unwrap(), b"hello");
        let odd = b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n";
        assert_eq!(binary(odd, &[1]), Err(BinaryError::UnknownEncoding));
        // Not a token: no encoding at all, 7BIT (as Dovecot does).
        let bad = b"Content-Transfer-Encoding: ?invalid\r\n\r\nx";
        assert_eq!(binary(bad, &[1]).unwrap(), b"x");
        assert!(
            String::from_utf8(MessageInfo::parse(bad).body)
                .unwrap()
                .contains("\"7BIT\" 1 1")
        );
    }

    #[test]
    fn no_blank_line_and_empty_input() {
        let info = MessageInfo::parse(b"Subject: x\r\nFrom: y@z");
        let yz = r#"((NIL NIL "y" "z"))"#;
        assert_eq!(
            s(&info.envelope),
            format!(r#"(NIL "x" {yz} {yz} {yz} NIL NIL NIL NIL NIL)"#)
        );
        assert_eq!(
            s(&info.body_structure),
            r#"("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL)"#
        );
        assert_eq!(info.header, b"Subject: x\r\nFrom: y@z");
        let info = MessageInfo::parse(b"");
        assert_eq!(
            s(&info.envelope),
            "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
        );
        assert_eq!(
            s(&info.body),
            r#"("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0)"#
        );
        assert_eq!(info.sent, None);
        // A message that starts with the blank line has an empty header.
        let info = MessageInfo::parse(b"\r\nbody\r\n");
        assert_eq!(info.header, b"\r\n");
        assert_eq!(
            s(&info.body),
            r#"("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 6 1)"#
        );
    }

    #[test]
    fn eight_bit_and_special_header_values_become_literals() {
        let raw = "Subject: café \"q\"\r\nFrom: \"A \\\"B\\\"\" <a@b>\r\nSender: \r\n\r\n";
        let info = MessageInfo::parse(raw.as_bytes());
        let ab = r#"(("A \"B\"" NIL "a" "b"))"#;
        assert_eq!(
            s(&info.envelope),
            format!("(NIL {{9}}\r\ncafé \"q\" {ab} {ab} {ab} NIL NIL NIL NIL NIL)")
        );
    }

    #[test]
    fn multipart_without_parts_or_close_delimiter() {
        let none = b"Content-Type: multipart/mixed; boundary=b\r\n\r\nno parts here\r\n";
        let info = MessageInfo::parse(none);
        assert_eq!(
            s(&info.body_structure),
            r#"(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "b") NIL NIL NIL)"#
        );
        assert_eq!(section(none, &[1], SectionKind::Full).unwrap(), b"");
        let open = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\nContent-Type: text/x-y\r\n\r\ntwo\r\n";
        let info = MessageInfo::parse(open);
        assert_eq!(
            s(&info.body),
            r#"(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 3 1)("TEXT" "X-Y" NIL NIL NIL "7BIT" 5 1) "MIXED")"#
        );
        assert_eq!(section(open, &[2], SectionKind::Full).unwrap(), b"two\r\n");
        // Without a boundary parameter a multipart is unreadable: text/plain.
        let info = MessageInfo::parse(b"Content-Type: multipart/mixed\r\n\r\nx");
        assert_eq!(
            s(&info.body),
            r#"("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 1 1)"#
        );
    }

    #[test]
    fn digest_parts_default_to_message_rfc822() {
        let raw = b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\nbody\r\n--d--\r\n";
        let info = MessageInfo::parse(raw);
        assert_eq!(
            s(&info.body),
            r#"(("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 20 (NIL "one" NIL NIL NIL NIL NIL NIL NIL NIL) ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 4 1) 3) "DIGEST")"#
        );
        assert_eq!(section(raw, &[1, 1], SectionKind::Full).unwrap(), b"body");
    }

    #[test]
    fn extension_fields() {
        let raw = b"Content-Type: application/pdf; name=\"a b.pdf\"\r\n\
Content-ID: <id@x>\r\nContent-Description: a\r\n file\r\n\
Content-Transfer-Encoding: Base64\r\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\
Content-Disposition: inline\r\nContent-Language: en, de\r\n\
Content-Location: http://x/y\r\n\r\nAAAA\r\n";
        let info = MessageInfo::parse(raw);
        assert_eq!(
            s(&info.body_structure),
            r#"("APPLICATION" "PDF" ("NAME" "a b.pdf") "<id@x>" "a file" "BASE64" 6 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("INLINE" NIL) ("en" "de") "http://x/y")"#
        );
        assert_eq!(
            s(&info.body),
            r#"("APPLICATION" "PDF" ("NAME" "a b.pdf") "<id@x>" "a file" "BASE64" 6)"#
        );
    }

    const NIL_ENVELOPE: &str = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";

    /// A base64 message/rfc822 is still body-type-msg: its embedded message is the encoded
    /// content read as a message without a header (all-NIL envelope, text/plain body over the
    /// encoded octets), and BINARY of the part decodes the real message.
    const BASE64_FORWARD: &[u8] = b"From: a@b\r\n\
Subject: fwd\r\n\
Content-Type: multipart/mixed; boundary=x\r\n\
\r\n\
--x\r\n\
\r\n\
see attached\r\n\
--x\r\n\
Content-Type: message/rfc822\r\n\
Content-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"a.eml\"\r\n\
\r\n\
U3ViamVjdDogeA0K\r\n\
DQpoaQ==\r\n\
--x--\r\n";

    #[test]
    fn base64_message_rfc822_in_multipart_is_body_type_msg() {
        let raw = BASE64_FORWARD;
        let info = MessageInfo::parse(raw);
        assert_eq!(
            s(&info.body_structure),
            format!(
                concat!(
                    r#"(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 12 1 NIL NIL NIL NIL)"#,
                    r#"("MESSAGE" "RFC822" NIL NIL NIL "BASE64" 26 {env} "#,
                    r#"("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 26 2 NIL NIL NIL NIL) 2"#,
                    r#" NIL ("ATTACHMENT" ("FILENAME" "a.eml")) NIL NIL)"#,
                    r#" "MIXED" ("BOUNDARY" "x") NIL NIL NIL)"#
                ),
                env = NIL_ENVELOPE
            )
        );
        assert_eq!(
            s(&info.body),
            format!(
                concat!(
                    r#"(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 12 1)"#,
                    r#"("MESSAGE" "RFC822" NIL NIL NIL "BASE64" 26 {env} "#,
                    r#"("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 26 2) 2) "MIXED")"#
                ),
                env = NIL_ENVELOPE
            )
        );
        let content: &[u8] = b"U3ViamVjdDogeA0K\r\nDQpoaQ==";
        let sec = |p: &[u32], k| section(raw, p, k);
        assert_eq!(sec(&[2], SectionKind::Full).unwrap(), content);
        assert_eq!(
            sec(&[2], SectionKind::Mime).unwrap(),
            b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"a.eml\"\r\n\r\n"
        );
        // The embedded message as announced: no header, the encoded content as its text.
        assert_eq!(sec(&[2], SectionKind::Header).unwrap(), b"");
        assert_eq!(sec(&[2], SectionKind::Text).unwrap(), content);
        let names = vec!["Subject".to_string()];
        assert_eq!(
            sec(&[2], SectionKind::HeaderFields(&names)).unwrap(),
            b"\r\n"
        );
        assert_eq!(sec(&[2, 1], SectionKind::Full).unwrap(), content);
        assert_eq!(sec(&[2, 1], SectionKind::Mime).unwrap(), b"");
        assert_eq!(sec(&[2, 2], SectionKind::Full), None);
        assert_eq!(sec(&[2, 1, 1], SectionKind::Full), None);
        assert_eq!(sec(&[2, 1], SectionKind::Header), None);
        // BINARY of the part removes its encoding: the attached message itself.
        assert_eq!(binary(raw, &[2]).unwrap(), b"Subject: x\r\n\r\nhi");
        assert_eq!(binary(raw, &[2, 1]).unwrap(), content);
        assert_eq!(binary(raw, &[2, 2]), Err(BinaryError::NoSuchPart));
        // Search text does not take in the encoded blob.
        assert_eq!(body_text(raw), "see attached");
        // The same part in LF-only form has the same shape, sizes counted as stored.
        let lf: Vec<u8> = raw.iter().copied().filter(|&b| b != b'\r').collect();
        assert!(
            s(&MessageInfo::parse(&lf).body).contains(&format!(
                r#""BASE64" 25 {NIL_ENVELOPE} ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 25 2) 2)"#
            ))
        );
    }

    #[test]
    fn quoted_printable_message_rfc822_at_top_level_is_body_type_msg() {
        let raw = b"Content-Type: message/rfc822\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Subject: caf=C3=A9\r\n\
\r\n\
hello=\r\n\
\x20world\r\n";
        let info = MessageInfo::parse(raw);
        assert_eq!(s(&info.envelope), NIL_ENVELOPE);
        assert_eq!(
            s(&info.body_structure),
            format!(
                concat!(
                    r#"("MESSAGE" "RFC822" NIL NIL NIL "QUOTED-PRINTABLE" 38 {env} "#,
                    r#"("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 38 4 NIL NIL NIL NIL) 4"#,
                    r#" NIL NIL NIL NIL)"#
                ),
                env = NIL_ENVELOPE
            )
        );
        assert_eq!(
            s(&info.body),
            format!(
                concat!(
                    r#"("MESSAGE" "RFC822" NIL NIL NIL "QUOTED-PRINTABLE" 38 {env} "#,
                    r#"("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 38 4) 4)"#
                ),
                env = NIL_ENVELOPE
            )
        );
        let content: &[u8] = b"Subject: caf=C3=A9\r\n\r\nhello=\r\n world\r\n";
        // Part 1 of a non-multipart message is its body: here the message/rfc822 content.
        assert_eq!(section(raw, &[1], SectionKind::Full).unwrap(), content);
        // The quoted-printable "Subject:" line is not read as the embedded message's header.
        assert_eq!(section(raw, &[1], SectionKind::Header).unwrap(), b"");
        assert_eq!(section(raw, &[1], SectionKind::Text).unwrap(), content);
        assert_eq!(section(raw, &[1, 1], SectionKind::Full).unwrap(), content);
        assert_eq!(section(raw, &[1, 2], SectionKind::Full), None);
        let decoded = "Subject: café\r\n\r\nhello world\r\n".as_bytes();
        assert_eq!(binary(raw, &[]).unwrap(), decoded);
        assert_eq!(binary(raw, &[1]).unwrap(), decoded);
        assert_eq!(binary(raw, &[1, 1]).unwrap(), content);
        assert_eq!(body_text(raw), "");
    }

    #[test]
    fn encoded_message_parts_edge_cases() {
        // message/global, an unknown encoding, an empty body, a body cut short by the next
        // delimiter inside the part's header: always body-type-msg.
        let raw = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n\
--x\r\nContent-Type: message/global\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 m\r\n\
--x\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n\
--x\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\
--x--\r\n";
        let info = MessageInfo::parse(raw);
        assert_eq!(
            s(&info.body),
            format!(
                concat!(
                    r#"(("MESSAGE" "GLOBAL" NIL NIL NIL "X-UUENCODE" 11 {env} "#,
                    r#"("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 11 1) 1)"#,
                    r#"("MESSAGE" "RFC822" NIL NIL NIL "BASE64" 0 {env} "#,
                    r#"("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0) 0)"#,
                    r#"("MESSAGE" "RFC822" NIL NIL NIL "BASE64" 0 {env} "#,
                    r#"("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0) 0) "MIXED")"#
                ),
                env = NIL_ENVELOPE
            )
        );
        assert_eq!(binary(raw, &[1]), Err(BinaryError::UnknownEncoding));
        assert_eq!(binary(raw, &[1, 1]).unwrap(), b"begin 644 m");
        assert_eq!(binary(raw, &[2]).unwrap(), b"");
        assert_eq!(section(raw, &[3, 1], SectionKind::Full).unwrap(), b"");
    }

    #[test]
    fn nesting_is_bounded() {
        let mut raw = Vec::new();
        for n in 0..200 {
            raw.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=b{n}x\r\n\r\n--b{n}x\r\n")
                    .as_bytes(),
            );
        }
        raw.extend_from_slice(b"\r\ntext\r\n");
        let info = MessageInfo::parse(&raw);
        let opens = info.body.iter().filter(|&&b| b == b'(').count();
        assert_eq!(opens, MAX_DEPTH + 1);
        assert!(s(&info.body).contains("\"APPLICATION\" \"OCTET-STREAM\""));
        let path = vec![1u32; MAX_DEPTH];
        assert!(section(&raw, &path, SectionKind::Full).is_some());
        let mut msgs = Vec::new();
        for _ in 0..200 {
            msgs.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        let info = MessageInfo::parse(&msgs);
        assert!(info.body.len() > 100);
    }

    #[test]
    fn part_count_is_bounded() {
        let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        raw.extend_from_slice(&b"--b\r\n".repeat(MAX_PARTS * 3));
        let info = MessageInfo::parse(&raw);
        let parts = s(&info.body).matches("\"TEXT\"").count();
        assert_eq!(parts, MAX_PARTS - 1);
        assert!(section(&raw, &[MAX_PARTS as u32 - 1], SectionKind::Full).is_some());
        assert!(section(&raw, &[MAX_PARTS as u32], SectionKind::Full).is_none());
    }

    #[test]
    fn encode_decode_roundtrip() {
        for raw in [RFC_SIMPLE, NESTED, b"", b"\xff\xfe"] {
            let info = MessageInfo::parse(raw);
            let enc = info.encode();
            assert_eq!(MessageInfo::decode(&enc), Some(info));
            for n in 0..enc.len() {
                assert_eq!(MessageInfo::decode(&enc[..n]), None);
            }
            let mut longer = enc.clone();
            longer.push(0);
            assert_eq!(MessageInfo::decode(&longer), None);
        }
        assert_eq!(MessageInfo::decode(b""), None);
        assert_eq!(MessageInfo::decode(b"\x02"), None);
        // An entry cached by an older version is not read: the caller parses the raw again.
        let mut old = MessageInfo::parse(NESTED).encode();
        assert_eq!(old.first(), Some(&2));
        old[0] = 1;
        assert_eq!(MessageInfo::decode(&old), None);
    }

    #[test]
    fn garbage_never_panics() {
        // A small deterministic generator over MIME-ish tokens.
        let pieces: &[&[u8]] = &[
            b"Content-Type: multipart/mixed; boundary=a\r\n",
            b"Content-Type: message/rfc822\r\n",
            b"Content-Type: multipart/digest; boundary=\"a\"\n",
            b"Content-Transfer-Encoding: base64\r\n",
            b"Content-Transfer-Encoding: quoted-printable\r\n",
            b"From: \"x (y\" <@a,@b:c@d>, g: h@i;\r\n",
            b"To: ((((\r\n",
            b"Subject: =?utf-8?b?w6k=?=\r\n",
            b"\r\n",
            b"\n",
            b"--a\r\n",
            b"--a--\r\n",
            b"=\r\n",
            b"\xff\x00\r",
            b" folded\r\n",
            b"Date: 32 Foo 99999 25:61:61 +9999\r\n",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..3000 {
            let mut raw = Vec::new();
            for _ in 0..(seed % 24) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                raw.extend_from_slice(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let info = MessageInfo::parse(&raw);
            assert_eq!(MessageInfo::decode(&info.encode()), Some(info));
            for path in [&[][..], &[1], &[1, 1], &[2, 1, 1]] {
                for kind in [
                    SectionKind::Full,
                    SectionKind::Header,
                    SectionKind::Text,
                    SectionKind::Mime,
                ] {
                    let _ = section(&raw, path, kind);
                }
                let _ = binary(&raw, path);
            }
            let _ = body_text(&raw);
            let _ = header_values(&raw, "from");
        }
    }
}
