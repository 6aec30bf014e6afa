"""Whether the control plane is gone, as the watchdog judges it from its health checks.

Rules: one failed check starts a grace period (a restart adopts its own calls in that
time); only when every check has failed for the whole grace time is it gone, and the
watchdog acts (ACT), again at every check while it stays gone (new strays appear). The
first good check after that is BACK, then UP again. Pure: time is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Verdict(StrEnum):
    UP = "up"  # answering: nothing to do
    DOUBTFUL = "doubtful"  # not answering, within the grace time: wait
    ACT = "act"  # gone for the grace time or longer: hand the callers over
    BACK = "back"  # answering again after the watchdog acted


@dataclass(frozen=True)
class Liveness:
    grace_seconds: float
    failing_since: float | None = None
    acted: bool = False  # the watchdog acted during this outage

    def gone_for(self, now: float) -> float:
        return 0.0 if self.failing_since is None else now - self.failing_since


def observe(
    state: Liveness, healthy: bool, now: float, began: float | None = None
) -> tuple[Liveness, Verdict]:
    """One check's result at `now`; `began`: when that check started (a hung control
    plane makes every check last its whole timeout: the outage began before it ended)."""
    if healthy:
        back = state.acted
        return replace(state, failing_since=None, acted=False), Verdict.BACK if back else Verdict.UP
    since = state.failing_since if state.failing_since is not None else (now if began is None else began)
    if now - since < state.grace_seconds:
        return replace(state, failing_since=since), Verdict.DOUBTFUL
    return replace(state, failing_since=since, acted=True), Verdict.ACT
