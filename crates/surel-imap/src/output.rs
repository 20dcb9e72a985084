//! Where a command's responses go: a buffer that the FETCH path may spill to the socket while it
//! works, so `FETCH 1:* BODY[]` over a mailbox of many large messages holds about one message
//! and [`SPILL_AT`] in memory instead of the whole answer.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Output is spilled to the socket once this much is waiting.
pub const SPILL_AT: usize = 1 << 20;

/// A sink the driver lends for the length of one command.
pub type Sink<'a> = &'a mut (dyn AsyncWrite + Unpin + Send);

/// The response buffer of one command. Dereferences to the `Vec<u8>` every writer appends to.
pub struct Output<'a> {
    buf: Vec<u8>,
    sink: Option<(Sink<'a>, Duration)>,
    failed: bool,
}

impl Output<'static> {
    /// Collects everything in memory (tests, and callers that write it out later).
    pub fn buffer() -> Self {
        Self {
            buf: Vec::new(),
            sink: None,
            failed: false,
        }
    }
}

impl<'a> Output<'a> {
    /// Appends to `buf` (what is already waiting) and may spill into `sink`; each write must
    /// finish within `timeout`.
    pub fn streaming(buf: Vec<u8>, sink: Sink<'a>, timeout: Duration) -> Self {
        Self {
            buf,
            sink: Some((sink, timeout)),
            failed: false,
        }
    }

    /// Writes what is waiting if it is past [`SPILL_AT`]. A failed write (the client is gone or
    /// stopped reading) is remembered: later spills do nothing and [`Output::failed`] says so,
    /// so a long FETCH can stop early.
    pub async fn spill(&mut self) {
        if self.buf.len() < SPILL_AT || self.failed {
            return;
        }
        let Some((sink, timeout)) = self.sink.as_mut() else {
            return;
        };
        let written = tokio::time::timeout(*timeout, sink.write_all(&self.buf)).await;
        self.buf.clear();
        if !matches!(written, Ok(Ok(()))) {
            self.failed = true;
        }
    }

    /// True once a spill failed: the connection is unusable.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// What is still waiting to be written.
    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }
}

impl From<Output<'_>> for Vec<u8> {
    fn from(out: Output<'_>) -> Vec<u8> {
        out.buf
    }
}

impl Deref for Output<'_> {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.buf
    }
}

impl DerefMut for Output<'_> {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spills_past_the_threshold_and_keeps_small_output() {
        let mut sink: Vec<u8> = Vec::new();
        {
            let mut out = Output::streaming(b"* OK".to_vec(), &mut sink, Duration::from_secs(5));
            out.spill().await;
            assert_eq!(&out[..], b"* OK", "small output waits");
            out.extend_from_slice(&vec![b'x'; SPILL_AT]);
            out.spill().await;
            assert!(out.is_empty(), "spilled");
            assert!(!out.failed());
            out.extend_from_slice(b"tail");
            assert_eq!(out.into_inner(), b"tail");
        }
        assert_eq!(sink.len(), 4 + SPILL_AT);
    }

    #[tokio::test]
    async fn a_buffer_never_spills() {
        let mut out = Output::buffer();
        out.extend_from_slice(&vec![b'x'; SPILL_AT + 1]);
        out.spill().await;
        assert_eq!(out.len(), SPILL_AT + 1);
    }
}
