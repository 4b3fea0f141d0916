-- Two-factor authentication with TOTP (RFC 6238). A secret is stored when set-up starts and
-- counts only once `enabled` (the person proved their authenticator has it). `last_step` is the
-- newest 30-second step a code was accepted for: a code works once.
CREATE TABLE two_factor (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret     BLOB    NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 0,
    last_step  INTEGER NOT NULL DEFAULT 0
);

-- One-time recovery codes, shown once at set-up; only their SHA-256 is kept (they carry 50
-- random bits each, so a fast hash is enough).
CREATE TABLE recovery_codes (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  BLOB    NOT NULL,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;
