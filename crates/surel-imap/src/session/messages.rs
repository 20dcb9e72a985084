//! The selected-state commands (RFC 9051 §6.4), routed to [`Selected`], and IDLE (RFC 2177).

use surel_imap_proto::{CommandBody, FetchItem, Flag as WireFlag, SearchKey};

use super::{Name, Next, Outcome, Session, State, store_failure};
use crate::output::Output;
use crate::response::Done;

impl Session {
    pub(super) async fn selected_command(
        &mut self,
        tag: &str,
        body: CommandBody,
        out: &mut Output<'_>,
    ) -> Outcome {
        use CommandBody as C;
        let name = body.name();
        if !matches!(self.state, State::Selected(..)) {
            return Done::bad(format!("{name} needs a selected mailbox")).into();
        }
        match body {
            C::Close => return self.close(true).await,
            C::Unselect => return self.close(false).await,
            _ => {}
        }
        // RFC 7162 §3.1: these forms are CONDSTORE-enabling commands.
        let enables_condstore = match &body {
            C::Fetch {
                items,
                changed_since,
                ..
            } => changed_since.is_some() || items.contains(&FetchItem::ModSeq),
            C::Store {
                unchanged_since, ..
            } => unchanged_since.is_some(),
            C::Search { criteria, .. } => has_modseq(criteria),
            _ => false,
        };
        if enables_condstore {
            self.enabled.condstore = true;
        }
        // The target of COPY/MOVE is looked up before the mailbox is borrowed for the command.
        let target = match &body {
            C::Copy { mailbox, .. } | C::Move { mailbox, .. } => {
                match self.copy_target(mailbox).await {
                    Ok(target) => Some(target),
                    Err(done) => return self.finish(done, out).await,
                }
            }
            _ => None,
        };
        // RFC 9051 §7.5.1: no EXPUNGE during FETCH, STORE or SEARCH (their UID forms may have
        // them), so sequence numbers in the command mean what the client thought.
        let allow_expunge = !matches!(
            body,
            C::Fetch { uid: false, .. }
                | C::Store { uid: false, .. }
                | C::Search { uid: false, .. }
        );
        self.refresh(allow_expunge, out).await;

        let store = self.ctx.store.clone();
        let enabled = self.enabled;
        let State::Selected(_, selected) = &mut self.state else {
            return Done::bad(format!("{name} needs a selected mailbox")).into();
        };
        let read_only = selected.read_only();
        let read_only_refusal =
            || Done::no(format!("{name}: the mailbox is read-only")).with_code("READ-ONLY");
        let result = match body {
            C::Check => Ok(Done::ok("CHECK completed")),
            C::Expunge | C::UidExpunge(_) if read_only => Ok(read_only_refusal()),
            C::Expunge => selected.expunge(&*store, &enabled, None, out).await,
            C::UidExpunge(set) => selected.expunge(&*store, &enabled, Some(&set), out).await,
            C::Search {
                uid,
                charset,
                criteria,
                ret,
            } => {
                // RFC 9051 §6.4.4: UTF-8 (and its subset US-ASCII) only.
                if charset.as_deref().is_some_and(|c| {
                    !c.eq_ignore_ascii_case("UTF-8") && !c.eq_ignore_ascii_case("US-ASCII")
                }) {
                    Ok(Done::no("unsupported charset").with_code("BADCHARSET (UTF-8 US-ASCII)"))
                } else {
                    selected
                        .search(&*store, &enabled, tag, uid, &criteria, ret.as_deref(), out)
                        .await
                }
            }
            C::Fetch {
                uid,
                set,
                items,
                changed_since,
                vanished,
            } => {
                // RFC 7162 §3.2.6: VANISHED only in UID FETCH with CHANGEDSINCE, under QRESYNC.
                if vanished && !(uid && changed_since.is_some() && enabled.qresync) {
                    Ok(Done::bad(
                        "VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC",
                    ))
                } else {
                    selected
                        .fetch(
                            &*store,
                            &enabled,
                            uid,
                            &set,
                            &items,
                            changed_since,
                            vanished,
                            out,
                        )
                        .await
                }
            }
            C::Store { .. } if read_only => Ok(read_only_refusal()),
            C::Store { flags, .. } if flags.contains(&WireFlag::Recent) => {
                Ok(Done::bad("\\Recent cannot be stored"))
            }
            C::Store {
                uid,
                set,
                op,
                silent,
                flags,
                unchanged_since,
            } => {
                selected
                    .store(
                        &*store,
                        &enabled,
                        uid,
                        &set,
                        op,
                        silent,
                        &flags,
                        unchanged_since,
                        out,
                    )
                    .await
            }
            C::Move { .. } if read_only => Ok(read_only_refusal()),
            C::Copy { uid, set, .. } | C::Move { uid, set, .. } => match &target {
                Some(target) => {
                    let is_move = name.ends_with("MOVE");
                    selected
                        .copy(&*store, &enabled, uid, &set, target, is_move, out)
                        .await
                }
                None => Ok(Done::no("no such mailbox").with_code("TRYCREATE")),
            },
            _ => Ok(Done::bad(format!("{name} is not valid here"))),
        };
        match result {
            Ok(done) => done.into(),
            Err(e) => store_failure(name, &e).into(),
        }
    }

    /// The existing mailbox COPY/MOVE names; `NO [TRYCREATE]` if it does not exist (RFC 9051
    /// §6.4.7).
    async fn copy_target(&self, raw: &[u8]) -> Result<surel_store::Mailbox, Done> {
        let name = self.mailbox_name(raw)?;
        let Some(user) = self.user() else {
            return Err(Done::bad("not logged in"));
        };
        match self.ctx.store.mailbox(user.account, &name).await {
            Ok(Some(mailbox)) => Ok(mailbox),
            Ok(None) => Err(Done::no("no such mailbox").with_code("TRYCREATE")),
            Err(e) => Err(store_failure("COPY", &e)),
        }
    }

    /// CLOSE (RFC 9051 §6.4.1: expunges silently when read-write) or UNSELECT (RFC 3691: does
    /// not): back to the authenticated state.
    async fn close(&mut self, expunge: bool) -> Outcome {
        let State::Selected(user, mut selected) = std::mem::replace(&mut self.state, State::Logout)
        else {
            return Done::bad("no mailbox is selected").into();
        };
        self.state = State::Authenticated(user);
        if expunge && let Err(e) = selected.close(&*self.ctx.store).await {
            // The mailbox is closed either way; the client learns the expunge did not happen.
            return store_failure("CLOSE", &e).into();
        }
        Done::ok(if expunge {
            "CLOSE completed"
        } else {
            "UNSELECT completed"
        })
        .into()
    }

    /// IDLE (RFC 2177 §3): catch up, `+ idling`, then the driver waits for `DONE` or changes.
    pub(super) async fn idle(&mut self, tag: &str, out: &mut Vec<u8>) -> Outcome {
        // Subscribed before the catch-up, so a change committed in between is not missed.
        let feed = match &self.state {
            State::Selected(user, _) => Some(self.ctx.store.changes(user.account)),
            _ => None,
        };
        self.refresh(true, out).await;
        out.extend_from_slice(b"+ idling\r\n");
        self.start_idle(tag, feed);
        Outcome {
            done: Done::ok(""),
            next: Next::Idle,
        }
    }
}

/// RFC 7162 §3.1: SEARCH with MODSEQ enables CONDSTORE.
fn has_modseq(key: &SearchKey) -> bool {
    match key {
        SearchKey::ModSeq(_) => true,
        SearchKey::Not(k) => has_modseq(k),
        SearchKey::Or(a, b) => has_modseq(a) || has_modseq(b),
        SearchKey::And(keys) => keys.iter().any(has_modseq),
        _ => false,
    }
}
