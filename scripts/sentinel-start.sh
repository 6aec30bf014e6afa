#!/usr/bin/env bash
# Starts Redis with Sentinel on this host: a primary (REDIS_PRIMARY), one replica
# (REDIS_REPLICA) and three Sentinels (IVR_REDIS_SENTINELS) watching them as the service
# IVR_REDIS_SERVICE, each a daemon on its own loopback address and port (Debian redis-server
# and redis-sentinel). The form the tests and a trial use; on separate hosts each member runs
# the same configuration lines on its own host (docs/operations.md, "Redis with Sentinel").
# Rules:
# - Only members not running are started; a running one is left alone. Returns once the
#   replica is in sync and every Sentinel says the quorum is reachable (SENTINEL ckquorum)
#   and knows the replica, or fails naming what is missing.
# - A data node never comes back as an empty primary: the primary is the one the running
#   Sentinels name, else the one the Sentinels' configuration last named (they rewrite it at
#   a failover), else REDIS_PRIMARY; every other data node starts as its replica.
# - Each member announces its own address (replica-announce-ip, sentinel announce-ip):
#   otherwise on loopback aliases they see each other as 127.0.0.1 and the quorum fails.
# - Every member requires the password (IVR_REDIS_PASSWORD, else the state folder's
#   secrets/redis_password), the Sentinels too (and among themselves); it is in the members'
#   configuration files (Sentinel rewrites its own), so each member's folder under
#   SENTINEL_DIR is the owner's only (umask 077); redis-cli gets it from REDISCLI_AUTH.
# - Append-only persistence on the data nodes, as scripts/redis-serve.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/scripts/pids.sh"
. "$REPO_DIR/scripts/sentinel-lib.sh"

for program in redis-server redis-sentinel redis-cli; do
  command -v "$program" >/dev/null || die "$program is not installed (make deps: redis-server, redis-sentinel)"
done
private_state
password=$(redis_password)
umask 077
mkdir -p -m 0700 "$SENTINEL_DIR"
chmod 0700 "$SENTINEL_DIR"

# The primary as the Sentinels know it (see the rules), as ip:port.
current_primary() {
  local sentinel answer conf
  for sentinel in $SENTINELS; do
    member_pid sentinel "$sentinel" >/dev/null || continue
    answer=$(cli "$sentinel" SENTINEL get-master-addr-by-name "$IVR_REDIS_SERVICE" | paste -sd: -) || true
    case "$answer" in *.*:[0-9]*) printf '%s' "$answer"; return ;; esac
  done
  conf=$(ls -t "$SENTINEL_DIR"/sentinel-*/sentinel.conf 2>/dev/null | head -n 1) || true
  if [ -n "$conf" ]; then
    answer=$(awk -v s="$IVR_REDIS_SERVICE" '$1 == "sentinel" && $2 == "monitor" && $3 == s {print $4 ":" $5}' "$conf")
    case "$answer" in *.*:[0-9]*) printf '%s' "$answer"; return ;; esac
  fi
  printf '%s' "$REDIS_PRIMARY"
}

free_address() {
  ! (exec 3<>"/dev/tcp/$(host_of "$1")/$(port_of "$1")") 2>/dev/null \
    || die "something else already listens on $1 (no pid of this set there): stop it or choose another $2"
}

start_data_node() {
  local address=$1 primary=$2 dir role
  dir=$(member_dir redis "$address")
  mkdir -p -m 0700 "$dir"
  free_address "$address" "data node address (REDIS_PRIMARY, REDIS_REPLICA)"
  role="the primary"
  {
    printf 'bind %s\nport %s\nprotected-mode yes\ndaemonize yes\n' "$(host_of "$address")" "$(port_of "$address")"
    printf 'pidfile %s/redis.pid\nlogfile %s/redis.log\ndir %s\n' "$dir" "$dir" "$dir"
    printf 'appendonly yes\nsave ""\n'
    printf 'requirepass %s\nmasterauth %s\n' "$(conf_quoted "$password")" "$(conf_quoted "$password")"
    printf 'replica-announce-ip %s\nreplica-announce-port %s\n' "$(host_of "$address")" "$(port_of "$address")"
    if [ "$address" != "$primary" ]; then
      printf 'replicaof %s %s\n' "$(host_of "$primary")" "$(port_of "$primary")"
      role="a replica of $primary"
    fi
  } >"$dir/redis.conf"
  rm -f "$dir/redis.pid"
  redis-server "$dir/redis.conf" || die "redis-server did not start on $address (see $dir/redis.log)"
  log "Redis data node on $address started as $role"
}

start_sentinel() {
  local address=$1 primary=$2 dir pass
  dir=$(member_dir sentinel "$address")
  mkdir -p -m 0700 "$dir"
  free_address "$address" "Sentinel address (IVR_REDIS_SENTINELS)"
  pass=$(conf_quoted "$password")
  # Written anew at each start (Sentinel rewrites it while it runs): what it learnt of the
  # others comes back within seconds from the primary and their hello messages.
  {
    printf 'bind %s\nport %s\nprotected-mode yes\ndaemonize yes\n' "$(host_of "$address")" "$(port_of "$address")"
    printf 'pidfile %s/sentinel.pid\nlogfile %s/sentinel.log\ndir %s\n' "$dir" "$dir" "$dir"
    printf 'requirepass %s\nsentinel sentinel-pass %s\n' "$pass" "$pass"
    printf 'sentinel announce-ip %s\nsentinel announce-port %s\n' "$(host_of "$address")" "$(port_of "$address")"
    printf 'sentinel monitor %s %s %s %s\n' "$IVR_REDIS_SERVICE" "$(host_of "$primary")" "$(port_of "$primary")" \
      "$SENTINEL_QUORUM"
    printf 'sentinel auth-pass %s %s\n' "$IVR_REDIS_SERVICE" "$pass"
    printf 'sentinel down-after-milliseconds %s %s\n' "$IVR_REDIS_SERVICE" "$SENTINEL_DOWN_AFTER_MS"
    printf 'sentinel failover-timeout %s %s\n' "$IVR_REDIS_SERVICE" "$SENTINEL_FAILOVER_TIMEOUT_MS"
    printf 'sentinel parallel-syncs %s 1\n' "$IVR_REDIS_SERVICE"
  } >"$dir/sentinel.conf"
  rm -f "$dir/sentinel.pid"
  redis-sentinel "$dir/sentinel.conf" || die "redis-sentinel did not start on $address (see $dir/sentinel.log)"
  log "Sentinel on $address started, watching $IVR_REDIS_SERVICE at $primary"
}

# until SECONDS WHAT COMMAND...: runs COMMAND every 0.2 s until it succeeds, or dies.
until_ok() {
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq 1 $((seconds * 5))); do
    "$@" && return 0
    sleep 0.2
  done
  die "timed out after $seconds s waiting for $what"
}
answers() { cli "$1" ping | grep -q PONG; }
in_sync() {
  cli "$1" INFO replication | tr -d '\r' | grep -qx 'master_link_status:up' \
    && cli "$1" INFO replication | tr -d '\r' | grep -qx 'master_sync_in_progress:0'
}
sentinel_ready() {
  local sentinel=$1 replicas
  cli "$sentinel" SENTINEL ckquorum "$IVR_REDIS_SERVICE" | grep -q '^OK' || return 1
  replicas=$(cli "$sentinel" SENTINEL replicas "$IVR_REDIS_SERVICE" | paste -sd' ' -)
  for address in $DATA_NODES; do
    [ "$address" = "$primary" ] && continue
    case " $replicas " in *" name $address "*) ;; *) return 1 ;; esac
  done
  case " $replicas " in *" flags "*s_down*) return 1 ;; esac
}

primary=$(current_primary)
case " $DATA_NODES " in *" $primary "*) ;; *) die "the Sentinels name $primary as the primary, not one of REDIS_PRIMARY, REDIS_REPLICA" ;; esac
if ! member_pid redis "$primary" >/dev/null; then
  start_data_node "$primary" "$primary"
fi
until_ok 10 "the primary $primary to answer" answers "$primary"
for address in $DATA_NODES; do
  [ "$address" = "$primary" ] && continue
  member_pid redis "$address" >/dev/null || start_data_node "$address" "$primary"
  until_ok 30 "the replica $address to be in sync with $primary" in_sync "$address"
done
for sentinel in $SENTINELS; do
  member_pid sentinel "$sentinel" >/dev/null || start_sentinel "$sentinel" "$primary"
done
for sentinel in $SENTINELS; do
  until_ok 30 "Sentinel $sentinel to reach its quorum and know the replica (see its sentinel.log)" \
    sentinel_ready "$sentinel"
done
log "Redis with Sentinel up: primary $primary, replica(s) in sync, Sentinels $IVR_REDIS_SENTINELS agree ($IVR_REDIS_SERVICE)"
