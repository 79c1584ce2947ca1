-- How an agent answers: kind 'faq' (settings {"knowledge": Markdown}) or
-- 'openai' (settings {"baseUrl", "model", "apiKeyEnv", "systemPrompt"?}; the
-- key itself is read from that environment variable, never stored). Agents
-- made before kinds existed are faq agents with nothing to answer from: they
-- hand off to a person.
ALTER TABLE agents ADD COLUMN kind TEXT COLLATE "C" NOT NULL DEFAULT 'faq' CHECK (kind IN ('faq', 'openai'));
ALTER TABLE agents ADD COLUMN settings TEXT COLLATE "C" NOT NULL DEFAULT '{"knowledge":""}';
