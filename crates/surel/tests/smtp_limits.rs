//! Every limit of the SMTP listener and every kind of bad input: the exact reply, nothing stored
//! when refused, and the connection (or the server) still usable where the protocol allows.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::*;

const PASSWORD: &str = "limits password";

fn server_with(limits: &str, accounts: &[&str]) -> TestServer {
    let server = TestServer::start(&format!("[limits]\n{limits}"));
    server.add_domain("local.test");
    for account in accounts {
        server.add_account(account, PASSWORD);
    }
    server
}

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// A message of about `size` octets in lines of 76 characters.
fn big_message(size: usize) -> Vec<u8> {
    let mut message = b"Subject: big\r\n\r\n".to_vec();
    let line = [b'x'; 76];
    while message.len() < size {
        message.extend_from_slice(&line);
        message.extend_from_slice(b"\r\n");
    }
    message
}

fn small_message(subject: &str) -> String {
    message(
        "sender@example.org",
        "alice@local.test",
        subject,
        "small and fine",
    )
}

#[test]
fn declared_size_over_the_limit_is_552_at_mail() {
    let server = server_with("message_size = \"10KiB\"", &["alice@local.test"]);
    let mut smtp = server.smtp();
    let ehlo = smtp.ehlo();
    assert!(
        ehlo.lines().any(|l| &l[4..] == "SIZE 10240"),
        "EHLO does not announce the limit:\n{ehlo}"
    );
    smtp.cmd("MAIL FROM:<sender@example.org> SIZE=20000", "552 5.3.4");
    smtp.cmd("MAIL FROM:<sender@example.org> SIZE=10240", "250");
    smtp.cmd("QUIT", "221");
}

#[test]
fn message_over_the_size_limit_is_552_at_end_of_data_and_not_stored() {
    let server = server_with("message_size = \"10KiB\"", &["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    let reply = smtp.send_mail(
        "sender@example.org",
        &["alice@local.test"],
        &big_message(20_000),
    );
    assert!(reply.matches("552 5.3.4"), "{}", smtp.transcript());
    assert!(
        server.inbox("alice@local.test").is_empty(),
        "an oversized message was stored"
    );

    // The connection goes on.
    let small = small_message("after the big one");
    let reply = smtp.send_mail(
        "sender@example.org",
        &["alice@local.test"],
        small.as_bytes(),
    );
    assert!(reply.matches("250"), "{}", smtp.transcript());
    let inbox = server.inbox("alice@local.test");
    assert_eq!(inbox.len(), 1);
    assert_delivered(&inbox[0], small.as_bytes());
}

#[test]
fn message_of_exactly_the_size_limit_is_accepted() {
    let server = server_with("message_size = \"10KiB\"", &["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    // 10240 octets as the client sends them (CRLFs included, end-of-data line not).
    let mut exact = b"Subject: exact\r\n\r\n".to_vec();
    exact.resize(10240 - 2, b'x');
    exact.extend_from_slice(b"\r\n");
    let reply = smtp.send_mail("sender@example.org", &["alice@local.test"], &exact);
    assert!(reply.matches("250"), "{}", smtp.transcript());
    let mut over = exact.clone();
    over.insert(20, b'y');
    let reply = smtp.send_mail("sender@example.org", &["alice@local.test"], &over);
    assert!(reply.matches("552 5.3.4"), "{}", smtp.transcript());
    let inbox = server.inbox("alice@local.test");
    assert_eq!(inbox.len(), 1);
    assert_delivered(&inbox[0], &exact);
}

#[test]
fn client_gone_in_the_middle_of_data_stores_nothing() {
    let server = server_with("", &["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("RCPT TO:<alice@local.test>", "250");
    smtp.cmd("DATA", "354");
    smtp.send("Subject: cut off\r\n\r\nhalf of it\r\n");
    smtp.shutdown_write();
    // The server sees the end of input inside DATA and closes without storing.
    match smtp.try_reply() {
        Err(NoReply::Closed) => {}
        Ok(reply) => assert!(reply.code >= 400, "{}", smtp.transcript()),
        Err(why) => panic!("{why:?}\n{}", smtp.transcript()),
    }
    drop(smtp);
    // A later session still works, and only its message is stored.
    let mut smtp = server.smtp_ehlo();
    let sent = small_message("after the cut");
    let reply = smtp.send_mail("sender@example.org", &["alice@local.test"], sent.as_bytes());
    assert!(reply.matches("250"), "{}", smtp.transcript());
    let inbox = server.inbox("alice@local.test");
    assert_eq!(inbox.len(), 1, "the cut-off message was stored");
    assert_delivered(&inbox[0], sent.as_bytes());
}

#[test]
fn bdat_over_the_size_limit_is_552_and_the_connection_stays_in_step() {
    let server = server_with("message_size = \"10KiB\"", &["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("RCPT TO:<alice@local.test>", "250");
    let body = big_message(20_000);
    let mut chunk = format!("BDAT {} LAST\r\n", body.len()).into_bytes();
    chunk.extend_from_slice(&body);
    smtp.send(chunk);
    smtp.expect("552 5.3.4");
    // The chunk's octets were read and dropped, not taken as commands.
    smtp.cmd("NOOP", "250");
    assert!(server.inbox("alice@local.test").is_empty());
}

#[test]
fn recipients_beyond_the_limit_get_452_4_5_3() {
    let accounts = [
        "r1@local.test",
        "r2@local.test",
        "r3@local.test",
        "r4@local.test",
    ];
    let server = server_with("recipients = 3", &accounts);
    let mut smtp = server.smtp_ehlo();
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    for rcpt in &accounts[..3] {
        smtp.cmd(&format!("RCPT TO:<{rcpt}>"), "250");
    }
    smtp.cmd("RCPT TO:<r4@local.test>", "452 4.5.3");
    smtp.cmd("DATA", "354");
    let sent = message(
        "sender@example.org",
        "r1@local.test",
        "three of four",
        "the fourth retries later",
    );
    smtp.send(dot_stuffed(sent.as_bytes()));
    smtp.expect("250");
    for rcpt in &accounts[..3] {
        let inbox = server.inbox(rcpt);
        assert_eq!(inbox.len(), 1, "{rcpt}");
        assert_delivered(&inbox[0], sent.as_bytes());
    }
    assert!(server.inbox("r4@local.test").is_empty());
}

#[test]
fn command_line_over_the_limit_is_500_and_the_connection_goes_on() {
    let server = server_with("command_line = 2048", &[]);
    let mut smtp = server.smtp_ehlo();
    // Exactly 2048 octets with CRLF: allowed.
    let at_limit = format!("NOOP {}\r\n", "x".repeat(2048 - 7));
    assert_eq!(at_limit.len(), 2048);
    smtp.send(at_limit);
    smtp.expect("250");
    // One more: refused, and all of it is skipped.
    smtp.send(format!("NOOP {}\r\n", "x".repeat(2048 - 6)));
    smtp.expect("500");
    smtp.send(format!("NOOP {}\r\n", "y".repeat(100_000)));
    smtp.expect("500");
    smtp.cmd("NOOP", "250");
    smtp.cmd("QUIT", "221");
}

#[test]
fn text_line_over_the_limit_refuses_the_message() {
    let server = server_with("text_line = 1000", &["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();

    // A line of exactly 1000 octets with CRLF is fine.
    let fits = format!("Subject: fits\r\n\r\n{}\r\n", "a".repeat(998));
    let reply = smtp.send_mail("sender@example.org", &["alice@local.test"], fits.as_bytes());
    assert!(reply.matches("250"), "{}", smtp.transcript());

    let too_long = format!("Subject: too long\r\n\r\n{}\r\nafter\r\n", "b".repeat(1500));
    let reply = smtp.send_mail(
        "sender@example.org",
        &["alice@local.test"],
        too_long.as_bytes(),
    );
    assert_eq!(
        reply.code / 100,
        5,
        "an over-long text line was not refused\n{}",
        smtp.transcript()
    );
    assert!(reply.has_enhanced_code(), "{}", smtp.transcript());

    let after = small_message("after the long line");
    let reply = smtp.send_mail(
        "sender@example.org",
        &["alice@local.test"],
        after.as_bytes(),
    );
    assert!(reply.matches("250"), "{}", smtp.transcript());

    let inbox = server.inbox("alice@local.test");
    assert_eq!(inbox.len(), 2, "only the two good messages are stored");
    assert_delivered(&inbox[0], fits.as_bytes());
    assert_delivered(&inbox[1], after.as_bytes());
}

#[test]
fn idle_client_gets_421_4_4_2_and_is_closed() {
    let server = server_with("smtp_timeout = \"2s\"", &[]);
    let mut smtp = server.smtp_ehlo();
    // Say nothing: the next thing the server sends is the timeout reply.
    smtp.expect("421 4.4.2");
    smtp.expect_closed();
}

#[test]
fn idle_client_in_the_middle_of_data_gets_421_and_nothing_is_stored() {
    let server = server_with("smtp_timeout = \"2s\"", &["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("RCPT TO:<alice@local.test>", "250");
    smtp.cmd("DATA", "354");
    smtp.send("Subject: never finished\r\n\r\nhalf a mess");
    smtp.expect("421 4.4.2");
    smtp.expect_closed();
    assert!(server.inbox("alice@local.test").is_empty());
}

/// Connects until the greeting is 220, for a slot the server frees when it notices a close.
fn connect_when_free(server: &TestServer, from: IpAddr) -> RawSmtp {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut smtp = RawSmtp::connect_from(from, server.smtp_addr());
        let reply = smtp.reply();
        if reply.matches("220") {
            return smtp;
        }
        assert!(reply.matches("421 4.7.0"), "{}", smtp.transcript());
        assert!(
            Instant::now() < deadline,
            "the slot of a closed connection was never freed"
        );
        pause(Duration::from_millis(50));
    }
}

#[test]
fn connections_per_ip_over_the_cap_get_421_4_7_0() {
    let server = server_with("connections_per_ip = 2\nconnections = 10", &[]);
    let addr = server.smtp_addr();
    let mut first = RawSmtp::connect_from(loopback(1), addr);
    first.expect("220");
    let mut second = RawSmtp::connect_from(loopback(1), addr);
    second.expect("220");

    let mut third = RawSmtp::connect_from(loopback(1), addr);
    third.expect("421 4.7.0");
    third.expect_closed();

    // Another client IP is not affected.
    let mut other = RawSmtp::connect_from(loopback(2), addr);
    other.expect("220");
    other.cmd("QUIT", "221");

    // The cap counts open connections: once one closes, the IP may connect again.
    first.cmd("QUIT", "221");
    first.expect_closed();
    let mut again = connect_when_free(&server, loopback(1));
    again.ehlo();
    second.cmd("NOOP", "250");
}

#[test]
fn connections_over_the_total_cap_get_421_4_7_0() {
    let server = server_with("connections = 2\nconnections_per_ip = 10", &[]);
    let addr = server.smtp_addr();
    let mut first = RawSmtp::connect_from(loopback(1), addr);
    first.expect("220");
    let mut second = RawSmtp::connect_from(loopback(2), addr);
    second.expect("220");

    let mut third = RawSmtp::connect_from(loopback(3), addr);
    third.expect("421 4.7.0");
    third.expect_closed();

    second.cmd("QUIT", "221");
    second.expect_closed();
    let mut again = connect_when_free(&server, loopback(3));
    again.ehlo();
    first.cmd("NOOP", "250");
}

#[test]
fn commands_out_of_order_are_503_5_5_1() {
    let server = server_with("", &["alice@local.test"]);
    let mut smtp = server.smtp();
    smtp.cmd("MAIL FROM:<sender@example.org>", "503 5.5.1");
    smtp.ehlo();
    smtp.cmd("RCPT TO:<alice@local.test>", "503 5.5.1");
    smtp.cmd("DATA", "503 5.5.1");
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("MAIL FROM:<sender@example.org>", "503 5.5.1");
    // DATA and BDAT with no RCPT yet: see data_before_any_rcpt_is_503_5_5_1.
    // EHLO ends the transaction (RFC 5321 §4.1.4).
    smtp.ehlo();
    smtp.cmd("RCPT TO:<alice@local.test>", "503 5.5.1");
    // Once BDAT has started a message, DATA is out of order (RFC 3030 §2).
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("RCPT TO:<alice@local.test>", "250");
    smtp.send("BDAT 3\r\nabc");
    smtp.expect("250");
    smtp.cmd("DATA", "503 5.5.1");
    smtp.cmd("RSET", "250");
    // The transaction after the refusals works.
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("RCPT TO:<alice@local.test>", "250");
    smtp.cmd("DATA", "354");
    let sent = small_message("in order at last");
    smtp.send(dot_stuffed(sent.as_bytes()));
    smtp.expect("250");
    let inbox = server.inbox("alice@local.test");
    assert_eq!(inbox.len(), 1);
    assert_delivered(&inbox[0], sent.as_bytes());
}

#[test]
fn data_before_any_rcpt_is_503_5_5_1() {
    let server = server_with("", &["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    // No RCPT was given at all: a sequence error (RFC 5321 §3.3 allows 503 here; the contract
    // asks for 503 5.5.1, keeping 554 for "every RCPT was refused").
    smtp.cmd("DATA", "503 5.5.1");
    // BDAT likewise; its 5 octets are still read, not run as a command.
    smtp.send("BDAT 5 LAST\r\nNOOP\n");
    smtp.expect("503 5.5.1");
    smtp.cmd("RCPT TO:<alice@local.test>", "250");
    smtp.cmd("NOOP", "250");
}

#[test]
fn syntax_errors_are_500_and_501() {
    let server = server_with("", &["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    for (line, expected) in [
        ("FOOBAR", "500"),
        ("MAIL FROM:<not an address>", "501"),
        ("MAIL FROM:<sender@example.org>", "250"),
        ("RCPT TO:<not an address>", "501"),
        ("RCPT TO:<@>", "501"),
        ("RCPT TO:<alice@local.test>", "250"),
    ] {
        let reply = smtp.reply_to(line);
        assert!(
            reply.matches(expected),
            "{line}: expected {expected}\n{}",
            smtp.transcript()
        );
        assert!(
            reply.has_enhanced_code(),
            "{line}: no enhanced code\n{}",
            smtp.transcript()
        );
    }
    smtp.cmd("QUIT", "221");
}

#[test]
fn too_many_errors_get_421_4_7_0_and_close() {
    let server = server_with("smtp_errors = 3", &[]);
    let mut smtp = server.smtp_ehlo();
    // The session ends at the limit: the errors before it get their own reply, the one that
    // reaches it (or at the latest the next) gets 421.
    let mut closed_at = None;
    for n in 1..=4 {
        let reply = smtp.reply_to(&format!("BOGUS{n}"));
        if reply.matches("421 4.7.0") {
            closed_at = Some(n);
            break;
        }
        assert!(reply.matches("500"), "error {n}\n{}", smtp.transcript());
    }
    let n = closed_at.unwrap_or_else(|| {
        panic!(
            "no 421 after 4 errors with smtp_errors = 3\n{}",
            smtp.transcript()
        )
    });
    assert!(
        n >= 3,
        "421 after only {n} errors with smtp_errors = 3\n{}",
        smtp.transcript()
    );
    smtp.expect_closed();
}

#[test]
fn garbage_does_not_hurt_the_server() {
    let mut server = server_with("", &["alice@local.test"]);
    let mut rng = Rng::new(0x5eed);
    for round in 0..3u8 {
        let mut smtp = server.smtp();
        // Random octets (NUL, 0xFF, bare CR/LF included), then a very long line, then more.
        let mut junk = rng.bytes(64 * 1024);
        junk.extend_from_slice(&[0, 0xff, 0xfe, b'\r', 0, b'\n']);
        junk.extend(std::iter::repeat_n(b'A' + round, 200_000));
        junk.extend_from_slice(
            b"\r\nMAIL FROM:<\xff\x00>\r\nRCPT TO:<\x80@local.test>\r\nDATA\r\n",
        );
        junk.extend(rng.bytes(4096));
        // The server may close at any point (too many errors); later writes may then fail.
        let _ = smtp.try_send(&junk);
        smtp.shutdown_write();
        let mut replies = 0;
        loop {
            match smtp.try_reply() {
                Ok(reply) => {
                    assert!(
                        reply.code / 100 == 4 || reply.code / 100 == 5,
                        "garbage got a non-error reply {}\n(round {round})",
                        reply.text()
                    );
                    replies += 1;
                    assert!(replies < 100_000, "endless replies");
                }
                Err(NoReply::Closed) => break,
                Err(why) => panic!(
                    "round {round}: the server neither answered nor closed: {why:?}\n{}",
                    server.logs()
                ),
            }
        }
        assert!(
            server.is_running(),
            "the server died on garbage\n{}",
            server.logs()
        );
    }

    // And it still serves a clean transaction.
    let mut smtp = server.smtp_ehlo();
    let sent = small_message("after the garbage");
    let reply = smtp.send_mail("sender@example.org", &["alice@local.test"], sent.as_bytes());
    assert!(reply.matches("250"), "{}", smtp.transcript());
    let inbox = server.inbox("alice@local.test");
    assert_eq!(inbox.len(), 1, "garbage must not store anything");
    assert_delivered(&inbox[0], sent.as_bytes());
}

#[test]
fn many_short_connections_in_parallel_all_get_served() {
    const THREADS: usize = 8;
    const CONNECTIONS: usize = 500;
    let server = server_with("connections_per_ip = 100", &[]);
    let addr = server.smtp_addr();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for n in 0..CONNECTIONS {
                    let mut smtp = RawSmtp::connect(addr);
                    let greeting = smtp.try_reply();
                    let ok = matches!(greeting, Ok(ref r) if r.matches("220"))
                        && smtp.try_send(format!("EHLO {CLIENT_NAME}\r\n")).is_ok()
                        && matches!(smtp.try_reply(), Ok(r) if r.matches("250"))
                        && smtp.try_send("QUIT\r\n").is_ok()
                        && matches!(smtp.try_reply(), Ok(r) if r.matches("221"));
                    if !ok {
                        failures.push(format!("thread {t} connection {n}:\n{}", smtp.transcript()));
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("client thread"))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} sessions failed; the first:\n{}\n{}",
        failures.len(),
        THREADS * CONNECTIONS,
        failures[0],
        server.logs()
    );
}

/// Messages being received share one memory budget: two messages that do not fit in it at once
/// cannot both be taken; whichever the server could not hold (possibly both, depending on how
/// their octets interleaved) gets a temporary `452 4.3.1` (and is not stored) instead of the server running out of memory. Which one it is depends on which
/// octets the server read first, so both outcomes are accepted; a round where the two did not
/// overlap at all proves nothing and is repeated.
#[test]
fn memory_budget_for_messages_in_transit_defers_with_452() {
    let server = server_with(
        "message_size = \"100KiB\"\ninflight_memory = \"100KiB\"",
        &["alice@local.test"],
    );
    let big = big_message(80 * 1024);
    let small = big_message(40 * 1024);
    for _ in 0..20 {
        let stored_before = server.inbox("alice@local.test").len();
        let mut holder = server.smtp_ehlo();
        holder.cmd("MAIL FROM:<big@example.org>", "250");
        holder.cmd("RCPT TO:<alice@local.test>", "250");
        holder.cmd("DATA", "354");
        // Everything but the end of data: the server holds these octets until the message ends.
        holder.send(&big);
        let mut other = server.smtp_ehlo();
        let other_reply = other.send_mail("other@example.org", &["alice@local.test"], &small);
        holder.send(b".\r\n");
        let holder_reply = holder.reply();
        let stored = server.inbox("alice@local.test");
        let replies = [&holder_reply, &other_reply];
        for reply in replies {
            assert!(
                reply.matches("250") || reply.matches("452 4.3.1"),
                "{}",
                reply.text()
            );
        }
        let accepted = replies.iter().filter(|r| r.matches("250")).count();
        assert_eq!(
            stored.len(),
            stored_before + accepted,
            "exactly the accepted ones are stored"
        );
        if accepted == 2 {
            // The server finished one message before it read the other: no overlap. Again.
            continue;
        }
        // At least one was refused for storage; both may be, when each had taken part of the
        // budget before the other's next octets arrived.
        assert!(holder_reply.text().contains("storage") || other_reply.text().contains("storage"));
        if accepted == 1 {
            let kept = stored.last().expect("one stored");
            let sent = if holder_reply.matches("250") {
                &big
            } else {
                &small
            };
            assert_delivered(kept, sent);
        }
        // With the budget free again, a message goes through.
        assert!(
            other
                .send_mail("other@example.org", &["alice@local.test"], &small)
                .matches("250")
        );
        return;
    }
    panic!("in 20 rounds the two messages never overlapped in the server");
}
