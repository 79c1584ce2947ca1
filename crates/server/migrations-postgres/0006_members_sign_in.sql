-- The team inbox: members sign in with an email and a password, hold
-- server-side sessions, and keep a read mark per conversation.

-- Emails are stored lower-cased; one per workspace. A member's role is what
-- their session may do, as an API key's role is for the key.
ALTER TABLE members ADD COLUMN email TEXT COLLATE "C";
ALTER TABLE members ADD COLUMN password_hash TEXT COLLATE "C";
ALTER TABLE members ADD COLUMN role TEXT COLLATE "C" NOT NULL DEFAULT 'engage' CHECK (role IN ('read', 'engage', 'full'));
CREATE UNIQUE INDEX members_by_email ON members(workspace_id, email) WHERE email IS NOT NULL;

-- Only the SHA-256 of a session's token is stored. last_seen_ms (Unix
-- milliseconds) slides the idle expiry forward.
CREATE TABLE member_sessions (
    token_hash   BYTEA PRIMARY KEY,
    member_id    TEXT COLLATE "C" NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    created_at   TEXT COLLATE "C" NOT NULL,
    last_seen_ms BIGINT NOT NULL
);
CREATE INDEX member_sessions_by_member ON member_sessions(member_id);

-- A member has read a conversation up to the message of this seq.
CREATE TABLE read_marks (
    member_id       TEXT COLLATE "C" NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    message_seq     BIGINT NOT NULL,
    PRIMARY KEY (member_id, conversation_id)
);
