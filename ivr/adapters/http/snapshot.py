"""What the live dashboard shows one user at one moment: the snapshot sent over its feed.

Rules:
- One permission table: each part of the snapshot (FEED) is sent only to a user whose
  role may GET the REST route serving the same data (auth.scope()); a part the user may
  not see is left out of the snapshot altogether (absent, not empty).
- So a supervisor sees the wallboard: waiting callers (best placed first) with number,
  level, verdict and wait; every call taker's status, state and time in state; live
  calls; today's key figures; the callback list; screening status.
- An engineer sees every call taker's status, phone and reachability, and screening
  status: no caller's number, no call, no key figure, no callback list.
- A call taker sees only themselves: their status, their own live calls, the callback
  list, and "my call": the call offered to or connected with them, else their last call
  until the next one, with its verdict, features, transcript, the caller's earlier calls
  and reputation, its incident record and the agencies that joined or were sent, and the
  caller's location (`location`, the latest fix, and `locations`) with the desk's map
  settings (`map`). Waiting callers show only whether there is a location (has_location).
- A number the operator marked private (withheld) is hidden from call takers everywhere
  in the snapshot (ivr.core.privacy). Earlier calls: none for a withheld caller (the
  list would link the call to ones where the number was shown); a shown caller's list
  leaves out earlier withheld calls. The reputation summary stays.
- Figures that need the archive (key figures, callbacks) are computed at most every
  few seconds for everyone (SharedFigures), never once per viewer.
- Reading a record can fail (Redis down): the snapshot then goes without that detail.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ivr.adapters.call_store import CallStore, StoreUnavailable, first_at
from ivr.adapters.http.auth import Scope, User, scope
from ivr.adapters.http.callback_api import callback_entries
from ivr.adapters.http.centre import Centre
from ivr.adapters.http.history_api import day_figures
from ivr.adapters.http.views import taker_views, waiting_views
from ivr.adapters.locations import CallLocations, Locating
from ivr.adapters.reputation_store import Disposition, ReputationStore
from ivr.core import incident, privacy
from ivr.core.call_state import Call, Phase

PAUSE_REASONS = ("istirahat", "makan", "briefing", "pelatihan", "toilet")
# Each part of the snapshot -> the REST route that serves the same data: a user gets a part
# only when auth.scope() grants that route (ALL: every item; OWN: only their own).
FEED: dict[str, tuple[str, str]] = {
    "waiting": ("GET", "/api/v1/queue"),
    "takers": ("GET", "/api/v1/takers"),
    "calls": ("GET", "/api/v1/calls/{call}"),
    "kpis": ("GET", "/api/v1/kpis"),
    "service_level": ("GET", "/api/v1/service-level"),
    "callbacks": ("GET", "/api/v1/callbacks"),
    "screening": ("GET", "/api/v1/screening"),
    "my_call": ("GET", "/api/v1/calls/{call}"),  # the call taker's own call, with its reputation
}
HISTORY_SHOWN = 10
TAKER_PHASES = frozenset({Phase.OFFERED, Phase.CONNECTING, Phase.CONNECTED})


class SharedFigures:
    """Today's key figures and the callback list, refreshed at most every `every` seconds."""

    def __init__(
        self, centre: Centre, reputation: ReputationStore, timezone: str, every: float = 3.0
    ) -> None:
        self._centre = centre
        self._reputation = reputation
        self._zone = ZoneInfo(timezone)
        self._every = every
        self._at = 0.0
        self._finished_seen = -1
        self._callbacks_seen: frozenset[str] = frozenset()
        self._lock = asyncio.Lock()  # many viewers, one refresh
        self.kpis: dict[str, Any] | None = None
        self.callbacks: list[dict[str, Any]] = []

    async def refresh(self, now: float) -> None:
        async with self._lock:
            await self._refresh(now)

    async def _refresh(self, now: float) -> None:
        archive = self._centre.archive
        seen = (self._centre.finished_calls(), frozenset(self._centre.callbacks()))
        if archive is None or (
            now - self._at < self._every and seen == (self._finished_seen, self._callbacks_seen)
        ):
            return
        self._at, (self._finished_seen, self._callbacks_seen) = now, seen
        today = datetime.fromtimestamp(now, self._zone).replace(hour=0, minute=0, second=0, microsecond=0)
        since, until = today.timestamp(), (today + timedelta(days=1)).timestamp()
        self.kpis = await day_figures(archive, since, until, self._zone)
        self.callbacks = await callback_entries(self._centre, self._reputation, now)


def _call_view(call: Call) -> dict[str, Any]:
    return {
        "call_id": call.call_id,
        "caller": call.shown_number,
        "phase": call.phase.value,
        "taker": call.taker,
        "level": call.level,
        "verdict": call.verdict,
        "flags": sorted(call.flags),
        "arrived_at": call.arrived_at,
        "answered_at": call.answered_at,
        "agencies": [{"agency": leg.agency, "status": leg.status.value} for leg in call.agencies],
    }


class DeskMemory:
    """Each call taker's current or last call, so the pop-up stays after the call ends."""

    def __init__(self) -> None:
        self.last: dict[str, str] = {}  # taker -> call id
        self._history: dict[str, list[dict[str, Any]]] = {}  # call id -> the caller's earlier calls

    def current(self, centre: Centre, taker: str) -> str | None:
        calls = centre.calls().values()
        live = next((c for c in calls if c.taker == taker and c.phase in TAKER_PHASES), None)
        if live is None:
            live = next((c for c in calls if c.taker == taker), None)
        if live is not None:
            self.last[taker] = live.call_id
        return self.last.get(taker)

    async def history(
        self, centre: Centre, call_id: str, number: str, arrived_at: float, withheld: bool = False
    ) -> list[dict[str, Any]]:
        """The caller's earlier calls (not callbacks), latest first; none for a withheld
        caller, and never an earlier withheld call."""
        if withheld:
            return []
        if call_id not in self._history:
            archive = centre.archive
            if archive is None or not number:
                return []
            rows = await archive.query(
                "SELECT call_id, arrived_at, outcome, verdict, disposition FROM calls "
                "WHERE caller = ? AND arrived_at < ? AND callback_of = '' "
                "AND coalesce(json_extract(record, '$.withheld'), '') != 'yes' "
                "ORDER BY arrived_at DESC LIMIT ?",
                number,
                arrived_at,
                HISTORY_SHOWN,
            )
            if len(self._history) > 200:
                self._history.clear()
            self._history[call_id] = rows
        return self._history[call_id]


async def _my_call(
    centre: Centre,
    store: CallStore,
    reputation: ReputationStore,
    desk: DeskMemory,
    taker: str,
    now: float,
    book: CallLocations | None = None,
) -> dict[str, Any] | None:
    call_id = desk.current(centre, taker)
    if call_id is None:
        return None
    live = centre.calls().get(call_id)
    try:
        record = await store.get(call_id) or {}
    except StoreUnavailable:
        record = {}
    if live is not None:
        view = _call_view(live)
    else:  # ended: what the record says
        view = {
            "call_id": call_id,
            "caller": privacy.shown(record.get("caller", ""), privacy.is_withheld(record)),
            "phase": "ended",
            "taker": record.get("taker"),
            "level": record.get("level", ""),
            "verdict": record.get("verdict", ""),
            "flags": str(record.get("flags", "")).split(),
            "arrived_at": float(record.get("arrived_at", 0.0)),
            "answered_at": None,
            "agencies": [],
        }
    answered = first_at(record.get("timeline", []), "taker-answered")
    number = live.caller_number if live is not None else record.get("caller", "")  # the real one
    withheld = live.withheld if live is not None else privacy.is_withheld(record)
    try:
        known = await reputation.reputation(number, now)
        rep: dict[str, Any] = {"prank_reports": known.prank, "blocked_until": known.blocked_until}
    except StoreUnavailable:
        rep = {"prank_reports": None, "blocked_until": None}
    mine = {
        **view,
        "ended": live is None,
        "answered_at": answered,
        "features": json.loads(record.get("features", "{}") or "{}"),
        "cues": json.loads(record.get("cues", "[]") or "[]"),  # why it was screened so
        "transcript": record.get("transcript", ""),
        "disposition": record.get("disposition") or None,
        "incident": record.get("incident"),  # with the agencies' times (incident.view)
        "agency_times": incident.agency_times(record.get("incident"), record.get("timeline", [])),
        **_locations(call_id, record, book if live is not None else None),
        "history": await desk.history(centre, call_id, number, view["arrived_at"], withheld),
        "reputation": rep,
    }
    return privacy.masked(mine, number) if withheld else mine


def _locations(call_id: str, record: dict[str, Any], book: CallLocations | None) -> dict[str, Any]:
    """The caller's location on the desk: a live call's fixes from memory (at once, Redis or
    not), an ended call's from its record; the latest and every one, oldest first."""
    if book is not None and book.has_location(call_id):
        fixes = [fix.view() for fix in book.fixes(call_id)]
        return {"location": fixes[-1], "locations": fixes}
    return {"location": record.get("location"), "locations": record.get("locations") or []}


async def snapshot(
    user: User,
    centre: Centre,
    store: CallStore,
    reputation: ReputationStore,
    shared: SharedFigures,
    desk: DeskMemory,
    timezone: str,
    now: float | None = None,
    locating: Locating | None = None,
) -> dict[str, Any]:
    """What `user` sees now: each part of FEED only if scope() grants its REST route."""
    now = time.time() if now is None else now
    given = {part: scope(user, *route) for part, route in FEED.items()}
    taker = user.taker
    view: dict[str, Any] = {
        "type": "snapshot",
        "now": now,
        "timezone": timezone,
        "centre": centre.config.centre,
        # "agent": the former name of "taker", for one release
        "user": {
            "name": user.name,
            "roles": sorted(r.value for r in user.roles),
            "taker": taker,
            "agent": taker,
        },
        "agencies": [{"id": a.id, "name": a.name} for a in centre.config.agencies],
        "dispositions": [d.value for d in Disposition],
        "pause_reasons": list(PAUSE_REASONS),
    }
    if given["kpis"] or given["callbacks"]:
        await shared.refresh(now)
    if given["waiting"]:
        view["waiting"] = waiting_views(centre, now, locating.book.has_location if locating else None)
    if given["takers"]:
        view["takers"] = taker_views(centre, None if given["takers"] is Scope.ALL else taker or "")
        view["agents"] = view["takers"]  # the former name, for one release
    if given["calls"]:
        mine = given["calls"] is Scope.OWN
        calls = [c for c in centre.calls().values() if not mine or c.taker == taker]
        view["calls"] = [_call_view(c) for c in calls]
    if given["kpis"]:
        view["kpis"] = shared.kpis
    if given["service_level"]:
        view["service_level"] = centre.service_level()
    if given["callbacks"]:
        view["callbacks"] = shared.callbacks
    if given["screening"]:
        view["screening"] = centre.screening()
    if given["my_call"] and taker:
        view["my_call"] = await _my_call(
            centre, store, reputation, desk, taker, now, locating.book if locating else None
        )
        if locating is not None:  # the desk's map
            view["map"] = {"tiles": locating.tiles_url, "attribution": locating.attribution}
    return view
