//! The selected mailbox (RFC 9051 §6.4): its sequence-number map, what the client has been
//! told, and the commands that work on messages. CONTRACT STUB: signatures are the contract
//! between the session (session.rs, which parses, dispatches and owns the connection state) and
//! this file (which owns everything that needs the message sequence numbers).

use surel_imap_proto::Flag as WireFlag;
use surel_imap_proto::{FetchItem, QresyncParams, SearchKey, SearchReturn, SequenceSet, StoreOp};
use surel_store::{Mailbox, Store, StoreError};

use crate::response::{Done, Enabled};

/// State of one selected mailbox.
pub struct Selected {
    mailbox: Mailbox,
    read_only: bool,
}

impl Selected {
    /// SELECT/EXAMINE (RFC 9051 §6.3.2, RFC 7162 §3.1.2 and §3.2.5): writes the untagged
    /// responses and returns the state plus the tagged OK (`[READ-WRITE]`/`[READ-ONLY]`).
    pub async fn open(
        store: &dyn Store,
        mailbox: Mailbox,
        read_only: bool,
        condstore: bool,
        qresync: Option<&QresyncParams>,
        enabled: &Enabled,
        out: &mut Vec<u8>,
    ) -> Result<(Selected, Done), StoreError> {
        let _ = (store, condstore, qresync, enabled, out);
        Ok((Selected { mailbox, read_only }, Done::ok("stub")))
    }

    /// The mailbox as of opening (id, name, UIDVALIDITY...).
    pub fn mailbox(&self) -> &Mailbox {
        &self.mailbox
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Catches up with changes made by anyone (this session included) since the client was
    /// last told: `* n EXISTS`, `* n FETCH (FLAGS ...)` for flag changes made elsewhere, and —
    /// only when `allow_expunge` — `* n EXPUNGE` (or `* VANISHED uids` under QRESYNC).
    /// The session calls it before answering each command (and in IDLE when the change feed
    /// reports this mailbox); it must be cheap when nothing changed.
    pub async fn refresh(
        &mut self,
        store: &dyn Store,
        enabled: &Enabled,
        allow_expunge: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), StoreError> {
        let _ = (store, enabled, allow_expunge, out);
        Ok(())
    }

    /// FETCH / UID FETCH.
    #[allow(clippy::too_many_arguments)]
    pub async fn fetch(
        &mut self,
        store: &dyn Store,
        enabled: &Enabled,
        uid: bool,
        set: &SequenceSet,
        items: &[FetchItem],
        changed_since: Option<u64>,
        vanished: bool,
        out: &mut Vec<u8>,
    ) -> Result<Done, StoreError> {
        let _ = (
            store,
            enabled,
            uid,
            set,
            items,
            changed_since,
            vanished,
            out,
        );
        Ok(Done::ok("stub"))
    }

    /// STORE / UID STORE.
    #[allow(clippy::too_many_arguments)]
    pub async fn store(
        &mut self,
        store: &dyn Store,
        enabled: &Enabled,
        uid: bool,
        set: &SequenceSet,
        op: StoreOp,
        silent: bool,
        flags: &[WireFlag],
        unchanged_since: Option<u64>,
        out: &mut Vec<u8>,
    ) -> Result<Done, StoreError> {
        let _ = (
            store,
            enabled,
            uid,
            set,
            op,
            silent,
            flags,
            unchanged_since,
            out,
        );
        Ok(Done::ok("stub"))
    }

    /// SEARCH / UID SEARCH (charset already checked; strings UTF-8), plain or ESEARCH.
    #[allow(clippy::too_many_arguments)]
    pub async fn search(
        &mut self,
        store: &dyn Store,
        enabled: &Enabled,
        tag: &str,
        uid: bool,
        criteria: &SearchKey,
        ret: Option<&[SearchReturn]>,
        out: &mut Vec<u8>,
    ) -> Result<Done, StoreError> {
        let _ = (store, enabled, tag, uid, criteria, ret, out);
        Ok(Done::ok("stub"))
    }

    /// COPY / MOVE (and their UID forms) into `target` (already looked up by name; the session
    /// answers `NO [TRYCREATE]` itself when it does not exist).
    #[allow(clippy::too_many_arguments)]
    pub async fn copy(
        &mut self,
        store: &dyn Store,
        enabled: &Enabled,
        uid: bool,
        set: &SequenceSet,
        target: &Mailbox,
        is_move: bool,
        out: &mut Vec<u8>,
    ) -> Result<Done, StoreError> {
        let _ = (store, enabled, uid, set, target, is_move, out);
        Ok(Done::ok("stub"))
    }

    /// EXPUNGE (`uids == None`) or UID EXPUNGE set: removes \Deleted messages, answers with
    /// EXPUNGE / VANISHED.
    pub async fn expunge(
        &mut self,
        store: &dyn Store,
        enabled: &Enabled,
        uids: Option<&SequenceSet>,
        out: &mut Vec<u8>,
    ) -> Result<Done, StoreError> {
        let _ = (store, enabled, uids, out);
        Ok(Done::ok("stub"))
    }

    /// CLOSE: silently expunges \Deleted messages when read-write (no untagged EXPUNGE).
    pub async fn close(&mut self, store: &dyn Store) -> Result<(), StoreError> {
        let _ = store;
        Ok(())
    }
}
