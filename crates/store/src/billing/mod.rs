//! Billing's SQL: clinics' billing details and services' billing terms ([`settings`]),
//! invoices and their lines ([`invoices`]), payments, receipts and refunds
//! ([`payments`]), online payments and processed webhook events ([`online`]),
//! insurance/Medicare claims ([`claims`]), referrals ([`referrals`]) and the money
//! reports ([`reports`]).
//!
//! An issued invoice's figures never change: triggers on both backends refuse any update
//! of its number, totals, dates, patient or lines, and any delete, whatever the caller
//! does. Money columns are `BIGINT` minor units.

pub mod claims;
pub mod dashboard;
pub mod invoices;
pub mod online;
pub mod payments;
pub mod referrals;
pub mod reports;
pub mod settings;
