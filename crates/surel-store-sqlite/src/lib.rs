//! The embedded store: SQLite (WAL) for metadata and a directory of content-addressed blobs, in
//! one data directory (`surel.db`, `blobs/`).
//!
//! Owns: the schema and its migrations (`schema`), the single writer thread that commits writes
//! in groups (`writer`), the pool of read connections, the blob files (`blobs`) and their
//! garbage collection (`gc`). Must not: be named by protocol code (only the binary and tests
//! pick a backend), or hold the SQLite write lock while waiting for anything but the disk.
//!
//! Invariants a change must keep:
//! - A message's bytes are durable (temp file fsynced, renamed into place, directory fsynced)
//!   before the transaction that references them commits; the transaction commits with
//!   `synchronous=FULL`; `deliver` returns after that commit. So a crash leaves a delivered message
//!   whole or invisible; an orphaned blob is harmless and collected later.
//! - Every write of the process goes through the one writer connection, each in its own
//!   savepoint of a group transaction: one write failing never undoes another.
//! - Changes are published on the [`ChangeHub`] after their commit, before the caller is answered.
//! - A blob file is deleted only under the write lock after checking nothing references it, and a
//!   delivery re-checks its blob under the same lock (see `gc`).
//! - Other processes (the CLI while `surel serve` runs) may open the same directory: every
//!   connection waits for the write lock (`schema`'s busy timeout) rather than failing, and
//!   nothing is cached across operations, so each read sees the latest commit.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod blobs;
mod directory;
mod dkim;
mod error;
mod flags;
mod gc;
mod imap;
mod mailboxes;
mod messages;
mod queue;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::Connection;
use surel_store::{
    Account, Alias, AliasSource, Change, ChangeHub, DeliveryTarget, DkimKey, Flag, FlagOp,
    FlagState, FlagsOutcome, Lookup, Mailbox, MailboxStatus, MessageMeta, MessageRow, NewMessage,
    QueueEntry, QueueId, QueueRecipient, QueueTarget, QueuedMessage, Store, StoreError,
    StoreResult, Stored,
};
use surel_types::{
    AccountId, Address, BlobId, Domain, MailboxId, MailboxName, ModSeq, SpecialUse, Uid,
};

use crate::blobs::BlobDir;
use crate::error::Result;
use crate::flags::FlagSet;
use crate::writer::{Done, Writer};

/// Read connections kept open between reads; more are opened when reads overlap. Opening one
/// costs its schema parse, statement preparation and memory map, so the pool covers the reads
/// many IMAP sessions make at once (each idle one holds at most its 2 MiB page cache).
const IDLE_READERS: usize = 32;

/// The embedded store in one data directory. Cheap to share behind an `Arc`; dropping the last
/// handle finishes queued writes and closes the database.
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    blobs: Arc<BlobDir>,
    readers: Readers,
    hub: Arc<ChangeHub>,
    // Last, so it is dropped (and its thread joined) after nothing else can queue a write.
    writer: Writer,
}

impl SqliteStore {
    /// Opens the store in `data_dir`, creating the directory, `surel.db` (WAL mode, schema
    /// migrated to the current version) and `blobs/` as needed. Blocking.
    pub fn open(data_dir: &Path) -> StoreResult<SqliteStore> {
        fs_create_all(data_dir)?;
        let blobs_created = !data_dir.join("blobs").is_dir();
        let blobs = BlobDir::open(data_dir.join("blobs"))?;
        if blobs_created {
            blobs::sync_dir(data_dir)?;
        }
        let db = data_dir.join("surel.db");
        let conn = schema::open_writer(&db)?;
        let hub = Arc::new(ChangeHub::default());
        let writer = Writer::start(conn, hub.clone())?;
        let readers = Readers {
            db,
            idle: Mutex::new(Vec::new()),
        };
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                data_dir: data_dir.to_path_buf(),
                blobs: Arc::new(blobs),
                readers,
                hub,
                writer,
            }),
        })
    }

    /// The data directory this store lives in.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Deletes blob files no message references and temporary files older than an hour (left by
    /// writes that crashed); returns how many files it deleted. Blocking: from async code, call it
    /// through `tokio::task::spawn_blocking`. Safe while mail is delivered (see the `gc` module).
    pub fn collect_garbage(&self) -> StoreResult<usize> {
        let mut removed = self.inner.blobs.remove_stale_temps(gc::STALE_TEMP_AGE)?;
        for shard in 0..=255u8 {
            let candidates = self.inner.blobs.list_shard(shard)?;
            for chunk in candidates.chunks(gc::CHUNK) {
                let (blobs, chunk) = (self.inner.blobs.clone(), chunk.to_vec());
                removed += self
                    .inner
                    .writer
                    .write_blocking(move |conn| gc::collect(conn, &blobs, &chunk))?;
            }
        }
        Ok(removed)
    }

    /// Frees the lease of every queue entry; returns how many were leased. For `surel serve` on a
    /// single node, before its delivery worker starts: any lease then left in the database was
    /// taken by an earlier run that died mid-attempt, and waiting out `lease_for` would only
    /// delay its entries. Not for a store shared by several running workers (it would let two
    /// of them attempt one entry), which is why this is not part of the `Store` trait.
    pub async fn release_leases(&self) -> StoreResult<usize> {
        self.write(queue::release_leases).await
    }

    /// Makes the bytes durable as a blob, on a blocking thread of the caller: concurrent
    /// deliveries fsync concurrently (the file system batches them), and the writer thread only
    /// commits metadata. With `parse`, also computes what IMAP FETCH needs of the message
    /// (surel-mime), once, so the writer only stores it.
    async fn store_blob(&self, bytes: Arc<[u8]>, parse: bool) -> StoreResult<(BlobId, Vec<u8>)> {
        let blobs = self.inner.blobs.clone();
        tokio::task::spawn_blocking(move || {
            let blob = blobs.store(&bytes)?;
            let parsed = if parse {
                surel_mime::MessageInfo::parse(&bytes).encode()
            } else {
                Vec::new()
            };
            Ok((blob, parsed))
        })
        .await
        .map_err(StoreError::backend)?
    }

    async fn read<R, F>(&self, work: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.readers.read(work))
            .await
            .map_err(StoreError::backend)?
    }

    async fn write<R, F>(&self, work: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<Done<R>> + Send + 'static,
    {
        self.inner.writer.write(work).await
    }
}

fn fs_create_all(dir: &Path) -> StoreResult<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| error::io_failure("creating", dir, e))
}

/// Read connections: taken for one read, put back after it.
struct Readers {
    db: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Runs `work` on a read connection inside one read transaction, so it sees one snapshot.
    fn read<R>(&self, work: impl FnOnce(&Connection) -> Result<R>) -> StoreResult<R> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => schema::open_reader(&self.db)?,
        };
        let result = (|| {
            conn.execute_batch("BEGIN")?;
            let result = work(&conn);
            conn.execute_batch("COMMIT")?;
            result
        })();
        if conn.is_autocommit() {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < IDLE_READERS {
                idle.push(conn);
            }
        }
        Ok(result?)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn add_domain(&self, domain: &Domain) -> StoreResult<()> {
        let domain = domain.clone();
        self.write(move |conn| Ok(Done::quiet(directory::add_domain(conn, &domain)?)))
            .await
    }

    async fn remove_domain(&self, domain: &Domain) -> StoreResult<()> {
        let domain = domain.clone();
        self.write(move |conn| Ok(Done::quiet(directory::remove_domain(conn, &domain)?)))
            .await
    }

    async fn domains(&self) -> StoreResult<Vec<Domain>> {
        self.read(directory::domains).await
    }

    async fn is_local_domain(&self, domain: &Domain) -> StoreResult<bool> {
        let domain = domain.clone();
        self.read(move |conn| directory::is_local_domain(conn, &domain))
            .await
    }

    async fn add_account(&self, address: &Address, password_hash: &str) -> StoreResult<AccountId> {
        let (address, hash) = (address.clone(), password_hash.to_string());
        self.write(move |conn| Ok(Done::quiet(directory::add_account(conn, &address, &hash)?)))
            .await
    }

    async fn remove_account(&self, address: &Address) -> StoreResult<()> {
        let address = address.clone();
        self.write(move |conn| Ok(Done::quiet(directory::remove_account(conn, &address)?)))
            .await
    }

    async fn set_password(&self, address: &Address, password_hash: &str) -> StoreResult<()> {
        let (address, hash) = (address.clone(), password_hash.to_string());
        self.write(move |conn| Ok(Done::quiet(directory::set_password(conn, &address, &hash)?)))
            .await
    }

    async fn account(&self, address: &Address) -> StoreResult<Option<Account>> {
        let address = address.clone();
        self.read(move |conn| directory::account(conn, &address))
            .await
    }

    async fn account_by_id(&self, id: AccountId) -> StoreResult<Option<Account>> {
        self.read(move |conn| directory::account_by_id(conn, id))
            .await
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        self.read(directory::accounts).await
    }

    async fn add_alias(&self, source: &AliasSource, targets: &[Address]) -> StoreResult<()> {
        let (source, targets) = (source.clone(), targets.to_vec());
        self.write(move |conn| Ok(Done::quiet(directory::add_alias(conn, &source, &targets)?)))
            .await
    }

    async fn remove_alias(&self, source: &AliasSource) -> StoreResult<()> {
        let source = source.clone();
        self.write(move |conn| Ok(Done::quiet(directory::remove_alias(conn, &source)?)))
            .await
    }

    async fn aliases(&self) -> StoreResult<Vec<Alias>> {
        self.read(directory::aliases).await
    }

    async fn lookup(&self, source: &AliasSource) -> StoreResult<Option<Lookup>> {
        let source = source.clone();
        self.read(move |conn| directory::lookup(conn, &source))
            .await
    }

    async fn add_dkim_key(&self, key: &DkimKey) -> StoreResult<()> {
        let key = key.clone();
        self.write(move |conn| Ok(Done::quiet(dkim::add(conn, &key)?)))
            .await
    }

    async fn dkim_keys(&self, domain: &Domain) -> StoreResult<Vec<DkimKey>> {
        let domain = domain.clone();
        self.read(move |conn| dkim::list(conn, &domain)).await
    }

    async fn remove_dkim_key(&self, domain: &Domain, selector: &str) -> StoreResult<()> {
        let (domain, selector) = (domain.clone(), selector.to_string());
        self.write(move |conn| Ok(Done::quiet(dkim::remove(conn, &domain, &selector)?)))
            .await
    }

    async fn mailboxes(&self, account: AccountId) -> StoreResult<Vec<Mailbox>> {
        self.read(move |conn| mailboxes::list(conn, account)).await
    }

    async fn mailbox(
        &self,
        account: AccountId,
        name: &MailboxName,
    ) -> StoreResult<Option<Mailbox>> {
        let name = name.clone();
        self.read(move |conn| mailboxes::get(conn, account, &name))
            .await
    }

    async fn create_mailbox(
        &self,
        account: AccountId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> StoreResult<Mailbox> {
        let name = name.clone();
        self.write(move |conn| {
            let mailbox = mailboxes::create(conn, account, &name, special_use)?;
            let change = Change {
                mailbox: mailbox.id,
                modseq: mailbox.highest_modseq,
                kind: surel_store::ChangeKind::Mailboxes,
            };
            Ok(Done {
                changes: vec![(account, change)],
                value: mailbox,
            })
        })
        .await
    }

    async fn deliver(
        &self,
        message: NewMessage,
        targets: &[DeliveryTarget],
    ) -> StoreResult<Vec<Stored>> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        // Refuse bad flags before anything touches the disk.
        let flags = FlagSet::new(&message.flags)?;
        let (blob, parsed) = self.store_blob(message.bytes.clone(), true).await?;
        let (blobs, targets) = (self.inner.blobs.clone(), targets.to_vec());
        self.write(move |conn| {
            messages::deliver(conn, &blobs, &blob, &parsed, &message, &flags, &targets)
        })
        .await
    }

    async fn messages(&self, mailbox: MailboxId) -> StoreResult<Vec<MessageMeta>> {
        self.read(move |conn| messages::list(conn, mailbox)).await
    }

    async fn read_blob(&self, blob: &BlobId) -> StoreResult<Vec<u8>> {
        let (blobs, blob) = (self.inner.blobs.clone(), blob.clone());
        tokio::task::spawn_blocking(move || blobs.read(&blob))
            .await
            .map_err(StoreError::backend)?
    }

    async fn set_flags(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
        op: FlagOp,
        flags: &[Flag],
    ) -> StoreResult<Vec<MessageMeta>> {
        let given = FlagSet::new(flags)?;
        let uids = uids.to_vec();
        self.write(move |conn| messages::set_flags(conn, mailbox, &uids, op, &given))
            .await
    }

    async fn expunge(&self, mailbox: MailboxId, uids: &[Uid]) -> StoreResult<Vec<Uid>> {
        let uids = uids.to_vec();
        self.write(move |conn| messages::expunge(conn, mailbox, &uids))
            .await
    }

    async fn enqueue(&self, message: QueuedMessage) -> StoreResult<QueueId> {
        if message.recipients.is_empty() {
            return Err(StoreError::Invalid(
                "a queued message needs a recipient".into(),
            ));
        }
        // As in `deliver`: the bytes are durable before the writer commits what names them.
        let (blob, _) = self.store_blob(message.bytes.clone(), false).await?;
        let blobs = self.inner.blobs.clone();
        self.write(move |conn| queue::enqueue(conn, &blobs, &blob, &message))
            .await
    }

    async fn deliver_and_enqueue(
        &self,
        message: NewMessage,
        targets: &[DeliveryTarget],
        queued: QueuedMessage,
    ) -> StoreResult<(Vec<Stored>, QueueId)> {
        if queued.recipients.is_empty() {
            return Err(StoreError::Invalid(
                "a queued message needs a recipient".into(),
            ));
        }
        if queued.bytes != message.bytes {
            return Err(StoreError::Invalid(
                "the queued and the delivered message must be the same bytes".into(),
            ));
        }
        let flags = FlagSet::new(&message.flags)?;
        // As in `deliver`: the bytes are durable before the writer commits what names them.
        let (blob, parsed) = self.store_blob(message.bytes.clone(), true).await?;
        let (blobs, targets) = (self.inner.blobs.clone(), targets.to_vec());
        self.write(move |conn| {
            // One savepoint holds both: a failure in either undoes the other (the conformance
            // suite makes the second one fail and checks the first left nothing).
            let id = queue::enqueue(conn, &blobs, &blob, &queued)?;
            let stored =
                messages::deliver(conn, &blobs, &blob, &parsed, &message, &flags, &targets)?;
            let mut changes = stored.changes;
            changes.extend(id.changes);
            Ok(Done {
                value: (stored.value, id.value),
                changes,
            })
        })
        .await
    }

    async fn lease_due(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
        lease_for: std::time::Duration,
    ) -> StoreResult<Vec<QueueEntry>> {
        self.write(move |conn| queue::lease_due(conn, now, limit, lease_for))
            .await
    }

    async fn record_attempt(
        &self,
        id: QueueId,
        recipients: &[QueueRecipient],
        delay_warned: bool,
    ) -> StoreResult<()> {
        let recipients = recipients.to_vec();
        self.write(move |conn| queue::record_attempt(conn, id, &recipients, delay_warned))
            .await
    }

    async fn queue_entries(&self) -> StoreResult<Vec<QueueEntry>> {
        self.read(queue::list).await
    }

    async fn queue_entries_from(&self, sender: &Address) -> StoreResult<Vec<QueueEntry>> {
        let sender = sender.clone();
        self.read(move |conn| queue::list_from(conn, &sender)).await
    }

    async fn queue_entry(&self, id: QueueId) -> StoreResult<Option<QueueEntry>> {
        self.read(move |conn| queue::entry(conn, id)).await
    }

    async fn retry_now(
        &self,
        target: QueueTarget,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<usize> {
        self.write(move |conn| queue::retry_now(conn, target, now))
            .await
    }

    async fn drop_entry(&self, id: QueueId) -> StoreResult<QueueEntry> {
        self.write(move |conn| queue::drop_entry(conn, id)).await
    }

    async fn highest_modseq(&self, id: MailboxId) -> StoreResult<Option<ModSeq>> {
        self.read(move |conn| imap::highest_modseq(conn, id)).await
    }

    async fn mailbox_status(&self, id: MailboxId) -> StoreResult<Option<MailboxStatus>> {
        self.read(move |conn| imap::status(conn, id)).await
    }

    async fn mailbox_statuses(&self, account: AccountId) -> StoreResult<Vec<MailboxStatus>> {
        self.read(move |conn| imap::statuses(conn, account)).await
    }

    async fn delete_mailbox(&self, account: AccountId, name: &MailboxName) -> StoreResult<()> {
        let name = name.clone();
        self.write(move |conn| imap::delete_mailbox(conn, account, &name))
            .await
    }

    async fn rename_mailbox(
        &self,
        account: AccountId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> StoreResult<()> {
        let (from, to) = (from.clone(), to.clone());
        self.write(move |conn| imap::rename_mailbox(conn, account, &from, &to))
            .await
    }

    async fn subscriptions(&self, account: AccountId) -> StoreResult<Vec<MailboxName>> {
        self.read(move |conn| imap::subscriptions(conn, account))
            .await
    }

    async fn set_subscribed(
        &self,
        account: AccountId,
        name: &MailboxName,
        subscribed: bool,
    ) -> StoreResult<()> {
        let name = name.clone();
        self.write(move |conn| imap::set_subscribed(conn, account, &name, subscribed))
            .await
    }

    async fn append(&self, mailbox: MailboxId, message: NewMessage) -> StoreResult<Stored> {
        let flags = FlagSet::new(&message.flags)?;
        let (blob, parsed) = self.store_blob(message.bytes.clone(), true).await?;
        let blobs = self.inner.blobs.clone();
        self.write(move |conn| {
            messages::append(conn, &blobs, &blob, &parsed, mailbox, &message, &flags)
        })
        .await
    }

    async fn message_rows(
        &self,
        mailbox: MailboxId,
        ranges: &[(Uid, Uid)],
        with_parsed: bool,
    ) -> StoreResult<Vec<MessageRow>> {
        let ranges = ranges.to_vec();
        self.read(move |conn| imap::rows(conn, mailbox, &ranges, with_parsed))
            .await
    }

    async fn first_unseen(&self, mailbox: MailboxId) -> StoreResult<Option<Uid>> {
        self.read(move |conn| imap::first_unseen(conn, mailbox))
            .await
    }

    async fn uids(&self, mailbox: MailboxId) -> StoreResult<Vec<Uid>> {
        self.read(move |conn| imap::uids(conn, mailbox)).await
    }

    async fn changed_since(
        &self,
        mailbox: MailboxId,
        since: ModSeq,
    ) -> StoreResult<Vec<MessageMeta>> {
        self.read(move |conn| imap::changed_since(conn, mailbox, since))
            .await
    }

    async fn flags_changed_since(
        &self,
        mailbox: MailboxId,
        since: ModSeq,
    ) -> StoreResult<Vec<FlagState>> {
        self.read(move |conn| imap::flags_changed_since(conn, mailbox, since))
            .await
    }

    async fn expunged_since(&self, mailbox: MailboxId, since: ModSeq) -> StoreResult<Vec<Uid>> {
        self.read(move |conn| imap::expunged_since(conn, mailbox, since))
            .await
    }

    async fn store_flags(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
        op: FlagOp,
        flags: &[Flag],
        unchanged_since: Option<ModSeq>,
    ) -> StoreResult<FlagsOutcome> {
        let given = FlagSet::new(flags)?;
        let uids = uids.to_vec();
        self.write(move |conn| {
            messages::store_flags(conn, mailbox, &uids, op, &given, unchanged_since)
        })
        .await
    }

    async fn copy_messages(
        &self,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> StoreResult<Vec<(Uid, Uid)>> {
        let uids = uids.to_vec();
        self.write(move |conn| imap::copy(conn, from, &uids, to))
            .await
    }

    async fn move_messages(
        &self,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> StoreResult<Vec<(Uid, Uid)>> {
        let uids = uids.to_vec();
        self.write(move |conn| imap::move_messages(conn, from, &uids, to))
            .await
    }

    fn changes(&self, account: AccountId) -> tokio::sync::broadcast::Receiver<Change> {
        self.inner.hub.subscribe(account)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::time::{Duration, SystemTime};

    use surel_store::ChangeKind;

    use super::*;

    fn message(text: &str) -> NewMessage {
        NewMessage {
            bytes: Arc::from(format!("Subject: {text}\r\n\r\n{text}\r\n").into_bytes()),
            internal_date: chrono::DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap(),
            flags: Vec::new(),
            auth_results: None,
        }
    }

    fn inbox(account: AccountId) -> DeliveryTarget {
        DeliveryTarget {
            account,
            mailbox: MailboxName::inbox(),
        }
    }

    async fn store_with_account(dir: &Path) -> (SqliteStore, AccountId, MailboxId) {
        let store = SqliteStore::open(dir).unwrap();
        store
            .add_domain(&Domain::parse("example.test").unwrap())
            .await
            .unwrap();
        let id = store
            .add_account(&Address::parse("a@example.test").unwrap(), "hash")
            .await
            .unwrap();
        let inbox = store
            .mailbox(id, &MailboxName::inbox())
            .await
            .unwrap()
            .unwrap()
            .id;
        (store, id, inbox)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_the_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        surel_store::conformance::run(&store).await;
    }

    #[tokio::test]
    async fn passes_the_conformance_suite_on_one_thread() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("a/new/dir")).unwrap();
        surel_store::conformance::run(&store).await;
    }

    #[tokio::test]
    async fn everything_persists_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, inbox_id) = store_with_account(dir.path()).await;
        let mut uids = Vec::new();
        for i in 0..3 {
            uids.push(
                store
                    .deliver(message(&format!("m{i}")), &[inbox(id)])
                    .await
                    .unwrap()[0]
                    .uid,
            );
        }
        store
            .set_flags(inbox_id, &uids[..1], FlagOp::Add, &[Flag::Seen])
            .await
            .unwrap();
        store.expunge(inbox_id, &uids[2..]).await.unwrap();
        store
            .add_alias(
                &AliasSource::parse("@example.test").unwrap(),
                &[Address::parse("a@example.test").unwrap()],
            )
            .await
            .unwrap();
        let mailboxes = store.mailboxes(id).await.unwrap();
        let messages = store.messages(inbox_id).await.unwrap();
        let aliases = store.aliases().await.unwrap();
        drop(store);

        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.mailboxes(id).await.unwrap(), mailboxes);
        assert_eq!(store.messages(inbox_id).await.unwrap(), messages);
        assert_eq!(store.aliases().await.unwrap(), aliases);
        assert_eq!(messages[0].flags, [Flag::Seen]);
        assert_eq!(
            messages[0].internal_date,
            message("x").internal_date,
            "microseconds survive"
        );
        assert_eq!(
            store.read_blob(&messages[1].blob).await.unwrap(),
            &*message("m1").bytes
        );
        // UIDs continue after the expunged one; MODSEQs keep growing.
        let next = store.deliver(message("m3"), &[inbox(id)]).await.unwrap();
        assert_eq!(next[0].uid, Uid(4));
        assert!(
            next[0].modseq
                > mailboxes
                    .iter()
                    .find(|m| m.id == inbox_id)
                    .unwrap()
                    .highest_modseq
        );
    }

    #[tokio::test]
    async fn garbage_collection_removes_only_what_nothing_uses() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, inbox_id) = store_with_account(dir.path()).await;
        let kept = store.deliver(message("kept"), &[inbox(id)]).await.unwrap();
        let gone = store.deliver(message("gone"), &[inbox(id)]).await.unwrap();
        let metas = store.messages(inbox_id).await.unwrap();
        let (kept_blob, gone_blob) = (metas[0].blob.clone(), metas[1].blob.clone());
        store.expunge(inbox_id, &[gone[0].uid]).await.unwrap();

        // Crash shapes: a write that died before its rename (old temp file), one in progress
        // (young temp file), and a blob whose metadata never committed.
        let tmp = dir.path().join("blobs/tmp");
        let old_temp = tmp.join("old.tmp");
        fs::File::create(&old_temp)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(7200))
            .unwrap();
        let young_temp = tmp.join("young.tmp");
        fs::write(&young_temp, b"partial").unwrap();
        let orphan = store.inner.blobs.store(b"never committed").unwrap();
        for mailbox in store.mailboxes(id).await.unwrap() {
            for meta in store.messages(mailbox.id).await.unwrap() {
                assert_ne!(meta.blob, orphan, "an uncommitted blob is invisible");
            }
        }

        let store = Arc::new(store);
        let collector = store.clone();
        let removed = tokio::task::spawn_blocking(move || collector.collect_garbage())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            removed, 3,
            "the old temp file, the expunged message's blob and the orphan"
        );
        assert!(!old_temp.exists());
        assert!(young_temp.exists(), "a write in progress is left alone");
        assert!(matches!(
            store.read_blob(&gone_blob).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.read_blob(&orphan).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            store.read_blob(&kept_blob).await.unwrap(),
            &*message("kept").bytes
        );
        assert_eq!(store.messages(inbox_id).await.unwrap()[0].uid, kept[0].uid);

        // A second run finds nothing; a blob referenced by a removed account's messages goes.
        let collector = store.clone();
        assert_eq!(
            tokio::task::spawn_blocking(move || collector.collect_garbage())
                .await
                .unwrap()
                .unwrap(),
            0
        );
        store
            .remove_account(&Address::parse("a@example.test").unwrap())
            .await
            .unwrap();
        let collector = store.clone();
        assert_eq!(
            tokio::task::spawn_blocking(move || collector.collect_garbage())
                .await
                .unwrap()
                .unwrap(),
            1
        );
        assert!(matches!(
            store.read_blob(&kept_blob).await,
            Err(StoreError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn delivery_rewrites_a_blob_collected_before_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, inbox_id) = store_with_account(dir.path()).await;
        // The bytes were written, then collected as unreferenced before the metadata committed.
        let blob = store.inner.blobs.store(&message("race").bytes).unwrap();
        let store = Arc::new(store);
        let collector = store.clone();
        assert_eq!(
            tokio::task::spawn_blocking(move || collector.collect_garbage())
                .await
                .unwrap()
                .unwrap(),
            1
        );
        let blobs = store.inner.blobs.clone();
        let msg = message("race");
        let flags = FlagSet::default();
        let targets = vec![inbox(id)];
        let b = blob.clone();
        store
            .write(move |conn| messages::deliver(conn, &blobs, &b, &[], &msg, &flags, &targets))
            .await
            .unwrap();
        let meta = store.messages(inbox_id).await.unwrap().remove(0);
        assert_eq!(meta.blob, blob);
        assert_eq!(
            store.read_blob(&blob).await.unwrap(),
            &*message("race").bytes
        );
    }

    #[tokio::test]
    async fn a_second_handle_on_the_directory_sees_the_first_ones_writes() {
        // As the CLI does while `surel serve` runs.
        let dir = tempfile::tempdir().unwrap();
        let (server, id, _) = store_with_account(dir.path()).await;
        let cli = SqliteStore::open(dir.path()).unwrap();
        cli.add_account(&Address::parse("b@example.test").unwrap(), "hash")
            .await
            .unwrap();
        assert!(
            server
                .account(&Address::parse("b@example.test").unwrap())
                .await
                .unwrap()
                .is_some()
        );
        let stored = server.deliver(message("x"), &[inbox(id)]).await.unwrap();
        let seen = cli
            .mailbox(id, &MailboxName::inbox())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seen.uid_next, Uid(stored[0].uid.0 + 1));
    }

    #[tokio::test]
    async fn bad_keywords_are_refused_before_anything_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, inbox_id) = store_with_account(dir.path()).await;
        let mut msg = message("bad");
        msg.flags = vec![Flag::Keyword("two words".into())];
        assert!(matches!(
            store.deliver(msg, &[inbox(id)]).await,
            Err(StoreError::Invalid(_))
        ));
        assert!(store.messages(inbox_id).await.unwrap().is_empty());
        let shards: usize = (0..=255u8)
            .map(|s| store.inner.blobs.list_shard(s).unwrap().len())
            .sum();
        assert_eq!(shards, 0);
    }

    #[tokio::test]
    async fn creating_a_mailbox_is_announced() {
        let dir = tempfile::tempdir().unwrap();
        let (store, id, _) = store_with_account(dir.path()).await;
        let mut feed = store.changes(id);
        let created = store
            .create_mailbox(id, &MailboxName::parse("Lists").unwrap(), None)
            .await
            .unwrap();
        let change = feed.try_recv().unwrap();
        assert_eq!(
            (change.mailbox, change.kind),
            (created.id, ChangeKind::Mailboxes)
        );
    }
}
