#!/usr/bin/env bash
# Stops the Asterisk running from $ASTERISK_ROOT, by its pid only.
# Rules: asks politely first (core stop now), then TERM, then KILL; never by name.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pidfile="$ASTERISK_ROOT/run/asterisk/asterisk.pid"
[ -f "$pidfile" ] || { log "not running (no $pidfile)"; exit 0; }
pid=$(cat "$pidfile")
if ! kill -0 "$pid" 2>/dev/null; then rm -f "$pidfile"; log "not running (stale pid $pid)"; exit 0; fi
timeout 5 chroot "$ASTERISK_ROOT" /usr/sbin/asterisk -rx 'core stop now' >/dev/null 2>&1 || true
for signal in "" TERM KILL; do
  [ -n "$signal" ] && kill -"$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null || break
done
rm -f "$pidfile"
log "stopped Asterisk (pid $pid)"
