-- Accounts, sessions and messages. Times are milliseconds since the Unix epoch.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    -- Unique regardless of case, stored as chosen.
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    -- PHC string: $argon2id$v=19$m=19456,t=2,p=1$salt$hash
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    -- SHA-256 of the token; the token itself is never stored.
    token_hash  BLOB    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE messages (
    -- Strictly increasing: AUTOINCREMENT forbids reusing the id of a deleted last row.
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    room       TEXT    NOT NULL,
    sender_id  INTEGER NOT NULL REFERENCES users(id),
    client_id  TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    sent_at    INTEGER NOT NULL,
    -- The idempotency key of ClientMsgId: a retried send finds the first copy.
    UNIQUE (sender_id, room, client_id)
);

CREATE INDEX messages_by_room ON messages(room, id);
