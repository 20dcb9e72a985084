//! The one login check every service makes (submission AUTH, POP3 USER/PASS and AUTH, IMAP
//! LOGIN and AUTHENTICATE), so the rules cannot drift apart between them.

use std::net::IpAddr;

use surel_store::{Account, Store};
use surel_types::{Address, Secret};

use crate::throttle::{AuthThrottle, LockedOut};

/// What a login attempt came to.
#[derive(Debug)]
pub enum Login {
    /// The password is the account's.
    Accepted(Account),
    /// Too many failures from this client; nothing was checked.
    LockedOut(LockedOut),
    /// Unknown name or wrong password (which one is never said); the throttle's delay has
    /// already been waited.
    Refused,
    /// The store could not be asked; the client should try again later.
    Unavailable,
}

/// Checks `name` (the account's full address: a bare local part could name an account in any
/// of our domains, so it is never guessed) and `password` for a client at `ip`:
/// - a locked-out client is refused before any work;
/// - an unknown name costs the same hashing as a known one, so timing tells nothing;
/// - a failure is counted and its delay waited here, before the caller answers;
/// - a success clears the client's failures.
pub async fn login(
    store: &dyn Store,
    throttle: &AuthThrottle,
    ip: IpAddr,
    name: &str,
    password: Secret<String>,
) -> Login {
    if let Err(locked) = throttle.check(ip) {
        tracing::info!(%ip, retry_after = ?locked.retry_after, "login locked out");
        return Login::LockedOut(locked);
    }
    let account = match Address::parse(name) {
        Ok(address) => match store.account(&address).await {
            Ok(account) => account,
            Err(e) => {
                tracing::error!(error = %e, "account lookup failed");
                return Login::Unavailable;
            }
        },
        Err(_) => None,
    };
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    let verified = surel_store::password::check(password, hash).await;
    match account {
        Some(account) if verified => {
            throttle.succeeded(ip);
            tracing::info!(account = %account.address, "logged in");
            Login::Accepted(account)
        }
        _ => {
            let delay = throttle.failed(ip);
            tracing::info!(%ip, ?delay, "login failed");
            tokio::time::sleep(delay).await;
            Login::Refused
        }
    }
}
