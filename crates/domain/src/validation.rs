//! Field-level validation errors, collected so a form or an API client can show every
//! problem at once instead of one per round trip.

use serde::Serialize;

/// One problem with one input field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name as the client sent it (`email`, `roles`, `new_password`…).
    pub field: String,
    /// A stable machine code (`required`, `invalid`, `too_long`, `taken`…).
    pub code: String,
    /// A sentence a person can act on.
    pub message: String,
}

/// An accumulator of [`FieldError`]s.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validation {
    errors: Vec<FieldError>,
}

impl Validation {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem with `field`.
    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError { field: field.into(), code: code.into(), message: message.into() });
    }

    /// Runs a parser and records its error under `field`; returns the value when valid.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, "invalid", e.to_string());
                None
            }
        }
    }

    /// Records `required` when `value` is blank; returns the trimmed value otherwise.
    pub fn required(&mut self, field: &str, value: &str, max_len: usize) -> Option<String> {
        let v = value.trim();
        if v.is_empty() {
            self.add(field, "required", "This field is required.");
            None
        } else if v.chars().count() > max_len {
            self.add(field, "too_long", format!("Use at most {max_len} characters."));
            None
        } else {
            Some(v.to_string())
        }
    }

    /// True when nothing was recorded.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The recorded errors.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Ok(()) when empty, otherwise the errors.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() { Ok(()) } else { Err(self.errors) }
    }
}
