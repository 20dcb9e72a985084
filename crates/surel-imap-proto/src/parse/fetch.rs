//! FETCH (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162 modifiers) and STORE (RFC 7162
//! UNCHANGEDSINCE).
use super::{Parser, R};
use crate::command::*;

impl Parser<'_> {
    pub(super) fn fetch(&mut self, uid: bool) -> R<CommandBody> {
        self.sp()?;
        let set = self.sequence_set()?;
        self.sp()?;
        let items = if self.eat(b'(') {
            let mut items = Vec::new();
            loop {
                items.push(self.fetch_att()?);
                if self.eat(b')') {
                    break;
                }
                self.sp()?;
            }
            items
        } else {
            let start = self.pos;
            let name = self.name().to_ascii_uppercase();
            let fast = [
                FetchItem::Flags,
                FetchItem::InternalDate,
                FetchItem::Rfc822Size,
            ];
            match name.as_slice() {
                b"FAST" => fast.to_vec(),
                b"ALL" => [fast.as_slice(), &[FetchItem::Envelope]].concat(),
                b"FULL" => [fast.as_slice(), &[FetchItem::Envelope, FetchItem::Body]].concat(),
                _ => {
                    self.pos = start;
                    vec![self.fetch_att()?]
                }
            }
        };
        let mut changed_since = None;
        let mut vanished = false;
        if self.eat(b' ') {
            self.expect(b'(', "expected FETCH modifiers")?;
            let mut first = true;
            while !self.eat(b')') {
                if !first {
                    self.sp()?;
                }
                first = false;
                match self.name().to_ascii_uppercase().as_slice() {
                    b"CHANGEDSINCE" => {
                        self.sp()?;
                        changed_since = Some(self.modseq()?);
                    }
                    b"VANISHED" => vanished = true,
                    _ => return Err("unknown FETCH modifier"),
                }
            }
        }
        Ok(CommandBody::Fetch {
            uid,
            set,
            items,
            changed_since,
            vanished,
        })
    }

    fn fetch_att(&mut self) -> R<FetchItem> {
        let name = self.name().to_ascii_uppercase();
        let item = match name.as_slice() {
            b"ENVELOPE" => FetchItem::Envelope,
            b"FLAGS" => FetchItem::Flags,
            b"INTERNALDATE" => FetchItem::InternalDate,
            b"RFC822" => FetchItem::Rfc822,
            b"RFC822.HEADER" => FetchItem::Rfc822Header,
            b"RFC822.SIZE" => FetchItem::Rfc822Size,
            b"RFC822.TEXT" => FetchItem::Rfc822Text,
            b"BODYSTRUCTURE" => FetchItem::BodyStructure,
            b"UID" => FetchItem::Uid,
            b"MODSEQ" => FetchItem::ModSeq,
            b"BODY" if self.peek() != Some(b'[') => FetchItem::Body,
            b"BODY" | b"BODY.PEEK" => {
                let section = self.section()?;
                let partial = self.partial()?;
                FetchItem::BodySection {
                    peek: name.len() > 4,
                    section,
                    partial,
                }
            }
            b"BINARY" | b"BINARY.PEEK" => {
                let part = self.section_binary()?;
                let partial = self.partial()?;
                FetchItem::Binary {
                    peek: name.len() > 6,
                    part,
                    partial,
                }
            }
            b"BINARY.SIZE" => FetchItem::BinarySize {
                part: self.section_binary()?,
            },
            b"" => return Err("missing fetch item"),
            _ => return Err("unknown fetch item"),
        };
        Ok(item)
    }

    fn section(&mut self) -> R<Section> {
        self.expect(b'[', "expected [")?;
        let mut section = Section::default();
        if self.eat(b']') {
            return Ok(section);
        }
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            section
                .part
                .push(self.nz_number().map_err(|_| "bad section part")?);
            if self.eat(b']') {
                return Ok(section);
            }
            self.expect(b'.', "bad section part")?;
        }
        {
            let text = self.name().to_ascii_uppercase();
            let text = match text.as_slice() {
                b"HEADER" => SectionText::Header,
                b"TEXT" => SectionText::Text,
                b"MIME" if !section.part.is_empty() => SectionText::Mime,
                b"HEADER.FIELDS" => {
                    self.sp()?;
                    SectionText::HeaderFields(self.header_list()?)
                }
                b"HEADER.FIELDS.NOT" => {
                    self.sp()?;
                    SectionText::HeaderFieldsNot(self.header_list()?)
                }
                _ => return Err("bad section"),
            };
            section.text = Some(text);
            self.expect(b']', "expected ]")?;
        }
        Ok(section)
    }

    fn header_list(&mut self) -> R<Vec<String>> {
        self.expect(b'(', "expected header field list")?;
        let mut names = Vec::new();
        loop {
            names.push(Self::utf8(&self.astring()?, "bad header field name")?);
            if self.eat(b')') {
                return Ok(names);
            }
            self.sp()?;
        }
    }

    fn section_binary(&mut self) -> R<Vec<u32>> {
        self.expect(b'[', "expected [")?;
        let mut part = Vec::new();
        if self.eat(b']') {
            return Ok(part);
        }
        loop {
            part.push(self.nz_number().map_err(|_| "bad section part")?);
            if self.eat(b']') {
                return Ok(part);
            }
            self.expect(b'.', "bad section part")?;
        }
    }

    fn partial(&mut self) -> R<Option<Partial>> {
        if !self.eat(b'<') {
            return Ok(None);
        }
        let offset = self.number().map_err(|_| "bad partial")?;
        self.expect(b'.', "bad partial")?;
        let length = self.nz_number().map_err(|_| "bad partial")?;
        self.expect(b'>', "bad partial")?;
        Ok(Some(Partial { offset, length }))
    }

    pub(super) fn store(&mut self, uid: bool) -> R<CommandBody> {
        self.sp()?;
        let set = self.sequence_set()?;
        self.sp()?;
        let mut unchanged_since = None;
        if self.eat(b'(') {
            let mut first = true;
            while !self.eat(b')') {
                if !first {
                    self.sp()?;
                }
                first = false;
                if !self.name().eq_ignore_ascii_case(b"UNCHANGEDSINCE") {
                    return Err("unknown STORE modifier");
                }
                self.sp()?;
                unchanged_since = Some(self.modseq()?);
            }
            self.sp()?;
        }
        let op = if self.eat(b'+') {
            StoreOp::Add
        } else if self.eat(b'-') {
            StoreOp::Remove
        } else {
            StoreOp::Replace
        };
        let silent = match self.name().to_ascii_uppercase().as_slice() {
            b"FLAGS" => false,
            b"FLAGS.SILENT" => true,
            _ => return Err("expected FLAGS, +FLAGS or -FLAGS"),
        };
        self.sp()?;
        let flags = if self.peek() == Some(b'(') {
            self.flag_list()?
        } else {
            let mut flags = vec![self.flag()?];
            while self.eat(b' ') {
                flags.push(self.flag()?);
            }
            flags
        };
        Ok(CommandBody::Store {
            uid,
            set,
            op,
            silent,
            flags,
            unchanged_since,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::command::*;
    use crate::parse::parse_command;
    use crate::parse::tests::*;
    use CommandBody as B;

    fn fetch_items(s: &str) -> Vec<FetchItem> {
        match ok(&format!("a FETCH 1 {s}")) {
            B::Fetch { items, .. } => items,
            other => panic!("{other:?}"),
        }
    }

    fn body(
        peek: bool,
        part: &[u32],
        text: Option<SectionText>,
        partial: Option<(u32, u32)>,
    ) -> FetchItem {
        FetchItem::BodySection {
            peek,
            section: Section {
                part: part.to_vec(),
                text,
            },
            partial: partial.map(|(offset, length)| Partial { offset, length }),
        }
    }

    #[test]
    fn fetch_items_and_macros() {
        use FetchItem as F;
        assert_eq!(
            fetch_items("FAST"),
            vec![F::Flags, F::InternalDate, F::Rfc822Size]
        );
        assert_eq!(
            fetch_items("all"),
            vec![F::Flags, F::InternalDate, F::Rfc822Size, F::Envelope]
        );
        assert_eq!(
            fetch_items("FULL"),
            vec![
                F::Flags,
                F::InternalDate,
                F::Rfc822Size,
                F::Envelope,
                F::Body
            ]
        );
        assert_eq!(fetch_items("FLAGS"), vec![F::Flags]);
        assert_eq!(
            fetch_items("(FLAGS BODY[HEADER.FIELDS (DATE FROM)])"),
            vec![
                F::Flags,
                body(
                    false,
                    &[],
                    Some(SectionText::HeaderFields(vec![
                        "DATE".into(),
                        "FROM".into()
                    ])),
                    None
                )
            ]
        );
        assert_eq!(
            fetch_items("BODY[1.2.HEADER.FIELDS (From To)]<0.100>"),
            vec![body(
                false,
                &[1, 2],
                Some(SectionText::HeaderFields(vec!["From".into(), "To".into()])),
                Some((0, 100))
            )]
        );
        assert_eq!(
            fetch_items("body.peek[header.fields.not (\"X-A\" {3}\r\nX-B)]"),
            vec![body(
                true,
                &[],
                Some(SectionText::HeaderFieldsNot(vec![
                    "X-A".into(),
                    "X-B".into()
                ])),
                None
            )]
        );
        assert_eq!(
            fetch_items(
                "(BODY[] BODY[TEXT] BODY[1] BODY[4.2.MIME] BODY[3.HEADER] BODY[2.TEXT]<5.6> BODY BODYSTRUCTURE)"
            ),
            vec![
                body(false, &[], None, None),
                body(false, &[], Some(SectionText::Text), None),
                body(false, &[1], None, None),
                body(false, &[4, 2], Some(SectionText::Mime), None),
                body(false, &[3], Some(SectionText::Header), None),
                body(false, &[2], Some(SectionText::Text), Some((5, 6))),
                F::Body,
                F::BodyStructure,
            ]
        );
        assert_eq!(
            fetch_items(
                "(BINARY[1] BINARY.PEEK[1]<0.10> BINARY.SIZE[1] BINARY[] BINARY.PEEK[1.2.3] BINARY.SIZE[])"
            ),
            vec![
                F::Binary {
                    peek: false,
                    part: vec![1],
                    partial: None
                },
                F::Binary {
                    peek: true,
                    part: vec![1],
                    partial: Some(Partial {
                        offset: 0,
                        length: 10
                    })
                },
                F::BinarySize { part: vec![1] },
                F::Binary {
                    peek: false,
                    part: vec![],
                    partial: None
                },
                F::Binary {
                    peek: true,
                    part: vec![1, 2, 3],
                    partial: None
                },
                F::BinarySize { part: vec![] },
            ]
        );
        assert_eq!(
            fetch_items(
                "(UID MODSEQ ENVELOPE INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT)"
            ),
            vec![
                F::Uid,
                F::ModSeq,
                F::Envelope,
                F::InternalDate,
                F::Rfc822,
                F::Rfc822Header,
                F::Rfc822Size,
                F::Rfc822Text
            ]
        );
        for bad in [
            "()",
            "(FAST)",
            "FOO",
            "BODY[",
            "BODY[MIME]",
            "BODY[1.]",
            "BODY[0]",
            "BODY[1HEADER]",
            "BODY[HEADER.FIELDS]",
            "BODY[HEADER.FIELDS ()]",
            "BODY[]<0>",
            "BODY[]<0.0>",
            "BODY.PEEK",
            "BINARY[TEXT]",
            "BINARY.SIZE[1]<0.1>",
            "(FLAGS",
            "(FLAGS  UID)",
        ] {
            assert!(
                parse_command(format!("a FETCH 1 {bad}\r\n").as_bytes()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn fetch_modifiers() {
        // RFC 7162 §3.1.4.1 and §3.2.6 examples.
        assert_eq!(
            ok("s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)"),
            B::Fetch {
                uid: true,
                set: set(&[(1, 0)]),
                items: vec![FetchItem::Flags],
                changed_since: Some(12345),
                vanished: false
            }
        );
        assert_eq!(
            ok("A2 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 1234 VANISHED)"),
            B::Fetch {
                uid: true,
                set: set(&[(300, 500)]),
                items: vec![FetchItem::Flags],
                changed_since: Some(1234),
                vanished: true
            }
        );
        assert_eq!(
            err("a FETCH 1 FLAGS (FOO)").reason,
            "unknown FETCH modifier"
        );
    }

    fn store(s: &str) -> CommandBody {
        ok(s)
    }

    #[test]
    fn store_forms() {
        assert_eq!(
            store("A003 STORE 2:4 +FLAGS (\\Deleted)"),
            B::Store {
                uid: false,
                set: set(&[(2, 4)]),
                op: StoreOp::Add,
                silent: false,
                flags: vec![Flag::Deleted],
                unchanged_since: None
            }
        );
        assert_eq!(
            store("a UID STORE 1 -FLAGS.SILENT \\Seen $Junk \\Answered \\Flagged \\Recent \\Xyz"),
            B::Store {
                uid: true,
                set: set(&[(1, 1)]),
                op: StoreOp::Remove,
                silent: true,
                flags: vec![
                    Flag::Seen,
                    Flag::Keyword("$Junk".into()),
                    Flag::Answered,
                    Flag::Flagged,
                    Flag::Recent,
                    Flag::Keyword("\\Xyz".into())
                ],
                unchanged_since: None
            }
        );
        assert_eq!(
            store("a store 1:* flags ()"),
            B::Store {
                uid: false,
                set: set(&[(1, 0)]),
                op: StoreOp::Replace,
                silent: false,
                flags: vec![],
                unchanged_since: None
            }
        );
        // RFC 7162 §3.1.3 example.
        assert_eq!(
            store("d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)"),
            B::Store {
                uid: false,
                set: set(&[(7, 7), (5, 5), (9, 9)]),
                op: StoreOp::Add,
                silent: true,
                flags: vec![Flag::Deleted],
                unchanged_since: Some(320162338)
            }
        );
        assert_eq!(
            store("a UID STORE 1 (UNCHANGEDSINCE 0) FLAGS.SILENT ()"),
            B::Store {
                uid: true,
                set: set(&[(1, 1)]),
                op: StoreOp::Replace,
                silent: true,
                flags: vec![],
                unchanged_since: Some(0)
            }
        );
        for bad in [
            "a STORE 1 FLAGS",
            "a STORE 1 +FLAG (\\Seen)",
            "a STORE 1 FLAGS (\\*)",
            "a STORE 1 (FOO 1) FLAGS ()",
            "a STORE 1 FLAGS (\\Seen",
            "a STORE 1 FLAGS \\Seen ",
        ] {
            assert!(
                parse_command(format!("{bad}\r\n").as_bytes()).is_err(),
                "{bad}"
            );
        }
    }
}
