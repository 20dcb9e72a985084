//! DKIM (RFC 6376; Ed25519 per RFC 8463): verification of every signature on a message (here),
//! signing of outgoing mail (`sign`), and key pairs (`keys`).

mod keys;
mod sign;

pub use keys::{
    DkimKeyError, DkimKeyType, GeneratedKey, generate_key, public_record, selectors_for_pair,
};
pub use sign::{DkimSignError, DkimSigner, SIGNED_HEADERS, trim_blank_tail};

use mail_auth::common::crypto::Algorithm;
use mail_auth::common::verify::{DomainKey, VerifySignature};
use mail_auth::dkim::DkimError;
use mail_auth::{AuthenticatedMessage, DkimOutput, Error};

use crate::Authenticator;
use crate::cache::with_caches;

/// `t=y` in a key record (RFC 6376 §3.6.1); mail-auth keeps key flags as bits.
const FLAG_TESTING: u64 = 0x10;

/// A signature's verdict (RFC 8601 §2.7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DkimResult {
    /// The signature verified.
    Pass,
    /// It did not verify (body hash, signature, revoked or unusable key, expired).
    Fail,
    /// It could not be processed, or the signer is testing (`t=y`): treated as unsigned.
    Neutral,
    /// It verified technically but we do not accept its form (`l=`, rsa-sha1).
    Policy,
    /// The key could not be fetched for now.
    TempError,
    /// The signature or the key record is unusable.
    PermError,
}

impl DkimResult {
    /// The Authentication-Results keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            DkimResult::Pass => "pass",
            DkimResult::Fail => "fail",
            DkimResult::Neutral => "neutral",
            DkimResult::Policy => "policy",
            DkimResult::TempError => "temperror",
            DkimResult::PermError => "permerror",
        }
    }
}

/// One signature's verdict and who it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimVerdict {
    /// The verdict.
    pub result: DkimResult,
    /// `d=`, the signing domain; empty when the signature could not be parsed.
    pub domain: String,
    /// `s=`, the selector.
    pub selector: String,
    /// `a=`, e.g. `rsa-sha256`.
    pub algorithm: &'static str,
    /// Why it did not pass.
    pub reason: Option<String>,
}

fn algorithm_name(a: Algorithm) -> &'static str {
    match a {
        Algorithm::RsaSha1 => "rsa-sha1",
        Algorithm::RsaSha256 => "rsa-sha256",
        Algorithm::Ed25519Sha256 => "ed25519-sha256",
    }
}

/// Maps mail-auth's verdict onto RFC 8601's words.
fn classify(result: &mail_auth::DkimResult) -> (DkimResult, Option<String>) {
    use mail_auth::DkimResult as L;
    match result {
        L::Pass => (DkimResult::Pass, None),
        L::None => (DkimResult::Neutral, Some("no signature".into())),
        L::TempError(e) => (DkimResult::TempError, Some(e.to_string())),
        L::Fail(e) | L::Neutral(e) | L::PermError(e) => match e {
            // RFC 6376 §6.1.1 and §3.5 `l=`: an unsigned tail could be anything, so we do not
            // trust such a signature at all.
            Error::Dkim(DkimError::SignatureLength) => {
                (DkimResult::Policy, Some("l= tag not accepted".into()))
            }
            // RFC 6376 §3.6.1: an empty p= means the key was revoked.
            Error::Dkim(
                DkimError::RevokedPublicKey
                | DkimError::FailedBodyHashMatch
                | DkimError::SignatureExpired
                | DkimError::FailedAuidMatch,
            )
            | Error::Crypto(_) => (DkimResult::Fail, Some(e.to_string())),
            Error::Dns(mail_auth::DnsError::Resolver(_)) => {
                (DkimResult::TempError, Some(e.to_string()))
            }
            Error::Dns(_) => (DkimResult::PermError, Some("no key for signature".into())),
            Error::ParseError
            | Error::Base64
            | Error::MissingParameters
            | Error::Dkim(
                DkimError::UnsupportedVersion
                | DkimError::UnsupportedAlgorithm
                | DkimError::UnsupportedCanonicalization
                | DkimError::UnsupportedKeyType,
            ) => (DkimResult::PermError, Some(e.to_string())),
            _ => (DkimResult::Neutral, Some(e.to_string())),
        },
    }
}

impl Authenticator {
    /// Verifies every DKIM-Signature of `message` (RFC 6376 §6.1), and returns mail-auth's
    /// outputs for DMARC (already corrected for what we do not accept) beside our verdicts.
    pub(crate) async fn verify_dkim_outputs<'x>(
        &'x self,
        message: &'x AuthenticatedMessage<'x>,
    ) -> (Vec<DkimOutput<'x>>, Vec<DkimVerdict>) {
        let outputs = self
            .lib
            .verify_dkim(with_caches!(self.caches, message))
            .await;
        let mut for_dmarc = Vec::with_capacity(outputs.len());
        let mut verdicts = Vec::with_capacity(outputs.len());
        for output in outputs {
            let (mut result, mut reason) = classify(output.result());
            // The same signature, borrowed from the message (for `'x`) rather than the output.
            let signature = output.signature().and_then(|sig| {
                message
                    .dkim_headers
                    .iter()
                    .map(|h| &h.header)
                    .find(|candidate| std::ptr::eq(*candidate, sig))
            });
            let Some(signature) = signature else {
                verdicts.push(DkimVerdict {
                    result,
                    domain: String::new(),
                    selector: String::new(),
                    algorithm: "",
                    reason,
                });
                for_dmarc.push(output);
                continue;
            };
            // RFC 8301 §3.1: verifiers must not consider rsa-sha1 signatures valid.
            if result == DkimResult::Pass && signature.a == Algorithm::RsaSha1 {
                result = DkimResult::Policy;
                reason = Some("rsa-sha1 is not accepted (RFC 8301)".into());
            }
            // RFC 6376 §3.6.1 t=y: a testing signer's failures are treated as if unsigned.
            if !matches!(result, DkimResult::Pass | DkimResult::TempError)
                && self.key_is_testing(signature).await
            {
                result = DkimResult::Neutral;
                reason = Some(format!(
                    "{} (key in testing mode, t=y)",
                    reason.unwrap_or_default()
                ));
            }
            verdicts.push(DkimVerdict {
                result,
                domain: signature.d.clone(),
                selector: signature.s.clone(),
                algorithm: algorithm_name(signature.a),
                reason,
            });
            // DMARC must only see passes we accept.
            if result != DkimResult::Pass && matches!(output.result(), mail_auth::DkimResult::Pass)
            {
                for_dmarc.push(
                    DkimOutput::fail(Error::Dkim(DkimError::UnsupportedAlgorithm))
                        .with_signature(signature),
                );
            } else {
                for_dmarc.push(output);
            }
        }
        (for_dmarc, verdicts)
    }

    /// Whether the key a signature names is flagged `t=y` (cached: verification fetched it).
    async fn key_is_testing(&self, signature: &mail_auth::dkim::Signature) -> bool {
        match self
            .lib
            .txt_lookup::<DomainKey>(signature.domain_key(), Some(&self.caches.txt))
            .await
        {
            Ok(key) => key.f & FLAG_TESTING != 0,
            Err(_) => false,
        }
    }
}
