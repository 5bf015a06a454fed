//! What every form page shares: reading typed values, showing a refusal beside its
//! fields, focusing the first invalid field, and the redirect after a saved form.

use super::{FormErrors, PageError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::Date;
use praxis_domain::FieldError;
use praxis_services::{ServiceError, ServiceResult};
use std::str::FromStr;

/// A form's field errors, and which field gets the focus (the first invalid one in the
/// order the form shows them).
#[derive(Default)]
pub(crate) struct Fields {
    pub(crate) errors: FormErrors,
    first: String,
}

impl Fields {
    /// Errors of a form whose fields appear in `order`.
    pub(crate) fn new(errors: Vec<FieldError>, order: &[&str]) -> Self {
        let first = order
            .iter()
            .find(|name| errors.iter().any(|e| e.field == **name))
            .map(|s| s.to_string())
            .or_else(|| errors.first().map(|e| e.field.clone()))
            .unwrap_or_default();
        Fields { errors: FormErrors(errors), first }
    }

    /// The message for `field`, if it has one.
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }

    /// True for the field that should take the focus.
    pub(crate) fn autofocus(&self, field: &str) -> bool {
        !self.first.is_empty() && self.first == field
    }
}

/// One choice of a select or a list of checkboxes.
pub(crate) struct Opt {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) selected: bool,
}

impl Opt {
    pub(crate) fn new(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Self {
        Opt { value: value.into(), label: label.into(), selected }
    }
}

/// A refused form: its status, the errors beside the fields and a sentence for the top.
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) errors: Vec<FieldError>,
    pub(crate) message: String,
}

impl Refusal {
    /// Reads a service's refusal of a form: 422 for invalid fields, 409 for a conflict
    /// (its message beside the field it names). Anything else becomes the error page.
    pub(crate) fn of(e: ServiceError) -> Result<Refusal, PageError> {
        match e {
            ServiceError::Validation(errors) => Ok(Refusal {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                message: "Nothing was saved. Please correct the fields marked below.".into(),
            }),
            ServiceError::Conflict { message, fields, .. } => {
                Ok(Refusal { status: StatusCode::CONFLICT, errors: fields, message })
            }
            other => Err(other.into()),
        }
    }

    /// Moves errors the service reports under `from` to the form's field `to`.
    pub(crate) fn rename(mut self, from: &str, to: &str) -> Self {
        for e in &mut self.errors {
            if e.field == from {
                e.field = to.to_string();
            }
        }
        self
    }

    /// Puts a field-less conflict beside `field`, so it shows where the user looks.
    pub(crate) fn beside(mut self, field: &str) -> Self {
        if self.errors.is_empty() {
            self.errors.push(FieldError {
                field: field.into(),
                code: "conflict".into(),
                message: self.message.clone(),
            });
        }
        self
    }
}

/// Parses an id from the address; an unparsable one is simply not found.
pub(crate) fn path_id<T: FromStr>(s: &str, what: &'static str) -> Result<T, PageError> {
    s.parse().map_err(|_| PageError(ServiceError::NotFound { what }))
}

/// Reads the typed values of a form that the services take as values rather than text,
/// collecting a message for each that cannot be read.
#[derive(Default)]
pub(crate) struct Reader {
    pub(crate) errors: Vec<FieldError>,
}

impl Reader {
    pub(crate) fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError { field: field.into(), code: "invalid".into(), message: message.into() });
    }

    /// An optional date from `<input type=date>` (empty = none).
    pub(crate) fn date(&mut self, field: &str, text: &str) -> Option<Date> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        match t.parse::<Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                self.add(field, "Give a date like 2026-03-02, or use the date picker.");
                None
            }
        }
    }

    /// An optional whole number (empty = none, so the service's default applies).
    pub(crate) fn number(&mut self, field: &str, text: &str) -> Option<i64> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        match t.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.add(field, "Use a whole number, for example 30.");
                None
            }
        }
    }

    /// An optional id chosen from a list (empty = none).
    pub(crate) fn id<T: FromStr>(&mut self, field: &str, text: &str) -> Option<T> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        match t.parse::<T>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.add(field, "Choose one of the options.");
                None
            }
        }
    }

    /// Ids of ticked checkboxes.
    pub(crate) fn ids<T: FromStr>(&mut self, field: &str, texts: &[String]) -> Vec<T> {
        texts.iter().filter_map(|t| self.id(field, t)).collect()
    }

    /// The collected problems as a service-style refusal, or `Ok` when there are none.
    pub(crate) fn finish(self) -> ServiceResult<()> {
        if self.errors.is_empty() { Ok(()) } else { Err(ServiceError::Validation(self.errors)) }
    }
}

/// A redirect after a successful form (303, so reloading does not resend it).
pub(crate) fn done(to: String) -> Response {
    Redirect::to(&to).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(field: &str) -> FieldError {
        FieldError { field: field.into(), code: "invalid".into(), message: format!("{field} is wrong") }
    }

    #[test]
    fn the_first_invalid_field_in_page_order_takes_the_focus() {
        let f = Fields::new(vec![err("email"), err("name")], &["name", "address", "email"]);
        assert!(f.autofocus("name") && !f.autofocus("email"));
        assert_eq!(f.get("email"), Some("email is wrong"));
        let f = Fields::new(vec![err("elsewhere")], &["name"]);
        assert!(f.autofocus("elsewhere"), "a field the page does not list still gets the focus");
        assert!(!Fields::default().autofocus(""), "nothing is focused on a fresh form");
    }

    #[test]
    fn refusals_keep_their_status_and_put_messages_beside_fields() {
        let r = Refusal::of(ServiceError::conflict("provider_exists", "Already has one."))
            .ok()
            .map(|r| r.beside("user_id"));
        let r = r.as_ref().map(|r| (r.status, r.errors[0].field.as_str(), r.errors[0].message.as_str()));
        assert_eq!(r, Some((StatusCode::CONFLICT, "user_id", "Already has one.")));
        let r = Refusal::of(ServiceError::Validation(vec![err("price_minor")]))
            .ok()
            .map(|r| r.rename("price_minor", "price"));
        assert_eq!(
            r.map(|r| (r.status, r.errors[0].field.clone())),
            Some((StatusCode::UNPROCESSABLE_ENTITY, "price".into()))
        );
        assert!(Refusal::of(ServiceError::Forbidden).is_err(), "a refusal of permission is the 403 page");
    }
}
