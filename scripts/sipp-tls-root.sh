#!/usr/bin/env bash
# Builds the Debian sid root folder with a TLS-capable SIPp, for the tests of the desk
# phones over TLS (Debian 12's sip-tester 3.6.1 has no TLS; sid's 3.8 is built with it).
# Rules: idempotent (a root whose `sipp -v` names TLS is reused); atomic (built in
# ROOT.tmp, renamed only when complete); lives outside the checkout ($SIPP_TLS_ROOT,
# default $IVR_CACHE_DIR/sipp-tls-root); never installs sid packages on the host. SIPp
# runs in it with chroot, sharing the host's network (loopback), its files copied in.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root

: "${DEBIAN_MIRROR:=http://deb.debian.org/debian}"
: "${SIPP_TLS_ROOT:=$IVR_CACHE_DIR/sipp-tls-root}"

# `sipp -v` prints e.g. "SIPp v3.8.0-TLS-SCTP-PCAP." (read whole: no early exit of grep).
version() { chroot "$1" /usr/bin/sipp -v 2>/dev/null | grep -o 'SIPp v[^ ]*' || true; }
has_tls() { case "$(version "$1")" in *-TLS*) return 0 ;; *) return 1 ;; esac; }

if [ -x "$SIPP_TLS_ROOT/usr/bin/sipp" ] && has_tls "$SIPP_TLS_ROOT"; then
  log "reusing $SIPP_TLS_ROOT ($(version "$SIPP_TLS_ROOT"))"
  exit 0
fi

tmp="$SIPP_TLS_ROOT.tmp"
log "building the TLS SIPp root in $tmp from Debian sid ($DEBIAN_MIRROR); about half a minute"
sid_root "$tmp" sip-tester "the TLS SIPp root"
if ! has_tls "$tmp"; then
  built=$(version "$tmp")
  rm -rf "$tmp"
  die "sid's sip-tester (${built:-no working sipp}) is built without TLS: the TLS phone tests need one that has it"
fi

rm -rf "$SIPP_TLS_ROOT"
mv "$tmp" "$SIPP_TLS_ROOT"
rm -f "$tmp.log"
log "built $SIPP_TLS_ROOT ($(version "$SIPP_TLS_ROOT"))"
