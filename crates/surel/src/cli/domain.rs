//! `surel domain add | list | del`; a new domain gets its DKIM key pair here.

use anyhow::{Context, Result, bail};
use surel_store::{Store, StoreError};

use super::{DomainCommand, dkim, parse_domain};

pub async fn run(store: &dyn Store, command: DomainCommand) -> Result<()> {
    match command {
        DomainCommand::Add { domain } => {
            let domain = parse_domain(&domain)?;
            match store.add_domain(&domain).await {
                Ok(()) => {}
                Err(StoreError::Exists(_)) => bail!("domain {domain} already exists"),
                Err(e) => return Err(e).with_context(|| format!("cannot add domain {domain}")),
            }
            let keys = dkim::add_pair(store, &domain).await.with_context(|| {
                format!("domain {domain} was added, but without DKIM keys (retry with `surel dkim gen {domain}`)")
            })?;
            println!("; Publish these DKIM records (all records: `surel dns records {domain}`):");
            dkim::print_records(&keys)
        }
        DomainCommand::List => {
            for domain in store.domains().await.context("cannot list domains")? {
                println!("{domain}");
            }
            Ok(())
        }
        DomainCommand::Del { domain } => {
            let domain = parse_domain(&domain)?;
            let accounts = store.accounts().await.context("cannot list accounts")?;
            let in_domain: Vec<String> = accounts
                .iter()
                .filter(|a| a.address.domain() == &domain)
                .map(|a| a.address.to_string())
                .collect();
            if !in_domain.is_empty() {
                bail!(
                    "domain {domain} still has accounts ({}); delete them first with `surel account del`",
                    in_domain.join(", ")
                );
            }
            match store.remove_domain(&domain).await {
                Ok(()) => Ok(()),
                Err(StoreError::NotFound(_)) => bail!("domain {domain} is not a local domain"),
                // Invalid: accounts remain; the store's message says so.
                Err(e) => Err(e).with_context(|| format!("cannot delete domain {domain}")),
            }
        }
    }
}
