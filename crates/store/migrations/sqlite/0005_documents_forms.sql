-- Intake forms (versioned questionnaires, assignments with sealed answers) and patient
-- documents (metadata here; the file itself is encrypted in the data directory, stored
-- once per content hash). Instants are integer microseconds since the Unix epoch (UTC).

CREATE TABLE intake_forms (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    current_version INTEGER NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX intake_forms_name_key ON intake_forms (lower(name));

-- Every published version of a form's questions, never changed once written.
CREATE TABLE intake_form_versions (
    id BLOB PRIMARY KEY NOT NULL,
    form_id BLOB NOT NULL REFERENCES intake_forms (id),
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by BLOB
);
CREATE UNIQUE INDEX intake_form_versions_key ON intake_form_versions (form_id, version);

-- A form given to a patient; the answers (sealed JSON) belong to the version answered.
CREATE TABLE intake_assignments (
    id BLOB PRIMARY KEY NOT NULL,
    patient_id BLOB NOT NULL REFERENCES patients (id),
    form_id BLOB NOT NULL REFERENCES intake_forms (id),
    form_version_id BLOB NOT NULL REFERENCES intake_form_versions (id),
    appointment_id BLOB REFERENCES appointments (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'cancelled')),
    assigned_at INTEGER NOT NULL,
    assigned_by BLOB,
    completed_at INTEGER,
    completed_by BLOB,
    answers_enc TEXT
);
-- At most one open assignment of a form per patient (also what makes the automatic
-- assignment on booking idempotent under concurrency).
CREATE UNIQUE INDEX intake_assignments_pending_key ON intake_assignments (patient_id, form_id) WHERE status = 'pending';
CREATE INDEX intake_assignments_patient_idx ON intake_assignments (patient_id, assigned_at);
CREATE INDEX intake_assignments_appointment_idx ON intake_assignments (appointment_id);

ALTER TABLE services ADD COLUMN intake_form_id BLOB REFERENCES intake_forms (id);

-- One row per stored (encrypted) file, named by the SHA-256 of its plain content.
CREATE TABLE document_files (
    sha256 TEXT PRIMARY KEY NOT NULL,
    size_bytes INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE documents (
    id BLOB PRIMARY KEY NOT NULL,
    patient_id BLOB NOT NULL REFERENCES patients (id),
    appointment_id BLOB REFERENCES appointments (id),
    note_id BLOB REFERENCES clinical_notes (id),
    file_sha256 TEXT NOT NULL REFERENCES document_files (sha256),
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    confidential BOOLEAN NOT NULL DEFAULT FALSE,
    access_level TEXT NOT NULL CHECK (access_level IN ('patient_visible', 'clinicians_only', 'admin_only')),
    uploaded_by BLOB,
    uploaded_by_name TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    removed_at INTEGER,
    removed_by BLOB
);
CREATE INDEX documents_patient_idx ON documents (patient_id, uploaded_at);
CREATE INDEX documents_appointment_idx ON documents (appointment_id);
CREATE INDEX documents_file_idx ON documents (file_sha256);
