#!/usr/bin/env bash
# Stops one Asterisk node of the cluster form: node-stop.sh NAME (started by scripts/node-start.sh).
# Rules: by that node's pid only, and only while the process still runs that node's
# asterisk.conf (a recycled pid is left alone); asks politely first (core stop now through
# the node's own control socket), then TERM, then KILL; the other nodes and the
# single-node Asterisk of the same root are never touched.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/scripts/pids.sh"
. "$REPO_DIR/scripts/node-lib.sh"
need_root

[ $# -eq 1 ] || die "usage: node-stop.sh NAME (e.g. node-stop.sh a1)"
name=$1
node_name "$name"
pidfile=$(node_pidfile "$name")
if ! pid=$(node_pid "$name"); then
  rm -f "$pidfile"
  log "node $name is not running"
  exit 0
fi
# Only through this node's own asterisk.conf: without it Asterisk would use the default
# control socket, another Asterisk's.
if [ -f "$ASTERISK_ROOT$(node_conf "$name")" ]; then
  timeout 5 chroot "$ASTERISK_ROOT" /usr/sbin/asterisk -C "$(node_conf "$name")" -rx 'core stop now' >/dev/null 2>&1 || true
fi
for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
if alive "$pid"; then stop_pid "$pid" "node $name" 5; else log "stopped node $name (pid $pid)"; fi
rm -f "$pidfile"
