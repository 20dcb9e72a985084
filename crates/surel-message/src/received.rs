use std::fmt::Write;
use std::net::IpAddr;

use chrono::{DateTime, Utc};

/// The `with` protocol of a Received header (RFC 3848, RFC 6531 §3.7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// HELO.
    Smtp,
    /// EHLO.
    Esmtp,
    /// EHLO over TLS.
    Esmtps,
    /// EHLO, authenticated.
    Esmtpa,
    /// EHLO over TLS, authenticated.
    Esmtpsa,
}

impl Protocol {
    /// The keyword, with the RFC 6531 `UTF8` prefix when the transaction used SMTPUTF8.
    pub fn keyword(self, smtputf8: bool) -> String {
        let base = match self {
            Protocol::Smtp => "SMTP",
            Protocol::Esmtp => "ESMTP",
            Protocol::Esmtps => "ESMTPS",
            Protocol::Esmtpa => "ESMTPA",
            Protocol::Esmtpsa => "ESMTPSA",
        };
        match (smtputf8, self) {
            (true, Protocol::Smtp) | (false, _) => base.to_string(),
            (true, _) => format!("UTF8{}", &base[1..]),
        }
    }
}

/// The facts of one SMTP transaction that its Received header records (RFC 5321 §4.4).
pub struct Received<'a> {
    /// The name the client gave in EHLO/HELO (cleaned before use).
    pub helo: &'a str,
    /// The client's IP address.
    pub peer: IpAddr,
    /// Our host name.
    pub by: &'a str,
    /// How the message came.
    pub protocol: Protocol,
    /// Whether the transaction used SMTPUTF8.
    pub smtputf8: bool,
    /// Our id for the transaction, for matching logs.
    pub id: &'a str,
    /// The TLS version and cipher, if encrypted.
    pub tls: Option<&'a str>,
    /// The recipient, only when there is exactly one (all copies share one stored message).
    pub for_rcpt: Option<&'a str>,
    /// When we took the message.
    pub date: DateTime<Utc>,
}

impl Received<'_> {
    /// The header, folded, ending in CRLF.
    pub fn encode(&self) -> String {
        let ip = match self.peer {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("IPv6:{v6}"),
        };
        let mut h = String::with_capacity(256);
        let _ = write!(
            h,
            "Received: from {} ([{ip}])\r\n\tby {} (surel)",
            clean(self.helo),
            clean(self.by)
        );
        if let Some(tls) = self.tls {
            let _ = write!(h, " ({})", clean(tls));
        }
        let _ = write!(
            h,
            "\r\n\twith {} id {}",
            self.protocol.keyword(self.smtputf8),
            clean(self.id)
        );
        if let Some(rcpt) = self.for_rcpt {
            let _ = write!(h, "\r\n\tfor <{}>", clean(rcpt));
        }
        let _ = write!(h, ";\r\n\t{}\r\n", crate::rfc5322_date(self.date));
        h
    }
}

/// Keeps a client-given value from breaking the header: no controls, no parentheses or angle
/// brackets (which would end a comment or a path), at most 255 characters.
fn clean(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '(' | ')' | '<' | '>' | ';' | '\\'))
        .take(255)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "unknown".to_string()
    } else {
        cleaned.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample() -> Received<'static> {
        Received {
            helo: "client.example.org",
            peer: "192.0.2.7".parse().unwrap(),
            by: "mx.example.com",
            protocol: Protocol::Esmtps,
            smtputf8: false,
            id: "abc123",
            tls: Some("TLSv1_3 TLS13_AES_256_GCM_SHA384"),
            for_rcpt: Some("bob@example.com"),
            date: Utc.with_ymd_and_hms(2026, 11, 28, 3, 42, 30).unwrap(),
        }
    }

    #[test]
    fn encodes_folded_header_with_all_clauses() {
        assert_eq!(
            sample().encode(),
            "Received: from client.example.org ([192.0.2.7])\r\n\tby mx.example.com (surel) \
             (TLSv1_3 TLS13_AES_256_GCM_SHA384)\r\n\twith ESMTPS id abc123\r\n\tfor <bob@example.com>;\r\n\t\
             Sat, 28 Nov 2026 03:42:30 +0000\r\n"
        );
    }

    #[test]
    fn client_text_cannot_inject_lines() {
        let mut r = sample();
        r.helo = "evil\r\nX-Injected: yes (";
        let h = r.encode();
        assert!(!h.contains("\r\nX-Injected"));
        assert!(h.starts_with("Received: from evilX-Injected: yes ([192.0.2.7])"));
    }

    #[test]
    fn ipv6_and_utf8_protocol() {
        let mut r = sample();
        r.peer = "2001:db8::1".parse().unwrap();
        r.smtputf8 = true;
        r.tls = None;
        r.for_rcpt = None;
        let h = r.encode();
        assert!(h.contains("([IPv6:2001:db8::1])"));
        assert!(h.contains("with UTF8SMTPS id"));
        assert!(!h.contains("for <"));
        assert_eq!(Protocol::Smtp.keyword(true), "SMTP");
        assert_eq!(Protocol::Esmtpsa.keyword(true), "UTF8SMTPSA");
    }
}
