-- Notifications: the durable job queue (the backbone of all background work), the
-- messages sent through it, and each patient's contact preferences.
-- Instants are integer microseconds since the Unix epoch (UTC).

CREATE TABLE jobs (
    id BLOB PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    run_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'dead', 'cancelled')),
    locked_until INTEGER,
    locked_by TEXT,
    last_error TEXT,
    idempotency_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (idempotency_key);
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE status IN ('pending', 'failed');
CREATE INDEX jobs_lease_idx ON jobs (locked_until) WHERE status = 'running';

CREATE TABLE messages (
    id BLOB PRIMARY KEY NOT NULL,
    job_id BLOB NOT NULL REFERENCES jobs (id),
    template TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient TEXT NOT NULL,
    patient_id BLOB REFERENCES patients (id),
    appointment_id BLOB REFERENCES appointments (id),
    subject TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}',
    provider_message_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'dead', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE UNIQUE INDEX messages_job_key ON messages (job_id);
CREATE INDEX messages_appointment_idx ON messages (appointment_id, created_at);
CREATE INDEX messages_patient_idx ON messages (patient_id, created_at);
CREATE INDEX messages_created_idx ON messages (created_at);

CREATE TABLE notification_preferences (
    patient_id BLOB PRIMARY KEY NOT NULL REFERENCES patients (id),
    email_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    sms_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    quiet_start_min INTEGER NOT NULL DEFAULT 1260 CHECK (quiet_start_min BETWEEN 0 AND 1439),
    quiet_end_min INTEGER NOT NULL DEFAULT 480 CHECK (quiet_end_min BETWEEN 0 AND 1439),
    updated_at INTEGER NOT NULL,
    updated_by BLOB
);
