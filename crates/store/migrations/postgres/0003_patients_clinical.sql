-- Patient records in full, search, guardians, consents, care teams, and clinical notes.
-- Sensitive text (insurance numbers, note content) is stored sealed by the application
-- (XChaCha20-Poly1305, see services::crypto); the database never sees it in the clear.

ALTER TABLE patients ADD COLUMN mrn TEXT;
ALTER TABLE patients ADD COLUMN mrn_seq BIGINT;
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
ALTER TABLE patients ADD COLUMN archived_at TIMESTAMPTZ;
ALTER TABLE patients ADD COLUMN last_visit_at TIMESTAMPTZ;
ALTER TABLE patients ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

-- Patients registered before record numbers existed get one in creation order.
UPDATE patients SET mrn_seq = numbered.n, mrn = 'P' || lpad(numbered.n::TEXT, 6, '0') FROM (
    SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM patients
) AS numbered WHERE numbered.id = patients.id;
INSERT INTO counters (name, value) SELECT 'mrn', COUNT(*) FROM patients
ON CONFLICT (name) DO UPDATE SET value = excluded.value;
CREATE UNIQUE INDEX patients_mrn_key ON patients (mrn);
CREATE UNIQUE INDEX patients_mrn_seq_key ON patients (mrn_seq);
CREATE INDEX patients_name_dob_idx ON patients (family_name, date_of_birth);
CREATE INDEX patients_last_visit_idx ON patients (last_visit_at);

-- Trigram index over the normalised search text (names, email, phone digits, record
-- number), so "contains" searches use an index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX patients_search_trgm_idx ON patients USING gin (search_text gin_trgm_ops);

CREATE TABLE patient_guardians (
    patient_id UUID NOT NULL REFERENCES patients (id),
    user_id UUID NOT NULL REFERENCES users (id),
    relationship TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (patient_id, user_id)
);
CREATE INDEX patient_guardians_user_idx ON patient_guardians (user_id);

CREATE TABLE patient_consents (
    id UUID PRIMARY KEY,
    patient_id UUID NOT NULL REFERENCES patients (id),
    kind TEXT NOT NULL,
    given_at TIMESTAMPTZ NOT NULL,
    withdrawn_at TIMESTAMPTZ,
    note TEXT NOT NULL DEFAULT '',
    recorded_by UUID
);
CREATE INDEX patient_consents_patient_idx ON patient_consents (patient_id);

CREATE TABLE care_team (
    patient_id UUID NOT NULL REFERENCES patients (id),
    provider_id UUID NOT NULL REFERENCES providers (id),
    assigned_at TIMESTAMPTZ NOT NULL,
    assigned_by UUID,
    PRIMARY KEY (patient_id, provider_id)
);

CREATE TABLE clinical_notes (
    id UUID PRIMARY KEY,
    patient_id UUID NOT NULL REFERENCES patients (id),
    appointment_id UUID REFERENCES appointments (id),
    author_provider_id UUID NOT NULL REFERENCES providers (id),
    kind TEXT NOT NULL CHECK (kind IN ('progress', 'therapy_session', 'assessment')),
    assessment_kind TEXT CHECK (assessment_kind IN ('initial', 'progress', 'discharge', 'reassessment')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'signed')),
    content_enc TEXT NOT NULL,
    content_hash TEXT,
    next_review_date DATE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    signed_at TIMESTAMPTZ,
    signed_by UUID
);
CREATE INDEX clinical_notes_patient_idx ON clinical_notes (patient_id, created_at);

CREATE TABLE clinical_amendments (
    id UUID PRIMARY KEY,
    note_id UUID NOT NULL REFERENCES clinical_notes (id),
    author_provider_id UUID NOT NULL REFERENCES providers (id),
    reason TEXT NOT NULL,
    content_enc TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX clinical_amendments_note_idx ON clinical_amendments (note_id, created_at);

-- A signed note never changes. Only its ciphertext may be re-sealed under a new key, and
-- then the hash of its content stays the same (checked on every read).
CREATE FUNCTION clinical_notes_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'clinical notes are never deleted';
    END IF;
    IF OLD.status = 'signed' AND (NEW.status IS DISTINCT FROM OLD.status
        OR NEW.content_hash IS DISTINCT FROM OLD.content_hash OR NEW.patient_id IS DISTINCT FROM OLD.patient_id
        OR NEW.author_provider_id IS DISTINCT FROM OLD.author_provider_id OR NEW.kind IS DISTINCT FROM OLD.kind
        OR NEW.signed_at IS DISTINCT FROM OLD.signed_at) THEN
        RAISE EXCEPTION 'a signed note cannot be changed; add an amendment';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER clinical_notes_signed_are_final BEFORE UPDATE OR DELETE ON clinical_notes
FOR EACH ROW EXECUTE FUNCTION clinical_notes_guard();

CREATE FUNCTION clinical_amendments_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.content_hash IS DISTINCT FROM OLD.content_hash OR NEW.note_id IS DISTINCT FROM OLD.note_id THEN
        RAISE EXCEPTION 'amendments are final';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER clinical_amendments_final BEFORE UPDATE ON clinical_amendments
FOR EACH ROW EXECUTE FUNCTION clinical_amendments_guard();
