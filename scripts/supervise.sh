#!/usr/bin/env bash
# `make run`'s small supervisor: starts the watchdog in the background and the control
# plane beside it (each by scripts/ivr-service.sh), restarts either 1 s after it dies
# (a kill -9, a crash), and on Ctrl-C, TERM or HUP stops the control plane, then the
# watchdog, and exits. Asterisk and Redis are not its business (make stop).
# Rules: pids in the state folder, the owner's only: supervisor.pid (this script: what
# `make stop` signals), control-plane.pid and watchdog.pid (the programs themselves,
# replaced at each restart; `make demo` looks for the control plane there); a service
# that refuses its settings (exit status 2) is not restarted: everything stops with
# status 2, the service's message above says what; children are stopped by pid, TERM
# first, KILL after 20 s; the pid files go with them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/scripts/pids.sh"
umask 077
private_state

declare -A pid=() pidfile=([run]=control-plane.pid [watchdog]=watchdog.pid) name=([run]="control plane" [watchdog]=watchdog)
start() {
  bash "$REPO_DIR/scripts/ivr-service.sh" "$1" &
  pid[$1]=$!
  echo "${pid[$1]}" >"$IVR_STATE_DIR/${pidfile[$1]}"
  log "${name[$1]} started (pid ${pid[$1]})"
}

stopping=no status=0
trap 'stopping=yes' INT TERM HUP
echo $$ >"$IVR_STATE_DIR/supervisor.pid"
start watchdog
start run
while [ "$stopping" = no ]; do
  # The wait is bounded by a 1 s tick: a signal that lands just before `wait` starts
  # (its trap then runs before the wait, which would not wake) is acted on within 1 s.
  sleep 1 &
  tick=$!
  ended="" code=0
  wait -n -p ended "${pid[run]}" "${pid[watchdog]}" "$tick" || code=$?
  if [ "${ended:-}" != "$tick" ]; then
    kill "$tick" 2>/dev/null || true
    wait "$tick" 2>/dev/null || true
  fi
  [ "$stopping" = no ] || break
  [ -n "${ended:-}" ] && [ "$ended" != "$tick" ] || continue  # a tick, or a signal it does not act on
  service=run
  [ "$ended" = "${pid[run]}" ] || service=watchdog
  if [ "$code" = 2 ]; then
    log "ERROR: the ${name[$service]} refused its settings (see above): stopping"
    status=2
    break
  fi
  how="exited with status $code"
  [ "$code" -le 128 ] || how="was killed by SIG$(kill -l "$code")"
  log "the ${name[$service]} (pid $ended) $how: restarting it in 1 s"
  sleep 1 &
  wait $! || true  # a signal ends the pause at once
  [ "$stopping" = no ] || break
  start "$service"
done

trap '' INT TERM HUP  # stopping: a second Ctrl-C does not cut it short
for service in run watchdog; do  # the control plane first: the watchdog outlives it
  stop_pid "${pid[$service]}" "the ${name[$service]}"
  wait "${pid[$service]}" 2>/dev/null || true
  rm -f "$IVR_STATE_DIR/${pidfile[$service]}"
done
rm -f "$IVR_STATE_DIR/supervisor.pid"
exit "$status"
