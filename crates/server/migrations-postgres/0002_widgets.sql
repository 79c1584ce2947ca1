-- Website widgets: a public key, the domains it may run on, and an optional
-- identity secret that the site's backend signs known visitors' ids with.
CREATE TABLE widgets (
    id              TEXT COLLATE "C" PRIMARY KEY,
    workspace_id    TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    public_key      TEXT COLLATE "C" NOT NULL UNIQUE,
    label           TEXT COLLATE "C",
    identity_secret TEXT COLLATE "C",
    created_at      TEXT COLLATE "C" NOT NULL,
    UNIQUE (workspace_id, label)
);

CREATE TABLE widget_domains (
    widget_id TEXT COLLATE "C" NOT NULL REFERENCES widgets(id) ON DELETE CASCADE,
    domain    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (widget_id, domain)
);
CREATE INDEX widget_domains_by_domain ON widget_domains(domain);

-- Secrets of this server, e.g. the key visitor tokens are signed with.
CREATE TABLE server_secrets (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value BYTEA NOT NULL
);
