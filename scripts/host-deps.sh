#!/usr/bin/env bash
# Installs what the host needs (Debian 12/13) and the project's virtualenv.
# Rules: installs only missing Debian packages; never installs sid packages on the
# host (Asterisk lives in its own root, see asterisk-root.sh); the virtualenv is
# .venv in the checkout, refreshed when pyproject.toml changes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# openssl: the desk phones' self-signed SIP TLS certificate (scripts/render_conf.py);
# chromium: the dashboard's browser test; systemd: systemd-analyze, which checks the units of
# deploy/systemd (nothing is started by it: a host without systemd running keeps it so);
# kamailio: the cluster's SIP edge (scripts/edge-start.sh); redis-sentinel: the cluster's Redis;
# prometheus: its promtool, which checks the alert rules of docs/prometheus in the unit tests;
# logrotate: rotates Asterisk's log files on an installed host (deploy/logrotate), and checks
# that file in the unit tests; podman, runc: the container images (`make images`) and the
# compose stack's test (podman-compose comes from PyPI, in the virtualenv: Debian 12's
# cannot run services on the host's network).
PACKAGES="mmdebstrap redis-server redis-tools sip-tester espeak-ng sox curl openssl python3-venv ca-certificates tzdata
chromium chromium-driver fonts-dejavu-core systemd kamailio redis-sentinel prometheus logrotate podman runc"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  need_root
  log "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null \
    || die "apt-get could not install:$missing"
  # The prometheus package enables its own server (port 9090, every address, an example
  # configuration) and, under systemd, starts it. Installed here for promtool alone, that
  # service is stopped and disabled; a prometheus installed before is left as it is.
  case " $missing " in
    *" prometheus "*)
      if command -v systemctl >/dev/null && systemctl disable --quiet prometheus.service 2>/dev/null; then
        [ ! -d /run/systemd/system ] || systemctl stop prometheus.service 2>/dev/null || true
        log "disabled the prometheus package's own server: it was installed for promtool"
      fi
      ;;
  esac
fi

# The kamailio package enables its own kamailio.service and, under systemd, starts it at once
# with its example configuration, on port 5060 of every address of the host. The edge runs
# with its own configuration (edge-start.sh), and Kamailio binds with SO_REUSEADDR: a second
# Kamailio on the same address and port starts without an error and may receive the edge's
# requests. So that service is stopped and disabled while it still has the package's own
# configuration (unchanged since install); a kamailio.cfg someone edited is left alone.
example=$(dpkg-query -W -f='${Conffiles}\n' kamailio 2>/dev/null | awk '$1 == "/etc/kamailio/kamailio.cfg" {print $2}')
if [ -n "$example" ] && command -v systemctl >/dev/null \
  && [ "$(md5sum </etc/kamailio/kamailio.cfg 2>/dev/null | cut -d' ' -f1)" = "$example" ]; then
  if [ -d /run/systemd/system ] && systemctl is-active --quiet kamailio.service; then
    need_root
    systemctl stop kamailio.service && log "stopped the kamailio package's own service (its example configuration)"
  fi
  if systemctl is-enabled --quiet kamailio.service 2>/dev/null; then
    need_root
    systemctl disable --quiet kamailio.service 2>/dev/null \
      && log "disabled the kamailio package's own service: the SIP edge is started by scripts/edge-start.sh"
  fi
fi

: "${PYTHON:=python3}"
venv="$REPO_DIR/.venv"
stamp="$venv/.installed-from"
want=$(sha256sum "$REPO_DIR/pyproject.toml" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ]; then
  "$PYTHON" -m venv "$venv" || die "could not create the virtualenv in $venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing the control plane and its test tools into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -e "$REPO_DIR[test]" \
    || die "pip could not install the project (see the messages above)"
  # Silero VAD's ONNX model ships in this wheel; its torch dependency is not needed
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps "silero-vad==6.2.3" \
    || die "pip could not install the Silero VAD model (silero-vad, without its dependencies)"
  echo "$want" >"$stamp"
fi
