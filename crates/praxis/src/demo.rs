//! The demo clinic behind `praxis demo`: seeded once into an empty database, with a login
//! for every role printed at start.
//!
//! Two clinics in different time zones (Sydney and Bengaluru), six providers across
//! psychology, speech therapy, physiotherapy and general practice, services including a
//! group session and a video consultation, weekly availability with exceptions and a
//! closure, 200 patients, and appointments over the past and the next four weeks in every
//! status. Everything goes through the same services as the web pages (so the audit log
//! tells the story), with a clock that the seeder moves through those eight weeks.

mod billing;

use crate::config::ServeArgs;
use anyhow::{Context, Result};
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use praxis_domain::{AppointmentAction, AppointmentId, ClinicId, PatientId, ProviderId, ServiceId};
use praxis_services::availability::{ClosureInput, ExceptionInput, HoursRange, WindowInput};
use praxis_services::catalog::{ClinicInput, ProviderInput, ServiceInput, ServiceMode};
use praxis_services::patients::NewPatient;
use praxis_services::scheduling::{BookingRequest, CancelRequest, SeriesMode, SeriesRequest, WaitlistInput};
use praxis_services::users::NewUser;
use praxis_services::{Actor, Clock, Services};
use std::sync::{Arc, Mutex};

/// The demo accounts: (email, name, roles, password). Every provider account uses the
/// provider password; one of them is printed.
pub const DEMO_LOGINS: &[(&str, &str, &[&str], &str)] = &[
    ("admin@demo.praxis.test", "Alex Admin", &["admin"], "demo-admin-pass"),
    ("reception@demo.praxis.test", "Rosa Reception", &["staff"], "demo-staff-pass"),
    ("dr.chen@demo.praxis.test", "Dr Mei Chen", &["provider"], "demo-provider-pass"),
    ("patient@demo.praxis.test", "Sam Patient", &["patient"], "demo-patient-pass"),
];

/// A clock the seeder moves: bookings happen "before" their appointments, outcomes after.
struct SeedClock(Mutex<Timestamp>);

impl SeedClock {
    fn set(&self, t: Timestamp) {
        if let Ok(mut g) = self.0.lock() {
            *g = Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t);
        }
    }
}

impl Clock for SeedClock {
    fn now(&self) -> Timestamp {
        self.0.lock().map(|g| *g).unwrap_or_else(|_| Timestamp::now())
    }
}

/// A small deterministic generator, so every demo clinic looks the same.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        // SplitMix64.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// 0..n
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const GIVEN: &[&str] = &[
    "Olivia",
    "Jack",
    "Charlotte",
    "Noah",
    "Amelia",
    "Oliver",
    "Isla",
    "William",
    "Mia",
    "Leo",
    "Aarav",
    "Ananya",
    "Vivaan",
    "Diya",
    "Aditya",
    "Ishaan",
    "Kavya",
    "Saanvi",
    "Arjun",
    "Meera",
    "Lucas",
    "Zoe",
    "Ethan",
    "Chloe",
    "Henry",
    "Ruby",
    "Thomas",
    "Grace",
    "Rohan",
    "Priya",
    "Sofia",
    "Hugo",
    "Aisha",
    "Kai",
    "Nina",
    "Omar",
    "Lena",
    "Ravi",
    "Tara",
    "Finn",
];
const FAMILY: &[&str] = &[
    "Smith", "Nguyen", "Williams", "Brown", "Wilson", "Taylor", "Patel", "Singh", "Kumar", "Reddy", "Iyer", "Nair",
    "Kelly", "Martin", "Anderson", "Thompson", "Walker", "Chen", "Wang", "Li", "Murphy", "O'Connor", "Rossi", "Khan",
    "Gupta", "Das", "Costa", "Silva", "Müller", "Novak",
];

struct ProviderPlan {
    id: ProviderId,
    clinic: ClinicId,
    zone: TimeZone,
    services: Vec<(ServiceId, i64)>,
}

/// Seeds the demo clinic if the database has no users yet. Returns whether it seeded.
pub async fn seed_if_empty(svc: &Services) -> Result<bool> {
    if praxis_store::users::count(svc.db()).await? > 0 {
        return Ok(false);
    }
    let started = std::time::Instant::now();
    let real_now = svc.now();
    let clock = Arc::new(SeedClock(Mutex::new(real_now)));
    let seed = Services::new(svc.db().clone(), clock.clone(), svc.settings().clone());
    svc.db().bulk_load(true).await?;
    let outcome = seed_everything(&seed, &clock, real_now).await;
    svc.db().bulk_load(false).await?;
    outcome?;
    tracing::info!(ms = started.elapsed().as_millis() as u64, "demo clinic seeded");
    Ok(true)
}

fn service(name: &str, description: &str, minutes: i64, price: i64, currency: &str) -> ServiceInput {
    ServiceInput {
        name: name.into(),
        description: description.into(),
        duration_minutes: Some(minutes),
        price_minor: Some(price),
        currency: Some(currency.into()),
        late_cancellation_minutes: Some(24 * 60),
        slot_step_minutes: Some(15),
        booking_horizon_days: Some(90),
        ..ServiceInput::default()
    }
}

async fn seed_everything(s: &Services, clock: &SeedClock, now: Timestamp) -> Result<()> {
    let sys = Actor::system("demo-seed");
    let e = |what: &'static str| move |err: praxis_services::ServiceError| anyhow::anyhow!("seeding {what}: {err}");

    for (email, name, roles, password) in DEMO_LOGINS.iter().filter(|l| l.2 != ["provider"]) {
        s.create_user(
            &sys,
            NewUser {
                email: email.to_string(),
                full_name: name.to_string(),
                phone: None,
                roles: roles.iter().map(|r| r.to_string()).collect(),
                password: Some(password.to_string()),
            },
        )
        .await
        .map_err(e("accounts"))?;
    }

    let sydney = s
        .create_clinic(
            &sys,
            ClinicInput {
                name: "Harbour Health Sydney".into(),
                address: "12 Circular Quay West, Sydney NSW 2000".into(),
                phone: Some("+61 2 9000 1234".into()),
                email: Some("sydney@harbourhealth.example".into()),
                time_zone: "Australia/Sydney".into(),
                active: Some(true),
            },
        )
        .await
        .map_err(e("clinics"))?;
    let bengaluru = s
        .create_clinic(
            &sys,
            ClinicInput {
                name: "Lotus Wellness Bengaluru".into(),
                address: "42 MG Road, Bengaluru 560001".into(),
                phone: Some("+91 80 4000 1234".into()),
                email: Some("bengaluru@lotuswellness.example".into()),
                time_zone: "Asia/Kolkata".into(),
                active: Some(true),
            },
        )
        .await
        .map_err(e("clinics"))?;

    let mut spec = Vec::new();
    for name in ["Psychology", "Speech therapy", "Physiotherapy", "General practice"] {
        spec.push(s.create_specialty(&sys, name).await.map_err(e("specialties"))?.id);
    }
    let mk = |mut i: ServiceInput, specialty: usize| {
        i.specialty_id = Some(spec[specialty]);
        i
    };
    let psych = s
        .create_service(
            &sys,
            mk(
                ServiceInput {
                    buffer_after_minutes: Some(10),
                    ..service(
                        "Psychology session",
                        "A 50-minute session with a clinical psychologist.",
                        50,
                        22_000,
                        "AUD",
                    )
                },
                0,
            ),
        )
        .await
        .map_err(e("services"))?;
    let speech = s
        .create_service(
            &sys,
            mk(
                ServiceInput {
                    buffer_after_minutes: Some(15),
                    ..service(
                        "Speech therapy session",
                        "Assessment or therapy with a speech pathologist.",
                        45,
                        18_000,
                        "AUD",
                    )
                },
                1,
            ),
        )
        .await
        .map_err(e("services"))?;
    let group = s
        .create_service(
            &sys,
            mk(
                ServiceInput {
                    capacity: Some(6),
                    slot_step_minutes: Some(60),
                    ..service(
                        "Social skills group (ages 8–12)",
                        "A small group session for children, up to six.",
                        60,
                        6_000,
                        "AUD",
                    )
                },
                1,
            ),
        )
        .await
        .map_err(e("services"))?;
    let gp = s
        .create_service(
            &sys,
            mk(
                ServiceInput {
                    min_notice_minutes: Some(60),
                    ..service(
                        "GP consultation",
                        "A standard consultation with a general practitioner.",
                        15,
                        8_500,
                        "AUD",
                    )
                },
                3,
            ),
        )
        .await
        .map_err(e("services"))?;
    let telehealth = s
        .create_service(
            &sys,
            mk(
                ServiceInput {
                    mode: Some(ServiceMode::Video),
                    ..service(
                        "GP video consultation",
                        "A telehealth consultation by video from home.",
                        15,
                        7_500,
                        "AUD",
                    )
                },
                3,
            ),
        )
        .await
        .map_err(e("services"))?;
    let physio_syd = s
        .create_service(
            &sys,
            mk(
                ServiceInput {
                    buffer_after_minutes: Some(10),
                    ..service("Physiotherapy session", "Treatment and exercise programme.", 30, 11_000, "AUD")
                },
                2,
            ),
        )
        .await
        .map_err(e("services"))?;
    let physio_blr = s
        .create_service(
            &sys,
            mk(
                ServiceInput {
                    buffer_after_minutes: Some(10),
                    ..service(
                        "Physiotherapy session (Bengaluru)",
                        "Treatment and exercise programme.",
                        30,
                        150_000,
                        "INR",
                    )
                },
                2,
            ),
        )
        .await
        .map_err(e("services"))?;
    let assessment_blr = s
        .create_service(
            &sys,
            mk(
                ServiceInput {
                    slot_step_minutes: Some(30),
                    requires_approval: Some(true),
                    ..service(
                        "Physiotherapy initial assessment",
                        "A full first assessment and plan.",
                        60,
                        250_000,
                        "INR",
                    )
                },
                2,
            ),
        )
        .await
        .map_err(e("services"))?;
    let counselling = s
        .create_service(
            &sys,
            mk(
                ServiceInput {
                    buffer_after_minutes: Some(10),
                    ..service("Counselling session", "A 50-minute counselling session.", 50, 200_000, "INR")
                },
                0,
            ),
        )
        .await
        .map_err(e("services"))?;
    seed_forms(s, &sys, &[psych.id, counselling.id], &[physio_syd.id, physio_blr.id]).await?;

    // (email, name, title, clinic, services, specialty, weekly windows (weekday, start, end), colour)
    type Week<'a> = &'a [(&'a [Weekday], &'a str, &'a str)];
    use Weekday::*;
    const WEEKDAYS: &[Weekday] = &[Monday, Tuesday, Wednesday, Thursday, Friday];
    let providers: Vec<(
        &str,
        &str,
        &str,
        &praxis_services::catalog::Clinic,
        Vec<&praxis_services::catalog::Service>,
        usize,
        Week,
        &str,
    )> = vec![
        (
            "dr.chen@demo.praxis.test",
            "Dr Mei Chen",
            "Clinical Psychologist",
            &sydney,
            vec![&psych],
            0,
            &[(WEEKDAYS, "09:00", "12:30"), (WEEKDAYS, "13:30", "17:00")],
            "#1f5fbf",
        ),
        (
            "sophie.martin@demo.praxis.test",
            "Sophie Martin",
            "Speech Pathologist",
            &sydney,
            vec![&speech, &group],
            1,
            &[(&[Monday, Tuesday, Wednesday, Thursday], "08:30", "17:30")],
            "#7a3fbf",
        ),
        (
            "dr.okafor@demo.praxis.test",
            "Dr James Okafor",
            "General Practitioner",
            &sydney,
            vec![&gp, &telehealth],
            3,
            &[(WEEKDAYS, "08:00", "12:00"), (WEEKDAYS, "13:00", "18:00")],
            "#1e6b3a",
        ),
        (
            "liam.obrien@demo.praxis.test",
            "Liam O'Brien",
            "Physiotherapist",
            &sydney,
            vec![&physio_syd],
            2,
            &[(&[Monday, Wednesday, Friday], "07:00", "15:00")],
            "#b35c00",
        ),
        (
            "priya.sharma@demo.praxis.test",
            "Priya Sharma",
            "Physiotherapist",
            &bengaluru,
            vec![&physio_blr, &assessment_blr],
            2,
            &[
                (&[Monday, Tuesday, Wednesday, Thursday, Friday, Saturday], "09:00", "13:00"),
                (&[Monday, Tuesday, Wednesday, Thursday, Friday], "14:00", "18:00"),
            ],
            "#0f766e",
        ),
        (
            "dr.rao@demo.praxis.test",
            "Dr Arjun Rao",
            "Counselling Psychologist",
            &bengaluru,
            vec![&counselling],
            0,
            &[(WEEKDAYS, "10:00", "18:00")],
            "#9d174d",
        ),
    ];
    let mut plans = Vec::new();
    for (email, name, title, clinic, services, specialty, week, colour) in &providers {
        let user = s
            .create_user(
                &sys,
                NewUser {
                    email: email.to_string(),
                    full_name: name.to_string(),
                    phone: None,
                    roles: vec!["provider".into()],
                    password: Some("demo-provider-pass".into()),
                },
            )
            .await
            .map_err(e("provider accounts"))?;
        let p = s
            .create_provider(
                &sys,
                ProviderInput {
                    user_id: Some(user.user.id),
                    title: title.to_string(),
                    bio: format!("{name} is a {} at {}.", title.to_lowercase(), clinic.name),
                    qualifications: String::new(),
                    fee_minor: Some(services[0].price.amount_minor),
                    fee_currency: Some(services[0].price.currency.to_string()),
                    accepting_new_patients: Some(true),
                    calendar_colour: Some(colour.to_string()),
                    active: Some(true),
                    clinic_ids: vec![clinic.id],
                    specialty_ids: vec![spec[*specialty]],
                    service_ids: services.iter().map(|sv| sv.id).collect(),
                },
            )
            .await
            .map_err(e("providers"))?;
        for (days, start, end) in week.iter() {
            for day in days.iter() {
                s.add_window(
                    &sys,
                    p.id,
                    WindowInput {
                        clinic_id: Some(clinic.id),
                        weekday: praxis_services::availability::weekday_name(*day).into(),
                        start: start.to_string(),
                        end: end.to_string(),
                        valid_from: None,
                        valid_until: None,
                    },
                )
                .await
                .map_err(e("availability"))?;
            }
        }
        plans.push(ProviderPlan {
            id: p.id,
            clinic: clinic.id,
            zone: clinic.zone(),
            services: services.iter().map(|sv| (sv.id, sv.duration_minutes)).collect(),
        });
    }

    // Exceptions and a closure in the coming weeks.
    let today_syd = now.to_zoned(sydney.zone()).date();
    let next_friday = next_weekday(today_syd, Friday, 1);
    s.add_exception(
        &sys,
        plans[2].id,
        ExceptionInput {
            from: Some(next_friday),
            until: Some(next_friday),
            kind: "closed".into(),
            reason: "Annual leave".into(),
            ..Default::default()
        },
    )
    .await
    .map_err(e("exceptions"))?;
    let short_day = next_weekday(today_syd, Wednesday, 2);
    s.add_exception(
        &sys,
        plans[0].id,
        ExceptionInput {
            clinic_id: Some(sydney.id),
            from: Some(short_day),
            until: Some(short_day),
            kind: "hours".into(),
            hours: vec![HoursRange { start: "09:00".into(), end: "12:00".into() }],
            reason: "Training in the afternoon".into(),
        },
    )
    .await
    .map_err(e("exceptions"))?;
    let today_blr = now.to_zoned(bengaluru.zone()).date();
    let holiday = next_weekday(today_blr, Thursday, 3);
    s.add_closure(
        &sys,
        bengaluru.id,
        ClosureInput { from: Some(holiday), until: Some(holiday), reason: "Public holiday".into() },
    )
    .await
    .map_err(e("closures"))?;

    // 200 patients (the demo patient's record already exists).
    let mut dice = Dice(0x5eed_2026);
    let mut patients: Vec<PatientId> = Vec::new();
    let demo_patient = s
        .search_patients(
            &sys,
            Some("patient@demo.praxis.test"),
            praxis_services::users::PageRequest::new(Some(1), Some(1)),
        )
        .await
        .map_err(e("patients"))?
        .items
        .into_iter()
        .next()
        .context("the demo patient's record")?;
    patients.push(demo_patient.id);
    for i in 0..199 {
        let given = *dice.pick(GIVEN);
        let family = *dice.pick(FAMILY);
        let ascii: String = format!("{given}.{family}")
            .chars()
            .filter(|c| c.is_ascii_alphabetic() || *c == '.')
            .collect::<String>()
            .to_lowercase();
        let year = 1945 + dice.below(75) as i16;
        let dob = jiff::civil::date(year, 1 + dice.below(12) as i8, 1 + dice.below(28) as i8);
        let p = s
            .create_patient(
                &sys,
                NewPatient {
                    given_name: given.into(),
                    family_name: family.into(),
                    email: Some(format!("{ascii}{i}@example.net")),
                    phone: Some(format!("+61 4{:02} {:03} {:03}", dice.below(100), dice.below(1000), dice.below(1000))),
                    date_of_birth: Some(dob),
                    sex: Some(
                        ["female", "male", "female", "male", "intersex", "unknown"][dice.below(6) as usize].into(),
                    ),
                    address: format!(
                        "{} {} Street, {}",
                        1 + dice.below(200),
                        dice.pick(FAMILY),
                        dice.pick(&["Sydney NSW 2000", "Parramatta NSW 2150", "Bengaluru 560001", "Manly NSW 2095"])
                    ),
                    emergency_contact: Some(praxis_services::patients::EmergencyContact {
                        name: format!("{} {family}", dice.pick(GIVEN)),
                        phone: format!("+61 4{:02} {:03} {:03}", dice.below(100), dice.below(1000), dice.below(1000)),
                        relationship: dice.pick(&["Partner", "Parent", "Sibling", "Friend"]).to_string(),
                    }),
                    insurance_provider: Some("Medicare".into()),
                    insurance_number: Some(format!(
                        "{:04} {:05} {}",
                        2000 + dice.below(8000),
                        dice.below(100_000),
                        1 + dice.below(9)
                    )),
                    confirm_duplicate: true,
                    ..NewPatient::default()
                },
            )
            .await
            .map_err(e("patients"))?;
        patients.push(p.id);
    }

    // Four weeks back and four weeks ahead.
    let mut booked = 0;
    for plan in &plans {
        let today = now.to_zoned(plan.zone.clone()).date();
        for offset in -28..=28 {
            let Ok(date) = today.checked_add(offset.days()) else { continue };
            let day_start = date.to_zoned(plan.zone.clone()).map(|z| z.timestamp()).unwrap_or(now);
            // Ask the engine for the day's free times as they were a week before (never
            // later than now: nothing is booked in the future).
            clock.set(day_start.saturating_sub(SignedDuration::from_hours(24 * 7)).unwrap_or(day_start).min(now));
            for (service, minutes) in &plan.services {
                if *service == group.id {
                    continue;
                }
                let q = praxis_services::scheduling::SlotQuery {
                    service_id: *service,
                    provider_id: Some(plan.id),
                    clinic_id: Some(plan.clinic),
                    from: Some(date),
                    until: Some(date),
                };
                let slots = s.search_slots(&sys, &q).await.map_err(e("slot search"))?;
                let every = (60 / (*minutes).max(15)).max(1) as usize + 1;
                for slot in slots.iter().step_by(every) {
                    // Busier in the past than ahead, so patients still find times.
                    let chance = if slot.start < now { 60 } else { 35 };
                    if dice.below(100) >= chance {
                        continue;
                    }
                    let patient = *dice.pick(&patients);
                    let req = BookingRequest {
                        service_id: Some(*service),
                        provider_id: Some(plan.id),
                        clinic_id: Some(plan.clinic),
                        start: Some(slot.start),
                        patient_id: Some(patient),
                        ..Default::default()
                    };
                    let Ok(b) = s.book(&sys, req, None).await else { continue };
                    booked += 1;
                    play_out(s, clock, &sys, b.appointment.id, slot.start, slot.end, now, &mut dice).await?;
                }
            }
        }
    }

    // Group sessions on Tuesdays at 16:30 (Sophie), three to five children each.
    let sophie = &plans[1];
    let today = now.to_zoned(sophie.zone.clone()).date();
    for week in -3..=3i64 {
        let tuesday = next_weekday(today, Tuesday, 0).checked_add((week * 7).days()).unwrap_or(today);
        let Ok(start) = tuesday.at(16, 30, 0, 0).to_zoned(sophie.zone.clone()).map(|z| z.timestamp()) else { continue };
        clock.set(start.saturating_sub(SignedDuration::from_hours(24 * 7)).unwrap_or(start).min(now));
        let n = 3 + dice.below(3) as usize;
        let mut first = None;
        for _ in 0..n {
            let req = BookingRequest {
                service_id: Some(group.id),
                provider_id: Some(sophie.id),
                clinic_id: Some(sophie.clinic),
                start: Some(start),
                patient_id: Some(*dice.pick(&patients)),
                ..Default::default()
            };
            if let Ok(b) = s.book(&sys, req, None).await {
                first.get_or_insert(b.appointment.id);
            }
        }
        if let Some(id) = first
            && start < now
        {
            clock.set(start);
            for a in [AppointmentAction::CheckIn, AppointmentAction::Start, AppointmentAction::Complete] {
                let _ = s.transition(&sys, id, a).await;
            }
        }
    }

    // A weekly series for the demo patient with Dr Chen, and two patients waiting.
    clock.set(now);
    let chen = &plans[0];
    let first = next_weekday(now.to_zoned(chen.zone.clone()).date(), Thursday, 1)
        .at(15, 0, 0, 0)
        .to_zoned(chen.zone.clone())
        .map(|z| z.timestamp())
        .unwrap_or(now);
    let _ = s
        .book_series(
            &sys,
            SeriesRequest {
                service_id: Some(psych.id),
                provider_id: Some(chen.id),
                clinic_id: Some(chen.clinic),
                patient_id: Some(demo_patient.id),
                first_start: Some(first),
                every_weeks: Some(1),
                count: Some(6),
                until: None,
                mode: SeriesMode::BookWhatIsFree,
                note: "Weekly therapy block".into(),
            },
        )
        .await;
    for p in patients.iter().skip(1).take(2) {
        s.join_waitlist(
            &sys,
            WaitlistInput {
                service_id: Some(psych.id),
                provider_id: Some(chen.id),
                patient_id: Some(*p),
                ..Default::default()
            },
        )
        .await
        .map_err(e("waiting list"))?;
    }
    // A patient in the middle of booking (a live hold).
    let q = praxis_services::scheduling::SlotQuery {
        service_id: gp.id,
        provider_id: Some(plans[2].id),
        clinic_id: Some(sydney.id),
        from: Some(today_syd.tomorrow().unwrap_or(today_syd)),
        until: Some(today_syd.checked_add(7.days()).unwrap_or(today_syd)),
    };
    if let Some(slot) = s.search_slots(&sys, &q).await.map_err(e("slot search"))?.into_iter().nth(3) {
        let _ = s
            .book(
                &sys,
                BookingRequest {
                    service_id: Some(gp.id),
                    provider_id: Some(plans[2].id),
                    clinic_id: Some(sydney.id),
                    start: Some(slot.start),
                    patient_id: Some(*dice.pick(&patients)),
                    hold: true,
                    ..Default::default()
                },
                None,
            )
            .await;
    }
    // Every status on the board: a few requests awaiting confirmation (patient bookings of
    // a service that needs approval), patients waiting and with the provider right now,
    // and a hold that lapsed.
    let demo_user =
        praxis_store::users::by_email(s.db(), "patient@demo.praxis.test").await?.context("demo patient account")?;
    let patient_actor = Actor {
        user_id: Some(praxis_domain::UserId(demo_user.id)),
        label: demo_user.email.clone(),
        name: demo_user.full_name.clone(),
        roles: praxis_domain::Roles::of(&[praxis_domain::Role::Patient]),
        ..Actor::system("patient")
    };
    let priya = &plans[4];
    let q = praxis_services::scheduling::SlotQuery {
        service_id: assessment_blr.id,
        provider_id: Some(priya.id),
        clinic_id: Some(priya.clinic),
        from: Some(today_blr.checked_add(2.days()).unwrap_or(today_blr)),
        until: Some(today_blr.checked_add(12.days()).unwrap_or(today_blr)),
    };
    for slot in s.search_slots(&sys, &q).await.map_err(e("slot search"))?.into_iter().step_by(9).take(2) {
        let req = BookingRequest {
            service_id: Some(assessment_blr.id),
            provider_id: Some(priya.id),
            clinic_id: Some(priya.clinic),
            start: Some(slot.start),
            ..Default::default()
        };
        let _ = s.book(&patient_actor, req, None).await;
    }
    let upcoming = s
        .list_appointments(
            &sys,
            praxis_services::scheduling::AppointmentFilter {
                from: Some(now),
                statuses: vec!["confirmed".into()],
                ..Default::default()
            },
            praxis_services::users::PageRequest::new(Some(1), Some(3)),
        )
        .await
        .map_err(e("appointments"))?;
    for (i, a) in upcoming.items.iter().enumerate() {
        let _ = s.transition(&sys, a.id, AppointmentAction::CheckIn).await;
        if i == 0 {
            let _ = s.transition(&sys, a.id, AppointmentAction::Start).await;
        }
    }
    let q = praxis_services::scheduling::SlotQuery {
        service_id: physio_syd.id,
        provider_id: Some(plans[3].id),
        clinic_id: Some(sydney.id),
        from: Some(today_syd.checked_add(3.days()).unwrap_or(today_syd)),
        until: Some(today_syd.checked_add(10.days()).unwrap_or(today_syd)),
    };
    if let Some(slot) = s.search_slots(&sys, &q).await.map_err(e("slot search"))?.into_iter().next() {
        clock.set(now.saturating_sub(SignedDuration::from_hours(1)).unwrap_or(now));
        let _ = s
            .book(
                &patient_actor,
                BookingRequest {
                    service_id: Some(physio_syd.id),
                    provider_id: Some(plans[3].id),
                    clinic_id: Some(sydney.id),
                    start: Some(slot.start),
                    hold: true,
                    ..Default::default()
                },
                None,
            )
            .await;
        clock.set(now);
        s.run_housekeeping().await.map_err(e("housekeeping"))?;
    }
    tracing::info!(appointments = booked, "demo appointments booked");
    seed_notes(s, clock, now).await?;
    billing::seed_billing(s, clock, now, sydney.id, bengaluru.id).await?;
    Ok(())
}

/// Two intake questionnaires, sent automatically when a patient first books one of the
/// services they belong to (so the demo's bookings hand them out).
async fn seed_forms(s: &Services, sys: &Actor, talking: &[ServiceId], physio: &[ServiceId]) -> Result<()> {
    use praxis_services::forms::FormInput;
    let forms = [
        (
            "New client questionnaire",
            "Before your first psychology or counselling session.",
            talking,
            serde_json::json!([
                {"id": "reason", "label": "What would you like help with?", "kind": "text", "required": true},
                {"id": "mood", "label": "How has your mood been over the last two weeks?", "kind": "scale", "min": 0, "max": 10, "required": true, "help": "0 = very low, 10 = very good"},
                {"id": "sleep", "label": "How many hours do you usually sleep?", "kind": "number", "min": 0, "max": 24},
                {"id": "seen_before", "label": "Have you seen a psychologist or counsellor before?", "kind": "yes_no", "required": true},
                {"id": "referral", "label": "Who referred you?", "kind": "choice", "options": ["My GP", "A friend or family member", "My workplace", "I found you myself"]}
            ]),
        ),
        (
            "Physiotherapy intake",
            "Before your first physiotherapy appointment.",
            physio,
            serde_json::json!([
                {"id": "problem", "label": "What is the problem you are coming in for?", "kind": "text", "required": true},
                {"id": "areas", "label": "Where do you feel it?", "kind": "multi_choice", "options": ["Neck", "Shoulder", "Back", "Hip", "Knee", "Ankle or foot"]},
                {"id": "started", "label": "When did it start?", "kind": "date"},
                {"id": "pain", "label": "How bad is the pain today?", "kind": "scale", "min": 0, "max": 10, "required": true},
                {"id": "surgery", "label": "Have you had surgery for it?", "kind": "yes_no", "required": true}
            ]),
        ),
    ];
    for (name, description, services, questions) in forms {
        let questions = serde_json::from_value(questions).context("demo form questions")?;
        s.create_form(
            sys,
            FormInput {
                name: name.into(),
                description: description.into(),
                questions,
                active: Some(true),
                service_ids: Some(services.to_vec()),
            },
        )
        .await
        .map_err(|err| anyhow::anyhow!("seeding intake forms: {err}"))?;
    }
    Ok(())
}

/// Clinical notes for completed visits, written and signed by the treating provider
/// shortly after each visit: an initial assessment at a patient's first visit with a
/// provider, then therapy-session notes (psychology, speech therapy) or progress notes;
/// a few are still drafts.
async fn seed_notes(s: &Services, clock: &SeedClock, now: Timestamp) -> Result<()> {
    use praxis_services::clinical::{AssessmentKind, Attendance, NewNote, NoteContent, NoteKind, Score};
    let sys = Actor::system("demo");
    let e = |what: &'static str| move |err: praxis_services::ServiceError| anyhow::anyhow!("seeding {what}: {err}");
    let providers = s.list_providers(&sys).await.map_err(e("providers"))?;
    let done = s
        .list_appointments(
            &sys,
            praxis_services::scheduling::AppointmentFilter { statuses: vec!["completed".into()], ..Default::default() },
            praxis_services::users::PageRequest::new(Some(1), Some(2000)),
        )
        .await
        .map_err(e("appointments"))?;
    let mut dice = Dice(7);
    let mut seen = std::collections::HashSet::new();
    let mut written = 0;
    for a in &done.items {
        let Some(provider) = providers.iter().find(|p| p.id == a.provider_id) else { continue };
        let author = Actor {
            user_id: Some(provider.user_id),
            label: provider.email.clone(),
            name: provider.name.clone(),
            roles: praxis_domain::Roles::of(&[praxis_domain::Role::Provider]),
            ..Actor::system("demo")
        };
        for p in a.participants.iter().filter(|p| p.status == "booked") {
            clock.set(
                a.end.saturating_add(SignedDuration::from_mins(20 + dice.below(90) as i64)).unwrap_or(a.end).min(now),
            );
            let first = seen.insert((a.provider_id, p.patient_id));
            let talking =
                ["Psychology", "Speech"].iter().any(|w| a.service_name.contains(w) || provider.title.contains(w));
            let (kind, assessment_kind, content) = if first {
                let content = NoteContent {
                    findings: dice.pick(DEMO_FINDINGS).to_string(),
                    recommendations: dice.pick(DEMO_RECOMMENDATIONS).to_string(),
                    goals: vec![dice.pick(DEMO_GOALS).to_string(), dice.pick(DEMO_GOALS).to_string()],
                    scores: vec![Score {
                        measure: dice
                            .pick(&["PHQ-9", "GAD-7", "Berg Balance Scale", "Oswestry Disability Index"])
                            .to_string(),
                        value: (5 + dice.below(15)).to_string(),
                        interpretation: dice.pick(&["mild", "moderate", "moderately severe"]).to_string(),
                    }],
                    ..Default::default()
                };
                (NoteKind::Assessment, Some(AssessmentKind::Initial), content)
            } else if talking {
                let content = NoteContent {
                    objectives: dice.pick(DEMO_OBJECTIVES).to_string(),
                    activities: dice.pick(DEMO_ACTIVITIES).to_string(),
                    observations: dice.pick(DEMO_OBSERVATIONS).to_string(),
                    progress: dice.pick(DEMO_PROGRESS).to_string(),
                    homework: dice.pick(DEMO_HOMEWORK).to_string(),
                    plan: dice.pick(DEMO_PLANS).to_string(),
                    attendance: Some(if dice.below(10) == 0 { Attendance::Partial } else { Attendance::Attended }),
                    patient_response: dice
                        .pick(&["Engaged throughout.", "Tired but willing.", "Keen to continue."])
                        .to_string(),
                    ..Default::default()
                };
                (NoteKind::TherapySession, None, content)
            } else {
                let text =
                    format!("{} {} {}", dice.pick(DEMO_OBSERVATIONS), dice.pick(DEMO_PROGRESS), dice.pick(DEMO_PLANS));
                (NoteKind::Progress, None, NoteContent { text, ..Default::default() })
            };
            let note = NewNote {
                kind: Some(kind),
                assessment_kind,
                appointment_id: Some(a.id),
                content,
                next_review_date: first
                    .then(|| a.start.to_zoned(TimeZone::UTC).date().checked_add(42.days()).ok())
                    .flatten(),
            };
            let n = s.create_note(&author, p.patient_id, note).await.map_err(e("a note"))?;
            if dice.below(20) != 0 {
                s.sign_note(&author, n.id).await.map_err(e("signing a note"))?;
            }
            written += 1;
        }
    }
    clock.set(now);
    tracing::info!(notes = written, "demo notes written");
    Ok(())
}

const DEMO_FINDINGS: &[&str] = &[
    "Low mood for three months after a job loss; sleep broken, appetite reduced. No current risk to self.",
    "Persistent lower back pain after lifting; pain 6/10 on flexion, reduced range of movement.",
    "Expressive language below age level; good comprehension and eager to communicate.",
    "Generalised worry most days, muscle tension and poor concentration at work.",
    "Right knee stiffness after arthroscopy; quadriceps weakness, walks with a slight limp.",
];
const DEMO_RECOMMENDATIONS: &[&str] = &[
    "Weekly sessions for eight weeks, then review.",
    "Home exercise programme twice daily; review in two weeks.",
    "Fortnightly therapy with a home practice plan for the family.",
    "Cognitive behavioural therapy; liaise with GP about a mental health care plan.",
];
const DEMO_GOALS: &[&str] = &[
    "Return to full-time work",
    "Sleep at least seven hours most nights",
    "Walk 30 minutes without pain",
    "Use two-word phrases at home",
    "Climb stairs without a rail",
    "Reduce worry to under an hour a day",
];
const DEMO_OBJECTIVES: &[&str] = &[
    "Review the week and practise thought records.",
    "Build two-word phrases in play.",
    "Practise graded exposure, step 3.",
];
const DEMO_ACTIVITIES: &[&str] = &[
    "Thought record worksheet; breathing practice.",
    "Picture cards and shared book reading.",
    "Role-play of a difficult conversation.",
];
const DEMO_OBSERVATIONS: &[&str] = &[
    "Brighter today; reports two good days.",
    "Moved more freely; pain 4/10 on flexion.",
    "Used six new words unprompted.",
    "Anxious at the start, settled after ten minutes.",
];
const DEMO_PROGRESS: &[&str] =
    &["Steady progress towards goals.", "Slower this week after a cold.", "Goal for the month already met."];
const DEMO_HOMEWORK: &[&str] = &[
    "Daily thought record.",
    "Ten minutes of picture naming each evening.",
    "Exercises twice daily; walk 20 minutes.",
];
const DEMO_PLANS: &[&str] = &[
    "Continue the current plan next session.",
    "Introduce the next exposure step.",
    "Review goals and consider discharge in a month.",
];

/// The `n`-th next `weekday` on or after `from` (n = 0: the first).
fn next_weekday(from: Date, weekday: Weekday, n: i64) -> Date {
    let ahead = (weekday.to_monday_zero_offset() - from.weekday().to_monday_zero_offset()).rem_euclid(7);
    from.checked_add((i64::from(ahead) + 7 * n).days()).unwrap_or(from)
}

/// Gives a booked appointment the life it would have had by now.
#[allow(clippy::too_many_arguments)]
async fn play_out(
    s: &Services,
    clock: &SeedClock,
    sys: &Actor,
    id: AppointmentId,
    start: Timestamp,
    end: Timestamp,
    now: Timestamp,
    dice: &mut Dice,
) -> Result<()> {
    use AppointmentAction::*;
    let roll = dice.below(100);
    let cancel = |reason: &str| CancelRequest { reason: reason.into(), ..Default::default() };
    if start > now {
        // Ahead: mostly confirmed; a few cancelled in advance.
        if roll < 7 {
            clock.set(now.saturating_sub(SignedDuration::from_hours(1 + dice.below(48) as i64)).unwrap_or(now));
            let _ = s.cancel_appointment(sys, id, cancel("Patient is travelling")).await;
        }
        return Ok(());
    }
    if roll < 8 {
        // Cancelled; some of them late.
        let before = if dice.below(3) == 0 { SignedDuration::from_hours(3) } else { SignedDuration::from_hours(72) };
        clock.set(start.saturating_sub(before).unwrap_or(start));
        let _ = s
            .cancel_appointment(sys, id, cancel(if before.as_hours() < 24 { "Unwell" } else { "Work commitment" }))
            .await;
        return Ok(());
    }
    if roll < 15 {
        clock.set(start.saturating_add(SignedDuration::from_mins(20)).unwrap_or(start));
        let _ = s.transition(sys, id, MarkNoShow).await;
        return Ok(());
    }
    let mid = start.saturating_add(end.duration_since(start) / 2).unwrap_or(start);
    let steps: &[(AppointmentAction, Timestamp)] = if end <= now {
        &[
            (CheckIn, start.saturating_sub(SignedDuration::from_mins(5)).unwrap_or(start)),
            (Start, start),
            (Complete, end),
        ]
    } else if mid <= now {
        &[(CheckIn, start.saturating_sub(SignedDuration::from_mins(5)).unwrap_or(start)), (Start, start)]
    } else {
        &[(CheckIn, start.saturating_sub(SignedDuration::from_mins(5)).unwrap_or(start))]
    };
    for (action, at) in steps {
        clock.set((*at).min(now));
        s.transition(sys, id, *action).await.map_err(|e| anyhow::anyhow!("seeding the workflow: {e}"))?;
    }
    Ok(())
}

/// Prints where to go and how to log in.
pub fn print_logins(args: &ServeArgs) {
    println!();
    println!("  Praxis demo clinic → http://{}", args.bind);
    println!();
    println!("  Demo logins (email / password):");
    for (email, _, roles, password) in DEMO_LOGINS {
        println!("    {:<10} {email:<30} {password}", roles.join(","));
    }
    println!("  (Every provider account uses the provider password; see Setup › Providers.)");
    println!();
}
