//! The tagged completion of a command (RFC 9051 §7.1). CONTRACT: the session and selected.rs
//! both return these.

/// OK, NO or BAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Ok,
    No,
    Bad,
}

/// `tag KIND [CODE] text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    pub kind: Kind,
    /// Response code without brackets, e.g. `READ-WRITE`, `COPYUID 7 1:3 10:12`, `TRYCREATE`.
    pub code: Option<String>,
    pub text: String,
}

impl Done {
    pub fn ok(text: impl Into<String>) -> Self {
        Self {
            kind: Kind::Ok,
            code: None,
            text: text.into(),
        }
    }
    pub fn no(text: impl Into<String>) -> Self {
        Self {
            kind: Kind::No,
            code: None,
            text: text.into(),
        }
    }
    pub fn bad(text: impl Into<String>) -> Self {
        Self {
            kind: Kind::Bad,
            code: None,
            text: text.into(),
        }
    }
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Writes `tag OK [CODE] text\r\n`.
    pub fn write(&self, out: &mut Vec<u8>, tag: &str) {
        out.extend_from_slice(tag.as_bytes());
        out.extend_from_slice(match self.kind {
            Kind::Ok => b" OK ",
            Kind::No => b" NO ",
            Kind::Bad => b" BAD ",
        });
        if let Some(code) = &self.code {
            out.push(b'[');
            out.extend_from_slice(code.as_bytes());
            out.extend_from_slice(b"] ");
        }
        out.extend_from_slice(self.text.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// What the client enabled or the session switched on (RFC 5161 ENABLE, RFC 7162 §3.1 implicit
/// CONDSTORE enabling).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Enabled {
    pub rev2: bool,
    pub utf8: bool,
    pub condstore: bool,
    pub qresync: bool,
}
