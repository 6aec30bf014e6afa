# podman as the project runs it (sourced by scripts/images.sh and scripts/compose.sh,
# after lib.sh; never run), and the podman-compose it needs.
# Rules: the runtime is runc and the cgroup manager cgroupfs, set once in a
# containers.conf of the cache folder that CONTAINERS_CONF names (one given by the
# caller is kept): crun and systemd's cgroups refuse inside containers and on hybrid
# cgroups, runc and cgroupfs run everywhere. The open-files limit of containers is the
# host's hard limit (a container may not raise it past that); health checks are run by
# the scripts themselves (`podman healthcheck run`), there being no systemd timer to.
podman_tools() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  [ ${#missing[@]} = 0 ] && return
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "could not install ${missing[*]} with apt-get"
}

# podman-compose 1.1 or newer: the virtualenv's (pyproject.toml's test tools), else one on
# PATH. Debian 12's 1.0.3 puts a service of `network_mode: host` on a network as well,
# which podman refuses.
podman_compose() {
  local found
  for found in "$REPO_DIR/.venv/bin/podman-compose" "$(command -v podman-compose || true)"; do
    [ -x "$found" ] || continue
    if "$found" --version 2>/dev/null | grep -Eq 'podman-compose version (1\.([1-9]|[1-9][0-9])|[2-9])'; then
      echo "$found"
      return
    fi
  done
  die "podman-compose 1.1 or newer is needed (make deps puts it in .venv; or: pip install podman-compose)"
}

if [ -z "${CONTAINERS_CONF:-}" ]; then
  CONTAINERS_CONF="$IVR_CACHE_DIR/podman/containers.conf"
  mkdir -p "${CONTAINERS_CONF%/*}"
  nofile=$(ulimit -Hn)
  [ "$nofile" = unlimited ] && nofile=1048576
  cat >"$CONTAINERS_CONF.new" <<CONF
# Written by scripts/podman-env.sh: podman as the project runs it.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  mv "$CONTAINERS_CONF.new" "$CONTAINERS_CONF"
fi
export CONTAINERS_CONF
