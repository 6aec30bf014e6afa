"""The SIP edge on loopback for integration tests: the real Kamailio started by
scripts/edge-start.sh with the shipped centre configuration, SIPp as the operator's trunk,
the phones and two Asterisk nodes.

Rules: edge 127.0.0.50:5060, nodes a1 127.0.0.51 and a2 127.0.0.52 (port 5060), the
operator's trunk 127.0.0.2, phones at 127.0.0.(10+NN), a stranger at 127.0.0.9; nothing
here touches the main stack's addresses (127.0.0.1, Redis, the API). The edge's folder is
a fresh temporary one that user kamailio can reach, removed at the end; Kamailio is
stopped by its pid (edge-stop.sh), every SIPp by its own (stack.Process).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.integration.stack import REPO, SIPP_DIR, Process, wait_for

EDGE_IP, EDGE_PORT = "127.0.0.50", 5060
EDGE = f"{EDGE_IP}:{EDGE_PORT}"
NODES = {"a1": "127.0.0.51", "a2": "127.0.0.52"}
CARRIER_IP = "127.0.0.2"  # the trunk "carrier" of queue/kendari.yaml
STRANGER_IP = "127.0.0.9"  # no trunk, no phone, no node


@dataclass
class Edge:
    folder: Path  # IVR_CACHE_DIR and IVR_STATE_DIR live here
    env: dict[str, str]

    @property
    def dir(self) -> Path:
        return self.folder / "edge"

    def password(self, phone: str) -> str:
        return (self.folder / "state" / "secrets" / f"sip_{phone}").read_text().strip()

    def nodes_state(self) -> dict[str, str]:
        """Dispatcher flags per node address ("AP": active and probed, "IP": inactive)."""
        shown = subprocess.run(
            ["kamcmd", "-s", f"unix:{self.dir}/run/kamailio_ctl", "dispatcher.list"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout  # fmt: skip
        found = re.findall(r"URI: sip:([0-9.]+):\d+\s+FLAGS: (\w+)", shown)
        return {name: flags for ip, flags in found for name, node_ip in NODES.items() if ip == node_ip}

    def log(self) -> str:
        return (self.dir / "kamailio.log").read_text(errors="replace")


def start_edge() -> Edge:
    """The edge as edge-start.sh starts it, in a folder of its own (user kamailio can reach it)."""
    folder = Path(tempfile.mkdtemp(prefix="ivr112-edge-"))
    folder.chmod(0o755)
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "IVR_CACHE_DIR": str(folder),
        "IVR_STATE_DIR": str(folder / "state"),
        "IVR_CENTRE_CONFIG": str(REPO / "queue" / "kendari.yaml"),
        "IVR_SIP_EDGE": EDGE,
        "IVR_CLUSTER_NODES": ",".join(f"{name}={ip}:5060" for name, ip in NODES.items()),
    }
    done = subprocess.run(["bash", str(REPO / "scripts" / "edge-start.sh")], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    edge = Edge(folder, env)
    if done.returncode != 0:
        stop_edge(edge)
        raise AssertionError(f"edge-start.sh failed:\n{done.stdout}{done.stderr}")
    return edge


def stop_edge(edge: Edge) -> None:
    subprocess.run(["bash", str(REPO / "scripts" / "edge-stop.sh")], env=edge.env, timeout=30, check=False)
    shutil.rmtree(edge.folder, ignore_errors=True)


def answering(ip: str, folder: Path, name: str, scenario: str = "edge_answers.xml") -> Process:
    """SIPp answering every call through the edge on ip:5060 (a node or a phone); -aa answers
    the edge's OPTIONS probes and relayed qualifies. Its messages in <name>.msg."""
    args = ["sipp", "-sf", str(SIPP_DIR / scenario), "-i", ip, "-p", "5060", "-mi", ip,
            "-aa", "-nostdin", "-trace_msg", "-message_file", str(folder / f"{name}.msg"),
            "-trace_err", "-error_file", str(folder / f"{name}_errors.log")]  # fmt: skip
    return Process(args, folder / f"{name}.out", cwd=folder)


def invites(folder: Path, name: str) -> list[str]:
    """The INVITEs an answering SIPp received so far, each as its text."""
    path = folder / f"{name}.msg"
    text = path.read_text(errors="replace") if path.exists() else ""
    return re.findall(r"^INVITE sip:.*?(?=\n\s*\n)", text, re.MULTILINE | re.DOTALL)


def header(message: str, name: str) -> list[str]:
    """The values of every header `name` in a message's text."""
    return re.findall(rf"^{re.escape(name)}:\s*(.*?)\s*$", message, re.MULTILINE | re.IGNORECASE)


def sipp(folder: Path, scenario: str, source: str, port: int, *extra: str, target: str = EDGE) -> int:
    """One SIPp run from source:port towards the edge, to its end; its exit code (0: as scripted)."""
    errors = folder / f"{scenario.removesuffix('.xml')}_{source}_{port}_errors.log"
    args = ["sipp", target, "-sf", str(SIPP_DIR / scenario), "-i", source, "-p", str(port),
            "-mi", source, "-mp", str(6000 + 10 * (port - 5060)), "-nostdin", "-timeout", "20",
            "-timeout_error", "-trace_err", "-error_file", str(errors), *extra]  # fmt: skip
    if "-m" not in extra:
        args += ["-m", "1"]
    return subprocess.run(args, capture_output=True, cwd=folder, timeout=60, check=False).returncode


def sip_status(source: str, method: str, uri: str, extra: str = "", to_tag: str = "") -> int:
    """Sends one non-INVITE request from source (a free port) to the edge; its final status code."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(3)
        port, tag = sock.getsockname()[1], uuid.uuid4().hex[:12]
        to = f"<{uri}>" + (f";tag={to_tag}" if to_tag else "")
        request = (
            f"{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {source}:{port};branch=z9hG4bK{tag}\r\n"
            f"From: <sip:test@{source}>;tag={tag}\r\nTo: {to}\r\nCall-ID: {tag}@{source}\r\n"
            f"CSeq: 1 {method}\r\n{extra}Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendto(request.encode(), (EDGE_IP, EDGE_PORT))
        while True:
            status = int(sock.recv(65535).split(b" ", 2)[1])
            if status >= 200:
                return status


def wait_active(edge: Edge, *names: str, timeout: float = 5) -> None:
    wait_for(lambda: all(edge.nodes_state().get(n, "").startswith("A") for n in names),
             timeout, f"nodes {', '.join(names)} active at the edge")  # fmt: skip
