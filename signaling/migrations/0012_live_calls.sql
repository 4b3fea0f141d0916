-- Calls going on, with the sockets in each, so a call started on one server process can be
-- joined and left from another. A socket is (node, conn): the process that holds it (a random
-- id per start) and its number there. Rows live only while the call does.
CREATE TABLE live_calls (
    room_id     TEXT    NOT NULL REFERENCES rooms(id),
    call_id     TEXT    NOT NULL,
    video       INTEGER NOT NULL,
    caller_id   INTEGER NOT NULL REFERENCES users(id),
    started_at  INTEGER NOT NULL,
    -- Someone besides the caller joined at some point.
    answered    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, call_id)
) WITHOUT ROWID;

CREATE TABLE call_sockets (
    room_id  TEXT    NOT NULL,
    call_id  TEXT    NOT NULL,
    node     INTEGER NOT NULL,
    conn     INTEGER NOT NULL,
    user_id  INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (room_id, call_id, node, conn),
    FOREIGN KEY (room_id, call_id) REFERENCES live_calls(room_id, call_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX call_sockets_by_socket ON call_sockets(node, conn);
