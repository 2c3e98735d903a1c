#!/usr/bin/env bash
# Crash safety of event ingestion: while the load generator (bench/Upswing.Bench.Ingest `send`) posts Segment batches
# of 100 events with several requests in flight and records every acknowledged message id, `upswing serve` (a real
# separate process) is killed with SIGKILL and restarted, --kills times. The generator resends every batch that got no
# 2xx (same message ids) until it is acknowledged. Afterwards every acknowledged event must be stored exactly once:
# `verify` counts acknowledged, found, missing and duplicated message ids straight from the database.
#
# Usage: bench/load/crash-safety.sh [--provider sqlite|postgres|both] [--interval 8] [--kills 2] [--concurrency 16]
# The load runs for --interval seconds after the server is ready, before each kill and after the last restart.
# PostgreSQL runs in a throwaway cluster with fsync=on, synchronous_commit=on, full_page_writes=on.
# See docs/operations/crash-safety.md.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
BIN="$ROOT/src/Upswing.Server/bin/Release/net10.0/upswing.dll"
TOOL="$ROOT/bench/Upswing.Bench.Ingest/bin/Release/net10.0/Upswing.Bench.Ingest.dll"

PROVIDER="both"
INTERVAL="8"
KILLS="2"
CONCURRENCY="16"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --provider)    PROVIDER="$2"; shift 2 ;;
    --interval)    INTERVAL="$2"; shift 2 ;;
    --kills)       KILLS="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    -h|--help)     sed -n '2,10p' "$0"; exit 0 ;;
    *)             echo "crash-safety.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ "$PROVIDER" =~ ^(sqlite|postgres|both)$ ]] || { echo "--provider must be sqlite, postgres or both" >&2; exit 2; }
(( KILLS >= 1 && INTERVAL >= 1 )) || { echo "--kills and --interval must be at least 1" >&2; exit 2; }

log() { echo "==> $*" >&2; }

log "building the server and the load generator (Release)"
dotnet build "$ROOT/src/Upswing.Server" -c Release --nologo --disable-build-servers -v q >/dev/null
dotnet build "$ROOT/bench/Upswing.Bench.Ingest" -c Release --nologo --disable-build-servers -v q >/dev/null

WORK="$(mktemp -d "${TMPDIR:-/tmp}/upswing-crash.XXXXXX")"
chmod 755 "$WORK"  # the postgres user must reach its cluster directory inside
SERVER_PID=""
LOAD_PID=""
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
  if [[ -n "$LOAD_PID" ]] && kill -0 "$LOAD_PID" 2>/dev/null; then kill "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; fi
  if [[ -n "$PG_DATA" ]]; then as_postgres "$PGBIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export DOTNET_NOLOGO=1 Logging__LogLevel__Default=Warning

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_server() {  # $1 = log file; uses ARGS and BASE
  dotnet "$BIN" serve --urls "$BASE" "${ARGS[@]}" >>"$1" 2>&1 &
  SERVER_PID=$!
  local deadline=$(( SECONDS + 60 ))
  until curl -fsS -o /dev/null --max-time 1 "$BASE/health/ready" 2>/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$1" >&2; echo "server exited" >&2; exit 1; }
    (( SECONDS < deadline )) || { echo "server did not become ready within 60 s" >&2; exit 1; }
    sleep 0.1
  done
}

run_provider() {  # $1 = sqlite | postgres
  local provider="$1" dir="$WORK/$1" prefix
  mkdir -p "$dir"
  ARGS=(--data-dir "$dir/data")
  if [[ "$provider" == postgres ]]; then
    [[ -n "$PGBIN" ]] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 1; }
    local pgport; pgport="$(free_port)"
    PG_DATA="$dir/pg/data"
    mkdir -p "$dir/pg"; if [[ "$(id -u)" -eq 0 ]]; then chown postgres:postgres "$dir/pg"; fi
    as_postgres "$PGBIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null || return 1
    # Durable settings (the defaults, spelled out): a committed transaction is on disk.
    as_postgres "$PGBIN/pg_ctl" -D "$PG_DATA" -l "$dir/pg/pg.log" -w -t 30 \
      -o "-p $pgport -k $dir/pg -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=100" start >/dev/null || return 1
    psql -h 127.0.0.1 -p "$pgport" -U postgres -qc "CREATE DATABASE upswing" >/dev/null || return 1
    CONN="Host=127.0.0.1;Port=$pgport;Username=postgres;Database=upswing"
    ARGS+=(--database "$CONN")
    dotnet "$BIN" migrate "${ARGS[@]}" >/dev/null || return 1
  fi

  dotnet "$BIN" workspaces create --name "Crash $provider" --slug crash "${ARGS[@]}" >/dev/null || return 1
  local key; key="$(dotnet "$BIN" keys create --workspace crash --kind client --environment production --name crash "${ARGS[@]}")" || return 1
  BASE="http://127.0.0.1:$(free_port)"
  prefix="crash-$provider-$(date +%s)"

  log "$provider: starting upswing serve on $BASE"
  start_server "$dir/server.log"
  dotnet "$TOOL" send --url "$BASE" --key "$key" --prefix "$prefix" --batch 100 --concurrency "$CONCURRENCY" \
    --acks "$dir/acks.txt" >"$dir/load.json" &
  LOAD_PID=$!

  local k
  for (( k = 1; k <= KILLS; k++ )); do
    sleep "$INTERVAL"
    log "$provider: SIGKILL to the server (pid $SERVER_PID) mid-load, kill $k of $KILLS"
    kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
    local restart=$SECONDS
    start_server "$dir/server.log"
    log "$provider: restarted and ready in $(( SECONDS - restart )) s"
  done

  sleep "$INTERVAL"
  # SIGTERM: the generator stops sending, abandons what is in flight (not acknowledged) and writes its acks.
  kill -TERM "$LOAD_PID"; wait "$LOAD_PID"; LOAD_PID=""
  stop_server
  log "$provider: load: $(cat "$dir/load.json")"
  local verify_args=(--acks "$dir/acks.txt" --prefix "$prefix")
  if [[ "$provider" == postgres ]]; then verify_args+=(--database "$CONN"); else verify_args+=(--sqlite "$dir/data/upswing.db"); fi
  local result rc=0
  result="$(dotnet "$TOOL" verify "${verify_args[@]}")" || rc=$?
  echo "| $provider | $KILLS | $(jq -r '[.acknowledged, .found, .missing, .duplicates, .storedButNotAcknowledged] | map(tostring) | join(" | ")' <<<"$result") | $(jq -r '.failedAttempts' "$dir/load.json") |"
  if [[ "$provider" == postgres ]]; then as_postgres "$PGBIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null; PG_DATA=""; fi
  return "$rc"
}

command -v jq >/dev/null || { echo "jq is required (apt-get install -y jq)" >&2; exit 1; }
echo "| provider | SIGKILLs | events acknowledged | found | missing | duplicates | stored but not acknowledged | failed attempts (resent) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
status=0
if [[ "$PROVIDER" == sqlite || "$PROVIDER" == both ]]; then run_provider sqlite || status=1; fi
if [[ "$PROVIDER" == postgres || "$PROVIDER" == both ]]; then run_provider postgres || status=1; fi
exit "$status"
