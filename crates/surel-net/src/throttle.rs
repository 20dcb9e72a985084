//! Failed-login throttling per client IP (DESIGN §4: authentication failures are slowed down
//! and locked out per IP). Shared by every service that checks passwords (POP3, IMAP,
//! submission); each service may keep its own or share one.
//!
//! IPv6 clients are keyed by their /64, since one host usually owns a whole /64. Memory is
//! bounded: at most `capacity` addresses are tracked; when full, forgotten entries are dropped
//! first, then the one whose last failure is oldest. Time comes from `tokio::time::Instant`, so
//! tests run on tokio's paused clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How failures turn into delays and lockouts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Delay before answering the first failure; each further failure doubles it.
    pub base_delay: Duration,
    /// The delay never exceeds this.
    pub max_delay: Duration,
    /// After this many failures in a row the address is locked out.
    pub lockout_after: u32,
    /// How long a lockout lasts.
    pub lockout: Duration,
    /// Failures older than this (with none since) are forgotten.
    pub forget_after: Duration,
    /// Most addresses tracked at once.
    pub capacity: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            lockout_after: 10,
            lockout: Duration::from_secs(5 * 60),
            forget_after: Duration::from_secs(15 * 60),
            capacity: 10_000,
        }
    }
}

/// The address may not try now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockedOut {
    /// How long until it may try again.
    pub retry_after: Duration,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

/// Counts failed logins per client address and says how long to wait before answering one, and
/// when an address is locked out.
#[derive(Debug)]
pub struct AuthThrottle {
    policy: ThrottlePolicy,
    entries: Mutex<HashMap<IpAddr, Entry>>,
}

impl Default for AuthThrottle {
    fn default() -> Self {
        Self::new(ThrottlePolicy::default())
    }
}

impl AuthThrottle {
    /// A throttle with this policy.
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            entries: Mutex::default(),
        }
    }

    /// Checks before verifying a password: `Err` while the address is locked out.
    pub fn check(&self, ip: IpAddr) -> Result<(), LockedOut> {
        let now = Instant::now();
        let entries = self.lock();
        match entries.get(&key(ip)).and_then(|e| e.locked_until) {
            Some(until) if until > now => Err(LockedOut {
                retry_after: until - now,
            }),
            _ => Ok(()),
        }
    }

    /// Records a failed login; returns how long to wait before answering it.
    pub fn failed(&self, ip: IpAddr) -> Duration {
        let now = Instant::now();
        let mut entries = self.lock();
        let ip = key(ip);
        if !entries.contains_key(&ip) && entries.len() >= self.policy.capacity {
            self.make_room(&mut entries, now);
        }
        let entry = entries.entry(ip).or_insert(Entry {
            failures: 0,
            last_failure: now,
            locked_until: None,
        });
        if self.is_forgotten(entry, now) {
            *entry = Entry {
                failures: 0,
                last_failure: now,
                locked_until: None,
            };
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        if entry.failures >= self.policy.lockout_after {
            entry.locked_until = Some(now + self.policy.lockout);
        }
        self.delay_for(entry.failures)
    }

    /// Records a successful login: the address starts afresh.
    pub fn succeeded(&self, ip: IpAddr) {
        self.lock().remove(&key(ip));
    }

    /// Addresses tracked now.
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    fn delay_for(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.policy
            .base_delay
            .saturating_mul(1 << doublings)
            .min(self.policy.max_delay)
    }

    fn is_forgotten(&self, entry: &Entry, now: Instant) -> bool {
        let locked = entry.locked_until.is_some_and(|until| until > now);
        !locked && now.duration_since(entry.last_failure) >= self.policy.forget_after
    }

    /// Drops forgotten entries; if none was, drops the one whose last failure is oldest.
    fn make_room(&self, entries: &mut HashMap<IpAddr, Entry>, now: Instant) {
        let before = entries.len();
        entries.retain(|_, e| !self.is_forgotten(e, now));
        if entries.len() < before {
            return;
        }
        let oldest = entries
            .iter()
            .min_by_key(|(_, e)| e.last_failure)
            .map(|(ip, _)| *ip);
        if let Some(ip) = oldest {
            entries.remove(&ip);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// IPv4 addresses as they are; IPv6 by their /64 (an IPv4-mapped address as its IPv4).
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                for s in segments.iter_mut().skip(4) {
                    *s = 0;
                }
                IpAddr::V6(segments.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(4),
            lockout_after: 4,
            lockout: Duration::from_secs(60),
            forget_after: Duration::from_secs(600),
            capacity: 3,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn delay_doubles_up_to_the_cap_then_locks_out_until_it_expires() {
        let t = AuthThrottle::new(policy());
        let a = ip("192.0.2.1");
        assert_eq!(t.check(a), Ok(()));
        assert_eq!(t.failed(a), Duration::from_secs(1));
        assert_eq!(t.failed(a), Duration::from_secs(2));
        assert_eq!(t.failed(a), Duration::from_secs(4));
        assert_eq!(t.check(a), Ok(()));
        assert_eq!(t.failed(a), Duration::from_secs(4));
        assert_eq!(
            t.check(a),
            Err(LockedOut {
                retry_after: Duration::from_secs(60)
            })
        );
        // Another address is not affected.
        assert_eq!(t.check(ip("192.0.2.2")), Ok(()));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(t.check(a), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn success_and_time_forget_failures() {
        let t = AuthThrottle::new(policy());
        let a = ip("192.0.2.1");
        t.failed(a);
        t.failed(a);
        t.succeeded(a);
        assert_eq!(t.failed(a), Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(601)).await;
        assert_eq!(t.failed(a), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn ipv6_is_keyed_by_its_64_and_memory_is_bounded() {
        let t = AuthThrottle::new(policy());
        t.failed(ip("2001:db8::1"));
        assert_eq!(t.failed(ip("2001:db8::2")), Duration::from_secs(2));
        assert_eq!(t.failed(ip("2001:db8:0:1::1")), Duration::from_secs(1));
        assert_eq!(t.failed(ip("::ffff:192.0.2.9")), Duration::from_secs(1));
        assert_eq!(t.failed(ip("192.0.2.9")), Duration::from_secs(2));
        assert_eq!(t.tracked(), 3);
        tokio::time::advance(Duration::from_secs(1)).await;
        for n in 0..100 {
            t.failed(IpAddr::from([198, 51, 100, n]));
            assert!(t.tracked() <= 3);
        }
    }
}
