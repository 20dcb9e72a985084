//! Command-line framing: one line per command, its length limited before any grammar runs.

use crate::command::parse_command;
use crate::{Command, Reply};

/// The result of decoding from the front of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<T> {
    /// A value, and how many octets of the buffer it used.
    Done(T, usize),
    /// The buffer holds no complete item yet: read more and call again with the grown buffer.
    NeedMore,
    /// Drop this many octets without replying: the rest of an over-long line that was already
    /// answered (only [`LineFramer`] returns this).
    Skip(usize),
}

/// A command line that could not be used. Drop [`CommandError::skip`] octets, send
/// [`CommandError::reply`], and go on with the next line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No LF within `max_line` octets. `skip` is everything buffered of the line: through its LF
    /// if that is already in the buffer, otherwise the whole buffer, and then the rest of the line
    /// must be dropped as it arrives (what [`LineFramer`] does).
    #[error("command line too long")]
    LineTooLong {
        /// Octets to drop.
        skip: usize,
    },
    /// A complete line that is not a valid command.
    #[error("bad command: {reply}")]
    Syntax {
        /// Octets of the line, LF included.
        consumed: usize,
        /// What to answer.
        reply: Reply,
    },
}

impl CommandError {
    /// Octets to drop from the front of the buffer.
    pub fn skip(&self) -> usize {
        match self {
            Self::LineTooLong { skip } => *skip,
            Self::Syntax { consumed, .. } => *consumed,
        }
    }

    /// The reply for the client.
    pub fn reply(&self) -> Reply {
        match self {
            Self::LineTooLong { .. } => Reply::LINE_TOO_LONG,
            Self::Syntax { reply, .. } => reply.clone(),
        }
    }
}

/// Decodes one command from the front of `buf`.
///
/// A line ends at LF; CRLF is the rule, a bare LF is accepted too (many clients' commands end that
/// way; DATA never accepts it). `max_line` counts the whole line with its line ending (RFC 5321
/// §4.5.3.1.4: 512, more with extensions) and is enforced before the grammar runs. Verbs are
/// case-insensitive. Never panics, whatever the bytes.
pub fn decode_command(buf: &[u8], max_line: usize) -> Result<Decoded<Command>, CommandError> {
    if buf.is_empty() {
        return Ok(Decoded::NeedMore);
    }
    let window = buf.get(..max_line).unwrap_or(buf);
    match find_lf(window) {
        Some(lf) => {
            let consumed = lf + 1;
            let (line, _) = buf.split_at(consumed);
            match parse_command(line) {
                Ok(command) => Ok(Decoded::Done(command, consumed)),
                Err(reply) => Err(CommandError::Syntax { consumed, reply }),
            }
        }
        None if buf.len() >= max_line => {
            let skip = match buf.get(max_line..).and_then(find_lf) {
                Some(lf) => max_line + lf + 1,
                None => buf.len(),
            };
            Err(CommandError::LineTooLong { skip })
        }
        None => Ok(Decoded::NeedMore),
    }
}

/// [`decode_command`] with the state to drop the rest of an over-long line: after
/// `LineTooLong` it returns [`Decoded::Skip`] for what follows, up to and including the next LF.
///
/// A driver loop:
/// ```
/// use surel_smtp_proto::{Command, Decoded, LineFramer};
/// let mut framer = LineFramer::new(16);
/// let mut buf = b"NOOP\r\nVRFY aaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec();
/// let mut replies = Vec::new();
/// let mut commands = Vec::new();
/// for more in [&b"aaaa"[..], b"aaaaa\r\nQUIT\r\n", b""] {
///     loop {
///         match framer.decode(&buf) {
///             Ok(Decoded::Done(cmd, n)) => { commands.push(cmd); buf.drain(..n); }
///             Ok(Decoded::Skip(n)) => { buf.drain(..n); }
///             Ok(Decoded::NeedMore) => break,
///             Err(e) => { replies.push(e.reply()); buf.drain(..e.skip()); }
///         }
///     }
///     buf.extend_from_slice(more);
/// }
/// assert_eq!(commands, vec![Command::Noop, Command::Quit]);
/// assert_eq!(replies.len(), 1); // one 500 5.5.2 for the long line
/// ```
#[derive(Debug, Clone)]
pub struct LineFramer {
    max_line: usize,
    /// Inside an over-long line already answered: drop octets up to the next LF.
    discarding: bool,
}

impl LineFramer {
    /// A framer for lines of at most `max_line` octets, line ending included.
    pub fn new(max_line: usize) -> Self {
        Self {
            max_line,
            discarding: false,
        }
    }

    /// Decodes the next command from the front of `buf` (see [`decode_command`]); in the middle
    /// of dropping an over-long line, returns `Skip` instead.
    pub fn decode(&mut self, buf: &[u8]) -> Result<Decoded<Command>, CommandError> {
        if self.discarding {
            if buf.is_empty() {
                return Ok(Decoded::NeedMore);
            }
            return Ok(match find_lf(buf) {
                Some(lf) => {
                    self.discarding = false;
                    Decoded::Skip(lf + 1)
                }
                None => Decoded::Skip(buf.len()),
            });
        }
        let result = decode_command(buf, self.max_line);
        if let Err(CommandError::LineTooLong { skip }) = result {
            self.discarding = !buf
                .get(..skip)
                .is_some_and(|dropped| dropped.ends_with(b"\n"));
        }
        result
    }

    /// Decodes one raw line (a SASL response after `334`, RFC 4954 §4) from the front of `buf`,
    /// without its line ending; over-long lines are refused and dropped like commands.
    pub fn decode_line(&mut self, buf: &[u8]) -> Result<Decoded<Vec<u8>>, CommandError> {
        if self.discarding {
            return match self.decode(buf) {
                Ok(Decoded::Skip(n)) => Ok(Decoded::Skip(n)),
                _ => Ok(Decoded::NeedMore),
            };
        }
        let window = buf.get(..self.max_line).unwrap_or(buf);
        match find_lf(window) {
            Some(lf) => {
                let line = buf.get(..lf).unwrap_or_default();
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                Ok(Decoded::Done(line.to_vec(), lf + 1))
            }
            None if buf.len() >= self.max_line => {
                let skip = match buf.get(self.max_line..).and_then(find_lf) {
                    Some(lf) => self.max_line + lf + 1,
                    None => buf.len(),
                };
                self.discarding = !buf
                    .get(..skip)
                    .is_some_and(|dropped| dropped.ends_with(b"\n"));
                Err(CommandError::LineTooLong { skip })
            }
            None => Ok(Decoded::NeedMore),
        }
    }

    /// True while the rest of an over-long line is being dropped.
    pub fn is_discarding(&self) -> bool {
        self.discarding
    }

    /// Forgets any line in progress (after STARTTLS the plaintext buffer is dropped,
    /// RFC 3207 §4.2).
    pub fn reset(&mut self) {
        self.discarding = false;
    }
}

fn find_lf(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ForwardPath, MailParams, RcptParams, ReversePath};
    use surel_types::Address;

    const MAX: usize = 512;

    #[test]
    fn raw_lines_for_sasl_and_long_ones_dropped() {
        let mut framer = LineFramer::new(8);
        assert_eq!(
            framer.decode_line(b"dGVzdA==\r\nX"),
            Err(CommandError::LineTooLong { skip: 10 })
        );
        assert_eq!(
            framer.decode_line(b"Zm9v\r\nrest"),
            Ok(Decoded::Done(b"Zm9v".to_vec(), 6))
        );
        assert_eq!(
            framer.decode_line(b"*\n"),
            Ok(Decoded::Done(b"*".to_vec(), 2))
        );
        assert_eq!(framer.decode_line(b"Zm9"), Ok(Decoded::NeedMore));
    }

    #[test]
    fn table_of_rfc_5321_examples_with_leftover() {
        let a = |s: &str| Address::parse(s).unwrap();
        // (input, value, leftover): RFC 5321 Appendix D.1, pipelined (RFC 2920) as one buffer.
        let table: Vec<(&[u8], Command, &[u8])> = vec![
            (
                b"EHLO bar.com\r\nMAIL",
                Command::Ehlo("bar.com".into()),
                b"MAIL",
            ),
            (
                b"MAIL FROM:<Smith@bar.com>\r\nRCPT TO:<Jones@foo.com>\r\n",
                Command::Mail {
                    from: ReversePath::Address(a("Smith@bar.com")),
                    params: MailParams::default(),
                },
                b"RCPT TO:<Jones@foo.com>\r\n",
            ),
            (
                b"RCPT TO:<Jones@foo.com>\r\nRCPT TO:<Green@foo.com>\r\n",
                Command::Rcpt {
                    to: ForwardPath::Address(a("Jones@foo.com")),
                    params: RcptParams::default(),
                },
                b"RCPT TO:<Green@foo.com>\r\n",
            ),
            (
                b"DATA\r\nBlah blah blah...\r\n",
                Command::Data,
                b"Blah blah blah...\r\n",
            ),
            (b"QUIT\r\n", Command::Quit, b""),
            // A bare LF ends a command too.
            (b"RSET\nNOOP\r\n", Command::Rset, b"NOOP\r\n"),
            (
                b"BDAT 5 LAST\r\nhello",
                Command::Bdat {
                    size: 5,
                    last: true,
                },
                b"hello",
            ),
        ];
        for (input, value, leftover) in table {
            match decode_command(input, MAX) {
                Ok(Decoded::Done(cmd, n)) => {
                    assert_eq!(cmd, value);
                    assert_eq!(&input[n..], leftover);
                }
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
            }
        }
    }

    #[test]
    fn incomplete_lines_need_more() {
        for input in [
            &b""[..],
            b"M",
            b"MAIL FROM:<a@b>",
            b"MAIL FROM:<a@b>\r",
            b"QUIT\r",
        ] {
            assert_eq!(
                decode_command(input, MAX),
                Ok(Decoded::NeedMore),
                "{input:?}"
            );
        }
    }

    #[test]
    fn syntax_errors_consume_exactly_their_line() {
        let err = decode_command(b"FOO bar\r\nQUIT\r\n", MAX).unwrap_err();
        assert_eq!(
            err,
            CommandError::Syntax {
                consumed: 9,
                reply: Reply::SYNTAX
            }
        );
        assert_eq!(err.skip(), 9);
        assert_eq!(err.reply(), Reply::SYNTAX);
    }

    #[test]
    fn max_line_counts_the_line_ending() {
        let line = |len: usize| {
            let mut l = b"NOOP ".to_vec();
            l.resize(len - 2, b'x');
            l.extend_from_slice(b"\r\n");
            l
        };
        let exact = decode_command(&line(MAX), MAX);
        assert!(matches!(exact, Ok(Decoded::Done(Command::Noop, n)) if n == MAX));
        let long = line(MAX + 1);
        // The LF is already in the buffer: drop through it, nothing left to discard.
        assert_eq!(
            decode_command(&long, MAX),
            Err(CommandError::LineTooLong { skip: MAX + 1 })
        );
        let mut framer = LineFramer::new(MAX);
        assert_eq!(
            framer.decode(&long),
            Err(CommandError::LineTooLong { skip: MAX + 1 })
        );
        assert!(!framer.is_discarding());
        // Exactly max_line octets without an LF is already too long.
        assert_eq!(
            decode_command(&[b'x'; MAX], MAX),
            Err(CommandError::LineTooLong { skip: MAX })
        );
        assert_eq!(decode_command(&[b'x'; MAX - 1], MAX), Ok(Decoded::NeedMore));
    }

    #[test]
    fn over_long_line_split_across_many_feeds() {
        let mut framer = LineFramer::new(64);
        let mut buf: Vec<u8> = Vec::new();
        let mut replies = Vec::new();
        let mut commands = Vec::new();
        let mut skipped = 0;
        let mut feeds: Vec<Vec<u8>> = vec![b"NOOP\r\nMAIL FROM:<".to_vec()];
        feeds.extend(std::iter::repeat_n(
            b"aaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            100,
        ));
        feeds.push(b"@b>\r\nRSET\r".to_vec());
        feeds.push(b"\nQUIT\r\n".to_vec());
        for feed in feeds {
            buf.extend_from_slice(&feed);
            loop {
                match framer.decode(&buf) {
                    Ok(Decoded::Done(cmd, n)) => {
                        commands.push(cmd);
                        buf.drain(..n);
                    }
                    Ok(Decoded::Skip(n)) => {
                        assert!(n > 0 && n <= buf.len());
                        skipped += n;
                        buf.drain(..n);
                    }
                    Ok(Decoded::NeedMore) => break,
                    Err(e) => {
                        replies.push(e.reply());
                        buf.drain(..e.skip());
                    }
                }
            }
            // The buffer never holds more than one line's worth.
            assert!(buf.len() < 64 + 23, "buffer grew to {}", buf.len());
        }
        assert_eq!(commands, vec![Command::Noop, Command::Rset, Command::Quit]);
        assert_eq!(replies, vec![Reply::LINE_TOO_LONG]);
        assert!(skipped > 0);
        assert!(!framer.is_discarding());
    }

    #[test]
    fn reset_forgets_the_discarding_state() {
        let mut framer = LineFramer::new(8);
        assert!(framer.decode(b"xxxxxxxxxx").is_err());
        assert!(framer.is_discarding());
        framer.reset();
        assert!(matches!(
            framer.decode(b"QUIT\r\n"),
            Ok(Decoded::Done(Command::Quit, 6))
        ));
    }

    #[test]
    fn zero_max_line_never_loops() {
        assert_eq!(decode_command(b"", 0), Ok(Decoded::NeedMore));
        assert_eq!(
            decode_command(b"QUIT\r\n", 0),
            Err(CommandError::LineTooLong { skip: 6 })
        );
    }

    #[test]
    fn pseudo_random_bytes_never_panic() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let pieces: &[&[u8]] = &[
            b"MAIL",
            b"FROM:",
            b"RCPT",
            b"TO:",
            b"<",
            b">",
            b"@",
            b"\"",
            b"\\",
            b" ",
            b"\r",
            b"\n",
            b"\0",
            b"SIZE=",
            b"BODY=",
            b"8BITMIME",
            b"BDAT",
            b"LAST",
            b"AUTH",
            b"PLAIN",
            b"=",
            b"+",
            b"9",
            b"99999999999",
            b"postmaster",
            b":",
            b",",
            b"\xff",
            b"\xc3",
            b"\xa9",
            b"EHLO",
            b"a.b",
            b"[",
            b"]",
            b"NOTIFY=",
            b"ORCPT=",
            b"rfc822;",
            b"ENVID=",
            b"HOLDUNTIL=",
            b"2024-01-01T00:00:00Z",
            b"MTRK=",
            b"BY=",
            b";R",
            b"-",
        ];
        for round in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..(next() % 12) {
                input.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
            }
            if round % 3 == 0 {
                input.extend((0..(next() % 16)).map(|_| next() as u8));
            }
            if round % 2 == 0 {
                input.extend_from_slice(b"\r\n");
            }
            let max = (next() % 80) as usize;
            match decode_command(&input, max) {
                Ok(Decoded::Done(_, n)) => assert!(n > 0 && n <= input.len()),
                Ok(Decoded::NeedMore) => assert!(input.len() < max.max(1) || input.is_empty()),
                Ok(Decoded::Skip(_)) => panic!("stateless decode never skips"),
                Err(e) => {
                    assert!(e.skip() > 0 && e.skip() <= input.len());
                    let r = e.reply();
                    assert!(r.is_permanent(), "{r:?}");
                }
            }
        }
    }
}
