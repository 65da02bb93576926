#!/usr/bin/env bash
# Runs every StreamMonitor test (unit, integration against an embedded Kafka cluster and a real influxd, end to end).
# Works on a fresh Debian 12 machine with the .NET 10 SDK: installs InfluxDB, and the Python packages the producer
# example needs, when they are missing (as root).
# Last line of output: "N passed, N failed, N skipped". Exit code non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

scripts/ensure-influxdb.sh
scripts/ensure-python.sh

results=artifacts/test-results
rm -rf "$results"
mkdir -p "$results"

failures() {
  # Name every failed test (and the first line of its message) so the tail of a CI log says what broke.
  local f
  for f in "$results"/*.trx; do
    [ -e "$f" ] || continue
    python3 - "$f" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for r in ET.parse(sys.argv[1]).getroot().iterfind(".//t:UnitTestResult", ns):
    if r.get("outcome") not in ("Passed", "NotExecuted"):
        m = r.find(".//t:Message", ns)
        first = (m.text or "").strip().splitlines()[0] if m is not None and m.text else ""
        print(f"FAILED {r.get('testName')} ({r.get('duration')}): {first[:300]}")
PY
  done
}

summary() {
  # Sum the counters of every TRX file (one per test project).
  local passed=0 failed=0 skipped=0 f p x s t e
  for f in "$results"/*.trx; do
    [ -e "$f" ] || continue
    p=$(grep -o '<Counters [^>]*' "$f" | grep -o ' passed="[0-9]*"' | grep -o '[0-9]*' || echo 0)
    x=$(grep -o '<Counters [^>]*' "$f" | grep -oE ' (failed|error|timeout|aborted)="[0-9]*"' | grep -o '[0-9]*' | awk '{s+=$1} END {print s+0}')
    # Skipped tests are not in notExecuted: they are the ones counted in total but not executed.
    t=$(grep -o '<Counters [^>]*' "$f" | grep -o ' total="[0-9]*"' | grep -o '[0-9]*' || echo 0)
    e=$(grep -o '<Counters [^>]*' "$f" | grep -o ' executed="[0-9]*"' | grep -o '[0-9]*' || echo 0)
    s=$((t - e))
    passed=$((passed + p)); failed=$((failed + x)); skipped=$((skipped + s))
  done
  echo "$passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
}

status=0
dotnet restore StreamMonitor.sln || status=$?
if [ "$status" -eq 0 ]; then
  dotnet build StreamMonitor.sln -c Release --no-restore || status=$?
fi
if [ "$status" -eq 0 ]; then
  # One project at a time: every project gets its own TRX file and the integration tests do not compete for 2 cores.
  for project in tests/*.Tests/*.Tests.csproj; do
    name=$(basename "$project" .csproj)
    echo "== $name"
    dotnet test "$project" -c Release --no-build \
      --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" --results-directory "$results" || status=1
  done
  # The GPU flavour of the scorer (Microsoft.ML.OnnxRuntime.Gpu.Linux, obj/bin under artifacts/gpu): it must build
  # and, on a machine without CUDA, fall back to CPU under auto and refuse to start under cuda.
  echo "== StreamMonitor.Scorer.Tests, OnnxRuntimeFlavor=Gpu (execution provider tests)"
  gpu_start=$SECONDS
  dotnet test tests/StreamMonitor.Scorer.Tests/StreamMonitor.Scorer.Tests.csproj -c Release -p:OnnxRuntimeFlavor=Gpu --filter "Category=ExecutionProvider" \
    --logger "trx;LogFileName=StreamMonitor.Scorer.Tests.Gpu.trx" --logger "console;verbosity=normal" --results-directory "$results" || status=1
  echo "GPU flavour restored, built and tested in $((SECONDS - gpu_start)) s"
fi

failures
summary || status=1
exit "$status"
