//! FETCH responses (RFC 9051 §6.4.5, §7.5.2). CONTRACT STUB: signatures are the contract.
use surel_imap_proto::FetchItem;
use surel_mime::MessageInfo;
use surel_store::MessageMeta;

/// What the session must load before [`render`] can answer these items.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// The cached parse (`MessageInfo`).
    pub parsed: bool,
    /// The message bytes.
    pub raw: bool,
    /// A non-PEEK body item: the session sets `\Seen` (in a read-write mailbox) first.
    pub sets_seen: bool,
}

/// Per-response switches the session decides.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// UTF8=ACCEPT or IMAP4rev2 enabled.
    pub utf8: bool,
    /// Add `UID` even if not asked (UID FETCH, and unsolicited FETCH under QRESYNC).
    pub add_uid: bool,
    /// Add `MODSEQ` even if not asked (CONDSTORE enabled and CHANGEDSINCE given, or STORE).
    pub add_modseq: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// BINARY of a part with a transfer encoding we cannot decode: `NO [UNKNOWN-CTE]`.
    UnknownCte,
}

pub fn needs(items: &[FetchItem]) -> Needs {
    let _ = items;
    Needs::default()
}

/// Writes one `* seq FETCH (...)\r\n`. `info` is always given (the session parses `raw` when
/// the cache lacks it); `raw` is given when [`needs`] said so.
pub fn render(
    out: &mut Vec<u8>,
    seq: u32,
    items: &[FetchItem],
    meta: &MessageMeta,
    info: &MessageInfo,
    raw: Option<&[u8]>,
    options: Options,
) -> Result<(), FetchError> {
    let _ = (out, seq, items, meta, info, raw, options);
    Ok(())
}
