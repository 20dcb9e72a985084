//! Splits the client's byte stream into whole commands (lines plus literals). CONTRACT STUB.
use bytes::BytesMut;

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Longest line (without literals), octets.
    pub line: usize,
    /// Largest literal accepted (APPEND size limit).
    pub literal: u64,
    /// Largest whole command (lines + literals).
    pub command: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Framed {
    /// A whole command: its lines (with CRLF) and literal data, ready for `parse_command`.
    Command(Vec<u8>),
    /// A synchronising literal was announced and fits: the driver sends `+ Ready` and reads on.
    Continue,
    /// A literal over the limit (`{n}` never sent; `{n+}` skipped): answer `tag NO [TOOBIG]`
    /// (or BAD if no tag could be read). The rest of that command is discarded.
    TooBig { tag: Option<String> },
    /// A line over the limit: answer `tag BAD` (tag if readable); the rest of the line is
    /// discarded.
    LineTooLong { tag: Option<String> },
}

pub struct Framer {
    _limits: Limits,
}

impl Framer {
    pub fn new(limits: Limits) -> Self {
        Self { _limits: limits }
    }

    /// Takes what it can from `buf`. `None`: more bytes are needed.
    pub fn next(&mut self, _buf: &mut BytesMut) -> Option<Framed> {
        None
    }
}
