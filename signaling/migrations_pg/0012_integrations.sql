-- Bots and outgoing webhooks (signaling/src/bots/, signaling/src/webhooks/).

-- A bot account: created by an administrator, never logs in with a password, acts through
-- API tokens, and is a member only of the rooms an administrator puts it in.
ALTER TABLE users ADD COLUMN bot BIGINT  NOT NULL DEFAULT 0;

CREATE TABLE bot_tokens (
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_hash   BYTEA   PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX bot_tokens_by_user ON bot_tokens (user_id);

-- An outgoing webhook: every event of the room, in order, POSTed to `url`. The room's own
-- timeline is the queue: `delivered_through` is the last seq handed over (or given up on), so
-- nothing is written per event and a restart resumes where delivery stopped.
CREATE TABLE webhooks (
    id                TEXT    PRIMARY KEY,
    room_id           TEXT    NOT NULL REFERENCES rooms(id),
    url               TEXT    NOT NULL,
    -- The signing key, `whsec_` and base64 (Standard Webhooks); it must be read to sign.
    secret            TEXT    NOT NULL,
    created_by        TEXT    NOT NULL,
    created_at        BIGINT  NOT NULL,
    delivered_through BIGINT  NOT NULL,
    -- Failed attempts at the event after `delivered_through`, and when to try it again.
    attempts          BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT  NOT NULL DEFAULT 0,
    -- The node delivering now, and until when it may: one node at a time per webhook.
    lease             TEXT    NOT NULL DEFAULT '',
    leased_until      BIGINT  NOT NULL DEFAULT 0,
    last_status       TEXT    NOT NULL DEFAULT '',
    delivered         BIGINT  NOT NULL DEFAULT 0,
    failed            BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX webhooks_by_room ON webhooks (room_id);

-- Slash commands a bot offers in its rooms: the composer lists them after "/", and running one
-- posts it as a message the bot reads.
CREATE TABLE bot_commands (
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    usage       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, name)
);
