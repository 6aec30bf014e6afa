#!/usr/bin/env bash
# Stops the cluster's SIP edge (Kamailio started by edge-start.sh), by its pid only: the pid
# in $IVR_EDGE_DIR/run/kamailio.pid, and only while that process still runs our configuration.
# A lone edge's phones must register again once it is back (registrations are in memory);
# with other edges up, it asks them for every registration as it starts.
# Settings: as edge-start.sh (IVR_EDGE_ADDRESS, IVR_SIP_EDGE, IVR_EDGE_DIR).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pids.sh"

: "${IVR_SIP_EDGE:=127.0.0.50:5060}"
: "${IVR_EDGE_ADDRESS:=${IVR_SIP_EDGE%%,*}}"
: "${IVR_EDGE_DIR:=$(edge_dir "$IVR_EDGE_ADDRESS")}"
pidfile="$IVR_EDGE_DIR/run/kamailio.pid"
if ! pid=$(running_pid "$pidfile" "$IVR_EDGE_DIR/kamailio.cfg"); then
  log "the SIP edge is not running (no live pid in $pidfile)"
  rm -f "$pidfile"
  exit 0
fi
stop_pid "$pid" "the SIP edge (Kamailio)" 10
rm -f "$pidfile"
