//! Session tests: typed commands on a store in a temporary directory, no sockets.

use std::sync::Arc;
use std::time::Duration;

use surel_imap_proto::{
    Command, CommandBody, Flag as WireFlag, ListReturn, ListSelect, SearchKey, SeqNum, SequenceSet,
    StatusItem,
};
use surel_store::{DeliveryTarget, NewMessage, Store};
use surel_store_sqlite::SqliteStore;
use surel_types::{AccountId, Address, Domain, MailboxName, Secret};

use super::{Context, Next, Session};
use crate::output::Output;

pub(crate) const PASSWORD: &str = "correct horse";
pub(crate) const USER: &str = "pat@imap.test";
const LOOPBACK: &str = "127.0.0.1:50000";
const REMOTE: &str = "192.0.2.7:50000";

pub(crate) struct Fixture {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) store: Arc<SqliteStore>,
    pub(crate) ctx: Arc<Context>,
    pub(crate) account: AccountId,
}

impl Fixture {
    pub(crate) async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        store
            .add_domain(&Domain::parse("imap.test").unwrap())
            .await
            .unwrap();
        let hash = surel_store::password::hash(&Secret::new(PASSWORD.into())).unwrap();
        let account = store
            .add_account(&Address::parse(USER).unwrap(), &hash)
            .await
            .unwrap();
        let ctx = Arc::new(Context::new(
            "imap.test".into(),
            store.clone() as Arc<dyn Store>,
            Duration::from_secs(1800),
            Duration::from_secs(60),
            1 << 20,
        ));
        Fixture {
            _dir: dir,
            store,
            ctx,
            account,
        }
    }

    pub(crate) async fn deliver(&self, text: &str) {
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
        self.store.deliver(message, &[target]).await.unwrap();
    }

    pub(crate) fn session(&self, peer: &str, tls: bool) -> Session {
        Session::new(self.ctx.clone(), peer.parse().unwrap(), tls)
    }

    pub(crate) async fn logged_in(&self) -> Session {
        let mut s = self.session(LOOPBACK, false);
        let (out, _) = run(&mut s, login(USER, PASSWORD)).await;
        assert!(out.contains("A1 OK [CAPABILITY "), "{out}");
        s
    }

    async fn names(&self) -> Vec<String> {
        let boxes = self.store.mailboxes(self.account).await.unwrap();
        boxes.iter().map(|m| m.name.as_str().to_string()).collect()
    }
}

fn login(user: &str, password: &str) -> CommandBody {
    CommandBody::Login {
        username: user.as_bytes().to_vec(),
        password: password.as_bytes().to_vec(),
    }
}

fn plain(authz: &str, user: &str, password: &str) -> Vec<u8> {
    format!("{authz}\0{user}\0{password}").into_bytes()
}

async fn run(s: &mut Session, body: CommandBody) -> (String, Next) {
    let mut out = Output::buffer();
    let next = s
        .handle(
            Command {
                tag: "A1".into(),
                body,
            },
            &mut out,
        )
        .await;
    (String::from_utf8(out.into_inner()).unwrap(), next)
}

/// The tagged completion line (the last line) of a command's output.
async fn tagged(s: &mut Session, body: CommandBody) -> String {
    let (out, _) = run(s, body).await;
    out.lines().last().unwrap_or_default().to_string()
}

fn mailbox(name: &str) -> Vec<u8> {
    name.as_bytes().to_vec()
}

fn all() -> SequenceSet {
    SequenceSet::Ranges(vec![(SeqNum::Value(1), SeqNum::Largest)])
}

#[tokio::test]
async fn greeting_and_capability_follow_tls_and_loopback() {
    let f = Fixture::new().await;
    let mut out = Vec::new();
    f.session(LOOPBACK, false).greeting(&mut out);
    let greeting = String::from_utf8(out).unwrap();
    assert!(
        greeting.starts_with("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE STARTTLS AUTH=PLAIN] surel IMAP4rev2 ready\r\n"),
        "{greeting}"
    );

    // RFC 9051 §6.2.3: no passwords in clear from the network: LOGINDISABLED, no AUTH=PLAIN.
    let mut remote = f.session(REMOTE, false);
    let (out, _) = run(&mut remote, CommandBody::Capability).await;
    assert!(out.contains(" STARTTLS LOGINDISABLED\r\n"), "{out}");
    assert!(!out.contains("AUTH=PLAIN"), "{out}");
    assert!(out.ends_with("A1 OK CAPABILITY completed\r\n"), "{out}");

    let mut tls = f.session(REMOTE, true);
    let (out, _) = run(&mut tls, CommandBody::Capability).await;
    assert!(out.contains(" IDLE AUTH=PLAIN\r\n"), "{out}");
    assert!(
        !out.contains("STARTTLS") && !out.contains("LOGINDISABLED"),
        "{out}"
    );

    let mut s = f.logged_in().await;
    let (out, _) = run(&mut s, CommandBody::Capability).await;
    for cap in [
        "IMAP4rev2",
        "NAMESPACE",
        "UIDPLUS",
        "MOVE",
        "CONDSTORE",
        "QRESYNC",
        "APPENDLIMIT=1048576",
        "UTF8=ACCEPT",
        "SPECIAL-USE",
        "LIST-STATUS",
    ] {
        assert!(out.contains(&format!(" {cap}")), "no {cap}: {out}");
    }
    assert!(!out.contains("AUTH=") && !out.contains("STARTTLS"), "{out}");
}

#[tokio::test]
async fn login_needs_tls_except_on_loopback() {
    let f = Fixture::new().await;
    let mut remote = f.session(REMOTE, false);
    let line = tagged(&mut remote, login(USER, PASSWORD)).await;
    assert!(line.starts_with("A1 NO [PRIVACYREQUIRED] "), "{line}");
    let line = tagged(
        &mut remote,
        CommandBody::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some(plain("", USER, PASSWORD)),
        },
    )
    .await;
    assert!(line.starts_with("A1 NO [PRIVACYREQUIRED] "), "{line}");
    assert!(!remote.is_authenticated());

    let mut tls = f.session(REMOTE, true);
    let line = tagged(&mut tls, login(USER, PASSWORD)).await;
    assert!(line.starts_with("A1 OK [CAPABILITY IMAP4rev1 "), "{line}");
    assert!(line.ends_with("] LOGIN completed"), "{line}");
    assert!(tls.is_authenticated());
    assert_eq!(tls.timeout(), Duration::from_secs(1800));
    let line = tagged(&mut tls, login(USER, PASSWORD)).await;
    assert!(line.starts_with("A1 BAD "), "{line}");
}

#[tokio::test(start_paused = true)]
async fn failed_logins_are_refused_and_the_third_closes() {
    let f = Fixture::new().await;
    let mut s = f.session(LOOPBACK, false);
    assert_eq!(s.timeout(), Duration::from_secs(60));
    for (i, (user, pw)) in [
        (USER, "wrong"),
        ("nobody@imap.test", PASSWORD),
        ("pat", PASSWORD),
    ]
    .into_iter()
    .enumerate()
    {
        let (out, next) = run(&mut s, login(user, pw)).await;
        assert!(out.starts_with("A1 NO [AUTHENTICATIONFAILED] "), "{out}");
        if i < 2 {
            assert_eq!(next, Next::Command);
        } else {
            assert_eq!(next, Next::Close);
            assert!(out.ends_with("* BYE Too many failed logins\r\n"), "{out}");
        }
    }
    assert!(!s.is_authenticated());
}

#[tokio::test]
async fn authenticate_plain_initial_response_and_challenge() {
    let f = Fixture::new().await;
    let mut s = f.session(LOOPBACK, false);
    let (out, _) = run(
        &mut s,
        CommandBody::Authenticate {
            mechanism: "plain".into(),
            initial: Some(plain("", USER, PASSWORD)),
        },
    )
    .await;
    assert!(out.starts_with("A1 OK [CAPABILITY "), "{out}");
    assert!(out.ends_with("] AUTHENTICATE completed\r\n"), "{out}");

    let mut s = f.session(LOOPBACK, false);
    let (out, next) = run(
        &mut s,
        CommandBody::Authenticate {
            mechanism: "PLAIN".into(),
            initial: None,
        },
    )
    .await;
    assert_eq!((out.as_str(), next), ("+ \r\n", Next::SaslResponse));
    // RFC 9051 §6.2.2: `*` cancels with BAD.
    let mut out = Vec::new();
    s.sasl_response(b"*", &mut out).await;
    assert!(
        String::from_utf8_lossy(&out).starts_with("A1 BAD "),
        "{out:?}"
    );

    run(
        &mut s,
        CommandBody::Authenticate {
            mechanism: "PLAIN".into(),
            initial: None,
        },
    )
    .await;
    let token = surel_types::sasl::encode_base64(&plain(USER, USER, PASSWORD));
    let mut out = Vec::new();
    s.sasl_response(token.as_bytes(), &mut out).await;
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("A1 OK [CAPABILITY "), "{out}");
    assert!(s.is_authenticated());

    let mut s = f.session(LOOPBACK, false);
    let line = tagged(
        &mut s,
        CommandBody::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some(plain("boss@imap.test", USER, PASSWORD)),
        },
    )
    .await;
    assert!(line.starts_with("A1 NO [AUTHORIZATIONFAILED] "), "{line}");
    let line = tagged(
        &mut s,
        CommandBody::Authenticate {
            mechanism: "CRAM-MD5".into(),
            initial: None,
        },
    )
    .await;
    assert!(line.starts_with("A1 NO "), "{line}");
}

#[tokio::test]
async fn wrong_state_is_bad_and_too_many_bads_close() {
    let f = Fixture::new().await;
    let mut s = f.session(LOOPBACK, false);
    let line = tagged(&mut s, CommandBody::Namespace).await;
    assert_eq!(line, "A1 BAD NAMESPACE is not valid before login");
    let mut s = f.logged_in().await;
    let line = tagged(&mut s, CommandBody::Check).await;
    assert_eq!(line, "A1 BAD CHECK needs a selected mailbox");
    let line = tagged(&mut s, CommandBody::StartTls).await;
    assert!(line.starts_with("A1 BAD "), "{line}");
    // A good command in between resets the count.
    assert_eq!(
        tagged(&mut s, CommandBody::Noop).await,
        "A1 OK NOOP completed"
    );
    for i in 1..=20 {
        let (out, next) = run(&mut s, CommandBody::Expunge).await;
        if i < 20 {
            assert_eq!(next, Next::Command, "{out}");
        } else {
            assert_eq!(next, Next::Close);
            assert!(
                out.ends_with("* BYE Too many invalid commands\r\n"),
                "{out}"
            );
        }
    }
}

#[tokio::test]
async fn parse_errors_and_framing_refusals_are_answered() {
    let f = Fixture::new().await;
    let mut s = f.session(LOOPBACK, false);
    let mut out = Vec::new();
    s.parse_error(
        surel_imap_proto::ParseError {
            tag: Some("x1".into()),
            reason: "unknown command".into(),
        },
        &mut out,
    );
    s.parse_error(
        surel_imap_proto::ParseError {
            tag: None,
            reason: "no tag".into(),
        },
        &mut out,
    );
    s.literal_too_big(Some("x2"), &mut out);
    s.line_too_long(None, &mut out);
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "x1 BAD unknown command");
    assert_eq!(lines[1], "* BAD no tag");
    assert!(lines[2].starts_with("x2 NO [TOOBIG] "), "{out}");
    assert!(lines[3].starts_with("* BAD command line too long"), "{out}");
}

#[tokio::test]
async fn id_namespace_enable_logout() {
    let f = Fixture::new().await;
    let mut s = f.logged_in().await;
    let (out, _) = run(&mut s, CommandBody::Id(None)).await;
    assert!(
        out.starts_with("* ID (\"name\" \"surel\" \"version\" \""),
        "{out}"
    );
    let (out, _) = run(&mut s, CommandBody::Namespace).await;
    assert_eq!(
        out,
        "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nA1 OK NAMESPACE completed\r\n"
    );
    let (out, _) = run(
        &mut s,
        CommandBody::Enable(vec![
            "qresync".into(),
            "X-UNKNOWN".into(),
            "UTF8=ACCEPT".into(),
        ]),
    )
    .await;
    assert_eq!(
        out,
        "* ENABLED QRESYNC UTF8=ACCEPT\r\nA1 OK ENABLE completed\r\n"
    );
    let enabled = s.enabled();
    assert!(enabled.qresync && enabled.condstore && enabled.utf8 && !enabled.rev2);
    let (out, _) = run(&mut s, CommandBody::Enable(vec!["QRESYNC".into()])).await;
    assert_eq!(out, "* ENABLED\r\nA1 OK ENABLE completed\r\n");
    let (out, next) = run(&mut s, CommandBody::Logout).await;
    assert_eq!(out, "* BYE surel logging out\r\nA1 OK LOGOUT completed\r\n");
    assert_eq!(next, Next::Close);
}

#[tokio::test]
async fn starttls_only_once_and_only_before_login() {
    let f = Fixture::new().await;
    let mut s = f.session(REMOTE, false);
    let (out, next) = run(&mut s, CommandBody::StartTls).await;
    assert_eq!(out, "A1 OK Begin TLS negotiation now\r\n");
    assert_eq!(next, Next::StartTls);
    s.restart_with_tls();
    let line = tagged(&mut s, CommandBody::StartTls).await;
    assert!(line.starts_with("A1 BAD "), "{line}");
    let line = tagged(&mut s, login(USER, PASSWORD)).await;
    assert!(line.starts_with("A1 OK "), "{line}");
}

#[tokio::test]
async fn create_delete_rename_subscribe() {
    let f = Fixture::new().await;
    let mut s = f.logged_in().await;
    let create = |name: &str| CommandBody::Create {
        mailbox: mailbox(name),
        special_use: Vec::new(),
    };
    assert_eq!(
        tagged(&mut s, create("Work/2026/Q4")).await,
        "A1 OK CREATE completed"
    );
    // Superiors were created too; a trailing separator is dropped.
    let names = f.names().await;
    for n in ["Work", "Work/2026", "Work/2026/Q4"] {
        assert!(names.contains(&n.to_string()), "{names:?}");
    }
    assert_eq!(
        tagged(&mut s, create("Lists/")).await,
        "A1 OK CREATE completed"
    );
    assert!(f.names().await.contains(&"Lists".to_string()));
    let line = tagged(&mut s, create("work/2026/q4")).await;
    assert_eq!(line, "A1 OK CREATE completed", "names are case-sensitive");
    let line = tagged(&mut s, create("Work")).await;
    assert!(line.starts_with("A1 NO [ALREADYEXISTS] "), "{line}");
    let line = tagged(&mut s, create("inbox")).await;
    assert!(line.starts_with("A1 NO [ALREADYEXISTS] "), "{line}");
    let line = tagged(&mut s, create("a//b")).await;
    assert!(line.starts_with("A1 NO "), "{line}");
    let line = tagged(
        &mut s,
        CommandBody::Create {
            mailbox: mailbox("Stuff"),
            special_use: vec!["\\Bogus".into()],
        },
    )
    .await;
    assert!(line.starts_with("A1 NO [USEATTR] "), "{line}");

    let line = tagged(&mut s, CommandBody::Delete(mailbox("INBOX"))).await;
    assert!(line.starts_with("A1 NO "), "{line}");
    let line = tagged(&mut s, CommandBody::Delete(mailbox("Nope"))).await;
    assert!(line.starts_with("A1 NO [NONEXISTENT] "), "{line}");
    let line = tagged(&mut s, CommandBody::Delete(mailbox("Lists"))).await;
    assert_eq!(line, "A1 OK DELETE completed");
    assert!(!f.names().await.contains(&"Lists".to_string()));

    let rename = |from: &str, to: &str| CommandBody::Rename {
        from: mailbox(from),
        to: mailbox(to),
    };
    let line = tagged(&mut s, rename("Work", "Archive/Work")).await;
    assert_eq!(line, "A1 OK RENAME completed");
    let names = f.names().await;
    assert!(
        names.contains(&"Archive/Work/2026/Q4".to_string()),
        "{names:?}"
    );
    assert!(!names.contains(&"Work".to_string()), "{names:?}");
    let line = tagged(&mut s, rename("Nope", "Other")).await;
    assert!(line.starts_with("A1 NO [NONEXISTENT] "), "{line}");
    let line = tagged(&mut s, rename("Sent", "Drafts")).await;
    assert!(line.starts_with("A1 NO [ALREADYEXISTS] "), "{line}");

    let line = tagged(&mut s, CommandBody::Subscribe(mailbox("Sent"))).await;
    assert_eq!(line, "A1 OK SUBSCRIBE completed");
    let line = tagged(&mut s, CommandBody::Subscribe(mailbox("Not/There"))).await;
    assert_eq!(line, "A1 OK SUBSCRIBE completed");
    let line = tagged(&mut s, CommandBody::Unsubscribe(mailbox("Not/There"))).await;
    assert_eq!(line, "A1 OK UNSUBSCRIBE completed");
    let subs = f.store.subscriptions(f.account).await.unwrap();
    assert!(
        subs.contains(&MailboxName::parse("Sent").unwrap()),
        "{subs:?}"
    );
    assert!(
        !subs.contains(&MailboxName::parse("Not/There").unwrap()),
        "{subs:?}"
    );

    let (out, _) = run(
        &mut s,
        CommandBody::List {
            reference: Vec::new(),
            patterns: vec![mailbox("*")],
            select: ListSelect::default(),
            ret: ListReturn::default(),
        },
    )
    .await;
    assert!(out.ends_with("A1 OK LIST completed\r\n"), "{out}");
    let (out, _) = run(
        &mut s,
        CommandBody::Lsub {
            reference: Vec::new(),
            pattern: mailbox("*"),
        },
    )
    .await;
    assert!(out.ends_with("A1 OK LSUB completed\r\n"), "{out}");
}

#[tokio::test]
async fn mailbox_names_are_modified_utf7_until_utf8_is_enabled() {
    let f = Fixture::new().await;
    let mut s = f.logged_in().await;
    let create = |name: &[u8]| CommandBody::Create {
        mailbox: name.to_vec(),
        special_use: Vec::new(),
    };
    assert_eq!(
        tagged(&mut s, create(b"Entw&APw-rfe")).await,
        "A1 OK CREATE completed"
    );
    assert!(f.names().await.contains(&"Entwürfe".to_string()));
    let line = tagged(&mut s, create(b"&Jjo")).await;
    assert!(line.starts_with("A1 NO "), "{line}");
    let line = tagged(&mut s, create("Grüße".as_bytes())).await;
    assert!(
        line.starts_with("A1 NO "),
        "8-bit before UTF8=ACCEPT: {line}"
    );
    run(&mut s, CommandBody::Enable(vec!["IMAP4rev2".into()])).await;
    assert_eq!(
        tagged(&mut s, create("Grüße".as_bytes())).await,
        "A1 OK CREATE completed"
    );
    assert!(f.names().await.contains(&"Grüße".to_string()));
}

#[tokio::test]
async fn append_status_and_select() {
    let f = Fixture::new().await;
    let mut s = f.logged_in().await;
    let append = |name: &str, flags: Vec<WireFlag>, message: &[u8]| CommandBody::Append {
        mailbox: mailbox(name),
        flags,
        date: None,
        message: message.to_vec(),
        binary: false,
    };
    let text = b"Subject: hi\r\n\r\nhello\r\n";
    let line = tagged(
        &mut s,
        append("Drafts", vec![WireFlag::Draft, WireFlag::Seen], text),
    )
    .await;
    let inbox = f
        .store
        .mailbox(f.account, &MailboxName::parse("Drafts").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        line,
        format!(
            "A1 OK [APPENDUID {} 1] APPEND completed",
            inbox.uid_validity
        )
    );
    let stored = f.store.messages(inbox.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].flags,
        [surel_store::Flag::Seen, surel_store::Flag::Draft]
    );
    assert_eq!(f.store.read_blob(&stored[0].blob).await.unwrap(), text);

    let line = tagged(&mut s, append("Nope", vec![], text)).await;
    assert!(line.starts_with("A1 NO [TRYCREATE] "), "{line}");
    let line = tagged(&mut s, append("Drafts", vec![], b"")).await;
    assert!(line.starts_with("A1 NO "), "{line}");
    let line = tagged(&mut s, append("Drafts", vec![WireFlag::Recent], text)).await;
    assert!(line.starts_with("A1 BAD "), "{line}");
    let line = tagged(&mut s, append("Drafts", vec![], &vec![b'x'; (1 << 20) + 1])).await;
    assert!(line.starts_with("A1 NO [TOOBIG] "), "{line}");

    let status = |name: &str| CommandBody::Status {
        mailbox: mailbox(name),
        items: vec![StatusItem::Messages, StatusItem::HighestModSeq],
    };
    let line = tagged(&mut s, status("Nope")).await;
    assert!(line.starts_with("A1 NO [NONEXISTENT] "), "{line}");
    assert_eq!(
        tagged(&mut s, status("Drafts")).await,
        "A1 OK STATUS completed"
    );
    assert!(
        s.enabled().condstore,
        "STATUS HIGHESTMODSEQ enables CONDSTORE"
    );

    let select = |name: &str, read_only: bool| CommandBody::Select {
        mailbox: mailbox(name),
        read_only,
        condstore: false,
        qresync: None,
    };
    let line = tagged(&mut s, select("Nope", false)).await;
    assert!(line.starts_with("A1 NO [NONEXISTENT] "), "{line}");
    let (out, _) = run(&mut s, select("Drafts", false)).await;
    assert!(out.contains("A1 OK"), "{out}");
    assert!(!out.contains("[CLOSED]"), "{out}");
    // Selecting again closes the first without expunge, marked by [CLOSED].
    let (out, _) = run(&mut s, select("INBOX", true)).await;
    assert!(out.starts_with("* OK [CLOSED] "), "{out}");
    // STATUS of the selected mailbox is allowed.
    assert_eq!(
        tagged(&mut s, status("INBOX")).await,
        "A1 OK STATUS completed"
    );
    // DELETE of the selected mailbox is refused; other sessions' DELETE is the store's.
    let line = tagged(&mut s, CommandBody::Delete(mailbox("INBOX"))).await;
    assert!(line.starts_with("A1 NO "), "{line}");
    let line = tagged(&mut s, CommandBody::Enable(vec!["CONDSTORE".into()])).await;
    assert!(line.starts_with("A1 BAD "), "ENABLE while selected: {line}");
    // QRESYNC parameters without ENABLE QRESYNC are BAD.
    let line = tagged(
        &mut s,
        CommandBody::Select {
            mailbox: mailbox("INBOX"),
            read_only: false,
            condstore: false,
            qresync: Some(surel_imap_proto::QresyncParams {
                uid_validity: 1,
                modseq: 1,
                known_uids: None,
                seq_match: None,
            }),
        },
    )
    .await;
    assert!(line.starts_with("A1 BAD "), "{line}");
}

#[tokio::test]
async fn selected_commands_check_before_dispatch() {
    let f = Fixture::new().await;
    let mut s = f.logged_in().await;
    run(
        &mut s,
        CommandBody::Select {
            mailbox: mailbox("INBOX"),
            read_only: true,
            condstore: false,
            qresync: None,
        },
    )
    .await;
    let line = tagged(
        &mut s,
        CommandBody::Search {
            uid: false,
            charset: Some("ISO-8859-1".into()),
            criteria: SearchKey::All,
            ret: None,
        },
    )
    .await;
    assert_eq!(
        line,
        "A1 NO [BADCHARSET (UTF-8 US-ASCII)] unsupported charset"
    );
    let line = tagged(
        &mut s,
        CommandBody::Copy {
            uid: true,
            set: all(),
            mailbox: mailbox("Nope"),
        },
    )
    .await;
    assert!(line.starts_with("A1 NO [TRYCREATE] "), "{line}");
    // EXAMINE is read-only: nothing may change it.
    for body in [
        CommandBody::Expunge,
        CommandBody::Move {
            uid: false,
            set: all(),
            mailbox: mailbox("Trash"),
        },
        CommandBody::Store {
            uid: false,
            set: all(),
            op: surel_imap_proto::StoreOp::Add,
            silent: true,
            flags: vec![WireFlag::Seen],
            unchanged_since: None,
        },
    ] {
        let line = tagged(&mut s, body).await;
        assert!(line.starts_with("A1 NO [READ-ONLY] "), "{line}");
    }
    let line = tagged(
        &mut s,
        CommandBody::Fetch {
            uid: false,
            set: all(),
            items: vec![surel_imap_proto::FetchItem::Flags],
            changed_since: Some(1),
            vanished: true,
        },
    )
    .await;
    assert!(
        line.starts_with("A1 BAD "),
        "VANISHED without UID/QRESYNC: {line}"
    );
    assert!(s.enabled().condstore, "CHANGEDSINCE enables CONDSTORE");
    assert_eq!(
        tagged(&mut s, CommandBody::Unselect).await,
        "A1 OK UNSELECT completed"
    );
    let line = tagged(&mut s, CommandBody::Close).await;
    assert!(line.starts_with("A1 BAD "), "{line}");
}

#[tokio::test]
async fn idle_wakes_on_a_delivery_and_ends_with_done() {
    let f = Fixture::new().await;
    let mut s = f.logged_in().await;
    run(
        &mut s,
        CommandBody::Select {
            mailbox: mailbox("INBOX"),
            read_only: false,
            condstore: false,
            qresync: None,
        },
    )
    .await;
    let (out, next) = run(&mut s, CommandBody::Idle).await;
    assert_eq!((out.as_str(), next), ("+ idling\r\n", Next::Idle));
    f.deliver("Subject: x\r\n\r\nbody\r\n").await;
    tokio::time::timeout(Duration::from_secs(10), s.next_change())
        .await
        .expect("the delivery wakes IDLE");
    let mut out = Vec::new();
    s.idle_refresh(&mut out).await;
    let next = s.idle_line(b"done", &mut out).await;
    assert_eq!(next, Next::Command);
    let out = String::from_utf8(out).unwrap();
    assert!(out.ends_with("A1 OK IDLE terminated\r\n"), "{out}");

    run(&mut s, CommandBody::Idle).await;
    let mut out = Vec::new();
    s.idle_line(b"NOOP", &mut out).await;
    assert_eq!(String::from_utf8(out).unwrap(), "A1 BAD expected DONE\r\n");
}

#[tokio::test]
async fn idle_without_a_selected_mailbox_waits_for_done_only() {
    let f = Fixture::new().await;
    let mut s = f.logged_in().await;
    let (out, next) = run(&mut s, CommandBody::Idle).await;
    assert_eq!((out.as_str(), next), ("+ idling\r\n", Next::Idle));
    f.deliver("Subject: x\r\n\r\nbody\r\n").await;
    assert!(
        tokio::time::timeout(Duration::from_millis(200), s.next_change())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn imap4rev2_select_returns_the_mailbox_list_line() {
    let f = Fixture::new().await;
    let mut s = f.logged_in().await;
    let select = |name: &str| CommandBody::Select {
        mailbox: mailbox(name),
        read_only: false,
        condstore: false,
        qresync: None,
    };
    // IMAP4rev1 clients get the RFC 3501 responses only.
    let (out, _) = run(&mut s, select("Sent")).await;
    assert!(!out.contains("* LIST"), "{out}");
    assert!(out.contains("* 0 RECENT\r\n"), "{out}");
    // ENABLE is refused while selected (RFC 5161 §3.1): leave the mailbox first.
    assert!(
        tagged(&mut s, CommandBody::Unselect)
            .await
            .starts_with("A1 OK")
    );
    assert!(
        tagged(&mut s, CommandBody::Enable(vec!["IMAP4rev2".into()]))
            .await
            .starts_with("A1 OK")
    );
    let (out, _) = run(&mut s, select("Sent")).await;
    assert!(
        out.contains("* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"),
        "{out}"
    );
    assert!(!out.contains("RECENT"), "{out}");
}
