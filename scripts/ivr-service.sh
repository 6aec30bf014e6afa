#!/usr/bin/env bash
# Runs one Python service in the foreground: `ivr-service.sh run` (the control plane)
# or `ivr-service.sh watchdog`, with the environment of scripts/service-env.sh. The one
# way both are started: by `make run` (scripts/supervise.sh), `make demo` and the
# systemd units (deploy/systemd/).
# Rules: replaces itself with the program (exec), so the pid is the service's own,
# signals reach it directly and systemd's notify protocol sees it as the main process;
# secrets in its environment only, never its arguments; what it writes is its owner's
# only (umask 077). IVR_PYTHON names the interpreter (default: the checkout's .venv).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/scripts/service-env.sh"

case "${1:-}" in
  run) control_plane_env ;;
  watchdog) watchdog_env ;;
  *) refuse "usage: ivr-service.sh run|watchdog (got '${1:-}')" ;;
esac
python=${IVR_PYTHON:-$REPO_DIR/.venv/bin/python}
[ -x "$python" ] || refuse "$python is missing: run make deps (or make run) first"
umask 077
exec "$python" -m ivr "$1"
