-- What a person chose to be called, shown beside the username ("" when not set). Not unique:
-- the username stays the identity.
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
