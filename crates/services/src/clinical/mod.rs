//! Clinical records: who may read and write them, notes and assessments with signing and
//! amendments, and re-sealing everything under a new key.
//!
//! Privacy rules, enforced here for every route and page:
//! - providers read and write the clinical record only of patients they treat (an
//!   appointment, past or future, or a place on the care team);
//! - staff see demographics and scheduling, never clinical content;
//! - patients see their own record and the documents shared with them, not notes;
//! - administrators may read everything (and write none of it).
//!
//! Every read of clinical content writes an audit row.

mod access;
mod keys;
mod notes;

pub use keys::RotationReport;
pub use notes::{Amendment, AssessmentKind, Attendance, NewNote, Note, NoteContent, NoteKind, NoteUse, Score};
