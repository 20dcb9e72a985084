//! Which hosts to try for a domain (RFC 5321 §5.1, RFC 7505), as a pure ordering over the DNS
//! answer plus the lookup that feeds it.

use surel_dns::{DnsError, Resolver};

use crate::outcome::Trouble;

/// The hosts to try for a domain, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Try these host names in this order.
    Hosts(Vec<String>),
    /// No MX records: the domain itself, by its A/AAAA records (RFC 5321 §5.1 implicit MX).
    Implicit(String),
    /// RFC 7505: the domain accepts no mail.
    NullMx,
}

/// Orders MX records: lowest preference first; equal preferences in random order (RFC 5321
/// §5.1: "randomize them to spread the load"). `pick(n)` returns a number below `n`. An empty
/// list means no MX: the domain itself is the implicit MX (RFC 5321 §5.1). A single MX whose
/// exchange is the root (`.` or empty) is a null MX (RFC 7505 §3); a null MX among others is
/// ignored as the malformed record it is.
pub fn order(
    domain: &str,
    mut records: Vec<(u16, String)>,
    pick: &mut dyn FnMut(usize) -> usize,
) -> Route {
    let is_null = |host: &str| host.is_empty() || host == ".";
    if records.len() == 1 && records.iter().all(|(_, h)| is_null(h)) {
        return Route::NullMx;
    }
    records.retain(|(_, h)| !is_null(h));
    if records.is_empty() {
        return Route::Implicit(domain.to_string());
    }
    // Fisher-Yates, then a stable sort by preference: equal preferences stay shuffled.
    for i in (1..records.len()).rev() {
        let j = pick(i + 1).min(i);
        records.swap(i, j);
    }
    records.sort_by_key(|(preference, _)| *preference);
    let mut hosts: Vec<String> = Vec::with_capacity(records.len());
    for (_, host) in records {
        let host = host.to_ascii_lowercase();
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    Route::Hosts(hosts)
}

/// Looks up and orders the MX hosts of `domain`.
pub async fn route(resolver: &Resolver, domain: &str) -> Result<Route, Trouble> {
    let records = match resolver.mx(domain).await {
        Ok(records) => records,
        // No MX records (or no such name, which the address lookup will confirm): implicit MX.
        Err(DnsError::NotFound(_)) => Vec::new(),
        Err(e) => return Err(Trouble::DnsTemporary(e.to_string())),
    };
    Ok(order(domain, records, &mut |n| rand::random_range(0..n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mx(list: &[(u16, &str)]) -> Vec<(u16, String)> {
        list.iter().map(|(p, h)| (*p, h.to_string())).collect()
    }

    fn hosts(list: &[&str]) -> Route {
        Route::Hosts(list.iter().map(|h| h.to_string()).collect())
    }

    #[test]
    fn orders_by_preference_and_handles_implicit_and_null_mx() {
        let first = &mut |_: usize| 0;
        let table = [
            (
                mx(&[(20, "b.test"), (10, "a.test")]),
                hosts(&["a.test", "b.test"]),
            ),
            (mx(&[]), Route::Implicit("example.test".into())),
            (mx(&[(0, "")]), Route::NullMx),
            (mx(&[(0, ".")]), Route::NullMx),
            (mx(&[(0, "."), (10, "a.test")]), hosts(&["a.test"])),
            (mx(&[(10, "A.test"), (20, "a.test")]), hosts(&["a.test"])),
        ];
        for (records, want) in table {
            assert_eq!(
                order("example.test", records.clone(), first),
                want,
                "{records:?}"
            );
        }
    }

    #[test]
    fn equal_preferences_are_shuffled_but_never_pass_a_lower_one() {
        let records = mx(&[
            (10, "x1"),
            (10, "x2"),
            (10, "x3"),
            (5, "first"),
            (20, "last"),
        ]);
        let mut seen = std::collections::BTreeSet::new();
        let mut state = 7u64;
        for _ in 0..200 {
            let mut pick = |n: usize| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 33) as usize % n
            };
            let Route::Hosts(order) = order("d", records.clone(), &mut pick) else {
                panic!("hosts expected");
            };
            assert_eq!(order.first().map(String::as_str), Some("first"));
            assert_eq!(order.last().map(String::as_str), Some("last"));
            seen.insert(order[1..4].to_vec());
        }
        assert_eq!(seen.len(), 6, "every order of the three equal MXs occurs");
    }
}
