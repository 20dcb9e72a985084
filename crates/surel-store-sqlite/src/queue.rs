//! The outbound queue: entries (`queue`) and their recipients (`queue_recipients`).
//!
//! Leasing runs on the writer, so two workers (or two processes) never lease one entry at once:
//! the select and the update share the write lock. Times are microseconds since the Unix epoch.
//! An entry whose last pending recipient is settled is deleted in the same write; its blob is
//! then collectable (`gc` checks `queue.blob` as well as `messages.blob`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use surel_store::{
    QueueEntry, QueueId, QueueRecipient, QueueTarget, QueuedMessage, RecipientState, StoreError,
};
use surel_types::{AccountId, Address, BlobId};

use crate::blobs::BlobDir;
use crate::error::{Result, corrupt};
use crate::writer::Done;

/// Inserts the entry and its recipients; the blob was stored by the caller and is re-checked
/// here under the write lock, as a delivery does.
pub(crate) fn enqueue(
    conn: &Connection,
    blobs: &BlobDir,
    blob: &BlobId,
    message: &QueuedMessage,
) -> Result<Done<QueueId>> {
    blobs.ensure(blob, &message.bytes)?;
    let size = i64::try_from(message.bytes.len())
        .map_err(|_| StoreError::Invalid("message too large".into()))?;
    let arrival = message.arrival.timestamp_micros();
    conn.prepare_cached(
        "INSERT INTO queue (sender, sender_key, account, blob, size, arrival)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        message.from.as_ref().map(Address::to_string),
        message.from.as_ref().map(Address::key),
        message.account.map(|a| a.0),
        blob.as_str(),
        size,
        arrival
    ])?;
    let id = conn.last_insert_rowid();
    let mut insert = conn.prepare_cached(
        "INSERT INTO queue_recipients (entry, position, address, state, attempts, next_attempt)
         VALUES (?1, ?2, ?3, 'pending', 0, ?4)",
    )?;
    for (position, rcpt) in message.recipients.iter().enumerate() {
        let position = i64::try_from(position).unwrap_or(i64::MAX);
        insert.execute(params![id, position, rcpt.to_string(), arrival])?;
    }
    Ok(Done::quiet(QueueId(id)))
}

/// Leases the due, unleased entries (see [`surel_store::Store::lease_due`]).
pub(crate) fn lease_due(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
    lease_for: Duration,
) -> Result<Done<Vec<QueueEntry>>> {
    let now_us = now.timestamp_micros();
    let until = now_us.saturating_add(i64::try_from(lease_for.as_micros()).unwrap_or(i64::MAX));
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let ids: Vec<i64> = {
        let mut stmt = conn.prepare_cached(
            "SELECT q.id FROM queue q JOIN queue_recipients r ON r.entry = q.id
             WHERE r.state = 'pending' AND r.next_attempt <= ?1
               AND (q.leased_until IS NULL OR q.leased_until <= ?1)
             GROUP BY q.id ORDER BY min(r.next_attempt), q.id LIMIT ?2",
        )?;
        stmt.query_map(params![now_us, limit], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut lease = conn.prepare_cached("UPDATE queue SET leased_until = ?2 WHERE id = ?1")?;
    let mut entries = Vec::with_capacity(ids.len());
    for id in ids {
        lease.execute(params![id, until])?;
        if let Some(entry) = entry(conn, QueueId(id))? {
            entries.push(entry);
        }
    }
    Ok(Done::quiet(entries))
}

/// Writes each recipient's new state, frees the lease, and removes a finished entry.
pub(crate) fn record_attempt(
    conn: &Connection,
    id: QueueId,
    recipients: &[QueueRecipient],
    delay_warned: bool,
) -> Result<Done<()>> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM queue_recipients WHERE entry = ?1")?
        .query_row([id.0], |row| row.get(0))?;
    if count == 0 {
        return Err(StoreError::NotFound(format!("queue entry {id}")).into());
    }
    if usize::try_from(count).ok() != Some(recipients.len()) {
        let why = format!(
            "queue entry {id} has {count} recipients, the attempt names {}",
            recipients.len()
        );
        return Err(StoreError::Invalid(why).into());
    }
    let mut update = conn.prepare_cached(
        "UPDATE queue_recipients SET state = ?3, attempts = ?4, next_attempt = ?5,
         last_attempt = ?6, last_error = ?7, status = ?8, remote_mta = ?9
         WHERE entry = ?1 AND position = ?2",
    )?;
    for (position, r) in recipients.iter().enumerate() {
        let position = i64::try_from(position).unwrap_or(i64::MAX);
        update.execute(params![
            id.0,
            position,
            r.state.as_str(),
            r.attempts,
            r.next_attempt.timestamp_micros(),
            r.last_attempt.map(|t| t.timestamp_micros()),
            r.last_error,
            r.status,
            r.remote_mta
        ])?;
    }
    conn.prepare_cached(
        "UPDATE queue SET leased_until = NULL, delay_warned = delay_warned OR ?2 WHERE id = ?1",
    )?
    .execute(params![id.0, delay_warned])?;
    if !recipients
        .iter()
        .any(|r| r.state == RecipientState::Pending)
    {
        conn.prepare_cached("DELETE FROM queue WHERE id = ?1")?
            .execute([id.0])?;
    }
    Ok(Done::quiet(()))
}

/// Frees every lease; returns how many entries held one. Only for a single node starting up:
/// a lease left in the database then belongs to a previous run of this process that died
/// mid-attempt, and its entries are due again at once instead of after `lease_for`.
pub(crate) fn release_leases(conn: &Connection) -> Result<Done<usize>> {
    let released = conn
        .prepare_cached("UPDATE queue SET leased_until = NULL WHERE leased_until IS NOT NULL")?
        .execute([])?;
    Ok(Done::quiet(released))
}

pub(crate) fn list(conn: &Connection) -> Result<Vec<QueueEntry>> {
    let ids: Vec<i64> = conn
        .prepare_cached("SELECT id FROM queue ORDER BY id")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    entries(conn, ids)
}

pub(crate) fn list_from(conn: &Connection, sender: &Address) -> Result<Vec<QueueEntry>> {
    let ids: Vec<i64> = conn
        .prepare_cached("SELECT id FROM queue WHERE sender_key = ?1 ORDER BY id")?
        .query_map([sender.key()], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    entries(conn, ids)
}

fn entries(conn: &Connection, ids: Vec<i64>) -> Result<Vec<QueueEntry>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(e) = entry(conn, QueueId(id))? {
            out.push(e);
        }
    }
    Ok(out)
}

/// One entry with its recipients.
pub(crate) fn entry(conn: &Connection, id: QueueId) -> Result<Option<QueueEntry>> {
    let head = conn
        .prepare_cached(
            "SELECT sender, account, blob, size, arrival, delay_warned, leased_until
             FROM queue WHERE id = ?1",
        )?
        .query_row([id.0], |row| {
            let sender: Option<String> = row.get(0)?;
            let from = sender
                .map(|s| Address::parse(&s).map_err(|e| corrupt(0, e)))
                .transpose()?;
            let blob: String = row.get(2)?;
            Ok(QueueEntry {
                id,
                from,
                account: row.get::<_, Option<i64>>(1)?.map(AccountId),
                blob: BlobId::parse(&blob).ok_or_else(|| corrupt(2, BadValue(blob)))?,
                size: u64::try_from(row.get::<_, i64>(3)?).map_err(|e| corrupt(3, e))?,
                arrival: time(row.get(4)?, 4)?,
                delay_warned: row.get(5)?,
                leased_until: row
                    .get::<_, Option<i64>>(6)?
                    .map(|t| time(t, 6))
                    .transpose()?,
                recipients: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut entry) = head else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT address, state, attempts, next_attempt, last_attempt, last_error, status,
         remote_mta FROM queue_recipients WHERE entry = ?1 ORDER BY position",
    )?;
    entry.recipients = stmt
        .query_map([id.0], |row| {
            let address: String = row.get(0)?;
            let state: String = row.get(1)?;
            Ok(QueueRecipient {
                address: Address::parse(&address).map_err(|e| corrupt(0, e))?,
                state: RecipientState::parse(&state).ok_or_else(|| corrupt(1, BadValue(state)))?,
                attempts: row.get(2)?,
                next_attempt: time(row.get(3)?, 3)?,
                last_attempt: row
                    .get::<_, Option<i64>>(4)?
                    .map(|t| time(t, 4))
                    .transpose()?,
                last_error: row.get(5)?,
                status: row.get(6)?,
                remote_mta: row.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(entry))
}

pub(crate) fn retry_now(
    conn: &Connection,
    target: QueueTarget,
    now: DateTime<Utc>,
) -> Result<Done<usize>> {
    let now = now.timestamp_micros();
    let touched = match target {
        QueueTarget::One(id) => {
            if entry(conn, id)?.is_none() {
                return Err(StoreError::NotFound(format!("queue entry {id}")).into());
            }
            conn.prepare_cached(
                "UPDATE queue_recipients SET next_attempt = ?2
                 WHERE entry = ?1 AND state = 'pending'",
            )?
            .execute(params![id.0, now])?;
            1
        }
        QueueTarget::All => {
            conn.prepare_cached(
                "UPDATE queue_recipients SET next_attempt = ?1 WHERE state = 'pending'",
            )?
            .execute([now])?;
            conn.prepare_cached("SELECT count(*) FROM queue")?
                .query_row([], |row| row.get::<_, i64>(0))?
                .try_into()
                .unwrap_or(usize::MAX)
        }
    };
    Ok(Done::quiet(touched))
}

pub(crate) fn drop_entry(conn: &Connection, id: QueueId) -> Result<Done<QueueEntry>> {
    let found =
        entry(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("queue entry {id}")))?;
    conn.prepare_cached("DELETE FROM queue WHERE id = ?1")?
        .execute([id.0])?;
    Ok(Done::quiet(found))
}

fn time(micros: i64, column: usize) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| corrupt(column, BadValue(micros.to_string())))
}

/// A stored value the schema does not allow.
#[derive(Debug, thiserror::Error)]
#[error("unexpected value {0:?}")]
struct BadValue(String);

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use surel_store::Store;

    use super::*;
    use crate::SqliteStore;

    #[tokio::test]
    async fn released_leases_make_leased_entries_due_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        store
            .enqueue(QueuedMessage {
                bytes: Arc::from(&b"Subject: q\r\n\r\nq\r\n"[..]),
                from: None,
                recipients: vec![Address::parse("b@remote.test").unwrap()],
                arrival: now,
                account: None,
            })
            .await
            .unwrap();
        let lease = Duration::from_secs(1800);
        assert_eq!(store.lease_due(now, 10, lease).await.unwrap().len(), 1);
        assert!(store.lease_due(now, 10, lease).await.unwrap().is_empty());
        assert_eq!(store.release_leases().await.unwrap(), 1);
        let again = store.lease_due(now, 10, lease).await.unwrap();
        assert_eq!(again.len(), 1, "due again without waiting for the lease");
        assert_eq!(store.release_leases().await.unwrap(), 1);
        assert_eq!(store.release_leases().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn garbage_collection_keeps_a_queued_blob_until_its_entry_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let id = store
            .enqueue(QueuedMessage {
                bytes: Arc::from(&b"Subject: q\r\n\r\nq\r\n"[..]),
                from: None,
                recipients: vec![Address::parse("b@remote.test").unwrap()],
                arrival: now,
                account: None,
            })
            .await
            .unwrap();
        let collect = |store: Arc<SqliteStore>| async move {
            tokio::task::spawn_blocking(move || store.collect_garbage())
                .await
                .unwrap()
                .unwrap()
        };
        assert_eq!(collect(store.clone()).await, 0, "the queue still needs it");
        let entry = store.queue_entry(id).await.unwrap().unwrap();
        assert!(store.read_blob(&entry.blob).await.is_ok());
        let mut rcpts = entry.recipients.clone();
        rcpts[0].state = RecipientState::Delivered;
        store.record_attempt(id, &rcpts, false).await.unwrap();
        assert_eq!(collect(store.clone()).await, 1, "done: collectable");
    }
}
