//! DKIM keys and signing (issue 5): `surel domain add`, `dkim gen|show`, `dns records`, and
//! messages signed with the stored keys checked by Python's dkimpy and by surel's own verifier,
//! both reading the published records from an in-process DNS zone.

mod common;

use std::time::Duration;

use common::*;
use surel_auth::{Authenticator, DkimResult, DkimSigner, Inbound};
use surel_dns::test_server::Zone;
use surel_store::Store;
use surel_store_sqlite::SqliteStore;
use surel_types::Domain;

/// The same, sorted: the two keys of a pair are made at one instant, so the store lists them
/// by selector.
fn sorted(mut lines: Vec<&str>) -> Vec<&str> {
    lines.sort();
    lines
}

fn selector(line: &str) -> &str {
    line.split('.').next().expect("selector")
}

#[test]
fn domain_add_makes_a_key_pair_and_prints_its_records() {
    let server = TestServer::configure("");
    let out = server.cli(&["domain", "add", "a.test"]);
    let lines = dkim_lines(&out);
    assert_eq!(lines.len(), 2, "{out}");
    let (rsa, ed) = (lines[0], lines[1]);
    assert!(
        selector(rsa).ends_with('r') && selector(ed).ends_with('e'),
        "{out}"
    );
    assert!(rsa.contains("\"v=DKIM1; k=rsa; p="), "{rsa}");
    assert!(rsa.ends_with(&format!(
        "; rsa-sha256, made {}",
        chrono::Utc::now().format("%Y-%m-%d")
    )));
    assert!(ed.contains("\"v=DKIM1; k=ed25519; p="), "{ed}");
    // RSA-2048 needs two strings of at most 255 octets; Ed25519 fits in one.
    let (name, strings) = parse_txt_line(rsa);
    assert_eq!(name, format!("{}._domainkey.a.test.", selector(rsa)));
    assert_eq!(strings.len(), 2, "{rsa}");
    assert!(strings.iter().all(|s| s.len() <= 255));
    assert!(rsa.contains(" IN TXT ( \""), "{rsa}");
    assert_eq!(parse_txt_line(ed).1.len(), 1);
    // `dkim show` prints the same records.
    assert_eq!(
        sorted(dkim_lines(&server.cli(&["dkim", "show", "a.test"]))),
        sorted(lines)
    );
}

#[test]
fn dkim_gen_adds_pairs_with_fresh_selectors_and_keeps_the_old() {
    let server = TestServer::configure("");
    server.add_domain("a.test");
    let first = server.cli(&["dkim", "show", "a.test"]);
    let second = server.cli(&["dkim", "gen", "a.test"]);
    let third = server.cli(&["dkim", "gen", "a.test"]);
    assert_eq!(dkim_lines(&second).len(), 2, "{second}");
    let shown = server.cli(&["dkim", "show", "a.test"]);
    let lines = dkim_lines(&shown);
    assert_eq!(lines.len(), 6, "{shown}");
    let mut selectors: Vec<&str> = lines.iter().map(|l| selector(l)).collect();
    // Newest first: the last pair made leads.
    assert_eq!(
        sorted(lines[..2].to_vec()),
        sorted(dkim_lines(&third)),
        "{shown}"
    );
    assert_eq!(
        sorted(lines[4..].to_vec()),
        sorted(dkim_lines(&first)),
        "{shown}"
    );
    selectors.sort();
    selectors.dedup();
    assert_eq!(selectors.len(), 6, "selectors are unique: {shown}");
}

#[test]
fn dkim_and_dns_commands_refuse_a_domain_that_is_not_local() {
    let server = TestServer::configure("");
    for args in [
        ["dkim", "gen", "nowhere.test"],
        ["dkim", "show", "nowhere.test"],
        ["dns", "records", "nowhere.test"],
    ] {
        let err = server.cli_err(&args, None);
        assert!(err.contains("nowhere.test is not a local domain"), "{err}");
    }
}

#[test]
fn a_deleted_domain_loses_its_keys() {
    let server = TestServer::configure("");
    server.add_domain("a.test");
    server.cli(&["domain", "del", "a.test"]);
    let out = server.cli(&["domain", "add", "a.test"]);
    assert_eq!(dkim_lines(&out).len(), 2, "{out}");
    let shown = server.cli(&["dkim", "show", "a.test"]);
    assert_eq!(
        sorted(dkim_lines(&shown)),
        sorted(dkim_lines(&out)),
        "only the new pair: {shown}"
    );
}

#[test]
fn dns_records_lists_mx_spf_dkim_and_dmarc() {
    let server = TestServer::configure("");
    server.add_domain("a.test");
    let out = server.cli(&["dns", "records", "a.test"]);
    let records: Vec<&str> = out.lines().filter(|l| !l.starts_with(';')).collect();
    assert_eq!(records.len(), 5, "{out}");
    assert_eq!(records[0], format!("a.test. IN MX 10 {HOSTNAME}."));
    assert_eq!(records[1], "a.test. IN TXT \"v=spf1 mx -all\"");
    assert_eq!(
        &records[2..4],
        dkim_lines(&server.cli(&["dkim", "show", "a.test"])).as_slice()
    );
    assert_eq!(
        records[4],
        "_dmarc.a.test. IN TXT \"v=DMARC1; p=quarantine; rua=mailto:postmaster@a.test\""
    );
}

/// The zone that publishes a server's DKIM records as `dkim show` prints them.
fn published_zone(server: &TestServer, domain: &str) -> Zone {
    publish_dkim(Zone::new(), server, domain)
}

fn signer(server: &TestServer, domain: &str) -> DkimSigner {
    let data_dir = server.data_dir.clone();
    let name = domain.to_string();
    let domain = Domain::parse(domain).unwrap();
    let keys = block_on(async move {
        let store = SqliteStore::open(&data_dir).unwrap();
        store.dkim_keys(&domain).await.unwrap()
    });
    DkimSigner::new(
        &name,
        keys.iter()
            .map(|k| (k.selector.as_str(), k.private_key.expose().as_str())),
    )
    .unwrap()
}

fn dkimpy(server: &TestServer, zone: &TestZone, name: &str, message: &[u8]) -> serde_json::Value {
    let path = server.dir().join(name);
    std::fs::write(&path, message).unwrap();
    let addr = zone.dns.addr();
    run_py(
        "dkimpy_verify.py",
        &[
            path.to_str().unwrap(),
            &addr.ip().to_string(),
            &addr.port().to_string(),
        ],
    )
}

fn surel_verify(zone: &TestZone, message: &[u8]) -> Vec<surel_auth::DkimVerdict> {
    let addr = zone.dns.addr();
    let message = message.to_vec();
    block_on(async move {
        let options = surel_dns::Options {
            timeout: Duration::from_secs(2),
            attempts: 1,
            ..Default::default()
        };
        let resolver = surel_dns::Resolver::new(&[addr], &options).unwrap();
        Authenticator::new(&resolver, HOSTNAME)
            .verify(&Inbound {
                ip: "192.0.2.1".parse().unwrap(),
                helo: "a.test",
                mail_from: "alice@a.test",
                message: &message,
            })
            .await
            .dkim
    })
}

#[test]
fn signed_mail_verifies_with_dkimpy_and_surel() {
    let server = TestServer::configure("");
    server.add_domain("a.test");
    let zone = TestZone::start(published_zone(&server, "a.test"));
    let signer = signer(&server, "a.test");

    let plain = message(
        "alice@a.test",
        "bob@b.test",
        "plain",
        "Hello Bob,\n\nsee you.",
    );
    let blank_tail = format!("{plain} \r\n\t\r\n  \r\n");
    let non_ascii = "From: Zoë <alice@a.test>\r\nTo: Łukasz <bob@b.test>\r\nCc: c@c.test\r\n\
        Subject: café ☕\r\nDate: Sat, 28 Nov 2026 04:00:00 +0000\r\nMessage-ID: <n@a.test>\r\n\
        MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
        Content-Transfer-Encoding: 8bit\r\n\r\nÇa   va ?\t Très bien.  \r\n日本語\r\n"
        .to_string();
    let mut report = Vec::new();
    for (name, message) in [
        ("plain", plain),
        ("blank-tail", blank_tail),
        ("non-ascii", non_ascii),
    ] {
        let headers = signer.sign(message.as_bytes()).unwrap();
        let signed = [headers.as_bytes(), message.as_bytes()].concat();
        let verdict = dkimpy(&server, &zone, name, &signed);
        let sigs = verdict["signatures"].as_array().unwrap();
        assert_eq!(sigs.len(), 2, "{name}: {verdict}");
        let algorithms: Vec<&str> = sigs
            .iter()
            .map(|s| s["algorithm"].as_str().unwrap())
            .collect();
        assert_eq!(algorithms, ["rsa-sha256", "ed25519-sha256"], "{name}");
        for sig in sigs {
            assert_eq!(sig["ok"], true, "{name}: dkimpy says {sig}\n{headers}");
        }
        report.push(format!("{name}: dkimpy {verdict}"));

        // surel's own verifier takes the message as sent, blank tail and all (mail-auth 0.13.3
        // alone gets that wrong; Authenticator works around it).
        let verdicts = surel_verify(&zone, &signed);
        assert_eq!(verdicts.len(), 2, "{name}: {verdicts:?}");
        for v in &verdicts {
            assert_eq!(
                v.result,
                DkimResult::Pass,
                "{name}: surel says {verdicts:?}"
            );
        }
        let tampered = [&signed[..], b"tampered\r\n"].concat();
        let verdict = dkimpy(&server, &zone, &format!("{name}-tampered"), &tampered);
        for sig in verdict["signatures"].as_array().unwrap() {
            assert_eq!(sig["ok"], false, "{name}: a changed body must fail: {sig}");
        }
    }
    println!("{}", report.join("\n"));
}
