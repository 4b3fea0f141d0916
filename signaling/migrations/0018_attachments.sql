-- Files left on the server (signaling/src/media). A row is an upload until its last byte
-- arrives; then `hash` names its content in the blob store (and `thumb` an image's thumbnail)
-- and a message of its owner may carry it (`events.attachment_id`). Rows no message carries
-- for a day, and rows whose message was deleted (`released`), are collected with their blobs
-- when no other row names them.
CREATE TABLE attachments (
    id         TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    room_id    TEXT    NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    -- What the browser declared until the upload completes; then the type it is served as.
    mime       TEXT    NOT NULL,
    -- Hex SHA-256 of the content once complete, else NULL.
    hash       TEXT,
    width      INTEGER,
    height     INTEGER,
    thumb      TEXT,
    created_at INTEGER NOT NULL,
    released   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX attachments_user ON attachments (user_id);
CREATE INDEX attachments_hash ON attachments (hash);
CREATE INDEX attachments_thumb ON attachments (thumb);
CREATE INDEX attachments_age ON attachments (created_at);

ALTER TABLE events ADD COLUMN attachment_id TEXT;
CREATE INDEX events_attachment ON events (attachment_id) WHERE attachment_id IS NOT NULL;
