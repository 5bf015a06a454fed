//! Patient pages for the clinic's people: the list with search and filters, registering
//! and editing a patient, and the chart (summary, notes, forms, documents tabs). What a
//! page offers depends on the user's roles; every action is checked again by the service.
//! Patients and guardians see their own record under "My details" (`mine`).

mod chart;
pub(crate) mod documents;
pub(crate) mod forms;
mod mine;
mod notes;

use super::{FormErrors, Layout, PageError, PageResult, Pager, fmt_day, query_string};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Extension, Router};
use axum_extra::extract::Form;
use jiff::civil::Date;
use praxis_domain::{ClinicId, PatientId, Permission, ProviderId, Role};
use praxis_services::patients::{EmergencyContact, NewPatient, Patient, PatientQuery, SEXES};
use praxis_services::users::PageRequest;
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/patients", get(list).post(create))
        .route("/patients/new", get(new_page))
        .route("/patients/export.csv", get(export))
        .route("/patients/{id}/edit", get(edit_page).post(edit))
        .merge(chart::router())
        .merge(notes::router())
        .merge(mine::router())
        .merge(documents::router())
        .merge(forms::router())
}

/// One tab of the chart.
pub(crate) struct ChartTab {
    /// Text.
    pub label: &'static str,
    /// Target.
    pub href: String,
    /// The tab being shown.
    pub current: bool,
}

/// The top of every chart tab: who the patient is, and the tabs the user may open.
pub(crate) struct ChartHeader {
    /// Patient id.
    pub id: String,
    /// The name to show.
    pub name: String,
    /// Record number.
    pub mrn: String,
    /// "12 Mar 1986 (40)" or empty.
    pub born: String,
    /// Sex, if recorded.
    pub sex: String,
    /// Archived patients are marked.
    pub archived: bool,
    /// Whether the user may read the clinical record (notes, clinical documents, form
    /// answers).
    pub clinical: bool,
    /// The tabs.
    pub tabs: Vec<ChartTab>,
}

/// "12 Mar 1986 (40)": a date of birth with the age today.
pub(crate) fn born_label(dob: Option<Date>, today: Date) -> String {
    let Some(dob) = dob else { return String::new() };
    let age = dob.until((jiff::Unit::Year, today)).map(|s| s.get_years()).unwrap_or(0);
    format!("{} ({age})", dob.strftime("%-d %b %Y"))
}

/// Loads the chart header for `tab` (`summary`, `notes`, `forms` or `documents`); the
/// service refuses patients the user may not see.
pub(crate) async fn chart_header(
    st: &AppState,
    actor: &Actor,
    id: PatientId,
    tab: &str,
) -> Result<ChartHeader, PageError> {
    let p = st.svc.get_patient(actor, id).await?;
    let clinical = st.svc.may_read_clinical(actor, id).await?;
    Ok(header_of(st, &p, clinical, tab))
}

pub(crate) fn header_of(st: &AppState, p: &Patient, clinical: bool, tab: &str) -> ChartHeader {
    let today = st.svc.now().to_zoned(st.svc.settings().display_zone.clone()).date();
    let base = format!("/patients/{}", p.id);
    let mut tabs = vec![("summary", "Summary", base.clone())];
    if clinical {
        tabs.push(("notes", "Notes", format!("{base}/notes")));
    }
    tabs.push(("forms", "Forms", format!("{base}/forms")));
    tabs.push(("documents", "Documents", format!("{base}/documents")));
    ChartHeader {
        id: p.id.to_string(),
        name: p.display_name(),
        mrn: p.mrn.clone(),
        born: born_label(p.date_of_birth, today),
        sex: p.sex.clone().unwrap_or_default(),
        archived: !p.active,
        clinical,
        tabs: tabs.into_iter().map(|(key, label, href)| ChartTab { label, href, current: key == tab }).collect(),
    }
}

/// A chart page's frame: title is the patient's name, crumbs lead back to the list.
pub(crate) fn chart_layout(actor: &Actor, csrf: &CsrfToken, header: &ChartHeader, page: &str) -> Layout {
    let title = if page.is_empty() { header.name.clone() } else { format!("{page} · {}", header.name) };
    let chart = format!("/patients/{}", header.id);
    let mut layout = Layout::new(actor, csrf, title, "/patients");
    layout.crumbs = vec![("Home".into(), "/".into()), ("Patients".into(), "/patients".into())];
    if page.is_empty() {
        layout.crumbs.push((header.name.clone(), String::new()));
    } else {
        layout.crumbs.push((header.name.clone(), chart));
        layout.crumbs.push((page.to_string(), String::new()));
    }
    layout
}

/// A consent as the chart and "My details" show it.
pub(crate) struct ConsentView {
    /// Id.
    pub id: String,
    /// What it covers.
    pub label: String,
    /// Given on.
    pub given: String,
    /// Withdrawn on.
    pub withdrawn: Option<String>,
    /// How it was given.
    pub note: String,
}

/// A patient's consents, ready to show.
pub(crate) async fn consent_views(st: &AppState, actor: &Actor, id: PatientId) -> Result<Vec<ConsentView>, PageError> {
    let zone = st.svc.settings().display_zone.clone();
    Ok(st
        .svc
        .consents(actor, id)
        .await?
        .into_iter()
        .map(|c| ConsentView {
            id: c.id.to_string(),
            label: c.kind_label,
            given: fmt_day(c.given_at, &zone),
            withdrawn: c.withdrawn_at.map(|t| fmt_day(t, &zone)),
            note: c.note,
        })
        .collect())
}

/// Parses a date typed in a form (`YYYY-MM-DD` from a date input); blank is `None`.
pub(crate) fn form_date(text: &str, field: &str, errors: &mut Vec<praxis_domain::FieldError>) -> Option<Date> {
    match text.trim() {
        "" => None,
        t => match t.parse::<Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(praxis_domain::FieldError {
                    field: field.into(),
                    code: "invalid".into(),
                    message: "Enter a real date, for example 1990-04-23.".into(),
                });
                None
            }
        },
    }
}

// ---------------------------------------------------------------------------------------
// The list

struct PatientRowView {
    id: String,
    mrn: String,
    name: String,
    born: String,
    phone: String,
    email: String,
    last_visit: String,
    archived: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "patients_list.html")]
struct ListPage {
    layout: Layout,
    f: ListQuery,
    clinics: Vec<(String, String)>,
    providers: Vec<(String, String)>,
    rows: Vec<PatientRowView>,
    pager: Pager,
    may_register: bool,
    export_href: Option<String>,
    error: Option<String>,
}

/// The list's filters as typed (kept as text so a bad value is shown back, not lost).
#[derive(Clone, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    clinic_id: String,
    #[serde(default)]
    provider_id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    last_visit_from: String,
    #[serde(default)]
    last_visit_until: String,
    #[serde(default)]
    sort: String,
    page: Option<i64>,
}

impl ListQuery {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("q", self.q.as_str()),
            ("clinic_id", self.clinic_id.as_str()),
            ("provider_id", self.provider_id.as_str()),
            ("status", self.status.as_str()),
            ("last_visit_from", self.last_visit_from.as_str()),
            ("last_visit_until", self.last_visit_until.as_str()),
            ("sort", self.sort.as_str()),
        ]
    }

    fn to_service(&self) -> Result<PatientQuery, String> {
        let mut errors = Vec::new();
        let from = form_date(&self.last_visit_from, "last_visit_from", &mut errors);
        let until = form_date(&self.last_visit_until, "last_visit_until", &mut errors);
        if !errors.is_empty() {
            return Err("Enter last-visit dates as real dates, for example 2026-01-31.".into());
        }
        let id = |s: &str| s.trim().parse::<uuid::Uuid>().ok();
        Ok(PatientQuery {
            q: Some(self.q.clone()).filter(|q| !q.trim().is_empty()),
            clinic_id: id(&self.clinic_id).map(ClinicId),
            provider_id: id(&self.provider_id).map(ProviderId),
            status: Some(self.status.clone()).filter(|s| !s.is_empty()),
            date_of_birth: None,
            last_visit_from: from,
            last_visit_until: until,
            sort: Some(self.sort.clone()).filter(|s| !s.is_empty()),
            page: self.page,
            per_page: Some(50),
        })
    }
}

async fn list(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(f): Query<ListQuery>,
) -> PageResult {
    may_manage(&actor)?;
    let zone = st.svc.settings().display_zone.clone();
    let today = st.svc.now().to_zoned(zone.clone()).date();
    let (page, error) = match f.to_service() {
        Ok(q) => match st.svc.list_patients(&actor, &q, PageRequest::new(q.page, q.per_page)).await {
            Ok(p) => (p, None),
            Err(ServiceError::Validation(e)) => (empty_page(), e.first().map(|e| e.message.clone())),
            Err(e) => return Err(e.into()),
        },
        Err(msg) => (empty_page(), Some(msg)),
    };
    let rows = page
        .items
        .iter()
        .map(|p| PatientRowView {
            id: p.id.to_string(),
            mrn: p.mrn.clone(),
            name: format!("{}, {}", p.family_name, p.given_name).trim_matches([',', ' ']).to_string(),
            born: born_label(p.date_of_birth, today),
            phone: p.phone.clone().unwrap_or_default(),
            email: p.email.clone().unwrap_or_default(),
            last_visit: p.last_visit_at.map(|t| fmt_day(t, &zone)).unwrap_or_default(),
            archived: !p.active,
        })
        .collect();
    let clinics = st.svc.list_clinics(&actor).await?.into_iter().map(|c| (c.id.to_string(), c.name)).collect();
    let providers = st.svc.list_providers(&actor).await?.into_iter().map(|p| (p.id.to_string(), p.name)).collect();
    let base = format!("/patients{}", query_string(&f.pairs()));
    let export_href =
        actor.can(Permission::ExportData).then(|| format!("/patients/export.csv{}", query_string(&f.pairs())));
    let mut layout = Layout::new(&actor, &csrf, "Patients", "/patients");
    if let Some(e) = &error {
        layout = layout.notice("error", e.clone());
    }
    Ok(ListPage {
        layout,
        clinics,
        providers,
        rows,
        pager: Pager { page: page.page, per_page: page.per_page, total: page.total, base },
        may_register: actor.can(Permission::ManagePatients),
        export_href,
        error,
        f,
    }
    .into_response())
}

fn empty_page() -> praxis_services::users::Page<Patient> {
    praxis_services::users::Page { items: Vec::new(), total: 0, page: 1, per_page: 50 }
}

async fn export(State(st): State<AppState>, PageActor(actor): PageActor, Query(f): Query<ListQuery>) -> PageResult {
    let q = f.to_service().map_err(|m| PageError(ServiceError::invalid("last_visit_from", "invalid", m)))?;
    let csv = st.svc.export_patients_csv(&actor, &q).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"patients.csv\""),
        ],
        csv,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------
// Registering and editing

/// The patient form as typed (kept on errors so nothing is lost).
#[derive(Clone, Default, Deserialize)]
struct PatientForm {
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    preferred_name: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    gender_identity: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    ec_name: String,
    #[serde(default)]
    ec_phone: String,
    #[serde(default)]
    ec_relationship: String,
    #[serde(default)]
    insurance_provider: String,
    #[serde(default)]
    insurance_number: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    confirm_duplicate: String,
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

impl PatientForm {
    fn of(p: &Patient) -> Self {
        let ec = p.emergency_contact.clone().unwrap_or_default();
        PatientForm {
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            preferred_name: p.preferred_name.clone().unwrap_or_default(),
            date_of_birth: p.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
            sex: p.sex.clone().unwrap_or_default(),
            gender_identity: p.gender_identity.clone().unwrap_or_default(),
            email: p.email.clone().unwrap_or_default(),
            phone: p.phone.clone().unwrap_or_default(),
            address: p.address.clone(),
            ec_name: ec.name,
            ec_phone: ec.phone,
            ec_relationship: ec.relationship,
            insurance_provider: p.insurance_provider.clone().unwrap_or_default(),
            insurance_number: p.insurance_number.clone().unwrap_or_default(),
            notes: p.notes.clone(),
            confirm_duplicate: String::new(),
        }
    }

    /// The patient list searched by this name (to find the existing record).
    fn search_href(&self) -> String {
        format!(
            "/patients{}",
            query_string(&[("q", &format!("{} {}", self.given_name.trim(), self.family_name.trim()))])
        )
    }

    fn to_input(&self, errors: &mut Vec<praxis_domain::FieldError>) -> NewPatient {
        NewPatient {
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            preferred_name: some(&self.preferred_name),
            sex: some(&self.sex),
            gender_identity: some(&self.gender_identity),
            email: some(&self.email),
            phone: some(&self.phone),
            date_of_birth: form_date(&self.date_of_birth, "date_of_birth", errors),
            address: self.address.clone(),
            emergency_contact: some(&self.ec_name).map(|name| EmergencyContact {
                name,
                phone: self.ec_phone.clone(),
                relationship: self.ec_relationship.clone(),
            }),
            insurance_provider: some(&self.insurance_provider),
            insurance_number: some(&self.insurance_number),
            notes: self.notes.clone(),
            confirm_duplicate: !self.confirm_duplicate.is_empty(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "patient_form.html")]
struct FormPage {
    layout: Layout,
    action: String,
    form: PatientForm,
    errors: FormErrors,
    sexes: Vec<(&'static str, &'static str)>,
    duplicate: Option<String>,
    editing: bool,
}

fn sexes() -> Vec<(&'static str, &'static str)> {
    SEXES.iter().map(|s| (*s, sex_label(s))).collect()
}

/// A recorded sex in words.
pub(crate) fn sex_label(s: &str) -> &'static str {
    match s {
        "female" => "Female",
        "male" => "Male",
        "intersex" => "Intersex",
        "unknown" => "Not stated",
        _ => "",
    }
}

fn may_manage(actor: &Actor) -> Result<(), PageError> {
    if actor.roles.is_patient_only() || !actor.can(Permission::ManagePatients) {
        return Err(PageError(ServiceError::Forbidden));
    }
    Ok(())
}

async fn new_page(Extension(csrf): Extension<CsrfToken>, PageActor(actor): PageActor) -> PageResult {
    may_manage(&actor)?;
    let layout = Layout::new(&actor, &csrf, "Register a patient", "/patients")
        .crumbs(&[("Home", "/"), ("Patients", "/patients")]);
    Ok(FormPage {
        layout,
        action: "/patients".into(),
        form: PatientForm::default(),
        errors: FormErrors::default(),
        sexes: sexes(),
        duplicate: None,
        editing: false,
    }
    .into_response())
}

/// Re-renders a patient form with the service's complaints.
fn form_errors(layout: Layout, action: String, form: PatientForm, err: ServiceError, editing: bool) -> PageResult {
    match err {
        ServiceError::Validation(errors) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            FormPage {
                layout: layout.notice("error", "Please correct the fields marked below."),
                action,
                form,
                errors: FormErrors(errors),
                sexes: sexes(),
                duplicate: None,
                editing,
            },
        )
            .into_response()),
        ServiceError::Conflict { code: "possible_duplicate", message, .. } => Ok((
            StatusCode::CONFLICT,
            FormPage {
                layout,
                action,
                form,
                errors: FormErrors::default(),
                sexes: sexes(),
                duplicate: Some(message),
                editing,
            },
        )
            .into_response()),
        e => Err(e.into()),
    }
}

async fn create(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(f): Form<PatientForm>,
) -> PageResult {
    let layout = Layout::new(&actor, &csrf, "Register a patient", "/patients")
        .crumbs(&[("Home", "/"), ("Patients", "/patients")]);
    let mut errors = Vec::new();
    let input = f.to_input(&mut errors);
    let outcome = if errors.is_empty() {
        st.svc.create_patient(&actor, input).await
    } else {
        Err(ServiceError::Validation(errors))
    };
    match outcome {
        Ok(p) => Ok(Redirect::to(&format!("/patients/{}?msg=registered", p.id)).into_response()),
        Err(e) => form_errors(layout, "/patients".into(), f, e, false),
    }
}

async fn edit_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<PatientId>,
) -> PageResult {
    may_manage(&actor)?;
    let p = st.svc.get_patient(&actor, id).await?;
    let header = header_of(&st, &p, false, "summary");
    Ok(FormPage {
        layout: chart_layout(&actor, &csrf, &header, "Edit details"),
        action: format!("/patients/{id}/edit"),
        form: PatientForm::of(&p),
        errors: FormErrors::default(),
        sexes: sexes(),
        duplicate: None,
        editing: true,
    }
    .into_response())
}

async fn edit(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<PatientId>,
    Form(f): Form<PatientForm>,
) -> PageResult {
    may_manage(&actor)?;
    let p = st.svc.get_patient(&actor, id).await?;
    let header = header_of(&st, &p, false, "summary");
    let mut errors = Vec::new();
    let input = f.to_input(&mut errors);
    let outcome = if errors.is_empty() {
        st.svc.update_patient(&actor, id, input).await
    } else {
        Err(ServiceError::Validation(errors))
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/patients/{id}?msg=saved")).into_response()),
        Err(e) => form_errors(
            chart_layout(&actor, &csrf, &header, "Edit details"),
            format!("/patients/{id}/edit"),
            f,
            e,
            true,
        ),
    }
}

/// Whether the user is front-desk or administration (manages guardians, consents, care
/// teams and archiving).
pub(crate) fn is_office(actor: &Actor) -> bool {
    actor.roles.has(Role::Staff) || actor.roles.has(Role::Admin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_count_whole_years() {
        let today = Date::constant(2026, 11, 21);
        assert_eq!(born_label(Some(Date::constant(1986, 3, 12)), today), "12 Mar 1986 (40)");
        assert_eq!(born_label(Some(Date::constant(2000, 11, 22)), today), "22 Nov 2000 (25)");
        assert_eq!(born_label(Some(Date::constant(2000, 11, 21)), today), "21 Nov 2000 (26)");
        assert_eq!(born_label(None, today), "");
    }

    #[test]
    fn bad_dates_are_field_errors() {
        let mut e = Vec::new();
        assert_eq!(form_date("2026-02-30", "date_of_birth", &mut e), None);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, "date_of_birth");
        assert_eq!(form_date("", "x", &mut e), None);
        assert_eq!(e.len(), 1);
        assert_eq!(form_date("1990-04-23", "x", &mut e), Some(Date::constant(1990, 4, 23)));
    }
}
