//! BDAT chunks (RFC 3030 CHUNKING): exactly `size` raw octets per command, no dot-stuffing.
//!
//! We announce CHUNKING but not BINARYMIME, so the chunks together must still be CRLF-lined text:
//! the same [`BodyChecker`] as DATA runs over the concatenated chunks, with a CRLF allowed to
//! straddle two chunks.

use crate::body::{BodyChecker, BodyLimits, DataViolation};

/// What [`BdatDecoder::feed`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BdatProgress {
    /// All input was consumed; the chunk has more octets to come.
    NeedMore,
    /// The current chunk is complete after `consumed` octets of this input; the rest is the
    /// client's next command. RFC 3030 §2: a failed chunk is still read whole before the reply.
    ChunkDone {
        /// Octets of this call's input that belonged to the chunk.
        consumed: usize,
        /// The chunk was announced with LAST: the message is complete.
        last: bool,
        /// What is wrong with the message so far (for the last chunk: with the message as a whole).
        violation: Option<DataViolation>,
    },
}

/// Accumulates the chunks of one message.
///
/// ```
/// use surel_smtp_proto::{BdatDecoder, BdatProgress, BodyLimits};
/// let mut dec = BdatDecoder::new(BodyLimits { max_size: 1 << 20, max_line: 1000 });
/// dec.start_chunk(6, false);                        // BDAT 6
/// assert_eq!(dec.feed(b"a\r\nb\r"), BdatProgress::NeedMore);
/// let done = BdatProgress::ChunkDone { consumed: 1, last: false, violation: None };
/// assert_eq!(dec.feed(b"\nBDAT"), done);
/// dec.start_chunk(0, true);                         // BDAT 0 LAST
/// assert_eq!(dec.feed(b""), BdatProgress::ChunkDone { consumed: 0, last: true, violation: None });
/// assert_eq!(dec.into_message(), b"a\r\nb\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct BdatDecoder {
    checker: BodyChecker,
    /// Octets of the current chunk still to read.
    remaining: u64,
    /// The current chunk is the last one.
    last: bool,
    /// The message so far; emptied and no longer filled once a violation is seen.
    message: Vec<u8>,
}

impl BdatDecoder {
    /// A decoder for a new message, before its first BDAT.
    pub fn new(limits: BodyLimits) -> Self {
        Self {
            checker: BodyChecker::new(limits),
            remaining: 0,
            last: false,
            message: Vec::new(),
        }
    }

    /// Begins the chunk announced by `BDAT size [LAST]`.
    pub fn start_chunk(&mut self, size: u64, last: bool) {
        self.remaining = size;
        self.last = last;
    }

    /// Consumes octets of the current chunk from `input`. Returns `ChunkDone` once the chunk's
    /// `size` octets are in (at once for an empty chunk, or when no chunk was started).
    pub fn feed(&mut self, input: &[u8]) -> BdatProgress {
        let take = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(input.len());
        let (chunk, _) = input.split_at(take);
        self.checker.check(chunk);
        if self.checker.violation().is_none() {
            self.message.extend_from_slice(chunk);
        } else if self.message.capacity() > 0 {
            self.message = Vec::new();
        }
        self.remaining -= take as u64;
        if self.remaining > 0 {
            return BdatProgress::NeedMore;
        }
        let violation = if self.last {
            let v = self.checker.finish();
            if v.is_some() {
                self.message = Vec::new();
            }
            v
        } else {
            self.checker.violation()
        };
        BdatProgress::ChunkDone {
            consumed: take,
            last: self.last,
            violation,
        }
    }

    /// Octets received so far over all chunks, counted even past the size limit.
    pub fn size(&self) -> u64 {
        self.checker.size()
    }

    /// The violation seen so far, if any.
    pub fn violation(&self) -> Option<DataViolation> {
        self.checker.violation()
    }

    /// The message as received. Complete only after the LAST chunk without a violation.
    pub fn into_message(self) -> Vec<u8> {
        self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: BodyLimits = BodyLimits {
        max_size: 100,
        max_line: 20,
    };

    #[test]
    fn exact_size_is_taken_and_the_rest_left() {
        let mut dec = BdatDecoder::new(LIMITS);
        dec.start_chunk(5, true);
        assert_eq!(
            dec.feed(b"ab\r\n\nQUIT\r\n"),
            BdatProgress::ChunkDone {
                consumed: 5,
                last: true,
                violation: Some(DataViolation::BareLineEnding)
            }
        );
        assert!(dec.into_message().is_empty());
    }

    #[test]
    fn no_dot_stuffing_and_no_end_marker() {
        let mut dec = BdatDecoder::new(LIMITS);
        dec.start_chunk(8, true);
        assert_eq!(dec.feed(b"..\r\n.\r\n"), BdatProgress::NeedMore);
        assert_eq!(
            dec.feed(b"x"),
            BdatProgress::ChunkDone {
                consumed: 1,
                last: true,
                violation: None
            }
        );
        assert_eq!(dec.into_message(), b"..\r\n.\r\nx");
    }

    #[test]
    fn crlf_across_chunks_is_fine_but_a_cr_at_the_very_end_is_not() {
        let mut dec = BdatDecoder::new(LIMITS);
        dec.start_chunk(2, false);
        assert_eq!(
            dec.feed(b"a\r"),
            BdatProgress::ChunkDone {
                consumed: 2,
                last: false,
                violation: None
            }
        );
        dec.start_chunk(3, true);
        assert_eq!(
            dec.feed(b"\nb\r"),
            BdatProgress::ChunkDone {
                consumed: 3,
                last: true,
                violation: Some(DataViolation::BareLineEnding)
            }
        );
    }

    #[test]
    fn byte_by_byte_and_limits() {
        let mut dec = BdatDecoder::new(LIMITS);
        dec.start_chunk(101, true);
        for _ in 0..100 {
            assert_eq!(dec.feed(b"x"), BdatProgress::NeedMore);
        }
        // 100 octets fit the size limit; the line is already too long.
        assert_eq!(dec.violation(), Some(DataViolation::LineTooLong));
        assert_eq!(
            dec.feed(b"xyz"),
            BdatProgress::ChunkDone {
                consumed: 1,
                last: true,
                violation: Some(DataViolation::TooBig)
            }
        );
        assert_eq!(dec.size(), 101);
    }

    #[test]
    fn smuggling_sequences_are_refused_in_bdat_too() {
        for seq in [
            &b"\n.\n"[..],
            b"\r.\r",
            b"\r\n.\n",
            b"\n.\r\n",
            b"\r\n\0.\r\n",
        ] {
            let mut body = b"Subject: x\r\n\r\nbody\r\n".to_vec();
            body.extend_from_slice(seq);
            body.extend_from_slice(b"more\r\n");
            let mut dec = BdatDecoder::new(LIMITS);
            dec.start_chunk(body.len() as u64, true);
            match dec.feed(&body) {
                BdatProgress::ChunkDone { violation, .. } => {
                    assert!(
                        matches!(
                            violation,
                            Some(DataViolation::BareLineEnding | DataViolation::Nul)
                        ),
                        "{seq:?}"
                    )
                }
                BdatProgress::NeedMore => panic!("chunk not complete"),
            }
        }
    }

    #[test]
    fn feeding_without_a_chunk_consumes_nothing() {
        let mut dec = BdatDecoder::new(LIMITS);
        assert_eq!(
            dec.feed(b"MAIL"),
            BdatProgress::ChunkDone {
                consumed: 0,
                last: false,
                violation: None
            }
        );
    }
}
