//! What one delivery attempt means for one recipient: a pure mapping from what the remote server
//! said (or did not say) to [`Outcome`].
//!
//! RFC 5321 §4.2.1: 2yz done, 4yz try again later, 5yz do not repeat. Anything that is not a
//! clear answer (a timeout, a closed connection, garbage, a reply line too long) is temporary.

use std::fmt;

use surel_smtp_proto::{EnhancedCode, Reply};

/// The outcome of an attempt for one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The destination took responsibility for the message (`250`).
    Delivered,
    /// A temporary failure: try again after the retry interval.
    Retry(Why),
    /// A permanent failure: give up now and tell the sender.
    Failed(Why),
}

/// Why an attempt did not deliver: what a DSN and `surel queue list` show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Why {
    /// RFC 3463 status.
    pub status: EnhancedCode,
    /// The remote reply as received (`550 5.1.1 No such user`) or our explanation.
    pub text: String,
    /// The host that answered, when one did.
    pub remote_mta: Option<String>,
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.remote_mta {
            Some(host) => write!(f, "{host}: {}", self.text),
            None => f.write_str(&self.text),
        }
    }
}

/// A failure before or beside any reply: ours or the network's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trouble {
    /// No TCP connection (refused, unreachable, or the connect timed out).
    Connect(String),
    /// No reply within the timeout.
    Timeout(&'static str),
    /// The peer closed the connection where a reply was due.
    Closed,
    /// The peer sent something that is not an SMTP reply (or one over our limits).
    Garbage(String),
    /// The TLS handshake after STARTTLS failed.
    Tls(String),
    /// DNS did not answer usefully (timeout, SERVFAIL).
    DnsTemporary(String),
    /// The domain does not exist, or has no address to deliver to.
    NoSuchDomain(String),
    /// RFC 7505: the domain publishes a null MX; it accepts no mail.
    NullMx,
    /// The message needs an extension the peer lacks (SMTPUTF8) or exceeds its SIZE.
    Unsupported(EnhancedCode, String),
}

const fn code(class: u8, subject: u16, detail: u16) -> EnhancedCode {
    EnhancedCode::new(class, subject, detail)
}

impl Outcome {
    /// The outcome a reply means where `2xx` was wanted. A reply whose enhanced code has the
    /// wrong class (`550 4.1.1`) is taken by its reply code, RFC 3463 §2 class agreeing.
    pub fn of_reply(reply: &Reply, host: &str) -> Outcome {
        let text = reply_text(reply);
        let why = |default: EnhancedCode| {
            let status = match reply.enhanced {
                Some(e) if e.class == default.class => e,
                _ => default,
            };
            Why {
                status,
                text,
                remote_mta: Some(host.to_string()),
            }
        };
        match reply.code {
            200..=299 => Outcome::Delivered,
            400..=499 => Outcome::Retry(why(code(4, 0, 0))),
            500..=599 => Outcome::Failed(why(code(5, 0, 0))),
            // 1yz, 3yz where a completion was due, or out of range: a protocol error, temporary.
            _ => Outcome::Retry(why(code(4, 5, 0))),
        }
    }

    /// The outcome of a failure that is not a reply; `host` is the server involved, if any.
    pub fn of_trouble(trouble: &Trouble, host: Option<&str>) -> Outcome {
        let why = |status, text: String| Why {
            status,
            text,
            remote_mta: host.map(str::to_string),
        };
        match trouble {
            // RFC 3463 §3.5: X.4.1 no answer from host, X.4.2 bad connection.
            Trouble::Connect(e) => {
                Outcome::Retry(why(code(4, 4, 1), format!("cannot connect: {e}")))
            }
            Trouble::Timeout(waiting) => Outcome::Retry(why(
                code(4, 4, 2),
                format!("timed out waiting for the reply to {waiting}"),
            )),
            Trouble::Closed => Outcome::Retry(why(
                code(4, 4, 2),
                "the server closed the connection".to_string(),
            )),
            Trouble::Garbage(e) => Outcome::Retry(why(code(4, 5, 0), format!("bad reply: {e}"))),
            Trouble::Tls(e) => Outcome::Retry(why(code(4, 7, 0), format!("TLS failed: {e}"))),
            // X.4.3 directory server failure.
            Trouble::DnsTemporary(e) => {
                Outcome::Retry(why(code(4, 4, 3), format!("DNS lookup failed: {e}")))
            }
            // X.1.2 bad destination system address.
            Trouble::NoSuchDomain(d) => Outcome::Failed(why(
                code(5, 1, 2),
                format!("the domain {d} has no mail server"),
            )),
            // RFC 7505 §4.2: a null MX is a permanent failure, 5.1.10.
            Trouble::NullMx => Outcome::Failed(why(
                code(5, 1, 10),
                "the domain accepts no mail (null MX, RFC 7505)".to_string(),
            )),
            Trouble::Unsupported(status, text) => Outcome::Failed(why(*status, text.clone())),
        }
    }
}

/// A reply as one line of text: `550 5.1.1 No such user`, lines joined with spaces.
pub fn reply_text(reply: &Reply) -> String {
    let mut text = reply.code.to_string();
    if let Some(e) = reply.enhanced {
        text.push(' ');
        text.push_str(&e.to_string());
    }
    for line in reply.text.split('\n') {
        text.push(' ');
        text.push_str(line);
    }
    text.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, enhanced: Option<EnhancedCode>, text: &str) -> Reply {
        Reply::new(code, enhanced, text.to_string())
    }

    #[test]
    fn replies_map_to_outcomes() {
        let why = |class, subject, detail, text: &str| Why {
            status: code(class, subject, detail),
            text: text.to_string(),
            remote_mta: Some("mx.b.test".into()),
        };
        let table = [
            (reply(250, Some(code(2, 1, 5)), "OK"), Outcome::Delivered),
            (reply(251, None, "will forward"), Outcome::Delivered),
            (
                reply(450, Some(code(4, 2, 1)), "mailbox busy"),
                Outcome::Retry(why(4, 2, 1, "450 4.2.1 mailbox busy")),
            ),
            (
                reply(421, None, "closing"),
                Outcome::Retry(why(4, 0, 0, "421 closing")),
            ),
            (
                reply(550, Some(code(5, 1, 1)), "No such user"),
                Outcome::Failed(why(5, 1, 1, "550 5.1.1 No such user")),
            ),
            (
                reply(554, None, "go away\nreally"),
                Outcome::Failed(why(5, 0, 0, "554 go away really")),
            ),
            // The enhanced code's class disagrees with the reply code: the reply code wins.
            (
                reply(550, Some(code(4, 1, 1)), "odd"),
                Outcome::Failed(why(5, 0, 0, "550 4.1.1 odd")),
            ),
            (
                reply(354, None, "go ahead"),
                Outcome::Retry(why(4, 5, 0, "354 go ahead")),
            ),
        ];
        for (reply, want) in table {
            assert_eq!(Outcome::of_reply(&reply, "mx.b.test"), want, "{reply:?}");
        }
    }

    #[test]
    fn troubles_map_to_outcomes() {
        let table: [(Trouble, bool, (u8, u16, u16)); 9] = [
            (Trouble::Connect("refused".into()), false, (4, 4, 1)),
            (Trouble::Timeout("DATA"), false, (4, 4, 2)),
            (Trouble::Closed, false, (4, 4, 2)),
            (Trouble::Garbage("line too long".into()), false, (4, 5, 0)),
            (Trouble::Tls("handshake".into()), false, (4, 7, 0)),
            (Trouble::DnsTemporary("SERVFAIL".into()), false, (4, 4, 3)),
            (Trouble::NoSuchDomain("x.test".into()), true, (5, 1, 2)),
            (Trouble::NullMx, true, (5, 1, 10)),
            (
                Trouble::Unsupported(code(5, 6, 7), "no SMTPUTF8".into()),
                true,
                (5, 6, 7),
            ),
        ];
        for (trouble, permanent, (c, s, d)) in table {
            match Outcome::of_trouble(&trouble, Some("mx.b.test")) {
                Outcome::Failed(why) if permanent => assert_eq!(why.status, code(c, s, d)),
                Outcome::Retry(why) if !permanent => assert_eq!(why.status, code(c, s, d)),
                other => panic!("{trouble:?} gave {other:?}"),
            }
        }
    }
}
