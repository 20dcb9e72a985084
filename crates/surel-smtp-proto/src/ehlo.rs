//! The EHLO reply (RFC 5321 §4.1.1.1) and the service extensions it announces.

use std::fmt;

use crate::Reply;

/// A service extension announced in the EHLO reply. DSN, BINARYMIME and REQUIRETLS are not
/// implemented, so they have no variant and are never announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extension {
    /// RFC 2920.
    Pipelining,
    /// RFC 1870: the largest message accepted, in octets (0: no fixed limit).
    Size(u64),
    /// RFC 6152.
    EightBitMime,
    /// RFC 6531.
    SmtpUtf8,
    /// RFC 2034.
    EnhancedStatusCodes,
    /// RFC 3030 (BDAT).
    Chunking,
    /// RFC 3207; announce only before TLS is up.
    StartTls,
    /// RFC 4954 with its SASL mechanisms (`PLAIN`, `LOGIN`); not announced when empty.
    Auth(Vec<String>),
}

impl fmt::Display for Extension {
    /// The keyword line as it appears in the EHLO reply.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pipelining => f.write_str("PIPELINING"),
            Self::Size(n) => write!(f, "SIZE {n}"),
            Self::EightBitMime => f.write_str("8BITMIME"),
            Self::SmtpUtf8 => f.write_str("SMTPUTF8"),
            Self::EnhancedStatusCodes => f.write_str("ENHANCEDSTATUSCODES"),
            Self::Chunking => f.write_str("CHUNKING"),
            Self::StartTls => f.write_str("STARTTLS"),
            Self::Auth(mechanisms) => {
                f.write_str("AUTH")?;
                for m in mechanisms {
                    write!(f, " {m}")?;
                }
                Ok(())
            }
        }
    }
}

/// The reply to EHLO: `250-<hostname> Hello <greeting_name>` and one line per extension, in the
/// order given. `greeting_name` is the name the client gave. The lines carry no enhanced code:
/// clients read them as keywords.
pub fn ehlo_reply(hostname: &str, greeting_name: &str, extensions: &[Extension]) -> Reply {
    let mut text = format!("{hostname} Hello {greeting_name}");
    for ext in extensions {
        if matches!(ext, Extension::Auth(m) if m.is_empty()) {
            continue;
        }
        text.push('\n');
        text.push_str(&ext.to_string());
    }
    Reply::new(250, None, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_reply() {
        let exts = [
            Extension::Pipelining,
            Extension::Size(52_428_800),
            Extension::EightBitMime,
            Extension::SmtpUtf8,
            Extension::EnhancedStatusCodes,
            Extension::Chunking,
            Extension::StartTls,
            Extension::Auth(vec!["PLAIN".into(), "LOGIN".into()]),
        ];
        let wire = ehlo_reply("mx.example.com", "client.example.org", &exts).to_bytes();
        assert_eq!(
            String::from_utf8(wire).unwrap(),
            "250-mx.example.com Hello client.example.org\r\n\
             250-PIPELINING\r\n\
             250-SIZE 52428800\r\n\
             250-8BITMIME\r\n\
             250-SMTPUTF8\r\n\
             250-ENHANCEDSTATUSCODES\r\n\
             250-CHUNKING\r\n\
             250-STARTTLS\r\n\
             250 AUTH PLAIN LOGIN\r\n"
        );
    }

    #[test]
    fn no_extensions_is_one_line_and_empty_auth_is_dropped() {
        assert_eq!(
            ehlo_reply("mx", "c", &[]).to_bytes(),
            b"250 mx Hello c\r\n".to_vec()
        );
        assert_eq!(
            ehlo_reply("mx", "c", &[Extension::Auth(vec![]), Extension::Chunking]).to_bytes(),
            b"250-mx Hello c\r\n250 CHUNKING\r\n".to_vec()
        );
    }
}
