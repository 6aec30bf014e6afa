# Processes named by a pid file of the state folder (sourced after lib.sh, never run).
# Rules: a process counts as ours only while it is alive (not a zombie) and its command
# line still holds what we started (a pid recycled by another program is left alone);
# stopping is by pid only, TERM first, KILL after a bound; pid files are removed once
# their process is gone.
# shellcheck shell=bash

# Alive and not a zombie (a child that exited but was not reaped yet is gone).
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# The pid in FILE when that process is alive and its command line contains PATTERN.
running_pid() {
  local file=$1 pattern=$2 pid
  [ -s "$file" ] || return 1
  pid=$(cat "$file")
  case "$pid" in "" | *[!0-9]*) return 1 ;; esac
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern" || return 1
  printf '%s\n' "$pid"
}

# stop_pid PID NAME [SECONDS]: TERM, then KILL once SECONDS (20) have passed.
stop_pid() {
  local pid=$1 name=$2 bound=${3:-20} waited=0
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  while alive "$pid"; do
    if [ "$waited" -ge $((bound * 10)) ]; then
      log "$name (pid $pid) did not stop within $bound s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  log "stopped $name (pid $pid)"
}
