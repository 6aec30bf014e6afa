#!/usr/bin/env bash
# Starts Asterisk 22 in its chroot with the repo's configuration, as a daemon.
# Rules: the same three steps as the systemd unit ivr112-asterisk.service, one script
# each: scripts/asterisk-prepare.sh (builds the root if missing, stops an Asterisk
# already running from it by pid, renders the configuration, the centre's endpoints and
# the prompts, keeps private data private), scripts/asterisk-launch.sh (Asterisk as
# user asterisk under umask 077), scripts/asterisk-wait.sh (returns only when ARI
# answers, or fails naming what did not come up).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root

bash "$REPO_DIR/scripts/asterisk-prepare.sh"
bash "$REPO_DIR/scripts/asterisk-launch.sh" \
  || die "asterisk did not start (see $ASTERISK_ROOT/var/log/asterisk/messages.log)"
exec bash "$REPO_DIR/scripts/asterisk-wait.sh"
