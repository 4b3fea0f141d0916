-- Bans: a banned user is not a member and cannot come back, by a link or by being added, until
-- an admin lifts the ban.
CREATE TABLE bans (
    room_id  TEXT    NOT NULL REFERENCES rooms(id),
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    by_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at       INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;

-- Whether the member chose to be here (created the room, joined by a link, opened the direct
-- conversation) or someone else put them here. Only chosen rooms count against the member's
-- own room quota, so nobody can use up someone else's by adding them to rooms.
ALTER TABLE members ADD COLUMN chosen INTEGER NOT NULL DEFAULT 1;

-- Links are looked up by room to revoke them, and by creator when the creator leaves.
CREATE INDEX invites_by_room ON invites(room_id, created_by);
