#!/usr/bin/env bash
# The compose stack of docker/ with podman-compose: `compose.sh up`, `compose.sh down [-v]`,
# `compose.sh ps`. (With Docker, `docker compose -f docker/compose.yaml up -d` does the same.)
# Rules:
# - COMPOSE_DIR is the folder holding compose.yaml and the operator's secrets/ (default
#   docker/ of this checkout; docker/README.md, "Secrets"); COMPOSE_PROJECT names the
#   stack (kendari112), its containers (<project>_<service>_1) and its volumes.
# - The images are those `make images` built (never built here); where that made Redis
#   from Debian's package, docker/compose.local.yaml puts it in the official image's place.
# - podman-compose (1.1 or newer) starts services in dependency order, but the conditions
#   it waits for need systemd's timers to run health checks, so `up` starts each stage and
#   waits itself, in the order compose.yaml's depends_on states: Redis healthy and the one-shot centre-config exited 0, then Asterisk healthy, then the
#   control plane and its watchdog, the control plane healthy. A stage that does not get
#   there stops `up` with the container's name and the tail of its log.
# - `down` removes the containers; the volumes (call history, recordings, SIP passwords)
#   stay unless -v is given.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/scripts/podman-env.sh"
need_root

: "${COMPOSE_DIR:=$REPO_DIR/docker}"
: "${COMPOSE_PROJECT:=kendari112}"
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$REPO_DIR/pyproject.toml")
podman_tools
PODMAN_COMPOSE=$(podman_compose)
files=(-f "$COMPOSE_DIR/compose.yaml")
if podman image exists "localhost/kendari112/redis:$VERSION"; then
  files+=(-f "$REPO_DIR/docker/compose.local.yaml")
fi
compose() { "$PODMAN_COMPOSE" -p "$COMPOSE_PROJECT" "${files[@]}" "$@"; }
container() { echo "${COMPOSE_PROJECT}_$1_1"; }

# The container's log tail, then die with the reason.
failed() {
  podman logs --tail 30 "$(container "$1")" >&2 2>&1 || true
  die "$1: $2"
}

# healthy SERVICE SECONDS: runs the container's health check until it passes.
healthy() {
  local name deadline=$((SECONDS + $2))
  name=$(container "$1")
  until podman healthcheck run "$name" >/dev/null 2>&1; do
    [ "$(podman inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || failed "$1" "exited"
    [ $SECONDS -lt "$deadline" ] || failed "$1" "not healthy after $2 s"
    sleep 1
  done
  log "$1 is healthy"
}

up() {
  for image in asterisk control-plane; do
    podman image exists "kendari112/$image:$VERSION" \
      || die "no image kendari112/$image:$VERSION: run \`make images\` first"
  done
  compose up -d --no-build --no-deps redis centre-config >/dev/null
  local code
  code=$(podman wait "$(container centre-config)")
  [ "$code" = 0 ] || failed centre-config "exited $code (the centre's endpoints were not written)"
  healthy redis 60
  compose up -d --no-build --no-deps asterisk >/dev/null
  healthy asterisk 120
  compose up -d --no-build --no-deps control-plane watchdog >/dev/null
  healthy control-plane 90
}

case "${1:-}" in
  up) up ;;
  down) shift; compose down "$@" >/dev/null ;;
  ps) compose ps ;;
  *) die "usage: $0 up | down [-v] | ps" ;;
esac
