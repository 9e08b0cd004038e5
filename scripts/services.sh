#!/usr/bin/env bash
# Installs (from Debian packages, if missing) and starts PostgreSQL and Redis on loopback for the
# test suite, installs Debian's Chromium for the browser tests and promtool (Debian's prometheus
# package, for the deploy/prometheus checks), then writes the servers' URLs to
# $SERVICES_DIR/env.sh. Idempotent: running servers are reused.
#   scripts/services.sh start | stop
set -euo pipefail

SERVICES_DIR=${CONFOPS_SERVICES_DIR:-/tmp/confops-services}
PG_PORT=${CONFOPS_TEST_PG_PORT:-54329}
REDIS_PORT=${CONFOPS_TEST_REDIS_PORT:-63799}
PG_DIR=$SERVICES_DIR/pg
mkdir -p "$SERVICES_DIR"

log() { echo "services: $*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  log "installing $* with apt-get"
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] \
     || [ -z "${APT_UPDATED:-}" ]; then
    as_root apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# PostgreSQL refuses to run as root: run its tools as the 'postgres' user then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  [ -n "$(pg_bin)" ] || apt_install postgresql
  local bin; bin=$(pg_bin)
  if [ "$(id -u)" = 0 ]; then chown postgres "$SERVICES_DIR"; fi
  if [ ! -s "$PG_DIR/PG_VERSION" ]; then
    mkdir -p "$PG_DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
    as_pg "$bin/initdb" -D "$PG_DIR" -U postgres -A trust -E UTF8 >/dev/null
  fi
  if ! as_pg "$bin/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$PG_DIR" -l "$SERVICES_DIR/pg.log" -w -t 60 start \
      -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
  fi
  log "PostgreSQL on 127.0.0.1:$PG_PORT"
}

start_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' \
      --appendonly no --dir "$SERVICES_DIR" --pidfile "$SERVICES_DIR/redis.pid" \
      --logfile "$SERVICES_DIR/redis.log"
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  log "Redis on 127.0.0.1:$REDIS_PORT"
}

stop_all() {
  local bin; bin=$(pg_bin)
  [ -n "$bin" ] && [ -d "$PG_DIR" ] && as_pg "$bin/pg_ctl" -D "$PG_DIR" -m fast stop >/dev/null 2>&1 || true
  command -v redis-cli >/dev/null && redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  log "stopped"
}

install_chromium() {
  # Browser tests drive Debian's Chromium through Playwright; never a downloaded browser.
  command -v chromium >/dev/null || apt_install chromium
  log "Chromium: $(command -v chromium)"
}

install_promtool() {
  # The tests check deploy/prometheus with promtool; Debian ships it in the prometheus package.
  # Only the tool is wanted: no recommended extras, and no Prometheus server is started.
  if ! command -v promtool >/dev/null; then
    apt_install --no-install-recommends prometheus
    # The package enables its server where systemd runs (CI runners): stop it again.
    command -v systemctl >/dev/null && as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  log "promtool: $(command -v promtool)"
}

case "${1:-start}" in
  start)
    start_postgres
    start_redis
    install_chromium
    install_promtool
    cat > "$SERVICES_DIR/env.sh" <<ENV
export TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PG_PORT/confops
export TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
ENV
    echo "$SERVICES_DIR/env.sh"
    ;;
  stop) stop_all ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
