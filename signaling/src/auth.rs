//! Password hashing and session tokens.
//!
//! Passwords: argon2id with the OWASP cheat-sheet parameters (19 MiB, 2 passes, 1 lane). Hashing
//! is CPU- and memory-heavy by design, so it runs on the blocking pool and at most
//! [`MAX_CONCURRENT_HASHES`] at once: a burst of log-ins queues instead of exhausting memory.
//!
//! Sessions: 256 random bits from the OS, sent to the browser base64url-encoded in an HttpOnly
//! cookie; only their SHA-256 is stored, so a leaked database does not leak live sessions.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

pub const MAX_CONCURRENT_HASHES: usize = 4;
const TOKEN_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("password hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
    #[error("the hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("hashing pool closed")]
    Closed,
}

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: m=19456 KiB, t=2, p=1.
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Runs argon2 off the async threads, a few at a time.
#[derive(Clone)]
pub struct PasswordHasherPool {
    permits: Arc<Semaphore>,
}

impl Default for PasswordHasherPool {
    fn default() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_HASHES)),
        }
    }
}

impl PasswordHasherPool {
    pub async fn hash(&self, password: String) -> Result<String, AuthError> {
        let permit = self.permit().await?;
        // The permit lives in the blocking task: a cancelled request cannot free it early.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash_password(&password)
        })
        .await?
    }

    /// Checks `password` against `stored`, or against a dummy hash when the user does not exist,
    /// so that the response time does not reveal which usernames exist.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, AuthError> {
        let permit = self.permit().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let exists = stored.is_some();
            let hash = stored.unwrap_or_else(|| dummy_hash().to_owned());
            Ok(verify_password(&password, &hash) && exists)
        })
        .await?
    }

    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, AuthError> {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AuthError::Closed)
    }
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the OS random number generator is available");
    let salt = SaltString::encode_b64(&salt).map_err(AuthError::Hash)?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AuthError::Hash)
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password").expect("hashing a constant works"))
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

    #[tokio::test]
    async fn unknown_users_never_verify() {
        let pool = PasswordHasherPool::default();
        assert!(
            !pool
                .verify("not a real password".into(), None)
                .await
                .unwrap()
        );
    }
}
