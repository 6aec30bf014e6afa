#!/usr/bin/env bash
# `make demo`: one 112 call end to end. A SIPp carrier calls 112 from 081234567890, a
# SIPp phone answers as taker01, the caller talks for a few seconds and hangs up, and
# the call's timeline is printed from Redis.
# Rules: reuses a stack started by `make run` or the systemd units; starts whatever is
# missing (Redis, Asterisk, a control plane and its watchdog, by scripts/ivr-service.sh
# as `make run` does) and stops, by pid, only what it started itself; secrets reach
# curl and redis-cli on standard input or in the environment, never as arguments.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/scripts/service-env.sh"
. "$REPO_DIR/scripts/pids.sh"
need_root

bash "$REPO_DIR/scripts/host-deps.sh"
started_redis=no started_asterisk=no
# Ours answers to the password only (an older start without one is restarted by redis-start.sh).
redis_up() {
  REDISCLI_AUTH=$(redis_password) redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG \
    && ! (unset REDISCLI_AUTH && redis-cli -p "$REDIS_PORT" ping 2>/dev/null) | grep -q PONG
}
if ! redis_up; then
  bash "$REPO_DIR/scripts/redis-start.sh" && started_redis=yes
fi
password() { echo "${IVR_ARI_PASSWORD:-$(cat "$IVR_STATE_DIR/secrets/ari_password" 2>/dev/null)}"; }
ari_up() { curl_with user "ivr112:$(password)" -fsS -o /dev/null "http://127.0.0.1:$ASTERISK_HTTP_PORT/ari/asterisk/ping" 2>/dev/null; }
if ! ari_up; then
  IVR_STATIC_CONTACTS=yes bash "$REPO_DIR/scripts/asterisk-start.sh" && started_asterisk=yes
fi

# The control plane's environment (its secrets for curl, redis-cli and the timeline).
control_plane_env
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
  [ "$started_asterisk" = no ] || bash "$REPO_DIR/scripts/asterisk-stop.sh"
  [ "$started_redis" = no ] || bash "$REPO_DIR/scripts/redis-stop.sh"
}
trap cleanup EXIT

# One started by `make run` (its pid file) or by systemd (it answers its health route,
# 200 or, while it is not connected to Asterisk yet, 503).
if ! running_pid "$IVR_STATE_DIR/control-plane.pid" "-m ivr run" >/dev/null \
  && ! curl -sS -o /dev/null "$(health_url)" 2>/dev/null; then
  log "no control plane running: starting one, and its watchdog, for this demo"
  bash "$REPO_DIR/scripts/ivr-service.sh" run >"$work/control-plane.log" 2>&1 &
  pids+=($!)
  if ! running_pid "$IVR_STATE_DIR/watchdog.pid" "-m ivr watchdog" >/dev/null; then
    bash "$REPO_DIR/scripts/ivr-service.sh" watchdog >"$work/watchdog.log" 2>&1 &
    pids+=($!)
  fi
  for _ in $(seq 1 100); do grep -q "reconciled:" "$work/control-plane.log" && break; sleep 0.1; done
  grep -q "reconciled:" "$work/control-plane.log" || { cat "$work/control-plane.log"; die "the control plane did not connect"; }
fi

espeak-ng -v id -w "$work/c.wav" "Tolong, ada kebakaran di Mandonga. Rumah saya terbakar."
sox "$work/c.wav" -r 8000 -c 1 -t al "$work/caller.alaw"
espeak-ng -v id -w "$work/t.wav" "Satu satu dua Kendari, apa keadaan darurat Anda?"
sox "$work/t.wav" -r 8000 -c 1 -t al "$work/taker.alaw"

log "taker01's phone (SIPp on 127.0.0.11) is coming online"
(cd "$work" && exec sipp -sf "$REPO_DIR/tests/sipp/phone_answers.xml" -i 127.0.0.11 -p 5060 -mi 127.0.0.11 \
  -aa -nostdin >/dev/null 2>&1) &
pids+=($!)
for _ in $(seq 1 200); do
  curl_with user "ivr112:$IVR_ARI_PASSWORD" -fsS "http://127.0.0.1:$ASTERISK_HTTP_PORT/ari/endpoints/PJSIP/taker01" \
    | grep -q '"state":"online"' && break
  sleep 0.1
done

log "taker01 logs in (HTTP API; from the phone itself it would dial *11)"
curl_with header "Authorization: Bearer $IVR_API_TOKEN" -fsS -X POST "http://127.0.0.1:${IVR_HTTP_PORT:-8112}/api/v1/takers/taker01/login" \
  >/dev/null || die "could not log taker01 in through the control plane's API"

log "calling 112 from 081234567890 (taker01 is free: offered at once, the greeting stops when taker01 answers; the caller hangs up after 12 s)"
(cd "$work" && sipp 127.0.0.1:5060 -sf "$REPO_DIR/tests/sipp/caller.xml" -s 112 -key caller 081234567890 \
  -i 127.0.0.2 -p 5060 -mi 127.0.0.2 -m 1 -d 12000 -nostdin -timeout 60 -timeout_error >/dev/null 2>&1) \
  || die "the demo call failed (SIPp carrier scenario did not complete)"
sleep 0.5
"$REPO_DIR/.venv/bin/python" -m ivr timeline
