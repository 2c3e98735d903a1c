#!/usr/bin/env bash
# Runs Upswing's whole test suite on a fresh machine of this kind.
# As root with apt, it first installs the system packages the tests use (PostgreSQL server binaries,
# Chromium, fonts, Node.js for the dashboard's npm build step). Then: restore, build (warnings are errors),
# `dotnet format --verify-no-changes`, and the unit, integration (SQLite and PostgreSQL) and browser tests.
# Under CI=true, tests that need PostgreSQL or Chromium fail instead of skipping when those are missing.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v chromium >/dev/null || missing+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing system packages: ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "==> missing system packages (run as root to install them): ${missing[*]}" >&2
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
configuration=${CONFIGURATION:-Release}
results=$(mktemp -d)

echo "==> restore and build ($configuration)"
dotnet build Upswing.slnx -c "$configuration" --disable-build-servers -nologo -clp:ErrorsOnly

echo "==> dotnet format --verify-no-changes"
dotnet format Upswing.slnx --verify-no-changes --no-restore

status=0
for project in tests/Upswing.Evaluation.Tests tests/Upswing.Statistics.Tests tests/Upswing.App.Tests tests/Upswing.IntegrationTests tests/Upswing.Sdk.Tests tests/Upswing.BrowserTests; do
  echo "==> $project"
  dotnet test "$project" -c "$configuration" --no-build -nologo \
    --logger "trx;LogFilePrefix=$(basename "$project")" --results-directory "$results" || status=1
done

# One closing line in the plain 'N passed, N failed' form, summed over every test project's TRX report.
python3 - "$results" <<'PY' || true
import glob, re, sys
totals = {"passed": 0, "failed": 0, "notExecuted": 0}
for path in glob.glob(sys.argv[1] + "/*.trx"):
    text = open(path, encoding="utf-8").read()
    m = re.search(r"<Counters [^>]*>", text)
    if m:
        for key in totals:
            k = re.search(key + r'="(\d+)"', m.group(0))
            totals[key] += int(k.group(1)) if k else 0
print(f"tests: {totals['passed']} passed, {totals['failed']} failed, {totals['notExecuted']} skipped")
PY
exit $status
