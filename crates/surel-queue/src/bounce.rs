//! Reports to the sender (RFC 3464 DSNs built by `surel_message::Dsn`): a local sender gets the
//! report in the INBOX at once; a remote one gets it queued from `<>`. A message from `<>` never
//! gets one (RFC 5321 §4.5.5: no bounce loops).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use surel_message::{Dsn, DsnAction, DsnRecipient};
use surel_store::{
    DeliveryTarget, NewMessage, QueueEntry, QueueRecipient, QueuedMessage, Store, StoreResult,
};
use surel_types::MailboxName;

/// The report's line for one recipient of `entry`.
pub fn recipient(
    r: &QueueRecipient,
    action: DsnAction,
    retry_until: Option<DateTime<Utc>>,
) -> DsnRecipient {
    let default_status = match action {
        DsnAction::Failed => "5.0.0",
        DsnAction::Delayed => "4.0.0",
    };
    DsnRecipient {
        address: r.address.to_string(),
        action,
        status: r
            .status
            .clone()
            .unwrap_or_else(|| default_status.to_string()),
        remote_mta: r.remote_mta.clone(),
        diagnostic: r.last_error.clone(),
        last_attempt: r.last_attempt,
        will_retry_until: retry_until,
    }
}

/// Where a report went.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    /// Nowhere: the message came from `<>`.
    NotForNullSender,
    /// Into the local sender's INBOX.
    Local,
    /// Into the queue, from `<>`.
    Queued,
}

/// Sends one report about `recipients` of `entry` (whose bytes are `original`) to its sender.
pub async fn send(
    store: &Arc<dyn Store>,
    hostname: &str,
    now: DateTime<Utc>,
    entry: &QueueEntry,
    original: &[u8],
    recipients: &[DsnRecipient],
) -> StoreResult<Sent> {
    let Some(sender) = &entry.from else {
        return Ok(Sent::NotForNullSender);
    };
    if recipients.is_empty() {
        return Ok(Sent::NotForNullSender);
    }
    let token = format!(
        "{}.{}.{:016x}",
        entry.id,
        now.timestamp(),
        rand::random::<u64>()
    );
    let bytes = Dsn {
        reporting_mta: hostname,
        to: &sender.to_string(),
        arrival: entry.arrival,
        date: now,
        token: &token,
        recipients,
        original,
    }
    .build();
    let local = match store.account(sender).await? {
        Some(account) => Some(account),
        None => match sender.without_subaddress() {
            Some(base) => store.account(&base).await?,
            None => None,
        },
    };
    if let Some(account) = local {
        let message = NewMessage {
            bytes: Arc::from(bytes),
            internal_date: now,
            flags: Vec::new(),
            auth_results: None,
        };
        let target = DeliveryTarget {
            account: account.id,
            mailbox: MailboxName::inbox(),
        };
        store.deliver(message, &[target]).await?;
        return Ok(Sent::Local);
    }
    store
        .enqueue(QueuedMessage {
            bytes: Arc::from(bytes),
            from: None,
            recipients: vec![sender.clone()],
            arrival: now,
            account: None,
        })
        .await?;
    Ok(Sent::Queued)
}
