//! SPF (RFC 7208): which hosts a domain lets send its mail. The record is parsed and checked
//! against the §12 grammar here (`spf/record.rs`), macros expanded (`spf/macros.rs`) and
//! check_host() run (`spf/eval.rs`) over the shared resolver: mail-auth 0.13.3's SPF accepted
//! records the RFC calls errors and failed on names it could not parse.

mod eval;
mod macros;
mod record;

use std::net::IpAddr;

use crate::Authenticator;

/// The seven SPF results (RFC 7208 §2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpfResult {
    /// §2.6.1: no record, or no checkable domain.
    None,
    /// §2.6.2: the domain makes no assertion about this host.
    Neutral,
    /// §2.6.3: the host is authorized.
    Pass,
    /// §2.6.4: the host is explicitly not authorized.
    Fail,
    /// §2.6.5: probably not authorized.
    SoftFail,
    /// §2.6.6: a transient (DNS) error.
    TempError,
    /// §2.6.7: the record could not be interpreted (syntax, too many lookups).
    PermError,
}

impl SpfResult {
    /// The keyword used in Authentication-Results and Received-SPF.
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }
}

/// Which identity an SPF check was about (RFC 7208 §2.3, §2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// The HELO/EHLO name.
    Helo,
    /// The MAIL FROM domain.
    MailFrom,
}

/// One SPF check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpfVerdict {
    /// The result.
    pub result: SpfResult,
    /// The identity checked.
    pub identity: Identity,
    /// The domain whose record was evaluated.
    pub domain: String,
    /// The record's `exp=` explanation, when it failed and gave one.
    pub explanation: Option<String>,
}

impl Authenticator {
    /// `check_host()` (RFC 7208 §4) for the HELO name `helo`, or for the MAIL FROM address
    /// `mail_from` when it is not empty, evaluated here (`spf/eval.rs`) with the RFC's limits
    /// (§4.6.4: 10 DNS-querying terms, 2 void lookups).
    /// On `fail`, the record's `exp=` explanation is fetched and expanded (§6.2).
    pub async fn verify_spf(&self, ip: IpAddr, helo: &str, mail_from: &str) -> SpfVerdict {
        let helo = helo.trim_end_matches('.');
        let (identity, local, domain) = match mail_from.rsplit_once('@') {
            // RFC 7208 §2.3 / §2.4: the HELO identity, checked as if from postmaster@helo.
            _ if mail_from.is_empty() => (Identity::Helo, "postmaster", helo),
            // RFC 7208 §4.3: an empty local-part is "postmaster".
            Some(("", domain)) => (Identity::MailFrom, "postmaster", domain),
            Some((local, domain)) => (Identity::MailFrom, local, domain),
            None => (Identity::MailFrom, "postmaster", mail_from),
        };
        let domain = domain.trim_end_matches('.');
        let mut check = eval::Check {
            dns: self.dns.hickory(),
            // RFC 7208 §5: an IPv4-mapped IPv6 client is checked as the IPv4 address.
            ip: ip.to_canonical(),
            local,
            sender_domain: domain,
            helo,
            receiver: &self.hostname,
            lookups: 0,
            voids: 0,
            includes: 0,
            explanation: None,
        };
        let result = check.check_host(domain.to_string()).await;
        SpfVerdict {
            result,
            identity,
            domain: domain.to_string(),
            // RFC 7208 §6.2: an explanation only accompanies a fail.
            explanation: check.explanation.filter(|_| result == SpfResult::Fail),
        }
    }
}
