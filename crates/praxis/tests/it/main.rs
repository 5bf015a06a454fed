//! The one integration-test binary. Every test starts the real server on 127.0.0.1:0
//! against its own database: SQLite by default, PostgreSQL when
//! `PRAXIS_TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod auth;
mod backups;
mod backups_cli;
mod billing;
mod billing_online;
mod cli;
mod clinical;
mod documents;
mod fhir;
mod forms;
mod http;
mod instances;
mod integrations;
mod notifications;
mod notifications_workers;
mod patients;
mod permissions;
mod privacy;
mod privacy_documents_forms;
mod races;
mod replies;
mod scheduling_api;
mod schema;
mod series_waitlist;
mod slot_scope;
mod two_factor;
mod web;
mod web_billing;
mod web_billing_portal;
mod web_calendar;
mod web_documents_forms;
mod web_patients;
mod web_portal;
mod web_setup;

pub use praxis_testkit::*;
