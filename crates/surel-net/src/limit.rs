use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Which cap a refused connection hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitHit {
    /// The service has as many connections as it allows in total.
    Total,
    /// This client IP has as many connections as one IP may have.
    PerIp,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Caps connections of one service, in total and per client IP.
pub struct ConnectionLimiter {
    total: usize,
    per_ip: usize,
    counts: Arc<Mutex<Counts>>,
}

/// Held by a connection while it lives; dropping it frees its place.
#[derive(Debug)]
pub struct ConnectionPermit {
    ip: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl std::fmt::Debug for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} connections", self.total)
    }
}

impl ConnectionLimiter {
    /// A limiter allowing `total` connections, at most `per_ip` of them from one address.
    pub fn new(total: usize, per_ip: usize) -> Self {
        Self {
            total,
            per_ip,
            counts: Arc::default(),
        }
    }

    /// Takes a place for a connection from `ip`, or says which cap is full.
    pub fn try_acquire(&self, ip: IpAddr) -> Result<ConnectionPermit, LimitHit> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.total >= self.total {
            return Err(LimitHit::Total);
        }
        let from_ip = counts.per_ip.entry(ip).or_insert(0);
        if *from_ip >= self.per_ip {
            return Err(LimitHit::PerIp);
        }
        *from_ip += 1;
        counts.total += 1;
        Ok(ConnectionPermit {
            ip,
            counts: self.counts.clone(),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).total
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_ip_and_total_and_frees_on_drop() {
        let limiter = ConnectionLimiter::new(3, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let a1 = limiter.try_acquire(a).unwrap();
        let _a2 = limiter.try_acquire(a).unwrap();
        assert_eq!(limiter.try_acquire(a).unwrap_err(), LimitHit::PerIp);
        let _b1 = limiter.try_acquire(b).unwrap();
        assert_eq!(limiter.try_acquire(b).unwrap_err(), LimitHit::Total);
        drop(a1);
        assert_eq!(limiter.open(), 2);
        assert!(limiter.try_acquire(a).is_ok());
    }
}
