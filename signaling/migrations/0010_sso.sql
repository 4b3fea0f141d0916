-- Single sign-on with OpenID Connect (see src/sso.rs). Number 0009 belongs to another change.

-- Log-ins sent to the provider and not back yet. Kept here rather than in one process's memory
-- so that the callback may reach any server node. A row is taken (deleted) by the first
-- callback that names its `state`, so a callback works once; rows older than ten minutes are
-- ignored and swept when new ones are added.
CREATE TABLE sso_logins (
    -- The OAuth `state`: 256 random bits, also in the provider's redirect URL.
    state         TEXT    PRIMARY KEY,
    -- SHA-256 of the random value in the browser's short-lived `chat_sso` cookie: the callback
    -- must come from the browser that started the log-in.
    browser_hash  BLOB    NOT NULL,
    -- The PKCE code verifier (RFC 7636) and the OpenID nonce: secrets the token request and
    -- the ID token check need.
    pkce_verifier TEXT    NOT NULL,
    nonce         TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sso_logins_by_age ON sso_logins(created_at);

-- Accounts linked to a provider's identity. `subject` is the ID token's `sub`, unique and
-- never reassigned within its `issuer` (OpenID Connect Core 5.7); names and e-mail addresses
-- can change and are not used to find the account again.
CREATE TABLE sso_identities (
    issuer     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
) WITHOUT ROWID;

CREATE INDEX sso_identities_by_user ON sso_identities(user_id);
