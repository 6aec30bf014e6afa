# Shared settings of the Redis-with-Sentinel set (sourced after lib.sh and pids.sh, never run).
# Rules: every address and timer can be overridden from the environment; the Sentinels'
# addresses and the service name are the control plane's own settings (IVR_REDIS_SENTINELS,
# IVR_REDIS_SERVICE), so one value serves both; each member keeps its configuration, pid,
# log and data in a folder of its own under SENTINEL_DIR, the owner's only (the
# configuration holds the password); redis-cli gets the password from REDISCLI_AUTH.
# shellcheck shell=bash

: "${IVR_REDIS_SERVICE:=ivr112}"
: "${IVR_REDIS_SENTINELS:=127.0.0.1:26381,127.0.0.1:26382,127.0.0.1:26383}"
: "${REDIS_PRIMARY:=127.0.0.1:6381}"
: "${REDIS_REPLICA:=127.0.0.1:6382}"
# A primary silent this long is down for a Sentinel (then two of them agree, one is elected
# and promotes the replica: about this plus 0.8 s in all).
: "${SENTINEL_DOWN_AFTER_MS:=1500}"
# A failover that has not finished in this time is given up; a Sentinel tries the same
# primary again only after twice this time (also after an attempt that found no replica).
: "${SENTINEL_FAILOVER_TIMEOUT_MS:=6000}"
: "${SENTINEL_QUORUM:=2}"
: "${SENTINEL_DIR:=$IVR_STATE_DIR/redis-sentinel}"

SENTINELS=${IVR_REDIS_SENTINELS//,/ }
DATA_NODES="$REDIS_PRIMARY $REDIS_REPLICA"

host_of() { printf '%s' "${1%:*}"; }
port_of() { printf '%s' "${1##*:}"; }
member_dir() { printf '%s/%s-%s-%s' "$SENTINEL_DIR" "$1" "$(host_of "$2")" "$(port_of "$2")"; }

# A value for a Redis configuration file: in double quotes, quotes and backslashes escaped.
conf_quoted() {
  local value=${1//\\/\\\\}
  printf '"%s"' "${value//\"/\\\"}"
}

# cli ADDRESS ARGS...: redis-cli against a member, with the set's password.
cli() {
  local address=$1
  shift
  REDISCLI_AUTH=$password timeout 3 redis-cli --no-auth-warning -h "$(host_of "$address")" \
    -p "$(port_of "$address")" "$@" 2>/dev/null
}

# The pid of a member of this set (kind: redis or sentinel) while it runs, else nothing.
member_pid() { running_pid "$(member_dir "$1" "$2")/$1.pid" "$2"; }

# check_address ADDRESS WHAT: an IPv4 address:port (what Sentinel announces), or dies naming it.
check_address() {
  local host=${1%:*} port=${1##*:}
  case "$1" in *:*) ;; *) die "$2 '$1' is not an IPv4 address:port" ;; esac
  case "$host" in "" | *[!0-9.]*) die "$2 '$1' is not an IPv4 address:port" ;; esac
  case "$port" in "" | *[!0-9]*) die "$2 '$1': the port is not a number" ;; esac
  [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "$2 '$1': the port must be 1-65535"
}
for address in $DATA_NODES; do check_address "$address" "a data node (REDIS_PRIMARY, REDIS_REPLICA)"; done
for address in $SENTINELS; do check_address "$address" "a Sentinel of IVR_REDIS_SENTINELS"; done
case "$IVR_REDIS_SERVICE" in *[!A-Za-z0-9_.-]* | "") die "IVR_REDIS_SERVICE '$IVR_REDIS_SERVICE': letters, digits, _ . - only" ;; esac
case "$SENTINEL_DIR" in "" | /) die "SENTINEL_DIR must be a folder of its own, not '$SENTINEL_DIR'" ;; esac
