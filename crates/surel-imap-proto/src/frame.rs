//! Splits the client's byte stream into whole commands (lines plus literals).
//!
//! Invariants: bytes are moved out of the driver's buffer as soon as they are looked at, so the
//! framer holds at most one command (bounded by `Limits::command`) or, while discarding, a few
//! dozen octets; literal data is never scanned for line ends or read as a command.
use bytes::BytesMut;

use crate::encode::is_astring_char;

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

/// Enough of a discarded line's end to recognise a literal announcement (`~{u64::MAX+}\r`).
const TAIL: usize = 32;

/// Longer tags are not reported in error replies.
const MAX_TAG: usize = 64;

pub struct Framer {
    limits: Limits,
    /// The command so far: whole lines and literals, then the current partial line.
    cmd: Vec<u8>,
    /// Where the current line starts in `cmd`.
    line_start: usize,
    /// Literal octets still to copy (or skip, when discarding).
    literal: u64,
    /// The command is being thrown away (after TooBig or LineTooLong); `tail` keeps the end of
    /// the current line so a non-synchronising literal inside it can be skipped.
    discarding: bool,
    tail: Vec<u8>,
}

/// A literal announcement at the end of a line: its length (saturated) and whether the client
/// waits for a continuation request.
struct Announced {
    len: u64,
    sync: bool,
}

impl Framer {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            cmd: Vec::new(),
            line_start: 0,
            literal: 0,
            discarding: false,
            tail: Vec::new(),
        }
    }

    /// Takes what it can from `buf`. `None`: more bytes are needed.
    ///
    /// Every line is framed, blank ones too: an empty SASL response, or `DONE` ending IDLE, is
    /// read through the framer like a command and checked with [`crate::parse_sasl_response`]
    /// or [`crate::is_idle_done`].
    pub fn next(&mut self, buf: &mut BytesMut) -> Option<Framed> {
        loop {
            if self.literal > 0 {
                let take = usize::try_from(self.literal)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                if take == 0 {
                    return None;
                }
                let data = buf.split_to(take);
                if !self.discarding {
                    self.cmd.extend_from_slice(&data);
                }
                self.literal -= take as u64;
                continue;
            }
            if buf.is_empty() {
                return None;
            }
            let lf = buf.iter().position(|&b| b == b'\n');
            if self.discarding {
                let Some(lf) = lf else {
                    let data = buf.split();
                    self.keep_tail(&data);
                    return None;
                };
                let data = buf.split_to(lf + 1);
                self.keep_tail(&data);
                let tail = std::mem::take(&mut self.tail);
                match announced(line_content(&tail)) {
                    // The client sends these octets anyway: skip them, then the command's rest.
                    Some(Announced { len, sync: false }) => self.literal = len,
                    // It waits for `+`, which never comes; it has its tagged reply already.
                    Some(Announced { sync: true, .. }) | None => self.discarding = false,
                }
                continue;
            }
            let line_len = self.cmd.len() - self.line_start;
            // Checked before copying, so an overlong line is never held. A CR may precede the
            // LF (or still be waiting for it): allow one octet over.
            if line_len + lf.unwrap_or(buf.len()) > self.limits.line.saturating_add(1) {
                return Some(self.line_too_long(buf));
            }
            let Some(lf) = lf else {
                self.cmd.extend_from_slice(&buf.split());
                return None;
            };
            let data = buf.split_to(lf + 1);
            self.cmd.extend_from_slice(&data);
            let line = self.cmd.get(self.line_start..).unwrap_or_default();
            let content = line_content(line);
            if content.len() > self.limits.line {
                let skip = match announced(content) {
                    Some(Announced { len, sync: false }) => Some(len),
                    _ => None,
                };
                let tag = self.tag();
                self.reset();
                // A non-synchronising literal at its end is sent anyway: skip it and the rest.
                if let Some(len) = skip {
                    self.discarding = true;
                    self.literal = len;
                }
                return Some(Framed::LineTooLong { tag });
            }
            match announced(content) {
                Some(Announced { len, sync }) => {
                    let total = (self.cmd.len() as u64).saturating_add(len);
                    let start = usize::try_from(total).ok();
                    if len > self.limits.literal || total > self.limits.command || start.is_none() {
                        let tag = self.tag();
                        self.reset();
                        if !sync {
                            // RFC 7888 §4: the data follows regardless; skip it and the rest.
                            self.discarding = true;
                            self.literal = len;
                        }
                        return Some(Framed::TooBig { tag });
                    }
                    self.literal = len;
                    self.line_start = start.unwrap_or(usize::MAX);
                    if sync {
                        return Some(Framed::Continue);
                    }
                }
                None => {
                    if self.cmd.len() as u64 > self.limits.command {
                        let tag = self.tag();
                        self.reset();
                        return Some(Framed::TooBig { tag });
                    }
                    self.line_start = 0;
                    return Some(Framed::Command(std::mem::take(&mut self.cmd)));
                }
            }
        }
    }

    /// Starts discarding the current command; `buf` (not consumed) holds the rest of the line.
    fn line_too_long(&mut self, buf: &BytesMut) -> Framed {
        let tag = self.tag_with(buf);
        let from = self.cmd.len().saturating_sub(TAIL).max(self.line_start);
        let line = self.cmd.get(from..).unwrap_or_default().to_vec();
        self.reset();
        self.discarding = true;
        self.keep_tail(&line);
        Framed::LineTooLong { tag }
    }

    fn keep_tail(&mut self, data: &[u8]) {
        let data = data
            .get(data.len().saturating_sub(TAIL)..)
            .unwrap_or_default();
        self.tail.extend_from_slice(data);
        let excess = self.tail.len().saturating_sub(TAIL);
        self.tail.drain(..excess);
    }

    fn reset(&mut self) {
        self.cmd.clear();
        self.line_start = 0;
        self.literal = 0;
        self.discarding = false;
        self.tail.clear();
    }

    /// The tag of the command being framed, when its first line has one followed by a space.
    fn tag(&self) -> Option<String> {
        self.tag_with(&[])
    }

    /// The same, when the command so far is followed by `more` not yet taken.
    fn tag_with(&self, more: &[u8]) -> Option<String> {
        let mut head: Vec<u8> = self.cmd.iter().take(MAX_TAG + 1).copied().collect();
        let room = (MAX_TAG + 1).saturating_sub(head.len());
        head.extend(more.iter().take(room));
        let sp = head.iter().position(|&b| b == b' ')?;
        let tag = head.get(..sp)?;
        if tag.is_empty() || !tag.iter().all(|&b| is_astring_char(b) && b != b'+') {
            return None;
        }
        String::from_utf8(tag.to_vec()).ok()
    }
}

/// A line without its LF or CRLF.
fn line_content(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `{n}`, `{n+}`, `~{n}` or `~{n+}` at the end of a line (RFC 9051 literal, RFC 7888, RFC 3516).
fn announced(content: &[u8]) -> Option<Announced> {
    let inner = content.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let spec = inner.get(open + 1..)?;
    let (digits, sync) = match spec.strip_suffix(b"+") {
        Some(d) => (d, false),
        None => (spec, true),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let len = digits.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(Announced { len, sync })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        line: 64,
        literal: 100,
        command: 200,
    };

    /// Feeds `input` in pieces cut at `cuts`, collecting every output.
    fn run(limits: Limits, input: &[u8], piece: usize) -> Vec<Framed> {
        let mut framer = Framer::new(limits);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in input.chunks(piece.max(1)) {
            buf.extend_from_slice(chunk);
            while let Some(f) = framer.next(&mut buf) {
                out.push(f);
            }
            assert!(buf.is_empty(), "framer leaves nothing behind");
            assert!(framer.cmd.len() as u64 <= limits.command + limits.line as u64 + 2);
            assert!(framer.tail.len() <= TAIL);
        }
        out
    }

    /// Every split in two at every boundary and one byte at a time give the same frames.
    fn frames(limits: Limits, input: &[u8]) -> Vec<Framed> {
        let whole = run(limits, input, input.len());
        assert_eq!(run(limits, input, 1), whole, "byte at a time");
        for cut in 1..input.len() {
            let mut framer = Framer::new(limits);
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            for part in [&input[..cut], &input[cut..]] {
                buf.extend_from_slice(part);
                while let Some(f) = framer.next(&mut buf) {
                    out.push(f);
                }
            }
            assert_eq!(out, whole, "cut at {cut}");
        }
        whole
    }

    fn cmd(s: &[u8]) -> Framed {
        Framed::Command(s.to_vec())
    }

    fn tag(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn simple_and_pipelined() {
        let out = frames(LIMITS, b"a NOOP\r\nb CAPABILITY\nc LOGOUT\r\n");
        assert_eq!(
            out,
            vec![
                cmd(b"a NOOP\r\n"),
                cmd(b"b CAPABILITY\n"),
                cmd(b"c LOGOUT\r\n")
            ]
        );
    }

    #[test]
    fn incomplete_is_none() {
        assert_eq!(frames(LIMITS, b"a NOOP"), vec![]);
        assert_eq!(frames(LIMITS, b"a LOGIN {3}\r\nab"), vec![Framed::Continue]);
    }

    #[test]
    fn blank_lines_are_framed() {
        // An empty line is an empty SASL response; as a command `parse_command` refuses it.
        assert_eq!(
            frames(LIMITS, b"\r\n\na NOOP\r\n"),
            vec![cmd(b"\r\n"), cmd(b"\n"), cmd(b"a NOOP\r\n")]
        );
    }

    #[test]
    fn synchronising_literal() {
        let input = b"a LOGIN {4}\r\nfred {3}\r\nx\r\n\r\nb NOOP\r\n";
        assert_eq!(
            frames(LIMITS, input),
            vec![
                Framed::Continue,
                Framed::Continue,
                cmd(b"a LOGIN {4}\r\nfred {3}\r\nx\r\n\r\n"),
                cmd(b"b NOOP\r\n"),
            ]
        );
    }

    #[test]
    fn literal_data_is_not_scanned() {
        let input = b"a APPEND x {10+}\r\n{5}\r\n\r\n{1}\r\n\r\nb NOOP\r\n";
        assert_eq!(
            frames(LIMITS, input),
            vec![
                cmd(b"a APPEND x {10+}\r\n{5}\r\n\r\n{1}\r\n"),
                cmd(b"\r\n"),
                cmd(b"b NOOP\r\n")
            ]
        );
    }

    #[test]
    fn literal_kinds() {
        let input =
            b"a APPEND x ~{3+}\r\n\0\x01\x02\r\nb APPEND y UTF8 (~{2}\r\nhi)\r\nc X {0}\r\n\r\n";
        assert_eq!(
            frames(LIMITS, input),
            vec![
                cmd(b"a APPEND x ~{3+}\r\n\0\x01\x02\r\n"),
                Framed::Continue,
                cmd(b"b APPEND y UTF8 (~{2}\r\nhi)\r\n"),
                Framed::Continue,
                cmd(b"c X {0}\r\n\r\n"),
            ]
        );
    }

    #[test]
    fn too_big_synchronising_literal_discards_command() {
        // The client does not send the data; its next line is the next command.
        let input = b"a APPEND x {101}\r\nb NOOP\r\n";
        assert_eq!(
            frames(LIMITS, input),
            vec![Framed::TooBig { tag: tag("a") }, cmd(b"b NOOP\r\n")]
        );
    }

    #[test]
    fn too_big_non_synchronising_literal_is_skipped() {
        let mut input = b"a APPEND x {150+}\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'\n', 150));
        input.extend_from_slice(b" more {2+}\r\nzz rest\r\nb NOOP\r\n");
        assert_eq!(
            frames(LIMITS, &input),
            vec![Framed::TooBig { tag: tag("a") }, cmd(b"b NOOP\r\n")]
        );
    }

    #[test]
    fn huge_announcement() {
        let input = b"t1 APPEND x {99999999999999999999999}\r\nb NOOP\r\n";
        assert_eq!(
            frames(LIMITS, input),
            vec![Framed::TooBig { tag: tag("t1") }, cmd(b"b NOOP\r\n")]
        );
    }

    #[test]
    fn command_over_limit() {
        // Each literal fits, the sum does not.
        let mut input = Vec::new();
        input.extend_from_slice(b"a X {90+}\r\n");
        input.extend(std::iter::repeat_n(b'x', 90));
        input.extend_from_slice(b" {90+}\r\n");
        input.extend(std::iter::repeat_n(b'y', 90));
        input.extend_from_slice(b" {90+}\r\n");
        input.extend(std::iter::repeat_n(b'z', 90));
        input.extend_from_slice(b"\r\nb NOOP\r\n");
        assert_eq!(
            frames(LIMITS, &input),
            vec![Framed::TooBig { tag: tag("a") }, cmd(b"b NOOP\r\n")]
        );
    }

    #[test]
    fn line_too_long() {
        let mut input = b"abc SEARCH ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend_from_slice(b"\r\nb NOOP\r\n");
        let out = frames(LIMITS, &input);
        assert_eq!(
            out,
            vec![Framed::LineTooLong { tag: tag("abc") }, cmd(b"b NOOP\r\n")]
        );
        // No tag readable.
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\nb NOOP\n");
        let out = frames(LIMITS, &input);
        assert_eq!(
            out,
            vec![Framed::LineTooLong { tag: None }, cmd(b"b NOOP\n")]
        );
    }

    #[test]
    fn line_exactly_at_limit() {
        let mut input = b"a ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 62));
        input.extend_from_slice(b"\r\n");
        assert_eq!(frames(LIMITS, &input), vec![cmd(&input)]);
        let mut over = b"a ".to_vec();
        over.extend(std::iter::repeat_n(b'x', 63));
        over.extend_from_slice(b"\r\n");
        assert_eq!(
            frames(LIMITS, &over),
            vec![Framed::LineTooLong { tag: tag("a") }]
        );
    }

    #[test]
    fn long_line_with_literal_plus_skips_its_data() {
        let mut input = b"a X ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend_from_slice(b" {5+}\r\nb NOO\r\n");
        input.extend_from_slice(b"c NOOP\r\n");
        assert_eq!(
            frames(LIMITS, &input),
            vec![Framed::LineTooLong { tag: tag("a") }, cmd(b"c NOOP\r\n")]
        );
    }

    #[test]
    fn bad_tag_not_reported() {
        let mut input = b"a+b X ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.push(b'\n');
        assert_eq!(
            frames(LIMITS, &input),
            vec![Framed::LineTooLong { tag: None }]
        );
    }
    #[test]
    fn overlong_line_in_one_read_is_never_copied() {
        let mut framer = Framer::new(LIMITS);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(b"t9 APPEND x ");
        buf.extend(std::iter::repeat_n(b'y', 1 << 20));
        buf.extend_from_slice(b"\r\nb NOOP\r\n");
        assert_eq!(
            framer.next(&mut buf),
            Some(Framed::LineTooLong { tag: tag("t9") })
        );
        assert!(framer.cmd.capacity() <= LIMITS.line + 2);
        assert_eq!(framer.next(&mut buf), Some(cmd(b"b NOOP\r\n")));
        assert_eq!(framer.next(&mut buf), None);
        assert!(framer.cmd.capacity() <= LIMITS.line + 2);
    }
}
