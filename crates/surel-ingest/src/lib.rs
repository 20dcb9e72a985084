//! The path a message takes once its bytes are in: recipient routing, trace headers, delivery.
//!
//! Owns: deciding what a recipient address means (an account, an alias, a plus-address, a
//! catch-all, not ours) and handing an accepted message to the store with the headers we add.
//! Must not: speak a protocol or touch a socket; SMTP and (later) webmail compose both call it.
//! Invariant: `accept` returns only after every copy is durable; on error nothing is visible.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod router;

pub use router::{Recipient, Router};

use std::net::IpAddr;
use std::sync::Arc;

use chrono::Utc;
use surel_message::{Protocol, Received};
use surel_store::{DeliveryTarget, NewMessage, Store, StoreResult, Stored};
use surel_types::{AccountId, MailboxName};

/// What the receiving session knows about how a message came in.
pub struct Arrival<'a> {
    /// EHLO/HELO name.
    pub helo: &'a str,
    /// The client's IP address.
    pub peer: IpAddr,
    /// How it came.
    pub protocol: Protocol,
    /// SMTPUTF8 was used.
    pub smtputf8: bool,
    /// TLS version and cipher, if encrypted.
    pub tls: Option<&'a str>,
    /// The transaction id (also in our reply and logs).
    pub id: &'a str,
}

/// Accepts messages for local delivery.
pub struct Ingest {
    store: Arc<dyn Store>,
    hostname: String,
}

impl Ingest {
    /// An ingest path over `store`, naming itself `hostname` in trace headers.
    pub fn new(store: Arc<dyn Store>, hostname: String) -> Self {
        Self { store, hostname }
    }

    /// The router for RCPT decisions.
    pub fn router(&self) -> Router<'_> {
        Router::new(self.store.as_ref())
    }

    /// Prepends `Received` and stores one copy in each account's INBOX (an account reached by
    /// several recipients gets one copy). `rcpt_count` is the number of accepted RCPTs, and
    /// `single_rcpt` their address when there was exactly one (RFC 5321 §4.4 `for` clause).
    pub async fn accept(
        &self,
        arrival: &Arrival<'_>,
        single_rcpt: Option<&str>,
        accounts: &[AccountId],
        body: &[u8],
    ) -> StoreResult<Vec<Stored>> {
        let now = Utc::now();
        let received = Received {
            helo: arrival.helo,
            peer: arrival.peer,
            by: &self.hostname,
            protocol: arrival.protocol,
            smtputf8: arrival.smtputf8,
            id: arrival.id,
            tls: arrival.tls,
            for_rcpt: single_rcpt,
            date: now,
        }
        .encode();
        let bytes = surel_message::prepend_header(&received, body);
        let mut unique = accounts.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let targets: Vec<DeliveryTarget> = unique
            .into_iter()
            .map(|account| DeliveryTarget {
                account,
                mailbox: MailboxName::inbox(),
            })
            .collect();
        let message = NewMessage {
            bytes: bytes.into(),
            internal_date: now,
            flags: Vec::new(),
        };
        self.store.deliver(message, &targets).await
    }
}
