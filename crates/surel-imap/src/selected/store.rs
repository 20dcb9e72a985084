//! STORE and UID STORE (RFC 9051 §6.4.6, RFC 7162 §3.1.3 UNCHANGEDSINCE).

use surel_imap_proto::Flag as WireFlag;
use surel_imap_proto::{FetchItem, SequenceSet, StoreOp};
use surel_store::{FlagOp, Store, StoreError};
use surel_types::ModSeq;

use super::{INVALID_SET, Selected, render_meta, set, store_flag, to_uids};
use crate::fetch::Options;
use crate::response::{Done, Enabled};

impl Selected {
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
        self.note_enabled(enabled);
        let Some(flags) = flags.iter().map(store_flag).collect::<Option<Vec<_>>>() else {
            // \Recent is the server's (RFC 3501 §2.3.2); other \Extension flags are not ours.
            return Ok(Done::bad("Flag cannot be stored"));
        };
        if self.read_only {
            return Ok(Done::no("Mailbox is read-only"));
        }
        let Ok(positions) = set::resolve(&self.uids, &self.saved, uid, set) else {
            return Ok(Done::bad(INVALID_SET));
        };
        if unchanged_since.is_some() {
            // RFC 7162 §3.1: UNCHANGEDSINCE turns CONDSTORE on.
            self.condstore = true;
        }
        let uids: Vec<u32> = positions
            .iter()
            .filter_map(|&i| self.uids.get(i).copied())
            .filter(|u| !self.pending_expunge.contains(u))
            .collect();
        if uids.is_empty() {
            return Ok(Done::ok("STORE completed"));
        }
        let op = match op {
            StoreOp::Add => FlagOp::Add,
            StoreOp::Remove => FlagOp::Remove,
            StoreOp::Replace => FlagOp::Replace,
        };
        let outcome = store
            .store_flags(
                self.mailbox.id,
                &to_uids(&uids),
                op,
                &flags,
                unchanged_since.map(ModSeq),
            )
            .await?;
        for meta in &outcome.changed {
            self.own.insert(meta.uid.0, meta.modseq.0);
        }

        let options = Options {
            utf8: false,
            add_uid: uid || enabled.qresync,
            // A silent answer asks for MODSEQ itself, below.
            add_modseq: self.condstore && !silent,
        };
        let mut answered: Vec<_> = if silent && !self.condstore {
            Vec::new()
        } else if silent && unchanged_since.is_none() {
            outcome.changed.iter().collect()
        } else {
            outcome.changed.iter().chain(&outcome.unchanged).collect()
        };
        answered.sort_by_key(|m| m.uid);
        // RFC 7162 §3.1.3: even a .SILENT store tells a CONDSTORE client the new MODSEQ.
        let items: &[FetchItem] = if silent {
            &[FetchItem::ModSeq]
        } else {
            &[FetchItem::Flags]
        };
        for meta in answered {
            if let Some(seq) = self.seq_of(meta.uid.0) {
                render_meta(out, seq, items, meta, options);
            }
        }

        if outcome.failed.is_empty() {
            return Ok(Done::ok("STORE completed"));
        }
        // RFC 7162 §3.1.3: MODIFIED names UIDs for UID STORE, sequence numbers for STORE.
        let mut failed: Vec<u32> = if uid {
            outcome.failed.iter().map(|u| u.0).collect()
        } else {
            outcome
                .failed
                .iter()
                .filter_map(|u| self.seq_of(u.0))
                .collect()
        };
        failed.sort_unstable();
        failed.dedup();
        let mut code = b"MODIFIED ".to_vec();
        surel_imap_proto::encode::sequence_set(&mut code, &failed);
        Ok(Done::ok("Conditional STORE failed").with_code(String::from_utf8_lossy(&code)))
    }
}
