//! RFC 5322 / MIME message handling: header edits and the trace headers surel adds.
//!
//! Owns: reading header fields and address lists (`header_values`, `mailbox_addresses`),
//! building `Received` (RFC 5321 §4.4), `Authentication-Results` (RFC 8601) and
//! `Received-SPF`, removing forged Authentication-Results, delivery status notifications (RFC 3464,
//! `dsn`), and later MIME structure.
//! Must not: do I/O, know the store, or trust any text it is given: every value taken from a
//! client is cleaned before it is written into a header.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod auth_results;
mod dsn;
mod header;
mod received;

pub use auth_results::{AuthenticationResults, MethodResult, ReceivedSpf, remove_auth_results};
pub use dsn::{Dsn, DsnAction, DsnRecipient};
pub use header::{header_fields, header_values, mailbox_addresses};
pub use received::{Protocol, Received};

/// The RFC 5322 §3.3 date-time of `at`, e.g. `Sat, 28 Nov 2026 03:42:30 +0000`.
pub fn rfc5322_date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// `header` (one or more complete lines ending in CRLF) placed in front of `message`.
pub fn prepend_header(header: &str, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len() + message.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(message);
    out
}
