"""GET /api/health: does the control plane serve callers, each part's state, and what
needs a person.

Rules: open (no token; nothing secret in it); answers at once from memory and one small
local file, so the watchdog and health checks can rely on its answer time. "status" is
ok, degraded or down (ivr.core.health decides); down answers HTTP 503, so any health
check (the watchdog's, systemd's, a container runtime's, a load balancer's) fails only
when callers would not reach a call taker through this control plane; degraded answers
200 with the part that needs a person. "parts" gives each part's state and what it
means; "ari" says whether the control plane is connected to Asterisk (with several
nodes: to any of them, and "nodes" says which; with several SIP edges, "edges" says
which answer); "role" is active, or standby while another control plane leads; alarms
are sentences a supervisor can act on: the recordings folder, records held while Redis
is away, an agency phone whose contact changed, an Asterisk node unreachable, a SIP
edge that does not answer, and the watchdog's last hand-over of callers
(shown for ALARM_HOURS).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr.adapters.http.centre import Centre
from ivr.adapters.watchdog_status import read_status
from ivr.core.health import State, overall

ALARM_HOURS = 24


def clock_time(at: float, timezone: str) -> str:
    return datetime.fromtimestamp(at, ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S %Z")


def _handover_alarm(last: dict[str, Any] | None, now: float, timezone: str) -> list[str]:
    if not last or now - float(last.get("at", 0)) > ALARM_HOURS * 3600:
        return []
    return [
        f"the watchdog handed {last.get('callers', 0)} callers to the native queue at "
        f"{clock_time(float(last['at']), timezone)} (control plane: {last.get('reason', 'gone')})"
    ]


def add_health_route(
    app: web.Application,
    centre: Centre,
    timezone: str,
    watchdog_status: Path | None,
    clock: Callable[[], float] = time.time,
) -> None:
    async def health(request: web.Request) -> web.Response:
        alarms = [
            a.text if a.at is None else f"{a.text} ({clock_time(a.at, timezone)})" for a in centre.alarms()
        ]
        watchdog = await asyncio.to_thread(read_status, watchdog_status) if watchdog_status else None
        last = watchdog.get("last_handover") if watchdog else None
        alarms += _handover_alarm(last, clock(), timezone)
        nodes = centre.ari_nodes()
        parts = centre.health_parts()
        status = overall(parts)
        return web.json_response(
            {
                "status": status.value,
                "parts": {p.name: {"state": p.state.value, "detail": p.detail} for p in parts},
                "ari": "connected" if centre.ari_connected() else "disconnected",
                "role": centre.role(),
                "nodes": {name: "connected" if up else "disconnected" for name, up in nodes.items()},
                "edges": {edge: "up" if up else "down" for edge, up in centre.sip_edges().items()},
                "calls": len(centre.calls()),
                "alarms": alarms,
                "watchdog": {"last_handover": last} if watchdog else None,
            },
            status=503 if status is State.DOWN else 200,
        )

    app.router.add_get("/api/v1/health", health)  # and /api/health
