-- Operations: the history of backups (each with its manifest) and the backup schedule.
-- Instants are integer microseconds since the Unix epoch (UTC).

CREATE TABLE backups (
    id BLOB PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('database', 'files', 'full')),
    origin TEXT NOT NULL CHECK (origin IN ('manual', 'scheduled')),
    status TEXT NOT NULL CHECK (status IN ('running', 'unverified', 'good', 'failed')),
    engine TEXT NOT NULL CHECK (engine IN ('sqlite', 'postgres')),
    location TEXT NOT NULL,
    copy_location TEXT,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    manifest TEXT,
    error TEXT,
    requested_by BLOB REFERENCES users (id),
    started_at INTEGER NOT NULL,
    -- Refreshed while the backup is written; a stale one means its process died.
    heartbeat_at INTEGER,
    finished_at INTEGER,
    verified_at INTEGER,
    pruned_at INTEGER
);
CREATE INDEX backups_started_idx ON backups (started_at);
-- At most one backup is written at a time, across every instance.
CREATE UNIQUE INDEX backups_one_running ON backups (status) WHERE status = 'running';

CREATE TABLE backup_schedule (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    enabled BOOLEAN NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('database', 'files', 'full')),
    run_at_minute INTEGER NOT NULL CHECK (run_at_minute BETWEEN 0 AND 1439),
    time_zone TEXT NOT NULL,
    keep_daily INTEGER NOT NULL CHECK (keep_daily BETWEEN 0 AND 366),
    keep_weekly INTEGER NOT NULL CHECK (keep_weekly BETWEEN 0 AND 520),
    keep_monthly INTEGER NOT NULL CHECK (keep_monthly BETWEEN 0 AND 600),
    copy_dir TEXT,
    updated_at INTEGER NOT NULL,
    updated_by BLOB REFERENCES users (id)
);

-- Operational incidents shown to administrators and mailed to them once each: a failed
-- or unverified backup, no good backup for too long, a message that could not be sent.
CREATE TABLE ops_alerts (
    key TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    resolved_at INTEGER
);
CREATE INDEX ops_alerts_open_idx ON ops_alerts (opened_at) WHERE resolved_at IS NULL;
