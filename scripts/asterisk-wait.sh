#!/usr/bin/env bash
# Waits until the Asterisk of $ASTERISK_ROOT has fully booted and ARI answers; used by
# scripts/asterisk-start.sh and by ivr112-asterisk.service (ExecStartPost), so that
# whatever starts after Asterisk finds it ready.
# Rules: fails naming what did not come up and where to look; the ARI password reaches
# curl on its standard input only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

log_file="$ASTERISK_ROOT/var/log/asterisk/messages.log"
booted=no
for _ in $(seq 1 300); do  # the control socket appears a moment after the daemon starts
  if chroot "$ASTERISK_ROOT" /usr/sbin/asterisk -rx 'core waitfullybooted' >/dev/null 2>&1; then booted=yes; break; fi
  sleep 0.1
done
[ "$booted" = yes ] || die "asterisk did not finish booting within 30 s (see $log_file)"

password=${IVR_ARI_PASSWORD:-$(cat "$IVR_STATE_DIR/secrets/ari_password")}
url="http://${ASTERISK_HTTP_BIND:-127.0.0.1}:${ASTERISK_HTTP_PORT}/ari/asterisk/ping"
for _ in $(seq 1 100); do
  if curl_with user "${IVR_ARI_USER:-ivr112}:$password" -fsS -o /dev/null "$url" 2>/dev/null; then
    log "Asterisk up (pid $(cat "$ASTERISK_ROOT/run/asterisk/asterisk.pid")), ARI answering at $url"
    exit 0
  fi
  sleep 0.1
done
die "Asterisk started but ARI does not answer at $url (see $log_file)"
