//! What IMAP needs beyond delivery: reads by UID range and MODSEQ, COPY/MOVE, mailbox
//! delete/rename, subscriptions and the counts STATUS reports. Every function runs inside the
//! writer's transaction (or a reader's), so each counts as one whole operation.

use rusqlite::{Connection, OptionalExtension, params};
use surel_store::{
    Change, ChangeKind, FlagState, Mailbox, MailboxStatus, MessageMeta, MessageRow, StoreError,
};
use surel_types::{AccountId, MailboxId, MailboxName, ModSeq, Uid};

use crate::error::Result;
use crate::flags::FlagSet;
use crate::mailboxes;
use crate::messages::{
    self, Counters, MESSAGE_COLUMNS, NewRow, counters, insert_row, message_row, set_counters,
};
use crate::writer::Done;

pub(crate) fn highest_modseq(conn: &Connection, id: MailboxId) -> Result<Option<ModSeq>> {
    let mut stmt = conn.prepare_cached("SELECT highest_modseq FROM mailboxes WHERE id = ?1")?;
    Ok(stmt
        .query_row([id.0], |row| mailboxes::modseq(row, 0))
        .optional()?)
}

/// Every mailbox of the account with its counts, by name.
pub(crate) fn statuses(conn: &Connection, account: AccountId) -> Result<Vec<MailboxStatus>> {
    let boxes = mailboxes::list(conn, account)?;
    boxes
        .into_iter()
        .map(|mailbox| with_counts(conn, mailbox))
        .collect()
}

pub(crate) fn status(conn: &Connection, id: MailboxId) -> Result<Option<MailboxStatus>> {
    mailboxes::by_id(conn, id)?
        .map(|mailbox| with_counts(conn, mailbox))
        .transpose()
}

/// The counts of one mailbox, as the writer keeps them (migration 7).
fn with_counts(conn: &Connection, mailbox: Mailbox) -> Result<MailboxStatus> {
    let c = counters(conn, mailbox.id)?;
    let count = |n: i64| u32::try_from(n).unwrap_or(0);
    Ok(MailboxStatus {
        mailbox: Mailbox {
            exists: count(c.messages),
            ..mailbox
        },
        unseen: count(c.unseen),
        deleted: count(c.deleted),
        size: c.size.unsigned_abs(),
    })
}

pub(crate) fn first_unseen(conn: &Connection, mailbox: MailboxId) -> Result<Option<Uid>> {
    counters(conn, mailbox)?;
    let mut stmt = conn.prepare_cached(
        "SELECT uid FROM messages WHERE mailbox = ?1 AND (flags & ?2) = 0 ORDER BY uid LIMIT 1",
    )?;
    Ok(stmt
        .query_row(params![mailbox.0, crate::flags::SEEN], |row| {
            Ok(Uid(row.get(0)?))
        })
        .optional()?)
}

pub(crate) fn uids(conn: &Connection, mailbox: MailboxId) -> Result<Vec<Uid>> {
    counters(conn, mailbox)?;
    let mut stmt =
        conn.prepare_cached("SELECT uid FROM messages WHERE mailbox = ?1 ORDER BY uid")?;
    let rows = stmt.query_map([mailbox.0], |row| Ok(Uid(row.get(0)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The messages in the UID ranges (inclusive, any order, may overlap), ascending by UID, each
/// once; with `with_parsed`, the cached parse of each.
pub(crate) fn rows(
    conn: &Connection,
    mailbox: MailboxId,
    ranges: &[(Uid, Uid)],
    with_parsed: bool,
) -> Result<Vec<MessageRow>> {
    counters(conn, mailbox)?;
    let mut ranges: Vec<(u32, u32)> = ranges
        .iter()
        .map(|(a, b)| (a.0.min(b.0), a.0.max(b.0)))
        .collect();
    ranges.sort_unstable();
    // Merge overlapping and touching ranges so every row is read once, in order.
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    let sql = if with_parsed {
        "SELECT m.uid, m.modseq, m.flags, m.keywords, m.internal_date, m.size, m.blob,
                m.auth_results, c.parsed
         FROM messages m LEFT JOIN blob_cache c ON c.blob = m.blob
         WHERE m.mailbox = ?1 AND m.uid BETWEEN ?2 AND ?3 ORDER BY m.uid"
    } else {
        "SELECT uid, modseq, flags, keywords, internal_date, size, blob, auth_results
         FROM messages WHERE mailbox = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid"
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut out = Vec::new();
    for (lo, hi) in merged {
        let rows = stmt.query_map(params![mailbox.0, lo, hi], |row| {
            Ok(MessageRow {
                meta: message_row(row)?,
                parsed: if with_parsed { row.get(8)? } else { None },
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

pub(crate) fn changed_since(
    conn: &Connection,
    mailbox: MailboxId,
    since: ModSeq,
) -> Result<Vec<MessageMeta>> {
    counters(conn, mailbox)?;
    let mut stmt = conn.prepare_cached(&format!(
        "{MESSAGE_COLUMNS} WHERE mailbox = ?1 AND modseq > ?2 ORDER BY uid"
    ))?;
    let rows = stmt.query_map(params![mailbox.0, modseq_param(since)], message_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn flags_changed_since(
    conn: &Connection,
    mailbox: MailboxId,
    since: ModSeq,
) -> Result<Vec<FlagState>> {
    counters(conn, mailbox)?;
    let mut stmt = conn.prepare_cached(
        "SELECT uid, modseq, flags, keywords FROM messages
         WHERE mailbox = ?1 AND modseq > ?2 ORDER BY uid",
    )?;
    let rows = stmt.query_map(params![mailbox.0, modseq_param(since)], |row| {
        Ok(FlagState {
            uid: Uid(row.get(0)?),
            modseq: mailboxes::modseq(row, 1)?,
            flags: FlagSet::decode(row.get(2)?, &row.get::<_, String>(3)?).to_flags(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn expunged_since(
    conn: &Connection,
    mailbox: MailboxId,
    since: ModSeq,
) -> Result<Vec<Uid>> {
    counters(conn, mailbox)?;
    let mut stmt = conn.prepare_cached(
        "SELECT uid FROM expunged WHERE mailbox = ?1 AND modseq > ?2 ORDER BY uid",
    )?;
    let rows = stmt.query_map(params![mailbox.0, modseq_param(since)], |row| {
        Ok(Uid(row.get(0)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// SQLite integers are signed; a MODSEQ from a client may be anything up to 2^63 - 1 (RFC 7162
/// mod-sequence-value), so larger values are clamped (nothing is above them anyway).
fn modseq_param(m: ModSeq) -> i64 {
    i64::try_from(m.0).unwrap_or(i64::MAX)
}

/// COPY (and the copy half of MOVE): the source rows as they are, new UIDs in the target.
fn copy_rows(
    conn: &Connection,
    from: MailboxId,
    uids: &[Uid],
    target: &mut Counters,
) -> Result<Vec<(Uid, Uid)>> {
    let mut get = conn.prepare_cached(
        "SELECT flags, keywords, internal_date, size, blob, auth_results
         FROM messages WHERE mailbox = ?1 AND uid = ?2",
    )?;
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut pairs = Vec::new();
    for uid in sorted {
        type Columns = (i64, String, i64, i64, String, Option<String>);
        let found: Option<Columns> = get
            .query_row(params![from.0, uid.0], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                ))
            })
            .optional()?;
        let Some((system, keywords, internal_date, size, blob, auth_results)) = found else {
            continue;
        };
        let row = NewRow {
            system,
            keywords: &keywords,
            internal_date,
            size,
            blob: &blob,
            auth_results: auth_results.as_deref(),
        };
        let new = insert_row(conn, target, &row)?;
        pairs.push((uid, new));
    }
    Ok(pairs)
}

fn appended(target: &Counters, pairs: &[(Uid, Uid)]) -> Vec<(AccountId, Change)> {
    let modseq = ModSeq(target.highest_modseq.unsigned_abs());
    pairs
        .iter()
        .map(|(_, new)| {
            let change = Change {
                mailbox: target.id,
                modseq,
                kind: ChangeKind::Appended(*new),
            };
            (target.account, change)
        })
        .collect()
}

pub(crate) fn copy(
    conn: &Connection,
    from: MailboxId,
    uids: &[Uid],
    to: MailboxId,
) -> Result<Done<Vec<(Uid, Uid)>>> {
    counters(conn, from)?;
    let mut target = counters(conn, to)?;
    let pairs = copy_rows(conn, from, uids, &mut target)?;
    if pairs.is_empty() {
        return Ok(Done::quiet(pairs));
    }
    set_counters(conn, &target)?;
    let changes = appended(&target, &pairs);
    Ok(Done {
        value: pairs,
        changes,
    })
}

/// MOVE (RFC 6851): copied, then expunged from the source with tombstones, in one commit.
pub(crate) fn move_messages(
    conn: &Connection,
    from: MailboxId,
    uids: &[Uid],
    to: MailboxId,
) -> Result<Done<Vec<(Uid, Uid)>>> {
    if from == to {
        return Err(
            StoreError::Invalid("a message cannot move into its own mailbox".into()).into(),
        );
    }
    counters(conn, from)?;
    let mut target = counters(conn, to)?;
    let pairs = copy_rows(conn, from, uids, &mut target)?;
    if pairs.is_empty() {
        return Ok(Done::quiet(pairs));
    }
    set_counters(conn, &target)?;
    let mut changes = appended(&target, &pairs);
    let mut source = counters(conn, from)?;
    let moved: Vec<Uid> = pairs.iter().map(|(old, _)| *old).collect();
    let removed = messages::remove_rows(conn, &mut source, &moved)?;
    set_counters(conn, &source)?;
    changes.push((
        source.account,
        Change {
            mailbox: from,
            modseq: ModSeq(source.highest_modseq.unsigned_abs()),
            kind: ChangeKind::Expunged(removed),
        },
    ));
    Ok(Done {
        value: pairs,
        changes,
    })
}

fn mailboxes_changed(account: AccountId, mailbox: MailboxId) -> (AccountId, Change) {
    let change = Change {
        mailbox,
        modseq: ModSeq(0),
        kind: ChangeKind::Mailboxes,
    };
    (account, change)
}

pub(crate) fn delete_mailbox(
    conn: &Connection,
    account: AccountId,
    name: &MailboxName,
) -> Result<Done<()>> {
    if name.is_inbox() {
        return Err(StoreError::Invalid("INBOX cannot be deleted".into()).into());
    }
    let mailbox = mailboxes::get(conn, account, name)?
        .ok_or_else(|| StoreError::NotFound(format!("mailbox {name}")))?;
    // Messages and tombstones go with the mailbox (ON DELETE CASCADE); their blobs become
    // collectable.
    conn.prepare_cached("DELETE FROM mailboxes WHERE id = ?1")?
        .execute([mailbox.id.0])?;
    Ok(Done {
        value: (),
        changes: vec![mailboxes_changed(account, mailbox.id)],
    })
}

/// The mailboxes below `parent` (`parent/...`), by name.
fn children(conn: &Connection, account: AccountId, parent: &MailboxName) -> Result<Vec<Mailbox>> {
    let prefix = format!("{parent}/");
    Ok(mailboxes::list(conn, account)?
        .into_iter()
        .filter(|m| m.name.as_str().starts_with(&prefix))
        .collect())
}

pub(crate) fn rename_mailbox(
    conn: &Connection,
    account: AccountId,
    from: &MailboxName,
    to: &MailboxName,
) -> Result<Done<()>> {
    let source = mailboxes::get(conn, account, from)?
        .ok_or_else(|| StoreError::NotFound(format!("mailbox {from}")))?;
    if mailboxes::get(conn, account, to)?.is_some() {
        return Err(StoreError::Exists(format!("mailbox {to}")).into());
    }
    if to.is_inbox() {
        return Err(StoreError::Exists("mailbox INBOX".into()).into());
    }
    if to.as_str().starts_with(&format!("{from}/")) {
        return Err(StoreError::Invalid(format!("{from} cannot move below itself")).into());
    }
    if from.is_inbox() {
        return rename_inbox(conn, account, &source, to);
    }
    let mut renames = vec![(source.id, from.clone(), to.clone())];
    for child in children(conn, account, from)? {
        let rest = &child.name.as_str()[from.as_str().len()..];
        let new = MailboxName::parse(&format!("{to}{rest}"))
            .map_err(|e| StoreError::Invalid(format!("mailbox name {}", e.0)))?;
        if mailboxes::get(conn, account, &new)?.is_some() {
            return Err(StoreError::Exists(format!("mailbox {new}")).into());
        }
        renames.push((child.id, child.name.clone(), new));
    }
    let mut update = conn.prepare_cached("UPDATE mailboxes SET name = ?2 WHERE id = ?1")?;
    // A subscribed mailbox stays subscribed under its new name (clients that show only
    // subscribed mailboxes would lose it otherwise); the old name stays subscribed too, since
    // the server never removes a subscription by itself (RFC 9051 §6.3.7).
    let mut subscribe = conn.prepare_cached(
        "INSERT OR IGNORE INTO subscriptions (account, name)
         SELECT account, ?3 FROM subscriptions WHERE account = ?1 AND name = ?2",
    )?;
    for (id, old, new) in &renames {
        update.execute(params![id.0, new.as_str()])?;
        subscribe.execute(params![account.0, old.as_str(), new.as_str()])?;
    }
    Ok(Done {
        value: (),
        changes: vec![mailboxes_changed(account, source.id)],
    })
}

/// RFC 9051 §6.3.6: renaming INBOX moves its messages into a new mailbox and leaves INBOX
/// empty; its children stay where they are.
fn rename_inbox(
    conn: &Connection,
    account: AccountId,
    inbox: &Mailbox,
    to: &MailboxName,
) -> Result<Done<()>> {
    let created = mailboxes::insert(conn, account, to, None)?;
    let all = uids(conn, inbox.id)?;
    let mut target = counters(conn, created.id)?;
    let pairs = copy_rows(conn, inbox.id, &all, &mut target)?;
    set_counters(conn, &target)?;
    let mut source = counters(conn, inbox.id)?;
    let removed = messages::remove_rows(conn, &mut source, &all)?;
    let mut changes = vec![mailboxes_changed(account, created.id)];
    if !removed.is_empty() {
        set_counters(conn, &source)?;
        changes.push((
            account,
            Change {
                mailbox: inbox.id,
                modseq: ModSeq(source.highest_modseq.unsigned_abs()),
                kind: ChangeKind::Expunged(removed),
            },
        ));
    }
    changes.extend(appended(&target, &pairs));
    Ok(Done { value: (), changes })
}

pub(crate) fn subscriptions(conn: &Connection, account: AccountId) -> Result<Vec<MailboxName>> {
    mailboxes::require_account(conn, account)?;
    let mut stmt =
        conn.prepare_cached("SELECT name FROM subscriptions WHERE account = ?1 ORDER BY name")?;
    let rows = stmt.query_map([account.0], |row| {
        crate::directory::parse_col(row, 0, MailboxName::parse)
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn set_subscribed(
    conn: &Connection,
    account: AccountId,
    name: &MailboxName,
    subscribed: bool,
) -> Result<Done<()>> {
    mailboxes::require_account(conn, account)?;
    if subscribed {
        conn.prepare_cached("INSERT OR IGNORE INTO subscriptions (account, name) VALUES (?1, ?2)")?
            .execute(params![account.0, name.as_str()])?;
    } else {
        conn.prepare_cached("DELETE FROM subscriptions WHERE account = ?1 AND name = ?2")?
            .execute(params![account.0, name.as_str()])?;
    }
    Ok(Done::quiet(()))
}
