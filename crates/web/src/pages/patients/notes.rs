//! The notes tab (a timeline of notes and assessments), the note editor with signing,
//! the assessment form, and a note with its amendments beside it.

use super::{ChartHeader, chart_header, chart_layout, form_date};
use crate::csrf::CsrfToken;
use crate::extract::PageActor;
use crate::pages::{FormErrors, Layout, PageError, PageResult, Pager, fmt_time, query_string};
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::Form;
use jiff::SignedDuration;
use praxis_domain::{AppointmentId, FieldError, PatientId};
use praxis_services::clinical::{AssessmentKind, Attendance, NewNote, Note, NoteContent, NoteKind, Score};
use praxis_services::scheduling::AppointmentFilter;
use praxis_services::users::PageRequest;
use praxis_services::{Actor, ServiceError};
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/patients/{id}/notes", get(timeline).post(create))
        .route("/patients/{id}/notes/new", get(new_page))
        .route("/notes/{id}", get(view))
        .route("/notes/{id}/edit", get(edit_page).post(edit))
        .route("/notes/{id}/sign", post(sign))
        .route("/notes/{id}/amend", post(amend))
}

/// Notes per page of the timeline (keeps the page light however long the record).
const TIMELINE_PAGE: i64 = 20;

fn kind_label(n: &Note) -> &'static str {
    match n.assessment_kind {
        Some(a) => a.label(),
        None => n.kind.label(),
    }
}

fn attendance_label(a: Attendance) -> &'static str {
    match a {
        Attendance::Attended => "Attended",
        Attendance::Partial => "Partly attended (late or left early)",
        Attendance::Absent => "Did not attend",
    }
}

/// A note ready to show: its sections as (heading, text) pairs, scores and goals.
struct NoteView {
    id: String,
    kind: &'static str,
    author: String,
    draft: bool,
    when: String,
    signed: String,
    appointment: Option<String>,
    sections: Vec<(&'static str, String)>,
    scores: Vec<Score>,
    goals: Vec<String>,
    next_review: String,
    amendments: Vec<AmendmentView>,
}

struct AmendmentView {
    author: String,
    when: String,
    reason: String,
    text: String,
}

fn note_view(n: &Note, zone: &jiff::tz::TimeZone) -> NoteView {
    let c = &n.content;
    let mut sections: Vec<(&'static str, String)> = [
        ("Note", &c.text),
        ("Objectives", &c.objectives),
        ("Activities", &c.activities),
        ("Observations", &c.observations),
        ("Progress", &c.progress),
        ("Homework", &c.homework),
        ("Plan for next session", &c.plan),
        ("Patient response", &c.patient_response),
        ("Findings", &c.findings),
        ("Recommendations", &c.recommendations),
    ]
    .into_iter()
    .filter(|(_, t)| !t.trim().is_empty())
    .map(|(h, t)| (h, t.clone()))
    .collect();
    if let Some(a) = c.attendance {
        sections.insert(0, ("Attendance", attendance_label(a).to_string()));
    }
    NoteView {
        id: n.id.to_string(),
        kind: kind_label(n),
        author: n.author.clone(),
        draft: n.status == "draft",
        when: fmt_time(n.created_at, zone),
        signed: n.signed_at.map(|t| fmt_time(t, zone)).unwrap_or_default(),
        appointment: n.appointment_id.map(|a| a.to_string()),
        sections,
        scores: c.scores.clone(),
        goals: c.goals.clone(),
        next_review: n.next_review_date.map(|d| d.strftime("%-d %b %Y").to_string()).unwrap_or_default(),
        amendments: n
            .amendments
            .iter()
            .map(|a| AmendmentView {
                author: a.author.clone(),
                when: fmt_time(a.created_at, zone),
                reason: a.reason.clone(),
                text: a.text.clone(),
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------
// Timeline

#[derive(Template, WebTemplate)]
#[template(path = "patient_notes.html")]
struct TimelinePage {
    layout: Layout,
    header: ChartHeader,
    notes: Vec<NoteView>,
    kind: String,
    may_write: bool,
    pager: Pager,
}

#[derive(Deserialize)]
struct TimelineQuery {
    #[serde(default)]
    kind: String,
    msg: Option<String>,
    page: Option<i64>,
}

async fn timeline(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<PatientId>,
    Query(q): Query<TimelineQuery>,
) -> PageResult {
    let header = chart_header(&st, &actor, id, "notes").await?;
    // An unknown kind in the address shows everything rather than an error page.
    let kind = NoteKind::parse(&q.kind);
    let kind_code = kind.map(NoteKind::as_str).unwrap_or("");
    let page = st.svc.patient_notes(&actor, id, kind, PageRequest::new(q.page, Some(TIMELINE_PAGE))).await?;
    let zone = st.svc.settings().display_zone.clone();
    let pager = Pager {
        page: page.page,
        per_page: page.per_page,
        total: page.total,
        base: format!("/patients/{id}/notes{}", query_string(&[("kind", kind_code)])),
    };
    let notes = page.items.iter().map(|n| note_view(n, &zone)).collect();
    let mut layout = chart_layout(&actor, &csrf, &header, "Notes").zone(&zone);
    if q.msg.as_deref() == Some("deleted") {
        layout = layout.notice("ok", "The draft was discarded.");
    }
    Ok(TimelinePage {
        layout,
        header,
        notes,
        kind: kind_code.to_string(),
        may_write: st.svc.may_write_clinical(&actor, id).await?,
        pager,
    }
    .into_response())
}

// ---------------------------------------------------------------------------------------
// The editor

/// The note editor as typed (kept on errors).
#[derive(Clone, Default, Deserialize)]
struct NoteForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    assessment_kind: String,
    #[serde(default)]
    appointment_id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    objectives: String,
    #[serde(default)]
    activities: String,
    #[serde(default)]
    observations: String,
    #[serde(default)]
    progress: String,
    #[serde(default)]
    homework: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    attendance: String,
    #[serde(default)]
    patient_response: String,
    #[serde(default)]
    findings: String,
    #[serde(default)]
    recommendations: String,
    #[serde(default)]
    goals: String,
    #[serde(default)]
    score_measure: Vec<String>,
    #[serde(default)]
    score_value: Vec<String>,
    #[serde(default)]
    score_interpretation: Vec<String>,
    #[serde(default)]
    next_review_date: String,
    /// `draft` (save) or `sign` (save and sign).
    #[serde(default)]
    action: String,
}

/// Rows of the scores table: what was typed plus blank rows to add more.
const SCORE_ROWS: usize = 4;

impl NoteForm {
    fn kind(&self) -> NoteKind {
        match self.kind.as_str() {
            "therapy_session" => NoteKind::TherapySession,
            "assessment" => NoteKind::Assessment,
            _ => NoteKind::Progress,
        }
    }

    fn of(n: &Note) -> Self {
        let c = &n.content;
        NoteForm {
            kind: n.kind.as_str().into(),
            assessment_kind: n.assessment_kind.map(|a| a.as_str().to_string()).unwrap_or_default(),
            appointment_id: n.appointment_id.map(|a| a.to_string()).unwrap_or_default(),
            text: c.text.clone(),
            objectives: c.objectives.clone(),
            activities: c.activities.clone(),
            observations: c.observations.clone(),
            progress: c.progress.clone(),
            homework: c.homework.clone(),
            plan: c.plan.clone(),
            attendance: match c.attendance {
                Some(Attendance::Attended) => "attended".into(),
                Some(Attendance::Partial) => "partial".into(),
                Some(Attendance::Absent) => "absent".into(),
                None => String::new(),
            },
            patient_response: c.patient_response.clone(),
            findings: c.findings.clone(),
            recommendations: c.recommendations.clone(),
            goals: c.goals.join("\n"),
            score_measure: c.scores.iter().map(|s| s.measure.clone()).collect(),
            score_value: c.scores.iter().map(|s| s.value.clone()).collect(),
            score_interpretation: c.scores.iter().map(|s| s.interpretation.clone()).collect(),
            next_review_date: n.next_review_date.map(|d| d.to_string()).unwrap_or_default(),
            action: String::new(),
        }
    }

    /// The score rows to show: those typed, then blanks up to at least `SCORE_ROWS`, and
    /// always one blank to add another.
    fn score_rows(&self) -> Vec<(String, String, String)> {
        let n = self.score_measure.len().max(self.score_value.len());
        let mut rows: Vec<(String, String, String)> = (0..n)
            .map(|i| {
                let get = |v: &Vec<String>| v.get(i).cloned().unwrap_or_default();
                (get(&self.score_measure), get(&self.score_value), get(&self.score_interpretation))
            })
            .filter(|(m, v, i)| !(m.trim().is_empty() && v.trim().is_empty() && i.trim().is_empty()))
            .collect();
        let target = (rows.len() + 1).max(SCORE_ROWS);
        rows.resize(target, Default::default());
        rows
    }

    fn to_input(&self, errors: &mut Vec<FieldError>) -> NewNote {
        let kind = self.kind();
        let appointment_id = match self.appointment_id.trim() {
            "" => None,
            t => match t.parse::<Uuid>() {
                Ok(u) => Some(AppointmentId(u)),
                Err(_) => {
                    errors.push(FieldError {
                        field: "appointment_id".into(),
                        code: "invalid".into(),
                        message: "Choose one of the listed appointments.".into(),
                    });
                    None
                }
            },
        };
        let attendance = match self.attendance.as_str() {
            "attended" => Some(Attendance::Attended),
            "partial" => Some(Attendance::Partial),
            "absent" => Some(Attendance::Absent),
            _ => None,
        };
        let scores = (0..self.score_measure.len())
            .map(|i| Score {
                measure: self.score_measure.get(i).cloned().unwrap_or_default().trim().to_string(),
                value: self.score_value.get(i).cloned().unwrap_or_default().trim().to_string(),
                interpretation: self.score_interpretation.get(i).cloned().unwrap_or_default().trim().to_string(),
            })
            .filter(|s| !(s.measure.is_empty() && s.value.is_empty() && s.interpretation.is_empty()))
            .collect::<Vec<_>>();
        if scores.iter().any(|s| s.measure.is_empty() || s.value.is_empty()) {
            errors.push(FieldError {
                field: "scores".into(),
                code: "incomplete".into(),
                message: "Give each score both a measure and a result.".into(),
            });
        }
        let only = |on: bool, s: &str| if on { s.to_string() } else { String::new() };
        let therapy = kind == NoteKind::TherapySession;
        let assessment = kind == NoteKind::Assessment;
        NewNote {
            kind: Some(kind),
            assessment_kind: if assessment { AssessmentKind::parse(&self.assessment_kind) } else { None },
            appointment_id,
            content: NoteContent {
                text: only(kind == NoteKind::Progress, &self.text),
                objectives: only(therapy, &self.objectives),
                activities: only(therapy, &self.activities),
                observations: only(therapy, &self.observations),
                progress: only(therapy, &self.progress),
                homework: only(therapy, &self.homework),
                plan: only(therapy, &self.plan),
                attendance: if therapy { attendance } else { None },
                patient_response: only(therapy, &self.patient_response),
                scores: if assessment { scores } else { Vec::new() },
                goals: if assessment {
                    self.goals.lines().map(str::trim).filter(|g| !g.is_empty()).map(str::to_string).collect()
                } else {
                    Vec::new()
                },
                findings: only(assessment, &self.findings),
                recommendations: only(assessment, &self.recommendations),
            },
            next_review_date: if assessment {
                form_date(&self.next_review_date, "next_review_date", errors)
            } else {
                None
            },
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "note_form.html")]
struct EditorPage {
    layout: Layout,
    header: ChartHeader,
    action: String,
    form: NoteForm,
    kind: NoteKind,
    kinds: Vec<(&'static str, &'static str)>,
    assessment_kinds: Vec<(&'static str, &'static str)>,
    appointments: Vec<(String, String)>,
    score_rows: Vec<(String, String, String)>,
    errors: FormErrors,
    editing: bool,
}

impl EditorPage {
    fn is_kind(&self, k: &str) -> bool {
        self.kind.as_str() == k
    }
}

/// The actor's recent and coming appointments with the patient (last 90 days, next 7),
/// newest first, to link a note to.
async fn linkable_appointments(
    st: &AppState,
    actor: &Actor,
    patient: PatientId,
) -> Result<Vec<(String, String)>, PageError> {
    let now = st.svc.now();
    let filter = AppointmentFilter {
        patient_id: Some(patient),
        from: now.checked_sub(SignedDuration::from_hours(24 * 90)).ok(),
        until: now.checked_add(SignedDuration::from_hours(24 * 7)).ok(),
        provider_id: st.svc.my_provider_id(actor).await?,
        ..AppointmentFilter::default()
    };
    let mut items = st.svc.list_appointments(actor, filter, PageRequest::new(Some(1), Some(100))).await?.items;
    items.reverse();
    Ok(items
        .into_iter()
        .filter(|a| !matches!(a.status.as_str(), "cancelled" | "expired" | "held"))
        .map(|a| (a.id.to_string(), format!("{} · {} ({})", a.local_start, a.service_name, a.status_label)))
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn editor(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    patient: PatientId,
    action: String,
    form: NoteForm,
    errors: Vec<FieldError>,
    editing: bool,
) -> PageResult {
    let header = chart_header(st, actor, patient, "notes").await?;
    let kind = form.kind();
    let title = if editing {
        format!("Edit draft {}", kind.label().to_lowercase())
    } else {
        format!("New {}", kind.label().to_lowercase())
    };
    let mut layout = chart_layout(actor, csrf, &header, &title);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    if !errors.is_empty() {
        layout = layout.notice("error", "Please correct the fields marked below. Nothing was saved.");
    }
    let page = EditorPage {
        layout,
        header,
        action,
        score_rows: form.score_rows(),
        kind,
        kinds: NoteKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        assessment_kinds: AssessmentKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        appointments: linkable_appointments(st, actor, patient).await?,
        form,
        errors: FormErrors(errors),
        editing,
    };
    Ok((status, page).into_response())
}

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    appointment_id: String,
}

async fn new_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<PatientId>,
    Query(q): Query<NewQuery>,
) -> PageResult {
    if !st.svc.may_write_clinical(&actor, id).await? {
        return Err(ServiceError::Forbidden.into());
    }
    let form = NoteForm {
        kind: q.kind,
        appointment_id: q.appointment_id,
        attendance: "attended".into(),
        ..NoteForm::default()
    };
    editor(&st, &actor, &csrf, id, format!("/patients/{id}/notes"), form, Vec::new(), false).await
}

/// Saves, then signs when asked; on bad input shows the editor again with what was typed.
async fn create(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<PatientId>,
    Form(f): Form<NoteForm>,
) -> PageResult {
    let mut errors = Vec::new();
    let input = f.to_input(&mut errors);
    if !errors.is_empty() {
        return editor(&st, &actor, &csrf, id, format!("/patients/{id}/notes"), f, errors, false).await;
    }
    match st.svc.create_note(&actor, id, input).await {
        Ok(n) => after_save(&st, &actor, n.id, &f.action).await,
        Err(ServiceError::Validation(errors)) => {
            editor(&st, &actor, &csrf, id, format!("/patients/{id}/notes"), f, errors, false).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn after_save(st: &AppState, actor: &Actor, note: Uuid, action: &str) -> PageResult {
    if action == "sign" {
        st.svc.sign_note(actor, note).await?;
        return Ok(Redirect::to(&format!("/notes/{note}?msg=signed")).into_response());
    }
    Ok(Redirect::to(&format!("/notes/{note}?msg=saved")).into_response())
}

async fn edit_page(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<Uuid>,
) -> PageResult {
    let n = st.svc.read_note(&actor, id).await?;
    if n.status != "draft" {
        return Ok(Redirect::to(&format!("/notes/{id}?msg=locked")).into_response());
    }
    if !st.svc.may_write_clinical(&actor, n.patient_id).await?
        || st.svc.my_provider_id(&actor).await? != Some(n.author_id)
    {
        return Err(ServiceError::Forbidden.into());
    }
    editor(&st, &actor, &csrf, n.patient_id, format!("/notes/{id}/edit"), NoteForm::of(&n), Vec::new(), true).await
}

async fn edit(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<Uuid>,
    Form(f): Form<NoteForm>,
) -> PageResult {
    let n = st.svc.read_note(&actor, id).await?;
    // The kind of a note never changes.
    let f = NoteForm { kind: n.kind.as_str().into(), ..f };
    let mut errors = Vec::new();
    let input = f.to_input(&mut errors);
    if !errors.is_empty() {
        return editor(&st, &actor, &csrf, n.patient_id, format!("/notes/{id}/edit"), f, errors, true).await;
    }
    match st.svc.update_note(&actor, id, input).await {
        Ok(_) => after_save(&st, &actor, id, &f.action).await,
        Err(ServiceError::Validation(errors)) => {
            editor(&st, &actor, &csrf, n.patient_id, format!("/notes/{id}/edit"), f, errors, true).await
        }
        Err(ServiceError::Conflict { .. }) => Ok(Redirect::to(&format!("/notes/{id}?msg=locked")).into_response()),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------
// One note

#[derive(Template, WebTemplate)]
#[template(path = "note_view.html")]
struct NotePage {
    layout: Layout,
    header: ChartHeader,
    note: NoteView,
    is_author: bool,
    may_amend: bool,
    reason: String,
    amendment: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct ViewQuery {
    msg: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn render_note(
    st: &AppState,
    actor: &Actor,
    csrf: &CsrfToken,
    n: &Note,
    notice: Option<(&'static str, &'static str)>,
    reason: String,
    amendment: String,
    errors: Vec<FieldError>,
) -> PageResult {
    let header = chart_header(st, actor, n.patient_id, "notes").await?;
    let zone = st.svc.settings().display_zone.clone();
    let view = note_view(n, &zone);
    let mut layout = chart_layout(actor, csrf, &header, view.kind).zone(&zone);
    layout.crumbs.insert(3, ("Notes".into(), format!("/patients/{}/notes", n.patient_id)));
    if let Some((kind, text)) = notice {
        layout = layout.notice(kind, text);
    }
    let may_write = st.svc.may_write_clinical(actor, n.patient_id).await?;
    let is_author = may_write && st.svc.my_provider_id(actor).await? == Some(n.author_id);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = NotePage {
        layout,
        header,
        note: view,
        is_author,
        may_amend: may_write && n.status == "signed",
        reason,
        amendment,
        errors: FormErrors(errors),
    };
    Ok((status, page).into_response())
}

async fn view(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<Uuid>,
    Query(q): Query<ViewQuery>,
) -> PageResult {
    let n = st.svc.read_note(&actor, id).await?;
    let notice = match q.msg.as_deref() {
        Some("saved") => Some(("ok", "The draft is saved. Only you can see it until you sign it.")),
        Some("signed") => {
            Some(("ok", "The note is signed. It can no longer change; add an amendment if something needs correcting."))
        }
        Some("amended") => Some(("ok", "The amendment is added beside the original.")),
        Some("locked") => Some(("warn", "This note is signed and can no longer be edited. Add an amendment instead.")),
        _ => None,
    };
    render_note(&st, &actor, &csrf, &n, notice, String::new(), String::new(), Vec::new()).await
}

async fn sign(State(st): State<AppState>, PageActor(actor): PageActor, Path(id): Path<Uuid>) -> PageResult {
    match st.svc.sign_note(&actor, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/notes/{id}?msg=signed")).into_response()),
        Err(ServiceError::Conflict { .. }) => Ok(Redirect::to(&format!("/notes/{id}?msg=locked")).into_response()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct AmendForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    text: String,
}

async fn amend(
    State(st): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageActor(actor): PageActor,
    Path(id): Path<Uuid>,
    Form(f): Form<AmendForm>,
) -> PageResult {
    match st.svc.amend_note(&actor, id, &f.reason, &f.text).await {
        Ok(_) => Ok(Redirect::to(&format!("/notes/{id}?msg=amended")).into_response()),
        Err(ServiceError::Validation(errors)) => {
            let n = st.svc.read_note(&actor, id).await?;
            render_note(
                &st,
                &actor,
                &csrf,
                &n,
                Some(("error", "Please correct the fields marked below. Nothing was saved.")),
                f.reason,
                f.text,
                errors,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_chosen_kinds_fields_are_kept() {
        let f = NoteForm {
            kind: "progress".into(),
            text: "Better".into(),
            objectives: "stray".into(),
            findings: "stray".into(),
            ..NoteForm::default()
        };
        let mut e = Vec::new();
        let n = f.to_input(&mut e);
        assert!(e.is_empty());
        assert_eq!(n.content.text, "Better");
        assert!(n.content.objectives.is_empty() && n.content.findings.is_empty());
    }

    #[test]
    fn assessment_scores_goals_and_review_date() {
        let f = NoteForm {
            kind: "assessment".into(),
            assessment_kind: "initial".into(),
            findings: "Low mood".into(),
            goals: "Sleep 7 h\n\n  Walk daily ".into(),
            score_measure: vec!["PHQ-9".into(), "".into()],
            score_value: vec!["14".into(), "".into()],
            score_interpretation: vec!["moderate".into(), "".into()],
            next_review_date: "2027-01-15".into(),
            ..NoteForm::default()
        };
        let mut e = Vec::new();
        let n = f.to_input(&mut e);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(n.assessment_kind, Some(AssessmentKind::Initial));
        assert_eq!(n.content.goals, vec!["Sleep 7 h", "Walk daily"]);
        assert_eq!(n.content.scores.len(), 1);
        assert_eq!(n.content.scores[0].measure, "PHQ-9");
        assert_eq!(n.next_review_date, Some(jiff::civil::date(2027, 1, 15)));
        // Typed rows come back, plus blanks to add more.
        assert_eq!(f.score_rows().len(), SCORE_ROWS);
        assert_eq!(f.score_rows()[0].0, "PHQ-9");
    }

    #[test]
    fn a_score_without_a_result_is_a_field_error() {
        let f = NoteForm {
            kind: "assessment".into(),
            score_measure: vec!["PHQ-9".into()],
            score_value: vec!["".into()],
            ..NoteForm::default()
        };
        let mut e = Vec::new();
        f.to_input(&mut e);
        assert_eq!(e[0].field, "scores");
    }

    #[test]
    fn a_bad_appointment_or_date_is_a_field_error() {
        let f = NoteForm {
            kind: "assessment".into(),
            appointment_id: "nope".into(),
            next_review_date: "2027-02-31".into(),
            ..NoteForm::default()
        };
        let mut e = Vec::new();
        f.to_input(&mut e);
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["appointment_id", "next_review_date"]);
    }
}
