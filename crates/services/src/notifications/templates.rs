//! Message templates: one per message type, each with an HTML and a plain-text email and a
//! short SMS. Everything shown is in the clinic's words and the clinic's time zone (with
//! its abbreviation), with links to the patient portal at the public address.
//!
//! Rendering is pure: it takes what it shows and returns text, or says why it cannot (a
//! message that cannot be rendered goes to `dead` with that reason and alerts admins).

use super::transport::CalendarAttachment;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use praxis_domain::ical::{Calendar, CalendarEvent, CalendarMethod, EventStatus, render};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    /// A booking was made (with an `.ics` to add it to a calendar).
    Confirmation,
    /// The appointment is coming up (sent at each configured lead time).
    Reminder,
    /// The appointment was cancelled.
    Cancellation,
    /// The appointment was moved.
    Reschedule,
    /// Freed time is offered to someone on the waiting list, with an accept link and expiry.
    WaitlistOffer,
    /// A notice to staff: a message failed for good (failure alerts), or other free text.
    Alert,
    /// An invoice was issued (with its PDF).
    Invoice,
    /// A payment was received (with the receipt's PDF).
    Receipt,
    /// An invoice is past its due date.
    OverdueReminder,
}

impl Template {
    /// Every template.
    pub const ALL: [Template; 9] = [
        Template::Confirmation,
        Template::Reminder,
        Template::Cancellation,
        Template::Reschedule,
        Template::WaitlistOffer,
        Template::Alert,
        Template::Invoice,
        Template::Receipt,
        Template::OverdueReminder,
    ];

    /// True for the billing emails (about an invoice, not an appointment).
    pub fn is_billing(self) -> bool {
        matches!(self, Template::Invoice | Template::Receipt | Template::OverdueReminder)
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Template::Confirmation => "confirmation",
            Template::Reminder => "reminder",
            Template::Cancellation => "cancellation",
            Template::Reschedule => "reschedule",
            Template::WaitlistOffer => "waitlist_offer",
            Template::Alert => "alert",
            Template::Invoice => "invoice",
            Template::Receipt => "receipt",
            Template::OverdueReminder => "overdue_reminder",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Template::Confirmation => "Booking confirmation",
            Template::Reminder => "Reminder",
            Template::Cancellation => "Cancellation",
            Template::Reschedule => "Moved appointment",
            Template::WaitlistOffer => "Waiting-list offer",
            Template::Alert => "Failure alert",
            Template::Invoice => "Invoice",
            Template::Receipt => "Receipt",
            Template::OverdueReminder => "Overdue invoice reminder",
        }
    }
}

impl std::str::FromStr for Template {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Template::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| format!("unknown message template {s:?}"))
    }
}

/// Template data stored with each message (JSON). Only what cannot be read again at send
/// time is kept here: the appointment itself is read fresh, so a reminder always shows the
/// time as it is now.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MessageData {
    /// Reminders: the start they were scheduled for (a different start now means the
    /// appointment moved and this reminder is stale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_start: Option<Timestamp>,
    /// Reminders: how long before the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_minutes: Option<i64>,
    /// Moves: the start before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_start: Option<Timestamp>,
    /// Series: the starts of the other appointments this message also covers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Timestamp>,
    /// Waiting-list offers: the offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<Uuid>,
    /// Waiting-list offers: when the offer lapses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_expires: Option<Timestamp>,
    /// Alerts: subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Alerts: text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Billing emails: the invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<Uuid>,
    /// Receipts: the payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<Uuid>,
}

/// An invoice as a billing email shows it (money already formatted for people).
#[derive(Clone, Debug, Default)]
pub struct InvoiceFacts {
    /// `INV-2027-000123`.
    pub number: String,
    /// Clinic name.
    pub clinic_name: String,
    /// Clinic address.
    pub clinic_address: String,
    /// "$85.00".
    pub total: String,
    /// What is still owing ("$0.00" once paid).
    pub balance: String,
    /// Of the balance, what the patient owes (after expected rebates).
    pub patient_owes: String,
    /// Issued on ("3 March 2027").
    pub issued: String,
    /// Due on.
    pub due: String,
    /// Receipts: number, amount and method.
    pub receipt: Option<(String, String, String)>,
    /// Where the patient sees and pays it.
    pub url: String,
    /// True when online payment is offered.
    pub pay_online: bool,
}

/// The appointment as a message shows it.
#[derive(Clone, Debug)]
pub struct AppointmentFacts {
    /// Id.
    pub id: Uuid,
    /// Number (`A-2026-000123`).
    pub number: String,
    /// Status code.
    pub status: String,
    /// Clinic name.
    pub clinic_name: String,
    /// Clinic address (may contain line breaks).
    pub clinic_address: String,
    /// The clinic's zone.
    pub zone: TimeZone,
    /// Provider's name.
    pub provider_name: String,
    /// Service name.
    pub service_name: String,
    /// Start.
    pub start: Timestamp,
    /// End.
    pub end: Timestamp,
    /// Video room.
    pub video_url: Option<String>,
    /// Cancellation reason.
    pub cancel_reason: Option<String>,
    /// Version (the `.ics` sequence).
    pub version: i64,
    /// Last change.
    pub updated_at: Timestamp,
}

/// Everything a template may show.
#[derive(Clone, Debug)]
pub struct RenderInput<'a> {
    /// Which message.
    pub template: Template,
    /// The recipient's first name (empty for staff alerts).
    pub given_name: &'a str,
    /// The appointment, for appointment messages.
    pub appointment: Option<&'a AppointmentFacts>,
    /// The invoice, for billing emails.
    pub invoice: Option<&'a InvoiceFacts>,
    /// The stored data.
    pub data: &'a MessageData,
    /// Public address (`https://clinic.example`), for links.
    pub base_url: &'a str,
    /// Reminders: the link that confirms or cancels without logging in.
    pub reply_url: Option<&'a str>,
    /// Now (the `.ics` `DTSTAMP`).
    pub now: Timestamp,
}

/// A rendered message.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// Email subject.
    pub subject: String,
    /// Plain-text email body.
    pub text: String,
    /// HTML email body.
    pub html: String,
    /// SMS text.
    pub sms: String,
    /// Calendar attachment for email.
    pub calendar: Option<CalendarAttachment>,
}

/// "Tuesday 3 March 2026 at 09:00 AEDT".
pub fn long_time(t: Timestamp, zone: &TimeZone) -> String {
    let z = t.to_zoned(zone.clone());
    let abbr = zone.to_offset_info(t).abbreviation().to_string();
    format!("{} at {} {abbr}", z.strftime("%A %-d %B %Y"), z.strftime("%H:%M")).trim().to_string()
}

/// "Tue 3 Mar 09:00 AEDT" (for SMS).
pub fn short_time(t: Timestamp, zone: &TimeZone) -> String {
    let z = t.to_zoned(zone.clone());
    let abbr = zone.to_offset_info(t).abbreviation().to_string();
    format!("{} {abbr}", z.strftime("%a %-d %b %H:%M")).trim().to_string()
}

/// Escapes text for HTML.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn lead_label(minutes: i64) -> String {
    if minutes % (24 * 60) == 0 {
        let d = minutes / (24 * 60);
        if d == 1 { "tomorrow".into() } else { format!("in {d} days") }
    } else if minutes % 60 == 0 {
        let h = minutes / 60;
        if h == 1 { "in an hour".into() } else { format!("in {h} hours") }
    } else {
        format!("in {minutes} minutes")
    }
}

/// One paragraph of a message: plain text and its HTML.
struct Body {
    text: Vec<String>,
    html: Vec<String>,
}

impl Body {
    fn new() -> Self {
        Body { text: Vec::new(), html: Vec::new() }
    }
    fn para(&mut self, s: &str) {
        self.text.push(s.to_string());
        self.html.push(format!("<p>{}</p>", escape_html(s).replace('\n', "<br>")));
    }
    fn link(&mut self, label: &str, href: &str) {
        self.text.push(format!("{label}: {href}"));
        self.html.push(format!("<p><a href=\"{}\">{}</a></p>", escape_html(href), escape_html(label)));
    }
    fn facts(&mut self, rows: &[(&str, String)]) {
        let mut t = String::new();
        let mut h = String::from("<table role=\"presentation\" cellpadding=\"4\">");
        for (k, v) in rows.iter().filter(|(_, v)| !v.is_empty()) {
            t.push_str(&format!("{k}: {}\n", v.replace('\n', ", ")));
            h.push_str(&format!(
                "<tr><th align=\"left\" valign=\"top\">{}</th><td>{}</td></tr>",
                escape_html(k),
                escape_html(v).replace('\n', "<br>")
            ));
        }
        h.push_str("</table>");
        self.text.push(t.trim_end().to_string());
        self.html.push(h);
    }
    fn finish(self, title: &str, footer: &str) -> (String, String) {
        let mut text = self.text.join("\n\n");
        text.push_str(&format!("\n\n-- \n{footer}\n"));
        let html = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
             <body style=\"font-family: sans-serif; line-height: 1.4; color: #1a1a1a\">{}\
             <hr><p style=\"color: #555; font-size: small\">{}</p></body></html>",
            escape_html(title),
            self.html.join(""),
            escape_html(footer).replace('\n', "<br>")
        );
        (text, html)
    }
}

/// Why a message cannot be rendered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot render the {template} message: {reason}")]
pub struct RenderError {
    /// Template.
    pub template: &'static str,
    /// Why.
    pub reason: String,
}

fn needs<'a, T>(t: Template, v: Option<&'a T>, what: &str) -> Result<&'a T, RenderError> {
    v.ok_or_else(|| RenderError { template: t.as_str(), reason: format!("{what} is missing") })
}

fn ics(a: &AppointmentFacts, method: CalendarMethod, now: Timestamp) -> CalendarAttachment {
    let location = match &a.video_url {
        Some(url) => format!("Video: {url}"),
        None if a.clinic_address.is_empty() => a.clinic_name.clone(),
        None => format!("{}, {}", a.clinic_name, a.clinic_address.replace('\n', ", ")),
    };
    let status = if method == CalendarMethod::Cancel { EventStatus::Cancelled } else { EventStatus::Confirmed };
    let event = CalendarEvent {
        uid: format!("{}@praxis", a.id),
        sequence: u32::try_from(a.version.saturating_sub(1)).unwrap_or(0),
        start: a.start,
        end: a.end,
        time_zone: a.zone.clone(),
        summary: format!("{} with {}", a.service_name, a.provider_name),
        description: format!(
            "Appointment {} at {}.\nTo cancel or change it, log in to Praxis or call the clinic.",
            a.number, a.clinic_name
        ),
        location,
        url: a.video_url.clone(),
        status,
        last_modified: a.updated_at,
    };
    let cal = Calendar { name: String::new(), method: Some(method), events: vec![event] };
    CalendarAttachment { filename: "appointment.ics".into(), method: method.as_ical().into(), body: render(&cal, now) }
}

/// Renders one message.
pub fn render_message(input: &RenderInput<'_>) -> Result<Rendered, RenderError> {
    let t = input.template;
    let base = input.base_url.trim_end_matches('/');
    let hello = if input.given_name.trim().is_empty() {
        "Hello,".to_string()
    } else {
        format!("Dear {},", input.given_name.trim())
    };
    if t == Template::Alert {
        let subject = needs(t, input.data.subject.as_ref(), "the subject")?.clone();
        let body_text = needs(t, input.data.body.as_ref(), "the text")?.clone();
        let mut b = Body::new();
        b.para(&body_text);
        b.link("Messages in Praxis", &format!("{base}/messages?status=dead"));
        let (text, html) = b.finish(&subject, "Sent by Praxis to the clinic's administrators.");
        let sms = format!("Praxis: {subject}");
        return Ok(Rendered { subject, text, html, sms, calendar: None });
    }
    if t.is_billing() {
        return render_billing(t, &hello, needs(t, input.invoice, "the invoice")?);
    }
    let a = needs(t, input.appointment, "the appointment")?;
    let when = long_time(a.start, &a.zone);
    let when_short = short_time(a.start, &a.zone);
    let manage = format!("{base}/my/appointments/{}", a.id);
    let where_ = match &a.video_url {
        Some(url) => format!("Video call: {url}"),
        None if a.clinic_address.is_empty() => a.clinic_name.clone(),
        None => format!("{}\n{}", a.clinic_name, a.clinic_address),
    };
    let facts = |b: &mut Body| {
        b.facts(&[
            ("When", when.clone()),
            ("What", a.service_name.clone()),
            ("With", a.provider_name.clone()),
            ("Where", where_.clone()),
            ("Number", a.number.clone()),
        ])
    };
    // The room link goes only in messages to the appointment's own patients (these are
    // addressed to them), never in anything shared.
    let video = |b: &mut Body| {
        if let Some(url) = &a.video_url {
            b.link("Join the video call at the appointment time", url);
        }
    };
    let video_sms = a.video_url.as_ref().map(|u| format!(" Video: {u}")).unwrap_or_default();
    let others = |b: &mut Body| {
        if !input.data.also.is_empty() {
            let list: Vec<String> = input.data.also.iter().map(|s| format!("• {}", long_time(*s, &a.zone))).collect();
            b.para(&format!("This also applies to:\n{}", list.join("\n")));
        }
    };
    let footer = format!(
        "{}{}\nPlease do not reply to this message; contact the clinic instead.",
        a.clinic_name,
        if a.clinic_address.is_empty() { String::new() } else { format!(", {}", a.clinic_address.replace('\n', ", ")) }
    );
    let mut b = Body::new();
    b.para(&hello);
    let (subject, sms, calendar) = match t {
        Template::Confirmation => {
            b.para(&format!("Your appointment at {} is booked.", a.clinic_name));
            facts(&mut b);
            others(&mut b);
            video(&mut b);
            b.link("See, change or cancel your appointment", &manage);
            b.para("The attached calendar file adds the appointment to your calendar.");
            (
                format!("Appointment booked: {when}"),
                format!(
                    "{}: booked {} with {} on {when_short}.{video_sms} {manage}",
                    a.clinic_name, a.service_name, a.provider_name
                ),
                Some(ics(a, CalendarMethod::Publish, input.now)),
            )
        }
        Template::Reminder => {
            let lead = lead_label(input.data.lead_minutes.unwrap_or(24 * 60));
            b.para(&format!("A reminder of your appointment at {} {lead}.", a.clinic_name));
            facts(&mut b);
            video(&mut b);
            let sms = match input.reply_url {
                Some(reply) => {
                    b.link("Confirm that you will come, or cancel — no login needed", reply);
                    b.link("To change the time, see your appointment here", &manage);
                    format!(
                        "{}: reminder, {} with {} {when_short}.{video_sms} Reply C to confirm or X to cancel, or: {reply}",
                        a.clinic_name, a.service_name, a.provider_name
                    )
                }
                None => {
                    b.link("If you cannot come, please cancel or change it here", &manage);
                    format!(
                        "{}: reminder, {} with {} {when_short}.{video_sms} Can't come? {manage}",
                        a.clinic_name, a.service_name, a.provider_name
                    )
                }
            };
            (format!("Reminder: {} on {when}", a.service_name), sms, None)
        }
        Template::Cancellation => {
            let why = a.cancel_reason.clone().filter(|r| !r.trim().is_empty());
            b.para(&format!("Your appointment at {} on {when} has been cancelled.", a.clinic_name));
            facts(&mut b);
            others(&mut b);
            if let Some(w) = &why {
                b.para(&format!("Reason: {w}"));
            }
            b.link("Book another time", &format!("{base}/book"));
            (
                format!("Appointment cancelled: {when}"),
                format!("{}: your {} on {when_short} is cancelled. Rebook: {base}/book", a.clinic_name, a.service_name),
                Some(ics(a, CalendarMethod::Cancel, input.now)),
            )
        }
        Template::Reschedule => {
            let before = input.data.previous_start.map(|p| long_time(p, &a.zone));
            match &before {
                Some(p) => b.para(&format!("Your appointment at {} has moved from {p} to {when}.", a.clinic_name)),
                None => b.para(&format!("Your appointment at {} has moved to {when}.", a.clinic_name)),
            }
            facts(&mut b);
            others(&mut b);
            b.link("See, change or cancel your appointment", &manage);
            b.para("The attached calendar file updates the appointment in your calendar.");
            (
                format!("Appointment moved to {when}"),
                format!("{}: your {} has moved to {when_short}. {manage}", a.clinic_name, a.service_name),
                Some(ics(a, CalendarMethod::Publish, input.now)),
            )
        }
        Template::WaitlistOffer => {
            let expires = needs(t, input.data.offer_expires.as_ref(), "the offer's expiry")?;
            let until = long_time(*expires, &a.zone);
            let accept = match input.data.offer_id {
                Some(o) => format!("{base}/my/waitlist#offer-{o}"),
                None => format!("{base}/my/waitlist"),
            };
            b.para(&format!(
                "A time has become free at {} and we are holding it for you from the waiting list.",
                a.clinic_name
            ));
            facts(&mut b);
            b.link("Accept this time", &accept);
            b.para(&format!(
                "The offer is held for you until {until}. After that it passes to the next person waiting, \
                 and you keep your place on the list."
            ));
            (
                format!("A time is free for you: {when}"),
                format!(
                    "{}: {} free on {when_short}, held for you until {}. Accept: {accept}",
                    a.clinic_name,
                    a.service_name,
                    short_time(*expires, &a.zone)
                ),
                None,
            )
        }
        Template::Alert | Template::Invoice | Template::Receipt | Template::OverdueReminder => {
            return Err(RenderError { template: t.as_str(), reason: "unreachable".into() });
        }
    };
    let (text, html) = b.finish(&subject, &footer);
    let sms: String = sms.chars().take(320).collect();
    Ok(Rendered { subject, text, html, sms, calendar })
}

/// The billing emails: invoice issued, receipt, overdue reminder (the PDF is attached by
/// the sender).
fn render_billing(t: Template, hello: &str, inv: &InvoiceFacts) -> Result<Rendered, RenderError> {
    let mut b = Body::new();
    b.para(hello);
    let pay_line = if inv.pay_online { "See and pay it online" } else { "See it online" };
    let (subject, sms) = match t {
        Template::Invoice => {
            b.para(&format!("Please find attached invoice {} from {}.", inv.number, inv.clinic_name));
            b.facts(&[
                ("Invoice", inv.number.clone()),
                ("Issued", inv.issued.clone()),
                ("Total", inv.total.clone()),
                ("You pay", inv.patient_owes.clone()),
                ("Due by", inv.due.clone()),
            ]);
            b.link(pay_line, &inv.url);
            (
                format!("Invoice {} from {}: {}", inv.number, inv.clinic_name, inv.patient_owes),
                format!(
                    "{}: invoice {} for {}, due {}. {}",
                    inv.clinic_name, inv.number, inv.patient_owes, inv.due, inv.url
                ),
            )
        }
        Template::Receipt => {
            let (number, amount, method) = inv
                .receipt
                .clone()
                .ok_or_else(|| RenderError { template: t.as_str(), reason: "the payment is missing".into() })?;
            b.para(&format!("Thank you: we received {amount} for invoice {}.", inv.number));
            b.facts(&[
                ("Receipt", number.clone()),
                ("Amount", amount.clone()),
                ("Paid by", method),
                ("Invoice", inv.number.clone()),
                ("Still owing", inv.balance.clone()),
            ]);
            b.para("Your receipt is attached.");
            b.link("Your invoices", &inv.url);
            (
                format!("Receipt {number} from {}: {amount} received", inv.clinic_name),
                format!("{}: {amount} received for {}, receipt {number}. Thank you.", inv.clinic_name, inv.number),
            )
        }
        _ => {
            b.para(&format!(
                "Invoice {} from {} was due on {} and {} is still owing. If you have paid it in the last few days, \
                 thank you, and please ignore this reminder.",
                inv.number, inv.clinic_name, inv.due, inv.patient_owes
            ));
            b.facts(&[
                ("Invoice", inv.number.clone()),
                ("Owing", inv.patient_owes.clone()),
                ("Was due", inv.due.clone()),
            ]);
            b.link(pay_line, &inv.url);
            b.para("If you cannot pay it now, please contact the clinic; we are glad to help.");
            (
                format!("Reminder: invoice {} is overdue", inv.number),
                format!("{}: invoice {} ({}) is overdue. {}", inv.clinic_name, inv.number, inv.patient_owes, inv.url),
            )
        }
    };
    let footer = format!(
        "{}{}\nPlease do not reply to this message; contact the clinic instead.",
        inv.clinic_name,
        if inv.clinic_address.is_empty() {
            String::new()
        } else {
            format!(", {}", inv.clinic_address.replace('\n', ", "))
        }
    );
    let (text, html) = b.finish(&subject, &footer);
    let sms: String = sms.chars().take(320).collect();
    Ok(Rendered { subject, text, html, sms, calendar: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> AppointmentFacts {
        AppointmentFacts {
            id: Uuid::nil(),
            number: "A-2026-000001".into(),
            status: "confirmed".into(),
            clinic_name: "Harbour <Clinic>".into(),
            clinic_address: "1 Test Street\nSydney".into(),
            zone: TimeZone::get("Australia/Sydney").unwrap(),
            provider_name: "Dr Chen".into(),
            service_name: "Consultation".into(),
            start: "2026-03-02T22:00:00Z".parse().unwrap(),
            end: "2026-03-02T22:50:00Z".parse().unwrap(),
            video_url: None,
            cancel_reason: None,
            version: 1,
            updated_at: "2026-03-01T22:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn times_are_in_the_clinic_zone_with_its_abbreviation() {
        let a = facts();
        assert_eq!(long_time(a.start, &a.zone), "Tuesday 3 March 2026 at 09:00 AEDT");
        assert_eq!(short_time(a.start, &a.zone), "Tue 3 Mar 09:00 AEDT");
    }

    #[test]
    fn confirmation_has_both_bodies_an_ics_and_escapes_html() {
        let a = facts();
        let data = MessageData::default();
        let r = render_message(&RenderInput {
            template: Template::Confirmation,
            given_name: "Ana",
            appointment: Some(&a),
            invoice: None,
            data: &data,
            base_url: "https://clinic.example/",
            reply_url: None,
            now: a.updated_at,
        })
        .unwrap();
        assert!(r.subject.contains("Tuesday 3 March 2026 at 09:00 AEDT"));
        assert!(r.text.contains("Dear Ana,") && r.text.contains("https://clinic.example/my/appointments/"));
        assert!(r.html.contains("Harbour &lt;Clinic&gt;") && !r.html.contains("<Clinic>"));
        let cal = r.calendar.unwrap();
        assert!(cal.body.contains("METHOD:PUBLISH") && cal.body.contains("DTSTART;TZID=Australia/Sydney"));
        assert!(r.sms.len() <= 320);
    }

    #[test]
    fn an_offer_without_expiry_cannot_be_rendered() {
        let a = facts();
        let data = MessageData::default();
        let e = render_message(&RenderInput {
            template: Template::WaitlistOffer,
            given_name: "Ana",
            appointment: Some(&a),
            invoice: None,
            data: &data,
            base_url: "http://x",
            reply_url: None,
            now: a.updated_at,
        })
        .unwrap_err();
        assert!(e.reason.contains("expiry"));
    }

    #[test]
    fn lead_times_read_naturally() {
        assert_eq!(lead_label(24 * 60), "tomorrow");
        assert_eq!(lead_label(120), "in 2 hours");
        assert_eq!(lead_label(90), "in 90 minutes");
    }
}
