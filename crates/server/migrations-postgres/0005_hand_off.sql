-- "Talk to a person": when set, AI replies are stopped for the conversation.
ALTER TABLE conversations ADD COLUMN ai_stopped_at TEXT COLLATE "C";

-- A hand-off cancels the replies still pending.
ALTER TABLE ai_requests DROP CONSTRAINT ai_requests_status_check;
ALTER TABLE ai_requests ADD CONSTRAINT ai_requests_status_check
    CHECK (status IN ('pending', 'done', 'failed', 'cancelled'));
