#!/usr/bin/env bash
# Rollup throughput over generated raw events, and the latency of every dashboard query after the rollups, at two sizes.
# Data: `upswing seed --demo --scale S` stores S demo histories (30 days of a growing game: visitors, a signup funnel,
# returning players, two experiments with exposures, the four invite loops, web vitals; about 180,000 events each)
# through the real ingestion store, so the events carry identities and experiment enrichment as live traffic would.
# Throughput: each rollup recomputes the whole 30-day window (`upswing rollup --job J --window-days 30`, its own
# process, the duration recorded in rollup_runs); events/s is the raw events of the database over that duration
# (vitals measurements for the vitals rollup). The limit beside it, measured in the same run on the same database: one
# aggregate query that reads every column the rollups read of every track event (web_vitals row) of the workspace once
# and keeps nothing (python3's sqlite3 / psql; the faster of two runs), i.e. the database's raw scan rate.
# Latency: `upswing serve` on the same database; wrk with one connection (so one request at a time) for --duration per
# query, after a warm-up; p50 and p99 of the request. The queries read rollup rows only, so the figures at the small and
# the large size should be alike.
#
# Usage: bench/load/rollups.sh [--provider sqlite|postgres|both] [--scales "6 56"] [--duration 5s] [--keep DIR]
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
BIN="$ROOT/src/Upswing.Server/bin/Release/net10.0/upswing.dll"

PROVIDER="both"
SCALES="6 56"
DURATION="5s"
KEEP=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --provider) PROVIDER="$2"; shift 2 ;;
    --scales)   SCALES="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --keep)     KEEP="$2"; shift 2 ;;
    -h|--help)  sed -n '2,14p' "$0"; exit 0 ;;
    *)          echo "rollups.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ "$PROVIDER" =~ ^(sqlite|postgres|both)$ ]] || { echo "--provider must be sqlite, postgres or both" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq is required (apt-get install -y jq)" >&2; exit 1; }

log() { echo "==> $*" >&2; }

if ! command -v wrk >/dev/null 2>&1; then
  [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null || { echo "wrk is required (apt-get install -y wrk)" >&2; exit 1; }
  log "wrk not found; installing it with apt-get"
  { apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq wrk >/dev/null; } \
    || { echo "could not install wrk" >&2; exit 1; }
fi

log "building the server (Release)"
dotnet build "$ROOT/src/Upswing.Server" -c Release --nologo --disable-build-servers -v q >/dev/null

WORK="${KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/upswing-rollups.XXXXXX")}"
mkdir -p "$WORK"; chmod 755 "$WORK"
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
stop_postgres() {
  if [[ -n "$PG_DATA" ]]; then as_postgres "$PGBIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true; fi
  PG_DATA=""
}
cleanup() {
  stop_server
  stop_postgres
  [[ -n "$KEEP" ]] || rm -rf "$WORK"
}
trap cleanup EXIT

# The periodic rollups stay off while serving, so that only the measured queries run.
# (Their configuration keys hold a dash, which bash cannot export: they go through env.)
export DOTNET_NOLOGO=1 Logging__LogLevel__Default=Warning
NO_CRONS=()
for job in daily experiments funnels retention kfactor vitals; do NO_CRONS+=("Jobs__Periodic__rollup-${job}__Cron=0 0 0 1 1 ? 2099"); done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wrk's latency in milliseconds ("812.00us", "1.20ms", "2.01s").
ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f", v }' <<<"$1"; }

THROUGHPUT=()
LATENCY=()
declare -A P50
run_size() {  # $1 = sqlite | postgres, $2 = scale
  local provider="$1" scale="$2" dir="$WORK/$1-$2"
  mkdir -p "$dir"
  local args=(--data-dir "$dir/data")
  if [[ "$provider" == postgres ]]; then
    [[ -n "$PGBIN" ]] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; return 1; }
    local pgport; pgport="$(free_port)"
    PG_DATA="$dir/pg/data"
    mkdir -p "$dir/pg"; if [[ "$(id -u)" -eq 0 ]]; then chown postgres:postgres "$dir/pg"; fi
    as_postgres "$PGBIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null || return 1
    as_postgres "$PGBIN/pg_ctl" -D "$PG_DATA" -l "$dir/pg/pg.log" -w -t 30 \
      -o "-p $pgport -k $dir/pg -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_wal_size=8GB -c shared_buffers=2GB -c work_mem=64MB" start >/dev/null || return 1
    psql -h 127.0.0.1 -p "$pgport" -U postgres -qc "CREATE DATABASE upswing" >/dev/null || return 1
    args+=(--database "Host=127.0.0.1;Port=$pgport;Username=postgres;Database=upswing")
    dotnet "$BIN" migrate "${args[@]}" >"$dir/migrate.log" 2>&1 || { tail -20 "$dir/migrate.log" >&2; return 1; }
  fi

  log "$provider, scale $scale: seed --demo (generates, ingests and rolls up the history)"
  local seeded; seeded="$(dotnet "$BIN" seed --demo --scale "$scale" "${args[@]}" 2>"$dir/seed.err" | awk '{ print $1 }')"
  local workspace="$seeded"
  seeded="$(tail -1 "$dir/seed.err")"
  log "$provider, scale $scale: $seeded"
  local events vitals
  events="$(sed -E 's/^seeded ([0-9,]+) events.*/\1/' <<<"$seeded" | tr -d ,)"
  vitals="$(sed -E 's/.* events, ([0-9,]+) vitals.*/\1/' <<<"$seeded" | tr -d ,)"

  # The limit: every column the rollups read, of every event, once, aggregated away in the database.
  local scan_events scan_vitals
  local events_sql="SELECT COUNT(*), SUM(LENGTH(name)), COUNT(user_id), COUNT(anonymous_id), COUNT(environment_id), SUM(LENGTH(properties)), MAX(timestamp) FROM events WHERE workspace_id = :w AND type = 'track'"
  local vitals_sql="SELECT COUNT(*), SUM(value), SUM(LENGTH(name)), SUM(LENGTH(path)), SUM(LENGTH(device_class)), COUNT(environment_id), MAX(timestamp) FROM web_vitals WHERE workspace_id = :w"
  if [[ "$provider" == sqlite ]]; then
    scan() { python3 - "$dir/data/upswing.db" "${workspace^^}" "$1" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
best = None
for _ in range(2):
    start = time.perf_counter()
    rows = db.execute(sys.argv[3], {"w": sys.argv[2]}).fetchone()[0]
    elapsed = time.perf_counter() - start
    best = elapsed if best is None or elapsed < best else best
print(f"{rows} {best:.3f}")
PY
    }
  else
    # psql's \timing: the query's round trip, without the connection's start-up; jsonb read as text, as the rollups read it.
    scan() {
      local quoted="'$workspace'"
      local sql="${1//:w/$quoted}"
      sql="${sql//LENGTH(properties)/LENGTH(properties::text)}"
      psql -h 127.0.0.1 -p "$pgport" -U postgres -d upswing -At -v ON_ERROR_STOP=1 -c '\timing on' -c "$sql" -c "$sql" \
        | awk -F'|' '/^Time:/ { ms = $0; sub(/^Time: /, "", ms); sub(/ ms.*/, "", ms); if (best == "" || ms + 0 < best) best = ms + 0; next } NF > 1 { rows = $1 } END { printf "%s %.3f\n", rows, best / 1000 }'
    }
  fi
  scan_events="$(scan "$events_sql")"
  scan_vitals="$(scan "$vitals_sql")"
  log "$provider, scale $scale: raw scan: $scan_events (events, seconds); $scan_vitals (vitals, seconds)"

  for job in daily experiments funnels retention kfactor vitals; do
    local line; line="$(dotnet "$BIN" rollup --job "$job" --window-days 30 --workspace demo "${args[@]}" | head -1)"
    log "$provider, scale $scale: $line"
    local rows duration input
    rows="$(awk -F'\t' '{ print $4 }' <<<"$line" | awk '{ print $1 }')"
    duration="$(awk -F'\t' '{ print $5 }' <<<"$line" | awk '{ print $1 }')"
    local limit="$scan_events"
    input="$events"; [[ "$job" == vitals ]] && { input="$vitals"; limit="$scan_vitals"; }
    # The scan visits every event of the workspace (the type filter discards the others), as the rollups' scans do.
    local limit_rate; limit_rate="$(awk -v n="$input" '{ printf "%.0f", n / $2 }' <<<"$limit")"
    local rate; rate="$(awk -v n="$input" -v d="$duration" 'BEGIN { printf "%.0f", n / (d / 1000) }')"
    THROUGHPUT+=("| $provider | $job | $input | $rows | $(awk -v d="$duration" 'BEGIN { printf "%.1f", d / 1000 }') | $rate | $limit_rate | $(awk -v a="$rate" -v b="$limit_rate" 'BEGIN { printf "%.2f", a / b }') |")
  done

  local key; key="$(dotnet "$BIN" keys create --workspace demo --kind secret --name bench "${args[@]}")"
  local base; base="http://127.0.0.1:$(free_port)"
  env "${NO_CRONS[@]}" dotnet "$BIN" serve --urls "$base" "${args[@]}" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  local deadline=$(( SECONDS + 120 ))
  until curl -fsS -o /dev/null --max-time 1 "$base/health/ready" 2>/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$dir/server.log" >&2; return 1; }
    (( SECONDS < deadline )) || { echo "server did not become ready" >&2; return 1; }
    sleep 0.2
  done

  local queries=(
    "/v1/metrics/summary"
    "/v1/metrics/daily?window_days=30"
    "/v1/metrics/experiments?window_days=30&experiment_id=discount-test"
    "/v1/metrics/funnels?window_days=30&funnel_name=core_journey"
    "/api/v1/analytics/funnels?funnel=core_journey"
    "/api/v1/analytics/retention?type=first_time&period=day"
    "/api/v1/analytics/kfactor"
    "/api/v1/analytics/vitals"
    "/api/v1/experiments/discount-test/results"
  )
  for q in "${queries[@]}"; do
    local status; status="$(curl -s -o "$dir/answer.json" -w '%{http_code}' -H "Authorization: Bearer $key" "$base$q")"
    [[ "$status" == 200 ]] || { echo "$q answered $status: $(head -c 400 "$dir/answer.json")" >&2; return 1; }
    wrk -t1 -c1 -d2s -H "Authorization: Bearer $key" "$base$q" >/dev/null
    local out; out="$(wrk -t1 -c1 -d"$DURATION" --latency -H "Authorization: Bearer $key" "$base$q")"
    local p50 p99 rps
    p50="$(ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")"
    p99="$(ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")"
    rps="$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")"
    log "$provider, scale $scale: $q p50 $p50 ms, p99 $p99 ms, $rps requests/s"
    local small="${P50[$provider$q]:-}"
    if [[ -z "$small" ]]; then
      P50[$provider$q]="$events|$p50|$p99"
    else
      IFS='|' read -r small_events small_p50 small_p99 <<<"$small"
      LATENCY+=("| $provider | \`$q\` | $small_p50 / $small_p99 | $p50 / $p99 | $(awk -v a="$p50" -v b="$small_p50" 'BEGIN { printf "%.2f", a / b }') |")
    fi
  done
  stop_server
  stop_postgres
}

PROVIDERS=()
[[ "$PROVIDER" == sqlite || "$PROVIDER" == both ]] && PROVIDERS+=(sqlite)
[[ "$PROVIDER" == postgres || "$PROVIDER" == both ]] && PROVIDERS+=(postgres)
SIZES=()
for provider in "${PROVIDERS[@]}"; do
  for scale in $SCALES; do
    run_size "$provider" "$scale"
    SIZES+=("$provider scale $scale")
    [[ -n "$KEEP" ]] || rm -rf "$WORK/$provider-$scale"
  done
done

echo
echo "Rollup throughput (each rollup over the whole 30-day window, its own process; $(nproc) cores):"
echo
echo "| provider | rollup | raw events (vitals) | rows | seconds | events/s | limit: raw scan events/s | ratio to the limit |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${THROUGHPUT[@]}"
echo
echo "Dashboard query latency after the rollups, one request at a time (wrk -c1, $DURATION), p50 / p99 ms at the first and the last scale:"
echo
echo "| provider | query | small: p50 / p99 | large: p50 / p99 | p50 large / small |"
echo "|---|---|---:|---:|---:|"
printf '%s\n' "${LATENCY[@]}"
