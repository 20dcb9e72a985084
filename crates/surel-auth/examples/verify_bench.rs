//! Added latency per inbound message of SPF + DKIM + DMARC with a warm DNS cache:
//! `cargo run --release -p surel-auth --example verify_bench [ITERATIONS]`.
//! Uses the RFC 8463 appendix A message (ed25519 and RSA signatures) from shared/testdata.

use std::time::{Duration, Instant};

use surel_auth::{Authenticator, Inbound};
use surel_dns::test_server::{TestDns, Zone};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/mail-auth-resources/dkim/001.txt"
    );
    let text = std::fs::read_to_string(path)?;
    let (records, message) = text.split_once("\n\n").ok_or("bad resource")?;
    let mut zone = Zone::new()
        .txt("football.example.com", "v=spf1 ip4:192.0.2.0/24 -all")
        .txt("_dmarc.football.example.com", "v=DMARC1; p=reject");
    for line in records.lines() {
        if let Some((name, value)) = line.split_once(' ') {
            zone = zone.txt(name, value);
        }
    }
    let message = message.replace('\n', "\r\n").into_bytes();
    let dns = TestDns::start(zone).await?;
    let resolver = surel_dns::Resolver::new(&[dns.addr()], &surel_dns::Options::default())?;
    let auth = Authenticator::new(&resolver, "mx.bench.test");
    let inbound = Inbound {
        ip: "192.0.2.1".parse()?,
        helo: "mail.football.example.com",
        mail_from: "joe@football.example.com",
        message: &message,
    };
    let first = Instant::now();
    let report = auth.verify(&inbound).await;
    let cold = first.elapsed();
    println!(
        "{}",
        report.authentication_results("mx.bench.test").encode()
    );
    let queries = dns.queries();
    let mut samples: Vec<Duration> = Vec::with_capacity(iterations as usize);
    for _ in 0..iterations {
        let t = Instant::now();
        let _ = auth.verify(&inbound).await;
        samples.push(t.elapsed());
    }
    samples.sort();
    let total: Duration = samples.iter().sum();
    let pct = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
    println!(
        "cold {cold:?}; warm over {iterations}: mean {:?}, p50 {:?}, p99 {:?}; DNS queries while warm: {}",
        total / iterations,
        pct(50),
        pct(99),
        dns.queries() - queries
    );
    Ok(())
}
