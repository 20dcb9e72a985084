//! Durable delivery throughput, run by hand:
//!
//! ```text
//! cargo run --release -p surel-store-sqlite --example deliver_bench -- 20 5000 5120 [DIR]
//! ```
//!
//! Arguments: concurrent callers, deliveries, message size in bytes, and the directory to make the
//! temporary store in (default: the system temporary directory; it must be on the disk being
//! measured, not a tmpfs). Each delivery has distinct bytes and one recipient out of 100 accounts.
//! Prints deliveries per second and latency percentiles.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use surel_store::{DeliveryTarget, NewMessage, Store};
use surel_store_sqlite::SqliteStore;
use surel_types::{AccountId, Address, Domain, MailboxName};

const ACCOUNTS: usize = 100;

fn arg(args: &[String], index: usize, default: usize) -> Result<usize, String> {
    match args.get(index) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|e| format!("argument {index} ({text:?}): {e}")),
    }
}

fn message(index: usize, size: usize) -> NewMessage {
    let mut bytes =
        format!("From: bench@example.test\r\nSubject: bench {index}\r\n\r\n").into_bytes();
    while bytes.len() < size {
        bytes.extend_from_slice(b"The quick brown fox jumps over the lazy dog. 0123456789\r\n");
    }
    bytes.truncate(size.max(1));
    NewMessage {
        bytes: Arc::from(bytes),
        internal_date: chrono::Utc::now(),
        flags: Vec::new(),
        auth_results: None,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let concurrency = arg(&args, 1, 20)?.max(1);
    let count = arg(&args, 2, 5000)?;
    let size = arg(&args, 3, 5120)?;
    let parent = args
        .get(4)
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(&parent)?;

    let setup = Instant::now();
    let store = Arc::new(SqliteStore::open(dir.path())?);
    let domain = Domain::parse("bench.test")?;
    store.add_domain(&domain).await?;
    let mut accounts: Vec<AccountId> = Vec::with_capacity(ACCOUNTS);
    for i in 0..ACCOUNTS {
        accounts.push(
            store
                .add_account(&Address::new(&format!("user{i}"), domain.clone())?, "x")
                .await?,
        );
    }
    let accounts = Arc::new(accounts);
    // Built before the clock starts: the bench measures the store, not message building.
    let messages: Arc<Vec<NewMessage>> = Arc::new((0..count).map(|i| message(i, size)).collect());

    println!(
        "{count} deliveries of {size} bytes, {concurrency} concurrent callers, in {} (set up in {:.2} s)",
        dir.path().display(),
        setup.elapsed().as_secs_f64()
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut callers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (store, next, accounts, messages) = (
            store.clone(),
            next.clone(),
            accounts.clone(),
            messages.clone(),
        );
        callers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(message) = messages.get(i) else {
                    break;
                };
                let target = DeliveryTarget {
                    account: accounts[i % accounts.len()],
                    mailbox: MailboxName::inbox(),
                };
                let t = Instant::now();
                store.deliver(message.clone(), &[target]).await?;
                latencies.push(t.elapsed());
            }
            Ok::<_, surel_store::StoreError>(latencies)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(count);
    for caller in callers {
        latencies.extend(caller.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile = |p: usize| {
        latencies
            .get(latencies.len().saturating_sub(1) * p / 100)
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{:.0} deliveries/s ({count} in {:.2} s); latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        count as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        percentile(50).as_secs_f64() * 1e3,
        percentile(99).as_secs_f64() * 1e3,
        percentile(100).as_secs_f64() * 1e3,
    );
    Ok(())
}
