//! DMARC (RFC 7489): ties SPF and DKIM to the From domain and says what its owner asks for.

use mail_auth::dmarc::Policy as LibPolicy;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::{AuthenticatedMessage, DkimOutput, SpfOutput};

use crate::Authenticator;
use crate::cache::with_caches;

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
    /// Evaluates DMARC for `message` given the SPF check of `spf_domain` (MAIL FROM domain, or
    /// HELO for a null sender, RFC 7489 §4.1) and the DKIM outputs.
    pub(crate) async fn verify_dmarc_output(
        &self,
        message: &AuthenticatedMessage<'_>,
        dkim: &[DkimOutput<'_>],
        spf_domain: &str,
        spf: &SpfOutput,
    ) -> DmarcVerdict {
        let params = DmarcParameters::new(message, dkim, spf_domain, spf);
        let output = self
            .lib
            .verify_dmarc(with_caches!(self.caches, params))
            .await;
        let result = match output.result() {
            mail_auth::DmarcResult::Pass => DmarcResult::Pass,
            mail_auth::DmarcResult::Fail(_) => DmarcResult::Fail,
            mail_auth::DmarcResult::TempError(_) => DmarcResult::TempError,
            mail_auth::DmarcResult::PermError(_) => DmarcResult::PermError,
            mail_auth::DmarcResult::None => DmarcResult::None,
        };
        // mail-auth applies p/sp/np and t=y (RFC 7489 §6.3; DMARCbis).
        let policy = match output.policy() {
            LibPolicy::Reject => Policy::Reject,
            LibPolicy::Quarantine => Policy::Quarantine,
            LibPolicy::None | LibPolicy::Unspecified => Policy::None,
        };
        let from_domain = output.domain().to_string();
        let disposition = if result != DmarcResult::Fail || policy == Policy::None {
            Policy::None
        } else {
            // RFC 7489 §6.6.4: apply the policy to pct% of failing messages, the next weaker
            // one to the rest.
            match self.pct(&from_domain).await {
                Some(pct) if pct < 100 && rand::random_range(0..100u8) >= pct => policy.weaker(),
                _ => policy,
            }
        };
        DmarcVerdict {
            result,
            from_domain,
            policy,
            disposition,
        }
    }

    /// The `pct` tag (RFC 7489 §6.3) of the DMARC record governing `domain`: its own
    /// `_dmarc` record, else the nearest parent's (mail-auth 0.13 follows DMARCbis, which
    /// dropped `pct`, so we read it ourselves; the TXT answers are in the resolver's cache).
    async fn pct(&self, domain: &str) -> Option<u8> {
        let mut name = domain;
        loop {
            if let Ok(records) = self.dns.txt(&format!("_dmarc.{name}")).await {
                let record = records
                    .iter()
                    .map(|r| String::from_utf8_lossy(r).into_owned())
                    .find(|r| r.trim_start().starts_with("v=DMARC1"));
                if let Some(record) = record {
                    return parse_pct(&record);
                }
            }
            name = name.split_once('.')?.1;
            if !name.contains('.') {
                return None;
            }
        }
    }
}

/// `pct=N` from a DMARC record; `None` when absent or malformed (RFC 7489 §6.3: default 100).
fn parse_pct(record: &str) -> Option<u8> {
    record.split(';').find_map(|tag| {
        let (k, v) = tag.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("pct") {
            v.trim().parse::<u8>().ok().filter(|p| *p <= 100)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pct_is_read_from_the_record() {
        assert_eq!(parse_pct("v=DMARC1; p=reject; pct=20"), Some(20));
        assert_eq!(parse_pct("v=DMARC1;p=reject;PCT = 0"), Some(0));
        assert_eq!(parse_pct("v=DMARC1; p=reject"), None);
        assert_eq!(parse_pct("v=DMARC1; p=reject; pct=150"), None);
    }
}
