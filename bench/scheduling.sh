#!/usr/bin/env bash
# Scheduling benchmark over real HTTP (BENCHMARKS.md, "Scheduling over HTTP"): builds the
# release server and praxis-load, then runs praxis-load on SQLite and/or PostgreSQL.
#
#   bench/scheduling.sh [sqlite|postgres|both] [more praxis-load flags…]
#
# CARGO_TARGET_DIR is honoured; PRAXIS_BENCH_PG_URL names the PostgreSQL database to
# create (default postgres://postgres@127.0.0.1:5432/praxis_bench; it is dropped after).
# Figures are only meaningful on an otherwise idle machine: the script waits (up to
# 10 minutes) for the 1-minute load average to fall below 0.5 before each run.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
pg_url="${PRAXIS_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/praxis_bench}"
which="${1:-both}"
shift || true

cargo build --release -p praxis -p praxis-bench

wait_quiet() {
  for _ in $(seq 1 120); do
    awk '{ exit !($1 < 0.5) }' /proc/loadavg && return 0
    sleep 5
  done
  echo "bench/scheduling.sh: the machine is still busy (load $(cut -d' ' -f1 /proc/loadavg)); running anyway" >&2
}

if [ "$which" = sqlite ] || [ "$which" = both ]; then
  wait_quiet
  "$target/release/praxis-load" --db sqlite --data-dir /tmp/praxis-load-sqlite --praxis-bin "$target/release/praxis" "$@"
fi
if [ "$which" = postgres ] || [ "$which" = both ]; then
  wait_quiet
  "$target/release/praxis-load" --db postgres --url "$pg_url" --praxis-bin "$target/release/praxis" "$@"
fi
