//! Conformance of what IMAP needs: APPEND into a named mailbox with flags and date, reads by UID
//! range with the cached parse, MODSEQ-based change queries with expunge tombstones, STORE with
//! UNCHANGEDSINCE, COPY/MOVE, mailbox delete/rename (INBOX rules), subscriptions and STATUS
//! counts. Choices pinned here beyond the trait docs:
//! - Every change (arrival, flag change, expunge, move-out) raises the mailbox's HIGHESTMODSEQ,
//!   and `changed_since`/`expunged_since` of the MODSEQ before it report it.
//! - A delivered or appended message has a cached parse (the store computes it).
//! - Copies keep flags, internal date and size; the copy's MODSEQ is the target's new one.

use chrono::{DateTime, Utc};
use surel_types::{AccountId, ModSeq, Uid};

use super::{exists, invalid, mailbox, mailbox_name, message, new_account, not_found, ok, target};
use crate::{Flag, FlagOp, Store};

/// The counts STATUS reports equal what the mailbox's messages say.
async fn assert_counts(store: &dyn Store, mailbox: crate::MailboxId, when: &str) {
    let messages = ok(store.messages(mailbox).await, "messages");
    let status = ok(store.mailbox_status(mailbox).await, "mailbox_status")
        .unwrap_or_else(|| panic!("mailbox {mailbox} has a status"));
    let count =
        |f: &dyn Fn(&crate::MessageMeta) -> bool| messages.iter().filter(|m| f(m)).count() as u32;
    assert_eq!(
        status.mailbox.exists,
        messages.len() as u32,
        "exists {when}"
    );
    assert_eq!(
        status.unseen,
        count(&|m| !m.flags.contains(&Flag::Seen)),
        "unseen {when}"
    );
    assert_eq!(
        status.deleted,
        count(&|m| m.flags.contains(&Flag::Deleted)),
        "deleted {when}"
    );
    assert_eq!(
        status.size,
        messages.iter().map(|m| m.size).sum::<u64>(),
        "size {when}"
    );
}

pub(super) async fn run(store: &dyn Store) {
    let ann = new_account(store, "ann@imap.test").await;
    append_and_rows(store, ann).await;
    changes_and_tombstones(store, ann).await;
    copy_and_move(store, ann).await;
    mailbox_operations(store, ann).await;
    subscriptions(store, ann).await;
}

async fn append_and_rows(store: &dyn Store, ann: AccountId) {
    let drafts = mailbox(store, ann, "Drafts").await;
    let date = DateTime::<Utc>::from_timestamp(1_600_000_000, 0).expect("fixed date");
    let mut draft = message("draft one");
    draft.flags = vec![Flag::Draft, Flag::Keyword("$Label1".into())];
    draft.internal_date = date;
    let stored = ok(store.append(drafts.id, draft.clone()).await, "append");
    assert_eq!(stored.mailbox, drafts.id);
    assert_eq!(stored.uid, drafts.uid_next, "APPEND takes UIDNEXT");
    let rows = ok(
        store
            .message_rows(drafts.id, &[(Uid(1), Uid(u32::MAX))], true)
            .await,
        "message_rows",
    );
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.meta.uid, stored.uid);
    assert_eq!(row.meta.internal_date, date, "APPEND keeps the given date");
    assert_eq!(
        row.meta.flags,
        [Flag::Draft, Flag::Keyword("$Label1".into())]
    );
    assert_eq!(row.meta.size, draft.bytes.len() as u64);
    assert!(
        row.parsed.as_ref().is_some_and(|p| !p.is_empty()),
        "an appended message has its parse cached"
    );
    let without = ok(
        store
            .message_rows(drafts.id, &[(stored.uid, stored.uid)], false)
            .await,
        "message_rows",
    );
    assert_eq!(without[0].parsed, None, "the parse only when asked");

    not_found(
        store
            .append(crate::MailboxId(i64::MAX), message("lost"))
            .await,
        &i64::MAX.to_string(),
        "append to a missing mailbox",
    );

    // Ranges: any order, overlapping, reversed; each row once, ascending.
    let inbox = mailbox(store, ann, "INBOX").await;
    let mut uids = Vec::new();
    for i in 0..5 {
        let s = ok(
            store
                .deliver(message(&format!("r{i}")), &[target(ann, "INBOX")])
                .await,
            "deliver",
        );
        uids.push(s[0].uid);
    }
    let rows = ok(
        store
            .message_rows(
                inbox.id,
                &[(uids[3], uids[1]), (uids[0], uids[0]), (uids[2], uids[4])],
                true,
            )
            .await,
        "message_rows",
    );
    let got: Vec<Uid> = rows.iter().map(|r| r.meta.uid).collect();
    assert_eq!(got, uids, "ranges merge into one ascending list");
    assert!(
        rows.iter().all(|r| r.parsed.is_some()),
        "delivered messages have their parse cached"
    );
    assert_eq!(ok(store.uids(inbox.id).await, "uids"), uids);
    assert_eq!(
        ok(store.first_unseen(inbox.id).await, "first_unseen"),
        Some(uids[0])
    );
    ok(
        store
            .store_flags(inbox.id, &uids[..2], FlagOp::Add, &[Flag::Seen], None)
            .await,
        "store_flags",
    );
    assert_eq!(
        ok(store.first_unseen(inbox.id).await, "first_unseen"),
        Some(uids[2])
    );
    ok(
        store
            .store_flags(inbox.id, &uids[..2], FlagOp::Remove, &[Flag::Seen], None)
            .await,
        "store_flags",
    );
    let status = ok(store.mailbox_statuses(ann).await, "mailbox_statuses");
    let inbox_status = status
        .iter()
        .find(|s| s.mailbox.id == inbox.id)
        .expect("INBOX in statuses");
    assert_eq!(inbox_status.mailbox.exists, 5);
    assert_eq!(inbox_status.unseen, 5);
    assert_eq!(inbox_status.deleted, 0);
    let drafts_status = status
        .iter()
        .find(|s| s.mailbox.id == drafts.id)
        .expect("Drafts in statuses");
    assert_eq!(drafts_status.size, draft.bytes.len() as u64);
    assert_eq!(
        ok(store.mailbox_status(drafts.id).await, "mailbox_status").as_ref(),
        Some(drafts_status),
        "one mailbox's status is what the account's list says"
    );
    assert_eq!(
        ok(
            store.mailbox_status(crate::MailboxId(i64::MAX)).await,
            "mailbox_status"
        ),
        None
    );
    assert_eq!(
        ok(store.mailbox_status(inbox.id).await, "mailbox_status").map(|s| s.mailbox.exists),
        Some(5)
    );
    let now = mailbox(store, ann, "INBOX").await;
    assert_eq!(
        ok(store.highest_modseq(inbox.id).await, "highest_modseq"),
        Some(now.highest_modseq)
    );
    assert_eq!(
        ok(
            store.highest_modseq(crate::MailboxId(i64::MAX)).await,
            "highest_modseq"
        ),
        None
    );
}

async fn changes_and_tombstones(store: &dyn Store, ann: AccountId) {
    let name = mailbox_name("Changes");
    let mb = ok(store.create_mailbox(ann, &name, None).await, "create");
    let mut uids = Vec::new();
    for i in 0..4 {
        let s = ok(
            store
                .deliver(message(&format!("c{i}")), &[target(ann, "Changes")])
                .await,
            "deliver",
        );
        uids.push(s[0].uid);
    }
    let base = mailbox(store, ann, "Changes").await.highest_modseq;
    assert!(
        ok(store.changed_since(mb.id, base).await, "changed_since").is_empty(),
        "nothing changed since now"
    );
    // A flag change with UNCHANGEDSINCE: the current MODSEQ passes, an older one fails.
    let first = ok(store.changed_since(mb.id, ModSeq(0)).await, "changed_since");
    assert_eq!(first.len(), 4, "everything changed since 0");
    let outcome = ok(
        store
            .store_flags(
                mb.id,
                &[uids[0], uids[1], Uid(999_999)],
                FlagOp::Add,
                &[Flag::Seen],
                Some(first[1].modseq),
            )
            .await,
        "store_flags",
    );
    // uids[0] and uids[1] were delivered at MODSEQs ≤ first[1].modseq.
    assert_eq!(
        outcome.changed.iter().map(|m| m.uid).collect::<Vec<_>>(),
        [uids[0], uids[1]]
    );
    assert!(outcome.failed.is_empty());
    let after_store = mailbox(store, ann, "Changes").await.highest_modseq;
    assert!(after_store > base);
    assert!(outcome.changed.iter().all(|m| m.modseq == after_store));
    let outcome = ok(
        store
            .store_flags(
                mb.id,
                &[uids[0], uids[2]],
                FlagOp::Add,
                &[Flag::Flagged],
                Some(base),
            )
            .await,
        "store_flags",
    );
    assert_eq!(outcome.failed, [uids[0]], "changed after UNCHANGEDSINCE");
    assert_eq!(
        outcome.changed.iter().map(|m| m.uid).collect::<Vec<_>>(),
        [uids[2]]
    );
    let outcome = ok(
        store
            .store_flags(mb.id, &[uids[2]], FlagOp::Add, &[Flag::Flagged], None)
            .await,
        "store_flags",
    );
    assert!(outcome.changed.is_empty());
    assert_eq!(
        outcome.unchanged.iter().map(|m| m.uid).collect::<Vec<_>>(),
        [uids[2]],
        "already so: unchanged, MODSEQ kept"
    );
    let changed = ok(store.changed_since(mb.id, base).await, "changed_since");
    let flag_states = ok(
        store.flags_changed_since(mb.id, base).await,
        "flags_changed_since",
    );
    assert_eq!(
        flag_states,
        changed
            .iter()
            .map(|m| crate::FlagState {
                uid: m.uid,
                modseq: m.modseq,
                flags: m.flags.clone(),
            })
            .collect::<Vec<_>>(),
        "flags_changed_since is changed_since reduced"
    );
    assert_eq!(
        changed.iter().map(|m| m.uid).collect::<Vec<_>>(),
        [uids[0], uids[1], uids[2]]
    );
    assert_counts(store, mb.id, "after STORE").await;
    ok(
        store
            .store_flags(
                mb.id,
                &[uids[1], uids[3]],
                FlagOp::Replace,
                &[Flag::Deleted],
                None,
            )
            .await,
        "store_flags",
    );
    assert_counts(store, mb.id, "after STORE FLAGS (\\Deleted)").await;
    ok(
        store
            .store_flags(mb.id, &[uids[1], uids[3]], FlagOp::Replace, &[], None)
            .await,
        "store_flags",
    );

    let before_expunge = mailbox(store, ann, "Changes").await.highest_modseq;
    ok(store.expunge(mb.id, &[uids[1], uids[3]]).await, "expunge");
    assert_eq!(
        ok(
            store.expunged_since(mb.id, before_expunge).await,
            "expunged_since"
        ),
        [uids[1], uids[3]]
    );
    assert_counts(store, mb.id, "after EXPUNGE").await;
    let after_expunge = mailbox(store, ann, "Changes").await.highest_modseq;
    assert!(after_expunge > before_expunge);
    assert!(
        ok(
            store.expunged_since(mb.id, after_expunge).await,
            "expunged_since"
        )
        .is_empty()
    );
    assert!(
        ok(
            store.changed_since(mb.id, after_expunge).await,
            "changed_since"
        )
        .is_empty(),
        "expunged messages are not 'changed'"
    );
    not_found(
        store
            .expunged_since(crate::MailboxId(i64::MAX), ModSeq(0))
            .await,
        &i64::MAX.to_string(),
        "tombstones of a missing mailbox",
    );
}

async fn copy_and_move(store: &dyn Store, ann: AccountId) {
    let src = ok(
        store.create_mailbox(ann, &mailbox_name("Src"), None).await,
        "create",
    );
    let dst = ok(
        store.create_mailbox(ann, &mailbox_name("Dst"), None).await,
        "create",
    );
    let mut uids = Vec::new();
    for i in 0..3 {
        let mut m = message(&format!("m{i}"));
        m.flags = vec![Flag::Flagged];
        uids.push(ok(store.append(src.id, m).await, "append").uid);
    }
    let pairs = ok(
        store
            .copy_messages(src.id, &[uids[2], uids[0], Uid(999_999)], dst.id)
            .await,
        "copy",
    );
    assert_eq!(pairs.len(), 2, "only existing messages: {pairs:?}");
    assert_eq!(pairs[0].0, uids[0], "in source UID order");
    assert_eq!(pairs[1].0, uids[2]);
    assert!(pairs[0].1 < pairs[1].1);
    let copies = ok(store.messages(dst.id).await, "messages");
    assert_eq!(copies.len(), 2);
    assert!(copies.iter().all(|m| m.flags == [Flag::Flagged]));
    assert_eq!(ok(store.messages(src.id).await, "messages").len(), 3);
    // COPY into the same mailbox makes new UIDs there.
    let same = ok(
        store.copy_messages(src.id, &[uids[1]], src.id).await,
        "copy",
    );
    assert!(same[0].1 > uids[2]);

    let before = mailbox(store, ann, "Src").await.highest_modseq;
    let moved = ok(
        store
            .move_messages(src.id, &[uids[0], uids[1]], dst.id)
            .await,
        "move",
    );
    assert_eq!(
        moved.iter().map(|p| p.0).collect::<Vec<_>>(),
        [uids[0], uids[1]]
    );
    assert_eq!(
        ok(store.expunged_since(src.id, before).await, "expunged_since"),
        [uids[0], uids[1]],
        "MOVE leaves tombstones in the source"
    );
    assert_eq!(ok(store.messages(dst.id).await, "messages").len(), 4);
    assert_counts(store, src.id, "after MOVE, source").await;
    assert_counts(store, dst.id, "after MOVE, target").await;
    invalid(
        store.move_messages(src.id, &[uids[2]], src.id).await,
        "MOVE into the same mailbox",
    );
    not_found(
        store
            .copy_messages(src.id, &[uids[2]], crate::MailboxId(i64::MAX))
            .await,
        &i64::MAX.to_string(),
        "copy into a missing mailbox",
    );
}

async fn mailbox_operations(store: &dyn Store, ann: AccountId) {
    for name in ["Work", "Work/Projects", "Work/Projects/Old", "Workshop"] {
        ok(
            store.create_mailbox(ann, &mailbox_name(name), None).await,
            "create",
        );
    }
    let old = mailbox(store, ann, "Work/Projects/Old").await;
    ok(
        store
            .deliver(message("kept"), &[target(ann, "Work/Projects/Old")])
            .await,
        "deliver",
    );
    exists(
        store
            .rename_mailbox(ann, &mailbox_name("Work"), &mailbox_name("Workshop"))
            .await,
        "Workshop",
        "rename onto an existing name",
    );
    not_found(
        store
            .rename_mailbox(ann, &mailbox_name("Nope"), &mailbox_name("Other"))
            .await,
        "Nope",
        "rename of a missing mailbox",
    );
    for name in ["Work", "Work/Projects"] {
        ok(
            store.set_subscribed(ann, &mailbox_name(name), true).await,
            "subscribe",
        );
    }
    ok(
        store
            .rename_mailbox(ann, &mailbox_name("Work"), &mailbox_name("Job"))
            .await,
        "rename",
    );
    let subscribed = ok(store.subscriptions(ann).await, "subscriptions");
    assert!(
        subscribed.contains(&mailbox_name("Job"))
            && subscribed.contains(&mailbox_name("Job/Projects"))
            && subscribed.contains(&mailbox_name("Work"))
            && subscribed.contains(&mailbox_name("Work/Projects")),
        "a rename subscribes the new names and keeps the old: {subscribed:?}"
    );
    let names: Vec<String> = ok(store.mailboxes(ann).await, "mailboxes")
        .into_iter()
        .map(|m| m.name.to_string())
        .collect();
    for expected in ["Job", "Job/Projects", "Job/Projects/Old", "Workshop"] {
        assert!(
            names.contains(&expected.to_string()),
            "{expected} in {names:?}"
        );
    }
    assert!(!names.iter().any(|n| n == "Work" || n.starts_with("Work/")));
    let renamed = mailbox(store, ann, "Job/Projects/Old").await;
    assert_eq!(renamed.id, old.id, "a rename keeps the mailbox");
    assert_eq!(renamed.uid_validity, old.uid_validity);
    assert_eq!(renamed.exists, 1, "and its messages");

    // INBOX: its messages move to a new mailbox; INBOX stays, empty.
    let inbox = mailbox(store, ann, "INBOX").await;
    let count = inbox.exists;
    assert!(count > 0);
    ok(
        store
            .rename_mailbox(ann, &mailbox_name("INBOX"), &mailbox_name("Old Inbox"))
            .await,
        "rename INBOX",
    );
    let inbox_after = mailbox(store, ann, "INBOX").await;
    assert_eq!(inbox_after.id, inbox.id, "INBOX stays");
    assert_eq!(inbox_after.exists, 0, "INBOX is empty after its rename");
    assert!(
        inbox_after.uid_next >= inbox.uid_next,
        "UIDs are not reused"
    );
    assert_eq!(mailbox(store, ann, "Old Inbox").await.exists, count);
    assert_counts(store, inbox.id, "after renaming INBOX").await;
    assert_counts(
        store,
        mailbox(store, ann, "Old Inbox").await.id,
        "in the renamed INBOX",
    )
    .await;

    invalid(
        store.delete_mailbox(ann, &mailbox_name("INBOX")).await,
        "deleting INBOX",
    );
    not_found(
        store.delete_mailbox(ann, &mailbox_name("Nope")).await,
        "Nope",
        "deleting a missing mailbox",
    );
    ok(
        store
            .delete_mailbox(ann, &mailbox_name("Job/Projects"))
            .await,
        "delete",
    );
    assert!(
        ok(
            store.mailbox(ann, &mailbox_name("Job/Projects")).await,
            "mailbox"
        )
        .is_none()
    );
    assert_eq!(
        mailbox(store, ann, "Job/Projects/Old").await.exists,
        1,
        "children are kept"
    );
}

async fn subscriptions(store: &dyn Store, ann: AccountId) {
    let bob = new_account(store, "bob@imap.test").await;
    let mut defaults: Vec<String> = ok(store.subscriptions(bob).await, "subscriptions")
        .iter()
        .map(|n| n.to_string())
        .collect();
    defaults.sort();
    assert_eq!(
        defaults,
        ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"],
        "a new account's mailboxes are subscribed"
    );
    for name in ok(store.subscriptions(ann).await, "subscriptions") {
        ok(store.set_subscribed(ann, &name, false).await, "unsubscribe");
    }
    assert!(ok(store.subscriptions(ann).await, "subscriptions").is_empty());
    for name in ["Sent", "Does/Not/Exist", "Sent"] {
        ok(
            store.set_subscribed(ann, &mailbox_name(name), true).await,
            "subscribe",
        );
    }
    assert_eq!(
        ok(store.subscriptions(ann).await, "subscriptions"),
        [mailbox_name("Does/Not/Exist"), mailbox_name("Sent")]
    );
    ok(
        store
            .set_subscribed(ann, &mailbox_name("Sent"), false)
            .await,
        "unsubscribe",
    );
    ok(
        store
            .set_subscribed(ann, &mailbox_name("Sent"), false)
            .await,
        "unsubscribe twice",
    );
    assert_eq!(
        ok(store.subscriptions(ann).await, "subscriptions"),
        [mailbox_name("Does/Not/Exist")]
    );
}
