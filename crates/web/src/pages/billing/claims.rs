//! Claims to insurers and Medicare: the list by status, and each claim's next step —
//! send it, record the payer's approval (with the amount accepted) or rejection (with
//! the payer's reason), or withdraw it. The patient's share follows the outcome.

use super::{BillingNav, layout, money};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::form::{Fields, Opt, Refusal, done, path_id};
use crate::pages::money::parse_major;
use crate::pages::{Layout, PageResult, Pager, fmt_day, query_string};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use praxis_domain::billing::{ClaimAction, ClaimStatus};
use praxis_domain::{ClaimId, Currency, FieldError};
use praxis_services::billing::{Claim, ClaimQuery, ClaimStep};
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/billing/claims", get(list)).route("/billing/claims/{id}", post(step))
}

#[derive(Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
    page: Option<i64>,
    msg: Option<String>,
}

/// A claim's step as typed.
#[derive(Default, Deserialize)]
struct StepForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    approved: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    reference: String,
}

struct ClaimRow {
    id: String,
    invoice_id: String,
    invoice: String,
    patient: String,
    description: String,
    payer: String,
    item_number: String,
    claimed: String,
    approved: String,
    status: String,
    chip: &'static str,
    reason: String,
    reference: String,
    dates: String,
    can_submit: bool,
    can_decide: bool,
    can_withdraw: bool,
    /// What was typed into this claim's form when it was refused, and why.
    form: StepForm,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "billing_claims.html")]
struct ListPage {
    layout: Layout,
    tabs: BillingNav,
    statuses: Vec<Opt>,
    rows: Vec<ClaimRow>,
    pager: Pager,
}

const STATUSES: &[(&str, &str)] = &[
    ("", "Any status"),
    ("pending", "Not yet sent"),
    ("submitted", "Submitted"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("withdrawn", "Withdrawn"),
];

fn chip(s: ClaimStatus) -> &'static str {
    match s {
        ClaimStatus::Pending => "warn",
        ClaimStatus::Submitted => "cal-info",
        ClaimStatus::Approved => "ok",
        ClaimStatus::Rejected => "bad",
        ClaimStatus::Withdrawn => "off",
    }
}

fn row(c: &Claim, zone: &jiff::tz::TimeZone) -> ClaimRow {
    let m = |v: i64| money(v, &c.currency);
    let mut dates = Vec::new();
    if let Some(t) = c.submitted_at {
        dates.push(format!("Sent {}", fmt_day(t, zone)));
    }
    if let Some(t) = c.decided_at {
        dates.push(format!("Decided {}", fmt_day(t, zone)));
    }
    ClaimRow {
        id: c.id.to_string(),
        invoice_id: c.invoice_id.to_string(),
        invoice: c.invoice_number.clone().unwrap_or_default(),
        patient: c.patient_name.clone(),
        description: c.description.clone(),
        payer: c.payer.clone(),
        item_number: c.item_number.clone(),
        claimed: m(c.claimed_minor),
        approved: c.approved_minor.map(m).unwrap_or_default(),
        status: c.status_label.clone(),
        chip: chip(c.status),
        reason: c.reason.clone().unwrap_or_default(),
        reference: c.reference.clone(),
        dates: dates.join(" · "),
        can_submit: c.status == ClaimStatus::Pending,
        can_decide: c.status == ClaimStatus::Submitted,
        can_withdraw: matches!(c.status, ClaimStatus::Pending | ClaimStatus::Submitted),
        form: StepForm::default(),
        error: None,
    }
}

/// The list, with one claim's refused form shown back when there is one.
async fn render(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    q: ListQuery,
    refused: Option<(ClaimId, StepForm, String, StatusCode)>,
) -> PageResult {
    let status = Some(q.status.clone()).filter(|s| !s.is_empty());
    let cq = ClaimQuery { status, page: q.page, per_page: Some(50) };
    let (page, bad_filter) = match st.svc.list_claims(actor, &cq).await {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(Refusal::of(e)?)),
    };
    let zone = st.svc.settings().display_zone.clone();
    let mut status_code = StatusCode::OK;
    let mut rows: Vec<ClaimRow> =
        page.as_ref().map(|p| p.items.iter().map(|c| row(c, &zone)).collect()).unwrap_or_default();
    if let Some((id, form, message, code)) = refused {
        status_code = code;
        if let Some(r) = rows.iter_mut().find(|r| r.id == id.to_string()) {
            r.form = form;
            r.error = Some(message);
        }
    }
    let mut layout = layout(actor, csrf, "Claims", &[]);
    if let Some(r) = &bad_filter {
        status_code = r.status;
        layout = layout.notice("error", "Choose one of the statuses to filter by.");
    } else if q.msg.as_deref() == Some("saved") {
        layout = layout.notice("ok", "The claim was updated.");
    }
    let statuses = STATUSES.iter().map(|(v, l)| Opt::new(*v, *l, q.status == *v)).collect();
    let total = page.as_ref().map(|p| p.total).unwrap_or(0);
    let page_no = page.as_ref().map(|p| p.page).unwrap_or(1);
    let base = format!("/billing/claims{}", query_string(&[("status", &q.status)]));
    let page = ListPage {
        layout,
        tabs: BillingNav::new(actor, "claims"),
        statuses,
        rows,
        pager: Pager { page: page_no, per_page: 50, total, base },
    };
    Ok((status_code, page).into_response())
}

async fn list(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Query(q): Query<ListQuery>,
) -> PageResult {
    render(&st, &actor, &csrf, q, None).await
}

/// Reads a claim's step; the approved amount is in the claim's currency.
fn read_step(form: &StepForm, claim: &Claim) -> Result<ClaimStep, ServiceError> {
    let action = match form.action.as_str() {
        "submit" => ClaimAction::Submit,
        "approve" => ClaimAction::Approve,
        "reject" => ClaimAction::Reject,
        "withdraw" => ClaimAction::Withdraw,
        _ => return Err(ServiceError::invalid("action", "invalid", "Choose what happened to the claim.")),
    };
    let approved_minor = match (action, form.approved.trim(), Currency::parse(&claim.currency)) {
        (ClaimAction::Approve, t, Ok(c)) if !t.is_empty() => Some(parse_major(t, c).map_err(|m| {
            ServiceError::Validation(vec![FieldError { field: "approved".into(), code: "invalid".into(), message: m }])
        })?),
        _ => None,
    };
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(ClaimStep { action, approved_minor, reason: text(&form.reason), reference: text(&form.reference) })
}

async fn step(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(form): Form<StepForm>,
) -> PageResult {
    let id: ClaimId = path_id(&id, "Claim")?;
    let claim = st.svc.get_claim(&actor, id).await?;
    let outcome = match read_step(&form, &claim) {
        Ok(s) => st.svc.step_claim(&actor, id, s).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(done("/billing/claims?msg=saved".into())),
        Err(e) => {
            let r = Refusal::of(e)?;
            let f = Fields::new(r.errors.clone(), &["action", "approved", "reason", "reference"]);
            let detail = f.errors.0.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" ");
            let message = if detail.is_empty() { r.message } else { detail };
            render(&st, &actor, &csrf, ListQuery::default(), Some((id, form, message, r.status))).await
        }
    }
}
