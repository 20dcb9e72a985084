//! POP3 sessions: `listen.pop3` (STLS, RFC 2595) and `listen.pop3s` (implicit TLS).
//!
//! Owns: the per-connection state machine ([`Session`]: AUTHORIZATION, TRANSACTION, UPDATE of
//! RFC 1939), the socket loop ([`driver`]), the per-process maildrop lock registry
//! ([`MaildropLocks`]), and starting the listeners ([`listen`]).
//! Must not: parse POP3 grammar (that is `surel-pop3-proto`), name a store backend, or depend
//! on another session crate.
//!
//! Invariants a change must keep:
//! - The maildrop is INBOX as it stood at login; message numbers never change in a session.
//! - Only QUIT in TRANSACTION changes the store (one `expunge` of the DELE-marked UIDs); a
//!   dropped connection, a timeout, too many errors or shutdown delete nothing.
//! - One POP3 session per account at a time, per process (`-ERR [IN-USE]`).
//! - No password is checked before TLS, except from loopback; failed logins are delayed and
//!   locked out per client IP ([`surel_net::AuthThrottle`]).
//! - LIST/STAT sizes equal the octets RETR sends before dot-stuffing: the store keeps CRLF text.
//! - Bytes pipelined behind STLS are discarded (RFC 2595 §4).

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod driver;
mod lock;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;

use surel_net::{ConnectionLimiter, NetError, Shutdown, TlsAcceptor};
use tokio_util::task::TaskTracker;

pub use lock::{MaildropLock, MaildropLocks};
pub use session::{Context, Next, Response, Session, Step};

/// Binds the POP3 (`plain`, with STLS) and POP3S (`implicit`) listeners and serves them on
/// `tracker` until `shutdown`. Returns one `pop3 listening on ADDR` / `pop3s listening on ADDR`
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
        ("pop3", "pop3s"),
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
