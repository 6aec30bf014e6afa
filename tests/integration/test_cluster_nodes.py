"""The cluster form's Asterisk nodes on the real Asterisk: two nodes run at once from the one
root (scripts/node-start.sh), each with its own addresses, control socket and name, so
every channel id starts with the node's name ("a1-...", "a2-..."). Behind the SIP edge
(IVR_SIP_EDGE; stood in for here by SIPp and a few lines of Python on the edge's address)
only the edge's address is let in; an operator's call is known by the edge's
X-Ivr112-Trunk header, a phone's by X-Ivr112-Phone (no challenge), no phone registers at
a node, and a phone counts as reachable only when the edge answers its qualify with a 2xx.
A call taker added to the centre file is known on each node after its reload
(scripts/node-reload.sh), without a restart; a broken file changes nothing. Both nodes
are stopped by pid at the end (scripts/node-stop.sh), leaving no process."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import threading
import urllib.error
import urllib.request
import uuid
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stack import ASTERISK_ROOT, REPO, SIPP_DIR, Process, wait_for

pytestmark = pytest.mark.integration

NODES = {"a1": "127.0.0.51", "a2": "127.0.0.52"}
EDGE_IP, EDGE_PORT = "127.0.0.50", 5260  # not 5060: a real edge may be configured there
OUTSIDER = "127.0.0.2"  # an operator's own address: behind the edge it must not reach a node
REACHABLE = "taker01"  # the one phone the stand-in edge answers qualify for (others: 404)


class StandInEdge:
    """The edge's answers to the nodes' qualify: 200 for REACHABLE, 404 (not registered) for
    any other phone, as the real edge answers; the nodes whose OPTIONS arrived are kept."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((EDGE_IP, EDGE_PORT))
        self.sock.settimeout(0.2)
        self.asked_by: set[str] = set()
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            text = data.decode(errors="replace")
            request = text.split("\r\n", 1)[0].split()
            if len(request) < 3 or request[0] != "OPTIONS":
                continue
            self.asked_by.add(peer[0])
            user = re.match(r"sips?:([^@;>]+)@", request[1])
            code = "200 OK" if user and user.group(1) == REACHABLE else "404 Not Found"
            kept = [h for h in text.split("\r\n")[1:] if re.match(r"(?i)(via|from|call-id|cseq):", h)]
            to = next((h for h in text.split("\r\n") if h.lower().startswith("to:")), "To: <sip:x@x>")
            lines = [f"SIP/2.0 {code}", *kept, f"{to};tag=edge{uuid.uuid4().hex[:6]}", "Content-Length: 0"]
            self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), peer)

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


@dataclass
class Cluster:
    env: dict[str, str]
    ari_password: str
    folder: Path
    edge: StandInEdge

    def ari(self, node: str, path: str) -> tuple[int, Any]:
        request = urllib.request.Request(f"http://{NODES[node]}:8088/ari{path}")
        token = b64encode(f"ivr112:{self.ari_password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def channels(self, node: str) -> list[dict[str, Any]]:
        return self.ari(node, "/channels")[1] or []

    def script(
        self, name: str, *args: str, env_extra: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(REPO / "scripts" / name), *args], env=self.env | (env_extra or {}),
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    def cli(self, node: str, command: str) -> str:
        done = self.script("node-cli.sh", node, *command.split())
        assert done.returncode == 0, done.stderr
        return done.stdout


def node_pid(node: str) -> int | None:
    """The node's Asterisk pid while that process runs the node's own asterisk.conf."""
    pidfile = ASTERISK_ROOT / f"run/asterisk-{node}/asterisk.pid"
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, ValueError):
        return None
    mine = f"/etc/asterisk-{node}/asterisk.conf".encode() in cmdline
    return pid if mine and not re.search(r"^State:\s*Z", status, re.MULTILINE) else None


def node_processes(node: str) -> list[int]:
    """Every process of this node's Asterisk, whoever started it (none may outlive the stop)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                zombie = re.search(r"^State:\s*Z", (entry / "status").read_text(), re.MULTILINE)
            except OSError:
                continue
            if f"/etc/asterisk-{node}/asterisk.conf".encode() in cmdline and not zombie:
                found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if os.geteuid() != 0:
        raise RuntimeError("integration tests run Asterisk with chroot: run them as root")
    folder = tmp_path_factory.mktemp("cluster")
    password = secrets.token_urlsafe(16)
    env = {k: v for k, v in os.environ.items() if k not in {"IVR_STATIC_CONTACTS", "RTP_START", "RTP_END"}}
    env |= {
        "IVR_STATE_DIR": str(folder / "state"),
        "IVR_ARI_PASSWORD": password,
        "IVR_AMI_PASSWORD": secrets.token_urlsafe(16),
        "IVR_SIP_EDGE": f"{EDGE_IP}:{EDGE_PORT}",
        "RTP_STRICT": "no",
        "TAKER_QUALIFY_SECONDS": "1",
        "TAKER_QUALIFY_TIMEOUT": "0.5",
    }
    cluster = Cluster(env, password, folder, StandInEdge())
    try:
        for node, address in NODES.items():
            done = cluster.script("node-start.sh", node, address)
            assert done.returncode == 0, done.stderr[-3000:]
        yield cluster
    finally:
        for node in NODES:
            cluster.script("node-stop.sh", node)
        cluster.edge.stop()


def edge_call(cluster: Cluster, node: str, trunk: str, caller: str, port: int) -> Process:
    """SIPp on the edge's address relays one operator's call to the node, held 6 s."""
    args = ["sipp", f"{NODES[node]}:5060", "-sf", str(SIPP_DIR / "node_call_from_edge.xml"), "-s", "112",
            "-key", "header", f"X-Ivr112-Trunk: {trunk}", "-key", "caller", caller,
            "-i", EDGE_IP, "-p", str(port), "-mi", EDGE_IP, "-mp", str(6000 + 10 * (port - 5060)),
            "-m", "1", "-d", "6000", "-nostdin", "-timeout", "30", "-timeout_error",
            "-trace_err", "-error_file", str(cluster.folder / f"call_{node}_errors.log")]  # fmt: skip
    return Process(args, cluster.folder / f"call_{node}.out", cwd=cluster.folder)


def sip_request(source: str, node: str, method: str, user: str, *headers: str) -> str:
    """One request to the node from `source`; the final answer's status line (or "no answer")."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(3)
        port = sock.getsockname()[1]
        uri = f"sip:{user}@{NODES[node]}:5060"
        lines = [f"{method} {uri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {source}:{port};branch=z9hG4bK{uuid.uuid4().hex};rport",
                 f"From: <sip:081200000009@{source}>;tag={uuid.uuid4().hex[:8]}", f"To: <{uri}>",
                 f"Call-ID: {uuid.uuid4().hex}", f"CSeq: 1 {method}", f"Contact: <sip:x@{source}:{port}>",
                 "Max-Forwards: 70", *headers, "Content-Length: 0"]  # fmt: skip
        sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), (NODES[node], 5060))
        try:
            while True:
                status = sock.recv(65535).decode(errors="replace").split("\r\n", 1)[0]
                if not status.startswith("SIP/2.0 1"):
                    return status
        except TimeoutError:
            return "no answer"


def test_two_nodes_run_at_once_each_with_its_own_name_addresses_and_folders(cluster: Cluster) -> None:
    pids = {node: node_pid(node) for node in NODES}
    assert all(pids.values()) and len(set(pids.values())) == 2, pids
    for node, address in NODES.items():
        status, info = cluster.ari(node, "/asterisk/info?only=config")
        assert status == 200 and info["config"]["name"] == node  # its own ARI, on its own address
        settings = cluster.cli(node, "core show settings")  # through its own control socket
        assert re.search(rf"System name:\s+{node}$", settings, re.MULTILINE)
        assert re.search(rf"Spool directory:\s+/var/spool/asterisk-{node}$", settings, re.MULTILINE)
        transport = cluster.cli(node, "pjsip show transports")
        assert f"{address}:5060" in transport
        endpoints = cluster.cli(node, "pjsip show endpoints")
        assert f"{REACHABLE}/sip:{REACHABLE}@{EDGE_IP}:{EDGE_PORT}" in endpoints  # phones via the edge
        assert (ASTERISK_ROOT / f"var/lib/asterisk-{node}/astdb.sqlite3").exists()
        assert (ASTERISK_ROOT / f"var/spool/asterisk-{node}/recording").stat().st_mode & 0o777 == 0o700


def test_a_trunk_call_relayed_by_the_edge_is_identified_by_its_header_on_each_node(cluster: Cluster) -> None:
    """The edge's X-Ivr112-Trunk makes it that trunk's call (the from-trunk context: the
    emergency path, here the native fallback as no control plane runs); ids name the node."""
    calls = {"a1": edge_call(cluster, "a1", "carrier", "081100000001", 5261),
             "a2": edge_call(cluster, "a2", "telkom", "081100000002", 5263)}  # fmt: skip
    for node, trunk in (("a1", "carrier"), ("a2", "telkom")):
        found = wait_for(lambda n=node: cluster.channels(n), 10, f"the call on node {node}")
        assert len(found) == 1, found
        channel = found[0]
        assert re.fullmatch(rf"{node}-\d{{10}}\.\d+", channel["id"]), channel["id"]
        assert channel["name"].startswith(f"PJSIP/{trunk}-")
        assert channel["dialplan"]["context"] == "emergency" and channel["dialplan"]["exten"] == "112"
    for call in calls.values():
        call.popen.wait(timeout=30)
        assert call.popen.returncode == 0, call.output()
    for node in NODES:
        wait_for(lambda n=node: not cluster.channels(n), 10, f"node {node} to have no channel left")


def test_only_the_edges_address_is_let_in(cluster: Cluster) -> None:
    """An operator's own address is refused (403) whatever it claims; from the edge, a request
    without the edge's header is no trunk and no phone (challenged, never let in)."""
    for node in NODES:
        for header in (("X-Ivr112-Trunk: carrier",), ("X-Ivr112-Phone: taker01",), ()):
            assert sip_request(OUTSIDER, node, "INVITE", "112", *header) == "SIP/2.0 403 Forbidden"
        assert sip_request(OUTSIDER, node, "OPTIONS", "ping") == "SIP/2.0 403 Forbidden"
        assert sip_request(EDGE_IP, node, "INVITE", "112") == "SIP/2.0 401 Unauthorized"
        assert cluster.channels(node) == []


def test_a_phones_call_is_known_by_the_edges_header_and_no_phone_registers_at_a_node(
    cluster: Cluster,
) -> None:
    """A number that is no feature code, dialled from a phone, is refused by from-taker (404):
    the call was the phone's, unchallenged. A REGISTER never succeeds at a node."""
    assert sip_request(EDGE_IP, "a1", "INVITE", "1234", "X-Ivr112-Phone: taker05") == "SIP/2.0 404 Not Found"
    log = (ASTERISK_ROOT / "var/log/asterisk-a1/messages.log").read_text(errors="replace")
    assert re.search(r"PJSIP/taker05-\w+ dialled 1234: not a feature code", log)
    for header in (("X-Ivr112-Phone: taker05",), ()):
        assert not sip_request(EDGE_IP, "a2", "REGISTER", "taker05", *header).startswith("SIP/2.0 2")


def test_a_phone_is_reachable_only_when_the_edge_answers_its_qualify_with_a_2xx(cluster: Cluster) -> None:
    """Both nodes qualify the phones through the edge; the edge's 404 (not registered) is unreachable."""
    for node in NODES:
        wait_for(lambda n=node: cluster.ari(n, f"/endpoints/PJSIP/{REACHABLE}")[1]["state"] == "online", 10,
                 f"{REACHABLE} online on {node}")  # fmt: skip
        assert cluster.ari(node, "/endpoints/PJSIP/taker02")[1]["state"] == "offline"
    assert cluster.edge.asked_by == set(NODES.values())


def test_a_call_taker_added_to_the_centre_file_is_known_on_each_node_after_its_reload(
    cluster: Cluster,
) -> None:
    text = (REPO / "queue" / "kendari.yaml").read_text()
    line = next(x for x in text.splitlines(keepends=True) if "{id: taker20," in x)
    added = line.replace("taker20", "taker21").replace("Call taker 20", "Call taker 21")
    (cluster.folder / "centre.yaml").write_text(text.replace(line, line + added))
    pids = {node: node_pid(node) for node in NODES}
    assert all(cluster.ari(node, "/endpoints/PJSIP/taker21")[0] == 404 for node in NODES)
    broken = cluster.folder / "broken.yaml"
    broken.write_text(text.replace("endpoint: PJSIP/taker20", "endpoint: taker20"))
    refused = cluster.script("node-reload.sh", "a1", env_extra={"IVR_CENTRE_CONFIG": str(broken)})
    assert refused.returncode != 0 and "taker20" in refused.stdout + refused.stderr
    for node in NODES:
        centre = {"IVR_CENTRE_CONFIG": str(cluster.folder / "centre.yaml")}
        done = cluster.script("node-reload.sh", node, env_extra=centre)
        assert done.returncode == 0, done.stderr[-2000:]
        assert cluster.ari(node, "/endpoints/PJSIP/taker21")[0] == 200  # known without a restart
        assert "taker21" in cluster.cli(node, "queue show")  # the fallback queue rings it too
    assert {node: node_pid(node) for node in NODES} == pids


def test_both_nodes_stop_by_pid_and_leave_no_process(cluster: Cluster) -> None:
    pids = {node: node_pid(node) for node in NODES}
    for node in NODES:
        done = cluster.script("node-stop.sh", node)
        assert done.returncode == 0, done.stderr
        assert f"stopped node {node} (pid {pids[node]})" in done.stderr
        assert node_processes(node) == []
        assert not (ASTERISK_ROOT / f"run/asterisk-{node}/asterisk.pid").exists()
    assert "not running" in cluster.script("node-stop.sh", "a1").stderr
