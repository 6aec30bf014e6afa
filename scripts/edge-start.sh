#!/usr/bin/env bash
# Starts the cluster's SIP edge (Debian kamailio 5.6) in front of the Asterisk nodes, as a daemon.
# Rules: the configuration is rendered afresh from the centre configuration by
# `python -m ivr config edge` into $IVR_EDGE_DIR (default $IVR_CACHE_DIR/edge; it holds the
# phones' digests: root's and the kamailio group's only) and checked with `kamailio -c`
# before anything starts; Kamailio runs as user kamailio (IVR_EDGE_USER; root keeps root),
# its runtime folder (control socket, pid file kamailio.pid) $IVR_EDGE_DIR/run, its log
# $IVR_EDGE_DIR/kamailio.log; nothing else may listen on the edge's address and port
# (Kamailio itself would share it without a word); returns only once the edge answers an
# OPTIONS. An edge of ours already running takes the fresh files: the node list is reloaded
# at once (dispatcher.reload) and the phones' table is read again on its next use; a
# changed kamailio.cfg (trunks, the edge's address) needs edge-stop.sh then edge-start.sh.
# Several edges (each on its own address, all rendered from the same files): IVR_SIP_EDGE
# lists them all, edge 1 first, and IVR_EDGE_ADDRESS says which one this is; they share
# the phones' registrations (DMQ: an edge that starts asks the others for every one).
# Settings: IVR_SIP_EDGE (127.0.0.50:5060; comma-separated when several), IVR_EDGE_ADDRESS
# (this edge; the first of IVR_SIP_EDGE when unset), IVR_CLUSTER_NODES
# (a1=127.0.0.51:5060,a2=127.0.0.52:5060), IVR_CENTRE_CONFIG (queue/kendari.yaml),
# IVR_STATE_DIR (the phones' passwords, as for Asterisk). IVR_EDGE_DIR's default is
# $IVR_CACHE_DIR/edge for edge 1, $IVR_CACHE_DIR/edge-<address> for another.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pids.sh"

: "${IVR_EDGE_USER:=kamailio}"
: "${IVR_SIP_EDGE:=127.0.0.50:5060}"
: "${IVR_EDGE_ADDRESS:=${IVR_SIP_EDGE%%,*}}"
: "${IVR_EDGE_DIR:=$(edge_dir "$IVR_EDGE_ADDRESS")}"
export IVR_SIP_EDGE IVR_EDGE_ADDRESS
dir=$IVR_EDGE_DIR
case "$dir" in /?*) ;; *) die "IVR_EDGE_DIR must be an absolute path of its own, not '$dir'" ;; esac
host=${IVR_EDGE_ADDRESS%:*}
port=${IVR_EDGE_ADDRESS##*:}
[ "$host" != "$IVR_EDGE_ADDRESS" ] || port=5060
case ",$IVR_SIP_EDGE," in *",$IVR_EDGE_ADDRESS,"*) ;; *) die "IVR_EDGE_ADDRESS $IVR_EDGE_ADDRESS is not one of IVR_SIP_EDGE ($IVR_SIP_EDGE)" ;; esac

need_root
command -v kamailio >/dev/null || bash "$REPO_DIR/scripts/host-deps.sh"
[ -x "$REPO_DIR/.venv/bin/python" ] || bash "$REPO_DIR/scripts/host-deps.sh"
id "$IVR_EDGE_USER" >/dev/null 2>&1 || die "no user $IVR_EDGE_USER (IVR_EDGE_USER) to run Kamailio as"
private_state

# An OPTIONS to the edge itself, answered 200 (standard library only).
answers() {
  python3 - "$host" "$port" <<'EOF' 2>/dev/null
import socket, sys, uuid
host, port = sys.argv[1], int(sys.argv[2])
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.settimeout(0.3)
    s.connect((host, port))
    me, mine = s.getsockname()
    tag = uuid.uuid4().hex[:16]
    s.send((f"OPTIONS sip:{host}:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {me}:{mine};branch=z9hG4bK{tag}\r\n"
            f"From: <sip:edge-start@{me}>;tag={tag}\r\nTo: <sip:{host}:{port}>\r\nCall-ID: {tag}@{me}\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode())
    sys.exit(0 if s.recv(4096).startswith(b"SIP/2.0 200") else 1)
EOF
}

render() {
  (cd "$REPO_DIR" && "$REPO_DIR/.venv/bin/python" -m ivr config edge "$dir") \
    || die "the edge's configuration was not rendered (see above): nothing changed"
  chgrp -R "$IVR_EDGE_USER" "$dir"
  chown "$IVR_EDGE_USER" "$dir/run"
  chmod 0750 "$dir/run"
  [ "$IVR_EDGE_USER" = root ] || runuser -u "$IVR_EDGE_USER" -- test -r "$dir/db/subscriber" \
    || die "user $IVR_EDGE_USER cannot read $dir (a folder above it is closed to others?)"
}

pidfile="$dir/run/kamailio.pid"
if pid=$(running_pid "$pidfile" "$dir/kamailio.cfg"); then
  cfg_before=$(sha256sum "$dir/kamailio.cfg")
  render
  kamcmd -s "unix:$dir/run/kamailio_ctl" dispatcher.reload >/dev/null \
    || die "the SIP edge (pid $pid) did not reload its node list"
  log "the SIP edge already runs (pid $pid): node list reloaded, phones' table refreshed"
  [ "$cfg_before" = "$(sha256sum "$dir/kamailio.cfg")" ] \
    || log "kamailio.cfg changed: restart the edge to apply it (edge-stop.sh, edge-start.sh)"
  exit 0
fi
mkdir -p "$dir"
render
if command -v ss >/dev/null \
  && ss -Hlun "sport = :$port" | awk '{print $4}' | grep -qxF -e "$host:$port" -e "0.0.0.0:$port" -e "*:$port"; then
  die "something already listens on $host:$port/udp (a kamailio.service of the package? see ss -lunp)"
fi
kamailio -c -f "$dir/kamailio.cfg" >"$dir/check.log" 2>&1 \
  || die "kamailio refuses $dir/kamailio.cfg (see $dir/check.log)"
owner=()
[ "$IVR_EDGE_USER" = root ] || owner=(-u "$IVR_EDGE_USER" -g "$IVR_EDGE_USER")
rm -f "$pidfile"
umask 027
kamailio -E -P "$pidfile" -Y "$dir/run" -f "$dir/kamailio.cfg" "${owner[@]}" >>"$dir/kamailio.log" 2>&1 \
  || die "kamailio did not start (see $dir/kamailio.log)"
for _ in $(seq 1 50); do
  if pid=$(running_pid "$pidfile" "$dir/kamailio.cfg") && answers; then
    if [ "$IVR_SIP_EDGE" != "${IVR_SIP_EDGE%%,*}" ]; then
      # Its first notice to the other edges (DMQ) settles within the 1 s transaction timeout;
      # an edge started inside that second could be left marked inactive by this one
      # (Kamailio 5.6), so the next edge is started only after it.
      sleep 1.5
    fi
    log "SIP edge up on $host:$port/udp (pid $pid; edges $IVR_SIP_EDGE), nodes: ${IVR_CLUSTER_NODES:-a1=127.0.0.51:5060,a2=127.0.0.52:5060}"
    exit 0
  fi
  sleep 0.1
done
die "kamailio started but the edge does not answer on $host:$port (see $dir/kamailio.log)"
