//! IMAP4rev2 / IMAP4rev1 wire format: framing of command lines with literals, the command
//! grammar (RFC 9051 §9 plus the extensions surel offers) and response encoding helpers.
//! Must not: do I/O, know about the store or sessions.
//!
//! Hand-written rather than imap-codec 2.0.0-alpha.10: that crate has no ESEARCH / SEARCH RETURN,
//! no LIST RETURN (LIST-STATUS, RETURN (SPECIAL-USE)), unfinished CONDSTORE/QRESYNC parameters and
//! no IMAP4rev2 capability, which are the forms real clients send us (../shared/STACK.md).

pub mod command;
pub mod encode;
pub mod frame;
pub mod mutf7;
pub mod parse;

pub use command::*;
pub use frame::{Framed, Framer, Limits};
pub use parse::{ParseError, parse_command};
