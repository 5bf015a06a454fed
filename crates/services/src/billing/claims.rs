//! Insurance and Medicare claims: one per line with an item number and a rebate, made
//! when the invoice is issued. Billing staff send them, then record the payer's answer;
//! the patient's out-of-pocket share follows the outcome (see [`super::owing_split`]).

use super::payments::billing_error;
use super::{Claim, claim_view, money};
use crate::Services;
use crate::actor::Actor;
use crate::error::{ServiceError, ServiceResult};
use crate::users::{Page, PageRequest};
use praxis_domain::billing::{ClaimAction, ClaimStatus};
use praxis_domain::{ClaimId, Permission};
use praxis_store::billing::claims::{self, ClaimUpdate};
use serde::Deserialize;

/// A step in a claim's life as staff send it.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct ClaimStep {
    /// `submit`, `approve`, `reject` or `withdraw`.
    pub action: ClaimAction,
    /// For `approve`: what the payer accepted, minor units (default: all that was claimed).
    pub approved_minor: Option<i64>,
    /// For `reject`: the payer's reason (required).
    pub reason: Option<String>,
    /// The payer's reference (claim or transaction number).
    pub reference: Option<String>,
}

/// Filters for the claims list.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClaimQuery {
    /// `pending`, `submitted`, `approved`, `rejected` or `withdrawn`.
    pub status: Option<String>,
    /// Page from 1.
    pub page: Option<i64>,
    /// Page size (default 50, at most 200).
    pub per_page: Option<i64>,
}

impl Services {
    /// Claims, oldest first (billing staff and administrators).
    pub async fn list_claims(&self, actor: &Actor, q: &ClaimQuery) -> ServiceResult<Page<Claim>> {
        self.authorize_all(actor, Permission::ManageBilling)?;
        let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(ClaimStatus::parse(s).ok_or_else(|| {
                ServiceError::invalid("status", "invalid", "Use pending, submitted, approved, rejected or withdrawn.")
            })?),
            None => None,
        };
        let page = PageRequest::new(q.page, q.per_page);
        let (rows, total) =
            claims::list(self.db(), status.map(ClaimStatus::as_str), page.per_page, page.offset()).await?;
        let items = rows.iter().map(claim_view).collect::<ServiceResult<Vec<_>>>()?;
        Ok(Page { items, total, page: page.page, per_page: page.per_page })
    }

    /// One claim (billing staff and administrators).
    pub async fn get_claim(&self, actor: &Actor, id: ClaimId) -> ServiceResult<Claim> {
        self.authorize_all(actor, Permission::ManageBilling)?;
        let row = claims::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Claim" })?;
        claim_view(&row)
    }

    /// Moves a claim on: sent, approved (perhaps for less), rejected with the payer's
    /// reason, or withdrawn. A refusal is audited.
    #[tracing::instrument(skip_all)]
    pub async fn step_claim(&self, actor: &Actor, id: ClaimId, step: ClaimStep) -> ServiceResult<Claim> {
        let result = self.step_claim_checked(actor, id, step).await;
        match result {
            Err(e) if e.refusal_reason().is_some() => {
                let why = format!("refused: {}", e.refusal_reason().unwrap_or_default());
                Err(self.denied(actor, "claim.refused", "claim", Some(id.to_string()), &why, e).await)
            }
            r => r,
        }
    }

    async fn step_claim_checked(&self, actor: &Actor, id: ClaimId, step: ClaimStep) -> ServiceResult<Claim> {
        self.authorize_all(actor, Permission::ManageBilling)?;
        let reference = step.reference.as_deref().map(str::trim).map(String::from);
        if reference.as_ref().is_some_and(|r| r.chars().count() > 100) {
            return Err(ServiceError::invalid(
                "reference",
                "too_long",
                "Keep the payer's reference to 100 characters.",
            ));
        }
        let reason = step.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(String::from);
        if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
            return Err(ServiceError::invalid("reason", "too_long", "Keep the reason to 500 characters."));
        }
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let row = claims::get_for_update(&mut tx, id).await?.ok_or(ServiceError::NotFound { what: "Claim" })?;
        let status = ClaimStatus::parse(&row.status)
            .ok_or_else(|| ServiceError::Internal(format!("claim status {:?}", row.status)))?;
        let next = status.next(step.action).map_err(|e| billing_error("action", e))?;
        let mut u = ClaimUpdate {
            status: next.as_str(),
            approved_minor: row.approved_minor,
            reason: row.reason.clone(),
            reference: reference.unwrap_or_else(|| row.reference.clone()),
            submitted_at: row.submitted_at.map(|t| t.0),
            decided_at: row.decided_at.map(|t| t.0),
        };
        match step.action {
            ClaimAction::Submit => {
                u.submitted_at = Some(now);
                u.reason = None;
                u.approved_minor = None;
                u.decided_at = None;
            }
            ClaimAction::Approve => {
                let approved = step.approved_minor.unwrap_or(row.claimed_minor);
                if !(0..=row.claimed_minor).contains(&approved) {
                    return Err(ServiceError::invalid(
                        "approved_minor",
                        "out_of_range",
                        format!(
                            "The approved benefit is between 0 and the {} claimed.",
                            money(row.claimed_minor, &row.currency)
                        ),
                    ));
                }
                u.approved_minor = Some(approved);
                u.decided_at = Some(now);
            }
            ClaimAction::Reject => {
                let Some(r) = reason.clone() else {
                    return Err(ServiceError::invalid(
                        "reason",
                        "required",
                        "Give the payer's reason for rejecting the claim.",
                    ));
                };
                u.reason = Some(r);
                u.approved_minor = None;
                u.decided_at = Some(now);
            }
            ClaimAction::Withdraw => {
                u.reason = reason.clone().or(u.reason);
                u.decided_at = Some(now);
            }
        }
        claims::update(&mut tx, id, &u, now).await?;
        tx.audit(self.audit_entry(
            actor,
            &format!("claim.{}", next.as_str()),
            "claim",
            Some(id.to_string()),
            match step.action {
                ClaimAction::Approve => format!(
                    "item {} on invoice {}: approved {} of {}",
                    row.item_number,
                    row.invoice_id,
                    money(u.approved_minor.unwrap_or(0), &row.currency),
                    money(row.claimed_minor, &row.currency)
                ),
                _ => format!("item {} on invoice {}: {}", row.item_number, row.invoice_id, next.label().to_lowercase()),
            },
        ));
        tx.commit().await?;
        let row = claims::get(self.db(), id).await?.ok_or(ServiceError::NotFound { what: "Claim" })?;
        claim_view(&row)
    }
}
