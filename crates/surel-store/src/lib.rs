//! The store boundary: what every protocol session may ask of persistent state.
//!
//! Owns: the [`Store`] trait, its records and errors, the [`Change`] feed type, password hashing
//! helpers, and the conformance suite ([`conformance::run`]) that defines correct behaviour for any
//! backend. Must not: name a backend, expose SQL, rows or transactions, or parse protocol input.
//!
//! Invariants every backend keeps:
//! - Each method is one whole operation: it commits completely or changes nothing.
//! - `deliver`/`append` return only after the message bytes and the metadata are durable; a crash
//!   at any instant leaves either the whole message visible or none of it.
//! - UIDs in a mailbox are strictly ascending and never reused; UIDVALIDITY never changes for a
//!   mailbox that exists; MODSEQ grows with every change.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod changes;
pub mod conformance;
pub mod password;
mod queue;
mod records;

pub use changes::{Change, ChangeHub, ChangeKind};
pub use queue::*;
pub use records::*;

use async_trait::async_trait;
use surel_types::{AccountId, Address, BlobId, Domain, MailboxId, MailboxName, ModSeq, Uid};

/// Why a store operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing to create exists already (names it).
    #[error("{0} already exists")]
    Exists(String),
    /// The thing to change or read does not exist (names it).
    #[error("{0} does not exist")]
    NotFound(String),
    /// The request contradicts the store's rules (e.g. deleting a domain that has accounts).
    #[error("{0}")]
    Invalid(String),
    /// The backend failed (disk, database); the operation did not happen.
    #[error("storage failure: {0}")]
    Backend(#[from] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps any backend error.
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Persistent state of a surel installation. Protocol code holds an `Arc<dyn Store>`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- domains ----
    /// Adds a local domain. `Exists` if it is already there.
    async fn add_domain(&self, domain: &Domain) -> StoreResult<()>;
    /// Removes a domain and its aliases; `Invalid` while accounts remain in it.
    async fn remove_domain(&self, domain: &Domain) -> StoreResult<()>;
    /// Every local domain, sorted.
    async fn domains(&self) -> StoreResult<Vec<Domain>>;
    /// True if mail for this domain is ours.
    async fn is_local_domain(&self, domain: &Domain) -> StoreResult<bool>;

    // ---- accounts ----
    /// Creates an account with its default mailboxes (INBOX, Sent, Drafts, Trash, Junk, Archive).
    /// `NotFound` names the domain if it is not local; `Exists` if the address is taken by an
    /// account or an alias.
    async fn add_account(&self, address: &Address, password_hash: &str) -> StoreResult<AccountId>;
    /// Deletes an account, its mailboxes and messages (blobs are collected later).
    async fn remove_account(&self, address: &Address) -> StoreResult<()>;
    /// Replaces an account's password hash.
    async fn set_password(&self, address: &Address, password_hash: &str) -> StoreResult<()>;
    /// The account with this exact address (case-insensitive local part), if any.
    async fn account(&self, address: &Address) -> StoreResult<Option<Account>>;
    /// The account with this id, if any.
    async fn account_by_id(&self, id: AccountId) -> StoreResult<Option<Account>>;
    /// Every account, sorted by address.
    async fn accounts(&self) -> StoreResult<Vec<Account>>;

    // ---- aliases ----
    /// Maps an address (or a domain's catch-all) to one or more targets. The source's domain must
    /// be local; `Exists` if the source is already an alias or an account.
    async fn add_alias(&self, source: &AliasSource, targets: &[Address]) -> StoreResult<()>;
    /// Removes an alias.
    async fn remove_alias(&self, source: &AliasSource) -> StoreResult<()>;
    /// Every alias, sorted by source.
    async fn aliases(&self) -> StoreResult<Vec<Alias>>;
    /// What an exact address names: an account, an alias, or nothing. No plus-address or catch-all
    /// logic here; the router applies those rules.
    async fn lookup(&self, source: &AliasSource) -> StoreResult<Option<Lookup>>;

    // ---- DKIM keys ----
    /// Keeps a DKIM signing key of a local domain. `NotFound` names the domain if it is not
    /// local; `Exists` names the selector if the domain has a key by that name already (selectors
    /// compare case-insensitively, as DNS names do). Removing the domain removes its keys.
    async fn add_dkim_key(&self, key: &DkimKey) -> StoreResult<()>;
    /// Every DKIM key of a domain, newest first (equal times by selector); empty for a domain
    /// without keys or that is not local.
    async fn dkim_keys(&self, domain: &Domain) -> StoreResult<Vec<DkimKey>>;
    /// Removes one DKIM key; `NotFound` names the selector if the domain has no such key.
    async fn remove_dkim_key(&self, domain: &Domain, selector: &str) -> StoreResult<()>;

    // ---- mailboxes ----
    /// Every mailbox of an account, sorted by name.
    async fn mailboxes(&self, account: AccountId) -> StoreResult<Vec<Mailbox>>;
    /// One mailbox by name.
    async fn mailbox(&self, account: AccountId, name: &MailboxName)
    -> StoreResult<Option<Mailbox>>;
    /// Creates a mailbox (with a fresh UIDVALIDITY).
    async fn create_mailbox(
        &self,
        account: AccountId,
        name: &MailboxName,
        special_use: Option<surel_types::SpecialUse>,
    ) -> StoreResult<Mailbox>;

    // ---- messages ----
    /// Stores one message for several recipients: the bytes once, then one entry per target, all
    /// in one commit. Returns only when durable. Notifies each account's change feed.
    async fn deliver(
        &self,
        message: NewMessage,
        targets: &[DeliveryTarget],
    ) -> StoreResult<Vec<Stored>>;
    /// Every message in a mailbox, ascending by UID.
    async fn messages(&self, mailbox: MailboxId) -> StoreResult<Vec<MessageMeta>>;
    /// The bytes of a stored message.
    async fn read_blob(&self, blob: &BlobId) -> StoreResult<Vec<u8>>;
    /// Changes flags of the given UIDs; returns the new state of each message that exists.
    async fn set_flags(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
        op: FlagOp,
        flags: &[Flag],
    ) -> StoreResult<Vec<MessageMeta>>;
    /// Removes the given UIDs from a mailbox; returns the UIDs that were removed.
    async fn expunge(&self, mailbox: MailboxId, uids: &[Uid]) -> StoreResult<Vec<Uid>>;

    // ---- IMAP: mailboxes ----
    /// Only the mailbox's HIGHESTMODSEQ (`None` if it is gone): what an IMAP session checks
    /// before every command, so it must not cost more than one indexed lookup.
    async fn highest_modseq(&self, id: MailboxId) -> StoreResult<Option<ModSeq>>;
    /// One mailbox with the counts STATUS needs; `None` if it does not exist.
    async fn mailbox_status(&self, id: MailboxId) -> StoreResult<Option<MailboxStatus>>;
    /// Every mailbox of an account with the counts STATUS needs, sorted by name, in one read.
    async fn mailbox_statuses(&self, account: AccountId) -> StoreResult<Vec<MailboxStatus>>;
    /// Deletes a mailbox and its messages (RFC 9051 §6.3.4; children are kept). `NotFound` if
    /// missing; `Invalid` for INBOX. The mailbox's messages are gone in the same commit.
    async fn delete_mailbox(&self, account: AccountId, name: &MailboxName) -> StoreResult<()>;
    /// Renames a mailbox and every mailbox below it (`from/...`), keeping ids, UIDVALIDITY and
    /// messages. `Exists` if `to` (or a renamed child's new name) exists, `NotFound` if `from`
    /// is missing. INBOX (RFC 9051 §6.3.6): a new mailbox `to` is made and every message of
    /// INBOX moves into it; INBOX stays, empty; INBOX's children are not renamed. A subscribed
    /// mailbox is subscribed under its new name too (the old name stays: RFC 9051 §6.3.7).
    async fn rename_mailbox(
        &self,
        account: AccountId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> StoreResult<()>;
    /// The account's subscriptions, sorted (names need not exist: RFC 9051 §6.3.7). A new
    /// account starts with INBOX and its special-use mailboxes subscribed.
    async fn subscriptions(&self, account: AccountId) -> StoreResult<Vec<MailboxName>>;
    /// Subscribes or unsubscribes a name (idempotent).
    async fn set_subscribed(
        &self,
        account: AccountId,
        name: &MailboxName,
        subscribed: bool,
    ) -> StoreResult<()>;

    // ---- IMAP: messages ----
    /// Stores one message into one existing mailbox with its flags and internal date (APPEND,
    /// import). `NotFound` if the mailbox is gone. Durable on return; notifies the change feed.
    async fn append(&self, mailbox: MailboxId, message: NewMessage) -> StoreResult<Stored>;
    /// The messages whose UIDs fall in the given inclusive ranges, ascending by UID; with
    /// `with_parsed` each carries its cached parse (surel-mime `MessageInfo` bytes, made once at
    /// delivery).
    async fn message_rows(
        &self,
        mailbox: MailboxId,
        ranges: &[(Uid, Uid)],
        with_parsed: bool,
    ) -> StoreResult<Vec<MessageRow>>;
    /// The lowest UID without `\Seen`, if any (RFC 3501 SELECT's `[UNSEEN n]`).
    async fn first_unseen(&self, mailbox: MailboxId) -> StoreResult<Option<Uid>>;
    /// Every UID in a mailbox, ascending (SELECT's sequence-number map).
    async fn uids(&self, mailbox: MailboxId) -> StoreResult<Vec<Uid>>;
    /// Messages whose MODSEQ is greater than `since`, ascending by UID (CONDSTORE CHANGEDSINCE,
    /// QRESYNC, and sessions catching up after a change notification).
    async fn changed_since(
        &self,
        mailbox: MailboxId,
        since: ModSeq,
    ) -> StoreResult<Vec<MessageMeta>>;
    /// [`Store::changed_since`] reduced to UID, MODSEQ and flags: what a session reads before
    /// every command while other sessions change flags, so it reads nothing more.
    async fn flags_changed_since(
        &self,
        mailbox: MailboxId,
        since: ModSeq,
    ) -> StoreResult<Vec<FlagState>>;
    /// UIDs expunged at a MODSEQ greater than `since`, ascending (QRESYNC VANISHED (EARLIER),
    /// sessions catching up).
    async fn expunged_since(&self, mailbox: MailboxId, since: ModSeq) -> StoreResult<Vec<Uid>>;
    /// STORE: changes flags of the given UIDs in one commit. With `unchanged_since` (RFC 7162
    /// §3.1.3), a message whose MODSEQ is greater is left alone and reported in `failed`.
    /// `changed` holds the new state of every message whose flags actually changed (each with
    /// a new MODSEQ); `unchanged` the others that exist.
    async fn store_flags(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
        op: FlagOp,
        flags: &[Flag],
        unchanged_since: Option<ModSeq>,
    ) -> StoreResult<FlagsOutcome>;
    /// COPY: one commit; returns (source UID, new UID) pairs in source order for the UIDs that
    /// exist. `NotFound` if either mailbox is gone.
    async fn copy_messages(
        &self,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> StoreResult<Vec<(Uid, Uid)>>;
    /// MOVE (RFC 6851): copy and expunge in one commit; returns the same pairs as COPY.
    async fn move_messages(
        &self,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> StoreResult<Vec<(Uid, Uid)>>;

    // ---- outbound queue ----
    /// Puts a message with remote recipients into the outbound queue: the bytes as a blob (as
    /// [`Store::deliver`] does), the entry and one pending recipient each, due at `arrival`.
    /// Returns only when durable. `Invalid` without recipients.
    async fn enqueue(&self, message: QueuedMessage) -> StoreResult<QueueId>;
    /// [`Store::deliver`] and [`Store::enqueue`] of one message in ONE commit, so a message with
    /// local and remote recipients is either stored and queued, or neither (DESIGN §1 router:
    /// the acknowledgement covers both). `queued.bytes` must be `message.bytes` (`Invalid`
    /// otherwise): one blob serves both.
    async fn deliver_and_enqueue(
        &self,
        message: NewMessage,
        targets: &[DeliveryTarget],
        queued: QueuedMessage,
    ) -> StoreResult<(Vec<Stored>, QueueId)>;
    /// Leases up to `limit` entries that have a pending recipient due at or before `now` and are
    /// not leased (or whose lease ran out), oldest due first; each stays leased until
    /// `now + lease_for`, so a worker that crashes leaves them to be leased again later.
    async fn lease_due(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
        lease_for: std::time::Duration,
    ) -> StoreResult<Vec<QueueEntry>>;
    /// Records the outcome of an attempt: `recipients` is the entry's full recipient list in its
    /// order, with each one's new state; `delay_warned` marks that the delay DSN went out. Frees
    /// the lease. An entry left without a pending recipient is removed (its blob becomes
    /// collectable). Callers record an outcome before acting on it (sending a DSN).
    async fn record_attempt(
        &self,
        id: QueueId,
        recipients: &[QueueRecipient],
        delay_warned: bool,
    ) -> StoreResult<()>;
    /// Every queue entry, by id.
    async fn queue_entries(&self) -> StoreResult<Vec<QueueEntry>>;
    /// The queue entries whose envelope sender is `sender` (case-insensitive local part), by id:
    /// "my mail still in the queue" (DESIGN §6).
    async fn queue_entries_from(&self, sender: &Address) -> StoreResult<Vec<QueueEntry>>;
    /// One queue entry, if it exists.
    async fn queue_entry(&self, id: QueueId) -> StoreResult<Option<QueueEntry>>;
    /// Makes the pending recipients of the target due at `now`; returns how many entries that
    /// touched. `NotFound` for a missing single entry.
    async fn retry_now(
        &self,
        target: QueueTarget,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<usize>;
    /// Removes an entry whatever its state and returns it as it was. `NotFound` if missing.
    async fn drop_entry(&self, id: QueueId) -> StoreResult<QueueEntry>;

    // ---- changes ----
    /// A live feed of this account's changes from now on (for IMAP IDLE and friends).
    fn changes(&self, account: AccountId) -> tokio::sync::broadcast::Receiver<Change>;
}
