#!/usr/bin/env bash
# `make run`: provisions what is missing, starts Redis and Asterisk, then runs the
# control plane in the foreground with the Kendari defaults (Ctrl-C stops it;
# Asterisk and Redis keep running until `make stop`).
# Rules: each secret (ARI, AMI, API, Redis) comes from its IVR_* variable or the state
# folder's generated one, exported to the control plane in its environment (never its
# arguments); the control plane's pid is kept in the state folder so `make demo` can see
# it; what it writes there is its owner's only (umask 077).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root

bash "$REPO_DIR/scripts/host-deps.sh"
bash "$REPO_DIR/scripts/redis-start.sh"
# Static loopback contacts let the SIPp demo phones answer without registering;
# set IVR_STATIC_CONTACTS=no where real phones register.
export IVR_STATIC_CONTACTS="${IVR_STATIC_CONTACTS:-yes}"
bash "$REPO_DIR/scripts/asterisk-start.sh"
# A configuration reload rewrites the centre's endpoints there (one list) and reloads them.
export IVR_ASTERISK_ETC="$ASTERISK_ROOT/etc/asterisk" IVR_STATE_DIR

export IVR_ARI_PASSWORD="${IVR_ARI_PASSWORD:-$(cat "$IVR_STATE_DIR/secrets/ari_password")}"
export IVR_API_TOKEN="${IVR_API_TOKEN:-$(cat "$IVR_STATE_DIR/secrets/api_token")}"
export IVR_AMI_PASSWORD="${IVR_AMI_PASSWORD:-$(cat "$IVR_STATE_DIR/secrets/ami_password")}"
export IVR_REDIS_URL="${IVR_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
export IVR_REDIS_PASSWORD; IVR_REDIS_PASSWORD=$(redis_password)
export IVR_ARI_APP
umask 077
echo $$ >"$IVR_STATE_DIR/control-plane.pid"
log "control plane starting; place a demo call with 'make demo' from another terminal"
log "dashboard: http://127.0.0.1:${IVR_HTTP_PORT:-8112}/ (token: $IVR_STATE_DIR/secrets/api_token)"
exec "$REPO_DIR/.venv/bin/python" -m ivr run
