-- A file is attached once, ever: used_at stays set even when its message is
-- deleted, so the file cannot be attached again. Files with no message are
-- removed a while after upload; the partial index finds them.
ALTER TABLE files ADD COLUMN used_at TEXT COLLATE "C";
UPDATE files SET used_at = created_at WHERE message_id IS NOT NULL;
CREATE INDEX files_unused ON files(created_at) WHERE message_id IS NULL;
