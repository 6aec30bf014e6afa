#!/usr/bin/env bash
# Container start of Asterisk 22: renders the configuration, then replaces itself with
# Asterisk in the foreground (running as user asterisk), so stop signals reach Asterisk.
# Rules: refuses to start without IVR_ARI_PASSWORD and IVR_AMI_PASSWORD (render_conf.py
# would otherwise invent secrets the control plane does not know); renders afresh at
# every start, like scripts/asterisk-start.sh; the call takers' SIP passwords
# (secrets/sip_takerNN) and Asterisk's own database (phone registrations, queue member
# states) live in the state folder $IVR_STATE_DIR, a volume, so they survive restarts
# and image upgrades.
set -euo pipefail

app=/opt/kendari112
state=${IVR_STATE_DIR:-/var/lib/ivr112}
die() { printf 'kendari112-asterisk: %s\n' "$*" >&2; exit 1; }

[ -n "${IVR_ARI_PASSWORD:-}" ] || die "IVR_ARI_PASSWORD is not set (the control plane must use the same one)"
[ -n "${IVR_AMI_PASSWORD:-}" ] || die "IVR_AMI_PASSWORD is not set (the control plane must use the same one)"

# render_conf.py stores an API token for `make run` when none is set; the control plane
# takes its token from its own environment, so none is stored in Asterisk's state.
IVR_API_TOKEN=${IVR_API_TOKEN:-not-stored-here} python3 "$app/scripts/render_conf.py" /etc/asterisk \
  || die "the configuration could not be rendered (see the message above)"

# Asterisk's database goes to the state volume; the rest of /var/lib/asterisk is the
# package's and is replaced with the image.
if grep -q '^\[directories\]' /etc/asterisk/asterisk.conf; then
  die "asterisk-conf/asterisk.conf has its own [directories]: put astdbdir => $state/astdb there"
fi
mkdir -p "$state/astdb"
printf '\n; Added at container start: Asterisk'"'"'s database in the state volume.\n[directories]\nastdbdir => %s\n' \
  "$state/astdb" >>/etc/asterisk/asterisk.conf

chgrp -R asterisk /etc/asterisk
mkdir -p /run/asterisk /var/spool/asterisk/recording
chown asterisk:asterisk /run/asterisk /var/log/asterisk /var/lib/asterisk /var/spool/asterisk \
  /var/spool/asterisk/recording "$state/astdb"

exec /usr/sbin/asterisk -f -U asterisk -G asterisk
