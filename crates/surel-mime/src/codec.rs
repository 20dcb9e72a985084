//! The store encoding of [`MessageInfo`]: a version byte, four `u32` little-endian
//! length-prefixed fields (envelope, body, body_structure, header), then the sent time as a
//! presence byte and an `i64` little-endian. Nothing may follow.

use crate::MessageInfo;

/// Bumped whenever what [`MessageInfo::parse`] writes changes, so entries cached by an older
/// version are parsed again. 2: message/rfc822 and message/global in a base64 or
/// quoted-printable encoding are body-type-msg (envelope, body, lines), no longer leaves.
const VERSION: u8 = 2;

pub(crate) fn encode(info: &MessageInfo) -> Vec<u8> {
    let fields = [
        &info.envelope,
        &info.body,
        &info.body_structure,
        &info.header,
    ];
    let len: usize = fields.iter().map(|f| f.len() + 4).sum();
    let mut out = Vec::with_capacity(1 + len + 9);
    out.push(VERSION);
    for field in fields {
        // A message over 4 GiB is refused long before it is parsed; saturate rather than wrap.
        let n = u32::try_from(field.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(field.get(..n as usize).unwrap_or(field));
    }
    match info.sent {
        Some(t) => {
            out.push(1);
            out.extend_from_slice(&t.to_le_bytes());
        }
        None => out.push(0),
    }
    out
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn field(&mut self) -> Option<Vec<u8>> {
        let n = u32::from_le_bytes(self.take(4)?.try_into().ok()?);
        Some(self.take(usize::try_from(n).ok()?)?.to_vec())
    }
}

pub(crate) fn decode(bytes: &[u8]) -> Option<MessageInfo> {
    let mut r = Reader { rest: bytes };
    if r.take(1)? != [VERSION] {
        return None;
    }
    let envelope = r.field()?;
    let body = r.field()?;
    let body_structure = r.field()?;
    let header = r.field()?;
    let sent = match r.take(1)? {
        [0] => None,
        [1] => Some(i64::from_le_bytes(r.take(8)?.try_into().ok()?)),
        _ => return None,
    };
    r.rest.is_empty().then_some(MessageInfo {
        envelope,
        body,
        body_structure,
        header,
        sent,
    })
}
