"""The SIPp load harness: the same call load through the control plane (ARI), through
Asterisk's native dialplan + app_queue (the fallback path, control plane stopped), and
through the control plane with screening and recording off (the bare ARI path), on
the same stack and phones in the same run. Writes a Markdown report and per-call CSVs
under results/<time>/ and prints the figures and ratios; asserts nothing.

    python -m benchmarks.load [--calls 60] [--rate 2] [--talk 4]   (as root; `make load`)

Callers: half speak, a quarter send noise, a quarter say nothing (tests/sipp/callers_mixed.xml).
Measured, per path: INVITE -> 200 OK (SIPp's own response times), calls that reached
a person (SIPp callers that finished), CPU seconds of Asterisk and of the control plane
(with its worker processes) per call, their peak memory; on the ARI path also the time
to a call taker by priority, the screening latency and calls without a named outcome
("lost"). Loopback only; bounded by --calls; every process is stopped by pid.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.integration.stack import (
    ASTERISK_ROOT,
    REPO,
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
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Iterable[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    return total


def rss_mb(pids: Iterable[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")), 0)
    return total / 1024


def with_children(pid: int) -> list[int]:
    """pid and every process whose parent chain leads to it (the recognizer workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found = {pid}
    changed = True
    while changed:
        changed = False
        for child, parent in parents.items():
            if parent in found and child not in found:
                found.add(child)
                changed = True
    return sorted(found)


def asterisk_pid() -> int:
    return int((ASTERISK_ROOT / "run/asterisk/asterisk.pid").read_text().strip())


def percentile(samples: list[float], q: int) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100)[q - 1]


def response_times(folder: Path) -> list[float]:
    """INVITE -> 200 OK in ms, from SIPp's -trace_rtt files."""
    found: list[float] = []
    for path in folder.glob("*_rtt.csv"):
        for row in csv.reader(path.read_text().splitlines()[1:], delimiter=";"):
            if len(row) >= 3 and row[1]:
                found.append(float(row[1]))
    return found


def run_path(
    stack: Stack, folder: Path, ours: bool, calls: int, rate: float, talk_s: float, bare: bool = False
) -> dict[str, Any]:
    """One path: ours (control plane), bare (ours without screening and recording), or native."""
    folder.mkdir(parents=True)
    make_audio(folder)
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-t", "al", str(folder / "noise.alaw"),
                    "synth", "12", "pinknoise", "vol", "0.4"], check=True)  # fmt: skip
    app: Process | None = None
    if ours:
        config = centre_config(folder, wrapup_seconds=1)
        extra = {"IVR_CENTRE_CONFIG": str(config)}
        if bare:
            config.write_text(
                config.read_text().replace("screening:\n  enabled: true", "screening:\n  enabled: false")
            )
            extra["IVR_RECORD_CALLS"] = "false"
        app = start_control_plane(stack, folder / "control-plane.log", **extra)
        wait_ready(stack, app)
        stack.login(*TAKERS)
    phones = [start_phone(stack, t, "phone_hangs_up.xml", folder, hold_ms=int(talk_s * 1000)) for t in TAKERS]
    before_ids = set(stack.call_ids())
    star = asterisk_pid()
    app_pids = with_children(app.popen.pid) if app else []
    cpu0 = (cpu_seconds([star]), cpu_seconds(app_pids))
    peak = [0.0, 0.0]
    (folder / "callers.csv").write_text("SEQUENTIAL\n" + "".join(f"0812{i:06d};\n" for i in range(calls)))
    started = time.monotonic()
    callers = carrier(folder, "callers_mixed.xml", "112", "load", "-inf", str(folder / "callers.csv"),
                      "-m", str(calls), "-r", str(rate), "-l", str(calls), "-trace_rtt", "-rtt_freq", "1",
                      "-trace_stat", "-fd", "1", timeout_s=int(calls / rate + 300))  # fmt: skip
    try:
        while callers.alive():
            peak[0] = max(peak[0], rss_mb([star]))
            peak[1] = max(peak[1], rss_mb(with_children(app.popen.pid) if app else []))
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        cpu = (
            cpu_seconds([star]) - cpu0[0],
            cpu_seconds(with_children(app.popen.pid)) - cpu0[1] if app else 0.0,
        )
    finally:
        for phone in phones:
            phone.stop()
        if app is not None:
            app.stop()
    failed = 0 if callers.popen.returncode == 0 else _failed_calls(folder)
    result: dict[str, Any] = {
        "path": ("control plane, bare" if bare else "control plane (ARI)") if ours else "native app_queue",
        "calls": calls,
        "reached": calls - failed,
        "elapsed_s": elapsed,
        "rtt_ms": response_times(folder),
        "cpu_asterisk_s": cpu[0],
        "cpu_app_s": cpu[1],
        "peak_asterisk_mb": peak[0],
        "peak_app_mb": peak[1],
    }
    if ours:
        result |= _records(stack, before_ids, folder)
    return result


def _failed_calls(folder: Path) -> int:
    stats = sorted(folder.glob("*_.csv")) or sorted(folder.glob("*.csv"))
    for path in stats:
        rows = list(csv.reader(path.read_text().splitlines(), delimiter=";"))
        if rows and "FailedCall(C)" in rows[0]:
            return int(rows[-1][rows[0].index("FailedCall(C)")])
    return -1


def _records(stack: Stack, before: set[str], folder: Path) -> dict[str, Any]:
    ids = [c for c in stack.call_ids() if c not in before]
    to_taker: dict[str, list[float]] = {}
    screening: list[float] = []
    lost = 0
    with (folder / "calls.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["call_id", "level", "verdict", "outcome", "to_taker_s", "screening_s"])
        verdicts: dict[str, int] = {}
        for call_id in ids:
            record = stack.record(call_id)
            at = {e["entry"]: e["at"] for e in reversed(record["timeline"])}
            if not record.get("outcome"):
                lost += 1
            verdicts[record.get("verdict") or "none"] = verdicts.get(record.get("verdict") or "none", 0) + 1
            wait = (
                at["taker-answered"] - at["arrived"] if "taker-answered" in at and "arrived" in at else None
            )
            screen = (
                at["screened"] - at["screening-started"]
                if {"screened", "screening-started"} <= set(at)
                else None
            )
            if wait is not None:
                to_taker.setdefault(record.get("level", "?"), []).append(wait)
            if screen is not None:
                screening.append(screen)
            writer.writerow(
                [call_id, record.get("level"), record.get("verdict"), record.get("outcome"), wait, screen]
            )
    return {"records": len(ids), "lost": lost, "to_taker_s": to_taker, "screening_s": screening,
            "verdicts": verdicts}  # fmt: skip


def report(results: list[dict[str, Any]], args: argparse.Namespace, out: Path) -> str:
    ours, native, bare = results
    lines = [
        f"# Load run {out.name}",
        "",
        f"{args.calls} callers at {args.rate}/s (half speech, a quarter noise, a quarter silence), "
        f"20 SIPp call takers talking {args.talk} s, loopback.",
        "",
        "| | control plane (ARI) | native app_queue | ratio |",
        "|---|---|---|---|",
    ]

    def row(name: str, a: float, b: float, fmt: str = "{:.1f}") -> None:
        ratio = f"{a / b:.2f}x" if b else "n/a"
        lines.append(f"| {name} | {fmt.format(a)} | {fmt.format(b)} | {ratio} |")

    for q in (50, 99):
        row(f"INVITE -> 200 OK p{q} (ms)", percentile(ours["rtt_ms"], q), percentile(native["rtt_ms"], q))
    row("calls that reached a person", ours["reached"], native["reached"], "{:.0f}")
    for key, name in (
        ("cpu_asterisk_s", "Asterisk CPU per call (ms)"),
        ("cpu_app_s", "control plane CPU per call (ms)"),
    ):
        row(name, 1000 * ours[key] / args.calls, 1000 * native[key] / args.calls)
    both = [(r["cpu_asterisk_s"] + r["cpu_app_s"]) * 1000 / args.calls for r in results]
    row("whole path CPU per call (ms)", both[0], both[1])
    row("Asterisk peak memory (MB)", ours["peak_asterisk_mb"], native["peak_asterisk_mb"])
    bare_cpu = (bare["cpu_asterisk_s"] + bare["cpu_app_s"]) * 1000 / args.calls
    lines += [
        "",
        "The control plane without screening and recording (the ARI path itself), same load:",
        "",
        "| | bare ARI path | native app_queue | ratio |",
        "|---|---|---|---|",
    ]
    row("INVITE -> 200 OK p99 (ms)", percentile(bare["rtt_ms"], 99), percentile(native["rtt_ms"], 99))
    row("calls that reached a person", bare["reached"], native["reached"], "{:.0f}")
    row("whole path CPU per call (ms)", bare_cpu, both[1])
    row("lost (no named outcome)", bare["lost"], 0, "{:.0f}")
    lines += ["", f"Control plane peak memory: {ours['peak_app_mb']:.0f} MB (with its workers).", ""]
    lines += [f"Records: {ours['records']}, without a named outcome (lost): {ours['lost']}.", ""]
    lines += ["Screening verdicts: " + ", ".join(f"{v} {n}" for v, n in sorted(ours["verdicts"].items())), ""]
    lines += ["| priority | calls | to a call taker p50 (s) | p99 (s) |", "|---|---|---|---|"]
    for level, waits in sorted(ours["to_taker_s"].items()):
        lines.append(
            f"| {level} | {len(waits)} | {percentile(waits, 50):.2f} | {percentile(waits, 99):.2f} |"
        )
    if ours["screening_s"]:
        s = ours["screening_s"]
        lines += [
            "",
            f"Screening, start to verdict: p50 {percentile(s, 50):.2f} s, p99 {percentile(s, 99):.2f} s.",
        ]
    lines += [
        "",
        "Not the same work: the ARI path also records every call (a snoop and a WAV) and screens it",
        "(RTP to the control plane, Silero speech detection); the native path does neither.",
        "",
        "Targets: INVITE -> 200 OK p99 <= 20 ms; ARI path CPU per call <= 1.3x native; 0 lost.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--talk", type=float, default=4.0, help="seconds each call taker talks")
    args = parser.parse_args()
    out = REPO / "results" / datetime.now().strftime("%Y%m%d-%H%M%S")
    work = Path(tempfile.mkdtemp(prefix="ivr-load-"))
    stack = start_stack(work)
    try:
        paths = (("ari", True, False), ("native", False, False), ("bare", True, True))
        results = [run_path(stack, out / name, ours, args.calls, args.rate, args.talk, bare)
                   for name, ours, bare in paths]  # fmt: skip
    finally:
        stop_stack(stack)
    text = report(results, args, out)
    (out / "report.md").write_text(text)
    print(text)
    print(f"report: {out / 'report.md'}")


if __name__ == "__main__":
    main()
