//! Outbound delivery end to end (issue 5): a sending surel on 127.0.0.1 with a queue, a
//! destination surel on 127.0.0.2 as b.test's MX, and an in-process DNS zone. Messages enter
//! the queue through the store, as the submission path will put them there.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use common::*;
use surel_dns::test_server::Zone;

const ALICE: &str = "alice@a.test";
const BOB: &str = "bob@b.test";
const DEST: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const DEAD: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

fn zone() -> Zone {
    Zone::new()
        .mx("b.test", 10, "mx.b.test")
        .a("mx.b.test", Ipv4Addr::new(127, 0, 0, 2))
        // The first MX is dead; the second is the destination.
        .mx("c.test", 10, "dead.c.test")
        .a("dead.c.test", DEAD)
        .mx("c.test", 20, "mx.b.test")
        // No MX: the domain's own address (implicit MX).
        .a("d.test", Ipv4Addr::new(127, 0, 0, 2))
        // RFC 7505 null MX.
        .mx("null.test", 0, ".")
}

/// The destination: b.test, c.test, d.test with bob in each, on 127.0.0.2:`port`.
fn destination(zone: &TestZone, port: u16) -> TestServer {
    let server = TestServer::configure(&zone.toml());
    server.set_smtp_listen(SocketAddr::new(DEST, port));
    for d in ["b.test", "c.test", "d.test"] {
        server.add_domain(d);
        server.add_account(&format!("bob@{d}"), "irrelevant password");
    }
    server
}

/// The sender: a.test with alice, delivering to `port`.
fn sender(zone: &TestZone, port: u16) -> TestServer {
    let mut server = TestServer::configure(&format!(
        "{}\n[queue]\nretry_interval = \"1s\"\nlifetime = \"5s\"\ndelay_warning = \"0s\"\n\
         delivery_port = {port}\npoll_interval = \"1s\"\n",
        zone.toml()
    ));
    server.add_domain("a.test");
    server.add_account(ALICE, "irrelevant password");
    server.spawn();
    server
}

fn mail(to: &str, subject: &str) -> Vec<u8> {
    message(ALICE, to, subject, "hello from the queue\r\n").into_bytes()
}

fn wait_for_inbox(server: &TestServer, address: &str, n: usize) -> Vec<Vec<u8>> {
    wait_until(
        &format!("{n} message(s) in {address}'s INBOX\n{}", server.logs()),
        || inbox_in(&server.data_dir, address).len() >= n,
    );
    inbox_in(&server.data_dir, address)
}

/// The `message/delivery-status` fields of a DSN, as (name, value) in order.
fn status_fields(dsn: &str) -> Vec<(String, String)> {
    let start = dsn
        .find("Content-Type: message/delivery-status\r\n\r\n")
        .expect("a delivery-status part");
    let part = &dsn[start..];
    let part = &part[part.find("\r\n\r\n").expect("part headers") + 4..];
    let part = &part[..part.find("\r\n--").expect("the part ends")];
    part.split("\r\n")
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {fields:?}"))
}

#[test]
fn a_queued_message_reaches_the_destination_inbox() {
    let zone = TestZone::start(zone());
    let port = free_port(DEST);
    let mut dest = destination(&zone, port);
    dest.spawn();
    let sender = sender(&zone, port);
    let sent = mail(BOB, "queued");
    enqueue_in(&sender.data_dir, Some(ALICE), &[BOB], &sent);
    let got = wait_for_inbox(&dest, BOB, 1);
    assert_delivered(&got[0], &sent);
    wait_until("the queue empties", || {
        queue_in(&sender.data_dir).is_empty()
    });
    assert!(inbox_in(&sender.data_dir, ALICE).is_empty(), "no DSN");
    assert!(
        sender.logs().contains("STARTTLS established"),
        "opportunistic TLS with the destination's self-signed certificate\n{}",
        sender.logs()
    );
    // surel announces CHUNKING, so the content went as one `BDAT n LAST` (RFC 3030).
    let transactions = transaction_lines(&sender);
    assert!(
        transactions.len() == 1 && transactions[0].contains("BDAT"),
        "{transactions:?}"
    );
}

/// The sender's `mail transaction` log events (one per transaction: host, reused, content).
fn transaction_lines(sender: &TestServer) -> Vec<String> {
    sender
        .logs()
        .lines()
        .filter(|l| l.contains("mail transaction"))
        .map(str::to_string)
        .collect()
}

#[test]
fn messages_to_one_destination_share_connections() {
    let zone = TestZone::start(zone());
    let port = free_port(DEST);
    let mut dest = destination(&zone, port);
    dest.spawn();
    let mut sender = TestServer::configure(&format!(
        "{}\n[queue]\nretry_interval = \"1s\"\nlifetime = \"1h\"\ndelay_warning = \"0s\"\n\
         delivery_port = {port}\npoll_interval = \"1s\"\n",
        zone.toml()
    ));
    sender.add_domain("a.test");
    sender.add_account(ALICE, "irrelevant password");
    let n = 10;
    for i in 0..n {
        enqueue_in(
            &sender.data_dir,
            Some(ALICE),
            &[BOB],
            &mail(BOB, &format!("batch {i}")),
        );
    }
    // All due at start: leased together, sent over at most `per_destination` (4) connections.
    sender.spawn();
    wait_for_inbox(&dest, BOB, n);
    wait_until("the queue empties", || {
        queue_in(&sender.data_dir).is_empty()
    });
    let transactions = transaction_lines(&sender);
    let opened = transactions
        .iter()
        .filter(|l| l.contains("reused=false"))
        .count();
    assert_eq!(transactions.len(), n, "{transactions:#?}");
    assert!(
        (1..n).contains(&opened),
        "{opened} connections for {n} messages\n{transactions:#?}"
    );
}

#[test]
fn the_next_mx_is_tried_when_the_first_is_dead_and_implicit_mx_works() {
    let zone = TestZone::start(zone());
    let port = free_port(DEST);
    let mut dest = destination(&zone, port);
    dest.spawn();
    let sender = sender(&zone, port);
    enqueue_in(
        &sender.data_dir,
        Some(ALICE),
        &["bob@c.test"],
        &mail("bob@c.test", "via mx 20"),
    );
    enqueue_in(
        &sender.data_dir,
        Some(ALICE),
        &["bob@d.test"],
        &mail("bob@d.test", "implicit"),
    );
    wait_for_inbox(&dest, "bob@c.test", 1);
    wait_for_inbox(&dest, "bob@d.test", 1);
    wait_until("the queue empties", || {
        queue_in(&sender.data_dir).is_empty()
    });
}

#[test]
fn a_null_mx_fails_at_once_with_a_dsn_in_the_senders_inbox() {
    let zone = TestZone::start(zone());
    let sender = sender(&zone, free_port(DEST));
    enqueue_in(
        &sender.data_dir,
        Some(ALICE),
        &["x@null.test"],
        &mail("x@null.test", "nowhere"),
    );
    let dsn = String::from_utf8(wait_for_inbox(&sender, ALICE, 1).remove(0)).unwrap();
    let fields = status_fields(&dsn);
    assert_eq!(field(&fields, "Final-Recipient"), "rfc822; x@null.test");
    assert_eq!(field(&fields, "Action"), "failed");
    assert_eq!(field(&fields, "Status"), "5.1.10");
    assert!(
        dsn.contains("Subject: nowhere\r\n"),
        "original headers returned"
    );
    assert!(queue_in(&sender.data_dir).is_empty());
}

#[test]
fn a_550_from_the_destination_is_a_dsn_at_once_with_the_remote_text() {
    let zone = TestZone::start(zone());
    let port = free_port(DEST);
    let mut dest = destination(&zone, port);
    dest.spawn();
    let sender = sender(&zone, port);
    enqueue_in(
        &sender.data_dir,
        Some(ALICE),
        &["nobody@b.test", BOB],
        &mail("nobody@b.test", "half wrong"),
    );
    let dsn = String::from_utf8(wait_for_inbox(&sender, ALICE, 1).remove(0)).unwrap();
    let fields = status_fields(&dsn);
    assert_eq!(field(&fields, "Reporting-MTA"), format!("dns; {HOSTNAME}"));
    assert_eq!(field(&fields, "Final-Recipient"), "rfc822; nobody@b.test");
    assert_eq!(field(&fields, "Action"), "failed");
    assert_eq!(field(&fields, "Status"), "5.1.1");
    assert_eq!(field(&fields, "Remote-MTA"), "dns; mx.b.test");
    assert!(
        field(&fields, "Diagnostic-Code").starts_with("smtp; 550 5.1.1 "),
        "{fields:?}"
    );
    assert!(
        !dsn.contains("Final-Recipient: rfc822; bob@b.test"),
        "bob got it"
    );
    wait_for_inbox(&dest, BOB, 1);
}

#[test]
fn a_destination_that_comes_up_gets_the_message_after_retries() {
    let zone = TestZone::start(zone());
    let port = free_port(DEST);
    let mut dest = destination(&zone, port);
    let sender = TestServer::configure(&format!(
        "{}\n[queue]\nretry_interval = \"1s\"\nlifetime = \"1h\"\ndelay_warning = \"0s\"\n\
         delivery_port = {port}\npoll_interval = \"1s\"\n",
        zone.toml()
    ));
    let mut sender = sender;
    sender.add_domain("a.test");
    sender.add_account(ALICE, "irrelevant password");
    sender.spawn();
    enqueue_in(
        &sender.data_dir,
        Some(ALICE),
        &[BOB],
        &mail(BOB, "patience"),
    );
    wait_until("two failed attempts", || {
        queue_in(&sender.data_dir)
            .first()
            .is_some_and(|e| e.recipients[0].attempts >= 2)
    });
    let entry = queue_in(&sender.data_dir).remove(0);
    assert!(entry.recipients[0].last_error.is_some());
    let listed = sender.cli(&["queue", "list"]);
    assert!(listed.contains("bob@b.test\tpending\t"), "{listed}");

    // Restart the sender in the middle: it resumes with the attempt count kept.
    sender.terminate();
    dest.spawn();
    sender.spawn();
    wait_for_inbox(&dest, BOB, 1);
    wait_until("the queue empties", || {
        queue_in(&sender.data_dir).is_empty()
    });
    assert!(inbox_in(&sender.data_dir, ALICE).is_empty(), "no DSN");
}

#[test]
fn a_destination_down_for_good_gives_one_dsn_after_the_lifetime() {
    let zone = TestZone::start(zone());
    let sender = sender(&zone, free_port(DEST));
    enqueue_in(&sender.data_dir, Some(ALICE), &[BOB], &mail(BOB, "doomed"));
    let dsn = String::from_utf8(wait_for_inbox(&sender, ALICE, 1).remove(0)).unwrap();
    wait_until("the queue empties", || {
        queue_in(&sender.data_dir).is_empty()
    });
    let fields = status_fields(&dsn);
    assert_eq!(field(&fields, "Reporting-MTA"), format!("dns; {HOSTNAME}"));
    assert!(!field(&fields, "Arrival-Date").is_empty());
    assert_eq!(field(&fields, "Final-Recipient"), "rfc822; bob@b.test");
    assert_eq!(field(&fields, "Action"), "failed");
    assert_eq!(field(&fields, "Status"), "4.4.1");
    assert!(field(&fields, "Diagnostic-Code").contains("cannot connect"));
    assert!(!field(&fields, "Last-Attempt-Date").is_empty());
    assert!(dsn.contains("Content-Type: multipart/report; report-type=delivery-status;"));
    assert!(dsn.contains("Content-Type: text/rfc822-headers\r\n\r\n"));
    assert!(dsn.contains("Subject: doomed\r\n"));
    // Exactly one report, however many attempts.
    pause(std::time::Duration::from_secs(2));
    assert_eq!(inbox_in(&sender.data_dir, ALICE).len(), 1);
}

#[test]
fn a_message_from_the_null_sender_never_bounces() {
    let zone = TestZone::start(zone());
    let sender = sender(&zone, free_port(DEST));
    enqueue_in(
        &sender.data_dir,
        None,
        &["x@null.test"],
        &mail("x@null.test", "bounce"),
    );
    wait_until("the queue empties", || {
        queue_in(&sender.data_dir).is_empty()
    });
    assert!(inbox_in(&sender.data_dir, ALICE).is_empty());
}

#[test]
fn a_sender_killed_mid_attempt_delivers_promptly_after_a_restart() {
    let zone = TestZone::start(zone());
    let port = free_port(DEST);
    // The destination hangs: it accepts and never greets, so the attempt is in progress (its
    // entry leased for half an hour) when the sender dies.
    let hanging = std::net::TcpListener::bind((DEST, port)).expect("bind the hanging MX");
    hanging.set_nonblocking(true).expect("non-blocking");
    let mut sender = TestServer::configure(&format!(
        "{}\n[queue]\nretry_interval = \"1h\"\nlifetime = \"5d\"\ndelay_warning = \"0s\"\n\
         delivery_port = {port}\npoll_interval = \"1s\"\n",
        zone.toml()
    ));
    sender.add_domain("a.test");
    sender.add_account(ALICE, "irrelevant password");
    sender.spawn();
    enqueue_in(
        &sender.data_dir,
        Some(ALICE),
        &[BOB],
        &mail(BOB, "after the crash"),
    );
    let mut held = Vec::new();
    wait_until("the sender connects to the hanging MX", || {
        if let Ok((stream, _)) = hanging.accept() {
            held.push(stream);
        }
        !held.is_empty()
    });
    let entry = queue_in(&sender.data_dir).remove(0);
    assert!(
        entry.leased_until.is_some(),
        "leased mid-attempt: {entry:?}"
    );
    assert_eq!(entry.recipients[0].attempts, 0);

    sender.kill();
    drop(held);
    drop(hanging);
    let mut dest = destination(&zone, port);
    dest.spawn();
    // With the lease left standing this would wait 30 minutes; with a 1h retry interval no
    // retry can deliver it either: only the released lease makes it due at once.
    sender.spawn();
    wait_for_inbox(&dest, BOB, 1);
    wait_until("the queue empties", || {
        queue_in(&sender.data_dir).is_empty()
    });
    assert!(
        sender
            .logs()
            .contains("released queue leases left by a previous run"),
        "{}",
        sender.logs()
    );
}

/// A sender (a.test with alice, delivering to `port`) with its own `[queue]` timings.
fn sender_with(zone: &TestZone, port: u16, retry: &str, lifetime: &str, warn: &str) -> TestServer {
    let mut server = TestServer::configure(&format!(
        "{}\n[queue]\nretry_interval = \"{retry}\"\nlifetime = \"{lifetime}\"\n\
         delay_warning = \"{warn}\"\ndelivery_port = {port}\npoll_interval = \"1s\"\n",
        zone.toml()
    ));
    server.add_domain("a.test");
    server.add_account(ALICE, "irrelevant password");
    server.spawn();
    server
}

/// The one queue entry with id `id`, if it is still queued.
fn entry(server: &TestServer, id: i64) -> Option<surel_store::QueueEntry> {
    queue_in(&server.data_dir)
        .into_iter()
        .find(|e| e.id.0 == id)
}

/// The ids `surel queue list` prints (its first column).
fn listed_ids(server: &TestServer) -> Vec<i64> {
    let listed = server.cli(&["queue", "list"]);
    let mut ids: Vec<i64> = listed
        .lines()
        .map(|l| {
            l.split('\t')
                .next()
                .and_then(|id| id.parse().ok())
                .unwrap_or_else(|| panic!("no id in the listed line {l:?}\n{listed}"))
        })
        .collect();
    ids.dedup();
    ids
}

/// A `Status:` value of the form `C.S.D` with class `class` (RFC 3463).
fn assert_status_class(status: &str, class: char) {
    let parts: Vec<&str> = status.split('.').collect();
    assert!(
        parts.len() == 3
            && parts[0] == class.to_string()
            && parts[1..]
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit())),
        "status {status:?} is not {class}.x.x"
    );
}

#[test]
fn a_delayed_message_gets_one_delay_warning_then_is_delivered() {
    let zone = TestZone::start(zone());
    let port = free_port(DEST);
    let mut dest = destination(&zone, port);
    let sender = sender_with(&zone, port, "1s", "1h", "2s");
    let id = enqueue_in(&sender.data_dir, Some(ALICE), &[BOB], &mail(BOB, "slow"));

    // The destination is down: after a few failed attempts, one warning arrives.
    let warning = String::from_utf8(wait_for_inbox(&sender, ALICE, 1).remove(0)).unwrap();
    let fields = status_fields(&warning);
    assert_eq!(field(&fields, "Reporting-MTA"), format!("dns; {HOSTNAME}"));
    assert_eq!(field(&fields, "Final-Recipient"), "rfc822; bob@b.test");
    assert_eq!(field(&fields, "Action"), "delayed");
    assert_status_class(field(&fields, "Status"), '4');
    assert!(
        !field(&fields, "Will-Retry-Until").is_empty(),
        "a delay warning says until when it retries: {fields:?}"
    );
    assert!(
        !fields.iter().any(|(_, v)| v == "failed"),
        "no recipient failed: {fields:?}"
    );
    assert!(
        warning.contains("Subject: Delayed Mail (still being retried)\r\n"),
        "{warning}"
    );
    assert!(
        warning.contains("It is still being retried; you do not need to send it again."),
        "{warning}"
    );
    assert!(
        warning.contains("Content-Type: multipart/report; report-type=delivery-status;"),
        "{warning}"
    );
    assert!(warning.contains("Subject: slow\r\n"), "original headers");

    // The entry is still queued, pending, and marked warned; it goes on being retried, and
    // further failed attempts bring no second warning.
    let warned = entry(&sender, id).expect("still queued after the warning");
    assert!(warned.delay_warned, "{warned:?}");
    assert_eq!(
        warned.recipients[0].state,
        surel_store::RecipientState::Pending
    );
    let attempts = warned.recipients[0].attempts;
    wait_until(
        &format!(
            "two more failed attempts after {attempts}\n{}",
            sender.logs()
        ),
        || entry(&sender, id).is_some_and(|e| e.recipients[0].attempts >= attempts + 2),
    );
    assert_eq!(
        inbox_in(&sender.data_dir, ALICE).len(),
        1,
        "exactly one delay warning"
    );

    // The destination comes up: the message is delivered, and no failure report follows.
    dest.spawn();
    let got = wait_for_inbox(&dest, BOB, 1);
    assert!(
        header_section(&got[0]).contains("Subject: slow\r\n"),
        "{}",
        String::from_utf8_lossy(&got[0])
    );
    wait_until("the queue empties", || {
        queue_in(&sender.data_dir).is_empty()
    });
    let alice = inbox_in(&sender.data_dir, ALICE);
    assert_eq!(alice.len(), 1, "only the delay warning, no failure DSN");
    assert_eq!(String::from_utf8(alice[0].clone()).unwrap(), warning);
}

#[test]
fn the_queue_cli_shows_retries_and_drops_entries() {
    let zone = TestZone::start(zone());
    let port = free_port(DEST);
    let mut dest = destination(&zone, port);
    // Retries an hour apart: after the first failed attempt nothing is due within the test.
    let sender = sender_with(&zone, port, "1h", "5d", "0s");
    let retried = enqueue_in(
        &sender.data_dir,
        Some(ALICE),
        &[BOB, "bob@d.test"],
        &mail(BOB, "retry me"),
    );
    let dropped = enqueue_in(&sender.data_dir, Some(ALICE), &[BOB], &mail(BOB, "drop me"));
    let silent = enqueue_in(
        &sender.data_dir,
        Some(ALICE),
        &[BOB],
        &mail(BOB, "drop me silently"),
    );
    let ids = [retried, dropped, silent];
    wait_until(
        &format!("one failed attempt for every entry\n{}", sender.logs()),
        || {
            let queue = queue_in(&sender.data_dir);
            queue.len() == 3
                && queue.iter().all(|e| {
                    e.leased_until.is_none() && e.recipients.iter().all(|r| r.attempts >= 1)
                })
        },
    );
    let mut listed = listed_ids(&sender);
    listed.sort_unstable();
    assert_eq!(listed, ids.to_vec());

    // `queue show`: the sender, every recipient with its state and attempts.
    let shown = sender.cli(&["queue", "show", &retried.to_string()]);
    assert!(shown.contains(&format!("id: {retried}\n")), "{shown}");
    assert!(shown.contains("from: alice@a.test\n"), "{shown}");
    for rcpt in [BOB, "bob@d.test"] {
        let line = shown
            .lines()
            .find(|l| l.starts_with(&format!("recipient: {rcpt} ")))
            .unwrap_or_else(|| panic!("no recipient line for {rcpt}\n{shown}"));
        assert!(line.contains(" state=pending "), "{line}");
        assert!(line.contains(" attempts=1 "), "{line}");
        assert!(
            !line.ends_with(" error=-"),
            "the last error is shown: {line}"
        );
    }
    let missing = sender.cli_err(&["queue", "show", "999999"], None);
    assert!(missing.contains("999999"), "{missing}");

    // `queue drop ID`: gone from the queue, and alice has a failure report.
    let out = sender.cli(&["queue", "drop", &dropped.to_string()]);
    assert!(out.contains(&dropped.to_string()), "{out}");
    assert!(entry(&sender, dropped).is_none());
    assert!(!listed_ids(&sender).contains(&dropped));
    let dsn = String::from_utf8(wait_for_inbox(&sender, ALICE, 1).remove(0)).unwrap();
    let fields = status_fields(&dsn);
    assert_eq!(field(&fields, "Final-Recipient"), "rfc822; bob@b.test");
    assert_eq!(field(&fields, "Action"), "failed");
    assert_status_class(field(&fields, "Status"), '5');
    assert!(
        dsn.contains("Subject: drop me\r\n"),
        "original headers\n{dsn}"
    );

    // `queue drop ID --silent`: gone, and no report.
    sender.cli(&["queue", "drop", &silent.to_string(), "--silent"]);
    assert!(entry(&sender, silent).is_none());
    assert_eq!(listed_ids(&sender), vec![retried]);
    assert_eq!(inbox_in(&sender.data_dir, ALICE).len(), 1, "no second DSN");

    // `queue retry ID`: the destination is up now, and the entry (not due for an hour)
    // goes at once.
    let before = entry(&sender, retried).expect("still queued");
    let not_due = chrono::Utc::now() + chrono::Duration::from_std(WAIT * 2).unwrap();
    assert!(
        before.recipients.iter().all(|r| r.next_attempt > not_due),
        "not due within the test's waits: {before:?}"
    );
    dest.spawn();
    sender.cli(&["queue", "retry", &retried.to_string()]);
    for rcpt in [BOB, "bob@d.test"] {
        let got = wait_for_inbox(&dest, rcpt, 1);
        assert!(
            header_section(&got[0]).contains("Subject: retry me\r\n"),
            "{}",
            String::from_utf8_lossy(&got[0])
        );
    }
    wait_until("the queue empties", || {
        queue_in(&sender.data_dir).is_empty()
    });
    assert!(sender.cli(&["queue", "list"]).is_empty());
    // Neither dropped message reached the destination.
    assert_eq!(inbox_in(&dest.data_dir, BOB).len(), 1);
    assert_eq!(inbox_in(&sender.data_dir, ALICE).len(), 1);
}
