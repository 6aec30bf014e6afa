#!/usr/bin/env bash
# Prepares Asterisk's chroot for a start: everything scripts/asterisk-start.sh and the
# systemd unit ivr112-asterisk.service do before Asterisk itself runs (one code path).
# Rules: builds the root first if it is missing; an Asterisk already running from this
# root is stopped by pid first; renders the configuration afresh at every start
# (scripts/render_conf.py, then the centre's endpoints from queue/ by
# `python -m ivr config apply`) and the prompts. Private data stays private: the state
# folder is its owner's only, the recordings folder Asterisk's only (0700, files 0600,
# older ones narrowed too); Asterisk's configuration stays readable to it (group
# asterisk, 0640). Asterisk is then started by scripts/asterisk-launch.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root

bash "$REPO_DIR/scripts/asterisk-root.sh"
[ -f "$ASTERISK_ROOT/run/asterisk/asterisk.pid" ] && bash "$REPO_DIR/scripts/asterisk-stop.sh"

python3 "$REPO_DIR/scripts/render_conf.py" "$ASTERISK_ROOT/etc/asterisk"
# The centre's phones and agencies, from the centre configuration (the one list).
[ -x "$REPO_DIR/.venv/bin/python" ] || bash "$REPO_DIR/scripts/host-deps.sh"
(cd "$REPO_DIR" && IVR_ASTERISK_ETC="$ASTERISK_ROOT/etc/asterisk" IVR_STATE_DIR="$IVR_STATE_DIR" \
  IVR_CENTRE_CONFIG="${IVR_CENTRE_CONFIG:-$REPO_DIR/queue/kendari.yaml}" \
  "$REPO_DIR/.venv/bin/python" -m ivr config apply --no-reload) \
  || die "the centre configuration's endpoints could not be written (see above)"
chroot "$ASTERISK_ROOT" chgrp -R asterisk /etc/asterisk
private_state  # the secrets render_conf.py and config apply may just have made, among the rest

sounds="$ASTERISK_ROOT/usr/share/asterisk/sounds/id"
mkdir -p "$sounds"
bash "$REPO_DIR/scripts/prompts.sh" "$IVR_CACHE_DIR/prompts"
rm -rf "$sounds/ivr112"
cp -r "$IVR_CACHE_DIR/prompts/ivr112" "$sounds/ivr112"

recordings="$ASTERISK_ROOT/var/spool/asterisk/recording"
mkdir -p "$ASTERISK_ROOT/run/asterisk" "$recordings"
chroot "$ASTERISK_ROOT" chown asterisk:asterisk /run/asterisk /var/log/asterisk /var/lib/asterisk /var/spool/asterisk \
  /var/spool/asterisk/recording
# The callers' voices: Asterisk's only, the recordings of an older install too.
find "$recordings" -type d ! -perm 0700 -exec chmod 0700 {} +
find "$recordings" -type f ! -perm 0600 -exec chmod 0600 {} +
rm -f "$ASTERISK_ROOT/var/log/asterisk/messages.log"
