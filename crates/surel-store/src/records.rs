use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use surel_types::{
    AccountId, Address, BlobId, Domain, MailboxId, MailboxName, ModSeq, Secret, SpecialUse, Uid,
};

/// An account as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Its identity.
    pub id: AccountId,
    /// Its primary address (login name).
    pub address: Address,
    /// PHC-format Argon2id hash (see [`crate::password`]).
    pub password_hash: String,
}

/// What an alias is keyed by: one address, or every address of a domain (catch-all).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AliasSource {
    /// One address.
    Address(Address),
    /// `@domain`: any address of the domain that is not an account or an alias.
    CatchAll(Domain),
}

impl AliasSource {
    /// Parses `user@domain` or `@domain`.
    pub fn parse(text: &str) -> Result<Self, surel_types::AddressError> {
        match text.strip_prefix('@') {
            Some(domain) => Ok(AliasSource::CatchAll(Domain::parse(domain)?)),
            None => Ok(AliasSource::Address(Address::parse(text)?)),
        }
    }

    /// The domain the source belongs to.
    pub fn domain(&self) -> &Domain {
        match self {
            AliasSource::Address(a) => a.domain(),
            AliasSource::CatchAll(d) => d,
        }
    }

    /// The lowercase key it is stored under: `user@domain` or `@domain`.
    pub fn key(&self) -> String {
        match self {
            AliasSource::Address(a) => a.key(),
            AliasSource::CatchAll(d) => format!("@{d}"),
        }
    }
}

impl fmt::Display for AliasSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AliasSource::Address(a) => a.fmt(f),
            AliasSource::CatchAll(d) => write!(f, "@{d}"),
        }
    }
}

/// One alias and where it points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alias {
    /// What it is keyed by.
    pub source: AliasSource,
    /// The addresses it forwards to, in the order given.
    pub targets: Vec<Address>,
}

/// What an exact address names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// An account.
    Account(AccountId),
    /// An alias with these targets.
    Alias(Vec<Address>),
}

/// A mailbox and its IMAP counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    /// Its identity.
    pub id: MailboxId,
    /// The account it belongs to.
    pub account: AccountId,
    /// Its name.
    pub name: MailboxName,
    /// Its RFC 6154 role, if any.
    pub special_use: Option<SpecialUse>,
    /// RFC 9051 §2.3.1.1; fixed for the mailbox's life.
    pub uid_validity: u32,
    /// The UID the next message will get.
    pub uid_next: Uid,
    /// The MODSEQ of the latest change in the mailbox (RFC 7162).
    pub highest_modseq: ModSeq,
    /// Messages in the mailbox now.
    pub exists: u32,
}

/// A message flag: a system flag or a keyword.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flag {
    /// `\Seen`
    Seen,
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Draft`
    Draft,
    /// A keyword such as `$Forwarded` or `$Junk`, kept as given.
    Keyword(String),
}

impl Flag {
    /// Parses `\Seen`-style system flags case-insensitively; anything else is a keyword.
    pub fn parse(text: &str) -> Self {
        match text.to_ascii_lowercase().as_str() {
            "\\seen" => Flag::Seen,
            "\\answered" => Flag::Answered,
            "\\flagged" => Flag::Flagged,
            "\\deleted" => Flag::Deleted,
            "\\draft" => Flag::Draft,
            _ => Flag::Keyword(text.to_string()),
        }
    }

    /// The IMAP spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Flag::Seen => "\\Seen",
            Flag::Answered => "\\Answered",
            Flag::Flagged => "\\Flagged",
            Flag::Deleted => "\\Deleted",
            Flag::Draft => "\\Draft",
            Flag::Keyword(k) => k,
        }
    }
}

/// How [`crate::Store::set_flags`] combines the given flags with the present ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagOp {
    /// Add them (`+FLAGS`).
    Add,
    /// Remove them (`-FLAGS`).
    Remove,
    /// Replace all flags with them (`FLAGS`).
    Replace,
}

/// A message about to be stored.
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// The whole message as it will be served (headers we add are already in it).
    pub bytes: Arc<[u8]>,
    /// IMAP INTERNALDATE: when it arrived.
    pub internal_date: DateTime<Utc>,
    /// Flags it starts with.
    pub flags: Vec<Flag>,
    /// The Authentication-Results value we wrote (RFC 8601), kept so readers need not re-parse
    /// or re-verify; `None` for mail that was not checked (submission, APPEND).
    pub auth_results: Option<String>,
}

/// Where one copy of a delivered message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryTarget {
    /// The recipient account.
    pub account: AccountId,
    /// The mailbox; if the account has no mailbox of this name, the copy goes to INBOX.
    pub mailbox: MailboxName,
}

/// Where one copy was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The account.
    pub account: AccountId,
    /// The mailbox it landed in.
    pub mailbox: MailboxId,
    /// Its UID there.
    pub uid: Uid,
    /// The MODSEQ of its arrival.
    pub modseq: ModSeq,
}

/// A stored message's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageMeta {
    /// UID in its mailbox.
    pub uid: Uid,
    /// MODSEQ of its last change.
    pub modseq: ModSeq,
    /// Its flags, sorted.
    pub flags: Vec<Flag>,
    /// IMAP INTERNALDATE.
    pub internal_date: DateTime<Utc>,
    /// Size in octets (RFC822.SIZE).
    pub size: u64,
    /// Where its bytes are.
    pub blob: BlobId,
    /// The Authentication-Results value recorded at delivery, if the message was checked.
    pub auth_results: Option<String>,
}

/// The signing algorithm of a DKIM key (RFC 6376 §3.3; Ed25519 per RFC 8463 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DkimAlgorithm {
    /// `rsa-sha256` (RFC 6376 §3.3.1).
    RsaSha256,
    /// `ed25519-sha256` (RFC 8463 §3).
    Ed25519Sha256,
}

impl DkimAlgorithm {
    /// Its `a=` tag value, also how the store keeps it.
    pub fn as_str(self) -> &'static str {
        match self {
            DkimAlgorithm::RsaSha256 => "rsa-sha256",
            DkimAlgorithm::Ed25519Sha256 => "ed25519-sha256",
        }
    }

    /// The inverse of [`DkimAlgorithm::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "rsa-sha256" => Some(DkimAlgorithm::RsaSha256),
            "ed25519-sha256" => Some(DkimAlgorithm::Ed25519Sha256),
            _ => None,
        }
    }
}

impl fmt::Display for DkimAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A DKIM signing key of a local domain; its public half is published at
/// `SELECTOR._domainkey.DOMAIN` (RFC 6376 §3.6.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimKey {
    /// The signing domain (`d=`).
    pub domain: Domain,
    /// The selector (`s=`): a DNS label, unique within the domain (compared case-insensitively).
    pub selector: String,
    /// What kind of key it is.
    pub algorithm: DkimAlgorithm,
    /// The private key, PKCS#8 in PEM form; the store keeps it as given and never parses it.
    pub private_key: Secret<String>,
    /// When it was made; keys are listed newest first.
    pub created: DateTime<Utc>,
}

/// A mailbox with the counts STATUS and LIST-STATUS report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxStatus {
    /// The mailbox and its counters.
    pub mailbox: Mailbox,
    /// Messages without `\Seen`.
    pub unseen: u32,
    /// Messages with `\Deleted`.
    pub deleted: u32,
    /// Sum of the messages' sizes (RFC 8438 STATUS SIZE).
    pub size: u64,
}

/// One message as IMAP FETCH reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRow {
    /// UID, flags, MODSEQ, size, date, blob.
    pub meta: MessageMeta,
    /// The cached parse (surel-mime `MessageInfo::encode`), when asked for and present.
    pub parsed: Option<Vec<u8>>,
}

/// A message's flags and MODSEQ: what a session tells its client of a change made elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagState {
    /// The message.
    pub uid: Uid,
    /// Its MODSEQ.
    pub modseq: ModSeq,
    /// Its flags, sorted as [`Flag`] orders them.
    pub flags: Vec<Flag>,
}

/// What a STORE did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlagsOutcome {
    /// Messages whose flags changed, with their new flags and MODSEQ, ascending by UID.
    pub changed: Vec<MessageMeta>,
    /// Messages that exist but whose flags were already as asked.
    pub unchanged: Vec<MessageMeta>,
    /// UIDs left alone because their MODSEQ was above UNCHANGEDSINCE.
    pub failed: Vec<Uid>,
}
