//! The command line (DESIGN §3): `serve`, and the admin commands that change the store.
//!
//! Admin commands open the store themselves and work whether or not `surel serve` runs on the
//! same data directory (SQLite WAL and a busy timeout let both write). Output is plain lines, one
//! item per line, so scripts can read it; errors go to stderr as `surel: error: …`.

mod account;
mod alias;
mod dkim;
mod dns;
mod domain;
mod queue;
mod serve;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use surel_config::Config;
use surel_store::Store;
use surel_store_sqlite::SqliteStore;
use surel_types::{Address, Domain};

/// surel: a complete mail server in one binary.
#[derive(Debug, Parser)]
#[command(name = "surel", version, propagate_version = true)]
pub struct Cli {
    /// The config file (TOML). Without it: defaults for trying surel out (data in ./surel-data,
    /// services on 127.0.0.1 only).
    #[arg(short, long, global = true, value_name = "CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the mail server until SIGINT or SIGTERM.
    Serve,
    /// Manage the local domains (mail for them is delivered here).
    Domain {
        #[command(subcommand)]
        action: DomainCommand,
    },
    /// Manage accounts (mailboxes with a password).
    Account {
        #[command(subcommand)]
        action: AccountCommand,
    },
    /// Manage aliases (addresses that deliver to accounts).
    Alias {
        #[command(subcommand)]
        action: AliasCommand,
    },
    /// Inspect and manage the outbound queue.
    Queue {
        #[command(subcommand)]
        action: QueueCommand,
    },
    /// Manage the DKIM keys outgoing mail is signed with.
    Dkim {
        #[command(subcommand)]
        action: DkimCommand,
    },
    /// The DNS records a domain needs.
    Dns {
        #[command(subcommand)]
        action: DnsCommand,
    },
}

/// `surel dkim …`
#[derive(Debug, Subcommand)]
pub enum DkimCommand {
    /// Make a new RSA-2048 and Ed25519 key pair for a local domain and print their TXT records.
    /// Mail is signed with the newest keys; older ones stay published for mail already sent.
    Gen {
        /// The local domain.
        domain: String,
    },
    /// Print the TXT record of each of a domain's DKIM keys, newest first, in zone-file form.
    Show {
        /// The local domain.
        domain: String,
    },
}

/// `surel dns …`
#[derive(Debug, Subcommand)]
pub enum DnsCommand {
    /// Print the MX, SPF, DKIM and DMARC records to publish for a local domain, in zone-file
    /// form.
    Records {
        /// The local domain.
        domain: String,
    },
}

/// `surel domain …`
#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Add a local domain, with a DKIM key pair; prints the key records to publish.
    Add {
        /// e.g. example.com
        domain: String,
    },
    /// List the local domains, one a line.
    List,
    /// Delete a local domain and its aliases (refused while it has accounts).
    Del {
        /// The domain to delete.
        domain: String,
    },
}

/// `surel account …`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account; its domain must be local. Prints a generated password unless
    /// --password-stdin is given.
    Add {
        /// The account's address, also its login name (e.g. alice@example.com).
        address: String,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts, one address a line.
    List,
    /// Delete an account with all its mailboxes and messages.
    Del {
        /// The account's address.
        address: String,
    },
    /// Set a new password. Prints a generated password unless --password-stdin is given.
    Passwd {
        /// The account's address.
        address: String,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `surel alias …`
#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Deliver mail for ADDRESS to one or more accounts. ADDRESS `@example.com` is the domain's
    /// catch-all: any address of the domain that is neither an account nor an alias.
    Add {
        /// The alias address (user@example.com) or catch-all (@example.com).
        address: String,
        /// The accounts that receive its mail.
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// List the aliases, one a line: `source -> target1, target2`.
    List,
    /// Delete an alias.
    Del {
        /// The alias address or catch-all.
        address: String,
    },
}

/// `surel queue …`
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// One line per recipient: id, sender, recipient, state, attempts, next attempt, last error.
    List,
    /// Everything about one queue entry.
    Show {
        /// The queue id.
        id: String,
    },
    /// Make an entry (or every entry) due now; a running server picks it up at its next poll.
    Retry {
        /// The queue id.
        id: Option<String>,
        /// Every entry.
        #[arg(long)]
        all: bool,
    },
    /// Remove an entry; its sender gets a DSN unless --silent.
    Drop {
        /// The queue id.
        id: String,
        /// Send no DSN.
        #[arg(long)]
        silent: bool,
    },
}

/// Runs one command line.
pub fn run(cli: Cli) -> Result<()> {
    let config = load_config(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => serve::run(config, cli.config.is_none()),
        Command::Domain { action } => {
            admin(&config, async move |store| domain::run(store, action).await)
        }
        Command::Account { action } => admin(&config, async move |store| {
            account::run(store, action).await
        }),
        Command::Alias { action } => {
            admin(&config, async move |store| alias::run(store, action).await)
        }
        Command::Queue { action } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            serve::init_tracing("warn")?;
            runtime.block_on(async {
                let store = SqliteStore::open(&config.data_dir).with_context(|| {
                    format!("cannot open the store in {}", config.data_dir.display())
                })?;
                queue::run(std::sync::Arc::new(store), &config, action).await
            })
        }
        Command::Dkim { action } => {
            admin(&config, async move |store| dkim::run(store, action).await)
        }
        Command::Dns { action } => {
            let hostname = config.hostname.clone();
            admin(&config, async move |store| {
                dns::run(store, &hostname, action).await
            })
        }
    }
}

fn load_config(path: Option<&Path>) -> Result<Config> {
    match path {
        // ConfigError names the file, the line and the key; no context needed.
        Some(path) => Ok(Config::load(path)?),
        None => Ok(Config::zero_config()),
    }
}

/// Opens the store and runs one admin command on a single-threaded runtime.
fn admin(config: &Config, command: impl AsyncFnOnce(&dyn Store) -> Result<()>) -> Result<()> {
    serve::init_tracing("warn")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = SqliteStore::open(&config.data_dir)
            .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))?;
        command(&store).await
    })
}

/// Parses a domain given on the command line, refusing address literals.
fn parse_domain(text: &str) -> Result<Domain> {
    let domain = Domain::parse(text).with_context(|| format!("bad domain {text:?}"))?;
    if domain.is_literal() {
        bail!("bad domain {text:?}: an address literal cannot be a local domain");
    }
    Ok(domain)
}

/// Parses an address given on the command line; the error says which and why.
fn parse_address(text: &str) -> Result<Address> {
    let address = Address::parse(text).with_context(|| format!("bad address {text:?}"))?;
    if address.domain().is_literal() {
        bail!("bad address {text:?}: the domain must be a name, not an address literal");
    }
    Ok(address)
}

/// Fails with a hint unless `domain` is local.
async fn ensure_local_domain(store: &dyn Store, domain: &Domain) -> Result<()> {
    let local = store
        .is_local_domain(domain)
        .await
        .with_context(|| format!("cannot look up domain {domain}"))?;
    if !local {
        bail!("domain {domain} is not a local domain; add it with `surel domain add {domain}`");
    }
    Ok(())
}
