//! Single sign-on with OpenID Connect: the authorization code flow with PKCE (S256), `state`
//! and `nonce`, against any provider given by `--oidc-issuer`.
//!
//! `GET /api/sso/start` stores a pending log-in (state, PKCE verifier, nonce) in the database,
//! so that the callback may reach any server node, sets a short-lived `HttpOnly; SameSite=Lax`
//! cookie whose hash is stored with it (the callback must come from the browser that started;
//! Lax, because the callback is a top-level navigation from the provider's site), and sends the
//! browser to the provider. `GET /api/sso/callback` takes that row (once), checks cookie and
//! age, exchanges the code, verifies the ID token (signature, issuer, audience, nonce, expiry)
//! and signs in the account linked to the token's (issuer, subject), creating one the first
//! time. Any failure answers with a small page of its own ([`FAILED_PAGE`], a link back to
//! log-in) rather than the app with a flag in the address: the app's first load has no room
//! for the code to show it. The reason goes to the log only, so nothing a provider or an
//! attacker writes reaches the page.
//!
//! The local second factor is not asked for: the provider's log-in is the strong factor here,
//! as in Mattermost and GitLab. Accounts made here have a password nobody knows.

mod names;

use crate::auth::{hash_token, new_session_token};
use crate::config::Config;
use crate::error::ApiFailure;
use crate::now_ms;
use crate::request::client_key;
use crate::session_cookie::single_cookie;
use crate::state::AppState;
use crate::store::{SsoLogin, StoreError, UserId};
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use names::{numbered, username_base};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a log-in may take at the provider.
const LOGIN_TTL: Duration = Duration::from_secs(600);
/// Log-ins pending at once, from everyone: a bound on the table, whatever the per-address limit.
const MAX_PENDING: u32 = 10_000;
/// How long the provider's metadata and keys are used before they are fetched again (keys
/// rotate).
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Any call to the provider.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// What the browser shows when single sign-on fails. Styled by the account page's stylesheet;
/// no script.
const FAILED_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Sign-in did not work · Chat</title>
<link rel="stylesheet" href="/account.css">
</head>
<body>
<main class="account card">
<h1>Single sign-on did not work</h1>
<p>The sign-in was cancelled, took too long, or was started in another browser. Try again, or log in with your password.</p>
<p><a class="button" href="/">Back to log-in</a></p>
</main>
</body>
</html>
"#;

/// The flow cookie on plain http, and behind HTTPS (see [`crate::session_cookie`]).
const FLOW_COOKIE: &str = "chat_sso";
const SECURE_FLOW_COOKIE: &str = "__Host-chat_sso";
/// Attempts at a free username before giving up.
const NAME_ATTEMPTS: u32 = 50;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The configured provider and what was learnt about it.
pub struct Sso {
    /// The button's label.
    name: String,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    redirect: RedirectUrl,
    /// No redirects (a provider's answer must not send us elsewhere: SSRF), a timeout.
    http: reqwest::Client,
    /// The discovery document and keys, and when they were fetched. A std mutex: held only to
    /// copy the `Arc` out or in, never across a fetch.
    provider: Mutex<Option<(Instant, Arc<CoreProviderMetadata>)>>,
    secure_cookie: bool,
}

/// Why a single sign-on did not complete. Logged; the browser only learns that it failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("too many attempts from this address")]
    RateLimited,
    #[error("too many log-ins pending")]
    TooManyPending,
    #[error("the provider's settings could not be fetched: {0}")]
    ProviderUnavailable(String),
    #[error("the provider reported an error ({0:?})")]
    ProviderRefused(String),
    #[error("the callback lacks its code or state")]
    Malformed,
    #[error("no flow cookie (another browser, or it expired)")]
    NoCookie,
    #[error("unknown or already used state")]
    UnknownState,
    #[error("the flow cookie belongs to another log-in")]
    OtherBrowser,
    #[error("the log-in took longer than allowed")]
    Expired,
    #[error("the code exchange failed: {0}")]
    Exchange(String),
    #[error("the ID token was refused: {0}")]
    IdToken(String),
    #[error("no free username near {0:?}")]
    NoUsername(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("the session could not be started")]
    Session,
    #[error("the account is deactivated")]
    Deactivated,
}

#[derive(Debug, Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

impl Sso {
    /// The provider of `config`, if one is configured; `origins` are the enforced ones (the
    /// default redirect URI is built from the first).
    pub fn from_config(config: &Config, origins: &[String]) -> anyhow::Result<Option<Self>> {
        let (Some(issuer), Some(client_id)) = (&config.oidc_issuer, &config.oidc_client_id) else {
            return Ok(None);
        };
        let redirect = format!("{}/api/sso/callback", config.public_url(origins));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()?;
        Ok(Some(Self {
            name: config.oidc_name.clone(),
            // Exactly as given: discovery checks that the provider names itself the same way,
            // trailing slash included (some have one).
            issuer: IssuerUrl::new(issuer.clone())?,
            client_id: ClientId::new(client_id.clone()),
            client_secret: config.oidc_client_secret.clone().map(ClientSecret::new),
            redirect: RedirectUrl::new(redirect)?,
            http,
            provider: Mutex::new(None),
            secure_cookie: config.secure_cookies,
        }))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn redirect_uri(&self) -> &str {
        self.redirect.as_str()
    }

    /// Fetches the provider's settings now, so the first log-in does not wait; a provider that
    /// is down is tried again at the first log-in.
    pub async fn warm_up(&self) {
        match self.provider().await {
            Ok(_) => tracing::info!(
                issuer = self.issuer.as_str(),
                redirect_uri = self.redirect.as_str(),
                "single sign-on ready"
            ),
            Err(e) => tracing::warn!(
                issuer = self.issuer.as_str(),
                error = %e,
                "single sign-on provider unreachable at start-up; will retry at the first log-in"
            ),
        }
    }

    /// The provider's metadata and keys: cached for [`METADATA_TTL`]; when a refresh fails the
    /// old ones stay in use.
    async fn provider(&self) -> Result<Arc<CoreProviderMetadata>, Failure> {
        let cached = self.provider.lock().expect("not poisoned").clone();
        if let Some((at, metadata)) = &cached
            && at.elapsed() < METADATA_TTL
        {
            return Ok(metadata.clone());
        }
        match CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http).await {
            Ok(metadata) => {
                let metadata = Arc::new(metadata);
                *self.provider.lock().expect("not poisoned") =
                    Some((Instant::now(), metadata.clone()));
                Ok(metadata)
            }
            Err(e) => match cached {
                Some((_, metadata)) => {
                    tracing::warn!(error = %e, "could not refresh the single sign-on provider's settings; using the old ones");
                    Ok(metadata)
                }
                None => Err(Failure::ProviderUnavailable(e.to_string())),
            },
        }
    }

    async fn client(&self) -> Result<Client, Failure> {
        let metadata = self.provider().await?;
        Ok(CoreClient::from_provider_metadata(
            (*metadata).clone(),
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(self.redirect.clone()))
    }

    fn cookie_name(&self) -> &'static str {
        if self.secure_cookie {
            SECURE_FLOW_COOKIE
        } else {
            FLOW_COOKIE
        }
    }

    /// `Set-Cookie` for the flow cookie (`max_age_secs` 0 clears it).
    fn flow_cookie(&self, value: &str, max_age_secs: u64) -> HeaderValue {
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        let cookie = format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}",
            self.cookie_name()
        );
        HeaderValue::from_str(&cookie).expect("the value is base64url, the attributes ASCII")
    }
}

/// `GET /api/sso/start`: 303 to the provider.
pub async fn start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    let sso = state.sso.as_ref().ok_or(ApiFailure::NotFound)?;
    Ok(match begin(&state, sso, peer, &headers).await {
        Ok(response) => response,
        Err(failure) => failed(sso, &failure),
    })
}

/// `GET /api/sso/callback?code&state`: 303 to `/` signed in, or the failure page.
pub async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    params: Result<Query<CallbackParams>, QueryRejection>,
) -> Result<Response, ApiFailure> {
    let sso = state.sso.as_ref().ok_or(ApiFailure::NotFound)?;
    let result = match params {
        Ok(Query(params)) => finish(&state, sso, peer, &headers, params).await,
        Err(_) => Err(Failure::Malformed),
    };
    Ok(match result {
        Ok(response) => response,
        Err(failure) => failed(sso, &failure),
    })
}

fn failed(sso: &Sso, failure: &Failure) -> Response {
    let status = match failure {
        Failure::Store(_) | Failure::Session => StatusCode::INTERNAL_SERVER_ERROR,
        Failure::ProviderUnavailable(_) | Failure::Exchange(_) => StatusCode::BAD_GATEWAY,
        Failure::RateLimited | Failure::TooManyPending => StatusCode::TOO_MANY_REQUESTS,
        Failure::Deactivated => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    if status.is_server_error() {
        tracing::warn!(reason = %failure, "single sign-on failed");
    } else {
        tracing::info!(reason = %failure, "single sign-on refused");
    }
    let content_type = HeaderValue::from_static("text/html; charset=utf-8");
    let page = if matches!(failure, Failure::Deactivated) {
        FAILED_PAGE.replace(
            "The sign-in was cancelled, took too long, or was started in another browser. Try again, or log in with your password.",
            "An administrator deactivated this account. Ask them to reactivate it.",
        )
    } else {
        FAILED_PAGE.to_owned()
    };
    let mut response = (status, [(header::CONTENT_TYPE, content_type)], page).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, sso.flow_cookie("", 0));
    response
}

fn redirect(to: &str) -> Response {
    let location = HeaderValue::from_str(to).expect("URLs are ASCII");
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

async fn begin(
    state: &AppState,
    sso: &Sso,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<Response, Failure> {
    let client_address = client_key(peer.ip(), headers, state.trust_forwarded_for);
    state
        .auth_limiter
        .check_key(&client_address)
        .map_err(|_| Failure::RateLimited)?;
    let metadata = sso.provider().await?;
    let client = sso.client().await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            || CsrfToken::new_random_len(32),
            || Nonce::new_random_len(32),
        )
        .set_pkce_challenge(challenge);
    for scope in ["profile", "email"] {
        let offered = metadata
            .scopes_supported()
            .is_none_or(|all| all.iter().any(|s| s.as_str() == scope));
        if offered {
            request = request.add_scope(Scope::new(scope.to_owned()));
        }
    }
    let (url, csrf, nonce) = request.url();
    let (browser_token, browser_hash) = new_session_token();
    let now = now_ms();
    let login = SsoLogin {
        state: csrf.secret().clone(),
        browser_hash,
        pkce_verifier: verifier.secret().clone(),
        nonce: nonce.secret().clone(),
        created_ms: now,
    };
    let expired_before = now - ttl_ms();
    if !state
        .store
        .add_sso_login(&login, expired_before, MAX_PENDING)
        .await?
    {
        return Err(Failure::TooManyPending);
    }
    let mut response = redirect(url.as_str());
    response.headers_mut().append(
        header::SET_COOKIE,
        sso.flow_cookie(&browser_token, LOGIN_TTL.as_secs()),
    );
    Ok(response)
}

async fn finish(
    state: &AppState,
    sso: &Sso,
    peer: SocketAddr,
    headers: &HeaderMap,
    params: CallbackParams,
) -> Result<Response, Failure> {
    let client_address = client_key(peer.ip(), headers, state.trust_forwarded_for);
    state
        .auth_limiter
        .check_key(&client_address)
        .map_err(|_| Failure::RateLimited)?;
    // The pending log-in is used up by any callback that names it, right or wrong.
    let login = state
        .store
        .take_sso_login(params.state.as_deref().ok_or(Failure::Malformed)?)
        .await?
        .ok_or(Failure::UnknownState)?;
    let cookie = single_cookie(headers, sso.cookie_name())
        .ok()
        .flatten()
        .ok_or(Failure::NoCookie)?;
    if hash_token(&cookie) != login.browser_hash {
        return Err(Failure::OtherBrowser);
    }
    if now_ms().saturating_sub(login.created_ms) > ttl_ms() {
        return Err(Failure::Expired);
    }
    if let Some(error) = params.error {
        return Err(Failure::ProviderRefused(error.chars().take(64).collect()));
    }
    let code = params.code.ok_or(Failure::Malformed)?;

    let client = sso.client().await?;
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| Failure::Exchange(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier))
        .request_async(&sso.http)
        .await
        .map_err(|e| Failure::Exchange(e.to_string()))?;
    let id_token = token
        .id_token()
        .ok_or_else(|| Failure::IdToken("the provider sent none".to_owned()))?;
    let metadata = sso.provider().await?;
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(asymmetric(metadata.id_token_signing_alg_values_supported()));
    let claims = id_token
        .claims(&verifier, &Nonce::new(login.nonce))
        .map_err(|e| Failure::IdToken(e.to_string()))?;
    let issuer = claims.issuer().as_str();
    let subject = claims.subject().as_str();

    let (user, username) = match state.store.sso_user(issuer, subject).await? {
        Some(found) => (found.id, found.name),
        None => {
            let mut wanted = (
                claims.preferred_username().map(|n| n.as_str().to_owned()),
                claims.email().map(|e| e.as_str().to_owned()),
            );
            if wanted == (None, None) {
                wanted = user_info_names(sso, &client, &token, claims.subject().clone()).await;
            }
            let base = username_base(wanted.0.as_deref(), wanted.1.as_deref());
            create_account(state, issuer, subject, &base).await?
        }
    };
    tracing::info!(user = user.0, "signed in with single sign-on");
    let origin = crate::devices::origin_of(state, peer, headers);
    let mut response =
        crate::accounts::start_session(state, user, username, origin, StatusCode::SEE_OTHER)
            .await
            .map_err(|e| match e {
                ApiFailure::Deactivated => Failure::Deactivated,
                _ => Failure::Session,
            })?;
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, HeaderValue::from_static("/"));
    headers.append(header::SET_COOKIE, sso.flow_cookie("", 0));
    Ok(response)
}

fn ttl_ms() -> i64 {
    i64::try_from(LOGIN_TTL.as_millis()).unwrap_or(i64::MAX)
}

/// The signing algorithms the provider announces, less the symmetric ones (keyed with the
/// client secret, which this server shares) and `none`; RS256, which every provider must
/// support, when that leaves none.
fn asymmetric(announced: &[CoreJwsSigningAlgorithm]) -> Vec<CoreJwsSigningAlgorithm> {
    use CoreJwsSigningAlgorithm as Alg;
    let allowed: Vec<_> = announced
        .iter()
        .filter(|a| {
            !matches!(
                a,
                Alg::HmacSha256 | Alg::HmacSha384 | Alg::HmacSha512 | Alg::None
            )
        })
        .cloned()
        .collect();
    if allowed.is_empty() {
        vec![Alg::RsaSsaPkcs1V15Sha256]
    } else {
        allowed
    }
}

/// The preferred username and e-mail address from the UserInfo endpoint, for a provider that
/// puts only the subject in its ID tokens (as `oidc-provider` does by default). Only ever used
/// to name a new account, so a failure just leaves the default name.
async fn user_info_names(
    sso: &Sso,
    client: &Client,
    token: &openidconnect::core::CoreTokenResponse,
    subject: openidconnect::SubjectIdentifier,
) -> (Option<String>, Option<String>) {
    let Ok(request) = client.user_info(token.access_token().clone(), Some(subject)) else {
        return (None, None);
    };
    let claims: Result<CoreUserInfoClaims, _> = request.request_async(&sso.http).await;
    match claims {
        Ok(info) => (
            info.preferred_username().map(|n| n.as_str().to_owned()),
            info.email().map(|e| e.as_str().to_owned()),
        ),
        Err(e) => {
            tracing::info!(error = %e, "single sign-on: no user info; using a default name");
            (None, None)
        }
    }
}

/// A new account linked to (`issuer`, `subject`), named `base` or `base` with digits added.
/// Its password is 256 random bits nobody ever sees: hashed like any other, so verifying it
/// costs as much as a real one, and no password log-in works.
async fn create_account(
    state: &AppState,
    issuer: &str,
    subject: &str,
    base: &str,
) -> Result<(UserId, String), Failure> {
    let (unknown_password, _) = new_session_token();
    let hash = state
        .hasher
        .hash(unknown_password)
        .await
        .map_err(|_| Failure::Session)?;
    let now = now_ms();
    for attempt in 1..=NAME_ATTEMPTS {
        let username = numbered(base, attempt);
        match state
            .store
            .create_sso_user(issuer, subject, &username, &hash, now)
            .await
        {
            Ok(user) => {
                tracing::info!(user = user.0, "account created by single sign-on");
                return Ok((user, username));
            }
            Err(StoreError::UsernameTaken) => continue,
            Err(e) => {
                // The same person's other callback may have linked the identity just now.
                return match state.store.sso_user(issuer, subject).await? {
                    Some(found) => Ok((found.id, found.name)),
                    None => Err(e.into()),
                };
            }
        }
    }
    Err(Failure::NoUsername(base.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_asymmetric_signatures_are_accepted() {
        use CoreJwsSigningAlgorithm as Alg;
        let allowed = asymmetric(&[
            Alg::RsaSsaPkcs1V15Sha256,
            Alg::HmacSha256,
            Alg::None,
            Alg::EcdsaP256Sha256,
        ]);
        assert_eq!(allowed, [Alg::RsaSsaPkcs1V15Sha256, Alg::EcdsaP256Sha256]);
        assert_eq!(asymmetric(&[Alg::HmacSha256]), [Alg::RsaSsaPkcs1V15Sha256]);
    }
}
