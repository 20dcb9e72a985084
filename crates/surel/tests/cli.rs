//! The admin CLI (DESIGN §3): domains, accounts, aliases, errors in the `surel: error:` form with
//! exit code 1, and every command working while `surel serve` runs on the same data directory.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use common::*;
use surel_types::Secret;

fn verifies(hash: &str, password: &str) -> bool {
    surel_store::password::verify(&Secret::new(password.to_string()), hash)
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn domain_add_list_del() {
    let server = TestServer::configure("");
    assert_eq!(server.cli(&["domain", "list"]), "");
    server.add_domain("b.test");
    server.add_domain("a.test");
    assert_eq!(
        lines(&server.cli(&["domain", "list"])),
        ["a.test", "b.test"]
    );

    let err = server.cli_err(&["domain", "add", "a.test"], None);
    assert!(err.contains("a.test") && err.contains("exists"), "{err}");

    server.cli(&["domain", "del", "b.test"]);
    assert_eq!(lines(&server.cli(&["domain", "list"])), ["a.test"]);
    let err = server.cli_err(&["domain", "del", "b.test"], None);
    assert!(err.contains("b.test"), "{err}");

    let err = server.cli_err(&["domain", "add", "not a domain"], None);
    assert!(err.contains("not a domain"), "{err}");
}

#[test]
fn domain_with_accounts_cannot_be_deleted() {
    let server = TestServer::configure("");
    server.add_domain("a.test");
    server.add_account("user@a.test", "pw");
    let err = server.cli_err(&["domain", "del", "a.test"], None);
    assert!(
        err.contains("user@a.test"),
        "the error should name the account: {err}"
    );
    assert_eq!(lines(&server.cli(&["domain", "list"])), ["a.test"]);
}

#[test]
fn account_for_an_unknown_domain_names_the_domain() {
    let server = TestServer::configure("");
    let err = server.cli_err(
        &["account", "add", "someone@nowhere.test", "--password-stdin"],
        Some("pw\n"),
    );
    assert!(err.contains("nowhere.test"), "{err}");
    assert_eq!(server.cli(&["account", "list"]), "");
}

#[test]
fn account_add_with_password_stdin_list_and_del() {
    let server = TestServer::configure("");
    server.add_domain("a.test");
    server.add_account("bob@a.test", "s3cret pass phrase");
    server.add_account("alice@a.test", "other");
    assert_eq!(
        lines(&server.cli(&["account", "list"])),
        ["alice@a.test", "bob@a.test"]
    );
    let hash = server.password_hash("bob@a.test").expect("bob exists");
    assert!(
        verifies(&hash, "s3cret pass phrase"),
        "stored hash does not verify the given password"
    );
    assert!(
        !verifies(&hash, "wrong"),
        "stored hash verifies a wrong password"
    );

    let err = server.cli_err(
        &["account", "add", "bob@a.test", "--password-stdin"],
        Some("again\n"),
    );
    assert!(
        err.contains("bob@a.test") && err.contains("exists"),
        "{err}"
    );

    server.cli(&["account", "del", "bob@a.test"]);
    assert_eq!(lines(&server.cli(&["account", "list"])), ["alice@a.test"]);
    assert!(server.password_hash("bob@a.test").is_none());
    let err = server.cli_err(&["account", "del", "bob@a.test"], None);
    assert!(err.contains("bob@a.test"), "{err}");
}

#[test]
fn account_add_without_stdin_prints_a_generated_password() {
    let server = TestServer::configure("");
    server.add_domain("a.test");
    let out = server.cli(&["account", "add", "gen@a.test"]);
    let password = out.trim();
    assert_eq!(
        out.lines().count(),
        1,
        "stdout should be the password alone: {out:?}"
    );
    assert!(
        password.len() >= 12,
        "generated password too short: {password:?}"
    );
    let hash = server.password_hash("gen@a.test").expect("account exists");
    assert!(
        verifies(&hash, password),
        "the printed password does not verify"
    );
}

#[test]
fn empty_password_on_stdin_is_refused() {
    let server = TestServer::configure("");
    server.add_domain("a.test");
    let err = server.cli_err(
        &["account", "add", "x@a.test", "--password-stdin"],
        Some("\n"),
    );
    assert!(err.contains("empty"), "{err}");
    assert!(server.password_hash("x@a.test").is_none());
}

#[test]
fn passwd_replaces_the_password() {
    let server = TestServer::configure("");
    server.add_domain("a.test");
    server.add_account("carol@a.test", "old password");
    let out = server.cli_output(
        &["account", "passwd", "carol@a.test", "--password-stdin"],
        Some("new password\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hash = server.password_hash("carol@a.test").expect("carol exists");
    assert!(verifies(&hash, "new password"));
    assert!(!verifies(&hash, "old password"));

    let out = server.cli(&["account", "passwd", "carol@a.test"]);
    let generated = out.trim();
    let hash = server.password_hash("carol@a.test").expect("carol exists");
    assert!(
        verifies(&hash, generated),
        "generated password {generated:?} does not verify"
    );

    let err = server.cli_err(
        &["account", "passwd", "nobody@a.test", "--password-stdin"],
        Some("x\n"),
    );
    assert!(err.contains("nobody@a.test"), "{err}");
}

#[test]
fn alias_add_list_del_with_catch_all() {
    let server = TestServer::configure("");
    server.add_domain("a.test");
    server.add_account("alice@a.test", "pw");
    server.add_account("bob@a.test", "pw");
    server.add_alias("info@a.test", &["alice@a.test", "bob@a.test"]);
    server.add_alias("@a.test", &["bob@a.test"]);
    assert_eq!(
        lines(&server.cli(&["alias", "list"])),
        [
            "@a.test -> bob@a.test",
            "info@a.test -> alice@a.test, bob@a.test"
        ]
    );

    let err = server.cli_err(&["alias", "add", "info@a.test", "alice@a.test"], None);
    assert!(
        err.contains("info@a.test") && err.contains("exists"),
        "{err}"
    );
    let err = server.cli_err(&["alias", "add", "alice@a.test", "bob@a.test"], None);
    assert!(
        err.contains("alice@a.test"),
        "an alias cannot take an account's address: {err}"
    );
    let err = server.cli_err(&["alias", "add", "x@a.test", "ghost@a.test"], None);
    assert!(err.contains("ghost@a.test"), "{err}");
    let err = server.cli_err(&["alias", "add", "x@elsewhere.test", "alice@a.test"], None);
    assert!(err.contains("elsewhere.test"), "{err}");

    server.cli(&["alias", "del", "info@a.test"]);
    assert_eq!(
        lines(&server.cli(&["alias", "list"])),
        ["@a.test -> bob@a.test"]
    );
    server.cli(&["alias", "del", "@a.test"]);
    assert_eq!(server.cli(&["alias", "list"]), "");
    let err = server.cli_err(&["alias", "del", "@a.test"], None);
    assert!(err.contains("@a.test"), "{err}");
}

#[test]
fn unknown_config_key_is_an_error_naming_it() {
    let server = TestServer::configure("[limits]\nmessage_sise = \"1MiB\"");
    let err = server.cli_err(&["domain", "list"], None);
    assert!(err.contains("message_sise"), "{err}");
    let out = server.cli_output(&["serve"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("message_sise"));
}

#[test]
fn cli_changes_apply_while_the_server_runs() {
    let server = TestServer::start("");
    server.add_domain("live.test");
    server.add_account("dave@live.test", "pw");
    let mut smtp = server.smtp_ehlo();
    let sent = message(
        "sender@example.org",
        "dave@live.test",
        "live",
        "added while running",
    );
    let reply = smtp.send_mail("sender@example.org", &["dave@live.test"], sent.as_bytes());
    assert!(reply.matches("250"), "{}", smtp.transcript());
    let inbox = server.inbox("dave@live.test");
    assert_eq!(inbox.len(), 1);
    assert_delivered(&inbox[0], sent.as_bytes());

    server.add_alias("team@live.test", &["dave@live.test"]);
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("RCPT TO:<team@live.test>", "250");
    smtp.cmd("RSET", "250");

    server.cli(&["alias", "del", "team@live.test"]);
    server.cli(&["account", "del", "dave@live.test"]);
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("RCPT TO:<dave@live.test>", "550 5.1.1");
    smtp.cmd("RCPT TO:<team@live.test>", "550 5.1.1");
    smtp.cmd("RSET", "250");

    server.cli(&["domain", "del", "live.test"]);
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("RCPT TO:<dave@live.test>", "550 5.7.1");
    smtp.cmd("QUIT", "221");
}

/// Stops a server started outside [`TestServer`] when the test ends, however it ends.
struct KillOnDrop(Launched);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

/// `surel serve` with no config file in an empty directory: creates ./surel-data, the domain
/// localhost and the demo account (password printed once), listens on 127.0.0.1:2525.
#[test]
fn zero_config_serve_creates_the_demo_account_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = Arc::new(Mutex::new(String::new()));
    let start = || {
        let mut command = Command::new(BIN);
        command.arg("serve").current_dir(dir.path());
        KillOnDrop(launch(&mut command, &log))
    };
    let show = || log.lock().map(|l| l.clone()).unwrap_or_default();

    let mut first = start();
    let created: Vec<&String> = first
        .0
        .lines
        .iter()
        .filter(|l| l.starts_with("surel: created account"))
        .collect();
    let demo_line = created.first().copied().cloned().unwrap_or_else(|| {
        let _ = first.0.child.kill();
        panic!(
            "no `surel: created account` line on a fresh start\n{}",
            show()
        )
    });
    let password = demo_line
        .strip_prefix("surel: created account demo@localhost with password ")
        .unwrap_or_else(|| panic!("unexpected line {demo_line:?}"))
        .trim()
        .to_string();
    assert!(!password.is_empty());
    assert!(
        first
            .0
            .lines
            .iter()
            .any(|l| l.trim() == "surel: smtp listening on 127.0.0.1:2525"),
        "{:?}",
        first.0.lines
    );

    let mut smtp = RawSmtp::connect("127.0.0.1:2525".parse().expect("address"));
    smtp.expect("220");
    smtp.ehlo();
    let sent = message(
        "sender@example.org",
        "demo@localhost",
        "hello demo",
        "first mail",
    );
    let reply = smtp.send_mail("sender@example.org", &["demo@localhost"], sent.as_bytes());
    assert!(reply.matches("250"), "{}", smtp.transcript());
    smtp.cmd("QUIT", "221");

    signal(first.0.child.id(), "TERM");
    let status = wait_bounded(&mut first.0.child, WAIT * 3).expect("exit after SIGTERM");
    assert!(status.success(), "{status}\n{}", show());

    let data_dir = dir.path().join("surel-data");
    let inbox = inbox_in(&data_dir, "demo@localhost");
    assert_eq!(inbox.len(), 1);
    assert_delivered(&inbox[0], sent.as_bytes());
    let hash = block_on(async {
        use surel_store::Store;
        let store = surel_store_sqlite::SqliteStore::open(&data_dir).expect("store");
        let address = surel_types::Address::parse("demo@localhost").expect("address");
        store
            .account(&address)
            .await
            .expect("lookup")
            .expect("demo exists")
            .password_hash
    });
    assert!(
        verifies(&hash, &password),
        "the printed demo password does not verify"
    );

    let mut second = start();
    assert!(
        !second.0.lines.iter().any(|l| l.contains("created account")),
        "the demo account was created again: {:?}",
        second.0.lines
    );
    signal(second.0.child.id(), "TERM");
    let status = wait_bounded(&mut second.0.child, WAIT * 3).expect("exit after SIGTERM");
    assert!(status.success(), "{status}\n{}", show());
}
