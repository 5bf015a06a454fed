//! The portal's "My details": a patient (or a guardian, for a child they act for) sees
//! their record, keeps contact details current and withdraws consents. Who they are
//! (name, date of birth) is changed by reception; the service enforces it.

use super::{ConsentView, born_label, consent_views, sex_label, some};
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
use praxis_services::patients::{EmergencyContact, NewPatient, Patient};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/my/details", get(mine))
        .route("/my/details/{id}", get(theirs).post(save))
        .route("/my/details/{id}/consents/{consent}/withdraw", post(withdraw))
}

/// The contact details a patient may change (kept on errors).
#[derive(Clone, Default, Deserialize)]
struct ContactForm {
    #[serde(default)]
    preferred_name: String,
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
}

impl ContactForm {
    fn of(p: &Patient) -> Self {
        let ec = p.emergency_contact.clone().unwrap_or_default();
        ContactForm {
            preferred_name: p.preferred_name.clone().unwrap_or_default(),
            gender_identity: p.gender_identity.clone().unwrap_or_default(),
            email: p.email.clone().unwrap_or_default(),
            phone: p.phone.clone().unwrap_or_default(),
            address: p.address.clone(),
            ec_name: ec.name,
            ec_phone: ec.phone,
            ec_relationship: ec.relationship,
            insurance_provider: p.insurance_provider.clone().unwrap_or_default(),
            insurance_number: p.insurance_number.clone().unwrap_or_default(),
        }
    }

    /// The whole record with these contact details (who the patient is stays as it is).
    fn apply(&self, p: &Patient) -> NewPatient {
        NewPatient {
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            preferred_name: some(&self.preferred_name),
            sex: p.sex.clone(),
            gender_identity: some(&self.gender_identity),
            email: some(&self.email),
            phone: some(&self.phone),
            date_of_birth: p.date_of_birth,
            address: self.address.clone(),
            emergency_contact: some(&self.ec_name).map(|name| EmergencyContact {
                name,
                phone: self.ec_phone.clone(),
                relationship: self.ec_relationship.clone(),
            }),
            insurance_provider: some(&self.insurance_provider),
            insurance_number: some(&self.insurance_number),
            notes: String::new(),
            confirm_duplicate: false,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "patient_mine.html")]
struct MinePage {
    layout: Layout,
    p: Patient,
    born: String,
    sex: &'static str,
    form: ContactForm,
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
    form: Option<ContactForm>,
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
        form: form.unwrap_or_else(|| ContactForm::of(&p)),
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
    Form(f): Form<ContactForm>,
) -> PageResult {
    require_portal(&actor)?;
    let current = st.svc.get_patient(&actor, id).await?;
    match st.svc.update_patient(&actor, id, f.apply(&current)).await {
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
        let f = ContactForm { phone: " +61 400 000 000 ".into(), ec_name: "Rui".into(), ..ContactForm::default() };
        let input = f.apply(&p);
        assert_eq!(input.given_name, "Ana");
        assert_eq!(input.date_of_birth, p.date_of_birth);
        assert_eq!(input.sex.as_deref(), Some("female"));
        assert_eq!(input.phone.as_deref(), Some("+61 400 000 000"));
        assert_eq!(input.emergency_contact.unwrap().name, "Rui");
        assert_eq!(input.email, None);
    }
}
