#!/usr/bin/env bash
# Starts the project's own Redis (Debian redis-server) on loopback, as a daemon.
# Rules: one instance per port, run by scripts/redis-serve.sh (the command line the
# systemd unit runs too: its data and pid under $IVR_STATE_DIR/redis-PORT, the owner's
# only; append-only persistence; clients must authenticate with IVR_REDIS_PASSWORD or
# the state folder's secrets/redis_password, which redis-server reads on its standard
# input); redis-cli gets the password from REDISCLI_AUTH, never from its arguments; an
# instance of ours already answering on the port is reused when it requires that
# password and restarted when it requires none (an older start); older files are
# narrowed; installs redis-server if missing; returns only once Redis answers.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || {
  need_root
  log "installing redis-server"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null \
    || die "redis-server is missing and apt-get could not install it"
}
private_state
password=$(redis_password)
dir="$IVR_STATE_DIR/redis-$REDIS_PORT"
mkdir -p -m 0700 "$dir"
# PONG to a client with the password (REDISCLI_AUTH), or to one without any.
answers() { REDISCLI_AUTH=$password redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
answers_anyone() { (unset REDISCLI_AUTH && redis-cli -p "$REDIS_PORT" ping 2>/dev/null) | grep -q PONG; }
if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
  pid=$(cat "$dir/redis.pid")
  if answers_anyone; then
    log "Redis on 127.0.0.1:$REDIS_PORT (pid $pid) answers without a password (an older start): restarting it"
    bash "$REPO_DIR/scripts/redis-stop.sh"
  elif answers; then
    log "Redis already running on 127.0.0.1:$REDIS_PORT (pid $pid)"
    exit 0
  else
    die "Redis on 127.0.0.1:$REDIS_PORT (pid $pid) refuses the password (IVR_REDIS_PASSWORD or $IVR_STATE_DIR/secrets/redis_password): stop it with make stop"
  fi
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null; then
  die "something else already listens on 127.0.0.1:$REDIS_PORT; stop it or set REDIS_PORT"
fi
bash "$REPO_DIR/scripts/redis-serve.sh" >/dev/null \
  || die "redis-server did not start on 127.0.0.1:$REDIS_PORT (see $dir/redis.log)"
for _ in $(seq 1 50); do
  if [ -s "$dir/redis.pid" ] && answers; then
    log "Redis up on 127.0.0.1:$REDIS_PORT (pid $(cat "$dir/redis.pid")), password required"
    exit 0
  fi
  sleep 0.1
done
die "Redis started but does not answer on 127.0.0.1:$REDIS_PORT (see $dir/redis.log)"
