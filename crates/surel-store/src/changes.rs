//! The per-account change feed. Backends publish here after a commit; sessions subscribe.

use std::collections::HashMap;
use std::sync::Mutex;

use surel_types::{AccountId, MailboxId, ModSeq, Uid};
use tokio::sync::broadcast;

/// One committed change in an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The mailbox it happened in.
    pub mailbox: MailboxId,
    /// The MODSEQ it was committed at.
    pub modseq: ModSeq,
    /// What happened.
    pub kind: ChangeKind,
}

/// What a [`Change`] was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// A message arrived (delivery, APPEND, COPY, MOVE).
    Appended(Uid),
    /// Flags of these messages changed.
    Flags(Vec<Uid>),
    /// These messages were removed.
    Expunged(Vec<Uid>),
    /// Mailboxes were created, renamed or deleted.
    Mailboxes,
}

// A session that falls this far behind gets `Lagged` and must resynchronise from the store.
const FEED_CAPACITY: usize = 1024;

/// Fan-out of committed changes to the sessions of each account.
#[derive(Default)]
pub struct ChangeHub {
    senders: Mutex<HashMap<AccountId, broadcast::Sender<Change>>>,
}

impl ChangeHub {
    /// A receiver of this account's changes from now on.
    pub fn subscribe(&self, account: AccountId) -> broadcast::Receiver<Change> {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        senders
            .entry(account)
            .or_insert_with(|| broadcast::channel(FEED_CAPACITY).0)
            .subscribe()
    }

    /// Publishes a committed change; a no-op when nobody listens.
    pub fn publish(&self, account: AccountId, change: Change) {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = senders.get(&account)
            && tx.send(change).is_err()
        {
            // Every receiver is gone: forget the account so the map does not grow forever.
            senders.remove(&account);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_see_only_their_account() {
        let hub = ChangeHub::default();
        let mut a = hub.subscribe(AccountId(1));
        let mut b = hub.subscribe(AccountId(2));
        let change = Change {
            mailbox: MailboxId(7),
            modseq: ModSeq(3),
            kind: ChangeKind::Appended(Uid(1)),
        };
        hub.publish(AccountId(1), change.clone());
        assert_eq!(a.try_recv().unwrap(), change);
        assert!(b.try_recv().is_err());
    }

    #[test]
    fn publishing_without_listeners_forgets_the_account() {
        let hub = ChangeHub::default();
        drop(hub.subscribe(AccountId(1)));
        let change = Change {
            mailbox: MailboxId(1),
            modseq: ModSeq(1),
            kind: ChangeKind::Mailboxes,
        };
        hub.publish(AccountId(1), change);
        assert!(hub.senders.lock().unwrap().is_empty());
    }
}
