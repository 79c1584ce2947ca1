-- Connect360's store on PostgreSQL, in step with ../migrations (SQLite):
-- the same tables, columns and constraints, version for version, so that one
-- text of every query serves both. Timestamps are RFC 3339 UTC text with
-- milliseconds, so they sort as text; JSON columns hold serde_json text (the
-- keys keep their order, as jsonb would not). Text compares by bytes
-- (COLLATE "C"), as SQLite's does, so ids and times order the same.

CREATE TABLE workspaces (
    id         TEXT COLLATE "C" PRIMARY KEY,
    slug       TEXT COLLATE "C" NOT NULL UNIQUE,
    name       TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE members (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT COLLATE "C" NOT NULL,
    image        TEXT COLLATE "C",
    is_default   BIGINT NOT NULL DEFAULT 0,
    created_at   TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX members_one_default ON members(workspace_id) WHERE is_default = 1;

CREATE TABLE api_keys (
    id         TEXT COLLATE "C" PRIMARY KEY,
    member_id  TEXT COLLATE "C" NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    name       TEXT COLLATE "C" NOT NULL,
    role       TEXT COLLATE "C" NOT NULL CHECK (role IN ('read', 'engage', 'full')),
    key_hash   BYTEA NOT NULL UNIQUE,
    created_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE customers (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    external_id  TEXT COLLATE "C",
    name         TEXT COLLATE "C",
    email        TEXT COLLATE "C",
    phone        TEXT COLLATE "C",
    image        TEXT COLLATE "C",
    metadata     TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    created_at   TEXT COLLATE "C" NOT NULL,
    updated_at   TEXT COLLATE "C" NOT NULL,
    UNIQUE (workspace_id, external_id)
);

CREATE TABLE channels (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind         TEXT COLLATE "C" NOT NULL CHECK (kind IN ('website')),
    identifier   TEXT COLLATE "C" NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    UNIQUE (workspace_id, kind, identifier)
);

CREATE TABLE conversations (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    parent_id    TEXT COLLATE "C" REFERENCES conversations(id) ON DELETE CASCADE,
    customer_id  TEXT COLLATE "C" REFERENCES customers(id) ON DELETE SET NULL,
    kind         TEXT COLLATE "C" NOT NULL CHECK (kind IN ('DIRECT', 'GROUP')),
    name         TEXT COLLATE "C",
    metadata     TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    created_at   TEXT COLLATE "C" NOT NULL,
    updated_at   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX conversations_by_customer ON conversations(workspace_id, customer_id, created_at);
CREATE INDEX conversations_by_parent ON conversations(parent_id);

CREATE TABLE conversation_members (
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    member_id       TEXT COLLATE "C" NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, member_id)
);

CREATE TABLE conversation_channels (
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    channel_id      TEXT COLLATE "C" NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, channel_id)
);

CREATE TABLE templates (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT COLLATE "C" NOT NULL,
    content      TEXT COLLATE "C" NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE agents (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT COLLATE "C" NOT NULL,
    image        TEXT COLLATE "C",
    created_at   TEXT COLLATE "C" NOT NULL
);

-- seq orders messages: keyset pagination walks it, so a page boundary never
-- moves while new messages arrive.
CREATE TABLE messages (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT COLLATE "C" NOT NULL UNIQUE,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    sender_type     TEXT COLLATE "C" NOT NULL CHECK (sender_type IN ('workspace', 'customer', 'ai')),
    sender_id       TEXT COLLATE "C" NOT NULL,
    parent_id       TEXT COLLATE "C",
    content         TEXT COLLATE "C" NOT NULL,
    flags           TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    template_id     TEXT COLLATE "C",
    channel_id      TEXT COLLATE "C" REFERENCES channels(id) ON DELETE SET NULL,
    idempotency_key TEXT COLLATE "C",
    request_hash    BYTEA,
    created_at      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, seq);
CREATE UNIQUE INDEX messages_idempotency ON messages(conversation_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Uploaded files; a file is used by one message at most.
CREATE TABLE files (
    id               TEXT COLLATE "C" PRIMARY KEY,
    workspace_id     TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    storage_key      TEXT COLLATE "C" NOT NULL UNIQUE,
    name             TEXT COLLATE "C" NOT NULL,
    media_type       TEXT COLLATE "C" NOT NULL,
    size             BIGINT NOT NULL,
    uploader_type    TEXT COLLATE "C" NOT NULL CHECK (uploader_type IN ('workspace', 'customer')),
    uploader_id      TEXT COLLATE "C" NOT NULL,
    message_id       TEXT COLLATE "C" REFERENCES messages(id) ON DELETE SET NULL,
    created_at       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX files_by_message ON files(message_id);

-- AI replies asked for by send; the agent runner picks up pending ones.
CREATE TABLE ai_requests (
    id         TEXT COLLATE "C" PRIMARY KEY,
    message_id TEXT COLLATE "C" NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    agent_id   TEXT COLLATE "C" NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    channel_id TEXT COLLATE "C" REFERENCES channels(id) ON DELETE SET NULL,
    status     TEXT COLLATE "C" NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX ai_requests_pending ON ai_requests(status) WHERE status = 'pending';
