//! Listeners, TLS, connection caps and shutdown: everything between a socket and a session.
//!
//! Owns: binding listeners, the accept loop, per-service and per-IP connection caps, the TLS
//! acceptor (configured files or a self-signed certificate made once), the stream type that is
//! either plain or TLS, and the shutdown signal. Must not: know any mail protocol or the store.
//! Invariant: every accepted connection holds a [`ConnectionPermit`] until its task ends, and
//! every connection task is tracked, so shutdown can wait for in-flight sessions.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod budget;
mod limit;
mod listener;
mod login;
mod shutdown;
mod stream;
mod throttle;
pub mod tls;

pub use budget::{MemoryBudget, Reservation};
pub use limit::{ConnectionLimiter, ConnectionPermit, LimitHit};
pub use listener::{Accepted, Listener, serve_pair};
pub use login::{Login, login};
pub use shutdown::{Shutdown, ShutdownTrigger};
pub use stream::MaybeTls;
pub use throttle::{AuthThrottle, LockedOut, ThrottlePolicy};
pub use tls::TlsAcceptor;

/// Why the network layer could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// TLS material could not be read, made or used.
    #[error("TLS: {0}")]
    Tls(String),
}
