#!/usr/bin/env bash
# Runs the project's own Redis (Debian redis-server): as a daemon for
# scripts/redis-start.sh, or with --foreground in place of this script for the systemd
# unit ivr112-redis.service (it then tells systemd when it is ready, and logs to the
# journal). One command line for both.
# Rules: loopback only, on REDIS_PORT; its data, pid and log under
# $IVR_STATE_DIR/redis-PORT, the owner's only (umask 077); append-only persistence so
# call records survive a restart; clients must authenticate with IVR_REDIS_PASSWORD or
# the state folder's secrets/redis_password (made once), which redis-server reads as
# configuration on its standard input, never from its arguments (a here-string: bash
# ≥ 5.1 passes one this small through a pipe, never a file).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir="$IVR_STATE_DIR/redis-$REDIS_PORT"
case "${1:-}" in
  --foreground) mode=(--daemonize no --supervised auto --logfile "") ;;
  "") mode=(--daemonize yes --logfile "$dir/redis.log") ;;
  *) die "usage: redis-serve.sh [--foreground] (got '$1')" ;;
esac
command -v redis-server >/dev/null || die "redis-server is not installed (make deps)"
private_state
password=$(redis_password)
mkdir -p -m 0700 "$dir"
quoted=${password//\\/\\\\}
quoted=${quoted//\"/\\\"}
umask 077
exec redis-server - --bind 127.0.0.1 --port "$REDIS_PORT" --pidfile "$dir/redis.pid" --dir "$dir" \
  "${mode[@]}" --appendonly yes --save "" --protected-mode yes \
  <<<"requirepass \"$quoted\""
