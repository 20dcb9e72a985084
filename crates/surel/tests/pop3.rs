//! POP3 end to end: Python's poplib, fetchmail and raw lines against the real server, checking
//! what the store holds afterwards. (IMAP does not exist yet: deletions are checked through the
//! store, which is what IMAP will read.)

mod common;

use std::sync::Arc;

use common::*;
use serde_json::Value;
use surel_store::{DeliveryTarget, NewMessage, Store};
use surel_store_sqlite::SqliteStore;
use surel_types::{Address, MailboxName};

const USER: &str = "pat@local.test";
const PASSWORD: &str = "correct horse battery staple";

fn server() -> TestServer {
    let server = TestServer::start_pop3("");
    server.add_domain("local.test");
    server.add_account(USER, PASSWORD);
    server
}

/// Delivers messages over SMTP; returns them as sent.
fn deliver_smtp(server: &TestServer, bodies: &[&str]) -> Vec<String> {
    let mut smtp = server.smtp_ehlo();
    bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let m = message("a@remote.test", USER, &format!("msg {i}"), body);
            smtp.send_mail("a@remote.test", &[USER], m.as_bytes())
                .matches("250")
                .then_some(())
                .expect("delivered");
            m
        })
        .collect()
}

/// Runs `pop3_session.py` against the server's POP3 port (or POP3S with `--ssl`).
fn poplib(server: &TestServer, flags: &[&str], ops: &[&str]) -> Value {
    let service = if flags.contains(&"--ssl") {
        "pop3s"
    } else {
        "pop3"
    };
    let port = server.listening_on(service).port().to_string();
    let mut args = vec!["--port", &port, "--user", USER, "--password", PASSWORD];
    args.extend_from_slice(flags);
    args.extend_from_slice(ops);
    server.run_py("pop3_session.py", &args)
}

fn results(out: &Value) -> &Vec<Value> {
    out["results"].as_array().expect("results")
}

fn lines(v: &Value) -> Vec<String> {
    v["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("no lines in {v}"))
        .iter()
        .map(|l| l.as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn every_command_through_poplib_and_quit_commits_deletions() {
    let server = server();
    deliver_smtp(
        &server,
        &["hello", ".starts with a dot\n..two dots\n.", "third"],
    );
    let stored = server.inbox(USER);
    let out = poplib(
        &server,
        &[],
        &[
            "capa", "stat", "list", "list:2", "uidl", "uidl:1", "retr:1", "retr:2", "retr:3",
            "top:2:0", "top:2:1", "noop", "dele:2", "list:2", "retr:2", "stat", "quit",
        ],
    );
    assert!(
        out["welcome"].as_str().unwrap().starts_with("+OK"),
        "{out:#}"
    );
    let r = results(&out);
    let capa = &r[0];
    for cap in ["TOP", "UIDL", "RESP-CODES", "PIPELINING", "IMPLEMENTATION"] {
        assert!(capa.get(cap).is_some(), "no {cap} in CAPA: {capa}");
    }
    // Login and STLS capabilities are for the AUTHORIZATION state only (RFC 2449 §5).
    for cap in ["APOP", "USER", "SASL", "STLS"] {
        assert!(capa.get(cap).is_none(), "{cap} in CAPA after login: {capa}");
    }
    let sizes: Vec<u64> = stored.iter().map(|m| m.len() as u64).collect();
    let total: u64 = sizes.iter().sum();
    assert_eq!(r[1]["count"], 3, "{out:#}");
    assert_eq!(r[1]["size"], total, "{out:#}");
    let listing: Vec<String> = sizes
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{} {s}", i + 1))
        .collect();
    assert_eq!(lines(&r[2]), listing);
    assert_eq!(r[3]["resp"], format!("+OK 2 {}", sizes[1]));
    let uids = lines(&r[4]);
    assert_eq!(uids.len(), 3);
    assert_eq!(r[5]["resp"], format!("+OK {}", uids[0]));
    // RETR sends the stored message exactly; poplib's octet count (CRLF, unstuffed) is its size.
    for i in 0..3 {
        let retr = &r[6 + i];
        assert_eq!(retr["octets"], sizes[i], "{retr}");
        assert_eq!(
            retr["text"].as_str().unwrap().as_bytes(),
            stored[i],
            "{retr}"
        );
        assert_eq!(retr["resp"], format!("+OK {} octets", sizes[i]));
    }
    let header = header_section(&stored[1]);
    assert_eq!(r[9]["text"].as_str().unwrap(), format!("{header}\r\n"));
    assert_eq!(
        r[10]["text"].as_str().unwrap(),
        format!("{header}\r\n.starts with a dot\r\n")
    );
    assert!(r[11]["resp"].as_str().unwrap().starts_with("+OK"));
    assert!(r[12]["resp"].as_str().unwrap().starts_with("+OK"));
    assert!(
        r[13]["error"].as_str().unwrap().starts_with("-ERR"),
        "{out:#}"
    );
    assert!(
        r[14]["error"].as_str().unwrap().starts_with("-ERR"),
        "{out:#}"
    );
    assert_eq!(r[15]["count"], 2);
    assert_eq!(r[15]["size"], total - sizes[1]);
    assert!(r[16]["resp"].as_str().unwrap().starts_with("+OK"));
    // After QUIT the message is gone from the store (what IMAP and webmail read).
    let after = server.inbox(USER);
    assert_eq!(after, [stored[0].clone(), stored[2].clone()]);
}

#[test]
fn rset_undoes_dele_drop_deletes_nothing_uidl_stable_and_in_use() {
    let server = server();
    deliver_smtp(&server, &["one", "two", "three"]);
    let first = poplib(
        &server,
        &[],
        &["uidl", "dele:1", "dele:2", "rset", "second", "quit"],
    );
    let r = results(&first);
    let uids = lines(&r[0]);
    assert!(
        r[3]["resp"].as_str().unwrap().starts_with("+OK"),
        "{first:#}"
    );
    let in_use = r[4]["error"].as_str().unwrap_or_default();
    assert!(in_use.starts_with("-ERR [IN-USE]"), "{first:#}");
    assert_eq!(server.inbox(USER).len(), 3, "RSET undid the deletions");

    let dropped = poplib(&server, &[], &["dele:1", "dele:3", "drop"]);
    assert_eq!(results(&dropped)[2]["resp"], "dropped");
    // The lock is freed once the server sees the close; a later session must log in.
    let mut again = Value::Null;
    for _ in 0..50 {
        again = poplib(&server, &[], &["uidl", "dele:2", "quit"]);
        if again.get("login").is_some() {
            break;
        }
        pause(std::time::Duration::from_millis(100));
    }
    assert!(again.get("login").is_some(), "{again:#}");
    assert_eq!(
        lines(&results(&again)[0]),
        uids,
        "UIDL is stable across sessions"
    );
    let after = poplib(&server, &[], &["uidl", "quit"]);
    let left = lines(&results(&after)[0]);
    let want: Vec<String> = [&uids[0], &uids[2]]
        .iter()
        .enumerate()
        .map(|(i, u)| format!("{} {}", i + 1, u.split_once(' ').unwrap().1))
        .collect();
    assert_eq!(left, want, "message numbers change, unique ids do not");
    assert_eq!(server.inbox(USER).len(), 2);
}

#[test]
fn stls_pop3s_and_auth_plain() {
    let server = server();
    let sent = deliver_smtp(&server, &["over TLS"]);
    let out = poplib(&server, &["--stls"], &["capa", "retr:1", "quit"]);
    assert!(out["stls"].as_str().unwrap().starts_with("+OK"), "{out:#}");
    let before = &out["capa_before_stls"];
    for cap in ["STLS", "USER", "SASL"] {
        assert!(
            before.get(cap).is_some(),
            "no {cap} in CAPA on loopback: {out:#}"
        );
    }
    assert_eq!(before["SASL"][0], "PLAIN");
    let r = results(&out);
    assert!(
        r[0].get("STLS").is_none(),
        "no STLS once TLS is on: {out:#}"
    );
    assert!(r[1]["text"].as_str().unwrap().ends_with(&sent[0]));

    let out = poplib(&server, &["--ssl", "--auth-plain"], &["stat", "quit"]);
    assert!(out["login"].as_str().unwrap().starts_with("+OK"), "{out:#}");
    assert_eq!(results(&out)[0]["count"], 1);

    let port = server.listening_on("pop3").port().to_string();
    let bad = server.run_py(
        "pop3_session.py",
        &[
            "--port",
            &port,
            "--user",
            USER,
            "--password",
            "wrong",
            "stat",
        ],
    );
    let e = bad["login_error"].as_str().unwrap_or_default();
    assert!(e.starts_with("-ERR [AUTH]"), "{bad:#}");
}

#[test]
fn bad_input_gets_err_and_the_session_goes_on() {
    let server = server();
    let addr = server.listening_on("pop3");
    let mut c = RawSmtp::connect(addr);
    let line = |c: &mut RawSmtp, send: &str| {
        c.send(format!("{send}\r\n"));
        pop3_line(c)
    };
    assert!(pop3_line(&mut c).starts_with("+OK"));
    assert_eq!(line(&mut c, "XYZZY"), "-ERR unknown command");
    assert_eq!(
        line(&mut c, "APOP pat c4c9334bac560ecc979e58001b3e22fb"),
        "-ERR unknown command"
    );
    assert_eq!(line(&mut c, "STAT"), "-ERR command not valid in this state");
    assert_eq!(
        line(&mut c, &format!("USER {}", "x".repeat(4000))),
        "-ERR line too long"
    );
    assert!(line(&mut c, &format!("USER {USER}")).starts_with("+OK"));
    assert!(line(&mut c, &format!("PASS {PASSWORD}")).starts_with("+OK"));
    assert_eq!(line(&mut c, "RETR 0"), "-ERR not a message number");
    assert_eq!(line(&mut c, "RETR 1"), "-ERR no such message");
    assert_eq!(
        line(&mut c, "TOP 1"),
        "-ERR needs a message number and a line count"
    );
    assert!(line(&mut c, "QUIT").starts_with("+OK"));
}

/// One POP3 status line (RawSmtp speaks lines; POP3 replies are not SMTP replies).
fn pop3_line(c: &mut RawSmtp) -> String {
    let mut byte = [0u8; 1];
    let mut line = Vec::new();
    use std::io::Read;
    let mut stream = c.stream().try_clone().expect("clone");
    while stream.read(&mut byte).expect("read") == 1 {
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(&line)).into_owned()
}

/// Puts `n` messages straight into the INBOX through the store (concurrently, so the store's
/// group commit makes it quick).
fn deliver_direct(server: &TestServer, n: usize) {
    let data_dir = server.data_dir.clone();
    block_on(async move {
        let store = Arc::new(SqliteStore::open(&data_dir).expect("open the store"));
        let account = store
            .account(&Address::parse(USER).unwrap())
            .await
            .unwrap()
            .expect("account");
        let mut tasks = Vec::new();
        for i in 0..n {
            let store = store.clone();
            let text = message(
                "bulk@remote.test",
                USER,
                &format!("bulk {i}"),
                &format!("message number {i}\n.dot line\nend"),
            );
            tasks.push(tokio::spawn(async move {
                let m = NewMessage {
                    bytes: Arc::from(text.into_bytes()),
                    internal_date: chrono_now(),
                    flags: Vec::new(),
                    auth_results: None,
                };
                let target = DeliveryTarget {
                    account: account.id,
                    mailbox: MailboxName::inbox(),
                };
                store.deliver(m, &[target]).await.expect("deliver");
            }));
        }
        for t in tasks {
            t.await.expect("deliver task");
        }
    });
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

#[test]
fn fetchmail_pulls_and_deletes_500_messages() {
    require_tool("fetchmail", &["--version"]);
    let server = server();
    deliver_direct(&server, 500);
    let stored = server.inbox(USER);
    assert_eq!(stored.len(), 500);
    let dir = server.dir().to_path_buf();
    let rc = dir.join("fetchmailrc");
    let port = server.listening_on("pop3s").port();
    std::fs::write(
        &rc,
        format!(
            "set no syslog\n\
             poll 127.0.0.1 service {port} protocol pop3 auth password\n  \
             user \"{USER}\" password \"{PASSWORD}\" is \"local\" here\n  \
             ssl no sslcertck fetchall no keep\n"
        ),
    )
    .expect("write rc");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let bsmtp = dir.join("out.bsmtp");
    let mut command = std::process::Command::new("fetchmail");
    command
        .env("HOME", &dir)
        .env("FETCHMAILHOME", &dir)
        .arg("--nodetach")
        .arg("-f")
        .arg(&rc)
        .arg("--pidfile")
        .arg(dir.join("fetchmail.pid"))
        .arg("--bsmtp")
        .arg(&bsmtp);
    let out = run_bounded(&mut command, None, WAIT * 4);
    assert!(
        out.status.success(),
        "fetchmail failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let batch = std::fs::read(&bsmtp).expect("bsmtp output");
    let count = batch
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"MAIL FROM:"))
        .count();
    assert_eq!(count, 500, "messages fetched");
    assert!(
        server.inbox(USER).is_empty(),
        "fetchmail deleted what it fetched"
    );
}
