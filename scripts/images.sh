#!/usr/bin/env bash
# `make images`: builds the container images of docker/ with podman: Asterisk 22, the
# control plane and, where the official Redis image cannot be pulled, Redis from Debian's
# package (docker/redis/, put in its place by docker/compose.local.yaml).
# Rules:
# - The bases are build arguments. IMAGE_BASES=public keeps the Dockerfiles' pinned public
#   bases (pulled from their registry); IMAGE_BASES=local makes them here with mmdebstrap
#   from the Debian mirror (DEBIAN_MIRROR): Debian sid for Asterisk (the packages of
#   scripts/asterisk-packages.txt come from sid, as for the chroot), Debian 12 with Python
#   3.11 and its venv module for the control plane and Redis. Unset, it is public when the
#   control plane's public base can be pulled, else local. A local base is made once and
#   reused while it exists (IMAGE_BASES_REFRESH=yes makes it again).
# - A base made here trusts the certificate authorities the host has added
#   (/usr/local/share/ca-certificates: a company's TLS-inspecting proxy, say), so pip and
#   apt inside the builds reach the registries as the host does; the public bases do not.
# - The images are tagged with the project's version (pyproject.toml), the names
#   docker/compose.yaml and docker/compose.local.yaml use, in docker format (so their
#   HEALTHCHECK is kept; the OCI format drops it).
# - podman runs with runc and cgroupfs (scripts/podman-env.sh), which work where crun and
#   systemd's cgroups do not (containers in containers, hybrid cgroups).
# - A failed build stops with the image's name and the tail of its log; nothing is tagged
#   that did not build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/scripts/podman-env.sh"
need_root

: "${DEBIAN_MIRROR:=http://deb.debian.org/debian}"
: "${IMAGE_BASES:=}"
: "${IMAGE_BASES_REFRESH:=no}"
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$REPO_DIR/pyproject.toml")
[ -n "$VERSION" ] || die "no version in $REPO_DIR/pyproject.toml"
podman_tools
logs="$IVR_CACHE_DIR/images"
mkdir -p "$logs"

LOCAL_SID=localhost/kendari112/base:sid
LOCAL_BOOKWORM=localhost/kendari112/base:bookworm-python3.11

# The public base a Dockerfile pins (its ARG BASE default).
pinned_base() { sed -n 's/^ARG BASE=//p' "$REPO_DIR/$1" | head -n 1; }

if [ -z "$IMAGE_BASES" ]; then
  if podman image exists "$(pinned_base docker/control-plane/Dockerfile)" \
    || timeout 120 podman pull -q "$(pinned_base docker/control-plane/Dockerfile)" >/dev/null 2>&1; then
    IMAGE_BASES=public
  else
    IMAGE_BASES=local
    log "no container registry answers: the bases are made here with mmdebstrap"
  fi
fi

# A Debian base image made with mmdebstrap: NAME SUITE PACKAGES (comma separated).
local_base() {
  local name=$1 suite=$2 packages=$3
  if [ "$IMAGE_BASES_REFRESH" != yes ] && podman image exists "$name"; then
    log "reusing the base $name"
    return
  fi
  command -v mmdebstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
  local tar="$logs/${name##*:}.tar"
  log "making the base $name (Debian $suite, $packages) with mmdebstrap; under a minute"
  if ! mmdebstrap --variant=minbase --include="$packages" \
      --aptopt='Acquire::Check-Valid-Until "false"' \
      --aptopt='APT::Install-Recommends "false"' \
      --customize-hook='copy-in /usr/local/share/ca-certificates /usr/local/share' \
      --customize-hook='chroot "$1" update-ca-certificates >/dev/null' \
      --customize-hook='printf "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n" >"$1/etc/pip.conf"' \
      "$suite" "$tar" "$DEBIAN_MIRROR" >"$logs/${name##*:}.log" 2>&1; then
    tail -n 20 "$logs/${name##*:}.log" >&2
    rm -f "$tar"
    die "could not make the base $name from Debian $suite at $DEBIAN_MIRROR (log: $logs/${name##*:}.log)"
  fi
  podman import -q "$tar" "$name" >/dev/null
  rm -f "$tar"
}

# build NAME DOCKERFILE BASE
build() {
  local name=$1 dockerfile=$2 base=$3 log="$logs/$(basename "$(dirname "$2")").log"
  local args=(--format docker --network host -f "$REPO_DIR/$dockerfile" -t "$name:$VERSION")
  [ -z "$base" ] || args+=(--build-arg "BASE=$base")
  log "building $name:$VERSION from ${base:-$(pinned_base "$dockerfile")} (log: $log)"
  if ! podman build "${args[@]}" "$REPO_DIR" >"$log" 2>&1; then
    tail -n 25 "$log" >&2
    die "the image $name did not build (log: $log)"
  fi
}

if [ "$IMAGE_BASES" = local ]; then
  local_base "$LOCAL_SID" sid ca-certificates
  local_base "$LOCAL_BOOKWORM" bookworm ca-certificates,python3,python3-venv
  build kendari112/asterisk docker/asterisk/Dockerfile "$LOCAL_SID"
  build kendari112/control-plane docker/control-plane/Dockerfile "$LOCAL_BOOKWORM"
  build kendari112/redis docker/redis/Dockerfile "$LOCAL_BOOKWORM"
elif [ "$IMAGE_BASES" = public ]; then
  build kendari112/asterisk docker/asterisk/Dockerfile ""
  build kendari112/control-plane docker/control-plane/Dockerfile ""
else
  die "IMAGE_BASES is '$IMAGE_BASES': public or local"
fi
podman images --filter reference='kendari112/*' --format '{{.Repository}}:{{.Tag}}  {{.Size}}' \
  | grep -F ":$VERSION" >&2 || true
