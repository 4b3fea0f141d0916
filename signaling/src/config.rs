//! Command-line flags and environment variables. `signaling --help` documents every one.

use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "signaling",
    version,
    about = "Self-hosted real-time chat server"
)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "CHAT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Directory for the embedded SQLite database (`chat.db`). Created if missing. Not used
    /// with --database-url.
    #[arg(long, env = "CHAT_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// PostgreSQL instead of the embedded SQLite database, for several server processes
    /// sharing one database: `postgres://user:password@host:5432/chat` (also `postgresql://`).
    /// Tables are created or migrated at start.
    #[arg(long, env = "CHAT_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<DatabaseUrl>,

    /// Directory holding the built frontend (Trunk's `dist/`). Unknown paths fall back to its
    /// `index.html` so client-side routes load.
    #[arg(long, env = "CHAT_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,

    /// Origins (scheme://host[:port]) whose pages may open the WebSocket and call the API,
    /// comma-separated. Default: http://127.0.0.1:PORT and http://localhost:PORT of --bind.
    /// Set this to your public https origin when serving behind a reverse proxy.
    #[arg(
        long = "allowed-origin",
        env = "CHAT_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Serve over HTTPS only: the session cookie becomes `__Host-chat_session` (`Secure`, so
    /// only sent over HTTPS, and bound to this host) and responses carry
    /// `Strict-Transport-Security`. Turn on behind TLS.
    #[arg(long, env = "CHAT_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// How long a session stays valid after log-in, in days.
    #[arg(long, env = "CHAT_SESSION_DAYS", default_value_t = 30)]
    pub session_days: u32,

    /// Days a session may go unused before it stops working (at least 1). Opening the app or a
    /// socket counts as use.
    #[arg(
        long = "session-idle-days",
        env = "CHAT_SESSION_IDLE_DAYS",
        default_value = "14",
        value_name = "DAYS",
        value_parser = parse_days
    )]
    pub session_idle: Duration,

    /// Sign-up and log-in attempts allowed per client IP per minute (a burst of up to this
    /// many, refilled evenly over the minute).
    #[arg(long, env = "CHAT_AUTH_ATTEMPTS_PER_MINUTE", default_value_t = 20)]
    pub auth_attempts_per_minute: u32,

    /// Wrong passwords allowed per account (username), from any address, within
    /// --login-failure-window-minutes. Then log-ins to that account are refused (429), even
    /// with the right password, until the oldest failure is that old.
    #[arg(long, env = "CHAT_LOGIN_FAILURES_PER_ACCOUNT", default_value_t = 10)]
    pub login_failures_per_account: u32,

    /// The window of --login-failures-per-account, in minutes (at least 1).
    #[arg(
        long = "login-failure-window-minutes",
        env = "CHAT_LOGIN_FAILURE_WINDOW_MINUTES",
        default_value = "15",
        value_name = "MINUTES",
        value_parser = parse_minutes
    )]
    pub login_failure_window: Duration,

    /// Threads that hash passwords (sign-up, log-in). Each keeps 19 MiB of memory once it has
    /// hashed; more threads serve more log-ins per second.
    #[arg(long, env = "CHAT_PASSWORD_HASH_THREADS", default_value_t = crate::auth::DEFAULT_THREADS)]
    pub password_hash_threads: usize,

    /// Count rate limits against the rightmost `X-Forwarded-For` address instead of the TCP
    /// peer. Turn on only behind a reverse proxy that sets that header.
    #[arg(long, env = "CHAT_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// Frames per second one socket may send, sustained (bursts of 3x are allowed). Frames
    /// beyond it are answered with a `rate_limited` error, not dropped silently.
    #[arg(long, env = "CHAT_SOCKET_FRAMES_PER_SECOND", default_value_t = 10)]
    pub socket_frames_per_second: u32,

    /// Events (messages, edits, reactions, room changes) per second one user may create across
    /// all their sockets, sustained (bursts of 4x are allowed).
    #[arg(long, env = "CHAT_USER_EVENTS_PER_SECOND", default_value_t = 10)]
    pub user_events_per_second: u32,

    /// Seconds between the server's WebSocket pings. Browsers answer them in the protocol
    /// layer, even from a hidden tab whose timers are slowed to once a minute, so a socket
    /// that stops answering is a client that is gone.
    #[arg(long, env = "CHAT_WS_PING_SECS", default_value_t = 10)]
    pub ws_ping_secs: u64,

    /// Seconds without any frame (a pong included) after which a socket is closed (4002) and,
    /// if it was the user's last, others see them offline after the presence grace.
    #[arg(long, env = "CHAT_WS_IDLE_SECS", default_value_t = 25)]
    pub ws_idle_secs: u64,

    /// How push services reach this server's operator (the VAPID `sub`): a `mailto:` or an
    /// `https:` URL.
    #[arg(
        long,
        env = "CHAT_PUSH_CONTACT",
        default_value = "mailto:postmaster@localhost"
    )]
    pub push_contact: String,

    /// Lets push subscriptions name private, loopback and plain-http endpoints: for tests and
    /// closed networks with their own push service. Off, a browser could make the server post
    /// into its own network.
    #[arg(long, env = "CHAT_PUSH_ALLOW_PRIVATE_ENDPOINTS")]
    pub push_allow_private_endpoints: bool,

    /// Where files left on the server are kept (content-addressed by SHA-256). Default:
    /// `<data-dir>/media`. Several server processes must share one directory (a shared volume).
    #[arg(long, env = "CHAT_MEDIA_DIR")]
    pub media_dir: Option<PathBuf>,

    /// Largest file one may leave on the server, in MiB. 0 turns leaving files off.
    #[arg(long, env = "CHAT_MAX_UPLOAD_MB", default_value_t = 25)]
    pub max_upload_mb: u64,

    /// Seconds a stored blob is kept even when no row names it (an upload of the same content
    /// names it only after storing it). For tests; the default suits every deployment.
    #[arg(
        long,
        env = "CHAT_MEDIA_GRACE_SECS",
        default_value_t = 300,
        hide = true
    )]
    pub media_grace_secs: u64,

    /// How long a "day" of retention lasts, in seconds (tests shorten it; hidden).
    #[arg(
        long,
        env = "CHAT_RETENTION_DAY_SECS",
        default_value_t = 86_400,
        hide = true
    )]
    pub retention_day_secs: u64,

    /// What all of one account's files on the server may take together, in MiB.
    #[arg(long, env = "CHAT_UPLOAD_QUOTA_MB", default_value_t = 500)]
    pub upload_quota_mb: u64,

    /// Serve Prometheus metrics at `/metrics` to scrapers that send `Authorization: Bearer
    /// <this token>` (docs/OPERATIONS.md). Off when not set.
    #[arg(long, env = "CHAT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Show previews of links in messages: the server fetches the page's title, description
    /// and image (never from private, loopback or link-local addresses). Off by default; leave
    /// it off where the server must not reach the internet, or links must not be visited.
    #[arg(long, env = "CHAT_LINK_PREVIEWS")]
    pub link_previews: bool,

    /// Let link previews fetch from private and loopback addresses and any port: for tests and
    /// closed networks only.
    #[arg(long, env = "CHAT_LINK_PREVIEWS_ALLOW_PRIVATE")]
    pub link_previews_allow_private: bool,

    /// The support desk's knowledge base: a folder of Markdown documents the assistant answers
    /// from (docs/SUPPORT.md). The desk is off without it.
    #[arg(long, env = "CHAT_SUPPORT_KB")]
    pub support_kb: Option<std::path::PathBuf>,

    /// Where the assistant's links to the documents point (the folder published on a site of
    /// yours, say).
    #[arg(long, env = "CHAT_SUPPORT_KB_URL", default_value = "/kb")]
    pub support_kb_url: String,

    /// The support team: usernames that answer customers, comma-separated (server
    /// administrators answer too).
    #[arg(
        long = "support-agent",
        env = "CHAT_SUPPORT_AGENTS",
        value_delimiter = ','
    )]
    pub support_agents: Vec<String>,

    /// The support assistant's (bot) account name.
    #[arg(long, env = "CHAT_SUPPORT_ASSISTANT", default_value = "assistant")]
    pub support_assistant: String,

    /// Office hours, e.g. "Mon-Fri 09:00-17:00 +01:00": outside them a customer handed to a
    /// person is told when one will answer.
    #[arg(long, env = "CHAT_SUPPORT_HOURS")]
    pub support_hours: Option<String>,

    /// Words whose conversations always go to a person, comma-separated.
    #[arg(
        long,
        env = "CHAT_SUPPORT_TOPICS",
        value_delimiter = ',',
        default_value = "refund,broken,replacement,cancel,damaged,chargeback"
    )]
    pub support_topics: Vec<String>,

    /// Answers in a row the assistant is not sure of before a person takes over (0: never).
    #[arg(long, env = "CHAT_SUPPORT_UNSURE_LIMIT", default_value_t = 2)]
    pub support_unsure_limit: u32,

    /// An OpenAI-compatible endpoint (`https://api.openai.com/v1`) that words the assistant's
    /// answers from the passages found; without one, the best passage answers.
    #[arg(long, env = "CHAT_SUPPORT_LLM_URL")]
    pub support_llm_url: Option<String>,

    #[arg(long, env = "CHAT_SUPPORT_LLM_KEY", hide_env_values = true)]
    pub support_llm_key: Option<String>,

    #[arg(long, env = "CHAT_SUPPORT_LLM_MODEL", default_value = "gpt-4o-mini")]
    pub support_llm_model: String,

    /// Let outgoing webhooks name private and loopback addresses and any port: for tests and
    /// closed networks only.
    #[arg(long, env = "CHAT_WEBHOOKS_ALLOW_PRIVATE")]
    pub webhooks_allow_private: bool,

    /// Milliseconds before a failed webhook delivery is tried again; each later retry waits 4
    /// times longer, up to an hour (tests shorten it).
    #[arg(
        long,
        env = "CHAT_WEBHOOK_RETRY_BASE_MS",
        default_value_t = 5000,
        hide = true
    )]
    pub webhook_retry_base_ms: u64,

    /// Milliseconds a user's last socket may be gone before others see them offline, so a
    /// reload or a brief reconnect does not flicker.
    #[arg(long, env = "CHAT_PRESENCE_GRACE_MS", default_value_t = 5000)]
    pub presence_grace_ms: u64,

    /// Seconds a client may take to send a complete request head, counted from when it
    /// connects and again while a kept-alive connection waits for its next request. Bounds
    /// slow and silent connections (slowloris).
    #[arg(long, env = "CHAT_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,

    /// Connections one client address (IPv6: one /64) may hold at once, WebSockets included;
    /// 0 for no cap. Not applied with --trust-forwarded-for (every connection then comes from
    /// the proxy, which must cap them itself).
    #[arg(long, env = "CHAT_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: usize,

    /// Connections the server holds at once; 0 for as many as the open-file limit allows
    /// (less a reserve for the database and the listener).
    #[arg(long, env = "CHAT_MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: usize,

    /// WebSockets one account may have open at once, across all its devices and tabs.
    #[arg(long, env = "CHAT_MAX_SOCKETS_PER_USER", default_value_t = 16)]
    pub max_sockets_per_user: usize,

    /// STUN server URLs handed to clients for WebRTC, comma-separated
    /// (e.g. `stun:turn.example.org:3478`). Without any, peers use their local addresses only.
    #[arg(long = "stun-url", env = "CHAT_STUN_URLS", value_delimiter = ',')]
    pub stun_urls: Vec<String>,

    /// TURN server URLs, comma-separated (e.g. `turn:turn.example.org:3478?transport=udp`).
    /// Needs --turn-secret.
    #[arg(long = "turn-url", env = "CHAT_TURN_URLS", value_delimiter = ',')]
    pub turn_urls: Vec<String>,

    /// The shared secret of the TURN server (coturn `static-auth-secret`); clients get
    /// credentials derived from it that expire after --turn-ttl-secs.
    #[arg(long, env = "CHAT_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,

    /// How long TURN credentials stay valid, in seconds.
    #[arg(long, env = "CHAT_TURN_TTL_SECS", default_value_t = 3600)]
    pub turn_ttl_secs: u64,

    /// Who may create an account: `open` (anyone), `invite-only` (sign-up needs a room's
    /// invite link), `closed` (server administrators create accounts).
    #[arg(long, env = "CHAT_REGISTRATION", value_enum, default_value_t = Registration::Open)]
    pub registration: Registration,

    /// Existing accounts to make server administrators, comma-separated, when the server starts
    /// (a name with no account is skipped with a warning, so nobody can sign up into it). The
    /// first account created on a server is one too.
    #[arg(long = "admin", env = "CHAT_ADMINS", value_delimiter = ',')]
    pub admins: Vec<String>,

    /// The WebAuthn relying-party id passkeys are bound to: the site's domain name (e.g.
    /// `example.org`; allowed origins on it or its subdomains may use them). Default: the host
    /// of the first allowed origin that is a domain name. Passkeys are off when there is none
    /// (WebAuthn does not work on IP addresses). Changing it orphans every passkey.
    #[arg(long, env = "CHAT_PASSKEY_RP_ID")]
    pub passkey_rp_id: Option<String>,
    /// OpenID Connect provider for single sign-on: its issuer URL exactly as it names itself (e.g.
    /// `https://accounts.example.org/realms/staff`); its settings are read from
    /// `<issuer>/.well-known/openid-configuration`. Log-in then offers a button for it; the
    /// provider must allow the redirect URI `<public URL>/api/sso/callback`.
    #[arg(long, env = "CHAT_OIDC_ISSUER", requires = "oidc_client_id")]
    pub oidc_issuer: Option<String>,

    /// This server's client id at the OpenID Connect provider.
    #[arg(long, env = "CHAT_OIDC_CLIENT_ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,

    /// This server's client secret at the OpenID Connect provider (none for a public client;
    /// PKCE protects the code either way).
    #[arg(long, env = "CHAT_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,

    /// The single sign-on button reads "Sign in with <this>".
    #[arg(long, env = "CHAT_OIDC_NAME", default_value = "single sign-on")]
    pub oidc_name: String,

    /// Where people reach this server (scheme://host[:port]), for URLs given to others: the
    /// single sign-on redirect URI is `<this>/api/sso/callback`. Default: the first allowed
    /// origin.
    #[arg(long, env = "CHAT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Who may list the server's users: `everyone` (the lobby, which every account joins,
    /// lists its members to all of them) or `admins` (only server administrators see the
    /// lobby's members; nobody else learns who has an account from it: its member list shows
    /// them only themselves, and presence and read receipts are not pushed through it).
    #[arg(long, env = "CHAT_USER_DIRECTORY", value_enum, default_value_t = UserDirectory::Everyone)]
    pub user_directory: UserDirectory,

    /// Log line format.
    #[arg(long, env = "CHAT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Several nodes: the NATS server (nats://host:port) that carries events between nodes
    /// sharing one PostgreSQL database. Without it, this process serves alone.
    #[arg(long, env = "CHAT_NATS_URL")]
    pub nats_url: Option<String>,

    /// The first token of every NATS subject this cluster uses, so several clusters can share
    /// one NATS server.
    #[arg(long, env = "CHAT_NATS_SUBJECT_PREFIX", default_value = "chat")]
    pub nats_subject_prefix: String,
}

/// A database URL. It may hold a password, so its `Debug` and [`DatabaseUrl::redacted`] show
/// it without one: the configuration can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL with its password (if any) replaced by `***`; the scheme alone if it does not
    /// parse (whatever follows might be a secret).
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut url) => {
                if url.password().is_some() {
                    let _ = url.set_password(Some("***"));
                }
                url.into()
            }
            Err(_) => {
                let scheme = self.0.split_once("://").map_or("", |(scheme, _)| scheme);
                format!("{scheme}://(unparsable)")
            }
        }
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self(value.to_owned()))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Registration {
    Open,
    InviteOnly,
    Closed,
}

impl From<Registration> for shared::api::RegistrationMode {
    fn from(value: Registration) -> Self {
        match value {
            Registration::Open => Self::Open,
            Registration::InviteOnly => Self::InviteOnly,
            Registration::Closed => Self::Closed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UserDirectory {
    Everyone,
    Admins,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn parse_whole(value: &str, unit: &str, seconds: u64) -> Result<Duration, String> {
    match value.parse::<u64>() {
        Ok(0) => Err(format!("must be at least 1 {unit}")),
        Ok(n) => Ok(Duration::from_secs(n.saturating_mul(seconds))),
        Err(e) => Err(format!("a whole number of {unit}s: {e}")),
    }
}

fn parse_days(value: &str) -> Result<Duration, String> {
    parse_whole(value, "day", 24 * 3600)
}

fn parse_minutes(value: &str) -> Result<Duration, String> {
    parse_whole(value, "minute", 60)
}

impl Config {
    /// Settings for tests and embedding: loopback on a free port, SQLite in `data_dir`,
    /// everything else default.
    pub fn for_data_dir(data_dir: PathBuf) -> Self {
        let mut config = Self::parse_from(["signaling"]);
        config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        config.data_dir = data_dir;
        // The data directory's SQLite, even where CHAT_DATABASE_URL is set.
        config.database_url = None;
        config
    }

    /// The address people reach the server at, once the listening port is known: --public-url,
    /// or the first allowed origin.
    pub fn public_url(&self, origins: &[String]) -> String {
        self.public_url
            .as_deref()
            .or(origins.first().map(String::as_str))
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned()
    }

    /// The allowlist actually enforced, once the listening port is known.
    pub fn effective_origins(&self, local: SocketAddr) -> Vec<String> {
        if !self.allowed_origins.is_empty() {
            return self
                .allowed_origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect();
        }
        let port = local.port();
        vec![
            format!("http://127.0.0.1:{port}"),
            format!("http://localhost:{port}"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_origins_follow_the_bound_port() {
        let config = Config::for_data_dir("x".into());
        let origins = config.effective_origins("127.0.0.1:4321".parse().unwrap());
        assert_eq!(origins, ["http://127.0.0.1:4321", "http://localhost:4321"]);
    }

    #[test]
    fn durations_are_given_in_whole_units() {
        let config = Config::for_data_dir("x".into());
        assert_eq!(config.session_idle, Duration::from_secs(14 * 24 * 3600));
        assert_eq!(config.login_failure_window, Duration::from_secs(15 * 60));
        let config = Config::parse_from([
            "signaling",
            "--session-idle-days",
            "2",
            "--login-failure-window-minutes",
            "1",
        ]);
        assert_eq!(config.session_idle, Duration::from_secs(2 * 24 * 3600));
        assert_eq!(config.login_failure_window, Duration::from_secs(60));
        assert!(Config::try_parse_from(["signaling", "--session-idle-days", "0"]).is_err());
    }

    #[test]
    fn single_sign_on_needs_an_issuer_and_a_client_id_together() {
        let config = Config::for_data_dir("x".into());
        assert_eq!(config.oidc_issuer, None);
        assert_eq!(config.oidc_name, "single sign-on");
        assert!(Config::try_parse_from(["signaling", "--oidc-issuer", "https://idp"]).is_err());
        assert!(Config::try_parse_from(["signaling", "--oidc-client-id", "chat"]).is_err());
        let config = Config::parse_from([
            "signaling",
            "--oidc-issuer",
            "https://idp",
            "--oidc-client-id",
            "chat",
        ]);
        let origins = ["https://chat.example.org".to_owned()];
        assert_eq!(config.public_url(&origins), "https://chat.example.org");
        let config = Config::parse_from(["signaling", "--public-url", "https://x.example/"]);
        assert_eq!(config.public_url(&origins), "https://x.example");
    }

    #[test]
    fn the_database_url_is_read_and_never_shown_with_its_password() {
        assert_eq!(Config::for_data_dir("x".into()).database_url, None);
        let config = Config::parse_from([
            "signaling",
            "--database-url",
            "postgres://chat:s3cret@db.example:5432/chat",
        ]);
        let url = config.database_url.as_ref().unwrap();
        assert_eq!(url.as_str(), "postgres://chat:s3cret@db.example:5432/chat");
        assert_eq!(url.redacted(), "postgres://chat:***@db.example:5432/chat");
        assert!(!format!("{config:?}").contains("s3cret"));
        let odd = "postgres://chat:s3cret@[bad"
            .parse::<DatabaseUrl>()
            .unwrap();
        assert_eq!(odd.redacted(), "postgres://(unparsable)");
    }

    #[test]
    fn explicit_origins_are_normalised() {
        let config = Config::parse_from([
            "signaling",
            "--allowed-origin",
            "https://chat.example.org/, https://b.example",
        ]);
        let origins = config.effective_origins("127.0.0.1:1".parse().unwrap());
        assert_eq!(origins, ["https://chat.example.org", "https://b.example"]);
    }
}
