#!/usr/bin/env bash
# Stops the Redis-with-Sentinel set scripts/sentinel-start.sh started, by pid only: the
# Sentinels first (so that stopping the primary starts no failover), then the data nodes.
# Rules: a pid counts only while its process still runs the member we started (pids.sh);
# TERM, then KILL after a bound; each member's folder (configuration, data) is kept, so the
# next start brings the set back with its data and the primary the Sentinels last named.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/scripts/pids.sh"
. "$REPO_DIR/scripts/sentinel-lib.sh"

stop_member() {
  local kind=$1 address=$2 pid
  if pid=$(member_pid "$kind" "$address"); then
    stop_pid "$pid" "$kind on $address" 20
  fi
  rm -f "$(member_dir "$kind" "$address")/$kind.pid"
}
for sentinel in $SENTINELS; do stop_member sentinel "$sentinel"; done
for address in $DATA_NODES; do stop_member redis "$address"; done
