//! Outbound mail: the persistent queue's delivery engine (DESIGN §1 "Queue and delivery").
//!
//! Owns: leasing due entries from the store, MX routing ([`mx`]), the delivery client
//! ([`client`]) and the connections it keeps between transactions (`pool`), mapping answers to [`Outcome`]s ([`outcome`]), the retry schedule ([`retry`]),
//! and the DSNs a sender gets ([`bounce`]). Must not: accept mail (that is `surel-ingest` and
//! the sessions), or read the clock directly (everything takes a [`Clock`], so tests control
//! time).
//!
//! Invariants a change must keep:
//! - An attempt's outcome is recorded in the store before anything acts on it (a DSN is sent
//!   after the record): a crash between the remote `250` and the record can repeat a delivery
//!   (SMTP allows nothing better), but never loses the message or the report.
//! - A message from `<>` never produces a DSN.
//! - Nothing from the network is trusted: every read is bounded in time and size, and a peer
//!   that misbehaves is a temporary failure.
//! - A connection carries one transaction at a time and is pooled only between transactions,
//!   while its destination's permit is held, so pooling never exceeds `per_destination`.
//! - An attempt ends within its lease (`Settings::attempt_limit` < `Settings::lease_for`), so
//!   no two workers ever work on one entry.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod bounce;
pub mod client;
pub mod clock;
pub mod mx;
pub mod outcome;
mod pool;
pub mod reply;
pub mod retry;
mod worker;

use std::sync::Arc;
use std::time::Duration;

pub use clock::{Clock, SystemClock, TestClock};
pub use outcome::{Outcome, Why};
pub use retry::RetryPolicy;
pub use worker::Worker;

use surel_store::{QueueId, QueuedMessage, Store, StoreResult};
use tokio::sync::Notify;

/// How the engine runs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Our host name: EHLO, Reporting-MTA, the DSN's From.
    pub hostname: String,
    /// The retry schedule.
    pub policy: RetryPolicy,
    /// The port delivery connects to (25; tests change it).
    pub port: u16,
    /// The local address to connect from.
    pub source: Option<std::net::IpAddr>,
    /// How often the store is asked for due entries besides wake-ups (entries another process
    /// enqueued, retries coming due).
    pub poll_interval: Duration,
    /// How long a leased entry stays ours.
    pub lease_for: Duration,
    /// The bound on one attempt of one entry (all its domains); less than `lease_for`.
    pub attempt_limit: Duration,
    /// Entries attempted at once.
    pub max_concurrent: usize,
    /// Connections to one destination domain at once.
    pub per_destination: usize,
    /// Mail transactions one connection carries before it is closed (RSET between them).
    pub per_connection: usize,
    /// How long a connection waits unused for the next message to its host; zero: QUIT after
    /// each transaction.
    pub idle_for: Duration,
    /// The client's timeouts.
    pub timeouts: client::Timeouts,
}

impl Settings {
    /// Settings from the config file (`hostname`, `[queue]`), with production limits.
    pub fn from_config(config: &surel_config::Config) -> Self {
        let q = &config.queue;
        Settings {
            hostname: config.hostname.clone(),
            policy: RetryPolicy {
                retry_interval: q.retry_interval,
                lifetime: q.lifetime,
                delay_warning: q.delay_warning,
            },
            port: q.delivery_port,
            source: q.source_address,
            poll_interval: q.poll_interval,
            lease_for: Duration::from_secs(30 * 60),
            attempt_limit: Duration::from_secs(20 * 60),
            max_concurrent: 64,
            per_destination: 4,
            per_connection: 100,
            idle_for: Duration::from_secs(5),
            timeouts: client::Timeouts::default(),
        }
    }
}

/// The entry point for code that queues mail (the router behind submission, `surel queue`
/// commands in-process): stores the message durably and wakes the worker.
#[derive(Clone)]
pub struct Outbound {
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
}

impl Outbound {
    /// A handle over `store` that wakes nothing (the worker's poll finds the entries).
    pub fn new(store: Arc<dyn Store>) -> Self {
        Outbound {
            store,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Queues `message` (durable on return) and wakes the worker.
    pub async fn enqueue(&self, message: QueuedMessage) -> StoreResult<QueueId> {
        let id = self.store.enqueue(message).await?;
        self.wake.notify_one();
        Ok(id)
    }

    /// Stores local copies and queues the remote recipients of one message in one commit
    /// ([`Store::deliver_and_enqueue`]), then wakes the worker.
    pub async fn deliver_and_enqueue(
        &self,
        message: surel_store::NewMessage,
        targets: &[surel_store::DeliveryTarget],
        queued: QueuedMessage,
    ) -> StoreResult<(Vec<surel_store::Stored>, QueueId)> {
        let done = self
            .store
            .deliver_and_enqueue(message, targets, queued)
            .await?;
        self.wake.notify_one();
        Ok(done)
    }

    /// Wakes the worker (after `retry_now`, for instance).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn notified(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}
