//! `Authentication-Results` (RFC 8601) and `Received-SPF` (RFC 7208 §9.1) header text, and the
//! removal of forged `Authentication-Results` that claim our authserv-id (RFC 8601 §5).

use std::borrow::Cow;
use std::fmt::Write;
use std::net::IpAddr;

/// One method's result in an Authentication-Results header (RFC 8601 §2.2 `resinfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodResult {
    /// `spf`, `dkim`, `dmarc`, ... (RFC 8601 §2.7).
    pub method: &'static str,
    /// The result keyword: `pass`, `fail`, `temperror`, ...
    pub result: &'static str,
    /// Free text for `reason=` (quoted on output).
    pub reason: Option<String>,
    /// `ptype.property=value` pairs such as `("smtp.mailfrom", "a@example.com")`.
    pub props: Vec<(&'static str, String)>,
}

/// A whole Authentication-Results header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticationResults<'a> {
    /// Our host name (RFC 8601 §2.5 authserv-id).
    pub authserv_id: &'a str,
    /// One entry per method evaluated; empty encodes as `none` (RFC 8601 §2.2).
    pub results: Vec<MethodResult>,
}

impl AuthenticationResults<'_> {
    /// The header field, folded one method per line, ending in CRLF.
    pub fn encode(&self) -> String {
        let mut out = format!("Authentication-Results: {}", clean(self.authserv_id));
        if self.results.is_empty() {
            // RFC 8601 §2.2: `no-result = [CFWS] ";" [CFWS] "none"`.
            out.push_str("; none");
        }
        for r in &self.results {
            let _ = write!(out, ";\r\n\t{}={}", r.method, r.result);
            if let Some(reason) = &r.reason {
                let _ = write!(out, " reason={}", quoted(reason));
            }
            for (prop, value) in &r.props {
                let _ = write!(out, " {prop}={}", pvalue(value));
            }
        }
        out.push_str("\r\n");
        out
    }

    /// The header's value only (what the store keeps): the text after `Authentication-Results:`.
    pub fn value(&self) -> String {
        let header = self.encode();
        header
            .strip_prefix("Authentication-Results: ")
            .unwrap_or(&header)
            .trim_end()
            .to_string()
    }
}

/// The facts of a `Received-SPF` header (RFC 7208 §9.1).
pub struct ReceivedSpf<'a> {
    /// The result keyword (`pass`, `fail`, ...).
    pub result: &'static str,
    /// Our host name.
    pub receiver: &'a str,
    /// The client's IP address.
    pub client_ip: IpAddr,
    /// The HELO/EHLO name.
    pub helo: &'a str,
    /// The MAIL FROM address; empty for the null sender.
    pub envelope_from: &'a str,
    /// Which identity was checked: `mailfrom` or `helo`.
    pub identity: &'static str,
}

impl ReceivedSpf<'_> {
    /// The header field, ending in CRLF.
    pub fn encode(&self) -> String {
        // RFC 7208 §9.1: result, a comment, then key-value pairs.
        let from = if self.envelope_from.is_empty() {
            "<>".to_string()
        } else {
            self.envelope_from.to_string()
        };
        format!(
            "Received-SPF: {result} ({receiver}: {ip} is {what} by {identity})\r\n\
             \treceiver={receiver}; client-ip={ip}; envelope-from={from}; helo={helo};\r\n\
             \tidentity={identity}\r\n",
            result = self.result,
            receiver = clean(self.receiver),
            ip = self.client_ip,
            what = match self.result {
                "pass" => "permitted",
                "fail" | "softfail" => "not permitted",
                _ => "not judged",
            },
            identity = self.identity,
            from = quoted(&from),
            helo = pvalue(self.helo),
        )
    }
}

/// RFC 2045 `tspecials` plus space and controls: what a bare token cannot hold.
fn is_token_char(c: char) -> bool {
    c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?=".contains(c)
}

/// A value as RFC 8601 §2.2 `pvalue`: a token, `local@domain`, or else a quoted-string.
fn pvalue(value: &str) -> String {
    let bare = |s: &str| !s.is_empty() && s.chars().all(is_token_char);
    let plain = match value.rsplit_once('@') {
        Some((local, domain)) => (local.is_empty() || bare(local)) && bare(domain),
        None => bare(value),
    };
    if plain {
        value.to_string()
    } else {
        quoted(value)
    }
}

/// A quoted-string with `\` and `"` escaped and control characters dropped, so text from a
/// client can never end the header or start another.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Text without control characters or spaces (for names we write bare).
fn clean(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .collect()
}

/// `message` without the `Authentication-Results` header fields whose authserv-id is
/// `authserv_id` (RFC 8601 §5: a receiver removes such fields arriving from outside, since only
/// we may write them). Other fields, and the body, are untouched.
pub fn remove_auth_results<'m>(message: &'m [u8], authserv_id: &str) -> Cow<'m, [u8]> {
    let mut remove = Vec::new();
    let mut pos = 0;
    while pos < message.len() {
        let rest = message.get(pos..).unwrap_or_default();
        if rest.starts_with(b"\r\n") || rest.starts_with(b"\n") {
            break; // the empty line before the body
        }
        let end = field_end(message, pos);
        let field = message.get(pos..end).unwrap_or_default();
        if claims(field, authserv_id) {
            remove.push(pos..end);
        }
        pos = end;
    }
    if remove.is_empty() {
        return Cow::Borrowed(message);
    }
    let mut out = Vec::with_capacity(message.len());
    let mut last = 0;
    for range in remove {
        out.extend_from_slice(message.get(last..range.start).unwrap_or_default());
        last = range.end;
    }
    out.extend_from_slice(message.get(last..).unwrap_or_default());
    Cow::Owned(out)
}

/// Where the header field starting at `start` ends: after its last line, continuation lines
/// (starting with a space or tab, RFC 5322 §2.2.3) included.
fn field_end(message: &[u8], start: usize) -> usize {
    let mut pos = start;
    loop {
        let next = match message
            .get(pos..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
        {
            Some(i) => pos + i + 1,
            None => return message.len(),
        };
        match message.get(next) {
            Some(b' ' | b'\t') => pos = next,
            _ => return next,
        }
    }
}

/// Whether `field` is an Authentication-Results field whose authserv-id is `ours`.
fn claims(field: &[u8], ours: &str) -> bool {
    let Some(colon) = field.iter().position(|&b| b == b':') else {
        return false;
    };
    let (name, value) = field.split_at(colon);
    if !name
        .trim_ascii()
        .eq_ignore_ascii_case(b"authentication-results")
    {
        return false;
    }
    let value = String::from_utf8_lossy(value.get(1..).unwrap_or_default());
    let id = authserv_id(&value);
    id.eq_ignore_ascii_case(ours)
}

/// The authserv-id at the start of an Authentication-Results value: comments and whitespace
/// skipped (RFC 8601 §2.2 `[CFWS] authserv-id`), up to `;`, whitespace or a comment.
fn authserv_id(value: &str) -> String {
    let mut depth = 0usize;
    let mut id = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            '\\' if depth > 0 => {
                chars.next();
            }
            _ if depth > 0 => {}
            c if c.is_whitespace() => {
                if !id.is_empty() {
                    break;
                }
            }
            ';' => break,
            c => id.push(c),
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_one_method_per_line_with_quoted_values() {
        let ar = AuthenticationResults {
            authserv_id: "mx.example.com",
            results: vec![
                MethodResult {
                    method: "spf",
                    result: "pass",
                    reason: None,
                    props: vec![("smtp.mailfrom", "alice@example.org".into())],
                },
                MethodResult {
                    method: "dkim",
                    result: "fail",
                    reason: Some("body hash \"mismatch\"".into()),
                    props: vec![
                        ("header.d", "example.org".into()),
                        ("header.s", "sel 1\r\nX: y".into()),
                    ],
                },
            ],
        };
        assert_eq!(
            ar.encode(),
            "Authentication-Results: mx.example.com;\r\n\
             \tspf=pass smtp.mailfrom=alice@example.org;\r\n\
             \tdkim=fail reason=\"body hash \\\"mismatch\\\"\" header.d=example.org \
             header.s=\"sel 1X: y\"\r\n"
        );
        let none = AuthenticationResults {
            authserv_id: "mx.example.com",
            results: vec![],
        };
        assert_eq!(
            none.encode(),
            "Authentication-Results: mx.example.com; none\r\n"
        );
        assert_eq!(none.value(), "mx.example.com; none");
    }

    #[test]
    fn removes_only_results_claiming_our_id() {
        let msg = b"Authentication-Results: mx.example.com; spf=pass\r\n\
            Subject: hi\r\n\
            Authentication-Results: (forged) MX.Example.COM;\r\n\tdkim=pass header.d=bank.test\r\n\
            Authentication-Results: other.example.net; spf=fail\r\n\
            \r\n\
            Authentication-Results: mx.example.com; in the body stays\r\n";
        let out = remove_auth_results(msg, "mx.example.com");
        assert_eq!(
            &out[..],
            &b"Subject: hi\r\n\
            Authentication-Results: other.example.net; spf=fail\r\n\
            \r\n\
            Authentication-Results: mx.example.com; in the body stays\r\n"[..]
        );
        assert!(matches!(
            remove_auth_results(b"Subject: x\r\n\r\nbody", "mx.example.com"),
            Cow::Borrowed(_)
        ));
        // A header block without a body, and a bare-LF message, are handled too.
        assert_eq!(
            &remove_auth_results(
                b"Authentication-Results: mx.example.com; none",
                "mx.example.com"
            )[..],
            b""
        );
        assert_eq!(
            &remove_auth_results(
                b"Authentication-Results: mx.example.com\n\tx\nA: b\n",
                "mx.example.com"
            )[..],
            b"A: b\n"
        );
    }

    #[test]
    fn received_spf_follows_rfc_7208_section_9_1() {
        let h = ReceivedSpf {
            result: "fail",
            receiver: "mx.example.com",
            client_ip: "192.0.2.1".parse().unwrap(),
            helo: "client.example.org",
            envelope_from: "",
            identity: "helo",
        }
        .encode();
        assert_eq!(
            h,
            "Received-SPF: fail (mx.example.com: 192.0.2.1 is not permitted by helo)\r\n\
             \treceiver=mx.example.com; client-ip=192.0.2.1; envelope-from=\"<>\"; \
             helo=client.example.org;\r\n\tidentity=helo\r\n"
        );
    }
}
