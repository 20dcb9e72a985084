//! DKIM key pairs: generation (RSA-2048 and Ed25519, through aws-lc-rs), the public key record
//! a domain publishes (RFC 6376 §3.6.1, RFC 8463 §4), and selector names.
//!
//! Private keys travel as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the form `openssl genpkey`
//! writes and the store keeps; they are always wrapped in [`Secret`].

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use chrono::{DateTime, Datelike, Utc};
use surel_types::Secret;

/// The PEM label of a PKCS#8 private key (RFC 7468 §10).
const PKCS8_LABEL: &str = "PRIVATE KEY";

/// The kind of a DKIM key: what it signs with and its record's `k=` tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DkimKeyType {
    /// RSA, 2048 bits when we make it; signs `rsa-sha256` (RFC 6376 §3.3.1, RFC 8301 §3.2).
    Rsa,
    /// Ed25519; signs `ed25519-sha256` (RFC 8463 §3).
    Ed25519,
}

impl DkimKeyType {
    /// The `a=` algorithm a key of this type signs with.
    pub fn algorithm(self) -> &'static str {
        match self {
            DkimKeyType::Rsa => "rsa-sha256",
            DkimKeyType::Ed25519 => "ed25519-sha256",
        }
    }

    /// The letter that ends its selectors (see [`selectors_for_pair`]).
    fn selector_letter(self) -> char {
        match self {
            DkimKeyType::Rsa => 'r',
            DkimKeyType::Ed25519 => 'e',
        }
    }
}

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum DkimKeyError {
    /// Key generation failed in the crypto library.
    #[error("cannot generate a {0:?} key")]
    Generate(DkimKeyType),
    /// The text is not a PEM `PRIVATE KEY` block.
    #[error("the private key is not PKCS#8 PEM: {0}")]
    Pem(String),
    /// The PKCS#8 key is neither an RSA nor an Ed25519 key we can sign with.
    #[error("the private key is neither a usable RSA nor an Ed25519 key")]
    Unusable,
}

/// A freshly made key pair.
#[derive(Clone, Debug)]
pub struct GeneratedKey {
    /// What it is.
    pub key_type: DkimKeyType,
    /// The private key, PKCS#8 PEM.
    pub private_key: Secret<String>,
    /// The value of its DNS TXT record, e.g. `v=DKIM1; k=ed25519; p=…`.
    pub record: String,
}

/// Makes a new key: RSA with 2048 bits (RFC 8301 §3.2: at least 1024, 2048 recommended) or
/// Ed25519.
pub fn generate_key(key_type: DkimKeyType) -> Result<GeneratedKey, DkimKeyError> {
    let failed = |_| DkimKeyError::Generate(key_type);
    let der = match key_type {
        DkimKeyType::Rsa => RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(failed)?
            .as_der()
            .map_err(failed)?
            .as_ref()
            .to_vec(),
        // PKCS#8 v1 (the seed only), as `openssl genpkey -algorithm ed25519` writes it.
        DkimKeyType::Ed25519 => Ed25519KeyPair::generate()
            .map_err(failed)?
            .to_pkcs8v1()
            .map_err(failed)?
            .as_ref()
            .to_vec(),
    };
    let pem = pem::encode_config(
        &pem::Pem::new(PKCS8_LABEL, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    let (found, record) = public_record(&pem)?;
    debug_assert_eq!(found, key_type);
    Ok(GeneratedKey {
        key_type,
        private_key: Secret::new(pem),
        record,
    })
}

/// A private key, parsed for signing.
pub(crate) enum ParsedKey {
    Rsa(Vec<u8>),
    Ed25519(Vec<u8>),
}

/// Reads a PKCS#8 PEM private key and tells which kind it is; the DER stays in the result.
pub(crate) fn parse_private_key(pem_text: &str) -> Result<ParsedKey, DkimKeyError> {
    let block = pem::parse(pem_text).map_err(|e| DkimKeyError::Pem(e.to_string()))?;
    if block.tag() != PKCS8_LABEL {
        return Err(DkimKeyError::Pem(format!(
            "a {:?} block, not {PKCS8_LABEL:?}",
            block.tag()
        )));
    }
    let der = block.into_contents();
    if RsaKeyPair::from_pkcs8(&der).is_ok() {
        Ok(ParsedKey::Rsa(der))
    } else if Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).is_ok() {
        Ok(ParsedKey::Ed25519(der))
    } else {
        Err(DkimKeyError::Unusable)
    }
}

/// The key type of a PKCS#8 PEM private key and the TXT record value that publishes its public
/// half at `SELECTOR._domainkey.DOMAIN`.
pub fn public_record(private_key_pem: &str) -> Result<(DkimKeyType, String), DkimKeyError> {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    match parse_private_key(private_key_pem)? {
        ParsedKey::Rsa(der) => {
            let pair = RsaKeyPair::from_pkcs8(&der).map_err(|_| DkimKeyError::Unusable)?;
            // RFC 6376 §3.6.1 p=: the DER public key; we publish SubjectPublicKeyInfo, the form
            // `openssl rsa -pubout` writes and every verifier reads (RFC 6376 errata 3017).
            let spki = pair
                .public_key()
                .as_der()
                .map_err(|_| DkimKeyError::Unusable)?;
            Ok((
                DkimKeyType::Rsa,
                format!("v=DKIM1; k=rsa; p={}", b64(spki.as_ref())),
            ))
        }
        ParsedKey::Ed25519(der) => {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                .map_err(|_| DkimKeyError::Unusable)?;
            // RFC 8463 §4.2: p= is the bare 32-byte Ed25519 public key, base64.
            Ok((
                DkimKeyType::Ed25519,
                format!("v=DKIM1; k=ed25519; p={}", b64(pair.public_key().as_ref())),
            ))
        }
    }
}

/// Selectors for a new RSA + Ed25519 pair made at `now`, distinct from every one in `taken`
/// (compared case-insensitively, as DNS does).
///
/// The form is `sYYYYMM` and a letter for the key type, `r` or `e`: `s202611r`, `s202611e`.
/// The date shows at a glance how old a published key is (rotation is by month at the
/// finest), and the letter keeps the two keys of a pair apart. A second pair in the same month
/// gets a counter, the same for both keys: `s202611r2`, `s202611e2`, and so on.
pub fn selectors_for_pair(now: DateTime<Utc>, taken: &[&str]) -> (String, String) {
    let is_taken = |name: &str| taken.iter().any(|t| t.eq_ignore_ascii_case(name));
    let stem = format!("s{:04}{:02}", now.year(), now.month());
    let name = |key_type: DkimKeyType, n: u32| {
        let counter = if n <= 1 { String::new() } else { n.to_string() };
        format!("{stem}{}{counter}", key_type.selector_letter())
    };
    let mut n = 1;
    loop {
        let (rsa, ed) = (name(DkimKeyType::Rsa, n), name(DkimKeyType::Ed25519, n));
        if !is_taken(&rsa) && !is_taken(&ed) {
            return (rsa, ed);
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(year: i32, month: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(year, month, 28, 4, 5, 6).unwrap()
    }

    #[test]
    fn selectors_name_the_month_and_the_key_type() {
        assert_eq!(
            selectors_for_pair(at(2026, 11), &[]),
            ("s202611r".into(), "s202611e".into())
        );
        assert_eq!(
            selectors_for_pair(at(2027, 1), &["s202611r", "s202611e"]),
            ("s202701r".into(), "s202701e".into())
        );
    }

    #[test]
    fn a_second_pair_in_one_month_gets_a_shared_counter() {
        let now = at(2026, 11);
        assert_eq!(
            selectors_for_pair(now, &["s202611r", "s202611e"]),
            ("s202611r2".into(), "s202611e2".into())
        );
        // Either half taken moves both on; so does a name differing only in case.
        assert_eq!(
            selectors_for_pair(now, &["S202611E", "s202611r2"]),
            ("s202611r3".into(), "s202611e3".into())
        );
    }

    #[test]
    fn generated_keys_round_trip_through_pem() {
        for key_type in [DkimKeyType::Rsa, DkimKeyType::Ed25519] {
            let key = generate_key(key_type).unwrap();
            let pem = key.private_key.expose();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
            let (found, record) = public_record(pem).unwrap();
            assert_eq!(found, key_type);
            assert_eq!(
                record, key.record,
                "the record is derived from the stored key"
            );
            let p = record.rsplit_once("p=").unwrap().1;
            let public = base64::engine::general_purpose::STANDARD.decode(p).unwrap();
            match key_type {
                DkimKeyType::Rsa => {
                    assert!(record.starts_with("v=DKIM1; k=rsa; p="));
                    // SubjectPublicKeyInfo of a 2048-bit key is 294 bytes.
                    assert_eq!(public.len(), 294);
                }
                DkimKeyType::Ed25519 => {
                    assert!(record.starts_with("v=DKIM1; k=ed25519; p="));
                    assert_eq!(public.len(), 32);
                }
            }
        }
    }

    #[test]
    fn bad_private_keys_are_refused() {
        assert!(matches!(
            public_record("not a key"),
            Err(DkimKeyError::Pem(_))
        ));
        let cert = pem::encode(&pem::Pem::new("CERTIFICATE", vec![1, 2, 3]));
        assert!(matches!(public_record(&cert), Err(DkimKeyError::Pem(_))));
        let junk = pem::encode(&pem::Pem::new(PKCS8_LABEL, vec![1, 2, 3]));
        assert!(matches!(public_record(&junk), Err(DkimKeyError::Unusable)));
    }
}
