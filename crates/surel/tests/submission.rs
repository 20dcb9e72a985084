//! Submission end to end (issue 5, RFC 6409): alice@a.test sends with Python's smtplib over 587
//! (STARTTLS + AUTH) and 465 (implicit TLS); remote mail goes through the queue to a second
//! surel on 127.0.0.2 (b.test's MX in an in-process DNS zone that also publishes a.test's DKIM
//! keys), local mail is delivered at once; refusals for bad passwords, no AUTH, spoofed From.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::*;
use surel_dns::test_server::Zone;

const ALICE: &str = "alice@a.test";
const CAROL: &str = "carol@a.test";
const BOB: &str = "bob@b.test";
const PASSWORD: &str = "alice's password";
const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const DEST: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

struct Sender {
    server: TestServer,
    submission: SocketAddr,
    submissions: SocketAddr,
}

/// The sending server (a.test: alice, carol) with both submission listeners, delivering to
/// `delivery_port`, resolving with `zone` (which gets a.test's DKIM records).
fn sender(delivery_port: u16, zone: Zone) -> (Sender, TestZone) {
    let server = TestServer::configure(&format!(
        "[queue]\nretry_interval = \"1s\"\ndelivery_port = {delivery_port}\npoll_interval = \"1s\"\n"
    ));
    server.add_domain("a.test");
    server.add_account(ALICE, PASSWORD);
    server.add_account(CAROL, "carol's password");
    let zone = TestZone::start(publish_dkim(zone, &server, "a.test"));
    // The config was written with an empty zone; point it at this one.
    let config = std::fs::read_to_string(&server.config_path).unwrap();
    let config: Vec<String> = config
        .lines()
        .map(|l| match l.starts_with("nameservers = ") {
            true => zone.toml().lines().nth(1).unwrap().to_string(),
            false => l.to_string(),
        })
        .collect();
    std::fs::write(&server.config_path, config.join("\n")).unwrap();
    let submission = SocketAddr::new(LOCAL, free_port(LOCAL));
    let submissions = SocketAddr::new(LOCAL, free_port(LOCAL));
    set_listen(&server, "submission", submission);
    set_listen(&server, "submissions", submissions);
    let mut server = server;
    server.spawn();
    assert!(
        server
            .logs()
            .contains(&format!("surel: submission listening on {submission}")),
        "{}",
        server.logs()
    );
    let sender = Sender {
        server,
        submission,
        submissions,
    };
    (sender, zone)
}

/// Submits `message` with smtp_submit.py; `extra` are further arguments.
fn submit(
    sender: &Sender,
    implicit: bool,
    from: &str,
    to: &[&str],
    message: &str,
    extra: &[&str],
) -> serde_json::Value {
    let path = sender
        .server
        .dir()
        .join(format!("msg-{}", rand_name(message)));
    std::fs::write(&path, message).unwrap();
    let port = match implicit {
        true => sender.submissions.port(),
        false => sender.submission.port(),
    };
    let port = port.to_string();
    let mut args = vec![
        "--port",
        &port,
        "--from",
        from,
        "--message-file",
        path.to_str().unwrap(),
    ];
    for rcpt in to {
        args.extend(["--to", rcpt]);
    }
    if implicit {
        args.push("--ssl");
    }
    args.extend(extra);
    run_py("smtp_submit.py", &args)
}

fn rand_name(message: &str) -> u64 {
    message.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// The code of the last step named `name`.
fn code(result: &serde_json::Value, name: &str) -> Option<i64> {
    result["steps"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|s| s["step"] == name)
        .and_then(|s| s["code"].as_i64())
}

fn text(result: &serde_json::Value, name: &str) -> String {
    result["steps"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|s| s["step"] == name)
        .map(|s| s["text"].to_string())
        .unwrap_or_default()
}

fn login<'a>(user: &'a str, password: &'a str) -> [&'a str; 4] {
    ["--user", user, "--password", password]
}

#[test]
fn submitted_mail_is_signed_queued_to_the_remote_mx_and_delivered_locally() {
    let port = free_port(DEST);
    let base = Zone::new()
        .mx("b.test", 10, "mx.b.test")
        .a("mx.b.test", Ipv4Addr::new(127, 0, 0, 2));
    let (sender, zone) = sender(port, base);
    let mut dest = TestServer::configure(&zone.toml());
    dest.set_smtp_listen(SocketAddr::new(DEST, port));
    dest.add_domain("b.test");
    dest.add_account(BOB, "bob's password");
    dest.spawn();

    // No Date, no Message-ID: the server adds them before signing.
    let mail = format!(
        "From: Alice <{ALICE}>\r\nTo: {BOB}, {CAROL}\r\nSubject: hello\r\n\r\nHi Bob and Carol.\r\n"
    );
    let result = submit(
        &sender,
        false,
        ALICE,
        &[BOB, CAROL],
        &mail,
        &login(ALICE, PASSWORD),
    );
    assert!(
        result["auth_offered"]
            .as_str()
            .unwrap()
            .contains("PLAIN LOGIN"),
        "{result}"
    );
    assert_eq!(
        code(&result, "data"),
        Some(250),
        "{result}\n{}",
        sender.server.logs()
    );

    // The local recipient has it at once.
    let local = inbox_in(&sender.server.data_dir, CAROL);
    assert_eq!(local.len(), 1, "carol's copy is there when the 250 came");
    let local = String::from_utf8_lossy(&local[0]).to_string();
    assert!(local.contains("with ESMTPSA"), "{local}");

    // The remote one through the queue, with both signatures passing at the destination.
    wait_until(
        &format!("bob's copy arrives\n{}", sender.server.logs()),
        || !inbox_in(&dest.data_dir, BOB).is_empty(),
    );
    let (got, results) = mailbox_in(&dest.data_dir, BOB, "INBOX").remove(0);
    let results = results.unwrap_or_default();
    assert_eq!(results.matches("dkim=pass").count(), 2, "{results}");
    let got_text = String::from_utf8_lossy(&got).to_string();
    for header in ["\r\nDate: ", "\r\nMessage-ID: <", "DKIM-Signature: "] {
        assert!(got_text.contains(header), "{header:?} in {got_text}");
    }
    let path = dest.dir().join("received.eml");
    std::fs::write(&path, &got).unwrap();
    let dns = zone.dns.addr();
    let verdict = run_py(
        "dkimpy_verify.py",
        &[
            path.to_str().unwrap(),
            &dns.ip().to_string(),
            &dns.port().to_string(),
        ],
    );
    let sigs = verdict["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2, "{verdict}");
    assert!(sigs.iter().all(|s| s["ok"] == true), "{verdict}");
}

#[test]
fn implicit_tls_login_and_the_refusals() {
    let (sender, _zone) = sender(free_port(DEST), Zone::new());
    let mail = |from: &str| format!("From: {from}\r\nTo: {CAROL}\r\nSubject: s\r\n\r\nbody\r\n");

    // 465, AUTH LOGIN.
    let mut extra = login(ALICE, PASSWORD).to_vec();
    extra.extend(["--mechanism", "LOGIN"]);
    let result = submit(&sender, true, ALICE, &[CAROL], &mail(ALICE), &extra);
    assert_eq!(code(&result, "data"), Some(250), "{result}");
    assert_eq!(inbox_in(&sender.server.data_dir, CAROL).len(), 1);

    // A wrong password: 535, and the answer is held back (throttled).
    let started = Instant::now();
    let result = submit(
        &sender,
        false,
        ALICE,
        &[CAROL],
        &mail(ALICE),
        &login(ALICE, "wrong"),
    );
    assert_eq!(code(&result, "auth"), Some(535), "{result}");
    assert!(started.elapsed() >= Duration::from_millis(500), "no delay");

    // No AUTH: 530 at MAIL.
    let result = submit(
        &sender,
        false,
        ALICE,
        &[CAROL],
        &mail(ALICE),
        &["--no-auth"],
    );
    assert_eq!(code(&result, "mail"), Some(530), "{result}");

    // A From that is not alice's: 550 naming it; nothing delivered.
    let result = submit(
        &sender,
        false,
        ALICE,
        &[CAROL],
        &mail(CAROL),
        &login(ALICE, PASSWORD),
    );
    assert_eq!(code(&result, "data"), Some(550), "{result}");
    assert!(text(&result, "data").contains(CAROL), "{result}");
    assert_eq!(inbox_in(&sender.server.data_dir, CAROL).len(), 1);
}
