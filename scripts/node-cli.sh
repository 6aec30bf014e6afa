#!/usr/bin/env bash
# One Asterisk CLI command on one node of the cluster form: node-cli.sh NAME COMMAND...
# (e.g. node-cli.sh a1 pjsip show endpoints). Rules: through that node's own control
# socket (its asterisk.conf), never another node's; prints what Asterisk prints.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/scripts/pids.sh"
. "$REPO_DIR/scripts/node-lib.sh"
need_root

[ $# -ge 2 ] || die "usage: node-cli.sh NAME COMMAND... (e.g. node-cli.sh a1 core show settings)"
node_name "$1"
node_cli "$@"
