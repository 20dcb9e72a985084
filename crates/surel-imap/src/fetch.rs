//! FETCH responses (RFC 9051 §6.4.5, §7.5.2; RFC 3516 BINARY; RFC 7162 MODSEQ).
//!
//! Pure: the session loads what [`needs`] asks for, then [`render`] writes one response.
//! Body data is a literal when it has bytes; an empty or missing section is `""` (as Dovecot
//! answers; RFC 9051 §6.4.5 allows an empty string for a part that does not exist).
use std::borrow::Cow;
use std::collections::HashSet;

use surel_imap_proto::encode;
use surel_imap_proto::{FetchItem, Partial, Section, SectionText};
use surel_mime::{BinaryError, MessageInfo, SectionKind};
use surel_store::{Flag, FlagState, MessageMeta};

/// What the session must load before [`render`] can answer these items.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// The cached parse (`MessageInfo`).
    pub parsed: bool,
    /// The message bytes.
    pub raw: bool,
    /// A non-PEEK body item: the session sets `\Seen` (in a read-write mailbox) first.
    pub sets_seen: bool,
}

/// Per-response switches the session decides.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// UTF8=ACCEPT or IMAP4rev2 enabled.
    pub utf8: bool,
    /// Add `UID` even if not asked (UID FETCH, and unsolicited FETCH under QRESYNC).
    pub add_uid: bool,
    /// Add `MODSEQ` even if not asked (CONDSTORE enabled and CHANGEDSINCE given, or STORE).
    pub add_modseq: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// BINARY of a part with a transfer encoding we cannot decode: `NO [UNKNOWN-CTE]`.
    UnknownCte,
}

/// True for the header sections of the whole message, which the cached `info.header` answers.
fn is_top_header(section: &Section) -> bool {
    section.part.is_empty()
        && matches!(
            section.text,
            Some(SectionText::Header)
                | Some(SectionText::HeaderFields(_))
                | Some(SectionText::HeaderFieldsNot(_))
        )
}

pub fn needs(items: &[FetchItem]) -> Needs {
    let mut needs = Needs::default();
    for item in items {
        match item {
            FetchItem::Flags
            | FetchItem::InternalDate
            | FetchItem::Rfc822Size
            | FetchItem::Uid
            | FetchItem::ModSeq => {}
            FetchItem::Envelope
            | FetchItem::BodyStructure
            | FetchItem::Body
            | FetchItem::Rfc822Header => needs.parsed = true,
            FetchItem::Rfc822 | FetchItem::Rfc822Text => {
                needs.raw = true;
                needs.sets_seen = true;
            }
            FetchItem::BodySection { peek, section, .. } => {
                if is_top_header(section) {
                    needs.parsed = true;
                } else {
                    needs.raw = true;
                }
                needs.sets_seen |= !peek;
            }
            FetchItem::Binary { peek, .. } => {
                needs.raw = true;
                needs.sets_seen |= !peek;
            }
            FetchItem::BinarySize { .. } => needs.raw = true,
        }
    }
    needs
}

/// Writes one `* seq FETCH (...)\r\n`. `info` is always given (the session parses `raw` when
/// the cache lacks it); `raw` is given when [`needs`] said so. On error nothing is written.
pub fn render(
    out: &mut Vec<u8>,
    seq: u32,
    items: &[FetchItem],
    meta: &MessageMeta,
    info: &MessageInfo,
    raw: Option<&[u8]>,
    options: Options,
) -> Result<(), FetchError> {
    let message = Message { meta, info, raw };
    let mut line = format!("* {seq} FETCH (").into_bytes();
    // One response item per name: `BODY[]` and `BODY.PEEK[]` are the same item on the wire.
    let mut written: HashSet<Vec<u8>> = HashSet::new();
    let mut first = true;
    let mut emit = |line: &mut Vec<u8>, item: &FetchItem| -> Result<(), FetchError> {
        let name = item_name(item);
        if !written.insert(name.clone()) {
            return Ok(());
        }
        if !first {
            line.push(b' ');
        }
        first = false;
        line.extend_from_slice(&name);
        line.push(b' ');
        message.write_value(line, item)
    };
    if options.add_uid && !items.contains(&FetchItem::Uid) {
        emit(&mut line, &FetchItem::Uid)?;
    }
    for item in items {
        emit(&mut line, item)?;
    }
    if options.add_modseq && !items.contains(&FetchItem::ModSeq) {
        emit(&mut line, &FetchItem::ModSeq)?;
    }
    line.extend_from_slice(b")\r\n");
    out.extend_from_slice(&line);
    Ok(())
}

/// The name a response item is sent under: `.PEEK` dropped, a partial answered as `<origin>`.
fn item_name(item: &FetchItem) -> Vec<u8> {
    let mut name = Vec::new();
    match item {
        FetchItem::Flags => name.extend_from_slice(b"FLAGS"),
        FetchItem::InternalDate => name.extend_from_slice(b"INTERNALDATE"),
        FetchItem::Rfc822Size => name.extend_from_slice(b"RFC822.SIZE"),
        FetchItem::Envelope => name.extend_from_slice(b"ENVELOPE"),
        FetchItem::BodyStructure => name.extend_from_slice(b"BODYSTRUCTURE"),
        FetchItem::Body => name.extend_from_slice(b"BODY"),
        FetchItem::Uid => name.extend_from_slice(b"UID"),
        FetchItem::ModSeq => name.extend_from_slice(b"MODSEQ"),
        FetchItem::Rfc822 => name.extend_from_slice(b"RFC822"),
        FetchItem::Rfc822Header => name.extend_from_slice(b"RFC822.HEADER"),
        FetchItem::Rfc822Text => name.extend_from_slice(b"RFC822.TEXT"),
        FetchItem::BodySection {
            section, partial, ..
        } => {
            name.extend_from_slice(b"BODY[");
            write_section_spec(&mut name, section);
            name.push(b']');
            write_origin(&mut name, *partial);
        }
        FetchItem::Binary { part, partial, .. } => {
            name.extend_from_slice(b"BINARY[");
            write_part(&mut name, part);
            name.push(b']');
            write_origin(&mut name, *partial);
        }
        FetchItem::BinarySize { part } => {
            name.extend_from_slice(b"BINARY.SIZE[");
            write_part(&mut name, part);
            name.push(b']');
        }
    }
    name
}

fn write_part(out: &mut Vec<u8>, part: &[u32]) {
    for (i, n) in part.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(n.to_string().as_bytes());
    }
}

/// `1.2.HEADER.FIELDS (FROM TO)`: the section as the client sent it, field names as sent.
fn write_section_spec(out: &mut Vec<u8>, section: &Section) {
    write_part(out, &section.part);
    let Some(text) = &section.text else {
        return;
    };
    if !section.part.is_empty() {
        out.push(b'.');
    }
    let (keyword, names): (&[u8], _) = match text {
        SectionText::Header => (b"HEADER", None),
        SectionText::HeaderFields(names) => (b"HEADER.FIELDS", Some(names)),
        SectionText::HeaderFieldsNot(names) => (b"HEADER.FIELDS.NOT", Some(names)),
        SectionText::Text => (b"TEXT", None),
        SectionText::Mime => (b"MIME", None),
    };
    out.extend_from_slice(keyword);
    if let Some(names) = names {
        out.extend_from_slice(b" (");
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            encode::astring(out, name.as_bytes());
        }
        out.push(b')');
    }
}

/// RFC 9051 §7.5.2: a partial fetch is answered with its origin octet only.
fn write_origin(out: &mut Vec<u8>, partial: Option<Partial>) {
    if let Some(p) = partial {
        out.extend_from_slice(format!("<{}>", p.offset).as_bytes());
    }
}

/// The bytes `<offset.length>` selects; an origin past the end selects nothing.
fn apply_partial(data: &[u8], partial: Option<Partial>) -> &[u8] {
    let Some(p) = partial else {
        return data;
    };
    let start = usize::try_from(p.offset)
        .unwrap_or(usize::MAX)
        .min(data.len());
    let rest = data.get(start..).unwrap_or_default();
    let len = usize::try_from(p.length)
        .unwrap_or(usize::MAX)
        .min(rest.len());
    rest.get(..len).unwrap_or_default()
}

/// `* seq FETCH ([UID u ]FLAGS (...)[ MODSEQ (m)])` for a flag change made elsewhere, the
/// items placed as [`render`] places them for `FLAGS` with these options.
pub fn render_flags(out: &mut Vec<u8>, seq: u32, state: &FlagState, options: Options) {
    out.extend_from_slice(format!("* {seq} FETCH (").as_bytes());
    if options.add_uid {
        out.extend_from_slice(format!("UID {} ", state.uid.0).as_bytes());
    }
    out.extend_from_slice(b"FLAGS ");
    flag_list(out, &state.flags);
    if options.add_modseq {
        out.extend_from_slice(format!(" MODSEQ ({})", state.modseq.0).as_bytes());
    }
    out.extend_from_slice(b")\r\n");
}

/// A flag list, `(\Seen $Label ...)`.
fn flag_list(out: &mut Vec<u8>, flags: &[Flag]) {
    out.push(b'(');
    for (i, flag) in flags.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(flag.as_str().as_bytes());
    }
    out.push(b')');
}

/// Body data: a literal (`~{n}` literal8 when `binary` and it holds NUL, RFC 3516 §4.2), or
/// `""` when there is nothing to send.
///
/// A literal may not hold NUL (RFC 9051 §4.3, CHAR8), and BODY[]/RFC822 have no literal8 form:
/// a NUL in a non-BINARY answer (only possible in a message APPENDed as literal8) is sent as
/// 0x80, as Dovecot does, so the size stays that of the stored message; BINARY[] gives the
/// octets exactly.
fn write_data(out: &mut Vec<u8>, data: &[u8], binary: bool) {
    if data.is_empty() {
        out.extend_from_slice(b"\"\"");
        return;
    }
    let has_nul = data.contains(&0);
    if binary && has_nul {
        out.push(b'~');
    }
    out.extend_from_slice(format!("{{{}}}\r\n", data.len()).as_bytes());
    if has_nul && !binary {
        out.extend(data.iter().map(|&b| if b == 0 { 0x80 } else { b }));
    } else {
        out.extend_from_slice(data);
    }
}

struct Message<'a> {
    meta: &'a MessageMeta,
    info: &'a MessageInfo,
    raw: Option<&'a [u8]>,
}

impl Message<'_> {
    fn write_value(&self, out: &mut Vec<u8>, item: &FetchItem) -> Result<(), FetchError> {
        match item {
            FetchItem::Flags => flag_list(out, &self.meta.flags),
            FetchItem::InternalDate => {
                encode::date_time(out, &self.meta.internal_date.fixed_offset());
            }
            FetchItem::Rfc822Size => out.extend_from_slice(self.meta.size.to_string().as_bytes()),
            FetchItem::Envelope => out.extend_from_slice(&self.info.envelope),
            FetchItem::BodyStructure => out.extend_from_slice(&self.info.body_structure),
            FetchItem::Body => out.extend_from_slice(&self.info.body),
            FetchItem::Uid => out.extend_from_slice(self.meta.uid.0.to_string().as_bytes()),
            FetchItem::ModSeq => {
                out.extend_from_slice(format!("({})", self.meta.modseq.0).as_bytes());
            }
            FetchItem::Rfc822 => write_data(out, self.raw.unwrap_or_default(), false),
            FetchItem::Rfc822Header => write_data(out, &self.info.header, false),
            FetchItem::Rfc822Text => {
                let text = self
                    .raw
                    .and_then(|raw| surel_mime::section(raw, &[], SectionKind::Text));
                write_data(out, text.as_deref().unwrap_or_default(), false);
            }
            FetchItem::BodySection {
                section, partial, ..
            } => {
                let data = self.section(section);
                write_data(
                    out,
                    apply_partial(data.as_deref().unwrap_or_default(), *partial),
                    false,
                );
            }
            FetchItem::Binary { part, partial, .. } => {
                let data = self.binary(part)?;
                write_data(out, apply_partial(&data, *partial), true);
            }
            FetchItem::BinarySize { part } => {
                let data = self.binary(part)?;
                out.extend_from_slice(data.len().to_string().as_bytes());
            }
        }
        Ok(())
    }

    /// A BODY[...] section; `None` when the part does not exist (or the bytes were not given).
    fn section(&self, section: &Section) -> Option<Cow<'_, [u8]>> {
        let header = &self.info.header;
        let kind = match &section.text {
            None => SectionKind::Full,
            Some(SectionText::Header) => SectionKind::Header,
            Some(SectionText::HeaderFields(names)) => SectionKind::HeaderFields(names),
            Some(SectionText::HeaderFieldsNot(names)) => SectionKind::HeaderFieldsNot(names),
            Some(SectionText::Text) => SectionKind::Text,
            Some(SectionText::Mime) => SectionKind::Mime,
        };
        if section.part.is_empty() {
            match kind {
                SectionKind::Full => return self.raw.map(Cow::Borrowed),
                SectionKind::Header => return Some(Cow::Borrowed(header)),
                SectionKind::HeaderFields(names) => {
                    return Some(Cow::Owned(surel_mime::header_fields(header, names, false)));
                }
                SectionKind::HeaderFieldsNot(names) => {
                    return Some(Cow::Owned(surel_mime::header_fields(header, names, true)));
                }
                SectionKind::Text | SectionKind::Mime => {}
            }
        }
        let raw = self.raw?;
        surel_mime::section(raw, &section.part, kind).map(Cow::Owned)
    }

    /// BINARY[part] content, decoded; empty for a part that does not exist.
    fn binary(&self, part: &[u32]) -> Result<Vec<u8>, FetchError> {
        let Some(raw) = self.raw else {
            return Ok(Vec::new());
        };
        match surel_mime::binary(raw, part) {
            Ok(data) => Ok(data),
            Err(BinaryError::NoSuchPart) => Ok(Vec::new()),
            // RFC 3516 §4.3: the server answers NO [UNKNOWN-CTE].
            Err(BinaryError::UnknownEncoding) => Err(FetchError::UnknownCte),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use surel_store::Flag;
    use surel_types::{BlobId, ModSeq, Uid};

    const SIMPLE: &[u8] =
        b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nHello\r\n";

    const MULTI: &[u8] = b"From: a@example.com\r\n\
Subject: multi\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain\r\n\
\r\n\
one\r\n\
--b\r\n\
Content-Type: application/octet-stream\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
AAEC\r\n\
--b\r\n\
Content-Type: text/plain\r\n\
Content-Transfer-Encoding: x-unknown\r\n\
\r\n\
zzz\r\n\
--b--\r\n";

    fn meta() -> MessageMeta {
        MessageMeta {
            uid: Uid(7),
            modseq: ModSeq(42),
            flags: vec![Flag::Seen, Flag::Keyword("$Forwarded".into())],
            internal_date: Utc.with_ymd_and_hms(2024, 2, 1, 9, 5, 3).unwrap(),
            size: 123,
            blob: BlobId::parse(&"a".repeat(64)).unwrap(),
            auth_results: None,
        }
    }

    fn peek(section: Section, partial: Option<Partial>) -> FetchItem {
        FetchItem::BodySection {
            peek: true,
            section,
            partial,
        }
    }

    fn part(part: &[u32], text: Option<SectionText>) -> Section {
        Section {
            part: part.to_vec(),
            text,
        }
    }

    fn render_with(
        raw: &[u8],
        info: &MessageInfo,
        items: &[FetchItem],
        options: Options,
    ) -> Result<String, FetchError> {
        let mut out = Vec::new();
        render(&mut out, 3, items, &meta(), info, Some(raw), options)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    fn one_bytes(raw: &[u8], item: FetchItem) -> Vec<u8> {
        let mut out = Vec::new();
        let info = MessageInfo::parse(raw);
        render(
            &mut out,
            3,
            &[item],
            &meta(),
            &info,
            Some(raw),
            Options::default(),
        )
        .unwrap();
        out
    }

    fn one(raw: &[u8], item: FetchItem) -> String {
        let info = MessageInfo::parse(raw);
        render_with(raw, &info, &[item], Options::default()).unwrap()
    }

    fn hand_info() -> MessageInfo {
        MessageInfo {
            envelope: b"(\"env\")".to_vec(),
            body: b"(\"body\")".to_vec(),
            body_structure: b"(\"bs\")".to_vec(),
            header: b"From: a@example.com\r\nTo: b@example.com\r\n\r\n".to_vec(),
            sent: None,
        }
    }

    #[test]
    fn needs_follow_the_items() {
        let top_header = peek(part(&[], Some(SectionText::Header)), None);
        let fields = peek(
            part(&[], Some(SectionText::HeaderFields(vec!["From".into()]))),
            None,
        );
        let part_header = peek(part(&[1], Some(SectionText::Header)), None);
        let text = peek(part(&[], Some(SectionText::Text)), None);
        let read = FetchItem::BodySection {
            peek: false,
            section: part(&[], Some(SectionText::Header)),
            partial: None,
        };
        let n = |parsed, raw, sets_seen| Needs {
            parsed,
            raw,
            sets_seen,
        };
        let table: Vec<(Vec<FetchItem>, Needs)> = vec![
            (
                vec![FetchItem::Flags, FetchItem::Uid],
                n(false, false, false),
            ),
            (
                vec![FetchItem::InternalDate, FetchItem::Rfc822Size],
                n(false, false, false),
            ),
            (vec![FetchItem::ModSeq], n(false, false, false)),
            (vec![FetchItem::Envelope], n(true, false, false)),
            (vec![FetchItem::BodyStructure], n(true, false, false)),
            (vec![FetchItem::Body], n(true, false, false)),
            (vec![FetchItem::Rfc822Header], n(true, false, false)),
            (vec![top_header], n(true, false, false)),
            (vec![fields], n(true, false, false)),
            (vec![read], n(true, false, true)),
            (vec![part_header], n(false, true, false)),
            (vec![text], n(false, true, false)),
            (vec![FetchItem::Rfc822], n(false, true, true)),
            (vec![FetchItem::Rfc822Text], n(false, true, true)),
            (
                vec![FetchItem::Binary {
                    peek: true,
                    part: vec![1],
                    partial: None,
                }],
                n(false, true, false),
            ),
            (
                vec![FetchItem::Binary {
                    peek: false,
                    part: vec![1],
                    partial: None,
                }],
                n(false, true, true),
            ),
            (
                vec![FetchItem::BinarySize { part: vec![1] }],
                n(false, true, false),
            ),
            (
                vec![FetchItem::Envelope, FetchItem::Rfc822],
                n(true, true, true),
            ),
        ];
        for (items, want) in table {
            assert_eq!(needs(&items), want, "{items:?}");
        }
    }

    #[test]
    fn simple_items() {
        let info = hand_info();
        let table: Vec<(FetchItem, &str)> = vec![
            (FetchItem::Flags, "FLAGS (\\Seen $Forwarded)"),
            (
                FetchItem::InternalDate,
                "INTERNALDATE \"01-Feb-2024 09:05:03 +0000\"",
            ),
            (FetchItem::Rfc822Size, "RFC822.SIZE 123"),
            (FetchItem::Envelope, "ENVELOPE (\"env\")"),
            (FetchItem::Body, "BODY (\"body\")"),
            (FetchItem::BodyStructure, "BODYSTRUCTURE (\"bs\")"),
            (FetchItem::Uid, "UID 7"),
            (FetchItem::ModSeq, "MODSEQ (42)"),
            (
                FetchItem::Rfc822Header,
                "RFC822.HEADER {42}\r\nFrom: a@example.com\r\nTo: b@example.com\r\n\r\n",
            ),
        ];
        for (item, want) in table {
            let got = render_with(
                SIMPLE,
                &info,
                std::slice::from_ref(&item),
                Options::default(),
            )
            .unwrap();
            assert_eq!(got, format!("* 3 FETCH ({want})\r\n"), "{item:?}");
        }
    }

    #[test]
    fn empty_flags() {
        let mut m = meta();
        m.flags.clear();
        let mut out = Vec::new();
        render(
            &mut out,
            1,
            &[FetchItem::Flags],
            &m,
            &hand_info(),
            None,
            Options::default(),
        )
        .unwrap();
        assert_eq!(out, b"* 1 FETCH (FLAGS ())\r\n");
    }

    #[test]
    fn whole_message_items() {
        assert_eq!(
            one(SIMPLE, FetchItem::Rfc822),
            format!(
                "* 3 FETCH (RFC822 {{{}}}\r\n{})\r\n",
                SIMPLE.len(),
                String::from_utf8_lossy(SIMPLE)
            )
        );
        assert_eq!(
            one(SIMPLE, FetchItem::Rfc822Text),
            "* 3 FETCH (RFC822.TEXT {7}\r\nHello\r\n)\r\n"
        );
        assert_eq!(
            one(SIMPLE, FetchItem::Rfc822Header),
            "* 3 FETCH (RFC822.HEADER {55}\r\nFrom: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\n)\r\n"
        );
        assert_eq!(
            one(SIMPLE, peek(part(&[], None), None)),
            format!(
                "* 3 FETCH (BODY[] {{{}}}\r\n{})\r\n",
                SIMPLE.len(),
                String::from_utf8_lossy(SIMPLE)
            )
        );
    }

    #[test]
    fn body_sections_echo_what_was_asked() {
        let fields = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let table: Vec<(&[u8], FetchItem, &str)> = vec![
            (
                SIMPLE,
                peek(part(&[], Some(SectionText::Text)), None),
                "BODY[TEXT] {7}\r\nHello\r\n",
            ),
            (
                SIMPLE,
                peek(part(&[], Some(SectionText::Header)), None),
                "BODY[HEADER] {55}\r\nFrom: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\n",
            ),
            (
                SIMPLE,
                peek(
                    part(
                        &[],
                        Some(SectionText::HeaderFields(fields(&["subject", "To"]))),
                    ),
                    None,
                ),
                "BODY[HEADER.FIELDS (subject To)] {34}\r\nTo: b@example.com\r\nSubject: hi\r\n\r\n",
            ),
            (
                SIMPLE,
                peek(
                    part(
                        &[],
                        Some(SectionText::HeaderFieldsNot(fields(&["FROM", "TO"]))),
                    ),
                    None,
                ),
                "BODY[HEADER.FIELDS.NOT (FROM TO)] {15}\r\nSubject: hi\r\n\r\n",
            ),
            (MULTI, peek(part(&[1], None), None), "BODY[1] {3}\r\none"),
            (
                MULTI,
                peek(part(&[1], Some(SectionText::Mime)), None),
                "BODY[1.MIME] {28}\r\nContent-Type: text/plain\r\n\r\n",
            ),
            (MULTI, peek(part(&[2], None), None), "BODY[2] {4}\r\nAAEC"),
            // A part that does not exist: an empty string.
            (MULTI, peek(part(&[9], None), None), "BODY[9] \"\""),
            (
                MULTI,
                peek(part(&[9, 1], Some(SectionText::Text)), None),
                "BODY[9.1.TEXT] \"\"",
            ),
        ];
        for (raw, item, want) in table {
            assert_eq!(
                one(raw, item.clone()),
                format!("* 3 FETCH ({want})\r\n"),
                "{item:?}"
            );
        }
    }

    #[test]
    fn partial_answers_with_the_origin() {
        let p = |offset, length| Some(Partial { offset, length });
        let text = || part(&[], Some(SectionText::Text));
        let table: Vec<(FetchItem, &str)> = vec![
            (peek(text(), p(0, 3)), "BODY[TEXT]<0> {3}\r\nHel"),
            (peek(text(), p(2, 100)), "BODY[TEXT]<2> {5}\r\nllo\r\n"),
            (peek(text(), p(7, 10)), "BODY[TEXT]<7> \"\""),
            (
                peek(text(), p(4_000_000_000, 10)),
                "BODY[TEXT]<4000000000> \"\"",
            ),
            (peek(text(), p(1, 0)), "BODY[TEXT]<1> \"\""),
            (peek(part(&[], None), p(6, 4)), "BODY[]<6> {4}\r\na@ex"),
        ];
        for (item, want) in table {
            assert_eq!(
                one(SIMPLE, item.clone()),
                format!("* 3 FETCH ({want})\r\n"),
                "{item:?}"
            );
        }
    }

    #[test]
    fn binary_items() {
        let bin = |part: &[u32], partial| FetchItem::Binary {
            peek: true,
            part: part.to_vec(),
            partial,
        };
        let table: Vec<(FetchItem, &str)> = vec![
            (bin(&[1], None), "BINARY[1] {3}\r\none"),
            (bin(&[2], None), "BINARY[2] ~{3}\r\n\0\x01\x02"),
            (
                bin(
                    &[2],
                    Some(Partial {
                        offset: 0,
                        length: 2,
                    }),
                ),
                "BINARY[2]<0> ~{2}\r\n\0\x01",
            ),
            (
                bin(
                    &[2],
                    Some(Partial {
                        offset: 1,
                        length: 1,
                    }),
                ),
                "BINARY[2]<1> {1}\r\n\x01",
            ),
            (
                bin(
                    &[2],
                    Some(Partial {
                        offset: 2,
                        length: 5,
                    }),
                ),
                "BINARY[2]<2> {1}\r\n\x02",
            ),
            (bin(&[8], None), "BINARY[8] \"\""),
            (FetchItem::BinarySize { part: vec![1] }, "BINARY.SIZE[1] 3"),
            (FetchItem::BinarySize { part: vec![2] }, "BINARY.SIZE[2] 3"),
            (FetchItem::BinarySize { part: vec![8] }, "BINARY.SIZE[8] 0"),
        ];
        for (item, want) in table {
            assert_eq!(
                one(MULTI, item.clone()),
                format!("* 3 FETCH ({want})\r\n"),
                "{item:?}"
            );
        }
    }

    #[test]
    fn flag_updates_are_written_as_render_writes_flags() {
        let state = FlagState {
            uid: surel_types::Uid(7),
            modseq: surel_types::ModSeq(42),
            flags: vec![Flag::Seen, Flag::Keyword("$Label".into())],
        };
        let cases = [
            (Options::default(), "* 3 FETCH (FLAGS (\\Seen $Label))\r\n"),
            (
                Options {
                    add_uid: true,
                    add_modseq: true,
                    ..Options::default()
                },
                "* 3 FETCH (UID 7 FLAGS (\\Seen $Label) MODSEQ (42))\r\n",
            ),
        ];
        for (options, want) in cases {
            let mut out = Vec::new();
            render_flags(&mut out, 3, &state, options);
            assert_eq!(String::from_utf8(out).unwrap(), want);
            // The same as the general renderer for a message in that state.
            let meta = MessageMeta {
                uid: state.uid,
                modseq: state.modseq,
                flags: state.flags.clone(),
                ..meta()
            };
            let mut general = Vec::new();
            render(
                &mut general,
                3,
                &[FetchItem::Flags],
                &meta,
                &MessageInfo::default(),
                None,
                options,
            )
            .unwrap();
            assert_eq!(String::from_utf8(general).unwrap(), want);
        }
    }

    #[test]
    fn nul_never_goes_out_in_a_plain_literal() {
        let raw: &[u8] = b"Subject: b\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n\
--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\
\x00A\x00\r\n--B--\r\n";
        let body = FetchItem::BodySection {
            peek: true,
            section: Section {
                part: vec![1],
                text: None,
            },
            partial: None,
        };
        // BODY[] has no literal8 form: NUL is sent as 0x80, the size kept.
        assert_eq!(
            one_bytes(raw, body),
            b"* 3 FETCH (BODY[1] {3}\r\n\x80A\x80)\r\n".to_vec()
        );
        // BINARY[] gives the octets exactly, as literal8.
        let binary = FetchItem::Binary {
            peek: true,
            part: vec![1],
            partial: None,
        };
        assert_eq!(
            one_bytes(raw, binary),
            b"* 3 FETCH (BINARY[1] ~{3}\r\n\x00A\x00)\r\n".to_vec()
        );
    }

    #[test]
    fn binary_of_an_unknown_encoding_is_an_error_and_writes_nothing() {
        let info = MessageInfo::parse(MULTI);
        for item in [
            FetchItem::Binary {
                peek: true,
                part: vec![3],
                partial: None,
            },
            FetchItem::BinarySize { part: vec![3] },
        ] {
            let mut out = b"before".to_vec();
            let items = [FetchItem::Flags, item];
            let got = render(
                &mut out,
                1,
                &items,
                &meta(),
                &info,
                Some(MULTI),
                Options::default(),
            );
            assert_eq!(got, Err(FetchError::UnknownCte));
            assert_eq!(out, b"before");
        }
    }

    #[test]
    fn order_duplicates_and_added_items() {
        let info = hand_info();
        let items = [
            FetchItem::Rfc822Size,
            FetchItem::Flags,
            FetchItem::Rfc822Size,
            peek(part(&[], Some(SectionText::Text)), None),
            FetchItem::BodySection {
                peek: false,
                section: part(&[], Some(SectionText::Text)),
                partial: None,
            },
        ];
        let uid_modseq = Options {
            utf8: false,
            add_uid: true,
            add_modseq: true,
        };
        let got = render_with(SIMPLE, &info, &items, uid_modseq).unwrap();
        assert_eq!(
            got,
            "* 3 FETCH (UID 7 RFC822.SIZE 123 FLAGS (\\Seen $Forwarded) BODY[TEXT] {7}\r\nHello\r\n MODSEQ (42))\r\n"
        );
        let asked = [FetchItem::ModSeq, FetchItem::Flags, FetchItem::Uid];
        let got = render_with(SIMPLE, &info, &asked, uid_modseq).unwrap();
        assert_eq!(
            got,
            "* 3 FETCH (MODSEQ (42) FLAGS (\\Seen $Forwarded) UID 7)\r\n"
        );
        let got = render_with(SIMPLE, &info, &[FetchItem::Flags], Options::default()).unwrap();
        assert_eq!(got, "* 3 FETCH (FLAGS (\\Seen $Forwarded))\r\n");
    }

    #[test]
    fn missing_raw_never_panics() {
        let mut out = Vec::new();
        let items = [
            FetchItem::Rfc822,
            FetchItem::Rfc822Text,
            peek(part(&[1], None), None),
            FetchItem::Binary {
                peek: true,
                part: vec![1],
                partial: None,
            },
            FetchItem::BinarySize { part: vec![1] },
        ];
        render(
            &mut out,
            1,
            &items,
            &meta(),
            &MessageInfo::default(),
            None,
            Options::default(),
        )
        .unwrap();
        assert_eq!(
            out,
            b"* 1 FETCH (RFC822 \"\" RFC822.TEXT \"\" BODY[1] \"\" BINARY[1] \"\" BINARY.SIZE[1] 0)\r\n"
        );
    }
}
