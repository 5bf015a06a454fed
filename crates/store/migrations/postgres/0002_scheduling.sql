-- Scheduling: clinics, providers, services, availability, patients (core), appointments,
-- series, waiting list. Local times of day are minutes since midnight.

CREATE TABLE clinics (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    phone TEXT,
    email TEXT,
    time_zone TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE specialties (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX specialties_name_key ON specialties (lower(name));

CREATE TABLE providers (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    title TEXT NOT NULL DEFAULT '',
    bio TEXT NOT NULL DEFAULT '',
    qualifications TEXT NOT NULL DEFAULT '',
    fee_minor BIGINT,
    fee_currency TEXT,
    accepting_new_patients BOOLEAN NOT NULL DEFAULT TRUE,
    calendar_colour TEXT NOT NULL DEFAULT '#1f5fbf',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    feed_token_hash TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX providers_user_key ON providers (user_id);
CREATE UNIQUE INDEX providers_feed_key ON providers (feed_token_hash);

CREATE TABLE provider_specialties (
    provider_id UUID NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    specialty_id UUID NOT NULL REFERENCES specialties (id) ON DELETE CASCADE,
    PRIMARY KEY (provider_id, specialty_id)
);

CREATE TABLE provider_clinics (
    provider_id UUID NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    clinic_id UUID NOT NULL REFERENCES clinics (id),
    PRIMARY KEY (provider_id, clinic_id)
);

CREATE TABLE services (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    specialty_id UUID REFERENCES specialties (id),
    duration_min BIGINT NOT NULL CHECK (duration_min > 0),
    price_minor BIGINT NOT NULL DEFAULT 0 CHECK (price_minor >= 0),
    currency TEXT NOT NULL,
    buffer_before_min BIGINT NOT NULL DEFAULT 0 CHECK (buffer_before_min >= 0),
    buffer_after_min BIGINT NOT NULL DEFAULT 0 CHECK (buffer_after_min >= 0),
    capacity BIGINT NOT NULL DEFAULT 1 CHECK (capacity >= 1),
    mode TEXT NOT NULL CHECK (mode IN ('in_person', 'video')),
    min_notice_min BIGINT NOT NULL DEFAULT 0 CHECK (min_notice_min >= 0),
    horizon_days BIGINT NOT NULL DEFAULT 90 CHECK (horizon_days >= 1),
    late_cancel_min BIGINT NOT NULL DEFAULT 0 CHECK (late_cancel_min >= 0),
    slot_step_min BIGINT NOT NULL DEFAULT 15 CHECK (slot_step_min >= 5),
    requires_approval BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE provider_services (
    provider_id UUID NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    service_id UUID NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (provider_id, service_id)
);
CREATE INDEX provider_services_service_idx ON provider_services (service_id);

CREATE TABLE availability_windows (
    id UUID PRIMARY KEY,
    provider_id UUID NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    clinic_id UUID NOT NULL REFERENCES clinics (id),
    weekday BIGINT NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_min BIGINT NOT NULL,
    end_min BIGINT NOT NULL,
    valid_from DATE,
    valid_until DATE,
    created_at TIMESTAMPTZ NOT NULL,
    CHECK (start_min >= 0 AND start_min < end_min AND end_min <= 1440)
);
CREATE INDEX availability_windows_provider_idx ON availability_windows (provider_id);

CREATE TABLE availability_exceptions (
    id UUID PRIMARY KEY,
    provider_id UUID NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    clinic_id UUID REFERENCES clinics (id),
    from_date DATE NOT NULL,
    until_date DATE NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('closed', 'hours')),
    hours TEXT NOT NULL DEFAULT '[]',
    reason TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX availability_exceptions_provider_idx ON availability_exceptions (provider_id, from_date);

CREATE TABLE clinic_closures (
    id UUID PRIMARY KEY,
    clinic_id UUID NOT NULL REFERENCES clinics (id),
    from_date DATE NOT NULL,
    until_date DATE NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX clinic_closures_clinic_idx ON clinic_closures (clinic_id, from_date);

CREATE TABLE patients (
    id UUID PRIMARY KEY,
    user_id UUID REFERENCES users (id),
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    date_of_birth DATE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX patients_user_key ON patients (user_id);

CREATE TABLE appointment_series (
    id UUID PRIMARY KEY,
    provider_id UUID NOT NULL REFERENCES providers (id),
    clinic_id UUID NOT NULL REFERENCES clinics (id),
    service_id UUID NOT NULL REFERENCES services (id),
    patient_id UUID NOT NULL REFERENCES patients (id),
    every_weeks BIGINT NOT NULL,
    occurrences BIGINT,
    until_date DATE,
    first_start TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by UUID
);

CREATE TABLE appointments (
    id UUID PRIMARY KEY,
    number TEXT NOT NULL,
    clinic_id UUID NOT NULL REFERENCES clinics (id),
    provider_id UUID NOT NULL REFERENCES providers (id),
    service_id UUID NOT NULL REFERENCES services (id),
    starts_at TIMESTAMPTZ NOT NULL,
    ends_at TIMESTAMPTZ NOT NULL,
    occupied_from TIMESTAMPTZ NOT NULL,
    occupied_until TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('held', 'requested', 'confirmed', 'checked_in', 'in_progress',
                                           'completed', 'cancelled', 'no_show', 'expired')),
    held_until TIMESTAMPTZ,
    series_id UUID REFERENCES appointment_series (id),
    series_index BIGINT,
    video_url TEXT,
    note TEXT NOT NULL DEFAULT '',
    cancelled_at TIMESTAMPTZ,
    cancelled_by UUID,
    cancel_reason TEXT,
    late_cancellation BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    created_by UUID,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    CHECK (starts_at < ends_at AND occupied_from <= starts_at AND ends_at <= occupied_until)
);
CREATE UNIQUE INDEX appointments_number_key ON appointments (number);
CREATE INDEX appointments_provider_time_idx ON appointments (provider_id, occupied_from);
CREATE INDEX appointments_clinic_time_idx ON appointments (clinic_id, starts_at);
CREATE INDEX appointments_series_idx ON appointments (series_id, series_index);

CREATE TABLE appointment_participants (
    appointment_id UUID NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    patient_id UUID NOT NULL REFERENCES patients (id),
    status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled')),
    added_at TIMESTAMPTZ NOT NULL,
    cancelled_at TIMESTAMPTZ,
    PRIMARY KEY (appointment_id, patient_id)
);
CREATE INDEX appointment_participants_patient_idx ON appointment_participants (patient_id);

CREATE TABLE appointment_changes (
    id UUID PRIMARY KEY,
    appointment_id UUID NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    at TIMESTAMPTZ NOT NULL,
    actor_id UUID,
    kind TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    from_starts_at TIMESTAMPTZ,
    to_starts_at TIMESTAMPTZ,
    from_provider_id UUID,
    to_provider_id UUID,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX appointment_changes_appointment_idx ON appointment_changes (appointment_id, at);

CREATE TABLE idempotency_keys (
    actor_key TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    appointment_id UUID,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (actor_key, key)
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE waitlist_entries (
    id UUID PRIMARY KEY,
    patient_id UUID NOT NULL REFERENCES patients (id),
    service_id UUID NOT NULL REFERENCES services (id),
    provider_id UUID REFERENCES providers (id),
    clinic_id UUID REFERENCES clinics (id),
    from_date DATE,
    until_date DATE,
    preferred TEXT NOT NULL DEFAULT '[]',
    note TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('waiting', 'offered', 'booked', 'cancelled')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX waitlist_entries_service_idx ON waitlist_entries (service_id, status, created_at);

CREATE TABLE waitlist_offers (
    id UUID PRIMARY KEY,
    entry_id UUID NOT NULL REFERENCES waitlist_entries (id),
    appointment_id UUID NOT NULL REFERENCES appointments (id),
    expires_at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'expired')),
    created_at TIMESTAMPTZ NOT NULL,
    decided_at TIMESTAMPTZ
);
CREATE INDEX waitlist_offers_status_idx ON waitlist_offers (status, expires_at);
CREATE INDEX waitlist_offers_entry_idx ON waitlist_offers (entry_id);

-- Freed time waiting to be offered to the waiting list. Written in the same transaction
-- as the cancellation or move that frees it; processed right after commit, and again by
-- housekeeping if the process stopped in between.
CREATE TABLE slot_releases (
    id UUID PRIMARY KEY,
    provider_id UUID NOT NULL REFERENCES providers (id),
    clinic_id UUID NOT NULL REFERENCES clinics (id),
    service_id UUID NOT NULL REFERENCES services (id),
    starts_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    processed_at TIMESTAMPTZ
);
CREATE INDEX slot_releases_pending_idx ON slot_releases (processed_at, created_at);

-- The database itself guarantees no double booking: no two time-occupying appointments of
-- one provider may overlap (buffers included).
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
    provider_id WITH =,
    tstzrange(occupied_from, occupied_until, '[)') WITH &&
) WHERE (status IN ('held', 'requested', 'confirmed', 'checked_in', 'in_progress'));
