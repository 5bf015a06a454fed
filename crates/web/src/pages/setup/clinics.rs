//! Clinics: the list, the new/edit form (with the time zone chosen from a list) and the
//! days a clinic is closed.

use super::{Fields, Opt, Reader, Refusal, done, fmt_range, layout, path_id};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::{Layout, PageResult, zone_label};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_domain::{ClinicId, ClosureId, Permission};
use praxis_services::Actor;
use praxis_services::availability::ClosureInput;
use praxis_services::catalog::{Clinic, ClinicInput};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/setup/clinics", get(list).post(create))
        .route("/setup/clinics/new", get(new))
        .route("/setup/clinics/{id}", get(edit).post(update))
        .route("/setup/clinics/{id}/closures", get(closures).post(add_closure))
        .route("/setup/clinics/{id}/closures/{closure}/remove", post(remove_closure))
}

/// The order fields appear in on the clinic form (the first invalid one takes the focus).
const CLINIC_FIELDS: &[&str] = &["name", "address", "phone", "email", "time_zone", "active"];
const CLOSURE_FIELDS: &[&str] = &["from", "until", "reason"];

#[derive(Deserialize)]
struct MsgQuery {
    msg: Option<String>,
}

struct ClinicRow {
    id: String,
    name: String,
    zone: String,
    address: String,
    active: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_clinics.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ClinicRow>,
    can_edit: bool,
}

async fn list(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<MsgQuery>,
) -> PageResult {
    let clinics = st.svc.list_clinics(&actor).await?;
    let rows = clinics
        .iter()
        .map(|c| ClinicRow {
            id: c.id.to_string(),
            name: c.name.clone(),
            zone: zone_label(&c.zone()),
            address: c.address.clone(),
            active: c.active,
        })
        .collect();
    let mut layout = layout(&actor, &csrf, "Clinics", &[]);
    if q.msg.as_deref() == Some("saved") {
        layout = layout.notice("ok", "The clinic was saved.");
    }
    Ok(ListPage { layout, rows, can_edit: actor.can(Permission::ManageCatalog) }.into_response())
}

/// What the clinic form holds (kept as typed when it is refused).
#[derive(Default, Deserialize)]
struct ClinicForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    time_zone: String,
    active: Option<String>,
}

impl ClinicForm {
    fn of(c: &Clinic) -> Self {
        ClinicForm {
            name: c.name.clone(),
            address: c.address.clone(),
            phone: c.phone.clone().unwrap_or_default(),
            email: c.email.clone().unwrap_or_default(),
            time_zone: c.time_zone.clone(),
            active: c.active.then(|| "on".into()),
        }
    }

    fn input(&self) -> ClinicInput {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        ClinicInput {
            name: self.name.clone(),
            address: self.address.clone(),
            phone: opt(&self.phone),
            email: opt(&self.email),
            time_zone: self.time_zone.clone(),
            active: Some(self.active.is_some()),
        }
    }
}

/// The zones offered: every canonical IANA zone of the bundled database (by region, then
/// UTC), with the current value kept even if it is not among them and labelled.
fn zone_options(current: &str, saved: Option<&str>) -> Vec<Opt> {
    const REGIONS: &[&str] =
        &["Africa/", "America/", "Antarctica/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/"];
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_string())
        .filter(|n| REGIONS.iter().any(|r| n.starts_with(r)))
        .collect();
    names.push("UTC".into());
    for extra in [Some(current), saved].into_iter().flatten() {
        if !extra.is_empty() && !names.iter().any(|n| n == extra) {
            names.push(extra.to_string());
        }
    }
    names.sort();
    names.dedup();
    let mut out = vec![Opt::new("", "Choose a time zone…", current.is_empty())];
    out.extend(names.into_iter().map(|n| {
        let label = if saved == Some(n.as_str()) { format!("{n} (current)") } else { n.clone() };
        let selected = n == current;
        Opt::new(n, label, selected)
    }));
    out
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_clinic_form.html")]
struct FormPage {
    layout: Layout,
    clinic: Option<Clinic>,
    form: ClinicForm,
    f: Fields,
    zones: Vec<Opt>,
    action: String,
}

fn form_page(actor: &Actor, csrf: &CsrfToken, clinic: Option<Clinic>, form: ClinicForm, f: Fields) -> FormPage {
    let (title, action) = match &clinic {
        Some(c) => (c.name.clone(), format!("/setup/clinics/{}", c.id)),
        None => ("New clinic".to_string(), "/setup/clinics".to_string()),
    };
    let zones = zone_options(&form.time_zone, clinic.as_ref().map(|c| c.time_zone.as_str()));
    FormPage { layout: layout(actor, csrf, title, &[("Clinics", "/setup/clinics")]), clinic, form, f, zones, action }
}

async fn new(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
) -> PageResult {
    st.svc.authorize(&actor, Permission::ManageCatalog)?;
    let zone = st.svc.settings().display_zone.iana_name().unwrap_or("").to_string();
    let form = ClinicForm { time_zone: zone, active: Some("on".into()), ..ClinicForm::default() };
    Ok(form_page(&actor, &csrf, None, form, Fields::default()).into_response())
}

async fn create(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(form): Form<ClinicForm>,
) -> PageResult {
    match st.svc.create_clinic(&actor, form.input()).await {
        Ok(c) => Ok(done(format!("/setup/clinics/{}/closures?msg=created", c.id))),
        Err(e) => {
            let r = Refusal::of(e)?;
            let mut page = form_page(&actor, &csrf, None, form, Fields::new(r.errors, CLINIC_FIELDS));
            page.layout = page.layout.notice("error", r.message);
            Ok((r.status, page).into_response())
        }
    }
}

async fn edit(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id: ClinicId = path_id(&id, "Clinic")?;
    st.svc.authorize(&actor, Permission::ManageCatalog)?;
    let clinic = st.svc.get_clinic(&actor, id).await?;
    let form = ClinicForm::of(&clinic);
    Ok(form_page(&actor, &csrf, Some(clinic), form, Fields::default()).into_response())
}

async fn update(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(form): Form<ClinicForm>,
) -> PageResult {
    let id: ClinicId = path_id(&id, "Clinic")?;
    match st.svc.update_clinic(&actor, id, form.input()).await {
        Ok(_) => Ok(done("/setup/clinics?msg=saved".into())),
        Err(e) => {
            let r = Refusal::of(e)?;
            let clinic = st.svc.get_clinic(&actor, id).await?;
            let mut page = form_page(&actor, &csrf, Some(clinic), form, Fields::new(r.errors, CLINIC_FIELDS));
            page.layout = page.layout.notice("error", r.message);
            Ok((r.status, page).into_response())
        }
    }
}

/// What the closure form holds.
#[derive(Default, Deserialize)]
struct ClosureForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    reason: String,
}

struct ClosureRow {
    id: String,
    dates: String,
    reason: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_closures.html")]
struct ClosuresPage {
    layout: Layout,
    clinic: Clinic,
    zone: String,
    rows: Vec<ClosureRow>,
    form: ClosureForm,
    f: Fields,
    can_edit_clinic: bool,
}

async fn closures_page(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    id: ClinicId,
    form: ClosureForm,
    f: Fields,
) -> Result<ClosuresPage, crate::pages::PageError> {
    let clinic = st.svc.get_clinic(actor, id).await?;
    let zone = clinic.zone();
    let today = st.svc.now().to_zoned(zone.clone()).date();
    let rows = st
        .svc
        .list_closures(actor, id, Some(today))
        .await?
        .into_iter()
        .map(|c| ClosureRow { id: c.id.to_string(), dates: fmt_range(c.from, c.until), reason: c.reason })
        .collect();
    let title = format!("Closures of {}", clinic.name);
    Ok(ClosuresPage {
        layout: layout(actor, csrf, title, &[("Clinics", "/setup/clinics")]),
        zone: zone_label(&zone),
        clinic,
        rows,
        form,
        f,
        can_edit_clinic: actor.can(Permission::ManageCatalog),
    })
}

async fn closures(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Query(q): Query<MsgQuery>,
) -> PageResult {
    let id: ClinicId = path_id(&id, "Clinic")?;
    st.svc.authorize_all(&actor, Permission::ManageAvailability)?;
    let mut page = closures_page(&st, &actor, &csrf, id, ClosureForm::default(), Fields::default()).await?;
    page.layout = match q.msg.as_deref() {
        Some("created") => page.layout.notice("ok", "The clinic was added. Add any days it is closed below."),
        Some("added") => page.layout.notice("ok", "The closure was added. No times are offered on those days."),
        Some("removed") => page.layout.notice("ok", "The closure was removed; the clinic is open again on those days."),
        _ => page.layout,
    };
    Ok(page.into_response())
}

async fn add_closure(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(form): Form<ClosureForm>,
) -> PageResult {
    let id: ClinicId = path_id(&id, "Clinic")?;
    let mut read = Reader::default();
    let input = ClosureInput {
        from: read.date("from", &form.from),
        until: read.date("until", &form.until),
        reason: form.reason.clone(),
    };
    let outcome = match read.finish() {
        Ok(()) => st.svc.add_closure(&actor, id, input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(done(format!("/setup/clinics/{id}/closures?msg=added"))),
        Err(e) => {
            let r = Refusal::of(e)?;
            let mut page = closures_page(&st, &actor, &csrf, id, form, Fields::new(r.errors, CLOSURE_FIELDS)).await?;
            page.layout = page.layout.notice("error", r.message);
            Ok((r.status, page).into_response())
        }
    }
}

async fn remove_closure(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Path((id, closure)): Path<(String, String)>,
) -> PageResult {
    let id: ClinicId = path_id(&id, "Clinic")?;
    let closure: ClosureId = path_id(&closure, "Closure")?;
    st.svc.delete_closure(&actor, id, closure).await?;
    Ok(done(format!("/setup/clinics/{id}/closures?msg=removed")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zone_list_is_canonical_sorted_and_keeps_the_current_value() {
        let zones = zone_options("Australia/Sydney", Some("Australia/Sydney"));
        assert_eq!(zones[0].value, "", "a prompt comes first");
        let names: Vec<&str> = zones[1..].iter().map(|o| o.value.as_str()).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
        assert!(names.contains(&"Asia/Kolkata") && names.contains(&"America/New_York") && names.contains(&"UTC"));
        assert!(!names.iter().any(|n| n.starts_with("Etc/") || n.starts_with("US/")), "no aliases");
        let sydney = zones.iter().find(|o| o.value == "Australia/Sydney");
        assert!(sydney.is_some_and(|o| o.selected && o.label == "Australia/Sydney (current)"));
        let typed = zone_options("Mars/Olympus", None);
        assert!(typed.iter().any(|o| o.value == "Mars/Olympus" && o.selected), "what was typed stays selected");
    }
}
