-- Rooms, direct conversations, memberships, and a per-room timeline of events with gap-free
-- sequence numbers. Replaces the single global `messages` table of 0001.

CREATE TABLE rooms (
    -- 'lobby' or 16 hex digits of randomness.
    id          TEXT    PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('group', 'direct')),
    name        TEXT    NOT NULL DEFAULT '',
    topic       TEXT    NOT NULL DEFAULT '',
    -- Direct conversations only: '<lower user id>:<higher user id>', so a pair has one.
    direct_key  TEXT    UNIQUE,
    -- The seq of the newest event; the next event takes last_seq + 1 in the same transaction,
    -- which is what makes the numbering gap-free.
    last_seq    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE members (
    room_id        TEXT    NOT NULL REFERENCES rooms(id),
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role           TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    muted          INTEGER NOT NULL DEFAULT 0,
    joined_at      INTEGER NOT NULL,
    -- Receipts: never decrease.
    delivered_seq  INTEGER NOT NULL DEFAULT 0,
    read_seq       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;

CREATE INDEX members_by_user ON members(user_id, room_id);

CREATE TABLE events (
    room_id     TEXT    NOT NULL REFERENCES rooms(id),
    seq         INTEGER NOT NULL,
    sender_id   INTEGER NOT NULL REFERENCES users(id),
    -- The sender's idempotency key; NULL for events the server made on its own.
    client_id   TEXT,
    kind        TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    -- message: current text ('' once deleted); edit: the new text; created/renamed: the name;
    -- topic_changed: the topic; role_changed: the role.
    body        TEXT,
    reply_to    INTEGER,
    -- edit, delete, reaction: the seq of the message they apply to.
    target      INTEGER,
    emoji       TEXT,
    -- reaction: 1 added, 0 removed; muted: 1 muted, 0 unmuted.
    flag        INTEGER,
    -- added, removed, role_changed, muted: the user concerned.
    subject_id  INTEGER REFERENCES users(id),
    -- message: mentioned usernames separated by spaces.
    mentions    TEXT,
    edited_at   INTEGER,
    deleted     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;

-- The idempotency key of ClientMsgId: a retried request finds the first event.
CREATE UNIQUE INDEX events_by_client_id ON events(sender_id, client_id) WHERE client_id IS NOT NULL;

CREATE TABLE reactions (
    room_id  TEXT    NOT NULL,
    seq      INTEGER NOT NULL,
    emoji    TEXT    NOT NULL,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at       INTEGER NOT NULL,
    PRIMARY KEY (room_id, seq, emoji, user_id),
    FOREIGN KEY (room_id, seq) REFERENCES events(room_id, seq)
) WITHOUT ROWID;

CREATE TABLE blocks (
    blocker_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    blocked_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
) WITHOUT ROWID;

CREATE TABLE invites (
    -- SHA-256 of the token; the token itself is never stored.
    token_hash  BLOB    PRIMARY KEY,
    room_id     TEXT    NOT NULL REFERENCES rooms(id),
    created_by  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;

ALTER TABLE users ADD COLUMN last_seen_at INTEGER;

-- Carry the lobby of 0001 over: every account is a member, every message keeps its order.
INSERT INTO rooms (id, kind, name, topic, created_at)
VALUES ('lobby', 'group', 'Lobby', 'Everyone who has an account is here.', 0);

-- The first account runs the lobby, as it will for new installations.
INSERT INTO members (room_id, user_id, role, joined_at)
SELECT 'lobby', id, CASE WHEN id = (SELECT MIN(id) FROM users) THEN 'owner' ELSE 'member' END,
       created_at
FROM users;

INSERT INTO events (room_id, seq, sender_id, client_id, kind, at, body)
SELECT 'lobby', ROW_NUMBER() OVER (ORDER BY id), sender_id, client_id, 'message', sent_at, body
FROM messages WHERE room = 'lobby';

UPDATE rooms SET last_seq = (SELECT COUNT(*) FROM events WHERE room_id = 'lobby')
WHERE id = 'lobby';

DROP TABLE messages;
