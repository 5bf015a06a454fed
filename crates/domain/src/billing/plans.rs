//! Referrals and funded plans: a referral is valid from its date to its expiry, and a
//! funded plan (e.g. a mental-health treatment plan's 10 sessions a calendar year) caps
//! the sessions it pays for. Sessions count when their appointment is completed; booked
//! sessions still to come count against what is left, so the booking that would go past
//! the cap is the one that warns.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Over which span the session cap counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CapPeriod {
    /// The cap starts again each calendar year (Medicare's mental-health sessions).
    CalendarYear,
    /// The cap covers the whole referral.
    Referral,
}

impl CapPeriod {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CapPeriod::CalendarYear => "calendar_year",
            CapPeriod::Referral => "referral",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<CapPeriod> {
        match s.trim() {
            "calendar_year" => Some(CapPeriod::CalendarYear),
            "referral" => Some(CapPeriod::Referral),
            _ => None,
        }
    }
    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            CapPeriod::CalendarYear => "per calendar year",
            CapPeriod::Referral => "for the whole referral",
        }
    }
}

/// What a referral allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanTerms {
    /// Valid from.
    pub referral_date: Date,
    /// Valid until (inclusive), if it expires.
    pub expiry_date: Option<Date>,
    /// Most sessions it pays for in a period, if capped.
    pub session_cap: Option<i64>,
    /// The span the cap counts over.
    pub period: CapPeriod,
}

/// A reason to tell staff before they book or bill under a referral.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PlanWarning {
    /// The date is after the referral's expiry.
    Expired {
        /// The expiry.
        #[schema(value_type = String, format = Date)]
        expiry: Date,
    },
    /// The date is before the referral starts.
    NotYetValid {
        /// The referral date.
        #[schema(value_type = String, format = Date)]
        from: Date,
    },
    /// The referral expires within 30 days of the date.
    ExpiresSoon {
        /// Days left.
        days: i64,
    },
    /// Every capped session of the period is used or booked.
    CapReached {
        /// The cap.
        cap: i64,
    },
    /// Only a few capped sessions are left.
    FewLeft {
        /// Sessions left (after those already booked).
        remaining: i64,
    },
}

impl PlanWarning {
    /// A sentence for staff.
    pub fn message(&self) -> String {
        match self {
            PlanWarning::Expired { expiry } => {
                format!("The referral expired on {}; ask for a new referral before this session.", expiry)
            }
            PlanWarning::NotYetValid { from } => format!("The referral is valid only from {from}."),
            PlanWarning::ExpiresSoon { days: 0 } => "The referral expires today.".into(),
            PlanWarning::ExpiresSoon { days: 1 } => "The referral expires tomorrow.".into(),
            PlanWarning::ExpiresSoon { days } => format!("The referral expires in {days} days."),
            PlanWarning::CapReached { cap } => {
                format!("All {cap} funded sessions of this period are used or booked; further sessions are not funded.")
            }
            PlanWarning::FewLeft { remaining: 1 } => "Only 1 funded session is left in this period.".into(),
            PlanWarning::FewLeft { remaining } => format!("Only {remaining} funded sessions are left in this period."),
        }
    }
}

/// Where a referral stands on a date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlanStanding {
    /// Completed sessions counted in the period.
    pub used: i64,
    /// Booked sessions still to come in the period.
    pub booked: i64,
    /// The cap, if any.
    pub cap: Option<i64>,
    /// cap − used − booked (never below 0), if capped.
    pub remaining: Option<i64>,
    /// False when the date is outside the referral's validity.
    pub valid: bool,
    /// What staff should be told.
    pub warnings: Vec<PlanWarning>,
}

/// How the referral stands on `on` (the date of the session being booked or billed, or
/// today): `completed` and `booked` are the local dates of the patient's completed and
/// still-to-come sessions that fall under the referral. Only those inside the validity
/// and the cap period of `on` count. `exclude_one_booked` leaves out one booked session on
/// `on` (the session being billed is itself booked).
pub fn plan_standing(t: &PlanTerms, completed: &[Date], booked: &[Date], on: Date) -> PlanStanding {
    let in_period = |d: &Date| {
        *d >= t.referral_date
            && t.expiry_date.is_none_or(|e| *d <= e)
            && match t.period {
                CapPeriod::CalendarYear => d.year() == on.year(),
                CapPeriod::Referral => true,
            }
    };
    let used = completed.iter().filter(|d| in_period(d)).count() as i64;
    let booked_n = booked.iter().filter(|d| in_period(d)).count() as i64;
    let mut warnings = Vec::new();
    let mut valid = true;
    if on < t.referral_date {
        valid = false;
        warnings.push(PlanWarning::NotYetValid { from: t.referral_date });
    }
    if let Some(e) = t.expiry_date {
        if on > e {
            valid = false;
            warnings.push(PlanWarning::Expired { expiry: e });
        } else if let Ok(span) = e.since(on) {
            let days = i64::from(span.get_days());
            if days <= 30 {
                warnings.push(PlanWarning::ExpiresSoon { days });
            }
        }
    }
    let remaining = t.session_cap.map(|cap| (cap - used - booked_n).max(0));
    if let (Some(cap), Some(left)) = (t.session_cap, remaining) {
        if left == 0 {
            warnings.push(PlanWarning::CapReached { cap });
        } else if left <= 2 {
            warnings.push(PlanWarning::FewLeft { remaining: left });
        }
    }
    PlanStanding { used, booked: booked_n, cap: t.session_cap, remaining, valid, warnings }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn mhcp() -> PlanTerms {
        PlanTerms {
            referral_date: date(2027, 1, 10),
            expiry_date: Some(date(2028, 1, 9)),
            session_cap: Some(10),
            period: CapPeriod::CalendarYear,
        }
    }

    #[test]
    fn completed_and_booked_sessions_count_against_the_cap() {
        let done: Vec<Date> = (1..=7).map(|m| date(2027, m, 15)).collect();
        let s = plan_standing(&mhcp(), &done, &[date(2027, 9, 1)], date(2027, 8, 20));
        assert_eq!((s.used, s.booked, s.remaining), (7, 1, Some(2)));
        assert_eq!(s.warnings, vec![PlanWarning::FewLeft { remaining: 2 }]);
        let more: Vec<Date> = (1..=9).map(|m| date(2027, m, 15)).collect();
        let s = plan_standing(&mhcp(), &more, &[date(2027, 10, 1)], date(2027, 10, 1));
        assert_eq!(s.remaining, Some(0));
        assert!(s.warnings.contains(&PlanWarning::CapReached { cap: 10 }));
    }

    #[test]
    fn the_cap_starts_again_each_calendar_year() {
        let done: Vec<Date> = (1..=10).map(|d| date(2027, 12, d)).collect();
        let s = plan_standing(&mhcp(), &done, &[], date(2028, 1, 5));
        assert_eq!(s.used, 0);
        assert_eq!(s.remaining, Some(10));
        // …but the referral itself expires on 9 January 2028.
        assert!(s.warnings.contains(&PlanWarning::ExpiresSoon { days: 4 }));
        let late = plan_standing(&mhcp(), &done, &[], date(2028, 1, 10));
        assert!(!late.valid);
        assert!(late.warnings.contains(&PlanWarning::Expired { expiry: date(2028, 1, 9) }));
    }

    #[test]
    fn sessions_outside_the_referral_do_not_count() {
        let t = PlanTerms { period: CapPeriod::Referral, ..mhcp() };
        let s = plan_standing(&t, &[date(2027, 1, 9), date(2027, 1, 10), date(2028, 1, 10)], &[], date(2027, 6, 1));
        assert_eq!(s.used, 1);
        let early = plan_standing(&t, &[], &[], date(2027, 1, 1));
        assert!(!early.valid);
        let uncapped = PlanTerms { session_cap: None, expiry_date: None, ..t };
        let s = plan_standing(&uncapped, &[date(2027, 2, 1)], &[], date(2027, 3, 1));
        assert_eq!((s.remaining, s.warnings.len()), (None, 0));
    }
}
