-- Guests of the support desk (signaling/src/support/guests.rs): a customer without an account
-- gives a name and gets a short session that reaches nothing but their own support
-- conversation. A guest is not a person with an account: it never counts as the first account,
-- is in no lobby, and nobody can add it to a room.
ALTER TABLE users ADD COLUMN guest INTEGER NOT NULL DEFAULT 0;
