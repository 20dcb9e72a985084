//! SEARCH (RFC 9051 §6.4.4) with RFC 4731/5182 RETURN options and RFC 7162 MODSEQ.
use chrono::NaiveDate;

use super::{MAX_DEPTH, Parser, R};
use crate::command::*;

impl Parser<'_> {
    pub(super) fn search(&mut self, uid: bool) -> R<CommandBody> {
        self.sp()?;
        let mut ret = None;
        if self.next_is_word(b"RETURN") {
            self.pos += 7;
            self.expect(b'(', "expected SEARCH return options")?;
            let mut opts = Vec::new();
            while !self.eat(b')') {
                if !opts.is_empty() {
                    self.sp()?;
                }
                opts.push(match self.name().to_ascii_uppercase().as_slice() {
                    b"MIN" => SearchReturn::Min,
                    b"MAX" => SearchReturn::Max,
                    b"ALL" => SearchReturn::All,
                    b"COUNT" => SearchReturn::Count,
                    b"SAVE" => SearchReturn::Save,
                    _ => return Err("unknown SEARCH return option"),
                });
            }
            ret = Some(opts);
            self.sp()?;
        }
        let mut charset = None;
        if self.next_is_word(b"CHARSET") {
            self.pos += 8;
            let cs = if self.peek() == Some(b'"') {
                self.quoted()?
            } else {
                self.atom("missing charset")?.to_vec()
            };
            charset = Some(Self::utf8(&cs, "bad charset")?);
            self.sp()?;
        }
        let mut keys = vec![self.search_key(0)?];
        while self.eat(b' ') {
            keys.push(self.search_key(0)?);
        }
        let criteria = if keys.len() == 1 {
            keys.pop().unwrap_or(SearchKey::All)
        } else {
            SearchKey::And(keys)
        };
        Ok(CommandBody::Search {
            uid,
            charset,
            criteria,
            ret,
        })
    }

    fn search_key(&mut self, depth: usize) -> R<SearchKey> {
        if depth >= MAX_DEPTH {
            return Err("search keys nested too deeply");
        }
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                let mut keys = vec![self.search_key(depth + 1)?];
                while !self.eat(b')') {
                    self.sp()?;
                    keys.push(self.search_key(depth + 1)?);
                }
                return Ok(SearchKey::And(keys));
            }
            Some(b'0'..=b'9' | b'*' | b'$') => {
                return Ok(SearchKey::SequenceSet(self.sequence_set()?));
            }
            None | Some(b'\r' | b'\n') => return Err("missing search key"),
            _ => {}
        }
        let name = self.atom("bad search key")?.to_ascii_uppercase();
        let key = match name.as_slice() {
            b"ALL" => SearchKey::All,
            b"ANSWERED" => SearchKey::Answered,
            b"DELETED" => SearchKey::Deleted,
            b"DRAFT" => SearchKey::Draft,
            b"FLAGGED" => SearchKey::Flagged,
            b"NEW" => SearchKey::New,
            b"OLD" => SearchKey::Old,
            b"RECENT" => SearchKey::Recent,
            b"SEEN" => SearchKey::Seen,
            b"UNANSWERED" => SearchKey::Unanswered,
            b"UNDELETED" => SearchKey::Undeleted,
            b"UNDRAFT" => SearchKey::Undraft,
            b"UNFLAGGED" => SearchKey::Unflagged,
            b"UNSEEN" => SearchKey::Unseen,
            b"BCC" => SearchKey::Bcc(self.arg_astring()?),
            b"BODY" => SearchKey::Body(self.arg_astring()?),
            b"CC" => SearchKey::Cc(self.arg_astring()?),
            b"FROM" => SearchKey::From(self.arg_astring()?),
            b"SUBJECT" => SearchKey::Subject(self.arg_astring()?),
            b"TEXT" => SearchKey::Text(self.arg_astring()?),
            b"TO" => SearchKey::To(self.arg_astring()?),
            b"BEFORE" => SearchKey::Before(self.arg_date()?),
            b"ON" => SearchKey::On(self.arg_date()?),
            b"SINCE" => SearchKey::Since(self.arg_date()?),
            b"SENTBEFORE" => SearchKey::SentBefore(self.arg_date()?),
            b"SENTON" => SearchKey::SentOn(self.arg_date()?),
            b"SENTSINCE" => SearchKey::SentSince(self.arg_date()?),
            b"KEYWORD" | b"UNKEYWORD" => {
                self.sp()?;
                let k = Self::utf8(self.atom("bad keyword")?, "bad keyword")?;
                if name.len() == 7 {
                    SearchKey::Keyword(k)
                } else {
                    SearchKey::Unkeyword(k)
                }
            }
            b"HEADER" => {
                let field = Self::utf8(&self.arg_astring()?, "bad header field name")?;
                SearchKey::Header(field, self.arg_astring()?)
            }
            b"LARGER" => {
                self.sp()?;
                SearchKey::Larger(self.number64()?)
            }
            b"SMALLER" => {
                self.sp()?;
                SearchKey::Smaller(self.number64()?)
            }
            b"UID" => {
                self.sp()?;
                SearchKey::Uid(self.sequence_set()?)
            }
            b"NOT" => {
                self.sp()?;
                SearchKey::Not(Box::new(self.search_key(depth + 1)?))
            }
            b"OR" => {
                self.sp()?;
                let a = self.search_key(depth + 1)?;
                self.sp()?;
                let b = self.search_key(depth + 1)?;
                SearchKey::Or(Box::new(a), Box::new(b))
            }
            b"MODSEQ" => {
                self.sp()?;
                // RFC 7162 §3.1.5: `MODSEQ [entry-name SP entry-type-req] SP n`.
                if self.peek() == Some(b'"') {
                    self.quoted()?;
                    self.sp()?;
                    let kind = self.atom("bad MODSEQ entry type")?.to_ascii_lowercase();
                    if !matches!(kind.as_slice(), b"priv" | b"shared" | b"all") {
                        return Err("bad MODSEQ entry type");
                    }
                    self.sp()?;
                }
                SearchKey::ModSeq(self.modseq()?)
            }
            _ => return Err("unknown search key"),
        };
        Ok(key)
    }

    fn arg_astring(&mut self) -> R<Vec<u8>> {
        self.sp()?;
        self.astring()
    }

    fn arg_date(&mut self) -> R<NaiveDate> {
        self.sp()?;
        self.date()
    }
}

#[cfg(test)]
mod tests {
    use crate::command::*;
    use crate::parse::tests::*;
    use crate::parse::{MAX_DEPTH, parse_command};
    use CommandBody as B;

    fn search(s: &str) -> (Option<String>, SearchKey, Option<Vec<SearchReturn>>) {
        match ok(s) {
            B::Search {
                charset,
                criteria,
                ret,
                ..
            } => (charset, criteria, ret),
            other => panic!("{other:?}"),
        }
    }

    fn key(s: &str) -> SearchKey {
        search(&format!("a SEARCH {s}")).1
    }

    #[test]
    fn search_rfc_examples() {
        use SearchKey as K;
        assert_eq!(
            search("A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""),
            (
                None,
                K::And(vec![
                    K::Flagged,
                    K::Since(date(1994, 2, 1)),
                    K::Not(Box::new(K::From(v("Smith"))))
                ]),
                Some(vec![SearchReturn::Min, SearchReturn::Count])
            )
        );
        assert_eq!(
            search("A283 SEARCH RETURN () FLAGGED"),
            (None, K::Flagged, Some(vec![]))
        );
        assert_eq!(
            search("A284 SEARCH CHARSET UTF-8 TEXT {12}\r\nXXXXXXXXXXXX"),
            (Some("UTF-8".into()), K::Text(v("XXXXXXXXXXXX")), None)
        );
        assert_eq!(
            search("A285 SEARCH RETURN (MIN MAX ALL COUNT SAVE) CHARSET \"utf-8\" ALL"),
            (
                Some("utf-8".into()),
                K::All,
                Some(vec![
                    SearchReturn::Min,
                    SearchReturn::Max,
                    SearchReturn::All,
                    SearchReturn::Count,
                    SearchReturn::Save
                ])
            )
        );
        match ok("a UID SEARCH 1:100 UNDELETED") {
            B::Search { uid, criteria, .. } => {
                assert!(uid);
                assert_eq!(
                    criteria,
                    K::And(vec![K::SequenceSet(set(&[(1, 100)])), K::Undeleted])
                );
            }
            other => panic!("{other:?}"),
        }
        // RFC 7162 §3.1.5 example.
        assert_eq!(
            key("MODSEQ \"/flags/\\\\draft\" all 620162338"),
            K::ModSeq(620162338)
        );
        assert_eq!(key("MODSEQ 0"), K::ModSeq(0));
        // RFC 5182 examples.
        assert_eq!(key("$"), K::SequenceSet(SequenceSet::Saved));
        assert_eq!(
            key("UID $ SMALLER 4096"),
            K::And(vec![K::Uid(SequenceSet::Saved), K::Smaller(4096)])
        );
        assert_eq!(
            key("OR FROM \"a\" (TO b CC c)"),
            K::Or(
                Box::new(K::From(v("a"))),
                Box::new(K::And(vec![K::To(v("b")), K::Cc(v("c"))]))
            )
        );
    }

    #[test]
    fn search_every_key() {
        use SearchKey as K;
        let d = date(1994, 2, 1);
        for (input, want) in [
            ("ALL", K::All),
            ("ANSWERED", K::Answered),
            ("BCC x", K::Bcc(v("x"))),
            ("BEFORE 1-Feb-1994", K::Before(d)),
            ("BODY \"a b\"", K::Body(v("a b"))),
            ("CC x", K::Cc(v("x"))),
            ("DELETED", K::Deleted),
            ("DRAFT", K::Draft),
            ("FLAGGED", K::Flagged),
            ("FROM x", K::From(v("x"))),
            (
                "HEADER Message-ID \"<a@b>\"",
                K::Header("Message-ID".into(), v("<a@b>")),
            ),
            ("HEADER X-Foo \"\"", K::Header("X-Foo".into(), v(""))),
            ("KEYWORD $Junk", K::Keyword("$Junk".into())),
            ("LARGER 10000000000", K::Larger(10_000_000_000)),
            ("NEW", K::New),
            ("NOT SEEN", K::Not(Box::new(K::Seen))),
            ("OLD", K::Old),
            ("ON \"01-Feb-1994\"", K::On(d)),
            ("OR SEEN NEW", K::Or(Box::new(K::Seen), Box::new(K::New))),
            ("RECENT", K::Recent),
            ("SEEN", K::Seen),
            ("SENTBEFORE 01-feb-1994", K::SentBefore(d)),
            ("SENTON 1-FEB-1994", K::SentOn(d)),
            ("SENTSINCE 1-Feb-1994", K::SentSince(d)),
            ("SINCE 1-Feb-1994", K::Since(d)),
            ("SMALLER 5", K::Smaller(5)),
            ("SUBJECT hi", K::Subject(v("hi"))),
            ("TEXT hi", K::Text(v("hi"))),
            ("TO hi", K::To(v("hi"))),
            ("UID 1:*", K::Uid(set(&[(1, 0)]))),
            ("UNANSWERED", K::Unanswered),
            ("UNDELETED", K::Undeleted),
            ("UNDRAFT", K::Undraft),
            ("UNFLAGGED", K::Unflagged),
            ("UNKEYWORD foo", K::Unkeyword("foo".into())),
            ("UNSEEN", K::Unseen),
            ("2,4:*", K::SequenceSet(set(&[(2, 2), (4, 0)]))),
            ("*", K::SequenceSet(set(&[(0, 0)]))),
            ("(SEEN)", K::And(vec![K::Seen])),
            (
                "((SEEN) (NOT (NEW)))",
                K::And(vec![
                    K::And(vec![K::Seen]),
                    K::And(vec![K::Not(Box::new(K::And(vec![K::New])))]),
                ]),
            ),
            ("modseq 5", K::ModSeq(5)),
        ] {
            assert_eq!(key(input), want, "{input}");
        }
        for bad in [
            "",
            "FOO",
            "BEFORE 31-Feb-1994",
            "BEFORE 1-Foo-1994",
            "BEFORE 1-Feb-94",
            "BEFORE \"1-Feb-1994",
            "HEADER x",
            "OR SEEN",
            "NOT",
            "(SEEN",
            "()",
            "SEEN)",
            "LARGER -1",
            "LARGER 99999999999999999999",
            "MODSEQ \"/flags/x\" bogus 1",
            "MODSEQ 9223372036854775808",
            "KEYWORD \\Seen",
            "UID 0",
            "SEEN  NEW",
        ] {
            assert!(
                parse_command(format!("a SEARCH {bad}\r\n").as_bytes()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn search_depth_is_bounded() {
        let deep = |n: usize| format!("a SEARCH {}SEEN{}\r\n", "(".repeat(n), ")".repeat(n));
        assert!(parse_command(deep(MAX_DEPTH - 1).as_bytes()).is_ok());
        let e = parse_command(deep(MAX_DEPTH).as_bytes()).unwrap_err();
        assert_eq!(e.reason, "search keys nested too deeply");
        assert_eq!(e.tag.as_deref(), Some("a"));
        assert!(parse_command(deep(100_000).as_bytes()).is_err());
        let nots = format!("a SEARCH {}SEEN\r\n", "NOT ".repeat(100_000));
        assert!(parse_command(nots.as_bytes()).is_err());
        let ors = format!("a SEARCH {}SEEN{}\r\n", "OR SEEN ".repeat(100_000), "");
        assert!(parse_command(ors.as_bytes()).is_err());
    }
}
