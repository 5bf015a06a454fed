//! Latency summaries (nearest-rank percentiles) and process CPU time.

use std::time::Duration;

/// Percentiles of a set of latency samples.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Median.
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest sample.
    pub max: Duration,
    /// Arithmetic mean.
    pub mean: Duration,
}

impl Summary {
    /// Summarises `samples` (any order). Percentiles use the nearest-rank method: the
    /// p-th percentile is the smallest sample with at least p % of samples at or below it.
    pub fn of(mut samples: Vec<Duration>) -> Summary {
        if samples.is_empty() {
            return Summary::default();
        }
        samples.sort_unstable();
        let n = samples.len();
        let rank = |p: f64| -> Duration {
            let r = ((p / 100.0) * n as f64).ceil() as usize;
            samples[r.clamp(1, n) - 1]
        };
        let total: Duration = samples.iter().sum();
        Summary { n, p50: rank(50.0), p95: rank(95.0), p99: rank(99.0), max: samples[n - 1], mean: total / n as u32 }
    }
}

/// Milliseconds with two decimals (`0.43`).
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// An integer with thousands separators (`12,345`).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// CPU time (user + system) a process has used so far, from `/proc/<pid>/stat`.
/// `None` when the process is gone or the file cannot be read (not Linux).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_proc_stat_cpu(&stat)
}

/// CPU time of this process.
pub fn own_cpu_time() -> Option<Duration> {
    cpu_time(std::process::id())
}

/// CPU time the whole machine has spent busy (all CPUs: user, nice, system, irq,
/// softirq, steal), from the first line of `/proc/stat`.
pub fn machine_busy_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal …
    let busy = v.first()? + v.get(1)? + v.get(2)? + v.get(5)? + v.get(6)? + v.get(7).unwrap_or(&0);
    Some(Duration::from_millis(busy * 10))
}

/// utime + stime from the text of `/proc/<pid>/stat` (fields 14 and 15, in clock ticks
/// of 1/100 s — `USER_HZ` is 100 on every Linux architecture this runs on).
fn parse_proc_stat_cpu(stat: &str) -> Option<Duration> {
    // The command name (field 2) may contain spaces; fields after it follow the last ')'.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `fields[0]` is field 3 (state), so field k is `fields[k - 3]`.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// CPU used by a process between two readings.
pub fn cpu_between(before: Option<Duration>, after: Option<Duration>) -> Option<Duration> {
    Some(after?.saturating_sub(before?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_list(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|m| Duration::from_millis(*m)).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let s = Summary::of(ms_list(&(1..=100).rev().collect::<Vec<_>>()));
        assert_eq!(s.n, 100);
        assert_eq!(s.p50, Duration::from_millis(50));
        assert_eq!(s.p95, Duration::from_millis(95));
        assert_eq!(s.p99, Duration::from_millis(99));
        assert_eq!(s.max, Duration::from_millis(100));
        assert_eq!(s.mean, Duration::from_micros(50_500));
    }

    #[test]
    fn small_and_empty_sets() {
        let one = Summary::of(ms_list(&[7]));
        let seven = Duration::from_millis(7);
        assert_eq!((one.p50, one.p95, one.p99, one.max), (seven, seven, seven, seven));
        assert_eq!(Summary::of(Vec::new()), Summary::default());
        let three = Summary::of(ms_list(&[3, 1, 2]));
        assert_eq!(three.p50, Duration::from_millis(2));
        assert_eq!(three.p95, Duration::from_millis(3));
    }

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(ms(Duration::from_micros(1234)), "1.23");
    }

    #[test]
    fn proc_stat_with_spaces_in_the_name() {
        let line = "4242 (praxis serve) S 1 4242 4242 0 -1 4194560 500 0 0 0 123 45 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_proc_stat_cpu(line), Some(Duration::from_millis(1680)));
        assert_eq!(parse_proc_stat_cpu("garbage"), None);
        assert!(own_cpu_time().is_some());
    }
}
