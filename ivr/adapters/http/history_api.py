"""HTTP routes for what happened: call history and KPIs from the archive, and metrics.

Rules: history and KPIs are read from the SQLite archive (durable beyond Redis); a day
is a calendar day in the centre's time zone (IVR_TIMEZONE, Kendari: WITA), written
YYYY-MM-DD within FIRST_DAY..LAST_DAY (so no date arithmetic can overflow); bad query
parameters get 400 naming the parameter; the history comes in pages, newest first, each
with the cursor of the next (history_cursor.py), or null after the last; /metrics is
the Prometheus text format.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from ivr.adapters.archive import Archive
from ivr.adapters.http import history_cursor
from ivr.adapters.http.centre import Centre
from ivr.adapters.http.replies import bad_parameter, error
from ivr.core import kpis

MAX_ROWS = 1000
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(day: str) -> date:
    """A YYYY-MM-DD day between FIRST_DAY and LAST_DAY; ValueError naming what is wrong."""
    wanted = f"expected a day YYYY-MM-DD from {FIRST_DAY} to {LAST_DAY}"
    if not DAY.fullmatch(day):
        raise ValueError(wanted)
    try:
        chosen = date.fromisoformat(day)
    except ValueError:
        raise ValueError(f"{day} is not a calendar day ({wanted})") from None
    if not FIRST_DAY <= chosen <= LAST_DAY:
        raise ValueError(wanted)
    return chosen


def _day_bounds(day: str | None, zone: ZoneInfo) -> tuple[float, float, str]:
    """Epoch bounds of a calendar day in `zone` (today when None); ValueError if malformed."""
    chosen = parse_day(day) if day else datetime.now(zone).date()
    start = datetime(chosen.year, chosen.month, chosen.day, tzinfo=zone)
    return start.timestamp(), (start + timedelta(days=1)).timestamp(), chosen.isoformat()


async def day_figures(archive: Archive, since: float, until: float, zone: ZoneInfo) -> dict[str, Any]:
    """The key figures of the archived calls that arrived in [since, until)."""
    rows = await archive.query("SELECT * FROM calls WHERE arrived_at >= ? AND arrived_at < ?", since, until)
    offset = datetime.fromtimestamp(since, zone).utcoffset() or timedelta()
    return kpis.compute(rows, int(offset.total_seconds()))


def add_history_routes(app: web.Application, centre: Centre, timezone: str) -> None:
    zone = ZoneInfo(timezone)

    def bounds(request: web.Request) -> tuple[float, float, str]:
        try:
            return _day_bounds(request.query.get("day"), zone)
        except ValueError as exc:
            raise bad_parameter("day", str(exc)) from None

    async def history(request: web.Request) -> web.Response:
        archive = centre.archive
        if archive is None:
            return error(503, "no call archive in this control plane")
        since, until, day = bounds(request)
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            raise bad_parameter("limit", "expected a whole number") from None
        if not 1 <= limit <= MAX_ROWS:
            raise bad_parameter("limit", f"between 1 and {MAX_ROWS}")
        try:
            after = history_cursor.decode(request.query["cursor"]) if "cursor" in request.query else None
        except ValueError as exc:
            raise bad_parameter("cursor", str(exc)) from None
        outcome, caller = request.query.get("outcome"), request.query.get("caller")
        rows = await archive.history(since, until, outcome, caller, limit + 1, after)
        last = rows[limit - 1] if len(rows) > limit else None  # one more row: another page
        following = history_cursor.encode(last["arrived_at"], last["call_id"]) if last else None
        return web.json_response({"day": day, "calls": rows[:limit], "next": following})

    async def key_figures(request: web.Request) -> web.Response:
        archive = centre.archive
        if archive is None:
            return error(503, "no call archive in this control plane")
        since, until, day = bounds(request)
        figures = await day_figures(archive, since, until, zone)
        return web.json_response({"day": day, "timezone": timezone, **figures})

    async def service_level(request: web.Request) -> web.Response:
        return web.json_response({"tiers": centre.service_level()})

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=centre.metrics(), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})

    app.router.add_get("/api/v1/history", history)
    app.router.add_get("/api/v1/kpis", key_figures)
    app.router.add_get("/api/v1/service-level", service_level)
    app.router.add_get("/metrics", metrics)
