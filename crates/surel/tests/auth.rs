//! Inbound SPF, DKIM and DMARC end to end (issue 6): the real server, a test DNS zone in this
//! process, and messages over SMTP from 127.0.0.1.

mod common;

use common::*;
use surel_dns::test_server::Zone;

const BOB: &str = "bob@local.test";

/// The RFC 8463 example message, signed (ed25519 `brisbane`, RSA `test`) by football.example.com.
const SIGNED: &str = include_str!("../../../../shared/testdata/dkimpy-testdata/rfc6376.signed.msg");

fn zone() -> Zone {
    Zone::new()
        // SPF -all that does not list 127.0.0.1, no DMARC.
        .txt("spf-fail.test", "v=spf1 ip4:192.0.2.1 -all")
        // DMARC p=reject and p=quarantine, with SPF failing and nothing signed.
        .txt("reject.test", "v=spf1 ip4:192.0.2.1 -all")
        .txt("_dmarc.reject.test", "v=DMARC1; p=reject")
        .txt("quarantine.test", "v=spf1 ip4:192.0.2.1 -all")
        .txt("_dmarc.quarantine.test", "v=DMARC1; p=quarantine")
        // A domain that lists loopback: DMARC passes through aligned SPF.
        .txt("good.test", "v=spf1 ip4:127.0.0.0/8 -all")
        .txt("_dmarc.good.test", "v=DMARC1; p=reject")
        .txt(
            "brisbane._domainkey.football.example.com",
            "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        )
        .txt("football.example.com", "v=spf1 ip4:127.0.0.1 -all")
}

fn server(zone: &TestZone, extra: &str) -> TestServer {
    let mut server = TestServer::configure(&format!("{}{extra}", zone.toml()));
    server.add_domain("local.test");
    server.add_account(BOB, "irrelevant password");
    // New accounts have a Junk mailbox (RFC 6154 \Junk) for quarantined mail.
    server.spawn();
    server
}

fn crlf(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

fn plain(from: &str) -> Vec<u8> {
    crlf(&format!(
        "From: <{from}>\nTo: <{BOB}>\nSubject: test\nMessage-ID: <1@x>\n\nhello\n"
    ))
}

/// The one message in `mailbox`, its header section, and the stored results.
fn only(server: &TestServer, mailbox: &str) -> (String, String) {
    let mut found = mailbox_in(&server.data_dir, BOB, mailbox);
    assert_eq!(
        found.len(),
        1,
        "{mailbox} should hold one message\n{}",
        server.logs()
    );
    let (bytes, stored) = found.remove(0);
    (
        header_section(&bytes),
        stored.expect("results kept with the message"),
    )
}

#[test]
fn spf_fail_from_the_wrong_ip_is_recorded_and_delivered() {
    let zone = TestZone::start(zone());
    let server = server(&zone, "");
    let mut smtp = server.smtp_ehlo();
    let reply = smtp.send_mail("alice@spf-fail.test", &[BOB], &plain("alice@spf-fail.test"));
    assert!(reply.matches("250"), "{}", reply.text());
    let (headers, stored) = only(&server, "INBOX");
    assert!(
        headers.contains(
            "Authentication-Results: mx.surel.test;\r\n\tspf=fail smtp.mailfrom=alice@spf-fail.test"
        ),
        "{headers}"
    );
    assert!(headers.contains("Received-SPF: fail"), "{headers}");
    assert!(headers.contains("dmarc=none"), "{headers}");
    assert!(stored.starts_with("mx.surel.test;"), "{stored}");
    assert!(stored.contains("spf=fail"), "{stored}");
    assert_trace_headers(&headers);
}

#[test]
fn dkim_signature_verifies_and_a_broken_body_hash_fails() {
    let zone = TestZone::start(zone());
    let server = server(&zone, "");
    let mut smtp = server.smtp_ehlo();
    let good = crlf(SIGNED);
    let reply = smtp.send_mail("joe@football.example.com", &[BOB], &good);
    assert!(reply.matches("250"), "{}", reply.text());
    let broken = crlf(&SIGNED.replace("We lost the game", "We won the game"));
    let reply = smtp.send_mail("joe@football.example.com", &[BOB], &broken);
    assert!(reply.matches("250"), "{}", reply.text());

    let inbox = mailbox_in(&server.data_dir, BOB, "INBOX");
    assert_eq!(inbox.len(), 2, "{}", server.logs());
    let first = header_section(&inbox[0].0);
    assert!(
        first.contains(
            "dkim=pass header.d=football.example.com header.s=brisbane header.a=ed25519-sha256"
        ),
        "{first}"
    );
    assert!(first.contains("dmarc=none"), "{first}");
    let second = header_section(&inbox[1].0);
    assert!(
        second.contains("dkim=fail reason=") && second.contains("header.s=brisbane"),
        "{second}"
    );
    assert!(
        !second.contains("dkim=pass header.d=football.example.com header.s=brisbane"),
        "{second}"
    );
}

#[test]
fn dmarc_reject_is_550_and_nothing_is_stored() {
    let zone = TestZone::start(zone());
    let server = server(&zone, "");
    let mut smtp = server.smtp_ehlo();
    let reply = smtp.send_mail("alice@reject.test", &[BOB], &plain("alice@reject.test"));
    assert!(reply.matches("550 5.7.1"), "{}", reply.text());
    assert!(mailbox_in(&server.data_dir, BOB, "INBOX").is_empty());
    assert!(mailbox_in(&server.data_dir, BOB, "Junk").is_empty());
    // The session goes on: an aligned, passing sender from the same connection is accepted.
    let reply = smtp.send_mail("alice@good.test", &[BOB], &plain("alice@good.test"));
    assert!(reply.matches("250"), "{}", reply.text());
    let (headers, _) = only(&server, "INBOX");
    assert!(
        headers.contains("dmarc=pass header.from=good.test policy.dmarc=reject"),
        "{headers}"
    );
}

#[test]
fn dmarc_quarantine_lands_in_junk() {
    let zone = TestZone::start(zone());
    let server = server(&zone, "");
    let mut smtp = server.smtp_ehlo();
    let reply = smtp.send_mail(
        "alice@quarantine.test",
        &[BOB],
        &plain("alice@quarantine.test"),
    );
    assert!(reply.matches("250"), "{}", reply.text());
    assert!(mailbox_in(&server.data_dir, BOB, "INBOX").is_empty());
    let (headers, stored) = only(&server, "Junk");
    assert!(
        headers.contains("dmarc=fail header.from=quarantine.test policy.dmarc=quarantine"),
        "{headers}"
    );
    assert!(stored.contains("dmarc=fail"), "{stored}");
}

#[test]
fn record_only_policy_delivers_a_dmarc_reject_to_the_inbox() {
    let zone = TestZone::start(zone());
    let server = server(&zone, "[auth]\ndmarc_policy = \"record\"\n");
    let mut smtp = server.smtp_ehlo();
    let reply = smtp.send_mail("alice@reject.test", &[BOB], &plain("alice@reject.test"));
    assert!(reply.matches("250"), "{}", reply.text());
    let (headers, _) = only(&server, "INBOX");
    assert!(
        headers.contains("dmarc=fail header.from=reject.test policy.dmarc=reject"),
        "{headers}"
    );
}

#[test]
fn forged_results_claiming_our_name_are_removed() {
    let zone = TestZone::start(zone());
    let server = server(&zone, "");
    let mut smtp = server.smtp_ehlo();
    let mut message =
        crlf("Authentication-Results: mx.surel.test; dmarc=pass header.from=bank.test\n");
    message.extend(plain("alice@spf-fail.test"));
    let reply = smtp.send_mail("alice@spf-fail.test", &[BOB], &message);
    assert!(reply.matches("250"), "{}", reply.text());
    let (headers, _) = only(&server, "INBOX");
    assert!(!headers.contains("bank.test"), "{headers}");
    assert_eq!(
        headers.matches("Authentication-Results:").count(),
        1,
        "{headers}"
    );
}
