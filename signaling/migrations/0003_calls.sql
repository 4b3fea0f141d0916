-- Calls in the timeline: call_started (body = call id, flag = video) and call_ended (body = call
-- id, flag = missed, amount = duration in milliseconds).
ALTER TABLE events ADD COLUMN amount INTEGER;
