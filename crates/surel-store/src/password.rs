//! Password hashing: Argon2id in PHC string format, done above the store so every backend keeps
//! only the hash.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use surel_types::Secret;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_the_right_password() {
        let h = hash(&Secret::new("correct horse".into())).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(&Secret::new("correct horse".into()), &h));
        assert!(!verify(&Secret::new("wrong".into()), &h));
        assert!(!verify(&Secret::new("correct horse".into()), "not a hash"));
    }
}
