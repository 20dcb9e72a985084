//! The message text of RETR and TOP on the wire: CRLF line endings, dot-stuffed, terminated.

/// Encodes a message (or its TOP part) as RFC 1939 §3 multi-line text, fed in pieces so a large
/// message is written as it is encoded.
///
/// Every line ends in CRLF on the wire: a bare LF or a bare CR in the stored text is written as
/// CRLF, and a last line without an ending gets one. A line starting with `.` gets another `.`
/// in front (byte-stuffing). [`BodyEncoder::finish`] writes the terminating `.` line.
#[derive(Clone, Debug)]
pub struct BodyEncoder {
    /// `Some(n)`: TOP, the header and then `n` body lines; `None`: the whole message (RETR).
    top: Option<u32>,
    at_line_start: bool,
    /// The last piece ended in CR: its line ends whatever comes next.
    pending_cr: bool,
    /// The current line has no octets yet (the empty line ends the header).
    line_empty: bool,
    in_header: bool,
    body_lines: u32,
    /// TOP has written all it should; further input is ignored.
    done: bool,
}

impl BodyEncoder {
    /// An encoder for the whole message (`None`, RETR) or its header and `n` body lines (TOP).
    pub fn new(top: Option<u32>) -> Self {
        Self {
            top,
            at_line_start: true,
            pending_cr: false,
            line_empty: true,
            in_header: true,
            body_lines: 0,
            done: false,
        }
    }

    /// Encodes the next piece of the message into `out`. Returns false once TOP needs no more.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> bool {
        while !self.done {
            let Some(&first) = input.first() else { break };
            if self.pending_cr {
                self.pending_cr = false;
                if first == b'\n' {
                    input = input.get(1..).unwrap_or(b"");
                }
                self.end_line(out);
                continue;
            }
            // RFC 1939 §3: a line starting with the termination octet is byte-stuffed.
            if self.at_line_start && first == b'.' {
                out.push(b'.');
            }
            match input.iter().position(|&b| b == b'\r' || b == b'\n') {
                None => {
                    out.extend_from_slice(input);
                    self.at_line_start = false;
                    self.line_empty = false;
                    break;
                }
                Some(p) => {
                    if p > 0 {
                        out.extend_from_slice(input.get(..p).unwrap_or(b""));
                        self.line_empty = false;
                    }
                    let ending = input.get(p).copied();
                    let after = input.get(p + 1).copied();
                    input = match (ending, after) {
                        (Some(b'\r'), Some(b'\n')) => input.get(p + 2..).unwrap_or(b""),
                        (Some(b'\r'), None) => {
                            self.at_line_start = false;
                            self.pending_cr = true;
                            break;
                        }
                        _ => input.get(p + 1..).unwrap_or(b""),
                    };
                    self.end_line(out);
                }
            }
        }
        !self.done
    }

    /// Ends the last line if it has no ending, and writes the terminating `.` line.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        if !self.done && (self.pending_cr || !self.at_line_start) {
            self.end_line(out);
        }
        out.extend_from_slice(b".\r\n");
    }

    fn end_line(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\r\n");
        if self.in_header {
            if self.line_empty {
                self.in_header = false;
                // RFC 1939 §7: TOP sends the header, the blank line, then n body lines.
                self.done = self.top == Some(0);
            }
        } else {
            self.body_lines = self.body_lines.saturating_add(1);
            self.done = self.top.is_some_and(|n| self.body_lines >= n);
        }
        self.at_line_start = true;
        self.line_empty = true;
    }
}

/// The size of a message as RETR sends it, before byte-stuffing and without the terminating
/// line: every line ending counted as CRLF (RFC 1939 §11: sizes are of the message with CRLF
/// line endings). For a stored message that already uses CRLF throughout, this is its length.
pub fn wire_size(message: &[u8]) -> u64 {
    let mut size = 0u64;
    let mut rest = message;
    loop {
        match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
            None => {
                size += rest.len() as u64;
                if !rest.is_empty() {
                    // The last line gets a CRLF it did not have.
                    size += 2;
                }
                return size;
            }
            Some(p) => {
                size += p as u64 + 2;
                let skip = match (rest.get(p), rest.get(p + 1)) {
                    (Some(b'\r'), Some(b'\n')) => p + 2,
                    _ => p + 1,
                };
                rest = rest.get(skip..).unwrap_or(b"");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(message: &[u8], top: Option<u32>, piece: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = BodyEncoder::new(top);
        for chunk in message.chunks(piece.max(1)) {
            if !enc.feed(chunk, &mut out) {
                break;
            }
        }
        enc.finish(&mut out);
        out
    }

    /// Undoes byte-stuffing and drops the terminating line, as a client does.
    fn unstuff(wire: &[u8]) -> Vec<u8> {
        let body = wire.strip_suffix(b".\r\n").unwrap();
        let mut out = Vec::new();
        for line in body.split_inclusive(|&b| b == b'\n') {
            out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        }
        out
    }

    const MSG: &[u8] =
        b"Subject: hi\r\nFrom: a@b\r\n\r\nline 1\r\n.line 2\r\n..\r\n.\r\nline 5\r\n";

    #[test]
    fn retr_stuffs_dots_and_terminates() {
        for piece in [1, 2, 3, 7, 1000] {
            let wire = encode(MSG, None, piece);
            assert_eq!(
                wire,
                b"Subject: hi\r\nFrom: a@b\r\n\r\nline 1\r\n..line 2\r\n...\r\n..\r\nline 5\r\n.\r\n",
                "piece {piece}"
            );
            assert_eq!(unstuff(&wire), MSG);
            assert_eq!(wire_size(MSG), MSG.len() as u64);
        }
    }

    #[test]
    fn bare_line_endings_become_crlf_and_match_wire_size() {
        let table: &[(&[u8], &[u8])] = &[
            (b"a\nb\n", b"a\r\nb\r\n.\r\n"),
            (b"a\rb\r", b"a\r\nb\r\n.\r\n"),
            (b"a\r\r\nb", b"a\r\n\r\nb\r\n.\r\n"),
            (b"no ending", b"no ending\r\n.\r\n"),
            (b"", b".\r\n"),
            (b".", b"..\r\n.\r\n"),
            (b"\n.\n", b"\r\n..\r\n.\r\n"),
        ];
        for (stored, want) in table {
            for piece in [1, 2, 100] {
                let wire = encode(stored, None, piece);
                assert_eq!(&wire, want, "{} piece {piece}", stored.escape_ascii());
                assert_eq!(
                    unstuff(&wire).len() as u64,
                    wire_size(stored),
                    "{}",
                    stored.escape_ascii()
                );
            }
        }
    }

    #[test]
    fn top_sends_header_blank_line_and_n_body_lines() {
        for piece in [1, 3, 1000] {
            assert_eq!(
                encode(MSG, Some(0), piece),
                b"Subject: hi\r\nFrom: a@b\r\n\r\n.\r\n"
            );
            assert_eq!(
                encode(MSG, Some(2), piece),
                b"Subject: hi\r\nFrom: a@b\r\n\r\nline 1\r\n..line 2\r\n.\r\n"
            );
            assert_eq!(encode(MSG, Some(99), piece), encode(MSG, None, piece));
        }
        // A message with no body: TOP sends what there is.
        assert_eq!(
            encode(b"Subject: x\r\n", Some(0), 4),
            b"Subject: x\r\n.\r\n"
        );
    }
}
