#!/usr/bin/env bash
# Stops the project's Redis on $REDIS_PORT, by its pid only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pidfile="$IVR_STATE_DIR/redis-$REDIS_PORT/redis.pid"
[ -f "$pidfile" ] || { log "not running (no $pidfile)"; exit 0; }
pid=$(cat "$pidfile")
kill -TERM "$pid" 2>/dev/null || true
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
rm -f "$pidfile"
log "stopped Redis (pid $pid)"
