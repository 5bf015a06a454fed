//! The Markdown report, ready to paste into BENCHMARKS.md.

use crate::Measured;
use crate::seed::Seeded;
use crate::stats::{ms, thousands};
use std::fmt::Write;
use std::time::Duration;

/// Booking throughput goal (bookings per second).
pub const BOOKING_GOAL: f64 = 2500.0;
/// Booking rate as a share of the raw commit rate, goal.
pub const RATIO_GOAL: f64 = 0.5;

/// Facts about the run printed above the tables.
pub struct Context {
    /// "SQLite" or "PostgreSQL".
    pub engine: &'static str,
    /// Engine version and durability settings.
    pub database: String,
    /// The server binary.
    pub binary: String,
    /// Logical CPUs.
    pub cores: usize,
    /// Memory.
    pub memory_gib: f64,
    /// When the report was made.
    pub when: String,
    /// Length of each raw-commit measurement.
    pub raw_seconds: f64,
    /// Length of the booking phase.
    pub booking_seconds: f64,
    /// 1-minute load average when the run started and when it ended.
    pub load_average: (f64, f64),
    /// What the scale options added (empty without them).
    pub scale: String,
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**not met**" }
}

fn share(x: Option<f64>) -> String {
    x.map(|x| format!("{:.0} %", x * 100.0)).unwrap_or_else(|| "n/a".into())
}

fn cpu(d: Option<Duration>) -> String {
    d.map(|d| format!("{} ms", ms(d))).unwrap_or_else(|| "n/a".into())
}

/// Page-size rule of the UI: no page over 100 KB before images.
pub const PAGE_BYTES_LIMIT: usize = 100 * 1024;

fn kib(bytes: f64) -> String {
    format!("{:.1} KiB", bytes / 1024.0)
}

/// The calendar pages' table: server-side render time and size of the staff calendar.
fn pages_table(o: &mut String, c: &Context, m: &Measured) {
    let postgres = c.engine == "PostgreSQL";
    let (week, pages) = &m.pages;
    let _ = writeln!(o, "Calendar pages, logged in through the web login form as staff, {week}:");
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| `GET` HTML page, sequential, one connection | requests | p50 | p95 | p99 | max | goal (p95) | appointments shown | page size (min–max) | ≤ 100 KB | server CPU / request{} | other processes |",
        if postgres { " | PostgreSQL CPU / request" } else { "" }
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|---|---|{}", if postgres { "---|" } else { "" });
    for r in pages {
        let (lo, hi, _) = r.bytes;
        let size = if lo == hi { kib(lo as f64) } else { format!("{}–{}", kib(lo as f64), kib(hi as f64)) };
        let entries = if r.entries.0 == r.entries.1 {
            r.entries.0.to_string()
        } else {
            format!("{}–{} (mean {:.0})", r.entries.0, r.entries.1, r.entries.2)
        };
        let _ = writeln!(
            o,
            "| {} ({}) | {} | {} ms | {} ms | {} ms | {} ms | ≤ {} ms: {} | {} | {} | {} | {} |{} {} |",
            r.label,
            r.rotation,
            thousands(r.latency.n as u64),
            ms(r.latency.p50),
            ms(r.latency.p95),
            ms(r.latency.p99),
            ms(r.latency.max),
            r.goal_p95.as_millis(),
            met(r.latency.p95 <= r.goal_p95),
            entries,
            size,
            if hi <= PAGE_BYTES_LIMIT { "yes" } else { "**no**" },
            cpu(r.server_cpu_per_request),
            if postgres { format!(" {} |", cpu(r.postgres_cpu_per_request)) } else { String::new() },
            share(r.other_load),
        );
    }
    let _ = writeln!(o);
}

/// Renders the report.
pub fn markdown(c: &Context, s: &Seeded, m: &Measured) -> String {
    let mut o = String::new();
    let first_clinic = s.providers.iter().filter(|p| p.clinic == s.first_clinic).count();
    let second_clinic = s.providers.len() - first_clinic;
    let _ = writeln!(o, "#### {} — {}", c.engine, c.when);
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Machine: {} cores, {:.1} GiB; 1-minute load average {:.2} at the start, {:.2} at the end (this run included). \
         Database: {}. Server: `{}` (release), default settings, `PRAXIS_LOG=warn`.",
        c.cores, c.memory_gib, c.load_average.0, c.load_average.1, c.database, c.binary
    );
    let _ = writeln!(
        o,
        "Data: {} providers ({} at clinic A, {} at clinic B; Mon–Fri 08:00–18:00, Australia/Sydney), a 50-minute \
         consultation with a 10-minute buffer on a 15-minute grid, {} patients, {} existing appointments from {} to {} \
         ({} random placements were already taken and placed again). Seeded in {:.1} s through the service layer.",
        s.providers.len(),
        first_clinic,
        second_clinic,
        thousands(s.patients.len() as u64),
        thousands(s.appointments as u64),
        s.first_day,
        s.last_day,
        s.conflicts_skipped,
        s.elapsed.as_secs_f64()
    );
    if !c.scale.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "{}", c.scale);
    }
    let _ = writeln!(o);
    let postgres = c.engine == "PostgreSQL";
    let _ = writeln!(
        o,
        "| `GET`, sequential, one connection | requests | p50 | p95 | p99 | max | goal (p95) | slots per answer | body | server CPU / request{} | other processes |",
        if postgres { " | PostgreSQL CPU / request" } else { "" }
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|---|{}", if postgres { "---|" } else { "" });
    for r in &m.searches {
        let slots = match r.slots {
            None => "–".to_string(),
            Some((lo, hi, _)) if lo == hi => thousands(lo as u64),
            Some((lo, hi, mean)) => format!("{lo}–{hi} (mean {mean:.0})"),
        };
        let body = if r.bytes_mean >= 1024.0 * 1024.0 {
            format!("{:.2} MiB", r.bytes_mean / 1024.0 / 1024.0)
        } else {
            format!("{:.1} KiB", r.bytes_mean / 1024.0)
        };
        let goal = match r.goal_p95 {
            Some(g) => format!("≤ {} ms: {}", g.as_millis(), met(r.latency.p95 <= g)),
            None => "–".into(),
        };
        let _ = writeln!(
            o,
            "| {}{} | {} | {} ms | {} ms | {} ms | {} ms | {} | {} | {} | {} |{} {} |",
            r.label,
            if r.distinct_paths > 1 {
                format!(" (rotating over {} providers)", r.distinct_paths)
            } else {
                String::new()
            },
            thousands(r.latency.n as u64),
            ms(r.latency.p50),
            ms(r.latency.p95),
            ms(r.latency.p99),
            ms(r.latency.max),
            goal,
            slots,
            body,
            cpu(r.server_cpu_per_request),
            if postgres { format!(" {} |", cpu(r.postgres_cpu_per_request)) } else { String::new() },
            share(r.other_load),
        );
    }
    let _ = writeln!(o);
    pages_table(&mut o, c, m);
    let b = &m.booking;
    let other = if b.other.is_empty() {
        "none".to_string()
    } else {
        b.other.iter().map(|(k, v)| format!("{v} × {k}")).collect::<Vec<_>>().join(", ")
    };
    let raw_mean = (m.raw_before.per_second() + m.raw_after.per_second()) / 2.0;
    let ratio = b.per_second() / raw_mean.max(1e-9);
    let _ = writeln!(o, "| writes | rate | latency p50 / p95 / p99 | goal | other processes |");
    let _ = writeln!(o, "|---|---|---|---|---|");
    let _ = writeln!(
        o,
        "| booking, `POST /api/v1/appointments`, {} clients, {:.1} s | **{} bookings/s** ({} created; other answers: {}{}) | {} / {} / {} ms | ≥ {} /s: {} | {} |",
        b.clients,
        b.elapsed.as_secs_f64(),
        thousands(b.per_second().round() as u64),
        thousands(b.created),
        other,
        if b.exhausted_clients > 0 {
            format!(
                "; {} client(s) ran out of their {} planned slots",
                b.exhausted_clients,
                thousands(m.planned as u64)
            )
        } else {
            String::new()
        },
        ms(b.latency.p50),
        ms(b.latency.p95),
        ms(b.latency.p99),
        thousands(BOOKING_GOAL as u64),
        met(b.per_second() >= BOOKING_GOAL),
        share(b.other_load),
    );
    for (label, r) in [("before booking", &m.raw_before), ("after booking", &m.raw_after)] {
        let _ = writeln!(
            o,
            "| raw commit, one-row INSERT transaction, 1 connection, {} s, {label} | {} commits/s | {} / {} / {} ms | | {} |",
            c.raw_seconds,
            thousands(r.per_second().round() as u64),
            ms(r.latency.p50),
            ms(r.latency.p95),
            ms(r.latency.p99),
            share(r.other_load),
        );
    }
    let _ = writeln!(
        o,
        "| **booking ÷ raw commit** (1 connection, mean of before and after: {} /s) | **{:.0} %** | | ≥ {:.0} %: {} | |",
        thousands(raw_mean.round() as u64),
        ratio * 100.0,
        RATIO_GOAL * 100.0,
        met(ratio >= RATIO_GOAL),
    );
    if let Some(r) = &m.raw_concurrent {
        let _ = writeln!(
            o,
            "| raw commit, one-row INSERT transaction, {} connections at once, {} s (for comparison: group commit) | {} commits/s | {} / {} / {} ms | | {} |",
            r.connections,
            c.raw_seconds,
            thousands(r.per_second().round() as u64),
            ms(r.latency.p50),
            ms(r.latency.p95),
            ms(r.latency.p99),
            share(r.other_load),
        );
        let _ = writeln!(
            o,
            "| booking ÷ raw commit ({} connections) | {:.0} % | | | |",
            r.connections,
            b.per_second() / r.per_second().max(1e-9) * 100.0
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "CPU per created booking: server process {}{}, load generator {} (all on the same {} cores).",
        cpu(b.server_cpu_per_booking),
        if postgres { format!(", PostgreSQL processes {}", cpu(b.postgres_cpu_per_booking)) } else { String::new() },
        cpu(b.client_cpu_per_booking),
        c.cores
    );
    let _ = writeln!(
        o,
        "Bookings created in each second of the booking phase: {}.",
        b.per_second.iter().map(|n| thousands(*n)).collect::<Vec<_>>().join(", ")
    );
    let _ = write!(
        o,
        "Latency is measured in the client from sending the request to having read the whole body (no compression \
         requested), {} s booking phase. \"Other processes\": the share of the machine's CPU used meanwhile by \
         anything but the server, PostgreSQL and praxis-load (work by others on this shared machine).",
        c.booking_seconds
    );
    o
}
