use std::fmt;

/// Why text is not a valid domain or address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The domain part is empty, too long, or has a bad label.
    #[error("invalid domain {0:?}")]
    Domain(String),
    /// The local part is empty, too long, or has characters RFC 5321 does not allow.
    #[error("invalid local part {0:?}")]
    LocalPart(String),
    /// There is no `@`.
    #[error("address {0:?} has no @domain")]
    NoDomain(String),
}

/// A domain name (lowercased) or an address literal such as `[192.0.2.1]`.
///
/// UTF-8 labels are accepted (RFC 6531 SMTPUTF8); the stored form is lowercase so two spellings of
/// one domain compare equal.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Domain(String);

// RFC 1035 §2.3.4 / RFC 5321 §4.5.3.1.2: 63 octets a label, 255 a name (253 in text form).
const MAX_LABEL: usize = 63;
const MAX_DOMAIN: usize = 253;
// RFC 5321 §4.5.3.1.1 says 64 octets; VERP and SRS senders exceed it in practice, so we allow more.
const MAX_LOCAL: usize = 128;

impl Domain {
    /// Parses and lowercases a domain name or an address literal.
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let bad = || AddressError::Domain(text.to_string());
        let text = text.strip_suffix('.').unwrap_or(text);
        if text.is_empty() || text.len() > MAX_DOMAIN {
            return Err(bad());
        }
        if let Some(inner) = text.strip_prefix('[') {
            // RFC 5321 §4.1.3 address literal; its content is checked only for safe characters.
            let inner = inner.strip_suffix(']').ok_or_else(bad)?;
            let ok = !inner.is_empty()
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'[' | b']' | b'\\'));
            return if ok {
                Ok(Self(text.to_ascii_lowercase()))
            } else {
                Err(bad())
            };
        }
        for label in text.split('.') {
            let ok = !label.is_empty()
                && label.len() <= MAX_LABEL
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii());
            if !ok {
                return Err(bad());
            }
        }
        Ok(Self(text.to_lowercase()))
    }

    /// The domain as lowercase text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for an address literal (`[192.0.2.1]`), which is never one of our domains.
    pub fn is_literal(&self) -> bool {
        self.0.starts_with('[')
    }
}

impl TryFrom<String> for Domain {
    type Error = AddressError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Domain> for String {
    fn from(d: Domain) -> String {
        d.0
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mailbox address `local@domain` (RFC 5321 §4.1.2 `Mailbox`).
///
/// The local part keeps its spelling; [`Address::local_key`] is the case-folded form used to
/// look accounts up, so `Alice@x` and `alice@x` reach the same account.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Address {
    local: String,
    domain: Domain,
}

impl Address {
    /// Parses `local@domain`; the local part may be a dot-atom or a quoted string.
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let at = text
            .rfind('@')
            .ok_or_else(|| AddressError::NoDomain(text.to_string()))?;
        let (local, domain) = (&text[..at], &text[at + 1..]);
        let domain = Domain::parse(domain)?;
        if !is_valid_local(local) {
            return Err(AddressError::LocalPart(local.to_string()));
        }
        Ok(Self {
            local: local.to_string(),
            domain,
        })
    }

    /// Builds an address from a local part and an already valid domain.
    pub fn new(local: &str, domain: Domain) -> Result<Self, AddressError> {
        if !is_valid_local(local) {
            return Err(AddressError::LocalPart(local.to_string()));
        }
        Ok(Self {
            local: local.to_string(),
            domain,
        })
    }

    /// The local part as written.
    pub fn local(&self) -> &str {
        &self.local
    }

    /// The domain part.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The lowercased address, the key accounts and aliases are stored under.
    pub fn key(&self) -> String {
        format!("{}@{}", self.local.to_lowercase(), self.domain)
    }

    /// The address without a `+tag` subaddress (`user+tag@d` → `user@d`), if it has one.
    pub fn without_subaddress(&self) -> Option<Address> {
        let (base, _tag) = self.local.split_once('+')?;
        Address::new(base, self.domain.clone()).ok()
    }
}

fn is_valid_local(local: &str) -> bool {
    if local.is_empty() || local.len() > MAX_LOCAL {
        return false;
    }
    if let Some(inner) = local.strip_prefix('"') {
        // RFC 5321 quoted-string: qtextSMTP or backslash-quoted printable characters.
        let Some(inner) = inner.strip_suffix('"') else {
            return false;
        };
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(q) if q == ' ' || q.is_ascii_graphic() => {}
                    _ => return false,
                },
                '"' => return false,
                c if c == ' ' || c.is_ascii_graphic() || !c.is_ascii() => {}
                _ => return false,
            }
        }
        return true;
    }
    // RFC 5321 Dot-string with RFC 6531 UTF-8 atext.
    local.split('.').all(|atom| {
        !atom.is_empty()
            && atom.chars().all(|c| {
                c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
            })
    })
}

impl TryFrom<String> for Address {
    type Error = AddressError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Address> for String {
    fn from(a: Address) -> String {
        a.to_string()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_lowercases_domain() {
        let a = Address::parse("Alice.Smith@Example.COM").unwrap();
        assert_eq!(a.local(), "Alice.Smith");
        assert_eq!(a.domain().as_str(), "example.com");
        assert_eq!(a.key(), "alice.smith@example.com");
    }

    #[test]
    fn table_of_valid_and_invalid() {
        for ok in [
            "a@b",
            "user+tag@example.com",
            "\"john doe\"@example.com",
            "\"a\\\"b\"@example.com",
            "user@[192.0.2.1]",
            "us.er@xn--bcher-kva.example",
            "jörg@bücher.example",
            "x@example.com.",
        ] {
            assert!(Address::parse(ok).is_ok(), "{ok} should parse");
        }
        for bad in [
            "",
            "noat",
            "@example.com",
            "a@",
            ".a@example.com",
            "a..b@example.com",
            "a.@example.com",
            "a b@example.com",
            "a@-x.com",
            "a@x..com",
            "a@[1.2.3.4",
            "\"unterminated@example.com",
            "a@exa mple.com",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad:?} should not parse");
        }
        let long_label = format!("a@{}.com", "x".repeat(64));
        assert!(Address::parse(&long_label).is_err());
    }

    #[test]
    fn subaddress_is_stripped() {
        let a = Address::parse("bob+lists@example.com").unwrap();
        assert_eq!(
            a.without_subaddress().unwrap().to_string(),
            "bob@example.com"
        );
        assert!(
            Address::parse("bob@example.com")
                .unwrap()
                .without_subaddress()
                .is_none()
        );
    }

    #[test]
    fn literal_domain_is_flagged() {
        assert!(Domain::parse("[192.0.2.1]").unwrap().is_literal());
        assert!(!Domain::parse("example.com").unwrap().is_literal());
    }
}
