-- What the devices page shows for each session: the browser and system it was started from (a
-- short label such as "Firefox on Linux", not the whole User-Agent) and the client address.
ALTER TABLE sessions ADD COLUMN device TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN address TEXT NOT NULL DEFAULT '';
