#!/usr/bin/env bash
# Runs the StreamMonitor demo on a fresh Debian 12 machine with the .NET 10 SDK: installs what it needs, starts the
# embedded Kafka cluster and a local InfluxDB, checks both, then stops them.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if ! command -v influxd >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "Installing InfluxDB (influxd, influx) from Debian..."
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends influxdb influxdb-client
  else
    echo "influxd is not installed and this is not root: run as root or apt-get install influxdb influxdb-client." >&2
    exit 1
  fi
fi

dotnet restore StreamMonitor.sln
dotnet build StreamMonitor.sln -c Release --no-restore
cli=(dotnet src/StreamMonitor.Cli/bin/Release/net10.0/streammon.dll)

work=$(mktemp -d /tmp/streammon-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

wait_for_file() {
  local file=$1 pid=$2 what=$3
  for _ in $(seq 1 600); do
    [ -s "$file" ] && return 0
    kill -0 "$pid" 2>/dev/null || { echo "$what exited before it was ready." >&2; return 1; }
    sleep 0.1
  done
  echo "$what was not ready within 60 s." >&2
  return 1
}

echo "== Starting the embedded Kafka cluster (3 brokers)"
"${cli[@]}" kafka up --brokers 3 --bootstrap-file "$work/bootstrap" --control-url-file "$work/kafka-control" &
pids+=($!)
wait_for_file "$work/bootstrap" "${pids[-1]}" "The embedded Kafka cluster"
"${cli[@]}" kafka check --bootstrap-file "$work/bootstrap"

if "${cli[@]}" influx up --help >/dev/null 2>&1; then
  echo "== Starting a local InfluxDB"
  "${cli[@]}" influx up --url-file "$work/influx-url" &
  pids+=($!)
  wait_for_file "$work/influx-url" "${pids[-1]}" "InfluxDB"
  "${cli[@]}" influx query --url "$(cat "$work/influx-url")" "SHOW DATABASES"
else
  echo "== streammon influx up is not available in this build; InfluxDB not started." >&2
  exit 1
fi

echo "== Demo environment is up and checked; stopping it."
