//! The checks every message body passes, whether it came by DATA or by BDAT: only CRLF line
//! endings, no NUL, lines and total size within the limits.

use crate::Reply;

/// Limits applied while a message is received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Most octets of message content (after dot-unstuffing), RFC 1870 SIZE.
    pub max_size: u64,
    /// Longest line in octets, CRLF included (RFC 5321 §4.5.3.1.6 says 1000; real mail exceeds it).
    pub max_line: usize,
}

/// What was wrong with a received message. The message must not be stored; the session answers
/// [`DataViolation::reply`] and the connection stays usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DataViolation {
    /// A CR not followed by LF, or an LF not preceded by CR (SMTP smuggling, RFC 5321 §2.3.8).
    #[error("bare CR or LF in message")]
    BareLineEnding,
    /// A NUL octet (RFC 5321 §4.5.2 / RFC 5322: not allowed in text).
    #[error("NUL octet in message")]
    Nul,
    /// More than `max_size` octets.
    #[error("message larger than the size limit")]
    TooBig,
    /// A line longer than `max_line` octets.
    #[error("line longer than the limit")]
    LineTooLong,
    /// The server could not hold the message now (its memory budget for messages in transit is
    /// spent): a temporary failure, the client tries again later.
    #[error("no room for the message now")]
    NoStorage,
}

impl DataViolation {
    /// The reply the session sends instead of accepting the message.
    pub fn reply(self) -> Reply {
        match self {
            Self::BareLineEnding => Reply::BARE_LINE_ENDING,
            Self::Nul => Reply::NUL_IN_DATA,
            Self::TooBig => Reply::MESSAGE_TOO_BIG,
            Self::LineTooLong => Reply::MESSAGE_LINE_TOO_LONG,
            Self::NoStorage => Reply::STORAGE_FULL,
        }
    }

    const ALL: [DataViolation; 5] = [
        Self::BareLineEnding,
        Self::Nul,
        Self::TooBig,
        Self::LineTooLong,
        Self::NoStorage,
    ];

    const fn bit(self) -> u8 {
        match self {
            Self::BareLineEnding => 1,
            Self::Nul => 2,
            Self::TooBig => 4,
            Self::LineTooLong => 8,
            Self::NoStorage => 16,
        }
    }
}

/// Incremental checker over a body that arrives in pieces: a CRLF may straddle two pieces, so a CR
/// at the end of one piece is judged when the next byte arrives (or at [`BodyChecker::finish`]).
#[derive(Debug, Clone)]
pub struct BodyChecker {
    limits: BodyLimits,
    /// Octets seen so far.
    size: u64,
    /// Octets of the current line so far, its CR and LF included.
    line_len: usize,
    /// The last octet seen was a CR whose LF has not arrived yet.
    pending_cr: bool,
    /// A bit per [`DataViolation`] seen.
    seen: u8,
}

impl BodyChecker {
    /// A checker at the start of a body.
    pub fn new(limits: BodyLimits) -> Self {
        Self {
            limits,
            size: 0,
            line_len: 0,
            pending_cr: false,
            seen: 0,
        }
    }

    /// Checks the next piece of the body.
    pub fn check(&mut self, mut bytes: &[u8]) {
        self.size = self.size.saturating_add(bytes.len() as u64);
        if self.size > self.limits.max_size {
            self.flag(DataViolation::TooBig);
        }
        while !bytes.is_empty() {
            // Ordinary octets in bulk, then one special octet at a time.
            let run = bytes
                .iter()
                .position(|&b| matches!(b, b'\r' | b'\n' | 0))
                .unwrap_or(bytes.len());
            if run > 0 {
                if self.pending_cr {
                    self.flag(DataViolation::BareLineEnding);
                    self.pending_cr = false;
                }
                self.line_len = self.line_len.saturating_add(run);
            }
            let Some((&b, rest)) = bytes.get(run..).and_then(<[u8]>::split_first) else {
                break;
            };
            bytes = rest;
            self.line_len = self.line_len.saturating_add(1);
            match b {
                b'\n' => {
                    if !self.pending_cr {
                        self.flag(DataViolation::BareLineEnding);
                    }
                    self.pending_cr = false;
                    self.check_line_len();
                    self.line_len = 0;
                }
                b'\r' => {
                    if self.pending_cr {
                        self.flag(DataViolation::BareLineEnding);
                    }
                    self.pending_cr = true;
                }
                _ => {
                    self.flag(DataViolation::Nul);
                    if self.pending_cr {
                        self.flag(DataViolation::BareLineEnding);
                        self.pending_cr = false;
                    }
                }
            }
        }
        self.check_line_len();
    }

    /// The worst violation so far (a CR still waiting for its LF is not counted yet). When several
    /// were seen, the order is: bare line ending, NUL, too big, line too long.
    pub fn violation(&self) -> Option<DataViolation> {
        DataViolation::ALL
            .into_iter()
            .find(|v| self.seen & v.bit() != 0)
    }

    /// Marks the body as refused for a reason found outside it (e.g. [`DataViolation::NoStorage`]).
    pub fn refuse(&mut self, violation: DataViolation) {
        self.flag(violation);
    }

    /// Ends the body: a CR at the very end is bare. Returns the worst violation.
    pub fn finish(&mut self) -> Option<DataViolation> {
        if self.pending_cr {
            self.flag(DataViolation::BareLineEnding);
            self.pending_cr = false;
        }
        self.check_line_len();
        self.violation()
    }

    /// Octets checked so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn check_line_len(&mut self) {
        if self.line_len > self.limits.max_line {
            self.flag(DataViolation::LineTooLong);
        }
    }

    fn flag(&mut self, v: DataViolation) {
        self.seen |= v.bit();
    }
}

/// Checks a complete body in one call (what [`BodyChecker`] does over pieces).
pub fn check_body(body: &[u8], limits: BodyLimits) -> Result<(), DataViolation> {
    let mut checker = BodyChecker::new(limits);
    checker.check(body);
    match checker.finish() {
        Some(v) => Err(v),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: BodyLimits = BodyLimits {
        max_size: 1000,
        max_line: 20,
    };

    #[test]
    fn table_of_bodies() {
        use DataViolation::*;
        let long_line = format!("{}\r\n", "x".repeat(18)); // 20 octets with CRLF: allowed
        let too_long = format!("{}\r\n", "x".repeat(19));
        let cases: &[(&[u8], Result<(), DataViolation>)] = &[
            (b"", Ok(())),
            (b"a\r\nb\r\n", Ok(())),
            (b"no final line ending", Ok(())),
            (long_line.as_bytes(), Ok(())),
            (too_long.as_bytes(), Err(LineTooLong)),
            (b"a\nb\r\n", Err(BareLineEnding)),
            (b"a\rb\r\n", Err(BareLineEnding)),
            (b"a\r\r\n", Err(BareLineEnding)),
            (b"a\r\n\n", Err(BareLineEnding)),
            (b"a\r", Err(BareLineEnding)),
            (b"\n", Err(BareLineEnding)),
            (b"a\0b\r\n", Err(Nul)),
            (b"\r\0\n", Err(BareLineEnding)),
            (b"a\0\nb", Err(BareLineEnding)),
        ];
        for (body, want) in cases {
            assert_eq!(
                check_body(body, LIMITS),
                *want,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn size_limit_counts_every_octet() {
        let limits = BodyLimits {
            max_size: 6,
            max_line: 1000,
        };
        assert_eq!(
            check_body(b"ab\r\nc\r", limits),
            Err(DataViolation::BareLineEnding)
        );
        assert_eq!(check_body(b"ab\r\ncd", limits), Ok(()));
        assert_eq!(
            check_body(b"ab\r\ncd\r\n", limits),
            Err(DataViolation::TooBig)
        );
    }

    #[test]
    fn unterminated_long_line_is_caught_before_its_end() {
        let mut c = BodyChecker::new(LIMITS);
        c.check(&[b'x'; 21]);
        assert_eq!(c.violation(), Some(DataViolation::LineTooLong));
    }

    #[test]
    fn crlf_straddling_pieces_is_fine_and_a_lone_cr_is_judged_later() {
        let mut c = BodyChecker::new(LIMITS);
        c.check(b"abc\r");
        assert_eq!(c.violation(), None);
        c.check(b"\ndef\r");
        assert_eq!(c.violation(), None);
        c.check(b"x");
        assert_eq!(c.violation(), Some(DataViolation::BareLineEnding));
    }

    #[test]
    fn byte_by_byte_matches_one_piece() {
        let bodies: &[&[u8]] = &[
            b"a\r\nb\r\n",
            b"a\r\rb\n",
            b"\0\r\n",
            b"x\r",
            b"xxxxxxxxxxxxxxxxxxxxxxxxxx\r\n",
        ];
        for body in bodies {
            let mut c = BodyChecker::new(LIMITS);
            for b in *body {
                c.check(std::slice::from_ref(b));
            }
            assert_eq!(c.finish(), check_body(body, LIMITS).err(), "{body:?}");
        }
    }

    #[test]
    fn worst_violation_wins() {
        let mut c = BodyChecker::new(BodyLimits {
            max_size: 2,
            max_line: 2,
        });
        c.check(b"abc\0");
        assert_eq!(c.violation(), Some(DataViolation::Nul));
        c.check(b"\n");
        assert_eq!(c.violation(), Some(DataViolation::BareLineEnding));
    }

    #[test]
    fn replies() {
        assert_eq!(
            DataViolation::BareLineEnding.reply(),
            Reply::BARE_LINE_ENDING
        );
        assert_eq!(DataViolation::Nul.reply(), Reply::NUL_IN_DATA);
        assert_eq!(DataViolation::TooBig.reply(), Reply::MESSAGE_TOO_BIG);
        assert_eq!(
            DataViolation::LineTooLong.reply(),
            Reply::MESSAGE_LINE_TOO_LONG
        );
    }
}
