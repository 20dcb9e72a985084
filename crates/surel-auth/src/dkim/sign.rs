//! DKIM signing (RFC 6376 §5; Ed25519 per RFC 8463) of outgoing mail, over mail-auth.
//!
//! Every message gets one signature per key type the domain has: `rsa-sha256` and
//! `ed25519-sha256` (RFC 8463 §1: send both while verifiers learn Ed25519), relaxed/relaxed.
//!
//! mail-auth 0.13.3 canonicalises a relaxed body wrongly when it ends in lines of only spaces or
//! tabs (it keeps an empty line for them; RFC 6376 §3.4.4 drops them). Such lines change nothing
//! in the relaxed canonical form, so the body hash is computed over the message without them
//! ([`trim_blank_tail`]): the signature is then right for the message as given, by any correct
//! verifier.

use std::sync::Arc;

use mail_auth::AuthenticatedMessage;
use mail_auth::common::crypto::{
    Algorithm, DkimKey as LibKey, Ed25519Key, RsaKey, Sha256, SigningKey,
};
use mail_auth::common::headers::{HeaderWriter, Writable};
use mail_auth::dkim::{Canonicalization, DkimSigner as LibSigner};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::keys::{DkimKeyError, DkimKeyType, ParsedKey, parse_private_key};

/// The header fields we sign when present, in this order (RFC 6376 §5.4.1: those that make up
/// the message's meaning to its reader).
pub const SIGNED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Reply-To",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// Why a message could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum DkimSignError {
    /// The domain has no key to sign with.
    #[error("no DKIM key for {0}")]
    NoKeys(String),
    /// A stored key cannot be used.
    #[error("DKIM key {selector}: {error}")]
    Key {
        /// The key's selector.
        selector: String,
        /// What is wrong with it.
        error: DkimKeyError,
    },
    /// RFC 6376 §5.4: From must be signed, and the message has none.
    #[error("the message has no From header field")]
    NoFrom,
    /// The signing itself failed.
    #[error("signing with DKIM key {selector} failed: {error}")]
    Sign {
        /// The key's selector.
        selector: String,
        /// What the library said.
        error: String,
    },
}

/// Signs a domain's outgoing mail with its newest RSA key and its newest Ed25519 key.
pub struct DkimSigner {
    /// `(selector, key)`, RSA first when there is one.
    keys: Vec<(String, SharedKey)>,
    domain: String,
}

impl std::fmt::Debug for DkimSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimSigner")
            .field("domain", &self.domain)
            .field(
                "selectors",
                &self.keys.iter().map(|(s, _)| s).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl DkimSigner {
    /// A signer for `domain` (`d=`) from its keys as `(selector, PKCS#8 PEM)`, in order of
    /// preference (newest first, as the store lists them): the first RSA and the first Ed25519
    /// key sign. Fails if there is no key, or if one that would sign cannot be read.
    pub fn new<'a>(
        domain: &str,
        keys: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, DkimSignError> {
        let mut rsa = None;
        let mut ed25519 = None;
        for (selector, pem) in keys {
            let key_error = |error| DkimSignError::Key {
                selector: selector.to_string(),
                error,
            };
            let lib_error = |e: mail_auth::Error| key_error(DkimKeyError::Pem(e.to_string()));
            match parse_private_key(pem).map_err(key_error)? {
                ParsedKey::Rsa(der) if rsa.is_none() => {
                    let key = RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(
                        PrivatePkcs8KeyDer::from(der),
                    ))
                    .map_err(lib_error)?;
                    rsa = Some((selector.to_string(), SharedKey(Arc::new(LibKey::Rsa(key)))));
                }
                ParsedKey::Ed25519(der) if ed25519.is_none() => {
                    let key =
                        Ed25519Key::from_pkcs8_maybe_unchecked_der(&der).map_err(lib_error)?;
                    ed25519 = Some((
                        selector.to_string(),
                        SharedKey(Arc::new(LibKey::Ed25519(key))),
                    ));
                }
                // An older key of a type we have: kept for DNS, not used.
                ParsedKey::Rsa(_) | ParsedKey::Ed25519(_) => {}
            }
        }
        let keys: Vec<_> = rsa.into_iter().chain(ed25519).collect();
        if keys.is_empty() {
            return Err(DkimSignError::NoKeys(domain.to_string()));
        }
        Ok(DkimSigner {
            keys,
            domain: domain.to_string(),
        })
    }

    /// The selectors that sign, with their key types, RSA first.
    pub fn selectors(&self) -> Vec<(&str, DkimKeyType)> {
        self.keys
            .iter()
            .map(|(selector, key)| {
                let key_type = match &*key.0 {
                    LibKey::Rsa(_) => DkimKeyType::Rsa,
                    LibKey::Ed25519(_) => DkimKeyType::Ed25519,
                };
                (selector.as_str(), key_type)
            })
            .collect()
    }

    /// Signs `message` (CRLF line ends, as received in DATA) and returns the `DKIM-Signature`
    /// header fields to prepend to it, each ending in CRLF. `t=` is now (RFC 6376 §3.5).
    pub fn sign(&self, message: &[u8]) -> Result<String, DkimSignError> {
        let parsed = AuthenticatedMessage::parse(message).ok_or(DkimSignError::NoFrom)?;
        let headers = headers_to_sign(&parsed)?;
        // See the module docs: the same relaxed canonical body, without mail-auth's mistake.
        let hashed = without_blank_tail(message, parsed.body_offset());
        let mut out = String::new();
        for (selector, key) in &self.keys {
            let failed = |e: mail_auth::Error| DkimSignError::Sign {
                selector: selector.clone(),
                error: e.to_string(),
            };
            let signature = LibSigner::from_key(key.clone())
                .domain(&self.domain)
                .selector(selector)
                .headers(headers.iter().copied())
                // RFC 6376 §3.4: relaxed for both, which survives the rewrapping relays do.
                .header_canonicalization(Canonicalization::Relaxed)
                .body_canonicalization(Canonicalization::Relaxed)
                .sign(hashed)
                .map_err(failed)?;
            out.push_str(&signature.to_header());
        }
        Ok(out)
    }
}

/// A parsed key shared by every signature made with it (mail-auth's signer owns its key).
#[derive(Clone)]
struct SharedKey(Arc<LibKey>);

impl SigningKey for SharedKey {
    type Hasher = Sha256;

    fn sign(&self, input: impl Writable) -> mail_auth::Result<Vec<u8>> {
        self.0.sign(input)
    }

    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
}

/// The `h=` list for `message`: each of [`SIGNED_HEADERS`] it has, and From once more.
///
/// mail-auth lists every instance of a named field, bottom up (RFC 6376 §5.4.2), and then each
/// name it was given that matched nothing. Naming From a second time, after the first name has
/// matched, makes that extra entry: a verifier finds no further From for it and signs it as null,
/// so a From added later breaks the signature (RFC 6376 §8.15, over-signing).
fn headers_to_sign(message: &AuthenticatedMessage<'_>) -> Result<Vec<&'static str>, DkimSignError> {
    let has = |wanted: &str| {
        message
            .headers
            .iter()
            .any(|(name, _)| name.trim_ascii().eq_ignore_ascii_case(wanted.as_bytes()))
    };
    if !has("From") {
        return Err(DkimSignError::NoFrom);
    }
    let mut names: Vec<&'static str> = SIGNED_HEADERS.iter().copied().filter(|h| has(h)).collect();
    names.push("From");
    Ok(names)
}

/// `message` without the lines of only spaces and tabs (and empty lines) that end its body: a
/// prefix of it with the same relaxed canonical body (RFC 6376 §3.4.3 removes trailing
/// whitespace on each line; §3.4.4 then ignores empty lines at the end of the body). mail-auth
/// 0.13.3 hashes such a tail wrongly, so it is hashed without it.
pub fn trim_blank_tail(message: &[u8]) -> &[u8] {
    match AuthenticatedMessage::parse(message) {
        Some(parsed) => without_blank_tail(message, parsed.body_offset()),
        None => message,
    }
}

/// [`trim_blank_tail`] for a body that starts at `body_start`.
fn without_blank_tail(message: &[u8], body_start: usize) -> &[u8] {
    let Some(body) = message.get(body_start..) else {
        return message;
    };
    let is_blank = |line: &[u8]| line.iter().all(|b| matches!(b, b' ' | b'\t'));
    let mut kept = body;
    while !kept.is_empty() {
        // The last line, without its CRLF (a final line may have none).
        let line = kept.strip_suffix(b"\r\n").unwrap_or(kept);
        let start = line
            .windows(2)
            .rposition(|w| w == b"\r\n")
            .map_or(0, |at| at + 2);
        let Some((rest, last)) = line.split_at_checked(start) else {
            break;
        };
        if !is_blank(last) {
            break;
        }
        kept = rest;
    }
    message.get(..body_start + kept.len()).unwrap_or(message)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use surel_dns::test_server::{TestDns, Zone};

    use super::*;
    use crate::dkim::keys::{generate_key, public_record};
    use crate::{Authenticator, DkimResult, Inbound};

    const MESSAGE: &[u8] = b"From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: hi\r\n\
        Date: Sat, 28 Nov 2026 04:00:00 +0000\r\nMessage-ID: <1@a.test>\r\nX-Mailer: t\r\n\r\n\
        Hello,\r\n\r\nBob.\r\n";

    fn parsed(message: &[u8]) -> AuthenticatedMessage<'_> {
        AuthenticatedMessage::parse(message).unwrap()
    }

    #[test]
    fn signs_the_present_headers_and_from_once_more() {
        assert_eq!(
            headers_to_sign(&parsed(MESSAGE)).unwrap(),
            ["From", "To", "Subject", "Date", "Message-ID", "From"]
        );
        let mime = b"from: a@a.test\r\nCc: c@c.test\r\nMIME-Version: 1.0\r\n\
            Content-Type: text/plain\r\nReply-To: r@a.test\r\n\r\nx\r\n";
        assert_eq!(
            headers_to_sign(&parsed(mime)).unwrap(),
            [
                "From",
                "Cc",
                "Reply-To",
                "MIME-Version",
                "Content-Type",
                "From"
            ]
        );
        assert!(matches!(
            headers_to_sign(&parsed(b"To: b@b.test\r\n\r\nx\r\n")),
            Err(DkimSignError::NoFrom)
        ));
    }

    #[test]
    fn blank_tails_are_trimmed_and_nothing_else() {
        let head = "From: a@a.test\r\n\r\n";
        for (body, kept) in [
            ("text\r\n", "text\r\n"),
            ("text\r\n \r\n", "text\r\n"),
            ("text\r\n\t \r\n\r\n  \r\n", "text\r\n"),
            ("text\r\n\r\n\r\n", "text\r\n"),
            ("text  \r\n", "text  \r\n"),
            ("text\r\n  ", "text\r\n"),
            ("a\r\n \r\nb\r\n", "a\r\n \r\nb\r\n"),
            (" \r\n\r\n", ""),
            ("", ""),
        ] {
            let message = format!("{head}{body}");
            assert_eq!(
                String::from_utf8_lossy(trim_blank_tail(message.as_bytes())),
                format!("{head}{kept}"),
                "{body:?}"
            );
        }
        // Headers alone: nothing to trim.
        assert_eq!(
            trim_blank_tail(b"From: a@a.test\r\n"),
            b"From: a@a.test\r\n"
        );
    }

    struct Keys {
        rsa: String,
        ed25519: String,
        zone: Zone,
    }

    fn keys() -> Keys {
        let rsa = generate_key(DkimKeyType::Rsa).unwrap();
        let ed = generate_key(DkimKeyType::Ed25519).unwrap();
        let zone = Zone::new()
            .txt("s202611r._domainkey.a.test", &rsa.record)
            .txt("s202611e._domainkey.a.test", &ed.record);
        Keys {
            rsa: rsa.private_key.expose().clone(),
            ed25519: ed.private_key.expose().clone(),
            zone,
        }
    }

    async fn verify(zone: Zone, message: &[u8]) -> Vec<crate::DkimVerdict> {
        let dns = TestDns::start(zone).await.unwrap();
        let options = surel_dns::Options {
            timeout: Duration::from_millis(300),
            attempts: 1,
            ..Default::default()
        };
        let resolver = surel_dns::Resolver::new(&[dns.addr()], &options).unwrap();
        let report = Authenticator::new(&resolver, "mx.test")
            .verify(&Inbound {
                ip: "192.0.2.1".parse().unwrap(),
                helo: "a.test",
                mail_from: "alice@a.test",
                message,
            })
            .await;
        report.dkim
    }

    #[tokio::test]
    async fn both_signatures_verify_with_our_verifier() {
        let keys = keys();
        let signer = DkimSigner::new(
            "a.test",
            [
                ("s202611r", keys.rsa.as_str()),
                ("s202611e", keys.ed25519.as_str()),
            ],
        )
        .unwrap();
        assert_eq!(
            signer.selectors(),
            [
                ("s202611r", DkimKeyType::Rsa),
                ("s202611e", DkimKeyType::Ed25519)
            ]
        );
        let non_ascii = "From: Zoë <zoe@a.test>\r\nTo: bob@b.test\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\n\
            MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
            Content-Transfer-Encoding: 8bit\r\n\r\nÇa va ?  Très   bien.\r\n";
        for message in [MESSAGE, non_ascii.as_bytes()] {
            let headers = signer.sign(message).unwrap();
            assert_eq!(headers.matches("DKIM-Signature: ").count(), 2, "{headers}");
            assert!(headers.contains("a=rsa-sha256") && headers.contains("a=ed25519-sha256"));
            assert!(
                headers.contains("c=relaxed/relaxed")
                    && (headers.contains(" t=") || headers.contains("\tt=")),
                "{headers}"
            );
            assert!(headers.ends_with("\r\n"));
            let signed = [headers.as_bytes(), message].concat();
            let verdicts = verify(keys.zone.clone(), &signed).await;
            assert_eq!(verdicts.len(), 2, "{verdicts:?}");
            for v in &verdicts {
                assert_eq!(v.result, DkimResult::Pass, "{verdicts:?}\n{headers}");
                assert_eq!(v.domain, "a.test");
            }
            // A changed body fails both.
            let tampered = [headers.as_bytes(), message, b"P.S.\r\n"].concat();
            let verdicts = verify(keys.zone.clone(), &tampered).await;
            assert!(
                verdicts.iter().all(|v| v.result == DkimResult::Fail),
                "{verdicts:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_blank_tail_is_signed_as_the_rfc_says() {
        let keys = keys();
        let signer = DkimSigner::new("a.test", [("s202611e", keys.ed25519.as_str())]).unwrap();
        let with_tail = [MESSAGE, b" \r\n\t\r\n"].concat();
        let headers = signer.sign(&with_tail).unwrap();
        // The relaxed body of `with_tail` equals MESSAGE's, so the signature holds for both; our
        // verifier (mail-auth 0.13.3) reads the blank tail wrongly, so it is checked on the
        // message without it (dkimpy checks the whole one in crates/surel/tests/dkim.rs).
        let verdicts = verify(keys.zone, &[headers.as_bytes(), MESSAGE].concat()).await;
        assert_eq!(verdicts.len(), 1);
        assert_eq!(verdicts[0].result, DkimResult::Pass, "{verdicts:?}");
    }

    #[test]
    fn the_newest_key_of_each_type_signs() {
        let (new, old) = (
            generate_key(DkimKeyType::Ed25519).unwrap(),
            generate_key(DkimKeyType::Ed25519).unwrap(),
        );
        let signer = DkimSigner::new(
            "a.test",
            [
                ("new", new.private_key.expose().as_str()),
                ("old", old.private_key.expose().as_str()),
            ],
        )
        .unwrap();
        assert_eq!(signer.selectors(), [("new", DkimKeyType::Ed25519)]);
        assert!(signer.sign(MESSAGE).unwrap().contains("s=new;"));
        assert!(matches!(
            DkimSigner::new("a.test", []),
            Err(DkimSignError::NoKeys(_))
        ));
        assert!(matches!(
            DkimSigner::new("a.test", [("bad", "junk")]),
            Err(DkimSignError::Key { .. })
        ));
        let _ = public_record(new.private_key.expose()).unwrap();
    }
}
