#!/usr/bin/env bash
# Installs InfluxDB (influxd and the influx CLI, Debian's influxdb and influxdb-client packages) when influxd is missing.
# Installing needs root. Without root: with --required (the demo, which cannot run without it) it fails; otherwise it
# warns that the InfluxDB tests will fail and succeeds (the other tests still run).
set -euo pipefail

required=false
if [ "${1:-}" = "--required" ]; then
  required=true
fi

if command -v influxd >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  echo "Installing InfluxDB (influxd, influx) from Debian..."
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends influxdb influxdb-client
elif [ "$required" = true ]; then
  echo "influxd is not installed and this is not root: run as root or apt-get install influxdb influxdb-client." >&2
  exit 1
else
  echo "influxd is not installed and this is not root: the InfluxDB tests will fail (apt-get install influxdb influxdb-client)." >&2
fi
