//! The selected mailbox (RFC 9051 §6.4): its sequence-number map, what the client has been
//! told, and the commands that work on messages. The session (session.rs) parses, dispatches
//! and owns the connection; this file owns everything that needs message sequence numbers.
//!
//! Invariants:
//! - `uids` is what the client believes: a message expunged elsewhere stays in it (and stays
//!   addressable, answering nothing) until an EXPUNGE or VANISHED may be sent (RFC 9051 §7.5.1).
//! - Nothing the store reports is lost: `seen_modseq` only moves to a MODSEQ read *before* the
//!   changes were listed, so a race repeats a FLAGS update at worst, never drops one.
//! - No response is built from more than [`CHUNK`] messages' bytes at a time.

mod copy;
mod fetch;
mod search;
mod set;
mod store;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};

use surel_imap_proto::Flag as WireFlag;
use surel_imap_proto::{FetchItem, QresyncParams, SequenceSet};
use surel_mime::MessageInfo;
use surel_store::{Flag, Mailbox, MessageMeta, Store, StoreError};
use surel_types::{ModSeq, Uid};

use crate::fetch::Options;
use crate::response::{Done, Enabled};

/// Messages loaded per `message_rows` call: bounds the bytes held while answering.
const CHUNK: usize = 256;

/// Messages per `message_rows` call when only metadata (flags) is read.
const META_CHUNK: usize = 4096;

/// What a client learns from a sequence number beyond EXISTS (RFC 9051 §9).
const INVALID_SET: &str = "Invalid message sequence number";

/// State of one selected mailbox.
pub struct Selected {
    mailbox: Mailbox,
    read_only: bool,
    /// The sequence map: sequence number n is `uids[n - 1]`, ascending.
    uids: Vec<u32>,
    /// The store's highest MODSEQ as of the last catch-up: every change at or below it has
    /// been read (and told, or queued in `pending_expunge`).
    seen_modseq: u64,
    /// The highest MODSEQ the client has been fully brought up to: `seen_modseq` when no
    /// expunge is pending, else where it stood before the first pending one was noticed.
    told_modseq: u64,
    /// UIDs expunged by someone while EXPUNGE could not be sent; still in `uids`.
    pending_expunge: BTreeSet<u32>,
    /// RFC 5182 `$`: UIDs, ascending.
    saved: Vec<u32>,
    /// RFC 7162 §3.1: CONDSTORE is on for this mailbox (unsolicited FETCH carries MODSEQ).
    condstore: bool,
    /// This session's own flag changes since the last catch-up, UID -> the MODSEQ the client
    /// was already shown, so they are not repeated as unsolicited FETCHes.
    own: HashMap<u32, u64>,
}

impl Selected {
    /// SELECT/EXAMINE (RFC 9051 §6.3.2, RFC 7162 §3.1.2 and §3.2.5): writes the untagged
    /// responses and returns the state plus the tagged OK (`[READ-WRITE]`/`[READ-ONLY]`).
    /// `mailbox` is as the caller has just read it (its counters are what the client is told).
    pub async fn open(
        store: &dyn Store,
        mailbox: Mailbox,
        read_only: bool,
        condstore: bool,
        qresync: Option<&QresyncParams>,
        enabled: &Enabled,
        out: &mut Vec<u8>,
    ) -> Result<(Selected, Done), StoreError> {
        // Counters first (the caller just read them), then the UIDs: a change in between is
        // read again by the next refresh rather than missed.
        let uids: Vec<u32> = store
            .uids(mailbox.id)
            .await?
            .into_iter()
            .map(|u| u.0)
            .collect();
        let highest = mailbox.highest_modseq.0;
        let mut selected = Selected {
            read_only,
            uids,
            seen_modseq: highest,
            told_modseq: highest,
            pending_expunge: BTreeSet::new(),
            saved: Vec::new(),
            // RFC 7162 §3.1 and §3.2.3: SELECT (CONDSTORE), ENABLE CONDSTORE or QRESYNC.
            condstore: condstore || qresync.is_some() || enabled.condstore || enabled.qresync,
            own: HashMap::new(),
            mailbox,
        };

        out.extend_from_slice(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n");
        line(out, format_args!("* {} EXISTS", selected.uids.len()));
        if !enabled.rev2 {
            // RFC 3501 §7.3.2; surel keeps no \Recent (RFC 9051 dropped it).
            out.extend_from_slice(b"* 0 RECENT\r\n");
        }
        let mailbox = &selected.mailbox;
        line(
            out,
            format_args!("* OK [UIDVALIDITY {}] UIDs valid", mailbox.uid_validity),
        );
        // A delivery between reading the counters and the UIDs must not leave UIDNEXT at or
        // below a UID the client is shown.
        let uid_next = selected.uids.last().map_or(mailbox.uid_next.0, |&u| {
            mailbox.uid_next.0.max(u.saturating_add(1))
        });
        line(
            out,
            format_args!("* OK [UIDNEXT {uid_next}] Predicted next UID"),
        );
        if read_only {
            out.extend_from_slice(b"* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
        } else {
            out.extend_from_slice(
                b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] \
                  Flags permitted\r\n",
            );
        }
        line(out, format_args!("* OK [HIGHESTMODSEQ {highest}] Highest"));
        if !enabled.rev2 {
            // RFC 3501 §6.3.1: the first unseen message, if any.
            if let Some(seq) = selected.first_unseen(store).await? {
                line(out, format_args!("* OK [UNSEEN {seq}] First unseen"));
            }
        }
        if let Some(params) = qresync {
            selected.resync(store, params, out).await?;
        }

        let done = if read_only {
            Done::ok("EXAMINE completed").with_code("READ-ONLY")
        } else {
            Done::ok("SELECT completed").with_code("READ-WRITE")
        };
        Ok((selected, done))
    }

    /// The mailbox as of opening (id, name, UIDVALIDITY...).
    pub fn mailbox(&self) -> &Mailbox {
        &self.mailbox
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Messages the client currently counts (its last EXISTS minus the EXPUNGEs it was sent).
    pub fn exists(&self) -> usize {
        self.uids.len()
    }

    /// The highest MODSEQ the client has been fully brought up to (no unannounced expunge at
    /// or below it); what a HIGHESTMODSEQ response code may carry now.
    pub fn highest_modseq(&self) -> u64 {
        self.told_modseq
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
        self.note_enabled(enabled);
        let Some(current) = store.highest_modseq(self.mailbox.id).await? else {
            // Deleted by another session: every message it held is gone.
            self.pending_expunge.extend(self.uids.iter().copied());
            if allow_expunge {
                self.flush_expunges(enabled, out);
            }
            return Ok(());
        };
        let current = current.0;
        if current == self.seen_modseq {
            if allow_expunge {
                self.flush_expunges(enabled, out);
                if self.pending_expunge.is_empty() {
                    self.told_modseq = self.seen_modseq;
                }
            }
            return Ok(());
        }

        let since = ModSeq(self.seen_modseq);
        let changed = store.flags_changed_since(self.mailbox.id, since).await?;
        let gone = store.expunged_since(self.mailbox.id, since).await?;
        let last = self.uids.last().copied().unwrap_or(0);
        let mut new = Vec::new();
        let mut updates = Vec::new();
        for state in changed {
            let uid = state.uid.0;
            if uid > last {
                new.push(uid);
            } else if self.own.get(&uid) == Some(&state.modseq.0)
                || self.pending_expunge.contains(&uid)
                || self.uids.binary_search(&uid).is_err()
            {
                // Already shown to this client, or not one it knows.
            } else {
                updates.push(state);
            }
        }
        for uid in gone {
            if self.uids.binary_search(&uid.0).is_ok() {
                self.pending_expunge.insert(uid.0);
            }
        }
        self.own.clear();
        self.seen_modseq = self.seen_modseq.max(current);
        let told_before = self.told_modseq;

        if allow_expunge {
            self.flush_expunges(enabled, out);
        }
        if !new.is_empty() {
            new.sort_unstable();
            new.dedup();
            self.uids.extend(new);
            line(out, format_args!("* {} EXISTS", self.uids.len()));
        }
        let options = Options {
            utf8: false,
            // RFC 7162 §3.2.4: under QRESYNC unsolicited FETCHes carry the UID.
            add_uid: enabled.qresync,
            // RFC 7162 §3.1: once CONDSTORE is on, flag updates carry MODSEQ.
            add_modseq: self.condstore,
        };
        for state in &updates {
            if let Some(seq) = self.seq_of(state.uid.0) {
                crate::fetch::render_flags(out, seq, state, options);
            }
        }
        self.told_modseq = if self.pending_expunge.is_empty() {
            self.seen_modseq
        } else {
            told_before
        };
        Ok(())
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
        self.note_enabled(enabled);
        if self.read_only {
            return Ok(Done::no("Mailbox is read-only"));
        }
        // RFC 4315 §2.1: UID EXPUNGE removes only the \Deleted messages of its set.
        let within = uids.map(|set| set::uid_intervals(&self.uids, set, &self.saved));
        let candidates: Vec<u32> = self
            .uids
            .iter()
            .copied()
            .filter(|u| !self.pending_expunge.contains(u))
            .filter(|&u| within.as_ref().is_none_or(|w| set::contains(w, u)))
            .collect();
        let deleted = deleted_among(store, &self.mailbox, &candidates).await?;
        if !deleted.is_empty() {
            let removed = store.expunge(self.mailbox.id, &to_uids(&deleted)).await?;
            self.pending_expunge.extend(removed.iter().map(|u| u.0));
        }
        // Tells these and any other pending expunges, plus whatever else changed.
        self.refresh(store, enabled, true, out).await?;
        let done = Done::ok("EXPUNGE completed");
        Ok(if self.condstore {
            // RFC 7162 §3.1.11 (optional): where the client now stands.
            done.with_code(format!("HIGHESTMODSEQ {}", self.told_modseq))
        } else {
            done
        })
    }

    /// CLOSE: silently expunges \Deleted messages when read-write (no untagged EXPUNGE).
    pub async fn close(&mut self, store: &dyn Store) -> Result<(), StoreError> {
        if self.read_only {
            return Ok(());
        }
        let all: Vec<u32> = store
            .uids(self.mailbox.id)
            .await?
            .into_iter()
            .map(|u| u.0)
            .collect();
        let deleted = deleted_among(store, &self.mailbox, &all).await?;
        if !deleted.is_empty() {
            store.expunge(self.mailbox.id, &to_uids(&deleted)).await?;
        }
        Ok(())
    }

    /// RFC 7162 §3.1: ENABLE CONDSTORE or QRESYNC after SELECT also turns it on here.
    fn note_enabled(&mut self, enabled: &Enabled) {
        if enabled.condstore || enabled.qresync {
            self.condstore = true;
        }
    }

    fn seq_of(&self, uid: u32) -> Option<u32> {
        let position = self.uids.binary_search(&uid).ok()?;
        u32::try_from(position + 1).ok()
    }

    /// Tells the client of every pending expunge and drops those UIDs from the map.
    fn flush_expunges(&mut self, enabled: &Enabled, out: &mut Vec<u8>) {
        if self.pending_expunge.is_empty() {
            return;
        }
        let gone = std::mem::take(&mut self.pending_expunge);
        if enabled.qresync {
            // RFC 7162 §3.2.10: VANISHED replaces EXPUNGE once QRESYNC is enabled.
            let sorted: Vec<u32> = gone.iter().copied().collect();
            out.extend_from_slice(b"* VANISHED ");
            surel_imap_proto::encode::sequence_set(out, &sorted);
            out.extend_from_slice(b"\r\n");
        } else {
            // RFC 9051 §7.5.1: each EXPUNGE renumbers the messages after it; highest first,
            // every number sent is still the one the client knows.
            for uid in gone.iter().rev() {
                if let Some(seq) = self.seq_of(*uid) {
                    line(out, format_args!("* {seq} EXPUNGE"));
                }
            }
        }
        self.uids.retain(|u| !gone.contains(u));
    }

    /// The sequence number of the first message without \Seen.
    async fn first_unseen(&self, store: &dyn Store) -> Result<Option<u32>, StoreError> {
        let first = store.first_unseen(self.mailbox.id).await?;
        Ok(first.and_then(|uid| self.seq_of(uid.0)))
    }

    /// RFC 7162 §3.2.5.1: what changed since the client's cached state, when its
    /// UIDVALIDITY still holds. The store keeps every expunged UID with its MODSEQ, so the
    /// answer is exact and the seq-match data (a way to narrow it without that) is not needed.
    async fn resync(
        &mut self,
        store: &dyn Store,
        params: &QresyncParams,
        out: &mut Vec<u8>,
    ) -> Result<(), StoreError> {
        if params.uid_validity != self.mailbox.uid_validity {
            return Ok(());
        }
        let since = ModSeq(params.modseq);
        let known = params
            .known_uids
            .as_ref()
            .map(|set| set::uid_intervals(&self.uids, set, &[]));
        let vanished: Vec<u32> = store
            .expunged_since(self.mailbox.id, since)
            .await?
            .into_iter()
            .map(|u| u.0)
            .filter(|&u| known.as_ref().is_none_or(|k| set::contains(k, u)))
            .filter(|u| self.uids.binary_search(u).is_err())
            .collect();
        if !vanished.is_empty() {
            out.extend_from_slice(b"* VANISHED (EARLIER) ");
            surel_imap_proto::encode::sequence_set(out, &vanished);
            out.extend_from_slice(b"\r\n");
        }
        let items = [FetchItem::Uid, FetchItem::Flags, FetchItem::ModSeq];
        for meta in store.changed_since(self.mailbox.id, since).await? {
            if meta.modseq.0 > self.seen_modseq {
                // Changed after the counters were read; the next refresh tells it.
                continue;
            }
            if let Some(seq) = self.seq_of(meta.uid.0) {
                render_meta(out, seq, &items, &meta, Options::default());
            }
        }
        Ok(())
    }
}

/// Writes one response line.
fn line(out: &mut Vec<u8>, args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = out.write_fmt(args);
    out.extend_from_slice(b"\r\n");
}

/// A FETCH response made only of metadata (FLAGS, UID, MODSEQ): no parse, no bytes.
fn render_meta(out: &mut Vec<u8>, seq: u32, items: &[FetchItem], meta: &MessageMeta, o: Options) {
    let mark = out.len();
    if crate::fetch::render(out, seq, items, meta, &MessageInfo::default(), None, o).is_err() {
        // Only BINARY can fail, and metadata items never ask for it.
        out.truncate(mark);
    }
}

fn to_uids(sorted: &[u32]) -> Vec<Uid> {
    sorted.iter().map(|&u| Uid(u)).collect()
}

/// Of these (ascending) UIDs, those whose message now has \Deleted.
async fn deleted_among(
    store: &dyn Store,
    mailbox: &Mailbox,
    uids: &[u32],
) -> Result<Vec<u32>, StoreError> {
    let mut deleted = Vec::new();
    for chunk in uids.chunks(META_CHUNK) {
        let rows = store
            .message_rows(mailbox.id, &set::uid_ranges(chunk), false)
            .await?;
        deleted.extend(
            rows.iter()
                .filter(|r| r.meta.flags.contains(&Flag::Deleted))
                .map(|r| r.meta.uid.0),
        );
    }
    Ok(deleted)
}

/// A flag as the store keeps it; `None` for `\Recent` and unknown `\Extension` flags, which
/// a client cannot set (RFC 9051 §2.3.2).
fn store_flag(flag: &WireFlag) -> Option<Flag> {
    match flag {
        WireFlag::Seen => Some(Flag::Seen),
        WireFlag::Answered => Some(Flag::Answered),
        WireFlag::Flagged => Some(Flag::Flagged),
        WireFlag::Deleted => Some(Flag::Deleted),
        WireFlag::Draft => Some(Flag::Draft),
        WireFlag::Recent => None,
        WireFlag::Keyword(k) if k.starts_with('\\') => None,
        WireFlag::Keyword(k) => Some(Flag::Keyword(k.clone())),
    }
}
