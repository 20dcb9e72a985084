//! Inbound SMTP delivery end to end: real clients (smtplib, swaks, raw lines) against the real
//! server, checking what lands in which INBOX.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

const PASSWORD: &str = "correct horse battery staple";

/// A server with the domain `local.test` and these accounts.
fn server_with(accounts: &[&str]) -> TestServer {
    let server = TestServer::start("");
    server.add_domain("local.test");
    for account in accounts {
        server.add_account(account, PASSWORD);
    }
    server
}

/// Sends `message` with `tests/clients/smtp_send.py`; `extra` adds flags such as `--starttls`.
fn smtplib_send(
    server: &TestServer,
    from: &str,
    to: &[&str],
    message: &str,
    extra: &[&str],
) -> Value {
    let file = tempfile::NamedTempFile::new_in(server.dir()).expect("temp file");
    std::fs::write(file.path(), message).expect("write message");
    let port = server.smtp_addr().port().to_string();
    let path = file.path().to_str().expect("UTF-8 path").to_string();
    let mut args = vec!["--port", &port, "--from", from, "--message-file", &path];
    for rcpt in to {
        args.extend(["--to", rcpt]);
    }
    args.extend_from_slice(extra);
    server.run_py("smtp_send.py", &args)
}

fn code(reply: &Value) -> i64 {
    reply["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no code in {reply}"))
}

fn text(reply: &Value) -> &str {
    reply["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {reply}"))
}

/// Checks a step-by-step smtplib run that should have delivered.
fn assert_smtplib_delivered(out: &Value) {
    assert_eq!(code(&out["ehlo"]), 250, "{out:#}");
    assert_eq!(code(&out["mail"]), 250, "{out:#}");
    for rcpt in out["rcpt"].as_array().expect("rcpt replies") {
        assert_eq!(code(rcpt), 250, "{out:#}");
    }
    assert_eq!(code(&out["data"]), 250, "{out:#}");
    assert!(text(&out["data"]).starts_with("2.0.0"), "{out:#}");
    assert_eq!(code(&out["quit"]), 221, "{out:#}");
}

/// The one message in `address`'s INBOX.
fn only_message(server: &TestServer, address: &str) -> Vec<u8> {
    let mut inbox = server.inbox(address);
    assert_eq!(
        inbox.len(),
        1,
        "{address} should hold exactly one message, holds {}",
        inbox.len()
    );
    inbox.remove(0)
}

#[test]
fn smtplib_delivers_to_an_account_with_a_received_header() {
    let server = server_with(&["alice@local.test"]);
    let sent = message(
        "sender@example.org",
        "alice@local.test",
        "hello alice",
        "Hi Alice,\nhow are you?",
    );
    let out = smtplib_send(
        &server,
        "sender@example.org",
        &["alice@local.test"],
        &sent,
        &[],
    );
    assert_smtplib_delivered(&out);
    assert!(
        text(&out["ehlo"]).starts_with(HOSTNAME),
        "EHLO reply should name the server: {out:#}"
    );

    let stored = only_message(&server, "alice@local.test");
    let added = assert_delivered(&stored, sent.as_bytes());
    // RFC 5321 §4.4: the Received header names the client (its EHLO) and us.
    assert!(
        added.contains(CLIENT_NAME),
        "Received lacks the client's EHLO name:\n{added}"
    );
    assert!(
        added.contains("127.0.0.1"),
        "Received lacks the client's IP:\n{added}"
    );
    assert!(
        added.contains(HOSTNAME),
        "Received lacks our host name:\n{added}"
    );
}

#[test]
fn alias_delivers_to_each_of_its_accounts() {
    let server = server_with(&["alice@local.test", "bob@local.test"]);
    server.add_alias("team@local.test", &["alice@local.test", "bob@local.test"]);
    let sent = message(
        "sender@example.org",
        "team@local.test",
        "to the team",
        "Hello team",
    );
    let out = smtplib_send(
        &server,
        "sender@example.org",
        &["team@local.test"],
        &sent,
        &[],
    );
    assert_smtplib_delivered(&out);
    assert_delivered(&only_message(&server, "alice@local.test"), sent.as_bytes());
    assert_delivered(&only_message(&server, "bob@local.test"), sent.as_bytes());
}

#[test]
fn plus_address_delivers_to_the_user() {
    let server = server_with(&["alice@local.test"]);
    let sent = message(
        "sender@example.org",
        "alice+news@local.test",
        "plus",
        "tagged",
    );
    let out = smtplib_send(
        &server,
        "sender@example.org",
        &["alice+news@local.test"],
        &sent,
        &[],
    );
    assert_smtplib_delivered(&out);
    assert_delivered(&only_message(&server, "alice@local.test"), sent.as_bytes());
}

#[test]
fn recipient_case_does_not_matter() {
    let server = server_with(&["alice@local.test"]);
    let sent = message("sender@example.org", "ALICE@Local.Test", "case", "shouting");
    let out = smtplib_send(
        &server,
        "sender@example.org",
        &["ALICE@Local.Test"],
        &sent,
        &[],
    );
    assert_smtplib_delivered(&out);
    assert_delivered(&only_message(&server, "alice@local.test"), sent.as_bytes());
}

#[test]
fn catch_all_takes_unknown_local_parts_only() {
    let server = server_with(&["alice@local.test", "catch@local.test"]);
    server.add_alias("@local.test", &["catch@local.test"]);

    let to_unknown = message(
        "sender@example.org",
        "whoever@local.test",
        "catch me",
        "for nobody in particular",
    );
    let out = smtplib_send(
        &server,
        "sender@example.org",
        &["whoever@local.test"],
        &to_unknown,
        &[],
    );
    assert_smtplib_delivered(&out);
    let to_alice = message(
        "sender@example.org",
        "alice@local.test",
        "for alice",
        "an account wins over the catch-all",
    );
    let out = smtplib_send(
        &server,
        "sender@example.org",
        &["alice@local.test"],
        &to_alice,
        &[],
    );
    assert_smtplib_delivered(&out);

    assert_delivered(
        &only_message(&server, "catch@local.test"),
        to_unknown.as_bytes(),
    );
    assert_delivered(
        &only_message(&server, "alice@local.test"),
        to_alice.as_bytes(),
    );
}

#[test]
fn unknown_local_user_is_550_5_1_1_and_others_still_get_it() {
    let server = server_with(&["alice@local.test"]);
    let sent = message(
        "sender@example.org",
        "alice@local.test",
        "mixed",
        "one good, one bad",
    );
    let out = smtplib_send(
        &server,
        "sender@example.org",
        &["nobody@local.test", "alice@local.test"],
        &sent,
        &[],
    );
    let rcpt = out["rcpt"].as_array().expect("rcpt replies");
    assert_eq!(code(&rcpt[0]), 550, "{out:#}");
    assert!(text(&rcpt[0]).starts_with("5.1.1"), "{out:#}");
    assert_eq!(code(&rcpt[1]), 250, "{out:#}");
    assert_eq!(code(&out["data"]), 250, "{out:#}");
    assert_delivered(&only_message(&server, "alice@local.test"), sent.as_bytes());
}

#[test]
fn only_unknown_recipients_means_no_data_and_nothing_stored() {
    let server = server_with(&["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("RCPT TO:<nobody@local.test>", "550 5.1.1");
    smtp.cmd("DATA", "5");
    // The connection stays usable.
    smtp.cmd("RSET", "250");
    smtp.cmd("QUIT", "221");
    assert!(server.inbox("alice@local.test").is_empty());
}

#[test]
fn relay_to_a_remote_domain_is_550_5_7_1() {
    let server = server_with(&["alice@local.test"]);
    let sent = message(
        "alice@local.test",
        "victim@elsewhere.test",
        "relay?",
        "never",
    );
    for rcpt in ["victim@elsewhere.test", "alice@local.test.elsewhere.test"] {
        let out = smtplib_send(&server, "alice@local.test", &[rcpt], &sent, &[]);
        let reply = &out["rcpt"][0];
        assert_eq!(code(reply), 550, "{rcpt}: {out:#}");
        assert!(text(reply).starts_with("5.7.1"), "{rcpt}: {out:#}");
        assert!(out["data"].is_null(), "{out:#}");
    }
    // An address literal (RFC 5321 §4.1.3) is never ours either. Refused either way; the server
    // answers 501 5.1.3 today (syntax) where 550 5.7.1 would be more exact.
    let out = smtplib_send(
        &server,
        "alice@local.test",
        &["alice@[127.0.0.1]"],
        &sent,
        &[],
    );
    assert_eq!(code(&out["rcpt"][0]) / 100, 5, "{out:#}");
    assert!(out["data"].is_null(), "{out:#}");
    assert!(server.inbox("alice@local.test").is_empty());
}

#[test]
fn null_sender_is_accepted() {
    let server = server_with(&["alice@local.test"]);
    let sent = message(
        "mailer-daemon@example.org",
        "alice@local.test",
        "bounce",
        "a delivery report",
    );
    let out = smtplib_send(&server, "", &["alice@local.test"], &sent, &[]);
    assert_smtplib_delivered(&out);
    assert_delivered(&only_message(&server, "alice@local.test"), sent.as_bytes());
}

#[test]
fn one_message_to_three_recipients_lands_in_three_inboxes() {
    let accounts = ["a@local.test", "b@local.test", "c@local.test"];
    let server = server_with(&accounts);
    let sent = message(
        "sender@example.org",
        "a@local.test",
        "three",
        "for all three of you",
    );
    let out = smtplib_send(
        &server,
        "sender@example.org",
        &accounts,
        &sent,
        &["--sendmail"],
    );
    assert_eq!(out["sendmail"]["ok"], Value::Bool(true), "{out:#}");
    assert_eq!(out["sendmail"]["refused"], serde_json::json!({}), "{out:#}");
    let copies: Vec<Vec<u8>> = accounts.iter().map(|a| only_message(&server, a)).collect();
    for copy in &copies {
        assert_delivered(copy, sent.as_bytes());
    }
    // One stored message: every copy is the same bytes, Received header included.
    assert!(
        copies.windows(2).all(|w| w[0] == w[1]),
        "the three copies differ"
    );
}

#[test]
fn one_copy_per_account_however_it_is_named() {
    let server = server_with(&["alice@local.test", "bob@local.test"]);
    server.add_alias("team@local.test", &["alice@local.test", "bob@local.test"]);
    let mut smtp = server.smtp_ehlo();
    let sent = message(
        "sender@example.org",
        "team@local.test",
        "dup",
        "named three ways",
    );
    let reply = {
        smtp.cmd("MAIL FROM:<sender@example.org>", "250");
        for rcpt in ["alice@local.test", "alice+x@local.test", "team@local.test"] {
            smtp.cmd(&format!("RCPT TO:<{rcpt}>"), "250");
        }
        smtp.cmd("DATA", "354");
        smtp.send(dot_stuffed(sent.as_bytes()));
        smtp.reply()
    };
    assert!(reply.matches("250"), "{}", smtp.transcript());
    assert_delivered(&only_message(&server, "alice@local.test"), sent.as_bytes());
    assert_delivered(&only_message(&server, "bob@local.test"), sent.as_bytes());
}

// ---- swaks ----

fn swaks(
    server: &TestServer,
    to: &str,
    subject: &str,
    body: &str,
    tls: bool,
) -> std::process::Output {
    require_tool("swaks", &["--version"]);
    let mut command = Command::new("swaks");
    command.args([
        "--server",
        &server.smtp_addr().to_string(),
        "--from",
        "sender@example.org",
        "--to",
        to,
        "--helo",
        CLIENT_NAME,
        "--timeout",
        "30",
        "--header",
        &format!("Subject: {subject}"),
        "--body",
        body,
    ]);
    if tls {
        command.arg("--tls");
    }
    run_bounded(&mut command, None, WAIT * 2)
}

fn assert_swaks_delivered(server: &TestServer, out: &std::process::Output, body: &str) -> String {
    let transcript = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "swaks failed ({}):\n{transcript}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = only_message(server, "alice@local.test");
    let text = String::from_utf8_lossy(&stored).into_owned();
    assert!(
        text.starts_with("Received: "),
        "no Received header first:\n{text}"
    );
    assert!(
        text.contains(&format!("\r\n\r\n{body}\r\n")),
        "body missing from:\n{text}"
    );
    transcript
}

#[test]
fn swaks_delivers_in_plaintext() {
    let server = server_with(&["alice@local.test"]);
    let body = "sent by swaks in the clear";
    let out = swaks(&server, "alice@local.test", "swaks plain", body, false);
    let transcript = assert_swaks_delivered(&server, &out, body);
    assert!(!transcript.contains("TLS started"), "{transcript}");
}

#[test]
fn swaks_delivers_over_starttls() {
    let server = server_with(&["alice@local.test"]);
    let body = "sent by swaks over STARTTLS";
    let out = swaks(&server, "alice@local.test", "swaks tls", body, true);
    let transcript = assert_swaks_delivered(&server, &out, body);
    assert!(
        transcript.contains("TLS started"),
        "swaks did not start TLS:\n{transcript}"
    );
}

// ---- STARTTLS ----

#[test]
fn smtplib_starttls_then_ehlo_again_and_deliver() {
    let server = server_with(&["alice@local.test"]);
    let sent = message(
        "sender@example.org",
        "alice@local.test",
        "over tls",
        "secret",
    );
    let out = smtplib_send(
        &server,
        "sender@example.org",
        &["alice@local.test"],
        &sent,
        &["--starttls"],
    );
    assert!(
        out["features"]
            .as_array()
            .expect("features")
            .contains(&Value::from("starttls")),
        "{out:#}"
    );
    assert_eq!(code(&out["starttls"]), 220, "{out:#}");
    assert!(
        out["tls_version"].as_str().unwrap_or("").starts_with("TLS"),
        "{out:#}"
    );
    assert_eq!(code(&out["ehlo_after_tls"]), 250, "{out:#}");
    let after = out["features_after_tls"]
        .as_array()
        .expect("features after TLS");
    // RFC 3207 §4.2: STARTTLS is not offered again once TLS is on.
    assert!(
        !after.contains(&Value::from("starttls")),
        "STARTTLS offered again after TLS: {out:#}"
    );
    for feature in [
        "pipelining",
        "size",
        "8bitmime",
        "smtputf8",
        "enhancedstatuscodes",
        "chunking",
    ] {
        assert!(
            after.contains(&Value::from(feature)),
            "{feature} missing after TLS: {out:#}"
        );
    }
    assert_smtplib_delivered(&out);
    assert_delivered(&only_message(&server, "alice@local.test"), sent.as_bytes());
}

#[test]
fn starttls_with_a_parameter_is_501() {
    let server = server_with(&[]);
    let mut smtp = server.smtp_ehlo();
    // RFC 3207 §4: STARTTLS takes no parameters; "501 Syntax error (no parameters allowed)".
    smtp.cmd("STARTTLS now", "501");
    // Still in plaintext and usable.
    smtp.cmd("NOOP", "250");
}

#[test]
fn bytes_pipelined_behind_starttls_are_discarded() {
    let server = server_with(&[]);
    let port = server.smtp_addr().port().to_string();
    let out = server.run_py("starttls_pipeline.py", &["--port", &port]);
    let field = |name: &str| out[name].as_str().unwrap_or("").to_string();
    assert!(field("starttls").starts_with("220"), "{out:#}");
    assert!(
        out.get("handshake_error").is_none(),
        "TLS handshake failed (plaintext sent after 220?): {out:#}"
    );
    assert_eq!(
        field("plaintext_leftover"),
        "",
        "the injected NOOP was answered in plaintext: {out:#}"
    );
    assert!(out.get("error").is_none(), "{out:#}");
    let after: Vec<&str> = out["after_tls"]
        .as_array()
        .expect("after_tls")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(after.len(), 3, "{out:#}");
    // The first reply inside TLS answers our EHLO, not the NOOP injected before the handshake.
    assert!(
        after[0].starts_with(&format!("250-{HOSTNAME}")),
        "first reply after TLS is not the EHLO reply: {out:#}"
    );
    assert!(after[0].contains("PIPELINING"), "{out:#}");
    assert!(after[1].starts_with("250 2.0.0"), "NOOP: {out:#}");
    assert!(after[2].starts_with("221"), "QUIT: {out:#}");
}

// ---- commands ----

#[test]
fn greeting_and_ehlo_announce_the_extensions() {
    let server = server_with(&[]);
    let mut smtp = RawSmtp::connect(server.smtp_addr());
    let greeting = smtp.expect("220");
    assert!(
        greeting.starts_with(&format!("220 {HOSTNAME}")),
        "{greeting}"
    );
    let ehlo = smtp.ehlo();
    assert!(ehlo.starts_with(&format!("250-{HOSTNAME}")), "{ehlo}");
    let keywords: Vec<&str> = ehlo.lines().skip(1).map(|l| &l[4..]).collect();
    for wanted in [
        "PIPELINING",
        "SIZE 52428800",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "CHUNKING",
        "STARTTLS",
    ] {
        assert!(keywords.contains(&wanted), "EHLO lacks {wanted}:\n{ehlo}");
    }
}

#[test]
fn simple_commands_get_their_replies_with_enhanced_codes() {
    let server = server_with(&["alice@local.test"]);
    let mut smtp = server.smtp();
    for (command, expected) in [
        ("HELO client.surel.test", "250"),
        ("NOOP", "250 2."),
        ("VRFY alice@local.test", "252 2."),
        ("HELP", "214 2."),
        ("RSET", "250 2."),
        ("noop", "250 2."),
    ] {
        smtp.send(format!("{command}\r\n"));
        let reply = smtp.reply();
        assert!(
            reply.matches(expected),
            "{command}: expected {expected}\n{}",
            smtp.transcript()
        );
        if !command.starts_with("HELO") {
            assert!(
                reply.has_enhanced_code(),
                "{command}: no enhanced status code\n{}",
                smtp.transcript()
            );
        }
    }
    // A transaction after plain HELO works too.
    let sent = message(
        "sender@example.org",
        "alice@local.test",
        "after helo",
        "old style",
    );
    let reply = smtp.send_mail("sender@example.org", &["alice@local.test"], sent.as_bytes());
    assert!(reply.matches("250 2.0.0"), "{}", smtp.transcript());
    let quit = smtp.reply_to("QUIT");
    assert!(quit.matches("221 2.0.0"), "{}", smtp.transcript());
    smtp.expect_closed();
    assert_delivered(&only_message(&server, "alice@local.test"), sent.as_bytes());
}

#[test]
fn rset_discards_the_transaction() {
    let server = server_with(&["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("RCPT TO:<alice@local.test>", "250");
    smtp.cmd("RSET", "250");
    smtp.cmd("DATA", "503 5.5.1");
    smtp.cmd("QUIT", "221");
    assert!(server.inbox("alice@local.test").is_empty());
}

#[test]
fn eight_bit_and_utf8_bodies_are_stored_byte_for_byte() {
    let server = server_with(&["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    let mut sent = b"From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nSubject: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9fe, \xe6\x97\xa5\xe6\x9c\xac\r\n".to_vec();
    sent.extend_from_slice(b"not UTF-8 at all: \x80\xfe\xff\r\n");
    smtp.cmd(
        "MAIL FROM:<j\u{fc}rgen@example.org> BODY=8BITMIME SMTPUTF8",
        "250",
    );
    smtp.cmd("RCPT TO:<alice@local.test>", "250");
    smtp.cmd("DATA", "354");
    smtp.send(dot_stuffed(&sent));
    smtp.expect("250");
    assert_delivered(&only_message(&server, "alice@local.test"), &sent);
}

// ---- BDAT, pipelining, DATA edge cases ----

#[test]
fn bdat_chunks_are_joined_without_unstuffing() {
    let server = server_with(&["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    let sent = b"Subject: chunks\r\n\r\nfirst line\r\n.a dot line stays as it is\r\nlast line\r\n"
        .to_vec();
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("RCPT TO:<alice@local.test>", "250");
    let mut first = b"BDAT 10\r\n".to_vec();
    first.extend_from_slice(&sent[..10]);
    smtp.send(first);
    smtp.expect("250");
    let rest = &sent[10..];
    let mut last = format!("BDAT {} LAST\r\n", rest.len()).into_bytes();
    last.extend_from_slice(rest);
    smtp.send(last);
    smtp.expect("250 2.0.0");
    smtp.cmd("QUIT", "221");
    assert_delivered(&only_message(&server, "alice@local.test"), &sent);
}

#[test]
fn bdat_zero_last_ends_the_message() {
    let server = server_with(&["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    let sent = b"Subject: zero last\r\n\r\nall in one chunk\r\n".to_vec();
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("RCPT TO:<alice@local.test>", "250");
    let mut chunk = format!("BDAT {}\r\n", sent.len()).into_bytes();
    chunk.extend_from_slice(&sent);
    smtp.send(chunk);
    smtp.expect("250");
    smtp.cmd("BDAT 0 LAST", "250 2.0.0");
    assert_delivered(&only_message(&server, "alice@local.test"), &sent);
}

#[test]
fn bdat_pipelined_with_the_envelope() {
    let server = server_with(&["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    let sent = b"Subject: one write\r\n\r\nenvelope and chunk together\r\n".to_vec();
    let mut write = format!(
        "MAIL FROM:<sender@example.org>\r\nRCPT TO:<alice@local.test>\r\nBDAT {} LAST\r\n",
        sent.len()
    )
    .into_bytes();
    write.extend_from_slice(&sent);
    write.extend_from_slice(b"NOOP\r\n");
    smtp.send(write);
    for expected in ["250", "250", "250 2.0.0", "250"] {
        smtp.expect(expected);
    }
    assert_delivered(&only_message(&server, "alice@local.test"), &sent);
}

#[test]
fn two_transactions_pipelined_in_one_write() {
    let server = server_with(&["alice@local.test", "bob@local.test"]);
    let mut smtp = server.smtp_ehlo();
    let first = message("sender@example.org", "alice@local.test", "first", "one");
    let second = message("sender@example.org", "bob@local.test", "second", "two");
    let mut write = Vec::new();
    for (rcpt, msg) in [("alice@local.test", &first), ("bob@local.test", &second)] {
        write.extend_from_slice(
            format!("MAIL FROM:<sender@example.org>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n").as_bytes(),
        );
        write.extend_from_slice(&dot_stuffed(msg.as_bytes()));
    }
    write.extend_from_slice(b"QUIT\r\n");
    smtp.send(write);
    for expected in [
        "250",
        "250",
        "354",
        "250 2.0.0",
        "250",
        "250",
        "354",
        "250 2.0.0",
        "221",
    ] {
        smtp.expect(expected);
    }
    smtp.expect_closed();
    assert_delivered(&only_message(&server, "alice@local.test"), first.as_bytes());
    assert_delivered(&only_message(&server, "bob@local.test"), second.as_bytes());
}

#[test]
fn data_with_only_the_end_line_is_an_empty_message() {
    let server = server_with(&["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("RCPT TO:<alice@local.test>", "250");
    smtp.cmd("DATA", "354");
    smtp.send(".\r\n");
    smtp.expect("250 2.0.0");
    smtp.cmd("NOOP", "250");
    let stored = only_message(&server, "alice@local.test");
    // Only what the server added: trace header lines, no body.
    assert_trace_headers(&String::from_utf8_lossy(&stored));
}

#[test]
fn dot_stuffed_lines_are_unstuffed() {
    let server = server_with(&["alice@local.test"]);
    let mut smtp = server.smtp_ehlo();
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd("RCPT TO:<alice@local.test>", "250");
    smtp.cmd("DATA", "354");
    smtp.send("..x\r\n\r\nbody\r\n..y\r\n...\r\n.\r\n");
    smtp.expect("250 2.0.0");
    assert_delivered(
        &only_message(&server, "alice@local.test"),
        b".x\r\n\r\nbody\r\n.y\r\n..\r\n",
    );
}
