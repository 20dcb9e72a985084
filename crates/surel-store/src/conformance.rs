//! The conformance suite: what any [`Store`] backend must do. A backend is done when `run` passes.
//!
//! `run` takes an empty store (a fresh temporary directory or database) and panics on the first
//! violation, naming it. It uses only the trait, so every backend runs the same checks. Each check
//! works in domains of its own, so checks do not see one another's accounts and mail.
//!
//! Beyond the trait's own docs, the suite pins down these choices:
//! - Lists are sorted by their lowercase key: domains by name, accounts by [`Address::key`],
//!   aliases by [`AliasSource::key`] (`@domain` sorts before `user@domain`), mailboxes by name.
//! - An account keeps its address as given; lookups ignore the local part's case.
//! - Asking for the mailboxes of a missing account, or the messages, flags or expunge of a missing
//!   mailbox, is `NotFound`, not an empty answer.
//! - An alias needs at least one target (`Invalid` otherwise).
//! - Delivered bytes are stored once per content: equal bytes get equal blob ids.
//! - Flags come back sorted as [`Flag`] orders them; INTERNALDATE keeps at least whole seconds.
//! - Each committed change reaches the feed of its own account, and of no other.
//! - The outbound queue's choices are listed in the `queue` submodule.
//! - DKIM keys: the `dkim` submodule.
//! - What IMAP needs (APPEND, ranges, MODSEQ queries, COPY/MOVE, rename/delete, subscriptions):
//!   the `imap` submodule.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use chrono::{DateTime, Utc};
use surel_types::{AccountId, Address, BlobId, Domain, MailboxId, MailboxName, SpecialUse, Uid};
use tokio::sync::broadcast;

mod dkim;
mod imap;
mod queue;

use crate::{
    Alias, AliasSource, Change, ChangeKind, DeliveryTarget, Flag, FlagOp, Lookup, Mailbox,
    NewMessage, Store, StoreError, StoreResult, Stored,
};

/// Runs every check against a fresh, empty store; panics (test failure) on the first violation.
pub async fn run(store: &dyn Store) {
    assert!(
        ok(store.domains().await, "domains").is_empty(),
        "the suite needs an empty store"
    );
    domains(store).await;
    accounts(store).await;
    aliases(store).await;
    mailboxes(store).await;
    delivery(store).await;
    concurrent_delivery(store).await;
    flags(store).await;
    expunge(store).await;
    change_feed(store).await;
    auth_results(store).await;
    queue::run(store).await;
    queue::delivered_and_queued_together(store).await;
    dkim::run(store).await;
    imap::run(store).await;
}

async fn domains(store: &dyn Store) {
    let (a, b) = (domain("dom-a.test"), domain("dom-b.test"));
    ok(store.add_domain(&b).await, "add_domain");
    ok(store.add_domain(&a).await, "add_domain");
    assert_eq!(
        ok(store.domains().await, "domains"),
        [a.clone(), b.clone()],
        "domains are sorted"
    );
    exists(
        store.add_domain(&domain("DOM-A.test")).await,
        "dom-a.test",
        "adding a domain twice",
    );
    assert!(ok(store.is_local_domain(&a).await, "is_local_domain"));
    assert!(!ok(
        store.is_local_domain(&domain("elsewhere.test")).await,
        "is_local_domain"
    ));

    let user = address("user@dom-a.test");
    ok(store.add_account(&user, "hash").await, "add_account");
    let alias = AliasSource::parse("info@dom-a.test").expect("alias source");
    ok(
        store.add_alias(&alias, std::slice::from_ref(&user)).await,
        "add_alias",
    );
    invalid(
        store.remove_domain(&a).await,
        "removing a domain that has an account",
    );
    assert!(
        ok(store.is_local_domain(&a).await, "is_local_domain"),
        "a refused removal changes nothing"
    );

    ok(store.remove_account(&user).await, "remove_account");
    ok(store.remove_domain(&a).await, "remove_domain");
    assert!(!ok(store.is_local_domain(&a).await, "is_local_domain"));
    assert_eq!(
        ok(store.lookup(&alias).await, "lookup"),
        None,
        "a domain's aliases go with it"
    );
    not_found(
        store.remove_domain(&a).await,
        "dom-a.test",
        "removing a missing domain",
    );

    // Adding the domain again does not bring its aliases back.
    ok(store.add_domain(&a).await, "add_domain");
    assert!(in_domain(ok(store.aliases().await, "aliases"), &a).is_empty());
    ok(store.remove_domain(&a).await, "remove_domain");
    ok(store.remove_domain(&b).await, "remove_domain");
    assert!(ok(store.domains().await, "domains").is_empty());
}

async fn accounts(store: &dyn Store) {
    let d = domain("acct.test");
    ok(store.add_domain(&d).await, "add_domain");
    not_found(
        store
            .add_account(&address("alice@nowhere.test"), "hash")
            .await,
        "nowhere.test",
        "an account in a domain that is not local",
    );

    let alice = address("Alice@acct.test");
    let id = ok(store.add_account(&alice, "hash-1").await, "add_account");
    exists(
        store.add_account(&address("ALICE@acct.test"), "hash").await,
        "alice@acct.test",
        "adding an account twice",
    );

    let account = ok(store.account(&address("aLiCe@acct.test")).await, "account")
        .expect("lookup ignores case");
    assert_eq!(account.id, id);
    assert_eq!(account.address, alice, "the address is kept as given");
    assert_eq!(account.password_hash, "hash-1");
    assert_eq!(
        ok(store.account_by_id(id).await, "account_by_id"),
        Some(account.clone())
    );
    assert_eq!(
        ok(
            store.account_by_id(AccountId(i64::MAX)).await,
            "account_by_id"
        ),
        None
    );
    assert_eq!(
        ok(store.account(&address("bob@acct.test")).await, "account"),
        None
    );
    assert_eq!(
        ok(
            store
                .lookup(&AliasSource::Address(address("ALICE@acct.test")))
                .await,
            "lookup"
        ),
        Some(Lookup::Account(id))
    );

    let bob = address("bob@acct.test");
    let bob_id = ok(store.add_account(&bob, "hash-b").await, "add_account");
    assert_ne!(bob_id, id);
    let listed: Vec<_> = ok(store.accounts().await, "accounts")
        .into_iter()
        .filter(|a| a.address.domain() == &d)
        .collect();
    assert_eq!(
        listed.iter().map(|a| a.id).collect::<Vec<_>>(),
        [id, bob_id],
        "accounts sorted by address"
    );

    // Default mailboxes, with their special use.
    let boxes = ok(store.mailboxes(id).await, "mailboxes");
    let names: Vec<&str> = boxes.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"],
        "default mailboxes, sorted"
    );
    for mailbox in &boxes {
        let expected = SpecialUse::DEFAULTS
            .iter()
            .find(|(_, n)| *n == mailbox.name.as_str())
            .map(|(u, _)| *u);
        assert_eq!(
            mailbox.special_use, expected,
            "special use of {}",
            mailbox.name
        );
        assert_eq!(mailbox.account, id);
        assert_ne!(mailbox.uid_validity, 0);
        assert_eq!(mailbox.uid_next, Uid(1));
        assert_eq!(mailbox.exists, 0);
    }
    assert_distinct_uid_validity(&boxes);
    let inbox =
        ok(store.mailbox(id, &mailbox_name("inbox")).await, "mailbox").expect("INBOX exists");
    assert!(inbox.name.is_inbox());
    assert_eq!(
        ok(store.mailbox(id, &mailbox_name("Nope")).await, "mailbox"),
        None
    );

    ok(
        store
            .set_password(&address("ALICE@acct.test"), "hash-2")
            .await,
        "set_password",
    );
    let account = ok(store.account(&alice).await, "account").expect("alice");
    assert_eq!(account.password_hash, "hash-2");
    not_found(
        store.set_password(&address("nobody@acct.test"), "h").await,
        "nobody@acct.test",
        "set_password",
    );

    ok(store.remove_account(&bob).await, "remove_account");
    assert_eq!(ok(store.account(&bob).await, "account"), None);
    assert_eq!(ok(store.account_by_id(bob_id).await, "account_by_id"), None);
    assert_eq!(
        ok(
            store.lookup(&AliasSource::Address(bob.clone())).await,
            "lookup"
        ),
        None
    );
    not_found(
        store.mailboxes(bob_id).await,
        &bob_id.to_string(),
        "mailboxes of a removed account",
    );
    not_found(
        store.remove_account(&bob).await,
        "bob@acct.test",
        "removing a missing account",
    );
    let again = ok(store.add_account(&bob, "hash-b").await, "add_account");
    assert!(
        again != bob_id && again != id,
        "account ids are never reused"
    );
}

async fn aliases(store: &dyn Store) {
    let d = domain("alias.test");
    ok(store.add_domain(&d).await, "add_domain");
    let carol = address("carol@alias.test");
    let carol_id = ok(store.add_account(&carol, "hash").await, "add_account");
    let sales = AliasSource::parse("Sales@alias.test").expect("alias source");
    let catch_all = AliasSource::parse("@alias.test").expect("alias source");
    let remote = address("x@remote.test");

    invalid(
        store.add_alias(&sales, &[]).await,
        "an alias without targets",
    );
    ok(
        store
            .add_alias(&sales, &[remote.clone(), carol.clone()])
            .await,
        "add_alias",
    );
    exists(
        store
            .add_alias(
                &AliasSource::parse("SALES@alias.test").expect("source"),
                std::slice::from_ref(&carol),
            )
            .await,
        "sales@alias.test",
        "adding an alias twice",
    );
    ok(
        store
            .add_alias(&catch_all, std::slice::from_ref(&carol))
            .await,
        "add_alias (catch-all)",
    );
    exists(
        store
            .add_alias(&catch_all, std::slice::from_ref(&carol))
            .await,
        "@alias.test",
        "adding a catch-all twice",
    );
    exists(
        store
            .add_alias(
                &AliasSource::Address(address("Carol@alias.test")),
                std::slice::from_ref(&remote),
            )
            .await,
        "carol@alias.test",
        "an alias named like an account",
    );
    exists(
        store
            .add_account(&address("sales@ALIAS.test"), "hash")
            .await,
        "sales@alias.test",
        "an account named like an alias",
    );
    not_found(
        store
            .add_alias(
                &AliasSource::parse("x@nonlocal.test").expect("source"),
                std::slice::from_ref(&carol),
            )
            .await,
        "nonlocal.test",
        "an alias in a domain that is not local",
    );
    not_found(
        store
            .add_alias(
                &AliasSource::parse("@nonlocal.test").expect("source"),
                std::slice::from_ref(&carol),
            )
            .await,
        "nonlocal.test",
        "a catch-all for a domain that is not local",
    );

    let sales_lower = AliasSource::parse("sAlEs@alias.test").expect("source");
    assert_eq!(
        ok(store.lookup(&sales_lower).await, "lookup"),
        Some(Lookup::Alias(vec![remote.clone(), carol.clone()])),
        "targets keep their order"
    );
    assert_eq!(
        ok(store.lookup(&catch_all).await, "lookup"),
        Some(Lookup::Alias(vec![carol.clone()]))
    );
    assert_eq!(
        ok(
            store.lookup(&AliasSource::Address(carol.clone())).await,
            "lookup"
        ),
        Some(Lookup::Account(carol_id))
    );
    let nobody = AliasSource::parse("nobody@alias.test").expect("source");
    assert_eq!(
        ok(store.lookup(&nobody).await, "lookup"),
        None,
        "lookup applies no catch-all"
    );
    let tagged = AliasSource::parse("carol+tag@alias.test").expect("source");
    assert_eq!(
        ok(store.lookup(&tagged).await, "lookup"),
        None,
        "lookup applies no plus-addressing"
    );

    let listed = in_domain(ok(store.aliases().await, "aliases"), &d);
    let keys: Vec<String> = listed.iter().map(|a| a.source.key()).collect();
    assert_eq!(
        keys,
        ["@alias.test", "sales@alias.test"],
        "aliases sorted by source"
    );
    assert_eq!(listed[1].targets, [remote.clone(), carol.clone()]);

    ok(store.remove_alias(&sales_lower).await, "remove_alias");
    assert_eq!(ok(store.lookup(&sales).await, "lookup"), None);
    not_found(
        store.remove_alias(&sales).await,
        "sales@alias.test",
        "removing a missing alias",
    );
    // The name is free again, for an account too.
    ok(
        store
            .add_account(&address("sales@alias.test"), "hash")
            .await,
        "add_account",
    );
}

async fn mailboxes(store: &dyn Store) {
    let dave = new_account(store, "dave@mbox.test").await;
    let work = ok(
        store
            .create_mailbox(dave, &mailbox_name("Work"), None)
            .await,
        "create_mailbox",
    );
    assert_eq!(work.name.as_str(), "Work");
    assert_eq!(work.account, dave);
    assert_eq!(work.special_use, None);
    assert_eq!(work.uid_next, Uid(1));
    assert_eq!(work.exists, 0);
    assert_ne!(work.uid_validity, 0);
    assert_eq!(
        ok(store.mailbox(dave, &mailbox_name("Work")).await, "mailbox"),
        Some(work.clone())
    );

    exists(
        store
            .create_mailbox(dave, &mailbox_name("Work"), None)
            .await,
        "Work",
        "creating a mailbox twice",
    );
    exists(
        store
            .create_mailbox(dave, &mailbox_name("inbox"), None)
            .await,
        "INBOX",
        "INBOX in another case",
    );
    ok(
        store
            .create_mailbox(dave, &mailbox_name("work"), None)
            .await,
        "names other than INBOX are case-sensitive",
    );
    let sub = ok(
        store
            .create_mailbox(dave, &mailbox_name("Work/Old"), Some(SpecialUse::Archive))
            .await,
        "create_mailbox",
    );
    assert_eq!(sub.special_use, Some(SpecialUse::Archive));
    not_found(
        store
            .create_mailbox(AccountId(i64::MAX), &mailbox_name("X"), None)
            .await,
        &i64::MAX.to_string(),
        "a mailbox for a missing account",
    );

    let boxes = ok(store.mailboxes(dave).await, "mailboxes");
    assert_eq!(boxes.len(), 9);
    assert!(
        boxes.windows(2).all(|w| w[0].name < w[1].name),
        "mailboxes sorted by name"
    );
    assert_distinct_uid_validity(&boxes);
    // Another account's mailboxes are its own.
    let other = new_account(store, "dave2@mbox.test").await;
    assert!(ok(store.mailbox(other, &mailbox_name("Work")).await, "mailbox").is_none());
}

async fn delivery(store: &dyn Store) {
    let erin = new_account(store, "erin@deliver.test").await;
    let frank = new_account(store, "frank@deliver.test").await;
    let erin_inbox = mailbox(store, erin, "INBOX").await;
    let erin_archive = mailbox(store, erin, "Archive").await;
    let frank_inbox = mailbox(store, frank, "INBOX").await;

    // One message to three mailboxes: stored once, one UID in each.
    let msg = message("one");
    let targets = [
        target(erin, "INBOX"),
        target(erin, "Archive"),
        target(frank, "INBOX"),
    ];
    let stored = ok(store.deliver(msg.clone(), &targets).await, "deliver");
    assert_eq!(stored.len(), 3, "one entry per target, in order");
    let mut blobs = BTreeSet::new();
    for (s, (account, before)) in stored.iter().zip([
        (erin, &erin_inbox),
        (erin, &erin_archive),
        (frank, &frank_inbox),
    ]) {
        assert_eq!(
            (s.account, s.mailbox, s.uid),
            (account, before.id, before.uid_next)
        );
        let after = ok(store.mailbox(account, &before.name).await, "mailbox").expect("mailbox");
        assert_eq!(
            after.uid_next,
            Uid(before.uid_next.0 + 1),
            "uid_next advances"
        );
        assert_eq!(after.exists, before.exists + 1, "exists advances");
        assert!(
            after.highest_modseq > before.highest_modseq,
            "highest_modseq advances"
        );
        assert_eq!(s.modseq, after.highest_modseq);
        assert_eq!(after.uid_validity, before.uid_validity);
        let messages = ok(store.messages(before.id).await, "messages");
        assert_eq!(messages.len(), 1);
        let meta = &messages[0];
        assert_eq!((meta.uid, meta.modseq), (s.uid, s.modseq));
        assert_eq!(meta.flags, []);
        assert_eq!(meta.internal_date, msg.internal_date);
        assert_eq!(meta.size, msg.bytes.len() as u64);
        blobs.insert(meta.blob.clone());
    }
    assert_eq!(blobs.len(), 1, "the bytes are stored once for every target");
    let blob = blobs.pop_first().expect("one blob");
    assert_eq!(
        ok(store.read_blob(&blob).await, "read_blob"),
        &*msg.bytes,
        "bytes read back equal"
    );

    // Equal bytes, equal blob; other bytes, another; UIDs ascend.
    let again = ok(
        store
            .deliver(message("one"), &[target(erin, "INBOX")])
            .await,
        "deliver",
    );
    let two = ok(
        store
            .deliver(message("two"), &[target(erin, "INBOX")])
            .await,
        "deliver",
    );
    assert!(
        stored[0].uid < again[0].uid && again[0].uid < two[0].uid,
        "UIDs ascend"
    );
    let metas = ok(store.messages(erin_inbox.id).await, "messages");
    assert_eq!(
        metas.iter().map(|m| m.uid).collect::<Vec<_>>(),
        [stored[0].uid, again[0].uid, two[0].uid]
    );
    assert_eq!(metas[1].blob, blob, "equal bytes share a blob");
    assert_ne!(metas[2].blob, blob);
    assert!(
        metas.windows(2).all(|w| w[0].modseq < w[1].modseq),
        "each arrival has a higher MODSEQ"
    );

    // Initial flags are kept, sorted.
    let mut flagged = message("flagged");
    flagged.flags = vec![Flag::Keyword("$Forwarded".into()), Flag::Seen];
    let s = ok(
        store.deliver(flagged, &[target(frank, "INBOX")]).await,
        "deliver",
    );
    let meta = message_meta(store, frank_inbox.id, s[0].uid).await;
    assert_eq!(meta.flags, [Flag::Seen, Flag::Keyword("$Forwarded".into())]);

    // A mailbox name the account does not have means its INBOX.
    let s = ok(
        store
            .deliver(message("lost"), &[target(frank, "No Such Box")])
            .await,
        "deliver",
    );
    assert_eq!(
        s[0].mailbox, frank_inbox.id,
        "delivery to a missing mailbox lands in INBOX"
    );

    // All or nothing: one bad target stores nothing anywhere.
    let before = mailbox(store, erin, "INBOX").await;
    let bad = [target(erin, "INBOX"), target(AccountId(i64::MAX), "INBOX")];
    not_found(
        store.deliver(message("partial"), &bad).await,
        &i64::MAX.to_string(),
        "delivery to a missing account",
    );
    assert_eq!(
        mailbox(store, erin, "INBOX").await,
        before,
        "a failed delivery leaves nothing visible"
    );

    let missing = BlobId::parse(&"0".repeat(64)).expect("blob id");
    not_found(
        store.read_blob(&missing).await,
        missing.as_str(),
        "reading a missing blob",
    );
    not_found(
        store.messages(MailboxId(i64::MAX)).await,
        &i64::MAX.to_string(),
        "messages of a missing mailbox",
    );
}

async fn concurrent_delivery(store: &dyn Store) {
    let gina = new_account(store, "gina@concurrent.test").await;
    let hank = new_account(store, "hank@concurrent.test").await;
    const N: usize = 50;
    let futures: Vec<BoxFuture<'_, StoreResult<Vec<Stored>>>> = (0..N)
        .map(|i| {
            let mut targets = vec![target(gina, "INBOX")];
            if i % 5 == 0 {
                targets.push(target(hank, "INBOX"));
            }
            let fut: BoxFuture<'_, _> = Box::pin(async move {
                store
                    .deliver(message(&format!("concurrent {i}")), &targets)
                    .await
            });
            fut
        })
        .collect();
    let results = join_all(futures).await;

    let gina_inbox = mailbox(store, gina, "INBOX").await;
    let metas = ok(store.messages(gina_inbox.id).await, "messages");
    assert_eq!(metas.len(), N, "every concurrent delivery landed");
    assert!(
        metas.windows(2).all(|w| w[0].uid < w[1].uid),
        "distinct ascending UIDs"
    );
    assert!(
        metas.windows(2).all(|w| w[0].modseq < w[1].modseq),
        "MODSEQ ascends with UID"
    );
    assert!(gina_inbox.uid_next > metas[N - 1].uid);
    assert_eq!(gina_inbox.exists as usize, N);
    let mut uids = BTreeSet::new();
    for (i, result) in results.into_iter().enumerate() {
        let stored = ok(result, "concurrent deliver");
        assert_eq!(stored.len(), if i % 5 == 0 { 2 } else { 1 });
        assert!(
            uids.insert(stored[0].uid),
            "UID {} given twice",
            stored[0].uid
        );
        let meta = metas
            .iter()
            .find(|m| m.uid == stored[0].uid)
            .expect("stored UID is listed");
        let bytes = ok(store.read_blob(&meta.blob).await, "read_blob");
        assert_eq!(
            bytes,
            &*message(&format!("concurrent {i}")).bytes,
            "message {i} has its own bytes"
        );
    }
    assert_eq!(mailbox(store, hank, "INBOX").await.exists as usize, N / 5);
}

async fn flags(store: &dyn Store) {
    let ivan = new_account(store, "ivan@flags.test").await;
    let inbox = mailbox(store, ivan, "INBOX").await.id;
    let mut uids = Vec::new();
    for i in 0..3 {
        uids.push(
            ok(
                store
                    .deliver(message(&format!("f{i}")), &[target(ivan, "INBOX")])
                    .await,
                "deliver",
            )[0]
            .uid,
        );
    }
    let (u1, u2, u3) = (uids[0], uids[1], uids[2]);
    let label = Flag::Keyword("$Label1".into());

    let before = mailbox(store, ivan, "INBOX").await.highest_modseq;
    let metas = ok(
        store
            .set_flags(inbox, &[u1, u2], FlagOp::Add, &[Flag::Seen, label.clone()])
            .await,
        "set_flags",
    );
    assert_eq!(metas.iter().map(|m| m.uid).collect::<Vec<_>>(), [u1, u2]);
    for meta in &metas {
        assert_eq!(meta.flags, [Flag::Seen, label.clone()]);
        assert!(
            meta.modseq > before,
            "a flag change raises the message's MODSEQ"
        );
    }
    let after = mailbox(store, ivan, "INBOX").await.highest_modseq;
    assert_eq!(
        after,
        metas.iter().map(|m| m.modseq).max().expect("two"),
        "HIGHESTMODSEQ follows"
    );
    assert_eq!(
        message_meta(store, inbox, u3).await.flags,
        [],
        "other messages are untouched"
    );

    let metas = ok(
        store
            .set_flags(inbox, &[u1], FlagOp::Remove, &[Flag::Seen])
            .await,
        "set_flags",
    );
    assert_eq!(metas[0].flags, std::slice::from_ref(&label));
    assert!(metas[0].modseq > after);
    let after = metas[0].modseq;

    let replaced = [Flag::Draft, Flag::Keyword("$X".into()), Flag::Flagged];
    let metas = ok(
        store
            .set_flags(inbox, &[u2, u1], FlagOp::Replace, &replaced)
            .await,
        "set_flags",
    );
    assert_eq!(
        metas.iter().map(|m| m.uid).collect::<Vec<_>>(),
        [u1, u2],
        "results ascend by UID"
    );
    for meta in &metas {
        assert_eq!(
            meta.flags,
            [Flag::Flagged, Flag::Draft, Flag::Keyword("$X".into())],
            "flags come back sorted"
        );
        assert!(meta.modseq > after);
    }
    let metas = ok(
        store
            .set_flags(inbox, &[u1], FlagOp::Remove, &[Flag::Keyword("$X".into())])
            .await,
        "set_flags",
    );
    assert_eq!(
        metas[0].flags,
        [Flag::Flagged, Flag::Draft],
        "keywords can be removed"
    );

    let metas = ok(
        store
            .set_flags(inbox, &[u3, Uid(999_999)], FlagOp::Add, &[Flag::Deleted])
            .await,
        "set_flags",
    );
    assert_eq!(metas.len(), 1, "only messages that exist are returned");
    assert_eq!((metas[0].uid, &metas[0].flags), (u3, &vec![Flag::Deleted]));
    assert_eq!(
        message_meta(store, inbox, u3).await,
        metas[0],
        "the change is stored"
    );
    not_found(
        store
            .set_flags(MailboxId(i64::MAX), &[u1], FlagOp::Add, &[Flag::Seen])
            .await,
        &i64::MAX.to_string(),
        "flags in a missing mailbox",
    );
}

async fn expunge(store: &dyn Store) {
    let judy = new_account(store, "judy@expunge.test").await;
    let inbox = mailbox(store, judy, "INBOX").await;
    let mut uids = Vec::new();
    for i in 0..3 {
        uids.push(
            ok(
                store
                    .deliver(message(&format!("e{i}")), &[target(judy, "INBOX")])
                    .await,
                "deliver",
            )[0]
            .uid,
        );
    }
    let (a, b, c) = (uids[0], uids[1], uids[2]);
    let before = mailbox(store, judy, "INBOX").await;

    assert_eq!(
        ok(store.expunge(inbox.id, &[b, Uid(999_999)]).await, "expunge"),
        [b],
        "only present UIDs"
    );
    let after = mailbox(store, judy, "INBOX").await;
    assert_eq!(
        ok(store.messages(inbox.id).await, "messages")
            .iter()
            .map(|m| m.uid)
            .collect::<Vec<_>>(),
        [a, c]
    );
    assert_eq!(after.exists, 2);
    assert_eq!(
        after.uid_next, before.uid_next,
        "expunge does not move uid_next"
    );
    assert!(
        after.highest_modseq > before.highest_modseq,
        "an expunge is a change"
    );
    assert_eq!(ok(store.expunge(inbox.id, &[]).await, "expunge"), []);

    let d = ok(
        store.deliver(message("e3"), &[target(judy, "INBOX")]).await,
        "deliver",
    )[0]
    .uid;
    assert!(d > c, "UIDs are not reused after an expunge");
    assert_eq!(
        ok(store.expunge(inbox.id, &[d, c, a]).await, "expunge"),
        [a, c, d],
        "removed UIDs ascend"
    );
    assert!(ok(store.messages(inbox.id).await, "messages").is_empty());
    let e = ok(
        store.deliver(message("e4"), &[target(judy, "INBOX")]).await,
        "deliver",
    )[0]
    .uid;
    assert!(e > d, "UIDs are not reused after emptying a mailbox");
    not_found(
        store.expunge(MailboxId(i64::MAX), &[a]).await,
        &i64::MAX.to_string(),
        "expunge in a missing mailbox",
    );
}

async fn change_feed(store: &dyn Store) {
    let kim = new_account(store, "kim@changes.test").await;
    let lee = new_account(store, "lee@changes.test").await;
    let kim_inbox = mailbox(store, kim, "INBOX").await.id;
    let lee_inbox = mailbox(store, lee, "INBOX").await.id;
    let mut kim_feed = store.changes(kim);
    let mut lee_feed = store.changes(lee);

    let s = ok(
        store.deliver(message("c1"), &[target(kim, "INBOX")]).await,
        "deliver",
    )[0]
    .clone();
    let change = next_change(&mut kim_feed).await;
    assert_eq!(
        change,
        Change {
            mailbox: kim_inbox,
            modseq: s.modseq,
            kind: ChangeKind::Appended(s.uid)
        }
    );

    let meta = ok(
        store
            .set_flags(kim_inbox, &[s.uid], FlagOp::Add, &[Flag::Seen])
            .await,
        "set_flags",
    )
    .remove(0);
    let change = next_change(&mut kim_feed).await;
    assert_eq!(
        change,
        Change {
            mailbox: kim_inbox,
            modseq: meta.modseq,
            kind: ChangeKind::Flags(vec![s.uid])
        }
    );

    ok(store.expunge(kim_inbox, &[s.uid]).await, "expunge");
    let highest = mailbox(store, kim, "INBOX").await.highest_modseq;
    let change = next_change(&mut kim_feed).await;
    assert_eq!(
        change,
        Change {
            mailbox: kim_inbox,
            modseq: highest,
            kind: ChangeKind::Expunged(vec![s.uid])
        }
    );

    assert!(
        matches!(
            lee_feed.try_recv(),
            Err(broadcast::error::TryRecvError::Empty)
        ),
        "another account's changes are not on this feed"
    );
    let s = ok(
        store.deliver(message("c2"), &[target(lee, "INBOX")]).await,
        "deliver",
    )[0]
    .clone();
    let change = next_change(&mut lee_feed).await;
    assert_eq!(
        change,
        Change {
            mailbox: lee_inbox,
            modseq: s.modseq,
            kind: ChangeKind::Appended(s.uid)
        }
    );
    assert!(matches!(
        kim_feed.try_recv(),
        Err(broadcast::error::TryRecvError::Empty)
    ));
}

#[track_caller]
fn ok<T>(result: StoreResult<T>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{what}: unexpected error: {e}"),
    }
}

#[track_caller]
fn not_found<T: Debug>(result: StoreResult<T>, naming: &str, what: &str) {
    match result {
        Err(StoreError::NotFound(thing)) if names(&thing, naming) => {}
        other => panic!("{what}: expected NotFound naming {naming:?}, got {other:?}"),
    }
}

#[track_caller]
fn exists<T: Debug>(result: StoreResult<T>, naming: &str, what: &str) {
    match result {
        Err(StoreError::Exists(thing)) if names(&thing, naming) => {}
        other => panic!("{what}: expected Exists naming {naming:?}, got {other:?}"),
    }
}

/// Whether an error's text names the thing (addresses and domains compare case-insensitively).
fn names(text: &str, thing: &str) -> bool {
    text.to_lowercase().contains(&thing.to_lowercase())
}

#[track_caller]
fn invalid<T: Debug>(result: StoreResult<T>, what: &str) {
    match result {
        Err(StoreError::Invalid(_)) => {}
        other => panic!("{what}: expected Invalid, got {other:?}"),
    }
}

fn domain(text: &str) -> Domain {
    Domain::parse(text).expect("test domain")
}

fn address(text: &str) -> Address {
    Address::parse(text).expect("test address")
}

fn mailbox_name(text: &str) -> MailboxName {
    MailboxName::parse(text).expect("test mailbox name")
}

fn target(account: AccountId, mailbox: &str) -> DeliveryTarget {
    DeliveryTarget {
        account,
        mailbox: mailbox_name(mailbox),
    }
}

/// A message with its text in the subject and body. INTERNALDATE is whole seconds, which every
/// backend keeps exactly.
fn message(text: &str) -> NewMessage {
    let bytes = format!("From: a@example.test\r\nSubject: {text}\r\n\r\n{text}\r\n").into_bytes();
    let internal_date = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("fixed date");
    NewMessage {
        bytes: Arc::from(bytes),
        internal_date,
        flags: Vec::new(),
        auth_results: None,
    }
}

fn in_domain(aliases: Vec<Alias>, domain: &Domain) -> Vec<Alias> {
    aliases
        .into_iter()
        .filter(|a| a.source.domain() == domain)
        .collect()
}

/// Authentication results given at delivery come back with the message; none stays none.
async fn auth_results(store: &dyn Store) {
    let gina = new_account(store, "gina@authres.test").await;
    let inbox = mailbox(store, gina, "INBOX").await;
    let mut checked = message("checked");
    checked.auth_results = Some("mx.authres.test;\r\n\tspf=pass smtp.mailfrom=a@b.test".into());
    let stored = ok(
        store
            .deliver(checked.clone(), &[target(gina, "INBOX")])
            .await,
        "deliver",
    );
    let meta = message_meta(store, inbox.id, stored[0].uid).await;
    assert_eq!(meta.auth_results, checked.auth_results, "kept as given");
    let stored = ok(
        store
            .deliver(message("unchecked"), &[target(gina, "INBOX")])
            .await,
        "deliver",
    );
    let meta = message_meta(store, inbox.id, stored[0].uid).await;
    assert_eq!(meta.auth_results, None);
}

/// Adds an account (and its domain, if new) and returns its id.
async fn new_account(store: &dyn Store, text: &str) -> AccountId {
    let address = address(text);
    if !ok(
        store.is_local_domain(address.domain()).await,
        "is_local_domain",
    ) {
        ok(store.add_domain(address.domain()).await, "add_domain");
    }
    ok(store.add_account(&address, "hash").await, "add_account")
}

async fn mailbox(store: &dyn Store, account: AccountId, name: &str) -> Mailbox {
    ok(store.mailbox(account, &mailbox_name(name)).await, "mailbox")
        .unwrap_or_else(|| panic!("mailbox {name}"))
}

async fn message_meta(store: &dyn Store, mailbox: MailboxId, uid: Uid) -> crate::MessageMeta {
    let messages = ok(store.messages(mailbox).await, "messages");
    messages
        .into_iter()
        .find(|m| m.uid == uid)
        .unwrap_or_else(|| panic!("message {uid}"))
}

fn assert_distinct_uid_validity(boxes: &[Mailbox]) {
    let values: BTreeSet<u32> = boxes.iter().map(|m| m.uid_validity).collect();
    assert_eq!(
        values.len(),
        boxes.len(),
        "every mailbox has its own UIDVALIDITY: {boxes:?}"
    );
}

/// The next change on a feed. Published before the changing method returned, so it is there at
/// once; the timeout only turns a missing change into a failure instead of a hang.
async fn next_change(feed: &mut broadcast::Receiver<Change>) -> Change {
    match tokio::time::timeout(Duration::from_secs(10), feed.recv()).await {
        Ok(Ok(change)) => change,
        Ok(Err(e)) => panic!("change feed failed: {e}"),
        Err(_) => panic!("no change arrived on the feed"),
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Polls every future at once on this task, so the store sees them as concurrent callers.
async fn join_all<T>(futures: Vec<BoxFuture<'_, T>>) -> Vec<T> {
    let mut pending: Vec<_> = futures.into_iter().map(Some).collect();
    let mut done: Vec<Option<T>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut finished = true;
        for (slot, out) in pending.iter_mut().zip(done.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => {
                        *out = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => finished = false,
                }
            }
        }
        if finished {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    done.into_iter().flatten().collect()
}
