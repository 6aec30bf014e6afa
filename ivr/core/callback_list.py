"""Who to call back: abandoned callers with a number, from the recent call history (pure).

Rules:
- A caller who hung up before reaching a person (abandoned in the greeting or in the
  queue), or whose call was cut off because its Asterisk node failed, and whose number
  can be dialled is listed once per number (the latest such call, with how many there
  were), with the reason in words.
- A number that got through afterwards (answered, overflowed to the supervisor) or
  was reached by a callback needs no more calls: it leaves the list, or shows as
  'reached' when reached by a callback.
- Status: calling (a callback is going on), reached, unreached (the last attempt did
  not reach the person: they may be tried again), pending (no attempt yet).
- A number the operator marked private is listed as "anonymous" (the callback still
  dials it).
- Order: what needs doing first: open entries before reached ones, emergencies and
  silent emergencies before the rest, then the oldest first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ivr.core.kpis import ABANDONED, ANSWERED
from ivr.core.privacy import shown

DIALABLE = re.compile(r"^\+?[0-9]{3,20}$")
RESULTS = {
    "callback-reached": "reached",
    "callback-unreached": "unreached",
    "callback-cancelled": "cancelled",
    "failed": "failed",
}
URGENT = ("emergency", "silent-emergency")
CALL_BACK = ABANDONED | {"cut-off"}  # the outcomes whose caller is to be called back
REASONS = {
    "abandoned-in-greeting": "hung up during the greeting",
    "abandoned-in-queue": "hung up while waiting",
    "cut-off": "cut off: the Asterisk node carrying the call failed",
}
STATUS_ORDER = {"calling": 0, "unreached": 1, "pending": 1, "reached": 2}


def dialable(number: str) -> bool:
    return bool(DIALABLE.match(number))


def callback_list(
    rows: Iterable[Mapping[str, Any]],
    live: Mapping[str, str],
    prank_reports: Mapping[str, int],
) -> list[dict[str, Any]]:
    """rows: archived calls (callbacks included, their callback_of set); live: abandoned
    call id -> the callback going on for it; prank_reports: number -> prank dispositions."""
    calls = sorted(rows, key=lambda r: float(r["arrived_at"]))
    callbacks = [r for r in calls if r.get("callback_of")]
    latest: dict[str, Mapping[str, Any]] = {}
    count: dict[str, int] = {}
    for row in calls:
        number = str(row.get("caller", ""))
        if row.get("callback_of") or row.get("outcome") not in CALL_BACK or not dialable(number):
            continue
        latest[number] = row
        count[number] = count.get(number, 0) + 1
    entries = []
    for number, row in latest.items():
        got_through = any(
            r.get("caller") == number
            and not r.get("callback_of")
            and r.get("outcome") in ANSWERED
            and float(r["arrived_at"]) > float(row["arrived_at"])
            for r in calls
        )
        if got_through:
            continue
        ids = {r["call_id"] for r in calls if r.get("caller") == number and r.get("outcome") in CALL_BACK}
        attempts = [
            {
                "at": float(r["arrived_at"]),
                "callback": r["call_id"],
                "taker": r.get("taker", ""),
                "result": RESULTS.get(str(r.get("outcome")), str(r.get("outcome") or "")),
            }
            for r in callbacks
            if r.get("callback_of") in ids
        ]
        going = next((live[i] for i in ids if i in live), None)
        if going is not None:
            status = "calling"
        elif any(a["result"] == "reached" for a in attempts):
            status = "reached"
        else:
            status = "unreached" if attempts else "pending"
        ended = row.get("ended_at")
        entries.append(
            {
                "call_id": row["call_id"],
                # the operator marked it private: dialled by the system, never shown
                "caller": shown(number, bool(row.get("withheld"))),
                "arrived_at": float(row["arrived_at"]),
                "ended_at": ended,
                "waited_seconds": round(float(ended) - float(row["arrived_at"]), 1) if ended else None,
                "outcome": row.get("outcome"),
                "reason": REASONS.get(str(row.get("outcome")), ""),
                "verdict": row.get("verdict", ""),
                "abandoned_calls": count[number],
                "prank_reports": prank_reports.get(number, 0),
                "status": status,
                "callback": going,
                "attempts": attempts,
            }
        )
    entries.sort(key=lambda e: (STATUS_ORDER[e["status"]], e["verdict"] not in URGENT, e["arrived_at"]))
    return entries
