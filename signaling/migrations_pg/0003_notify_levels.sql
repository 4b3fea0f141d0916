-- Which messages of a room notify a member: 'all', 'mentions' or 'none' (their own choice).
ALTER TABLE members ADD COLUMN notify TEXT NOT NULL DEFAULT 'all';
