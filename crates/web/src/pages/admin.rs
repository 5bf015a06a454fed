//! Administration pages: users (with their two-factor login and which roles must use
//! it) and the audit log.

use super::{FormErrors, Layout, PageResult, Pager, fmt_time, query_string};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use jiff::civil::Date;
use praxis_domain::{Role, Roles, UserId};
use praxis_services::audit::AuditFilter;
use praxis_services::two_factor::SecondFactorStatus;
use praxis_services::users::{NewUser, PageRequest, User, UserChanges, UserFilter};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users).post(create_user))
        .route("/admin/users/new", get(new_user))
        .route("/admin/users/{id}", get(user_detail).post(update_user))
        .route("/admin/users/{id}/deactivate", post(deactivate))
        .route("/admin/users/{id}/activate", post(activate))
        .route("/admin/users/{id}/reset-password", post(reset_password))
        .route("/admin/users/{id}/reset-two-factor", post(reset_two_factor))
        .route("/admin/two-factor-policy", post(set_two_factor_policy))
        .route("/admin/audit", get(audit))
}

fn role_options() -> Vec<(&'static str, &'static str)> {
    Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect()
}

fn role_labels(u: &User) -> String {
    u.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ")
}

struct UserRowView {
    id: String,
    name: String,
    email: String,
    roles: String,
    active: bool,
    last_login: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_users.html")]
struct UsersPage {
    layout: Layout,
    q: String,
    role: String,
    active: String,
    role_options: Vec<(&'static str, &'static str)>,
    rows: Vec<UserRowView>,
    pager: Pager,
    /// Each role, and whether it must log in with a second factor.
    two_factor_options: Vec<(&'static str, &'static str, bool)>,
}

#[derive(Deserialize)]
struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    active: String,
    page: Option<i64>,
    msg: Option<String>,
}

async fn users(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<UsersQuery>,
) -> PageResult {
    let role = q.role.parse::<Role>().ok();
    let active = match q.active.as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    let filter = UserFilter { text: Some(q.q.clone()), role: role.map(|r| r.as_str().to_string()), active };
    let page = st.svc.list_users(&actor, &filter, PageRequest::new(q.page, Some(50))).await?;
    let zone = st.svc.settings().display_zone.clone();
    let rows = page
        .items
        .iter()
        .map(|u| UserRowView {
            id: u.id.to_string(),
            name: u.full_name.clone(),
            email: u.email.clone(),
            roles: role_labels(u),
            active: u.active,
            last_login: u.last_login_at.map(|t| fmt_time(t, &zone)).unwrap_or_else(|| "never".into()),
        })
        .collect();
    let role_text = role.map(|r| r.as_str()).unwrap_or("");
    let base = format!("/admin/users{}", query_string(&[("q", &q.q), ("role", role_text), ("active", &q.active)]));
    let required = st.svc.second_factor_policy(&actor).await?.required;
    let mut layout = Layout::new(&actor, &csrf, "Users", "/admin/users").zone(&zone);
    if let Some(msg) = q.msg.as_deref() {
        layout = match msg {
            "deactivated" => layout.notice("ok", "The account was deactivated and its sessions ended."),
            "activated" => layout.notice("ok", "The account was activated."),
            "two_factor_policy" => layout.notice(
                "ok",
                "Saved. Users of the chosen roles without two-factor login set it up at their next login.",
            ),
            _ => layout,
        };
    }
    Ok(UsersPage {
        layout,
        q: q.q,
        role: role_text.to_string(),
        active: q.active,
        role_options: role_options(),
        rows,
        pager: Pager { page: page.page, per_page: page.per_page, total: page.total, base },
        two_factor_options: Role::ALL.iter().map(|r| (r.as_str(), r.label(), required.has(*r))).collect(),
    }
    .into_response())
}

/// What the user form holds (kept on errors so nothing typed is lost).
#[derive(Default, Deserialize)]
struct UserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    password: String,
}

impl UserForm {
    fn has_role(&self, r: &str) -> bool {
        self.roles.iter().any(|x| x == r)
    }
    fn from_user(u: &User) -> Self {
        UserForm {
            email: u.email.clone(),
            full_name: u.full_name.clone(),
            phone: u.phone.clone().unwrap_or_default(),
            roles: u.roles.iter().map(|r| r.as_str().to_string()).collect(),
            password: String::new(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_user_form.html")]
struct UserFormPage {
    layout: Layout,
    user: Option<User>,
    form: UserForm,
    errors: FormErrors,
    action: String,
    role_options: Vec<(&'static str, &'static str)>,
    temporary_password: Option<String>,
    created: String,
    last_login: String,
    /// The account's second factor (on the page of an existing account).
    two_factor: Option<SecondFactorStatus>,
    two_factor_since: String,
}

fn form_page(st: &AppState, actor: &Actor, csrf: &CsrfToken, user: Option<User>, form: UserForm) -> UserFormPage {
    let zone = st.svc.settings().display_zone.clone();
    let (title, action) = match &user {
        Some(u) => (u.full_name.clone(), format!("/admin/users/{}", u.id)),
        None => ("New user".to_string(), "/admin/users".to_string()),
    };
    let created = user.as_ref().map(|u| fmt_time(u.created_at, &zone)).unwrap_or_default();
    let last_login =
        user.as_ref().and_then(|u| u.last_login_at).map(|t| fmt_time(t, &zone)).unwrap_or_else(|| "never".into());
    UserFormPage {
        layout: Layout::new(actor, csrf, title, "/admin/users")
            .crumbs(&[("Home", "/"), ("Users", "/admin/users")])
            .zone(&zone),
        user,
        form,
        errors: FormErrors::default(),
        action,
        role_options: role_options(),
        temporary_password: None,
        created,
        last_login,
        two_factor: None,
        two_factor_since: String::new(),
    }
}

/// The page of an existing account, with its two-factor status.
async fn account_page(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    user: User,
    form: UserForm,
) -> Result<UserFormPage, ServiceError> {
    let status = st.svc.second_factor_of(actor, user.id).await?;
    let zone = st.svc.settings().display_zone.clone();
    let mut page = form_page(st, actor, csrf, Some(user), form);
    page.two_factor_since = status.since.map(|t| fmt_time(t, &zone)).unwrap_or_default();
    page.two_factor = Some(status);
    Ok(page)
}

async fn new_user(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
) -> PageResult {
    // Ask the service first so a non-administrator gets 403, not an empty form.
    st.svc.list_users(&actor, &UserFilter::default(), PageRequest::new(Some(1), Some(1))).await?;
    let form = UserForm { roles: vec!["staff".into()], ..UserForm::default() };
    Ok(form_page(&st, &actor, &csrf, None, form).into_response())
}

async fn create_user(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Form(f): Form<UserForm>,
) -> PageResult {
    let input = NewUser {
        email: f.email.clone(),
        full_name: f.full_name.clone(),
        phone: Some(f.phone.clone()),
        roles: f.roles.clone(),
        password: Some(f.password.clone()).filter(|p| !p.is_empty()),
    };
    match st.svc.create_user(&actor, input).await {
        Ok(created) => {
            let mut page =
                form_page(&st, &actor, &csrf, Some(created.user.clone()), UserForm::from_user(&created.user));
            page.layout = page.layout.notice("ok", format!("Account created for {}.", created.user.email));
            page.temporary_password = created.temporary_password;
            Ok((StatusCode::CREATED, page).into_response())
        }
        Err(ServiceError::Validation(errors)) | Err(ServiceError::Conflict { fields: errors, .. }) => {
            let mut page = form_page(&st, &actor, &csrf, None, UserForm { password: String::new(), ..f });
            page.errors = FormErrors(errors);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn user_detail(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id = parse_id(&id)?;
    let user = st.svc.get_user(&actor, id).await?;
    let form = UserForm::from_user(&user);
    Ok(account_page(&st, &actor, &csrf, user, form).await?.into_response())
}

async fn reset_two_factor(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id = parse_id(&id)?;
    st.svc.reset_second_factor(&actor, id).await?;
    let user = st.svc.get_user(&actor, id).await?;
    let form = UserForm::from_user(&user);
    let mut page = account_page(&st, &actor, &csrf, user, form).await?;
    page.layout = page.layout.notice(
        "ok",
        "Two-factor login was reset and their sessions ended. If their role requires it, they set it up again at \
         their next login.",
    );
    Ok(page.into_response())
}

#[derive(Deserialize)]
struct PolicyForm {
    #[serde(default)]
    roles: Vec<String>,
}

async fn set_two_factor_policy(
    State(st): State<AppState>,
    PageActor(actor): PageActor,
    Form(f): Form<PolicyForm>,
) -> PageResult {
    // Only the four known role names can be ticked; anything else is ignored.
    let roles: Vec<Role> = f.roles.iter().filter_map(|r| r.parse().ok()).collect();
    st.svc.set_second_factor_policy(&actor, Roles::of(&roles)).await?;
    Ok(Redirect::to("/admin/users?msg=two_factor_policy").into_response())
}

fn parse_id(s: &str) -> Result<UserId, super::PageError> {
    s.parse().map_err(|_| super::PageError(ServiceError::NotFound { what: "User" }))
}

async fn update_user(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(f): Form<UserForm>,
) -> PageResult {
    let id = parse_id(&id)?;
    let changes = UserChanges {
        full_name: Some(f.full_name.clone()),
        phone: Some(f.phone.clone()),
        roles: Some(f.roles.clone()),
    };
    match st.svc.update_user(&actor, id, changes).await {
        Ok(user) => {
            let form = UserForm::from_user(&user);
            let mut page = form_page(&st, &actor, &csrf, Some(user), form);
            page.layout = page.layout.notice("ok", "Changes saved.");
            Ok(page.into_response())
        }
        Err(e @ (ServiceError::Validation(_) | ServiceError::Conflict { .. })) => {
            let user = st.svc.get_user(&actor, id).await?;
            let (errors, notice) = match e {
                ServiceError::Validation(v) => (v, "Please correct the fields marked below.".to_string()),
                ServiceError::Conflict { message, fields, .. } => (fields, message),
                _ => (Vec::new(), String::new()),
            };
            let mut page = form_page(&st, &actor, &csrf, Some(user.clone()), UserForm { email: user.email, ..f });
            page.errors = FormErrors(errors);
            page.layout = page.layout.notice("error", notice);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn set_active(st: AppState, csrf: CsrfToken, actor: Actor, id: String, active: bool) -> PageResult {
    let id = parse_id(&id)?;
    match st.svc.set_user_active(&actor, id, active).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/users?msg={}", if active { "activated" } else { "deactivated" }))
            .into_response()),
        Err(ServiceError::Conflict { message, .. }) => {
            let user = st.svc.get_user(&actor, id).await?;
            let form = UserForm::from_user(&user);
            let mut page = form_page(&st, &actor, &csrf, Some(user), form);
            page.layout = page.layout.notice("error", message);
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn deactivate(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    set_active(st, csrf, actor, id, false).await
}

async fn activate(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    set_active(st, csrf, actor, id, true).await
}

async fn reset_password(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult {
    let id = parse_id(&id)?;
    let temp = st.svc.reset_password(&actor, id, None).await?;
    let user = st.svc.get_user(&actor, id).await?;
    let form = UserForm::from_user(&user);
    let mut page = form_page(&st, &actor, &csrf, Some(user), form);
    page.layout = page.layout.notice("ok", "Password reset. All of their sessions were ended.");
    page.temporary_password = temp;
    Ok(page.into_response())
}

struct AuditRowView {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    entity_type: String,
    entity_id: Option<String>,
    summary: String,
    client_ip: Option<String>,
    request_id: Option<String>,
}

#[derive(Default, Deserialize)]
struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    entity_type: String,
    #[serde(default)]
    entity_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    page: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    layout: Layout,
    f: AuditQuery,
    rows: Vec<AuditRowView>,
    pager: Pager,
    filter_error: Option<String>,
}

async fn audit(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let zone = st.svc.settings().display_zone.clone();
    let mut filter_error = None;
    let mut day_start = |text: &str, label: &str, next_day: bool| -> Option<jiff::Timestamp> {
        if text.is_empty() {
            return None;
        }
        match text.parse::<Date>() {
            Ok(d) => {
                let d = if next_day { d.tomorrow().unwrap_or(d) } else { d };
                d.to_zoned(zone.clone()).ok().map(|z| z.timestamp())
            }
            Err(_) => {
                filter_error = Some(format!("The {label} date is not a date; use the date picker or YYYY-MM-DD."));
                None
            }
        }
    };
    let from = day_start(&q.from, "from", false);
    let until = day_start(&q.until, "to", true);
    let filter = AuditFilter {
        actor_id: None,
        action_prefix: Some(q.action.trim().to_string()).filter(|s| !s.is_empty()),
        entity_type: Some(q.entity_type.trim().to_string()).filter(|s| !s.is_empty()),
        entity_id: Some(q.entity_id.trim().to_string()).filter(|s| !s.is_empty()),
        from,
        until,
    };
    let page = st.svc.list_audit(&actor, &filter, PageRequest::new(q.page, Some(50))).await?;
    let rows = page
        .items
        .into_iter()
        .map(|e| AuditRowView {
            seq: e.seq,
            at: fmt_time(e.at, &zone),
            actor: e.actor,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            summary: e.summary,
            client_ip: e.client_ip,
            request_id: e.request_id,
        })
        .collect();
    let base = format!(
        "/admin/audit{}",
        query_string(&[
            ("action", &q.action),
            ("entity_type", &q.entity_type),
            ("entity_id", &q.entity_id),
            ("from", &q.from),
            ("until", &q.until)
        ])
    );
    Ok(AuditPage {
        layout: Layout::new(&actor, &csrf, "Audit log", "/admin/audit").zone(&zone),
        pager: Pager { page: page.page, per_page: page.per_page, total: page.total, base },
        f: q,
        rows,
        filter_error,
    }
    .into_response())
}
