//! Mail authentication: SPF (RFC 7208), DKIM verification (RFC 6376, RFC 8463) and DMARC
//! (RFC 7489) of inbound mail, with the verdicts written as `Authentication-Results` (RFC 8601);
//! and DKIM signing of outgoing mail with keys made here ([`DkimSigner`], [`generate_key`]).
//!
//! Owns: the verdicts and what they are called; DKIM key pairs, selector names and signing.
//! mail-auth does the DKIM protocol work; SPF's check_host() is evaluated here (`spf/`), since
//! mail-auth 0.13.3 accepted records RFC 7208 calls errors, and so are DMARC discovery and
//! alignment (`dmarc.rs`), since it follows DMARCbis rather than RFC 7489's Public Suffix List
//! organizational domain. Callers see only
//! the types here, so the library can be swapped without touching ingest or submission.
//! Must not: decide what happens to a message (ingest applies the configured policy), or read
//! the network except through the shared `surel_dns::Resolver`.
//! Invariants: every DNS failure becomes `temperror`, never a pass or a fail; a message that
//! cannot be parsed gets `none` verdicts rather than an error; nothing here panics on input.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod cache;
mod dkim;
mod dmarc;
mod spf;

use std::net::IpAddr;

use mail_auth::{AuthenticatedMessage, MessageAuthenticator};
use surel_message::{AuthenticationResults, MethodResult, ReceivedSpf};

pub use dkim::{
    DkimKeyError, DkimKeyType, DkimResult, DkimSignError, DkimSigner, DkimVerdict, GeneratedKey,
    SIGNED_HEADERS, generate_key, public_record, selectors_for_pair, trim_blank_tail,
};
pub use dmarc::{DmarcResult, DmarcVerdict, Policy};
pub use spf::{Identity, SpfResult, SpfVerdict};

/// Runs the checks; one per server, shared by every session (it holds the record caches).
pub struct Authenticator {
    lib: MessageAuthenticator,
    dns: surel_dns::Resolver,
    caches: cache::Caches,
    /// Our host name: SPF's `%{r}` macro and the receiver in Received-SPF.
    hostname: String,
}

/// What an inbound SMTP transaction tells the checks.
#[derive(Clone, Copy, Debug)]
pub struct Inbound<'a> {
    /// The connecting client's address.
    pub ip: IpAddr,
    /// The EHLO/HELO name as given.
    pub helo: &'a str,
    /// The MAIL FROM address; empty for the null sender `<>`.
    pub mail_from: &'a str,
    /// The message as received (headers and body).
    pub message: &'a [u8],
}

/// Every verdict about one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// SPF of the HELO name, when it is a domain name (RFC 7208 §2.3).
    pub spf_helo: Option<SpfVerdict>,
    /// SPF of MAIL FROM; for the null sender, of `postmaster@HELO` (RFC 7208 §2.4).
    pub spf: SpfVerdict,
    /// One verdict per DKIM-Signature, in header order.
    pub dkim: Vec<DkimVerdict>,
    /// DMARC.
    pub dmarc: DmarcVerdict,
    /// The MAIL FROM as given (for `smtp.mailfrom`).
    mail_from: String,
    /// The HELO name as given (for `smtp.helo`).
    helo: String,
    ip: IpAddr,
}

impl Authenticator {
    /// Checks through `dns`; `hostname` is our name (SPF `%{r}`).
    pub fn new(dns: &surel_dns::Resolver, hostname: &str) -> Self {
        Self {
            lib: MessageAuthenticator(dns.hickory().clone()),
            dns: dns.clone(),
            caches: cache::Caches::default(),
            hostname: hostname.to_string(),
        }
    }

    /// SPF, DKIM and DMARC for one message.
    pub async fn verify(&self, inbound: &Inbound<'_>) -> Report {
        let helo = inbound.helo.trim_end_matches('.');
        // RFC 7208 §2.3: check HELO when it is a domain name (not an address literal).
        let helo_is_domain =
            helo.contains('.') && !helo.starts_with('[') && helo.parse::<IpAddr>().is_err();
        let helo_check = if helo_is_domain {
            Some(self.verify_spf(inbound.ip, helo, "").await)
        } else {
            None
        };
        let spf = match (&helo_check, inbound.mail_from.is_empty()) {
            // RFC 7208 §2.4: with a null sender the HELO identity is the MAIL FROM identity.
            (Some(helo), true) => helo.clone(),
            _ => self.verify_spf(inbound.ip, helo, inbound.mail_from).await,
        };
        // RFC 7489 §4.1 / RFC 7208 §2.4: the SPF domain DMARC aligns is MAIL FROM's, else HELO's.
        let spf_domain = inbound
            .mail_from
            .rsplit_once('@')
            .map_or(helo, |(_, d)| d)
            .to_string();
        // mail-auth 0.13.3 computes the relaxed body hash wrongly for a body that ends in blank
        // or whitespace-only lines (STACK.md). Relaxed canonicalization ignores those lines
        // (RFC 6376 §3.4.4), so verifying without them gives the right relaxed verdict; a
        // `c=…/simple` signature that covered trailing whitespace-only lines (not empty ones,
        // which simple ignores too, §3.4.3) would now fail, which we accept as far rarer.
        let (dkim, dmarc) = match AuthenticatedMessage::parse(trim_blank_tail(inbound.message)) {
            Some(message) => {
                let (outputs, verdicts) = self.verify_dkim_outputs(&message).await;
                let dmarc = self
                    .verify_dmarc_output(&message, &outputs, &spf_domain, spf.result)
                    .await;
                (verdicts, dmarc)
            }
            None => (
                Vec::new(),
                DmarcVerdict {
                    result: DmarcResult::None,
                    from_domain: String::new(),
                    policy: Policy::None,
                    disposition: Policy::None,
                },
            ),
        };
        Report {
            spf_helo: helo_check.filter(|_| !inbound.mail_from.is_empty()),
            spf,
            dkim,
            dmarc,
            mail_from: inbound.mail_from.to_string(),
            helo: inbound.helo.to_string(),
            ip: inbound.ip,
        }
    }
}

impl Report {
    /// Whether any check hit a DNS failure (`temperror`).
    pub fn has_temperror(&self) -> bool {
        self.spf.result == SpfResult::TempError
            || self.dkim.iter().any(|d| d.result == DkimResult::TempError)
            || self.dmarc.result == DmarcResult::TempError
    }

    /// The Authentication-Results header (RFC 8601) with `authserv_id` (our host name): SPF
    /// (MAIL FROM, and HELO when checked separately), each DKIM signature, DMARC.
    pub fn authentication_results<'a>(&self, authserv_id: &'a str) -> AuthenticationResults<'a> {
        let mut results = Vec::new();
        let spf_entry = |v: &SpfVerdict, mail_from: &str, helo: &str| MethodResult {
            method: "spf",
            result: v.result.as_str(),
            reason: v.explanation.clone(),
            // RFC 8601 §2.7.2: smtp.mailfrom, or smtp.helo for the HELO identity.
            props: match v.identity {
                Identity::MailFrom => vec![("smtp.mailfrom", mail_from.to_string())],
                Identity::Helo => vec![("smtp.helo", helo.to_string())],
            },
        };
        results.push(spf_entry(&self.spf, &self.mail_from, &self.helo));
        if let Some(helo) = &self.spf_helo {
            results.push(spf_entry(helo, &self.mail_from, &self.helo));
        }
        if self.dkim.is_empty() {
            results.push(MethodResult {
                method: "dkim",
                result: "none",
                reason: None,
                props: Vec::new(),
            });
        }
        for d in &self.dkim {
            let mut props = Vec::new();
            if !d.domain.is_empty() {
                // RFC 8601 §2.7.1: header.d; header.s and header.a (RFC 8616 registry).
                props.push(("header.d", d.domain.clone()));
                props.push(("header.s", d.selector.clone()));
                props.push(("header.a", d.algorithm.to_string()));
            }
            results.push(MethodResult {
                method: "dkim",
                result: d.result.as_str(),
                reason: d.reason.clone(),
                props,
            });
        }
        let mut props = Vec::new();
        if !self.dmarc.from_domain.is_empty() {
            props.push(("header.from", self.dmarc.from_domain.clone()));
        }
        if self.dmarc.result != DmarcResult::None {
            // RFC 7489 §11.2 / RFC 8601 registry: policy.dmarc names the requested policy.
            props.push(("policy.dmarc", self.dmarc.policy.as_str().to_string()));
        }
        results.push(MethodResult {
            method: "dmarc",
            result: self.dmarc.result.as_str(),
            reason: None,
            props,
        });
        AuthenticationResults {
            authserv_id,
            results,
        }
    }

    /// The Received-SPF header (RFC 7208 §9.1) for the MAIL FROM (or HELO) check.
    pub fn received_spf<'a>(&'a self, receiver: &'a str) -> ReceivedSpf<'a> {
        ReceivedSpf {
            result: self.spf.result.as_str(),
            receiver,
            client_ip: self.ip,
            helo: &self.helo,
            envelope_from: &self.mail_from,
            identity: match self.spf.identity {
                Identity::MailFrom => "mailfrom",
                Identity::Helo => "helo",
            },
        }
    }
}
