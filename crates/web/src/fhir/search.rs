//! Searching a resource type: each type's parameters become the filters of the use case
//! that lists it; directory types (small) are filtered and paged in memory.

use super::FhirError;
use crate::state::AppState;
use jiff::SignedDuration;
use praxis_domain::search::normalise;
use praxis_domain::{AppointmentId, ClinicId, PatientId, ProviderId, ServiceId};
use praxis_fhir::bundle::{searchset, searchset_of};
use praxis_fhir::ids::{parse_role_id, role_id};
use praxis_fhir::resources as r;
use praxis_fhir::search::Params;
use praxis_fhir::{MRN_SYSTEM, Outcome, ResourceType, SERVICE_SYSTEM};
use praxis_services::catalog::Provider;
use praxis_services::fhir::{Directory, FreeSlots, PatientSearch, SlotWindow};
use praxis_services::scheduling::AppointmentFilter;
use praxis_services::users::PageRequest;
use praxis_services::{Actor, ServiceError};
use serde_json::Value;

/// The searchset Bundle of this page of matches, as JSON bytes.
pub(super) async fn run(st: &AppState, a: &Actor, p: &Params, base: &str) -> Result<Vec<u8>, FhirError> {
    let (total, resources) = match p.resource() {
        ResourceType::Patient => patients(st, a, p).await?,
        ResourceType::Appointment => appointments(st, a, p).await?,
        ResourceType::Slot => {
            // Hundreds of slots are written straight from borrowed parts, not as JSON trees.
            let Some(found) = slots(st, a, p).await? else { return Ok(bytes(&searchset(base, p, 0, Vec::new()))) };
            let shaped = r::SlotResources::new(&found);
            let page = p.paging();
            let entries = shaped
                .all()
                .skip(page.offset())
                .take(usize::try_from(page.count).unwrap_or(0))
                .map(|s| (s.id().to_string(), s));
            return Ok(bytes(&searchset_of(base, p, found.slots.len() as i64, entries)));
        }
        t => {
            let d = st.svc.fhir_directory(a).await?;
            let all = directory(&d, t, p)?;
            (all.len() as i64, p.paging().slice(all))
        }
    };
    Ok(bytes(&searchset(base, p, total, resources)))
}

fn bytes(v: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

fn ids_of<T: std::str::FromStr>(refs: Vec<(ResourceType, String)>, of: ResourceType) -> Vec<Option<T>> {
    refs.into_iter().filter(|(t, _)| *t == of).map(|(_, id)| id.parse().ok()).collect()
}

/// The filters of a directory search, read once from the parameters (each empty list or
/// `None` filters nothing).
struct DirectoryFilter {
    ids: Vec<String>,
    name: Option<Vec<String>>,
    active: Option<bool>,
    status: Vec<String>,
    actors: Vec<(ResourceType, String)>,
    practitioners: Vec<String>,
    locations: Vec<String>,
    services: Vec<ServiceId>,
}

impl DirectoryFilter {
    fn read(p: &Params) -> Result<Self, Outcome> {
        let status = p.codes("status", None)?;
        if let Some(bad) = status.iter().find(|s| !matches!(s.as_str(), "active" | "inactive" | "suspended")) {
            return Err(Outcome::invalid("status", format!("status is active, inactive or suspended, not {bad:?}.")));
        }
        let ids_in = |name: &str, of: ResourceType| -> Result<Vec<String>, Outcome> {
            Ok(p.references(name, &[of])?.into_iter().map(|(_, id)| id).collect())
        };
        let services = p.references("service", &[ResourceType::HealthcareService])?;
        Ok(DirectoryFilter {
            ids: p.codes("_id", None)?,
            name: p.text("name")?.map(|n| normalise(&n).split_whitespace().map(str::to_string).collect()),
            active: p.boolean("active")?,
            status,
            actors: p.references("actor", &[ResourceType::Practitioner, ResourceType::Location])?,
            practitioners: ids_in("practitioner", ResourceType::Practitioner)?,
            locations: ids_in("location", ResourceType::Location)?,
            services: ids_of::<ServiceId>(services, ResourceType::HealthcareService).into_iter().flatten().collect(),
        })
    }

    fn id(&self, id: &str) -> bool {
        self.ids.is_empty() || self.ids.iter().any(|want| want == id)
    }

    fn name(&self, name: &str) -> bool {
        let have = normalise(name);
        self.name.as_ref().is_none_or(|words| words.iter().all(|w| have.contains(w.as_str())))
    }

    fn active(&self, is: bool) -> bool {
        self.active.is_none_or(|want| want == is)
    }

    fn status(&self, active: bool) -> bool {
        let code = if active { "active" } else { "inactive" };
        self.status.is_empty() || self.status.iter().any(|s| s == code)
    }

    /// A schedule's `actor`: its provider or its clinic.
    fn actor(&self, provider: &str, clinic: &str) -> bool {
        self.actors.is_empty()
            || self.actors.iter().any(|(ty, id)| match ty {
                ResourceType::Practitioner => id == provider,
                _ => id == clinic,
            })
    }

    /// A role's `practitioner`, `location` and `service`.
    fn role(&self, provider: &Provider, clinic: &str) -> bool {
        let provider_id = provider.id.to_string();
        (self.practitioners.is_empty() || self.practitioners.contains(&provider_id))
            && (self.locations.is_empty() || self.locations.iter().any(|l| l == clinic))
            && (self.services.is_empty() || self.services.iter().any(|s| provider.service_ids.contains(s)))
    }
}

fn directory(d: &Directory, t: ResourceType, p: &Params) -> Result<Vec<Value>, FhirError> {
    let f = DirectoryFilter::read(p)?;
    let out = match t {
        ResourceType::Practitioner => d
            .providers
            .iter()
            .filter(|x| f.id(&x.id.to_string()) && f.name(&x.name) && f.active(x.active))
            .map(r::practitioner)
            .collect(),
        ResourceType::Location => d
            .clinics
            .iter()
            .filter(|c| f.id(&c.id.to_string()) && f.name(&c.name) && f.status(c.active))
            .map(r::location)
            .collect(),
        ResourceType::HealthcareService => d
            .services
            .iter()
            .filter(|s| f.id(&s.id.to_string()) && f.name(&s.name) && f.active(s.active))
            .map(|s| r::healthcare_service(d, s))
            .collect(),
        ResourceType::PractitionerRole | ResourceType::Schedule => d
            .roles()
            .into_iter()
            .filter(|(provider, clinic)| {
                let clinic_id = clinic.id.to_string();
                let of_type = if t == ResourceType::Schedule {
                    f.actor(&provider.id.to_string(), &clinic_id)
                } else {
                    f.role(provider, &clinic_id)
                };
                f.id(&role_id(provider.id, clinic.id)) && f.active(provider.active && clinic.active) && of_type
            })
            .map(|(provider, clinic)| {
                if t == ResourceType::Schedule {
                    r::schedule(d, provider, clinic)
                } else {
                    r::practitioner_role(d, provider, clinic)
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(out)
}

async fn patients(st: &AppState, a: &Actor, p: &Params) -> Result<(i64, Vec<Value>), FhirError> {
    let ids = p.codes("_id", None)?;
    if ids.len() > 1 {
        return Err(Outcome::invalid("_id", "Give one _id.").into());
    }
    let id = match ids.first() {
        Some(id) => match id.parse::<PatientId>() {
            Ok(id) => Some(id),
            Err(_) => return Ok((0, Vec::new())),
        },
        None => None,
    };
    let mrns = p.codes("identifier", Some(MRN_SYSTEM))?;
    if mrns.len() > 1 {
        return Err(Outcome::invalid("identifier", "Give one identifier.").into());
    }
    let birth_date = match p.one("birthdate")? {
        None => None,
        Some(v) => Some(v.strip_prefix("eq").unwrap_or(v).parse::<jiff::civil::Date>().map_err(|_| {
            Outcome::invalid("birthdate", format!("birthdate is a date of birth, exactly: 1990-04-01, not {v:?}."))
        })?),
    };
    let search = PatientSearch {
        id,
        mrn: mrns.into_iter().next(),
        name: p.text("name")?,
        active: p.boolean("active")?,
        birth_date,
    };
    let paging = p.paging();
    let found = st.svc.fhir_patients(a, &search, PageRequest::new(Some(paging.page), Some(paging.count))).await?;
    Ok((found.total, found.items.iter().map(r::patient).collect()))
}

fn one_ref<T: std::str::FromStr>(p: &Params, name: &str, of: ResourceType) -> Result<Option<Option<T>>, Outcome> {
    let refs = p.references(name, &[of])?;
    match refs.len() {
        0 => Ok(None),
        1 => Ok(Some(ids_of::<T>(refs, of).into_iter().next().flatten())),
        _ => Err(Outcome::invalid(name, format!("Give one {name}."))),
    }
}

async fn appointments(st: &AppState, a: &Actor, p: &Params) -> Result<(i64, Vec<Value>), FhirError> {
    let zone = &st.svc.settings().display_zone;
    let window = p.window("date", zone)?;
    let patient = one_ref::<PatientId>(p, "patient", ResourceType::Patient)?;
    let provider = one_ref::<ProviderId>(p, "practitioner", ResourceType::Practitioner)?;
    let clinic = one_ref::<ClinicId>(p, "location", ResourceType::Location)?;
    let mut statuses = Vec::new();
    let codes = p.codes("status", None)?;
    for code in &codes {
        let mapped = praxis_fhir::resources::praxis_statuses(code).ok_or_else(|| {
            Outcome::invalid(
                "status",
                format!("{code:?} is not an appointment status; use proposed, pending, booked, arrived, fulfilled, cancelled, noshow or checked-in."),
            )
        })?;
        statuses.extend(mapped.into_iter().map(str::to_string));
    }
    let ids = p.codes("_id", None)?;
    // A reference that cannot name anything here, or statuses Praxis never uses, match nothing.
    let impossible = matches!(patient, Some(None))
        || matches!(provider, Some(None))
        || matches!(clinic, Some(None))
        || (!codes.is_empty() && statuses.is_empty());
    if impossible {
        return Ok((0, Vec::new()));
    }
    if !ids.is_empty() {
        let mut out = Vec::new();
        for id in ids.iter().filter_map(|i| i.parse::<AppointmentId>().ok()) {
            match st.svc.fhir_appointment(a, id).await {
                Ok(appt) => out.push(appt),
                Err(ServiceError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        out.retain(|x| {
            window.from.is_none_or(|f| x.start >= f)
                && window.until.is_none_or(|u| x.start < u)
                && patient.flatten().is_none_or(|pt| x.participants.iter().any(|pp| pp.patient_id == pt))
                && provider.flatten().is_none_or(|pr| x.provider_id == pr)
                && clinic.flatten().is_none_or(|c| x.clinic_id == c)
                && (statuses.is_empty() || statuses.iter().any(|s| s == x.status.as_str()))
        });
        let total = out.len() as i64;
        return Ok((total, p.paging().slice(out).iter().map(r::appointment).collect()));
    }
    let filter = AppointmentFilter {
        from: window.from,
        until: window.until,
        clinic_id: clinic.flatten(),
        provider_id: provider.flatten(),
        patient_id: patient.flatten(),
        statuses,
        series_id: None,
        patients_of_user: None,
    };
    let paging = p.paging();
    let found = st.svc.fhir_appointments(a, filter, PageRequest::new(Some(paging.page), Some(paging.count))).await?;
    Ok((found.total, found.items.iter().map(r::appointment).collect()))
}

/// The free slots matching, or `None` when the search cannot match any.
async fn slots(st: &AppState, a: &Actor, p: &Params) -> Result<Option<FreeSlots>, FhirError> {
    let services = p.codes("service-type", Some(SERVICE_SYSTEM))?;
    let [service] = services.as_slice() else {
        return Err(Outcome::invalid(
            "service-type",
            "Slot search needs one service-type: the id of a HealthcareService (urn:praxis:service|<id>).",
        )
        .into());
    };
    let statuses = p.codes("status", None)?;
    if let Some(bad) = statuses
        .iter()
        .find(|s| !matches!(s.as_str(), "free" | "busy" | "busy-unavailable" | "busy-tentative" | "entered-in-error"))
    {
        return Err(
            Outcome::invalid("status", format!("{bad:?} is not a slot status; slots offered here are free.")).into()
        );
    }
    let Ok(service) = service.parse::<ServiceId>() else { return Ok(None) };
    if !statuses.is_empty() && !statuses.iter().any(|s| s == "free") {
        return Ok(None);
    }
    let schedule_refs = p.references("schedule", &[ResourceType::Schedule])?;
    let schedules: Vec<(ProviderId, ClinicId)> = schedule_refs.iter().filter_map(|(_, id)| parse_role_id(id)).collect();
    if !schedule_refs.is_empty() && schedules.is_empty() {
        return Ok(None);
    }
    let zone = &st.svc.settings().display_zone;
    let (starts, ends) = (p.window("start", zone)?, p.window("end", zone)?);
    let fortnight = SignedDuration::from_hours(24 * 14);
    let from = starts.from.unwrap_or_else(|| st.svc.now());
    // A slot ends after it starts: an end bound is also a bound on the starts searched.
    let until = starts.until.or(ends.until).unwrap_or_else(|| from.saturating_add(fortnight).unwrap_or(from));
    let limit = SignedDuration::from_hours(24 * praxis_services::fhir::MAX_WINDOW_DAYS);
    if until.duration_since(from) > limit {
        return Err(Outcome::invalid(
            "start",
            format!("Search at most {} days of slots at once.", praxis_services::fhir::MAX_WINDOW_DAYS),
        )
        .into());
    }
    let window = SlotWindow { from, until };
    let mut found = match st.svc.fhir_slots(a, service, &schedules, window).await {
        Err(ServiceError::NotFound { .. }) => return Ok(None),
        other => other?,
    };
    found.slots.retain(|s| ends.from.is_none_or(|f| s.end >= f) && ends.until.is_none_or(|u| s.end < u));
    Ok(Some(found))
}
