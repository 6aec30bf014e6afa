# The figures the city reports (ivr.core.city_kpis through ivr.core.kpis, pure): answer ->
# agency connected and call -> agency on scene as p50/p90 per incident type and per
# agency, Kendari's two targets as shares, and the callers located with the median
# accuracy; the day's earlier figures are all still there.
from __future__ import annotations

import json
from typing import Any

import pytest

from ivr.core import kpis
from ivr.core.city_kpis import percentile

T0 = 1_800_000_000.0


def row(
    n: int,
    kind: str = "",
    agencies: dict[str, tuple[float | None, float | None]] | None = None,
    level: str = "normal",
    located: int = 0,
    accuracy: float | None = None,
    answered: float | None = 10.0,
) -> dict[str, Any]:
    """An archive row: call n arrived at T0 + n*1000, answered `answered` s later; each
    agency's (joined, arrived) in seconds after the call's arrival."""
    at = T0 + n * 1000
    times = [
        {
            "agency": name,
            "joined_at": None if j is None else at + j,
            "arrived_at": None if a is None else at + a,
        }
        for name, (j, a) in (agencies or {}).items()
    ]
    joined = [t["joined_at"] for t in times if t["joined_at"] is not None]
    return {
        "call_id": f"c{n}", "arrived_at": at, "answered_at": None if answered is None else at + answered,
        "outcome": "answered" if answered is not None else "abandoned-in-queue", "level": level,
        "verdict": "", "disposition": "", "callback_of": "", "incident_type": kind,
        "agency_times": json.dumps(times) if times else "",
        "agency_joined_at": min(joined) if joined else None, "located": located,
        "location_accuracy": accuracy,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("values", "p50", "p90"),
    [([], None, None), ([7.0], 7.0, 7.0), ([1, 2], 1, 2), ([5, 1, 4, 2, 3], 3, 5),
     (list(range(1, 11)), 5, 9), (list(range(1, 12)), 6, 10)],
)  # fmt: skip
def test_percentiles_are_nearest_rank(values: list[float], p50: float | None, p90: float | None) -> None:
    assert (percentile(values, 0.5), percentile(values, 0.9)) == (p50, p90)


def test_help_times_per_incident_type_and_per_agency() -> None:
    rows = [
        row(1, "fire", {"damkar": (40, 400), "ambulans": (100, 600)}),
        row(2, "fire", {"damkar": (70, 300)}),
        row(3, "fire", {"damkar": (130, 500)}),
        row(4, "medical", {"ambulans": (30, 200)}),
        row(5, "", {"polisi": (50, None)}),  # no incident written: counts in the whole only
        row(6, "traffic"),  # no agency
    ]
    figures = kpis.compute(rows)
    connected = figures["answer_to_agency_seconds"]  # from the answer (10 s after arrival)
    assert (connected["count"], connected["p50"], connected["p90"]) == (5, 40.0, 120.0)
    assert connected["by_type"]["fire"] == {"count": 3, "p50": 60.0, "p90": 120.0}  # each call's first
    assert connected["by_type"]["medical"] == {"count": 1, "p50": 20.0, "p90": 20.0}
    assert connected["by_type"]["crime"] == {"count": 0, "p50": None, "p90": None}  # every type listed
    assert set(connected["by_type"]) == {"fire", "traffic", "medical", "disaster", "crime", "other"}
    assert connected["by_agency"]["damkar"] == {"count": 3, "p50": 60.0, "p90": 120.0}
    assert connected["by_agency"]["ambulans"] == {"count": 2, "p50": 20.0, "p90": 90.0}
    assert list(connected["by_agency"]) == ["ambulans", "damkar", "polisi"]  # only those that took part

    on_scene = figures["call_to_agency_arrived_seconds"]  # from the call's arrival
    assert (on_scene["count"], on_scene["p50"], on_scene["p90"]) == (4, 300.0, 500.0)
    assert on_scene["by_type"]["fire"] == {"count": 3, "p50": 400.0, "p90": 500.0}
    assert on_scene["by_agency"]["ambulans"] == {"count": 2, "p50": 200.0, "p90": 600.0}
    assert "polisi" not in on_scene["by_agency"]  # never entered as arrived


def test_kendaris_targets_are_shares_of_the_calls_they_apply_to() -> None:
    rows = [
        row(1, "fire", {"damkar": (40, 419)}, level="emergency"),  # on scene in 6:59, help in 30 s
        row(2, "fire", {"damkar": (250, 421)}, level="emergency"),  # 7:01, help in 4 min
        row(3, "medical", {"ambulans": (30, None)}, level="normal"),  # not a priority case, no arrival
        row(4, "crime", level="emergency"),  # a priority case no agency joined: not counted for help
    ]
    figures = kpis.compute(rows)
    assert figures["on_scene_within_7_min"] == 0.5
    assert figures["priority_help_within_3_min"] == 0.5
    assert kpis.compute([row(1)])["on_scene_within_7_min"] is None  # nothing to measure


def test_the_share_of_callers_located_and_the_median_accuracy() -> None:
    rows = [row(1, located=1, accuracy=12.0), row(2, located=1, accuracy=800.0),
            row(3, located=1, accuracy=35.5), row(4, located=1), row(5), row(6, answered=None),
            row(7)]  # fmt: skip
    figures = kpis.compute(rows)
    assert figures["located_share"] == round(4 / 7, 4)
    assert figures["location_median_accuracy_m"] == 35.5  # of the located calls with an accuracy
    assert kpis.compute([row(1)])["location_median_accuracy_m"] is None


def test_callbacks_are_not_counted_and_the_days_earlier_figures_stay() -> None:
    callback = row(9, "fire", {"damkar": (40, 300)}, located=1) | {"callback_of": "c1"}
    figures = kpis.compute([row(1, "fire", {"damkar": (70, 400)}), callback])
    assert figures["call_to_agency_arrived_seconds"]["count"] == 1 and figures["located_share"] == 0.0
    for key in ("calls", "answered", "abandoned", "abandon_rate", "answered_within", "average_answer_seconds",
                "prank_share", "silent_share", "average_answer_to_agency_seconds", "calls_per_hour",
                "answer_time_distribution"):  # fmt: skip
        assert key in figures
    assert figures["average_answer_to_agency_seconds"] == 60.0


def test_a_row_archived_before_the_agencies_times_were_kept_still_counts_its_first_agency() -> None:
    old = row(1) | {"agency_times": "", "agencies": "damkar polisi", "agency_joined_at": T0 + 1000 + 70}
    figures = kpis.compute([old])
    assert figures["answer_to_agency_seconds"]["by_agency"] == {
        "damkar": {"count": 1, "p50": 60.0, "p90": 60.0}
    }
