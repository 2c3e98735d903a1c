#!/usr/bin/env bash
# Job queue throughput and pickup latency beside graphile-worker, on one durable PostgreSQL, in one run.
# One PostgreSQL 15 cluster (fsync=on, synchronous_commit=on, full_page_writes=on, shared_buffers=256MB,
# pg_stat_statements) holds one database per side: "upswing" for `upswing serve` (Release, logging at Warning,
# --concurrency workers on queue default, no-op kind upswing.noop), and "gw_default" / "gw_batched" for
# graphile-worker (bench/load/jobs: its runner with the same concurrency and a task "noop" that returns at once;
# "batched" adds the local queue and batched completion its docs describe for throughput). The side being measured
# runs alone: the other worker processes are paused (SIGSTOP) meanwhile.
#   throughput: --jobs no-op jobs inserted in batches of --batch as fast as one connection can (Upswing: INSERT …
#   SELECT generate_series + pg_notify per transaction; graphile-worker: addJobs, i.e. add_jobs), timed from the
#   first insert until none is left unfinished (polled every 50 ms). A warm-up of --warmup jobs first, then --reps
#   repetitions alternating the sides; the median and the range are reported.
#   latency: single jobs at --rate per second for --seconds, each its own transaction; p50/p99/max of the time from
#   just before the insert to the claim (Upswing: attempted_at) or the task's start (graphile-worker).
#
# Usage: bench/load/jobs.sh [--jobs 100000] [--batch 1000] [--concurrency 50[,10,…]] [--rate 200] [--seconds 10]
#                           [--reps 3] [--warmup 5000] [--graphile default,batched]
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
BIN="$ROOT/src/Upswing.Server/bin/Release/net10.0/upswing.dll"
NODE_DIR="$SCRIPT_DIR/jobs"

JOBS="100000"
BATCH="1000"
CONCURRENCY="50"
RATE="200"
SECONDS_LAT="10"
REPS="3"
WARMUP="5000"
GW_MODES="default,batched"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --jobs)        JOBS="$2"; shift 2 ;;
    --batch)       BATCH="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --rate)        RATE="$2"; shift 2 ;;
    --seconds)     SECONDS_LAT="$2"; shift 2 ;;
    --reps)        REPS="$2"; shift 2 ;;
    --warmup)      WARMUP="$2"; shift 2 ;;
    --graphile)    GW_MODES="$2"; shift 2 ;;
    -h|--help)     sed -n '2,19p' "$0"; exit 0 ;;
    *)             echo "jobs.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for n in "$JOBS" "$BATCH" "$RATE" "$SECONDS_LAT" "$REPS" "$WARMUP"; do
  [[ "$n" =~ ^[0-9]+$ && "$n" -gt 0 ]] || { echo "jobs.sh: '$n' is not a positive integer" >&2; exit 2; }
done
[[ "$CONCURRENCY" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "--concurrency takes a number or a comma-separated list" >&2; exit 2; }
[[ "$GW_MODES" =~ ^(default|batched)(,(default|batched))?$ ]] || { echo "--graphile takes default, batched or both" >&2; exit 2; }
for tool in jq node npm psql python3; do
  command -v "$tool" >/dev/null || { echo "jobs.sh: $tool is required" >&2; exit 1; }
done
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
[[ -n "$PGBIN" ]] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 1; }

log() { echo "==> $*" >&2; }

if [[ ! -d "$NODE_DIR/node_modules/graphile-worker" ]]; then
  log "installing graphile-worker (npm ci in bench/load/jobs)"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || { echo "npm ci failed in $NODE_DIR" >&2; exit 1; }
fi
GW_VERSION="$(node -p 'require(process.argv[1] + "/node_modules/graphile-worker/package.json").version' "$NODE_DIR")"

log "building the server (Release)"
dotnet build "$ROOT/src/Upswing.Server" -c Release --nologo --disable-build-servers -v q >/dev/null || {
  echo "the Release build failed; run: dotnet build src/Upswing.Server -c Release" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/upswing-jobs.XXXXXX")"
chmod 755 "$WORK"
PG_DATA=""
declare -A PIDS=()
as_postgres() { if [[ "$(id -u)" -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_pid() {
  local pid="$1"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
stop_all() {
  local side
  for side in "${!PIDS[@]}"; do stop_pid "${PIDS[$side]}"; unset "PIDS[$side]"; done
}
cleanup() {
  stop_all
  if [[ -n "$PG_DATA" ]]; then as_postgres "$PGBIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export DOTNET_NOLOGO=1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cpu_busy_pct() {
  local a b
  a="$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6; exit}' /proc/stat)"; sleep 1
  b="$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6; exit}' /proc/stat)"
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[1] - x[1] + y[2] - x[2]) }'
}
# CPU ticks (user + system) of the given processes, all threads included.
cpu_ticks() {
  local total=0 pid t
  for pid in "$@"; do
    t="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }')" || t=0
    total=$(( total + ${t:-0} ))
  done
  echo "$total"
}
TICKS="$(getconf CLK_TCK)"
pg_pids() { local pm; pm="$(head -1 "$PG_DATA/postmaster.pid")"; echo "$pm" $(ps -o pid= --ppid "$pm"); }

# ---- PostgreSQL ----
PGPORT="$(free_port)"
PG_DATA="$WORK/pg/data"
mkdir -p "$WORK/pg"; if [[ "$(id -u)" -eq 0 ]]; then chown postgres:postgres "$WORK/pg"; fi
log "starting PostgreSQL ($PGBIN) on 127.0.0.1:$PGPORT: fsync=on, synchronous_commit=on, shared_buffers=256MB"
as_postgres "$PGBIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_postgres "$PGBIN/pg_ctl" -D "$PG_DATA" -l "$WORK/pg/pg.log" -w -t 30 -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 \
  -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c shared_buffers=256MB -c max_wal_size=4GB -c max_connections=300 \
  -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all" start >/dev/null || {
  tail -20 "$WORK/pg/pg.log" >&2; exit 1; }
PG_VERSION="$(psql -h 127.0.0.1 -p "$PGPORT" -U postgres -Atqc 'SHOW server_version')"
psqlq() { local db="$1"; shift; psql -h 127.0.0.1 -p "$PGPORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 -Atq "$@"; }
conn_npgsql() { echo "Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=$1;Maximum Pool Size=200"; }
conn_url() { echo "postgres://postgres@127.0.0.1:$PGPORT/$1"; }

IFS=',' read -r -a GW_LIST <<<"$GW_MODES"
SIDES=(upswing)
for mode in "${GW_LIST[@]}"; do SIDES+=("gw_$mode"); done
for side in "${SIDES[@]}"; do
  psqlq postgres -c "CREATE DATABASE $side"
  psqlq "$side" -c "CREATE EXTENSION pg_stat_statements"
done
log "migrating the upswing database"
dotnet "$BIN" migrate --database "$(conn_npgsql upswing)" >"$WORK/migrate.log" 2>&1 || { tail -20 "$WORK/migrate.log" >&2; exit 1; }

label() { case "$1" in upswing) echo "Upswing";; gw_default) echo "graphile-worker $GW_VERSION";; gw_batched) echo "graphile-worker $GW_VERSION, batched";; esac; }
side_kind() { [[ "$1" == upswing ]] && echo upswing || echo graphile; }

start_side() {  # $1 = side, $2 = concurrency
  local side="$1" n="$2" out="$WORK/$1-$2.log" deadline=$(( SECONDS + 90 ))
  if [[ "$side" == upswing ]]; then
    local base; base="http://127.0.0.1:$(free_port)"
    Logging__LogLevel__Default=Warning Jobs__Queues__default__Workers="$n" \
      dotnet "$BIN" serve --urls "$base" --database "$(conn_npgsql upswing)" >"$out" 2>&1 &
    PIDS[$side]=$!
    until curl -fsS -o /dev/null --max-time 1 "$base/health/ready" 2>/dev/null; do
      kill -0 "${PIDS[$side]}" 2>/dev/null || { tail -20 "$out" >&2; echo "upswing serve exited" >&2; return 1; }
      (( SECONDS < deadline )) || { echo "upswing serve did not become ready" >&2; return 1; }
      sleep 0.2
    done
  else
    (cd "$NODE_DIR" && exec node worker.js "$(conn_url "$side")" "$n" "${side#gw_}" "$WORK/$side-latency.txt") >"$out" 2>&1 &
    PIDS[$side]=$!
    until grep -q '^ready$' "$out" 2>/dev/null; do
      kill -0 "${PIDS[$side]}" 2>/dev/null || { tail -20 "$out" >&2; echo "graphile-worker exited" >&2; return 1; }
      (( SECONDS < deadline )) || { echo "graphile-worker did not become ready" >&2; return 1; }
      sleep 0.2
    done
  fi
}
pause() { kill -STOP "${PIDS[$1]}"; }
resume() { kill -CONT "${PIDS[$1]}"; sleep 0.5; }

# nearest-rank percentiles of numbers on stdin: "p50 p99 max count"
percentiles() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "? ? ? 0"; exit }
  i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999); printf "%.1f %.1f %.1f %d\n", v[i50], v[i99], v[NR], NR }'; }

throughput() {  # $1 = side, $2 = jobs; prints the generator's JSON plus CPU seconds of the worker and of PostgreSQL
  local side="$1" jobs="$2" w0 w1 p0 p1 json
  w0="$(cpu_ticks "${PIDS[$side]}")"; p0="$(cpu_ticks $(pg_pids))"
  json="$(cd "$NODE_DIR" && node enqueue.js throughput "$(side_kind "$side")" "$(conn_url "$side")" "$jobs" "$BATCH")"
  w1="$(cpu_ticks "${PIDS[$side]}")"; p1="$(cpu_ticks $(pg_pids))"
  jq -c --argjson w "$(( w1 - w0 ))" --argjson p "$(( p1 - p0 ))" --argjson hz "$TICKS" \
    '. + {workerCpuSeconds: ($w / $hz), postgresCpuSeconds: ($p / $hz)}' <<<"$json"
}

STATEMENTS=()
statements() {  # the top statements of the side's last repetition, by total execution time
  psqlq "$1" -F ' | ' -c "SELECT calls, round(total_exec_time::numeric, 0), round(mean_exec_time::numeric, 3), rows,
    left(regexp_replace(query, '\s+', ' ', 'g'), 110) FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT 6" |
    sed 's/^/| /; s/$/ |/'
}

RESULTS=()
declare -A GW_REF=()
LATENCY=()
CPU=()
BUSY="$(cpu_busy_pct)"
IFS=',' read -r -a NS <<<"$CONCURRENCY"
for n in "${NS[@]}"; do
  for side in "${SIDES[@]}"; do
    log "$(label "$side"): starting with $n workers"
    start_side "$side" "$n"
    pause "$side"
  done
  for side in "${SIDES[@]}"; do
    resume "$side"
    log "$(label "$side"), $n workers: warm-up, $WARMUP jobs (not measured)"
    throughput "$side" "$WARMUP" >/dev/null
    pause "$side"
  done
  declare -A RUNS=()
  for rep in $(seq 1 "$REPS"); do
    for side in "${SIDES[@]}"; do
      resume "$side"
      psqlq "$side" -c "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)" >/dev/null
      log "$(label "$side"), $n workers: repetition $rep of $REPS, $JOBS jobs in batches of $BATCH"
      r="$(throughput "$side" "$JOBS")"
      pause "$side"
      log "  $r"
      RUNS[$side]+="$r"$'\n'
    done
  done
  for side in "${SIDES[@]}"; do
    STATEMENTS+=("" "$(label "$side"), $n workers, last repetition: top statements by execution time (pg_stat_statements)" ""
      "| calls | total ms | mean ms | rows | query |" "|---:|---:|---:|---:|---|" "$(statements "$side")")
  done
  ref=""
  for side in "${SIDES[@]}"; do
    stats="$(jq -s -r 'sort_by(.jobsPerSecond) | [.[length/2|floor].jobsPerSecond, .[0].jobsPerSecond, .[-1].jobsPerSecond] | @tsv' <<<"${RUNS[$side]}")"
    read -r med lo hi <<<"$stats"
    [[ "$side" == gw_default ]] && ref="$med"
    RESULTS+=("$side|$n|$med|$lo|$hi")
    CPU+=("| $(label "$side") | $n | $(jq -s -r '
      (map(.workerCpuSeconds) | add) as $w | (map(.postgresCpuSeconds) | add) as $p | (map(.generatorCpuSeconds) | add) as $g |
      (map(.seconds) | add) as $s | (map(.jobs) | add) as $j |
      "\($w * 1000000 / $j | round) | \($p * 1000000 / $j | round) | \($g * 1000000 / $j | round) | \(($w + $p + $g) / $s * 100 | round) %"' <<<"${RUNS[$side]}") |")
  done
  GW_REF[$n]="$ref"

  for side in "${SIDES[@]}"; do
    resume "$side"
    log "$(label "$side"), $n workers: latency, $RATE jobs/s for $SECONDS_LAT s"
    rm -f "$WORK/$side-latency.txt"
    json="$(cd "$NODE_DIR" && node enqueue.js latency "$(side_kind "$side")" "$(conn_url "$side")" "$RATE" "$SECONDS_LAT")"
    sleep 1
    if [[ "$side" == upswing ]]; then
      lo_id="$(jq '.ids | min' <<<"$json")"; hi_id="$(jq '.ids | max' <<<"$json")"
      for _ in $(seq 1 100); do
        [[ "$(psqlq upswing -c "SELECT count(*) FROM jobs WHERE id BETWEEN $lo_id AND $hi_id AND attempted_at IS NULL")" == 0 ]] && break
        sleep 0.1
      done
      p="$(psqlq upswing -c "SELECT round(extract(epoch FROM attempted_at - created_at) * 1000, 3) FROM jobs WHERE id BETWEEN $lo_id AND $hi_id" | percentiles)"
    else
      for _ in $(seq 1 100); do
        [[ "$(psqlq "$side" -c 'SELECT count(*) FROM graphile_worker._private_jobs')" == 0 ]] && break
        sleep 0.1
      done
      p="$(percentiles <"$WORK/$side-latency.txt")"
    fi
    pause "$side"
    read -r p50 p99 pmax count <<<"$p"
    LATENCY+=("| $(label "$side") | $n | $(jq -r .actualRate <<<"$json") | $(jq -r .lateBy50ms <<<"$json") | $count | $p50 | $p99 | $pmax |")
  done
  stop_all
done

{
echo
echo "Job queue, one durable PostgreSQL $PG_VERSION (fsync=on, synchronous_commit=on), $JOBS no-op jobs in batches of $BATCH, $REPS repetitions, $(nproc) cores, background CPU before ${BUSY}%, $(date -u '+%Y-%m-%dT%H:%M:%SZ'), commit $(git -C "$ROOT" rev-parse --short HEAD)"
echo
echo "| side | workers | jobs/s (median) | range | ratio to graphile-worker (default) |"
echo "|---|---:|---:|---|---:|"
for row in "${RESULTS[@]}"; do
  IFS='|' read -r side n med lo hi <<<"$row"
  ratio="$(awk -v a="$med" -v b="${GW_REF[$n]:-}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "—" }')"
  echo "| $(label "$side") | $n | $med | $lo – $hi | $ratio |"
done
echo
echo "| side | workers | enqueued/s | inserts started >50 ms late | jobs | p50 pickup (ms) | p99 pickup (ms) | max (ms) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${LATENCY[@]}"
echo
echo "CPU per job over all repetitions (µs of CPU time per job; total = share of the 2 cores used while measuring, 200 % = both busy)"
echo
echo "| side | workers | worker process | PostgreSQL | load generator | total |"
echo "|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${CPU[@]}"
printf '%s\n' "${STATEMENTS[@]}"
} | tee "${RESULTS_DIR:-/tmp}/upswing-jobs-latest.md"
