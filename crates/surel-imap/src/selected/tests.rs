use std::sync::Arc;

use surel_imap_proto::{FetchItem, SearchKey, SearchReturn, Section, SeqNum, SequenceSet, StoreOp};
use surel_store::{DeliveryTarget, FlagOp, Mailbox, NewMessage, Store};
use surel_store_sqlite::SqliteStore;
use surel_types::{AccountId, Address, Domain, MailboxName, ModSeq, Uid};

use super::*;
use crate::output::Output;
use crate::response::Kind;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    account: AccountId,
}

const REV1: Enabled = Enabled {
    rev2: false,
    utf8: false,
    condstore: false,
    qresync: false,
};
const QRESYNC: Enabled = Enabled {
    rev2: true,
    utf8: true,
    condstore: true,
    qresync: true,
};

impl Fixture {
    async fn new(messages: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        store
            .add_domain(&Domain::parse("imap.test").unwrap())
            .await
            .unwrap();
        let account = store
            .add_account(&Address::parse("pat@imap.test").unwrap(), "not-a-hash")
            .await
            .unwrap();
        let f = Fixture {
            _dir: dir,
            store,
            account,
        };
        for n in 0..messages {
            f.deliver(&format!("Subject: m{n}\r\n\r\nbody {n}\r\n"))
                .await;
        }
        f
    }

    async fn deliver(&self, text: &str) -> u32 {
        let message = NewMessage {
            bytes: Arc::from(text.as_bytes()),
            internal_date: chrono::Utc::now(),
            flags: Vec::new(),
            auth_results: None,
        };
        let target = DeliveryTarget {
            account: self.account,
            mailbox: MailboxName::inbox(),
        };
        let stored = self.store.deliver(message, &[target]).await.unwrap();
        stored[0].uid.0
    }

    async fn mailbox(&self, name: &str) -> Mailbox {
        let name = MailboxName::parse(name).unwrap();
        self.store
            .mailbox(self.account, &name)
            .await
            .unwrap()
            .unwrap()
    }

    async fn open(&self, read_only: bool, enabled: &Enabled) -> (Selected, Done, String) {
        let inbox = self.mailbox("INBOX").await;
        let mut out = Vec::new();
        let (s, done) = Selected::open(
            self.store.as_ref(),
            inbox,
            read_only,
            false,
            None,
            enabled,
            &mut out,
        )
        .await
        .unwrap();
        (s, done, text(out))
    }

    /// Another session's change.
    async fn other_flags(&self, uids: &[u32], op: FlagOp, flags: &[Flag]) {
        let inbox = self.mailbox("INBOX").await;
        let uids: Vec<Uid> = uids.iter().map(|&u| Uid(u)).collect();
        self.store
            .store_flags(inbox.id, &uids, op, flags, None)
            .await
            .unwrap();
    }

    async fn other_expunge(&self, uids: &[u32]) {
        let inbox = self.mailbox("INBOX").await;
        let uids: Vec<Uid> = uids.iter().map(|&u| Uid(u)).collect();
        self.store.expunge(inbox.id, &uids).await.unwrap();
    }

    async fn flags_of(&self, uid: u32) -> Vec<Flag> {
        let inbox = self.mailbox("INBOX").await;
        let rows = self
            .store
            .message_rows(inbox.id, &[(Uid(uid), Uid(uid))], false)
            .await
            .unwrap();
        rows[0].meta.flags.clone()
    }
}

fn text(out: impl Into<Vec<u8>>) -> String {
    String::from_utf8(out.into()).unwrap()
}

fn seqs(list: &[(u32, u32)]) -> SequenceSet {
    SequenceSet::Ranges(
        list.iter()
            .map(|&(a, b)| (SeqNum::Value(a), SeqNum::Value(b)))
            .collect(),
    )
}

fn all() -> SequenceSet {
    SequenceSet::Ranges(vec![(SeqNum::Value(1), SeqNum::Largest)])
}

async fn refresh(f: &Fixture, s: &mut Selected, enabled: &Enabled, expunge: bool) -> String {
    let mut out = Vec::new();
    s.refresh(f.store.as_ref(), enabled, expunge, &mut out)
        .await
        .unwrap();
    text(out)
}

async fn fetch_flags(
    f: &Fixture,
    s: &mut Selected,
    uid: bool,
    set: &SequenceSet,
) -> (Done, String) {
    let mut out = Output::buffer();
    let done = s
        .fetch(
            f.store.as_ref(),
            &REV1,
            uid,
            set,
            &[FetchItem::Flags],
            None,
            false,
            &mut out,
        )
        .await
        .unwrap();
    (done, text(out))
}

#[tokio::test]
async fn select_answers_in_rfc_order() {
    let f = Fixture::new(3).await;
    let (s, done, out) = f.open(false, &REV1).await;
    let inbox = f.mailbox("INBOX").await;
    let expected = format!(
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
         * 3 EXISTS\r\n\
         * 0 RECENT\r\n\
         * OK [UIDVALIDITY {}] UIDs valid\r\n\
         * OK [UIDNEXT 4] Predicted next UID\r\n\
         * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\r\n\
         * OK [HIGHESTMODSEQ {}] Highest\r\n\
         * OK [UNSEEN 1] First unseen\r\n",
        inbox.uid_validity, inbox.highest_modseq.0
    );
    assert_eq!(out, expected);
    assert_eq!(done.code.as_deref(), Some("READ-WRITE"));
    assert_eq!(s.exists(), 3);
}

#[tokio::test]
async fn examine_is_read_only_and_refuses_changes() {
    let f = Fixture::new(2).await;
    let rev2 = Enabled { rev2: true, ..REV1 };
    let (mut s, done, out) = f.open(true, &rev2).await;
    assert_eq!(done.code.as_deref(), Some("READ-ONLY"));
    assert!(out.contains("* OK [PERMANENTFLAGS ()]"));
    assert!(!out.contains("RECENT"), "{out}");
    assert!(!out.contains("UNSEEN"), "{out}");
    let store = f.store.as_ref();
    let mut out = Vec::new();
    let done = s
        .store(
            store,
            &rev2,
            false,
            &all(),
            StoreOp::Add,
            false,
            &[WireFlag::Deleted],
            None,
            &mut out,
        )
        .await
        .unwrap();
    assert_eq!(done.kind, Kind::No);
    let done = s.expunge(store, &rev2, None, &mut out).await.unwrap();
    assert_eq!(done.kind, Kind::No);
    let trash = f.mailbox("Trash").await;
    let done = s
        .copy(store, &rev2, false, &all(), &trash, true, &mut out)
        .await
        .unwrap();
    assert_eq!(done.kind, Kind::No);
    assert!(out.is_empty());
    // COPY out of a read-only mailbox is fine.
    let done = s
        .copy(store, &rev2, false, &all(), &trash, false, &mut out)
        .await
        .unwrap();
    assert_eq!(done.kind, Kind::Ok);
    // BODY[] in EXAMINE does not set \Seen.
    let body = FetchItem::BodySection {
        peek: false,
        section: Section::default(),
        partial: None,
    };
    s.fetch(
        store,
        &rev2,
        false,
        &all(),
        &[body],
        None,
        false,
        &mut Output::buffer(),
    )
    .await
    .unwrap();
    assert!(!f.flags_of(1).await.contains(&Flag::Seen));
}

#[tokio::test]
async fn sequence_number_beyond_exists_is_bad() {
    let f = Fixture::new(2).await;
    let (mut s, _, _) = f.open(false, &REV1).await;
    let (done, out) = fetch_flags(&f, &mut s, false, &seqs(&[(1, 3)])).await;
    assert_eq!(done.kind, Kind::Bad);
    assert!(out.is_empty());
    // A UID range past the end is not an error.
    let (done, out) = fetch_flags(&f, &mut s, true, &seqs(&[(7, 9)])).await;
    assert_eq!(done.kind, Kind::Ok);
    assert!(out.is_empty());
}

#[tokio::test]
async fn expunges_by_another_session_wait_and_renumber() {
    let f = Fixture::new(5).await;
    let (mut s, _, _) = f.open(false, &REV1).await;
    f.other_expunge(&[2, 4]).await;

    // During FETCH/STORE/SEARCH no EXPUNGE: the messages stay addressable and answer nothing.
    assert_eq!(refresh(&f, &mut s, &REV1, false).await, "");
    assert_eq!(s.exists(), 5);
    let (done, out) = fetch_flags(&f, &mut s, false, &seqs(&[(1, 5)])).await;
    assert_eq!(done.kind, Kind::Ok);
    assert_eq!(out.matches(" FETCH ").count(), 3, "{out}");
    assert!(out.contains("* 5 FETCH"), "{out}");
    assert!(
        !out.contains("* 2 FETCH") && !out.contains("* 4 FETCH"),
        "{out}"
    );
    let mut out = Vec::new();
    let done = s
        .store(
            f.store.as_ref(),
            &REV1,
            false,
            &seqs(&[(4, 4)]),
            StoreOp::Add,
            false,
            &[WireFlag::Flagged],
            None,
            &mut out,
        )
        .await
        .unwrap();
    assert_eq!(done.kind, Kind::Ok);
    assert!(out.is_empty(), "{}", text(out));

    // Highest first, so each number is still the one the client knows.
    assert_eq!(
        refresh(&f, &mut s, &REV1, true).await,
        "* 4 EXPUNGE\r\n* 2 EXPUNGE\r\n"
    );
    assert_eq!(s.exists(), 3);
    assert_eq!(refresh(&f, &mut s, &REV1, true).await, "");
}

#[tokio::test]
async fn vanished_replaces_expunge_under_qresync() {
    let f = Fixture::new(5).await;
    let (mut s, _, _) = f.open(false, &QRESYNC).await;
    f.other_expunge(&[2, 3, 5]).await;
    assert_eq!(refresh(&f, &mut s, &QRESYNC, false).await, "");
    assert_eq!(
        refresh(&f, &mut s, &QRESYNC, true).await,
        "* VANISHED 2:3,5\r\n"
    );
    assert_eq!(s.exists(), 2);
}

#[tokio::test]
async fn qresync_select_reports_vanished_earlier_and_changes() {
    let f = Fixture::new(4).await;
    let before = f.mailbox("INBOX").await;
    f.other_expunge(&[2]).await;
    f.other_flags(&[3], FlagOp::Add, &[Flag::Flagged]).await;
    let params = QresyncParams {
        uid_validity: before.uid_validity,
        modseq: before.highest_modseq.0,
        known_uids: None,
        seq_match: None,
    };
    let mut out = Vec::new();
    let (s, _) = Selected::open(
        f.store.as_ref(),
        f.mailbox("INBOX").await,
        false,
        false,
        Some(&params),
        &QRESYNC,
        &mut out,
    )
    .await
    .unwrap();
    let out = text(out);
    assert!(out.contains("* VANISHED (EARLIER) 2\r\n"), "{out}");
    assert!(out.contains("* 2 FETCH ("), "{out}");
    assert!(out.contains("UID 3"), "{out}");
    assert_eq!(out.matches(" FETCH ").count(), 1, "{out}");
    assert_eq!(s.exists(), 3);

    // A stale UIDVALIDITY gets no resync data.
    let params = QresyncParams {
        uid_validity: before.uid_validity.wrapping_add(1),
        ..params
    };
    let mut out = Vec::new();
    Selected::open(
        f.store.as_ref(),
        before,
        false,
        false,
        Some(&params),
        &QRESYNC,
        &mut out,
    )
    .await
    .unwrap();
    let out = text(out);
    assert!(!out.contains("VANISHED") && !out.contains("FETCH"), "{out}");
}

#[tokio::test]
async fn new_mail_and_flag_changes_by_others_are_told_own_are_not() {
    let f = Fixture::new(2).await;
    let (mut s, _, _) = f.open(false, &REV1).await;
    assert_eq!(refresh(&f, &mut s, &REV1, true).await, "");

    f.deliver("Subject: new\r\n\r\nhi\r\n").await;
    f.other_flags(&[1], FlagOp::Add, &[Flag::Answered]).await;
    let out = refresh(&f, &mut s, &REV1, false).await;
    assert!(out.starts_with("* 3 EXISTS\r\n"), "{out}");
    assert!(out.contains("* 1 FETCH ("), "{out}");
    assert!(out.contains("\\Answered"), "{out}");
    assert_eq!(s.exists(), 3);

    let mut out = Vec::new();
    s.store(
        f.store.as_ref(),
        &REV1,
        false,
        &seqs(&[(2, 2)]),
        StoreOp::Add,
        false,
        &[WireFlag::Flagged],
        None,
        &mut out,
    )
    .await
    .unwrap();
    let out = text(out);
    assert!(out.starts_with("* 2 FETCH ("), "{out}");
    assert!(out.contains("\\Flagged"), "{out}");
    // Our own STORE is not repeated; a later change by someone else is.
    assert_eq!(refresh(&f, &mut s, &REV1, true).await, "");
    f.other_flags(&[2], FlagOp::Add, &[Flag::Seen]).await;
    let out = refresh(&f, &mut s, &REV1, true).await;
    assert!(out.starts_with("* 2 FETCH ("), "{out}");
}

#[tokio::test]
async fn silent_store_says_nothing_without_condstore() {
    let f = Fixture::new(2).await;
    let (mut s, _, _) = f.open(false, &REV1).await;
    let mut out = Vec::new();
    let done = s
        .store(
            f.store.as_ref(),
            &REV1,
            false,
            &all(),
            StoreOp::Add,
            true,
            &[WireFlag::Seen],
            None,
            &mut out,
        )
        .await
        .unwrap();
    assert_eq!(done.kind, Kind::Ok);
    assert!(out.is_empty());
    assert!(f.flags_of(2).await.contains(&Flag::Seen));
    let done = s
        .store(
            f.store.as_ref(),
            &REV1,
            false,
            &all(),
            StoreOp::Add,
            true,
            &[WireFlag::Recent],
            None,
            &mut out,
        )
        .await
        .unwrap();
    assert_eq!(done.kind, Kind::Bad);
}

#[tokio::test]
async fn unchangedsince_failure_is_modified() {
    let f = Fixture::new(3).await;
    let (mut s, _, _) = f.open(false, &REV1).await;
    let known = f.mailbox("INBOX").await.highest_modseq.0;
    f.other_flags(&[2], FlagOp::Add, &[Flag::Answered]).await;
    let mut out = Vec::new();
    let done = s
        .store(
            f.store.as_ref(),
            &REV1,
            false,
            &all(),
            StoreOp::Add,
            true,
            &[WireFlag::Flagged],
            Some(known),
            &mut out,
        )
        .await
        .unwrap();
    assert_eq!(done.kind, Kind::Ok);
    assert_eq!(done.code.as_deref(), Some("MODIFIED 2"));
    // RFC 7162 §3.1.3: silent, yet the stored ones report their new MODSEQ.
    let out = text(out);
    assert_eq!(out.matches(" FETCH ").count(), 2, "{out}");
    assert!(out.contains("MODSEQ"), "{out}");
    assert!(!f.flags_of(2).await.contains(&Flag::Flagged));
    assert!(f.flags_of(3).await.contains(&Flag::Flagged));

    // UID STORE names UIDs.
    f.other_expunge(&[1]).await;
    refresh(&f, &mut s, &REV1, true).await;
    let mut out = Vec::new();
    let done = s
        .store(
            f.store.as_ref(),
            &REV1,
            true,
            &seqs(&[(1, 3)]),
            StoreOp::Add,
            false,
            &[WireFlag::Draft],
            Some(0),
            &mut out,
        )
        .await
        .unwrap();
    assert_eq!(done.code.as_deref(), Some("MODIFIED 2:3"));
}

#[tokio::test]
async fn copy_answers_copyuid_and_move_expunges() {
    let f = Fixture::new(3).await;
    let (mut s, _, _) = f.open(false, &REV1).await;
    let trash = f.mailbox("Trash").await;
    let mut out = Vec::new();
    let done = s
        .copy(
            f.store.as_ref(),
            &REV1,
            false,
            &seqs(&[(1, 2)]),
            &trash,
            false,
            &mut out,
        )
        .await
        .unwrap();
    assert!(out.is_empty());
    assert_eq!(
        done.code,
        Some(format!("COPYUID {} 1:2 1:2", trash.uid_validity))
    );

    let done = s
        .copy(
            f.store.as_ref(),
            &REV1,
            false,
            &seqs(&[(2, 3)]),
            &trash,
            true,
            &mut out,
        )
        .await
        .unwrap();
    assert_eq!(done.kind, Kind::Ok);
    assert_eq!(done.code, None);
    assert_eq!(
        text(out),
        format!(
            "* OK [COPYUID {} 2:3 3:4] Moved\r\n* 3 EXPUNGE\r\n* 2 EXPUNGE\r\n",
            trash.uid_validity
        )
    );
    assert_eq!(s.exists(), 1);
    assert_eq!(refresh(&f, &mut s, &REV1, true).await, "");

    // Nothing matched: OK without COPYUID.
    let mut out = Vec::new();
    let done = s
        .copy(
            f.store.as_ref(),
            &REV1,
            true,
            &seqs(&[(50, 60)]),
            &trash,
            false,
            &mut out,
        )
        .await
        .unwrap();
    assert_eq!((done.kind, done.code), (Kind::Ok, None));
}

#[tokio::test]
async fn body_sets_seen_but_peek_does_not() {
    let f = Fixture::new(2).await;
    let (mut s, _, _) = f.open(false, &REV1).await;
    let item = |peek| FetchItem::BodySection {
        peek,
        section: Section::default(),
        partial: None,
    };
    let mut out = Output::buffer();
    s.fetch(
        f.store.as_ref(),
        &REV1,
        false,
        &seqs(&[(1, 1)]),
        &[item(true)],
        None,
        false,
        &mut out,
    )
    .await
    .unwrap();
    assert!(!f.flags_of(1).await.contains(&Flag::Seen));
    assert!(!text(out).contains("FLAGS"));

    let mut out = Output::buffer();
    s.fetch(
        f.store.as_ref(),
        &REV1,
        false,
        &seqs(&[(1, 1)]),
        &[item(false)],
        None,
        false,
        &mut out,
    )
    .await
    .unwrap();
    assert!(f.flags_of(1).await.contains(&Flag::Seen));
    let out = text(out);
    assert!(out.contains("FLAGS (\\Seen)"), "{out}");
    // The \Seen our FETCH set is not repeated unsolicited.
    assert_eq!(refresh(&f, &mut s, &REV1, false).await, "");
}

#[tokio::test]
async fn expunge_removes_deleted_and_uid_expunge_only_its_set() {
    let f = Fixture::new(5).await;
    let (mut s, _, _) = f.open(false, &REV1).await;
    f.other_flags(&[1, 2, 4], FlagOp::Add, &[Flag::Deleted])
        .await;
    let out = refresh(&f, &mut s, &REV1, true).await;
    assert_eq!(out.matches("FLAGS (\\Deleted)").count(), 3, "{out}");
    let mut out = Vec::new();
    let done = s
        .expunge(f.store.as_ref(), &REV1, Some(&seqs(&[(2, 3)])), &mut out)
        .await
        .unwrap();
    assert_eq!(done.kind, Kind::Ok);
    let out = text(out);
    assert!(out.ends_with("* 2 EXPUNGE\r\n"), "{out}");
    assert_eq!(out.matches("EXPUNGE").count(), 1, "{out}");
    let mut out = Vec::new();
    s.expunge(f.store.as_ref(), &REV1, None, &mut out)
        .await
        .unwrap();
    assert_eq!(text(out), "* 3 EXPUNGE\r\n* 1 EXPUNGE\r\n");
    assert_eq!(s.exists(), 2);
}

#[tokio::test]
async fn close_expunges_silently() {
    let f = Fixture::new(3).await;
    let (mut s, _, _) = f.open(false, &REV1).await;
    f.other_flags(&[2], FlagOp::Add, &[Flag::Deleted]).await;
    s.close(f.store.as_ref()).await.unwrap();
    let inbox = f.mailbox("INBOX").await;
    assert_eq!(f.store.uids(inbox.id).await.unwrap(), vec![Uid(1), Uid(3)]);
    let gone = f.store.expunged_since(inbox.id, ModSeq(0)).await.unwrap();
    assert_eq!(gone, vec![Uid(2)]);
}

#[tokio::test]
async fn saved_search_result_is_dollar() {
    let f = Fixture::new(4).await;
    let (mut s, _, _) = f.open(false, &REV1).await;
    f.other_flags(&[2, 4], FlagOp::Add, &[Flag::Flagged]).await;
    refresh(&f, &mut s, &REV1, true).await;
    let mut out = Vec::new();
    let done = s
        .search(
            f.store.as_ref(),
            &REV1,
            "t1",
            false,
            &SearchKey::Flagged,
            Some(&[SearchReturn::Save]),
            &mut out,
        )
        .await
        .unwrap();
    assert_eq!(done.kind, Kind::Ok);
    // RETURN (SAVE) alone answers nothing.
    assert!(out.is_empty(), "{}", text(out));
    let (done, out) = fetch_flags(&f, &mut s, false, &SequenceSet::Saved).await;
    assert_eq!(done.kind, Kind::Ok);
    assert_eq!(out.matches(" FETCH ").count(), 2, "{out}");
    assert!(
        out.contains("* 2 FETCH") && out.contains("* 4 FETCH"),
        "{out}"
    );

    // `$` follows the messages, not the numbers.
    f.other_expunge(&[1]).await;
    refresh(&f, &mut s, &REV1, true).await;
    let (_, out) = fetch_flags(&f, &mut s, false, &SequenceSet::Saved).await;
    assert!(
        out.contains("* 1 FETCH") && out.contains("* 3 FETCH"),
        "{out}"
    );

    let mut out = Vec::new();
    s.search(
        f.store.as_ref(),
        &REV1,
        "t2",
        true,
        &SearchKey::Flagged,
        None,
        &mut out,
    )
    .await
    .unwrap();
    assert!(text(out).starts_with("* SEARCH 2 4"));
}

#[tokio::test]
async fn uid_fetch_changedsince_with_vanished() {
    let f = Fixture::new(4).await;
    let (mut s, _, _) = f.open(false, &QRESYNC).await;
    let since = f.mailbox("INBOX").await.highest_modseq.0;
    f.other_flags(&[3], FlagOp::Add, &[Flag::Flagged]).await;
    f.other_expunge(&[2]).await;
    refresh(&f, &mut s, &QRESYNC, true).await;
    let mut out = Output::buffer();
    let done = s
        .fetch(
            f.store.as_ref(),
            &QRESYNC,
            true,
            &seqs(&[(1, 4)]),
            &[FetchItem::Flags],
            Some(since),
            true,
            &mut out,
        )
        .await
        .unwrap();
    assert_eq!(done.kind, Kind::Ok);
    let out = text(out);
    assert!(out.starts_with("* VANISHED (EARLIER) 2\r\n"), "{out}");
    assert_eq!(out.matches(" FETCH ").count(), 1, "{out}");
    assert!(
        out.contains("* 2 FETCH (") && out.contains("UID 3"),
        "{out}"
    );
    assert!(out.contains("MODSEQ ("), "{out}");
}

#[tokio::test]
async fn highest_modseq_waits_for_pending_expunges() {
    let f = Fixture::new(3).await;
    let (mut s, _, _) = f.open(false, &REV1).await;
    let at_open = s.highest_modseq();
    f.other_expunge(&[1]).await;
    f.other_flags(&[2], FlagOp::Add, &[Flag::Flagged]).await;
    let out = refresh(&f, &mut s, &REV1, false).await;
    assert!(out.contains("* 2 FETCH"), "{out}");
    assert_eq!(s.highest_modseq(), at_open);
    assert_eq!(refresh(&f, &mut s, &REV1, true).await, "* 1 EXPUNGE\r\n");
    assert_eq!(
        s.highest_modseq(),
        f.mailbox("INBOX").await.highest_modseq.0
    );
}

#[tokio::test]
async fn imap4rev2_search_answers_with_esearch() {
    let f = Fixture::new(3).await;
    let rev2 = Enabled { rev2: true, ..REV1 };
    let (mut s, _, _) = f.open(false, &rev2).await;
    f.other_flags(&[1, 3], FlagOp::Add, &[Flag::Flagged]).await;
    refresh(&f, &mut s, &rev2, true).await;
    let mut out = Vec::new();
    s.search(
        f.store.as_ref(),
        &rev2,
        "t1",
        true,
        &SearchKey::Flagged,
        None,
        &mut out,
    )
    .await
    .unwrap();
    // RFC 9051 §6.4.4: no `* SEARCH` in IMAP4rev2; plain SEARCH means RETURN (ALL).
    assert_eq!(text(out), "* ESEARCH (TAG \"t1\") UID ALL 1,3\r\n");
}

/// The staged search (sets first, then rows, parse, bytes) answers exactly what evaluating
/// every key on every message would.
#[tokio::test]
async fn staged_search_gives_the_same_answers() {
    let f = Fixture::new(6).await;
    let (mut s, _, _) = f.open(false, &REV1).await;
    f.other_flags(&[2, 5], FlagOp::Add, &[Flag::Flagged]).await;
    refresh(&f, &mut s, &REV1, true).await;
    let uid_set = |lo, hi| SequenceSet::Ranges(vec![(SeqNum::Value(lo), SeqNum::Value(hi))]);
    let body = |w: &str| SearchKey::Body(w.as_bytes().to_vec());
    let subject = |w: &str| SearchKey::Subject(w.as_bytes().to_vec());
    // UID u holds "Subject: m{u-1}" and "body {u-1}".
    let cases: Vec<(SearchKey, &str)> = vec![
        // UID range and body text: only the range is read.
        (
            SearchKey::And(vec![SearchKey::Uid(uid_set(2, 4)), body("body")]),
            "2 3 4",
        ),
        (
            SearchKey::And(vec![SearchKey::Uid(uid_set(2, 4)), body("3")]),
            "4",
        ),
        // Two sets intersect.
        (
            SearchKey::And(vec![
                SearchKey::Uid(uid_set(1, 4)),
                SearchKey::SequenceSet(uid_set(3, 6)),
            ]),
            "3 4",
        ),
        // Flags, then the parse, then the bytes.
        (
            SearchKey::And(vec![SearchKey::Flagged, subject("m"), body("body")]),
            "2 5",
        ),
        (SearchKey::And(vec![SearchKey::Flagged, subject("m4")]), "5"),
        (SearchKey::And(vec![SearchKey::Flagged, subject("m3")]), ""),
        // A set inside OR/NOT narrows nothing but still counts.
        (
            SearchKey::Or(Box::new(SearchKey::Uid(uid_set(1, 1))), Box::new(body("6"))),
            "1",
        ),
        (
            SearchKey::And(vec![
                SearchKey::Not(Box::new(SearchKey::Uid(uid_set(1, 5)))),
                body("5"),
            ]),
            "6",
        ),
        (
            SearchKey::And(vec![SearchKey::Unflagged, body("body 1")]),
            "",
        ),
        (
            SearchKey::And(vec![SearchKey::Unflagged, body("body 2")]),
            "3",
        ),
    ];
    for (key, expected) in cases {
        let mut out = Vec::new();
        s.search(f.store.as_ref(), &REV1, "t", true, &key, None, &mut out)
            .await
            .unwrap();
        let line = text(out);
        let got = line.trim_end().trim_start_matches("* SEARCH").trim();
        assert_eq!(got, expected, "{key:?}");
    }
}
