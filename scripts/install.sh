#!/usr/bin/env bash
# `make install`: the systemd units of deploy/systemd/ rendered with this checkout's
# paths into $DESTDIR/etc/systemd/system, the rotation of Asterisk's log files
# (deploy/logrotate/ivr112.in) into $DESTDIR/etc/logrotate.d/ivr112, and the services'
# settings file ($DESTDIR/etc/default/ivr112, written once, never overwritten); then, only when
# systemd is the running init and no DESTDIR is given, `systemctl daemon-reload` and
# `systemctl enable ivr112.target` (started by `systemctl start ivr112.target`).
# Rules: provisioning (packages, the virtualenv, the Asterisk root, the prompts) is done
# before, by make (`make install` depends on it); paths must be plain absolute paths
# (systemd would read %, spaces or quotes in them); no secret is written into any unit
# (each service reads its own from the state folder when it starts,
# scripts/ivr-service.sh); without systemd it says so and stops after writing the files.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${DESTDIR:=}"
[ -n "$DESTDIR" ] || need_root
units_dir="$DESTDIR/etc/systemd/system"
env_file=/etc/default/ivr112
for variable in REPO_DIR IVR_STATE_DIR ASTERISK_ROOT IVR_CACHE_DIR; do
  value=${!variable}
  [[ "$value" =~ ^/[A-Za-z0-9._/+-]*$ ]] && [[ "$value" != *//* ]] && [[ "/$value/" != */../* ]] \
    || die "$variable='$value' is not a plain absolute path (letters, digits, / . _ + - only): systemd units cannot name it"
done
if [ -z "$DESTDIR" ]; then
  [ -x "$REPO_DIR/.venv/bin/python" ] || die "no virtualenv in $REPO_DIR/.venv: run make install (it provisions), not this script"
  [ -x "$ASTERISK_ROOT/usr/sbin/asterisk" ] || die "no Asterisk root in $ASTERISK_ROOT: run make install (it provisions)"
  # Root's services run this checkout's code: only root may change it.
  if [ "$(stat -c %u "$REPO_DIR")" != 0 ] || [ -n "$(find "$REPO_DIR" -maxdepth 1 -perm /022 -print -quit)" ]; then
    log "WARNING: $REPO_DIR is not root's alone (owner or group/other write): whoever can write it runs code as root"
  fi
  private_state
fi

mkdir -p "$units_dir"
installed=()
for template in "$REPO_DIR"/deploy/systemd/*.in; do
  unit=$(basename "$template" .in)
  sed -e "s|@REPO_DIR@|$REPO_DIR|g" -e "s|@IVR_STATE_DIR@|$IVR_STATE_DIR|g" \
    -e "s|@ASTERISK_ROOT@|$ASTERISK_ROOT|g" -e "s|@IVR_CACHE_DIR@|$IVR_CACHE_DIR|g" \
    -e "s|@ENV_FILE@|$env_file|g" "$template" >"$units_dir/$unit.new"
  if grep -n '@[A-Z_]*@' "$units_dir/$unit.new"; then
    rm -f "$units_dir/$unit.new"
    die "$template has a placeholder install.sh does not fill (above)"
  fi
  chmod 0644 "$units_dir/$unit.new"
  mv "$units_dir/$unit.new" "$units_dir/$unit"
  installed+=("$unit")
done
log "wrote ${installed[*]} into $units_dir"
# Asterisk's log files (the control plane's and the watchdog's go to the journal).
rotation="$DESTDIR/etc/logrotate.d/ivr112"
mkdir -p "$(dirname "$rotation")"
sed -e "s|@ASTERISK_ROOT@|$ASTERISK_ROOT|g" "$REPO_DIR/deploy/logrotate/ivr112.in" >"$rotation.new"
if grep -n '@[A-Z_]*@' "$rotation.new"; then
  rm -f "$rotation.new"
  die "deploy/logrotate/ivr112.in has a placeholder install.sh does not fill (above)"
fi
chmod 0644 "$rotation.new"
mv "$rotation.new" "$rotation"
log "wrote $rotation (Asterisk's log files: daily, kept 14 days)"
if [ ! -e "$DESTDIR$env_file" ]; then
  mkdir -p "$(dirname "$DESTDIR$env_file")"
  install -m 0600 "$REPO_DIR/deploy/systemd/ivr112.env" "$DESTDIR$env_file"
  log "wrote the services' settings file $DESTDIR$env_file (edit it: SIP_BIND, IVR_HTTP_BIND, ...)"
fi

if [ -n "$DESTDIR" ]; then
  log "DESTDIR given: nothing enabled (a staging folder)"
elif [ ! -d /run/systemd/system ]; then
  log "systemd is not the running init here (no /run/systemd/system): the units are written, nothing is enabled or started"
else
  systemctl daemon-reload
  systemctl enable ivr112.target
  log "enabled ivr112.target; stop a stack of make run first (make stop), then: systemctl start ivr112.target"
fi
