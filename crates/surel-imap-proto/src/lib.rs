//! IMAP4rev2 / IMAP4rev1 wire format: framing of command lines with literals, the command
//! grammar (RFC 9051 §9 plus the extensions surel offers) and response encoding helpers.
//! Must not: do I/O, know about the store or sessions.
//!
//! Invariants: no input makes any function here panic (no unwrap, no unchecked indexing,
//! recursion bounded by [`parse::MAX_DEPTH`]); the framer's memory is bounded by its
//! [`Limits`]; literal data is never parsed as command text.
//!
//! Hand-written rather than imap-codec 2.0.0-alpha.10: that crate has no ESEARCH / SEARCH RETURN,
//! no LIST RETURN (LIST-STATUS, RETURN (SPECIAL-USE)), unfinished CONDSTORE/QRESYNC parameters and
//! no IMAP4rev2 capability, which are the forms real clients send us (../shared/STACK.md).
//!
//! A driver appends socket reads to a [`BytesMut`] and drains whole commands:
//! ```
//! use surel_imap_proto::{BytesMut, CommandBody, Framed, Framer, Limits, parse_command};
//!
//! let mut framer = Framer::new(Limits { line: 8192, literal: 1 << 20, command: 2 << 20 });
//! let mut buf = BytesMut::from(&b"a1 LOGIN {4}\r\n"[..]);
//! assert_eq!(framer.next(&mut buf), Some(Framed::Continue)); // write "+ Ready for literal data"
//! assert_eq!(framer.next(&mut buf), None);
//! buf.extend_from_slice(b"fred secret\r\n");
//! let Some(Framed::Command(line)) = framer.next(&mut buf) else { panic!() };
//! let cmd = parse_command(&line).unwrap();
//! assert_eq!(cmd.tag, "a1");
//! assert!(matches!(cmd.body, CommandBody::Login { .. }));
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod command;
pub mod encode;
pub mod frame;
pub mod mutf7;
pub mod parse;

/// The driver's read buffer type, re-exported so callers need no `bytes` dependency of their own.
pub use bytes::BytesMut;
pub use command::*;
pub use frame::{Framed, Framer, Limits};
pub use parse::{ParseError, is_idle_done, parse_command, parse_sasl_response};
