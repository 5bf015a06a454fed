//! The dashboard's figures: today, the next seven days, the last thirty days' no-show and
//! cancellation rates, each provider's utilisation of their available time, and money:
//! revenue invoiced and payments received this month, and what is owing now.
//!
//! Every appointment figure is computed from one query of appointments plus the
//! availability already stored, scoped like the calendar: staff and administrators see the
//! clinic (or every clinic), providers see their own practice. The money figures follow
//! the billing reports' permission: staff and administrators see all, a provider their own
//! work, anyone else none.

use crate::Services;
use crate::actor::Actor;
use crate::catalog::Clinic;
use crate::error::{ServiceError, ServiceResult};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use praxis_domain::permissions::Scope;
use praxis_domain::slots::expand_windows;
use praxis_domain::{AppointmentStatus, ClinicId, Permission, ProviderId, ServiceRules, SlotInput};
use praxis_store::billing::reports::{ReportScope, RevenueGroup};
use praxis_store::{availability, catalog, dashboard};
use serde::Serialize;
use std::collections::BTreeMap;

/// A count for one status.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StatusCount {
    /// The status.
    pub status: AppointmentStatus,
    /// How many.
    pub count: i64,
}

/// Appointments on one day, by outcome.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct DayCounts {
    /// Local date.
    #[schema(value_type = String, format = Date)]
    pub date: Option<Date>,
    /// Completed (or in progress / checked in).
    pub attended: i64,
    /// Booked and still to come.
    pub booked: i64,
    /// No-shows.
    pub no_show: i64,
    /// Cancelled.
    pub cancelled: i64,
}

impl DayCounts {
    /// Every appointment that day.
    pub fn total(&self) -> i64 {
        self.attended + self.booked + self.no_show + self.cancelled
    }
}

/// One provider's figures.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderFigures {
    /// The provider.
    pub provider_id: ProviderId,
    /// Name.
    pub name: String,
    /// Calendar colour.
    pub colour: String,
    /// Appointments that were due in the last 30 days (not cancelled).
    pub due_30: i64,
    /// Of those, no-shows.
    pub no_shows_30: i64,
    /// No-show rate in tenths of a percent (125 = 12.5 %).
    pub no_show_permille: i64,
    /// Minutes booked in the next 7 days.
    pub booked_minutes_7: i64,
    /// Minutes available in the next 7 days.
    pub available_minutes_7: i64,
    /// Booked ÷ available in tenths of a percent.
    pub utilisation_permille: i64,
}

/// Everything on the dashboard.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    /// The clinic shown, if one was chosen.
    pub clinic: Option<Clinic>,
    /// The zone of the dates.
    pub time_zone: String,
    /// Today (local).
    #[schema(value_type = String, format = Date)]
    pub today: Date,
    /// Today's appointments by status.
    pub today_by_status: Vec<StatusCount>,
    /// The next seven days, from today.
    pub next_7_days: Vec<DayCounts>,
    /// The last thirty days, to yesterday.
    pub last_30_days: Vec<DayCounts>,
    /// No-show rate over the last 30 days, in tenths of a percent.
    pub no_show_permille_30: i64,
    /// Cancellation rate over the last 30 days, in tenths of a percent.
    pub cancellation_permille_30: i64,
    /// Late cancellations in the last 30 days.
    pub late_cancellations_30: i64,
    /// Per provider.
    pub providers: Vec<ProviderFigures>,
    /// Revenue and what is owing; `None` for those who may not see billing reports.
    pub money: Option<MoneyFigures>,
}

/// Money in one currency.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct CurrencyFigures {
    /// Currency.
    pub currency: String,
    /// Invoiced this month: totals of issued invoices (not drafts or void ones) by issue date.
    pub invoiced_minor: i64,
    /// Received this month, net of refunds.
    pub received_minor: i64,
    /// Owing now on open invoices.
    pub owing_minor: i64,
    /// Of that, overdue.
    pub overdue_minor: i64,
    /// Open invoices.
    pub open_invoices: i64,
}

/// One provider's money in one currency.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct ProviderMoney {
    /// Name ("No provider" for items without one).
    pub name: String,
    /// Currency.
    pub currency: String,
    /// Invoiced this month (their lines of issued invoices).
    pub invoiced_minor: i64,
    /// Owing now on open invoices of theirs.
    pub owing_minor: i64,
}

/// The dashboard's money figures.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MoneyFigures {
    /// The month so far: its first day…
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// …to today.
    #[schema(value_type = String, format = Date)]
    pub until: Date,
    /// Per currency.
    pub currencies: Vec<CurrencyFigures>,
    /// Per provider and currency, the largest first.
    pub providers: Vec<ProviderMoney>,
}

/// A provider key as text on either backend: hex without dashes, lower case.
fn key_of(text: &str) -> String {
    text.chars().filter(|c| *c != '-').collect::<String>().to_ascii_lowercase()
}

/// `part / whole` in tenths of a percent, rounded half up; 0 when `whole` is 0.
pub fn permille(part: i64, whole: i64) -> i64 {
    if whole <= 0 { 0 } else { (part * 2000 + whole) / (2 * whole) }
}

fn minutes(a: Timestamp, b: Timestamp) -> i64 {
    b.duration_since(a).as_secs() / 60
}

impl Services {
    /// The dashboard for one clinic (or all) as the actor may see it.
    pub async fn dashboard(&self, actor: &Actor, clinic: Option<ClinicId>) -> ServiceResult<Dashboard> {
        let scope = actor.require(Permission::ViewAppointments)?;
        if actor.roles.is_patient_only() {
            return Err(ServiceError::Forbidden);
        }
        let own_provider = match scope {
            Scope::All => None,
            Scope::Own => Some(ProviderId(self.actor_provider_id(actor).await?.ok_or(ServiceError::Forbidden)?)),
        };
        let clinic = match clinic {
            Some(c) => Some(self.get_clinic(actor, c).await?),
            None => None,
        };
        let zone = clinic.as_ref().map(Clinic::zone).unwrap_or_else(|| self.settings().display_zone.clone());
        let now = self.now();
        let today = now.to_zoned(zone.clone()).date();
        let day = SignedDuration::from_hours(24);
        let start_of = |d: Date| d.to_zoned(zone.clone()).map(|z| z.timestamp()).unwrap_or(now);
        let from_30 = today.checked_sub(day * 30).unwrap_or(today);
        let until_7 = today.checked_add(day * 7).unwrap_or(today);
        let rows = dashboard::appointments_between(
            self.db(),
            start_of(from_30),
            start_of(until_7),
            clinic.as_ref().map(|c| c.id),
            own_provider,
        )
        .await?;

        let mut today_by: BTreeMap<AppointmentStatus, i64> = BTreeMap::new();
        let mut past: BTreeMap<Date, DayCounts> = BTreeMap::new();
        let mut ahead: BTreeMap<Date, DayCounts> = BTreeMap::new();
        let mut per_provider: BTreeMap<uuid::Uuid, (i64, i64, i64)> = BTreeMap::new();
        let (mut due, mut no_shows, mut cancelled, mut late) = (0, 0, 0, 0);
        for r in &rows {
            let Ok(status) = r.status.parse::<AppointmentStatus>() else { continue };
            if matches!(status, AppointmentStatus::Held | AppointmentStatus::Expired) {
                continue;
            }
            let date = r.starts_at.0.to_zoned(zone.clone()).date();
            let bucket = if date < today { past.entry(date).or_default() } else { ahead.entry(date).or_default() };
            bucket.date = Some(date);
            match status {
                AppointmentStatus::Completed | AppointmentStatus::InProgress | AppointmentStatus::CheckedIn => {
                    bucket.attended += 1
                }
                AppointmentStatus::NoShow => bucket.no_show += 1,
                AppointmentStatus::Cancelled => bucket.cancelled += 1,
                _ => bucket.booked += 1,
            }
            if date == today {
                *today_by.entry(status).or_default() += 1;
            }
            let p = per_provider.entry(r.provider_id).or_default();
            if date < today {
                if status == AppointmentStatus::Cancelled {
                    cancelled += 1;
                    late += i64::from(r.late_cancellation);
                } else {
                    due += 1;
                    p.0 += 1;
                    if status == AppointmentStatus::NoShow {
                        no_shows += 1;
                        p.1 += 1;
                    }
                }
            } else if status.occupies_time() || status == AppointmentStatus::Completed {
                p.2 += minutes(r.starts_at.0, r.ends_at.0);
            }
        }
        let days = |from: Date, n: i64, map: &BTreeMap<Date, DayCounts>| -> Vec<DayCounts> {
            (0..n)
                .filter_map(|i| from.checked_add(day * i as i32).ok())
                .map(|d| map.get(&d).cloned().unwrap_or(DayCounts { date: Some(d), ..DayCounts::default() }))
                .collect()
        };

        // Available minutes in the next seven days, from the stored availability.
        let providers = catalog::providers(self.db()).await?;
        let clinics: BTreeMap<uuid::Uuid, TimeZone> =
            catalog::clinics(self.db()).await?.into_iter().map(|c| (c.id, Clinic::from_row(c).zone())).collect();
        let windows = availability::all_windows(self.db()).await?;
        let exceptions = availability::all_exceptions(self.db(), today, until_7).await?;
        let closures = availability::closures(self.db(), None, Some(today), Some(until_7)).await?;
        let mut figures = Vec::new();
        for p in providers.iter().filter(|p| p.active) {
            if own_provider.is_some_and(|o| o.0 != p.id) {
                continue;
            }
            let mut available = 0;
            for (clinic_id, zone) in &clinics {
                if clinic.as_ref().is_some_and(|c| c.id.0 != *clinic_id) {
                    continue;
                }
                let weekly: Vec<_> = windows
                    .iter()
                    .filter(|w| w.provider_id == p.id && w.clinic_id == *clinic_id)
                    .map(crate::availability::window_of)
                    .collect();
                if weekly.is_empty() {
                    continue;
                }
                let input = SlotInput {
                    time_zone: zone.clone(),
                    weekly,
                    exceptions: exceptions
                        .iter()
                        .filter(|e| e.provider_id == p.id && e.clinic_id.is_none_or(|c| c == *clinic_id))
                        .map(crate::availability::exception_of)
                        .collect(),
                    closures: closures
                        .iter()
                        .filter(|c| c.clinic_id == *clinic_id)
                        .map(crate::availability::closure_of)
                        .collect(),
                    busy: Vec::new(),
                    rules: ServiceRules::simple(SignedDuration::from_mins(15)),
                    from: today,
                    until: today.checked_add(day * 6).unwrap_or(today),
                    now,
                };
                let mut d = today;
                for _ in 0..7 {
                    available += expand_windows(&input, d).iter().map(|(a, b)| minutes(*a, *b)).sum::<i64>();
                    d = d.tomorrow().unwrap_or(d);
                }
            }
            let (due_p, ns_p, booked_p) = per_provider.get(&p.id).copied().unwrap_or_default();
            if available == 0 && due_p == 0 && booked_p == 0 {
                continue;
            }
            figures.push(ProviderFigures {
                provider_id: ProviderId(p.id),
                name: p.full_name.clone(),
                colour: p.calendar_colour.clone(),
                due_30: due_p,
                no_shows_30: ns_p,
                no_show_permille: permille(ns_p, due_p),
                booked_minutes_7: booked_p,
                available_minutes_7: available,
                utilisation_permille: permille(booked_p, available).min(1000),
            });
        }
        let money = self.dashboard_money(actor, clinic.as_ref().map(|c| c.id), &zone, today).await?;
        Ok(Dashboard {
            money,
            time_zone: zone.iana_name().unwrap_or("UTC").to_string(),
            clinic,
            today,
            today_by_status: today_by.into_iter().map(|(status, count)| StatusCount { status, count }).collect(),
            next_7_days: days(today, 7, &ahead),
            last_30_days: days(from_30, 30, &past),
            no_show_permille_30: permille(no_shows, due),
            cancellation_permille_30: permille(cancelled, due + cancelled),
            late_cancellations_30: late,
            providers: figures,
        })
    }
}

impl Services {
    /// Revenue invoiced and payments received this month (to `today`, local to `zone`) and
    /// what is owing now, per currency and per provider; `None` for those who may not see
    /// the billing reports. A provider sees only their own work.
    async fn dashboard_money(
        &self,
        actor: &Actor,
        clinic: Option<ClinicId>,
        zone: &TimeZone,
        today: Date,
    ) -> ServiceResult<Option<MoneyFigures>> {
        let provider = match actor.scope(Permission::ViewBillingReports) {
            None => return Ok(None),
            Some(Scope::All) => None,
            Some(Scope::Own) => match self.actor_provider_id(actor).await? {
                Some(p) => Some(ProviderId(p)),
                None => return Ok(None),
            },
        };
        let from = today.first_of_month();
        let scope = ReportScope { from: Some(from), until: Some(today), clinic_id: clinic, provider_id: provider };
        let revenue = praxis_store::billing::reports::revenue(self.db(), &scope, RevenueGroup::Provider).await?;
        let start = from.to_zoned(zone.clone()).map(|z| z.timestamp()).ok();
        let end = today.tomorrow().ok().and_then(|d| d.to_zoned(zone.clone()).ok()).map(|z| z.timestamp());
        let received =
            praxis_store::billing::reports::payments_by_method(self.db(), start, end, clinic, provider).await?;
        let owing = praxis_store::billing::dashboard::owing_by_provider(self.db(), clinic, provider).await?;

        let mut currencies: Vec<CurrencyFigures> = Vec::new();
        fn entry<'a>(list: &'a mut Vec<CurrencyFigures>, currency: &str) -> &'a mut CurrencyFigures {
            let i = match list.iter().position(|c| c.currency == currency) {
                Some(i) => i,
                None => {
                    list.push(CurrencyFigures { currency: currency.to_string(), ..CurrencyFigures::default() });
                    list.len() - 1
                }
            };
            &mut list[i]
        }
        for r in &revenue {
            entry(&mut currencies, &r.currency).invoiced_minor += r.total_minor;
        }
        for r in &received {
            entry(&mut currencies, &r.currency).received_minor += r.received_minor - r.refunded_minor;
        }
        for r in &owing {
            let c = entry(&mut currencies, &r.currency);
            c.owing_minor += r.owing_minor;
            c.overdue_minor += r.overdue_minor;
            c.open_invoices += r.invoices;
        }
        currencies.sort_by(|a, b| a.currency.cmp(&b.currency));

        // Per provider: revenue rows are keyed by the provider's id as text, owing rows by id.
        let mut providers: Vec<(String, ProviderMoney)> = Vec::new();
        fn row<'a>(
            list: &'a mut Vec<(String, ProviderMoney)>,
            key: String,
            name: &str,
            currency: &str,
        ) -> &'a mut ProviderMoney {
            let i = match list.iter().position(|(k, p)| *k == key && p.currency == currency) {
                Some(i) => i,
                None => {
                    let p = ProviderMoney {
                        name: name.to_string(),
                        currency: currency.to_string(),
                        ..ProviderMoney::default()
                    };
                    list.push((key, p));
                    list.len() - 1
                }
            };
            &mut list[i].1
        }
        for r in &revenue {
            row(&mut providers, key_of(&r.key), &r.label, &r.currency).invoiced_minor += r.total_minor;
        }
        for r in &owing {
            let key = r.provider_id.map(|u| u.simple().to_string()).unwrap_or_default();
            let name = r.provider_name.as_deref().unwrap_or("No provider");
            row(&mut providers, key, name, &r.currency).owing_minor += r.owing_minor;
        }
        let mut providers: Vec<ProviderMoney> = providers.into_iter().map(|(_, p)| p).collect();
        providers.sort_by(|a, b| {
            (a.currency.as_str(), -(a.invoiced_minor + a.owing_minor), a.name.as_str()).cmp(&(
                b.currency.as_str(),
                -(b.invoiced_minor + b.owing_minor),
                b.name.as_str(),
            ))
        });
        Ok(Some(MoneyFigures { from, until: today, currencies, providers }))
    }
}

#[cfg(test)]
mod tests {
    use super::{key_of, permille};

    #[test]
    fn provider_keys_match_across_backends() {
        let id = uuid::Uuid::new_v4();
        assert_eq!(key_of(&id.to_string()), id.simple().to_string(), "PostgreSQL's text form");
        assert_eq!(key_of(&id.simple().to_string().to_uppercase()), id.simple().to_string(), "SQLite's hex");
    }
    use proptest::prelude::*;

    #[test]
    fn permille_rounds_half_up_and_handles_zero() {
        assert_eq!(permille(0, 0), 0);
        assert_eq!(permille(1, 8), 125);
        assert_eq!(permille(1, 3), 333);
        assert_eq!(permille(2, 3), 667);
        assert_eq!(permille(5, 5), 1000);
    }

    proptest! {
        #[test]
        fn permille_is_within_half_a_unit(part in 0i64..100_000, whole in 1i64..100_000) {
            let p = part.min(whole);
            let exact = p as f64 * 1000.0 / whole as f64;
            prop_assert!((permille(p, whole) as f64 - exact).abs() <= 0.5 + 1e-9);
        }
    }
}
