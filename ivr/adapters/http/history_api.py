"""HTTP routes for what happened: call history and KPIs from the archive, and metrics.

Rules: history and KPIs are read from the SQLite archive (durable beyond Redis); a day
is a calendar day in the centre's time zone (IVR_TIMEZONE, Kendari: WITA), written
YYYY-MM-DD within FIRST_DAY..LAST_DAY (so no date arithmetic can overflow); bad query
parameters get 400 naming the parameter; /metrics is the Prometheus text format.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr.adapters.archive import Archive
from ivr.adapters.http.centre import Centre
from ivr.adapters.http.replies import error, refusal
from ivr.core import kpis
from ivr.core.acd.model import Declared

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
            raise refusal(400, f"day: {exc}") from None

    async def history(request: web.Request) -> web.Response:
        archive = centre.archive
        if archive is None:
            return error(503, "no call archive in this control plane")
        since, until, day = bounds(request)
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            return error(400, "limit: expected a whole number")
        if not 1 <= limit <= MAX_ROWS:
            return error(400, f"limit: between 1 and {MAX_ROWS}")
        rows = await archive.history(
            since, until, request.query.get("outcome"), request.query.get("caller"), limit
        )
        return web.json_response({"day": day, "calls": rows})

    async def key_figures(request: web.Request) -> web.Response:
        archive = centre.archive
        if archive is None:
            return error(503, "no call archive in this control plane")
        since, until, day = bounds(request)
        figures = await day_figures(archive, since, until, zone)
        return web.json_response({"day": day, "timezone": timezone, **figures})

    def gauges() -> dict[str, dict[str, float]]:
        waiting: dict[str, float] = {}
        for caller in centre.waiting():
            waiting[f'{{level="{caller.level}"}}'] = waiting.get(f'{{level="{caller.level}"}}', 0) + 1
        takers: dict[str, float] = {}
        for taker in centre.takers().values():
            state = taker.activity.value if taker.declared is Declared.AVAILABLE else taker.declared.value
            key = f'{{state="{state}",reachable="{str(taker.reachable).lower()}"}}'
            takers[key] = takers.get(key, 0) + 1
        tiers = centre.service_level()
        return {
            "service_level": {
                f'{{within="{t["within_seconds"]:g}"}}': t["share"] for t in tiers if t["share"] is not None
            },
            "service_level_target": {f'{{within="{t["within_seconds"]:g}"}}': t["target"] for t in tiers},
            "waiting_callers": waiting or {'{level="none"}': 0},
            "takers": takers,
            "agents": takers,  # ivr112_agents: the former name, for one release
            "calls_in_progress": {"": len(centre.calls())},
            "ari_connected": {"": 1.0 if centre.ari_connected() else 0.0},
            "screenings_running": {"": centre.screenings_running()},
        }

    async def service_level(request: web.Request) -> web.Response:
        return web.json_response({"tiers": centre.service_level()})

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(text=centre.metrics(gauges), content_type="text/plain", charset="utf-8")

    app.router.add_get("/api/history", history)
    app.router.add_get("/api/kpis", key_figures)
    app.router.add_get("/api/service-level", service_level)
    app.router.add_get("/metrics", metrics)
