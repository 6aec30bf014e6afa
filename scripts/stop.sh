#!/usr/bin/env bash
# `make stop`: stops the control plane (if `make run` left one), Asterisk and Redis, by pid.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pidfile="$IVR_STATE_DIR/control-plane.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  kill -TERM "$(cat "$pidfile")" && log "stopped the control plane (pid $(cat "$pidfile"))"
fi
rm -f "$pidfile"
bash "$REPO_DIR/scripts/asterisk-stop.sh"
bash "$REPO_DIR/scripts/redis-stop.sh"
