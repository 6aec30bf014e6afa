#!/usr/bin/env bash
# `make stop`: stops what `make run` started, by pid: its supervisor (which stops the
# control plane and the watchdog), then whichever of the two is still running (a
# supervisor killed by hand leaves them behind), then Asterisk and Redis.
# Rules: a pid counts only while its process still runs what we started (pids.sh);
# the control plane is stopped before the watchdog, the watchdog before Asterisk.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/scripts/pids.sh"

# stop_started FILE PATTERN NAME SECONDS: the process of pid file FILE, if it runs PATTERN.
stop_started() {
  local pid
  if pid=$(running_pid "$IVR_STATE_DIR/$1" "$2"); then
    stop_pid "$pid" "$3" "$4"
  fi
  rm -f "${IVR_STATE_DIR:?}/$1"
}
stop_started supervisor.pid "scripts/supervise.sh" "make run's supervisor" 45
stop_started control-plane.pid "-m ivr run" "the control plane" 20
stop_started watchdog.pid "-m ivr watchdog" "the watchdog" 20
bash "$REPO_DIR/scripts/asterisk-stop.sh"
bash "$REPO_DIR/scripts/redis-stop.sh"
