-- "Talk to a person": when set, AI replies are stopped for the conversation.
ALTER TABLE conversations ADD COLUMN ai_stopped_at TEXT;

-- A hand-off cancels the replies still pending. SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt with the new status.
CREATE TABLE ai_requests_new (
    id         TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    agent_id   TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    channel_id TEXT REFERENCES channels(id) ON DELETE SET NULL,
    status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed', 'cancelled')),
    created_at TEXT NOT NULL
);
INSERT INTO ai_requests_new (id, message_id, agent_id, channel_id, status, created_at)
    SELECT id, message_id, agent_id, channel_id, status, created_at FROM ai_requests;
DROP TABLE ai_requests;
ALTER TABLE ai_requests_new RENAME TO ai_requests;
CREATE INDEX ai_requests_pending ON ai_requests(status) WHERE status = 'pending';
