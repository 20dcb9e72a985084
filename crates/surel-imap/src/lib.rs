//! The IMAP server (RFC 9051, and RFC 3501 clients): `listen.imap` (STARTTLS) and
//! `listen.imaps` (implicit TLS).
//!
//! Owns: the per-connection state machine ([`Session`]: not authenticated, authenticated,
//! selected, logout of RFC 9051 §3), the socket loop ([`driver`]), starting the listeners
//! ([`listen`]), and the pure pieces sessions use (FETCH rendering, SEARCH evaluation, LIST
//! matching) plus the selected mailbox's state ([`selected`]).
//! Must not: parse IMAP grammar (that is `surel-imap-proto`), name a store backend, or depend
//! on another session crate.
//!
//! Invariants a change must keep:
//! - No password is checked before TLS, except from loopback (`LOGINDISABLED`,
//!   `NO [PRIVACYREQUIRED]`); failed logins are delayed and locked out per client IP.
//! - Bytes pipelined behind STARTTLS are discarded (RFC 9051 §6.2.1).
//! - No `EXPUNGE` is sent during non-UID FETCH, STORE or SEARCH (RFC 9051 §7.5.1).
//! - Before login no literal larger than a few KiB is buffered; after it, none larger than the
//!   APPEND limit, and a synchronising literal over it is refused before the client sends it.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod driver;
pub mod fetch;
pub mod list;
pub mod output;
pub mod response;
pub mod search;
pub mod selected;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;

use surel_net::{ConnectionLimiter, NetError, Shutdown, TlsAcceptor};
use tokio_util::task::TaskTracker;

pub use session::{Context, DEFAULT_LINE, Next, Session};

/// Binds the IMAP (`plain`, with STARTTLS) and IMAPS (`implicit`) listeners and serves them on
/// `tracker` until `shutdown`. Returns one `imap listening on ADDR` / `imaps listening on ADDR`
/// line per listener for the start-up summary.
pub async fn listen(
    ctx: Arc<Context>,
    plain: &[SocketAddr],
    implicit: &[SocketAddr],
    tls: TlsAcceptor,
    limiter: Arc<ConnectionLimiter>,
    tracker: &TaskTracker,
    shutdown: &Shutdown,
) -> Result<Vec<String>, NetError> {
    let shutdown_for_sessions = shutdown.clone();
    surel_net::serve_pair(
        ("imap", "imaps"),
        plain,
        implicit,
        limiter,
        tracker,
        shutdown,
        move |accepted, implicit_tls| {
            driver::run(
                ctx.clone(),
                Some(tls.clone()),
                implicit_tls,
                accepted,
                shutdown_for_sessions.clone(),
            )
        },
    )
    .await
}
