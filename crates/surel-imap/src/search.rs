//! SEARCH evaluation and SEARCH/ESEARCH responses (RFC 9051 §6.4.4, RFC 4731, RFC 5182,
//! RFC 7162). CONTRACT STUB: signatures are the contract.
use surel_imap_proto::{SearchKey, SearchReturn};
use surel_mime::MessageInfo;
use surel_store::MessageMeta;

/// What the session must load for every candidate message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub parsed: bool,
    pub raw: bool,
}

/// One message being tested.
pub struct Candidate<'a> {
    pub seq: u32,
    pub meta: &'a MessageMeta,
    pub info: Option<&'a MessageInfo>,
    pub raw: Option<&'a [u8]>,
}

/// What `*` and `$` mean in this mailbox now.
pub struct Context<'a> {
    /// Number of messages (`*` as a sequence number); 0 if empty.
    pub largest_seq: u32,
    /// Largest UID in the mailbox (`*` as a UID); 0 if empty.
    pub largest_uid: u32,
    /// UIDs saved by `SEARCH RETURN (SAVE)` (RFC 5182), ascending; empty if none.
    pub saved: &'a [u32],
}

pub fn needs(key: &SearchKey) -> Needs {
    let _ = key;
    Needs::default()
}

/// Does this message match? Strings in `key` are UTF-8 (the session refused other charsets).
pub fn matches(key: &SearchKey, candidate: &Candidate<'_>, ctx: &Context<'_>) -> bool {
    let _ = (key, candidate, ctx);
    false
}

/// Writes the untagged result: `* SEARCH n...` (plain; with ` (MODSEQ m)` when `modseq` is
/// given) or, when `ret` is `Some`, `* ESEARCH (TAG "tag") [UID] MIN.. MAX.. COUNT.. ALL..`
/// (`Some(&[])` means ALL). `results` ascending (sequence numbers, or UIDs when `uid`).
pub fn render(
    out: &mut Vec<u8>,
    tag: &str,
    uid: bool,
    ret: Option<&[SearchReturn]>,
    results: &[u32],
    modseq: Option<u64>,
) {
    let _ = (out, tag, uid, ret, results, modseq);
}
