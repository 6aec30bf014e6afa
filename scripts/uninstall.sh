#!/usr/bin/env bash
# `make uninstall`: stops and disables the systemd units `make install` wrote (when
# systemd runs and no DESTDIR is given), then removes them from
# $DESTDIR/etc/systemd/system, and the rotation of Asterisk's logs (etc/logrotate.d/ivr112).
# Rules: only the files named after deploy/'s templates are removed; the state
# folder (call history, secrets, Redis's data), the recordings, the Asterisk root and the
# settings file /etc/default/ivr112 stay, and it says so.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${DESTDIR:=}"
[ -n "$DESTDIR" ] || need_root
units_dir="$DESTDIR/etc/systemd/system"
units=()
for template in "$REPO_DIR"/deploy/systemd/*.in; do
  units+=("$(basename "$template" .in)")
done
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
  systemctl disable --now "${units[@]}" || log "some units were not loaded (ignored)"
fi
for unit in "${units[@]}"; do
  rm -f "$units_dir/$unit"
done
rm -f "$DESTDIR/etc/logrotate.d/ivr112"
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi
log "removed ${units[*]} from $units_dir and $DESTDIR/etc/logrotate.d/ivr112; kept $IVR_STATE_DIR (call history, secrets), the recordings, $ASTERISK_ROOT and /etc/default/ivr112"
