//! SPF (RFC 7208): which hosts a domain lets send its mail.

use std::net::IpAddr;

use mail_auth::SpfOutput;
use mail_auth::spf::verify::SpfParameters;

use crate::Authenticator;
use crate::cache::with_caches;

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

    fn from_lib(r: mail_auth::SpfResult) -> Self {
        match r {
            mail_auth::SpfResult::Pass => SpfResult::Pass,
            mail_auth::SpfResult::Fail => SpfResult::Fail,
            mail_auth::SpfResult::SoftFail => SpfResult::SoftFail,
            mail_auth::SpfResult::Neutral => SpfResult::Neutral,
            mail_auth::SpfResult::TempError => SpfResult::TempError,
            mail_auth::SpfResult::PermError => SpfResult::PermError,
            mail_auth::SpfResult::None => SpfResult::None,
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
    /// `mail_from` when it is not empty. The lookup limits (§4.6.4: 10 DNS-querying terms, 2 void
    /// lookups) are applied inside mail-auth.
    pub async fn verify_spf(&self, ip: IpAddr, helo: &str, mail_from: &str) -> SpfVerdict {
        self.check_spf(ip, helo, mail_from).await.1
    }

    /// [`Self::verify_spf`], also returning mail-auth's output for DMARC.
    pub(crate) async fn check_spf(
        &self,
        ip: IpAddr,
        helo: &str,
        mail_from: &str,
    ) -> (SpfOutput, SpfVerdict) {
        let helo = helo.trim_end_matches('.');
        let (params, identity) = if mail_from.is_empty() {
            // RFC 7208 §2.3: the HELO identity, checked as if from postmaster@helo.
            (
                SpfParameters::verify_ehlo(ip, helo, &self.hostname),
                Identity::Helo,
            )
        } else {
            (
                SpfParameters::verify_mail_from(ip, helo, &self.hostname, mail_from),
                Identity::MailFrom,
            )
        };
        let output = self.lib.check_host(with_caches!(self.caches, params)).await;
        let result = SpfResult::from_lib(output.result());
        let verdict = SpfVerdict {
            result,
            identity,
            domain: output.domain().to_string(),
            explanation: output.explanation().map(str::to_string),
        };
        (output, verdict)
    }
}
