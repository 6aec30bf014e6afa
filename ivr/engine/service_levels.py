"""The service level, measured every few seconds from the archive and the live calls, for
the wallboard, /metrics and /api/health (decisions in ivr.core.service_level).

Rules: a measurement reads the archived calls that arrived within the window (one query)
and the live calls from memory; it never touches a call. Without an archive, or with the
archive failing, the figures are those of the live calls alone (logged once per failure
spell), never an error for a reader. The policy is read at each measurement, so a reload
applies at the next one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from ivr.adapters.archive import Archive
from ivr.core.call_state import Call
from ivr.core.kpis import ABANDONED, ANSWERED
from ivr.core.service_level import Fate, ServiceLevelPolicy, Standing, TierFigure, Watch, alarm_text, measure

log = logging.getLogger(__name__)

EVERY_SECONDS = 10.0
QUERY = "SELECT call_id, arrived_at, answered_at, outcome, callback_of FROM calls WHERE arrived_at >= ?"


def _archived(row: Mapping[str, Any]) -> Fate | None:
    if row.get("callback_of") or row.get("arrived_at") is None:
        return None
    outcome = row.get("outcome")
    answered = row.get("answered_at")
    if outcome in ANSWERED and answered is not None:
        return Fate(str(row["call_id"]), float(row["arrived_at"]), float(answered))
    if outcome in ABANDONED:
        return Fate(str(row["call_id"]), float(row["arrived_at"]), abandoned=True)
    return None  # handed to the fallback queue, blocked, ...: not the centre's answering


def _live(call: Call) -> Fate:
    return Fate(call.call_id, call.arrived_at, call.answered_at)


class ServiceLevelMonitor:
    def __init__(
        self,
        archive: Archive | None,
        calls: Callable[[], Mapping[str, Call]],
        policy: Callable[[], ServiceLevelPolicy],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._archive = archive
        self._calls = calls
        self._policy = policy
        self._clock = clock
        self._watch = Watch()
        self._failing = False
        self.figures: list[TierFigure] = []
        self.window_seconds = 0.0

    async def refresh(self) -> None:
        policy, now = self._policy(), self._clock()
        fates = [_live(call) for call in self._calls().values()]
        if self._archive is not None:
            try:
                rows = await self._archive.query(QUERY, now - policy.window_seconds)
                self._failing = False
            except Exception as exc:  # the figures go on from the live calls
                if not self._failing:
                    log.warning("service level: the archive could not be read (%s); live calls only", exc)
                self._failing = True
                rows = []
            fates = [f for f in map(_archived, rows) if f is not None] + fates  # live last: theirs wins
        self._watch, self.figures = measure(fates, policy, now, self._watch)
        self.window_seconds = policy.window_seconds

    def alarms(self) -> list[tuple[str, float | None]]:
        """A sentence per tier in alarm, with when it went below its target."""
        return [
            (alarm_text(f, self.window_seconds), f.below_since)
            for f in self.figures
            if f.standing is Standing.ALARM
        ]

    def view(self) -> list[dict[str, Any]]:
        """The figures as the wallboard and the API show them."""
        return [asdict(f) | {"window_seconds": self.window_seconds} for f in self.figures]
