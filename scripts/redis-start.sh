#!/usr/bin/env bash
# Starts the project's own Redis (Debian redis-server) on loopback.
# Rules: one instance per port, its data and pid under $IVR_STATE_DIR/redis-PORT;
# append-only persistence so call records survive a restart; an instance of ours
# already answering on the port is reused; installs redis-server if missing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || {
  need_root
  log "installing redis-server"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null \
    || die "redis-server is missing and apt-get could not install it"
}
dir="$IVR_STATE_DIR/redis-$REDIS_PORT"
mkdir -p "$dir"
if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
  log "Redis already running on 127.0.0.1:$REDIS_PORT (pid $(cat "$dir/redis.pid"))"
  exit 0
fi
if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  die "another Redis already answers on 127.0.0.1:$REDIS_PORT; stop it or set REDIS_PORT"
fi
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
  --pidfile "$dir/redis.pid" --dir "$dir" --logfile "$dir/redis.log" \
  --appendonly yes --save "" --protected-mode yes \
  || die "redis-server did not start on 127.0.0.1:$REDIS_PORT (see $dir/redis.log)"
for _ in $(seq 1 50); do
  if [ -s "$dir/redis.pid" ] && redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
    log "Redis up on 127.0.0.1:$REDIS_PORT (pid $(cat "$dir/redis.pid"))"
    exit 0
  fi
  sleep 0.1
done
die "Redis started but does not answer on 127.0.0.1:$REDIS_PORT (see $dir/redis.log)"
