//! Every IMAP command and extension surel offers, end to end through Python's imaplib
//! (`tests/clients/imap_commands.py`): each test runs one scripted scenario against a fresh
//! server and account and asserts the responses on the wire, exactly where the RFCs fix them.
//!
//! The client records every response of every step (literals inline after their `{n}`); the
//! helpers here take the tag off the tagged completion so the assertions read like the RFCs'
//! examples.

mod common;

use common::*;
use serde_json::Value;

const USER: &str = "pat@local.test";
const PASSWORD: &str = "correct horse battery staple";

/// The capabilities after login, in the order the server lists them.
const CAPABILITIES: &str = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE \
    UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS \
    ESEARCH SEARCHRES CONDSTORE QRESYNC STATUS=SIZE APPENDLIMIT=65536 BINARY UTF8=ACCEPT";

/// A server with IMAP on loopback, a 64 KiB message limit (APPENDLIMIT=65536) and one account;
/// runs `scenario` and returns the server (its drop checks the log for panics) and the JSON.
fn scenario(name: &str) -> (TestServer, Steps) {
    let mut server = TestServer::configure("[limits]\nmessage_size = \"64KiB\"\n");
    server.enable_listener("imap");
    server.spawn();
    server.add_domain("local.test");
    server.add_account(USER, PASSWORD);
    let port = server.listening_on("imap").port().to_string();
    let out = server.run_py(
        "imap_commands.py",
        &[
            "--port",
            &port,
            "--user",
            USER,
            "--password",
            PASSWORD,
            name,
        ],
    );
    (server, Steps(out))
}

/// What the client saw, step by step.
struct Steps(Value);

impl Steps {
    fn step(&self, name: &str) -> &Value {
        let step = &self.0["steps"][name];
        assert!(step.is_object(), "no step {name} in\n{:#}", self.0);
        step
    }

    /// Every response line of a step, the tagged completion last (tag removed).
    fn lines(&self, name: &str) -> Vec<String> {
        let mut lines: Vec<String> = self.step(name)["lines"]
            .as_array()
            .unwrap_or_else(|| panic!("no lines in {name}"))
            .iter()
            .map(|l| l.as_str().expect("a line").to_string())
            .collect();
        if let Some(last) = lines.last_mut()
            && !last.starts_with("* ")
            && !last.starts_with("+ ")
        {
            *last = last
                .split_once(' ')
                .map_or(last.clone(), |(_, rest)| rest.to_string());
        }
        lines
    }

    /// The tagged completion without its tag: `OK [APPENDUID 1 1] APPEND completed`.
    fn tagged(&self, name: &str) -> String {
        let lines = self.lines(name);
        let last = lines
            .last()
            .unwrap_or_else(|| panic!("{name}: no response"));
        assert!(
            !last.starts_with("* ") && !last.starts_with("+ "),
            "{name}: no tagged completion in {lines:?}"
        );
        last.clone()
    }

    /// The untagged responses of a step (continuation requests left out).
    fn untagged(&self, name: &str) -> Vec<String> {
        self.lines(name)
            .into_iter()
            .filter(|l| l.starts_with("* "))
            .collect()
    }

    /// Asserts the whole answer of a step: its untagged responses and its tagged completion.
    #[track_caller]
    fn expect(&self, name: &str, untagged: &[&str], tagged: &str) {
        assert_eq!(
            self.untagged(name),
            untagged,
            "untagged responses of {name}\n{:#}",
            self.step(name)
        );
        assert_eq!(self.tagged(name), tagged, "completion of {name}");
    }

    /// Asserts the tagged completion starts with `prefix` (`NO [TRYCREATE]`, `BAD `).
    #[track_caller]
    fn expect_tagged(&self, name: &str, prefix: &str) {
        let tagged = self.tagged(name);
        assert!(
            tagged.starts_with(prefix),
            "{name}: expected `{prefix}…`, got `{tagged}`\n{:#}",
            self.step(name)
        );
    }

    /// The number in `* OK [CODE n]` (or a tagged `[CODE n]`) of a step.
    fn code_number(&self, name: &str, code: &str) -> u64 {
        let key = format!("[{code} ");
        self.lines(name)
            .iter()
            .find_map(|l| {
                let rest = &l[l.find(&key)? + key.len()..];
                rest.split([']', ' ']).next()?.parse().ok()
            })
            .unwrap_or_else(|| panic!("no [{code} n] in {name}: {:?}", self.lines(name)))
    }

    fn fact(&self, name: &str) -> &Value {
        &self.0["facts"][name]
    }
}

/// The untagged responses of a SELECT/EXAMINE of a mailbox with `exists` messages and no
/// `\Recent` ones (an IMAP4rev1 session; without the `UNSEEN` line).
fn select_lines(exists: u32, validity: u64, uidnext: u32, modseq: u64, rw: bool) -> Vec<String> {
    let permanent = if rw {
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted"
    } else {
        "* OK [PERMANENTFLAGS ()] Read-only mailbox"
    };
    vec![
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)".to_string(),
        format!("* {exists} EXISTS"),
        "* 0 RECENT".to_string(),
        format!("* OK [UIDVALIDITY {validity}] UIDs valid"),
        format!("* OK [UIDNEXT {uidnext}] Predicted next UID"),
        permanent.to_string(),
        format!("* OK [HIGHESTMODSEQ {modseq}] Highest"),
    ]
}

/// The fixture messages the Python client APPENDs (UIDs 1–4), for the record:
/// 1 `Quarterly Report` from Alice, `\Seen`, 200 octets, 01-Jan-2026;
/// 2 an RFC 2047 subject (`Grüße aus Köln`) to a group, `\Flagged`, 197 octets, 15-Jan-2026;
/// 3 multipart/mixed (quoted-printable text, base64 attachment, message/rfc822), no flags,
///   2111 octets, 01-Feb-2026;
/// 4 `Re: lunch` from Carol with `X-Tracking`, `\Answered $Forwarded`, 155 octets, 20-Feb-2026.
const SIZES: [u64; 4] = [200, 197, 2111, 155];

fn assert_fixture_sizes(s: &Steps) {
    let sizes: Vec<u64> = s
        .fact("sizes")
        .as_array()
        .expect("sizes")
        .iter()
        .map(|v| v.as_u64().expect("a size"))
        .collect();
    assert_eq!(
        sizes, SIZES,
        "the fixtures changed: update the expectations"
    );
}

#[test]
fn capability_id_namespace_enable_and_errors() {
    let (_server, s) = scenario("session");
    // Before login (RFC 9051 §6.1.1): no extension that needs a login is announced.
    s.expect(
        "capability_before",
        &["* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE STARTTLS AUTH=PLAIN"],
        "OK CAPABILITY completed",
    );
    s.expect_tagged("fetch_before_login", "BAD ");
    s.expect(
        "login",
        &[],
        &format!("OK [CAPABILITY {CAPABILITIES}] LOGIN completed"),
    );
    s.expect(
        "capability",
        &[&format!("* CAPABILITY {CAPABILITIES}")],
        "OK CAPABILITY completed",
    );
    // RFC 2971 §3.1: the server's ID whatever the client sent (a list or NIL).
    let id = format!(
        "* ID (\"name\" \"surel\" \"version\" \"{}\")",
        env!("CARGO_PKG_VERSION")
    );
    s.expect("id", &[&id], "OK ID completed");
    s.expect("id_nil", &[&id], "OK ID completed");
    // RFC 2342: one personal namespace, "/" as separator.
    s.expect(
        "namespace",
        &["* NAMESPACE ((\"\" \"/\")) NIL NIL"],
        "OK NAMESPACE completed",
    );
    // A command of the selected state before SELECT, and an unknown command: BAD, and the
    // session goes on.
    s.expect_tagged("fetch_before_select", "BAD ");
    s.expect_tagged("unknown", "BAD ");
    s.expect_tagged("store_before_select", "BAD ");
    s.expect("noop_after_errors", &[], "OK NOOP completed");
    // RFC 5161 §3.2: ENABLED lists what this command newly enabled; unknown names are ignored.
    s.expect(
        "enable_condstore",
        &["* ENABLED CONDSTORE"],
        "OK ENABLE completed",
    );
    s.expect("enable_again", &["* ENABLED"], "OK ENABLE completed");
    s.expect(
        "enable_many",
        &["* ENABLED QRESYNC IMAP4rev2 UTF8=ACCEPT"],
        "OK ENABLE completed",
    );
    // IMAP4rev2 is on: SELECT sends no RECENT and no UNSEEN code, and the mailbox's LIST.
    let select = s.untagged("select");
    assert!(!select.iter().any(|l| l.contains("RECENT")), "{select:?}");
    assert_eq!(
        select.last().map(String::as_str),
        Some("* LIST (\\HasNoChildren) \"/\" INBOX"),
        "{select:?}"
    );
    assert_eq!(s.tagged("select"), "OK [READ-WRITE] SELECT completed");
    // imaplib itself refuses ENABLE in the selected state (RFC 5161 §3.1).
    assert!(
        s.step("enable_selected")["error"]
            .as_str()
            .is_some_and(|e| e.contains("illegal in state SELECTED")),
        "{:#}",
        s.step("enable_selected")
    );
    s.expect("check", &[], "OK CHECK completed");
    s.expect("noop", &[], "OK NOOP completed");
    assert_eq!(s.lines("logout"), ["* BYE surel logging out"]);
}

#[test]
fn list_create_rename_delete_subscribe() {
    let (_server, s) = scenario("mailboxes");
    // A new account's mailboxes, with their special uses (RFC 6154), all subscribed.
    s.expect(
        "list_all",
        &[
            "* LIST (\\HasNoChildren) \"/\" INBOX",
            "* LIST (\\HasNoChildren \\Archive) \"/\" Archive",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts",
            "* LIST (\\HasNoChildren \\Junk) \"/\" Junk",
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent",
            "* LIST (\\HasNoChildren \\Trash) \"/\" Trash",
        ],
        "OK LIST completed",
    );
    s.expect(
        "lsub_all",
        &[
            "* LSUB () \"/\" INBOX",
            "* LSUB () \"/\" Archive",
            "* LSUB () \"/\" Drafts",
            "* LSUB () \"/\" Junk",
            "* LSUB () \"/\" Sent",
            "* LSUB () \"/\" Trash",
        ],
        "OK LSUB completed",
    );
    // RFC 6154 §3 CREATE-SPECIAL-USE.
    s.expect("create_archive_use", &[], "OK CREATE completed");
    s.expect_tagged("create_bad_use", "NO [USEATTR] ");
    s.expect(
        "list_special_use_old",
        &["* LIST (\\HasNoChildren \\Archive) \"/\" Old"],
        "OK LIST completed",
    );
    // RFC 9051 §6.3.4: CREATE makes the missing superiors.
    s.expect("create_deep", &[], "OK CREATE completed");
    s.expect_tagged("create_exists", "NO [ALREADYEXISTS] ");
    // `%` stops at the hierarchy separator.
    s.expect(
        "list_percent",
        &[
            "* LIST (\\HasNoChildren) \"/\" INBOX",
            "* LIST (\\HasNoChildren \\Archive) \"/\" Archive",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts",
            "* LIST (\\HasNoChildren \\Junk) \"/\" Junk",
            "* LIST (\\HasNoChildren \\Archive) \"/\" Old",
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent",
            "* LIST (\\HasNoChildren \\Trash) \"/\" Trash",
            "* LIST (\\HasChildren) \"/\" a",
        ],
        "OK LIST completed",
    );
    s.expect(
        "list_a_percent",
        &["* LIST (\\HasChildren) \"/\" a/b"],
        "OK LIST completed",
    );
    // RFC 5258 / RFC 6154: LIST (SPECIAL-USE) selects the mailboxes with a special use.
    s.expect(
        "list_sel_special_use",
        &[
            "* LIST (\\HasNoChildren \\Archive) \"/\" Archive",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts",
            "* LIST (\\HasNoChildren \\Junk) \"/\" Junk",
            "* LIST (\\HasNoChildren \\Archive) \"/\" Old",
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent",
            "* LIST (\\HasNoChildren \\Trash) \"/\" Trash",
        ],
        "OK LIST completed",
    );
    s.expect("subscribe_ab", &[], "OK SUBSCRIBE completed");
    s.expect(
        "list_sel_subscribed",
        &[
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" INBOX",
            "* LIST (\\HasNoChildren \\Archive \\Subscribed) \"/\" Archive",
            "* LIST (\\HasNoChildren \\Drafts \\Subscribed) \"/\" Drafts",
            "* LIST (\\HasNoChildren \\Junk \\Subscribed) \"/\" Junk",
            "* LIST (\\HasNoChildren \\Sent \\Subscribed) \"/\" Sent",
            "* LIST (\\HasNoChildren \\Trash \\Subscribed) \"/\" Trash",
            "* LIST (\\HasChildren \\Subscribed) \"/\" a/b",
        ],
        "OK LIST completed",
    );
    s.expect(
        "list_return",
        &[
            "* LIST (\\HasChildren) \"/\" a",
            "* LIST (\\HasChildren \\Subscribed) \"/\" a/b",
            "* LIST (\\HasNoChildren) \"/\" a/b/c",
        ],
        "OK LIST completed",
    );
    // RFC 5258 §3.5: RECURSIVEMATCH reports a parent of a subscribed child with CHILDINFO.
    assert_eq!(
        s.untagged("list_sel_recursive").last().map(String::as_str),
        Some("* LIST (\\HasChildren) \"/\" a (\"CHILDINFO\" (\"SUBSCRIBED\"))"),
    );
    // RFC 5258 §3: several patterns in one LIST.
    s.expect(
        "list_multi",
        &[
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent",
            "* LIST (\\HasNoChildren \\Trash) \"/\" Trash",
        ],
        "OK LIST completed",
    );
    // RFC 9051 §6.3.6: RENAME takes the inferiors along.
    s.expect("rename_a", &[], "OK RENAME completed");
    let after: Vec<String> = s.untagged("list_after_rename");
    assert_eq!(
        after[after.len() - 3..],
        [
            "* LIST (\\HasChildren) \"/\" z",
            "* LIST (\\HasChildren) \"/\" z/b",
            "* LIST (\\HasNoChildren) \"/\" z/b/c",
        ],
    );
    assert!(!after.iter().any(|l| l.contains("\" a")), "{after:?}");
    // The subscription stays on the old name (RFC 9051 §6.3.7: the server never removes a
    // name from the subscriptions by itself), where LIST-EXTENDED marks it \NonExistent, and
    // the renamed mailbox is subscribed under its new name.
    let subscribed = s.untagged("list_subscribed_after_rename");
    let ab = subscribed
        .iter()
        .find(|l| l.ends_with(" \"/\" a/b"))
        .expect("a/b listed");
    assert!(
        ab.contains("\\NonExistent") && ab.contains("\\Subscribed"),
        "{subscribed:?}"
    );
    assert_eq!(
        subscribed.last().map(String::as_str),
        Some("* LIST (\\HasChildren \\Subscribed) \"/\" z/b"),
        "{subscribed:?}"
    );
    // RFC 3501 §6.3.9: LSUB with `%` lists the parent of a subscribed child as \Noselect.
    let lsub = s.untagged("lsub_percent");
    assert!(
        lsub.iter().any(|l| l == "* LSUB (\\Noselect) \"/\" a")
            && lsub.iter().any(|l| l == "* LSUB (\\Noselect) \"/\" z"),
        "{lsub:?}"
    );
    // RFC 9051 §6.3.9: an empty pattern asks for the hierarchy delimiter.
    s.expect(
        "list_empty",
        &["* LIST (\\Noselect) \"/\" \"\""],
        "OK LIST completed",
    );
    s.expect("unsubscribe_zb", &[], "OK UNSUBSCRIBE completed");
    s.expect("lsub_after_unsubscribe", &[], "OK LSUB completed");
    s.expect("delete_leaf", &[], "OK DELETE completed");
    s.expect_tagged("delete_missing", "NO [NONEXISTENT] ");
    s.expect(
        "list_after_delete",
        &[
            "* LIST (\\HasChildren) \"/\" z",
            "* LIST (\\HasNoChildren) \"/\" z/b",
        ],
        "OK LIST completed",
    );
    s.expect_tagged("delete_inbox", "NO ");
    // Modified UTF-7 before UTF-8 is enabled (RFC 3501 §5.1.3): 日本語.
    s.expect("create_mutf7", &[], "OK CREATE completed");
    s.expect(
        "list_mutf7",
        &["* LIST (\\HasNoChildren) \"/\" &ZeVnLIqe-"],
        "OK LIST completed",
    );
    s.expect_tagged("append_mutf7", "OK [APPENDUID ");
    // RFC 5819 LIST-STATUS: a STATUS after each LIST.
    let status = s.untagged("list_status");
    assert_eq!(status.len(), 20, "{status:?}");
    assert_eq!(
        status[..2],
        [
            "* LIST (\\HasNoChildren) \"/\" INBOX",
            "* STATUS INBOX (MESSAGES 0 UNSEEN 0 SIZE 0)",
        ]
    );
    assert_eq!(
        status[18..],
        [
            "* LIST (\\HasNoChildren) \"/\" &ZeVnLIqe-",
            "* STATUS &ZeVnLIqe- (MESSAGES 1 UNSEEN 1 SIZE 200)",
        ]
    );
    // After ENABLE UTF8=ACCEPT (RFC 6855 §3) names are UTF-8, in and out.
    s.expect(
        "b_enable_utf8",
        &["* ENABLED UTF8=ACCEPT"],
        "OK ENABLE completed",
    );
    assert_eq!(
        s.untagged("b_list_utf8").last().map(String::as_str),
        Some("* LIST (\\HasNoChildren) \"/\" \"日本語\"")
    );
    s.expect("b_create_utf8", &[], "OK CREATE completed");
    s.expect(
        "b_status_utf8",
        &["* STATUS \"日本語\" (MESSAGES 1)"],
        "OK STATUS completed",
    );
    // RFC 6855 §4: APPEND with the UTF8 data extension.
    s.expect_tagged("b_append_utf8", "OK [APPENDUID ");
    s.expect(
        "b_status_utf8_after",
        &["* STATUS \"日本語\" (MESSAGES 2)"],
        "OK STATUS completed",
    );
    // The mailbox created in UTF-8 as a session without UTF-8 sees it: Grüße.
    s.expect(
        "list_mutf7_new",
        &["* LIST (\\HasNoChildren) \"/\" Gr&APwA3w-e"],
        "OK LIST completed",
    );
}

#[test]
fn append_status_and_binary() {
    let (_server, s) = scenario("append_status");
    let validity = s.code_number("append_flags_date", "APPENDUID");
    s.expect(
        "status_empty",
        &[&format!(
            "* STATUS INBOX (MESSAGES 0 UIDNEXT 1 UIDVALIDITY {validity} UNSEEN 0 DELETED 0 \
             SIZE 0 HIGHESTMODSEQ 1 APPENDLIMIT 65536)"
        )],
        "OK STATUS completed",
    );
    // RFC 4315 APPENDUID; a synchronising literal waits for `+`.
    assert_eq!(
        s.lines("append_flags_date"),
        [
            "+ Ready for literal data".to_string(),
            format!("OK [APPENDUID {validity} 1] APPEND completed")
        ]
    );
    // RFC 7888 LITERAL+: no continuation request.
    assert_eq!(
        s.lines("append_literal_plus"),
        [format!("OK [APPENDUID {validity} 2] APPEND completed")]
    );
    s.expect(
        "append_no_flags",
        &[],
        &format!("OK [APPENDUID {validity} 3] APPEND completed"),
    );
    s.expect_tagged("append_missing", "NO [TRYCREATE] ");
    // RFC 7889 §4 / RFC 9051 §7.1: TOOBIG, refused before the literal is sent.
    assert_eq!(
        s.lines("append_toobig").len(),
        1,
        "no `+` for a literal over the limit"
    );
    s.expect_tagged("append_toobig", "NO [TOOBIG] ");
    s.expect("noop_after_toobig", &[], "OK NOOP completed");
    // RFC 3516 §4.4: literal8 APPEND.
    s.expect_tagged(
        "append_literal8",
        &format!("OK [APPENDUID {validity} 4] APPEND completed"),
    );
    let binsize = s.fact("binmsg_size").as_u64().expect("size");
    assert_eq!(binsize, 250);
    // 200 + 155 + 197 + 250 octets; UID 1 is \Seen, UID 2 \Deleted.
    s.expect(
        "status_after",
        &[&format!(
            "* STATUS INBOX (MESSAGES 4 UIDNEXT 5 UIDVALIDITY {validity} UNSEEN 3 DELETED 1 \
             SIZE 802 HIGHESTMODSEQ 5 APPENDLIMIT 65536)"
        )],
        "OK STATUS completed",
    );
    let mut select = select_lines(4, validity, 5, 5, true);
    select.push("* OK [UNSEEN 2] First unseen".to_string());
    s.expect(
        "select",
        &select.iter().map(String::as_str).collect::<Vec<_>>(),
        "OK [READ-WRITE] SELECT completed",
    );
    let fetched = s.untagged("fetch_dates");
    // The INTERNALDATE given to APPEND comes back as the same instant.
    assert_eq!(
        fetched[0],
        "* 1 FETCH (UID 1 INTERNALDATE \"01-Feb-2026 10:34:56 +0000\" RFC822.SIZE 200 \
         FLAGS (\\Seen $Forwarded))"
    );
    let date = fetched[0].split('"').nth(1).expect("a date");
    let instant = chrono::DateTime::parse_from_str(date.trim(), "%d-%b-%Y %H:%M:%S %z")
        .expect("an INTERNALDATE");
    let given =
        chrono::DateTime::parse_from_str("01-Feb-2026 12:34:56 +0200", "%d-%b-%Y %H:%M:%S %z")
            .expect("date");
    assert_eq!(instant, given);
    for (line, (n, size, flags)) in
        fetched[1..]
            .iter()
            .zip([(2, 155, "(\\Deleted)"), (3, 197, "()"), (4, 250, "()")])
    {
        assert!(
            line.starts_with(&format!("* {n} FETCH (UID {n} INTERNALDATE \""))
                && line.ends_with(&format!("RFC822.SIZE {size} FLAGS {flags})")),
            "{line}"
        );
    }
    // RFC 3516: BINARY of a part with NULs comes as literal8, its size decoded.
    s.expect(
        "fetch_binary",
        &["* 4 FETCH (BINARY[2] ~{9}\r\n\u{0}\u{1}\u{2}\\xff\\xfe\r\n\u{0}A BINARY.SIZE[2] 9)"],
        "OK FETCH completed",
    );
}

/// RFC 9051 §4.3 / §9: a literal is `*CHAR8` and CHAR8 excludes NUL; BODY[...] is an `nstring`,
/// never a literal8 (RFC 3516 §4.2: binary content goes out through BINARY[...]). A part APPENDed
/// as literal8 with NULs in it comes back from `FETCH n (BODY[2])` with each NUL sent as 0x80
/// (as Dovecot does); BINARY[2] gives the octets.
#[test]
fn body_of_a_binary_part_never_carries_nul_in_a_literal() {
    let (_server, s) = scenario("append_status");
    let body = s.untagged("fetch_body_of_binary");
    assert_eq!(body.len(), 1, "{body:?}");
    assert!(body[0].starts_with("* 4 FETCH (BODY[2] "), "{body:?}");
    assert!(
        !body[0].contains('\u{0}'),
        "NUL inside a {{n}} literal: {body:?}"
    );
}

#[test]
fn select_examine_unselect_close_expunge() {
    let (_server, s) = scenario("select_expunge");
    assert_fixture_sizes(&s);
    let validity = s.code_number("select", "UIDVALIDITY");
    let with_unseen = |mut lines: Vec<String>, unseen: u32| {
        lines.push(format!("* OK [UNSEEN {unseen}] First unseen"));
        lines
    };
    let check = |name: &str, lines: Vec<String>, tagged: &str| {
        s.expect(
            name,
            &lines.iter().map(String::as_str).collect::<Vec<_>>(),
            tagged,
        )
    };
    check(
        "select",
        with_unseen(select_lines(4, validity, 5, 5, true), 2),
        "OK [READ-WRITE] SELECT completed",
    );
    // RFC 7162 §3.2.11: [CLOSED] where the previous mailbox's responses end.
    let mut examine = vec!["* OK [CLOSED] Previous mailbox closed".to_string()];
    examine.extend(with_unseen(select_lines(4, validity, 5, 5, false), 2));
    check("examine", examine, "OK [READ-ONLY] EXAMINE completed");
    s.expect_tagged("store_in_examine", "NO ");
    s.expect_tagged("expunge_in_examine", "NO ");
    // STORE .SILENT: no untagged FETCH (CONDSTORE is not on).
    s.expect("store_deleted_1", &[], "OK STORE completed");
    // RFC 3691: UNSELECT does not expunge.
    s.expect("unselect", &[], "OK UNSELECT completed");
    s.expect(
        "status_after_unselect",
        &["* STATUS INBOX (MESSAGES 4 DELETED 1)"],
        "OK STATUS completed",
    );
    // CLOSE of a mailbox opened by EXAMINE expunges nothing either.
    s.expect("close_examine", &[], "OK CLOSE completed");
    s.expect(
        "status_after_close_examine",
        &["* STATUS INBOX (MESSAGES 4 DELETED 1)"],
        "OK STATUS completed",
    );
    // RFC 9051 §6.4.1: CLOSE expunges \Deleted silently (no EXPUNGE responses).
    s.expect("close", &[], "OK CLOSE completed");
    s.expect(
        "status_after_close",
        &["* STATUS INBOX (MESSAGES 3 DELETED 0)"],
        "OK STATUS completed",
    );
    check(
        "select_4",
        with_unseen(select_lines(3, validity, 5, 7, true), 1),
        "OK [READ-WRITE] SELECT completed",
    );
    // RFC 4315 §2.1: UID EXPUNGE removes only the given UIDs (3 and 4 of the \Deleted 2, 3, 4).
    s.expect(
        "uid_expunge",
        &["* 3 EXPUNGE", "* 2 EXPUNGE"],
        "OK EXPUNGE completed",
    );
    s.expect(
        "fetch_left",
        &["* 1 FETCH (UID 2 FLAGS (\\Flagged \\Deleted))"],
        "OK FETCH completed",
    );
    s.expect("expunge", &["* 1 EXPUNGE"], "OK EXPUNGE completed");
    s.expect(
        "status_end",
        &["* STATUS INBOX (MESSAGES 0 UIDNEXT 5)"],
        "OK STATUS completed",
    );
    // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
    s.expect(
        "select_missing",
        &["* OK [CLOSED] Previous mailbox closed"],
        "NO [NONEXISTENT] no such mailbox",
    );
    s.expect_tagged("fetch_after_failed_select", "BAD ");
}

#[test]
fn fetch_items() {
    let (_server, s) = scenario("fetch");
    assert_fixture_sizes(&s);
    // EXAMINE: FETCH BODY[...] never sets \Seen (RFC 9051 §6.3.3).
    s.expect(
        "examine_body",
        &["* 3 FETCH (BODY[1] {35}\r\nCaf=C3=A9 cr=C3=A8me, see attached.)"],
        "OK FETCH completed",
    );
    s.expect(
        "examine_flags",
        &["* 3 FETCH (FLAGS ())"],
        "OK FETCH completed",
    );
    s.expect(
        "basic",
        &["* 1 FETCH (FLAGS (\\Seen) INTERNALDATE \"01-Jan-2026 09:00:00 +0000\" RFC822.SIZE 200 UID 1)"],
        "OK FETCH completed",
    );
    // RFC822.SIZE is the number of octets of BODY[].
    let body = &s.untagged("body_all_1")[0];
    let (head, literal) = body.split_once("\r\n").expect("a literal");
    assert_eq!(head, "* 1 FETCH (BODY[] {200}");
    assert_eq!(literal.len(), 200 + 1, "200 octets then `)`");
    let body2 = &s.untagged("body_all_2")[0];
    assert!(
        body2.starts_with("* 2 FETCH (BODY[] {197}\r\nFrom: \"Ann Example\""),
        "{body2}"
    );
    s.expect(
        "rfc822_size_2",
        &["* 2 FETCH (RFC822.SIZE 197)"],
        "OK FETCH completed",
    );
    s.expect(
        "rfc822_size_3",
        &["* 3 FETCH (RFC822.SIZE 2111)"],
        "OK FETCH completed",
    );
    // RFC 9051 §7.5.2 ENVELOPE: the subject as sent (encoded word), Sender and Reply-To from
    // From, a group as start/end markers, NIL for the missing Cc, Bcc, In-Reply-To, Message-ID.
    s.expect(
        "envelope",
        &["* 2 FETCH (ENVELOPE (\"Thu, 15 Jan 2026 10:00:00 +0100\" \
           \"=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\" \
           ((\"Ann Example\" NIL \"ann\" \"example.test\")) \
           ((\"Ann Example\" NIL \"ann\" \"example.test\")) \
           ((\"Ann Example\" NIL \"ann\" \"example.test\")) \
           ((NIL NIL \"Friends\" NIL)(NIL NIL \"bob\" \"example.test\")\
           (\"Cy\" NIL \"cy\" \"example.test\")(NIL NIL NIL NIL)) NIL NIL NIL NIL))"],
        "OK FETCH completed",
    );
    let inner_envelope = "(\"Sat, 31 Jan 2026 08:00:00 +0000\" \"Inner\" \
        ((\"Eve\" NIL \"eve\" \"example.test\")) ((\"Eve\" NIL \"eve\" \"example.test\")) \
        ((\"Eve\" NIL \"eve\" \"example.test\")) NIL NIL NIL NIL NIL)";
    s.expect(
        "bodystructure",
        &[&format!(
            "* 3 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \
             \"QUOTED-PRINTABLE\" 35 1 NIL NIL NIL NIL)\
             (\"APPLICATION\" \"OCTET-STREAM\" (\"NAME\" \"data.bin\") NIL NIL \"BASE64\" 1402 \
             NIL (\"ATTACHMENT\" (\"FILENAME\" \"data.bin\")) NIL NIL)\
             (\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 98 {inner_envelope} \
             (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 11 1 NIL NIL NIL NIL) \
             5 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"XYZ\") NIL NIL NIL))"
        )],
        "OK FETCH completed",
    );
    s.expect(
        "body",
        &[&format!(
            "* 3 FETCH (BODY ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \
             \"QUOTED-PRINTABLE\" 35 1)\
             (\"APPLICATION\" \"OCTET-STREAM\" (\"NAME\" \"data.bin\") NIL NIL \"BASE64\" 1402)\
             (\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 98 {inner_envelope} \
             (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 11 1) 5) \"MIXED\"))"
        )],
        "OK FETCH completed",
    );
    s.expect(
        "peek_parts",
        &[
            "* 3 FETCH (BODY[1] {35}\r\nCaf=C3=A9 cr=C3=A8me, see attached. \
           BODY[2.MIME] {148}\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n\
           Content-Disposition: attachment; filename=\"data.bin\"\r\n\
           Content-Transfer-Encoding: base64\r\n\r\n \
           BODY[HEADER.FIELDS (SUBJECT)] {26}\r\nSubject: Files for you\r\n\r\n \
           BODY[TEXT]<0> {5}\r\nThis )",
        ],
        "OK FETCH completed",
    );
    s.expect(
        "part3",
        &[
            "* 3 FETCH (BODY[3.HEADER] {87}\r\nFrom: Eve <eve@example.test>\r\nSubject: Inner\r\n\
           Date: Sat, 31 Jan 2026 08:00:00 +0000\r\n\r\n BODY[3.TEXT] {11}\r\nInner body.)",
        ],
        "OK FETCH completed",
    );
    // RFC 3516: BINARY decodes the quoted-printable part; BINARY.SIZE is the decoded size.
    s.expect(
        "binary",
        &["* 3 FETCH (BINARY[1] {27}\r\nCafé crème, see attached. BINARY.SIZE[1] 27)"],
        "OK FETCH completed",
    );
    s.expect(
        "binary_attachment_size",
        &["* 3 FETCH (BINARY.SIZE[2] 1024)"],
        "OK FETCH completed",
    );
    // BODY.PEEK and BINARY.PEEK leave \Seen alone; BODY[] sets it, with FLAGS in the response.
    s.expect(
        "flags_after_peek",
        &["* 3 FETCH (FLAGS ())"],
        "OK FETCH completed",
    );
    s.expect(
        "body_sets_seen",
        &["* 3 FETCH (BODY[1] {35}\r\nCaf=C3=A9 cr=C3=A8me, see attached. FLAGS (\\Seen))"],
        "OK FETCH completed",
    );
    s.expect(
        "flags_after_body",
        &["* 3 FETCH (FLAGS (\\Seen))"],
        "OK FETCH completed",
    );
    assert!(
        s.untagged("body_all_2")[0].ends_with(" FLAGS (\\Seen \\Flagged))"),
        "{:?}",
        s.untagged("body_all_2")
    );
    s.expect(
        "header_not_field",
        &["* 4 FETCH (BODY[HEADER.FIELDS.NOT (DATE FROM TO SUBJECT)] {22}\r\nX-Tracking: abc123\r\n\r\n)"],
        "OK FETCH completed",
    );
    s.expect(
        "uid_fetch",
        &["* 4 FETCH (UID 4 FLAGS (\\Answered $Forwarded))"],
        "OK FETCH completed",
    );
    // RFC 7162: MODSEQ of the first APPEND of a new mailbox (HIGHESTMODSEQ was 1).
    s.expect("modseq", &["* 1 FETCH (MODSEQ (2))"], "OK FETCH completed");
    s.expect(
        "macro_fast",
        &["* 1 FETCH (FLAGS (\\Seen) INTERNALDATE \"01-Jan-2026 09:00:00 +0000\" RFC822.SIZE 200)"],
        "OK FETCH completed",
    );
    // RFC822.HEADER is a peek, RFC822.TEXT is not.
    let header = "From: Carol <carol@example.test>\r\nTo: alice@example.test\r\n\
        Subject: Re: lunch\r\nDate: Fri, 20 Feb 2026 12:00:00 +0000\r\nX-Tracking: abc123\r\n\r\n";
    s.expect(
        "rfc822_header_text",
        &[&format!(
            "* 4 FETCH (RFC822.HEADER {{139}}\r\n{header} RFC822.TEXT {{16}}\r\nPizza at noon?\r\n \
             FLAGS (\\Seen \\Answered $Forwarded))"
        )],
        "OK FETCH completed",
    );
    s.expect(
        "rfc822",
        &[&format!(
            "* 4 FETCH (RFC822 {{155}}\r\n{header}Pizza at noon?\r\n)"
        )],
        "OK FETCH completed",
    );
    // Partial fetches: `<origin>` in the response, "" past the end.
    s.expect(
        "partial",
        &["* 1 FETCH (BODY[]<6> {5}\r\nAlice BODY[TEXT]<400> \"\")"],
        "OK FETCH completed",
    );
    s.expect_tagged("missing_message", "BAD ");
}

#[test]
fn store_and_condstore() {
    let (_server, s) = scenario("store");
    assert_fixture_sizes(&s);
    s.expect(
        "enable_condstore",
        &["* ENABLED CONDSTORE"],
        "OK ENABLE completed",
    );
    s.expect(
        "modseqs",
        &[
            "* 1 FETCH (MODSEQ (2))",
            "* 2 FETCH (MODSEQ (3))",
            "* 3 FETCH (MODSEQ (4))",
            "* 4 FETCH (MODSEQ (5))",
        ],
        "OK FETCH completed",
    );
    s.expect(
        "flags_replace",
        &["* 1 FETCH (FLAGS (\\Draft) MODSEQ (6))"],
        "OK STORE completed",
    );
    s.expect(
        "flags_add",
        &["* 1 FETCH (FLAGS (\\Seen \\Draft $Forwarded) MODSEQ (7))"],
        "OK STORE completed",
    );
    s.expect(
        "flags_remove",
        &["* 1 FETCH (FLAGS (\\Seen $Forwarded) MODSEQ (8))"],
        "OK STORE completed",
    );
    // RFC 7162 §3.1.3: with CONDSTORE on, .SILENT still answers the new MODSEQ (no FLAGS).
    s.expect(
        "flags_silent",
        &["* 2 FETCH (MODSEQ (9))"],
        "OK STORE completed",
    );
    s.expect(
        "flags_now",
        &[
            "* 1 FETCH (FLAGS (\\Seen $Forwarded))",
            "* 2 FETCH (FLAGS (\\Answered \\Flagged))",
        ],
        "OK FETCH completed",
    );
    // RFC 7162 §3.1.4.1: CHANGEDSINCE returns what changed after the given mod-sequence.
    s.expect(
        "changedsince",
        &[
            "* 1 FETCH (FLAGS (\\Seen $Forwarded) MODSEQ (8))",
            "* 2 FETCH (FLAGS (\\Answered \\Flagged) MODSEQ (9))",
            "* 4 FETCH (FLAGS (\\Answered $Forwarded) MODSEQ (5))",
        ],
        "OK FETCH completed",
    );
    // RFC 7162 §3.1.3 UNCHANGEDSINCE: stored when unchanged...
    s.expect(
        "unchangedsince_ok",
        &["* 3 FETCH (FLAGS (\\Flagged) MODSEQ (10))"],
        "OK STORE completed",
    );
    // ...and when one of the messages changed since, the others are stored and it is named.
    s.expect(
        "unchangedsince_fail",
        &["* 1 FETCH (FLAGS (\\Seen $Forwarded $Important) MODSEQ (11))"],
        "OK [MODIFIED 2] Conditional STORE failed",
    );
    s.expect(
        "uid_store",
        &["* 4 FETCH (UID 4 MODSEQ (12))"],
        "OK STORE completed",
    );
    s.expect(
        "flags_end",
        &[
            "* 1 FETCH (FLAGS (\\Seen $Forwarded $Important))",
            "* 2 FETCH (FLAGS (\\Answered \\Flagged))",
            "* 3 FETCH (FLAGS (\\Flagged))",
            "* 4 FETCH (FLAGS (\\Answered))",
        ],
        "OK FETCH completed",
    );
    s.expect(
        "search_modseq",
        &["* SEARCH 1 2 3 4 (MODSEQ 12)"],
        "OK SEARCH completed",
    );
}

#[test]
fn search_esearch_searchres() {
    let (_server, s) = scenario("search");
    assert_fixture_sizes(&s);
    for (name, hits) in [
        ("all", "1 2 3 4"),
        ("seen", "1"),
        ("unseen", "2 3 4"),
        ("flagged", "2"),
        ("answered", "4"),
        ("keyword", "4"),
        ("unkeyword", "1 2 3"),
        // Case-insensitive substring matches.
        ("from_ci", "3 4"),
        ("to_ci", "3"),
        ("subject_ci", "1"),
        ("body_ci", "1"),
        ("text_ci", "4"),
        ("text_header", "4"),
        ("header", "4"),
        // RFC 9051 §6.4.4: HEADER with an empty string matches every message with the field.
        ("header_exists", "1 3"),
        ("larger", "3"),
        ("smaller", "1 2 4"),
        // Internal dates 01-Jan, 15-Jan, 01-Feb, 20/21-Feb; Date: 01-Jan, 15-Jan, 01-Feb, 20-Feb.
        ("before", "1"),
        ("since", "2 3 4"),
        ("on", "2"),
        ("sentbefore", "1 2"),
        ("sentsince", "3 4"),
        ("or", "2 4"),
        ("not", "2 3 4"),
        ("paren", "2"),
        ("seqset", "2 3"),
        ("uidset", "3 4"),
        // RFC 7162 §3.1.5: the highest mod-sequence of what matched.
        ("modseq", "2 3 4 (MODSEQ 5)"),
        // RFC 2047 subject found by its decoded UTF-8 text (a literal: `grüße`).
        ("charset_utf8", "2"),
        ("uid_search", "3 4"),
    ] {
        s.expect(name, &[&format!("* SEARCH {hits}")], "OK SEARCH completed");
    }
    s.expect("nomatch", &["* SEARCH"], "OK SEARCH completed");
    // RFC 9051 §6.4.4 / §7.1: BADCHARSET with the charsets supported.
    for name in ["charset_bad", "charset_bad_raw"] {
        s.expect_tagged(name, "NO [BADCHARSET (UTF-8 US-ASCII)] ");
    }
    // RFC 4731 ESEARCH.
    let tag = |name: &str| {
        s.step(name)["lines"]
            .as_array()
            .and_then(|l| l.last())
            .and_then(Value::as_str)
            .and_then(|l| l.split(' ').next())
            .expect("a tag")
            .to_string()
    };
    let esearch = |name: &str, rest: &str| {
        let tag = tag(name);
        s.expect(
            name,
            &[&format!("* ESEARCH (TAG \"{tag}\"){rest}")],
            "OK SEARCH completed",
        );
    };
    esearch("esearch", " MIN 3 MAX 4 COUNT 2 ALL 3:4");
    esearch("esearch_empty", " COUNT 0");
    esearch("esearch_uid", " UID ALL 1:4");
    esearch("esearch_default", " ALL 2:4");
    // RFC 5182 SEARCHRES: SAVE alone answers nothing; `$` is the saved result.
    s.expect("searchres_save", &[], "OK SEARCH completed");
    s.expect(
        "searchres_fetch",
        &["* 2 FETCH (UID 2)", "* 4 FETCH (UID 4)"],
        "OK FETCH completed",
    );
    s.expect(
        "searchres_uid_search",
        &["* SEARCH 4"],
        "OK SEARCH completed",
    );
}

#[test]
fn copy_and_move() {
    let (_server, s) = scenario("copy_move");
    assert_fixture_sizes(&s);
    let dest = s.code_number("copy", "COPYUID");
    // RFC 4315 §3 COPYUID: source UIDs and the UIDs given to the copies, in the same order.
    s.expect(
        "copy",
        &[],
        &format!("OK [COPYUID {dest} 1:2 1:2] COPY completed"),
    );
    s.expect(
        "uid_copy",
        &[],
        &format!("OK [COPYUID {dest} 3:4 3:4] COPY completed"),
    );
    s.expect_tagged("copy_missing", "NO [TRYCREATE] ");
    // RFC 6851 §4.3: COPYUID in an untagged OK before the EXPUNGEs.
    s.expect(
        "move",
        &[&format!("* OK [COPYUID {dest} 1 5] Moved"), "* 1 EXPUNGE"],
        "OK MOVE completed",
    );
    s.expect(
        "uid_move",
        &[&format!("* OK [COPYUID {dest} 3 6] Moved"), "* 2 EXPUNGE"],
        "OK MOVE completed",
    );
    s.expect_tagged("move_missing", "NO [TRYCREATE] ");
    s.expect("uid_move_none", &[], "OK MOVE completed");
    s.expect(
        "fetch_left",
        &["* 1 FETCH (UID 2)", "* 2 FETCH (UID 4)"],
        "OK FETCH completed",
    );
    s.expect(
        "status_dest",
        &["* STATUS Dest (MESSAGES 6 UIDNEXT 7)"],
        "OK STATUS completed",
    );
    // Copies keep their flags.
    s.expect(
        "dest_contents",
        &[
            "* 1 FETCH (UID 1 FLAGS (\\Seen) BODY[HEADER.FIELDS (SUBJECT)] {29}\r\nSubject: Quarterly Report\r\n\r\n)",
            "* 2 FETCH (UID 2 FLAGS (\\Flagged) BODY[HEADER.FIELDS (SUBJECT)] {49}\r\nSubject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n\r\n)",
            "* 3 FETCH (UID 3 FLAGS () BODY[HEADER.FIELDS (SUBJECT)] {26}\r\nSubject: Files for you\r\n\r\n)",
            "* 4 FETCH (UID 4 FLAGS (\\Answered $Forwarded) BODY[HEADER.FIELDS (SUBJECT)] {22}\r\nSubject: Re: lunch\r\n\r\n)",
            "* 5 FETCH (UID 5 FLAGS (\\Seen) BODY[HEADER.FIELDS (SUBJECT)] {29}\r\nSubject: Quarterly Report\r\n\r\n)",
            "* 6 FETCH (UID 6 FLAGS () BODY[HEADER.FIELDS (SUBJECT)] {26}\r\nSubject: Files for you\r\n\r\n)",
        ],
        "OK FETCH completed",
    );
}

#[test]
fn qresync_resynchronises() {
    let (_server, s) = scenario("qresync");
    assert_fixture_sizes(&s);
    s.expect("enable", &["* ENABLED QRESYNC"], "OK ENABLE completed");
    let validity = s.code_number("select", "UIDVALIDITY");
    assert_eq!(s.code_number("select", "HIGHESTMODSEQ"), 5);
    // Session b: UID 2 expunged (mod-sequences 6, 7), UID 4 flagged (8).
    s.expect("b_expunge", &["* 2 EXPUNGE"], "OK EXPUNGE completed");
    // RFC 7162 §3.2.5.1: VANISHED (EARLIER) then the changed messages, before the completion.
    let mut resync = select_lines(3, validity, 5, 8, true);
    resync.push("* OK [UNSEEN 2] First unseen".to_string());
    let changes = [
        "* VANISHED (EARLIER) 2".to_string(),
        "* 3 FETCH (UID 4 FLAGS (\\Answered \\Flagged $Forwarded) MODSEQ (8))".to_string(),
    ];
    let mut expected = resync.clone();
    expected.extend(changes.iter().cloned());
    s.expect(
        "select_qresync",
        &expected.iter().map(String::as_str).collect::<Vec<_>>(),
        "OK [READ-WRITE] SELECT completed",
    );
    // RFC 7162 §3.2.6: UID FETCH (CHANGEDSINCE m VANISHED).
    s.expect(
        "uid_fetch_vanished",
        &changes.iter().map(String::as_str).collect::<Vec<_>>(),
        "OK FETCH completed",
    );
    let mut expected = vec!["* OK [CLOSED] Previous mailbox closed".to_string()];
    expected.extend(resync.iter().cloned());
    expected.extend(changes.iter().cloned());
    s.expect(
        "select_qresync_known",
        &expected.iter().map(String::as_str).collect::<Vec<_>>(),
        "OK [READ-WRITE] SELECT completed",
    );
    // A UIDVALIDITY that does not match: a plain SELECT, no VANISHED.
    let mut expected = vec!["* OK [CLOSED] Previous mailbox closed".to_string()];
    expected.extend(resync.iter().cloned());
    s.expect(
        "select_qresync_wrong_validity",
        &expected.iter().map(String::as_str).collect::<Vec<_>>(),
        "OK [READ-WRITE] SELECT completed",
    );
    // RFC 7162 §3.2.10: once QRESYNC is on, expunges are reported as VANISHED.
    s.expect("b_expunge_4", &["* 3 EXPUNGE"], "OK EXPUNGE completed");
    s.expect("noop_sees_vanished", &["* VANISHED 4"], "OK NOOP completed");
    s.expect(
        "expunge_own",
        &["* 1 FETCH (UID 1 MODSEQ (11))"],
        "OK STORE completed",
    );
    s.expect(
        "expunge_own_2",
        &["* VANISHED 1"],
        "OK [HIGHESTMODSEQ 12] EXPUNGE completed",
    );
    let trash = s.code_number("uid_move_vanished", "COPYUID");
    s.expect(
        "uid_move_vanished",
        &[&format!("* OK [COPYUID {trash} 3 1] Moved"), "* VANISHED 3"],
        "OK MOVE completed",
    );
    // RFC 7162 §3.2.5: the QRESYNC parameter needs ENABLE QRESYNC.
    s.expect_tagged("c_select_qresync_no_enable", "BAD ");
}

#[test]
fn imap4rev2_select_and_search() {
    let (_server, s) = scenario("rev2");
    assert_fixture_sizes(&s);
    s.expect("enable", &["* ENABLED IMAP4rev2"], "OK ENABLE completed");
    let validity = s.code_number("select", "UIDVALIDITY");
    // RFC 9051 §6.3.2: no RECENT (nor UNSEEN code), and the mailbox's LIST response.
    s.expect(
        "select",
        &[
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
            "* 4 EXISTS",
            &format!("* OK [UIDVALIDITY {validity}] UIDs valid"),
            "* OK [UIDNEXT 5] Predicted next UID",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted",
            "* OK [HIGHESTMODSEQ 5] Highest",
            "* LIST (\\HasNoChildren) \"/\" INBOX",
        ],
        "OK [READ-WRITE] SELECT completed",
    );
    // RFC 9051 §6.4.4: SEARCH answers ESEARCH.
    let tag = |name: &str| {
        s.step(name)["lines"]
            .as_array()
            .and_then(|l| l.last())
            .and_then(Value::as_str)
            .and_then(|l| l.split(' ').next())
            .expect("a tag")
            .to_string()
    };
    s.expect(
        "search",
        &[&format!("* ESEARCH (TAG \"{}\") ALL 3:4", tag("search"))],
        "OK SEARCH completed",
    );
    s.expect(
        "search_none",
        &[&format!("* ESEARCH (TAG \"{}\")", tag("search_none"))],
        "OK SEARCH completed",
    );
    s.expect(
        "uid_search",
        &[&format!(
            "* ESEARCH (TAG \"{}\") UID ALL 2:4",
            tag("uid_search")
        )],
        "OK SEARCH completed",
    );
    let examine = s.untagged("examine_sent");
    assert_eq!(
        examine.last().map(String::as_str),
        Some("* LIST (\\HasNoChildren \\Sent) \"/\" Sent"),
        "{examine:?}"
    );
    assert_eq!(s.tagged("examine_sent"), "OK [READ-ONLY] EXAMINE completed");
    s.expect(
        "status_rev2",
        &["* STATUS INBOX (MESSAGES 4 DELETED 0 SIZE 2663)"],
        "OK STATUS completed",
    );
    // Another session that did not enable IMAP4rev2 still gets the IMAP4rev1 form.
    let rev1 = s.untagged("b_select_rev1");
    assert!(rev1.contains(&"* 0 RECENT".to_string()), "{rev1:?}");
    assert!(!rev1.iter().any(|l| l.starts_with("* LIST ")), "{rev1:?}");
}
