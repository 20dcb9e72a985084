//! `surel alias add | list | del`

use anyhow::{Context, Result, bail};
use surel_store::{AliasSource, Lookup, Store, StoreError};
use surel_types::Address;

use super::{AliasCommand, ensure_local_domain, parse_address};

pub async fn run(store: &dyn Store, command: AliasCommand) -> Result<()> {
    match command {
        AliasCommand::Add { address, targets } => add(store, &address, &targets).await,
        AliasCommand::List => {
            for alias in store.aliases().await.context("cannot list aliases")? {
                println!("{}", format_alias(&alias.source, &alias.targets));
            }
            Ok(())
        }
        AliasCommand::Del { address } => {
            let source = parse_source(&address)?;
            match store.remove_alias(&source).await {
                Ok(()) => Ok(()),
                Err(StoreError::NotFound(_)) => bail!("alias {source} does not exist"),
                Err(e) => Err(e).with_context(|| format!("cannot delete alias {source}")),
            }
        }
    }
}

async fn add(store: &dyn Store, source: &str, targets: &[String]) -> Result<()> {
    let source = parse_source(source)?;
    ensure_local_domain(store, source.domain()).await?;
    match store
        .lookup(&source)
        .await
        .with_context(|| format!("cannot look up {source}"))?
    {
        Some(Lookup::Account(_)) => {
            bail!("{source} is an account; an alias cannot take its address")
        }
        Some(Lookup::Alias(_)) => {
            bail!("alias {source} already exists; delete it first with `surel alias del {source}`")
        }
        None => {}
    }

    let mut checked: Vec<Address> = Vec::with_capacity(targets.len());
    for text in targets {
        let target = parse_address(text).context("bad alias target")?;
        check_target(store, &target).await?;
        // The same account named twice gets one copy.
        if !checked.iter().any(|t| t.key() == target.key()) {
            checked.push(target);
        }
    }

    match store.add_alias(&source, &checked).await {
        Ok(()) => Ok(()),
        Err(StoreError::Exists(_)) => bail!("alias {source} already exists"),
        Err(e) => Err(e).with_context(|| format!("cannot add alias {source}")),
    }
}

/// Every target must be an existing local account for now: forwarding to remote addresses needs
/// the outbound queue. TODO(#5): allow remote targets once the queue delivers.
async fn check_target(store: &dyn Store, target: &Address) -> Result<()> {
    let local = store
        .is_local_domain(target.domain())
        .await
        .with_context(|| format!("cannot look up domain {}", target.domain()))?;
    if !local {
        bail!(
            "alias target {target} is not a local account: only local accounts can be alias targets \
             for now (remote targets come with the outbound queue, issue #5)"
        );
    }
    let found = store
        .lookup(&AliasSource::Address(target.clone()))
        .await
        .with_context(|| format!("cannot look up {target}"))?;
    match found {
        Some(Lookup::Account(_)) => Ok(()),
        Some(Lookup::Alias(_)) => {
            bail!("alias target {target} is itself an alias; name its accounts instead")
        }
        None => bail!(
            "alias target {target} is not an account; create it with `surel account add {target}`"
        ),
    }
}

fn parse_source(text: &str) -> Result<AliasSource> {
    let source = AliasSource::parse(text).with_context(|| format!("bad alias address {text:?}"))?;
    if source.domain().is_literal() {
        bail!("bad alias address {text:?}: the domain must be a name, not an address literal");
    }
    Ok(source)
}

/// `source -> t1, t2`: one alias a line.
fn format_alias(source: &AliasSource, targets: &[Address]) -> String {
    let targets: Vec<String> = targets.iter().map(ToString::to_string).collect();
    format!("{source} -> {}", targets.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_lines_read_source_arrow_targets() {
        let targets = [
            Address::parse("a@example.com").unwrap(),
            Address::parse("b@example.com").unwrap(),
        ];
        let source = AliasSource::parse("@example.com").unwrap();
        assert_eq!(
            format_alias(&source, &targets),
            "@example.com -> a@example.com, b@example.com"
        );
        let source = AliasSource::parse("info@example.com").unwrap();
        assert_eq!(
            format_alias(&source, &targets[..1]),
            "info@example.com -> a@example.com"
        );
    }
}
