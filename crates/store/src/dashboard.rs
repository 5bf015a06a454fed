//! Read models for the dashboard: a range of appointments reduced to what the numbers need.

use crate::codec::DbTime;
use crate::db::{Db, Where};
use crate::error::StoreResult;
use jiff::Timestamp;
use praxis_domain::{ClinicId, ProviderId};
use uuid::Uuid;

/// One appointment, reduced to what the dashboard counts.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StatRow {
    /// Start.
    pub starts_at: DbTime,
    /// End.
    pub ends_at: DbTime,
    /// Status code.
    pub status: String,
    /// Provider.
    pub provider_id: Uuid,
    /// Clinic.
    pub clinic_id: Uuid,
    /// Cancelled late.
    pub late_cancellation: bool,
}

/// Appointments starting in `[from, until)`, optionally at one clinic and/or with one
/// provider — one query for every figure on the dashboard.
pub async fn appointments_between(
    db: &Db,
    from: Timestamp,
    until: Timestamp,
    clinic: Option<ClinicId>,
    provider: Option<ProviderId>,
) -> StoreResult<Vec<StatRow>> {
    let mut w = Where::new();
    w.and(|p| format!("starts_at >= {p}"), from);
    w.and(|p| format!("starts_at < {p}"), until);
    if let Some(c) = clinic {
        w.and(|p| format!("clinic_id = {p}"), c);
    }
    if let Some(pr) = provider {
        w.and(|p| format!("provider_id = {p}"), pr);
    }
    db.fetch_all(w.query(
        "SELECT starts_at, ends_at, status, provider_id, clinic_id, late_cancellation FROM appointments",
        " ORDER BY starts_at",
    ))
    .await
}
