-- Scheduling: clinics, providers, services, availability, patients (core), appointments,
-- series, waiting list. Local times of day are minutes since midnight; dates are ISO text.

CREATE TABLE clinics (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    phone TEXT,
    email TEXT,
    time_zone TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE specialties (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX specialties_name_key ON specialties (lower(name));

CREATE TABLE providers (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id),
    title TEXT NOT NULL DEFAULT '',
    bio TEXT NOT NULL DEFAULT '',
    qualifications TEXT NOT NULL DEFAULT '',
    fee_minor INTEGER,
    fee_currency TEXT,
    accepting_new_patients BOOLEAN NOT NULL DEFAULT TRUE,
    calendar_colour TEXT NOT NULL DEFAULT '#1f5fbf',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    feed_token_hash TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX providers_user_key ON providers (user_id);
CREATE UNIQUE INDEX providers_feed_key ON providers (feed_token_hash);

CREATE TABLE provider_specialties (
    provider_id BLOB NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    specialty_id BLOB NOT NULL REFERENCES specialties (id) ON DELETE CASCADE,
    PRIMARY KEY (provider_id, specialty_id)
);

CREATE TABLE provider_clinics (
    provider_id BLOB NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    clinic_id BLOB NOT NULL REFERENCES clinics (id),
    PRIMARY KEY (provider_id, clinic_id)
);

CREATE TABLE services (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    specialty_id BLOB REFERENCES specialties (id),
    duration_min INTEGER NOT NULL CHECK (duration_min > 0),
    price_minor INTEGER NOT NULL DEFAULT 0 CHECK (price_minor >= 0),
    currency TEXT NOT NULL,
    buffer_before_min INTEGER NOT NULL DEFAULT 0 CHECK (buffer_before_min >= 0),
    buffer_after_min INTEGER NOT NULL DEFAULT 0 CHECK (buffer_after_min >= 0),
    capacity INTEGER NOT NULL DEFAULT 1 CHECK (capacity >= 1),
    mode TEXT NOT NULL CHECK (mode IN ('in_person', 'video')),
    min_notice_min INTEGER NOT NULL DEFAULT 0 CHECK (min_notice_min >= 0),
    horizon_days INTEGER NOT NULL DEFAULT 90 CHECK (horizon_days >= 1),
    late_cancel_min INTEGER NOT NULL DEFAULT 0 CHECK (late_cancel_min >= 0),
    slot_step_min INTEGER NOT NULL DEFAULT 15 CHECK (slot_step_min >= 5),
    requires_approval BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE provider_services (
    provider_id BLOB NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    service_id BLOB NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (provider_id, service_id)
);
CREATE INDEX provider_services_service_idx ON provider_services (service_id);

CREATE TABLE availability_windows (
    id BLOB PRIMARY KEY NOT NULL,
    provider_id BLOB NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    clinic_id BLOB NOT NULL REFERENCES clinics (id),
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_min INTEGER NOT NULL,
    end_min INTEGER NOT NULL,
    valid_from TEXT,
    valid_until TEXT,
    created_at INTEGER NOT NULL,
    CHECK (start_min >= 0 AND start_min < end_min AND end_min <= 1440)
);
CREATE INDEX availability_windows_provider_idx ON availability_windows (provider_id);

CREATE TABLE availability_exceptions (
    id BLOB PRIMARY KEY NOT NULL,
    provider_id BLOB NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    clinic_id BLOB REFERENCES clinics (id),
    from_date TEXT NOT NULL,
    until_date TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('closed', 'hours')),
    hours TEXT NOT NULL DEFAULT '[]',
    reason TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX availability_exceptions_provider_idx ON availability_exceptions (provider_id, from_date);

CREATE TABLE clinic_closures (
    id BLOB PRIMARY KEY NOT NULL,
    clinic_id BLOB NOT NULL REFERENCES clinics (id),
    from_date TEXT NOT NULL,
    until_date TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX clinic_closures_clinic_idx ON clinic_closures (clinic_id, from_date);

CREATE TABLE patients (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB REFERENCES users (id),
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    date_of_birth TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX patients_user_key ON patients (user_id);

CREATE TABLE appointment_series (
    id BLOB PRIMARY KEY NOT NULL,
    provider_id BLOB NOT NULL REFERENCES providers (id),
    clinic_id BLOB NOT NULL REFERENCES clinics (id),
    service_id BLOB NOT NULL REFERENCES services (id),
    patient_id BLOB NOT NULL REFERENCES patients (id),
    every_weeks INTEGER NOT NULL,
    occurrences INTEGER,
    until_date TEXT,
    first_start INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    created_by BLOB
);

CREATE TABLE appointments (
    id BLOB PRIMARY KEY NOT NULL,
    number TEXT NOT NULL,
    clinic_id BLOB NOT NULL REFERENCES clinics (id),
    provider_id BLOB NOT NULL REFERENCES providers (id),
    service_id BLOB NOT NULL REFERENCES services (id),
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    occupied_from INTEGER NOT NULL,
    occupied_until INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('held', 'requested', 'confirmed', 'checked_in', 'in_progress',
                                           'completed', 'cancelled', 'no_show', 'expired')),
    held_until INTEGER,
    series_id BLOB REFERENCES appointment_series (id),
    series_index INTEGER,
    video_url TEXT,
    note TEXT NOT NULL DEFAULT '',
    cancelled_at INTEGER,
    cancelled_by BLOB,
    cancel_reason TEXT,
    late_cancellation BOOLEAN NOT NULL DEFAULT FALSE,
    created_at INTEGER NOT NULL,
    created_by BLOB,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (starts_at < ends_at AND occupied_from <= starts_at AND ends_at <= occupied_until)
);
CREATE UNIQUE INDEX appointments_number_key ON appointments (number);
CREATE INDEX appointments_provider_time_idx ON appointments (provider_id, occupied_from);
CREATE INDEX appointments_clinic_time_idx ON appointments (clinic_id, starts_at);
CREATE INDEX appointments_series_idx ON appointments (series_id, series_index);

CREATE TABLE appointment_participants (
    appointment_id BLOB NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    patient_id BLOB NOT NULL REFERENCES patients (id),
    status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled')),
    added_at INTEGER NOT NULL,
    cancelled_at INTEGER,
    PRIMARY KEY (appointment_id, patient_id)
);
CREATE INDEX appointment_participants_patient_idx ON appointment_participants (patient_id);

CREATE TABLE appointment_changes (
    id BLOB PRIMARY KEY NOT NULL,
    appointment_id BLOB NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    actor_id BLOB,
    kind TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    from_starts_at INTEGER,
    to_starts_at INTEGER,
    from_provider_id BLOB,
    to_provider_id BLOB,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX appointment_changes_appointment_idx ON appointment_changes (appointment_id, at);

CREATE TABLE idempotency_keys (
    actor_key TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    appointment_id BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (actor_key, key)
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);

CREATE TABLE waitlist_entries (
    id BLOB PRIMARY KEY NOT NULL,
    patient_id BLOB NOT NULL REFERENCES patients (id),
    service_id BLOB NOT NULL REFERENCES services (id),
    provider_id BLOB REFERENCES providers (id),
    clinic_id BLOB REFERENCES clinics (id),
    from_date TEXT,
    until_date TEXT,
    preferred TEXT NOT NULL DEFAULT '[]',
    note TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('waiting', 'offered', 'booked', 'cancelled')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX waitlist_entries_service_idx ON waitlist_entries (service_id, status, created_at);

CREATE TABLE waitlist_offers (
    id BLOB PRIMARY KEY NOT NULL,
    entry_id BLOB NOT NULL REFERENCES waitlist_entries (id),
    appointment_id BLOB NOT NULL REFERENCES appointments (id),
    expires_at INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'expired')),
    created_at INTEGER NOT NULL,
    decided_at INTEGER
);
CREATE INDEX waitlist_offers_status_idx ON waitlist_offers (status, expires_at);
CREATE INDEX waitlist_offers_entry_idx ON waitlist_offers (entry_id);

-- Freed time waiting to be offered to the waiting list. Written in the same transaction
-- as the cancellation or move that frees it; processed right after commit, and again by
-- housekeeping if the process stopped in between.
CREATE TABLE slot_releases (
    id BLOB PRIMARY KEY NOT NULL,
    provider_id BLOB NOT NULL REFERENCES providers (id),
    clinic_id BLOB NOT NULL REFERENCES clinics (id),
    service_id BLOB NOT NULL REFERENCES services (id),
    starts_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    processed_at INTEGER
);
CREATE INDEX slot_releases_pending_idx ON slot_releases (processed_at, created_at);
