//! The schema, its migrations, and how connections are set up.
//!
//! Migrations are numbered by `PRAGMA user_version`: `MIGRATIONS[n]` takes a database from version
//! `n` to `n + 1`. A migration, once released, never changes; a new one is appended.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use surel_store::StoreError;

use crate::error::Result;

/// How long a connection waits for another one (possibly another process, such as the CLI while
/// the server runs) to release the write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Every migration, in order.
const MIGRATIONS: &[&str] = &[
    // 1: domains, accounts, aliases, mailboxes, messages.
    "
    -- Counters that must outlive the rows they were used for; `last_uid_validity` keeps each
    -- new mailbox's UIDVALIDITY above every earlier one, even after deletions.
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE domains (
        name TEXT PRIMARY KEY                       -- lowercase
    ) STRICT;

    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,       -- AUTOINCREMENT: ids are never reused
        key TEXT NOT NULL UNIQUE,                   -- lowercase address
        address TEXT NOT NULL,                      -- as given
        domain TEXT NOT NULL REFERENCES domains(name),
        password_hash TEXT NOT NULL                 -- Argon2id PHC string
    ) STRICT;
    CREATE INDEX accounts_domain ON accounts(domain);

    CREATE TABLE aliases (
        source TEXT PRIMARY KEY,                    -- lowercase `user@domain` or `@domain`
        display TEXT NOT NULL,                      -- as given
        domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE
    ) STRICT;
    CREATE INDEX aliases_domain ON aliases(domain);

    CREATE TABLE alias_targets (
        source TEXT NOT NULL REFERENCES aliases(source) ON DELETE CASCADE,
        position INTEGER NOT NULL,                  -- keeps the targets in the order given
        target TEXT NOT NULL,
        PRIMARY KEY (source, position)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE mailboxes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL,                         -- INBOX is always spelled `INBOX`
        special_use TEXT,                           -- RFC 6154 attribute, e.g. `\\Sent`
        uid_validity INTEGER NOT NULL CHECK (uid_validity BETWEEN 1 AND 4294967295),
        uid_next INTEGER NOT NULL CHECK (uid_next >= 1),
        highest_modseq INTEGER NOT NULL CHECK (highest_modseq >= 1),
        UNIQUE (account, name)
    ) STRICT;

    CREATE TABLE messages (
        mailbox INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        flags INTEGER NOT NULL,                     -- system flags, bits as in flags.rs
        keywords TEXT NOT NULL,                     -- space-separated, sorted
        internal_date INTEGER NOT NULL,             -- microseconds since the Unix epoch, UTC
        size INTEGER NOT NULL,
        blob TEXT NOT NULL,                         -- BlobId: file blobs/ab/abcd…
        PRIMARY KEY (mailbox, uid)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX messages_blob ON messages(blob);

    -- What FETCH needs without re-parsing (envelope, body structure, authentication results),
    -- per distinct content; filled lazily by a later version, removed with its blob.
    CREATE TABLE blob_cache (
        blob TEXT PRIMARY KEY,
        parsed BLOB NOT NULL
    ) STRICT;
    ",
    // 2: inbound authentication results (RFC 8601 value) per delivered copy.
    "
    ALTER TABLE messages ADD COLUMN auth_results TEXT;
    ",
    // 3: DKIM signing keys, one row per (domain, selector); the private key as PKCS#8 PEM.
    "
    CREATE TABLE dkim_keys (
        domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE,
        selector TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        private_key TEXT NOT NULL,
        created INTEGER NOT NULL,
        PRIMARY KEY (domain, selector)
    ) STRICT;
    ",
    // 4: the outbound queue (DESIGN §1): one row per queued message, one per recipient.
    "
    CREATE TABLE queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,       -- AUTOINCREMENT: queue ids are never reused
        sender TEXT,                                -- envelope sender as given; NULL is <>
        sender_key TEXT,                            -- lowercase sender, for an account's queue
        account INTEGER,                            -- submitting account, if any (no FK: the
                                                    -- mail still goes if the account is deleted)
        blob TEXT NOT NULL,
        size INTEGER NOT NULL,
        arrival INTEGER NOT NULL,                   -- microseconds since the Unix epoch, UTC
        delay_warned INTEGER NOT NULL DEFAULT 0,    -- the delay DSN went out
        leased_until INTEGER                        -- NULL: free; else held by a worker until then
    ) STRICT;
    CREATE INDEX queue_blob ON queue(blob);
    CREATE INDEX queue_sender ON queue(sender_key);

    CREATE TABLE queue_recipients (
        entry INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,                  -- keeps the recipients in the order given
        address TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL,
        next_attempt INTEGER NOT NULL,              -- microseconds since the Unix epoch, UTC
        last_attempt INTEGER,
        last_error TEXT,
        status TEXT,                                -- RFC 3463 x.y.z of the last outcome
        remote_mta TEXT,
        PRIMARY KEY (entry, position)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX queue_recipients_due ON queue_recipients(state, next_attempt);
    ",
    // 5: IMAP. Subscriptions (names need not exist, RFC 9051 §6.3.7); expunged UIDs with the
    // MODSEQ of their removal, so QRESYNC clients and sessions catching up learn what vanished
    // (RFC 7162 §3.2.5); MODSEQ lookups for CHANGEDSINCE.
    "
    CREATE TABLE subscriptions (
        account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        PRIMARY KEY (account, name)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE expunged (
        mailbox INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox, uid)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX expunged_modseq ON expunged(mailbox, modseq);
    CREATE INDEX messages_modseq ON messages(mailbox, modseq);
    -- The mailboxes accounts already have are subscribed, as new accounts' are.
    INSERT INTO subscriptions (account, name) SELECT account, name FROM mailboxes;
    ",
    // 6: a mailbox's UIDs without its rows. SELECT reads every UID of the mailbox; through the
    // table that walks every row (hundreds of octets each, with the authentication results),
    // through this index about a dozen octets per message.
    "
    CREATE INDEX messages_uid ON messages(mailbox, uid);
    ",
    // 7: what STATUS reports, kept as counts that every change moves (RFC 9051 §6.3.11: clients
    // poll STATUS of every mailbox; counting a mailbox of 100,000 messages each time costs
    // milliseconds per poll). The writer keeps them exact in the same transaction as the change.
    "
    ALTER TABLE mailboxes ADD COLUMN messages INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE mailboxes ADD COLUMN unseen INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE mailboxes ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE mailboxes ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
    UPDATE mailboxes SET
        messages = (SELECT count(*) FROM messages m WHERE m.mailbox = mailboxes.id),
        unseen = (SELECT count(*) FROM messages m WHERE m.mailbox = mailboxes.id
                  AND (m.flags & 1) = 0),
        deleted = (SELECT count(*) FROM messages m WHERE m.mailbox = mailboxes.id
                   AND (m.flags & 8) != 0),
        size = (SELECT coalesce(sum(m.size), 0) FROM messages m WHERE m.mailbox = mailboxes.id);
    ",
];

/// Opens the one writing connection, switches the database to WAL, and migrates the schema.
pub(crate) fn open_writer(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        let why = format!("{} cannot use WAL (journal mode is {mode})", path.display());
        return Err(StoreError::Invalid(why).into());
    }
    // In WAL mode FULL fsyncs the log at every commit: a commit that returned is durable.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    migrate(&conn, MIGRATIONS)?;
    Ok(conn)
}

/// Opens a connection for reads only.
pub(crate) fn open_reader(path: &Path) -> Result<Connection> {
    // Read-write at the file level so the connection can use the WAL index like any other;
    // `query_only` refuses every write.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", true)?;
    // Readers map the database instead of copying pages into a private cache per connection:
    // IMAP sessions read the same message rows over and over, and the OS page cache then
    // serves every reader at once. Address space only; 0 where mapping is unsupported.
    conn.pragma_update(None, "mmap_size", READER_MMAP)?;
    Ok(conn)
}

/// How much of the database each reader may map (bytes).
const READER_MMAP: i64 = 1 << 30;

/// Brings the schema up to `migrations.len()`. Runs under the write lock, so two processes
/// opening one new database do not both migrate it.
fn migrate(conn: &Connection, migrations: &[&str]) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| -> Result<()> {
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        let version = usize::try_from(version).unwrap_or(usize::MAX);
        if version > migrations.len() {
            let why = format!(
                "the database has schema version {version}; this surel knows up to {}",
                migrations.len()
            );
            return Err(StoreError::Invalid(why).into());
        }
        for (done, migration) in migrations.iter().enumerate().skip(version) {
            conn.execute_batch(migration)?;
            conn.pragma_update(
                None,
                "user_version",
                i64::try_from(done + 1).unwrap_or(i64::MAX),
            )?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            // The refusal is the error to report; a failed rollback changes nothing.
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("surel.db");
        let conn = open_writer(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        drop(conn);
        // Reopening runs nothing twice (a second CREATE TABLE would fail).
        drop(open_writer(&path).unwrap());

        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", MIGRATIONS.len() as i64 + 1)
            .unwrap();
        drop(conn);
        let err = open_writer(&path).unwrap_err();
        assert!(
            matches!(err, crate::error::Error::Store(StoreError::Invalid(_))),
            "{err:?}"
        );
    }

    #[test]
    fn readers_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("surel.db");
        let _writer = open_writer(&path).unwrap();
        let reader = open_reader(&path).unwrap();
        assert!(
            reader
                .execute("INSERT INTO domains (name) VALUES ('x.test')", [])
                .is_err()
        );
        let n: i64 = reader
            .query_row("SELECT count(*) FROM domains", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    /// Migration 7 counts the messages a mailbox already holds.
    #[test]
    fn status_counts_are_filled_for_existing_mail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("surel.db");
        let conn = Connection::open(&path).unwrap();
        migrate(&conn, &MIGRATIONS[..6]).unwrap();
        conn.execute_batch(
            "INSERT INTO domains (name) VALUES ('m.test');
             INSERT INTO accounts (id, key, address, domain, password_hash)
                 VALUES (1, 'a@m.test', 'a@m.test', 'm.test', 'x');
             INSERT INTO mailboxes (id, account, name, uid_validity, uid_next, highest_modseq)
                 VALUES (1, 1, 'INBOX', 1, 4, 4), (2, 1, 'Empty', 2, 1, 1);
             INSERT INTO messages (mailbox, uid, modseq, flags, keywords, internal_date, size, blob)
                 VALUES (1, 1, 2, 1, '', 0, 100, 'b1'),   -- seen
                        (1, 2, 3, 8, '', 0, 20, 'b2'),    -- deleted, unseen
                        (1, 3, 4, 0, '', 0, 3, 'b3');     -- unseen",
        )
        .unwrap();
        migrate(&conn, MIGRATIONS).unwrap();
        let counts = |id: i64| -> (i64, i64, i64, i64) {
            conn.query_row(
                "SELECT messages, unseen, deleted, size FROM mailboxes WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap()
        };
        assert_eq!(counts(1), (3, 2, 1, 123));
        assert_eq!(counts(2), (0, 0, 0, 0));
    }
}
