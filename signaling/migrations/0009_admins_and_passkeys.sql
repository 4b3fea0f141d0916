-- Server administrators: the first account of an installation, and any named by --admin
-- (that list is read at run time and not stored).
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
UPDATE users SET admin = 1 WHERE id = (SELECT MIN(id) FROM users);

-- Passkeys (WebAuthn credentials). `passkey` is webauthn-rs's `Passkey` as JSON: the public key,
-- and the signature counter it updates on each use. A credential belongs to one account.
CREATE TABLE passkeys (
    credential_id BLOB    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    passkey       TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE INDEX passkeys_by_user ON passkeys(user_id);

-- A registration or log-in in progress: the challenge state webauthn-rs must find again when
-- the browser answers, on whichever node it reaches. Used once; expires after a few minutes.
-- `id` is the SHA-256 of the random handle the browser holds.
CREATE TABLE webauthn_ceremonies (
    id          BLOB    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
