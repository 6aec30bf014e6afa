#!/usr/bin/env bash
# Starts one Asterisk node of the cluster form: node-start.sh NAME ADDRESS (e.g. a1 127.0.0.51).
# Several nodes run from the one Asterisk root ($ASTERISK_ROOT, never copied), each with
# its own addresses and folders (scripts/node-lib.sh), all configured from the same repo
# files and the same centre configuration (queue/, IVR_CENTRE_CONFIG).
# Rules:
# - NAME becomes the node's systemname: every channel id it makes starts with "NAME-".
# - The node's SIP (port 5060, and 5061 for TLS, which no desk phone uses in this form:
#   they register with the edge over UDP), ARI/HTTP ($ASTERISK_HTTP_PORT, 8088) and AMI ($AMI_PORT,
#   5038) listen on ADDRESS only; its calls' media too, on RTP ports of its own: RTP_START
#   to RTP_END when both are given, else 5000 ports by the number ending NAME (a1:
#   10000-14999, a2: 15000-19999, ... a6: 35000-39999).
# - IVR_SIP_EDGE (the SIP edge's IPv4 address:port) gives the cluster form's SIP doors:
#   phones and trunks through the edge, nobody else let in (ivr/config/asterisk_centre.py).
# - The same steps as scripts/asterisk-prepare.sh and asterisk-launch.sh for the one node:
#   configuration rendered afresh (scripts/render_conf.py, then `python -m ivr config
#   apply`), readable to Asterisk only (group asterisk, 0640), the secrets shared by every
#   node from the state folder, recordings Asterisk's only (0700, files 0600), Asterisk as
#   user asterisk under umask 077. A node already running under NAME is stopped by its pid
#   first; an address already taken by another program is refused.
# - Returns once the node has booted and its own ARI answers with its name; fails naming
#   what did not come up and where its log is.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/scripts/pids.sh"
. "$REPO_DIR/scripts/node-lib.sh"
need_root

[ $# -eq 2 ] || die "usage: node-start.sh NAME ADDRESS (e.g. node-start.sh a1 127.0.0.51)"
name=$1 address=$2
node_name "$name"
python3 -c 'import ipaddress, sys; ipaddress.IPv4Address(sys.argv[1])' "$address" 2>/dev/null \
  || die "node $name: '$address' is not an IPv4 address"
: "${AMI_PORT:=5038}"
sip_port=5060 sip_tls_port=5061
if [ -n "${RTP_START:-}" ] || [ -n "${RTP_END:-}" ]; then
  [ -n "${RTP_START:-}" ] && [ -n "${RTP_END:-}" ] \
    || die "node $name: give both RTP_START and RTP_END, or neither"
else
  index=${name##*[a-z]}
  [[ $index =~ ^[1-6]$ ]] \
    || die "node $name: no RTP range of its own (names ending 1-6 get one); give RTP_START and RTP_END"
  RTP_START=$((10000 + (index - 1) * 5000)) RTP_END=$((14999 + (index - 1) * 5000))
fi
[ -n "${IVR_SIP_EDGE:-}" ] \
  || log "IVR_SIP_EDGE is unset: node $name takes phones' registrations and trunks' calls itself (no edge)"

bash "$REPO_DIR/scripts/asterisk-root.sh"
if pid=$(node_pid "$name"); then
  log "node $name is running (pid $pid): stopping it first"
  bash "$REPO_DIR/scripts/node-stop.sh" "$name"
fi
ports="$sip_port, $sip_tls_port, $ASTERISK_HTTP_PORT or $AMI_PORT"
taken=$(ss -Hlntu "( src $address:$sip_port or src $address:$sip_tls_port or src $address:$ASTERISK_HTTP_PORT or src $address:$AMI_PORT )" \
  2>/dev/null || true)
[ -z "$taken" ] || die "node $name: another program listens on $address, port $ports:
$taken"

etc="$ASTERISK_ROOT/etc/asterisk-$name"
SIP_BIND="$address:$sip_port" SIP_TLS_BIND="$address:$sip_tls_port" ASTERISK_HTTP_BIND="$address" ASTERISK_HTTP_PORT="$ASTERISK_HTTP_PORT" \
  AMI_BIND="$address" AMI_PORT="$AMI_PORT" RTP_START="$RTP_START" RTP_END="$RTP_END" ASTERISK_NODE="$name" \
  python3 "$REPO_DIR/scripts/render_conf.py" "$etc" || die "node $name: configuration not rendered (see above)"
[ -x "$REPO_DIR/.venv/bin/python" ] || bash "$REPO_DIR/scripts/host-deps.sh"
(cd "$REPO_DIR" && IVR_ASTERISK_ETC="$etc" IVR_STATE_DIR="$IVR_STATE_DIR" \
  IVR_CENTRE_CONFIG="${IVR_CENTRE_CONFIG:-$REPO_DIR/queue/kendari.yaml}" \
  "$REPO_DIR/.venv/bin/python" -m ivr config apply --no-reload) \
  || die "node $name: the centre configuration's endpoints could not be written (see above)"
chroot "$ASTERISK_ROOT" chgrp -R asterisk "/etc/asterisk-$name"
private_state

# The prompts, shared by every node (and the single-node form): replaced only when changed,
# by a rename, so a node already playing them never finds them missing.
sounds="$ASTERISK_ROOT/usr/share/asterisk/sounds/id"
bash "$REPO_DIR/scripts/prompts.sh" "$IVR_CACHE_DIR/prompts"
mkdir -p "$sounds"
if ! diff -rq "$IVR_CACHE_DIR/prompts/ivr112" "$sounds/ivr112" >/dev/null 2>&1; then
  rm -rf "$sounds/ivr112.new" "$sounds/ivr112.old"
  cp -r "$IVR_CACHE_DIR/prompts/ivr112" "$sounds/ivr112.new"
  [ ! -e "$sounds/ivr112" ] || mv "$sounds/ivr112" "$sounds/ivr112.old"
  mv "$sounds/ivr112.new" "$sounds/ivr112"
  rm -rf "$sounds/ivr112.old"
fi

while read -r folder; do
  [ "$folder" = "/etc/asterisk-$name" ] && continue
  mkdir -p -m 0750 "$ASTERISK_ROOT$folder"
  chroot "$ASTERISK_ROOT" chown asterisk:asterisk "$folder"
done < <(node_folders "$name")
recordings="$ASTERISK_ROOT/var/spool/asterisk-$name/recording"
mkdir -p "$recordings"
chroot "$ASTERISK_ROOT" chown asterisk:asterisk "/var/spool/asterisk-$name/recording"
# The callers' voices: Asterisk's only.
find "$recordings" -type d ! -perm 0700 -exec chmod 0700 {} +
find "$recordings" -type f ! -perm 0600 -exec chmod 0600 {} +
log_file="$ASTERISK_ROOT/var/log/asterisk-$name/messages.log"
rm -f "$log_file"

(umask 077 && chroot "$ASTERISK_ROOT" /usr/sbin/asterisk -C "$(node_conf "$name")" -U asterisk -G asterisk) \
  || die "node $name: asterisk did not start (see $log_file)"

booted=no
for _ in $(seq 1 300); do  # the control socket appears a moment after the daemon starts
  if node_cli "$name" 'core waitfullybooted' >/dev/null 2>&1; then booted=yes; break; fi
  sleep 0.1
done
[ "$booted" = yes ] || die "node $name did not finish booting within 30 s (see $log_file)"
password=${IVR_ARI_PASSWORD:-$(cat "$IVR_STATE_DIR/secrets/ari_password")}
url="http://$address:$ASTERISK_HTTP_PORT/ari/asterisk/info?only=config"
for _ in $(seq 1 100); do
  # Its own ARI: the answer names this node (not another Asterisk on the address).
  if curl_with user "${IVR_ARI_USER:-ivr112}:$password" -fsS "$url" 2>/dev/null | grep -q "\"name\":\"$name\""; then
    pid=$(node_pid "$name") \
      || die "node $name answers but its pid file $(node_pidfile "$name") names no process of it"
    log "node $name up (pid $pid): SIP $address:$sip_port, ARI http://$address:$ASTERISK_HTTP_PORT," \
      "AMI $address:$AMI_PORT, RTP $RTP_START-$RTP_END${IVR_SIP_EDGE:+, behind the SIP edge $IVR_SIP_EDGE}"
    exit 0
  fi
  sleep 0.1
done
die "node $name started but its ARI does not answer as '$name' at http://$address:$ASTERISK_HTTP_PORT (see $log_file)"
