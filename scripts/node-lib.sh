# One Asterisk node of the cluster form inside the shared root (sourced after lib.sh and
# pids.sh by scripts/node-*.sh, never run).
# Rules: a node's name is its Asterisk systemname (a-z then up to 7 of a-z 0-9), so every
# channel id it makes starts with "<name>-" and the control plane routes by it. A node
# writes only into folders of its own inside the root (the [directories] render_conf.py
# gives it for ASTERISK_NODE): /etc/asterisk-<name> (configuration), /run/asterisk-<name>
# (control socket, pid file), /var/lib/asterisk-<name> (its database),
# /var/spool/asterisk-<name> (recordings under recording/), /var/log/asterisk-<name>,
# /var/cache/asterisk-<name>; modules, sounds and prompts are shared, read only. Its pid
# counts only while that process still runs this node's asterisk.conf (pids.sh).
# shellcheck shell=bash

# Dies unless $1 is a node's name.
node_name() {
  [[ ${1:-} =~ ^[a-z][a-z0-9]{0,7}$ ]] \
    || die "node name '${1:-}': a-z then up to 7 of a-z 0-9 (it becomes the Asterisk systemname, e.g. a1)"
}

# The node's asterisk.conf as Asterisk sees it inside the root.
node_conf() { printf '/etc/asterisk-%s/asterisk.conf' "$1"; }

# The node's folders inside the root (as Asterisk sees them), one a line.
node_folders() {
  printf '/%s-%s\n' etc/asterisk "$1" run/asterisk "$1" var/lib/asterisk "$1" \
    var/spool/asterisk "$1" var/log/asterisk "$1" var/cache/asterisk "$1"
}

node_pidfile() { printf '%s/run/asterisk-%s/asterisk.pid' "$ASTERISK_ROOT" "$1"; }

# The pid of node $1's Asterisk while it runs, else fails.
node_pid() { running_pid "$(node_pidfile "$1")" "-C $(node_conf "$1")"; }

# node_cli NAME COMMAND...: one CLI command on that node (through its own control socket).
# Without its asterisk.conf, Asterisk would fall back to the default socket: another Asterisk's.
node_cli() {
  local name=$1
  shift
  if [ ! -f "$ASTERISK_ROOT$(node_conf "$name")" ]; then
    log "node $name has no configuration ($ASTERISK_ROOT$(node_conf "$name"))"
    return 1
  fi
  chroot "$ASTERISK_ROOT" /usr/sbin/asterisk -C "$(node_conf "$name")" -rx "$*"
}
