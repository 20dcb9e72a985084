//! SEARCH evaluation and SEARCH/ESEARCH responses (RFC 9051 §6.4.4, RFC 4731, RFC 5182,
//! RFC 7162).
//!
//! Pure: the session loads what [`needs`] asks for each candidate, calls [`matches`], then
//! [`render`]s the result. surel keeps no `\Recent`: RECENT and NEW never match, OLD always does.
use std::cell::OnceCell;

use chrono::{DateTime, NaiveDate};
use surel_imap_proto::encode;
use surel_imap_proto::{SearchKey, SearchReturn, SeqNum, SequenceSet};
use surel_mime::MessageInfo;
use surel_store::{Flag, MessageMeta};

/// What the session must load for every candidate message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub parsed: bool,
    pub raw: bool,
}

/// One message being tested.
pub struct Candidate<'a> {
    pub seq: u32,
    pub meta: &'a MessageMeta,
    pub info: Option<&'a MessageInfo>,
    pub raw: Option<&'a [u8]>,
}

/// What `*` and `$` mean in this mailbox now.
pub struct Context<'a> {
    /// Number of messages (`*` as a sequence number); 0 if empty.
    pub largest_seq: u32,
    /// Largest UID in the mailbox (`*` as a UID); 0 if empty.
    pub largest_uid: u32,
    /// UIDs saved by `SEARCH RETURN (SAVE)` (RFC 5182), ascending; empty if none.
    pub saved: &'a [u32],
}

pub fn needs(key: &SearchKey) -> Needs {
    let mut needs = Needs::default();
    add_needs(key, &mut needs);
    needs
}

fn add_needs(key: &SearchKey, needs: &mut Needs) {
    match key {
        SearchKey::Bcc(_)
        | SearchKey::Cc(_)
        | SearchKey::From(_)
        | SearchKey::To(_)
        | SearchKey::Subject(_)
        | SearchKey::Header(..)
        | SearchKey::SentBefore(_)
        | SearchKey::SentOn(_)
        | SearchKey::SentSince(_) => needs.parsed = true,
        SearchKey::Body(_) => needs.raw = true,
        SearchKey::Text(_) => {
            needs.parsed = true;
            needs.raw = true;
        }
        SearchKey::Not(inner) => add_needs(inner, needs),
        SearchKey::Or(a, b) => {
            add_needs(a, needs);
            add_needs(b, needs);
        }
        SearchKey::And(keys) => keys.iter().for_each(|k| add_needs(k, needs)),
        _ => {}
    }
}

/// Does this message match? Strings in `key` are UTF-8 (the session refused other charsets).
pub fn matches(key: &SearchKey, candidate: &Candidate<'_>, ctx: &Context<'_>) -> bool {
    let eval = Eval {
        candidate,
        ctx,
        body: OnceCell::new(),
        header: OnceCell::new(),
    };
    eval.test(key)
}

/// One candidate under evaluation, with what is costly to compute made once, on first use.
struct Eval<'a, 'c> {
    candidate: &'a Candidate<'c>,
    ctx: &'a Context<'a>,
    /// The body text, lowercased.
    body: OnceCell<String>,
    /// The whole header, raw and decoded, lowercased.
    header: OnceCell<String>,
}

impl Eval<'_, '_> {
    fn test(&self, key: &SearchKey) -> bool {
        let meta = self.candidate.meta;
        match key {
            SearchKey::All => true,
            SearchKey::And(keys) => keys.iter().all(|k| self.test(k)),
            SearchKey::Or(a, b) => self.test(a) || self.test(b),
            SearchKey::Not(k) => !self.test(k),

            SearchKey::Answered => self.has(&Flag::Answered),
            SearchKey::Deleted => self.has(&Flag::Deleted),
            SearchKey::Draft => self.has(&Flag::Draft),
            SearchKey::Flagged => self.has(&Flag::Flagged),
            SearchKey::Seen => self.has(&Flag::Seen),
            SearchKey::Unanswered => !self.has(&Flag::Answered),
            SearchKey::Undeleted => !self.has(&Flag::Deleted),
            SearchKey::Undraft => !self.has(&Flag::Draft),
            SearchKey::Unflagged => !self.has(&Flag::Flagged),
            SearchKey::Unseen => !self.has(&Flag::Seen),
            SearchKey::Keyword(k) => self.has_keyword(k),
            SearchKey::Unkeyword(k) => !self.has_keyword(k),
            // surel keeps no \Recent (RFC 9051 deprecates it): nothing is recent, all is old.
            SearchKey::Recent | SearchKey::New => false,
            SearchKey::Old => true,

            // RFC 9051 §6.4.4: internal date, disregarding time and timezone (taken as UTC).
            SearchKey::Before(d) => meta.internal_date.date_naive() < *d,
            SearchKey::On(d) => meta.internal_date.date_naive() == *d,
            SearchKey::Since(d) => meta.internal_date.date_naive() >= *d,
            SearchKey::SentBefore(d) => self.sent().is_some_and(|s| s < *d),
            SearchKey::SentOn(d) => self.sent().is_some_and(|s| s == *d),
            SearchKey::SentSince(d) => self.sent().is_some_and(|s| s >= *d),

            SearchKey::Larger(n) => meta.size > *n,
            SearchKey::Smaller(n) => meta.size < *n,
            // RFC 7162 §3.1.5: a mod-sequence equal to or greater than the one given.
            SearchKey::ModSeq(n) => meta.modseq.0 >= *n,

            SearchKey::Uid(set) => self.in_set(set, meta.uid.0, self.ctx.largest_uid),
            SearchKey::SequenceSet(set) => {
                self.in_set(set, self.candidate.seq, self.ctx.largest_seq)
            }

            SearchKey::Bcc(s) => self.field_contains("Bcc", s),
            SearchKey::Cc(s) => self.field_contains("Cc", s),
            SearchKey::From(s) => self.field_contains("From", s),
            SearchKey::To(s) => self.field_contains("To", s),
            SearchKey::Subject(s) => self.field_contains("Subject", s),
            SearchKey::Header(name, s) => self.field_contains(name, s),
            SearchKey::Body(s) => self.body().contains(&needle(s)),
            SearchKey::Text(s) => {
                let needle = needle(s);
                self.header().contains(&needle) || self.body().contains(&needle)
            }
        }
    }

    fn has(&self, flag: &Flag) -> bool {
        self.candidate.meta.flags.contains(flag)
    }

    /// Keywords are compared case-insensitively (RFC 9051 §2.3.2: flag names are atoms and
    /// case-insensitive).
    fn has_keyword(&self, keyword: &str) -> bool {
        self.candidate
            .meta
            .flags
            .iter()
            .any(|f| f.as_str().eq_ignore_ascii_case(keyword))
    }

    /// The date of the Date: field (UTC); `None` when it is missing or unparseable.
    fn sent(&self) -> Option<NaiveDate> {
        let seconds = self.candidate.info?.sent?;
        DateTime::from_timestamp(seconds, 0).map(|at| at.date_naive())
    }

    /// `value` is a sequence number or UID; `largest` is what `*` stands for. `$` (RFC 5182)
    /// names messages by saved UID, whichever form the set is used in.
    fn in_set(&self, set: &SequenceSet, value: u32, largest: u32) -> bool {
        match set {
            SequenceSet::Saved => self
                .ctx
                .saved
                .binary_search(&self.candidate.meta.uid.0)
                .is_ok(),
            SequenceSet::Ranges(ranges) => ranges.iter().any(|(a, b)| {
                let resolve = |n: &SeqNum| match n {
                    SeqNum::Value(v) => *v,
                    SeqNum::Largest => largest,
                };
                // RFC 9051 §9 seq-range: `4:2` is `2:4`, so `n:*` with n past the largest
                // still holds the largest.
                let (a, b) = (resolve(a), resolve(b));
                (a.min(b)..=a.max(b)).contains(&value)
            }),
        }
    }

    /// RFC 9051 §6.4.4: a case-insensitive substring of the field's decoded values; an empty
    /// string matches every message that has the field.
    fn field_contains(&self, name: &str, s: &[u8]) -> bool {
        let Some(info) = self.candidate.info else {
            return false;
        };
        let needle = needle(s);
        surel_mime::header_values(&info.header, name)
            .iter()
            .any(|value| fold(value).contains(&needle))
    }

    fn body(&self) -> &str {
        self.body.get_or_init(|| {
            self.candidate
                .raw
                .map(|raw| fold(&surel_mime::body_text(raw)))
                .unwrap_or_default()
        })
    }

    /// Every field of the header: its raw lines (so field names and undecoded text match)
    /// and each field's decoded values.
    fn header(&self) -> &str {
        self.header.get_or_init(|| {
            let Some(info) = self.candidate.info else {
                return String::new();
            };
            let mut text = String::from_utf8_lossy(&info.header).into_owned();
            let mut seen: Vec<String> = Vec::new();
            for name in field_names(&info.header) {
                let key = name.to_ascii_lowercase();
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                for value in surel_mime::header_values(&info.header, &name) {
                    text.push('\n');
                    text.push_str(&value);
                }
            }
            fold(&text)
        })
    }
}

/// Case folding for SEARCH: Unicode lowercase (so "GRÜN" finds "grün"; "ß" and "SS" differ).
fn fold(text: &str) -> String {
    text.to_lowercase()
}

fn needle(s: &[u8]) -> String {
    fold(&String::from_utf8_lossy(s))
}

/// The names of the fields in a header block, in order, with repeats.
fn field_names(header: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    for line in header.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            continue;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(line.get(..colon).unwrap_or_default());
            let name = name.trim();
            if !name.is_empty() {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// Writes the untagged result: `* SEARCH n...` (plain; with ` (MODSEQ m)` when `modseq` is
/// given) or, when `ret` is `Some`, `* ESEARCH (TAG "tag") [UID] MIN.. MAX.. COUNT.. ALL..`
/// (`Some(&[])` means ALL). `results` ascending (sequence numbers, or UIDs when `uid`).
pub fn render(
    out: &mut Vec<u8>,
    tag: &str,
    uid: bool,
    ret: Option<&[SearchReturn]>,
    results: &[u32],
    modseq: Option<u64>,
) {
    let Some(ret) = ret else {
        out.extend_from_slice(b"* SEARCH");
        for n in results {
            out.extend_from_slice(format!(" {n}").as_bytes());
        }
        // RFC 7162 §3.1.5: MODSEQ only with a non-empty result.
        if let Some(m) = modseq.filter(|_| !results.is_empty()) {
            out.extend_from_slice(format!(" (MODSEQ {m})").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        return;
    };
    let asked = |r: SearchReturn| ret.is_empty() && r == SearchReturn::All || ret.contains(&r);
    // RFC 5182 §2.4: SAVE alone returns no ESEARCH response.
    if !ret.is_empty() && ret.iter().all(|r| *r == SearchReturn::Save) {
        return;
    }
    out.extend_from_slice(b"* ESEARCH (TAG ");
    encode::string(out, tag.as_bytes());
    out.push(b')');
    if uid {
        out.extend_from_slice(b" UID");
    }
    // RFC 4731 §3.1: MIN, MAX and ALL are left out when nothing matched; COUNT 0 is not.
    if let (true, Some(min)) = (asked(SearchReturn::Min), results.first()) {
        out.extend_from_slice(format!(" MIN {min}").as_bytes());
    }
    if let (true, Some(max)) = (asked(SearchReturn::Max), results.last()) {
        out.extend_from_slice(format!(" MAX {max}").as_bytes());
    }
    if asked(SearchReturn::Count) {
        out.extend_from_slice(format!(" COUNT {}", results.len()).as_bytes());
    }
    if asked(SearchReturn::All) && !results.is_empty() {
        out.extend_from_slice(b" ALL ");
        encode::sequence_set(out, results);
    }
    if let Some(m) = modseq.filter(|_| !results.is_empty()) {
        out.extend_from_slice(format!(" MODSEQ {m}").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use surel_types::{BlobId, ModSeq, Uid};

    const RAW: &[u8] = b"From: Jos\xc3\xa9 <jose@example.com>\r\n\
To: team@example.org\r\n\
Cc: boss@example.org\r\n\
Subject: =?UTF-8?Q?Gr=C3=BCn_report?=\r\n\
Date: Thu, 01 Feb 2024 23:30:00 +0000\r\n\
X-Empty:\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
The quarterly NUMBERS are in.\r\n";

    fn meta() -> MessageMeta {
        MessageMeta {
            uid: Uid(40),
            modseq: ModSeq(100),
            flags: vec![Flag::Seen, Flag::Flagged, Flag::Keyword("$Junk".into())],
            internal_date: Utc.with_ymd_and_hms(2024, 2, 3, 9, 5, 3).unwrap(),
            size: 123,
            blob: BlobId::parse(&"a".repeat(64)).unwrap(),
            auth_results: None,
        }
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn set(ranges: &[(SeqNum, SeqNum)]) -> SequenceSet {
        SequenceSet::Ranges(ranges.to_vec())
    }

    fn check(key: &SearchKey) -> bool {
        let meta = meta();
        let info = MessageInfo::parse(RAW);
        let candidate = Candidate {
            seq: 4,
            meta: &meta,
            info: Some(&info),
            raw: Some(RAW),
        };
        let ctx = Context {
            largest_seq: 10,
            largest_uid: 90,
            saved: &[3, 40, 77],
        };
        matches(key, &candidate, &ctx)
    }

    #[test]
    fn needs_follow_the_keys() {
        use SearchKey as K;
        let n = |parsed, raw| Needs { parsed, raw };
        let table = [
            (K::All, n(false, false)),
            (K::Seen, n(false, false)),
            (K::Larger(3), n(false, false)),
            (K::From(b"a".to_vec()), n(true, false)),
            (K::Header("X".into(), vec![]), n(true, false)),
            (K::SentOn(date(2024, 1, 1)), n(true, false)),
            (K::Body(b"a".to_vec()), n(false, true)),
            (K::Text(b"a".to_vec()), n(true, true)),
            (K::Not(Box::new(K::Subject(b"x".to_vec()))), n(true, false)),
            (
                K::Or(Box::new(K::Seen), Box::new(K::Body(b"x".to_vec()))),
                n(false, true),
            ),
            (
                K::And(vec![K::Cc(b"x".to_vec()), K::Body(b"x".to_vec())]),
                n(true, true),
            ),
        ];
        for (key, want) in table {
            assert_eq!(needs(&key), want, "{key:?}");
        }
    }

    #[test]
    fn every_key() {
        use SearchKey as K;
        use SeqNum::{Largest, Value};
        let s = |t: &str| t.as_bytes().to_vec();
        let table: Vec<(SearchKey, bool)> = vec![
            (K::All, true),
            (K::Seen, true),
            (K::Unseen, false),
            (K::Flagged, true),
            (K::Unflagged, false),
            (K::Answered, false),
            (K::Unanswered, true),
            (K::Deleted, false),
            (K::Undeleted, true),
            (K::Draft, false),
            (K::Undraft, true),
            (K::Keyword("$junk".into()), true),
            (K::Keyword("$Other".into()), false),
            (K::Unkeyword("$JUNK".into()), false),
            (K::Unkeyword("$Other".into()), true),
            (K::Recent, false),
            (K::New, false),
            (K::Old, true),
            (K::Before(date(2024, 2, 3)), false),
            (K::Before(date(2024, 2, 4)), true),
            (K::On(date(2024, 2, 3)), true),
            (K::On(date(2024, 2, 2)), false),
            (K::Since(date(2024, 2, 3)), true),
            (K::Since(date(2024, 2, 4)), false),
            (K::SentBefore(date(2024, 2, 1)), false),
            (K::SentBefore(date(2024, 2, 2)), true),
            (K::SentOn(date(2024, 2, 1)), true),
            (K::SentSince(date(2024, 2, 1)), true),
            (K::SentSince(date(2024, 2, 2)), false),
            (K::Larger(122), true),
            (K::Larger(123), false),
            (K::Smaller(124), true),
            (K::Smaller(123), false),
            (K::ModSeq(100), true),
            (K::ModSeq(101), false),
            (K::Uid(set(&[(Value(40), Value(40))])), true),
            (K::Uid(set(&[(Value(41), Largest)])), false),
            (K::Uid(set(&[(Value(50), Value(30))])), true),
            (
                K::Uid(set(&[(Value(1), Value(3)), (Value(39), Value(41))])),
                true,
            ),
            (K::Uid(SequenceSet::Saved), true),
            (K::SequenceSet(set(&[(Value(4), Value(4))])), true),
            (K::SequenceSet(set(&[(Value(5), Largest)])), false),
            (K::SequenceSet(set(&[(Largest, Value(2))])), true),
            (K::SequenceSet(SequenceSet::Saved), true),
            (K::From(s("JOSÉ")), true),
            (K::From(s("jose@example.COM")), true),
            (K::From(s("team")), false),
            (K::To(s("TEAM@")), true),
            (K::Cc(s("boss")), true),
            (K::Bcc(s("")), false),
            (K::Subject(s("grün")), true),
            (K::Subject(s("GRÜN REPORT")), true),
            (K::Subject(s("=?UTF-8?")), false),
            (K::Header("x-empty".into(), vec![]), true),
            (K::Header("X-Missing".into(), vec![]), false),
            (K::Header("content-type".into(), s("UTF-8")), true),
            (K::Body(s("numbers are")), true),
            (K::Body(s("report")), false),
            (K::Text(s("report")), true),
            (K::Text(s("quarterly")), true),
            (K::Text(s("x-empty")), true),
            (K::Text(s("absent")), false),
            (K::Not(Box::new(K::Seen)), false),
            (K::Or(Box::new(K::Answered), Box::new(K::Flagged)), true),
            (K::Or(Box::new(K::Answered), Box::new(K::Draft)), false),
            (K::And(vec![]), true),
            (
                K::And(vec![K::Seen, K::Body(s("in.")), K::Body(s("the"))]),
                true,
            ),
            (K::And(vec![K::Seen, K::Answered]), false),
        ];
        for (key, want) in table {
            assert_eq!(check(&key), want, "{key:?}");
        }
    }

    #[test]
    fn star_past_the_largest_and_empty_mailboxes() {
        use SeqNum::{Largest, Value};
        let meta = meta();
        let candidate = |seq| Candidate {
            seq,
            meta: &meta,
            info: None,
            raw: None,
        };
        let ctx = Context {
            largest_seq: 4,
            largest_uid: 40,
            saved: &[],
        };
        // RFC 9051 §6.4.8: `n:*` with n past the largest still holds the largest.
        let key = SearchKey::SequenceSet(set(&[(Value(9), Largest)]));
        assert!(matches(&key, &candidate(4), &ctx));
        assert!(!matches(&key, &candidate(3), &ctx));
        let key = SearchKey::Uid(set(&[(Value(100), Largest)]));
        assert!(matches(&key, &candidate(4), &ctx));
        // Nothing saved: `$` is empty.
        assert!(!matches(
            &SearchKey::Uid(SequenceSet::Saved),
            &candidate(4),
            &ctx
        ));
        // Without the parse, header keys and SENT* do not match (and never panic).
        assert!(!matches(&SearchKey::From(vec![]), &candidate(4), &ctx));
        assert!(!matches(
            &SearchKey::SentSince(date(1970, 1, 1)),
            &candidate(4),
            &ctx
        ));
        assert!(!matches(
            &SearchKey::Text(b"x".to_vec()),
            &candidate(4),
            &ctx
        ));
    }

    #[test]
    fn a_message_without_date_never_matches_sent_keys() {
        let meta = meta();
        let info = MessageInfo {
            header: b"Subject: x\r\n\r\n".to_vec(),
            ..MessageInfo::default()
        };
        let candidate = Candidate {
            seq: 1,
            meta: &meta,
            info: Some(&info),
            raw: None,
        };
        let ctx = Context {
            largest_seq: 1,
            largest_uid: 40,
            saved: &[],
        };
        for key in [
            SearchKey::SentBefore(date(2100, 1, 1)),
            SearchKey::SentOn(date(2024, 2, 1)),
            SearchKey::SentSince(date(1970, 1, 1)),
        ] {
            assert!(!matches(&key, &candidate, &ctx), "{key:?}");
        }
    }

    fn rendered(
        uid: bool,
        ret: Option<&[SearchReturn]>,
        results: &[u32],
        modseq: Option<u64>,
    ) -> String {
        let mut out = Vec::new();
        render(&mut out, "a1", uid, ret, results, modseq);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn plain_search_responses() {
        assert_eq!(
            rendered(false, None, &[2, 5, 7], None),
            "* SEARCH 2 5 7\r\n"
        );
        assert_eq!(rendered(true, None, &[], None), "* SEARCH\r\n");
        assert_eq!(
            rendered(false, None, &[2], Some(9)),
            "* SEARCH 2 (MODSEQ 9)\r\n"
        );
        assert_eq!(rendered(false, None, &[], Some(9)), "* SEARCH\r\n");
    }

    #[test]
    fn esearch_responses() {
        use SearchReturn::{All, Count, Max, Min, Save};
        let r = [2, 5, 6, 7];
        // (uid, return options, results, modseq, response)
        type Row<'a> = (bool, &'a [SearchReturn], &'a [u32], Option<u64>, &'a str);
        let table: Vec<Row<'_>> = vec![
            (
                true,
                &[Min, Max, Count, All],
                &r,
                None,
                "* ESEARCH (TAG \"a1\") UID MIN 2 MAX 7 COUNT 4 ALL 2,5:7\r\n",
            ),
            (
                false,
                &[All, Count, Max, Min],
                &r,
                None,
                "* ESEARCH (TAG \"a1\") MIN 2 MAX 7 COUNT 4 ALL 2,5:7\r\n",
            ),
            (false, &[], &r, None, "* ESEARCH (TAG \"a1\") ALL 2,5:7\r\n"),
            (
                false,
                &[Count],
                &r,
                None,
                "* ESEARCH (TAG \"a1\") COUNT 4\r\n",
            ),
            (false, &[Min], &r, None, "* ESEARCH (TAG \"a1\") MIN 2\r\n"),
            (
                false,
                &[Max, Save],
                &r,
                None,
                "* ESEARCH (TAG \"a1\") MAX 7\r\n",
            ),
            (
                true,
                &[Min, Max, Count, All],
                &[],
                None,
                "* ESEARCH (TAG \"a1\") UID COUNT 0\r\n",
            ),
            (false, &[], &[], None, "* ESEARCH (TAG \"a1\")\r\n"),
            (false, &[Save], &r, None, ""),
            (false, &[Save, Save], &[], None, ""),
            (
                false,
                &[Count],
                &r,
                Some(77),
                "* ESEARCH (TAG \"a1\") COUNT 4 MODSEQ 77\r\n",
            ),
            (
                false,
                &[Count],
                &[],
                Some(77),
                "* ESEARCH (TAG \"a1\") COUNT 0\r\n",
            ),
        ];
        for (uid, ret, results, modseq, want) in table {
            assert_eq!(
                rendered(uid, Some(ret), results, modseq),
                want,
                "{ret:?} {results:?}"
            );
        }
    }
}
