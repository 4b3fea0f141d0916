-- Server administration (signaling/src/admin/): deactivated accounts, reports of messages,
-- the audit log, settings an administrator changes at run time, retention, and the counters
-- the insight page reads (so a view never scans the messages).

-- Set while an administrator keeps the account out: no log-in, no session.
ALTER TABLE users ADD COLUMN deactivated_at INTEGER;
-- Until when flood detection keeps the account from posting anywhere.
ALTER TABLE users ADD COLUMN silenced_until INTEGER NOT NULL DEFAULT 0;
-- Messages older than this many days are deleted (NULL: the server's setting).
ALTER TABLE rooms ADD COLUMN retention_days INTEGER;
-- Every event up to this seq was deleted by retention: history starts after it, and clients
-- drop their copies up to it.
ALTER TABLE rooms ADD COLUMN history_floor INTEGER NOT NULL DEFAULT 0;
-- Deleted by an administrator: no members, no events; the row stays so its id is never reused.
ALTER TABLE rooms ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;

-- One JSON document per key ('server': retention and abuse controls), read by every node.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id     TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    -- The message as it was reported: it may be edited or deleted since.
    sender_id   INTEGER NOT NULL,
    sender      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    reporter_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    -- open, deleted, muted, removed, banned, dismissed
    status      TEXT    NOT NULL DEFAULT 'open',
    handled_by  TEXT,
    handled_at  INTEGER,
    UNIQUE (room_id, seq, reporter_id)
);
CREATE INDEX reports_by_status ON reports (status, id);
CREATE INDEX reports_by_reporter ON reports (reporter_id, id);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    target   TEXT    NOT NULL,
    detail   TEXT    NOT NULL DEFAULT ''
);

-- Messages stored per hour (ms of the hour's start) and room, added to by every node.
CREATE TABLE activity_hours (
    hour     INTEGER NOT NULL,
    room_id  TEXT    NOT NULL,
    messages INTEGER NOT NULL,
    PRIMARY KEY (hour, room_id)
);
-- Who used the chat on a day (ms of the day's start, UTC).
CREATE TABLE active_days (
    day     INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (day, user_id)
);
-- Delivery latencies per hour as a histogram: bucket b counts latencies below 2^b ms.
CREATE TABLE latency_hours (
    hour   INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (hour, bucket)
);
