//! Conformance of DKIM keys: kept per local domain, listed newest first (equal times by
//! selector), selectors unique per domain case-insensitively, removed one by one or with their
//! domain. Creation times keep at least whole seconds.

use chrono::{DateTime, Utc};
use surel_types::{Domain, Secret};

use super::{domain, exists, not_found, ok};
use crate::{DkimAlgorithm, DkimKey, Store};

fn key(domain: &Domain, selector: &str, algorithm: DkimAlgorithm, seconds: i64) -> DkimKey {
    DkimKey {
        domain: domain.clone(),
        selector: selector.to_string(),
        algorithm,
        private_key: Secret::new(format!(
            "-----BEGIN PRIVATE KEY-----\n{selector}\n-----END PRIVATE KEY-----\n"
        )),
        created: DateTime::<Utc>::from_timestamp(seconds, 0).expect("fixed date"),
    }
}

pub(super) async fn run(store: &dyn Store) {
    let (d, other) = (domain("dkim.test"), domain("dkim-other.test"));
    let old_rsa = key(&d, "s202601r", DkimAlgorithm::RsaSha256, 1_767_225_600);
    not_found(
        store.add_dkim_key(&old_rsa).await,
        "dkim.test",
        "a key for a domain that is not local",
    );
    ok(store.add_domain(&d).await, "add_domain");
    ok(store.add_domain(&other).await, "add_domain");
    assert!(ok(store.dkim_keys(&d).await, "dkim_keys").is_empty());

    let old_ed = key(&d, "s202601e", DkimAlgorithm::Ed25519Sha256, 1_767_225_600);
    let new_rsa = key(&d, "s202611r", DkimAlgorithm::RsaSha256, 1_793_491_200);
    let elsewhere = key(&other, "s202601r", DkimAlgorithm::RsaSha256, 1_767_225_600);
    for k in [&old_rsa, &new_rsa, &old_ed, &elsewhere] {
        ok(store.add_dkim_key(k).await, "add_dkim_key");
    }
    assert_eq!(
        ok(store.dkim_keys(&d).await, "dkim_keys"),
        [new_rsa.clone(), old_ed.clone(), old_rsa.clone()],
        "newest first, equal times by selector, every field kept"
    );
    exists(
        store
            .add_dkim_key(&key(&d, "S202601R", DkimAlgorithm::Ed25519Sha256, 1))
            .await,
        "s202601r",
        "a selector the domain has already",
    );
    assert_eq!(ok(store.dkim_keys(&d).await, "dkim_keys").len(), 3);

    ok(
        store.remove_dkim_key(&d, "S202601R").await,
        "remove_dkim_key",
    );
    not_found(
        store.remove_dkim_key(&d, "s202601r").await,
        "s202601r",
        "removing a missing key",
    );
    assert_eq!(
        ok(store.dkim_keys(&d).await, "dkim_keys"),
        [new_rsa, old_ed],
        "only that key went"
    );
    assert_eq!(
        ok(store.dkim_keys(&other).await, "dkim_keys"),
        [elsewhere],
        "another domain's key with the same selector stays"
    );

    ok(store.remove_domain(&d).await, "remove_domain");
    assert!(
        ok(store.dkim_keys(&d).await, "dkim_keys").is_empty(),
        "a domain's keys go with it"
    );
    ok(store.add_domain(&d).await, "add_domain");
    assert!(
        ok(store.dkim_keys(&d).await, "dkim_keys").is_empty(),
        "adding the domain again does not bring its keys back"
    );
    ok(store.remove_domain(&d).await, "remove_domain");
    ok(store.remove_domain(&other).await, "remove_domain");
}
