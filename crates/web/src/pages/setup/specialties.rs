//! Specialties: the list and a form to add one.

use super::{Fields, Refusal, done, layout};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::{Layout, PageError, PageResult};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_domain::Permission;
use praxis_services::Actor;
use praxis_services::catalog::Specialty;
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/setup/specialties", get(list).post(create))
}

#[derive(Deserialize)]
struct MsgQuery {
    msg: Option<String>,
}

/// What the form holds.
#[derive(Default, Deserialize)]
struct SpecialtyForm {
    #[serde(default)]
    name: String,
}

struct SpecialtyRow {
    name: String,
    services: usize,
    providers: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_specialties.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<SpecialtyRow>,
    form: SpecialtyForm,
    f: Fields,
    can_edit: bool,
}

async fn page(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    form: SpecialtyForm,
    f: Fields,
) -> Result<ListPage, PageError> {
    let specialties: Vec<Specialty> = st.svc.list_specialties(actor).await?;
    let services = st.svc.list_services(actor).await?;
    let providers = st.svc.list_providers(actor).await?;
    let mut rows: Vec<SpecialtyRow> = specialties
        .into_iter()
        .map(|s| SpecialtyRow {
            services: services.iter().filter(|x| x.specialty_id == Some(s.id)).count(),
            providers: providers.iter().filter(|p| p.specialty_ids.contains(&s.id)).count(),
            name: s.name,
        })
        .collect();
    rows.sort_by_key(|r| r.name.to_lowercase());
    Ok(ListPage {
        layout: layout(actor, csrf, "Specialties", &[]),
        rows,
        form,
        f,
        can_edit: actor.can(Permission::ManageCatalog),
    })
}

async fn list(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<MsgQuery>,
) -> PageResult {
    let mut p = page(&st, &actor, &csrf, SpecialtyForm::default(), Fields::default()).await?;
    if q.msg.as_deref() == Some("added") {
        p.layout = p.layout.notice("ok", "The specialty was added.");
    }
    Ok(p.into_response())
}

async fn create(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(form): Form<SpecialtyForm>,
) -> PageResult {
    match st.svc.create_specialty(&actor, &form.name).await {
        Ok(_) => Ok(done("/setup/specialties?msg=added".into())),
        Err(e) => {
            let r = Refusal::of(e)?.beside("name");
            let mut p = page(&st, &actor, &csrf, form, Fields::new(r.errors, &["name"])).await?;
            p.layout = p.layout.notice("error", r.message);
            Ok((r.status, p).into_response())
        }
    }
}
