# When the watchdog judges the control plane gone (ivr.core.liveness.observe): a grace
# time of failed checks first (a restart adopts its calls meanwhile), then ACT at every
# check while it stays gone, BACK once it answers again. Pure.
from __future__ import annotations

from ivr.core.liveness import Liveness, Verdict, observe


def run(checks: list[tuple[float, bool]], grace: float = 5.0) -> list[Verdict]:
    state, seen = Liveness(grace), []
    for at, healthy in checks:
        state, verdict = observe(state, healthy, at)
        seen.append(verdict)
    return seen


def test_a_restart_within_the_grace_time_is_never_acted_on() -> None:
    checks = [(0.0, True), (0.5, False), (2.0, False), (4.9, False), (5.2, True), (5.7, True)]
    assert run(checks) == [Verdict.UP, *[Verdict.DOUBTFUL] * 3, Verdict.UP, Verdict.UP]


def test_gone_for_the_grace_time_acts_at_every_check_then_comes_back() -> None:
    checks = [(0.0, False), (4.99, False), (5.0, False), (5.5, False), (9.0, True), (9.5, True)]
    assert run(checks) == [Verdict.DOUBTFUL, Verdict.DOUBTFUL, Verdict.ACT, Verdict.ACT,
                           Verdict.BACK, Verdict.UP]  # fmt: skip


def test_each_outage_has_its_own_grace_time() -> None:
    checks = [(0.0, False), (6.0, False), (7.0, True), (8.0, False), (12.0, False), (13.0, False)]
    assert run(checks) == [Verdict.DOUBTFUL, Verdict.ACT, Verdict.BACK, Verdict.DOUBTFUL,
                           Verdict.DOUBTFUL, Verdict.ACT]  # fmt: skip


def test_an_outage_counts_from_the_start_of_the_first_check_that_failed() -> None:
    """A hung control plane makes each check last its timeout: the grace time is counted
    from when the first failing check began, not from when it gave up."""
    state, verdict = observe(Liveness(5.0), False, 1.5, began=0.5)
    assert verdict is Verdict.DOUBTFUL and state.failing_since == 0.5
    assert observe(state, False, 5.6, began=4.6)[1] is Verdict.ACT


def test_how_long_it_has_been_gone() -> None:
    state, _ = observe(Liveness(5.0), False, 10.0)
    assert state.gone_for(13.5) == 3.5 and Liveness(5.0).gone_for(13.5) == 0.0
