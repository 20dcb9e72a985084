//! Garbage collection of blob files no message and no queue entry references.
//!
//! Why it is safe while mail arrives: a blob is deleted only by the writer, inside a write
//! transaction, after checking that no message (committed, or earlier in the same transaction)
//! names it; and a delivery checks its blob exists inside its own write transaction, rewriting it
//! if a collection removed it after the delivery's first write. The SQLite write lock orders the
//! two, also between processes.

use std::time::Duration;

use rusqlite::Connection;
use surel_types::BlobId;

use crate::blobs::BlobDir;
use crate::error::Result;
use crate::writer::Done;

/// A temporary blob file older than this belongs to a write that will never finish.
pub(crate) const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// How many blobs one write transaction checks, so the write lock is never held long.
pub(crate) const CHUNK: usize = 256;

/// Deletes those of `candidates` no message references (and their cached parse); returns how
/// many files it deleted. Runs on the writer's connection.
pub(crate) fn collect(
    conn: &Connection,
    blobs: &BlobDir,
    candidates: &[BlobId],
) -> Result<Done<usize>> {
    // A queued message's blob is as referenced as a stored one's: the queue still has to send it.
    let mut referenced = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM messages WHERE blob = ?1)
             OR EXISTS (SELECT 1 FROM queue WHERE blob = ?1)",
    )?;
    let mut uncache = conn.prepare_cached("DELETE FROM blob_cache WHERE blob = ?1")?;
    let mut removed = 0;
    for id in candidates {
        if !referenced.query_row([id.as_str()], |row| row.get::<_, bool>(0))? {
            uncache.execute([id.as_str()])?;
            if blobs.remove(id)? {
                removed += 1;
            }
        }
    }
    Ok(Done::quiet(removed))
}
