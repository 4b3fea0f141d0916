-- Whether a person's pushes may carry the message's text (off: the sender and the room only).
ALTER TABLE users ADD COLUMN push_text SMALLINT NOT NULL DEFAULT 0;
