//! Password hashing and session tokens.
//!
//! Passwords: argon2id with the OWASP cheat-sheet parameters (19 MiB, 2 passes, 1 lane), run by
//! a fixed pool of threads that each reuse one buffer ([`pool`], [`password`]).
//!
//! Sessions: 256 random bits from the OS, sent to the browser base64url-encoded in an HttpOnly
//! cookie; only their SHA-256 is stored, so a leaked database does not leak live sessions.

mod password;
mod pool;

pub use pool::{DEFAULT_THREADS, PasswordHasherPool};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

const TOKEN_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("password hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
    #[error("the hashing threads are gone")]
    Closed,
}

/// Hashes a password outside the server's pool (tools and tests); allocates argon2's memory
/// for this one hash.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    password::hash(password.as_bytes(), &mut password::Memory::default())
}

/// Checks a password outside the server's pool (tools and tests).
pub fn verify_password(password: &str, phc: &str) -> bool {
    password::verify(password.as_bytes(), phc, &mut password::Memory::default())
}

/// A new session token: what goes into the cookie, and what goes into the database.
pub fn new_session_token() -> (String, [u8; 32]) {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).expect("the OS random number generator is available");
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert_ne!(hash, hash_password("correct horse").unwrap(), "salted");
    }

    #[test]
    fn tokens_carry_256_random_bits_and_hash_deterministically() {
        let (a, a_hash) = new_session_token();
        let (b, _) = new_session_token();
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert_eq!(hash_token(&a), a_hash);
    }
}
