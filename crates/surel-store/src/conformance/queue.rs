//! Conformance of the outbound queue: enqueue, leasing (and leases running out), attempts,
//! retry, drop, and the per-sender listing.
//!
//! Choices pinned down here: times keep at least whole seconds; an entry is removed in the same
//! operation that settles its last pending recipient; leasing returns the earliest due first.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{address, invalid, not_found, ok};
use crate::{QueueRecipient, QueueTarget, QueuedMessage, RecipientState, Store};

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_800_000_000 + seconds, 0).expect("fixed date")
}

fn queued(from: Option<&str>, to: &[&str], arrival: DateTime<Utc>, text: &str) -> QueuedMessage {
    QueuedMessage {
        bytes: Arc::from(format!("Subject: {text}\r\n\r\n{text}\r\n").into_bytes()),
        from: from.map(address),
        recipients: to.iter().map(|t| address(t)).collect(),
        arrival,
        account: None,
    }
}

pub(super) async fn run(store: &dyn Store) {
    let lease = Duration::from_secs(300);
    invalid(
        store
            .enqueue(queued(Some("a@q.test"), &[], at(0), "none"))
            .await,
        "enqueue without recipients",
    );

    let first = queued(
        Some("Alice@q.test"),
        &["b@remote.test", "c@other.test"],
        at(10),
        "first",
    );
    let one = ok(store.enqueue(first.clone()).await, "enqueue");
    let two = ok(
        store
            .enqueue(queued(None, &["d@remote.test"], at(0), "bounce"))
            .await,
        "enqueue",
    );
    assert_ne!(one, two, "queue ids differ");

    let entry = ok(store.queue_entry(one).await, "queue_entry").expect("the entry exists");
    assert_eq!(entry.from, first.from, "the sender as given");
    assert_eq!(entry.arrival, at(10));
    assert_eq!(entry.size, first.bytes.len() as u64);
    assert!(!entry.delay_warned && entry.leased_until.is_none());
    assert_eq!(
        entry.recipients,
        vec![
            QueueRecipient::new(address("b@remote.test"), at(10)),
            QueueRecipient::new(address("c@other.test"), at(10)),
        ],
        "recipients start pending, untried, due at arrival, in order"
    );
    assert_eq!(
        ok(store.read_blob(&entry.blob).await, "read_blob"),
        &*first.bytes
    );
    let bounce = ok(store.queue_entry(two).await, "queue_entry").expect("the entry exists");
    assert_eq!(bounce.from, None, "the null sender stays null");

    let listed: Vec<_> = ok(store.queue_entries().await, "queue_entries")
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(listed, [one, two], "entries are listed by id");
    let mine = ok(
        store.queue_entries_from(&address("alice@Q.TEST")).await,
        "queue_entries_from",
    );
    assert_eq!(mine.len(), 1, "the sender's entries, case-insensitively");
    assert_eq!(mine[0].id, one);

    // Leasing: nothing before it is due; then earliest due first; a lease hides an entry until
    // it runs out.
    assert!(ok(store.lease_due(at(-1), 10, lease).await, "lease_due").is_empty());
    let leased = ok(store.lease_due(at(10), 10, lease).await, "lease_due");
    let ids: Vec<_> = leased.iter().map(|e| e.id).collect();
    assert_eq!(ids, [two, one], "earliest due first");
    assert_eq!(leased[1].leased_until, Some(at(310)));
    assert!(
        ok(store.lease_due(at(20), 10, lease).await, "lease_due").is_empty(),
        "leased entries are not leased again"
    );
    let again = ok(store.lease_due(at(310), 1, lease).await, "lease_due");
    assert_eq!(
        again.len(),
        1,
        "a lease that ran out is free; the limit holds"
    );
    assert_eq!(again[0].id, two);

    // An attempt: one delivered, one deferred. The lease is freed, the entry stays.
    let mut rcpts = leased[1].recipients.clone();
    rcpts[0].state = RecipientState::Delivered;
    rcpts[0].attempts = 1;
    rcpts[0].last_attempt = Some(at(400));
    rcpts[1].attempts = 1;
    rcpts[1].last_attempt = Some(at(400));
    rcpts[1].next_attempt = at(1000);
    rcpts[1].last_error = Some("451 4.3.0 try later".into());
    rcpts[1].status = Some("4.3.0".into());
    rcpts[1].remote_mta = Some("mx.other.test".into());
    ok(
        store.record_attempt(one, &rcpts, true).await,
        "record_attempt",
    );
    let entry = ok(store.queue_entry(one).await, "queue_entry").expect("still queued");
    assert_eq!(
        entry.recipients, rcpts,
        "every field of the attempt is kept"
    );
    assert!(entry.delay_warned);
    assert_eq!(entry.leased_until, None, "recording frees the lease");
    assert_eq!(entry.next_attempt(), Some(at(1000)));
    assert!(
        ok(store.lease_due(at(999), 10, lease).await, "lease_due")
            .iter()
            .all(|e| e.id != one),
        "not due before its next attempt"
    );
    invalid(
        store.record_attempt(one, &rcpts[..1], false).await,
        "record_attempt with the wrong number of recipients",
    );
    let missing = crate::QueueId(i64::MAX);
    not_found(
        store.record_attempt(missing, &rcpts, false).await,
        "queue entry",
        "record_attempt of a missing entry",
    );

    // Retry now makes it due at once.
    assert_eq!(
        ok(
            store.retry_now(QueueTarget::One(one), at(500)).await,
            "retry_now"
        ),
        1
    );
    let due = ok(store.lease_due(at(500), 10, lease).await, "lease_due");
    assert!(due.iter().any(|e| e.id == one), "retry_now made it due");
    not_found(
        store.retry_now(QueueTarget::One(missing), at(500)).await,
        "queue entry",
        "retry_now of a missing entry",
    );
    assert!(
        ok(
            store.retry_now(QueueTarget::All, at(600)).await,
            "retry_now"
        ) >= 2
    );

    // Settling the last pending recipient removes the entry.
    rcpts[1].state = RecipientState::Failed;
    ok(
        store.record_attempt(one, &rcpts, false).await,
        "record_attempt",
    );
    assert_eq!(ok(store.queue_entry(one).await, "queue_entry"), None);

    // Drop returns the entry as it was.
    let dropped = ok(store.drop_entry(two).await, "drop_entry");
    assert_eq!(dropped.id, two);
    assert_eq!(dropped.recipients[0].address, address("d@remote.test"));
    assert_eq!(ok(store.queue_entry(two).await, "queue_entry"), None);
    not_found(store.drop_entry(two).await, "queue entry", "dropping twice");
    assert!(ok(store.queue_entries().await, "queue_entries").is_empty());
}

/// `deliver_and_enqueue`: local copies and the queue entry of one message commit together.
pub(super) async fn delivered_and_queued_together(store: &dyn Store) {
    let dom = super::domain("both.test");
    ok(store.add_domain(&dom).await, "add_domain");
    let account = ok(
        store
            .add_account(&address("local@both.test"), "unused")
            .await,
        "add_account",
    );
    let before = ok(store.queue_entries().await, "queue_entries").len();
    let message = super::message("both");
    let remote = QueuedMessage {
        bytes: message.bytes.clone(),
        ..queued(Some("local@both.test"), &["far@remote.test"], at(0), "both")
    };

    invalid(
        store
            .deliver_and_enqueue(
                message.clone(),
                &[super::target(account, "INBOX")],
                queued(
                    Some("local@both.test"),
                    &["far@remote.test"],
                    at(0),
                    "other bytes",
                ),
            )
            .await,
        "deliver_and_enqueue with different bytes",
    );
    // A copy that cannot be stored (no such account) takes the queue entry down with it,
    // whichever of the two a backend writes first.
    let failed = store
        .deliver_and_enqueue(
            message.clone(),
            &[super::target(surel_types::AccountId(i64::MAX), "INBOX")],
            remote.clone(),
        )
        .await;
    assert!(
        failed.is_err(),
        "delivery to a missing account fails: {failed:?}"
    );
    assert_eq!(
        ok(store.queue_entries().await, "queue_entries").len(),
        before,
        "nothing queued when the local part failed"
    );

    let (stored, id) = ok(
        store
            .deliver_and_enqueue(message.clone(), &[super::target(account, "INBOX")], remote)
            .await,
        "deliver_and_enqueue",
    );
    assert_eq!(stored.len(), 1);
    let entry = ok(store.queue_entry(id).await, "queue_entry").expect("queued");
    assert_eq!(
        ok(store.read_blob(&entry.blob).await, "read_blob"),
        &*message.bytes,
        "one blob serves both"
    );
    let inbox = ok(store.messages(stored[0].mailbox).await, "messages");
    assert_eq!(inbox.last().map(|m| &m.blob), Some(&entry.blob));
    ok(store.drop_entry(id).await, "drop_entry");
}
