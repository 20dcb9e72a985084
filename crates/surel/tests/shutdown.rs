//! Clean shutdown: SIGTERM and SIGINT stop the server with exit code 0, and a transaction caught
//! in the middle either completes (250, stored) or is refused (nothing stored), never half.

mod common;

use common::*;

const ALICE: &str = "alice@local.test";

fn server() -> TestServer {
    let server = TestServer::start("");
    server.add_domain("local.test");
    server.add_account(ALICE, "shutdown password");
    server
}

#[test]
fn sigterm_with_no_clients_exits_0() {
    let mut server = server();
    let status = server.terminate();
    assert!(status.success(), "exit status {status}\n{}", server.logs());
}

#[test]
fn sigint_exits_0() {
    let mut server = server();
    server.signal("INT");
    let status = server.wait_exit();
    assert!(status.success(), "exit status {status}\n{}", server.logs());
}

#[test]
fn sigterm_closes_an_idle_session_and_exits_0() {
    let mut server = server();
    let mut smtp = server.smtp_ehlo();
    server.signal("TERM");
    // The idle client is told (421) or simply closed; either way the server does not wait for it.
    match smtp.try_reply() {
        Ok(reply) => {
            assert!(reply.matches("421"), "{}", smtp.transcript());
            smtp.expect_closed();
        }
        Err(NoReply::Closed) => {}
        Err(why) => panic!(
            "idle session neither told nor closed: {why:?}\n{}",
            smtp.transcript()
        ),
    }
    let status = server.wait_exit();
    assert!(status.success(), "exit status {status}\n{}", server.logs());
}

#[test]
fn sigterm_in_the_middle_of_data_completes_or_refuses_whole() {
    let mut server = server();
    let mut smtp = server.smtp_ehlo();
    let sent = message(
        "sender@example.org",
        ALICE,
        "during shutdown",
        &"a line of the message\n".repeat(200),
    );
    let wire = dot_stuffed(sent.as_bytes());
    let (first, rest) = wire.split_at(wire.len() / 2);
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd(&format!("RCPT TO:<{ALICE}>"), "250");
    smtp.cmd("DATA", "354");
    smtp.send(first);
    server.signal("TERM");
    let outcome = match smtp.try_send(rest) {
        Ok(()) => smtp.try_reply(),
        Err(_) => Err(NoReply::Closed),
    };
    let status = server.wait_exit();
    assert!(status.success(), "exit status {status}\n{}", server.logs());

    let inbox = server.inbox(ALICE);
    match outcome {
        Ok(reply) if reply.matches("250") => {
            assert_eq!(
                inbox.len(),
                1,
                "acknowledged with 250 but not stored\n{}",
                smtp.transcript()
            );
            assert_delivered(&inbox[0], sent.as_bytes());
        }
        Ok(reply) => {
            assert!(reply.code >= 400, "{}", smtp.transcript());
            assert!(inbox.is_empty(), "refused ({}) but stored", reply.text());
        }
        Err(_) => assert!(
            inbox.is_empty(),
            "no reply, yet the message was stored\n{}",
            smtp.transcript()
        ),
    }
    eprintln!("transaction during shutdown:\n{}", smtp.transcript());
}

#[test]
fn messages_survive_a_clean_restart() {
    let mut server = server();
    let mut smtp = server.smtp_ehlo();
    let sent = message("sender@example.org", ALICE, "before restart", "kept");
    let reply = smtp.send_mail("sender@example.org", &[ALICE], sent.as_bytes());
    assert!(reply.matches("250"), "{}", smtp.transcript());
    smtp.cmd("QUIT", "221");
    assert!(server.terminate().success());
    server.spawn();
    let inbox = server.inbox(ALICE);
    assert_eq!(inbox.len(), 1);
    assert_delivered(&inbox[0], sent.as_bytes());
    // And it accepts mail again.
    let mut smtp = server.smtp_ehlo();
    let reply = smtp.send_mail("sender@example.org", &[ALICE], sent.as_bytes());
    assert!(reply.matches("250"), "{}", smtp.transcript());
    assert_eq!(server.inbox(ALICE).len(), 2);
}
