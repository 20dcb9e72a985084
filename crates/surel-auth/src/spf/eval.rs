//! check_host() (RFC 7208 §4) over the shared resolver.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use mail_auth::hickory_resolver::TokioResolver;
use mail_auth::hickory_resolver::proto::rr::{Name, RData, RecordType};
use surel_dns::DnsError;

use super::SpfResult;
use super::macros::{self, Vars};
use super::record::{self, Mechanism, Part, Qualifier, Record};

/// RFC 7208 §4.6.4: at most 10 terms that query DNS per check.
const MAX_LOOKUPS: u32 = 10;
/// RFC 7208 §4.6.4: at most 2 lookups that find nothing.
const MAX_VOID: u32 = 2;
/// RFC 7208 §4.6.4: at most 10 MX names / PTR names looked up per mechanism.
const MAX_NAMES: usize = 10;

/// The longest explanation kept, in octets; the DNS text may be far longer.
const MAX_EXPLANATION: usize = 400;

/// One check_host() run: the inputs and the limit counters shared by includes and redirects.
pub(crate) struct Check<'a> {
    pub(crate) dns: &'a TokioResolver,
    /// The client address, IPv4 when it was IPv4-mapped (RFC 7208 §5).
    pub(crate) ip: IpAddr,
    pub(crate) local: &'a str,
    pub(crate) sender_domain: &'a str,
    pub(crate) helo: &'a str,
    pub(crate) receiver: &'a str,
    pub(crate) lookups: u32,
    pub(crate) voids: u32,
    /// How many `include:` evaluations we are inside; their `exp=` is never used (§6.2).
    pub(crate) includes: u32,
    /// The expanded `exp=` text of the record that gave `fail` (RFC 7208 §6.2).
    pub(crate) explanation: Option<String>,
}

type Boxed<'f> = Pin<Box<dyn Future<Output = SpfResult> + Send + 'f>>;

/// How a mechanism ended: matched, did not, or the check stops with this result.
enum Outcome {
    Match,
    NoMatch,
    Stop(SpfResult),
}

/// Whether `name` can be a DNS name we look up: labels of 1 to 63 octets, at most 253 in all
/// (RFC 7208 §4.3, RFC 1035 §2.3.4), and more than one label.
pub(crate) fn valid_domain(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|l| !l.is_empty() && l.len() <= 63)
}

/// RFC 7208 §7.3: an expanded name longer than 253 characters loses labels from the left.
fn truncate(name: &str) -> &str {
    let mut name = name.strip_suffix('.').unwrap_or(name);
    while name.len() > 253 {
        match name.split_once('.') {
            Some((_, rest)) => name = rest,
            None => break,
        }
    }
    name
}

impl Check<'_> {
    /// check_host(<ip>, <domain>, <sender>) (RFC 7208 §4).
    pub(crate) fn check_host<'f>(&'f mut self, domain: String) -> Boxed<'f> {
        Box::pin(async move {
            // RFC 7208 §4.3: a malformed or single-label domain gives "none".
            if !valid_domain(&domain) {
                return SpfResult::None;
            }
            let record = match self.record(&domain).await {
                Ok(Some(record)) => record,
                Ok(None) => return SpfResult::None,
                Err(result) => return result,
            };
            self.evaluate(&domain, &record).await
        })
    }

    /// The domain's SPF record (RFC 7208 §4.4, §4.5).
    async fn record(&self, domain: &str) -> Result<Option<Record>, SpfResult> {
        let txts = match self.txt(domain).await {
            Ok(txts) => txts,
            // §4.4: no such name, or no TXT: no record.
            Err(DnsError::NotFound(_)) => return Ok(None),
            Err(_) => return Err(SpfResult::TempError),
        };
        let mut spf = txts.iter().filter(|t| record::is_spf(t));
        let Some(first) = spf.next() else {
            return Ok(None);
        };
        // §4.5: more than one SPF record is a permerror.
        if spf.next().is_some() {
            return Err(SpfResult::PermError);
        }
        record::parse(first)
            .map(Some)
            .map_err(|_| SpfResult::PermError)
    }

    /// Evaluates `record` for `domain` (RFC 7208 §4.6, §4.7, §6.1).
    async fn evaluate(&mut self, domain: &str, record: &Record) -> SpfResult {
        for (qualifier, mechanism) in &record.directives {
            match self.mechanism(domain, mechanism).await {
                Outcome::Match => {
                    // §6.2: a fail from this record (not from inside an include, and not the
                    // record that redirected here) carries this record's explanation.
                    if *qualifier == Qualifier::Fail
                        && self.includes == 0
                        && let Some(exp) = &record.exp
                    {
                        self.explanation = self.explain(domain, exp).await;
                    }
                    // §4.6.2: the qualifier of the first matching mechanism is the result.
                    return match qualifier {
                        Qualifier::Pass => SpfResult::Pass,
                        Qualifier::Fail => SpfResult::Fail,
                        Qualifier::SoftFail => SpfResult::SoftFail,
                        Qualifier::Neutral => SpfResult::Neutral,
                    };
                }
                Outcome::NoMatch => {}
                Outcome::Stop(result) => return result,
            }
        }
        let Some(redirect) = &record.redirect else {
            // §4.7: nothing matched and no redirect: neutral.
            return SpfResult::Neutral;
        };
        // §6.1: redirect counts toward the lookup limit and evaluates the target's record.
        if let Err(result) = self.count_lookup() {
            return result;
        }
        let target = match self.target(domain, redirect).await {
            Some(target) => target,
            None => return SpfResult::PermError,
        };
        match self.check_host(target).await {
            // §6.1: a target with no record (or no valid name) is a permerror.
            SpfResult::None => SpfResult::PermError,
            other => other,
        }
    }

    fn count_lookup(&mut self) -> Result<(), SpfResult> {
        self.lookups += 1;
        if self.lookups > MAX_LOOKUPS {
            Err(SpfResult::PermError)
        } else {
            Ok(())
        }
    }

    /// A lookup found nothing (§4.6.4): more than two is a permerror.
    fn count_void(&mut self) -> Result<(), SpfResult> {
        self.voids += 1;
        if self.voids > MAX_VOID {
            Err(SpfResult::PermError)
        } else {
            Ok(())
        }
    }

    /// The macro values (RFC 7208 §7.2) while evaluating `domain`'s record.
    fn vars<'v>(&'v self, domain: &'v str, validated: Option<&'v str>) -> Vars<'v> {
        Vars {
            local: self.local,
            sender_domain: self.sender_domain,
            domain,
            ip: self.ip,
            helo: self.helo,
            receiver: self.receiver,
            validated,
        }
    }

    /// Expands a domain-spec; `None` when the result cannot be a DNS name (treated as a name
    /// that does not exist, RFC 7208 §4.8 by analogy to §4.3).
    async fn target(&self, domain: &str, spec: &[Part]) -> Option<String> {
        let validated = if macros::needs_ptr(spec) {
            self.validated_name(domain).await
        } else {
            None
        };
        let expanded = macros::expand(spec, &self.vars(domain, validated.as_deref()));
        let name = truncate(&expanded);
        valid_domain(name).then(|| name.to_string())
    }

    /// The explanation for a fail (RFC 7208 §6.2): the single TXT record at the expanded
    /// `exp=` domain, macro-expanded as an explain-string (where `c`, `r` and `t` are allowed).
    /// Any DNS error, zero or several records, or bad syntax gives none, as if no `exp=`.
    async fn explain(&self, domain: &str, spec: &[Part]) -> Option<String> {
        let target = self.target(domain, spec).await?;
        let txts = self.txt(&target).await.ok()?;
        let [txt] = txts.as_slice() else {
            return None;
        };
        let text = std::str::from_utf8(txt).ok()?;
        let parts = record::macro_string(text, true).ok()?;
        let validated = if macros::needs_ptr(&parts) {
            self.validated_name(domain).await
        } else {
            None
        };
        let mut text = macros::expand(&parts, &self.vars(domain, validated.as_deref()));
        // It ends up in a header line (Authentication-Results `reason=`), which must stay under
        // RFC 5322 §2.1.1's 998 octets: keep the start of a longer text.
        if text.len() > MAX_EXPLANATION {
            let cut = (0..=MAX_EXPLANATION)
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            text.truncate(cut);
        }
        Some(text)
    }

    /// The name for `spec`, or `domain` when there is none.
    async fn target_or(&self, domain: &str, spec: Option<&Vec<Part>>) -> Option<String> {
        match spec {
            Some(spec) => self.target(domain, spec).await,
            None => Some(domain.to_string()),
        }
    }

    async fn mechanism(&mut self, domain: &str, mechanism: &Mechanism) -> Outcome {
        let ip = self.ip;
        match mechanism {
            Mechanism::All => Outcome::Match,
            Mechanism::Ip4(net, len) => match ip {
                IpAddr::V4(ip) => matched(in_net(IpAddr::V4(ip), IpAddr::V4(*net), *len)),
                IpAddr::V6(_) => Outcome::NoMatch,
            },
            Mechanism::Ip6(net, len) => match ip {
                IpAddr::V6(ip) => matched(in_net(IpAddr::V6(ip), IpAddr::V6(*net), *len)),
                IpAddr::V4(_) => Outcome::NoMatch,
            },
            Mechanism::Include(spec) => {
                if let Err(r) = self.count_lookup() {
                    return Outcome::Stop(r);
                }
                let Some(target) = self.target(domain, spec).await else {
                    return Outcome::Stop(SpfResult::PermError);
                };
                self.includes += 1;
                let result = self.check_host(target).await;
                self.includes -= 1;
                // §5.2: pass matches; fail/softfail/neutral do not; none is a permerror.
                match result {
                    SpfResult::Pass => Outcome::Match,
                    SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral => Outcome::NoMatch,
                    SpfResult::TempError => Outcome::Stop(SpfResult::TempError),
                    SpfResult::PermError | SpfResult::None => Outcome::Stop(SpfResult::PermError),
                }
            }
            Mechanism::A {
                domain: spec,
                v4,
                v6,
            } => {
                if let Err(r) = self.count_lookup() {
                    return Outcome::Stop(r);
                }
                let Some(target) = self.target_or(domain, spec.as_ref()).await else {
                    return Outcome::NoMatch;
                };
                // §5.3: the addresses of the client's family, compared with the CIDR length.
                match self.addresses(&target).await {
                    Ok(addrs) if addrs.is_empty() => self.void_no_match(),
                    Ok(addrs) => matched(addrs.iter().any(|a| cidr_match(ip, *a, *v4, *v6))),
                    Err(r) => Outcome::Stop(r),
                }
            }
            Mechanism::Mx {
                domain: spec,
                v4,
                v6,
            } => {
                if let Err(r) = self.count_lookup() {
                    return Outcome::Stop(r);
                }
                let Some(target) = self.target_or(domain, spec.as_ref()).await else {
                    return Outcome::NoMatch;
                };
                let hosts = match self.mx(&target).await {
                    Ok(hosts) if hosts.is_empty() => return self.void_no_match(),
                    Ok(hosts) => hosts,
                    Err(DnsError::NotFound(_)) => return self.void_no_match(),
                    Err(_) => return Outcome::Stop(SpfResult::TempError),
                };
                // §4.6.4: more than 10 MX names is a permerror.
                if hosts.len() > MAX_NAMES {
                    return Outcome::Stop(SpfResult::PermError);
                }
                for host in hosts {
                    match self.addresses(&host).await {
                        Ok(addrs) if addrs.iter().any(|a| cidr_match(ip, *a, *v4, *v6)) => {
                            return Outcome::Match;
                        }
                        Ok(_) => {}
                        Err(r) => return Outcome::Stop(r),
                    }
                }
                Outcome::NoMatch
            }
            Mechanism::Ptr(spec) => {
                if let Err(r) = self.count_lookup() {
                    return Outcome::Stop(r);
                }
                let Some(target) = self.target_or(domain, spec.as_ref()).await else {
                    return Outcome::NoMatch;
                };
                let target = target.to_ascii_lowercase();
                // §5.5: a validated name equal to the target or a subdomain of it matches.
                let names = self.validated_names().await;
                matched(names.iter().any(|n| {
                    let n = n.to_ascii_lowercase();
                    n == target || n.ends_with(&format!(".{target}"))
                }))
            }
            Mechanism::Exists(spec) => {
                if let Err(r) = self.count_lookup() {
                    return Outcome::Stop(r);
                }
                let Some(target) = self.target(domain, spec).await else {
                    return Outcome::NoMatch;
                };
                // §5.7: an A lookup whatever the client's family; any answer matches.
                match self.query(&target, RecordType::A).await {
                    Ok(rdata) if rdata.iter().any(|r| matches!(r, RData::A(_))) => Outcome::Match,
                    Ok(_) | Err(DnsError::NotFound(_)) => self.void_no_match(),
                    Err(_) => Outcome::Stop(SpfResult::TempError),
                }
            }
        }
    }

    fn void_no_match(&mut self) -> Outcome {
        match self.count_void() {
            Ok(()) => Outcome::NoMatch,
            Err(r) => Outcome::Stop(r),
        }
    }

    /// The A (IPv4 client) or AAAA (IPv6 client) addresses of `name`; empty when none exist.
    async fn addresses(&self, name: &str) -> Result<Vec<IpAddr>, SpfResult> {
        let kind = match self.ip {
            IpAddr::V4(_) => RecordType::A,
            IpAddr::V6(_) => RecordType::AAAA,
        };
        match self.query(name, kind).await {
            Ok(rdata) => Ok(rdata
                .iter()
                .filter_map(|r| match r {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                    _ => None,
                })
                .collect()),
            Err(DnsError::NotFound(_)) => Ok(Vec::new()),
            Err(_) => Err(SpfResult::TempError),
        }
    }

    /// The client's validated host names (RFC 7208 §5.5): PTR names (at most 10) whose
    /// addresses include the client. DNS errors only shorten the list.
    async fn validated_names(&self) -> Vec<String> {
        let Ok(rdata) = self.query(&reverse_name(self.ip), RecordType::PTR).await else {
            return Vec::new();
        };
        let mut names = Vec::new();
        let ptrs = rdata.iter().filter_map(|r| match r {
            RData::PTR(ptr) => Some(raw(&ptr.0)),
            _ => None,
        });
        for name in ptrs.take(MAX_NAMES) {
            if let Ok(addrs) = self.addresses(&name).await
                && addrs.contains(&self.ip)
            {
                names.push(name);
            }
        }
        names
    }

    /// The `p` macro (RFC 7208 §7.3): `domain` if validated, else a validated subdomain of it,
    /// else any validated name.
    async fn validated_name(&self, domain: &str) -> Option<String> {
        let names = self.validated_names().await;
        let domain = domain.to_ascii_lowercase();
        let lower = |n: &String| n.to_ascii_lowercase();
        names
            .iter()
            .find(|n| lower(n) == domain)
            .or_else(|| {
                names
                    .iter()
                    .find(|n| lower(n).ends_with(&format!(".{domain}")))
            })
            .or_else(|| names.first())
            .cloned()
    }

    /// MX exchanges of `name`.
    async fn mx(&self, name: &str) -> Result<Vec<String>, DnsError> {
        Ok(self
            .query(name, RecordType::MX)
            .await?
            .iter()
            .filter_map(|r| match r {
                RData::MX(mx) => Some(raw(&mx.exchange)),
                _ => None,
            })
            .collect())
    }

    /// TXT records of `name`, each one's strings joined (RFC 7208 §3.3).
    async fn txt(&self, name: &str) -> Result<Vec<Vec<u8>>, DnsError> {
        Ok(self
            .query(name, RecordType::TXT)
            .await?
            .iter()
            .filter_map(|r| match r {
                RData::TXT(txt) => Some(txt.txt_data.iter().flatten().copied().collect()),
                _ => None,
            })
            .collect())
    }

    /// One query. The name is built label by label, so any octets a domain-spec allows (":" or
    /// "/" say) reach DNS as they are instead of failing to parse (RFC 7208 §7.1 allows them).
    async fn query(&self, name: &str, kind: RecordType) -> Result<Vec<RData>, DnsError> {
        let name = name.strip_suffix('.').unwrap_or(name);
        let mut fqdn = Name::from_labels(name.split('.').map(str::as_bytes))
            .map_err(|e| DnsError::NotFound(e.to_string()))?;
        fqdn.set_fqdn(true);
        let lookup = self.dns.lookup(fqdn, kind).await.map_err(DnsError::from)?;
        let rdata: Vec<RData> = lookup
            .answers()
            .iter()
            .filter(|r| r.record_type() == kind)
            .map(|r| r.data.clone())
            .collect();
        Ok(rdata)
    }
}

/// `name` as `query` takes it back: its labels' octets as they are, joined by "." with no
/// trailing one. Not `to_ascii()`, which escapes ":" or "/" (`foo\:bar`) into a different name
/// once split at dots again (RFC 7208 §7.1 allows both in a domain-spec).
fn raw(name: &Name) -> String {
    name.iter()
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(".")
}

fn matched(yes: bool) -> Outcome {
    if yes {
        Outcome::Match
    } else {
        Outcome::NoMatch
    }
}

/// `ip` against `addr` with the CIDR length for its family (RFC 7208 §5.6).
fn cidr_match(ip: IpAddr, addr: IpAddr, v4: u8, v6: u8) -> bool {
    match addr {
        IpAddr::V4(_) => in_net(ip, addr, v4),
        IpAddr::V6(_) => in_net(ip, addr, v6),
    }
}

/// Whether `ip` is in `net`/`len` (same family only).
pub(crate) fn in_net(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// The in-addr.arpa / ip6.arpa name of `ip`.
fn reverse_name(ip: IpAddr) -> String {
    let dotted = macros::dotted(ip);
    let reversed: Vec<&str> = dotted.split('.').rev().collect();
    match ip {
        IpAddr::V4(_) => format!("{}.in-addr.arpa", reversed.join(".")),
        IpAddr::V6(_) => format!("{}.ip6.arpa", reversed.join(".")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_by_prefix() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_net(ip("192.0.2.77"), ip("192.0.2.0"), 24));
        assert!(!in_net(ip("192.0.3.1"), ip("192.0.2.0"), 24));
        assert!(in_net(ip("10.0.0.1"), ip("192.0.2.0"), 0));
        assert!(in_net(ip("2001:db8::1"), ip("2001:db8::"), 32));
        assert!(in_net(ip("::1"), ip("2001:db8::"), 0));
        assert!(!in_net(ip("192.0.2.1"), ip("::"), 0));
    }

    #[test]
    fn domain_validity_and_truncation() {
        assert!(valid_domain("example.com"));
        assert!(valid_domain("example.com."));
        assert!(!valid_domain("museum"));
        assert!(!valid_domain("a..example.com"));
        assert!(!valid_domain(&format!("{}.example.com", "x".repeat(64))));
        // RFC 7208 §7.3: labels come off the left until the name fits 253 characters.
        let long = format!("{}example.com", "abcdefghi.".repeat(30));
        let cut = truncate(&long);
        assert!(cut.len() <= 253 && cut.ends_with("example.com") && valid_domain(cut));
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name("192.0.2.3".parse().unwrap()),
            "3.2.0.192.in-addr.arpa"
        );
        assert!(
            reverse_name("2001:db8::1".parse().unwrap())
                .starts_with("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6")
        );
    }

    mod exp {
        use std::time::Duration;

        use surel_dns::test_server::{TestDns, Zone};

        use super::super::MAX_EXPLANATION;
        use crate::{Authenticator, SpfResult, SpfVerdict};

        async fn check(zone: Zone, mail_from: &str) -> SpfVerdict {
            let dns = TestDns::start(zone).await.unwrap();
            let options = surel_dns::Options {
                timeout: Duration::from_millis(300),
                attempts: 1,
                ..Default::default()
            };
            let resolver = surel_dns::Resolver::new(&[dns.addr()], &options).unwrap();
            let auth = Authenticator::new(&resolver, "mx.receiver.test");
            let ip = "192.0.2.3".parse().unwrap();
            auth.verify_spf(ip, "client.test", mail_from).await
        }

        #[tokio::test]
        async fn fail_fetches_and_expands_the_explanation() {
            let zone = Zone::new()
                .txt("example.com", "v=spf1 mx -all exp=why._spf.%{d}")
                .txt(
                    "why._spf.example.com",
                    "%{i} is not one of %{d}'s mail servers (%{l} at %{r}, client %{c})",
                );
            let v = check(zone, "joe@example.com").await;
            assert_eq!(v.result, SpfResult::Fail);
            assert_eq!(
                v.explanation.as_deref(),
                Some(
                    "192.0.2.3 is not one of example.com's mail servers \
                     (joe at mx.receiver.test, client 192.0.2.3)"
                )
            );
        }

        #[tokio::test]
        async fn strings_of_one_record_are_joined() {
            let zone = Zone::new()
                .txt("example.com", "v=spf1 -all exp=why.example.com")
                .txt_parts("why.example.com", &["not ", "allowed"]);
            let v = check(zone, "joe@example.com").await;
            assert_eq!(v.explanation.as_deref(), Some("not allowed"));
            let long = "x".repeat(250);
            let zone = Zone::new()
                .txt("example.com", "v=spf1 -all exp=why.example.com")
                .txt_parts("why.example.com", &[&long, &long, &long]);
            let v = check(zone, "joe@example.com").await;
            assert_eq!(v.explanation.map(|e| e.len()), Some(MAX_EXPLANATION));
        }

        #[tokio::test]
        async fn errors_leave_no_explanation() {
            for zone in [
                // No TXT at the exp domain.
                Zone::new().txt("example.com", "v=spf1 -all exp=why.example.com"),
                // Two records.
                Zone::new()
                    .txt("example.com", "v=spf1 -all exp=why.example.com")
                    .txt("why.example.com", "one")
                    .txt("why.example.com", "two"),
                // Bad explain-string syntax.
                Zone::new()
                    .txt("example.com", "v=spf1 -all exp=why.example.com")
                    .txt("why.example.com", "bad %{z} macro"),
                // A DNS timeout.
                Zone::new()
                    .txt("example.com", "v=spf1 -all exp=why.example.com")
                    .timeout("why.example.com"),
            ] {
                let v = check(zone, "joe@example.com").await;
                assert_eq!(v.result, SpfResult::Fail);
                assert_eq!(v.explanation, None);
            }
        }

        #[tokio::test]
        async fn only_a_fail_is_explained() {
            let zone = Zone::new()
                .txt("example.com", "v=spf1 ~all exp=why.example.com")
                .txt("why.example.com", "go away");
            let v = check(zone, "joe@example.com").await;
            assert_eq!((v.result, v.explanation), (SpfResult::SoftFail, None));
        }

        #[tokio::test]
        async fn include_targets_do_not_explain_and_redirect_targets_do() {
            // RFC 7208 §6.2: an include's exp is never used.
            let zone = Zone::new()
                .txt("example.com", "v=spf1 include:inc.example.com -all")
                .txt("inc.example.com", "v=spf1 -all exp=why.example.com")
                .txt("why.example.com", "from the include");
            let v = check(zone, "joe@example.com").await;
            assert_eq!((v.result, v.explanation), (SpfResult::Fail, None));
            // RFC 7208 §6.2: after a redirect, the target's exp, never the original's.
            let zone = Zone::new()
                .txt(
                    "example.com",
                    "v=spf1 redirect=r.example.com exp=a.example.com",
                )
                .txt("r.example.com", "v=spf1 -all exp=b.example.com")
                .txt("a.example.com", "original")
                .txt("b.example.com", "target");
            let v = check(zone, "joe@example.com").await;
            assert_eq!(v.explanation.as_deref(), Some("target"));
        }
    }

    /// Names served by DNS that hold octets a domain-spec allows but a host name does not.
    mod odd_names {
        use std::time::Duration;

        use surel_dns::test_server::{TestDns, Zone};

        use crate::{Authenticator, SpfResult};

        async fn check(zone: Zone) -> SpfResult {
            let dns = TestDns::start(zone).await.unwrap();
            let options = surel_dns::Options {
                timeout: Duration::from_millis(300),
                attempts: 1,
                ..Default::default()
            };
            let resolver = surel_dns::Resolver::new(&[dns.addr()], &options).unwrap();
            let auth = Authenticator::new(&resolver, "mx.receiver.test");
            let ip = "192.0.2.3".parse().unwrap();
            auth.verify_spf(ip, "client.test", "joe@example.com")
                .await
                .result
        }

        #[tokio::test]
        async fn an_mx_target_with_a_colon_is_looked_up_as_served() {
            let zone = Zone::new()
                .txt("example.com", "v=spf1 mx:foo:bar/baz.example.com -all")
                .mx("foo:bar/baz.example.com", 0, "foo:bar/baz.example.com")
                .a("foo:bar/baz.example.com", "192.0.2.3".parse().unwrap());
            assert_eq!(check(zone).await, SpfResult::Pass);
        }

        #[tokio::test]
        async fn a_ptr_name_with_a_colon_is_validated_as_served() {
            let zone = Zone::new()
                .txt("example.com", "v=spf1 ptr:example.com -all")
                .ptr("3.2.0.192.in-addr.arpa", "foo:bar.example.com")
                .a("foo:bar.example.com", "192.0.2.3".parse().unwrap());
            assert_eq!(check(zone).await, SpfResult::Pass);
        }
    }
}
