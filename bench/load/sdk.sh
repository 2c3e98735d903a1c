#!/usr/bin/env bash
# SDK endpoints under load, beside the empty-endpoint limit measured in the same run.
# Builds the server (Release), seeds the demo workspace (four flags: saved-group force + rollout,
# $in force + 3-arm experiment, 2-arm experiment, JSON default) into a throwaway data directory,
# creates a production client key, starts `upswing serve` with logging at Warning, and runs run.sh
# against GET /api/features/{key}, POST /api/eval/{key}, POST /v1/assignment (returning users, then new
# users whose assignments are committed) and /health/live.
#
# Usage: bench/load/sdk.sh [run.sh options, e.g. --duration 10s]
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
BIN="$ROOT/src/Upswing.Server/bin/Release/net10.0/upswing.dll"

log() { echo "==> $*" >&2; }

log "building the server (Release)"
dotnet build "$ROOT/src/Upswing.Server" -c Release --nologo --disable-build-servers -v q >/dev/null

DATA="$(mktemp -d "${TMPDIR:-/tmp}/upswing-sdk-load.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT

export Logging__LogLevel__Default=Warning DOTNET_NOLOGO=1
# No job workers on this node: the demo's rollups run every 5 minutes and take the two cores for a few seconds,
# which put p99 spikes of up to a second into whichever target was being measured then. Rollups have their own
# benchmark (rollups.sh); this one measures the endpoints.
export Jobs__RunWorkers=false
dotnet "$BIN" seed --demo --data-dir "$DATA" >/dev/null
KEY="$(dotnet "$BIN" keys create --workspace demo --kind client --environment production --name load --data-dir "$DATA")"

PORT=$(( 40000 + RANDOM % 10000 ))
BASE="http://127.0.0.1:$PORT"
log "starting upswing on $BASE"
dotnet "$BIN" serve --urls "$BASE" --data-dir "$DATA" >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
deadline=$(( SECONDS + 60 ))
until curl -fsS -o /dev/null --max-time 1 "$BASE/health/ready" 2>/dev/null; do
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$DATA/server.log" >&2; exit 1; }
  (( SECONDS < deadline )) || { echo "server did not become ready" >&2; exit 1; }
  sleep 0.3
done

"$SCRIPT_DIR/run.sh" "$@" \
  --target "$BASE/health/live" \
  --target "$BASE/api/features/$KEY" \
  --header "Authorization: Bearer $KEY" \
  --lua-target "$SCRIPT_DIR/eval-post.lua" "$BASE/api/eval/$KEY" \
  --lua-target "$SCRIPT_DIR/assign-known.lua" "$BASE/v1/assignment?users=returning" \
  --lua-target "$SCRIPT_DIR/assign-new.lua" "$BASE/v1/assignment?users=new"
