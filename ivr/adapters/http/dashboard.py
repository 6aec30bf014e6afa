"""The live dashboard: its static page and its WebSocket feed.

  GET /dashboard/      the page (static files; no secrets in them: the user's token is
                       asked for in the page and kept in the browser's session)
  GET /api/live        WebSocket: the first message is {"token": "..."}; then snapshots

Rules: the page needs no build step (plain HTML, CSS and JavaScript in static/); the
feed authenticates in-band (browsers cannot set headers on a WebSocket) with the same
users as the API, answers a bad token or any first message that is not a small JSON
object {"token": "..."} with {"type": "error"} and closes (a message over MAX_MESSAGE
bytes closes the feed as too big, 1009; nothing the browser sends can raise); it sends a snapshot
(snapshot.py) whenever what the user sees changes, checked twice a second, and at least
every few seconds; a slow or gone browser costs only its own feed.
A browser opening the feed from a page of another origin is refused (403) before the
upgrade: its Origin must name the host the request was sent to (the Host header; a
reverse proxy must pass it on). A request without Origin is not from a browser page
(tools, tests) and is let through: the token still decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from ivr.adapters.call_store import CallStore
from ivr.adapters.http.auth import User
from ivr.adapters.http.centre import Centre
from ivr.adapters.http.replies import error
from ivr.adapters.http.snapshot import DeskMemory, SharedFigures, snapshot
from ivr.adapters.locations import Locating
from ivr.adapters.reputation_store import ReputationStore

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
CHECK_EVERY = 0.5  # seconds between looks at what changed
HEARTBEAT = 5.0  # a snapshot at least this often, changed or not
LOGIN_SECONDS = 10.0  # time for the first message
MAX_MESSAGE = 16384  # bytes; the browser only ever sends its token (larger: closed, 1009)


def add_dashboard_routes(
    app: web.Application,
    centre: Centre,
    store: CallStore,
    reputation: ReputationStore,
    user_of: Callable[[str], User | None],
    timezone: str,
    locating: Locating | None = None,
) -> None:
    shared = SharedFigures(centre, reputation, timezone)
    desk = DeskMemory()

    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def to_page(request: web.Request) -> web.Response:
        raise web.HTTPFound("/dashboard/")

    async def live(request: web.Request) -> web.StreamResponse:
        if not same_origin(request):
            log.warning("dashboard feed refused to a page of %.100r", request.headers.get("Origin"))
            return error(403, "the live feed is open only to the dashboard's own pages (Origin)")
        ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=MAX_MESSAGE)
        if not ws.can_prepare(request).ok:
            return error(400, 'the live feed is a WebSocket; its first message is {"token": ...}')
        await ws.prepare(request)
        user = await _login(ws)
        if user is None:
            return ws
        log.info("dashboard feed opened for %s", user.name)
        sent, since = "", 0.0
        loop = asyncio.get_running_loop()
        reader = asyncio.create_task(_drain(ws))
        try:
            while not ws.closed and not reader.done():
                view = await snapshot(
                    user, centre, store, reputation, shared, desk, timezone, locating=locating
                )
                body = json.dumps({k: v for k, v in view.items() if k != "now"}, sort_keys=True)
                if body != sent or loop.time() - since >= HEARTBEAT:
                    await ws.send_str(json.dumps(view))
                    sent, since = body, loop.time()
                await asyncio.sleep(CHECK_EVERY)
        except (ConnectionResetError, RuntimeError) as exc:  # the browser went away mid-send
            log.info("dashboard feed of %s closed: %s", user.name, exc)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await ws.close()
        return ws

    async def _login(ws: web.WebSocketResponse) -> User | None:
        token = await _first_token(ws)
        user = user_of(token) if token else None
        if user is None:
            with contextlib.suppress(ConnectionError, RuntimeError):  # the browser may be gone
                await ws.send_str(json.dumps({"type": "error", "error": "missing or wrong token"}))
            await ws.close()
        return user

    app.router.add_get("/", to_page)
    app.router.add_get("/dashboard/", page)
    app.router.add_static("/dashboard/", STATIC, name="dashboard-static")
    app.router.add_get("/api/v1/live", live)


def same_origin(request: web.Request) -> bool:
    """No Origin (not a browser page), or an Origin naming the host the request went to."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    try:
        page = urlsplit(origin)
    except ValueError:
        return False
    host = request.headers.get("Host", "").lower()
    return page.scheme in ("http", "https") and bool(host) and page.netloc.lower() == host


async def _first_token(ws: web.WebSocketResponse) -> str:
    """The token of the first message, or "" for anything else (late, too big, not JSON,
    not an object, nested beyond reason, no string token)."""
    try:
        message = await ws.receive(timeout=LOGIN_SECONDS)
        if message.type != WSMsgType.TEXT:
            return ""
        login = json.loads(message.data)
    except (TimeoutError, ValueError, RuntimeError, TypeError):  # RecursionError: a RuntimeError
        return ""
    token = login.get("token") if isinstance(login, dict) else None
    return token if isinstance(token, str) else ""


async def _drain(ws: web.WebSocketResponse) -> None:
    """Reads (and ignores) what the browser sends, so closes and pings are seen."""
    async for _ in ws:
        pass
