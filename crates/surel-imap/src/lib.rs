//! The IMAP server (RFC 9051, and RFC 3501 clients): sessions, the listener driver, and the
//! pure pieces they use (FETCH rendering, SEARCH evaluation, LIST matching).

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod fetch;
pub mod list;
pub mod response;
pub mod search;
pub mod selected;
