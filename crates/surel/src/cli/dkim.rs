//! `surel dkim gen | show DOMAIN`, and the key pair every new domain gets.

use anyhow::{Context, Result};
use chrono::Utc;
use surel_auth::{DkimKeyType, generate_key, public_record, selectors_for_pair};
use surel_store::{DkimAlgorithm, DkimKey, Store};
use surel_types::Domain;

use super::dns::zone_txt;
use super::{DkimCommand, ensure_local_domain, parse_domain};

pub async fn run(store: &dyn Store, command: DkimCommand) -> Result<()> {
    match command {
        DkimCommand::Gen { domain } => {
            let domain = parse_domain(&domain)?;
            ensure_local_domain(store, &domain).await?;
            let keys = add_pair(store, &domain).await?;
            print_records(&keys)
        }
        DkimCommand::Show { domain } => {
            let domain = parse_domain(&domain)?;
            ensure_local_domain(store, &domain).await?;
            let keys = keys_of(store, &domain).await?;
            if keys.is_empty() {
                println!("; {domain} has no DKIM keys; make a pair with `surel dkim gen {domain}`");
            }
            print_records(&keys)
        }
    }
}

/// The domain's keys, newest first.
pub(super) async fn keys_of(store: &dyn Store, domain: &Domain) -> Result<Vec<DkimKey>> {
    store
        .dkim_keys(domain)
        .await
        .with_context(|| format!("cannot read the DKIM keys of {domain}"))
}

/// Makes an RSA-2048 and an Ed25519 key for `domain` with fresh selectors and stores both;
/// older keys stay (and keep verifying mail already sent) until removed.
pub(super) async fn add_pair(store: &dyn Store, domain: &Domain) -> Result<Vec<DkimKey>> {
    let existing = keys_of(store, domain).await?;
    let taken: Vec<&str> = existing.iter().map(|k| k.selector.as_str()).collect();
    let now = Utc::now();
    let (rsa_selector, ed_selector) = selectors_for_pair(now, &taken);
    let mut made = Vec::new();
    for (key_type, selector) in [
        (DkimKeyType::Rsa, rsa_selector),
        (DkimKeyType::Ed25519, ed_selector),
    ] {
        let generated = generate_key(key_type)
            .with_context(|| format!("cannot make a DKIM key for {domain}"))?;
        let key = DkimKey {
            domain: domain.clone(),
            selector,
            algorithm: algorithm(key_type),
            private_key: generated.private_key,
            created: now,
        };
        store
            .add_dkim_key(&key)
            .await
            .with_context(|| format!("cannot store DKIM key {} of {domain}", key.selector))?;
        made.push(key);
    }
    Ok(made)
}

fn algorithm(key_type: DkimKeyType) -> DkimAlgorithm {
    match key_type {
        DkimKeyType::Rsa => DkimAlgorithm::RsaSha256,
        DkimKeyType::Ed25519 => DkimAlgorithm::Ed25519Sha256,
    }
}

/// The zone-file line that publishes `key`: `SELECTOR._domainkey.DOMAIN. IN TXT ( "…" … )`
/// (RFC 6376 §3.6.2.1), with the algorithm and creation date as a comment.
pub(super) fn record_line(key: &DkimKey) -> Result<String> {
    let (_, value) = public_record(key.private_key.expose())
        .with_context(|| format!("DKIM key {} of {} is unusable", key.selector, key.domain))?;
    Ok(format!(
        "{} ; {}, made {}",
        zone_txt(
            &format!("{}._domainkey.{}.", key.selector, key.domain),
            &value
        ),
        key.algorithm,
        key.created.format("%Y-%m-%d"),
    ))
}

/// Prints each key's record, one a line.
pub(super) fn print_records(keys: &[DkimKey]) -> Result<()> {
    for key in keys {
        println!("{}", record_line(key)?);
    }
    Ok(())
}
