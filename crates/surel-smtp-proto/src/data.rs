//! DATA framing (RFC 5321 §4.1.1.4, §4.5.2): find `<CRLF>.<CRLF>`, remove dot-stuffing, and check
//! the content as it goes.
//!
//! Written here rather than taken from smtp-proto's `DataReceiver`: that receiver treats the first
//! line as if no CRLF came before it (so `".\r\n"` right after 354 is not the end, and a leading
//! `".."` is not un-stuffed) and it does not refuse bare LF, which is what SMTP smuggling needs.
//! Here the end of data is exactly CR LF "." CR LF, where the start of the data counts as a CRLF,
//! and nothing else: a bare CR or LF never starts a line.

use crate::body::{BodyChecker, BodyLimits, DataViolation};

/// Where the decoder stands between calls to [`DataDecoder::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Right after a CRLF (or at the start): a `.` here is stuffing or the end.
    LineStart,
    /// Inside a line.
    Text,
    /// Inside a line, just after a CR (not yet written out).
    Cr,
    /// After a `.` at the start of a line (dropped).
    Dot,
    /// After `.` CR at the start of a line: an LF now ends the data.
    DotCr,
    /// `<CRLF>.<CRLF>` was seen.
    Done,
}

/// What [`DataDecoder::feed`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataProgress {
    /// All input was consumed; the end of data has not come yet.
    NeedMore,
    /// The end of data was found; `consumed` octets of this input (through the final LF) belong
    /// to the message, the rest is the client's next command. With a violation the message must
    /// not be stored: answer `violation.reply()` and go on reading commands.
    Done {
        /// Octets of this call's input used, `<CRLF>.<CRLF>` included.
        consumed: usize,
        /// What was wrong, if anything.
        violation: Option<DataViolation>,
    },
}

/// Resumable DATA decoder: feed it whatever arrives after `354`, in any chunks.
///
/// ```
/// use surel_smtp_proto::{BodyLimits, DataDecoder, DataProgress};
/// let mut dec = DataDecoder::new(BodyLimits { max_size: 1 << 20, max_line: 1000 });
/// assert_eq!(dec.feed(b"Subject: hi\r\n\r\n..dot\r\n"), DataProgress::NeedMore);
/// assert_eq!(dec.feed(b".\r\nQUIT\r\n"), DataProgress::Done { consumed: 3, violation: None });
/// assert_eq!(dec.into_message(), b"Subject: hi\r\n\r\n.dot\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct DataDecoder {
    state: State,
    checker: BodyChecker,
    /// The un-stuffed message; emptied and no longer filled once a violation is seen.
    message: Vec<u8>,
}

impl DataDecoder {
    /// A decoder positioned right after the 354 reply.
    pub fn new(limits: BodyLimits) -> Self {
        Self {
            state: State::LineStart,
            checker: BodyChecker::new(limits),
            message: Vec::new(),
        }
    }

    /// Consumes `input` up to the end of data (see [`DataProgress`]). After `Done`, further calls
    /// consume nothing and repeat `Done`.
    pub fn feed(&mut self, input: &[u8]) -> DataProgress {
        let mut i = 0;
        while let Some(rest) = input.get(i..).filter(|r| !r.is_empty()) {
            let (state, used) = match self.state {
                State::Done => break,
                State::LineStart => match rest.first() {
                    // RFC 5321 §4.5.2: a leading dot is removed.
                    Some(b'.') => (State::Dot, 1),
                    _ => (State::Text, 0),
                },
                State::Text => match rest.iter().position(|&b| b == b'\r') {
                    Some(cr) => {
                        self.emit(rest.get(..cr).unwrap_or_default());
                        (State::Cr, cr + 1)
                    }
                    None => {
                        self.emit(rest);
                        (State::Text, rest.len())
                    }
                },
                State::Cr => match rest.first() {
                    Some(b'\n') => {
                        self.emit(b"\r\n");
                        (State::LineStart, 1)
                    }
                    // A bare CR: written out for the checker to flag; this octet is read as text.
                    _ => {
                        self.emit(b"\r");
                        (State::Text, 0)
                    }
                },
                State::Dot => match rest.first() {
                    Some(b'\r') => (State::DotCr, 1),
                    _ => (State::Text, 0),
                },
                State::DotCr => match rest.first() {
                    Some(b'\n') => (State::Done, 1),
                    _ => {
                        self.emit(b"\r");
                        (State::Text, 0)
                    }
                },
            };
            self.state = state;
            i += used;
            if state == State::Done {
                return DataProgress::Done {
                    consumed: i,
                    violation: self.checker.violation(),
                };
            }
        }
        if self.state == State::Done {
            DataProgress::Done {
                consumed: 0,
                violation: self.checker.violation(),
            }
        } else {
            DataProgress::NeedMore
        }
    }

    /// Gives the message up (e.g. no memory for it): stops buffering and frees what was kept,
    /// while framing goes on to the end of data so the connection stays in step. `Done` then
    /// reports `violation` unless a worse one was seen.
    pub fn abandon(&mut self, violation: DataViolation) {
        self.checker.refuse(violation);
        self.message = Vec::new();
    }

    /// Octets of message content so far (after un-stuffing), counted even past the size limit.
    pub fn size(&self) -> u64 {
        self.checker.size()
    }

    /// The violation seen so far, if any.
    pub fn violation(&self) -> Option<DataViolation> {
        self.checker.violation()
    }

    /// The message, lines ending in CRLF, dot-stuffing removed, without the final `.` line.
    /// Complete only after `Done` without a violation; empty after a violation.
    pub fn into_message(self) -> Vec<u8> {
        self.message
    }

    fn emit(&mut self, bytes: &[u8]) {
        self.checker.check(bytes);
        if self.checker.violation().is_none() {
            self.message.extend_from_slice(bytes);
        } else if self.message.capacity() > 0 {
            // The message will not be stored: give the memory back and stop buffering.
            self.message = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: BodyLimits = BodyLimits {
        max_size: 10_000,
        max_line: 1000,
    };

    /// Feeds `input` in one piece and byte by byte; both must agree. Returns (consumed, violation,
    /// message).
    fn decode(input: &[u8], limits: BodyLimits) -> Option<(usize, Option<DataViolation>, Vec<u8>)> {
        let mut whole = DataDecoder::new(limits);
        let one = match whole.feed(input) {
            DataProgress::Done {
                consumed,
                violation,
            } => Some((consumed, violation, whole.into_message())),
            DataProgress::NeedMore => None,
        };
        let mut dec = DataDecoder::new(limits);
        let mut bytewise = None;
        for (i, b) in input.iter().enumerate() {
            match dec.feed(std::slice::from_ref(b)) {
                DataProgress::NeedMore => {}
                DataProgress::Done {
                    consumed,
                    violation,
                } => {
                    assert_eq!(consumed, 1);
                    bytewise = Some((i + 1, violation, dec.into_message()));
                    break;
                }
            }
        }
        assert_eq!(
            one,
            bytewise,
            "one chunk and byte-by-byte disagree on {:?}",
            String::from_utf8_lossy(input)
        );
        one
    }

    #[test]
    fn table_of_rfc_5321_examples() {
        // (input after 354, consumed, message)
        let cases: &[(&[u8], usize, &[u8])] = &[
            (b".\r\n", 3, b""),
            (b".\r\nQUIT\r\n", 3, b""),
            (b"\r\n.\r\n", 5, b"\r\n"),
            (
                b"Subject: x\r\n\r\nbody\r\n.\r\n",
                23,
                b"Subject: x\r\n\r\nbody\r\n",
            ),
            (b"..x\r\n.\r\n", 8, b".x\r\n"),
            (b"a\r\n..\r\n.\r\n", 10, b"a\r\n.\r\n"),
            (b"a\r\n...\r\n.\r\n", 11, b"a\r\n..\r\n"),
            (b"a\r\n.b\r\n.\r\n", 10, b"a\r\nb\r\n"),
            (b"a.\r\n.\r\n", 7, b"a.\r\n"),
            (b"a\r\n. \r\n.\r\nMAIL", 10, b"a\r\n \r\n"),
        ];
        for (input, consumed, message) in cases {
            let got = decode(input, LIMITS).expect("Done");
            assert_eq!(
                got,
                (*consumed, None, message.to_vec()),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn first_line_is_preceded_by_crlf() {
        // The two cases smtp-proto's DataReceiver gets wrong.
        assert_eq!(decode(b".\r\n", LIMITS), Some((3, None, Vec::new())));
        assert_eq!(
            decode(b"..x\r\n.\r\n", LIMITS),
            Some((8, None, b".x\r\n".to_vec()))
        );
    }

    #[test]
    fn incomplete_input_needs_more() {
        for input in [
            &b""[..],
            b"abc",
            b"abc\r\n",
            b"abc\r\n.",
            b"abc\r\n.\r",
            b".",
            b".\r",
        ] {
            assert_eq!(decode(input, LIMITS), None, "{input:?}");
        }
    }

    #[test]
    fn done_is_sticky() {
        let mut dec = DataDecoder::new(LIMITS);
        assert_eq!(
            dec.feed(b".\r\n"),
            DataProgress::Done {
                consumed: 3,
                violation: None
            }
        );
        assert_eq!(
            dec.feed(b"more"),
            DataProgress::Done {
                consumed: 0,
                violation: None
            }
        );
    }

    #[test]
    fn smuggling_sequences_never_end_data() {
        // The corpus is part of the repository's shared test data; a missing file is a failure.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata/smtp-smuggling/eod-sequences.json"
        );
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let sequences = json["sequences"].as_array().expect("sequences array");
        assert!(
            sequences.len() >= 12,
            "expected the whole corpus, got {}",
            sequences.len()
        );
        for seq in sequences {
            let name = seq["name"].as_str().expect("name");
            let bytes = seq["bytes"].as_str().expect("bytes").as_bytes();
            let mut input = b"Subject: x\r\n\r\nbody\r\n".to_vec();
            input.extend_from_slice(bytes);
            input.extend_from_slice(b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nsmuggled\r\n");
            input.extend_from_slice(b"\r\n.\r\n");
            let (consumed, violation, message) =
                decode(&input, LIMITS).unwrap_or_else(|| panic!("{name}: no end"));
            assert_eq!(
                consumed,
                input.len(),
                "{name}: Done before the real <CRLF>.<CRLF>"
            );
            assert!(
                matches!(
                    violation,
                    Some(DataViolation::BareLineEnding | DataViolation::Nul)
                ),
                "{name}: accepted as a clean message ({violation:?})"
            );
            assert!(message.is_empty(), "{name}: a rejected message was kept");
        }
    }

    #[test]
    fn bare_line_endings_and_nul_are_reported_at_the_real_end() {
        use DataViolation::*;
        let cases: &[(&[u8], DataViolation)] = &[
            (b"a\nb\r\n.\r\n", BareLineEnding),
            (b"a\rb\r\n.\r\n", BareLineEnding),
            (b"a\r\r\n.\r\n", BareLineEnding),
            (b".\rx\r\n.\r\n", BareLineEnding),
            (b".\r\r\n.\r\n", BareLineEnding),
            (b"a\0\r\n.\r\n", Nul),
            (b"\n.\n.\r\n.\r\n", BareLineEnding),
        ];
        for (input, want) in cases {
            let (consumed, violation, _) = decode(input, LIMITS).expect("Done");
            assert_eq!(
                (consumed, violation),
                (input.len(), Some(*want)),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn too_big_stops_buffering_but_finds_the_end() {
        let limits = BodyLimits {
            max_size: 10,
            max_line: 1000,
        };
        let mut input = Vec::new();
        for _ in 0..100 {
            input.extend_from_slice(b"0123456789\r\n");
        }
        input.extend_from_slice(b".\r\nQUIT\r\n");
        let mut dec = DataDecoder::new(limits);
        let progress = dec.feed(&input);
        assert_eq!(
            progress,
            DataProgress::Done {
                consumed: input.len() - 6,
                violation: Some(DataViolation::TooBig)
            }
        );
        assert_eq!(dec.size(), 1200);
        assert!(dec.into_message().is_empty());
    }

    #[test]
    fn long_lines_are_reported() {
        let limits = BodyLimits {
            max_size: 100_000,
            max_line: 10,
        };
        let ok = b"12345678\r\n.\r\n"; // 10 octets with CRLF
        assert_eq!(decode(ok, limits).map(|d| d.1), Some(None));
        let long = b"123456789\r\n.\r\n";
        assert_eq!(
            decode(long, limits).map(|d| d.1),
            Some(Some(DataViolation::LineTooLong))
        );
        // An over-long line split across many feeds is still seen.
        let mut dec = DataDecoder::new(limits);
        for _ in 0..50 {
            assert_eq!(dec.feed(b"xxxx"), DataProgress::NeedMore);
        }
        assert_eq!(dec.violation(), Some(DataViolation::LineTooLong));
        assert_eq!(
            dec.feed(b"\r\n.\r\n"),
            DataProgress::Done {
                consumed: 5,
                violation: Some(DataViolation::LineTooLong)
            }
        );
    }

    #[test]
    fn pseudo_random_input_never_panics_and_consumed_is_bounded() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"\r\n.\0ab";
        for _ in 0..2000 {
            let len = (next() % 64) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let limits = BodyLimits {
                max_size: next() % 40,
                max_line: (next() % 20) as usize,
            };
            let mut dec = DataDecoder::new(limits);
            let mut fed = 0;
            let mut clean = false;
            for chunk in input.chunks(1 + (next() % 7) as usize) {
                if let DataProgress::Done {
                    consumed,
                    violation,
                } = dec.feed(chunk)
                {
                    assert!(consumed <= chunk.len());
                    fed += consumed;
                    let framed = &input[..fed];
                    assert!(
                        framed.ends_with(b"\r\n.\r\n") || framed == b".\r\n",
                        "{framed:?}"
                    );
                    clean = violation.is_none();
                    break;
                }
                fed += chunk.len();
            }
            if clean {
                // A message passed as clean is one the whole-body check accepts too.
                assert_eq!(crate::body::check_body(&dec.into_message(), limits), Ok(()));
            }
        }
    }

    #[test]
    fn abandoned_message_is_framed_to_its_end_and_refused() {
        let mut dec = DataDecoder::new(BodyLimits {
            max_size: 1000,
            max_line: 100,
        });
        assert_eq!(dec.feed(b"Subject: x\r\n\r\nbody"), DataProgress::NeedMore);
        dec.abandon(DataViolation::NoStorage);
        assert_eq!(
            dec.feed(b" more\r\n.\r\nQUIT\r\n"),
            DataProgress::Done {
                consumed: 10,
                violation: Some(DataViolation::NoStorage)
            }
        );
        assert!(dec.into_message().is_empty());
    }
}
