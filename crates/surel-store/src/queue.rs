//! Records of the outbound queue (DESIGN §1 "Queue and delivery"): one entry per accepted message
//! with remote recipients, each recipient with its own state, attempts and next attempt time.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use surel_types::{AccountId, Address, BlobId};

/// A queue entry's identity; never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueId(pub i64);

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for QueueId {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(QueueId)
    }
}

/// A message about to enter the queue.
#[derive(Clone, Debug)]
pub struct QueuedMessage {
    /// The message as it will be sent (DKIM signature and trace headers already in it).
    pub bytes: Arc<[u8]>,
    /// The envelope sender; `None` is the null sender `<>` (a DSN), which never gets a DSN back.
    pub from: Option<Address>,
    /// The remote recipients, in the order given; at least one.
    pub recipients: Vec<Address>,
    /// When the message was accepted; its queue lifetime counts from here. Every recipient's
    /// first attempt is due at this instant.
    pub arrival: DateTime<Utc>,
    /// The local account that submitted it, if any (DESIGN §6: "the queue entries of this
    /// account").
    pub account: Option<AccountId>,
}

/// Where one recipient of a queue entry stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecipientState {
    /// Not delivered yet; tried again at `next_attempt`.
    Pending,
    /// Accepted by the destination (`250`).
    Delivered,
    /// Permanently failed or expired; a DSN went (or goes) to the sender.
    Failed,
}

impl RecipientState {
    /// The lowercase word used in listings and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientState::Pending => "pending",
            RecipientState::Delivered => "delivered",
            RecipientState::Failed => "failed",
        }
    }

    /// The inverse of [`RecipientState::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(RecipientState::Pending),
            "delivered" => Some(RecipientState::Delivered),
            "failed" => Some(RecipientState::Failed),
            _ => None,
        }
    }
}

/// One recipient of a queue entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRecipient {
    /// The forward path.
    pub address: Address,
    /// Where it stands.
    pub state: RecipientState,
    /// Delivery attempts so far; the next is due at `next_attempt`.
    pub attempts: u32,
    /// When the next attempt is due (meaningful while `Pending`).
    pub next_attempt: DateTime<Utc>,
    /// When it was last tried, if ever (RFC 3464 Last-Attempt-Date).
    pub last_attempt: Option<DateTime<Utc>>,
    /// What went wrong last, in words: the remote reply (`550 5.1.1 No such user`) or ours
    /// (`connection refused`).
    pub last_error: Option<String>,
    /// The RFC 3463 status of the last outcome (`4.4.1`), for a DSN's Status field.
    pub status: Option<String>,
    /// The host that gave the last answer, if one did (RFC 3464 Remote-MTA).
    pub remote_mta: Option<String>,
}

impl QueueRecipient {
    /// A recipient not tried yet, due at `due`.
    pub fn new(address: Address, due: DateTime<Utc>) -> Self {
        QueueRecipient {
            address,
            state: RecipientState::Pending,
            attempts: 0,
            next_attempt: due,
            last_attempt: None,
            last_error: None,
            status: None,
            remote_mta: None,
        }
    }
}

/// A queued message and its recipients as the store keeps them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueEntry {
    /// Its identity.
    pub id: QueueId,
    /// The envelope sender; `None` is `<>`.
    pub from: Option<Address>,
    /// The submitting account, if any.
    pub account: Option<AccountId>,
    /// When the message was accepted.
    pub arrival: DateTime<Utc>,
    /// Where its bytes are ([`crate::Store::read_blob`]).
    pub blob: BlobId,
    /// Size in octets.
    pub size: u64,
    /// True once the delay warning DSN went out (it goes once).
    pub delay_warned: bool,
    /// Until when a worker holds it; `None` when free. A lease that ran out (a worker crashed)
    /// is free again.
    pub leased_until: Option<DateTime<Utc>>,
    /// Every recipient, in the order enqueued; only pending ones remain to do.
    pub recipients: Vec<QueueRecipient>,
}

impl QueueEntry {
    /// The earliest next attempt of its pending recipients; `None` if none is pending.
    pub fn next_attempt(&self) -> Option<DateTime<Utc>> {
        self.recipients
            .iter()
            .filter(|r| r.state == RecipientState::Pending)
            .map(|r| r.next_attempt)
            .min()
    }
}

/// Which entries [`crate::Store::retry_now`] makes due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueTarget {
    /// One entry.
    One(QueueId),
    /// Every entry.
    All,
}
