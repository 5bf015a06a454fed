-- Two-factor login (TOTP, RFC 6238): one authenticator secret per account (sealed with
-- the key ring; unconfirmed until the first code is typed), ten recovery codes (only
-- their SHA-256 is kept), the short-lived step between password and code, and which
-- roles must use it. Instants are integer microseconds since the Unix epoch (UTC).

CREATE TABLE user_second_factors (
    user_id BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    confirmed_at INTEGER,
    -- The time step of the last code accepted: a code works once, and none older.
    last_used_step INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE login_challenges (
    id BLOB PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- verify: the account has a second factor; enrol: its role requires one it lacks.
    purpose TEXT NOT NULL CHECK (purpose IN ('verify', 'enrol')),
    session_kind TEXT NOT NULL CHECK (session_kind IN ('browser', 'api')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX login_challenges_expiry_idx ON login_challenges (expires_at);

CREATE TABLE second_factor_policy (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    required_roles TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by BLOB REFERENCES users (id)
);
