-- Each room's member count, kept by triggers. Every connection's welcome lists the member count
-- of each of its rooms, and counting the lobby's rows each time cost O(members) per connect,
-- O(members²) for everyone to connect. Triggers keep it true whichever statement changes
-- `members` (an ignored `ON CONFLICT DO NOTHING` insert fires nothing; the cascade from a
-- deleted user fires the delete trigger).
ALTER TABLE rooms ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;

UPDATE rooms SET member_count = (SELECT COUNT(*) FROM members WHERE members.room_id = rooms.id);

CREATE TRIGGER member_count_up AFTER INSERT ON members BEGIN
    UPDATE rooms SET member_count = member_count + 1 WHERE id = NEW.room_id;
END;

CREATE TRIGGER member_count_down AFTER DELETE ON members BEGIN
    UPDATE rooms SET member_count = member_count - 1 WHERE id = OLD.room_id;
END;
