-- Operations: the history of backups (each with its manifest) and the backup schedule.
-- Instants are TIMESTAMPTZ.

CREATE TABLE backups (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('database', 'files', 'full')),
    origin TEXT NOT NULL CHECK (origin IN ('manual', 'scheduled')),
    status TEXT NOT NULL CHECK (status IN ('running', 'unverified', 'good', 'failed')),
    engine TEXT NOT NULL CHECK (engine IN ('sqlite', 'postgres')),
    location TEXT NOT NULL,
    copy_location TEXT,
    size_bytes BIGINT NOT NULL DEFAULT 0,
    manifest TEXT,
    error TEXT,
    requested_by UUID REFERENCES users (id),
    started_at TIMESTAMPTZ NOT NULL,
    -- Refreshed while the backup is written; a stale one means its process died.
    heartbeat_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    verified_at TIMESTAMPTZ,
    pruned_at TIMESTAMPTZ
);
CREATE INDEX backups_started_idx ON backups (started_at);
-- At most one backup is written at a time, across every instance.
CREATE UNIQUE INDEX backups_one_running ON backups (status) WHERE status = 'running';

CREATE TABLE backup_schedule (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    enabled BOOLEAN NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('database', 'files', 'full')),
    run_at_minute BIGINT NOT NULL CHECK (run_at_minute BETWEEN 0 AND 1439),
    time_zone TEXT NOT NULL,
    keep_daily BIGINT NOT NULL CHECK (keep_daily BETWEEN 0 AND 366),
    keep_weekly BIGINT NOT NULL CHECK (keep_weekly BETWEEN 0 AND 520),
    keep_monthly BIGINT NOT NULL CHECK (keep_monthly BETWEEN 0 AND 600),
    copy_dir TEXT,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by UUID REFERENCES users (id)
);

-- Operational incidents shown to administrators and mailed to them once each: a failed
-- or unverified backup, no good backup for too long, a message that could not be sent.
CREATE TABLE ops_alerts (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    opened_at TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ
);
CREATE INDEX ops_alerts_open_idx ON ops_alerts (opened_at) WHERE resolved_at IS NULL;
