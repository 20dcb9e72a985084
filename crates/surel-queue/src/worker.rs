//! The delivery worker: leases due entries, delivers each entry's due recipients grouped by
//! destination domain (domains concurrently, each under its per-destination limit), records
//! the outcomes, then reports failures and delays to the sender. A connection that finished a
//! transaction waits briefly in the pool ([`crate::pool`]) for the next message to its host.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use surel_dns::{DnsError, Resolver};
use surel_message::DsnAction;
use surel_store::{QueueEntry, QueueRecipient, RecipientState};
use surel_types::Address;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::client::{Envelope, Session, Target, TlsClient};
use crate::mx::{self, Route};
use crate::outcome::{Outcome, Trouble, Why};
use crate::pool::Pool;
use crate::retry::Next;
use crate::{Clock, Outbound, Settings, bounce};

/// How long a stopping worker lets attempts in progress finish before cutting them off.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// The outbound delivery engine.
pub struct Worker {
    outbound: Outbound,
    resolver: Resolver,
    clock: Arc<dyn Clock>,
    settings: Settings,
    tls: TlsClient,
    slots: Arc<Semaphore>,
    destinations: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Connections between transactions, for the next message to the same host.
    pool: Arc<Pool>,
}

impl Worker {
    /// A worker over the handle's store.
    pub fn new(
        outbound: Outbound,
        resolver: Resolver,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Result<Arc<Self>, rustls::Error> {
        Ok(Arc::new(Worker {
            outbound,
            resolver,
            clock,
            slots: Arc::new(Semaphore::new(settings.max_concurrent.max(1))),
            settings,
            tls: TlsClient::new()?,
            destinations: Mutex::new(HashMap::new()),
            pool: Arc::default(),
        }))
    }

    /// Runs until `stop` completes: leases due entries whenever woken (enqueue), every
    /// `poll_interval`, and whenever an attempt finishes.
    pub async fn run(self: Arc<Self>, stop: impl Future<Output = ()>) {
        let wake = self.outbound.notified();
        let mut tasks = JoinSet::new();
        tokio::pin!(stop);
        loop {
            let free = self.slots.available_permits();
            if free > 0 {
                let now = self.clock.now();
                match self
                    .outbound
                    .store()
                    .lease_due(now, free, self.settings.lease_for)
                    .await
                {
                    Ok(entries) => {
                        for entry in entries {
                            let Ok(permit) = self.slots.clone().acquire_owned().await else {
                                break;
                            };
                            let worker = self.clone();
                            tasks.spawn(async move {
                                worker.attempt(entry).await;
                                drop(permit);
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot lease queue entries"),
                }
            }
            tokio::select! {
                () = &mut stop => break,
                () = wake.notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        // Let attempts in progress record their outcome; their leases cover the rest.
        let _ = tokio::time::timeout(STOP_GRACE, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        self.pool.close_all().await;
    }

    /// Leases and attempts every due entry once, waiting for all; returns how many it tried.
    pub async fn run_once(self: &Arc<Self>) -> usize {
        let now = self.clock.now();
        let entries = match self
            .outbound
            .store()
            .lease_due(
                now,
                self.settings.max_concurrent.max(1),
                self.settings.lease_for,
            )
            .await
        {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(error = %e, "cannot lease queue entries");
                return 0;
            }
        };
        let n = entries.len();
        let mut tasks = JoinSet::new();
        for entry in entries {
            let worker = self.clone();
            tasks.spawn(async move { worker.attempt(entry).await });
        }
        while tasks.join_next().await.is_some() {}
        n
    }

    /// One attempt of one entry's due recipients, recorded, then reported.
    async fn attempt(self: Arc<Self>, entry: QueueEntry) {
        let store = self.outbound.store().clone();
        let now = self.clock.now();
        let original: Arc<[u8]> = match store.read_blob(&entry.blob).await {
            Ok(bytes) => Arc::from(bytes),
            Err(e) => {
                // The lease runs out and a later attempt tries again.
                tracing::error!(queue_id = %entry.id, error = %e, "cannot read a queued message");
                return;
            }
        };
        let mut by_domain: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, r) in entry.recipients.iter().enumerate() {
            if r.state == RecipientState::Pending && r.next_attempt <= now {
                by_domain
                    .entry(r.address.domain().as_str().to_ascii_lowercase())
                    .or_default()
                    .push(i);
            }
        }
        let mut tasks = JoinSet::new();
        for (domain, indexes) in by_domain {
            let worker = self.clone();
            let rcpts: Vec<Address> = indexes
                .iter()
                .filter_map(|&i| entry.recipients.get(i).map(|r| r.address.clone()))
                .collect();
            let (from, message) = (entry.from.clone(), original.clone());
            let limit = self.settings.attempt_limit;
            tasks.spawn(async move {
                let n = rcpts.len();
                let work = worker.deliver_domain(&domain, from.as_ref(), &rcpts, &message);
                let outcomes = match tokio::time::timeout(limit, work).await {
                    Ok(outcomes) => outcomes,
                    Err(_) => {
                        vec![Outcome::of_trouble(&Trouble::Timeout("the whole attempt"), None); n]
                    }
                };
                (indexes, outcomes)
            });
        }
        let mut rcpts = entry.recipients.clone();
        let mut failed = Vec::new();
        let policy = self.settings.policy;
        while let Some(done) = tasks.join_next().await {
            let Ok((indexes, outcomes)) = done else {
                continue;
            };
            for (i, outcome) in indexes.into_iter().zip(outcomes) {
                let Some(r) = rcpts.get_mut(i) else { continue };
                r.attempts = r.attempts.saturating_add(1);
                r.last_attempt = Some(now);
                match outcome {
                    Outcome::Delivered => {
                        r.state = RecipientState::Delivered;
                        r.status = Some("2.0.0".into());
                        tracing::info!(queue_id = %entry.id, rcpt = %r.address, "delivered");
                    }
                    Outcome::Failed(why) => {
                        note(r, &why);
                        r.state = RecipientState::Failed;
                        failed.push(i);
                        tracing::info!(queue_id = %entry.id, rcpt = %r.address, why = %why, "failed");
                    }
                    Outcome::Retry(why) => {
                        note(r, &why);
                        match policy.after_temporary(entry.arrival, now) {
                            Next::RetryAt(at) => {
                                r.next_attempt = at;
                                tracing::info!(queue_id = %entry.id, rcpt = %r.address, why = %why, next = %at, "deferred");
                            }
                            Next::Expired => {
                                r.state = RecipientState::Failed;
                                failed.push(i);
                                tracing::info!(queue_id = %entry.id, rcpt = %r.address, why = %why, "expired");
                            }
                        }
                    }
                }
            }
        }
        let pending: Vec<usize> = (0..rcpts.len())
            .filter(|&i| {
                rcpts
                    .get(i)
                    .is_some_and(|r| r.state == RecipientState::Pending)
            })
            .collect();
        let warn = !pending.is_empty()
            && entry.from.is_some()
            && policy.warn_now(entry.arrival, now, entry.delay_warned);
        // Recorded before acting on it (the crate's first invariant).
        if let Err(e) = store.record_attempt(entry.id, &rcpts, warn).await {
            tracing::error!(queue_id = %entry.id, error = %e, "cannot record a delivery attempt");
            return;
        }
        let report = |indexes: &[usize], action, until| -> Vec<_> {
            indexes
                .iter()
                .filter_map(|&i| rcpts.get(i))
                .map(|r| bounce::recipient(r, action, until))
                .collect()
        };
        let hostname = &self.settings.hostname;
        if !failed.is_empty() {
            let lines = report(&failed, DsnAction::Failed, None);
            self.report(&entry, &original, &lines, "failure", hostname)
                .await;
        }
        if warn {
            let lines = report(
                &pending,
                DsnAction::Delayed,
                Some(policy.expires(entry.arrival)),
            );
            self.report(&entry, &original, &lines, "delay", hostname)
                .await;
        }
    }

    async fn report(
        &self,
        entry: &QueueEntry,
        original: &[u8],
        lines: &[surel_message::DsnRecipient],
        kind: &str,
        hostname: &str,
    ) {
        let store = self.outbound.store();
        match bounce::send(store, hostname, self.clock.now(), entry, original, lines).await {
            Ok(bounce::Sent::Queued) => {
                self.outbound.wake();
                tracing::info!(queue_id = %entry.id, kind, "DSN queued to the remote sender");
            }
            Ok(sent) => tracing::info!(queue_id = %entry.id, kind, ?sent, "DSN"),
            Err(e) => tracing::error!(queue_id = %entry.id, kind, error = %e, "cannot send a DSN"),
        }
    }

    /// An idle connection to `host` at `addr` that answered RSET (RFC 5321 §4.1.1.5); one that
    /// does not is dropped (the peer closed it or lost track), and the caller opens a new one.
    async fn reuse(&self, host: &str, addr: SocketAddr) -> Option<Session> {
        while let Some(mut session) = self.pool.take(host, addr) {
            match session.reset().await {
                Ok(()) => return Some(session),
                Err(e) => {
                    tracing::debug!(host, %addr, error = ?e, "an idle connection failed RSET")
                }
            }
        }
        None
    }

    fn destination(&self, domain: &str) -> Arc<Semaphore> {
        let mut map = self.destinations.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, s| {
            Arc::strong_count(s) > 1 || s.available_permits() < self.settings.per_destination
        });
        map.entry(domain.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.per_destination.max(1))))
            .clone()
    }

    /// Delivers to one domain: MX hosts in order, each of their addresses, falling through on
    /// connection failures and temporary refusals (RFC 5321 §5.1).
    async fn deliver_domain(
        &self,
        domain: &str,
        from: Option<&Address>,
        rcpts: &[Address],
        message: &[u8],
    ) -> Vec<Outcome> {
        let n = rcpts.len();
        let all = |o: Outcome| vec![o; n];
        let limit = self.destination(domain);
        let Ok(_permit) = limit.acquire().await else {
            return all(Outcome::of_trouble(&Trouble::Closed, None));
        };
        let (hosts, implicit) = match mx::route(&self.resolver, domain).await {
            Err(t) => return all(Outcome::of_trouble(&t, None)),
            Ok(Route::NullMx) => return all(Outcome::of_trouble(&Trouble::NullMx, None)),
            Ok(Route::Implicit(host)) => (vec![host], true),
            Ok(Route::Hosts(hosts)) => (hosts, false),
        };
        let mut last =
            Outcome::of_trouble(&Trouble::Connect(format!("no host for {domain}")), None);
        for host in &hosts {
            let ips = match self.resolver.ips(host).await {
                Ok(ips) => ips,
                Err(DnsError::NotFound(_)) if implicit => {
                    return all(Outcome::of_trouble(
                        &Trouble::NoSuchDomain(domain.to_string()),
                        None,
                    ));
                }
                Err(DnsError::NotFound(_)) => {
                    last = Outcome::of_trouble(
                        &Trouble::Connect(format!("{host} has no address")),
                        None,
                    );
                    continue;
                }
                Err(e) => {
                    last = Outcome::of_trouble(&Trouble::DnsTemporary(e.to_string()), None);
                    continue;
                }
            };
            for ip in ips {
                let addr = SocketAddr::new(ip, self.settings.port);
                let target = Target {
                    host,
                    addr,
                    source: self.settings.source,
                    hostname: &self.settings.hostname,
                };
                let (mut session, reused) = match self.reuse(host, addr).await {
                    Some(s) => (s, true),
                    None => match Session::open(&target, self.settings.timeouts, &self.tls).await {
                        Ok(s) => (s, false),
                        Err(e) => {
                            last = e.outcome(host);
                            tracing::debug!(host, %ip, outcome = ?last, "cannot open a session");
                            continue;
                        }
                    },
                };
                let env = Envelope {
                    from,
                    recipients: rcpts,
                    message,
                };
                let result = session.send(&env).await;
                tracing::info!(
                    host,
                    %ip,
                    reused,
                    transaction = session.transactions(),
                    tls = session.tls,
                    content = if session.extensions().chunking { "BDAT" } else { "DATA" },
                    ok = result.is_ok(),
                    "mail transaction"
                );
                if result.is_ok() {
                    let s = &self.settings;
                    self.pool
                        .put(host, addr, session, s.per_connection, s.idle_for)
                        .await;
                } else {
                    session.quit().await;
                }
                match result {
                    Ok(outcomes) if outcomes.iter().all(|o| matches!(o, Outcome::Retry(_))) => {
                        // Every recipient deferred: the next host may do better.
                        last = outcomes.into_iter().next().unwrap_or(last);
                    }
                    Ok(outcomes) => return outcomes,
                    Err(e) => match e.outcome(host) {
                        Outcome::Retry(why) => last = Outcome::Retry(why),
                        other => return all(other),
                    },
                }
            }
        }
        if n > 1 {
            // Fall-through ended with one outcome standing for everyone.
            return all(last);
        }
        vec![last]
    }
}

/// Keeps an outcome's reason on the recipient (for the DSN and `surel queue list`).
fn note(r: &mut QueueRecipient, why: &Why) {
    r.last_error = Some(why.text.clone());
    r.status = Some(why.status.to_string());
    r.remote_mta = why.remote_mta.clone();
}
