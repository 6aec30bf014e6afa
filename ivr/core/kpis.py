"""The command centre's key figures over a set of archived calls (pure).

Rules:
- Answer time is from the call's arrival (its INVITE; the greeting included) to a call taker or the
  overflow target answering.
- The service level "answered within N s" counts answered calls within N s among calls
  that were answered or abandoned (a call handed to the fallback queue or still going on
  is neither); the abandon rate is abandoned / (answered + abandoned).
- Prank share counts calls screened as prank or blocked, or disposed as prank by a call
  taker; silent share counts calls screened silent or silent-emergency, or disposed silent.
- Callbacks (rows with callback_of) are not calls to 112 and are not counted.
- Hours are local hours of the given zone offset (Kendari: WITA, UTC+8).
- The figures the city reports (help's times per incident type and per agency, callers
  located) are city_kpis.py's, among the same calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from statistics import mean
from typing import Any

from ivr.core import city_kpis

ANSWERED = frozenset({"answered", "overflowed"})
ABANDONED = frozenset({"abandoned-in-greeting", "abandoned-in-queue"})
SERVICE_LEVELS = (10, 15, 20)
ANSWER_BUCKETS = (5, 10, 15, 20, 30, 60)  # seconds; the last bucket is "over 60"


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def answer_seconds(row: Mapping[str, Any]) -> float | None:
    answered = row.get("answered_at")
    return None if answered is None else max(0.0, float(answered) - float(row["arrived_at"]))


def compute(rows: Iterable[Mapping[str, Any]], utc_offset_seconds: int = 8 * 3600) -> dict[str, Any]:
    calls = [r for r in rows if not r.get("callback_of")]  # a callback is not a call to 112
    answered = [r for r in calls if r.get("outcome") in ANSWERED and r.get("answered_at") is not None]
    abandoned = [r for r in calls if r.get("outcome") in ABANDONED]
    judged = len(answered) + len(abandoned)
    waits = [s for s in (answer_seconds(r) for r in answered) if s is not None]
    pranks = [r for r in calls if r.get("verdict") in ("prank", "blocked") or r.get("disposition") == "prank"]
    silent = [
        r
        for r in calls
        if r.get("verdict") in ("silent", "silent-emergency") or r.get("disposition") == "silent"
    ]
    to_agency = [
        float(r["agency_joined_at"]) - float(r["answered_at"])
        for r in calls
        if r.get("agency_joined_at") is not None and r.get("answered_at") is not None
    ]
    per_hour = [0] * 24
    for r in calls:
        per_hour[int((float(r["arrived_at"]) + utc_offset_seconds) // 3600) % 24] += 1
    buckets = {f"<={b}": 0 for b in ANSWER_BUCKETS} | {f">{ANSWER_BUCKETS[-1]}": 0}
    for wait in waits:
        key = next((f"<={b}" for b in ANSWER_BUCKETS if wait <= b), f">{ANSWER_BUCKETS[-1]}")
        buckets[key] += 1
    return {
        "calls": len(calls),
        "answered": len(answered),
        "abandoned": len(abandoned),
        "abandon_rate": _share(len(abandoned), judged),
        "answered_within": {str(n): _share(sum(w <= n for w in waits), judged) for n in SERVICE_LEVELS},
        "average_answer_seconds": round(mean(waits), 1) if waits else None,
        "prank_share": _share(len(pranks), len(calls)),
        "silent_share": _share(len(silent), len(calls)),
        "average_answer_to_agency_seconds": round(mean(to_agency), 1) if to_agency else None,
        "calls_per_hour": per_hour,
        "answer_time_distribution": buckets,
        **city_kpis.compute(calls),
    }
