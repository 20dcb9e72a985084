//! LIST / LSUB / LIST-EXTENDED / LIST-STATUS and STATUS responses (RFC 9051 §6.3.9, RFC 5258,
//! RFC 5819, RFC 6154, RFC 3348). CONTRACT STUB: signatures are the contract.
use surel_imap_proto::{ListReturn, ListSelect, StatusItem};
use surel_store::MailboxStatus;
use surel_types::MailboxName;

/// A LIST (or LSUB) as the session hands it over: names already converted to UTF-8.
pub struct ListRequest<'a> {
    pub reference: &'a str,
    pub patterns: &'a [String],
    pub select: &'a ListSelect,
    pub ret: &'a ListReturn,
    /// LSUB (RFC 3501) rather than LIST.
    pub lsub: bool,
    /// Whether IMAP4rev2 was enabled (rev2 answers differ a little: RFC 9051 §6.3.9).
    pub rev2: bool,
}

/// Does `name` match `reference` + `pattern` (`*` any, `%` any but `/`; INBOX case-insensitive)?
pub fn matches(reference: &str, pattern: &str, name: &str) -> bool {
    let _ = (reference, pattern, name);
    false
}

/// Writes every `* LIST` / `* LSUB` (and `* STATUS` for LIST-STATUS) line the request asks for.
/// `mailboxes`: the account's mailboxes with counts; `subscriptions`: its subscribed names.
/// `utf8`: names in UTF-8 (UTF8=ACCEPT/IMAP4rev2) rather than modified UTF-7.
pub fn list(
    out: &mut Vec<u8>,
    request: &ListRequest<'_>,
    mailboxes: &[MailboxStatus],
    subscriptions: &[MailboxName],
    utf8: bool,
    append_limit: u64,
) {
    let _ = (out, request, mailboxes, subscriptions, utf8, append_limit);
}

/// Writes `* STATUS name (ITEM n ...)` with the items in the order asked.
pub fn status(
    out: &mut Vec<u8>,
    status: &MailboxStatus,
    items: &[StatusItem],
    utf8: bool,
    append_limit: u64,
) {
    let _ = (out, status, items, utf8, append_limit);
}
