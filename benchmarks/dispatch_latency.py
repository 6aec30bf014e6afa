"""Dispatch latency on the real stack: when a call taker hangs up and callers are
waiting, how long until the next caller's INVITE reaches that taker's phone. Our ACD
and Asterisk's native app_queue (the dialplan fallback, reached with the control plane
stopped) run the same scenario in the same run; the figures come from the phones' own
SIPp message traces. Prints figures and ratios; asserts nothing.

    python -m benchmarks.dispatch_latency [--callers 100] [--rate 10]   (as root)

Scenario: 20 SIPp phones ring 0.5 s, talk 2 s and hang up; callers arrive faster than
20 takers can serve them, so the queue stays full; wrap-up 0 on both sides.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
from datetime import datetime
from pathlib import Path

from benchmarks.percentiles import percentile
from tests.integration.stack import (
    Stack,
    centre_config,
    make_audio,
    place_calls,
    start_control_plane,
    start_phone,
    start_stack,
    stop_stack,
    wait_ready,
)

TAKERS = [f"taker{n:02d}" for n in range(1, 21)]
STAMP = re.compile(r"^-+ (\d{4}-\d\d-\d\d)\s+(\d\d:\d\d:\d\d\.\d+)")
RING_S, TALK_S = 0.5, 2.0


def trace(path: Path) -> list[tuple[float, str, str]]:
    """(time, 'sent'|'received', first SIP line) for every message in a SIPp trace."""
    out: list[tuple[float, str, str]] = []
    at, direction = 0.0, ""
    for line in path.read_text(errors="replace").splitlines():
        if m := STAMP.match(line):
            at = datetime.fromisoformat(f"{m.group(1)} {m.group(2)}").timestamp()
            direction = ""
        elif line.startswith(("UDP message sent", "UDP message received")):
            direction = "sent" if "sent" in line else "received"
        elif direction and line.strip():
            out.append((at, direction, line.strip()))
            direction = ""
    return out


def gaps(folder: Path) -> tuple[list[float], int, float]:
    """Free -> next INVITE gaps (ms) while callers waited, INVITEs seen, and the busy window (s)."""
    per_phone = {
        t: trace(folder / f"{t}_messages.log") for t in TAKERS if (folder / f"{t}_messages.log").exists()
    }
    invites = sorted(
        at
        for msgs in per_phone.values()
        for at, d, line in msgs
        if d == "received" and line.startswith("INVITE")
    )
    if not invites:
        return [], 0, 0.0
    last_dispatch = invites[-1]
    found = []
    for msgs in per_phone.values():
        byes = [at for at, d, line in msgs if d == "sent" and line.startswith("BYE")]
        mine = [at for at, d, line in msgs if d == "received" and line.startswith("INVITE")]
        for bye in byes:
            following = [i for i in mine if i > bye]
            if following and bye < last_dispatch:
                found.append((following[0] - bye) * 1000)
    return found, len(invites), last_dispatch - invites[0]


def run_phase(
    stack: Stack, folder: Path, ours: bool, callers: int, rate: float
) -> tuple[list[float], int, float]:
    folder.mkdir(parents=True)
    make_audio(folder)
    app = None
    if ours:
        config = centre_config(folder, wrapup_seconds=0)
        app = start_control_plane(stack, folder / "control-plane.log", IVR_CENTRE_CONFIG=str(config))
        wait_ready(stack, app)
        stack.login(*TAKERS)
    phones = [start_phone(stack, t, "phone_hangs_up.xml", folder, hold_ms=int(TALK_S * 1000)) for t in TAKERS]
    try:
        carrier = place_calls(folder, [f"0812{i:06d}" for i in range(callers)], rate=rate)
        carrier.popen.wait(timeout=600)
    finally:
        for phone in phones:
            phone.stop()
        if app is not None:
            app.stop()
    return gaps(folder)


def summary(name: str, samples: list[float]) -> tuple[float, float]:
    p50 = statistics.median(samples)
    p99 = percentile(samples, 99)
    print(f"{name:<34}{len(samples):>8}{p50:>12.1f}{p99:>12.1f}")
    return p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ivr-bench-"))
    stack = start_stack(work)
    try:
        ours = run_phase(stack, work / "acd", True, args.callers, args.rate)
        native = run_phase(stack, work / "native", False, args.callers, args.rate)
    finally:
        stop_stack(stack)
    print(
        f"\n{args.callers} callers at {args.rate}/s, 20 takers (ring {RING_S} s, talk {TALK_S} s), wrap-up 0"
    )
    print("features on: the control plane as shipped (screening, every call recorded); both paths record "
          "every call (MixMonitor in the dialplan)")  # fmt: skip
    print(f"{'taker free -> next INVITE (ms)':<34}{'samples':>8}{'p50':>12}{'p99':>12}")
    if not ours[0] or not native[0]:
        print("not enough samples: the queue never filled (raise --callers or --rate)")
        return
    o50, o99 = summary("control plane ACD", ours[0])
    n50, n99 = summary("native app_queue", native[0])
    print(f"{'ratio native / ACD':<34}{'':>8}{n50 / o50:>11.1f}x{n99 / o99:>11.1f}x")
    theoretical = 20 / (RING_S + TALK_S)
    for name, (_, count, window) in (("control plane ACD", ours), ("native app_queue", native)):
        achieved = (count - 1) / window if window else 0.0
        print(
            f"{name:<34} answered {achieved:.2f} calls/s = {100 * achieved / theoretical:.0f}% of "
            f"{theoretical:.2f} theoretical"
        )


if __name__ == "__main__":
    main()
