//! The portal's "My details": a patient (or a guardian, for a child they act for) sees
//! their record, keeps contact details current and withdraws consents. Who they are
//! (name, date of birth) is changed by reception; the service enforces it.

use super::{ConsentView, PatientForm, born_label, consent_views, sex_label};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::{FormErrors, Layout, PageResult};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_domain::PatientId;
use praxis_services::patients::{NewPatient, Patient};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/my/details", get(mine))
        .route("/my/details/{id}", get(theirs).post(save))
        .route("/my/details/{id}/consents/{consent}/withdraw", post(withdraw))
}

/// The whole record with the contact details the portal form posted (it sends only
/// those; the rest of [`PatientForm`] stays empty): who the patient is stays as it is,
/// and the service keeps it so whatever is sent.
fn contact_update(posted: &PatientForm, current: &Patient) -> NewPatient {
    let who = PatientForm::of(current);
    let form = PatientForm {
        given_name: who.given_name,
        family_name: who.family_name,
        date_of_birth: who.date_of_birth,
        sex: who.sex,
        notes: String::new(),
        confirm_duplicate: String::new(),
        ..posted.clone()
    };
    // The date comes from the record itself, so it always reads.
    form.to_input(&mut Vec::new())
}

#[derive(Template, WebTemplate)]
#[template(path = "patient_mine.html")]
struct MinePage {
    layout: Layout,
    p: Patient,
    born: String,
    sex: &'static str,
    form: PatientForm,
    errors: FormErrors,
    consents: Vec<ConsentView>,
    /// Other records the user acts for: (id, name), and whether this is one of them.
    others: Vec<(String, String)>,
    own: bool,
}

#[derive(Deserialize)]
struct Msg {
    msg: Option<String>,
}

async fn render(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    id: PatientId,
    form: Option<PatientForm>,
    errors: Vec<praxis_domain::FieldError>,
    notice: Option<(&'static str, &'static str)>,
) -> PageResult {
    let p = st.svc.get_patient(actor, id).await?;
    let zone = st.svc.settings().display_zone.clone();
    let today = st.svc.now().to_zoned(zone.clone()).date();
    let mine = st.svc.my_patient(actor).await?.map(|m| m.id);
    let mut others = Vec::new();
    for other in st.svc.patients_i_act_for(actor).await? {
        if other != id {
            let o = st.svc.get_patient(actor, other).await?;
            others.push((
                o.id.to_string(),
                if Some(other) == mine { "My own details".to_string() } else { o.display_name() },
            ));
        }
    }
    let consents = consent_views(st, actor, id).await?;
    let own = Some(id) == mine;
    let title = if own { "My details".to_string() } else { format!("Details of {}", p.display_name()) };
    let mut layout = Layout::new(actor, csrf, title, "/my/details");
    if let Some((kind, text)) = notice {
        layout = layout.notice(kind, text);
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = MinePage {
        layout,
        born: born_label(p.date_of_birth, today),
        sex: p.sex.as_deref().map(sex_label).unwrap_or(""),
        form: form.unwrap_or_else(|| PatientForm::of(&p)),
        errors: FormErrors(errors),
        consents,
        others,
        own,
        p,
    };
    Ok((status, page).into_response())
}

async fn mine(State(st): State<AppState>, PageActor(actor): PageActor) -> PageResult {
    let first = match st.svc.my_patient(&actor).await? {
        Some(p) => Some(p.id),
        None => st.svc.patients_i_act_for(&actor).await?.first().copied(),
    };
    match first {
        Some(id) => Ok(Redirect::to(&format!("/my/details/{id}")).into_response()),
        None => Err(ServiceError::NotFound { what: "Patient record" }.into()),
    }
}

async fn theirs(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<PatientId>,
    Query(m): Query<Msg>,
) -> PageResult {
    require_portal(&actor)?;
    let notice = match m.msg.as_deref() {
        Some("saved") => Some(("ok", "Your changes are saved.")),
        Some("withdrawn") => Some(("ok", "The consent is recorded as withdrawn.")),
        _ => None,
    };
    render(&st, &actor, &csrf, id, None, Vec::new(), notice).await
}

/// The portal pages are for patients and guardians; the clinic's people use the chart.
fn require_portal(actor: &Actor) -> Result<(), crate::pages::PageError> {
    if actor.roles.is_patient_only() { Ok(()) } else { Err(ServiceError::Forbidden.into()) }
}

async fn save(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<PatientId>,
    Form(f): Form<PatientForm>,
) -> PageResult {
    require_portal(&actor)?;
    let current = st.svc.get_patient(&actor, id).await?;
    match st.svc.update_patient(&actor, id, contact_update(&f, &current)).await {
        Ok(_) => Ok(Redirect::to(&format!("/my/details/{id}?msg=saved")).into_response()),
        Err(ServiceError::Validation(errors)) => {
            render(
                &st,
                &actor,
                &csrf,
                id,
                Some(f),
                errors,
                Some(("error", "Please correct the fields marked below. Nothing was saved.")),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn withdraw(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Path((id, consent)): Path<(PatientId, Uuid)>,
) -> PageResult {
    require_portal(&actor)?;
    st.svc.withdraw_consent(&actor, id, consent).await?;
    Ok(Redirect::to(&format!("/my/details/{id}?msg=withdrawn")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_changes_keep_who_the_patient_is() {
        let p = Patient {
            id: PatientId::new(),
            mrn: "P000001".into(),
            given_name: "Ana".into(),
            family_name: "Silva".into(),
            preferred_name: None,
            sex: Some("female".into()),
            gender_identity: None,
            email: None,
            phone: None,
            date_of_birth: Some(jiff::civil::date(1990, 1, 2)),
            address: String::new(),
            emergency_contact: None,
            insurance_provider: None,
            insurance_number: None,
            notes: String::new(),
            user_id: None,
            active: true,
            archived_at: None,
            last_visit_at: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
        };
        let f = PatientForm { phone: " +61 400 000 000 ".into(), ec_name: "Rui".into(), ..PatientForm::default() };
        let input = contact_update(&f, &p);
        assert_eq!(input.given_name, "Ana");
        assert_eq!(input.date_of_birth, p.date_of_birth);
        assert_eq!(input.sex.as_deref(), Some("female"));
        assert_eq!(input.phone.as_deref(), Some("+61 400 000 000"));
        assert_eq!(input.emergency_contact.unwrap().name, "Rui");
        assert_eq!(input.email, None);
    }
}
