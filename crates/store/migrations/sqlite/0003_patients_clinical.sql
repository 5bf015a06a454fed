-- Patient records in full, search, guardians, consents, care teams, and clinical notes.
-- Sensitive text (insurance numbers, note content) is stored sealed by the application
-- (XChaCha20-Poly1305, see services::crypto); the database never sees it in the clear.

ALTER TABLE patients ADD COLUMN mrn TEXT;
ALTER TABLE patients ADD COLUMN mrn_seq INTEGER;
ALTER TABLE patients ADD COLUMN preferred_name TEXT;
ALTER TABLE patients ADD COLUMN sex TEXT;
ALTER TABLE patients ADD COLUMN gender_identity TEXT;
ALTER TABLE patients ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE patients ADD COLUMN emergency_contact_name TEXT;
ALTER TABLE patients ADD COLUMN emergency_contact_phone TEXT;
ALTER TABLE patients ADD COLUMN emergency_contact_relationship TEXT;
ALTER TABLE patients ADD COLUMN insurance_provider TEXT;
ALTER TABLE patients ADD COLUMN insurance_number_enc TEXT;
ALTER TABLE patients ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE patients ADD COLUMN archived_at INTEGER;
ALTER TABLE patients ADD COLUMN last_visit_at INTEGER;
ALTER TABLE patients ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

-- Patients registered before record numbers existed get one in creation order.
UPDATE patients SET mrn_seq = (SELECT COUNT(*) FROM patients p2 WHERE p2.created_at < patients.created_at
    OR (p2.created_at = patients.created_at AND p2.id <= patients.id));
UPDATE patients SET mrn = 'P' || substr('000000' || mrn_seq, -6);
INSERT INTO counters (name, value) SELECT 'mrn', COUNT(*) FROM patients WHERE true
ON CONFLICT (name) DO UPDATE SET value = excluded.value;
CREATE UNIQUE INDEX patients_mrn_key ON patients (mrn);
CREATE UNIQUE INDEX patients_mrn_seq_key ON patients (mrn_seq);
CREATE INDEX patients_name_dob_idx ON patients (family_name, date_of_birth);
CREATE INDEX patients_last_visit_idx ON patients (last_visit_at);

-- Trigram full-text index over the normalised search text (names, email, phone digits,
-- record number); its rowid is the patient's mrn_seq (stable, unlike SQLite's rowid).
-- Kept in step by the application in the same transaction as the row.
CREATE VIRTUAL TABLE patients_fts USING fts5(search_text, tokenize = 'trigram');

CREATE TABLE patient_guardians (
    patient_id BLOB NOT NULL REFERENCES patients (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    relationship TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (patient_id, user_id)
);
CREATE INDEX patient_guardians_user_idx ON patient_guardians (user_id);

CREATE TABLE patient_consents (
    id BLOB PRIMARY KEY NOT NULL,
    patient_id BLOB NOT NULL REFERENCES patients (id),
    kind TEXT NOT NULL,
    given_at INTEGER NOT NULL,
    withdrawn_at INTEGER,
    note TEXT NOT NULL DEFAULT '',
    recorded_by BLOB
);
CREATE INDEX patient_consents_patient_idx ON patient_consents (patient_id);

-- Explicit care-team membership (besides having had an appointment).
CREATE TABLE care_team (
    patient_id BLOB NOT NULL REFERENCES patients (id),
    provider_id BLOB NOT NULL REFERENCES providers (id),
    assigned_at INTEGER NOT NULL,
    assigned_by BLOB,
    PRIMARY KEY (patient_id, provider_id)
);

CREATE TABLE clinical_notes (
    id BLOB PRIMARY KEY NOT NULL,
    patient_id BLOB NOT NULL REFERENCES patients (id),
    appointment_id BLOB REFERENCES appointments (id),
    author_provider_id BLOB NOT NULL REFERENCES providers (id),
    kind TEXT NOT NULL CHECK (kind IN ('progress', 'therapy_session', 'assessment')),
    assessment_kind TEXT CHECK (assessment_kind IN ('initial', 'progress', 'discharge', 'reassessment')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'signed')),
    content_enc TEXT NOT NULL,
    content_hash TEXT,
    next_review_date TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    signed_at INTEGER,
    signed_by BLOB
);
CREATE INDEX clinical_notes_patient_idx ON clinical_notes (patient_id, created_at);

CREATE TABLE clinical_amendments (
    id BLOB PRIMARY KEY NOT NULL,
    note_id BLOB NOT NULL REFERENCES clinical_notes (id),
    author_provider_id BLOB NOT NULL REFERENCES providers (id),
    reason TEXT NOT NULL,
    content_enc TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX clinical_amendments_note_idx ON clinical_amendments (note_id, created_at);

-- A signed note never changes. Only its ciphertext may be re-sealed under a new key, and
-- then the hash of its content stays the same (checked on every read).
CREATE TRIGGER clinical_notes_signed_are_final BEFORE UPDATE ON clinical_notes
WHEN OLD.status = 'signed' AND (NEW.status IS NOT OLD.status OR NEW.content_hash IS NOT OLD.content_hash
    OR NEW.patient_id IS NOT OLD.patient_id OR NEW.author_provider_id IS NOT OLD.author_provider_id
    OR NEW.kind IS NOT OLD.kind OR NEW.signed_at IS NOT OLD.signed_at)
BEGIN SELECT RAISE(ABORT, 'a signed note cannot be changed; add an amendment'); END;
CREATE TRIGGER clinical_notes_no_delete BEFORE DELETE ON clinical_notes
BEGIN SELECT RAISE(ABORT, 'clinical notes are never deleted'); END;
CREATE TRIGGER clinical_amendments_final BEFORE UPDATE ON clinical_amendments
WHEN NEW.content_hash IS NOT OLD.content_hash OR NEW.note_id IS NOT OLD.note_id
BEGIN SELECT RAISE(ABORT, 'amendments are final'); END;
