//! Password hashing: Argon2id in PHC string format, done above the store so every backend keeps
//! only the hash.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use surel_types::Secret;
use tokio::sync::Semaphore;

/// Password checks running at once, process-wide. Each costs about 19 MiB and 40 ms of CPU
/// (Argon2id's recommended parameters): without a cap, a burst of logins from many addresses
/// (the per-IP throttle does not see them) could take gigabytes.
const CONCURRENT_CHECKS: usize = 4;

/// Hashes a password with Argon2id (the crate's recommended parameters) and a random salt.
pub fn hash(password: &Secret<String>) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash password: {e}"))
}

/// True if the password matches the PHC hash; false for a wrong password or a malformed hash.
pub fn verify(password: &Secret<String>, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.expose().as_bytes(), phc)
        .is_ok()
}

/// Checks a login's password on a blocking thread, at most [`CONCURRENT_CHECKS`] at a time.
/// `phc` is `None` for an unknown login name: a throwaway hash is checked instead, so the answer
/// takes as long as for a real account and timing does not tell which names exist.
pub async fn check(password: Secret<String>, phc: Option<String>) -> bool {
    static PERMITS: Semaphore = Semaphore::const_new(CONCURRENT_CHECKS);
    let Ok(_permit) = PERMITS.acquire().await else {
        return false;
    };
    let known = phc.is_some();
    let checked = tokio::task::spawn_blocking(move || {
        let phc = phc.unwrap_or_else(|| dummy_hash().to_string());
        verify(&password, &phc)
    })
    .await
    .unwrap_or(false);
    checked && known
}

/// A hash of a random password nobody knows, made once.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let random = format!("{:x}{:x}", rand::random::<u64>(), rand::random::<u64>());
        hash(&Secret::new(random)).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn check_answers_for_known_hashes_only() {
        let h = hash(&Secret::new("pw".into())).unwrap();
        assert!(check(Secret::new("pw".into()), Some(h.clone())).await);
        assert!(!check(Secret::new("nope".into()), Some(h)).await);
        // An unknown name never passes, whatever the password.
        assert!(!check(Secret::new("pw".into()), None).await);
    }

    #[test]
    fn hash_verifies_only_the_right_password() {
        let h = hash(&Secret::new("correct horse".into())).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(&Secret::new("correct horse".into()), &h));
        assert!(!verify(&Secret::new("wrong".into()), &h));
        assert!(!verify(&Secret::new("correct horse".into()), "not a hash"));
    }
}
