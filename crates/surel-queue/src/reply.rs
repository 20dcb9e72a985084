//! Reading SMTP replies from a server, bounded (RFC 5321 §4.2): whatever the peer sends, the
//! reader holds at most [`MAX_LINE`] octets of a line and [`MAX_LINES`] lines of a reply.
//!
//! This is the client direction of what `surel-smtp-proto` does for servers; it is here, beside
//! its only user, until a second user appears (then it moves to the proto crate).

use surel_smtp_proto::{EnhancedCode, Reply};

/// Longest reply line accepted, CRLF included. RFC 5321 §4.5.3.1.5 says 512; real servers send a
/// little more.
pub const MAX_LINE: usize = 4096;
/// Most lines in one reply (an EHLO reply is the longest we expect).
pub const MAX_LINES: usize = 128;

/// What a buffer holds: a whole reply, not yet one, or something that is not a reply.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A complete reply and the octets it took.
    Done(Reply, usize),
    /// More octets are needed.
    NeedMore,
}

/// Why the octets are not a reply.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// A line longer than [`MAX_LINE`] or a reply longer than [`MAX_LINES`].
    #[error("reply too long")]
    TooLong,
    /// A line not of the form `ddd[ -]text`, or codes that differ between lines.
    #[error("not an SMTP reply: {0:?}")]
    Malformed(String),
}

/// Decodes one reply from the front of `buf`. Lines end in LF (a CR before it is dropped; a
/// lenient reader, since a reply's text goes nowhere but our logs and DSNs, cleaned there).
pub fn parse(buf: &[u8]) -> Result<Parsed, ReplyError> {
    let mut pos = 0;
    let mut code = None;
    let mut enhanced = None;
    let mut text = Vec::new();
    for n in 0.. {
        if n >= MAX_LINES {
            return Err(ReplyError::TooLong);
        }
        let rest = buf.get(pos..).unwrap_or_default();
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return if rest.len() >= MAX_LINE {
                Err(ReplyError::TooLong)
            } else {
                Ok(Parsed::NeedMore)
            };
        };
        if end + 1 > MAX_LINE {
            return Err(ReplyError::TooLong);
        }
        let raw = rest.get(..end).unwrap_or_default();
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        pos += end + 1;
        let line = String::from_utf8_lossy(line);
        let malformed = || ReplyError::Malformed(line.chars().take(80).collect());
        let digits = line.get(..3).ok_or_else(malformed)?;
        let this: u16 = digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())
            .flatten()
            .filter(|c| (200..=599).contains(c) || (100..200).contains(c))
            .ok_or_else(malformed)?;
        if *code.get_or_insert(this) != this {
            return Err(malformed());
        }
        let (last, body) = match line.get(3..4) {
            None => (true, ""),
            Some(" ") => (true, line.get(4..).unwrap_or("")),
            Some("-") => (false, line.get(4..).unwrap_or("")),
            Some(_) => return Err(malformed()),
        };
        // RFC 2034 §4: the enhanced code leads the text of each line; keep the first.
        let mut body = body;
        let (first, rest) = body.split_once(' ').unwrap_or((body, ""));
        if let Ok(e) = first.parse::<EnhancedCode>()
            && u16::from(e.class) == this / 100
        {
            enhanced.get_or_insert(e);
            body = rest;
        }
        text.push(body.to_string());
        if last {
            return Ok(Parsed::Done(
                Reply::new(this, enhanced, text.join("\n")),
                pos,
            ));
        }
    }
    Ok(Parsed::NeedMore)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(input: &[u8]) -> (Reply, usize) {
        match parse(input) {
            Ok(Parsed::Done(r, n)) => (r, n),
            other => panic!("{input:?}: {other:?}"),
        }
    }

    #[test]
    fn parses_single_and_multi_line_replies() {
        let (r, n) = done(b"250 2.1.0 Sender OK\r\nleft");
        assert_eq!(
            (r.code, r.enhanced, &*r.text, n),
            (250, Some(EnhancedCode::new(2, 1, 0)), "Sender OK", 21)
        );
        let (r, _) = done(b"250-mx.b.test Hello\r\n250-PIPELINING\r\n250 SIZE 100\r\n");
        assert_eq!(&*r.text, "mx.b.test Hello\nPIPELINING\nSIZE 100");
        let (r, _) = done(b"220\r\n");
        assert_eq!((r.code, &*r.text), (220, ""));
        let (r, _) = done(b"550 4.1.1 wrong class\n");
        assert_eq!((r.enhanced, &*r.text), (None, "4.1.1 wrong class"));
    }

    #[test]
    fn waits_for_more_and_refuses_garbage() {
        assert_eq!(parse(b"250-a\r\n250 b"), Ok(Parsed::NeedMore));
        assert_eq!(parse(b""), Ok(Parsed::NeedMore));
        for bad in [
            &b"hello\r\n"[..],
            b"25\r\n",
            b"250-a\r\n251 b\r\n",
            b"250xa\r\n",
            b"999 x\r\n",
        ] {
            assert!(
                matches!(parse(bad), Err(ReplyError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert_eq!(parse(&vec![b'2'; MAX_LINE]), Err(ReplyError::TooLong));
        let many = "250-x\r\n".repeat(MAX_LINES + 1);
        assert_eq!(parse(many.as_bytes()), Err(ReplyError::TooLong));
    }
}
