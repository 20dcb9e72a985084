//! The authenticated-state mailbox commands (RFC 9051 §6.3): ENABLE, SELECT/EXAMINE, CREATE,
//! DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE, LIST/LSUB, STATUS.

use surel_imap_proto::{ListReturn, ListSelect, QresyncParams, StatusItem};
use surel_store::StoreError;
use surel_types::{MailboxName, SpecialUse};

use super::{Outcome, Session, State, store_failure};
use crate::list::{self, ListRequest};
use crate::response::Done;
use crate::selected::Selected;

impl Session {
    /// RFC 5161 ENABLE: answers `* ENABLED` with what this command newly switched on; names
    /// we do not know are ignored (RFC 5161 §3.1).
    pub(super) async fn enable(&mut self, names: &[String], out: &mut Vec<u8>) -> Outcome {
        if matches!(self.state, State::Selected(..)) {
            // RFC 5161 §3.1: valid only in the authenticated state.
            return Done::bad("ENABLE is valid only before a mailbox is selected").into();
        }
        let mut newly: Vec<&str> = Vec::new();
        for name in names {
            let flag = match name.to_ascii_uppercase().as_str() {
                "IMAP4REV2" => Some((&mut self.enabled.rev2, "IMAP4rev2")),
                "UTF8=ACCEPT" => Some((&mut self.enabled.utf8, "UTF8=ACCEPT")),
                "CONDSTORE" => Some((&mut self.enabled.condstore, "CONDSTORE")),
                "QRESYNC" => Some((&mut self.enabled.qresync, "QRESYNC")),
                _ => None,
            };
            if let Some((on, spelling)) = flag
                && !*on
            {
                *on = true;
                newly.push(spelling);
            }
        }
        // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
        if self.enabled.qresync {
            self.enabled.condstore = true;
        }
        out.extend_from_slice(b"* ENABLED");
        for name in newly {
            out.push(b' ');
            out.extend_from_slice(name.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        Done::ok("ENABLE completed").into()
    }

    /// SELECT / EXAMINE (RFC 9051 §6.3.2, §6.3.3; RFC 7162 §3.1.2, §3.2.5).
    pub(super) async fn select(
        &mut self,
        raw: &[u8],
        read_only: bool,
        condstore: bool,
        qresync: Option<QresyncParams>,
        out: &mut Vec<u8>,
    ) -> Outcome {
        if qresync.is_some() && !self.enabled.qresync {
            // RFC 7162 §3.2.5: QRESYNC parameters need ENABLE QRESYNC first.
            return Done::bad("the QRESYNC parameter needs ENABLE QRESYNC first").into();
        }
        // RFC 9051 §6.3.2: a selected mailbox is deselected first (without expunge), whether
        // or not the new one can be opened; RFC 7162 §3.2.11 / RFC 9051 §7.1: `[CLOSED]` marks
        // where responses for the old mailbox end.
        let user = match std::mem::replace(&mut self.state, State::Logout) {
            State::Selected(user, _) => {
                out.extend_from_slice(b"* OK [CLOSED] Previous mailbox closed\r\n");
                user
            }
            State::Authenticated(user) => user,
            other => {
                self.state = other;
                return Done::bad("not logged in").into();
            }
        };
        self.state = State::Authenticated(user.clone());
        let name = match self.mailbox_name(raw) {
            Ok(name) => name,
            Err(done) => return done.into(),
        };
        let store = self.ctx.store.clone();
        let mailbox = match store.mailbox(user.account, &name).await {
            Ok(Some(mailbox)) => mailbox,
            Ok(None) => return Done::no("no such mailbox").with_code("NONEXISTENT").into(),
            Err(e) => return store_failure("SELECT", &e).into(),
        };
        if condstore {
            // RFC 7162 §3.1: SELECT (CONDSTORE) is a CONDSTORE-enabling command.
            self.enabled.condstore = true;
        }
        match Selected::open(
            &*store,
            mailbox,
            read_only,
            condstore,
            qresync.as_ref(),
            &self.enabled,
            out,
        )
        .await
        {
            Ok((selected, done)) => {
                if done.kind == crate::response::Kind::Ok {
                    if self.enabled.rev2 {
                        // RFC 9051 §6.3.2: IMAP4rev2 SELECT/EXAMINE returns the mailbox's LIST.
                        self.write_own_list(user.account, selected.mailbox(), out)
                            .await;
                    }
                    self.state = State::Selected(user, Box::new(selected));
                }
                done.into()
            }
            Err(e) => store_failure("SELECT", &e).into(),
        }
    }

    /// CREATE (RFC 9051 §6.3.4, RFC 6154 §3 CREATE-SPECIAL-USE).
    pub(super) async fn create(&mut self, raw: &[u8], special_use: &[String]) -> Done {
        let Some(user) = self.user().cloned() else {
            return Done::bad("not logged in");
        };
        let text = match self.decode_name(raw) {
            Ok(text) => text,
            Err(done) => return done,
        };
        // RFC 9051 §6.3.4: a trailing separator says children are intended; the name is
        // created without it.
        let Ok(name) = MailboxName::parse(text.strip_suffix('/').unwrap_or(&text)) else {
            return Done::no("mailbox name is not valid").with_code("CANNOT");
        };
        let mut uses = Vec::new();
        for attr in special_use {
            match SpecialUse::from_attribute(attr) {
                Some(u) => uses.push(u),
                None => {
                    return Done::no(format!("unknown special use {attr}")).with_code("USEATTR");
                }
            }
        }
        if uses.len() > 1 {
            return Done::no("one special use per mailbox").with_code("USEATTR");
        }
        let store = &self.ctx.store;
        match store.mailbox(user.account, &name).await {
            Ok(Some(_)) => {
                return Done::no("mailbox already exists").with_code("ALREADYEXISTS");
            }
            Ok(None) => {}
            Err(e) => return store_failure("CREATE", &e),
        }
        // RFC 9051 §6.3.4: superior names that do not exist are created too.
        if let Err(done) = self.create_parents(&name).await {
            return done;
        }
        match store
            .create_mailbox(user.account, &name, uses.first().copied())
            .await
        {
            Ok(_) => Done::ok("CREATE completed"),
            Err(e) => store_failure("CREATE", &e),
        }
    }

    /// Creates every missing superior of `name` (`a` and `a/b` for `a/b/c`).
    async fn create_parents(&self, name: &MailboxName) -> Result<(), Done> {
        let Some(user) = self.user() else {
            return Ok(());
        };
        let text = name.as_str();
        for (i, _) in text.match_indices(MailboxName::SEPARATOR) {
            let Some(Ok(parent)) = text.get(..i).map(MailboxName::parse) else {
                continue;
            };
            match self.ctx.store.mailbox(user.account, &parent).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => return Err(store_failure("CREATE", &e)),
            }
            match self
                .ctx
                .store
                .create_mailbox(user.account, &parent, None)
                .await
            {
                Ok(_) | Err(StoreError::Exists(_)) => {}
                Err(e) => return Err(store_failure("CREATE", &e)),
            }
        }
        Ok(())
    }

    /// DELETE (RFC 9051 §6.3.5).
    pub(super) async fn delete(&mut self, raw: &[u8]) -> Done {
        let Some(user) = self.user().cloned() else {
            return Done::bad("not logged in");
        };
        let name = match self.mailbox_name(raw) {
            Ok(name) => name,
            Err(done) => return done,
        };
        if name.is_inbox() {
            return Done::no("INBOX cannot be deleted").with_code("CANNOT");
        }
        if let State::Selected(_, selected) = &self.state
            && selected.mailbox().name == name
        {
            // The session would be left with a mailbox that is gone under it.
            return Done::no("CLOSE or UNSELECT the mailbox before deleting it").with_code("INUSE");
        }
        match self.ctx.store.delete_mailbox(user.account, &name).await {
            Ok(()) => Done::ok("DELETE completed"),
            Err(e) => store_failure("DELETE", &e),
        }
    }

    /// RENAME (RFC 9051 §6.3.6; INBOX's special meaning is the store's).
    pub(super) async fn rename(&mut self, from: &[u8], to: &[u8]) -> Done {
        let Some(user) = self.user().cloned() else {
            return Done::bad("not logged in");
        };
        let (from, to) = match (self.mailbox_name(from), self.mailbox_name(to)) {
            (Ok(from), Ok(to)) => (from, to),
            (Err(done), _) | (_, Err(done)) => return done,
        };
        // RFC 9051 §6.3.6: superior names of the new name are created as needed.
        if let Err(done) = self.create_parents(&to).await {
            return done;
        }
        match self
            .ctx
            .store
            .rename_mailbox(user.account, &from, &to)
            .await
        {
            Ok(()) => Done::ok("RENAME completed"),
            Err(e) => store_failure("RENAME", &e),
        }
    }

    /// SUBSCRIBE / UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8): names need not exist.
    pub(super) async fn subscribe(&mut self, raw: &[u8], subscribed: bool) -> Done {
        let Some(user) = self.user().cloned() else {
            return Done::bad("not logged in");
        };
        let name = match self.mailbox_name(raw) {
            Ok(name) => name,
            Err(done) => return done,
        };
        let what = if subscribed {
            "SUBSCRIBE"
        } else {
            "UNSUBSCRIBE"
        };
        match self
            .ctx
            .store
            .set_subscribed(user.account, &name, subscribed)
            .await
        {
            Ok(()) => Done::ok(format!("{what} completed")),
            Err(e) => store_failure(what, &e),
        }
    }

    /// LIST (RFC 9051 §6.3.9, RFC 5258, RFC 5819) and LSUB (RFC 3501 §6.3.9).
    pub(super) async fn list(
        &mut self,
        reference: &[u8],
        patterns: &[Vec<u8>],
        select: &ListSelect,
        ret: &ListReturn,
        lsub: bool,
        out: &mut Vec<u8>,
    ) -> Done {
        let what = if lsub { "LSUB" } else { "LIST" };
        let Some(user) = self.user().cloned() else {
            return Done::bad("not logged in");
        };
        let reference = match self.decode_name(reference) {
            Ok(text) => text,
            Err(done) => return done,
        };
        let mut decoded = Vec::with_capacity(patterns.len());
        for p in patterns {
            match self.decode_name(p) {
                Ok(text) => decoded.push(text),
                Err(done) => return done,
            }
        }
        let store = &self.ctx.store;
        let (mailboxes, subscriptions) = match (
            store.mailbox_statuses(user.account).await,
            store.subscriptions(user.account).await,
        ) {
            (Ok(m), Ok(s)) => (m, s),
            (Err(e), _) | (_, Err(e)) => return store_failure(what, &e),
        };
        if ret
            .status
            .as_ref()
            .is_some_and(|items| items.contains(&StatusItem::HighestModSeq))
        {
            // RFC 7162 §3.1: asking for HIGHESTMODSEQ enables CONDSTORE.
            self.enabled.condstore = true;
        }
        let request = ListRequest {
            reference: &reference,
            patterns: &decoded,
            select,
            ret,
            lsub,
            rev2: self.enabled.rev2,
        };
        list::list(
            out,
            &request,
            &mailboxes,
            &subscriptions,
            self.utf8_names(),
            self.ctx.append_limit,
        );
        Done::ok(format!("{what} completed"))
    }

    /// STATUS (RFC 9051 §6.3.11); the selected mailbox may be asked about too.
    pub(super) async fn status(
        &mut self,
        raw: &[u8],
        items: &[StatusItem],
        out: &mut Vec<u8>,
    ) -> Done {
        let Some(user) = self.user().cloned() else {
            return Done::bad("not logged in");
        };
        let name = match self.mailbox_name(raw) {
            Ok(name) => name,
            Err(done) => return done,
        };
        let store = &self.ctx.store;
        let found = match store.mailbox(user.account, &name).await {
            Ok(Some(mailbox)) => store.mailbox_status(mailbox.id).await,
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        let status = match found {
            Ok(Some(status)) => status,
            Ok(None) => return Done::no("no such mailbox").with_code("NONEXISTENT"),
            Err(e) => return store_failure("STATUS", &e),
        };
        if items.contains(&StatusItem::HighestModSeq) {
            // RFC 7162 §3.1: STATUS (HIGHESTMODSEQ) is a CONDSTORE-enabling command.
            self.enabled.condstore = true;
        }
        list::status(
            out,
            &status,
            items,
            self.utf8_names(),
            self.ctx.append_limit,
        );
        Done::ok("STATUS completed")
    }

    /// `* LIST (attributes) "/" name` for one mailbox (IMAP4rev2 SELECT/EXAMINE).
    async fn write_own_list(
        &self,
        account: surel_types::AccountId,
        mailbox: &surel_store::Mailbox,
        out: &mut Vec<u8>,
    ) {
        let prefix = format!("{}/", mailbox.name);
        let children = match self.ctx.store.mailboxes(account).await {
            Ok(all) => all.iter().any(|m| m.name.as_str().starts_with(&prefix)),
            Err(_) => false,
        };
        out.extend_from_slice(b"* LIST (");
        out.extend_from_slice(if children {
            b"\\HasChildren"
        } else {
            b"\\HasNoChildren"
        });
        if let Some(special) = mailbox.special_use {
            out.push(b' ');
            out.extend_from_slice(special.attribute().as_bytes());
        }
        out.extend_from_slice(b") \"/\" ");
        surel_imap_proto::encode::mailbox(out, mailbox.name.as_str(), true);
        out.extend_from_slice(b"\r\n");
    }
}
