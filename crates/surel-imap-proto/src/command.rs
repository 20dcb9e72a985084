//! The commands a client can send (RFC 9051 §6, RFC 3501 §6 and the extensions surel offers),
//! as the parser produces them. Strings the client sent are kept as bytes where their meaning
//! depends on session state (mailbox names: modified UTF-7 or UTF-8; search strings: CHARSET).

use chrono::{DateTime, FixedOffset, NaiveDate};

/// One tagged command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub tag: String,
    pub body: CommandBody,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandBody {
    // ---- any state (RFC 9051 §6.1) ----
    Capability,
    Noop,
    Logout,
    /// RFC 2971. `None` is `ID NIL`.
    Id(Option<Vec<(String, Option<String>)>>),

    // ---- not authenticated (§6.2) ----
    StartTls,
    /// `initial` is the SASL-IR initial response, already base64-decoded; `Some(vec![])` for `=`.
    Authenticate {
        mechanism: String,
        initial: Option<Vec<u8>>,
    },
    Login {
        username: Vec<u8>,
        password: Vec<u8>,
    },

    // ---- authenticated (§6.3) ----
    /// RFC 5161: the capability names as sent.
    Enable(Vec<String>),
    /// SELECT (`read_only == false`) or EXAMINE (`true`), with RFC 7162 parameters.
    Select {
        mailbox: Vec<u8>,
        read_only: bool,
        condstore: bool,
        qresync: Option<QresyncParams>,
    },
    /// RFC 6154 CREATE-SPECIAL-USE: `USE (\Sent ...)` attributes, as sent.
    Create {
        mailbox: Vec<u8>,
        special_use: Vec<String>,
    },
    Delete(Vec<u8>),
    Rename {
        from: Vec<u8>,
        to: Vec<u8>,
    },
    Subscribe(Vec<u8>),
    Unsubscribe(Vec<u8>),
    /// LIST, basic or extended (RFC 5258, RFC 5819 LIST-STATUS, RFC 6154).
    List {
        reference: Vec<u8>,
        patterns: Vec<Vec<u8>>,
        select: ListSelect,
        ret: ListReturn,
    },
    Lsub {
        reference: Vec<u8>,
        pattern: Vec<u8>,
    },
    Namespace,
    Status {
        mailbox: Vec<u8>,
        items: Vec<StatusItem>,
    },
    /// One message (MULTIAPPEND is not offered). `binary` when sent as a `~{n}` literal8.
    Append {
        mailbox: Vec<u8>,
        flags: Vec<Flag>,
        date: Option<DateTime<FixedOffset>>,
        message: Vec<u8>,
        binary: bool,
    },
    Idle,

    // ---- selected (§6.4) ----
    Check,
    Close,
    Unselect,
    Expunge,
    /// RFC 4315 / RFC 9051 `UID EXPUNGE set`.
    UidExpunge(SequenceSet),
    Search {
        uid: bool,
        charset: Option<String>,
        /// The criteria, ANDed as the grammar says (a single key is `And(vec![key])` or the key).
        criteria: SearchKey,
        /// `None`: plain SEARCH, answered with `* SEARCH`. `Some`: `SEARCH RETURN (...)` (ESEARCH,
        /// RFC 4731 / RFC 9051); an empty list means `RETURN ()`, i.e. ALL.
        ret: Option<Vec<SearchReturn>>,
    },
    Fetch {
        uid: bool,
        set: SequenceSet,
        /// Macros (ALL, FAST, FULL) already expanded.
        items: Vec<FetchItem>,
        /// RFC 7162 `(CHANGEDSINCE n)`.
        changed_since: Option<u64>,
        /// RFC 7162 `(VANISHED)`, only valid with UID FETCH and CHANGEDSINCE (the session checks).
        vanished: bool,
    },
    Store {
        uid: bool,
        set: SequenceSet,
        op: StoreOp,
        silent: bool,
        flags: Vec<Flag>,
        /// RFC 7162 `(UNCHANGEDSINCE n)`.
        unchanged_since: Option<u64>,
    },
    Copy {
        uid: bool,
        set: SequenceSet,
        mailbox: Vec<u8>,
    },
    Move {
        uid: bool,
        set: SequenceSet,
        mailbox: Vec<u8>,
    },
}

/// RFC 7162 §3.2.5: `QRESYNC (uidvalidity modseq [known-uids [(seq-match-data)]])`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QresyncParams {
    pub uid_validity: u32,
    pub modseq: u64,
    pub known_uids: Option<SequenceSet>,
    /// (known sequence numbers, the UIDs they correspond to)
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// A flag as sent: system flags by name, anything else a keyword. `\*` only appears in
/// PERMANENTFLAGS (server side) and is refused by the parser in STORE/APPEND.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flag {
    Seen,
    Answered,
    Flagged,
    Deleted,
    Draft,
    /// `\Recent` may be sent in SEARCH only; STORE of it is refused by the session.
    Recent,
    /// A keyword (atom), or an unknown `\Extension` flag, as sent.
    Keyword(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListSelect {
    pub subscribed: bool,
    pub remote: bool,
    pub recursive_match: bool,
    pub special_use: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListReturn {
    pub subscribed: bool,
    pub children: bool,
    pub special_use: bool,
    /// RFC 5819 `RETURN (STATUS (...))`.
    pub status: Option<Vec<StatusItem>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusItem {
    Messages,
    Recent,
    UidNext,
    UidValidity,
    Unseen,
    /// RFC 9051 `DELETED`.
    Deleted,
    /// RFC 8438 `SIZE`.
    Size,
    /// RFC 7162 `HIGHESTMODSEQ`.
    HighestModSeq,
    /// RFC 8474 is not offered; kept out. APPENDLIMIT (RFC 7889) in STATUS:
    AppendLimit,
}

/// A message sequence number or UID as sent: a number, or `*` (the largest in use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqNum {
    Value(u32),
    Largest,
}

/// A sequence set as sent (RFC 9051 `sequence-set`), or `$` (RFC 5182 SEARCHRES: the saved
/// result). Ranges may run either way (`5:2` is `2:5`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SequenceSet {
    Ranges(Vec<(SeqNum, SeqNum)>),
    Saved,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchKey {
    All,
    Answered,
    Bcc(Vec<u8>),
    Before(NaiveDate),
    Body(Vec<u8>),
    Cc(Vec<u8>),
    Deleted,
    Draft,
    Flagged,
    From(Vec<u8>),
    /// HEADER field-name string.
    Header(String, Vec<u8>),
    Keyword(String),
    Larger(u64),
    New,
    Not(Box<SearchKey>),
    Old,
    On(NaiveDate),
    Or(Box<SearchKey>, Box<SearchKey>),
    Recent,
    Seen,
    SentBefore(NaiveDate),
    SentOn(NaiveDate),
    SentSince(NaiveDate),
    Since(NaiveDate),
    Smaller(u64),
    Subject(Vec<u8>),
    Text(Vec<u8>),
    To(Vec<u8>),
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(String),
    Unseen,
    /// A bare sequence set (message sequence numbers), or `$`.
    SequenceSet(SequenceSet),
    /// A parenthesised list, or the top-level list of keys.
    And(Vec<SearchKey>),
    /// RFC 7162 `MODSEQ [entry-name entry-type] n`; the entry is ignored (we keep no
    /// per-flag MODSEQ), as the RFC allows.
    ModSeq(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SearchReturn {
    Min,
    Max,
    All,
    Count,
    /// RFC 5182 SEARCHRES: remember the result as `$`.
    Save,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchItem {
    Flags,
    InternalDate,
    /// RFC822.SIZE
    Rfc822Size,
    Envelope,
    /// BODYSTRUCTURE (extensible form)
    BodyStructure,
    /// BODY without a section: the non-extensible body structure.
    Body,
    Uid,
    /// RFC 7162
    ModSeq,
    /// RFC822 (= BODY[], sets \Seen)
    Rfc822,
    /// RFC822.HEADER (= BODY.PEEK[HEADER], answered as RFC822.HEADER)
    Rfc822Header,
    /// RFC822.TEXT (= BODY[TEXT], sets \Seen)
    Rfc822Text,
    /// BODY[section]<partial> and BODY.PEEK[...]
    BodySection {
        peek: bool,
        section: Section,
        partial: Option<Partial>,
    },
    /// RFC 3516 / RFC 9051 BINARY[part]<partial>, BINARY.PEEK
    Binary {
        peek: bool,
        part: Vec<u32>,
        partial: Option<Partial>,
    },
    /// BINARY.SIZE[part]
    BinarySize {
        part: Vec<u32>,
    },
}

/// `<offset.length>`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partial {
    pub offset: u32,
    pub length: u32,
}

/// `[1.2.HEADER.FIELDS (A B)]`: the part path (empty for the whole message) and what of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionText {
    Header,
    /// Field names as sent (matched case-insensitively); echoed back as sent.
    HeaderFields(Vec<String>),
    HeaderFieldsNot(Vec<String>),
    Text,
    Mime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOp {
    Add,
    Remove,
    Replace,
}
