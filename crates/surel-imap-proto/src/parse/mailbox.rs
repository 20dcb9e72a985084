//! Mailbox commands: SELECT/EXAMINE (RFC 7162 parameters), CREATE (RFC 6154 USE), LIST
//! (RFC 5258, RFC 5819, RFC 6154), STATUS, APPEND (RFC 3516, RFC 6855), COPY and MOVE.
use super::{Parser, R};
use crate::command::*;

impl Parser<'_> {
    /// SELECT / EXAMINE with RFC 7162 `(CONDSTORE)` / `(QRESYNC (...))`.
    pub(super) fn select(&mut self, read_only: bool) -> R<CommandBody> {
        let mailbox = self.arg_mailbox()?;
        let mut condstore = false;
        let mut qresync = None;
        if self.eat(b' ') {
            self.expect(b'(', "expected SELECT parameters")?;
            let mut first = true;
            while !self.eat(b')') {
                if !first {
                    self.sp()?;
                }
                first = false;
                let name = self.name().to_ascii_uppercase();
                match name.as_slice() {
                    b"CONDSTORE" => condstore = true,
                    b"QRESYNC" => {
                        self.sp()?;
                        qresync = Some(self.qresync()?);
                    }
                    _ => return Err("unknown SELECT parameter"),
                }
            }
        }
        Ok(CommandBody::Select {
            mailbox,
            read_only,
            condstore,
            qresync,
        })
    }

    fn qresync(&mut self) -> R<QresyncParams> {
        self.expect(b'(', "bad QRESYNC parameters")?;
        let uid_validity = self.nz_number()?;
        self.sp()?;
        let modseq = self.modseq()?;
        let mut known_uids = None;
        let mut seq_match = None;
        if self.eat(b' ') {
            if self.peek() != Some(b'(') {
                known_uids = Some(self.sequence_set()?);
                if self.eat(b' ') {
                    seq_match = Some(self.seq_match()?);
                }
            } else {
                seq_match = Some(self.seq_match()?);
            }
        }
        self.expect(b')', "bad QRESYNC parameters")?;
        Ok(QresyncParams {
            uid_validity,
            modseq,
            known_uids,
            seq_match,
        })
    }

    fn seq_match(&mut self) -> R<(SequenceSet, SequenceSet)> {
        self.expect(b'(', "bad QRESYNC sequence match data")?;
        let seqs = self.sequence_set()?;
        self.sp()?;
        let uids = self.sequence_set()?;
        self.expect(b')', "bad QRESYNC sequence match data")?;
        Ok((seqs, uids))
    }

    /// RFC 6154 §3: `CREATE box (USE (\Sent ...))`.
    pub(super) fn create(&mut self) -> R<CommandBody> {
        let mailbox = self.arg_mailbox()?;
        let mut special_use = Vec::new();
        if self.eat(b' ') {
            self.expect(b'(', "expected CREATE parameters")?;
            let mut first = true;
            while !self.eat(b')') {
                if !first {
                    self.sp()?;
                }
                first = false;
                if !self.name().eq_ignore_ascii_case(b"USE") {
                    return Err("unknown CREATE parameter");
                }
                self.sp()?;
                self.expect(b'(', "expected USE attribute list")?;
                let mut first_attr = true;
                while !self.eat(b')') {
                    if !first_attr {
                        self.sp()?;
                    }
                    first_attr = false;
                    self.expect(b'\\', "bad special-use attribute")?;
                    let name = self.atom("bad special-use attribute")?;
                    let mut attr = String::from("\\");
                    attr.push_str(&Self::utf8(name, "bad special-use attribute")?);
                    special_use.push(attr);
                }
            }
        }
        Ok(CommandBody::Create {
            mailbox,
            special_use,
        })
    }

    /// RFC 9051 / RFC 5258 LIST, with RFC 5819 and RFC 6154 options.
    pub(super) fn list(&mut self) -> R<CommandBody> {
        self.sp()?;
        let mut select = ListSelect::default();
        if self.eat(b'(') {
            let mut first = true;
            while !self.eat(b')') {
                if !first {
                    self.sp()?;
                }
                first = false;
                match self.name().to_ascii_uppercase().as_slice() {
                    b"SUBSCRIBED" => select.subscribed = true,
                    b"REMOTE" => select.remote = true,
                    b"RECURSIVEMATCH" => select.recursive_match = true,
                    b"SPECIAL-USE" => select.special_use = true,
                    _ => return Err("unknown LIST selection option"),
                }
            }
            // RFC 5258 §3.1: RECURSIVEMATCH alone (or with only REMOTE) is an error.
            if select.recursive_match && !select.subscribed && !select.special_use {
                return Err("RECURSIVEMATCH needs another selection option");
            }
            self.sp()?;
        }
        let reference = self.astring()?;
        self.sp()?;
        let mut patterns = Vec::new();
        if self.eat(b'(') {
            loop {
                patterns.push(self.list_mailbox()?);
                if self.eat(b')') {
                    break;
                }
                self.sp()?;
            }
        } else {
            patterns.push(self.list_mailbox()?);
        }
        let mut ret = ListReturn::default();
        if self.eat(b' ') {
            if !self.next_is_word(b"RETURN") {
                return Err("expected RETURN");
            }
            self.pos += 7;
            self.expect(b'(', "expected LIST return options")?;
            let mut first = true;
            while !self.eat(b')') {
                if !first {
                    self.sp()?;
                }
                first = false;
                match self.name().to_ascii_uppercase().as_slice() {
                    b"SUBSCRIBED" => ret.subscribed = true,
                    b"CHILDREN" => ret.children = true,
                    b"SPECIAL-USE" => ret.special_use = true,
                    b"STATUS" => {
                        self.sp()?;
                        ret.status = Some(self.status_items()?);
                    }
                    _ => return Err("unknown LIST return option"),
                }
            }
        }
        Ok(CommandBody::List {
            reference,
            patterns,
            select,
            ret,
        })
    }

    pub(super) fn status_items(&mut self) -> R<Vec<StatusItem>> {
        self.expect(b'(', "expected status items")?;
        let mut items = Vec::new();
        loop {
            let item = match self.name().to_ascii_uppercase().as_slice() {
                b"MESSAGES" => StatusItem::Messages,
                b"RECENT" => StatusItem::Recent,
                b"UIDNEXT" => StatusItem::UidNext,
                b"UIDVALIDITY" => StatusItem::UidValidity,
                b"UNSEEN" => StatusItem::Unseen,
                b"DELETED" => StatusItem::Deleted,
                b"SIZE" => StatusItem::Size,
                b"HIGHESTMODSEQ" => StatusItem::HighestModSeq,
                b"APPENDLIMIT" => StatusItem::AppendLimit,
                _ => return Err("unknown status item"),
            };
            items.push(item);
            if self.eat(b')') {
                return Ok(items);
            }
            self.sp()?;
        }
    }

    /// `APPEND box [flags] [date-time] literal`, or RFC 6855 `UTF8 (literal8)`.
    pub(super) fn append(&mut self) -> R<CommandBody> {
        let mailbox = self.arg_mailbox()?;
        self.sp()?;
        let mut flags = Vec::new();
        if self.peek() == Some(b'(') {
            flags = self.flag_list()?;
            self.sp()?;
        }
        let mut date = None;
        if self.peek() == Some(b'"') {
            date = Some(self.date_time()?);
            self.sp()?;
        }
        let (message, binary) = if self.next_is_word(b"UTF8") {
            // RFC 6855 §4: `"UTF8" SP "(" literal8 ")"`.
            self.pos += 5;
            self.expect(b'(', "expected ( after UTF8")?;
            if self.peek() != Some(b'~') {
                return Err("UTF8 message must be a literal8");
            }
            let lit = self.literal()?;
            self.expect(b')', "expected ) after UTF8 message")?;
            lit
        } else if self.is_literal_start() {
            self.literal()?
        } else {
            return Err("message must be a literal");
        };
        Ok(CommandBody::Append {
            mailbox,
            flags,
            date,
            message,
            binary,
        })
    }

    pub(super) fn copy_move(&mut self, uid: bool, is_move: bool) -> R<CommandBody> {
        self.sp()?;
        let set = self.sequence_set()?;
        let mailbox = self.arg_mailbox()?;
        Ok(if is_move {
            CommandBody::Move { uid, set, mailbox }
        } else {
            CommandBody::Copy { uid, set, mailbox }
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::command::*;
    use crate::parse::parse_command;
    use crate::parse::tests::*;
    use CommandBody as B;
    use chrono::DateTime;

    #[test]
    fn select_examine() {
        let sel = |m: &str, ro, cs, q| B::Select {
            mailbox: v(m),
            read_only: ro,
            condstore: cs,
            qresync: q,
        };
        assert_eq!(ok("A142 SELECT INBOX"), sel("INBOX", false, false, None));
        assert_eq!(ok("A142 SELECT inbox"), sel("INBOX", false, false, None));
        assert_eq!(
            ok("A932 EXAMINE blurdybloop"),
            sel("blurdybloop", true, false, None)
        );
        assert_eq!(
            ok("a select \"Sent Items\""),
            sel("Sent Items", false, false, None)
        );
        assert_eq!(
            ok("a SELECT ~peter/mail/&U,BTFw-"),
            sel("~peter/mail/&U,BTFw-", false, false, None)
        );
        assert_eq!(
            ok("a142 SELECT INBOX (CONDSTORE)"),
            sel("INBOX", false, true, None)
        );
        // RFC 7162 §3.2.5.2 examples.
        assert_eq!(
            ok("A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))"),
            sel(
                "INBOX",
                false,
                false,
                Some(QresyncParams {
                    uid_validity: 67890007,
                    modseq: 20050715194045000,
                    known_uids: Some(set(&[(41, 41), (43, 211), (214, 541)])),
                    seq_match: None,
                })
            )
        );
        assert_eq!(
            ok(
                "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))"
            ),
            sel(
                "INBOX",
                false,
                false,
                Some(QresyncParams {
                    uid_validity: 67890007,
                    modseq: 90060115194045000,
                    known_uids: Some(set(&[(1, 29997)])),
                    seq_match: Some((
                        set(&[(5000, 5000), (7500, 7500), (9000, 9000), (9990, 9999)]),
                        set(&[
                            (15000, 15000),
                            (22500, 22500),
                            (27000, 27000),
                            (29970, 29970),
                            (29973, 29973),
                            (29976, 29976),
                            (29979, 29979),
                            (29982, 29982),
                            (29985, 29985),
                            (29988, 29988),
                            (29991, 29991),
                            (29994, 29994),
                            (29997, 29997),
                        ])
                    )),
                })
            )
        );
        assert_eq!(
            ok("a EXAMINE x (CONDSTORE QRESYNC (1 2))"),
            sel(
                "x",
                true,
                true,
                Some(QresyncParams {
                    uid_validity: 1,
                    modseq: 2,
                    known_uids: None,
                    seq_match: None
                })
            )
        );
        assert_eq!(err("a SELECT x (FOO)").reason, "unknown SELECT parameter");
        assert!(parse_command(b"a SELECT x (QRESYNC (0 2))\r\n").is_err());
        assert!(parse_command(b"a SELECT x (QRESYNC (1 9223372036854775808))\r\n").is_err());
        assert_eq!(err("a SELECT").reason, "missing mailbox name");
    }

    #[test]
    fn mailbox_management() {
        assert_eq!(
            ok("A003 CREATE owatagusiam/"),
            B::Create {
                mailbox: v("owatagusiam/"),
                special_use: vec![]
            }
        );
        // RFC 6154 §5.2.
        assert_eq!(
            ok(r"t1 CREATE MySpecial (USE (\Drafts \Sent))"),
            B::Create {
                mailbox: v("MySpecial"),
                special_use: vec![r"\Drafts".into(), r"\Sent".into()]
            }
        );
        assert_eq!(
            err(r"t1 CREATE x (USE (Sent))").reason,
            "bad special-use attribute"
        );
        assert_eq!(ok("A683 DELETE blurdybloop"), B::Delete(v("blurdybloop")));
        assert_eq!(
            ok("A683 RENAME blurdybloop sarasoop"),
            B::Rename {
                from: v("blurdybloop"),
                to: v("sarasoop")
            }
        );
        assert_eq!(
            ok("A002 SUBSCRIBE #news.comp.mail.mime"),
            B::Subscribe(v("#news.comp.mail.mime"))
        );
        assert_eq!(ok("A002 UNSUBSCRIBE \"a b\""), B::Unsubscribe(v("a b")));
        assert_eq!(
            ok("A042 STATUS blurdybloop (UIDNEXT MESSAGES)"),
            B::Status {
                mailbox: v("blurdybloop"),
                items: vec![StatusItem::UidNext, StatusItem::Messages]
            }
        );
        assert_eq!(
            ok(
                "a STATUS x (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ APPENDLIMIT)"
            ),
            B::Status {
                mailbox: v("x"),
                items: vec![
                    StatusItem::Messages,
                    StatusItem::Recent,
                    StatusItem::UidNext,
                    StatusItem::UidValidity,
                    StatusItem::Unseen,
                    StatusItem::Deleted,
                    StatusItem::Size,
                    StatusItem::HighestModSeq,
                    StatusItem::AppendLimit
                ]
            }
        );
        assert_eq!(err("a STATUS x (FOO)").reason, "unknown status item");
        assert_eq!(err("a STATUS x ()").reason, "unknown status item");
    }

    fn list(
        reference: &str,
        patterns: &[&str],
        select: ListSelect,
        ret: ListReturn,
    ) -> CommandBody {
        B::List {
            reference: v(reference),
            patterns: patterns.iter().map(|p| v(p)).collect(),
            select,
            ret,
        }
    }

    #[test]
    fn list_basic() {
        let d = ListSelect::default;
        let r = ListReturn::default;
        assert_eq!(ok(r#"A101 LIST "" "*""#), list("", &["*"], d(), r()));
        assert_eq!(ok(r#"A101 LIST "" """#), list("", &[""], d(), r()));
        assert_eq!(
            ok("A102 LIST #news.comp.mail.misc *"),
            list("#news.comp.mail.misc", &["*"], d(), r())
        );
        assert_eq!(
            ok("A103 LIST /usr/staff/jones \"\""),
            list("/usr/staff/jones", &[""], d(), r())
        );
        assert_eq!(ok("A202 LIST ~/Mail/ %"), list("~/Mail/", &["%"], d(), r()));
        assert_eq!(
            ok("a LIST \"\" foo/%/]x*"),
            list("", &["foo/%/]x*"], d(), r())
        );
        assert_eq!(
            ok("A002 LSUB \"#news.\" \"comp.mail.*\""),
            B::Lsub {
                reference: v("#news."),
                pattern: v("comp.mail.*")
            }
        );
        assert_eq!(
            ok("A002 LSUB \"\" %"),
            B::Lsub {
                reference: v(""),
                pattern: v("%")
            }
        );
        assert_eq!(err("a LIST \"\"").reason, "missing argument");
    }

    #[test]
    fn list_extended() {
        let r = ListReturn::default;
        // RFC 5258 §6 examples.
        assert_eq!(
            ok(r#"A02 LIST (SUBSCRIBED) "" "*""#),
            list(
                "",
                &["*"],
                ListSelect {
                    subscribed: true,
                    ..Default::default()
                },
                r()
            )
        );
        assert_eq!(
            ok(r#"A03 LIST () "" "%" RETURN (CHILDREN)"#),
            list(
                "",
                &["%"],
                ListSelect::default(),
                ListReturn {
                    children: true,
                    ..r()
                }
            )
        );
        assert_eq!(
            ok(r#"A04 LIST (REMOTE) "" "%" RETURN (CHILDREN)"#),
            list(
                "",
                &["%"],
                ListSelect {
                    remote: true,
                    ..Default::default()
                },
                ListReturn {
                    children: true,
                    ..r()
                }
            )
        );
        assert_eq!(
            ok(r#"C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (SUBSCRIBED)"#),
            list(
                "",
                &["%"],
                ListSelect {
                    subscribed: true,
                    recursive_match: true,
                    ..Default::default()
                },
                ListReturn {
                    subscribed: true,
                    ..r()
                }
            )
        );
        assert_eq!(
            ok(r#"BBB LIST "" ("INBOX" "Drafts" "Sent/%")"#),
            list(
                "",
                &["INBOX", "Drafts", "Sent/%"],
                ListSelect::default(),
                r()
            )
        );
        assert_eq!(
            ok(
                r#"a LIST (SUBSCRIBED REMOTE RECURSIVEMATCH SPECIAL-USE) "" ("a" "b/%") RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN SIZE))"#
            ),
            list(
                "",
                &["a", "b/%"],
                ListSelect {
                    subscribed: true,
                    remote: true,
                    recursive_match: true,
                    special_use: true
                },
                ListReturn {
                    subscribed: true,
                    children: true,
                    special_use: true,
                    status: Some(vec![
                        StatusItem::Messages,
                        StatusItem::Unseen,
                        StatusItem::Size
                    ])
                }
            )
        );
        // RFC 6154 §5.1, RFC 5819 §3.
        assert_eq!(
            ok(r#"t1 LIST "" "%" RETURN (SPECIAL-USE)"#),
            list(
                "",
                &["%"],
                ListSelect::default(),
                ListReturn {
                    special_use: true,
                    ..r()
                }
            )
        );
        assert_eq!(
            ok(r#"A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))"#),
            list(
                "",
                &["%"],
                ListSelect::default(),
                ListReturn {
                    status: Some(vec![StatusItem::Messages, StatusItem::Unseen]),
                    ..r()
                }
            )
        );
        assert_eq!(
            err(r#"a LIST (RECURSIVEMATCH) "" %"#).reason,
            "RECURSIVEMATCH needs another selection option"
        );
        assert_eq!(
            err(r#"a LIST (FOO) "" %"#).reason,
            "unknown LIST selection option"
        );
        assert_eq!(
            err(r#"a LIST "" % RETURN (FOO)"#).reason,
            "unknown LIST return option"
        );
        assert_eq!(err(r#"a LIST "" % FOO (BAR)"#).reason, "expected RETURN");
    }

    #[test]
    fn append() {
        let app = |m: &str, flags: Vec<Flag>, date: Option<&str>, msg: &[u8], binary| B::Append {
            mailbox: v(m),
            flags,
            date: date.map(|d| DateTime::parse_from_str(d, "%d-%b-%Y %H:%M:%S %z").unwrap()),
            message: msg.to_vec(),
            binary,
        };
        let msg = b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nSubject: afternoon meeting\r\n\r\nHello Joe\r\n";
        let mut input =
            format!("A003 APPEND saved-messages (\\Seen) {{{}}}\r\n", msg.len()).into_bytes();
        input.extend_from_slice(msg);
        assert_eq!(
            ok_bytes(&input),
            app("saved-messages", vec![Flag::Seen], None, msg, false)
        );
        assert_eq!(
            ok_bytes(b"a APPEND INBOX {3+}\r\nabc"),
            app("INBOX", vec![], None, b"abc", false)
        );
        assert_eq!(
            ok_bytes(
                b"a APPEND x (\\Seen $Forwarded \\Draft) \" 7-Feb-1994 21:52:25 -0800\" {1}\r\nz"
            ),
            app(
                "x",
                vec![Flag::Seen, Flag::Keyword("$Forwarded".into()), Flag::Draft],
                Some("07-Feb-1994 21:52:25 -0800"),
                b"z",
                false
            )
        );
        assert_eq!(
            ok_bytes(b"a APPEND x \"28-Nov-2026 06:00:00 +0000\" ~{2}\r\n\0\xff"),
            app(
                "x",
                vec![],
                Some("28-Nov-2026 06:00:00 +0000"),
                b"\0\xff",
                true
            )
        );
        assert_eq!(
            ok_bytes(b"a APPEND x () UTF8 (~{3+}\r\nabc)"),
            app("x", vec![], None, b"abc", true)
        );
        assert_eq!(err("a APPEND x \"abc\"").reason, "bad date-time");
        assert_eq!(
            err("a APPEND x \"01-Feb-1994 21:52:25 +0000\" \"abc\"").reason,
            "message must be a literal"
        );
        assert_eq!(err("a APPEND x (\\*) {0}\r\n").reason, "\\* is not a flag");
        assert_eq!(
            err("a APPEND x \"31-Feb-1994 21:52:25 +0000\" {0}\r\n").reason,
            "bad date-time"
        );
        assert_eq!(
            err("a APPEND x \"01-Feb-1994 21:52:25 +9900\" {0}\r\n").reason,
            "bad date-time"
        );
        assert_eq!(
            err("a APPEND x UTF8 ({1}\r\nz)").reason,
            "UTF8 message must be a literal8"
        );
        assert_eq!(err("a APPEND x {6}\r\nabc").reason, "literal truncated");
    }

    #[test]
    fn copy_move() {
        assert_eq!(
            ok("A003 COPY 2:4 MEETING"),
            B::Copy {
                uid: false,
                set: set(&[(2, 4)]),
                mailbox: v("MEETING")
            }
        );
        assert_eq!(
            ok("a UID MOVE 42:69 foo"),
            B::Move {
                uid: true,
                set: set(&[(42, 69)]),
                mailbox: v("foo")
            }
        );
        assert_eq!(
            ok("a uid copy $ Trash"),
            B::Copy {
                uid: true,
                set: SequenceSet::Saved,
                mailbox: v("Trash")
            }
        );
    }
}
