//! POP3 protocol pieces: command lines in, typed commands out; typed replies in, bytes out.
//!
//! Owns: line framing with a length limit ([`LineFramer`]), the command grammar of RFC 1939,
//! RFC 2449 (CAPA), RFC 2595 (STLS), RFC 5034 (AUTH) and RFC 6856 (UTF8) ([`Command`]), SASL
//! responses and the PLAIN mechanism ([`sasl`], re-exported from `surel-types`), status lines with RFC 2449 response codes
//! ([`Reply`], [`RespCode`]), multi-line responses and the streaming message encoder that
//! dot-stuffs and writes CRLF line endings ([`BodyEncoder`], [`wire_size`]).
//!
//! Must not: do I/O, depend on tokio, the store or sockets, or keep state beyond one framer or
//! one encoder.
//!
//! Invariants a change must keep:
//! - Nothing here panics, whatever bytes arrive (fuzzed: `fuzz/`, target `pop3_command`).
//! - The line limit is enforced while framing, before any grammar runs; an over-long line is
//!   answered once and dropped whole.
//! - A reply can never write a line the session did not mean: control characters in reply text
//!   are written as spaces.
//! - [`BodyEncoder`] writes exactly [`wire_size`] octets of message text (plus dot-stuffing and
//!   the terminating line), so LIST, STAT and RETR agree (RFC 1939 §5, §11).

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod body;
mod command;
mod line;
mod reply;
/// SASL decoding lives in `surel-types` (SMTP submission uses it too); re-exported here.
pub use surel_types::sasl;

pub use body::{BodyEncoder, wire_size};
pub use command::{Command, CommandError, parse_command};
pub use line::{Decoded, LineFramer};
pub use reply::{Capability, Reply, RespCode, encode_continuation, encode_lines};
