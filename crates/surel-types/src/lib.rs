//! Validated values shared by every surel crate.
//!
//! Owns: the small types whose constructors check their input once (`Domain`, `Address`,
//! `MailboxName`, ids, `Secret`) and the SASL decoding every password-taking service
//! shares ([`sasl`]). Must not: depend on tokio, the store or any socket code.
//! Invariant: a value of these types is always valid; code that holds one never re-checks it.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod address;
mod ids;
mod mailbox;
pub mod sasl;
mod secret;

pub use address::{Address, AddressError, Domain};
pub use ids::{AccountId, BlobId, MailboxId, ModSeq, Uid};
pub use mailbox::{MailboxName, MailboxNameError, SpecialUse};
pub use secret::Secret;
