//! SMTP sessions: inbound mail on port 25 and submission (RFC 6409) on 587/465.
//!
//! Owns: the per-connection state machine ([`Session`]) and the socket loop ([`driver`]).
//! Must not: parse SMTP grammar (that is `surel-smtp-proto`), write to the store directly (that
//! is `surel-ingest`), or depend on another session crate.
//! Invariants: a `250` after end of data is sent only once `Ingest::accept` (or `submit`) has returned, so an
//! acknowledged message is durable; a message that broke a framing rule (bare CR/LF, NUL, size,
//! line length) is never stored; bytes pipelined behind STARTTLS are discarded (RFC 3207 §4.2);
//! port 25 never relays and has no AUTH; submission accepts MAIL only after AUTH, and only from
//! senders the account owns.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod driver;
mod session;

pub use session::{BdatPlan, Context, Next, Session, Step};
