#!/usr/bin/env bash
# `make run`: provisions what is missing, starts Redis and Asterisk, then stays in the
# foreground as a small supervisor (scripts/supervise.sh) of the control plane and the
# watchdog beside it: a control plane that dies is restarted, and while it is gone the
# watchdog hands stranded callers to the native queue. Ctrl-C stops both; Asterisk and
# Redis keep running until `make stop`.
# Rules: each secret (ARI, AMI, API, Redis, the watchdog's AMI secret) comes from its
# IVR_* variable or the state folder's generated one and reaches each program in its
# environment, never its arguments (scripts/service-env.sh); the pids are kept in the
# state folder so `make demo` and `make stop` find them; what is written there is its
# owner's only (umask 077).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root

bash "$REPO_DIR/scripts/host-deps.sh"
bash "$REPO_DIR/scripts/redis-start.sh"
# Static loopback contacts let the SIPp demo phones answer without registering;
# set IVR_STATIC_CONTACTS=no where real phones register.
export IVR_STATIC_CONTACTS="${IVR_STATIC_CONTACTS:-yes}"
bash "$REPO_DIR/scripts/asterisk-start.sh"
log "control plane and watchdog starting; place a demo call with 'make demo' from another terminal"
log "dashboard: http://127.0.0.1:${IVR_HTTP_PORT:-8112}/ (token: $IVR_STATE_DIR/secrets/api_token)"
exec bash "$REPO_DIR/scripts/supervise.sh"
