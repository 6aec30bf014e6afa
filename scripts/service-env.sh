# The environment of the two Python services, the control plane and the watchdog
# (sourced after lib.sh, never run). The same functions serve `make run`, `make demo`
# and the systemd units (all through scripts/ivr-service.sh or these functions).
# Rules: a secret comes from its IVR_* variable when set, else from the state folder's
# secrets/ file that Asterisk's start rendered (scripts/render_conf.py) or Redis's start
# made; a missing file is refused by name (exit status 2, as for any bad setting), never
# replaced by a fresh secret Asterisk would not know. Everything is exported (the
# program's environment), never put in an argument. Each service gets its own secrets
# and not the other's: the watchdog has AMI rights the control plane has not, and needs
# none of the control plane's secrets.
# shellcheck shell=bash

# refuse MESSAGE: a setting the service cannot start without (status 2, like `python -m ivr`).
refuse() {
  log "ERROR: $*"
  exit 2
}

# state_secret VARIABLE FILE: VARIABLE from the environment, else secrets/FILE; exported.
state_secret() {
  local variable=$1 file="$IVR_STATE_DIR/secrets/$2"
  if [ -z "${!variable:-}" ]; then
    [ -s "$file" ] || refuse "$variable is not set and $file is missing (Asterisk's start renders it: make run, or start ivr112-asterisk.service)"
    printf -v "$variable" '%s' "$(cat "$file")"
  fi
  export "${variable?}"
}

# Redis, which both services write to: the project's own on REDIS_PORT, its password.
redis_env() {
  export IVR_REDIS_URL="${IVR_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
  IVR_REDIS_PASSWORD=$(redis_password)
  export IVR_REDIS_PASSWORD
}

# What both read: the state folder, the application's name, the watchdog's status file
# (the watchdog writes it, the control plane shows it in /api/health).
common_env() {
  export IVR_STATE_DIR IVR_ARI_APP
  export IVR_WATCHDOG_STATUS="${IVR_WATCHDOG_STATUS:-$IVR_STATE_DIR/watchdog.json}"
  redis_env
}

control_plane_env() {
  common_env
  export IVR_CENTRE_CONFIG="${IVR_CENTRE_CONFIG:-$REPO_DIR/queue/kendari.yaml}"
  # A configuration reload rewrites the centre's endpoints there (one list) and reloads them.
  export IVR_ASTERISK_ETC="${IVR_ASTERISK_ETC:-$ASTERISK_ROOT/etc/asterisk}"
  state_secret IVR_ARI_PASSWORD ari_password
  state_secret IVR_API_TOKEN api_token
  state_secret IVR_AMI_PASSWORD ami_password
  unset IVR_WATCHDOG_AMI_PASSWORD
}

# The control plane's health route as a client on this host reaches it (an any-address
# bind is asked on loopback; https when the control plane has a certificate).
health_url() {
  local host=${IVR_HTTP_BIND:-127.0.0.1}
  case "$host" in
    "" | 0.0.0.0) host=127.0.0.1 ;;
    ::) host="[::1]" ;;
    *:*) host="[$host]" ;;
  esac
  local scheme=http
  [ -z "${IVR_HTTP_TLS_CERT:-}" ] || scheme=https
  printf '%s://%s:%s/api/health' "$scheme" "$host" "${IVR_HTTP_PORT:-8112}"
}

watchdog_env() {
  common_env
  export IVR_WATCHDOG_HEALTH_URL="${IVR_WATCHDOG_HEALTH_URL:-$(health_url)}"
  # over https the watchdog trusts the control plane's own certificate unless told a CA
  if [ -n "${IVR_HTTP_TLS_CERT:-}" ]; then
    export IVR_HTTP_TLS_CA="${IVR_HTTP_TLS_CA:-$IVR_HTTP_TLS_CERT}"
  fi
  state_secret IVR_WATCHDOG_AMI_PASSWORD watchdog_ami_password
  unset IVR_ARI_PASSWORD IVR_API_TOKEN IVR_AMI_PASSWORD
}
