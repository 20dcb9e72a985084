//! SMTP protocol pieces: commands, replies, enhanced status codes, and the framing of command
//! lines, DATA and BDAT.
//!
//! Owns: bytes in, typed values out ([`decode_command`], [`LineFramer`], [`DataDecoder`], and
//! [`check_body`] for BDAT content, which needs no framing beyond its octet count); typed values in, bytes out ([`Reply::encode`], [`ehlo_reply`]); the named
//! replies the sessions send (`Reply::NO_SUCH_USER` is `550 5.1.1`).
//!
//! Must not: do I/O, depend on tokio, the store or sockets, or keep state beyond one decoder.
//! smtp-proto parses the command grammar behind [`decode_command`]; callers see only our types.
//!
//! Invariants a change must keep:
//! - Nothing here panics, whatever bytes arrive (fuzzed: `fuzz/`, targets `smtp_command` and
//!   `smtp_data`).
//! - Line and size limits are enforced while framing, before any grammar runs.
//! - DATA ends only at `<CRLF>.<CRLF>` (the start of DATA counts as a CRLF). A bare CR, a bare LF
//!   or a NUL anywhere in a message makes it a [`DataViolation`]: reading goes on to the real end,
//!   so the connection stays in step, and the message is never stored (SMTP smuggling).
//! - A reply can never write a line the session did not mean: control characters in reply text
//!   are written as spaces.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod body;
mod command;
mod data;
mod ehlo;
mod line;
mod params;
mod reply;

pub use body::{BodyChecker, BodyLimits, DataViolation, check_body};
pub use command::{Command, ForwardPath, ReversePath};
pub use data::{DataDecoder, DataProgress};
pub use ehlo::{Extension, ehlo_reply};
pub use line::{CommandError, Decoded, LineFramer, decode_command};
pub use params::{Body, MailParams, Notify, RcptParams, Ret};
pub use reply::{EnhancedCode, EnhancedCodeError, Reply};
