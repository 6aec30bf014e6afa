"""The figures the city reports, over a set of archived calls (pure): how fast help came,
and how many callers were located.

Rules:
- Answer -> agency connected: from a person answering the call to an agency joining it
  (the timeline's agency-joined). Call -> agency arrived: from the call's arrival (its
  INVITE) to the agency on scene (entered on the incident record). A call counts once in
  the whole and per incident type (its first agency joining, its first agency arriving);
  per agency, each agency of each call counts.
- p50 and p90 are nearest-rank percentiles (the smallest time that at least that share of
  the calls reached); none without a call. Types are always all listed (IncidentType);
  agencies only those that took part.
- Kendari's targets: an agency on scene within ON_SCENE_SECONDS of the call; help (an agency
  connected) within HELP_SECONDS of the answer for priority cases (PRIORITY_LEVELS): each
  a share of the calls it applies to (those with an arrival, priority calls with an agency).
- Location: the share of calls with a caller location (`located`), and the median of the
  location's accuracy in metres over the located calls that have one.
- Rows are the archive's; a row without a column counts as without what it holds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from statistics import median
from typing import Any

from ivr.core.incident import TYPES

ON_SCENE_SECONDS = 7 * 60
HELP_SECONDS = 3 * 60
PRIORITY_LEVELS = frozenset({"emergency"})


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (share 0-1) of values; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(share * len(ordered) - 1e-9)  # 0.9 * 10 must stay rank 9
    return ordered[max(0, rank - 1)]


def spread(values: Sequence[float]) -> dict[str, Any]:
    p50, p90 = percentile(values, 0.5), percentile(values, 0.9)
    return {
        "count": len(values),
        "p50": None if p50 is None else round(p50, 1),
        "p90": None if p90 is None else round(p90, 1),
    }


def _times(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each agency's times in the call; a row archived before they were kept: its first
    agency joining."""
    raw = row.get("agency_times") or ""
    try:
        times = json.loads(raw) if isinstance(raw, str) and raw else []
    except ValueError:
        return []
    if not times and row.get("agency_joined_at") is not None:
        first = (str(row.get("agencies") or "").split() or ["?"])[0]
        return [{"agency": first, "joined_at": row["agency_joined_at"], "arrived_at": None}]
    return [t for t in times if isinstance(t, dict) and t.get("agency")] if isinstance(times, list) else []


def _measure(
    calls: Iterable[Mapping[str, Any]], start: str, end: str
) -> tuple[list[float], dict[str, list[float]], dict[str, list[float]]]:
    """Seconds from the row's `start` column to each agency's `end` time (joined_at or
    arrived_at): per call (its first), per incident type, per agency."""
    whole: list[float] = []
    by_type: dict[str, list[float]] = {kind: [] for kind in TYPES}
    by_agency: dict[str, list[float]] = {}
    for row in calls:
        began = row.get(start)
        if began is None:
            continue
        seconds = {
            str(t["agency"]): max(0.0, float(t[end]) - float(began))
            for t in _times(row)
            if t.get(end) is not None
        }
        if not seconds:
            continue
        first = min(seconds.values())
        whole.append(first)
        kind = row.get("incident_type") or ""
        if kind in by_type:
            by_type[kind].append(first)
        for agency, value in seconds.items():
            by_agency.setdefault(agency, []).append(value)
    return whole, by_type, by_agency


def _figure(calls: list[Mapping[str, Any]], start: str, end: str) -> dict[str, Any]:
    whole, by_type, by_agency = _measure(calls, start, end)
    return {
        **spread(whole),
        "by_type": {kind: spread(values) for kind, values in by_type.items()},
        "by_agency": {agency: spread(values) for agency, values in sorted(by_agency.items())},
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def compute(calls: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The city's figures of these calls (callbacks already left out)."""
    arrivals, _, _ = _measure(calls, "arrived_at", "arrived_at")
    priority = [r for r in calls if r.get("level") in PRIORITY_LEVELS]
    helped, _, _ = _measure(priority, "answered_at", "joined_at")
    located = [r for r in calls if r.get("located")]
    accuracy = [float(r["location_accuracy"]) for r in located if r.get("location_accuracy") is not None]
    return {
        "answer_to_agency_seconds": _figure(calls, "answered_at", "joined_at"),
        "call_to_agency_arrived_seconds": _figure(calls, "arrived_at", "arrived_at"),
        "on_scene_within_7_min": _share(sum(s <= ON_SCENE_SECONDS for s in arrivals), len(arrivals)),
        "priority_help_within_3_min": _share(sum(s <= HELP_SECONDS for s in helped), len(helped)),
        "located_share": _share(len(located), len(calls)),
        "location_median_accuracy_m": round(median(accuracy), 1) if accuracy else None,
    }
