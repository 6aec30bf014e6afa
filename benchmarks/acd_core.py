"""ACD core decision time: how long one decision takes with 10,000 callers waiting
and 20 call takers, against the same decisions with 100 waiting (measured in the same
run). Prints figures; asserts nothing.

    python -m benchmarks.acd_core
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

from benchmarks.percentiles import percentile
from ivr.core.acd import events as acd
from ivr.core.acd.dispatcher import handle
from ivr.core.acd.model import AcdPolicy, AcdState, Activity, PriorityLevel, Taker

LEVELS = {
    "emergency": PriorityLevel("emergency", 300, 60, "PJSIP/supervisor"),
    "normal": PriorityLevel("normal", 200, 120, "PJSIP/supervisor"),
    "silent": PriorityLevel("silent", 150),
    "low": PriorityLevel("low", 100),
}
POLICY = AcdPolicy(LEVELS, "normal", aging_per_second=1.0, wrapup_seconds=0)
TAKERS = [f"taker{n:02d}" for n in range(1, 21)]


def loaded(waiting: int, seed: int = 112) -> AcdState:
    """20 takers all on calls, `waiting` callers of mixed levels queued over the last minute."""
    rng = random.Random(seed)
    state = AcdState(POLICY, {a: Taker(a, f"PJSIP/{a}") for a in TAKERS})
    now = 1_000.0
    for taker in TAKERS:
        state, _ = handle(state, acd.TakerLoggedIn(taker), now)
    for i in range(waiting + len(TAKERS)):
        state, _ = handle(state, acd.CallerQueued(f"c{i}", rng.choice(list(LEVELS))), now + i * 50 / waiting)
    for taker in TAKERS:  # everyone answers: 20 on calls, the rest wait
        call = state.takers[taker].call_id
        assert call is not None
        state, _ = handle(state, acd.OfferAnswered(taker, call), 1_050.0)
    return state


def timed(state: AcdState, make: Callable[[AcdState, int], acd.AcdEvent], rounds: int) -> list[float]:
    samples = []
    for i in range(rounds):
        event = make(state, i)
        start = time.perf_counter()
        handle(state, event, 1_055.0)
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


def free_taker(state: AcdState, i: int) -> acd.AcdEvent:
    return acd.CallEnded(TAKERS[i % len(TAKERS)])


def new_caller(state: AcdState, i: int) -> acd.AcdEvent:
    return acd.CallerQueued(f"new{i}", "normal")


def caller_leaves(state: AcdState, i: int) -> acd.AcdEvent:
    return acd.CallerLeft(state.waiting[(i * 7919) % len(state.waiting)].call_id)


def main() -> None:
    print("ACD core decision time (microseconds per decision), 20 call takers")
    print(f"{'decision':<34}{'waiting':>9}{'p50':>10}{'p99':>10}{'vs 100 waiting (p50)':>24}")
    small, big = loaded(100), loaded(10_000)
    for name, make in (
        ("taker free -> offer next caller", free_taker),
        ("caller joins", new_caller),
        ("caller hangs up while waiting", caller_leaves),
    ):
        base = timed(small, make, 400)
        heavy = timed(big, make, 400)
        for label, samples in (("100", base), ("10000", heavy)):
            ratio = "" if label == "100" else f"{statistics.median(heavy) / statistics.median(base):.1f}x"
            p50, p99 = statistics.median(samples), percentile(samples, 99)
            print(f"{name:<34}{label:>9}{p50:>10.1f}{p99:>10.1f}{ratio:>24}")
    assert all(a.activity is Activity.ON_CALL for a in big.takers.values())


if __name__ == "__main__":
    main()
