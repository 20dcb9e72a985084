//! The OpenSPF RFC 7208 test suite (`shared/testdata/spf-openspf-suite/`): each scenario's
//! zonedata is served by the in-process DNS server and each test's host/helo/mailfrom checked.

use std::time::Duration;

use surel_auth::Authenticator;
use surel_dns::test_server::{TestDns, Zone};
use yaml_rust2::{Yaml, YamlLoader};

const SUITE: &str = "../../../shared/testdata/spf-openspf-suite/rfc7208-tests.yml";

fn text(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        _ => None,
    }
}

/// The zone a scenario's `zonedata` describes. Type SPF records are served as TXT when a name
/// has no TXT of its own (the suite's convention; RFC 7208 §3.1 dropped type SPF).
fn zone(data: &Yaml) -> Zone {
    let mut zone = Zone::new();
    let Some(names) = data.as_hash() else {
        return zone;
    };
    for (name, records) in names {
        // Raw, as the evaluator queries them: the server splits names at "." and takes every
        // other octet as it is, so ":", "/", "%" or a space (RFC 7208 §7.1) need no escaping.
        let name = text(name).unwrap_or_default();
        zone = zone.exists(&name);
        let list = records.as_vec().cloned().unwrap_or_default();
        let has_txt = list.iter().any(|r| {
            r.as_hash()
                .is_some_and(|m| m.contains_key(&Yaml::String("TXT".into())))
        });
        // "TXT: NONE" in the suite means no TXT record.
        let has_real_txt = list.iter().any(|r| {
            r.as_hash()
                .and_then(|m| m.get(&Yaml::String("TXT".into())))
                .is_some_and(|v| v.as_str() != Some("NONE"))
        });
        for record in &list {
            // A TIMEOUT beside a TXT record is for type SPF queries only (the suite's
            // `spftimeout`); RFC 7208 §4.4 looks up TXT alone, so the TXT answer stands.
            if record.as_str() == Some("TIMEOUT") && !has_real_txt {
                zone = zone.timeout(&name);
                continue;
            }
            let Some(map) = record.as_hash() else {
                continue;
            };
            for (kind, value) in map {
                let kind = match kind.as_str().unwrap_or_default() {
                    "SPF" if !has_txt => "TXT",
                    other => other,
                };
                zone = match (kind, value) {
                    ("TXT", Yaml::Array(parts)) => {
                        let parts: Vec<String> = parts.iter().filter_map(text).collect();
                        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
                        zone.txt_parts(&name, &refs)
                    }
                    ("TXT", Yaml::String(none)) if none == "NONE" => zone,
                    ("TXT", v) => zone.txt(&name, &text(v).unwrap_or_default()),
                    ("A", v) => match text(v).and_then(|s| s.parse().ok()) {
                        Some(ip) => zone.a(&name, ip),
                        None => zone,
                    },
                    ("AAAA", v) => match text(v).and_then(|s| s.parse().ok()) {
                        Some(ip) => zone.aaaa(&name, ip),
                        None => zone,
                    },
                    ("MX", Yaml::Array(mx)) => {
                        let pref = mx.first().and_then(Yaml::as_i64).unwrap_or(0);
                        let host = mx.get(1).and_then(text).unwrap_or_default();
                        zone.mx(&name, u16::try_from(pref).unwrap_or(0), &host)
                    }
                    ("PTR", v) => zone.ptr(&name, &text(v).unwrap_or_default()),
                    ("CNAME", v) => zone.cname(&name, &text(v).unwrap_or_default()),
                    _ => zone,
                };
            }
        }
    }
    zone
}

#[tokio::test]
async fn openspf_rfc7208_suite() {
    let source = std::fs::read_to_string(SUITE).expect("the OpenSPF suite");
    let docs = YamlLoader::load_from_str(&source).expect("valid YAML");
    let (mut passed, mut total, mut failures) = (0, 0, Vec::new());
    for doc in &docs {
        let dns = TestDns::start(zone(&doc["zonedata"])).await.unwrap();
        let options = surel_dns::Options {
            timeout: Duration::from_millis(300),
            attempts: 1,
            ..Default::default()
        };
        let resolver = surel_dns::Resolver::new(&[dns.addr()], &options).unwrap();
        let auth = Authenticator::new(&resolver, "receiver.test");
        let Some(tests) = doc["tests"].as_hash() else {
            continue;
        };
        for (name, test) in tests {
            total += 1;
            let name = text(name).unwrap_or_default();
            let host = text(&test["host"]).unwrap_or_default();
            let helo = text(&test["helo"]).unwrap_or_default();
            let mailfrom = text(&test["mailfrom"]).unwrap_or_default();
            let expected: Vec<String> = match &test["result"] {
                Yaml::Array(all) => all.iter().filter_map(text).collect(),
                other => text(other).into_iter().collect(),
            };
            let Ok(ip) = host.parse() else {
                failures.push(format!("{name}: bad host {host}"));
                continue;
            };
            let verdict = auth.verify_spf(ip, &helo, &mailfrom).await;
            if expected.iter().any(|e| e == verdict.result.as_str()) {
                passed += 1;
            } else {
                failures.push(format!(
                    "{name}: got {}, expected {expected:?}",
                    verdict.result.as_str()
                ));
            }
        }
    }
    println!("OpenSPF RFC 7208 suite: {passed}/{total} passed");
    for f in &failures {
        println!("  FAIL {f}");
    }
    assert_eq!(total, 203, "the suite has 203 tests");
    // One known gap, printed above: null-text. Its second TXT record has no strings at all
    // (RDLENGTH 0), which the server sends as it is; hickory's decoder refuses any response
    // holding an empty RDATA outside UPDATE (`InvalidEmptyRecord`), the lookup fails and
    // check_host() gives temperror (RFC 7208 §4.4) where the suite, whose resolver is a mock,
    // expects the other record to pass. The count may only go up.
    assert!(passed >= KNOWN_PASSING, "{passed}/{total}: {failures:#?}");
}

/// Passing tests when this was written; raise it when a gap closes.
const KNOWN_PASSING: usize = 202;
