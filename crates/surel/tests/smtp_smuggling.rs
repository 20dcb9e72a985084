//! SMTP smuggling (DESIGN §4): no end-of-data other than `<CRLF>.<CRLF>`, and bare CR, bare LF or
//! NUL anywhere in DATA refuses the message. The sequences come from the public test tools,
//! transcribed in shared/testdata/smtp-smuggling/eod-sequences.json.

mod common;

use common::*;

const SEQUENCES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/smtp-smuggling/eod-sequences.json"
);

const OUTER: &str = "alice@local.test";
const VICTIM: &str = "victim@local.test";

fn server() -> TestServer {
    let server = TestServer::start("");
    server.add_domain("local.test");
    server.add_account(OUTER, "pw-alice");
    server.add_account(VICTIM, "pw-victim");
    server
}

/// (name, bytes) of every sequence in the test data; fails if the file is missing.
fn sequences() -> Vec<(String, Vec<u8>)> {
    let text = std::fs::read_to_string(SEQUENCES).unwrap_or_else(|e| {
        panic!("cannot read {SEQUENCES}: {e} (the shared test data must be beside the checkout)")
    });
    let json: serde_json::Value = serde_json::from_str(&text).expect("eod-sequences.json is JSON");
    let list = json["sequences"].as_array().expect("a `sequences` array");
    let sequences: Vec<(String, Vec<u8>)> = list
        .iter()
        .map(|s| {
            let name = s["name"].as_str().expect("name").to_string();
            let bytes = s["bytes"].as_str().expect("bytes").as_bytes().to_vec();
            (name, bytes)
        })
        .collect();
    assert!(
        sequences.len() >= 10,
        "expected the dozen known sequences, found {}",
        sequences.len()
    );
    sequences
}

/// Sends a message whose body is `body` (raw, not dot-stuffed) followed by a real end of data;
/// returns the reply to it.
fn data_with_raw_body(smtp: &mut RawSmtp, body: &[u8]) -> Reply {
    smtp.cmd("MAIL FROM:<sender@example.org>", "250");
    smtp.cmd(&format!("RCPT TO:<{OUTER}>"), "250");
    smtp.cmd("DATA", "354");
    smtp.send(body);
    smtp.reply()
}

/// A clean transaction on the same connection: it must be accepted and stored, exactly once.
fn clean_transaction_works(smtp: &mut RawSmtp, tag: &str) -> Vec<u8> {
    let sent = message(
        "sender@example.org",
        OUTER,
        &format!("clean after {tag}"),
        &format!("clean {tag}"),
    );
    let reply = smtp.send_mail("sender@example.org", &[OUTER], sent.as_bytes());
    assert!(
        reply.matches("250"),
        "{tag}: clean message after the refused one not accepted\n{}",
        smtp.transcript()
    );
    sent.into_bytes()
}

#[test]
fn smuggled_end_of_data_sequences_are_refused() {
    let server = server();
    let mut expected_inbox: Vec<Vec<u8>> = Vec::new();
    let mut failures = Vec::new();
    for (name, sequence) in sequences() {
        let mut smtp = server.smtp_ehlo();
        let mut body = b"From: <sender@example.org>\r\nTo: <alice@local.test>\r\nSubject: smuggling test\r\n\r\nbody line".to_vec();
        body.extend_from_slice(&sequence);
        body.extend_from_slice(
            format!("MAIL FROM:<evil@x>\r\nRCPT TO:<{VICTIM}>\r\nDATA\r\nsmuggled\r\n").as_bytes(),
        );
        body.extend_from_slice(b"\r\n.\r\n");
        let reply = data_with_raw_body(&mut smtp, &body);
        if reply.code / 100 != 5 {
            failures.push(format!("{name}: expected 5xx, got:\n{}", smtp.transcript()));
            continue;
        }
        if !reply.has_enhanced_code() {
            failures.push(format!(
                "{name}: refusal without an enhanced code: {}",
                reply.text()
            ));
        }
        let inbox = server.inbox(OUTER);
        if inbox.len() != expected_inbox.len() {
            failures.push(format!(
                "{name}: refused, yet something was stored for {OUTER}"
            ));
            expected_inbox = inbox;
        }
        if !server.inbox(VICTIM).is_empty() {
            failures.push(format!("{name}: the smuggled message reached {VICTIM}"));
        }
        // The connection still works and stores exactly the clean message.
        let clean = clean_transaction_works(&mut smtp, &name);
        let inbox = server.inbox(OUTER);
        if inbox.len() != expected_inbox.len() + 1 {
            failures.push(format!(
                "{name}: after the clean message {OUTER} holds {} messages, expected {}",
                inbox.len(),
                expected_inbox.len() + 1
            ));
        } else {
            assert_delivered(inbox.last().expect("one more"), &clean);
        }
        expected_inbox = inbox;
        smtp.cmd("QUIT", "221");
    }
    assert!(
        server.inbox(VICTIM).is_empty(),
        "the smuggled message reached {VICTIM}"
    );
    assert!(
        failures.is_empty(),
        "{} of the sequences failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn bare_line_endings_and_nul_anywhere_in_data_are_refused() {
    let server = server();
    let cases: [(&str, &[u8]); 5] = [
        ("bare LF in the body", b"Subject: a\r\n\r\none\ntwo\r\n"),
        ("bare CR in the body", b"Subject: b\r\n\r\none\rtwo\r\n"),
        (
            "bare LF in a header",
            b"Subject: c\nX-Other: d\r\n\r\nbody\r\n",
        ),
        ("NUL in the body", b"Subject: e\r\n\r\none\x00two\r\n"),
        (
            "CR CR LF in the body",
            b"Subject: f\r\n\r\none\r\r\ntwo\r\n",
        ),
    ];
    let mut stored = 0;
    for (what, body) in cases {
        let mut smtp = server.smtp_ehlo();
        let mut data = body.to_vec();
        data.extend_from_slice(b".\r\n");
        let reply = data_with_raw_body(&mut smtp, &data);
        assert_eq!(
            reply.code / 100,
            5,
            "{what}: not refused\n{}",
            smtp.transcript()
        );
        assert_eq!(
            server.inbox(OUTER).len(),
            stored,
            "{what}: refused but stored"
        );
        let clean = clean_transaction_works(&mut smtp, what);
        stored += 1;
        let inbox = server.inbox(OUTER);
        assert_eq!(inbox.len(), stored, "{what}");
        assert_delivered(inbox.last().expect("stored"), &clean);
    }
}
