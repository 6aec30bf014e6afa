"""The SIPp load harness: the same call load through the control plane (ARI), through
Asterisk's native dialplan + app_queue (the fallback path, control plane stopped), and
through the control plane with screening and recording off (the bare ARI path), on
the same stack and phones in the same run. Writes a Markdown report, PNG charts and
per-call CSVs under results/<time>-<scenario>/ and prints the report; asserts nothing.

    python -m benchmarks.load [--scenario steady|surge10|surge|greet] [--calls N] [--rate R] ...
    (as root; `make load`, `make load SCENARIO=surge10`)

Scenarios (each bounded in calls and time; loopback only; every process stopped by pid):
  steady  60 callers at 2/s; the desk gives a repeat prank number its "prank" verdicts
          and brings agencies (answered by their SIPp phones) into every 6th call
  surge   200 callers waiting at once, then 20 calls/s for 60 s (1400 callers, 20
          takers); callers give up after 3 minutes
  surge10 10 callers/s for 60 s (600 callers, 20 takers): the queue grows to hundreds,
          which is when screening's order counts; callers give up after 5 minutes
  greet   40 calls/s for 30 s, answered and greeted; each caller hangs up after 5 s
Callers: half speak, a quarter send noise, a quarter say nothing (the same callers on
every path of a run); one in five calls
(steady) comes from the repeat prank number. Call takers talk 2-6 s (uniform).
Measured per path: INVITE -> 200 OK (SIPp's own response times), calls a call taker's
phone took, callers that gave up, lost calls, CPU seconds of Asterisk and of the control
plane (with its worker processes) per call, peak memory, how busy the whole machine
was (twice a second, all cores), taker free -> next ring while
callers wait (from the phones' traces); on the control plane also the time to a call
taker by priority, screening latency and the agencies' time to join.
"Lost": a caller SIPp counted as failed, or a record without a named outcome.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.dispatch_latency import gaps
from benchmarks.load_calls import caller_kinds, native_records, records
from benchmarks.load_desk import AGENCIES, Desk, agency_outcomes
from benchmarks.load_measure import (
    asterisk_pid,
    cpu_seconds,
    machine_jiffies,
    response_times,
    rss_mb,
    sipp_counter,
    sipp_mean_call_s,
    thread_cpu,
    with_children,
)
from benchmarks.load_report import report
from tests.integration.stack import (
    REPO,
    SIPP_DIR,
    Process,
    Stack,
    carrier,
    centre_config,
    make_audio,
    start_control_plane,
    start_phone,
    start_stack,
    stop_stack,
    wait_ready,
)

TAKERS = [f"taker{n:02d}" for n in range(1, 21)]


@dataclass(frozen=True)
class Scenario:
    name: str
    describe: str
    calls: int
    rate: float
    limit: int  # most callers in the system at once
    patience_s: float  # a caller not hung up on by then hangs up
    talk_s: tuple[float, float]  # call takers talk between these (uniform)
    prank_every: int = 0  # every n-th caller is the repeat prank number (0: none)
    desk: bool = False  # verdicts and agency requests from the desk (control plane only)
    queue_full: bool = False  # callers always wait: taker free -> next ring is a dispatch figure
    takers: int = len(TAKERS)  # call takers logged in, with a SIPp phone each
    # INVITE -> 200 OK p99 target: at most this times native's (0: native's + 5 ms, as at 2/s)
    rtt_times_native: float = 0.0


SCENARIOS = {
    "steady": Scenario("steady", "steady arrivals", 60, 2.0, 60, 600, (8, 20), prank_every=5, desk=True),
    "surge": Scenario(
        "surge", "200 callers waiting, then 20 calls/s for 60 s", 1400, 20.0, 1400, 180, (2, 6)
    ),
    "surge10": Scenario("surge10", "10 callers/s for 60 s", 600, 10.0, 600, 300, (2, 6)),
    "greet": Scenario(
        "greet",
        "answer-and-greet, callers hang up after 5 s",
        1200,
        40.0,
        400,
        5,
        (2, 6),
        rtt_times_native=2.0,
    ),
}


def scenario_files(folder: Path, sc: Scenario) -> tuple[Path, Path]:
    """This run's audio (speech, noise), caller scenario (its patience), phone scenario
    (its talk times) and callers' numbers, in `folder`."""
    make_audio(folder)
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-t", "al", str(folder / "noise.alaw"),
                    "synth", "12", "pinknoise", "vol", "0.4"], check=True)  # fmt: skip
    callers = (SIPP_DIR / "callers_mixed.xml").read_text()
    callers = callers.replace('timeout="1800000"', f'timeout="{int(sc.patience_s * 1000)}"')
    phone = (SIPP_DIR / "phone_hangs_up.xml").read_text()
    low, high = (int(s * 1000) for s in sc.talk_s)
    phone = phone.replace("<pause/>", f'<pause distribution="uniform" min="{low}" max="{high}"/>')
    (folder / "callers.xml").write_text(callers)
    (folder / "phone.xml").write_text(phone)
    callers = "".join(f"{number};{kind};\n" for number, kind in caller_kinds(sc))
    (folder / "callers.csv").write_text("SEQUENTIAL\n" + callers)
    return folder / "callers.xml", folder / "phone.xml"


class Peaks:
    """Peak memory of Asterisk and of the control plane, sampled twice a second, with the
    machine's busy share (per cent of all cores) over each half second."""

    def __init__(self, app: Process | None) -> None:
        self.asterisk_mb = 0.0
        self.app_mb = 0.0
        self.busy_pct: list[float] = []
        self._app = app
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        star = asterisk_pid()
        last = machine_jiffies()
        while not self._stop.wait(0.5):
            now = machine_jiffies()
            if now[1] > last[1]:
                self.busy_pct.append(100 * (now[0] - last[0]) / (now[1] - last[1]))
            last = now
            self.asterisk_mb = max(self.asterisk_mb, rss_mb([star]))
            if self._app is not None:
                self.app_mb = max(self.app_mb, rss_mb(with_children(self._app.popen.pid)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def phone_answer_delay_s() -> float:
    """How long the call takers' SIPp phones ring before answering (their scenario's first pause)."""
    found = re.search(r'<pause milliseconds="(\d+)"/>', (SIPP_DIR / "phone_hangs_up.xml").read_text())
    assert found, "phone_hangs_up.xml: no ringing pause"
    return int(found.group(1)) / 1000


def run_path(stack: Stack, folder: Path, sc: Scenario, path: str) -> dict[str, Any]:
    """One path: "ari" (control plane), "bare" (without screening and recording) or "native"."""
    folder.mkdir(parents=True)
    caller_xml, phone_xml = scenario_files(folder, sc)
    app: Process | None = None
    if path != "native":
        config = centre_config(folder, wrapup_seconds=0)
        extra = {"IVR_CENTRE_CONFIG": str(config)}
        if path == "bare":
            config.write_text(
                config.read_text().replace("screening:\n  enabled: true", "screening:\n  enabled: false")
            )
            extra["IVR_RECORD_CALLS"] = "false"
        app = start_control_plane(stack, folder / "control-plane.log", **extra)
        wait_ready(stack, app)
        stack.login(*TAKERS[: sc.takers])
    # The dialplan records every call unless told not to: the bare path records nothing.
    stack.ari("POST", stack.variable("IVR_RECORD") + ("&value=no" if path == "bare" else "&value=yes"))
    # The takers' phones, and the supervisor's desk that callers waiting past their level's
    # maximum overflow to (without a phone there, such an offer fails and the caller waits on).
    phones = [start_phone(stack, t, str(phone_xml), folder) for t in [*TAKERS[: sc.takers], "supervisor"]]
    agencies = [start_phone(stack, a, str(phone_xml), folder) for a in AGENCIES] if sc.desk else []
    before = set(stack.call_ids())
    desk = Desk(stack, before) if sc.desk and path == "ari" else None
    star = asterisk_pid()
    cpu0 = (cpu_seconds([star]), cpu_seconds(with_children(app.popen.pid)) if app else 0.0)
    threads0 = thread_cpu(with_children(app.popen.pid)) if app else {}
    peaks = Peaks(app)
    started = time.monotonic()
    callers = carrier(folder, str(caller_xml), "112", "load", "-inf", str(folder / "callers.csv"),
                      "-m", str(sc.calls), "-r", str(sc.rate), "-l", str(sc.limit), "-trace_rtt",
                      "-rtt_freq", "1", "-trace_stat", "-fd", "1", "-stf", str(folder / "callers_stat.csv"),
                      timeout_s=int(sc.calls / sc.rate + sc.patience_s + 120))  # fmt: skip
    if desk:
        desk.start()
    try:
        callers.popen.wait()
        elapsed = time.monotonic() - started
        settle(stack, before if app else None)
        cpu = (
            cpu_seconds([star]) - cpu0[0],
            cpu_seconds(with_children(app.popen.pid)) - cpu0[1] if app else 0.0,
        )
        threads = thread_cpu(with_children(app.popen.pid)) if app else {}
        by_thread = {name: spent - threads0.get(name, 0.0) for name, spent in threads.items()}
    finally:
        peaks.stop()
        if desk:
            desk.stop()
        for phone in phones + agencies:
            phone.stop()
        if app is not None:
            app.stop()
    failed = max(0, sipp_counter(folder / "callers_stat.csv", "FailedCall(C)"))
    ring_gaps, taken, _ = gaps(folder)  # taken: INVITEs the call takers' phones received
    result: dict[str, Any] = {
        "path": path,
        "calls": sc.calls,
        "failed": failed,
        "taken": taken,
        "elapsed_s": elapsed,
        "call_s_mean": sipp_mean_call_s(folder / "callers_stat.csv"),
        "rtt_ms": response_times(folder, "callers"),
        "ring_gap_ms": ring_gaps if sc.queue_full else [],
        "cpu_asterisk_s": cpu[0],
        "cpu_app_s": cpu[1],
        "cpu_app_threads_s": by_thread,
        "peak_asterisk_mb": peaks.asterisk_mb,
        "peak_app_mb": peaks.app_mb,
        "busy_pct": peaks.busy_pct,
        "lost": failed,
    }
    if app is None:  # the native queue's own record of each call: the dialplan's lines
        result |= native_records(stack, sc)
        result["lost"] = failed + result["no_record"]
    if app is not None:
        result |= records(stack, before, folder, sc)
        # a caller the control plane never recorded has no named outcome either
        result["no_record"] = max(0, sc.calls - result["records"])
        result["lost"] = failed + result["no_outcome"] + result["no_record"]
    if desk:
        result |= {"desk": desk.figures} | agency_outcomes(stack, desk.figures.requested)
    return result


def settle(stack: Stack, before: set[str] | None, most_s: float = 90) -> None:
    """Lets the system finish what the load left (channels, unwritten outcomes) before
    anything is stopped or counted; gives up after most_s."""
    client = stack.redis()
    deadline = time.monotonic() + most_s
    while time.monotonic() < deadline:
        open_records = 0
        if before is not None:
            ids = [c for c in stack.call_ids() if c not in before]
            pipe = client.pipeline(transaction=False)
            for call_id in ids:
                pipe.hget(f"ivr:call:{call_id}", "outcome")
            open_records = sum(1 for outcome in pipe.execute() if not outcome)
        if not stack.channels() and not open_records:
            return
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="steady")
    parser.add_argument("--calls", type=int, help="callers placed (default: the scenario's)")
    parser.add_argument("--rate", type=float, help="calls per second")
    parser.add_argument("--limit", type=int, help="most callers in the system at once")
    parser.add_argument("--patience", type=float, help="seconds before a caller gives up")
    parser.add_argument("--paths", default="ari,native,bare", help="comma-separated: ari, native, bare")
    parser.add_argument(
        "--takers", type=int, choices=range(len(TAKERS) + 1), metavar=f"0-{len(TAKERS)}",
        help="call takers logged in (default: all; 0: answering alone, nobody offered)",
    )  # fmt: skip
    args = parser.parse_args()
    sc = SCENARIOS[args.scenario]
    overrides = {"calls": args.calls, "rate": args.rate, "limit": args.limit, "patience_s": args.patience,
                 "takers": args.takers}  # fmt: skip
    sc = replace(sc, **{k: v for k, v in overrides.items() if v is not None})
    sc = replace(sc, limit=min(sc.limit, sc.calls))
    paths = [p for p in args.paths.split(",") if p]
    unknown = set(paths) - {"ari", "native", "bare"}
    if unknown:
        parser.error(f"--paths: unknown path(s) {', '.join(sorted(unknown))}; use ari, native, bare")
    out = REPO / "results" / f"{datetime.now():%Y%m%d-%H%M%S}-{sc.name}"
    work = Path(tempfile.mkdtemp(prefix="ivr-load-"))
    stack = start_stack(work)
    try:
        results = [run_path(stack, out / p, sc, p) for p in paths]
    finally:
        stop_stack(stack)
    text = report(results, sc, out, phone_answer_delay_s())
    (out / "report.md").write_text(text)
    print(text)
    print(f"report: {out / 'report.md'}")


if __name__ == "__main__":
    main()
