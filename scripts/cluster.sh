#!/usr/bin/env bash
# `make cluster`, `make cluster-demo`, `make cluster-stop`: the cluster form on one machine,
# each role on its own loopback address: two SIP edges (Kamailio, sharing the phones'
# registrations) in front of two Asterisk nodes, Redis with a replica and three Sentinels, and two control planes (one active, one
# standby holding off on the leader's lease), all configured from the same queue/ file.
#   cluster.sh up      starts what is not running yet and returns once the active leads
#   cluster.sh demo    one call through edge 1 to each node, answered by taker01's or
#                      taker02's phone, each registered once at edge 1; prints both
#                      timelines (needs `up`)
#   cluster.sh reload  a changed centre file (IVR_CENTRE_CONFIG) applied to the nodes, the
#                      edges and the leading control plane, nothing restarted
#   cluster.sh down    stops, by pid, everything `up` started
# Rules: the same scripts as the production roles (scripts/node-start.sh, edge-start.sh,
# sentinel-start.sh, ivr-service.sh), so the one-box form tests what separate hosts run; the
# control planes' pids and logs are kept in the state folder (cluster-cp1.pid, cluster-cp1.log,
# the owner's only); secrets reach programs in their environment, never their arguments.
# Settings: IVR_SIP_EDGE (127.0.0.50:5060,127.0.0.60:5060: the edges, edge 1 first), IVR_CLUSTER_NODES (a1=127.0.0.51:5060,a2=127.0.0.52:5060;
# each node's ARI on its address, port 8088), IVR_CLUSTER_API_PORTS (8112,8113: cp1, cp2),
# REDIS_PRIMARY (127.0.0.55:6379), REDIS_REPLICA (127.0.0.56:6379), IVR_REDIS_SENTINELS
# (127.0.0.57:26379,127.0.0.58:26379,127.0.0.59:26379).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/scripts/pids.sh"
. "$REPO_DIR/scripts/service-env.sh"
need_root

: "${IVR_SIP_EDGE:=127.0.0.50:5060,127.0.0.60:5060}"
: "${IVR_CLUSTER_NODES:=a1=127.0.0.51:5060,a2=127.0.0.52:5060}"
: "${IVR_CLUSTER_API_PORTS:=8112,8113}"
: "${REDIS_PRIMARY:=127.0.0.55:6379}"
: "${REDIS_REPLICA:=127.0.0.56:6379}"
: "${IVR_REDIS_SENTINELS:=127.0.0.57:26379,127.0.0.58:26379,127.0.0.59:26379}"
export IVR_SIP_EDGE IVR_CLUSTER_NODES REDIS_PRIMARY REDIS_REPLICA IVR_REDIS_SENTINELS
IFS=, read -r -a nodes <<<"$IVR_CLUSTER_NODES"
IFS=, read -r -a api_ports <<<"$IVR_CLUSTER_API_PORTS"
IFS=, read -r -a edges <<<"$IVR_SIP_EDGE"
edge1=${edges[0]}

# each_edge SCRIPT: edge-start.sh or edge-stop.sh for every edge, each in its own folder.
each_edge() {
  local edge
  for edge in "${edges[@]}"; do
    IVR_EDGE_ADDRESS=$edge bash "$REPO_DIR/scripts/$1"
  done
}

# The control planes' node list: name=http://address:8088 for each node.
ari_nodes() {
  local item list=""
  for item in "${nodes[@]}"; do
    list+="${list:+,}${item%%=*}=http://$(node_host "$item"):$ASTERISK_HTTP_PORT"
  done
  printf '%s' "$list"
}
node_host() { local address=${1#*=}; printf '%s' "${address%:*}"; }

start_control_plane() {  # NAME API_PORT
  local name=$1 port=$2 pidfile="$IVR_STATE_DIR/cluster-$1.pid"
  if running_pid "$pidfile" "-m ivr run" >/dev/null; then
    log "control plane $name already running"
    return
  fi
  (
    export IVR_ARI_NODES IVR_LEADER_LEASE_SECONDS=2 IVR_INSTANCE_NAME=$name IVR_HTTP_PORT=$port
    IVR_ARI_NODES=$(ari_nodes)
    export IVR_AMI_HOST IVR_ARCHIVE_PATH="$IVR_STATE_DIR/calls-$name.sqlite3"
    IVR_AMI_HOST=$(node_host "${nodes[0]}")
    export IVR_ASTERISK_ETC=""  # a reload rewrites no node's endpoints (docs/operations.md)
    umask 077
    exec bash "$REPO_DIR/scripts/ivr-service.sh" run >>"$IVR_STATE_DIR/cluster-$name.log" 2>&1
  ) &
  echo $! >"$pidfile"
  log "control plane $name started (pid $!, API port $port, log $IVR_STATE_DIR/cluster-$name.log)"
}

health() {  # API_PORT
  curl -sS "http://127.0.0.1:$1/api/health" 2>/dev/null || true  # its body also when down (503)
}

up() {
  bash "$REPO_DIR/scripts/host-deps.sh"
  private_state
  bash "$REPO_DIR/scripts/sentinel-start.sh"
  local item
  for item in "${nodes[@]}"; do
    bash "$REPO_DIR/scripts/node-start.sh" "${item%%=*}" "$(node_host "$item")"
  done
  each_edge edge-start.sh
  start_control_plane cp1 "${api_ports[0]}"
  for _ in $(seq 1 150); do health "${api_ports[0]}" | grep -q '"role": "active"' && break; sleep 0.2; done
  health "${api_ports[0]}" | grep -q '"role": "active"' || die "control plane cp1 did not lead (see $IVR_STATE_DIR/cluster-cp1.log)"
  start_control_plane cp2 "${api_ports[1]}"
  log "cluster up: edges $IVR_SIP_EDGE, nodes $IVR_CLUSTER_NODES, control planes cp1 (active, :${api_ports[0]}) and cp2 (standby, :${api_ports[1]})"
}

down() {
  local name item
  for name in cp2 cp1; do
    if pid=$(running_pid "$IVR_STATE_DIR/cluster-$name.pid" "-m ivr run"); then
      stop_pid "$pid" "control plane $name" 20
    fi
    rm -f "$IVR_STATE_DIR/cluster-$name.pid"
  done
  each_edge edge-stop.sh || true
  for item in "${nodes[@]}"; do
    bash "$REPO_DIR/scripts/node-stop.sh" "${item%%=*}" || true
  done
  bash "$REPO_DIR/scripts/sentinel-stop.sh" || true
}

# primary_cli ARGS...: redis-cli on the primary the Sentinels name now.
primary_cli() {
  local first=${IVR_REDIS_SENTINELS%%,*} address
  address=$(REDISCLI_AUTH=$IVR_REDIS_PASSWORD redis-cli --no-auth-warning -h "${first%:*}" -p "${first##*:}" \
    sentinel get-master-addr-by-name "${IVR_REDIS_SERVICE:-ivr112}" | paste -sd:)
  REDISCLI_AUTH=$IVR_REDIS_PASSWORD redis-cli --no-auth-warning -h "${address%:*}" -p "${address##*:}" "$@"
}
calls_recorded() { primary_cli zcard ivr:calls; }

# login_phone TAKER ADDRESS: the taker's phone registers once, at the edge, answers what the
# nodes send it, and the taker is logged in; returns once the nodes find the phone reachable.
login_phone() {
  local taker=$1 phone=$2 secret
  secret=$(cat "$IVR_STATE_DIR/secrets/sip_$taker")
  # SIPp takes the password only as an argument
  (cd "$work" && sipp "$edge1" -sf "$REPO_DIR/tests/sipp/register.xml" -s "$taker" -au "$taker" -ap "$secret" \
    -i "$phone" -p 5060 -m 1 -nostdin -timeout 10 -timeout_error >/dev/null) || die "$taker's phone could not register at the edge"
  log "$taker registered at edge 1 ($edge1)"
  (cd "$work" && exec sipp -sf "$REPO_DIR/tests/sipp/phone_answers.xml" -i "$phone" -p 5060 -mi "$phone" -aa -d 3000 -nostdin >/dev/null 2>&1) &
  pids+=($!)
  curl_with header "Authorization: Bearer $IVR_API_TOKEN" -fsS -X POST -o /dev/null \
    "http://127.0.0.1:${api_ports[0]}/api/v1/takers/$taker/login" || die "could not log $taker in"
  for _ in $(seq 1 150); do  # the nodes qualify the phone through the edge
    curl_with header "Authorization: Bearer $IVR_API_TOKEN" -fsS "http://127.0.0.1:${api_ports[0]}/api/v1/takers" \
      | python3 -c 'import json, sys; sys.exit(0 if any(t["id"] == sys.argv[1] and t["reachable"] for t in json.load(sys.stdin)) else 1)' "$taker" \
      && return
    sleep 0.2
  done
  die "$taker's phone not reachable from the nodes through the edge"
}

demo() {
  control_plane_env
  pids=() work=""
  # the trap runs after demo returned: it names only globals, unset-safe
  trap 'for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null || true; done; [ -z "${work:-}" ] || rm -rf "$work"' EXIT
  work=$(mktemp -d)
  espeak-ng -v id -w "$work/c.wav" "Tolong, ada kebakaran di Mandonga."
  sox "$work/c.wav" -r 8000 -c 1 -t al "$work/caller.alaw"
  espeak-ng -v id -w "$work/t.wav" "Satu satu dua Kendari, apa keadaan darurat Anda?"
  sox "$work/t.wav" -r 8000 -c 1 -t al "$work/taker.alaw"
  local before after
  login_phone taker01 127.0.0.11
  login_phone taker02 127.0.0.12
  before=$(calls_recorded)
  printf 'SEQUENTIAL\n081200000001;\n081200000002;\n' >"$work/callers.csv"
  (cd "$work" && sipp "$edge1" -sf "$REPO_DIR/tests/sipp/caller_via_edge_list.xml" -s 112 \
    -inf "$work/callers.csv" -i 127.0.0.2 -p 5060 -mi 127.0.0.2 -m 2 -r 1 -l 1 -d 6000 -nostdin \
    -timeout 60 -timeout_error >/dev/null) || log "the callers' SIPp reported an error"
  after=$(calls_recorded)
  log "$((after - before)) calls recorded; their timelines:"
  primary_cli zrange ivr:calls -2 -1 | while read -r call; do "$REPO_DIR/.venv/bin/python" -m ivr timeline "$call"; done
}

# A changed centre file applied everywhere, nothing restarted: each node's endpoints and
# fallback queue, the edges' phones, then the leading control plane (a standby reads the
# file again when it takes over).
reload() {
  control_plane_env
  local item port led=""
  for item in "${nodes[@]}"; do
    bash "$REPO_DIR/scripts/node-reload.sh" "${item%%=*}"
  done
  each_edge edge-start.sh
  for port in "${api_ports[@]}"; do
    health "$port" | grep -q '"role": "active"' || continue
    curl_with header "Authorization: Bearer $IVR_API_TOKEN" -fsS -X POST \
      "http://127.0.0.1:$port/api/v1/config/reload" || die "the control plane on port $port refused the file"
    echo
    led=$port
  done
  [ -n "$led" ] || die "no control plane leads: the nodes and the edges have the new file, the control planes read it when one leads"
  log "centre configuration applied: nodes, edges and the leading control plane (port $led)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  demo) demo ;;
  reload) reload ;;
  *) die "usage: cluster.sh up|demo|reload|down (got '${1:-}')" ;;
esac
