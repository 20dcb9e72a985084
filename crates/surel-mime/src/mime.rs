//! The MIME part tree of a message as offsets into its raw octets (RFC 2045, RFC 2046), and
//! the Content-Type / Content-Disposition parameter syntax.
//! Invariant: every offset lies within the raw message and `start <= header_end <= end`.

use crate::header;

/// Parts nested deeper than this are kept as opaque application/octet-stream leaves.
pub const MAX_DEPTH: usize = 64;

/// A message shows at most this many parts; delimiters after that are read as epilogue, so a
/// small message of nothing but delimiters cannot make us build a huge tree.
pub const MAX_PARTS: usize = 10_000;

/// A parsed `type/subtype; params` (also used for a disposition, with an empty subtype).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ContentType {
    /// Lower-cased.
    pub ty: Vec<u8>,
    /// Lower-cased.
    pub sub: Vec<u8>,
    /// Names and values as sent (quoted strings unquoted; RFC 2231 forms kept as they are).
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
}

impl ContentType {
    fn default_text() -> ContentType {
        ContentType {
            ty: b"text".to_vec(),
            sub: b"plain".to_vec(),
            params: vec![(b"charset".to_vec(), b"us-ascii".to_vec())],
        }
    }

    fn default_message() -> ContentType {
        ContentType {
            ty: b"message".to_vec(),
            sub: b"rfc822".to_vec(),
            params: Vec::new(),
        }
    }

    fn opaque() -> ContentType {
        ContentType {
            ty: b"application".to_vec(),
            sub: b"octet-stream".to_vec(),
            params: Vec::new(),
        }
    }

    pub(crate) fn param(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }
}

/// One node of the tree. For the top-level message `start` is 0 and the header is the message
/// header; for a multipart child it is the part's MIME header.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    pub start: usize,
    pub header_end: usize,
    pub end: usize,
    pub ctype: ContentType,
    pub kind: Kind,
    /// The MIME fields BODYSTRUCTURE shows, found in the one pass over the header.
    pub fields: MimeFields,
}

/// Where the value of each MIME field (the first of its name) sits in the raw message.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MimeFields {
    pub encoding: Option<(usize, usize)>,
    pub id: Option<(usize, usize)>,
    pub description: Option<(usize, usize)>,
    pub md5: Option<(usize, usize)>,
    pub disposition: Option<(usize, usize)>,
    pub language: Option<(usize, usize)>,
    pub location: Option<(usize, usize)>,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Leaf,
    Multipart(Vec<Part>),
    /// message/rfc822 or message/global: the embedded message. In an identity encoding it is
    /// parsed from the content; in any other (base64, quoted-printable, unknown) the content is
    /// not a message until decoded, and the embedded message is the still-encoded content read
    /// as a message without a header: an empty header (so an all-NIL ENVELOPE) and a
    /// text/plain us-ascii 7bit body over the raw content octets (see [`Part::encoded_message`]).
    /// Either way IMAP's body-type-msg (envelope, body, lines) can always be written.
    Message(Box<Part>),
}

impl Part {
    pub(crate) fn header<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        raw.get(self.start..self.header_end).unwrap_or_default()
    }

    pub(crate) fn body<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        raw.get(self.header_end..self.end).unwrap_or_default()
    }

    /// Whether this is a message/rfc822 or message/global part whose content is in a transfer
    /// encoding that is not an identity one: its embedded message is the header-less reading
    /// of the raw content, which BINARY of the part itself decodes.
    pub(crate) fn encoded_message(&self, raw: &[u8]) -> bool {
        matches!(self.kind, Kind::Message(_)) && !is_identity(self.encoding(raw).as_deref())
    }

    /// The Content-Transfer-Encoding, lower-cased, if the part names one.
    pub(crate) fn encoding(&self, raw: &[u8]) -> Option<Vec<u8>> {
        field(raw, self.fields.encoding)
            .map(|v| header::unfold(v).to_ascii_lowercase())
            .filter(|v| !v.is_empty())
    }
}

/// A field value located by [`MimeFields`].
pub(crate) fn field(raw: &[u8], at: Option<(usize, usize)>) -> Option<&[u8]> {
    let (start, end) = at?;
    raw.get(start..end)
}

/// Where the top-level header ends (after its blank line; the end of the message if it has
/// none), without parsing the rest.
pub(crate) fn header_end(raw: &[u8]) -> usize {
    let mut pos = 0;
    while pos < raw.len() {
        let rest = raw.get(pos..).unwrap_or_default();
        let next = header::find_lf(rest).map_or(raw.len(), |i| pos + i + 1);
        let line = raw.get(pos..next).unwrap_or_default();
        pos = next;
        if line == b"\n" || line == b"\r\n" {
            break;
        }
    }
    pos
}

/// The tree of the whole message.
pub(crate) fn parse(raw: &[u8]) -> Part {
    let mut parser = Parser {
        raw,
        stack: Vec::new(),
        parts: 0,
    };
    parser.entity(0, false, 0).0
}

fn is_identity(cte: Option<&[u8]>) -> bool {
    cte.is_none_or(|c| Encoding::of(c) == Encoding::Identity)
}

/// What a Content-Transfer-Encoding value asks of a decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// 7bit, 8bit, binary, and the spellings mailers make of them ("7-bit", "8 bit", "7bits").
    Identity,
    Base64,
    QuotedPrintable,
    Unknown,
}

impl Encoding {
    /// From a lower-cased, unfolded value.
    pub(crate) fn of(cte: &[u8]) -> Encoding {
        match cte {
            b"" | b"7bit" | b"8bit" | b"binary" => Encoding::Identity,
            b"base64" => Encoding::Base64,
            b"quoted-printable" => Encoding::QuotedPrintable,
            _ => {
                let letters: Vec<u8> = cte
                    .iter()
                    .copied()
                    .filter(u8::is_ascii_alphanumeric)
                    .collect();
                match letters.as_slice() {
                    b"7bit" | b"8bit" | b"7bits" | b"8bits" => Encoding::Identity,
                    _ => Encoding::Unknown,
                }
            }
        }
    }
}

/// A single pass over the message with the boundaries of the enclosing multiparts on a stack.
/// A line that starts with `--` and a boundary on the stack ends whatever part is open; the
/// innermost boundary is tried first. RFC 2046 §5.1.1 (note to implementors): a boundary
/// matches at the start of a line, whatever follows it.
struct Parser<'a> {
    raw: &'a [u8],
    stack: Vec<Vec<u8>>,
    /// Entities parsed so far, against [`MAX_PARTS`].
    parts: usize,
}

impl<'a> Parser<'a> {
    /// Where the line starting at `pos` ends, line end included.
    fn next_line(&self, pos: usize) -> usize {
        let rest = self.raw.get(pos..).unwrap_or_default();
        match header::find_lf(rest) {
            Some(i) => pos + i + 1,
            None => self.raw.len(),
        }
    }

    /// The stack index of the boundary the line at `pos` is a delimiter of, and whether it is
    /// the close delimiter.
    fn boundary_at(&self, pos: usize) -> Option<(usize, bool)> {
        let rest = self.raw.get(pos..)?.strip_prefix(b"--")?;
        self.stack.iter().enumerate().rev().find_map(|(i, b)| {
            rest.strip_prefix(b.as_slice())
                .map(|after| (i, after.starts_with(b"--")))
        })
    }

    /// `pos` moved back over the line end before it: that line end belongs to the delimiter.
    fn before_line_end(&self, pos: usize, floor: usize) -> usize {
        let mut end = pos;
        if end > floor && self.raw.get(end - 1) == Some(&b'\n') {
            end -= 1;
            if end > floor && self.raw.get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
        }
        end
    }

    /// Scans lines from `pos` to the next delimiter of any open multipart: (content end,
    /// position of the delimiter line or the end of the message).
    fn until_delimiter(&self, from: usize) -> (usize, usize) {
        if self.stack.is_empty() {
            return (self.raw.len(), self.raw.len());
        }
        let mut pos = from;
        while pos < self.raw.len() {
            if self.boundary_at(pos).is_some() {
                return (self.before_line_end(pos, from), pos);
            }
            pos = self.next_line(pos);
        }
        (self.raw.len(), self.raw.len())
    }

    /// One entity (a message or a body part) from `start`: the part, and where the delimiter
    /// line that ended it starts (the end of the message if none did).
    fn entity(&mut self, start: usize, in_digest: bool, depth: usize) -> (Part, usize) {
        let raw = self.raw;
        self.parts += 1;
        // The header ends after its blank line; a delimiter also ends it (and the part).
        let mut pos = start;
        let (header_end, stop) = loop {
            if pos >= raw.len() {
                break (raw.len(), None);
            }
            if self.boundary_at(pos).is_some() {
                break (self.before_line_end(pos, start), Some(pos));
            }
            let next = self.next_line(pos);
            let line = raw.get(pos..next).unwrap_or_default();
            pos = next;
            if line == b"\n" || line == b"\r\n" {
                break (next, None);
            }
        };
        let header = raw.get(start..header_end).unwrap_or_default();
        let mut ctype = None;
        let mut cte = None;
        let mut fields = MimeFields::default();
        for field in header::fields(header) {
            let Some(rest) = field
                .name
                .get(..8)
                .filter(|p| p.eq_ignore_ascii_case(b"content-"))
                .and(field.name.get(8..))
            else {
                continue;
            };
            let at = Some((
                start + field.value_at,
                start + field.value_at + field.value.len(),
            ));
            let slot = match rest.to_ascii_lowercase().as_slice() {
                b"type" => {
                    if ctype.is_none() {
                        // RFC 2045 §5.2: a Content-Type we cannot read counts as the default.
                        ctype = Some(parse_content_type(field.value));
                    }
                    continue;
                }
                b"transfer-encoding" => {
                    // A value that is not a token is no encoding at all: 7bit, as Dovecot says.
                    let value = header::unfold(field.value).to_ascii_lowercase();
                    if value.is_empty()
                        || value
                            .iter()
                            .any(|&b| b <= b' ' || b >= 0x7f || is_tspecial(b))
                    {
                        continue;
                    }
                    if cte.is_none() {
                        cte = Some(value);
                    }
                    &mut fields.encoding
                }
                b"id" => &mut fields.id,
                b"description" => &mut fields.description,
                b"md5" => &mut fields.md5,
                b"disposition" => &mut fields.disposition,
                b"language" => &mut fields.language,
                b"location" => &mut fields.location,
                _ => continue,
            };
            if slot.is_none() {
                *slot = at;
            }
        }
        let mut ctype = ctype.flatten().unwrap_or_else(|| {
            if in_digest {
                ContentType::default_message()
            } else {
                ContentType::default_text()
            }
        });
        let boundary = if ctype.ty == b"multipart" {
            match ctype.param("boundary").filter(|b| !b.is_empty()) {
                Some(b) => Some(b.to_vec()),
                None => {
                    // RFC 2046 §5.1.1: the boundary is required; without it the part is
                    // unreadable, and RFC 2045 §5.2 makes that text/plain.
                    ctype = ContentType::default_text();
                    None
                }
            }
        } else {
            None
        };
        let is_message =
            ctype.ty == b"message" && (ctype.sub == b"rfc822" || ctype.sub == b"global");
        let encoded = !is_identity(cte.as_deref());
        let mut part = Part {
            start,
            header_end,
            end: header_end,
            ctype,
            kind: Kind::Leaf,
            fields,
        };
        let deep = depth >= MAX_DEPTH;
        if deep && (boundary.is_some() || is_message) {
            part.ctype = ContentType::opaque();
        }
        let next = match (stop, boundary) {
            (Some(stop), Some(_)) if !deep => {
                part.kind = Kind::Multipart(vec![empty_part(header_end)]);
                stop
            }
            (Some(stop), None) if is_message && !deep => {
                part.kind = Kind::Message(Box::new(empty_part(header_end)));
                stop
            }
            (Some(stop), _) => stop,
            (None, Some(boundary)) if !deep => {
                let (children, end, next) = self.multipart(header_end, &boundary, &part, depth);
                part.kind = Kind::Multipart(children);
                part.end = end;
                next
            }
            (None, _) if is_message && encoded && !deep => {
                // Still body-type-msg: clients read "MESSAGE" "RFC822" as envelope, body and
                // lines whatever the encoding (Dovecot, too, always gives it an embedded
                // message). The embedded message is the still-encoded content read as a
                // message without a header; we look for no header fields in it (base64 has
                // none, and what quoted-printable shows is not yet the message's header, so
                // a "Subject:" line there would be a guess), hence an all-NIL ENVELOPE.
                self.parts += 1;
                let (end, next) = self.until_delimiter(header_end);
                part.end = end;
                let mut inner = empty_part(header_end);
                inner.end = end;
                part.kind = Kind::Message(Box::new(inner));
                next
            }
            (None, _) if is_message && !deep => {
                let (inner, next) = self.entity(header_end, false, depth + 1);
                part.end = inner.end;
                part.kind = Kind::Message(Box::new(inner));
                next
            }
            (None, _) => {
                let (end, next) = self.until_delimiter(header_end);
                part.end = end;
                next
            }
        };
        (part, next)
    }

    /// The body parts of a multipart whose body starts at `body_start`: (parts, body end,
    /// where the delimiter of an enclosing multipart that ended it starts).
    fn multipart(
        &mut self,
        body_start: usize,
        boundary: &[u8],
        part: &Part,
        depth: usize,
    ) -> (Vec<Part>, usize, usize) {
        let raw = self.raw;
        self.stack.push(boundary.to_vec());
        let mine = self.stack.len() - 1;
        let digest = part.ctype.sub == b"digest";
        let mut children = Vec::new();
        let mut closed = false;
        let mut pos = body_start;
        let (end, next) = loop {
            if pos >= raw.len() {
                break (raw.len(), raw.len());
            }
            match self.boundary_at(pos) {
                Some((i, close)) if i == mine && !closed => {
                    if close || self.parts >= MAX_PARTS {
                        // What follows is the epilogue, up to an enclosing delimiter.
                        closed = true;
                        pos = self.next_line(pos);
                    } else {
                        let (child, stop) = self.entity(self.next_line(pos), digest, depth + 1);
                        children.push(child);
                        pos = stop;
                    }
                }
                Some((i, _)) if i < mine => break (self.before_line_end(pos, body_start), pos),
                _ => pos = self.next_line(pos),
            }
        };
        self.stack.truncate(mine);
        if children.is_empty() {
            // IMAP's grammar needs at least one body part: show an empty text/plain one.
            children.push(empty_part(end));
        }
        (children, end, next)
    }
}

/// An empty text/plain part at `at`.
fn empty_part(at: usize) -> Part {
    Part {
        start: at,
        header_end: at,
        end: at,
        ctype: ContentType::default_text(),
        kind: Kind::Leaf,
        fields: MimeFields::default(),
    }
}

/// Parses a Content-Type value; `None` if it has no readable `type/subtype`.
pub(crate) fn parse_content_type(value: &[u8]) -> Option<ContentType> {
    let mut lx = Lexer { s: value, pos: 0 };
    let ty = lx.token()?.to_ascii_lowercase();
    lx.skip_cfws();
    if !lx.eat(b'/') {
        return None;
    }
    let sub = lx.token()?.to_ascii_lowercase();
    Some(ContentType {
        ty,
        sub,
        params: lx.params(),
    })
}

/// Parses a Content-Disposition value: the type (lower-cased) and its parameters.
pub(crate) fn parse_disposition(value: &[u8]) -> Option<ContentType> {
    let mut lx = Lexer { s: value, pos: 0 };
    let ty = lx.token()?.to_ascii_lowercase();
    Some(ContentType {
        ty,
        sub: Vec::new(),
        params: lx.params(),
    })
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

fn is_tspecial(b: u8) -> bool {
    b"()<>@,;:\\\"/[]?=".contains(&b)
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Whitespace, line ends and (nested) comments.
    fn skip_cfws(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'(' => depth += 1,
                b')' if depth > 0 => depth -= 1,
                b'\\' if depth > 0 => self.pos += 1,
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ if depth > 0 => {}
                _ => return,
            }
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Option<Vec<u8>> {
        self.skip_cfws();
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b <= b' ' || b == 0x7f || is_tspecial(b) {
                break;
            }
            self.pos += 1;
        }
        let t = self.s.get(start..self.pos).unwrap_or_default();
        (!t.is_empty()).then(|| t.to_vec())
    }

    fn quoted(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(c) = self.peek() {
                        out.push(c);
                        self.pos += 1;
                    }
                }
                b'\r' | b'\n' => {}
                _ => out.push(b),
            }
        }
        out
    }

    /// `*(";" attribute "=" value)`, leniently: a missing `;` is forgiven and what does not
    /// parse is skipped.
    fn params(&mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut params = Vec::new();
        loop {
            self.skip_cfws();
            match self.peek() {
                None => return params,
                Some(b';') => {
                    self.pos += 1;
                    continue;
                }
                Some(b'"') => {
                    self.pos += 1;
                    self.quoted();
                    continue;
                }
                Some(_) => {}
            }
            let Some(name) = self.token() else {
                self.pos += 1;
                continue;
            };
            self.skip_cfws();
            if !self.eat(b'=') {
                continue;
            }
            self.skip_cfws();
            let value = if self.eat(b'"') {
                self.quoted()
            } else {
                // An unquoted value runs to the next ';' or whitespace, tspecials included
                // (many mailers send `name=a/b.c` or `boundary==_x`).
                let start = self.pos;
                while let Some(b) = self.peek() {
                    if b == b';' || b.is_ascii_whitespace() {
                        break;
                    }
                    self.pos += 1;
                }
                self.s.get(start..self.pos).unwrap_or_default().to_vec()
            };
            params.push((name, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_with_params_and_comments() {
        let ct = parse_content_type(b" Text/HTML (c) ; charset=\"utf-8\"; x=y=z;\r\n\tname=a\\\"b")
            .unwrap();
        assert_eq!(ct.ty, b"text");
        assert_eq!(ct.sub, b"html");
        assert_eq!(
            ct.params,
            vec![
                (b"charset".to_vec(), b"utf-8".to_vec()),
                (b"x".to_vec(), b"y=z".to_vec()),
                (b"name".to_vec(), b"a\\\"b".to_vec()),
            ]
        );
        assert!(parse_content_type(b"text").is_none());
        assert!(parse_content_type(b"").is_none());
    }

    fn tree(raw: &[u8]) -> Vec<(usize, Vec<u8>, Vec<u8>)> {
        fn walk(raw: &[u8], p: &Part, depth: usize, out: &mut Vec<(usize, Vec<u8>, Vec<u8>)>) {
            out.push((depth, p.ctype.sub.clone(), p.body(raw).to_vec()));
            match &p.kind {
                Kind::Multipart(c) => c.iter().for_each(|c| walk(raw, c, depth + 1, out)),
                Kind::Message(m) => walk(raw, m, depth + 1, out),
                Kind::Leaf => {}
            }
        }
        let mut out = Vec::new();
        walk(raw, &parse(raw), 0, &mut out);
        out
    }

    fn t(depth: usize, sub: &str, body: &str) -> (usize, Vec<u8>, Vec<u8>) {
        (depth, sub.as_bytes().to_vec(), body.as_bytes().to_vec())
    }

    #[test]
    fn parts_and_delimiters() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\nA\r\n--b  trailing\r\n\r\nB\r\n--b--\r\nepi";
        let got = tree(raw);
        assert_eq!(got[1], t(1, "plain", ""));
        assert_eq!(got[2], t(1, "plain", "B"));
        assert_eq!(got.len(), 3);
        let open = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nA\n--b\n\nB\n";
        let got = tree(open);
        assert_eq!(&got[1..], &[t(1, "plain", "A"), t(1, "plain", "B\n")]);
    }

    #[test]
    fn inner_boundary_wins_and_outer_ends_inner() {
        // The inner multipart is never closed: the outer delimiter ends it.
        let raw = b"Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/alternative; boundary=ab\n\n--ab\n\nx\n--a\n\ny\n--a--\n";
        let got = tree(raw);
        assert_eq!(
            got,
            vec![
                t(
                    0,
                    "mixed",
                    "--a\nContent-Type: multipart/alternative; boundary=ab\n\n--ab\n\nx\n--a\n\ny\n--a--\n"
                ),
                t(1, "alternative", "--ab\n\nx"),
                t(2, "plain", "x"),
                t(1, "plain", "y"),
            ]
        );
    }

    #[test]
    fn delimiter_inside_part_header_ends_the_part() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n--b\n\nz\n--b--";
        let got = tree(raw);
        assert_eq!(&got[1..], &[t(1, "html", ""), t(1, "plain", "z")]);
        let p = parse(raw);
        let Kind::Multipart(c) = &p.kind else {
            panic!()
        };
        assert_eq!(c[0].header(raw), b"Content-Type: text/html");
    }
}
