//! COPY, MOVE and their UID forms (RFC 9051 §6.4.7, RFC 6851 MOVE, RFC 4315 COPYUID).

use surel_imap_proto::SequenceSet;
use surel_store::{Mailbox, Store, StoreError};

use super::{INVALID_SET, Selected, set, to_uids};
use crate::response::{Done, Enabled};

impl Selected {
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
        self.note_enabled(enabled);
        if is_move && self.read_only {
            return Ok(Done::no("Mailbox is read-only"));
        }
        let Ok(positions) = set::resolve(&self.uids, &self.saved, uid, set) else {
            return Ok(Done::bad(INVALID_SET));
        };
        let uids: Vec<u32> = positions
            .iter()
            .filter_map(|&i| self.uids.get(i).copied())
            .filter(|u| !self.pending_expunge.contains(u))
            .collect();
        let done = if is_move {
            "MOVE completed"
        } else {
            "COPY completed"
        };
        if uids.is_empty() {
            return Ok(Done::ok(done));
        }
        let pairs = if is_move {
            store
                .move_messages(self.mailbox.id, &to_uids(&uids), target.id)
                .await?
        } else {
            store
                .copy_messages(self.mailbox.id, &to_uids(&uids), target.id)
                .await?
        };
        if pairs.is_empty() {
            return Ok(Done::ok(done));
        }
        // RFC 4315 §3: both sets in the same order; sources went in ascending, and the target
        // hands out ascending UIDs in that order, so each set compacts on its own.
        let mut pairs: Vec<(u32, u32)> = pairs.iter().map(|(s, d)| (s.0, d.0)).collect();
        pairs.sort_unstable();
        let sources: Vec<u32> = pairs.iter().map(|&(s, _)| s).collect();
        let targets: Vec<u32> = pairs.iter().map(|&(_, d)| d).collect();
        let mut code = format!("COPYUID {} ", target.uid_validity).into_bytes();
        surel_imap_proto::encode::sequence_set(&mut code, &sources);
        code.push(b' ');
        surel_imap_proto::encode::sequence_set(&mut code, &targets);
        let code = String::from_utf8_lossy(&code).into_owned();

        if !is_move {
            return Ok(Done::ok(done).with_code(code));
        }
        // RFC 6851 §4.3: COPYUID goes untagged, before the expunges.
        out.extend_from_slice(b"* OK [");
        out.extend_from_slice(code.as_bytes());
        out.extend_from_slice(b"] Moved\r\n");
        self.pending_expunge.extend(sources);
        self.refresh(store, enabled, true, out).await?;
        Ok(Done::ok(done))
    }
}
