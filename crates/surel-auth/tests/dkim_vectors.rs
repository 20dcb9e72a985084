//! DKIM vectors: mail-auth's resources (RFC 8463 appendix A, RFC 6376 style, real mail) and
//! dkimpy's test data, verified through the in-process DNS server.

use std::time::Duration;

use surel_auth::{Authenticator, DkimResult, DkimVerdict, Inbound};
use surel_dns::test_server::{TestDns, Zone};

const DATA: &str = "../../../shared/testdata";

fn crlf(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

async fn verify(zone: Zone, message: &[u8]) -> Vec<DkimVerdict> {
    let dns = TestDns::start(zone).await.unwrap();
    let options = surel_dns::Options {
        timeout: Duration::from_millis(300),
        attempts: 1,
        ..Default::default()
    };
    let resolver = surel_dns::Resolver::new(&[dns.addr()], &options).unwrap();
    let auth = Authenticator::new(&resolver, "mx.test");
    let report = auth
        .verify(&Inbound {
            ip: "192.0.2.1".parse().unwrap(),
            helo: "client.test",
            mail_from: "",
            message,
        })
        .await;
    report.dkim
}

/// `name value` lines, a blank line, then the message (mail-auth's resource layout).
fn resource(file: &str) -> (Zone, Vec<u8>) {
    let text = std::fs::read_to_string(format!("{DATA}/mail-auth-resources/dkim/{file}")).unwrap();
    let (records, message) = text.split_once("\n\n").unwrap();
    let mut zone = Zone::new();
    for line in records.lines() {
        let (name, value) = line.split_once(' ').unwrap();
        zone = zone.txt(name, value);
    }
    (zone, crlf(message))
}

#[tokio::test]
async fn mail_auth_resources_verify() {
    let mut report = Vec::new();
    for file in [
        "001.txt", "002.txt", "003.txt", "004.txt", "005.txt", "006.txt",
    ] {
        let (zone, message) = resource(file);
        let verdicts = verify(zone, &message).await;
        assert!(!verdicts.is_empty(), "{file}: no signature seen");
        for v in verdicts {
            report.push(format!(
                "{file} {}/{}: {:?} {:?}",
                v.domain, v.selector, v.result, v.reason
            ));
        }
    }
    println!("{}", report.join("\n"));
    // rsa-sha256 and ed25519-sha256 of RFC 8463 appendix A both pass.
    assert!(
        report
            .iter()
            .any(|r| r.starts_with("001.txt football.example.com/brisbane: Pass")),
        "{report:#?}"
    );
    assert!(
        report
            .iter()
            .any(|r| r.starts_with("001.txt football.example.com/test: Pass")),
        "{report:#?}"
    );
    assert!(
        report
            .iter()
            .any(|r| r.starts_with("002.txt example.com/newengland: Pass")),
        "{report:#?}"
    );
}

#[tokio::test]
async fn dkimpy_signed_message_and_bad_keys() {
    let signed =
        std::fs::read_to_string(format!("{DATA}/dkimpy-testdata/rfc6376.signed.msg")).unwrap();
    let message = crlf(&signed);
    let brisbane = "brisbane._domainkey.football.example.com";
    let key = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    let verdicts = verify(Zone::new().txt(brisbane, key), &message).await;
    let ed = verdicts.iter().find(|v| v.selector == "brisbane").unwrap();
    assert_eq!(ed.result, DkimResult::Pass, "{verdicts:?}");
    assert_eq!(ed.algorithm, "ed25519-sha256");
    // No key record for the RSA signature: permerror, not a pass.
    let rsa = verdicts.iter().find(|v| v.selector == "test").unwrap();
    assert_eq!(rsa.result, DkimResult::PermError, "{verdicts:?}");

    // A revoked key (empty p=) fails; a testing key's failure is neutral (RFC 6376 §3.6.1).
    let revoked = verify(
        Zone::new().txt(brisbane, "v=DKIM1; k=ed25519; p="),
        &message,
    )
    .await;
    let ed = revoked.iter().find(|v| v.selector == "brisbane").unwrap();
    assert_ne!(ed.result, DkimResult::Pass, "{revoked:?}");
    let tampered = crlf(&signed.replace("We lost the game", "We won the game"));
    let testing = verify(Zone::new().txt(brisbane, &format!("{key}; t=y")), &tampered).await;
    let ed = testing.iter().find(|v| v.selector == "brisbane").unwrap();
    assert_eq!(ed.result, DkimResult::Neutral, "{testing:?}");
    let broken = verify(Zone::new().txt(brisbane, key), &tampered).await;
    let ed = broken.iter().find(|v| v.selector == "brisbane").unwrap();
    assert_eq!(ed.result, DkimResult::Fail, "{broken:?}");

    // dkimpy's bad records never give a pass.
    for bad in ["badk.txt", "badversion.txt", "test_bad.txt"] {
        let record = std::fs::read_to_string(format!("{DATA}/dkimpy-testdata/{bad}")).unwrap();
        let verdicts = verify(Zone::new().txt(brisbane, record.trim()), &message).await;
        let ed = verdicts.iter().find(|v| v.selector == "brisbane").unwrap();
        assert_ne!(ed.result, DkimResult::Pass, "{bad}: {verdicts:?}");
    }
}

#[tokio::test]
async fn l_tag_signatures_are_not_trusted() {
    let signed =
        std::fs::read_to_string(format!("{DATA}/dkimpy-testdata/rfc6376.signed.msg")).unwrap();
    let with_l = signed.replacen("c=simple/simple; ", "c=simple/simple; l=10; ", 1);
    let key = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    let verdicts = verify(
        Zone::new().txt("brisbane._domainkey.football.example.com", key),
        &crlf(&with_l),
    )
    .await;
    assert!(
        verdicts.iter().all(|v| v.result != DkimResult::Pass),
        "{verdicts:?}"
    );
    assert!(
        verdicts.iter().any(|v| v.result == DkimResult::Policy),
        "{verdicts:?}"
    );
}

/// Signs `message` with Python's dkimpy (installed by `scripts/test`).
fn dkimpy_sign(message: &[u8], key: &str, selector: &str, algo: &str, canon: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!(
        "surel-dkimpy-{}-{selector}-{}",
        std::process::id(),
        canon.replace('/', "-")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let msg = dir.join("message");
    std::fs::write(&msg, message).unwrap();
    let out = std::process::Command::new("python3")
        .arg("tests/clients/dkimpy_sign.py")
        .arg(&msg)
        .arg(format!("{DATA}/dkimpy-testdata/{key}"))
        .args([selector, "example.com", algo, canon])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "dkimpy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test]
async fn messages_signed_by_dkimpy_verify() {
    let message = crlf(
        "From: Alice <alice@example.com>\nTo: bob@example.net\nSubject: interop\n\n\
         Hello  there, \n\nwith trailing whitespace   \n\n\n",
    );
    let rsa = std::fs::read_to_string(format!("{DATA}/dkimpy-testdata/test.txt")).unwrap();
    for canon in [
        "relaxed/relaxed",
        "simple/simple",
        "relaxed/simple",
        "simple/relaxed",
    ] {
        let signed = dkimpy_sign(&message, "test.private", "test", "rsa-sha256", canon);
        let zone = Zone::new().txt("test._domainkey.example.com", rsa.trim());
        let verdicts = verify(zone, &signed).await;
        assert_eq!(verdicts.len(), 1, "{canon}: {verdicts:?}");
        assert_eq!(
            verdicts[0].result,
            DkimResult::Pass,
            "{canon}: {verdicts:?}"
        );
    }
}
