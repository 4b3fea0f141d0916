-- Keys the server makes for itself on first start (the VAPID key pair of Web Push), kept in the
-- database so that every node signs with the same one.
CREATE TABLE server_keys (
    name       TEXT    PRIMARY KEY,
    value      BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Web Push subscriptions: one browser of one session each; they end with the session.
CREATE TABLE push_subscriptions (
    endpoint     TEXT    PRIMARY KEY,
    session_hash BLOB    NOT NULL REFERENCES sessions(token_hash) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The browser's P-256 public key and auth secret (base64url, as the Push API gives them).
    p256dh       TEXT    NOT NULL,
    auth         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX push_subscriptions_by_user ON push_subscriptions(user_id);
CREATE INDEX push_subscriptions_by_session ON push_subscriptions(session_hash);

-- Pushes to send: a row per message or call, written in the transaction that stores it, so a
-- crash loses none; a node claims rows for a while (claimed_until) and deletes them once sent.
CREATE TABLE push_outbox (
    room_id       TEXT    NOT NULL,
    seq           INTEGER NOT NULL,
    claimed_until INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;
