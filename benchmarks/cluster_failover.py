"""How long a machine's death costs callers in the cluster form, over repeated runs, with
calls arriving through the SIP edge all along (SIPp as the operator's trunk, four call
takers' phones registered at the edge):

- an Asterisk node killed (kill -9, the two nodes in turn): the time from its death to the
  first new call answered on the other node, and the INVITE -> 200 OK of the new calls
  sent after the kill (the edge tries a dead node for 1 s before the next one);
- the active control plane killed (kill -9, the two in turn): the time from its death to
  the standby leading, and to the standby's first offer to a call taker;
- SIP edge 1 killed (kill -9 of all its processes; the takers' phones registered there,
  the operator sending to edge 2 throughout): the time from its death to the first call
  taker answering through edge 2, the offers withdrawn because they rang into the dead
  edge, and the takers' misses (none should be counted);
- afterwards, the records of those calls: how many a control plane ended because it found
  them open (the caller left while nobody led), and how many have no outcome (none should).
The baseline, measured in the same run before any fault: the INVITE -> 200 OK of calls
with both nodes up, and the time from a call's arrival to its first offer. Figures are
printed as p50/p99 over the runs and as ratios against that baseline; nothing is asserted.

    python -m benchmarks.cluster_failover [--runs 5]     (as root; `make cluster-bench`)
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from benchmarks.cluster_parts import Bench, bench_cluster, invite_times
from benchmarks.load_measure import percentile, sipp_counter
from ivr.engine.unattended_records import SETTLE_SECONDS
from tests.integration.cluster_stack import EDGE, EDGE2, NODES
from tests.integration.stack import Process, wait_for

TAKERS = ("taker01", "taker02", "taker03", "taker04")
RATE = 4.0  # calls/s through the edge while a machine dies
CALLS = 24  # per run: 6 s of calls, the death 2 s in
HOLD_MS = 2500


def first(record: dict[str, Any], entry: str) -> float | None:
    return next((float(e["at"]) for e in record["timeline"] if e["entry"] == entry), None)


def place(bench: Bench, port: int, edge: str = EDGE) -> tuple[Process, Path, float]:
    """CALLS callers at RATE through the edge, each hanging up HOLD_MS after its answer."""
    folder = bench.media / f"calls{port}"
    folder.mkdir()
    for name in ("caller.alaw", "taker.alaw"):
        (folder / name).symlink_to(bench.media / name)
    numbers = [f"0812{port:04d}{n:04d}" for n in range(CALLS)]
    stat = folder / "stat.csv"
    trace = ("-trace_rtt", "-rtt_freq", "1", "-trace_stat", "-fd", "1", "-stf", str(stat))
    started = time.time()
    callers = bench.cluster.calls(
        folder, numbers, rate=RATE, hold_ms=HOLD_MS, port=port, extra=trace, edge=edge
    )
    return callers, folder, started


def baseline(bench: Bench) -> dict[str, list[float]]:
    since = time.time()
    callers, folder, started = place(bench, 5300)
    callers.popen.wait(timeout=90)
    time.sleep(1)
    offers = [o - float(r["arrived_at"]) for r in bench.records_since(since) if (o := first(r, "offered"))]
    return {"rtt": [rtt for _, rtt in invite_times(folder, started)], "offer": offers}


def node_death(bench: Bench, run: int) -> dict[str, float]:
    victim = list(NODES)[run % len(NODES)]
    bench.register_again()
    port = 5310 + 2 * run
    callers, folder, started = place(bench, port)
    time.sleep(2)
    killed = time.time()
    bench.cluster.kill_node(victim)
    callers.popen.wait(timeout=90)
    time.sleep(1)
    answered = [a for r in bench.records_since(killed) if (a := first(r, "answered")) is not None]
    after = [rtt for sent, rtt in invite_times(folder, started) if sent >= killed]
    bench.cluster.start_node(victim)
    leader = bench.leader()
    wait_for(lambda: bench.cluster.api(leader, "GET", "/api/health")[1]["nodes"][victim] == "connected", 40,
             f"{victim} back")  # fmt: skip
    time.sleep(2.5)  # the edge's next OPTIONS probe finds it up
    return {
        "answered": min(answered) - killed if answered else float("nan"),
        "rtt_max": max(after, default=float("nan")),
        "rtt_p50": percentile(after, 50),
        "sent": len(after),
        "failed": sipp_counter(folder / "stat.csv", "FailedCall(C)"),
    }


def leader_death(bench: Bench, run: int) -> dict[str, float]:
    name = bench.leader()
    standby = next(n for n in bench.planes if n != name)
    bench.register_again()
    port = 5340 + 2 * run
    callers, folder, _ = place(bench, port)
    time.sleep(2)
    killed = time.time()
    bench.planes[name].popen.kill()
    wait_for(lambda: bench.cluster.role(standby) == "active", 10, f"{standby} to lead")
    led = time.time() - killed
    time.sleep(1.5)
    _, takers = bench.cluster.api(standby, "GET", "/api/takers")  # shown when it offers nobody
    callers.popen.wait(timeout=90)
    time.sleep(1)
    offers = [o for r in bench.records_since(killed - 10) for e in r["timeline"]
              if e["entry"] == "offered" and (o := float(e["at"])) >= killed]  # fmt: skip
    if not offers:
        states = [(t["id"], t["declared"], t["activity"], t["reachable"], t["call_id"]) for t in takers or []
                  if t["id"] in TAKERS]  # fmt: skip
        print(f"run {run}: {standby} led and offered nobody; its takers 1.5 s in: {states}", flush=True)
    bench.planes[name].stop()
    bench.control_plane(name)  # back, as the standby
    failed = sipp_counter(folder / "stat.csv", "FailedCall(C)")
    return {"led": led, "offered": min(offers) - killed if offers else float("nan"), "failed": failed}


def edge_death(bench: Bench, run: int) -> dict[str, float]:
    bench.register_again()  # at edge 1
    port = 5370 + 2 * run
    callers, folder, _ = place(bench, port, EDGE2)
    time.sleep(2)
    killed = time.time()
    bench.cluster.kill_edge(EDGE)
    callers.popen.wait(timeout=90)
    time.sleep(1)
    entries = [e for r in bench.records_since(killed - 10) for e in r["timeline"] if float(e["at"]) >= killed]
    answers = [float(e["at"]) for e in entries if e["entry"] == "taker-answered"]
    withdrawn = sum(1 for e in entries if e["entry"] == "offer-failed")
    leader = bench.leader()
    _, takers = bench.cluster.api(leader, "GET", "/api/takers")
    missed = sum(t["missed_in_a_row"] for t in takers or [] if t["id"] in TAKERS)
    bench.cluster.start_edge(EDGE)
    wait_for(
        lambda: bench.cluster.api(leader, "GET", "/api/health")[1]["edges"][EDGE] == "up", 10, "edge 1 back"
    )
    return {
        "answered": min(answers) - killed if answers else float("nan"),
        "withdrawn": withdrawn,
        "missed": missed,
        "failed": sipp_counter(folder / "stat.csv", "FailedCall(C)"),
    }


def line(what: str, samples: list[float], base: float | None = None) -> str:
    """p50/p99 of the runs that saw the event; the runs that did not are counted apart."""
    seen = [x for x in samples if not math.isnan(x)]
    if not seen:
        return f"{what}: in none of {len(samples)} runs"
    p50, p99 = percentile(seen, 50), percentile(seen, 99)
    text = f"{what}: p50 {p50:.2f} s, p99 {p99:.2f} s"
    if base:
        text += f" ({p50 / base:.1f}x / {p99 / base:.1f}x the baseline)"
    if len(seen) < len(samples):
        text += f"; NOT SEEN in {len(samples) - len(seen)} of {len(samples)} runs"
    return text + "  [" + ", ".join(f"{x:.2f}" for x in samples) + "]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="deaths of each kind (default 5)")
    runs = parser.parse_args().runs
    with bench_cluster(wrapup_seconds=1) as bench:
        bench.control_plane("cp2")
        bench.takers(*TAKERS)
        base = baseline(bench)
        began = time.time()
        nodes = [node_death(bench, run) for run in range(runs)]
        planes = [leader_death(bench, run) for run in range(runs)]
        edges = [edge_death(bench, run) for run in range(runs)]
        time.sleep(SETTLE_SECONDS + 3)  # records left open in a takeover are closed once settled
        records = bench.records_since(began)
    rtt_p50, offer_p50 = percentile(base["rtt"], 50), percentile(base["offer"], 50)
    print(f"Cluster failover: {runs} runs of each death, {RATE:.0f} calls/s via the edge, 2 nodes, 4 takers")
    print(
        f"baseline (no fault): INVITE -> 200 OK p50 {rtt_p50 * 1000:.0f} ms, "
        f"p99 {percentile(base['rtt'], 99) * 1000:.0f} ms; arrival -> first offer p50 {offer_p50:.2f} s"
    )
    answered = [n["answered"] for n in nodes]
    print(line("node killed -> first new call answered on the other node", answered))
    slowest = [n["rtt_max"] for n in nodes]
    print(line("node killed -> slowest INVITE -> 200 OK of the calls sent after it", slowest, rtt_p50))
    print(line("control plane killed -> the standby leads", [p["led"] for p in planes]))
    offered = [p["offered"] for p in planes]
    print(line("control plane killed -> the standby's first offer", offered, offer_p50))
    node_failed, plane_failed = [n["failed"] for n in nodes], [p["failed"] for p in planes]
    print(
        f"callers SIPp counted failed, of {CALLS} a run: node deaths {node_failed} (the dead node's calls in "
        f"progress lose their audio), control plane deaths {plane_failed} (a call in the gap: the dialplan)"
    )
    print(
        line(
            "SIP edge 1 killed -> the first call taker answering through edge 2",
            [e["answered"] for e in edges],
        )
    )
    print(
        f"edge deaths: offers withdrawn from the dead edge {[e['withdrawn'] for e in edges]}, takers' misses "
        f"counted {[e['missed'] for e in edges]}, callers SIPp counted failed {[e['failed'] for e in edges]}"
    )
    found = sum(1 for r in records if r.get("by") == "found open")
    still = [r.get("caller", "?") for r in records if not r.get("outcome")]
    print(
        f"records of the {len(records)} calls of the deaths: {found} ended by the control plane that found "
        f"them open (their callers left while nobody led), {len(still)} without an outcome {still[:5]}"
    )


if __name__ == "__main__":
    main()
