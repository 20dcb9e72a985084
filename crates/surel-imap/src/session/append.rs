//! APPEND (RFC 9051 §6.3.12, RFC 4315 APPENDUID, RFC 7889 APPENDLIMIT).

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use surel_imap_proto::Flag as WireFlag;
use surel_store::{Flag, NewMessage};

use super::{Session, store_failure};
use crate::response::Done;

impl Session {
    pub(super) async fn append(
        &mut self,
        raw: &[u8],
        flags: &[WireFlag],
        date: Option<DateTime<FixedOffset>>,
        message: Vec<u8>,
        binary: bool,
    ) -> Done {
        let Some(user) = self.user().cloned() else {
            return Done::bad("not logged in");
        };
        let name = match self.mailbox_name(raw) {
            Ok(name) => name,
            Err(done) => return done,
        };
        let mut stored_flags = Vec::with_capacity(flags.len());
        for flag in flags {
            stored_flags.push(match flag {
                WireFlag::Seen => Flag::Seen,
                WireFlag::Answered => Flag::Answered,
                WireFlag::Flagged => Flag::Flagged,
                WireFlag::Deleted => Flag::Deleted,
                WireFlag::Draft => Flag::Draft,
                // RFC 9051 §2.3.2: \Recent is the server's, never set by a client.
                WireFlag::Recent => return Done::bad("\\Recent cannot be set"),
                WireFlag::Keyword(k) => Flag::Keyword(k.clone()),
            });
        }
        stored_flags.sort();
        stored_flags.dedup();
        // The framer refuses literals over the limit before they are sent; this guards the
        // rest (a command whose literal came in pieces, or a smaller limit set later).
        if message.len() as u64 > self.ctx.append_limit {
            return Done::no(format!(
                "message too big (at most {} octets)",
                self.ctx.append_limit
            ))
            .with_code("TOOBIG");
        }
        if message.is_empty() {
            return Done::no("an empty message cannot be stored");
        }
        if binary {
            // RFC 3516 §4.3: a literal8 message may hold binary parts; it is kept as sent.
            tracing::debug!("APPEND of a binary literal");
        }
        let store = self.ctx.store.clone();
        let mailbox = match store.mailbox(user.account, &name).await {
            Ok(Some(mailbox)) => mailbox,
            // RFC 9051 §6.3.12: TRYCREATE when the mailbox does not exist.
            Ok(None) => return Done::no("no such mailbox").with_code("TRYCREATE"),
            Err(e) => return store_failure("APPEND", &e),
        };
        let new = NewMessage {
            bytes: Arc::from(message),
            internal_date: date.map_or_else(Utc::now, |d| d.with_timezone(&Utc)),
            flags: stored_flags,
            auth_results: None,
        };
        match store.append(mailbox.id, new).await {
            // RFC 4315 §3: APPENDUID uidvalidity uid.
            Ok(stored) => Done::ok("APPEND completed").with_code(format!(
                "APPENDUID {} {}",
                mailbox.uid_validity, stored.uid.0
            )),
            Err(surel_store::StoreError::NotFound(_)) => {
                Done::no("no such mailbox").with_code("TRYCREATE")
            }
            Err(e) => store_failure("APPEND", &e),
        }
    }
}
