use std::fmt;

/// Why text is not a valid mailbox name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid mailbox name {0:?}")]
pub struct MailboxNameError(pub String);

/// A mailbox name as IMAP shows it (UTF-8, hierarchy separator `/`). `INBOX` is case-insensitive
/// (RFC 9051 §5.1) and always stored as `INBOX`.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct MailboxName(String);

impl MailboxName {
    /// The hierarchy separator.
    pub const SEPARATOR: char = '/';

    /// The INBOX.
    pub fn inbox() -> Self {
        Self("INBOX".to_string())
    }

    /// Checks a name: not empty, no empty level, no control characters, at most 1000 bytes.
    pub fn parse(text: &str) -> Result<Self, MailboxNameError> {
        let bad = || MailboxNameError(text.to_string());
        if text.is_empty() || text.len() > 1000 || text.chars().any(char::is_control) {
            return Err(bad());
        }
        if text.split(Self::SEPARATOR).any(str::is_empty) {
            return Err(bad());
        }
        if text.eq_ignore_ascii_case("INBOX") {
            return Ok(Self::inbox());
        }
        Ok(Self(text.to_string()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for INBOX.
    pub fn is_inbox(&self) -> bool {
        self.0 == "INBOX"
    }
}

impl fmt::Display for MailboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The special-use attribute of a mailbox (RFC 6154).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SpecialUse {
    /// `\Sent`
    Sent,
    /// `\Drafts`
    Drafts,
    /// `\Trash`
    Trash,
    /// `\Junk`
    Junk,
    /// `\Archive`
    Archive,
}

impl SpecialUse {
    /// Every special use, with the name of the mailbox a new account gets for it.
    pub const DEFAULTS: [(SpecialUse, &'static str); 5] = [
        (SpecialUse::Sent, "Sent"),
        (SpecialUse::Drafts, "Drafts"),
        (SpecialUse::Trash, "Trash"),
        (SpecialUse::Junk, "Junk"),
        (SpecialUse::Archive, "Archive"),
    ];

    /// The IMAP attribute (`\Sent`, …).
    pub fn attribute(self) -> &'static str {
        match self {
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Trash => "\\Trash",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Archive => "\\Archive",
        }
    }

    /// Parses an IMAP attribute, case-insensitively.
    pub fn from_attribute(attr: &str) -> Option<Self> {
        Self::DEFAULTS
            .iter()
            .map(|(u, _)| *u)
            .find(|u| u.attribute().eq_ignore_ascii_case(attr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_is_case_insensitive() {
        assert!(MailboxName::parse("inbox").unwrap().is_inbox());
        assert_eq!(MailboxName::parse("InBoX").unwrap().as_str(), "INBOX");
        assert!(!MailboxName::parse("INBOX/sub").unwrap().is_inbox());
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["", "a//b", "/a", "a/", "a\nb", "a\0b"] {
            assert!(MailboxName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn special_use_attributes_roundtrip() {
        for (u, _) in SpecialUse::DEFAULTS {
            assert_eq!(SpecialUse::from_attribute(u.attribute()), Some(u));
        }
        assert_eq!(SpecialUse::from_attribute("\\junk"), Some(SpecialUse::Junk));
    }
}
