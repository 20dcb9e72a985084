//! The surel server: wires the store, the network layer and the protocol services together.
//!
//! Owns: start-up (store, TLS, listeners), the start-up summary, background housekeeping, and
//! orderly shutdown. Must not: implement any protocol itself. This crate and test code are the
//! only places that name a store backend.
//! Invariant: `serve` returns only after every session has finished or the grace period ran out;
//! no session is cut off between `250` and the store's commit because deliveries finish before
//! the reply is written.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use surel_config::Config;
use surel_net::{ConnectionLimiter, Listener, MemoryBudget};
use surel_store::Store;
use surel_store_sqlite::SqliteStore;
use surel_types::{Address, Domain, Secret};
use tokio_util::task::TaskTracker;

pub use surel_net::{Shutdown, ShutdownTrigger};

mod services;

/// How long in-flight sessions may take to finish after shutdown was asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How often unreferenced blobs are collected.
const GC_INTERVAL: Duration = Duration::from_secs(3600);

/// Runs the server until `shutdown` fires, then lets in-flight sessions finish.
pub async fn serve(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let store = Arc::new(
        SqliteStore::open(&config.data_dir)
            .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))?,
    );
    anyhow::ensure!(
        config.limits.inflight_memory >= config.limits.message_size,
        "limits.inflight_memory ({}) is smaller than limits.message_size ({}): large messages \
         could never be received",
        config.limits.inflight_memory,
        config.limits.message_size
    );
    let (tls, tls_what) = surel_net::tls::acceptor(&config).context("cannot set up TLS")?;
    let tracker = TaskTracker::new();
    let mut summary = vec![
        format!("data directory {}", config.data_dir.display()),
        format!("TLS: {tls_what}"),
    ];

    let memory = MemoryBudget::new(config.limits.inflight_memory);
    let outbound = surel_queue::Outbound::new(store.clone() as Arc<dyn Store>);
    let smtp = Arc::new(surel_smtp::Context {
        hostname: config.hostname.clone(),
        limits: config.limits.clone(),
        ingest: surel_ingest::Ingest::new(store.clone() as Arc<dyn Store>, config.hostname.clone())
            .with_auth(auth_checks(&config)?),
        starttls: true,
        memory: memory.clone(),
        submission: false,
        throttle: Arc::new(surel_net::AuthThrottle::default()),
    });
    let limiter = Arc::new(ConnectionLimiter::new(
        config.limits.connections,
        config.limits.connections_per_ip,
    ));
    for addr in &config.listen.smtp {
        let listener = Listener::bind(*addr, limiter.clone()).await?;
        summary.push(format!("smtp listening on {}", listener.local_addr()));
        let (ctx, tls, stop) = (smtp.clone(), tls.clone(), shutdown.clone());
        listener.spawn(&tracker, shutdown.clone(), move |accepted| {
            surel_smtp::driver::run(ctx.clone(), Some(tls.clone()), accepted, stop.clone())
        });
    }
    summary.extend(
        services::start_submission(
            &config,
            store.clone(),
            outbound.clone(),
            memory,
            &tls,
            &tracker,
            &shutdown,
        )
        .await?,
    );
    summary.extend(services::start_pop3(&config, store.clone(), &tls, &tracker, &shutdown).await?);
    summary.extend(services::start_imap(&config, store.clone(), &tls, &tracker, &shutdown).await?);
    let not_yet = [
        ("http", &config.listen.http),
        ("https", &config.listen.https),
    ];
    for (service, addrs) in not_yet {
        if !addrs.is_empty() {
            summary.push(format!(
                "{service} on {} is not implemented yet",
                join(addrs)
            ));
        }
    }
    print_summary(&config.hostname, &summary);

    let gc_store = store.clone();
    let mut gc_stop = shutdown.clone();
    tracker.spawn(async move {
        loop {
            tokio::select! {
                _ = gc_stop.wait() => break,
                _ = tokio::time::sleep(GC_INTERVAL) => {}
            }
            let store = gc_store.clone();
            match tokio::task::spawn_blocking(move || store.collect_garbage()).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(removed = n, "collected unreferenced blobs"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "blob collection failed"),
                Err(e) => tracing::warn!(error = %e, "blob collection task failed"),
            }
        }
    });

    // One node owns this SQLite store, so a lease still held now was taken by a previous run
    // that died mid-attempt: free it, or its entries wait out the whole lease.
    let released = store
        .release_leases()
        .await
        .context("cannot release the queue leases of a previous run")?;
    if released > 0 {
        tracing::info!(released, "released queue leases left by a previous run");
    }
    spawn_queue(&config, outbound, &tracker, &shutdown)?;

    let mut stop = shutdown.clone();
    stop.wait().await;
    tracing::info!(
        sessions = limiter.open(),
        "shutting down; letting sessions finish"
    );
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("sessions still running after {SHUTDOWN_GRACE:?}; stopping anyway");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Starts the outbound delivery worker (DESIGN §1). `outbound` is the handle that queues mail
/// and wakes the worker; the submission path gets it through `surel-ingest`.
fn spawn_queue(
    config: &Config,
    outbound: surel_queue::Outbound,
    tracker: &TaskTracker,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    let dns = surel_dns::Resolver::new(&config.dns.nameservers, &surel_dns::Options::default())
        .context("cannot set up the DNS resolver for delivery")?;
    let settings = surel_queue::Settings::from_config(config);
    let worker =
        surel_queue::Worker::new(outbound, dns, Arc::new(surel_queue::SystemClock), settings)
            .context("cannot set up the delivery client's TLS")?;
    let mut stop = shutdown.clone();
    tracker.spawn(async move { worker.run(async move { stop.wait().await }).await });
    Ok(())
}

/// The inbound SPF/DKIM/DMARC checks over the configured resolvers (`[dns]`, `[auth]`).
fn auth_checks(config: &Config) -> anyhow::Result<surel_ingest::AuthChecks> {
    let dns = surel_dns::Resolver::new(&config.dns.nameservers, &surel_dns::Options::default())
        .context("cannot set up the DNS resolver")?;
    Ok(surel_ingest::AuthChecks {
        authenticator: Arc::new(surel_auth::Authenticator::new(&dns, &config.hostname)),
        dmarc_policy: config.auth.dmarc_policy,
        temperror: config.auth.temperror,
    })
}

/// On a fresh zero-config start: makes the domain `localhost` and the account `demo@localhost`,
/// printing its password once. Does nothing if the store already has a domain.
pub async fn ensure_demo_account(config: &Config) -> anyhow::Result<()> {
    let store = SqliteStore::open(&config.data_dir)
        .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))?;
    if !store.domains().await?.is_empty() {
        return Ok(());
    }
    let domain = Domain::parse("localhost")?;
    store.add_domain(&domain).await?;
    let address = Address::new("demo", domain)?;
    let password = Secret::new(generate_password());
    let hash = surel_store::password::hash(&password).map_err(anyhow::Error::msg)?;
    store.add_account(&address, &hash).await?;
    println!(
        "surel: created account {address} with password {}",
        password.expose()
    );
    println!("surel: (shown once; change it with `surel account passwd {address}`)");
    Ok(())
}

/// A random password of 20 characters from an alphabet without look-alikes.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..20)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn join(addrs: &[SocketAddr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_summary(hostname: &str, lines: &[String]) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "surel: serving as {hostname}");
    for line in lines {
        let _ = writeln!(out, "surel: {line}");
    }
    let _ = writeln!(out, "surel: ready");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_use_the_alphabet_and_differ() {
        let a = generate_password();
        assert_eq!(a.len(), 20);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() && !"0O1lI".contains(c))
        );
        assert_ne!(a, generate_password());
    }
}
