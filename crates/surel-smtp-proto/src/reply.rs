//! Server replies (RFC 5321 §4.2) with enhanced status codes (RFC 3463, RFC 2034).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// An RFC 3463 enhanced status code, `class.subject.detail` (`5.1.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub class: u8,
    /// The subject: 0 other, 1 addressing, 2 mailbox, 3 mail system, 4 network, 5 protocol,
    /// 6 content, 7 security.
    pub subject: u16,
    /// The detail within the subject.
    pub detail: u16,
}

impl EnhancedCode {
    /// Builds a code; used for the constants below.
    pub const fn new(class: u8, subject: u16, detail: u16) -> Self {
        Self {
            class,
            subject,
            detail,
        }
    }
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// Why text is not an enhanced status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an enhanced status code: {0:?}")]
pub struct EnhancedCodeError(String);

impl FromStr for EnhancedCode {
    type Err = EnhancedCodeError;

    /// Parses `class.subject.detail`. RFC 3463 §2: class is 2, 4 or 5; subject and detail are
    /// one to three digits without sign.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || EnhancedCodeError(s.chars().take(16).collect());
        let mut parts = s.split('.');
        let (Some(class), Some(subject), Some(detail), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let number = |p: &str| -> Option<u16> {
            if (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) {
                p.parse().ok()
            } else {
                None
            }
        };
        let class = match class {
            "2" => 2,
            "4" => 4,
            "5" => 5,
            _ => return Err(bad()),
        };
        match (number(subject), number(detail)) {
            (Some(subject), Some(detail)) => Ok(Self {
                class,
                subject,
                detail,
            }),
            _ => Err(bad()),
        }
    }
}

/// One SMTP reply: a three-digit code, an optional enhanced code and one or more text lines.
///
/// `text` holds the lines separated by `\n`; [`Reply::encode`] writes the `250-…` / `250 …`
/// multi-line form. The common replies are constants (`Reply::NO_SUCH_USER`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The RFC 5321 reply code, 200..=599.
    pub code: u16,
    /// The RFC 3463 code written after the reply code on every line; `None` for replies that
    /// RFC 2034 leaves without one (the greeting, 354, EHLO/HELO, 334).
    pub enhanced: Option<EnhancedCode>,
    /// The text; `\n` separates the lines of a multi-line reply.
    pub text: Cow<'static, str>,
}

const fn reply(code: u16, enhanced: Option<EnhancedCode>, text: &'static str) -> Reply {
    Reply {
        code,
        enhanced,
        text: Cow::Borrowed(text),
    }
}

const fn e(class: u8, subject: u16, detail: u16) -> Option<EnhancedCode> {
    Some(EnhancedCode::new(class, subject, detail))
}

impl Reply {
    /// `250 2.0.0 OK`
    pub const OK: Reply = reply(250, e(2, 0, 0), "OK");
    /// `250 2.1.0`: MAIL accepted.
    pub const SENDER_OK: Reply = reply(250, e(2, 1, 0), "Sender OK");
    /// `250 2.1.5`: RCPT accepted.
    pub const RECIPIENT_OK: Reply = reply(250, e(2, 1, 5), "Recipient OK");
    /// `250 2.0.0`: the message is stored (MDA) or queued.
    pub const MESSAGE_ACCEPTED: Reply = reply(250, e(2, 0, 0), "Message accepted");
    /// `214 2.0.0`: the answer to HELP.
    pub const HELP: Reply = reply(
        214,
        e(2, 0, 0),
        "See RFC 5321 (https://www.rfc-editor.org/rfc/rfc5321)",
    );
    /// `221 2.0.0`: the answer to QUIT (add the hostname with [`Reply::with_host`]).
    pub const CLOSING: Reply = reply(221, e(2, 0, 0), "Closing connection");
    /// `252 2.5.0`: VRFY is not answered, but mail will be tried (RFC 5321 §3.5.3).
    pub const VRFY_CANNOT: Reply = reply(
        252,
        e(2, 5, 0),
        "Cannot VRFY user, but will accept message and attempt delivery",
    );
    /// `220 2.0.0`: the answer to STARTTLS; the handshake follows.
    pub const READY_FOR_TLS: Reply = reply(220, e(2, 0, 0), "Ready to start TLS");
    /// `235 2.7.0` (RFC 4954 §6).
    pub const AUTH_SUCCEEDED: Reply = reply(235, e(2, 7, 0), "Authentication successful");
    /// `354`: the answer to DATA. RFC 2034 gives intermediate replies no enhanced code.
    pub const START_DATA: Reply = reply(354, None, "End data with <CR><LF>.<CR><LF>");

    /// `421 4.7.0`: the client made too many errors; the connection is closed.
    pub const TOO_MANY_ERRORS: Reply =
        reply(421, e(4, 7, 0), "Too many errors, closing connection");
    /// `421 4.7.0`: connection limit reached.
    pub const TOO_MANY_CONNECTIONS: Reply =
        reply(421, e(4, 7, 0), "Too many connections, try again later");
    /// 421 4.7.0: this client address has as many connections as one address may have.
    pub const TOO_MANY_CONNECTIONS_FROM_IP: Reply = reply(
        421,
        e(4, 7, 0),
        "Too many connections from your address, try again later",
    );
    /// `421 4.3.2`: the server is shutting down.
    pub const SHUTTING_DOWN: Reply =
        reply(421, e(4, 3, 2), "Service shutting down, closing connection");
    /// `421 4.4.2`: the client was idle too long.
    pub const TIMEOUT: Reply = reply(
        421,
        e(4, 4, 2),
        "Timeout waiting for input, closing connection",
    );
    /// `451 4.3.0`: our fault; the client should retry.
    pub const LOCAL_ERROR: Reply = reply(
        451,
        e(4, 3, 0),
        "Local error in processing, try again later",
    );
    /// `452 4.3.1`: out of disk.
    pub const STORAGE_FULL: Reply = reply(
        452,
        e(4, 3, 1),
        "Insufficient system storage, try again later",
    );
    /// `452 4.5.3`. RFC 5321 §4.5.3.1.10: 452, so the client sends the rest in another
    /// transaction.
    pub const TOO_MANY_RECIPIENTS: Reply = reply(452, e(4, 5, 3), "Too many recipients");
    /// `454 4.7.0`: STARTTLS offered but the TLS setup failed on our side.
    pub const TLS_NOT_AVAILABLE: Reply =
        reply(454, e(4, 7, 0), "TLS not available due to temporary reason");

    /// `500 5.5.1`: unknown command verb.
    pub const SYNTAX: Reply = reply(500, e(5, 5, 1), "Syntax error, command unrecognized");
    /// `500 5.5.2`: a command line longer than the limit.
    pub const LINE_TOO_LONG: Reply = reply(500, e(5, 5, 2), "Line too long");
    /// `500 5.5.2`: a bare CR or a NUL octet inside a command line.
    pub const INVALID_CHARACTERS: Reply = reply(
        500,
        e(5, 5, 2),
        "Invalid character in command line (bare CR or NUL)",
    );
    /// `500 5.5.2`: the message had a CR or LF that was not part of CRLF (SMTP smuggling).
    pub const BARE_LINE_ENDING: Reply = reply(
        500,
        e(5, 5, 2),
        "Bare CR or LF in message not allowed (SMTP smuggling protection); use CRLF line endings",
    );
    /// `501 5.5.4`: the verb is known, its arguments are not.
    pub const SYNTAX_PARAMS: Reply =
        reply(501, e(5, 5, 4), "Syntax error in parameters or arguments");
    /// `501 5.5.2`: a command line that is not UTF-8.
    pub const INVALID_UTF8: Reply = reply(501, e(5, 5, 2), "Command line is not valid UTF-8");
    /// `501 5.1.7`: the MAIL FROM path does not parse.
    pub const BAD_SENDER_SYNTAX: Reply = reply(501, e(5, 1, 7), "Bad sender address syntax");
    /// `501 5.1.3`: the RCPT TO path does not parse.
    pub const BAD_RECIPIENT_SYNTAX: Reply = reply(501, e(5, 1, 3), "Bad recipient address syntax");
    /// `501 5.0.0`: the client cancelled AUTH with `*` (RFC 4954 §4).
    pub const AUTH_CANCELLED: Reply = reply(501, e(5, 0, 0), "Authentication cancelled");
    /// `502 5.5.1`: a real SMTP verb that surel does not implement (EXPN, ETRN, LHLO, …).
    pub const NOT_IMPLEMENTED: Reply = reply(502, e(5, 5, 1), "Command not implemented");
    /// `503 5.5.1`: a command out of order (RCPT before MAIL, …).
    pub const BAD_SEQUENCE: Reply = reply(503, e(5, 5, 1), "Bad sequence of commands");
    /// `504 5.5.4`: unknown SASL mechanism (RFC 4954 §6).
    pub const AUTH_MECHANISM_UNSUPPORTED: Reply =
        reply(504, e(5, 5, 4), "Unrecognized authentication type");
    /// `530 5.7.0`: submission needs AUTH first.
    pub const AUTH_REQUIRED: Reply = reply(530, e(5, 7, 0), "Authentication required");
    /// `530 5.7.0`: the command needs TLS first (RFC 3207 §4).
    pub const ENCRYPTION_REQUIRED: Reply =
        reply(530, e(5, 7, 0), "Must issue a STARTTLS command first");
    /// `538 5.7.11`: this mechanism needs an encrypted connection first (RFC 4954 §6).
    pub const AUTH_ENCRYPTION_REQUIRED: Reply = reply(
        538,
        e(5, 7, 11),
        "Encryption required for requested authentication mechanism",
    );
    /// `535 5.7.8` (RFC 4954 §6).
    pub const AUTH_FAILED: Reply = reply(535, e(5, 7, 8), "Authentication credentials invalid");
    /// `550 5.1.1`: no such local mailbox.
    pub const NO_SUCH_USER: Reply = reply(550, e(5, 1, 1), "No such user here");
    /// `550 5.7.1`: the recipient is not ours and the client may not relay.
    pub const RELAY_DENIED: Reply = reply(550, e(5, 7, 1), "Relay access denied");
    /// `552 5.3.4`: the message (or the declared SIZE) is over the limit (RFC 1870 §6).
    pub const MESSAGE_TOO_BIG: Reply = reply(
        552,
        e(5, 3, 4),
        "Message size exceeds fixed maximum message size",
    );
    /// `553 5.6.7`: a non-ASCII address without SMTPUTF8 (RFC 6531 §3.5).
    pub const UTF8_REQUIRED: Reply = reply(
        553,
        e(5, 6, 7),
        "Non-ASCII address requires the SMTPUTF8 parameter",
    );
    /// `554 5.5.1`: DATA or BDAT with no accepted recipient (RFC 5321 §3.3).
    pub const NO_VALID_RECIPIENTS: Reply = reply(554, e(5, 5, 1), "No valid recipients");
    /// `554 5.6.0`: the message contained a NUL octet.
    pub const NUL_IN_DATA: Reply =
        reply(554, e(5, 6, 0), "Message contains NUL octets, not allowed");
    /// `554 5.6.0`: a message line longer than the limit.
    pub const MESSAGE_LINE_TOO_LONG: Reply =
        reply(554, e(5, 6, 0), "Message contains over-long lines");
    /// `555 5.5.4`: a MAIL/RCPT parameter we do not implement or did not announce
    /// (RFC 5321 §4.1.1.11).
    pub const PARAMETER_NOT_SUPPORTED: Reply = reply(
        555,
        e(5, 5, 4),
        "MAIL FROM/RCPT TO parameters not recognized or not implemented",
    );

    /// A reply with owned text.
    pub fn new(
        code: u16,
        enhanced: Option<EnhancedCode>,
        text: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            code,
            enhanced,
            text: text.into(),
        }
    }

    /// The greeting, `220 <hostname> ESMTP ready` (RFC 5321 §4.2: the domain comes first).
    pub fn greeting(hostname: &str) -> Self {
        Self::new(220, None, format!("{hostname} ESMTP ready"))
    }

    /// The answer to HELO, `250 <hostname> Hello <client>` (no extensions, no enhanced code).
    pub fn helo(hostname: &str, client_name: &str) -> Self {
        Self::new(250, None, format!("{hostname} Hello {client_name}"))
    }

    /// The answer to QUIT, `221 2.0.0 <hostname> Closing connection` (RFC 5321 §4.1.1.10).
    pub fn closing(hostname: &str) -> Self {
        Self::CLOSING.with_host(hostname)
    }

    /// `250 2.0.0` after DATA or the last BDAT, naming the id the message was stored under.
    pub fn queued(id: &str) -> Self {
        Self::new(
            250,
            e(2, 0, 0),
            format!("Message accepted as {}", printable(id)),
        )
    }

    /// `250 2.0.0` for a BDAT chunk that is not the last (RFC 3030 §2).
    pub fn chunk_received(octets: usize) -> Self {
        Self::new(250, e(2, 0, 0), format!("{octets} octets received"))
    }

    /// A 334 SASL challenge (RFC 4954 §4); `base64` may be empty.
    pub fn auth_challenge(base64: &str) -> Self {
        Self::new(334, None, base64.to_string())
    }

    /// `555 5.5.4` naming the parameter (cut to 32 printable characters).
    pub fn parameter_not_supported(param: &str) -> Self {
        Self::new(
            555,
            e(5, 5, 4),
            format!("Unsupported parameter {}", printable(param)),
        )
    }

    /// `501 5.5.4` naming the parameter whose value is malformed.
    pub fn invalid_parameter(param: &str) -> Self {
        Self::new(
            501,
            e(5, 5, 4),
            format!("Invalid value for parameter {}", printable(param)),
        )
    }

    /// The same reply with `hostname` before the text of its first line, where RFC 5321 wants the
    /// domain (`221 2.0.0 mx.example Closing connection`, `421 4.3.2 mx.example …`).
    pub fn with_host(self, hostname: &str) -> Self {
        let text = format!("{hostname} {}", self.text);
        Self {
            text: text.into(),
            ..self
        }
    }

    /// 2xx or 3xx.
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    /// 4xx: try again later.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5xx: do not retry.
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }

    /// Appends the reply in wire form: every line but the last as `code-`, the last as `code `,
    /// each with the enhanced code and CRLF. Control characters in the text (a CR, a stray LF
    /// inside a line) are written as spaces, so a reply can never inject a line of its own.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut lines = self.text.split('\n').peekable();
        while let Some(line) = lines.next() {
            let sep = if lines.peek().is_some() { '-' } else { ' ' };
            out.extend_from_slice(format!("{:03}{sep}", self.code).as_bytes());
            if let Some(code) = self.enhanced {
                out.extend_from_slice(code.to_string().as_bytes());
                out.push(b' ');
            }
            out.extend(
                line.bytes()
                    .map(|b| if b.is_ascii_control() { b' ' } else { b }),
            );
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The wire form as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.text.len() + 16);
        self.encode(&mut out);
        out
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(code) = self.enhanced {
            write!(f, " {code}")?;
        }
        for (i, line) in self.text.split('\n').enumerate() {
            f.write_str(if i == 0 { " " } else { " / " })?;
            f.write_str(line)?;
        }
        Ok(())
    }
}

/// Client-supplied text cut to something safe to echo in a reply.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_constant_encodes_as_one_well_formed_line() {
        let table: &[(Reply, &str)] = &[
            (Reply::OK, "250 2.0.0 OK\r\n"),
            (Reply::SENDER_OK, "250 2.1.0 Sender OK\r\n"),
            (Reply::RECIPIENT_OK, "250 2.1.5 Recipient OK\r\n"),
            (Reply::MESSAGE_ACCEPTED, "250 2.0.0 Message accepted\r\n"),
            (
                Reply::HELP,
                "214 2.0.0 See RFC 5321 (https://www.rfc-editor.org/rfc/rfc5321)\r\n",
            ),
            (Reply::CLOSING, "221 2.0.0 Closing connection\r\n"),
            (
                Reply::VRFY_CANNOT,
                "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n",
            ),
            (Reply::READY_FOR_TLS, "220 2.0.0 Ready to start TLS\r\n"),
            (
                Reply::AUTH_SUCCEEDED,
                "235 2.7.0 Authentication successful\r\n",
            ),
            (Reply::START_DATA, "354 End data with <CR><LF>.<CR><LF>\r\n"),
            (
                Reply::TOO_MANY_ERRORS,
                "421 4.7.0 Too many errors, closing connection\r\n",
            ),
            (
                Reply::TOO_MANY_CONNECTIONS,
                "421 4.7.0 Too many connections, try again later\r\n",
            ),
            (
                Reply::SHUTTING_DOWN,
                "421 4.3.2 Service shutting down, closing connection\r\n",
            ),
            (
                Reply::TIMEOUT,
                "421 4.4.2 Timeout waiting for input, closing connection\r\n",
            ),
            (
                Reply::LOCAL_ERROR,
                "451 4.3.0 Local error in processing, try again later\r\n",
            ),
            (
                Reply::STORAGE_FULL,
                "452 4.3.1 Insufficient system storage, try again later\r\n",
            ),
            (
                Reply::TOO_MANY_RECIPIENTS,
                "452 4.5.3 Too many recipients\r\n",
            ),
            (
                Reply::TLS_NOT_AVAILABLE,
                "454 4.7.0 TLS not available due to temporary reason\r\n",
            ),
            (
                Reply::SYNTAX,
                "500 5.5.1 Syntax error, command unrecognized\r\n",
            ),
            (Reply::LINE_TOO_LONG, "500 5.5.2 Line too long\r\n"),
            (
                Reply::INVALID_CHARACTERS,
                "500 5.5.2 Invalid character in command line (bare CR or NUL)\r\n",
            ),
            (
                Reply::BARE_LINE_ENDING,
                "500 5.5.2 Bare CR or LF in message not allowed (SMTP smuggling protection); \
                 use CRLF line endings\r\n",
            ),
            (
                Reply::SYNTAX_PARAMS,
                "501 5.5.4 Syntax error in parameters or arguments\r\n",
            ),
            (
                Reply::INVALID_UTF8,
                "501 5.5.2 Command line is not valid UTF-8\r\n",
            ),
            (
                Reply::BAD_SENDER_SYNTAX,
                "501 5.1.7 Bad sender address syntax\r\n",
            ),
            (
                Reply::BAD_RECIPIENT_SYNTAX,
                "501 5.1.3 Bad recipient address syntax\r\n",
            ),
            (
                Reply::AUTH_CANCELLED,
                "501 5.0.0 Authentication cancelled\r\n",
            ),
            (
                Reply::NOT_IMPLEMENTED,
                "502 5.5.1 Command not implemented\r\n",
            ),
            (
                Reply::BAD_SEQUENCE,
                "503 5.5.1 Bad sequence of commands\r\n",
            ),
            (
                Reply::AUTH_MECHANISM_UNSUPPORTED,
                "504 5.5.4 Unrecognized authentication type\r\n",
            ),
            (
                Reply::AUTH_REQUIRED,
                "530 5.7.0 Authentication required\r\n",
            ),
            (
                Reply::ENCRYPTION_REQUIRED,
                "530 5.7.0 Must issue a STARTTLS command first\r\n",
            ),
            (
                Reply::AUTH_FAILED,
                "535 5.7.8 Authentication credentials invalid\r\n",
            ),
            (Reply::NO_SUCH_USER, "550 5.1.1 No such user here\r\n"),
            (Reply::RELAY_DENIED, "550 5.7.1 Relay access denied\r\n"),
            (
                Reply::MESSAGE_TOO_BIG,
                "552 5.3.4 Message size exceeds fixed maximum message size\r\n",
            ),
            (
                Reply::UTF8_REQUIRED,
                "553 5.6.7 Non-ASCII address requires the SMTPUTF8 parameter\r\n",
            ),
            (
                Reply::NO_VALID_RECIPIENTS,
                "554 5.5.1 No valid recipients\r\n",
            ),
            (
                Reply::NUL_IN_DATA,
                "554 5.6.0 Message contains NUL octets, not allowed\r\n",
            ),
            (
                Reply::MESSAGE_LINE_TOO_LONG,
                "554 5.6.0 Message contains over-long lines\r\n",
            ),
            (
                Reply::PARAMETER_NOT_SUPPORTED,
                "555 5.5.4 MAIL FROM/RCPT TO parameters not recognized or not implemented\r\n",
            ),
        ];
        for (reply, wire) in table {
            assert_eq!(
                String::from_utf8(reply.to_bytes()).unwrap(),
                *wire,
                "{reply:?}"
            );
            // The enhanced class always agrees with the reply code's first digit.
            if let Some(code) = reply.enhanced {
                assert_eq!(u16::from(code.class), reply.code / 100, "{reply:?}");
            }
        }
    }

    #[test]
    fn smuggling_reply_names_the_problem() {
        let text = Reply::BARE_LINE_ENDING.text.to_lowercase();
        assert!(text.contains("smuggling") && text.contains("bare cr or lf"));
        assert!(Reply::BARE_LINE_ENDING.is_permanent());
    }

    #[test]
    fn multi_line_uses_dash_then_space_and_repeats_the_enhanced_code() {
        let r = Reply::new(
            550,
            EnhancedCode::new(5, 7, 1).into(),
            "first\nsecond\nthird",
        );
        assert_eq!(
            r.to_bytes(),
            b"550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n".to_vec()
        );
        let r = Reply::new(250, None, "a\nb");
        assert_eq!(r.to_bytes(), b"250-a\r\n250 b\r\n".to_vec());
    }

    #[test]
    fn control_characters_cannot_inject_a_line() {
        let r = Reply::new(250, None, "x\r\0y\r\n250 fake");
        // The \n splits a line (ours, properly prefixed); the CR and NUL become spaces.
        assert_eq!(r.to_bytes(), b"250-x  y \r\n250 250 fake\r\n".to_vec());
    }

    #[test]
    fn empty_text_keeps_the_space_334_needs() {
        assert_eq!(Reply::auth_challenge("").to_bytes(), b"334 \r\n".to_vec());
        assert_eq!(
            Reply::auth_challenge("VXNlcm5hbWU6").to_bytes(),
            b"334 VXNlcm5hbWU6\r\n".to_vec()
        );
    }

    #[test]
    fn constructors_take_the_hostname() {
        assert_eq!(
            Reply::greeting("mx.example").to_bytes(),
            b"220 mx.example ESMTP ready\r\n".to_vec()
        );
        assert_eq!(
            Reply::helo("mx.example", "client.example").to_bytes(),
            b"250 mx.example Hello client.example\r\n".to_vec()
        );
        assert_eq!(
            Reply::CLOSING.with_host("mx.example").to_bytes(),
            b"221 2.0.0 mx.example Closing connection\r\n".to_vec()
        );
        assert_eq!(
            Reply::closing("mx.example"),
            Reply::CLOSING.with_host("mx.example")
        );
        assert_eq!(
            Reply::queued("0a1b2c").to_bytes(),
            b"250 2.0.0 Message accepted as 0a1b2c\r\n".to_vec()
        );
        assert_eq!(
            Reply::chunk_received(4096).to_bytes(),
            b"250 2.0.0 4096 octets received\r\n".to_vec()
        );
        assert_eq!(
            Reply::SHUTTING_DOWN.with_host("mx.example").to_string(),
            "421 4.3.2 mx.example Service shutting down, closing connection"
        );
    }

    #[test]
    fn param_names_are_sanitised() {
        let r = Reply::parameter_not_supported("FOO=\r\n1 ");
        assert_eq!(
            r.to_bytes(),
            b"555 5.5.4 Unsupported parameter FOO=1\r\n".to_vec()
        );
        let long = "X".repeat(100);
        assert_eq!(
            Reply::invalid_parameter(&long).text.len(),
            "Invalid value for parameter ".len() + 32
        );
    }

    #[test]
    fn enhanced_code_display_and_parse_roundtrip() {
        for text in ["2.0.0", "5.1.1", "4.7.0", "5.5.4", "4.4.2", "5.999.999"] {
            let code: EnhancedCode = text.parse().unwrap();
            assert_eq!(code.to_string(), text);
        }
        for bad in [
            "", "5", "5.1", "5.1.1.1", "3.0.0", "5.1234.1", "5.+1.1", "5..1", "x.y.z", "5.1.1 ",
        ] {
            assert!(bad.parse::<EnhancedCode>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn severity() {
        assert!(Reply::OK.is_positive() && Reply::START_DATA.is_positive());
        assert!(Reply::LOCAL_ERROR.is_transient() && !Reply::LOCAL_ERROR.is_permanent());
        assert!(Reply::NO_SUCH_USER.is_permanent() && !Reply::NO_SUCH_USER.is_positive());
    }
}
