# The service level against its targets (ivr.core.service_level), pure: which calls count,
# a caller still waiting counts as missed only once it can no longer make it, amber below
# the target and red once below for the configured time; and its configuration.
from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from ivr.adapters.archive import Archive
from ivr.config.acd_policy import service_level_policy
from ivr.config.loader import load
from ivr.config.schema import ServiceLevel
from ivr.core import events as ev
from ivr.core.call import CallPolicy, start
from ivr.core.service_level import Fate, ServiceLevelPolicy, Standing, Tier, Watch, alarm_text, measure
from ivr.engine.service_levels import ServiceLevelMonitor
from tests.unit.test_centre_config import SHIPPED

POLICY = ServiceLevelPolicy(
    tiers=(Tier(15, 0.9), Tier(20, 0.95)), window_seconds=3600, alarm_after_seconds=600
)
NOW = 100_000.0


def answered(call_id: str, arrived: float, after: float) -> Fate:
    return Fate(call_id, arrived, arrived + after)


def test_answered_calls_count_within_their_tier_and_abandoned_ones_as_missed() -> None:
    fates = [answered("a", NOW - 100, 5), answered("b", NOW - 90, 17), Fate("c", NOW - 80, abandoned=True)]
    _, (fifteen, twenty) = measure(fates, POLICY, NOW, Watch())
    assert (fifteen.counted, fifteen.within, fifteen.share) == (3, 1, 0.3333)
    assert (twenty.counted, twenty.within, twenty.share) == (3, 2, 0.6667)


def test_a_caller_still_waiting_counts_as_missed_only_once_past_the_tier() -> None:
    waiting = Fate("w", NOW - 18)  # no answer yet, 18 s in
    _, (fifteen, twenty) = measure([answered("a", NOW - 100, 5), waiting], POLICY, NOW, Watch())
    assert (fifteen.counted, fifteen.within) == (2, 1)  # it can no longer make 15 s
    assert (twenty.counted, twenty.within) == (1, 1)  # it may still make 20 s


def test_calls_outside_the_window_and_duplicates_count_once_or_not_at_all() -> None:
    old = answered("old", NOW - 4000, 60)
    live = Fate("x", NOW - 30, NOW - 25)
    archived_too = Fate("x", NOW - 30, abandoned=True)  # the same call: the later report wins
    _, (fifteen, _) = measure([old, archived_too, live], POLICY, NOW, Watch())
    assert (fifteen.counted, fifteen.within) == (1, 1)


def test_no_call_no_share_and_no_alarm() -> None:
    watch, figures = measure([], POLICY, NOW, Watch())
    assert [f.standing for f in figures] == [Standing.NO_CALLS, Standing.NO_CALLS]
    assert watch.below_since == {}


def test_below_the_target_is_amber_then_red_after_the_alarm_time_and_met_again_resets() -> None:
    missed = [Fate("m", NOW - 100, abandoned=True)]
    watch, figures = measure(missed, POLICY, NOW, Watch())
    assert figures[0].standing is Standing.BELOW and figures[0].below_since == NOW
    watch, figures = measure(missed, POLICY, NOW + 599, watch)
    assert figures[0].standing is Standing.BELOW
    watch, figures = measure(missed, POLICY, NOW + 600, watch)
    assert figures[0].standing is Standing.ALARM and figures[0].below_since == NOW
    assert alarm_text(figures[0], POLICY.window_seconds) == (
        "service level: 0% of calls answered within 15 s in the last 60 min (target 90%)"
    )
    good = [*missed, *(answered(f"g{i}", NOW + 600 - 50, 3) for i in range(20))]
    watch, figures = measure(good, POLICY, NOW + 601, watch)
    assert figures[0].standing is Standing.MET and 15 not in watch.below_since
    watch, figures = measure(missed, POLICY, NOW + 700, watch)
    assert figures[0].standing is Standing.BELOW  # below again: a new spell, amber first


def test_the_configuration_is_validated_and_becomes_the_policy() -> None:
    policy = service_level_policy_from(ServiceLevel())
    assert policy.tiers == (Tier(15, 0.9), Tier(20, 0.95)) and policy.alarm_after_seconds == 600
    with pytest.raises(ValidationError, match="must rise from tier to tier"):
        ServiceLevel.model_validate({"tiers": [{"answer_within_seconds": 20, "target": 0.9},
                                              {"answer_within_seconds": 15, "target": 0.95}]})  # fmt: skip
    with pytest.raises(ValidationError, match="target"):
        ServiceLevel.model_validate({"tiers": [{"answer_within_seconds": 15, "target": 1.5}]})
    with pytest.raises(ValidationError, match="tiers"):
        ServiceLevel.model_validate({"tiers": []})


def service_level_policy_from(level: ServiceLevel) -> ServiceLevelPolicy:
    config = load(SHIPPED)  # the shipped file, with this service level
    assert config.service_level == ServiceLevel()  # it ships the defaults, written out
    return service_level_policy(config.model_copy(update={"service_level": level}))


def record(call_id: str, arrived: float, outcome: str, answered: float | None = None, **more: str) -> dict:
    timeline = [{"entry": "arrived", "at": arrived}]
    if answered is not None:
        timeline.append({"entry": "taker-answered", "at": answered})
    return {"call_id": call_id, "outcome": outcome, "timeline": timeline, **more}


async def test_the_monitor_counts_archived_and_live_calls_and_survives_a_broken_archive(
    tmp_path: Path,
) -> None:
    archive = Archive(tmp_path / "calls.sqlite3")
    now = time.time()
    await archive.put(record("a1", now - 300, "answered", now - 290))  # within 15 s
    await archive.put(record("a2", now - 200, "abandoned-in-queue"))  # missed
    await archive.put(record("a3", now - 100, "handed-to-fallback"))  # not the centre's answering
    await archive.put(record("cb", now - 50, "answered", now - 49, callback_of="a2"))  # not a 112 call
    await archive.put(record("old", now - 7200, "abandoned-in-queue"))  # outside the hour
    live = {"w1": start(ev.CallArrived("w1", "0812", "112"), now - 30, CallPolicy())[0]}
    policy = ServiceLevelPolicy(tiers=(Tier(15, 0.9),), alarm_after_seconds=0)
    monitor = ServiceLevelMonitor(archive, lambda: live, lambda: policy, clock=lambda: now)
    await monitor.refresh()
    (tier,) = monitor.view()
    assert (tier["counted"], tier["within"], tier["standing"]) == (3, 1, "alarm")  # a1, a2, w1 waiting 30 s
    assert monitor.alarms() == [(alarm_text(monitor.figures[0], 3600), now)]
    archive.close()  # the archive gone: the live calls still give a figure, no error
    await monitor.refresh()
    assert monitor.view()[0]["counted"] == 1
