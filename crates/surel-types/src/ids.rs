use std::fmt;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id!(
    /// An account's identity in the store; never reused.
    AccountId(i64)
);
id!(
    /// A mailbox's identity in the store; never reused.
    MailboxId(i64)
);
id!(
    /// An IMAP UID: strictly ascending within a mailbox, never reused (RFC 9051 §2.3.1.1).
    Uid(u32)
);
id!(
    /// A CONDSTORE modification sequence (RFC 7162): grows with every change in a mailbox.
    ModSeq(u64)
);

/// The name of a stored message body: the lowercase hex SHA-256 of its bytes.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct BlobId(String);

impl BlobId {
    /// Accepts exactly 64 lowercase hex digits, so a blob id can name a file safely.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(s.to_string()))
    }

    /// The id as text (64 hex digits).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_id_accepts_only_hex_sha256() {
        assert!(BlobId::parse(&"a".repeat(64)).is_some());
        assert!(BlobId::parse(&"A".repeat(64)).is_none());
        assert!(BlobId::parse(&"a".repeat(63)).is_none());
        assert!(BlobId::parse(&format!("../{}", "a".repeat(61))).is_none());
    }
}
