#!/usr/bin/env bash
# Event ingestion throughput beside its physical limit, measured in the same run.
# HTTP: `upswing serve` (Release, logging at Warning) takes Segment /v1/batch requests of 100 events from the load
# generator (bench/Upswing.Bench.Ingest `send`, --concurrency requests in flight); a request is answered only after its
# events are committed durably (SQLite synchronous=FULL; PostgreSQL fsync=on, synchronous_commit=on).
# Limit: the same rows written by a plain program into an identical table, measured just before and just after the
# HTTP run (their mean is the limit beside it): SQLite, one transaction with one prepared statement (WAL,
# synchronous=FULL, the table and indexes copied from the server's database); PostgreSQL, binary COPY into a table
# LIKE events with its indexes ("same") and without any ("none").
#
# The server is warmed up for --warmup seconds first: the JIT was still tiering up (a fifth of the server's CPU)
# after 150,000 events, so a count-based warm-up measured the compiler. The HTTP run is repeated --runs times
# back to back and the median is reported beside the limit (each run's figure is printed too).
#
# 64 requests in flight by default: the server can only batch what is in flight (the limit is one COPY of every row),
# and with 16 (1,600 events) its groups stayed near 380 events, each paying the per-group costs again; see
# docs/benchmarks.md, "2026-12-03 (night)". --concurrency 16 gives the earlier figure.
#
# Usage: bench/load/ingest.sh [--provider sqlite|postgres|both] [--events 200000] [--concurrency 64] [--warmup 20]
#                             [--runs 3]
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
BIN="$ROOT/src/Upswing.Server/bin/Release/net10.0/upswing.dll"
TOOL="$ROOT/bench/Upswing.Bench.Ingest/bin/Release/net10.0/Upswing.Bench.Ingest.dll"

PROVIDER="both"
EVENTS="200000"
CONCURRENCY="64"
WARMUP="20"
RUNS="3"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --provider)    PROVIDER="$2"; shift 2 ;;
    --events)      EVENTS="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --warmup)      WARMUP="$2"; shift 2 ;;
    --runs)        RUNS="$2"; shift 2 ;;
    -h|--help)     sed -n '2,21p' "$0"; exit 0 ;;
    *)             echo "ingest.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ "$PROVIDER" =~ ^(sqlite|postgres|both)$ ]] || { echo "--provider must be sqlite, postgres or both" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq is required (apt-get install -y jq)" >&2; exit 1; }

log() { echo "==> $*" >&2; }

log "building the server and the load generator (Release)"
dotnet build "$ROOT/src/Upswing.Server" -c Release --nologo --disable-build-servers -v q >/dev/null
dotnet build "$ROOT/bench/Upswing.Bench.Ingest" -c Release --nologo --disable-build-servers -v q >/dev/null

WORK="$(mktemp -d "${TMPDIR:-/tmp}/upswing-ingest.XXXXXX")"
chmod 755 "$WORK"
SERVER_PID=""
PG_DATA=""
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
as_postgres() { if [[ "$(id -u)" -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() {
  stop_server
  if [[ -n "$PG_DATA" ]]; then as_postgres "$PGBIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export DOTNET_NOLOGO=1 Logging__LogLevel__Default=Warning
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cpu_busy_pct() {
  local a b
  a="$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6; exit}' /proc/stat)"; sleep 1
  b="$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6; exit}' /proc/stat)"
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[1] - x[1] + y[2] - x[2]) }'
}

# "<sum of commit seconds> <number of commits>" from the Prometheus endpoint.
commit_metrics() {
  curl -fsS --max-time 5 "$1/metrics" 2>/dev/null | awk '/^upswing_events_commit_duration_seconds_sum/ { s = $NF } /^upswing_events_commit_duration_seconds_count/ { c = $NF } END { print s + 0, c + 0 }'
}

ROWS=()
WRITER=()
run_provider() {  # $1 = sqlite | postgres
  local provider="$1" dir="$WORK/$1"
  mkdir -p "$dir"
  local args=(--data-dir "$dir/data") conn=""
  if [[ "$provider" == postgres ]]; then
    [[ -n "$PGBIN" ]] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; return 1; }
    local pgport; pgport="$(free_port)"
    PG_DATA="$dir/pg/data"
    mkdir -p "$dir/pg"; if [[ "$(id -u)" -eq 0 ]]; then chown postgres:postgres "$dir/pg"; fi
    as_postgres "$PGBIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null || return 1
    as_postgres "$PGBIN/pg_ctl" -D "$PG_DATA" -l "$dir/pg/pg.log" -w -t 30 \
      -o "-p $pgport -k $dir/pg -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_wal_size=4GB" start >/dev/null || return 1
    psql -h 127.0.0.1 -p "$pgport" -U postgres -qc "CREATE DATABASE upswing" >/dev/null || return 1
    conn="Host=127.0.0.1;Port=$pgport;Username=postgres;Database=upswing"
    args+=(--database "$conn")
    dotnet "$BIN" migrate "${args[@]}" >/dev/null || return 1
  fi
  dotnet "$BIN" workspaces create --name Ingest --slug ingest "${args[@]}" >/dev/null || return 1
  local key; key="$(dotnet "$BIN" keys create --workspace ingest --kind client --environment production --name ingest "${args[@]}")" || return 1

  raw() {
    if [[ "$provider" == sqlite ]]; then
      dotnet "$TOOL" raw-sqlite --schema-from "$dir/data/upswing.db" --rows "$EVENTS" | jq -r .rowsPerSecond
    else
      echo "$(dotnet "$TOOL" raw-postgres --database "$conn" --rows "$EVENTS" --indexes same | jq -r .rowsPerSecond)/$(dotnet "$TOOL" raw-postgres --database "$conn" --rows "$EVENTS" --indexes none | jq -r .rowsPerSecond)"
    fi
  }

  local base; base="http://127.0.0.1:$(free_port)"
  dotnet "$BIN" serve --urls "$base" "${args[@]}" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  local deadline=$(( SECONDS + 90 ))
  until curl -fsS -o /dev/null --max-time 1 "$base/health/ready" 2>/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$dir/server.log" >&2; return 1; }
    (( SECONDS < deadline )) || { echo "server did not become ready" >&2; return 1; }
    sleep 0.2
  done
  log "$provider: warm-up, $WARMUP s of load (not measured)"
  dotnet "$TOOL" send --url "$base" --key "$key" --prefix warm --concurrency "$CONCURRENCY" --duration "$WARMUP" >/dev/null

  local busy; busy="$(cpu_busy_pct)"
  log "$provider: raw insert of $EVENTS rows (before)"
  local before; before="$(raw)"
  log "$provider: HTTP, $RUNS runs of $EVENTS events in batches of 100, $CONCURRENCY requests in flight"
  local m0; m0="$(commit_metrics "$base")"
  local runs="" seconds=0 r one
  for (( r = 1; r <= RUNS; r++ )); do
    one="$(dotnet "$TOOL" send --url "$base" --key "$key" --prefix "run$r" --concurrency "$CONCURRENCY" --events "$EVENTS")"
    log "$provider: HTTP run $r: $one"
    runs+="$(jq -r .eventsPerSecond <<<"$one") "
    seconds="$(awk -v a="$seconds" -v b="$(jq -r .seconds <<<"$one")" 'BEGIN { print a + b }')"
  done
  local m1; m1="$(commit_metrics "$base")"
  log "$provider: raw insert of $EVENTS rows (after)"
  local after; after="$(raw)"
  stop_server
  if [[ "$provider" == postgres ]]; then as_postgres "$PGBIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null; PG_DATA=""; fi

  local eps; eps="$(tr ' ' '\n' <<<"$runs" | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
  local same_b="${before%%/*}" same_a="${after%%/*}"
  local limit; limit="$(awk -v a="$same_b" -v b="$same_a" 'BEGIN { printf "%.0f", (a + b) / 2 }')"
  local label="raw insert, same table and indexes, one transaction"
  [[ "$provider" == postgres ]] && label="binary COPY, same indexes"
  ROWS+=("| $provider | $eps (runs: ${runs% }) | $label: $same_b / $same_a | $limit | $(awk -v a="$eps" -v b="$limit" 'BEGIN { printf "%.2f", a / b }') | ${busy}% |")
  if [[ "$provider" == postgres ]]; then
    local none_b="${before##*/}" none_a="${after##*/}" none
    none="$(awk -v a="$none_b" -v b="$none_a" 'BEGIN { printf "%.0f", (a + b) / 2 }')"
    ROWS+=("| $provider | $eps | binary COPY, no indexes: $none_b / $none_a | $none | $(awk -v a="$eps" -v b="$none" 'BEGIN { printf "%.2f", a / b }') | ${busy}% |")
  fi
  # Where the time goes: the writer's share of the run spent inside commits, and the mean group size.
  WRITER+=("| $provider | $(awk -v a="$m0" -v b="$m1" -v s="$seconds" -v n="$(( EVENTS * RUNS ))" 'BEGIN {
    split(a, x, " "); split(b, y, " "); c = y[2] - x[2]; t = y[1] - x[1]
    if (c > 0) printf "%d | %.0f | %.2f | %.0f %%", c, n / c, 1000 * t / c, 100 * t / s; else print "? | ? | ? | ?" }') |")
}

if [[ "$PROVIDER" == sqlite || "$PROVIDER" == both ]]; then run_provider sqlite; fi
if [[ "$PROVIDER" == postgres || "$PROVIDER" == both ]]; then run_provider postgres; fi

echo
echo "Ingestion, $EVENTS events in batches of 100, $CONCURRENCY requests in flight, $(nproc) cores, $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
echo
echo "| provider | HTTP events/s (durable), median of $RUNS | limit: raw rows/s before / after | limit beside it (mean) | ratio to the limit | background CPU before |"
echo "|---|---:|---|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
echo "| provider | commits | events per commit | mean commit (ms) | share of the run spent committing |"
echo "|---|---:|---:|---:|---:|"
printf '%s\n' "${WRITER[@]}"
