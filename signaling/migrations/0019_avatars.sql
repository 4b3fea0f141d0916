-- Pictures of accounts and rooms: the hex SHA-256 of a square image in the blob store (see
-- signaling/src/media/avatars.rs), or NULL for the drawn initial.
ALTER TABLE users ADD COLUMN avatar TEXT;
ALTER TABLE rooms ADD COLUMN avatar TEXT;
