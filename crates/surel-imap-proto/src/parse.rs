//! The command grammar. CONTRACT STUB.
use crate::command::Command;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The tag, when the line had a readable one (reply `tag BAD ...`, else `* BAD ...`).
    pub tag: Option<String>,
    /// Human text for the BAD reply.
    pub reason: String,
}

/// Parses one framed command (as [`crate::Framer`] returns it, CRLF included).
pub fn parse_command(_input: &[u8]) -> Result<Command, ParseError> {
    Err(ParseError {
        tag: None,
        reason: "not yet".into(),
    })
}
