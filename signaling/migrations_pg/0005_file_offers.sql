-- File offers (`files` signals) kept until the receiver answers, the sender withdraws them or
-- they expire, so a receiver who was not connected gets them when they come back.
CREATE TABLE file_offers (
    to_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    from_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session    TEXT   NOT NULL,
    room_id    TEXT   NOT NULL REFERENCES rooms(id),
    -- The offer's files, as the protocol's JSON array.
    files      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (to_id, from_id, session)
);
CREATE INDEX file_offers_from ON file_offers (from_id, created_at);
