#!/usr/bin/env bash
# Builds the Debian sid root folder that Asterisk 22 runs in (with chroot).
# Rules: idempotent (an existing root whose `asterisk -V` works is reused);
# atomic (built in ROOT.tmp, renamed only when complete); lives outside the
# checkout ($ASTERISK_ROOT, default /var/cache/ivr112/asterisk-root); never
# installs sid packages on the host.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root

: "${DEBIAN_MIRROR:=http://deb.debian.org/debian}"
# The package set we need, from the list shared with the container image (comma
# separated for mmdebstrap). Pinned by major version: the check below refuses a
# root whose Asterisk is not 22.
PACKAGES=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$REPO_DIR/scripts/asterisk-packages.txt" | paste -sd, -)
[ -n "$PACKAGES" ] || die "no package listed in $REPO_DIR/scripts/asterisk-packages.txt"

if [ -x "$ASTERISK_ROOT/usr/sbin/asterisk" ] && version=$(chroot "$ASTERISK_ROOT" /usr/sbin/asterisk -V 2>/dev/null); then
  log "reusing $ASTERISK_ROOT ($version)"
  exit 0
fi

tmp="$ASTERISK_ROOT.tmp"
log "building Asterisk root in $tmp from Debian sid ($DEBIAN_MIRROR); about a minute"
sid_root "$tmp" "$PACKAGES" "the Asterisk root"

version=$(chroot "$tmp" /usr/sbin/asterisk -V 2>/dev/null) || die "the new root has no working asterisk binary (log: $tmp.log)"
case "$version" in
  "Asterisk 22."*) ;;
  *) rm -rf "$tmp"; die "sid delivered '$version', this project needs Asterisk 22" ;;
esac

# Debian's sample configs move aside: the repo's configuration is copied in at every start.
if [ -d "$tmp/etc/asterisk" ]; then
  mv "$tmp/etc/asterisk" "$tmp/etc/asterisk.debian-samples"
  mkdir -p "$tmp/etc/asterisk"
fi
# No systemd in a chroot; res_resolver_unbound wants /etc/hosts.
mkdir -p "$tmp/run/asterisk"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$tmp/etc/hosts"

rm -rf "$ASTERISK_ROOT"
mv "$tmp" "$ASTERISK_ROOT"
rm -f "$tmp.log"
log "built $ASTERISK_ROOT ($version)"
