//! Every route × every role: allowed or forbidden, exactly as the permission matrix says.
//! The API half of the table must list every operation in the OpenAPI document, so a new
//! route cannot be added without deciding who may call it.

use crate::*;
use praxis_domain::Role;
use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    As(Role),
}

const EVERYONE: &[Role] = &[Role::Admin, Role::Staff, Role::Provider, Role::Patient];
const ADMIN: &[Role] = &[Role::Admin];
const ADMIN_STAFF: &[Role] = &[Role::Admin, Role::Staff];
const CLINICAL: &[Role] = &[Role::Admin, Role::Staff, Role::Provider];
const ADMIN_PROVIDER: &[Role] = &[Role::Admin, Role::Provider];
const PATIENT_ONLY: &[Role] = &[Role::Patient];
const PROVIDER_ONLY: &[Role] = &[Role::Provider];
const ADMIN_STAFF_PATIENT: &[Role] = &[Role::Admin, Role::Staff, Role::Patient];

/// (method, path as in the OpenAPI document, body, roles allowed). Path parameters are
/// filled with fresh records that belong to the acting provider or patient where the
/// permission is "own" (see `Targets`); `"$patient"` in a body becomes that patient.
fn api_table() -> Vec<(&'static str, &'static str, serde_json::Value, &'static [Role])> {
    vec![
        ("GET", "/api/v1/me", json!(null), EVERYONE),
        (
            "POST",
            "/api/v1/me/password",
            json!({"current_password": "x", "new_password": "y", "confirm_password": "y"}),
            EVERYONE,
        ),
        ("GET", "/api/v1/me/two-factor", json!(null), EVERYONE),
        ("POST", "/api/v1/me/two-factor", json!(null), EVERYONE),
        ("POST", "/api/v1/me/two-factor/confirm", json!({"code": "000000"}), EVERYONE),
        ("POST", "/api/v1/me/two-factor/recovery-codes", json!({"code": "000000"}), EVERYONE),
        ("POST", "/api/v1/me/two-factor/disable", json!({"password": "wrong"}), EVERYONE),
        ("GET", "/api/v1/two-factor-policy", json!(null), ADMIN),
        ("PUT", "/api/v1/two-factor-policy", json!({"required_roles": []}), ADMIN),
        ("GET", "/api/v1/users/{id}/two-factor", json!(null), ADMIN),
        ("DELETE", "/api/v1/users/{id}/two-factor", json!(null), ADMIN),
        ("GET", "/api/v1/users", json!(null), ADMIN),
        ("POST", "/api/v1/users", json!({"email": "new@clinic.example", "full_name": "N", "roles": ["staff"]}), ADMIN),
        ("GET", "/api/v1/users/{id}", json!(null), ADMIN),
        ("PATCH", "/api/v1/users/{id}", json!({"full_name": "Changed"}), ADMIN),
        ("POST", "/api/v1/users/{id}/deactivate", json!({}), ADMIN),
        ("POST", "/api/v1/users/{id}/activate", json!({}), ADMIN),
        ("POST", "/api/v1/users/{id}/reset-password", json!({}), ADMIN),
        ("GET", "/api/v1/audit", json!(null), ADMIN),
        ("GET", "/api/v1/backups", json!(null), ADMIN),
        ("POST", "/api/v1/backups", json!({"kind": "database"}), ADMIN),
        ("GET", "/api/v1/backups/schedule", json!(null), ADMIN),
        (
            "PUT",
            "/api/v1/backups/schedule",
            json!({"enabled": true, "kind": "full", "run_at": "02:00", "time_zone": "Australia/Sydney",
                   "keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12}),
            ADMIN,
        ),
        ("GET", "/api/v1/backups/{id}", json!(null), ADMIN),
        ("POST", "/api/v1/backups/{id}/verify", json!({}), ADMIN),
        ("GET", "/api/v1/backups/{id}/files/{name}", json!(null), ADMIN),
        ("GET", "/api/v1/alerts", json!(null), ADMIN),
        ("DELETE", "/api/v1/alerts/{key}", json!(null), ADMIN),
        ("GET", "/api/v1/api-keys", json!(null), ADMIN),
        (
            "POST",
            "/api/v1/api-keys",
            json!({"name": "K", "role": "staff", "access": "read", "areas": ["directory"]}),
            ADMIN,
        ),
        ("DELETE", "/api/v1/api-keys/{id}", json!(null), ADMIN),
        ("GET", "/api/v1/webhooks", json!(null), ADMIN),
        ("POST", "/api/v1/webhooks", json!({"url": "http://127.0.0.1:9/in", "events": ["patient.created"]}), ADMIN),
        ("GET", "/api/v1/webhooks/{id}", json!(null), ADMIN),
        ("PUT", "/api/v1/webhooks/{id}", json!({"url": "http://127.0.0.1:9/in", "events": ["invoice.paid"]}), ADMIN),
        ("DELETE", "/api/v1/webhooks/{id}", json!(null), ADMIN),
        ("GET", "/api/v1/webhooks/{id}/deliveries", json!(null), ADMIN),
        ("POST", "/api/v1/webhook-deliveries/{id}/resend", json!({}), ADMIN),
        ("GET", "/api/v1/clinics", json!(null), EVERYONE),
        ("POST", "/api/v1/clinics", json!({"name": "New", "time_zone": "Asia/Kolkata"}), ADMIN),
        ("GET", "/api/v1/clinics/{id}", json!(null), EVERYONE),
        ("PUT", "/api/v1/clinics/{id}", json!({"name": "Renamed", "time_zone": "Australia/Sydney"}), ADMIN),
        ("GET", "/api/v1/clinics/{id}/closures", json!(null), EVERYONE),
        ("POST", "/api/v1/clinics/{id}/closures", json!({"from": "2026-12-25"}), ADMIN_STAFF),
        ("DELETE", "/api/v1/clinics/{id}/closures/{closure_id}", json!(null), ADMIN_STAFF),
        ("GET", "/api/v1/specialties", json!(null), EVERYONE),
        ("POST", "/api/v1/specialties", json!({"name": "$unique"}), ADMIN),
        ("GET", "/api/v1/providers", json!(null), EVERYONE),
        ("POST", "/api/v1/providers", json!({"user_id": "$provider_user"}), ADMIN),
        ("GET", "/api/v1/providers/{id}", json!(null), EVERYONE),
        ("PUT", "/api/v1/providers/{id}", json!({"clinic_ids": ["$clinic"], "service_ids": ["$service"]}), ADMIN),
        ("GET", "/api/v1/providers/{id}/availability", json!(null), EVERYONE),
        (
            "POST",
            "/api/v1/providers/{id}/availability/windows",
            json!({"clinic_id": "$clinic", "weekday": "saturday", "start": "$window_start", "end": "$window_end"}),
            CLINICAL,
        ),
        ("DELETE", "/api/v1/providers/{id}/availability/windows/{window_id}", json!(null), CLINICAL),
        (
            "POST",
            "/api/v1/providers/{id}/availability/exceptions",
            json!({"from": "2026-12-24", "kind": "closed"}),
            CLINICAL,
        ),
        ("DELETE", "/api/v1/providers/{id}/availability/exceptions/{exception_id}", json!(null), CLINICAL),
        ("POST", "/api/v1/providers/{id}/calendar-feed", json!({}), ADMIN_PROVIDER),
        ("GET", "/api/v1/services", json!(null), EVERYONE),
        ("POST", "/api/v1/services", json!({"name": "New", "duration_minutes": 30}), ADMIN),
        ("GET", "/api/v1/services/{id}", json!(null), EVERYONE),
        (
            "PUT",
            "/api/v1/services/{id}",
            json!({"name": "Renamed", "duration_minutes": 30, "slot_step_minutes": 30, "booking_horizon_days": 365}),
            ADMIN,
        ),
        ("GET", "/api/v1/patients", json!(null), CLINICAL),
        ("POST", "/api/v1/patients", json!({"given_name": "New", "family_name": "Patient"}), CLINICAL),
        ("GET", "/api/v1/patients/export.csv", json!(null), ADMIN),
        ("GET", "/api/v1/patients/{id}", json!(null), EVERYONE),
        ("POST", "/api/v1/patients/{id}/archive", json!({}), ADMIN_STAFF),
        ("POST", "/api/v1/patients/{id}/restore", json!({}), ADMIN_STAFF),
        ("GET", "/api/v1/patients/{id}/guardians", json!(null), EVERYONE),
        (
            "POST",
            "/api/v1/patients/{id}/guardians",
            json!({"user_id": "$guardian_user", "relationship": "Mother"}),
            CLINICAL,
        ),
        ("DELETE", "/api/v1/patients/{id}/guardians/{user_id}", json!(null), CLINICAL),
        ("GET", "/api/v1/patients/{id}/consents", json!(null), EVERYONE),
        ("POST", "/api/v1/patients/{id}/consents", json!({"kind": "treatment"}), CLINICAL),
        ("POST", "/api/v1/patients/{id}/consents/{consent_id}/withdraw", json!({}), EVERYONE),
        // The acting provider joins the patient's care team here, so treats them below.
        ("POST", "/api/v1/patients/{id}/care-team", json!({"provider_id": "$provider"}), ADMIN_STAFF),
        ("GET", "/api/v1/patients/{id}/notes", json!(null), ADMIN_PROVIDER),
        (
            "POST",
            "/api/v1/patients/{id}/notes",
            json!({"kind": "progress", "content": {"text": "Seen"}}),
            PROVIDER_ONLY,
        ),
        ("GET", "/api/v1/notes/{id}", json!(null), ADMIN_PROVIDER),
        ("PUT", "/api/v1/notes/{id}", json!({"content": {"text": "Edited"}}), PROVIDER_ONLY),
        ("POST", "/api/v1/notes/{id}/sign", json!({}), PROVIDER_ONLY),
        (
            "POST",
            "/api/v1/notes/{id}/amendments",
            json!({"reason": "Correction", "text": "Dose was 5 mg"}),
            PROVIDER_ONLY,
        ),
        ("GET", "/api/v1/slots", json!(null), EVERYONE),
        ("GET", "/api/v1/slots/first-available", json!(null), EVERYONE),
        ("GET", "/api/v1/slots/days", json!(null), EVERYONE),
        ("GET", "/api/v1/appointments", json!(null), EVERYONE),
        (
            "POST",
            "/api/v1/appointments",
            json!({"service_id": "$service", "provider_id": "$provider", "clinic_id": "$clinic", "start": "$free_start", "patient_id": "$patient"}),
            EVERYONE,
        ),
        ("GET", "/api/v1/appointments/{id}", json!(null), EVERYONE),
        ("GET", "/api/v1/appointments/{id}/history", json!(null), EVERYONE),
        ("POST", "/api/v1/appointments/{id}/confirm", json!({}), CLINICAL),
        ("POST", "/api/v1/appointments/{id}/check-in", json!({}), CLINICAL),
        ("POST", "/api/v1/appointments/{id}/start", json!({}), CLINICAL),
        ("POST", "/api/v1/appointments/{id}/complete", json!({}), CLINICAL),
        ("POST", "/api/v1/appointments/{id}/no-show", json!({}), CLINICAL),
        ("POST", "/api/v1/appointments/{id}/cancel", json!({"reason": "Unwell"}), EVERYONE),
        ("POST", "/api/v1/appointments/{id}/reschedule", json!({"start": "$free_start"}), EVERYONE),
        ("POST", "/api/v1/appointments/{id}/participants", json!({"patient_id": "$patient"}), CLINICAL),
        ("DELETE", "/api/v1/appointments/{id}/participants/{patient_id}", json!(null), CLINICAL),
        (
            "POST",
            "/api/v1/series",
            json!({"service_id": "$service", "provider_id": "$provider", "clinic_id": "$clinic", "first_start": "$free_start", "count": 1, "patient_id": "$patient"}),
            EVERYONE,
        ),
        ("GET", "/api/v1/waitlist", json!(null), EVERYONE),
        ("POST", "/api/v1/waitlist", json!({"service_id": "$service", "patient_id": "$patient"}), EVERYONE),
        ("DELETE", "/api/v1/waitlist/{id}", json!(null), EVERYONE),
        ("GET", "/api/v1/waitlist/offers", json!(null), EVERYONE),
        ("GET", "/api/v1/messages", json!(null), ADMIN_STAFF),
        ("GET", "/api/v1/messages/{id}", json!(null), ADMIN_STAFF),
        ("POST", "/api/v1/messages/{id}/retry", json!({}), ADMIN_STAFF),
        ("POST", "/api/v1/messages/{id}/cancel", json!({}), ADMIN_STAFF),
        ("GET", "/api/v1/appointments/{id}/messages", json!(null), ADMIN_STAFF),
        ("GET", "/api/v1/patients/{id}/message-preferences", json!(null), EVERYONE),
        ("PUT", "/api/v1/patients/{id}/message-preferences", json!({"sms_enabled": true}), EVERYONE),
        ("POST", "/api/v1/waitlist/offers/{id}/accept", json!({}), EVERYONE),
        ("POST", "/api/v1/waitlist/offers/{id}/decline", json!({}), EVERYONE),
        ("GET", "/api/v1/patients/{id}/documents", json!(null), EVERYONE),
        // The body is the file; without an access level the clinic's people get 422.
        ("POST", "/api/v1/patients/{id}/documents", json!({}), CLINICAL),
        ("GET", "/api/v1/documents/{id}", json!(null), EVERYONE),
        ("PUT", "/api/v1/documents/{id}", json!({"description": "Checked"}), CLINICAL),
        ("DELETE", "/api/v1/documents/{id}", json!(null), ADMIN),
        ("GET", "/api/v1/documents/{id}/content", json!(null), EVERYONE),
        ("GET", "/api/v1/forms", json!(null), CLINICAL),
        (
            "POST",
            "/api/v1/forms",
            json!({"name": "$unique", "questions": [{"label": "Anything else?", "kind": "text"}]}),
            ADMIN,
        ),
        ("GET", "/api/v1/forms/{id}", json!(null), CLINICAL),
        (
            "PUT",
            "/api/v1/forms/{id}",
            json!({"name": "$unique", "questions": [{"label": "Changed?", "kind": "yes_no"}]}),
            ADMIN,
        ),
        ("GET", "/api/v1/patients/{id}/forms", json!(null), EVERYONE),
        ("POST", "/api/v1/patients/{id}/forms", json!({"form_id": "$form"}), CLINICAL),
        ("GET", "/api/v1/form-assignments/{id}", json!(null), EVERYONE),
        ("POST", "/api/v1/form-assignments/{id}/answers", json!({"answers": {"q1": "Nothing"}}), PATIENT_ONLY),
        ("POST", "/api/v1/form-assignments/{id}/cancel", json!({}), CLINICAL),
        ("GET", "/api/v1/appointments/{id}/forms", json!(null), EVERYONE),
        ("GET", "/api/v1/invoices", json!(null), EVERYONE),
        (
            "POST",
            "/api/v1/invoices",
            json!({"patient_id": "$patient", "clinic_id": "$clinic", "lines": [{"description": "Report", "unit_price_minor": 100}]}),
            ADMIN_STAFF,
        ),
        ("GET", "/api/v1/invoices/{id}", json!(null), EVERYONE),
        ("PUT", "/api/v1/invoices/{id}", json!({"lines": []}), ADMIN_STAFF),
        ("DELETE", "/api/v1/invoices/{id}", json!(null), ADMIN_STAFF),
        ("POST", "/api/v1/invoices/{id}/issue", json!({}), ADMIN_STAFF),
        ("POST", "/api/v1/invoices/{id}/void", json!({"reason": "Test"}), ADMIN_STAFF),
        ("POST", "/api/v1/invoices/{id}/reissue", json!({}), ADMIN_STAFF),
        ("GET", "/api/v1/invoices/{id}/pdf", json!(null), EVERYONE),
        ("GET", "/api/v1/invoices/{id}/upi", json!(null), EVERYONE),
        ("POST", "/api/v1/invoices/{id}/payments", json!({"method": "cash", "amount_minor": 100}), ADMIN_STAFF),
        ("POST", "/api/v1/invoices/{id}/pay-online", json!({}), ADMIN_STAFF_PATIENT),
        ("GET", "/api/v1/payments/{id}/receipt", json!(null), EVERYONE),
        ("POST", "/api/v1/payments/{id}/refunds", json!({"amount_minor": 10, "reason": "Test"}), ADMIN_STAFF),
        ("GET", "/api/v1/claims", json!(null), ADMIN_STAFF),
        ("POST", "/api/v1/claims/{id}/actions", json!({"action": "submit"}), ADMIN_STAFF),
        ("GET", "/api/v1/patients/{id}/balance", json!(null), ADMIN_STAFF_PATIENT),
        ("GET", "/api/v1/patients/{id}/referrals", json!(null), CLINICAL),
        (
            "POST",
            "/api/v1/patients/{id}/referrals",
            json!({"label": "Plan", "referrer_name": "Dr A", "referral_date": "2026-01-01", "session_cap": 10}),
            CLINICAL,
        ),
        ("GET", "/api/v1/patients/{id}/plan-warnings", json!(null), CLINICAL),
        ("GET", "/api/v1/referrals/{id}", json!(null), CLINICAL),
        (
            "PUT",
            "/api/v1/referrals/{id}",
            json!({"label": "Plan", "referrer_name": "Dr B", "referral_date": "2026-01-01"}),
            CLINICAL,
        ),
        ("GET", "/api/v1/reports/revenue", json!(null), CLINICAL),
        ("GET", "/api/v1/reports/aged-receivables", json!(null), CLINICAL),
        ("GET", "/api/v1/reports/payments", json!(null), CLINICAL),
        ("GET", "/api/v1/reports/tax", json!(null), CLINICAL),
        ("GET", "/api/v1/reports/{kind}/csv", json!(null), CLINICAL),
        ("GET", "/api/v1/clinics/{id}/billing", json!(null), ADMIN_STAFF),
        ("PUT", "/api/v1/clinics/{id}/billing", json!({"currency": "AUD", "tax_number": "51 824 753 556"}), ADMIN),
        ("GET", "/api/v1/services/billing", json!(null), ADMIN_STAFF),
        ("GET", "/api/v1/services/{id}/billing", json!(null), ADMIN_STAFF),
        ("PUT", "/api/v1/services/{id}/billing", json!({"tax_bp": 1000}), ADMIN),
        // Late: it replaces the patient's details (their email, which messages go to).
        ("PUT", "/api/v1/patients/{id}", json!({"given_name": "Changed", "family_name": "Name"}), EVERYONE),
        // Last: it ends the session the other rows use.
        ("POST", "/api/v1/auth/logout", json!({}), EVERYONE),
    ]
}

/// Routes anyone may call, logged in or not.
const PUBLIC_API: &[(&str, &str)] =
    &[("POST", "/api/v1/auth/login"), ("POST", "/webhooks/stripe"), ("POST", "/webhooks/sms")];

/// (method, path, form fields, roles allowed) for the web pages.
type PageRow = (&'static str, &'static str, Vec<(&'static str, &'static str)>, &'static [Role]);

fn page_table() -> Vec<PageRow> {
    vec![
        ("GET", "/", vec![], EVERYONE),
        ("GET", "/profile", vec![], EVERYONE),
        ("POST", "/profile/password", vec![("current_password", "x")], EVERYONE),
        ("GET", "/admin/users", vec![], ADMIN),
        ("GET", "/admin/users/new", vec![], ADMIN),
        ("POST", "/admin/users", vec![("email", "page@clinic.example"), ("full_name", "P"), ("roles", "staff")], ADMIN),
        ("GET", "/admin/users/{id}", vec![], ADMIN),
        ("POST", "/admin/users/{id}", vec![("full_name", "Changed"), ("roles", "staff")], ADMIN),
        ("POST", "/admin/users/{id}/deactivate", vec![], ADMIN),
        ("POST", "/admin/users/{id}/activate", vec![], ADMIN),
        ("POST", "/admin/users/{id}/reset-password", vec![], ADMIN),
        ("POST", "/admin/users/{id}/reset-two-factor", vec![], ADMIN),
        ("POST", "/admin/two-factor-policy", vec![], ADMIN),
        ("GET", "/profile/two-factor", vec![], EVERYONE),
        ("POST", "/profile/two-factor", vec![("code", "000000")], EVERYONE),
        ("POST", "/profile/two-factor/recovery-codes", vec![("code", "000000")], EVERYONE),
        ("POST", "/profile/two-factor/disable", vec![("password", "wrong")], EVERYONE),
        ("GET", "/admin/audit", vec![], ADMIN),
        ("GET", "/admin/backups", vec![], ADMIN),
        ("GET", "/admin/health", vec![], ADMIN),
        ("GET", "/admin/integrations", vec![], ADMIN),
        (
            "POST",
            "/admin/integrations/keys",
            vec![("name", "Page key"), ("role", "staff"), ("access", "read"), ("areas", "billing")],
            ADMIN,
        ),
        (
            "POST",
            "/admin/integrations/webhooks",
            vec![("url", "http://127.0.0.1:9/in"), ("events", "invoice.paid")],
            ADMIN,
        ),
        ("GET", "/admin/integrations/webhooks/{id}", vec![], ADMIN),
        ("POST", "/admin/integrations/webhooks/{id}", vec![("url", "http://127.0.0.1:9/in")], ADMIN),
        ("POST", "/admin/integrations/webhooks/{id}/remove", vec![], ADMIN),
        ("POST", "/admin/integrations/keys/{id}/revoke", vec![], ADMIN),
        ("POST", "/admin/integrations/deliveries/{id}/resend", vec![], ADMIN),
        ("POST", "/admin/health/alerts/dismiss", vec![("key", "backup_failed:none")], ADMIN),
        ("POST", "/admin/backups", vec![("kind", "database")], ADMIN),
        (
            "POST",
            "/admin/backups/schedule",
            vec![
                ("enabled", "on"),
                ("kind", "full"),
                ("run_at", "02:00"),
                ("time_zone", "UTC"),
                ("keep_daily", "7"),
                ("keep_weekly", "4"),
                ("keep_monthly", "12"),
            ],
            ADMIN,
        ),
    ]
}

fn everyone() -> Vec<Who> {
    let mut v = vec![Who::Anonymous];
    v.extend(EVERYONE.iter().map(|r| Who::As(*r)));
    v
}

#[tokio::test]
async fn the_api_table_covers_every_documented_operation() {
    let app = TestApp::spawn().await;
    let documented = crate::http::openapi_operations(&app).await;
    let mut listed: Vec<(String, String)> = api_table()
        .iter()
        .map(|(m, p, _, _)| (m.to_string(), p.to_string()))
        .chain(PUBLIC_API.iter().map(|(m, p)| (m.to_string(), p.to_string())))
        .collect();
    listed.sort();
    assert_eq!(listed, documented, "add the new route to the permission table");
}

/// Fresh records for path parameters: a clinic and service, a provider (the acting
/// provider's own profile) and a patient (the acting patient's own record).
struct Targets {
    clinic: praxis_services::catalog::Clinic,
    service: praxis_services::catalog::Service,
    provider: praxis_services::catalog::Provider,
    patient: praxis_services::patients::Patient,
    counter: std::sync::atomic::AtomicI64,
    windows: std::sync::atomic::AtomicI64,
}

impl Targets {
    /// A clinic with a 30-minute service, a provider working weekdays 09–17 and a patient;
    /// also the provider's and the patient's accounts.
    async fn new(app: &TestApp) -> (Targets, TestUser, TestUser) {
        let clinic = app.clinic("Main", "Australia/Sydney").await;
        let service = app
            .service(praxis_services::catalog::ServiceInput {
                name: "Visit".into(),
                duration_minutes: Some(30),
                slot_step_minutes: Some(30),
                booking_horizon_days: Some(365),
                ..Default::default()
            })
            .await;
        let (provider_user, provider) = app.provider(&[clinic.id], &[service.id]).await;
        app.weekdays(&provider, clinic.id, "09:00", "17:00").await;
        let (patient_user, patient) = app.patient_user().await;
        let targets =
            Targets { clinic, service, provider, patient, counter: Default::default(), windows: Default::default() };
        (targets, provider_user, patient_user)
    }

    fn next(&self) -> i64 {
        self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// A distinct 5-minute window `(start, end)` on Saturdays.
    fn window(&self) -> (String, String) {
        let m = self.windows.fetch_add(1, std::sync::atomic::Ordering::Relaxed) * 10;
        assert!(m < 1430, "out of window slots");
        (format!("{:02}:{:02}", m / 60, m % 60), format!("{:02}:{:02}", m / 60, m % 60 + 5))
    }

    /// A distinct free weekday start, 09:00–16:00 Sydney, from Monday 9 March on.
    fn free_start(&self) -> String {
        let n = self.next();
        let day = n / 8;
        let hour = 9 + n % 8;
        let weekday_offset = day + 2 * (day / 5); // skip weekends
        let date = jiff::civil::date(2026, 3, 9).checked_add(jiff::Span::new().days(weekday_offset)).unwrap();
        let z = date.at(hour as i8, 0, 0, 0).to_zoned(jiff::tz::TimeZone::get("Australia/Sydney").unwrap()).unwrap();
        z.timestamp().to_string()
    }

    async fn appointment(&self, app: &TestApp) -> praxis_domain::AppointmentId {
        let req = praxis_services::scheduling::BookingRequest {
            service_id: Some(self.service.id),
            provider_id: Some(self.provider.id),
            clinic_id: Some(self.clinic.id),
            start: Some(self.free_start().parse().unwrap()),
            patient_id: Some(self.patient.id),
            ..Default::default()
        };
        app.svc.book(&praxis_services::Actor::system("test"), req, None).await.unwrap().appointment.id
    }

    /// A pending waiting-list offer to the patient: they wait, a booking is cancelled.
    async fn offer(&self, app: &TestApp) -> praxis_domain::WaitlistOfferId {
        let sys = praxis_services::Actor::system("test");
        let entry = app
            .svc
            .join_waitlist(
                &sys,
                praxis_services::scheduling::WaitlistInput {
                    service_id: Some(self.service.id),
                    patient_id: Some(self.patient.id),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let other = app
            .svc
            .create_patient(
                &sys,
                praxis_services::patients::NewPatient { given_name: "Other".into(), ..Default::default() },
            )
            .await
            .unwrap();
        let req = praxis_services::scheduling::BookingRequest {
            service_id: Some(self.service.id),
            provider_id: Some(self.provider.id),
            clinic_id: Some(self.clinic.id),
            start: Some(self.free_start().parse().unwrap()),
            patient_id: Some(other.id),
            ..Default::default()
        };
        let a = app.svc.book(&sys, req, None).await.unwrap().appointment;
        app.svc
            .cancel_appointment(
                &sys,
                a.id,
                praxis_services::scheduling::CancelRequest { reason: "freed".into(), ..Default::default() },
            )
            .await
            .unwrap();
        let offers = app.svc.list_offers(&sys, Some(self.patient.id)).await.unwrap();
        // The offer goes to the patient's oldest waiting entry; the newest pending offer is it.
        let _ = entry;
        let offer = offers.into_iter().find(|o| o.status == "pending").expect("an offer was made");
        offer.id
    }

    /// Fills the path parameters and `$placeholders` of one table row.
    async fn resolve(&self, app: &TestApp, path: &str, body: &serde_json::Value) -> (String, serde_json::Value) {
        let sys = praxis_services::Actor::system("test");
        let mut path = path.to_string();
        let mut body = body.to_string();
        if path.starts_with("/api/v1/invoices/{id}") {
            path = path.replace(
                "{id}",
                &crate::billing::fresh_invoice(app, &self.clinic, &self.provider, self.patient.id).await.0,
            );
        } else if path.starts_with("/api/v1/payments/{id}") {
            let inv = crate::billing::fresh_invoice(app, &self.clinic, &self.provider, self.patient.id).await.0;
            path = path.replace("{id}", &crate::billing::fresh_payment(app, &inv).await);
        } else if path.starts_with("/api/v1/claims/{id}") {
            path = path.replace(
                "{id}",
                &crate::billing::fresh_invoice(app, &self.clinic, &self.provider, self.patient.id).await.1,
            );
        } else if path.starts_with("/api/v1/referrals/{id}") {
            path = path.replace("{id}", &crate::billing::fresh_referral(app, self.patient.id).await);
        } else if path.starts_with("/api/v1/backups/{id}") || path.starts_with("/api/v1/alerts/{key}") {
            // Unknown to everyone: administrators get 404, everyone else is refused first.
            path = path.replace("{id}", &uuid::Uuid::now_v7().to_string()).replace("{name}", "manifest.json");
            path = path.replace("{key}", "backup_failed:nothing");
        } else if path.starts_with("/api/v1/api-keys/{id}") {
            let input = praxis_services::integrations::ApiKeyInput {
                name: "Target".into(),
                role: "staff".into(),
                access: "read".into(),
                areas: vec!["directory".into()],
            };
            path = path.replace("{id}", &app.svc.create_api_key(&sys, &input).await.unwrap().key.id.to_string());
        } else if path.starts_with("/api/v1/webhooks/{id}") {
            let input = praxis_services::integrations::EndpointInput {
                url: "http://127.0.0.1:9/in".into(),
                events: vec!["patient.created".into()],
                ..Default::default()
            };
            path = path.replace("{id}", &app.svc.create_webhook(&sys, &input).await.unwrap().endpoint.id.to_string());
        } else if path.starts_with("/api/v1/webhook-deliveries/{id}") {
            // Unknown to everyone: administrators get 404, everyone else is refused first.
            path = path.replace("{id}", &uuid::Uuid::now_v7().to_string());
        } else if path.starts_with("/api/v1/reports/{kind}") {
            path = path.replace("{kind}", "revenue");
        } else if path.starts_with("/api/v1/users/{id}") {
            path = path.replace("{id}", &app.create_user(&[Role::Staff]).await.id.to_string());
        } else if path.starts_with("/api/v1/clinics/{id}") {
            path = path.replace("{id}", &self.clinic.id.to_string());
            if path.contains("{closure_id}") {
                let c = app
                    .svc
                    .add_closure(
                        &sys,
                        self.clinic.id,
                        praxis_services::availability::ClosureInput {
                            from: Some(jiff::civil::date(2027, 1, 1)),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                path = path.replace("{closure_id}", &c.id.to_string());
            }
        } else if path.starts_with("/api/v1/providers/{id}") {
            path = path.replace("{id}", &self.provider.id.to_string());
            if path.contains("{window_id}") {
                let (start, end) = self.window();
                let w = app
                    .svc
                    .add_window(
                        &sys,
                        self.provider.id,
                        praxis_services::availability::WindowInput {
                            clinic_id: Some(self.clinic.id),
                            weekday: "saturday".into(),
                            start,
                            end,
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                path = path.replace("{window_id}", &w.id.to_string());
            }
            if path.contains("{exception_id}") {
                let e = app
                    .svc
                    .add_exception(
                        &sys,
                        self.provider.id,
                        praxis_services::availability::ExceptionInput {
                            from: Some(jiff::civil::date(2027, 2, 1)),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                path = path.replace("{exception_id}", &e.id.to_string());
            }
        } else if path.starts_with("/api/v1/documents/{id}") {
            path = path.replace("{id}", &crate::privacy_documents_forms::fresh_document(app, self.patient.id).await);
        } else if path.starts_with("/api/v1/forms/{id}") {
            path = path.replace("{id}", &crate::privacy_documents_forms::fresh_form(app).await);
        } else if path.starts_with("/api/v1/form-assignments/{id}") {
            path = path.replace("{id}", &crate::privacy_documents_forms::fresh_assignment(app, self.patient.id).await);
        } else if path.starts_with("/api/v1/services/{id}") {
            path = path.replace("{id}", &self.service.id.to_string());
        } else if path.starts_with("/api/v1/patients/{id}") {
            path = path.replace("{id}", &self.patient.id.to_string());
            if path.contains("{user_id}") {
                let g = app.create_user(&[Role::Patient]).await;
                app.svc.add_guardian(&sys, self.patient.id, g.id, "Father").await.unwrap();
                path = path.replace("{user_id}", &g.id.to_string());
            }
            if path.contains("{consent_id}") {
                let c = app
                    .svc
                    .add_consent(
                        &sys,
                        self.patient.id,
                        praxis_services::patients::ConsentInput { kind: "sms_reminders".into(), ..Default::default() },
                    )
                    .await
                    .unwrap();
                path = path.replace("{consent_id}", &c.id.to_string());
            }
        } else if path.starts_with("/api/v1/notes/{id}") {
            // A note by the acting provider about the patient: signed when it is to be
            // amended, a draft otherwise.
            let author = praxis_services::Actor {
                user_id: Some(self.provider.user_id),
                roles: praxis_domain::Roles::of(&[Role::Provider]),
                ..sys.clone()
            };
            let note = app
                .svc
                .create_note(
                    &author,
                    self.patient.id,
                    praxis_services::clinical::NewNote {
                        content: praxis_services::clinical::NoteContent { text: "Seen".into(), ..Default::default() },
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            if path.ends_with("/amendments") || path == "/api/v1/notes/{id}" {
                app.svc.sign_note(&author, note.id).await.unwrap();
            }
            path = path.replace("{id}", &note.id.to_string());
        } else if path.starts_with("/api/v1/appointments/{id}") {
            path = path.replace("{id}", &self.appointment(app).await.to_string());
            path = path.replace("{patient_id}", &self.patient.id.to_string());
        } else if path.starts_with("/api/v1/messages/{id}") {
            // A message about a fresh appointment (its confirmation or a reminder).
            let appt = self.appointment(app).await;
            let filter = praxis_store::messages::MessageFilter { appointment_id: Some(appt.0), ..Default::default() };
            let (rows, _) = praxis_store::messages::list(&app.db, &filter, 10, 0).await.unwrap();
            path = path.replace("{id}", &rows[0].id.to_string());
        } else if path.starts_with("/api/v1/waitlist/offers/{id}") {
            path = path.replace("{id}", &self.offer(app).await.to_string());
        } else if path.starts_with("/api/v1/waitlist/{id}") {
            let e = app
                .svc
                .join_waitlist(
                    &sys,
                    praxis_services::scheduling::WaitlistInput {
                        service_id: Some(self.service.id),
                        patient_id: Some(self.patient.id),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            path = path.replace("{id}", &e.id.to_string());
        }
        if path.ends_with("/plan-warnings") {
            path = format!("{path}?service_id={}&date=2026-03-10", self.service.id);
        }
        if path == "/api/v1/slots" || path == "/api/v1/slots/days" || path == "/api/v1/slots/first-available" {
            path = format!("{path}?service_id={}", self.service.id);
        }
        if body.contains("$guardian_user") {
            body = body.replace("$guardian_user", &app.create_user(&[Role::Patient]).await.id.to_string());
        }
        if body.contains("$form") {
            body = body.replace("$form", &crate::privacy_documents_forms::fresh_form(app).await);
        }
        if body.contains("$provider_user") {
            body = body.replace("$provider_user", &app.create_user(&[Role::Provider]).await.id.to_string());
        }
        if body.contains("$window_start") {
            let (start, end) = self.window();
            body = body.replace("$window_start", &start).replace("$window_end", &end);
        }
        let body = body
            .replace("$unique", &format!("Specialty {}", self.next()))
            .replace("$free_start", &self.free_start())
            .replace("$clinic", &self.clinic.id.to_string())
            .replace("$service", &self.service.id.to_string())
            .replace("$provider", &self.provider.id.to_string())
            .replace("$patient", &self.patient.id.to_string());
        (path, serde_json::from_str(&body).unwrap())
    }
}

#[tokio::test]
async fn every_api_route_for_every_role() {
    let app = TestApp::spawn().await;
    let (targets, provider_user, patient_user) = Targets::new(&app).await;
    let mut tokens = Vec::new();
    for who in everyone() {
        let token = match who {
            Who::Anonymous => None,
            Who::As(Role::Provider) => Some(app.api_login(&provider_user).await),
            Who::As(Role::Patient) => Some(app.api_login(&patient_user).await),
            // Two admins, so an admin may change the other one's roles.
            Who::As(role) => Some(app.user_with_token(role).await.1),
        };
        tokens.push((who, token));
    }
    app.create_user(&[Role::Admin]).await;
    for (method, path_template, body, allowed) in api_table() {
        for (who, token) in &tokens {
            let (path, body) = targets.resolve(&app, path_template, &body).await;
            let mut req = app.client().request(method.parse().unwrap(), app.url(&path));
            if !body.is_null() {
                req = req.json(&body);
            }
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            let expected_ok = matches!(who, Who::As(r) if allowed.contains(r));
            match who {
                Who::Anonymous => assert_eq!(status, 401, "{method} {path} anonymous"),
                Who::As(r) if expected_ok => {
                    assert!(![401, 403].contains(&status) && status < 500, "{method} {path} {r:?} → {status} {text}")
                }
                // 404 where the record itself is hidden from the role (a clinical note from
                // reception): records_one_may_not_see_answer_like_missing_ones checks that
                // such answers equal a made-up id's.
                Who::As(r) => assert!([403, 404].contains(&status), "{method} {path} {r:?} → {status}: {text}"),
            }
        }
    }
}

#[tokio::test]
async fn every_page_for_every_role() {
    let app = TestApp::spawn().await;
    app.create_user(&[Role::Admin]).await;
    for who in everyone() {
        let browser = match who {
            Who::Anonymous => Browser::anonymous(&app),
            Who::As(role) => {
                let u = app.create_user(&[role]).await;
                app.browser_login(&u).await
            }
        };
        for (method, path, fields, allowed) in page_table() {
            let target = app.create_user(&[Role::Staff]).await;
            let path = path.replace("{id}", &target.id.to_string());
            let (status, location) = if method == "GET" {
                let res = browser.client.get(app.url(&path)).send().await.unwrap();
                (res.status().as_u16(), res.headers().get("location").map(|l| l.to_str().unwrap().to_string()))
            } else {
                let form_page = if who == Who::Anonymous { "/login" } else { "/profile" };
                let (s, l, _) = browser.post_form(form_page, &path, &fields).await;
                (s, l)
            };
            match who {
                Who::Anonymous => {
                    assert_eq!(status, 303, "{method} {path} anonymous");
                    assert!(location.unwrap().starts_with("/login"), "{method} {path}");
                }
                Who::As(r) if allowed.contains(&r) => {
                    assert!(![401, 403].contains(&status) && status < 500, "{method} {path} {r:?} → {status}");
                    if let Some(l) = &location {
                        assert!(!l.starts_with("/login"), "{method} {path} {r:?} sent to login");
                    }
                }
                Who::As(r) => assert_eq!(status, 403, "{method} {path} {r:?}"),
            }
        }
    }
}

/// Every scheduling page for every role, with records that belong to the acting provider
/// and patient where the permission is "own".
#[tokio::test]
async fn every_scheduling_page_for_every_role() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.create_user(&[Role::Admin]).await;
    let admin = praxis_services::Actor::system("test");
    let appointment = |start: &'static str| {
        let app = &app;
        let f = &f;
        let admin = admin.clone();
        async move {
            let req = praxis_services::scheduling::BookingRequest {
                service_id: Some(f.service.id),
                provider_id: Some(f.provider.id),
                clinic_id: Some(f.clinic.id),
                start: Some(start.parse().unwrap()),
                patient_id: Some(f.patient.id),
                ..Default::default()
            };
            app.svc.book(&admin, req, None).await.unwrap().appointment.id.to_string()
        }
    };
    let appt = appointment("2026-03-03T00:00:00Z").await;
    let clinic = f.clinic.id.to_string();
    let service = f.service.id.to_string();
    let provider = f.provider.id.to_string();
    let pages: Vec<(String, &[Role])> = vec![
        ("/dashboard".into(), CLINICAL),
        ("/calendar".into(), CLINICAL),
        (format!("/calendar?clinic={clinic}&view=week&provider={provider}&date=2026-03-03"), CLINICAL),
        ("/appointments/new".into(), CLINICAL),
        (format!("/appointments/{appt}"), CLINICAL),
        ("/waitlist".into(), CLINICAL),
        ("/setup".into(), CLINICAL),
        ("/setup/clinics/new".into(), ADMIN),
        (format!("/setup/clinics/{clinic}"), ADMIN),
        (format!("/setup/clinics/{clinic}/closures"), ADMIN_STAFF),
        ("/setup/services/new".into(), ADMIN),
        (format!("/setup/services/{service}"), ADMIN),
        ("/setup/providers/new".into(), ADMIN),
        (format!("/setup/providers/{provider}"), ADMIN),
        (format!("/setup/providers/{provider}/availability"), CLINICAL),
        ("/book".into(), EVERYONE),
        (format!("/book/s/{service}"), EVERYONE),
        (format!("/book/s/{service}/time?clinic={clinic}&provider=any&day=2026-03-04"), EVERYONE),
        ("/my/appointments".into(), EVERYONE),
        (format!("/my/appointments/{appt}"), EVERYONE),
        (format!("/my/appointments/{appt}/cancel"), EVERYONE),
        (format!("/my/appointments/{appt}/reschedule"), EVERYONE),
        (format!("/my/appointments/{appt}/calendar.ics"), EVERYONE),
        ("/my/waitlist".into(), EVERYONE),
        ("/my/waitlist/join".into(), EVERYONE),
        ("/messages".into(), ADMIN_STAFF),
        ("/messages?status=dead&channel=sms".into(), ADMIN_STAFF),
        (format!("/messages/preferences/{}", f.patient.id), EVERYONE),
        ("/my/message-preferences".into(), PATIENT_ONLY),
    ];
    for who in everyone() {
        let browser = match who {
            Who::Anonymous => Browser::anonymous(&app),
            Who::As(Role::Provider) => app.browser_login(&f.provider_user).await,
            Who::As(Role::Patient) => app.browser_login(&f.patient_user).await,
            Who::As(role) => app.browser_login(&app.create_user(&[role]).await).await,
        };
        for (path, allowed) in &pages {
            let res = browser.client.get(app.url(path)).send().await.unwrap();
            let status = res.status().as_u16();
            match who {
                Who::Anonymous => {
                    assert_eq!(status, 303, "{path} anonymous");
                    assert!(res.headers()["location"].to_str().unwrap().starts_with("/login"));
                }
                Who::As(r) if allowed.contains(&r) => {
                    assert!(status < 300, "{path} {r:?} → {status}")
                }
                Who::As(r) => assert!([403, 404].contains(&status), "{path} {r:?} → {status}"),
            }
        }
    }
    // Someone else's records are invisible to a patient and to another provider.
    let (other_user, _) = app.patient_user().await;
    let other = app.browser_login(&other_user).await;
    for path in [
        format!("/my/appointments/{appt}"),
        format!("/my/appointments/{appt}/calendar.ics"),
        format!("/book/confirm/{appt}"),
    ] {
        assert_eq!(other.get(&path).await.0, 404, "{path}");
    }
    let (other_provider_user, _) = app.provider(&[f.clinic.id], &[f.service.id]).await;
    let other_provider = app.browser_login(&other_provider_user).await;
    assert_eq!(other_provider.get(&format!("/appointments/{appt}")).await.0, 404);
    assert_eq!(other_provider.get(&format!("/setup/providers/{provider}/availability")).await.0, 403);
}

/// Replaces every UUID in `path` with a fresh one: the same route for a record that does
/// not exist.
fn made_up_ids(path: &str) -> String {
    path.split('/')
        .map(|seg| match uuid::Uuid::parse_str(seg) {
            Ok(_) => uuid::Uuid::now_v7().to_string(),
            Err(_) => seg.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Routes under a record the outsider may see anyway (the public catalogue; for a
/// provider, every patient's demographics and the whole waiting list): there a 403 tells
/// them nothing new.
fn outsider_sees_parent(outsider: Role, template: &str) -> bool {
    let public = ["/api/v1/clinics/", "/api/v1/providers/", "/api/v1/services/"];
    public.iter().any(|p| template.starts_with(p))
        || (outsider == Role::Provider
            && (template.starts_with("/api/v1/patients/{id}") || template.starts_with("/api/v1/waitlist/")))
}

/// No existence oracle: for a record the caller may not see, every route answers exactly
/// what a made-up id gets (404) — with a good body and with a malformed one, so the
/// permission is checked before the body is read. The outsiders are another patient and
/// a provider who does not treat the patient.
#[tokio::test]
async fn records_one_may_not_see_answer_like_missing_ones() {
    let app = TestApp::spawn().await;
    let (targets, _, _) = Targets::new(&app).await;
    let (other_patient, _) = app.patient_user().await;
    let (other_provider, _) = app.provider(&[targets.clinic.id], &[targets.service.id]).await;
    // The provider treats the patient (they have an appointment); the outsiders do not.
    targets.appointment(&app).await;
    let outsiders =
        [(Role::Patient, app.api_login(&other_patient).await), (Role::Provider, app.api_login(&other_provider).await)];
    let send = |method: &str, path: &str, body: &serde_json::Value, token: &str| {
        let mut req = app.client().request(method.parse().unwrap(), app.url(path)).bearer_auth(token);
        if !body.is_null() {
            req = req.json(body);
        }
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap_or_default())
        }
    };
    let mut oracles = Vec::new();
    for (method, template, body, _) in api_table() {
        if !template.contains('{') {
            continue;
        }
        for (outsider, token) in &outsiders {
            if outsider_sees_parent(*outsider, template) {
                continue;
            }
            let mut bodies = vec![body.clone()];
            if !body.is_null() {
                bodies.push(json!(["not", "an", "object"]));
            }
            for b in bodies {
                let (path, b) = targets.resolve(&app, template, &b).await;
                let fake = made_up_ids(&path);
                if fake == path {
                    continue; // no id in it (a report kind, an alert key)
                }
                let (real, text) = send(method, &path, &b, token).await;
                let (missing, missing_text) = send(method, &fake, &b, token).await;
                let allowed = (200..300).contains(&real);
                let detail = |t: &str| {
                    serde_json::from_str::<serde_json::Value>(t)
                        .ok()
                        .and_then(|v| v["detail"].as_str().map(str::to_string))
                };
                if !allowed && (real != missing || detail(&text) != detail(&missing_text)) {
                    oracles.push(format!(
                        "{method} {template} as another {outsider:?} (body {b}): {real} {text} — made-up id: {missing} {missing_text}"
                    ));
                }
            }
        }
    }
    assert!(oracles.is_empty(), "{} existence oracles:\n{}", oracles.len(), oracles.join("\n"));
}
