//! A cap on memory held for messages in transit, shared by every session of the process, so
//! many clients sending large messages at once get a temporary failure instead of exhausting
//! memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Octets that sessions may hold at once for messages being received.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    used: AtomicU64,
}

/// Octets taken from a [`MemoryBudget`]; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<MemoryBudget>,
    octets: u64,
}

impl MemoryBudget {
    /// A budget of `limit` octets.
    pub fn new(limit: u64) -> Arc<Self> {
        Arc::new(Self {
            limit,
            used: AtomicU64::new(0),
        })
    }

    /// An empty reservation to grow as data arrives.
    pub fn reservation(self: &Arc<Self>) -> Reservation {
        Reservation {
            budget: self.clone(),
            octets: 0,
        }
    }

    /// Octets held now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    fn take(&self, octets: u64) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(octets)
                    .filter(|&total| total <= self.limit)
            })
            .is_ok()
    }
}

impl Reservation {
    /// Grows the reservation to `octets` in total; false (and unchanged) if the budget is spent.
    pub fn grow_to(&mut self, octets: u64) -> bool {
        if octets <= self.octets {
            return true;
        }
        if self.budget.take(octets - self.octets) {
            self.octets = octets;
            true
        } else {
            false
        }
    }

    /// Octets held by this reservation.
    pub fn octets(&self) -> u64 {
        self.octets
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.octets, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_limit_and_give_back_on_drop() {
        let budget = MemoryBudget::new(100);
        let mut a = budget.reservation();
        let mut b = budget.reservation();
        assert!(a.grow_to(60));
        assert!(a.grow_to(50), "shrinking requests keep what is held");
        assert!(!b.grow_to(41));
        assert_eq!(b.octets(), 0);
        assert!(b.grow_to(40));
        assert_eq!(budget.used(), 100);
        drop(a);
        assert_eq!(budget.used(), 40);
        assert!(b.grow_to(100));
        drop(b);
        assert_eq!(budget.used(), 0);
    }
}
