//! Aged receivables: money still owing on issued invoices, by how long ago the invoice
//! was issued (0–30, 31–60, 61–90 and more than 90 days).

use serde::Serialize;

/// An age band of the aged-receivables report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgeBucket {
    /// 0 to 30 days since issue.
    Days0To30,
    /// 31 to 60 days.
    Days31To60,
    /// 61 to 90 days.
    Days61To90,
    /// More than 90 days.
    Over90,
}

impl AgeBucket {
    /// Every band, youngest first.
    pub const ALL: [AgeBucket; 4] =
        [AgeBucket::Days0To30, AgeBucket::Days31To60, AgeBucket::Days61To90, AgeBucket::Over90];

    /// For people and CSV headers.
    pub fn label(self) -> &'static str {
        match self {
            AgeBucket::Days0To30 => "0–30 days",
            AgeBucket::Days31To60 => "31–60 days",
            AgeBucket::Days61To90 => "61–90 days",
            AgeBucket::Over90 => "90+ days",
        }
    }

    /// The smallest age (days) in the band; the band ends where the next begins.
    pub fn min_days(self) -> i64 {
        match self {
            AgeBucket::Days0To30 => 0,
            AgeBucket::Days31To60 => 31,
            AgeBucket::Days61To90 => 61,
            AgeBucket::Over90 => 91,
        }
    }
}

/// The band for an invoice issued `days` days ago (a future issue date counts as 0).
pub fn age_bucket(days: i64) -> AgeBucket {
    match days {
        i64::MIN..=30 => AgeBucket::Days0To30,
        31..=60 => AgeBucket::Days31To60,
        61..=90 => AgeBucket::Days61To90,
        _ => AgeBucket::Over90,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_meet_without_gaps() {
        assert_eq!(age_bucket(-3), AgeBucket::Days0To30);
        assert_eq!(age_bucket(0), AgeBucket::Days0To30);
        assert_eq!(age_bucket(30), AgeBucket::Days0To30);
        assert_eq!(age_bucket(31), AgeBucket::Days31To60);
        assert_eq!(age_bucket(60), AgeBucket::Days31To60);
        assert_eq!(age_bucket(61), AgeBucket::Days61To90);
        assert_eq!(age_bucket(90), AgeBucket::Days61To90);
        assert_eq!(age_bucket(91), AgeBucket::Over90);
        for b in AgeBucket::ALL {
            assert_eq!(age_bucket(b.min_days()), b);
        }
    }
}
