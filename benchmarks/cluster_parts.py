"""The cluster the cluster benchmarks run on: the test stack's Redis, the SIP edge in front
of two Asterisk nodes (tests/integration/cluster_stack.py), a leading control plane, call
takers' phones registered once at the edge.

Rules: the same parts and scripts as the real-stack tests and `make cluster`; loopback
only; everything started here is stopped by pid when the `with` block ends, also on
failure (a killed node or control plane is found dead and skipped).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.integration.cluster_stack import NODES, Cluster, start_cluster, stop_cluster
from tests.integration.stack import (
    Process,
    Stack,
    centre_config,
    make_audio,
    start_stack,
    stop_stack,
    wait_for,
)


@dataclass
class Bench:
    stack: Stack
    cluster: Cluster
    media: Path
    planes: dict[str, Process] = field(default_factory=dict)  # control plane name -> process
    phones: dict[str, Process] = field(default_factory=dict)  # taker -> its answering phone

    def control_plane(self, name: str, **extra: str) -> Process:
        """Starts control plane `name`; returns once it leads or stands by."""
        process = self.cluster.control_plane(name, **extra)
        self.planes[name] = process
        wait_for(
            lambda: self.cluster.role(name) in ("active", "standby") or not process.alive(), 30, f"{name} up"
        )
        assert process.alive(), f"{name} exited:\n{process.output()[-2000:]}"
        if self.cluster.role(name) == "active":
            wait_for(lambda: process.output().count("reconciled:") >= len(NODES), 15, f"{name} to reconcile")
        return process

    def leader(self) -> str:
        return next(name for name in self.planes if self.cluster.role(name) == "active")

    def register_again(self) -> None:
        """The takers' phones register again, as real phones do before their registration
        expires (the edge grants at most 120 s, SIPp asks 60 s; a benchmark runs longer).
        SIPp registers from the phone's own address and port: the phone is started anew."""
        for taker, phone in list(self.phones.items()):
            phone.stop()
            self.phones[taker] = self.cluster.phone(taker, self.media, hold_ms=2000)

    def takers(self, *takers: str) -> list[Process]:
        """The takers' phones, registered at the edge and answering; the takers logged in."""
        phones = [self.cluster.phone(taker, self.media, hold_ms=2000) for taker in takers]
        self.phones.update(zip(takers, phones, strict=True))
        leader = self.leader()

        def reachable() -> bool:
            status, body = self.cluster.api(leader, "GET", "/api/takers")
            return status == 200 and all(t["reachable"] for t in body if t["id"] in takers)

        wait_for(reachable, 20, "the takers' phones reachable through the edge")
        self.cluster.login(leader, *takers)
        return phones

    def records_since(self, since: float) -> list[dict[str, Any]]:
        """The records of the calls that arrived at or after `since` (epoch seconds)."""
        records = [self.stack.record(call_id) for call_id in self.stack.call_ids()]
        return [r for r in records if float(r.get("arrived_at") or 0) >= since]


def invite_times(folder: Path, started: float) -> list[tuple[float, float]]:
    """(INVITE sent, INVITE -> 200 OK in s) of each call, from SIPp's -trace_rtt file (its
    dates are milliseconds since the epoch, or since SIPp started: `started`)."""
    rows: list[tuple[float, float]] = []
    for path in folder.glob("*_rtt.csv"):
        for line in path.read_text().splitlines()[1:]:
            cells = line.split(";")
            if len(cells) >= 2 and cells[0] and cells[1]:
                date, rtt = float(cells[0]) / 1000, float(cells[1]) / 1000
                received = date if date > 1e9 else started + date
                rows.append((received - rtt, rtt))
    return rows


@contextmanager
def bench_cluster(wrapup_seconds: float) -> Iterator[Bench]:
    """A running cluster with cp1 leading, the takers' wrap-up set."""
    work = Path(tempfile.mkdtemp(prefix="ivr112-cluster-bench-"))
    media = work / "media"
    media.mkdir()
    make_audio(media)
    stack = start_stack(work)
    cluster: Cluster | None = None
    bench: Bench | None = None
    try:
        (work / "cluster").mkdir()
        cluster = start_cluster(stack, work / "cluster")
        cluster.env["IVR_CENTRE_CONFIG"] = str(centre_config(media, wrapup_seconds=wrapup_seconds))
        bench = Bench(stack, cluster, media)
        bench.control_plane("cp1")
        yield bench
    finally:
        for process in bench.planes.values() if bench else []:
            process.stop()
        for process in Process.started:
            process.stop()
        Process.started.clear()
        if cluster is not None:
            stop_cluster(cluster)
        stop_stack(stack)
