//! The patient pages as a person uses them: register (with a bad date and a duplicate),
//! search, the chart's small forms, and writing, signing and amending notes.

use crate::scheduling_api::{booking, post, tue};
use crate::*;
use praxis_domain::Role;
use serde_json::json;

fn location_id(location: &str, prefix: &str) -> String {
    location.trim_start_matches(prefix).split(['?', '/']).next().unwrap().to_string()
}

#[tokio::test]
async fn reception_registers_searches_and_keeps_the_chart() {
    let app = TestApp::spawn().await;
    let staff = app.create_user(&[Role::Staff]).await;
    let b = app.browser_login(&staff).await;
    let (s, page) = b.get("/patients/new").await;
    assert_eq!(s, 200);
    assert!(page.contains("Register a patient"));

    // A date of birth in the future: the form comes back with the message and what was typed.
    let fields = [
        ("given_name", "Lucía"),
        ("family_name", "Fernández"),
        ("date_of_birth", "2031-01-01"),
        ("phone", "+61 412 111 222"),
        ("insurance_number", "3333 44444 5"),
    ];
    let (s, _, page) = b.post_form("/patients/new", "/patients", &fields).await;
    assert_eq!(s, 422);
    assert!(page.contains("cannot be in the future"), "{page}");
    assert!(page.contains("value=\"Lucía\""), "what was typed is kept");
    assert!(page.contains("aria-invalid=\"true\""));
    let (s, _, page) =
        b.post_form("/patients/new", "/patients", &[("given_name", "X"), ("date_of_birth", "1990-02-30")]).await;
    assert_eq!(s, 422);
    assert!(page.contains("Enter a real date"), "{page}");
    let (n,): (i64,) = app.db.fetch_one(praxis_store::sql("SELECT COUNT(*) FROM patients")).await.unwrap();
    assert_eq!(n, 0, "nothing written");

    let fields = [
        ("given_name", "Lucía"),
        ("family_name", "Fernández"),
        ("date_of_birth", "1991-01-01"),
        ("phone", "+61 412 111 222"),
    ];
    let (s, location, _) = b.post_form("/patients/new", "/patients", &fields).await;
    assert_eq!(s, 303);
    let location = location.unwrap();
    assert!(location.ends_with("?msg=registered"), "{location}");
    let id = location_id(&location, "/patients/");
    let (s, chart) = b.get(&location).await;
    assert_eq!(s, 200);
    assert!(chart.contains("The patient is registered.") && chart.contains("Lucía Fernández"));
    assert!(!chart.contains("Latest notes"), "reception never sees notes");

    // The same person again: a warning naming the record, then a confirmed registration.
    let (s, _, page) = b.post_form("/patients/new", "/patients", &fields).await;
    assert_eq!(s, 409);
    assert!(page.contains("Possible duplicate") && page.contains("confirm_duplicate"), "{page}");
    let mut confirmed = fields.to_vec();
    confirmed.push(("confirm_duplicate", "yes"));
    let (s, _, _) = b.post_form("/patients/new", "/patients", &confirmed).await;
    assert_eq!(s, 303);

    // Search without accents or case.
    let (_, list) = b.get("/patients?q=FERNANDEZ").await;
    assert!(list.contains("1–2 of 2"), "{list}");
    assert!(list.contains("Fernández, Lucía"));
    assert!(!list.contains("Export CSV"), "only administrators export");
    let (_, list) = b.get("/patients?q=lucia&last_visit_from=someday").await;
    assert!(list.contains("Enter last-visit dates as real dates"), "a bad filter is explained, not a crash");

    // The chart's small forms: a consent, a guardian, archiving.
    let chart_path = format!("/patients/{id}");
    let (s, _, page) =
        b.post_form(&chart_path, &format!("/patients/{id}/consents"), &[("kind", ""), ("given_on", "")]).await;
    assert_eq!(s, 422);
    assert!(page.contains("Choose what the consent covers"), "{page}");
    let (s, l, _) = b
        .post_form(
            &chart_path,
            &format!("/patients/{id}/consents"),
            &[("kind", "sms_reminders"), ("note", "Asked at reception")],
        )
        .await;
    assert_eq!(s, 303, "{l:?}");
    let (_, chart) = b.get(&chart_path).await;
    assert!(chart.contains("Reminders by SMS") && chart.contains("Asked at reception"));
    let (s, _, page) = b
        .post_form(
            &chart_path,
            &format!("/patients/{id}/guardians"),
            &[("email", "nobody@example.org"), ("relationship", "Mother")],
        )
        .await;
    assert_eq!(s, 422);
    assert!(page.contains("No portal account uses this email"), "{page}");
    let (parent, _) = app.patient_user().await;
    let (s, _, _) = b
        .post_form(
            &chart_path,
            &format!("/patients/{id}/guardians"),
            &[("email", &parent.email), ("relationship", "Mother")],
        )
        .await;
    assert_eq!(s, 303);
    let (_, chart) = b.get(&chart_path).await;
    assert!(chart.contains("(Mother)"));
    let (s, _, _) = b.post_form(&chart_path, &format!("/patients/{id}/archive"), &[]).await;
    assert_eq!(s, 303);
    let (_, chart) = b.get(&chart_path).await;
    assert!(chart.contains("Archived") && chart.contains("Restore patient"));
    let (_, list) = b.get("/patients?q=lucia").await;
    assert!(list.contains("1–1 of 1"), "archived patients leave the list: {list}");

    // Editing keeps the record number and shows errors on the form.
    let (s, _, page) = b
        .post_form(
            &format!("/patients/{id}/edit"),
            &format!("/patients/{id}/edit"),
            &[("given_name", "Lucía"), ("email", "bad@")],
        )
        .await;
    assert_eq!(s, 422);
    assert!(page.contains("Edit details"));
    let (s, _, _) = b
        .post_form(
            &format!("/patients/{id}/edit"),
            &format!("/patients/{id}/edit"),
            &[("given_name", "Lucía"), ("family_name", "Fernández Ruiz")],
        )
        .await;
    assert_eq!(s, 303);
    let (_, chart) = b.get(&chart_path).await;
    assert!(chart.contains("Fernández Ruiz"));

    // Administrators get the export link, and the file.
    let admin = app.create_user(&[Role::Admin]).await;
    let a = app.browser_login(&admin).await;
    let (_, list) = a.get("/patients?status=all").await;
    assert!(list.contains("href=\"/patients/export.csv?status=all\""), "{list}");
    let (s, csv) = a.get("/patients/export.csv?status=all").await;
    assert_eq!(s, 200);
    assert_eq!(csv.lines().count(), 4, "two Lucías and the parent, and the header: {csv}");
}

#[tokio::test]
async fn a_provider_writes_signs_and_amends_notes_in_the_chart() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, staff) = app.user_with_token(Role::Staff).await;
    let mut body = booking(&f, &tue("10:00"));
    body["patient_id"] = json!(f.patient.id);
    let (_, appt) = post(&app, &staff, "/api/v1/appointments", body).await;
    let appt_id = appt["id"].as_str().unwrap();
    let b = app.browser_login(&f.provider_user).await;
    let notes = format!("/patients/{}/notes", f.patient.id);
    // The appointment links to the chart; a note is offered once the patient is in.
    let appointment_page = format!("/appointments/{appt_id}");
    let write = format!("/patients/{}/notes/new?kind=progress&amp;appointment_id={appt_id}", f.patient.id);
    let (s, page) = b.get(&appointment_page).await;
    assert_eq!(s, 200);
    assert!(page.contains(&format!("href=\"/patients/{}\"", f.patient.id)), "{page}");
    assert!(!page.contains(&write), "no note before the visit");
    let (s, _) = post(&app, &staff, &format!("/api/v1/appointments/{appt_id}/check-in"), json!({})).await;
    assert_eq!(s, 200);
    let (_, page) = b.get(&appointment_page).await;
    assert!(page.contains(&write) && page.contains("Write a note"), "{page}");
    let staff_user = app.create_user(&[Role::Staff]).await;
    let (_, page) = app.browser_login(&staff_user).await.get(&appointment_page).await;
    assert!(page.contains(&format!("href=\"/patients/{}\"", f.patient.id)) && !page.contains("Write a note"));
    let (s, page) = b.get(&notes).await;
    assert_eq!(s, 200);
    assert!(page.contains("No notes yet") && page.contains("New progress note"));

    // A therapy-session note linked to the appointment, saved as a draft.
    let new = format!("{notes}/new?kind=therapy_session&appointment_id={appt_id}");
    let (s, form) = b.get(&new).await;
    assert_eq!(s, 200);
    assert!(
        form.contains("Plan for next session") && form.contains(&format!("value=\"{appt_id}\" selected")),
        "{form}"
    );
    let (s, _, page) = b.post_form(&new, &notes, &[("kind", "therapy_session"), ("action", "draft")]).await;
    assert_eq!(s, 422, "empty note");
    assert!(page.contains("Write something before saving"), "{page}");
    let fields = [
        ("kind", "therapy_session"),
        ("appointment_id", appt_id),
        ("attendance", "attended"),
        ("objectives", "Practise stairs"),
        ("observations", "Managed 10 steps"),
        ("plan", "Try 15 steps"),
        ("action", "draft"),
    ];
    let (s, location, _) = b.post_form(&new, &notes, &fields).await;
    assert_eq!(s, 303);
    let location = location.unwrap();
    let note_id = location_id(&location, "/notes/");
    let (_, view) = b.get(&location).await;
    assert!(view.contains("Only you can see it until you sign it") && view.contains("Managed 10 steps"));
    assert!(view.contains("Edit draft") && view.contains("Sign note"));
    // Edit, then save and sign.
    let edit = format!("/notes/{note_id}/edit");
    let (s, form) = b.get(&edit).await;
    assert_eq!(s, 200);
    assert!(form.contains("Managed 10 steps"));
    let mut edited = fields.to_vec();
    edited[4] = ("observations", "Managed 12 steps");
    edited[6] = ("action", "sign");
    let (s, location, _) = b.post_form(&edit, &edit, &edited).await;
    assert_eq!(s, 303);
    assert!(location.as_deref().unwrap().ends_with("?msg=signed"));
    let (_, view) = b.get(&format!("/notes/{note_id}")).await;
    assert!(view.contains("Managed 12 steps") && view.contains("Signed") && !view.contains("Edit draft"));
    // A signed note cannot be edited: the page says so and nothing changes.
    let (s, location, _) = b.post_form(&format!("/notes/{note_id}"), &edit, &[("observations", "Rewritten")]).await;
    assert_eq!(s, 303);
    assert!(location.unwrap().ends_with("?msg=locked"));
    let (_, view) = b.get(&format!("/notes/{note_id}")).await;
    assert!(!view.contains("Rewritten"));
    // Amend: a reason is required; then the amendment sits beside the original.
    let (s, _, page) = b
        .post_form(&format!("/notes/{note_id}"), &format!("/notes/{note_id}/amend"), &[("reason", ""), ("text", "x")])
        .await;
    assert_eq!(s, 422);
    assert!(page.contains("aria-invalid"));
    let (s, _, _) = b
        .post_form(
            &format!("/notes/{note_id}"),
            &format!("/notes/{note_id}/amend"),
            &[("reason", "Late entry"), ("text", "Used a rail")],
        )
        .await;
    assert_eq!(s, 303);
    let (_, view) = b.get(&format!("/notes/{note_id}")).await;
    assert!(view.contains("Late entry") && view.contains("Used a rail") && view.contains("Managed 12 steps"));

    // An assessment with scores and goals.
    let new = format!("{notes}/new?kind=assessment");
    let fields = [
        ("kind", "assessment"),
        ("assessment_kind", "initial"),
        ("score_measure", "Berg Balance Scale"),
        ("score_value", "41/56"),
        ("score_interpretation", "moderate fall risk"),
        ("score_measure", ""),
        ("score_value", ""),
        ("score_interpretation", ""),
        ("findings", "Unsteady on turns"),
        ("goals", "Walk to the shops\nClimb stairs unaided"),
        ("next_review_date", "2026-04-14"),
        ("action", "sign"),
    ];
    let (s, location, page) = b.post_form(&new, &notes, &fields).await;
    assert_eq!(s, 303, "{page}");
    let (_, view) = b.get(location.as_deref().unwrap()).await;
    assert!(
        view.contains("Initial assessment")
            && view.contains("41/56")
            && view.contains("Climb stairs unaided")
            && view.contains("14 Apr 2026")
    );
    let (_, timeline) = b.get(&notes).await;
    assert!(timeline.contains("Therapy session") && timeline.contains("Initial assessment"));
    let (_, only) = b.get(&format!("{notes}?kind=assessment")).await;
    assert!(!only.contains("Managed 12 steps"));
    // The chart's summary lists the latest notes for the provider.
    let (_, chart) = b.get(&format!("/patients/{}", f.patient.id)).await;
    assert!(chart.contains("Latest notes") && chart.contains("Initial assessment"));
}

#[tokio::test]
async fn patients_keep_their_details_current_and_guardians_manage_a_child() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let sys = praxis_services::Actor::system("test");
    let b = app.browser_login(&f.patient_user).await;
    let res = b.client.get(app.url("/my/details")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let own = format!("/my/details/{}", f.patient.id);
    assert_eq!(res.headers()["location"], own.as_str());
    let (s, page) = b.get(&own).await;
    assert_eq!(s, 200);
    assert!(page.contains("About you") && page.contains(&f.patient.mrn));
    // A bad email: the form comes back with the message and nothing is saved.
    let (s, _, page) = b.post_form(&own, &own, &[("email", "not-an-email"), ("phone", "+61 400 123 456")]).await;
    assert_eq!(s, 422);
    assert!(page.contains("Nothing was saved") && page.contains("value=\"+61 400 123 456\""));
    let (s, location, _) = b
        .post_form(
            &own,
            &own,
            &[("email", "sam.new@example.org"), ("phone", "+61 400 123 456"), ("ec_name", "Jo Patient")],
        )
        .await;
    assert_eq!(s, 303);
    assert_eq!(location.unwrap(), format!("{own}?msg=saved"));
    let p = app.svc.get_patient(&sys, f.patient.id).await.unwrap();
    assert_eq!(p.email.as_deref(), Some("sam.new@example.org"));
    assert_eq!(p.emergency_contact.unwrap().name, "Jo Patient");
    assert_eq!(p.given_name, f.patient.given_name, "the name stays");

    // A consent can be withdrawn by the patient.
    let c = app
        .svc
        .add_consent(
            &sys,
            f.patient.id,
            praxis_services::patients::ConsentInput { kind: "sms_reminders".into(), ..Default::default() },
        )
        .await
        .unwrap();
    let (s, _, _) = b.post_form(&own, &format!("{own}/consents/{}/withdraw", c.id), &[]).await;
    assert_eq!(s, 303);
    let (_, page) = b.get(&own).await;
    assert!(page.contains("withdrawn"));

    // Another patient's details: not found, and nothing changes.
    let (_, other) = app.patient_user().await;
    let theirs = format!("/my/details/{}", other.id);
    assert_eq!(b.get(&theirs).await.0, 404);
    let (s, _, _) = b.post_form(&own, &theirs, &[("email", "hijack@example.org")]).await;
    assert_eq!(s, 404);
    assert_ne!(app.svc.get_patient(&sys, other.id).await.unwrap().email.as_deref(), Some("hijack@example.org"));

    // As a guardian, Sam also manages a child's details.
    let child = app
        .svc
        .create_patient(
            &sys,
            praxis_services::patients::NewPatient {
                given_name: "Kid".into(),
                family_name: "Patient".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.svc.add_guardian(&sys, child.id, f.patient_user.id, "Father").await.unwrap();
    let (_, page) = b.get(&own).await;
    assert!(page.contains(&format!("/my/details/{}", child.id)) && page.contains("Kid Patient"));
    let (s, page) = b.get(&format!("/my/details/{}", child.id)).await;
    assert_eq!(s, 200);
    assert!(page.contains("About Kid Patient") && page.contains("My own details"));
    // The clinic's people use the chart instead.
    let staff = app.create_user(&[Role::Staff]).await;
    let s_browser = app.browser_login(&staff).await;
    assert_eq!(s_browser.get(&own).await.0, 403);
}
