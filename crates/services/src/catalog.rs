//! The clinic's catalogue: clinics, specialties, providers and services.

use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use jiff::Timestamp;
use praxis_domain::{
    ClinicId, Currency, Email, FieldError, Money, Permission, Phone, ProviderId, Role, ServiceId, SpecialtyId, UserId,
    Validation,
};
use praxis_store::catalog::{self, ClinicRow, Link, ProviderRow, ServiceRow};
use praxis_store::{DbTime, users};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// A clinic location.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Clinic {
    /// Id.
    pub id: ClinicId,
    /// Name.
    pub name: String,
    /// Street address.
    pub address: String,
    /// Phone.
    pub phone: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// IANA time zone; every local time at this clinic is in it.
    pub time_zone: String,
    /// Open for bookings.
    pub active: bool,
}

impl Clinic {
    pub(crate) fn from_row(r: ClinicRow) -> Self {
        Clinic {
            id: ClinicId(r.id),
            name: r.name,
            address: r.address,
            phone: r.phone,
            email: r.email,
            time_zone: r.time_zone,
            active: r.active,
        }
    }

    /// The clinic's zone (UTC if the stored name is unknown, which validation prevents).
    pub fn zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

/// A clinic as created or replaced.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ClinicInput {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Street address.
    #[serde(default)]
    pub address: String,
    /// Phone.
    pub phone: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// IANA time zone such as `Australia/Sydney`.
    #[serde(default)]
    pub time_zone: String,
    /// Open for bookings (default true).
    pub active: Option<bool>,
}

/// A specialty.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Specialty {
    /// Id.
    pub id: SpecialtyId,
    /// Name.
    pub name: String,
}

/// A provider's public profile and where they work.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Provider {
    /// Id.
    pub id: ProviderId,
    /// Their login account.
    pub user_id: UserId,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Title ("Clinical Psychologist").
    pub title: String,
    /// Biography.
    pub bio: String,
    /// Qualifications.
    pub qualifications: String,
    /// Standard consultation fee.
    pub consultation_fee: Option<Money>,
    /// Whether new patients may book.
    pub accepting_new_patients: bool,
    /// Calendar colour `#rrggbb`.
    pub calendar_colour: String,
    /// Bookable.
    pub active: bool,
    /// Clinics they work at.
    pub clinic_ids: Vec<ClinicId>,
    /// Their specialties.
    pub specialty_ids: Vec<SpecialtyId>,
    /// Services they offer.
    pub service_ids: Vec<ServiceId>,
}

/// A provider profile as created or replaced.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ProviderInput {
    /// The account of the provider (must hold the provider role). Only on create.
    pub user_id: Option<UserId>,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Biography.
    #[serde(default)]
    pub bio: String,
    /// Qualifications.
    #[serde(default)]
    pub qualifications: String,
    /// Consultation fee in minor units.
    pub fee_minor: Option<i64>,
    /// Currency of the fee.
    pub fee_currency: Option<String>,
    /// Accepting new patients (default true).
    pub accepting_new_patients: Option<bool>,
    /// Calendar colour `#rrggbb` (default blue).
    pub calendar_colour: Option<String>,
    /// Bookable (default true).
    pub active: Option<bool>,
    /// Clinics they work at.
    #[serde(default)]
    pub clinic_ids: Vec<ClinicId>,
    /// Specialties.
    #[serde(default)]
    pub specialty_ids: Vec<SpecialtyId>,
    /// Services offered.
    #[serde(default)]
    pub service_ids: Vec<ServiceId>,
}

/// In person or by video.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceMode {
    /// At the clinic.
    InPerson,
    /// By video link.
    Video,
}

impl ServiceMode {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceMode::InPerson => "in_person",
            ServiceMode::Video => "video",
        }
    }
}

/// A service (an appointment type).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Service {
    /// Id.
    pub id: ServiceId,
    /// Name.
    pub name: String,
    /// Description for patients.
    pub description: String,
    /// Specialty.
    pub specialty_id: Option<SpecialtyId>,
    /// Length of the appointment.
    pub duration_minutes: i64,
    /// Price.
    pub price: Money,
    /// Time kept free before.
    pub buffer_before_minutes: i64,
    /// Time kept free after.
    pub buffer_after_minutes: i64,
    /// 1 = individual; more = a group session for up to this many patients.
    pub capacity: i64,
    /// In person or video.
    pub mode: ServiceMode,
    /// How long ahead at least it must be booked.
    pub min_notice_minutes: i64,
    /// How many days ahead at most it can be booked.
    pub booking_horizon_days: i64,
    /// Cancelling less than this long before the start is a late cancellation (0 = no policy).
    pub late_cancellation_minutes: i64,
    /// Offered start times are this many minutes apart.
    pub slot_step_minutes: i64,
    /// Patient bookings wait for the clinic's confirmation.
    pub requires_approval: bool,
    /// Bookable.
    pub active: bool,
}

impl Service {
    pub(crate) fn from_row(r: ServiceRow) -> ServiceResult<Self> {
        let currency =
            Currency::parse(&r.currency).map_err(|e| ServiceError::Internal(format!("service currency: {e}")))?;
        Ok(Service {
            id: ServiceId(r.id),
            name: r.name,
            description: r.description,
            specialty_id: r.specialty_id.map(SpecialtyId),
            duration_minutes: r.duration_min,
            price: Money::new(r.price_minor, currency),
            buffer_before_minutes: r.buffer_before_min,
            buffer_after_minutes: r.buffer_after_min,
            capacity: r.capacity,
            mode: if r.mode == "video" { ServiceMode::Video } else { ServiceMode::InPerson },
            min_notice_minutes: r.min_notice_min,
            booking_horizon_days: r.horizon_days,
            late_cancellation_minutes: r.late_cancel_min,
            slot_step_minutes: r.slot_step_min,
            requires_approval: r.requires_approval,
            active: r.active,
        })
    }

    /// The slot engine's view of this service.
    pub fn rules(&self) -> praxis_domain::ServiceRules {
        use jiff::SignedDuration as D;
        praxis_domain::ServiceRules {
            duration: D::from_mins(self.duration_minutes),
            buffer_before: D::from_mins(self.buffer_before_minutes),
            buffer_after: D::from_mins(self.buffer_after_minutes),
            min_notice: D::from_mins(self.min_notice_minutes),
            booking_horizon: D::from_hours(24 * self.booking_horizon_days),
            step: D::from_mins(self.slot_step_minutes),
        }
    }

    /// True for group sessions.
    pub fn is_group(&self) -> bool {
        self.capacity > 1
    }
}

/// A service as created or replaced.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ServiceInput {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Specialty.
    pub specialty_id: Option<SpecialtyId>,
    /// Minutes (5–720).
    pub duration_minutes: Option<i64>,
    /// Price in minor units (default 0).
    pub price_minor: Option<i64>,
    /// Currency (default the clinic's usual, AUD).
    pub currency: Option<String>,
    /// Minutes before (0–240).
    pub buffer_before_minutes: Option<i64>,
    /// Minutes after (0–240).
    pub buffer_after_minutes: Option<i64>,
    /// Capacity (1–100, default 1).
    pub capacity: Option<i64>,
    /// `in_person` (default) or `video`.
    pub mode: Option<ServiceMode>,
    /// Minutes (0–43200).
    pub min_notice_minutes: Option<i64>,
    /// Days (1–730, default 90).
    pub booking_horizon_days: Option<i64>,
    /// Minutes (0–20160).
    pub late_cancellation_minutes: Option<i64>,
    /// Minutes between offered starts (5–240, default 15).
    pub slot_step_minutes: Option<i64>,
    /// Patient bookings need confirmation (default false).
    pub requires_approval: Option<bool>,
    /// Bookable (default true).
    pub active: Option<bool>,
}

fn range(v: &mut Validation, field: &str, value: Option<i64>, default: i64, min: i64, max: i64) -> i64 {
    let n = value.unwrap_or(default);
    if n < min || n > max {
        v.add(field, "out_of_range", format!("Use a number from {min} to {max}."));
    }
    n
}

fn colour(v: &mut Validation, value: Option<&str>) -> String {
    let c = value.map(str::trim).filter(|c| !c.is_empty()).unwrap_or("#1f5fbf");
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit());
    if !ok {
        v.add("calendar_colour", "invalid", "Use a colour like #1f5fbf.");
    }
    c.to_ascii_lowercase()
}

impl Services {
    fn validate_clinic(
        &self,
        input: &ClinicInput,
    ) -> ServiceResult<(String, String, Option<String>, Option<String>, String)> {
        let mut v = Validation::new();
        let name = v.required("name", &input.name, 200);
        let address = input.address.trim().to_string();
        if address.chars().count() > 500 {
            v.add("address", "too_long", "Use at most 500 characters.");
        }
        let phone = match input.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => v.check("phone", Phone::parse(p)).map(|p| p.as_str().to_string()),
            None => None,
        };
        let email = match input.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => v.check("email", Email::parse(e)).map(|e| e.as_str().to_string()),
            None => None,
        };
        let tz = input.time_zone.trim();
        if tz.is_empty() {
            v.add("time_zone", "required", "Choose the clinic's time zone.");
        } else if jiff::tz::TimeZone::get(tz).is_err() {
            v.add(
                "time_zone",
                "invalid",
                format!("{tz:?} is not a known time zone; use a name like Australia/Sydney."),
            );
        }
        v.finish()?;
        Ok((name.unwrap_or_default(), address, phone, email, tz.to_string()))
    }

    /// Adds a clinic (administrators).
    pub async fn create_clinic(&self, actor: &Actor, input: ClinicInput) -> ServiceResult<Clinic> {
        actor.require(Permission::ManageCatalog)?;
        let (name, address, phone, email, time_zone) = self.validate_clinic(&input)?;
        let now = self.now();
        let row = ClinicRow {
            id: ClinicId::new().0,
            name,
            address,
            phone,
            email,
            time_zone,
            active: input.active.unwrap_or(true),
            created_at: DbTime(now),
            updated_at: DbTime(now),
        };
        let mut tx = self.db().begin().await?;
        catalog::upsert_clinic(&mut tx, &row).await?;
        tx.audit(self.audit_entry(
            actor,
            "clinic.create",
            "clinic",
            Some(row.id.to_string()),
            format!("created clinic {}", row.name),
        ));
        tx.commit().await?;
        Ok(Clinic::from_row(row))
    }

    /// Replaces a clinic's details (administrators).
    pub async fn update_clinic(&self, actor: &Actor, id: ClinicId, input: ClinicInput) -> ServiceResult<Clinic> {
        actor.require(Permission::ManageCatalog)?;
        let (name, address, phone, email, time_zone) = self.validate_clinic(&input)?;
        let current = catalog::clinic(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Clinic" })?;
        let row = ClinicRow {
            name,
            address,
            phone,
            email,
            time_zone,
            active: input.active.unwrap_or(current.active),
            updated_at: DbTime(self.now()),
            ..current.clone()
        };
        let mut tx = self.db().begin().await?;
        catalog::upsert_clinic(&mut tx, &row).await?;
        let zone_note = if row.time_zone != current.time_zone {
            format!("; time zone {} → {}", current.time_zone, row.time_zone)
        } else {
            String::new()
        };
        tx.audit(self.audit_entry(
            actor,
            "clinic.update",
            "clinic",
            Some(id.to_string()),
            format!("updated clinic {}{zone_note}", row.name),
        ));
        tx.commit().await?;
        Ok(Clinic::from_row(row))
    }

    /// Every clinic.
    pub async fn list_clinics(&self, actor: &Actor) -> ServiceResult<Vec<Clinic>> {
        actor.require(Permission::ViewDirectory)?;
        Ok(catalog::clinics(self.db()).await?.into_iter().map(Clinic::from_row).collect())
    }

    /// One clinic.
    pub async fn get_clinic(&self, actor: &Actor, id: ClinicId) -> ServiceResult<Clinic> {
        actor.require(Permission::ViewDirectory)?;
        catalog::clinic(self.db(), id).await?.map(Clinic::from_row).ok_or(ServiceError::NotFound { what: "Clinic" })
    }

    /// Adds a specialty (administrators); names are unique regardless of case.
    pub async fn create_specialty(&self, actor: &Actor, name: &str) -> ServiceResult<Specialty> {
        actor.require(Permission::ManageCatalog)?;
        let mut v = Validation::new();
        let name = v.required("name", name, 100);
        v.finish()?;
        let name = name.unwrap_or_default();
        let id = SpecialtyId::new();
        let mut tx = self.db().begin().await?;
        match catalog::insert_specialty(&mut tx, id, &name, self.now()).await {
            Err(e) if e.is_unique("specialties") => {
                return Err(ServiceError::Conflict {
                    code: "specialty_exists",
                    message: "That specialty already exists.".into(),
                    fields: vec![FieldError {
                        field: "name".into(),
                        code: "taken".into(),
                        message: "That specialty already exists.".into(),
                    }],
                });
            }
            other => other?,
        }
        tx.audit(self.audit_entry(
            actor,
            "specialty.create",
            "specialty",
            Some(id.to_string()),
            format!("created specialty {name}"),
        ));
        tx.commit().await?;
        Ok(Specialty { id, name })
    }

    /// Every specialty.
    pub async fn list_specialties(&self, actor: &Actor) -> ServiceResult<Vec<Specialty>> {
        actor.require(Permission::ViewDirectory)?;
        Ok(catalog::specialties(self.db())
            .await?
            .into_iter()
            .map(|r| Specialty { id: SpecialtyId(r.id), name: r.name })
            .collect())
    }

    fn validate_service(&self, input: &ServiceInput) -> ServiceResult<ServiceRow> {
        let mut v = Validation::new();
        let name = v.required("name", &input.name, 200).unwrap_or_default();
        let description = input.description.trim().to_string();
        if description.chars().count() > 2000 {
            v.add("description", "too_long", "Use at most 2000 characters.");
        }
        let duration = range(
            &mut v,
            "duration_minutes",
            input.duration_minutes,
            0,
            5,
            praxis_domain::appointment::LONGEST_APPOINTMENT_MINUTES,
        );
        if input.duration_minutes.is_none() {
            v.add("duration_minutes", "required", "Give the length of the appointment in minutes.");
        }
        let price = range(&mut v, "price_minor", input.price_minor, 0, 0, 100_000_000);
        let currency = v.check("currency", Currency::parse(input.currency.as_deref().unwrap_or("AUD")));
        let before = range(&mut v, "buffer_before_minutes", input.buffer_before_minutes, 0, 0, 240);
        let after = range(&mut v, "buffer_after_minutes", input.buffer_after_minutes, 0, 0, 240);
        let capacity = range(&mut v, "capacity", input.capacity, 1, 1, 100);
        let notice = range(&mut v, "min_notice_minutes", input.min_notice_minutes, 0, 0, 43_200);
        let horizon = range(&mut v, "booking_horizon_days", input.booking_horizon_days, 90, 1, 730);
        let late = range(&mut v, "late_cancellation_minutes", input.late_cancellation_minutes, 0, 0, 20_160);
        let step = range(&mut v, "slot_step_minutes", input.slot_step_minutes, 15, 5, 240);
        v.finish()?;
        let now = DbTime(self.now());
        Ok(ServiceRow {
            id: ServiceId::new().0,
            name,
            description,
            specialty_id: input.specialty_id.map(|s| s.0),
            duration_min: duration,
            price_minor: price,
            currency: currency.map(|c| c.as_str().to_string()).unwrap_or_default(),
            buffer_before_min: before,
            buffer_after_min: after,
            capacity,
            mode: input.mode.unwrap_or(ServiceMode::InPerson).as_str().to_string(),
            min_notice_min: notice,
            horizon_days: horizon,
            late_cancel_min: late,
            slot_step_min: step,
            requires_approval: input.requires_approval.unwrap_or(false),
            active: input.active.unwrap_or(true),
            created_at: now,
            updated_at: now,
        })
    }

    async fn check_specialty(&self, id: Option<SpecialtyId>) -> ServiceResult<()> {
        if let Some(s) = id
            && !catalog::specialties(self.db()).await?.iter().any(|r| r.id == s.0)
        {
            return Err(ServiceError::invalid("specialty_id", "unknown", "There is no such specialty."));
        }
        Ok(())
    }

    /// Adds a service (administrators).
    pub async fn create_service(&self, actor: &Actor, input: ServiceInput) -> ServiceResult<Service> {
        actor.require(Permission::ManageCatalog)?;
        let row = self.validate_service(&input)?;
        self.check_specialty(input.specialty_id).await?;
        let mut tx = self.db().begin().await?;
        catalog::upsert_service(&mut tx, &row).await?;
        tx.audit(self.audit_entry(
            actor,
            "service.create",
            "service",
            Some(row.id.to_string()),
            format!("created service {} ({} min, capacity {})", row.name, row.duration_min, row.capacity),
        ));
        tx.commit().await?;
        Service::from_row(row)
    }

    /// Replaces a service's settings (administrators). Existing appointments keep their
    /// times; the new rules apply to new bookings.
    pub async fn update_service(&self, actor: &Actor, id: ServiceId, input: ServiceInput) -> ServiceResult<Service> {
        actor.require(Permission::ManageCatalog)?;
        let current = catalog::service(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Service" })?;
        let row = ServiceRow { id: current.id, created_at: current.created_at, ..self.validate_service(&input)? };
        self.check_specialty(input.specialty_id).await?;
        let mut tx = self.db().begin().await?;
        catalog::upsert_service(&mut tx, &row).await?;
        tx.audit(self.audit_entry(
            actor,
            "service.update",
            "service",
            Some(id.to_string()),
            format!("updated service {}", row.name),
        ));
        tx.commit().await?;
        Service::from_row(row)
    }

    /// Every service.
    pub async fn list_services(&self, actor: &Actor) -> ServiceResult<Vec<Service>> {
        actor.require(Permission::ViewDirectory)?;
        catalog::services(self.db()).await?.into_iter().map(Service::from_row).collect()
    }

    /// One service.
    pub async fn get_service(&self, actor: &Actor, id: ServiceId) -> ServiceResult<Service> {
        actor.require(Permission::ViewDirectory)?;
        let row = catalog::service(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Service" })?;
        Service::from_row(row)
    }

    async fn provider_links(&self) -> ServiceResult<HashMap<Uuid, (Vec<ClinicId>, Vec<SpecialtyId>, Vec<ServiceId>)>> {
        let mut m: HashMap<Uuid, (Vec<ClinicId>, Vec<SpecialtyId>, Vec<ServiceId>)> = HashMap::new();
        for l in catalog::links(self.db(), Link::Clinics).await? {
            m.entry(l.provider_id).or_default().0.push(ClinicId(l.other_id));
        }
        for l in catalog::links(self.db(), Link::Specialties).await? {
            m.entry(l.provider_id).or_default().1.push(SpecialtyId(l.other_id));
        }
        for l in catalog::links(self.db(), Link::Services).await? {
            m.entry(l.provider_id).or_default().2.push(ServiceId(l.other_id));
        }
        Ok(m)
    }

    fn provider_view(r: ProviderRow, links: Option<&(Vec<ClinicId>, Vec<SpecialtyId>, Vec<ServiceId>)>) -> Provider {
        let fee = match (r.fee_minor, r.fee_currency.as_deref().and_then(|c| Currency::parse(c).ok())) {
            (Some(amount), Some(cur)) => Some(Money::new(amount, cur)),
            _ => None,
        };
        let (clinic_ids, specialty_ids, service_ids) = links.cloned().unwrap_or_default();
        Provider {
            id: ProviderId(r.id),
            user_id: UserId(r.user_id),
            name: r.full_name,
            email: r.email,
            title: r.title,
            bio: r.bio,
            qualifications: r.qualifications,
            consultation_fee: fee,
            accepting_new_patients: r.accepting_new_patients,
            calendar_colour: r.calendar_colour,
            active: r.active,
            clinic_ids,
            specialty_ids,
            service_ids,
        }
    }

    /// Every provider with where they work and what they offer.
    pub async fn list_providers(&self, actor: &Actor) -> ServiceResult<Vec<Provider>> {
        actor.require(Permission::ViewDirectory)?;
        let links = self.provider_links().await?;
        Ok(catalog::providers(self.db())
            .await?
            .into_iter()
            .map(|r| {
                let l = links.get(&r.id);
                Self::provider_view(r, l)
            })
            .collect())
    }

    /// One provider.
    pub async fn get_provider(&self, actor: &Actor, id: ProviderId) -> ServiceResult<Provider> {
        actor.require(Permission::ViewDirectory)?;
        let r = catalog::provider(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Provider" })?;
        let links = self.provider_links().await?;
        let l = links.get(&r.id);
        Ok(Self::provider_view(r, l))
    }

    /// The provider profile of the acting user, if they have one.
    pub async fn my_provider(&self, actor: &Actor) -> ServiceResult<Option<Provider>> {
        let Some(user) = actor.user_id else { return Ok(None) };
        let Some(r) = catalog::provider_of_user(self.db(), user).await? else { return Ok(None) };
        let links = self.provider_links().await?;
        let l = links.get(&r.id);
        Ok(Some(Self::provider_view(r, l)))
    }

    async fn validate_provider(
        &self,
        input: &ProviderInput,
        v: &mut Validation,
    ) -> ServiceResult<(Option<i64>, Option<String>, String)> {
        for (field, text, max) in
            [("title", &input.title, 200), ("bio", &input.bio, 5000), ("qualifications", &input.qualifications, 2000)]
        {
            if text.chars().count() > max {
                v.add(field, "too_long", format!("Use at most {max} characters."));
            }
        }
        let fee = match input.fee_minor {
            Some(n) if !(0..=100_000_000).contains(&n) => {
                v.add("fee_minor", "out_of_range", "Use an amount from 0 upwards.");
                None
            }
            other => other,
        };
        let currency = match (&input.fee_currency, fee) {
            (Some(c), _) => v.check("fee_currency", Currency::parse(c)).map(|c| c.as_str().to_string()),
            (None, Some(_)) => Some("AUD".to_string()),
            (None, None) => None,
        };
        let colour = colour(v, input.calendar_colour.as_deref());
        let clinics: Vec<Uuid> = catalog::clinics(self.db()).await?.into_iter().map(|c| c.id).collect();
        if input.clinic_ids.iter().any(|c| !clinics.contains(&c.0)) {
            v.add("clinic_ids", "unknown", "One of the clinics does not exist.");
        }
        let specialties: Vec<Uuid> = catalog::specialties(self.db()).await?.into_iter().map(|s| s.id).collect();
        if input.specialty_ids.iter().any(|s| !specialties.contains(&s.0)) {
            v.add("specialty_ids", "unknown", "One of the specialties does not exist.");
        }
        let services: Vec<Uuid> = catalog::services(self.db()).await?.into_iter().map(|s| s.id).collect();
        if input.service_ids.iter().any(|s| !services.contains(&s.0)) {
            v.add("service_ids", "unknown", "One of the services does not exist.");
        }
        Ok((fee, currency, colour))
    }

    async fn write_links(&self, tx: &mut praxis_store::Tx, id: ProviderId, input: &ProviderInput) -> ServiceResult<()> {
        fn dedup(v: Vec<Uuid>) -> Vec<Uuid> {
            let mut v = v;
            v.sort();
            v.dedup();
            v
        }
        catalog::set_links(tx, id, Link::Clinics, &dedup(input.clinic_ids.iter().map(|c| c.0).collect())).await?;
        catalog::set_links(tx, id, Link::Specialties, &dedup(input.specialty_ids.iter().map(|c| c.0).collect()))
            .await?;
        catalog::set_links(tx, id, Link::Services, &dedup(input.service_ids.iter().map(|c| c.0).collect())).await?;
        Ok(())
    }

    /// Creates the provider profile of an account that holds the provider role
    /// (administrators).
    pub async fn create_provider(&self, actor: &Actor, input: ProviderInput) -> ServiceResult<Provider> {
        actor.require(Permission::ManageCatalog)?;
        let mut v = Validation::new();
        let user = match input.user_id {
            None => {
                v.add("user_id", "required", "Choose the provider's account.");
                None
            }
            Some(u) => match users::by_id(self.db(), u).await? {
                None => {
                    v.add("user_id", "unknown", "There is no such account.");
                    None
                }
                Some(row) if !row.roles.split(',').any(|r| r == Role::Provider.as_str()) => {
                    v.add("user_id", "not_provider", "Give this account the provider role first.");
                    None
                }
                Some(row) => Some(row),
            },
        };
        let (fee, currency, colour) = self.validate_provider(&input, &mut v).await?;
        v.finish()?;
        let Some(user) = user else { return Err(ServiceError::Internal("validated without user".into())) };
        if catalog::provider_of_user(self.db(), UserId(user.id)).await?.is_some() {
            return Err(ServiceError::conflict("provider_exists", "This account already has a provider profile."));
        }
        let now = DbTime(self.now());
        let id = ProviderId::new();
        let row = ProviderRow {
            id: id.0,
            user_id: user.id,
            full_name: user.full_name.clone(),
            email: user.email.clone(),
            title: input.title.trim().to_string(),
            bio: input.bio.trim().to_string(),
            qualifications: input.qualifications.trim().to_string(),
            fee_minor: fee,
            fee_currency: currency,
            accepting_new_patients: input.accepting_new_patients.unwrap_or(true),
            calendar_colour: colour,
            active: input.active.unwrap_or(true),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db().begin().await?;
        match catalog::upsert_provider(&mut tx, &row).await {
            Err(e) if e.is_unique("providers") => {
                return Err(ServiceError::conflict("provider_exists", "This account already has a provider profile."));
            }
            other => other?,
        }
        self.write_links(&mut tx, id, &input).await?;
        tx.audit(self.audit_entry(
            actor,
            "provider.create",
            "provider",
            Some(id.to_string()),
            format!("created provider profile for {}", user.email),
        ));
        tx.commit().await?;
        self.get_provider(actor, id).await
    }

    /// Replaces a provider's profile and links (administrators).
    pub async fn update_provider(
        &self,
        actor: &Actor,
        id: ProviderId,
        input: ProviderInput,
    ) -> ServiceResult<Provider> {
        actor.require(Permission::ManageCatalog)?;
        let current = catalog::provider(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Provider" })?;
        let mut v = Validation::new();
        let (fee, currency, colour) = self.validate_provider(&input, &mut v).await?;
        v.finish()?;
        let row = ProviderRow {
            title: input.title.trim().to_string(),
            bio: input.bio.trim().to_string(),
            qualifications: input.qualifications.trim().to_string(),
            fee_minor: fee,
            fee_currency: currency,
            accepting_new_patients: input.accepting_new_patients.unwrap_or(current.accepting_new_patients),
            calendar_colour: colour,
            active: input.active.unwrap_or(current.active),
            updated_at: DbTime(self.now()),
            ..current.clone()
        };
        let mut tx = self.db().begin().await?;
        catalog::upsert_provider(&mut tx, &row).await?;
        self.write_links(&mut tx, id, &input).await?;
        tx.audit(self.audit_entry(
            actor,
            "provider.update",
            "provider",
            Some(id.to_string()),
            format!("updated provider profile of {}", current.email),
        ));
        tx.commit().await?;
        self.get_provider(actor, id).await
    }
}

/// The time a clinic's clock shows now, for messages ("Times in Sydney (AEDT)").
pub fn zone_abbreviation(zone: &jiff::tz::TimeZone, at: Timestamp) -> String {
    zone.to_offset_info(at).abbreviation().to_string()
}
