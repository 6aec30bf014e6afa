"""The cluster form on loopback for the real-stack tests: two SIP edges (Kamailio, sharing the
phones' registrations) in front of two Asterisk nodes from the one root, control planes
leading by the lease in the test stack's Redis, and SIPp as the operators, the phones
(registered once, at edge 1) and the agencies.

Rules: the same start scripts as `make cluster` (scripts/node-start.sh, edge-start.sh);
addresses of their own (edges 127.0.0.50 and .60, nodes .51 and .52; API ports 8121 and 8122), so
the single-node stack runs beside them untouched; every process is stopped by its pid
(a node killed by a test is found dead and its folders left for the next start).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.stack import (
    ASTERISK_ROOT,
    CARRIER_IP,
    REPO,
    SIPP_DIR,
    Process,
    Stack,
    taker_ip,
    wait_for,
)

EDGE = "127.0.0.50:5060"  # edge 1: where the phones register and the operator calls
EDGE2 = "127.0.0.60:5060"
EDGES = f"{EDGE},{EDGE2}"
NODES = {"a1": "127.0.0.51", "a2": "127.0.0.52"}
API_PORTS = {"cp1": 8121, "cp2": 8122}


@dataclass
class Cluster:
    stack: Stack
    workdir: Path
    env: dict[str, str]

    # ---- the nodes ---------------------------------------------------------------------
    def node_pid(self, node: str) -> int:
        return int((ASTERISK_ROOT / f"run/asterisk-{node}/asterisk.pid").read_text().strip())

    def kill_node(self, node: str) -> None:
        """kill -9: the machine under the node is gone."""
        os.kill(self.node_pid(node), signal.SIGKILL)

    def start_node(self, node: str) -> None:
        script = str(REPO / "scripts" / "node-start.sh")
        subprocess.run(["bash", script, node, NODES[node]], env=self.env, check=True, timeout=120)

    # ---- the edges ---------------------------------------------------------------------
    def edge_env(self, edge: str) -> dict[str, str]:
        return {**self.env, "IVR_EDGE_ADDRESS": edge, "IVR_EDGE_DIR": self.env[f"TEST_EDGE_DIR_{edge}"]}

    def start_edge(self, edge: str = EDGE) -> None:
        script = str(REPO / "scripts" / "edge-start.sh")
        subprocess.run(["bash", script], env=self.edge_env(edge), check=True, timeout=60)

    def stop_edge(self, edge: str = EDGE) -> None:
        script = str(REPO / "scripts" / "edge-stop.sh")
        subprocess.run(["bash", script], env=self.edge_env(edge), check=False, timeout=60)

    def restart_edge(self, edge: str = EDGE) -> None:
        """The edge stopped and started again (it asks the other edge for the registrations)."""
        self.stop_edge(edge)
        self.start_edge(edge)

    def kill_edge(self, edge: str) -> None:
        """kill -9 of every Kamailio process of that edge: its machine is gone (killing the
        main process alone leaves its workers answering)."""
        pidfile = Path(self.edge_env(edge)["IVR_EDGE_DIR"]) / "run" / "kamailio.pid"
        os.killpg(os.getpgid(int(pidfile.read_text().strip())), signal.SIGKILL)

    def ari(self, node: str, path: str) -> Any:
        request = urllib.request.Request(f"http://{NODES[node]}:8088/ari{path}")
        token = b64encode(f"ivr112:{self.stack.ari_password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=5) as resp:
            return json.loads(resp.read() or b"null")

    def channels(self, node: str) -> list[dict[str, Any]]:
        return list(self.ari(node, "/channels"))

    def bridges(self, node: str) -> list[dict[str, Any]]:
        return list(self.ari(node, "/bridges"))

    # ---- the control planes ------------------------------------------------------------
    def control_plane(self, name: str, **extra: str) -> Process:
        env = {
            **self.env,
            "IVR_ARI_NODES": ",".join(f"{n}=http://{a}:8088" for n, a in NODES.items()),
            "IVR_AMI_HOST": NODES["a1"],
            "IVR_LEADER_LEASE_SECONDS": "2",
            "IVR_INSTANCE_NAME": name,
            "IVR_HTTP_PORT": str(API_PORTS[name]),
            "IVR_ARCHIVE_PATH": str(self.workdir / f"calls-{name}.sqlite3"),
            "IVR_REDIS_URL": f"redis://127.0.0.1:{self.stack.redis_port}/0",
            "IVR_RECORD_CALLS": "yes",
            **extra,
        }
        env.pop("IVR_RECORDINGS_PATH", None)
        log = self.workdir / f"{name}.log"
        for n in range(2, 100):  # a restarted control plane keeps its earlier log
            if not log.exists():
                break
            log = self.workdir / f"{name}-{n}.log"
        return Process([sys.executable, "-m", "ivr", "run"], log, env=env, cwd=REPO)

    def api(self, name: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        url = f"http://127.0.0.1:{API_PORTS[name]}{path}"
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.stack.api_token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")
        except OSError:
            return 0, None

    def role(self, name: str) -> str | None:
        status, body = self.api(name, "GET", "/api/health")
        return body.get("role") if status == 200 else None

    def wait_leading(self, name: str, process: Process, timeout: float = 20) -> None:
        wait_for(lambda: self.role(name) == "active" or not process.alive(), timeout, f"{name} to lead")
        assert process.alive(), f"{name} exited:\n{process.output()}"
        wait_for(lambda: process.output().count("reconciled:") >= len(NODES), 10, f"{name} to reconcile")

    def login(self, name: str, *takers: str) -> None:
        for taker in takers:
            status, body = self.api(name, "POST", f"/api/takers/{taker}/login")
            assert status == 200, (status, body)

    # ---- SIPp ----------------------------------------------------------------------------
    def register(self, phone: str, folder: Path, edge: str = EDGE) -> None:
        """The phone registers once, at the edge, with its own password (digest)."""
        secret = (Path(self.env["IVR_STATE_DIR"]) / "secrets" / f"sip_{phone}").read_text().strip()
        args = ["sipp", edge, "-sf", str(SIPP_DIR / "register.xml"), "-s", phone, "-au", phone,
                "-ap", secret, "-i", taker_ip(phone), "-p", "5060", "-m", "1", "-nostdin",
                "-timeout", "10", "-timeout_error", "-trace_err",
                "-error_file", str(folder / f"register_{phone}.log")]  # fmt: skip
        done = subprocess.run(args, capture_output=True, cwd=folder, timeout=20, check=False)
        assert done.returncode == 0, f"{phone} could not register at the edge: {done.stdout[-400:]!r}"

    def phone(
        self, phone: str, folder: Path, scenario: str = "phone_answers.xml", hold_ms: int = 3000
    ) -> Process:
        """A phone registered at the edge, answering what the nodes send it through the edge."""
        self.register(phone, folder)
        ip = taker_ip(phone)
        args = ["sipp", "-sf", str(SIPP_DIR / scenario), "-i", ip, "-p", "5060", "-mi", ip, "-aa",
                "-d", str(hold_ms), "-nostdin", "-trace_err",
                "-error_file", str(folder / f"{phone}_errors.log")]  # fmt: skip
        return Process(args, folder / f"{phone}.out", cwd=folder)

    def calls(
        self,
        folder: Path,
        callers: list[str],
        rate: float,
        hold_ms: int,
        port: int = 5062,
        extra: tuple[str, ...] = (),
        edge: str = EDGE,
    ) -> Process:
        """The operator's trunk places one call per number through the edge at `rate` calls/s
        (`extra`: more SIPp options, e.g. its traces)."""
        (folder / f"callers_{port}.csv").write_text("SEQUENTIAL\n" + "".join(f"{n};\n" for n in callers))
        count = str(len(callers))
        media = str(6000 + 10 * (port - 5060))
        args = ["sipp", edge, "-sf", str(SIPP_DIR / "caller_via_edge_list.xml"), "-s", "112",
                "-inf", str(folder / f"callers_{port}.csv"), "-i", CARRIER_IP, "-p", str(port),
                "-mi", CARRIER_IP, "-mp", media, "-m", count, "-r", str(rate), "-l", count,
                "-d", str(hold_ms), "-nostdin", "-timeout", "120", "-trace_err",
                "-error_file", str(folder / f"carrier_{port}_errors.log"), *extra]  # fmt: skip
        return Process(args, folder / f"carrier_{port}.out", cwd=folder)


def start_cluster(stack: Stack, workdir: Path) -> Cluster:
    env = {
        **stack.env,
        "IVR_SIP_EDGE": EDGES,
        "IVR_CLUSTER_NODES": ",".join(f"{n}={a}:5060" for n, a in NODES.items()),
    }
    for edge in (EDGE, EDGE2):
        edge_dir = Path(tempfile.mkdtemp(prefix="ivr112-cluster-edge-"))  # Kamailio's user must reach it
        edge_dir.chmod(0o755)
        env[f"TEST_EDGE_DIR_{edge}"] = str(edge_dir)
    env.pop("IVR_STATIC_CONTACTS", None)  # phones register, at the edge
    cluster = Cluster(stack, workdir, env)
    for node in NODES:
        cluster.start_node(node)
    for edge in (EDGE, EDGE2):
        cluster.start_edge(edge)
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    for edge in (EDGE, EDGE2):
        cluster.stop_edge(edge)
        shutil.rmtree(cluster.env[f"TEST_EDGE_DIR_{edge}"], ignore_errors=True)
    for node in NODES:
        subprocess.run(["bash", str(REPO / "scripts" / "node-stop.sh"), node], env=cluster.env, check=False)


def leaks(cluster: Cluster) -> dict[str, int]:
    """What the calls left behind on each node that is up: channels and bridges."""
    found: dict[str, int] = {}
    for node in NODES:
        try:
            found[f"{node} channels"] = len(cluster.channels(node))
            found[f"{node} bridges"] = len(cluster.bridges(node))
        except OSError:
            continue
    return found


def settle(seconds: float) -> None:
    time.sleep(seconds)
