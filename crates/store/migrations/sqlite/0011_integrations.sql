-- Integrations: API keys (only the SHA-256 of each key is kept) and outgoing webhooks
-- (endpoints with a sealed signing secret, and one row per delivery of an event).
-- Instants are integer microseconds since the Unix epoch (UTC).

CREATE TABLE api_keys (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- The first characters of the key, shown so people can tell keys apart.
    prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'staff')),
    read_only BOOLEAN NOT NULL,
    areas TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by BLOB REFERENCES users (id),
    last_used_at INTEGER,
    last_used_ip TEXT,
    revoked_at INTEGER,
    revoked_by BLOB REFERENCES users (id)
);
CREATE INDEX api_keys_created_idx ON api_keys (created_at);

CREATE TABLE webhook_endpoints (
    id BLOB PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    events TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at INTEGER NOT NULL,
    created_by BLOB REFERENCES users (id),
    updated_at INTEGER NOT NULL,
    removed_at INTEGER
);

CREATE TABLE webhook_deliveries (
    id BLOB PRIMARY KEY NOT NULL,
    endpoint_id BLOB NOT NULL REFERENCES webhook_endpoints (id),
    -- The event; a resend is a new delivery of the same event (same id and body).
    event_id BLOB NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'retrying', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER,
    last_error TEXT,
    last_attempt_at INTEGER,
    last_duration_ms INTEGER,
    delivered_at INTEGER,
    resend_of BLOB REFERENCES webhook_deliveries (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at);
