//! Password hashing: Argon2id in PHC string format, done above the store so every backend keeps
//! only the hash.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use aws_lc_rs::hmac;
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
///
/// A password that matched its hash in the last [`REMEMBER_FOR`] passes again without the
/// Argon2 work (see [`Remembered`]): mail clients log in over and over (a connection per
/// folder, reconnecting phones), and 40 ms of CPU and 19 MiB each time buy nothing after the
/// first. Failures are never remembered: every wrong guess costs the full hash.
pub async fn check(password: Secret<String>, phc: Option<String>) -> bool {
    static PERMITS: Semaphore = Semaphore::const_new(CONCURRENT_CHECKS);
    static REMEMBERED: OnceLock<Remembered> = OnceLock::new();
    let remembered = REMEMBERED.get_or_init(Remembered::new);
    if let Some(phc) = &phc
        && remembered.contains(phc, &password, Instant::now())
    {
        return true;
    }
    let Ok(_permit) = PERMITS.acquire().await else {
        return false;
    };
    let known = phc.clone();
    let secret = password.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let phc = phc.unwrap_or_else(|| dummy_hash().to_string());
        verify(&secret, &phc)
    })
    .await
    .unwrap_or(false);
    match known {
        Some(phc) if checked => {
            remembered.insert(&phc, &password, Instant::now());
            true
        }
        _ => false,
    }
}

/// How long a verified password is remembered (Dovecot's auth cache keeps one for an hour).
pub const REMEMBER_FOR: Duration = Duration::from_secs(10 * 60);
/// Verified logins remembered at most; only successful logins get in, so this bounds memory
/// without letting anyone without a password fill it.
const REMEMBER_AT_MOST: usize = 10_000;

/// Passwords recently verified against a hash, kept as HMAC-SHA256 digests of (hash, password)
/// under a key made at start and never stored: a changed password means a changed hash, so
/// its entries stop matching at once. Someone who could read this process's memory could test
/// guesses against an entry faster than against Argon2 — the price of the cache, as with
/// Dovecot's; the plain password is never kept.
pub struct Remembered {
    key: hmac::Key,
    entries: Mutex<HashMap<[u8; 32], Instant>>,
}

impl Remembered {
    /// An empty cache with a fresh random key.
    pub fn new() -> Self {
        let seed: [u8; 32] = rand::random();
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &seed),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn digest(&self, phc: &str, password: &Secret<String>) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(phc.as_bytes());
        ctx.update(&[0]);
        ctx.update(password.expose().as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// True if this password matched this hash within [`REMEMBER_FOR`] before `now`.
    pub fn contains(&self, phc: &str, password: &Secret<String>, now: Instant) -> bool {
        let digest = self.digest(phc, password);
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&digest)
            .is_some_and(|at| now.saturating_duration_since(*at) < REMEMBER_FOR)
    }

    /// Remembers that this password matched this hash at `now`.
    pub fn insert(&self, phc: &str, password: &Secret<String>, now: Instant) {
        let digest = self.digest(phc, password);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= REMEMBER_AT_MOST {
            entries.retain(|_, at| now.saturating_duration_since(*at) < REMEMBER_FOR);
            if entries.len() >= REMEMBER_AT_MOST {
                entries.clear();
            }
        }
        entries.insert(digest, now);
    }
}

impl Default for Remembered {
    fn default() -> Self {
        Self::new()
    }
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
    fn remembered_passwords_match_only_their_hash_and_expire() {
        let r = Remembered::new();
        let (pw, other) = (Secret::new("pw".to_string()), Secret::new("px".to_string()));
        let t0 = Instant::now();
        assert!(!r.contains("$hash1", &pw, t0));
        r.insert("$hash1", &pw, t0);
        assert!(r.contains("$hash1", &pw, t0 + Duration::from_secs(1)));
        assert!(!r.contains("$hash1", &other, t0), "another password");
        assert!(
            !r.contains("$hash2", &pw, t0),
            "a changed password (new hash)"
        );
        assert!(
            !r.contains("$hash1", &pw, t0 + REMEMBER_FOR),
            "forgotten after REMEMBER_FOR"
        );
        // A full cache drops what expired, then everything, but always takes the new entry.
        for i in 0..REMEMBER_AT_MOST {
            r.insert(&format!("$h{i}"), &pw, t0);
        }
        let later = t0 + REMEMBER_FOR;
        r.insert("$fresh", &pw, later);
        assert!(r.contains("$fresh", &pw, later));
        assert!(r.entries.lock().unwrap().len() <= REMEMBER_AT_MOST);
    }

    #[tokio::test]
    async fn a_remembered_login_still_fails_with_a_wrong_password() {
        let h = hash(&Secret::new("right".into())).unwrap();
        assert!(check(Secret::new("right".into()), Some(h.clone())).await);
        assert!(check(Secret::new("right".into()), Some(h.clone())).await);
        assert!(!check(Secret::new("wrong".into()), Some(h)).await);
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
