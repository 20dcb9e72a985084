//! Messages in mailboxes: delivery, listing, flags, expunge. Every function here runs inside the
//! writer's transaction (or a reader's), so each counts as one whole operation.
//!
//! RFC 9051 §2.3.1.1: a message's UID is its mailbox's `uid_next` at arrival, and `uid_next` only
//! grows, so UIDs are never reused. RFC 7162 §3.1: every change takes the mailbox's
//! `highest_modseq + 1` as its MODSEQ.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, Row, params};
use surel_store::{
    Change, ChangeKind, DeliveryTarget, FlagOp, FlagsOutcome, MessageMeta, NewMessage, StoreError,
    Stored,
};
use surel_types::{AccountId, BlobId, MailboxId, ModSeq, Uid};

use crate::blobs::BlobDir;
use crate::error::{Result, corrupt, failure};
use crate::flags::{DELETED, FlagSet, SEEN};
use crate::mailboxes::modseq;
use crate::writer::Done;

/// The counters of a mailbox about to change: its IMAP counters and the counts STATUS reports
/// (migration 7), which every insert, removal and flag change moves here and writes back with
/// [`set_counters`] in the same transaction.
pub(crate) struct Counters {
    pub(crate) id: MailboxId,
    pub(crate) account: AccountId,
    pub(crate) uid_next: u32,
    pub(crate) highest_modseq: i64,
    pub(crate) messages: i64,
    pub(crate) unseen: i64,
    pub(crate) deleted: i64,
    pub(crate) size: i64,
}

impl Counters {
    /// Counts a message with these system flags and size in (`sign` 1) or out (`sign` -1).
    pub(crate) fn count(&mut self, system: i64, size: i64, sign: i64) {
        self.messages += sign;
        self.size += sign * size;
        if system & SEEN == 0 {
            self.unseen += sign;
        }
        if system & DELETED != 0 {
            self.deleted += sign;
        }
    }
}

const COUNTER_COLUMNS: &str =
    "id, account, uid_next, highest_modseq, messages, unseen, deleted, size FROM mailboxes";

fn counters_row(row: &Row<'_>) -> rusqlite::Result<Counters> {
    Ok(Counters {
        id: MailboxId(row.get(0)?),
        account: AccountId(row.get(1)?),
        uid_next: row.get(2)?,
        highest_modseq: row.get(3)?,
        messages: row.get(4)?,
        unseen: row.get(5)?,
        deleted: row.get(6)?,
        size: row.get(7)?,
    })
}

pub(crate) fn counters(conn: &Connection, mailbox: MailboxId) -> Result<Counters> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COUNTER_COLUMNS} WHERE id = ?1"))?;
    stmt.query_row([mailbox.0], counters_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("mailbox {mailbox}")).into())
}

pub(crate) fn set_counters(conn: &Connection, c: &Counters) -> Result<()> {
    conn.prepare_cached(
        "UPDATE mailboxes SET uid_next = ?2, highest_modseq = ?3, messages = ?4, unseen = ?5,
         deleted = ?6, size = ?7 WHERE id = ?1",
    )?
    .execute(params![
        c.id.0,
        c.uid_next,
        c.highest_modseq,
        c.messages,
        c.unseen,
        c.deleted,
        c.size
    ])?;
    Ok(())
}

/// The columns of one message row, as inserted.
pub(crate) struct NewRow<'a> {
    pub(crate) system: i64,
    pub(crate) keywords: &'a str,
    pub(crate) internal_date: i64,
    pub(crate) size: i64,
    pub(crate) blob: &'a str,
    pub(crate) auth_results: Option<&'a str>,
}

/// Adds one message to the mailbox whose counters `c` holds: the next UID, the next MODSEQ.
/// The caller writes the counters back (once, after several inserts) with [`set_counters`].
pub(crate) fn insert_row(conn: &Connection, c: &mut Counters, row: &NewRow<'_>) -> Result<Uid> {
    let uid = c.uid_next;
    c.uid_next = uid
        .checked_add(1)
        .ok_or_else(|| failure(format!("mailbox {} has used every UID", c.id)))?;
    c.highest_modseq += 1;
    c.count(row.system, row.size, 1);
    conn.prepare_cached(
        "INSERT INTO messages
         (mailbox, uid, modseq, flags, keywords, internal_date, size, blob, auth_results)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        c.id.0,
        uid,
        c.highest_modseq,
        row.system,
        row.keywords,
        row.internal_date,
        row.size,
        row.blob,
        row.auth_results
    ])?;
    Ok(Uid(uid))
}

/// Keeps the parse of a blob's content (surel-mime) so FETCH never re-parses it.
pub(crate) fn cache_parse(conn: &Connection, blob: &BlobId, parsed: &[u8]) -> Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO blob_cache (blob, parsed) VALUES (?1, ?2)")?
        .execute(params![blob.as_str(), parsed])?;
    Ok(())
}

/// Records one delivered message in every target's mailbox. The blob was stored by the caller;
/// it is checked again here, under the write lock, because garbage collection (which deletes
/// blobs only under that lock) may have removed it in between.
pub(crate) fn deliver(
    conn: &Connection,
    blobs: &BlobDir,
    blob: &BlobId,
    parsed: &[u8],
    message: &NewMessage,
    flags: &FlagSet,
    targets: &[DeliveryTarget],
) -> Result<Done<Vec<Stored>>> {
    blobs.ensure(blob, &message.bytes)?;
    cache_parse(conn, blob, parsed)?;
    let keywords = flags.keywords();
    let row = NewRow {
        system: flags.system(),
        keywords: &keywords,
        internal_date: message.internal_date.timestamp_micros(),
        size: i64::try_from(message.bytes.len())
            .map_err(|_| StoreError::Invalid("message too large".into()))?,
        blob: blob.as_str(),
        auth_results: message.auth_results.as_deref(),
    };
    let mut find = conn.prepare_cached(&format!(
        // The named mailbox if the account has it, else its INBOX.
        "SELECT {COUNTER_COLUMNS}
         WHERE account = ?1 AND name IN (?2, 'INBOX') ORDER BY name = ?2 DESC LIMIT 1"
    ))?;
    let mut done = Done::quiet(Vec::with_capacity(targets.len()));
    for target in targets {
        let mut c = find
            .query_row(
                params![target.account.0, target.mailbox.as_str()],
                counters_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("account {}", target.account)))?;
        let uid = insert_row(conn, &mut c, &row)?;
        set_counters(conn, &c)?;
        let modseq = ModSeq(c.highest_modseq.unsigned_abs());
        done.value.push(Stored {
            account: c.account,
            mailbox: c.id,
            uid,
            modseq,
        });
        done.changes.push((
            c.account,
            Change {
                mailbox: c.id,
                modseq,
                kind: ChangeKind::Appended(uid),
            },
        ));
    }
    Ok(done)
}

/// APPEND: one message into one existing mailbox.
pub(crate) fn append(
    conn: &Connection,
    blobs: &BlobDir,
    blob: &BlobId,
    parsed: &[u8],
    mailbox: MailboxId,
    message: &NewMessage,
    flags: &FlagSet,
) -> Result<Done<Stored>> {
    blobs.ensure(blob, &message.bytes)?;
    cache_parse(conn, blob, parsed)?;
    let mut c = counters(conn, mailbox)?;
    let keywords = flags.keywords();
    let uid = insert_row(
        conn,
        &mut c,
        &NewRow {
            system: flags.system(),
            keywords: &keywords,
            internal_date: message.internal_date.timestamp_micros(),
            size: i64::try_from(message.bytes.len())
                .map_err(|_| StoreError::Invalid("message too large".into()))?,
            blob: blob.as_str(),
            auth_results: message.auth_results.as_deref(),
        },
    )?;
    set_counters(conn, &c)?;
    let modseq = ModSeq(c.highest_modseq.unsigned_abs());
    let stored = Stored {
        account: c.account,
        mailbox,
        uid,
        modseq,
    };
    let change = Change {
        mailbox,
        modseq,
        kind: ChangeKind::Appended(uid),
    };
    Ok(Done {
        value: stored,
        changes: vec![(c.account, change)],
    })
}

pub(crate) const MESSAGE_COLUMNS: &str =
    "SELECT uid, modseq, flags, keywords, internal_date, size, blob, auth_results FROM messages";

pub(crate) fn message_row(row: &Row<'_>) -> rusqlite::Result<MessageMeta> {
    let micros: i64 = row.get(4)?;
    let internal_date = chrono::DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| corrupt(4, BadValue(micros.to_string())))?;
    let blob: String = row.get(6)?;
    Ok(MessageMeta {
        uid: Uid(row.get(0)?),
        modseq: modseq(row, 1)?,
        flags: FlagSet::decode(row.get(2)?, &row.get::<_, String>(3)?).to_flags(),
        internal_date,
        size: u64::try_from(row.get::<_, i64>(5)?).map_err(|e| corrupt(5, e))?,
        blob: BlobId::parse(&blob).ok_or_else(|| corrupt(6, BadValue(blob)))?,
        auth_results: row.get(7)?,
    })
}

/// A stored value the schema does not allow.
#[derive(Debug, thiserror::Error)]
#[error("unexpected value {0:?}")]
struct BadValue(String);

pub(crate) fn list(conn: &Connection, mailbox: MailboxId) -> Result<Vec<MessageMeta>> {
    counters(conn, mailbox)?;
    let mut stmt = conn.prepare_cached(&format!(
        "{MESSAGE_COLUMNS} WHERE mailbox = ?1 ORDER BY uid"
    ))?;
    let rows = stmt.query_map([mailbox.0], message_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Applies a flag change. The messages whose flags change all get the same new MODSEQ (RFC 7162
/// lets messages changed by one command share one); those whose flags stay as they were keep
/// theirs. With `unchanged_since`, a message whose MODSEQ is above it is left alone and listed
/// in `failed` (RFC 7162 §3.1.3), whether or not the change would have altered it.
pub(crate) fn store_flags(
    conn: &Connection,
    mailbox: MailboxId,
    uids: &[Uid],
    op: FlagOp,
    given: &FlagSet,
    unchanged_since: Option<ModSeq>,
) -> Result<Done<FlagsOutcome>> {
    let mut c = counters(conn, mailbox)?;
    let modseq = c.highest_modseq + 1;
    let mut get = conn.prepare_cached(&format!(
        "{MESSAGE_COLUMNS} WHERE mailbox = ?1 AND uid = ?2"
    ))?;
    let mut update =
        conn.prepare_cached("UPDATE messages SET flags = ?3, keywords = ?4, modseq = ?5 WHERE mailbox = ?1 AND uid = ?2")?;
    let mut done = Done::quiet(FlagsOutcome::default());
    let mut changed = Vec::new();
    for uid in uids.iter().collect::<BTreeSet<_>>() {
        let Some(mut meta) = get
            .query_row(params![mailbox.0, uid.0], message_row)
            .optional()?
        else {
            continue;
        };
        if unchanged_since.is_some_and(|limit| meta.modseq > limit) {
            done.value.failed.push(*uid);
            continue;
        }
        let have = FlagSet::new(&meta.flags)?;
        let want = have.apply(op, given);
        if want == have {
            done.value.unchanged.push(meta);
            continue;
        }
        update.execute(params![
            mailbox.0,
            uid.0,
            want.system(),
            want.keywords(),
            modseq
        ])?;
        let size = i64::try_from(meta.size).unwrap_or(i64::MAX);
        c.count(have.system(), size, -1);
        c.count(want.system(), size, 1);
        meta.flags = want.to_flags();
        meta.modseq = ModSeq(modseq.unsigned_abs());
        changed.push(*uid);
        done.value.changed.push(meta);
    }
    if !changed.is_empty() {
        c.highest_modseq = modseq;
        set_counters(conn, &c)?;
        let change = Change {
            mailbox,
            modseq: ModSeq(modseq.unsigned_abs()),
            kind: ChangeKind::Flags(changed),
        };
        done.changes.push((c.account, change));
    }
    Ok(done)
}

/// [`store_flags`] without UNCHANGEDSINCE: the new state of every message that exists, by UID.
pub(crate) fn set_flags(
    conn: &Connection,
    mailbox: MailboxId,
    uids: &[Uid],
    op: FlagOp,
    given: &FlagSet,
) -> Result<Done<Vec<MessageMeta>>> {
    let done = store_flags(conn, mailbox, uids, op, given, None)?;
    let mut all = done.value.changed;
    all.extend(done.value.unchanged);
    all.sort_by_key(|m| m.uid);
    Ok(Done {
        value: all,
        changes: done.changes,
    })
}

/// Removes messages; the mailbox's HIGHESTMODSEQ moves on (RFC 7162 QRESYNC: an expunge is a
/// change a client resynchronises from) and `uid_next` stays, so the UIDs are never given again.
pub(crate) fn expunge(
    conn: &Connection,
    mailbox: MailboxId,
    uids: &[Uid],
) -> Result<Done<Vec<Uid>>> {
    let mut c = counters(conn, mailbox)?;
    let removed = remove_rows(conn, &mut c, uids)?;
    let mut done = Done::quiet(removed.clone());
    if !removed.is_empty() {
        set_counters(conn, &c)?;
        let change = Change {
            mailbox,
            modseq: ModSeq(c.highest_modseq.unsigned_abs()),
            kind: ChangeKind::Expunged(removed),
        };
        done.changes.push((c.account, change));
    }
    Ok(done)
}

/// Deletes the given messages of the mailbox `c` counts for, leaving a tombstone with one new
/// MODSEQ for each (RFC 7162 §3.2.5: VANISHED). Returns the UIDs that existed, ascending; the
/// caller writes the counters back when any did.
pub(crate) fn remove_rows(conn: &Connection, c: &mut Counters, uids: &[Uid]) -> Result<Vec<Uid>> {
    let modseq = c.highest_modseq + 1;
    let mut delete = conn.prepare_cached(
        "DELETE FROM messages WHERE mailbox = ?1 AND uid = ?2 RETURNING flags, size",
    )?;
    let mut tombstone = conn.prepare_cached(
        "INSERT OR REPLACE INTO expunged (mailbox, uid, modseq) VALUES (?1, ?2, ?3)",
    )?;
    let mut removed = Vec::new();
    for uid in uids.iter().collect::<BTreeSet<_>>() {
        let gone: Option<(i64, i64)> = delete
            .query_row(params![c.id.0, uid.0], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if let Some((system, size)) = gone {
            c.count(system, size, -1);
            tombstone.execute(params![c.id.0, uid.0, modseq])?;
            removed.push(*uid);
        }
    }
    if !removed.is_empty() {
        c.highest_modseq = modseq;
    }
    Ok(removed)
}
