#!/usr/bin/env bash
# A changed centre configuration (call takers, agencies, trunks) applied to one running
# Asterisk node of the cluster form: node-reload.sh NAME (e.g. a1), on the node's host.
# Rules: the same writing as scripts/node-start.sh (`python -m ivr config apply` into the
# node's own folder, readable to Asterisk only), then res_pjsip and app_queue reloaded
# through the node's own control socket: calls in progress are not touched, the node is not
# restarted; an invalid file changes nothing (each problem printed, exit status 1). The
# SIP edge's phones and the control planes are told separately (scripts/cluster.sh reload
# does all three on one machine; docs/operations.md, the cluster form).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/scripts/pids.sh"
. "$REPO_DIR/scripts/node-lib.sh"
need_root

[ $# -eq 1 ] || die "usage: node-reload.sh NAME (e.g. node-reload.sh a1)"
name=$1
node_name "$name"
pid=$(node_pid "$name") || die "node $name is not running (start it with scripts/node-start.sh)"
[ -n "${IVR_SIP_EDGE:-}" ] \
  || log "IVR_SIP_EDGE is unset: node $name's endpoints are written for phones and trunks without an edge"
etc="$ASTERISK_ROOT/etc/asterisk-$name"
(cd "$REPO_DIR" && IVR_ASTERISK_ETC="$etc" IVR_STATE_DIR="$IVR_STATE_DIR" \
  IVR_CENTRE_CONFIG="${IVR_CENTRE_CONFIG:-$REPO_DIR/queue/kendari.yaml}" \
  "$REPO_DIR/.venv/bin/python" -m ivr config apply --no-reload) \
  || die "node $name: the centre configuration was not applied (see above); the node runs on unchanged"
chroot "$ASTERISK_ROOT" chgrp -R asterisk "/etc/asterisk-$name"
for module in res_pjsip.so app_queue.so; do
  node_cli "$name" "module reload $module" >/dev/null || die "node $name: $module not reloaded"
done
log "node $name (pid $pid): centre configuration applied; res_pjsip and app_queue reloaded"
