# The service level against its targets (ivr.core.service_level), pure: which calls count,
# a caller still waiting counts as missed only once it can no longer make it, amber below
# the target and red once below for the configured time; and its configuration.
from __future__ import annotations

import pytest
from pydantic import ValidationError

from ivr.config.acd_policy import service_level_policy
from ivr.config.loader import load
from ivr.config.schema import ServiceLevel
from ivr.core.service_level import Fate, ServiceLevelPolicy, Standing, Tier, Watch, alarm_text, measure
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
