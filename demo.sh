#!/usr/bin/env bash
# Runs the StreamMonitor demo on a fresh Debian 12 machine with the .NET 10 SDK: installs InfluxDB if it is missing,
# builds, then `streammon demo` starts the embedded Kafka cluster, a local InfluxDB, builds the models and the drift
# reference from data/, starts the scorer, aggregator and alerter as separate processes, runs phased traffic (normal,
# latency regression, feature drift) with delayed labels, shows live progress and ends with a summary.
# Options are passed through, e.g. ./demo.sh --duration 300 --rate 80 --keep-running (see ./demo.sh --help).
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

scripts/ensure-influxdb.sh --required

dotnet restore StreamMonitor.sln
dotnet build StreamMonitor.sln -c Release --no-restore
exec dotnet src/StreamMonitor.Cli/bin/Release/net10.0/streammon.dll demo "$@"
