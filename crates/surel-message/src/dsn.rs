//! Delivery status notifications (RFC 3464, carried in RFC 6522 `multipart/report`).
//!
//! One report per message covers every recipient it is about. Everything taken from the remote
//! server (its reply text) or the original message is cleaned before it is written: control
//! characters become spaces and long values are cut, so no input can add a line or a header.

use chrono::{DateTime, Utc};

use crate::rfc5322_date;

/// The most octets of a remote reply or address kept in one field (lines stay under RFC 5322's
/// 998).
const MAX_FIELD: usize = 800;
/// The most octets of the original header section returned.
const MAX_HEADERS: usize = 64 * 1024;

/// RFC 3464 §2.3.3 `Action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DsnAction {
    /// Given up: the message will not reach this recipient.
    Failed,
    /// Still being retried; this is a warning.
    Delayed,
}

impl DsnAction {
    fn as_str(self) -> &'static str {
        match self {
            DsnAction::Failed => "failed",
            DsnAction::Delayed => "delayed",
        }
    }
}

/// What the report says about one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsnRecipient {
    /// The recipient address as it was given in RCPT TO.
    pub address: String,
    /// Failed or delayed.
    pub action: DsnAction,
    /// RFC 3463 status, `5.1.1`.
    pub status: String,
    /// The host that gave the answer, if one did.
    pub remote_mta: Option<String>,
    /// The remote server's reply (`550 5.1.1 No such user`) or our own explanation.
    pub diagnostic: Option<String>,
    /// When delivery was last tried.
    pub last_attempt: Option<DateTime<Utc>>,
    /// For a delay: until when it is retried (RFC 3464 §2.3.9).
    pub will_retry_until: Option<DateTime<Utc>>,
}

/// A delivery status notification to build.
#[derive(Clone, Debug)]
pub struct Dsn<'a> {
    /// Our host name: Reporting-MTA, the From address's domain, the Message-ID's right side.
    pub reporting_mta: &'a str,
    /// The original envelope sender, who gets the report.
    pub to: &'a str,
    /// When the original message arrived.
    pub arrival: DateTime<Utc>,
    /// When the report is made (its Date).
    pub date: DateTime<Utc>,
    /// A token unique to this report: the boundary and the Message-ID are made from it.
    pub token: &'a str,
    /// The recipients the report is about (at least one).
    pub recipients: &'a [DsnRecipient],
    /// The original message; only its header section is returned.
    pub original: &'a [u8],
}

impl Dsn<'_> {
    /// The whole report as an RFC 5322 message with CRLF line endings.
    pub fn build(&self) -> Vec<u8> {
        let delayed = self
            .recipients
            .iter()
            .all(|r| r.action == DsnAction::Delayed);
        let host = clean(self.reporting_mta);
        let original_headers = header_section(self.original);
        let mut boundary = format!("=_surel_dsn_{}", clean(self.token));
        while contains(&original_headers, boundary.as_bytes()) {
            boundary.push('_');
        }
        let subject = if delayed {
            "Delayed Mail (still being retried)"
        } else {
            "Undelivered Mail Returned to Sender"
        };
        let mut out = String::new();
        let mut line = |s: &str| {
            out.push_str(s);
            out.push_str("\r\n");
        };
        line(&format!(
            "From: Mail Delivery System <MAILER-DAEMON@{host}>"
        ));
        line(&format!("To: <{}>", clean(self.to)));
        line(&format!("Subject: {subject}"));
        line(&format!("Date: {}", rfc5322_date(self.date)));
        line(&format!("Message-ID: <dsn.{}@{host}>", clean(self.token)));
        // RFC 3834 §5: an automatic message, so vacation responders and the like stay quiet.
        line("Auto-Submitted: auto-replied");
        line("MIME-Version: 1.0");
        // RFC 6522 §3: multipart/report with report-type delivery-status (RFC 3464 §2).
        line(&format!(
            "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\""
        ));
        line("");
        line("This is a MIME-encapsulated delivery status notification.");
        line("");

        // Part 1: for people.
        line(&format!("--{boundary}"));
        line("Content-Type: text/plain; charset=utf-8");
        line("Content-Transfer-Encoding: 8bit");
        line("");
        line(&format!("This is the mail system at {host}."));
        line("");
        if delayed {
            line("Your message has not been delivered yet to the recipients below.");
            line("It is still being retried; you do not need to send it again.");
        } else {
            line("Your message could not be delivered to the recipients below.");
            line("It will not be retried.");
        }
        line("");
        for r in self.recipients {
            line(&format!("<{}>:", clean(&r.address)));
            match (&r.remote_mta, &r.diagnostic) {
                (Some(mta), Some(diag)) => {
                    line(&format!("    {} said: {}", clean(mta), clean(diag)));
                }
                (None, Some(diag)) => line(&format!("    {}", clean(diag))),
                (_, None) => line(&format!("    status {}", clean(&r.status))),
            }
            line("");
        }

        // Part 2: RFC 3464 §2.1 message/delivery-status: per-message fields, then a block per
        // recipient, blocks separated by blank lines.
        line(&format!("--{boundary}"));
        line("Content-Type: message/delivery-status");
        line("");
        // RFC 3464 §2.2.2 Reporting-MTA; §2.2.5 Arrival-Date.
        line(&format!("Reporting-MTA: dns; {host}"));
        line(&format!("Arrival-Date: {}", rfc5322_date(self.arrival)));
        for r in self.recipients {
            line("");
            // RFC 3464 §2.3.2 Final-Recipient, §2.3.3 Action, §2.3.4 Status.
            line(&format!("Final-Recipient: rfc822; {}", clean(&r.address)));
            line(&format!("Action: {}", r.action.as_str()));
            line(&format!("Status: {}", clean(&r.status)));
            // §2.3.5 Remote-MTA, §2.3.6 Diagnostic-Code, §2.3.7 Last-Attempt-Date.
            if let Some(mta) = &r.remote_mta {
                line(&format!("Remote-MTA: dns; {}", clean(mta)));
            }
            if let Some(diag) = &r.diagnostic {
                line(&format!("Diagnostic-Code: smtp; {}", clean(diag)));
            }
            if let Some(at) = r.last_attempt {
                line(&format!("Last-Attempt-Date: {}", rfc5322_date(at)));
            }
            if let Some(until) = r.will_retry_until {
                line(&format!("Will-Retry-Until: {}", rfc5322_date(until)));
            }
        }
        line("");

        // Part 3: RFC 6522 §3 / RFC 3464 §2: the original's header section.
        line(&format!("--{boundary}"));
        line("Content-Type: text/rfc822-headers");
        line("");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&original_headers);
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        bytes
    }
}

/// One line of text safe for a header or a body line: control characters (CR, LF, NUL, …)
/// become spaces, and it is cut at [`MAX_FIELD`] octets on a character boundary.
fn clean(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if out.len() > MAX_FIELD {
        let mut cut = MAX_FIELD;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

/// The header section of `message` (without the blank line ending it), with every line ending
/// in CRLF, cut to [`MAX_HEADERS`] at a line end.
fn header_section(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for raw in message.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() || out.len() + line.len() + 2 > MAX_HEADERS {
            break;
        }
        // A bare CR inside a line would end it for some readers: make it a space.
        out.extend(line.iter().map(|&b| if b == b'\r' { b' ' } else { b }));
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn failed(address: &str) -> DsnRecipient {
        DsnRecipient {
            address: address.into(),
            action: DsnAction::Failed,
            status: "5.1.1".into(),
            remote_mta: Some("mx.b.test".into()),
            diagnostic: Some("550 5.1.1 No such user\r\nInjected: yes".into()),
            last_attempt: Some(at(60)),
            will_retry_until: None,
        }
    }

    const ORIGINAL: &[u8] =
        b"From: alice@a.test\r\nTo: bob@b.test\r\nSubject: hi\r\n\r\nsecret body\r\n";

    fn dsn(recipients: &[DsnRecipient]) -> String {
        let built = Dsn {
            reporting_mta: "mx.a.test",
            to: "alice@a.test",
            arrival: at(0),
            date: at(120),
            token: "abc123",
            recipients,
            original: ORIGINAL,
        }
        .build();
        String::from_utf8(built).unwrap()
    }

    /// Splits the report into its top-level headers and the parts between boundaries.
    fn parts(text: &str) -> (String, Vec<String>) {
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let boundary = "--=_surel_dsn_abc123";
        let mut pieces: Vec<String> = body.split(boundary).map(str::to_string).collect();
        assert_eq!(
            pieces.pop().unwrap(),
            "--\r\n",
            "the closing delimiter ends it"
        );
        pieces.remove(0); // the preamble
        (head.to_string(), pieces)
    }

    #[test]
    fn a_failure_report_has_the_three_parts_field_by_field() {
        let text = dsn(&[failed("bob@b.test"), failed("carol@b.test")]);
        assert!(
            !text.replace("\r\n", "").contains(['\r', '\n']),
            "CRLF only"
        );
        let (head, parts) = parts(&text);
        let headers: Vec<&str> = head.split("\r\n").collect();
        assert_eq!(
            headers,
            [
                "From: Mail Delivery System <MAILER-DAEMON@mx.a.test>",
                "To: <alice@a.test>",
                "Subject: Undelivered Mail Returned to Sender",
                "Date: Fri, 15 Jan 2027 08:02:00 +0000",
                "Message-ID: <dsn.abc123@mx.a.test>",
                "Auto-Submitted: auto-replied",
                "MIME-Version: 1.0",
                "Content-Type: multipart/report; report-type=delivery-status;",
                "\tboundary=\"=_surel_dsn_abc123\"",
            ]
        );
        assert_eq!(parts.len(), 3);

        let human = &parts[0];
        assert!(human.starts_with("\r\nContent-Type: text/plain; charset=utf-8\r\n"));
        assert!(human.contains(
            "<bob@b.test>:\r\n    mx.b.test said: 550 5.1.1 No such user  Injected: yes\r\n"
        ));
        assert!(human.contains("<carol@b.test>:"));

        let status = &parts[1];
        let (type_line, fields) = status.split_once("\r\n\r\n").unwrap();
        assert_eq!(type_line, "\r\nContent-Type: message/delivery-status");
        let blocks: Vec<&str> = fields.trim_end().split("\r\n\r\n").collect();
        assert_eq!(
            blocks[0],
            "Reporting-MTA: dns; mx.a.test\r\nArrival-Date: Fri, 15 Jan 2027 08:00:00 +0000"
        );
        assert_eq!(
            blocks[1],
            "Final-Recipient: rfc822; bob@b.test\r\n\
             Action: failed\r\n\
             Status: 5.1.1\r\n\
             Remote-MTA: dns; mx.b.test\r\n\
             Diagnostic-Code: smtp; 550 5.1.1 No such user  Injected: yes\r\n\
             Last-Attempt-Date: Fri, 15 Jan 2027 08:01:00 +0000"
        );
        assert!(blocks[2].starts_with("Final-Recipient: rfc822; carol@b.test\r\n"));
        assert_eq!(blocks.len(), 3);

        assert_eq!(
            parts[2],
            "\r\nContent-Type: text/rfc822-headers\r\n\r\n\
             From: alice@a.test\r\nTo: bob@b.test\r\nSubject: hi\r\n\r\n"
        );
        assert!(!text.contains("secret body"), "only the headers come back");
    }

    #[test]
    fn a_delay_warning_says_delayed_and_until_when() {
        let mut r = failed("bob@b.test");
        r.action = DsnAction::Delayed;
        r.status = "4.4.1".into();
        r.remote_mta = None;
        r.diagnostic = Some("connection refused".into());
        r.will_retry_until = Some(at(86_400));
        let text = dsn(&[r]);
        assert!(text.contains("Subject: Delayed Mail (still being retried)\r\n"));
        assert!(text.contains(
            "Final-Recipient: rfc822; bob@b.test\r\nAction: delayed\r\nStatus: 4.4.1\r\n\
             Diagnostic-Code: smtp; connection refused\r\n\
             Last-Attempt-Date: Fri, 15 Jan 2027 08:01:00 +0000\r\n\
             Will-Retry-Until: Sat, 16 Jan 2027 08:00:00 +0000\r\n"
        ));
        assert!(text.contains("    connection refused\r\n"));
    }

    #[test]
    fn the_boundary_never_occurs_in_the_returned_headers() {
        let original = b"X-Trap: --=_surel_dsn_abc123\r\n\r\n";
        let built = Dsn {
            reporting_mta: "mx.a.test",
            to: "alice@a.test",
            arrival: at(0),
            date: at(1),
            token: "abc123",
            recipients: &[failed("bob@b.test")],
            original,
        }
        .build();
        let text = String::from_utf8(built).unwrap();
        assert!(text.contains("boundary=\"=_surel_dsn_abc123_\""));
        assert!(text.ends_with("--=_surel_dsn_abc123_--\r\n"));
    }

    #[test]
    fn header_sections_are_cut_at_the_blank_line_and_normalised() {
        assert_eq!(
            header_section(b"A: 1\nB: 2\r\n\r\nbody"),
            b"A: 1\r\nB: 2\r\n"
        );
        assert_eq!(header_section(b"A: 1\rX\r\n"), b"A: 1 X\r\n");
        assert_eq!(header_section(b""), b"");
        let long = "x".repeat(MAX_FIELD * 2);
        assert_eq!(clean(&long).len(), MAX_FIELD);
        assert_eq!(clean("é".repeat(MAX_FIELD).as_str()).len(), MAX_FIELD);
    }
}
