-- When each session was last used, so that a session left unused for the idle limit
-- (CHAT_SESSION_IDLE_DAYS) stops working before its absolute expiry. Recorded at most about once
-- a minute per session, not on every request.
ALTER TABLE sessions ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;

-- Sessions that exist at the upgrade start their idle time now: nobody is logged out by it.
UPDATE sessions SET last_used_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000;
