//! FETCH and UID FETCH (RFC 9051 §6.4.5, RFC 7162 §3.1.4 CHANGEDSINCE and §3.2.6 VANISHED).

use surel_imap_proto::{FetchItem, SequenceSet};
use surel_mime::MessageInfo;
use surel_store::{Flag, FlagOp, MessageRow, Store, StoreError};
use surel_types::ModSeq;

use super::{CHUNK, INVALID_SET, Selected, set, to_uids};
use crate::fetch::{self as render, Options};
use crate::output::Output;
use crate::response::{Done, Enabled};

impl Selected {
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
        out: &mut Output<'_>,
    ) -> Result<Done, StoreError> {
        self.note_enabled(enabled);
        let Ok(positions) = set::resolve(&self.uids, &self.saved, uid, set) else {
            return Ok(Done::bad(INVALID_SET));
        };
        // RFC 7162 §3.1: CHANGEDSINCE or the MODSEQ item turns CONDSTORE on.
        if changed_since.is_some() || items.contains(&FetchItem::ModSeq) {
            self.condstore = true;
        }
        if let (true, true, Some(since)) = (uid && vanished, enabled.qresync, changed_since) {
            self.write_vanished_earlier(store, set, since, out).await?;
        }

        let needs = render::needs(items);
        // RFC 9051 §6.4.5: a non-PEEK body item sets \Seen; never in a read-only mailbox.
        let sets_seen = needs.sets_seen && !self.read_only;
        // ...and when that changes the flags, the response says so.
        let with_flags: Vec<FetchItem> = if sets_seen && !items.contains(&FetchItem::Flags) {
            let mut v = items.to_vec();
            v.push(FetchItem::Flags);
            v
        } else {
            items.to_vec()
        };
        let options = Options {
            utf8: enabled.utf8 || enabled.rev2,
            add_uid: uid,
            // RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ.
            add_modseq: changed_since.is_some(),
        };

        let mut unknown_cte = false;
        for chunk in positions.chunks(CHUNK) {
            let uids: Vec<u32> = chunk
                .iter()
                .filter_map(|&i| self.uids.get(i).copied())
                .filter(|u| !self.pending_expunge.contains(u))
                .collect();
            if uids.is_empty() {
                continue;
            }
            let mut seen_now = Vec::new();
            if sets_seen {
                let outcome = store
                    .store_flags(
                        self.mailbox.id,
                        &to_uids(&uids),
                        FlagOp::Add,
                        &[Flag::Seen],
                        None,
                    )
                    .await?;
                for meta in outcome.changed {
                    self.own.insert(meta.uid.0, meta.modseq.0);
                    seen_now.push(meta.uid.0);
                }
            }
            let rows = store
                .message_rows(self.mailbox.id, &set::uid_ranges(&uids), needs.parsed)
                .await?;
            for row in rows {
                let Some(seq) = self.seq_of(row.meta.uid.0) else {
                    continue;
                };
                if changed_since.is_some_and(|since| row.meta.modseq.0 <= since) {
                    continue;
                }
                let items = if seen_now.binary_search(&row.meta.uid.0).is_ok() {
                    &with_flags[..]
                } else {
                    items
                };
                let (info, raw) = load(store, &row, needs.parsed, needs.raw).await?;
                let mark = out.len();
                if render::render(out, seq, items, &row.meta, &info, raw.as_deref(), options)
                    .is_err()
                {
                    // RFC 3516 §4.1: a part we cannot decode fails the command; the other
                    // messages are still answered.
                    out.truncate(mark);
                    unknown_cte = true;
                }
                // Large answers go out as they are made (see crate::output).
                out.spill().await;
                if out.failed() {
                    return Ok(Done::no("FETCH abandoned: the client stopped reading"));
                }
            }
        }
        Ok(if unknown_cte {
            Done::no("Unknown Content-Transfer-Encoding").with_code("UNKNOWN-CTE")
        } else {
            Done::ok("FETCH completed")
        })
    }

    /// RFC 7162 §3.2.6: `* VANISHED (EARLIER) uids` for the UIDs of the set expunged since
    /// `since`; those the client still counts are told by a later EXPUNGE/VANISHED instead.
    async fn write_vanished_earlier(
        &self,
        store: &dyn Store,
        set: &SequenceSet,
        since: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), StoreError> {
        let within = set::uid_intervals(&self.uids, set, &self.saved);
        let gone: Vec<u32> = store
            .expunged_since(self.mailbox.id, ModSeq(since))
            .await?
            .into_iter()
            .map(|u| u.0)
            .filter(|&u| set::contains(&within, u))
            .filter(|u| self.uids.binary_search(u).is_err())
            .collect();
        if !gone.is_empty() {
            out.extend_from_slice(b"* VANISHED (EARLIER) ");
            surel_imap_proto::encode::sequence_set(out, &gone);
            out.extend_from_slice(b"\r\n");
        }
        Ok(())
    }
}

/// The parse and the bytes of one message, as far as they are needed: the cached parse when
/// it decodes, else a fresh parse of the bytes.
pub(super) async fn load(
    store: &dyn Store,
    row: &MessageRow,
    parsed: bool,
    raw: bool,
) -> Result<(MessageInfo, Option<Vec<u8>>), StoreError> {
    let cached = if parsed {
        row.parsed.as_deref().and_then(MessageInfo::decode)
    } else {
        None
    };
    let bytes = if raw || (parsed && cached.is_none()) {
        Some(store.read_blob(&row.meta.blob).await?)
    } else {
        None
    };
    let info = match (cached, &bytes) {
        (Some(info), _) => info,
        (None, Some(bytes)) if parsed => MessageInfo::parse(bytes),
        _ => MessageInfo::default(),
    };
    Ok((info, if raw { bytes } else { None }))
}
