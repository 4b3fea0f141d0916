//! Two-factor authentication with TOTP (RFC 6238, via `totp-rs`): set-up, the check at log-in,
//! recovery codes, and turning it off.
//!
//! Set-up stores a new secret that log-in ignores until a code from the person's authenticator
//! proves the app has it; then ten one-time recovery codes are shown once. A code is accepted
//! for the current 30-second step or one either side (clock drift), and only once: the newest
//! step used is stored, and a code for it or an earlier step is refused.

use crate::error::ApiFailure;
use crate::request::{authenticate, check_origin};
use crate::state::AppState;
use crate::store::{TwoFactor, UserId};
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use shared::api::{PasswordConfirm, RecoveryCodes, TwoFactorCode, TwoFactorSetup, TwoFactorStatus};
use totp_rs::{Algorithm, TOTP};

/// Seconds per code.
const STEP_SECS: u64 = 30;
const DIGITS: usize = 6;
/// 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
const RECOVERY_CODES: usize = 10;
/// What authenticator apps show as the account's issuer.
const ISSUER: &str = "Chat";
/// Recovery codes use this alphabet (no 0/o, 1/l/i to misread): 10 characters, 50 bits.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz23456789-";

fn totp(secret: Vec<u8>, account: &str) -> Result<TOTP, ApiFailure> {
    // No skew inside: `matching_step` tries the neighbouring steps itself, to know which one
    // matched.
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP_SECS,
        secret,
        Some(ISSUER.to_owned()),
        account.to_owned(),
    )
    .map_err(|e| {
        tracing::error!(error = ?e, "a stored two-factor secret is unusable");
        ApiFailure::Internal
    })
}

/// The step (of the current one and one either side) that `code` is right for.
pub fn matching_step(totp: &TOTP, code: &str, now_secs: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = now_secs / STEP_SECS;
    [now.saturating_sub(1), now, now + 1]
        .into_iter()
        .find(|step| totp.check(&code, step * STEP_SECS))
}

fn now_secs() -> u64 {
    u64::try_from(crate::now_ms() / 1000).unwrap_or(0)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the OS random number generator is available");
    bytes
}

/// A recovery code as typed: lower case, without spaces and dashes.
fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn recovery_hash(code: &str) -> [u8; 32] {
    Sha256::digest(normalise_recovery(code).as_bytes()).into()
}

/// Ten new codes like `abcde-fghjk`, and their hashes.
fn new_recovery_codes() -> (Vec<String>, Vec<[u8; 32]>) {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes = random_bytes::<10>();
            // 31 letters and digits (the dash is for display only): 5 bits from each byte.
            let chars: String = bytes
                .iter()
                .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b % 31)]))
                .collect();
            let code = format!("{}-{}", &chars[..5], &chars[5..]);
            let hash = recovery_hash(&code);
            (code, hash)
        })
        .unzip()
}

/// Whether `code` is a current TOTP code (never used before) or an unused recovery code of
/// `user`; either is used up by this check.
pub async fn check_code(
    state: &AppState,
    user: UserId,
    username: &str,
    setup: &TwoFactor,
    code: &str,
) -> Result<bool, ApiFailure> {
    let totp = totp(setup.secret.clone(), username)?;
    if let Some(step) = matching_step(&totp, code, now_secs()) {
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        return Ok(state.store.use_two_factor_step(user, step).await?);
    }
    if normalise_recovery(code).len() == 10 {
        let used = state
            .store
            .use_recovery_code(user, &recovery_hash(code))
            .await?;
        if used {
            tracing::info!(user = user.0, "a recovery code was used to log in");
        }
        return Ok(used);
    }
    Ok(false)
}

pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<TwoFactorStatus>, ApiFailure> {
    let authed = authenticate(&state, &headers).await?;
    let enabled = state
        .store
        .two_factor(authed.user)
        .await?
        .is_some_and(|t| t.enabled);
    let left = if enabled {
        state.store.recovery_codes_left(authed.user).await?
    } else {
        0
    };
    Ok(Json(TwoFactorStatus {
        enabled,
        recovery_codes_left: u32::try_from(left).unwrap_or(u32::MAX),
    }))
}

pub async fn setup(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<TwoFactorSetup>, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = authenticate(&state, &headers).await?;
    let secret = random_bytes::<SECRET_BYTES>().to_vec();
    if !state.store.begin_two_factor(authed.user, &secret).await? {
        return Err(ApiFailure::TwoFactorEnabled);
    }
    let totp = totp(secret, &authed.username)?;
    Ok(Json(TwoFactorSetup {
        secret: totp.get_secret_base32(),
        uri: totp.get_url(),
    }))
}

pub async fn enable(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<TwoFactorCode>, JsonRejection>,
) -> Result<Json<RecoveryCodes>, ApiFailure> {
    check_origin(&headers, &state.allowed_origins)?;
    let authed = authenticate(&state, &headers).await?;
    let Json(TwoFactorCode { code }) = body.map_err(|e| ApiFailure::BadRequest(e.body_text()))?;
    let Some(setup) = state.store.two_factor(authed.user).await? else {
        return Err(ApiFailure::BadRequest("Start the set-up first.".to_owned()));
    };
    if setup.enabled {
        return Err(ApiFailure::TwoFactorEnabled);
    }
    let totp = totp(setup.secret, &authed.username)?;
    let Some(step) = matching_step(&totp, &code, now_secs()) else {
        return Err(ApiFailure::InvalidCode);
    };
    let (codes, hashes) = new_recovery_codes();
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    state
        .store
        .enable_two_factor(authed.user, step, &hashes)
        .await?;
    tracing::info!(user = authed.user.0, "two-factor authentication turned on");
    Ok(Json(RecoveryCodes { codes }))
}

pub async fn disable(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<PasswordConfirm>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    let authed = crate::accounts::owner_confirmed(&state, &headers, body).await?;
    state.store.disable_two_factor(authed.user).await?;
    tracing::info!(user = authed.user.0, "two-factor authentication turned off");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_right_for_its_step_and_the_neighbours_only() {
        let totp = totp(vec![7; SECRET_BYTES], "ann").unwrap();
        let now = 1_700_000_000;
        let code = totp.generate(now);
        assert_eq!(matching_step(&totp, &code, now), Some(now / STEP_SECS));
        assert_eq!(
            matching_step(&totp, &code, now + STEP_SECS),
            Some(now / STEP_SECS),
            "a step late"
        );
        assert_eq!(matching_step(&totp, &code, now + 3 * STEP_SECS), None);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(matching_step(&totp, &spaced, now), Some(now / STEP_SECS));
        assert_eq!(matching_step(&totp, "12345", now), None);
        assert_eq!(matching_step(&totp, "abcdef", now), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_match_however_typed() {
        let (codes, hashes) = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let unique: std::collections::HashSet<_> = hashes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
        let code = &codes[0];
        assert_eq!(code.len(), 11);
        assert_eq!(
            recovery_hash(&code.to_uppercase().replace('-', " ")),
            hashes[0]
        );
    }

    #[test]
    fn the_link_names_the_issuer_and_account() {
        let totp = totp(vec![1; SECRET_BYTES], "ann").unwrap();
        let url = totp.get_url();
        assert!(url.starts_with("otpauth://totp/Chat:ann?"), "{url}");
        assert!(url.contains(&format!("secret={}", totp.get_secret_base32())));
    }
}
