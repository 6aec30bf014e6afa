# Shared settings for the project's shell scripts (sourced, never run).
# Rules: every path can be overridden from the environment; nothing here lives
# inside the git checkout except the checkout itself.
: "${IVR_CACHE_DIR:=/var/cache/ivr112}"
: "${ASTERISK_ROOT:=$IVR_CACHE_DIR/asterisk-root}"
: "${IVR_STATE_DIR:=/var/lib/ivr112}"
: "${IVR_ARI_APP:=ivr112}"
: "${ASTERISK_HTTP_PORT:=8088}"
: "${REDIS_PORT:=6380}"
# The control plane's call history, and Asterisk's recordings folder as the host sees it.
: "${IVR_ARCHIVE_PATH:=$IVR_STATE_DIR/calls.sqlite3}"
: "${IVR_RECORDINGS_PATH:=$ASTERISK_ROOT/var/spool/asterisk/recording}"
export IVR_ARCHIVE_PATH IVR_RECORDINGS_PATH
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "must run as root (chroot and package installs need it)"; }
