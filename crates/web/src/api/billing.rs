//! `/api/v1/invoices`, `/payments`, `/claims`, `/referrals`, `/reports`, billing
//! settings, and `POST /webhooks/stripe`. Money is in minor units with its currency;
//! every rule (who may, what is allowed) is the services' own.

use super::scheduling::PageOf;
use crate::extract::{ApiActor, ApiJson, ApiPath, ApiQuery, Ctx};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use praxis_domain::{ClaimId, ClinicId, InvoiceId, PatientId, PaymentId, ReferralId, ServiceId};
use praxis_services::ServiceError;
use praxis_services::billing::online::{OnlineCheckout, WebhookOutcome};
use praxis_services::billing::reports::{AgedReport, MethodReport, ReportKind, ReportQuery, RevenueReport, TaxReport};
use praxis_services::billing::settings::{ClinicBilling, ClinicBillingInput, ServiceBilling, ServiceBillingInput};
use praxis_services::billing::{
    Balance, Claim, ClaimQuery, ClaimStep, DraftRequest, Invoice, InvoiceQuery, InvoiceSummary, IssueRequest, Payment,
    PaymentRequest, PdfFile, Referral, ReferralRequest, Refund, RefundRequest, UpiRequest, VoidRequest,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invoices, create_invoice))
        .routes(routes!(get_invoice, update_invoice, discard_invoice))
        .routes(routes!(issue_invoice))
        .routes(routes!(void_invoice))
        .routes(routes!(reissue_invoice))
        .routes(routes!(invoice_pdf))
        .routes(routes!(invoice_upi))
        .routes(routes!(record_payment))
        .routes(routes!(pay_online))
        .routes(routes!(receipt_pdf))
        .routes(routes!(refund_payment))
        .routes(routes!(list_claims))
        .routes(routes!(step_claim))
        .routes(routes!(patient_balance))
        .routes(routes!(list_referrals, create_referral))
        .routes(routes!(get_referral, update_referral))
        .routes(routes!(plan_warnings))
        .routes(routes!(revenue_report))
        .routes(routes!(aged_report))
        .routes(routes!(payments_report))
        .routes(routes!(tax_report))
        .routes(routes!(report_csv))
        .routes(routes!(get_clinic_billing, set_clinic_billing))
        .routes(routes!(list_service_billing))
        .routes(routes!(get_service_billing, set_service_billing))
        .routes(routes!(stripe_webhook))
}

const PJ: &str = "application/problem+json";

/// The invoices you may see: billing staff all, providers their own work, patients their own.
#[utoipa::path(get, path = "/api/v1/invoices", tag = "billing", security(("bearer" = [])), params(InvoiceQuery),
    responses((status = 200, body = PageOf<InvoiceSummary>), (status = 400, body = Problem, content_type = PJ),
              (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn list_invoices(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<InvoiceQuery>,
) -> ApiResult<Json<PageOf<InvoiceSummary>>> {
    Ok(Json(st.svc.list_invoices(&a, &q).await?.into()))
}

/// Draft an invoice from appointments (the service's price by default) and manual lines.
#[utoipa::path(post, path = "/api/v1/invoices", tag = "billing", security(("bearer" = [])), request_body = DraftRequest,
    responses((status = 201, body = Invoice), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn create_invoice(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<DraftRequest>,
) -> ApiResult<(StatusCode, Json<Invoice>)> {
    Ok((StatusCode::CREATED, Json(st.svc.create_invoice(&a, b).await?)))
}

/// One invoice with its lines, payments, refunds, claims and funding warnings.
#[utoipa::path(get, path = "/api/v1/invoices/{id}", tag = "billing", security(("bearer" = [])), params(("id" = InvoiceId, Path)),
    responses((status = 200, body = Invoice), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn get_invoice(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<InvoiceId>,
) -> ApiResult<Json<Invoice>> {
    Ok(Json(st.svc.get_invoice(&a, id).await?))
}

/// Replace a draft's lines and notes (an issued invoice is never edited: 409).
#[utoipa::path(put, path = "/api/v1/invoices/{id}", tag = "billing", security(("bearer" = [])), params(("id" = InvoiceId, Path)), request_body = DraftRequest,
    responses((status = 200, body = Invoice), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn update_invoice(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<InvoiceId>,
    ApiJson(b): ApiJson<DraftRequest>,
) -> ApiResult<Json<Invoice>> {
    Ok(Json(st.svc.update_invoice(&a, id, b).await?))
}

/// Discard a draft (an issued invoice is voided instead: 409).
#[utoipa::path(delete, path = "/api/v1/invoices/{id}", tag = "billing", security(("bearer" = [])), params(("id" = InvoiceId, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ)))]
async fn discard_invoice(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<InvoiceId>,
) -> ApiResult<StatusCode> {
    st.svc.discard_invoice(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issue a draft: the clinic's next gap-free number for the year, due date from the
/// clinic's terms, claims for rebated lines, the invoice emailed to the patient.
#[utoipa::path(post, path = "/api/v1/invoices/{id}/issue", tag = "billing", security(("bearer" = [])), params(("id" = InvoiceId, Path)), request_body = IssueRequest,
    responses((status = 200, body = Invoice), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn issue_invoice(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<InvoiceId>,
    ApiJson(b): ApiJson<IssueRequest>,
) -> ApiResult<Json<Invoice>> {
    Ok(Json(st.svc.issue_invoice(&a, id, b).await?))
}

/// Void an invoice with a reason (refund its payments first). Waiving a fee is voiding it.
#[utoipa::path(post, path = "/api/v1/invoices/{id}/void", tag = "billing", security(("bearer" = [])), params(("id" = InvoiceId, Path)), request_body = VoidRequest,
    responses((status = 200, body = Invoice), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn void_invoice(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<InvoiceId>,
    ApiJson(b): ApiJson<VoidRequest>,
) -> ApiResult<Json<Invoice>> {
    Ok(Json(st.svc.void_invoice(&a, id, b).await?))
}

/// A new draft with the lines of a void invoice, to correct and issue under a new number.
#[utoipa::path(post, path = "/api/v1/invoices/{id}/reissue", tag = "billing", security(("bearer" = [])), params(("id" = InvoiceId, Path)),
    responses((status = 201, body = Invoice), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ)))]
async fn reissue_invoice(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<InvoiceId>,
) -> ApiResult<(StatusCode, Json<Invoice>)> {
    Ok((StatusCode::CREATED, Json(st.svc.reissue_invoice(&a, id).await?)))
}

/// A PDF as a download.
pub(crate) fn pdf_response(f: PdfFile) -> Response {
    let mut res = f.bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    let name: String =
        f.filename.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The invoice as a PDF (clinic details, tax number, lines, GST, rebates, amount due, UPI QR).
#[utoipa::path(get, path = "/api/v1/invoices/{id}/pdf", tag = "billing", security(("bearer" = [])), params(("id" = InvoiceId, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn invoice_pdf(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<InvoiceId>,
) -> ApiResult<Response> {
    Ok(pdf_response(st.svc.invoice_pdf(&a, id).await?))
}

/// The UPI payment request (link and QR code) for what is owing; null when the clinic
/// does not take UPI or nothing is owing.
#[utoipa::path(get, path = "/api/v1/invoices/{id}/upi", tag = "billing", security(("bearer" = [])), params(("id" = InvoiceId, Path)),
    responses((status = 200, body = Option<UpiRequest>), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn invoice_upi(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<InvoiceId>,
) -> ApiResult<Json<Option<UpiRequest>>> {
    Ok(Json(st.svc.invoice_upi(&a, id).await?))
}

/// Record a payment (cash, card, bank transfer, UPI with its transaction reference, or an
/// insurer's). More than is owing is refused (422 `overpayment`). Send `request_key` (or an
/// `Idempotency-Key` header) to make a retry record nothing new.
#[utoipa::path(post, path = "/api/v1/invoices/{id}/payments", tag = "billing", security(("bearer" = [])), params(("id" = InvoiceId, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Any unique string per payment")), request_body = PaymentRequest,
    responses((status = 201, body = Payment), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn record_payment(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<InvoiceId>,
    headers: HeaderMap,
    ApiJson(mut b): ApiJson<PaymentRequest>,
) -> ApiResult<(StatusCode, Json<Payment>)> {
    if b.request_key.is_none() {
        b.request_key = idempotency_key(&headers)?;
    }
    Ok((StatusCode::CREATED, Json(st.svc.record_payment(&a, id, b).await?)))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => v.to_str().map(|s| Some(s.to_string())).map_err(|_| {
            Problem::new(StatusCode::BAD_REQUEST, "bad_header", "The Idempotency-Key header must be plain text.")
        }),
    }
}

/// Start paying the balance online: a Stripe PaymentIntent, and what the payment page
/// needs (publishable key and client secret; the card never reaches Praxis).
#[utoipa::path(post, path = "/api/v1/invoices/{id}/pay-online", tag = "billing", security(("bearer" = [])), params(("id" = InvoiceId, Path)),
    responses((status = 200, body = OnlineCheckout), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ),
              (status = 409, body = Problem, content_type = PJ), (status = 503, body = Problem, content_type = PJ)))]
async fn pay_online(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<InvoiceId>,
) -> ApiResult<Json<OnlineCheckout>> {
    Ok(Json(st.svc.start_online_payment(&a, id).await?))
}

/// A payment's receipt as a PDF.
#[utoipa::path(get, path = "/api/v1/payments/{id}/receipt", tag = "billing", security(("bearer" = [])), params(("id" = PaymentId, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn receipt_pdf(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PaymentId>,
) -> ApiResult<Response> {
    Ok(pdf_response(st.svc.receipt_pdf(&a, id).await?))
}

/// Refund part or all of a payment, with a reason; never more than is left of it. An
/// online payment's refund goes back through Stripe (status `pending` until it confirms).
#[utoipa::path(post, path = "/api/v1/payments/{id}/refunds", tag = "billing", security(("bearer" = [])), params(("id" = PaymentId, Path)), request_body = RefundRequest,
    responses((status = 201, body = Refund), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn refund_payment(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PaymentId>,
    ApiJson(b): ApiJson<RefundRequest>,
) -> ApiResult<(StatusCode, Json<Refund>)> {
    Ok((StatusCode::CREATED, Json(st.svc.refund_payment(&a, id, b).await?)))
}

/// Insurance and Medicare claims, oldest first (billing staff).
#[utoipa::path(get, path = "/api/v1/claims", tag = "billing", security(("bearer" = [])), params(ClaimQuery),
    responses((status = 200, body = PageOf<Claim>), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn list_claims(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<ClaimQuery>,
) -> ApiResult<Json<PageOf<Claim>>> {
    Ok(Json(st.svc.list_claims(&a, &q).await?.into()))
}

/// Move a claim on: `submit`, `approve` (perhaps for less), `reject` (with the payer's
/// reason) or `withdraw`. The patient's share follows the outcome.
#[utoipa::path(post, path = "/api/v1/claims/{id}/actions", tag = "billing", security(("bearer" = [])), params(("id" = ClaimId, Path)), request_body = ClaimStep,
    responses((status = 200, body = Claim), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 404, body = Problem, content_type = PJ), (status = 409, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn step_claim(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ClaimId>,
    ApiJson(b): ApiJson<ClaimStep>,
) -> ApiResult<Json<Claim>> {
    Ok(Json(st.svc.step_claim(&a, id, b).await?))
}

/// What a patient owes on issued invoices, per currency.
#[utoipa::path(get, path = "/api/v1/patients/{id}/balance", tag = "billing", security(("bearer" = [])), params(("id" = PatientId, Path)),
    responses((status = 200, body = Vec<Balance>), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn patient_balance(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
) -> ApiResult<Json<Vec<Balance>>> {
    Ok(Json(st.svc.patient_balance(&a, id).await?))
}

/// A patient's referrals and funded plans, each with sessions used, booked and remaining.
#[utoipa::path(get, path = "/api/v1/patients/{id}/referrals", tag = "billing", security(("bearer" = [])), params(("id" = PatientId, Path)),
    responses((status = 200, body = Vec<Referral>), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn list_referrals(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
) -> ApiResult<Json<Vec<Referral>>> {
    Ok(Json(st.svc.list_referrals(&a, id).await?))
}

/// Record a referral or funded plan (referrer, dates, session cap).
#[utoipa::path(post, path = "/api/v1/patients/{id}/referrals", tag = "billing", security(("bearer" = [])), params(("id" = PatientId, Path)), request_body = ReferralRequest,
    responses((status = 201, body = Referral), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn create_referral(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
    ApiJson(b): ApiJson<ReferralRequest>,
) -> ApiResult<(StatusCode, Json<Referral>)> {
    Ok((StatusCode::CREATED, Json(st.svc.create_referral(&a, id, b).await?)))
}

/// One referral with its standing.
#[utoipa::path(get, path = "/api/v1/referrals/{id}", tag = "billing", security(("bearer" = [])), params(("id" = ReferralId, Path)),
    responses((status = 200, body = Referral), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn get_referral(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ReferralId>,
) -> ApiResult<Json<Referral>> {
    Ok(Json(st.svc.get_referral(&a, id).await?))
}

/// Replace a referral's details (set `active: false` to end it).
#[utoipa::path(put, path = "/api/v1/referrals/{id}", tag = "billing", security(("bearer" = [])), params(("id" = ReferralId, Path)), request_body = ReferralRequest,
    responses((status = 200, body = Referral), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn update_referral(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ReferralId>,
    ApiJson(b): ApiJson<ReferralRequest>,
) -> ApiResult<Json<Referral>> {
    Ok(Json(st.svc.update_referral(&a, id, b).await?))
}

/// A planned booking.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PlanQuery {
    /// The service to book.
    service_id: ServiceId,
    /// The session's local date.
    #[param(value_type = String, format = Date)]
    date: Date,
}

/// What staff should be told before booking this service on this date: funded-plan caps
/// and referral expiry reached or near (empty when nothing applies).
#[utoipa::path(get, path = "/api/v1/patients/{id}/plan-warnings", tag = "billing", security(("bearer" = [])), params(("id" = PatientId, Path), PlanQuery),
    responses((status = 200, body = Vec<String>), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ)))]
async fn plan_warnings(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<PatientId>,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> ApiResult<Json<Vec<String>>> {
    Ok(Json(st.svc.booking_plan_warnings(&a, id, q.service_id, q.date).await?))
}

/// Revenue of issued invoices grouped by clinic, provider, service or month.
#[utoipa::path(get, path = "/api/v1/reports/revenue", tag = "billing", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, body = RevenueReport), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn revenue_report(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<RevenueReport>> {
    Ok(Json(st.svc.revenue_report(&a, &q).await?))
}

/// Money owing on open invoices by age since issue (0–30, 31–60, 61–90, 90+ days).
#[utoipa::path(get, path = "/api/v1/reports/aged-receivables", tag = "billing", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, body = AgedReport), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn aged_report(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<AgedReport>> {
    Ok(Json(st.svc.aged_receivables(&a, &q).await?))
}

/// Payments received by method.
#[utoipa::path(get, path = "/api/v1/reports/payments", tag = "billing", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, body = MethodReport), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn payments_report(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<MethodReport>> {
    Ok(Json(st.svc.payments_report(&a, &q).await?))
}

/// Tax (GST) charged on issued invoices by month and rate.
#[utoipa::path(get, path = "/api/v1/reports/tax", tag = "billing", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, body = TaxReport), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn tax_report(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<TaxReport>> {
    Ok(Json(st.svc.tax_report(&a, &q).await?))
}

/// A CSV file.
pub(crate) fn csv_response(name: &str, body: String) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A report as CSV (`revenue`, `aged`, `payments` or `tax`).
#[utoipa::path(get, path = "/api/v1/reports/{kind}/csv", tag = "billing", security(("bearer" = [])), params(("kind" = ReportKind, Path), ReportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn report_csv(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(kind): ApiPath<ReportKind>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let body = st.svc.report_csv(&a, kind, &q).await?;
    Ok(csv_response(&format!("{}-report.csv", format!("{kind:?}").to_lowercase()), body))
}

/// A clinic's billing details: legal name, tax number (ABN/GSTIN), default tax rate,
/// currency, payment terms, invoice prefix, UPI and bank details.
#[utoipa::path(get, path = "/api/v1/clinics/{id}/billing", tag = "billing", security(("bearer" = [])), params(("id" = ClinicId, Path)),
    responses((status = 200, body = ClinicBilling), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn get_clinic_billing(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ClinicId>,
) -> ApiResult<Json<ClinicBilling>> {
    Ok(Json(st.svc.get_clinic_billing(&a, id).await?))
}

/// Save a clinic's billing details (administrators).
#[utoipa::path(put, path = "/api/v1/clinics/{id}/billing", tag = "billing", security(("bearer" = [])), params(("id" = ClinicId, Path)), request_body = ClinicBillingInput,
    responses((status = 200, body = ClinicBilling), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn set_clinic_billing(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ClinicId>,
    ApiJson(b): ApiJson<ClinicBillingInput>,
) -> ApiResult<Json<ClinicBilling>> {
    Ok(Json(st.svc.set_clinic_billing(&a, id, b).await?))
}

/// Every service's billing terms.
#[utoipa::path(get, path = "/api/v1/services/billing", tag = "billing", security(("bearer" = [])),
    responses((status = 200, body = Vec<ServiceBilling>), (status = 403, body = Problem, content_type = PJ)))]
async fn list_service_billing(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<ServiceBilling>>> {
    Ok(Json(st.svc.list_service_billing(&a).await?))
}

/// A service's billing terms (tax rate, Medicare item and rebate, deposit, fees, auto-draft).
#[utoipa::path(get, path = "/api/v1/services/{id}/billing", tag = "billing", security(("bearer" = [])), params(("id" = ServiceId, Path)),
    responses((status = 200, body = ServiceBilling), (status = 403, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ)))]
async fn get_service_billing(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ServiceId>,
) -> ApiResult<Json<ServiceBilling>> {
    Ok(Json(st.svc.get_service_billing(&a, id).await?))
}

/// Save a service's billing terms (administrators).
#[utoipa::path(put, path = "/api/v1/services/{id}/billing", tag = "billing", security(("bearer" = [])), params(("id" = ServiceId, Path)), request_body = ServiceBillingInput,
    responses((status = 200, body = ServiceBilling), (status = 400, body = Problem, content_type = PJ), (status = 403, body = Problem, content_type = PJ),
              (status = 404, body = Problem, content_type = PJ), (status = 422, body = Problem, content_type = PJ)))]
async fn set_service_billing(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ServiceId>,
    ApiJson(b): ApiJson<ServiceBillingInput>,
) -> ApiResult<Json<ServiceBilling>> {
    Ok(Json(st.svc.set_service_billing(&a, id, b).await?))
}

/// Stripe's webhook: the `Stripe-Signature` header is verified (HMAC-SHA256, 300 s
/// tolerance) before anything is read; a forged or stale one is a 400 and nothing is
/// recorded. Each event id is processed once (a replay answers 200, changing nothing).
#[utoipa::path(post, path = "/webhooks/stripe", tag = "billing", request_body(content = String, content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix>,v1=<hex HMAC-SHA256 of \"t.body\">")),
    responses((status = 200, body = WebhookOutcome), (status = 400, body = Problem, content_type = PJ), (status = 404, body = Problem, content_type = PJ, description = "Online payment is not configured")))]
async fn stripe_webhook(
    State(st): State<AppState>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<WebhookOutcome>> {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    match st.svc.handle_payment_webhook(&ctx, &body, signature).await {
        Ok(o) => Ok(Json(o)),
        Err(ServiceError::Validation(errors)) => Err(Problem {
            errors,
            ..Problem::new(
                StatusCode::BAD_REQUEST,
                "bad_signature",
                "The webhook's signature is missing, wrong or too old.",
            )
        }),
        Err(e) => Err(e.into()),
    }
}
