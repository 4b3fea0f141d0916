-- Threads: the replies to a message are found by `reply_to`, not by scanning the room.
CREATE INDEX events_replies ON events (room_id, reply_to) WHERE reply_to IS NOT NULL;
