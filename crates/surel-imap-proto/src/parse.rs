//! The command grammar (RFC 9051 §9; RFC 3501; RFC 7162 CONDSTORE/QRESYNC; RFC 5258 LIST-EXTENDED;
//! RFC 5819 LIST-STATUS; RFC 6154 SPECIAL-USE; RFC 4731/5182 ESEARCH/SEARCHRES; RFC 3516 BINARY;
//! RFC 6855 UTF8=ACCEPT; RFC 2971 ID; RFC 5161 ENABLE; RFC 4959 SASL-IR).
//!
//! A recursive-descent parser over one framed command: lexical pieces and the small commands
//! here, mailbox commands in `mailbox.rs`, FETCH/STORE in `fetch.rs`, SEARCH in `search.rs`.
//! It never indexes past its input, never allocates a literal's announced size before the
//! octets are there, and nests at most [`MAX_DEPTH`] search keys deep.
use base64::Engine;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};

use crate::command::*;
use crate::encode::{is_astring_char, is_atom_char};

mod fetch;
mod mailbox;
mod search;

/// Deepest nesting of search keys (parentheses, NOT, OR) accepted.
pub const MAX_DEPTH: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The tag, when the line had a readable one (reply `tag BAD ...`, else `* BAD ...`).
    pub tag: Option<String>,
    /// Human text for the BAD reply.
    pub reason: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ParseError {}

/// Parses one framed command (as [`crate::Framer`] returns it, CRLF included; a command
/// without its line end is accepted too).
pub fn parse_command(input: &[u8]) -> Result<Command, ParseError> {
    let mut p = Parser { input, pos: 0 };
    let tag = p.tag().map_err(|reason| ParseError {
        tag: None,
        reason: reason.into(),
    })?;
    let body = p.command().map_err(|reason| ParseError {
        tag: Some(tag.clone()),
        reason: reason.into(),
    })?;
    Ok(Command { tag, body })
}

/// RFC 9051 §6.3.13: the line that ends IDLE is `DONE` (any case).
pub fn is_idle_done(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.eq_ignore_ascii_case(b"DONE")
}

/// RFC 9051 §6.2.2: the client's answer to an AUTHENTICATE challenge, one framed line: base64
/// (an empty line is empty data), or `*` to cancel (`Ok(None)`, answered with BAD).
pub fn parse_sasl_response(line: &[u8]) -> Result<Option<Vec<u8>>, ParseError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line == b"*" {
        return Ok(None);
    }
    base64::engine::general_purpose::STANDARD
        .decode(line)
        .map(Some)
        .map_err(|_| ParseError {
            tag: None,
            reason: "bad base64 in SASL response".into(),
        })
}

type R<T> = Result<T, &'static str>;

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

const MONTHS: [&[u8; 3]; 12] = [
    b"JAN", b"FEB", b"MAR", b"APR", b"MAY", b"JUN", b"JUL", b"AUG", b"SEP", b"OCT", b"NOV", b"DEC",
];

/// RFC 7162 mod-sequence-value: a positive 63-bit number.
const MODSEQ_MAX: u64 = i64::MAX as u64;

impl<'a> Parser<'a> {
    // ---- lexical helpers ----

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.input.get(self.pos + ahead).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8, err: &'static str) -> R<()> {
        if self.eat(b) { Ok(()) } else { Err(err) }
    }

    fn sp(&mut self) -> R<()> {
        match self.peek() {
            Some(b' ') => {
                self.pos += 1;
                Ok(())
            }
            None | Some(b'\r' | b'\n') => Err("missing argument"),
            Some(_) => Err("expected a space"),
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let rest = self.input.get(self.pos..).unwrap_or_default();
        let n = rest.iter().position(|&b| !f(b)).unwrap_or(rest.len());
        self.pos += n;
        rest.get(..n).unwrap_or_default()
    }

    /// At the line end (CRLF, LF) or the end of input.
    fn at_end(&self) -> bool {
        matches!(
            self.input.get(self.pos..),
            None | Some(b"" | b"\n" | b"\r\n")
        )
    }

    fn end(&mut self) -> R<()> {
        if self.at_end() {
            self.pos = self.input.len();
            Ok(())
        } else {
            match self.peek() {
                Some(0) => Err("NUL outside a literal"),
                Some(b'\r' | b'\n') => Err("bare CR or LF outside a literal"),
                _ => Err("unexpected characters at end of command"),
            }
        }
    }

    /// Case-insensitive lookahead for `word` followed by a space.
    fn next_is_word(&self, word: &[u8]) -> bool {
        let rest = self.input.get(self.pos..).unwrap_or_default();
        rest.len() > word.len()
            && rest
                .get(..word.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(word))
            && rest.get(word.len()) == Some(&b' ')
    }

    fn atom(&mut self, err: &'static str) -> R<&'a [u8]> {
        let a = self.take_while(is_atom_char);
        if a.is_empty() { Err(err) } else { Ok(a) }
    }

    /// A keyword as in `BODY.PEEK`, `HEADER.FIELDS.NOT`, `SPECIAL-USE`.
    fn name(&mut self) -> &'a [u8] {
        self.take_while(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    }

    fn digits(&mut self) -> R<&'a [u8]> {
        let d = self.take_while(|b| b.is_ascii_digit());
        if d.is_empty() {
            Err("expected a number")
        } else {
            Ok(d)
        }
    }

    fn number64(&mut self) -> R<u64> {
        let d = self.digits()?;
        d.iter().try_fold(0u64, |n, &c| {
            n.checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(c - b'0')))
                .ok_or("number too large")
        })
    }

    fn number(&mut self) -> R<u32> {
        u32::try_from(self.number64()?).map_err(|_| "number too large")
    }

    fn nz_number(&mut self) -> R<u32> {
        match self.number()? {
            0 => Err("zero is not allowed here"),
            n => Ok(n),
        }
    }

    fn modseq(&mut self) -> R<u64> {
        match self.number64()? {
            n if n > MODSEQ_MAX => Err("mod-sequence too large"),
            n => Ok(n),
        }
    }

    fn utf8(bytes: &[u8], err: &'static str) -> R<String> {
        String::from_utf8(bytes.to_vec()).map_err(|_| err)
    }

    // ---- strings ----

    fn quoted(&mut self) -> R<Vec<u8>> {
        self.expect(b'"', "expected a quoted string")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\r' | b'\n') => return Err("unterminated quoted string"),
                Some(0) => return Err("NUL in quoted string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    match self.peek_at(1) {
                        Some(c @ (b'"' | b'\\')) => out.push(c),
                        _ => return Err("bad escape in quoted string"),
                    }
                    self.pos += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn is_literal_start(&self) -> bool {
        self.peek() == Some(b'{') || (self.peek() == Some(b'~') && self.peek_at(1) == Some(b'{'))
    }

    /// `{n}`, `{n+}`, `~{n}`, `~{n+}` then CRLF and n octets; `true` for literal8.
    fn literal(&mut self) -> R<(Vec<u8>, bool)> {
        let binary = self.eat(b'~');
        self.expect(b'{', "expected a literal")?;
        let n = self.number64()?;
        self.eat(b'+');
        self.expect(b'}', "bad literal")?;
        self.eat(b'\r');
        self.expect(b'\n', "literal announcement must end the line")?;
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
            .ok_or("literal truncated")?;
        let data = self.input.get(self.pos..end).ok_or("literal truncated")?;
        self.pos = end;
        Ok((data.to_vec(), binary))
    }

    fn string(&mut self) -> R<Vec<u8>> {
        if self.peek() == Some(b'"') {
            self.quoted()
        } else if self.is_literal_start() {
            Ok(self.literal()?.0)
        } else {
            Err("expected a string")
        }
    }

    fn astring(&mut self) -> R<Vec<u8>> {
        if self.peek() == Some(b'"') || self.is_literal_start() {
            return self.string();
        }
        let a = self.take_while(is_astring_char);
        if a.is_empty() {
            return Err(match self.peek() {
                None | Some(b'\r' | b'\n') => "missing argument",
                Some(0) => "NUL outside a literal",
                _ => "expected an atom or string",
            });
        }
        Ok(a.to_vec())
    }

    fn nstring(&mut self) -> R<Option<Vec<u8>>> {
        if self.next_word_is(b"NIL") {
            self.pos += 3;
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    /// `word` as a whole atom here (case-insensitive), not just a prefix.
    fn next_word_is(&self, word: &[u8]) -> bool {
        let rest = self.input.get(self.pos..).unwrap_or_default();
        rest.get(..word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
            && !rest.get(word.len()).is_some_and(|&b| is_astring_char(b))
    }

    fn mailbox(&mut self) -> R<Vec<u8>> {
        let name = self.astring().map_err(|e| match e {
            "missing argument" => "missing mailbox name",
            e => e,
        })?;
        // RFC 9051 §5.1: INBOX is case-insensitive.
        if name.eq_ignore_ascii_case(b"INBOX") {
            Ok(b"INBOX".to_vec())
        } else {
            Ok(name)
        }
    }

    /// A space, then a mailbox name.
    fn arg_mailbox(&mut self) -> R<Vec<u8>> {
        self.sp().map_err(|e| match e {
            "missing argument" => "missing mailbox name",
            e => e,
        })?;
        self.mailbox()
    }

    /// RFC 9051 list-mailbox: `1*list-char / string`.
    fn list_mailbox(&mut self) -> R<Vec<u8>> {
        if self.peek() == Some(b'"') || self.is_literal_start() {
            return self.string();
        }
        let a = self.take_while(|b| is_astring_char(b) || b == b'%' || b == b'*');
        if a.is_empty() {
            return Err("missing mailbox pattern");
        }
        Ok(a.to_vec())
    }

    // ---- flags, sets, dates ----

    fn flag(&mut self) -> R<Flag> {
        if self.eat(b'\\') {
            if self.peek() == Some(b'*') {
                return Err("\\* is not a flag");
            }
            let name = self.atom("bad flag")?;
            let flag = match name.to_ascii_uppercase().as_slice() {
                b"SEEN" => Flag::Seen,
                b"ANSWERED" => Flag::Answered,
                b"FLAGGED" => Flag::Flagged,
                b"DELETED" => Flag::Deleted,
                b"DRAFT" => Flag::Draft,
                b"RECENT" => Flag::Recent,
                _ => {
                    let mut k = String::from("\\");
                    k.push_str(&Self::utf8(name, "bad flag")?);
                    Flag::Keyword(k)
                }
            };
            Ok(flag)
        } else {
            let name = self.atom("bad flag")?;
            Ok(Flag::Keyword(Self::utf8(name, "bad flag")?))
        }
    }

    fn flag_list(&mut self) -> R<Vec<Flag>> {
        self.expect(b'(', "expected a flag list")?;
        let mut flags = Vec::new();
        if self.eat(b')') {
            return Ok(flags);
        }
        loop {
            flags.push(self.flag()?);
            if self.eat(b')') {
                return Ok(flags);
            }
            self.sp()?;
        }
    }

    fn seq_number(&mut self) -> R<SeqNum> {
        if self.eat(b'*') {
            Ok(SeqNum::Largest)
        } else {
            self.nz_number()
                .map(SeqNum::Value)
                .map_err(|_| "bad sequence set")
        }
    }

    fn sequence_set(&mut self) -> R<SequenceSet> {
        // RFC 5182: `$` is the saved search result.
        if self.eat(b'$') {
            return Ok(SequenceSet::Saved);
        }
        let mut ranges = Vec::new();
        loop {
            let a = self.seq_number()?;
            let b = if self.eat(b':') {
                self.seq_number()?
            } else {
                a
            };
            ranges.push((a, b));
            if !self.eat(b',') {
                return Ok(SequenceSet::Ranges(ranges));
            }
        }
    }

    fn month(&mut self) -> R<u32> {
        let m = self.take_while(|b| b.is_ascii_alphabetic());
        let upper = m.to_ascii_uppercase();
        MONTHS
            .iter()
            .position(|&name| upper.as_slice() == name)
            .and_then(|i| u32::try_from(i + 1).ok())
            .ok_or("bad month")
    }

    fn fixed_digits(&mut self, n: usize, err: &'static str) -> R<u32> {
        let d = self.take_while(|b| b.is_ascii_digit());
        if d.len() != n {
            return Err(err);
        }
        Ok(d.iter().fold(0u32, |v, &c| v * 10 + u32::from(c - b'0')))
    }

    /// RFC 9051 date: `d-Mon-yyyy`, optionally quoted.
    fn date(&mut self) -> R<NaiveDate> {
        let quoted = self.eat(b'"');
        let day = self.take_while(|b| b.is_ascii_digit());
        if day.is_empty() || day.len() > 2 {
            return Err("bad date");
        }
        let day = day.iter().fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
        self.expect(b'-', "bad date")?;
        let month = self.month()?;
        self.expect(b'-', "bad date")?;
        let year = self.fixed_digits(4, "bad date")?;
        if quoted {
            self.expect(b'"', "bad date")?;
        }
        let year = i32::try_from(year).map_err(|_| "bad date")?;
        NaiveDate::from_ymd_opt(year, month, day).ok_or("bad date")
    }

    /// RFC 9051 date-time: `"dd-Mon-yyyy hh:mm:ss +zzzz"`, day space-padded or two digits.
    fn date_time(&mut self) -> R<DateTime<FixedOffset>> {
        const BAD: &str = "bad date-time";
        self.expect(b'"', BAD)?;
        self.eat(b' ');
        let day = self.take_while(|b| b.is_ascii_digit());
        if day.is_empty() || day.len() > 2 {
            return Err(BAD);
        }
        let day = day.iter().fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
        self.expect(b'-', BAD)?;
        let month = self.month().map_err(|_| BAD)?;
        self.expect(b'-', BAD)?;
        let year = self.fixed_digits(4, BAD)?;
        self.expect(b' ', BAD)?;
        let h = self.fixed_digits(2, BAD)?;
        self.expect(b':', BAD)?;
        let m = self.fixed_digits(2, BAD)?;
        self.expect(b':', BAD)?;
        let s = self.fixed_digits(2, BAD)?;
        self.expect(b' ', BAD)?;
        let sign: i32 = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(BAD),
        };
        self.pos += 1;
        let zone = self.fixed_digits(4, BAD)?;
        self.expect(b'"', BAD)?;
        let (zh, zm) = (zone / 100, zone % 100);
        if zm >= 60 {
            return Err(BAD);
        }
        let offset = i32::try_from(zh * 3600 + zm * 60).map_err(|_| BAD)? * sign;
        let offset = FixedOffset::east_opt(offset).ok_or(BAD)?;
        let year = i32::try_from(year).map_err(|_| BAD)?;
        let date = NaiveDate::from_ymd_opt(year, month, day).ok_or(BAD)?;
        let time = NaiveTime::from_hms_opt(h, m, s).ok_or(BAD)?;
        date.and_time(time)
            .and_local_timezone(offset)
            .single()
            .ok_or(BAD)
    }

    // ---- commands ----

    /// RFC 9051 tag: `1*<any ASTRING-CHAR except "+">`.
    fn tag(&mut self) -> R<String> {
        let t = self.take_while(|b| is_astring_char(b) && b != b'+');
        if t.is_empty() {
            return Err(if self.at_end() {
                "empty command"
            } else {
                "bad tag"
            });
        }
        if !matches!(self.peek(), Some(b' ')) && !self.at_end() {
            return Err("bad tag");
        }
        Self::utf8(t, "bad tag")
    }

    fn command(&mut self) -> R<CommandBody> {
        self.sp().map_err(|_| "missing command")?;
        let name = self.atom("missing command")?.to_ascii_uppercase();
        let body = match name.as_slice() {
            b"CAPABILITY" => CommandBody::Capability,
            b"NOOP" => CommandBody::Noop,
            b"LOGOUT" => CommandBody::Logout,
            b"STARTTLS" => CommandBody::StartTls,
            b"NAMESPACE" => CommandBody::Namespace,
            b"IDLE" => CommandBody::Idle,
            b"CHECK" => CommandBody::Check,
            b"CLOSE" => CommandBody::Close,
            b"UNSELECT" => CommandBody::Unselect,
            b"EXPUNGE" => CommandBody::Expunge,
            b"ID" => self.id()?,
            b"AUTHENTICATE" => self.authenticate()?,
            b"LOGIN" => {
                self.sp()?;
                let username = self.astring()?;
                self.sp()?;
                let password = self.astring()?;
                CommandBody::Login { username, password }
            }
            b"ENABLE" => {
                let mut caps = Vec::new();
                while self.peek() == Some(b' ') {
                    self.pos += 1;
                    caps.push(Self::utf8(self.atom("bad capability")?, "bad capability")?);
                }
                if caps.is_empty() {
                    return Err("missing capability");
                }
                CommandBody::Enable(caps)
            }
            b"SELECT" => self.select(false)?,
            b"EXAMINE" => self.select(true)?,
            b"CREATE" => self.create()?,
            b"DELETE" => CommandBody::Delete(self.arg_mailbox()?),
            b"RENAME" => {
                let from = self.arg_mailbox()?;
                let to = self.arg_mailbox()?;
                CommandBody::Rename { from, to }
            }
            b"SUBSCRIBE" => CommandBody::Subscribe(self.arg_mailbox()?),
            b"UNSUBSCRIBE" => CommandBody::Unsubscribe(self.arg_mailbox()?),
            b"LIST" => self.list()?,
            b"LSUB" => {
                self.sp()?;
                let reference = self.astring()?;
                self.sp()?;
                let pattern = self.list_mailbox()?;
                CommandBody::Lsub { reference, pattern }
            }
            b"STATUS" => {
                let mailbox = self.arg_mailbox()?;
                self.sp()?;
                let items = self.status_items()?;
                CommandBody::Status { mailbox, items }
            }
            b"APPEND" => self.append()?,
            b"UID" => {
                self.sp()?;
                let name = self.atom("missing command after UID")?.to_ascii_uppercase();
                match name.as_slice() {
                    b"FETCH" => self.fetch(true)?,
                    b"STORE" => self.store(true)?,
                    b"SEARCH" => self.search(true)?,
                    b"COPY" => self.copy_move(true, false)?,
                    b"MOVE" => self.copy_move(true, true)?,
                    b"EXPUNGE" => {
                        self.sp()?;
                        CommandBody::UidExpunge(self.sequence_set()?)
                    }
                    _ => return Err("unknown UID command"),
                }
            }
            b"FETCH" => self.fetch(false)?,
            b"STORE" => self.store(false)?,
            b"SEARCH" => self.search(false)?,
            b"COPY" => self.copy_move(false, false)?,
            b"MOVE" => self.copy_move(false, true)?,
            _ => return Err("unknown command"),
        };
        self.end()?;
        Ok(body)
    }

    /// RFC 2971: `ID NIL` or `ID ("name" "value" ...)`.
    fn id(&mut self) -> R<CommandBody> {
        self.sp()?;
        if self.next_word_is(b"NIL") {
            self.pos += 3;
            return Ok(CommandBody::Id(None));
        }
        self.expect(b'(', "expected ID parameter list or NIL")?;
        let mut params = Vec::new();
        if !self.eat(b')') {
            loop {
                let key = String::from_utf8_lossy(&self.string()?).into_owned();
                self.sp()?;
                let value = self
                    .nstring()?
                    .map(|v| String::from_utf8_lossy(&v).into_owned());
                params.push((key, value));
                if self.eat(b')') {
                    break;
                }
                self.sp()?;
            }
        }
        Ok(CommandBody::Id(Some(params)))
    }

    /// RFC 9051 §6.2.2 with RFC 4959 SASL-IR: `AUTHENTICATE mech [SP (base64 / "=")]`.
    fn authenticate(&mut self) -> R<CommandBody> {
        self.sp()?;
        let mechanism = Self::utf8(self.atom("missing mechanism")?, "bad mechanism")?;
        let initial = if self.eat(b' ') {
            if self.eat(b'=') {
                Some(Vec::new())
            } else {
                let b64 = self
                    .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
                if b64.is_empty() {
                    return Err("bad initial response");
                }
                let data = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| "bad base64 in initial response")?;
                Some(data)
            }
        } else {
            None
        };
        Ok(CommandBody::Authenticate { mechanism, initial })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use CommandBody as B;

    pub(super) fn ok(input: &str) -> CommandBody {
        ok_bytes(input.as_bytes())
    }

    pub(super) fn ok_bytes(input: &[u8]) -> CommandBody {
        let mut line = input.to_vec();
        line.extend_from_slice(b"\r\n");
        match parse_command(&line) {
            Ok(c) => {
                assert_eq!(parse_command(input).as_ref(), Ok(&c), "without CRLF");
                c.body
            }
            Err(e) => panic!("{:?}: {e:?}", String::from_utf8_lossy(input)),
        }
    }

    pub(super) fn err(input: &str) -> ParseError {
        let mut line = input.as_bytes().to_vec();
        line.extend_from_slice(b"\r\n");
        match parse_command(&line) {
            Ok(c) => panic!("{input:?} parsed as {c:?}"),
            Err(e) => e,
        }
    }

    pub(super) fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    pub(super) fn set(ranges: &[(u32, u32)]) -> SequenceSet {
        SequenceSet::Ranges(
            ranges
                .iter()
                .map(|&(a, b)| {
                    let n = |x: u32| {
                        if x == 0 {
                            SeqNum::Largest
                        } else {
                            SeqNum::Value(x)
                        }
                    };
                    (n(a), n(b))
                })
                .collect(),
        )
    }

    pub(super) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn simple_commands() {
        for (input, body) in [
            ("a CAPABILITY", B::Capability),
            ("a capability", B::Capability),
            ("a1 NOOP", B::Noop),
            ("A003 LOGOUT", B::Logout),
            ("a StartTLS", B::StartTls),
            ("a NAMESPACE", B::Namespace),
            ("a IDLE", B::Idle),
            ("a CHECK", B::Check),
            ("a CLOSE", B::Close),
            ("a UNSELECT", B::Unselect),
            ("a EXPUNGE", B::Expunge),
            (
                "a UID EXPUNGE 3000:3002",
                B::UidExpunge(set(&[(3000, 3002)])),
            ),
        ] {
            assert_eq!(ok(input), body, "{input}");
        }
        let c = parse_command(b"x.y-z]1 NOOP\r\n").unwrap();
        assert_eq!(c.tag, "x.y-z]1");
    }

    #[test]
    fn bad_tags_and_commands() {
        assert_eq!(err("").tag, None);
        assert_eq!(err("+a NOOP").tag, None);
        assert_eq!(err("a+ NOOP").tag, None);
        assert_eq!(err("* NOOP").tag, None);
        assert_eq!(err("a(b NOOP").tag, None);
        let e = err("a FROB");
        assert_eq!(
            (e.tag.as_deref(), e.reason.as_str()),
            (Some("a"), "unknown command")
        );
        assert_eq!(err("a").reason, "missing command");
        assert_eq!(
            err("a NOOP extra").reason,
            "unexpected characters at end of command"
        );
        assert_eq!(
            err("a NOOP ").reason,
            "unexpected characters at end of command"
        );
        assert_eq!(err("a  NOOP").reason, "missing command");
        assert!(parse_command(b"a NOOP\r\nb NOOP\r\n").is_err());
        assert!(parse_command(b"a NOOP\rx").is_err());
        assert_eq!(
            parse_command(b"a NOOP\0\r\n").unwrap_err().reason,
            "NUL outside a literal"
        );
        assert!(parse_command(b"a LOGIN fr\0ed x\r\n").is_err());
        assert!(parse_command(b"a LOGIN \"fr\0ed\" x\r\n").is_err());
        assert!(parse_command(b"a LOGIN \"fr\ned\" x\r\n").is_err());
        assert_eq!(err("a DELETE").reason, "missing mailbox name");
        assert_eq!(err("a UID FROB 1").reason, "unknown UID command");
        assert_eq!(err("a FETCH 0 FLAGS").reason, "bad sequence set");
    }

    #[test]
    fn login_strings() {
        let login = |u: &[u8], p: &[u8]| B::Login {
            username: u.to_vec(),
            password: p.to_vec(),
        };
        assert_eq!(ok("a LOGIN fred secret"), login(b"fred", b"secret"));
        assert_eq!(
            ok(r#"a login "fred" "se\"c\\ret""#),
            login(b"fred", br#"se"c\ret"#)
        );
        assert_eq!(ok(r#"a LOGIN "" """#), login(b"", b""));
        assert_eq!(
            ok_bytes(b"a LOGIN {4}\r\nfred {6}\r\nse\r\nt!"),
            login(b"fred", b"se\r\nt!")
        );
        assert_eq!(
            ok_bytes(b"a LOGIN {4+}\r\nfred ~{2}\r\n\0x"),
            login(b"fred", b"\0x")
        );
        assert_eq!(ok_bytes(b"a LOGIN {0}\n ]x"), login(b"", b"]x"));
        assert_eq!(ok("a LOGIN \"josé\" pw"), login("josé".as_bytes(), b"pw"));
        assert_eq!(
            err(r#"a LOGIN "a\b" x"#).reason,
            "bad escape in quoted string"
        );
        assert_eq!(err(r#"a LOGIN "abc"#).reason, "unterminated quoted string");
        assert_eq!(err("a LOGIN {10}\r\nabc").reason, "literal truncated");
        assert_eq!(
            err("a LOGIN {99999999999999999999}\r\nabc").reason,
            "number too large"
        );
        assert_eq!(
            err("a LOGIN {3} x").reason,
            "literal announcement must end the line"
        );
        assert_eq!(err("a LOGIN fred").reason, "missing argument");
        assert_eq!(err("a LOGIN fred (x)").reason, "expected an atom or string");
    }

    #[test]
    fn authenticate() {
        assert_eq!(
            ok("a AUTHENTICATE PLAIN"),
            B::Authenticate {
                mechanism: "PLAIN".into(),
                initial: None
            }
        );
        assert_eq!(
            ok("a AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0"),
            B::Authenticate {
                mechanism: "PLAIN".into(),
                initial: Some(b"\0fred\0secret".to_vec())
            }
        );
        assert_eq!(
            ok("a AUTHENTICATE EXTERNAL ="),
            B::Authenticate {
                mechanism: "EXTERNAL".into(),
                initial: Some(vec![])
            }
        );
        assert!(
            err("a AUTHENTICATE PLAIN AGZ!")
                .reason
                .contains("initial response")
        );
        assert!(err("a AUTHENTICATE PLAIN A").reason.contains("base64"));
    }

    #[test]
    fn id_and_enable() {
        assert_eq!(ok("a ID NIL"), B::Id(None));
        assert_eq!(ok("a ID ()"), B::Id(Some(vec![])));
        assert_eq!(
            ok(r#"a023 ID ("name" "sodr" "version" "19.34" "vendor" NIL)"#),
            B::Id(Some(vec![
                ("name".into(), Some("sodr".into())),
                ("version".into(), Some("19.34".into())),
                ("vendor".into(), None),
            ]))
        );
        assert!(parse_command(b"a ID (\"name\")\r\n").is_err());
        assert_eq!(
            ok("t2 ENABLE CONDSTORE"),
            B::Enable(vec!["CONDSTORE".into()])
        );
        assert_eq!(
            ok("t2 ENABLE UTF8=ACCEPT QRESYNC"),
            B::Enable(vec!["UTF8=ACCEPT".into(), "QRESYNC".into()])
        );
        assert_eq!(err("t2 ENABLE").reason, "missing capability");
    }

    #[test]
    fn sequence_sets() {
        let fetch_set = |s: &str| match ok(&format!("a FETCH {s} UID")) {
            B::Fetch { set, .. } => set,
            other => panic!("{other:?}"),
        };
        assert_eq!(fetch_set("1:*,5,7:3"), set(&[(1, 0), (5, 5), (7, 3)]));
        assert_eq!(fetch_set("*"), set(&[(0, 0)]));
        assert_eq!(fetch_set("*:4"), set(&[(0, 4)]));
        assert_eq!(fetch_set("4294967295"), set(&[(u32::MAX, u32::MAX)]));
        assert_eq!(fetch_set("$"), SequenceSet::Saved);
        for bad in [
            "0",
            "1:0",
            "4294967296",
            "1,",
            ",1",
            "1::2",
            "$,1",
            "1:",
            "-1",
            "a",
        ] {
            assert!(
                parse_command(format!("a FETCH {bad} UID\r\n").as_bytes()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn encode_parse_roundtrip() {
        use crate::encode;
        for s in [
            &b""[..],
            b"fred",
            b"NIL",
            b"nil",
            b"a b",
            br#"q"uo\te"#,
            b"]x]",
            b"{3}",
            b"%*",
            b"a\r\nb",
            b"\0\x01\xff",
            "josé".as_bytes(),
            b"(x)",
        ] {
            let mut wire = b"t LOGIN ".to_vec();
            encode::astring(&mut wire, s);
            wire.push(b' ');
            encode::string(&mut wire, s);
            wire.extend_from_slice(b"\r\n");
            let want = B::Login {
                username: s.to_vec(),
                password: s.to_vec(),
            };
            assert_eq!(parse_command(&wire).map(|c| c.body), Ok(want), "{wire:?}");
        }
        for name in [
            "Sent Items",
            "台北/日本語",
            "Tom & Jerry",
            "a\"b\\c",
            "x%y",
            "Entwürfe",
        ] {
            for utf8 in [false, true] {
                let mut wire = b"t DELETE ".to_vec();
                encode::mailbox(&mut wire, name, utf8);
                wire.extend_from_slice(b"\r\n");
                let Ok(Command {
                    body: B::Delete(raw),
                    ..
                }) = parse_command(&wire)
                else {
                    panic!("{wire:?}");
                };
                let got = if utf8 {
                    String::from_utf8(raw).ok()
                } else {
                    crate::mutf7::decode(&raw)
                };
                assert_eq!(got.as_deref(), Some(name), "{wire:?}");
            }
        }
        let mut wire = b"t FETCH ".to_vec();
        encode::sequence_set(&mut wire, &[1, 2, 3, 7, 9, 10]);
        wire.extend_from_slice(b" UID\r\n");
        match parse_command(&wire).map(|c| c.body) {
            Ok(B::Fetch { set: got, .. }) => assert_eq!(got, set(&[(1, 3), (7, 7), (9, 10)])),
            other => panic!("{other:?}"),
        }
        let at =
            DateTime::parse_from_str("01-Feb-1994 21:52:25 -0800", "%d-%b-%Y %H:%M:%S %z").unwrap();
        let mut wire = b"t APPEND x ".to_vec();
        encode::date_time(&mut wire, &at);
        wire.extend_from_slice(b" {0}\r\n\r\n");
        match parse_command(&wire).map(|c| c.body) {
            Ok(B::Append { date, .. }) => assert_eq!(date, Some(at)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn framed_pipeline_parses_at_every_split() {
        use crate::{Framed, Framer, Limits};
        let stream: &[u8] = b"a1 LOGIN {4}\r\nfred {6+}\r\nse\r\nt!\r\n\
            a2 SELECT INBOX (CONDSTORE)\n\
            a3 APPEND Drafts (\\Draft) ~{5+}\r\n\0\r\n\r\n\r\n\
            a4 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From)])\r\n\
            a5 SEARCH HEADER {7}\r\nSubject {3}\r\n{1}\r\n\
            a6 APPEND Big {1000}\r\n\
            a7 LOGOUT\r\n";
        let limits = Limits {
            line: 100,
            literal: 100,
            command: 300,
        };
        let expect_tags = ["a1", "a2", "a3", "a4", "a5", "a6", "a7"];
        for cut in 0..=stream.len() {
            let mut framer = Framer::new(limits);
            let mut buf = bytes::BytesMut::new();
            let mut tags = Vec::new();
            let mut continues = 0;
            for part in [&stream[..cut], &stream[cut..]] {
                buf.extend_from_slice(part);
                while let Some(f) = framer.next(&mut buf) {
                    match f {
                        Framed::Command(c) => {
                            let cmd =
                                parse_command(&c).unwrap_or_else(|e| panic!("{e:?} in {c:?}"));
                            tags.push(cmd.tag);
                        }
                        Framed::Continue => continues += 1,
                        Framed::TooBig { tag } => tags.push(tag.unwrap()),
                        Framed::LineTooLong { tag } => panic!("{tag:?}"),
                    }
                }
            }
            assert_eq!(tags, expect_tags, "cut at {cut}");
            assert_eq!(continues, 3, "cut at {cut}");
        }
    }

    #[test]
    fn idle_done_and_sasl_responses() {
        assert!(is_idle_done(b"DONE\r\n"));
        assert!(is_idle_done(b"done\n"));
        assert!(!is_idle_done(b"a DONE\r\n"));
        assert!(!is_idle_done(b"DONE \r\n"));
        assert_eq!(parse_sasl_response(b"\r\n"), Ok(Some(vec![])));
        assert_eq!(parse_sasl_response(b"*\r\n"), Ok(None));
        assert_eq!(
            parse_sasl_response(b"AGZyZWQAc2VjcmV0\r\n"),
            Ok(Some(b"\0fred\0secret".to_vec()))
        );
        assert!(parse_sasl_response(b"AGZ!\r\n").is_err());
        assert_eq!(err("").reason, "empty command");
    }

    /// A small deterministic generator (xorshift) so the test needs no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn random_and_mutated_input_never_panics() {
        let seeds: &[&[u8]] = &[
            b"a LOGIN {4}\r\nfred \"x\\\"y\"\r\n",
            b"a UID FETCH 1:*,5 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100> BINARY[1]) (CHANGEDSINCE 5 VANISHED)\r\n",
            b"a SEARCH RETURN (MIN SAVE) CHARSET UTF-8 OR (FROM x NOT TO y) HEADER a b MODSEQ \"/flags/x\" all 5 UID $\r\n",
            b"a SELECT INBOX (QRESYNC (1 2 1:5 (1:2 3:4)))\r\n",
            b"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"a\" %) RETURN (STATUS (MESSAGES SIZE))\r\n",
            b"a APPEND x (\\Seen) \" 1-Feb-1994 01:02:03 +0100\" UTF8 (~{3+}\r\nabc)\r\n",
            b"a STORE 1 (UNCHANGEDSINCE 3) -FLAGS.SILENT (\\Seen foo)\r\n",
            b"a CREATE x (USE (\\Sent))\r\n",
            b"a ID (\"a\" NIL)\r\n",
            b"a AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0\r\n",
            b"a ENABLE IMAP4rev2\r\n",
        ];
        let alphabet = b" ()[]<>{}~+-.:,*$%\"\\\r\n0123456789aAzZ\0\xff";
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut parsed = 0;
        for i in 0..6000 {
            let input: Vec<u8> = if i % 3 == 0 {
                let len = rng.below(80);
                (0..len)
                    .map(|_| *alphabet.get(rng.below(alphabet.len())).unwrap())
                    .collect()
            } else {
                let mut s = seeds[rng.below(seeds.len())].to_vec();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(s.len() + 1);
                    match rng.below(4) {
                        0 if at < s.len() => {
                            s.remove(at);
                        }
                        1 => s.insert(at, *alphabet.get(rng.below(alphabet.len())).unwrap()),
                        2 if at < s.len() => {
                            s[at] = *alphabet.get(rng.below(alphabet.len())).unwrap()
                        }
                        _ => {
                            let end = (at + rng.below(10)).min(s.len());
                            let dup = s[at..end].to_vec();
                            s.splice(at..at, dup);
                        }
                    }
                }
                s
            };
            if parse_command(&input).is_ok() {
                parsed += 1;
            }
            let mut framer = crate::Framer::new(crate::Limits {
                line: 40,
                literal: 16,
                command: 120,
            });
            let mut buf = bytes::BytesMut::new();
            for chunk in input.chunks(1 + rng.below(7)) {
                buf.extend_from_slice(chunk);
                while let Some(f) = framer.next(&mut buf) {
                    if let crate::Framed::Command(c) = f {
                        let _ = parse_command(&c);
                    }
                }
            }
        }
        assert!(parsed > 100, "mutations keep some inputs valid: {parsed}");
    }
}
