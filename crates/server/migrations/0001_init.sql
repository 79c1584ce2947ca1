-- Connect360's store. Timestamps are RFC 3339 UTC text with milliseconds, so
-- they sort as text. JSON columns hold serde_json text.

CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE members (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    image        TEXT,
    is_default   INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX members_one_default ON members(workspace_id) WHERE is_default = 1;

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    member_id  TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('read', 'engage', 'full')),
    key_hash   BLOB NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE customers (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    external_id  TEXT,
    name         TEXT,
    email        TEXT,
    phone        TEXT,
    image        TEXT,
    metadata     TEXT NOT NULL DEFAULT '{}',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (workspace_id, external_id)
);

CREATE TABLE channels (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('website')),
    identifier   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (workspace_id, kind, identifier)
);

CREATE TABLE conversations (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    parent_id    TEXT REFERENCES conversations(id) ON DELETE CASCADE,
    customer_id  TEXT REFERENCES customers(id) ON DELETE SET NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('DIRECT', 'GROUP')),
    name         TEXT,
    metadata     TEXT NOT NULL DEFAULT '{}',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX conversations_by_customer ON conversations(workspace_id, customer_id, created_at);
CREATE INDEX conversations_by_parent ON conversations(parent_id);

CREATE TABLE conversation_members (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    member_id       TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, member_id)
);

CREATE TABLE conversation_channels (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    channel_id      TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, channel_id)
);

CREATE TABLE templates (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    content      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE agents (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    image        TEXT,
    created_at   TEXT NOT NULL
);

-- seq orders messages: keyset pagination walks it, so a page boundary never
-- moves while new messages arrive.
CREATE TABLE messages (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    sender_type     TEXT NOT NULL CHECK (sender_type IN ('workspace', 'customer', 'ai')),
    sender_id       TEXT NOT NULL,
    parent_id       TEXT,
    content         TEXT NOT NULL,
    flags           TEXT NOT NULL DEFAULT '[]',
    template_id     TEXT,
    channel_id      TEXT REFERENCES channels(id) ON DELETE SET NULL,
    idempotency_key TEXT,
    request_hash    BLOB,
    created_at      TEXT NOT NULL
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, seq);
CREATE UNIQUE INDEX messages_idempotency ON messages(conversation_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Uploaded files; a file is used by one message at most.
CREATE TABLE files (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    storage_key      TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    media_type       TEXT NOT NULL,
    size             INTEGER NOT NULL,
    uploader_type    TEXT NOT NULL CHECK (uploader_type IN ('workspace', 'customer')),
    uploader_id      TEXT NOT NULL,
    message_id       TEXT REFERENCES messages(id) ON DELETE SET NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX files_by_message ON files(message_id);

-- AI replies asked for by send; the agent runner picks up pending ones.
CREATE TABLE ai_requests (
    id         TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    agent_id   TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    channel_id TEXT REFERENCES channels(id) ON DELETE SET NULL,
    status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    created_at TEXT NOT NULL
);
CREATE INDEX ai_requests_pending ON ai_requests(status) WHERE status = 'pending';
