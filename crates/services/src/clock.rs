//! Time comes from an injected clock, never from SQL `now()` or scattered system calls,
//! so tests can move time and every instant written in one use case agrees.

use jiff::Timestamp;

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    /// Now, truncated to microseconds (what both databases store).
    fn now(&self) -> Timestamp;
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        truncate_to_micros(Timestamp::now())
    }
}

/// Drops sub-microsecond precision.
pub fn truncate_to_micros(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}
