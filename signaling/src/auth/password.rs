//! argon2id in memory that the caller keeps between hashes.
//!
//! The argon2 crate's `PasswordHasher` allocates its 19 MiB of blocks for every hash. On a
//! thread pool that meant a fresh allocation per log-in, and glibc kept the freed memory in
//! per-thread arenas: the resident size only ever grew. Here each hashing thread owns one
//! [`Memory`] and every hash runs in it. The PHC strings are the same ones the crate writes and
//! reads, so hashes stored before this change still verify.

use super::AuthError;
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

const SALT_BYTES: usize = 16;

/// A hash nobody knows the password of, with the parameters of new hashes: verifying against it
/// takes as long as verifying a real user's, so the response time does not tell which usernames
/// exist. (The hash of 32 random bytes, made once with [`hash`] and thrown away.)
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$tlzGixJm+z4Q1jJmKqp3yw$\
                              BMOaUWrJZ6cFIlwQvY2HMNmQSuu5JfGWEkr8kVbA/hw";

/// OWASP Password Storage Cheat Sheet: m=19456 KiB, t=2, p=1.
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid")
}

/// argon2's working memory, allocated at the first hash and kept for the next ones.
#[derive(Default)]
pub struct Memory(Vec<Block>);

impl Memory {
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        // Grows only for a stored hash with a larger memory cost than any before; new hashes all
        // use the same size, so in practice this allocates once.
        if self.0.len() < count {
            self.0.resize(count, Block::default());
        }
        &mut self.0[..count]
    }
}

/// A new PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) with a random salt.
pub fn hash(password: &[u8], memory: &mut Memory) -> Result<String, AuthError> {
    let mut salt = [0u8; SALT_BYTES];
    getrandom::fill(&mut salt).expect("the OS random number generator is available");
    let encoded_salt = SaltString::encode_b64(&salt).map_err(AuthError::Hash)?;
    let params = params();
    let output = compute(
        Algorithm::Argon2id,
        Version::V0x13,
        params.clone(),
        password,
        &salt,
        Params::DEFAULT_OUTPUT_LEN,
        memory,
    )?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(AuthError::Hash)?,
        salt: Some(encoded_salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`, computed with the algorithm, version,
/// parameters and salt that `phc` names. A malformed `phc` matches nothing.
pub fn verify(password: &[u8], phc: &str, memory: &mut Memory) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let Ok(version) = parsed.version.map_or(Ok(Version::V0x13), Version::try_from) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_buffer = [0u8; Salt::MAX_LENGTH];
    let Ok(salt) = salt.decode_b64(&mut salt_buffer) else {
        return false;
    };
    compute(
        algorithm,
        version,
        params,
        password,
        salt,
        expected.len(),
        memory,
    )
    // `Output`'s equality is constant-time.
    .is_ok_and(|computed| computed == expected)
}

fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    output_len: usize,
    memory: &mut Memory,
) -> Result<Output, AuthError> {
    let blocks = memory.blocks(params.block_count());
    let argon2 = Argon2::new(algorithm, version, params);
    Output::init_with(output_len, |out| {
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut *blocks)
            .map_err(Into::into)
    })
    .map_err(AuthError::Hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    /// Accounts created before hashing moved to reused memory keep working, and the other way
    /// round: both sides speak the argon2 crate's PHC strings.
    #[test]
    fn agrees_with_the_argon2_crate_both_ways() {
        let crate_argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let salt = SaltString::encode_b64(b"sixteen byte sal").unwrap();
        let old = crate_argon2
            .hash_password(b"stored long ago", &salt)
            .unwrap()
            .to_string();
        let mut memory = Memory::default();
        assert!(verify(b"stored long ago", &old, &mut memory));
        assert!(!verify(b"stored long ag0", &old, &mut memory));

        let new = hash(b"stored today", &mut memory).unwrap();
        let parsed = PasswordHash::new(&new).unwrap();
        assert!(
            crate_argon2
                .verify_password(b"stored today", &parsed)
                .is_ok()
        );
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does_and_matches_nothing() {
        let mut memory = Memory::default();
        let real = hash(b"whatever", &mut memory).unwrap();
        let prefix = |phc: &str| phc.rsplitn(3, '$').nth(2).unwrap().to_owned();
        assert_eq!(prefix(DUMMY_HASH), prefix(&real));
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(dummy.hash.unwrap().len(), Params::DEFAULT_OUTPUT_LEN);
        assert!(!verify(b"", DUMMY_HASH, &mut memory));
        assert!(!verify(b"not a real password", DUMMY_HASH, &mut memory));
    }

    #[test]
    fn malformed_hashes_match_nothing() {
        let mut memory = Memory::default();
        for phc in ["", "plain text", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA"] {
            assert!(!verify(b"", phc, &mut memory), "{phc}");
        }
    }
}
