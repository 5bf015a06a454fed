//! Seeding in-process through the public service functions (not HTTP): two clinics, one
//! consultation service, providers with weekday availability, patients, a staff login,
//! and the existing appointments.

use crate::calendar::{self, BUFFER_AFTER_MIN, DURATION_MIN, Rng, STEP_MIN};
use anyhow::{Context, Result, bail};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use praxis_domain::{ClinicId, PatientId, ProviderId, ServiceId};
use praxis_services::availability::WindowInput;
use praxis_services::catalog::{ClinicInput, ProviderInput, ServiceInput};
use praxis_services::patients::NewPatient;
use praxis_services::scheduling::BookingRequest;
use praxis_services::users::NewUser;
use praxis_services::{Actor, ServiceError, Services, Settings, SystemClock};
use praxis_store::{Db, DbOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The clinics' time zone.
pub const ZONE: &str = "Australia/Sydney";
/// Password of every seeded account.
const PASSWORD: &str = "bench-password-not-secret";

/// How much to seed.
#[derive(Clone, Debug)]
pub struct SeedSpec {
    /// Providers in total.
    pub providers: usize,
    /// Of those, how many work at the second clinic (the rest work at the first).
    pub second_clinic_providers: usize,
    /// Existing appointments to book.
    pub appointments: usize,
    /// Days (from tomorrow) the existing appointments are spread over.
    pub days: i64,
    /// Patients to create.
    pub patients: usize,
    /// Seed of the random placement of appointments.
    pub seed: u64,
}

/// A seeded provider.
#[derive(Clone, Debug)]
pub struct SeededProvider {
    /// Provider id.
    pub id: ProviderId,
    /// The one clinic they work at.
    pub clinic: ClinicId,
}

/// Everything the load phases need to know about the seeded data.
#[derive(Clone, Debug)]
pub struct Seeded {
    /// The consultation service.
    pub service: ServiceId,
    /// The clinic with `providers - second_clinic_providers` providers.
    pub first_clinic: ClinicId,
    /// The clinic with `second_clinic_providers` providers.
    pub second_clinic: ClinicId,
    /// Providers, in creation order.
    pub providers: Vec<SeededProvider>,
    /// Patients.
    pub patients: Vec<PatientId>,
    /// Occupied ranges of the existing appointments, per provider (same order).
    pub taken: Vec<Vec<(Timestamp, Timestamp)>>,
    /// Appointments booked (equals the requested number unless the calendar was full).
    pub appointments: usize,
    /// Random placements refused as taken (and retried elsewhere).
    pub conflicts_skipped: usize,
    /// The staff account used over HTTP.
    pub staff_email: String,
    /// Its password.
    pub staff_password: String,
    /// The clinics' zone.
    pub zone: TimeZone,
    /// Tomorrow in the clinics' zone: the first day with appointments.
    pub first_day: Date,
    /// The last day with seeded appointments.
    pub last_day: Date,
    /// How long seeding took.
    pub elapsed: Duration,
}

fn admin() -> Actor {
    Actor::system("bench")
}

/// Opens and migrates the (empty) database at `url` and seeds it.
pub async fn seed(url: &str, spec: &SeedSpec) -> Result<Seeded> {
    let started = Instant::now();
    let db = Db::connect(&DbOptions::new(url)).await.context("open the database for seeding")?;
    db.migrate().await.context("migrate the database")?;
    let zone = TimeZone::get(ZONE)?;
    let settings = Settings { display_zone: zone.clone(), ..Settings::default() };
    // The real clock: the server that is spawned afterwards uses it too.
    let svc = Services::new(db.clone(), Arc::new(SystemClock), settings);
    let result = seed_with(&svc, spec, zone).await;
    db.close().await;
    let mut seeded = result?;
    seeded.elapsed = started.elapsed();
    Ok(seeded)
}

async fn seed_with(svc: &Services, spec: &SeedSpec, zone: TimeZone) -> Result<Seeded> {
    if spec.second_clinic_providers > spec.providers || spec.providers == 0 || spec.patients == 0 {
        bail!("need at least one provider and one patient, and no more second-clinic providers than providers");
    }
    let a = admin();
    let clinic = |name: &str| ClinicInput {
        name: name.into(),
        address: "1 Benchmark Street".into(),
        time_zone: ZONE.into(),
        ..ClinicInput::default()
    };
    let first_clinic = svc.create_clinic(&a, clinic("Harbour Clinic")).await.map_err(svc_err)?.id;
    let second_clinic = svc.create_clinic(&a, clinic("Northside Clinic")).await.map_err(svc_err)?.id;
    let service = svc
        .create_service(
            &a,
            ServiceInput {
                name: "Consultation".into(),
                duration_minutes: Some(DURATION_MIN),
                buffer_after_minutes: Some(BUFFER_AFTER_MIN),
                slot_step_minutes: Some(STEP_MIN),
                booking_horizon_days: Some(90),
                price_minor: Some(12_000),
                currency: Some("AUD".into()),
                ..ServiceInput::default()
            },
        )
        .await
        .map_err(svc_err)?
        .id;

    let mut providers = Vec::with_capacity(spec.providers);
    let first_count = spec.providers - spec.second_clinic_providers;
    for i in 0..spec.providers {
        let clinic = if i < first_count { first_clinic } else { second_clinic };
        let user = svc
            .create_user(
                &a,
                NewUser {
                    email: format!("provider{i:03}@bench.praxis.test"),
                    full_name: format!("Provider {i:03} Bench"),
                    phone: None,
                    roles: vec!["provider".into()],
                    password: Some(PASSWORD.into()),
                },
            )
            .await
            .map_err(svc_err)?;
        let provider = svc
            .create_provider(
                &a,
                ProviderInput {
                    user_id: Some(user.user.id),
                    title: "General Practitioner".into(),
                    clinic_ids: vec![clinic],
                    service_ids: vec![service],
                    ..ProviderInput::default()
                },
            )
            .await
            .map_err(svc_err)?;
        for weekday in ["monday", "tuesday", "wednesday", "thursday", "friday"] {
            let window = WindowInput {
                clinic_id: Some(clinic),
                weekday: weekday.into(),
                start: format!("{:02}:00", calendar::OPEN_HOUR),
                end: format!("{:02}:00", calendar::CLOSE_HOUR),
                valid_from: None,
                valid_until: None,
            };
            svc.add_window(&a, provider.id, window).await.map_err(svc_err)?;
        }
        providers.push(SeededProvider { id: provider.id, clinic });
    }

    let mut patients = Vec::with_capacity(spec.patients);
    for i in 0..spec.patients {
        let p = svc
            .create_patient(
                &a,
                NewPatient {
                    given_name: format!("Patient{i:04}"),
                    family_name: "Bench".into(),
                    ..NewPatient::default()
                },
            )
            .await
            .map_err(svc_err)?;
        patients.push(p.id);
    }

    let staff_email = "reception@bench.praxis.test".to_string();
    svc.create_user(
        &a,
        NewUser {
            email: staff_email.clone(),
            full_name: "Reception Bench".into(),
            phone: None,
            roles: vec!["staff".into()],
            password: Some(PASSWORD.into()),
        },
    )
    .await
    .map_err(svc_err)?;

    let today = svc.now().to_zoned(zone.clone()).date();
    let first_day = today.tomorrow()?;
    let last_day = calendar::add_days(first_day, spec.days - 1)?;
    let days = calendar::working_days(first_day, last_day);
    if days.is_empty() {
        bail!("no working day between {first_day} and {last_day}");
    }
    let starts_per_day = (calendar::last_start_minute() - i64::from(calendar::OPEN_HOUR) * 60) / STEP_MIN + 1;
    let mut rng = Rng::new(spec.seed);
    let mut taken: Vec<Vec<(Timestamp, Timestamp)>> = vec![Vec::new(); spec.providers];
    let mut conflicts = 0usize;
    let mut booked = 0usize;
    for i in 0..spec.appointments {
        // Round robin over providers gives each the same number of appointments.
        let p = i % spec.providers;
        let mut done = false;
        for _attempt in 0..200 {
            let day = days[rng.below(days.len())];
            let minute = i64::from(calendar::OPEN_HOUR) * 60 + STEP_MIN * rng.below(starts_per_day as usize) as i64;
            let start = calendar::local_instant(&zone, day, minute)?;
            let until = start.checked_add(calendar::occupied_len())?;
            let req = BookingRequest {
                service_id: Some(service),
                provider_id: Some(providers[p].id),
                clinic_id: Some(providers[p].clinic),
                start: Some(start),
                patient_id: Some(patients[rng.below(patients.len())]),
                hold: false,
                note: String::new(),
            };
            match svc.book(&a, req, None).await {
                Ok(_) => {
                    taken[p].push((start, until));
                    booked += 1;
                    done = true;
                    break;
                }
                Err(ServiceError::Conflict { code: "slot_taken", .. }) => conflicts += 1,
                Err(e) => return Err(svc_err(e)).with_context(|| format!("book provider {p} at {start}")),
            }
        }
        if !done {
            eprintln!("praxis-load: provider {p} has no free time left for appointment {i}; skipped");
        }
    }

    Ok(Seeded {
        service,
        first_clinic,
        second_clinic,
        providers,
        patients,
        taken,
        appointments: booked,
        conflicts_skipped: conflicts,
        staff_email,
        staff_password: PASSWORD.into(),
        zone,
        first_day,
        last_day,
        elapsed: Duration::ZERO,
    })
}

/// The last day the booking phase may use: safely inside the 90-day booking horizon.
pub fn last_bookable_day(seeded: &Seeded) -> Result<Date> {
    Ok(seeded.first_day.checked_add(85.days())?)
}

fn svc_err(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Validation(fields) => anyhow::anyhow!(
            "validation failed: {}",
            fields.iter().map(|f| format!("{}: {} ({})", f.field, f.message, f.code)).collect::<Vec<_>>().join("; ")
        ),
        other => anyhow::anyhow!("{other} ({other:?})"),
    }
}
