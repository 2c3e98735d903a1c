#!/usr/bin/env bash
# HTTP load harness: measures an empty Kestrel endpoint (the physical limit for our HTTP
# endpoints on this machine) and, optionally, endpoints of an Upswing server you started.
#
# Usage: bench/load/run.sh [--duration 10s] [--connections 64] [--threads 2]
#                          [--warmup 3s] [--target http://127.0.0.1:PORT/path]...
# See bench/load/README.md.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT="$SCRIPT_DIR/EmptyEndpoint/EmptyEndpoint.csproj"
DLL="$SCRIPT_DIR/EmptyEndpoint/bin/Release/net10.0/Upswing.Bench.EmptyEndpoint.dll"
RESULTS_FILE="${RESULTS_DIR:-/tmp}/upswing-load-latest.md"

DURATION="10s"
CONNECTIONS="64"
THREADS="2"
WARMUP="3s"
TARGETS=()
TARGET_LUA=()  # per target: a wrk script for that target only, or "" for the --lua scripts
HEADERS=()
LUA=()

die() { echo "run.sh: error: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

usage() {
  cat <<'EOF'
Usage: bench/load/run.sh [options]

  --duration D       wrk duration per target (default 10s)
  --connections N    open HTTP connections (default 64)
  --threads N        wrk threads (default 2)
  --warmup D         unmeasured wrk run before each target, 0 to skip (default 3s)
  --target URL       extra loopback URL to measure, e.g. http://127.0.0.1:5000/health
  --header H         header sent to the extra targets, e.g. "Authorization: Bearer us_sk_…" (repeatable)
  --lua FILE         wrk script for the extra targets (method, body), e.g. bench/load/eval-post.lua
                     (repeatable; the server must already be running)
  --lua-target FILE URL
                     like --target, but measured with this wrk script only (so a GET and a POST
                     endpoint can be measured in one run, beside one limit)
  -h, --help         this help

Results: printed as a markdown table and written to ${RESULTS_DIR:-/tmp}/upswing-load-latest.md
EOF
}

need_value() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value (see --help)"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration)    need_value "$@"; DURATION="$2"; shift 2 ;;
    --connections) need_value "$@"; CONNECTIONS="$2"; shift 2 ;;
    --threads)     need_value "$@"; THREADS="$2"; shift 2 ;;
    --warmup)      need_value "$@"; WARMUP="$2"; shift 2 ;;
    --target)      need_value "$@"; TARGETS+=("$2"); TARGET_LUA+=(""); shift 2 ;;
    --lua-target)  [[ $# -ge 3 && -n "$2" && -n "$3" ]] || die "--lua-target needs a script and a URL (see --help)"
                   TARGETS+=("$3"); TARGET_LUA+=("$(realpath "$2")"); shift 3 ;;
    --header)      need_value "$@"; HEADERS+=(-H "$2"); shift 2 ;;
    --lua)         need_value "$@"; LUA=(-s "$(realpath "$2")"); shift 2 ;;
    -h|--help)     usage; exit 0 ;;
    *)             die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ "$DURATION" =~ ^[0-9]+[smh]?$ ]] || die "--duration must look like 10s, 1m or 30 (got '$DURATION')"
[[ "$WARMUP" =~ ^[0-9]+[smh]?$ ]] || die "--warmup must look like 3s or 0 (got '$WARMUP')"
[[ "$CONNECTIONS" =~ ^[1-9][0-9]*$ ]] || die "--connections must be a positive integer (got '$CONNECTIONS')"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive integer (got '$THREADS')"
(( THREADS <= CONNECTIONS )) || die "--threads ($THREADS) must not exceed --connections ($CONNECTIONS); wrk needs a connection per thread"

# Load is only ever sent to this machine.
for t in "${TARGETS[@]+"${TARGETS[@]}"}"; do
  [[ "$t" =~ ^http://(127\.0\.0\.1|localhost)(:[0-9]+)?(/.*)?$ ]] \
    || die "--target must be a plain-http loopback URL like http://127.0.0.1:5000/path (got '$t')"
done

# ---------------------------------------------------------------- prerequisites
command -v curl >/dev/null 2>&1 || die "curl is required (apt-get install -y curl)"
command -v dotnet >/dev/null 2>&1 || die "dotnet SDK is required on PATH"
if ! command -v wrk >/dev/null 2>&1; then
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "wrk not found; installing it with apt-get"
    if ! { apt-get update -qq >/dev/null \
        && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq wrk >/dev/null; }; then
      die "installing wrk with apt-get failed"
    fi
    command -v wrk >/dev/null 2>&1 || die "wrk still not on PATH after apt-get install"
  else
    die "wrk is not installed; run 'sudo apt-get install -y wrk' (automatic install needs root and apt-get)"
  fi
fi

# Fail fast, before the build and reference runs, if a --target server is not up.
for t in "${TARGETS[@]+"${TARGETS[@]}"}"; do
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$t" 2>/dev/null || true)"
  [[ -n "$code" && "$code" != "000" ]] || die "--target $t is not answering; start the Upswing server first"
done

# ---------------------------------------------------------------- cleanup
WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/upswing-load.XXXXXX")"
SERVER_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  # Any wrk still running (e.g. after Ctrl-C) is a child of this shell.
  local kid
  for kid in $(jobs -pr 2>/dev/null || true); do
    kill "$kid" 2>/dev/null || true
  done
  rm -rf "$WORK_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Share of all CPUs busy over one second, from /proc/stat (other builds, tests, IDEs...).
cpu_busy_pct() {
  local a b
  a="$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6; exit}' /proc/stat 2>/dev/null)" || return 0
  sleep 1
  b="$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6; exit}' /proc/stat 2>/dev/null)" || return 0
  awk -v a="$a" -v b="$b" 'BEGIN {
    split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; idle = y[2] - x[2]
    if (busy + idle > 0) printf "%.0f", 100 * busy / (busy + idle) }'
}

# ---------------------------------------------------------------- build + start
log "building EmptyEndpoint (Release)"
BUILD_LOG="$WORK_DIR/build.log"
if ! dotnet build -c Release --nologo --disable-build-servers "$PROJECT" >"$BUILD_LOG" 2>&1; then
  grep -E ': (error|warning) ' "$BUILD_LOG" | sort -u | head -20 >&2 || tail -20 "$BUILD_LOG" >&2 || true
  die "dotnet build -c Release $PROJECT failed (errors above)"
fi
[[ -f "$DLL" ]] || die "build succeeded but $DLL is missing"

port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$(( 20000 + RANDOM % 20000 ))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  return 1
}

PORT="$(free_port)" || die "could not find a free loopback port"
BASE="http://127.0.0.1:$PORT"
SERVER_LOG="$WORK_DIR/server.log"
log "starting EmptyEndpoint on $BASE"
ASPNETCORE_ENVIRONMENT=Production DOTNET_NOLOGO=1 \
  dotnet "$DLL" --urls "$BASE" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

deadline=$(( SECONDS + 30 ))
until curl -fsS -o /dev/null --max-time 1 "$BASE/" 2>/dev/null; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    tail -20 "$SERVER_LOG" >&2 || true
    die "EmptyEndpoint exited before answering on $BASE"
  fi
  (( SECONDS < deadline )) || die "EmptyEndpoint did not answer on $BASE within 30s"
  sleep 0.2
done

# ---------------------------------------------------------------- measure
# wrk prints latencies as e.g. 812.00us, 1.23ms, 2.01s, 1.00m; normalise to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
    else if (u == "h") n *= 3600000; else if (u != "ms") { print "?"; exit }
    printf "%.2f", n }'
}

# wrk runs as a background job that we wait on: wrk treats SIGINT as "stop early and print
# results" and exits 0, so in the foreground a Ctrl-C would only skip to the next target.
# With `wait`, the INT trap (set above) fires at once and cleanup stops wrk and the server.
run_wrk() {
  local out="$1"; shift
  wrk "$@" >"$out" 2>&1 &
  wait "$!"
}

ROWS=()       # "url|rps|avg|p50|p99" per target
WARNINGS=()

# Sampled after the build, with the reference server idle: anything busy now competes with
# the run. Only a warning, because the harness cannot tell whose work it is.
BACKGROUND_CPU="$(cpu_busy_pct)"
if [[ -n "$BACKGROUND_CPU" ]] && (( BACKGROUND_CPU >= 15 )); then
  WARNINGS+=("${BACKGROUND_CPU}% of CPU was busy with other work just before the run (check top); numbers are likely low and noisy")
fi

measure() {
  local url="$1" own_lua="$2" out rps avg p50 p99 non2xx sockerr code
  shift 2
  local -a headers=("$@") lua=()
  if [[ -n "$own_lua" ]]; then
    lua=(-s "$own_lua")
  elif [[ "$url" != "$BASE"* ]]; then
    lua=("${LUA[@]+"${LUA[@]}"}")
  fi
  # A wrk script may change the method and body, so only plain GETs are checked up front; wrk's own
  # count of non-2xx/3xx responses (below) catches the rest.
  if [[ ${#lua[@]} -eq 0 ]]; then
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${headers[@]+"${headers[@]}"}" "$url" || true)"
    [[ "$code" =~ ^2 ]] || WARNINGS+=("$url answered HTTP ${code:-no response} before the run; its numbers measure that response, not the endpoint's happy path")
  fi
  if [[ "$WARMUP" != "0" && "$WARMUP" != "0s" ]]; then
    log "warming up $url ($WARMUP, not measured)"
    run_wrk /dev/null -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "${headers[@]+"${headers[@]}"}" "${lua[@]+"${lua[@]}"}" "$url" || true
  fi
  log "measuring $url (wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency)"
  out="$WORK_DIR/wrk.$(( ${#ROWS[@]} )).txt"
  run_wrk "$out" -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${headers[@]+"${headers[@]}"}" "${lua[@]+"${lua[@]}"}" "$url" \
    || { cat "$out" >&2; die "wrk failed against $url"; }
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
  avg="$(awk '$1 == "Latency" && NF >= 5 {print $2; exit}' "$out")"
  p50="$(awk '$1 == "50%" {print $2; exit}' "$out")"
  p99="$(awk '$1 == "99%" {print $2; exit}' "$out")"
  [[ -n "$rps" && -n "$avg" && -n "$p50" && -n "$p99" ]] \
    || { cat "$out" >&2; die "could not parse wrk output for $url"; }
  non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")"
  sockerr="$(grep -m1 '^ *Socket errors:' "$out" | sed 's/^ *//' || true)"
  [[ -n "$non2xx" ]] && WARNINGS+=("$url: $non2xx non-2xx/3xx responses during the run")
  [[ -n "$sockerr" ]] && WARNINGS+=("$url: $sockerr")
  LAST_ROW="$url|$rps|$(to_ms "$avg")|$(to_ms "$p50")|$(to_ms "$p99")"
}

LIMITS=()     # req/s of the empty `/`: once before the first target and again after each one
measure "$BASE/" ""; ROWS+=("$LAST_ROW"); LIMITS+=("$(cut -d'|' -f2 <<<"$LAST_ROW")")
measure "$BASE/json" ""; ROWS+=("$LAST_ROW|${LIMITS[0]}")
ROWS[0]+="|${LIMITS[0]}"

# The limit moves by ±20 % within minutes on shared cores, so each target is measured between two
# measurements of the empty `/` and compared with their mean: the limit "in the same run" is the one
# measured right beside it. The idle reference server costs the target nothing meanwhile.
# A target measured with a wrk script (a POST with a body, a new body per request) also gets the limit for
# exactly its traffic: the same script and headers sent to the empty endpoint, which answers POST / too.
# wrk's Lua request generation costs CPU on the same cores, so GET / alone understates what is possible.
for i in "${!TARGETS[@]}"; do
  measure "${TARGETS[$i]}" "${TARGET_LUA[$i]}" "${HEADERS[@]+"${HEADERS[@]}"}"
  row="$LAST_ROW"
  same=""
  if [[ -n "${TARGET_LUA[$i]}" || ${#LUA[@]} -gt 0 ]]; then
    measure "$BASE/" "${TARGET_LUA[$i]:-${LUA[1]}}" "${HEADERS[@]+"${HEADERS[@]}"}"; same="$(cut -d'|' -f2 <<<"$LAST_ROW")"
  fi
  measure "$BASE/" ""; LIMITS+=("$(cut -d'|' -f2 <<<"$LAST_ROW")")
  ROWS+=("$row|$(awk -v a="${LIMITS[$i]}" -v b="${LIMITS[$((i + 1))]}" 'BEGIN { print (a + b) / 2 }')|$same")
done

kill -TERM "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

# ---------------------------------------------------------------- report
TABLE="| target | req/s | avg (ms) | p50 (ms) | p99 (ms) | limit beside it (req/s) | ratio to the limit | same requests to the empty endpoint (req/s) | ratio to that |
|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for row in "${ROWS[@]}"; do
  IFS='|' read -r url rps avg p50 p99 limit same <<<"$row"
  label="$url"
  [[ "$url" == "$BASE/" ]] && label="empty \`/\`"
  [[ "$url" == "$BASE/json" ]] && label="empty \`/json\`"
  ratio="$(awk -v a="$rps" -v b="$limit" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
  rps_fmt="$(awk -v a="$rps" 'BEGIN { printf "%.0f", a }')"
  limit_fmt="$(awk -v a="$limit" 'BEGIN { printf "%.0f", a }')"
  same_fmt="—"; same_ratio="—"
  if [[ -n "$same" ]]; then
    same_fmt="$(awk -v a="$same" 'BEGIN { printf "%.0f", a }')"
    same_ratio="$(awk -v a="$rps" -v b="$same" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
  fi
  TABLE+=$'\n'"| $label | $rps_fmt | $avg | $p50 | $p99 | $limit_fmt | $ratio | $same_fmt | $same_ratio |"
done
LIMIT_RANGE="$(printf '%s\n' "${LIMITS[@]}" | awk 'NR == 1 || $1 < min { min = $1 } NR == 1 || $1 > max { max = $1 } END { printf "%.0f–%.0f req/s over %d measurements", min, max, NR }')"

NPROC="$(nproc 2>/dev/null || echo '?')"
CPU_MODEL="$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)"
DOTNET_VERSION="$(dotnet --version 2>/dev/null || echo '?')"
WRK_VERSION="$(wrk --version 2>&1 | head -1 | awk '{print $2}' || true)"
NOW="$(date -u '+%Y-%m-%dT%H:%M:%SZ')"
SHARED_NOTE="Note: wrk and the server under test share the same $NPROC core(s); wrk's own CPU use lowers every number, so compare ratios, not absolute req/s."

REPORT="# Upswing HTTP load — $NOW

- wrk settings: \`-t$THREADS -c$CONNECTIONS -d$DURATION --latency\` (warm-up: $WARMUP per target, not measured)
- machine: $NPROC cores, ${CPU_MODEL:-unknown CPU}, dotnet $DOTNET_VERSION, wrk ${WRK_VERSION:-?}
- background CPU just before the run: ${BACKGROUND_CPU:-?}% (all cores; anything well above 0 skews results)
- reference: bench/load/EmptyEndpoint (Kestrel, Release, logging off) on 127.0.0.1, measured before the first
  target and after each one; a target's ratio is to the mean of the two measurements beside it ($LIMIT_RANGE).
  A target measured with a wrk script is also compared with the empty endpoint receiving the same requests
  (same script, headers and bodies; its POST / answers like GET /), measured right after it.

$TABLE

$SHARED_NOTE"
for w in "${WARNINGS[@]+"${WARNINGS[@]}"}"; do
  REPORT+=$'\n'"- WARNING: $w"
done

mkdir -p "$(dirname "$RESULTS_FILE")"
printf '%s\n' "$REPORT" >"$RESULTS_FILE"

echo
echo "$TABLE"
echo
echo "$SHARED_NOTE"
echo "The limit (empty \`/\`) measured $LIMIT_RANGE."
echo "Background CPU just before the run: ${BACKGROUND_CPU:-?}% of all cores."
for w in "${WARNINGS[@]+"${WARNINGS[@]}"}"; do echo "WARNING: $w"; done
echo
echo "Results written to $RESULTS_FILE"
