#!/usr/bin/env bash
# Starts Asterisk in its chroot as user asterisk, once scripts/asterisk-prepare.sh has
# run: as a daemon (scripts/asterisk-start.sh) or, with --foreground, replacing this
# script so that Asterisk is the process systemd watches (ivr112-asterisk.service).
# Rules: Asterisk runs under umask 077, so that what it writes (recordings, logs, its
# database) is its own; nothing else is done here, so both starts run the same Asterisk.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root

case "${1:-}" in
  --foreground) foreground=(-f) ;;
  "") foreground=() ;;
  *) die "usage: asterisk-launch.sh [--foreground] (got '$1')" ;;
esac
umask 077
exec chroot "$ASTERISK_ROOT" /usr/sbin/asterisk "${foreground[@]}" -U asterisk -G asterisk
