#!/usr/bin/env bash
# Container start of Asterisk 22: renders the configuration, then replaces itself with
# Asterisk in the foreground (running as user asterisk), so stop signals reach Asterisk.
# Rules: each secret is the file of $IVR_SECRETS_DIR (/run/secrets, compose secrets) named
# like its variable in lower case, unless the environment sets the variable; it reaches
# the render through the environment, never a command's arguments, and Asterisk does not
# inherit it. Refuses to start without IVR_ARI_PASSWORD, IVR_AMI_PASSWORD,
# IVR_WATCHDOG_AMI_PASSWORD and IVR_ASTERISK_METRICS_PASSWORD (render_conf.py would
# otherwise invent secrets the control plane, the watchdog and Prometheus do not know;
# it writes the watchdog's AMI user, with the "call" rights the control plane's lacks,
# into manager_users.conf); renders afresh at every start, like
# scripts/asterisk-start.sh, into a folder of its own, then replaces
# the files of /etc/asterisk with it: the folder centre/ stays as it is, a volume the
# control plane writes (the centre's phones, agencies and trunks, generated from
# queue/*.yaml by `python -m ivr config apply`; render_conf.py would delete it). Refuses
# to start unless Asterisk can read every centre/ file the configuration #includes.
# Asterisk's own database (phone registrations, queue member states) lives in the state
# folder $IVR_STATE_DIR, a volume, so it survives restarts and image upgrades. Asterisk
# runs under umask 077 and the recordings folder is 0700: recordings are Asterisk's only.
set -euo pipefail

app=/opt/kendari112
etc=/etc/asterisk
centre=centre  # ivr/config/asterisk_centre.py FOLDER: the volume mounted at $etc/$centre
state=${IVR_STATE_DIR:-/var/lib/ivr112}
die() { printf 'kendari112-asterisk: %s\n' "$*" >&2; exit 1; }
secret_names=(IVR_ARI_PASSWORD IVR_AMI_PASSWORD IVR_WATCHDOG_AMI_PASSWORD IVR_ASTERISK_METRICS_PASSWORD)

# A secret file fills a variable the environment leaves unset ($(<file): no process, and
# the trailing newline an editor adds is dropped).
secrets=${IVR_SECRETS_DIR:-/run/secrets}
for name in "${secret_names[@]}"; do
  file="$secrets/${name,,}"
  if [ -z "${!name:-}" ] && [ -f "$file" ]; then
    [ -r "$file" ] || die "$file is not readable"
    export "$name=$(<"$file")"
  fi
done

[ -n "${IVR_ARI_PASSWORD:-}" ] || die "IVR_ARI_PASSWORD is not set (the control plane must use the same one)"
[ -n "${IVR_AMI_PASSWORD:-}" ] || die "IVR_AMI_PASSWORD is not set (the control plane must use the same one)"
[ -n "${IVR_WATCHDOG_AMI_PASSWORD:-}" ] || die "IVR_WATCHDOG_AMI_PASSWORD is not set (the watchdog must use the same one)"
[ -n "${IVR_ASTERISK_METRICS_PASSWORD:-}" ] || die "IVR_ASTERISK_METRICS_PASSWORD is not set (Prometheus must use the same one)"

# render_conf.py replaces its destination folder whole: it renders into a private
# folder, never into $etc itself. It stores an API token for `make run` when none is
# set; the control plane takes its token from its own environment, so none is stored.
work=$(mktemp -d)
rendered="$work/etc"
IVR_API_TOKEN=${IVR_API_TOKEN:-not-stored-here} python3 "$app/scripts/render_conf.py" "$rendered" \
  || die "the configuration could not be rendered (see the message above)"

# Asterisk's database goes to the state volume; the rest of /var/lib/asterisk is the
# package's and is replaced with the image.
if grep -q '^\[directories\]' "$rendered/asterisk.conf"; then
  die "asterisk-conf/asterisk.conf has its own [directories]: put astdbdir => $state/astdb there"
fi
mkdir -p "$state/astdb"
printf '\n; Added at container start: Asterisk'"'"'s database in the state volume.\n[directories]\nastdbdir => %s\n' \
  "$state/astdb" >>"$rendered/asterisk.conf"

# The rendered files replace everything in $etc but centre/.
[ ! -e "$rendered/$centre" ] || die "the render wrote $centre/, the folder the control plane owns"
find "$etc" -mindepth 1 -maxdepth 1 ! -name "$centre" -exec rm -rf {} +
cp -p "$rendered"/* "$etc"/
rm -rf "$work"
find "$etc" -mindepth 1 -maxdepth 1 ! -name "$centre" -exec chgrp asterisk {} +
chgrp asterisk "$etc"

# An #include of a missing file is only a warning to Asterisk: it would start without
# the centre's phones, agencies and trunks. Read as user asterisk, as Asterisk will.
included=$(sed -n "s|^#include \"\\($centre/[^\"]*\\)\".*|\\1|p" "$etc"/*.conf)
[ -n "$included" ] || die "no configuration file includes $centre/ (asterisk-conf/pjsip.conf, queues.conf)"
for file in $included; do
  [ -f "$etc/$file" ] || die "$etc/$file is missing: the centre-config service writes it (docker/compose.yaml)"
  runuser -u asterisk -- test -r "$etc/$file" \
    || die "$etc/$file is not readable by user asterisk: its group must be asterisk (gid $(id -g asterisk)), as in the control-plane image"
done

mkdir -p /run/asterisk /var/spool/asterisk/recording
chown asterisk:asterisk /run/asterisk /var/log/asterisk /var/lib/asterisk /var/spool/asterisk \
  /var/spool/asterisk/recording "$state/astdb"
chmod 0700 /var/spool/asterisk/recording  # the callers' voices: Asterisk's only

# What Asterisk writes (recordings, logs, its database) is its own: files 0600. The
# secrets are in the rendered files now; Asterisk's environment does not keep them.
umask 077
unset "${secret_names[@]}"
exec /usr/sbin/asterisk -f -U asterisk -G asterisk
