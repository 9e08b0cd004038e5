#!/usr/bin/env bash
# `make demo`: confops on embedded defaults watching the bundled example Dagster pipeline.
# Everything runs under confops/runtime/processes.py (the Procfile, a dead process restarted and shown
# on /health/detailed); Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# VENV is the repository's .venv by default; a relative path is taken from the repository's root.
VENV=${VENV:-.venv}
case $VENV in /*) ;; *) VENV=$ROOT/$VENV ;; esac
BIN=$VENV/bin
if [ ! -x "$BIN/python" ]; then
  echo "No virtualenv at $VENV: run 'make demo' (it creates one), or set VENV to a virtualenv with .[demo] installed." >&2
  exit 1
fi
export PATH="$BIN:$PATH"

# The portal: embedded defaults (SQLite, file-system broker, file cache, console email).
export DEBUG=${DEBUG:-true}
export CONFOPS_DATA_DIR=${CONFOPS_DATA_DIR:-$ROOT/var}
export CONFOPS_BIND=${CONFOPS_BIND:-127.0.0.1:8000}
export CONFOPS_BASE_URL=${CONFOPS_BASE_URL:-http://$CONFOPS_BIND}
export HEARTBEAT_INTERVAL_SECONDS=${HEARTBEAT_INTERVAL_SECONDS:-10}

# The example pipelines: one Dagster instance under var/dagster (one webserver, one daemon)
# serving both examples as code locations of one deployment (examples/workspace.yaml).
# ConfRadar: a demo schedule every two minutes and a faults file you can edit to cause
# incidents (see examples/confradar). RetailFeed: its daily schedule and catalogue sensor on,
# and its demo sensor seeding the last days' partitions at once, then a little every day.
export DAGSTER_HOME=${DAGSTER_HOME:-$CONFOPS_DATA_DIR/dagster}
export DAGSTER_WEBSERVER_HOST=${DAGSTER_WEBSERVER_HOST:-127.0.0.1}
export DAGSTER_WEBSERVER_PORT=${DAGSTER_WEBSERVER_PORT:-3000}
export CONFRADAR_DEMO=1
export CONFRADAR_FAULTS_FILE=${CONFRADAR_FAULTS_FILE:-$DAGSTER_HOME/confradar_faults.json}
export CONFRADAR_DB=${CONFRADAR_DB:-$DAGSTER_HOME/confradar.sqlite3}
export RETAILFEED_AUTOMATION=on
export RETAILFEED_DEMO=1
export RETAILFEED_FAULTS_FILE=${RETAILFEED_FAULTS_FILE:-$DAGSTER_HOME/retailfeed_faults.json}
export PYTHONPATH="$ROOT/examples/confradar:$ROOT/examples/retailfeed${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cat > "$DAGSTER_HOME/dagster.yaml" <<'YAML'
# Two runs at a time: the demo's first minutes ask for several, on a machine of two cores.
concurrency:
  runs:
    max_concurrent_runs: 2
telemetry:
  enabled: false
YAML

for port in "${CONFOPS_BIND##*:}" "$DAGSTER_WEBSERVER_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "Port $port is already in use: stop what runs there or set CONFOPS_BIND / DAGSTER_WEBSERVER_PORT." >&2
    exit 1
  fi
done

python manage.py migrate --no-input -v 0
# Create Dagster's storage once, before its webserver and daemon race to create it.
dagster instance migrate >/dev/null
python manage.py demo_bootstrap \
  --portal-url "$CONFOPS_BASE_URL" \
  --dagster-url "http://$DAGSTER_WEBSERVER_HOST:$DAGSTER_WEBSERVER_PORT"
# The command as a new shell in the repository's root runs it: the CLI finds var/dagster's faults
# file by itself, any other one must be named.
faults_env=""
[ "$CONFRADAR_FAULTS_FILE" = "$ROOT/var/dagster/confradar_faults.json" ] ||
  faults_env="CONFRADAR_FAULTS_FILE=$CONFRADAR_FAULTS_FILE "
echo "  Cause an incident: ${faults_env}PYTHONPATH=examples/confradar ${BIN#"$ROOT"/}/python -m confradar.faults set elra_conferences --fail"
echo "  RetailFeed's faults: write $RETAILFEED_FAULTS_FILE (examples/retailfeed/README.md lists them)"
echo "  Starting web, worker, beat, Dagster webserver and daemon (Ctrl-C stops everything)..."
exec python -m confops.runtime.processes Procfile
