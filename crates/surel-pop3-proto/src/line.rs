//! Line framing: one line per command or SASL response, its length limited before any grammar.

use crate::command::{Command, CommandError, parse_command};

/// The result of decoding from the front of a buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded<T> {
    /// A value, and how many octets of the buffer it used.
    Done(T, usize),
    /// No complete line yet: read more and call again with the grown buffer.
    NeedMore,
    /// Drop this many octets without replying: more of an over-long line already answered.
    Skip(usize),
}

/// Frames lines of at most `max_line` octets (line ending included). A longer line is answered
/// once ([`CommandError::LineTooLong`]) and the rest of it is skipped as it arrives, so a client
/// can never make the buffer grow past the limit.
#[derive(Clone, Debug)]
pub struct LineFramer {
    max_line: usize,
    /// Inside an over-long line that was already answered: drop through its LF.
    skipping: bool,
}

impl LineFramer {
    /// A framer for lines of at most `max_line` octets. RFC 2449 §4 raises the command limit to
    /// 255 octets; callers may allow more.
    pub fn new(max_line: usize) -> Self {
        Self {
            max_line: max_line.max(3),
            skipping: false,
        }
    }

    /// Forgets a partly skipped line (after STLS the input starts over).
    pub fn reset(&mut self) {
        self.skipping = false;
    }

    /// The next raw line (without CRLF or LF) and the octets it used.
    pub fn decode_line<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Decoded<&'a [u8]>, (CommandError, usize)> {
        if self.skipping {
            return Ok(match find_lf(buf) {
                Some(lf) => {
                    self.skipping = false;
                    Decoded::Skip(lf + 1)
                }
                None if buf.is_empty() => Decoded::NeedMore,
                None => Decoded::Skip(buf.len()),
            });
        }
        let window = buf.get(..self.max_line).unwrap_or(buf);
        match find_lf(window) {
            Some(lf) => {
                let mut line = buf.get(..lf).unwrap_or(b"");
                // RFC 1939 §3: lines end in CRLF; a bare LF is accepted from clients too.
                if let Some(stripped) = line.strip_suffix(b"\r") {
                    line = stripped;
                }
                Ok(Decoded::Done(line, lf + 1))
            }
            None if buf.len() >= self.max_line => {
                // Answer now; drop the line through its LF if it is here, else what is buffered
                // and the rest of the line when it comes.
                match find_lf(buf) {
                    Some(lf) => Err((CommandError::LineTooLong, lf + 1)),
                    None => {
                        self.skipping = true;
                        Err((CommandError::LineTooLong, buf.len()))
                    }
                }
            }
            None => Ok(Decoded::NeedMore),
        }
    }

    /// The next command. On `Err((e, n))` drop `n` octets, answer `-ERR`, and go on.
    pub fn decode(&mut self, buf: &[u8]) -> Result<Decoded<Command>, (CommandError, usize)> {
        match self.decode_line(buf)? {
            Decoded::Done(line, n) => match parse_command(line) {
                Ok(command) => Ok(Decoded::Done(command, n)),
                Err(e) => Err((e, n)),
            },
            Decoded::NeedMore => Ok(Decoded::NeedMore),
            Decoded::Skip(n) => Ok(Decoded::Skip(n)),
        }
    }
}

fn find_lf(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_crlf_and_bare_lf_lines() {
        let mut f = LineFramer::new(255);
        assert_eq!(
            f.decode(b"STAT\r\nNOOP\n"),
            Ok(Decoded::Done(Command::Stat, 6))
        );
        assert_eq!(f.decode(b"NOOP\n"), Ok(Decoded::Done(Command::Noop, 5)));
        assert_eq!(f.decode(b"NO"), Ok(Decoded::NeedMore));
        assert_eq!(f.decode(b""), Ok(Decoded::NeedMore));
        assert_eq!(f.decode(b"BLAH\r\n"), Err((CommandError::Unknown, 6)));
    }

    #[test]
    fn long_line_is_answered_once_then_skipped() {
        let mut f = LineFramer::new(10);
        assert_eq!(
            f.decode(b"USER aaaaaaaaaa"),
            Err((CommandError::LineTooLong, 15))
        );
        assert_eq!(f.decode(b"aaaa"), Ok(Decoded::Skip(4)));
        assert_eq!(f.decode(b""), Ok(Decoded::NeedMore));
        assert_eq!(f.decode(b"aa\r\nSTAT\r\n"), Ok(Decoded::Skip(4)));
        assert_eq!(f.decode(b"STAT\r\n"), Ok(Decoded::Done(Command::Stat, 6)));
        // A line of exactly the limit (CRLF included) is fine.
        assert_eq!(
            f.decode(b"LIST 1234\r\n"),
            Err((CommandError::LineTooLong, 11))
        );
        assert_eq!(
            f.decode(b"LIST 123\r\n"),
            Ok(Decoded::Done(Command::List(Some(123)), 10))
        );
    }
}
