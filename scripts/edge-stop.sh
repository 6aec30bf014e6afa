#!/usr/bin/env bash
# Stops the cluster's SIP edge (Kamailio started by edge-start.sh), by its pid only: the pid
# in $IVR_EDGE_DIR/run/kamailio.pid, and only while that process still runs our configuration.
# Phones registered with it must register again once it is back (registrations are in memory).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pids.sh"

: "${IVR_EDGE_DIR:=$IVR_CACHE_DIR/edge}"
pidfile="$IVR_EDGE_DIR/run/kamailio.pid"
if ! pid=$(running_pid "$pidfile" "$IVR_EDGE_DIR/kamailio.cfg"); then
  log "the SIP edge is not running (no live pid in $pidfile)"
  rm -f "$pidfile"
  exit 0
fi
stop_pid "$pid" "the SIP edge (Kamailio)" 10
rm -f "$pidfile"
