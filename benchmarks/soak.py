"""The soak run (by hand, not in CI): steady calls for a long time through the control
plane, sampling what could grow: memory and open files of Asterisk and of the control
plane, Asterisk's channels and bridges, Redis's memory. Writes a Markdown report with the
growth per hour and a PNG chart under results/<time>-soak/; asserts nothing.

    python -m benchmarks.soak [--minutes 60] [--rate 0.5] [--every 15]   (as root; `make soak`)

Callers as in the load harness (speech, noise, silence; a repeat prank number), 20 SIPp
call takers talking 8-20 s, the desk bringing in agencies. Growth is the least-squares
slope over the run; after the last call the system settles and what is left (channels,
bridges) must be nothing. Loopback only; bounded by --minutes; processes stopped by pid.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks.load import SCENARIOS, TAKERS, scenario_files, settle
from benchmarks.load_desk import AGENCIES, Desk
from benchmarks.load_measure import asterisk_pid, open_files, rss_mb, with_children
from tests.integration.stack import (
    REPO,
    Stack,
    carrier,
    centre_config,
    start_control_plane,
    start_phone,
    start_stack,
    stop_stack,
    wait_ready,
)

FIELDS = ("asterisk_mb", "app_mb", "asterisk_fds", "app_fds", "channels", "bridges", "redis_mb")


def sample(stack: Stack, app_pid: int, started: float) -> dict[str, float]:
    star = asterisk_pid()
    family = with_children(app_pid)
    return {
        "minute": (time.monotonic() - started) / 60,
        "asterisk_mb": rss_mb([star]),
        "app_mb": rss_mb(family),
        "asterisk_fds": open_files([star]),
        "app_fds": open_files(family),
        "channels": len(stack.channels()),
        "bridges": len(stack.ari("GET", "/bridges")[1] or []),
        "redis_mb": int(stack.redis().info("memory")["used_memory"]) / 2**20,
    }


def slope_per_hour(samples: list[dict[str, float]], key: str) -> float:
    """Least-squares growth per hour after the warm-up (the first fifth of the run)."""
    steady = samples[len(samples) // 5 :]
    xs, ys = [s["minute"] / 60 for s in steady], [s[key] for s in steady]
    if len(xs) < 2:
        return 0.0
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread if spread else 0.0


def report(
    samples: list[dict[str, float]], after: dict[str, float], args: argparse.Namespace, out: Path
) -> str:
    first, last = samples[0], samples[-1]
    lines = [f"# Soak run {out.name}", "",
             f"{args.minutes} min at {args.rate}/s ({int(args.minutes * 60 * args.rate)} callers), "
             f"sampled every {args.every} s; loopback.", "",
             "| | first | last | growth per hour (fit after the first fifth) | after it settled |",
             "|---|---|---|---|---|"]  # fmt: skip
    for key in FIELDS:
        lines.append(f"| {key} | {first[key]:.1f} | {last[key]:.1f} | {slope_per_hour(samples, key):+.1f} | "
                     f"{after[key]:.1f} |")  # fmt: skip
    left = {k: after[k] for k in ("channels", "bridges") if after[k]}
    lines += ["", f"Left after the run: {left or 'nothing'} (channels and bridges must be 0).", "",
              "![memory](memory.png)", ""]  # fmt: skip
    fig, ax = plt.subplots(figsize=(8, 4))
    for key in ("asterisk_mb", "app_mb", "redis_mb"):
        ax.plot([s["minute"] for s in samples], [s[key] for s in samples], label=key)
    ax.set(title="memory during the soak", xlabel="minutes", ylabel="MB")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(out / "memory.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--rate", type=float, default=0.5)
    parser.add_argument("--every", type=float, default=15, help="seconds between samples")
    args = parser.parse_args()
    calls = max(1, int(args.minutes * 60 * args.rate))
    sc = replace(SCENARIOS["steady"], name="soak", calls=calls, rate=args.rate, limit=min(calls, 200))
    out = REPO / "results" / f"{datetime.now():%Y%m%d-%H%M%S}-soak"
    out.mkdir(parents=True)
    caller_xml, phone_xml = scenario_files(out, sc)
    stack = start_stack(Path(tempfile.mkdtemp(prefix="ivr-soak-")))
    samples: list[dict[str, Any]] = []
    try:
        app = start_control_plane(stack, out / "control-plane.log", IVR_CENTRE_CONFIG=str(centre_config(out)))
        wait_ready(stack, app)
        stack.login(*TAKERS)
        phones = [start_phone(stack, t, str(phone_xml), out) for t in [*TAKERS, *AGENCIES]]
        before = set(stack.call_ids())
        desk = Desk(stack, before)
        desk.start()
        started = time.monotonic()
        callers = carrier(out, str(caller_xml), "112", "soak", "-inf", str(out / "callers.csv"),
                          "-m", str(calls), "-r", str(args.rate), "-l", str(sc.limit),
                          timeout_s=int(args.minutes * 60 + sc.patience_s + 120))  # fmt: skip
        try:
            while callers.alive():
                samples.append(sample(stack, app.popen.pid, started))
                time.sleep(args.every)
            settle(stack, before)
            after = sample(stack, app.popen.pid, started)
        finally:
            desk.stop()
            callers.stop()
            for phone in phones:
                phone.stop()
            app.stop()
    finally:
        stop_stack(stack)
    text = report(samples or [after], after, args, out)
    (out / "report.md").write_text(text)
    print(text)
    print(f"report: {out / 'report.md'}")


if __name__ == "__main__":
    main()
