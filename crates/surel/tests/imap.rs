//! IMAP end to end: Python's imaplib and raw lines against the real server, with mail arriving
//! over SMTP on the same server.
//!
//! Not covered here: LOGINDISABLED and `NO [PRIVACYREQUIRED]` for a plaintext client on the
//! network. Every test client is on loopback, where passwords in clear are allowed; the rule is
//! covered by the session's unit tests (surel-imap `login_needs_tls_except_on_loopback`).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};

use common::*;
use serde_json::{Value, json};

const USER: &str = "pat@local.test";
const PASSWORD: &str = "correct horse battery staple";

fn server() -> TestServer {
    let mut server = TestServer::configure("[limits]\nmessage_size = \"1MiB\"\n");
    server.enable_listener("imap");
    server.enable_listener("imaps");
    server.spawn();
    server.add_domain("local.test");
    server.add_account(USER, PASSWORD);
    server
}

/// Runs `imap_session.py` with `ops` (a JSON list of `[session, command, args...]`).
fn imaplib(server: &TestServer, flags: &[&str], ops: Value) -> Value {
    let service = if flags.contains(&"--ssl") {
        "imaps"
    } else {
        "imap"
    };
    let port = server.listening_on(service).port().to_string();
    let smtp = server.smtp_addr().port().to_string();
    let ops = ops.to_string();
    let mut args = vec![
        "--port",
        &port,
        "--user",
        USER,
        "--password",
        PASSWORD,
        "--smtp-port",
        &smtp,
    ];
    args.extend_from_slice(flags);
    args.push(&ops);
    server.run_py("imap_session.py", &args)
}

fn results(out: &Value) -> &Vec<Value> {
    out["results"].as_array().expect("results")
}

/// The text of a result that must be a NO or BAD: imaplib raises for some commands (recorded
/// as "error") and returns the NO for others.
fn error(v: &Value) -> String {
    if let Some(e) = v["error"].as_str() {
        return e.to_string();
    }
    assert!(
        v["typ"] == "NO" || v["typ"] == "BAD",
        "expected an error: {v}"
    );
    format!(
        "{} {}",
        v["typ"].as_str().unwrap_or_default(),
        data_strings(v).join(" ")
    )
}

fn ok(v: &Value) -> bool {
    v["typ"] == "OK"
}

fn data_strings(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {v}"))
        .iter()
        .map(|l| match l {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// A raw IMAP connection: lines out, lines in.
struct RawImap {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl RawImap {
    fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut c = RawImap { stream, reader };
        let greeting = c.line();
        assert!(greeting.starts_with("* OK [CAPABILITY "), "{greeting}");
        c
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read");
        line.trim_end_matches(['\r', '\n']).to_string()
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Sends `tag rest` and reads through the tagged completion.
    fn cmd(&mut self, tag: &str, rest: &str) -> Vec<String> {
        self.send(format!("{tag} {rest}\r\n").as_bytes());
        self.until(tag)
    }

    fn until(&mut self, tag: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            assert!(!line.is_empty(), "closed; got {lines:?}");
            let done = line.starts_with(&format!("{tag} "));
            lines.push(line);
            if done {
                return lines;
            }
        }
    }
}

#[test]
fn greeting_capability_login_and_authenticate() {
    let server = server();
    let out = imaplib(&server, &[], json!([["a", "capability"], ["a", "logout"]]));
    let welcome = out["welcome"].as_str().unwrap();
    assert!(
        welcome.starts_with("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 "),
        "{out:#}"
    );
    let before: Vec<&str> = out["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for cap in [
        "IMAP4REV1",
        "IMAP4REV2",
        "STARTTLS",
        "AUTH=PLAIN",
        "SASL-IR",
        "IDLE",
    ] {
        assert!(before.contains(&cap), "no {cap} before login: {out:#}");
    }
    // Loopback may log in without TLS: no LOGINDISABLED here.
    assert!(!before.contains(&"LOGINDISABLED"), "{out:#}");
    let login = &out["login"]["a"];
    assert_eq!(login[0], "OK", "{out:#}");
    assert!(
        login[1][0].as_str().unwrap().starts_with("[CAPABILITY "),
        "{out:#}"
    );
    let caps = &results(&out)[0];
    let line = caps["untagged"]["CAPABILITY"][0].as_str().unwrap();
    for cap in [
        "UIDPLUS",
        "MOVE",
        "CONDSTORE",
        "QRESYNC",
        "APPENDLIMIT=1048576",
        "NAMESPACE",
    ] {
        assert!(line.contains(cap), "no {cap} after login: {line}");
    }
    assert!(
        !line.contains("STARTTLS") && !line.contains("AUTH="),
        "{line}"
    );

    let out = imaplib(&server, &["--auth-plain"], json!([["a", "noop"]]));
    assert_eq!(out["login"]["a"][0], "OK", "{out:#}");

    let port = server.listening_on("imap").port().to_string();
    let bad = server.run_py(
        "imap_session.py",
        &["--port", &port, "--user", USER, "--password", "wrong", "[]"],
    );
    let e = bad["login"]["a"][1].as_str().unwrap_or_default();
    // imaplib only opens a session on first use; with no ops, none was opened.
    assert!(e.is_empty(), "{bad:#}");
    let bad = server.run_py(
        "imap_session.py",
        &[
            "--port",
            &port,
            "--user",
            USER,
            "--password",
            "wrong",
            r#"[["a", "noop"]]"#,
        ],
    );
    let e = bad["login"]["a"][1].as_str().unwrap_or_default();
    assert!(e.contains("[AUTHENTICATIONFAILED]"), "{bad:#}");
}

#[test]
fn starttls_and_imaps() {
    let server = server();
    let out = imaplib(&server, &["--starttls"], json!([["a", "capability"]]));
    assert_eq!(out["starttls"][0], "OK", "{out:#}");
    assert_eq!(out["login"]["a"][0], "OK", "{out:#}");
    let line = results(&out)[0]["untagged"]["CAPABILITY"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!line.contains("STARTTLS"), "{line}");

    let out = imaplib(&server, &["--ssl", "--auth-plain"], json!([["a", "noop"]]));
    assert_eq!(out["login"]["a"][0], "OK", "{out:#}");
    assert!(
        !out["capabilities"]
            .as_array()
            .unwrap()
            .contains(&json!("STARTTLS"))
    );

    // RFC 9051 §6.2.1: what was pipelined behind STARTTLS is discarded.
    let port = server.listening_on("imap").port().to_string();
    let out = server.run_py("imap_starttls_pipeline.py", &["--port", &port]);
    assert_eq!(
        out["starttls"][0].as_str().unwrap(),
        "s1 OK Begin TLS negotiation now",
        "{out:#}"
    );
    assert_eq!(out["plaintext_leftover"], "", "{out:#}");
    let after: Vec<&str> = out["after_tls"]
        .as_array()
        .unwrap_or_else(|| panic!("{out:#}"))
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(after[0].starts_with("* CAPABILITY "), "{out:#}");
    assert!(!after.iter().any(|l| l.starts_with("s2 ")), "{out:#}");
}

#[test]
fn mailbox_management() {
    let server = server();
    let out = imaplib(
        &server,
        &[],
        json!([
            ["a", "create", "Work/Projects"],
            ["a", "create", "Work"],
            ["a", "list"],
            ["a", "rename", "Work", "Jobs"],
            ["a", "subscribe", "Jobs/Projects"],
            ["a", "lsub"],
            ["a", "delete", "Jobs/Projects"],
            ["a", "delete", "Nope"],
            ["a", "delete", "INBOX"],
            ["a", "status", "INBOX", "(MESSAGES UIDNEXT UNSEEN)"],
            ["a", "status", "Nope", "(MESSAGES)"],
            ["a", "list", "\"\"", "%"],
            ["a", "create", "&AOk-t&AOk-"],
            ["a", "list", "\"\"", "&AOk-*"],
        ]),
    );
    let r = results(&out);
    assert!(ok(&r[0]), "{out:#}");
    assert!(
        error(&r[1]).contains("[ALREADYEXISTS]"),
        "parent was created implicitly: {out:#}"
    );
    let list = data_strings(&r[2]);
    for name in [
        "INBOX",
        "Sent",
        "Drafts",
        "Trash",
        "Junk",
        "Archive",
        "Work",
        "Work/Projects",
    ] {
        assert!(
            list.iter().any(|l| l.ends_with(&format!("\"/\" {name}"))
                || l.ends_with(&format!("\"/\" \"{name}\""))),
            "no {name} in {list:?}"
        );
    }
    assert!(ok(&r[3]) && ok(&r[4]), "{out:#}");
    let lsub = data_strings(&r[5]);
    assert!(lsub.iter().any(|l| l.contains("Jobs/Projects")), "{lsub:?}");
    assert!(ok(&r[6]), "{out:#}");
    assert!(error(&r[7]).contains("[NONEXISTENT]"), "{out:#}");
    assert!(error(&r[8]).contains("NO"), "{out:#}");
    let status = data_strings(&r[9]);
    assert!(status[0].contains("MESSAGES 0"), "{status:?}");
    assert!(status[0].contains("UIDNEXT 1"), "{status:?}");
    assert!(error(&r[10]).contains("[NONEXISTENT]"), "{out:#}");
    let top = data_strings(&r[11]);
    assert!(
        !top.iter().any(|l| l.contains("Jobs/")),
        "% stops at /: {top:?}"
    );
    assert!(ok(&r[12]), "{out:#}");
    let utf7 = data_strings(&r[13]);
    assert!(utf7.iter().any(|l| l.contains("&AOk-t&AOk-")), "{utf7:?}");
}

#[test]
fn append_then_select_sees_it_and_two_sessions_see_each_other() {
    let server = server();
    let message = "From: a@remote.test\r\nSubject: appended\r\n\r\nhello\r\n";
    let out = imaplib(
        &server,
        &[],
        json!([
            ["a", "select", "INBOX"],
            ["b", "select", "INBOX"],
            ["a", "append", "INBOX", "(\\Flagged)", message],
            ["b", "noop"],
            ["b", "store", "1", "+FLAGS", "(\\Seen)"],
            ["a", "noop"],
            ["b", "store", "1", "+FLAGS", "(\\Deleted)"],
            ["b", "expunge"],
            ["a", "noop"],
            ["a", "append", "Nope", "", message],
            ["a", "append", "INBOX", "(\\Recent)", message],
            ["c", "select", "INBOX"],
            ["c", "append", "Drafts", "(\\Draft)", message],
            ["d", "select", "Drafts"],
            ["d", "fetch", "1", "(FLAGS)"],
        ]),
    );
    let r = results(&out);
    assert_eq!(data_strings(&r[0]), ["0"], "{out:#}");
    assert!(ok(&r[2]), "{out:#}");
    let appended = data_strings(&r[2]);
    assert!(appended[0].starts_with("[APPENDUID "), "{out:#}");
    // The APPEND shows up in the session that made it...
    assert_eq!(r[2]["untagged"]["EXISTS"][0], "1", "{out:#}");
    // ...and in the other one at its next command.
    assert_eq!(r[3]["untagged"]["EXISTS"][0], "1", "{out:#}");
    assert!(ok(&r[4]), "{out:#}");
    let fetch = r[5]["untagged"]["FETCH"].to_string();
    assert!(fetch.contains("\\\\Seen"), "flag change seen by a: {out:#}");
    assert!(ok(&r[7]), "{out:#}");
    assert_eq!(
        r[8]["untagged"]["EXPUNGE"][0], "1",
        "expunge seen by a: {out:#}"
    );
    assert!(error(&r[9]).contains("[TRYCREATE]"), "{out:#}");
    assert!(error(&r[10]).contains("BAD"), "{out:#}");
    assert_eq!(data_strings(&r[11]), ["0"], "{out:#}");
    // A later session selecting the mailbox sees what was appended, with its flags.
    assert!(ok(&r[12]), "{out:#}");
    assert_eq!(data_strings(&r[13]), ["1"], "{out:#}");
    assert!(r[14].to_string().contains("\\\\Draft"), "{out:#}");
    assert!(server.inbox(USER).is_empty());
}

#[test]
fn idle_is_woken_by_an_smtp_delivery() {
    let server = server();
    let out = imaplib(
        &server,
        &[],
        json!([
            ["a", "select", "INBOX"],
            ["a", "idle_smtp", "someone@remote.test", USER],
            ["a", "fetch", "1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"],
        ]),
    );
    let r = results(&out);
    let idle = &r[1];
    let lines: Vec<&str> = idle["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("{out:#}"))
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(lines.contains(&"* 1 EXISTS"), "{out:#}");
    assert!(
        lines.last().unwrap().ends_with("OK IDLE terminated"),
        "{out:#}"
    );
    // Generous bound: a hang fails, slowness on a loaded machine does not.
    assert!(
        idle["seconds_after_delivery"].as_f64().unwrap() < 10.0,
        "{out:#}"
    );
    assert!(ok(&r[2]), "{out:#}");
    assert_eq!(server.inbox(USER).len(), 1);
}

#[test]
fn bad_commands_get_bad_and_the_session_goes_on() {
    let server = server();
    let mut c = RawImap::connect(server.listening_on("imap"));
    assert!(c.cmd("a1", "FROB").last().unwrap().starts_with("a1 BAD "));
    c.send(b"\r\n");
    c.send(b"))\r\n");
    let bad = c.line();
    assert!(bad.contains(" BAD "), "{bad}");
    assert!(
        c.cmd("a2", "SELECT INBOX")
            .last()
            .unwrap()
            .starts_with("a2 BAD ")
    );
    assert!(
        c.cmd("a3", "FETCH 1 (FLAGS)")
            .last()
            .unwrap()
            .starts_with("a3 BAD ")
    );
    let long = "x".repeat(100_000);
    assert!(
        c.cmd("a4", &format!("NOOP {long}"))
            .last()
            .unwrap()
            .starts_with("a4 BAD ")
    );
    let login = c.cmd("a5", &format!("LOGIN {USER} \"{PASSWORD}\""));
    assert!(login.last().unwrap().starts_with("a5 OK "), "{login:?}");
    assert!(c.cmd("a6", "CREATE").last().unwrap().starts_with("a6 BAD "));
    assert!(
        c.cmd("a7", "STORE 1 +FLAGS (\\Seen)")
            .last()
            .unwrap()
            .starts_with("a7 BAD ")
    );
    // An oversize synchronising literal is refused before the client sends it.
    c.send(b"a8 APPEND INBOX {50000000}\r\n");
    let refused = c.line();
    assert!(refused.starts_with("a8 NO [TOOBIG] "), "{refused}");
    let noop = c.cmd("a9", "NOOP");
    assert_eq!(noop.last().unwrap(), "a9 OK NOOP completed", "{noop:?}");
    let logout = c.cmd("a10", "LOGOUT");
    assert_eq!(
        logout,
        ["* BYE surel logging out", "a10 OK LOGOUT completed"]
    );
}

#[test]
fn garbage_bytes_never_crash_the_server() {
    let server = server();
    let mut rng = Rng::new(7);
    for round in 0..20 {
        let mut c = RawImap::connect(server.listening_on("imap"));
        if round % 2 == 0 {
            c.cmd("l", &format!("LOGIN {USER} \"{PASSWORD}\""));
        }
        let mut junk = rng.bytes(2000);
        junk.extend_from_slice(b"\r\nz1 NOOP\r\n");
        let _ = c.stream.write_all(&junk);
        let _ = c.stream.shutdown(std::net::Shutdown::Write);
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut c.reader, &mut rest);
    }
    // The harness fails the test if the server log shows a panic.
    let mut c = RawImap::connect(server.listening_on("imap"));
    assert_eq!(c.cmd("x", "NOOP").last().unwrap(), "x OK NOOP completed");
}

#[test]
fn login_timeout_comes_from_the_config() {
    let mut server = TestServer::configure("[limits]\nimap_login_timeout = \"1s\"\n");
    server.enable_listener("imap");
    server.spawn();
    let mut c = RawImap::connect(server.listening_on("imap"));
    // Nothing is sent: RFC 9051 §5.4 autologout, after the configured time.
    assert_eq!(c.line(), "* BYE Autologout; idle for too long");
    assert_eq!(c.line(), "", "then the server closes");
}

/// POP3 and IMAP read one store: a message POP3 deletes is expunged in an IMAP session that has
/// the mailbox selected, at its next command.
#[test]
fn a_pop3_deletion_reaches_an_imap_session() {
    let mut server = TestServer::configure("");
    server.enable_listener("imap");
    server.enable_listener("pop3");
    server.spawn();
    server.add_domain("local.test");
    server.add_account(USER, PASSWORD);
    for subject in ["first", "second"] {
        let mut smtp = server.smtp_ehlo();
        let sent = message("a@remote.test", USER, subject, "body");
        let reply = smtp.send_mail("a@remote.test", &[USER], sent.as_bytes());
        assert_eq!(reply.code, 250, "{}", reply.text());
    }
    let pop3 = server.listening_on("pop3").port().to_string();
    let out = imaplib(
        &server,
        &[],
        json!([
            ["a", "select", "INBOX"],
            ["a", "pop3_dele", pop3, "1"],
            ["a", "noop"],
            ["a", "fetch", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"],
        ]),
    );
    let r = results(&out);
    assert_eq!(data_strings(&r[0]), ["2"], "{out:#}");
    assert_eq!(r[2]["untagged"]["EXPUNGE"][0], "1", "{out:#}");
    let fetched = r[3].to_string();
    assert!(
        fetched.contains("second") && !fetched.contains("first"),
        "{out:#}"
    );
}
