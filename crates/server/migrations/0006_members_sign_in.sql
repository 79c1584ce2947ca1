-- The team inbox: members sign in with an email and a password, hold
-- server-side sessions, and keep a read mark per conversation.

-- Emails are stored lower-cased; one per workspace. A member's role is what
-- their session may do, as an API key's role is for the key.
ALTER TABLE members ADD COLUMN email TEXT;
ALTER TABLE members ADD COLUMN password_hash TEXT;
ALTER TABLE members ADD COLUMN role TEXT NOT NULL DEFAULT 'engage' CHECK (role IN ('read', 'engage', 'full'));
CREATE UNIQUE INDEX members_by_email ON members(workspace_id, email) WHERE email IS NOT NULL;

-- Only the SHA-256 of a session's token is stored. last_seen_ms (Unix
-- milliseconds) slides the idle expiry forward.
CREATE TABLE member_sessions (
    token_hash   BLOB PRIMARY KEY,
    member_id    TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    last_seen_ms INTEGER NOT NULL
);
CREATE INDEX member_sessions_by_member ON member_sessions(member_id);

-- A member has read a conversation up to the message of this seq.
CREATE TABLE read_marks (
    member_id       TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    message_seq     INTEGER NOT NULL,
    PRIMARY KEY (member_id, conversation_id)
);
