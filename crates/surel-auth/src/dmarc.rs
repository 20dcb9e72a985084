//! DMARC (RFC 7489): ties SPF and DKIM to the From domain and says what its owner asks for.
//!
//! Record discovery (§6.6.3) and identifier alignment (§3.1) are done here, not by mail-auth:
//! mail-auth 0.13.3 finds the organizational domain by a DNS tree walk (DMARCbis) and takes no
//! organizational domain or record from its caller. Ours comes from the Public Suffix List
//! (§3.2) compiled into the `psl` crate, ICANN and private sections both: `x.github.io` is its
//! own organizational domain, so `x.github.io` and `y.github.io` never align with each other.
//! mail-auth still parses the message and verifies DKIM; only its results are read here.

use mail_auth::common::to_a_label;
use mail_auth::{AuthenticatedMessage, DkimOutput};
use psl::Psl as _;
use surel_dns::DnsError;

use crate::Authenticator;
use crate::spf::SpfResult;

/// The DMARC result (RFC 7489 §11.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmarcResult {
    /// An aligned SPF or DKIM pass.
    Pass,
    /// A record exists and nothing aligned passed.
    Fail,
    /// DNS failed while looking for the record or aligning.
    TempError,
    /// The record was unusable.
    PermError,
    /// No record, or no single From domain.
    None,
}

impl DmarcResult {
    /// The Authentication-Results keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            DmarcResult::Pass => "pass",
            DmarcResult::Fail => "fail",
            DmarcResult::TempError => "temperror",
            DmarcResult::PermError => "permerror",
            DmarcResult::None => "none",
        }
    }
}

/// The domain owner's requested handling (RFC 7489 §6.3 `p`/`sp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// `none`: monitor only.
    None,
    /// `quarantine`: treat as suspicious (our Junk).
    Quarantine,
    /// `reject`: refuse during the SMTP transaction.
    Reject,
}

impl Policy {
    /// The `policy.dmarc` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }

    /// One step less strict (RFC 7489 §6.6.4 for messages outside `pct`).
    fn weaker(self) -> Self {
        match self {
            Policy::Reject => Policy::Quarantine,
            Policy::Quarantine | Policy::None => Policy::None,
        }
    }
}

/// The DMARC evaluation of one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmarcVerdict {
    /// The result.
    pub result: DmarcResult,
    /// The RFC 5322.From domain evaluated; empty when there was none (or several).
    pub from_domain: String,
    /// The policy that applies to this From domain (`p`, or `sp` for a subdomain).
    pub policy: Policy,
    /// What to do with a failing message: `policy`, or one step weaker when the message fell
    /// outside `pct` (RFC 7489 §6.6.4). `Policy::None` unless `result` is `Fail`.
    pub disposition: Policy,
}

impl Authenticator {
    /// Evaluates DMARC for `message` given the SPF result `spf` for `spf_domain` (MAIL FROM
    /// domain, or HELO for a null sender, RFC 7489 §4.1) and the DKIM outputs.
    pub(crate) async fn verify_dmarc_output(
        &self,
        message: &AuthenticatedMessage<'_>,
        dkim: &[DkimOutput<'_>],
        spf_domain: &str,
        spf: SpfResult,
    ) -> DmarcVerdict {
        let none = |from_domain: String, result: DmarcResult| DmarcVerdict {
            result,
            from_domain,
            policy: Policy::None,
            disposition: Policy::None,
        };
        // RFC 7489 §6.6.1: a From with several different domains is not evaluated here.
        let Some(from_domain) = from_domain(&message.from) else {
            return none(String::new(), DmarcResult::None);
        };
        let org_domain = organizational_domain(&from_domain);
        let found = match self.discover(&from_domain, &org_domain).await {
            Ok(Some(found)) => found,
            Ok(None) => return none(from_domain, DmarcResult::None),
            // RFC 7489 §6.6.3: a transient DNS error is a temperror, not "no record".
            Err(_) => return none(from_domain, DmarcResult::TempError),
        };
        let record = found.record;
        // RFC 7489 §6.3: `sp` applies when the record came from the organizational domain of
        // a subdomain; absent, it is `p`.
        let policy = if found.at_org_domain {
            record.sp.unwrap_or(record.p)
        } else {
            record.p
        };
        let spf_aligned = aligned(spf_domain, &from_domain, record.aspf);
        // RFC 7489 §4.2: a pass needs an aligned SPF pass or an aligned DKIM pass.
        let dkim_aligned = |d: &DkimOutput<'_>| {
            d.signature()
                .is_some_and(|s| aligned(&s.d, &from_domain, record.adkim))
        };
        let pass = (spf == SpfResult::Pass && spf_aligned)
            || dkim
                .iter()
                .any(|d| *d.result() == mail_auth::DkimResult::Pass && dkim_aligned(d));
        // A DNS failure on an aligned identifier means it might have passed: neither pass nor
        // fail, so the configured temperror policy applies instead of `p`.
        let maybe = (spf == SpfResult::TempError && spf_aligned)
            || dkim.iter().any(|d| {
                matches!(d.result(), mail_auth::DkimResult::TempError(_)) && dkim_aligned(d)
            });
        let result = if pass {
            DmarcResult::Pass
        } else if maybe {
            DmarcResult::TempError
        } else {
            DmarcResult::Fail
        };
        let disposition = match (result, record.pct) {
            (DmarcResult::Fail, _) if policy == Policy::None => Policy::None,
            // RFC 7489 §6.6.4: apply the policy to pct% of failing messages, the next weaker
            // one to the rest.
            (DmarcResult::Fail, pct) if pct < 100 && rand::random_range(0..100u8) >= pct => {
                policy.weaker()
            }
            (DmarcResult::Fail, _) => policy,
            _ => Policy::None,
        };
        DmarcVerdict {
            result,
            from_domain,
            policy,
            disposition,
        }
    }

    /// DMARC policy discovery (RFC 7489 §6.6.3): the From domain's own record, else (when the
    /// From domain has none) its organizational domain's. `Ok(None)`: no record applies.
    async fn discover(
        &self,
        from_domain: &str,
        org_domain: &str,
    ) -> Result<Option<Found>, DnsError> {
        match self.dmarc_records(from_domain).await?.as_slice() {
            [record] => {
                return Ok(record_or_none(record).map(|record| Found {
                    record,
                    at_org_domain: false,
                }));
            }
            // §6.6.3 step 5: several records end discovery with no DMARC processing.
            [_, _, ..] => return Ok(None),
            // §6.6.3 step 3: none at the From domain: ask the organizational domain.
            [] => {}
        }
        if org_domain == from_domain {
            return Ok(None);
        }
        match self.dmarc_records(org_domain).await?.as_slice() {
            [record] => Ok(record_or_none(record).map(|record| Found {
                record,
                at_org_domain: true,
            })),
            _ => Ok(None),
        }
    }

    /// The TXT records at `_dmarc.<domain>` that start with `v=DMARC1` (RFC 7489 §6.6.3 step
    /// 4); empty when the name or its TXT records do not exist.
    async fn dmarc_records(&self, domain: &str) -> Result<Vec<String>, DnsError> {
        let txts = match self.dns.txt(&format!("_dmarc.{domain}")).await {
            Ok(txts) => txts,
            Err(DnsError::NotFound(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(txts
            .iter()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .filter(|t| is_dmarc(t))
            .collect())
    }
}

/// A record found by discovery, and where.
struct Found {
    record: Record,
    /// Found at the organizational domain for a From subdomain: `sp` applies (RFC 7489 §6.3).
    at_org_domain: bool,
}

/// The DMARC tags we act on (RFC 7489 §6.3); the reporting tags are not used here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Record {
    p: Policy,
    /// `sp`; `None` when absent, meaning "as `p`".
    sp: Option<Policy>,
    adkim: Alignment,
    aspf: Alignment,
    /// `pct`, 0 to 100; 100 when absent or malformed.
    pct: u8,
}

/// Identifier alignment mode (RFC 7489 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Alignment {
    /// `r` (the default): the same organizational domain.
    Relaxed,
    /// `s`: exactly the same domain.
    Strict,
}

/// The single RFC5322.From domain, lower-case A-labels; `None` when there is none or several
/// differ (RFC 7489 §6.6.1).
fn from_domain(from: &[String]) -> Option<String> {
    let mut found: Option<String> = None;
    for address in from {
        let Some((_, domain)) = address.rsplit_once('@') else {
            continue;
        };
        let domain = normalize(domain);
        if domain.is_empty() {
            continue;
        }
        match &found {
            Some(seen) if *seen != domain => return None,
            Some(_) => {}
            None => found = Some(domain),
        }
    }
    found
}

/// Lower-case A-labels without a trailing dot, so names compare as strings.
fn normalize(domain: &str) -> String {
    let domain = domain.trim().trim_end_matches('.');
    to_a_label(domain).to_ascii_lowercase()
}

/// The organizational domain (RFC 7489 §3.2): the longest matching public suffix plus one
/// label. A name that is itself a public suffix (or has no suffix) is its own.
pub(crate) fn organizational_domain(domain: &str) -> String {
    let domain = normalize(domain);
    match psl::List.domain(domain.as_bytes()) {
        Some(org) => String::from_utf8_lossy(org.trim().as_bytes()).into_owned(),
        None => domain,
    }
}

/// Identifier alignment of `identifier` (the SPF or DKIM `d=` domain) with the From domain
/// (RFC 7489 §3.1.1, §3.1.2): strict needs the same name, relaxed the same organizational
/// domain.
fn aligned(identifier: &str, from_domain: &str, mode: Alignment) -> bool {
    let identifier = normalize(identifier);
    let from_domain = normalize(from_domain);
    if identifier.is_empty() || from_domain.is_empty() {
        return false;
    }
    match mode {
        Alignment::Strict => identifier == from_domain,
        Alignment::Relaxed => {
            organizational_domain(&identifier) == organizational_domain(&from_domain)
        }
    }
}

/// Whether a TXT record is a DMARC record: its first tag is `v=DMARC1` (RFC 7489 §6.4).
fn is_dmarc(text: &str) -> bool {
    let first = text.split(';').next().unwrap_or_default();
    first
        .split_once('=')
        .is_some_and(|(k, v)| k.trim() == "v" && v.trim() == "DMARC1")
}

/// Parses a DMARC record; `None` when no DMARC processing applies (RFC 7489 §6.6.3 step 6: no
/// valid `p` or an invalid `sp`, without a `rua` tag, whose presence makes it `p=none`).
fn record_or_none(text: &str) -> Option<Record> {
    let mut p = None;
    let mut sp = None;
    let mut bad_policy = false;
    let mut has_rua = false;
    let mut record = Record {
        p: Policy::None,
        sp: None,
        adkim: Alignment::Relaxed,
        aspf: Alignment::Relaxed,
        pct: 100,
    };
    // RFC 7489 §6.4: tag-value pairs separated by ";", the first being `v`; unknown tags are
    // ignored (§6.3).
    for tag in text.split(';').skip(1) {
        let Some((name, value)) = tag.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "p" => match parse_policy(value) {
                Some(v) => p = Some(v),
                None => bad_policy = true,
            },
            "sp" => match parse_policy(value) {
                Some(v) => sp = Some(v),
                None => bad_policy = true,
            },
            "adkim" => record.adkim = parse_alignment(value).unwrap_or(Alignment::Relaxed),
            "aspf" => record.aspf = parse_alignment(value).unwrap_or(Alignment::Relaxed),
            // RFC 7489 §6.3: pct is an integer 0 to 100, default 100.
            "pct" => {
                record.pct = value
                    .parse::<u8>()
                    .ok()
                    .filter(|v| *v <= 100)
                    .unwrap_or(100)
            }
            "rua" => has_rua = !value.is_empty(),
            _ => {}
        }
    }
    match p {
        Some(p) if !bad_policy => Some(Record { p, sp, ..record }),
        // RFC 7489 §6.6.3 step 6: act as if `p=none` when `rua` is present.
        _ if has_rua => Some(Record {
            p: Policy::None,
            sp: None,
            ..record
        }),
        _ => None,
    }
}

/// A `p`/`sp` value (RFC 7489 §6.3).
fn parse_policy(value: &str) -> Option<Policy> {
    match value.to_ascii_lowercase().as_str() {
        "none" => Some(Policy::None),
        "quarantine" => Some(Policy::Quarantine),
        "reject" => Some(Policy::Reject),
        _ => None,
    }
}

/// An `adkim`/`aspf` value (RFC 7489 §6.3).
fn parse_alignment(value: &str) -> Option<Alignment> {
    match value.to_ascii_lowercase().as_str() {
        "r" => Some(Alignment::Relaxed),
        "s" => Some(Alignment::Strict),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organizational_domains_come_from_the_public_suffix_list() {
        for (domain, org) in [
            ("a.b.example.co.uk", "example.co.uk"),
            ("example.co.uk", "example.co.uk"),
            ("example.com", "example.com"),
            ("Mail.Example.COM.", "example.com"),
            // Private section: github.io is a public suffix, so each user site is its own.
            ("x.github.io", "x.github.io"),
            ("a.x.github.io", "x.github.io"),
            // A public suffix alone is its own organizational domain.
            ("co.uk", "co.uk"),
            // Not on the list: the implicit "*" rule makes the last label the suffix.
            ("mail.example.test", "example.test"),
        ] {
            assert_eq!(organizational_domain(domain), org, "{domain}");
        }
    }

    #[test]
    fn relaxed_alignment_is_the_same_organizational_domain() {
        for (id, from, yes) in [
            ("example.com", "example.com", true),
            ("mail.example.com", "example.com", true),
            ("example.com", "news.example.com", true),
            ("a.example.co.uk", "b.example.co.uk", true),
            ("EXAMPLE.com.", "example.COM", true),
            ("example.org", "example.com", false),
            ("other.co.uk", "example.co.uk", false),
            ("x.github.io", "y.github.io", false),
            ("github.io", "x.github.io", false),
            ("", "example.com", false),
        ] {
            assert_eq!(aligned(id, from, Alignment::Relaxed), yes, "{id} / {from}");
        }
    }

    #[test]
    fn strict_alignment_is_the_same_name() {
        for (id, from, yes) in [
            ("example.com", "example.com", true),
            ("Example.COM.", "example.com", true),
            ("mail.example.com", "example.com", false),
            ("example.com", "news.example.com", false),
            ("x.github.io", "x.github.io", true),
        ] {
            assert_eq!(aligned(id, from, Alignment::Strict), yes, "{id} / {from}");
        }
    }

    #[test]
    fn records_are_parsed() {
        let r =
            record_or_none("v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=20").unwrap();
        assert_eq!(
            r,
            Record {
                p: Policy::Reject,
                sp: Some(Policy::Quarantine),
                adkim: Alignment::Strict,
                aspf: Alignment::Relaxed,
                pct: 20,
            }
        );
        let r = record_or_none("v=DMARC1;p=Reject;PCT = 0").unwrap();
        assert_eq!((r.p, r.sp, r.pct), (Policy::Reject, None, 0));
        assert_eq!(
            record_or_none("v=DMARC1; p=reject; pct=150").unwrap().pct,
            100
        );
        // RFC 7489 §6.6.3 step 6: no valid p: none, or p=none when rua is given.
        assert_eq!(record_or_none("v=DMARC1; sp=reject"), None);
        assert_eq!(record_or_none("v=DMARC1; p=bogus"), None);
        let r = record_or_none("v=DMARC1; p=bogus; rua=mailto:d@example.com").unwrap();
        assert_eq!(r.p, Policy::None);
        assert!(is_dmarc("v=DMARC1; p=none"));
        assert!(!is_dmarc("p=none; v=DMARC1"));
        assert!(!is_dmarc("v=spf1 -all"));
    }

    mod discovery {
        use std::time::Duration;

        use surel_dns::test_server::{TestDns, Zone};

        use super::super::*;

        const SIGNED: &[u8] = b"From: a@x.test\r\nTo: b@y.test\r\nSubject: s\r\n\r\nbody\r\n";

        async fn verdict(zone: Zone, from: &str, spf_domain: &str, spf: SpfResult) -> DmarcVerdict {
            let dns = TestDns::start(zone).await.unwrap();
            let options = surel_dns::Options {
                timeout: Duration::from_millis(300),
                attempts: 1,
                ..Default::default()
            };
            let resolver = surel_dns::Resolver::new(&[dns.addr()], &options).unwrap();
            let auth = Authenticator::new(&resolver, "mx.receiver.test");
            let raw = String::from_utf8_lossy(SIGNED).replace("a@x.test", from);
            let message = AuthenticatedMessage::parse(raw.as_bytes()).unwrap();
            auth.verify_dmarc_output(&message, &[], spf_domain, spf)
                .await
        }

        #[tokio::test]
        async fn missing_record_is_none() {
            let v = verdict(Zone::new(), "a@example.com", "example.com", SpfResult::Fail).await;
            assert_eq!(v.result, DmarcResult::None);
            assert_eq!(v.from_domain, "example.com");
            assert_eq!((v.policy, v.disposition), (Policy::None, Policy::None));
        }

        #[tokio::test]
        async fn subdomain_without_record_gets_sp_of_the_organizational_domain() {
            let zone =
                || Zone::new().txt("_dmarc.example.co.uk", "v=DMARC1; p=reject; sp=quarantine");
            let v = verdict(
                zone(),
                "a@news.example.co.uk",
                "other.test",
                SpfResult::Pass,
            )
            .await;
            assert_eq!(v.result, DmarcResult::Fail);
            assert_eq!(v.from_domain, "news.example.co.uk");
            assert_eq!(
                (v.policy, v.disposition),
                (Policy::Quarantine, Policy::Quarantine)
            );
            // The organizational domain itself gets p.
            let v = verdict(zone(), "a@example.co.uk", "other.test", SpfResult::Pass).await;
            assert_eq!((v.policy, v.disposition), (Policy::Reject, Policy::Reject));
            // Without sp, a subdomain gets p.
            let zone = Zone::new().txt("_dmarc.example.com", "v=DMARC1; p=reject");
            let v = verdict(zone, "a@news.example.com", "other.test", SpfResult::Pass).await;
            assert_eq!(v.policy, Policy::Reject);
        }

        #[tokio::test]
        async fn a_subdomain_record_of_its_own_wins_over_sp() {
            let zone = Zone::new()
                .txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=reject")
                .txt("_dmarc.news.example.com", "v=DMARC1; p=none");
            let v = verdict(zone, "a@news.example.com", "other.test", SpfResult::Fail).await;
            assert_eq!(v.result, DmarcResult::Fail);
            assert_eq!((v.policy, v.disposition), (Policy::None, Policy::None));
        }

        #[tokio::test]
        async fn aligned_spf_pass_passes_by_mode() {
            let relaxed = || Zone::new().txt("_dmarc.example.com", "v=DMARC1; p=reject");
            let v = verdict(
                relaxed(),
                "a@example.com",
                "bounce.example.com",
                SpfResult::Pass,
            )
            .await;
            assert_eq!(v.result, DmarcResult::Pass);
            assert_eq!((v.policy, v.disposition), (Policy::Reject, Policy::None));
            let v = verdict(
                relaxed(),
                "a@example.com",
                "bounce.example.com",
                SpfResult::SoftFail,
            )
            .await;
            assert_eq!(v.result, DmarcResult::Fail);
            let strict = Zone::new().txt("_dmarc.example.com", "v=DMARC1; p=reject; aspf=s");
            let v = verdict(
                strict,
                "a@example.com",
                "bounce.example.com",
                SpfResult::Pass,
            )
            .await;
            assert_eq!(v.result, DmarcResult::Fail);
            // An aligned SPF temperror could have passed: temperror, not fail.
            let v = verdict(
                relaxed(),
                "a@example.com",
                "example.com",
                SpfResult::TempError,
            )
            .await;
            assert_eq!(v.result, DmarcResult::TempError);
        }

        #[tokio::test]
        async fn dns_timeout_is_temperror() {
            let zone = Zone::new().timeout("_dmarc.example.com");
            let v = verdict(zone, "a@example.com", "example.com", SpfResult::Pass).await;
            assert_eq!(v.result, DmarcResult::TempError);
        }

        #[tokio::test]
        async fn several_from_domains_are_not_evaluated() {
            let zone = Zone::new().txt("_dmarc.example.com", "v=DMARC1; p=reject");
            let v = verdict(
                zone,
                "a@example.com, b@example.org",
                "x.test",
                SpfResult::Fail,
            )
            .await;
            assert_eq!(v.result, DmarcResult::None);
            assert_eq!(v.from_domain, "");
        }
    }
}
