//! `surel account add | list | del | passwd`

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result, anyhow, bail};
use surel_store::{AliasSource, Lookup, Store, StoreError, password};
use surel_types::{Address, Secret};

use super::{AccountCommand, ensure_local_domain, parse_address};

pub async fn run(store: &dyn Store, command: AccountCommand) -> Result<()> {
    match command {
        AccountCommand::Add {
            address,
            password_stdin,
        } => add(store, &address, password_stdin).await,
        AccountCommand::List => {
            for account in store.accounts().await.context("cannot list accounts")? {
                println!("{}", account.address);
            }
            Ok(())
        }
        AccountCommand::Del { address } => {
            let address = parse_address(&address)?;
            match store.remove_account(&address).await {
                Ok(()) => {}
                Err(StoreError::NotFound(_)) => bail!("account {address} does not exist"),
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot delete account {address}"));
                }
            }
            warn_dangling_aliases(store, &address).await
        }
        AccountCommand::Passwd {
            address,
            password_stdin,
        } => passwd(store, &address, password_stdin).await,
    }
}

async fn add(store: &dyn Store, address: &str, password_stdin: bool) -> Result<()> {
    let address = parse_address(address)?;
    ensure_local_domain(store, address.domain()).await?;
    // Checked before asking for a password, so a taken address fails before any typing.
    let taken = store
        .lookup(&AliasSource::Address(address.clone()))
        .await
        .with_context(|| format!("cannot look up {address}"))?;
    match taken {
        Some(Lookup::Account(_)) => bail!("account {address} already exists"),
        Some(Lookup::Alias(_)) => {
            bail!("{address} is an alias; delete it first with `surel alias del {address}`")
        }
        None => {}
    }
    let password = obtain_password(&address, password_stdin)?;
    let hash = password::hash(&password).map_err(|e| anyhow!(e))?;
    match store.add_account(&address, &hash).await {
        Ok(_) => {}
        Err(StoreError::Exists(_)) => bail!("account {address} already exists"),
        Err(e) => return Err(e).with_context(|| format!("cannot add account {address}")),
    }
    if !password_stdin {
        show_generated(&address, &password);
    }
    Ok(())
}

async fn passwd(store: &dyn Store, address: &str, password_stdin: bool) -> Result<()> {
    let address = parse_address(address)?;
    let account = store
        .account(&address)
        .await
        .with_context(|| format!("cannot look up account {address}"))?;
    if account.is_none() {
        bail!("account {address} does not exist");
    }
    let password = obtain_password(&address, password_stdin)?;
    let hash = password::hash(&password).map_err(|e| anyhow!(e))?;
    match store.set_password(&address, &hash).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => bail!("account {address} does not exist"),
        Err(e) => return Err(e).with_context(|| format!("cannot set the password of {address}")),
    }
    if !password_stdin {
        show_generated(&address, &password);
    }
    Ok(())
}

/// Aliases keep naming a deleted account (the store does not edit them); say which, so mail to
/// them does not silently bounce.
async fn warn_dangling_aliases(store: &dyn Store, deleted: &Address) -> Result<()> {
    let aliases = store.aliases().await.context("cannot list aliases")?;
    let pointing: Vec<String> = aliases
        .iter()
        .filter(|a| a.targets.iter().any(|t| t.key() == deleted.key()))
        .map(|a| a.source.to_string())
        .collect();
    if !pointing.is_empty() {
        eprintln!(
            "surel: warning: these aliases still name {deleted}: {}; change them with `surel alias del` and `surel alias add`",
            pointing.join(", ")
        );
    }
    Ok(())
}

/// The password from the first line of stdin, or a freshly generated one.
fn obtain_password(address: &Address, from_stdin: bool) -> Result<Secret<String>> {
    if !from_stdin {
        return Ok(generate_password());
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password for {address}: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    password_from_line(line)
}

/// The stdout line is the password alone, so `PASSWORD=$(surel account add …)` works; the note
/// goes to stderr.
fn show_generated(address: &Address, password: &Secret<String>) {
    eprintln!("password for {address} (shown only this once):");
    println!("{}", password.expose());
}

/// A random password; the generator lives in the library so the demo account uses the same one.
fn generate_password() -> Secret<String> {
    Secret::new(surel::generate_password())
}

/// One line read from stdin, without its line ending (`\n` or `\r\n`); an empty password is refused.
fn password_from_line(mut line: String) -> Result<Secret<String>> {
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    if line.is_empty() {
        bail!("the password on standard input is empty");
    }
    Ok(Secret::new(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_line_loses_only_its_line_ending() {
        for (line, expected) in [
            ("hunter2\n", "hunter2"),
            ("hunter2\r\n", "hunter2"),
            ("hunter2", "hunter2"),
            (" spaced pass \n", " spaced pass "),
            ("a\r", "a\r"),
        ] {
            assert_eq!(
                password_from_line(line.to_string()).unwrap().expose(),
                expected,
                "{line:?}"
            );
        }
    }

    #[test]
    fn empty_stdin_line_is_refused() {
        for line in ["", "\n", "\r\n"] {
            let e = password_from_line(line.to_string())
                .unwrap_err()
                .to_string();
            assert!(e.contains("empty"), "{line:?}: {e}");
        }
    }
}
