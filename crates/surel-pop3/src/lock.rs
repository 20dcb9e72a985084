//! One POP3 session per maildrop (RFC 1939 §8, RFC 2449 §8.1.2 `[IN-USE]`).
//!
//! The registry is per process: two surel processes sharing one store (the scale-out backend of
//! DESIGN §2) would each allow one session. IMAP sessions do not take this lock.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use surel_types::AccountId;

/// The accounts whose maildrop a POP3 session holds now.
#[derive(Clone, Debug, Default)]
pub struct MaildropLocks(Arc<Mutex<HashSet<AccountId>>>);

/// Held by the session that has the maildrop; dropping it frees the maildrop.
#[derive(Debug)]
pub struct MaildropLock {
    account: AccountId,
    locks: MaildropLocks,
}

impl MaildropLocks {
    /// Takes the maildrop of `account`, or `None` if a session has it.
    pub fn try_lock(&self, account: AccountId) -> Option<MaildropLock> {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        held.insert(account).then(|| MaildropLock {
            account,
            locks: self.clone(),
        })
    }

    /// True while a session holds the maildrop of `account`.
    pub fn is_locked(&self, account: AccountId) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&account)
    }
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        self.locks
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_freed_on_drop() {
        let locks = MaildropLocks::default();
        let a = locks.try_lock(AccountId(1)).unwrap();
        assert!(locks.try_lock(AccountId(1)).is_none());
        let _b = locks.try_lock(AccountId(2)).unwrap();
        drop(a);
        assert!(!locks.is_locked(AccountId(1)));
        assert!(locks.try_lock(AccountId(1)).is_some());
    }
}
