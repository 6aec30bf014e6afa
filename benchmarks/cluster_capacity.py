"""What a second Asterisk node adds: the greet load (callers answered, greeted and screened,
hanging up after 5 s; nobody logged in) through the SIP edge at rising rates, first with
one node (the other stopped), then with two, each node pinned to a core of its own
(taskset). A node's capacity is the highest rate whose INVITE -> 200 OK p99 stays within
100 ms with no failed call; printed for both, and two nodes as a ratio of one, measured
in the same run. With 4 cores or more everything else (the control plane, Kamailio,
Redis, SIPp) runs on the cores the nodes do not use; with fewer it shares theirs, and
the ratio tells more about the machine than about the nodes. Nothing is asserted.

    python -m benchmarks.cluster_capacity [--rates 5,10,15,20,30,40] [--seconds 10]
    (as root; `make cluster-bench`)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from typing import Any

from benchmarks.cluster_parts import Bench, bench_cluster, invite_times
from benchmarks.load_measure import percentile, sipp_counter
from tests.integration.cluster_stack import NODES
from tests.integration.stack import ASTERISK_ROOT, REPO, wait_for

P99_LIMIT_MS = 100.0
HOLD_MS = 5000


def pin(node: str, core: int) -> None:
    """Every thread of the node's Asterisk on `core`."""
    pid = (ASTERISK_ROOT / f"run/asterisk-{node}/asterisk.pid").read_text().strip()
    subprocess.run(["taskset", "-a", "-p", "-c", str(core), pid], check=True, capture_output=True)


def step(bench: Bench, rate: float, seconds: float, port: int) -> dict[str, Any]:
    """One rate for `seconds`; returns once every caller hung up and the nodes are idle again."""
    folder = bench.media / f"rate{port}"
    folder.mkdir()
    for name in ("caller.alaw", "taker.alaw"):
        (folder / name).symlink_to(bench.media / name)
    count = max(1, round(rate * seconds))
    numbers = [f"0813{port:04d}{n:04d}" for n in range(count)]
    stat = folder / "stat.csv"
    trace = ("-trace_rtt", "-rtt_freq", "1", "-trace_stat", "-fd", "1", "-stf", str(stat))
    started = time.time()
    callers = bench.cluster.calls(folder, numbers, rate=rate, hold_ms=HOLD_MS, port=port, extra=trace)
    callers.popen.wait(timeout=seconds + 180)
    rtt = [r * 1000 for _, r in invite_times(folder, started)]
    failed = sipp_counter(stat, "FailedCall(C)")
    time.sleep(3)  # the last records written, the nodes' channels gone
    p99 = percentile(rtt, 99)
    return {"rate": rate, "calls": count, "answered": len(rtt), "failed": failed, "p50": percentile(rtt, 50),
            "p99": p99, "ok": failed == 0 and len(rtt) == count and p99 <= P99_LIMIT_MS}  # fmt: skip


def climb(bench: Bench, rates: list[float], seconds: float, port: int) -> tuple[float, list[dict[str, Any]]]:
    """Steps up the rates until one fails; the highest that passed (0: none)."""
    steps: list[dict[str, Any]] = []
    best = 0.0
    for n, rate in enumerate(rates):
        result = step(bench, rate, seconds, port + 2 * n)
        steps.append(result)
        answered, failed = f"{result['answered']}/{result['calls']}", result["failed"]
        print(
            f"  {rate:5.1f} calls/s: {answered} answered, {failed} failed, "
            f"INVITE -> 200 OK p50 {result['p50']:.0f} ms, p99 {result['p99']:.0f} ms",
            flush=True,
        )
        if not result["ok"]:
            break
        best = rate
    return best, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="5,10,15,20,30,40", help="calls/s (default 5,10,15,20,30,40)")
    parser.add_argument("--seconds", type=float, default=10.0, help="each rate's duration (default 10)")
    args = parser.parse_args()
    rates = sorted(float(r) for r in args.rates.split(","))
    cores = os.cpu_count() or 1
    if cores >= 4:
        os.sched_setaffinity(0, range(2, cores))  # all started from here: off the nodes' cores
    a1, a2 = list(NODES)
    with bench_cluster(wrapup_seconds=1) as bench:
        stop = ["bash", str(REPO / "scripts" / "node-stop.sh"), a2]
        subprocess.run(stop, env=bench.cluster.env, check=True)
        time.sleep(3)  # the edge has marked it down
        pin(a1, 0)
        print(f"one node ({a1} on core 0):", flush=True)
        one, _ = climb(bench, rates, args.seconds, 5400)
        bench.cluster.start_node(a2)
        leader = bench.leader()
        wait_for(lambda: bench.cluster.api(leader, "GET", "/api/health")[1]["nodes"][a2] == "connected", 40,
                 f"{a2} back")  # fmt: skip
        time.sleep(2.5)  # the edge's next OPTIONS probe finds it up
        pin(a2, 1 % cores)
        print(f"two nodes ({a1} on core 0, {a2} on core {1 % cores}):", flush=True)
        two, _ = climb(bench, rates, args.seconds, 5500)
    shared = "" if cores >= 4 else f" (this machine has {cores} cores: the rest shares the nodes' cores)"
    ratio = f"{two / one:.2f}x" if one else "n/a (one node passed no rate)"
    top = " (the highest rate tried: at least)" if two == rates[-1] else ""
    print(f"capacity at INVITE -> 200 OK p99 <= {P99_LIMIT_MS:.0f} ms: one node {one:g} calls/s, "
          f"two nodes {two:g} calls/s{top}: {ratio} (target 1.8x){shared}")  # fmt: skip


if __name__ == "__main__":
    main()
