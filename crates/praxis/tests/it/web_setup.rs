//! The setup pages as an administrator, a receptionist and a provider use them: clinics,
//! services, provider profiles, weekly hours with the preview of free times, exceptions,
//! closures, conflicts shown beside the field, and who may open what.
//!
//! The test clock stands at Monday 2 March 2026, 09:00 in Sydney (AEDT), so the preview
//! covers Monday 2 to Sunday 8 March.

use crate::*;
use praxis_domain::Role;
use praxis_services::Actor;
use praxis_services::audit::AuditFilter;
use praxis_services::catalog::{ProviderInput, ServiceMode};
use praxis_services::users::PageRequest;

/// The id in a Location such as `/setup/clinics/<id>/closures?msg=created`.
fn id_after(location: &str, prefix: &str) -> String {
    let rest = location.strip_prefix(prefix).unwrap_or_else(|| panic!("{location} does not start with {prefix}"));
    rest.split(['/', '?']).next().unwrap().to_string()
}

/// The preview's entry for one date (up to the next date or the end of the list).
fn preview_day<'a>(page: &'a str, date: &str) -> &'a str {
    let marker = format!("data-date=\"{date}\"");
    let start = page.find(&marker).unwrap_or_else(|| panic!("the preview has no {date}"));
    let rest = &page[start..];
    let end = rest[marker.len()..]
        .find("data-date=\"")
        .map(|i| i + marker.len())
        .or_else(|| rest.find("</ol>"))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The free times listed in a preview entry, in order.
fn times_of(day: &str) -> Vec<String> {
    day.match_indices("<li>").map(|(i, _)| day[i + 4..i + 9].to_string()).collect()
}

fn attr<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let i = element.find(&key)? + key.len();
    let rest = &element[i..];
    Some(&rest[..rest.find('"')?])
}

/// Every visible input, select and textarea has an id and a label pointing at it.
fn assert_every_input_is_labelled(page: &str, body: &str) {
    for tag in ["<input", "<select", "<textarea"] {
        for (i, _) in body.match_indices(tag) {
            let element = &body[i..i + body[i..].find('>').unwrap()];
            if element.contains("type=\"hidden\"") {
                continue;
            }
            let id = attr(element, "id").unwrap_or_else(|| panic!("{page}: {element} has no id"));
            assert!(body.contains(&format!("for=\"{id}\"")), "{page}: {element} has no label");
        }
    }
}

/// Ids are unique on a page (several forms share the availability page).
fn assert_unique_ids(page: &str, body: &str) {
    let mut ids: Vec<&str> = body.match_indices(" id=\"").map(|(i, _)| attr(&body[i..], "id").unwrap()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "{page} repeats an id");
}

#[tokio::test]
async fn an_administrator_sets_up_a_clinic_a_service_and_a_provider_and_previews_the_times() {
    let app = TestApp::spawn().await;
    let admin = app.browser_login(&app.create_user(&[Role::Admin]).await).await;

    // The hub offers every area.
    let (status, hub) = admin.get("/setup").await;
    assert_eq!(status, 200);
    for href in ["/setup/clinics", "/setup/providers", "/setup/services", "/setup/specialties"] {
        assert!(hub.contains(&format!("href=\"{href}\"")), "the hub links to {href}");
    }

    // A clinic, its zone chosen from the list (the display zone preselected).
    let (status, form) = admin.get("/setup/clinics/new").await;
    assert_eq!(status, 200);
    assert!(form.contains("<option value=\"Australia/Sydney\" selected>"), "the usual zone is preselected");
    assert!(form.contains("<option value=\"Europe/London\">") && form.contains("<option value=\"UTC\">"));
    let (status, location, body) = admin
        .post_form(
            "/setup/clinics/new",
            "/setup/clinics",
            &[
                ("name", "Harbour Clinic"),
                ("address", "1 Quay Street\nSydney NSW 2000"),
                ("phone", ""),
                ("email", "front@harbour.example"),
                ("time_zone", "Australia/Sydney"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let location = location.unwrap();
    let clinic_id = id_after(&location, "/setup/clinics/");
    let (_, closures) = admin.get(&location).await;
    assert!(closures.contains("The clinic was added."));
    let (_, list) = admin.get("/setup/clinics").await;
    assert!(list.contains("Harbour Clinic") && list.contains("Australia/Sydney (AE"), "name and zone are listed");
    assert!(list.contains("Open for bookings"));
    let (_, edit) = admin.get(&format!("/setup/clinics/{clinic_id}")).await;
    assert!(edit.contains("Australia/Sydney (current)"), "the saved zone is labelled");
    assert!(edit.contains("1 Quay Street\nSydney NSW 2000</textarea>"));

    // A service: a price with too many decimal places is refused beside the field.
    let service_fields = |price: &'static str| {
        vec![
            ("name", "Standard consultation"),
            ("description", "A 30-minute visit."),
            ("specialty_id", ""),
            ("duration_minutes", "30"),
            ("price", price),
            ("currency", "AUD"),
            ("mode", "in_person"),
            ("capacity", "1"),
            ("buffer_before_minutes", "0"),
            ("buffer_after_minutes", "0"),
            ("slot_step_minutes", "30"),
            ("min_notice_minutes", "60"),
            ("booking_horizon_days", "60"),
            ("late_cancellation_minutes", "1440"),
            ("requires_approval", "on"),
            ("active", "on"),
        ]
    };
    let (status, _, body) = admin.post_form("/setup/services/new", "/setup/services", &service_fields("12.345")).await;
    assert_eq!(status, 422);
    assert!(body.contains("AUD amounts have at most 2 digits after the point"), "the reason is given");
    assert!(body.contains("id=\"v-price-e\""), "beside the price field");
    assert!(body.contains("value=\"12.345\"") && body.contains("value=\"Standard consultation\""), "typed values kept");
    assert!(body.contains("id=\"v-price\" name=\"price\" type=\"text\" value=\"12.345\" aria-invalid=\"true\""));
    assert!(
        body.contains("aria-invalid=\"true\" aria-describedby=\"v-price-e\" autofocus"),
        "the field takes the focus"
    );
    assert!(app.svc.list_services(&Actor::system("test")).await.unwrap().is_empty(), "nothing was saved");

    let (status, location, body) =
        admin.post_form("/setup/services/new", "/setup/services", &service_fields("120.50")).await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(location.as_deref(), Some("/setup/services?msg=saved"));
    let services = app.svc.list_services(&Actor::system("test")).await.unwrap();
    let service = &services[0];
    assert_eq!(service.price.amount_minor, 12050, "120.50 AUD is 12050 cents");
    assert_eq!(service.price.currency.as_str(), "AUD");
    assert_eq!(
        (service.duration_minutes, service.slot_step_minutes, service.min_notice_minutes, service.booking_horizon_days),
        (30, 30, 60, 60)
    );
    assert_eq!(service.late_cancellation_minutes, 1440);
    assert!(service.requires_approval && service.active && service.mode == ServiceMode::InPerson);
    let (_, list) = admin.get("/setup/services").await;
    assert!(list.contains("$120.50") && list.contains("30 min") && list.contains("Individual"));

    // A provider profile for an account with the provider role.
    let dana = app.create_user(&[Role::Provider]).await;
    let (status, form) = admin.get("/setup/providers/new").await;
    assert_eq!(status, 200);
    assert!(form.contains(&format!("<option value=\"{}\">", dana.id)), "the provider's account is offered");
    let (status, location, body) = admin
        .post_form(
            "/setup/providers/new",
            "/setup/providers",
            &[
                ("user_id", &dana.id.to_string()),
                ("title", "General Practitioner"),
                ("bio", ""),
                ("qualifications", "MBBS"),
                ("fee", "180"),
                ("fee_currency", "AUD"),
                ("calendar_colour", "#AA3366"),
                ("accepting_new_patients", "on"),
                ("active", "on"),
                ("clinic_ids", &clinic_id),
                ("service_ids", &service.id.to_string()),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let location = location.unwrap();
    let provider_id = id_after(&location, "/setup/providers/");
    assert_eq!(location, format!("/setup/providers/{provider_id}/availability?msg=created"));
    let provider = app.svc.get_provider(&Actor::system("test"), provider_id.parse().unwrap()).await.unwrap();
    assert_eq!(provider.consultation_fee.map(|m| m.amount_minor), Some(18000));
    assert_eq!(provider.calendar_colour, "#aa3366");
    assert_eq!(provider.service_ids, vec![service.id]);
    assert!(provider.accepting_new_patients);
    let (_, list) = admin.get("/setup/providers").await;
    assert!(list.contains("General Practitioner") && list.contains("Harbour Clinic"));
    assert!(list.contains("Standard consultation") && list.contains("Accepting"));

    // Weekly hours on Tuesdays; the preview lists the free times in the clinic's zone.
    let editor = format!("/setup/providers/{provider_id}/availability");
    let (status, page) = admin.get(&location).await;
    assert_eq!(status, 200);
    assert!(page.contains("The profile was created."));
    assert!(page.contains("Times in Australia/Sydney (AE"), "times say which zone they are in");
    let (status, location, body) = admin
        .post_form(
            &editor,
            &format!("{editor}/windows"),
            &[
                ("clinic_id", &clinic_id),
                ("weekday", "tuesday"),
                ("start", "09:00"),
                ("end", "10:30"),
                ("valid_from", ""),
                ("valid_until", ""),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let (_, page) = admin.get(&location.unwrap()).await;
    assert!(page.contains("The weekly hours were added."));
    assert!(page.contains("09:00–10:30"), "the window is listed under its weekday");
    assert!(page.contains("Free times for Standard consultation (30 min)"));
    assert_eq!(times_of(preview_day(&page, "2026-03-03")), ["09:00", "09:30", "10:00"]);
    assert!(preview_day(&page, "2026-03-02").contains("No weekly hours on Mondays."));
    assert!(!page.contains("data-date=\"2026-03-09\""), "seven days from today");

    // A day off: the preview shows no times that day and says why.
    let (status, location, body) = admin
        .post_form(
            &editor,
            &format!("{editor}/exceptions"),
            &[("from", "2026-03-03"), ("until", ""), ("kind", "closed"), ("clinic_id", ""), ("reason", "Conference")],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let (_, page) = admin.get(&location.unwrap()).await;
    let tuesday = preview_day(&page, "2026-03-03");
    assert!(times_of(tuesday).is_empty(), "no times on the day off: {tuesday}");
    assert!(tuesday.contains("Not working (exception: Conference)."));
    assert!(page.contains("Tue 3 Mar 2026") && page.contains("Every clinic"), "the exception is listed");

    // Every change went through the services and is in the audit log.
    let audit = app
        .svc
        .list_audit(&Actor::system("test"), &AuditFilter::default(), PageRequest::new(Some(1), Some(200)))
        .await
        .unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    for action in
        ["clinic.create", "service.create", "provider.create", "availability.window_add", "availability.exception_add"]
    {
        assert!(actions.contains(&action), "{action} was audited: {actions:?}");
    }
}

#[tokio::test]
async fn the_service_form_reads_back_what_was_saved_and_edits_every_rule() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let admin = app.browser_login(&app.create_user(&[Role::Admin]).await).await;
    let path = format!("/setup/services/{}", f.service.id);
    let (status, form) = admin.get(&path).await;
    assert_eq!(status, 200);
    assert!(form.contains("value=\"120.00\""), "12000 cents read back as 120.00");
    assert!(form.contains("value=\"Consultation\"") && form.contains("value=\"50\""));
    let (status, _, body) = admin
        .post_form(
            &path,
            &path,
            &[
                ("name", "Group therapy"),
                ("description", "Up to eight people."),
                ("duration_minutes", "90"),
                ("price", "45.5"),
                ("currency", "aud"),
                ("mode", "video"),
                ("capacity", "8"),
                ("buffer_before_minutes", "5"),
                ("buffer_after_minutes", "10"),
                ("slot_step_minutes", "30"),
                ("min_notice_minutes", "120"),
                ("booking_horizon_days", "30"),
                ("late_cancellation_minutes", "720"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let s = app.svc.get_service(&Actor::system("test"), f.service.id).await.unwrap();
    assert_eq!((s.name.as_str(), s.price.amount_minor, s.price.currency.as_str()), ("Group therapy", 4550, "AUD"));
    assert_eq!((s.duration_minutes, s.capacity, s.mode), (90, 8, ServiceMode::Video));
    assert_eq!((s.buffer_before_minutes, s.buffer_after_minutes, s.slot_step_minutes), (5, 10, 30));
    assert_eq!((s.min_notice_minutes, s.booking_horizon_days, s.late_cancellation_minutes), (120, 30, 720));
    assert!(!s.requires_approval && !s.active, "unticked boxes switch the rules off");
    let (_, list) = admin.get("/setup/services").await;
    assert!(list.contains("Group, up to 8") && list.contains("Inactive") && list.contains("1 h 30 min"));

    // Out-of-range numbers come back from the services beside their fields.
    let (status, _, body) = admin
        .post_form(
            &path,
            &path,
            &[("name", "Group therapy"), ("duration_minutes", "2"), ("price", "1e3"), ("capacity", "many")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"v-price-e\""), "the price that cannot be read is marked");
    assert!(body.contains("id=\"v-capacity-e\">Use a whole number"), "so is the capacity");
    let (status, _, body) =
        admin.post_form(&path, &path, &[("name", "Group therapy"), ("duration_minutes", "2"), ("price", "10")]).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"v-duration_minutes-e\">Use a number from 5 to 720."));
    assert!(body.contains("value=\"2\""));
    let (status, _, body) = admin
        .post_form(
            &path,
            &path,
            &[("name", "Yen"), ("duration_minutes", "30"), ("price", "1500.5"), ("currency", "JPY")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("JPY has no cents"), "{body}");
}

#[tokio::test]
async fn a_conflicting_window_is_explained_beside_the_field_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let admin = app.browser_login(&app.create_user(&[Role::Admin]).await).await;
    let editor = format!("/setup/providers/{}/availability", f.provider.id);
    let clinic = f.clinic.id.to_string();
    let window = |clinic: &str, weekday: &str, start: &str, end: &str| {
        vec![
            ("clinic_id", clinic.to_string()),
            ("weekday", weekday.to_string()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("valid_from", String::new()),
            ("valid_until", "2026-12-31".to_string()),
        ]
    };
    let fields = window(&clinic, "monday", "16:00", "18:00");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, body) = admin.post_form(&editor, &format!("{editor}/windows"), &fields).await;
    assert_eq!(status, 409);
    assert!(body.contains("This overlaps the monday 09:00–17:00 window at this clinic."), "{body}");
    assert!(body.contains("id=\"w-start-e\""), "the message sits beside the start time");
    assert!(
        body.contains("value=\"16:00\"") && body.contains("value=\"18:00\"") && body.contains("value=\"2026-12-31\"")
    );
    assert!(body.contains("<option value=\"monday\" selected>Monday</option>"), "the weekday chosen is kept");
    assert!(body.contains("data-date=\"2026-03-02\""), "the preview is still there");

    // Two clinics at the same real time: Perth 08:00 is Sydney 11:00.
    let perth = app.clinic("Westside Clinic", "Australia/Perth").await;
    app.svc
        .update_provider(
            &Actor::system("test"),
            f.provider.id,
            ProviderInput {
                title: f.provider.title.clone(),
                clinic_ids: vec![f.clinic.id, perth.id],
                service_ids: vec![f.service.id],
                ..ProviderInput::default()
            },
        )
        .await
        .unwrap();
    let fields = window(&perth.id.to_string(), "monday", "08:00", "10:00");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, body) = admin.post_form(&editor, &format!("{editor}/windows"), &fields).await;
    assert_eq!(status, 409);
    assert!(body.contains("two clinics at once"), "{body}");
    assert!(body.contains("Times in Australia/Perth (AWST)"), "each clinic's hours say their zone");
    assert!(body.contains(&format!("<option value=\"{}\" selected>", perth.id)), "the clinic chosen is kept");

    // Nonsense is refused by the services with a field error, not a crash.
    let fields = window(&clinic, "someday", "9", "");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, body) = admin.post_form(&editor, &format!("{editor}/windows"), &fields).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"w-weekday-e\">Choose a day of the week."));
    assert!(body.contains("id=\"w-end-e\">Give the end as HH:MM"));

    // Removing a window is a clearly labelled button.
    let (_, page) = admin.get(&editor).await;
    let remove = page.find("/windows/").unwrap();
    let action = &page[page[..remove].rfind("action=\"").unwrap() + 8..];
    let action = &action[..action.find('"').unwrap()];
    assert!(page.contains("Remove<span class=\"setup-sr\"> Monday 09:00–17:00 at Harbour Clinic</span>"));
    let (status, location, _) = admin.post_form(&editor, action, &[("service", "")]).await;
    assert_eq!(status, 303);
    let (_, page) = admin.get(&location.unwrap()).await;
    assert!(page.contains("The weekly hours were removed."));
    assert_eq!(
        app.svc.provider_availability(&Actor::system("test"), f.provider.id).await.unwrap().windows.len(),
        4,
        "one of the five weekday windows is gone"
    );
}

#[tokio::test]
async fn staff_cannot_change_the_catalogue_but_can_close_a_clinic() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let staff = app.browser_login(&app.create_user(&[Role::Staff]).await).await;

    let (status, hub) = staff.get("/setup").await;
    assert_eq!(status, 200);
    assert!(hub.contains("href=\"/setup/clinics\"") && hub.contains("href=\"/setup/providers\""));
    for page in [
        "/setup/clinics/new".to_string(),
        format!("/setup/clinics/{}", f.clinic.id),
        "/setup/services/new".into(),
        format!("/setup/services/{}", f.service.id),
        "/setup/providers/new".into(),
        format!("/setup/providers/{}", f.provider.id),
    ] {
        let (status, body) = staff.get(&page).await;
        assert_eq!(status, 403, "{page}");
        assert!(body.contains("You do not have permission"), "{page}: a friendly page");
    }
    let (status, _, _) = staff
        .post_form("/setup/clinics", "/setup/clinics", &[("name", "Sneaky"), ("time_zone", "Australia/Sydney")])
        .await;
    assert_eq!(status, 403, "the service refuses the form too");
    let (status, _, _) = staff.post_form("/setup/specialties", "/setup/specialties", &[("name", "Sneaky")]).await;
    assert_eq!(status, 403);
    assert_eq!(app.svc.list_clinics(&Actor::system("test")).await.unwrap().len(), 1);
    let (_, list) = staff.get("/setup/clinics").await;
    assert!(!list.contains("/setup/clinics/new"), "no button for what the service would refuse");

    // Closures: a date range with a reason; a range ending before it starts is refused.
    let closures = format!("/setup/clinics/{}/closures", f.clinic.id);
    let (status, _, body) = staff
        .post_form(&closures, &closures, &[("from", "2026-03-05"), ("until", "2026-03-04"), ("reason", "Holiday")])
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"k-until-e\">The last date must not be before the first."));
    assert!(body.contains("value=\"Holiday\""));
    let (status, location, _) = staff
        .post_form(
            &closures,
            &closures,
            &[("from", "2026-03-04"), ("until", "2026-03-05"), ("reason", "Building works")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = staff.get(&location.unwrap()).await;
    assert!(page.contains("Wed 4 Mar – Thu 5 Mar 2026") && page.contains("Building works"));

    // The provider's preview shows the clinic closed on those days.
    let (status, editor) = staff.get(&format!("/setup/providers/{}/availability", f.provider.id)).await;
    assert_eq!(status, 200, "staff edit every provider's availability");
    assert!(times_of(preview_day(&editor, "2026-03-04")).is_empty());
    assert!(preview_day(&editor, "2026-03-04").contains("Clinic closed: Building works."));
    assert!(!times_of(preview_day(&editor, "2026-03-03")).is_empty(), "the day before is open");
    assert_eq!(times_of(preview_day(&editor, "2026-03-03")).first().map(String::as_str), Some("09:00"));

    // …and removes it again.
    let (_, page) = staff.get(&closures).await;
    let at = page.find("/remove\"").unwrap();
    let action = &page[page[..at].rfind("action=\"").unwrap() + 8..at + 7];
    let (status, location, _) = staff.post_form(&closures, action, &[]).await;
    assert_eq!(status, 303);
    let (_, page) = staff.get(&location.unwrap()).await;
    assert!(page.contains("The closure was removed") && !page.contains("Building works"));
}

#[tokio::test]
async fn providers_edit_only_their_own_availability_and_patients_none() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (_, other) = app.provider(&[f.clinic.id], &[f.service.id]).await;
    let me = app.browser_login(&f.provider_user).await;
    let mine = format!("/setup/providers/{}/availability", f.provider.id);
    let theirs = format!("/setup/providers/{}/availability", other.id);

    let (status, hub) = me.get("/setup").await;
    assert_eq!(status, 200);
    assert!(hub.contains(&format!("href=\"{mine}\"")), "the hub links to their own editor");
    assert!(!hub.contains("href=\"/setup/clinics\""), "and nothing else");

    let (status, page) = me.get(&mine).await;
    assert_eq!(status, 200);
    assert!(!page.contains("Edit profile"), "the profile is the administrators'");
    let (status, location, body) = me
        .post_form(
            &mine,
            &format!("{mine}/windows"),
            &[("clinic_id", &f.clinic.id.to_string()), ("weekday", "saturday"), ("start", "09:00"), ("end", "12:00")],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let (_, page) = me.get(&location.unwrap()).await;
    assert_eq!(times_of(preview_day(&page, "2026-03-07")).first().map(String::as_str), Some("09:00"));

    // Changed hours on one day at one clinic: only those times are offered.
    let clinic = f.clinic.id.to_string();
    let hours = |clinic: &str| {
        vec![
            ("from", "2026-03-05".to_string()),
            ("until", String::new()),
            ("kind", "hours".to_string()),
            ("clinic_id", clinic.to_string()),
            ("start1", "13:00".to_string()),
            ("end1", "14:00".to_string()),
            ("reason", "Afternoon only".to_string()),
        ]
    };
    let fields = hours("");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, body) = me.post_form(&mine, &format!("{mine}/exceptions"), &fields).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"x-clinic_id-e\">Changed hours are at one clinic; choose it."), "{body}");
    assert!(
        body.contains("value=\"13:00\"")
            && body.contains("value=\"2026-03-05\"")
            && body.contains("value=\"Afternoon only\"")
    );
    let fields = hours(&clinic);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, location, body) = me.post_form(&mine, &format!("{mine}/exceptions"), &fields).await;
    assert_eq!(status, 303, "{body}");
    let (_, page) = me.get(&location.unwrap()).await;
    assert_eq!(times_of(preview_day(&page, "2026-03-05")), ["13:00"]);
    assert!(page.contains("Hours 13:00–14:00") && page.contains("Afternoon only"));
    let at = page.find("/availability/exceptions/").unwrap();
    let start = page[..at].rfind("action=\"").unwrap() + 8;
    let action = &page[start..start + page[start..].find('"').unwrap()];
    assert!(action.ends_with("/remove"), "{action}");
    let (status, location, _) = me.post_form(&mine, action, &[]).await;
    assert_eq!(status, 303);
    let (_, page) = me.get(&location.unwrap()).await;
    assert!(page.contains("The exception was removed."));
    assert_eq!(times_of(preview_day(&page, "2026-03-05")).first().map(String::as_str), Some("09:00"));

    let (status, body) = me.get(&theirs).await;
    assert_eq!(status, 403);
    assert!(body.contains("You do not have permission"));
    let (status, _, _) = me
        .post_form(
            &mine,
            &format!("{theirs}/windows"),
            &[("clinic_id", &f.clinic.id.to_string()), ("weekday", "saturday"), ("start", "09:00"), ("end", "12:00")],
        )
        .await;
    assert_eq!(status, 403, "posting to another provider's hours is refused");
    let (status, _, _) = me.post_form(&mine, &format!("{theirs}/exceptions"), &[("from", "2026-03-03")]).await;
    assert_eq!(status, 403);
    assert!(app.svc.provider_availability(&Actor::system("test"), other.id).await.unwrap().windows.is_empty());
    let (status, _) = me.get(&format!("/setup/clinics/{}/closures", f.clinic.id)).await;
    assert_eq!(status, 403, "closures are the clinic's, not a provider's");
    let (status, _) = me.get("/setup/clinics/new").await;
    assert_eq!(status, 403);

    let patient = app.browser_login(&f.patient_user).await;
    for page in ["/setup".to_string(), mine.clone(), format!("/setup/clinics/{}/closures", f.clinic.id)] {
        let (status, _) = patient.get(&page).await;
        assert_eq!(status, 403, "{page}");
    }
}

#[tokio::test]
async fn specialties_and_clinics_refuse_mistakes_beside_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.browser_login(&app.create_user(&[Role::Admin]).await).await;
    let (status, location, _) =
        admin.post_form("/setup/specialties", "/setup/specialties", &[("name", "Physiotherapy")]).await;
    assert_eq!(status, 303);
    let (_, page) = admin.get(&location.unwrap()).await;
    assert!(page.contains("The specialty was added.") && page.contains("<td>Physiotherapy</td>"));
    let (status, _, body) =
        admin.post_form("/setup/specialties", "/setup/specialties", &[("name", "physiotherapy")]).await;
    assert_eq!(status, 409);
    assert!(body.contains("id=\"s-name-e\">That specialty already exists."));
    assert!(body.contains("value=\"physiotherapy\""));

    let (status, _, body) = admin
        .post_form(
            "/setup/clinics/new",
            "/setup/clinics",
            &[("name", ""), ("address", "2 Hill Road"), ("email", "not-an-email"), ("time_zone", "Mars/Olympus")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        body.contains("id=\"c-name-e\"") && body.contains("id=\"c-email-e\"") && body.contains("id=\"c-time_zone-e\"")
    );
    assert!(body.contains("is not a known time zone"));
    assert!(body.contains("<option value=\"Mars/Olympus\" selected>"), "even an unknown zone typed is kept");
    assert!(body.contains("value=\"not-an-email\"") && body.contains("2 Hill Road</textarea>"));
    assert!(body.contains("id=\"c-name\" name=\"name\" type=\"text\" value=\"\" aria-invalid=\"true\" aria-describedby=\"c-name-e\" autofocus"));
    assert!(app.svc.list_clinics(&Actor::system("test")).await.unwrap().is_empty());
}

#[tokio::test]
async fn setup_pages_need_no_javascript_fit_a_phone_and_label_every_field() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    app.create_user(&[Role::Provider]).await;
    let admin = app.browser_login(&app.create_user(&[Role::Admin]).await).await;
    let pages = [
        "/setup".to_string(),
        "/setup/clinics".into(),
        "/setup/clinics/new".into(),
        format!("/setup/clinics/{}", f.clinic.id),
        format!("/setup/clinics/{}/closures", f.clinic.id),
        "/setup/specialties".into(),
        "/setup/services".into(),
        "/setup/services/new".into(),
        format!("/setup/services/{}", f.service.id),
        "/setup/providers".into(),
        "/setup/providers/new".into(),
        format!("/setup/providers/{}", f.provider.id),
        format!("/setup/providers/{}/availability", f.provider.id),
    ];
    for page in &pages {
        let (status, body) = admin.get(page).await;
        assert_eq!(status, 200, "{page}");
        assert!(body.contains("name=\"viewport\" content=\"width=device-width"), "{page}");
        assert!(!body.contains("<script"), "{page} needs no JavaScript");
        assert!(!body.contains(" style="), "{page}: the CSP forbids inline styles");
        assert!(body.len() < 100 * 1024, "{page} is small ({} bytes)", body.len());
        assert_every_input_is_labelled(page, &body);
        assert_unique_ids(page, &body);
        let primaries = body.matches("class=\"primary\"").count() + body.matches("class=\"btn primary\"").count();
        assert!(primaries <= 1, "{page} has {primaries} primary buttons");
        if page != "/setup" {
            assert!(body.contains("<li><a href=\"/setup\">Setup</a></li>"), "{page}: Home › Setup › …");
        }
    }
    let css = app.client().get(app.url("/static/app.css")).send().await.unwrap().text().await.unwrap();
    assert!(css.contains(".setup-day") && css.contains(".setup-pair"), "setup.css is served with app.css");
    assert!(css.contains("@media (max-width: 40rem)"), "narrow screens are considered");
}
