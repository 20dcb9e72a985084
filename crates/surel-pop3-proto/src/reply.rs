//! Status lines (`+OK` / `-ERR` with RFC 2449 response codes), multi-line responses, the SASL
//! continuation line, and the capabilities CAPA lists.

use std::borrow::Cow;
use std::fmt;

/// RFC 2449 §8 extended response codes (and RFC 3206's SYS and AUTH), written in brackets
/// after `-ERR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RespCode {
    /// RFC 2449 §8.1.2: the maildrop is locked by another session.
    InUse,
    /// RFC 2449 §8.1.1: logged in too recently (we do not enforce a login delay; kept for
    /// completeness of the type).
    LoginDelay,
    /// RFC 3206 §4: a temporary problem on our side; try again later.
    SysTemp,
    /// RFC 3206 §4: a permanent problem on our side.
    SysPerm,
    /// RFC 3206 §5: the credentials are the problem.
    Auth,
    /// RFC 6856 §2: the request needs UTF-8 mode.
    Utf8,
}

impl RespCode {
    /// The code as written between the brackets.
    pub fn as_str(self) -> &'static str {
        match self {
            RespCode::InUse => "IN-USE",
            RespCode::LoginDelay => "LOGIN-DELAY",
            RespCode::SysTemp => "SYS/TEMP",
            RespCode::SysPerm => "SYS/PERM",
            RespCode::Auth => "AUTH",
            RespCode::Utf8 => "UTF8",
        }
    }
}

/// One status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// `+OK` (true) or `-ERR` (false).
    pub ok: bool,
    /// The response code, on `-ERR` lines.
    pub code: Option<RespCode>,
    /// Human-readable text.
    pub text: Cow<'static, str>,
}

impl Reply {
    /// `+OK text`.
    pub fn ok(text: impl Into<Cow<'static, str>>) -> Self {
        Self {
            ok: true,
            code: None,
            text: text.into(),
        }
    }

    /// `-ERR text`.
    pub fn err(text: impl Into<Cow<'static, str>>) -> Self {
        Self {
            ok: false,
            code: None,
            text: text.into(),
        }
    }

    /// `-ERR [CODE] text`.
    pub fn err_code(code: RespCode, text: impl Into<Cow<'static, str>>) -> Self {
        Self {
            ok: false,
            code: Some(code),
            text: text.into(),
        }
    }

    /// Appends the line with its CRLF. Control characters in the text become spaces, so the
    /// text can never end the line early or start another (RFC 1939 §3: one line, CRLF-ended).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.ok { b"+OK" } else { b"-ERR" });
        if let Some(code) = self.code {
            out.extend_from_slice(b" [");
            out.extend_from_slice(code.as_str().as_bytes());
            out.push(b']');
        }
        if !self.text.is_empty() {
            out.push(b' ');
            out.extend(
                self.text
                    .bytes()
                    .map(|b| if b.is_ascii_control() { b' ' } else { b }),
            );
        }
        out.extend_from_slice(b"\r\n");
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.encode(&mut out);
        f.write_str(String::from_utf8_lossy(&out).trim_end())
    }
}

/// Appends the lines of a multi-line response (after its `+OK` line), each dot-stuffed, then the
/// terminating `.` line (RFC 1939 §3).
pub fn encode_lines<S: AsRef<str>>(lines: &[S], out: &mut Vec<u8>) {
    for line in lines {
        let line = line.as_ref();
        if line.starts_with('.') {
            out.push(b'.');
        }
        out.extend(
            line.bytes()
                .map(|b| if b.is_ascii_control() { b' ' } else { b }),
        );
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
}

/// RFC 5034 §4: a server challenge is `+` SP base64; PLAIN has an empty one.
pub fn encode_continuation(challenge_base64: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"+ ");
    out.extend_from_slice(challenge_base64.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// One line of the CAPA response (RFC 2449 §5, §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capability {
    /// RFC 2449 §6.1: TOP is implemented.
    Top,
    /// RFC 2449 §6.2: USER/PASS are accepted now.
    User,
    /// RFC 2449 §6.3 / RFC 5034 §3: AUTH with these mechanisms.
    Sasl(Vec<&'static str>),
    /// RFC 2449 §6.4: response codes are sent.
    RespCodes,
    /// RFC 2449 §6.6: the server accepts pipelined commands.
    Pipelining,
    /// RFC 2449 §6.8: UIDL is implemented.
    Uidl,
    /// RFC 2449 §6.9: the server's name.
    Implementation(&'static str),
    /// RFC 2595 §4: STLS is available now.
    Stls,
    /// RFC 3206 §6: AUTH and SYS codes are sent on authentication failures.
    AuthRespCode,
    /// RFC 6856 §2: `UTF8 USER`: the UTF8 command, and UTF-8 user names and passwords.
    Utf8,
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::Top => f.write_str("TOP"),
            Capability::User => f.write_str("USER"),
            Capability::Sasl(mechanisms) => write!(f, "SASL {}", mechanisms.join(" ")),
            Capability::RespCodes => f.write_str("RESP-CODES"),
            Capability::Pipelining => f.write_str("PIPELINING"),
            Capability::Uidl => f.write_str("UIDL"),
            Capability::Implementation(name) => write!(f, "IMPLEMENTATION {name}"),
            Capability::Stls => f.write_str("STLS"),
            Capability::AuthRespCode => f.write_str("AUTH-RESP-CODE"),
            Capability::Utf8 => f.write_str("UTF8 USER"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(reply: &Reply) -> String {
        let mut out = Vec::new();
        reply.encode(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn status_lines_encode_with_codes() {
        assert_eq!(wire(&Reply::ok("2 320")), "+OK 2 320\r\n");
        assert_eq!(wire(&Reply::ok("")), "+OK\r\n");
        assert_eq!(
            wire(&Reply::err_code(RespCode::InUse, "maildrop locked")),
            "-ERR [IN-USE] maildrop locked\r\n"
        );
        assert_eq!(
            wire(&Reply::err_code(RespCode::SysTemp, "later")),
            "-ERR [SYS/TEMP] later\r\n"
        );
        assert_eq!(wire(&Reply::err("a\r\nb")), "-ERR a  b\r\n");
    }

    #[test]
    fn multi_line_is_dot_stuffed_and_terminated() {
        let mut out = Vec::new();
        encode_lines(&["1 120", ".hidden", "x\ry"], &mut out);
        assert_eq!(out, b"1 120\r\n..hidden\r\nx y\r\n.\r\n");
    }

    #[test]
    fn capabilities_are_spelled_as_registered() {
        let caps = [
            Capability::Sasl(vec!["PLAIN"]),
            Capability::Utf8,
            Capability::Implementation("surel"),
            Capability::AuthRespCode,
        ];
        let lines: Vec<String> = caps.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "SASL PLAIN",
                "UTF8 USER",
                "IMPLEMENTATION surel",
                "AUTH-RESP-CODE"
            ]
        );
    }
}
