//! Connections kept open between transactions, so several messages due for one host share one
//! connection (issue 5) instead of each paying for TCP, greeting, EHLO and STARTTLS.
//!
//! A connection is here only while no transaction uses it: the worker takes it out, runs RSET
//! (RFC 5321 §4.1.1.5) and one transaction, and puts it back or closes it. It is closed with
//! QUIT once it has carried `per_connection` transactions or waited `idle_for` unused, so a pooled
//! connection never outlives the short idle time and never exceeds the per-destination limit
//! (it is only put back before the destination's permit is released).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::client::Session;

/// Which connections can stand in for one another: the same MX host name (SNI, Remote-MTA) at
/// the same address.
type Key = (String, SocketAddr);

/// Idle sessions by destination.
#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<HashMap<Key, Vec<(u64, Session)>>>,
    next_id: AtomicU64,
}

impl Pool {
    /// An idle session to `host` at `addr`, if one is waiting.
    pub(crate) fn take(&self, host: &str, addr: SocketAddr) -> Option<Session> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let key = (host.to_string(), addr);
        let sessions = idle.get_mut(&key)?;
        let session = sessions.pop().map(|(_, s)| s);
        if sessions.is_empty() {
            idle.remove(&key);
        }
        session
    }

    /// Keeps `session` for the next transaction to the same host, or closes it if it carried
    /// `per_connection` transactions already or is not in a known state. An unused session is
    /// closed after `idle_for`.
    pub(crate) async fn put(
        self: &Arc<Self>,
        host: &str,
        addr: SocketAddr,
        session: Session,
        per_connection: usize,
        idle_for: Duration,
    ) {
        if idle_for.is_zero() || session.transactions() >= per_connection || !session.is_clean() {
            session.quit().await;
            return;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let key = (host.to_string(), addr);
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .push((id, session));
        let pool = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(idle_for).await;
            let Some(pool) = pool.upgrade() else { return };
            if let Some(session) = pool.remove(&key, id) {
                session.quit().await;
            }
        });
    }

    /// Closes every idle session (the worker is stopping).
    pub(crate) async fn close_all(&self) {
        let all: Vec<Session> = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.drain()
                .flat_map(|(_, sessions)| sessions.into_iter().map(|(_, s)| s))
                .collect()
        };
        // Each QUIT waits for its answer (bounded); the peers answer at once, not in turn.
        let mut quits = tokio::task::JoinSet::new();
        for session in all {
            quits.spawn(session.quit());
        }
        while quits.join_next().await.is_some() {}
    }

    fn remove(&self, key: &Key, id: u64) -> Option<Session> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let sessions = idle.get_mut(key)?;
        let at = sessions.iter().position(|(i, _)| *i == id)?;
        let (_, session) = sessions.swap_remove(at);
        if sessions.is_empty() {
            idle.remove(key);
        }
        Some(session)
    }
}
