# Shared settings for the project's shell scripts (sourced, never run).
# Rules: every path can be overridden from the environment; nothing here lives
# inside the git checkout except the checkout itself. No secret is ever put in a
# command's arguments (other users see those in ps): curl gets its credentials as
# configuration on standard input (curl_with), redis-cli in REDISCLI_AUTH.
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

# The state folder holds every caller's number (the call history), the secrets and
# Redis's data: its owner's only. Also narrows what an older install left readable.
private_state() {
  case "$IVR_STATE_DIR" in "" | /) die "IVR_STATE_DIR must be a folder of its own, not '$IVR_STATE_DIR'" ;; esac
  mkdir -p -m 0700 "$IVR_STATE_DIR"
  find "$IVR_STATE_DIR" -type d ! -perm 0700 -exec chmod 0700 {} +
  find "$IVR_STATE_DIR" -type f ! -perm 0600 -exec chmod 0600 {} +
}

# A secret of the state folder (secrets/NAME, mode 0600), made once with 24 random
# URL-safe characters as render_conf.py makes the others; printed, for $(...).
stored_secret() {
  local file="$IVR_STATE_DIR/secrets/$1"
  if [ ! -s "$file" ]; then
    (umask 077 && mkdir -p "${file%/*}" \
      && python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$file.new" && mv "$file.new" "$file") \
      || die "could not create the secret $file"
  fi
  cat "$file"
}

# edge_dir ADDRESS: where an edge's files live on its host by default: edge 1 (the first of
# IVR_SIP_EDGE) in $IVR_CACHE_DIR/edge, another in $IVR_CACHE_DIR/edge-<its address>.
edge_dir() {
  if [ "$1" = "${IVR_SIP_EDGE%%,*}" ]; then
    printf '%s' "$IVR_CACHE_DIR/edge"
  else
    printf '%s' "$IVR_CACHE_DIR/edge-${1//:/-}"
  fi
}

# Redis's password: IVR_REDIS_PASSWORD, else the state folder's secrets/redis_password.
redis_password() { printf '%s' "${IVR_REDIS_PASSWORD:-$(stored_secret redis_password)}"; }

# curl with one secret option given as configuration on its standard input (-K -):
#   curl_with user "NAME:PASSWORD" ARGS...   curl_with header "Authorization: Bearer TOKEN" ARGS...
curl_with() {
  local option=$1 value=$2
  shift 2
  value=${value//\\/\\\\}
  value=${value//\"/\\\"}
  printf '%s = "%s"\n' "$option" "$value" | curl -K - "$@"
}

# A Debian sid root folder for chroot, made with mmdebstrap into DIR (emptied first):
# sid_root DIR PACKAGES WHAT, PACKAGES comma separated. Without recommends, manual pages,
# documentation or translations; an archive whose Release file has expired is still read
# (mirrors and snapshots lag). On failure DIR is removed and the message names WHAT and
# the log (DIR.log), whose tail is printed. Never installs sid packages on the host.
sid_root() {
  local dir=$1 packages=$2 what=$3
  : "${DEBIAN_MIRROR:=http://deb.debian.org/debian}"
  command -v mmdebstrap >/dev/null || {
    log "installing mmdebstrap on the host"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null \
      || die "mmdebstrap is missing and apt-get could not install it"
  }
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  if ! mmdebstrap --variant=essential --mode=root \
      --include="$packages" \
      --aptopt='Acquire::Check-Valid-Until "false"' \
      --aptopt='APT::Install-Recommends "false"' \
      --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-include=/usr/share/locale/locale.alias' \
      sid "$dir" "$DEBIAN_MIRROR" >"$dir.log" 2>&1; then
    tail -n 30 "$dir.log" >&2
    rm -rf "$dir"
    die "could not build $what: mmdebstrap failed to install $packages from sid at $DEBIAN_MIRROR (full log: $dir.log)"
  fi
}
